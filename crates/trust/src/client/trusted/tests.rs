//! Each top-level step of the trusted-metadata set from bytes, without a transport: one test per
//! way a file must be refused (expired, rolled back, wrong key, threshold not met, duplicate
//! signatures, mix-and-match), and the root rotation chain. Fixtures are signed with the crate's
//! own editor; every refusal is checked for its kind and for a message naming the file.

use std::path::Path;

use serde::Serialize;
use time::Duration;
use time::macros::datetime;

use super::*;
use crate::TargetName;
use crate::editor::{self, Expiries, RootSpec, Signers, TargetEntry};
use crate::keys::SigningKey;
use crate::schema::{Hashes, Signed};

/// The clock of every set here: the fixture's files are valid then.
const NOW: OffsetDateTime = datetime!(2030-01-01 00:00 UTC);

/// A fixed ed25519 key: PKCS#8 v1 DER around a 32-byte seed (fast, and the same every run).
fn key(seed: u8) -> SigningKey {
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(&[seed; 32]);
    SigningKey::from_pkcs8_der(&der).expect("fixed key")
}

fn signed_part<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> T {
    let document: Signed<T> = serde_json::from_slice(bytes).expect("fixture parses");
    document.signed
}

fn sign<T: Serialize>(document: &T, keys: &[&SigningKey]) -> Vec<u8> {
    editor::sign_document(document, keys).expect("sign")
}

/// `bytes` (a signed document) with its signatures listed twice.
fn signatures_twice(bytes: &[u8]) -> Vec<u8> {
    let mut document: Signed<serde_json::Value> = serde_json::from_slice(bytes).expect("parses");
    let signatures = document.signatures.clone();
    document.signatures.extend(signatures);
    serde_json::to_vec(&document).expect("serialise")
}

#[track_caller]
fn assert_refused<T>(result: Result<T>, kind: ErrorKind, file: &str) {
    match result {
        Ok(_) => panic!("accepted; expected {kind:?} naming {file}"),
        Err(error) => {
            assert_eq!(error.kind(), kind, "{error}");
            assert!(error.message().contains(file), "not naming {file}: {error}");
        }
    }
}

/// A publisher: fixed keys, root version 1, and one release of a few targets (top-level targets
/// delegating to hashed bins), all in memory.
struct Repo {
    root_key: SigningKey,
    targets_key: SigningKey,
    snapshot_key: SigningKey,
    timestamp_key: SigningKey,
    root_json: Vec<u8>,
    /// The release's metadata by file name (`timestamp.json`, `1.snapshot.json`, …).
    files: HashMap<String, Vec<u8>>,
}

impl Repo {
    fn new() -> Self {
        Self::with_root(1, NOW + Duration::days(365))
    }

    /// Timestamp keys with `timestamp_threshold` (two keys: the timestamp key and the snapshot
    /// key), root version 1 expiring at `root_expires`.
    fn with_root(timestamp_threshold: u32, root_expires: OffsetDateTime) -> Self {
        let mut repo = Self {
            root_key: key(1),
            targets_key: key(2),
            snapshot_key: key(3),
            timestamp_key: key(4),
            root_json: Vec::new(),
            files: HashMap::new(),
        };
        let mut spec = repo.root_spec(vec![repo.root_key.public()]);
        if timestamp_threshold > 1 {
            spec.timestamp_keys.push(repo.snapshot_key.public());
            spec.timestamp_threshold = timestamp_threshold;
        }
        repo.root_json =
            editor::sign_root(&spec, 1, root_expires, &[&repo.root_key]).expect("sign root");
        let entries = (0..6)
            .map(|i| {
                let content = format!("target {i}\n").into_bytes();
                TargetEntry {
                    name: TargetName::new(format!("doc-{i}.json")).expect("name"),
                    length: content.len() as u64,
                    sha256: Digest::of(&content).0,
                    custom: None,
                }
            })
            .collect();
        let signers = Signers {
            targets: &repo.targets_key,
            snapshot: &repo.snapshot_key,
            timestamp: &repo.timestamp_key,
        };
        let expiries = Expiries {
            targets: Duration::days(365),
            snapshot: Duration::days(30),
            timestamp: Duration::days(7),
        };
        // No previous release: the folder does not exist.
        let release = editor::build_release(
            Path::new("/nonexistent/samizdat-trusted-set-tests"),
            1,
            entries,
            &signers,
            &expiries,
            NOW - Duration::days(1),
        )
        .expect("build release");
        repo.files = release.versioned.into_iter().collect();
        repo.files
            .insert("timestamp.json".to_string(), release.timestamp);
        repo
    }

