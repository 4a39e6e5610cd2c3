//! `samizdat mirror run` (one mirror: sync on an interval and serve) and `samizdat mirror
//! serve` (serve a release folder as it is, e.g. the origin's). The demo's network of an
//! origin and mirrors in one process is [`crate::demo`]'s.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use net::{HttpTransport, Limits};
use time::OffsetDateTime;

use crate::config::Config;
use crate::handover::Servers;
use crate::serve::{App, serve, tls_acceptor};
use crate::served::Served;
use crate::status::{PeerState, Status};
use crate::{Error, ErrorKind, SyncReport};

/// Why a mirror (or the demo's network) could not start, or stopped serving. Each carries the
/// message that says what and where.
#[derive(Debug)]
pub enum RunError {
    /// The configuration (`mirror.toml`, flags) is wrong.
    Config(String),
    /// The trusted root or the release to serve could not be read, or does not verify.
    Release(String),
    /// An address could not be served (malformed, in use), or the TLS files are wrong.
    Listen(String),
    /// A runtime, a server thread or a signal handler could not be started.
    Start(String),
}

impl RunError {
    /// The message, whatever the type of the error it came from.
    fn config(e: impl std::fmt::Display) -> RunError {
        RunError::Config(e.to_string())
    }
    fn release(e: impl std::fmt::Display) -> RunError {
        RunError::Release(e.to_string())
    }
    fn listen(e: impl std::fmt::Display) -> RunError {
        RunError::Listen(e.to_string())
    }
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Config(m)
            | RunError::Release(m)
            | RunError::Listen(m)
            | RunError::Start(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for RunError {}

/// Syncs the mirror in `dir` from its peers every `config.interval_secs` and serves it on
/// `config.listen` (or the sockets systemd passed: `handover`) until SIGTERM or Ctrl-C, then
/// lets the open connections finish for at most `config.drain_secs`. Prints `listening on URL`
/// for each address.
///
/// With `sync_program` (this binary), each round runs as `SYNC_PROGRAM mirror sync --json` in a
/// child process: the server keeps its small footprint (a sync of 550k targets peaks at
/// ~480 MB, which a long-lived process would keep), and a sync that fails hard cannot take the
/// server down.
pub fn run(dir: &Path, config: Config, sync_program: Option<PathBuf>) -> Result<(), RunError> {
    // First, while this is the only thread: it takes LISTEN_FDS out of the environment.
    let mut servers = Servers::from_env()?;
    let drain = Duration::from_secs(config.drain_secs);
    let runtime = runtime()?;
    let result = runtime.block_on(async {
        let (app, _) = start_mirror(dir, config, sync_program, &mut servers).await?;
        stop_signal().await?;
        drain_servers(servers, &app, drain).await;
        Ok(())
    });
    // A sync still running is simply abandoned: a sync killed at any moment is safe.
    runtime.shutdown_background();
    result
}

/// Starts the mirror in `dir` inside the current runtime: its servers (registered in
/// `servers`), and its sync loop (the first round at once). Returns the app and the URLs it
/// serves on.
pub async fn start_mirror(
    dir: &Path,
    config: Config,
    sync_program: Option<PathBuf>,
    servers: &mut Servers,
) -> Result<(Arc<App>, Vec<String>), RunError> {
    config.check().map_err(RunError::config)?;
    let root = read_root(&dir.join("root.json"))?;
    let release_dir = dir.join("release");
    let served = load_or_empty(dir, &root);
    let status = Status {
        interval_seconds: Some(config.interval_secs),
        ..Status::default()
    };
    let app = Arc::new(App::new(release_dir, served, status).with_limits(config.guard.clone()));
    let urls = match &config.acme {
        None => start_servers(&app, &config.listen, tls(&config)?, servers).await?,
        Some(acme) => {
            // Automatic HTTPS: `listen` serves the certificate `acme` keeps renewed.
            let auto = crate::acme::Auto::new(app.clone(), dir, acme).map_err(RunError::listen)?;
            let tls = auto.acceptor().map_err(RunError::listen)?;
            let mut urls = start_servers(&app, &config.listen, Some(tls), servers).await?;
            urls.extend(auto.start(&config.listen).await.map_err(RunError::listen)?);
            urls
        }
    };
    let blocks = dir.join(crate::blocks::LOG_FILE);
    tokio::spawn(follow(
        app.clone(),
        dir.to_owned(),
        dir.join("root.json"),
        vec![blocks],
    ));
    let (dir, looping) = (dir.to_owned(), app.clone());
    tokio::spawn(async move {
        loop {
            let (dir, app, config) = (dir.clone(), looping.clone(), config.clone());
            let program = sync_program.clone();
            let interval = Duration::from_secs(config.interval_secs);
            let _ = tokio::task::spawn_blocking(move || {
                sync_round(&dir, &config, &app, program.as_deref())
            })
            .await;
            tokio::time::sleep(interval).await;
        }
    });
    Ok((app, urls))
}

/// Serves the release in `dir/release` (a mirror's, or an archive's own) without syncing, on
/// `listen` or the sockets systemd passed, until SIGTERM; then the open connections have
/// `drain` to finish. `root` defaults to `dir/root.json`, else the release's own
/// `1.root.json`; the flood guard has its default limits but those given in `guard`.
pub fn serve_only(
    dir: &Path,
    root: Option<&Path>,
    listen: &[String],
    tls_files: Option<(PathBuf, PathBuf)>,
    guard: crate::guard::Overrides,
    drain: Duration,
) -> Result<(), RunError> {
    // First, while this is the only thread: it takes LISTEN_FDS out of the environment.
    let mut servers = Servers::from_env()?;
    let mut limits = crate::guard::Limits::default();
    guard.apply(&mut limits);
    limits.check().map_err(RunError::config)?;
    let release_dir = dir.join("release");
    let root_path = match root {
        Some(path) => path.to_owned(),
        None if dir.join("root.json").exists() => dir.join("root.json"),
        None => release_dir.join("metadata/1.root.json"),
    };
    let root = read_root(&root_path)?;
    let served = load(dir, &root).map_err(RunError::release)?;
    let app = Arc::new(App::new(release_dir, served, Status::default()).with_limits(limits));
    let tls = match tls_files {
        Some((cert, key)) => Some(tls_acceptor(&cert, &key).map_err(RunError::listen)?),
        None => None,
    };
    let runtime = runtime()?;
    let result = runtime.block_on(async {
        start_servers(&app, listen, tls, &mut servers).await?;
        let watched = vec![
            dir.join("release/metadata/timestamp.json"),
            dir.join(crate::blocks::LOG_FILE),
        ];
        tokio::spawn(follow(app.clone(), dir.to_owned(), root_path, watched));
        stop_signal().await?;
        drain_servers(servers, &app, drain).await;
        Ok(())
    });
    runtime.shutdown_background();
    result
}

/// Stops `servers` accepting and waits, at most `limit`, for their connections to finish
/// (`handover`), logging how it went.
async fn drain_servers(servers: Servers, app: &App, limit: Duration) {
    let open = || app.metrics.connections.get();
    servers.drain(limit, open, |line| log!("{line}")).await;
}

/// The release in `dir/release` as served: verified against `root`, with the documents
/// `dir/blocks.json` blocks hidden. A blocks log that cannot be read or does not verify is an
/// error: never a release served as if nothing were blocked.
pub fn load(dir: &Path, root: &[u8]) -> Result<Served, String> {
    let blocks = crate::blocks::read(dir).map_err(|e| e.to_string())?;
    Served::load_hiding(&dir.join("release"), root, Arc::new(blocks))
}

/// Loads the release in `dir` again (the root read from `root_path`) and serves it, one
/// reload at a time: what a sync, a new release on disk and a block all go through.
fn reload(app: &App, dir: &Path, root_path: &Path) -> Result<Arc<Served>, String> {
    let _one = app.reloading.lock().unwrap_or_else(|e| e.into_inner());
    let root = read_root(root_path).map_err(|e| e.to_string())?;
    app.switch(load(dir, &root)?);
    Ok(app.served())
}

/// Serves the release again as soon as one of `watched` changes, checked every 100 ms (one
/// `stat` each): the blocks log (a block or an unblock takes effect within a second, without a
/// restart), and for `mirror serve`, `timestamp.json` (the publisher's `samizdat release` or
/// `timestamp` on the origin: a release that withdraws a document must stop the files that show
/// it within a second; gone means gone). A change that cannot be loaded leaves what is served
/// as it was, is logged, and is tried again every second until it loads.
async fn follow(app: Arc<App>, dir: PathBuf, root_path: PathBuf, watched: Vec<PathBuf>) {
    use std::os::unix::fs::MetadataExt;
    // A file replaced by a rename is a new inode, whatever its size and time.
    let stamps = |files: &[PathBuf]| -> Vec<Option<(u64, u64, i64, i64)>> {
        files
            .iter()
            .map(|path| {
                let m = std::fs::metadata(path).ok()?;
                Some((m.ino(), m.len(), m.mtime(), m.mtime_nsec()))
            })
            .collect()
    };
    let mut seen = stamps(&watched);
    let mut failed = String::new();
    loop {
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = stamps(&watched);
        if now == seen {
            continue;
        }
        let (app, dir, root_path) = (app.clone(), dir.clone(), root_path.clone());
        let shown = dir.display().to_string();
        let reloaded = tokio::task::spawn_blocking(move || reload(&app, &dir, &root_path)).await;
        match reloaded.map_err(|e| e.to_string()).and_then(|r| r) {
            Ok(served) => {
                seen = now;
                failed.clear();
                log!(
                    "samizdat mirror {shown}: now serving release {}, {} documents blocked",
                    served.version,
                    served.blocked_count()
                );
            }
            // Tried again every second (a block must not be lost to a passing error), and
            // logged once.
            Err(e) => {
                if e != failed {
                    log!("samizdat mirror {shown}: keeps what it served, tries again: {e}");
                    failed = e;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}

pub(crate) fn runtime() -> Result<tokio::runtime::Runtime, RunError> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| RunError::Start(format!("cannot start the server runtime: {e}")))
}

fn tls(config: &Config) -> Result<Option<tokio_rustls::TlsAcceptor>, RunError> {
    match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Ok(Some(tls_acceptor(cert, key).map_err(RunError::listen)?)),
        _ => Ok(None),
    }
}

pub(crate) fn read_root(path: &Path) -> Result<Vec<u8>, RunError> {
    std::fs::read(path).map_err(|e| {
        RunError::Release(format!(
            "{}: cannot read the trusted root: {e}",
            path.display()
        ))
    })
}

fn load_or_empty(dir: &Path, root: &[u8]) -> Served {
    if !dir.join("release/metadata/timestamp.json").exists() {
        return Served::empty();
    }
    match load(dir, root) {
        Ok(served) => served,
        Err(e) => {
            // The next sync repairs what is missing; serve nothing wrong meanwhile.
            log!("samizdat mirror: not serving the release on disk: {e}");
            Served::empty()
        }
    }
}

/// Binds every address (or takes the sockets systemd passed, when `servers` has them) and
/// serves `app` on it; prints and returns the URLs. The server threads are registered in
/// `servers`, which drains them.
///
/// One server thread per core, each with a single-threaded runtime and its own listening
/// socket on the address (`SO_REUSEPORT`: the kernel spreads connections over them), as nginx
/// runs one worker per core. With one work-stealing runtime, a hot document's requests spent
/// most of their time in the kernel waking threads (perf: 18% in wake-ups and context
/// switches, 1.3% in our handler). An inherited socket is shared by the threads instead (each
/// a duplicate of it: one accept queue).
pub(crate) async fn start_servers(
    app: &Arc<App>,
    listen: &[String],
    tls: Option<tokio_rustls::TlsAcceptor>,
    servers: &mut Servers,
) -> Result<Vec<String>, RunError> {
    let scheme = if tls.is_some() { "https" } else { "http" };
    let threads = std::thread::available_parallelism().map_or(2, usize::from);
    let sources = sources(listen, servers.take_inherited())?;
    let mut urls = Vec::new();
    for source in &sources {
        // The connection cap is the app's, shared out over every listening socket.
        let cap = app.connections / (threads * sources.len()).max(1);
        let local = spawn_server_threads(app, source, tls.clone(), threads, cap, servers)?;
        let url = format!("{scheme}://{local}/");
        // Never a panic: a closed stdout (`demo | head`) is no reason to stop serving.
        let _ = writeln!(std::io::stdout().lock(), "listening on {url}");
        urls.push(url);
    }
    Ok(urls)
}

/// Where a server listens: an address it binds, or a socket systemd passed (`handover`).
enum Source {
    Address(SocketAddr),
    Inherited(std::net::TcpListener),
}

/// The sockets to serve: the `inherited` ones when there are any (said in the log when they
/// are not the `listen` addresses, which are then not bound), else the `listen` addresses.
fn sources(
    listen: &[String],
    inherited: Vec<std::net::TcpListener>,
) -> Result<Vec<Source>, RunError> {
    if inherited.is_empty() {
        return listen
            .iter()
            .map(|address| {
                address.parse().map(Source::Address).map_err(|e| {
                    RunError::Listen(format!("listen address {address:?}: {e} (want IP:PORT)"))
                })
            })
            .collect();
    }
    let passed: Vec<String> = inherited
        .iter()
        .map(|socket| socket.local_addr().map(|a| a.to_string()))
        .collect::<Result<_, _>>()
        .map_err(|e| RunError::Listen(format!("an inherited socket (LISTEN_FDS): {e}")))?;
    let mut wanted = listen.to_vec();
    let mut have = passed.clone();
    wanted.sort();
    have.sort();
    if wanted != have {
        log!(
            "samizdat mirror: serving the sockets systemd passed ({}), not the listen addresses ({})",
            passed.join(", "),
            listen.join(", ")
        );
    }
    Ok(inherited.into_iter().map(Source::Inherited).collect())
}

/// Starts `threads` server threads on `source` (an address with port 0: the first one's port
/// for all); returns the address bound once every thread listens.
fn spawn_server_threads(
    app: &Arc<App>,
    source: &Source,
    tls: Option<tokio_rustls::TlsAcceptor>,
    threads: usize,
    cap: usize,
    servers: &mut Servers,
) -> Result<SocketAddr, RunError> {
    let (bound_tx, bound_rx) = std::sync::mpsc::channel::<Result<SocketAddr, RunError>>();
    let mut bound = match source {
        Source::Address(address) => *address,
        Source::Inherited(socket) => socket
            .local_addr()
            .map_err(|e| RunError::Listen(format!("an inherited socket (LISTEN_FDS): {e}")))?,
    };
    let address = bound;
    for i in 0..threads.max(1) {
        let (app, tls, bound_tx) = (app.clone(), tls.clone(), bound_tx.clone());
        let drain = servers.drain_signal();
        let at = bound;
        let inherited = match source {
            Source::Address(_) => None,
            Source::Inherited(socket) => Some(socket.try_clone().map_err(|e| {
                RunError::Listen(format!("cannot share the inherited socket on {at}: {e}"))
            })?),
        };
        let thread = std::thread::Builder::new()
            .name(format!("serve-{i}"))
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                let runtime = match runtime {
                    Ok(runtime) => runtime,
                    Err(e) => {
                        let _ = bound_tx.send(Err(RunError::Start(format!(
                            "cannot start a server thread: {e}"
                        ))));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let listener = match inherited {
                        Some(socket) => adopt(socket)
                            .map_err(|e| RunError::Listen(format!("cannot listen on {at}: {e}"))),
                        None => bind_shared(at, i == 0).map_err(|e| match e.kind() {
                            std::io::ErrorKind::AddrInUse => RunError::Listen(format!(
                                "cannot listen on {at}: {at} is already in use by another process"
                            )),
                            _ => RunError::Listen(format!("cannot listen on {at}: {e}")),
                        }),
                    };
                    let listener = match listener {
                        Ok(listener) => listener,
                        Err(e) => {
                            let _ = bound_tx.send(Err(e));
                            return;
                        }
                    };
                    let local = listener
                        .local_addr()
                        .map_err(|e| RunError::Listen(format!("{at}: {e}")));
                    let _ = bound_tx.send(local);
                    let _ = serve(app, listener, tls, cap, drain).await;
                });
            })
            .map_err(|e| RunError::Start(format!("cannot start a server thread: {e}")))?;
        servers.started(thread);
        bound = bound_rx
            .recv()
            .map_err(|_| RunError::Start(format!("{address}: a server thread stopped")))??;
    }
    Ok(bound)
}

/// A listening socket systemd passed, for this thread's runtime.
fn adopt(socket: std::net::TcpListener) -> std::io::Result<tokio::net::TcpListener> {
    socket.set_nonblocking(true)?;
    tokio::net::TcpListener::from_std(socket)
}

/// A listening socket that the other server threads of this process share (`SO_REUSEPORT`),
/// and no other process: `first` (the first thread's) is bound *without* `SO_REUSEPORT`, so the
/// bind fails with `AddrInUse` if anything holds the address, reuseport or not (a second
/// samizdat once bound it silently and the kernel split readers between an empty mirror and a
/// full one); only then is `SO_REUSEPORT` set, before `listen`, for this process's other
/// threads to join (Linux checks the flag at each later bind). Another samizdat's first socket
/// is refused by ours in turn, with no window between a check and the bind. One socket per
/// thread stays (the kernel spreads connections, no accept lock). The zero-downtime hand-over
/// to a new process is explicit instead: systemd's socket activation (`handover`).
fn bind_shared(address: SocketAddr, first: bool) -> std::io::Result<tokio::net::TcpListener> {
    let socket = if address.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    if !first {
        socket.set_reuseport(true)?;
    }
    socket.bind(address)?;
    if first {
        socket.set_reuseport(true)?;
    }
    socket.listen(1024)
}

pub(crate) async fn stop_signal() -> Result<(), RunError> {
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(|e| RunError::Start(format!("cannot watch SIGTERM: {e}")))?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    Ok(())
}

/// One sync round: sync, switch the served release if it changed, collect old releases, and
/// record it all in the status and metrics. Logs one line (plus one per peer dropped) when
/// something changed: a round that finds the same release as the round before, with the same
/// peers dropped, logs nothing.
pub fn sync_round(dir: &Path, config: &Config, app: &App, sync_program: Option<&Path>) {
    let who = format!("samizdat mirror {}", dir.display());
    let now = OffsetDateTime::now_utc();
    let names: Vec<String> = config
        .peers
        .iter()
        .map(|peer| net::base_url(peer))
        .collect();
    let result = match sync_program {
        Some(program) => sync_in_child(program, dir, config),
        None => {
            let limits = Limits {
                request_timeout: Duration::from_secs(config.timeout_secs),
                connect_timeout: Duration::from_secs(config.timeout_secs.min(10)),
                gzip: false,
            };
            let peers: Vec<HttpTransport> = config
                .peers
                .iter()
                .map(|peer| HttpTransport::new(peer, &limits))
                .collect();
            crate::sync_from(dir, peers, now)
        }
    };
    let dropped = match &result {
        Ok(report) => report.dropped.clone(),
        Err(e) => e.dropped().to_vec(),
    };
    let peer_states: Vec<PeerState> = names
        .iter()
        .map(|name| PeerState {
            url: name.clone(),
            dropped: dropped
                .iter()
                .find(|(peer, _)| peer == name)
                .map(|(_, why)| why.clone()),
        })
        .collect();
    // The round before succeeded with the same peers dropped (or none).
    let as_before = app
        .status
        .lock()
        .map(|s| s.last_attempt.is_some() && s.last_error.is_none() && s.peers == peer_states)
        .unwrap_or(false);
    let mut error = None;
    match &result {
        Ok(report) => {
            // A new release, or the same one with a re-signed timestamp to serve.
            let switched = report.version != app.served().version || report.metadata_files > 0;
            if switched && let Err(e) = reload(app, dir, &dir.join("root.json")) {
                error = Some(format!("synced but cannot serve: {e}"));
            }
            let (version, source) = (report.version, &report.source);
            if report.unchanged && !switched && as_before {
                // Only changes are logged: "up to date" came every round (10 s in the demo).
            } else if report.unchanged && !switched {
                log!("{who}: release {version} from {source}: up to date");
                for (peer, why) in &report.dropped {
                    log!("{who}:   dropped {peer}: {why}");
                }
            } else if report.unchanged {
                log!("{who}: release {version} from {source}: a re-signed timestamp, now served");
            } else {
                log!(
                    "{who}: release {version} from {source}: {} of {} targets fetched ({} bytes){}",
                    report.targets_fetched,
                    report.targets,
                    report.bytes_fetched,
                    if switched { ", now served" } else { "" }
                );
            }
            if switched {
                for (peer, why) in &report.dropped {
                    log!("{who}:   dropped {peer}: {why}");
                }
            }
            match crate::gc::collect(dir, config.grace_secs, now) {
                Ok(collected) if !collected.releases.is_empty() => log!(
                    "{who}: collected releases {:?}: {} files, {} bytes",
                    collected.releases,
                    collected.files,
                    collected.bytes
                ),
                Ok(_) => {}
                Err(e) => log!("{who}: cannot collect old releases: {e}"),
            }
        }
        Err(e) => {
            log!("{who}: sync failed: {e}");
            error = Some(e.to_string());
        }
    }
    let ok = error.is_none();
    let up: Vec<(String, bool)> = peer_states
        .iter()
        .map(|p| (p.url.clone(), p.dropped.is_none() && result.is_ok()))
        .collect();
    app.metrics.sync(ok, now.unix_timestamp(), &up);
    if let Ok(mut status) = app.status.lock() {
        status.last_attempt = Some(now);
        if ok {
            status.last_success = Some(now);
        }
        status.last_error = error;
        status.peers = peer_states;
    }
}

/// `PROGRAM mirror sync DIR --json --peer ... --timeout T`, its one line of JSON read back.
fn sync_in_child(program: &Path, dir: &Path, config: &Config) -> Result<SyncReport, Error> {
    let mut command = std::process::Command::new(program);
    command
        .args(["mirror", "sync", "--json", "--timeout"])
        .arg(config.timeout_secs.to_string())
        .arg(dir)
        .env_remove("SAMIZDAT_PEERS")
        .env_remove("SAMIZDAT_ROOT")
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit());
    for peer in &config.peers {
        command.arg("--peer").arg(peer);
    }
    let output = command.output().map_err(|e| {
        Error::new(
            ErrorKind::Io,
            format!("cannot run {}: {e}", program.display()),
        )
    })?;
    let text = String::from_utf8_lossy(&output.stdout);
    let line = text.lines().last().unwrap_or("");
    match serde_json::from_str::<Result<SyncReport, Error>>(line) {
        Ok(result) => result,
        Err(_) => Err(Error::new(
            ErrorKind::Internal,
            format!(
                "the sync process ended with {} and no report",
                output.status
            ),
        )),
    }
}
