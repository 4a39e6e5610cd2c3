//! One test per attack on the verifying client (`trust::client`), through the public API only.
//!
//! Each test builds a real release in a temporary folder with `editor::sign_root`,
//! `editor::build_release` and `ReleaseFiles::write_to` (targets stored as
//! `targets/SHA256.NAME`, consistent snapshots), then plays the mirror: a [`Mitm`] transport serves
//! the folder, except for the paths it was told to replace, and logs every fetch. Every refusal is
//! checked for its [`ErrorKind`] and for a message naming the file involved.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::PathBuf;

use time::{Duration, OffsetDateTime};
use trust::bins::BinLayout;
use trust::client::{Client, DirTransport, FetchError, Freshness, Options, Transport};
use trust::editor::{self, Expiries, ReleaseFiles, RootSpec, Signers, TargetEntry};
use trust::keys::SigningKey;
use trust::schema::{Digest, Hashes, Signed, Snapshot, TargetInfo, Targets, Timestamp};
use trust::{ErrorKind, TargetName};

// ---------------------------------------------------------------------------------------------
// A publisher.

struct Repo {
    dir: tempfile::TempDir,
    root_keys: Vec<SigningKey>,
    targets_key: SigningKey,
    snapshot_key: SigningKey,
    timestamp_key: SigningKey,
    /// Version 1 of root, the client's trust anchor.
    root_json: Vec<u8>,
    now: OffsetDateTime,
    expiries: Expiries,
}

impl Repo {
    /// One root key, threshold 1.
    fn new() -> Self {
        Self::with_root(vec![SigningKey::generate()], 1)
    }

    /// Root held by `root_keys` with `threshold`; version 1 signed by the first `threshold` keys.
    fn with_root(root_keys: Vec<SigningKey>, threshold: u32) -> Self {
        let dir = tempfile::tempdir().expect("temporary folder");
        std::fs::create_dir_all(dir.path().join("metadata")).expect("metadata folder");
        std::fs::create_dir_all(dir.path().join("targets")).expect("targets folder");
        let now = OffsetDateTime::now_utc()
            .replace_nanosecond(0)
            .expect("whole seconds");
        let mut repo = Self {
            dir,
            root_keys,
            targets_key: SigningKey::generate(),
            snapshot_key: SigningKey::generate(),
            timestamp_key: SigningKey::generate(),
            root_json: Vec::new(),
            now,
            expiries: Expiries {
                targets: Duration::days(365),
                snapshot: Duration::days(30),
                timestamp: Duration::days(1),
            },
        };
        let signers: Vec<&SigningKey> = repo.root_keys.iter().take(threshold as usize).collect();
        repo.root_json = repo.sign_root(&repo.root_keys, threshold, 1, &signers);
        repo.write_metadata("1.root.json", &repo.root_json);
        repo
    }

    /// A root of `version` held by `root_keys`, the online roles unchanged.
    fn sign_root(
        &self,
        root_keys: &[SigningKey],
        threshold: u32,
        version: u64,
        signers: &[&SigningKey],
    ) -> Vec<u8> {
        let spec = RootSpec {
            root_keys: root_keys.iter().map(SigningKey::public).collect(),
            root_threshold: threshold,
            targets_keys: vec![self.targets_key.public()],
            snapshot_keys: vec![self.snapshot_key.public()],
            timestamp_keys: vec![self.timestamp_key.public()],
            timestamp_threshold: 1,
        };
        editor::sign_root(&spec, version, self.now + Duration::days(3650), signers)
            .expect("sign root")
    }

    fn metadata_dir(&self) -> PathBuf {
        self.dir.path().join("metadata")
    }

    fn write_metadata(&self, file: &str, bytes: &[u8]) {
        std::fs::write(self.metadata_dir().join(file), bytes).expect("write metadata");
    }

    fn read_metadata(&self, file: &str) -> Vec<u8> {
        std::fs::read(self.metadata_dir().join(file)).expect("read metadata")
    }

    /// Publishes a release of exactly `documents` and commits it.
    fn release(&self, documents: &[(String, Vec<u8>)]) -> ReleaseFiles {
        let mut entries = Vec::with_capacity(documents.len());
        for (name, bytes) in documents {
            let sha256 = Digest::of(bytes);
            let path = self
                .dir
                .path()
                .join("targets")
                .join(format!("{}.{name}", sha256.to_hex()));
            if !path.exists() {
                std::fs::write(&path, bytes).expect("write target");
            }
            entries.push(TargetEntry {
                name: target(name),
                length: bytes.len() as u64,
                sha256: sha256.0,
                custom: None,
            });
        }
        let signers = Signers {
            targets: &self.targets_key,
            snapshot: &self.snapshot_key,
            timestamp: &self.timestamp_key,
        };
        let files = editor::build_release(
            &self.metadata_dir(),
            1,
            entries,
            &signers,
            &self.expiries,
            self.now,
        )
        .expect("build release");
        files.write_to(&self.metadata_dir()).expect("write release");
        files
    }

    fn options(&self) -> Options {
        Options::new(self.now)
    }

    /// The committed snapshot and timestamp signed again (same versions) with the snapshot
    /// listing `length` for the role file `file` (`N.ROLE.json`): what a publisher holding every
    /// key would serve with another version of that file. `(path, bytes)` of both.
    fn relisted(&self, file: &str, length: u64) -> [(String, Vec<u8>); 2] {
        let mut timestamp: Signed<Timestamp> = parse(&self.read_metadata("timestamp.json"));
        let snapshot_meta = timestamp
            .signed
            .meta
            .get_mut("snapshot.json")
            .expect("meta");
        let snapshot_file = format!("{}.snapshot.json", snapshot_meta.version);
        let mut snapshot: Signed<Snapshot> = parse(&self.read_metadata(&snapshot_file));
        let role = file.split_once('.').expect("N.ROLE.json").1;
        snapshot.signed.meta.get_mut(role).expect("listed").length = Some(length);
        let snapshot_bytes =
            editor::sign_document(&snapshot.signed, &[&self.snapshot_key]).expect("sign");
        snapshot_meta.length = Some(snapshot_bytes.len() as u64);
        snapshot_meta.hashes = Some(Hashes {
            sha256: Digest::of(&snapshot_bytes),
        });
        let timestamp_bytes =
            editor::sign_document(&timestamp.signed, &[&self.timestamp_key]).expect("sign");
        [
            (format!("metadata/{snapshot_file}"), snapshot_bytes),
            ("metadata/timestamp.json".to_string(), timestamp_bytes),
        ]
    }

    fn mitm(&self) -> Mitm {
        Mitm {
            inner: DirTransport::new(self.dir.path()),
            overrides: HashMap::new(),
            log: RefCell::new(Vec::new()),
        }
    }

    fn load<'a>(&self, transport: &'a Mitm) -> trust::Result<Client<&'a Mitm>> {
        Client::load(&self.root_json, transport, self.options())
    }
}

fn documents(count: usize) -> Vec<(String, Vec<u8>)> {
    (0..count)
        .map(|index| {
            (
                format!("doc-{index:05}.pdf"),
                format!("%PDF document number {index}\n").into_bytes(),
            )
        })
        .collect()
}

fn target(name: &str) -> TargetName {
    TargetName::new(name).expect("valid target name")
}

