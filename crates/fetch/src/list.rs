//! The signed mirror lists of the directories the publisher vouches for, verified end to end:
//! the archive's metadata from the archive's root, the index `_directories.json` and each
//! directory's `root.json` as targets of the archive, then the directory's own repository from
//! that root (the TUF client again, over the directory's URL) and its target `mirrors.json`.
//! No key but the archive's root is pinned.
//!
//! A reader that keeps state ([`Remembered`]) hands back what it trusted of each directory the
//! last time (its timestamp and snapshot): an older list served after a newer one was seen is
//! then refused as a rollback.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use trust::TargetName;
use trust::client::{Client, Freshness, Options, Transport, TrustedState};
use trust::{Error, ErrorKind};

/// The directory list's target in a directory's repository.
pub const LIST_TARGET: &str = "mirrors.json";

/// Cap on `mirrors.json`'s length when the signed metadata gives none (it always does).
const MAX_INDEX_LEN: usize = 1 << 20;

/// One directory the archive vouches for (an entry of `_directories.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Directory {
    pub name: String,
    pub url: String,
    pub root_target: String,
}

#[derive(Deserialize)]
struct Index {
    directories: Vec<Directory>,
}

/// One mirror of a verified list (the fields readers use; others are ignored).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ListedMirror {
    pub url: String,
    #[serde(default)]
    pub country: String,
    #[serde(default)]
    pub provider: String,
    #[serde(default)]
    pub state: String,
    #[serde(default)]
    pub release: Option<u64>,
}

#[derive(Deserialize)]
struct ListFile {
    mirrors: Vec<ListedMirror>,
}

/// What a reader trusted of one directory the last time, to refuse rollbacks.
#[derive(Debug, Clone, Default)]
pub struct Remembered {
    pub timestamp: Option<Vec<u8>>,
    pub snapshot: Option<Vec<u8>>,
}

/// One directory's verified list.
#[derive(Debug)]
pub struct VerifiedList {
    pub directory: Directory,
    /// The list's release (snapshot version) in the directory's repository.
    pub version: u64,
    pub mirrors: Vec<ListedMirror>,
    /// What to remember for the next check (the timestamp and snapshot trusted).
    pub remember: Remembered,
}

/// The lists of every directory the archive vouches for (or only `only`, by name).
#[derive(Debug)]
pub struct ListReport {
    /// The archive's verified snapshot version and its freshness.
    pub archive_version: u64,
    pub archive_freshness: Freshness,
    pub lists: Vec<VerifiedList>,
    /// The directories whose list could not be had or did not verify, and why: one directory
    /// that is down or forged hides none of the others.
    pub failed: Vec<(Directory, Error)>,
}

