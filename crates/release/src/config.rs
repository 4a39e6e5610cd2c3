//! `samizdat.toml`: what `init` decided (title, key files, threshold, expiries).
//! Human-editable; every field has a safe default.

use serde::{Deserialize, Serialize};
use std::path::Path;

use crate::{Error, ErrorKind};

pub const CONFIG_FILE: &str = "samizdat.toml";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub title: String,
    #[serde(default)]
    pub expiry: ExpiryDays,
    pub keys: KeyFiles,
    /// Base URLs of the mirrors readers may use (the reader site lists them and its service
    /// worker fails over to them), until a directory publishes a signed list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mirrors: Vec<String>,
    /// Directories the publisher vouches for: each release carries each one's `root.json` as a
    /// target (`_dir_<name>.root.json`) and lists them in `_directories.json`, so a reader who
    /// trusts the archive's root verifies each directory's signed mirror list.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub directories: Vec<Vouched>,
}

/// One directory the publisher vouches for (`[[directories]]` in `samizdat.toml`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Vouched {
    /// The directory's `root.json`, relative to the archive folder. Replace the file with the
    /// directory's newer root after it rotates its keys: the target keeps its name.
    pub root: String,
    /// The base URL where the directory serves its repository (`URL/metadata/…`).
    pub url: String,
    /// The directory's name in the target (`[a-z0-9-]`, at most 64). Default: the first 16 hex
    /// digits of the SHA-256 of its root role's key ids, which a rotation of its root keys
    /// changes; name it here to keep the name across rotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// Lifetimes of signed metadata, in days. The timestamp is short so that a mirror cannot freeze
/// readers on an old release; the rest is long so that a publisher who is taken down for a while
/// only needs someone holding a timestamp key to keep the archive fresh.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpiryDays {
    pub root: u32,
    pub targets: u32,
    pub snapshot: u32,
    pub timestamp: u32,
}

impl Default for ExpiryDays {
    fn default() -> Self {
        ExpiryDays {
            root: 365,
            targets: 365,
            snapshot: 365,
            timestamp: 14,
        }
    }
}

/// Key files, relative to the archive folder. A root key file may be absent (offline root):
/// its public key lives in the signed root metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyFiles {
    pub root: Vec<String>,
    pub root_threshold: u32,
    pub targets: String,
    pub snapshot: String,
    /// Several co-publishers may each hold one; any one can refresh the timestamp.
    pub timestamp: Vec<String>,
}

impl Config {
    pub fn read(archive: &Path) -> Result<Config, Error> {
        let path = archive.join(CONFIG_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!(
                    "{}: cannot read the archive's configuration: {e}",
                    path.display()
                ),
            )
        })?;
        toml::from_str(&text)
            .map_err(|e| Error::new(ErrorKind::InvalidInput, format!("{}: {e}", path.display())))
    }

    pub fn to_toml(&self) -> String {
        let body = toml::to_string_pretty(self).unwrap_or_default();
        format!(
            "# samizdat archive configuration (written by `samizdat init`).\n\
             # Key paths are relative to this folder. Expiries are in days.\n\n{body}"
        )
    }
}
