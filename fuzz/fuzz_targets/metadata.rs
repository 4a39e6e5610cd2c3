//! TUF metadata from an untrusted mirror: the bytes go through the same code the client runs
//! (`verify::Envelope`: parse, signature threshold, typed parse; `client::Client`: the whole
//! update workflow 5.1–5.7), and their JSON through canonical JSON (`cjson`).
//!
//! A fixed repository is built once per process with fixed keys: root, timestamp, snapshot,
//! top-level targets delegating to hashed bins, and a few target files, all in memory. The input
//! is one metadata document; its `signed._type` says which file it replaces:
//!
//! - `root`: the trusted root the client starts from, and `metadata/2.root.json` (a rotation);
//! - `timestamp`: `metadata/timestamp.json`, and the previously trusted timestamp;
//! - `snapshot`: the snapshot the timestamp names, and the previously trusted snapshot;
//! - `targets`: the bin its first target hashes to, or top-level targets when it lists none;
//! - anything else (not JSON, no `_type`): `metadata/timestamp.json`.
//!
//! A document whose `signatures` is `[]` is signed here with the role's key first (and, for a
//! snapshot, a timestamp naming it is signed too), so the fuzzer also reaches what comes after
//! the signature checks: versions, rollback, expiry, delegations, target search and download.
//!
//! Besides not panicking: a document that was *not* signed here is accepted only if its signed
//! part is canonically the fixed repository's own (nobody can forge a signature), and a
//! canonical JSON encoding that parses back encodes the same.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::OnceLock;
use trust::cjson;
use trust::client::{Client, FetchError, Options, Transport, TrustedState};
use trust::schema::{
    Digest, RoleType, Root, SNAPSHOT_META, Snapshot, TargetName, Targets, Timestamp,
};
use trust::verify::Envelope;

#[path = "repo.rs"]
mod repo;
use repo::{Keys, NOW, delegates, sign, signed_part};

struct Fixture {
    keys: &'static Keys,
    /// Every file of the repository by path (`metadata/1.root.json`, `targets/HASH.NAME`).
    files: HashMap<String, Vec<u8>>,
    root_json: Vec<u8>,
    root: Root,
    snapshot_path: String,
    snapshot: Snapshot,
    /// Every targets role (top-level, middle and leaf bins) by name.
    roles: HashMap<String, Targets>,
    names: Vec<TargetName>,
}

/// The shared repository (`repo.rs`) as files by path, its roles parsed.
fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let repo = repo::repo();
        let mut files: HashMap<String, Vec<u8>> = repo
            .targets
            .iter()
            .map(|(name, content)| {
                let path = format!("targets/{}.{name}", Digest::of(content).to_hex());
                (path, content.clone())
            })
            .collect();
        for (name, bytes) in &repo.versioned {
            files.insert(format!("metadata/{name}"), bytes.clone());
        }
        files.insert("metadata/timestamp.json".into(), repo.timestamp.clone());
        files.insert("metadata/1.root.json".into(), repo.root_json.clone());
        let snapshot_path = format!("metadata/{}.snapshot.json", repo.snapshot_version);
        let snapshot: Snapshot = signed_part(repo.snapshot_bytes());
        // Every targets role by name.
        let roles: HashMap<String, Targets> = snapshot
            .meta
            .iter()
            .filter_map(|(file, meta)| {
                let role = file.strip_suffix(".json")?;
                let bytes = files.get(&format!("metadata/{}.{role}.json", meta.version))?;
                Some((role.to_string(), signed_part(bytes)))
            })
            .collect();
        Fixture {
            root: signed_part(&repo.root_json),
            keys: &repo.keys,
            files,
            root_json: repo.root_json.clone(),
            snapshot_path,
            snapshot,
            roles,
            names: repo.targets.iter().map(|(name, _)| name.clone()).collect(),
        }
    })
}

/// The fixed repository with some files replaced.
struct MemTransport<'a> {
    files: &'a HashMap<String, Vec<u8>>,
    replaced: Vec<(String, Vec<u8>)>,
}

impl Transport for MemTransport<'_> {
    fn fetch(&self, path: &str, max_len: u64) -> Result<Vec<u8>, FetchError> {
        let bytes = self
            .replaced
            .iter()
            .find(|(replaced, _)| replaced == path)
            .map(|(_, bytes)| bytes)
            .or_else(|| self.files.get(path))
            .ok_or(FetchError::NotFound)?;
        if bytes.len() as u64 > max_len {
            return Err(FetchError::TooLarge { limit: max_len });
        }
        Ok(bytes.clone())
    }

    fn describe(&self) -> String {
        "memory".into()
    }
}

