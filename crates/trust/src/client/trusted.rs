//! The trusted-metadata set: the spec's top-level steps as calls that take bytes, with the
//! reference time and the expiry policy fixed when the set is made ([`Options::now`],
//! [`Options::allow_expired`]; 5.1). Shaped like python-tuf's `TrustedMetadataSet`: no
//! transport, no files; the loader fetches and hands the bytes over, and a unit test or a fuzz
//! target hands its own. See [`TrustedMetadataSet`] for the steps.
//!
//! Nothing here can load a private key.

use std::collections::{BTreeMap, HashMap};

use time::OffsetDateTime;

use super::transport::{fetch_error, within_cap};
use super::{Freshness, Options};
use crate::error::{Error, ErrorKind, Result};
use crate::schema::{
    Digest, MetaFile, RoleType, Root, SNAPSHOT_META, Snapshot, TARGETS_META, Targets, Timestamp,
    expires_format, role_file_name_is_safe,
};
use crate::verify::Envelope;

#[cfg(test)]
mod tests;

/// The path of the timestamp, the one metadata file that is not versioned.
pub(super) const TIMESTAMP_PATH: &str = "metadata/timestamp.json";

pub(super) const TOP_LEVEL_ROLES: [&str; 4] = ["root", "targets", "snapshot", "timestamp"];

/// `metadata/VERSION.ROLE.json`, the file of a version of a role (consistent snapshots).
pub(super) fn versioned_path(version: u64, role: &str) -> String {
    format!("metadata/{version}.{role}.json")
}

/// A verified document and the bytes it was read from (to persist: 5.3.8, 5.4.5, 5.5.7).
#[derive(Clone)]
struct Kept<T> {
    role: T,
    bytes: Vec<u8>,
}

/// The metadata verified so far: the spec's top-level steps as calls that take bytes, with the
/// reference time and the expiry policy fixed when the set is made ([`Options::now`],
/// [`Options::allow_expired`]; 5.1). Shaped like python-tuf's `TrustedMetadataSet`.
///
/// The steps, in the order they must come:
///
/// 1. [`TrustedMetadataSet::new`]: 5.2, the trusted root, signed by its own threshold;
/// 2. [`TrustedMetadataSet::update_root`], any number of times: 5.3.4–5.3.7, root N+1;
/// 3. [`TrustedMetadataSet::check_final_root`]: 5.3.10, 5.3.12 (the timestamp steps run it too);
/// 4. [`TrustedMetadataSet::load_trusted_timestamp`] (optional): the timestamp trusted before,
///    5.4.3's reference; [`TrustedMetadataSet::update_timestamp`]: 5.4.2–5.4.4;
/// 5. [`TrustedMetadataSet::load_trusted_snapshot`] (optional): the snapshot trusted before,
///    5.5.5's reference; [`TrustedMetadataSet::update_snapshot`]: 5.5.2–5.5.6;
/// 6. [`TrustedMetadataSet::update_targets`]: 5.6.2–5.6.5 for top-level targets, then
///    [`TrustedMetadataSet::update_delegated_targets`] for any role a loaded role delegates to.
///
/// A step called out of order is refused ([`ErrorKind::InvalidInput`]), and a step that refuses
/// its bytes keeps the metadata trusted before. Unlike python-tuf, a file is trusted only as
/// final: an expired or mismatched one is refused, never kept as an intermediate reference
/// (with [`Options::allow_expired`], an expired one is kept and its expiry recorded in
/// [`TrustedMetadataSet::freshness`]).
pub struct TrustedMetadataSet {
    options: Options,
    /// Where the bytes come from, for messages.
    source: String,
    freshness: Freshness,
    root: Kept<Root>,
    /// 5.3.10 and 5.3.12 passed: the root is final, no root may follow.
    root_final: bool,
    /// The timestamp trusted before this update, 5.4.3's reference until one is loaded.
    trusted_timestamp: Option<Kept<Timestamp>>,
    timestamp: Option<Kept<Timestamp>>,
    /// The snapshot trusted before this update, 5.5.5's reference until one is loaded.
    trusted_snapshot: Option<Snapshot>,
    snapshot: Option<Kept<Snapshot>>,
    /// Verified targets roles by name: `targets`, then delegated roles.
    roles: HashMap<String, Targets>,
}

