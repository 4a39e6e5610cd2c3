// Checks the real client engine against a brute-force oracle over the same documents.
// Usage: node engine_test.mjs SITE_DIR ROOT_PATH ENGINE_PATH   (paths relative to SITE_DIR)
// SITE_DIR holds the built index, d/<id>/doc.json for each document, docs.json (the documents)
// and tokens.json ([[text, rust tokens]]).
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { fileFetch } from "./files.mjs";

const [site, rootPath, enginePath] = process.argv.slice(2);
const { Engine, tokenize, parseQuery } = await import(pathToFileURL(join(site, enginePath)).href);
const docs = JSON.parse(readFileSync(join(site, "docs.json"), "utf8"));
const rootUrl = pathToFileURL(join(site, rootPath)).href;
const fetch = fileFetch();
const engine = new Engine(rootUrl, fetch);

let failures = 0;
async function check(name, body) {
  try {
    await body();
    console.log(`ok   ${name}`);
  } catch (e) {
    failures++;
    console.log(`FAIL ${name}\n     ${String(e.stack || e).split("\n").slice(0, 6).join("\n     ")}`);
  }
}

// --- the oracle ------------------------------------------------------------------------------
for (const d of docs) d.tokens = tokenize(`${d.title}\n${d.text}`);
const has = (d, t) => d.tokens.includes(t);
const phrase = (d, p) => d.tokens.some((_, i) => p.every((w, j) => d.tokens[i + j] === w));
function matches(d, query) {
  const q = parseQuery(query);
  return q.must.every((p) => (p.length === 1 ? has(d, p[0]) : phrase(d, p))) &&
    !q.not.some((p) => (p.length === 1 ? has(d, p[0]) : phrase(d, p)));
}
const numbers = (list) => list.map((d) => d.number);
const sorted = (a) => [...a].sort((x, y) => x - y);

// Pages shown before their count was known (`complete` early answers), each checked against
// the page of the final answer.
let pagesFromTopList = 0;

async function everything(query, options = {}) {
  const out = [];
  for (let page = 1; page < 100; page++) {
    let early = null;
    const before = fetch.log.length;
    const r = await engine.search(query, { ...options, page, early: (e) => { if (e.complete) early = { ...e, fetched: fetch.log.length }; } });
    if (early) {
      pagesFromTopList++;
      const numbers = (result) => result.results.map((c) => c.number);
      assert.deepEqual(numbers(early), numbers(r), `the page shown early is the page (${query}, page ${page})`);
      assert.ok(!early.exact && early.total >= early.results.length, "an estimated count");
      assert.ok(!fetch.log.slice(before, early.fetched).some(([url]) => url.includes("/p/")), "no full posting set fetched before");
    }
    out.push(...r.results.map((c) => c.number));
    if (page >= r.pages) return { numbers: out, first: await engine.search(query, options) };
  }
  throw new Error("too many pages");
}

async function sameSet(query, options, keep) {
  const expected = sorted(numbers(docs.filter((d) => matches(d, query) && keep(d))));
  const { numbers: got, first } = await everything(query, options);
  assert.deepEqual(sorted(got), expected, `documents of ${JSON.stringify(query)} ${JSON.stringify(options)}`);
  assert.equal(new Set(got).size, got.length, "no document twice");
  // Phrase counts are exact when few candidates; else estimated from the checked ones.
  if (first.exact) assert.equal(first.total, expected.length, "total");
  else assert.ok(parseQuery(query).must.some((p) => p.length > 1) || parseQuery(query).not.some((p) => p.length > 1));
  assert.ok(expected.length > 0, "the check is not vacuous");
}

// --- the checks --------------------------------------------------------------------------------
await check("tokeniser matches the Rust one", () => {
  for (const [text, rust] of JSON.parse(readFileSync(join(site, "tokens.json"), "utf8"))) {
    assert.deepEqual(tokenize(text), rust, JSON.stringify(text));
  }
});

await check("query parsing", () => {
  assert.deepEqual(parseQuery('Alpha "beta  Gamma" -delta -"eta theta" e-mail -'), {
    must: [["alpha"], ["beta", "gamma"], ["e", "mail"]],
    not: [["delta"], ["eta", "theta"]],
  });
});

await check("one word", () => sameSet("alpha", {}, () => true));
await check("AND of two words", () => sameSet("alpha beta", {}, () => true));
await check("AND of three words, one common", () => sameSet("common gamma delta", {}, () => true));
await check("phrase", async () => {
  await sameSet('"alpha beta"', {}, () => true);
  const r = await engine.search('"alpha beta"');
  const candidates = docs.filter((d) => has(d, "alpha") && has(d, "beta")).length;
  assert.equal(r.exact, candidates <= 30, "exact when at most 3 pages of candidates");
  const few = await engine.search('"alpha beta" gamma', { perPage: 20 });
  assert.equal(few.exact, true);
  assert.equal(few.total, docs.filter((d) => phrase(d, ["alpha", "beta"]) && has(d, "gamma")).length);
  assert.ok(docs.some((d) => has(d, "alpha") && has(d, "beta") && !phrase(d, ["alpha", "beta"])), "some docs have both words apart");
  for (const c of r.results) assert.ok(phrase(docs[c.number - 1], ["alpha", "beta"]));
});
await check("exclusion", () => sameSet("alpha -gamma", {}, () => true));
await check("exclusion of a common word", () => sameSet("beta -common", {}, () => true));
await check("exclusion of a phrase", () => sameSet('gamma -"alpha beta"', {}, () => true));
await check("unknown word matches nothing", async () => {
  const r = await engine.search("alpha zzzunknown");
  assert.equal(r.total, 0);
  assert.deepEqual(r.results, []);
});
await check("facet", () => sameSet("alpha", { filters: { kind: ["email"] } }, (d) => d.kind === "email"));
await check("facet values OR-ed, facets AND-ed", () =>
  sameSet("beta", { filters: { tag: ["red", "blue"], origin: ["Office B"] } }, (d) =>
    (d.tags.includes("red") || d.tags.includes("blue")) && d.origin === "Office B"));
