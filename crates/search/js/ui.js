// The search page's UI: reads #search-ui's data-root / data-site and the query from location.search,
// renders facets, date range, sort, result count, result cards with excerpts, and pages into
// #search-ui. Every state is a URL (?q=&page=&sort=&from=&to=&kind=&origin=&tag=&sender=&year=),
// so results are linkable and the back button works. The query engine is ./search-engine.js.

import { Engine, FACETS, excerpt } from "./search-engine.js";

const PER_PAGE = 10;
const DEBOUNCE_MS = 200;
const ALL_FACETS = [...FACETS, "year"];
const LABELS = { kind: "Kind", origin: "Origin", tag: "Tag", sender: "Sender", year: "Year" };
const OPEN_KEY = "samizdat-search-open-facets";

const ui = document.getElementById("search-ui");
const form = document.getElementById("search-form");
const input = document.getElementById("q");
// How the site names facet values ({ kind: { email: "E-mail", pdf: "PDF", ... } }), given by
// the page; a value without a label is shown as it is.
const VALUE_LABELS = (() => {
  try {
    return JSON.parse(ui?.dataset.labels || "{}");
  } catch {
    return {};
  }
})();
const label = (facet, value) => VALUE_LABELS[facet]?.[value] ?? value;

/// Markup readers should not see in an excerpt of a Markdown or reStructuredText source:
/// emphasis and code marks, link targets, heading and list marks.
function plainMarkup(text) {
  return text
    .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
    .replace(/\*\*|__|`+|(^|\s)[*_]+(?=\S)|(\S)[*_]+(?=\s|$|[.,;:!?)])/g, "$1$2")
    .replace(/(^|\n)\s*#{1,6}\s+/g, "$1")
    .replace(/(^|\n)\s*[-=~^]{3,}\s*(?=\n|$)/g, "$1");
}
const MARKUP_KINDS = new Set(["markdown", "rst"]);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v === true) node.setAttribute(k, "");
    else node.setAttribute(k, v);
  }
  for (const c of children.flat()) if (c !== null && c !== undefined) node.append(c);
  return node;
}

function readState(search = location.search) {
  const p = new URLSearchParams(search);
  const filters = {};
  for (const f of ALL_FACETS) {
    const values = p.getAll(f).filter(Boolean);
    if (values.length) filters[f] = values;
  }
  return {
    q: p.get("q") || "",
    page: Math.max(1, parseInt(p.get("page") || "1", 10) || 1),
    sort: ["newest", "oldest"].includes(p.get("sort")) ? p.get("sort") : "relevance",
    from: p.get("from") || "",
    to: p.get("to") || "",
    filters,
  };
}

function queryString(state) {
  const p = new URLSearchParams();
  if (state.q) p.set("q", state.q);
  for (const f of ALL_FACETS) for (const v of state.filters[f] || []) p.append(f, v);
  if (state.from) p.set("from", state.from);
  if (state.to) p.set("to", state.to);
  if (state.sort !== "relevance") p.set("sort", state.sort);
  if (state.page > 1) p.set("page", String(state.page));
  const s = p.toString();
  return s ? `?${s}` : location.pathname.replace(/.*\//, "") || "./";
}

function openFacets() {
  try {
    return new Set(JSON.parse(sessionStorage.getItem(OPEN_KEY) || "[]"));
  } catch {
    return new Set();
  }
}

function saveOpenFacets(open) {
  try {
    sessionStorage.setItem(OPEN_KEY, JSON.stringify([...open]));
  } catch {
    // Storage may be disabled: facets then start closed on each page.
  }
}

function linkStyle() {
  const href = new URL("./search.css", import.meta.url).href;
  if ([...document.querySelectorAll("link[rel=stylesheet]")].some((l) => l.href === href)) return;
  document.head.append(el("link", { rel: "stylesheet", href }));
}

const number = new Intl.NumberFormat();

class SearchPage {
  constructor() {
    const rootUrl = new URL(ui.dataset.root, location.href).href;
    const siteUrl = new URL(ui.dataset.site || "../", location.href).href;
    this.engine = new Engine(rootUrl, globalThis.fetch.bind(globalThis), siteUrl);
    this.state = readState();
    this.open = openFacets();
    for (const f of Object.keys(this.state.filters)) this.open.add(f);
    this.sequence = 0;
    this.timer = 0;
    this.build();
  }

  build() {
    this.status = el("p", { class: "search-status", role: "status", "aria-live": "polite" });
    this.sortSelect = el(
      "select",
      { id: "search-sort", onchange: () => this.update({ sort: this.sortSelect.value, page: 1 }, true) },
      el("option", { value: "relevance" }, "Relevance"),
      el("option", { value: "newest" }, "Newest first"),
      el("option", { value: "oldest" }, "Oldest first"),
    );
    const dateChange = () => this.update({ from: this.fromInput.value, to: this.toInput.value, page: 1 }, true);
    this.fromInput = el("input", { id: "search-from", type: "month", placeholder: "YYYY-MM", pattern: "\\d{4}(-\\d{2})?", onchange: dateChange });
    this.toInput = el("input", { id: "search-to", type: "month", placeholder: "YYYY-MM", pattern: "\\d{4}(-\\d{2})?", onchange: dateChange });
    const controls = el(
      "div",
      { class: "search-controls" },
      el("label", { for: "search-sort" }, "Sort by "),
      this.sortSelect,
      el(
        "fieldset",
        { class: "search-dates" },
        el("legend", {}, "Date"),
        el("label", { for: "search-from" }, "From "),
        this.fromInput,
        el("label", { for: "search-to" }, " to "),
        this.toInput,
      ),
    );
    this.facetBox = el("div", { class: "search-facets", role: "group", "aria-label": "Refine" });
    this.details = {};
    for (const f of ALL_FACETS) {
      const list = el("ul", { class: "search-facet-values" });
      const details = el("details", { class: "search-facet", "data-facet": f }, el("summary", {}, LABELS[f]), list);
      details.open = this.open.has(f);
      details.addEventListener("toggle", () => {
        if (details.open) this.open.add(f);
        else this.open.delete(f);
        saveOpenFacets(this.open);
        if (details.open) this.run();
      });
      this.details[f] = { details, list };
      this.facetBox.append(details);
    }
    this.results = el("ol", { class: "search-results" });
    this.pages = el("nav", { class: "search-pages", "aria-label": "Result pages" });
    ui.replaceChildren(controls, this.status, el("div", { class: "search-body" }, this.facetBox, el("div", { class: "search-main" }, this.results, this.pages)));

    input.addEventListener("input", () => {
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.update({ q: input.value, page: 1 }, false), DEBOUNCE_MS);
    });
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      clearTimeout(this.timer);
      this.update({ q: input.value, page: 1 }, true);
    });
    addEventListener("popstate", () => {
      this.state = readState();
      this.run();
    });
    this.run();
  }

  /// Applies `change` to the state, records it in the URL (a history entry when `push`), searches.
  update(change, push) {
    this.state = { ...this.state, ...change };
    const url = queryString(this.state);
    if (push) history.pushState(null, "", url);
    else history.replaceState(null, "", url);
    this.run();
  }

  linkTo(change) {
    return queryString({ ...this.state, ...change });
  }

  async run() {
    const state = this.state;
    const sequence = ++this.sequence;
    input.value = document.activeElement === input ? input.value : state.q;
    this.sortSelect.value = state.sort;
    this.fromInput.value = state.from;
    this.toInput.value = state.to;
    const hasFilters = Object.keys(state.filters).length || state.from || state.to;
    if (!state.q.trim() && !hasFilters) {
      const root = await this.engine.root().catch(() => null);
      if (sequence !== this.sequence) return;
      this.status.textContent = root ? `Type to search ${number.format(root.n)} documents.` : "";
      this.results.replaceChildren();
      this.pages.replaceChildren();
      this.renderFacets({}, state);
      // Nothing asked yet: every facet's values with their counts over the whole archive, to
      // browse by (one small file, which any later query with a facet needs too).
      const all = await this.archiveCounts(root);
      if (all && sequence === this.sequence) this.renderFacets(all, state);
      return;
    }
    this.ui(true);
    // Set again once this query's first page of results is all on show (what a page or a test
    // can wait for; the facet counts may still be coming).
    this.results.removeAttribute("data-complete");
    let result;
    try {
      // Facet counts come after the first results (below): counting an open facet fetches
      // every value's set, which would hold back the results a reader is waiting for.
      // The first result painted as soon as its card is here; the page of results after.
      // A whole page known before its count (`complete`) is on show as it will stay.
      const early = (partial) => {
        if (sequence !== this.sequence || this.shown === sequence) return;
        this.show(partial, sequence);
        if (partial.complete) {
          this.shown = sequence;
          this.results.setAttribute("data-complete", "");
        }
      };
      result = await this.query(state, [], early);
    } catch (error) {
      if (sequence !== this.sequence) return;
      this.ui(false);
      this.status.textContent = `Search failed: ${error.message}`;
      return;
    }
    if (sequence !== this.sequence) return;
    this.ui(false);
    this.shown = sequence;
    this.show(result, sequence);
    this.results.setAttribute("data-complete", "");
    this.renderFacets(result.counts, state);
    const open = ALL_FACETS.filter((f) => this.open.has(f));
    if (!open.length || !result.total) return;
    // Let the results paint before the counts' fetches start.
    await new Promise((resolve) => requestAnimationFrame(() => setTimeout(resolve, 0)));
    if (sequence !== this.sequence) return;
    let counted;
    try {
      counted = await this.query(state, open);
    } catch (_) {
      return;
    }
    if (sequence === this.sequence) this.renderFacets(counted.counts, state);
  }

  /// Each facet's values with their counts over the whole archive, or null.
  async archiveCounts(root) {
    const facets = root && (await this.engine.facets().catch(() => null));
    if (!facets) return null;
    const all = { year: root.years.map((y) => [String(y.year), y.last - y.first + 1]) };
    for (const f of FACETS) all[f] = (facets[f] || []).map(([value, count]) => [value, count]);
    return all;
  }

  /// The engine's answer to `state`, with the counts of the facets in `counts`; `early`, if
  /// given, gets the first result as soon as it is here.
  query(state, counts, early) {
    const { q, page, sort, from, to, filters } = state;
    return this.engine.search(q, { page, perPage: PER_PAGE, sort, from, to, filters, counts, early });
  }

  /// Shows the result of query `sequence` (or its first card, painted early): count, cards,
  /// page links.
  show(result, sequence) {
    const count = result.total === 1 ? "1 result" : `${result.exact ? "" : "about "}${number.format(result.total)} results`;
    this.status.textContent = result.total ? `${count}, page ${result.page} of ${Math.max(1, result.pages)}` : "No results";
    // Cards painted early for this query are kept as they are (their excerpts may be there).
    const kept = this.kept && this.kept.sequence === sequence ? this.kept.items : new Map();
    const items = result.results.map((r) => kept.get(r.number) || this.card(r, result.terms));
    this.kept = { sequence, items: new Map(result.results.map((r, i) => [r.number, items[i]])) };
    this.results.replaceChildren(...items);
    this.results.start = (result.page - 1) * PER_PAGE + 1;
    this.renderPages(result);
  }

  ui(busy) {
    ui.setAttribute("aria-busy", busy ? "true" : "false");
  }

  card(r, terms) {
    const rest = [r.kind && label("kind", r.kind), r.sender || r.origin].filter(Boolean).join(" · ");
    const meta = r.date ? [el("time", { datetime: r.date }, r.date), rest ? ` · ${rest}` : ""] : [rest];
    const text = el("p", { class: "search-excerpt" });
    const item = el(
      "li",
      { class: "search-result" },
      el("h3", { class: "search-title" }, el("a", { href: r.url }, r.title || r.id)),
      el("p", { class: "search-meta" }, ...meta),
      text,
    );
    this.engine
      .documentText(r)
      .then((body) => {
        const source = body.slice(r.title.length + 1);
        const plain = MARKUP_KINDS.has(r.kind) ? plainMarkup(source) : source;
        text.replaceChildren(...excerpt(plain, terms).map((p) => (p.mark ? el("mark", {}, p.text) : p.text)));
      })
      .catch(() => {});
    return item;
  }

  renderPages(result) {
    const links = [];
    const go = (page, label, rel) =>
      el("a", {
        href: this.linkTo({ page }),
        rel,
        "aria-current": page === result.page ? "page" : undefined,
        onclick: (e) => {
          e.preventDefault();
          this.update({ page }, true);
          ui.scrollIntoView?.();
        },
      }, label);
    if (result.page > 1) links.push(go(result.page - 1, "Previous", "prev"));
    const first = Math.max(1, result.page - 4);
    for (let p = first; p <= Math.min(result.pages, first + 8); p++) links.push(go(p, String(p)));
    if (result.page < result.pages) links.push(go(result.page + 1, "Next", "next"));
    this.pages.replaceChildren(...(links.length > 1 ? links : []));
  }

  async renderFacets(counts, state) {
    for (const f of ALL_FACETS) {
      const { list } = this.details[f];
      const chosen = new Set(state.filters[f] || []);
      let values = counts[f];
      if (!values) {
        list.replaceChildren(...[...chosen].map((v) => this.facetValue(f, v, null, true)));
        continue;
      }
      values = values.filter(([v, c]) => c > 0 || chosen.has(v));
      if (f === "year") values = [...values].reverse();
      list.replaceChildren(...values.map(([v, c]) => this.facetValue(f, v, c, chosen.has(v))));
    }
  }

  facetValue(facet, value, count, checked) {
    const box = el("input", {
      type: "checkbox",
      checked,
      onchange: () => {
        const values = new Set(this.state.filters[facet] || []);
        if (box.checked) values.add(value);
        else values.delete(value);
        const filters = { ...this.state.filters, [facet]: [...values] };
        if (!values.size) delete filters[facet];
        this.update({ filters, page: 1 }, true);
      },
    });
    return el(
      "li",
      {},
      el("label", {}, box, ` ${label(facet, value)} `, count === null ? null : el("span", { class: "search-count" }, `(${number.format(count)})`)),
    );
  }
}

if (ui && form && input) {
  linkStyle();
  new SearchPage();
}