fn target_path(name: &str, bytes: &[u8]) -> String {
    format!("targets/{}.{name}", Digest::of(bytes).to_hex())
}

fn parse<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> T {
    serde_json::from_slice(bytes).expect("metadata parses")
}

/// `bytes` (a signed document) with only the signatures by `keep` (repeated `times` each).
fn with_signatures_of(bytes: &[u8], keep: &[&SigningKey], times: usize) -> Vec<u8> {
    let mut document: Signed<serde_json::Value> = parse(bytes);
    let keyids: Vec<String> = keep.iter().map(|key| key.public().key_id()).collect();
    document
        .signatures
        .retain(|signature| keyids.contains(&signature.keyid));
    assert_eq!(document.signatures.len(), keep.len(), "signatures to keep");
    document.signatures = (0..times)
        .flat_map(|_| document.signatures.iter().cloned())
        .collect();
    serde_json::to_vec(&document).expect("serialise")
}

#[track_caller]
fn assert_refused<T>(result: trust::Result<T>, kind: ErrorKind, file: &str) -> trust::Error {
    match result {
        Ok(_) => panic!("accepted; expected {kind:?} naming {file}"),
        Err(error) => {
            assert_eq!(error.kind(), kind, "{error}");
            assert!(error.message().contains(file), "not naming {file}: {error}");
            error
        }
    }
}

// ---------------------------------------------------------------------------------------------
// A mirror in the middle.

enum Body {
    /// Served instead of the file, within the cap as the `Transport` contract says.
    Bytes(Vec<u8>),
    /// An endless body, read (like `DirTransport` and the HTTP transport do) up to the cap + 1.
    Endless,
    /// Served whole, whatever the cap: a transport that breaks the contract.
    IgnoringCap(Vec<u8>),
}

struct Fetched {
    path: String,
    max_len: u64,
    /// Bytes read from the source (for `Endless`), or returned.
    bytes_read: u64,
    found: bool,
}

struct Mitm {
    inner: DirTransport,
    overrides: HashMap<String, Body>,
    log: RefCell<Vec<Fetched>>,
}

impl Mitm {
    fn replace(mut self, path: &str, body: Body) -> Self {
        self.overrides.insert(path.to_string(), body);
        self
    }

    fn fetched_paths(&self) -> Vec<String> {
        self.log
            .borrow()
            .iter()
            .filter(|fetched| fetched.found)
            .map(|fetched| fetched.path.clone())
            .collect()
    }

    /// Metadata files of delegated roles fetched (`bins-X` middles and `bin-…` leaves).
    fn bin_fetches(&self) -> Vec<String> {
        self.fetched_paths()
            .into_iter()
            .filter(|path| path.starts_with("metadata/") && path.contains(".bin"))
            .collect()
    }
}

impl Transport for Mitm {
    fn fetch(&self, path: &str, max_len: u64) -> Result<Vec<u8>, FetchError> {
        let result = match self.overrides.get(path) {
            None => self.inner.fetch(path, max_len),
            Some(Body::Bytes(bytes)) if bytes.len() as u64 > max_len => {
                Err(FetchError::TooLarge { limit: max_len })
            }
            Some(Body::Bytes(bytes) | Body::IgnoringCap(bytes)) => Ok(bytes.clone()),
            Some(Body::Endless) => {
                let mut bytes = Vec::new();
                std::io::repeat(b'%')
                    .take(max_len.saturating_add(1))
                    .read_to_end(&mut bytes)
                    .map_err(|error| FetchError::Other(error.to_string()))?;
                self.log.borrow_mut().push(Fetched {
                    path: path.to_string(),
                    max_len,
                    bytes_read: bytes.len() as u64,
                    found: true,
                });
                return if bytes.len() as u64 > max_len {
                    Err(FetchError::TooLarge { limit: max_len })
                } else {
                    Ok(bytes)
                };
            }
        };
        self.log.borrow_mut().push(Fetched {
            path: path.to_string(),
            max_len,
            bytes_read: result.as_ref().map_or(0, |bytes| bytes.len() as u64),
            found: !matches!(result, Err(FetchError::NotFound)),
        });
        result
    }

    fn describe(&self) -> String {
        format!("mitm over {}", self.inner.describe())
    }
}

/// The versioned file of the leaf bin that lists `name` in the committed release.
fn leaf_file_of(repo: &Repo, name: &str) -> String {
    let mitm = repo.mitm();
    let mut client = repo.load(&mitm).expect("load");
    client
        .target_info(&target(name))
        .expect("target info")
        .expect("listed");
    let leaves: Vec<String> = mitm
        .bin_fetches()
        .into_iter()
        .filter(|path| path.contains(".bin-"))
        .collect();
    assert_eq!(leaves.len(), 1, "{leaves:?}");
    leaves[0].clone()
}

// ---------------------------------------------------------------------------------------------
// 1. The happy path, and laziness.

#[test]
fn happy_path_fetches_only_the_bins_on_the_path() {
    let repo = Repo::new();
    let documents = documents(5_000);
    let release = repo.release(&documents);
    assert_eq!(
        release.bins_total, 128,
        "a middle level needs more than 32 leaves"
    );
    assert_eq!(release.bins_written, 128);

    let mitm = repo.mitm();
    let mut client = repo.load(&mitm).expect("load");
    assert_eq!(client.version(), 1);
    assert_eq!(client.freshness(), &Freshness::Fresh);
    let (name, bytes) = &documents[1234];
    let info = client
        .target_info(&target(name))
        .expect("target info")
        .expect("listed");
    assert_eq!(info.length, bytes.len() as u64);
    assert_eq!(info.hashes.sha256, Digest::of(bytes));
    assert_eq!(&client.fetch_target(&target(name)).expect("fetch"), bytes);

    // Only the middle bin and the leaf bin of this name's hash, each once (though the name was
    // looked up twice).
    let layout = BinLayout::with_leaf_count(128).expect("layout");
    let hash = Digest::of(name.as_bytes()).to_hex();
    assert_eq!(
        mitm.bin_fetches(),
        [
            format!("metadata/1.bins-{}.json", &hash[..1]),
            format!("metadata/1.{}.json", layout.leaf_name(layout.leaf_of(name))),
        ]
    );
    let metadata: Vec<String> = mitm
        .fetched_paths()
        .into_iter()
        .filter(|path| path.starts_with("metadata/"))
        .collect();
    assert_eq!(
        metadata[..3],
        [
            "metadata/timestamp.json",
            "metadata/1.snapshot.json",
            "metadata/1.targets.json"
        ]
    );
    assert_eq!(metadata.len(), 5, "{metadata:?}");

    // metadata_bytes counts exactly what was fetched, and it is small.
    let fetched_metadata: u64 = mitm
        .log
        .borrow()
        .iter()
        .filter(|fetched| fetched.path.starts_with("metadata/"))
        .map(|fetched| fetched.bytes_read)
        .sum();
    assert_eq!(client.metadata_bytes(), fetched_metadata);
    assert!(
        client.metadata_bytes() < 40_000,
        "{} bytes of metadata for one of 5,000 documents",
        client.metadata_bytes()
    );
    // The target download was capped at its signed length.
    let log = mitm.log.borrow();
    let target_fetch = log
        .iter()
        .find(|fetched| fetched.path.starts_with("targets/"))
        .expect("target fetched");
    assert_eq!(target_fetch.path, target_path(name, bytes));
    assert_eq!(target_fetch.max_len, bytes.len() as u64);
}

