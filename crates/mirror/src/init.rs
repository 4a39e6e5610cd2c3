//! Setting a mirror folder up: `samizdat mirror init` ([`init`]: the publisher's `root.json`
//! and `DIR/mirror.toml`, written only once a peer serves a release that verifies against that
//! root) and a `samizdat mirror sync` ([`prepare_sync`]: peers and time limit from the flags over
//! `mirror.toml`, the root copied in on the first sync, one transport per peer).

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::config::Config;

/// Whether root `older` leads to root `newer` through the chain of roots this mirror verified
/// and kept (`DIR/release/metadata/N.root.json`, TUF 5.3.4: each signed by its predecessor's
/// keys and its own): the same publisher, after rotations.
fn leads_to(older: &[u8], newer: &[u8], dir: &Path) -> bool {
    // Only the chain is judged here; expiry is the next sync's business.
    let options = trust::client::Options {
        allow_expired: true,
        ..trust::client::Options::default()
    };
    let Ok(mut set) =
        trust::client::TrustedMetadataSet::new(older, options, dir.display().to_string())
    else {
        return false;
    };
    let metadata = dir.join("release/metadata");
    for _ in 0..1024 {
        if set.root_bytes() == newer {
            return true;
        }
        let next = set.root().version.saturating_add(1);
        let Ok(bytes) = std::fs::read(metadata.join(format!("{next}.root.json"))) else {
            return false;
        };
        if set.update_root(&bytes).is_err() {
            return false;
        }
    }
    false
}

/// Why a mirror could not be set up. [`InitError::NotVerified`] and
/// [`InitError::Unreachable`] are what the peers answered; the rest is trouble with the
/// command's input or this folder.
#[derive(Debug)]
pub enum InitError {
    /// A file that could not be read.
    Read {
        path: PathBuf,
        error: std::io::Error,
    },
    /// The root file given is not a TUF `root.json`.
    NotRoot { file: String, error: trust::Error },
    /// The mirror already trusts another root (at this path).
    OtherRoot(PathBuf),
    /// `mirror.toml`, or the settings given, are wrong (the message).
    Config(String),
    /// A new mirror was given no peer.
    NoPeer,
    /// `mirror sync` of a folder with no `mirror.toml` was given no peer.
    NoPeerToSync(PathBuf),
    /// `mirror sync` of a folder with no `root.json` was given no root.
    NoRoot(PathBuf),
    /// Some peer answered, but none with a release that verifies against this root file.
    NotVerified { root_file: String },
    /// No peer answered.
    Unreachable,
    Create {
        path: PathBuf,
        error: std::io::Error,
    },
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
    Copy {
        from: PathBuf,
        error: std::io::Error,
    },
}

impl std::fmt::Display for InitError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            InitError::Read { path, error } => {
                write!(f, "{}: cannot read: {error}", path.display())
            }
            InitError::NotRoot { file, error } => write!(f, "{file}: not a TUF root.json: {error}"),
            InitError::OtherRoot(trusted) => write!(
                f,
                "{}: this mirror already trusts another root; a mirror follows one publisher \
                 (make a new mirror folder, or remove it to start over)",
                trusted.display()
            ),
            InitError::Config(message) => f.write_str(message),
            InitError::NoPeer => {
                f.write_str("give at least one --peer URL (the origin or another mirror)")
            }
            InitError::NoPeerToSync(dir) => write!(
                f,
                "{}: no mirror.toml with peers: give at least one --peer URL (the origin \
                 or another mirror), or create the mirror with `samizdat mirror init`",
                dir.display()
            ),
            InitError::NoRoot(dir) => write!(
                f,
                "{}: no root.json yet: give the publisher's with --root",
                dir.display()
            ),
            InitError::NotVerified { root_file } => write!(
                f,
                "no peer serves a release that verifies against {root_file}; nothing written"
            ),
            InitError::Unreachable => f.write_str("no peer answered (see above); nothing written"),
            InitError::Create { path, error } => {
                write!(f, "{}: cannot create: {error}", path.display())
            }
            InitError::Write { path, error } => {
                write!(f, "{}: cannot write: {error}", path.display())
            }
            InitError::Copy { from, error } => {
                write!(f, "{}: cannot copy: {error}", from.display())
            }
        }
    }
}

impl std::error::Error for InitError {}

