//! `key rotate`: a new key for one top-level role, a new root listing it, and the release
//! signed again with it.
//!
//! The new root (version N+1) is signed by a threshold of the current root's keys and, when
//! root itself rotates, by a threshold of the new root keys too (a client checks both, TUF
//! 5.3.4). The root keys may be offline (`key export-root --remove`): they are then read from
//! the folder given, and a clear error says so when too few are found.
//!
//! Order, so that a crash leaves something a later command completes: the new key files, then
//! `release/metadata/N+1.root.json`, then the configuration naming the new keys, then the
//! release signed again (its `timestamp.json` last), then `root.json` (the root handed to new
//! mirrors and readers), and only then the old key files are deleted. Killed after the root is
//! written, `samizdat release` (or `timestamp`, for a timestamp key) signs with the new keys.

use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use time::{Duration, OffsetDateTime};
use trust::editor::{self, RootSpec, Signers};
use trust::keys::{PublicKey, SigningKey};
use trust::schema::{Root, Signed};

use crate::{Archive, CONFIG_FILE, Error, ErrorKind, Result, io_err, sync_dir};
use archive::files::{Durability, write_atomic};

/// A top-level role whose key `key rotate` replaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyRole {
    Root,
    Targets,
    Snapshot,
    Timestamp,
}

impl KeyRole {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyRole::Root => "root",
            KeyRole::Targets => "targets",
            KeyRole::Snapshot => "snapshot",
            KeyRole::Timestamp => "timestamp",
        }
    }
}

impl FromStr for KeyRole {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self> {
        match text {
            "root" => Ok(KeyRole::Root),
            "targets" => Ok(KeyRole::Targets),
            "snapshot" => Ok(KeyRole::Snapshot),
            "timestamp" => Ok(KeyRole::Timestamp),
            other => Err(Error::new(
                ErrorKind::InvalidInput,
                format!("role {other:?}: expected root, targets, snapshot or timestamp"),
            )),
        }
    }
}

/// What a rotation did.
#[derive(Debug, Clone)]
pub struct Rotation {
    pub role: KeyRole,
    /// The new root's version.
    pub root_version: u64,
    /// The new key files.
    pub new_keys: Vec<PathBuf>,
    /// The old key files deleted from the archive.
    pub removed: Vec<PathBuf>,
    /// The release signed again (its snapshot version), if there was a release.
    pub release: Option<u64>,
}

