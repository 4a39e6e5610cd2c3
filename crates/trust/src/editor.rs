//! Signing: root files, whole releases (targets in hashed bins, snapshot, timestamp) and
//! timestamp refreshes.
//!
//! [`build_release`] is incremental. It reads the previous committed release from the metadata
//! folder (timestamp → snapshot → targets → bins), keeps the previous bin count while it stays
//! within a factor of 2 of the ideal, and re-signs a role only when its content changed, its
//! signing key changed, or it expires within a quarter of its lifetime. Untouched roles keep their
//! version and their file is not rewritten. Every role name ever listed in a snapshot stays listed
//! (at its last version) so that TUF's snapshot rule (5.5.5) holds across layout changes.
//!
//! The work is linear in the number of targets: one SHA-256 per name, one map insert, one pass
//! over the previous bins.

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;

use common::files::{Durability, write_atomic};
use serde::Serialize;
use time::{Duration, OffsetDateTime};

use crate::bins::BinLayout;
use crate::cjson;
use crate::error::{Error, ErrorKind, Result};
use crate::keys::{PublicKey, SigningKey};
use crate::leaf::{TargetsFile, plain, simple_targets, write_simple_targets};
use crate::schema::{
    DelegatedRole, Delegations, Digest, Hashes, MetaFile, RoleKeys, RoleType, Root, SNAPSHOT_META,
    SPEC_VERSION, Signature, Signed, Snapshot, TargetInfo, TargetName, Targets, Timestamp,
    role_file_name_is_safe,
};

/// Targets whose names match this pattern (documents' original files) live in a family of bins of
/// their own, delegated from `targets.json` through the role [`ORIGINALS_ROLE`] (listed first,
/// terminating). A reader verifying a document walks only the main family to its record, which
/// carries the original's hash and length; with originals mixed in, the leaf it fetches would be
/// twice the size. At 250,000 documents this halves the
/// metadata to verify one document (measured: 85,174 vs 170,756 bytes, bench/RESULTS.md).
pub const ORIGINALS_PATTERN: &str = "*.original.*";
/// The role that delegates the originals family.
pub const ORIGINALS_ROLE: &str = "originals";

/// Whether `name` belongs to the originals family (matches [`ORIGINALS_PATTERN`]).
pub fn is_original(name: &str) -> bool {
    name.contains(".original.")
}

/// The name of the unversioned timestamp file inside `metadata/`.
pub const TIMESTAMP_FILE: &str = "timestamp.json";

/// Who holds which top-level role, for [`sign_root`]. Targets and snapshot have threshold 1.
#[derive(Clone, Debug)]
pub struct RootSpec {
    pub root_keys: Vec<PublicKey>,
    pub root_threshold: u32,
    pub targets_keys: Vec<PublicKey>,
    pub snapshot_keys: Vec<PublicKey>,
    pub timestamp_keys: Vec<PublicKey>,
    /// Usually 1, so that any one co-publisher can re-sign the timestamp.
    pub timestamp_threshold: u32,
}

impl RootSpec {
    /// Every role held by `key` alone, thresholds 1: a test's repository, or a small one
    /// whose publisher keeps one key.
    pub fn one_key(key: PublicKey) -> RootSpec {
        RootSpec {
            root_keys: vec![key],
            root_threshold: 1,
            targets_keys: vec![key],
            snapshot_keys: vec![key],
            timestamp_keys: vec![key],
            timestamp_threshold: 1,
        }
    }
}

/// Signs version `version` of root: the bytes of `metadata/VERSION.root.json`.
///
/// `signers` must include at least `root_threshold` of `spec.root_keys`; for a rotation, also pass
/// a threshold of the previous root's keys (clients check both, spec 5.3.4; this function cannot
/// see the previous root, [`crate::client::Client::load`] will).
pub fn sign_root(
    spec: &RootSpec,
    version: u64,
    expires: OffsetDateTime,
    signers: &[&SigningKey],
) -> Result<Vec<u8>> {
    if version == 0 {
        return Err(Error::new(
            ErrorKind::InvalidInput,
            "root version must be at least 1",
        ));
    }
    let mut keys = BTreeMap::new();
    let mut role_keys = |role: &str, members: &[PublicKey], threshold: u32| -> Result<RoleKeys> {
        let mut keyids: Vec<String> = Vec::new();
        for member in members {
            let keyid = member.key_id();
            keys.insert(keyid.clone(), member.to_key());
            if !keyids.contains(&keyid) {
                keyids.push(keyid);
            }
        }
        if threshold == 0 || threshold as usize > keyids.len() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "role {role}: threshold {threshold} with {} distinct key(s)",
                    keyids.len()
                ),
            ));
        }
        Ok(RoleKeys { keyids, threshold })
    };
    let mut roles = BTreeMap::new();
    roles.insert(
        "root".to_string(),
        role_keys("root", &spec.root_keys, spec.root_threshold)?,
    );
    roles.insert(
        "targets".to_string(),
        role_keys("targets", &spec.targets_keys, 1)?,
    );
    roles.insert(
        "snapshot".to_string(),
        role_keys("snapshot", &spec.snapshot_keys, 1)?,
    );
    roles.insert(
        "timestamp".to_string(),
        role_keys("timestamp", &spec.timestamp_keys, spec.timestamp_threshold)?,
    );
    let root_keyids = &roles["root"].keyids;
    let mut signing_root_keys: Vec<String> = signers
        .iter()
        .map(|signer| signer.public().key_id())
        .filter(|keyid| root_keyids.contains(keyid))
        .collect();
    signing_root_keys.sort_unstable();
    signing_root_keys.dedup();
    if signing_root_keys.len() < spec.root_threshold as usize {
        return Err(Error::new(
            ErrorKind::ThresholdNotMet,
            format!(
                "root version {version}: {} of the new root keys sign, threshold is {}",
                signing_root_keys.len(),
                spec.root_threshold
            ),
        ));
    }
    let root = Root {
        role_type: RoleType::Root,
        spec_version: SPEC_VERSION.to_string(),
        version,
        expires: whole_seconds_utc(expires)?,
        consistent_snapshot: true,
        keys,
        roles,
    };
    sign_document(&root, signers)
}

