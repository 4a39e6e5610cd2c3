// Demo service worker: answers from its own origin (mirror A) and, when that fetch fails, from the
// mirrors listed in its own URL (?m=URL,URL). Registered by failover.mjs; the reader site's real
// worker is the generator's.
const MIRRORS = decodeURIComponent(self.location.search.replace(/^\?m=/, '')).split(',').filter(Boolean);
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));
self.addEventListener('fetch', (e) => {
  const url = new URL(e.request.url);
  if (url.origin !== self.location.origin) return;
  e.respondWith((async () => {
    try {
      return await fetch(e.request);
    } catch (err) {
      for (const m of MIRRORS) {
        try {
          const r = await fetch(m + url.pathname + url.search, { mode: 'cors' });
          if (r.ok) return r;
        } catch {
          // next mirror
        }
      }
      throw err;
    }
  })());
});