    /// The fixture's root, held by `root_keys` (threshold 1).
    fn root_spec(&self, root_keys: Vec<crate::keys::PublicKey>) -> RootSpec {
        RootSpec {
            root_keys,
            root_threshold: 1,
            targets_keys: vec![self.targets_key.public()],
            snapshot_keys: vec![self.snapshot_key.public()],
            timestamp_keys: vec![self.timestamp_key.public()],
            timestamp_threshold: 1,
        }
    }

    fn file(&self, name: &str) -> &[u8] {
        self.files.get(name).expect("fixture file")
    }

    fn options(&self) -> Options {
        Options::new(NOW)
    }

    fn set(&self) -> TrustedMetadataSet {
        TrustedMetadataSet::new(&self.root_json, self.options(), "test").expect("trusted root")
    }

    /// A set that accepted the release's timestamp.
    fn set_at_timestamp(&self) -> TrustedMetadataSet {
        let mut set = self.set();
        set.update_timestamp(self.file("timestamp.json"))
            .expect("timestamp");
        set
    }

    /// A set that accepted the release's timestamp and snapshot.
    fn set_at_snapshot(&self) -> TrustedMetadataSet {
        let mut set = self.set_at_timestamp();
        set.update_snapshot(self.file("1.snapshot.json"))
            .expect("snapshot");
        set
    }

    fn timestamp(&self) -> Timestamp {
        signed_part(self.file("timestamp.json"))
    }

    fn snapshot(&self) -> Snapshot {
        signed_part(self.file("1.snapshot.json"))
    }

    fn targets(&self) -> Targets {
        signed_part(self.file("1.targets.json"))
    }

    /// Timestamp `version` naming `snapshot` (its bytes) as snapshot `snapshot_version`.
    fn timestamp_naming(&self, version: u64, snapshot_version: u64, snapshot: &[u8]) -> Vec<u8> {
        let mut timestamp = self.timestamp();
        timestamp.version = version;
        let meta = timestamp
            .meta
            .get_mut(SNAPSHOT_META)
            .expect("snapshot meta");
        meta.version = snapshot_version;
        meta.length = Some(snapshot.len() as u64);
        meta.hashes = Some(Hashes {
            sha256: Digest::of(snapshot),
        });
        sign(&timestamp, &[&self.timestamp_key])
    }

    /// Snapshot `version` naming `targets` (its bytes) as top-level targets `targets_version`.
    fn snapshot_naming(&self, version: u64, targets_version: u64, targets: &[u8]) -> Vec<u8> {
        let mut snapshot = self.snapshot();
        snapshot.version = version;
        let meta = snapshot.meta.get_mut(TARGETS_META).expect("targets meta");
        meta.version = targets_version;
        meta.length = Some(targets.len() as u64);
        meta.hashes = None;
        sign(&snapshot, &[&self.snapshot_key])
    }

    /// A set at a timestamp naming `snapshot` (its bytes) as version `snapshot_version`.
    fn set_with_snapshot(&self, snapshot_version: u64, snapshot: &[u8]) -> TrustedMetadataSet {
        let mut set = self.set();
        set.update_timestamp(&self.timestamp_naming(2, snapshot_version, snapshot))
            .expect("timestamp");
        set
    }

