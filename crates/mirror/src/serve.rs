//! The mirror's HTTP server (hyper; HTTP/1.1 and HTTP/2, TLS when given certificate files).
//!
//! What it answers, all read-only, GET and HEAD (`App::respond`, one match on the path):
//!
//! | path                                   | what                                 | caching                 |
//! | -------------------------------------- | ------------------------------------ | ----------------------- |
//! | `/metadata/timestamp.json`             | the commit point, from memory        | `max-age=60`            |
//! | `/metadata/N.<role>.json`              | versioned metadata                   | immutable               |
//! | `/targets/<sha256>.<name>`             | content-addressed targets            | immutable, ETag = hash  |
//! | `/d/<id>/…`, `/withdrawn.json`         | plain site paths (`archive::layout`) | 5 min, ETag = hash      |
//! | `/.well-known/samizdat/status.json`    | release, last sync, peers            | no-store                |
//! | `/.well-known/samizdat/enroll.txt`     | a directory's challenge (`enroll`)   | no-store                |
//! | `/.well-known/samizdat/blocks.json`    | this mirror's legal blocks (`blocks`)| no-store                |
//! | `/metrics`                             | Prometheus text format               | no-store                |
//!
//! Range (one range; several get the whole file, as RFC 9110 allows), If-None-Match, If-Range,
//! HEAD. A withdrawn document answers 410 Gone with the publisher's reason on every path of it;
//! a document this mirror blocks (`blocks`), 451 with the order and other mirrors.
//!
//! The order a request goes through, and where what is still to come hooks in:
//!
//! 1. Until a release is served, 503 on hyper's path ([`App::answer`]; the hot path has
//!    nothing cached then, so it hands every request to hyper).
//! 2. [`request::screen`]: the flood guard's verdict (`guard`: the client's rate, the answers
//!    in flight; 429 or 503 with `Retry-After`), then method and path, before any routing or
//!    cache lookup, on both the hot path (`hot`) and hyper's (`App::respond`): one
//!    classification of every request (a request it refuses, the hot path hands to hyper,
//!    which answers the refusal). Before that, at accept, the guard's per-address and
//!    per-prefix connection caps.
//! 3. A plain request (no Range, no condition) for a small file served before: the response
//!    cache (`cache`), by `hot` on plain HTTP/1.1 connections, else here.
//! 4. Routing: the table above. A target is resolved to a document in one place,
//!    `withheld`, called on `/targets/` names and on plain paths alike before any file is
//!    read: 410 for a withdrawn document, 451 for one this mirror blocks (the caches need no
//!    check of their own: a new set of blocks is a new [`Served`] load, which empties them,
//!    and the hot path answers only cache hits of the load served). A `/targets/` file kept
//!    open in this load passed every check of its path when it was opened (they depend on the
//!    load and the path alone), so it is read again without them, here and by `hot`.
//! 5. The file: its answer described by a `cache::FileMeta` whose headers come from one builder
//!    (`FileMeta::each_header`) for misses, hits and the hot path alike.
//!
//! Why hyper and not axum + tower-http `ServeDir`: `ServeDir` measured 0.2–0.7× nginx here,
//! and the hot path (a path match, one lookup, bytes from a small cache) is short enough that
//! a router adds nothing but cost. Small files are read inline, without a thread hop: they come
//! from the page cache in microseconds, less than a `spawn_blocking` round trip; large files are
//! streamed in 256 KiB reads.
//!
//! Every target and original is served with `Content-Security-Policy: sandbox` and `nosniff`:
//! an original may be HTML a hostile sender wrote, and it must not run on the mirror's origin
//! (where the reader site and its service worker live). The sandbox binds documents only, not
//! a script loaded by another page: so an original, by its plain path or under `/targets/`, is
//! also never served with a type a browser runs (`text/plain` or `application/octet-stream`
//! for scripts, HTML, SVG, XML, style sheets; `answer::original_content_type`). The reader site's own files (document
//! pages `<id>.html` and `_s_*` under their plain paths) get a strict policy instead that lets
//! only the site's own scripts run. Everything public carries `Access-Control-Allow-Origin: *`:
//! a reader's service worker fetches from other mirrors when its own stops answering.

use std::convert::Infallible;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use bytes::Bytes;
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulConnection;
use tokio::net::TcpListener;

pub use crate::answer::Body;
use crate::answer::{
    IMMUTABLE, NO_STORE, PLAIN, SITE_CSP, TIMESTAMP, bytes_response, content_type, entry_response,
    file_response, is_text, not_found, not_modified, original_content_type, own_page, redirect,
    refused, retry_later, text, with_type,
};
use crate::cache::{Caches, Carry, Entry, FileMeta, LargeFile, OpenFile};
use crate::conns::{Conn, Descriptors, Table, Watched};
use crate::guard::{Client, Gate, Limits};
use crate::handover::Drain;
use crate::metrics::Metrics;
use crate::request::{Ask, Screened, accepts_gzip, is_plain, none_match, screen};
use crate::served::{Served, target_file_name};
use crate::status::Status;
use crate::withhold;

/// What the file paths need of a request.
struct Want<'a> {
    headers: &'a HeaderMap,
    head: bool,
    /// The request path: the cache key.
    path: &'a str,
    /// The load of the release it is answered from ([`Served::generation`]): what cache
    /// entries are tagged with.
    generation: u64,
    /// The small file kept open for `path` since that load, when it was looked up first.
    kept: Option<Arc<OpenFile>>,
}

/// Files up to this size are read whole (and cached); larger ones are streamed.
const SMALL_FILE: u64 = 256 * 1024;
/// Largest file gzipped on a request, in the request's own thread.
const GZIP_MAX: u64 = 1 << 20;
/// Most open files kept (targets and versioned metadata never change under their name); fewer
/// when the descriptor limit is low: 4,096 descriptors (at least half) are left for connections
/// (`conns::Descriptors`).
const OPEN_FILES: usize = 16384;
/// Most large files kept open (few next to the small ones; each is 256 KiB or more on disk).
const LARGE_FILES: usize = 256;
/// Where a directory finds the challenge of an enrolment (`enroll`).
pub const ENROLL_PATH: &str = "/.well-known/samizdat/enroll.txt";
/// Seconds a client is asked to wait (`Retry-After`) while the mirror has no release yet.
const NO_RELEASE_RETRY: u64 = 30;

/// How a file was asked for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Asked {
    Metadata,
    /// By its consistent-snapshot name under `/targets/`.
    Target,
    /// By its plain site path (`/d/<id>/`, `/browse/…`).
    PlainPath,
}

/// The server's state: the release served (swapped atomically after a sync), status, metrics.
pub struct App {
    release_dir: PathBuf,
    /// Gzipped copies of compressible immutable files, made on first request (`DIR/cache/gz`).
    gz_dir: PathBuf,
    served: ArcSwap<Served>,
    pub status: Mutex<Status>,
    pub metrics: Arc<Metrics>,
    /// Answers of small files, open small and large files (`cache`).
    caches: Caches,
    /// Connections the server keeps open at most, all threads and addresses together (the
    /// descriptors the file caches leave; `conns`).
    pub(crate) connections: usize,
    /// The flood guard (`guard`): who may connect, whose request is answered now.
    pub gate: Arc<Gate>,
    /// Held while a new [`Served`] is loaded and switched to (`run::reload`): a sync's load
    /// and a block's never cross, so the later one switches to the newer state of both.
    pub(crate) reloading: Mutex<()>,
}

impl App {
    /// An app serving the release in `release_dir` (holding `metadata/` and `targets/`).
    pub fn new(release_dir: PathBuf, served: Served, status: Status) -> App {
        let metrics = Metrics::new();
        metrics.release(&served);
        let descriptors = descriptors();
        let gz_dir = release_dir
            .parent()
            .unwrap_or(Path::new("."))
            .join("cache/gz");
        let metrics = Arc::new(metrics);
        App {
            gate: Arc::new(Gate::new(Limits::default(), metrics.clone())),
            gz_dir,
            release_dir,
            served: ArcSwap::from_pointee(served),
            status: Mutex::new(status),
            metrics,
            caches: Caches::new(descriptors.small_files, descriptors.large_files),
            connections: descriptors.connections,
            reloading: Mutex::new(()),
        }
    }

    /// The same app with the flood guard's `limits` instead of the defaults.
    pub fn with_limits(mut self, limits: Limits) -> App {
        if limits.off {
            log!("flood guard off: no request is refused for its rate, connections or load");
        }
        self.gate = Arc::new(Gate::new(limits, self.metrics.clone()));
        self
    }

    pub fn served(&self) -> Arc<Served> {
        self.served.load_full()
    }

    /// Switches to a newly synced release (requests in flight finish on the old one).
    /// Every cache is emptied: an answer made for the release before may be one this one
    /// refuses (gone means gone), and its files may be collected. What a request in flight
    /// puts in a cache afterwards carries the old release's generation, which is never a hit.
    pub fn switch(&self, served: Served) {
        self.metrics.release(&served);
        self.served.store(Arc::new(served));
        self.caches.clear();
    }