/// One run of the client: what it trusts once it accepted the repository (with `search_all`, every role), or None.
fn run_client(
    fixture: &Fixture,
    trusted_root: &[u8],
    replaced: Vec<(String, Vec<u8>)>,
    trusted_state: TrustedState,
    allow_expired: bool,
    search_all: bool,
) -> Option<TrustedState> {
    let transport = MemTransport {
        files: &fixture.files,
        replaced,
    };
    let mut options = Options::new(NOW);
    options.allow_expired = allow_expired;
    let Ok(mut client) =
        Client::load_with_trusted_state(trusted_root, transport, options, trusted_state)
    else {
        return None;
    };
    let trusted = client.trusted_state();
    // Bins are loaded lazily: a replaced bin is only accepted once every role is.
    let all_accepted = !search_all || client.all_targets().is_ok();
    for name in fixture.names.iter().step_by(13) {
        let _ = client.target_info(name);
    }
    let _ = client.fetch_target(&fixture.names[0]);
    all_accepted.then_some(trusted)
}

/// The fixed role a targets document stands for: the deepest role on its first target's
/// delegation path, else the role delegating to its first delegated role, else `targets`.
fn targets_role_for(fixture: &Fixture, signed: &Value) -> String {
    let first_target = signed
        .get("targets")
        .and_then(Value::as_object)
        .and_then(|targets| targets.keys().next());
    if let Some(name) = first_target {
        let hash = Digest::of(name.as_bytes()).to_hex();
        let mut role = "targets".to_string();
        while let Some(child) = fixture.roles.get(&role).and_then(|current| {
            delegates(current)
                .iter()
                .find(|delegated| delegated.covers(name, &hash))
                .filter(|delegated| fixture.roles.contains_key(&delegated.name))
        }) {
            role = child.name.clone();
        }
        return role;
    }
    let first_delegated = signed
        .pointer("/delegations/roles/0/name")
        .and_then(Value::as_str);
    first_delegated
        .and_then(|child| {
            fixture.roles.iter().find_map(|(name, role)| {
                delegates(role)
                    .iter()
                    .any(|delegated| delegated.name == child)
                    .then(|| name.clone())
            })
        })
        .unwrap_or_else(|| "targets".to_string())
}

/// Canonical JSON of a file's `signed` part.
fn canonical_signed(bytes: &[u8]) -> Option<Vec<u8>> {
    let value: Value = serde_json::from_slice(bytes).ok()?;
    cjson::canonical_value(value.get("signed")?).ok()
}

