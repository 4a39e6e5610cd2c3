//! The publisher's side: an archive folder, its keys, and the signed TUF release made from it.
//!
//! [`Archive`] ties the pieces together: `init` (config, keys, the first root), `add` (the ingest
//! of the `archive` crate), `withdraw`, `release` (documents → records → targets → signed
//! metadata), `refresh_timestamp` and `rotate_key` (`rotate`). The TUF work itself is the
//! `trust` crate's.
//!
//! An archive folder:
//! ```text
//! samizdat.toml      configuration          keys/        PKCS#8 ed25519 keys (0600)
//! root.json          the trusted root to hand to mirrors and readers
//! catalog.sqlite     documents, sources, withdrawals, published records
//! store/             content-addressed blobs
//! release/           the TUF repository mirrors copy: metadata/ and targets/
//! ```
//!
//! **Atomic releases.** Every file a release writes has a new name (consistent snapshots:
//! `N.snapshot.json`, `targets/<sha256>.<name>`), except `metadata/timestamp.json`, which is
//! replaced last, by rename, after everything it points to is durable. Killed at any moment, the
//! previous release stays complete and valid; the leftovers of the dead run are unreferenced and
//! overwritten or reused by the next one. A release never modifies a file of an earlier release.

pub mod config;
mod plan;
pub mod records;
mod rotate;
pub mod site;
pub mod vouch;

use archive::catalog::Tombstone;
use archive::files::{Durability, FolderLock, LockError, lock_folder, write_atomic};
use archive::ingest::{self, AddFlags, AddOptions, Progress, Summary};
use archive::layout;
use archive::{Catalog, DocId, Store};
use config::{Config, ExpiryDays, KeyFiles};
use sha2::{Digest, Sha256};
use site::{Site, SiteInput};
use std::fs;
use std::path::{Path, PathBuf};
use time::{Duration, OffsetDateTime};
use trust::editor::{self, Expiries, RootSpec, Signers};
use trust::keys::SigningKey;

pub use config::CONFIG_FILE;
pub use rotate::{KeyRole, Rotation};

/// What went wrong, coarsely enough for a caller to decide what to do about it (the binary's
/// exit code); the message says which file, key or document, and what was expected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A file or folder could not be read or written.
    Io,
    /// The caller asked for something unusable: a bad option, mirror URL, key role or id, a
    /// withdrawal without a reason, a new archive in a folder that is not empty.
    InvalidInput,
    /// Another samizdat command is working on this archive.
    Locked,
    /// A key the command needs is not on this machine (an offline root key, say).
    KeyMissing,
    /// The catalog could not be read or written, or holds what it should not.
    Catalog,
    /// Reading the documents to add failed as a whole (a bad file is a failure of its own,
    /// never an error).
    Ingest,
    /// The reader site could not be made.
    Site,
    /// Signing or checking TUF metadata failed: the trust crate's kind says how.
    Trust(trust::ErrorKind),
    /// The archive's files disagree with each other or with their format (a root without a
    /// role, an unreadable `timestamp.json`, a release that was not planned).
    Inconsistent,
}

common::kinded_error! {
    /// An error of this crate: a kind and a message without trailing period.
    pub struct Error(ErrorKind);
}

impl From<archive::Error> for Error {
    fn from(e: archive::Error) -> Self {
        let kind = match e.kind() {
            archive::ErrorKind::Catalog => ErrorKind::Catalog,
            archive::ErrorKind::Io => ErrorKind::Io,
            // A document to withdraw that is not there: the caller's input.
            archive::ErrorKind::NotFound => ErrorKind::InvalidInput,
            _ => ErrorKind::Ingest,
        };
        Error::new(kind, e.message())
    }
}

impl From<trust::Error> for Error {
    fn from(e: trust::Error) -> Self {
        Error::new(ErrorKind::Trust(e.kind()), e.message())
    }
}

impl From<archive::files::WriteError> for Error {
    fn from(e: archive::files::WriteError) -> Self {
        Error::new(ErrorKind::Io, e.to_string())
    }
}

pub type Result<T> = std::result::Result<T, Error>;

fn io_err(path: &Path, what: &str) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.display().to_string();
    let what = what.to_owned();
    move |e| Error::new(ErrorKind::Io, format!("{path}: {what}: {e}"))
}

