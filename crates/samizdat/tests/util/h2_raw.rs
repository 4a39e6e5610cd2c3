//! The HTTP/2 frames of a hostile client, as raw bytes (RFC 9113).

pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = (payload.len() as u32).to_be_bytes()[1..].to_vec();
    out.extend([kind, flags]);
    out.extend(stream.to_be_bytes());
    out.extend(payload);
    out
}

/// The preface and a SETTINGS frame; with `window_zero`, SETTINGS_INITIAL_WINDOW_SIZE = 0:
/// the server may send no byte of any answer's body.
pub fn hello(window_zero: bool) -> Vec<u8> {
    let settings: &[u8] = if window_zero {
        &[0, 4, 0, 0, 0, 0]
    } else {
        &[]
    };
    [PREFACE, &frame(4, 0, 0, settings)].concat()
}

/// A GET of `path` on stream 1 (HPACK: indexed :method GET and :scheme http, literal
/// :path and :authority); `whole: false` leaves the header block open (no END_HEADERS).
pub fn get(path: &str, whole: bool) -> Vec<u8> {
    get_on(1, path, whole)
}

/// RST_STREAM (CANCEL) of `stream`: a client that no longer wants its answer.
pub fn reset(stream: u32) -> Vec<u8> {
    frame(3, 0, stream, &8u32.to_be_bytes())
}

/// As [`get`], on `stream` (odd: the client's).
pub fn get_on(stream: u32, path: &str, whole: bool) -> Vec<u8> {
    let mut block = vec![0x82, 0x86];
    for (index, value) in [(4u8, path), (1, "x")] {
        block.push(index);
        let mut n = value.len();
        if n < 127 {
            block.push(n as u8);
        } else {
            block.push(127);
            n -= 127;
            while n >= 128 {
                block.push((n % 128) as u8 | 0x80);
                n /= 128;
            }
            block.push(n as u8);
        }
        block.extend(value.as_bytes());
    }
    let flags = if whole { 0x4 | 0x1 } else { 0x1 };
    frame(1, flags, stream, &block)
}

/// A CONTINUATION frame of `stream` carrying `block` (a piece of a header block), without
/// END_HEADERS: the header block stays open.
pub fn continuation(stream: u32, block: &[u8]) -> Vec<u8> {
    frame(9, 0, stream, block)
}

/// HPACK: a literal header field without indexing, new name (RFC 7541 §6.2.2), for names and
/// values under 127 bytes.
pub fn literal(name: &str, value: &str) -> Vec<u8> {
    assert!(name.len() < 127 && value.len() < 127, "short strings only");
    let mut out = vec![0, name.len() as u8];
    out.extend(name.as_bytes());
    out.push(value.len() as u8);
    out.extend(value.as_bytes());
    out
}
