#!/usr/bin/env node
// Runs one browser test script against a site:
//   node run.mjs SCRIPT.mjs BASEURL OUTDIR [ARGS...]
// SCRIPT exports `default async function (ctx)` with
//   ctx = { browser, base, out, args, lib, assert, record }
// browser: a launched headless Chromium (lib.launch()); base: BASEURL without a trailing slash;
// out: OUTDIR (made if missing; screenshots and metrics.json go there); args: the extra ARGS;
// lib: lib.mjs; assert: node:assert/strict; record(name, value, unit): a measurement, printed as
// "METRIC name=value unit" and written to OUTDIR/metrics.json.
// Prints "PASS SCRIPT (N ms)" or "FAIL SCRIPT: error"; exit 0 or 1. The whole run is limited to
// $BROWSER_TEST_TIMEOUT seconds (default 120). The browser is always closed.

import assert from 'node:assert/strict';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as lib from './lib.mjs';

const [script, base, out, ...args] = process.argv.slice(2);
if (!script || !base || !out) {
  console.error('usage: node run.mjs SCRIPT.mjs BASEURL OUTDIR [ARGS...]');
  process.exit(2);
}
const name = basename(script);
const limitS = Number(process.env.BROWSER_TEST_TIMEOUT || 120);
const started = performance.now();
let browser;
let code = 1;
let timer;

const metrics = {};
async function record(metric, value, unit = '') {
  metrics[metric] = { value, unit };
  console.log(`METRIC ${metric}=${value}${unit ? ' ' + unit : ''}`);
  await writeFile(join(out, 'metrics.json'), JSON.stringify(metrics, null, 2) + '\n');
}

try {
  await mkdir(out, { recursive: true });
  const mod = await import(pathToFileURL(resolve(script)).href);
  if (typeof mod.default !== 'function') throw new Error(`${script} has no default export function`);
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${limitS} s (BROWSER_TEST_TIMEOUT)`)), limitS * 1000);
  });
  const run = (async () => {
    browser = await lib.launch();
    await mod.default({ browser, base: base.replace(/\/+$/, ''), out, args, lib, assert, record });
  })();
  run.catch(() => {}); // after a timeout its own rejection does not matter
  await Promise.race([run, timeout]);
  code = 0;
  console.log(`PASS ${name} (${Math.round(performance.now() - started)} ms)`);
} catch (e) {
  console.log(`FAIL ${name} (${Math.round(performance.now() - started)} ms): ${e?.stack || e}`);
} finally {
  clearTimeout(timer);
  if (browser) {
    await Promise.race([browser.close().catch(() => {}), new Promise((r) => setTimeout(r, 10000))]);
  }
  // Whatever the script left running (servers, timers) must not keep us alive.
  process.exit(code);
}
