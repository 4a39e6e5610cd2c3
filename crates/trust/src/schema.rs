//! The TUF 1.0 metadata documents as typed serde structs, the [`TargetName`] rule, and the
//! `expires` format python-tuf parses (`YYYY-MM-DDTHH:MM:SSZ`, no fractions).
//!
//! These structs describe what the editor writes and what the client reads *after* signatures
//! were checked on the raw JSON value: unknown fields are dropped here, but they were covered by
//! the signature. Optional fields are omitted when absent, because every byte of a bin counts.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::OffsetDateTime;

use crate::error::{Error, ErrorKind, Result};

/// The `spec_version` this crate writes.
pub const SPEC_VERSION: &str = "1.0.31";

/// A signed metadata document: `{"signatures":[...],"signed":{...}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Signed<T> {
    pub signatures: Vec<Signature>,
    pub signed: T,
}

/// One signature: key id and hex ed25519 signature over the canonical JSON of `signed`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Signature {
    pub keyid: String,
    pub sig: String,
}

/// The `_type` of a document.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RoleType {
    Root,
    Targets,
    Snapshot,
    Timestamp,
}

impl RoleType {
    /// The `_type` string.
    pub fn as_str(self) -> &'static str {
        match self {
            RoleType::Root => "root",
            RoleType::Targets => "targets",
            RoleType::Snapshot => "snapshot",
            RoleType::Timestamp => "timestamp",
        }
    }
}

/// A key object as it appears in `root.keys` or `delegations.keys`. Any key type parses; only
/// ed25519 is verified (see [`crate::keys::PublicKey::from_key`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Key {
    pub keytype: String,
    pub scheme: String,
    pub keyval: KeyVal,
}

/// `keyval` of a key object.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyVal {
    pub public: String,
}

/// The keys and threshold of a top-level role in root.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoleKeys {
    pub keyids: Vec<String>,
    pub threshold: u32,
}

/// `root.json`'s `signed`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Root {
    #[serde(rename = "_type")]
    pub role_type: RoleType,
    pub spec_version: String,
    pub version: u64,
    #[serde(with = "expires_format")]
    pub expires: OffsetDateTime,
    pub consistent_snapshot: bool,
    pub keys: BTreeMap<String, Key>,
    pub roles: BTreeMap<String, RoleKeys>,
}

/// A `targets.json` or delegated targets role's `signed`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Targets {
    #[serde(rename = "_type")]
    pub role_type: RoleType,
    pub spec_version: String,
    pub version: u64,
    #[serde(with = "expires_format")]
    pub expires: OffsetDateTime,
    pub targets: BTreeMap<String, TargetInfo>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegations: Option<Delegations>,
}

/// `snapshot.json`'s `signed`: `meta` maps `ROLE.json` to its version.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    #[serde(rename = "_type")]
    pub role_type: RoleType,
    pub spec_version: String,
    pub version: u64,
    #[serde(with = "expires_format")]
    pub expires: OffsetDateTime,
    pub meta: BTreeMap<String, MetaFile>,
}

/// `timestamp.json`'s `signed`: `meta` holds `snapshot.json` with version, length and hash.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Timestamp {
    #[serde(rename = "_type")]
    pub role_type: RoleType,
    pub spec_version: String,
    pub version: u64,
    #[serde(with = "expires_format")]
    pub expires: OffsetDateTime,
    pub meta: BTreeMap<String, MetaFile>,
}

/// The name of the snapshot entry in timestamp's `meta`.
pub const SNAPSHOT_META: &str = "snapshot.json";
/// The name of the top-level targets entry in snapshot's `meta`.
pub const TARGETS_META: &str = "targets.json";

/// A metadata file's description in snapshot or timestamp `meta`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MetaFile {
    pub version: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hashes: Option<Hashes>,
}

/// Hashes of a file. Only SHA-256 is written or checked; other algorithms a foreign repository
/// lists are ignored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Hashes {
    pub sha256: Digest,
}

/// A SHA-256 digest, serialised as 64 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest(pub [u8; 32]);

