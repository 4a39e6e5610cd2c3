#!/usr/bin/env bash
# Directory bench (issue 17, must-show 5): full audits a minute against many mirrors.
#
#   bench/directory.sh [MIRRORS]     (default 5000; the table goes to bench/out/directory.md)
#
# - the sample archive (sample/documents) released with its reader site, served by ONE nginx
#   process (`master_process off`, one worker) listening on MIRRORS loopback addresses
#   127.77.A.B (a plain web root, as deploy/ documents for a mirror), each address answering
#   its own enrolment challenge (`/.well-known/samizdat/enroll.txt` from a folder per address);
# - `samizdat directory run` on 127.76.0.1, audit rounds back to back (`interval_secs = 1`);
# - every mirror enrolled through the directory's API by `samizdat mirror enroll` (the operator's
#   own command: challenge, served, checked), a few at a time;
# - once every mirror is active, BENCH_SECONDS of rounds: full audits a minute (each one:
#   liveness, the mirror's root/timestamp/snapshot/targets verified from the archive root,
#   signatures and expiry, and `samples` targets downloaded whole and hashed), from the
#   directory's own per-round log; targets hashed per audit and failures from its /metrics;
#   requests nginx answered (stub_status); the directory's CPU and peak RSS from /proc.
#
# Environment: BENCH_SECONDS (120) of measured rounds, BENCH_PORT (18190), BENCH_CONCURRENCY
# (the directory's default when unset), BENCH_SAMPLES (3), BENCH_ENROL_JOBS (4) enrolments at
# once, BENCH_DOCS (0): that many rows of the scale corpus (make_corpus.py, from the real
# corpora in SAMIZDAT_CORPORA or .cache/corpora) added to the sample documents, for an archive
# whose metadata (snapshot, bins) each audit verifies is of a real size.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
count=${1:-5000}
out=$root/bench/out/directory
. "$root/bench/lib.sh"

seconds=${BENCH_SECONDS:-120}
port=${BENCH_PORT:-18190}
samples=${BENCH_SAMPLES:-3}
jobs=${BENCH_ENROL_JOBS:-4}
directory_ip=127.76.0.1
if [ "$count" -lt 1 ] || [ "$count" -gt 60000 ]; then
  echo "MIRRORS: 1 to 60000 (127.77.0.1 to 127.77.239.250)" >&2; exit 1
fi

for tool in /usr/sbin/nginx curl xargs; do  # nginx: /usr/sbin may not be on PATH
  command -v "$tool" >/dev/null || { apt-get update -qq && apt-get install -y -qq "${tool##*/}" >/dev/null; }
done
# Descriptors: nginx holds one listening socket per mirror, plus the connections.
ulimit -n "$(ulimit -Hn)"
nofile=$(ulimit -n)
if [ "$nofile" != unlimited ] && [ "$nofile" -lt $((count + 2048)) ]; then
  echo "ulimit -Hn is $nofile: $count mirrors need at least $((count + 2048)) descriptors" >&2
  exit 1
fi
read -r load _ </proc/loadavg

"$root/.ci/apt-fresh.sh" "$cache"
cargo build --release -q -p samizdat
rm -rf "$out" && mkdir -p "$out"
# A copy of the binary: a `cargo build` during the run would otherwise swap it under the processes.
cp "$root/target/release/samizdat" "$out/samizdat"
bin=$out/samizdat

at_exit 'stop nginx_pid; stop directory_pid'

# ---- The archive: the sample documents, released with the reader site ----------------------------
"$bin" init "$out/archive" >/dev/null
"$bin" add "$out/archive" "$root/sample/documents" >"$out/add.out"
docs=${BENCH_DOCS:-0}
if [ "$docs" -gt 0 ]; then
  corpora=${SAMIZDAT_CORPORA:-$corpora}
  "$root/../shared/corpora/fetch.sh" all "$corpora" >/dev/null
  python3 "$root/bench/make_corpus.py" "$corpora" "$out/derived" "$docs" >&2
  "$bin" add "$out/archive" "$out/derived" >"$out/add-derived.out"
fi
"$bin" release "$out/archive" >"$out/release.out"
targets=$(find "$out/archive/release/targets" -type f | wc -l)
meta=$out/archive/release/metadata
roles=$(find "$meta" -name '[0-9]*.json' ! -name '*.root.json' ! -name '*.snapshot.json' \
  ! -name '*.targets.json' | wc -l)
snapshot_bytes=$(find "$meta" -name '*.snapshot.json' -printf '%s\n' | sort -n | tail -n1)
echo "archive: $targets target files" >&2

