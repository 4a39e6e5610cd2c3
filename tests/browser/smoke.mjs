// Smoke test of the harness on fixture/ (served over HTTP at BASEURL):
//   node run.mjs smoke.mjs http://127.0.0.1:PORT OUTDIR
// Opens the home page, checks the heading, runs axe, takes screenshots, measures the bytes of the
// first load and the time from submitting the search form to the first result.

export default async function ({ browser, base, out, lib, assert, record }) {
  const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
  const errors = lib.collectErrors(page);

  const load = await lib.bytesFetched(page, () => page.goto(`${base}/index.html`));
  assert.equal(await page.locator('h1').textContent(), 'Fixture archive');
  assert.deepEqual(await lib.axeCheck(page), []);
  await lib.screenshot(page, out, 'smoke-index');
  assert.ok(load.requests >= 1, `requests: ${JSON.stringify(load)}`);
  assert.ok(load.bytes > 500, `the home page is over 500 bytes with headers: ${JSON.stringify(load)}`);
  assert.deepEqual(load.failed, []);
  await record('smoke_index_bytes', load.bytes, 'bytes');

  await page.getByLabel('Search the documents').fill('cable');
  const ms = await lib.timeTo(page, '#results .result', {
    action: () => page.getByRole('button', { name: 'Search' }).click(),
  });
  assert.equal(await page.locator('h1').textContent(), 'Documents');
  assert.deepEqual(await lib.axeCheck(page), []);
  await lib.screenshot(page, out, 'smoke-results');
  await record('smoke_first_result_ms', Math.round(ms * 10) / 10, 'ms');

  assert.deepEqual(errors, []);
}
