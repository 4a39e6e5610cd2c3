//! Sync: the TUF client workflow against several peers at once, every file checked before it is
//! stored, metadata last.
//!
//! Killed at any moment, the mirror still holds its last complete release: targets of the new one
//! land under new names, versioned metadata under new names, and `timestamp.json` is replaced only
//! once everything it refers to is durable. The next sync keeps what it already has.
//!
//! A round runs in phases, a function each, in this order: `verify_peers` (and the newest
//! root they led to made the one trusted here), `unchanged_round`, `resolve_targets`,
//! `find_missing`, `fetch_and_store`, `commit` (which alone holds the order of the writes
//! that keeps the last complete release).
//!
//! Invariant: nothing from a peer is written under `release/` before it verified.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use time::OffsetDateTime;

use crate::error::{Error, ErrorKind, Result};
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

/// Files fetched at once (across all peers).
pub const PARALLEL_FETCHES: usize = 8;

/// Threads writing fetched targets into the one targets folder. Each new name changes that
/// folder under its lock, so many writers contend: with 8 (and a named temporary file and a
/// rename per target) a sync spent 5x more time in the kernel than in user space. With
/// anonymous files only the link takes the lock; a first sync of 550,000 targets was fastest
/// with three writers, and no faster with four (bench/RESULTS.md, the mirror's "Initial sync").
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
) -> Result<SyncReport> {
    sync_with_progress(dir, peers, now, &common::progress::NoProgress)
}

/// [`sync_from`], reporting the missing targets as they are stored to `progress` (a first
/// sync of a large archive is long: 550,000 files).
///
/// A round in phases: verify peers → unchanged round (the usual one: done) → resolve targets
/// → find missing → fetch and store → commit. A failed round's error has a kind computed from
/// the peers' `trust::ErrorKind`s, never from messages, and names every peer dropped.
pub fn sync_with_progress<T: Transport + Sync>(
    dir: &Path,
    peers: Vec<T>,
    now: OffsetDateTime,
    progress: &dyn common::progress::Progress,
) -> Result<SyncReport> {
    let _lock = crate::gc::lock(dir)?;
    let root_path = dir.join("root.json");
    let root = fs::read(&root_path).map_err(|e| Error::io(&root_path, e))?;
    let folder = Folder::create(dir)?;
    let mut phases = common::files::Phases::from_env();
    let (state, committed) = trusted_state(&folder.metadata)?;
    let mut dropped = Dropped::default();

    let candidates = verify_peers(&folder, &root, peers, now, &state, &mut dropped);
    phases.mark("peers' top metadata");
    persist_newest_root(dir, &candidates)?;
    if let Some(report) = unchanged_round(&folder, &candidates, &state, committed)? {
        return Ok(SyncReport {
            dropped: dropped.peers,
            ..report
        });
    }
    let chosen = resolve_targets(&folder, &state, candidates, &mut dropped)?;
    phases.mark("bins walked");
    let missing = find_missing(&folder.targets, &chosen.targets)?;
    phases.mark("missing targets found");
    let metadata = NewMetadata::of(&folder, &chosen.client)?;
    let store = || {
        let stored = fetch_and_store(
            &folder,
            &chosen,
            &missing,
            &metadata.versioned,
            progress,
            &mut dropped,
        );
        phases.mark("targets fetched and stored");
        stored
    };
    let stored = commit(&folder, store, &root, &metadata.timestamp)?;
    phases.mark("metadata written, committed");
    let version = chosen.client.version();
    crate::gc::record(dir, version, now)?;
    Ok(SyncReport {
        version,
        unchanged: false,
        targets: chosen.total,
        targets_fetched: stored.files,
        bytes_fetched: stored.bytes,
        // The versioned files, and the timestamp.
        metadata_files: stored.metadata_files + 1,
        source: chosen.client.transport().describe(),
        dropped: dropped.peers,
    })
}

/// The mirror folder a round works in (see the crate's documentation for its layout).
struct Folder {
    dir: PathBuf,
    /// `release/metadata`: verified metadata; `timestamp.json` replaced last.
    metadata: PathBuf,
    /// `release/targets`: `SHA256.NAME` files, each stored once checked.
    targets: PathBuf,
    /// `tmp`: files being written, renamed into place when complete.
    tmp: PathBuf,
}

