// The query engine of samizdat's static search index: no DOM, so it runs in browsers and in node.
// It mirrors the Rust builder (crates/search/src): the tokeniser, the varint and Rice-coded set
// encodings, the file layout. Every file it fetches is content-hashed: fetched once, cached here
// for the page's life and by HTTP caches forever.
//
//   import { search } from "./search-engine.js";
//   const r = await search(rootUrl, 'kernel "page cache" -swap', { page: 1, sort: "relevance" }, fetch);

export const MAX_TOKEN_CHARS = 40;
const TOKEN = /[\p{Alphabetic}\p{N}]+/gu;
const K1 = 1.2;
const HASH_BYTES = 6;
/// A document outside a term's top list scores this share of the list's lowest score.
const UNKNOWN_SHARE = 0.6;
/// Facets with value sets; "year" comes from the root's month table.
export const FACETS = ["kind", "origin", "tag", "sender"];

const decoder = new TextDecoder();
const encoder = new TextEncoder();

function tooLong(token) {
  if (token.length <= MAX_TOKEN_CHARS) return false;
  let chars = 0;
  for (const _ of token) if (++chars > MAX_TOKEN_CHARS) return true;
  return false;
}

/// Tokens of `text`, as the builder makes them: Unicode alphanumeric runs, lowercased, long ones dropped.
export function tokenize(text) {
  const out = [];
  for (const m of text.matchAll(TOKEN)) {
    const token = m[0].toLowerCase();
    if (!tooLong(token)) out.push(token);
  }
  return out;
}

/// Tokens of `text` with their character offsets in it.
export function tokenSpans(text) {
  const out = [];
  for (const m of text.matchAll(TOKEN)) {
    const token = m[0].toLowerCase();
    if (!tooLong(token)) out.push({ token, start: m.index, end: m.index + m[0].length });
  }
  return out;
}

/// Parses a query: words (AND), "quoted phrases", -word and -"phrase" exclusions. A word that
/// tokenises to several tokens ("e-mail") is a phrase. Returns { must, not }: lists of token lists.
export function parseQuery(query) {
  const must = [];
  const not = [];
  for (const m of String(query).matchAll(/(-?)"([^"]*)"?|(\S+)/g)) {
    let negative = false;
    let text;
    if (m[2] !== undefined) {
      negative = m[1] === "-";
      text = m[2];
    } else {
      text = m[3];
      if (text.length > 1 && text[0] === "-") {
        negative = true;
        text = text.slice(1);
      }
    }
    const tokens = tokenize(text);
    if (tokens.length) (negative ? not : must).push(tokens);
  }
  return { must, not };
}

/// Whether `tokens` holds `phrase` as consecutive tokens.
export function hasPhrase(tokens, phrase) {
  outer: for (let i = 0; i + phrase.length <= tokens.length; i++) {
    for (let j = 0; j < phrase.length; j++) if (tokens[i + j] !== phrase[j]) continue outer;
    return true;
  }
  return false;
}

/// An excerpt of `text` around the densest run of `terms`: [{ text, mark }] segments, marked
/// where a query word is, with "…" where the text was cut.
export function excerpt(text, terms, words = 32) {
  const spans = tokenSpans(text);
  const wanted = new Set(terms);
  if (!spans.length) return [{ text: text.slice(0, 240), mark: false }];
  let best = 0;
  let bestScore = -1;
  for (let i = 0; i < spans.length; i++) {
    if (!wanted.has(spans[i].token)) continue;
    const seen = new Set();
    let hits = 0;
    for (let j = i; j < Math.min(spans.length, i + words); j++) {
      if (wanted.has(spans[j].token)) {
        hits++;
        seen.add(spans[j].token);
      }
    }
    const score = seen.size * 1000 + hits;
    if (score > bestScore) {
      bestScore = score;
      best = i;
    }
  }
  const start = Math.max(0, best - (bestScore < 0 ? 0 : 4));
  const end = Math.min(spans.length, start + words);
  const from = spans[start].start;
  const to = spans[end - 1].end;
  const out = [];
  if (from > 0) out.push({ text: "…", mark: false });
  let at = from;
  for (let i = start; i < end; i++) {
    const s = spans[i];
    if (!wanted.has(s.token)) continue;
    if (s.start > at) out.push({ text: text.slice(at, s.start), mark: false });
    out.push({ text: text.slice(s.start, s.end), mark: true });
    at = s.end;
  }
  if (to > at) out.push({ text: text.slice(at, to), mark: false });
  if (to < text.length) out.push({ text: "…", mark: false });
  for (const part of out) if (!part.mark) part.text = part.text.replace(/\s+/g, " ");
  return out;
}

