// Shows the harness's checks can fail: axeCheck must report serious/critical violations on a bad
// page, also one whose Content-Security-Policy forbids injected scripts (like the reader site's).
//   node run.mjs selftest.mjs about:blank OUTDIR
// Needs no server: the pages are set with page.setContent.

const BAD = `<!DOCTYPE html><html lang="en"><head><title>bad</title>CSP</head><body><main>
<h1>Bad page</h1>
<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">
<input type="text">
</main></body></html>`;

export default async function ({ browser, lib, assert }) {
  const page = await browser.newPage();
  const errors = lib.collectErrors(page);
  for (const csp of ['', `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; img-src data:">`]) {
    await page.setContent(BAD.replace('CSP', csp));
    const found = await lib.axeCheck(page);
    const ids = found.map((v) => v.split(' ')[0]).sort();
    assert.deepEqual(ids, ['image-alt', 'label'], `csp=${csp !== ''}: ${found.join('\n')}`);
    assert.match(found.join('\n'), /image-alt \(critical\): Images must have alternative text \[img\]/);
    assert.match(found.join('\n'), /label \(critical\): Form elements must have labels \[input\]/);
  }
  // Loading axe under that CSP logged nothing (it is evaluated, not added as a <script>).
  assert.deepEqual(errors, []);
  // A moderate problem (no main landmark / page-has-heading-one are moderate) is not reported.
  await page.setContent('<!DOCTYPE html><html lang="en"><head><title>t</title></head><body><p>no landmark</p></body></html>');
  assert.deepEqual(await lib.axeCheck(page), []);
  assert.ok((await lib.axeCheck(page, { impacts: ['moderate'] })).length > 0, 'moderate ones are there when asked for');
}
