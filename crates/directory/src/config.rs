//! A directory's folder and configuration: `DIR/directory.toml`, written by
//! `samizdat directory init`, read by `samizdat directory run` (flags and environment override
//! it in the binary).
//!
//! ```text
//! DIR/directory.toml     this configuration
//! DIR/archive-root.json  the archive's root: every audit verifies mirrors from it
//! DIR/directory.sqlite   enrolled mirrors, standing, history (store)
//! DIR/keys/              the directory's own keys (list), 0600
//! DIR/list/              the signed mirror list's repository, served under /metadata, /targets
//! DIR/root.json          the directory's root, for the publisher to vouch for
//! DIR/secret             keys enrolment challenges (enroll), 0600
//! DIR/admin-token        the bearer token of admin calls, 0600
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use rand_core::RngCore;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::audit::AuditConfig;
use crate::error::{Error, ErrorKind, Result};
use crate::machine::Policy;
use crate::round::RoundConfig;

/// `DIR/directory.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Addresses to serve on (`IP:PORT`).
    #[serde(default = "default_listen")]
    pub listen: Vec<String>,
    /// Seconds between audit rounds.
    #[serde(default = "default_interval")]
    pub interval_secs: u64,
    /// Targets downloaded and hashed per mirror per round.
    #[serde(default = "default_samples")]
    pub samples: usize,
    /// Audits in flight at once.
    #[serde(default = "default_concurrency")]
    pub concurrency: usize,
    /// Consecutive unreachable audits before a mirror is delisted as dead.
    #[serde(default = "default_dead_after")]
    pub dead_after: u32,
    /// Releases a mirror may lag behind the newest before it is degraded as stale.
    #[serde(default)]
    pub max_lag: u64,
    /// Seconds one request to a mirror may take.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    /// An audit longer than this many milliseconds counts as slow.
    #[serde(default = "default_slow_ms")]
    pub slow_ms: u64,
    /// Documents served in fewer countries than this are named on the status page and by
    /// `samizdat directory coverage`.
    #[serde(default = "default_coverage_floor_countries")]
    pub coverage_floor_countries: usize,
    /// A MaxMind-format country database (GeoLite2-Country, DB-IP country lite `.mmdb`): when
    /// given, `/r/` sends a client to a mirror in its country when one serves the file. Read
    /// once at start; a relative path is DIR's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geoip_db: Option<PathBuf>,
    /// The directory is behind a reverse proxy that appends the client's address to
    /// `X-Forwarded-For`: `/r/` takes the country of that address, not of the proxy. Off by
    /// default (a client can write the header itself).
    #[serde(default)]
    pub behind_proxy: bool,
}

fn default_listen() -> Vec<String> {
    vec!["127.0.0.1:8090".into()]
}
fn default_interval() -> u64 {
    60
}
fn default_samples() -> usize {
    3
}
fn default_concurrency() -> usize {
    32
}
fn default_dead_after() -> u32 {
    3
}
fn default_timeout() -> u64 {
    20
}
fn default_slow_ms() -> u64 {
    10_000
}
fn default_coverage_floor_countries() -> usize {
    3
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: default_listen(),
            interval_secs: default_interval(),
            samples: default_samples(),
            concurrency: default_concurrency(),
            dead_after: default_dead_after(),
            max_lag: 0,
            timeout_secs: default_timeout(),
            slow_ms: default_slow_ms(),
            coverage_floor_countries: default_coverage_floor_countries(),
            geoip_db: None,
            behind_proxy: false,
        }
    }
}

impl Config {
    pub fn path(dir: &Path) -> PathBuf {
        dir.join("directory.toml")
    }

    /// Reads `DIR/directory.toml`; the error names the file.
    pub fn load(dir: &Path) -> Result<Config> {
        let path = Self::path(dir);
        let in_file = |e: &dyn std::fmt::Display| {
            Error::new(ErrorKind::InvalidInput, format!("{}: {e}", path.display()))
        };
        let text = std::fs::read_to_string(&path).map_err(|e| {
            in_file(&format!(
                "{e} (create the directory with `samizdat directory init`)"
            ))
        })?;
        let config: Config = toml::from_str(&text).map_err(|e| in_file(&e))?;
        config.check().map_err(|e| in_file(&e))?;
        Ok(config)
    }