impl Folder {
    /// The folders of the mirror in `dir`, created where missing.
    fn create(dir: &Path) -> Result<Folder> {
        let folder = Folder {
            dir: dir.to_owned(),
            metadata: dir.join("release/metadata"),
            targets: dir.join("release/targets"),
            tmp: dir.join("tmp"),
        };
        for d in [&folder.metadata, &folder.targets, &folder.tmp] {
            fs::create_dir_all(d).map_err(|e| Error::cannot("create", d, e))?;
        }
        Ok(folder)
    }

    /// The root trusted here.
    fn root(&self) -> PathBuf {
        self.dir.join("root.json")
    }

    /// Writes `bytes` to `path` atomically (through `tmp/`).
    fn write(&self, path: &Path, bytes: &[u8]) -> Result<()> {
        write_atomic(&self.tmp, path, bytes)
    }

    /// Makes everything written durable (one `syncfs`).
    fn sync(&self) -> Result<()> {
        sync_fs(&self.dir)
    }
}

/// The peers a round dropped, with why; and why as kinds, what the round failed of if it
/// finds no release to take.
#[derive(Default)]
struct Dropped {
    peers: Vec<(String, String)>,
    kinds: Vec<trust::ErrorKind>,
}

impl Dropped {
    fn peer(&mut self, peer: String, error: &trust::Error) {
        self.kinds.push(error.kind());
        self.peers.push((peer, error.to_string()));
    }

    /// The error of a round that found no release to take.
    fn no_release(self) -> Error {
        let kind = ErrorKind::of_peers(&self.kinds);
        let what = match kind {
            ErrorKind::Unreachable => "no peer answered",
            ErrorKind::NotFresh => "no peer has a release that is still fresh",
            _ => "no peer has a release that verifies",
        };
        Error::new(kind, what).with_dropped(self.peers)
    }
}

/// Phase 1, verify peers: every peer's timestamp, snapshot and top-level targets, verified from
/// the root trusted here and against the release committed here (`state`: rollback refused).
/// A peer that fails is dropped; the others come back newest release first. Only the newest
/// release's bins are walked later (the next peer's if that fails), not every peer's.
fn verify_peers<T: Transport + Sync>(
    folder: &Folder,
    root: &[u8],
    peers: Vec<T>,
    now: OffsetDateTime,
    state: &TrustedState,
    dropped: &mut Dropped,
) -> Vec<Client<Recorder<T>>> {
    let mut candidates = Vec::new();
    for peer in peers {
        let recorder = Recorder {
            peer,
            metadata: Mutex::new(Vec::new()),
            local: folder.metadata.clone(),
        };
        let source = recorder.describe();
        match Client::load_with_trusted_state(root, recorder, Options::new(now), state.clone()) {
            Ok(client) => candidates.push(client),
            Err(e) => dropped.peer(source, &e),
        }
    }
    candidates.sort_by_key(|client| std::cmp::Reverse(client.version()));
    candidates
}