/// How `init` sets up the keys.
#[derive(Debug, Clone)]
pub struct InitOptions {
    pub title: String,
    /// Number of root keys and how many must sign (default 1 of 1; 2 of 3 for a group).
    pub root_keys: u32,
    pub root_threshold: u32,
    /// Number of timestamp keys, one per co-publisher; any one can refresh the timestamp.
    pub timestamp_keys: u32,
    pub expiry: ExpiryDays,
    /// Base URLs of the mirrors the reader site lists (and its service worker fails over to).
    pub mirrors: Vec<String>,
}

impl Default for InitOptions {
    fn default() -> Self {
        InitOptions {
            title: "samizdat archive".into(),
            root_keys: 1,
            root_threshold: 1,
            timestamp_keys: 1,
            expiry: ExpiryDays::default(),
            mirrors: Vec::new(),
        }
    }
}

/// What a release did, for the summary line and the benchmarks.
#[derive(Debug, Clone)]
pub struct ReleaseReport {
    pub version: u64,
    pub documents: usize,
    pub withdrawn: usize,
    pub targets: usize,
    pub records_rebuilt: usize,
    pub files_placed: usize,
    pub bins_total: usize,
    pub bins_written: usize,
    /// Made from the changes since the committed release (else from every document).
    pub from_changes: bool,
}

/// Phases of a release at which a test can stop the process (`SAMIZDAT_PAUSE_AT=<phase>`), to kill
/// it there. Not a feature: a hook for crash tests, harmless when unset.
fn pause_point(phase: &str) {
    if std::env::var("SAMIZDAT_PAUSE_AT").ok().as_deref() == Some(phase) {
        eprintln!("samizdat: paused at {phase}");
        std::thread::sleep(std::time::Duration::from_secs(120));
    }
}

pub struct Archive {
    dir: PathBuf,
    config: Config,
    catalog: Catalog,
    store: Store,
    _lock: FolderLock,
}

