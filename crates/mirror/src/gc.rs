//! Old releases: when each release became the one served (`DIR/releases.json`), and their
//! collection once a grace period has passed since they were replaced (readers and peers that
//! started on a release just before a switch can still finish on it).
//!
//! Also the mirror folder's lock: one sync or collection at a time.

use std::collections::HashSet;
use std::fs;
use std::path::Path;

use common::files::{FolderLock, LockError, lock_folder};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use trust::schema::{Signed, Snapshot, Targets};

use crate::error::{Error, ErrorKind, Result};

/// The mirror folder's lock (`DIR/lock`, `flock`, [`common::files::lock_folder`]): released
/// when dropped, or when the process dies, so a killed sync never leaves the folder locked.
pub type Lock = FolderLock;

pub fn lock(dir: &Path) -> Result<Lock> {
    fs::create_dir_all(dir).map_err(|e| Error::cannot("create", dir, e))?;
    let path = dir.join("lock");
    lock_folder(&path).map_err(|e| match e {
        LockError::Held => Error::new(
            ErrorKind::Locked,
            format!(
                "{}: another sync of this mirror is running (it holds {})",
                dir.display(),
                path.display()
            ),
        ),
        LockError::Io(e) => Error::io(&path, e),
    })
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
struct History {
    releases: Vec<Entry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct Entry {
    version: u64,
    /// Unix time it became the release served.
    since: i64,
}

fn history_path(dir: &Path) -> std::path::PathBuf {
    dir.join("releases.json")
}

fn read_history(dir: &Path) -> Result<History> {
    let path = history_path(dir);
    match fs::read(&path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| Error::io(&path, e)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(History::default()),
        Err(e) => Err(Error::io(&path, e)),
    }
}

fn write_history(dir: &Path, history: &History) -> Result<()> {
    let path = history_path(dir);
    let bytes = serde_json::to_vec_pretty(history).map_err(|e| Error::io(&path, e))?;
    crate::files::write_atomic(&dir.join("tmp"), &path, &bytes)
}

/// Notes that `version` is served from `now` on (called by a sync after its commit).
pub(crate) fn record(dir: &Path, version: u64, now: OffsetDateTime) -> Result<()> {
    let mut history = read_history(dir)?;
    if history.releases.last().map(|e| e.version) == Some(version) {
        return Ok(());
    }
    history.releases.push(Entry {
        version,
        since: now.unix_timestamp(),
    });
    write_history(dir, &history)
}

/// What a collection removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Collected {
    pub releases: Vec<u64>,
    pub files: usize,
    pub bytes: u64,
}

/// Removes the files of every release replaced more than `grace_seconds` ago that no release
/// still kept refers to, and leftovers of killed syncs in `tmp/`. A release that showed a
/// document the committed release hides (withdrawn since) is collected at once, grace or not:
/// gone means gone (the server stopped serving its files at the switch; this frees the disk
/// and any copy made from the folder). Root metadata is never removed (a client walking root
/// versions needs each). Does nothing unless a release is due.
pub fn collect(dir: &Path, grace_seconds: u64, now: OffsetDateTime) -> Result<Collected> {
    let _lock = lock(dir)?;
    let mut history = read_history(dir)?;
    let cutoff = now.unix_timestamp() - grace_seconds as i64;
    let metadata_dir = dir.join("release/metadata");
    let targets_dir = dir.join("release/targets");
    let committed = crate::files::committed_snapshot(&metadata_dir)?;
    // A release is due once the one after it has been served for the grace period.
    let mut due: Vec<u64> = history
        .releases
        .windows(2)
        .filter(|pair| pair[1].since <= cutoff)
        .map(|pair| pair[0].version)
        .collect();
    if let Some(committed) = committed {
        let hidden_now = hidden(&metadata_dir, &targets_dir, committed)?;
        if !hidden_now.is_empty() {
            for entry in &history.releases {
                let v = entry.version;
                if v < committed
                    && !due.contains(&v)
                    && !hidden(&metadata_dir, &targets_dir, v)
                        .is_ok_and(|then| hidden_now.is_subset(&then))
                {
                    due.push(v);
                }
            }
        }
    }
    let mut collected = Collected::default();
    clear_tmp(dir)?;
    if due.is_empty() {
        return Ok(collected);
    }
    let kept: Vec<u64> = history
        .releases
        .iter()
        .map(|e| e.version)
        .filter(|v| !due.contains(v))
        .collect();
    let mut keep_metadata = HashSet::new();
    let mut keep_targets = HashSet::new();
    for version in &kept {
        release_files(
            &metadata_dir,
            *version,
            &mut keep_metadata,
            &mut keep_targets,
        )?;
    }
    // The timestamp's snapshot too, whatever the history says.
    if let Some(version) = committed {
        release_files(
            &metadata_dir,
            version,
            &mut keep_metadata,
            &mut keep_targets,
        )?;
    }
    for (folder, keep) in [
        (&targets_dir, &keep_targets),
        (&metadata_dir, &keep_metadata),
    ] {
        let entries = fs::read_dir(folder).map_err(|e| Error::io(folder, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(folder, e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_root = name.ends_with(".root.json") || name == "root.json";
            if keep.contains(&name) || is_root || name == "timestamp.json" {
                continue;
            }
            let len = entry.metadata().map(|m| m.len()).unwrap_or(0);
            fs::remove_file(entry.path()).map_err(|e| Error::cannot("remove", &entry.path(), e))?;
            collected.files += 1;
            collected.bytes += len;
        }
    }
    // Gzipped copies (made by the server) of files no longer there.
    for sub in ["targets", "metadata"] {
        let gz_dir = dir.join("cache/gz").join(sub);
        let Ok(entries) = fs::read_dir(&gz_dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let source = name
                .strip_suffix(".gz")
                .map(|n| dir.join("release").join(sub).join(n));
            if !source.is_some_and(|s| s.exists()) {
                let _ = fs::remove_file(entry.path());
            }
        }
    }
    history.releases.retain(|e| !due.contains(&e.version));
    write_history(dir, &history)?;
    collected.releases = due;
    Ok(collected)
}

/// The documents release `version` withdrew (its tombstone list), from the mirror's own
/// metadata; empty when the release has none. Reads one bin in the usual case: the bin whose
/// range the list's name hash falls in is tried first, the others only if it is not there;
/// one at a time, so memory stays one bin's.
fn hidden(metadata_dir: &Path, targets_dir: &Path, version: u64) -> Result<HashSet<String>> {
    let path = metadata_dir.join(format!("{version}.snapshot.json"));
    let bytes = fs::read(&path).map_err(|e| Error::io(&path, e))?;
    let snapshot: Signed<Snapshot> =
        serde_json::from_slice(&bytes).map_err(|e| Error::io(&path, e))?;
    let name = common::layout::WITHDRAWN_TARGET;
    let hash = trust::schema::Digest::of(name.as_bytes()).to_hex();
    // Hashed bins are named by the first hash prefix of their range (`bin-d68` holds d68 to
    // d6f): the likeliest is the greatest name not above the hash, the longest first.
    let covers = |role: &str| -> (usize, String) {
        let prefix = role
            .strip_suffix(".json")
            .and_then(|r| r.rsplit('-').next())
            .unwrap_or("");
        let hex = prefix.bytes().all(|b| b.is_ascii_hexdigit());
        if !prefix.is_empty()
            && hex
            && prefix.len() <= hash.len()
            && prefix <= &hash[..prefix.len()]
        {
            (prefix.len(), prefix.to_owned())
        } else {
            (0, String::new())
        }
    };
    let mut roles: Vec<(&String, u64)> = snapshot
        .signed
        .meta
        .iter()
        .map(|(role, meta)| (role, meta.version))
        .collect();
    roles.sort_by_key(|(role, _)| std::cmp::Reverse(covers(role)));
    let mut file = None;
    for (role, role_version) in roles {
        let path = metadata_dir.join(format!("{role_version}.{role}"));
        let bytes = fs::read(&path).map_err(|e| Error::io(&path, e))?;
        let role: Signed<Targets> =
            serde_json::from_slice(&bytes).map_err(|e| Error::io(&path, e))?;
        if let Some((target, info)) = role.signed.targets.iter().find(|(n, _)| n.as_str() == name) {
            file = Some(trust::client::target_file_name(target, info));
            break;
        }
    }
    let Some(file) = file else {
        return Ok(HashSet::new());
    };
    let path = targets_dir.join(file);
    let bytes = fs::read(&path).map_err(|e| Error::io(&path, e))?;
    #[derive(Deserialize)]
    struct Tombstones {
        withdrawn: Vec<Tombstone>,
    }
    #[derive(Deserialize)]
    struct Tombstone {
        id: String,
    }
    let list: Tombstones = serde_json::from_slice(&bytes).map_err(|e| Error::io(&path, e))?;
    Ok(list.withdrawn.into_iter().map(|t| t.id).collect())
}

/// Removes what killed syncs left in `tmp/` (nothing is written there but by a sync, which
/// holds the lock we hold).
fn clear_tmp(dir: &Path) -> Result<()> {
    let tmp = dir.join("tmp");
    let Ok(entries) = fs::read_dir(&tmp) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let _ = fs::remove_file(entry.path());
    }
    Ok(())
}

/// Adds the metadata and target files of release `version` (the snapshot's version) to the sets.
/// Reads the mirror's own metadata, which verified before it was written.
fn release_files(
    metadata_dir: &Path,
    version: u64,
    metadata: &mut HashSet<String>,
    targets: &mut HashSet<String>,
) -> Result<()> {
    let snapshot_name = format!("{version}.snapshot.json");
    let path = metadata_dir.join(&snapshot_name);
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        // Never fully synced (or collected already): nothing of it to keep.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(Error::io(&path, e)),
    };
    let snapshot: Signed<Snapshot> =
        serde_json::from_slice(&bytes).map_err(|e| Error::io(&path, e))?;
    metadata.insert(snapshot_name);
    for (role_file, meta) in &snapshot.signed.meta {
        let name = format!("{}.{role_file}", meta.version);
        let path = metadata_dir.join(&name);
        let bytes = fs::read(&path).map_err(|e| Error::io(&path, e))?;
        let role: Signed<Targets> =
            serde_json::from_slice(&bytes).map_err(|e| Error::io(&path, e))?;
        for (target, info) in &role.signed.targets {
            targets.insert(trust::client::target_file_name(target, info));
        }
        metadata.insert(name);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_is_refused_with_a_kind_of_its_own_until_the_first_is_dropped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let first = lock(dir.path()).expect("first lock");
        let Err(error) = lock(dir.path()) else {
            panic!("a second lock was taken");
        };
        assert_eq!(error.kind(), ErrorKind::Locked);
        assert!(
            error
                .message()
                .contains("another sync of this mirror is running"),
            "{error}"
        );
        drop(first);
        lock(dir.path()).expect("lock again");
    }
}
