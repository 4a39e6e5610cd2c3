// The reader site's layout and words in Chromium, at a phone's width (390 px) and a desktop's
// (1280 px), over the sample (crates/samizdat/tests/site.rs):
//   node run.mjs site/layout.mjs MIRROR_URL OUTDIR
// On every kind of page: nothing wider than the screen (document.documentElement.scrollWidth
// > innerWidth is a failure) and the header's Search button on the line of its box. On the
// search page: kinds named as the rest of the site names them ("E-mail", "PDF") in the facets
// and the result lines, and excerpts of Markdown without its marks. Counts agree with their
// nouns ("1 year", never "1 years"). An unknown /d/x/ is the site's own 404 page, status 404.
// Saves a screenshot of each page at each width.

export default async function ({ browser, base, out, lib, assert }) {
  // A document's page: the first e-mail listed.
  const probe = await browser.newPage();
  await probe.goto(`${base}/browse/kind/email/`);
  const doc = await probe.locator('ol.docs li a').first().getAttribute('href');
  const docPath = new URL(doc, `${base}/browse/kind/email/`).pathname;
  await probe.close();

  const pages = [
    ['home', '/'],
    ['search', '/search/'],
    ['search-results', '/search/?q=container+number'],
    ['browse', '/browse/'],
    ['by-kind', '/browse/kind/'],
    ['kind', '/browse/kind/email/'],
    ['by-date', '/browse/date/'],
    ['document', docPath],
    ['mirrors', '/mirrors/'],
    ['not-found', '/d/no-such-document/'],
  ];
  for (const width of [390, 1280]) {
    const context = await browser.newContext({
      viewport: { width, height: 900 },
      ...(width < 600 ? { isMobile: true, hasTouch: true } : {}),
    });
    const page = await context.newPage();
    const errors = lib.collectErrors(page);
    for (const [name, path] of pages) {
      const response = await page.goto(`${base}${path}`);
      const what = `${name} (${path}) at ${width} px`;
      if (name === 'not-found') {
        assert.equal(response.status(), 404, what);
        assert.match(response.headers()['content-type'], /^text\/html/, what);
        assert.equal((await page.locator('h1').textContent()).trim(), 'Not found', what);
        // Its links lead into the site from any depth.
        await page.getByRole('link', { name: 'Search the archive' }).first().click();
        assert.equal(new URL(page.url()).pathname, '/search/', what);
        await page.goto(`${base}${path}`);
      }
      if (name === 'search') {
        const kinds = page.locator('details[data-facet="kind"]');
        if (!(await kinds.evaluate((d) => d.open))) await kinds.locator('summary').click();
        await page.locator('details[data-facet="kind"] label').first().waitFor();
      }
      if (name === 'search-results') await page.locator('.search-results[data-complete]').waitFor();
      // On a phone Chromium zooms out to show a page wider than the screen, and innerWidth
      // grows with it: the screen's width is the bound.
      const [scroll, inner] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
      assert.ok(scroll <= Math.min(inner, width), `${what}: ${scroll} px wide on a ${width} px screen`);
      const quick = page.locator('header.top form.quick');
      if (await quick.count()) {
        const box = await quick.locator('input').boundingBox();
        const button = await quick.locator('button').boundingBox();
        assert.ok(
          Math.abs(button.y - box.y) < box.height / 2 && button.x > box.x,
          `${what}: the header's Search button wraps (box at ${JSON.stringify(box)}, button at ${JSON.stringify(button)})`,
        );
      }
      const body = await page.locator('body').innerText();
      const wrongPlural = body.match(/\b1 (years|documents|kinds|origins|tags|senders|results)\b/);
      assert.equal(wrongPlural, null, `${what}: "${wrongPlural?.[0]}"`);
      await lib.screenshot(page, out, `${name}-${width}`);
    }

    // The words of the search page are the site's.
    await page.goto(`${base}/search/`);
    const kinds = page.locator('details[data-facet="kind"]');
    if (!(await kinds.evaluate((d) => d.open))) await kinds.locator('summary').click();
    await page.locator('details[data-facet="kind"] label').first().waitFor();
    const facetLabels = (await kinds.locator('label').allTextContents()).map((t) => t.replace(/\(.*\)/, '').trim());
    assert.ok(facetLabels.includes('E-mail') && facetLabels.includes('PDF'), `kind facet: ${facetLabels}`);
    for (const raw of ['email', 'pdf', 'markdown', 'rst']) assert.ok(!facetLabels.includes(raw), `kind facet: ${facetLabels}`);
    await page.goto(`${base}/search/?q=container+number`);
    await page.locator('.search-results[data-complete]').waitFor();
    const metas = await page.locator('.search-result .search-meta').allTextContents();
    assert.ok(metas.some((m) => m.includes('Markdown')), `result lines: ${metas}`);
    for (const m of metas) assert.doesNotMatch(m, /\b(email|pdf|markdown)\b/, `a result line: ${m}`);
    const excerpt = page.locator('.search-result .search-excerpt').first();
    await page.waitForFunction((e) => e.textContent.length > 0, await excerpt.elementHandle());
    const excerpts = await page.locator('.search-result .search-excerpt').allTextContents();
    for (const e of excerpts) assert.ok(!e.includes('**'), `an excerpt with Markdown marks: ${e}`);
    assert.deepEqual(errors.filter((e) => !/404/.test(e)), [], `errors at ${width} px`);
    await context.close();
  }
}
