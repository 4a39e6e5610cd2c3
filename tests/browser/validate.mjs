#!/usr/bin/env node
// Validates the HTML of a generated site with html-validate:
//   node validate.mjs DIR [--max N] [--config FILE]
// Every *.html file under DIR, or, with --max N, a deterministic sample of at most N of them
// (see sample()). Config: .htmlvalidate.json beside this script (its "$comment" entries are
// explanations for people and are removed before html-validate sees it), used as the only config:
// no .htmlvalidate.json found in DIR or above it is read.
// Prints "FILE:LINE:COL: error RULE: message" per problem, then a summary line; exit 1 on errors.

import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { HtmlValidate, StaticConfigLoader } from 'html-validate';

function usage(msg) {
  if (msg) console.error(`validate.mjs: ${msg}`);
  console.error('usage: node validate.mjs DIR [--max N] [--config FILE]');
  process.exit(2);
}

const argv = process.argv.slice(2);
let dir;
let max = Infinity;
let configPath = join(dirname(fileURLToPath(import.meta.url)), '.htmlvalidate.json');
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--max') {
    max = Number(argv[++i]);
    if (!Number.isInteger(max) || max < 1) usage('--max needs a positive integer');
  } else if (argv[i] === '--config') {
    configPath = argv[++i];
    if (!configPath) usage('--config needs a file');
  } else if (argv[i].startsWith('-')) {
    usage(`unknown option ${argv[i]}`);
  } else if (!dir) {
    dir = argv[i];
  } else {
    usage('one DIR only');
  }
}
if (!dir) usage();
dir = resolve(dir);

/** Removes every "$comment" key (at any depth): notes for people, not html-validate options. */
function stripComments(v) {
  if (Array.isArray(v)) return v.map(stripComments);
  if (v && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).filter(([k]) => k !== '$comment').map(([k, x]) => [k, stripComments(x)]));
  }
  return v;
}

async function htmlFiles(root) {
  const found = [];
  async function walk(d) {
    for (const e of await readdir(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) await walk(p);
      else if (e.isFile() && e.name.endsWith('.html')) found.push(p);
    }
  }
  await walk(root);
  return found.sort();
}

/**
 * At most `n` of `files` (sorted), spread over the folders: the folders share `n` as evenly as
 * they can (a folder with fewer files than its share gives the rest to the others), and within a
 * folder the files taken are evenly spaced, first file included. Same input, same sample, so a
 * failure reproduces; the few browse pages at the top are never crowded out by 100,000 documents.
 */
function sample(files, n) {
  if (files.length <= n) return files;
  const groups = new Map();
  for (const f of files) {
    const d = dirname(f);
    if (!groups.has(d)) groups.set(d, []);
    groups.get(d).push(f);
  }
  const dirs = [...groups.keys()].sort();
  const quota = new Map(dirs.map((d) => [d, 0]));
  let left = n;
  let open = dirs.filter((d) => groups.get(d).length > 0);
  while (left > 0 && open.length > 0) {
    const share = Math.max(1, Math.floor(left / open.length));
    for (const d of open) {
      if (left === 0) break;
      const take = Math.min(share, groups.get(d).length - quota.get(d), left);
      quota.set(d, quota.get(d) + take);
      left -= take;
    }
    open = open.filter((d) => quota.get(d) < groups.get(d).length);
  }
  const picked = [];
  for (const d of dirs) {
    const g = groups.get(d);
    const q = quota.get(d);
    for (let i = 0; i < q; i++) picked.push(g[Math.floor((i * g.length) / q)]);
  }
  return picked.sort();
}

/** A path relative to the working folder when it is below it, else absolute. */
function shown(p) {
  const r = relative(process.cwd(), p);
  return r.startsWith('..') ? p : r;
}

const config = stripComments(JSON.parse(await readFile(configPath, 'utf8')));
const htmlvalidate = new HtmlValidate(new StaticConfigLoader(config));
const all = await htmlFiles(dir);
if (all.length === 0) {
  console.error(`validate.mjs: no *.html file under ${dir}`);
  process.exit(1);
}
const files = sample(all, max);
let errors = 0;
let warnings = 0;
for (const file of files) {
  const report = await htmlvalidate.validateFile(file);
  for (const result of report.results) {
    for (const m of result.messages) {
      const level = m.severity === 2 ? 'error' : 'warning';
      if (m.severity === 2) errors++;
      else warnings++;
      console.log(`${shown(result.filePath)}:${m.line}:${m.column}: ${level} ${m.ruleId}: ${m.message}`);
    }
  }
}
const of = files.length < all.length ? ` (a sample of ${all.length})` : '';
console.log(`html-validate: ${files.length} files${of}, ${errors} errors, ${warnings} warnings`);
process.exit(errors > 0 ? 1 : 0);
