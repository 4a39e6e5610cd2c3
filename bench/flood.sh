#!/usr/bin/env bash
# The mirror's flood guard under attack (issue 18, must-show 3): a legitimate reader's latency
# and throughput, unloaded and under each attack, against `samizdat mirror serve` (release build)
# and nginx (limit_req/limit_conn) on the same files; the guard's cost unloaded.
#
#   bash bench/flood.sh          BENCH_SECONDS (15) a reader, BENCH_READER_RATE (200) req/s
#
# - the archive: the repository's sample (`sample/documents`: init, add, release --no-site);
#   the hot document is its largest target under 20 KB.
# - servers: samizdat on 127.0.0.32 (guard at its defaults), nginx on 127.0.0.31 (2 workers,
#   limit_req 1000 r/s burst 20000 an address, limit_conn 64 an address, h2c on port+1 for the
#   reset attack); each restarted for each phase, so peak RSS (VmHWM) and refusal counts are the
#   phase's own.
# - the readers (bench/flood_clients.py reader), each for BENCH_SECONDS, one after the other
#   under the same attack, from other /24s than every attacker:
#   paced, for latency: from 127.0.1.2, 4 keep-alive connections asking the hot document at
#   BENCH_READER_RATE req/s in all (a late request goes at once): p50/p99 of its 2xx answers;
#   unpaced, for throughput: a crowd of readers, 4 keep-alive connections from 127.0.4-7.x, each
#   asking again as soon as it has its answer and moving to the next address of its /24 every
#   500 requests (one address at full speed would be a flood: refused after its burst of 20,000,
#   as nginx refuses it after its own): the rate of 2xx answers.
#   The refusals counted are both readers' (other statuses, connection errors).
# - attacks, each started 2 s before the first reader and ending 2 s after the second:
#   (under BENCH_ATTACKER_CPU, below: on 2 cores an attacker's own CPU would otherwise be the
#   attack)
#   flood: wrk -t2 -c64 on the hot document (source 127.0.0.1);
#   slowloris: 2,000 connections from 127.0.2.1-8, a header byte each every 3 s, reopened when
#   closed; reset: HTTP/2 rapid reset (HEADERS + RST_STREAM at once) on 8 h2c connections from
#   127.0.3.1 (python `h2` in .cache/venv-h2).
# - refusals: samizdat's /metrics `samizdat_mirror_refused_total` (all reasons) and
#   `samizdat_mirror_connections_closed_total` but idle and shed (connections cut for their
#   conduct: rapid reset, bad heads), nginx's error log "limiting" lines; the attacker's share =
#   (refusals - the reader's) / refusals. Server CPU: user + system seconds of the phase's
#   server (nginx: master and workers), what the attack cost it on top of the readers.
# - guard cost: wrk -t2 -c64 BENCH_WRK_SECONDS (10) on the hot document, BENCH_REPS (3)
#   alternating: guard at defaults with the rate buckets raised (wrk asks from one address; at the
#   defaults it is refused after its burst: connection caps and in-flight limit stay at defaults,
#   every bucket is still checked) vs the guard off (`--guard-off`: nothing checked but the one
#   in-flight count), and nginx without limits.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
out=$root/bench/out/flood
. "$root/bench/lib.sh"

seconds=${BENCH_SECONDS:-15}
reader_rate=${BENCH_READER_RATE:-200}
wrk_seconds=${BENCH_WRK_SECONDS:-10}
reps=${BENCH_REPS:-3}
port=${BENCH_PORT:-18090}
# How the attack tools share the 2 cores with the server and the readers. An attacker on its own
# machine takes none of the server's CPU; here it must take some.
# - `capped` (the default): they run at the readers' priority in a CPU cgroup of their own held to
#   BENCH_ATTACKER_CORES (0.5) of a core: they get that share whatever the others do, and never
#   more (cgroup v1 or v2; root).
# - `idle`: SCHED_IDLE (`chrt --idle 0`): every cycle the server and the readers leave, none
#   they want; the unpaced readers (CPU-bound) leave them little, so their attack is weaker then.
# - `nice`: nice 10 (the first figures): they still win scheduler slices from the server and
#   the readers, so a reader's p99 partly measures the attack tool's own CPU.
# Each phase reports what the attack achieved (wrk's rate, connections held, streams reset).
attacker_cpu=${BENCH_ATTACKER_CPU:-capped}
cgroup=
case $attacker_cpu in
  capped)
    cores=${BENCH_ATTACKER_CORES:-0.5}
    quota=$(awk -v c="$cores" 'BEGIN { printf "%d", c * 10000 }')
    if [ -d /sys/fs/cgroup/cpu ] && [ ! -f /sys/fs/cgroup/cgroup.controllers ]; then
      cgroup=/sys/fs/cgroup/cpu/samizdat-flood-attack
      mkdir -p "$cgroup" && echo 10000 >"$cgroup/cpu.cfs_period_us" && echo "$quota" >"$cgroup/cpu.cfs_quota_us"
    elif [ -f /sys/fs/cgroup/cgroup.controllers ]; then
      cgroup=/sys/fs/cgroup/samizdat-flood-attack
      echo +cpu >/sys/fs/cgroup/cgroup.subtree_control 2>/dev/null || true
      mkdir -p "$cgroup" && echo "$quota 10000" >"$cgroup/cpu.max"
    fi
    [ -n "$cgroup" ] && [ -w "$cgroup/cgroup.procs" ] ||
      { echo "BENCH_ATTACKER_CPU=capped needs a CPU cgroup (root, cgroup v1 cpu or v2): try BENCH_ATTACKER_CPU=nice" >&2; exit 1; }
    at_exit "rmdir '$cgroup' 2>/dev/null"
    attacker=(sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$cgroup")
    attacker_cpu="capped at $cores core" ;;
  idle) attacker=(chrt --idle 0) ;;
  nice) attacker=(nice -n 10) ;;
  *) echo "BENCH_ATTACKER_CPU=$attacker_cpu: capped, idle or nice" >&2; exit 2 ;;