/// What a client keeps of a set that went through every top-level step.
pub(super) struct Complete {
    pub(super) options: Options,
    pub(super) freshness: Freshness,
    pub(super) root: Root,
    pub(super) root_bytes: Vec<u8>,
    pub(super) timestamp: Timestamp,
    pub(super) timestamp_bytes: Vec<u8>,
    pub(super) snapshot: Snapshot,
    pub(super) snapshot_bytes: Vec<u8>,
    pub(super) roles: HashMap<String, Targets>,
}

/// A step called before the steps it needs, or after one that must follow it.
fn out_of_order(what: &str) -> Error {
    Error::new(
        ErrorKind::InvalidInput,
        format!("trusted metadata set: {what}"),
    )
}

impl TrustedMetadataSet {
    /// 5.2: loads the trusted root `trusted_root_json`. Like python-tuf, it must be signed by its
    /// own threshold (a corrupted local copy is caught here). `options.now` is the fixed update
    /// start time (5.1) every expiry is compared with; `source` names where later bytes come
    /// from, in messages.
    pub fn new(
        trusted_root_json: &[u8],
        options: Options,
        source: impl Into<String>,
    ) -> Result<Self> {
        let envelope = Envelope::parse("trusted root", trusted_root_json)?;
        let root: Root = envelope.peek_typed(RoleType::Root)?;
        check_root_shape(&root, "trusted root")?;
        verify_with_top_level_role(&envelope, &root, "root")?;
        Ok(Self {
            options,
            source: source.into(),
            freshness: Freshness::Fresh,
            root: Kept {
                role: root,
                bytes: trusted_root_json.to_vec(),
            },
            root_final: false,
            trusted_timestamp: None,
            timestamp: None,
            trusted_snapshot: None,
            snapshot: None,
            roles: HashMap::new(),
        })
    }

    /// The options the set was made with (the clock among them).
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The newest trusted root.
    pub fn root(&self) -> &Root {
        &self.root.role
    }

    /// The bytes of the newest trusted root, to persist (5.3.8).
    pub fn root_bytes(&self) -> &[u8] {
        &self.root.bytes
    }

    /// The verified timestamp, once [`Self::update_timestamp`] accepted one.
    pub fn timestamp(&self) -> Option<&Timestamp> {
        self.timestamp.as_ref().map(|kept| &kept.role)
    }

