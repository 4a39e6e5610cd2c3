//! The hot path in front of hyper, on plain (not TLS) connections.
//!
//! A mirror's busiest requests are the same small files asked again and again, whole and
//! without conditions: a document linked from the news, the reader site's scripts and pages.
//! Those are answered here from the response cache: the request head parsed in place by
//! `httparse` (the parser hyper itself uses), the answer's head written as bytes and sent with
//! the cached body in one `writev`. A large file served before (kept open by the server's
//! large-file cache) is answered the same way, its body sent with `sendfile`; a small one kept
//! open (the response cache full: random reads over a large archive) is read again with one
//! `pread` and answered as a cached one. Each was opened by hyper's path for this release
//! load, after every check a path gets there (withdrawn, blocked, served), and no cache answers
//! for another load: what `hot` answers, hyper would too. The first request
//! that is anything else hands the
//! connection, with the bytes read so far, to hyper for the rest of its life: a cache miss,
//! a range, a condition, a request body, `Connection: close`, HTTP/1.0 or HTTP/2, a head that
//! does not parse or is over [`HEAD_MAX`]. So every answer but a plain cache hit still comes
//! from hyper, and hostile input meets hyper's checks as before.
//!
//! Why by hand: on a hot 5 KB document (bench/mirror.sh), 29% of the server's CPU was in user
//! space, most of it hyper building and encoding a request and a response around a few header
//! lines: parsing into a URI and a header map, a timer armed per request, the response's header
//! map. No crate answers bytes it already has without building both.
//!
//! The answer's headers are [`Entry::each_header`]'s and [`LargeFile::each_header`]'s: the one
//! builder (`cache::FileMeta::each_header`) that hyper's answers for that file use too.
//!
//! This module knows the server only through [`Hits`] (the caches, for the release served) and
//! reads requests with `request`'s rules ([`screen`] first, as hyper's path does): it does not
//! import `serve`, which calls [`answer_hits`].

use std::io::IoSlice;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::{Buf, Bytes, BytesMut};
use hyper::StatusCode;
use hyper::header::{HeaderName, HeaderValue};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, Interest, ReadBuf};
use tokio::net::TcpStream;

use crate::cache::{Entry, LargeFile};
use crate::conns::Conn;
use crate::guard::{Client, Gate};
use crate::handover::Drain;
use crate::metrics::Metrics;
use crate::request::{Screened, accepts_gzip_bytes, screen};

/// What the hot path asks of the server (`serve::App`): the answers it may send as they are.
pub(crate) trait Hits {
    /// The cached answer to a plain request for `path` (whole, no conditions), for the release
    /// served now: its gzipped form when the client takes gzip and one was made and is worth it.
    fn hit(&self, path: &str, gzip: bool) -> Option<Arc<Entry>>;
    /// The open large file to send whole for a plain request for `path`, for the release served
    /// now; None when hyper would answer otherwise (with its gzipped form).
    fn large_hit(&self, path: &str, gzip: bool) -> Option<Arc<LargeFile>>;
    /// The answer to a plain request for `path` from a small file kept open for the release
    /// served now, read again (and kept in the response cache); None when hyper would answer
    /// otherwise (with its gzipped form) or the file cannot be read (hyper then says why).
    fn small_hit(&self, path: &str, gzip: bool) -> Option<Arc<Entry>>;
    /// Where every answer is counted.
    fn metrics(&self) -> &Metrics;
}

/// A request head this long, still incomplete, goes to hyper (which refuses it if too long).
const HEAD_MAX: usize = 8 * 1024;
/// Header lines looked at; a request with more goes to hyper.
const HEADERS_MAX: usize = 32;
/// A connection that completes no request for 10 to 20 s is closed (hyper closes one that
/// takes over 10 s to send a request head).
const IDLE: Duration = Duration::from_secs(10);
/// A write that makes no progress for this long ends the connection, with a reset: a reader
/// that takes nothing (for hyper's connections, `conns` keeps the same limit).
const WRITE_STALL: Duration = Duration::from_secs(30);
/// HTTP/2's connection preface with prior knowledge (RFC 9113 §3.4): hyper's to answer, once
/// it is whole (until then the idle limit here applies).
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
/// Answers to pipelined requests gathered before they are written: bytes, and buffers (each
/// answer is two: its head and its body; the kernel takes at most 1,024 in one `writev`).
const OUT_BYTES: usize = 256 * 1024;
const OUT_PARTS: usize = 64;

