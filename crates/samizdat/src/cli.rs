//! The command line: a table of subcommands, each a few lines calling a library.

use crate::out::{errln, outln};
use crate::progress::Bar;
use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand};
use release::config::ExpiryDays;
use release::{Archive, InitOptions};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Exit status (README "Exit status"; 2 is clap's, for bad usage; 4 is `add`'s).
/// A failure, in particular of verification: something was checked and found wrong.
pub const NOT_VERIFIED: u8 = 1;
/// Authentic, but expired: not known fresh.
pub const NOT_FRESH: u8 = 3;
/// Nothing could be had from the source or the peers (refused, timed out, an HTTP error):
/// nothing was verified, and nothing found wrong.
pub const UNREACHABLE: u8 = 5;

/// An error that ends the command with its own exit status.
#[derive(Debug)]
pub struct Exit {
    code: u8,
    message: String,
}

impl Exit {
    fn new(code: u8, message: impl Into<String>) -> Exit {
        Exit {
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Exit {}

/// The exit status for an error: from its kind, wherever it sits in the chain of causes.
pub fn exit_code(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        if let Some(exit) = cause.downcast_ref::<Exit>() {
            return exit.code;
        }
        if let Some(e) = cause.downcast_ref::<mirror::Error>() {
            return sync_code(e.kind());
        }
        if let Some(e) = cause.downcast_ref::<trust::Error>() {
            return match e.kind() {
                kind if kind.is_unreachable() => UNREACHABLE,
                trust::ErrorKind::Expired => NOT_FRESH,
                _ => NOT_VERIFIED,
            };
        }
    }
    1
}

fn sync_code(kind: mirror::ErrorKind) -> u8 {
    match kind {
        mirror::ErrorKind::Unreachable => UNREACHABLE,
        mirror::ErrorKind::NotFresh => NOT_FRESH,
        _ => NOT_VERIFIED,
    }
}

#[derive(Parser)]
#[command(
    name = "samizdat",
    version,
    about = "Keep a signed document archive online on many untrusted mirrors"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a new archive: configuration, ed25519 keys, and the first signed root.
    Init {
        archive: PathBuf,
        #[arg(long, default_value = "samizdat archive")]
        title: String,
        /// Number of root keys (for a group of publishers, e.g. 3).
        #[arg(long, default_value_t = 1)]
        root_keys: u32,
        /// How many root keys must sign a new root (e.g. 2 of 3).
        #[arg(long, default_value_t = 1)]
        root_threshold: u32,
        /// Number of timestamp keys, one per co-publisher who may refresh the timestamp.
        #[arg(long, default_value_t = 1)]
        timestamp_keys: u32,
        /// Days a timestamp stays valid; readers call the release stale after that.
        #[arg(long, default_value_t = 14)]
        timestamp_expiry_days: u32,
        /// Days the root, targets and snapshot metadata stay valid.
        #[arg(long, default_value_t = 365)]
        expiry_days: u32,
        /// A mirror's base URL for the reader site's mirror list and failover (repeat; also
        /// `mirrors = [...]` in samizdat.toml).
        #[arg(long = "mirror")]
        mirrors: Vec<String>,
    },
    /// Ingest files and folders (e-mail, mbox, maildir, PDF, text, Markdown, rst, HTML, .gz, JSON Lines).
    Add {
        archive: PathBuf,
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Seconds one PDF may take to extract before it is given up.
        #[arg(long, default_value_t = 60)]
        pdf_timeout: u64,
        /// Memory one PDF extraction may use, in MiB.
        #[arg(long, default_value_t = 1024)]
        pdf_memory_mib: u64,
        /// Withdraw the documents whose source is gone (a deleted file, a removed row, an
        /// attachment no longer in its e-mail), with the reason; without it they are reported.
        #[arg(long)]
        withdraw_missing: bool,
    },
    /// Withdraw a document: the next release leaves it out and publishes why.
    Withdraw {
        archive: PathBuf,
        id: String,
        #[arg(long)]
        reason: String,
    },
    /// Sign a new release of the archive into ARCHIVE/release.
    Release {
        archive: PathBuf,
        /// Leave out the reader site (HTML pages and search index): documents and metadata only.
        #[arg(long)]
        no_site: bool,
    },
    /// Re-sign the timestamp with a fresh expiry (run from cron; any co-publisher's key will do).
    Timestamp {
        archive: PathBuf,
        /// A timestamp key file (PKCS#8); default: the archive's own.
        #[arg(long)]
        key: Option<PathBuf>,
    },
    /// Verify a release from a folder or an http(s) URL against a trusted root.json.
    Verify {
        #[arg(long)]
        root: PathBuf,
        /// A release folder (with metadata/ and targets/) or its URL.
        source: String,
        /// Document ids or target names; none means every target.
        targets: Vec<String>,
        /// List every metadata file fetched, with its size, on stderr.
        #[arg(long, short)]
        verbose: bool,
    },
    /// Write the release in DIR (an archive or a mirror folder) as a static tree for a plain web
    /// root: metadata/, targets/ and the plain site paths (/d/<id>/...), hard-linked when possible.
    Export { dir: PathBuf, out: PathBuf },
    /// Manage keys.
    #[command(subcommand)]
    Key(KeyCommand),
    /// Run a mirror.
    #[command(subcommand)]
    Mirror(MirrorCommand),
    /// Run the sample archive end to end: ingest, release, verify, then serve it from an
    /// origin and two mirrors on loopback until Ctrl-C.
    Demo {
        /// Where to keep the demo archive (and its mirrors).
        #[arg(long, default_value = "samizdat-demo")]
        dir: PathBuf,
        /// The origin's port on 127.0.0.1; the mirrors take the next two (0: any free ports).
        #[arg(long, default_value_t = 8480)]
        port: u16,
        /// Stop after this many seconds instead of at Ctrl-C.
        #[arg(long)]
        stop_after: Option<u64>,
    },
    /// Extract a PDF's text (run by `add` in a child process with limits).
    #[command(hide = true)]
    ExtractPdf { file: PathBuf },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Copy the root key(s) out of the archive (to an offline medium); with --remove, delete them here.
    ExportRoot {
        archive: PathBuf,
        out: PathBuf,
        #[arg(long)]
        remove: bool,
    },
    /// Replace the key of ROLE (root, targets, snapshot or timestamp): a new key, a new root
    /// version listing it (signed by the current root keys, and by the new ones for root), and
    /// the release signed again. Mirrors and readers follow the new root; the old key opens
    /// nothing once they have.
    Rotate {
        archive: PathBuf,
        #[arg(value_parser = ["root", "targets", "snapshot", "timestamp"])]
        role: String,
        /// Where the current root keys are, if not in the archive (`key export-root` put them
        /// there: root is offline).
        #[arg(long, value_name = "DIR")]
        root_keys: Option<PathBuf>,
    },
}

/// A mirror's settings, for `mirror init` (written to DIR/mirror.toml) and `mirror run` (for
/// this run only, over the file's). Each also from the environment.
#[derive(clap::Args)]
struct MirrorSettings {
    /// A peer to sync from: the origin or another mirror (repeat, or comma-separate in the
    /// environment); none is special, liars are dropped.
    #[arg(long = "peer", env = "SAMIZDAT_PEERS", value_delimiter = ',')]
    peers: Vec<String>,
    /// An address to serve on, IP:PORT (repeat for several) [default: 0.0.0.0:8080].
    #[arg(long, env = "SAMIZDAT_LISTEN", value_delimiter = ',')]
    listen: Vec<String>,
    /// Seconds between sync rounds [default: 300].
    #[arg(long, env = "SAMIZDAT_INTERVAL")]
    interval: Option<u64>,
    /// Seconds one request to a peer may take, body included [default: 60].
    #[arg(long, env = "SAMIZDAT_TIMEOUT")]
    timeout: Option<u64>,
    /// Seconds a replaced release is kept for readers midway through it [default: 86400].
    #[arg(long, env = "SAMIZDAT_GRACE")]
    grace: Option<u64>,
    /// PEM certificate chain: serve HTTPS (and HTTP/2) instead of HTTP.
    #[arg(long, env = "SAMIZDAT_TLS_CERT", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// PEM private key of the certificate.
    #[arg(long, env = "SAMIZDAT_TLS_KEY", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

impl MirrorSettings {
    fn apply(self, config: &mut mirror::config::Config) {
        if !self.peers.is_empty() {
            config.peers = self.peers;
        }
        if !self.listen.is_empty() {
            config.listen = self.listen;
        }
        if let Some(v) = self.interval {
            config.interval_secs = v;
        }
        if let Some(v) = self.timeout {
            config.timeout_secs = v;
        }
        if let Some(v) = self.grace {
            config.grace_secs = v;
        }
        if self.tls_cert.is_some() {
            config.tls_cert = self.tls_cert;
            config.tls_key = self.tls_key;
        }
    }
}

#[derive(Subcommand)]
enum MirrorCommand {
    /// Create (or reconfigure) a mirror in DIR: the publisher's root.json and DIR/mirror.toml.
    Init {
        #[arg(env = "SAMIZDAT_MIRROR_DIR")]
        dir: PathBuf,
        /// The publisher's root.json (the one key material a mirror trusts).
        #[arg(long, env = "SAMIZDAT_ROOT")]
        root: PathBuf,
        #[command(flatten)]
        settings: MirrorSettings,
    },
    /// Run the mirror in DIR: sync from its peers on an interval and serve, until SIGTERM.
    Run {
        #[arg(env = "SAMIZDAT_MIRROR_DIR")]
        dir: PathBuf,
        #[command(flatten)]
        settings: MirrorSettings,
    },
    /// Serve the release in DIR (a mirror's, or an archive's own) as it is, without syncing.
    Serve {
        dir: PathBuf,
        /// The trusted root.json [default: DIR/root.json, else the release's 1.root.json].
        #[arg(long)]
        root: Option<PathBuf>,
        /// An address to serve on, IP:PORT (repeat for several).
        #[arg(long, default_value = "127.0.0.1:8080", value_delimiter = ',')]
        listen: Vec<String>,
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
    },
    /// Remove releases replaced more than the grace period ago (a running mirror does this
    /// after each sync).
    Collect {
        dir: PathBuf,
        /// Seconds a replaced release is kept.
        #[arg(long, default_value_t = 86_400)]
        grace: u64,
    },
    /// Push the release in DIR (an archive or a mirror folder) to a plain web root with rsync:
    /// exported to DIR/export, then sent in stages: targets and plain paths, metadata,
    /// `timestamp.json` last. DEST is an rsync destination (`/var/www/samizdat`,
    /// `user@host:/var/www/samizdat`, or `user@host:` through an rrsync-restricted key).
    Push { dir: PathBuf, dest: String },
    /// Sync the mirror in DIR from its peers (the origin or other mirrors), verifying every
    /// file, once.
    Sync {
        dir: PathBuf,
        /// A peer's URL (the origin or another mirror, serving metadata/ and targets/);
        /// repeat for several: the newest release that verifies wins, liars are dropped
        /// [default: the peers in DIR/mirror.toml].
        #[arg(long = "peer", env = "SAMIZDAT_PEERS", value_delimiter = ',')]
        peers: Vec<String>,
        /// The publisher's root.json; copied to DIR/root.json on the first sync.
        #[arg(long, env = "SAMIZDAT_ROOT")]
        root: Option<PathBuf>,
        /// Seconds one request to a peer may take, body included (a stalling or dripping peer
        /// is dropped after it) [default: DIR/mirror.toml's, else 60].
        #[arg(long, env = "SAMIZDAT_TIMEOUT")]
        timeout: Option<u64>,
        /// Print the report as one line of JSON (for `mirror run`, which syncs in a child).
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cli: Cli) -> Result<ExitCode> {
    match cli.command {
        Command::Init {
            archive,
            title,
            root_keys,
            root_threshold,
            timestamp_keys,
            timestamp_expiry_days,
            expiry_days,
            mirrors,
        } => {
            let options = InitOptions {
                title,
                root_keys,
                root_threshold,
                timestamp_keys,
                expiry: ExpiryDays {
                    root: expiry_days,
                    targets: expiry_days,
                    snapshot: expiry_days,
                    timestamp: timestamp_expiry_days,
                },
                mirrors,
            };
            let root = Archive::init(&archive, &options)?;
            outln!("created archive {}", archive.display());
            outln!("trusted root for mirrors and readers: {}", root.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Add {
            archive,
            paths,
            pdf_timeout,
            pdf_memory_mib,
            withdraw_missing,
        } => {
            let mut a = Archive::open(&archive)?;
            let read = read_options(Duration::from_secs(pdf_timeout), pdf_memory_mib << 20)?;
            let summary = a.add_with(&paths, read, withdraw_missing, &Bar::new("adding"))?;
            print_summary(&summary);
            let code = if summary.failed.is_empty() { 0 } else { 4 };
            Ok(ExitCode::from(code))
        }
        Command::Withdraw {
            archive,
            id,
            reason,
        } => {
            Archive::open(&archive)?.withdraw(&id, &reason)?;
            outln!("withdrew {id}; the next release leaves it out");
            Ok(ExitCode::SUCCESS)
        }
        Command::Release { archive, no_site } => {
            let mut a = Archive::open(&archive)?;
            let started = std::time::Instant::now();
            let site: &dyn release::site::Site = if no_site {
                &release::site::NoSite
            } else {
                &site::ReaderSite
            };
            let report = a.release(site, &Bar::new("release"))?;
            outln!(
                "release {}: {} documents ({} withdrawn), {} targets ({} new files), {} records rebuilt, {} of {} bins signed, in {:.1}s ({})",
                report.version,
                report.documents,
                report.withdrawn,
                report.targets,
                report.files_placed,
                report.records_rebuilt,
                report.bins_written,
                report.bins_total,
                started.elapsed().as_secs_f64(),
                if report.from_changes {
                    "from the changes since the last release"
                } else {
                    "from every document"
                }
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Timestamp { archive, key } => {
            let a = Archive::open(&archive)?;
            let version = a.refresh_timestamp(key.as_deref())?;
            outln!("timestamp version {version} signed");
            Ok(ExitCode::SUCCESS)
        }
        Command::Verify {
            root,
            source,
            targets,
            verbose,
        } => verify(&root, &source, &targets, verbose),
        Command::Mirror(MirrorCommand::Push { dir, dest }) => push(&dir, &dest),
        Command::Export { dir, out } => {
            export(&dir, &out)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Mirror(MirrorCommand::Init {
            dir,
            root,
            settings,
        }) => mirror_init(&dir, &root, settings),
        Command::Mirror(MirrorCommand::Run { dir, settings }) => {
            let mut config = mirror::config::Config::load(&dir)?;
            settings.apply(&mut config);
            let program = std::env::current_exe().context("cannot find the samizdat executable")?;
            mirror::run::run(&dir, config, Some(program)).map_err(anyhow::Error::msg)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Mirror(MirrorCommand::Serve {
            dir,
            root,
            listen,
            tls_cert,
            tls_key,
        }) => {
            let tls = tls_cert.zip(tls_key);
            mirror::run::serve_only(&dir, root.as_deref(), &listen, tls)
                .map_err(anyhow::Error::msg)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Mirror(MirrorCommand::Collect { dir, grace }) => {
            let collected = mirror::gc::collect(&dir, grace, time::OffsetDateTime::now_utc())?;
            outln!(
                "collected {} old release(s) {:?}: {} files, {} bytes",
                collected.releases.len(),
                collected.releases,
                collected.files,
                collected.bytes
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Mirror(MirrorCommand::Sync {
            dir,
            peers,
            root,
            timeout,
            json,
        }) => {
            // Peers and time limit as `mirror run` takes them: flags and environment over
            // DIR/mirror.toml.
            let config = if mirror::config::Config::path(&dir).exists() {
                Some(mirror::config::Config::load(&dir)?)
            } else {
                None
            };
            let peers = match (peers.is_empty(), &config) {
                (false, _) => peers,
                (true, Some(config)) => config.peers.clone(),
                (true, None) => bail!(
                    "{}: no mirror.toml with peers: give at least one --peer URL (the origin \
                     or another mirror), or create the mirror with `samizdat mirror init`",
                    dir.display()
                ),
            };
            let timeout = timeout
                .or(config.map(|config| config.timeout_secs))
                .unwrap_or(60);
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("{}: cannot create", dir.display()))?;
            let trusted = dir.join("root.json");
            match root {
                Some(root) if !trusted.exists() => {
                    std::fs::copy(&root, &trusted)
                        .with_context(|| format!("{}: cannot copy", root.display()))?;
                }
                None if !trusted.exists() => bail!(
                    "{}: no root.json yet: give the publisher's with --root",
                    dir.display()
                ),
                _ => {}
            }
            let transports = peers
                .iter()
                .map(|peer| {
                    let limits = net::Limits {
                        request_timeout: Duration::from_secs(timeout),
                        gzip: false,
                        ..net::Limits::default()
                    };
                    net::HttpTransport::new(peer, &limits)
                })
                .collect();
            // A bar on a terminal (not with --json: `mirror run` reads that from a child).
            let bar = Bar::new("fetching");
            let progress: &dyn archive::ingest::Progress = if json {
                &archive::ingest::NoProgress
            } else {
                &bar
            };
            let now = time::OffsetDateTime::now_utc();
            let result = mirror::sync_with_progress(&dir, transports, now, progress);
            if json {
                outln!("{}", serde_json::to_string(&result)?);
                let code = result.as_ref().err().map_or(0, |e| sync_code(e.kind()));
                return Ok(ExitCode::from(code));
            }
            let report = result.context("sync failed; the mirror keeps its last release")?;
            for (peer, why) in &report.dropped {
                errln!("dropped peer {peer} this round: {why}");
            }
            let targets = if report.unchanged {
                "already complete here".to_owned()
            } else {
                format!("{} targets", report.targets)
            };
            outln!(
                "release {}: {targets}, {} fetched ({} bytes), {} metadata files, from {}",
                report.version,
                report.targets_fetched,
                report.bytes_fetched,
                report.metadata_files,
                report.source
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Key(KeyCommand::ExportRoot {
            archive,
            out,
            remove,
        }) => {
            let a = Archive::open(&archive)?;
            for path in a.export_root_keys(&out, remove)? {
                outln!("root key written to {}", path.display());
            }
            if remove {
                outln!(
                    "root keys removed from {}: root is offline",
                    archive.display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Key(KeyCommand::Rotate {
            archive,
            role,
            root_keys,
        }) => {
            let role: release::KeyRole = role.parse()?;
            let mut a = Archive::open(&archive)?;
            let rotation = a.rotate_key(role, root_keys.as_deref())?;
            for path in &rotation.new_keys {
                outln!("new {} key written to {}", role.as_str(), path.display());
            }
            for path in &rotation.removed {
                outln!("old key {} deleted", path.display());
            }
            outln!(
                "root version {} lists it: {}",
                rotation.root_version,
                archive.join("root.json").display()
            );
            if let Some(version) = rotation.release {
                outln!("release {version}: signed again with the new key");
            }
            if role == release::KeyRole::Root && root_keys.is_some() {
                outln!(
                    "the new root keys are in {}: take them offline again with `samizdat key export-root --remove`",
                    archive.join("keys").display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Demo {
            dir,
            port,
            stop_after,
        } => crate::demo::run(
            &dir,
            &crate::demo::Network {
                port,
                stop_after: stop_after.map(Duration::from_secs),
            },
        ),
        Command::ExtractPdf { file } => {
            let code = archive::read::pdf::child_main(&file);
            Ok(ExitCode::from(u8::try_from(code).unwrap_or(1)))
        }
    }
}

fn mirror_init(dir: &Path, root: &Path, settings: MirrorSettings) -> Result<ExitCode> {
    let root_bytes =
        std::fs::read(root).with_context(|| format!("{}: cannot read", root.display()))?;
    let file = root.display().to_string();
    trust::verify::Envelope::parse(&file, &root_bytes)
        .and_then(|envelope| {
            envelope.peek_typed::<trust::schema::Root>(trust::schema::RoleType::Root)
        })
        .with_context(|| format!("{file}: not a TUF root.json"))?;
    let trusted = dir.join("root.json");
    let trusted_before = match std::fs::read(&trusted) {
        Ok(existing) if existing != root_bytes => bail!(
            "{}: this mirror already trusts another root; a mirror follows one publisher \
             (make a new mirror folder, or remove it to start over)",
            trusted.display()
        ),
        Ok(_) => true,
        Err(_) => false,
    };
    let existing = mirror::config::Config::path(dir).exists();
    let mut config = if existing {
        mirror::config::Config::load(dir)?
    } else {
        mirror::config::Config::new(Vec::new())
    };
    if !existing && settings.peers.is_empty() {
        bail!("give at least one --peer URL (the origin or another mirror)");
    }
    settings.apply(&mut config);
    config.check()?;
    // Before anything is written: a mirror whose peers cannot give it a release is a typo.
    check_peers(&root_bytes, &root.display().to_string(), &config)?;
    // Nothing is left of what this run made when a write fails.
    let made_dir = !dir.exists();
    let written = std::fs::create_dir_all(dir)
        .with_context(|| format!("{}: cannot create", dir.display()))
        .and_then(|()| {
            if trusted_before {
                return Ok(());
            }
            std::fs::write(&trusted, &root_bytes)
                .with_context(|| format!("{}: cannot write", trusted.display()))
        })
        .and_then(|()| config.save(dir).map_err(anyhow::Error::from));
    if let Err(e) = written {
        if made_dir {
            let _ = std::fs::remove_dir_all(dir);
        } else if !trusted_before {
            let _ = std::fs::remove_file(&trusted);
        }
        return Err(e);
    }
    outln!(
        "{} mirror {}: peers {}; serves on {}; syncs every {} s",
        if existing { "reconfigured" } else { "created" },
        dir.display(),
        config.peers.join(", "),
        config.listen.join(", "),
        config.interval_secs
    );
    outln!("start it with: samizdat mirror run {}", dir.display());
    Ok(ExitCode::SUCCESS)
}

/// `mirror init`: asks each peer for its release (top metadata, checked against the root) and
/// says what it answered. Fails unless one serves a release that verifies: with
/// [`UNREACHABLE`] when none answered.
fn check_peers(root: &[u8], root_file: &str, config: &mirror::config::Config) -> Result<()> {
    let timeout = Duration::from_secs(config.timeout_secs.min(30));
    let now = time::OffsetDateTime::now_utc();
    let mut verified = false;
    let mut answered = false;
    for peer in &config.peers {
        match mirror::config::probe_peer(root, peer, timeout, now) {
            Ok((version, trust::client::Freshness::Fresh)) => {
                outln!("peer {peer} answers: release {version}, verified");
                verified = true;
            }
            Ok((version, trust::client::Freshness::Expired { since, .. })) => {
                outln!(
                    "peer {peer} answers: release {version}, authentic, not known fresh since {}",
                    since.date()
                );
                verified = true;
            }
            Err(e) if e.kind().is_unreachable() => {
                errln!("peer {peer} does not answer: {e}");
            }
            Err(e) => {
                errln!(
                    "peer {peer} answers, but its release does not verify against {root_file}: {e}"
                );
                answered = true;
            }
        }
    }
    match (verified, answered) {
        (true, _) => Ok(()),
        (false, true) => Err(Exit::new(
            NOT_VERIFIED,
            format!("no peer serves a release that verifies against {root_file}; nothing written"),
        )
        .into()),
        (false, false) => {
            Err(Exit::new(UNREACHABLE, "no peer answered (see above); nothing written").into())
        }
    }
}

/// Readers' options; PDFs are extracted by this same binary in a child process.
pub fn read_options(timeout: Duration, memory: u64) -> Result<archive::read::ReadOptions> {
    let exe = std::env::current_exe().context("cannot find the samizdat executable")?;
    Ok(archive::read::ReadOptions::new(
        archive::read::PdfExtractor {
            program: exe,
            args: vec!["extract-pdf".into()],
            timeout,
            memory_limit_bytes: memory,
        },
    ))
}

pub fn print_summary(s: &archive::ingest::Summary) {
    // `Failure`'s Display quotes and escapes: a file name cannot forge a line or drive the terminal.
    for f in &s.failed {
        errln!("failed: {f}");
    }
    for f in &s.renamed {
        errln!("renamed: {f}");
    }
    for f in &s.duplicates {
        errln!("duplicate skipped: {f}");
    }
    for f in &s.notes {
        errln!("warning: {f}");
    }
    for f in &s.missing {
        errln!("gone: {f}");
    }
    outln!(
        "{} files: {} documents ingested, {} updated, {} files unchanged, {} duplicates skipped, {} renamed, {} unsupported skipped, {} failed, {} gone ({} withdrawn)",
        s.files_seen,
        s.ingested,
        s.updated,
        s.unchanged,
        s.duplicates.len(),
        s.renamed.len(),
        s.unsupported.len(),
        s.failed.len(),
        s.missing.len(),
        s.withdrawn
    );
}

/// `mirror push`: rsync in the order that keeps the web root valid at every moment. Until the
/// new `timestamp.json` lands, readers see the previous release, whose files are all still there
/// (nothing is deleted), but for those the export replaced by a notice: files of a release that
/// showed a document withdrawn since (gone means gone, `mirror::export`).
fn export(dir: &Path, out: &Path) -> Result<mirror::export::Exported> {
    let release = dir.join("release");
    for sub in ["targets", "metadata"] {
        if !release.join(sub).is_dir() {
            bail!(
                "{}: no release/{sub}/ (is it an archive or a mirror folder?)",
                dir.display()
            );
        }
    }
    let exported = mirror::export::export(dir, out)?;
    outln!(
        "exported release {} ({} targets) to {}: {} files written, {} withdrawn paths and {} files of earlier releases replaced by a notice",
        exported.version,
        exported.targets,
        out.display(),
        exported.written,
        exported.withdrawn,
        exported.replaced
    );
    Ok(exported)
}

fn push(dir: &Path, dest: &str) -> Result<ExitCode> {
    // The static tree (targets, plain site paths, metadata) in DIR/export, hard links into the
    // release: cheap, and kept between pushes so that only what changed is linked anew.
    let tree = dir.join("export");
    export(dir, &tree)?;
    let release = tree;
    let dest = dest.trim_end_matches('/');
    let stages: [(&str, Vec<String>); 3] = [
        (
            "targets and plain paths",
            vec![
                // Hard links kept (-H): a plain path and its target are one file there too.
                "-H".into(),
                "--exclude=/metadata/".into(),
                "--exclude=/.tmp/".into(),
                format!("{}/", release.display()),
                format!("{dest}/"),
            ],
        ),
        (
            "metadata",
            vec![
                "--exclude=timestamp.json".into(),
                format!("{}/metadata/", release.display()),
                format!("{dest}/metadata/"),
            ],
        ),
        (
            "timestamp",
            vec![
                // Always copied: two timestamps can share size and modification second.
                "--ignore-times".into(),
                format!("{}/metadata/timestamp.json", release.display()),
                // Into the folder, not onto the file: rrsync (the volunteer's restricted key)
                // turns an existing destination file into /proc/self/fd/N, which rsync
                // cannot replace.
                format!("{dest}/metadata/"),
            ],
        ),
    ];
    for (i, (stage, args)) in stages.into_iter().enumerate() {
        // Not with -H: rsync links a hard-link group's followers to the leader's path before
        // the delayed rename, so a new target got the old bytes of a plain path that changed
        // (a site page). Stage one has nothing readers switch on anyway: the timestamp is last.
        let delay = if i == 0 {
            None
        } else {
            Some("--delay-updates")
        };
        let status = std::process::Command::new("rsync")
            .args(["-rlt", "--mkpath"])
            .args(delay)
            .args(&args)
            .status()
            .context("cannot run rsync (install it: apt-get install rsync)")?;
        if !status.success() {
            bail!(
                "rsync of {stage} to {dest} failed ({status}); the web root keeps its previous release"
            );
        }
    }
    outln!("pushed {} to {dest}", dir.display());
    Ok(ExitCode::SUCCESS)
}

/// A transport that lists the metadata it fetches (`verify --verbose`).
struct Logged<T> {
    inner: T,
    verbose: bool,
}

impl<T: trust::client::Transport> trust::client::Transport for Logged<T> {
    fn fetch(&self, path: &str, max_len: u64) -> Result<Vec<u8>, trust::client::FetchError> {
        let result = self.inner.fetch(path, max_len);
        if let (true, Ok(bytes)) = (self.verbose, &result)
            && path.starts_with("metadata/")
        {
            errln!("fetched {path} ({} bytes)", bytes.len());
        }
        result
    }
    fn describe(&self) -> String {
        self.inner.describe()
    }
}

pub fn verify(root: &Path, source: &str, targets: &[String], verbose: bool) -> Result<ExitCode> {
    let trusted =
        std::fs::read(root).with_context(|| format!("{}: cannot read", root.display()))?;
    let now = time::OffsetDateTime::now_utc();
    let bar = Bar::new("verifying");
    let report = if source.starts_with("http://") || source.starts_with("https://") {
        let inner = net::HttpTransport::new(source, &net::Limits::default());
        let transport = Logged { inner, verbose };
        fetch::verify(&trusted, transport, targets, now, &bar)
    } else {
        let dir = Path::new(source);
        if !dir.join("metadata").is_dir() {
            bail!("{source}: not a release folder (no metadata/ inside)");
        }
        let inner = trust::client::DirTransport::new(dir);
        let transport = Logged { inner, verbose };
        fetch::verify(&trusted, transport, targets, now, &bar)
    };
    let report = report.map_err(|e| {
        let what = if e.kind().is_unreachable() {
            "cannot get the release, nothing verified"
        } else {
            "the release does not verify"
        };
        anyhow::Error::new(e).context(format!("{source}: {what}"))
    })?;
    for f in &report.failures {
        let what = if f.kind.is_unreachable() {
            "UNREACHABLE"
        } else {
            "FAILED"
        };
        errln!("{what} {}: {}", f.target, f.reason);
    }
    if !report.ok() {
        let unreachable = report
            .failures
            .iter()
            .filter(|f| f.kind.is_unreachable())
            .count();
        let failed = report.failures.len() - unreachable;
        outln!(
            "release {}: {} targets verified, {failed} FAILED, {unreachable} could not be fetched",
            report.version,
            report.verified,
        );
        let code = if report.forged() {
            NOT_VERIFIED
        } else {
            UNREACHABLE
        };
        return Ok(ExitCode::from(code));
    }
    match report.freshness {
        trust::client::Freshness::Fresh => {
            outln!(
                "release {}: authentic and fresh, {} targets verified ({} bytes of metadata fetched)",
                report.version,
                report.verified,
                report.metadata_bytes
            );
            Ok(ExitCode::SUCCESS)
        }
        trust::client::Freshness::Expired { role, since } => {
            outln!(
                "release {}: authentic, not known fresh since {} ({} expired), {} targets verified ({} bytes of metadata fetched)",
                report.version,
                since.date(),
                role,
                report.verified,
                report.metadata_bytes
            );
            Ok(ExitCode::from(NOT_FRESH))
        }
    }
}
