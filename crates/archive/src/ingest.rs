//! `add`: walk the given files and folders, read each new or changed file with the matching reader,
//! store its bytes and record its documents in the catalog — incrementally, in parallel, and
//! crash-safe (blobs are made durable before the catalog transaction that refers to them commits).
//!
//! Re-adding an unchanged file costs one `stat` (size and modification time match the catalog) or,
//! when only the time changed, one read and hash. One bad file or row is a [`Failure`] in the
//! [`Summary`], never the end of the run.

use crate::catalog::{Catalog, SourceState, Tx};
use crate::error::{Error, ErrorKind};
use crate::fence::Fence;
use crate::model::{Blob, DocId, Document, Extracted, IdSource, TextSource};
use crate::read::ocr::OcrTag;
use crate::read::{self, ReadOptions};
use crate::report::{self, Line};
use crate::store::Store;
use rayon::prelude::*;
use sha2::{Digest, Sha256};
use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Files handled per catalog transaction.
const BATCH: usize = 256;

pub struct AddOptions {
    pub read: ReadOptions,
    /// The archive's own folder: never ingested, even when inside a folder given to `add`.
    pub archive_dir: PathBuf,
    pub flags: AddFlags,
}

/// What a publisher chooses for one `add`.
#[derive(Debug, Clone, Copy, Default)]
pub struct AddFlags {
    /// Withdraw the documents whose source is gone (a file deleted from a folder given to `add`,
    /// a row removed from a JSON Lines file, an attachment no longer in a re-read e-mail), with
    /// the reason recorded; without it they are only reported.
    pub withdraw_missing: bool,
    /// Keep every line of the report in [`Summary::lines`] too (`add --verbose` prints them).
    pub list: bool,
}

/// Progress of a long `add` (one step a file); the CLI draws it as a bar.
pub use common::progress::{NoProgress, Progress};

/// A file or document that was not ingested, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The path as given or found, with the place inside the file (`line 3`) when there is one.
    pub path: String,
    pub reason: String,
}

impl std::fmt::Display for Failure {
    /// `"PATH": REASON`, safe to print on a terminal: the path quoted, both escaped (see
    /// [`quoted`]), so that a file named with a newline or an escape sequence cannot forge a line
    /// of the report or drive the terminal.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", quoted(&self.path), escaped(&self.reason))
    }
}

/// `s` in double quotes, with `"` and `\` escaped and every character a terminal would act on
/// (see [`escaped`]) written as `\u{..}`.
pub fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => push_escaped(&mut out, c),
        }
    }
    out.push('"');
    out
}

/// `s` with control characters (C0, DEL, C1: newlines, escape sequences) and the Unicode
/// bidirectional controls (which reorder what follows them on the line) written as `\n`, `\t`,
/// `\r` or `\u{..}`; everything else as it is.
pub fn escaped(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        push_escaped(&mut out, c);
    }
    out
}

fn push_escaped(out: &mut String, c: char) {
    use std::fmt::Write;
    match c {
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        '\r' => out.push_str("\\r"),
        c if c.is_control() || crate::model::is_bidi_control(c) => {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        }
        c => out.push(c),
    }
}

#[derive(Debug, Default, Clone)]
pub struct Summary {
    pub files_seen: u64,
    /// Documents new to the archive.
    pub ingested: u64,
    /// Documents whose file changed and were read again.
    pub updated: u64,
    /// Files skipped because the catalog already has them as they are.
    pub unchanged: u64,
    /// Documents skipped because the archive already holds the same document (same bytes or same
    /// Message-ID) from another file.
    pub duplicates: Vec<Failure>,
    /// Documents kept under another id than their own because a different document has it (a
    /// second, different e-mail with a Message-ID already taken); the reason names the other.
    pub renamed: Vec<Failure>,
    /// Documents ingested with something missing (an attachment kept without its text), and why.
    pub notes: Vec<Failure>,
    /// Documents whose source is gone (see [`AddOptions::withdraw_missing`]): `path` the
    /// document's source, `reason` what became of it.
    pub missing: Vec<Failure>,
    /// Of them, how many were withdrawn.
    pub withdrawn: u64,
    /// Sidecar files (metadata beside a document, read with it).
    pub sidecars: u64,
    /// Documents ingested or updated whose text OCR recognised.
    pub ocr: u64,
    /// Files that are no document format we read (`.json`, images, scripts...).
    pub unsupported: Vec<Failure>,
    pub failed: Vec<Failure>,
    /// The report written (`ARCHIVE/reports/add-<time>.jsonl`).
    pub report: PathBuf,
    /// Its lines, when [`AddFlags::list`] asked for them.
    pub lines: Vec<Line>,
}

