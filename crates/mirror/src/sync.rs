//! A mirror's sync (the first slice of issue 3): one peer, the TUF client workflow from the
//! mirror's trusted `root.json`, every file checked before it is stored, metadata last.
//!
//! Layout of a mirror folder:
//!
//! ```text
//! DIR/root.json           the root the operator trusts (from the publisher)
//! DIR/release/targets/    SHA256.NAME files, each stored only after its length and hash checked
//! DIR/release/metadata/   the verified metadata; timestamp.json replaced last (the commit point)
//! DIR/tmp/                files being written (renamed into place when complete)
//! ```
//!
//! Killed at any moment, the mirror still holds its last complete release: targets of the new one
//! land under new names, versioned metadata under new names, and `timestamp.json` is replaced only
//! once everything it refers to is durable. The next sync keeps what it already has.
//!
//! Invariant: nothing from a peer is written under `release/` before it verified.

use std::cell::RefCell;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use time::OffsetDateTime;
use trust::client::{Client, FetchError, Options, Transport, TrustedState};

/// What a sync did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncReport {
    /// The release (snapshot version) now served.
    pub version: u64,
    pub targets: usize,
    pub targets_fetched: usize,
    pub bytes_fetched: u64,
    pub metadata_files: usize,
    /// The peer the release's metadata came from.
    pub source: String,
    /// Peers dropped this round, with why (a lie, an older release, unreachable...).
    pub dropped: Vec<(String, String)>,
}

/// Records the metadata files a client fetched (all verified by the time the client is done).
struct Recorder<T> {
    peer: T,
    metadata: RefCell<Vec<(String, Vec<u8>)>>,
}

impl<T: Transport> Transport for Recorder<T> {
    fn fetch(&self, path: &str, max_len: u64) -> Result<Vec<u8>, FetchError> {
        let bytes = self.peer.fetch(path, max_len)?;
        if path.starts_with("metadata/") {
            self.metadata
                .borrow_mut()
                .push((path.to_owned(), bytes.clone()));
        }
        Ok(bytes)
    }
    fn describe(&self) -> String {
        self.peer.describe()
    }
}

