//! Reading a request, for both the hot path (`hot`, on `httparse`'s view of the bytes) and
//! hyper's (`serve`, on a `HeaderMap`): the screen every request passes first, path checks,
//! Range, If-None-Match, Accept-Encoding. It knows nothing of the release, the caches or the
//! sockets (the client is the flood guard's [`Client`], an address), so each rule here is
//! unit-tested on strings.
//!
//! **The flood guard's place:** [`screen`] is the one function both paths call on a request
//! before any routing or cache lookup (`hot::answer`, `serve::App::respond`). It asks the
//! guard (`guard`: the client's rate, the server's answers in flight) first, so that a request
//! the hot path would answer from memory and one that hyper answers from disk are judged
//! alike, a malformed one included; whatever it refuses, the hot path hands to hyper, which
//! answers the refusal (429 or 503 with `Retry-After`) without charging the request twice.

use hyper::Method;
use hyper::header::{self, HeaderMap};

use crate::guard::{Client, Refusal, Verdict};

/// A request as the server answers it: no body (GET and HEAD have none the server reads) and
/// no socket, so that every answer can be unit-tested from these parts alone.
#[derive(Clone, Copy)]
pub struct Ask<'a> {
    pub method: &'a Method,
    /// The path alone (no query).
    pub path: &'a str,
    pub headers: &'a HeaderMap,
    /// Who asks: the connection's client, as the flood guard admitted it.
    pub client: &'a Client,
}

impl<'a> Ask<'a> {
    /// The parts of a request hyper parsed, on `client`'s connection.
    pub fn of(parts: &'a hyper::http::request::Parts, client: &'a Client) -> Ask<'a> {
        Ask {
            method: &parts.method,
            path: parts.uri.path(),
            headers: &parts.headers,
            client,
        }
    }
}

/// What [`screen`] makes of a request, before routing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Screened {
    /// A read the server may answer: GET, or HEAD (`head`: no body in the answer).
    Read { head: bool },
    /// Not GET or HEAD: 405.
    NotAllowed,
    /// A path the server will not look at ([`path_is_clean`]): 400, before any file is touched.
    BadPath,
    /// Refused by the flood guard: 429 (the client's rate) or 503 (the server's load), with
    /// `Retry-After` in seconds.
    Refused { why: Refusal, retry_after: u64 },
}

/// The paths an operator watches the server by: answered while it sheds load.
pub const MONITORING: [&str; 2] = ["/metrics", "/.well-known/samizdat/status.json"];

/// The first look at every request, on both paths, before routing: the flood guard's verdict
/// on its client, then its method, then its path.
pub fn screen(client: &Client, method: &str, path: &str) -> Screened {
    if let Verdict::Refused { why, retry_after } = client.screen(MONITORING.contains(&path)) {
        return Screened::Refused { why, retry_after };
    }
    let head = match method {
        "GET" => false,
        "HEAD" => true,
        _ => return Screened::NotAllowed,
    };
    if !path_is_clean(path) {
        return Screened::BadPath;
    }
    Screened::Read { head }
}

/// A path the server will look at: absolute, no empty segment but a trailing slash, no segment
/// starting with `.` (so no `..`) but `.well-known`, no escapes, no control characters or spaces.
/// Everything else is a 400 before any file is touched.
pub fn path_is_clean(path: &str) -> bool {
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

/// Whether the request carries a condition or a range: then it is not answered whole from a
/// cache entry as it stands.
pub fn is_plain(headers: &HeaderMap) -> bool {
    !headers.contains_key(header::RANGE)
        && !headers.contains_key(header::IF_NONE_MATCH)
        && !headers.contains_key(header::IF_RANGE)
}

/// The bytes of a file asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Range {
    Whole,
    /// From the first offset up to (not including) the second: never empty, never past the end.
    Part(u64, u64),
    Unsatisfiable,
}

/// The one byte range asked for (`bytes=a-b`, `a-`, `-n`), honoured only if `If-Range` (when
/// sent) names the current ETag. Several ranges or a malformed header get the whole file.
pub fn range(headers: &HeaderMap, etag: &str, length: u64) -> Range {
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

/// Whether the client takes gzip (`Accept-Encoding: gzip`, not `gzip;q=0`).
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(accepts_gzip_in)
}

