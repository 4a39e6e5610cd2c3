// An image whose text was recognised by OCR (crates/samizdat/tests/ocr.rs), in Chromium:
//   node run.mjs site/ocr.mjs MIRROR_URL OUTDIR WORD ID
// The search finds document ID first for WORD, a word only its image holds; its page shows the
// image (loaded from the mirror under the site's own CSP: the original's type is an image's),
// with the page's title as its alt text, says the text came from OCR, and passes axe.
export default async function ({ browser, base, out, args, lib, assert }) {
  const [word, id] = args;
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const errors = lib.collectErrors(page);

  await lib.timeTo(page, '.search-result', {
    action: () => page.goto(`${base}/search/?q=${encodeURIComponent(word)}`),
  });
  const href = await page.locator('.search-result a').first().getAttribute('href');
  assert.ok(href.endsWith(`d/${id}/`), `"${word}": first result ${href}, expected ${id}`);
  await lib.screenshot(page, out, 'search-ocr-word');

  await page.goto(new URL(href, page.url()).href);
  const img = page.locator('figure.image img');
  await img.waitFor();
  const width = await img.evaluate((i) => i.decode().then(() => i.naturalWidth));
  assert.ok(width > 100, `the image loaded ${width} pixels wide`);
  const shown = await img.evaluate((i) => i.getBoundingClientRect().width);
  assert.ok(shown <= 1100, `the image is shown ${shown} px wide, wider than the page`);
  assert.equal(await img.getAttribute('alt'), (await page.locator('h1').textContent()).trim());
  assert.match(await page.locator('section p.note').first().textContent(), /recognised by OCR/);
  assert.match(await page.locator('pre.text').textContent(), new RegExp(word, 'i'));
  assert.deepEqual(await lib.axeCheck(page), [], 'axe on the image page');
  await lib.screenshot(page, out, 'image-document');
  assert.deepEqual(errors, []);
}