impl Digest {
    /// SHA-256 of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        use sha2::Digest as _;
        Self(sha2::Sha256::digest(bytes).into())
    }

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "Digest({})", self.to_hex())
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.to_hex())
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text.as_bytes(), &mut bytes)
            .map_err(|_| serde::de::Error::custom("sha256 must be 64 hex digits"))?;
        Ok(Digest(bytes))
    }
}

/// A target's entry in a targets role. `custom` is omitted from the JSON when `None`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TargetInfo {
    pub length: u64,
    pub hashes: Hashes,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom: Option<serde_json::Value>,
}

/// A targets role's delegations.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Delegations {
    pub keys: BTreeMap<String, Key>,
    pub roles: Vec<DelegatedRole>,
}

/// One delegation. Exactly one of `paths` and `path_hash_prefixes` is set (python-tuf insists).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DelegatedRole {
    pub name: String,
    pub keyids: Vec<String>,
    pub threshold: u32,
    pub terminating: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paths: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_hash_prefixes: Option<Vec<String>>,
}

impl DelegatedRole {
    /// Whether this delegation covers the target `name`, whose hex SHA-256 is `name_hash_hex`.
    /// `paths` patterns follow python-tuf: split on `/`, same number of parts, each part an
    /// fnmatch pattern (`*` and `?`; a `[` set never matches here).
    pub fn covers(&self, name: &str, name_hash_hex: &str) -> bool {
        if let Some(prefixes) = &self.path_hash_prefixes {
            return prefixes
                .iter()
                .any(|prefix| name_hash_hex.starts_with(prefix.as_str()));
        }
        let Some(patterns) = &self.paths else {
            return false;
        };
        patterns.iter().any(|pattern| {
            let pattern_parts: Vec<&str> = pattern.split('/').collect();
            let name_parts: Vec<&str> = name.split('/').collect();
            pattern_parts.len() == name_parts.len()
                && pattern_parts
                    .iter()
                    .zip(&name_parts)
                    .all(|(pattern_part, name_part)| {
                        glob_matches(pattern_part.as_bytes(), name_part.as_bytes())
                    })
        })
    }
}

/// fnmatch with `*` and `?`; iterative with one backtrack point, so linear-ish and bounded.
fn glob_matches(pattern: &[u8], text: &[u8]) -> bool {
    if pattern.contains(&b'[') {
        return false;
    }
    let (mut pattern_index, mut text_index) = (0usize, 0usize);
    let mut backtrack: Option<(usize, usize)> = None;
    while text_index < text.len() {
        match pattern.get(pattern_index) {
            Some(b'*') => {
                backtrack = Some((pattern_index, text_index));
                pattern_index += 1;
            }
            Some(&byte) if byte == b'?' || byte == text[text_index] => {
                pattern_index += 1;
                text_index += 1;
            }
            _ => {
                let Some((star_index, star_text_index)) = backtrack else {
                    return false;
                };
                pattern_index = star_index + 1;
                text_index = star_text_index + 1;
                backtrack = Some((star_index, star_text_index + 1));
            }
        }
    }
    pattern[pattern_index..].iter().all(|&byte| byte == b'*')
}

/// A target name as samizdat allows it: flat (no `/`), ASCII `[A-Za-z0-9._-]`, 1 to 255 bytes,
/// no `..` anywhere and not `.`. python-tuf and tough build the same download path for such a name
/// (`targets/HASH.NAME`), and no name can climb out of a folder.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TargetName(String);

impl TargetName {
    /// Longest allowed name, in bytes.
    pub const MAX_LEN: usize = 255;

    /// Checks `name` against the rule.
    pub fn new(name: impl Into<String>) -> Result<Self> {
        let name = name.into();
        let problem = if name.is_empty() {
            Some("is empty")
        } else if name.len() > Self::MAX_LEN {
            Some("is longer than 255 bytes")
        } else if name.contains('/') {
            Some("contains '/' (target names are flat)")
        } else if name.contains("..") || name == "." {
            Some("contains '..' or is '.'")
        } else if !name
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b'_' | b'-'))
        {
            Some("has a character outside [A-Za-z0-9._-]")
        } else {
            None
        };
        match problem {
            Some(problem) => Err(Error::new(
                ErrorKind::InvalidInput,
                format!("target name {name:?} {problem}"),
            )),
            None => Ok(Self(name)),
        }
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for TargetName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "TargetName({:?})", self.0)
    }
}