/// Whether an `Accept-Encoding` value takes gzip.
pub fn accepts_gzip_in(value: &str) -> bool {
    value.split(',').any(|coding| {
        let mut parts = coding.split(';').map(str::trim);
        let name = parts.next().unwrap_or("");
        let refused = parts.any(|p| p.replace(' ', "") == "q=0" || p.replace(' ', "") == "q=0.0");
        (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
    })
}

/// As [`accepts_gzip`], for the raw bytes of the first `Accept-Encoding` line (the hot path's
/// `httparse` view): text only if visible ASCII or tabs, as `HeaderValue::to_str` reads it.
pub fn accepts_gzip_bytes(value: &[u8]) -> bool {
    let visible = value
        .iter()
        .all(|&b| b == b'\t' || (0x20..0x7f).contains(&b));
    visible && std::str::from_utf8(value).is_ok_and(accepts_gzip_in)
}

/// Whether `If-None-Match` names `etag` (or is `*`).
pub fn none_match(headers: &HeaderMap, etag: &str) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    fn with(name: header::HeaderName, value: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(name, HeaderValue::from_str(value).expect("header"));
        h
    }

    fn with_range(value: &str) -> HeaderMap {
        with(header::RANGE, value)
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
        let mut h = with_range("bytes=0-9");
        h.insert(header::IF_RANGE, HeaderValue::from_static("\"other\""));
        assert_eq!(range(&h, "\"e\"", 100), Range::Whole);
        h.insert(header::IF_RANGE, HeaderValue::from_static("\"e\""));
        assert_eq!(range(&h, "\"e\"", 100), Range::Part(0, 10));
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

    #[test]
    fn the_screen_looks_at_the_guard_first_then_the_method_then_the_path() {
        let limits = crate::guard::Limits {
            rate: 1,
            burst: 6,
            ..Default::default()
        };
        let metrics = std::sync::Arc::new(crate::metrics::Metrics::new());
        let gate = std::sync::Arc::new(crate::guard::Gate::new(limits, metrics));
        let client = gate.connect([192, 0, 2, 1].into()).expect("admitted");
        let screen = |method, path| screen(&client, method, path);
        assert_eq!(screen("GET", "/x"), Screened::Read { head: false });
        assert_eq!(screen("HEAD", "/x"), Screened::Read { head: true });
        assert_eq!(screen("POST", "/x"), Screened::NotAllowed);
        assert_eq!(screen("POST", "/.."), Screened::NotAllowed);
        assert_eq!(screen("get", "/x"), Screened::NotAllowed);
        assert_eq!(screen("GET", "/.."), Screened::BadPath);
        // Its burst spent, even a malformed request is refused before it is read.
        for (method, path) in [("GET", "/x"), ("POST", "/.."), ("GET", "/..")] {
            assert!(
                matches!(
                    screen(method, path),
                    Screened::Refused {
                        why: Refusal::Rate,
                        retry_after: 1
                    }
                ),
                "{method} {path}"
            );
        }
    }

    #[test]
    fn gzip_only_when_accepted() {
        let accepts = |v: &str| accepts_gzip(&with(header::ACCEPT_ENCODING, v));
        assert!(accepts("gzip"));
        assert!(accepts("br, GZIP;q=0.5"));
        assert!(accepts("*"));
        assert!(!accepts("identity"));
        assert!(!accepts("gzip;q=0"));
        assert!(!accepts("gzip; q = 0.0"));
        assert!(!accepts_gzip(&HeaderMap::new()));
        assert!(accepts_gzip_bytes(b"deflate,\tgzip"));
        assert!(!accepts_gzip_bytes(b"gzip\x01"));
        assert!(!accepts_gzip_bytes(b"gzip\xc3\xa9"));
    }

    #[test]
    fn if_none_match_names_the_etag_or_any() {
        let matches = |v: &str| none_match(&with(header::IF_NONE_MATCH, v), "\"e\"");
        assert!(matches("\"e\""));
        assert!(matches("\"a\", W/\"e\""));
        assert!(matches("*"));
        assert!(!matches("\"a\""));
        assert!(!matches("e"));
        assert!(!none_match(&HeaderMap::new(), "\"e\""));
    }
}
