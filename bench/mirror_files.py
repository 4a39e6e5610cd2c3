#!/usr/bin/env python3
"""Files for bench/mirror.sh.

  mirror_files.py large FILE [BYTES]
      a text of BYTES (default 100,000,000) bytes: lines of 12 words drawn from 5,000 made-up
      words by a generator seeded with 1 (deterministic: the same bytes on every run)
  mirror_files.py paths TARGETS_DIR OUT_DIR COUNT
      from a release's targets/ (file names SHA256.NAME):
        OUT_DIR/hot       the path of one target of about 5 KB (the record nearest 5,000 bytes)
        OUT_DIR/random    COUNT paths drawn without replacement from every target up to 1 MiB,
                          one a line (generator seeded with 1)
        OUT_DIR/large     the path of the largest original (SHA256.ID.original.EXT)
        OUT_DIR/hot-plain, OUT_DIR/random-plain
                          the same targets by their plain site paths (/d/ID/doc.json,
                          /d/ID/original.EXT, /withdrawn.json), which only samizdat serves
      each path as served: /targets/SHA256.NAME
"""

import os
import random
import sys


def large(path, size=100_000_000):
    rng = random.Random(1)
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = ["".join(rng.choices(letters, k=rng.randint(2, 10))) for _ in range(5000)]
    with open(path, "w") as f:
        written = 0
        while written < size:
            block = "\n".join(" ".join(rng.choices(words, k=12)) for _ in range(10000)) + "\n"
            block = block[: size - written]
            f.write(block)
            written += len(block)


def paths(targets, out, count):
    files = sorted((e.name, e.stat().st_size) for e in os.scandir(targets) if e.is_file())
    if not files:
        sys.exit(f"{targets}: no targets")
    # A record (SHA256.ID.json, not an original) nearest 5,000 bytes; the first by name on a tie.
    records = [(abs(size - 5000), name) for name, size in files
               if name.endswith(".json") and ".original." not in name]
    hot = min(records or [(abs(size - 5000), name) for name, size in files])[1]
    small = [name for name, size in files if size <= 1 << 20]
    chosen = random.Random(1).sample(small, min(count, len(small)))
    originals = [f for f in files if ".original." in f[0]] or files
    biggest = max(originals, key=lambda f: (f[1], f[0]))[0]
    os.makedirs(out, exist_ok=True)
    for name, lines in (("hot", [hot]), ("random", chosen), ("large", [biggest])):
        with open(os.path.join(out, name), "w") as f:
            f.writelines(f"/targets/{n}\n" for n in lines)
    for name, lines in (("hot-plain", [hot]), ("random-plain", chosen)):
        with open(os.path.join(out, name), "w") as f:
            f.writelines(plain(n) + "\n" for n in lines)
    print(f"{len(files)} targets; hot {hot}; {len(chosen)} random paths; largest {biggest}")


def plain(file_name):
    """The plain site path of a target file SHA256.NAME (as archive::layout maps them)."""
    name = file_name.split(".", 1)[1]
    if name == "_withdrawn.json":
        return "/withdrawn.json"
    doc, _, rest = name.partition(".")
    if rest == "json":
        return f"/d/{doc}/doc.json"
    assert rest.startswith("original."), file_name
    return f"/d/{doc}/{rest}"


def main():
    args = sys.argv[1:]
    if args[:1] == ["large"] and len(args) in (2, 3):
        large(args[1], int(args[2]) if len(args) == 3 else 100_000_000)
    elif args[:1] == ["paths"] and len(args) == 4:
        paths(args[1], args[2], int(args[3]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main()
