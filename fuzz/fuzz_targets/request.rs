//! Request heads into the mirror's request classification (`mirror::request`): the bytes parsed
//! as the hot path parses them (`httparse`), then the flood guard's screen, the path check,
//! Range, If-None-Match, Accept-Encoding, as both paths read them.
//!
//! Besides not panicking: a range is never empty nor past the file's end; the screen's verdict
//! agrees with `path_is_clean` for a GET; the hot path's Accept-Encoding reader on the raw bytes
//! agrees with hyper's on the header map; an allowed client's connections are all given back.
#![no_main]

use std::net::IpAddr;
use std::sync::{Arc, OnceLock};

use hyper::header::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use mirror::guard::{Gate, Limits};
use mirror::request::{self, Range, Screened};

/// One guard for the whole run: requests from 127.0.0.1 pass its per-client limits (allowed),
/// others are charged as anyone's.
fn gate() -> &'static Arc<Gate> {
    static GATE: OnceLock<Arc<Gate>> = OnceLock::new();
    GATE.get_or_init(|| {
        let limits = Limits {
            allow: vec!["127.0.0.1".into()],
            ..Limits::default()
        };
        Arc::new(Gate::new(limits, Arc::new(mirror::metrics::Metrics::new())))
    })
}

fuzz_target!(|data: &[u8]| {
    // The first 16 bytes: a client address (its prefix, its connection counted and given back).
    let (address, head) = data.split_at(data.len().min(16));
    let mut octets = [0u8; 16];
    octets[..address.len()].copy_from_slice(address);
    let ip = IpAddr::from(octets);
    let prefix = mirror::guard::prefix_of(ip);
    assert_eq!(mirror::guard::prefix_of(prefix), prefix);
    if let Ok(client) = gate().connect(ip) {
        let _ = client.screen(ip.is_loopback());
    }

    let mut lines = [httparse::EMPTY_HEADER; 64];
    let mut parsed = httparse::Request::new(&mut lines);
    if parsed.parse(head).is_err() {
        return;
    }
    let (Some(method), Some(path)) = (parsed.method, parsed.path) else {
        return;
    };
    let mut headers = HeaderMap::new();
    for line in parsed.headers.iter() {
        if let (Ok(name), Ok(value)) = (
            HeaderName::from_bytes(line.name.as_bytes()),
            HeaderValue::from_bytes(line.value),
        ) {
            headers.append(name, value);
        }
    }
    let client = gate().connect([127, 0, 0, 1].into()).expect("allowed");
    let screened = request::screen(&client, method, path);
    match method {
        "GET" | "HEAD" => {
            let clean = request::path_is_clean(path);
            assert_eq!(
                screened,
                if clean {
                    Screened::Read { head: method == "HEAD" }
                } else {
                    Screened::BadPath
                }
            );
        }
        _ => assert_eq!(screened, Screened::NotAllowed),
    }

    let etag = "\"e\"";
    for length in [0u64, 1, 100, u64::MAX] {
        if let Range::Part(start, end) = request::range(&headers, etag, length) {
            assert!(start < end && end <= length, "{start}..{end} of {length}");
        }
    }
    let _ = request::none_match(&headers, etag);
    let _ = request::is_plain(&headers);
    // The first Accept-Encoding line, read raw (the hot path) and from the map (hyper's).
    if let Some(raw) = parsed
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("accept-encoding"))
        && HeaderValue::from_bytes(raw.value).is_ok()
    {
        assert_eq!(
            request::accepts_gzip_bytes(raw.value),
            request::accepts_gzip(&headers),
            "{:?}",
            String::from_utf8_lossy(raw.value)
        );
    }
});
