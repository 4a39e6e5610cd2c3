//! Automatic HTTPS (`[acme]` in `mirror.toml`): a certificate for the mirror's domain obtained
//! from an ACME server (RFC 8555, `instant-acme`) and renewed while the mirror runs.
//!
//! - The account key, the certificate chain and its key live in `DIR/acme/` (0700), each file
//!   0600 from its first byte.
//! - HTTP-01: the ACME server asks `http://DOMAIN/.well-known/acme-challenge/TOKEN` on the plain
//!   HTTP listener ([`Acme::plain_listen`](crate::config::Acme)), which answers from
//!   [`Challenges`], redirects everything else to HTTPS, or serves what peers and TUF clients
//!   read when `plain_for_peers` is set.
//! - The HTTPS listeners take their certificate from [`Certs`] on each handshake: a renewal
//!   swaps it in, established connections keep theirs, nothing restarts.
//! - A renewal is due once two thirds of the certificate's lifetime have passed; a failed one
//!   keeps the old certificate, is logged, shown in `status.json` (`https`) and `/metrics`
//!   (`samizdat_mirror_acme_renewal_failures_total`), and is retried with a back-off.
//! - The ACME server's own HTTPS is checked against the webpki roots, or against `ca_cert` (a
//!   test CA such as Pebble's). Its HTTP client is ureq (on a blocking thread), which the
//!   workspace has already: not instant-acme's own hyper one.

use std::collections::HashMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use arc_swap::ArcSwapOption;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode, header};
use hyper_util::rt::{TokioIo, TokioTimer};
use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, BodyWrapper, BytesResponse, ChallengeType,
    HttpClient, Identifier, NewAccount, NewOrder, OrderStatus, RetryPolicy,
};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use time::OffsetDateTime;

use crate::config;
use crate::guard::Client;
use crate::serve::{App, Body};
use crate::status::HttpsState;

/// `DIR/acme/`: the account, the certificate and its key.
pub const ACME_DIR: &str = "acme";
const ACCOUNT_FILE: &str = "account.json";
const CERT_FILE: &str = "cert.pem";
const KEY_FILE: &str = "key.pem";
/// Where the ACME server reads an HTTP-01 answer (RFC 8555 §8.3).
pub const CHALLENGE_PREFIX: &str = "/.well-known/acme-challenge/";
/// What plain HTTP keeps serving with `plain_for_peers`: what a syncing peer or a TUF client
/// reads.
const PEER_PREFIXES: [&str; 4] = [
    "/metadata/",
    "/targets/",
    "/.well-known/samizdat/",
    "/metrics",
];
/// The first retry after a failed order; each next one waits twice as long, up to
/// [`RETRY_MAX`].
const RETRY_FIRST: Duration = Duration::from_secs(5);
const RETRY_MAX: Duration = Duration::from_secs(3600);
/// The longest the renewal task sleeps before it looks at the clock again.
const NAP_MAX: Duration = Duration::from_secs(3600);
/// One request to the ACME server, body included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
/// The most an ACME answer may weigh (a certificate chain is a few KiB).
const ANSWER_MAX: u64 = 1 << 20;
/// A whole order (account, challenges, finalization, certificate) at most.
const ORDER_TIMEOUT: Duration = Duration::from_secs(180);

/// The certificate the HTTPS listeners present, swapped by a renewal. None (no certificate yet):
/// handshakes fail.
#[derive(Debug, Default)]
pub struct Certs(ArcSwapOption<CertifiedKey>);

impl ResolvesServerCert for Certs {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.0.load_full()
    }
}

/// A TLS acceptor presenting whatever `certs` holds at each handshake (ALPN: h2, http/1.1).
pub fn acceptor(certs: Arc<Certs>) -> Result<tokio_rustls::TlsAcceptor, String> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS: {e}"))?
        .with_no_client_auth()
        .with_cert_resolver(certs);
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsAcceptor::from(Arc::new(config)))
}

/// HTTP-01 answers under way: token → key authorization.
#[derive(Debug, Default)]
pub struct Challenges(Mutex<HashMap<String, String>>);

