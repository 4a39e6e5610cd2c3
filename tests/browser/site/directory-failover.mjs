// Must-show 4 of the directory (crates/samizdat/tests/site.rs):
//   node run.mjs site/directory-failover.mjs MIRROR_1 OUTDIR PID_1 PID_2 MIRROR_2 MIRROR_3 DIRECTORY DOC_PATH
// The release names only mirror 2; the directory it vouches for lists all three. The reader
// opens the mirrors page on mirror 1 (the directory's live list shown, the worker installed and
// holding that list), then mirrors 1 and 2 are killed: a document page never visited before
// must come from mirror 3, which only the directory names, under mirror 1's address.
export default async function ({ browser, base, args, out, lib, assert, record }) {
  const [pid1, pid2, mirror2, mirror3, directory, docPath] = args;
  assert.ok(pid1 && pid2 && mirror2 && mirror3 && directory && docPath,
    'args: PID_1 PID_2 MIRROR_2 MIRROR_3 DIRECTORY DOC_PATH');
  const page = await browser.newPage();
  const errors = lib.collectErrors(page);

  // The mirrors page: the release's own list (mirror 2 only), and the directory's, by script.
  await page.goto(`${base}/mirrors/`);
  const live = page.locator('#live-mirrors');
  await live.locator('ul.live').waitFor({ timeout: 15000 });
  const rows = await live.locator('ul.live li').evaluateAll((lis) =>
    lis.map((li) => [li.querySelector('a').textContent, li.textContent]));
  const row3 = rows.find((r) => r[0] === mirror3);
  assert.ok(row3, `mirror 3 in the directory's list: ${JSON.stringify(rows)}`);
  assert.match(row3[1], /^\S+ — active, IS, Three Hosting, last audit \d{4}-\d\d-\d\dT/, JSON.stringify(row3));
  assert.equal(rows.length, 3, JSON.stringify(rows));
  assert.ok((await live.locator('h3').textContent()).includes(directory), 'the directory named');
  const own = await page.locator('main ul.values a').allTextContents();
  assert.deepEqual(own, [mirror2], 'the release names only mirror 2');
  assert.deepEqual(await lib.axeCheck(page), [], 'axe on the mirrors page');
  await lib.screenshot(page, out, 'mirrors-page');

  // On a phone, the page is no wider than the screen.
  const phone = await browser.newContext({ viewport: { width: 390, height: 800 }, isMobile: true, hasTouch: true });
  const small = await phone.newPage();
  await small.goto(`${base}/mirrors/`);
  await small.locator('#live-mirrors ul.live').waitFor({ timeout: 15000 });
  const [scroll, inner] = await small.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
  assert.ok(scroll <= Math.min(inner, 390), `the mirrors page is ${scroll} px wide on a 390 px screen`);
  await lib.screenshot(small, out, 'mirrors-page-phone');
  await phone.close();

  // Without script: the release's own list, and a word on what script would add.
  const plain = await browser.newContext({ javaScriptEnabled: false });
  const noScript = await plain.newPage();
  await noScript.goto(`${base}/mirrors/`);
  assert.equal(await noScript.locator('#live-mirrors').isVisible(), false, 'no live section without script');
  assert.deepEqual(await noScript.locator('main ul.values a').allTextContents(), [mirror2]);
  assert.match(await noScript.locator('main').textContent(), /With JavaScript, this page also shows/);
  await lib.screenshot(noScript, out, 'mirrors-page-no-script');
  await plain.close();

  // The worker controls the page, and holds the directory's active mirrors.
  await page.evaluate(() => navigator.serviceWorker.ready);
  if (!(await page.evaluate(() => navigator.serviceWorker.controller !== null))) await page.reload();
  assert.ok(await page.evaluate(() => navigator.serviceWorker.controller !== null), 'the worker controls the page');
  const held = await page.evaluate(async () => {
    const cache = await caches.open('samizdat-mirrors-v1');
    const kept = await cache.match(new URL('samizdat-live-mirrors.json', location.origin + '/').href);
    return kept ? (await kept.json()).mirrors : null;
  });
  assert.ok(Array.isArray(held) && held.includes(mirror3), `the worker's live list: ${JSON.stringify(held)}`);

  // Mirrors 1 and 2 die.
  await lib.killServer(Number(pid1), `${base}/`);
  await lib.killServer(Number(pid2), mirror2);

  let response;
  let ms;
  const t = await lib.bytesFetched(page, async () => {
    const t0 = performance.now();
    response = await page.goto(`${base}/${docPath}`);
    ms = performance.now() - t0;
  });
  assert.equal(response.status(), 200,
    `the document page through the worker: ${(await response.text()).slice(0, 200)}; ${JSON.stringify(t.failed)}`);
  assert.equal(page.url(), `${base}/${docPath}`, 'the address stays mirror 1’s');
  const expected = await (await fetch(`${mirror3}${docPath}`)).text();
  const h1 = expected.match(/<h1[^>]*>([\s\S]*?)<\/h1>/);
  assert.ok(h1, `a document page from mirror 3: ${expected.slice(0, 300)}`);
  const shown = await page.locator('h1').first().innerHTML();
  assert.equal(shown.trim(), h1[1].trim(), 'the document page, as mirror 3 serves it');
  const from3 = t.byUrl.filter((r) => r.byServiceWorker && r.url.startsWith(mirror3) && r.status === 200);
  assert.ok(from3.some((r) => r.url === `${mirror3}${docPath}`), `the page came from mirror 3: ${JSON.stringify(t.byUrl)}`);
  assert.ok(t.failed.some((f) => f.startsWith(mirror2)), `mirror 2 was tried first and is dead: ${JSON.stringify(t.failed)}`);
  await lib.screenshot(page, out, 'document-from-mirror-3');
  await record('bytes_from_mirror_3', from3.reduce((a, r) => a + r.bytes, 0), 'bytes');
  await record('document_page_ms_with_two_mirrors_dead', Math.round(ms), 'ms');

  // And on from there: a link of that page, through mirror 3 too.
  await page.getByRole('link', { name: 'Browse', exact: true }).first().click();
  assert.equal((await page.locator('h1').textContent()).trim(), 'Browse');
  assert.deepEqual(errors.filter((e) => !/Failed to load resource/.test(e)), [], 'errors in the page');
}