/// Verifies the archive behind `archive` from `archive_root`, then the list of each vouched
/// directory (`only`: the one of that name) over `connect(url)`. `remembered(name)` gives what
/// was trusted of a directory before. An expired archive is reported in the freshness; a
/// directory whose list is expired, not signed by its keys, or older than remembered is in
/// [`ListReport::failed`] with the error (its kind says which: [`ErrorKind::Expired`],
/// [`ErrorKind::BadSignature`] or [`ErrorKind::ThresholdNotMet`], [`ErrorKind::Rollback`]).
/// An archive that does not verify, or vouches for no directory (of that name), is an error.
pub fn verify_lists<A, D>(
    archive_root: &[u8],
    archive: A,
    connect: impl Fn(&str) -> D,
    remembered: impl Fn(&str) -> Remembered,
    only: Option<&str>,
    now: OffsetDateTime,
) -> Result<ListReport, Error>
where
    A: Transport,
    D: Transport,
{
    let options = Options {
        allow_expired: true,
        ..Options::new(now)
    };
    let mut client = Client::load(archive_root, archive, options)?;
    let index_name = TargetName::new(common::layout::DIRECTORIES_TARGET)?;
    let index = match client.fetch_target(&index_name) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "the archive vouches for no directory (no {} target): {e}",
                    common::layout::DIRECTORIES_TARGET
                ),
            ));
        }
        Err(e) => return Err(e),
    };
    if index.len() > MAX_INDEX_LEN {
        return Err(Error::new(
            ErrorKind::TooLarge,
            format!("{}: too large", common::layout::DIRECTORIES_TARGET),
        ));
    }
    let index: Index = serde_json::from_slice(&index).map_err(|e| {
        Error::new(
            ErrorKind::Malformed,
            format!("{}: {e}", common::layout::DIRECTORIES_TARGET),
        )
    })?;
    let chosen: Vec<Directory> = index
        .directories
        .into_iter()
        .filter(|d| only.is_none_or(|name| d.name == name))
        .collect();
    if chosen.is_empty() {
        return Err(Error::new(
            ErrorKind::NotFound,
            match only {
                Some(name) => format!("the archive vouches for no directory named {name:?}"),
                None => "the archive's directory index lists no directory".to_owned(),
            },
        ));
    }
    let mut lists = Vec::new();
    let mut failed = Vec::new();
    for directory in chosen {
        let checked = (|| {
            if common::layout::directory_of_target(&directory.root_target)
                != Some(directory.name.as_str())
            {
                return Err(Error::new(
                    ErrorKind::Malformed,
                    format!(
                        "root target {:?} is not this directory's",
                        directory.root_target
                    ),
                ));
            }
            let vouched_root = client.fetch_target(&TargetName::new(&directory.root_target)?)?;
            let before = remembered(&directory.name);
            verify_list(&vouched_root, before, connect(&directory.url), now)
        })();
        match checked {
            Ok((version, mirrors, remember)) => lists.push(VerifiedList {
                directory,
                version,
                mirrors,
                remember,
            }),
            Err(e) => failed.push((directory, e)),
        }
    }
    Ok(ListReport {
        archive_version: client.version(),
        archive_freshness: client.freshness().clone(),
        lists,
        failed,
    })
}