/// The summary being made and the report being written, kept in step: every outcome counted
/// is also a line of the report.
struct Tally {
    summary: Summary,
    report: report::Writer,
    list: bool,
}

impl Tally {
    fn line(
        &mut self,
        path: &str,
        part: Option<&str>,
        outcome: report::Outcome,
    ) -> Result<(), Error> {
        self.noted_line(path, part, outcome, None, Vec::new())
    }

    /// A line that says, for an image or a PDF, what OCR did, and what the reader left out of
    /// the document (its cuts).
    fn noted_line(
        &mut self,
        path: &str,
        part: Option<&str>,
        outcome: report::Outcome,
        ocr: Option<String>,
        notes: Vec<String>,
    ) -> Result<(), Error> {
        let line = Line {
            path: path.to_owned(),
            part: part.map(str::to_owned),
            outcome,
            ocr,
            notes,
        };
        self.report.line(&line)?;
        if self.list {
            self.summary.lines.push(line);
        }
        Ok(())
    }

    /// A file (`part: None`) or one document of it that failed.
    fn failed(&mut self, path: &str, part: Option<&str>, reason: String) -> Result<(), Error> {
        self.summary.failed.push(Failure {
            path: match part {
                Some(part) => format!("{path} ({part})"),
                None => path.to_owned(),
            },
            reason: reason.clone(),
        });
        self.line(path, part, report::Outcome::Failed { reason })
    }

    /// A file (`part: None`), or a member of an archive, that is no document samizdat reads.
    fn unsupported(
        &mut self,
        path: &str,
        part: Option<&str>,
        detected_type: String,
        reason: String,
    ) -> Result<(), Error> {
        self.summary.unsupported.push(Failure {
            path: match part {
                Some(part) => format!("{path} ({part})"),
                None => path.to_owned(),
            },
            reason: format!("{reason} (detected: {detected_type})"),
        });
        let outcome = report::Outcome::Unsupported {
            detected_type,
            reason,
        };
        self.line(path, part, outcome)
    }

    /// A document of a file that failed, named in the summary as `shown` (the file and the
    /// document's source).
    fn failed_document(
        &mut self,
        shown: String,
        path: &str,
        part: Option<&str>,
        reason: String,
    ) -> Result<(), Error> {
        self.summary.failed.push(Failure {
            path: shown,
            reason: reason.clone(),
        });
        self.line(path, part, report::Outcome::Failed { reason })
    }

    /// The summary line, then the report closed: the summary, naming it.
    fn finish(mut self) -> Result<Summary, Error> {
        let s = &self.summary;
        let counts = report::Counts {
            files: s.files_seen,
            ingested: s.ingested,
            updated: s.updated,
            unchanged: s.unchanged,
            unsupported: s.unsupported.len() as u64,
            duplicates: s.duplicates.len() as u64,
            renamed: s.renamed.len() as u64,
            failed: s.failed.len() as u64,
            gone: s.missing.len() as u64,
            withdrawn: s.withdrawn,
            sidecars: s.sidecars,
            ocr: s.ocr,
        };
        self.summary.report = self.report.finish(&counts)?;
        Ok(self.summary)
    }
}

/// One file to read: where it is, the folder it was found under, and its catalog key.
struct SourceFile {
    path: PathBuf,
    root: PathBuf,
    /// Relative to `root`, `/`-separated: what ids and `Document::source` are made from.
    relative: String,
}

/// What a worker made of one file.
enum Outcome {
    Unchanged {
        /// Set when only the modification time changed: the catalog learns the new time.
        refresh: Option<SourceState>,
    },
    Unsupported(read::Unsupported),
    /// A sidecar: the metadata of this document file.
    Sidecar(PathBuf),
    Failed(String),
    Read {
        state: SourceState,
        docs: Vec<Result<Stored, read::ReadError>>,
    },
}

/// An extracted document whose bytes are already in the store.
struct Stored {
    extracted: Extracted,
    original: Blob,
    text: Blob,
    children: Vec<Stored>,
}