/// How long newly signed metadata stays valid.
#[derive(Clone, Copy, Debug)]
pub struct Expiries {
    /// `targets.json`, middle and leaf bins.
    pub targets: Duration,
    pub snapshot: Duration,
    pub timestamp: Duration,
}

/// The online keys that sign a release.
#[derive(Clone, Copy, Debug)]
pub struct Signers<'a> {
    /// Signs `targets.json`, the middle bins and the leaf bins (they delegate to this key).
    pub targets: &'a SigningKey,
    pub snapshot: &'a SigningKey,
    pub timestamp: &'a SigningKey,
}

/// One target of a release.
#[derive(Clone, Debug, PartialEq)]
pub struct TargetEntry {
    pub name: TargetName,
    pub length: u64,
    pub sha256: [u8; 32],
    /// Written only when `Some` (every byte of a bin counts).
    pub custom: Option<serde_json::Value>,
}

/// The files of a new release, to be written into `metadata/`.
#[derive(Clone, Debug)]
pub struct ReleaseFiles {
    /// New versioned files, in a safe write order (leaf bins, middle bins, `N.targets.json`,
    /// `N.snapshot.json`), e.g. `("12.bin-3fc.json", bytes)`. Files of untouched roles are not
    /// here: the previous release's files stay valid.
    pub versioned: Vec<(String, Vec<u8>)>,
    /// `timestamp.json`, to be written last (atomically): it is the commit point.
    pub timestamp: Vec<u8>,
    pub snapshot_version: u64,
    /// Number of leaf bins in the layout.
    pub bins_total: usize,
    /// Number of leaf bins signed anew in this release.
    pub bins_written: usize,
    /// Leaf bins of the originals family, and how many of them were signed anew.
    pub original_bins_total: usize,
    pub original_bins_written: usize,
}

impl ReleaseFiles {
    /// Writes the versioned files (each fsynced), then replaces `timestamp.json` atomically.
    /// An existing versioned file with the same name is overwritten (it can only be the leftover
    /// of a release that never committed its timestamp).
    pub fn write_to(&self, metadata_dir: &Path) -> Result<()> {
        std::fs::create_dir_all(metadata_dir)
            .map_err(|error| Error::io("create folder", metadata_dir, &error))?;
        for (name, bytes) in &self.versioned {
            write_synced(&metadata_dir.join(name), bytes)?;
        }
        write_atomically(&metadata_dir.join(TIMESTAMP_FILE), &self.timestamp)
    }
}

/// A change to one target since the previous committed release.
#[derive(Clone, Debug, PartialEq)]
pub enum TargetChange {
    /// Added, or its bytes replaced.
    Put(TargetEntry),
    /// No longer in the release (removing a name the release does not have is no change).
    Remove(TargetName),
}

impl TargetChange {
    fn name(&self) -> &str {
        match self {
            TargetChange::Put(entry) => entry.name.as_str(),
            TargetChange::Remove(name) => name.as_str(),
        }
    }
}

/// What a new release is made of.
enum ReleaseTargets {
    /// Every target.
    All(Vec<TargetEntry>),
    /// The changes since the previous release, which has `main_count` targets in the main
    /// family (every target but originals) once they are applied.
    Changes {
        changes: Vec<TargetChange>,
        main_count: usize,
    },
    /// The previous release's targets, in its bin layout.
    Same,
}

/// Plans a new release from the complete list of `targets` (any order; a duplicate name is an
/// error) and the previous committed release in `metadata_dir` (none if it has no
/// `timestamp.json`).
///
/// If `metadata_dir/ROOT_VERSION.root.json` exists, the signers' keys are checked against it
/// first, so a wrong key fails here rather than in every client.
pub fn build_release(
    metadata_dir: &Path,
    root_version: u64,
    targets: Vec<TargetEntry>,
    signers: &Signers,
    expires: &Expiries,
    now: OffsetDateTime,
) -> Result<ReleaseFiles> {
    let files = build(
        metadata_dir,
        root_version,
        ReleaseTargets::All(targets),
        signers,
        expires,
        now,
    )?;
    files.ok_or_else(|| Error::new(ErrorKind::InvalidInput, "no release planned".to_string()))
}

/// Plans a new release from the previous committed release in `metadata_dir` and the `changes`
/// since (at most one per name), reading and re-signing only the bins they touch (and those
/// about to expire). `main_count` is the number of targets that are not originals in the new
/// release. `None` when this cannot be done from changes alone: there is no previous release of
/// ours, or the bin count would change; then [`build_release`] with every target does it.
///
/// The result is the same as [`build_release`] given the previous release's targets with the
/// changes applied (tested).
pub fn build_release_changes(
    metadata_dir: &Path,
    root_version: u64,
    changes: Vec<TargetChange>,
    main_count: usize,
    signers: &Signers,
    expires: &Expiries,
    now: OffsetDateTime,
) -> Result<Option<ReleaseFiles>> {
    build(
        metadata_dir,
        root_version,
        ReleaseTargets::Changes {
            changes,
            main_count,
        },
        signers,
        expires,
        now,
    )
}

