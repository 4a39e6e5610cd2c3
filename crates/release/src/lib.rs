//! The publisher's side: an archive folder, its keys, and the signed TUF release made from it.
//!
//! [`Archive`] ties the pieces together: `init` (config, keys, the first root), `add` (the ingest
//! of the `archive` crate), `withdraw`, `release` (documents → records → targets → signed
//! metadata) and `refresh_timestamp`. The TUF work itself is the `trust` crate's.
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
pub mod records;
pub mod site;

use archive::catalog::Tombstone;
use archive::ingest::{self, AddOptions, Progress, Summary};
use archive::layout;
use archive::{Catalog, DocId, Store};
use config::{Config, ExpiryDays, KeyFiles};
use sha2::{Digest, Sha256};
use site::{Site, SiteInput};
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use time::{Duration, OffsetDateTime};
use trust::editor::{self, Expiries, RootSpec, Signers, TargetEntry};
use trust::keys::SigningKey;

pub use config::CONFIG_FILE;

#[derive(Debug)]
pub struct Error(pub String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

macro_rules! impl_from {
    ($($t:ty),*) => {$(
        impl From<$t> for Error {
            fn from(e: $t) -> Self { Error(e.to_string()) }
        }
    )*};
}
impl_from!(
    archive::catalog::CatalogError,
    archive::ingest::IngestError,
    trust::Error
);

impl From<String> for Error {
    fn from(e: String) -> Self {
        Error(e)
    }
}

pub type Result<T> = std::result::Result<T, Error>;

fn io_err(path: &Path, what: &str) -> impl FnOnce(std::io::Error) -> Error {
    let path = path.display().to_string();
    let what = what.to_owned();
    move |e| Error(format!("{path}: {what}: {e}"))
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
    _lock: fs::File,
}

impl Archive {
    /// Creates a new archive in `dir` (which must not exist or be empty): configuration, keys, and
    /// the first signed root. Built in a temporary sibling folder and renamed into place, so an
    /// interrupted `init` leaves nothing half made.
    pub fn init(dir: &Path, options: &InitOptions) -> Result<PathBuf> {
        if options.root_threshold == 0 || options.root_threshold > options.root_keys {
            return Err(Error(format!(
                "root threshold {} must be between 1 and the number of root keys ({})",
                options.root_threshold, options.root_keys
            )));
        }
        if options.timestamp_keys == 0 {
            return Err(Error("at least one timestamp key is needed".into()));
        }
        if dir.exists() {
            let empty = fs::read_dir(dir)
                .map_err(io_err(dir, "cannot read"))?
                .next()
                .is_none();
            if !empty {
                return Err(Error(format!(
                    "{}: exists and is not empty; `init` makes a new archive in a new folder",
                    dir.display()
                )));
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
        write_file(&metadata.join("1.root.json"), &root_json)?;
        write_file(&root.join("root.json"), &root_json)?;
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
        };
        write_file(&root.join(CONFIG_FILE), config.to_toml().as_bytes())?;
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
        let lock = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(io_err(&lock_path, "cannot open the lock file"))?;
        lock.try_lock().map_err(|_| {
            Error(format!(
                "{}: another samizdat command is working on this archive",
                dir.display()
            ))
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
        write_file(
            &self.dir.join(CONFIG_FILE),
            self.config.to_toml().as_bytes(),
        )
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
        let options = AddOptions {
            read,
            archive_dir: self.dir.clone(),
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
        let id = DocId::new(id)?;
        if reason.trim().is_empty() {
            return Err(Error("a withdrawal needs a reason (--reason)".into()));
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
            return Err(Error(format!("{}: no N.root.json", dir.display())));
        }
        Ok(newest)
    }

    /// Makes a new release: records of changed documents, target files placed, metadata signed,
    /// and `timestamp.json` replaced last.
    pub fn release(&mut self, site: &dyn Site, progress: &dyn Progress) -> Result<ReleaseReport> {
        use rayon::prelude::*;
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
                site_links = records::links(&all);
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
                            Error(format!("site file {:?}: not a site path", file.path))
                        })?;
                    Ok((name, file.blob))
                })
                .collect::<Result<_>>()?;
            phases.mark("site");
            site_targets
        };
        // One pass over the catalog: every published document (parsed only as far as links and
        // targets need) and the state of its record.
        let rows = self.catalog.release_rows()?;
        phases.mark("catalog rows");
        let tombstones = self.catalog.tombstones()?;
        let lite: Vec<records::DocLite<'_>> = rows
            .par_iter()
            .map(|row| {
                let doc: records::DocLite<'_> = serde_json::from_str(&row.doc)
                    .map_err(|e| Error(format!("catalog: document {}: {e}", row.id)))?;
                if doc.id != row.id {
                    return Err(Error(format!(
                        "catalog: document {} has id {}",
                        row.id, doc.id
                    )));
                }
                Ok(doc)
            })
            .collect::<Result<_>>()?;
        let links = records::links_indexed(&lite)?;
        phases.mark("parse, links");

        // 1. Records: rebuild those whose inputs changed. A record is up to date when the
        // document's stored JSON and its links are those it was built from; a record row from
        // before that was known is checked by its inputs digest (the document parsed), once.
        let links_json: Vec<String> = links
            .par_iter()
            .map(|l| serde_json::to_string(l).map_err(|e| Error(format!("links: {e}"))))
            .collect::<Result<_>>()?;
        let to_check: Vec<usize> = (0..rows.len())
            .into_par_iter()
            .filter(|&i| {
                let row = &rows[i];
                !matches!(&row.record, Some(r)
                    if row.doc_sha.is_some()
                        && r.doc_sha == row.doc_sha
                        && r.links.as_deref() == Some(links_json[i].as_str()))
            })
            .collect();
        enum Checked {
            /// Up to date: only what it was built from is now recorded.
            Known(String),
            Rebuilt(String, archive::catalog::RecordState),
        }
        progress.start(to_check.len() as u64);
        let store = &self.store;
        let checked: Vec<(usize, Checked)> = to_check
            .par_iter()
            .map(|&i| {
                let row = &rows[i];
                let doc_sha = row
                    .doc_sha
                    .clone()
                    .unwrap_or_else(|| archive::catalog::doc_sha(&row.doc));
                let doc: archive::Document = serde_json::from_str(&row.doc)
                    .map_err(|e| Error(format!("catalog: document {}: {e}", row.id)))?;
                let inputs = records::inputs_digest(&doc, &links[i]);
                let out = match &row.record {
                    Some(r) if r.state.inputs == inputs => Checked::Known(doc_sha),
                    _ => Checked::Rebuilt(
                        doc_sha,
                        records::build_with_inputs(store, &doc, &links[i], inputs)?,
                    ),
                };
                progress.advance(&row.id);
                Ok((i, out))
            })
            .collect::<Result<_>>()?;
        progress.finish();
        let rebuilt = checked
            .iter()
            .filter(|(_, c)| matches!(c, Checked::Rebuilt(..)))
            .count();
        if !checked.is_empty() {
            if rebuilt > 0 {
                self.store
                    .sync()
                    .map_err(io_err(self.store.dir(), "cannot sync the store"))?;
            }
            self.catalog.transaction(|tx| {
                for (i, c) in &checked {
                    let row = &rows[*i];
                    let links = links_json[*i].as_str();
                    let doc_sha = match c {
                        Checked::Known(doc_sha) => {
                            tx.set_record_built_from(&row.id, doc_sha, links)?;
                            doc_sha
                        }
                        Checked::Rebuilt(doc_sha, state) => {
                            let id = DocId::new(&row.id).map_err(archive::catalog::CatalogError)?;
                            tx.put_record_built_from(&id, state, Some((doc_sha, links)))?;
                            doc_sha
                        }
                    };
                    if row.doc_sha.is_none() {
                        tx.set_doc_sha(&row.id, doc_sha)?;
                    }
                }
                Ok(())
            })?;
        }
        pause_point("records");
        phases.mark("records");

        // 2. Targets: every document's original and record, the tombstones, the site.
        let mut record_blobs: Vec<&archive::Blob> = Vec::with_capacity(rows.len());
        // Whether the document's targets are known placed (a rebuilt record is not).
        let mut placed: Vec<bool> = Vec::with_capacity(rows.len());
        {
            let mut checked = checked.iter().peekable();
            for (i, row) in rows.iter().enumerate() {
                match checked.next_if(|(j, _)| *j == i) {
                    Some((_, Checked::Rebuilt(_, state))) => {
                        record_blobs.push(&state.blob);
                        placed.push(false);
                    }
                    _ => {
                        let record = row
                            .record
                            .as_ref()
                            .ok_or_else(|| Error(format!("document {}: no record", row.id)))?;
                        record_blobs.push(&record.state.blob);
                        placed.push(record.placed);
                    }
                }
            }
        }
        // (target name, blob sha256, length) of each document's original and record.
        let doc_targets: Vec<[(String, &str, u64); 2]> = (0..rows.len())
            .into_par_iter()
            .map(|i| {
                let id = DocId::new(&rows[i].id)?;
                let original = &lite[i].original;
                Ok([
                    (
                        layout::original_target(&id, &lite[i].ext),
                        original.sha256.as_ref(),
                        original.len,
                    ),
                    (
                        layout::record_target(&id),
                        record_blobs[i].sha256.as_str(),
                        record_blobs[i].len,
                    ),
                ])
            })
            .collect::<Result<_>>()?;
        let withdrawn = tombstones_json(&tombstones)?;
        let mut extra: Vec<(String, archive::Blob)> = vec![(
            layout::WITHDRAWN_TARGET.to_owned(),
            self.store
                .put(&withdrawn)
                .map_err(io_err(self.store.dir(), "cannot write"))?,
        )];
        extra.extend(site_targets);

        let targets_dir = self.dir.join("release/targets");
        fs::create_dir_all(&targets_dir).map_err(io_err(&targets_dir, "cannot create"))?;
        // The files to place: those of documents not known placed, and the few extra targets.
        let mut to_place: Vec<(&str, String)> = Vec::new();
        for (targets, placed) in doc_targets.iter().zip(&placed) {
            if !placed {
                for (name, sha256, _) in targets {
                    to_place.push((sha256, format!("{sha256}.{name}")));
                }
            }
        }
        for (name, blob) in &extra {
            to_place.push((&blob.sha256, format!("{}.{name}", blob.sha256)));
        }
        // Many (a catalog from before `placed` was kept): one directory listing rather than a
        // failed link per file already there.
        let mut present = std::collections::HashSet::new();
        if to_place.len() > PLACE_LISTING_THRESHOLD {
            for entry in fs::read_dir(&targets_dir).map_err(io_err(&targets_dir, "cannot read"))? {
                let entry = entry.map_err(io_err(&targets_dir, "cannot read"))?;
                present.insert(entry.file_name());
            }
        }
        let mut files_placed = 0;
        for (sha256, file_name) in &to_place {
            if !present.contains(std::ffi::OsStr::new(file_name))
                && place(&self.store.path_of(sha256), &targets_dir.join(file_name))?
            {
                files_placed += 1;
            }
        }
        self.store
            .sync()
            .map_err(io_err(&targets_dir, "cannot sync"))?;
        // Durable now: the next release need not place them again.
        if placed.iter().any(|p| !p) {
            self.catalog.transaction(|tx| {
                for (row, placed) in rows.iter().zip(&placed) {
                    if !placed {
                        tx.set_placed(&row.id)?;
                    }
                }
                Ok(())
            })?;
        }
        pause_point("targets");
        phases.mark("targets placed");

        let entry = |name: &str, sha256: &str, length: u64| -> Result<TargetEntry> {
            let mut sha = [0u8; 32];
            hex::decode_to_slice(sha256, &mut sha)
                .map_err(|_| Error(format!("target {name}: bad stored hash {sha256}")))?;
            Ok(TargetEntry {
                name: trust::TargetName::new(name)?,
                length,
                sha256: sha,
                custom: None,
            })
        };
        let mut entries: Vec<TargetEntry> = doc_targets
            .par_iter()
            .flat_map_iter(|targets| targets.iter().map(|(n, s, l)| entry(n, s, *l)))
            .collect::<Result<_>>()?;
        for (name, blob) in &extra {
            entries.push(entry(name, &blob.sha256, blob.len)?);
        }
        let targets = entries.len();
        phases.mark("target entries");

        // 3. Metadata: changed bins, snapshot, then the timestamp, last.
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
        let metadata_dir = self.metadata_dir();
        let files = editor::build_release(
            &metadata_dir,
            self.root_version()?,
            entries,
            &signers,
            &self.expiries(),
            now,
        )?;
        phases.mark("editor");
        // Versioned files are new names nothing points to yet: written without an fsync each,
        // then made durable together by one syncfs before the timestamp commits them.
        for (name, bytes) in &files.versioned {
            write_unsynced(&metadata_dir.join(name), bytes)?;
        }
        self.store
            .sync()
            .map_err(io_err(&metadata_dir, "cannot sync"))?;
        pause_point("metadata");
        phases.mark("metadata written, synced");
        write_file(&metadata_dir.join("timestamp.json"), &files.timestamp)?;
        self.catalog
            .set_meta("release_version", &files.snapshot_version.to_string())?;
        phases.mark("timestamp");
        Ok(ReleaseReport {
            version: files.snapshot_version,
            documents: rows.len(),
            withdrawn: tombstones.len(),
            targets,
            records_rebuilt: rebuilt,
            files_placed,
            bins_total: files.bins_total + files.original_bins_total,
            bins_written: files.bins_written + files.original_bins_written,
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
        Err(Error(format!(
            "{}: no timestamp key on this machine; pass --key FILE",
            self.dir.display()
        )))
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
                return Err(Error(format!(
                    "{}: the exported key does not read back",
                    to.display()
                )));
            }
            written.push(to);
        }
        if written.is_empty() {
            return Err(Error(format!(
                "{}: no root key on this machine",
                self.dir.display()
            )));
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
    write_file(&metadata_dir.join("timestamp.json"), &bytes)?;
    let value: serde_json::Value =
        serde_json::from_slice(&bytes).map_err(|e| Error(format!("timestamp.json: {e}")))?;
    Ok(value["signed"]["version"].as_u64().unwrap_or_default())
}

fn tombstones_json(tombstones: &[Tombstone]) -> Result<Vec<u8>> {
    serde_json::to_vec(&serde_json::json!({ "withdrawn": tombstones }))
        .map_err(|e| Error(format!("cannot encode the tombstones: {e}")))
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
    let bytes = fs::read(blob).map_err(io_err(blob, "cannot read stored blob"))?;
    write_unsynced(target, &bytes)?;
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
                return Err(Error(format!(
                    "mirror {m:?}: expected an http:// or https:// base URL"
                )));
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

/// Writes a file through a temporary file and a rename, without flushing it: the caller syncs
/// the whole file system before anything refers to it.
fn write_unsynced(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = archive::files::public_tempfile(dir).map_err(io_err(dir, "cannot write"))?;
    tmp.write_all(bytes).map_err(io_err(path, "cannot write"))?;
    tmp.persist(path)
        .map_err(|e| Error(format!("{}: cannot write: {}", path.display(), e.error)))?;
    Ok(())
}

/// Writes a file atomically: a temporary file beside it, flushed, then renamed over.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = archive::files::public_tempfile(dir).map_err(io_err(dir, "cannot write"))?;
    tmp.write_all(bytes).map_err(io_err(path, "cannot write"))?;
    tmp.as_file()
        .sync_all()
        .map_err(io_err(path, "cannot sync"))?;
    tmp.persist(path)
        .map_err(|e| Error(format!("{}: cannot write: {}", path.display(), e.error)))?;
    sync_dir(dir)
}

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