pub fn add(
    catalog: &mut Catalog,
    store: &Store,
    paths: &[PathBuf],
    options: &AddOptions,
    progress: &dyn Progress,
) -> Result<Summary, Error> {
    let now = OffsetDateTime::now_utc();
    let mut tally = Tally {
        summary: Summary::default(),
        report: report::Writer::create(&options.archive_dir.join("reports"), now)?,
        list: options.flags.list,
    };
    let fence = Arc::new(Fence::new(&options.archive_dir));
    let read = ReadOptions {
        fence: fence.clone(),
        ..options.read.clone()
    };
    let mut unwalked = Vec::new();
    let (files, complete) = collect(paths, &fence, &mut unwalked);
    for failure in unwalked {
        tally.failed(&failure.path, None, failure.reason)?;
    }
    tally.summary.files_seen = files.len() as u64;
    let gone = Gone {
        withdraw: options.flags.withdraw_missing,
        at: now
            .format(&Rfc3339)
            .map_err(|e| Error::new(ErrorKind::Ingest, format!("cannot format the time: {e}")))?,
    };
    progress.start(files.len() as u64);
    for batch in files.chunks(BATCH) {
        let known: Vec<Option<SourceState>> = batch
            .iter()
            .map(|f| catalog.source(&key_of(&f.path)))
            .collect::<Result<_, _>>()?;
        let outcomes: Vec<Outcome> = batch
            .par_iter()
            .zip(known.par_iter())
            .map(|(file, known)| {
                let outcome = process(file, known.as_ref(), store, &read);
                progress.advance(&file.relative);
                outcome
            })
            .collect();
        store.sync().map_err(|e| {
            Error::new(
                ErrorKind::Io,
                format!("{}: cannot sync the store: {e}", store.dir().display()),
            )
        })?;
        catalog.transaction(|tx| {
            for (file, outcome) in batch.iter().zip(outcomes) {
                apply(tx, file, outcome, &gone, &mut tally)?;
            }
            Ok(())
        })?;
    }
    // Files the catalog has under a folder walked whole, and the walk did not find: deleted.
    let seen: HashSet<String> = files.iter().map(|f| key_of(&f.path)).collect();
    let mut deleted = Vec::new();
    for root in &complete {
        for key in catalog.sources_under(&key_of(root))? {
            if !seen.contains(&key) {
                deleted.push(key);
            }
        }
    }
    deleted.sort();
    deleted.dedup();
    catalog.transaction(|tx| {
        for key in &deleted {
            let docs = tx.documents_of_source(key)?;
            let why = format!("its file {} is gone", escaped(key));
            report_gone(tx, docs, &why, &gone, &mut tally)?;
            if gone.withdraw {
                tx.delete_source(key)?;
            }
        }
        Ok(())
    })?;
    progress.finish();
    tally.finish()
}

/// What to do with documents whose source is gone, and when.
struct Gone {
    withdraw: bool,
    /// Now, RFC 3339: the withdrawal's time.
    at: String,
}

/// Reports documents whose source is gone, and withdraws them when asked.
fn report_gone(
    tx: &Tx<'_>,
    docs: Vec<(DocId, String)>,
    why: &str,
    gone: &Gone,
    tally: &mut Tally,
) -> Result<(), Error> {
    for (id, source) in docs {
        let reason = if gone.withdraw {
            tx.withdraw(&id, &format!("{why} (add --withdraw-missing)"), &gone.at)?;
            tally.summary.withdrawn += 1;
            format!("document {id}: {why}: withdrawn")
        } else {
            format!("document {id}: {why}: still published (add --withdraw-missing withdraws it)")
        };
        let outcome = report::Outcome::Gone {
            id: id.to_string(),
            withdrawn: gone.withdraw,
        };
        tally.line(&source, None, outcome)?;
        tally.summary.missing.push(Failure {
            path: source,
            reason,
        });
    }
    Ok(())
}

/// A file's catalog key: its canonical path, losslessly (see [`lossless`]).
fn key_of(path: &Path) -> String {
    lossless(path.as_os_str())
}

/// A file name or path as UTF-8 without losing what tells it apart: itself when it is UTF-8,
/// else its lossy form plus `~` and a short hash of its raw bytes, so that two names differing
/// only in invalid bytes stay two names (and two catalog keys, two ids, two sources).
pub fn lossless(name: &std::ffi::OsStr) -> String {
    match name.to_str() {
        Some(s) => s.to_owned(),
        None => format!(
            "{}~{}",
            name.to_string_lossy(),
            &hex::encode(Sha256::digest(name.as_encoded_bytes()))[..8]
        ),
    }
}