    /// The name and delegator of a delegated role of the release, and its file.
    fn some_bin(&self) -> (String, String, String) {
        let targets = self.targets();
        let delegations = targets.delegations.expect("top-level targets delegate");
        let role = delegations.roles[0].name.clone();
        let version = self.snapshot().meta[&format!("{role}.json")].version;
        let file = format!("{version}.{role}.json");
        (role, "targets".to_string(), file)
    }
}

// ---------------------------------------------------------------------------------------------
// The whole chain, and steps out of order.

#[test]
fn every_step_from_bytes() {
    let repo = Repo::new();
    let mut set = repo.set_at_snapshot();
    set.update_targets(repo.file("1.targets.json"))
        .expect("targets");
    let (role, delegator, file) = repo.some_bin();
    let bin = set
        .update_delegated_targets(repo.file(&file), &role, &delegator)
        .expect("delegated role");
    assert!(bin.delegations.is_some() || !bin.targets.is_empty());
    assert_eq!(set.freshness(), &Freshness::Fresh);
    assert_eq!(set.snapshot().map(|s| s.version), Some(1));
    assert_eq!(set.timestamp_bytes(), Some(repo.file("timestamp.json")));
    assert_eq!(set.snapshot_bytes(), Some(repo.file("1.snapshot.json")));
    let complete = set.into_complete().expect("complete");
    assert_eq!(complete.timestamp_bytes, repo.file("timestamp.json"));
    assert_eq!(complete.snapshot_bytes, repo.file("1.snapshot.json"));
    assert!(complete.roles.contains_key(&role));
}

#[test]
fn steps_out_of_order_are_refused() {
    let repo = Repo::new();
    let mut set = repo.set();
    let snapshot = repo.file("1.snapshot.json");
    assert_refused(
        set.update_snapshot(snapshot),
        ErrorKind::InvalidInput,
        "snapshot",
    );
    assert_refused(
        set.update_targets(repo.file("1.targets.json")),
        ErrorKind::InvalidInput,
        "targets",
    );
    assert!(set.into_complete().is_err());

    let mut set = repo.set_at_snapshot();
    assert_refused(
        set.update_timestamp(repo.file("timestamp.json")),
        ErrorKind::InvalidInput,
        "timestamp",
    );
    assert_refused(
        set.update_root(&repo.root_json),
        ErrorKind::InvalidInput,
        "root",
    );
    let (role, _, file) = repo.some_bin();
    // A delegated role before its delegator.
    assert_refused(
        set.update_delegated_targets(repo.file(&file), &role, "targets"),
        ErrorKind::Malformed,
        "targets",
    );
}

// ---------------------------------------------------------------------------------------------
// 5.2, 5.3: root.

#[test]
fn trusted_root_must_be_signed_by_itself() {
    let repo = Repo::new();
    let spec = repo.root_spec(vec![repo.root_key.public()]);
    let other = key(9);
    // Signed by a key the root does not list: no valid signature.
    let root: Root = signed_part(&repo.root_json);
    let bytes = sign(&root, &[&other]);
    assert_refused(
        TrustedMetadataSet::new(&bytes, repo.options(), "test"),
        ErrorKind::ThresholdNotMet,
        "trusted root",
    );
    // Duplicate signatures.
    let bytes =
        editor::sign_root(&spec, 1, NOW + Duration::days(1), &[&repo.root_key]).expect("sign root");
    assert_refused(
        TrustedMetadataSet::new(&signatures_twice(&bytes), repo.options(), "test"),
        ErrorKind::Malformed,
        "trusted root",
    );
}