/// TUF 5.3.8: the newest root that a peer's chain led to (every one verified from the root
/// trusted here, and by a threshold of its own keys) becomes the root trusted here, before
/// anything relies on it. The next round starts from it, so the walk through a key rotation
/// happens once: each walk voids the trusted timestamp and snapshot (5.3.11), and walking it
/// at every round from the operator's first root let a peer roll the mirror back to any
/// release signed after the rotation (tests/trust.rs). The roots of the chain are written into
/// `release/metadata` first (new names; never replacing a root held here), so that the mirror
/// serves every root a fresh client walks; then `root.json` is replaced atomically and made
/// durable.
fn persist_newest_root<T: Transport + Sync>(
    dir: &Path,
    candidates: &[Client<Recorder<T>>],
) -> Result<()> {
    let Some(newest) = candidates.iter().max_by_key(|client| client.root().version) else {
        return Ok(());
    };
    let root_path = dir.join("root.json");
    let trusted_version = fs::read(&root_path)
        .ok()
        .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
        .and_then(|value| value["signed"]["version"].as_u64())
        .ok_or_else(|| Error::io(&root_path, "no signed.version"))?;
    if newest.root().version <= trusted_version {
        return Ok(());
    }
    let tmp_dir = dir.join("tmp");
    let metadata_dir = dir.join("release/metadata");
    let roots: Vec<(String, Vec<u8>)> = newest
        .transport()
        .metadata
        .lock()
        .map_err(|_| Error::internal("a fetching thread failed"))?
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

/// Phase 2, the unchanged round (the usual one): the newest release is the one `committed`
/// here, which is complete (its timestamp was written last), so there is nothing to walk; only
/// a re-signed timestamp is taken. None when a peer has a newer release.
fn unchanged_round<T: Transport + Sync>(
    folder: &Folder,
    candidates: &[Client<Recorder<T>>],
    state: &TrustedState,
    committed: Option<u64>,
) -> Result<Option<SyncReport>> {
    let Some(newest) = candidates.first() else {
        return Ok(None);
    };
    if committed != Some(newest.version()) {
        return Ok(None);
    }
    let freshest = candidates
        .iter()
        .filter(|c| c.version() == newest.version())
        .max_by_key(|c| c.timestamp_version())
        .unwrap_or(newest);
    // The client's verified timestamp: of the same version as the one committed here, this
    // mirror's own bytes (the client keeps the trusted copy of an equal version, 5.4.3.1),
    // never a peer's other bytes of it.
    let mut metadata_files = 0;
    if let Some(timestamp) = freshest.trusted_state().timestamp
        && Some(&timestamp) != state.timestamp.as_ref()
    {
        folder.write(&folder.metadata.join("timestamp.json"), &timestamp)?;
        folder.sync()?;
        metadata_files = 1;
    }
    Ok(Some(SyncReport {
        version: newest.version(),
        unchanged: true,
        targets: 0,
        targets_fetched: 0,
        bytes_fetched: 0,
        metadata_files,
        source: freshest.transport().describe(),
        dropped: Vec::new(),
    }))
}

/// A target: its name and what the verified metadata says of it.
type Target = (trust::TargetName, trust::schema::TargetInfo);

/// The release a round takes, and what of it to look for on disk.
struct Chosen<T: Transport + Sync> {
    client: Client<Recorder<T>>,
    /// The whole release's targets, or only those that changed since the release committed
    /// here (the others are on disk already).
    targets: Vec<Target>,
    /// Targets in the release.
    total: usize,
    /// The other peers whose metadata verified, newest release first.
    others: Vec<Client<Recorder<T>>>,
}

/// Phase 3, resolve targets: the newest release whose bins verify (a peer whose bins do not is
/// dropped, and the next release tried), and which of its targets to look for. The release
/// committed here is complete (its timestamp was written last): a target the new release
/// resolves as that one did is on disk already, and is not looked for.
fn resolve_targets<T: Transport + Sync>(
    folder: &Folder,
    state: &TrustedState,
    mut candidates: Vec<Client<Recorder<T>>>,
    dropped: &mut Dropped,
) -> Result<Chosen<T>> {
    let held = match &state.snapshot {
        Some(bytes) => Some(snapshot_meta(&folder.metadata, bytes)?),
        None => None,
    };
    let listing = |role: &str, version: u64| {
        let bytes = fs::read(folder.metadata.join(format!("{version}.{role}.json"))).ok()?;
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
            Err(e) => dropped.peer(client.transport().describe(), &e),
        }
    }
    let Some((client, (targets, whole))) = chosen else {
        return Err(std::mem::take(dropped).no_release());
    };
    for other in &candidates {
        if other.version() < client.version() {
            dropped.peers.push((
                other.transport().describe(),
                format!(
                    "serves release {}, older than {}",
                    other.version(),
                    client.version()
                ),
            ));
        }
    }
    let total = if whole {
        targets.len()
    } else {
        client.listed_targets()
    };
    Ok(Chosen {
        client,
        targets,
        total,
        others: candidates,
    })
}

/// Phase 4, find missing: which of `targets` are not in `targets_dir`, one stat each, spread
/// over threads (535,553 stats took 1.1 s on one thread). A first sync (nothing stored yet)
/// needs no look.
fn find_missing<'a>(targets_dir: &Path, targets: &'a [Target]) -> Result<Vec<&'a Target>> {
    let empty = fs::read_dir(targets_dir)
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
    missing.ok_or_else(|| Error::internal("a thread looking for missing targets failed"))
}

