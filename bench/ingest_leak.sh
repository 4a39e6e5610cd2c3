#!/usr/bin/env bash
# Ingest of the leak-like corpus (issue 20, must-shows 1 and 4): `samizdat add` over what
# bench/leak_corpus.py builds (office files, legacy encodings, archives, e-mails with zipped
# attachments, Outlook samples); then, for every office file found (as itself or as a member of
# an archive or an attachment), the share of the words of LibreOffice's own text export (the
# oracle) that its extracted text has; its title against the one its source has (titles.json:
# the prose's heading, the first slide's first line; none for the tables), the share matching
# and every mismatch; and the throughput and peak RSS.
#
#   bench/ingest_leak.sh [N]      (N office documents of each kind, default 40)
#
# The corpus is built once into .cache/bench/leak-N (LibreOffice headless: the Debian packages
# libreoffice-writer-nogui, -calc-nogui and -impress-nogui; about a minute at N=40).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-40}
corpora=${SAMIZDAT_CORPORA:-$root/.cache/corpora}
corpus=$root/.cache/bench/leak-$n
if [ ! -e "$corpus/.done" ]; then
    command -v soffice >/dev/null || {
        echo "ingest_leak.sh: needs soffice: apt-get install libreoffice-writer-nogui libreoffice-calc-nogui libreoffice-impress-nogui" >&2
        exit 1
    }
    python3 "$root/bench/leak_corpus.py" "$corpora" "$corpus" "$n"
    touch "$corpus/.done"
fi
cargo build --release --locked -q -p samizdat
bin=$root/target/release/samizdat
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
"$bin" init "$out/archive" >/dev/null
# Exit status 4: some files failed (named in the report), still a run.
/usr/bin/time -f "%e %M %U %S" -o "$out/time" "$bin" add "$out/archive" \
    "$corpus/office" "$corpus/legacy" "$corpus/zipped" "$corpus/outlook" >"$out/add.out" 2>&1 || [ $? -eq 4 ]
tail -3 "$out/add.out"
read -r wall rss user sys <"$out/time"
bytes=$(du -sb "$corpus/office" "$corpus/legacy" "$corpus/zipped" "$corpus/outlook" | awk '{ s += $1 } END { print s }')

python3 - "$out/archive" "$corpus" "$wall" "$rss" "$user" "$sys" "$bytes" <<'EOF'
import json, re, sqlite3, sys
from collections import defaultdict
from pathlib import Path

archive, corpus = Path(sys.argv[1]), Path(sys.argv[2])
wall, rss, user, sys_, size = float(sys.argv[3]), int(sys.argv[4]), float(sys.argv[5]), float(sys.argv[6]), int(sys.argv[7])
rows = sqlite3.connect(archive / "catalog.sqlite").execute("SELECT doc FROM documents")
docs = [json.loads(doc) for (doc,) in rows]

def text_of(doc):
    sha = doc["text"]["sha256"] if isinstance(doc["text"], dict) else doc["text"]
    path = archive / "store" / sha[:2] / sha
    return path.read_text(errors="replace") if path.exists() else ""

def words(text):
    return set(w.lower() for w in re.findall(r"\w+", text) if len(w) > 2)

office = {p.name for p in (corpus / "office").iterdir()}
found = defaultdict(list)
for doc in docs:
    name = re.split(r"[/!]", doc["source"])[-1]
    if name in office:
        found[name].append(doc)
shares, worst = defaultdict(list), []
for name, copies in sorted(found.items()):
    oracle = words((corpus / "oracle" / (name + ".txt")).read_text(errors="replace"))
    for doc in copies:
        share = len(oracle & words(text_of(doc))) / max(1, len(oracle))
        shares[name.rsplit(".", 1)[1]].append(share)
        worst.append((share, doc["source"]))
every = [s for kind in shares.values() for s in kind]
titled = sum(1 for d in docs if d.get("title", "").strip())

# Titles: each office document's against the one its source has.
def norm(t):
    return " ".join((t or "").split()).casefold()

expected = json.loads((corpus / "titles.json").read_text())
title_hits, title_known, fallback, untitled, mismatches = defaultdict(int), defaultdict(int), 0, 0, []
for name, copies in sorted(found.items()):
    want = expected.get(name)
    for doc in copies:
        got = doc.get("title", "")
        if not got.strip():
            untitled += 1
        if want is None:
            continue
        kind = name.rsplit(".", 1)[1]
        title_known[kind] += 1
        if norm(got) == norm(name):
            fallback += 1
        # A long heading is cut at a word: the title is then its start.
        if norm(got) == norm(want) or (len(want) > 150 and norm(want).startswith(norm(got).rstrip(".…"))):
            title_hits[kind] += 1
        else:
            mismatches.append((doc["source"], got, want))
print(f"documents: {len(docs)} ({titled} titled); office files found {len(found)} of {len(office)}, "
      f"{len(every)} copies (as files, archive members, attachments)")
for kind, s in sorted(shares.items()):
    print(f"  {kind}: {len(s)} documents, words of the oracle found {100 * sum(s) / len(s):.1f}% on average, lowest {100 * min(s):.1f}%")
if every:
    print(f"  all: {100 * sum(every) / len(every):.1f}% on average (target >= 98%)")
for share, source in sorted(worst)[:5]:
    print(f"  lowest: {100 * share:.1f}% {source}")
known = sum(title_known.values())
hits = sum(title_hits.values())
print(f"titles: {untitled} office documents untitled; of the {known} whose source has a title, "
      f"{hits} ({100 * hits / max(1, known):.1f}%) have it, {fallback} have their file name instead")
for kind in sorted(title_known):
    print(f"  {kind}: {title_hits[kind]} of {title_known[kind]}")
for source, got, want in mismatches[:15]:
    print(f"  mismatch: {source}: {got!r}, expected {want!r}")
if len(mismatches) > 15:
    print(f"  ... {len(mismatches) - 15} more mismatches")
missing = sorted(office - found.keys())
if missing:
    print(f"  not found: {missing[:10]}{' ...' if len(missing) > 10 else ''}")
print(f"add: wall {wall:.1f} s, CPU {user + sys_:.1f} s, peak RSS {rss // 1024} MiB; "
      f"{len(docs) / wall:.1f} documents/s, {size / wall / 1e6:.2f} MB/s over {size / 1e6:.1f} MB")
EOF
