//! TUF metadata straight into the trusted-metadata set's steps (`client::TrustedMetadataSet`:
//! 5.2 trusted root, 5.3 root, 5.4 timestamp, 5.5 snapshot, 5.6 targets and delegated
//! targets), with no transport and no search: each step from bytes, with a fixed clock.
//!
//! The fixed repository is the `metadata` target's (same keys, clock and targets, so its seeds
//! are this target's too). The input is one metadata document; its `signed._type` says which
//! step it is fed to, the other steps getting the fixed repository's files:
//!
//! - `root`: the trusted root the set is made from, and root version 2 (`update_root`);
//! - `timestamp`: the timestamp trusted before (`load_trusted_timestamp`), and the new one;
//! - `snapshot`: the snapshot trusted before (`load_trusted_snapshot`), and the new one;
//! - `targets`: top-level targets, and the delegated role its first target hashes to;
//! - anything else (not JSON, no `_type`): the new timestamp.
//!
//! A document whose `signatures` is `[]` is signed here with the role's key first (with a
//! snapshot and timestamp naming it, for the roles below them), so the fuzzer also reaches what
//! comes after the signature checks: versions, rollback, expiry, lengths and hashes.
//!
//! Besides not panicking: a step that refuses leaves the set as it was; an accepted timestamp
//! is never older than the one trusted before, nor an accepted snapshot's roles than the
//! trusted snapshot's; a root version 2 is accepted only if signed here; and when every step
//! accepted a document that was *not* signed here, what the set trusts (timestamp, snapshot,
//! targets, the delegated role) is each the fixed repository's own or the input (nobody can
//! forge a signature). Documents are compared typed, not as bytes: the seeds hold files the
//! fixed keys signed under earlier versions of the editor.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::OnceLock;
use trust::client::{Options, TrustedMetadataSet};
use trust::editor;
use trust::keys::SigningKey;
use trust::schema::{Digest, SNAPSHOT_META, Snapshot, Targets, Timestamp};

#[path = "repo.rs"]
mod repo;
use repo::{Keys, NOW, delegates, sign, signed_part};

struct Fixture {
    keys: &'static Keys,
    root_json: Vec<u8>,
    timestamp: Vec<u8>,
    timestamp_typed: Timestamp,
    snapshot_bytes: Vec<u8>,
    snapshot: Snapshot,
    targets_bytes: Vec<u8>,
    targets: Targets,
    /// The files of the roles top-level targets delegates to, by role name.
    delegated: HashMap<String, Vec<u8>>,
}

/// The shared repository (`repo.rs`) as each step's files.
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let repo = repo::repo();
        let files = &repo.versioned;
        let snapshot_bytes = repo.snapshot_bytes().to_vec();
        let snapshot: Snapshot = signed_part(&snapshot_bytes);
        let targets_version = snapshot.meta["targets.json"].version;
        let targets_bytes = files[&format!("{targets_version}.targets.json")].clone();
        let targets: Targets = signed_part(&targets_bytes);
        let delegated = delegates(&targets)
            .iter()
            .filter_map(|delegated| {
                let version = snapshot
                    .meta
                    .get(&format!("{}.json", delegated.name))?
                    .version;
                let bytes = files.get(&format!("{version}.{}.json", delegated.name))?;
                Some((delegated.name.clone(), bytes.clone()))
            })
            .collect();
        Fixture {
            keys: &repo.keys,
            root_json: repo.root_json.clone(),
            timestamp_typed: signed_part(&repo.timestamp),
            timestamp: repo.timestamp.clone(),
            snapshot_bytes,
            snapshot,
            targets_bytes,
            targets,
            delegated,
        }
    })
}

/// A file's `signed` part, typed (no signature check).
fn parse_signed<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, serde_json::Error> {
    let value: Value = serde_json::from_slice(bytes)?;
    serde_json::from_value(value.get("signed").cloned().unwrap_or(Value::Null))
}

/// The step a document is fed to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Slot {
    TrustedRoot,
    Root,
    TrustedTimestamp,
    Timestamp,
    TrustedSnapshot,
    Snapshot,
    Targets,
    /// The role top-level targets delegates to under this name.
    Delegated,
}

/// One run of the steps in order, `bytes` fed to `slot` and the fixed files (or `timestamp`,
/// `snapshot` in their place) to the others, up to the first refusal.
struct Run<'a> {
    fixture: &'a Fixture,
    slot: Slot,
    bytes: &'a [u8],
    timestamp: Option<Vec<u8>>,
    snapshot: Option<Vec<u8>>,
    delegated_role: &'a str,
    allow_expired: bool,
}

