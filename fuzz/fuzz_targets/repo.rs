//! The fixed repository the `metadata` and `trusted_set` targets share: the same keys, clock
//! and targets, so that their seeds (fuzz/seeds/*) are valid for each other. Included by each
//! target with `#[path = "repo.rs"] mod repo;` (not a fuzz target itself).

// Each target uses part of it.
#![allow(dead_code)]

use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;
use std::sync::OnceLock;
use time::macros::datetime;
use time::{Duration, OffsetDateTime};
use trust::editor::{self, Expiries, RootSpec, Signers, TargetEntry};
use trust::keys::SigningKey;
use trust::schema::{DelegatedRole, Digest, TargetName, Targets};

/// The clients' clock: every fixed document is valid then.
pub const NOW: OffsetDateTime = datetime!(2030-01-01 00:00 UTC);

pub struct Keys {
    pub root: SigningKey,
    pub targets: SigningKey,
    pub snapshot: SigningKey,
    pub timestamp: SigningKey,
}

/// Release 1 of an archive of 60 targets, signed by [`Keys`] (seeds 1 to 4).
pub struct Repo {
    pub keys: Keys,
    pub root_json: Vec<u8>,
    /// `timestamp.json`.
    pub timestamp: Vec<u8>,
    pub snapshot_version: u64,
    /// Every versioned metadata file by name (`1.snapshot.json`, `1.targets.json`, bins).
    pub versioned: HashMap<String, Vec<u8>>,
    /// Every target's name and content.
    pub targets: Vec<(TargetName, Vec<u8>)>,
}

impl Repo {
    /// The snapshot file's bytes.
    pub fn snapshot_bytes(&self) -> &[u8] {
        &self.versioned[&format!("{}.snapshot.json", self.snapshot_version)]
    }
}

/// A fixed ed25519 key: PKCS#8 v1 DER around a 32-byte seed.
pub fn key(seed: u8) -> SigningKey {
    let mut der = vec![
        0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
        0x20,
    ];
    der.extend_from_slice(&[seed; 32]);
    SigningKey::from_pkcs8_der(&der).expect("fixed key")
}

/// A fixed file's `signed` part, typed.
pub fn signed_part<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> T {
    let value: Value = serde_json::from_slice(bytes).expect("fixture JSON");
    serde_json::from_value(value["signed"].clone()).expect("fixture document")
}

/// `signed` signed by `key`, as a metadata file; `None` when it cannot be (floats).
pub fn sign(signed: &Value, key: &SigningKey) -> Option<Vec<u8>> {
    editor::sign_document(signed, &[key]).ok()
}

/// The roles `role` delegates to.
pub fn delegates(role: &Targets) -> &[DelegatedRole] {
    role.delegations.as_ref().map_or(&[], |d| &d.roles)
}

/// The repository, built once.
pub fn repo() -> &'static Repo {
    static REPO: OnceLock<Repo> = OnceLock::new();
    REPO.get_or_init(build)
}

fn build() -> Repo {
    let keys = Keys {
        root: key(1),
        targets: key(2),
        snapshot: key(3),
        timestamp: key(4),
    };
    let spec = RootSpec {
        root_keys: vec![keys.root.public()],
        root_threshold: 1,
        targets_keys: vec![keys.targets.public()],
        snapshot_keys: vec![keys.snapshot.public()],
        timestamp_keys: vec![keys.timestamp.public()],
        timestamp_threshold: 1,
    };
    let root_json =
        editor::sign_root(&spec, 1, NOW + Duration::days(365), &[&keys.root]).expect("sign root");
    // Records in the main bins, originals in the originals family.
    let targets: Vec<(TargetName, Vec<u8>)> = (0..60u32)
        .map(|i| {
            let name = match i % 2 {
                0 => format!("doc-{i:02}.json"),
                _ => format!("doc-{i:02}.original.txt"),
            };
            let content = format!("content of target {i}\n").into_bytes();
            (TargetName::new(name).expect("name"), content)
        })
        .collect();
    let entries = targets
        .iter()
        .enumerate()
        .map(|(i, (name, content))| TargetEntry {
            name: name.clone(),
            length: content.len() as u64,
            sha256: Digest::of(content).0,
            custom: (i % 3 == 0).then(|| serde_json::json!({"title": format!("Doc {i}")})),
        })
        .collect();
    let signers = Signers {
        targets: &keys.targets,
        snapshot: &keys.snapshot,
        timestamp: &keys.timestamp,
    };
    let expiries = Expiries {
        targets: Duration::days(365),
        snapshot: Duration::days(30),
        timestamp: Duration::days(7),
    };
    // No previous release: the folder does not exist.
    let release = editor::build_release(
        Path::new("/nonexistent/samizdat-fuzz-repo"),
        1,
        entries,
        &signers,
        &expiries,
        NOW - Duration::days(1),
    )
    .expect("build release");
    let versioned: HashMap<String, Vec<u8>> = release.versioned.into_iter().collect();
    // To refresh the seeds: SAMIZDAT_FUZZ_DUMP=DIR writes the repository's metadata there.
    if let Some(dir) = std::env::var_os("SAMIZDAT_FUZZ_DUMP") {
        for (name, bytes) in &versioned {
            std::fs::write(Path::new(&dir).join(name), bytes).expect("dump");
        }
    }
    Repo {
        keys,
        root_json,
        timestamp: release.timestamp,
        snapshot_version: release.snapshot_version,
        versioned,
        targets,
    }
}
