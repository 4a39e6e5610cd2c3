//! The signed mirror list: the directory's own small TUF repository, in `DIR/list/` (served as
//! `/metadata/…` and `/targets/…`), whose one target `mirrors.json` names the mirrors readers may
//! use.
//!
//! The directory has a root of its own (keys in `DIR/keys/`, made by [`init`]); its targets,
//! snapshot and timestamp keys are online, since the list changes whenever an audit changes a
//! mirror's standing. A publisher vouches for the directory by carrying its `root.json` as a
//! target of the archive, so a reader who trusts the archive's root reaches the list through
//! signatures only: archive root → directory root (an archive target) → `mirrors.json`.
//!
//! [`publish`] re-signs through the same editor as the archive's releases (consistent snapshots,
//! `timestamp.json` written last): a role is re-signed when its content changed or it nears
//! expiry, so calling it daily with an unchanged list keeps it fresh.

use std::path::{Path, PathBuf};

use serde::Serialize;
use time::{Duration, OffsetDateTime};
use trust::TargetName;
use trust::editor::{self, Expiries, RootSpec, Signers, TargetEntry};
use trust::keys::SigningKey;
use trust::schema::Digest;

use crate::error::{Error, ErrorKind, Result};
use crate::store::Mirror;

/// The list's target name.
pub const LIST_TARGET: &str = "mirrors.json";

/// How long each role of the directory's repository stays valid once signed.
const ROOT_LIFETIME: Duration = Duration::days(5 * 365);
const EXPIRIES: Expiries = Expiries {
    targets: Duration::days(30),
    snapshot: Duration::days(7),
    // Re-signed at least daily: a day of slack for a directory that is briefly down.
    timestamp: Duration::days(2),
};

const ROLES: [&str; 4] = ["root", "targets", "snapshot", "timestamp"];

/// One listed mirror, as readers see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Listed {
    pub url: String,
    pub country: String,
    pub provider: String,
    /// `active` or `degraded`.
    pub state: String,
    pub weight: u32,
    /// RFC 3339, the last audit.
    pub audited: Option<String>,
    /// The archive release it served then.
    pub release: Option<u64>,
}

/// The list's content.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct MirrorList {
    pub mirrors: Vec<Listed>,
}

impl MirrorList {
    /// The listed mirrors among `mirrors` (listed state, not disabled), by URL.
    pub fn of(mirrors: &[Mirror]) -> MirrorList {
        let mut listed: Vec<Listed> = mirrors
            .iter()
            .filter(|mirror| mirror.is_listed())
            .map(|mirror| Listed {
                url: mirror.url.clone(),
                country: mirror.country.clone(),
                provider: mirror.provider.clone(),
                state: mirror.state.as_str().to_owned(),
                weight: mirror.weight,
                audited: mirror.audited_at.and_then(rfc3339),
                release: mirror.release,
            })
            .collect();
        listed.sort_by(|a, b| a.url.cmp(&b.url));
        MirrorList { mirrors: listed }
    }

    /// The bytes of `mirrors.json` (stable: the same list gives the same bytes).
    pub fn to_json(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec_pretty(self).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }
}

fn rfc3339(unix: i64) -> Option<String> {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()?
        .format(&time::format_description::well_known::Rfc3339)
        .ok()
}

/// The repository's folder in the directory's folder `dir`.
pub fn repository(dir: &Path) -> PathBuf {
    dir.join("list")
}

fn key_path(dir: &Path, role: &str) -> PathBuf {
    dir.join("keys").join(format!("{role}.der"))
}

/// Makes the directory's keys and signs version 1 of its root (valid five years) at `now`.
/// Refuses a folder that has keys already: a directory's root is its identity.
pub fn init(dir: &Path, now: OffsetDateTime) -> Result<Vec<u8>> {
    let keys_dir = dir.join("keys");
    if keys_dir.exists() {
        return Err(Error::new(
            ErrorKind::Exists,
            format!(
                "{}: has keys already (a directory is made once)",
                keys_dir.display()
            ),
        ));
    }
    let io = |path: &Path, e: std::io::Error| Error::state(path, "create", e);
    std::fs::create_dir_all(&keys_dir).map_err(|e| io(&keys_dir, e))?;
    let keys = ROLES.map(|_| SigningKey::generate());
    for (role, key) in ROLES.iter().zip(&keys) {
        let path = key_path(dir, role);
        key.write_new(&path)
            .map_err(|e| Error::state(&path, "write", e))?;
    }
    let [root, targets, snapshot, timestamp] = &keys;
    let spec = RootSpec {
        root_keys: vec![root.public()],
        root_threshold: 1,
        targets_keys: vec![targets.public()],
        snapshot_keys: vec![snapshot.public()],
        timestamp_keys: vec![timestamp.public()],
        timestamp_threshold: 1,
    };
    let root_json = editor::sign_root(&spec, 1, now + ROOT_LIFETIME, &[root])
        .map_err(|e| Error::new(ErrorKind::State, format!("cannot sign the root: {e}")))?;
    let repo = repository(dir);
    for folder in [repo.join("metadata"), repo.join("targets")] {
        std::fs::create_dir_all(&folder).map_err(|e| io(&folder, e))?;
    }
    let root_path = repo.join("metadata/1.root.json");
    write_durably(&root_path, &root_json)?;
    let copy = dir.join("root.json");
    write_durably(&copy, &root_json)?;
    Ok(root_json)
}