esac
ng=127.0.0.31 sz=127.0.0.32 reader=127.0.1.2 probe=127.0.1.9
readers=127.0.4.*,127.0.5.*,127.0.6.*,127.0.7.*
clients=$root/bench/flood_clients.py
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"  # slowloris: 2,000 sockets, the servers as many

for tool in wrk /usr/sbin/nginx curl; do
  command -v "$tool" >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk nginx curl >/dev/null; }
done
venv=$cache/venv-h2
[ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import h2' 2>/dev/null ||
  { python3 -m venv "$venv" && "$venv/bin/pip" install -q h2; }
cargo build --release -q -p samizdat
bin=$root/target/release/samizdat

rm -rf "$out" && mkdir -p "$out/nginx/tmp"
archive=$out/archive
"$bin" init "$archive" >/dev/null
"$bin" add "$archive" "$root/sample/documents" >/dev/null
"$bin" release --no-site "$archive" >/dev/null
hotfile=$(find "$archive/release/targets" -type f -size -20k -printf '%s %p\n' | sort -n | tail -n1 | cut -d' ' -f2)
hot=/targets/$(basename "$hotfile")
echo "hot document: $hot ($(stat -c %s "$hotfile") B)" >&2

at_exit 'stop serve_pid; stop nginx_pid'

# start_serve LABEL [VAR=VALUE...]: `samizdat mirror serve` on $sz with that environment.
start_serve() {
  local label=$1; shift
  env "$@" "$bin" mirror serve "$archive" --listen "$sz:$port" >"$out/$label.serve.out" 2>"$out/$label.serve.err" &
  serve_pid=$!
  until grep -qs '^listening on' "$out/$label.serve.out"; do
    kill -0 "$serve_pid" 2>/dev/null || { cat "$out/$label.serve.err" >&2; exit 1; }
    sleep 0.02
  done
}

# nginx as mirror.sh tunes it, plus the per-address limits an operator would set against floods,
# as close to the guard's defaults as nginx has: 1000 r/s, burst 20000, 64 connections.
cat >"$out/nginx/nginx.conf" <<CONF
worker_processes 2;
worker_rlimit_nofile 20000;
pid $out/nginx/nginx.pid;
error_log $out/nginx/error.log warn;
events { worker_connections 16384; }
http {
  include /etc/nginx/mime.types;
  sendfile on; tcp_nopush on; tcp_nodelay on;
  access_log off;
  keepalive_requests 1000000000;
  client_body_temp_path $out/nginx/tmp; proxy_temp_path $out/nginx/tmp;
  fastcgi_temp_path $out/nginx/tmp; uwsgi_temp_path $out/nginx/tmp; scgi_temp_path $out/nginx/tmp;
  limit_req_zone \$binary_remote_addr zone=perip:10m rate=1000r/s;
  limit_conn_zone \$binary_remote_addr zone=conns:10m;
  limit_req_status 429; limit_conn_status 503;
  server {
    listen $ng:$port reuseport;
    listen $ng:$((port + 1)) http2 reuseport;
    root $archive/release;
    limit_req zone=perip burst=20000 nodelay;
    limit_conn conns 64;
  }
}
CONF
start_nginx() {
  : >"$out/nginx/error.log"
  /usr/sbin/nginx -p "$out/nginx" -c "$out/nginx/nginx.conf" -g 'daemon off;' &
  nginx_pid=$!
  until curl -sf --interface "$probe" -o /dev/null "http://$ng:$port$hot"; do sleep 0.05; done
}
# peak_rss_mib SERVER: VmHWM of samizdat, or of nginx's master and workers together.
peak_rss_mib() {
  local pids kib=0 p
  if [ "$1" = nginx ]; then pids="$nginx_pid $(pgrep -P "$nginx_pid" | tr '\n' ' ')"; else pids=$serve_pid; fi
  for p in $pids; do kib=$((kib + $(awk '/^VmHWM/ {print $2}' "/proc/$p/status"))); done
  echo $((kib / 1024))
}
# refusals SERVER LABEL: samizdat's requests and connections refused by the guard plus the
# connections it cut for their conduct (`connections_closed_total`: HTTP/2 abuse such as rapid
# reset, heads too large, late or malformed; not idle ones); nginx's "limiting" log lines.
refusals() {
  if [ "$1" = nginx ]; then grep -c 'limiting' "$out/nginx/error.log" || true
  else curl -s --interface "$probe" "http://$sz:$port/metrics" | tee "$out/$2.metrics" |
    awk '/^samizdat_mirror_refused_total/ {s += $2}
      /^samizdat_mirror_connections_closed_total/ && !/"idle"|"shed"/ {s += $2} END {print s + 0}'; fi
}
# cpu_seconds SERVER: user + system CPU time of samizdat, or of nginx's master and workers.
cpu_seconds() {
  local pids ticks=0 p
  if [ "$1" = nginx ]; then pids="$nginx_pid $(pgrep -P "$nginx_pid" | tr '\n' ' ')"; else pids=$serve_pid; fi
  for p in $pids; do ticks=$((ticks + $(awk '{print $14 + $15}' "/proc/$p/stat"))); done
  awk -v t="$ticks" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", t / hz }'
}

# attack_done ATTACK OUTPUT: what the attack tool achieved, one word for the table: wrk's
# requests a second, the slowloris connections opened and still open at its end, the streams
# reset (so a starved attacker shows).
attack_done() {
  case $1 in
    none) echo "–" ;;
    flood) awk '/^Requests\/sec/ {printf "%.0f_req/s\n", $2}' "$2" ;;
    slowloris) python3 -c 'import json,sys; a=json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); print("%d_opened,_%d_held_at_end" % (a["opened"], a["open_at_end"]))' "$2" ;;
    reset) python3 -c 'import json,sys; a=json.loads(open(sys.argv[1]).read().strip().splitlines()[-1]); print("%d_streams_reset" % a["streams_reset"])' "$2" ;;
  esac
}