// ---------------------------------------------------------------------------------------------
// 2.–4. Targets.

#[test]
fn tampered_target_of_the_same_length_is_refused() {
    let repo = Repo::new();
    let documents = documents(20);
    repo.release(&documents);
    let (name, bytes) = &documents[3];
    let path = target_path(name, bytes);
    let mut evil = bytes.clone();
    evil[0] ^= 0x20;
    let mitm = repo.mitm().replace(&path, Body::Bytes(evil));
    let mut client = repo.load(&mitm).expect("load");
    let error = assert_refused(
        client.fetch_target(&target(name)),
        ErrorKind::Mismatch,
        &path,
    );
    assert!(error.message().contains("SHA-256"), "{error}");
}

#[test]
fn endless_target_is_refused_after_its_signed_length() {
    let repo = Repo::new();
    let documents = documents(20);
    repo.release(&documents);
    let (name, bytes) = &documents[5];
    let path = target_path(name, bytes);
    let length = bytes.len() as u64;

    let mitm = repo.mitm().replace(&path, Body::Endless);
    let mut client = repo.load(&mitm).expect("load");
    assert_refused(
        client.fetch_target(&target(name)),
        ErrorKind::TooLarge,
        &path,
    );
    let log = mitm.log.borrow();
    let fetched = log
        .iter()
        .find(|fetched| fetched.path == path)
        .expect("target fetched");
    assert_eq!(fetched.max_len, length);
    assert!(
        fetched.bytes_read <= length + 1,
        "read {}",
        fetched.bytes_read
    );

    // A transport that ignores the cap still does not get a longer body accepted.
    let mut longer = bytes.clone();
    longer.extend_from_slice(b"<script>");
    let mitm = repo.mitm().replace(&path, Body::IgnoringCap(longer));
    let mut client = repo.load(&mitm).expect("load");
    assert_refused(
        client.fetch_target(&target(name)),
        ErrorKind::Mismatch,
        &path,
    );
}

#[test]
fn target_not_in_metadata_is_not_found() {
    let repo = Repo::new();
    repo.release(&documents(20));
    // The mirror even holds a file for it.
    let evil = b"unsigned".to_vec();
    std::fs::write(
        repo.dir.path().join(target_path("planted.pdf", &evil)),
        &evil,
    )
    .expect("plant");
    let mitm = repo.mitm();
    let mut client = repo.load(&mitm).expect("load");
    let name = target("planted.pdf");
    assert_eq!(client.target_info(&name).expect("search"), None);
    assert_refused(
        client.fetch_target(&name),
        ErrorKind::NotFound,
        "planted.pdf",
    );
    assert!(
        mitm.fetched_paths()
            .iter()
            .all(|path| !path.starts_with("targets/")),
        "nothing was downloaded"
    );
}

// ---------------------------------------------------------------------------------------------
// 5.–7. Signatures and hashes of metadata.

#[test]
fn timestamp_signed_by_a_wrong_key_is_refused() {
    let repo = Repo::new();
    repo.release(&documents(20));
    let timestamp: Signed<Timestamp> = parse(&repo.read_metadata("timestamp.json"));
    let wrong = SigningKey::generate();
    let forged = editor::sign_document(&timestamp.signed, &[&wrong]).expect("sign");
    let mitm = repo
        .mitm()
        .replace("metadata/timestamp.json", Body::Bytes(forged.clone()));
    assert_refused(
        repo.load(&mitm),
        ErrorKind::ThresholdNotMet,
        "metadata/timestamp.json",
    );

    // The same signature presented under the real timestamp key's id.
    let mut spoofed: Signed<serde_json::Value> = parse(&forged);
    spoofed.signatures[0].keyid = repo.timestamp_key.public().key_id();
    let spoofed = serde_json::to_vec(&spoofed).expect("serialise");
    let mitm = repo
        .mitm()
        .replace("metadata/timestamp.json", Body::Bytes(spoofed));
    assert_refused(
        repo.load(&mitm),
        ErrorKind::BadSignature,
        "metadata/timestamp.json",
    );
}

#[test]
fn snapshot_not_matching_the_timestamp_is_refused() {
    let repo = Repo::new();
    repo.release(&documents(20));
    let path = "metadata/1.snapshot.json";
    let snapshot: Signed<Snapshot> = parse(&repo.read_metadata("1.snapshot.json"));

    // Validly signed by the snapshot key, same length, another hash (expires one day later).
    let mut later = snapshot.signed.clone();
    later.expires += Duration::days(1);
    let same_length = editor::sign_document(&later, &[&repo.snapshot_key]).expect("sign");
    assert_eq!(
        same_length.len(),
        repo.read_metadata("1.snapshot.json").len()
    );
    let mitm = repo.mitm().replace(path, Body::Bytes(same_length));
    let error = assert_refused(repo.load(&mitm), ErrorKind::Mismatch, path);
    assert!(error.message().contains("SHA-256"), "{error}");

    // Validly signed, shorter: one role dropped.
    let mut fewer = snapshot.signed;
    let dropped = fewer
        .meta
        .keys()
        .find(|file| file.starts_with("bin-"))
        .cloned()
        .expect("a bin");
    fewer.meta.remove(&dropped);
    let shorter = editor::sign_document(&fewer, &[&repo.snapshot_key]).expect("sign");
    let mitm = repo.mitm().replace(path, Body::Bytes(shorter));
    let error = assert_refused(repo.load(&mitm), ErrorKind::Mismatch, path);
    assert!(error.message().contains("signed length"), "{error}");
}

#[test]
fn leaf_bin_with_a_bad_signature_is_refused() {
    let repo = Repo::new();
    let documents = documents(5_000);
    repo.release(&documents);
    let (name, _) = &documents[42];
    let leaf = leaf_file_of(&repo, name);

    // Point the entry at other bytes, keep the publisher's signature.
    let evil = b"%PDF forged".to_vec();
    let mut document: Signed<serde_json::Value> =
        parse(&repo.read_metadata(&leaf["metadata/".len()..]));
    document.signed["targets"][name.as_str()] = serde_json::json!({
        "length": evil.len(),
        "hashes": {"sha256": Digest::of(&evil).to_hex()},
    });
    let tampered = serde_json::to_vec(&document).expect("serialise");
    let mitm = repo
        .mitm()
        .replace(&leaf, Body::Bytes(tampered))
        .replace(&target_path(name, &evil), Body::Bytes(evil));
    let mut client = repo.load(&mitm).expect("load");
    assert_refused(
        client.fetch_target(&target(name)),
        ErrorKind::BadSignature,
        &leaf,
    );
    assert!(
        mitm.fetched_paths()
            .iter()
            .all(|path| !path.starts_with("targets/"))
    );

    // Documents under other bins still verify from this mirror.
    let other_middle = Digest::of(name.as_bytes()).to_hex()[..1].to_string();
    let (other, bytes) = documents
        .iter()
        .find(|(other, _)| {
            !Digest::of(other.as_bytes())
                .to_hex()
                .starts_with(&other_middle)
        })
        .expect("a document under another middle bin");
    assert_eq!(&client.fetch_target(&target(other)).expect("fetch"), bytes);
}