    /// The answer to a request, from its parts alone, counted in the metrics: what hyper's
    /// service calls for every request (and unit tests, without a socket).
    pub fn answer(&self, ask: Ask) -> Response<Body> {
        let response = self
            .no_release(ask.path)
            .unwrap_or_else(|| self.respond(ask));
        let length = response
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| match response.body() {
                http_body_util::Either::Left(full) => {
                    hyper::body::Body::size_hint(full).exact().unwrap_or(0)
                }
                http_body_util::Either::Right(_) => 0,
            });
        self.metrics.request(response.status(), length);
        response
    }

    /// 503 for every path of the release while there is none yet (a new mirror's first sync):
    /// an empty `timestamp.json` with an empty ETag, or a home page saying "release 0", would be
    /// answered 200 and cached, and every TUF client would fail to parse it. Never cached;
    /// status, metrics and the enrolment challenge still answer (a mirror may enrol while it
    /// syncs its first release: the directory lists it once it serves one).
    fn no_release(&self, path: &str) -> Option<Response<Body>> {
        if !self.served.load().timestamp.is_empty()
            || crate::request::MONITORING.contains(&path)
            || path == ENROLL_PATH
        {
            return None;
        }
        Some(retry_later(
            StatusCode::SERVICE_UNAVAILABLE,
            "this mirror has no release yet: it is syncing from its peers\n",
            NO_RELEASE_RETRY,
        ))
    }

    /// Screens, then routes (the table at the top of this module).
    fn respond(&self, ask: Ask) -> Response<Body> {
        let head = match screen(ask.client, ask.method.as_str(), ask.path) {
            Screened::Read { head } => head,
            Screened::Refused { why, retry_after } => return refused(why, retry_after),
            Screened::NotAllowed => {
                let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n");
                response
                    .headers_mut()
                    .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
                return response;
            }
            Screened::BadPath => return text(StatusCode::BAD_REQUEST, "bad path\n"),
        };
        let served = self.served.load();
        let path = ask.path;
        // A small file served before, asked for without conditions (on plain HTTP/1.1
        // connections, `hot` answers these before hyper parses them).
        if is_plain(ask.headers)
            && let Some(entry) = self
                .caches
                .hit(path, served.generation, accepts_gzip(ask.headers))
        {
            return entry_response(&entry);
        }
        let want = Want {
            headers: ask.headers,
            head,
            path,
            generation: served.generation,
            kept: None,
        };
        if let Some(name) = path.strip_prefix("/targets/") {
            return self.target(&want, &served, name);
        }
        if let Some(name) = path.strip_prefix("/metadata/") {
            return self.metadata(&want, &served, name);
        }
        match path {
            "/.well-known/samizdat/status.json" => {
                let status = self.status.lock().map(|s| s.to_json(&served));
                let body = status.unwrap_or_else(|_| "{}".into());
                with_type(text(StatusCode::OK, body), "application/json", NO_STORE)
            }
            ENROLL_PATH => self.challenge(),
            crate::blocks::BLOCKS_PATH => blocks_log(&served),
            "/metrics" => with_type(
                text(StatusCode::OK, self.metrics.encode()),
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
                NO_STORE,
            ),
            // Before the reader site (or a release without it): say what this is.
            "/" if common::layout::target_of_plain_path(path)
                .and_then(|home| served.target(&home))
                .is_none() =>
            {
                home(&served)
            }
            _ => self.plain_path(&want, &served),
        }
    }

    /// `ENROLL_PATH`: the challenge `mirror enroll` left in the mirror's folder (beside
    /// `release/`), read on each request (a few bytes, written atomically), never cached: a new
    /// enrolment writes a new one.
    fn challenge(&self) -> Response<Body> {
        let file = self
            .release_dir
            .parent()
            .unwrap_or(Path::new("."))
            .join(crate::enroll::CHALLENGE_FILE);
        let mut token = Vec::new();
        let read = std::fs::File::open(&file)
            .and_then(|f| f.take(crate::enroll::CHALLENGE_MAX).read_to_end(&mut token));
        match read {
            Ok(_) => with_type(
                text(StatusCode::OK, token),
                "text/plain; charset=utf-8",
                NO_STORE,
            ),
            Err(_) => with_type(
                text(StatusCode::NOT_FOUND, "no enrolment under way\n"),
                "text/plain; charset=utf-8",
                NO_STORE,
            ),
        }
    }

    /// `/targets/SHA256.NAME`: a consistent-snapshot name.
    fn target(&self, want: &Want, served: &Served, name: &str) -> Response<Body> {
        let Some((sha, target_name)) = name.split_once('.') else {
            return not_found();
        };
        let etag = format!("\"{sha}\"");
        let file = self.release_dir.join("targets").join(name);
        // A file kept open for this path was opened in this load after every check below,
        // and each depends on the load and the path alone (the file's bytes are named by
        // their hash): read it again without them, as `hot` does.
        if let Some(kept) = self.caches.open_small(want.path, want.generation) {
            let want = Want {
                kept: Some(kept),
                ..*want
            };
            return self.file(&want, &file, &etag, IMMUTABLE, target_name, Asked::Target);
        }
        if let Some(response) = withheld(served, target_name) {
            return response;
        }
        // Not whatever is on disk: a file of an earlier release may quote a document
        // withdrawn since (its home page, listings, search shards).
        if !served.serves_file(name) {
            return not_found();
        }
        if let Some(response) = self.quotes_blocked(want, served, &file, name, target_name) {
            return response;
        }
        self.file(want, &file, &etag, IMMUTABLE, target_name, Asked::Target)
    }

    /// `/metadata/NAME`: `timestamp.json` from memory, any other file from disk.
    fn metadata(&self, want: &Want, served: &Served, name: &str) -> Response<Body> {
        if name == "timestamp.json" {
            let meta = FileMeta {
                etag: served.timestamp_etag.clone(),
                caching: TIMESTAMP,
                content_type: "application/json",
                csp: None,
                vary: false,
            };
            return bytes_response(want.headers, served.timestamp.clone(), &meta, Carry::Bare);
        }
        let file = self.release_dir.join("metadata").join(name);
        let versioned = name.starts_with(|c: char| c.is_ascii_digit());
        let caching = if versioned { IMMUTABLE } else { PLAIN };
        let etag = format!("\"m-{name}\"");
        self.file(want, &file, &etag, caching, name, Asked::Metadata)
    }

    /// A plain site path (`/`, `/d/<id>/`, `/browse/…`): the target it maps to, a redirect to
    /// its folder, or the site's 404 page.
    fn plain_path(&self, want: &Want, served: &Served) -> Response<Body> {
        let path = want.path;
        let found = common::layout::target_of_plain_path(path);
        // A folder asked without its slash (`/d/ID`): its page, to redirect to.
        let folder = format!("{path}/");
        let folder_page = common::layout::is_folder_path(path)
            .then(|| common::layout::target_of_plain_path(&folder))
            .flatten();
        if let Some(response) = found
            .iter()
            .chain(&folder_page)
            .find_map(|name| withheld(served, name))
        {
            return response;
        }
        let Some((Some(target), name)) = found.map(|name| (served.target(&name), name)) else {
            // Its pages link relatively, so send the reader to the folder itself.
            if folder_page.is_some_and(|n| served.target(&n).is_some()) {
                return redirect(&folder);
            }
            return site_not_found(&self.release_dir, served);
        };
        let file = self
            .release_dir
            .join("targets")
            .join(target_file_name(&name, &target));
        if let Some(response) = self.withholding(want, served, &file, &name) {
            return response;
        }
        let etag = format!("\"{}\"", hex::encode(target.sha256));
        // The site's assets and search files carry a hash of their bytes in their
        // path: they never change under it.
        let caching = if common::layout::site_target_is_hashed(&name) {
            IMMUTABLE
        } else {
            PLAIN
        };
        self.file(want, &file, &etag, caching, &name, Asked::PlainPath)
    }

    /// The site file `name` (at `path`), asked by its plain path, with what it shows of the
    /// documents this mirror blocks withheld ([`withhold`]). Worked out once for each load and
    /// path, and kept in the response cache beside the path's own entry (empty: it quotes
    /// none); never kept by the reader's cache, so that an unblock shows at once. None when
    /// nothing is blocked or the file quotes none of them: it is answered as it is.
    fn withholding(
        &self,
        want: &Want,
        served: &Served,
        path: &Path,
        name: &str,
    ) -> Option<Response<Body>> {
        if served.blocked_count() == 0 || !withhold::may_quote(name) {
            return None;
        }
        let key = format!("{}\0withheld", want.path);
        let (page, meta) = match self.caches.answer(&key, want.generation) {
            Some(entry) => (entry.body.clone(), entry.meta().clone()),
            None => {
                let Ok(read) = read_quoting(path) else {
                    return Some(unscanned());
                };
                let page = read
                    .and_then(|bytes| withhold::withhold(name, &bytes, served))
                    .map(|withheld| Bytes::from(withheld.page))
                    .unwrap_or_default();
                let etag = format!("\"w-{}\"", &trust::schema::Digest::of(&page).to_hex()[..32]);
                let meta = file_meta(&etag, NO_STORE, name, Asked::PlainPath);
                let entry = Entry::new(want.generation, page.clone(), meta.clone(), false);
                self.caches.put_answer(key, entry);
                (page, meta)
            }
        };
        (!page.is_empty())
            .then(|| bytes_response(want.headers, page, &meta, Carry::Bytes { gzip: false }))
    }

    /// The answer to `/targets/NAME` (`name`, at `path`; `target_name`, NAME without its hash)
    /// when that site file quotes a document
    /// this mirror blocks: its signed bytes cannot be changed, so it is not served (451 for the
    /// first document it quotes, [`withhold`]). Worked out once for each load and name, and kept
    /// in the response cache (the first quoted document's id; empty: it quotes none), so that a
    /// client asking again and again does not make the file read and scanned each time.
    fn quotes_blocked(
        &self,
        want: &Want,
        served: &Served,
        path: &Path,
        name: &str,
        target_name: &str,
    ) -> Option<Response<Body>> {
        if served.blocked_count() == 0 || !withhold::may_quote(target_name) {
            return None;
        }
        let key = format!("/targets/{name}\0quotes");
        let first = match self.caches.answer(&key, want.generation) {
            Some(entry) => entry.body.clone(),
            None => {
                let Ok(read) = read_quoting(path) else {
                    return Some(unscanned());
                };
                let first = read
                    .and_then(|bytes| withhold::withhold(target_name, &bytes, served))
                    .map(|withheld| Bytes::from(withheld.first))
                    .unwrap_or_default();
                let meta = file_meta("", NO_STORE, target_name, Asked::Target);
                let entry = Entry::new(want.generation, first.clone(), meta, false);
                self.caches.put_answer(key, entry);
                first
            }
        };
        let id = common::DocId::new(std::str::from_utf8(&first).ok()?).ok()?;
        withheld(served, &common::layout::page_target(&id))
    }

    /// Answers with the file at `path`: metadata or a target (content-addressed, served
    /// sandboxed unless it is a page of the reader site asked by its plain path); `name` gives
    /// its type.
    fn file(
        &self,
        want: &Want,
        path: &Path,
        etag: &str,
        caching: &'static str,
        name: &str,
        what: Asked,
    ) -> Response<Body> {
        let meta = file_meta(etag, caching, name, what);
        if meta.vary
            && accepts_gzip(want.headers)
            && let Some(response) = self.gzipped(want, path, &meta)
        {
            return response;
        }
        if none_match(want.headers, etag) {
            return not_modified(&meta, false);
        }
        let cached = self.caches.answer(want.path, want.generation);
        match cached {
            Some(entry) => bytes_response(
                want.headers,
                entry.body.clone(),
                &meta,
                Carry::Bytes { gzip: false },
            ),
            None => match self.read(want, path, &meta) {
                Ok(response) => response,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => not_found(),
                Err(_) => text(StatusCode::INTERNAL_SERVER_ERROR, "cannot read\n"),
            },
        }
    }

    /// The gzipped representation of an immutable text file, made once and kept on disk
    /// (an empty file there means "not worth it"). None: serve the file as it is (no Range on
    /// gzipped bytes; too large; does not shrink; cannot be read).
    fn gzipped(&self, want: &Want, path: &Path, meta: &FileMeta) -> Option<Response<Body>> {
        if want.headers.contains_key(header::RANGE) {
            return None;
        }
        let key = format!("{}\0gz", want.path);
        let gz_meta = meta.gzipped();
        let bytes = match self.caches.answer(&key, want.generation) {
            Some(entry) => entry.body.clone(),
            None => {
                let relative = path.strip_prefix(&self.release_dir).ok()?;
                let gz_path = self.gz_dir.join(relative).with_added_extension("gz");
                let bytes = match std::fs::read(&gz_path) {
                    Ok(bytes) => Bytes::from(bytes),
                    Err(_) => Bytes::from(self.compress(path, &gz_path)?),
                };
                let entry = Entry::new(want.generation, bytes.clone(), gz_meta.clone(), true);
                self.caches.put_answer(key, entry);
                bytes
            }
        };
        if bytes.is_empty() {
            return None;
        }
        Some(bytes_response(
            want.headers,
            bytes,
            &gz_meta,
            Carry::Bytes { gzip: true },
        ))
    }

    /// Compresses `path` into `gz_path` (through a temporary file and a rename); an empty file
    /// when gzip saves less than a tenth, or the file is over [`GZIP_MAX`] (compressed on a
    /// request, in the request's thread: a bigger file would hold both memory and a worker).
    fn compress(&self, path: &Path, gz_path: &Path) -> Option<Vec<u8>> {
        let length = std::fs::metadata(path).ok()?.len();
        let mut gz = Vec::new();
        if length <= GZIP_MAX {
            let original = std::fs::read(path).ok()?;
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(6));
            std::io::Write::write_all(&mut encoder, &original).ok()?;
            gz = encoder.finish().ok()?;
            if gz.len() * 10 > original.len() * 9 {
                gz.clear();
            }
        }
        // A cache: if it cannot be written, the next request compresses again.
        let parent = gz_path.parent()?;
        if std::fs::create_dir_all(parent).is_ok() {
            let _ = crate::files::write_atomic(parent, gz_path, &gz);
        }
        Some(gz)
    }

    /// The file's answer from disk: a small file read whole (from an open file kept, or opened
    /// now and kept) and put in the response cache; a large one kept open and streamed.
    fn read(&self, want: &Want, path: &Path, meta: &FileMeta) -> std::io::Result<Response<Body>> {
        let kept =
            (want.kept.clone()).or_else(|| self.caches.open_small(want.path, want.generation));
        if let Some(open) = kept {
            let entry = self.reread(want.path, want.generation, &open)?;
            let body = entry.body.clone();
            return Ok(bytes_response(
                want.headers,
                body,
                meta,
                Carry::Bytes { gzip: false },
            ));
        }
        let (file, length) = match self.caches.open_large(want.path, want.generation) {
            Some(large) => (large.file.clone(), large.length),
            None => {
                let mut file = std::fs::File::open(path)?;
                let length = file.metadata()?.len();
                if length <= SMALL_FILE {
                    let mut bytes = vec![0; length as usize];
                    file.read_exact(&mut bytes)?;
                    let open = OpenFile {
                        file,
                        length,
                        meta: meta.clone(),
                    };
                    self.caches.put_small(want.path, want.generation, open);
                    return Ok(self.small(want, Bytes::from(bytes), meta));
                }
                let file = Arc::new(file);
                let kept = LargeFile::new(file.clone(), length, meta.clone());
                self.caches.put_large(want.path, want.generation, kept);
                (file, length)
            }
        };
        Ok(file_response(want.headers, want.head, file, length, meta))
    }

    /// The small file kept `open` for `path` since release load `generation`, read again
    /// whole: its answer, kept in the response cache too (when it takes it). For hyper's
    /// path and `hot` alike.
    fn reread(&self, path: &str, generation: u64, open: &OpenFile) -> std::io::Result<Arc<Entry>> {
        let mut bytes = vec![0; open.length as usize];
        std::os::unix::fs::FileExt::read_exact_at(&open.file, &mut bytes, 0)?;
        let entry = Entry::new(generation, Bytes::from(bytes), open.meta.clone(), false);
        let entry = Arc::new(entry);
        self.caches.keep_answer(path, entry.clone());
        Ok(entry)
    }

    /// A small file's bytes, answered and kept in the response cache.
    fn small(&self, want: &Want, bytes: Bytes, meta: &FileMeta) -> Response<Body> {
        let entry = Entry::new(want.generation, bytes.clone(), meta.clone(), false);
        self.caches.put_answer(want.path.to_owned(), entry);
        bytes_response(want.headers, bytes, meta, Carry::Bytes { gzip: false })
    }
}