/// One directory's list from its vouched root (a rotation of the directory's root is walked
/// forward from it by the client), with what was trusted before to refuse a rollback.
fn verify_list<D: Transport>(
    vouched_root: &[u8],
    before: Remembered,
    transport: D,
    now: OffsetDateTime,
) -> Result<(u64, Vec<ListedMirror>, Remembered), Error> {
    let state = TrustedState {
        timestamp: before.timestamp,
        snapshot: before.snapshot,
    };
    let mut client =
        Client::load_with_trusted_state(vouched_root, transport, Options::new(now), state)?;
    let bytes = client.fetch_target(&TargetName::new(LIST_TARGET)?)?;
    let list: ListFile = serde_json::from_slice(&bytes)
        .map_err(|e| Error::new(ErrorKind::Malformed, format!("{LIST_TARGET}: {e}")))?;
    let state = client.trusted_state();
    Ok((
        client.version(),
        list.mirrors,
        Remembered {
            timestamp: state.timestamp,
            snapshot: state.snapshot,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;
    use trust::client::DirTransport;
    use trust::editor::{self, Expiries, RootSpec, Signers, TargetEntry};
    use trust::keys::SigningKey;
    use trust::schema::Digest;

    /// A one-key TUF repository in `dir` with `targets` (name, bytes), signed at `now`; its root.
    fn repository(
        dir: &Path,
        key: &SigningKey,
        targets: &[(&str, &[u8])],
        now: OffsetDateTime,
    ) -> Vec<u8> {
        let spec = RootSpec::one_key(key.public());
        let metadata = dir.join("metadata");
        std::fs::create_dir_all(&metadata).expect("mkdir");
        std::fs::create_dir_all(dir.join("targets")).expect("mkdir");
        let root_path = metadata.join("1.root.json");
        let root = match std::fs::read(&root_path) {
            Ok(root) => root,
            Err(_) => {
                let root = editor::sign_root(&spec, 1, now + time::Duration::days(30), &[key])
                    .expect("root");
                std::fs::write(&root_path, &root).expect("write");
                root
            }
        };
        let entries = targets
            .iter()
            .map(|(name, bytes)| {
                let sha = Digest::of(bytes);
                std::fs::write(
                    dir.join("targets").join(format!("{}.{name}", sha.to_hex())),
                    bytes,
                )
                .expect("write");
                TargetEntry {
                    name: TargetName::new(*name).expect("name"),
                    length: bytes.len() as u64,
                    sha256: sha.0,
                    custom: None,
                }
            })
            .collect();
        let signers = Signers {
            targets: key,
            snapshot: key,
            timestamp: key,
        };
        let expiries = Expiries {
            targets: time::Duration::days(10),
            snapshot: time::Duration::days(10),
            timestamp: time::Duration::days(2),
        };
        editor::build_release(&metadata, 1, entries, &signers, &expiries, now)
            .expect("sign")
            .write_to(&metadata)
            .expect("write");
        root
    }

    const LIST: &[u8] = br#"{"mirrors":[{"url":"http://m1.example/","country":"DE","provider":"p","state":"active"}]}"#;

    #[test]
    fn a_vouched_list_verifies_and_a_stranger_or_an_old_one_does_not() {
        let tmp = tempfile::tempdir().expect("tmp");
        let now = OffsetDateTime::now_utc();
        let (archive_key, dir_key, other_key) = (
            SigningKey::generate(),
            SigningKey::generate(),
            SigningKey::generate(),
        );
        let dir = tmp.path().join("dir");
        let dir_root = repository(&dir, &dir_key, &[(LIST_TARGET, LIST)], now);
        let index = br#"{"directories":[{"name":"main","url":"http://d.example/","root_target":"_dir_main.root.json"}]}"#;
        let archive = tmp.path().join("archive");
        let archive_root = repository(
            &archive,
            &archive_key,
            &[
                ("_directories.json", index),
                ("_dir_main.root.json", &dir_root),
            ],
            now,
        );
        let check = |only: Option<&str>, before: Remembered| {
            verify_lists(
                &archive_root,
                DirTransport::new(&archive),
                |url| {
                    assert_eq!(url, "http://d.example/");
                    DirTransport::new(&dir)
                },
                |_| before.clone(),
                only,
                now,
            )
        };
        let report = check(None, Remembered::default()).expect("verifies");
        assert!(report.failed.is_empty(), "{:?}", report.failed);
        assert_eq!(report.lists[0].mirrors[0].url, "http://m1.example/");
        let seen = report.lists[0].remember.clone();
        let e = check(Some("other"), Remembered::default()).expect_err("no such directory");
        assert_eq!(e.kind(), ErrorKind::NotFound);

        // A newer list seen, then the older one again: a rollback.
        let old = tmp.path().join("old");
        std::fs::rename(&dir, &old).expect("mv");
        std::fs::create_dir_all(dir.join("metadata")).expect("mkdir");
        for sub in ["metadata", "targets"] {
            for entry in std::fs::read_dir(old.join(sub)).expect("read") {
                let entry = entry.expect("entry");
                std::fs::create_dir_all(dir.join(sub)).expect("mkdir");
                std::fs::copy(entry.path(), dir.join(sub).join(entry.file_name())).expect("cp");
            }
        }
        repository(&dir, &dir_key, &[(LIST_TARGET, b"{\"mirrors\":[]}")], now);
        let newer = check(None, seen).expect("verifies");
        assert!(newer.failed.is_empty() && newer.lists[0].mirrors.is_empty());
        let seen = newer.lists[0].remember.clone();
        std::fs::remove_dir_all(&dir).expect("rm");
        std::fs::rename(&old, &dir).expect("mv back");
        let report = check(None, seen).expect("the archive verifies");
        assert_eq!(
            report.failed[0].1.kind(),
            ErrorKind::Rollback,
            "{:?}",
            report.failed
        );

        // Another directory's repository at the URL.
        std::fs::remove_dir_all(&dir).expect("rm");
        repository(&dir, &other_key, &[(LIST_TARGET, LIST)], now);
        let report = check(None, Remembered::default()).expect("the archive verifies");
        assert!(report.lists.is_empty());
        let kind = report.failed[0].1.kind();
        assert!(
            matches!(kind, ErrorKind::BadSignature | ErrorKind::ThresholdNotMet),
            "{:?}",
            report.failed
        );
    }
}
