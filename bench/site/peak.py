#!/usr/bin/env python3
"""Wall time and peak memory of a command and every process it starts.

Usage: peak.py OUT_FILE CMD [ARGS...]

Runs CMD (stdout and stderr pass through), polls /proc every 50 ms, and writes one line to
OUT_FILE: "SECONDS PEAK_TOTAL_KIB PEAK_ONE_KIB EXIT_CODE": the wall time, the peak of the summed
resident set (VmRSS) of CMD and all its descendants, and the largest VmHWM (kernel-recorded peak)
of any one of them. Pagefind's Node API runs the indexer in a child process, so GNU time's %M
(the largest single process) would miss node's share; the sum is what the machine must have.
Exits with CMD's exit code.
"""

import os
import subprocess
import sys
import time


def status(pid):
    rss = hwm = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    rss = int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    hwm = int(line.split()[1])
    except OSError:
        pass
    return rss, hwm


def children():
    """ppid -> [pid] of every process now."""
    out = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        ppid = int(stat[stat.rindex(")") + 2:].split()[1])
        out.setdefault(ppid, []).append(int(name))
    return out


def tree(root):
    kids = children()
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo.extend(kids.get(pid, []))
    return pids


def main():
    out, cmd = sys.argv[1], sys.argv[2:]
    start = time.monotonic()
    proc = subprocess.Popen(cmd)
    peak_total = peak_one = 0
    hwm_seen = {}
    while proc.poll() is None:
        total = 0
        for pid in tree(proc.pid):
            rss, hwm = status(pid)
            total += rss
            hwm_seen[pid] = max(hwm_seen.get(pid, 0), hwm)
        peak_total = max(peak_total, total)
        time.sleep(0.05)
    seconds = time.monotonic() - start
    peak_one = max(hwm_seen.values(), default=0)
    with open(out, "w") as f:
        f.write(f"{seconds:.2f} {peak_total} {max(peak_one, 0)} {proc.returncode}\n")
    sys.exit(proc.returncode)


if __name__ == "__main__":
    main()