# phase SERVER ATTACK: the reader under ATTACK (none, flood, slowloris, reset); one row of
# $out/phases (server attack p50 p99 rps reader_refused total_refused peak_mib).
phase() {
  local server=$1 attack=$2 host h2port label=$1-$2 apid=
  if [ "$server" = nginx ]; then host=$ng h2port=$((port + 1)); start_nginx
  else host=$sz h2port=$port; start_serve "$label"; fi
  local dur=$((2 * seconds + 4))
  # The attackers run under BENCH_ATTACKER_CPU (see the top).
  case $attack in
    flood) "${attacker[@]}" wrk -t2 -c64 -d"${dur}s" "http://$host:$port$hot" >"$out/$label.attack" 2>&1 & apid=$! ;;
    slowloris) "${attacker[@]}" python3 "$clients" slowloris 127.0.2 8 "$host" "$port" 2000 "$dur" 3 >"$out/$label.attack" 2>&1 & apid=$! ;;
    reset) "${attacker[@]}" "$venv/bin/python" "$clients" reset 127.0.3.1 "$host" "$h2port" "$hot" "$dur" 8 >"$out/$label.attack" 2>&1 & apid=$! ;;
  esac
  [ -z "$apid" ] || sleep 2
  python3 "$clients" reader "$reader" "$host" "$port" "$hot" "$seconds" "$reader_rate" 4 "$out/$label.json" >/dev/null
  python3 "$clients" reader "$readers" "$host" "$port" "$hot" "$seconds" 0 4 "$out/$label.unpaced.json" >/dev/null
  [ -z "$apid" ] || wait "$apid" || true
  local total peak cpu
  total=$(refusals "$server" "$label"); peak=$(peak_rss_mib "$server"); cpu=$(cpu_seconds "$server")
  python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); u=json.load(open(sys.argv[2])); print(sys.argv[3], sys.argv[4], "%.2f %.2f %.1f %d" % (r["p50"], r["p99"], u["rps"], r["refused"] + r["errors"] + u["refused"] + u["errors"]), sys.argv[5], sys.argv[6], sys.argv[7])' \
    "$out/$label.json" "$out/$label.unpaced.json" "$server" "$attack" "$total" "$peak" "$cpu" | tee -a "$out/phases" >&2
  echo "  attack: $(tail -n1 "$out/$label.attack" 2>/dev/null) load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  attack_done "$attack" "$out/$label.attack" >>"$out/phases.attack"
  if [ "$server" = nginx ]; then stop nginx_pid; else stop serve_pid; fi
}

