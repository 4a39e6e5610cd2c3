//! A mirror's configuration: `DIR/mirror.toml`, written by `samizdat mirror init`, read by
//! `samizdat mirror run` (where every value can also come from a flag or the environment).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind, Result};
use crate::guard::Limits;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Peers to sync from: the origin or other mirrors, none special.
    pub peers: Vec<String>,
    /// Addresses to serve on (`IP:PORT`).
    #[serde(default = "default_listen")]
    pub listen: Vec<String>,
    /// Seconds between sync rounds.
    #[serde(default = "default_interval")]
    pub interval_secs: u64,
    /// Seconds one request to a peer may take, body included.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// Seconds a replaced release stays on disk (for readers and peers midway through it).
    #[serde(default = "default_grace")]
    pub grace_secs: u64,
    /// PEM certificate chain and private key: serve HTTPS (HTTP/2 by ALPN) instead of HTTP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
    /// The flood guard's limits (`[guard]`; `guard::Limits`, every field optional).
    #[serde(default)]
    pub guard: Limits,
    /// Seconds the open connections are given to finish after SIGTERM (`handover`); written
    /// only when not the default.
    #[serde(default = "default_drain", skip_serializing_if = "is_default_drain")]
    pub drain_secs: u64,
    /// Automatic HTTPS (`[acme]`): a certificate obtained and renewed for a domain; `listen`
    /// then serves HTTPS, [`Acme::plain_listen`] plain HTTP (`acme`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acme: Option<Acme>,
}

/// A mirror's automatic HTTPS: the certificate for `domain` obtained from an ACME server
/// (RFC 8555, HTTP-01 answered on `plain_listen`) and renewed while the mirror runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Acme {
    /// The name the certificate is for; its DNS must lead to this mirror's plain HTTP port.
    pub domain: String,
    /// The ACME server's directory URL [default: Let's Encrypt's].
    #[serde(default = "default_acme_directory")]
    pub directory: String,
    /// A contact address given to the ACME server (`mailto:` is added).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    /// A PEM CA certificate the ACME server's own HTTPS is checked against instead of the
    /// usual roots: a test CA's, such as Pebble's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_cert: Option<PathBuf>,
    /// Addresses served in plain HTTP: the ACME challenge, a redirect to HTTPS for everything
    /// else (but what `plain_for_peers` keeps).
    #[serde(default = "default_plain_listen")]
    pub plain_listen: Vec<String>,
    /// Serve what peers and TUF clients read (`/metadata/`, `/targets/`,
    /// `/.well-known/samizdat/`, `/metrics`) over plain HTTP too, instead of redirecting it.
    #[serde(default)]
    pub plain_for_peers: bool,
}

impl Acme {
    pub fn new(domain: String) -> Acme {
        Acme {
            domain,
            directory: default_acme_directory(),
            email: None,
            ca_cert: None,
            plain_listen: default_plain_listen(),
            plain_for_peers: false,
        }
    }
}

fn default_acme_directory() -> String {
    instant_acme::LetsEncrypt::Production.url().to_owned()
}
fn default_plain_listen() -> Vec<String> {
    vec!["0.0.0.0:80".into()]
}
/// Where a mirror with a domain serves HTTPS unless told otherwise.
pub fn default_https_listen() -> Vec<String> {
    vec!["0.0.0.0:443".into()]
}

pub fn default_listen() -> Vec<String> {
    vec!["0.0.0.0:8080".into()]
}
fn default_interval() -> u64 {
    300
}
fn default_timeout() -> u64 {
    60
}
fn default_grace() -> u64 {
    86_400
}
pub(crate) fn default_drain() -> u64 {
    30
}
fn is_default_drain(secs: &u64) -> bool {
    *secs == default_drain()
}

impl Config {
    pub fn new(peers: Vec<String>) -> Config {
        Config {
            peers,
            listen: default_listen(),
            interval_secs: default_interval(),
            timeout_secs: default_timeout(),
            grace_secs: default_grace(),
            tls_cert: None,
            tls_key: None,
            guard: Limits::default(),
            drain_secs: default_drain(),
            acme: None,
        }
    }

    pub fn path(dir: &Path) -> PathBuf {
        dir.join("mirror.toml")
    }

