#!/usr/bin/env bash
# Reader site and search (issue 4) against Pagefind, on the same documents in the same run:
# index build time and peak RSS, and in headless Chromium over loopback the bytes fetched before
# the first result (first visit; return visit with the client code cached) and the time to it,
# for the commonest word, a mid-frequency word, a rare word, an AND of the two commonest words,
# and the commonest word with a facet.
#
#   bench/site.sh [DOCUMENTS]      (default 250000; the table goes to bench/out/site/DOCUMENTS.md)
#
# The archive: below the 21,837 documents of the real corpora, DOCUMENTS rows derived by
# bench/make_corpus.py alone; else the scale corpus of bench/publish.sh (the real corpora, then
# derived rows). Released with the reader site (SAMIZDAT_TIMINGS=1: the "site" phase is the pages
# and the search index), then `samizdat export`ed; Pagefind (bench/site/package.json, pinned)
# indexes the exported document pages d/<id>/index.html (bench/site/pagefind_build.mjs: Node
# API, <main> less the metadata table, kind and origin as filters added in memory).
# Ours is served by `samizdat mirror serve ARCHIVE`; Pagefind's bundle and a minimal search page
# on its JS API (bench/site/pagefind-page/) by nginx with the headers ours sends (gzip for text,
# Cache-Control: public, max-age=300). Words are chosen from the index (bench/site/words.mjs).
#
# BENCH_KEEP=1     keep the archive, its export and Pagefind's bundle (on a loop-mounted image
#                  when root, as publish.sh) under bench/out/site/DOCUMENTS; a later run reuses
#                  each of them with its build figures
# ARCHIVE=DIR      use this archive (it is released again, with the site, and exported)
# PAGEFIND=cli     build Pagefind with its CLI (no filters: no facet query on Pagefind) rather
#                  than the Node API (at 250k the API build went past 22 GB and was OOM-killed)
# PAGEFIND=none    ours alone (no Pagefind build, no Pagefind measures)
# PAGEFIND_CLI=1   with the API build, also time Pagefind's CLI (no filters) for comparison
# BENCH_REPS=N     browser runs per measure (default 7; time is their median: first visits vary ±100 ms)
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
docs=${1:-250000}
out=$root/bench/out/site/$docs
. "$root/bench/lib.sh"
here=$root/bench/site
port_ours=18431
port_pf=18432

# Build (only the binary), corpora, node tools, nginx.
command -v /usr/bin/time >/dev/null || { apt-get update -qq && apt-get install -y -qq time >/dev/null; }
command -v nginx >/dev/null || { apt-get update -qq && apt-get install -y -qq nginx >/dev/null; }
"$root/../shared/corpora/fetch.sh" all "$corpora" >/dev/null
cargo build --release -q -p samizdat
bin=$root/target/release/samizdat
[ -d "$here/node_modules/pagefind" ] || npm ci --prefix "$here" --no-audit --no-fund >/dev/null
[ -d "$root/tests/browser/node_modules/playwright-core" ] || npm ci --prefix "$root/tests/browser" --no-audit --no-fund >/dev/null
pf_version=$(node -p "require('$here/node_modules/pagefind/package.json').version")

# Each step is skipped when a kept run (BENCH_KEEP=1) already did it: the archive and its
# release, the export, Pagefind's bundle (their figures are kept beside them).
archive=${ARCHIVE:-$out/archive}
if [ -n "${ARCHIVE:-}" ]; then
  mkdir -p "$out"
  SAMIZDAT_TIMINGS=1 measure release "$bin" release "$archive"
  rm -rf "$out/export"
elif [ -f "$archive/release/metadata/timestamp.json" ] && [ -f "$out/release.time" ]; then
  echo "reusing the kept archive and its release figures in $out" >&2
else
  fresh_fs "$out" "$cache/bench-site-$docs.img"
  "$bin" init "$archive" >/dev/null
  if [ "$docs" -lt 21837 ]; then
    add_derived add-scale "$archive" "$docs" 0
  else
    ingest_corpus "$archive" "$docs"
  fi
  SAMIZDAT_TIMINGS=1 measure release "$bin" release "$archive"