    /// The verified snapshot, once [`Self::update_snapshot`] accepted one.
    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_ref().map(|kept| &kept.role)
    }

    /// The bytes of the verified timestamp, to persist (5.4.5).
    pub fn timestamp_bytes(&self) -> Option<&[u8]> {
        self.timestamp.as_ref().map(|kept| kept.bytes.as_slice())
    }

    /// The bytes of the verified snapshot, to persist (5.5.7).
    pub fn snapshot_bytes(&self) -> Option<&[u8]> {
        self.snapshot.as_ref().map(|kept| kept.bytes.as_slice())
    }

    /// The verified targets role `role` (`targets` or a delegated one), if loaded.
    pub fn targets(&self, role: &str) -> Option<&Targets> {
        self.roles.get(role)
    }

    /// Whether everything verified so far was unexpired.
    pub fn freshness(&self) -> &Freshness {
        &self.freshness
    }

    /// 5.3.4–5.3.7: `bytes` as root version N+1, N the trusted root's. 5.3.8 (persisting) is
    /// the caller's ([`Self::root_bytes`]); so are 5.3.2, 5.3.3 (fetching, and how many
    /// versions to walk), and 5.3.11: no timestamp or snapshot can be loaded yet.
    pub fn update_root(&mut self, bytes: &[u8]) -> Result<&Root> {
        if self.root_final {
            return Err(out_of_order(
                "no root update once the final root is checked",
            ));
        }
        let root = &self.root.role;
        let next_version = root.version.saturating_add(1);
        let path = versioned_path(next_version, "root");
        let envelope = Envelope::parse(&path, bytes)?;
        // 5.3.4 (1): signed by a threshold of the trusted root's root keys …
        verify_with_top_level_role(&envelope, root, "root")?;
        // … and (2) by a threshold of its own root keys.
        let new_root: Root = envelope.peek_typed(RoleType::Root)?;
        check_root_shape(&new_root, &path)?;
        verify_with_top_level_role(&envelope, &new_root, "root")?;
        // 5.3.5: the version must be exactly N+1.
        if new_root.version != next_version {
            let kind = if new_root.version <= root.version {
                ErrorKind::Rollback
            } else {
                ErrorKind::Mismatch
            };
            return Err(Error::new(
                kind,
                format!(
                    "{path}: version {} where {next_version} was expected",
                    new_root.version
                ),
            ));
        }
        // 5.3.6: the intermediate root's expiry does not matter.
        // 5.3.7: trust it.
        self.root = Kept {
            role: new_root,
            bytes: bytes.to_vec(),
        };
        Ok(&self.root.role)
    }

    /// 5.3.10, 5.3.12: the root reached is the final one: unexpired, with consistent
    /// snapshots. Once passed, no root may follow; the timestamp steps run it first.
    pub fn check_final_root(&mut self) -> Result<()> {
        if self.root_final {
            return Ok(());
        }
        // 5.3.10: freeze attack on root.
        let (version, expires) = (self.root.role.version, self.root.role.expires);
        self.check_expiry("root", expires, &versioned_path(version, "root"))?;
        // 5.3.12: consistent snapshots. Off-spec: only consistent snapshots are supported.
        if !self.root.role.consistent_snapshot {
            return Err(Error::new(
                ErrorKind::Malformed,
                format!(
                    "root version {version}: consistent_snapshot is false, samizdat needs true"
                ),
            ));
        }
        self.root_final = true;
        Ok(())
    }

    /// The timestamp trusted before this update (persisted by the caller, 5.4.5): 5.4.3's
    /// reference for rollbacks. Verified with the final root's keys; its expiry does not matter.
    pub fn load_trusted_timestamp(&mut self, bytes: &[u8]) -> Result<&Timestamp> {
        self.check_final_root()?;
        if self.timestamp.is_some() {
            return Err(out_of_order("a trusted timestamp after the new one"));
        }
        let file = "trusted timestamp";
        let envelope = Envelope::parse(file, bytes)?;
        verify_with_top_level_role(&envelope, &self.root.role, "timestamp")?;
        let timestamp: Timestamp = envelope.into_typed(RoleType::Timestamp)?;
        snapshot_meta(&timestamp, file)?;
        let kept = self.trusted_timestamp.insert(Kept {
            role: timestamp,
            bytes: bytes.to_vec(),
        });
        Ok(&kept.role)
    }

    /// 5.4.2–5.4.4: `bytes` as `metadata/timestamp.json`. Checked for rollback against the
    /// timestamp loaded before, if any (an earlier update, or [`Self::load_trusted_timestamp`]).
    /// 5.4.5 (persisting) is the caller's ([`Self::timestamp_bytes`]).
    pub fn update_timestamp(&mut self, bytes: &[u8]) -> Result<&Timestamp> {
        self.check_final_root()?;
        if self.snapshot.is_some() {
            return Err(out_of_order(
                "no timestamp update once a snapshot is loaded",
            ));
        }
        let path = TIMESTAMP_PATH;
        // 5.4.2: signed by a threshold of root's timestamp keys.
        let envelope = Envelope::parse(path, bytes)?;
        verify_with_top_level_role(&envelope, &self.root.role, "timestamp")?;
        let timestamp: Timestamp = envelope.into_typed(RoleType::Timestamp)?;
        let new_snapshot_version = snapshot_meta(&timestamp, path)?.version;
        let new = Kept {
            role: timestamp,
            bytes: bytes.to_vec(),
        };
        let accepted = match self.timestamp.as_ref().or(self.trusted_timestamp.as_ref()) {
            Some(trusted) => {
                let trusted_snapshot_version =
                    snapshot_meta(&trusted.role, "trusted timestamp")?.version;
                // 5.4.3.1: the timestamp version must not go back …
                if new.role.version < trusted.role.version {
                    return Err(Error::new(
                        ErrorKind::Rollback,
                        format!(
                            "{path} from {}: version {} is older than the trusted version {}",
                            self.source, new.role.version, trusted.role.version
                        ),
                    ));
                }
                // 5.4.3.2: … nor the snapshot version it names.
                if new_snapshot_version < trusted_snapshot_version {
                    return Err(Error::new(
                        ErrorKind::Rollback,
                        format!(
                            "{path} from {}: snapshot version {new_snapshot_version} is older than the trusted {trusted_snapshot_version}",
                            self.source
                        ),
                    ));
                }
                // 5.4.3.1, equal versions: nothing changed; keep the trusted copy. Off-spec: the
                // update continues with it instead of stopping (as python-tuf does).
                if new.role.version == trusted.role.version {
                    trusted.clone()
                } else {
                    new
                }
            }
            None => new,
        };
        // 5.4.4: freeze attack.
        self.check_expiry("timestamp", accepted.role.expires, path)?;
        let kept = self.timestamp.insert(accepted);
        Ok(&kept.role)
    }

    /// The snapshot trusted before this update (persisted by the caller, 5.5.7): 5.5.5's
    /// reference for rollbacks. Verified with the final root's keys; its expiry, version and
    /// hashes do not matter.
    pub fn load_trusted_snapshot(&mut self, bytes: &[u8]) -> Result<&Snapshot> {
        self.check_final_root()?;
        if self.snapshot.is_some() {
            return Err(out_of_order("a trusted snapshot after the new one"));
        }
        let envelope = Envelope::parse("trusted snapshot", bytes)?;
        verify_with_top_level_role(&envelope, &self.root.role, "snapshot")?;
        let snapshot: Snapshot = envelope.into_typed(RoleType::Snapshot)?;
        Ok(self.trusted_snapshot.insert(snapshot))
    }

    /// What the verified timestamp says of the snapshot (its version names the file to fetch,
    /// `metadata/VERSION.snapshot.json`; its length, if given, caps the download: 5.5.1).
    pub fn snapshot_meta(&self) -> Result<&MetaFile> {
        let Some(timestamp) = &self.timestamp else {
            return Err(out_of_order("no snapshot before the timestamp"));
        };
        snapshot_meta(&timestamp.role, TIMESTAMP_PATH)
    }

    /// 5.5.2–5.5.6: `bytes` as the snapshot the verified timestamp names. Checked for
    /// rollback against the snapshot loaded before, if any (an earlier update, or
    /// [`Self::load_trusted_snapshot`]). 5.5.7 (persisting) is the caller's
    /// ([`Self::snapshot_bytes`]).
    pub fn update_snapshot(&mut self, bytes: &[u8]) -> Result<&Snapshot> {
        if self.roles.contains_key("targets") {
            return Err(out_of_order("no snapshot update once targets are loaded"));
        }
        let meta = self.snapshot_meta()?;
        let path = versioned_path(meta.version, "snapshot");
        // 5.5.2: the timestamp's length and hash.
        check_meta_file(&path, bytes, meta)?;
        // 5.5.3: signed by a threshold of root's snapshot keys.
        let envelope = Envelope::parse(&path, bytes)?;
        verify_with_top_level_role(&envelope, &self.root.role, "snapshot")?;
        let snapshot: Snapshot = envelope.into_typed(RoleType::Snapshot)?;
        // 5.5.4: the version the timestamp says.
        check_version(&path, snapshot.version, meta.version, "timestamp")?;
        // 5.5.5: no role listed before may disappear or go back.
        let trusted = self
            .snapshot
            .as_ref()
            .map(|kept| &kept.role)
            .or(self.trusted_snapshot.as_ref());
        if let Some(trusted) = trusted {
            check_snapshot_rollback(&path, &snapshot, trusted)?;
        }
        // 5.5.6: freeze attack.
        self.check_expiry("snapshot", snapshot.expires, &path)?;
        let kept = self.snapshot.insert(Kept {
            role: snapshot,
            bytes: bytes.to_vec(),
        });
        Ok(&kept.role)
    }

    /// What the verified snapshot says of top-level targets (its version names the file to
    /// fetch; its length, if given, caps the download: 5.6.1).
    pub fn targets_meta(&self) -> Result<&MetaFile> {
        let Some(snapshot) = &self.snapshot else {
            return Err(out_of_order("no targets before the snapshot"));
        };
        snapshot.role.meta.get(TARGETS_META).ok_or_else(|| {
            Error::new(
                ErrorKind::Malformed,
                format!(
                    "snapshot version {} does not list {TARGETS_META}",
                    snapshot.role.version
                ),
            )
        })
    }

    /// 5.6.2–5.6.5: `bytes` as the top-level targets the verified snapshot names.
    pub fn update_targets(&mut self, bytes: &[u8]) -> Result<&Targets> {
        if self.roles.contains_key("targets") {
            return Err(out_of_order("top-level targets are loaded already"));
        }
        let meta = self.targets_meta()?;
        let path = versioned_path(meta.version, "targets");
        // 5.6.2: the snapshot's length and hashes, if any.
        check_meta_file(&path, bytes, meta)?;
        // 5.6.3: signed by a threshold of root's targets keys.
        let envelope = Envelope::parse(&path, bytes)?;
        verify_with_top_level_role(&envelope, &self.root.role, "targets")?;
        let targets: Targets = envelope.into_typed(RoleType::Targets)?;
        // 5.6.4: the version the snapshot says.
        check_version(&path, targets.version, meta.version, "snapshot")?;
        // 5.6.5: freeze attack.
        self.check_expiry("targets", targets.expires, &path)?;
        Ok(self.roles.entry("targets".to_string()).or_insert(targets))
    }

    /// 5.6.1–5.6.5 applied to delegated role `role` (as python-tuf does): `bytes` as the
    /// version the snapshot names, signed by a threshold of the keys `delegator` (a loaded
    /// role) gives it. The client's lazy search (5.6.7) runs the same checks.
    pub fn update_delegated_targets(
        &mut self,
        bytes: &[u8],
        role: &str,
        delegator: &str,
    ) -> Result<&Targets> {
        let Some(snapshot) = &self.snapshot else {
            return Err(out_of_order("no delegated targets before the snapshot"));
        };
        let delegation = Delegation::new(&self.roles, &snapshot.role, role, delegator)?;
        let (targets, freshness, _) = delegation.verify(bytes, &self.options, &self.source)?;
        if let Freshness::Expired { role, since } = freshness {
            self.freshness.note_expired(&role, since);
        }
        self.roles.insert(role.to_string(), targets);
        Ok(&self.roles[role])
    }

    /// Every top-level step passed: what a client keeps.
    pub(super) fn into_complete(self) -> Result<Complete> {
        let (Some(timestamp), Some(snapshot), true) = (
            self.timestamp,
            self.snapshot,
            self.roles.contains_key("targets"),
        ) else {
            return Err(out_of_order("top-level targets are not loaded yet"));
        };
        Ok(Complete {
            options: self.options,
            freshness: self.freshness,
            root: self.root.role,
            root_bytes: self.root.bytes,
            timestamp: timestamp.role,
            timestamp_bytes: timestamp.bytes,
            snapshot: snapshot.role,
            snapshot_bytes: snapshot.bytes,
            roles: self.roles,
        })
    }

    /// The freeze-attack check of 5.3.10, 5.4.4, 5.5.6, 5.6.5: refuse, or with `allow_expired`
    /// record the earliest expiry.
    fn check_expiry(&mut self, role: &str, expires: OffsetDateTime, file: &str) -> Result<()> {
        check_expires(
            &self.options,
            &self.source,
            &mut self.freshness,
            role,
            expires,
            file,
        )
    }
}

