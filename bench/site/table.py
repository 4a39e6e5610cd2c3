#!/usr/bin/env python3
"""The Markdown table of bench/site.sh from what it measured.

Usage: table.py OUT_DIR    (reads OUT_DIR/{facts.json,words.json,browser.json}; prints the table)
"""

import json
import os
import sys

out = sys.argv[1]
facts = json.load(open(os.path.join(out, "facts.json")))
words = json.load(open(os.path.join(out, "words.json")))
runs = json.load(open(os.path.join(out, "browser.json")))
extra = json.load(open(os.path.join(out, "extra.json")))


def run(engine, query, visit):
    for r in runs:
        if r["engine"] == engine and r["query"] == query and r["visit"] == visit:
            return r
    return None


def kb(n):
    if n is None:
        return "–"
    if n >= 1_000_000:
        return f"{n / 1e6:.2f} MB"
    return f"{n / 1000:.1f} KB"


def ratio(a, b):
    if a is None or b in (None, 0):
        return "–"
    return f"{a / b:.3f}" if a / b < 0.1 else f"{a / b:.2f}"


def mark(value, limit):
    if value is None or limit is None:
        return ""
    return "met" if value <= limit else "**missed**"


scale = facts["documents"] >= 200_000
note = "" if scale else " (targets are for 250k)"
lines = []
add = lines.append
add(f"| measure | ours | Pagefind {facts['pagefind_version']} | ours/Pagefind | target at 250k{note} |")
add("|---|---|---|---|---|")
built = facts["pagefind_s"] > 0
add(f"| documents | {facts['documents']} | {'the same ' + str(facts['pagefind_pages']) + ' document pages' if built else 'not built in this run'} | | |")
add(
    f"| index build time | site phase **{facts['site_s']:.1f} s** (pages + search index; whole release "
    f"{facts['release_s']:.1f} s) | " + (f"**{facts['pagefind_s']:.1f} s**{facts.get('pagefind_cli_note', '')}" if built else "–") + " | "
    f"{ratio(facts['site_s'], facts['pagefind_s'] if built else None)} | ≤ 180 s: {mark(facts['site_s'], 180)} |"
)
add(
    f"| index build peak RSS | **{facts['release_mib']} MiB** (whole release) | "
    + (f"**{facts['pagefind_mib']} MiB** ({'node + indexer' if facts.get('pagefind_mode') != 'cli' else 'indexer'}){facts.get('pagefind_cli_rss_note', '')}" if built else "–")
    + f" | {ratio(facts['release_mib'], facts['pagefind_mib'] if built else None)} | "
    f"≤ 1024 MiB: {mark(facts['release_mib'], 1024)} |"
)
add(
    f"| index on disk | {facts['ours_index_mb']:.0f} MB, {facts['ours_index_files']} files (`search/`, client included) | "
    + (f"{facts['pagefind_index_mb']:.0f} MB, {facts['pagefind_index_files']} files (`pagefind/`)" if built else "–") + " | "
    f"{ratio(facts['ours_index_mb'], facts['pagefind_index_mb'] if built else None)} | |"
)
warm_o = run("ours", "commonest word", "return")
warm_p = run("pagefind", "commonest word", "return")
wo = warm_o["warm"]["toFirst"] if warm_o else None
wp = warm_p["warm"]["toFirst"] if warm_p else None
add(f"| search page opened without a query (page, client code, what it loads up front) | {kb(wo)} | {kb(wp)} | {ratio(wo, wp)} | |")

queries = [
    ("commonest word", f"`{words['common']}` ({words['common_df']} documents)", 30_000),
    ("mid-frequency word", f"`{words['mid']}` ({words['mid_df']})", None),
    ("rare word", f"`{words['rare']}` ({words['rare_df']})", 30_000),
    ("AND of two common words", f"`{words['common']} {words['common2']}` ({words['common2_df']} for `{words['common2']}`)", 100_000),
    ("word with a facet", f"`{words['common']}` + origin `{words['origin']}` ({words['origin_df']})", None),
]
for name, label, limit in queries:
    for visit in ("first", "return"):
        o = run("ours", name, visit)
        p = run("pagefind", name, visit)
        bo = o["toFirst"] if o else None
        bp = p["toFirst"] if p else None
        target = ""
        if visit == "first":
            target = f"≤ 130 KB: {mark(bo, 130_000)}"
        elif limit:
            target = f"≤ {limit // 1000} KB: {mark(bo, limit)}"
        elif name == "commonest word":
            target = f"≤ 30 KB: {mark(bo, 30_000)}"
        else:
            target = f"(return visit ≤ 30 KB: {mark(bo, 30_000)})"
        extra_o = ""
        if o and o["total"] > o["toFirst"]:
            excerpts = o["by"].get("after:excerpt", 0)
            later = o["total"] - o["toFirst"] - excerpts
            extra_o = f"; +{kb(excerpts)} excerpts after"
            if later > 0:
                extra_o += f", +{kb(later)} once the page is shown (facet counts)"
        shown_o = f" [{o['status']}]" if o and visit == "first" else ""
        shown_p = f" [{p['status']}]" if p and visit == "first" else ""
        add(
            f"| {name} {label}, {visit} visit: bytes to first result | **{kb(bo)}**{extra_o}{shown_o} | **{kb(bp)}**{shown_p} | "
            f"{ratio(bo, bp)} | {target} |"
        )
for name, _, _ in queries:
    for visit in ("first", "return"):
        o = run("ours", name, visit)
        p = run("pagefind", name, visit)
        mo = o["ms"] if o else None
        mp = p["ms"] if p else None
        fo = f"**{mo:.0f} ms** ({o['ms_node']:.0f})" if mo is not None else "–"
        fp = f"**{mp:.0f} ms** ({p['ms_node']:.0f})" if mp is not None else "–"
        add(f"| time to first result, {name}, {visit} visit (median of {len(o['ms_all']) if o else 0}; in brackets: as Playwright sees it) | {fo} | {fp} | {ratio(mo, mp)} | ≤ 300 ms: {mark(mo, 300)} |")
sw_first = run("ours, service worker on", "commonest word", "first")
sw_ret = run("ours, service worker on", "commonest word", "return")
if sw_first and sw_ret and sw_first["ms"] is not None and sw_ret["ms"] is not None:
    add(
        f"| ours with its service worker on, commonest word: first / return visit | {kb(sw_first['toFirst'])} "
        f"(+{kb(sw_first['by'].get('after:service-worker', 0))} the worker's install) / {kb(sw_ret['toFirst'])}; "
        f"{sw_first['ms']:.0f} / {sw_ret['ms']:.0f} ms | | | |"
    )
if built:
  add(
    f"| Pagefind's Web Worker script (`pagefind-worker.js`, not loaded here: the page runs Pagefind on the main thread) | | "
    f"+{kb(extra['pagefind_worker_gz'])} on a first visit with Pagefind's default worker | | |"
)
print("\n".join(lines))
