//! The release a mirror serves, in memory: `timestamp.json` itself, the withdrawn documents
//! (410 Gone), and every target's hash by name (to resolve the plain site paths).
//!
//! Loaded once at start and after each sync. Root, timestamp, snapshot and `targets.json` are
//! verified again through the TUF client (expiry not: an expired release is still served,
//! readers decide); the bins are then read straight from disk, one at a time, without checking
//! their signatures again: they are the mirror's own files, each verified before it was
//! stored (or the publisher's own, for `mirror serve ARCHIVE`). Names are kept as 64-bit
//! hashes (40 bytes a target: 21 MB at 525,003 targets; the length is not kept, the file
//! has it): a collision could only point a plain
//! path at a file `SHA.NAME` that does not exist, a 404, never another document's bytes.
//! `/metadata/` requests need no lookup at all: the file name is the address.
//!
//! Gone means gone (DESIGN.md): a `/targets/SHA.NAME` file is served only when (NAME, SHA) is a
//! target of this release, or of an earlier release still on disk (kept for the grace period)
//! that hid every document this one hides: once a release withdraws a document, the earlier
//! releases' home page, listings and search shards that quote it are served no more, whatever
//! is still on disk. "Hidden" is one set of document ids: the withdrawn ones, and any set
//! given to [`Served::load_hiding`] (legal blocks).

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use common::layout;
use time::OffsetDateTime;
use trust::client::{Client, DirTransport, Options};
use trust::schema::{Digest, Signed, Snapshot, Targets};

use crate::blocks::{Blocks, Order};

/// One release, as served.
pub struct Served {
    /// The snapshot version: the release number.
    pub version: u64,
    pub timestamp: Bytes,
    pub timestamp_etag: String,
    /// Since when the release is expired (readers call it stale), if it is.
    pub stale_since: Option<OffsetDateTime>,
    /// Withdrawn document id → the publisher's reason.
    withdrawn: HashMap<String, String>,
    names: NameMap,
    /// (name key, SHA-256) of the targets of earlier releases that may still be served under
    /// `/targets/` and are not this release's, sorted.
    earlier: PairSet,
    /// Documents hidden besides the withdrawn ones (legal blocks, `blocks`): none of their
    /// files is served, by plain path or under `/targets/`.
    blocks: Arc<Blocks>,
    /// Where else a reader finds the archive (for the 451 page), read from the release when
    /// something is blocked.
    elsewhere: Elsewhere,
    /// The earlier releases whose targets are served too, newest first.
    pub earlier_releases: Vec<u64>,
    /// Unique to this load: what the server's caches are tagged with, so that nothing cached
    /// under another load (another release, or the same one with other documents hidden) is
    /// answered.
    pub generation: u64,
}

/// Earlier releases looked at, at most: a reader that started on an older one than this (on
/// an origin, which keeps every release) starts again on the current one, as after collection.
const EARLIER_MAX: u64 = 64;

static GENERATION: AtomicU64 = AtomicU64::new(1);

/// A target of the served release: its SHA-256, which names its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetRef {
    pub sha256: [u8; 32],
}

/// Target name (hashed) → target, sorted by key, with a [`Radix`] index: exactly 40 bytes a
/// target, and 2-4 more for the index (a hash map rounds up to a power of two: 43 MB
/// instead of 21 at 525,003 targets).
#[derive(Default)]
struct NameMap {
    pairs: Vec<(u64, TargetRef)>,
    index: Radix,
}

impl NameMap {
    /// `pairs` sorted by key.
    fn new(pairs: Vec<(u64, TargetRef)>) -> NameMap {
        let index = Radix::new(pairs.iter().map(|(key, _)| *key), pairs.len());
        NameMap { pairs, index }
    }

    fn get(&self, key: u64) -> Option<TargetRef> {
        let bucket = &self.pairs[self.index.range(key).unwrap_or(0..self.pairs.len())];
        let i = bucket.binary_search_by_key(&key, |(k, _)| *k).ok()?;
        Some(bucket[i].1)
    }

    fn len(&self) -> usize {
        self.pairs.len()
    }
}