/// A connection handed on to hyper.
pub(crate) struct Handoff {
    /// The connection, with the bytes read of the request not answered here first.
    pub(crate) stream: Prefixed,
    /// Whether a request was answered here: then the connection is HTTP/1.1 for good, and a
    /// later HTTP/2 preface is a bad request, not a switch.
    pub(crate) answered: bool,
}

/// Answers the requests on `stream` while they are plain cache hits. Returns the connection for
/// hyper, or None once the client closed it, went idle or could not be written to, or the
/// server drains (`handover`): then a connection idle between requests is closed at once (as
/// hyper closes its own), and one that has yet to send its first request, or is midway
/// through one, gets that answer with `Connection: close` and is closed after it.
pub(crate) async fn answer_hits(
    app: &impl Hits,
    mut stream: TcpStream,
    conn: &Conn,
    client: &Client,
    drain: &mut Drain,
) -> Option<Handoff> {
    let mut input = BytesMut::with_capacity(4096);
    let mut out = Answers::default();
    let mut idle = std::pin::pin!(tokio::time::sleep(IDLE));
    let (mut answered, mut answered_by_last_tick) = (0u64, 0u64);
    let mut answered_when_touched = 0u64;
    loop {
        loop {
            match answer(app, client, &input, &mut out) {
                Next::Answered(used) => {
                    input.advance(used);
                    answered += 1;
                    if out.closing {
                        // Its answer says `Connection: close`: the last one here.
                        out.write(&mut stream, client.gate())
                            .await
                            .map_err(|_| reset(&stream))
                            .ok()?;
                        return None;
                    }
                    if out.full() {
                        out.write(&mut stream, client.gate())
                            .await
                            .map_err(|_| reset(&stream))
                            .ok()?;
                    }
                }
                Next::Partial => break,
                Next::Hyper => {
                    out.write(&mut stream, client.gate())
                        .await
                        .map_err(|_| reset(&stream))
                        .ok()?;
                    return Some(Handoff::new(input, stream, answered));
                }
            }
        }
        out.write(&mut stream, client.gate())
            .await
            .map_err(|_| reset(&stream))
            .ok()?;
        // For the connection cap: the least active connection is the one shed, and bytes
        // that complete no request (a head dripped a line at a time) are no activity.
        if answered != answered_when_touched {
            conn.touch();
            answered_when_touched = answered;
        }
        if input.len() >= HEAD_MAX {
            return Some(Handoff::new(input, stream, answered));
        }
        if !out.closing && drain.draining() {
            if answered > 0 && input.is_empty() {
                return None;
            }
            out.closing = true;
        }
        // Takes back the space of the requests answered once they all are.
        input.reserve(4096);
        tokio::select! {
            biased;
            read = stream.read_buf(&mut input) => match read {
                Ok(0) | Err(_) => return None,
                Ok(_) => {}
            },
            // Looked at again above.
            () = drain.started(), if !out.closing => {}
            () = &mut idle => {
                if answered == answered_by_last_tick {
                    return None;
                }
                answered_by_last_tick = answered;
                idle.as_mut().reset(tokio::time::Instant::now() + IDLE);
            }
        }
    }
}

/// Closes `stream` with a reset once dropped: a write failed or stalled, and a FIN would wait
/// behind the bytes the client does not take, for as long as the kernel keeps trying.
fn reset(stream: &TcpStream) {
    let _ = stream.set_zero_linger();
}

impl crate::conns::Reset for Prefixed {
    fn reset(&self) {
        reset(&self.stream);
    }
}

impl Handoff {
    fn new(input: BytesMut, stream: TcpStream, answered: u64) -> Handoff {
        Handoff {
            stream: Prefixed::new(input.freeze(), stream),
            answered: answered > 0,
        }
    }
}

enum Next {
    /// A request of this many bytes was answered.
    Answered(usize),
    /// The next request is not complete yet.
    Partial,
    /// The next request is not a plain cache hit: hyper answers it.
    Hyper,
}

/// Answers the request at the start of `input` if it is a plain cache hit.
fn answer(app: &impl Hits, client: &Client, input: &[u8], out: &mut Answers) -> Next {
    if input.is_empty() || (input.len() < H2_PREFACE.len() && H2_PREFACE.starts_with(input)) {
        return Next::Partial;
    }
    let mut headers = [httparse::EMPTY_HEADER; HEADERS_MAX];
    let mut request = httparse::Request::new(&mut headers);
    let used = match request.parse(input) {
        Ok(httparse::Status::Complete(used)) => used,
        Ok(httparse::Status::Partial) => return Next::Partial,
        Err(_) => return Next::Hyper,
    };
    let (Some(method), Some(path)) = (request.method, request.path) else {
        return Next::Hyper;
    };
    // A query or a fragment: hyper splits the target (the cache is keyed by the path alone).
    if path.contains(['?', '#']) {
        return Next::Hyper;
    }
    // The screen hyper's path applies too; anything it does not pass, hyper answers. The flood
    // guard's verdict on a request handed to hyper stands (charged and counted once).
    let next = match screen(client, method, path) {
        Screened::Read { head } => answer_read(app, &request, head, out, used),
        _ => Next::Hyper,
    };
    if let Next::Hyper = next {
        client.hand_over();
    }
    next
}

