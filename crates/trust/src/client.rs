//! The verifying client: TUF 1.0's detailed client workflow (spec section 5) over a
//! [`Transport`], lazy about delegations so that verifying one document fetches only the bins on
//! its path.
//!
//! A [`Client`] can only be built by [`Client::load`], which runs steps 5.1–5.6.6; holding one
//! means root, timestamp, snapshot and top-level targets verified. Delegated roles are verified
//! when first needed (5.6.7), each with its delegator's keys and against the snapshot's version.
//! Comments quote the spec's step numbers; departures are marked "Off-spec:".
//!
//! The modules, along the client's seams:
//!
//! - `transport`: where bytes come from ([`Transport`], [`FetchError`], [`DirTransport`]) and
//!   the check of a downloaded target against its verified length and hash (5.7.3,
//!   [`fetch_verified_target`]);
//! - `trusted`: the [`TrustedMetadataSet`], every check of 5.2–5.6 as a step that takes bytes,
//!   with the clock given when the set is made: no transport, so each step is unit-tested and
//!   fuzzed alone. A new top-level role would get its step here;
//! - `load`: the workflow driven over a transport (fetch, hand the bytes to the set, count
//!   them), and the loading of delegated roles, one at a time or a level at a time;
//! - `search`: the target search of 5.6.7 over the roles loaded so far, and the per-role index
//!   that resolves every name of a release;
//! - `changes`: the targets added or changed since an earlier release
//!   ([`Client::targets_changed_since`]).
//!
//! This module holds the [`Client`] itself, its [`Options`] and what it reports.
//!
//! Architecture invariant: nothing here can load a private key; only [`PublicKey`]s are handled.
//!
//! [`PublicKey`]: crate::keys::PublicKey

use std::collections::HashMap;

use time::OffsetDateTime;

use crate::error::{Error, ErrorKind, Result};
use crate::schema::{Digest, Root, Snapshot, TargetInfo, TargetName, Targets, Timestamp};

mod changes;
mod load;
mod search;
mod transport;
mod trusted;

pub use changes::Listing;
pub use transport::{
    DirTransport, FetchError, Transport, fetch_verified_target, fetch_verified_targets, not_asked,
    not_asked_after_failure, target_file_name,
};
pub use trusted::TrustedMetadataSet;

use search::{Resolver, Scratch, Search, search};

/// How the client checks.
#[derive(Clone, Debug)]
pub struct Options {
    /// 5.1: the fixed update start time every expiry is compared with.
    pub now: OffsetDateTime,
    /// Record expired metadata in [`Client::freshness`] instead of refusing it. Signatures,
    /// versions and hashes are still all checked. For "authentic, but not known fresh".
    pub allow_expired: bool,
    /// 5.3.3: most root versions to walk through in one load.
    pub max_root_rotations: u32,
    /// Size caps for files whose length no signed metadata gives.
    pub max_root_len: u64,
    pub max_timestamp_len: u64,
    pub max_snapshot_len: u64,
    pub max_targets_len: u64,
    /// 5.6.7.1: most roles visited in one target search.
    pub max_delegation_visits: usize,
}

impl Options {
    /// Defaults (python-tuf's, with a larger snapshot cap) at time `now`.
    pub fn new(now: OffsetDateTime) -> Self {
        Self {
            now,
            allow_expired: false,
            max_root_rotations: 1024,
            max_root_len: 512_000,
            max_timestamp_len: 16_384,
            max_snapshot_len: 4_000_000,
            max_targets_len: 5_000_000,
            max_delegation_visits: 32,
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Self::new(OffsetDateTime::now_utc())
    }
}

/// Whether everything verified was also unexpired.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Freshness {
    Fresh,
    /// The earliest-expiring role seen expired (only with [`Options::allow_expired`]).
    Expired {
        role: String,
        since: OffsetDateTime,
    },
}

impl Freshness {
    /// `role` expired at `since`: kept if it is the earliest expiry seen.
    fn note_expired(&mut self, role: &str, since: OffsetDateTime) {
        let earlier = match self {
            Freshness::Fresh => true,
            Freshness::Expired { since: before, .. } => since < *before,
        };
        if earlier {
            *self = Freshness::Expired {
                role: role.to_string(),
                since,
            };
        }
    }
}

/// Metadata a client trusted before (persisted by a mirror or reader), for rollback checks
/// (5.4.3, 5.5.5). Both are verified against the current root before use.
#[derive(Clone, Debug, Default)]
pub struct TrustedState {
    pub timestamp: Option<Vec<u8>>,
    pub snapshot: Option<Vec<u8>>,
}