impl Archive {
    /// Creates a new archive in `dir` (which must not exist or be empty): configuration, keys, and
    /// the first signed root. Built in a temporary sibling folder and renamed into place, so an
    /// interrupted `init` leaves nothing half made.
    pub fn init(dir: &Path, options: &InitOptions) -> Result<PathBuf> {
        if options.root_threshold == 0 || options.root_threshold > options.root_keys {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                format!(
                    "root threshold {} must be between 1 and the number of root keys ({})",
                    options.root_threshold, options.root_keys
                ),
            ));
        }
        if options.timestamp_keys == 0 {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "at least one timestamp key is needed",
            ));
        }
        if dir.exists() {
            let empty = fs::read_dir(dir)
                .map_err(io_err(dir, "cannot read"))?
                .next()
                .is_none();
            if !empty {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!(
                        "{}: exists and is not empty; `init` makes a new archive in a new folder",
                        dir.display()
                    ),
                ));
            }
        }
        let parent = match dir.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
            _ => PathBuf::from("."),
        };
        fs::create_dir_all(&parent).map_err(io_err(&parent, "cannot create"))?;
        let staging = tempfile::Builder::new()
            .prefix(".samizdat-init-")
            .tempdir_in(&parent)
            .map_err(io_err(&parent, "cannot create a temporary folder"))?;
        let root = staging.path();
        let keys_dir = root.join("keys");
        fs::create_dir(&keys_dir).map_err(io_err(&keys_dir, "cannot create"))?;
        set_mode(&keys_dir, 0o700)?;

        let new_key = |name: &str| -> Result<(String, SigningKey)> {
            let key = SigningKey::generate();
            let rel = format!("keys/{name}.der");
            key.write_new(&root.join(&rel))?;
            Ok((rel, key))
        };
        let mut root_files = Vec::new();
        let mut root_signers = Vec::new();
        for n in 1..=options.root_keys {
            let (rel, key) = new_key(&format!("root-{n}"))?;
            root_files.push(rel);
            root_signers.push(key);
        }
        let (targets_file, targets_key) = new_key("targets")?;
        let (snapshot_file, snapshot_key) = new_key("snapshot")?;
        let mut timestamp_files = Vec::new();
        let mut timestamp_public = Vec::new();
        for n in 1..=options.timestamp_keys {
            let (rel, key) = new_key(&format!("timestamp-{n}"))?;
            timestamp_files.push(rel);
            timestamp_public.push(key.public());
        }
        let spec = RootSpec {
            root_keys: root_signers.iter().map(SigningKey::public).collect(),
            root_threshold: options.root_threshold,
            targets_keys: vec![targets_key.public()],
            snapshot_keys: vec![snapshot_key.public()],
            timestamp_keys: timestamp_public,
            timestamp_threshold: 1,
        };
        let expires = OffsetDateTime::now_utc() + Duration::days(options.expiry.root.into());
        let signers: Vec<&SigningKey> = root_signers.iter().collect();
        let root_json = editor::sign_root(&spec, 1, expires, &signers)?;
        let metadata = root.join("release/metadata");
        fs::create_dir_all(&metadata).map_err(io_err(&metadata, "cannot create"))?;
        fs::create_dir_all(root.join("release/targets"))
            .map_err(io_err(&metadata, "cannot create"))?;
        write_atomic(&metadata.join("1.root.json"), &root_json, Durability::Fsync)?;
        write_atomic(&root.join("root.json"), &root_json, Durability::Fsync)?;
        let config = Config {
            title: options.title.clone(),
            expiry: options.expiry.clone(),
            keys: KeyFiles {
                root: root_files,
                root_threshold: options.root_threshold,
                targets: targets_file,
                snapshot: snapshot_file,
                timestamp: timestamp_files,
            },
            mirrors: checked_mirrors(&options.mirrors)?,
            directories: Vec::new(),
        };
        write_atomic(
            &root.join(CONFIG_FILE),
            config.to_toml().as_bytes(),
            Durability::Fsync,
        )?;
        Catalog::open(&root.join("catalog.sqlite"))?;
        Store::open(&root.join("store")).map_err(io_err(&root.join("store"), "cannot create"))?;
        if dir.exists() {
            fs::remove_dir(dir).map_err(io_err(dir, "cannot replace the empty folder"))?;
        }
        let staged = staging.keep();
        fs::rename(&staged, dir).map_err(io_err(dir, "cannot create"))?;
        sync_dir(&parent)?;
        Ok(dir.join("root.json"))
    }

    /// Opens an archive, taking its lock: one `add`, `release` or `withdraw` at a time.
    pub fn open(dir: &Path) -> Result<Archive> {
        let config = Config::read(dir)?;
        let lock_path = dir.join(".lock");
        let lock = lock_folder(&lock_path).map_err(|e| match e {
            LockError::Held => Error::new(
                ErrorKind::Locked,
                format!(
                    "{}: another samizdat command is working on this archive",
                    dir.display()
                ),
            ),
            LockError::Io(e) => io_err(&lock_path, "cannot open the lock file")(e),
        })?;
        let catalog = Catalog::open(&dir.join("catalog.sqlite"))?;
        let store =
            Store::open(&dir.join("store")).map_err(io_err(&dir.join("store"), "cannot open"))?;
        Ok(Archive {
            dir: dir.to_owned(),
            config,
            catalog,
            store,
            _lock: lock,
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Replaces the list of mirrors the reader site names (from the next release on).
    pub fn set_mirrors(&mut self, mirrors: &[String]) -> Result<()> {
        self.config.mirrors = checked_mirrors(mirrors)?;
        write_atomic(
            &self.dir.join(CONFIG_FILE),
            self.config.to_toml().as_bytes(),
            Durability::Fsync,
        )?;
        Ok(())
    }

    /// Vouches for a directory from the next release on: its `root.json` at `root` (kept by
    /// this path: relative to the archive folder, or absolute), its repository's base `url`,
    /// and optionally its `name`; recorded in `samizdat.toml` as `[[directories]]`, replacing
    /// an entry for the same root file. Refused, naming the file, unless `root` is a TUF root
    /// signed by its own root keys. Returns the entries the next release will publish.
    pub fn vouch(
        &mut self,
        root: &Path,
        url: &str,
        name: Option<&str>,
    ) -> Result<Vec<vouch::Entry>> {
        let root = root
            .to_str()
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::InvalidInput,
                    format!("{}: not a UTF-8 path", root.display()),
                )
            })?
            .to_owned();
        let mut directories = self.config.directories.clone();
        directories.retain(|d| d.root != root);
        directories.push(config::Vouched {
            root,
            url: url.to_owned(),
            name: name.map(str::to_owned),
        });
        let entries = vouch::entries(&self.dir, &directories, OffsetDateTime::now_utc())?;
        self.config.directories = directories;
        write_atomic(
            &self.dir.join(CONFIG_FILE),
            self.config.to_toml().as_bytes(),
            Durability::Fsync,
        )?;
        Ok(entries)
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn catalog(&self) -> &Catalog {
        &self.catalog
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn metadata_dir(&self) -> PathBuf {
        self.dir.join("release/metadata")
    }

    pub fn add(
        &mut self,
        paths: &[PathBuf],
        read: archive::read::ReadOptions,
        progress: &dyn Progress,
    ) -> Result<Summary> {
        self.add_with(paths, read, AddFlags::default(), progress)
    }

    /// As [`Archive::add`], with the publisher's choices (see [`AddFlags`]). Either way the
    /// report is written to `ARCHIVE/reports/` ([`Summary::report`]).
    pub fn add_with(
        &mut self,
        paths: &[PathBuf],
        read: archive::read::ReadOptions,
        flags: AddFlags,
        progress: &dyn Progress,
    ) -> Result<Summary> {
        let options = AddOptions {
            read,
            archive_dir: self.dir.clone(),
            flags,
        };
        Ok(ingest::add(
            &mut self.catalog,
            &self.store,
            paths,
            &options,
            progress,
        )?)
    }

    pub fn withdraw(&mut self, id: &str, reason: &str) -> Result<()> {
        let id = DocId::new(id).map_err(|e| Error::new(ErrorKind::InvalidInput, e))?;
        if reason.trim().is_empty() {
            return Err(Error::new(
                ErrorKind::InvalidInput,
                "a withdrawal needs a reason (--reason)",
            ));
        }
        let now = OffsetDateTime::now_utc()
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        Ok(self.catalog.withdraw(&id, reason.trim(), &now)?)
    }

    fn key(&self, rel: &str) -> Result<SigningKey> {
        Ok(SigningKey::read(&self.dir.join(rel))?)
    }

    fn expiries(&self) -> Expiries {
        let e = &self.config.expiry;
        Expiries {
            targets: Duration::days(e.targets.into()),
            snapshot: Duration::days(e.snapshot.into()),
            timestamp: Duration::days(e.timestamp.into()),
        }
    }

    /// The newest root version in `release/metadata`.
    fn root_version(&self) -> Result<u64> {
        let dir = self.metadata_dir();
        let mut newest = 0;
        for entry in fs::read_dir(&dir).map_err(io_err(&dir, "cannot read"))? {
            let name = entry.map_err(io_err(&dir, "cannot read"))?.file_name();
            let name = name.to_string_lossy();
            if let Some(v) = name
                .strip_suffix(".root.json")
                .and_then(|v| v.parse::<u64>().ok())
            {
                newest = newest.max(v);
            }
        }
        if newest == 0 {
            return Err(Error::new(
                ErrorKind::Inconsistent,
                format!("{}: no N.root.json", dir.display()),
            ));
        }
        Ok(newest)
    }

    /// Makes a new release: records of changed documents, target files placed, metadata signed,
    /// and `timestamp.json` replaced last.
    pub fn release(&mut self, site: &dyn Site, progress: &dyn Progress) -> Result<ReleaseReport> {
        let now = OffsetDateTime::now_utc();
        let mut phases = archive::files::Phases::from_env();
        // The reader site first, on its own: it holds every document while it builds, and
        // what follows holds every catalog row; one after the other, not both at once.
        let site_targets = {
            let docs;
            let site_links;
            let site_cache = self.dir.join("cache/site");
            let (documents, links): (&[archive::Document], _) = if site.wants_documents() {
                let mut all = self.catalog.documents()?;
                records::sort_by_date(&mut all);
                site_links = records::links(&all)?;
                docs = all;
                (&docs, &site_links)
            } else {
                site_links = std::collections::HashMap::new();
                (&[], &site_links)
            };
            let site_files = site.build(&SiteInput {
                title: &self.config.title,
                documents,
                links,
                store: &self.store,
                mirrors: &self.config.mirrors,
                cache_dir: &site_cache,
                progress,
            })?;
            let site_targets: Vec<(String, archive::Blob)> = site_files
                .into_iter()
                .map(|file| {
                    let name = layout::target_of_plain_path(&format!("/{}", file.path))
                        .ok_or_else(|| {
                            Error::new(
                                ErrorKind::Site,
                                format!("site file {:?}: not a site path", file.path),
                            )
                        })?;
                    Ok((name, file.blob))
                })
                .collect::<Result<_>>()?;
            phases.mark("site");
            site_targets
        };
        let tombstones = self.catalog.tombstones()?;
        let withdrawn = tombstones_json(&tombstones)?;
        let mut extra: Vec<(String, archive::Blob)> = vec![(
            layout::WITHDRAWN_TARGET.to_owned(),
            self.store
                .put(&withdrawn)
                .map_err(io_err(self.store.dir(), "cannot write"))?,
        )];
        // The directories vouched for: their roots and the index.
        for (name, bytes) in vouch::targets(&self.dir, &self.config.directories, now)? {
            let blob = self
                .store
                .put(&bytes)
                .map_err(io_err(self.store.dir(), "cannot write"))?;
            extra.push((name, blob));
        }
        extra.extend(site_targets);
        let released_extra = self.catalog.released_extra()?;
        // How they differ from the committed release's: what the editor changes and, once
        // committed, what the catalog records.
        let extra_changes = plan::extra_changes(&extra, &released_extra);
        let upto = self.catalog.max_gen()?;
        let metadata_dir = self.metadata_dir();

        // 1. Records rebuilt where their inputs changed, and the targets: the changes since the
        // committed release when the catalog describes it, else every target.
        let committed = editor::committed(&metadata_dir)?.map(|(_, snapshot)| snapshot);
        let from = match self.catalog.released()? {
            Some(released)
                if Some(released.version) == committed
                    && std::env::var_os("SAMIZDAT_FULL_RELEASE").is_none() =>
            {
                Some(released.generation)
            }
            _ => None,
        };
        let mut work = match from {
            Some(after) => plan::changes(
                &self.catalog,
                &self.store,
                after,
                upto,
                &extra,
                &extra_changes,
                progress,
            )?,
            None => plan::all(&self.catalog, &self.store, &extra, progress)?,
        };
        pause_point("records");
        phases.mark("records");

        // 2. Metadata: changed bins, snapshot (the timestamp is written last).
        let signers_keys = (
            self.key(&self.config.keys.targets)?,
            self.key(&self.config.keys.snapshot)?,
            self.timestamp_key(None)?,
        );
        let signers = Signers {
            targets: &signers_keys.0,
            snapshot: &signers_keys.1,
            timestamp: &signers_keys.2,
        };
        let root_version = self.root_version()?;
        let expiries = self.expiries();
        // `None`: the changes call for another bin layout.
        let sign = |targets: plan::Targets| -> Result<Option<editor::ReleaseFiles>> {
            Ok(match targets {
                plan::Targets::All(entries) => Some(editor::build_release(
                    &metadata_dir,
                    root_version,
                    entries,
                    &signers,
                    &expiries,
                    now,
                )?),
                plan::Targets::Changes {
                    changes,
                    main_count,
                } => editor::build_release_changes(
                    &metadata_dir,
                    root_version,
                    changes,
                    main_count,
                    &signers,
                    &expiries,
                    now,
                )?,
            })
        };
        let take = |work: &mut plan::Work| {
            std::mem::replace(&mut work.targets, plan::Targets::All(Vec::new()))
        };
        let mut from_changes = from.is_some();
        let files = match sign(take(&mut work))? {
            Some(files) => files,
            // The bin layout changes: every target, every bin.
            None => {
                from_changes = false;
                work = plan::all(&self.catalog, &self.store, &extra, progress)?;
                sign(take(&mut work))?.ok_or_else(|| {
                    Error::new(
                        ErrorKind::Inconsistent,
                        "a release of every target was not planned",
                    )
                })?
            }
        };
        phases.mark("editor");

        // 3. Files: targets linked into place, metadata written; then one syncfs makes all of
        // it (and the records built above) durable before the timestamp refers to it.
        let targets_dir = self.dir.join("release/targets");
        fs::create_dir_all(&targets_dir).map_err(io_err(&targets_dir, "cannot create"))?;
        // Many (a first release, or a catalog from before `placed` was kept): one directory
        // listing rather than a failed link per file already there.
        let mut present = std::collections::HashSet::new();
        if work.to_place.len() > PLACE_LISTING_THRESHOLD {
            for entry in fs::read_dir(&targets_dir).map_err(io_err(&targets_dir, "cannot read"))? {
                let entry = entry.map_err(io_err(&targets_dir, "cannot read"))?;
                present.insert(entry.file_name());
            }
        }
        let mut files_placed = 0;
        for (sha256, file_name) in &work.to_place {
            if !present.contains(std::ffi::OsStr::new(file_name))
                && place(&self.store.path_of(sha256), &targets_dir.join(file_name))?
            {
                files_placed += 1;
            }
        }
        pause_point("targets");
        phases.mark("targets placed");
        // Versioned files are new names nothing points to yet: written without an fsync each.
        for (name, bytes) in &files.versioned {
            write_atomic(&metadata_dir.join(name), bytes, Durability::NoFsync)?;
        }
        self.store
            .sync()
            .map_err(io_err(&metadata_dir, "cannot sync"))?;
        pause_point("metadata");
        phases.mark("metadata written, synced");

        // 4. The commit point.
        write_atomic(
            &metadata_dir.join("timestamp.json"),
            &files.timestamp,
            Durability::Fsync,
        )?;
        pause_point("committed");

        // 5. The catalog, to describe the committed release. Killed before this lands, the
        // catalog describes an older release than the committed one, and the next release is a
        // full one.
        self.catalog.transaction(|tx| {
            for update in &work.updates {
                match &update.rebuilt {
                    Some(state) => {
                        let id = DocId::new(&update.id)
                            .map_err(|e| archive::Error::new(archive::ErrorKind::Catalog, e))?;
                        tx.put_record_built_from(
                            &id,
                            state,
                            Some((&update.doc_sha, &update.links)),
                        )?;
                    }
                    None => tx.set_record_built_from(&update.id, &update.doc_sha, &update.links)?,
                }
                if update.set_doc_sha {
                    tx.set_doc_sha(&update.id, &update.doc_sha)?;
                }
                tx.set_released(&update.id, &update.original)?;
            }
            for (name, blob) in &extra_changes {
                tx.set_released_extra(name, *blob)?;
            }
            tx.set_released_state(archive::catalog::Released {
                version: files.snapshot_version,
                generation: upto,
            })
        })?;
        phases.mark("timestamp, catalog");
        Ok(ReleaseReport {
            version: files.snapshot_version,
            documents: work.documents,
            withdrawn: tombstones.len(),
            targets: work.targets_total,
            records_rebuilt: work.rebuilt,
            files_placed,
            bins_total: files.bins_total + files.original_bins_total,
            bins_written: files.bins_written + files.original_bins_written,
            from_changes,
        })
    }

    /// The timestamp key to sign with: the given file, else the first configured one present.
    fn timestamp_key(&self, given: Option<&Path>) -> Result<SigningKey> {
        if let Some(path) = given {
            return Ok(SigningKey::read(path)?);
        }
        for rel in &self.config.keys.timestamp {
            if self.dir.join(rel).exists() {
                return self.key(rel);
            }
        }
        Err(Error::new(
            ErrorKind::KeyMissing,
            format!(
                "{}: no timestamp key on this machine; pass --key FILE",
                self.dir.display()
            ),
        ))
    }

    /// Re-signs `timestamp.json` with a fresh expiry, pointing at the same snapshot.
    pub fn refresh_timestamp(&self, key: Option<&Path>) -> Result<u64> {
        refresh_timestamp(
            &self.metadata_dir(),
            &self.timestamp_key(key)?,
            Duration::days(self.config.expiry.timestamp.into()),
        )
    }

    /// Copies the root key(s) to `out` (a folder) and, with `remove`, deletes them from the
    /// archive: root is then offline, needed only to rotate keys or renew the root.
    pub fn export_root_keys(&self, out: &Path, remove: bool) -> Result<Vec<PathBuf>> {
        fs::create_dir_all(out).map_err(io_err(out, "cannot create"))?;
        let mut written = Vec::new();
        for rel in &self.config.keys.root {
            let from = self.dir.join(rel);
            if !from.exists() {
                continue;
            }
            let key = SigningKey::read(&from)?;
            let name = Path::new(rel).file_name().unwrap_or_default();
            let to = out.join(name);
            key.write_new(&to)?;
            // Read back before deleting anything: the copy must be the same key.
            if SigningKey::read(&to)?.public().key_id() != key.public().key_id() {
                return Err(Error::new(
                    ErrorKind::Io,
                    format!("{}: the exported key does not read back", to.display()),
                ));
            }
            written.push(to);
        }
        if written.is_empty() {
            return Err(Error::new(
                ErrorKind::KeyMissing,
                format!("{}: no root key on this machine", self.dir.display()),
            ));
        }
        if remove {
            for rel in &self.config.keys.root {
                let from = self.dir.join(rel);
                if from.exists() {
                    fs::remove_file(&from).map_err(io_err(&from, "cannot remove"))?;
                }
            }
            sync_dir(&self.dir.join("keys"))?;
        }
        Ok(written)
    }
}

/// Re-signs the timestamp of the release in `metadata_dir` (what a co-publisher holding only a
/// timestamp key and a copy of the release runs). Returns the new timestamp version.
pub fn refresh_timestamp(metadata_dir: &Path, key: &SigningKey, lifetime: Duration) -> Result<u64> {
    let bytes = editor::refresh_timestamp(metadata_dir, key, lifetime, OffsetDateTime::now_utc())?;
    write_atomic(
        &metadata_dir.join("timestamp.json"),
        &bytes,
        Durability::Fsync,
    )?;
    let value: serde_json::Value = serde_json::from_slice(&bytes)
        .map_err(|e| Error::new(ErrorKind::Inconsistent, format!("timestamp.json: {e}")))?;
    Ok(value["signed"]["version"].as_u64().unwrap_or_default())
}

fn tombstones_json(tombstones: &[Tombstone]) -> Result<Vec<u8>> {
    serde_json::to_vec(&serde_json::json!({ "withdrawn": tombstones })).map_err(|e| {
        Error::new(
            ErrorKind::Inconsistent,
            format!("cannot encode the tombstones: {e}"),
        )
    })
}

/// Puts a stored blob at a target path: a hard link (stored once on disk), else a copy; either way
/// the name appears only once the file is complete. A name already there is that same content
/// (placed by an earlier run): `false`.
fn place(blob: &Path, target: &Path) -> Result<bool> {
    match fs::hard_link(blob, target) {
        Ok(()) => return Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => return Ok(false),
        Err(_) => {}
    }
    // Copied as a stream: an original may be larger than memory.
    common::files::copy_atomic(blob, target, Durability::NoFsync)?;
    Ok(true)
}

/// Mirror base URLs as the site needs them: http(s), ending in `/`.
fn checked_mirrors(mirrors: &[String]) -> Result<Vec<String>> {
    mirrors
        .iter()
        .map(|m| {
            let m = m.trim();
            if !(m.starts_with("https://") || m.starts_with("http://"))
                || m.contains(['"', '<', '>', ' ', '\\'])
            {
                return Err(Error::new(
                    ErrorKind::InvalidInput,
                    format!("mirror {m:?}: expected an http:// or https:// base URL"),
                ));
            }
            Ok(if m.ends_with('/') {
                m.to_owned()
            } else {
                format!("{m}/")
            })
        })
        .collect()
}

/// Above this many files to place, `release` lists `release/targets` once instead of trying
/// each link.
const PLACE_LISTING_THRESHOLD: usize = 20_000;

fn sync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(io_err(dir, "cannot sync"))
}

