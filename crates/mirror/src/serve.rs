//! The mirror's HTTP server (hyper; HTTP/1.1 and HTTP/2, TLS when given certificate files).
//!
//! What it answers, all read-only, GET and HEAD:
//!
//! | path                                   | what                                 | caching                 |
//! | -------------------------------------- | ------------------------------------ | ----------------------- |
//! | `/metadata/timestamp.json`             | the commit point, from memory        | `max-age=60`            |
//! | `/metadata/N.<role>.json`              | versioned metadata                   | immutable               |
//! | `/targets/<sha256>.<name>`             | content-addressed targets            | immutable, ETag = hash  |
//! | `/d/<id>/…`, `/withdrawn.json`         | plain site paths (`common::layout`)  | 5 min, ETag = hash      |
//! | `/.well-known/samizdat/status.json`    | release, last sync, peers            | no-store                |
//! | `/metrics`                             | Prometheus text format               | no-store                |
//!
//! Range (one range; several get the whole file, as RFC 9110 allows), If-None-Match, If-Range,
//! HEAD. A withdrawn document answers 410 Gone with the publisher's reason on every path of it.
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
//! for scripts, HTML, SVG, XML, style sheets; [`original_content_type`]). The reader site's own files (document
//! pages `<id>.html` and `_s_*` under their plain paths) get a strict policy instead that lets
//! only the site's own scripts run. Everything public carries `Access-Control-Allow-Origin: *`:
//! a reader's service worker fetches from other mirrors when its own stops answering.