#[test]
fn root_rotation_chain() {
    let repo = Repo::new();
    let (key2, key3) = (key(5), key(6));
    let expires = NOW + Duration::days(365);
    // Version 2 held by a new key, signed by the old and the new (5.3.4).
    let spec2 = repo.root_spec(vec![key2.public()]);
    let root2 = editor::sign_root(&spec2, 2, expires, &[&repo.root_key, &key2]).expect("root 2");
    let spec3 = repo.root_spec(vec![key3.public()]);
    let root3 = editor::sign_root(&spec3, 3, expires, &[&key2, &key3]).expect("root 3");

    let mut set = repo.set();
    assert_eq!(set.update_root(&root2).expect("root 2").version, 2);
    assert_eq!(set.update_root(&root3).expect("root 3").version, 3);
    assert_eq!(set.root_bytes(), root3.as_slice());
    // The online roles did not change: the release verifies under root 3.
    set.update_timestamp(repo.file("timestamp.json"))
        .expect("timestamp");

    // Signed by the new key only: the trusted root's threshold is not met.
    let mut set = repo.set();
    let only_new = editor::sign_root(&spec2, 2, expires, &[&key2]).expect("root 2");
    assert_refused(
        set.update_root(&only_new),
        ErrorKind::ThresholdNotMet,
        "metadata/2.root.json",
    );
    // Signed by the old key only: its own threshold is not met.
    let only_old = sign(&signed_part::<Root>(&root2), &[&repo.root_key]);
    assert_refused(
        set.update_root(&only_old),
        ErrorKind::ThresholdNotMet,
        "metadata/2.root.json",
    );
    // Skipping root 2 goes to the wrong version …
    assert_refused(
        set.update_root(&root3),
        ErrorKind::ThresholdNotMet,
        "metadata/2.root.json",
    );
    let spec = repo.root_spec(vec![repo.root_key.public()]);
    let skipped = editor::sign_root(&spec, 3, expires, &[&repo.root_key]).expect("root 3");
    assert_refused(
        set.update_root(&skipped),
        ErrorKind::Mismatch,
        "metadata/2.root.json",
    );
    // … and root 1 again is a rollback.
    assert_refused(
        set.update_root(&repo.root_json),
        ErrorKind::Rollback,
        "metadata/2.root.json",
    );
    // Duplicate signatures.
    assert_refused(
        set.update_root(&signatures_twice(&root2)),
        ErrorKind::Malformed,
        "metadata/2.root.json",
    );
    // Nothing refused was kept.
    assert_eq!(set.root().version, 1);
}

#[test]
fn expired_root_is_refused_only_when_final() {
    // Root 1 expired; root 2, signed by the same key, is not.
    let repo = Repo::with_root(1, NOW - Duration::days(1));
    let mut set = repo.set();
    assert_refused(
        set.check_final_root(),
        ErrorKind::Expired,
        "metadata/1.root.json",
    );
    assert_refused(
        set.update_timestamp(repo.file("timestamp.json")),
        ErrorKind::Expired,
        "metadata/1.root.json",
    );
    let spec = repo.root_spec(vec![repo.root_key.public()]);
    let root2 =
        editor::sign_root(&spec, 2, NOW + Duration::days(1), &[&repo.root_key]).expect("root 2");
    set.update_root(&root2)
        .expect("an expired root is walked through");
    set.check_final_root().expect("root 2 is fresh");

    // With allow_expired, the expiry is recorded instead.
    let mut options = repo.options();
    options.allow_expired = true;
    let mut set = TrustedMetadataSet::new(&repo.root_json, options, "test").expect("root");
    set.check_final_root().expect("allowed");
    assert_eq!(
        set.freshness(),
        &Freshness::Expired {
            role: "root".to_string(),
            since: signed_part::<Root>(&repo.root_json).expires
        }
    );
}

// ---------------------------------------------------------------------------------------------
// 5.4: timestamp.

#[test]
fn timestamp_expired() {
    let repo = Repo::new();
    let mut timestamp = repo.timestamp();
    timestamp.expires = NOW - Duration::seconds(1);
    let bytes = sign(&timestamp, &[&repo.timestamp_key]);
    let mut set = repo.set();
    assert_refused(
        set.update_timestamp(&bytes),
        ErrorKind::Expired,
        TIMESTAMP_PATH,
    );
    assert!(set.timestamp().is_none());

    let mut options = repo.options();
    options.allow_expired = true;
    let mut set = TrustedMetadataSet::new(&repo.root_json, options, "test").expect("root");
    set.update_timestamp(&bytes).expect("allowed");
    assert!(matches!(set.freshness(), Freshness::Expired { role, .. } if role == "timestamp"));
}

