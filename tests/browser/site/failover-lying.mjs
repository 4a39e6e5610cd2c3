// Failover to a lying mirror (crates/samizdat/tests/site.rs):
//   node run.mjs site/failover-lying.mjs MIRROR_A OUTDIR PID_A MIRROR_B ORIGINAL_HTML
// The same, with a lying mirror B (tests/site.rs serves a tampered copy): its page is shown, but
// nothing it sends runs as this site: not its inline script, not its version of our scripts.
export default async function ({ browser, base, args, out, lib, assert }) {
  const [pidA, mirrorB, originalHtml] = args;
  const page = await browser.newPage();
  await page.goto(`${base}/`);
  await page.evaluate(() => navigator.serviceWorker.ready);
  // Controlled, so the worker keeps this mirror's scripts as it serves them.
  await page.reload();
  assert.ok(await page.evaluate(() => navigator.serviceWorker.controller !== null), 'the worker controls the page');
  await page.waitForLoadState('networkidle');

  await lib.killServer(Number(pidA), `${base}/`);
  const t = await lib.bytesFetched(page, () => page.getByRole('link', { name: 'Browse', exact: true }).first().click());
  assert.ok(t.byUrl.some((r) => r.byServiceWorker && r.url.startsWith(mirrorB)), `fetched from B: ${JSON.stringify(t)}`);
  assert.equal((await page.locator('h1').textContent()).trim(), 'Browse (tampered)', 'B’s page is shown');
  assert.equal(await page.evaluate(() => document.title), 'untouched', 'B’s inline script did not run');
  assert.equal(await page.evaluate(() => window.pwned), undefined, 'B’s copy of sw-register.js did not run');
  await lib.screenshot(page, out, 'failover-lying-b');
  // An HTML original from B (which sends it as text/html) is shown as text, never as a page.
  await page.goto(`${base}/${originalHtml}`);
  assert.equal(await page.evaluate(() => document.contentType), 'text/plain', `${originalHtml} from B is text`);
}