/// Signs `list` as the repository's `mirrors.json` at `now` and commits it (`timestamp.json`
/// last). Returns the list's release (snapshot version). Targets of lists older than the
/// previous one are removed: a reader between the two still finds what it was sent to.
pub fn publish(dir: &Path, list: &MirrorList, now: OffsetDateTime) -> Result<u64> {
    let read = |role: &str| {
        let path = key_path(dir, role);
        SigningKey::read(&path).map_err(|e| Error::state(&path, "read", e))
    };
    let (targets_key, snapshot_key, timestamp_key) =
        (read("targets")?, read("snapshot")?, read("timestamp")?);
    let repo = repository(dir);
    let bytes = list.to_json();
    let sha256 = Digest::of(&bytes);
    let file = repo
        .join("targets")
        .join(format!("{}.{LIST_TARGET}", sha256.to_hex()));
    if !file.exists() {
        write_durably(&file, &bytes)?;
    }
    let entry = TargetEntry {
        name: TargetName::new(LIST_TARGET)
            .map_err(|e| Error::new(ErrorKind::InvalidInput, e.to_string()))?,
        length: bytes.len() as u64,
        sha256: sha256.0,
        custom: None,
    };
    let signers = Signers {
        targets: &targets_key,
        snapshot: &snapshot_key,
        timestamp: &timestamp_key,
    };
    let metadata = repo.join("metadata");
    let sign = |e: trust::Error| Error::state(&metadata, "sign the mirror list", e);
    let root_version = newest_root_version(&metadata)?;
    let files = editor::build_release(
        &metadata,
        root_version,
        vec![entry],
        &signers,
        &EXPIRIES,
        now,
    )
    .map_err(sign)?;
    files.write_to(&metadata).map_err(sign)?;
    Ok(files.snapshot_version)
}

/// The highest `N` of the `N.root.json` files in `metadata`.
fn newest_root_version(metadata: &Path) -> Result<u64> {
    let entries = std::fs::read_dir(metadata).map_err(|e| Error::state(metadata, "read", e))?;
    entries
        .filter_map(|entry| {
            let name = entry.ok()?.file_name().into_string().ok()?;
            name.strip_suffix(".root.json")?.parse::<u64>().ok()
        })
        .max()
        .ok_or_else(|| {
            Error::new(
                ErrorKind::State,
                format!(
                    "{}: no root (run `samizdat directory init`)",
                    metadata.display()
                ),
            )
        })
}

/// Replaces a file durably (temporary file, fsync, rename, folder fsync).
fn write_durably(path: &Path, bytes: &[u8]) -> Result<()> {
    common::files::write_atomic(path, bytes, common::files::Durability::Fsync)
        .map_err(|e| Error::new(ErrorKind::State, e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::State;
    use trust::client::{Client, DirTransport, Options};

    fn mirror(url: &str, state: State, disabled: bool) -> Mirror {
        Mirror {
            id: 1,
            url: url.to_owned(),
            country: "FR".to_owned(),
            provider: "OVH".to_owned(),
            contact: String::new(),
            state,
            reason: String::new(),
            failures: 0,
            weight: 100,
            disabled,
            enrolled_at: 0,
            audited_at: Some(86_400),
            release: Some(4),
            latency_ms: Some(12),
            blocks_log: None,
        }
    }

    #[test]
    fn only_active_and_degraded_mirrors_not_disabled_are_listed_sorted_by_url() {
        let list = MirrorList::of(&[
            mirror("http://b/", State::Active, false),
            mirror("http://a/", State::Degraded, false),
            mirror("http://c/", State::Pending, false),
            mirror("http://d/", State::Delisted, false),
            mirror("http://e/", State::Active, true),
        ]);
        let urls: Vec<&str> = list.mirrors.iter().map(|m| m.url.as_str()).collect();
        assert_eq!(urls, ["http://a/", "http://b/"]);
        assert_eq!(
            list.mirrors[1].audited.as_deref(),
            Some("1970-01-02T00:00:00Z")
        );
    }

    #[test]
    fn a_published_list_verifies_from_the_directory_root_and_a_new_one_supersedes_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let now = OffsetDateTime::now_utc();
        let root = init(dir.path(), now).expect("init");
        let first = MirrorList::of(&[mirror("http://a/", State::Active, false)]);
        let v1 = publish(dir.path(), &first, now).expect("publish");
        let second = MirrorList::of(&[
            mirror("http://a/", State::Active, false),
            mirror("http://b/", State::Active, false),
        ]);
        let v2 = publish(dir.path(), &second, now).expect("publish again");
        assert!(v2 > v1, "{v2} > {v1}");
        let transport = DirTransport::new(repository(dir.path()));
        let mut client = Client::load(&root, transport, Options::new(now)).expect("verifies");
        let name = TargetName::new(LIST_TARGET).expect("name");
        let bytes = client.fetch_target(&name).expect("the list");
        assert_eq!(bytes, second.to_json());
        assert_eq!(
            std::fs::read(dir.path().join("root.json")).expect("root copy"),
            root
        );
    }

    #[test]
    fn init_twice_is_refused_and_keeps_the_first_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        let now = OffsetDateTime::now_utc();
        init(dir.path(), now).expect("init");
        let before = std::fs::read(dir.path().join("keys/root.der")).expect("key");
        let again = init(dir.path(), now).expect_err("second init");
        assert_eq!(again.kind(), ErrorKind::Exists);
        assert_eq!(
            std::fs::read(dir.path().join("keys/root.der")).expect("key"),
            before
        );
    }
}