/// A mirror's settings given for one command (flags, environment), over `mirror.toml`'s: for
/// `mirror init` (then written to the file) and `mirror run` (for this run only).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// None: the file's.
    pub peers: Vec<String>,
    /// None: the file's.
    pub listen: Vec<String>,
    pub interval_secs: Option<u64>,
    pub timeout_secs: Option<u64>,
    pub grace_secs: Option<u64>,
    /// Both or neither (the certificate decides).
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// The flood guard's limits given.
    pub guard: crate::guard::Overrides,
    /// Seconds connections are given to finish after SIGTERM.
    pub drain_secs: Option<u64>,
    /// Automatic HTTPS: the domain (sets `[acme]`) and its other settings.
    pub acme: AcmeOverrides,
}

/// The `[acme]` settings given for one command; all but `domain` change an `[acme]` there is.
#[derive(Debug, Clone, Default)]
pub struct AcmeOverrides {
    pub domain: Option<String>,
    pub directory: Option<String>,
    pub email: Option<String>,
    pub ca_cert: Option<PathBuf>,
    /// None: the file's.
    pub plain_listen: Vec<String>,
    /// Only ever turns it on (a flag).
    pub plain_for_peers: bool,
}

impl AcmeOverrides {
    /// Over `config`: a domain given makes the `[acme]` table if there was none, and moves
    /// `listen` from the default plain port to HTTPS's unless addresses were given.
    fn apply(self, config: &mut Config, listen_given: bool) {
        if let Some(domain) = self.domain {
            match &mut config.acme {
                Some(acme) => acme.domain = domain,
                None => config.acme = Some(crate::config::Acme::new(domain)),
            }
            if !listen_given && config.listen == crate::config::default_listen() {
                config.listen = crate::config::default_https_listen();
            }
        }
        let Some(acme) = &mut config.acme else {
            return;
        };
        if let Some(directory) = self.directory {
            acme.directory = directory;
        }
        if self.email.is_some() {
            acme.email = self.email;
        }
        if self.ca_cert.is_some() {
            acme.ca_cert = self.ca_cert;
        }
        if !self.plain_listen.is_empty() {
            acme.plain_listen = self.plain_listen;
        }
        acme.plain_for_peers |= self.plain_for_peers;
    }
}

impl Overrides {
    pub fn apply(self, config: &mut Config) {
        self.acme.apply(config, !self.listen.is_empty());
        if !self.peers.is_empty() {
            config.peers = self.peers;
        }
        if !self.listen.is_empty() {
            config.listen = self.listen;
        }
        if let Some(v) = self.interval_secs {
            config.interval_secs = v;
        }
        if let Some(v) = self.timeout_secs {
            config.timeout_secs = v;
        }
        if let Some(v) = self.grace_secs {
            config.grace_secs = v;
        }
        if let Some(v) = self.drain_secs {
            config.drain_secs = v;
        }
        if self.tls_cert.is_some() {
            config.tls_cert = self.tls_cert;
            config.tls_key = self.tls_key;
        }
        self.guard.apply(&mut config.guard);
    }
}

/// What one peer answered [`init`]'s probe.
#[derive(Debug)]
pub enum Answer {
    /// A release that verifies (perhaps authentic but expired: see the freshness).
    Verified {
        version: u64,
        freshness: trust::client::Freshness,
    },
    /// No answer (refused, timed out, an HTTP error).
    Unreachable(trust::Error),
    /// An answer whose release does not verify against the root.
    NotVerified(trust::Error),
}

/// What [`init`] wrote.
#[derive(Debug, Clone)]
pub struct Initialized {
    /// The folder had a `mirror.toml` already (now changed by the overrides).
    pub reconfigured: bool,
    pub config: Config,
}

/// `mirror init`: makes (or reconfigures) the mirror in `dir` trusting the root in `root_file`,
/// with `overrides` over its `mirror.toml` (or the defaults). Each peer is asked for its
/// release first (its top metadata, checked against the root) and `answered` told what it said;
/// nothing is written unless one serves a release that verifies (a mirror whose peers cannot
/// give it a release is a typo), and nothing is left of what this call made when a write fails.
pub fn init(
    dir: &Path,
    root_file: &Path,
    overrides: Overrides,
    mut answered: impl FnMut(&str, &Answer),
) -> Result<Initialized, InitError> {
    let root = std::fs::read(root_file).map_err(|error| InitError::Read {
        path: root_file.to_owned(),
        error,
    })?;
    let file = root_file.display().to_string();
    trust::verify::Envelope::parse(&file, &root)
        .and_then(|envelope| {
            envelope.peek_typed::<trust::schema::Root>(trust::schema::RoleType::Root)
        })
        .map_err(|error| InitError::NotRoot {
            file: file.clone(),
            error,
        })?;
    let trusted = dir.join("root.json");
    let trusted_before = match std::fs::read(&trusted) {
        // The publisher's root given again after the mirror followed a rotation (an upgrade
        // re-runs init): the newer root the mirror trusts stays; the probe below uses it.
        Ok(existing) if existing != root && !leads_to(&root, &existing, dir) => {
            return Err(InitError::OtherRoot(trusted));
        }
        Ok(existing) => Some(existing),
        Err(_) => None,
    };
    let root = trusted_before.clone().unwrap_or(root);
    let trusted_before = trusted_before.is_some();
    let reconfigured = Config::path(dir).exists();
    let mut config = if reconfigured {
        Config::load(dir).map_err(|e| InitError::Config(e.to_string()))?
    } else {
        Config::new(Vec::new())
    };
    if !reconfigured && overrides.peers.is_empty() {
        return Err(InitError::NoPeer);
    }
    overrides.apply(&mut config);
    config
        .check()
        .map_err(|e| InitError::Config(e.to_string()))?;
    probe_peers(&root, &file, &config, &mut answered)?;
    let made_dir = !dir.exists();
    if let Err(e) = write(dir, &trusted, trusted_before, &root, &config) {
        if made_dir {
            let _ = std::fs::remove_dir_all(dir);
        } else if !trusted_before {
            let _ = std::fs::remove_file(&trusted);
        }
        return Err(e);
    }
    Ok(Initialized {
        reconfigured,
        config,
    })
}

