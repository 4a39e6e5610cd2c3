//! Answers built from bytes and a file's description, for hyper: status, headers (from
//! [`FileMeta::each_header`], the one builder), Range, 304, 416, and the few plain texts. No
//! routing, no release and no cache here: what a path is served as ([`content_type`], the
//! caching and CSP policies) is decided by `serve` and described by a [`FileMeta`].

use crate::guard::Refusal;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{Either, Full, combinators::BoxBody};
use hyper::body::Frame;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Response, StatusCode};

use crate::cache::{Carry, Entry, FileMeta};
use crate::request::{Range, none_match, range};

pub type Body = Either<Full<Bytes>, BoxBody<Bytes, std::io::Error>>;

pub(crate) const IMMUTABLE: &str = "public, max-age=31536000, immutable";
pub(crate) const PLAIN: &str = "public, max-age=300";
pub(crate) const TIMESTAMP: &str = "public, max-age=60";
pub(crate) const NO_STORE: &str = "no-store";
/// The reader site's pages: only the site's own scripts, styles and fetches from this mirror or
/// another (its service worker fails over); no plugins, no framing, forms only to the site.
pub(crate) const SITE_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
     connect-src 'self' http: https:; object-src 'none'; base-uri 'none'; form-action 'self'; \
     frame-ancestors 'none'";
const STREAM_CHUNK: usize = 256 * 1024;

/// Inserts a file's headers for `carry` (from [`FileMeta::each_header`]) into `h`.
fn insert_file_headers(h: &mut HeaderMap, meta: &FileMeta, carry: Carry) {
    let etag = HeaderValue::from_str(&meta.etag).ok();
    meta.each_header(etag.as_ref(), carry, |name, value| {
        h.insert(name, value);
    });
}

/// A cache hit for a request without conditions: the whole file, 200.
pub(crate) fn entry_response(entry: &Entry) -> Response<Body> {
    let mut response = Response::new(Either::Left(Full::new(entry.body.clone())));
    let h = response.headers_mut();
    h.reserve(9);
    entry.each_header(|name, value| {
        h.insert(name, value);
    });
    response
}

/// A response from bytes in memory, with If-None-Match, Range and HEAD handled (hyper leaves
/// out a HEAD answer's body). `carry`: [`Carry::Bytes`] or [`Carry::Bare`]; a 304 carries the
/// policy headers unless the answer is bare.
pub(crate) fn bytes_response(
    headers: &HeaderMap,
    bytes: Bytes,
    meta: &FileMeta,
    carry: Carry,
) -> Response<Body> {
    let policy = carry != Carry::Bare;
    if none_match(headers, &meta.etag) {
        return not_modified(meta, policy);
    }
    let length = bytes.len() as u64;
    let (status, start, body) = match range(headers, &meta.etag, length) {
        Range::Whole => (StatusCode::OK, 0, bytes),
        Range::Part(start, end) => (
            StatusCode::PARTIAL_CONTENT,
            start,
            bytes.slice(start as usize..end as usize),
        ),
        Range::Unsatisfiable => return unsatisfiable(length, policy.then_some(meta)),
    };
    let len = body.len() as u64;
    let mut response = Response::new(Either::Left(Full::new(body)));
    *response.status_mut() = status;
    let h = response.headers_mut();
    if status == StatusCode::PARTIAL_CONTENT {
        h.insert(header::CONTENT_RANGE, content_range(start, len, length));
    }
    insert_file_headers(h, meta, carry);
    response
}

/// A response streaming `length` bytes of `file` (none for HEAD), with Range handled (the
/// caller has answered If-None-Match).
pub(crate) fn file_response(
    headers: &HeaderMap,
    head: bool,
    file: Arc<std::fs::File>,
    length: u64,
    meta: &FileMeta,
) -> Response<Body> {
    let (status, start, len) = match range(headers, &meta.etag, length) {
        Range::Whole => (StatusCode::OK, 0, length),
        Range::Part(start, end) => (StatusCode::PARTIAL_CONTENT, start, end - start),
        Range::Unsatisfiable => return unsatisfiable(length, Some(meta)),
    };
    let mut response = Response::new(Either::Left(Full::new(Bytes::new())));
    if !head {
        let body = FileBody {
            file,
            offset: start,
            left: len,
        };
        *response.body_mut() = Either::Right(http_body_util::BodyExt::boxed(body));
    }
    *response.status_mut() = status;
    let h = response.headers_mut();
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    if status == StatusCode::PARTIAL_CONTENT {
        h.insert(header::CONTENT_RANGE, content_range(start, len, length));
    }
    insert_file_headers(h, meta, Carry::Bytes { gzip: false });
    response
}

/// 304 Not Modified for the file `meta` describes; `policy`: with CSP, CORS and Vary.
pub(crate) fn not_modified(meta: &FileMeta, policy: bool) -> Response<Body> {
    let mut response = Response::new(Either::Left(Full::new(Bytes::new())));
    *response.status_mut() = StatusCode::NOT_MODIFIED;
    insert_file_headers(response.headers_mut(), meta, Carry::NotModified { policy });
    response
}