/// Brings the mirror in `dir` to the newest release its peers serve that verifies against
/// `dir/root.json`, refusing anything older than what the mirror already trusts. None is special: each is asked for its release; the newest that
/// verifies wins, and each missing target is fetched from that peer or, if it fails or lies,
/// from the others (checked against the verified length and hash either way). A peer whose
/// metadata does not verify, or is older than what the mirror trusts, is dropped for this round
/// and named in [`SyncReport::dropped`].
pub fn sync_from<T: Transport>(
    dir: &Path,
    peers: Vec<T>,
    now: OffsetDateTime,
) -> Result<SyncReport, String> {
    let root_path = dir.join("root.json");
    let root = fs::read(&root_path).map_err(|e| format!("{}: {e}", root_path.display()))?;
    let metadata_dir = dir.join("release/metadata");
    let targets_dir = dir.join("release/targets");
    let tmp_dir = dir.join("tmp");
    for d in [&metadata_dir, &targets_dir, &tmp_dir] {
        fs::create_dir_all(d).map_err(|e| format!("{}: cannot create: {e}", d.display()))?;
    }
    let state = trusted_state(&metadata_dir)?;

    // Every peer's timestamp, snapshot and top-level targets, verified; only the newest
    // release's bins are walked (the next peer's if that fails), not every peer's.
    let mut dropped = Vec::new();
    let mut candidates = Vec::new();
    for peer in peers {
        let recorder = Recorder {
            peer,
            metadata: RefCell::new(Vec::new()),
        };
        let source = recorder.describe();
        match Client::load_with_trusted_state(&root, recorder, Options::new(now), state.clone()) {
            Ok(client) => candidates.push(client),
            Err(e) => dropped.push((source, e.to_string())),
        }
    }
    candidates.sort_by_key(|client| std::cmp::Reverse(client.version()));
    let mut chosen = None;
    while !candidates.is_empty() {
        let mut client = candidates.remove(0);
        match client.all_targets() {
            Ok(targets) => {
                chosen = Some((client, targets));
                break;
            }
            Err(e) => dropped.push((client.transport().describe(), e.to_string())),
        }
    }
    let Some((mut client, targets)) = chosen else {
        return Err(describe_dropped(
            "no peer has a release that verifies",
            &dropped,
        ));
    };
    let others = candidates;
    let source = client.transport().describe();
    for other in &others {
        if other.version() < client.version() {
            dropped.push((
                other.transport().describe(),
                format!(
                    "serves release {}, older than {}",
                    other.version(),
                    client.version()
                ),
            ));
        }
    }

    let mut report = SyncReport {
        version: client.version(),
        targets: targets.len(),
        targets_fetched: 0,
        bytes_fetched: 0,
        metadata_files: 0,
        source: source.clone(),
        dropped: Vec::new(),
    };
    // After its first failure the chosen peer is not asked again this round: a peer that stalls
    // would otherwise cost a time-out per file.
    let mut primary_ok = true;
    for (name, info) in &targets {
        let sha_hex = info.hashes.sha256.to_hex();
        let file = targets_dir.join(format!("{sha_hex}.{name}"));
        if file.exists() {
            continue;
        }
        let mut first_error = None;
        if primary_ok {
            match client.fetch_target(name) {
                Ok(bytes) => {
                    write_into(&tmp_dir, &file, &bytes)?;
                    report.targets_fetched += 1;
                    report.bytes_fetched += bytes.len() as u64;
                    continue;
                }
                Err(e) => {
                    primary_ok = false;
                    dropped.push((source.clone(), e.to_string()));
                    first_error = Some(e.to_string());
                }
            }
        }
        let path = format!("targets/{sha_hex}.{name}");
        let found = others.iter().find_map(|other| {
            let bytes = other.transport().peer.fetch(&path, info.length).ok()?;
            (bytes.len() as u64 == info.length
                && trust::schema::Digest::of(&bytes) == info.hashes.sha256)
                .then_some(bytes)
        });
        let Some(bytes) = found else {
            let why = first_error.unwrap_or_else(|| "dropped earlier this round".into());
            return Err(describe_dropped(
                &format!("{path}: no peer served it intact ({source}: {why})"),
                &dropped,
            ));
        };
        write_into(&tmp_dir, &file, &bytes)?;
        report.targets_fetched += 1;
        report.bytes_fetched += bytes.len() as u64;
    }
    sync_fs(dir)?;

    // Metadata: versioned files first (new names), then timestamp.json, last.
    let recorded = client.transport().metadata.borrow().clone();
    let mut timestamp = None;
    for (path, bytes) in recorded {
        let name = path.trim_start_matches("metadata/");
        if name.contains('/') || name.starts_with('.') || name.is_empty() {
            return Err(format!("{source}: refusing metadata path {path}"));
        }
        if name == "timestamp.json" {
            timestamp = Some(bytes);
            continue;
        }
        write_into(&tmp_dir, &metadata_dir.join(name), &bytes)?;
        report.metadata_files += 1;
    }
    sync_fs(dir)?;
    let timestamp = timestamp.ok_or_else(|| format!("{source}: no timestamp.json fetched"))?;
    write_into(&tmp_dir, &metadata_dir.join("timestamp.json"), &timestamp)?;
    report.metadata_files += 1;
    sync_fs(dir)?;
    report.dropped = dropped;
    Ok(report)
}

fn describe_dropped(what: &str, dropped: &[(String, String)]) -> String {
    let mut text = what.to_owned();
    for (peer, why) in dropped {
        text.push_str(&format!("\n  {peer}: {why}"));
    }
    text
}

/// The timestamp and snapshot this mirror committed last, for rollback checks.
fn trusted_state(metadata_dir: &Path) -> Result<TrustedState, String> {
    let timestamp_path = metadata_dir.join("timestamp.json");
    let Ok(timestamp) = fs::read(&timestamp_path) else {
        return Ok(TrustedState::default());
    };
    let parsed: serde_json::Value = serde_json::from_slice(&timestamp)
        .map_err(|e| format!("{}: {e}", timestamp_path.display()))?;
    let version = parsed["signed"]["meta"]["snapshot.json"]["version"]
        .as_u64()
        .ok_or_else(|| format!("{}: no snapshot version", timestamp_path.display()))?;
    let snapshot_path = metadata_dir.join(format!("{version}.snapshot.json"));
    let snapshot =
        fs::read(&snapshot_path).map_err(|e| format!("{}: {e}", snapshot_path.display()))?;
    Ok(TrustedState {
        timestamp: Some(timestamp),
        snapshot: Some(snapshot),
    })
}

/// Writes `bytes` to `path` through a temporary file in `tmp_dir` and a rename.
fn write_into(tmp_dir: &Path, path: &PathBuf, bytes: &[u8]) -> Result<(), String> {
    let mut tmp = tempfile::NamedTempFile::new_in(tmp_dir)
        .map_err(|e| format!("{}: cannot write: {e}", tmp_dir.display()))?;
    tmp.write_all(bytes)
        .map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| format!("{}: cannot write: {}", path.display(), e.error))?;
    Ok(())
}

fn sync_fs(dir: &Path) -> Result<(), String> {
    let handle = fs::File::open(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    rustix::fs::syncfs(&handle).map_err(|e| format!("{}: cannot sync: {e}", dir.display()))
}