impl Run<'_> {
    /// `self.bytes` if `slot` is the one fed, else `fixed`.
    fn fed<'b>(&'b self, slot: Slot, fixed: &'b [u8]) -> &'b [u8] {
        if self.slot == slot { self.bytes } else { fixed }
    }

    /// Runs the steps: whether the one `self.bytes` was fed to accepted them, and the set if
    /// every step did.
    fn run(&self) -> (bool, Option<TrustedMetadataSet>) {
        let fixture = self.fixture;
        let mut options = Options::new(NOW);
        options.allow_expired = self.allow_expired;
        let root = self.fed(Slot::TrustedRoot, &fixture.root_json);
        let Ok(mut set) = TrustedMetadataSet::new(root, options, "fuzz") else {
            return (false, None);
        };
        let mut accepted = self.slot == Slot::TrustedRoot;
        if self.slot == Slot::Root {
            let before = set.root().version;
            accepted = set.update_root(self.bytes).is_ok();
            if !accepted {
                assert_eq!(set.root().version, before, "a refused root changed the set");
            }
        }
        if set.check_final_root().is_err() {
            return (accepted, None);
        }
        let mut trusted_version = None;
        if self.slot == Slot::TrustedTimestamp {
            match set.load_trusted_timestamp(self.bytes) {
                Ok(timestamp) => trusted_version = Some(timestamp.version),
                Err(_) => return (false, None),
            }
            accepted = true;
        }
        let timestamp = match &self.timestamp {
            Some(bytes) => bytes.as_slice(),
            None => self.fed(Slot::Timestamp, &fixture.timestamp),
        };
        match set.update_timestamp(timestamp) {
            Ok(timestamp) => {
                if let Some(trusted) = trusted_version {
                    assert!(timestamp.version >= trusted, "timestamp rolled back");
                }
                accepted |= self.slot == Slot::Timestamp;
            }
            Err(_) => {
                assert!(set.timestamp().is_none(), "a refused timestamp was kept");
                return (accepted, None);
            }
        }
        if self.slot == Slot::TrustedSnapshot {
            if set.load_trusted_snapshot(self.bytes).is_err() {
                return (false, None);
            }
            accepted = true;
        }
        let snapshot = match &self.snapshot {
            Some(bytes) => bytes.as_slice(),
            None => self.fed(Slot::Snapshot, &fixture.snapshot_bytes),
        };
        if set.update_snapshot(snapshot).is_err() {
            assert!(set.snapshot().is_none(), "a refused snapshot was kept");
            return (accepted, None);
        }
        if self.slot == Slot::TrustedSnapshot
            && let (Some(new), Ok(trusted)) = (set.snapshot(), parse_signed::<Snapshot>(self.bytes))
        {
            for (file, meta) in &trusted.meta {
                let version = new.meta.get(file).map(|new_meta| new_meta.version);
                assert!(version >= Some(meta.version), "{file} rolled back");
            }
        }
        accepted |= self.slot == Slot::Snapshot;
        if set
            .update_targets(self.fed(Slot::Targets, &fixture.targets_bytes))
            .is_err()
        {
            assert!(
                set.targets("targets").is_none(),
                "refused targets were kept"
            );
            return (accepted, None);
        }
        accepted |= self.slot == Slot::Targets;
        let Some(fixed) = fixture.delegated.get(self.delegated_role) else {
            return (accepted, None);
        };
        let role = self.delegated_role;
        let delegated = set
            .update_delegated_targets(self.fed(Slot::Delegated, fixed), role, "targets")
            .is_ok();
        assert_eq!(
            delegated,
            set.targets(role).is_some(),
            "a refused delegated role was kept"
        );
        let accepted = accepted || (delegated && self.slot == Slot::Delegated);
        (accepted, delegated.then_some(set))
    }
}

/// The role top-level targets delegates `signed`'s first target to (else its first role).
fn delegated_role_for(fixture: &Fixture, signed: &Value) -> String {
    let first_target = signed
        .get("targets")
        .and_then(Value::as_object)
        .and_then(|targets| targets.keys().next());
    let roles = delegates(&fixture.targets);
    first_target
        .and_then(|name| {
            let hash = Digest::of(name.as_bytes()).to_hex();
            roles.iter().find(|role| role.covers(name, &hash))
        })
        .or(roles.first())
        .map(|role| role.name.clone())
        .unwrap_or_default()
}

/// A snapshot and a timestamp, signed here, naming `bytes` as version `version` of `role`
/// (`targets` or a delegated role).
fn listing(fixture: &Fixture, role: &str, version: u64, bytes: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut snapshot = fixture.snapshot.clone();
    snapshot.version = 2;
    let meta = snapshot
        .meta
        .entry(format!("{role}.json"))
        .or_insert_with(|| fixture.snapshot.meta["targets.json"].clone());
    meta.version = version;
    meta.length = Some(bytes.len() as u64);
    meta.hashes = None;
    let snapshot = editor::sign_document(&snapshot, &[&fixture.keys.snapshot]).expect("sign");
    let timestamp = timestamp_naming(fixture, 2, &snapshot);
    (snapshot, timestamp)
}

