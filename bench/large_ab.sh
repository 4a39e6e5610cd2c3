#!/usr/bin/env bash
# A/B of two samizdat binaries on the large file of a kept mirror bench (bench/mirror.sh with
# BENCH_KEEP=1): each serves ARCHIVE in turn, wrk -t2 -c4 fetches the 100 MB file (2 s warm-up,
# 8 s measured), twice, alternating; prints MB/s and the server's peak RSS.
#   bench/large_ab.sh OLD_BINARY NEW_BINARY [ARCHIVE]
set -euo pipefail
cd "$(dirname "$0")/.."
archive=${3:-bench/out/publish/archive}
large=$(cat bench/out/mirror/paths/large)
addr=127.0.0.31:8999
for round in 1 2; do
  for b in "$1" "$2"; do
    "$b" mirror serve "$archive" --listen "$addr" >/dev/null 2>&1 &
    pid=$!
    for _ in $(seq 50); do curl -sf -o /dev/null "http://$addr/metadata/timestamp.json" && break; sleep 0.2; done
    curl -sf -o /dev/null "http://$addr$large" || { echo "$b: not serving $large on $addr" >&2; exit 1; }
    wrk -t2 -c4 -d2s "http://$addr$large" >/dev/null
    rate=$(wrk -t2 -c4 -d8s "http://$addr$large" | awk '/Transfer\/sec/ {print $2}')
    echo "$b, round $round: $rate/s, peak RSS $(awk '/VmHWM/ {print $2 / 1024}' "/proc/$pid/status") MiB"
    kill "$pid"; wait "$pid" 2>/dev/null || true
  done
done
