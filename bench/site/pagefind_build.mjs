// Pagefind (the npm package pinned in package.json) over the document pages of an exported
// samizdat release, through Pagefind's Node API, so that facets need no change to our pages:
//
//   node pagefind_build.mjs EXPORT_DIR BUNDLE_DIR
//
// Every EXPORT_DIR/d/<id>/index.html is read as it is and handed to Pagefind with its URL
// (/d/<id>/) and two attributes added in memory (the file on disk is untouched): the Kind and
// Origin cells of the page's metadata table get data-pagefind-filter="kind" / "origin", the
// only way Pagefind takes a filter (its CLI has no selector option for filters). Indexed: the
// <main> element less the metadata table (`table.meta`), i.e. the title (h1) and the text, as our
// index takes title + text. The bundle is written to BUNDLE_DIR (e.g. SITE/pagefind).
// Prints one line of JSON: { pages, seconds } (wall time of add + write inside this process).
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as pagefind from 'pagefind';

const [exportDir, bundleDir] = process.argv.slice(2);
if (!exportDir || !bundleDir) {
  console.error('usage: node pagefind_build.mjs EXPORT_DIR BUNDLE_DIR');
  process.exit(2);
}

// <tr><th scope="row">Kind</th><td><a ...>minutes</a></td></tr>: the cell of one row.
const cell = (label) => new RegExp(`(<th scope="row">${label}</th><td)>`);
const KIND = cell('Kind');
const ORIGIN = cell('Origin');

const t0 = performance.now();
const { index, errors } = await pagefind.createIndex({
  rootSelector: 'main',
  excludeSelectors: ['table.meta'],
  forceLanguage: 'en',
});
if (!index) throw new Error(`pagefind createIndex: ${errors}`);

const dir = join(exportDir, 'd');
const ids = (await readdir(dir)).sort();
let done = 0;
let failed = 0;
// A bounded number of files in flight: the backend indexes while node reads the next ones.
const PARALLEL = 64;
let next = 0;
async function worker() {
  while (next < ids.length) {
    const id = ids[next++];
    let html;
    try {
      html = await readFile(join(dir, id, 'index.html'), 'utf8');
    } catch {
      continue; // withdrawn or not a document folder
    }
    html = html.replace(KIND, '$1 data-pagefind-filter="kind">').replace(ORIGIN, '$1 data-pagefind-filter="origin">');
    const r = await index.addHTMLFile({ url: `/d/${id}/`, content: html });
    if (r.errors.length) {
      failed++;
      if (failed <= 5) console.error(`pagefind: ${id}: ${r.errors.join('; ')}`);
    }
    if (++done % 25000 === 0) console.error(`pagefind: ${done} pages`);
  }
}
await Promise.all(Array.from({ length: PARALLEL }, worker));
const written = await index.writeFiles({ outputPath: bundleDir });
if (written.errors.length) throw new Error(`pagefind writeFiles: ${written.errors.join('; ')}`);
const seconds = (performance.now() - t0) / 1000;
await pagefind.close();
console.log(JSON.stringify({ pages: done, failed, seconds: +seconds.toFixed(2) }));