/// The folder, the root (unless trusted already), `mirror.toml`, and the mirror's own key
/// with its empty blocks log (`blocks`).
fn write(
    dir: &Path,
    trusted: &Path,
    trusted_before: bool,
    root: &[u8],
    config: &Config,
) -> Result<(), InitError> {
    std::fs::create_dir_all(dir).map_err(|error| InitError::Create {
        path: dir.to_owned(),
        error,
    })?;
    if !trusted_before {
        std::fs::write(trusted, root).map_err(|error| InitError::Write {
            path: trusted.to_owned(),
            error,
        })?;
    }
    config
        .save(dir)
        .map_err(|e| InitError::Config(e.to_string()))?;
    // The mirror's own key, for its blocks log (kept when the mirror has one).
    crate::blocks::ensure_key(dir).map_err(|e| InitError::Write {
        path: dir.join(crate::blocks::KEY_FILE),
        error: std::io::Error::other(e.to_string()),
    })?;
    Ok(())
}

/// Asks each peer for its release (top metadata, checked against `root`); fails unless one
/// serves a release that verifies: [`InitError::Unreachable`] when none answered.
fn probe_peers(
    root: &[u8],
    root_file: &str,
    config: &Config,
    answered: &mut impl FnMut(&str, &Answer),
) -> Result<(), InitError> {
    let timeout = Duration::from_secs(config.timeout_secs.min(30));
    let now = time::OffsetDateTime::now_utc();
    let mut verified = false;
    let mut answers = false;
    for peer in &config.peers {
        let answer = match crate::config::probe_peer(root, peer, timeout, now) {
            Ok((version, freshness)) => {
                verified = true;
                Answer::Verified { version, freshness }
            }
            Err(e) if e.kind().is_unreachable() => Answer::Unreachable(e),
            Err(e) => {
                answers = true;
                Answer::NotVerified(e)
            }
        };
        answered(peer, &answer);
    }
    match (verified, answers) {
        (true, _) => Ok(()),
        (false, true) => Err(InitError::NotVerified {
            root_file: root_file.to_owned(),
        }),
        (false, false) => Err(InitError::Unreachable),
    }
}