/// Signs the previous committed release in `metadata_dir` again, its targets unchanged: a new
/// snapshot and timestamp, and every role the new keys or an expiry call for (after a key
/// rotation: every targets role when the targets key changed). [`ErrorKind::NotFound`] when
/// there is no release yet.
pub fn resign_release(
    metadata_dir: &Path,
    root_version: u64,
    signers: &Signers,
    expires: &Expiries,
    now: OffsetDateTime,
) -> Result<ReleaseFiles> {
    build(
        metadata_dir,
        root_version,
        ReleaseTargets::Same,
        signers,
        expires,
        now,
    )?
    .ok_or_else(|| {
        Error::new(
            ErrorKind::NotFound,
            format!(
                "{}: no release of ours to sign again",
                metadata_dir.display()
            ),
        )
    })
}

fn build(
    metadata_dir: &Path,
    root_version: u64,
    targets: ReleaseTargets,
    signers: &Signers,
    expiries: &Expiries,
    now: OffsetDateTime,
) -> Result<Option<ReleaseFiles>> {
    check_signers_against_root(metadata_dir, root_version, signers)?;
    let previous = PreviousRelease::read(metadata_dir)?;
    let previous_leaf_count = previous.as_ref().and_then(|previous| previous.leaf_count);
    // Originals go to a coarser family of bins under `originals`, so that the bins a reader
    // walks to verify a document's record hold records only (see ORIGINALS_PATTERN).
    let (layout, originals, records) = match targets {
        ReleaseTargets::All(targets) => {
            let (originals, records): (Vec<TargetEntry>, Vec<TargetEntry>) = targets
                .into_iter()
                .partition(|entry| is_original(entry.name.as_str()));
            let layout = BinLayout::for_target_count(records.len(), previous_leaf_count);
            (
                layout,
                FamilyInput::All(originals),
                FamilyInput::All(records),
            )
        }
        ReleaseTargets::Changes {
            changes,
            main_count,
        } => {
            let Some(leaf_count) = previous_leaf_count else {
                return Ok(None);
            };
            let layout = BinLayout::for_target_count(main_count, Some(leaf_count));
            if layout.leaf_count() != leaf_count as usize {
                return Ok(None);
            }
            let (originals, records): (Vec<TargetChange>, Vec<TargetChange>) = changes
                .into_iter()
                .partition(|change| is_original(change.name()));
            (
                layout,
                FamilyInput::Changes(originals),
                FamilyInput::Changes(records),
            )
        }
        ReleaseTargets::Same => {
            let Some(leaf_count) = previous_leaf_count else {
                return Ok(None);
            };
            (
                BinLayout::with_leaf_count(leaf_count)?,
                FamilyInput::Changes(Vec::new()),
                FamilyInput::Changes(Vec::new()),
            )
        }
    };
    let originals_layout = BinLayout::originals_for(&layout);

    let targets_key = signers.targets.public();
    let targets_key_id = targets_key.key_id();
    let mut planner = Planner {
        previous: previous.as_ref(),
        now,
        targets_expires: whole_seconds_utc(checked_add(now, expiries.targets)?)?,
        targets_lifetime: expiries.targets,
        targets_key_id: targets_key_id.clone(),
        targets_signer: signers.targets,
        delegation_keys: BTreeMap::from([(targets_key_id.clone(), targets_key.to_key())]),
        versioned: Vec::new(),
        role_versions: BTreeMap::new(),
    };
    let (record_delegations, bins_written) = planner.family(&layout, records)?;
    let (original_delegations, original_bins_written) =
        planner.family(&originals_layout, originals)?;
    let keys = planner.delegation_keys.clone();
    planner.role(
        ORIGINALS_ROLE,
        BTreeMap::new(),
        Some(Delegations {
            keys: keys.clone(),
            roles: original_delegations,
        }),
    )?;
    let mut top_delegations = vec![DelegatedRole {
        name: ORIGINALS_ROLE.to_string(),
        keyids: vec![targets_key_id],
        threshold: 1,
        terminating: true,
        paths: Some(vec![ORIGINALS_PATTERN.to_string()]),
        path_hash_prefixes: None,
    }];
    top_delegations.extend(record_delegations);
    planner.role(
        "targets",
        BTreeMap::new(),
        Some(Delegations {
            keys,
            roles: top_delegations,
        }),
    )?;

    // Snapshot: every role ever listed stays listed (5.5.5), current roles at their new version
    // and length. The length is the cap a client reads the role's file with (5.6.1): a peer
    // cannot make it read more than the file signed. Hashes are left out: they would add ~80
    // bytes per role to the snapshot every reader fetches (~130 KB at 1,600 roles), and the
    // role's own signature, checked next, already covers its bytes.
    let mut meta: BTreeMap<String, MetaFile> = previous
        .as_ref()
        .map(|previous| previous.snapshot_meta.clone())
        .unwrap_or_default();
    for (file_name, (version, length)) in &planner.role_versions {
        meta.insert(
            file_name.clone(),
            MetaFile {
                version: *version,
                length: Some(*length),
                hashes: None,
            },
        );
    }
    let snapshot_version = previous
        .as_ref()
        .map_or(1, |previous| previous.snapshot_version + 1);
    let snapshot = Snapshot {
        role_type: RoleType::Snapshot,
        spec_version: SPEC_VERSION.to_string(),
        version: snapshot_version,
        expires: whole_seconds_utc(checked_add(now, expiries.snapshot)?)?,
        meta,
    };
    let snapshot_bytes = sign_document(&snapshot, &[signers.snapshot])?;

    let timestamp = Timestamp {
        role_type: RoleType::Timestamp,
        spec_version: SPEC_VERSION.to_string(),
        version: previous
            .as_ref()
            .map_or(1, |previous| previous.timestamp_version + 1),
        expires: whole_seconds_utc(checked_add(now, expiries.timestamp)?)?,
        meta: BTreeMap::from([(
            SNAPSHOT_META.to_string(),
            MetaFile {
                version: snapshot_version,
                length: Some(snapshot_bytes.len() as u64),
                hashes: Some(Hashes {
                    sha256: Digest::of(&snapshot_bytes),
                }),
            },
        )]),
    };
    let timestamp_bytes = sign_document(&timestamp, &[signers.timestamp])?;

    let mut versioned = planner.versioned;
    versioned.push((format!("{snapshot_version}.snapshot.json"), snapshot_bytes));
    Ok(Some(ReleaseFiles {
        versioned,
        timestamp: timestamp_bytes,
        snapshot_version,
        bins_total: layout.leaf_count(),
        bins_written,
        original_bins_total: originals_layout.leaf_count(),
        original_bins_written,
    }))
}

