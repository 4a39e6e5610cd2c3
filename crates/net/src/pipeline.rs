//! Many GETs on one plain HTTP/1.1 connection at once (pipelining, RFC 9112 §9.3): a mirror's
//! first sync asks a peer for ~500,000 files of a few KB each.
//!
//! Why by hand: neither ureq nor hyper's client pipelines, and through ureq each small file cost
//! ~13 system calls (strace of a first sync: per request two `setsockopt` for its time-outs, four
//! `ioctl` and a failing `recvfrom` to check that the pooled connection is alive, a `send`, the
//! reads) and several thread wake-ups. Here a batch of requests is one `write`, and the answers
//! come back to back in as few reads as the socket allows.
//!
//! Only what a static file server answers is taken: `200` with a `Content-Length` and no
//! transfer or content coding, or `404`. Anything else (a redirect, chunked or gzipped bodies,
//! HTTPS, a path that would need escaping) is left to ureq, one request at a time, under
//! ureq's rules: no redirect is followed, there either (see `HttpTransport::new`). Every peer is
//! untrusted: heads are parsed by `httparse` and capped, a body longer than its cap is refused
//! before it is read, every read has the request time-out and every answer a deadline (a peer
//! that drips a byte a second does not hold a fetch for longer than ureq would let it).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::{Duration, Instant};

use trust::client::FetchError;

/// Requests sent at once on one connection. Their heads (~150 bytes each) fit in the socket
/// buffers, so writing them all before reading cannot deadlock against a server that stops
/// reading while its answers wait.
pub const BATCH_MAX: usize = 32;
/// A response head longer than this is refused.
const HEAD_MAX: usize = 16 * 1024;
/// Header lines parsed in a response head.
const HEADERS_MAX: usize = 64;
/// A 404's body up to this long is read past (to keep the connection); longer, the connection
/// is dropped.
const SKIP_MAX: u64 = 64 * 1024;
/// Bytes read at once (the answers to a batch of small files come in a few reads).
const READ_SIZE: usize = 64 * 1024;
/// Idle connections kept per peer (a mirror syncs 8 fetches at a time).
const IDLE_MAX: usize = 16;

/// Plain-HTTP peer: where to connect and what to ask.
pub(crate) struct Pipeline {
    /// `host[:port]` as in the URL: the `Host` header.
    authority: String,
    /// `host:port` to resolve.
    connect_to: String,
    /// The URL's path, ending in `/`.
    prefix: String,
    base: String,
    user_agent: &'static str,
    request_timeout: Duration,
    connect_timeout: Duration,
    idle: Mutex<Vec<Connection>>,
    /// What the peer was seen to do with a connection after an answer: [`UNKNOWN`],
    /// [`KEEPS_OPEN`], [`CLOSES`].
    keeps_open: AtomicU8,
}

const UNKNOWN: u8 = 0;
const KEEPS_OPEN: u8 = 1;
const CLOSES: u8 = 2;

/// What one request gets: an answer, or None for ureq to ask again on its own.
pub(crate) type Answer = Option<Result<Vec<u8>, FetchError>>;

struct Connection {
    stream: TcpStream,
    /// Bytes read past the last answer (the start of the next ones) are `buffer[pos..end]`;
    /// the buffer's length is fixed ([`READ_SIZE`]), zeroed once.
    buffer: Vec<u8>,
    pos: usize,
    end: usize,
    /// Bytes read from the socket in all.
    received: u64,
    /// The socket's read time-out now: the request time-out, or less near an answer's
    /// deadline (set only when it changes by more than an eighth, not before every read).
    armed: Duration,
}

/// One response as read.
enum Got {
    Body(Vec<u8>),
    NotFound,
    TooLarge,
    /// Not what a static file server answers: ureq asks again.
    Unsupported,
}