impl fmt::Display for TargetName {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.0)
    }
}

impl std::str::FromStr for TargetName {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self> {
        Self::new(text)
    }
}

impl Serialize for TargetName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for TargetName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        TargetName::new(text).map_err(|error| serde::de::Error::custom(error.message()))
    }
}

/// Whether a delegated role name is safe inside a file name and URL path: the same character rule
/// as [`TargetName`]. Off-spec: TUF allows any role name (python-tuf URL-quotes it); samizdat only
/// writes `bin-…`/`bins-…`, and refusing the rest keeps `..` and `/` out of every fetched path.
pub fn role_file_name_is_safe(name: &str) -> bool {
    TargetName::new(name).is_ok()
}

/// `expires` as python-tuf reads it: `%Y-%m-%dT%H:%M:%SZ`, UTC, whole seconds.
pub mod expires_format {
    use serde::{Deserialize, Deserializer, Serializer};
    use time::format_description::BorrowedFormatItem;
    use time::macros::format_description;
    use time::{OffsetDateTime, PrimitiveDateTime, UtcOffset};

    const FORMAT: &[BorrowedFormatItem<'static>] =
        format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");

    /// Formats `when` (converted to UTC, fractions dropped).
    pub fn format(when: OffsetDateTime) -> Result<String, time::error::Format> {
        let utc = when.to_offset(UtcOffset::UTC);
        let whole_seconds = utc.replace_nanosecond(0).unwrap_or(utc);
        whole_seconds.format(FORMAT)
    }

    /// Parses exactly `YYYY-MM-DDTHH:MM:SSZ`.
    pub fn parse(text: &str) -> Result<OffsetDateTime, time::error::Parse> {
        Ok(PrimitiveDateTime::parse(text, FORMAT)?.assume_utc())
    }

    pub fn serialize<S: Serializer>(
        when: &OffsetDateTime,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let text = format(*when).map_err(serde::ser::Error::custom)?;
        serializer.serialize_str(&text)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<OffsetDateTime, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        parse(&text).map_err(|error| {
            serde::de::Error::custom(format!(
                "expires {text:?} is not YYYY-MM-DDTHH:MM:SSZ: {error}"
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_names() {
        for good in ["a", "0123abcd.original.pdf", "x_y-z.json", "A.B"] {
            assert!(TargetName::new(good).is_ok(), "{good}");
        }
        let long = "a".repeat(256);
        for bad in [
            "",
            "a/b",
            "..",
            "a..b",
            ".",
            "../x",
            "a b",
            "é",
            "a\\b",
            long.as_str(),
        ] {
            let error = TargetName::new(bad).unwrap_err();
            assert_eq!(error.kind(), ErrorKind::InvalidInput, "{bad}");
        }
        assert!(serde_json::from_str::<TargetName>("\"a/b\"").is_err());
    }

    #[test]
    fn expires_round_trip_and_strictness() {
        let when = expires_format::parse("2030-01-02T03:04:05Z").unwrap();
        assert_eq!(
            expires_format::format(when).unwrap(),
            "2030-01-02T03:04:05Z"
        );
        assert!(expires_format::parse("2030-01-02T03:04:05.5Z").is_err());
        assert!(expires_format::parse("2030-01-02T03:04:05+00:00").is_err());
        let with_fraction = when + time::Duration::milliseconds(700);
        assert_eq!(
            expires_format::format(with_fraction).unwrap(),
            "2030-01-02T03:04:05Z"
        );
    }

    #[test]
    fn glob() {
        assert!(glob_matches(b"*.pdf", b"a.pdf"));
        assert!(glob_matches(b"a?c*", b"abcdef"));
        assert!(!glob_matches(b"*.pdf", b"a.json"));
        assert!(glob_matches(b"*", b""));
        assert!(!glob_matches(b"[ab]", b"a"));
    }
}
