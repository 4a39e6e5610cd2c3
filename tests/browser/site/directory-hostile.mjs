// Broken and hostile directories (crates/samizdat/tests/site.rs):
//   node run.mjs site/directory-hostile.mjs MIRROR_1 OUTDIR PID_1 MIRROR_3 DEAD PID_LISTS LISTS DOC_PATH LISTS_DIR
// The release vouches for four directories served as static files under LISTS: good (mirrors
// 1 and 3), entries (javascript:, ftp:, degraded and dead mirrors among junk), huge (over the
// size cap), broken (not JSON). LISTS_DIR: the folder LISTS serves (the test rewrites a list).
import { writeFile, utimes } from 'node:fs/promises';
import { join } from 'node:path';

export default async function ({ browser, base, args, out, lib, assert }) {
  const [pid1, mirror3, dead, pidLists, lists, docPath, listsDir] = args;
  assert.ok(pid1 && mirror3 && dead && pidLists && lists && docPath && listsDir,
    'args: PID_1 MIRROR_3 DEAD PID_LISTS LISTS DOC_PATH LISTS_DIR');
  const mirror1 = `${base}/`;
  const page = await browser.newPage();
  const errors = lib.collectErrors(page);
  const dialogs = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    d.dismiss().catch(() => {});
  });

  // The mirrors page: one heading per directory, a table for those that answered soundly.
  await page.goto(`${base}/mirrors/`);
  await page.waitForFunction(() => document.querySelectorAll('#live-mirrors h3').length === 4, null, { timeout: 15000 });
  const shown = await page.evaluate(() => [...document.querySelectorAll('#live-mirrors h3')].map((h) => {
    const next = h.nextElementSibling;
    const rows = next && next.tagName === 'UL'
      ? [...next.children].map((li) => [li.querySelector('a').textContent, li.textContent])
      : null;
    return { heading: h.textContent, rows, said: next && next.tagName === 'P' ? next.textContent : null };
  }));
  const of = (name) => {
    const found = shown.find((s) => s.heading.endsWith(`${lists}${name}/`));
    assert.ok(found, `directory ${name} on the page: ${JSON.stringify(shown)}`);
    return found;
  };
  assert.deepEqual(of('good').rows, [
    [mirror1, `${mirror1} — active, DE, One`],
    [mirror3, `${mirror3} — active, IS, Three`],
  ]);
  assert.deepEqual(of('entries').rows, [
    ['http://127.0.0.179:1/', 'http://127.0.0.179:1/ — degraded, <img src=x onerror=alert(1)>'],
    [dead, `${dead} — active, NL`],
  ], 'only http(s) entries, as text');
  assert.match(of('huge').said || '', /did not answer: .*more than 262144 bytes/);
  assert.match(of('broken').said || '', /did not answer: .*JSON/);
  assert.equal(await page.locator('#live-mirrors img, a[href^="javascript:"], a[href^="ftp:"]').count(), 0);
  assert.deepEqual(await lib.axeCheck(page), [], 'axe on the mirrors page');
  await lib.screenshot(page, out, 'mirrors-page-hostile');

  // The worker holds the active http(s) mirrors the sound lists name, and nothing else.
  await page.evaluate(() => navigator.serviceWorker.ready);
  if (!(await page.evaluate(() => navigator.serviceWorker.controller !== null))) await page.reload();
  assert.ok(await page.evaluate(() => navigator.serviceWorker.controller !== null), 'the worker controls the page');
  const live = () => page.evaluate(async () => {
    const cache = await caches.open('samizdat-mirrors-v1');
    const kept = await cache.match(new URL('samizdat-live-mirrors.json', location.origin + '/').href);
    return kept ? kept.json() : null;
  });
  const held = await live();
  assert.deepEqual([...held.mirrors].sort(), [mirror1, mirror3, dead].sort(), JSON.stringify(held));

  // Ages the kept list (so that a refresh is due), runs `action`, and waits (at most 15 s) for
  // the worker's next refresh; returns the list it then holds.
  const refreshed = async (action) => {
    await page.evaluate(async () => {
      const cache = await caches.open('samizdat-mirrors-v1');
      const key = new URL('samizdat-live-mirrors.json', location.origin + '/').href;
      const kept = await (await cache.match(key)).json();
      await cache.put(key, new Response(JSON.stringify({ ...kept, checked: 0 })));
    });
    await action();
    const deadline = Date.now() + 15000;
    for (;;) {
      const now = await live();
      if (now && now.checked > 0) return [...now.mirrors].sort();
      assert.ok(Date.now() < deadline, `no refresh within 15 s: ${JSON.stringify(now)}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  // Mirror 1 dies and the good directory's list changes: the worker, failing over, learns it
  // (which directories: as mirror 1 last named them).
  await lib.killServer(Number(pid1), mirror1);
  const fresh = 'http://127.0.0.183:1/';
  const good = join(listsDir, 'good', 'mirrors.json');
  await writeFile(good, JSON.stringify({ mirrors: [{ url: mirror3, state: 'active' }, { url: fresh, state: 'active' }] }));
  const later = new Date(Date.now() + 60000);
  await utimes(good, later, later); // a new Last-Modified, whatever the clock's resolution
  let response;
  const during = await refreshed(async () => {
    response = await page.goto(`${base}/browse/`);
  });
  assert.equal(response.status(), 200, `browse/ through the worker: ${(await response.text()).slice(0, 200)}`);
  assert.deepEqual(during, [mirror3, fresh, dead].sort(), 'the list refreshed while mirror 1 is down');

  // Every directory stops answering too: a refresh keeps the list, and reading goes on.
  await lib.killServer(Number(pidLists), lists);
  const kept = await refreshed(async () => {
    response = await page.goto(`${base}/${docPath}`);
  });
  assert.deepEqual(kept, during, 'the list survives its directories');
  assert.equal(response.status(), 200, `the document page through the worker: ${(await response.text()).slice(0, 200)}`);
  const expected = await (await fetch(`${mirror3}${docPath}`)).text();
  const h1 = expected.match(/<h1[^>]*>([\s\S]*?)<\/h1>/);
  assert.ok(h1, 'mirror 3 serves the document page');
  assert.equal((await page.locator('h1').first().innerHTML()).trim(), h1[1].trim());
  assert.deepEqual(dialogs, [], 'no script from a directory ran');
  assert.deepEqual(errors.filter((e) => !/Failed to load resource/.test(e)), [], 'errors in the page');
}