impl Pipeline {
    /// For a base URL `http://authority/prefix/` without user info; None otherwise (HTTPS).
    pub(crate) fn new(
        base: &str,
        user_agent: &'static str,
        request_timeout: Duration,
        connect_timeout: Duration,
    ) -> Option<Pipeline> {
        let rest = base.strip_prefix("http://")?;
        let (authority, path) = rest.split_at(rest.find('/')?);
        if authority.is_empty() || authority.contains('@') || !path_is_plain(path) {
            return None;
        }
        let has_port = match authority.rfind(':') {
            Some(colon) => !authority[colon..].contains(']'),
            None => false,
        };
        let connect_to = if has_port {
            authority.to_owned()
        } else {
            format!("{authority}:80")
        };
        Some(Pipeline {
            authority: authority.to_owned(),
            connect_to,
            prefix: path.to_owned(),
            base: base.to_owned(),
            user_agent,
            request_timeout,
            connect_timeout,
            idle: Mutex::new(Vec::new()),
            keeps_open: AtomicU8::new(UNKNOWN),
        })
    }

    /// Answers to `requests` (`(path, max_len)`), in order. A path that would need escaping is
    /// left to ureq; once an answer failed (a lie, a time-out), the rest of the batch gets that
    /// error too: the peer is not asked again this round.
    ///
    /// A peer is sent one request until it has shown that it keeps connections open
    /// (HTTP/1.1, no `Connection: close`): one that closes after each answer would reset the
    /// connection under requests it did not read, and is left to ureq.
    pub(crate) fn fetch_batch(&self, requests: &[(String, u64)]) -> Vec<Answer> {
        let mut answers: Vec<Answer> = (0..requests.len()).map(|_| None).collect();
        let asked: Vec<usize> = (0..requests.len())
            .filter(|&i| path_is_plain(&requests[i].0))
            .collect();
        let mut next = 0;
        // Each pass answers at least one request, or is the one retry of a pooled connection
        // the peer had closed while idle, or ends the batch.
        let mut retried = false;
        while next < asked.len() {
            let keeps_open = match self.keeps_open.load(Ordering::Relaxed) {
                KEEPS_OPEN => true,
                CLOSES => return answers,
                _ => false,
            };
            let pooled_one = if retried { None } else { self.take_idle() };
            let (mut connection, pooled) = match pooled_one {
                Some(c) => (c, true),
                None => match self.connect() {
                    Ok(c) => (c, false),
                    Err(e) => {
                        let error = format!("{}: cannot connect: {e}", self.base);
                        return self.fail_rest(answers, &asked[next..], &error, None);
                    }
                },
            };
            let batch = &asked[next..if keeps_open { asked.len() } else { next + 1 }];
            let mut out = Vec::with_capacity(batch.len() * 160);
            for &i in batch {
                self.request(&mut out, &requests[i].0);
            }
            if let Err(e) = connection.stream.write_all(&out) {
                if pooled && !retried {
                    self.stale();
                    retried = true;
                    continue;
                }
                let error = format!("{}: cannot send: {e}", self.base);
                return self.fail_rest(answers, &asked[next..], &error, None);
            }
            let mut keep = true;
            for (k, &i) in batch.iter().enumerate() {
                let (path, max_len) = &requests[i];
                // Nothing of this answer is in yet (to tell a closed connection from a cut one).
                let (held, received) = (connection.end - connection.pos, connection.received);
                match connection.read_answer(*max_len, self.request_timeout) {
                    Ok((got, alive)) => {
                        next += 1;
                        keep = alive;
                        // Learnt from a whole answer the connection was left open by or
                        // closed after by the peer, not after a refusal of ours (then the
                        // next request goes alone again).
                        let learns = match got {
                            Got::Body(_) => Some(alive),
                            Got::NotFound if alive => Some(true),
                            _ => None,
                        };
                        if let (false, Some(alive)) = (keeps_open, learns) {
                            let learnt = if alive { KEEPS_OPEN } else { CLOSES };
                            self.keeps_open.store(learnt, Ordering::Relaxed);
                        }
                        answers[i] = match got {
                            Got::Body(bytes) => Some(Ok(bytes)),
                            Got::NotFound => Some(Err(FetchError::NotFound)),
                            Got::TooLarge => {
                                keep = false;
                                Some(Err(FetchError::TooLarge { limit: *max_len }))
                            }
                            Got::Unsupported => {
                                keep = false;
                                None
                            }
                        };
                        if !keep {
                            break;
                        }
                    }
                    Err(e) => {
                        // Closed between two answers: by a peer that ends a connection after
                        // so many requests (nginx's keepalive_requests), or a pooled one it
                        // closed while idle. The rest is asked on a new connection.
                        let between = held == 0
                            && connection.received == received
                            && matches!(
                                e.kind(),
                                std::io::ErrorKind::UnexpectedEof
                                    | std::io::ErrorKind::ConnectionReset
                                    | std::io::ErrorKind::BrokenPipe
                            );
                        if between && (k > 0 || (pooled && !retried)) {
                            if k == 0 {
                                self.stale();
                                retried = true;
                            }
                            keep = false;
                            break;
                        }
                        let error = format!("{}{path}: {e}", self.base);
                        return self.fail_rest(answers, &asked[next..], &error, Some(i));
                    }
                }
            }
            // Bytes past the last answer (a 408 before an idle close, or a lie) would be taken
            // as the next batch's first answer.
            if keep && connection.pos == connection.end {
                self.put_idle(connection);
            }
        }
        answers
    }

