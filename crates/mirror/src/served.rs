//! The release a mirror serves, in memory: each target's hash and length by name (to resolve
//! the plain site paths), the withdrawn documents (410 Gone), and `timestamp.json` itself.
//!
//! Loaded from the mirror's own disk through the TUF client (signatures checked again, expiry
//! not: an expired release is still served, readers decide), once at start and after each sync.
//! The index is one sorted table over a string arena, not a `HashMap<String, _>`: at 250,000
//! documents (500,001 targets) it costs ~40 MB instead of ~100 MB, and the mirror's whole
//! budget is 100 MB.

use std::collections::HashMap;
use std::path::Path;

use archive::layout;
use bytes::Bytes;
use time::OffsetDateTime;
use trust::client::{Client, DirTransport, Options};
use trust::schema::Digest;

/// One release, as served.
pub struct Served {
    /// The snapshot version: the release number.
    pub version: u64,
    pub timestamp: Bytes,
    pub timestamp_etag: String,
    /// Since when the release is expired (readers call it stale), if it is.
    pub stale_since: Option<OffsetDateTime>,
    names: NameIndex,
    /// Withdrawn document id → the publisher's reason.
    withdrawn: HashMap<String, String>,
}

/// A target of the served release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetRef {
    pub sha256: [u8; 32],
    pub length: u64,
}

impl Served {
    /// A mirror with no release yet.
    pub fn empty() -> Served {
        Served {
            version: 0,
            timestamp: Bytes::new(),
            timestamp_etag: String::new(),
            stale_since: None,
            names: NameIndex::default(),
            withdrawn: HashMap::new(),
        }
    }

    /// Loads the release in `release_dir` (`metadata/`, `targets/`) against `root` (the bytes of
    /// a trusted `root.json`). Every bin's signature is checked; expiry is not.
    pub fn load(release_dir: &Path, root: &[u8]) -> Result<Served, String> {
        let options = Options {
            allow_expired: true,
            ..Options::new(OffsetDateTime::now_utc())
        };
        let context = |e: trust::Error| format!("{}: {e}", release_dir.display());
        let mut client =
            Client::load(root, DirTransport::new(release_dir), options).map_err(context)?;
        let version = client.version();
        let targets = client.all_targets().map_err(context)?;
        let mut names = NameIndex::with_capacity(targets.len());
        for (name, info) in &targets {
            names.push(
                name.as_str(),
                TargetRef {
                    sha256: info.hashes.sha256.0,
                    length: info.length,
                },
            );
        }
        names.finish();

        let mut withdrawn = HashMap::new();
        if let Some(target) = names.get(layout::WITHDRAWN_TARGET) {
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
        let stale_since = match client.freshness() {
            trust::client::Freshness::Fresh => None,
            trust::client::Freshness::Expired { since, .. } => Some(*since),
        };
        Ok(Served {
            version,
            timestamp: Bytes::from(timestamp),
            timestamp_etag,
            stale_since,
            names,
            withdrawn,
        })
    }

    /// The target named `name` in this release.
    pub fn target(&self, name: &str) -> Option<TargetRef> {
        self.names.get(name)
    }

    pub fn targets(&self) -> usize {
        self.names.entries.len()
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

/// Target names in one arena, entries sorted by name, found by binary search.
#[derive(Default)]
struct NameIndex {
    arena: String,
    entries: Vec<Entry>,
}

struct Entry {
    start: u32,
    len: u32,
    target: TargetRef,
}

impl NameIndex {
    fn with_capacity(n: usize) -> NameIndex {
        NameIndex {
            arena: String::with_capacity(n * 24),
            entries: Vec::with_capacity(n),
        }
    }

    fn push(&mut self, name: &str, target: TargetRef) {
        // Target names are at most 255 bytes and an arena past 4 GiB would be 16 million
        // targets: the u32 offsets hold for any release the TUF limits allow.
        let start = self.arena.len() as u32;
        self.arena.push_str(name);
        self.entries.push(Entry {
            start,
            len: name.len() as u32,
            target,
        });
    }

    fn name(&self, entry: &Entry) -> &str {
        &self.arena[entry.start as usize..(entry.start + entry.len) as usize]
    }

    fn finish(&mut self) {
        let mut entries = std::mem::take(&mut self.entries);
        entries.sort_unstable_by(|a, b| self.name(a).cmp(self.name(b)));
        self.entries = entries;
        self.entries.shrink_to_fit();
        self.arena.shrink_to_fit();
    }

    fn get(&self, name: &str) -> Option<TargetRef> {
        let i = self
            .entries
            .binary_search_by(|entry| self.name(entry).cmp(name))
            .ok()?;
        Some(self.entries[i].target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_finds_every_name_and_nothing_else() {
        let mut index = NameIndex::with_capacity(3);
        for (i, name) in ["b.json", "a.original.pdf", "_withdrawn.json"]
            .iter()
            .enumerate()
        {
            index.push(
                name,
                TargetRef {
                    sha256: [i as u8; 32],
                    length: i as u64,
                },
            );
        }
        index.finish();
        assert_eq!(index.get("b.json").map(|t| t.length), Some(0));
        assert_eq!(index.get("a.original.pdf").map(|t| t.length), Some(1));
        assert_eq!(index.get("_withdrawn.json").map(|t| t.length), Some(2));
        assert_eq!(index.get("a.json"), None);
        assert_eq!(index.get(""), None);
    }
}