    pub fn load(dir: &Path) -> Result<Config> {
        let path = Self::path(dir);
        let in_file = |e: &dyn std::fmt::Display| {
            Error::new(ErrorKind::Config, format!("{}: {e}", path.display()))
        };
        let text = std::fs::read_to_string(&path).map_err(|e| {
            in_file(&format!(
                "{e} (create the mirror with `samizdat mirror init`)"
            ))
        })?;
        let config: Config = toml::from_str(&text).map_err(|e| in_file(&e))?;
        config.check().map_err(|e| in_file(&e))?;
        Ok(config)
    }

    /// Checks what a typo would otherwise turn into a confusing failure later.
    pub fn check(&self) -> Result<()> {
        let wrong = |what: String| Err(Error::new(ErrorKind::Config, what));
        if self.peers.is_empty() {
            return wrong("no peer to sync from (peers = [\"https://origin.example/\"])".into());
        }
        for peer in &self.peers {
            if !(peer.starts_with("http://") || peer.starts_with("https://")) {
                return wrong(format!("peer {peer:?} is not an http:// or https:// URL"));
            }
        }
        for address in &self.listen {
            if let Err(e) = address.parse::<std::net::SocketAddr>() {
                return wrong(format!("listen address {address:?}: {e} (want IP:PORT)"));
            }
        }
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return wrong("tls_cert and tls_key go together".into());
        }
        if let Some(acme) = &self.acme {
            acme_check(acme)?;
            if self.tls_cert.is_some() {
                return wrong(
                    "tls_cert and [acme] exclude each other: certificate files or a domain".into(),
                );
            }
        }
        if self.interval_secs == 0 {
            return wrong("interval_secs must be at least 1".into());
        }
        self.guard.check()
    }

    /// Writes the configuration (through a temporary file and a rename).
    pub fn save(&self, dir: &Path) -> Result<()> {
        self.check()?;
        let path = Self::path(dir);
        let text = toml::to_string_pretty(self)
            .map_err(|e| Error::new(ErrorKind::Config, e.to_string()))?;
        crate::files::write_atomic(dir, &path, text.as_bytes())
    }
}

/// What a typo in `[acme]` would otherwise make a failed order an hour later.
fn acme_check(acme: &Acme) -> Result<()> {
    let wrong = |what: String| Err(Error::new(ErrorKind::Config, what));
    let domain = &acme.domain;
    let label_ok = |label: &str| {
        !label.is_empty()
            && label.len() <= 63
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            && !label.starts_with('-')
            && !label.ends_with('-')
    };
    if domain.len() > 253 || !domain.contains('.') || !domain.split('.').all(label_ok) {
        return wrong(format!(
            "acme.domain {domain:?} is not a domain name (mirror.example.org)"
        ));
    }
    if !acme.directory.starts_with("https://") {
        return wrong(format!(
            "acme.directory {:?} is not an https:// URL",
            acme.directory
        ));
    }
    if acme.plain_listen.is_empty() {
        return wrong("acme.plain_listen is empty: the ACME server asks over plain HTTP".into());
    }
    for address in &acme.plain_listen {
        if let Err(e) = address.parse::<std::net::SocketAddr>() {
            return wrong(format!(
                "acme.plain_listen address {address:?}: {e} (want IP:PORT)"
            ));
        }
    }
    Ok(())
}

