// Template of the reader site's failover test, on the demo worker (sw.js here) over fixture/:
//   node run.mjs failover-demo/failover.mjs URL_A OUTDIR PID_A URL_B
// Loads the site from mirror A, lets the service worker take control, kills A (by pid), then
// follows a link: the page must come from mirror B through the worker. See README.md.

export default async function ({ browser, base, args, out, lib, assert, record }) {
  const [pidA, mirrorB] = args;
  assert.ok(pidA && mirrorB, 'args: PID_A URL_B');
  const page = await browser.newPage();
  const errors = lib.collectErrors(page);
  await page.goto(`${base}/index.html`);
  await page.evaluate((b) => navigator.serviceWorker.register(`/sw.js?m=${encodeURIComponent(b)}`), mirrorB);
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.reload();
  assert.ok(await page.evaluate(() => navigator.serviceWorker.controller !== null), 'the worker controls the page');

  await lib.killServer(Number(pidA), base);
  const t = await lib.bytesFetched(page, () => page.getByRole('link', { name: 'Documents' }).click());
  assert.equal(await page.locator('h1').textContent(), 'Documents');
  assert.equal(page.url(), `${base}/page2.html`, 'the address stays mirror A’s');
  assert.equal(t.fromServiceWorker, 1, JSON.stringify(t));
  assert.ok(t.byUrl.some((r) => r.byServiceWorker && r.url.startsWith(mirrorB)), `fetched from B: ${JSON.stringify(t)}`);
  await lib.screenshot(page, out, 'failover-from-b');
  await record('failover_bytes_from_b', t.serviceWorkerBytes, 'bytes');
  assert.deepEqual(errors, []);
}
