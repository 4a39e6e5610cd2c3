//! Sync: the TUF client workflow against several peers at once, every file checked before it is
//! stored, metadata last.
//!
//! Killed at any moment, the mirror still holds its last complete release: targets of the new one
//! land under new names, versioned metadata under new names, and `timestamp.json` is replaced only
//! once everything it refers to is durable. The next sync keeps what it already has.
//!
//! Invariant: nothing from a peer is written under `release/` before it verified.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use time::OffsetDateTime;

use crate::files::{sync_fs, write_atomic};
use trust::client::{Client, FetchError, Options, Transport, TrustedState};

/// What a sync did.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SyncReport {
    /// The release (snapshot version) now served.
    pub version: u64,
    /// The release was already complete here: nothing walked or fetched (`targets` is 0); at
    /// most a re-signed timestamp was written.
    pub unchanged: bool,
    pub targets: usize,
    pub targets_fetched: usize,
    pub bytes_fetched: u64,
    pub metadata_files: usize,
    /// The peer the release's metadata came from.
    pub source: String,
    /// Peers dropped this round, with why (a lie, an older release, unreachable...).
    pub dropped: Vec<(String, String)>,
}

/// Why a sync round failed, and every peer dropped on the way.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SyncError {
    pub what: String,
    pub dropped: Vec<(String, String)>,
    #[serde(default)]
    pub kind: SyncFailure,
}

/// What a failed round ran into, from the peers' errors' kinds (never from their messages):
/// a network failure is not a forgery.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum SyncFailure {
    /// Trouble here (the folder, the disk, the lock), or anything else.
    #[default]
    Failed,
    /// No peer could be reached (refused, timed out, an HTTP error): nothing was checked.
    Unreachable,
    /// A peer served metadata or a file that does not verify against the trusted root.
    NotVerified,
    /// The peers' newest release has expired (otherwise it verified).
    NotFresh,
}

impl SyncFailure {
    /// The failure of a round whose peers all failed with `kinds` (one or more each): a lie
    /// outweighs an expired release, which outweighs a peer that did not answer.
    pub fn of(kinds: &[trust::ErrorKind]) -> SyncFailure {
        if kinds.is_empty() {
            SyncFailure::Failed
        } else if kinds
            .iter()
            .any(|k| !k.is_unreachable() && *k != trust::ErrorKind::Expired)
        {
            SyncFailure::NotVerified
        } else if kinds.contains(&trust::ErrorKind::Expired) {
            SyncFailure::NotFresh
        } else {
            SyncFailure::Unreachable
        }
    }

    /// The first line of a round that ended so.
    fn describe(self) -> &'static str {
        match self {
            SyncFailure::Unreachable => "no peer answered",
            SyncFailure::NotFresh => "no peer has a release that is still fresh",
            SyncFailure::NotVerified | SyncFailure::Failed => "no peer has a release that verifies",
        }
    }
}

impl std::error::Error for SyncError {}

impl std::fmt::Display for SyncError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&describe_dropped(&self.what, &self.dropped))
    }
}

impl From<String> for SyncError {
    fn from(what: String) -> Self {
        SyncError {
            what,
            dropped: Vec::new(),
            kind: SyncFailure::Failed,
        }
    }
}

/// Files fetched at once (across all peers).
pub const PARALLEL_FETCHES: usize = 8;

/// Threads writing fetched targets into the one targets folder. Each new name changes that
/// folder under its lock, so many writers contend: with 8 (and a named temporary file and a
/// rename per target) a sync spent 5x more time in the kernel than in user space. With
/// anonymous files only the link takes the lock; a first sync of 550,000 targets here took
/// 33.6-46.2 s to fetch and write them with one writer, 29.1-34.8 s with two, 28.5-29.6 s with
/// three, 29.2 s with four (2026-12-01, bench/out/mirror).
const TARGET_WRITERS: usize = 3;

/// Records the metadata files a client fetched (all verified by the time the client is done).
/// Versioned metadata the mirror already holds (unchanged bins, mostly) is read from its own
/// folder instead of the peer: the client checks it against the snapshot all the same.
struct Recorder<T> {
    peer: T,
    metadata: Mutex<Vec<(String, Vec<u8>)>>,
    local: PathBuf,
}

