//! The server's caches (answers in memory, open files) and the one builder of a file's answer
//! headers.
//!
//! A file's answer is described once, by a [`FileMeta`] made when the request is routed, and
//! its headers come from [`FileMeta::each_header`] alone, whoever answers: hyper's path for a
//! file read from disk (a cache miss, a range, a large file streamed), hyper's path for a cache
//! hit, and the hot path (`hot`), which writes the same headers as bytes. So a cache hit can
//! never answer with other headers than the miss that filled it. A leaf: it knows nothing of
//! the release, routing or sockets; entries carry the [`generation`](crate::served::Served)
//! of the release load they were made for, and the caller says which generation it serves.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use hyper::header::{self, HeaderName, HeaderValue};

/// Bytes the response cache may hold (the mirror's budget is 100 MB at 250,000 documents).
const CACHE_BYTES: usize = 24 << 20;

/// How a file is answered, whatever its bytes.
#[derive(Clone)]
pub(crate) struct FileMeta {
    pub(crate) etag: String,
    pub(crate) caching: &'static str,
    pub(crate) content_type: &'static str,
    /// `Content-Security-Policy`: `sandbox` for targets and originals, the site's own policy
    /// for the reader site's pages, none for metadata.
    pub(crate) csp: Option<&'static str>,
    /// `Vary: Accept-Encoding` (it has a gzipped form).
    pub(crate) vary: bool,
}

/// Which of a file's headers an answer carries. The differences between the answers are all
/// here, named, rather than in which function happened to build them.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Carry {
    /// The file's bytes, whole or a range (200, 206): every header; `gzip`: its gzipped form
    /// (`Content-Encoding`).
    Bytes { gzip: bool },
    /// `timestamp.json`, answered from memory: the representation's headers without the
    /// policy ones (CSP, `Access-Control-Allow-Origin`, Vary), as it has always been answered.
    Bare,
    /// 304 Not Modified: `Cache-Control` and `ETag`; `policy`: with the policy headers too
    /// (a gzipped form's 304 has them, a file's 304 as it is has not: kept as it was).
    NotModified { policy: bool },
    /// The policy headers alone: a 416 for the file (its body is a text of its own).
    Policy,
}