impl Challenges {
    fn answer(&self, token: &str) -> Option<String> {
        self.0.lock().ok()?.get(token).cloned()
    }
    fn set(&self, token: String, key_authorization: String) {
        if let Ok(mut map) = self.0.lock() {
            map.insert(token, key_authorization);
        }
    }
    fn clear(&self) {
        if let Ok(mut map) = self.0.lock() {
            map.clear();
        }
    }
}

/// A certificate chain and its key, checked and ready to serve.
struct Held {
    key: Arc<CertifiedKey>,
    not_before: i64,
    not_after: i64,
}

impl Held {
    /// When to renew: once two thirds of the lifetime have passed.
    fn due(&self) -> i64 {
        self.not_after - (self.not_after - self.not_before).max(0) / 3
    }
}

/// The chain (leaf first) and key in PEM, parsed and checked against each other.
fn parse(chain_pem: &[u8], key_pem: &[u8]) -> Result<Held, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let chain = CertificateDer::pem_slice_iter(chain_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("the certificate chain: {e}"))?;
    let leaf = chain.first().ok_or("no certificate in the chain")?;
    let (_, parsed) =
        x509_parser::parse_x509_certificate(leaf).map_err(|e| format!("the certificate: {e}"))?;
    let validity = parsed.validity();
    let (not_before, not_after) = (
        validity.not_before.timestamp(),
        validity.not_after.timestamp(),
    );
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(|e| format!("the key: {e}"))?;
    let provider = rustls::crypto::ring::default_provider();
    let signing = provider
        .key_provider
        .load_private_key(key)
        .map_err(|e| format!("the key: {e}"))?;
    let key = CertifiedKey::new(chain, signing);
    key.keys_match()
        .map_err(|e| format!("the key is not the certificate's: {e}"))?;
    Ok(Held {
        key: Arc::new(key),
        not_before,
        not_after,
    })
}

/// Writes `bytes` to `path` through a 0600 temporary file beside it and a rename, durably.
fn write_private(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let fail = |e: std::io::Error| format!("{}: cannot write: {e}", path.display());
    // `tempfile` makes its files 0600.
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(fail)?;
    tmp.write_all(bytes).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(path).map_err(|e| fail(e.error))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(fail)
}

/// A mirror's automatic HTTPS: what [`start`] needs and the renewal task keeps.
pub struct Auto {
    app: Arc<App>,
    dir: PathBuf,
    config: config::Acme,
    certs: Arc<Certs>,
    challenges: Arc<Challenges>,
    /// The certificate served now (its dates), if any.
    held: Option<(i64, i64)>,
}

impl Auto {
    /// Prepares `DIR/acme/` and takes the certificate there, if any (a broken one is logged and
    /// replaced by the first order).
    pub fn new(app: Arc<App>, dir: &Path, config: &config::Acme) -> Result<Auto, String> {
        let acme_dir = dir.join(ACME_DIR);
        make_private_dir(&acme_dir)?;
        let mut auto = Auto {
            app,
            dir: acme_dir,
            config: config.clone(),
            certs: Arc::new(Certs::default()),
            challenges: Arc::new(Challenges::default()),
            held: None,
        };
        let (cert, key) = (auto.dir.join(CERT_FILE), auto.dir.join(KEY_FILE));
        if cert.exists() {
            let read = std::fs::read(&cert)
                .and_then(|c| std::fs::read(&key).map(|k| (c, k)))
                .map_err(|e| e.to_string());
            match read.and_then(|(c, k)| parse(&c, &k)) {
                Ok(held) => auto.install(held, false),
                Err(e) => log!(
                    "samizdat mirror: {}: not served, a new one is ordered: {e}",
                    cert.display()
                ),
            }
        }
        auto.set_status(|_| {});
        Ok(auto)
    }

    /// The acceptor for the HTTPS listeners.
    pub fn acceptor(&self) -> Result<tokio_rustls::TlsAcceptor, String> {
        acceptor(self.certs.clone())
    }

