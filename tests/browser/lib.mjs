// Helpers for the browser tests of the reader site: Debian's Chromium driven by playwright-core,
// axe-core in the page, screenshots, bytes over the wire, time to a selector.
// A test script gets this module as `ctx.lib` (see run.mjs and README.md).

import { mkdir, readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const require = createRequire(import.meta.url);

/** The Chromium binary: $SAMIZDAT_CHROMIUM, else Debian's /usr/bin/chromium. */
export const CHROMIUM = process.env.SAMIZDAT_CHROMIUM || '/usr/bin/chromium';

/**
 * Headless Chromium. Flags for running as root in a container: no sandbox (root cannot have the
 * setuid/namespace sandbox), no /dev/shm (small in containers), no GPU; fixed font rendering so
 * screenshots do not depend on the machine's hinting settings. `options` go to chromium.launch().
 */
export async function launch(options = {}) {
  const { args = [], ...rest } = options;
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    chromiumSandbox: false,
    args: [
      '--no-sandbox',
      '--disable-dev-shm-usage',
      '--disable-gpu',
      '--no-first-run',
      '--no-default-browser-check',
      '--font-render-hinting=none',
      '--lang=en-US',
      '--disable-crash-reporter',
      '--disable-breakpad',
      // Tests talk to 127.0.0.1 only; a proxy from the environment must not get in the way.
      '--no-proxy-server',
      ...args,
    ],
    ...rest,
  });
}

/**
 * Collects what went wrong in the page from now on: uncaught exceptions and console.error lines.
 * Returns the live array; a test asserts it is empty at the end.
 */
export function collectErrors(page) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console.error: ${m.text()} (${m.location().url})`);
  });
  return errors;
}

const AXE_PATH = require.resolve('axe-core/axe.min.js');
let axeSource;

/**
 * Runs axe-core over the page as it is now and returns its violations of impact serious or
 * critical (or those in `impacts`), one readable string each:
 *   "image-alt (critical): Images must have alternative text [img[src$="x.png"]] <helpUrl>"
 * An empty array means none. `context` and `options` go to axe.run (e.g. { runOnly: ['wcag2aa'] }).
 *
 * axe.min.js (from node_modules) is evaluated in the page's main world through the DevTools
 * protocol (page.evaluate of its source) rather than page.addScriptTag: an added <script> is
 * refused by a strict Content-Security-Policy such as the reader site's, and the refusal is also
 * logged as a console error (which collectErrors would report). Evaluation is not governed by CSP,
 * so the site needs no hole in its policy for the tests, and the page is tested with its real CSP.
 */
export async function axeCheck(page, { impacts = ['serious', 'critical'], context, options } = {}) {
  const loaded = () => page.evaluate(() => typeof window.axe === 'object' && typeof window.axe.run === 'function');
  if (!(await loaded())) {
    axeSource ??= await readFile(AXE_PATH, 'utf8');
    await page.evaluate(axeSource);
    if (!(await loaded())) throw new Error('axeCheck: could not load axe-core into the page');
  }
  const result = await page.evaluate(
    async ([ctx, opts]) => {
      const r = await window.axe.run(ctx ?? document, opts ?? {});
      return r.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        helpUrl: v.helpUrl,
        targets: v.nodes.map((n) => n.target.join(' ')),
      }));
    },
    [context ?? null, options ?? null],
  );
  return result
    .filter((v) => impacts.includes(v.impact))
    .map((v) => `${v.id} (${v.impact}): ${v.help} [${v.targets.join(', ')}] ${v.helpUrl}`);
}

/** A full-page PNG screenshot at DIR/NAME.png (DIR made if missing); returns its path. */
export async function screenshot(page, dir, name) {
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${name.replace(/[^A-Za-z0-9._-]/g, '_')}.png`);
  await page.screenshot({ path, fullPage: true, animations: 'disabled' });
  return path;
}

/**
 * The bytes the page fetched over the network while `action` ran (e.g. () => page.goto(url)),
 * counted until the network has been idle (no request in flight) for `idleMs`.
 *
 * How: a DevTools-protocol session on the page with the Network domain enabled; every
 * `Network.loadingFinished` event carries `encodedDataLength`, the bytes actually received for
 * that request (headers + body as sent, i.e. compressed if the server compressed). Their sum is
 * `bytes`. A response from the memory or disk cache receives nothing (encodedDataLength 0, or no
 * loadingFinished for memory-cache hits: `Network.requestServedFromCache`). A response the page's
 * service worker gave counts with what the page-side event reports (the worker's answer, not the
 * network), and is flagged fromServiceWorker; the fetches the service worker made itself happen in
 * the worker's target, not the page's, and are counted apart in `serviceWorkerBytes` (Playwright
 * reports service-worker requests on the context; their request.sizes() give headers + body).
 * `networkBytes` = bytes of non-service-worker responses + serviceWorkerBytes: what crossed the
 * wire. A failed request counts 0 (a failed navigation "finishes" with Chromium's error page) and
 * is listed in `failed`, the service worker's own failed fetches too (e.g. to a dead mirror).
 * Returns { bytes, networkBytes, serviceWorkerBytes, requests, fromCache, fromServiceWorker,
 * failed, byUrl: [{ url, bytes, fromCache, fromServiceWorker, status, byServiceWorker? }]
 * largest first }.
 */