/// 5.5.5: no role `trusted` listed may be missing from `snapshot` or at an older version.
fn check_snapshot_rollback(path: &str, snapshot: &Snapshot, trusted: &Snapshot) -> Result<()> {
    for (file_name, trusted_meta) in &trusted.meta {
        let Some(new_meta) = snapshot.meta.get(file_name) else {
            return Err(Error::new(
                ErrorKind::Rollback,
                format!(
                    "{path}: {file_name} was listed in trusted snapshot version {} and is missing",
                    trusted.version
                ),
            ));
        };
        if new_meta.version < trusted_meta.version {
            return Err(Error::new(
                ErrorKind::Rollback,
                format!(
                    "{path}: {file_name} version {} is older than the trusted {}",
                    new_meta.version, trusted_meta.version
                ),
            ));
        }
    }
    Ok(())
}

/// A delegated role verified: the role, its freshness, and its length.
pub(super) type Verified = (Targets, Freshness, u64);

/// A delegated role to verify, and what with.
pub(super) struct Delegation {
    pub(super) role: String,
    pub(super) path: String,
    keyids: Vec<String>,
    threshold: u32,
    keys: BTreeMap<String, crate::schema::Key>,
    pub(super) meta: MetaFile,
}

impl Delegation {
    /// What verifying delegated role `role_name` takes from `delegator` (one of the loaded
    /// `roles`) and the verified `snapshot`.
    pub(super) fn new(
        roles: &HashMap<String, Targets>,
        snapshot: &Snapshot,
        role_name: &str,
        delegator: &str,
    ) -> Result<Self> {
        // Off-spec: role names must be file-name safe and not a top-level role's.
        if !role_file_name_is_safe(role_name) || TOP_LEVEL_ROLES.contains(&role_name) {
            return Err(Error::new(
                ErrorKind::Malformed,
                format!("role {delegator} delegates to {role_name:?}, not an allowed role name"),
            ));
        }
        let Some(delegations) = roles
            .get(delegator)
            .and_then(|role| role.delegations.as_ref())
        else {
            return Err(Error::new(
                ErrorKind::Malformed,
                format!("role {delegator} has no delegations"),
            ));
        };
        let Some(delegated) = delegations
            .roles
            .iter()
            .find(|delegated| delegated.name == role_name)
        else {
            return Err(Error::new(
                ErrorKind::Malformed,
                format!("role {delegator} does not delegate to {role_name}"),
            ));
        };
        if delegated.paths.is_some() == delegated.path_hash_prefixes.is_some() {
            return Err(Error::new(
                ErrorKind::Malformed,
                format!(
                    "role {delegator}: delegation {role_name} needs exactly one of paths and path_hash_prefixes"
                ),
            ));
        }
        let meta_name = format!("{role_name}.json");
        let Some(meta) = snapshot.meta.get(&meta_name).cloned() else {
            return Err(Error::new(
                ErrorKind::Mismatch,
                format!(
                    "{meta_name} is not listed in snapshot version {}",
                    snapshot.version
                ),
            ));
        };
        Ok(Self {
            role: role_name.to_string(),
            path: versioned_path(meta.version, role_name),
            keyids: delegated.keyids.clone(),
            threshold: delegated.threshold,
            keys: delegations.keys.clone(),
            meta,
        })
    }