    /// Starts the plain HTTP listeners and the renewal task; returns the plain URLs. `https`:
    /// the HTTPS listeners' addresses, the port redirects point to.
    pub async fn start(self, https: &[String]) -> Result<Vec<String>, String> {
        let https_port = https
            .first()
            .and_then(|a| a.parse::<SocketAddr>().ok())
            .map_or(443, |a| a.port());
        let front = Arc::new(Front {
            app: self.app.clone(),
            challenges: self.challenges.clone(),
            origin: match https_port {
                443 => format!("https://{}", self.config.domain),
                port => format!("https://{}:{port}", self.config.domain),
            },
            for_peers: self.config.plain_for_peers,
        });
        let mut urls = Vec::new();
        for address in &self.config.plain_listen {
            let at: SocketAddr = address
                .parse()
                .map_err(|e| format!("acme.plain_listen address {address:?}: {e}"))?;
            let listener = tokio::net::TcpListener::bind(at)
                .await
                .map_err(|e| format!("cannot listen on {at}: {e}"))?;
            let local = listener
                .local_addr()
                .map_err(|e| format!("cannot listen on {at}: {e}"))?;
            let url = format!("http://{local}/");
            let _ = writeln!(std::io::stdout().lock(), "listening on {url} (plain HTTP)");
            urls.push(url);
            tokio::spawn(front.clone().serve(listener));
        }
        tokio::spawn(self.renew_forever());
        Ok(urls)
    }

    /// Serves `held` from now on and says so in the metrics and status.
    fn install(&mut self, held: Held, fresh: bool) {
        self.app.metrics.certificate(held.not_after);
        self.certs.0.store(Some(held.key.clone()));
        self.held = Some((held.not_before, held.not_after));
        let next = at(held.due());
        self.set_status(|https| {
            https.not_after = at(held.not_after);
            https.next_attempt = next;
            if fresh {
                https.last_obtained = Some(OffsetDateTime::now_utc());
                https.last_error = None;
                https.failures_in_a_row = 0;
            }
        });
    }

    fn set_status(&self, change: impl FnOnce(&mut HttpsState)) {
        if let Ok(mut status) = self.app.status.lock() {
            let https = status.https.get_or_insert_with(|| HttpsState {
                domain: self.config.domain.clone(),
                ..HttpsState::default()
            });
            change(https);
        }
    }

    /// Orders a certificate whenever one is due, for as long as the process runs.
    async fn renew_forever(mut self) {
        let mut failures = 0u32;
        loop {
            let wait = match self.held {
                _ if failures > 0 => backoff(failures),
                None => Duration::ZERO,
                Some((before, after)) => {
                    let due = after - (after - before).max(0) / 3;
                    let now = OffsetDateTime::now_utc().unix_timestamp();
                    Duration::from_secs(u64::try_from(due - now).unwrap_or(0))
                }
            };
            // Never a long sleep on the monotonic clock: after a suspend, the wall clock decides.
            if wait > NAP_MAX {
                tokio::time::sleep(NAP_MAX).await;
                continue;
            }
            tokio::time::sleep(wait).await;
            let ordered = tokio::time::timeout(ORDER_TIMEOUT, self.order()).await;
            let result = match ordered {
                Ok(result) => result,
                Err(_) => Err(format!(
                    "no certificate within {} s",
                    ORDER_TIMEOUT.as_secs()
                )),
            };
            self.challenges.clear();
            match result {
                Ok(held) => {
                    failures = 0;
                    self.app.metrics.acme_order(Some(held.not_after));
                    log!(
                        "samizdat mirror: new certificate for {}, valid until {}",
                        self.config.domain,
                        show(at(held.not_after))
                    );
                    self.install(held, true);
                }
                Err(e) => {
                    failures = failures.saturating_add(1);
                    self.app.metrics.acme_order(None);
                    let retry = backoff(failures);
                    let kept = match self.held {
                        Some((_, after)) => format!(
                            "still serving the certificate valid until {}",
                            show(at(after))
                        ),
                        None => "no certificate to serve yet: HTTPS refuses handshakes".into(),
                    };
                    log!(
                        "samizdat mirror: warning: certificate order for {} from {} failed: {e}; {kept}; retrying in {} s",
                        self.config.domain,
                        self.config.directory,
                        retry.as_secs()
                    );
                    let next = OffsetDateTime::now_utc() + retry;
                    self.set_status(|https| {
                        https.last_error = Some(e);
                        https.failures_in_a_row = failures;
                        https.next_attempt = Some(next);
                    });
                }
            }
        }
    }