export async function bytesFetched(page, action, { idleMs = 500, timeoutMs = 30000 } = {}) {
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Network.enable');
  const reqs = new Map();
  let sent = 0; // the order requests were sent in
  let inFlight = 0;
  let lastChange = Date.now();
  const entry = (id) => {
    if (!reqs.has(id)) reqs.set(id, { url: '', bytes: 0, fromCache: false, fromServiceWorker: false, status: 0, done: false });
    return reqs.get(id);
  };
  const finish = (r) => {
    if (!r.done) {
      r.done = true;
      inFlight--;
      lastChange = Date.now();
    }
  };
  cdp.on('Network.requestWillBeSent', (e) => {
    const r = entry(e.requestId);
    if (!r.url) {
      inFlight++;
      lastChange = Date.now();
      r.order = sent++;
    }
    r.url = e.request.url; // a redirect re-sends with the same id: keep the final URL
  });
  cdp.on('Network.requestServedFromCache', (e) => {
    entry(e.requestId).fromCache = true;
  });
  cdp.on('Network.responseReceived', (e) => {
    const r = entry(e.requestId);
    r.status = e.response.status;
    if (e.response.fromDiskCache || e.response.fromPrefetchCache) r.fromCache = true;
    if (e.response.fromServiceWorker) r.fromServiceWorker = true;
  });
  cdp.on('Network.loadingFinished', (e) => {
    const r = entry(e.requestId);
    // A failed navigation "finishes" with Chromium's own error page: not bytes from the network.
    if (!r.failed) r.bytes = e.encodedDataLength;
    finish(r);
  });
  cdp.on('Network.loadingFailed', (e) => {
    const r = entry(e.requestId);
    r.failed = e.errorText;
    r.bytes = 0;
    finish(r);
  });

  // Requests made by service workers (not in the page's target).
  const swRequests = [];
  const swFailed = [];
  const onSw = (request) => {
    if (request.serviceWorker()) swRequests.push(request);
  };
  const onSwFailed = (request) => {
    if (request.serviceWorker()) swFailed.push(`${request.url()}: ${request.failure()?.errorText} (service worker)`);
  };
  page.context().on('requestfinished', onSw);
  page.context().on('requestfailed', onSwFailed);

  try {
    await action();
    const deadline = Date.now() + timeoutMs;
    while (!(inFlight <= 0 && Date.now() - lastChange >= idleMs)) {
      if (Date.now() > deadline) throw new Error(`bytesFetched: network not idle after ${timeoutMs} ms (${inFlight} in flight)`);
      await new Promise((res) => setTimeout(res, 50));
    }
  } finally {
    page.context().off('requestfinished', onSw);
    page.context().off('requestfailed', onSwFailed);
    await cdp.detach().catch(() => {});
  }

  let serviceWorkerBytes = 0;
  const swByUrl = [];
  for (const request of swRequests) {
    const s = await request.sizes().catch(() => null);
    if (!s) continue;
    const n = s.responseBodySize + s.responseHeadersSize;
    const status = (await request.response().catch(() => null))?.status() ?? 0;
    serviceWorkerBytes += n;
    swByUrl.push({ url: request.url(), bytes: n, fromCache: false, fromServiceWorker: false, status, byServiceWorker: true });
  }
  const list = [...reqs.values()].filter((r) => r.url && !r.url.startsWith('data:'));
  const bytes = list.reduce((a, r) => a + r.bytes, 0);
  const pageNetwork = list.filter((r) => !r.fromServiceWorker).reduce((a, r) => a + r.bytes, 0);
  return {
    bytes,
    networkBytes: pageNetwork + serviceWorkerBytes,
    serviceWorkerBytes,
    requests: list.length,
    fromCache: list.filter((r) => r.fromCache).length,
    fromServiceWorker: list.filter((r) => r.fromServiceWorker).length,
    failed: [...list.filter((r) => r.failed).map((r) => `${r.url}: ${r.failed}`), ...swFailed],
    byUrl: [...list, ...swByUrl]
      .map(({ url, bytes, fromCache, fromServiceWorker, status, byServiceWorker, order }) => ({
        url, bytes, fromCache, fromServiceWorker, status, order, ...(byServiceWorker ? { byServiceWorker } : {}),
      }))
      .sort((a, b) => b.bytes - a.bytes),
  };
}

/**
 * Milliseconds from now until `selector` is visible in the page, after running `action` if given
 * (timing starts before the action: e.g. typing a query, then the first search result).
 * Measured on Node's monotonic clock, so it includes one DevTools round trip (well under 1 ms on
 * loopback). Throws if the selector does not appear within `timeoutMs`.
 */
export async function timeTo(page, selector, { action, timeoutMs = 30000, state = 'visible' } = {}) {
  const t0 = performance.now();
  if (action) await action();
  await page.locator(selector).first().waitFor({ state, timeout: timeoutMs });
  return performance.now() - t0;
}

/**
 * Kills a server the test was handed by process id (e.g. mirror A in a failover test: the Rust
 * test passes its child's pid as an argument) with SIGKILL, then waits (at most `timeoutMs`)
 * until `url` no longer answers, so the next navigation really finds it dead.
 */
export async function killServer(pid, url, { timeoutMs = 10000 } = {}) {
  try {
    process.kill(pid, 'SIGKILL');
  } catch (e) {
    if (e.code !== 'ESRCH') throw e; // already gone is fine
  }
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await fetch(url, { signal: AbortSignal.timeout(1000) });
    } catch {
      return;
    }
    if (Date.now() > deadline) throw new Error(`killServer: ${url} still answers ${timeoutMs} ms after kill ${pid}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