fuzz_target!(|data: &[u8]| {
    let fixture = fixture();

    // The envelope alone, against each top-level role of the fixed root.
    if let Ok(envelope) = Envelope::parse("fuzz.json", data) {
        for (role, keys) in &fixture.root.roles {
            let _ =
                envelope.verify_threshold(role, &keys.keyids, keys.threshold, &fixture.root.keys);
        }
        let _ = envelope.peek_typed::<Root>(RoleType::Root);
        let _ = envelope.peek_typed::<Timestamp>(RoleType::Timestamp);
        let _ = envelope.peek_typed::<Snapshot>(RoleType::Snapshot);
        let _ = envelope.into_typed::<Targets>(RoleType::Targets);
    }

    let allow_expired = data.len() % 2 == 1;
    let Ok(value) = serde_json::from_slice::<Value>(data) else {
        // Not JSON: served as the timestamp, it must be refused.
        let replaced = vec![("metadata/timestamp.json".to_string(), data.to_vec())];
        let accepted = run_client(
            fixture,
            &fixture.root_json,
            replaced,
            TrustedState::default(),
            allow_expired,
            false,
        );
        assert!(accepted.is_none(), "non-JSON timestamp accepted");
        return;
    };

    // Canonical JSON: deterministic, and stable when it parses back (it need not: control
    // characters are written raw, as securesystemslib does).
    if let Ok(canonical) = cjson::canonical_value(&value) {
        assert_eq!(cjson::canonical(&value).ok().as_ref(), Some(&canonical));
        if let Ok(reparsed) = serde_json::from_slice::<Value>(&canonical) {
            assert_eq!(reparsed, value, "canonical JSON changed the value");
            assert_eq!(cjson::canonical_value(&reparsed).ok(), Some(canonical));
        }
    }

    let signed = value.get("signed").cloned().unwrap_or(Value::Null);
    let resign = value.get("signatures") == Some(&Value::Array(Vec::new())) && signed.is_object();
    let kind = signed.get("_type").and_then(Value::as_str).unwrap_or("");
    let keys = &fixture.keys;
    // Each run: (replaced files, trusted state, trusted root if not the fixed one, the fixed file
    // the input stands for: what it must equal canonically if accepted unsigned here).
    let mut runs: Vec<(
        Vec<(String, Vec<u8>)>,
        TrustedState,
        Option<Vec<u8>>,
        Option<&[u8]>,
    )> = Vec::new();
    match kind {
        "root" => {
            let bytes = if resign {
                sign(&signed, &keys.root)
            } else {
                Some(data.to_vec())
            };
            if let Some(bytes) = bytes {
                runs.push((
                    Vec::new(),
                    TrustedState::default(),
                    Some(bytes.clone()),
                    Some(&fixture.root_json),
                ));
                // A rotation: version 2 can never be accepted unless signed here.
                runs.push((
                    vec![("metadata/2.root.json".into(), bytes)],
                    TrustedState::default(),
                    None,
                    None,
                ));
            }
        }
        "timestamp" => {
            let bytes = if resign {
                sign(&signed, &keys.timestamp)
            } else {
                Some(data.to_vec())
            };
            if let Some(bytes) = bytes {
                let fixed = fixture.files["metadata/timestamp.json"].as_slice();
                runs.push((
                    vec![("metadata/timestamp.json".into(), bytes.clone())],
                    TrustedState::default(),
                    None,
                    Some(fixed),
                ));
                let state = TrustedState {
                    timestamp: Some(bytes),
                    snapshot: None,
                };
                runs.push((Vec::new(), state, None, Some(fixed)));
            }
        }
        "snapshot" => {
            let fixed = fixture.files[&fixture.snapshot_path].as_slice();
            if resign {
                if let Some(bytes) = sign(&signed, &keys.snapshot) {
                    // A timestamp naming this snapshot, so that it is fetched and checked.
                    let version = signed.get("version").and_then(Value::as_u64).unwrap_or(1);
                    let timestamp = serde_json::json!({
                        "_type": "timestamp",
                        "spec_version": "1.0.31",
                        "version": 2,
                        "expires": "2030-01-08T00:00:00Z",
                        "meta": {SNAPSHOT_META: {
                            "version": version,
                            "length": bytes.len(),
                            "hashes": {"sha256": Digest::of(&bytes).to_hex()},
                        }},
                    });
                    let timestamp = sign(&timestamp, &keys.timestamp).expect("sign timestamp");
                    let replaced = vec![
                        ("metadata/timestamp.json".into(), timestamp),
                        (format!("metadata/{version}.snapshot.json"), bytes.clone()),
                    ];
                    runs.push((replaced, TrustedState::default(), None, Some(fixed)));
                    let state = TrustedState {
                        timestamp: None,
                        snapshot: Some(bytes),
                    };
                    runs.push((Vec::new(), state, None, Some(fixed)));
                }
            } else {
                runs.push((
                    vec![(fixture.snapshot_path.clone(), data.to_vec())],
                    TrustedState::default(),
                    None,
                    Some(fixed),
                ));
                let state = TrustedState {
                    timestamp: None,
                    snapshot: Some(data.to_vec()),
                };
                runs.push((Vec::new(), state, None, Some(fixed)));
            }
        }
        "targets" => {
            let role = targets_role_for(fixture, &signed);
            let version = fixture
                .snapshot
                .meta
                .get(&format!("{role}.json"))
                .map_or(1, |meta| meta.version);
            let path = format!("metadata/{version}.{role}.json");
            let bytes = if resign {
                sign(&signed, &keys.targets)
            } else {
                Some(data.to_vec())
            };
            if let Some(bytes) = bytes {
                let fixed = fixture.files.get(&path).map(Vec::as_slice);
                runs.push((vec![(path, bytes)], TrustedState::default(), None, fixed));
            }
        }
        _ => {
            let fixed = fixture.files["metadata/timestamp.json"].as_slice();
            runs.push((
                vec![("metadata/timestamp.json".into(), data.to_vec())],
                TrustedState::default(),
                None,
                Some(fixed),
            ));
        }
    }

    let search_all = kind == "targets";
    for (replaced, state, trusted_root, fixed) in runs {
        let root = trusted_root.as_deref().unwrap_or(&fixture.root_json);
        let from_state = replaced.is_empty();
        let accepted = run_client(fixture, root, replaced, state, allow_expired, search_all);
        if let (Some(trusted), true) = (&accepted, from_state && !resign) {
            // A trusted timestamp or snapshot the root's keys do not sign is set aside (as
            // python-tuf does): the client may then go on from the repository alone. What it
            // ends up trusting must be the fixed repository's own signed files.
            let fixed_ts = fixture.files["metadata/timestamp.json"].as_slice();
            let fixed_snap = fixture.files[&fixture.snapshot_path].as_slice();
            let ts = trusted
                .timestamp
                .as_deref()
                .expect("a loaded client has a timestamp");
            let snap = trusted
                .snapshot
                .as_deref()
                .expect("a loaded client has a snapshot");
            let data_kept = canonical_signed(ts) == canonical_signed(data)
                || canonical_signed(snap) == canonical_signed(data);
            if data_kept {
                let fixed =
                    fixed.expect("no file to compare with: this slot can never be accepted");
                assert_eq!(
                    canonical_signed(data),
                    canonical_signed(fixed),
                    "a trusted document not signed by the fixed keys was kept"
                );
            }
            assert_eq!(
                canonical_signed(ts),
                canonical_signed(fixed_ts),
                "timestamp trusted"
            );
            assert_eq!(
                canonical_signed(snap),
                canonical_signed(fixed_snap),
                "snapshot trusted"
            );
        } else if accepted.is_some() && !resign {
            // Only the fixed repository's own signed content carries valid signatures.
            let fixed = fixed.expect("no file to compare with: this slot can never be accepted");
            assert_eq!(
                canonical_signed(data),
                canonical_signed(fixed),
                "a document not signed by the fixed keys was accepted"
            );
        }
    }
});
