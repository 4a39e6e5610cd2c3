#!/usr/bin/env bash
# Mirror bench (issue 3): samizdat's mirror against real peers in the same run, on the same files.
#
#   bench/mirror.sh [DOCUMENTS]      (default 250000; the table goes to bench/out/mirror.md)
#
# - serving: `samizdat mirror serve ARCHIVE` and nginx (root = ARCHIVE/release) under wrk, same
#   threads and connections: one ~5 KB document (hot), random documents across the archive (one
#   list of paths, bench/wrk.lua), a 100 MB file (MB/s);
# - syncing: `samizdat mirror sync` from that server and `rsync -a` from an rsync daemon (module =
#   ARCHIVE/release), both over loopback into empty folders, then again after 1% more documents;
# - the serving mirror's RSS.
#
# The archive is the scale corpus of publish.sh (real corpora, then derived rows up to DOCUMENTS)
# plus one 100 MB text document, released once; or ARCHIVE=DIR, an existing archive (e.g.
# publish.sh's, kept with BENCH_KEEP=1), which is then MODIFIED: the 100 MB document and 1% more
# documents are added and released. Releases are the publisher core's (`--no-site`): the reader
# site is measured by site.sh, and at 250,000 documents its build needs ~1.4 GB.
#
# Environment: BENCH_SECONDS (10) per wrk run, BENCH_WARMUP (2) seconds of wrk before each,
# BENCH_REPS (3) runs of each server on the hot and the random documents (the median is shown),
# BENCH_SYNC_REPS (3) runs of each sync, initial and incremental (the median is shown),
# BENCH_CONNECTIONS (64), BENCH_PATHS (20000) paths in the random list, BENCH_PORT (18080) on
# 127.0.0.21 (nginx), .22 (samizdat), .23 (rsync); BENCH_KEEP, BENCH_NO_FRESH_FS as in lib.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
docs=${1:-250000}
out=$root/bench/out/mirror
. "$root/bench/lib.sh"

# The mirror's flood guard (issue 18) on, but never refusing: wrk and a sync ask from one address
# at full speed, which its default limits answer with 429 after a burst (and its connection cap
# at 64 an address). `BENCH_GUARD=default` measures with the defaults. Environment, not flags,
# so that a binary from before the guard runs the same commands.
[ "${BENCH_GUARD:-wide}" != wide ] || guard_wide

seconds=${BENCH_SECONDS:-10}
reps=${BENCH_REPS:-3}
warmup=${BENCH_WARMUP:-2}
sync_reps=${BENCH_SYNC_REPS:-3}
connections=${BENCH_CONNECTIONS:-64}
npaths=${BENCH_PATHS:-20000}
port=${BENCH_PORT:-18080}
ng=127.0.0.21 sz=127.0.0.22 rs=127.0.0.23

for tool in wrk /usr/sbin/nginx rsync curl; do  # nginx: /usr/sbin may not be on PATH
  command -v "$tool" >/dev/null || { apt-get update -qq && apt-get install -y -qq "${tool##*/}" >/dev/null; }
done
for address in $ng $sz $rs; do
  if (exec 3<>"/dev/tcp/$address/$port") 2>/dev/null; then
    echo "$address:$port is taken (another run? set BENCH_PORT)" >&2
    exit 1
  fi