/// `bytes` as the editor writes them (`{"signatures":[{...}],"signed":...}`) with the first
/// signature listed twice: the signed part untouched, byte for byte.
fn first_signature_twice(bytes: &[u8]) -> Vec<u8> {
    let text = std::str::from_utf8(bytes).expect("utf-8");
    let start = text.find("\"signatures\":[{").expect("signatures") + "\"signatures\":[".len();
    let end = start + text[start..].find('}').expect("end of a signature") + 1;
    let signature = &text[start..end];
    format!("{}{signature},{}", &text[..start], &text[start..]).into_bytes()
}

/// The key id that signs the file at `path` in a [`Repo`].
fn key_id_signing(repo: &Repo, path: &str) -> String {
    let key = if path.ends_with("timestamp.json") {
        &repo.timestamp_key
    } else if path.contains(".snapshot.") {
        &repo.snapshot_key
    } else {
        &repo.targets_key
    };
    key.public().key_id()
}

/// Issue 15: a peer re-serving the current timestamp with its signature listed twice (the
/// signed part untouched) made an honest mirror store bytes python-tuf refuses ("Multiple
/// signatures found for keyid"). Refused here too, whichever file and whichever road it takes.
#[test]
fn a_signature_listed_twice_is_refused_as_python_tuf_refuses_it() {
    let repo = Repo::new();
    let documents = documents(300);
    repo.release(&documents);
    let (name, _) = &documents[7];
    let leaf = leaf_file_of(&repo, name);
    for path in [
        "metadata/timestamp.json",
        "metadata/1.snapshot.json",
        "metadata/1.targets.json",
        leaf.as_str(),
    ] {
        let twice = first_signature_twice(&repo.read_metadata(&path["metadata/".len()..]));
        // Both roads of parsing (a leaf would take the short one: its signed part is canonical).
        assert_refused(
            trust::verify::Envelope::parse(path, &twice),
            ErrorKind::Malformed,
            path,
        );
        assert_refused(
            trust::verify::Envelope::parse_targets(path, &twice),
            ErrorKind::Malformed,
            path,
        );
        // Through the client: files the snapshot or timestamp gives a length are refused at
        // it; listed with their new length, for their signatures.
        let mut mitm = repo.mitm().replace(path, Body::Bytes(twice.clone()));
        if path != "metadata/timestamp.json" {
            let role_file = &path["metadata/".len()..];
            assert_refused(
                repo.load(&mitm)
                    .and_then(|mut client| client.target_info(&target(name))),
                ErrorKind::TooLarge,
                path,
            );
            if path.ends_with(".snapshot.json") {
                continue; // the timestamp signs its hash too
            }
            for (relisted, bytes) in repo.relisted(role_file, twice.len() as u64) {
                if relisted != path {
                    mitm = mitm.replace(&relisted, Body::Bytes(bytes));
                }
            }
        }
        let error = assert_refused(
            repo.load(&mitm)
                .and_then(|mut client| client.target_info(&target(name))),
            ErrorKind::Malformed,
            path,
        );
        let keyid = key_id_signing(&repo, path);
        assert!(
            error.message().contains("more than one signature") && error.message().contains(&keyid),
            "{error}"
        );
    }
    // Such a copy stored as the trusted timestamp (by a mirror before this was refused) is set
    // aside, as python-tuf sets aside a local file it cannot load: the mirror recovers.
    let mitm = repo.mitm();
    let mut state = repo.load(&mitm).expect("load").trusted_state();
    state.timestamp = Some(first_signature_twice(&repo.read_metadata("timestamp.json")));
    let client =
        Client::load_with_trusted_state(&repo.root_json, repo.mitm(), repo.options(), state)
            .expect("load with a damaged trusted timestamp");
    assert_eq!(
        client.trusted_state().timestamp,
        Some(repo.read_metadata("timestamp.json"))
    );
}

/// python-tuf counts the keys whose signature verifies and ignores the others (a signature
/// that fails, a key it does not know): the threshold decides. So does this client. A root
/// naming one key id twice for a role is refused by both.
#[test]
fn a_signature_that_fails_counts_for_nothing_and_the_threshold_decides() {
    let keys = vec![
        SigningKey::generate(),
        SigningKey::generate(),
        SigningKey::generate(),
    ];
    let repo = Repo::with_root(keys, 2);
    repo.release(&documents(20));
    let [one, two, three] = [&repo.root_keys[0], &repo.root_keys[1], &repo.root_keys[2]];
    let path = "metadata/2.root.json";
    let root_2 = repo.sign_root(&repo.root_keys, 2, 2, &[one, two, three]);
    let stranger = SigningKey::generate();
    let with_failing = |valid: &[&SigningKey]| {
        let mut document: Signed<serde_json::Value> = parse(&with_signatures_of(&root_2, valid, 1));
        // Key three's signature, spoiled; and a stranger's, under a key id no root lists.
        let mut spoiled =
            parse::<Signed<serde_json::Value>>(&with_signatures_of(&root_2, &[three], 1))
                .signatures
                .remove(0);
        let flipped = if spoiled.sig.starts_with('0') {
            "1"
        } else {
            "0"
        };
        spoiled.sig.replace_range(..1, flipped);
        document.signatures.push(spoiled);
        document.signatures.push(trust::schema::Signature {
            keyid: stranger.public().key_id(),
            sig: "00".repeat(64),
        });
        serde_json::to_vec(&document).expect("serialise")
    };
    // Two that verify: accepted, the failing ones notwithstanding.
    let mitm = repo
        .mitm()
        .replace(path, Body::Bytes(with_failing(&[one, two])));
    assert_eq!(repo.load(&mitm).expect("load").root().version, 2);
    // One that verifies: refused, as tampered.
    let mitm = repo.mitm().replace(path, Body::Bytes(with_failing(&[one])));
    assert_refused(repo.load(&mitm), ErrorKind::BadSignature, path);

    // A root whose timestamp role lists one key id twice, properly signed: refused.
    let mut root: Signed<trust::schema::Root> = parse(&root_2);
    let timestamp_role = root
        .signed
        .roles
        .get_mut("timestamp")
        .expect("timestamp role");
    let keyid = timestamp_role.keyids[0].clone();
    timestamp_role.keyids.push(keyid);
    let doubled = editor::sign_document(&root.signed, &[one, two]).expect("sign");
    let mitm = repo.mitm().replace(path, Body::Bytes(doubled));
    let error = assert_refused(repo.load(&mitm), ErrorKind::Malformed, path);
    assert!(error.message().contains("twice"), "{error}");
}

// ---------------------------------------------------------------------------------------------
// 8.–10. Rollback, freeze, mix-and-match.