use std::collections::HashMap;
use std::convert::Infallible;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwap;
use bytes::Bytes;
use http_body_util::{BodyExt, Either, Full, combinators::BoxBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{self, HeaderMap, HeaderName, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use tokio::net::TcpListener;

use crate::conns::{Descriptors, Table, Watched};
use crate::metrics::Metrics;
use crate::served::{Served, target_file_name};
use crate::status::Status;

/// What the file paths need of a request.
struct Ask<'a> {
    headers: &'a HeaderMap,
    head: bool,
    /// The request path: the cache key.
    path: &'a str,
    /// The load of the release it is answered from ([`Served::generation`]): what cache
    /// entries are tagged with.
    generation: u64,
}

pub type Body = Either<Full<Bytes>, BoxBody<Bytes, std::io::Error>>;

/// Files up to this size are read whole (and cached); larger ones are streamed.
const SMALL_FILE: u64 = 256 * 1024;
/// Bytes the response cache may hold (the mirror's budget is 100 MB at 250,000 documents).
const CACHE_BYTES: usize = 24 << 20;
const STREAM_CHUNK: usize = 256 * 1024;
/// Largest file gzipped on a request, in the request's own thread.
const GZIP_MAX: u64 = 1 << 20;
/// Most open files kept (targets and versioned metadata never change under their name); fewer
/// when the descriptor limit is low: 4,096 descriptors (at least half) are left for connections
/// (`conns::Descriptors`).
const OPEN_FILES: usize = 16384;

const IMMUTABLE: &str = "public, max-age=31536000, immutable";
const PLAIN: &str = "public, max-age=300";
const TIMESTAMP: &str = "public, max-age=60";
const NO_STORE: &str = "no-store";
/// The reader site's pages: only the site's own scripts, styles and fetches from this mirror or
/// another (its service worker fails over); no plugins, no framing, forms only to the site.
const SITE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self' http: https:; object-src 'none'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";

/// A permanent redirect to `location` (a path of this server).
fn redirect(location: &str) -> Response<Body> {
    let mut response = text(StatusCode::MOVED_PERMANENTLY, "moved\n");
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

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
    pub metrics: Metrics,
    /// One for all server threads: split between them, each part held half as much, and
    /// random reads over the archive hit half as often (bench/mirror.sh: 1.00× nginx against
    /// 1.07-1.14× shared), for 2% less CPU on a hot document.
    cache: Mutex<ResponseCache>,
    /// Open small files by request path, read with one `pread`: a miss of the response cache
    /// then costs one system call, not open, statx, read and close (nginx's open file cache).
    files: Mutex<FileCache<OpenFile>>,
    /// Open large files by request path, with their answer's headers: read from again without
    /// an open and a stat, and sent by `hot` with `sendfile` on plain HTTP/1.1 connections.
    large: Mutex<FileCache<LargeFile>>,
    /// Connections the server keeps open at most, all threads and addresses together (the
    /// descriptors the file caches leave; `conns`).
    pub(crate) connections: usize,
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
        App {
            gz_dir,
            release_dir,
            served: ArcSwap::from_pointee(served),
            status: Mutex::new(status),
            metrics,
            cache: Mutex::new(ResponseCache::default()),
            files: Mutex::new(FileCache::with_capacity(descriptors.small_files)),
            large: Mutex::new(FileCache::with_capacity(descriptors.large_files)),
            connections: descriptors.connections,
        }
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
        if let Ok(mut cache) = self.cache.lock() {
            *cache = ResponseCache::default();
        }
        if let Ok(mut files) = self.files.lock() {
            *files = FileCache::with_capacity(files.capacity);
        }
        if let Ok(mut large) = self.large.lock() {
            *large = FileCache::with_capacity(large.capacity);
        }
    }

    fn respond(&self, request: &Request<Incoming>) -> Response<Body> {
        let method = request.method();
        if method != Method::GET && method != Method::HEAD {
            let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "only GET and HEAD\n");
            response
                .headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
            return response;
        }
        let path = request.uri().path();
        if !path_is_clean(path) {
            return text(StatusCode::BAD_REQUEST, "bad path\n");
        }
        let served = self.served.load();
        let ask = Ask {
            headers: request.headers(),
            head: method == Method::HEAD,
            path,
            generation: served.generation,
        };
        // A small file served before, asked for without conditions (on plain HTTP/1.1
        // connections, `hot` answers these before hyper parses them).
        let headers = request.headers();
        let plain_request = !headers.contains_key(header::RANGE)
            && !headers.contains_key(header::IF_NONE_MATCH)
            && !headers.contains_key(header::IF_RANGE);
        if plain_request && let Some(entry) = self.hit(path, accepts_gzip(headers)) {
            return entry_response(&entry);
        }
        if let Some(name) = path.strip_prefix("/targets/") {
            // A consistent-snapshot name: SHA256.NAME.
            let Some((sha, target_name)) = name.split_once('.') else {
                return not_found();
            };
            if let Some(response) = gone(&served, target_name) {
                return response;
            }
            // Not whatever is on disk: a file of an earlier release may quote a document
            // withdrawn since (its home page, listings, search shards).
            if !served.serves_file(name) {
                return not_found();
            }
            let etag = format!("\"{sha}\"");
            let file = self.release_dir.join("targets").join(name);
            return self.file(&ask, &file, &etag, IMMUTABLE, target_name, Asked::Target);
        }
        if let Some(name) = path.strip_prefix("/metadata/") {
            if name == "timestamp.json" {
                let meta = FileMeta {
                    etag: served.timestamp_etag.clone(),
                    caching: TIMESTAMP,
                    content_type: "application/json",
                    csp: None,
                    vary: false,
                };
                return bytes_response(ask.headers, served.timestamp.clone(), &meta);
            }
            let file = self.release_dir.join("metadata").join(name);
            let versioned = name.starts_with(|c: char| c.is_ascii_digit());
            let caching = if versioned { IMMUTABLE } else { PLAIN };
            let etag = format!("\"m-{name}\"");
            return self.file(&ask, &file, &etag, caching, name, Asked::Metadata);
        }
        match path {
            "/.well-known/samizdat/status.json" => {
                let status = self.status.lock().map(|s| s.to_json(&served));
                let body = status.unwrap_or_else(|_| "{}".into());
                with_type(text(StatusCode::OK, body), "application/json", NO_STORE)
            }
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
            _ => {
                let found = common::layout::target_of_plain_path(path)
                    .map(|name| (served.target(&name), name));
                if let Some((_, name)) = &found
                    && let Some(response) = gone(&served, name)
                {
                    return response;
                }
                let Some((Some(target), name)) = found else {
                    // A folder asked without its slash: its pages link relatively, so send
                    // the reader to the folder itself.
                    let folder = format!("{path}/");
                    if common::layout::is_folder_path(path)
                        && common::layout::target_of_plain_path(&folder)
                            .is_some_and(|n| served.target(&n).is_some())
                    {
                        return redirect(&folder);
                    }
                    return site_not_found(&self.release_dir, &served);
                };
                let file = self
                    .release_dir
                    .join("targets")
                    .join(target_file_name(&name, &target));
                let etag = format!("\"{}\"", hex::encode(target.sha256));
                // The site's assets and search files carry a hash of their bytes in their
                // path: they never change under it.
                let caching = if common::layout::site_target_is_hashed(&name) {
                    IMMUTABLE
                } else {
                    PLAIN
                };
                self.file(&ask, &file, &etag, caching, &name, Asked::PlainPath)
            }
        }
    }

    /// The cached answer to a plain request for `path` (whole, no conditions), for the release
    /// served now: its gzipped form when the client takes gzip and one was made and is worth it.
    pub(crate) fn hit(&self, path: &str, gzip: bool) -> Option<Arc<Entry>> {
        let generation = self.served.load().generation;
        let cache = self.cache.lock().ok()?;
        let entry = cache.get(path, generation)?;
        if !(gzip && entry.meta.vary) {
            return Some(entry);
        }
        let gz = cache.get(&format!("{path}\0gz"), generation)?;
        Some(if gz.body.is_empty() { entry } else { gz })
    }

    /// The open large file to send whole for a plain request for `path` (no conditions), for
    /// the release served now; None when hyper would answer otherwise: with its gzipped form
    /// (`gzip` and the file has one).
    pub(crate) fn large_hit(&self, path: &str, gzip: bool) -> Option<Arc<LargeFile>> {
        let generation = self.served.load().generation;
        let large = self.large.lock().ok()?.get(path, generation)?;
        (!(gzip && large.meta.vary)).then_some(large)
    }

    /// Answers with the file at `path`: metadata or a target (content-addressed, served
    /// sandboxed unless it is a page of the reader site asked by its plain path); `name` gives
    /// its type.
    fn file(
        &self,
        ask: &Ask,
        path: &Path,
        etag: &str,
        caching: &'static str,
        name: &str,
        what: Asked,
    ) -> Response<Body> {
        let target = what != Asked::Metadata;
        let plain = what == Asked::PlainPath;
        let content_type = if common::layout::is_original_target(name) {
            original_content_type(name)
        } else {
            content_type(name)
        };
        // Targets and versioned metadata never change under their name: worth gzipping once.
        let immutable = target || caching == IMMUTABLE;
        let meta = FileMeta {
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
            vary: immutable
                && (is_text(content_type) || common::layout::site_target_is_hashed(name)),
        };
        if meta.vary
            && accepts_gzip(ask.headers)
            && let Some(response) = self.gzipped(ask, path, &meta)
        {
            return response;
        }
        if none_match(ask.headers, etag) {
            return not_modified(etag, caching);
        }
        let cached = self
            .cache
            .lock()
            .ok()
            .and_then(|c| c.get(ask.path, ask.generation));
        let response = match cached {
            Some(entry) => bytes_response(ask.headers, entry.body.clone(), &meta),
            None => match self.read(ask, path, &meta) {
                Ok(response) => response,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return not_found(),
                Err(_) => return text(StatusCode::INTERNAL_SERVER_ERROR, "cannot read\n"),
            },
        };
        finish(response, &meta)
    }

    /// The gzipped representation of an immutable text file, made once and kept on disk
    /// (an empty file there means "not worth it"). None: serve the file as it is (no Range on
    /// gzipped bytes; too large; does not shrink; cannot be read).
    fn gzipped(&self, ask: &Ask, path: &Path, meta: &FileMeta) -> Option<Response<Body>> {
        if ask.headers.contains_key(header::RANGE) {
            return None;
        }
        let key = format!("{}\0gz", ask.path);
        let cached = self
            .cache
            .lock()
            .ok()
            .and_then(|c| c.get(&key, ask.generation));
        let bytes = match cached {
            Some(entry) => entry.body.clone(),
            None => {
                let relative = path.strip_prefix(&self.release_dir).ok()?;
                let gz_path = self.gz_dir.join(relative).with_added_extension("gz");
                let bytes = match std::fs::read(&gz_path) {
                    Ok(bytes) => Bytes::from(bytes),
                    Err(_) => Bytes::from(self.compress(path, &gz_path)?),
                };
                let gz_meta = FileMeta {
                    etag: gz_etag(&meta.etag),
                    ..meta.clone()
                };
                if let Ok(mut cache) = self.cache.lock() {
                    let entry = Entry {
                        generation: ask.generation,
                        body: bytes.clone(),
                        etag: HeaderValue::from_str(&gz_meta.etag).ok(),
                        meta: gz_meta,
                        gzip: true,
                    };
                    cache.put(key, entry);
                }
                bytes
            }
        };
        if bytes.is_empty() {
            return None;
        }
        let gz_meta = FileMeta {
            etag: gz_etag(&meta.etag),
            ..meta.clone()
        };
        let mut response = bytes_response(ask.headers, bytes, &gz_meta);
        if response.status() != StatusCode::NOT_MODIFIED {
            response
                .headers_mut()
                .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        Some(finish(response, &gz_meta))
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

    fn read(&self, ask: &Ask, path: &Path, meta: &FileMeta) -> std::io::Result<Response<Body>> {
        let open = self
            .files
            .lock()
            .ok()
            .and_then(|f| f.get(ask.path, ask.generation));
        if let Some(open) = open {
            let mut bytes = vec![0; open.length as usize];
            std::os::unix::fs::FileExt::read_exact_at(&open.file, &mut bytes, 0)?;
            return Ok(self.small(ask, Bytes::from(bytes), meta));
        }
        let large = self
            .large
            .lock()
            .ok()
            .and_then(|l| l.get(ask.path, ask.generation));
        let (file, length) = match large {
            Some(large) => (large.file.clone(), large.length),
            None => {
                let mut file = std::fs::File::open(path)?;
                let length = file.metadata()?.len();
                if length <= SMALL_FILE {
                    let mut bytes = vec![0; length as usize];
                    file.read_exact(&mut bytes)?;
                    if let Ok(mut files) = self.files.lock() {
                        files.put(ask.path, ask.generation, OpenFile { file, length });
                    }
                    return Ok(self.small(ask, Bytes::from(bytes), meta));
                }
                let file = Arc::new(file);
                if let Ok(mut large) = self.large.lock() {
                    let etag = HeaderValue::from_str(&meta.etag).ok();
                    let kept = LargeFile {
                        file: file.clone(),
                        length,
                        meta: meta.clone(),
                        etag,
                    };
                    large.put(ask.path, ask.generation, kept);
                }
                (file, length)
            }
        };
        let head = ask.head;
        let (status, start, len) = match range(ask.headers, &meta.etag, length) {
            Range::Whole => (StatusCode::OK, 0, length),
            Range::Part(start, end) => (StatusCode::PARTIAL_CONTENT, start, end - start),
            Range::Unsatisfiable => return Ok(unsatisfiable(length)),
        };
        let mut response = Response::new(Either::Left(Full::new(Bytes::new())));
        if !head {
            let body = FileBody {
                file,
                offset: start,
                left: len,
            };
            *response.body_mut() = Either::Right(BodyExt::boxed(body));
        }
        *response.status_mut() = status;
        let h = response.headers_mut();
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
        if status == StatusCode::PARTIAL_CONTENT {
            h.insert(header::CONTENT_RANGE, content_range(start, len, length));
        }
        file_headers(h, meta);
        Ok(response)
    }
}

impl App {
    /// A small file's bytes, answered and kept in the response cache.
    fn small(&self, ask: &Ask, bytes: Bytes, meta: &FileMeta) -> Response<Body> {
        if let Ok(mut cache) = self.cache.lock() {
            let entry = Entry {
                generation: ask.generation,
                body: bytes.clone(),
                meta: meta.clone(),
                gzip: false,
                etag: HeaderValue::from_str(&meta.etag).ok(),
            };
            cache.put(ask.path.to_owned(), entry);
        }
        bytes_response(ask.headers, bytes, meta)
    }
}

/// A large file's bytes, [`STREAM_CHUNK`] at a time, each read with one `pread` in the server
/// thread when the connection can take more. Not `tokio::fs`, which hands every chunk to a
/// blocking thread and back (0.56x nginx's MB/s on a 100 MB file in bench/mirror.sh on
/// 2026-12-02; this body's gain over it is small next to that machine's drift, RESULTS.md).
struct FileBody {
    file: Arc<std::fs::File>,
    offset: u64,
    left: u64,
}

impl hyper::body::Body for FileBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        let this = self.get_mut();
        if this.left == 0 {
            return std::task::Poll::Ready(None);
        }
        let mut chunk = vec![0; this.left.min(STREAM_CHUNK as u64) as usize];
        let read = std::os::unix::fs::FileExt::read_at(&*this.file, &mut chunk, this.offset);
        std::task::Poll::Ready(Some(match read {
            // Shorter than its length when it was opened: the file changed on disk.
            Ok(0) => Err(std::io::Error::new(
                std::io::ErrorKind::UnexpectedEof,
                "the file is shorter than when it was opened",
            )),
            Ok(n) => {
                chunk.truncate(n);
                this.offset += n as u64;
                this.left -= n as u64;
                Ok(Frame::data(Bytes::from(chunk)))
            }
            Err(e) => Err(e),
        }))
    }

    fn is_end_stream(&self) -> bool {
        self.left == 0
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        hyper::body::SizeHint::with_exact(self.left)
    }
}

