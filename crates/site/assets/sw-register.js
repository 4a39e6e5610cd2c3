// Registers the service worker that keeps this archive readable when this mirror stops answering.
if ("serviceWorker" in navigator) {
  const script = document.currentScript;
  const root = new URL(".", script ? script.src : location.href);
  navigator.serviceWorker.register(new URL("sw.js", root), { scope: root.pathname }).catch(() => {});
}