    /// What a typo would otherwise turn into a confusing failure later.
    pub fn check(&self) -> Result<()> {
        let invalid = |why: String| Err(Error::new(ErrorKind::InvalidInput, why));
        if self.listen.is_empty() {
            return invalid("listen: give at least one IP:PORT".into());
        }
        if let Some(bad) = self
            .listen
            .iter()
            .find(|a| a.parse::<std::net::SocketAddr>().is_err())
        {
            return invalid(format!("listen: {bad:?} is not IP:PORT"));
        }
        if self.interval_secs == 0 || self.concurrency == 0 || self.timeout_secs == 0 {
            return invalid(
                "interval_secs, concurrency and timeout_secs must be at least 1".into(),
            );
        }
        Ok(())
    }

    /// How rounds run under this configuration.
    pub fn round(&self) -> RoundConfig {
        RoundConfig {
            audit: AuditConfig {
                samples: self.samples,
                max_lag: self.max_lag,
                slow: Duration::from_millis(self.slow_ms),
            },
            policy: Policy {
                dead_after: self.dead_after,
            },
            concurrency: self.concurrency,
        }
    }

    fn save_new(&self, dir: &Path) -> Result<()> {
        let text = toml::to_string(self).map_err(|e| {
            Error::new(
                ErrorKind::State,
                format!("cannot write the configuration: {e}"),
            )
        })?;
        write_private(&Self::path(dir), text.as_bytes(), 0o644)
    }
}

/// Settings given for one run (flags, environment) over `directory.toml`'s: each replaces the
/// file's when given.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Overrides {
    /// Addresses to serve on (none: the file's).
    pub listen: Vec<String>,
    pub interval_secs: Option<u64>,
    pub samples: Option<usize>,
    pub timeout_secs: Option<u64>,
    pub geoip_db: Option<PathBuf>,
    pub behind_proxy: Option<bool>,
}

impl Overrides {
    /// `config` with what is given here in place of its own.
    pub fn apply(self, config: &mut Config) {
        if !self.listen.is_empty() {
            config.listen = self.listen;
        }
        if let Some(interval) = self.interval_secs {
            config.interval_secs = interval;
        }
        if let Some(samples) = self.samples {
            config.samples = samples;
        }
        if let Some(timeout) = self.timeout_secs {
            config.timeout_secs = timeout;
        }
        if let Some(geoip_db) = self.geoip_db {
            config.geoip_db = Some(geoip_db);
        }
        if let Some(behind_proxy) = self.behind_proxy {
            config.behind_proxy = behind_proxy;
        }
    }
}

/// What `init` made.
pub struct Made {
    /// The directory's root (`DIR/root.json`), for the publisher to vouch for.
    pub root_json: Vec<u8>,
    pub admin_token: String,
}

/// Makes a directory in `dir` (new or empty) for the archive whose `root.json` is
/// `archive_root`: keys, an empty signed list, the secret, the admin token, the configuration.
/// Leaves nothing behind when it fails.
pub fn init(dir: &Path, archive_root: &[u8], config: &Config, now: OffsetDateTime) -> Result<Made> {
    config.check()?;
    trust::verify::Envelope::parse("archive root.json", archive_root)
        .and_then(|envelope| {
            envelope.peek_typed::<trust::schema::Root>(trust::schema::RoleType::Root)
        })
        .map_err(|e| Error::new(ErrorKind::InvalidInput, format!("not a TUF root.json: {e}")))?;
    let fresh = !dir.exists();
    if !fresh
        && std::fs::read_dir(dir)
            .map_err(|e| Error::state(dir, "read", e))?
            .next()
            .is_some()
    {
        return Err(Error::new(
            ErrorKind::Exists,
            format!(
                "{}: not empty (a directory is made once, in a folder of its own)",
                dir.display()
            ),
        ));
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::state(dir, "create", e))?;
    let made = make(dir, archive_root, config, now);
    if made.is_err() {
        // Leave the folder as it was: empty, or absent.
        if let Ok(entries) = std::fs::read_dir(dir) {
            for entry in entries.flatten() {
                let path = entry.path();
                let _ = if path.is_dir() {
                    std::fs::remove_dir_all(&path)
                } else {
                    std::fs::remove_file(&path)
                };
            }
        }
        if fresh {
            let _ = std::fs::remove_dir(dir);
        }
    }
    made
}