/// The release committed in `metadata_dir`: its `timestamp.json` (the signed part) and the
/// snapshot version it names; `None` before the first release. Read, not verified: for the
/// folder's own writer (the publisher, a mirror), which signed or verified it.
pub fn committed(metadata_dir: &Path) -> Result<Option<(Timestamp, u64)>> {
    let path = metadata_dir.join(TIMESTAMP_FILE);
    if !path.exists() {
        return Ok(None);
    }
    let bytes = std::fs::read(&path).map_err(|error| Error::io("read", &path, &error))?;
    committed_in(&bytes, &path).map(Some)
}

/// [`committed`] from the bytes of `timestamp.json`, read from `path` (named in errors).
pub fn committed_in(timestamp: &[u8], path: &Path) -> Result<(Timestamp, u64)> {
    let timestamp: Signed<Timestamp> = serde_json::from_slice(timestamp).map_err(|error| {
        Error::new(ErrorKind::Malformed, format!("{}: {error}", path.display()))
    })?;
    let snapshot_version = timestamp
        .signed
        .meta
        .get(SNAPSHOT_META)
        .map(|meta| meta.version)
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Malformed,
                format!("{}: no {SNAPSHOT_META} in meta", path.display()),
            )
        })?;
    Ok((timestamp.signed, snapshot_version))
}

/// Re-signs `timestamp.json` with version + 1, the same snapshot and a fresh expiry.
///
/// Any one timestamp key can do it (a co-publisher's cron job). If a root file is in
/// `metadata_dir`, the newest one is checked to list `key` as a timestamp key with threshold 1.
pub fn refresh_timestamp(
    metadata_dir: &Path,
    key: &SigningKey,
    expires_in: Duration,
    now: OffsetDateTime,
) -> Result<Vec<u8>> {
    let path = metadata_dir.join(TIMESTAMP_FILE);
    let current: Signed<Timestamp> = read_json(&path)?;
    if let Some(root_path) = newest_root_file(metadata_dir)? {
        let root: Signed<Root> = read_json(&root_path)?;
        check_role_key(&root.signed, &root_path, "timestamp", &key.public())?;
        let threshold = root
            .signed
            .roles
            .get("timestamp")
            .map_or(1, |role| role.threshold);
        if threshold > 1 {
            return Err(Error::new(
                ErrorKind::ThresholdNotMet,
                format!(
                    "{}: timestamp threshold is {threshold}, one key cannot refresh it",
                    root_path.display()
                ),
            ));
        }
    }
    let refreshed = Timestamp {
        version: current.signed.version + 1,
        expires: whole_seconds_utc(checked_add(now, expires_in)?)?,
        ..current.signed
    };
    sign_document(&refreshed, &[key])
}

/// Signs a targets role. A leaf bin (no delegations, no `custom`, names without characters that
/// JSON escapes) is written straight to canonical JSON, and the file reuses those bytes as its
/// `signed` part; anything else goes through [`sign_document`]. At 250,000 documents a release
/// after a 1% change re-signs ~1,200 bins of ~30 KB each, and the generic route (serde → `Value`
/// → canonical, then serialising again) was ~30% of its CPU samples under perf.
fn sign_targets(document: &Targets, signer: &SigningKey) -> Result<Vec<u8>> {
    // Every field named (no `..`): a field added to these types fails to compile here rather
    // than being left out of the signed bytes.
    let Targets {
        role_type,
        spec_version,
        version,
        expires,
        targets,
        delegations,
    } = document;
    let simple = delegations.is_none() && plain(spec_version) && simple_targets(targets);
    if !simple {
        return sign_document(document, &[signer]);
    }
    let expires = crate::schema::expires_format::format(*expires).map_err(|error| {
        Error::new(
            ErrorKind::Malformed,
            format!("cannot format expiry: {error}"),
        )
    })?;
    let mut canonical = Vec::with_capacity(64 + targets.len() * 128);
    write!(
        canonical,
        r#"{{"_type":"{}","expires":"{expires}","spec_version":"{spec_version}","targets":"#,
        role_type.as_str(),
    )
    .map_err(|error| Error::new(ErrorKind::Malformed, error.to_string()))?;
    write_simple_targets(&mut canonical, targets);
    write!(canonical, r#","version":{version}}}"#)
        .map_err(|error| Error::new(ErrorKind::Malformed, error.to_string()))?;
    let signature = hex::encode(signer.sign(&canonical));
    let mut file = Vec::with_capacity(canonical.len() + 256);
    write!(
        file,
        r#"{{"signatures":[{{"keyid":"{}","sig":"{signature}"}}],"signed":"#,
        signer.public().key_id()
    )
    .map_err(|error| Error::new(ErrorKind::Malformed, error.to_string()))?;
    file.extend_from_slice(&canonical);
    file.push(b'}');
    Ok(file)
}

/// Signs `signed` with each of `signers` (one signature per distinct key): the bytes of the
/// document `{"signatures":[...],"signed":{...}}` as compact JSON.
pub fn sign_document<T: Serialize>(signed: &T, signers: &[&SigningKey]) -> Result<Vec<u8>> {
    let canonical = cjson::canonical(signed)?;
    let mut signatures: Vec<Signature> = Vec::with_capacity(signers.len());
    for signer in signers {
        let keyid = signer.public().key_id();
        if signatures.iter().any(|signature| signature.keyid == keyid) {
            continue;
        }
        signatures.push(Signature {
            keyid,
            sig: hex::encode(signer.sign(&canonical)),
        });
    }
    serde_json::to_vec(&Signed { signatures, signed }).map_err(|error| {
        Error::new(
            ErrorKind::Malformed,
            format!("cannot serialise metadata: {error}"),
        )
    })
}

/// Decides, role by role, whether to keep the previous file or sign a new version.
struct Planner<'a> {
    previous: Option<&'a PreviousRelease>,
    now: OffsetDateTime,
    targets_expires: OffsetDateTime,
    targets_lifetime: Duration,
    targets_key_id: String,
    targets_signer: &'a SigningKey,
    delegation_keys: BTreeMap<String, crate::schema::Key>,
    versioned: Vec<(String, Vec<u8>)>,
    /// `ROLE.json` → version and length in the new snapshot.
    role_versions: BTreeMap<String, (u64, u64)>,
}