    /// One order, start to end: the account (made once), the HTTP-01 challenges answered on
    /// the plain listener, a new key and its certificate, saved in `DIR/acme/`.
    async fn order(&self) -> Result<Held, String> {
        let account = self.account().await?;
        let identifiers = [Identifier::Dns(self.config.domain.clone())];
        let mut order = account
            .new_order(&NewOrder::new(&identifiers))
            .await
            .map_err(|e| format!("new order: {e}"))?;
        let mut authorizations = order.authorizations();
        while let Some(authorization) = authorizations.next().await {
            let mut authorization = authorization.map_err(|e| format!("authorization: {e}"))?;
            match authorization.status {
                AuthorizationStatus::Pending => {}
                AuthorizationStatus::Valid => continue,
                other => return Err(format!("authorization is {other:?}")),
            }
            let mut challenge = authorization
                .challenge(ChallengeType::Http01)
                .ok_or("the ACME server offers no HTTP-01 challenge")?;
            self.challenges.set(
                challenge.token.clone(),
                challenge.key_authorization().as_str().to_owned(),
            );
            challenge
                .set_ready()
                .await
                .map_err(|e| format!("challenge: {e}"))?;
        }
        let retries = RetryPolicy::new().timeout(Duration::from_secs(60));
        let status = order
            .poll_ready(&retries)
            .await
            .map_err(|e| format!("waiting for validation: {e}"))?;
        if status != OrderStatus::Ready {
            let why = order
                .state()
                .error
                .as_ref()
                .map(|p| format!(": {p}"))
                .unwrap_or_default();
            return Err(format!("the order is {status:?}{why}"));
        }
        let key_pem = order
            .finalize()
            .await
            .map_err(|e| format!("finalize: {e}"))?;
        let chain_pem = order
            .poll_certificate(&retries)
            .await
            .map_err(|e| format!("certificate: {e}"))?;
        let held = parse(chain_pem.as_bytes(), key_pem.as_bytes())
            .map_err(|e| format!("the ACME server's answer: {e}"))?;
        // The key first: a crash between the two leaves a pair that does not match, which the
        // next start reports and replaces.
        write_private(&self.dir.join(KEY_FILE), key_pem.as_bytes())?;
        write_private(&self.dir.join(CERT_FILE), chain_pem.as_bytes())?;
        Ok(held)
    }

    /// The ACME account: from `DIR/acme/account.json`, else made and saved there (0600).
    async fn account(&self) -> Result<Account, String> {
        let http = Box::new(Ureq::new(self.config.ca_cert.as_deref())?);
        let path = self.dir.join(ACCOUNT_FILE);
        if path.exists() {
            let bytes = std::fs::read(&path)
                .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
            let credentials: AccountCredentials = serde_json::from_slice(&bytes)
                .map_err(|e| format!("{}: not ACME account credentials: {e}", path.display()))?;
            return Account::builder_with_http(http)
                .from_credentials(credentials)
                .await
                .map_err(|e| format!("the ACME account of {}: {e}", path.display()));
        }
        let contact = self.config.email.as_ref().map(|e| format!("mailto:{e}"));
        let contacts: Vec<&str> = contact.iter().map(String::as_str).collect();
        let (account, credentials) = Account::builder_with_http(http)
            .create(
                &NewAccount {
                    contact: &contacts,
                    terms_of_service_agreed: true,
                    only_return_existing: false,
                },
                self.config.directory.clone(),
                None,
            )
            .await
            .map_err(|e| format!("new ACME account: {e}"))?;
        let json = serde_json::to_vec(&credentials)
            .map_err(|e| format!("the ACME account credentials: {e}"))?;
        common::files::write_new(&path, &json, 0o600).map_err(|e| e.to_string())?;
        Ok(account)
    }
}

fn make_private_dir(dir: &Path) -> Result<(), String> {
    use std::os::unix::fs::DirBuilderExt;
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(format!("{}: cannot create: {e}", dir.display())),
    }
}

