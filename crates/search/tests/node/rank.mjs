// Prints the engine's top ids for each query, and the bytes each query fetched.
// Usage: node rank.mjs SITE_DIR ROOT_PATH ENGINE_PATH QUERIES_JSON
//   QUERIES_JSON: [{ "query": "...", "options": {...}, "fresh": bool }]; fresh: a new engine
//   (nothing cached but the root, which is loaded before counting).
// Prints JSON: [{ ids, total, bytes, files }].
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { fileFetch } from "./files.mjs";

const [site, rootPath, enginePath, queriesPath] = process.argv.slice(2);
const { Engine } = await import(pathToFileURL(join(site, enginePath)).href);
const rootUrl = pathToFileURL(join(site, rootPath)).href;
const queries = JSON.parse(readFileSync(queriesPath, "utf8"));

let fetch = fileFetch();
let engine = new Engine(rootUrl, fetch);
const out = [];
for (const { query, options = {}, fresh = true } of queries) {
  if (fresh) {
    fetch = fileFetch();
    engine = new Engine(rootUrl, fetch);
    await engine.root();
  }
  const before = fetch.bytes;
  const beforeFiles = fetch.files;
  const started = performance.now();
  const r = await engine.search(query, options);
  out.push({
    ids: r.results.map((c) => c.id),
    total: r.total,
    bytes: fetch.bytes - before,
    files: fetch.files - beforeFiles,
    ms: Math.round(performance.now() - started),
  });
}
console.log(JSON.stringify(out));