/// A verified view of a repository. See the module documentation.
pub struct Client<T: Transport> {
    transport: T,
    options: Options,
    root: Root,
    root_bytes: Vec<u8>,
    timestamp: Timestamp,
    timestamp_bytes: Vec<u8>,
    snapshot: Snapshot,
    snapshot_bytes: Vec<u8>,
    /// Verified targets roles by name, `targets` included.
    roles: HashMap<String, Targets>,
    freshness: Freshness,
    metadata_bytes: u64,
}

impl<T: Transport> Client<T> {
    /// Runs the client workflow up to the top-level targets (5.1–5.6.6), trusting only
    /// `trusted_root_json`.
    pub fn load(trusted_root_json: &[u8], transport: T, options: Options) -> Result<Self> {
        Self::load_with_trusted_state(
            trusted_root_json,
            transport,
            options,
            TrustedState::default(),
        )
    }

    /// [`Self::load`] with a previously trusted timestamp and snapshot to detect rollbacks.
    pub fn load_with_trusted_state(
        trusted_root_json: &[u8],
        transport: T,
        options: Options,
        trusted_state: TrustedState,
    ) -> Result<Self> {
        load::load(trusted_root_json, transport, options, trusted_state)
    }

    /// The release: the verified snapshot's version.
    pub fn version(&self) -> u64 {
        self.snapshot.version
    }

    /// The verified timestamp's version.
    pub fn timestamp_version(&self) -> u64 {
        self.timestamp.version
    }

    /// Whether all metadata verified so far was unexpired.
    pub fn freshness(&self) -> &Freshness {
        &self.freshness
    }

    /// The newest trusted root.
    pub fn root(&self) -> &Root {
        &self.root
    }

    /// The bytes of the newest trusted root, to persist (5.3.8) and start from next time.
    pub fn trusted_root_json(&self) -> &[u8] {
        &self.root_bytes
    }

    /// The verified timestamp and snapshot, to persist (5.4.5, 5.5.7) and pass to
    /// [`Self::load_with_trusted_state`] next time.
    pub fn trusted_state(&self) -> TrustedState {
        TrustedState {
            timestamp: Some(self.timestamp_bytes.clone()),
            snapshot: Some(self.snapshot_bytes.clone()),
        }
    }

    /// The verified snapshot: every role's version (and the file names `{version}.{role}.json`).
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// The SHA-256 of the verified snapshot's bytes: two clients with the same digest verified
    /// the same release, byte for byte (a directory audits many mirrors of one release).
    pub fn snapshot_digest(&self) -> Digest {
        Digest::of(&self.snapshot_bytes)
    }