#[test]
fn timestamp_rolled_back() {
    let repo = Repo::new();
    let snapshot = repo.file("1.snapshot.json");
    let mut set = repo.set();
    set.load_trusted_timestamp(&repo.timestamp_naming(5, 1, snapshot))
        .expect("trusted timestamp");
    // An older version.
    assert_refused(
        set.update_timestamp(&repo.timestamp_naming(4, 1, snapshot)),
        ErrorKind::Rollback,
        TIMESTAMP_PATH,
    );
    // A newer one naming an older snapshot.
    let mut set = repo.set();
    set.load_trusted_timestamp(&repo.timestamp_naming(5, 3, snapshot))
        .expect("trusted timestamp");
    assert_refused(
        set.update_timestamp(&repo.timestamp_naming(6, 2, snapshot)),
        ErrorKind::Rollback,
        TIMESTAMP_PATH,
    );
    // An earlier update is the reference too.
    let mut set = repo.set();
    set.update_timestamp(&repo.timestamp_naming(5, 1, snapshot))
        .expect("timestamp 5");
    assert_refused(
        set.update_timestamp(&repo.timestamp_naming(4, 1, snapshot)),
        ErrorKind::Rollback,
        TIMESTAMP_PATH,
    );
    assert_eq!(set.timestamp().map(|t| t.version), Some(5));
}

#[test]
fn timestamp_of_the_trusted_version_keeps_the_trusted_copy() {
    let repo = Repo::new();
    let trusted = repo.timestamp_naming(5, 1, repo.file("1.snapshot.json"));
    let mut set = repo.set();
    set.load_trusted_timestamp(&trusted).expect("trusted");
    // Same version, another snapshot named: the trusted copy wins.
    let other = repo.timestamp_naming(5, 2, b"another snapshot");
    set.update_timestamp(&other).expect("equal version");
    assert_eq!(set.snapshot_meta().expect("meta").version, 1);
    set.update_snapshot(repo.file("1.snapshot.json"))
        .expect("the trusted copy's snapshot");
    let complete = {
        set.update_targets(repo.file("1.targets.json"))
            .expect("targets");
        set.into_complete().expect("complete")
    };
    assert_eq!(complete.timestamp_bytes, trusted);
}

#[test]
fn timestamp_wrong_key_threshold_and_duplicates() {
    let repo = Repo::new();
    let timestamp = repo.timestamp();
    // Signed by the snapshot key.
    let mut set = repo.set();
    assert_refused(
        set.update_timestamp(&sign(&timestamp, &[&repo.snapshot_key])),
        ErrorKind::ThresholdNotMet,
        TIMESTAMP_PATH,
    );
    // Tampered after signing: a bad signature.
    let mut tampered: Signed<Timestamp> =
        serde_json::from_slice(repo.file("timestamp.json")).expect("parses");
    tampered.signed.version += 1;
    let tampered = serde_json::to_vec(&tampered).expect("serialise");
    assert_refused(
        set.update_timestamp(&tampered),
        ErrorKind::BadSignature,
        TIMESTAMP_PATH,
    );
    // Duplicate signatures.
    assert_refused(
        set.update_timestamp(&signatures_twice(repo.file("timestamp.json"))),
        ErrorKind::Malformed,
        TIMESTAMP_PATH,
    );
    // Threshold 2 of two timestamp keys, signed by one of them.
    let repo = Repo::with_root(2, NOW + Duration::days(365));
    let mut set = repo.set();
    assert_refused(
        set.update_timestamp(repo.file("timestamp.json")),
        ErrorKind::ThresholdNotMet,
        TIMESTAMP_PATH,
    );
    let both = sign(
        &repo.timestamp(),
        &[&repo.timestamp_key, &repo.snapshot_key],
    );
    set.update_timestamp(&both).expect("both keys sign");
}