/// Answers a read that passed the screen if it is a plain cache hit.
fn answer_read(
    app: &impl Hits,
    request: &httparse::Request,
    head_only: bool,
    out: &mut Answers,
    used: usize,
) -> Next {
    let Some(path) = request.path else {
        return Next::Hyper;
    };
    // HTTP/1.1 only: 1.0 closes after each answer unless asked not to.
    if request.version != Some(1) {
        return Next::Hyper;
    }
    let mut gzip = None;
    for header in request.headers.iter() {
        let name = header.name;
        if name.eq_ignore_ascii_case("accept-encoding") {
            // The first, as hyper's `HeaderMap::get`.
            if gzip.is_none() {
                gzip = Some(accepts_gzip_bytes(header.value));
            }
        } else if name.eq_ignore_ascii_case("connection") {
            if !header.value.eq_ignore_ascii_case(b"keep-alive") {
                return Next::Hyper;
            }
        } else if [
            "range",
            "if-range",
            "if-none-match",
            "content-length",
            "transfer-encoding",
            "expect",
            "upgrade",
        ]
        .iter()
        .any(|n| name.eq_ignore_ascii_case(n))
        {
            return Next::Hyper;
        }
    }
    let gzip = gzip.unwrap_or(false);
    if let Some(entry) = app.hit(path, gzip) {
        app.metrics()
            .request(StatusCode::OK, entry.body.len() as u64);
        out.push(&entry, head_only);
    } else if let Some(large) = app.large_hit(path, gzip) {
        app.metrics().request(StatusCode::OK, large.length);
        out.push_large(large, head_only);
    } else if let Some(entry) = app.small_hit(path, gzip) {
        app.metrics()
            .request(StatusCode::OK, entry.body.len() as u64);
        out.push(&entry, head_only);
    } else {
        return Next::Hyper;
    }
    Next::Answered(used)
}

/// Answers not yet written: each one's head, then its body (but for HEAD); a large file's
/// answer is last, its body sent from the file.
#[derive(Default)]
struct Answers {
    parts: Vec<Bytes>,
    bytes: usize,
    /// The large file whose bytes follow the parts.
    file: Option<Arc<LargeFile>>,
    /// The server drains: the next answer says `Connection: close` and is the last.
    closing: bool,
}

impl Answers {
    /// Whether to write what is gathered before answering more.
    fn full(&self) -> bool {
        self.bytes >= OUT_BYTES || self.parts.len() >= OUT_PARTS || self.file.is_some()
    }

    fn push(&mut self, entry: &Arc<Entry>, head_only: bool) {
        let length = entry.body.len() as u64;
        self.push_head(|h| entry.each_header(h), length, head_only);
        if !head_only && !entry.body.is_empty() {
            self.bytes += entry.body.len();
            self.parts.push(entry.body.clone());
        }
    }

    fn push_large(&mut self, large: Arc<LargeFile>, head_only: bool) {
        self.push_head(|h| large.each_header(h), large.length, head_only);
        if !head_only && large.length > 0 {
            self.file = Some(large);
        }
    }

    fn push_head(
        &mut self,
        each_header: impl FnOnce(&mut dyn FnMut(HeaderName, HeaderValue)),
        length: u64,
        head_only: bool,
    ) {
        let mut head = Vec::with_capacity(512);
        head.extend_from_slice(b"HTTP/1.1 200 OK\r\n");
        each_header(&mut |name, value| {
            head.extend_from_slice(name.as_str().as_bytes());
            head.extend_from_slice(b": ");
            head.extend_from_slice(value.as_bytes());
            head.extend_from_slice(b"\r\n");
        });
        // As hyper: no length on a HEAD answer for an empty body.
        if !(head_only && length == 0) {
            head.extend_from_slice(b"content-length: ");
            head.extend_from_slice(length.to_string().as_bytes());
            head.extend_from_slice(b"\r\n");
        }
        if self.closing {
            head.extend_from_slice(b"connection: close\r\n");
        }
        head.extend_from_slice(b"date: ");
        date(&mut head);
        head.extend_from_slice(b"\r\n\r\n");
        self.bytes += head.len();
        self.parts.push(Bytes::from(head));
    }

