// samizdat reader site: the live mirror lists of the directories the publisher vouches for.
// One classic script for two readers: the service worker (importScripts: its failover list) and
// the mirrors page (a <script>: what each directory lists now).
//
// The directories are named by `directories.json` (the release's `_directories.json`, signed by
// the publisher and served by this mirror); each serves its current list at `<url>mirrors.json`
// ({"mirrors": [{url, state, country, provider, audited, release, ...}]}). A directory is another
// origin and untrusted: every fetch has a time limit and a size cap, follows no redirect and sends
// no credentials; an answer that is not that shape counts for nothing; only http(s) URLs are kept.
// The list's TUF signatures are not checked here (`samizdat verify-list` does): a lying directory
// can name mirrors, which can show wrong pages (as sw.js says of any mirror), never run script.
(function (global) {
  "use strict";
  const TIME_LIMIT_MS = 4000;
  const MAX_BYTES = 256 * 1024;
  const MAX_DIRECTORIES = 4;
  const MAX_MIRRORS = 64;

  function isWebUrl(value) {
    if (typeof value !== "string" || value.length > 2048 || !/^https?:\/\//i.test(value)) return false;
    try {
      return ["http:", "https:"].includes(new URL(value).protocol);
    } catch (_) {
      return false;
    }
  }

  function slashed(url) {
    return url.endsWith("/") ? url : url + "/";
  }

  function text(value) {
    return typeof value === "string" ? value.slice(0, 200) : "";
  }

  // GET `url` as JSON: at most MAX_BYTES, within TIME_LIMIT_MS (the body included); throws on
  // anything else (status, redirect, size, time, syntax). `missing`: what a 404 stands for.
  async function boundedJson(url, missing) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), TIME_LIMIT_MS);
    try {
      const response = await fetch(url, {
        mode: "cors", credentials: "omit", cache: "no-cache", redirect: "error", signal: controller.signal,
      });
      if (response.status === 404 && missing !== undefined) return missing;
      if (!response.ok || !response.body) throw new Error(`${url}: status ${response.status}`);
      const reader = response.body.getReader();
      const chunks = [];
      let length = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        length += value.length;
        if (length > MAX_BYTES) {
          controller.abort();
          throw new Error(`${url}: more than ${MAX_BYTES} bytes`);
        }
        chunks.push(value);
      }
      const bytes = new Uint8Array(length);
      let at = 0;
      for (const chunk of chunks) {
        bytes.set(chunk, at);
        at += chunk.length;
      }
      return JSON.parse(new TextDecoder().decode(bytes));
    } finally {
      clearTimeout(timer);
    }
  }

  // The vouched directories' base URLs, from `directories.json` under `siteRoot` (none when the
  // release vouches for none: no such file).
  async function directories(siteRoot) {
    const index = await boundedJson(new URL("directories.json", siteRoot).href, { directories: [] });
    const listed = index && Array.isArray(index.directories) ? index.directories : [];
    return listed.map((d) => d && d.url).filter(isWebUrl).map(slashed).slice(0, MAX_DIRECTORIES);
  }

  // One directory's list: [{url, state, country, provider, audited, release}], the well-formed
  // entries only.
  async function listOf(directory) {
    const list = await boundedJson(new URL("mirrors.json", directory).href);
    if (!list || !Array.isArray(list.mirrors)) throw new Error(`${directory}mirrors.json: no "mirrors" array`);
    return list.mirrors.filter((m) => m && isWebUrl(m.url)).slice(0, MAX_MIRRORS).map((m) => ({
      url: slashed(m.url),
      state: text(m.state),
      country: text(m.country),
      provider: text(m.provider),
      audited: text(m.audited),
      release: Number.isSafeInteger(m.release) ? m.release : null,
    }));
  }

  // Each of `found` (directory base URLs) with its list: [{directory, mirrors} or
  // {directory, error}], in that order, the directories asked at once.
  function listsOf(found) {
    return Promise.all(found.map((directory) => listOf(directory).then(
      (mirrors) => ({ directory, mirrors }),
      (error) => ({ directory, error: String(error && error.message || error) }),
    )));
  }

  // Every directory vouched for under `siteRoot`, with its list (as `listsOf`).
  async function lists(siteRoot) {
    return listsOf(await directories(siteRoot));
  }

  // The active mirrors' URLs that the directories `found` list, without repeats; null when none
  // answered (the caller keeps what it had).
  async function activeMirrors(found) {
    const answered = (await listsOf(found)).filter((l) => l.mirrors);
    if (answered.length === 0) return null;
    const urls = answered.flatMap((l) => l.mirrors.filter((m) => m.state === "active").map((m) => m.url));
    return [...new Set(urls)].slice(0, MAX_MIRRORS);
  }

  // The mirrors page: fills <section id="live-mirrors"> with one list per directory, each
  // mirror a link and its facts as text ("active, IS, Provider, last audit …").
  function list(doc, mirrors) {
    const ul = doc.createElement("ul");
    ul.className = "live";
    for (const m of mirrors) {
      const li = doc.createElement("li");
      const link = doc.createElement("a");
      link.href = m.url;
      link.textContent = m.url;
      link.rel = "nofollow noopener";
      li.appendChild(link);
      const facts = [m.state, m.country, m.provider].filter(Boolean);
      if (m.audited) facts.push(`last audit ${m.audited}`);
      if (facts.length) li.appendChild(doc.createTextNode(` — ${facts.join(", ")}`));
      ul.appendChild(li);
    }
    return ul;
  }

  async function showOnPage(doc) {
    const section = doc.getElementById("live-mirrors");
    if (!section) return;
    const status = section.querySelector(".live-status");
    const root = new URL(section.dataset.site || "../", doc.baseURI).href;
    section.hidden = false;
    let found;
    try {
      found = await lists(root);
    } catch (_) {
      status.textContent = "This mirror did not say which directories the publisher vouches for.";
      return;
    }
    status.textContent = found.length === 0 ? "The publisher vouches for no directory yet." : "";
    for (const l of found) {
      const h = doc.createElement("h3");
      h.textContent = `Listed now by ${l.directory}`;
      section.appendChild(h);
      if (l.mirrors) {
        section.appendChild(list(doc, l.mirrors));
      } else {
        const p = doc.createElement("p");
        p.textContent = `It did not answer: ${l.error}`;
        section.appendChild(p);
      }
    }
  }

  global.samizdatLive = { directories, activeMirrors, isWebUrl };
  if (global.document) {
    const doc = global.document;
    if (doc.readyState === "loading") doc.addEventListener("DOMContentLoaded", () => showOnPage(doc));
    else showOnPage(doc);
  }
})(self);