/// The verified metadata of the release a round takes, to be written.
struct NewMetadata {
    /// Versioned files (new names that nothing refers to until `timestamp.json`) this mirror
    /// does not hold yet: a versioned file held here already verified (it is only written
    /// once it has), and is kept as it is, never replaced by a peer's other bytes of it.
    versioned: Vec<(String, Vec<u8>)>,
    /// The timestamp the client verified (not the bytes a peer sent, which it may have set
    /// aside for the trusted copy of the same version).
    timestamp: Vec<u8>,
}

impl NewMetadata {
    fn of<T: Transport + Sync>(folder: &Folder, client: &Client<Recorder<T>>) -> Result<Self> {
        let source = client.transport().describe();
        let recorded = std::mem::take(
            &mut *client
                .transport()
                .metadata
                .lock()
                .map_err(|_| Error::internal("a fetching thread failed"))?,
        );
        let mut versioned = Vec::with_capacity(recorded.len());
        for (path, bytes) in recorded {
            let name = path.trim_start_matches("metadata/");
            if name.contains('/') || name.starts_with('.') || name.is_empty() {
                return Err(Error::new(
                    ErrorKind::NotVerified,
                    format!("{source}: refusing metadata path {path}"),
                ));
            }
            if name != "timestamp.json" && !folder.metadata.join(name).exists() {
                versioned.push((name.to_owned(), bytes));
            }
        }
        let timestamp = client.trusted_state().timestamp.ok_or_else(|| {
            Error::new(
                ErrorKind::NotVerified,
                format!("{source}: no timestamp verified"),
            )
        })?;
        Ok(NewMetadata {
            versioned,
            timestamp,
        })
    }
}

/// What the fetch-and-store phase stored.
struct Stored {
    files: usize,
    bytes: u64,
    metadata_files: usize,
}

/// Phase 5, fetch and store: the `missing` targets fetched in batches from the peers
/// ([`PARALLEL_FETCHES`] threads hash what they get; [`TARGET_WRITERS`] threads, this one among
/// them, write it), and meanwhile the release's `versioned` metadata written, in another
/// folder than the targets (no contention on one folder's lock). Peers that fail or lie are
/// added to `dropped`; the first target no peer served intact ends the round.
fn fetch_and_store<T: Transport + Sync>(
    folder: &Folder,
    chosen: &Chosen<T>,
    missing: &[&Target],
    versioned: &[(String, Vec<u8>)],
    progress: &dyn common::progress::Progress,
    dropped: &mut Dropped,
) -> Result<Stored> {
    let (peers, serving) = peer_order(chosen);
    let fetch = Fetch::new(peers);
    let batches = batches(missing);
    let workers = PARALLEL_FETCHES.min(batches.len());
    let writers = (0..TARGET_WRITERS)
        .map(|_| TargetWriter::new(&folder.targets))
        .collect::<Result<Vec<_>>>()?;
    let (sender, receiver) = std::sync::mpsc::sync_channel::<Verified>(4);
    // Taken (dropped) by the first writer that fails: the workers stop at their next send.
    let receiver = Mutex::new(Some(receiver));
    progress.start(missing.len() as u64);
    let metadata_written = std::thread::scope(|scope| {
        let metadata = scope.spawn(|| write_versioned(folder, versioned));
        for _ in 0..workers {
            let (fetch, batches, sender) = (&fetch, &batches, sender.clone());
            let targets_dir = &folder.targets;
            scope.spawn(move || fetch.work(serving, missing, batches, targets_dir, sender));
        }
        drop(sender);
        let (fetch, receiver) = (&fetch, &receiver);
        let mut writers = writers.into_iter();
        let first = writers.next();
        for writer in writers {
            scope.spawn(move || fetch.store_all(writer, receiver, progress));
        }
        if let Some(writer) = first {
            fetch.store_all(writer, receiver, progress);
        }
        metadata
            .join()
            .unwrap_or_else(|_| Err(Error::internal("the thread writing metadata failed")))
    });
    progress.finish();
    dropped
        .peers
        .extend(fetch.dropped.into_inner().unwrap_or_default());
    if let Some(error) = fetch.abort.into_inner().unwrap_or_default() {
        return Err(error.with_dropped(std::mem::take(&mut dropped.peers)));
    }
    Ok(Stored {
        metadata_files: metadata_written?,
        files: fetch.files.into_inner(),
        bytes: fetch.bytes.into_inner(),
    })
}