/// Expands the arguments into files, sorted, skipping hidden files; the archive's own folder
/// (`fence`), whatever path leads there, is refused and named as a failure. A file reached twice
/// (`add DIR/a DIR`) is read once, as first reached. Also returns the folders walked without an
/// error: what is not found under them is gone.
fn collect(
    paths: &[PathBuf],
    fence: &Fence,
    failed: &mut Vec<Failure>,
) -> (Vec<SourceFile>, Vec<PathBuf>) {
    let mut files: Vec<SourceFile> = Vec::new();
    let mut complete = Vec::new();
    let mut seen = HashSet::new();
    for given in paths {
        let path = match fs::canonicalize(given) {
            Ok(p) => p,
            Err(e) => {
                failed.push(Failure {
                    path: given.display().to_string(),
                    reason: format!("cannot open: {e}"),
                });
                continue;
            }
        };
        if let Some(why) = fence.refuses(&path) {
            failed.push(Failure {
                path: given.display().to_string(),
                reason: why,
            });
            continue;
        }
        if path.is_file() {
            let root = path.parent().map(Path::to_owned).unwrap_or_default();
            let relative = file_name(&path);
            if seen.insert(path.clone()) {
                files.push(SourceFile {
                    path,
                    root,
                    relative,
                });
            }
            continue;
        }
        let walker = walkdir::WalkDir::new(&path)
            .follow_links(false)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| {
                e.depth() == 0 || !e.file_name().as_encoded_bytes().starts_with(b".")
            });
        let mut walker = walker;
        let mut walked_whole = true;
        while let Some(entry) = walker.next() {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    walked_whole = false;
                    failed.push(Failure {
                        path: e
                            .path()
                            .map(|p| p.display().to_string())
                            .unwrap_or_else(|| given.display().to_string()),
                        reason: format!("cannot read: {e}"),
                    });
                    continue;
                }
            };
            let file_type = entry.file_type();
            // The archive nested in the folder being added: named once, never entered.
            if !file_type.is_symlink()
                && let Some(why) = fence.refuses_path(entry.path())
            {
                failed.push(Failure {
                    path: entry.path().display().to_string(),
                    reason: why,
                });
                if file_type.is_dir() {
                    walker.skip_current_dir();
                }
                continue;
            }
            let mut file_path = entry.path().to_owned();
            if file_type.is_symlink() {
                match fs::canonicalize(entry.path()) {
                    Ok(target) if fence.refuses(&target).is_some() => {
                        failed.push(Failure {
                            path: entry.path().display().to_string(),
                            reason: format!(
                                "symbolic link to {}: {}",
                                target.display(),
                                fence.refuses(&target).unwrap_or_default()
                            ),
                        });
                        continue;
                    }
                    Ok(target) if target.starts_with(&path) && target.is_file() => {
                        file_path = target;
                    }
                    Ok(target) if !target.starts_with(&path) => {
                        failed.push(Failure {
                            path: entry.path().display().to_string(),
                            reason: format!(
                                "symbolic link to {} points outside the folder being added",
                                target.display()
                            ),
                        });
                        continue;
                    }
                    Ok(_) => continue,
                    Err(e) => {
                        failed.push(Failure {
                            path: entry.path().display().to_string(),
                            reason: format!("broken symbolic link: {e}"),
                        });
                        continue;
                    }
                }
            } else if file_type.is_dir() {
                continue;
            } else if !file_type.is_file() {
                // A named pipe would block the reader forever; a device could be endless.
                failed.push(Failure {
                    path: entry.path().display().to_string(),
                    reason: "not a regular file (a named pipe, socket or device): skipped".into(),
                });
                continue;
            }
            let relative = entry
                .path()
                .strip_prefix(&path)
                .map(|r| lossless(r.as_os_str()).replace('\\', "/"))
                .unwrap_or_else(|_| file_name(entry.path()));
            if seen.insert(file_path.clone()) {
                files.push(SourceFile {
                    path: file_path,
                    root: path.clone(),
                    relative,
                });
            }
        }
        if walked_whole {
            complete.push(path);
        }
    }
    (files, complete)
}

fn file_name(path: &Path) -> String {
    path.file_name().map(lossless).unwrap_or_default()
}