fi
site_s=$(grep -o 'site: [0-9.]* s' "$out/release.err" | grep -o '[0-9.]*' | tail -n1)
if [ ! -f "$out/export.time" ] || [ ! -d "$out/export/d" ]; then
  rm -rf "$out/export"
  measure export "$bin" export "$archive" "$out/export"
fi

# Pagefind, on the exported document pages; made the first process the kernel kills when memory
# runs out (choom), not a neighbour's. PAGEFIND=cli: its CLI instead of the Node API (no filters:
# the facet query is then not run on Pagefind).
mode=${PAGEFIND:-api}
pf_bin=$here/node_modules/@pagefind/linux-x64/bin/pagefind_extended
if [ "$mode" != none ] && { [ ! -d "$out/pf/pagefind" ] || [ "$(cat "$out/pagefind.mode" 2>/dev/null)" != "$mode" ]; }; then
  rm -rf "$out/pf" && mkdir -p "$out/pf"
  sync
  if [ "$mode" = cli ]; then
    choom -n 1000 -- python3 "$here/peak.py" "$out/pagefind.peak" "$pf_bin" --site "$out/export" \
      --glob "d/*/index.html" --root-selector main --exclude-selectors table.meta --force-language en \
      --output-path "$out/pf/pagefind" >"$out/pagefind.log" 2>"$out/pagefind.err" || { tail "$out/pagefind.log" "$out/pagefind.err" >&2; exit 1; }
    pages=$(grep -o 'Indexed [0-9]* pages' "$out/pagefind.log" | grep -o '[0-9]*' | head -n1)
    echo "{\"pages\": $pages, \"mode\": \"cli\"}" >"$out/pagefind.out"
  else
    choom -n 1000 -- python3 "$here/peak.py" "$out/pagefind.peak" node "$here/pagefind_build.mjs" "$out/export" "$out/pf/pagefind" \
      >"$out/pagefind.out" 2>"$out/pagefind.err" || { cat "$out/pagefind.err" >&2; exit 1; }
  fi
  echo "$mode" >"$out/pagefind.mode"
fi
mkdir -p "$out/pf"
cp "$here/pagefind-page/index.html" "$here/pagefind-page/search.js" "$out/pf/"
pf_s=0 pf_kib=0
[ "$mode" = none ] || read -r pf_s pf_kib _ _ <"$out/pagefind.peak"
echo "pagefind ($mode): ${pf_s}s, $((pf_kib / 1024)) MiB peak RSS: $(cat "$out/pagefind.out")" >&2
cli_note="" cli_rss_note=""
if [ "$mode" = cli ]; then
  cli_note=" (its CLI, no filters)"
elif [ "$mode" = api ]; then
  if [ -n "${PAGEFIND_CLI:-}" ]; then
    rm -rf "$out/pfcli"
    measure pagefind-cli choom -n 1000 -- "$pf_bin" --site "$out/export" \
      --glob "d/*/index.html" --root-selector main --exclude-selectors table.meta --force-language en \
      --output-path "$out/pfcli/pagefind"
    rm -rf "$out/pfcli"
  fi
  if [ -f "$out/pagefind-cli.time" ]; then # this run's or a kept one's
    cli_note="; its CLI without filters: $(field pagefind-cli s) s"
    cli_rss_note="; CLI: $(field pagefind-cli m) MiB"
  fi
fi
pages=0
[ "$mode" = none ] || pages=$(python3 -c "import json; print(json.load(open('$out/pagefind.out'))['pages'])")
n_docs=$(grep -o '[0-9]* documents (' "$out/release.out" | cut -d' ' -f1)
python3 - "$out/facts.json" <<EOF
import json, os, sys
def du(path):
    size = files = 0
    for top, _, names in os.walk(path):
        for n in names:
            size += os.path.getsize(os.path.join(top, n)); files += 1
    return size / 1e6, files
ours_mb, ours_files = du("$out/export/search")
for a in os.listdir("$out/export/assets"):
    if a.startswith("search"):
        ours_mb += os.path.getsize("$out/export/assets/" + a) / 1e6; ours_files += 1