#[test]
fn rollback_to_an_older_release_is_refused() {
    let repo = Repo::new();
    let mut documents = documents(20);
    repo.release(&documents);
    let timestamp_1 = repo.read_metadata("timestamp.json");
    documents.push(("added.pdf".to_string(), b"%PDF added".to_vec()));
    repo.release(&documents);

    let mitm = repo.mitm();
    let client = repo.load(&mitm).expect("load release 2");
    assert_eq!(client.version(), 2);
    let state = client.trusted_state();
    let load = |mitm| {
        Client::load_with_trusted_state(&repo.root_json, mitm, repo.options(), state.clone())
    };

    // The mirror serves release 1 again: an old, validly signed timestamp.
    let mitm = repo
        .mitm()
        .replace("metadata/timestamp.json", Body::Bytes(timestamp_1.clone()));
    let error = assert_refused(load(&mitm), ErrorKind::Rollback, "metadata/timestamp.json");
    assert!(error.message().contains("version 1"), "{error}");
    // (Without the trusted state, release 1 is all a client can know of.)
    assert_eq!(repo.load(&mitm).expect("load release 1").version(), 1);

    // A newer timestamp (a compromised timestamp key alone) naming the old snapshot.
    let mut timestamp: Signed<Timestamp> = parse(&repo.read_metadata("timestamp.json"));
    timestamp.signed.version += 1;
    timestamp.signed.meta = parse::<Signed<Timestamp>>(&timestamp_1).signed.meta;
    let newer = editor::sign_document(&timestamp.signed, &[&repo.timestamp_key]).expect("sign");
    let mitm = repo
        .mitm()
        .replace("metadata/timestamp.json", Body::Bytes(newer));
    let error = assert_refused(load(&mitm), ErrorKind::Rollback, "metadata/timestamp.json");
    assert!(error.message().contains("snapshot version 1"), "{error}");
}

#[test]
fn expired_timestamp_is_refused_unless_allowed() {
    let repo = Repo::new();
    let documents = documents(20);
    repo.release(&documents);
    let expires = parse::<Signed<Timestamp>>(&repo.read_metadata("timestamp.json"))
        .signed
        .expires;
    assert_eq!(expires, repo.now + repo.expiries.timestamp);

    let mut options = repo.options();
    options.now = repo.now + Duration::days(2);
    let mitm = repo.mitm();
    let error = assert_refused(
        Client::load(&repo.root_json, &mitm, options.clone()),
        ErrorKind::Expired,
        "metadata/timestamp.json",
    );
    assert!(
        error.message().contains("timestamp metadata expired"),
        "{error}"
    );

    options.allow_expired = true;
    let mut client = Client::load(&repo.root_json, &mitm, options.clone()).expect("load");
    assert_eq!(
        client.freshness(),
        &Freshness::Expired {
            role: "timestamp".to_string(),
            since: expires,
        }
    );
    let (name, bytes) = &documents[7];
    assert_eq!(&client.fetch_target(&target(name)).expect("fetch"), bytes);

    // Everything but root expired: the earliest expiry is reported, targets still verify.
    options.now = repo.now + Duration::days(400);
    let mut client = Client::load(&repo.root_json, &mitm, options).expect("load");
    assert_eq!(&client.fetch_target(&target(name)).expect("fetch"), bytes);
    assert_eq!(
        client.freshness(),
        &Freshness::Expired {
            role: "timestamp".to_string(),
            since: expires,
        }
    );
}

#[test]
fn mixing_files_of_two_releases_is_refused() {
    let repo = Repo::new();
    let mut documents = documents(20);
    repo.release(&documents);
    documents.push(("added.pdf".to_string(), b"%PDF added".to_vec()));
    let release_2 = repo.release(&documents);

    // Timestamp of release 2, snapshot of release 1.
    let path = "metadata/2.snapshot.json";
    let mitm = repo
        .mitm()
        .replace(path, Body::Bytes(repo.read_metadata("1.snapshot.json")));
    assert_refused(repo.load(&mitm), ErrorKind::Mismatch, path);

    // Snapshot of release 2, the touched leaf bin of release 1 (validly signed, no hash in the
    // snapshot: its length gives it away, or, listed with its length, its version).
    let leaf_2 = release_2
        .versioned
        .iter()
        .map(|(file, _)| file.clone())
        .find(|file| file.contains(".bin-"))
        .expect("a re-signed leaf");
    let leaf_1 = leaf_2.replacen("2.", "1.", 1);
    let path = format!("metadata/{leaf_2}");
    let old_leaf = repo.read_metadata(&leaf_1);
    let mitm = repo.mitm().replace(&path, Body::Bytes(old_leaf.clone()));
    let mut client = repo.load(&mitm).expect("load");
    let error = assert_refused(
        client.fetch_target(&target("added.pdf")),
        ErrorKind::Mismatch,
        &path,
    );
    assert!(error.message().contains("signed length"), "{error}");
    let mut mitm = repo.mitm().replace(&path, Body::Bytes(old_leaf.clone()));
    for (relisted, bytes) in repo.relisted(&leaf_2, old_leaf.len() as u64) {
        mitm = mitm.replace(&relisted, Body::Bytes(bytes));
    }
    let mut client = repo.load(&mitm).expect("load");
    let error = assert_refused(
        client.fetch_target(&target("added.pdf")),
        ErrorKind::Mismatch,
        &path,
    );
    assert!(error.message().contains("version 1"), "{error}");
}

// ---------------------------------------------------------------------------------------------
// 11.–12. Root.

#[test]
fn root_rotation_needs_old_and_new_keys() {
    let repo = Repo::new();
    let documents = documents(20);
    repo.release(&documents);
    let old = &repo.root_keys[0];
    let new = SigningKey::generate();
    let new_only = std::slice::from_ref(&new);
    let path = "metadata/2.root.json";

    // Signed by the new key only: the old root did not agree.
    let by_new = repo.sign_root(new_only, 1, 2, &[&new]);
    let mitm = repo.mitm().replace(path, Body::Bytes(by_new));
    assert_refused(repo.load(&mitm), ErrorKind::ThresholdNotMet, path);

    // Signed by the old key only: the new root does not sign itself.
    let by_both = repo.sign_root(new_only, 1, 2, &[old, &new]);
    let by_old = with_signatures_of(&by_both, &[old], 1);
    let mitm = repo.mitm().replace(path, Body::Bytes(by_old));
    assert_refused(repo.load(&mitm), ErrorKind::ThresholdNotMet, path);

    // Signed by both: followed.
    repo.write_metadata("2.root.json", &by_both);
    let mitm = repo.mitm();
    let mut client = repo.load(&mitm).expect("load");
    assert_eq!(client.root().version, 2);
    assert_eq!(client.trusted_root_json(), by_both.as_slice());
    let (name, bytes) = &documents[0];
    assert_eq!(&client.fetch_target(&target(name)).expect("fetch"), bytes);
    let log = mitm.log.borrow();
    let roots: Vec<(&str, bool)> = log
        .iter()
        .filter(|fetched| fetched.path.ends_with(".root.json"))
        .map(|fetched| (fetched.path.as_str(), fetched.found))
        .collect();
    assert_eq!(
        roots,
        [
            ("metadata/2.root.json", true),
            ("metadata/3.root.json", false)
        ]
    );
}

