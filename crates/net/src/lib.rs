//! The one HTTP client of samizdat: every request has a time limit and every body a size cap,
//! because every server it talks to (origin, mirror, peer) is untrusted.
//!
//! [`HttpTransport`] serves the TUF client (`trust::client::Transport`) over HTTP(S); sync, audits
//! and the reader's fetch will share it. [`post_json`] is the one POST (a mirror enrolling with a
//! directory), under the same limits.
//!
//! Errors: a request's failure is the `Transport` contract's `trust::client::FetchError` (not
//! found, too large, or anything else with the URL and why), which the TUF client turns into a
//! `trust::Error` of kind `NotFound`, `TooLarge` or `Transport`: a peer that did not answer is
//! unreachable, never a forgery. The crate has no error type of its own, as it has no other
//! failure to report.

use std::collections::HashMap;
use std::io::Read;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use trust::client::{FetchError, Transport};

mod pipeline;
pub use pipeline::BATCH_MAX;

/// Limits of one client.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Connecting, sending, receiving headers and body: all of one request.
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
    /// Ask for gzip (the reader: metadata shrinks ~4×). A mirror syncing asks for the bytes as
    /// they are: the hash covers them, and a peer should not gzip gigabytes for it.
    pub gzip: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            request_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
            gzip: true,
        }
    }
}

/// A release served over HTTP(S) at `base` (e.g. `https://mirror.example/`): fetches
/// `base + metadata/...` and `base + targets/...`.
pub struct HttpTransport {
    base: String,
    agent: ureq::Agent,
    gzip: bool,
    /// Batches of plain-HTTP GETs on one connection (not when asking for gzip: ureq decodes).
    pipeline: Option<pipeline::Pipeline>,
}

impl HttpTransport {
    pub fn new(base: &str, limits: &Limits) -> HttpTransport {
        let base = base_url(base);
        const USER_AGENT: &str = concat!("samizdat/", env!("CARGO_PKG_VERSION"));
        // ureq goes through a proxy named in the environment; the pipeline would not.
        let proxy = ["HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"]
            .iter()
            .any(|name| std::env::var_os(name).is_some_and(|v| !v.is_empty()));
        let pipeline = if limits.gzip || proxy {
            None
        } else {
            pipeline::Pipeline::new(
                &base,
                USER_AGENT,
                limits.request_timeout,
                limits.connect_timeout,
            )
        };
        let config = ureq::Agent::config_builder()
            .timeout_global(Some(limits.request_timeout))
            .timeout_connect(Some(limits.connect_timeout))
            // No redirect is followed, to any host. A peer is a URL its operator named (or a
            // signed list did), and a release is static files at fixed paths: nothing there
            // needs a redirect. Following one let any listed peer aim a mirror's requests at
            // any host, internal ones included (tests/redirects.rs). Same-origin redirects would be
            // harmless, but they buy nothing and keep a rule to get right; a peer that moved
            // (to https, say) is named by its new URL instead, which the error says.
            .max_redirects(0)
            // A mirror syncs with 8 requests at a time: keep that many connections, not 3.
            .max_idle_connections_per_host(16)
            // Every status is read here (`fetch`): a 429 or 503 carries a Retry-After to obey.
            .http_status_as_error(false)
            .user_agent(USER_AGENT)
            .build();
        let agent = ureq::Agent::with_parts(
            config,
            ureq::unversioned::transport::DefaultConnector::default(),
            CachingResolver::default(),
        );
        HttpTransport {
            base,
            agent,
            gzip: limits.gzip,
            pipeline,
        }
    }
}

/// The answer to [`post_json`]: its status, whatever it is (but a redirect), and its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    pub status: u16,
    pub body: Vec<u8>,
}

/// POSTs `json` (`Content-Type: application/json`) to `url` and returns the answer: any status
/// but a redirect, which is not followed (an error naming where it pointed), and a body of at
/// most `max_len` bytes (else [`FetchError::TooLarge`]). The whole request, body included,
/// takes at most `limits.request_timeout`. A failure to connect, send or read is
/// [`FetchError::Other`] with the URL and why.
pub fn post_json(
    url: &str,
    json: &[u8],
    limits: &Limits,
    max_len: u64,
) -> Result<Posted, FetchError> {
    const USER_AGENT: &str = concat!("samizdat/", env!("CARGO_PKG_VERSION"));
    let config = ureq::Agent::config_builder()
        .timeout_global(Some(limits.request_timeout))
        .timeout_connect(Some(limits.connect_timeout))
        // No redirect is followed (see `HttpTransport::new`): a POST sent elsewhere than the
        // URL its caller named is a request to a host nobody chose.
        .max_redirects(0)
        // A refusal's body says why: the caller shows it.
        .http_status_as_error(false)
        .user_agent(USER_AGENT)
        .build();
    let agent: ureq::Agent = config.into();
    let mut response = agent
        .post(url)
        .header("content-type", "application/json")
        .header("accept-encoding", "identity")
        .send(json)
        .map_err(|e| FetchError::Other(format!("{url}: {e}")))?;
    let status = response.status();
    if status.is_redirection() {
        let location = response
            .headers()
            .get(ureq::http::header::LOCATION)
            .map(|l| String::from_utf8_lossy(l.as_bytes()).into_owned())
            .unwrap_or_default();
        return Err(FetchError::Other(format!(
            "{url}: redirect ({status}) to {location:?} not followed: name the server by the URL it answers on"
        )));
    }
    let mut body = Vec::new();
    response
        .body_mut()
        .as_reader()
        .take(max_len.saturating_add(1))
        .read_to_end(&mut body)
        .map_err(|e| FetchError::Other(format!("{url}: {e}")))?;
    if body.len() as u64 > max_len {
        return Err(FetchError::TooLarge { limit: max_len });
    }
    Ok(Posted {
        status: status.as_u16(),
        body,
    })
}