/// Reads one file and stores its bytes (runs on a worker thread; touches no catalog).
fn process(
    file: &SourceFile,
    known: Option<&SourceState>,
    store: &Store,
    options: &ReadOptions,
) -> Outcome {
    let meta = match fs::metadata(&file.path) {
        Ok(m) => m,
        Err(e) => return Outcome::Failed(format!("cannot read: {e}")),
    };
    if let Some(why) = options.fence.refuses_file(&meta) {
        return Outcome::Failed(why);
    }
    if let Some(document) = read::sidecar::document_of(&file.path) {
        return Outcome::Sidecar(document);
    }
    // A sidecar is part of its document's source: its size and time count in the quick check,
    // its bytes in the hash.
    let sidecar = read::sidecar::path_for(&file.path)
        .and_then(|path| fs::metadata(&path).ok().map(|meta| (path, meta)));
    let stat_size = meta.len() + sidecar.as_ref().map_or(0, |(_, m)| m.len());
    let mtime_ns = mtime_of(&meta) + sidecar.as_ref().map_or(0, |(_, m)| mtime_of(m));
    // Read again for OCR when this `add` would recognise what the last one did not.
    let known = known.filter(|k| !ocr_stale(k, options.ocr.as_ref()));
    if let Some(known) = known
        && known.size == stat_size
        && known.mtime_ns == mtime_ns
    {
        return Outcome::Unchanged { refresh: None };
    }
    let (size, sha256) = match source_hash(&file.path, sidecar.as_ref().map(|(p, _)| p.as_path())) {
        Ok(h) => h,
        Err(e) => return Outcome::Failed(format!("cannot read: {e}")),
    };
    let state = SourceState {
        size,
        mtime_ns,
        sha256,
        ocr: None,
    };
    if let Some(known) = known
        && known.sha256 == state.sha256
    {
        return Outcome::Unchanged {
            refresh: Some(SourceState {
                ocr: known.ocr.clone(),
                ..state
            }),
        };
    }
    // Each document is bounded and stored as soon as it is read, and only its metadata kept.
    let mut docs = Vec::new();
    let read = read::read_each(&file.path, &file.root, options, &mut |doc| {
        docs.push(doc.and_then(|mut extracted| {
            extracted.bound();
            let locator = extracted.locator.clone();
            store_all(store, extracted).map_err(|reason| read::ReadError {
                locator,
                reason,
                detected_type: None,
            })
        }));
    });
    match read {
        Err(e) => Outcome::Failed(e.reason),
        Ok(Some(unsupported)) => Outcome::Unsupported(unsupported),
        Ok(None) => {
            let state = SourceState {
                ocr: ocr_tag(&docs),
                ..state
            };
            Outcome::Read { state, docs }
        }
    }
}

/// The OCR tag of a file whose documents are `docs` ([`OcrTag::of`] their outcomes, children
/// included); `None` when OCR had no say (no image, no PDF without a text layer).
fn ocr_tag(docs: &[Result<Stored, read::ReadError>]) -> Option<OcrTag> {
    fn outcomes<'a>(doc: &'a Stored, all: &mut Vec<&'a read::ocr::OcrOutcome>) {
        all.extend(doc.extracted.ocr.as_ref());
        doc.children.iter().for_each(|c| outcomes(c, all));
    }
    let mut all = Vec::new();
    docs.iter().flatten().for_each(|d| outcomes(d, &mut all));
    OcrTag::of(all)
}

/// Whether a source known as `known` must be read again for `ocr` ([`OcrTag::stale_for`]).
fn ocr_stale(known: &SourceState, ocr: Option<&read::ocr::Ocr>) -> bool {
    known.ocr.as_ref().is_some_and(|tag| tag.stale_for(ocr))
}

/// A file's modification time in nanoseconds since the epoch (0 when unknown).
fn mtime_of(meta: &fs::Metadata) -> i128 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos() as i128)
        .unwrap_or(0)
}

/// The size and SHA-256 (hex) a source is known by: its file's, or with a sidecar, their sizes
/// added and the hash of both hashes.
fn source_hash(path: &Path, sidecar: Option<&Path>) -> std::io::Result<(u64, String)> {
    let (size, sha256) = hash_file(path)?;
    let Some(sidecar) = sidecar else {
        return Ok((size, sha256));
    };
    let (sidecar_size, sidecar_sha256) = hash_file(sidecar)?;
    let both = Sha256::digest(format!("{sha256}{sidecar_sha256}").as_bytes());
    Ok((size + sidecar_size, hex::encode(both)))
}