/// The peers to ask for targets, in order, and how many of the first serve the chosen release:
/// the chosen peer first, then the others serving the same release, then the rest (a file is
/// the same bytes in any release: each is checked against the verified hash anyway).
fn peer_order<T: Transport + Sync>(chosen: &Chosen<T>) -> (Vec<&T>, usize) {
    let version = chosen.client.version();
    let mut order: Vec<&T> = vec![&chosen.client.transport().peer];
    let same = |other: &&Client<Recorder<T>>| other.version() == version;
    let others = &chosen.others;
    order.extend(others.iter().filter(same).map(|o| &o.transport().peer));
    let serving = order.len();
    order.extend(
        others
            .iter()
            .filter(|o| !same(o))
            .map(|o| &o.transport().peer),
    );
    (order, serving)
}

/// Writes the new release's versioned metadata (new names). Written back from then on, while
/// targets are still coming, by a thread nobody waits for: the sync before the commit then
/// finds less left to write (~35 MB of bins after a 1% change), and a slow disk does not hold
/// back the fetching.
fn write_versioned(folder: &Folder, versioned: &[(String, Vec<u8>)]) -> Result<usize> {
    for (name, bytes) in versioned {
        folder.write(&folder.metadata.join(name), bytes)?;
    }
    let dir = folder.dir.clone();
    std::thread::spawn(move || sync_fs(&dir));
    Ok(versioned.len())
}

/// Phase 6, the commit, in the one order that leaves the last complete release in place
/// whatever moment the process is killed at (or the machine loses power):
///
/// 1. `store`: the new release's targets and versioned metadata, under new names that nothing
///    refers to yet (killed here, the next round keeps what was stored, or collection removes
///    it);
/// 2. the root this round started from, so that the mirror serves the whole chain of roots a
///    fresh client may walk (also a new name);
/// 3. one `syncfs`: all of it durable, before anything refers to it;
/// 4. `timestamp.json`, last, replaced atomically: the commit point, the one file that names
///    the new release, naming only files that are durable already;
/// 5. a `syncfs` again: a round reported done stays done.
///
/// Nothing is committed when `store` fails: the timestamp is not touched.
fn commit<S>(
    folder: &Folder,
    store: impl FnOnce() -> Result<S>,
    root: &[u8],
    timestamp: &[u8],
) -> Result<S> {
    let stored = store()?;
    let root_version = serde_json::from_slice::<serde_json::Value>(root)
        .ok()
        .and_then(|v| v["signed"]["version"].as_u64())
        .ok_or_else(|| Error::io(&folder.root(), "no signed.version"))?;
    let root_name = folder.metadata.join(format!("{root_version}.root.json"));
    if !root_name.exists() {
        folder.write(&root_name, root)?;
    }
    folder.sync()?;
    folder.write(&folder.metadata.join("timestamp.json"), timestamp)?;
    folder.sync()?;
    Ok(stored)
}

/// The role versions (snapshot `meta`) of the release committed here.
fn snapshot_meta(
    metadata_dir: &Path,
    snapshot: &[u8],
) -> Result<std::collections::BTreeMap<String, trust::schema::MetaFile>> {
    let snapshot: trust::schema::Signed<trust::schema::Snapshot> = serde_json::from_slice(snapshot)
        .map_err(|e| Error::io(metadata_dir, format_args!("committed snapshot: {e}")))?;
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
    abort: Mutex<Option<Error>>,
    /// Why peers failed to serve targets intact, as kinds.
    kinds: Mutex<Vec<trust::ErrorKind>>,
    dropped: Mutex<Vec<(String, String)>>,
    files: AtomicUsize,
    bytes: AtomicU64,
}

/// A batch of verified targets on its way to the writers: (the file to store, its bytes).
type Verified = Vec<(PathBuf, Vec<u8>)>;

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

