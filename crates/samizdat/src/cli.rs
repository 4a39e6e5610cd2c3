//! The command line: a table of subcommands, each calling its command (`commands`, which
//! calls a library and prints), and the exit status of what they return, in one place.

use crate::commands::{self, Outcome};
use crate::demo;
use anyhow::Result;
use clap::{CommandFactory, Parser, Subcommand};
use release::InitOptions;
use release::config::ExpiryDays;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Exit status (README "Exit status"; 2 is clap's, for bad usage; 4 is `add`'s).
/// A failure, in particular of verification: something was checked and found wrong.
pub const NOT_VERIFIED: u8 = 1;
/// Authentic, but expired: not known fresh.
pub const NOT_FRESH: u8 = 3;
/// `add`: finished, but some files or documents could not be ingested.
pub const INCOMPLETE: u8 = 4;
/// Nothing could be had from the source or the peers (refused, timed out, an HTTP error):
/// nothing was verified, and nothing found wrong.
pub const UNREACHABLE: u8 = 5;

/// The exit status for an error: from its kind, wherever it sits in the chain of causes
/// (`mirror init`'s peers: none answered, or none served a release that verifies).
pub fn exit_code(error: &anyhow::Error) -> u8 {
    for cause in error.chain() {
        if let Some(e) = cause.downcast_ref::<mirror::init::InitError>() {
            return match e {
                mirror::init::InitError::Unreachable => UNREACHABLE,
                _ => NOT_VERIFIED,
            };
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

/// The exit status of a command that ran to its end.
fn status(outcome: Outcome) -> ExitCode {
    ExitCode::from(match outcome {
        Outcome::Done => 0,
        Outcome::SomeFailed => INCOMPLETE,
        Outcome::Forged => NOT_VERIFIED,
        Outcome::Unreachable => UNREACHABLE,
        Outcome::NotFresh => NOT_FRESH,
        Outcome::SyncFailed(kind) => sync_code(kind),
        Outcome::Child(code) => u8::try_from(code).unwrap_or(1),
    })
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
    /// Ingest files and folders (e-mail, mbox, maildir, PDF, text, Markdown, rst, HTML, .gz, JSON
    /// Lines, DOCX, PPTX, XLSX, ODT, ODP, ODS, RTF, DOC, XLS; zip, tar and 7z archives, opened
    /// recursively).
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
        /// Print every line of the report (what became of each file) as well as writing it to
        /// ARCHIVE/reports/.
        #[arg(long, short)]
        verbose: bool,
        #[command(flatten)]
        archives: ArchiveLimits,
        #[command(flatten)]
        ocr: OcrArgs,
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
    /// Run a directory: enrols mirrors, audits them, publishes a signed list of the good ones.
    #[command(subcommand)]
    Directory(DirectoryCommand),
    /// Run the sample archive end to end: ingest, release, verify, then serve it from an
    /// origin and two mirrors on loopback, enrolled with a directory that audits them, until
    /// Ctrl-C.
    Demo {
        /// Where to keep the demo archive (and its mirrors).
        #[arg(long, default_value = "samizdat-demo")]
        dir: PathBuf,
        /// The origin's port on 127.0.0.1; the mirrors take the next two, the directory the one
        /// after (0: any free ports).
        #[arg(long, default_value_t = 8480)]
        port: u16,
        /// Stop after this many seconds instead of at Ctrl-C.
        #[arg(long)]
        stop_after: Option<u64>,
    },
    /// Extract a PDF's text (run by `add` in a child process with limits).
    #[command(hide = true)]
    ExtractPdf { file: PathBuf },
    /// Write the manual pages (samizdat.1 and one per subcommand, samizdat-mirror-init.1...)
    /// into DIR, for packages (deploy/build-dist.sh).
    #[command(hide = true)]
    Man { dir: PathBuf },
    /// Print the completion script for SHELL (bash, zsh, fish, elvish, powershell), for
    /// packages (deploy/build-dist.sh).
    #[command(hide = true)]
    Completions { shell: clap_complete::Shell },
    /// Verify the signed mirror lists of the directories the archive vouches for, end to end:
    /// the archive from --root, each directory's root as an archive target, then its
    /// `mirrors.json` through that root; print the listed mirrors.
    VerifyList {
        #[arg(long)]
        root: PathBuf,
        /// The archive's release: a folder (with metadata/ and targets/) or its URL.
        source: String,
        /// Only the directory of this name (as in the archive's `directories.json`).
        #[arg(long)]
        directory: Option<String>,
        /// A folder where what was trusted of each directory is kept between runs, so that an
        /// older list served after a newer one is refused (rollback).
        #[arg(long)]
        state: Option<PathBuf>,
    },
    /// Block document ID on the mirror in DIR by a legal order: the running mirror answers
    /// 451 Unavailable For Legal Reasons on every path of it within a second, and the block is
    /// appended to its signed log (/.well-known/samizdat/blocks.json). The document stays in
    /// the release and in sync.
    Block {
        #[arg(env = "SAMIZDAT_MIRROR_DIR")]
        dir: PathBuf,
        id: String,
        /// The court or authority that ordered it.
        #[arg(long)]
        authority: String,
        /// The order's reference (case number, decision).
        #[arg(long)]
        reference: String,
        /// Where the order is published (sent as `Link: <URL>; rel="blocked-by"`).
        #[arg(long)]
        url: Option<String>,
        /// The jurisdiction: an ISO 3166-1 alpha-2 code such as DE.
        #[arg(long)]
        jurisdiction: Option<String>,
    },
    /// Lift the block of document ID on the mirror in DIR (appended to its signed log).
    Unblock {
        #[arg(env = "SAMIZDAT_MIRROR_DIR")]
        dir: PathBuf,
        id: String,
    },
    /// Check a mirror's blocks log (URL: the mirror, or its blocks.json): every entry's
    /// signature by the mirror's key and the hash chain; print the blocks in force.
    VerifyBlocks {
        url: String,
        /// The mirror's key (64 hex digits), when known: a log signed by another is refused.
        #[arg(long)]
        key: Option<String>,
        /// A head printed by an earlier check: a log that does not extend it (its newest
        /// entries dropped, or another log) is refused.
        #[arg(long)]
        since: Option<String>,
        /// Seconds the request may take.
        #[arg(long, default_value_t = 60)]
        timeout: u64,
    },
    /// Vouch for a directory from the next release on: each release then carries its root.json
    /// (ROOT: relative to the archive folder, or absolute) as a target, and lists it, with URL,
    /// in directories.json; recorded in samizdat.toml as [[directories]].
    Vouch {
        archive: PathBuf,
        root: PathBuf,
        /// The base URL of the directory's repository (where it serves /metadata/).
        #[arg(long)]
        url: String,
        /// Its name in the release (a-z 0-9 -); default: from its root keys' ids.
        #[arg(long)]
        name: Option<String>,
    },
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

/// How far `add` opens archives (zip, tar, 7z) within one file: bombs and deep nesting stop
/// at these, and each member left unread is named in the report with the bound.
#[derive(clap::Args)]
struct ArchiveLimits {
    /// Archives nested one in another, the outermost counting 1.
    #[arg(long, default_value_t = Defaults::ARCHIVE.max_depth)]
    archive_depth: u32,
    /// Members of one archive.
    #[arg(long, default_value_t = Defaults::ARCHIVE.max_members)]
    archive_members: u64,
    /// Members of all the archives in one file.
    #[arg(long, default_value_t = Defaults::ARCHIVE.max_total_members)]
    archive_members_total: u64,
    /// MiB one member may expand to.
    #[arg(long, default_value_t = Defaults::ARCHIVE.max_member_bytes >> 20)]
    archive_member_mib: u64,
    /// MiB all the archives in one file may expand to.
    #[arg(long, default_value_t = Defaults::ARCHIVE.max_total_bytes >> 20)]
    archive_total_mib: u64,
    /// How many times its compressed size a member may expand to (past its first 8 MiB).
    #[arg(long, default_value_t = Defaults::ARCHIVE.max_ratio)]
    archive_ratio: u64,
}

/// OCR of images and of PDFs without a text layer (off unless `--ocr` is given).
#[derive(clap::Args, Debug)]
struct OcrArgs {
    /// Recognise the text of images and of PDFs without a text layer with Tesseract, in these
    /// languages (`eng`, `fra+eng`: Debian's tesseract-ocr-LANG packs); off when not given.
    #[arg(long, value_name = "LANGS")]
    ocr: Option<String>,
    /// Seconds OCR may take for one file, all its pages together.
    #[arg(long, default_value_t = archive::read::ocr::Ocr::DEFAULT_TIMEOUT.as_secs_f64())]
    ocr_timeout: f64,
    /// Pages of one PDF recognised, at most.
    #[arg(long, default_value_t = archive::read::ocr::Ocr::DEFAULT_PAGES_MAX)]
    ocr_pages: u32,
}

impl OcrArgs {
    /// OCR as asked, or `None`: the languages are checked here, before any file is read.
    fn ocr(self) -> Result<Option<archive::read::ocr::Ocr>> {
        let Some(languages) = self.ocr else {
            return Ok(None);
        };
        let timeout = Duration::try_from_secs_f64(self.ocr_timeout)
            .map_err(|e| anyhow::anyhow!("--ocr-timeout {}: {e}", self.ocr_timeout))?;
        Ok(Some(archive::read::ocr::Ocr {
            timeout,
            pages_max: self.ocr_pages,
            ..archive::read::ocr::Ocr::new(&languages)?
        }))
    }
}

/// Defaults shown by `--help`, from the library's.
struct Defaults;

impl Defaults {
    const ARCHIVE: archive::read::container::Limits = archive::read::container::Limits::DEFAULT;
}

impl From<ArchiveLimits> for archive::read::container::Limits {
    fn from(a: ArchiveLimits) -> Self {
        archive::read::container::Limits {
            max_depth: a.archive_depth,
            max_members: a.archive_members,
            max_total_members: a.archive_members_total,
            max_member_bytes: a.archive_member_mib.saturating_mul(1 << 20),
            max_total_bytes: a.archive_total_mib.saturating_mul(1 << 20),
            max_ratio: a.archive_ratio,
        }
    }
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
    /// Seconds the open connections are given to finish after SIGTERM [default: 30].
    #[arg(long, env = "SAMIZDAT_DRAIN", value_name = "SECS")]
    drain: Option<u64>,
    #[command(flatten)]
    guard: GuardSettings,
    /// Boxed: the largest of the settings, kept out of `Command`'s size.
    #[command(flatten)]
    acme: Box<AcmeSettings>,
}

/// Automatic HTTPS (ACME): for `mirror init` and `mirror run`. Each also from the environment.
#[derive(clap::Args)]
struct AcmeSettings {
    /// Obtain and renew a certificate for this domain (ACME, HTTP-01): serve HTTPS on `--listen`
    /// [default then: 0.0.0.0:443] and plain HTTP on `--plain-listen`.
    #[arg(long, env = "SAMIZDAT_DOMAIN", conflicts_with = "tls_cert")]
    domain: Option<String>,
    /// The ACME server's directory URL [default: Let's Encrypt's].
    #[arg(long, env = "SAMIZDAT_ACME_DIRECTORY", value_name = "URL")]
    acme_directory: Option<String>,
    /// A contact address for the ACME account.
    #[arg(long, env = "SAMIZDAT_ACME_EMAIL")]
    acme_email: Option<String>,
    /// Check the ACME server's HTTPS against this PEM CA certificate (a test CA such as
    /// Pebble's) instead of the usual roots.
    #[arg(long, env = "SAMIZDAT_ACME_CA_CERT", value_name = "FILE")]
    acme_ca_cert: Option<PathBuf>,
    /// Where to serve plain HTTP with a domain, IP:PORT: the ACME challenge, and a redirect to
    /// HTTPS [default: 0.0.0.0:80].
    #[arg(long, env = "SAMIZDAT_PLAIN_LISTEN", value_delimiter = ',')]
    plain_listen: Vec<String>,
    /// With a domain, keep serving peers and TUF clients (`/metadata/`, `/targets/`,
    /// `/.well-known/samizdat/`, `/metrics`) over plain HTTP instead of redirecting them.
    #[arg(long, env = "SAMIZDAT_PLAIN_HTTP_FOR_PEERS")]
    plain_http_for_peers: bool,
}

impl From<AcmeSettings> for mirror::init::AcmeOverrides {
    fn from(s: AcmeSettings) -> Self {
        mirror::init::AcmeOverrides {
            domain: s.domain,
            directory: s.acme_directory,
            email: s.acme_email,
            ca_cert: s.acme_ca_cert,
            plain_listen: s.plain_listen,
            plain_for_peers: s.plain_http_for_peers,
        }
    }
}

impl From<MirrorSettings> for mirror::init::Overrides {
    fn from(s: MirrorSettings) -> Self {
        mirror::init::Overrides {
            peers: s.peers,
            listen: s.listen,
            interval_secs: s.interval,
            timeout_secs: s.timeout,
            grace_secs: s.grace,
            tls_cert: s.tls_cert,
            tls_key: s.tls_key,
            guard: s.guard.into(),
            drain_secs: s.drain,
            acme: (*s.acme).into(),
        }
    }
}

/// The flood guard's limits, for `mirror init`, `mirror run` and `mirror serve` (over
/// `mirror.toml`'s, or the defaults). Each also from the environment.
#[derive(clap::Args)]
struct GuardSettings {
    /// Flood guard: requests a second one address may make [default: 1000].
    #[arg(long, env = "SAMIZDAT_GUARD_RATE")]
    guard_rate: Option<u32>,
    /// Flood guard: requests one address may make at once above its rate [default: 20000].
    #[arg(long, env = "SAMIZDAT_GUARD_BURST")]
    guard_burst: Option<u32>,
    /// Flood guard: requests a second one /24 (IPv6: /56) may make [default: 4000].
    #[arg(long, env = "SAMIZDAT_GUARD_PREFIX_RATE")]
    guard_prefix_rate: Option<u32>,
    /// Flood guard: a prefix's burst above its rate [default: 80000].
    #[arg(long, env = "SAMIZDAT_GUARD_PREFIX_BURST")]
    guard_prefix_burst: Option<u32>,
    /// Flood guard: connections one address may hold open [default: 64].
    #[arg(long, env = "SAMIZDAT_GUARD_CONNECTIONS")]
    guard_connections: Option<u32>,
    /// Flood guard: connections one prefix may hold open [default: 256].
    #[arg(long, env = "SAMIZDAT_GUARD_PREFIX_CONNECTIONS")]
    guard_prefix_connections: Option<u32>,
    /// Flood guard: answers in flight before new requests get 503 [default: 4096].
    #[arg(long, env = "SAMIZDAT_GUARD_IN_FLIGHT")]
    guard_in_flight: Option<u32>,
    /// Flood guard: milliseconds a 429 waits before it is sent, so that a flooding client asks
    /// at most once that long a connection (0: at once) [default: 500].
    #[arg(long, env = "SAMIZDAT_GUARD_TARPIT_MS")]
    guard_tarpit_ms: Option<u32>,
    /// Flood guard: seconds an address cut for HTTP/2 abuse (rapid reset, CONTINUATION flood)
    /// has its new connections closed at once (0: never) [default: 0].
    #[arg(long, env = "SAMIZDAT_GUARD_PENALTY_S")]
    guard_penalty_s: Option<u32>,
    /// Flood guard: an address or prefix (IP/BITS) exempt from the per-client limits: peers,
    /// directories (repeat, or comma-separate in the environment).
    #[arg(
        long = "guard-allow",
        env = "SAMIZDAT_GUARD_ALLOW",
        value_delimiter = ','
    )]
    guard_allow: Vec<String>,
    /// Flood guard off: refuse nothing (a mirror behind a proxy that guards it; measuring the
    /// guard's cost). Time-outs and header limits still hold.
    #[arg(long, env = "SAMIZDAT_GUARD_OFF", value_parser = clap::builder::BoolishValueParser::new())]
    guard_off: bool,
}

impl From<GuardSettings> for mirror::guard::Overrides {
    fn from(s: GuardSettings) -> Self {
        mirror::guard::Overrides {
            rate: s.guard_rate,
            burst: s.guard_burst,
            prefix_rate: s.guard_prefix_rate,
            prefix_burst: s.guard_prefix_burst,
            connections: s.guard_connections,
            prefix_connections: s.guard_prefix_connections,
            in_flight: s.guard_in_flight,
            tarpit_ms: s.guard_tarpit_ms,
            penalty_s: s.guard_penalty_s,
            allow: s.guard_allow,
            off: s.guard_off.then_some(true),
        }
    }
}

/// A directory's settings, for `directory init` (written to DIR/directory.toml) and
/// `directory run` (for this run only, over the file's). Each also from the environment.
#[derive(clap::Args)]
struct DirectorySettings {
    /// An address to serve on, IP:PORT (repeat for several) [default: 127.0.0.1:8090].
    #[arg(long, env = "SAMIZDAT_DIRECTORY_LISTEN", value_delimiter = ',')]
    listen: Vec<String>,
    /// Seconds between audit rounds [default: 60].
    #[arg(long, env = "SAMIZDAT_DIRECTORY_INTERVAL")]
    interval: Option<u64>,
    /// Targets downloaded and hashed per mirror per round [default: 3].
    #[arg(long, env = "SAMIZDAT_DIRECTORY_SAMPLES")]
    samples: Option<usize>,
    /// Seconds one request to a mirror may take [default: 20].
    #[arg(long, env = "SAMIZDAT_DIRECTORY_TIMEOUT")]
    timeout: Option<u64>,
    /// A MaxMind-format country database (.mmdb; a relative path is DIR's): /r/ then prefers
    /// mirrors in the client's country [default: none, by weight and health only].
    #[arg(long, env = "SAMIZDAT_DIRECTORY_GEOIP_DB")]
    geoip_db: Option<PathBuf>,
    /// Behind a reverse proxy that appends the client's address to X-Forwarded-For: /r/ takes
    /// that address's country [default: off, the connection's peer; anyone can write the header].
    #[arg(long, env = "SAMIZDAT_DIRECTORY_BEHIND_PROXY")]
    behind_proxy: bool,
}

impl From<DirectorySettings> for directory::config::Overrides {
    fn from(s: DirectorySettings) -> Self {
        directory::config::Overrides {
            listen: s.listen,
            interval_secs: s.interval,
            samples: s.samples,
            timeout_secs: s.timeout,
            geoip_db: s.geoip_db,
            behind_proxy: s.behind_proxy.then_some(true),
        }
    }
}

#[derive(Subcommand)]
enum DirectoryCommand {
    /// Create a directory in DIR (new or empty) for the archive whose root is ARCHIVE_ROOT: its
    /// own keys and root (for the publisher to vouch for), an empty signed list, the admin
    /// token, DIR/directory.toml.
    Init {
        #[arg(env = "SAMIZDAT_DIRECTORY_DIR")]
        dir: PathBuf,
        /// The archive's root.json: every audit verifies mirrors against it.
        #[arg(long, env = "SAMIZDAT_ROOT")]
        archive_root: PathBuf,
        #[command(flatten)]
        settings: DirectorySettings,
    },
    /// Run the directory in DIR: serve its API, status and signed list, and audit every
    /// enrolled mirror on an interval, until SIGTERM.
    Run {
        #[arg(env = "SAMIZDAT_DIRECTORY_DIR")]
        dir: PathBuf,
        #[command(flatten)]
        settings: DirectorySettings,
    },
    /// Audit every enrolled mirror of the directory in DIR once, now: prints each change of
    /// state and how many mirrors stand in each.
    Audit {
        #[arg(env = "SAMIZDAT_DIRECTORY_DIR")]
        dir: PathBuf,
        /// Targets downloaded and hashed per mirror [default: DIR/directory.toml's].
        #[arg(long, env = "SAMIZDAT_DIRECTORY_SAMPLES")]
        samples: Option<usize>,
    },
    /// How many listed mirrors, countries and providers serve each document; names those
    /// under the floor (`coverage_floor_countries` in DIR/directory.toml).
    Coverage {
        #[arg(env = "SAMIZDAT_DIRECTORY_DIR")]
        dir: PathBuf,
        /// Print the whole report as JSON (as `/coverage.json`).
        #[arg(long)]
        json: bool,
    },
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
    /// Run the mirror in DIR: sync from its peers on an interval and serve, until SIGTERM
    /// (then the open connections finish). Socket-activated (LISTEN_FDS), it serves the
    /// sockets systemd passes instead of binding its listen addresses.
    Run {
        #[arg(env = "SAMIZDAT_MIRROR_DIR")]
        dir: PathBuf,
        #[command(flatten)]
        settings: MirrorSettings,
    },
    /// Serve the release in DIR (a mirror's, or an archive's own) as it is, without syncing.
    /// Socket-activated (LISTEN_FDS), it serves the sockets systemd passes instead of --listen.
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
        /// Seconds the open connections are given to finish after SIGTERM.
        #[arg(long, default_value_t = 30, value_name = "SECS")]
        drain: u64,
        #[command(flatten)]
        guard: GuardSettings,
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
    /// Enrol the mirror in DIR with a directory: the directory's challenge is written to
    /// DIR/enroll.txt, which the running mirror serves at URL/.well-known/samizdat/enroll.txt;
    /// the directory checks it there, then audits the mirror and lists it once its release is
    /// complete and correct.
    Enroll {
        #[arg(env = "SAMIZDAT_MIRROR_DIR")]
        dir: PathBuf,
        /// The directory's URL.
        #[arg(long, env = "SAMIZDAT_DIRECTORY_URL")]
        directory: String,
        /// This mirror's public base URL, as readers reach it.
        #[arg(long, env = "SAMIZDAT_PUBLIC_URL")]
        url: String,
        /// Where it is hosted: an ISO 3166-1 alpha-2 code such as DE.
        #[arg(long)]
        country: String,
        /// Who hosts it (a company or network name).
        #[arg(long)]
        provider: String,
        /// How to reach its operator.
        #[arg(long, default_value = "")]
        contact: String,
        /// Seconds each request to the directory may take (its check of the challenge
        /// included).
        #[arg(long, default_value_t = 60)]
        timeout: u64,
    },
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
    let outcome = match cli.command {
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
            let expiry = ExpiryDays {
                root: expiry_days,
                targets: expiry_days,
                snapshot: expiry_days,
                timestamp: timestamp_expiry_days,
            };
            let options = InitOptions {
                title,
                root_keys,
                root_threshold,
                timestamp_keys,
                expiry,
                mirrors,
            };
            commands::init(&archive, &options)?
        }
        Command::Add {
            archive,
            paths,
            pdf_timeout,
            pdf_memory_mib,
            withdraw_missing,
            verbose,
            archives,
            ocr,
        } => commands::add(
            &archive,
            &paths,
            Duration::from_secs(pdf_timeout),
            pdf_memory_mib << 20,
            archives.into(),
            ocr.ocr()?,
            archive::ingest::AddFlags {
                withdraw_missing,
                list: verbose,
            },
        )?,
        Command::Withdraw {
            archive,
            id,
            reason,
        } => commands::withdraw(&archive, &id, &reason)?,
        Command::Release { archive, no_site } => commands::release(&archive, no_site)?,
        Command::Timestamp { archive, key } => commands::timestamp(&archive, key.as_deref())?,
        Command::Verify {
            root,
            source,
            targets,
            verbose,
        } => commands::verify(&root, &source, &targets, verbose)?,
        Command::Export { dir, out } => commands::export(&dir, &out)?,
        Command::Key(KeyCommand::ExportRoot {
            archive,
            out,
            remove,
        }) => commands::key_export_root(&archive, &out, remove)?,
        Command::Key(KeyCommand::Rotate {
            archive,
            role,
            root_keys,
        }) => commands::key_rotate(&archive, &role, root_keys.as_deref())?,
        Command::Mirror(command) => mirror(command)?,
        Command::Directory(command) => directory(command)?,
        Command::Demo {
            dir,
            port,
            stop_after,
        } => {
            let network = mirror::demo::Network {
                port,
                stop_after: stop_after.map(Duration::from_secs),
            };
            demo::run(&dir, &network)?
        }
        Command::ExtractPdf { file } => commands::extract_pdf(&file),
        Command::Man { dir } => commands::man(Cli::command(), &dir)?,
        Command::Completions { shell } => commands::completions(Cli::command(), shell),
        Command::VerifyList {
            root,
            source,
            directory,
            state,
        } => commands::verify_list(&root, &source, directory.as_deref(), state.as_deref())?,
        Command::Vouch {
            archive,
            root,
            url,
            name,
        } => commands::vouch(&archive, &root, &url, name.as_deref())?,
        Command::Block {
            dir,
            id,
            authority,
            reference,
            url,
            jurisdiction,
        } => {
            let order = mirror::blocks::Order {
                authority,
                reference,
                url,
                jurisdiction: jurisdiction.map(|code| code.to_ascii_uppercase()),
            };
            commands::block(&dir, &id, order)?
        }
        Command::Unblock { dir, id } => commands::unblock(&dir, &id)?,
        Command::VerifyBlocks {
            url,
            key,
            since,
            timeout,
        } => commands::verify_blocks(
            &url,
            key.as_deref(),
            since.as_deref(),
            Duration::from_secs(timeout),
        )?,
    };
    Ok(status(outcome))
}

fn mirror(command: MirrorCommand) -> Result<Outcome> {
    match command {
        MirrorCommand::Init {
            dir,
            root,
            settings,
        } => commands::mirror_init(&dir, &root, settings.into()),
        MirrorCommand::Run { dir, settings } => commands::mirror_run(&dir, settings.into()),
        MirrorCommand::Serve {
            dir,
            root,
            listen,
            tls_cert,
            tls_key,
            drain,
            guard,
        } => commands::mirror_serve(
            &dir,
            root.as_deref(),
            &listen,
            tls_cert.zip(tls_key),
            guard.into(),
            std::time::Duration::from_secs(drain),
        ),
        MirrorCommand::Collect { dir, grace } => commands::mirror_collect(&dir, grace),
        MirrorCommand::Enroll {
            dir,
            directory,
            url,
            country,
            provider,
            contact,
            timeout,
        } => {
            let enrolment = mirror::enroll::Enrolment {
                url,
                country,
                provider,
                contact,
            };
            commands::mirror_enroll(&dir, &directory, &enrolment, Duration::from_secs(timeout))
        }
        MirrorCommand::Push { dir, dest } => commands::push(&dir, &dest),
        MirrorCommand::Sync {
            dir,
            peers,
            root,
            timeout,
            json,
        } => commands::mirror_sync(&dir, peers, root.as_deref(), timeout, json),
    }
}

fn directory(command: DirectoryCommand) -> Result<Outcome> {
    match command {
        DirectoryCommand::Init {
            dir,
            archive_root,
            settings,
        } => commands::directory_init(&dir, &archive_root, settings.into()),
        DirectoryCommand::Run { dir, settings } => commands::directory_run(&dir, settings.into()),
        DirectoryCommand::Audit { dir, samples } => commands::directory_audit(&dir, samples),
        DirectoryCommand::Coverage { dir, json } => commands::directory_coverage(&dir, json),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_consistent() {
        <Cli as clap::CommandFactory>::command().debug_assert();
    }

    #[test]
    fn each_ending_has_its_status() {
        let code = |outcome| format!("{:?}", status(outcome));
        assert_eq!(code(Outcome::Done), format!("{:?}", ExitCode::SUCCESS));
        assert_eq!(
            code(Outcome::SomeFailed),
            format!("{:?}", ExitCode::from(4))
        );
        assert_eq!(code(Outcome::Forged), format!("{:?}", ExitCode::from(1)));
        assert_eq!(
            code(Outcome::Unreachable),
            format!("{:?}", ExitCode::from(5))
        );
        assert_eq!(code(Outcome::NotFresh), format!("{:?}", ExitCode::from(3)));
        assert_eq!(
            code(Outcome::Child(300)),
            format!("{:?}", ExitCode::from(1))
        );
        let sync = Outcome::SyncFailed(mirror::ErrorKind::Unreachable);
        assert_eq!(code(sync), format!("{:?}", ExitCode::from(5)));

        let init = |e| exit_code(&anyhow::Error::new(e).context("mirror init"));
        assert_eq!(init(mirror::init::InitError::Unreachable), UNREACHABLE);
        let root_file = "root.json".to_owned();
        assert_eq!(
            init(mirror::init::InitError::NotVerified { root_file }),
            NOT_VERIFIED
        );
        assert_eq!(init(mirror::init::InitError::NoPeer), 1);
        assert_eq!(exit_code(&anyhow::anyhow!("anything else")), 1);
    }
}