/// ureq's resolver with a one-minute cache. With a time-out set, ureq resolves every request's
/// host in a thread of its own, pooled connection or not: a sync of 44,113 files spawned 44,478
/// threads (strace), a third of its system time.
#[derive(Debug, Default)]
struct CachingResolver {
    inner: ureq::unversioned::resolver::DefaultResolver,
    cache: Mutex<HashMap<String, (Instant, ureq::unversioned::resolver::ResolvedSocketAddrs)>>,
}

const RESOLVE_CACHE: Duration = Duration::from_secs(60);

impl ureq::unversioned::resolver::Resolver for CachingResolver {
    fn resolve(
        &self,
        uri: &ureq::http::Uri,
        config: &ureq::config::Config,
        timeout: ureq::unversioned::transport::NextTimeout,
    ) -> Result<ureq::unversioned::resolver::ResolvedSocketAddrs, ureq::Error> {
        let key = format!(
            "{}://{}",
            uri.scheme_str().unwrap_or(""),
            uri.authority().map(|a| a.as_str()).unwrap_or("")
        );
        if let Ok(cache) = self.cache.lock()
            && let Some((when, addrs)) = cache.get(&key)
            && when.elapsed() < RESOLVE_CACHE
        {
            return Ok(addrs.clone());
        }
        let addrs = self.inner.resolve(uri, config, timeout)?;
        if let Ok(mut cache) = self.cache.lock() {
            cache.insert(key, (Instant::now(), addrs.clone()));
        }
        Ok(addrs)
    }
}

/// A peer's base URL as this client names it (with a trailing `/`): what
/// [`HttpTransport::describe`] returns, without building a client.
pub fn base_url(url: &str) -> String {
    let mut base = url.to_owned();
    if !base.ends_with('/') {
        base.push('/');
    }
    base
}

/// How often one request is asked again after a peer answered 429 or 503 (a flood guard
/// shedding load, ours among them), and the longest wait obeyed: a peer that asks for more is
/// treated as not answering, and the round goes on with other peers.
const BUSY_RETRIES: u32 = 6;
const BUSY_WAIT_MAX: Duration = Duration::from_secs(15);

/// The wait a busy answer asks for: `Retry-After` in seconds (the HTTP-date form is read as
/// one second: no clock of ours is compared with a peer's), 1 s when absent; `None` when the
/// peer asks for more than [`BUSY_WAIT_MAX`].
fn busy_wait(retry_after: Option<&str>) -> Option<Duration> {
    let wait = match retry_after.map(str::trim) {
        Some(value) if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) => {
            Duration::from_secs(value.parse().unwrap_or(u64::MAX))
        }
        _ => Duration::from_secs(1),
    };
    (wait <= BUSY_WAIT_MAX).then_some(wait)
}

impl HttpTransport {
    /// A GET of `url`, asked again (up to [`BUSY_RETRIES`] times) while the peer answers 429 or
    /// 503 with a wait it is willing to obey.
    fn call(&self, url: &str) -> Result<ureq::http::Response<ureq::Body>, FetchError> {
        let mut attempt = 0;
        loop {
            let mut request = self.agent.get(url);
            if !self.gzip {
                request = request.header("accept-encoding", "identity");
            }
            let response = request
                .call()
                .map_err(|e| FetchError::Other(format!("{url}: {e}")))?;
            let status = response.status().as_u16();
            if !(status == 429 || status == 503) || attempt == BUSY_RETRIES {
                return Ok(response);
            }
            let retry_after = response
                .headers()
                .get(ureq::http::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok());
            let Some(wait) = busy_wait(retry_after) else {
                return Ok(response);
            };
            attempt += 1;
            std::thread::sleep(wait);
        }
    }
}

