// samizdat reader site: a service worker that keeps serving reads from the other mirrors of
// this archive when the one the site was loaded from stops answering.
//
// Every request for the site goes to this mirror first. When that fails (connection refused,
// timeout, 5xx), the same path is asked of each mirror in mirrors.json (cached at install and
// refreshed whenever this mirror answers), and the first good answer is used. Pages keep their
// address: the reader stays on the same URL while another mirror serves it.
//
// Other mirrors are untrusted, and what they send runs under this mirror's origin, so:
// - no script ever comes from another mirror: scripts are kept as this mirror served them
//   (their names carry their hash) and, when it is down, served from that copy or not at all;
// - another mirror's answer gets this worker's headers, not its own: the site's strict policy
//   (scripts only from this origin, that is, the copies above; no inline script), and `sandbox`
//   for original files, which may be hostile HTML;
// - nothing another mirror sends is cached.
// - only the site's own scripts run: its hashed assets (`assets/<name>.<hash>.js`) and the
//   worker's registration. Anything else asked as a script or a worker is refused before any
//   fetch, from this mirror too: an archived original (`d/<id>/original.js`) is same-origin,
//   and a lying mirror's page could name it (the original's `sandbox` policy binds documents,
//   not a script another page loads).
// A lying mirror can therefore show wrong pages, but not run code as this site.
const CACHE = "samizdat-mirrors-v1";
const SCRIPTS = "samizdat-scripts-v1";
const SITE_CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self' http: https:; object-src 'none'; base-uri 'none'; form-action 'self'; " +
  "frame-ancestors 'none'";
const SCRIPT_DESTINATIONS = new Set(["script", "worker", "sharedworker", "serviceworker", "audioworklet", "paintworklet"]);
// Paths (from the scope) of the site's own scripts: the only ones that may run.
const OWN_SCRIPT = /^(assets\/[a-z0-9-]+\.[0-9a-f]{12,64}\.js|sw-register\.js|sw\.js)$/;
// The types an original keeps when another mirror serves it (mirror::serve's list).
const INERT_TYPE = /^(application\/(pdf|mbox|gzip|json|jsonl|octet-stream)|text\/plain|message\/rfc822|image\/(png|jpeg))\s*(;|$)/i;
const TEXT_TYPE = /^(text\/|image\/svg|application\/(xml|xhtml|javascript|ecmascript))/i;
const SCOPE = new URL(self.registration.scope);
const LIST = new URL("mirrors.json", SCOPE).href;
const TIMEOUT_MS = 4000;

self.addEventListener("install", (event) => {
  event.waitUntil(refreshList().then(() => self.skipWaiting()));
});
self.addEventListener("activate", (event) => event.waitUntil(self.clients.claim()));

async function refreshList() {
  try {
    const response = await fetch(LIST, { cache: "no-cache" });
    if (response.ok) {
      const cache = await caches.open(CACHE);
      await cache.put(LIST, response);
    }
  } catch (_) {
    // Keep the list we had.
  }
}

async function mirrors() {
  const cache = await caches.open(CACHE);
  const response = await cache.match(LIST);
  if (!response) return [];
  try {
    const list = (await response.json()).mirrors || [];
    return list.filter((u) => typeof u === "string" && /^https?:\/\//.test(u))
      .map((u) => (u.endsWith("/") ? u : u + "/"))
      .filter((u) => new URL(u).href !== SCOPE.href);
  } catch (_) {
    return [];
  }
}

function withTimeout(promise) {
  return Promise.race([
    promise,
    new Promise((_, reject) => setTimeout(() => reject(new Error("timeout")), TIMEOUT_MS)),
  ]);
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET" || !request.url.startsWith(SCOPE.href)) return;
  event.respondWith(withFailover(request));
});

async function withFailover(request) {
  const script = SCRIPT_DESTINATIONS.has(request.destination);
  const path = request.url.slice(SCOPE.href.length);
  if (script && !OWN_SCRIPT.test(path.split(/[?#]/)[0])) {
    return new Response("Only the site's own scripts run here.", {
      status: 403, headers: { "content-type": "text/plain; charset=utf-8" },
    });
  }
  try {
    const response = await withTimeout(fetch(request));
    if (response.status < 500) {
      if (request.mode === "navigate") refreshList();
      if (script && response.ok) {
        const copy = response.clone();
        caches.open(SCRIPTS).then((cache) => cache.put(request.url, copy)).catch(() => {});
      }
      return response;
    }
  } catch (_) {
    // This mirror did not answer: try the others.
  }
  if (script) {
    const kept = await (await caches.open(SCRIPTS)).match(request.url);
    return kept || new Response("", { status: 503 });
  }
  const original = /(^|\/)original\.[^/]*$/.test(path.split("?")[0]);
  for (const base of await mirrors()) {
    try {
      const response = await withTimeout(fetch(base + path, { mode: "cors", credentials: "omit" }));
      if (response.ok || response.status === 404 || response.status === 410) {
        // A cross-origin answer cannot stand for a navigation as is: copy its body, with
        // this worker's headers.
        const body = await response.arrayBuffer();
        const sent = response.headers.get("content-type") || "application/octet-stream";
        // An original keeps only an inert type (as this mirror's server gives it), whatever
        // the other mirror says: never a script, a style sheet, HTML, SVG or XML.
        const type = !original || INERT_TYPE.test(sent) ? sent
          : TEXT_TYPE.test(sent) ? "text/plain; charset=utf-8" : "application/octet-stream";
        return new Response(body, {
          status: response.status,
          statusText: response.statusText,
          headers: {
            "content-type": type,
            "content-security-policy": original ? "sandbox" : SITE_CSP,
            "x-content-type-options": "nosniff",
          },
        });
      }
    } catch (_) {
      // Next mirror.
    }
  }
  return new Response("No mirror of this archive answered. Try again later.", {
    status: 503, headers: { "content-type": "text/plain; charset=utf-8" },
  });
}