/// What to do with one role: keep the previous file (of `length` bytes), or write `file`
/// (signed bytes, `length` of them).
struct RolePlan {
    meta_name: String,
    version: u64,
    length: u64,
    file: Option<(String, Vec<u8>)>,
}

impl Planner<'_> {
    /// Places `input` in the leaves of `layout`, plans every leaf (signing in parallel) and the
    /// middle roles if any; returns the delegations for the parent and the leaves signed anew.
    fn family(
        &mut self,
        layout: &BinLayout,
        input: FamilyInput,
    ) -> Result<(Vec<DelegatedRole>, usize)> {
        use rayon::prelude::*;
        let leaves: Vec<LeafInput> = match input {
            FamilyInput::All(entries) => {
                let mut leaves: Vec<BTreeMap<String, TargetInfo>> =
                    vec![BTreeMap::new(); layout.leaf_count()];
                for entry in entries {
                    let index = layout.leaf_of(entry.name.as_str());
                    let (name, info) = entry.into_info();
                    if leaves[index].insert(name.clone(), info).is_some() {
                        return Err(Error::new(
                            ErrorKind::InvalidInput,
                            format!("target {name} is listed twice"),
                        ));
                    }
                }
                leaves.into_iter().map(LeafInput::All).collect()
            }
            FamilyInput::Changes(changes) => {
                let mut leaves: Vec<Vec<TargetChange>> = vec![Vec::new(); layout.leaf_count()];
                for change in changes {
                    leaves[layout.leaf_of(change.name())].push(change);
                }
                leaves.into_iter().map(LeafInput::Changes).collect()
            }
        };
        let this = &*self;
        let plans: Vec<RolePlan> = leaves
            .into_par_iter()
            .enumerate()
            .map(|(index, input)| this.plan_leaf(&layout.leaf_name(index), input))
            .collect::<Result<_>>()?;
        let written = plans.iter().filter(|plan| plan.file.is_some()).count();
        for plan in plans {
            self.apply(plan);
        }
        let delegate = |name: String, prefixes: Vec<String>, keyid: &str| DelegatedRole {
            name,
            keyids: vec![keyid.to_string()],
            threshold: 1,
            terminating: true,
            paths: None,
            path_hash_prefixes: Some(prefixes),
        };
        let leaf_delegation = |index: usize| {
            delegate(
                layout.leaf_name(index),
                layout.leaf_prefixes(index),
                &self.targets_key_id,
            )
        };
        if !layout.has_middle_level() {
            let delegations = (0..layout.leaf_count()).map(leaf_delegation).collect();
            return Ok((delegations, written));
        }
        let mut middles = Vec::with_capacity(16);
        let mut middle_plans = Vec::with_capacity(16);
        for digit in 0..16 {
            let delegations = Delegations {
                keys: self.delegation_keys.clone(),
                roles: layout
                    .leaves_of_middle(digit)
                    .map(leaf_delegation)
                    .collect(),
            };
            let name = layout.middle_name(digit);
            middle_plans.push(self.plan(&name, BTreeMap::new(), Some(delegations))?);
            middles.push(delegate(
                name,
                vec![format!("{digit:x}")],
                &self.targets_key_id,
            ));
        }
        for plan in middle_plans {
            self.apply(plan);
        }
        Ok((middles, written))
    }

    /// Plans and records the targets role `name`; returns whether a new version was signed.
    fn role(
        &mut self,
        name: &str,
        targets: BTreeMap<String, TargetInfo>,
        delegations: Option<Delegations>,
    ) -> Result<bool> {
        let plan = self.plan(name, targets, delegations)?;
        let written = plan.file.is_some();
        self.apply(plan);
        Ok(written)
    }

    fn apply(&mut self, plan: RolePlan) {
        if let Some(file) = plan.file {
            self.versioned.push(file);
        }
        self.role_versions
            .insert(plan.meta_name, (plan.version, plan.length));
    }

    /// Decides whether the delegating role `name` keeps its previous file or is signed anew.
    fn plan(
        &self,
        name: &str,
        targets: BTreeMap<String, TargetInfo>,
        delegations: Option<Delegations>,
    ) -> Result<RolePlan> {
        let (previous, listed_version) = self.previous_role(name);
        if let (Some(previous), Some(version)) = (previous, listed_version)
            && self.keeps(previous, version)
            && previous.delegations == delegations
            && previous.targets()? == targets
        {
            return Ok(self.keep(name, version, previous));
        }
        self.sign(name, listed_version, targets, delegations)
    }

    /// Decides whether the leaf bin `name` keeps its previous file or is signed anew: from its
    /// whole new content, compared with the previous file's bytes (no parsing), or from changes,
    /// applied to the previous file's content (parsed only when there are any).
    fn plan_leaf(&self, name: &str, input: LeafInput) -> Result<RolePlan> {
        let (previous, listed_version) = self.previous_role(name);
        let keepable = match (previous, listed_version) {
            (Some(previous), Some(version)) => {
                (self.keeps(previous, version) && previous.delegations.is_none()).then_some(version)
            }
            _ => None,
        };
        let targets = match input {
            LeafInput::All(targets) => {
                if let (Some(previous), Some(version)) = (previous, keepable)
                    && previous.same_targets(&targets)?
                {
                    return Ok(self.keep(name, version, previous));
                }
                targets
            }
            LeafInput::Changes(changes) => {
                if let (Some(previous), Some(version)) = (previous, keepable)
                    && changes.is_empty()
                {
                    return Ok(self.keep(name, version, previous));
                }
                let mut targets = match previous {
                    Some(previous) => previous.targets()?,
                    None => BTreeMap::new(),
                };
                let mut changed = false;
                for change in changes {
                    changed |= match change {
                        TargetChange::Put(entry) => {
                            let (name, info) = entry.into_info();
                            targets.insert(name, info.clone()) != Some(info)
                        }
                        TargetChange::Remove(name) => targets.remove(name.as_str()).is_some(),
                    };
                }
                if let (Some(previous), Some(version)) = (previous, keepable)
                    && !changed
                {
                    return Ok(self.keep(name, version, previous));
                }
                targets
            }
        };
        self.sign(name, listed_version, targets, None)
    }

    /// The previous file of role `name`, and its version listed in the previous snapshot.
    fn previous_role(&self, name: &str) -> (Option<&TargetsFile>, Option<u64>) {
        let Some(previous) = self.previous else {
            return (None, None);
        };
        (
            previous.roles.get(name),
            previous
                .snapshot_meta
                .get(&format!("{name}.json"))
                .map(|meta| meta.version),
        )
    }

    /// Whether a previous file listed at `version` may stay as it is when its content is the same:
    /// signed by the current key, and not expiring within a quarter of its lifetime.
    fn keeps(&self, previous: &TargetsFile, version: u64) -> bool {
        previous.expires - self.now >= self.targets_lifetime / 4
            && previous.keyids.contains(&self.targets_key_id)
            && previous.version == version
    }

    fn keep(&self, name: &str, version: u64, previous: &TargetsFile) -> RolePlan {
        RolePlan {
            meta_name: format!("{name}.json"),
            version,
            length: previous.length,
            file: None,
        }
    }

    fn sign(
        &self,
        name: &str,
        listed_version: Option<u64>,
        targets: BTreeMap<String, TargetInfo>,
        delegations: Option<Delegations>,
    ) -> Result<RolePlan> {
        let version = listed_version.map_or(1, |version| version + 1);
        let document = Targets {
            role_type: RoleType::Targets,
            spec_version: SPEC_VERSION.to_string(),
            version,
            expires: self.targets_expires,
            targets,
            delegations,
        };
        let bytes = sign_targets(&document, self.targets_signer)?;
        Ok(RolePlan {
            meta_name: format!("{name}.json"),
            version,
            length: bytes.len() as u64,
            file: Some((format!("{version}.{name}.json"), bytes)),
        })
    }
}