fn backoff(failures: u32) -> Duration {
    RETRY_FIRST
        .saturating_mul(1 << failures.saturating_sub(1).min(20))
        .min(RETRY_MAX)
}

fn at(unix: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp(unix).ok()
}

fn show(when: Option<OffsetDateTime>) -> String {
    when.and_then(|t| {
        t.format(&time::format_description::well_known::Rfc3339)
            .ok()
    })
    .unwrap_or_else(|| "?".into())
}

/// instant-acme's HTTP client: ureq on a blocking thread, trusting the webpki roots or one CA.
struct Ureq {
    agent: ureq::Agent,
}

impl Ureq {
    fn new(ca_cert: Option<&Path>) -> Result<Ureq, String> {
        use ureq::tls::{Certificate, RootCerts, TlsConfig};
        let roots = match ca_cert {
            None => RootCerts::WebPki,
            Some(path) => {
                let pem = std::fs::read(path)
                    .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
                let cert = Certificate::from_pem(&pem)
                    .map_err(|e| format!("{}: not a PEM certificate: {e}", path.display()))?;
                RootCerts::Specific(Arc::new(vec![cert]))
            }
        };
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(REQUEST_TIMEOUT))
            .max_redirects(0)
            .http_status_as_error(false)
            .user_agent(concat!("samizdat/", env!("CARGO_PKG_VERSION")))
            .tls_config(TlsConfig::builder().root_certs(roots).build())
            .build()
            .into();
        Ok(Ureq { agent })
    }
}

type Answer = Result<BytesResponse, instant_acme::Error>;

impl HttpClient for Ureq {
    fn request(
        &self,
        request: Request<BodyWrapper<Bytes>>,
    ) -> Pin<Box<dyn Future<Output = Answer> + Send>> {
        let agent = self.agent.clone();
        Box::pin(async move {
            let other = |e: String| instant_acme::Error::Other(e.into());
            let (parts, body) = request.into_parts();
            let body = match body.collect().await {
                Ok(collected) => collected.to_bytes(),
                Err(never) => match never {},
            };
            let request = Request::from_parts(parts, body.to_vec());
            let url = request.uri().to_string();
            let answer = tokio::task::spawn_blocking(move || {
                let response = agent.run(request).map_err(|e| format!("{url}: {e}"))?;
                let (parts, mut body) = response.into_parts();
                let bytes = body
                    .with_config()
                    .limit(ANSWER_MAX)
                    .read_to_vec()
                    .map_err(|e| format!("{url}: {e}"))?;
                Ok::<_, String>(Response::from_parts(parts, Full::new(Bytes::from(bytes))))
            })
            .await
            .map_err(|e| other(format!("the ACME request thread: {e}")))?
            .map_err(other)?;
            Ok(BytesResponse::from(answer))
        })
    }
}

/// The plain HTTP listener of a mirror with a domain.
struct Front {
    app: Arc<App>,
    challenges: Arc<Challenges>,
    /// `https://DOMAIN[:PORT]`, where readers are sent.
    origin: String,
    for_peers: bool,
}