/// Where each key's run starts in a vector sorted by 64-bit key, by the key's top bits: a
/// lookup reads one slot here and a bucket of one or two entries (one or two cache lines),
/// where a binary search over the whole vector took a cache miss on nearly every one of its
/// ~19 steps at 525,003 targets: on random documents that search was most of the served-set
/// rule's cost (issue 15: 7% of the server's CPU time on 30,127 targets). The keys are
/// SHA-256 prefixes, so evenly spread; skewed keys would only make buckets longer (each is
/// still searched), never a lookup wrong. One `u32` a bucket, a bucket for every one or two
/// entries.
#[derive(Default)]
struct Radix {
    /// `starts[b]`: the first position whose key's top bits are `b` or more;
    /// `starts[buckets]` the length. Empty for no index (an empty vector, or one too long for
    /// `u32` positions): the whole vector is searched.
    starts: Vec<u32>,
    /// 64 minus the bits used.
    shift: u32,
}

impl Radix {
    /// The index of `len` sorted `keys`.
    fn new(keys: impl Iterator<Item = u64>, len: usize) -> Radix {
        let Ok(len32) = u32::try_from(len) else {
            return Radix::default();
        };
        if len == 0 {
            return Radix::default();
        }
        let bits = len.ilog2().clamp(1, 30);
        let shift = 64 - bits;
        let buckets = 1usize << bits;
        let mut starts = Vec::with_capacity(buckets + 1);
        for (position, key) in (0u32..).zip(keys) {
            let bucket = usize::try_from(key >> shift).unwrap_or(usize::MAX);
            while starts.len() <= bucket.min(buckets) {
                starts.push(position);
            }
        }
        starts.resize(buckets + 1, len32);
        Radix { starts, shift }
    }

    /// The positions whose keys share `key`'s top bits (so hold `key` if it is there); none
    /// without an index.
    fn range(&self, key: u64) -> Option<std::ops::Range<usize>> {
        let bucket = usize::try_from(key >> self.shift).ok()?;
        let start = *self.starts.get(bucket)?;
        let end = *self.starts.get(bucket + 1)?;
        Some(start as usize..end as usize)
    }
}

/// (name key, SHA-256) pairs, sorted, with their [`Radix`] index.
#[derive(Default)]
struct PairSet {
    pairs: Vec<(u64, [u8; 32])>,
    index: Radix,
}

impl PairSet {
    /// `pairs` sorted.
    fn new(pairs: Vec<(u64, [u8; 32])>) -> PairSet {
        let index = Radix::new(pairs.iter().map(|(key, _)| *key), pairs.len());
        PairSet { pairs, index }
    }

    fn contains(&self, pair: &(u64, [u8; 32])) -> bool {
        self.pairs[self.index.range(pair.0).unwrap_or(0..self.pairs.len())]
            .binary_search(pair)
            .is_ok()
    }
}

fn name_key(name: &str) -> u64 {
    let digest = Digest::of(name.as_bytes()).0;
    u64::from_le_bytes([
        digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7],
    ])
}

/// The targets of one versioned targets role file (`N.ROLE.json`), as (name key, target),
/// and the tombstone list's target if it is there.
type Bin = (Vec<(u64, TargetRef)>, Option<TargetRef>);

fn read_bin(path: &Path) -> Result<Bin, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let role: Signed<Targets> =
        serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut withdrawn = None;
    let bin = role
        .signed
        .targets
        .iter()
        .map(|(name, info)| {
            let target = TargetRef {
                sha256: info.hashes.sha256.0,
            };
            if name.as_str() == layout::WITHDRAWN_TARGET {
                withdrawn = Some(target);
            }
            (name_key(name), target)
        })
        .collect();
    Ok((bin, withdrawn))
}

/// Role files read (`N.ROLE.json`) → the tombstone list's target, if that file holds it.
type RoleFiles = HashMap<String, Option<TargetRef>>;

/// Every target of the release in `release_dir` whose snapshot `client` verified, and the
/// role files read.
fn read_names(
    release_dir: &Path,
    client: &Client<DirTransport>,
) -> Result<(NameMap, RoleFiles), String> {
    // One vector per bin, then one of the exact size: a growing vector would peak at three
    // times the final size while it doubles.
    let mut bins = Vec::new();
    let mut read = HashMap::new();
    for (role_file, meta) in &client.snapshot().meta {
        let file = format!("{}.{role_file}", meta.version);
        let (bin, tombstones) = read_bin(&release_dir.join("metadata").join(&file))?;
        bins.push(bin);
        read.insert(file, tombstones);
    }
    let mut names = Vec::with_capacity(bins.iter().map(Vec::len).sum());
    for bin in bins {
        names.extend(bin);
    }
    names.sort_unstable_by_key(|(key, _)| *key);
    Ok((NameMap::new(names), read))
}