#[test]
fn root_needs_two_of_three_keys() {
    let keys = vec![
        SigningKey::generate(),
        SigningKey::generate(),
        SigningKey::generate(),
    ];
    let repo = Repo::with_root(keys, 2);
    repo.release(&documents(20));
    let [one, two, three] = [&repo.root_keys[0], &repo.root_keys[1], &repo.root_keys[2]];
    let path = "metadata/2.root.json";
    let root_2 = repo.sign_root(&repo.root_keys, 2, 2, &[one, two, three]);

    // One key: refused. One key's signature twice: refused whatever the threshold, as
    // python-tuf refuses it (see a_signature_listed_twice_is_refused_as_python_tuf_refuses_it).
    for (signers, times, kind) in [
        (vec![three], 1, ErrorKind::ThresholdNotMet),
        (vec![one], 2, ErrorKind::Malformed),
    ] {
        let mitm = repo.mitm().replace(
            path,
            Body::Bytes(with_signatures_of(&root_2, &signers, times)),
        );
        assert_refused(repo.load(&mitm), kind, path);
    }

    // Two keys: accepted.
    let by_two = with_signatures_of(&root_2, &[two, three], 1);
    let mitm = repo.mitm().replace(path, Body::Bytes(by_two));
    assert_eq!(repo.load(&mitm).expect("load").root().version, 2);

    // The trusted root itself is held to the threshold (a corrupted local copy).
    let weak_anchor = with_signatures_of(&repo.root_json, &[one], 1);
    assert_refused(
        Client::load(&weak_anchor, repo.mitm(), repo.options()),
        ErrorKind::ThresholdNotMet,
        "trusted root",
    );
}

// ---------------------------------------------------------------------------------------------
// 13. Endless metadata.

#[test]
fn oversized_metadata_is_too_large() {
    let repo = Repo::new();
    repo.release(&documents(20));
    let cap = repo.options().max_timestamp_len;
    let timestamp = "metadata/timestamp.json";

    // A mirror serving more than the cap.
    let huge = vec![b' '; cap as usize + 1];
    let mitm = repo.mitm().replace(timestamp, Body::Bytes(huge));
    assert_refused(repo.load(&mitm), ErrorKind::TooLarge, timestamp);
    assert_eq!(mitm.log.borrow()[1].max_len, cap);

    // The real folder transport, with a cap below the real file.
    let mut options = repo.options();
    options.max_timestamp_len = 100;
    assert_refused(
        Client::load(&repo.root_json, DirTransport::new(repo.dir.path()), options),
        ErrorKind::TooLarge,
        timestamp,
    );

    // Endless root, snapshot (capped by the length the timestamp signs), targets (by the length
    // the snapshot signs).
    let snapshot_length = repo.read_metadata("1.snapshot.json").len() as u64;
    let targets_length = repo.read_metadata("1.targets.json").len() as u64;
    let options = repo.options();
    for (path, cap) in [
        ("metadata/2.root.json", options.max_root_len),
        ("metadata/1.snapshot.json", snapshot_length),
        ("metadata/1.targets.json", targets_length),
    ] {
        let mitm = repo.mitm().replace(path, Body::Endless);
        assert_refused(repo.load(&mitm), ErrorKind::TooLarge, path);
        let log = mitm.log.borrow();
        let fetched = log
            .iter()
            .find(|fetched| fetched.path == path)
            .expect("fetched");
        assert_eq!(fetched.max_len, cap, "{path}");
        assert_eq!(fetched.bytes_read, cap + 1, "{path}");
    }

    // A transport that breaks its contract and returns more than the cap: still refused
    // (the real timestamp, padded with JSON whitespace, would otherwise parse and verify).
    let mut padded = repo.read_metadata("timestamp.json");
    padded.resize(cap as usize + 1000, b' ');
    let mitm = repo.mitm().replace(timestamp, Body::IgnoringCap(padded));
    assert_refused(repo.load(&mitm), ErrorKind::TooLarge, timestamp);
}

/// Issue 15: every delegated role's length is in the snapshot, and it is the cap the role's file
/// is read with: a peer serving an oversized bin is refused at the signed length, not at the
/// 5 MB cap kept for files that no metadata gives a length.
#[test]
fn an_oversized_bin_is_refused_at_its_signed_length() {
    let repo = Repo::new();
    let documents = documents(5_000);
    repo.release(&documents);
    let snapshot: Signed<Snapshot> = parse(&repo.read_metadata("1.snapshot.json"));
    for (file, meta) in &snapshot.signed.meta {
        let bytes = repo.read_metadata(&format!("{}.{file}", meta.version));
        assert_eq!(meta.length, Some(bytes.len() as u64), "{file}");
    }
    let (name, _) = &documents[42];
    let leaf = leaf_file_of(&repo, name);
    let signed_length = repo.read_metadata(&leaf["metadata/".len()..]).len() as u64;
    assert!(signed_length < 100_000, "{leaf}: {signed_length} bytes");
    // Endless, found by the search for one name and by loading every role.
    for every_role in [false, true] {
        let mitm = repo.mitm().replace(&leaf, Body::Endless);
        let result = repo.load(&mitm).and_then(|mut client| {
            if every_role {
                client.all_targets().map(|_| ())
            } else {
                client.target_info(&target(name)).map(|_| ())
            }
        });
        assert_refused(result, ErrorKind::TooLarge, &leaf);
        let log = mitm.log.borrow();
        let fetched = log
            .iter()
            .find(|fetched| fetched.path == leaf)
            .expect("fetched");
        assert_eq!(fetched.max_len, signed_length);
        assert_eq!(fetched.bytes_read, signed_length + 1);
    }
    // A transport that breaks its contract and returns more: refused all the same.
    let mut padded = repo.read_metadata(&leaf["metadata/".len()..]);
    padded.resize(signed_length as usize + 1, b' ');
    let mitm = repo.mitm().replace(&leaf, Body::IgnoringCap(padded));
    let result = repo
        .load(&mitm)
        .and_then(|mut client| client.target_info(&target(name)));
    assert_refused(result, ErrorKind::TooLarge, &leaf);
}

// ---------------------------------------------------------------------------------------------
// 14. Delegation rules.

