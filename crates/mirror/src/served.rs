//! The release a mirror serves, in memory: `timestamp.json` itself, the withdrawn documents
//! (410 Gone), and a lazy lookup of targets by name (to resolve the plain site paths).
//!
//! Loaded from the mirror's own disk through the TUF client (signatures checked again, expiry
//! not: an expired release is still served, readers decide), once at start and after each sync.
//! Only the top-level metadata is read then; a name is resolved through the bins on its path,
//! as a reader's client does, and the bins read are kept up to [`MAX_ROLES`] (then the client
//! starts afresh). A 250,000-document release is served in a few MB instead of holding its
//! 500,001 target entries (a ~40 MB table, and ~250 MB while building it from every bin).
//! `/targets/` and `/metadata/` requests need no lookup at all: the file name is the address.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use archive::layout;
use bytes::Bytes;
use time::OffsetDateTime;
use trust::TargetName;
use trust::client::{Client, DirTransport, Options};
use trust::schema::Digest;

/// Bins kept parsed for lookups (~60 KB each at 400 targets a bin).
pub const MAX_ROLES: usize = 256;

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
    lookup: Option<Mutex<Lookup>>,
}

/// A target of the served release.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TargetRef {
    pub sha256: [u8; 32],
    pub length: u64,
}

struct Lookup {
    release_dir: PathBuf,
    root: Vec<u8>,
    client: Client<DirTransport>,
}

impl Lookup {
    fn open(release_dir: &Path, root: &[u8]) -> Result<Lookup, String> {
        let options = Options {
            allow_expired: true,
            ..Options::new(OffsetDateTime::now_utc())
        };
        let client = Client::load(root, DirTransport::new(release_dir), options)
            .map_err(|e| format!("{}: {e}", release_dir.display()))?;
        Ok(Lookup {
            release_dir: release_dir.to_owned(),
            root: root.to_owned(),
            client,
        })
    }

    fn target(&mut self, name: &str) -> Option<TargetRef> {
        if self.client.loaded_roles() > MAX_ROLES {
            // Starting afresh re-reads only root, timestamp, snapshot and targets.json.
            match Lookup::open(&self.release_dir, &self.root) {
                Ok(fresh) => *self = fresh,
                Err(e) => eprintln!("samizdat mirror: {e}"),
            }
        }
        let name = TargetName::new(name).ok()?;
        let info = self.client.target_info(&name).ok()??;
        Some(TargetRef {
            sha256: info.hashes.sha256.0,
            length: info.length,
        })
    }
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
            lookup: None,
        }
    }

    /// Loads the release in `release_dir` (`metadata/`, `targets/`) against `root` (the bytes of
    /// a trusted `root.json`): signatures checked, expiry not.
    pub fn load(release_dir: &Path, root: &[u8]) -> Result<Served, String> {
        let mut lookup = Lookup::open(release_dir, root)?;
        let version = lookup.client.version();
        let stale_since = match lookup.client.freshness() {
            trust::client::Freshness::Fresh => None,
            trust::client::Freshness::Expired { since, .. } => Some(*since),
        };

        let mut withdrawn = HashMap::new();
        if let Some(target) = lookup.target(layout::WITHDRAWN_TARGET) {
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
            lookup: Some(Mutex::new(lookup)),
        })
    }

    /// The target named `name` in this release.
    pub fn target(&self, name: &str) -> Option<TargetRef> {
        self.lookup.as_ref()?.lock().ok()?.target(name)
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