/// The ids in a tombstone list target (`_withdrawn.json`), with their reasons; its bytes
/// checked against its hash.
fn read_tombstones(
    release_dir: &Path,
    target: &TargetRef,
) -> Result<HashMap<String, String>, String> {
    let path = release_dir
        .join("targets")
        .join(target_file_name(layout::WITHDRAWN_TARGET, target));
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    if Digest::of(&bytes).0 != target.sha256 {
        return Err(format!("{}: does not match its hash", path.display()));
    }
    let list: Tombstones =
        serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(list
        .withdrawn
        .into_iter()
        .map(|t| (t.id, t.reason))
        .collect())
}

/// The targets of the earlier releases still in `release_dir` that may be served with release
/// `version`: walking back from `version - 1`, each release that already hid every id in
/// `hidden`, until the first that did not (or is gone, or cannot be read: not served then).
/// Returns the (name key, SHA-256) pairs that `names` lacks, sorted, and the releases.
///
/// Reads the mirror's own metadata (verified before it was stored, as the bins of
/// [`read_names`]); a role file already read for a later release is not read again, so the
/// cost is the bins that changed.
fn read_earlier(
    release_dir: &Path,
    version: u64,
    names: &NameMap,
    mut read: RoleFiles,
    hidden: &HashSet<String>,
) -> (Vec<(u64, [u8; 32])>, Vec<u64>) {
    let metadata = release_dir.join("metadata");
    let mut earlier = Vec::new();
    let mut releases = Vec::new();
    let hid_all = |target: Option<TargetRef>| {
        hidden.is_empty()
            || target.is_some_and(|target| {
                read_tombstones(release_dir, &target)
                    .is_ok_and(|then| hidden.iter().all(|id| then.contains_key(id)))
            })
    };
    // The role (`ROLE.json`) that holds the tombstone list in the release served.
    let tombstone_role: Option<String> = read
        .iter()
        .find(|(_, found)| found.is_some())
        .and_then(|(file, _)| Some(file.split_once('.')?.1.to_owned()));
    'releases: for v in (version.saturating_sub(EARLIER_MAX).max(1)..version).rev() {
        let Ok(bytes) = std::fs::read(metadata.join(format!("{v}.snapshot.json"))) else {
            break;
        };
        let Ok(snapshot) = serde_json::from_slice::<Signed<Snapshot>>(&bytes) else {
            break;
        };
        // The tombstone list first, from the role that holds it in this release: a release
        // that withdraws a document is then served without reading the earlier release's
        // other bins (the withdrawal takes effect as fast as before).
        if let Some(role) = &tombstone_role
            && let Some(meta) = snapshot.signed.meta.get(role.as_str())
        {
            let file = format!("{}.{role}", meta.version);
            let found = match read.get(&file) {
                Some(found) => *found,
                None => read_bin(&metadata.join(&file)).ok().and_then(|(_, f)| f),
            };
            if found.is_some() && !hid_all(found) {
                break;
            }
        }
        let mut pairs = Vec::new();
        let mut tombstones = None;
        for (role_file, meta) in &snapshot.signed.meta {
            let file = format!("{}.{role_file}", meta.version);
            if let Some(found) = read.get(&file) {
                tombstones = tombstones.or(*found);
                continue;
            }
            let Ok((bin, found)) = read_bin(&metadata.join(&file)) else {
                break 'releases;
            };
            tombstones = tombstones.or(found);
            read.insert(file, found);
            // Only what this release does not have: a changed bin's other targets are the
            // same (a transient copy of every one would cost 40 bytes a target).
            pairs.extend(
                bin.into_iter()
                    .filter(|(key, target)| names.get(*key) != Some(*target))
                    .map(|(key, target)| (key, target.sha256)),
            );
        }
        if !hid_all(tombstones) {
            break;
        }

        earlier.extend(pairs);
        releases.push(v);
    }
    earlier.sort_unstable();
    earlier.dedup();
    (earlier, releases)
}

