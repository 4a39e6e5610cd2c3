// Bytes and time to the first search result in headless Chromium (playwright-core and lib.mjs
// from tests/browser), for our search page and the Pagefind page, over loopback:
//
//   node measure.mjs CONFIG.json OUT.json
//
// CONFIG: { reps, engines: [{ name, url (the search page), serviceWorkers?: "allow" }],
//           queries: [{ name, params: { q, origin? } }] }
// For each engine and query, `reps` times each:
//   first visit   a fresh browser context (empty cache), open SEARCH_PAGE?PARAMS;
//   return visit  a fresh context; open the search page without a query (its code and whatever
//                 it loads up front get cached), then a new page of the same context opens
//                 SEARCH_PAGE?PARAMS.
// Counted: Chromium's encodedDataLength (DevTools Network.loadingFinished) of every response:
// headers + body as received, compressed if the server compressed; cache hits count 0 (see
// bytesFetched in tests/browser/lib.mjs), until the network is idle 500 ms. "To first result"
// leaves out what the page fetches only after it has shown its result cards: our excerpts
// (d/<id>/doc.json, one per shown card) and the service worker's own fetches; both are listed.
// On our page, also what is asked for after its first page of results is all on show (the
// results list gets `data-complete`; the page then asks for MARKER, a path no server has, so
// that the DevTools request order tells what came after): the facet counts.
// Time: in the page, from the start of the navigation (performance.timeOrigin) until the first
// `.search-result` is in the document (a MutationObserver; median of reps). Also recorded, as
// ms_node: from before page.goto until Playwright sees it visible, which adds Playwright's and
// the new page's own start-up (100-600 ms here) to both engines alike.
// Service workers are blocked unless the engine says serviceWorkers: "allow".
import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { dirname, join } from 'node:path';

const here = dirname(new URL(import.meta.url).pathname);
const lib = await import(pathToFileURL(join(here, '../../tests/browser/lib.mjs')).href);

const [configPath, outPath] = process.argv.slice(2);
const config = JSON.parse(await readFile(configPath, 'utf8'));
const reps = config.reps || 3;

// What a response is for; "after" = fetched after the result cards are shown (not counted in
// "to first result").
function category(url) {
  const path = new URL(url).pathname;
  if (/\/d\/[^/]+\/doc\.json$/.test(path)) return 'after:excerpt';
  if (/\/(sw\.js|mirrors\.json)$/.test(path)) return 'after:service-worker';
  if (/\/search\/[hc]\/|\.pf_fragment$/.test(path)) return 'results';
  if (/\/search\/.+\.(bin|json)$|\.pf_(meta|index|filter)$|pagefind-entry\.json$/.test(path)) return 'index';
  if (/\.(js|mjs|css|pagefind)$/.test(path)) return 'code';
  return 'page';
}

const MARKER = '/__first_page_shown__';

function summarise(fetched) {
  const by = {};
  let toFirst = 0;
  let total = 0;
  let requests = 0;
  const marker = fetched.byUrl.find((r) => r.url.endsWith(MARKER) && r.order !== undefined);
  for (const r of fetched.byUrl) {
    if (r.url.endsWith(MARKER)) continue;
    // With a service worker, the page-side entry is the worker's answer; the wire bytes are the
    // worker's own request (byServiceWorker).
    if (r.fromServiceWorker && !r.byServiceWorker) continue;
    let c = category(r.url);
    if (marker && r.order !== undefined && r.order > marker.order && !c.startsWith('after:')) c = `after:${c}`;
    by[c] = (by[c] || 0) + r.bytes;
    total += r.bytes;
    if (r.bytes) requests++;
    if (!c.startsWith('after:')) toFirst += r.bytes;
  }
  return { toFirst, total, requests, by, failed: fetched.failed, urls: fetched.byUrl.map((r) => [r.bytes, r.url.replace(/^https?:\/\/[^/]+/, '')]) };
}

async function visit(browser, engine, query, returning) {
  const context = await browser.newContext({ serviceWorkers: engine.serviceWorkers || 'block' });
  await context.addInitScript(() => {
    new MutationObserver((_, observer) => {
      if (document.querySelector('.search-result')) {
        window.__firstResult = performance.now();
        observer.disconnect();
      }
    }).observe(document, { childList: true, subtree: true });
    new MutationObserver((_, observer) => {
      if (document.querySelector('.search-results[data-complete]')) {
        observer.disconnect();
        fetch('/__first_page_shown__').catch(() => {});
      }
    }).observe(document, { childList: true, subtree: true, attributes: true, attributeFilter: ['data-complete'] });
  });
  try {
    let warm = null;
    if (returning) {
      const first = await context.newPage();
      warm = summarise(await lib.bytesFetched(first, () => first.goto(engine.url)));
    }
    const page = await context.newPage();
    const errors = lib.collectErrors(page);
    const url = `${engine.url}?${new URLSearchParams(query.params)}`;
    let msNode = null;
    const fetched = await lib.bytesFetched(page, async () => {
      msNode = await lib.timeTo(page, '.search-result', { action: () => page.goto(url), timeoutMs: 60000 }).catch((e) => {
        errors.push(`no result: ${e.message.split('\n')[0]}`);
        return null;
      });
    }, { timeoutMs: 120000 });
    const status = (await page.locator('.search-status, #status').first().textContent().catch(() => '')).trim();
    const first = (await page.locator('.search-result a').first().textContent().catch(() => '')).trim();
    const shown = await page.locator('.search-result').count();
    const ms = msNode === null ? null : await page.evaluate(() => window.__firstResult ?? null);
    return { ms, msNode, status, first, shown, errors, warm, ...summarise(fetched) };
  } finally {
    await context.close();
  }
}

const median = (xs) => {
  const v = xs.filter((x) => x !== null).sort((a, b) => a - b);
  return v.length ? v[(v.length - 1) >> 1] : null;
};

const browser = await lib.launch();
const results = [];
try {
  for (const engine of config.engines) {
    for (const query of engine.queries ? config.queries.filter((q) => engine.queries.includes(q.name)) : config.queries) {
      for (const returning of [false, true]) {
        const runs = [];
        for (let i = 0; i < reps; i++) runs.push(await visit(browser, engine, query, returning));
        const r = { ...runs[0], engine: engine.name, query: query.name, params: query.params, visit: returning ? 'return' : 'first', ms: median(runs.map((x) => x.ms)), ms_all: runs.map((x) => x.ms && +x.ms.toFixed(1)), ms_node: median(runs.map((x) => x.msNode)), bytes_all: runs.map((x) => x.toFirst) };
        results.push(r);
        console.error(`${engine.name} | ${query.name} | ${r.visit}: ${r.toFirst} B to first result (${r.total} B in all, ${r.requests} requests), ${r.ms?.toFixed(0)} ms in the page (${r.ms_node?.toFixed(0)} ms by Playwright); "${r.status}"; ${r.shown} shown${r.errors.length ? `; ERRORS ${r.errors.join(' | ')}` : ''}`);
      }
    }
  }
} finally {
  await browser.close();
}
await writeFile(outPath, JSON.stringify(results, null, 1));
