#!/usr/bin/env bash
# OCR in `add` (issue 20, "Images"): throughput and accuracy of `add --ocr LANGS` on pages of
# the texlive-humanities corpus whose text layer is the oracle.
#
#   [SAMIZDAT_BIN=target/debug/samizdat] bench/ocr.sh [N] [LANGS]   (N pages, default 20;
#   languages, default eng)
#
# Takes page 2 of the first N PDFs of the corpus (sorted by path) that have at least 150 words
# there, renders each as a 300 dpi gray PNG (`pdftoppm`), and builds one scanned PDF of the same
# pages as 200 dpi JPEGs with no text layer (what a scanner makes). Then `add --ocr LANGS` of
# the PNGs (files read in parallel, one Tesseract each) and, in a second archive, of the scanned
# PDF (its pages one after the other, rendered again at 300 dpi); for each: pages/s and, per
# page, the share of the oracle's words (`pdftotext` of the page; words of 4 letters or more,
# case folded) found in the text `add` recognised. Needs tesseract-ocr(-eng) and poppler-utils
# (./test.sh installs them). About two minutes at N=20 on 2 cores.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-20}
langs=${2:-eng}
corpora=${SAMIZDAT_CORPORA:-$root/.cache/corpora}
texlive=$corpora/texlive-humanities/x/usr/share/doc/texlive-doc/latex
for tool in tesseract pdftoppm pdftotext; do
    command -v "$tool" >/dev/null || { echo "ocr.sh: needs $tool: apt-get install tesseract-ocr poppler-utils" >&2; exit 1; }
done
[ -d "$texlive" ] || { echo "ocr.sh: no corpus at $texlive: run ./test.sh" >&2; exit 1; }
# SAMIZDAT_BIN: a samizdat already built (Tesseract's time is nearly all of it, so a debug
# build measures the same); else the release build.
bin=${SAMIZDAT_BIN:-}
if [ -z "$bin" ]; then
    nice -n 19 cargo build --release --locked -q -p samizdat
    bin=$root/target/release/samizdat
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
mkdir -p "$out/png" "$out/jpeg" "$out/scan" "$out/oracle"

i=0
while IFS= read -r pdf; do
    [ "$i" -lt "$n" ] || break
    words=$(pdftotext -f 2 -l 2 "$pdf" - 2>/dev/null | wc -w) || continue
    [ "$words" -ge 150 ] || continue
    name=$(printf 'p%02d' "$i")
    pdftotext -f 2 -l 2 "$pdf" "$out/oracle/$name.txt"
    pdftoppm -r 300 -gray -f 2 -l 2 -png -singlefile "$pdf" "$out/png/$name"
    pdftoppm -r 200 -gray -f 2 -l 2 -jpeg -singlefile "$pdf" "$out/jpeg/$name"
    echo "$name ${pdf#"$texlive"/}" >>"$out/pages.txt"
    i=$((i + 1))
done < <(find "$texlive" -name '*.pdf' | sort)
echo "$i pages:"; cat "$out/pages.txt"

# The scanned PDF: one image per page, DCTDecode, no font, no text.
python3 - "$out/jpeg" "$out/scan/scan.pdf" <<'EOF'
import sys
from pathlib import Path
def frame(jpeg):
    at = 2
    while at + 9 < len(jpeg):
        marker, size = jpeg[at + 1], int.from_bytes(jpeg[at + 2:at + 4], "big")
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return int.from_bytes(jpeg[at + 7:at + 9], "big"), int.from_bytes(jpeg[at + 5:at + 7], "big"), jpeg[at + 9]
        at += 2 + size
    raise SystemExit("a JPEG without a frame header")
pages = [p.read_bytes() for p in sorted(Path(sys.argv[1]).glob("*.jpg"))]
objs = [b"<< /Type /Catalog /Pages 2 0 R >>",
        ("<< /Type /Pages /Kids [%s] /Count %d >>" % (" ".join("%d 0 R" % (3 + 3 * i) for i in range(len(pages))), len(pages))).encode()]