#[test]
fn trusted_timestamp_must_verify() {
    let repo = Repo::new();
    let mut set = repo.set();
    assert_refused(
        set.load_trusted_timestamp(&sign(&repo.timestamp(), &[&repo.snapshot_key])),
        ErrorKind::ThresholdNotMet,
        "trusted timestamp",
    );
}

// ---------------------------------------------------------------------------------------------
// 5.5: snapshot.

#[test]
fn snapshot_mix_and_match() {
    let repo = Repo::new();
    let targets = repo.file("1.targets.json");
    // Bytes other than the timestamp's hash and length: version 1 signed again, expiring later.
    let mut other = repo.snapshot();
    other.expires += Duration::days(1);
    let other = sign(&other, &[&repo.snapshot_key]);
    let mut set = repo.set_at_timestamp();
    assert_refused(
        set.update_snapshot(&other),
        ErrorKind::Mismatch,
        "metadata/1.snapshot.json",
    );
    // The timestamp's hash, another version than it names.
    let version_2 = repo.snapshot_naming(2, 1, targets);
    let mut set = repo.set_with_snapshot(3, &version_2);
    assert_refused(
        set.update_snapshot(&version_2),
        ErrorKind::Mismatch,
        "metadata/3.snapshot.json",
    );
    // What the timestamp names is accepted.
    let mut set = repo.set_with_snapshot(2, &version_2);
    set.update_snapshot(&version_2).expect("snapshot 2");
}

#[test]
fn snapshot_expired() {
    let repo = Repo::new();
    let mut snapshot = repo.snapshot();
    snapshot.expires = NOW - Duration::seconds(1);
    let bytes = sign(&snapshot, &[&repo.snapshot_key]);
    let mut set = repo.set_with_snapshot(1, &bytes);
    assert_refused(
        set.update_snapshot(&bytes),
        ErrorKind::Expired,
        "metadata/1.snapshot.json",
    );
    assert!(set.snapshot().is_none());
}

#[test]
fn snapshot_rolled_back() {
    let repo = Repo::new();
    let targets = repo.file("1.targets.json");
    let trusted = repo.snapshot_naming(2, 3, targets);
    // targets.json at version 2 where the trusted snapshot had 3.
    let older_targets = repo.snapshot_naming(3, 2, targets);
    let mut set = repo.set_with_snapshot(3, &older_targets);
    set.load_trusted_snapshot(&trusted).expect("trusted");
    assert_refused(
        set.update_snapshot(&older_targets),
        ErrorKind::Rollback,
        "metadata/3.snapshot.json",
    );
    // A role the trusted snapshot listed is missing.
    let mut fewer = repo.snapshot();
    fewer.version = 3;
    let (role, _, _) = repo.some_bin();
    fewer.meta.remove(&format!("{role}.json"));
    let fewer = sign(&fewer, &[&repo.snapshot_key]);
    let mut set = repo.set_with_snapshot(3, &fewer);
    set.load_trusted_snapshot(repo.file("1.snapshot.json"))
        .expect("trusted");
    assert_refused(
        set.update_snapshot(&fewer),
        ErrorKind::Rollback,
        "metadata/3.snapshot.json",
    );
}

#[test]
fn snapshot_wrong_key_and_duplicates() {
    let repo = Repo::new();
    let wrong_key = sign(&repo.snapshot(), &[&repo.timestamp_key]);
    let mut set = repo.set_with_snapshot(1, &wrong_key);
    assert_refused(
        set.update_snapshot(&wrong_key),
        ErrorKind::ThresholdNotMet,
        "metadata/1.snapshot.json",
    );
    let twice = signatures_twice(repo.file("1.snapshot.json"));
    let mut set = repo.set_with_snapshot(1, &twice);
    assert_refused(
        set.update_snapshot(&twice),
        ErrorKind::Malformed,
        "metadata/1.snapshot.json",
    );
    assert_refused(
        repo.set().load_trusted_snapshot(&wrong_key).map(|_| ()),
        ErrorKind::ThresholdNotMet,
        "trusted snapshot",
    );
}