/// Open files by request path, for the release load they were opened in ([`Served::generation`]); when full, emptied at
/// most once a minute, as the response cache.
struct FileCache<V> {
    files: HashMap<String, (u64, Arc<V>)>,
    capacity: usize,
    clears: Clears,
}

/// A small file kept open: read whole with one `pread`.
struct OpenFile {
    file: std::fs::File,
    length: u64,
}

/// A large file kept open, with what its whole answer's headers need (for `hot`).
pub(crate) struct LargeFile {
    pub(crate) file: Arc<std::fs::File>,
    /// Its length when opened (the bytes `Content-Length` promises).
    pub(crate) length: u64,
    meta: FileMeta,
    etag: Option<HeaderValue>,
}

/// Most large files kept open (few next to the small ones; each is 256 KiB or more on disk).
const LARGE_FILES: usize = 256;

/// How many files to keep open and connections to take: the soft descriptor limit is first
/// raised to the hard one.
fn descriptors() -> Descriptors {
    let limit = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1024);
    Descriptors::of(limit, OPEN_FILES, LARGE_FILES)
}

impl<V> FileCache<V> {
    fn with_capacity(capacity: usize) -> FileCache<V> {
        FileCache {
            files: HashMap::new(),
            capacity,
            clears: Clears::default(),
        }
    }

