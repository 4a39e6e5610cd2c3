#!/usr/bin/env python3
"""Derive JSON Lines documents for the scale corpus from the real corpora.

Usage: make_corpus.py CORPORA OUT_DIR COUNT [--first N] [--per-file 10000]

Every row is one document whose body is the text of a real document: the body of a
spam-assassin e-mail or a linux-doc .rst.gz/.txt.gz file, taken round-robin, cut at 6,000
characters. What varies per row is what a publisher's own import would vary: a stable id
(`s<number>`), a title (the source's first line plus the row number), a date spread over
1995-2024, one of 40 origins, one of 6 kinds and one to three of 60 tags. Rows are
deterministic: the same arguments give the same bytes, so runs compare.
"""

import datetime
import gzip
import json
import os
import sys

ORIGINS = [f"Office {name}" for name in (
    "Aberdeen Accra Amman Ankara Athens Baku Belgrade Bern Bogota Brasilia Cairo Dakar Dhaka "
    "Dublin Hanoi Harare Jakarta Kabul Kyiv Lagos Lima Lisbon Luanda Lusaka Madrid Manila Minsk "
    "Nairobi Oslo Ottawa Quito Rabat Riga Rome Seoul Sofia Tbilisi Tunis Vienna Warsaw").split()]
KINDS = ["cable", "memo", "report", "minutes", "letter", "note"]
TAGS = ("customs shipping justice energy mining health elections media police budget courts "
        "banking fisheries rail ports aviation water housing schools prisons labour tax pensions "
        "defence border asylum trade farming forests climate telecoms software patents privacy "
        "surveillance protest unions contracts tenders audit fraud bribery lobbying shipping-lanes "
        "oil gas nuclear wind solar roads bridges dams floods drought census migration tourism "
        "football broadcasting").split()


def texts(corpora):
    """Real document texts, in a fixed order."""
    spam = os.path.join(corpora, "spam-assassin/package/data")
    for folder in sorted(os.listdir(spam)):
        path = os.path.join(spam, folder)
        if not os.path.isdir(path):
            continue
        for name in sorted(os.listdir(path)):
            if name.endswith(".txt"):
                with open(os.path.join(path, name), "rb") as f:
                    raw = f.read()
                _, _, body = raw.partition(b"\n\n")
                yield body.decode("latin-1")
    docs = os.path.join(corpora, "linux-doc/x/usr/share/doc/linux-doc-6.1/Documentation")
    for top, dirs, files in os.walk(docs):
        dirs.sort()
        for name in sorted(files):
            if name.endswith((".rst.gz", ".txt.gz")):
                with gzip.open(os.path.join(top, name)) as f:
                    yield f.read().decode("utf-8", "replace")


def main():
    args = sys.argv[1:]
    first, per_file = 0, 10000
    if "--first" in args:
        i = args.index("--first")
        first = int(args[i + 1])
        del args[i:i + 2]
    if "--per-file" in args:
        i = args.index("--per-file")
        per_file = int(args[i + 1])
        del args[i:i + 2]
    corpora, out, count = args[0], args[1], int(args[2])
    pool = [t.strip()[:6000] for t in texts(corpora) if len(t.strip()) > 200]
    if not pool:
        sys.exit(f"{corpora}: no texts found (fetch the corpora first)")
    os.makedirs(out, exist_ok=True)
    start = datetime.date(1995, 1, 1)
    written = 0
    f = None
    for n in range(first, first + count):
        if f is None or written % per_file == 0:
            if f:
                f.close()
            f = open(os.path.join(out, f"scale-{n:07d}.jsonl"), "w", encoding="utf-8")
        body = pool[n % len(pool)]
        first_line = next((l.strip() for l in body.splitlines() if l.strip()), "")[:70]
        tags = [TAGS[(n * k) % len(TAGS)] for k in (7, 13, 31)][: 1 + n % 3]
        row = {
            "id": f"s{n:07d}",
            "title": f"{first_line} ({n})",
            "date": (start + datetime.timedelta(days=(n * 7919) % 10950)).isoformat(),
            "origin": ORIGINS[n % len(ORIGINS)],
            "kind": KINDS[n % len(KINDS)],
            "tags": sorted(set(tags)),
            "body": body,
        }
        f.write(json.dumps(row, ensure_ascii=False) + "\n")
        written += 1
    if f:
        f.close()
    print(f"{written} rows from {len(pool)} real texts in {out}")


if __name__ == "__main__":
    main()