// ---------------------------------------------------------------------------------------------
// 5.6: targets.

#[test]
fn targets_mix_and_match() {
    let repo = Repo::new();
    // Targets version 2, where the snapshot names version 1 with its length.
    let mut targets = repo.targets();
    targets.version = 2;
    let bytes = sign(&targets, &[&repo.targets_key]);
    let snapshot = repo.snapshot_naming(1, 1, &bytes);
    let mut set = repo.set_with_snapshot(1, &snapshot);
    set.update_snapshot(&snapshot).expect("snapshot");
    assert_refused(
        set.update_targets(&bytes),
        ErrorKind::Mismatch,
        "metadata/1.targets.json",
    );
    // Another length than the snapshot gives.
    let mut set = repo.set_at_snapshot();
    assert_refused(
        set.update_targets(&bytes),
        ErrorKind::Mismatch,
        "metadata/1.targets.json",
    );
}

#[test]
fn targets_expired_wrong_key_and_duplicates() {
    let repo = Repo::new();
    let with_snapshot_for = |bytes: &[u8]| {
        let snapshot = repo.snapshot_naming(1, 1, bytes);
        let mut set = repo.set_with_snapshot(1, &snapshot);
        set.update_snapshot(&snapshot).expect("snapshot");
        set
    };
    let mut expired = repo.targets();
    expired.expires = NOW - Duration::seconds(1);
    let expired = sign(&expired, &[&repo.targets_key]);
    assert_refused(
        with_snapshot_for(&expired).update_targets(&expired),
        ErrorKind::Expired,
        "metadata/1.targets.json",
    );
    let wrong_key = sign(&repo.targets(), &[&repo.snapshot_key]);
    assert_refused(
        with_snapshot_for(&wrong_key).update_targets(&wrong_key),
        ErrorKind::ThresholdNotMet,
        "metadata/1.targets.json",
    );
    let twice = signatures_twice(repo.file("1.targets.json"));
    assert_refused(
        with_snapshot_for(&twice).update_targets(&twice),
        ErrorKind::Malformed,
        "metadata/1.targets.json",
    );
}

#[test]
fn delegated_targets_checked_with_the_delegators_keys() {
    let repo = Repo::new();
    let (role, delegator, file) = repo.some_bin();
    let bin: Targets = signed_part(repo.file(&file));
    let mut set = repo.set_at_snapshot();
    set.update_targets(repo.file("1.targets.json"))
        .expect("targets");
    // Signed by a key the delegation does not give.
    let wrong_key = sign(&bin, &[&repo.snapshot_key]);
    // The snapshot gives the bin's length, not its hash: the same length, signed by another key.
    let path = format!("metadata/{file}");
    assert_refused(
        set.update_delegated_targets(&wrong_key, &role, &delegator),
        ErrorKind::ThresholdNotMet,
        &path,
    );
    // Another version than the snapshot's.
    let mut newer = bin.clone();
    newer.version += 1;
    let newer = sign(&newer, &[&repo.targets_key]);
    assert_refused(
        set.update_delegated_targets(&newer, &role, &delegator),
        ErrorKind::Mismatch,
        &path,
    );
    // Expired (the expiry has a fixed width: the same length).
    let mut expired = bin.clone();
    expired.expires = NOW - Duration::seconds(1);
    let expired = sign(&expired, &[&repo.targets_key]);
    assert_refused(
        set.update_delegated_targets(&expired, &role, &delegator),
        ErrorKind::Expired,
        &path,
    );
    // A role the delegator does not delegate to.
    assert_refused(
        set.update_delegated_targets(repo.file(&file), "bin-nobody", &delegator),
        ErrorKind::Malformed,
        "bin-nobody",
    );
    assert!(set.targets(&role).is_none());
    set.update_delegated_targets(repo.file(&file), &role, &delegator)
        .expect("the release's own");
    assert!(set.targets(&role).is_some());
}