impl<T: Transport + Sync> Transport for Recorder<T> {
    fn fetch(&self, path: &str, max_len: u64) -> Result<Vec<u8>, FetchError> {
        if let Some(name) = path.strip_prefix("metadata/")
            && name.starts_with(|c: char| c.is_ascii_digit())
            && !name.ends_with(".root.json")
            && trust::schema::role_file_name_is_safe(name)
            && let Ok(bytes) = fs::read(self.local.join(name))
            && bytes.len() as u64 <= max_len
        {
            return Ok(bytes);
        }
        let bytes = self.peer.fetch(path, max_len)?;
        if path.starts_with("metadata/")
            && let Ok(mut metadata) = self.metadata.lock()
        {
            metadata.push((path.to_owned(), bytes.clone()));
        }
        Ok(bytes)
    }
    fn describe(&self) -> String {
        self.peer.describe()
    }
    /// [`PARALLEL_FETCHES`] at a time, each answer handed over by the thread that fetched it:
    /// a release after a 1% change has ~1,200 new bins, verified as they come.
    fn fetch_each(
        &self,
        requests: &[(String, u64)],
        each: &(dyn Fn(usize, Result<Vec<u8>, FetchError>) + Sync),
    ) {
        let next = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..PARALLEL_FETCHES.min(requests.len()) {
                scope.spawn(|| {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((path, max_len)) = requests.get(i) else {
                            break;
                        };
                        each(i, self.fetch(path, *max_len));
                    }
                });
            }
        });
    }
}

/// Brings the mirror in `dir` to the newest release its peers serve that verifies against
/// `dir/root.json`, refusing anything older than what the mirror already trusts. None is special: each is asked for its release; the newest that
/// verifies wins, and each missing target is fetched from that peer or, if it fails or lies,
/// from the others (checked against the verified length and hash either way). A peer whose
/// metadata does not verify, or is older than what the mirror trusts, is dropped for this round
/// and named in [`SyncReport::dropped`]. Missing targets are fetched [`PARALLEL_FETCHES`] at a
/// time, spread over every peer that serves the chosen release.
pub fn sync_from<T: Transport + Sync>(
    dir: &Path,
    peers: Vec<T>,
    now: OffsetDateTime,
) -> Result<SyncReport, SyncError> {
    sync_with_progress(dir, peers, now, &common::progress::NoProgress)
}

