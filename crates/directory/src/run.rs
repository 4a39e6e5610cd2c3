//! `samizdat directory run`: the HTTP server and the audit loop, until SIGTERM or Ctrl-C.
//!
//! The audit loop runs on a thread of its own with its own connection to the state file (WAL:
//! the server reads while audits write); the server's handlers share one connection.

use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use time::OffsetDateTime;
use trust::client::Transport;

use crate::config::{self, Config};
use crate::enroll::Challenges;
use crate::error::{Error, ErrorKind, Result};
use crate::machine::State as MirrorState;
use crate::round;
use crate::server::{Directory, app};
use crate::store::Store;

/// A line of the log on stderr; a closed stderr is no reason to stop.
macro_rules! log {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// Serves the directory in `dir` and audits its mirrors every `config.interval_secs`. Calls
/// `ready` with the URLs it serves on once it listens; returns after `stop_after` when given,
/// else on SIGTERM or Ctrl-C.
pub fn run(
    dir: &Path,
    config: &Config,
    stop_after: Option<Duration>,
    ready: impl FnOnce(&[String]),
) -> Result<()> {
    let running = start(dir, config)?;
    ready(&running.urls);
    if let Some(runtime) = &running.runtime {
        runtime.block_on(async {
            match stop_after {
                Some(duration) => tokio::time::sleep(duration).await,
                None => stop_signal().await,
            }
        });
    }
    running.stop();
    Ok(())
}

/// A directory started by [`start`]: its servers on a runtime of their own, its audits on a
/// thread; both stop when it is dropped.
pub struct Running {
    /// The URLs it serves on (`http://IP:PORT/`).
    pub urls: Vec<String>,
    runtime: Option<tokio::runtime::Runtime>,
    stop: Arc<AtomicBool>,
    auditor: Option<std::thread::JoinHandle<()>>,
}

impl Running {
    /// Stops the servers and the audits (a round under way finishes its audits first: each is
    /// bounded by the time-out).
    pub fn stop(mut self) {
        self.halt();
    }

    fn halt(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
        if let Some(auditor) = self.auditor.take() {
            let _ = auditor.join();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.halt();
    }
}

/// Starts the directory in `dir` without blocking (`samizdat demo` runs one beside its mirrors):
/// listening on every `config.listen` address, the first audit round at once.
pub fn start(dir: &Path, config: &Config) -> Result<Running> {
    config.check()?;
    let root_path = dir.join("archive-root.json");
    let archive_root =
        std::fs::read(&root_path).map_err(|e| Error::state(&root_path, "read", e))?;
    let limits = limits(config);
    let fetch_limits = limits.clone();
    // A bad or missing database stops the start, naming the file.
    let geo = match &config.geoip_db {
        Some(path) => Some(crate::geo::Geo::open(&dir.join(path))?),
        None => None,
    };
    let directory = Arc::new(Directory {
        dir: dir.to_owned(),
        store: Mutex::new(Store::open(dir)?),
        challenges: Challenges::new(config::secret(dir)?),
        admin_token: config::admin_token(dir)?,
        fetch: Box::new(move |url, path, max_len| {
            net::HttpTransport::new(url, &fetch_limits)
                .fetch(path, max_len)
                .map_err(|e| match e {
                    trust::client::FetchError::NotFound => "404 not found".to_owned(),
                    trust::client::FetchError::TooLarge { limit } => format!("over {limit} bytes"),
                    trust::client::FetchError::Other(why) => why,
                })
        }),
        geo,
        behind_proxy: config.behind_proxy,
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| Error::new(ErrorKind::State, format!("cannot start a runtime: {e}")))?;
    // Listen first: an address in use is an error before any audit starts.
    let urls = runtime.block_on(async {
        let mut urls = Vec::new();
        for address in &config.listen {
            let listener = tokio::net::TcpListener::bind(address).await.map_err(|e| {
                Error::new(
                    ErrorKind::InvalidInput,
                    format!("cannot listen on {address}: {e}"),
                )
            })?;
            let local = listener
                .local_addr()
                .map_err(|e| Error::new(ErrorKind::State, e.to_string()))?;
            urls.push(format!("http://{local}/"));
            let router = app(directory.clone());
            tokio::spawn(async move {
                // The peer's address, for `/r/`'s choice by country.
                let service = router.into_make_service_with_connect_info::<std::net::SocketAddr>();
                if let Err(e) = axum::serve(listener, service).await {
                    log!("directory: the server on {local} stopped: {e}");
                }
            });
        }
        Ok::<_, Error>(urls)
    })?;
    let stop = Arc::new(AtomicBool::new(false));
    let auditor = {
        let (dir, config, stop) = (dir.to_owned(), config.clone(), stop.clone());
        std::thread::Builder::new()
            .name("audits".into())
            .spawn(move || audit_loop(&dir, &config, &archive_root, &limits, &stop))
            .map_err(|e| Error::new(ErrorKind::State, format!("cannot start the audits: {e}")))?
    };
    Ok(Running {
        urls,
        runtime: Some(runtime),
        stop,
        auditor: Some(auditor),
    })
}

/// What a client of mirrors may take under `config`: every request to a mirror bounded by its
/// time-out, bytes as they are.
fn limits(config: &Config) -> net::Limits {
    net::Limits {
        request_timeout: Duration::from_secs(config.timeout_secs),
        connect_timeout: Duration::from_secs(config.timeout_secs.min(10)),
        gzip: false,
    }
}

/// What [`audit_now`] did: the round, then how many mirrors stand in each state.
#[derive(Clone, Debug)]
pub struct Audited {
    pub round: round::Round,
    /// How long the round took, audits, records and list together.
    pub took: Duration,
    /// Every state with its count (zeros included), in the machine's order.
    pub counts: Vec<(MirrorState, usize)>,
}

/// One audit round of the directory in `dir` now (`samizdat directory audit`): every mirror
/// audited, the outcomes recorded, the list re-published when it changed. Safe beside a running
/// directory (the state file is shared in WAL mode; each records its own rounds).
pub fn audit_now(dir: &Path, config: &Config) -> Result<Audited> {
    config.check()?;
    let root_path = dir.join("archive-root.json");
    let archive_root =
        std::fs::read(&root_path).map_err(|e| Error::state(&root_path, "read", e))?;
    let started = Instant::now();
    let mut store = Store::open(dir)?;
    let limits = limits(config);
    let connect = |url: &str| net::HttpTransport::new(url, &limits);
    let done = round::run(
        dir,
        &mut store,
        &archive_root,
        &config.round(),
        &connect,
        OffsetDateTime::now_utc(),
    )?;
    let mirrors = store.mirrors()?;
    let counts = [
        MirrorState::Pending,
        MirrorState::Active,
        MirrorState::Degraded,
        MirrorState::Delisted,
    ]
    .into_iter()
    .map(|state| (state, mirrors.iter().filter(|m| m.state == state).count()))
    .collect();
    Ok(Audited {
        round: done,
        took: started.elapsed(),
        counts,
    })
}

async fn stop_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}

/// Audit rounds until `stop`, one every `config.interval_secs` (a round that takes longer is
/// followed at once by the next).
fn audit_loop(
    dir: &Path,
    config: &Config,
    archive_root: &[u8],
    limits: &net::Limits,
    stop: &AtomicBool,
) {
    // The root moves forward when the publisher rotates its root keys (`round` keeps it).
    let mut archive_root = archive_root.to_vec();
    let mut store = match Store::open(dir) {
        Ok(store) => store,
        Err(e) => {
            log!("directory: no audits: {e}");
            return;
        }
    };
    let round_config = config.round();
    let connect = |url: &str| net::HttpTransport::new(url, limits);
    let interval = Duration::from_secs(config.interval_secs);
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        let now = OffsetDateTime::now_utc();
        match round::run(dir, &mut store, &archive_root, &round_config, &connect, now) {
            Ok(done) => {
                if let Some((version, json)) = done.new_root {
                    log!("directory: the archive's root is now version {version}");
                    archive_root = json;
                }
                log!(
                    "directory: round of {} audits in {:.2} s",
                    done.audited,
                    started.elapsed().as_secs_f64()
                );
                for change in &done.changes {
                    log!(
                        "directory: {} {} → {}: {}",
                        change.url,
                        change.from,
                        change.to,
                        change.reason
                    );
                }
                if let Some(version) = done.published {
                    log!("directory: mirror list {version} signed");
                }
            }
            Err(e) => log!("directory: audit round failed: {e}"),
        }
        while started.elapsed() < interval && !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(100).min(interval));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::testing::archive_root;

    #[test]
    fn a_started_directory_answers_until_stopped_and_an_audit_now_counts_every_state() {
        let parent = tempfile::tempdir().expect("tempdir");
        let dir = parent.path().join("directory");
        let config = Config {
            listen: vec!["127.0.0.169:0".into()],
            ..Config::default()
        };
        config::init(&dir, &archive_root(), &config, OffsetDateTime::now_utc()).expect("init");
        let running = start(&dir, &config).expect("start");
        let url = running.urls[0].clone();
        assert!(url.starts_with("http://127.0.0.169:"), "{url}");
        let limits = net::Limits {
            request_timeout: Duration::from_secs(5),
            ..net::Limits::default()
        };
        let status = net::HttpTransport::new(&url, &limits)
            .fetch("status.json", 1024)
            .expect("status.json");
        assert_eq!(status, b"[]");
        let audited = audit_now(&dir, &config).expect("audit");
        assert_eq!(audited.round.audited, 0);
        assert_eq!(
            audited.counts,
            [
                (MirrorState::Pending, 0),
                (MirrorState::Active, 0),
                (MirrorState::Degraded, 0),
                (MirrorState::Delisted, 0)
            ]
        );
        running.stop();
        assert!(
            net::HttpTransport::new(&url, &limits)
                .fetch("status.json", 1024)
                .is_err(),
            "still answering after stop"
        );
    }

    /// GET `path` from `url` over a connection from `from` (an address of the loopback
    /// network): the location the directory answers with.
    fn location_from(url: &str, from: &str, path: &str) -> String {
        let to: std::net::SocketAddr = url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .parse()
            .expect("address");
        let from: std::net::SocketAddr = format!("{from}:0").parse().expect("address");
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let socket = tokio::net::TcpSocket::new_v4().expect("socket");
            socket.bind(from).expect("bind");
            let mut stream = socket.connect(to).await.expect("connect");
            let request = format!("GET {path} HTTP/1.1\r\nHost: {to}\r\nConnection: close\r\n\r\n");
            stream.write_all(request.as_bytes()).await.expect("write");
            let mut answer = String::new();
            stream.read_to_string(&mut answer).await.expect("read");
            assert!(answer.starts_with("HTTP/1.1 302"), "{answer}");
            answer
                .lines()
                .find_map(|line| {
                    let (name, value) = line.split_once(':')?;
                    name.eq_ignore_ascii_case("location")
                        .then(|| value.trim().to_owned())
                })
                .unwrap_or_else(|| panic!("no location: {answer}"))
        })
    }

    /// The peer's address reaches `/r/`: with `geoip_db`, a client from a French address goes
    /// to the French mirror, one from a German address to the German one; a database that
    /// cannot be read stops the start, naming its file.
    #[test]
    fn a_started_directory_with_a_country_database_redirects_by_the_peer_s_country() {
        let parent = tempfile::tempdir().expect("tempdir");
        let dir = parent.path().join("directory");
        let mut config = Config {
            listen: vec!["127.0.0.170:0".into()],
            // The mirrors below never answer: let the first round leave them degraded.
            dead_after: 1000,
            ..Config::default()
        };
        config::init(&dir, &archive_root(), &config, OffsetDateTime::now_utc()).expect("init");
        {
            let mut store = Store::open(&dir).expect("store");
            for (url, country) in [
                ("http://127.0.0.171:9/", "FR"),
                ("http://127.0.0.172:9/", "DE"),
                ("http://127.0.0.173:9/", "US"),
            ] {
                let enrolment = crate::store::Enrolment {
                    url: url.to_owned(),
                    country: country.to_owned(),
                    provider: "p".to_owned(),
                    contact: String::new(),
                };
                let mirror = store.enroll(&enrolment, 1).expect("enrol");
                let policy = crate::machine::Policy { dead_after: 1000 };
                let healthy = crate::machine::next(
                    &mirror.standing(),
                    &crate::machine::Verdict::Healthy,
                    &policy,
                );
                store
                    .record_audit(mirror.id, &healthy, crate::store::Measured::default(), 1)
                    .expect("record");
                let down = crate::machine::next(
                    &healthy.standing,
                    &crate::machine::Verdict::Unreachable("test".into()),
                    &policy,
                );
                store
                    .record_audit(mirror.id, &down, crate::store::Measured::default(), 2)
                    .expect("record");
            }
        }
        let missing = parent.path().join("absent.mmdb");
        config.geoip_db = Some(missing.clone());
        let error = start(&dir, &config).err().expect("refused");
        assert!(
            error.message().contains(&missing.display().to_string()),
            "{}",
            error.message()
        );
        config.geoip_db = Some(crate::geo::test_database(parent.path()));
        let running = start(&dir, &config).expect("start");
        let url = running.urls[0].clone();
        for _ in 0..10 {
            assert_eq!(
                location_from(&url, "127.0.0.9", "/r/d/x/"),
                "http://127.0.0.171:9/d/x/"
            );
            assert_eq!(
                location_from(&url, "127.0.0.140", "/r/d/x/"),
                "http://127.0.0.172:9/d/x/"
            );
        }
        running.stop();
    }
}
