#!/usr/bin/env bash
# A/B of samizdat binaries on mirror.sh's loads, in the same window (issues 15 and 16: "the
# bench/mirror.sh ratios unchanged within noise, old and new binaries alternated").
#
#   bench/mirror_ab.sh BINARY_A BINARY_B [BINARY...]    (the table goes to bench/out/mirror_ab.md)
#
# One archive for every binary: bench/out/mirror_ab/archive, made on first use by the LAST binary
# (the scale corpus of publish.sh up to BENCH_DOCS documents, default 50000, plus mirror.sh's
# 100 MB text, released once with --no-site) and kept, with its file system image mounted, for
# later runs (`umount bench/out/mirror_ab && rm .cache/bench-mirror-ab.img` when done). nginx
# (tuned as in mirror.sh) and an rsync daemon serve its release throughout.
#
# BENCH_ROUNDS (3) rounds; in each, every binary in turn (the order rotated by one each round):
#   `BINARY mirror serve ARCHIVE`, then, each against nginx in the same minute (which of the
#   two goes first alternates by round): wrk -t2 -c64 on the hot document, on the random paths
#   (bench/wrk.lua), wrk -t2 -c4 on the 100 MB file (BENCH_WARMUP (2) s warm-up, BENCH_SECONDS
#   (10) s measured, as mirror.sh); then `BINARY mirror sync` from that server and
#   `rsync -a` from the daemon, each into an empty folder (order alternating by round); the
#   server stopped. Each row of the table is one such slot, with its ratios against nginx and
#   rsync measured beside it: machine load (other builds) moves both sides of a ratio alike.
# No incremental (+1%) sync: that needs a new release per binary and run.
# Addresses 127.0.0.200 (nginx), .201 (samizdat), .202 (rsync), port BENCH_PORT (18080).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out=$root/bench/out/mirror_ab
. "$root/bench/lib.sh"

# The mirror's flood guard (issue 18) on, but never refusing: wrk and a sync ask from one address
# at full speed, which its default limits answer with 429 after a burst (and its connection cap
# at 64 an address). `BENCH_GUARD=default` measures with the defaults. Environment, not flags,
# so that a binary from before the guard runs the same commands.
if [ "${BENCH_GUARD:-wide}" = wide ]; then
  export SAMIZDAT_GUARD_RATE=1000000000 SAMIZDAT_GUARD_BURST=1000000000 \
    SAMIZDAT_GUARD_PREFIX_RATE=1000000000 SAMIZDAT_GUARD_PREFIX_BURST=1000000000 \
    SAMIZDAT_GUARD_CONNECTIONS=1000000 SAMIZDAT_GUARD_PREFIX_CONNECTIONS=1000000
fi