    /// 5.6.2–5.6.5 on the bytes fetched from `source`: the role, its freshness, and its length.
    pub(super) fn verify(&self, bytes: &[u8], options: &Options, source: &str) -> Result<Verified> {
        let (path, role_name) = (&self.path, &self.role);
        let max_len = self.meta.length.unwrap_or(options.max_targets_len);
        within_cap(bytes, max_len).map_err(|error| fetch_error(source, path, error))?;
        // 5.6.2: length and hashes the snapshot gives, if any.
        check_meta_file(path, bytes, &self.meta)?;
        // 5.6.3: signed by a threshold of the keys the delegator gives this role.
        let envelope = Envelope::parse_targets(path, bytes)?;
        envelope.verify_threshold(role_name, &self.keyids, self.threshold, &self.keys)?;
        let role: Targets = envelope.into_targets()?;
        // 5.6.4: the version the snapshot says (mix-and-match).
        check_version(path, role.version, self.meta.version, "snapshot")?;
        // 5.6.5: freeze attack.
        let mut freshness = Freshness::Fresh;
        check_expires(
            options,
            source,
            &mut freshness,
            role_name,
            role.expires,
            path,
        )?;
        Ok((role, freshness, bytes.len() as u64))
    }
}

/// The freeze-attack check of 5.3.10, 5.4.4, 5.5.6, 5.6.5 for `file` from `source`: refuse, or
/// with `allow_expired` record the earliest expiry in `freshness`.
pub(super) fn check_expires(
    options: &Options,
    source: &str,
    freshness: &mut Freshness,
    role: &str,
    expires: OffsetDateTime,
    file: &str,
) -> Result<()> {
    if options.now < expires {
        return Ok(());
    }
    if !options.allow_expired {
        return Err(Error::new(
            ErrorKind::Expired,
            format!(
                "{file} from {source}: {role} metadata expired at {}, now is {}",
                expires_format::format(expires).unwrap_or_else(|_| expires.to_string()),
                expires_format::format(options.now).unwrap_or_else(|_| options.now.to_string()),
            ),
        ));
    }
    freshness.note_expired(role, expires);
    Ok(())
}

