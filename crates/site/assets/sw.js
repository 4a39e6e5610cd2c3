// samizdat reader site: a service worker that keeps serving reads from the other mirrors of
// this archive when the one the site was loaded from stops answering.
//
// Every request for the site goes to this mirror first. When that fails (connection refused,
// timeout, 5xx), the same path is asked of each mirror in turn, and the first good answer is
// used: the active mirrors of the directories the publisher vouches for (their live lists,
// live-mirrors.js) in turn with the release's own mirrors.json. Both are kept in the cache,
// fetched at install; the release's is refreshed when this mirror answers a navigation, the
// directories' then and when this mirror fails, at most every LIVE_EVERY_MS; a refresh that
// fails in any way keeps the list we had. Pages keep their
// address: the reader stays on the same URL while another mirror serves it.
//
// What another mirror sends is not checked against the release's signed hashes here (the worker
// holds no TUF metadata): a lying mirror can show wrong pages, as said below.
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
const OWN_SCRIPT = /^(assets\/[a-z0-9-]+\.[0-9a-f]{12,64}\.js|sw-register\.js|sw\.js|live-mirrors\.js)$/;
// The types an original keeps when another mirror serves it (mirror::serve's list).
const INERT_TYPE = /^(application\/(pdf|mbox|gzip|json|jsonl|octet-stream)|text\/plain|message\/rfc822|image\/(png|jpeg))\s*(;|$)/i;
const TEXT_TYPE = /^(text\/|image\/svg|application\/(xml|xhtml|javascript|ecmascript))/i;
const SCOPE = new URL(self.registration.scope);
const LIST = new URL("mirrors.json", SCOPE).href;
// The directories' active mirrors, as {mirrors, checked}: a cache key only, never fetched.
const LIVE = new URL("samizdat-live-mirrors.json", SCOPE).href;
const LIVE_EVERY_MS = 10 * 60 * 1000;
// The directories' base URLs, as this mirror's directories.json last named them: a cache key only.
const DIRECTORIES = new URL("samizdat-directories.json", SCOPE).href;
const TIMEOUT_MS = 4000;
// At most this many other mirrors are asked for one request, within FAILOVER_MS in all.
const MAX_TRIED = 8;
const FAILOVER_MS = 20000;

importScripts("live-mirrors.js");

self.addEventListener("install", (event) => {
  event.waitUntil(Promise.all([refreshList(), refreshLive(true)]).then(() => self.skipWaiting()));
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

// The directories' live lists: at most once every LIVE_EVERY_MS (`force`: now), one refresh at
// a time; when no directory answers with a list, the one we had is kept (its time renewed, so
// a broken directory is not asked again at every page). Which directories: this mirror's
// directories.json, or when it does not answer, the copy kept from the last time it did; a
// directory the publisher no longer vouches for is no longer asked.
let refreshing = null;
function refreshLive(force = false) {
  refreshing ??= refreshLiveOnce(force).catch(() => {}).finally(() => { refreshing = null; });
  return refreshing;
}

async function refreshLiveOnce(force) {
  const cache = await caches.open(CACHE);
  const kept = await cachedJson(cache, LIVE);
  const had = kept && Array.isArray(kept.mirrors) ? kept.mirrors : [];
  if (!force && kept && Date.now() - kept.checked < LIVE_EVERY_MS) return;
  let found = null;
  try {
    // A release that vouches for no directory (any more) empties the list.
    const vouched = await directories(cache);
    found = vouched.length === 0 ? [] : await self.samizdatLive.activeMirrors(vouched);
  } catch (_) {
    // Keep the list we had.
  }
  const body = JSON.stringify({ mirrors: found ?? had, checked: Date.now() });
  await cache.put(LIVE, new Response(body, { headers: { "content-type": "application/json" } }));
}

async function directories(cache) {
  try {
    const found = await self.samizdatLive.directories(SCOPE.href);
    await cache.put(DIRECTORIES, new Response(JSON.stringify(found), { headers: { "content-type": "application/json" } }));
    return found;
  } catch (_) {
    const kept = await cachedJson(cache, DIRECTORIES);
    return Array.isArray(kept) ? kept.filter((u) => self.samizdatLive.isWebUrl(u)) : [];
  }
}

async function cachedJson(cache, key) {
  const response = await cache.match(key);
  if (!response) return null;
  try {
    return await response.json();
  } catch (_) {
    return null;
  }
}

// Where to fail over to: the directories' active mirrors and the release's, taken in turn (so
// that a directory naming many dead mirrors cannot push the publisher's out of reach), http(s)
// only, each once, never this mirror, at most MAX_TRIED.
async function mirrors() {
  const cache = await caches.open(CACHE);
  const [live, own] = (await Promise.all([cachedJson(cache, LIVE), cachedJson(cache, LIST)]))
    .map((list) => (list && Array.isArray(list.mirrors) ? list.mirrors : []));
  const turns = [];
  for (let i = 0; i < Math.max(live.length, own.length); i++) turns.push(live[i], own[i]);
  const urls = turns.filter((u) => self.samizdatLive.isWebUrl(u))
    .map((u) => new URL(u.endsWith("/") ? u : u + "/").href)
    .filter((u) => u !== SCOPE.href);
  return [...new Set(urls)].slice(0, MAX_TRIED);
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
      if (request.mode === "navigate") {
        refreshList();
        refreshLive();
      }
      if (script && response.ok) {
        const copy = response.clone();
        caches.open(SCRIPTS).then((cache) => cache.put(request.url, copy)).catch(() => {});
      }
      return response;
    }
  } catch (_) {
    // This mirror did not answer: try the others.
  }
  // This mirror is down: a good time to learn what the directories list now.
  refreshLive();
  if (script) {
    const kept = await (await caches.open(SCRIPTS)).match(request.url);
    return kept || new Response("", { status: 503 });
  }
  const original = /(^|\/)original\.[^/]*$/.test(path.split("?")[0]);
  const deadline = Date.now() + FAILOVER_MS;
  for (const base of await mirrors()) {
    if (Date.now() > deadline) break;
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
