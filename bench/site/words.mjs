// The query words of the bench, chosen deterministically from the documents as our index counts
// them (document frequency over title + text), read with the site's own query engine:
//
//   node words.mjs EXPORT_DIR        → one line of JSON
//
// Only plain [a-z] words, so that both engines' tokenisers agree on them:
//   common   the word in the most documents
//   common2  the word in the second most (the AND query is common + common2)
//   mid      a word of 5+ letters in about 1% of the documents (nearest, then alphabetical)
//   rare     a word of 6+ letters in exactly 3 documents (else the nearest count; alphabetical)
//   origin   the origin (facet value) of the most documents (ties: by name); the facet query is
//            common + this origin
import { readdir, readFile, writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const exportDir = process.argv[2];
const assets = await readdir(join(exportDir, 'assets'));
const engineFile = assets.find((f) => /^search-engine\.[0-9a-f]+\.js$/.test(f));
const html = await readFile(join(exportDir, 'search/index.html'), 'utf8');
const rootRel = /data-root="\.\.\/([^"]+)"/.exec(html)[1];
// Node takes a .js file outside a "type": "module" package as CommonJS: import a .mjs copy.
const tmp = await mkdtemp(join(tmpdir(), 'samizdat-words-'));
// Its shard parser is not exported: export it from the copy.
const source = await readFile(join(exportDir, 'assets', engineFile), 'utf8');
await writeFile(join(tmp, 'engine.mjs'), `${source}\nexport { parseShard };\n`);
const { Engine, parseShard } = await import(pathToFileURL(join(tmp, 'engine.mjs')).href);
await rm(tmp, { recursive: true });

const fetchFile = async (url) => {
  try {
    const bytes = await readFile(fileURLToPath(url));
    return { ok: true, status: 200, arrayBuffer: async () => bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length) };
  } catch {
    return { ok: false, status: 404 };
  }
};
const engine = new Engine(pathToFileURL(join(exportDir, rootRel)).href, fetchFile, pathToFileURL(exportDir + '/').href);
const root = await engine.root();
const df = new Map();
for (const [term, e] of root.hot) df.set(term, e.df);
for (const shard of root.shards) {
  const terms = await engine.parsedFile(`s/${shard.hash}.bin`, parseShard);
  for (const [term, e] of terms) df.set(term, e.df);
}

const words = [...df].filter(([t]) => /^[a-z]+$/.test(t));
const byDf = [...words].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
const nearest = (minLen, target) =>
  words
    .filter(([t]) => t.length >= minLen)
    .sort((a, b) => Math.abs(a[1] - target) - Math.abs(b[1] - target) || (a[0] < b[0] ? -1 : 1))[0];
const mid = nearest(5, Math.round(root.n / 100));
const rare = nearest(6, 3);

const facetsFile = (await readdir(join(exportDir, 'search'))).find((f) => /^f\.[0-9a-f]+\.json$/.test(f));
const facets = JSON.parse(await readFile(join(exportDir, 'search', facetsFile), 'utf8'));
const origin = [...(facets.origin || [])].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0];

console.log(
  JSON.stringify({
    documents: root.n,
    terms: df.size,
    common: byDf[0][0], common_df: byDf[0][1],
    common2: byDf[1][0], common2_df: byDf[1][1],
    mid: mid[0], mid_df: mid[1],
    rare: rare[0], rare_df: rare[1],
    origin: origin?.[0], origin_df: origin?.[1],
  }),
);