/// How the file `name` is answered: its type (an original's never one a browser runs), its
/// caching, its CSP (`sandbox` for targets, the site's own policy for the reader site's files
/// by their plain paths, none for metadata), whether it has a gzipped form.
fn file_meta(etag: &str, caching: &'static str, name: &str, what: Asked) -> FileMeta {
    let target = what != Asked::Metadata;
    let plain = what == Asked::PlainPath;
    let content_type = if common::layout::is_original_target(name) {
        original_content_type(name)
    } else {
        content_type(name)
    };
    // Targets and versioned metadata never change under their name: worth gzipping once.
    let immutable = target || caching == IMMUTABLE;
    FileMeta {
        etag: etag.to_owned(),
        caching,
        content_type,
        csp: if !target {
            None
        } else if plain && common::layout::is_site_target(name) {
            Some(SITE_CSP)
        } else {
            Some("sandbox")
        },
        // The site's hashed files compress too, binary or not (the search index's
        // front-coded terms and card text); one that does not gain 10% is sent as it is.
        vary: immutable && (is_text(content_type) || common::layout::site_target_is_hashed(name)),
    }
}

/// What the hot path asks of the server: the caches, for the release served now.
impl crate::hot::Hits for App {
    fn hit(&self, path: &str, gzip: bool) -> Option<Arc<Entry>> {
        self.caches.hit(path, self.served.load().generation, gzip)
    }

    fn large_hit(&self, path: &str, gzip: bool) -> Option<Arc<LargeFile>> {
        self.caches
            .large_hit(path, self.served.load().generation, gzip)
    }

    fn small_hit(&self, path: &str, gzip: bool) -> Option<Arc<Entry>> {
        let generation = self.served.load().generation;
        let open = self.caches.small_hit(path, generation, gzip)?;
        self.reread(path, generation, &open).ok()
    }

    fn metrics(&self) -> &Metrics {
        &self.metrics
    }
}

/// The one check where a target is resolved to a document, for `/targets/` names and plain
/// paths alike, before any file is read (and before a condition or a range is looked at, so
/// neither a 304 nor a part of a file can tell what it holds): 410 Gone with the publisher's
/// reason if `target_name` belongs to a withdrawn document, else 451 Unavailable For Legal
/// Reasons if this mirror blocks it (`blocks`).
///
/// A document both withdrawn and blocked answers 410: the publisher's withdrawal is the
/// stronger fact (the document is gone from the release for every mirror, and the publisher
/// signed it), and it leaves no document for the block to apply to; the block stays in the
/// log, where it was made.
fn withheld(served: &Served, target_name: &str) -> Option<Response<Body>> {
    let id = common::layout::doc_of_target(target_name)?;
    if let Some(reason) = served.withdrawn(id) {
        let body = format!("{id} was withdrawn by the publisher: {reason}\n");
        return Some(with_type(
            text(StatusCode::GONE, body),
            "text/plain; charset=utf-8",
            PLAIN,
        ));
    }
    let order = served.blocked(id)?;
    Some(unavailable(id, order, served.elsewhere()))
}

/// A site file read whole to look for mentions; none when it is not there (it is then not
/// answered) or is over [`withhold::READ_MAX`] (answered as it is). Any other failure is an
/// error: the file may quote a blocked document, so it is not answered, and nothing is kept
/// of the attempt (a file kept open after a passing scan skips it for the whole load).
fn read_quoting(path: &Path) -> std::io::Result<Option<Vec<u8>>> {
    let mut file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    if file.metadata()?.len() > withhold::READ_MAX {
        return Ok(None);
    }
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(Some(bytes))
}