/// A timestamp, signed here, naming `snapshot` as snapshot `version`.
fn timestamp_naming(fixture: &Fixture, version: u64, snapshot: &[u8]) -> Vec<u8> {
    let timestamp = serde_json::json!({
        "_type": "timestamp",
        "spec_version": "1.0.31",
        "version": 2,
        "expires": "2030-01-08T00:00:00Z",
        "meta": {SNAPSHOT_META: {
            "version": version,
            "length": snapshot.len(),
            "hashes": {"sha256": Digest::of(snapshot).to_hex()},
        }},
    });
    sign(&timestamp, &fixture.keys.timestamp).expect("sign timestamp")
}

fuzz_target!(|data: &[u8]| {
    let fixture = fixture();
    let allow_expired = data.len() % 2 == 1;
    let value: Option<Value> = serde_json::from_slice(data).ok();
    let signed = value
        .as_ref()
        .and_then(|value| value.get("signed"))
        .cloned()
        .unwrap_or(Value::Null);
    let resign = value
        .as_ref()
        .is_some_and(|value| value.get("signatures") == Some(&Value::Array(Vec::new())))
        && signed.is_object();
    let kind = signed.get("_type").and_then(Value::as_str).unwrap_or("");
    let version = signed.get("version").and_then(Value::as_u64).unwrap_or(1);
    let delegated_role = delegated_role_for(fixture, &signed);
    let keys = &fixture.keys;
    let (slots, key): (&[Slot], &SigningKey) = match kind {
        "root" => (&[Slot::TrustedRoot, Slot::Root], &keys.root),
        "snapshot" => (&[Slot::TrustedSnapshot, Slot::Snapshot], &keys.snapshot),
        "targets" => (&[Slot::Targets, Slot::Delegated], &keys.targets),
        _ => (&[Slot::TrustedTimestamp, Slot::Timestamp], &keys.timestamp),
    };
    let bytes = if resign {
        match sign(&signed, key) {
            Some(bytes) => bytes,
            None => return,
        }
    } else {
        data.to_vec()
    };
    for &slot in slots {
        // Signed here: files above it that name it, so the steps after the signature run.
        let (snapshot, timestamp) = match (resign, slot) {
            (true, Slot::Snapshot) => (None, Some(timestamp_naming(fixture, version, &bytes))),
            (true, Slot::Targets) => {
                let (snapshot, timestamp) = listing(fixture, "targets", version, &bytes);
                (Some(snapshot), Some(timestamp))
            }
            (true, Slot::Delegated) => {
                let (snapshot, timestamp) = listing(fixture, &delegated_role, version, &bytes);
                (Some(snapshot), Some(timestamp))
            }
            _ => (None, None),
        };
        let run = Run {
            fixture,
            slot,
            bytes: &bytes,
            timestamp,
            snapshot,
            delegated_role: &delegated_role,
            allow_expired,
        };
        let (accepted, complete) = run.run();
        if slot == Slot::Root && accepted && !resign {
            panic!("a root version 2 nobody signed here was accepted");
        }
        let Some(set) = complete else {
            continue;
        };
        if resign {
            continue;
        }
        // What the set ends up trusting is the fixed repository's own, or the input where it
        // was fed: only the fixed keys sign, and only the fixture and the input carry their
        // signatures.
        let fed = |slots: &[Slot]| slots.contains(&slot);
        let ts_ok = set.timestamp() == Some(&fixture.timestamp_typed)
            || (fed(&[Slot::Timestamp, Slot::TrustedTimestamp])
                && set.timestamp() == parse_signed(data).ok().as_ref());
        assert!(
            ts_ok,
            "{slot:?}: a timestamp from neither the fixture nor the input"
        );
        let snapshot_ok = set.snapshot() == Some(&fixture.snapshot)
            || (fed(&[Slot::Snapshot]) && set.snapshot() == parse_signed(data).ok().as_ref());
        assert!(
            snapshot_ok,
            "{slot:?}: a snapshot from neither the fixture nor the input"
        );
        let targets_ok = set.targets("targets") == Some(&fixture.targets)
            || (fed(&[Slot::Targets])
                && set.targets("targets") == parse_signed(data).ok().as_ref());
        assert!(
            targets_ok,
            "{slot:?}: targets from neither the fixture nor the input"
        );
        let fixed_role: Option<Targets> = parse_signed(&fixture.delegated[&delegated_role]).ok();
        let role = set.targets(&delegated_role);
        let role_ok = role == fixed_role.as_ref()
            || (fed(&[Slot::Delegated]) && role == parse_signed(data).ok().as_ref());
        assert!(
            role_ok,
            "{slot:?}: a delegated role from neither the fixture nor the input"
        );
    }
});