    /// Writes every answer gathered, in one `writev` when the socket takes it all, then the
    /// large file's bytes with `sendfile`.
    /// While they are written, they count as answers in flight for `gate`'s load shedding, as
    /// hyper's answers do (a large file's `sendfile` may take as long as the reader makes it).
    async fn write(&mut self, stream: &mut TcpStream, gate: &Arc<Gate>) -> std::io::Result<()> {
        if self.parts.is_empty() && self.file.is_none() {
            return Ok(());
        }
        let _flight = gate.flight();
        for chunk in self.parts.chunks(OUT_PARTS + 2) {
            let mut slices = [IoSlice::new(&[]); OUT_PARTS + 2];
            for (slice, part) in slices.iter_mut().zip(chunk) {
                *slice = IoSlice::new(part);
            }
            let mut left = &mut slices[..chunk.len()];
            while !left.is_empty() {
                let written = stalls(stream.write_vectored(left)).await??;
                if written == 0 {
                    return Err(std::io::ErrorKind::WriteZero.into());
                }
                IoSlice::advance_slices(&mut left, written);
            }
        }
        self.parts.clear();
        self.bytes = 0;
        if let Some(large) = self.file.take() {
            send_file(stream, &large).await?;
        }
        Ok(())
    }
}

/// `write` within [`WRITE_STALL`], or a time-out error.
async fn stalls<T>(write: impl Future<Output = T>) -> std::io::Result<T> {
    tokio::time::timeout(WRITE_STALL, write)
        .await
        .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))
}

/// Sends the whole of `large` with `sendfile`: the kernel copies from the page cache to the
/// socket, as nginx does (`sendfile on`), where hyper's body would read each chunk into memory
/// and write it out again. Only here, on plain connections: TLS must see the bytes.
async fn send_file(stream: &TcpStream, large: &LargeFile) -> std::io::Result<()> {
    /// At most this much per call, so one connection does not hold its thread for long.
    const SEND_MAX: u64 = 4 << 20;
    let mut offset = 0u64;
    while offset < large.length {
        let count = (large.length - offset).min(SEND_MAX) as usize;
        let sent = stalls(stream.async_io(Interest::WRITABLE, || {
            rustix::fs::sendfile(stream, &*large.file, Some(&mut offset), count)
                .map_err(std::io::Error::from)
        }))
        .await??;
        if sent == 0 {
            // The file is shorter than when it was opened: the promised length cannot be
            // kept, so the connection ends (the client sees a short body).
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
    }
    Ok(())
}

thread_local! {
    /// The `Date` header's text and the second it was made for (as hyper keeps it).
    static DATE: std::cell::RefCell<(u64, String)> = const { std::cell::RefCell::new((u64::MAX, String::new())) };
}

fn date(out: &mut Vec<u8>) {
    let now = SystemTime::now();
    let second = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    DATE.with_borrow_mut(|(made_for, text)| {
        if *made_for != second {
            *made_for = second;
            *text = httpdate::fmt_http_date(now);
        }
        out.extend_from_slice(text.as_bytes());
    });
}

/// A connection handed to hyper: the bytes already read from it come first.
pub(crate) struct Prefixed {
    read: Bytes,
    stream: TcpStream,
}

impl Prefixed {
    fn new(read: Bytes, stream: TcpStream) -> Prefixed {
        Prefixed { read, stream }
    }
}

impl AsyncRead for Prefixed {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        if self.read.is_empty() {
            return Pin::new(&mut self.stream).poll_read(cx, buf);
        }
        let n = self.read.len().min(buf.remaining());
        buf.put_slice(&self.read[..n]);
        self.read.advance(n);
        if self.read.is_empty() {
            // Lets go of the read buffer, which the connection would otherwise hold for life.
            self.read = Bytes::new();
        }
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Prefixed {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

/// The bytes the hot path writes for the request at the start of `input` (but a large file's
/// body, sent from the file): None when hyper is to answer it. For tests that compare its
/// answers with hyper's.
#[cfg(test)]
pub(crate) fn answer_bytes(app: &impl Hits, client: &Client, input: &[u8]) -> Option<Vec<u8>> {
    let mut out = Answers::default();
    match answer(app, client, input, &mut out) {
        Next::Answered(_) => Some(out.parts.iter().flat_map(|p| p.iter().copied()).collect()),
        Next::Partial | Next::Hyper => None,
    }
}
