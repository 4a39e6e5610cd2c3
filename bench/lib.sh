# shellcheck shell=bash disable=SC2154  # root and out come from the sourcing script
# Shared by the bench scripts. Sourced from the repository root, with `root` and `out` set:
#
#   cd "$(dirname "$0")/.."; root=$(pwd); out=$root/bench/out/NAME; . bench/lib.sh
#
# bench_build       the release binary ($bin) and the real corpora ($corpora)
# at_exit CMD       runs CMD when the script exits (the latest registered first)
# fresh_fs DIR IMG  DIR emptied, on a fresh loop-mounted ext4 image when run as root
# measure, field    wall time and peak RSS of one command
# ingest_corpus     the scale corpus into an archive; add_derived: more derived rows
# guard_wide        the mirror's flood guard on but never refusing (environment of `mirror serve`)

cache=$root/.cache
corpora=$cache/corpora

bench_build() {
  "$root/.ci/apt-fresh.sh" "$cache"
  command -v /usr/bin/time >/dev/null || apt-get install -y -qq time >/dev/null
  "$root/../shared/corpora/fetch.sh" all "$corpora" >/dev/null
  cargo build --release -q
  bin=$root/target/release/samizdat
}

_at_exit=()
_run_at_exit() {
  local cmd
  for cmd in "${_at_exit[@]}"; do eval "$cmd" || true; done
}

# stop VAR: ends the process (one this script started) whose id is in $VAR, and waits for it.
stop() {
  local pid=${!1:-}
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  printf -v "$1" '%s' ''
}
at_exit() {
  _at_exit=("$1" "${_at_exit[@]}")
  trap _run_at_exit EXIT
}

# fresh_fs DIR IMAGE: DIR emptied and, when run as root with mkfs.ext4 (and BENCH_NO_FRESH_FS
# unset), a fresh ext4 file system IMAGE (sparse, 60 GB) loop-mounted on it, unmounted and removed
# at exit unless BENCH_KEEP is set. ext4's inode allocator slows down sharply after millions of
# files were deleted (`recently_deleted` scans), so a bench run after another on the same disk
# measured 2-3x slower; a new image makes runs comparable.
fresh_fs() {
  local dir=$1 image=$2
  umount "$dir" 2>/dev/null || true
  rm -rf "$dir" && mkdir -p "$dir"
  if [ "$(id -u)" = 0 ] && command -v mkfs.ext4 >/dev/null && [ -z "${BENCH_NO_FRESH_FS:-}" ]; then
    rm -f "$image" && truncate -s 60G "$image" && mkfs.ext4 -q -F "$image"
    mount -o loop "$image" "$dir"
    [ -n "${BENCH_KEEP:-}" ] || at_exit "cd '$root'; umount '$dir' 2>/dev/null; rm -f '$image'"
  fi
}

# measure LABEL CMD...: runs CMD, records wall seconds and peak RSS (MiB) as LABEL (files
# $out/LABEL.{time,out,err}).
measure() {
  local label=$1; shift
  /usr/bin/time -f "%e %M" -o "$out/$label.time" "$@" >"$out/$label.out" 2>"$out/$label.err" || {
    local rc=$?
    # `add` exits 4 when some files failed: that is reported, not fatal.
    if [ "$rc" != 4 ]; then cat "$out/$label.err" >&2; exit "$rc"; fi
  }
  echo "$label: $(field "$label" s)s, $(field "$label" m) MiB peak RSS: $(tail -n1 "$out/$label.out")" >&2
}
# field LABEL s|m: the seconds or peak MiB measure recorded as LABEL (the last line of the time
# file: GNU time writes "Command exited with non-zero status N" above it).
field() {
  local secs kib
  read -r secs kib < <(tail -n1 "$out/$1.time")
  case $2 in s) echo "$secs" ;; m) echo "$((kib / 1024))" ;; esac
}

# ingest_corpus ARCHIVE DOCUMENTS: the scale corpus into ARCHIVE, not released: the real corpora
# as they are (spam-assassin e-mails with their attachments, linux-doc prose and HTML,
# texlive-humanities PDFs), then rows derived by make_corpus.py until ARCHIVE holds DOCUMENTS
# documents (none if the real corpora alone hold more). Sets `real` and `scale` (derived rows).
ingest_corpus() {
  local archive=$1 docs=$2
  local linux=$corpora/linux-doc/x/usr/share/doc/linux-doc-6.1
  measure add-real "$bin" add "$archive" "$corpora/spam-assassin/package/data" \
    "$linux/Documentation" "$linux/html" "$corpora/texlive-humanities/x/usr/share/doc/texlive-doc"
  real=$(grep -o '[0-9]* documents ingested' "$out/add-real.out" | cut -d' ' -f1)
  scale=$((docs > real ? docs - real : 0))
  add_derived add-scale "$archive" "$scale" 0
}

# add_derived LABEL ARCHIVE COUNT FIRST: COUNT derived rows numbered from FIRST (ids sFIRST...)
# written to $out/LABEL and ingested into ARCHIVE, measured as LABEL.
add_derived() {
  python3 "$root/bench/make_corpus.py" "$corpora" "$out/$1" "$3" --first "$4" >&2
  measure "$1" "$bin" add "$2" "$out/$1"
}

# guard_wide: exports limits for the mirror's flood guard (issue 18) so high that it never refuses:
# a bench tool asks from one address at full speed, which the default limits answer with 429
# after a burst (and the connection cap at 64 an address). Environment, not flags, so that a
# binary from before the guard runs the same commands.
guard_wide() {
  export SAMIZDAT_GUARD_RATE=1000000000 SAMIZDAT_GUARD_BURST=1000000000 \
    SAMIZDAT_GUARD_PREFIX_RATE=1000000000 SAMIZDAT_GUARD_PREFIX_BURST=1000000000 \
    SAMIZDAT_GUARD_CONNECTIONS=1000000 SAMIZDAT_GUARD_PREFIX_CONNECTIONS=1000000
}