    /// Answers the requests `rest` with `error`: the one that failed (`failed`) as it is, the
    /// others as not asked.
    fn fail_rest(
        &self,
        mut answers: Vec<Answer>,
        rest: &[usize],
        error: &str,
        failed: Option<usize>,
    ) -> Vec<Answer> {
        for &j in rest {
            answers[j] = Some(Err(if failed.is_none_or(|i| i == j) {
                FetchError::Other(error.to_owned())
            } else {
                trust::client::not_asked(error)
            }));
        }
        answers
    }

    fn request(&self, out: &mut Vec<u8>, path: &str) {
        out.extend_from_slice(b"GET ");
        out.extend_from_slice(self.prefix.as_bytes());
        out.extend_from_slice(path.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\nHost: ");
        out.extend_from_slice(self.authority.as_bytes());
        out.extend_from_slice(b"\r\nUser-Agent: ");
        out.extend_from_slice(self.user_agent.as_bytes());
        out.extend_from_slice(b"\r\nAccept-Encoding: identity\r\n\r\n");
    }

    /// A pooled connection was found closed by the peer: the others, as old, likely are too.
    fn stale(&self) {
        if let Ok(mut idle) = self.idle.lock() {
            idle.clear();
        }
    }

    fn take_idle(&self) -> Option<Connection> {
        self.idle.lock().ok()?.pop()
    }

    fn put_idle(&self, connection: Connection) {
        if let Ok(mut idle) = self.idle.lock()
            && idle.len() < IDLE_MAX
        {
            idle.push(connection);
        }
    }

    fn connect(&self) -> std::io::Result<Connection> {
        let addresses: Vec<SocketAddr> = self.connect_to.to_socket_addrs()?.collect();
        let mut last = std::io::Error::other("no address");
        for address in addresses {
            match TcpStream::connect_timeout(&address, self.connect_timeout) {
                Ok(stream) => {
                    stream.set_nodelay(true)?;
                    stream.set_read_timeout(Some(self.request_timeout))?;
                    stream.set_write_timeout(Some(self.request_timeout))?;
                    return Ok(Connection {
                        stream,
                        buffer: vec![0; READ_SIZE],
                        pos: 0,
                        end: 0,
                        received: 0,
                        armed: self.request_timeout,
                    });
                }
                Err(e) => last = e,
            }
        }
        Err(last)
    }
}

impl Connection {
    /// Reads one answer, capped at `max_len` bytes of body, within `timeout`; and whether the
    /// connection may carry the next one.
    fn read_answer(&mut self, max_len: u64, timeout: Duration) -> std::io::Result<(Got, bool)> {
        let deadline = Instant::now() + timeout;
        if self.armed < timeout {
            self.stream.set_read_timeout(Some(timeout))?;
            self.armed = timeout;
        }
        let Head {
            status,
            length,
            alive,
            used,
        } = loop {
            if let Some(head) = parse_head(&self.buffer[self.pos..self.end])? {
                break head;
            }
            if self.end - self.pos > HEAD_MAX {
                return Err(invalid("a response head over 16 KiB"));
            }
            self.fill(deadline)?;
        };
        self.pos += used;
        let Some(length) = length else {
            return Ok((Got::Unsupported, false));
        };
        match status {
            200 => {}
            404 if length <= SKIP_MAX => {
                self.take(length as usize, deadline)?;
                return Ok((Got::NotFound, alive));
            }
            404 => return Ok((Got::NotFound, false)),
            _ => return Ok((Got::Unsupported, false)),
        }
        if length > max_len {
            return Ok((Got::TooLarge, false));
        }
        Ok((Got::Body(self.take(length as usize, deadline)?), alive))
    }