/// The answer when a file that may quote a blocked document cannot be read to find out.
fn unscanned() -> Response<Body> {
    text(StatusCode::INTERNAL_SERVER_ERROR, "cannot read\n")
}

/// 451 for document `id`, blocked by `order`: the notice page (`blocks::notice`), no script
/// allowed, the order's URL as `Link: <URL>; rel="blocked-by"` (RFC 7725).
fn unavailable(
    id: &str,
    order: &crate::blocks::Order,
    elsewhere: &crate::served::Elsewhere,
) -> Response<Body> {
    let page = crate::blocks::notice(id, order, elsewhere);
    // Never kept by a cache: an unblock takes effect at once for readers too.
    let mut response = own_page(
        StatusCode::UNAVAILABLE_FOR_LEGAL_REASONS,
        page,
        "default-src 'none'",
        NO_STORE,
    );
    let h = response.headers_mut();
    // `Order::check` let only printable ASCII without `<>"` in: a valid header value.
    if let Some(link) = order
        .url
        .as_ref()
        .and_then(|url| HeaderValue::from_str(&format!("<{url}>; rel=\"blocked-by\"")).ok())
    {
        h.insert(header::LINK, link);
    }
    response
}

/// `/.well-known/samizdat/blocks.json`: the transparency log of this mirror's legal blocks, as
/// it was when the blocks served were loaded (404 for a mirror that never had a key).
fn blocks_log(served: &Served) -> Response<Body> {
    let log = served.blocks_log();
    if log.is_empty() {
        return with_type(
            text(StatusCode::NOT_FOUND, "this mirror has no blocks log\n"),
            "text/plain; charset=utf-8",
            NO_STORE,
        );
    }
    let mut response = with_type(
        text(StatusCode::OK, log.clone()),
        "application/json",
        NO_STORE,
    );
    response.headers_mut().insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

/// `/` before the reader site (or in a release without it): what this is.
fn home(served: &Served) -> Response<Body> {
    with_type(
        text(
            StatusCode::OK,
            format!(
                "samizdat mirror, release {}\nmetadata: /metadata/timestamp.json\nstatus: /.well-known/samizdat/status.json\n",
                served.version
            ),
        ),
        "text/plain; charset=utf-8",
        PLAIN,
    )
}

/// A plain path the release does not have: the reader site's own page (`/404.html`, its
/// links absolute), with status 404; the plain answer when the release has no site.
fn site_not_found(release_dir: &Path, served: &Served) -> Response<Body> {
    let page = common::layout::target_of_plain_path("/404.html")
        .and_then(|name| Some((served.target(&name)?, name)));
    let Some((target, name)) = page else {
        return not_found();
    };
    let file = release_dir
        .join("targets")
        .join(target_file_name(&name, &target));
    let Ok(body) = std::fs::read(&file) else {
        return not_found();
    };
    own_page(StatusCode::NOT_FOUND, body, SITE_CSP, PLAIN)
}

/// How many files to keep open and connections to take: the soft descriptor limit is first
/// raised to the hard one.
fn descriptors() -> Descriptors {
    let limit = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024);
    Descriptors::of(limit, OPEN_FILES, LARGE_FILES)
}

