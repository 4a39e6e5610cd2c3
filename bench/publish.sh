#!/usr/bin/env bash
# Publisher bench (issue 2): the scale corpus, a full release, a release after +1%, and the
# metadata one reader needs to verify one document.
#
#   bench/publish.sh [DOCUMENTS]      (default 250000; the table goes to bench/out/publish.md)
#
# The scale corpus: the real corpora ingested as they are (spam-assassin e-mails with their
# attachments, linux-doc prose and HTML, texlive-humanities PDFs), then JSON Lines rows derived
# from the real texts by bench/make_corpus.py until the archive holds DOCUMENTS documents.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
docs=${1:-250000}
out=$root/bench/out/publish
cache=$root/.cache

command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
corpora=$cache/corpora
"$root/../shared/corpora/fetch.sh" all "$corpora" >/dev/null
cargo build --release -q
bin=$root/target/release/samizdat

umount "$out" 2>/dev/null || true
rm -rf "$out" && mkdir -p "$out"
# A fresh ext4 file system for the run (root only): ext4's inode allocator slows down sharply
# after millions of files were deleted (`recently_deleted` scans), so a bench run after another
# on the same disk measured 2-3x slower. A new loop-mounted image makes runs comparable.
if [ "$(id -u)" = 0 ] && command -v mkfs.ext4 >/dev/null && [ -z "${BENCH_NO_FRESH_FS:-}" ]; then
  image=$cache/bench-publish.img
  rm -f "$image" && truncate -s 60G "$image" && mkfs.ext4 -q -F "$image"
  mount -o loop "$image" "$out"
  [ -n "${BENCH_KEEP:-}" ] || trap 'cd "$root"; umount "$out" 2>/dev/null; rm -f "$image"' EXIT
fi
archive=$out/archive
"$bin" init "$archive" >/dev/null

# measure LABEL CMD...: runs CMD, records wall seconds and peak RSS (MiB) as LABEL.
measure() {
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$out/$label.time" "$@" >"$out/$label.out" 2>"$out/$label.err" || {
    local rc=$?
    # `add` exits 4 when some files failed: that is reported, not fatal.
    if [ "$rc" != 4 ]; then cat "$out/$label.err" >&2; exit "$rc"; fi
  }
  read -r secs kib <"$out/$label.time"
  echo "$label: ${secs}s, $((kib / 1024)) MiB peak RSS: $(tail -n1 "$out/$label.out")" >&2
}
field() { read -r secs kib <"$out/$1.time"; case $2 in s) echo "$secs" ;; m) echo "$((kib / 1024))" ;; esac; }

linux=$corpora/linux-doc/x/usr/share/doc/linux-doc-6.1
measure add-real "$bin" add "$archive" "$corpora/spam-assassin/package/data" \
  "$linux/Documentation" "$linux/html" "$corpora/texlive-humanities/x/usr/share/doc/texlive-doc"
real=$(grep -o '[0-9]* documents ingested' "$out/add-real.out" | cut -d' ' -f1)
scale=$((docs - real))
python3 "$root/bench/make_corpus.py" "$corpora" "$out/scale" "$scale" >&2
measure add-scale "$bin" add "$archive" "$out/scale"
measure release-full "$bin" release "$archive"

plus=$((docs / 100))
python3 "$root/bench/make_corpus.py" "$corpora" "$out/plus" "$plus" --first "$scale" >&2
measure add-plus "$bin" add "$archive" "$out/plus"
measure release-plus "$bin" release "$archive"

# One document, verified from nothing but root.json: every metadata byte the client fetched.
one=s$(printf '%07d' $((scale / 2)))
measure verify-one "$bin" verify --verbose --root "$archive/root.json" "$archive/release" "$one"
meta=$(grep -o '([0-9]* bytes of metadata' "$out/verify-one.out" | grep -o '[0-9]*')
# The same files gzip-compressed, as a mirror serving precompressed metadata would send them.
files=$(grep -o '^fetched metadata/[^ ]*' "$out/verify-one.err" | cut -d/ -f2)
gz=0
for f in $files; do gz=$((gz + $(gzip -9c "$archive/release/metadata/$f" | wc -c))); done

total=$(grep -o '[0-9]* documents (' "$out/release-plus.out" | cut -d' ' -f1)
targets=$(grep -o '[0-9]* targets' "$out/release-full.out" | head -n1 | cut -d' ' -f1)
bins=$(grep -o '[0-9]* of [0-9]* bins' "$out/release-plus.out")
full_s=$(field release-full s)
plus_s=$(field release-plus s)
ratio=$(python3 -c "print(f'{100 * $plus_s / $full_s:.1f}')")
{
  echo "| measure | value | target |"
  echo "|---|---|---|"
  echo "| documents after +1% | $total ($real real, the rest derived) | 250,000 + 1% |"
  echo "| targets in the full release | $targets | |"
  echo "| ingest of the real corpora (\`add\`) | $(field add-real s) s, $(field add-real m) MiB | |"
  echo "| ingest of the derived rows (\`add\`) | $(field add-scale s) s, $(field add-scale m) MiB | |"
  echo "| **full release** | **${full_s} s, $(field release-full m) MiB peak RSS** | ≤ 600 s, ≤ 2048 MiB |"
  echo "| ingest of +1% (\`add\`) | $(field add-plus s) s | |"
  echo "| **release after +1%** | **${plus_s} s = ${ratio}% of the full release**, $bins re-signed | ≤ 5% |"
  echo "| **metadata to verify one document** | **$meta bytes** (gzip: ${gz:-?} bytes) | ≤ 100 KB |"
} | tee "$out.md"
echo "(on $(findmnt -no SOURCE,FSTYPE --target "$out" | tr -s ' ' ' '))" >&2