/// `mirror sync`'s set-up of the mirror in `dir`: the peers (`peers`, else `mirror.toml`'s),
/// each a transport whose requests take at most `timeout` seconds (else `mirror.toml`'s, else
/// 60), asking for the bytes as they are (the hash covers them; a peer should not gzip
/// gigabytes for us). The folder is made if need be and, on the first sync, given the
/// publisher's `root` (later, the mirror's own `root.json` is the newest a sync verified, TUF
/// 5.3.8, and is never replaced by an older one).
pub fn prepare_sync(
    dir: &Path,
    peers: Vec<String>,
    root: Option<&Path>,
    timeout: Option<u64>,
) -> Result<Vec<net::HttpTransport>, InitError> {
    let config = if Config::path(dir).exists() {
        Some(Config::load(dir).map_err(|e| InitError::Config(e.to_string()))?)
    } else {
        None
    };
    let peers = match (peers.is_empty(), &config) {
        (false, _) => peers,
        (true, Some(config)) => config.peers.clone(),
        (true, None) => return Err(InitError::NoPeerToSync(dir.to_owned())),
    };
    let timeout = timeout
        .or(config.map(|config| config.timeout_secs))
        .unwrap_or(60);
    std::fs::create_dir_all(dir).map_err(|error| InitError::Create {
        path: dir.to_owned(),
        error,
    })?;
    let trusted = dir.join("root.json");
    match root {
        Some(root) if !trusted.exists() => {
            std::fs::copy(root, &trusted).map_err(|error| InitError::Copy {
                from: root.to_owned(),
                error,
            })?;
        }
        None if !trusted.exists() => return Err(InitError::NoRoot(dir.to_owned())),
        _ => {}
    }
    let limits = net::Limits {
        request_timeout: Duration::from_secs(timeout),
        gzip: false,
        ..net::Limits::default()
    };
    Ok(peers
        .iter()
        .map(|peer| net::HttpTransport::new(peer, &limits))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_replace_only_what_they_give() {
        let mut config = Config::new(vec!["http://a.example/".into()]);
        let before = config.clone();
        Overrides::default().apply(&mut config);
        assert_eq!(config, before);
        Overrides {
            listen: vec!["127.0.0.1:9".into()],
            grace_secs: Some(5),
            guard: crate::guard::Overrides {
                rate: Some(9),
                allow: vec!["10.0.0.0/8".into()],
                ..Default::default()
            },
            ..Overrides::default()
        }
        .apply(&mut config);
        assert_eq!(
            (config.guard.rate, config.guard.burst),
            (9, before.guard.burst)
        );
        assert_eq!(config.guard.allow, ["10.0.0.0/8"]);
        assert_eq!(config.peers, before.peers);
        assert_eq!(config.listen, ["127.0.0.1:9"]);
        assert_eq!(config.grace_secs, 5);
        assert_eq!(config.interval_secs, before.interval_secs);
    }

    #[test]
    fn a_domain_makes_the_acme_table_and_moves_the_default_listen_to_https() {
        let mut config = Config::new(vec!["http://a.example/".into()]);
        let acme = |domain: Option<&str>| Overrides {
            acme: AcmeOverrides {
                domain: domain.map(str::to_owned),
                email: Some("ops@example.org".into()),
                plain_listen: vec!["127.0.0.1:8081".into()],
                ..AcmeOverrides::default()
            },
            ..Overrides::default()
        };
        // Without a domain nor an `[acme]` table, the ACME settings change nothing.
        acme(None).apply(&mut config);
        assert_eq!(config.acme, None);
        acme(Some("mirror.example.org")).apply(&mut config);
        assert_eq!(config.listen, crate::config::default_https_listen());
        let table = config.acme.clone().expect("[acme]");
        assert_eq!(table.domain, "mirror.example.org");
        assert_eq!(table.email.as_deref(), Some("ops@example.org"));
        assert_eq!(table.plain_listen, ["127.0.0.1:8081"]);
        // Addresses given stay as given.
        let mut config = Config::new(vec!["http://a.example/".into()]);
        Overrides {
            listen: vec!["127.0.0.1:8443".into()],
            ..acme(Some("mirror.example.org"))
        }
        .apply(&mut config);
        assert_eq!(config.listen, ["127.0.0.1:8443"]);
    }

    #[test]
    fn init_refuses_what_is_not_a_root_and_writes_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("root.json");
        std::fs::write(&root, b"{}").expect("write");
        let mirror = dir.path().join("m");
        let overrides = Overrides {
            peers: vec!["http://127.0.0.1:1/".into()],
            ..Overrides::default()
        };
        let error = init(&mirror, &root, overrides, |_, _| {}).expect_err("not a root");
        assert!(matches!(error, InitError::NotRoot { .. }), "{error}");
        assert!(error.to_string().contains("not a TUF root.json"), "{error}");
        assert!(!mirror.exists());
    }

    #[test]
    fn the_first_sync_needs_peers_and_a_root() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mirror = dir.path().join("m");
        let error = prepare_sync(&mirror, Vec::new(), None, None).err();
        assert!(
            matches!(error, Some(InitError::NoPeerToSync(_))),
            "{error:?}"
        );
        let peers = vec!["http://127.0.0.1:1/".to_owned()];
        let error = prepare_sync(&mirror, peers.clone(), None, None).err();
        assert!(matches!(error, Some(InitError::NoRoot(_))), "{error:?}");

        // Copied on the first sync only: later, the mirror's own is the one it trusts.
        let root = dir.path().join("root.json");
        std::fs::write(&root, b"first").expect("write");
        let transports =
            prepare_sync(&mirror, peers.clone(), Some(&root), Some(5)).expect("set up");
        assert_eq!(transports.len(), 1);
        std::fs::write(&root, b"second").expect("write");
        prepare_sync(&mirror, peers, Some(&root), None).expect("set up");
        assert_eq!(
            std::fs::read(mirror.join("root.json")).expect("read"),
            b"first"
        );
    }
}