    fn get(&self, key: &str, generation: u64) -> Option<Arc<V>> {
        let (of, file) = self.files.get(key)?;
        (*of == generation).then(|| file.clone())
    }

    fn put(&mut self, key: &str, generation: u64, file: V) {
        if self.files.len() >= self.capacity {
            if !self.clears.may_clear() {
                return;
            }
            self.files.clear();
        }
        self.files
            .insert(key.to_owned(), (generation, Arc::new(file)));
    }
}

/// The headers that depend on the file, not on the bytes sent: sandbox and Vary.
fn finish(mut response: Response<Body>, meta: &FileMeta) -> Response<Body> {
    let h = response.headers_mut();
    if let Some(csp) = meta.csp {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(csp),
        );
    }
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    if meta.vary {
        h.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
    response
}

/// A cache hit for a request without conditions: the whole file, 200.
fn entry_response(entry: &Entry) -> Response<Body> {
    let mut response = Response::new(Either::Left(Full::new(entry.body.clone())));
    let h = response.headers_mut();
    h.reserve(9);
    entry.each_header(|name, value| {
        h.insert(name, value);
    });
    response
}

impl Entry {
    /// The headers of the whole file's answer but `Content-Length` and `Date`, in the order
    /// hyper sends them: for both [`entry_response`] and `hot`, as [`file_headers`] and
    /// [`finish`] give them for a file read.
    pub(crate) fn each_header(&self, header: impl FnMut(HeaderName, HeaderValue)) {
        whole_file_headers(&self.meta, self.etag.as_ref(), self.gzip, header);
    }
}

impl LargeFile {
    /// As [`Entry::each_header`], for the whole large file as [`App::read`] answers it.
    pub(crate) fn each_header(&self, header: impl FnMut(HeaderName, HeaderValue)) {
        whole_file_headers(&self.meta, self.etag.as_ref(), false, header);
    }
}