/// Accepts connections on `listener` until `drain` says to stop: HTTP/1.1 or HTTP/2 (by preface
/// or ALPN), TLS when `tls` is given. At most `cap` connections at once (`conns`: at the cap the
/// least active one is shed); slow clients are cut: 10 s to send a request head or a TLS
/// handshake, 10 s idle, 30 s without write progress, HTTP/2 pings unanswered for 20 s. Once
/// drained, the listener is closed at once, every connection is told to finish (`finish`,
/// `hot`), and this returns when none is left (`handover`).
pub(crate) async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    cap: usize,
    mut drain: Drain,
) -> std::io::Result<()> {
    use crate::conns::{ERROR_RESETS_MAX, H2_PING, HEAD_BYTES_MAX, HEADERS_MAX, IDLE, RESETS_MAX};
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(IDLE)
        .max_buf_size(HEAD_BYTES_MAX)
        .max_headers(HEADERS_MAX);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(128)
        .max_header_list_size(HEAD_BYTES_MAX as u32)
        .max_pending_accept_reset_streams(RESETS_MAX)
        .max_local_error_reset_streams(ERROR_RESETS_MAX)
        .keep_alive_interval(H2_PING)
        .keep_alive_timeout(H2_PING);
    // After the hot path has answered on a connection, it stays HTTP/1.1.
    let http1_only = Arc::new(builder.clone().http1_only());
    let builder = Arc::new(builder);
    let table = Table::new(cap, app.metrics.clone());
    tokio::spawn(table.clone().sweep());
    tokio::spawn(app.gate.clone().forget_idle());
    loop {
        let accepted = tokio::select! {
            biased;
            () = drain.started() => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, from) = match accepted {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait instead of spinning.
                eprintln!("samizdat mirror: accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // Over its address's or prefix's connection cap: closed at once, with a reset (no
        // TIME_WAIT kept here for it).
        let Ok(client) = app.gate.connect(from.ip()) else {
            let _ = stream.set_zero_linger();
            continue;
        };
        let client = Arc::new(client);
        let _ = stream.set_nodelay(true);
        let (conn, guard) = table.enter();
        let id = guard.id;
        let (app, hot_app) = (app.clone(), app.clone());
        let (builder, http1_only) = (builder.clone(), http1_only.clone());
        let tls = tls.clone();
        let mut drain = drain.clone();
        let task = tokio::spawn(async move {
            let _guard = guard;
            let answers = conn.clone();
            let asker = client.clone();
            let service = hyper::service::service_fn(move |request| {
                let app = app.clone();
                let answers = answers.clone();
                let client = asker.clone();
                async move {
                    let response = handle(&app, request, &client);
                    tarpit(&response, &client).await;
                    let flight = client.gate().flight();
                    Ok::<_, Infallible>(response.map(|body| answers.answer(body, flight)))
                }
            });
            match tls {
                None => {
                    if let Some(handoff) =
                        crate::hot::answer_hits(&*hot_app, stream, &conn, &client, &mut drain).await
                    {
                        let builder = if handoff.answered {
                            &http1_only
                        } else {
                            &builder
                        };
                        conn.to_hyper();
                        let stream = Watched::new(handoff.stream, conn.clone());
                        let connection = builder.serve_connection(TokioIo::new(stream), service);
                        let result = finish(connection, &conn, drain).await;
                        crate::conns::ended(&hot_app.metrics, &client, result);
                    }
                }
                Some(acceptor) => {
                    let handshake = tokio::time::timeout(IDLE, acceptor.accept(stream));
                    if let Ok(Ok(stream)) = handshake.await {
                        conn.to_hyper();
                        let stream = Watched::new(stream, conn.clone());
                        let connection = builder.serve_connection(TokioIo::new(stream), service);
                        let result = finish(connection, &conn, drain).await;
                        crate::conns::ended(&hot_app.metrics, &client, result);
                    }
                }
            }
        });
        table.started(id, task.abort_handle());
    }
    // A listening socket systemd passed stays open there: what waits in its backlog goes to
    // the next process.
    drop(listener);
    table.emptied().await;
    Ok(())
}

/// Serves one of hyper's connections to its end; once the server drains, tells it to finish
/// (HTTP/1.1: the answer in flight goes with `Connection: close`, an idle connection is closed;
/// HTTP/2: GOAWAY, the streams open finish). Only once it has asked something: a connection
/// accepted just before the drain has its first request answered (or meets the usual 10 s
/// limits), so that a reader who had just connected is not turned away.
async fn finish<C>(
    connection: C,
    conn: &Conn,
    mut drain: Drain,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>>
where
    C: GracefulConnection,
    C::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    /// How often a connection told to finish is looked at until it has asked something.
    const ASKED: Duration = Duration::from_millis(20);
    let mut connection = std::pin::pin!(connection);
    tokio::select! {
        biased;
        result = connection.as_mut() => return result.map_err(Into::into),
        () = drain.started() => {}
    }
    while !conn.asked() {
        tokio::select! {
            biased;
            result = connection.as_mut() => return result.map_err(Into::into),
            () = tokio::time::sleep(ASKED) => {}
        }
    }
    connection.as_mut().graceful_shutdown();
    connection.await.map_err(Into::into)
}

/// One request of `client`, counted in the metrics: [`App::answer`] on its parts.
pub fn handle(app: &App, request: Request<Incoming>, client: &Client) -> Response<Body> {
    let (parts, _body) = request.into_parts();
    let response = app.answer(Ask::of(&parts, client));
    if parts.method == hyper::Method::HEAD {
        without_body(response)
    } else {
        response
    }
}

/// The guard's tarpit: a client over its rate waits [`Gate::tarpit`] for its 429 (only the
/// guard answers 429), so that a flooding connection asks at most once that long.
///
/// [`Gate::tarpit`]: crate::guard::Gate::tarpit
pub(crate) async fn tarpit(response: &Response<Body>, client: &Client) {
    if response.status() == StatusCode::TOO_MANY_REQUESTS {
        tokio::time::sleep(client.gate().tarpit()).await;
    }
}

/// The answer to a HEAD: GET's headers, its length said, no body. HTTP/1.1 leaves a body out by
/// itself, but over HTTP/2 a HEAD answered with one was a stream error (curl:
/// `PROTOCOL_ERROR`), whatever the status.
fn without_body(response: Response<Body>) -> Response<Body> {
    let (mut parts, body) = response.into_parts();
    let http_body_util::Either::Left(full) = body else {
        // Streamed bodies are never opened for HEAD (`answer::file_response`).
        return Response::from_parts(parts, body);
    };
    // A 304 says nothing of a length (it has no content, RFC 9110 §15.4.5).
    if parts.status != StatusCode::NOT_MODIFIED {
        let length = hyper::body::Body::size_hint(&full).exact().unwrap_or(0);
        parts
            .headers
            .entry(header::CONTENT_LENGTH)
            .or_insert_with(|| HeaderValue::from(length));
    }
    Response::from_parts(
        parts,
        http_body_util::Either::Left(http_body_util::Full::new(Bytes::new())),
    )
}

/// A TLS acceptor from PEM certificate chain and private key files (ALPN: h2, http/1.1).
pub fn tls_acceptor(cert: &Path, key: &Path) -> Result<tokio_rustls::TlsAcceptor, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs = CertificateDer::pem_file_iter(cert)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{}: cannot read the certificate chain: {e}", cert.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no certificate in it", cert.display()));
    }
    let key = PrivateKeyDer::from_pem_file(key)
        .map_err(|e| format!("{}: cannot read the private key: {e}", key.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| format!("{}: {e}", cert.display()))?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

#[cfg(test)]
mod tests {
    //! The server's answers from request parts alone: no socket, no signed release (a
    //! [`Served`] made of target names and hashes, files under a temporary `release/`).

    use std::pin::Pin;
    use std::task::{Context, Poll, Waker};

    use hyper::Method;
    use hyper::body::Body as _;

    use super::*;
    use crate::hot::answer_bytes;

    /// A release on disk: a short HTML original (`m-1`), its document page, a compressible
    /// text original (`m-2`), a large one (`m-3`), a withdrawn document's original (`w-1`), a
    /// versioned metadata file.
    struct Fixture {
        _tmp: tempfile::TempDir,
        app: App,
        text: Vec<u8>,
        large: Vec<u8>,
    }

    const TEXT: &str = "m-2.original.txt";
    const HTML: &str = "m-1.original.html";
    const PAGE: &str = "m-1.html";
    const LARGE: &str = "m-3.original.txt";

    fn sha(bytes: &[u8]) -> [u8; 32] {
        trust::schema::Digest::of(bytes).0
    }

    fn fixture() -> Fixture {
        let tmp = tempfile::tempdir().expect("tempdir");
        let release = tmp.path().join("release");
        std::fs::create_dir_all(release.join("targets")).expect("mkdir");
        std::fs::create_dir_all(release.join("metadata")).expect("mkdir");
        let text: Vec<u8> = (0..400)
            .flat_map(|i| format!("line {i:04} of a text\n").into_bytes())
            .collect();
        let large: Vec<u8> = (0..30_000)
            .flat_map(|i| format!("line {i:08}\n").into_bytes())
            .collect();
        let files: [(&str, Vec<u8>); 5] = [
            (HTML, b"<p>hostile</p>".to_vec()),
            (PAGE, b"<!doctype html><title>m-1</title>".to_vec()),
            (TEXT, text.clone()),
            (LARGE, large.clone()),
            ("w-1.original.pdf", b"%PDF-1.4 withdrawn".to_vec()),
        ];
        let mut targets = Vec::new();
        for (name, bytes) in &files {
            let sha = sha(bytes);
            let file = release
                .join("targets")
                .join(format!("{}.{name}", hex::encode(sha)));
            std::fs::write(file, bytes).expect("write");
            targets.push((*name, sha));
        }
        std::fs::write(release.join("metadata/1.snapshot.json"), b"{\"signed\":{}}")
            .expect("write");
        let served = Served::of_targets(
            1,
            b"{\"timestamp\":1}",
            &targets,
            &[("w-1", "a court order")],
        );
        Fixture {
            app: App::new(release, served, Status::default()),
            _tmp: tmp,
            text,
            large,
        }
    }

    fn target_path(name: &str, bytes: &[u8]) -> String {
        format!("/targets/{}.{name}", hex::encode(sha(bytes)))
    }

    /// The answer to `method path` with `headers`, through [`App::answer`] as hyper calls it.
    fn ask(app: &App, method: Method, path: &str, headers: &[(&str, &str)]) -> Response<Body> {
        let mut map = HeaderMap::new();
        for (name, value) in headers {
            map.append(
                header::HeaderName::from_bytes(name.as_bytes()).expect("name"),
                HeaderValue::from_str(value).expect("value"),
            );
        }
        let client = reader(app);
        app.answer(Ask {
            method: &method,
            path,
            headers: &map,
            client: &client,
        })
    }

    /// A client from 127.0.0.1, as the guard admits it.
    fn reader(app: &App) -> Client {
        app.gate.connect([127, 0, 0, 1].into()).expect("admitted")
    }

    fn get(app: &App, path: &str, headers: &[(&str, &str)]) -> Response<Body> {
        ask(app, Method::GET, path, headers)
    }

    /// The body's bytes (every body here is ready at once: bytes in memory, or `pread`s).
    fn body(response: Response<Body>) -> Vec<u8> {
        let mut body = response.into_body();
        let mut cx = Context::from_waker(Waker::noop());
        let mut out = Vec::new();
        while let Poll::Ready(Some(frame)) = Pin::new(&mut body).poll_frame(&mut cx) {
            if let Ok(data) = frame.expect("a frame").into_data() {
                out.extend_from_slice(&data);
            }
        }
        out
    }

    fn value(response: &Response<Body>, name: header::HeaderName) -> Option<&str> {
        response.headers().get(name).and_then(|v| v.to_str().ok())
    }

    /// The headers, sorted, as `name: value` lines.
    fn lines(headers: &HeaderMap) -> Vec<String> {
        let mut lines: Vec<String> = headers
            .iter()
            .map(|(n, v)| format!("{n}: {}", v.to_str().unwrap_or("?")))
            .collect();
        lines.sort();
        lines
    }

    #[test]
    fn ranges_at_the_edges_from_request_parts() {
        let f = fixture();
        let path = target_path(TEXT, &f.text);
        let n = f.text.len();
        // Each twice: the first a miss, the second from the response cache.
        for round in ["miss", "hit"] {
            for (range, start, end) in [
                ("bytes=0-0".to_owned(), 0, 1),
                (format!("bytes={}-{}", n - 1, n - 1), n - 1, n),
                ("bytes=-7".to_owned(), n - 7, n),
                (format!("bytes=5-{}", n + 1000), 5, n),
                ("bytes=5-18446744073709551615".to_owned(), 5, n),
            ] {
                let response = get(&f.app, &path, &[("range", &range)]);
                assert_eq!(
                    response.status(),
                    StatusCode::PARTIAL_CONTENT,
                    "{round} {range}"
                );
                let content_range = format!("bytes {start}-{}/{n}", end - 1);
                assert_eq!(
                    value(&response, header::CONTENT_RANGE),
                    Some(content_range.as_str())
                );
                assert_eq!(body(response), f.text[start..end], "{round} {range}");
            }
            let response = get(&f.app, &path, &[("range", &format!("bytes={n}-"))]);
            assert_eq!(
                response.status(),
                StatusCode::RANGE_NOT_SATISFIABLE,
                "{round}"
            );
            let unsatisfied = format!("bytes */{n}");
            assert_eq!(
                value(&response, header::CONTENT_RANGE),
                Some(unsatisfied.as_str())
            );
            assert_eq!(
                value(&response, header::CONTENT_SECURITY_POLICY),
                Some("sandbox")
            );
            let whole = get(&f.app, &path, &[]);
            assert_eq!(whole.status(), StatusCode::OK);
            assert_eq!(body(whole), f.text);
        }
        // A large file, streamed from disk: the same edges.
        let path = target_path(LARGE, &f.large);
        let n = f.large.len();
        let response = get(&f.app, &path, &[("range", "bytes=-3")]);
        assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(body(response), f.large[n - 3..]);
        let response = get(&f.app, &path, &[("range", "bytes=5-18446744073709551615")]);
        assert_eq!(
            value(&response, header::CONTENT_LENGTH),
            Some(&*(n - 5).to_string())
        );
        assert_eq!(body(response), f.large[5..]);
        let response = get(&f.app, &path, &[("range", "bytes=18446744073709551615-")]);
        assert_eq!(response.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    }

    #[test]
    fn a_matching_etag_is_304_without_a_body() {
        let f = fixture();
        let path = target_path(TEXT, &f.text);
        let etag = format!("\"{}\"", hex::encode(sha(&f.text)));
        for tag in [etag.clone(), format!("\"other\", W/{etag}"), "*".into()] {
            let response = get(&f.app, &path, &[("if-none-match", &tag)]);
            assert_eq!(response.status(), StatusCode::NOT_MODIFIED, "{tag}");
            assert_eq!(value(&response, header::ETAG), Some(etag.as_str()));
            assert_eq!(
                value(&response, header::CACHE_CONTROL),
                Some("public, max-age=31536000, immutable")
            );
            assert!(body(response).is_empty());
        }
        let response = get(&f.app, &path, &[("if-none-match", "\"other\"")]);
        assert_eq!(response.status(), StatusCode::OK);
        // The timestamp, from memory, has an ETag of its own.
        let response = get(&f.app, "/metadata/timestamp.json", &[]);
        let etag = value(&response, header::ETAG).expect("etag").to_owned();
        let response = get(
            &f.app,
            "/metadata/timestamp.json",
            &[("if-none-match", &etag)],
        );
        assert_eq!(response.status(), StatusCode::NOT_MODIFIED);
    }

    #[test]
    fn head_has_the_headers_of_get_and_no_body_of_its_own() {
        let f = fixture();
        // A small file: hyper leaves the body out of a HEAD answer; the headers are GET's,
        // asked first (a miss) or after (a hit).
        let path = target_path(TEXT, &f.text);
        let head = ask(&f.app, Method::HEAD, &path, &[]);
        let get_miss_then_hit = get(&f.app, &path, &[]);
        assert_eq!(lines(head.headers()), lines(get_miss_then_hit.headers()));
        let head = ask(&f.app, Method::HEAD, &path, &[]);
        assert_eq!(lines(head.headers()), lines(get_miss_then_hit.headers()));
        // A large file: no body is even opened for HEAD.
        let path = target_path(LARGE, &f.large);
        let get_large = get(&f.app, &path, &[]);
        let head = ask(&f.app, Method::HEAD, &path, &[]);
        assert_eq!(lines(head.headers()), lines(get_large.headers()));
        assert_eq!(
            value(&head, header::CONTENT_LENGTH),
            Some(&*f.large.len().to_string())
        );
        assert_eq!(head.body().size_hint().exact(), Some(0));
        assert!(body(head).is_empty());
        assert_eq!(body(get_large), f.large);
    }

    #[test]
    fn a_withdrawn_document_is_410_on_every_path_with_the_reason() {
        let f = fixture();
        let pdf = b"%PDF-1.4 withdrawn";
        for path in [
            target_path("w-1.original.pdf", pdf),
            "/d/w-1/original.pdf".into(),
            "/d/w-1/".into(),
            "/d/w-1/doc.json".into(),
        ] {
            let response = get(&f.app, &path, &[]);
            assert_eq!(response.status(), StatusCode::GONE, "{path}");
            let text = String::from_utf8(body(response)).expect("text");
            assert_eq!(text, "w-1 was withdrawn by the publisher: a court order\n");
        }
    }

    /// A site file that may quote a blocked document and cannot be read to find out is not
    /// served, by its plain path or its `/targets/` name, and nothing is kept of the failed
    /// scan: once it reads, the scan finds the mention (a kept "quotes none" served it whole).
    #[test]
    fn a_quoting_page_that_cannot_be_scanned_is_not_served_and_not_remembered_clean() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let release = tmp.path().join("release");
        std::fs::create_dir_all(release.join("targets")).expect("mkdir");
        let mut home = String::from("<ol><li>");
        common::mention::open_link(&mut home, "", "m-1");
        home.push_str("Seals of the court</a></li></ol>");
        let name = "_s_index.html";
        let file = release
            .join("targets")
            .join(format!("{}.{name}", hex::encode(sha(home.as_bytes()))));
        // A directory where the file should be: opened, but not read.
        std::fs::create_dir(&file).expect("mkdir");
        let targets = [(name, sha(home.as_bytes())), (PAGE, sha(b"<p>blocked</p>"))];
        let mut blocks = crate::blocks::Blocks::default();
        let order = crate::blocks::Order {
            authority: "Court".into(),
            reference: "C-1".into(),
            url: None,
            jurisdiction: None,
        };
        blocks.orders.insert("m-1".into(), order);
        let blocking = Served::of_targets(1, b"{\"timestamp\":1}", &targets, &[])
            .blocking(blocks, crate::served::Elsewhere::default());
        let app = App::new(release, blocking, Status::default());
        let signed = target_path(name, home.as_bytes());
        for path in [signed.as_str(), "/"] {
            let status = get(&app, path, &[]).status();
            assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{path}");
        }
        std::fs::remove_dir(&file).expect("rmdir");
        std::fs::write(&file, home.as_bytes()).expect("write");
        let status = get(&app, &signed, &[]).status();
        assert_eq!(status, StatusCode::UNAVAILABLE_FOR_LEGAL_REASONS);
        let page = String::from_utf8(body(get(&app, "/", &[]))).expect("utf-8");
        assert!(
            !page.contains("Seals") && page.contains("[withheld]"),
            "{page}"
        );
    }

    /// A blocked document: 451 with the order on every path, before any condition, range or
    /// cache (the hot path's included) could show it; withdrawn and blocked: 410.
    #[test]
    fn pages_that_quote_a_blocked_document_withhold_its_title_and_their_signed_names_are_451() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let release = tmp.path().join("release");
        std::fs::create_dir_all(release.join("targets")).expect("mkdir");
        let mut home = String::from("<ol><li>");
        common::mention::open_link(&mut home, "", "m-1");
        home.push_str("Seals of the court</a> ");
        common::mention::open_by(&mut home, "m-1");
        home.push_str("Ann Sender</span></li><li>");
        common::mention::open_link(&mut home, "", "m-3");
        home.push_str("Kept title</a></li></ol>");
        let cards = br#"[["m-1","Seals of the court","2002-01-02","email","Ann Sender",null]]"#;
        let files: [(&str, Vec<u8>); 4] = [
            ("_s_index.html", home.clone().into_bytes()),
            ("_s_browse_index.html", b"<p>no mention</p>".to_vec()),
            ("_s_search_c_3fa9c2e1b0d4.json", cards.to_vec()),
            (PAGE, b"<p>blocked</p>".to_vec()),
        ];
        let targets: Vec<(&str, [u8; 32])> = files.iter().map(|(n, b)| (*n, sha(b))).collect();
        for (name, bytes) in &files {
            let file = release
                .join("targets")
                .join(format!("{}.{name}", hex::encode(sha(bytes))));
            std::fs::write(file, bytes).expect("write");
        }
        let open = Served::of_targets(1, b"{\"timestamp\":1}", &targets, &[]);
        let app = App::new(release, open, Status::default());
        assert_eq!(
            body(get(&app, "/", &[])),
            home.as_bytes(),
            "nothing blocked"
        );

        let order = crate::blocks::Order {
            authority: "Court".into(),
            reference: "C-1".into(),
            url: None,
            jurisdiction: None,
        };
        let mut blocks = crate::blocks::Blocks::default();
        blocks.orders.insert("m-1".into(), order);
        let blocking = Served::of_targets(1, b"{\"timestamp\":1}", &targets, &[])
            .blocking(blocks, crate::served::Elsewhere::default());
        app.switch(blocking);
        for round in ["read", "cached"] {
            let response = get(&app, "/", &[]);
            assert_eq!(response.status(), StatusCode::OK, "{round}");
            assert_eq!(value(&response, header::CACHE_CONTROL), Some("no-store"));
            let etag = value(&response, header::ETAG).expect("etag").to_owned();
            assert_ne!(etag, format!("\"{}\"", hex::encode(sha(home.as_bytes()))));
            let page = String::from_utf8(body(response)).expect("utf-8");
            assert!(
                !page.contains("Seals") && !page.contains("Ann"),
                "{round}: {page}"
            );
            assert!(page.contains("<a href=\"d/m-1/\">[withheld]</a>"), "{page}");
            assert!(page.contains("Kept title"), "{page}");
            // The hot path has nothing of it to answer: never the signed page.
            let hot = "GET / HTTP/1.1\r\nhost: x\r\n\r\n";
            assert!(
                answer_bytes(&app, &reader(&app), hot.as_bytes()).is_none(),
                "{round}"
            );
            let head = ask(&app, Method::HEAD, "/index.html", &[]);
            assert_eq!(head.status(), StatusCode::OK);
            assert_eq!(value(&head, header::ETAG), Some(etag.as_str()));
            let again = get(&app, "/", &[("if-none-match", &etag)]);
            assert_eq!(again.status(), StatusCode::NOT_MODIFIED, "{round}");
            let gz = body(get(
                &app,
                "/search/c/3fa9c2e1b0d4.json",
                &[("accept-encoding", "gzip")],
            ));
            let gz = String::from_utf8(gz).expect("utf-8");
            assert!(
                gz.contains("[withheld]") && !gz.contains("Seals") && !gz.contains("Ann"),
                "{gz}"
            );
        }
        assert_eq!(body(get(&app, "/browse/", &[])), b"<p>no mention</p>");
        // Twice: read and scanned, then from the response cache: the home page's file is
        // changed on disk to quote nothing in between, so that a second scan would serve it.
        let home_file = tmp.path().join("release/targets").join(format!(
            "{}._s_index.html",
            hex::encode(sha(home.as_bytes()))
        ));
        for round in ["read", "cached"] {
            if round == "cached" {
                std::fs::write(&home_file, b"<p>no mention</p>").expect("write");
            }
            for (name, bytes) in &files[..3] {
                let path = target_path(name, bytes);
                let status = get(&app, &path, &[]).status();
                if name.contains("browse") {
                    assert_eq!(status, StatusCode::OK, "{round} {path}");
                } else {
                    assert_eq!(
                        status,
                        StatusCode::UNAVAILABLE_FOR_LEGAL_REASONS,
                        "{round} {path}"
                    );
                }
            }
        }

        std::fs::write(&home_file, home.as_bytes()).expect("write");
        let unblocked = Served::of_targets(1, b"{\"timestamp\":1}", &targets, &[]);
        app.switch(unblocked);
        assert_eq!(body(get(&app, "/", &[])), home.as_bytes(), "unblocked");
        // Nothing kept from the blocking load: the signed names answer again.
        for (name, bytes) in &files[..3] {
            let path = target_path(name, bytes);
            assert_eq!(get(&app, &path, &[]).status(), StatusCode::OK, "{path}");
        }
    }

    #[test]
    fn a_blocked_document_is_451_on_every_path_and_a_withdrawn_one_stays_410() {
        let f = fixture();
        let text_path = target_path(TEXT, &f.text);
        let etag = value(&get(&f.app, &text_path, &[]), header::ETAG)
            .expect("etag")
            .to_owned();
        let hot = format!("GET {text_path} HTTP/1.1\r\nhost: x\r\n\r\n");
        assert!(
            answer_bytes(&f.app, &reader(&f.app), hot.as_bytes()).is_some(),
            "cached"
        );
        let order = crate::blocks::Order {
            authority: "Court <of> Appeal".into(),
            reference: "C-1/26".into(),
            url: Some("https://court.example/c-1".into()),
            jurisdiction: Some("FR".into()),
        };
        let mut blocks = crate::blocks::Blocks::default();
        for id in ["m-1", "m-2", "w-1"] {
            blocks.orders.insert(id.into(), order.clone());
        }
        let elsewhere = crate::served::Elsewhere {
            mirrors: vec!["https://other.example/".into()],
            directory_lists: vec!["https://dir.example/mirrors.json".into()],
        };
        let served = f.app.served();
        let blocked = Served::of_targets(
            served.version,
            b"{\"timestamp\":1}",
            &[(TEXT, sha(&f.text)), (HTML, sha(b"<p>hostile</p>"))],
            &[("w-1", "a court order")],
        )
        .blocking(blocks, elsewhere);
        f.app.switch(blocked);
        assert!(
            answer_bytes(&f.app, &reader(&f.app), hot.as_bytes()).is_none(),
            "caches emptied"
        );
        let other_hash = format!("/targets/{}.{TEXT}", hex::encode([7u8; 32]));
        let asked: [(Method, &str, Extra); 10] = [
            (Method::GET, &text_path, &[]),
            (Method::HEAD, &text_path, &[]),
            (Method::GET, &text_path, &[("range", "bytes=0-9")]),
            (Method::GET, &text_path, &[("if-none-match", &etag)]),
            (Method::GET, &text_path, &[("accept-encoding", "gzip")]),
            (Method::GET, &other_hash, &[]),
            (
                Method::GET,
                "/d/m-2/original.txt",
                &[("if-none-match", "*")],
            ),
            (Method::GET, "/d/m-1", &[]),
            (Method::GET, "/d/m-1/", &[]),
            (Method::GET, "/d/m-1/doc.json", &[]),
        ];
        for (method, path, headers) in asked {
            let response = ask(&f.app, method.clone(), path, headers);
            assert_eq!(
                response.status(),
                StatusCode::UNAVAILABLE_FOR_LEGAL_REASONS,
                "{method} {path} {headers:?}"
            );
            assert_eq!(
                value(&response, header::LINK),
                Some("<https://court.example/c-1>; rel=\"blocked-by\"")
            );
            assert_eq!(value(&response, header::CACHE_CONTROL), Some("no-store"));
            assert_eq!(value(&response, header::ETAG), None);
            let page = String::from_utf8(body(response)).expect("text");
            if method == Method::HEAD {
                continue;
            }
            assert!(!page.contains("line 0000"), "{path}: {page}");
            for shown in [
                "Court &lt;of&gt; Appeal",
                "C-1/26",
                "FR",
                "href=\"https://other.example/\"",
                "https://dir.example/mirrors.json",
            ] {
                assert!(page.contains(shown), "{path}: no {shown} in {page}");
            }
            assert!(!page.contains("<script"), "{page}");
        }
        // Withdrawn and blocked: the publisher's 410.
        for path in ["/d/w-1/original.pdf", "/d/w-1"] {
            let response = get(&f.app, path, &[]);
            assert_eq!(response.status(), StatusCode::GONE, "{path}");
            assert_eq!(value(&response, header::LINK), None);
        }
    }

    #[test]
    fn originals_are_sandboxed_and_the_sites_files_get_the_sites_policy() {
        let f = fixture();
        let html = b"<p>hostile</p>";
        for path in [target_path(HTML, html), "/d/m-1/original.html".into()] {
            let response = get(&f.app, &path, &[]);
            assert_eq!(response.status(), StatusCode::OK, "{path}");
            assert_eq!(
                value(&response, header::CONTENT_SECURITY_POLICY),
                Some("sandbox")
            );
            assert_eq!(
                value(&response, header::CONTENT_TYPE),
                Some("text/plain; charset=utf-8"),
                "an original's HTML is never served as HTML"
            );
            assert_eq!(
                value(&response, header::X_CONTENT_TYPE_OPTIONS),
                Some("nosniff")
            );
        }
        let page = get(&f.app, "/d/m-1/", &[]);
        assert_eq!(
            value(&page, header::CONTENT_SECURITY_POLICY),
            Some(SITE_CSP)
        );
        assert_eq!(
            value(&page, header::CONTENT_TYPE),
            Some("text/html; charset=utf-8")
        );
        assert_eq!(value(&page, header::ACCESS_CONTROL_ALLOW_ORIGIN), Some("*"));
        // The same page under `/targets/` is a target like any other: sandboxed.
        let page = b"<!doctype html><title>m-1</title>";
        let under_targets = get(&f.app, &target_path(PAGE, page), &[]);
        assert_eq!(
            value(&under_targets, header::CONTENT_SECURITY_POLICY),
            Some("sandbox")
        );
        let metadata = get(&f.app, "/metadata/1.snapshot.json", &[]);
        assert_eq!(metadata.status(), StatusCode::OK);
        assert_eq!(value(&metadata, header::CONTENT_SECURITY_POLICY), None);
    }

    #[test]
    fn gzip_only_when_accepted_and_never_for_a_range() {
        let f = fixture();
        let path = target_path(TEXT, &f.text);
        for round in 0..2 {
            let response = get(&f.app, &path, &[("accept-encoding", "br, gzip")]);
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(
                value(&response, header::CONTENT_ENCODING),
                Some("gzip"),
                "{round}"
            );
            assert_eq!(value(&response, header::VARY), Some("accept-encoding"));
            let etag = value(&response, header::ETAG).expect("etag").to_owned();
            assert!(etag.ends_with("-gz\""), "{etag}");
            let mut decoded = Vec::new();
            let gz = body(response);
            assert!(gz.len() < f.text.len());
            std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(&gz[..]), &mut decoded)
                .expect("gunzip");
            assert_eq!(decoded, f.text);
        }
        for refused in [&[][..], &[("accept-encoding", "gzip;q=0")][..]] {
            let response = get(&f.app, &path, refused);
            assert_eq!(value(&response, header::CONTENT_ENCODING), None);
            assert_eq!(value(&response, header::VARY), Some("accept-encoding"));
            assert_eq!(body(response), f.text);
        }
        let response = get(
            &f.app,
            &path,
            &[("accept-encoding", "gzip"), ("range", "bytes=0-9")],
        );
        assert_eq!(response.status(), StatusCode::PARTIAL_CONTENT);
        assert_eq!(value(&response, header::CONTENT_ENCODING), None);
        assert_eq!(body(response), f.text[..10]);
        // An original's HTML is text/plain: compressible, but this one is too short to gain.
        let html = get(
            &f.app,
            &target_path(HTML, b"<p>hostile</p>"),
            &[("accept-encoding", "gzip")],
        );
        assert_eq!(value(&html, header::CONTENT_ENCODING), None);
    }

    #[test]
    fn the_enrolment_challenge_is_served_fresh_before_and_after_a_release() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let syncing = App::new(
            tmp.path().join("release"),
            Served::empty(),
            Status::default(),
        );
        let f = fixture();
        let ready_dir = f._tmp.path().to_owned();
        for (app, dir) in [(&syncing, tmp.path()), (&f.app, ready_dir.as_path())] {
            let absent = get(app, ENROLL_PATH, &[]);
            assert_eq!(absent.status(), StatusCode::NOT_FOUND);
            assert_eq!(value(&absent, header::CACHE_CONTROL), Some("no-store"));
            for token in ["1700000900.abcdef\n", "1700000999.012345\n"] {
                std::fs::write(dir.join(crate::enroll::CHALLENGE_FILE), token).expect("write");
                let response = get(app, ENROLL_PATH, &[]);
                assert_eq!(response.status(), StatusCode::OK);
                assert_eq!(value(&response, header::CACHE_CONTROL), Some("no-store"));
                assert_eq!(
                    value(&response, header::CONTENT_TYPE),
                    Some("text/plain; charset=utf-8")
                );
                assert_eq!(body(response), token.as_bytes());
            }
            // Capped: a huge file there is not read whole.
            let huge = vec![b'x'; 1 << 20];
            std::fs::write(dir.join(crate::enroll::CHALLENGE_FILE), &huge).expect("write");
            let response = get(app, ENROLL_PATH, &[]);
            assert_eq!(body(response).len() as u64, crate::enroll::CHALLENGE_MAX);
        }
    }

    #[test]
    fn before_a_release_503_but_status_and_metrics_and_only_get_and_head() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let app = App::new(
            tmp.path().join("release"),
            Served::empty(),
            Status::default(),
        );
        let response = get(&app, "/metadata/timestamp.json", &[]);
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(value(&response, header::RETRY_AFTER), Some("30"));
        assert_eq!(value(&response, header::CACHE_CONTROL), Some("no-store"));
        for path in ["/.well-known/samizdat/status.json", "/metrics"] {
            assert_eq!(get(&app, path, &[]).status(), StatusCode::OK, "{path}");
        }
        let f = fixture();
        let response = ask(&f.app, Method::POST, "/", &[]);
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
        assert_eq!(value(&response, header::ALLOW), Some("GET, HEAD"));
        let response = get(&f.app, "/metadata/../keys", &[]);
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        let metrics = String::from_utf8(body(get(&f.app, "/metrics", &[]))).expect("text");
        assert!(
            metrics.contains("samizdat_mirror_http_requests_total{class=\"4xx\"} 2"),
            "{metrics}"
        );
    }

    /// Request headers, as (name, value).
    type Extra<'a> = &'a [(&'a str, &'a str)];

    /// The head the hot path writes, as sorted `name: value` lines without `date`.
    fn hot_lines(app: &App, request: &str) -> (String, Vec<String>) {
        let bytes =
            answer_bytes(app, &reader(app), request.as_bytes()).expect("answered by the hot path");
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let (head, _) = text.split_once("\r\n\r\n").expect("a head");
        let mut lines = head.lines();
        let status = lines.next().unwrap_or_default().to_owned();
        let mut lines: Vec<String> = lines
            .filter(|l| !l.starts_with("date: "))
            .map(str::to_owned)
            .collect();
        lines.sort();
        (status, lines)
    }

    /// One builder for all: a file's answer has the same headers from hyper's miss, hyper's
    /// cache hit and the hot path, whole or gzipped, small or large.
    #[test]
    fn hits_misses_and_the_hot_path_send_the_same_headers() {
        let f = fixture();
        let with_length = |response: &Response<Body>, length: usize| {
            let mut lines = lines(response.headers());
            lines.retain(|l| !l.starts_with("content-length: "));
            lines.push(format!("content-length: {length}"));
            lines.sort();
            lines
        };
        let cases: [(String, Extra, usize); 3] = [
            (target_path(TEXT, &f.text), &[], f.text.len()),
            ("/d/m-1/".into(), &[], 33),
            (
                target_path(TEXT, &f.text),
                &[("accept-encoding", "gzip")],
                0,
            ),
        ];
        for (path, headers, length) in cases {
            let miss = get(&f.app, &path, headers);
            let hit = get(&f.app, &path, headers);
            let length = if length == 0 {
                body(get(&f.app, &path, headers)).len()
            } else {
                length
            };
            assert_eq!(
                with_length(&miss, length),
                with_length(&hit, length),
                "{path}"
            );
            let extra: String = headers
                .iter()
                .map(|(n, v)| format!("{n}: {v}\r\n"))
                .collect();
            let request = format!("GET {path} HTTP/1.1\r\nhost: x\r\n{extra}\r\n");
            let (status, hot) = hot_lines(&f.app, &request);
            assert_eq!(status, "HTTP/1.1 200 OK");
            assert_eq!(hot, with_length(&hit, length), "{path} {headers:?}");
        }
        // A large file: hyper's streamed answer, then the hot path's `sendfile` head.
        let path = target_path(LARGE, &f.large);
        let streamed = get(&f.app, &path, &[]);
        let (_, hot) = hot_lines(&f.app, &format!("GET {path} HTTP/1.1\r\nhost: x\r\n\r\n"));
        assert_eq!(hot, lines(streamed.headers()));
        // HEAD on the hot path: the same head, no body.
        let (_, hot_head) = hot_lines(&f.app, &format!("HEAD {path} HTTP/1.1\r\nhost: x\r\n\r\n"));
        assert_eq!(hot_head, hot);
    }

    /// A small file kept open whose answer the response cache no longer holds (full, under
    /// random reads) is read again by the hot path: the bytes and head hyper sends for it, and
    /// its answer is kept again; gzip-takers and conditional requests still go to hyper.
    #[test]
    fn the_hot_path_reads_again_a_small_file_kept_open() {
        let f = fixture();
        let path = target_path(TEXT, &f.text);
        let request = format!("GET {path} HTTP/1.1\r\nhost: x\r\n\r\n");
        let hot = |request: &str| answer_bytes(&f.app, &reader(&f.app), request.as_bytes());
        assert!(hot(&request).is_none(), "never opened: hyper's");
        let from_hyper = get(&f.app, &path, &[]);
        let mut hyper_lines = lines(from_hyper.headers());
        hyper_lines.retain(|l| !l.starts_with("content-length: "));
        hyper_lines.push(format!("content-length: {}", f.text.len()));
        hyper_lines.sort();
        assert_eq!(body(from_hyper), f.text);
        f.app.caches.forget_answers();
        assert!(
            f.app
                .caches
                .hit(&path, f.app.served().generation, false)
                .is_none()
        );
        let answered = hot(&request).expect("read again by the hot path");
        let text = String::from_utf8(answered).expect("utf-8");
        let (_, sent) = text.split_once("\r\n\r\n").expect("a head");
        assert_eq!(sent.as_bytes(), f.text.as_slice());
        f.app.caches.forget_answers();
        let (status, head) = hot_lines(&f.app, &request);
        assert_eq!(status, "HTTP/1.1 200 OK");
        assert_eq!(head, hyper_lines);
        assert!(
            f.app
                .caches
                .hit(&path, f.app.served().generation, false)
                .is_some(),
            "kept in the response cache again"
        );
        f.app.caches.forget_answers();
        for extra in ["accept-encoding: gzip\r\n", "if-none-match: \"x\"\r\n"] {
            let asked = format!("GET {path} HTTP/1.1\r\nhost: x\r\n{extra}\r\n");
            assert!(hot(&asked).is_none(), "{extra}");
        }
    }

    /// The checks a file kept open skips hold for the load it was opened in only: once a load
    /// no longer serves it (an earlier release's file that quotes a document withdrawn since),
    /// it is 404 by every form of request, though it is still on disk.
    #[test]
    fn a_file_kept_open_is_not_served_by_a_load_that_does_not_serve_it() {
        let f = fixture();
        let path = target_path(TEXT, &f.text);
        let range: Extra = &[("range", "bytes=0-3")];
        assert_eq!(get(&f.app, &path, &[]).status(), StatusCode::OK);
        assert_eq!(
            get(&f.app, &path, range).status(),
            StatusCode::PARTIAL_CONTENT
        );
        let before = f.app.served();
        let later = Served::of_targets(
            before.version + 1,
            b"{\"timestamp\":2}",
            &[(TEXT, [9; 32])],
            &[],
        );
        f.app.switch(later);
        // As a request in flight across the switch would: the file kept open under the
        // load before, after the caches were emptied.
        let file =
            std::fs::File::open(f.app.release_dir.join("targets").join(&path[9..])).expect("open");
        let meta = file_meta("\"x\"", IMMUTABLE, TEXT, Asked::Target);
        let length = f.text.len() as u64;
        let kept = OpenFile { file, length, meta };
        f.app.caches.put_small(&path, before.generation, kept);
        let condition: Extra = &[("if-none-match", "\"x\"")];
        for headers in [&[][..], range, condition] {
            let status = get(&f.app, &path, headers).status();
            assert_eq!(status, StatusCode::NOT_FOUND, "{headers:?}");
        }
        let request = format!("GET {path} HTTP/1.1\r\nhost: x\r\n\r\n");
        assert!(answer_bytes(&f.app, &reader(&f.app), request.as_bytes()).is_none());
    }

    /// The hot path answers only plain cache hits: anything else goes to hyper, screened
    /// there by the same rules.
    #[test]
    fn the_hot_path_hands_anything_but_a_plain_hit_to_hyper() {
        let f = fixture();
        let path = target_path(TEXT, &f.text);
        let request = |line: &str, extra: &str| format!("{line}\r\nhost: x\r\n{extra}\r\n");
        let get_line = format!("GET {path} HTTP/1.1");
        assert!(
            answer_bytes(&f.app, &reader(&f.app), request(&get_line, "").as_bytes()).is_none(),
            "not served yet: a miss"
        );
        get(&f.app, &path, &[]);
        assert!(answer_bytes(&f.app, &reader(&f.app), request(&get_line, "").as_bytes()).is_some());
        for (line, extra) in [
            (format!("POST {path} HTTP/1.1"), ""),
            (format!("GET {path} HTTP/1.0"), ""),
            (format!("GET {path}?q=1 HTTP/1.1"), ""),
            ("GET /metadata/../keys HTTP/1.1".to_owned(), ""),
            (get_line.clone(), "range: bytes=0-1\r\n"),
            (get_line.clone(), "if-none-match: \"x\"\r\n"),
            (get_line.clone(), "connection: close\r\n"),
        ] {
            let asked = request(&line, extra);
            assert!(
                answer_bytes(&f.app, &reader(&f.app), asked.as_bytes()).is_none(),
                "{asked:?}"
            );
        }
    }

    /// The flood guard's one verdict on both paths: a client over its rate is handed by the hot
    /// path to hyper, which answers 429 with `Retry-After`; counted once.
    #[test]
    fn a_client_over_its_rate_gets_429_with_retry_after_on_both_paths() {
        let Fixture {
            _tmp, app, text, ..
        } = fixture();
        let app = app.with_limits(Limits {
            rate: 1,
            burst: 2,
            ..Limits::default()
        });
        let path = target_path(TEXT, &text);
        assert_eq!(get(&app, &path, &[]).status(), StatusCode::OK);
        let flooder = app.gate.connect([192, 0, 2, 7].into()).expect("admitted");
        let request = format!("GET {path} HTTP/1.1\r\nhost: x\r\n\r\n");
        let hot = |client: &Client| answer_bytes(&app, client, request.as_bytes());
        assert!(
            hot(&flooder).is_some() && hot(&flooder).is_some(),
            "its burst"
        );
        assert!(hot(&flooder).is_none(), "refused: handed to hyper");
        let headers = HeaderMap::new();
        let response = app.answer(Ask {
            method: &Method::GET,
            path: &path,
            headers: &headers,
            client: &flooder,
        });
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(value(&response, header::RETRY_AFTER), Some("1"));
        assert_eq!(value(&response, header::CACHE_CONTROL), Some("no-store"));
        assert!(hot(&reader(&app)).is_some(), "another address is served");
        let metrics = app.metrics.encode();
        assert!(
            metrics.contains("samizdat_mirror_refused_total{reason=\"rate\"} 1"),
            "{metrics}"
        );
    }

    #[test]
    fn a_folder_without_its_slash_is_redirected_and_an_unknown_path_is_404() {
        let f = fixture();
        let response = get(&f.app, "/d/m-1", &[]);
        assert_eq!(response.status(), StatusCode::MOVED_PERMANENTLY);
        assert_eq!(value(&response, header::LOCATION), Some("/d/m-1/"));
        // No reader site in this release: the plain 404, and `/` says what this is.
        assert_eq!(
            get(&f.app, "/d/nothing/", &[]).status(),
            StatusCode::NOT_FOUND
        );
        let home = get(&f.app, "/", &[]);
        assert_eq!(home.status(), StatusCode::OK);
        assert!(
            String::from_utf8(body(home))
                .expect("text")
                .starts_with("samizdat mirror, release 1\n")
        );
        // A target of no release here, whatever is on disk.
        let other = format!("/targets/{}.{TEXT}", hex::encode([0u8; 32]));
        assert_eq!(get(&f.app, &other, &[]).status(), StatusCode::NOT_FOUND);
    }
}