# ---- The mirrors: one nginx process on $count loopback addresses ----------------------------------
# address I (0-based): 127.77.(I / 250).(I % 250 + 1)
address() { echo "127.77.$(($1 / 250)).$(($1 % 250 + 1))"; }
mkdir -p "$out/nginx/tmp" "$out/mirrors"
addresses=$out/addresses
for ((i = 0; i < count; i++)); do address "$i"; done >"$addresses"
xargs -a "$addresses" -I{} mkdir -p "$out/mirrors/{}"
for address in "$directory_ip" "$(head -n1 "$addresses")" "$(tail -n1 "$addresses")"; do
  if (exec 3<>"/dev/tcp/$address/$port") 2>/dev/null; then
    echo "$address:$port is taken (another run? set BENCH_PORT)" >&2
    exit 1
  fi
done
{
  cat <<EOF
# One process: no master, one worker loop (as the user running the bench, who owns the archive).
master_process off;
daemon off;
worker_processes 1;
worker_rlimit_nofile $nofile;
pid $out/nginx/nginx.pid;
error_log $out/nginx/error.log warn;
events { worker_connections $((count + 4096)); }  # its listening sockets count
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log off;
  sendfile on;
  tcp_nodelay on;
  keepalive_timeout 65;
  keepalive_requests 1000000;
  open_file_cache max=1000 inactive=60s;
  client_body_temp_path $out/nginx/tmp;
  proxy_temp_path $out/nginx/tmp;
  fastcgi_temp_path $out/nginx/tmp;
  uwsgi_temp_path $out/nginx/tmp;
  scgi_temp_path $out/nginx/tmp;
  server {
    root $out/archive/release;
    # Each address answers the challenge its operator was given (samizdat mirror enroll
    # writes it to the mirror's folder, here one per address).
    location = /.well-known/samizdat/enroll.txt {
      root $out/mirrors;
      try_files /\$server_addr/enroll.txt =404;
    }
    location = /nginx-status { stub_status; }
EOF
  sed "s/.*/    listen &:$port;/" "$addresses"
  echo "  }"
  echo "}"
} >"$out/nginx/nginx.conf"
/usr/sbin/nginx -p "$out/nginx" -c "$out/nginx/nginx.conf" 2>"$out/nginx/stderr" &
nginx_pid=$!

# wait_http URL PID ERR: until URL answers 200 (at most 30 s) while process PID runs (else its
# stderr ERR is shown).
wait_http() {
  local i
  for i in $(seq 300); do
    curl -sf -o /dev/null "$1" && return 0
    kill -0 "$2" 2>/dev/null || { echo "$1: its server stopped:" >&2; tail -n5 "$3" >&2; exit 1; }
    sleep 0.1
  done
  echo "$1: no answer" >&2
  exit 1
}
last=$(tail -n1 "$addresses")
wait_http "http://$last:$port/metadata/timestamp.json" "$nginx_pid" "$out/nginx/stderr"
nginx_requests() { curl -sf "http://$last:$port/nginx-status" | awk 'NR == 3 { print $3 }'; }

# ---- The directory ----------------------------------------------------------------------------------
dir=$out/directory
"$bin" directory init "$dir" --archive-root "$out/archive/root.json" --listen "$directory_ip:$port" \
  --interval 1 --samples "$samples" >"$out/directory-init.out"
if [ -n "${BENCH_CONCURRENCY:-}" ]; then
  sed -i "s/^concurrency = .*/concurrency = $BENCH_CONCURRENCY/" "$dir/directory.toml"
fi
concurrency=$(sed -n 's/^concurrency = //p' "$dir/directory.toml")
"$bin" directory run "$dir" >"$out/directory.out" 2>"$out/directory.err" &
directory_pid=$!
directory_url=http://$directory_ip:$port/
wait_http "${directory_url}status.json" "$directory_pid" "$out/directory.err"

# metric NAME: the directory's /metrics value of series NAME (exact, labels included).
metric() {
  curl -sf "${directory_url}metrics" | awk -v name="$1" '$1 == name { print $2 }'
}

# ---- Enrolment: every mirror through the API, $jobs at a time --------------------------------------
started=$(date +%s.%N)
# Each line: ADDRESS PORT COUNTRY; each enrolment one `samizdat mirror enroll` into the address's
# folder (its challenge written there, served by nginx at that address).
awk -v port="$port" 'BEGIN { split("DE NL SE FR CH IS NO FI AT CZ", cc) }
  { print $0, port, cc[NR % 10 + 1] }' "$addresses" |
  xargs -P "$jobs" -L 1 sh -c '
    "$0" mirror enroll "$1/$3" --directory "$2" --url "http://$3:$4/" \
      --country "$5" --provider bench --timeout 30 >/dev/null || exit 255
  ' "$bin" "$out/mirrors" "$directory_url" 2>"$out/enrol.err" || {
  echo "enrolment failed:" >&2; tail -n5 "$out/enrol.err" >&2; exit 1; }
