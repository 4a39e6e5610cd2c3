// Only the site's own scripts run (crates/samizdat/tests/site.rs):
//   node run.mjs site/own-scripts.mjs MIRROR OUTDIR ORIGINAL_JS OWN_SCRIPT
// MIRROR is a plain web root that serves an archived original.js as JavaScript (as a web server
// guesses types by extension). A page under the service worker adds script elements, as a
// lying mirror's page could: the site's own hashed asset loads, the archived original does not
// run, whatever type the server gave it.
export default async function ({ browser, base, args, out, lib, assert }) {
  const [original, own] = args;
  const page = await browser.newPage();
  await page.goto(`${base}/`);
  await page.evaluate(() => navigator.serviceWorker.ready);
  await page.reload();
  assert.ok(await page.evaluate(() => navigator.serviceWorker.controller !== null), 'the worker controls the page');
  const load = (src, type) => page.evaluate(([src, type]) => new Promise((resolve) => {
    const script = document.createElement('script');
    if (type) script.type = type;
    script.src = src;
    script.onload = () => resolve('ran');
    script.onerror = () => resolve('refused');
    document.head.appendChild(script);
  }), [src, type]);
  // Served as JavaScript by this web root: it would run but for the worker.
  const direct = await page.evaluate(async (src) => (await fetch(src)).headers.get('content-type'), `${base}/${original}`);
  assert.match(direct || '', /javascript/, `the web root serves ${original} as a script`);
  assert.equal(await load(`${base}/${own}`, 'module'), 'ran', `the site's own ${own} runs`);
  assert.equal(await load(`${base}/${original}`), 'refused', `${original} is refused`);
  assert.equal(await page.evaluate(() => window.pwned), undefined, 'the archived script did not run');
  await lib.screenshot(page, out, 'own-scripts');
}