/// The size and SHA-256 (hex) of a file, read as a stream.
fn hash_file(path: &Path) -> std::io::Result<(u64, String)> {
    use std::io::Read;
    let mut input = fs::File::open(path)?;
    let size = input.metadata()?.len();
    let mut hasher = Sha256::new();
    // Most files are small: a buffer of their size (a 256 KiB one zeroed per file cost more).
    let mut buf = vec![0u8; (size as usize).saturating_add(1).clamp(4096, 256 << 10)];
    let mut len = 0u64;
    loop {
        match input.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                hasher.update(&buf[..n]);
                len += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok((len, hex::encode(hasher.finalize())))
}

/// Stores a document's original and text (and its children's), keeping only their references.
fn store_all(store: &Store, mut extracted: Extracted) -> Result<Stored, String> {
    let original = match extracted.original_file.take() {
        Some(path) => store
            .put_file_part(&path, extracted.original_part)
            .map_err(|e| format!("cannot store {}: {e}", path.display()))?,
        None => store
            .put(&extracted.original)
            .map_err(|e| format!("cannot write to the store: {e}"))?,
    };
    let text = store
        .put(extracted.text.as_bytes())
        .map_err(|e| format!("cannot write to the store: {e}"))?;
    extracted.original = Vec::new();
    extracted.text = String::new();
    let children = std::mem::take(&mut extracted.children)
        .into_iter()
        .map(|c| store_all(store, c))
        .collect::<Result<_, _>>()?;
    Ok(Stored {
        extracted,
        original,
        text,
        children,
    })
}

/// Records one file's outcome in the catalog (main thread, inside the batch's transaction).
fn apply(
    tx: &Tx<'_>,
    file: &SourceFile,
    outcome: Outcome,
    gone: &Gone,
    tally: &mut Tally,
) -> Result<(), Error> {
    let key = key_of(&file.path);
    let shown = file.path.display().to_string();
    match outcome {
        Outcome::Unchanged { refresh } => {
            tally.summary.unchanged += 1;
            tally.line(&shown, None, report::Outcome::Unchanged { id: None })?;
            if let Some(state) = refresh {
                tx.put_source(&key, &state)?;
            }
        }
        Outcome::Unsupported(read::Unsupported {
            detected_type,
            reason,
        }) => tally.unsupported(&shown, None, detected_type, reason)?,
        Outcome::Sidecar(document) => {
            tally.summary.sidecars += 1;
            let of = document.display().to_string();
            tally.line(&shown, None, report::Outcome::Metadata { of })?;
        }
        Outcome::Failed(reason) => tally.failed(&shown, None, reason)?,
        Outcome::Read { state, docs } => {
            let failures = tally.summary.failed.len();
            let mut taken = Taken::new();
            for doc in docs {
                match doc {
                    Ok(stored) => record(tx, file, &key, stored, None, &mut taken, tally)?,
                    Err(e) => match e.detected_type {
                        Some(detected_type) => {
                            let part = e.locator.as_deref();
                            tally.unsupported(&shown, part, detected_type, e.reason)?;
                        }
                        None => tally.failed(&shown, e.locator.as_deref(), e.reason)?,
                    },
                }
            }
            // A file read whole: its documents not read again (a row removed, an attachment no
            // longer there) are gone, and the file is known as it is, unless some of them are
            // only reported (then the next `add` reads it again and reports them again). A file
            // with a failure is neither: the next `add` reads it again, and what failed is not
            // taken for gone.
            if tally.summary.failed.len() == failures {
                let docs: Vec<(DocId, String)> = tx
                    .documents_of_source(&key)?
                    .into_iter()
                    .filter(|(id, _)| !taken.contains_key(id))
                    .collect();
                let kept = !docs.is_empty() && !gone.withdraw;
                let why = format!("no longer in {}", escaped(&file.relative));
                report_gone(tx, docs, &why, gone, tally)?;
                if !kept {
                    tx.put_source(&key, &state)?;
                }
            }
        }
    }
    Ok(())
}

/// The ids given to the documents of one file so far, with their sources: a second document
/// of the same file with one of them must not replace the first.
type Taken = std::collections::HashMap<DocId, String>;

/// Who has an id already: a document of this file read earlier in this `add`, or a document of
/// another file.
fn holder_of(tx: &Tx<'_>, id: &DocId, key: &str, taken: &Taken) -> Result<Option<String>, Error> {
    if let Some(source) = taken.get(id) {
        return Ok(Some(format!("{source} (the same file)")));
    }
    Ok(tx.source_of(id)?.filter(|other| other != key))
}

/// A free id for a document whose own id `id` is held by another: `id` cut to fit, `-` and a short
/// hash of the document's (lossless) source, which is the same at every `add` of the same file.
fn disambiguated(
    tx: &Tx<'_>,
    id: &DocId,
    source: &str,
    key: &str,
    taken: &Taken,
) -> Result<DocId, Error> {
    // Bounded: a hash that collides 16 times in a row is not an accident.
    for attempt in 0..16u32 {
        let seed = match attempt {
            0 => source.to_owned(),
            n => format!("{source}#{n}"),
        };
        let tag = &hex::encode(Sha256::digest(seed.as_bytes()))[..8];
        let base = &id.as_str()[..id.as_str().len().min(DocId::MAX_LEN - 9)];
        let candidate = DocId::new(&format!("{base}-{tag}")).map_err(Error::catalog)?;
        if holder_of(tx, &candidate, key, taken)?.is_none() {
            return Ok(candidate);
        }
    }
    Err(Error::catalog(format!(
        "{source}: no free id from {id} after 16 attempts"
    )))
}

/// Gives a stored document its id and writes it (and its attachments) to the catalog.
fn record(
    tx: &Tx<'_>,
    file: &SourceFile,
    key: &str,
    stored: Stored,
    parent: Option<(&DocId, usize, Option<&str>)>,
    taken: &mut Taken,
    tally: &mut Tally,
) -> Result<(), Error> {
    let x = &stored.extracted;
    // An archive's member is at `!/NAME` (`read::container`): its attachments are inside it.
    let part = match (&x.locator, parent) {
        // A member of an attached archive: inside its attachment.
        (Some(l), Some((_, _, Some(attachment)))) if l.starts_with("!/") => {
            Some(format!("{attachment}{l}"))
        }
        (_, Some((_, n, Some(member)))) if member.contains("!/") => {
            Some(format!("{member}#attachment-{n}"))
        }
        (_, Some((_, n, _))) => Some(format!("attachment-{n}")),
        (Some(l), None) => Some(l.clone()),
        (None, None) => None,
    };
    let source = match &part {
        Some(part) if part.starts_with("!/") => format!("{}{part}", file.relative),
        Some(part) => format!("{}#{part}", file.relative),
        None => file.relative.clone(),
    };
    let path = file.path.display().to_string();
    let part = part.as_deref();
    let shown = format!("{path} ({source})");
    let id = match (parent, &x.id_source) {
        (Some((parent_id, n, _)), _) => parent_id.child(n),
        (None, IdSource::Explicit(id)) => match DocId::new(id) {
            Ok(id) => id,
            Err(reason) => {
                tally.failed_document(shown, &path, part, reason)?;
                return Ok(());
            }
        },
        (None, IdSource::MessageId(mid)) => DocId::from_message_id(mid),
        (None, IdSource::Path) => DocId::from_path(&source),
    };
    // The same document from another file: same bytes.
    if parent.is_none()
        && let Some(other) = tx.same_original(&stored.original.sha256, key)?
    {
        tally.summary.duplicates.push(Failure {
            path: shown,
            reason: format!("same bytes as document {other}"),
        });
        tally.line(&path, part, report::Outcome::Duplicate { of: other })?;
        return Ok(());
    }
    // An id held by another document (of another file, or read before from this one): never
    // replace it. A publisher's id is theirs to fix; anything else gets a free id of its own.
    let mut id = id;
    if let Some(holder) = holder_of(tx, &id, key, taken)? {
        match &x.id_source {
            IdSource::Explicit(_) if parent.is_none() => {
                let reason = format!("id {id} is already used by a document from {holder}");
                tally.failed_document(shown, &path, part, reason)?;
                return Ok(());
            }
            IdSource::MessageId(_) if parent.is_none() => {
                let new = disambiguated(tx, &id, &source, key, taken)?;
                tally.summary.renamed.push(Failure {
                    path: shown.clone(),
                    reason: format!(
                        "same Message-ID as document {id} from {holder}, a different message: published as {new}"
                    ),
                });
                id = new;
            }
            // Two paths that slug alike ("a/b.txt", "a-b.txt"): keep both.
            _ => id = disambiguated(tx, &id, &source, key, taken)?,
        }
    }
    taken.insert(id.clone(), source.clone());
    for note in &x.notes {
        tally.summary.notes.push(Failure {
            path: shown.clone(),
            reason: note.clone(),
        });
    }
    let existed = tx.document(&id)?.is_some();
    let doc = Document {
        id: id.clone(),
        kind: x.kind,
        title: x.title.clone(),
        date: x.date,
        date_source: x.date_source,
        encoding: x.encoding.clone(),
        text_source: x.text_source,
        origin: x.origin.clone(),
        tags: x.tags.clone(),
        record_kind: x.record_kind.clone(),
        author: x.author.clone(),
        email: x.email.clone(),
        pages: x.pages,
        parent: parent.map(|(p, _, _)| p.clone()),
        source,
        original: stored.original,
        ext: x.ext.clone(),
        media_type: x.media_type.clone(),
        text: stored.text,
    };
    let changed = tx.put_document(&doc, key)?;
    if (changed || !existed) && x.text_source == Some(TextSource::Ocr) {
        tally.summary.ocr += 1;
    }
    let shown_id = id.to_string();
    let outcome = match (existed, changed) {
        (false, _) => {
            tally.summary.ingested += 1;
            report::Outcome::Ingested { id: shown_id }
        }
        (true, true) => {
            tally.summary.updated += 1;
            report::Outcome::Updated { id: shown_id }
        }
        (true, false) => report::Outcome::Unchanged { id: Some(shown_id) },
    };
    let ocr = x.ocr.as_ref().map(ToString::to_string);
    tally.noted_line(&path, part, outcome, ocr, x.notes.clone())?;
    for (n, child) in stored.children.into_iter().enumerate() {
        record(tx, file, key, child, Some((&id, n + 1, part)), taken, tally)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::ocr::tests::ocr_in;

    /// A catalog written before `sources.ocr` existed kept the tag after the hash
    /// (`HEX ocr=TAG`): opened now, the tag moves to its column, the hash stands alone, and
    /// every `add` decides to read a file again for OCR as it did then.
    #[test]
    fn an_older_catalog_has_its_ocr_tags_split_from_the_hash() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let path = tmp.path().join("catalog.sqlite");
        drop(Catalog::open(&path).expect("open"));
        let hex = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
        let old = [
            ("plain.txt", hex.to_owned()),
            ("image.png", format!("{hex} ocr=")),
            ("scan.pdf", format!("{hex} ocr=fra+eng")),
            ("broken.tif", format!("{hex} ocr=!")),
            ("mail.eml", format!("{hex} ocr=eng")),
        ];
        {
            let conn = rusqlite::Connection::open(&path).expect("sqlite");
            conn.execute_batch("ALTER TABLE sources DROP COLUMN ocr")
                .expect("the old shape");
            for (key, sha256) in &old {
                conn.execute(
                    "INSERT INTO sources (path, size, mtime_ns, sha256) VALUES (?1, 7, 11, ?2)",
                    rusqlite::params![key, sha256],
                )
                .expect("old row");
            }
        }
        let catalog = Catalog::open(&path).expect("upgraded");
        let (eng, fra_eng) = (ocr_in("eng"), ocr_in("fra+eng"));
        for (key, sha256) in &old {
            let state = catalog.source(key).expect("read").expect("kept");
            let (size, mtime_ns) = (state.size, state.mtime_ns);
            assert_eq!(
                (size, mtime_ns, state.sha256.as_str()),
                (7, 11, hex),
                "{key}"
            );
            let tag = sha256.split_once(" ocr=").map(|(_, tag)| tag);
            assert_eq!(state.ocr.as_ref().map(OcrTag::as_column), tag, "{key}");
            for ocr in [None, Some(&eng), Some(&fra_eng)] {
                // The rule as it read the old column.
                let then = match (ocr, tag) {
                    (Some(ocr), Some(tag)) => tag != ocr.languages,
                    _ => false,
                };
                assert_eq!(ocr_stale(&state, ocr), then, "{key} with {ocr:?}");
            }
        }
        let tags: Vec<_> = old
            .iter()
            .map(|(key, _)| catalog.source(key).expect("read").expect("kept").ocr)
            .collect();
        assert_eq!(
            tags,
            [
                None,
                Some(OcrTag::NotAsked),
                Some(OcrTag::Ran("fra+eng".into())),
                Some(OcrTag::Failed),
                Some(OcrTag::Ran("eng".into())),
            ]
        );
        drop(catalog);
        // Opened again, nothing moves twice; a state written now keeps its tag to itself.
        let mut catalog = Catalog::open(&path).expect("reopened");
        let state = SourceState {
            size: 1,
            mtime_ns: 2,
            sha256: hex.into(),
            ocr: Some(OcrTag::NotAsked),
        };
        catalog
            .transaction(|tx| tx.put_source("new.png", &state))
            .expect("put");
        assert_eq!(catalog.source("new.png").expect("read"), Some(state));
        let scan = catalog.source("scan.pdf").expect("read").expect("kept");
        assert_eq!(
            (scan.sha256.as_str(), scan.ocr),
            (hex, Some(OcrTag::Ran("fra+eng".into())))
        );
    }
}