enrolled_in=$(awk -v a="$started" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
echo "enrolled $count mirrors in $enrolled_in s" >&2

# ---- Rounds -------------------------------------------------------------------------------------
# Every mirror active (its first full audit passed), at most 10 minutes.
for ((i = 0; ; i++)); do
  active=$(metric 'samizdat_directory_mirrors{state="active"}')
  [ "${active:-0}" = "$count" ] && break
  kill -0 "$directory_pid" 2>/dev/null || { tail -n5 "$out/directory.err" >&2; exit 1; }
  if [ "$i" -ge 600 ]; then
    echo "after 10 minutes, $active of $count mirrors are active:" >&2
    curl -sf "${directory_url}metrics" | grep -E '^samizdat_directory_(mirrors|audit_failures)' >&2
    exit 1
  fi
  sleep 1
done
echo "every mirror active; measuring $seconds s of rounds" >&2

# ticks PID: user + system clock ticks of process PID so far.
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hz=$(getconf CLK_TCK)
rounds_before=$(grep -c '^directory: round of' "$out/directory.err" || true)
audits0=$(metric samizdat_directory_audits_total)
samples0=$(metric samizdat_directory_audit_samples_total)
failures0=$(curl -sf "${directory_url}metrics" | awk '/^samizdat_directory_audit_failures_total/ { n += $2 } END { print n + 0 }')
requests0=$(nginx_requests)
dticks0=$(ticks "$directory_pid")
nticks0=$(ticks "$nginx_pid")
t0=$(date +%s.%N)
sleep "$seconds"
t1=$(date +%s.%N)
dticks1=$(ticks "$directory_pid")
nticks1=$(ticks "$nginx_pid")
requests1=$(nginx_requests)
audits1=$(metric samizdat_directory_audits_total)
samples1=$(metric samizdat_directory_audit_samples_total)
failures1=$(curl -sf "${directory_url}metrics" | awk '/^samizdat_directory_audit_failures_total/ { n += $2 } END { print n + 0 }')
read -r _ peak_kb _ < <(grep VmHWM "/proc/$directory_pid/status")
read -r _ rss_kb _ < <(grep VmRSS "/proc/$directory_pid/status")
threads=$(awk '/^Threads/ { print $2 }' "/proc/$directory_pid/status")
stop directory_pid
stop nginx_pid

# The rounds that began after every mirror was active (the first one skipped: it may have begun
# before) and ended within the window, each auditing every mirror.
tail -n +"$((rounds_before + 1))" "$out/directory.err" | grep '^directory: round of' |
  tail -n +2 | awk -v n="$count" '$4 == n { print $4, $7 }' >"$out/rounds"
if [ ! -s "$out/rounds" ]; then
  echo "no full round finished within $seconds s (see $out/directory.err): raise BENCH_SECONDS" >&2
  exit 1
fi
read -r rounds audited took per_minute < <(awk '
  { n++; a += $1; t += $2 } END { printf "%d %d %.1f %.0f\n", n, a, t, a / t * 60 }' "$out/rounds")
elapsed=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
audits=$((audits1 - audits0))
failures=$((failures1 - failures0))
if [ "$audits" -le 0 ]; then echo "no audit counted in the window" >&2; exit 1; fi
if [ "$failures" != 0 ]; then
  echo "$failures audits failed in the window: every mirror serves the release honestly" >&2
  grep -v '^directory: round of' "$out/directory.err" | tail -n5 >&2
  exit 1
fi
per_audit() { awk -v x="$1" -v n="$audits" 'BEGIN { printf "%.2f", x / n }'; }
cores() { awk -v t="$1" -v hz="$hz" -v s="$elapsed" 'BEGIN { printf "%.2f", t / hz / s }'; }

{
  echo "Directory bench, $(date -u +%Y-%m-%d), $(nproc) cores, load average $load at start; $count mirrors"
  echo "(one nginx process on $count addresses 127.77.x.y; the sample archive$( [ "$docs" -gt 0 ] && echo " + $docs derived rows"):"
  echo "$targets target files, $roles delegated roles, a snapshot.json of $snapshot_bytes bytes),"
  echo "concurrency $concurrency, $samples samples an audit, rounds back to back, $elapsed s measured."
  echo
  echo "| measure | value |"
  echo "|---|---|"
  echo "| full audits a minute (rounds in the window: audits / their time) | **$per_minute** ($rounds rounds, $audited audits in $took s) |"
  echo "| a round of $count mirrors | $(awk -v t="$took" -v n="$rounds" 'BEGIN { printf "%.1f", t / n }') s |"
  echo "| audits counted in the window (/metrics), failed | $audits, $failures |"
  echo "| targets downloaded and hashed per audit (/metrics) | $(per_audit "$((samples1 - samples0))") |"
  echo "| requests nginx answered per audit | $(per_audit "$((requests1 - requests0))") |"
  echo "| directory CPU (cores busy) | $(cores "$((dticks1 - dticks0))") |"
  echo "| nginx CPU (cores busy) | $(cores "$((nticks1 - nticks0))") |"
  echo "| directory RSS: peak (VmHWM), at the end | $((peak_kb / 1024)) MiB, $((rss_kb / 1024)) MiB |"
  echo "| directory threads | $threads |"
  echo "| enrolment of $count mirrors through the API ($jobs at a time) | $enrolled_in s |"
} | tee "$root/bench/out/directory.md"
