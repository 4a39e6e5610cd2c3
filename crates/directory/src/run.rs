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
    config.check()?;
    let root_path = dir.join("archive-root.json");
    let archive_root =
        std::fs::read(&root_path).map_err(|e| Error::state(&root_path, "read", e))?;
    let limits = net::Limits {
        request_timeout: Duration::from_secs(config.timeout_secs),
        connect_timeout: Duration::from_secs(config.timeout_secs.min(10)),
        gzip: false,
    };
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
    let stop = Arc::new(AtomicBool::new(false));
    let auditor = {
        let (dir, config, stop) = (dir.to_owned(), config.clone(), stop.clone());
        std::thread::Builder::new()
            .name("audits".into())
            .spawn(move || audit_loop(&dir, &config, &archive_root, &limits, &stop))
            .map_err(|e| Error::new(ErrorKind::State, format!("cannot start the audits: {e}")))?
    };
    let served = runtime.block_on(async {
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
        ready(&urls);
        match stop_after {
            Some(duration) => tokio::time::sleep(duration).await,
            None => stop_signal().await,
        }
        Ok::<(), Error>(())
    });
    stop.store(true, Ordering::Relaxed);
    runtime.shutdown_background();
    let _ = auditor.join();
    served
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