    /// Bytes of metadata fetched so far (the trusted root passed in is not counted).
    pub fn metadata_bytes(&self) -> u64 {
        self.metadata_bytes
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// 5.6.7: the verified entry of target `name`, fetching and verifying only the delegated
    /// roles on its path (pre-order depth-first search). `None` if no role on the path lists it.
    pub fn target_info(&mut self, name: &TargetName) -> Result<Option<TargetInfo>> {
        // Each pass either ends or loads one more role on the path: at most one pass a role.
        loop {
            match search(
                &self.roles,
                self.options.max_delegation_visits,
                name.as_str(),
            ) {
                Search::Found(info, _) => return Ok(Some(info.clone())),
                Search::NotFound => return Ok(None),
                Search::Load { role, delegator } => self.load_delegated(&role, &delegator)?,
            }
        }
    }

    /// 5.7: downloads target `name` (at most its signed length) from
    /// `targets/SHA256.NAME` and checks its length and SHA-256. A name that no metadata lists is
    /// [`ErrorKind::NotFound`].
    pub fn fetch_target(&mut self, name: &TargetName) -> Result<Vec<u8>> {
        // 5.7.1, 5.7.2
        let Some(info) = self.target_info(name)? else {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "target {name} is not in release {} ({})",
                    self.version(),
                    self.transport.describe()
                ),
            ));
        };
        fetch_verified_target(&self.transport, name, &info)
    }

    /// Downloads target `name` whose length and hash come from a verified source other than the
    /// bins: a document's record (itself a verified target) carries its original's. Same checks
    /// as [`Client::fetch_target`], no metadata fetched.
    pub fn fetch_attested(
        &self,
        name: &TargetName,
        length: u64,
        sha256: [u8; 32],
    ) -> Result<Vec<u8>> {
        let info = TargetInfo {
            length,
            hashes: crate::schema::Hashes {
                sha256: Digest(sha256),
            },
            custom: None,
        };
        fetch_verified_target(&self.transport, name, &info)
    }

    /// Every target of the release, sorted by name: loads every delegated role, then resolves
    /// each listed name with the same search as [`Self::target_info`] (so a role listing a name
    /// outside its delegation does not count).
    pub fn all_targets(&mut self) -> Result<Vec<(TargetName, TargetInfo)>> {
        use rayon::prelude::*;
        self.load_every_role()?;
        let resolver = Resolver::new(self);
        // Role by role on all cores, each name kept where the search finds it.
        let found: Vec<Result<Vec<(TargetName, TargetInfo)>>> = self
            .roles
            .par_iter()
            .filter(|(_, role)| !role.targets.is_empty())
            .map(|(role_name, role)| {
                let mut scratch = Scratch::default();
                let mut out = Vec::new();
                for name in role.targets.keys() {
                    if let Some((target, info, found_in)) = resolver.resolve(name, &mut scratch)?
                        && found_in == role_name
                    {
                        out.push((target, info.clone()));
                    }
                }
                Ok(out)
            })
            .collect();
        let mut all = Vec::new();
        for part in found {
            all.extend(part?);
        }
        all.par_sort_unstable_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        Ok(all)
    }

    /// Up to `count` distinct targets drawn at random, each by a walk down the delegations:
    /// from `targets`, a role's own list or one of its delegations chosen at random, loading
    /// (and verifying) only the roles walked through, then a name of a list at random, resolved
    /// by the same search as [`Self::target_info`] (a name a role lists outside its delegation is
    /// not drawn). A draw loads one path's roles (two or three files in a hashed-bin tree) where
    /// [`Self::all_targets`] loads every role; with hashed bins every target is about as likely.
    /// Fewer than `count` when walks keep ending in empty roles (at most `8 × count` walks).
    pub fn draw_targets(
        &mut self,
        count: usize,
        rng: &mut dyn rand_core::RngCore,
    ) -> Result<Vec<(TargetName, TargetInfo)>> {
        let mut drawn: Vec<(TargetName, TargetInfo)> = Vec::with_capacity(count);
        for _ in 0..count.saturating_mul(8) {
            if drawn.len() >= count {
                break;
            }
            let Some(name) = self.walk(rng)? else {
                continue;
            };
            if drawn.iter().any(|(known, _)| known.as_str() == name) {
                continue;
            }
            let name = TargetName::new(name)?;
            if let Some(info) = self.target_info(&name)? {
                drawn.push((name, info));
            }
        }
        Ok(drawn)
    }

    /// One walk of [`Self::draw_targets`]: a name listed by a role reached from `targets` through
    /// random delegations (at most `max_delegation_visits` of them), `None` at an empty role.
    fn walk(&mut self, rng: &mut dyn rand_core::RngCore) -> Result<Option<String>> {
        let below = |n: usize, rng: &mut dyn rand_core::RngCore| {
            usize::try_from(rng.next_u64() % n.max(1) as u64).unwrap_or(0)
        };
        let mut role = "targets".to_owned();
        for _ in 0..self.options.max_delegation_visits {
            let Some(loaded) = self.roles.get(&role) else {
                return Err(Error::new(
                    ErrorKind::Malformed,
                    format!("role {role} walked to but not loaded"),
                ));
            };
            let own = usize::from(!loaded.targets.is_empty());
            let delegated = loaded.delegations.as_ref().map_or(0, |d| d.roles.len());
            if own + delegated == 0 {
                return Ok(None);
            }
            let choice = below(own + delegated, rng);
            if choice < own {
                let index = below(loaded.targets.len(), rng);
                return Ok(loaded.targets.keys().nth(index).cloned());
            }
            let child = loaded
                .delegations
                .as_ref()
                .and_then(|d| d.roles.get(choice - own))
                .map(|d| d.name.clone())
                .unwrap_or_default();
            self.load_delegated(&child, &role)?;
            role = child;
        }
        Ok(None)
    }

    /// How many target names the loaded roles list (the release's targets, when every listing
    /// is one a search reaches: always, in releases of ours).
    pub fn listed_targets(&self) -> usize {
        self.roles.values().map(|role| role.targets.len()).sum()
    }
}