fn set_mode(path: &Path, mode: u32) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .map_err(io_err(path, "cannot set mode"))
}

/// SHA-256 of bytes, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_carry_a_kind_a_caller_can_match_and_the_message_it_always_had() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("archive");
        let bad = InitOptions {
            timestamp_keys: 0,
            ..InitOptions::default()
        };
        let error = Archive::init(&dir, &bad).expect_err("no timestamp key");
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        assert_eq!(error.to_string(), "at least one timestamp key is needed");

        Archive::init(&dir, &InitOptions::default()).expect("init");
        let mut archive = Archive::open(&dir).expect("open");
        let error = Archive::open(&dir).err().expect("locked");
        assert_eq!(error.kind(), ErrorKind::Locked);
        assert!(
            error
                .message()
                .ends_with("another samizdat command is working on this archive")
        );
        let error = archive.withdraw("x", " ").expect_err("no reason");
        assert_eq!(error.kind(), ErrorKind::InvalidInput);
        let error = archive.withdraw("_x", "why").expect_err("bad id");
        assert_eq!(error.kind(), ErrorKind::InvalidInput);

        let error = Archive::open(&tmp.path().join("missing"))
            .err()
            .expect("no archive");
        assert_eq!(error.kind(), ErrorKind::Io);
    }
}
