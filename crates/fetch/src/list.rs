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