done
if [ -n "${ARCHIVE:-}" ]; then
  archive=$(cd "$ARCHIVE" && pwd)
  if [ ! -f "$archive/root.json" ] || [ ! -d "$archive/release/targets" ]; then
    echo "ARCHIVE=$ARCHIVE: not an archive with a release" >&2; exit 1
  fi
  case $archive/ in "$out"/*) echo "ARCHIVE must not be under $out (emptied by the run)" >&2; exit 1 ;; esac
fi
read -r load _ </proc/loadavg

bench_build
fresh_fs "$out" "$cache/bench-mirror.img"
# A copy of the binary: a `cargo build` during the run would otherwise swap it under the
# processes (and the PDF readers `add` starts from it).
cp "$bin" "$out/samizdat" && bin=$out/samizdat

at_exit 'stop serve_pid; stop nginx_pid; stop rsyncd_pid'

# ---- The archive, with one large document ----------------------------------------------------
mkdir -p "$out/large"
python3 "$root/bench/mirror_files.py" large "$out/large/bench-large.txt"
if [ -z "${ARCHIVE:-}" ]; then
  archive=$out/archive
  "$bin" init "$archive" >/dev/null
  ingest_corpus "$archive" "$docs"
  first_plus=$scale
else
  echo "archive: $archive (modified: a 100 MB document, then 1% more documents)" >&2
fi
measure add-large "$bin" add "$archive" "$out/large"
measure release "$bin" release --no-site "$archive"
documents=$(grep -o '[0-9]* documents (' "$out/release.out" | cut -d' ' -f1)
# ids of the +1% rows: after publish.sh's in a built archive; past any earlier run's otherwise
first_plus=${first_plus:-$((10000000 + documents))}
python3 "$root/bench/mirror_files.py" paths "$archive/release/targets" "$out/paths" "$npaths" >&2
targets=$(grep -o '[0-9]* targets' "$out/release.out" | head -n1 | cut -d' ' -f1)
hot=$(cat "$out/paths/hot")
large=$(cat "$out/paths/large")
hot_bytes=$(stat -c %s "$archive/release/$hot")
large_bytes=$(stat -c %s "$archive/release/$large")

# ---- The servers ---------------------------------------------------------------------------------
# nginx as a mirror operator would tune it for static files on this machine: one worker per core,
# sendfile, open file cache, no access log, unlimited keep-alive; the caching headers samizdat
# sends on a target, so that both answer the same bytes of headers, give or take.
mkdir -p "$out/nginx"
nofile=$(ulimit -Hn)
if [ "$nofile" = unlimited ] || [ "$nofile" -gt 262144 ]; then nofile=262144; fi
cat >"$out/nginx/nginx.conf" <<EOF
$( [ "$(id -u)" = 0 ] && echo "user root root;  # archives released before 0d9c886 have 0600 files" )
worker_processes 2;
worker_rlimit_nofile $nofile;  # room for the open file cache (the hard limit here)
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
# shellcheck disable=SC2034  # read by stop, through ${!1}
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
# shellcheck disable=SC2034
rsyncd_pid=$!

# start_serve LABEL: `samizdat mirror serve ARCHIVE` on $sz; records in $out/LABEL.time how long
# it took to load the release and listen.
start_serve() {
  local start now
  start=$(date +%s.%N)
  "$bin" mirror serve "$archive" --listen "$sz:$port" >"$out/$1.out" 2>"$out/$1.err" &
  serve_pid=$!
  until grep -q '^listening on' "$out/$1.out"; do
    kill -0 "$serve_pid" 2>/dev/null || { cat "$out/$1.err" >&2; exit 1; }
    sleep 0.02
  done
  now=$(date +%s.%N)
  awk -v a="$start" -v b="$now" 'BEGIN { printf "%.2f 0\n", b - a }' >"$out/$1.time"
  echo "$1: listening after $(field "$1" s) s" >&2
}
# The gzipped copies `mirror serve` makes on first request (ARCHIVE/cache/gz) are a cache: every
# run starts without them.
rm -rf "$archive/cache/gz"
start_serve serve-start

wait_http() {
  local i
  for i in $(seq 100); do curl -sf -o /dev/null "$1" && return 0; sleep 0.1; done
  echo "$1: no answer" >&2
  exit 1
}
wait_http "http://$ng:$port$hot"
wait_http "http://$sz:$port$hot"
for path in "$hot" "$large" "$(head -n1 "$out/paths/random")"; do
  cmp <(curl -sf "http://$ng:$port$path") <(curl -sf "http://$sz:$port$path") >/dev/null || {
    echo "$path: nginx and samizdat answer different bytes" >&2; exit 1; }
done
cmp <(curl -sf "http://$sz:$port$(cat "$out/paths/hot-plain")") "$archive/release$hot" || exit 1

# ---- Serving: wrk ----------------------------------------------------------------------------
declare -A rps p99 mbs cpu
# server_ticks LABEL: user + system clock ticks so far of the server a run's label names (nginx's
# workers, or the samizdat process with all its threads).
server_ticks() {
  local pids p t=0
  case $1 in *-nginx*) pids=$(pgrep -P "$nginx_pid") ;; *) pids=$serve_pid ;; esac
  for p in $pids; do t=$((t + $(awk '{ print $14 + $15 }' "/proc/$p/stat"))); done
  echo "$t"
}
# run_wrk LABEL CONNECTIONS URL [PATHS]: wrk, 2 threads, CONNECTIONS, $seconds s after a $warmup s
# warm-up run, on URL (or on paths drawn from the file PATHS); output in $out/LABEL.wrk. Any
# answer but 2xx/3xx, or any socket error, fails the run.
run_wrk() {
  local label=$1 conns=$2 url=$3 list=${4:-} requests bytes duration p50 p99us status socket ticks
  WRK_PATHS=$list wrk -t2 -c"$conns" -d"${warmup}s" --timeout 30s -s "$root/bench/wrk.lua" "$url" >/dev/null
  ticks=$(server_ticks "$label")
  WRK_PATHS=$list wrk -t2 -c"$conns" -d"${seconds}s" --timeout 30s --latency \
    -s "$root/bench/wrk.lua" "$url" >"$out/$label.wrk"
  ticks=$(($(server_ticks "$label") - ticks))
  read -r _ requests bytes duration p50 p99us status socket < <(grep '^wrk-result' "$out/$label.wrk")
  # The server's CPU time per answer (µs): what it costs, whatever share of the cores wrk took.
  cpu[$label]=$(awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" -v n="$requests" 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')
  if [ "$status" != 0 ] || [ "$socket" != 0 ]; then
    cat "$out/$label.wrk" >&2
    echo "$label: $status answers not 2xx/3xx, $socket socket errors" >&2
    exit 1
  fi
  rps[$label]=$(awk -v n="$requests" -v d="$duration" 'BEGIN { printf "%.0f", n / d * 1e6 }')
  p99[$label]=$(awk -v u="$p99us" 'BEGIN { printf "%.2f", u / 1000 }')
  mbs[$label]=$(awk -v b="$bytes" -v d="$duration" 'BEGIN { printf "%.0f", b / d }')
  echo "$label: ${rps[$label]} req/s, p50 $((p50))us, p99 ${p99[$label]} ms, ${mbs[$label]} MB/s, server CPU ${cpu[$label]} us/request" >&2
}
# run_pair NAME PATH [PATHS]: NAME-nginx and NAME-ours, $reps runs each, alternating between the
# servers (and which one goes first); each keeps its median run by requests a second, and
# all[LABEL] lists every run's requests a second. A single run here moves by 10-20%.
declare -A all
# median_run: reads "VALUE RUN" lines; prints the median line's RUN, then every VALUE in
# ascending order joined by /.
median_run() {
  local sorted
  sorted=$(sort -n)
  echo "$(sed -n "$((($(wc -l <<<"$sorted") + 1) / 2))p" <<<"$sorted" | cut -d' ' -f2) $(cut -d' ' -f1 <<<"$sorted" | paste -sd/)"
}
run_pair() {
  local name=$1 path=$2 list=${3:-} k side label best order host
  for ((k = 1; k <= reps; k++)); do
    if ((k % 2)); then order="nginx ours"; else order="ours nginx"; fi
    for side in $order; do
      if [ "$side" = nginx ]; then host=$ng; else host=$sz; fi
      run_wrk "$name-$side.$k" "$connections" "http://$host:$port$path" "$list"
    done
  done
  for side in nginx ours; do
    label=$name-$side
    read -r best "all[$label]" < <(for ((k = 1; k <= reps; k++)); do echo "${rps[$label.$k]} $k"; done | median_run)
    rps[$label]=${rps[$label.$best]} p99[$label]=${p99[$label.$best]}
    mbs[$label]=${mbs[$label.$best]} cpu[$label]=${cpu[$label.$best]}
    cp "$out/$label.$best.wrk" "$out/$label.wrk"
  done
}
run_pair hot "$hot"
# Before the random runs: those fill the response cache, which then takes no new entry for a
# minute (no churn under a scan), so a document first asked for after them is read each time.
run_wrk hot-plain-ours "$connections" "http://$sz:$port$(cat "$out/paths/hot-plain")"
run_pair random / "$out/paths/random"
# rss FIELD: the serving mirror's VmHWM (peak) or VmRSS (now), MiB.
rss() { awk -v f="$1:" '$1 == f { printf "%.0f", $2 / 1024 }' "/proc/$serve_pid/status"; }
run_wrk random-plain-ours "$connections" "http://$sz:$port/" "$out/paths/random-plain"
# The mirror's RSS once it has served random documents across the whole archive, by both paths.
rss_random=$(rss VmHWM)
rss_random_now=$(rss VmRSS)
run_wrk large-nginx 4 "http://$ng:$port$large"
run_wrk large-ours 4 "http://$sz:$port$large"
rss_large=$(rss VmHWM)
# Readers' browsers ask for gzip: 4 of them fetching the large text at once.
for i in 1 2 3 4; do
  curl -sf -o /dev/null -H 'Accept-Encoding: gzip' "http://$sz:$port$large" &
  readers[i]=$!
done
for i in 1 2 3 4; do wait "${readers[i]}"; done
rss_gzip=$(rss VmHWM)

# ---- Syncing: rsync daemon vs samizdat mirror sync ------------------------------------------
# Both read the archive from the page cache (it was just written and served), and write into
# empty folders on the same file system. Nothing is left to write back before each timed run
# (`sync` first, untimed). samizdat syncs the file system before it commits a release (durable);
# rsync does not: the `sync` after rsync is timed apart and shown next to rsync's time. Neither
# compresses (rsync without -z; a syncing mirror asks for the bytes as they are).
# sync_pair LABEL: rsync and samizdat mirror sync, $sync_reps runs each, alternating which goes
# first; each run starts from the state saved by save_state (nothing, for the initial sync).
# LABEL-rsync, LABEL-rsync-sync and LABEL-ours then hold each side's median run by time, and
# sync_all[LABEL-SIDE] lists every run's seconds. A first sync's time here moves by 2x from one
# run to the next (the disk), rsync's as much as ours.
declare -A sync_all
sync_pair() {
  local label=$1 k side best order
  for ((k = 1; k <= sync_reps; k++)); do
    # The first run starts from the state as it is (nothing, or what save_state saved).
    if ((k > 1)); then restore_state; fi
    if ((k % 2)); then order="rsync ours"; else order="ours rsync"; fi
    for side in $order; do
      sync
      if [ "$side" = rsync ]; then
        measure "$label-rsync.$k" rsync -a --delete --stats "rsync://$rs:$port/release/" "$out/rsync-copy/"
        measure "$label-rsync-sync.$k" sync -f "$out/rsync-copy"
      else
        measure "$label-ours.$k" "$bin" mirror sync "$out/mirror" --peer "http://$sz:$port/" --root "$archive/root.json"
      fi
    done
  done
  sync
  for side in rsync ours; do
    read -r best "sync_all[$label-$side]" < <(for ((k = 1; k <= sync_reps; k++)); do echo "$(field "$label-$side.$k" s) $k"; done | median_run)
    for f in time out err; do
      cp "$out/$label-$side.$best.$f" "$out/$label-$side.$f"
      if [ "$side" = rsync ]; then cp "$out/$label-rsync-sync.$best.$f" "$out/$label-rsync-sync.$f"; fi
    done
  done
}
# The state each run of a pair starts from: none (empty folders), or the copies as the initial
# sync left them, saved as hard links (both write new files under new names and never in place).
saved=
save_state() {
  rm -rf "$out/rsync-base" "$out/mirror-base"
  cp -al "$out/rsync-copy" "$out/rsync-base"
  cp -al "$out/mirror" "$out/mirror-base"
  saved=1
}
restore_state() {
  rm -rf "$out/rsync-copy" "$out/mirror"
  if [ -n "$saved" ]; then
    cp -al "$out/rsync-base" "$out/rsync-copy"
    cp -al "$out/mirror-base" "$out/mirror"
  fi
}
rsync_stat() { grep "^$2" "$out/$1-rsync.out" | grep -o '[0-9][0-9,]*' | head -n1 | tr -d ,; }
sync_pair initial
rss_sync=$(rss VmHWM)

save_state
plus=$((documents / 100))
add_derived add-plus "$archive" "$plus" "$first_plus"
measure release-plus "$bin" release --no-site "$archive"
# `mirror serve` would follow the new release by itself within 2 s; it is restarted here to time
# its start-up on the new release (the serve-restart row).
stop serve_pid
start_serve serve-restart
sync_pair plus

# The copies hold what was published.
n_release=$(find "$archive/release" -type f | wc -l)
n_rsync=$(find "$out/rsync-copy" -type f | wc -l)
[ "$n_release" = "$n_rsync" ] || { echo "rsync copy: $n_rsync files, the release $n_release" >&2; exit 1; }
targets_plus=$(grep -o '[0-9]* targets' "$out/release-plus.out" | head -n1 | cut -d' ' -f1)
n_mirror=$(find "$out/mirror/release/targets" -type f | wc -l)
[ "$n_mirror" -ge "$targets_plus" ] || { echo "mirror: $n_mirror targets, the release $targets_plus" >&2; exit 1; }

# ---- The table -------------------------------------------------------------------------------
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f×", a / b }'; }
# sync_row LABEL: "ours | rsync | ratio" cells of a sync pair.
sync_row() {
  local ours rsync_s
  ours=$(field "$1-ours" s)
  rsync_s=$(field "$1-rsync" s)
  echo "**${ours} s**, $(field "$1-ours" m) MiB peak RSS | rsync ${rsync_s} s (+ $(field "$1-rsync-sync" s) s to \`sync\`) | **$(ratio "$ours" "$rsync_s")**"
}
# fetched LABEL: what each side copied, from their own reports.
fetched() {
  local ours files bytes
  ours=$(grep -o '[0-9]* fetched ([0-9]* bytes)' "$out/$1-ours.out")
  files=$(rsync_stat "$1" 'Number of regular files transferred')
  bytes=$(rsync_stat "$1" 'Total transferred file size')
  echo "samizdat ${ours}, rsync $files files ($bytes bytes)"
}
mb() { awk -v b="$1" 'BEGIN { printf "%.0f", b / 1e6 }'; }
{
  echo "| measure | samizdat mirror | peer | ratio | target |"
  echo "|---|---|---|---|---|"
  echo "| archive | $documents documents (one of them a $(mb "$large_bytes") MB text), $targets targets | | | |"
  echo "| **hot document** ($hot_bytes B), wrk -t2 -c$connections, median of $reps (req/s: ours ${all[hot-ours]}, nginx ${all[hot-nginx]}) | **${rps[hot-ours]} req/s**, p99 ${p99[hot-ours]} ms; server CPU ${cpu[hot-ours]} µs/request | nginx ${rps[hot-nginx]} req/s, p99 ${p99[hot-nginx]} ms; ${cpu[hot-nginx]} µs/request | **$(ratio "${rps[hot-ours]}" "${rps[hot-nginx]}")** | ≥ 1.2× |"
  echo "| **random documents** ($(wc -l <"$out/paths/random") paths over the archive), wrk -t2 -c$connections, median of $reps (ours ${all[random-ours]}, nginx ${all[random-nginx]}) | **${rps[random-ours]} req/s**, p99 ${p99[random-ours]} ms; server CPU ${cpu[random-ours]} µs/request | nginx ${rps[random-nginx]} req/s, p99 ${p99[random-nginx]} ms; ${cpu[random-nginx]} µs/request | **$(ratio "${rps[random-ours]}" "${rps[random-nginx]}")** | ≥ 1.0× |"
  echo "| the same by plain path (\`/d/ID/...\`; samizdat only) | hot ${rps[hot-plain-ours]} req/s, p99 ${p99[hot-plain-ours]} ms; random ${rps[random-plain-ours]} req/s, p99 ${p99[random-plain-ours]} ms | | | |"
  echo "| **large file** ($(mb "$large_bytes") MB), wrk -t2 -c4 | **${mbs[large-ours]} MB/s** | nginx ${mbs[large-nginx]} MB/s | **$(ratio "${mbs[large-ours]}" "${mbs[large-nginx]}")** | ≥ 0.9× |"
  echo "| **initial sync** into an empty folder, median of $sync_reps (s: ours ${sync_all[initial-ours]}, rsync ${sync_all[initial-rsync]}) | $(sync_row initial) | ≤ 1.0× |"
  echo "| what it copied | $(fetched initial) | | | |"
  echo "| **incremental sync** after +1% ($plus documents), median of $sync_reps (s: ours ${sync_all[plus-ours]}, rsync ${sync_all[plus-rsync]}) | $(sync_row plus) | ≤ 0.2× |"
  echo "| what it copied | $(fetched plus) | | | |"
  echo "| **mirror RSS** serving $targets targets, after the random documents (both paths) | **$rss_random MiB peak** (VmHWM), $rss_random_now MiB resident | | | ≤ 100 MB |"
  echo "| mirror peak RSS after the large file; after 4 readers asking for it with \`Accept-Encoding: gzip\`; after serving the initial sync | $rss_large MiB; $rss_gzip MiB; $rss_sync MiB | | | |"
  echo "| \`mirror serve\` start-up (load and check the release) | $(field serve-start s) s; $(field serve-restart s) s after +1% | | | |"
} | tee "$out.md"
echo "(load average at start $load; on $(findmnt -no SOURCE,FSTYPE --target "$out" | tr -s ' ' ' '))" >&2