impl<'a, T: Transport + Sync> Fetch<'a, T> {
    /// Missing targets to fetch from `peers`, in order of preference.
    fn new(peers: Vec<&'a T>) -> Self {
        Fetch {
            failed: peers.iter().map(|_| AtomicBool::new(false)).collect(),
            peers,
            next: AtomicUsize::new(0),
            abort: Mutex::new(None),
            kinds: Mutex::new(Vec::new()),
            dropped: Mutex::new(Vec::new()),
            files: AtomicUsize::new(0),
            bytes: AtomicU64::new(0),
        }
    }

    /// Stores the batches fetching threads hand over through `receiver` with `writer`, until
    /// none is left; the first file that cannot be stored stops the round (and takes the
    /// receiver: the fetching threads stop at their next send).
    fn store_all(
        &self,
        mut writer: TargetWriter,
        receiver: &Mutex<Option<std::sync::mpsc::Receiver<Verified>>>,
        progress: &dyn common::progress::Progress,
    ) {
        let next = || {
            let receiver = receiver.lock().ok()?;
            receiver.as_ref()?.recv().ok()
        };
        while let Some(batch) = next() {
            for (file, bytes) in batch {
                if let Err(error) = writer.store(&file, &bytes) {
                    if let Ok(mut abort) = self.abort.lock() {
                        abort.get_or_insert(error);
                    }
                    if let Ok(mut receiver) = receiver.lock() {
                        receiver.take();
                    }
                    return;
                }
                self.files.fetch_add(1, Ordering::Relaxed);
                self.bytes.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                progress.advance(file.file_name().and_then(|n| n.to_str()).unwrap_or(""));
            }
        }
    }

    /// Fetches batches of missing targets until none is left: batch `b` is asked of serving
    /// peer `b % serving` first (spreading the load, deterministically), then what it did not
    /// serve intact of the others, in turn.
    fn work(
        &self,
        serving: usize,
        missing: &[&(trust::TargetName, trust::schema::TargetInfo)],
        batches: &[std::ops::Range<usize>],
        targets_dir: &Path,
        writer: std::sync::mpsc::SyncSender<Verified>,
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
                    .map(|kinds| ErrorKind::of_peers(&kinds))
                    .unwrap_or(ErrorKind::Internal);
                if let Ok(mut abort) = self.abort.lock() {
                    abort.get_or_insert(Error::new(kind, failure));
                }
                return;
            }
        }
    }
}