/// What goes into one family of bins.
enum FamilyInput {
    All(Vec<TargetEntry>),
    Changes(Vec<TargetChange>),
}

/// What goes into one leaf bin.
enum LeafInput {
    All(BTreeMap<String, TargetInfo>),
    Changes(Vec<TargetChange>),
}

impl TargetEntry {
    fn into_info(self) -> (String, TargetInfo) {
        let name = self.name.as_str().to_string();
        let info = TargetInfo {
            length: self.length,
            hashes: Hashes {
                sha256: Digest(self.sha256),
            },
            custom: self.custom,
        };
        (name, info)
    }
}

/// The last committed release, as far as the editor needs it.
struct PreviousRelease {
    timestamp_version: u64,
    snapshot_version: u64,
    snapshot_meta: BTreeMap<String, MetaFile>,
    /// Roles reachable from `targets` (including `targets`), by name.
    roles: HashMap<String, TargetsFile>,
    /// Leaf count of the previous layout, if it looked like one of ours.
    leaf_count: Option<u32>,
}

impl PreviousRelease {
    fn read(metadata_dir: &Path) -> Result<Option<Self>> {
        let Some((timestamp, snapshot_version)) = committed(metadata_dir)? else {
            return Ok(None);
        };
        let snapshot: Signed<Snapshot> =
            read_json(&metadata_dir.join(format!("{snapshot_version}.snapshot.json")))?;
        let snapshot_meta = snapshot.signed.meta;

        // Level by level from `targets`, each level's files read and parsed in parallel (at
        // 250,000 documents the leaves are ~30 MB of JSON).
        use rayon::prelude::*;
        let mut roles: HashMap<String, TargetsFile> = HashMap::new();
        let mut level = vec!["targets".to_string()];
        while !level.is_empty() {
            level.sort();
            level.dedup();
            let files: Vec<(String, std::path::PathBuf)> = level
                .drain(..)
                .filter(|name| !roles.contains_key(name) && role_file_name_is_safe(name))
                .filter_map(|name| {
                    let meta = snapshot_meta.get(&format!("{name}.json"))?;
                    let path = metadata_dir.join(format!("{}.{name}.json", meta.version));
                    Some((name, path))
                })
                .collect();
            let read: Vec<(String, TargetsFile)> = files
                .into_par_iter()
                .map(|(name, path)| {
                    let bytes =
                        std::fs::read(&path).map_err(|error| Error::io("read", &path, &error))?;
                    let mut role: TargetsFile =
                        serde_json::from_slice(&bytes).map_err(|error| {
                            Error::new(ErrorKind::Malformed, format!("{}: {error}", path.display()))
                        })?;
                    role.length = bytes.len() as u64;
                    Ok((name, role))
                })
                .collect::<Result<_>>()?;
            for (name, role) in read {
                if let Some(delegations) = &role.delegations {
                    level.extend(
                        delegations
                            .roles
                            .iter()
                            .map(|delegated| delegated.name.clone()),
                    );
                }
                roles.insert(name, role);
            }
        }
        let leaf_count = roles.keys().filter(|name| name.starts_with("bin-")).count() as u32;
        Ok(Some(Self {
            timestamp_version: timestamp.version,
            snapshot_version,
            snapshot_meta,
            roles,
            leaf_count: (leaf_count > 0).then_some(leaf_count),
        }))
    }
}