impl Transport for HttpTransport {
    fn fetch(&self, path: &str, max_len: u64) -> Result<Vec<u8>, FetchError> {
        let url = format!("{}{path}", self.base);
        let mut response = self.call(&url)?;
        // Only a 200 is the file (a redirect is not followed).
        let status = response.status();
        if status == ureq::http::StatusCode::NOT_FOUND {
            return Err(FetchError::NotFound);
        }
        if status != ureq::http::StatusCode::OK {
            let location = response
                .headers()
                .get(ureq::http::header::LOCATION)
                .map(|l| String::from_utf8_lossy(l.as_bytes()).into_owned());
            return Err(FetchError::Other(match location {
                Some(location) if status.is_redirection() => format!(
                    "{url}: redirect ({status}) to {location:?} not followed: name the peer by the URL it serves from"
                ),
                _ => format!("{url}: answered {status}, expected 200"),
            }));
        }
        // Read one byte past the cap to tell "exactly max_len" from "too long".
        // Sized for the expected length (a target's is known), up to 16 MiB before growing.
        let mut body = Vec::with_capacity(max_len.saturating_add(1).min(16 << 20) as usize);
        let reader = response.body_mut().as_reader();
        reader
            .take(max_len.saturating_add(1))
            .read_to_end(&mut body)
            .map_err(|e| FetchError::Other(format!("{url}: {e}")))?;
        if body.len() as u64 > max_len {
            return Err(FetchError::TooLarge { limit: max_len });
        }
        Ok(body)
    }

    /// Pipelined on plain HTTP (what ureq is left, it asks one at a time).
    fn fetch_batch(&self, requests: &[(String, u64)]) -> Vec<Result<Vec<u8>, FetchError>> {
        let answers = match &self.pipeline {
            Some(pipeline) => pipeline.fetch_batch(requests),
            None => (0..requests.len()).map(|_| None).collect(),
        };
        let mut failed = None;
        answers
            .into_iter()
            .zip(requests)
            .map(|(answer, (path, max_len))| match answer {
                Some(answer) => answer,
                None => trust::client::not_asked_after_failure(&mut failed, || {
                    self.fetch(path, *max_len)
                }),
            })
            .collect()
    }

    fn describe(&self) -> String {
        self.base.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_busy_peer_is_waited_for_as_it_asks_within_a_bound() {
        assert_eq!(busy_wait(Some("2")), Some(Duration::from_secs(2)));
        assert_eq!(busy_wait(None), Some(Duration::from_secs(1)));
        assert_eq!(
            busy_wait(Some("Wed, 21 Oct 2015 07:28:00 GMT")),
            Some(Duration::from_secs(1))
        );
        assert_eq!(busy_wait(Some("3600")), None);
        assert_eq!(busy_wait(Some("99999999999999999999999")), None);
    }

    /// A peer on loopback that answers its connections with `answers`, one each, then stops.
    fn peer(answers: Vec<&'static str>) -> (String, std::thread::JoinHandle<usize>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let base = format!("http://{}/", listener.local_addr().expect("address"));
        let handle = std::thread::spawn(move || {
            let mut served = 0;
            for answer in answers {
                let (mut stream, _) = listener.accept().expect("accept");
                stream
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .expect("timeout");
                let mut head = Vec::new();
                let mut byte = [0; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    match stream.read(&mut byte) {
                        Ok(1) => head.push(byte[0]),
                        _ => return served,
                    }
                }
                stream.write_all(answer.as_bytes()).expect("answer");
                served += 1;
            }
            served
        });
        (base, handle)
    }

    fn transport(base: &str) -> HttpTransport {
        let limits = Limits {
            request_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            gzip: false,
        };
        HttpTransport::new(base, &limits)
    }

    const BUSY: &str = "HTTP/1.1 429 Too Many Requests\r\nRetry-After: 1\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    const OK: &str = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok";

    #[test]
    fn a_429_with_retry_after_is_waited_out_and_asked_again() {
        let (base, peer) = peer(vec![BUSY, BUSY, OK]);
        let started = Instant::now();
        let body = transport(&base)
            .fetch("targets/x", 10)
            .expect("the file after two waits");
        assert_eq!(body, b"ok");
        assert!(
            started.elapsed() >= Duration::from_secs(2),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(peer.join().expect("peer"), 3);
    }

    #[test]
    fn a_peer_that_asks_for_too_long_a_wait_is_an_error_at_once_naming_its_answer() {
        let (base, peer) = peer(vec![
            "HTTP/1.1 503 Service Unavailable\r\nRetry-After: 3600\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        ]);
        let started = Instant::now();
        let error = transport(&base)
            .fetch("targets/x", 10)
            .expect_err("not waited for");
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(
            matches!(&error, FetchError::Other(m) if m.contains("answered 503")),
            "{error:?}"
        );
        assert_eq!(peer.join().expect("peer"), 1);
    }

    #[test]
    fn a_404_is_not_found() {
        let (base, peer) = peer(vec![
            "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        ]);
        let error = transport(&base).fetch("targets/x", 10).expect_err("404");
        assert!(matches!(error, FetchError::NotFound), "{error:?}");
        peer.join().expect("peer");
    }
}