fn whole_file_headers(
    meta: &FileMeta,
    etag: Option<&HeaderValue>,
    gzip: bool,
    mut header: impl FnMut(HeaderName, HeaderValue),
) {
    header(
        header::CONTENT_TYPE,
        HeaderValue::from_static(meta.content_type),
    );
    header(
        header::CACHE_CONTROL,
        HeaderValue::from_static(meta.caching),
    );
    header(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    header(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Some(etag) = etag {
        header(header::ETAG, etag.clone());
    }
    if gzip {
        header(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    if let Some(csp) = meta.csp {
        header(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(csp),
        );
    }
    header(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    if meta.vary {
        header(header::VARY, HeaderValue::from_static("accept-encoding"));
    }
}

fn gz_etag(etag: &str) -> String {
    format!("{}-gz\"", etag.trim_end_matches('"'))
}

enum Range {
    Whole,
    Part(u64, u64),
    Unsatisfiable,
}

/// The one byte range asked for (`bytes=a-b`, `a-`, `-n`), honoured only if `If-Range` (when
/// sent) names the current ETag. Several ranges or a malformed header get the whole file.
fn range(headers: &HeaderMap, etag: &str, length: u64) -> Range {
    let Some(value) = headers.get(header::RANGE).and_then(|v| v.to_str().ok()) else {
        return Range::Whole;
    };
    if let Some(if_range) = headers.get(header::IF_RANGE)
        && if_range.as_bytes() != etag.as_bytes()
    {
        return Range::Whole;
    }
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Range::Whole;
    };
    if spec.contains(',') {
        return Range::Whole;
    }
    let Some((first, last)) = spec.trim().split_once('-') else {
        return Range::Whole;
    };
    // Digits only (RFC 9110 §14.1.1; `parse` would take a `+`); a number past `u64` is not a
    // range we can honour: the whole file.
    let parse = |s: &str| {
        let s = s.trim();
        (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<u64>().ok())
            .flatten()
    };
    // No arithmetic on the client's numbers but comparisons and a subtraction from `length`
    // that cannot underflow: `bytes=5-18446744073709551615` once overflowed `last + 1`.
    let (start, end) = match (first.trim().is_empty(), last.trim().is_empty()) {
        (true, false) => {
            let Some(suffix) = parse(last) else {
                return Range::Whole;
            };
            if suffix == 0 {
                return Range::Unsatisfiable;
            }
            (length - suffix.min(length), length)
        }
        (false, true) => match parse(first) {
            Some(start) => (start, length),
            None => return Range::Whole,
        },
        (false, false) => match (parse(first), parse(last)) {
            // A last byte at or past the end means up to the end (RFC 9110 §14.1.2).
            (Some(start), Some(last)) if last >= start => {
                (start, if last < length { last + 1 } else { length })
            }
            _ => return Range::Whole,
        },
        (true, true) => return Range::Whole,
    };
    // Also an empty file: no byte of it can be asked for.
    if start >= length || start >= end {
        return Range::Unsatisfiable;
    }
    Range::Part(start, end)
}

/// `bytes START-LAST/LENGTH` for the `len` bytes from `start` (`len` ≥ 1: [`range`] never
/// gives an empty part).
fn content_range(start: u64, len: u64, length: u64) -> HeaderValue {
    let last = (start + len).saturating_sub(1);
    let value = format!("bytes {start}-{last}/{length}");
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("bytes */0"))
}

fn unsatisfiable(length: u64) -> Response<Body> {
    let mut response = text(StatusCode::RANGE_NOT_SATISFIABLE, "range not satisfiable\n");
    if let Ok(value) = HeaderValue::from_str(&format!("bytes */{length}")) {
        response.headers_mut().insert(header::CONTENT_RANGE, value);
    }
    response
}

/// A response from bytes in memory, with Range and HEAD handled.
fn bytes_response(headers: &HeaderMap, bytes: Bytes, meta: &FileMeta) -> Response<Body> {
    if none_match(headers, &meta.etag) {
        return not_modified(&meta.etag, meta.caching);
    }
    let length = bytes.len() as u64;
    let (status, start, body) = match range(headers, &meta.etag, length) {
        Range::Whole => (StatusCode::OK, 0, bytes),
        Range::Part(start, end) => (
            StatusCode::PARTIAL_CONTENT,
            start,
            bytes.slice(start as usize..end as usize),
        ),
        Range::Unsatisfiable => return unsatisfiable(length),
    };
    let len = body.len() as u64;
    let mut response = Response::new(Either::Left(Full::new(body)));
    *response.status_mut() = status;
    let h = response.headers_mut();
    if status == StatusCode::PARTIAL_CONTENT {
        h.insert(header::CONTENT_RANGE, content_range(start, len, length));
    }
    file_headers(h, meta);
    response
}

fn file_headers(h: &mut HeaderMap, meta: &FileMeta) {
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(meta.content_type),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(meta.caching),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    if let Ok(value) = HeaderValue::from_str(&meta.etag) {
        h.insert(header::ETAG, value);
    }
}

/// Whether the client takes gzip (`Accept-Encoding: gzip`, not `gzip;q=0`).
fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(accepts_gzip_in)
}

/// Whether an `Accept-Encoding` value takes gzip.
pub(crate) fn accepts_gzip_in(value: &str) -> bool {
    value.split(',').any(|coding| {
        let mut parts = coding.split(';').map(str::trim);
        let name = parts.next().unwrap_or("");
        let refused = parts.any(|p| p.replace(' ', "") == "q=0" || p.replace(' ', "") == "q=0.0");
        (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
    })
}

fn is_text(content_type: &str) -> bool {
    content_type.starts_with("text/")
        || content_type.starts_with("application/json")
        || content_type == "image/svg+xml"
        || content_type == "message/rfc822"
}

/// Whether `If-None-Match` names `etag` (or is `*`).
fn none_match(headers: &HeaderMap, etag: &str) -> bool {
    let Some(value) = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    value.split(',').any(|tag| {
        let tag = tag.trim();
        tag == "*" || tag.strip_prefix("W/").unwrap_or(tag) == etag
    })
}

fn not_modified(etag: &str, caching: &'static str) -> Response<Body> {
    let mut response = Response::new(Either::Left(Full::new(Bytes::new())));
    *response.status_mut() = StatusCode::NOT_MODIFIED;
    let h = response.headers_mut();
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(caching));
    if let Ok(value) = HeaderValue::from_str(etag) {
        h.insert(header::ETAG, value);
    }
    response
}

/// 410 Gone if `target_name` belongs to a withdrawn document, with the publisher's reason.
fn gone(served: &Served, target_name: &str) -> Option<Response<Body>> {
    let id = common::layout::doc_of_target(target_name)?;
    let reason = served.withdrawn(id)?;
    let body = format!("{id} was withdrawn by the publisher: {reason}\n");
    Some(with_type(
        text(StatusCode::GONE, body),
        "text/plain; charset=utf-8",
        PLAIN,
    ))
}

fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::new(Either::Left(Full::new(body.into())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn not_found() -> Response<Body> {
    text(StatusCode::NOT_FOUND, "not found\n")
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
    let mut response = with_type(
        text(StatusCode::NOT_FOUND, body),
        "text/html; charset=utf-8",
        PLAIN,
    );
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(SITE_CSP),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    response
}

fn with_type(
    mut response: Response<Body>,
    content_type: &'static str,
    caching: &'static str,
) -> Response<Body> {
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(caching));
    response
}

/// A path the server will look at: absolute, no empty segment but a trailing slash, no segment
/// starting with `.` (so no `..`) but `.well-known`, no escapes, no control characters or spaces.
/// Everything else is a 400 before any file is touched.
pub(crate) fn path_is_clean(path: &str) -> bool {
    let Some(rest) = path.strip_prefix('/') else {
        return false;
    };
    if path.len() > 1024
        || path
            .bytes()
            .any(|b| b <= b' ' || b >= 0x7f || b == b'%' || b == b'\\')
    {
        return false;
    }
    let last = rest.split('/').count() - 1;
    rest.split('/').enumerate().all(|(i, segment)| {
        if segment.is_empty() {
            i == last
        } else {
            !segment.starts_with('.') || segment == ".well-known"
        }
    })
}

fn content_type(name: &str) -> &'static str {
    let ext = name.rsplit('.').next().unwrap_or("");
    match ext {
        "json" => "application/json",
        "pdf" => "application/pdf",
        "txt" | "rst" | "md" | "text" => "text/plain; charset=utf-8",
        "html" | "htm" => "text/html; charset=utf-8",
        "eml" => "message/rfc822",
        "mbox" => "application/mbox",
        "gz" => "application/gzip",
        "jsonl" => "application/jsonl",
        "css" => "text/css; charset=utf-8",
        "js" => "text/javascript; charset=utf-8",
        "svg" => "image/svg+xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "woff2" => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// An original's type: its own only when a browser can neither run it nor render it as a
/// document that runs something (a script, a stylesheet, an HTML, SVG or XML page); text is
/// then `text/plain`, anything else `application/octet-stream`. With `nosniff`, neither loads
/// as a script, a worker, a style sheet or a frame's page on the mirror's origin, whatever
/// the `sandbox` policy (which only binds documents, not subresources). An allow-list: an
/// extension added to [`content_type`] later stays inert for originals until it is listed here.
fn original_content_type(name: &str) -> &'static str {
    match content_type(name) {
        inert @ ("application/pdf"
        | "text/plain; charset=utf-8"
        | "message/rfc822"
        | "application/mbox"
        | "application/gzip"
        | "application/jsonl"
        | "application/json"
        | "image/png"
        | "image/jpeg") => inert,
        other if is_text(other) => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

/// Small files as served, by request path (and `\0gz` for their gzipped form): a hit is
/// answered without touching the file system or building more than the headers. Entries carry
/// the release they were made for; a hit from another release is a miss. When full, the cache
/// is emptied at most once a minute, else new files are simply not added: a stream of
/// different files (a crawler, random reads) then costs no churn, and a hot file is back
/// after one read once the minute is over.
#[derive(Default)]
struct ResponseCache {
    entries: HashMap<String, Arc<Entry>>,
    bytes: usize,
    clears: Clears,
}

/// When a full cache may be emptied: at most once a minute (until then, new entries are not
/// added), so that a stream of different files costs no churn.
#[derive(Default)]
struct Clears(Option<std::time::Instant>);

impl Clears {
    fn may_clear(&mut self) -> bool {
        let due = self.0.is_none_or(|t| t.elapsed() > Duration::from_secs(60));
        if due {
            self.0 = Some(std::time::Instant::now());
        }
        due
    }
}

pub(crate) struct Entry {
    /// The [`Served::generation`] it was made for.
    generation: u64,
    pub(crate) body: Bytes,
    meta: FileMeta,
    gzip: bool,
    /// `meta.etag`, checked once.
    etag: Option<HeaderValue>,
}

/// How a file is answered, whatever its bytes.
#[derive(Clone)]
struct FileMeta {
    etag: String,
    caching: &'static str,
    content_type: &'static str,
    /// `Content-Security-Policy`: `sandbox` for targets and originals, [`SITE_CSP`] for the
    /// reader site's pages, none for metadata.
    csp: Option<&'static str>,
    /// `Vary: Accept-Encoding` (it has a gzipped form).
    vary: bool,
}

impl ResponseCache {
    fn get(&self, key: &str, generation: u64) -> Option<Arc<Entry>> {
        self.entries
            .get(key)
            .filter(|e| e.generation == generation)
            .cloned()
    }

    fn put(&mut self, key: String, entry: Entry) {
        let key_len = key.len();
        let size = entry.body.len() + key_len;
        if self.bytes + size > CACHE_BYTES {
            if !self.clears.may_clear() {
                return;
            }
            self.entries.clear();
            self.bytes = 0;
        }
        self.bytes += size;
        if let Some(old) = self.entries.insert(key, Arc::new(entry)) {
            self.bytes -= old.body.len() + key_len;
        }
    }
}

/// Accepts connections on `listener` until the process ends: HTTP/1.1 or HTTP/2 (by preface or
/// ALPN), TLS when `tls` is given. At most `cap` connections at once (`conns`: at the cap the
/// least active one is shed); slow clients are cut: 10 s to send a request head or a TLS
/// handshake, 10 s idle, 30 s without write progress, HTTP/2 pings unanswered for 20 s.
pub async fn serve(
    app: Arc<App>,
    listener: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
    cap: usize,
) -> std::io::Result<()> {
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(crate::conns::IDLE);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(128)
        .keep_alive_interval(crate::conns::H2_PING)
        .keep_alive_timeout(crate::conns::H2_PING);
    // After the hot path has answered on a connection, it stays HTTP/1.1.
    let http1_only = Arc::new(builder.clone().http1_only());
    let builder = Arc::new(builder);
    let table = Table::new(cap, app.clone());
    tokio::spawn(table.clone().sweep());
    loop {
        let (stream, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                // Out of file descriptors and the like: wait instead of spinning.
                eprintln!("samizdat mirror: accept: {e}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let (conn, guard) = table.enter();
        let id = guard.id;
        let (app, hot_app) = (app.clone(), app.clone());
        let (builder, http1_only) = (builder.clone(), http1_only.clone());
        let tls = tls.clone();
        let task = tokio::spawn(async move {
            let _guard = guard;
            let answers = conn.clone();
            let service = hyper::service::service_fn(move |request| {
                let app = app.clone();
                let answers = answers.clone();
                async move {
                    let response = handle(&app, request);
                    Ok::<_, Infallible>(response.map(|body| answers.answer(body)))
                }
            });
            match tls {
                None => {
                    if let Some(handoff) = crate::hot::answer_hits(&hot_app, stream, &conn).await {
                        let builder = if handoff.answered {
                            &http1_only
                        } else {
                            &builder
                        };
                        conn.to_hyper();
                        let stream = Watched::new(handoff.stream, conn.clone());
                        let _ = builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    }
                }
                Some(acceptor) => {
                    let handshake =
                        tokio::time::timeout(crate::conns::IDLE, acceptor.accept(stream));
                    if let Ok(Ok(stream)) = handshake.await {
                        conn.to_hyper();
                        let stream = Watched::new(stream, conn.clone());
                        let _ = builder
                            .serve_connection(TokioIo::new(stream), service)
                            .await;
                    }
                }
            }
        });
        table.started(id, task.abort_handle());
    }
}

/// One request, counted in the metrics.
pub fn handle(app: &App, request: Request<Incoming>) -> Response<Body> {
    let response = app
        .no_release(request.uri().path())
        .unwrap_or_else(|| app.respond(&request));
    let length = response
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| match response.body() {
            Either::Left(full) => hyper::body::Body::size_hint(full).exact().unwrap_or(0),
            Either::Right(_) => 0,
        });
    app.metrics.request(response.status(), length);
    response
}

/// Seconds a client is asked to wait (`Retry-After`) while the mirror has no release yet.
const NO_RELEASE_RETRY: u64 = 30;

impl App {
    /// 503 for every path of the release while there is none yet (a new mirror's first sync):
    /// an empty `timestamp.json` with an empty ETag, or a home page saying "release 0", would be
    /// answered 200 and cached, and every TUF client would fail to parse it. Never cached;
    /// status and metrics still answer.
    fn no_release(&self, path: &str) -> Option<Response<Body>> {
        if !self.served.load().timestamp.is_empty()
            || path == "/.well-known/samizdat/status.json"
            || path == "/metrics"
        {
            return None;
        }
        let mut response = with_type(
            text(
                StatusCode::SERVICE_UNAVAILABLE,
                "this mirror has no release yet: it is syncing from its peers\n",
            ),
            "text/plain; charset=utf-8",
            NO_STORE,
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(NO_RELEASE_RETRY));
        Some(response)
    }
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
    use super::*;

    fn with_range(value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::RANGE, HeaderValue::from_str(value).expect("header"));
        h
    }

    #[test]
    fn ranges_as_rfc_9110_says() {
        let part = |v: &str| match range(&with_range(v), "\"e\"", 100) {
            Range::Whole => "whole".to_owned(),
            Range::Part(a, b) => format!("{a}..{b}"),
            Range::Unsatisfiable => "416".to_owned(),
        };
        assert_eq!(part("bytes=0-9"), "0..10");
        assert_eq!(part("bytes=90-"), "90..100");
        assert_eq!(part("bytes=-10"), "90..100");
        assert_eq!(part("bytes=-1000"), "0..100");
        assert_eq!(part("bytes=95-1000"), "95..100");
        assert_eq!(part("bytes=100-"), "416");
        assert_eq!(part("bytes=-0"), "416");
        assert_eq!(part("bytes=0-1,5-6"), "whole");
        assert_eq!(part("bytes=5-1"), "whole");
        assert_eq!(part("items=0-1"), "whole");
        assert_eq!(part("bytes=+1-5"), "whole");
        assert_eq!(part("bytes=0--5"), "whole");
    }

    /// Numbers at and past the ends of `u64`: never a panic, never a part past the file's end
    /// (these once overflowed, panicked the connection, or announced a length of 2^64 - 5).
    #[test]
    fn ranges_with_huge_numbers_end_at_the_file_end() {
        let part = |v: &str, length: u64| match range(&with_range(v), "\"e\"", length) {
            Range::Whole => "whole".to_owned(),
            Range::Part(a, b) => format!("{a}..{b}"),
            Range::Unsatisfiable => "416".to_owned(),
        };
        let max = u64::MAX;
        assert_eq!(part(&format!("bytes=5-{max}"), 100), "5..100");
        assert_eq!(part(&format!("bytes=0-{max}"), 100), "0..100");
        assert_eq!(part(&format!("bytes=0-{}", max - 1), 100), "0..100");
        assert_eq!(part(&format!("bytes={max}-{max}"), 100), "416");
        assert_eq!(part(&format!("bytes={max}-"), 100), "416");
        assert_eq!(part(&format!("bytes=-{max}"), 100), "0..100");
        assert_eq!(part("bytes=5-18446744073709551616", 100), "whole");
        assert_eq!(part("bytes=-18446744073709551616", 100), "whole");
        assert_eq!(part(&format!("bytes=5-{max}"), max), format!("5..{max}"));
        assert_eq!(
            part(&format!("bytes={}-{max}", max - 1), max),
            format!("{}..{max}", max - 1)
        );
        assert_eq!(part(&format!("bytes=0-{max}"), 0), "416");
        assert_eq!(part("bytes=-1", 0), "416");
        assert_eq!(part("bytes=99-99", 100), "99..100");
        assert_eq!(part("bytes=100-100", 100), "416");
        assert_eq!(
            content_range(5, 95, 100).to_str().expect("text"),
            "bytes 5-99/100"
        );
        assert_eq!(
            content_range(0, max, max).to_str().expect("text"),
            format!("bytes 0-{}/{max}", max - 1)
        );
        let mut h = with_range("bytes=0-9");
        h.insert(header::IF_RANGE, HeaderValue::from_static("\"other\""));
        assert!(matches!(range(&h, "\"e\"", 100), Range::Whole));
    }

    #[test]
    fn originals_are_never_served_with_a_type_a_browser_runs() {
        for (ext, expected) in [
            ("js", "text/plain; charset=utf-8"),
            ("mjs", "application/octet-stream"),
            ("html", "text/plain; charset=utf-8"),
            ("htm", "text/plain; charset=utf-8"),
            ("xhtml", "application/octet-stream"),
            ("svg", "text/plain; charset=utf-8"),
            ("css", "text/plain; charset=utf-8"),
            ("xml", "application/octet-stream"),
            ("wasm", "application/octet-stream"),
            ("woff2", "application/octet-stream"),
            ("pdf", "application/pdf"),
            ("eml", "message/rfc822"),
            ("txt", "text/plain; charset=utf-8"),
            ("png", "image/png"),
        ] {
            assert_eq!(
                original_content_type(&format!("m-1.original.{ext}")),
                expected,
                "{ext}"
            );
        }
        // The site's own files keep theirs.
        assert_eq!(
            content_type("_s_assets_app-0123.js"),
            "text/javascript; charset=utf-8"
        );
    }

    #[test]
    fn hostile_paths_are_refused_before_any_file() {
        for good in [
            "/",
            "/metadata/1.root.json",
            "/targets/ab.x.json",
            "/d/m-1/",
            "/.well-known/samizdat/status.json",
        ] {
            assert!(path_is_clean(good), "{good}");
        }
        for bad in [
            "",
            "/..",
            "/metadata/../keys",
            "/targets/%2e%2e/x",
            "/a//b",
            "/.git/config",
            "/a\\b",
            "/a b",
            "/d/./x",
        ] {
            assert!(!path_is_clean(bad), "{bad}");
        }
    }
}
