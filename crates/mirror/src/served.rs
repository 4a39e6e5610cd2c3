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
//! `/targets/` and `/metadata/` requests need no lookup at all: the file name is the address.

use std::collections::HashMap;
use std::path::Path;

use archive::layout;
use bytes::Bytes;
use time::OffsetDateTime;
use trust::client::{Client, DirTransport, Options};
use trust::schema::{Digest, Signed, Targets};

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
}

/// A target of the served release: its SHA-256, which names its file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetRef {
    pub sha256: [u8; 32],
}

/// Target name (hashed) → target, sorted by key, found by binary search: exactly 40 bytes a
/// target (a hash map rounds up to a power of two: 43 MB instead of 21 at 525,003 targets).
#[derive(Default)]
struct NameMap(Vec<(u64, TargetRef)>);

impl NameMap {
    fn get(&self, key: u64) -> Option<TargetRef> {
        let i = self.0.binary_search_by_key(&key, |(k, _)| *k).ok()?;
        Some(self.0[i].1)
    }

    fn len(&self) -> usize {
        self.0.len()
    }
}

fn name_key(name: &str) -> u64 {
    let digest = Digest::of(name.as_bytes()).0;
    u64::from_le_bytes([
        digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7],
    ])
}

/// Every target of the release in `release_dir` whose snapshot `client` verified.
fn read_names(release_dir: &Path, client: &Client<DirTransport>) -> Result<NameMap, String> {
    // One vector per bin, then one of the exact size: a growing vector would peak at three
    // times the final size while it doubles.
    let mut bins = Vec::new();
    for (role_file, meta) in &client.snapshot().meta {
        let path = release_dir
            .join("metadata")
            .join(format!("{}.{role_file}", meta.version));
        let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let role: Signed<Targets> =
            serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        let bin: Vec<(u64, TargetRef)> = role
            .signed
            .targets
            .iter()
            .map(|(name, info)| {
                let target = TargetRef {
                    sha256: info.hashes.sha256.0,
                };
                (name_key(name), target)
            })
            .collect();
        bins.push(bin);
    }
    let mut names = Vec::with_capacity(bins.iter().map(Vec::len).sum());
    for bin in bins {
        names.extend(bin);
    }
    names.sort_unstable_by_key(|(key, _)| *key);
    Ok(NameMap(names))
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
        }
    }

    /// Loads the release in `release_dir` (`metadata/`, `targets/`) against `root` (the bytes of
    /// a trusted `root.json`): signatures checked, expiry not.
    pub fn load(release_dir: &Path, root: &[u8]) -> Result<Served, String> {
        let options = Options {
            allow_expired: true,
            ..Options::new(OffsetDateTime::now_utc())
        };
        let client = Client::load(root, DirTransport::new(release_dir), options)
            .map_err(|e| format!("{}: {e}", release_dir.display()))?;
        let names = read_names(release_dir, &client)?;
        let version = client.version();
        let stale_since = match client.freshness() {
            trust::client::Freshness::Fresh => None,
            trust::client::Freshness::Expired { since, .. } => Some(*since),
        };

        let mut withdrawn = HashMap::new();
        if let Some(target) = names.get(name_key(layout::WITHDRAWN_TARGET)) {
            let path = release_dir
                .join("targets")
                .join(target_file_name(layout::WITHDRAWN_TARGET, &target));
            let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
            if Digest::of(&bytes).0 != target.sha256 {
                return Err(format!("{}: does not match its hash", path.display()));
            }
            let list: Tombstones =
                serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
            for tombstone in list.withdrawn {
                withdrawn.insert(tombstone.id, tombstone.reason);
            }
        }

        let timestamp_path = release_dir.join("metadata/timestamp.json");
        let timestamp = std::fs::read(&timestamp_path)
            .map_err(|e| format!("{}: {e}", timestamp_path.display()))?;
        let timestamp_etag = format!("\"{}\"", &Digest::of(&timestamp).to_hex()[..32]);
        Ok(Served {
            version,
            timestamp: Bytes::from(timestamp),
            timestamp_etag,
            stale_since,
            withdrawn,
            names,
        })
    }

    /// The target named `name` in this release.
    pub fn target(&self, name: &str) -> Option<TargetRef> {
        self.names.get(name_key(name))
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

#[derive(serde::Deserialize)]
struct Tombstones {
    withdrawn: Vec<Tombstone>,
}

#[derive(serde::Deserialize)]
struct Tombstone {
    id: String,
    reason: String,
}
