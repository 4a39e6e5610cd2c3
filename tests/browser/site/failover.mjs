// Failover in the browser (crates/samizdat/tests/site.rs):
//   node run.mjs site/failover.mjs MIRROR_A OUTDIR PID_A MIRROR_B
// The site is loaded from mirror A; once its service worker controls the page, A is killed and
// the next navigation must be served from mirror B, under A's address.
export default async function ({ browser, base, args, out, lib, assert, record }) {
  const [pidA, mirrorB] = args;
  assert.ok(pidA && mirrorB, 'args: PID_A URL_B');
  const page = await browser.newPage();
  await page.goto(`${base}/`);
  await page.evaluate(() => navigator.serviceWorker.ready);
  if (!(await page.evaluate(() => navigator.serviceWorker.controller !== null))) await page.reload();
  assert.ok(await page.evaluate(() => navigator.serviceWorker.controller !== null), 'the worker controls the page');

  await lib.killServer(Number(pidA), `${base}/`);
  const t = await lib.bytesFetched(page, () => page.getByRole('link', { name: 'Browse', exact: true }).first().click());
  assert.equal((await page.locator('h1').textContent()).trim(), 'Browse');
  assert.equal(page.url(), `${base}/browse/`, 'the address stays mirror A’s');
  assert.ok(t.byUrl.some((r) => r.byServiceWorker && r.url.startsWith(mirrorB)), `fetched from B: ${JSON.stringify(t)}`);
  await lib.screenshot(page, out, 'failover-from-b');
  await record('failover_bytes_from_b', t.serviceWorkerBytes, 'bytes');

  // And a document page, with its stylesheet, also through B.
  await page.goto(`${base}/browse/kind/`);
  assert.equal((await page.locator('h1').textContent()).trim(), 'By kind');
}