await check("facet on a common word, short pages", () =>
  sameSet("common", { filters: { kind: ["email"] }, perPage: 3 }, (d) => d.kind === "email"));
await check("date range on a common word, short pages", () =>
  sameSet("common", { from: "2000-06", to: "2003-12", perPage: 3 }, (d) => d.date && d.date.slice(0, 7) >= "2000-06" && d.date.slice(0, 7) <= "2003-12"));
await check("year facet", () => sameSet("gamma", { filters: { year: ["2001"] } }, (d) => d.date?.startsWith("2001")));
await check("sender facet", () => sameSet("common", { filters: { sender: ["Ann <ann@example.org>"] } }, (d) => d.sender === "Ann <ann@example.org>"));
await check("date range", () =>
  sameSet("common", { from: "2001-03", to: "2002-06" }, (d) => d.date && d.date.slice(0, 7) >= "2001-03" && d.date.slice(0, 7) <= "2002-06"));
await check("browse by facet without words", () => sameSet("", { filters: { kind: ["pdf"] } }, (d) => d.kind === "pdf"));

await check("sort by date, newest first, undated last", async () => {
  const { numbers: got } = await everything("common", { sort: "newest" });
  const hits = docs.filter((d) => has(d, "common"));
  const dated = numbers(hits.filter((d) => d.date)).reverse();
  const undated = numbers(hits.filter((d) => !d.date));
  assert.deepEqual(got, [...dated, ...undated]);
  const oldest = await everything("common", { sort: "oldest" });
  assert.deepEqual(oldest.numbers, numbers(hits));
});

await check("paging", async () => {
  const all = await everything("common", {});
  const p2 = await engine.search("common", { page: 2 });
  assert.equal(p2.page, 2);
  assert.equal(p2.results.length, 10);
  assert.deepEqual(p2.results.map((c) => c.number), all.numbers.slice(10, 20));
  const total = docs.filter((d) => has(d, "common")).length;
  assert.equal(p2.pages, Math.ceil(total / 10));
  const last = await engine.search("common", { page: p2.pages });
  assert.equal(last.results.length, total - (p2.pages - 1) * 10);
  const beyond = await engine.search("common", { page: p2.pages + 1 });
  assert.equal(beyond.results.length, 0);
});

await check("relevance: more occurrences in a short text rank first", async () => {
  const r = await engine.search("omega");
  assert.equal(r.results[0].id, "dense-omega", JSON.stringify(r.results.map((c) => c.id)));
  for (let i = 1; i < r.results.length; i++) assert.ok(r.results[i - 1].score >= r.results[i].score, "scores descend");
});

await check("cards carry the document's fields", async () => {
  const r = await engine.search("omega");
  const c = r.results[0];
  const d = docs.find((x) => x.id === c.id);
  assert.equal(c.title, d.title);
  assert.equal(c.kind, d.kind);
  assert.equal(c.date, d.date ? d.date.slice(0, 10) : null);
  assert.equal(c.sender, d.sender);
  assert.equal(c.origin, d.origin);
  assert.ok(c.url.endsWith(`/d/${d.id}/`), c.url);
});

await check("facet counts", async () => {
  const r = await engine.search("alpha", { counts: ["kind", "year", "tag"], filters: { kind: ["email"] } });
  const hits = docs.filter((d) => has(d, "alpha"));
  const kinds = {};
  for (const d of hits) kinds[d.kind] = (kinds[d.kind] || 0) + 1;
  // A facet's own filter does not narrow its counts; the others do.
  for (const [value, count] of r.counts.kind) assert.equal(count, kinds[value] || 0, `kind ${value}`);
  for (const [year, count] of r.counts.year) {
    assert.equal(count, hits.filter((d) => d.kind === "email" && d.date?.startsWith(year)).length, `year ${year}`);
  }
  for (const [tag, count] of r.counts.tag) {
    assert.equal(count, hits.filter((d) => d.kind === "email" && d.tags.includes(tag)).length, `tag ${tag}`);
  }
});

await check("excerpt highlights the query words", async () => {
  const { excerpt } = await import(pathToFileURL(join(site, enginePath)).href);
  const parts = excerpt("One two three. The Alpha and the beta! Four five.", ["alpha", "beta"]);
  assert.deepEqual(parts.filter((p) => p.mark).map((p) => p.text), ["Alpha", "beta"]);
  assert.ok(parts.map((p) => p.text).join("").includes("Alpha and the beta"));
});

await check("a repeated query fetches nothing new", async () => {
  await engine.search("alpha beta", { page: 1 });
  const before = fetch.files;
  await engine.search("alpha beta", { page: 1 });
  assert.equal(fetch.files, before);
});

await check("filtered pages of a word with a top list are shown before its full set", () => {
  // The Rust test sets this for an index whose top lists are short enough (see engine.rs).
  if (process.env.EXPECT_PAGES_FROM_TOP_LIST === "1") assert.ok(pagesFromTopList > 0, "no page came from a top list");
  else assert.equal(pagesFromTopList, 0, "top lists hold every document here");
});

console.log(failures ? `${failures} check(s) failed` : "all checks passed");
process.exit(failures ? 1 : 0);