for i, jpeg in enumerate(pages):
    w, h, comps = frame(jpeg)
    pw, ph = w * 72 // 200, h * 72 // 200
    objs.append(("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %d %d] /Resources << /XObject << /Im0 %d 0 R >> >> /Contents %d 0 R >>" % (pw, ph, 4 + 3 * i, 5 + 3 * i)).encode())
    space = "DeviceGray" if comps == 1 else "DeviceRGB"
    objs.append(("<< /Type /XObject /Subtype /Image /Width %d /Height %d /ColorSpace /%s /BitsPerComponent 8 /Filter /DCTDecode /Length %d >>\nstream\n" % (w, h, space, len(jpeg))).encode() + jpeg + b"\nendstream")
    draw = ("q %d 0 0 %d 0 0 cm /Im0 Do Q" % (pw, ph)).encode()
    objs.append(b"<< /Length %d >>\nstream\n" % len(draw) + draw + b"\nendstream")
pdf, offsets = bytearray(b"%PDF-1.4\n"), []
for n, body in enumerate(objs, 1):
    offsets.append(len(pdf))
    pdf += b"%d 0 obj\n" % n + body + b"\nendobj\n"
xref = len(pdf)
pdf += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objs) + 1)
pdf += b"".join(b"%010d 00000 n \n" % o for o in offsets)
pdf += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objs) + 1, xref)
Path(sys.argv[2]).write_bytes(bytes(pdf))
EOF
[ -z "$(pdftotext "$out/scan/scan.pdf" - | tr -d '[:space:]\f')" ] || { echo "ocr.sh: the scan has a text layer" >&2; exit 1; }

for what in png scan; do
    "$bin" init "$out/$what.archive" >/dev/null
    nice -n 19 /usr/bin/time -f "%e %M %U %S" -o "$out/$what.time" \
        "$bin" add --ocr "$langs" "$out/$what.archive" "$out/$what" >"$out/$what.out" 2>&1
    tail -1 "$out/$what.out"
done

python3 - "$out" "$i" "$langs" <<'EOF'
import json, re, sqlite3, sys
from pathlib import Path
out, pages, langs = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def words(t):
    return {w.lower() for w in re.split(r"\W+", t) if len(w) > 3}
oracle = {p.stem: p.read_text(errors="replace") for p in sorted((out / "oracle").glob("*.txt"))}
def texts(archive):
    for (doc,) in sqlite3.connect(archive / "catalog.sqlite").execute("SELECT doc FROM documents"):
        doc = json.loads(doc)
        sha = doc["text"]["sha256"]
        yield doc, (archive / "store" / sha[:2] / sha).read_text(errors="replace")
def shares(pairs):
    s = []
    for page, text in pairs:
        want = words(oracle[page])
        s.append(len(want & words(text)) / len(want))
    return s
rows = []
for what in ("png", "scan"):
    wall, rss, user, sys_ = (out / f"{what}.time").read_text().split()
    found = list(texts(out / f"{what}.archive"))
    if what == "png":
        pairs = [(d["source"].removesuffix(".png"), t) for d, t in found]
        assert len(pairs) == pages, f"{len(pairs)} of {pages} PNG files read"
        label = f"{pages} PNG files, 300 dpi (in parallel)"
    else:
        (d, t), = found
        # One text per page, split at form feeds: fewer would pair pages with the wrong text
        # (zip stops at the shorter) and count fewer pages in the rate.
        page_texts = t.split("\f")
        assert len(page_texts) == pages, f"{len(page_texts)} page texts for {pages} pages"
        pairs = list(zip(sorted(oracle), page_texts))
        assert d.get("text_source") == "ocr", d
        label = f"one scanned PDF of {pages} pages, 200 dpi JPEGs (pages in turn)"
    s = shares(pairs)
    names = dict(l.split(" ", 1) for l in (out / "pages.txt").read_text().splitlines())
    low = sorted(zip(s, (p for p, _ in pairs)))[:3]
    print(f"{what}: lowest pages: " + ", ".join(f"{names[p]} {v:.1%}" for v, p in low))
    rows.append((label, float(wall), float(user) + float(sys_), int(rss), sum(s) / len(s), min(s), len(pairs)))
print()
print(f"| `add --ocr {langs}` of | wall | CPU | pages/s | peak RSS of add | oracle's words found, average | lowest |")
print("|---|---|---|---|---|---|---|")
for label, wall, cpu, rss, avg, low, n in rows:
    print(f"| {label} | {wall:.1f} s | {cpu:.1f} s | {n / wall:.2f} | {rss // 1024} MiB | {avg:.1%} | {low:.1%} |")
EOF