impl FileMeta {
    /// The headers of an answer for this file but `Content-Length`, `Content-Range` and `Date`,
    /// in the order hyper sends them; `etag` is [`FileMeta::etag`] as a header value (checked
    /// once per cache entry, not per answer). The one place a file's answer headers are made:
    /// hyper's misses and hits, `hot`'s hits and large files all call it.
    pub(crate) fn each_header(
        &self,
        etag: Option<&HeaderValue>,
        carry: Carry,
        mut header: impl FnMut(HeaderName, HeaderValue),
    ) {
        let caching = HeaderValue::from_static(self.caching);
        let policy = match carry {
            Carry::NotModified { policy } => {
                header(header::CACHE_CONTROL, caching);
                if let Some(etag) = etag {
                    header(header::ETAG, etag.clone());
                }
                policy
            }
            Carry::Bytes { .. } | Carry::Bare => {
                header(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(self.content_type),
                );
                header(header::CACHE_CONTROL, caching);
                header(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
                header(
                    header::X_CONTENT_TYPE_OPTIONS,
                    HeaderValue::from_static("nosniff"),
                );
                if let Some(etag) = etag {
                    header(header::ETAG, etag.clone());
                }
                if carry == (Carry::Bytes { gzip: true }) {
                    header(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
                }
                carry != Carry::Bare
            }
            Carry::Policy => true,
        };
        if !policy {
            return;
        }
        if let Some(csp) = self.csp {
            header(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(csp),
            );
        }
        header(
            header::ACCESS_CONTROL_ALLOW_ORIGIN,
            HeaderValue::from_static("*"),
        );
        if self.vary {
            header(header::VARY, HeaderValue::from_static("accept-encoding"));
        }
    }

    /// The ETag of the gzipped form: the file's with `-gz` before its closing quote.
    pub(crate) fn gzipped(&self) -> FileMeta {
        FileMeta {
            etag: format!("{}-gz\"", self.etag.trim_end_matches('"')),
            ..self.clone()
        }
    }
}

/// A small file's answer, as served: its bytes (or its gzipped form's) and what its headers
/// are made from.
pub(crate) struct Entry {
    /// The [`Served::generation`](crate::served::Served) it was made for.
    generation: u64,
    pub(crate) body: Bytes,
    meta: FileMeta,
    gzip: bool,
    /// `meta.etag`, checked once.
    etag: Option<HeaderValue>,
}

impl Entry {
    pub(crate) fn new(generation: u64, body: Bytes, meta: FileMeta, gzip: bool) -> Entry {
        Entry {
            generation,
            body,
            etag: HeaderValue::from_str(&meta.etag).ok(),
            meta,
            gzip,
        }
    }

    /// How the file is answered.
    pub(crate) fn meta(&self) -> &FileMeta {
        &self.meta
    }

    /// The headers of the whole file's answer (but `Content-Length` and `Date`): for both
    /// hyper's cache hit and `hot`.
    pub(crate) fn each_header(&self, header: impl FnMut(HeaderName, HeaderValue)) {
        let carry = Carry::Bytes { gzip: self.gzip };
        self.meta.each_header(self.etag.as_ref(), carry, header);
    }
}

/// A small file kept open: read whole with one `pread`; with how it is answered, so that `hot`
/// can answer it again (as a [`LargeFile`]).
pub(crate) struct OpenFile {
    pub(crate) file: std::fs::File,
    pub(crate) length: u64,
    pub(crate) meta: FileMeta,
}

/// A large file kept open, with what its whole answer's headers need (for `hot`).
pub(crate) struct LargeFile {
    pub(crate) file: Arc<std::fs::File>,
    /// Its length when opened (the bytes `Content-Length` promises).
    pub(crate) length: u64,
    meta: FileMeta,
    etag: Option<HeaderValue>,
}

impl LargeFile {
    pub(crate) fn new(file: Arc<std::fs::File>, length: u64, meta: FileMeta) -> LargeFile {
        LargeFile {
            file,
            length,
            etag: HeaderValue::from_str(&meta.etag).ok(),
            meta,
        }
    }

    /// As [`Entry::each_header`], for the whole large file as hyper answers it.
    pub(crate) fn each_header(&self, header: impl FnMut(HeaderName, HeaderValue)) {
        let carry = Carry::Bytes { gzip: false };
        self.meta.each_header(self.etag.as_ref(), carry, header);
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

impl ResponseCache {
    fn get(&self, key: &str, generation: u64) -> Option<Arc<Entry>> {
        self.entries
            .get(key)
            .filter(|e| e.generation == generation)
            .cloned()
    }

    /// Keeps `entry` under `key` (a `&str` is copied only when it is kept).
    fn put(&mut self, key: impl AsRef<str> + Into<String>, entry: Arc<Entry>) {
        let key_len = key.as_ref().len();
        let size = entry.body.len() + key_len;
        if self.bytes + size > CACHE_BYTES {
            if !self.clears.may_clear() {
                return;
            }
            self.entries.clear();
            self.bytes = 0;
        }
        self.bytes += size;
        if let Some(old) = self.entries.insert(key.into(), entry) {
            self.bytes -= old.body.len() + key_len;
        }
    }
}

/// Open files by request path, for the release load they were opened in
/// ([`Served::generation`](crate::served::Served)); when full, emptied at most once a minute,
/// as the response cache.
struct FileCache<V> {
    files: HashMap<String, (u64, Arc<V>)>,
    capacity: usize,
    clears: Clears,
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

/// The server's three caches, each behind its own lock, keyed by request path (the gzipped
/// form of a small file by the path and `\0gz`).
pub(crate) struct Caches {
    /// One for all server threads: split between them, each part held half as much, and
    /// random reads over the archive hit half as often (bench/mirror.sh: 1.00× nginx against
    /// 1.07-1.14× shared), for 2% less CPU on a hot document.
    answers: Mutex<ResponseCache>,
    /// Open small files, read with one `pread`: a miss of the response cache then costs one
    /// system call, not open, statx, read and close (nginx's open file cache).
    small: Mutex<FileCache<OpenFile>>,
    /// Open large files, with their answer's headers: read from again without an open and a
    /// stat, and sent by `hot` with `sendfile` on plain HTTP/1.1 connections.
    large: Mutex<FileCache<LargeFile>>,
}

impl Caches {
    /// Caches keeping at most `small_files` and `large_files` files open.
    pub(crate) fn new(small_files: usize, large_files: usize) -> Caches {
        Caches {
            answers: Mutex::new(ResponseCache::default()),
            small: Mutex::new(FileCache::with_capacity(small_files)),
            large: Mutex::new(FileCache::with_capacity(large_files)),
        }
    }

    /// Empties every cache (a new release is served).
    pub(crate) fn clear(&self) {
        if let Ok(mut cache) = self.answers.lock() {
            *cache = ResponseCache::default();
        }
        if let Ok(mut files) = self.small.lock() {
            *files = FileCache::with_capacity(files.capacity);
        }
        if let Ok(mut large) = self.large.lock() {
            *large = FileCache::with_capacity(large.capacity);
        }
    }

    /// Empties the response cache alone, as when it is full (the files stay open).
    #[cfg(test)]
    pub(crate) fn forget_answers(&self) {
        if let Ok(mut cache) = self.answers.lock() {
            *cache = ResponseCache::default();
        }
    }

    /// The cached answer to a plain request for `path` (whole, no conditions), for release
    /// load `generation`: its gzipped form when the client takes gzip and one was made and is
    /// worth it.
    pub(crate) fn hit(&self, path: &str, generation: u64, gzip: bool) -> Option<Arc<Entry>> {
        let cache = self.answers.lock().ok()?;
        let entry = cache.get(path, generation)?;
        if !(gzip && entry.meta.vary) {
            return Some(entry);
        }
        let gz = cache.get(&format!("{path}\0gz"), generation)?;
        Some(if gz.body.is_empty() { entry } else { gz })
    }

    /// The open large file to send whole for a plain request for `path` (no conditions), for
    /// release load `generation`; None when hyper would answer otherwise: with its gzipped
    /// form (`gzip` and the file has one).
    pub(crate) fn large_hit(
        &self,
        path: &str,
        generation: u64,
        gzip: bool,
    ) -> Option<Arc<LargeFile>> {
        let large = self.large.lock().ok()?.get(path, generation)?;
        (!(gzip && large.meta.vary)).then_some(large)
    }

    /// The cached answer under `key` (a path, or a path and `\0gz`), whatever its form.
    pub(crate) fn answer(&self, key: &str, generation: u64) -> Option<Arc<Entry>> {
        self.answers.lock().ok()?.get(key, generation)
    }

    pub(crate) fn put_answer(&self, key: String, entry: Entry) {
        if let Ok(mut cache) = self.answers.lock() {
            cache.put(key, Arc::new(entry));
        }
    }

    /// Keeps `entry`, also in the caller's hands, as the answer under `key`.
    pub(crate) fn keep_answer(&self, key: &str, entry: Arc<Entry>) {
        if let Ok(mut cache) = self.answers.lock() {
            cache.put(key, entry);
        }
    }

    pub(crate) fn open_small(&self, path: &str, generation: u64) -> Option<Arc<OpenFile>> {
        self.small.lock().ok()?.get(path, generation)
    }

    /// The small file kept open to read again for a plain request for `path` (no
    /// conditions), for release load `generation`; None when hyper would answer otherwise
    /// (with its gzipped form: `gzip` and the file may have one), as [`Caches::large_hit`].
    pub(crate) fn small_hit(
        &self,
        path: &str,
        generation: u64,
        gzip: bool,
    ) -> Option<Arc<OpenFile>> {
        let open = self.open_small(path, generation)?;
        (!(gzip && open.meta.vary)).then_some(open)
    }

    pub(crate) fn put_small(&self, path: &str, generation: u64, file: OpenFile) {
        if let Ok(mut files) = self.small.lock() {
            files.put(path, generation, file);
        }
    }

    pub(crate) fn open_large(&self, path: &str, generation: u64) -> Option<Arc<LargeFile>> {
        self.large.lock().ok()?.get(path, generation)
    }

    pub(crate) fn put_large(&self, path: &str, generation: u64, file: LargeFile) {
        if let Ok(mut large) = self.large.lock() {
            large.put(path, generation, file);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta() -> FileMeta {
        FileMeta {
            etag: "\"e\"".into(),
            caching: "public, max-age=300",
            content_type: "text/html; charset=utf-8",
            csp: Some("sandbox"),
            vary: true,
        }
    }

    fn names(meta: &FileMeta, carry: Carry) -> Vec<String> {
        let etag = HeaderValue::from_str(&meta.etag).ok();
        let mut names = Vec::new();
        meta.each_header(etag.as_ref(), carry, |name, value| {
            names.push(format!("{name}: {}", value.to_str().unwrap_or("?")));
        });
        names
    }

    #[test]
    fn each_answer_carries_its_named_headers() {
        let m = meta();
        let whole = [
            "content-type: text/html; charset=utf-8",
            "cache-control: public, max-age=300",
            "accept-ranges: bytes",
            "x-content-type-options: nosniff",
            "etag: \"e\"",
            "content-security-policy: sandbox",
            "access-control-allow-origin: *",
            "vary: accept-encoding",
        ];
        assert_eq!(names(&m, Carry::Bytes { gzip: false }), whole);
        let mut gz = whole.to_vec();
        gz.insert(5, "content-encoding: gzip");
        assert_eq!(names(&m, Carry::Bytes { gzip: true }), gz);
        assert_eq!(names(&m, Carry::Bare), whole[..5]);
        assert_eq!(
            names(&m, Carry::NotModified { policy: false }),
            [whole[1], whole[4]]
        );
        let mut not_modified = vec![whole[1], whole[4]];
        not_modified.extend_from_slice(&whole[5..]);
        assert_eq!(names(&m, Carry::NotModified { policy: true }), not_modified);
        assert_eq!(names(&m, Carry::Policy), whole[5..]);
        assert_eq!(m.gzipped().etag, "\"e-gz\"");
    }

    #[test]
    fn hits_are_for_their_generation_and_gzip_only_for_those_that_take_it() {
        let caches = Caches::new(4, 4);
        let body = Bytes::from_static(b"plain");
        caches.put_answer("/x".into(), Entry::new(7, body, meta(), false));
        assert!(caches.hit("/x", 8, false).is_none(), "another release");
        let hit = caches.hit("/x", 7, false).expect("hit");
        assert_eq!(&hit.body[..], b"plain");
        // Takes gzip, no gzipped form made yet: hyper makes it.
        assert!(caches.hit("/x", 7, true).is_none());
        let gz = Bytes::from_static(b"gz");
        caches.put_answer("/x\0gz".into(), Entry::new(7, gz, meta().gzipped(), true));
        assert_eq!(&caches.hit("/x", 7, true).expect("gz").body[..], b"gz");
        // Not worth it (an empty gzipped form): the file as it is.
        caches.put_answer(
            "/x\0gz".into(),
            Entry::new(7, Bytes::new(), meta().gzipped(), true),
        );
        assert_eq!(
            &caches.hit("/x", 7, true).expect("plain").body[..],
            b"plain"
        );
        caches.clear();
        assert!(caches.hit("/x", 7, false).is_none());
    }
}