    /// Sets the read time-out so that a read ends by `deadline`, give or take an eighth.
    fn arm(&mut self, deadline: Instant) -> std::io::Result<()> {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(std::io::ErrorKind::TimedOut.into());
        }
        if left + self.armed / 8 < self.armed {
            self.stream.set_read_timeout(Some(left))?;
            self.armed = left;
        }
        Ok(())
    }

    /// Reads more into the buffer before `deadline`.
    fn fill(&mut self, deadline: Instant) -> std::io::Result<()> {
        self.arm(deadline)?;
        // What was answered goes; what is left (part of a head) moves to the front.
        if self.pos > 0 {
            self.buffer.copy_within(self.pos..self.end, 0);
            (self.end, self.pos) = (self.end - self.pos, 0);
        }
        let n = read_some(&mut self.stream, &mut self.buffer[self.end..])?;
        self.end += n;
        self.received += n as u64;
        Ok(())
    }

    /// The next `length` bytes: from the buffer, then straight from the socket.
    fn take(&mut self, length: usize, deadline: Instant) -> std::io::Result<Vec<u8>> {
        let held = &self.buffer[self.pos..self.end];
        if held.len() >= length {
            let body = held[..length].to_vec();
            self.pos += length;
            return Ok(body);
        }
        // Grows past 16 MiB only as bytes come (a peer that drips a large file's bytes does
        // not get its whole length reserved at once).
        let mut body = Vec::with_capacity(length.min(16 << 20));
        body.extend_from_slice(held);
        (self.pos, self.end) = (0, 0);
        while body.len() < length {
            self.arm(deadline)?;
            let start = body.len();
            let want = (length - start).min(1 << 20);
            body.resize(start + want, 0);
            let read = read_some(&mut self.stream, &mut body[start..]);
            body.truncate(start + *read.as_ref().unwrap_or(&0));
            match read {
                Ok(n) => self.received += n as u64,
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
                    return Err(std::io::Error::new(
                        e.kind(),
                        format!("the body ended after {start} of {length} bytes"),
                    ));
                }
                Err(e) => return Err(e),
            }
        }
        Ok(body)
    }
}

/// One read: at least a byte, or an error (the end of the stream is `UnexpectedEof`; the read
/// time-out, which the socket reports as `WouldBlock`, is `TimedOut`).
fn read_some(stream: &mut TcpStream, into: &mut [u8]) -> std::io::Result<usize> {
    match stream.read(into) {
        Ok(0) => Err(std::io::ErrorKind::UnexpectedEof.into()),
        Ok(n) => Ok(n),
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
            Err(std::io::ErrorKind::TimedOut.into())
        }
        Err(e) => Err(e),
    }
}

/// A response head as read.
#[derive(Debug, PartialEq, Eq)]
struct Head {
    status: u16,
    /// `Content-Length`; None when the body is framed otherwise, or coded.
    length: Option<u64>,
    /// Whether the connection carries the next answer.
    alive: bool,
    /// The head's own length.
    used: usize,
}