pf_mb, pf_files = du("$out/pf/pagefind")
json.dump({
    "documents": $n_docs, "pagefind_pages": $pages, "pagefind_version": "$pf_version", "pagefind_mode": "$mode",
    "site_s": $site_s, "release_s": $(field release s), "release_mib": $(field release m),
    "pagefind_s": $pf_s, "pagefind_mib": $((pf_kib / 1024)),
    "pagefind_cli_note": "$cli_note", "pagefind_cli_rss_note": "$cli_rss_note",
    "ours_index_mb": ours_mb, "ours_index_files": ours_files,
    "pagefind_index_mb": pf_mb, "pagefind_index_files": pf_files,
}, open(sys.argv[1], "w"))
EOF

node "$here/words.mjs" "$out/export" >"$out/words.json"
echo "words: $(cat "$out/words.json")" >&2

# Servers: ours, and nginx for Pagefind with the same caching and compression policy.
"$bin" mirror serve "$archive" --listen "127.0.0.1:$port_ours" >"$out/serve.log" 2>&1 &
serve_pid=$!
at_exit "kill $serve_pid 2>/dev/null"
mkdir -p "$out/nginx"
cat >"$out/nginx/nginx.conf" <<EOF
worker_processes 1;
pid $out/nginx/nginx.pid;
error_log $out/nginx/error.log;
events { worker_connections 1024; }
http {
  include /etc/nginx/mime.types;
  access_log off;
  sendfile on;
  gzip on;
  gzip_comp_level 6;
  gzip_min_length 256;
  gzip_types text/css application/javascript text/javascript application/json;
  server {
    listen 127.0.0.1:$port_pf;
    root $out/pf;
    add_header Cache-Control "public, max-age=300" always;
    add_header X-Content-Type-Options nosniff always;
  }
}
EOF
nginx -c "$out/nginx/nginx.conf" -p "$out/nginx" -g 'daemon off;' &
nginx_pid=$!
at_exit "kill $nginx_pid 2>/dev/null"
for url in "http://127.0.0.1:$port_ours/search/" "http://127.0.0.1:$port_pf/"; do
  for _ in $(seq 100); do curl -fs -o /dev/null "$url" && break; sleep 0.1; done
  curl -fs -o /dev/null "$url" || { echo "$url does not answer" >&2; exit 1; }
done

# Pagefind's page runs it on the main thread (noWorker); its default Web Worker would also load:
worker_gz=$(curl -s -H 'Accept-Encoding: gzip' -o /dev/null -w '%{size_download}' "http://127.0.0.1:$port_pf/pagefind/pagefind-worker.js")
echo "{\"pagefind_worker_gz\": $worker_gz}" >"$out/extra.json"

python3 - "$out/words.json" "$out/browser-config.json" "${BENCH_REPS:-7}" <<EOF
import json, sys
w = json.load(open(sys.argv[1]))
queries = [
    {"name": "commonest word", "params": {"q": w["common"]}},
    {"name": "mid-frequency word", "params": {"q": w["mid"]}},
    {"name": "rare word", "params": {"q": w["rare"]}},
    {"name": "AND of two common words", "params": {"q": w["common"] + " " + w["common2"]}},
    {"name": "word with a facet", "params": {"q": w["common"], "origin": w["origin"]}},
]
engines = [
    {"name": "ours", "url": "http://127.0.0.1:$port_ours/search/"},
    {"name": "pagefind", "url": "http://127.0.0.1:$port_pf/", **({"queries": [q["name"] for q in queries[:4]]} if "$mode" == "cli" else {})},
    {"name": "ours, service worker on", "url": "http://127.0.0.1:$port_ours/search/", "serviceWorkers": "allow", "queries": ["commonest word"]},
]
if "$mode" == "none":
    engines = [e for e in engines if e["name"] != "pagefind"]
json.dump({"reps": int(sys.argv[3]), "engines": engines, "queries": queries}, open(sys.argv[2], "w"), indent=1)
EOF
node "$here/measure.mjs" "$out/browser-config.json" "$out/browser.json"

python3 "$here/table.py" "$out" | tee "$out.md"
echo "(archive on $(findmnt -no SOURCE,FSTYPE --target "$archive" | tr -s ' ' ' '); raw figures in $out/browser.json)" >&2