impl Front {
    /// Accepts HTTP/1.1 connections until the process ends (10 s for a request head, the
    /// flood guard's connection caps and rate limits).
    async fn serve(self: Arc<Front>, listener: tokio::net::TcpListener) {
        loop {
            let (stream, from) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    log!("samizdat mirror: accept (plain HTTP): {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let Ok(client) = self.app.gate.connect(from.ip()) else {
                let _ = stream.set_zero_linger();
                continue;
            };
            let client = Arc::new(client);
            let front = self.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    let response = front.answer(request, &client);
                    let client = client.clone();
                    async move {
                        crate::serve::tarpit(&response, &client).await;
                        Ok::<_, std::convert::Infallible>(response)
                    }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(crate::conns::IDLE)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    }

    /// The front's own answer (screened by the flood guard like the server's), or the server's.
    fn answer(&self, request: Request<Incoming>, client: &Client) -> Response<Body> {
        match self.own_answer(request.uri()) {
            Some(response) => screened(response, client),
            None => crate::serve::handle(&self.app, request, client),
        }
    }

    /// The challenge's answer or the redirect to HTTPS; None for what the mirror's server
    /// answers (with `for_peers`, what peers and TUF clients read).
    fn own_answer(&self, uri: &hyper::Uri) -> Option<Response<Body>> {
        let path = uri.path();
        if let Some(token) = path.strip_prefix(CHALLENGE_PREFIX) {
            return Some(match self.challenges.answer(token) {
                Some(key_authorization) => plain(StatusCode::OK, key_authorization),
                None => plain(StatusCode::NOT_FOUND, "no such challenge\n".into()),
            });
        }
        if self.for_peers && PEER_PREFIXES.iter().any(|p| path.starts_with(p)) {
            return None;
        }
        let target = uri.path_and_query().map_or("/", |pq| pq.as_str());
        let location = format!("{}{target}", self.origin);
        let mut response = plain(StatusCode::MOVED_PERMANENTLY, format!("{location}\n"));
        if let Ok(value) = header::HeaderValue::from_str(&location) {
            response.headers_mut().insert(header::LOCATION, value);
        }
        Some(response)
    }
}

/// `response` if the flood guard lets `client` through, else its refusal (429 or 503), counted:
/// the front's redirects and challenge answers are requests like the server's.
fn screened(response: Response<Body>, client: &Client) -> Response<Body> {
    match client.screen(false) {
        crate::guard::Verdict::Pass => response,
        crate::guard::Verdict::Refused { why, retry_after } => {
            crate::answer::refused(why, retry_after)
        }
    }
}

fn plain(status: StatusCode, text: String) -> Response<Body> {
    let mut response = Response::new(http_body_util::Either::Left(Full::new(Bytes::from(text))));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn app(dir: &Path) -> Arc<App> {
        Arc::new(App::new(
            dir.join("release"),
            crate::served::Served::empty(),
            crate::status::Status::default(),
        ))
    }

    fn self_signed(domain: &str) -> (String, String) {
        let Ok(cert) = rcgen::generate_simple_self_signed(vec![domain.into()]) else {
            panic!("rcgen cannot make a certificate");
        };
        (cert.cert.pem(), cert.signing_key.serialize_pem())
    }

    #[test]
    fn plain_http_answers_challenges_redirects_readers_and_keeps_peers_paths_when_asked() {
        let dir = tempfile::tempdir().expect("tempdir");
        let challenges = Arc::new(Challenges::default());
        challenges.set("tok".into(), "tok.thumb".into());
        let mut front = Front {
            app: app(dir.path()),
            challenges,
            origin: "https://mirror.example.org:8443".into(),
            for_peers: false,
        };
        let ask = |front: &Front, uri: &str| {
            let uri: hyper::Uri = uri.parse().expect("uri");
            front.own_answer(&uri).map(|r| {
                let location = r
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                (r.status(), location)
            })
        };
        assert_eq!(
            ask(&front, "/.well-known/acme-challenge/tok"),
            Some((StatusCode::OK, None))
        );
        assert_eq!(
            ask(&front, "/.well-known/acme-challenge/other"),
            Some((StatusCode::NOT_FOUND, None))
        );
        for path in [
            "/d/x/?q=1",
            "/metadata/timestamp.json",
            "/targets/a.b",
            "/metrics",
        ] {
            assert_eq!(
                ask(&front, path),
                Some((
                    StatusCode::MOVED_PERMANENTLY,
                    Some(format!("https://mirror.example.org:8443{path}"))
                )),
                "{path}"
            );
        }
        front.for_peers = true;
        for path in [
            "/metadata/timestamp.json",
            "/targets/a.b",
            "/.well-known/samizdat/status.json",
            "/metrics",
        ] {
            assert_eq!(ask(&front, path), None, "{path}");
        }
        assert_eq!(
            ask(&front, "/browse/").map(|(status, _)| status),
            Some(StatusCode::MOVED_PERMANENTLY)
        );
    }

    #[test]
    fn the_fronts_own_answers_are_screened_by_the_flood_guard() {
        let metrics = Arc::new(crate::metrics::Metrics::new());
        let limits = crate::guard::Limits {
            rate: 1,
            burst: 2,
            ..crate::guard::Limits::default()
        };
        let gate = Arc::new(crate::guard::Gate::new(limits, metrics.clone()));
        let client = gate
            .connect("127.0.0.2".parse().expect("ip"))
            .expect("admitted");
        let statuses: Vec<StatusCode> = (0..4)
            .map(|_| screened(plain(StatusCode::MOVED_PERMANENTLY, "x\n".into()), &client).status())
            .collect();
        assert_eq!(
            statuses,
            [
                StatusCode::MOVED_PERMANENTLY,
                StatusCode::MOVED_PERMANENTLY,
                StatusCode::TOO_MANY_REQUESTS,
                StatusCode::TOO_MANY_REQUESTS
            ]
        );
        assert!(
            metrics
                .encode()
                .contains("samizdat_mirror_refused_total{reason=\"rate\"} 2")
        );
    }

    #[test]
    fn a_certificate_in_the_folder_is_served_at_start_and_a_broken_one_is_not() {
        let dir = tempfile::tempdir().expect("tempdir");
        let config = config::Acme::new("mirror.example.org".into());
        let acme_dir = dir.path().join(ACME_DIR);
        // None yet: nothing served, an order is due at once.
        let auto = Auto::new(app(dir.path()), dir.path(), &config).expect("auto");
        assert!(auto.certs.0.load().is_none() && auto.held.is_none());
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(&acme_dir).expect("acme/").permissions(),
        );
        assert_eq!(mode & 0o777, 0o700);
        let (cert, key) = self_signed("mirror.example.org");
        write_private(&acme_dir.join(CERT_FILE), cert.as_bytes()).expect("write");
        write_private(&acme_dir.join(KEY_FILE), key.as_bytes()).expect("write");
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(acme_dir.join(KEY_FILE))
                .expect("key")
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
        let app = app(dir.path());
        let auto = Auto::new(app.clone(), dir.path(), &config).expect("auto");
        assert!(auto.certs.0.load().is_some() && auto.held.is_some());
        let https = app.status.lock().expect("status").https.clone();
        let https = https.expect("https in the status");
        assert_eq!(https.domain, "mirror.example.org");
        assert!(https.not_after.is_some() && https.next_attempt.is_some());
        assert!(
            app.metrics
                .encode()
                .contains("samizdat_mirror_tls_certificate_expiry_seconds")
        );
        // A key that is not the certificate's: not served.
        let (_, other_key) = self_signed("other.example.org");
        write_private(&acme_dir.join(KEY_FILE), other_key.as_bytes()).expect("write");
        let auto = Auto::new(app, dir.path(), &config).expect("auto");
        assert!(auto.certs.0.load().is_none());
    }