/// `mirror init`'s check of one peer: does it answer, with a release that verifies against
/// `root` (the bytes of the trusted `root.json`)? Its top metadata only (timestamp, snapshot,
/// targets), each request within `timeout`. Returns the release's version and freshness; an
/// error whose kind [`is_unreachable`](trust::ErrorKind::is_unreachable) is a peer that did not
/// answer.
pub fn probe_peer(
    root: &[u8],
    peer: &str,
    timeout: std::time::Duration,
    now: time::OffsetDateTime,
) -> Result<(u64, trust::client::Freshness), trust::Error> {
    let limits = net::Limits {
        request_timeout: timeout,
        connect_timeout: timeout.min(std::time::Duration::from_secs(10)),
        gzip: false,
    };
    let options = trust::client::Options {
        allow_expired: true,
        ..trust::client::Options::new(now)
    };
    let client =
        trust::client::Client::load(root, net::HttpTransport::new(peer, &limits), options)?;
    Ok((client.version(), client.freshness().clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_typos() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config::new(vec!["http://127.0.0.1:1/".into()]);
        config.listen = vec!["127.0.0.2:8080".into()];
        config.guard.rate = 7;
        config.guard.allow = vec!["192.0.2.0/24".into()];
        config.drain_secs = 5;
        config.save(dir.path()).expect("save");
        assert_eq!(Config::load(dir.path()).expect("load"), config);
        // A `[guard]` table with a few limits: the others keep their defaults.
        std::fs::write(
            Config::path(dir.path()),
            "peers = [\"http://x/\"]\n[guard]\nrate = 3\nallow = [\"::1\"]\noff = true\n",
        )
        .expect("write");
        let guard = Config::load(dir.path()).expect("load").guard;
        assert_eq!((guard.rate, guard.burst), (3, Limits::default().burst));
        assert!(guard.off && !Limits::default().off);
        std::fs::write(
            Config::path(dir.path()),
            "peers = [\"http://x/\"]\n[guard]\nburst = 0\n",
        )
        .expect("write");
        let error = Config::load(dir.path()).expect_err("zero").to_string();
        assert!(error.contains("guard.burst"), "{error}");

        std::fs::write(Config::path(dir.path()), "peers = []\n").expect("write");
        let error = Config::load(dir.path()).expect_err("no peers").to_string();
        assert!(error.contains("no peer"), "{error}");
        std::fs::write(
            Config::path(dir.path()),
            "peers = [\"x\"]\nlisten_on = []\n",
        )
        .expect("write");
        let error = Config::load(dir.path())
            .expect_err("unknown field")
            .to_string();
        assert!(error.contains("listen_on"), "{error}");
        std::fs::write(Config::path(dir.path()), "peers = [\"ftp://x/\"]\n").expect("write");
        assert!(Config::load(dir.path()).is_err());
    }

    #[test]
    fn an_acme_table_round_trips_and_its_mistakes_are_named() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut config = Config::new(vec!["http://127.0.0.1:1/".into()]);
        let mut acme = Acme::new("mirror.example.org".into());
        acme.email = Some("ops@example.org".into());
        acme.plain_for_peers = true;
        config.acme = Some(acme.clone());
        config.save(dir.path()).expect("save");
        assert_eq!(Config::load(dir.path()).expect("load"), config);
        assert!(
            acme.directory
                .starts_with("https://acme-v02.api.letsencrypt.org/")
        );
        let wrong = |change: &dyn Fn(&mut Config), needle: &str| {
            let mut bad = config.clone();
            change(&mut bad);
            let error = bad.check().expect_err(needle).to_string();
            assert!(error.contains(needle), "{needle}: {error}");
        };
        for domain in [
            "localhost",
            "mirror..example.org",
            "-x.example.org",
            "a b.example.org",
        ] {
            wrong(
                &|c| c.acme.as_mut().expect("acme").domain = domain.into(),
                "is not a domain name",
            );
        }
        wrong(
            &|c| c.acme.as_mut().expect("acme").directory = "http://acme.example/dir".into(),
            "is not an https:// URL",
        );
        wrong(
            &|c| c.acme.as_mut().expect("acme").plain_listen = vec!["80".into()],
            "acme.plain_listen address \"80\"",
        );
        wrong(
            &|c| {
                c.tls_cert = Some("c.pem".into());
                c.tls_key = Some("k.pem".into());
            },
            "exclude each other",
        );
    }

    #[test]
    fn every_mistake_is_a_config_error_naming_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let missing = Config::load(dir.path()).expect_err("no mirror.toml");
        assert_eq!(missing.kind(), ErrorKind::Config);
        assert!(
            missing.message().contains("samizdat mirror init"),
            "{missing}"
        );
        for text in ["peers = [", "peers = []\n", "peers = [\"x\"]\n"] {
            std::fs::write(Config::path(dir.path()), text).expect("write");
            let error = Config::load(dir.path()).expect_err(text);
            assert_eq!(error.kind(), ErrorKind::Config, "{error}");
            assert!(error.message().contains("mirror.toml"), "{error}");
        }
        let mut config = Config::new(vec!["http://127.0.0.1:1/".into()]);
        config.interval_secs = 0;
        assert_eq!(
            config.save(dir.path()).map_err(|e| e.kind()),
            Err(ErrorKind::Config)
        );
    }
}