/// The complete response head at the start of `buffer`, if it is all there.
fn parse_head(buffer: &[u8]) -> std::io::Result<Option<Head>> {
    let mut headers = [httparse::EMPTY_HEADER; HEADERS_MAX];
    let mut response = httparse::Response::new(&mut headers);
    let used = match response.parse(buffer) {
        Ok(httparse::Status::Complete(used)) => used,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => {
            return Err(invalid(&format!(
                "a response head that does not parse: {e}"
            )));
        }
    };
    let status = response.code.unwrap_or(0);
    let mut alive = response.version == Some(1);
    let mut length = None;
    let mut framed_otherwise = false;
    for header in response.headers.iter() {
        let name = header.name;
        if name.eq_ignore_ascii_case("content-length") {
            let value = std::str::from_utf8(header.value)
                .ok()
                .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
                .and_then(|v| v.parse::<u64>().ok())
                .ok_or_else(|| invalid("a Content-Length that is not a number"))?;
            if length.is_some_and(|l| l != value) {
                return Err(invalid("two different Content-Length headers"));
            }
            length = Some(value);
        } else if name.eq_ignore_ascii_case("transfer-encoding") {
            framed_otherwise = true;
        } else if name.eq_ignore_ascii_case("content-encoding") {
            if !header.value.eq_ignore_ascii_case(b"identity") {
                framed_otherwise = true;
            }
        } else if name.eq_ignore_ascii_case("connection") {
            let value = String::from_utf8_lossy(header.value).to_ascii_lowercase();
            if value.split(',').any(|t| t.trim() == "close") {
                alive = false;
            }
        }
    }
    if framed_otherwise {
        length = None;
    }
    Ok(Some(Head {
        status,
        length,
        alive: alive && length.is_some(),
        used,
    }))
}

fn invalid(what: &str) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned())
}