impl Served {
    /// A mirror with no release yet.
    pub fn empty() -> Served {
        Served {
            version: 0,
            timestamp: Bytes::new(),
            timestamp_etag: String::new(),
            stale_since: None,
            withdrawn: HashMap::new(),
            names: NameMap::default(),
            earlier: PairSet::default(),
            blocks: Arc::default(),
            elsewhere: Elsewhere::default(),
            earlier_releases: Vec::new(),
            generation: GENERATION.fetch_add(1, Ordering::Relaxed),
        }
    }

    /// A release of `version` with these targets (name, SHA-256) and withdrawn documents (id,
    /// reason), as if loaded: for the server's unit tests, which need no signed metadata.
    #[cfg(test)]
    pub(crate) fn of_targets(
        version: u64,
        timestamp: &[u8],
        targets: &[(&str, [u8; 32])],
        withdrawn: &[(&str, &str)],
    ) -> Served {
        let mut names: Vec<_> = targets
            .iter()
            .map(|(name, sha256)| (name_key(name), TargetRef { sha256: *sha256 }))
            .collect();
        names.sort_unstable_by_key(|(key, _)| *key);
        Served {
            version,
            timestamp: Bytes::copy_from_slice(timestamp),
            timestamp_etag: format!("\"{}\"", &Digest::of(timestamp).to_hex()[..32]),
            withdrawn: withdrawn
                .iter()
                .map(|(id, reason)| ((*id).to_owned(), (*reason).to_owned()))
                .collect(),
            names: NameMap::new(names),
            ..Served::empty()
        }
    }

    /// The same release with `blocks` hidden, as a new load (for the server's unit tests).
    #[cfg(test)]
    pub(crate) fn blocking(self, blocks: Blocks, elsewhere: Elsewhere) -> Served {
        Served {
            blocks: Arc::new(blocks),
            elsewhere,
            generation: GENERATION.fetch_add(1, Ordering::Relaxed),
            ..self
        }
    }

    /// Loads the release in `release_dir` (`metadata/`, `targets/`) against `root` (the bytes of
    /// a trusted `root.json`): signatures checked, expiry not.
    pub fn load(release_dir: &Path, root: &[u8]) -> Result<Served, String> {
        Served::load_hiding(release_dir, root, Arc::default())
    }

    /// As [`Served::load`], with the documents `blocks` blocks hidden as the withdrawn ones
    /// are: no earlier release that showed one of them is served.
    pub fn load_hiding(
        release_dir: &Path,
        root: &[u8],
        blocks: Arc<Blocks>,
    ) -> Result<Served, String> {
        let options = Options {
            allow_expired: true,
            ..Options::new(OffsetDateTime::now_utc())
        };
        let client = Client::load(root, DirTransport::new(release_dir), options)
            .map_err(|e| format!("{}: {e}", release_dir.display()))?;
        let (names, role_files) = read_names(release_dir, &client)?;
        let version = client.version();
        let stale_since = match client.freshness() {
            trust::client::Freshness::Fresh => None,
            trust::client::Freshness::Expired { since, .. } => Some(*since),
        };

        let withdrawn = match names.get(name_key(layout::WITHDRAWN_TARGET)) {
            Some(target) => read_tombstones(release_dir, &target)?,
            None => HashMap::new(),
        };
        let mut hidden: HashSet<String> = withdrawn.keys().cloned().collect();
        hidden.extend(blocks.orders.keys().cloned());
        let (earlier, earlier_releases) =
            read_earlier(release_dir, version, &names, role_files, &hidden);

        let timestamp_path = release_dir.join("metadata/timestamp.json");
        let timestamp = std::fs::read(&timestamp_path)
            .map_err(|e| format!("{}: {e}", timestamp_path.display()))?;
        let timestamp_etag = format!("\"{}\"", &Digest::of(&timestamp).to_hex()[..32]);
        let elsewhere = if blocks.orders.is_empty() {
            Elsewhere::default()
        } else {
            Elsewhere::read(release_dir, &names)
        };
        Ok(Served {
            version,
            timestamp: Bytes::from(timestamp),
            timestamp_etag,
            stale_since,
            withdrawn,
            names,
            earlier: PairSet::new(earlier),
            elsewhere,
            blocks,
            earlier_releases,
            generation: GENERATION.fetch_add(1, Ordering::Relaxed),
        })
    }