fn check_signers_against_root(
    metadata_dir: &Path,
    root_version: u64,
    signers: &Signers,
) -> Result<()> {
    let root_path = metadata_dir.join(format!("{root_version}.root.json"));
    if !root_path.exists() {
        return Ok(());
    }
    let root: Signed<Root> = read_json(&root_path)?;
    check_role_key(
        &root.signed,
        &root_path,
        "targets",
        &signers.targets.public(),
    )?;
    check_role_key(
        &root.signed,
        &root_path,
        "snapshot",
        &signers.snapshot.public(),
    )?;
    check_role_key(
        &root.signed,
        &root_path,
        "timestamp",
        &signers.timestamp.public(),
    )
}

fn check_role_key(root: &Root, root_path: &Path, role: &str, key: &PublicKey) -> Result<()> {
    let keyid = key.key_id();
    let listed = root
        .roles
        .get(role)
        .is_some_and(|role_keys| role_keys.keyids.contains(&keyid));
    if listed {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::InvalidInput,
        format!(
            "{}: key {keyid} is not a {role} key of this root",
            root_path.display()
        ),
    ))
}

/// The highest-numbered `N.root.json` in `metadata_dir`, if any.
fn newest_root_file(metadata_dir: &Path) -> Result<Option<std::path::PathBuf>> {
    let entries =
        std::fs::read_dir(metadata_dir).map_err(|error| Error::io("list", metadata_dir, &error))?;
    let mut newest: Option<(u64, std::path::PathBuf)> = None;
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(version) = file_name
            .to_str()
            .and_then(|name| name.strip_suffix(".root.json"))
            .and_then(|number| number.parse::<u64>().ok())
        else {
            continue;
        };
        if newest.as_ref().is_none_or(|(best, _)| version > *best) {
            newest = Some((version, entry.path()));
        }
    }
    Ok(newest.map(|(_, path)| path))
}

fn read_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T> {
    let bytes = std::fs::read(path).map_err(|error| Error::io("read", path, &error))?;
    serde_json::from_slice(&bytes)
        .map_err(|error| Error::new(ErrorKind::Malformed, format!("{}: {error}", path.display())))
}

fn write_synced(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut file =
        std::fs::File::create(path).map_err(|error| Error::io("create", path, &error))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|error| Error::io("write", path, &error))
}

/// `timestamp.json`, the commit point: replaced whole and durable before this returns
/// ([`Durability::Fsync`]: the file, then its folder).
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic(path, bytes, Durability::Fsync).map_err(|error| {
        Error::new(
            ErrorKind::Io,
            format!(
                "{} {}: {}",
                error.action(),
                error.path().display(),
                error.io_error()
            ),
        )
    })
}

fn checked_add(now: OffsetDateTime, duration: Duration) -> Result<OffsetDateTime> {
    now.checked_add(duration).ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidInput,
            format!("expiry {duration} after {now} is out of range"),
        )
    })
}

