#!/usr/bin/env bash
# Server CPU an answer on mirror.sh's random load, samizdat binaries alternated (issue 15,
# must-show 3: a closer look than mirror_ab.sh's, no nginx beside each slot).
#
#   bench/mirror_cpu.sh BINARY [BINARY...]
#
# Uses the archive and random paths bench/mirror_ab.sh made (run it once first). BENCH_ROUNDS (3)
# rounds; in each, every binary in turn: `BINARY mirror serve` on 127.0.0.211:BENCH_PORT
# (18090) with mirror_ab.sh's wide guard, a BENCH_WARMUP (3) s wrk warm-up, then wrk -t2 -c64
# for BENCH_SECONDS (10) s over the random paths (bench/wrk.lua); the server's user + system
# time (/proc/PID/stat) over the measured run divided by its answers.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
ab=$root/bench/out/mirror_ab
[ $# -ge 1 ] || { echo "usage: bench/mirror_cpu.sh BINARY [BINARY...]" >&2; exit 2; }
[ -f "$ab/paths/random" ] || { echo "$ab/paths/random: run bench/mirror_ab.sh first" >&2; exit 1; }
command -v wrk >/dev/null || { echo "wrk is missing (apt-get install wrk)" >&2; exit 1; }
rounds=${BENCH_ROUNDS:-3} port=${BENCH_PORT:-18090}
warmup=${BENCH_WARMUP:-3} seconds=${BENCH_SECONDS:-10}
address=127.0.0.211 url=http://127.0.0.211:${BENCH_PORT:-18090}
export SAMIZDAT_GUARD_RATE=1000000000 SAMIZDAT_GUARD_BURST=1000000000 \
  SAMIZDAT_GUARD_PREFIX_RATE=1000000000 SAMIZDAT_GUARD_PREFIX_BURST=1000000000 \
  SAMIZDAT_GUARD_CONNECTIONS=1000000 SAMIZDAT_GUARD_PREFIX_CONNECTIONS=1000000
out=$(mktemp -d)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$out"' EXIT
declare -A all
for ((r = 1; r <= rounds; r++)); do
  for bin in "$@"; do
    name=$(basename "$bin")
    "$bin" mirror serve "$ab/archive" --listen "$address:$port" >"$out/serve.log" 2>&1 &
    pid=$!
    for _ in $(seq 100); do curl -fs -o /dev/null "$url/metadata/timestamp.json" && break; sleep 0.1; done
    WRK_PATHS=$ab/paths/random wrk -t2 -c64 -d"${warmup}s" -s bench/wrk.lua "$url" >/dev/null
    t0=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
    WRK_PATHS=$ab/paths/random wrk -t2 -c64 -d"${seconds}s" -s bench/wrk.lua "$url" >"$out/wrk"
    t1=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
    kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
    read -r _ answers _ _ _ _ status socket < <(grep '^wrk-result' "$out/wrk")
    [ "$status" = 0 ] && [ "$socket" = 0 ] || { echo "$name: $status not 2xx/3xx, $socket socket errors" >&2; exit 1; }
    us=$(awk -v t=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v n="$answers" 'BEGIN { printf "%.2f", t / hz * 1e6 / n }')
    echo "round $r $name: $answers answers, $us µs of server CPU an answer" >&2
    all[$name]="${all[$name]:-} $us"
  done
done
echo "| binary | µs/answer, by round | median |"
echo "|---|---|---|"
for bin in "$@"; do
  name=$(basename "$bin")
  median=$(tr ' ' '\n' <<<"${all[$name]}" | grep . | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }')
  echo "| $name |${all[$name]} | $median |"
done