/// [`sync_from`], reporting the missing targets as they are stored to `progress` (a first
/// sync of a large archive is long: 550,000 files).
pub fn sync_with_progress<T: Transport + Sync>(
    dir: &Path,
    peers: Vec<T>,
    now: OffsetDateTime,
    progress: &dyn common::progress::Progress,
) -> Result<SyncReport, SyncError> {
    let _lock = crate::gc::lock(dir)?;
    let root_path = dir.join("root.json");
    let root = fs::read(&root_path).map_err(|e| format!("{}: {e}", root_path.display()))?;
    let metadata_dir = dir.join("release/metadata");
    let targets_dir = dir.join("release/targets");
    let tmp_dir = dir.join("tmp");
    for d in [&metadata_dir, &targets_dir, &tmp_dir] {
        fs::create_dir_all(d).map_err(|e| format!("{}: cannot create: {e}", d.display()))?;
    }
    let mut phases = common::files::Phases::from_env();
    let (state, committed) = trusted_state(&metadata_dir)?;

    // Every peer's timestamp, snapshot and top-level targets, verified; only the newest
    // release's bins are walked (the next peer's if that fails), not every peer's.
    let mut dropped = Vec::new();
    // Why each dropped peer was dropped, as a kind: what the round failed of, if it does.
    let mut kinds = Vec::new();
    let mut candidates = Vec::new();
    for peer in peers {
        let recorder = Recorder {
            peer,
            metadata: Mutex::new(Vec::new()),
            local: metadata_dir.clone(),
        };
        let source = recorder.describe();
        match Client::load_with_trusted_state(&root, recorder, Options::new(now), state.clone()) {
            Ok(client) => candidates.push(client),
            Err(e) => {
                kinds.push(e.kind());
                dropped.push((source, e.to_string()));
            }
        }
    }
    phases.mark("peers' top metadata");
    candidates.sort_by_key(|client| std::cmp::Reverse(client.version()));
    persist_newest_root(dir, &candidates)?;

    // Nothing new (the usual round): the release here is complete (its timestamp was written
    // last), so there is nothing to walk; only a re-signed timestamp is taken.
    if let Some(newest) = candidates.first()
        && committed == Some(newest.version())
    {
        let freshest = candidates
            .iter()
            .filter(|c| c.version() == newest.version())
            .max_by_key(|c| c.timestamp_version())
            .unwrap_or(newest);
        let source = freshest.transport().describe();
        // The client's verified timestamp: of the same version as the one committed here, this
        // mirror's own bytes (the client keeps the trusted copy of an equal version, 5.4.3.1),
        // never a peer's other bytes of it.
        let timestamp = freshest.trusted_state().timestamp;
        let mut metadata_files = 0;
        if let Some(timestamp) = timestamp
            && Some(&timestamp) != state.timestamp.as_ref()
        {
            write_atomic(&tmp_dir, &metadata_dir.join("timestamp.json"), &timestamp)?;
            sync_fs(dir)?;
            metadata_files = 1;
        }
        return Ok(SyncReport {
            version: newest.version(),
            unchanged: true,
            targets: 0,
            targets_fetched: 0,
            bytes_fetched: 0,
            metadata_files,
            source,
            dropped,
        });
    }
    // The release committed here is complete (its timestamp was written last): a target the
    // new release resolves as that one did is on disk already, and is not looked for.
    let held = match &state.snapshot {
        Some(bytes) => Some(snapshot_meta(&metadata_dir, bytes)?),
        None => None,
    };
    let listing = |role: &str, version: u64| {
        let bytes = fs::read(metadata_dir.join(format!("{version}.{role}.json"))).ok()?;
        trust::leaf::read_listed(&bytes)
    };
    let mut chosen = None;
    while !candidates.is_empty() {
        let mut client = candidates.remove(0);
        // (targets to look for, whether they are the whole release)
        let resolved = match &held {
            Some(meta) => client.targets_changed_since(meta, &listing),
            None => Ok(None),
        }
        .and_then(|changed| match changed {
            Some(changed) => Ok((changed, false)),
            None => client.all_targets().map(|all| (all, true)),
        });
        match resolved {
            Ok(targets) => {
                chosen = Some((client, targets));
                break;
            }
            Err(e) => {
                kinds.push(e.kind());
                dropped.push((client.transport().describe(), e.to_string()));
            }
        }
    }
    let Some((client, (targets, whole))) = chosen else {
        let kind = SyncFailure::of(&kinds);
        return Err(SyncError {
            what: kind.describe().into(),
            dropped,
            kind,
        });
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

    phases.mark("bins walked");
    let mut report = SyncReport {
        version: client.version(),
        unchanged: false,
        targets: if whole {
            targets.len()
        } else {
            client.listed_targets()
        },
        targets_fetched: 0,
        bytes_fetched: 0,
        metadata_files: 0,
        source: source.clone(),
        dropped: Vec::new(),
    };
    // The chosen peer first, then the others serving the same release, then the rest (a file
    // is the same bytes in any release: each is checked against the verified hash anyway).
    let mut order: Vec<&T> = vec![&client.transport().peer];
    let same = |other: &&Client<Recorder<T>>| other.version() == client.version();
    order.extend(others.iter().filter(same).map(|o| &o.transport().peer));
    let serving = order.len();
    order.extend(
        others
            .iter()
            .filter(|o| !same(o))
            .map(|o| &o.transport().peer),
    );
    // Which targets are missing: of the whole release, or of what changed since the release
    // committed here, one stat each, spread over threads (535,553 stats took 1.1 s on one
    // thread). A first sync (nothing stored yet) needs no look.
    let empty = fs::read_dir(&targets_dir)
        .map(|mut entries| entries.next().is_none())
        .unwrap_or(false);
    let chunk = targets.len().div_ceil(PARALLEL_FETCHES).max(1);
    let missing: Option<Vec<_>> = std::thread::scope(|scope| {
        if empty {
            return Some(targets.iter().collect());
        }
        let handles: Vec<_> = targets
            .chunks(chunk)
            .map(|part| {
                let targets_dir = &targets_dir;
                scope.spawn(move || {
                    part.iter()
                        .filter(|(name, info)| {
                            let file = trust::client::target_file_name(name, info);
                            !targets_dir.join(file).exists()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all = Vec::new();
        for handle in handles {
            all.extend(handle.join().ok()?);
        }
        Some(all)
    });
    let missing =
        missing.ok_or_else(|| "a thread looking for missing targets failed".to_owned())?;
    let fetch = Fetch {
        failed: order.iter().map(|_| AtomicBool::new(false)).collect(),
        peers: order,
        next: AtomicUsize::new(0),
        abort: Mutex::new(None),
        kinds: Mutex::new(Vec::new()),
        dropped: Mutex::new(Vec::new()),
        files: AtomicUsize::new(0),
        bytes: AtomicU64::new(0),
    };
    // Fetching threads hash what they get; [`TARGET_WRITERS`] threads (this one among them)
    // write it.
    phases.mark("missing targets found");
    // The verified metadata of the new release, written while the targets are fetched: new
    // names (versioned files) that nothing refers to until `timestamp.json`, in another folder
    // than the targets (no contention on one folder's lock).
    let recorded = std::mem::take(
        &mut *client
            .transport()
            .metadata
            .lock()
            .map_err(|_| "a fetching thread failed".to_owned())?,
    );
    let mut versioned = Vec::with_capacity(recorded.len());
    for (path, bytes) in recorded {
        let name = path.trim_start_matches("metadata/");
        if name.contains('/') || name.starts_with('.') || name.is_empty() {
            return Err(format!("{source}: refusing metadata path {path}").into());
        }
        // A versioned file held here already verified (it is only written once it has):
        // kept as it is, never replaced by a peer's other bytes of the same version.
        if name != "timestamp.json" && !metadata_dir.join(name).exists() {
            versioned.push((name.to_owned(), bytes));
        }
    }
    // The timestamp the client verified (not the bytes a peer sent, which it may have set aside
    // for the trusted copy of the same version).
    let timestamp = client
        .trusted_state()
        .timestamp
        .ok_or_else(|| format!("{source}: no timestamp verified"))?;
    let batches = batches(&missing);
    let workers = PARALLEL_FETCHES.min(batches.len());
    let writers = (0..TARGET_WRITERS)
        .map(|_| TargetWriter::new(&targets_dir))
        .collect::<Result<Vec<_>, _>>()?;
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Vec<(PathBuf, Vec<u8>)>>(4);
    // Taken (dropped) by the first writer that fails: the workers stop at their next send.
    let receiver = Mutex::new(Some(receiver));
    let next = || {
        let receiver = receiver.lock().ok()?;
        receiver.as_ref()?.recv().ok()
    };
    let store_all = |mut writer: TargetWriter| {
        while let Some(batch) = next() {
            for (file, bytes) in batch {
                if let Err(what) = writer.store(&file, &bytes) {
                    if let Ok(mut abort) = fetch.abort.lock() {
                        abort.get_or_insert((what, SyncFailure::Failed));
                    }
                    if let Ok(mut receiver) = receiver.lock() {
                        receiver.take();
                    }
                    return;
                }
                fetch.files.fetch_add(1, Ordering::Relaxed);
                fetch.bytes.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                progress.advance(file.file_name().and_then(|n| n.to_str()).unwrap_or(""));
            }
        }
    };
    progress.start(missing.len() as u64);
    let metadata_written = std::thread::scope(|scope| {
        let metadata = scope.spawn(|| -> Result<usize, String> {
            for (name, bytes) in &versioned {
                write_atomic(&tmp_dir, &metadata_dir.join(name), bytes)?;
            }
            // Written back from now on, while targets are still coming, by a thread nobody
            // waits for: the sync before the commit then finds less left to write (~35 MB of
            // bins after a 1% change), and a slow disk does not hold back the fetching.
            let folder = dir.to_owned();
            std::thread::spawn(move || sync_fs(&folder));
            Ok(versioned.len())
        });
        for _ in 0..workers {
            let (fetch, missing, batches, sender) = (&fetch, &missing, &batches, sender.clone());
            let targets_dir = &targets_dir;
            scope.spawn(move || fetch.work(serving, missing, batches, targets_dir, sender));
        }
        drop(sender);
        let store_all = &store_all;
        let mut writers = writers.into_iter();
        let first = writers.next();
        for writer in writers {
            scope.spawn(move || store_all(writer));
        }
        if let Some(writer) = first {
            store_all(writer);
        }
        metadata
            .join()
            .unwrap_or_else(|_| Err("the thread writing metadata failed".into()))
    });
    progress.finish();
    dropped.extend(fetch.dropped.into_inner().unwrap_or_default());
    if let Some((what, kind)) = fetch.abort.into_inner().unwrap_or_default() {
        return Err(SyncError {
            what,
            dropped,
            kind,
        });
    }
    report.metadata_files = metadata_written?;
    report.targets_fetched = fetch.files.into_inner();
    report.bytes_fetched = fetch.bytes.into_inner();
    phases.mark("targets fetched and stored");

    // Metadata: versioned files first (new names), then timestamp.json, last. The root this
    // round started from too, so that the mirror serves the whole chain of roots a fresh
    // client may walk.
    let root_version = serde_json::from_slice::<serde_json::Value>(&root)
        .ok()
        .and_then(|v| v["signed"]["version"].as_u64())
        .ok_or_else(|| format!("{}: no signed.version", root_path.display()))?;
    let root_name = metadata_dir.join(format!("{root_version}.root.json"));
    if !root_name.exists() {
        write_atomic(&tmp_dir, &root_name, &root)?;
    }
    // The targets and the versioned metadata (new names nothing refers to yet) made durable
    // together, before the timestamp refers to them.
    sync_fs(dir)?;
    write_atomic(&tmp_dir, &metadata_dir.join("timestamp.json"), &timestamp)?;
    report.metadata_files += 1;
    sync_fs(dir)?;
    phases.mark("metadata written, committed");
    crate::gc::record(dir, report.version, now)?;
    report.dropped = dropped;
    Ok(report)
}

/// TUF 5.3.8: the newest root that a peer's chain led to (every one verified from the root
/// trusted here, and by a threshold of its own keys) becomes the root trusted here, before
/// anything relies on it. The next round starts from it, so the walk through a key rotation
/// happens once: each walk voids the trusted timestamp and snapshot (5.3.11), and walking it
/// at every round from the operator's first root let a peer roll the mirror back to any
/// release signed after the rotation (issue 15). The roots of the chain are written into
/// `release/metadata` first (new names; never replacing a root held here), so that the mirror
/// serves every root a fresh client walks; then `root.json` is replaced atomically and made
/// durable.
fn persist_newest_root<T: Transport + Sync>(
    dir: &Path,
    candidates: &[Client<Recorder<T>>],
) -> Result<(), String> {
    let Some(newest) = candidates.iter().max_by_key(|client| client.root().version) else {
        return Ok(());
    };
    let root_path = dir.join("root.json");
    let trusted_version = fs::read(&root_path)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|value| value["signed"]["version"].as_u64())
        .ok_or_else(|| format!("{}: no signed.version", root_path.display()))?;
    if newest.root().version <= trusted_version {
        return Ok(());
    }
    let tmp_dir = dir.join("tmp");
    let metadata_dir = dir.join("release/metadata");
    let roots: Vec<(String, Vec<u8>)> = newest
        .transport()
        .metadata
        .lock()
        .map_err(|_| "a fetching thread failed".to_owned())?
        .iter()
        .filter_map(|(path, bytes)| {
            let name = path.strip_prefix("metadata/")?;
            let version = name.strip_suffix(".root.json")?.parse::<u64>().ok()?;
            (version > trusted_version && version <= newest.root().version)
                .then(|| (format!("{version}.root.json"), bytes.clone()))
        })
        .collect();
    for (name, bytes) in &roots {
        let path = metadata_dir.join(name);
        if !path.exists() {
            write_atomic(&tmp_dir, &path, bytes)?;
        }
    }
    sync_fs(dir)?;
    write_atomic(&tmp_dir, &root_path, newest.trusted_root_json())?;
    sync_fs(dir)
}

/// The role versions (snapshot `meta`) of the release committed here.
fn snapshot_meta(
    metadata_dir: &Path,
    snapshot: &[u8],
) -> Result<std::collections::BTreeMap<String, trust::schema::MetaFile>, String> {
    let snapshot: trust::schema::Signed<trust::schema::Snapshot> = serde_json::from_slice(snapshot)
        .map_err(|e| format!("{}: committed snapshot: {e}", metadata_dir.display()))?;
    Ok(snapshot.signed.meta)
}

/// Missing targets shared among fetching threads.
struct Fetch<'a, T> {
    /// Peers in order of preference; the first `serving` serve the chosen release.
    peers: Vec<&'a T>,
    /// A peer that failed once is not asked again this round: a peer that stalls would
    /// otherwise cost a time-out per file.
    failed: Vec<AtomicBool>,
    next: AtomicUsize,
    /// The first target no peer served intact (or could not be stored); stops every worker.
    abort: Mutex<Option<(String, SyncFailure)>>,
    /// Why peers failed to serve targets intact, as kinds.
    kinds: Mutex<Vec<trust::ErrorKind>>,
    dropped: Mutex<Vec<(String, String)>>,
    files: AtomicUsize,
    bytes: AtomicU64,
}

/// Bytes of targets asked for in one batch (a larger target goes alone): what a fetching thread
/// holds at most before the writers take it.
const BATCH_BYTES: u64 = 1 << 20;

/// `missing` cut into batches of at most [`net::BATCH_MAX`] targets and [`BATCH_BYTES`].
fn batches(
    missing: &[&(trust::TargetName, trust::schema::TargetInfo)],
) -> Vec<std::ops::Range<usize>> {
    let mut batches = Vec::new();
    let (mut start, mut bytes) = (0, 0u64);
    for (i, (_, info)) in missing.iter().enumerate() {
        if i > start && (i - start >= net::BATCH_MAX || bytes + info.length > BATCH_BYTES) {
            batches.push(start..i);
            (start, bytes) = (i, 0);
        }
        bytes += info.length;
    }
    if start < missing.len() {
        batches.push(start..missing.len());
    }
    batches
}

impl<T: Transport + Sync> Fetch<'_, T> {
    /// Fetches batches of missing targets until none is left: batch `b` is asked of serving
    /// peer `b % serving` first (spreading the load, deterministically), then what it did not
    /// serve intact of the others, in turn.
    fn work(
        &self,
        serving: usize,
        missing: &[&(trust::TargetName, trust::schema::TargetInfo)],
        batches: &[std::ops::Range<usize>],
        targets_dir: &Path,
        writer: std::sync::mpsc::SyncSender<Vec<(PathBuf, Vec<u8>)>>,
    ) {
        loop {
            if self.abort.lock().map(|a| a.is_some()).unwrap_or(true) {
                return;
            }
            let b = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(range) = batches.get(b) else {
                return;
            };
            let batch = &missing[range.clone()];
            let mut found: Vec<Option<Vec<u8>>> = batch.iter().map(|_| None).collect();
            let mut why: Vec<Vec<String>> = batch.iter().map(|_| Vec::new()).collect();
            let n = self.peers.len();
            for p in (0..n).map(|k| (b % serving + k) % n) {
                if self.abort.lock().map(|a| a.is_some()).unwrap_or(true) {
                    return;
                }
                if self.failed[p].load(Ordering::Relaxed) {
                    continue;
                }
                let pending: Vec<usize> =
                    (0..batch.len()).filter(|&i| found[i].is_none()).collect();
                if pending.is_empty() {
                    break;
                }
                let asked: Vec<_> = pending
                    .iter()
                    .map(|&i| (&batch[i].0, &batch[i].1))
                    .collect();
                let peer = self.peers[p];
                let answers = trust::client::fetch_verified_targets(peer, &asked);
                for (i, answer) in pending.into_iter().zip(answers) {
                    match answer {
                        Ok(bytes) => found[i] = Some(bytes),
                        Err(e) => {
                            if let Ok(mut kinds) = self.kinds.lock() {
                                kinds.push(e.kind());
                            }
                            let e = e.to_string();
                            if !self.failed[p].swap(true, Ordering::Relaxed)
                                && let Ok(mut dropped) = self.dropped.lock()
                            {
                                dropped.push((peer.describe(), e.clone()));
                            }
                            why[i].push(e);
                        }
                    }
                }
            }
            // Handed to the writers whole: one wake-up per batch, not per file.
            let mut verified = Vec::with_capacity(batch.len());
            let mut failure = None;
            for (((name, info), bytes), why) in batch.iter().zip(found).zip(why) {
                let file = trust::client::target_file_name(name, info);
                failure = Some(match bytes {
                    Some(bytes) => {
                        verified.push((targets_dir.join(file), bytes));
                        continue;
                    }
                    None if why.is_empty() => format!(
                        "targets/{file}: no peer left to ask (all dropped earlier this round)"
                    ),
                    None => format!(
                        "targets/{file}: no peer served it intact ({})",
                        why.join("; ")
                    ),
                });
                break;
            }
            if writer.send(verified).is_err() {
                return; // the writer stopped: it set the reason
            }
            if let Some(failure) = failure {
                let kind = self
                    .kinds
                    .lock()
                    .map(|kinds| SyncFailure::of(&kinds))
                    .unwrap_or_default();
                if let Ok(mut abort) = self.abort.lock() {
                    abort.get_or_insert((failure, kind));
                }
                return;
            }
        }
    }
}

fn describe_dropped(what: &str, dropped: &[(String, String)]) -> String {
    let mut text = what.to_owned();
    for (peer, why) in dropped {
        text.push_str(&format!("\n  {peer}: {why}"));
    }
    text
}

/// The timestamp and snapshot this mirror committed last (for rollback checks, and to know
/// what it holds), and that snapshot's version.
fn trusted_state(metadata_dir: &Path) -> Result<(TrustedState, Option<u64>), String> {
    let timestamp_path = metadata_dir.join("timestamp.json");
    let timestamp = match fs::read(&timestamp_path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok((TrustedState::default(), None));
        }
        Err(e) => return Err(format!("{}: {e}", timestamp_path.display())),
    };
    let (_, version) =
        trust::editor::committed_in(&timestamp, &timestamp_path).map_err(|e| e.to_string())?;
    let snapshot_path = metadata_dir.join(format!("{version}.snapshot.json"));
    let snapshot =
        fs::read(&snapshot_path).map_err(|e| format!("{}: {e}", snapshot_path.display()))?;
    Ok((
        TrustedState {
            timestamp: Some(timestamp),
            snapshot: Some(snapshot),
        },
        Some(version),
    ))
}

/// Stores a verified target at `path` through `.NAME.part` beside it and a rename within the
/// folder (cheaper than a rename across folders, which takes the file system's rename lock).
/// A `.part` left by a killed sync is overwritten by the next one, or collected with old
/// releases; the server never serves a name starting with `.`.
fn store_target(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let part = path.with_file_name(format!(".{name}.part"));
    let mut file =
        fs::File::create(&part).map_err(|e| format!("{}: cannot write: {e}", part.display()))?;
    file.write_all(bytes)
        .map_err(|e| format!("{}: cannot write: {e}", part.display()))?;
    drop(file);
    fs::rename(&part, path).map_err(|e| format!("{}: cannot write: {e}", path.display()))
}

/// Writes fetched targets into `release/targets`, each appearing only once complete.
///
/// An anonymous file (`O_TMPFILE`) linked under its name when written: one change to the
/// folder per file, where a named temporary file and a rename are three; the folder holds
/// ~600,000 names at 250,000 documents, and its changes were most of a first sync's time. Where
/// the file system cannot (or `/proc` is missing), a named temporary file and a rename.
struct TargetWriter {
    dir: fs::File,
    anonymous: bool,
}

impl TargetWriter {
    fn new(dir: &Path) -> Result<Self, String> {
        let dir =
            fs::File::open(dir).map_err(|e| format!("{}: cannot open: {e}", dir.display()))?;
        Ok(TargetWriter {
            dir,
            anonymous: true,
        })
    }

    fn store(&mut self, path: &Path, bytes: &[u8]) -> Result<(), String> {
        if self.anonymous {
            match self.store_anonymous(path, bytes) {
                Ok(()) => return Ok(()),
                // There already (a file of an interrupted run): replaced below.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(_) => self.anonymous = false,
            }
        }
        store_target(path, bytes)
    }

    fn store_anonymous(&self, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
        use rustix::fs::{AtFlags, CWD, Mode, OFlags, linkat, openat};
        use std::os::fd::AsRawFd;
        let name = path
            .file_name()
            .ok_or_else(|| std::io::Error::other("no file name"))?;
        let fd = openat(
            &self.dir,
            ".",
            OFlags::WRONLY | OFlags::TMPFILE | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o644),
        )?;
        let mut file = fs::File::from(fd);
        file.write_all(bytes)?;
        let proc = format!("/proc/self/fd/{}", file.as_raw_fd());
        linkat(CWD, proc.as_str(), &self.dir, name, AtFlags::SYMLINK_FOLLOW)?;
        Ok(())
    }
}
