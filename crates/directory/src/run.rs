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
                if let Err(e) = axum::serve(listener, router).await {
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
        match round::run(dir, &mut store, archive_root, &round_config, &connect, now) {
            Ok(done) => {
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
}