[ $# -ge 2 ] || { echo "usage: bench/mirror_ab.sh BINARY_A BINARY_B [BINARY...]" >&2; exit 2; }
bins=()
for b in "$@"; do
  [ -x "$b" ] || { echo "$b: not an executable" >&2; exit 2; }
  bins+=("$(cd "$(dirname "$b")" && pwd)/$(basename "$b")")
done
docs=${BENCH_DOCS:-50000}
rounds=${BENCH_ROUNDS:-3}
seconds=${BENCH_SECONDS:-10}
warmup=${BENCH_WARMUP:-2}
connections=${BENCH_CONNECTIONS:-64}
port=${BENCH_PORT:-18080}
loads=" ${BENCH_LOADS:-hot random large sync} "  # a subset for a closer look at one of them
ng=127.0.0.200 sz=127.0.0.201 rs=127.0.0.202

for tool in wrk /usr/sbin/nginx rsync curl /usr/bin/time; do
  command -v "$tool" >/dev/null || { apt-get update -qq && apt-get install -y -qq "${tool##*/}" >/dev/null; }
done
for address in $ng $sz $rs; do
  if (exec 3<>"/dev/tcp/$address/$port") 2>/dev/null; then
    echo "$address:$port is taken (another run? set BENCH_PORT)" >&2
    exit 1
  fi
done
read -r load _ </proc/loadavg

at_exit 'stop serve_pid; stop nginx_pid; stop rsyncd_pid'

# ---- The archive, made once and kept ---------------------------------------------------------
archive=$out/archive
if [ ! -f "$out/paths/large" ]; then
  BENCH_KEEP=1 fresh_fs "$out" "$cache/bench-mirror-ab.img"
  "$root/../shared/corpora/fetch.sh" all "$corpora" >/dev/null
  bin=${bins[-1]}
  "$bin" init "$archive" >/dev/null
  ingest_corpus "$archive" "$docs"
  mkdir -p "$out/large"
  python3 "$root/bench/mirror_files.py" large "$out/large/bench-large.txt"
  measure add-large "$bin" add "$archive" "$out/large"
  measure release "$bin" release --no-site "$archive"
  grep -o '[0-9]* documents (' "$out/release.out" | cut -d' ' -f1 >"$out/documents"
  echo "made by $bin ($docs documents asked)" >"$out/made-by"
  python3 "$root/bench/mirror_files.py" paths "$archive/release/targets" "$out/paths.tmp" 20000 >&2
  mv "$out/paths.tmp" "$out/paths"
fi
documents=$(cat "$out/documents")
targets=$(find "$archive/release/targets" -type f | wc -l)
hot=$(cat "$out/paths/hot")
large=$(cat "$out/paths/large")
hot_bytes=$(stat -c %s "$archive/release/$hot")
large_bytes=$(stat -c %s "$archive/release/$large")
rm -rf "$out/run" && mkdir -p "$out/run"
out=$out/run   # measure/field write here

# ---- nginx and the rsync daemon (as in mirror.sh) ---------------------------------------------
mkdir -p "$out/nginx"
nofile=$(ulimit -Hn)
if [ "$nofile" = unlimited ] || [ "$nofile" -gt 262144 ]; then nofile=262144; fi
cat >"$out/nginx/nginx.conf" <<EOF
$( [ "$(id -u)" = 0 ] && echo "user root root;" )
worker_processes 2;
worker_rlimit_nofile $nofile;
pid $out/nginx/nginx.pid;
error_log $out/nginx/error.log warn;
events { worker_connections 4096; }
http {
  include /etc/nginx/mime.types;
  default_type application/octet-stream;
  access_log off;
  sendfile on;
  tcp_nopush on;
  tcp_nodelay on;
  keepalive_timeout 65;
  keepalive_requests 1000000;
  open_file_cache max=$((nofile - 4096)) inactive=60s;
  open_file_cache_valid 60s;
  open_file_cache_min_uses 1;
  open_file_cache_errors on;
  client_body_temp_path $out/nginx/tmp;
  proxy_temp_path $out/nginx/tmp;
  fastcgi_temp_path $out/nginx/tmp;
  uwsgi_temp_path $out/nginx/tmp;
  scgi_temp_path $out/nginx/tmp;
  server {
    listen $ng:$port reuseport;
    root $archive/release;
    location /targets/ {
      add_header Cache-Control "public, max-age=31536000, immutable";
      add_header Content-Security-Policy sandbox;
      add_header X-Content-Type-Options nosniff;
    }
  }
}
EOF
/usr/sbin/nginx -p "$out/nginx" -c "$out/nginx/nginx.conf" -g 'daemon off;' &
nginx_pid=$!
cat >"$out/rsyncd.conf" <<EOF
pid file = $out/rsyncd.pid
use chroot = no
log file = $out/rsyncd.log
[release]
  path = $archive/release
  read only = yes
$( [ "$(id -u)" = 0 ] && printf '  uid = root\n  gid = root' )
EOF
rsync --daemon --no-detach --config="$out/rsyncd.conf" --address=$rs --port="$port" &
rsyncd_pid=$!

wait_http() {
  local i
  for i in $(seq 100); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done
  echo "$1: no answer" >&2
  exit 1
}
wait_http "http://$ng:$port$hot"

# ---- wrk (as mirror.sh's run_wrk) -------------------------------------------------------------
declare -A rps mbs cpu p99
server_ticks() {
  local pids p t=0
  case $1 in *nginx*) pids=$(pgrep -P "$nginx_pid") ;; *) pids=$serve_pid ;; esac
  for p in $pids; do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat"))); done
  echo "$t"
}
run_wrk() {
  local label=$1 conns=$2 url=$3 list=${4:-} requests bytes duration p50 p99us status socket ticks
  WRK_PATHS=$list wrk -t2 -c"$conns" -d"${warmup}s" --timeout 30s -s "$root/bench/wrk.lua" "$url" >/dev/null
  ticks=$(server_ticks "$label")
  WRK_PATHS=$list wrk -t2 -c"$conns" -d"${seconds}s" --timeout 30s --latency \
    -s "$root/bench/wrk.lua" "$url" >"$out/$label.wrk"
  ticks=$(($(server_ticks "$label") - ticks))
  read -r _ requests bytes duration p50 p99us status socket < <(grep '^wrk-result' "$out/$label.wrk")
  if [ "$status" != 0 ] || [ "$socket" != 0 ]; then
    cat "$out/$label.wrk" >&2
    echo "$label: $status answers not 2xx/3xx, $socket socket errors" >&2
    exit 1
  fi
  cpu[$label]=$(awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" -v n="$requests" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')
  rps[$label]=$(awk -v n="$requests" -v d="$duration" 'BEGIN { printf "%.0f", n / d * 1e6 }')
  mbs[$label]=$(awk -v b="$bytes" -v d="$duration" 'BEGIN { printf "%.0f", b / d }')
  p99[$label]=$(awk -v u="$p99us" 'BEGIN { printf "%.2f", u / 1000 }')
  echo "$label: ${rps[$label]} req/s, p99 ${p99[$label]} ms, ${mbs[$label]} MB/s, server CPU ${cpu[$label]} us/request" >&2
}

# ---- The rounds -------------------------------------------------------------------------------
ratio() { if [ -n "$1" ] && [ -n "$2" ]; then awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; else echo -; fi; }
n=${#bins[@]}
rows=()
for ((r = 1; r <= rounds; r++)); do
  for ((i = 0; i < n; i++)); do
    k=$(((i + r - 1) % n))
    b=${bins[k]}
    name=$(basename "$b")
    slot=$name.$r
    rm -rf "$archive/cache/gz"
    "$b" mirror serve "$archive" --listen "$sz:$port" >"$out/$slot.serve.out" 2>"$out/$slot.serve.err" &
    serve_pid=$!
    for _ in $(seq 300); do
      curl -sf -o /dev/null "http://$sz:$port$hot" && break
      kill -0 "$serve_pid" 2>/dev/null || { cat "$out/$slot.serve.err" >&2; exit 1; }
      sleep 0.05
    done
    cmp <(curl -sf "http://$ng:$port$hot") <(curl -sf "http://$sz:$port$hot") >/dev/null || {
      echo "$slot: nginx and samizdat answer different bytes for $hot" >&2; exit 1; }
    if ((r % 2)); then order="nginx ours"; else order="ours nginx"; fi
    for side in $order; do
      if [ "$side" = nginx ]; then host=$ng; else host=$sz; fi
      [[ $loads != *" hot "* ]] || run_wrk "$slot.hot-$side" "$connections" "http://$host:$port$hot"
    done
    for side in $order; do
      if [ "$side" = nginx ]; then host=$ng; else host=$sz; fi
      [[ $loads != *" random "* ]] || run_wrk "$slot.random-$side" "$connections" "http://$host:$port/" "$root/bench/out/mirror_ab/paths/random"
    done
    for side in $order; do
      if [ "$side" = nginx ]; then host=$ng; else host=$sz; fi
      [[ $loads != *" large "* ]] || run_wrk "$slot.large-$side" 4 "http://$host:$port$large"
    done
    rss=$(awk '$1 == "VmHWM:" { printf "%.0f", $2 / 1024 }' "/proc/$serve_pid/status")
    if ((r % 2)); then order="rsync ours"; else order="ours rsync"; fi
    [[ $loads == *" sync "* ]] || order=
    for side in $order; do
      rm -rf "$out/rsync-copy" "$out/mirror"
      sync
      if [ "$side" = rsync ]; then
        measure "$slot.sync-rsync" rsync -a --delete "rsync://$rs:$port/release/" "$out/rsync-copy/"
      else
        measure "$slot.sync-ours" "$b" mirror sync "$out/mirror" --peer "http://$sz:$port/" --root "$archive/root.json"
        fetched=$(grep -o '[0-9]* fetched' "$out/$slot.sync-ours.out" | cut -d' ' -f1)
        [ "${fetched:-0}" -ge "$targets" ] || { echo "$slot: mirror sync fetched ${fetched:-0} of $targets targets" >&2; exit 1; }
      fi
    done
    stop serve_pid
    s_ours= s_rsync=
    if [[ $loads == *" sync "* ]]; then s_ours=$(field "$slot.sync-ours" s) s_rsync=$(field "$slot.sync-rsync" s); fi
    hot_r=$(ratio "${rps[$slot.hot-ours]:-}" "${rps[$slot.hot-nginx]:-}")
    random_r=$(ratio "${rps[$slot.random-ours]:-}" "${rps[$slot.random-nginx]:-}")
    large_r=$(ratio "${mbs[$slot.large-ours]:-}" "${mbs[$slot.large-nginx]:-}")
    sync_r=$(ratio "$s_ours" "$s_rsync")
    echo "$name $hot_r $random_r $large_r $sync_r ${cpu[$slot.hot-ours]:--} ${cpu[$slot.random-ours]:--}" >>"$out/ratios"
    rows+=("| $r | $name | ${rps[$slot.hot-ours]:-} / ${rps[$slot.hot-nginx]:-} | **$hot_r** | ${cpu[$slot.hot-ours]:-} / ${cpu[$slot.hot-nginx]:-} | ${rps[$slot.random-ours]:-} / ${rps[$slot.random-nginx]:-} | **$random_r** | ${cpu[$slot.random-ours]:-} / ${cpu[$slot.random-nginx]:-} | ${mbs[$slot.large-ours]:-} / ${mbs[$slot.large-nginx]:-} | **$large_r** | $s_ours / $s_rsync | **$sync_r** | $rss |")
    echo "${rows[-1]}" >&2
    printf '%s\n' "${rows[@]}" >"$out/rows.partial"
  done
done

{
  echo "archive: $documents documents (one a $((large_bytes / 1000000)) MB text), $targets targets; hot document $hot_bytes B; load average at start $load"
  echo
  echo "| round | binary | hot req/s ours / nginx | hot ratio | hot server CPU µs/req ours / nginx | random req/s ours / nginx | random ratio | random server CPU µs/req ours / nginx | large MB/s ours / nginx | large ratio | initial sync s ours / rsync | sync ratio | serve peak RSS MiB |"
  echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|"
  printf '%s\n' "${rows[@]}"
  echo
  # Per binary, over the rounds: the median ratio, [lowest, highest].
  echo "| binary | hot ratio | random ratio | large ratio | sync ratio (lower is better) | hot server CPU µs/req | random server CPU µs/req |"
  echo "|---|---|---|---|---|---|---|"
  for b in "${bins[@]}"; do
    name=$(basename "$b")
    line="| $name |"
    for col in 2 3 4 5 6 7; do
      line+=" $(awk -v n="$name" -v c="$col" '$1 == n && $c != "-" { print $c }' "$out/ratios" | sort -g |
        awk '{ v[NR] = $1 } END { if (!NR) { printf "–"; exit } m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
          printf "**%.2f** [%s–%s]", m, v[1], v[NR] }') |"
    done
    echo "$line"
  done
} | tee "$root/bench/out/mirror_ab.md"