    /// The target named `name` in this release (none for a blocked document's).
    pub fn target(&self, name: &str) -> Option<TargetRef> {
        if self.is_blocked(name) {
            return None;
        }
        self.names.get(name_key(name))
    }

    /// Whether the target `name` belongs to a blocked document.
    fn is_blocked(&self, name: &str) -> bool {
        !self.blocks.orders.is_empty()
            && layout::doc_of_target(name).is_some_and(|id| self.blocks.orders.contains_key(id))
    }

    /// The order that blocks the document `id`, if one does.
    pub fn blocked(&self, id: &str) -> Option<&Order> {
        self.blocks.orders.get(id)
    }

    /// How many documents are blocked.
    pub fn blocked_count(&self) -> usize {
        self.blocks.orders.len()
    }

    /// The blocks log, as served (empty when the mirror has none).
    pub fn blocks_log(&self) -> &Bytes {
        &self.blocks.log
    }

    /// Where else the archive is served, as the release says.
    pub fn elsewhere(&self) -> &Elsewhere {
        &self.elsewhere
    }

    /// Whether the file `SHA.NAME` may be served under `/targets/`: a target of this release,
    /// or of an earlier one kept that hid every document this one hides.
    pub fn serves_file(&self, file_name: &str) -> bool {
        let Some((sha, name)) = file_name.split_once('.') else {
            return false;
        };
        let mut sha256 = [0; 32];
        // Exactly 64 digits (const-hex would also take a `0x` before them).
        if sha.len() != 64 || const_hex::decode_to_slice(sha, &mut sha256).is_err() {
            return false;
        }
        if self.is_blocked(name) {
            return false;
        }
        let key = name_key(name);
        self.names.get(key) == Some(TargetRef { sha256 }) || self.earlier.contains(&(key, sha256))
    }

    pub fn targets(&self) -> usize {
        self.names.len()
    }

    /// Why the document `id` was withdrawn, if it was.
    pub fn withdrawn(&self, id: &str) -> Option<&str> {
        self.withdrawn.get(id).map(String::as_str)
    }
}

/// The file name of a target under `targets/` (TUF consistent snapshots: `SHA256.NAME`).
pub fn target_file_name(name: &str, target: &TargetRef) -> String {
    format!("{}.{name}", hex::encode(target.sha256))
}

/// Where else a reader may find the archive, as the release says: the mirrors its reader site
/// lists (`mirrors.json`), and the lists of the directories it vouches for
/// (`_directories.json`: each directory's `mirrors.json`). Only http(s) URLs; at most
/// [`ELSEWHERE_MAX`] of each.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Elsewhere {
    pub mirrors: Vec<String>,
    pub directory_lists: Vec<String>,
}

const ELSEWHERE_MAX: usize = 50;

impl Elsewhere {
    /// Read from the release's own targets (each checked against its hash); what cannot be
    /// read is left out: the 451 page then says less, nothing more is served.
    fn read(release_dir: &Path, names: &NameMap) -> Elsewhere {
        let json = |name: &str| -> Option<serde_json::Value> {
            let target = names.get(name_key(name))?;
            let path = release_dir
                .join("targets")
                .join(target_file_name(name, &target));
            let bytes = std::fs::read(path).ok()?;
            (Digest::of(&bytes).0 == target.sha256)
                .then(|| serde_json::from_slice(&bytes).ok())
                .flatten()
        };
        let urls = |values: Vec<String>| -> Vec<String> {
            values
                .into_iter()
                .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
                .take(ELSEWHERE_MAX)
                .collect()
        };
        let strings = |value: Option<&serde_json::Value>| -> Vec<String> {
            value
                .and_then(serde_json::Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        };
        let mirrors = layout::target_of_plain_path("/mirrors.json")
            .and_then(|name| json(&name))
            .map(|list| strings(list.get("mirrors")))
            .unwrap_or_default();
        let directories: Vec<String> = json(layout::DIRECTORIES_TARGET)
            .and_then(|index| index.get("directories").cloned())
            .and_then(|list| list.as_array().cloned())
            .into_iter()
            .flatten()
            .filter_map(|d| {
                d.get("url")?
                    .as_str()
                    .map(|u| format!("{}mirrors.json", net::base_url(u)))
            })
            .collect();
        Elsewhere {
            mirrors: urls(mirrors),
            directory_lists: urls(directories),
        }
    }
}

#[derive(serde::Deserialize)]
struct Tombstones {
    withdrawn: Vec<Tombstone>,
}

#[derive(serde::Deserialize)]
struct Tombstone {
    id: String,
    reason: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Keys spread as name keys are, and the edges of the key space.
    fn keys(n: u64) -> Vec<u64> {
        let mut keys: Vec<u64> = (0..n).map(|i| name_key(&format!("d{i}.json"))).collect();
        keys.extend([0, 1, u64::MAX, u64::MAX - 1, 1 << 63, (1 << 63) - 1]);
        keys.sort_unstable();
        keys.dedup();
        keys
    }