impl Archive {
    /// Replaces the key of `role` (all root keys, for root; the timestamp key on this machine,
    /// for timestamp: co-publishers' keep theirs) and signs a new root and the release with it.
    /// The current root keys are looked for in the archive and in `root_keys_dir` (where
    /// `key export-root` put them).
    pub fn rotate_key(&mut self, role: KeyRole, root_keys_dir: Option<&Path>) -> Result<Rotation> {
        let metadata_dir = self.metadata_dir();
        let version = self.root_version()?;
        let root_path = metadata_dir.join(format!("{version}.root.json"));
        let bytes = fs::read(&root_path).map_err(io_err(&root_path, "cannot read"))?;
        let current: Signed<Root> = serde_json::from_slice(&bytes).map_err(|e| {
            Error::new(
                ErrorKind::Inconsistent,
                format!("{}: {e}", root_path.display()),
            )
        })?;
        let current = current.signed;
        let new_version = version + 1;
        let old_signers = self.current_root_signers(&current, root_keys_dir)?;

        // The new keys and the files they go to (new names: nothing is overwritten).
        let keys = &self.config.keys;
        let new_file = |name: &str| format!("keys/{name}-v{new_version}.der");
        let (replaced, new_files): (Vec<String>, Vec<String>) = match role {
            KeyRole::Root => (
                keys.root.clone(),
                (1..=role_public(&current, "root")?.len())
                    .map(|n| new_file(&format!("root-{n}")))
                    .collect(),
            ),
            KeyRole::Targets => (vec![keys.targets.clone()], vec![new_file("targets")]),
            KeyRole::Snapshot => (vec![keys.snapshot.clone()], vec![new_file("snapshot")]),
            KeyRole::Timestamp => {
                let Some((index, file)) = keys
                    .timestamp
                    .iter()
                    .enumerate()
                    .find(|(_, file)| self.dir.join(file).exists())
                else {
                    return Err(Error::new(
                        ErrorKind::KeyMissing,
                        format!(
                            "{}: no timestamp key on this machine to replace",
                            self.dir.display()
                        ),
                    ));
                };
                (
                    vec![file.clone()],
                    vec![new_file(&format!("timestamp-{}", index + 1))],
                )
            }
        };
        let new_keys: Vec<SigningKey> = new_files.iter().map(|_| SigningKey::generate()).collect();
        let new_public: Vec<PublicKey> = new_keys.iter().map(SigningKey::public).collect();

        // The new root: the current one with the role's keys replaced.
        let mut spec = RootSpec {
            root_keys: role_public(&current, "root")?,
            root_threshold: role_threshold(&current, "root")?,
            targets_keys: role_public(&current, "targets")?,
            snapshot_keys: role_public(&current, "snapshot")?,
            timestamp_keys: role_public(&current, "timestamp")?,
            timestamp_threshold: role_threshold(&current, "timestamp")?,
        };
        match role {
            KeyRole::Root => spec.root_keys = new_public.clone(),
            KeyRole::Targets => spec.targets_keys = new_public.clone(),
            KeyRole::Snapshot => spec.snapshot_keys = new_public.clone(),
            KeyRole::Timestamp => {
                let old = self.key(&replaced[0])?.public().key_id();
                spec.timestamp_keys.retain(|key| key.key_id() != old);
                spec.timestamp_keys.extend(new_public.iter().cloned());
            }
        }
        let mut signers: Vec<&SigningKey> = old_signers.iter().collect();
        if role == KeyRole::Root {
            signers.extend(new_keys.iter());
        }
        let expires = OffsetDateTime::now_utc() + Duration::days(self.config.expiry.root.into());
        let new_root = editor::sign_root(&spec, new_version, expires, &signers)?;
        check_root_step(&current, &new_root, new_version)?;

        // Written in the order the module documentation gives.
        for (file, key) in new_files.iter().zip(&new_keys) {
            key.write_new(&self.dir.join(file))?;
        }
        sync_dir(&self.dir.join("keys"))?;
        write_atomic(
            &metadata_dir.join(format!("{new_version}.root.json")),
            &new_root,
            Durability::Fsync,
        )?;
        match role {
            KeyRole::Root => self.config.keys.root = new_files.clone(),
            KeyRole::Targets => self.config.keys.targets = new_files[0].clone(),
            KeyRole::Snapshot => self.config.keys.snapshot = new_files[0].clone(),
            KeyRole::Timestamp => {
                for file in &mut self.config.keys.timestamp {
                    if *file == replaced[0] {
                        *file = new_files[0].clone();
                    }
                }
            }
        }
        write_atomic(
            &self.dir.join(CONFIG_FILE),
            self.config.to_toml().as_bytes(),
            Durability::Fsync,
        )?;
        let release = self.sign_release_again(new_version)?;
        write_atomic(&self.dir.join("root.json"), &new_root, Durability::Fsync)?;

        let mut removed = Vec::new();
        for file in &replaced {
            let path = self.dir.join(file);
            if path.exists() {
                fs::remove_file(&path).map_err(io_err(&path, "cannot remove"))?;
                removed.push(path);
            }
        }
        sync_dir(&self.dir.join("keys"))?;
        Ok(Rotation {
            role,
            root_version: new_version,
            new_keys: new_files.iter().map(|file| self.dir.join(file)).collect(),
            removed,
            release,
        })
    }

