//! Loading: the client workflow driven over a [`Transport`]. [`load`] fetches each top-level
//! file and hands its bytes to a [`TrustedMetadataSet`] (5.1–5.6.6), counting what it fetched;
//! a [`Client`] then loads delegated roles as a search needs them ([`Client::load_delegated`])
//! or all of them a level at a time ([`Client::load_every_role`]), with the set's checks for
//! delegated roles ([`Delegation`]).

use std::collections::HashSet;

use super::transport::{fetch_error, within_cap};
use super::trusted::{
    Delegation, TIMESTAMP_PATH, TrustedMetadataSet, Verified, verify_with_top_level_role,
    versioned_path,
};
use super::{Client, Freshness, Options, Transport, TrustedState};
use crate::error::{Error, ErrorKind, Result};
use crate::schema::Root;
use crate::verify::Envelope;

/// Runs the client workflow up to the top-level targets (5.1–5.6.6) over `transport`, trusting
/// only `trusted_root_json`, with `trusted_state` for rollback checks: see
/// [`Client::load_with_trusted_state`].
pub(super) fn load<T: Transport>(
    trusted_root_json: &[u8],
    transport: T,
    options: Options,
    trusted_state: TrustedState,
) -> Result<Client<T>> {
    // 5.1: the fixed update start time is `options.now`.
    // 5.2: load the trusted root.
    let mut set = TrustedMetadataSet::new(trusted_root_json, options, transport.describe())?;
    let mut loader = Loader {
        transport,
        metadata_bytes: 0,
    };
    // A trusted timestamp or snapshot that the trusted root's keys do not sign is set aside,
    // as python-tuf sets aside a local file it cannot load: it was signed under keys that a
    // root walked through since rotated (5.3.11 would have deleted it, but a mirror serves
    // it until it has a release signed with the new keys), or it is damaged.
    let mut trusted_state = usable_trusted_state(trusted_state, set.root());
    // 5.3: update the root, one version at a time.
    loader.update_root(&mut set, &mut trusted_state)?;
    // 5.3.10, 5.3.12.
    set.check_final_root()?;
    // 5.4: timestamp, checked against the one trusted before.
    if let Some(bytes) = &trusted_state.timestamp {
        set.load_trusted_timestamp(bytes)?;
    }
    // 5.4.1: download, capped.
    let bytes = loader.fetch_metadata(TIMESTAMP_PATH, set.options().max_timestamp_len)?;
    set.update_timestamp(&bytes)?;
    // 5.4.5 (persisting) is the caller's: see `Client::trusted_state`.
    // 5.5: snapshot, checked against the one trusted before.
    if let Some(bytes) = &trusted_state.snapshot {
        set.load_trusted_snapshot(bytes)?;
    }
    // 5.5.1: download VERSION.snapshot.json, capped by the timestamp's length if given.
    let meta = set.snapshot_meta()?;
    let path = versioned_path(meta.version, "snapshot");
    let max_len = meta.length.unwrap_or(set.options().max_snapshot_len);
    let bytes = loader.fetch_metadata(&path, max_len)?;
    set.update_snapshot(&bytes)?;
    // 5.5.7 (persisting) is the caller's: see `Client::trusted_state`.
    // 5.6.1: download VERSION.targets.json, capped by the snapshot's length if given.
    let meta = set.targets_meta()?;
    let path = versioned_path(meta.version, "targets");
    let max_len = meta.length.unwrap_or(set.options().max_targets_len);
    let bytes = loader.fetch_metadata(&path, max_len)?;
    set.update_targets(&bytes)?;
    let complete = set.into_complete()?;
    Ok(Client {
        transport: loader.transport,
        options: complete.options,
        root: complete.root,
        root_bytes: complete.root_bytes,
        timestamp: complete.timestamp,
        timestamp_bytes: complete.timestamp_bytes,
        snapshot: complete.snapshot,
        snapshot_bytes: complete.snapshot_bytes,
        roles: complete.roles,
        freshness: complete.freshness,
        metadata_bytes: loader.metadata_bytes,
    })
}

/// The transport, and what was fetched through it, before a `Client` exists.
struct Loader<T: Transport> {
    transport: T,
    metadata_bytes: u64,
}

impl<T: Transport> Loader<T> {
    fn fetch_metadata(&mut self, path: &str, max_len: u64) -> Result<Vec<u8>> {
        let bytes = self
            .transport
            .fetch(path, max_len)
            .map_err(|error| fetch_error(&self.transport.describe(), path, error))?;
        within_cap(&bytes, max_len)
            .map_err(|error| fetch_error(&self.transport.describe(), path, error))?;
        self.metadata_bytes += bytes.len() as u64;
        Ok(bytes)
    }

    /// 5.3.2–5.3.9: root N+1 while there is one (at most `max_root_rotations` of them), each
    /// handed to the set.
    fn update_root(
        &mut self,
        set: &mut TrustedMetadataSet,
        trusted_state: &mut TrustedState,
    ) -> Result<()> {
        for _ in 0..set.options().max_root_rotations {
            // 5.3.2, 5.3.3: try version N+1.
            let path = versioned_path(set.root().version.saturating_add(1), "root");
            let bytes = match self.fetch_metadata(&path, set.options().max_root_len) {
                Ok(bytes) => bytes,
                Err(error) if error.kind() == ErrorKind::NotFound => break,
                Err(error) => return Err(error),
            };
            let online_keys = |root: &Root| {
                (
                    root.roles.get("timestamp").cloned(),
                    root.roles.get("snapshot").cloned(),
                )
            };
            let before = online_keys(set.root());
            // 5.3.4–5.3.7. 5.3.8 (persisting) is the caller's: see `trusted_root_json`.
            let new_root = set.update_root(&bytes)?;
            // 5.3.11 (done per step): rotated timestamp or snapshot keys void the trusted state.
            if online_keys(new_root) != before {
                *trusted_state = TrustedState::default();
            }
        }
        Ok(())
    }
}