fn make(dir: &Path, archive_root: &[u8], config: &Config, now: OffsetDateTime) -> Result<Made> {
    write_private(&dir.join("archive-root.json"), archive_root, 0o644)?;
    let root_json = crate::list::init(dir, now)?;
    let mut secret = [0u8; 32];
    rand_core::OsRng.fill_bytes(&mut secret);
    write_private(&dir.join("secret"), &secret, 0o600)?;
    let mut token = [0u8; 24];
    rand_core::OsRng.fill_bytes(&mut token);
    let admin_token = hex::encode(token);
    write_private(&dir.join("admin-token"), admin_token.as_bytes(), 0o600)?;
    config.save_new(dir)?;
    let store = crate::store::Store::open(dir)?;
    let list = crate::list::MirrorList::of(&store.mirrors()?);
    crate::list::publish(dir, &list, now)?;
    Ok(Made {
        root_json,
        admin_token,
    })
}

/// The secret that keys enrolment challenges.
pub fn secret(dir: &Path) -> Result<[u8; 32]> {
    let path = dir.join("secret");
    let bytes = std::fs::read(&path).map_err(|e| Error::state(&path, "read", e))?;
    bytes.try_into().map_err(|_| {
        Error::new(
            ErrorKind::State,
            format!("{}: not 32 bytes", path.display()),
        )
    })
}

/// The admin token.
pub fn admin_token(dir: &Path) -> Result<String> {
    let path = dir.join("admin-token");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::state(&path, "read", e))?;
    Ok(text.trim().to_owned())
}

/// Writes a new file with `mode`, durably (refused if it exists).
fn write_private(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    common::files::write_new(path, bytes, mode)
        .map_err(|e| Error::new(ErrorKind::State, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::testing::archive_root;

    #[test]
    fn init_makes_a_directory_whose_parts_are_private_and_that_loads() {
        let parent = tempfile::tempdir().expect("tempdir");
        let dir = parent.path().join("directory");
        let made = init(
            &dir,
            &archive_root(),
            &Config::default(),
            OffsetDateTime::now_utc(),
        )
        .expect("init");
        assert_eq!(made.admin_token.len(), 48);
        assert_eq!(admin_token(&dir).expect("token"), made.admin_token);
        assert_eq!(Config::load(&dir).expect("config"), Config::default());
        use std::os::unix::fs::PermissionsExt;
        for private in [
            "secret",
            "admin-token",
            "keys/root.der",
            "keys/timestamp.der",
        ] {
            let mode = std::fs::metadata(dir.join(private))
                .expect(private)
                .permissions()
                .mode();
            assert_eq!(mode & 0o077, 0, "{private}: {mode:o}");
        }
        assert!(dir.join("list/metadata/timestamp.json").exists());
        let again = init(
            &dir,
            &archive_root(),
            &Config::default(),
            OffsetDateTime::now_utc(),
        );
        assert_eq!(again.err().map(|e| e.kind()), Some(ErrorKind::Exists));
    }

    #[test]
    fn init_with_a_file_that_is_not_a_root_leaves_nothing() {
        let parent = tempfile::tempdir().expect("tempdir");
        let dir = parent.path().join("directory");
        let error = init(&dir, b"{}", &Config::default(), OffsetDateTime::now_utc())
            .err()
            .expect("refused");
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        assert!(!dir.exists());
    }

    #[test]
    fn overrides_replace_only_what_they_give() {
        let mut config = Config::default();
        Overrides::default().apply(&mut config);
        assert_eq!(config, Config::default());
        Overrides {
            listen: vec!["127.0.0.1:9".into()],
            interval_secs: Some(5),
            ..Overrides::default()
        }
        .apply(&mut config);
        assert_eq!(config.listen, ["127.0.0.1:9"]);
        assert_eq!(config.interval_secs, 5);
        assert_eq!(config.samples, Config::default().samples);
        assert_eq!(config.timeout_secs, Config::default().timeout_secs);
    }

    #[test]
    fn a_typo_in_the_configuration_is_named_with_its_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(Config::path(dir.path()), "intervall_secs = 5\n").expect("write");
        let error = Config::load(dir.path()).expect_err("typo");
        assert!(
            error.message().contains("directory.toml"),
            "{}",
            error.message()
        );
        assert!(
            error.message().contains("intervall_secs"),
            "{}",
            error.message()
        );
        std::fs::write(Config::path(dir.path()), "listen = [\"localhost\"]\n").expect("write");
        let error = Config::load(dir.path()).expect_err("bad address");
        assert!(error.message().contains("IP:PORT"), "{}", error.message());
    }
}