#[test]
fn leaf_bin_listing_a_target_outside_its_prefixes_is_not_trusted() {
    let repo = Repo::new();
    let documents = documents(20);
    let release = repo.release(&documents);
    let layout = BinLayout::with_leaf_count(release.bins_total as u32).expect("layout");
    let (victim_name, victim_bytes) = &documents[0];
    let victim_leaf = layout.leaf_of(victim_name);
    let leaf = leaf_file_of(&repo, victim_name);
    assert_eq!(
        leaf,
        format!("metadata/1.{}.json", layout.leaf_name(victim_leaf))
    );
    let (other_name, other_bytes) = documents
        .iter()
        .find(|(name, _)| layout.leaf_of(name) != victim_leaf)
        .expect("a document in another leaf");
    let planted = (0..)
        .map(|index| format!("planted-{index}.pdf"))
        .find(|name| layout.leaf_of(name) != victim_leaf)
        .expect("a name outside the leaf");

    // The victim leaf, validly re-signed by its key, lists names that hash outside its prefixes.
    let evil = b"%PDF evil".to_vec();
    let evil_info = TargetInfo {
        length: evil.len() as u64,
        hashes: Hashes {
            sha256: Digest::of(&evil),
        },
        custom: None,
    };
    let mut forged: Signed<Targets> = parse(&repo.read_metadata(&leaf["metadata/".len()..]));
    for name in [other_name, &planted] {
        forged
            .signed
            .targets
            .insert(name.clone(), evil_info.clone());
    }
    let forged = editor::sign_document(&forged.signed, &[&repo.targets_key]).expect("sign");
    let mut mitm = repo.mitm();
    for (path, bytes) in repo.relisted(&leaf["metadata/".len()..], forged.len() as u64) {
        mitm = mitm.replace(&path, Body::Bytes(bytes));
    }
    let mitm = mitm
        .replace(&leaf, Body::Bytes(forged))
        .replace(&target_path(other_name, &evil), Body::Bytes(evil.clone()))
        .replace(&target_path(&planted, &evil), Body::Bytes(evil));

    let mut client = repo.load(&mitm).expect("load");
    // The forged leaf is verified and cached…
    assert_eq!(
        &client.fetch_target(&target(victim_name)).expect("fetch"),
        victim_bytes
    );
    assert!(mitm.fetched_paths().contains(&leaf));
    // … but it is not asked about names outside its prefixes.
    assert_eq!(client.target_info(&target(&planted)).expect("search"), None);
    assert_refused(
        client.fetch_target(&target(&planted)),
        ErrorKind::NotFound,
        &planted,
    );
    assert_eq!(
        &client.fetch_target(&target(other_name)).expect("fetch"),
        other_bytes
    );
    let all = client.all_targets().expect("all targets");
    assert_eq!(all.len(), documents.len());
    for ((name, info), (expected_name, expected_bytes)) in all.iter().zip(&documents) {
        assert_eq!(name.as_str(), expected_name);
        assert_eq!(info.hashes.sha256, Digest::of(expected_bytes));
    }
    // Random draws (a directory's audit) walk the same delegations: never the planted name,
    // and every one drawn is what the full walk resolved.
    let mut fresh = repo.load(&mitm).expect("load");
    let drawn = fresh
        .draw_targets(documents.len() * 4, &mut rand_core::OsRng)
        .expect("draw");
    assert!(drawn.len() > 1, "{drawn:?}");
    for drawn in &drawn {
        assert!(all.contains(drawn), "{drawn:?} drawn, not resolved");
    }
}

// ---------------------------------------------------------------------------------------------
// 15. The incremental editor.

#[test]
fn adding_one_target_re_signs_one_bin() {
    let repo = Repo::new();
    let mut documents = documents(5_000);
    let release_1 = repo.release(&documents);
    assert_eq!(release_1.bins_written, 128);
    // 128 leaves, 16 middles, the originals family (32 empty leaves, no middle level, its
    // `originals` role), targets, snapshot.
    assert_eq!(release_1.versioned.len(), 128 + 16 + 32 + 1 + 1 + 1);
    assert_eq!(release_1.original_bins_total, 32);

    let added = ("added.pdf".to_string(), b"%PDF added".to_vec());
    documents.push(added.clone());
    let release_2 = repo.release(&documents);
    assert_eq!(release_2.snapshot_version, 2);
    assert_eq!(release_2.bins_written, 1);
    let layout = BinLayout::with_leaf_count(128).expect("layout");
    let leaf = layout.leaf_name(layout.leaf_of(&added.0));
    // Middles and targets only delegate (no versions in a delegation): they stay as they were.
    let files: Vec<&str> = release_2
        .versioned
        .iter()
        .map(|(file, _)| file.as_str())
        .collect();
    assert_eq!(
        files,
        [format!("2.{leaf}.json").as_str(), "2.snapshot.json"]
    );

    let mitm = repo.mitm();
    let mut client = repo.load(&mitm).expect("load");
    assert_eq!(client.version(), 2);
    assert_eq!(
        client.fetch_target(&target(&added.0)).expect("fetch new"),
        added.1
    );
    assert!(
        mitm.fetched_paths()
            .contains(&format!("metadata/2.{leaf}.json"))
    );
    let (old_name, old_bytes) = &documents[4321];
    assert_eq!(
        &client.fetch_target(&target(old_name)).expect("fetch old"),
        old_bytes
    );

    // Nothing changed: only a new snapshot.
    let release_3 = repo.release(&documents);
    assert_eq!(release_3.bins_written, 0);
    let files: Vec<&str> = release_3
        .versioned
        .iter()
        .map(|(file, _)| file.as_str())
        .collect();
    assert_eq!(files, ["3.snapshot.json"]);
    let mitm = repo.mitm();
    let mut client = repo.load(&mitm).expect("load");
    assert_eq!(client.version(), 3);
    assert_eq!(
        client.fetch_target(&target(&added.0)).expect("fetch new"),
        added.1
    );
}

// ---------------------------------------------------------------------------------------------
// 16. A mirror's incremental walk.

/// `targets_changed_since` gives exactly the targets an earlier release did not resolve the same
/// way (new, changed), not those only removed, and none of the rest; with a listing that knows
/// nothing of the earlier bins, every target of a changed bin.
#[test]
fn targets_changed_since_an_earlier_release_are_exactly_the_new_ones() {
    let repo = Repo::new();
    let mut documents = documents(3_000);
    repo.release(&documents);
    let snapshot_1: serde_json::Value =
        serde_json::from_slice(&repo.read_metadata("1.snapshot.json")).expect("snapshot");
    let previous: BTreeMap<String, trust::schema::MetaFile> =
        serde_json::from_value(snapshot_1["signed"]["meta"].clone()).expect("meta");
    documents[7].1 = b"changed".to_vec();
    documents.remove(3);
    documents.push(("new-one.json".into(), b"new".to_vec()));
    documents.push(("new-two.pdf".into(), b"new too".to_vec()));
    let release_2 = repo.release(&documents);
    assert!(release_2.bins_written > 0 && release_2.bins_written < release_2.bins_total);
    let metadata = repo.metadata_dir();
    let listing = |role: &str, version: u64| {
        let bytes = std::fs::read(metadata.join(format!("{version}.{role}.json"))).ok()?;
        trust::leaf::read_listed(&bytes)
    };
    let transport = DirTransport::new(repo.dir.path());
    let mut client =
        Client::load(&repo.root_json, &transport, repo.options()).expect("load release 2");
    let changed = client
        .targets_changed_since(&previous, &listing)
        .expect("targets")
        .expect("the same delegations");
    let mut names: Vec<&str> = changed.iter().map(|(name, _)| name.as_str()).collect();
    names.sort_unstable();
    assert_eq!(names, ["doc-00007.pdf", "new-one.json", "new-two.pdf"]);
    for (name, info) in &changed {
        let bytes = &documents
            .iter()
            .find(|(n, _)| n == name.as_str())
            .expect("doc")
            .1;
        assert_eq!(info.hashes.sha256, Digest::of(bytes), "{name}");
    }
    assert_eq!(client.listed_targets(), documents.len());

    // A listing that knows nothing: every target of every changed bin, and still only targets.
    let mut client =
        Client::load(&repo.root_json, &transport, repo.options()).expect("load release 2");
    let unknown = |_: &str, _: u64| None;
    let changed = client
        .targets_changed_since(&previous, &unknown)
        .expect("targets")
        .expect("the same delegations");
    assert!(
        changed.len() > 3 && changed.len() < documents.len(),
        "{}",
        changed.len()
    );
    let all = client.all_targets().expect("all");
    assert!(changed.iter().all(|t| all.contains(t)));
    assert!(
        changed
            .iter()
            .any(|(name, _)| name.as_str() == "new-two.pdf")
    );

    // Against a release with a role this one does not have (its names may resolve elsewhere
    // now): not from changes.
    let mut gone = previous.clone();
    let a_bin = gone.values().next().expect("a role").clone();
    gone.insert("bin-gone.json".into(), a_bin);
    let mut client =
        Client::load(&repo.root_json, &transport, repo.options()).expect("load release 2");
    assert!(
        client
            .targets_changed_since(&gone, &listing)
            .expect("targets")
            .is_none()
    );

    // Against a release with other delegations (none at all: no earlier release): not from
    // changes.
    let mut client =
        Client::load(&repo.root_json, &transport, repo.options()).expect("load release 2");
    assert!(
        client
            .targets_changed_since(&BTreeMap::new(), &listing)
            .expect("targets")
            .is_none()
    );
}

