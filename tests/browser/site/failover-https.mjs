// Failover over HTTPS (crates/samizdat/tests/acme.rs): mirror A serves HTTPS on a certificate
// from Pebble (ACME), mirror B on its own; both under test domain names.
//   node run.mjs site/failover-https.mjs MIRROR_A OUTDIR SPKI_HASHES RESOLVER_RULES PID_A MIRROR_B
// A Chromium of its own is launched, mapping the names to loopback (RESOLVER_RULES) and taking
// the certificates whose SPKI SHA-256 (base64) is in SPKI_HASHES, then failover.mjs runs in it.
import failover from './failover.mjs';

export default async function (ctx) {
  const [spki, rules, ...rest] = ctx.args;
  ctx.assert.ok(spki && rules, 'args: SPKI_HASHES RESOLVER_RULES PID_A URL_B');
  const browser = await ctx.lib.launch({
    args: [`--ignore-certificate-errors-spki-list=${spki}`, `--host-resolver-rules=${rules}`],
  });
  try {
    const page = await browser.newPage();
    await page.goto(`${ctx.base}/`);
    ctx.assert.ok(await page.evaluate(() => window.isSecureContext), 'mirror A over HTTPS is a secure context');
    await page.close();
    await failover({ ...ctx, browser, args: rest });
  } finally {
    await browser.close();
  }
}