impl<T: Transport> Client<T> {
    /// Loads every delegated role reachable from `targets`, a level at a time: each level's
    /// files asked of the transport together, then verified in parallel.
    pub(super) fn load_every_role(&mut self) -> Result<()> {
        let most_roles = self.snapshot.meta.len() + 1;
        let mut visited = HashSet::from(["targets".to_owned()]);
        let mut level = self.delegated_by("targets");
        while !level.is_empty() {
            let room = most_roles.saturating_sub(visited.len());
            level.retain(|(role, _)| visited.insert(role.clone()));
            level.truncate(room);
            // A role loaded before (by the search for one name) is not fetched again, but what
            // it delegates to is walked all the same.
            let mut next = Vec::new();
            level.retain(|(role, _)| {
                let loaded = self.roles.contains_key(role);
                if loaded {
                    next.extend(self.delegated_by(role));
                }
                !loaded
            });
            let prepared: Vec<Delegation> = level
                .iter()
                .map(|(role, delegator)| self.delegation(role, delegator))
                .collect::<Result<_>>()?;
            let requests: Vec<(String, u64)> = prepared
                .iter()
                .map(|d| {
                    let max = d.meta.length.unwrap_or(self.options.max_targets_len);
                    (d.path.clone(), max)
                })
                .collect();
            let source = self.transport.describe();
            let options = &self.options;
            // Each file verified as it arrives, while the others are still coming.
            let verified: Vec<std::sync::Mutex<Option<Result<Verified>>>> = prepared
                .iter()
                .map(|_| std::sync::Mutex::new(None))
                .collect();
            self.transport.fetch_each(&requests, &|i, bytes| {
                let delegation = &prepared[i];
                let result = bytes
                    .map_err(|error| fetch_error(&source, &delegation.path, error))
                    .and_then(|bytes| delegation.verify(&bytes, options, &source));
                if let Ok(mut slot) = verified[i].lock() {
                    *slot = Some(result);
                }
            });
            for (delegation, slot) in prepared.iter().zip(verified) {
                let (role, freshness, bytes) =
                    slot.into_inner().ok().flatten().unwrap_or_else(|| {
                        Err(Error::new(
                            ErrorKind::Malformed,
                            format!("{}: not fetched", delegation.path),
                        ))
                    })?;
                self.note_freshness(freshness);
                self.metadata_bytes += bytes;
                self.roles.insert(delegation.role.clone(), role);
                next.extend(self.delegated_by(&delegation.role));
            }
            level = next;
        }
        Ok(())
    }

    /// The roles `delegator` delegates to, in order: `(role, delegator)`.
    fn delegated_by(&self, delegator: &str) -> Vec<(String, String)> {
        self.roles
            .get(delegator)
            .and_then(|role| role.delegations.as_ref())
            .map(|delegations| {
                delegations
                    .roles
                    .iter()
                    .map(|delegated| (delegated.name.clone(), delegator.to_string()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Keeps the earliest expiry seen (with [`Options::allow_expired`]).
    fn note_freshness(&mut self, freshness: Freshness) {
        if let Freshness::Expired { role, since } = freshness {
            self.freshness.note_expired(&role, since);
        }
    }

    /// Verifies delegated role `role_name` with the keys `delegator` gives it
    /// (5.6.1–5.6.5 applied to a delegated role, as python-tuf does).
    pub(super) fn load_delegated(&mut self, role_name: &str, delegator: &str) -> Result<()> {
        if self.roles.contains_key(role_name) {
            return Ok(());
        }
        let delegation = self.delegation(role_name, delegator)?;
        let max = delegation
            .meta
            .length
            .unwrap_or(self.options.max_targets_len);
        let source = self.transport.describe();
        // 5.6.1: download, capped by the snapshot's length if given.
        let bytes = self
            .transport
            .fetch(&delegation.path, max)
            .map_err(|error| fetch_error(&source, &delegation.path, error))?;
        let (role, freshness, fetched) = delegation.verify(&bytes, &self.options, &source)?;
        self.note_freshness(freshness);
        self.metadata_bytes += fetched;
        self.roles.insert(role_name.to_string(), role);
        Ok(())
    }

    /// What verifying delegated role `role_name` takes from `delegator` and the snapshot.
    fn delegation(&self, role_name: &str, delegator: &str) -> Result<Delegation> {
        Delegation::new(&self.roles, &self.snapshot, role_name, delegator)
    }
}

/// The parts of `state` that `root`'s keys sign (see [`Client::load_with_trusted_state`]).
fn usable_trusted_state(state: TrustedState, root: &Root) -> TrustedState {
    let signed_by = |bytes: Option<Vec<u8>>, role: &str| {
        bytes.filter(|bytes| {
            Envelope::parse(&format!("trusted {role}"), bytes)
                .and_then(|envelope| verify_with_top_level_role(&envelope, root, role))
                .is_ok()
        })
    };
    TrustedState {
        timestamp: signed_by(state.timestamp, "timestamp"),
        snapshot: signed_by(state.snapshot, "snapshot"),
    }
}
