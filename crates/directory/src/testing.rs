//! What the unit tests of several modules build: an archive's root, and a publisher's release
//! in a folder (what a mirror serves), signed by the trust editor.

use std::path::Path;
use time::{Duration, OffsetDateTime};
use trust::TargetName;
use trust::editor::{self, Expiries, RootSpec, Signers, TargetEntry};
use trust::keys::SigningKey;
use trust::schema::Digest;

/// A root signed by one new key for every role, valid for a day.
pub fn archive_root() -> Vec<u8> {
    let key = SigningKey::generate();
    let spec = RootSpec::one_key(key.public());
    editor::sign_root(
        &spec,
        1,
        OffsetDateTime::now_utc() + Duration::days(1),
        &[&key],
    )
    .expect("root")
}

/// A publisher's release in a folder (`metadata/`, `targets/`): what a mirror serves.
pub struct Repo {
    dir: tempfile::TempDir,
    keys: [SigningKey; 4],
    pub root_json: Vec<u8>,
    pub now: OffsetDateTime,
}

impl Repo {
    /// Keys for each role and a root valid ten years; no release yet.
    pub fn new() -> Repo {
        let dir = tempfile::tempdir().expect("tempdir");
        let keys = [(); 4].map(|()| SigningKey::generate());
        let now = OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .expect("seconds");
        let spec = RootSpec {
            root_keys: vec![keys[0].public()],
            root_threshold: 1,
            targets_keys: vec![keys[1].public()],
            snapshot_keys: vec![keys[2].public()],
            timestamp_keys: vec![keys[3].public()],
            timestamp_threshold: 1,
        };
        let root_json = editor::sign_root(&spec, 1, now + Duration::days(3650), &[&keys[0]])
            .expect("sign root");
        for folder in ["metadata", "targets"] {
            std::fs::create_dir_all(dir.path().join(folder)).expect("folder");
        }
        std::fs::write(dir.path().join("metadata/1.root.json"), &root_json).expect("root");
        Repo {
            dir,
            keys,
            root_json,
            now,
        }
    }

    /// The publisher rotates its root key: root version `version`, signed by the old and the
    /// new root keys, published as `metadata/<version>.root.json`; returns its bytes.
    pub fn rotate_root(&mut self, version: u64) -> Vec<u8> {
        let new_root = SigningKey::generate();
        let spec = RootSpec {
            root_keys: vec![new_root.public()],
            root_threshold: 1,
            targets_keys: vec![self.keys[1].public()],
            snapshot_keys: vec![self.keys[2].public()],
            timestamp_keys: vec![self.keys[3].public()],
            timestamp_threshold: 1,
        };
        let expires = self.now + Duration::days(3650);
        let json = editor::sign_root(&spec, version, expires, &[&self.keys[0], &new_root])
            .expect("sign root");
        let path = self.path().join(format!("metadata/{version}.root.json"));
        std::fs::write(path, &json).expect("root");
        self.keys[0] = new_root;
        json
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Publishes `doc-0.txt` to `doc-{count-1}.txt`; returns the release's version.
    pub fn release(&self, count: usize, timestamp_expires: Duration) -> u64 {
        let files: Vec<(String, Vec<u8>)> = (0..count)
            .map(|index| {
                let name = format!("doc-{index}.txt");
                (name, format!("document {index}\n").into_bytes())
            })
            .collect();
        self.release_files(&files, timestamp_expires)
    }

    /// Publishes `files` (name, content) as the next release; returns its version.
    pub fn release_files(&self, files: &[(String, Vec<u8>)], timestamp_expires: Duration) -> u64 {
        let entries = files
            .iter()
            .map(|(name, bytes)| {
                let sha256 = Digest::of(bytes);
                let path = self
                    .path()
                    .join(format!("targets/{}.{name}", sha256.to_hex()));
                std::fs::write(path, bytes).expect("target");
                TargetEntry {
                    name: TargetName::new(name).expect("name"),
                    length: bytes.len() as u64,
                    sha256: sha256.0,
                    custom: None,
                }
            })
            .collect();
        let signers = Signers {
            targets: &self.keys[1],
            snapshot: &self.keys[2],
            timestamp: &self.keys[3],
        };
        let expiries = Expiries {
            targets: Duration::days(365),
            snapshot: Duration::days(30),
            timestamp: timestamp_expires,
        };
        let metadata = self.path().join("metadata");
        let release = editor::build_release(&metadata, 1, entries, &signers, &expiries, self.now)
            .expect("release");
        release.write_to(&metadata).expect("write");
        release.snapshot_version
    }
}
