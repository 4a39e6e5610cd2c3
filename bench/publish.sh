#!/usr/bin/env bash
# Publisher bench (issue 2): the scale corpus, a full release, a release after +1%, and the
# metadata one reader needs to verify one document.
#
#   bench/publish.sh [DOCUMENTS]      (default 250000; the table goes to bench/out/publish.md)
#
# The scale corpus: the real corpora ingested as they are (spam-assassin e-mails with their
# attachments, linux-doc prose and HTML, texlive-humanities PDFs), then JSON Lines rows derived
# from the real texts by bench/make_corpus.py until the archive holds DOCUMENTS documents.
# Releases here are the publisher core's (`--no-site`): the reader site and its search index
# are measured by bench/site.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
docs=${1:-250000}
out=$root/bench/out/publish
. "$root/bench/lib.sh"

bench_build
# A fresh ext4 file system for the run (root only; see fresh_fs in lib.sh).
fresh_fs "$out" "$cache/bench-publish.img"
archive=$out/archive
"$bin" init "$archive" >/dev/null

ingest_corpus "$archive" "$docs"
measure release-full "$bin" release --no-site "$archive"

plus=$((docs / 100))
add_derived add-plus "$archive" "$plus" "$scale"
measure release-plus "$bin" release --no-site "$archive"

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