/// A client that has searched for one name (and so loaded one path of bins) still lists every
/// target: the bins under a middle bin loaded before are walked too.
#[test]
fn every_target_is_listed_after_a_search_for_one() {
    let repo = Repo::new();
    let documents = documents(3_000);
    repo.release(&documents);
    let transport = DirTransport::new(repo.dir.path());
    let mut client = Client::load(&repo.root_json, &transport, repo.options()).expect("load");
    client
        .target_info(&target(&documents[0].0))
        .expect("target info")
        .expect("listed");
    assert_eq!(client.all_targets().expect("all").len(), documents.len());
}

/// A leaf bin reformatted (same content, signed over the same canonical form, written with
/// spaces) verifies the same way as the file as written: the shorter road for files in the exact
/// canonical form gives what the general one does, and the general one still takes the rest.
/// A mirror reads its earlier bins (to see what a new release changed) by a short road when
/// they are in the canonical form this crate writes, and by JSON otherwise: the same listing
/// either way, also when a signature object carries fields that mimic the envelope.
#[test]
fn an_earlier_bin_is_listed_the_same_by_either_road() {
    let repo = Repo::new();
    let documents = documents(300);
    repo.release(&documents);
    let snapshot: serde_json::Value =
        serde_json::from_slice(&repo.read_metadata("1.snapshot.json")).expect("snapshot");
    let leaf = snapshot["signed"]["meta"]
        .as_object()
        .expect("meta")
        .keys()
        .find(|k| k.starts_with("bin-"))
        .expect("a leaf")
        .clone();
    let original = repo.read_metadata(&format!("1.{leaf}"));
    let listed = trust::leaf::read_listed(&original).expect("listed");
    let by_json = trust::leaf::read_listing(&original).expect("listing");
    assert!(!listed.is_empty());
    assert_eq!(listed.len(), by_json.len());
    assert!(
        listed
            .iter()
            .zip(&by_json)
            .all(|((a, a_info), (b, b_info))| a == b && a_info == b_info)
    );
    let value: serde_json::Value = serde_json::from_slice(&original).expect("json");
    let pretty = serde_json::to_vec_pretty(&value).expect("pretty");
    assert_eq!(trust::leaf::read_listed(&pretty), Some(listed));

    // A signature object whose extra field closes a list and names a `signed` of its own, a
    // leaf listing one other target: the short road must not take it for the envelope's.
    let text = String::from_utf8(original.clone()).expect("utf-8");
    let fake = r#"{"_type":"targets","expires":"2100-01-01T00:00:00Z","spec_version":"1.0.31","targets":{"evil":{"hashes":{"sha256":"0000000000000000000000000000000000000000000000000000000000000000"},"length":1}},"version":1}"#;
    let crafted = text.replacen(
        r#"{"signatures":[{"#,
        &format!(r#"{{"signatures":[{{"x":[1],"signed":{fake},"#),
        1,
    );
    assert_ne!(crafted, text);
    assert_eq!(
        trust::leaf::read_listed(crafted.as_bytes()),
        trust::leaf::read_listed(&original)
    );
}

#[test]
fn a_bin_not_in_canonical_form_still_verifies_the_same() {
    let repo = Repo::new();
    let documents = documents(300);
    repo.release(&documents);
    let snapshot: serde_json::Value =
        serde_json::from_slice(&repo.read_metadata("1.snapshot.json")).expect("snapshot");
    let leaf = snapshot["signed"]["meta"]
        .as_object()
        .expect("meta")
        .keys()
        .find(|k| k.starts_with("bin-"))
        .expect("a leaf")
        .clone();
    let file = format!("1.{leaf}");
    let original = repo.read_metadata(&file);
    let value: serde_json::Value = serde_json::from_slice(&original).expect("json");
    let pretty = serde_json::to_vec_pretty(&value).expect("pretty");
    assert_ne!(pretty, original);

    let fetch = |bytes: Vec<u8>| {
        repo.write_metadata(&file, &bytes);
        for (path, relisted) in repo.relisted(&file, bytes.len() as u64) {
            repo.write_metadata(&path["metadata/".len()..], &relisted);
        }
        let transport = DirTransport::new(repo.dir.path());
        let mut client = Client::load(&repo.root_json, &transport, repo.options()).expect("load");
        client.all_targets().expect("all targets")
    };
    // The bin as written takes the short road; the pretty one the general road.
    let read_as_leaf = |bytes: &[u8]| {
        trust::verify::Envelope::parse_targets(&file, bytes)
            .expect("parse")
            .read_as_leaf()
    };
    assert!(
        read_as_leaf(&original),
        "{file}: the canonical bin took the general road"
    );
    assert!(!read_as_leaf(&pretty));
    let canonical = fetch(original.clone());
    assert_eq!(canonical.len(), documents.len());
    assert_eq!(fetch(pretty), canonical);
    // The same two parts as a JSON array, `signed` still in its canonical form: refused, as
    // the general road refuses any envelope that is not an object.
    let array = serde_json::to_vec(&serde_json::json!([value["signatures"], value["signed"]]))
        .expect("array");
    repo.write_metadata(&file, &array);
    for (path, relisted) in repo.relisted(&file, array.len() as u64) {
        repo.write_metadata(&path["metadata/".len()..], &relisted);
    }
    let transport = DirTransport::new(repo.dir.path());
    let mut client = Client::load(&repo.root_json, &transport, repo.options()).expect("load");
    assert!(client.all_targets().is_err(), "an array envelope was taken");
    // Tampered in the canonical form: the signature no longer holds.
    let original = String::from_utf8(original).expect("utf-8");
    let tampered = original.replacen("\"length\":2", "\"length\":9", 1);
    assert_ne!(tampered, original);
    let tampered = tampered.into_bytes();
    repo.write_metadata(&file, &tampered);
    for (path, relisted) in repo.relisted(&file, tampered.len() as u64) {
        repo.write_metadata(&path["metadata/".len()..], &relisted);
    }
    let transport = DirTransport::new(repo.dir.path());
    let mut client = Client::load(&repo.root_json, &transport, repo.options()).expect("load");
    match client.all_targets() {
        Ok(all) => panic!("a tampered leaf gave {} targets", all.len()),
        Err(error) => assert_eq!(error.kind(), ErrorKind::BadSignature, "{error}"),
    }
}