pub(super) fn verify_with_top_level_role(
    envelope: &Envelope,
    root: &Root,
    role: &str,
) -> Result<()> {
    let Some(role_keys) = root.roles.get(role) else {
        return Err(Error::new(
            ErrorKind::Malformed,
            format!("root version {} has no {role} role", root.version),
        ));
    };
    envelope.verify_threshold(role, &role_keys.keyids, role_keys.threshold, &root.keys)
}

fn check_root_shape(root: &Root, file: &str) -> Result<()> {
    for role in TOP_LEVEL_ROLES {
        let Some(role_keys) = root.roles.get(role) else {
            return Err(Error::new(
                ErrorKind::Malformed,
                format!("{file}: no {role} role"),
            ));
        };
        // python-tuf refuses such a root when it parses it ("Nonunique keyids").
        let keyids = &role_keys.keyids;
        if let Some(twice) = (0..keyids.len()).find(|&i| keyids[..i].contains(&keyids[i])) {
            return Err(Error::new(
                ErrorKind::Malformed,
                format!("{file}: role {role} lists key id {} twice", keyids[twice]),
            ));
        }
    }
    Ok(())
}

fn snapshot_meta<'a>(timestamp: &'a Timestamp, file: &str) -> Result<&'a MetaFile> {
    timestamp.meta.get(SNAPSHOT_META).ok_or_else(|| {
        Error::new(
            ErrorKind::Malformed,
            format!("{file}: meta has no {SNAPSHOT_META}"),
        )
    })
}

fn check_meta_file(path: &str, bytes: &[u8], meta: &MetaFile) -> Result<()> {
    if let Some(length) = meta.length
        && bytes.len() as u64 != length
    {
        return Err(Error::new(
            ErrorKind::Mismatch,
            format!(
                "{path}: {} bytes, the signed length is {length}",
                bytes.len()
            ),
        ));
    }
    if let Some(hashes) = &meta.hashes
        && Digest::of(bytes) != hashes.sha256
    {
        return Err(Error::new(
            ErrorKind::Mismatch,
            format!("{path}: SHA-256 differs from the signed hash"),
        ));
    }
    Ok(())
}

fn check_version(path: &str, version: u64, expected: u64, source: &str) -> Result<()> {
    if version == expected {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::Mismatch,
        format!("{path}: version {version}, the {source} says {expected}"),
    ))
}