/// UTC, whole seconds: the only `expires` python-tuf parses.
fn whole_seconds_utc(when: OffsetDateTime) -> Result<OffsetDateTime> {
    let utc = when.to_offset(time::UtcOffset::UTC);
    utc.replace_nanosecond(0).map_err(|error| {
        Error::new(
            ErrorKind::InvalidInput,
            format!("bad expiry {when}: {error}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::leaf::read_simple_targets;

    /// The fast leaf path writes exactly the canonical JSON the generic path computes, and a file
    /// that parses to the same document.
    #[test]
    fn leaf_fast_path_is_canonical() {
        let key = SigningKey::generate();
        let mut targets = BTreeMap::new();
        for (name, length) in [
            ("b.json", 7u64),
            ("a.original.pdf", 12_345),
            ("Z_9-x.json", 0),
        ] {
            targets.insert(
                name.to_string(),
                TargetInfo {
                    length,
                    hashes: Hashes {
                        sha256: Digest::of(name.as_bytes()),
                    },
                    custom: None,
                },
            );
        }
        let document = Targets {
            role_type: RoleType::Targets,
            spec_version: SPEC_VERSION.to_string(),
            version: 42,
            expires: time::macros::datetime!(2031-02-03 04:05:06 UTC),
            targets,
            delegations: None,
        };
        let fast = sign_targets(&document, &key).expect("fast");
        let generic = sign_document(&document, &[&key]).expect("generic");
        let fast: Signed<Targets> = serde_json::from_slice(&fast).expect("parse fast");
        let generic_parsed: Signed<Targets> = serde_json::from_slice(&generic).expect("parse");
        assert_eq!(fast, generic_parsed);
        let raw: serde_json::Value = serde_json::from_slice(&generic).expect("value");
        let signed = cjson::canonical_value(&raw["signed"]).expect("canonical");
        assert_eq!(signed, cjson::canonical(&document).expect("canonical"));
        let fast_bytes = sign_targets(&document, &key).expect("fast");
        let start = b"\"signed\":";
        let at = fast_bytes
            .windows(start.len())
            .position(|w| w == start)
            .expect("signed")
            + start.len();
        assert_eq!(&fast_bytes[at..fast_bytes.len() - 1], &signed[..]);
    }

    fn entry(name: &str, content: &str) -> TargetEntry {
        TargetEntry {
            name: TargetName::new(name).expect("name"),
            length: content.len() as u64,
            sha256: Digest::of(content.as_bytes()).0,
            custom: None,
        }
    }

    /// A release from changes is byte for byte the release from every target with the changes
    /// applied: the same files signed anew, the same files kept, the same snapshot.
    #[test]
    fn changes_make_the_same_release_as_every_target() {
        let key = SigningKey::generate();
        let signers = Signers {
            targets: &key,
            snapshot: &key,
            timestamp: &key,
        };
        let expiries = Expiries {
            targets: Duration::days(365),
            snapshot: Duration::days(7),
            timestamp: Duration::days(1),
        };
        let now = time::macros::datetime!(2026-12-01 00:00 UTC);
        let mut all: BTreeMap<String, TargetEntry> = BTreeMap::new();
        for i in 0..3000 {
            let e = entry(&format!("d{i}.json"), &format!("record {i}"));
            all.insert(e.name.as_str().to_string(), e);
            if i % 2 == 0 {
                let e = entry(&format!("d{i}.original.pdf"), &format!("original {i}"));
                all.insert(e.name.as_str().to_string(), e);
            }
        }
        let first = tempfile::tempdir().expect("tempdir");
        build_release(
            first.path(),
            1,
            all.values().cloned().collect(),
            &signers,
            &expiries,
            now,
        )
        .expect("first")
        .write_to(first.path())
        .expect("write");

        let mut changes = Vec::new();
        for i in 3000..3040 {
            changes.push(TargetChange::Put(entry(&format!("d{i}.json"), "new")));
        }
        changes.push(TargetChange::Put(entry("d7.json", "record 7, changed")));
        changes.push(TargetChange::Put(entry(
            "d8.original.pdf",
            "original 8, changed",
        )));
        changes.push(TargetChange::Put(entry("d9.json", "record 9"))); // the same
        changes.push(TargetChange::Remove(
            TargetName::new("d10.json").expect("name"),
        ));
        changes.push(TargetChange::Remove(
            TargetName::new("d10.original.pdf").expect("name"),
        ));
        changes.push(TargetChange::Remove(
            TargetName::new("never.json").expect("name"),
        ));
        for change in &changes {
            match change {
                TargetChange::Put(e) => {
                    all.insert(e.name.as_str().to_string(), e.clone());
                }
                TargetChange::Remove(name) => {
                    all.remove(name.as_str());
                }
            }
        }
        let main_count = all.keys().filter(|name| !is_original(name)).count();
        let later = now + Duration::hours(1);
        let copy = |to: &Path| {
            for file in std::fs::read_dir(first.path()).expect("list") {
                let file = file.expect("entry");
                std::fs::copy(file.path(), to.join(file.file_name())).expect("copy");
            }
        };
        let (a, b) = (
            tempfile::tempdir().expect("a"),
            tempfile::tempdir().expect("b"),
        );
        copy(a.path());
        copy(b.path());
        let from_changes =
            build_release_changes(a.path(), 1, changes, main_count, &signers, &expiries, later)
                .expect("changes")
                .expect("same layout");
        let from_all = build_release(
            b.path(),
            1,
            all.into_values().collect(),
            &signers,
            &expiries,
            later,
        )
        .expect("all");
        assert_eq!(from_changes.versioned, from_all.versioned);
        assert_eq!(from_changes.timestamp, from_all.timestamp);
        assert!(from_all.bins_written > 0 && from_all.bins_written < from_all.bins_total);
        assert!(from_all.original_bins_written > 0);

        // A count that calls for another bin layout: not from changes.
        assert!(
            build_release_changes(a.path(), 1, vec![], 1_000_000, &signers, &expiries, later)
                .expect("plan")
                .is_none()
        );
    }

    #[test]
    fn simple_targets_read_back_and_anything_else_is_left_to_json() {
        let mut targets = BTreeMap::new();
        for (name, length) in [("a.json", 0u64), ("b.original.pdf", 12_345), ("c", 7)] {
            let (name, info) = entry(name, "x").into_info();
            targets.insert(name, TargetInfo { length, ..info });
        }
        let mut bytes = Vec::new();
        write_simple_targets(&mut bytes, &targets);
        let text = String::from_utf8(bytes).expect("utf-8");
        assert_eq!(read_simple_targets(&text), Some(targets.clone()));
        let json: BTreeMap<String, TargetInfo> = serde_json::from_str(&text).expect("json");
        assert_eq!(json, targets);
        assert_eq!(read_simple_targets("{}"), Some(BTreeMap::new()));
        for other in [
            text.replace("\"length\":0", "\"length\":00"),
            text.replace("{\"hashes", " {\"hashes"),
            text.replace("a.json", "d.json"), // out of order
            text.to_uppercase(),
            text.replace("}}", "},\"custom\":{}}"),
            format!("{text} "),
        ] {
            assert_eq!(read_simple_targets(&other), None, "{other}");
        }
    }
}
