// The bench's Pagefind search page: Pagefind's JS API, no UI library, showing what our search page
// shows for a query: the result count and the first 10 results (title linking to the page, and
// Pagefind's excerpt, which comes in the same fragment file as the title).
// URL parameters as our search page's: ?q=WORDS&origin=VALUE&kind=VALUE (filters).
// With no query it loads Pagefind (init: the WebAssembly and the index metadata), as our page
// loads its index root to say how many documents there are.
const PER_PAGE = 10;
const params = new URLSearchParams(location.search);
const q = params.get("q") || "";
const filters = {};
for (const f of ["kind", "origin"]) {
  const values = params.getAll(f).filter(Boolean);
  if (values.length) filters[f] = values.length === 1 ? values[0] : { any: values };
}
const status = document.getElementById("status");
const list = document.getElementById("results");

const pagefind = await import("./pagefind/pagefind.js");
// On the main thread: Pagefind's default, a Web Worker, does the same fetches from the worker,
// where the page's DevTools session does not see them (the worker also loads
// pagefind-worker.js, which this page does not: bench/site.sh reports its size).
await pagefind.options({ noWorker: true });
await pagefind.init();
if (!q) {
  status.textContent = "Type to search.";
  document.body.dataset.ready = "1";
} else {
  const search = await pagefind.search(q, { filters });
  const shown = await Promise.all(search.results.slice(0, PER_PAGE).map((r) => r.data()));
  status.textContent = `${search.results.length} results`;
  list.replaceChildren(
    ...shown.map((d) => {
      const li = document.createElement("li");
      li.className = "search-result";
      const h = document.createElement("h3");
      const a = document.createElement("a");
      a.href = d.url;
      a.textContent = d.meta?.title || d.url;
      h.append(a);
      const p = document.createElement("p");
      p.innerHTML = d.excerpt;
      li.append(h, p);
      return li;
    }),
  );
  if (!shown.length) status.textContent = "No results";
  document.body.dataset.ready = "1";
}