/// Whether `path` can go in a request line as it is: unreserved, sub-delims, `:`, `@`, `/`
/// and `%` escapes (RFC 3986's `pchar`), nothing to encode.
fn path_is_plain(path: &str) -> bool {
    !path.is_empty()
        && path
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/%".contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_read_as_a_static_server_sends_them() {
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
        let parsed = Head {
            status: 200,
            length: Some(5),
            alive: true,
            used: 38,
        };
        assert_eq!(parse_head(head).unwrap(), Some(parsed));
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\n";
        assert!(!parse_head(head).unwrap().unwrap().alive);
        let head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
        assert_eq!(parse_head(head).unwrap().unwrap().length, None);
        let head = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Encoding: gzip\r\n\r\n";
        assert_eq!(parse_head(head).unwrap().unwrap().length, None);
        let head = b"HTTP/1.0 200 OK\r\nContent-Length: 5\r\n\r\n";
        assert!(!parse_head(head).unwrap().unwrap().alive);
        assert_eq!(parse_head(b"HTTP/1.1 200 OK\r\nContent-Le").unwrap(), None);
        for bad in [
            &b"HTTP/1.1 200 OK\r\nContent-Length: -5\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\n",
            b"garbage\r\n\r\n",
        ] {
            assert!(parse_head(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }

    #[test]
    fn only_plain_http_bases_and_paths_are_pipelined() {
        let new = |base| Pipeline::new(base, "t", Duration::from_secs(1), Duration::from_secs(1));
        let p = new("http://127.0.0.1:8080/mirror/").expect("plain");
        assert_eq!(
            (
                p.authority.as_str(),
                p.connect_to.as_str(),
                p.prefix.as_str()
            ),
            ("127.0.0.1:8080", "127.0.0.1:8080", "/mirror/")
        );
        assert_eq!(
            new("http://example.org/").expect("plain").connect_to,
            "example.org:80"
        );
        assert_eq!(new("http://[::1]/").expect("plain").connect_to, "[::1]:80");
        assert_eq!(
            new("http://[::1]:81/").expect("plain").connect_to,
            "[::1]:81"
        );
        assert!(new("https://example.org/").is_none());
        assert!(new("http://user:pw@example.org/").is_none());
        assert!(path_is_plain("targets/ab12.d-1.original.txt"));
        assert!(!path_is_plain("targets/a b"));
        assert!(!path_is_plain("targets/a\r\nX: y"));
        assert!(!path_is_plain("targets/é"));
    }

    /// A peer on loopback that answers each connection's requests from `script` (its answers
    /// to the requests in order, as raw bytes), in pieces of 7 bytes, then closes.
    fn scripted_peer(scripts: Vec<Vec<&'static [u8]>>) -> (String, std::thread::JoinHandle<()>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}/", listener.local_addr().expect("address"));
        let peer = std::thread::spawn(move || {
            for script in scripts {
                let (mut stream, _) = listener.accept().expect("accept");
                stream
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .expect("timeout");
                let mut seen = Vec::new();
                for (k, answer) in script.into_iter().enumerate() {
                    // Waits for request k's head before answering it.
                    let mut chunk = [0; 4096];
                    while seen.windows(4).filter(|w| w == b"\r\n\r\n").count() <= k {
                        match stream.read(&mut chunk) {
                            Ok(0) | Err(_) => return,
                            Ok(n) => seen.extend_from_slice(&chunk[..n]),
                        }
                    }
                    for piece in answer.chunks(7) {
                        if stream.write_all(piece).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        (base, peer)
    }

    /// A 200 with `body`, as a scripted answer.
    fn ok(body: &'static str) -> &'static [u8] {
        let answer = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        Box::leak(answer.into_bytes().into_boxed_slice())
    }

    fn pipeline_for(base: &str) -> Pipeline {
        Pipeline::new(base, "t", Duration::from_secs(5), Duration::from_secs(5)).expect("plain")
    }

    /// `targets/f1` to `targets/fN`, up to 10 bytes each.
    fn requests(n: usize) -> Vec<(String, u64)> {
        (1..=n).map(|i| (format!("targets/f{i}"), 10)).collect()
    }

    #[test]
    fn answers_in_pieces_closes_and_refusals_are_each_taken_for_what_they_are() {
        let (base, peer) = scripted_peer(vec![
            // The first request alone (is the connection kept open?), then the batch.
            vec![
                ok("one"),
                ok("two"),
                b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\n\r\nnot found",
                ok("four"),
            ],
            // Closed after one answer: the rest on a new connection.
            vec![b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\nConnection: close\r\n\r\nfive"],
            vec![ok("six"), b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n"],
            // After a refusal (too large), a redirect: left to ureq.
            vec![b"HTTP/1.1 301 Moved\r\nLocation: /x\r\nContent-Length: 0\r\n\r\n"],
            vec![ok("nine")],
        ]);
        let pipeline = pipeline_for(&base);
        let requests = requests(9);
        let answers = pipeline.fetch_batch(&requests);
        let shown: Vec<String> = answers
            .iter()
            .map(|a| match a {
                None => "ureq".into(),
                Some(Ok(bytes)) => String::from_utf8_lossy(bytes).into_owned(),
                Some(Err(FetchError::NotFound)) => "404".into(),
                Some(Err(FetchError::TooLarge { limit })) => format!("over {limit}"),
                Some(Err(e)) => format!("error {e:?}"),
            })
            .collect();
        assert_eq!(
            shown,
            [
                "one", "two", "404", "four", "five", "six", "over 10", "ureq", "nine"
            ]
        );
        peer.join().expect("peer");
    }

    #[test]
    fn a_body_cut_short_fails_the_rest_of_the_batch() {
        let (base, peer) = scripted_peer(vec![vec![
            b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none",
            b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\n\r\ntw",
        ]]);
        let pipeline = pipeline_for(&base);
        let requests = requests(4);
        let answers = pipeline.fetch_batch(&requests);
        assert!(matches!(&answers[0], Some(Ok(b)) if b == b"one"));
        for (i, answer) in answers.iter().enumerate().skip(1) {
            match answer {
                Some(Err(FetchError::Other(e))) => {
                    assert!(
                        e.contains(if i == 1 {
                            "ended after 2 of 8"
                        } else {
                            "not asked"
                        }),
                        "{i}: {e}"
                    )
                }
                _ => panic!("{i}: {answer:?}"),
            }
        }
        peer.join().expect("peer");
    }

    #[test]
    fn pooled_connections_the_peer_closed_are_dropped_and_a_new_one_asks() {
        // Two connections closed at once (idle too long), then one that answers.
        let (base, peer) = scripted_peer(vec![vec![], vec![], vec![ok("a"), ok("b")]]);
        let pipeline = pipeline_for(&base);
        for _ in 0..2 {
            let connection = pipeline.connect().expect("connect");
            pipeline.put_idle(connection);
        }
        pipeline.keeps_open.store(KEEPS_OPEN, Ordering::Relaxed);
        std::thread::sleep(Duration::from_millis(200));
        let requests = requests(2);
        let answers = pipeline.fetch_batch(&requests);
        assert!(
            matches!(&answers[0], Some(Ok(b)) if b == b"a"),
            "{answers:?}"
        );
        assert!(
            matches!(&answers[1], Some(Ok(b)) if b == b"b"),
            "{answers:?}"
        );
        peer.join().expect("peer");
    }
}