# Guard cost: wrk on the hot document, alternating.
wrk_rps() {
  wrk -t2 -c64 -d2s "$1" >/dev/null
  wrk -t2 -c64 -d"${wrk_seconds}s" "$1" | tee "$out/wrk.last" | awk '/^Requests\/sec/ {print $2}'
  if grep -q 'Non-2xx' "$out/wrk.last"; then echo "refused answers in a guard-cost run" >&2; grep Non-2xx "$out/wrk.last" >&2; fi
}
raised="SAMIZDAT_GUARD_RATE=1000000000 SAMIZDAT_GUARD_BURST=1000000000 SAMIZDAT_GUARD_PREFIX_RATE=1000000000 SAMIZDAT_GUARD_PREFIX_BURST=1000000000"
nolimit_conf=$out/nginx/nolimit.conf
sed '/limit_req zone\|limit_conn conns/d' "$out/nginx/nginx.conf" >"$nolimit_conf"
: >"$out/cost"
for ((k = 0; k < reps; k++)); do
  for side in defaults off nginx; do
    case $side in
      defaults) start_serve cost-defaults-$k $raised; r=$(wrk_rps "http://$sz:$port$hot"); stop serve_pid ;;
      off) start_serve cost-off-$k SAMIZDAT_GUARD_OFF=1; r=$(wrk_rps "http://$sz:$port$hot"); stop serve_pid ;;
      nginx) /usr/sbin/nginx -p "$out/nginx" -c "$nolimit_conf" -g 'daemon off;' & nginx_pid=$!
        until curl -sf -o /dev/null "http://$ng:$port$hot"; do sleep 0.05; done
        r=$(wrk_rps "http://$ng:$port$hot"); stop nginx_pid ;;
    esac
    echo "$side $r" | tee -a "$out/cost" >&2
  done
  echo "  load $(cut -d' ' -f1-3 /proc/loadavg)" >&2
done

: >"$out/phases"; : >"$out/phases.attack"
servers="samizdat nginx"; [ -z "${BENCH_NO_NGINX:-}" ] || servers=samizdat
for server in $servers; do
  for attack in none flood slowloris reset; do phase "$server" "$attack"; done
done

median() { sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'; }
med() { awk -v s="$1" '$1 == s {print $2}' "$out/cost" | median; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f×", a / b }'; }
d=$(med defaults) w=$(med off) n=$(med nginx)
echo
echo "| guard cost, hot document ($(stat -c %s "$hotfile") B), wrk -t2 -c64 ${wrk_seconds} s, median of $reps | req/s | ratio | target |"
echo "|---|---|---|---|"
echo "| guard at defaults (rate buckets raised) vs guard off | $d vs $w ($(awk '$1=="defaults"{printf "%s ", $2}' "$out/cost")vs $(awk '$1=="off"{printf "%s ", $2}' "$out/cost")) | **$(ratio "$d" "$w")** | ≥ 0.95× |"
echo "| mirror (defaults, buckets raised) vs nginx without limits ($(awk '$1=="nginx"{printf "%s ", $2}' "$out/cost")) | $d vs $n | **$(ratio "$d" "$n")** | ≥ 1.2× |"
echo
echo "| server | attack (attack tools: $attacker_cpu) | what the attack achieved | paced reader p50 / p99 ms ($reader_rate req/s) | unpaced readers req/s | p99 ÷ unloaded (≤ 3×) | req/s ÷ unloaded (≥ 0.5×) | refusals and cuts: reader's / all (attacker's share) | server CPU s | peak RSS MiB |"
echo "|---|---|---|---|---|---|---|---|---|---|"
paste -d' ' "$out/phases" "$out/phases.attack" |
awk '{ if ($2 == "none") { p[$1] = $4; r[$1] = $5 }
  share = $7 > 0 ? sprintf("%.1f%%", 100 * ($7 - $6) / $7) : "–"
  achieved = $10; gsub("_", " ", achieved)
  printf "| %s | %s | %s | %s / %s | %s | %.2f× | %.2f× | %d / %d (%s) | %s | %s |\n", $1, $2, achieved, $3, $4, $5, $4 / p[$1], $5 / r[$1], $6, $7, share, $9, $8 }'
echo
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
