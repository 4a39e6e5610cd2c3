#!/bin/bash
# Peak memory of `add` and `release` on large single inputs (issue 15, item 19): a 1 GiB PDF, a
# 1 GiB e-mail (one base64 attachment), a 1 GiB mbox of 20,000 messages, a 2 GiB text of one
# line, zips holding one 250 MiB and one 1 GiB text member, a 405 MB e-mail with a 300 MiB PDF, a 54 MB one with a 40 MiB PDF (parsed).
#
#   bash bench/bounds.sh [BIN] [CASE...]     (BIN: default target/release/samizdat)
#
# Inputs are made once in $BOUNDS_DIR (default /tmp/samizdat-bounds, ~7 GB), one archive at a
# time beside them (removed after each case). Peak RSS is GNU time's: the process and the
# children it waited for (the PDF extractor).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
BIN=$(realpath "${1:-$here/../target/release/samizdat}")
shift || true
CASES=("$@")
[ ${#CASES[@]} -gt 0 ] || CASES=(pdf eml mbox line zip zipbig emlpdf emlpdf40)
DIR=${BOUNDS_DIR:-/tmp/samizdat-bounds}
[ -x /usr/bin/time ] || { echo "needs GNU time at /usr/bin/time (apt-get install time)" >&2; exit 1; }
mkdir -p "$DIR"
for c in "${CASES[@]}"; do
  [ -d "$DIR/$c" ] || python3 "$here/bounds_inputs.py" "$DIR" "$c"
done
echo "| input | size MiB | add: exit, peak RSS MiB, wall | release: exit, peak RSS MiB, wall |"
echo "| --- | --- | --- | --- |"
for c in "${CASES[@]}"; do
  A="$DIR/archive-$c"
  rm -rf "$A"
  "$BIN" init "$A" >/dev/null 2>&1
  extra=()
  case $c in
    zip) extra=(--archive-ratio 100000) ;;
    zipbig) extra=(--archive-ratio 100000 --archive-member-mib 2048 --archive-total-mib 4096) ;;
  esac
  set +e
  /usr/bin/time -v -o "$DIR/time-add" "$BIN" add "${extra[@]}" "$A" "$DIR/$c" >"$DIR/add-$c.log" 2>&1
  rc=$?
  /usr/bin/time -v -o "$DIR/time-release" "$BIN" release "$A" >"$DIR/release-$c.log" 2>&1
  rrc=$?
  set -e
  rss() { awk '/Maximum resident/ {print int($NF / 1024)}' "$1"; }
  wall() { awk '/Elapsed/ {print $NF}' "$1"; }
  size=$(( $(du -sb "$DIR/$c" | cut -f1) >> 20 ))
  echo "| $c | $size | $rc, $(rss "$DIR/time-add"), $(wall "$DIR/time-add") | $rrc, $(rss "$DIR/time-release"), $(wall "$DIR/time-release") |"
  rm -rf "$A"
done