// --- bytes -------------------------------------------------------------------------------------

function hex(bytes) {
  let s = "";
  for (const b of bytes) s += b.toString(16).padStart(2, "0");
  return s;
}

function compareBytes(a, b) {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

class Reader {
  constructor(bytes, pos = 0) {
    this.b = bytes;
    this.pos = pos;
  }
  byte() {
    if (this.pos >= this.b.length) throw new Error("index file ends early");
    return this.b[this.pos++];
  }
  varint() {
    let value = 0;
    let scale = 1;
    for (;;) {
      const byte = this.byte();
      value += (byte & 0x7f) * scale;
      if (byte < 0x80) return value;
      scale *= 128;
    }
  }
  zigzag() {
    const v = this.varint();
    return v % 2 ? -(v + 1) / 2 : v / 2;
  }
  take(n) {
    if (this.pos + n > this.b.length) throw new Error("index file ends early");
    const out = this.b.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  hash() {
    return hex(this.take(HASH_BYTES));
  }
  /// The next key of a front-coded list (the root's shard keys, a shard's terms): how many
  /// bytes it shares with `previous`, then the bytes that follow.
  frontCoded(previous) {
    const shared = this.varint();
    const suffix = this.take(this.varint());
    const next = new Uint8Array(shared + suffix.length);
    next.set(previous.subarray(0, shared));
    next.set(suffix, shared);
    return next;
  }
  /// A set of document numbers: Rice-coded gaps of its members or of its complement in 1..=n.
  set(n) {
    const count = this.varint();
    const header = this.byte();
    const k = header & 0x3f;
    const scale = 2 ** k;
    const b = this.b;
    const out = new Uint32Array(count);
    let bit = this.pos * 8;
    const end = b.length * 8;
    let previous = 0;
    for (let i = 0; i < count; i++) {
      let q = 0;
      while (bit < end && (b[bit >> 3] >> (bit & 7)) & 1) {
        q++;
        bit++;
      }
      bit++;
      let low = 0;
      for (let j = 0; j < k; j++, bit++) if ((b[bit >> 3] >> (bit & 7)) & 1) low += 2 ** j;
      if (bit > end) throw new Error("index set ends early");
      previous += q * scale + low + 1;
      out[i] = previous;
    }
    this.pos = (bit + 7) >> 3;
    return header & 0x80 ? complement(out, n) : out;
  }
}

// --- sets (sorted Uint32Array) -------------------------------------------------------------------

function complement(set, n) {
  const out = new Uint32Array(n - set.length);
  let j = 0;
  let o = 0;
  for (let x = 1; x <= n; x++) {
    if (j < set.length && set[j] === x) j++;
    else out[o++] = x;
  }
  return out;
}

function lowerBound(set, x, lo = 0) {
  let hi = set.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (set[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export function intersect(a, b) {
  if (a.length > b.length) [a, b] = [b, a];
  const out = new Uint32Array(a.length);
  let o = 0;
  if (a.length * 16 < b.length) {
    let lo = 0;
    for (const x of a) {
      lo = lowerBound(b, x, lo);
      if (lo < b.length && b[lo] === x) out[o++] = x;
    }
  } else {
    let j = 0;
    for (const x of a) {
      while (j < b.length && b[j] < x) j++;
      if (j < b.length && b[j] === x) out[o++] = x;
    }
  }
  return out.slice(0, o);
}

export function subtract(a, b) {
  const out = new Uint32Array(a.length);
  let o = 0;
  let j = 0;
  for (const x of a) {
    while (j < b.length && b[j] < x) j++;
    if (!(j < b.length && b[j] === x)) out[o++] = x;
  }
  return out.slice(0, o);
}

function union(sets) {
  if (sets.length === 1) return sets[0];
  let total = 0;
  for (const s of sets) total += s.length;
  const all = new Uint32Array(total);
  let o = 0;
  for (const s of sets) {
    all.set(s, o);
    o += s.length;
  }
  all.sort();
  let w = 0;
  for (let i = 0; i < all.length; i++) if (i === 0 || all[i] !== all[i - 1]) all[w++] = all[i];
  return all.slice(0, w);
}

function span(lo, hi) {
  const out = new Uint32Array(Math.max(0, hi - lo + 1));
  for (let i = 0; i < out.length; i++) out[i] = lo + i;
  return out;
}

function clip(set, lo, hi) {
  return set.subarray(lowerBound(set, lo), lowerBound(set, hi + 1));
}

// --- the engine ----------------------------------------------------------------------------------

function parseRoot(bytes) {
  if (decoder.decode(bytes.subarray(0, 4)) !== "SZS1") throw new Error("not a search index root");
  const r = new Reader(bytes, 4);
  const n = r.varint();
  const dated = r.varint();
  const months = [];
  let month = 0;
  let first = 1;
  for (let i = r.varint(); i > 0; i--) {
    month += r.zigzag();
    const count = r.varint();
    months.push({ year: Math.floor(month / 12), month: (((month % 12) + 12) % 12) + 1, index: month, first, last: first + count - 1 });
    first += count;
  }
  const cardBlock = r.varint();
  const cardPage = r.varint();
  const pages = [];
  for (let i = r.varint(); i > 0; i--) pages.push(r.hash());
  const shards = [];
  let key = new Uint8Array(0);
  for (let i = r.varint(); i > 0; i--) {
    key = r.frontCoded(key);
    shards.push({ key, hash: r.hash() });
  }
  const facets = r.hash();
  // The commonest terms: their dictionary entries, so that their shards need not be fetched.
  const hot = new Map();
  for (let i = r.varint(); i > 0; i--) {
    const term = decoder.decode(r.take(r.varint()));
    hot.set(term, { df: r.varint(), file: r.hash() });
  }
  const years = [];
  for (const m of months) {
    const y = years[years.length - 1];
    if (y && y.year === m.year) y.last = m.last;
    else years.push({ year: m.year, first: m.first, last: m.last });
  }
  return { n, dated, months, years, cardBlock, cardPage, pages, shards, facets, hot };
}

function parseShard(bytes) {
  const r = new Reader(bytes);
  const terms = new Map();
  let term = new Uint8Array(0);
  for (let i = r.varint(); i > 0; i--) {
    term = r.frontCoded(term);
    const df = r.varint();
    const entry = { df };
    if (r.byte() === 0) entry.inline = r.take(r.varint());
    else entry.file = r.hash();
    terms.set(decoder.decode(term), entry);
  }
  return terms;
}

/// The scored list: a set of documents, then one score byte each.
function parseScored(r, n) {
  const docs = r.set(n);
  const scores = r.take(docs.length);
  let min = 255;
  for (const s of scores) if (s < min) min = s;
  return { docs, scores, min };
}

/// Month or date ("2001", "2001-02", "2001-02-03") to a month index, or null.
function monthIndex(text, end) {
  const m = /^(\d{1,4})(?:-(\d{1,2}))?/.exec(String(text || "").trim());
  if (!m) return null;
  const month = m[2] ? Math.min(12, Math.max(1, +m[2])) : end ? 12 : 1;
  return +m[1] * 12 + month - 1;
}

export class Engine {
  /// `rootUrl`: absolute URL of the root file; `fetchFn`: fetch or any function returning
  /// { ok, status, arrayBuffer() }; `siteUrl`: the site root (default: the root's parent folder's parent).
  constructor(rootUrl, fetchFn = globalThis.fetch.bind(globalThis), siteUrl = new URL("../", rootUrl).href) {
    this.rootUrl = rootUrl;
    this.siteUrl = siteUrl;
    this.fetchFn = fetchFn;
    this.cache = new Map();
    this.parsed = new Map();
    this.bytesFetched = 0;
    this.filesFetched = 0;
  }

  /// The bytes of `path` (relative to the root file), fetched once.
  bytes(path) {
    const url = new URL(path, this.rootUrl).href;
    let p = this.cache.get(url);
    if (!p) {
      p = (async () => {
        const res = await this.fetchFn(url);
        if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
        const bytes = new Uint8Array(await res.arrayBuffer());
        this.bytesFetched += bytes.length;
        this.filesFetched++;
        return bytes;
      })();
      p.catch(() => this.cache.delete(url));
      this.cache.set(url, p);
    }
    return p;
  }

  /// `parse(bytes)` of `path`, parsed once.
  async parsedFile(path, parse) {
    let p = this.parsed.get(path);
    if (!p) {
      p = this.bytes(path).then(parse);
      p.catch(() => this.parsed.delete(path));
      this.parsed.set(path, p);
    }
    return p;
  }

  root() {
    return this.parsedFile(this.rootUrl, parseRoot);
  }

  /// A term's dictionary entry with its scored list, or null when no document has it.
  async term(token) {
    const root = await this.root();
    const entry = root.hot.get(token) || (await this.dictionaryEntry(root, token));
    if (!entry) return null;
    if (!entry.scored) {
      if (entry.inline) {
        entry.scored = parseScored(new Reader(entry.inline), root.n);
      } else {
        const file = await this.bytes(`t/${entry.file}.bin`);
        const r = new Reader(file);
        if (r.byte() === 1) entry.posting = r.hash();
        entry.scored = parseScored(r, root.n);
      }
    }
    return { token, ...entry };
  }

  /// A term's entry in its dictionary shard, or undefined.
  async dictionaryEntry(root, token) {
    const key = encoder.encode(token);
    let lo = 0;
    let hi = root.shards.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (compareBytes(root.shards[mid].key, key) <= 0) lo = mid;
      else hi = mid - 1;
    }
    const shard = await this.parsedFile(`s/${root.shards[lo].hash}.bin`, parseShard);
    return shard.get(token);
  }

  /// Every document holding the term.
  async termSet(info) {
    if (!info.posting) return info.scored.docs;
    const root = await this.root();
    return this.parsedFile(`p/${info.posting}.bin`, (b) => new Reader(b).set(root.n));
  }

  /// The facets file: { kind: [[value, count, hash]], origin, tag, sender, omitted }.
  async facets() {
    const root = await this.root();
    return this.parsedFile(`f.${root.facets}.json`, (b) => JSON.parse(decoder.decode(b)));
  }

  async facetSet(facet, value) {
    const root = await this.root();
    if (facet === "year") {
      const y = root.years.find((y) => String(y.year) === String(value));
      return y ? span(y.first, y.last) : new Uint32Array(0);
    }
    const facets = await this.facets();
    const found = (facets[facet] || []).find((v) => v[0] === value);
    if (!found) return new Uint32Array(0);
    return this.parsedFile(`v/${found[2]}.bin`, (b) => new Reader(b).set(root.n));
  }

  /// Cards { number, id, title, date, kind, sender, origin, url } of document numbers.
  async cards(numbers) {
    return Promise.all(await this.cardsAsTheyCome(numbers));
  }

  /// The cards of `numbers`, each a promise: each settles as soon as its own files are here.
  async cardsAsTheyCome(numbers) {
    const root = await this.root();
    return numbers.map(async (number) => {
        const block = Math.floor((number - 1) / root.cardBlock);
        const page = await this.bytes(`h/${root.pages[Math.floor(block / root.cardPage)]}.bin`);
        const at = (block % root.cardPage) * HASH_BYTES;
        const hash = hex(page.subarray(at, at + HASH_BYTES));
        const cards = await this.parsedFile(`c/${hash}.json`, (b) => JSON.parse(decoder.decode(b)));
        const [id, title, date, kind, sender, origin] = cards[(number - 1) % root.cardBlock];
        const url = new URL(`d/${encodeURIComponent(id)}/`, this.siteUrl).href;
        return { number, id, title, date, kind, sender, origin, url };
    });
  }

  /// The indexed text of a document (title + text), from its `d/<id>/doc.json`.
  async documentText(card) {
    const url = new URL(`d/${encodeURIComponent(card.id)}/doc.json`, this.siteUrl).href;
    let p = this.cache.get(url);
    if (!p) {
      p = (async () => {
        const res = await this.fetchFn(url);
        if (!res.ok) throw new Error(`${url}: HTTP ${res.status}`);
        const json = JSON.parse(decoder.decode(new Uint8Array(await res.arrayBuffer())));
        return `${card.title}\n${json.text || ""}`;
      })();
      p.catch(() => this.cache.delete(url));
      this.cache.set(url, p);
    }
    return p;
  }

  /// Runs a query. options: page (1-based), perPage (10), sort ("relevance" | "newest" |
  /// "oldest"), from / to ("YYYY" or "YYYY-MM": month precision), filters ({ kind: [values],
  /// origin, tag, sender, year }: values of one facet are OR-ed, facets AND-ed), counts (facets
  /// whose counts to compute, e.g. ["year", "kind"]: each value's count among the results if it
  /// were chosen, the other facets' filters applied), early (called with the result so far: its
  /// first card only and `partial: true`, when that card is here before the others; or the
  /// whole page and `complete: true` with an estimated total, when the page could be known
  /// before the full sets the count needs, see `pageFromTopList`). Returns
  /// { total, exact, page, pages,
  /// results: [card + score], terms (to highlight), counts: { facet: [[value, count]] } }.
  async search(query, options = {}) {
    const root = await this.root();
    const n = root.n;
    const perPage = options.perPage || 10;
    const page = Math.max(1, Math.floor(options.page || 1));
    const parsed = parseQuery(query);
    const tokens = [...new Set(parsed.must.flat())];
    let sort = options.sort || "relevance";
    if (!tokens.length && sort === "relevance") sort = "newest";
    const phrases = parsed.must.filter((p) => p.length > 1);
    const notPhrases = parsed.not.filter((p) => p.length > 1);
    const notWords = parsed.not.filter((p) => p.length === 1).map((p) => p[0]);
    const filters = options.filters || {};
    const chosen = Object.keys(filters).filter((f) => (filters[f] || []).length);
    const counts = options.counts || [];

    let lo = 1;
    let hi = n;
    const from = monthIndex(options.from, false);
    const to = monthIndex(options.to, true);
    if (from !== null) lo = root.months.find((m) => m.index >= from)?.first ?? root.dated + 1;
    if (to !== null) hi = [...root.months].reverse().find((m) => m.index <= to)?.last ?? 0;
    if (from !== null || to !== null) hi = Math.min(hi, root.dated);
    const ranged = lo > 1 || hi < n;

    const infos = await Promise.all(tokens.map((t) => this.term(t)));
    const empty = { total: 0, exact: true, page, pages: 0, results: [], terms: tokens, counts: {} };
    if (infos.some((i) => !i)) return empty;
    infos.sort((a, b) => a.df - b.df);

    // One word, first pages by relevance, nothing to filter: its top list is enough.
    const quick =
      infos.length === 1 && sort === "relevance" && !ranged && !chosen.length && !parsed.not.length &&
      !counts.length && page * perPage <= infos[0].scored.docs.length;
    let base;
    let candidates;
    let total;
    let facetSets = {};
    if (quick) {
      candidates = infos[0].scored.docs;
      total = infos[0].df;
    } else {
      // The filters' sets, fetched alongside the words' (or before, when the page may come
      // from a top list: then the word's full set waits until the page is on show).
      const sets = {};
      const setsHere = Promise.all(
        chosen.map(async (f) => {
          sets[f] = union(await Promise.all(filters[f].map((v) => this.facetSet(f, v))));
        }),
      );
      setsHere.catch(() => {}); // (awaited below: its failure is the search's)
      const topListFirst = options.early && this.mayPageFromTopList(infos, parsed, sort);
      if (topListFirst) await setsHere;
      const fromTop = topListFirst && this.pageFromTopList(root, infos, lo, hi, sets, chosen, page, perPage);
      if (fromTop) {
        // The page on show before the word's full set is fetched: only the count needs it.
        const coming = await this.cardsAsTheyCome([...fromTop.ranked.slice((page - 1) * perPage, page * perPage)]);
        const so = { total: fromTop.estimate, exact: false, page, pages: Math.ceil(fromTop.estimate / perPage), terms: tokens, counts: {} };
        this.paintFirst(coming, so, infos, n, options.early);
        const cards = await Promise.all(coming);
        for (const card of cards) card.score = this.scoreOf(card.number, infos, n);
        options.early({ ...so, results: cards, complete: true });
      }
      // AND, rarest first, within the date range; then NOT.
      if (infos.length) {
        // The rarest first: when its documents (already here unless it has a posting file)
        // leave nothing, no other set is fetched; else every set is fetched at once.
        const first = infos[0].posting ? null : clip(infos[0].scored.docs, lo, hi);
        base = first;
        if (!first || first.length) {
          const termSets = await Promise.all(infos.map((info, i) => (i === 0 && first ? first : this.termSet(info))));
          base = clip(termSets[0], lo, hi);
          for (const set of termSets.slice(1)) base = intersect(base, set);
        }
      } else {
        base = span(lo, hi);
      }
      const excluded = (await Promise.all(notWords.map((t) => this.term(t)))).filter(Boolean);
      for (const info of excluded) base = subtract(base, await this.termSet(info));
      await setsHere;
      candidates = base;
      for (const f of [...chosen].sort((a, b) => sets[a].length - sets[b].length)) {
        candidates = intersect(candidates, sets[f]);
      }
      total = candidates.length;
      facetSets = sets;
    }

    const ranked = this.rank(candidates, infos, sort, root, n);
    let exact = true;
    let shown;
    if (phrases.length || notPhrases.length) {
      // Phrases are checked on the documents' text, in rank order, as far as this page needs.
      // A few candidates are all checked, for an exact count; else the count is estimated.
      const want = ranked.length <= 3 * perPage ? ranked.length : page * perPage;
      const limit = Math.min(ranked.length, page * perPage * 4 + 20);
      const matches = [];
      let checked = 0;
      while (matches.length < want && checked < limit) {
        const batch = ranked.slice(checked, Math.min(limit, checked + perPage));
        checked += batch.length;
        const cards = await this.cards([...batch]);
        const texts = await Promise.all(cards.map((c) => this.documentText(c).catch(() => "")));
        cards.forEach((card, i) => {
          const words = tokenize(texts[i]);
          if (phrases.every((p) => hasPhrase(words, p)) && !notPhrases.some((p) => hasPhrase(words, p))) {
            matches.push(card);
          }
        });
      }
      if (checked < ranked.length) {
        exact = false;
        total = Math.round((matches.length / Math.max(1, checked)) * total);
      } else {
        total = matches.length;
      }
      shown = matches.slice((page - 1) * perPage, page * perPage);
      if (!exact && shown.length < perPage) total = (page - 1) * perPage + shown.length;
    } else {
      const coming = await this.cardsAsTheyCome([...ranked.slice((page - 1) * perPage, page * perPage)]);
      const so = { total, exact, page, pages: Math.ceil(total / perPage), terms: tokens, counts: {} };
      this.paintFirst(coming, so, infos, n, options.early);
      shown = await Promise.all(coming);
    }
    for (const card of shown) card.score = this.scoreOf(card.number, infos, n);

    let pages = Math.ceil(total / perPage);
    if (!exact) pages = Math.max(pages, page + (shown.length === perPage ? 1 : 0));
    const result = { total, exact, page, pages, results: shown, terms: tokens, counts: {} };
    if (counts.length) result.counts = await this.counts(counts, base, facetSets, chosen, root);
    return result;
  }

  /// The first result shown as soon as its card is here (`early`, with `so`: the result so
  /// far), the rest after.
  paintFirst(coming, so, infos, n, early) {
    if (!early || !coming.length) return;
    coming[0]
      .then((card) => {
        card.score = this.scoreOf(card.number, infos, n);
        early({ ...so, results: [card], partial: true });
      })
      .catch(() => {});
  }

  /// Whether a page of this query may come from its word's top list (see `pageFromTopList`):
  /// one word by relevance, no exclusion, no phrase, and a full set in a file of its own.
  mayPageFromTopList(infos, parsed, sort) {
    if (infos.length !== 1 || !infos[0].posting || sort !== "relevance") return false;
    return !parsed.not.length && !parsed.must.some((p) => p.length > 1);
  }

  /// One word (`mayPageFromTopList`), filtered or within dates: if the documents of its top list
  /// that pass the filters fill page `page`, that page is exact (a document outside the list
  /// scores at most the list's lowest, and ties keep number order either way). Returns
  /// { ranked, estimate } (the total estimated from the list's share that passes), or null.
  pageFromTopList(root, infos, lo, hi, sets, chosen, page, perPage) {
    const top = infos[0].scored.docs;
    let passing = clip(top, lo, hi);
    for (const f of chosen) passing = intersect(passing, sets[f]);
    if (passing.length < page * perPage) return null;
    const estimate = Math.max(passing.length, Math.round((passing.length / top.length) * infos[0].df));
    return { ranked: this.rank(passing, infos, "relevance", root, root.n), estimate };
  }

  /// Counts per value of each facet in `wanted`, over `base` and every chosen filter but the facet's own.
  async counts(wanted, base, sets, chosen, root) {
    const out = {};
    const member = new Uint8Array(root.n + 2);
    for (const facet of wanted) {
      let docs = base;
      for (const f of chosen) if (f !== facet) docs = intersect(docs, sets[f]);
      if (facet === "year") {
        out.year = root.years.map((y) => [String(y.year), clip(docs, y.first, y.last).length]);
        continue;
      }
      const values = (await this.facets())[facet] || [];
      member.fill(0);
      for (const d of docs) member[d] = 1;
      const valueSets = await Promise.all(values.map((v) => this.facetSet(facet, v[0])));
      out[facet] = values.map((v, i) => {
        let c = 0;
        for (const d of valueSets[i]) c += member[d];
        return [v[0], c];
      });
    }
    return out;
  }

  scoreOf(number, infos, n) {
    let score = 0;
    for (const info of infos) {
      const s = info.scored;
      const i = lowerBound(s.docs, number);
      const q = i < s.docs.length && s.docs[i] === number ? s.scores[i] : info.posting ? UNKNOWN_SHARE * s.min : 0;
      score += idf(info.df, n) * q * ((K1 + 1) / 255);
    }
    return score;
  }

  /// `candidates` (sorted) in result order.
  rank(candidates, infos, sort, root, n) {
    if (sort === "oldest") return candidates;
    if (sort === "newest") {
      // Dated documents newest first, then the undated ones.
      const dated = lowerBound(candidates, root.dated + 1);
      const out = new Uint32Array(candidates.length);
      for (let i = 0; i < dated; i++) out[i] = candidates[dated - 1 - i];
      out.set(candidates.subarray(dated), dated);
      return out;
    }
    // BM25: each term adds idf × its byte score where its top list knows the document, else a
    // share of the list's lowest score; the documents no list knows all score the same and keep
    // number order, so only the known ones are sorted (ties: lower number first).
    const known = new Float64Array(candidates.length);
    const boosted = new Uint8Array(candidates.length);
    for (const info of infos) {
      const w = idf(info.df, n) * ((K1 + 1) / 255);
      const s = info.scored;
      const unknown = info.posting ? UNKNOWN_SHARE * s.min : 0;
      let j = 0;
      for (let i = 0; i < s.docs.length; i++) {
        j = lowerBound(candidates, s.docs[i], j);
        if (j < candidates.length && candidates[j] === s.docs[i]) {
          known[j] += w * (s.scores[i] - unknown);
          boosted[j] = 1;
        }
      }
    }
    const top = [];
    const rest = [];
    for (let i = 0; i < candidates.length; i++) (boosted[i] ? top : rest).push(i);
    // A known score is at least its list's lowest, above the share the others get: known first.
    top.sort((a, b) => known[b] - known[a] || a - b);
    const out = new Uint32Array(candidates.length);
    let o = 0;
    for (const i of top) out[o++] = candidates[i];
    for (const i of rest) out[o++] = candidates[i];
    return out;
  }
}

function idf(df, n) {
  return Math.log(1 + (n - df + 0.5) / (df + 0.5));
}

const engines = new Map();

/// Runs `query` against the index whose root file is at `rootUrl` (absolute); engines (and what
/// they fetched) are kept per root and fetch function.
export async function search(rootUrl, query, options = {}, fetchFn = globalThis.fetch.bind(globalThis)) {
  let byFetch = engines.get(fetchFn);
  if (!byFetch) engines.set(fetchFn, (byFetch = new Map()));
  let engine = byFetch.get(rootUrl);
  if (!engine) byFetch.set(rootUrl, (engine = new Engine(rootUrl, fetchFn, options.site)));
  return engine.search(query, options);
}
