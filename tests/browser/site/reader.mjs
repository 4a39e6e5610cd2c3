// The reader site of a release of the real corpora, in Chromium (crates/samizdat/tests/site.rs):
//   node run.mjs site/reader.mjs MIRROR_URL OUTDIR EXPECT.json
// EXPECT.json: { known: [[query, first id]...], thread: id of an e-mail in a thread,
//                browse: { kind: "email" } }
// Checks known queries, that a phrase, an exclusion, a facet and a date range each narrow the
// results as they should, sorting by date, the thread on an e-mail's page, the no-JavaScript
// path from home to a document, and axe on every page shown; saves screenshots.
import { readFileSync } from 'node:fs';

const count = async (page) => {
  const text = await page.locator('.search-status').first().textContent();
  const m = text.replace(/[,\u202f\u00a0 ]/g, '').match(/(\d+)results?/);
  if (!m) throw new Error(`no result count in ${JSON.stringify(text)}`);
  return Number(m[1]);
};

export default async function ({ browser, base, out, args, lib, assert, record }) {
  const expect = JSON.parse(readFileSync(args[0], 'utf8'));
  const page = await browser.newPage({ viewport: { width: 1100, height: 900 } });
  const errors = lib.collectErrors(page);
  const axe = async (what) => assert.deepEqual(await lib.axeCheck(page), [], `axe on ${what}`);

  // Home.
  await page.goto(`${base}/`);
  assert.match(await page.locator('h1').textContent(), /\S/);
  await lib.screenshot(page, out, 'home');
  await axe('home');

  // Search as a reader does: type in the home page's box, submit.
  const first = async (q, params = '') => {
    const ms = await lib.timeTo(page, '.search-result', {
      action: () => page.goto(`${base}/search/?q=${encodeURIComponent(q)}${params}`),
    });
    return { ms, n: await count(page) };
  };
  await page.getByLabel('Search the full text').fill(expect.known[0][0]);
  const typed = await lib.timeTo(page, '.search-result', {
    action: () => page.getByRole('button', { name: 'Search' }).click(),
  });
  await record('first_result_ms_from_home', Math.round(typed), 'ms');
  await lib.screenshot(page, out, 'search-results');
  await axe('search results');

  for (const [q, id] of expect.known) {
    await first(q);
    const href = await page.locator('.search-result a').first().getAttribute('href');
    assert.ok(href.endsWith(`d/${id}/`), `"${q}": first result ${href}, expected ${id}`);
  }

  // Narrowing: each constraint gives fewer results than the words alone, and more than none.
  const narrow = async (what, wide, narrowed) => {
    const a = (await first(...wide)).n;
    const b = (await first(...narrowed)).n;
    assert.ok(b > 0 && b < a, `${what}: ${JSON.stringify(narrowed)} gave ${b}, ${JSON.stringify(wide)} gave ${a}`);
    await record(`narrow_${what}`, `${a}->${b}`, 'results');
    return b;
  };
  await narrow('phrase', ['read copy update'], ['"read-copy update"']);
  await narrow('exclusion', ['razor'], ['razor -spamassassin']);
  await narrow('facet', ['kernel'], ['kernel', '&kind=email']);
  for (const kind of await page.locator('.search-result .search-meta').allTextContents()) {
    assert.match(kind, /E-mail/, 'a result outside the facet');
  }
  await narrow('date_range', ['razor'], ['razor', '&from=2002-09&to=2002-09']);
  for (const t of await page.locator('.search-result time').evaluateAll((ts) => ts.map((e) => e.getAttribute('datetime') || e.textContent))) {
    assert.ok(t.slice(0, 7) === '2002-09', `a result dated ${t} outside September 2002`);
  }

  // Browse by facet before typing anything: the search page lists each facet's values with
  // their counts in the whole archive; choosing one lists exactly that many documents.
  await page.goto(`${base}/search/`);
  // (Open already when an earlier page of this session had it open.)
  const kinds = page.locator('details[data-facet="kind"]');
  if (!(await kinds.evaluate((d) => d.open))) await kinds.locator('summary').click();
  const emails = page.locator('details[data-facet="kind"] label', { hasText: 'E-mail' });
  await emails.waitFor();
  const inArchive = Number((await emails.locator('.search-count').textContent()).replace(/\D/g, ''));
  assert.ok(inArchive > 1000, `the archive's e-mails: ${inArchive}`);
  await emails.locator('input').check();
  await page.locator('.search-results[data-complete]').waitFor();
  assert.equal(await count(page), inArchive, 'choosing a kind lists its documents');
  await record('browse_kind_email', inArchive, 'documents');

  // Search as you type: keystrokes on the search page update the results and the address,
  // without a submit, and the page answers input while it searches.
  await page.goto(`${base}/search/`);
  const box = page.locator('#q');
  await box.pressSequentially('unreliable guide', { delay: 40 });
  await page.waitForFunction(() => new URLSearchParams(location.search).get('q') === 'unreliable guide');
  await page.locator('.search-result').first().waitFor();
  assert.ok(await page.locator('.search-result a[href$="d/kernel-hacking-locking-rst/"]').count() === 1, 'typed query found its document');
  const lag = await page.evaluate(() => new Promise((resolve) => {
    const t = performance.now();
    requestAnimationFrame(() => resolve(performance.now() - t));
  }));
  assert.ok(lag < 200, `a frame took ${lag} ms after typing`);
  await record('frame_after_typing_ms', Math.round(lag), 'ms');

  // Sort by date, newest first.
  await first('razor', '&sort=newest');
  const dates = await page.locator('.search-result time').evaluateAll((ts) => ts.map((e) => e.getAttribute('datetime') || e.textContent));
  assert.ok(dates.length >= 5, `dates: ${dates}`);
  assert.deepEqual([...dates].sort().reverse(), dates, 'newest first');

  // The page of an e-mail in a thread shows the thread, and its links lead to the other messages.
  await page.goto(`${base}/d/${expect.thread}/`);
  const members = page.locator('nav.thread ol li');
  assert.ok((await members.count()) >= 2, 'the thread lists its messages');
  assert.equal(await page.locator('nav.thread [aria-current="page"]').count(), 1);
  await lib.screenshot(page, out, 'document-email');
  await axe('an e-mail page');
  const other = page.locator('nav.thread ol li a').first();
  const otherTitle = (await other.textContent()).trim();
  const otherHref = await other.getAttribute('href');
  const threadSize = await members.count();
  await other.click();
  assert.ok(page.url().endsWith(otherHref.replace(/^(\.\.\/)+/, '')), `a thread link opens ${otherHref}: ${page.url()}`);
  assert.equal((await page.locator('h1').textContent()).trim(), otherTitle, 'the linked message');
  assert.equal(await page.locator('nav.thread ol li').count(), threadSize, 'the other message shows the same thread');
  assert.equal((await page.locator('nav.thread [aria-current="page"] strong').textContent()).trim(), otherTitle);

  // Without JavaScript: home → Browse → By kind → E-mail → a document.
  const context = await browser.newContext({ javaScriptEnabled: false });
  const plain = await context.newPage();
  await plain.goto(`${base}/`);
  await plain.getByRole('link', { name: 'Browse', exact: true }).first().click();
  await plain.getByRole('link', { name: 'By kind' }).click();
  await plain.getByRole('link', { name: 'E-mail' }).click();
  const doc = plain.locator('ol.docs li a').first();
  const title = (await doc.textContent()).trim();
  await doc.click();
  assert.equal((await plain.locator('h1').textContent()).trim(), title);
  assert.match(plain.url(), /\/d\/[^/]+\/$/);
  await lib.screenshot(plain, out, 'document-no-js');
  // The search page says what to do without JavaScript.
  await plain.goto(`${base}/search/?q=razor`);
  assert.ok(await plain.getByRole('link', { name: 'browse the archive' }).count() === 1);
  await context.close();

  // On a phone: nothing wider than the screen, on a document page and on search results.
  const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const small = await phone.newPage();
  for (const [name, path] of [['phone-document', `/d/${expect.thread}/`], ['phone-search', '/search/?q=razor']]) {
    await small.goto(`${base}${path}`);
    if (name === 'phone-search') await small.locator('.search-result').first().waitFor();
    // Chromium zooms a phone out to show a wider page, and innerWidth grows with it: the
    // screen's 390 px is the bound.
    const [scroll, inner] = await small.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    assert.ok(scroll <= Math.min(inner, 390), `${name}: ${scroll}px wide on a 390px screen`);
    await lib.screenshot(small, out, name);
  }
  await phone.close();

  assert.deepEqual(errors, []);
}