    fn target(key: u64) -> TargetRef {
        let mut sha256 = [0; 32];
        sha256[..8].copy_from_slice(&key.to_be_bytes());
        TargetRef { sha256 }
    }

    /// Issue 15 (random documents dearer): the radix index finds every key a binary search of
    /// the whole vector finds, and no other, at every size from empty to a few thousand.
    #[test]
    fn radix_index_finds_what_a_binary_search_finds() {
        for n in [0, 1, 2, 3, 5, 17, 100, 1000, 4099] {
            let present = keys(n);
            let map = NameMap::new(present.iter().map(|k| (*k, target(*k))).collect());
            assert_eq!(map.len(), present.len());
            for key in &present {
                assert_eq!(map.get(*key), Some(target(*key)), "n {n}, key {key:x}");
            }
            let others = (0..2000u64).map(|i| name_key(&format!("absent{i}")));
            for key in others.chain(present.iter().map(|k| k.wrapping_add(1))) {
                let found = present.binary_search(&key).is_ok().then(|| target(key));
                assert_eq!(map.get(key), found, "n {n}, key {key:x}");
            }
            let pairs: Vec<(u64, [u8; 32])> =
                present.iter().map(|k| (*k, target(*k).sha256)).collect();
            let set = PairSet::new(pairs.clone());
            for (key, sha256) in &pairs {
                assert!(set.contains(&(*key, *sha256)));
                let mut other = *sha256;
                other[31] ^= 1;
                assert!(!set.contains(&(*key, other)), "n {n}, key {key:x}");
            }
        }
    }

    /// A file is served by its exact name: 64 hex digits of its SHA-256, a dot, the target's
    /// name; not the same digits with `0x` before them (which const-hex alone would take), one
    /// short, or with another target's name.
    #[test]
    fn a_file_is_served_by_its_exact_name_only() {
        let sha = [0xab; 32];
        let served = Served::of_targets(1, b"{}", &[("d1.json", sha), ("d2.json", [1; 32])], &[]);
        let hex = hex::encode(sha);
        assert!(served.serves_file(&format!("{hex}.d1.json")));
        for wrong in [
            format!("0x{hex}.d1.json"),
            format!("{}.d1.json", &hex[1..]),
            format!("{hex}0.d1.json"),
            format!("{hex}.d2.json"),
            format!("{hex}.d1.jso"),
            format!("{hex}d1.json"),
            format!("{}.d1.json", "zz".repeat(32)),
        ] {
            assert!(!served.serves_file(&wrong), "{wrong}");
        }
    }

    /// Several earlier targets under one name (one name, another file in each release) are
    /// each found in one bucket.
    #[test]
    fn pair_set_holds_one_name_with_several_hashes() {
        let key = name_key("d1.json");
        let mut pairs: Vec<(u64, [u8; 32])> = (0..5u8).map(|b| (key, [b; 32])).collect();
        pairs.extend(keys(300).into_iter().map(|k| (k, [9; 32])));
        pairs.sort_unstable();
        pairs.dedup();
        let set = PairSet::new(pairs);
        for b in 0..5u8 {
            assert!(set.contains(&(key, [b; 32])));
        }
        assert!(!set.contains(&(key, [7; 32])));
    }
}