    #[test]
    fn the_back_off_doubles_from_five_seconds_to_an_hour() {
        assert_eq!(backoff(1), Duration::from_secs(5));
        assert_eq!(backoff(2), Duration::from_secs(10));
        assert_eq!(backoff(4), Duration::from_secs(40));
        assert_eq!(backoff(40), RETRY_MAX);
    }

    #[test]
    fn a_certificate_is_due_once_two_thirds_of_its_life_have_passed() {
        let cert = rcgen::generate_simple_self_signed(vec!["mirror.example.org".into()]);
        let Ok(cert) = cert else {
            panic!("rcgen cannot make a certificate");
        };
        let held = parse(
            cert.cert.pem().as_bytes(),
            cert.signing_key.serialize_pem().as_bytes(),
        );
        let Ok(held) = held else {
            panic!("a fresh self-signed certificate does not parse");
        };
        assert_eq!(
            held.due(),
            held.not_after - (held.not_after - held.not_before) / 3
        );
        let other = rcgen::generate_simple_self_signed(vec!["other.example.org".into()]);
        let Ok(other) = other else {
            panic!("rcgen cannot make a certificate");
        };
        let mismatched = parse(
            cert.cert.pem().as_bytes(),
            other.signing_key.serialize_pem().as_bytes(),
        );
        assert!(
            mismatched.is_err(),
            "a key not the certificate's is refused"
        );
    }
}