    /// A threshold of `root`'s root keys, from the archive and from `dir`.
    fn current_root_signers(&self, root: &Root, dir: Option<&Path>) -> Result<Vec<SigningKey>> {
        let keyids = &root
            .roles
            .get("root")
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Inconsistent,
                    format!("root version {} has no root role", root.version),
                )
            })?
            .keyids;
        let mut files: Vec<PathBuf> = self
            .config
            .keys
            .root
            .iter()
            .map(|file| self.dir.join(file))
            .filter(|path| path.exists())
            .collect();
        if let Some(dir) = dir {
            for entry in fs::read_dir(dir).map_err(io_err(dir, "cannot read"))? {
                let path = entry.map_err(io_err(dir, "cannot read"))?.path();
                if path.extension().is_some_and(|e| e == "der") {
                    files.push(path);
                }
            }
        }
        let mut signers: Vec<SigningKey> = Vec::new();
        for path in files {
            let key = SigningKey::read(&path)?;
            let id = key.public().key_id();
            if keyids.contains(&id) && !signers.iter().any(|k| k.public().key_id() == id) {
                signers.push(key);
            }
        }
        let threshold = role_threshold(root, "root")?;
        if signers.len() < threshold as usize {
            let hint = match dir {
                Some(dir) => format!("{} holds too few of them", dir.display()),
                None => "the root keys are offline? pass --root-keys DIR, the folder `key export-root` wrote them to".into(),
            };
            return Err(Error::new(
                ErrorKind::KeyMissing,
                format!(
                    "{}: {} of root version {}'s keys found, {threshold} must sign the new root ({hint})",
                    self.dir.display(),
                    signers.len(),
                    root.version
                ),
            ));
        }
        Ok(signers)
    }

    /// Signs the committed release again under root `root_version` with the configured keys;
    /// its snapshot version, or `None` when there is no release yet. The catalog is told, so
    /// that the next release is still made from the changes since.
    fn sign_release_again(&mut self, root_version: u64) -> Result<Option<u64>> {
        let metadata_dir = self.metadata_dir();
        let Some((_, committed)) = editor::committed(&metadata_dir)? else {
            return Ok(None);
        };
        let keys = (
            self.key(&self.config.keys.targets)?,
            self.key(&self.config.keys.snapshot)?,
            self.timestamp_key(None)?,
        );
        let signers = Signers {
            targets: &keys.0,
            snapshot: &keys.1,
            timestamp: &keys.2,
        };
        let files = editor::resign_release(
            &metadata_dir,
            root_version,
            &signers,
            &self.expiries(),
            OffsetDateTime::now_utc(),
        )?;
        files.write_to(&metadata_dir)?;
        if let Some(released) = self.catalog.released()?
            && released.version == committed
        {
            self.catalog.transaction(|tx| {
                tx.set_released_state(archive::catalog::Released {
                    version: files.snapshot_version,
                    generation: released.generation,
                })
            })?;
        }
        Ok(Some(files.snapshot_version))
    }
}

/// The public keys `root` gives `role`, in its order.
fn role_public(root: &Root, role: &str) -> Result<Vec<PublicKey>> {
    let role_keys = root.roles.get(role).ok_or_else(|| {
        Error::new(
            ErrorKind::Inconsistent,
            format!("root version {} has no {role} role", root.version),
        )
    })?;
    role_keys
        .keyids
        .iter()
        .map(|keyid| {
            let key = root.keys.get(keyid).ok_or_else(|| {
                Error::new(
                    ErrorKind::Inconsistent,
                    format!(
                        "root version {}: key {keyid} of {role} is not listed",
                        root.version
                    ),
                )
            })?;
            PublicKey::from_key(key)?.ok_or_else(|| {
                Error::new(
                    ErrorKind::Inconsistent,
                    format!(
                        "root version {}: key {keyid} of {role} is not ed25519",
                        root.version
                    ),
                )
            })
        })
        .collect()
}

fn role_threshold(root: &Root, role: &str) -> Result<u32> {
    root.roles
        .get(role)
        .map(|role_keys| role_keys.threshold)
        .ok_or_else(|| {
            Error::new(
                ErrorKind::Inconsistent,
                format!("root version {} has no {role} role", root.version),
            )
        })
}

/// What a client checks of a new root (5.3.4): a threshold of the current root's keys and of its
/// own sign it. Checked here too, so that a rotation that clients would refuse is never written.
fn check_root_step(current: &Root, new_root: &[u8], version: u64) -> Result<()> {
    let file = format!("{version}.root.json");
    let envelope = trust::verify::Envelope::parse(&file, new_root)?;
    let new: Root = envelope.peek_typed(trust::schema::RoleType::Root)?;
    for root in [current, &new] {
        let role = root.roles.get("root").ok_or_else(|| {
            Error::new(
                ErrorKind::Inconsistent,
                format!("root version {} has no root role", root.version),
            )
        })?;
        envelope.verify_threshold("root", &role.keyids, role.threshold, &root.keys)?;
    }
    Ok(())
}