/// `bytes START-LAST/LENGTH` for the `len` bytes from `start` (`len` ≥ 1: [`range`] never
/// gives an empty part).
pub(crate) fn content_range(start: u64, len: u64, length: u64) -> HeaderValue {
    let last = (start + len).saturating_sub(1);
    let value = format!("bytes {start}-{last}/{length}");
    HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("bytes */0"))
}

/// 416 for a file of `length` bytes; with the file's policy headers when `meta` is given.
pub(crate) fn unsatisfiable(length: u64, meta: Option<&FileMeta>) -> Response<Body> {
    let mut response = text(StatusCode::RANGE_NOT_SATISFIABLE, "range not satisfiable\n");
    let h = response.headers_mut();
    if let Ok(value) = HeaderValue::from_str(&format!("bytes */{length}")) {
        h.insert(header::CONTENT_RANGE, value);
    }
    if let Some(meta) = meta {
        insert_file_headers(h, meta, Carry::Policy);
    }
    response
}

/// A permanent redirect to `location` (a path of this server).
pub(crate) fn redirect(location: &str) -> Response<Body> {
    let mut response = text(StatusCode::MOVED_PERMANENTLY, "moved\n");
    if let Ok(value) = HeaderValue::from_str(location) {
        response.headers_mut().insert(header::LOCATION, value);
    }
    response
}

pub(crate) fn text(status: StatusCode, body: impl Into<Bytes>) -> Response<Body> {
    let mut response = Response::new(Either::Left(Full::new(body.into())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

/// A page of the server's own (not a file's): `status`, HTML under `csp`, `nosniff`, readable
/// by the reader site's service worker on another mirror (CORS), cached as `caching` says.
pub(crate) fn own_page(
    status: StatusCode,
    body: impl Into<Bytes>,
    csp: &'static str,
    caching: &'static str,
) -> Response<Body> {
    let mut response = with_type(text(status, body), "text/html; charset=utf-8", caching);
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(csp),
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

/// `status` (429, 503) with `Retry-After: seconds`, never cached: an answer that costs a few
/// bytes, for a client asked to come back later.
pub(crate) fn retry_later(status: StatusCode, body: &'static str, seconds: u64) -> Response<Body> {
    let mut response = with_type(text(status, body), "text/plain; charset=utf-8", NO_STORE);
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from(seconds));
    response
}

/// The flood guard's refusal: 429 for a client over its rate, 503 for a server over its load.
pub(crate) fn refused(why: Refusal, seconds: u64) -> Response<Body> {
    match why {
        Refusal::Overloaded => retry_later(
            StatusCode::SERVICE_UNAVAILABLE,
            "this mirror is overloaded: try again shortly, or another mirror\n",
            seconds,
        ),
        _ => retry_later(
            StatusCode::TOO_MANY_REQUESTS,
            "too many requests from your address: slow down\n",
            seconds,
        ),
    }
}

pub(crate) fn not_found() -> Response<Body> {
    text(StatusCode::NOT_FOUND, "not found\n")
}

pub(crate) fn with_type(
    mut response: Response<Body>,
    content_type: &'static str,
    caching: &'static str,
) -> Response<Body> {
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(caching));
    response
}

/// A large file's bytes, [`STREAM_CHUNK`] at a time, each read with one `pread` in the server
/// thread when the connection can take more. Not `tokio::fs`, which hands every chunk to a
/// blocking thread and back (0.56x nginx's MB/s on a 100 MB file in bench/mirror.sh; this
/// body's gain over it is small next to that machine's drift, bench/RESULTS.md).
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

pub(crate) fn content_type(name: &str) -> &'static str {
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
        "gif" => "image/gif",
        "webp" => "image/webp",
        "bmp" => "image/bmp",
        "tif" | "tiff" => "image/tiff",
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
pub(crate) fn original_content_type(name: &str) -> &'static str {
    match content_type(name) {
        inert @ ("application/pdf"
        | "text/plain; charset=utf-8"
        | "message/rfc822"
        | "application/mbox"
        | "application/gzip"
        | "application/jsonl"
        | "application/json"
        | "image/png"
        | "image/jpeg"
        | "image/gif"
        | "image/webp"
        | "image/bmp"
        | "image/tiff") => inert,
        other if is_text(other) => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

pub(crate) fn is_text(content_type: &str) -> bool {
    content_type.starts_with("text/")
        || content_type.starts_with("application/json")
        || content_type == "image/svg+xml"
        || content_type == "message/rfc822"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_ranges_name_the_last_byte() {
        assert_eq!(
            content_range(5, 95, 100).to_str().expect("text"),
            "bytes 5-99/100"
        );
        let max = u64::MAX;
        assert_eq!(
            content_range(0, max, max).to_str().expect("text"),
            format!("bytes 0-{}/{max}", max - 1)
        );
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
            ("gif", "image/gif"),
            ("webp", "image/webp"),
            ("tif", "image/tiff"),
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
}
