#!/usr/bin/env bash
# Ingest A/B (issue 20): two `samizdat` binaries `add` the same folders into fresh archives,
# alternately, RUNS times each; prints the median wall and CPU (user + system) time and the peak
# RSS of each, and what changed in the documents: titles that differ, documents dated, encodings
# recorded. On a shared machine the CPU time is the figure to compare: the wall time counts the
# other processes' turns.
#
#   bench/ingest_ab.sh BEFORE_BIN AFTER_BIN RUNS FOLDER...
#
# Both binaries are release builds (`cargo build --release -p samizdat`, copied aside).
# Run on an idle machine for speed figures; the title and date counts do not depend on it.
set -euo pipefail
before=$1 after=$2 runs=$3
shift 3
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT

one() { # NAME BIN RUN FOLDER...
    local name=$1 bin=$2 run=$3
    shift 3
    local archive=$out/$name-$run
    "$bin" init "$archive" >/dev/null
    # Exit status 4: some files failed, still a run.
    /usr/bin/time -f "%e %M %U %S" -o "$out/$name-$run.time" "$bin" add "$archive" "$@" \
        >"$out/$name-$run.out" 2>&1 || [ $? -eq 4 ]
}

for run in $(seq 1 "$runs"); do
    one before "$before" "$run" "$@"
    one after "$after" "$run" "$@"
done

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
bytes=$(du -sbLc "$@" | tail -1 | cut -f1)
for name in before after; do
    times=$(grep -hv "^Command" "$out"/$name-*.time)
    wall=$(awk '{ print $1 }' <<<"$times" | median)
    cpu=$(awk '{ print $3 + $4 }' <<<"$times" | median)
    rss=$(awk '{ print $2 }' <<<"$times" | sort -n | tail -1)
    docs=$(python3 -c 'import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute("SELECT count(*) FROM documents").fetchone()[0])' "$out/$name-1/catalog.sqlite")
    echo "$name: median wall $wall s, median CPU (user + system) $cpu s, peak RSS $((rss / 1024)) MiB; $runs runs;" \
        "$docs documents of $((bytes / 1000000)) MB: $(awk -v d="$docs" -v b="$bytes" -v w="$wall" -v c="$cpu" \
        'BEGIN { printf "%.0f documents/s and %.1f MB/s of wall time, %.0f documents/s and %.1f MB/s of CPU time", d / w, b / 1e6 / w, d / c, b / 1e6 / c }')"
done

python3 - "$out/before-1/catalog.sqlite" "$out/after-1/catalog.sqlite" <<'EOF'
import json, sqlite3, sys
from collections import Counter
def docs(path):
    rows = sqlite3.connect(path).execute("SELECT id, doc FROM documents")
    return {id: json.loads(doc) for id, doc in rows}
a, b = docs(sys.argv[1]), docs(sys.argv[2])
both = a.keys() & b.keys()
changed = [i for i in both if a[i]["title"] != b[i]["title"]]
print(f"documents: before {len(a)}, after {len(b)}, in both {len(both)}")
print(f"titles changed: {len(changed)}")
for i in sorted(changed)[:: max(1, len(changed) // 12)][:12]:
    print(f"  {b[i]['source']}\n    before: {a[i]['title'][:100]!r}\n    after:  {b[i]['title'][:100]!r}")
print(f"dated: before {sum('date' in d for d in a.values())}, after {sum('date' in d for d in b.values())}")
print("date sources after:", dict(Counter(d.get("date_source", "format") for d in b.values() if "date" in d)))
print("encodings after:", dict(Counter(d.get("encoding") for d in b.values())))
EOF