/// The timestamp and snapshot this mirror committed last (for rollback checks, and to know
/// what it holds), and that snapshot's version.
fn trusted_state(metadata_dir: &Path) -> Result<(TrustedState, Option<u64>)> {
    let timestamp_path = metadata_dir.join("timestamp.json");
    let timestamp = match fs::read(&timestamp_path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok((TrustedState::default(), None));
        }
        Err(e) => return Err(Error::io(&timestamp_path, e)),
    };
    let (_, version) = trust::editor::committed_in(&timestamp, &timestamp_path)
        .map_err(|e| Error::new(ErrorKind::Io, e.to_string()))?;
    let snapshot_path = metadata_dir.join(format!("{version}.snapshot.json"));
    let snapshot = fs::read(&snapshot_path).map_err(|e| Error::io(&snapshot_path, e))?;
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
fn store_target(path: &Path, bytes: &[u8]) -> Result<()> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy())
        .unwrap_or_default();
    let part = path.with_file_name(format!(".{name}.part"));
    let mut file = fs::File::create(&part).map_err(|e| Error::cannot("write", &part, e))?;
    file.write_all(bytes)
        .map_err(|e| Error::cannot("write", &part, e))?;
    drop(file);
    fs::rename(&part, path).map_err(|e| Error::cannot("write", path, e))
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
    fn new(dir: &Path) -> Result<Self> {
        let dir = fs::File::open(dir).map_err(|e| Error::cannot("open", dir, e))?;
        Ok(TargetWriter {
            dir,
            anonymous: true,
        })
    }

    fn store(&mut self, path: &Path, bytes: &[u8]) -> Result<()> {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn target(name: &str, bytes: &[u8]) -> Target {
        let info = trust::schema::TargetInfo {
            length: bytes.len() as u64,
            hashes: trust::schema::Hashes {
                sha256: trust::schema::Digest::of(bytes),
            },
            custom: None,
        };
        (trust::TargetName::new(name).expect("name"), info)
    }

    fn folder() -> (tempfile::TempDir, Folder) {
        let tmp = tempfile::tempdir().expect("tempdir");
        let folder = Folder::create(tmp.path()).expect("folder");
        (tmp, folder)
    }

    const ROOT: &[u8] = br#"{"signed":{"_type":"root","version":3},"signatures":[]}"#;

    #[test]
    fn find_missing_looks_for_each_target_under_its_file_name() {
        let (_tmp, folder) = folder();
        let targets = vec![
            target("a.json", b"a"),
            target("b.json", b"b"),
            target("c.original.pdf", b"c"),
        ];
        // A first sync: nothing stored, all missing without a look.
        let missing = find_missing(&folder.targets, &targets).expect("missing");
        assert_eq!(missing.len(), 3);

        let (name, info) = &targets[1];
        let file = trust::client::target_file_name(name, info);
        fs::write(folder.targets.join(file), b"b").expect("write");
        // Another release's file of the same name is not this one's.
        let other = target("c.original.pdf", b"other");
        let file = trust::client::target_file_name(&other.0, &other.1);
        fs::write(folder.targets.join(file), b"other").expect("write");
        let missing: Vec<&str> = find_missing(&folder.targets, &targets)
            .expect("missing")
            .iter()
            .map(|(name, _)| name.as_str())
            .collect();
        assert_eq!(missing, ["a.json", "c.original.pdf"]);
    }

    #[test]
    fn commit_writes_the_timestamp_last_after_what_it_refers_to() {
        let (_tmp, folder) = folder();
        let timestamp_path = folder.metadata.join("timestamp.json");
        let root_path = folder.metadata.join("3.root.json");
        let stored = commit(
            &folder,
            || {
                // Stored first, while nothing names the new release.
                assert!(!timestamp_path.exists());
                assert!(!root_path.exists());
                fs::write(folder.targets.join("x.a.json"), b"a").expect("target");
                fs::write(folder.metadata.join("2.snapshot.json"), b"s").expect("metadata");
                Ok(7)
            },
            ROOT,
            b"new timestamp",
        )
        .expect("commit");
        assert_eq!(stored, 7);
        assert_eq!(
            fs::read(&timestamp_path).expect("timestamp"),
            b"new timestamp"
        );
        assert_eq!(fs::read(&root_path).expect("root"), ROOT);
    }

    #[test]
    fn a_failed_store_commits_nothing() {
        let (_tmp, folder) = folder();
        let timestamp_path = folder.metadata.join("timestamp.json");
        fs::write(&timestamp_path, b"last good release").expect("timestamp");
        let error = commit(
            &folder,
            || -> Result<()> {
                Err(Error::new(
                    ErrorKind::NotVerified,
                    "targets/x.a.json: no peer served it intact",
                ))
            },
            ROOT,
            b"new timestamp",
        )
        .expect_err("store failed");
        assert_eq!(error.kind(), ErrorKind::NotVerified);
        assert_eq!(
            fs::read(&timestamp_path).expect("timestamp"),
            b"last good release"
        );
        assert!(!folder.metadata.join("3.root.json").exists());
    }

    #[test]
    fn a_round_with_no_release_says_why_from_the_kinds() {
        let unreachable = trust::Error::new(trust::ErrorKind::Transport, "refused");
        let expired = trust::Error::new(trust::ErrorKind::Expired, "expired");
        let mut dropped = Dropped::default();
        dropped.peer("http://a/".into(), &unreachable);
        let error = dropped.no_release();
        assert_eq!(error.kind(), ErrorKind::Unreachable);
        assert_eq!(error.to_string(), "no peer answered\n  http://a/: refused");

        let mut dropped = Dropped::default();
        dropped.peer("http://a/".into(), &unreachable);
        dropped.peer("http://b/".into(), &expired);
        let error = dropped.no_release();
        assert_eq!(error.kind(), ErrorKind::NotFresh);
        assert_eq!(error.message(), "no peer has a release that is still fresh");
        assert_eq!(error.dropped().len(), 2);
    }
}
