//! Ingest readers: one file in, zero or more [`Extracted`] documents out.
//!
//! [`read_file`] picks a reader by the file's content first (a PDF starts with `%PDF-`, an e-mail with
//! an mbox `From ` line or a block of RFC 5322 headers) and its extension second:
//!
//! - [`email`]: single RFC 5322 messages, mbox files, maildir entries; attachments become children;
//! - [`pdf`]: PDF text and metadata, extracted in a child process with a time and memory limit;
//! - [`text`]: plain text, Markdown, reStructuredText and HTML, each optionally gzip-compressed;
//! - [`jsonl`]: a publisher's JSON Lines import, one document per line;
//! - [`office`]: DOCX, PPTX, XLSX, ODT, ODP, ODS (zip + streamed XML, calamine for XLSX),
//!   RTF, legacy DOC and XLS (catdoc tools) and PPT (its records), with title, author and
//!   dates, slide by slide and sheet by sheet;
//! - [`container`]: zip, tar (plain, gzip, xz, zstd) and 7z archives, opened recursively within
//!   bounds, each member read by this same dispatch ([`read_member`]);
//! - [`image`]: PNG, JPEG, GIF, BMP, TIFF and WebP, their text by OCR ([`ocr`]) when asked,
//!   which also reads the pages of a PDF without a text layer.
//!
//! A reader only parses: it never writes to the archive. A failure of the whole file is an `Err`; a
//! bad row or message inside a file that holds several is an `Err` entry in
//! [`ReadOutcome::Documents`], and the others are still read.

mod child;
pub mod container;
pub mod dates;
pub mod decode;
pub mod email;
pub mod image;
pub mod jsonl;
pub mod maildate;
pub mod ocr;
pub mod office;
pub mod outlook;
pub mod pdf;
pub mod sidecar;
pub mod text;
pub mod title;

use crate::fence::Fence;

use crate::model::Extracted;
use std::fmt;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How to read files: how PDFs are extracted, how far archives are opened, and what must never
/// be read.
#[derive(Clone, Debug)]
pub struct ReadOptions {
    pub pdf: PdfExtractor,
    /// The archive's own folder: a file a JSON Lines row names there is refused (`add` sets it).
    pub fence: std::sync::Arc<Fence>,
    /// The bounds on archives (zip bombs, deep nesting).
    pub archives: container::Limits,
    /// Inside an archive: how deep, and what the file's archives used so far (the container
    /// reader sets it for the members it reads).
    pub nesting: container::Nesting,
    /// OCR of images and of PDFs without a text layer (`add --ocr LANGS`); `None`: not asked.
    pub ocr: Option<ocr::Ocr>,
}

impl ReadOptions {
    pub fn new(pdf: PdfExtractor) -> ReadOptions {
        ReadOptions {
            pdf,
            fence: Default::default(),
            archives: container::Limits::default(),
            nesting: container::Nesting::default(),
            ocr: None,
        }
    }
}

/// The command that extracts a PDF in a child process, and the limits it runs under.
///
/// `program` and `args` run [`pdf::child_main`]; the PDF's path is appended as the last argument.
/// The child sets `memory_limit_bytes` as its own address-space limit (`RLIMIT_AS`) before parsing;
/// the parent kills it after `timeout`.
#[derive(Clone, Debug)]
pub struct PdfExtractor {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub timeout: Duration,
    pub memory_limit_bytes: u64,
}

impl PdfExtractor {
    /// Default wall-clock limit for one PDF.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);
    /// Default address-space limit of the child: 1 GiB.
    pub const DEFAULT_MEMORY_LIMIT: u64 = 1 << 30;

    /// An extractor running `program args… <pdf>` with the default limits.
    pub fn new(program: impl Into<PathBuf>, args: Vec<String>) -> PdfExtractor {
        PdfExtractor {
            program: program.into(),
            args,
            timeout: Self::DEFAULT_TIMEOUT,
            memory_limit_bytes: Self::DEFAULT_MEMORY_LIMIT,
        }
    }
}

/// What [`read_file`] found in a file.
#[derive(Debug)]
pub enum ReadOutcome {
    /// Not a document format we ingest (e.g. `.json`, `.js`, fonts): reported as skipped, with the reason.
    Unsupported(Unsupported),
    /// One entry per document found; a bad row/message is an Err, the others are still ingested.
    Documents(Vec<Result<Extracted, ReadError>>),
}

/// A file that is no document samizdat reads: what it looks like, and why it is skipped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    /// The media type its content or, failing that, its name shows (`image/png`).
    pub detected_type: String,
    pub reason: String,
}

impl Unsupported {
    /// A file whose first bytes are `head` and whose extension is `ext`, skipped for `reason`.
    fn new(ext: &str, head: &[u8], reason: impl Into<String>) -> Unsupported {
        Unsupported {
            detected_type: detected_type(ext, head),
            reason: reason.into(),
        }
    }
}

/// The media type of a file: by its magic number (`infer`), else by its extension, else
/// `text/plain` for text and `application/octet-stream` for the rest.
fn detected_type(ext: &str, head: &[u8]) -> String {
    if let Some(kind) = infer::get(head) {
        return kind.mime_type().to_owned();
    }
    match media_type_for_ext(ext) {
        "application/octet-stream" if !head.is_empty() && decode::binary_reason(head).is_none() => {
            "text/plain".to_owned()
        }
        by_name => by_name.to_owned(),
    }
}

/// The first bytes of a file (none if it cannot be read: the type is then told by its name).
fn head_of(path: &Path) -> Vec<u8> {
    use std::io::Read;
    let mut head = Vec::new();
    if let Ok(file) = std::fs::File::open(path) {
        let _ = file
            .take(decode::BINARY_SAMPLE as u64)
            .read_to_end(&mut head);
    }
    head
}

/// Why a file, or one row or message of it, could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadError {
    /// Where inside the file ("line 12", "message 3"); `None` for the whole file.
    pub locator: Option<String>,
    /// What was wrong and what was expected, without a trailing period.
    pub reason: String,
    /// Set when the part is no document samizdat reads (an image inside a zip): the media type
    /// detected. Reported as unsupported, not as a failure.
    pub detected_type: Option<String>,
}

impl ReadError {
    /// An error about the whole file.
    pub fn file(reason: impl Into<String>) -> ReadError {
        ReadError {
            locator: None,
            reason: reason.into(),
            detected_type: None,
        }
    }

    /// An error about one part of the file.
    pub fn at(locator: impl Into<String>, reason: impl Into<String>) -> ReadError {
        ReadError {
            locator: Some(locator.into()),
            reason: reason.into(),
            detected_type: None,
        }
    }

    /// A part of the file (an archive's member) that is no document samizdat reads.
    pub fn unsupported(locator: impl Into<String>, unsupported: Unsupported) -> ReadError {
        ReadError {
            locator: Some(locator.into()),
            reason: unsupported.reason,
            detected_type: Some(unsupported.detected_type),
        }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.locator {
            Some(locator) => write!(f, "{locator}: {}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

impl std::error::Error for ReadError {}

/// The format a file is read as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    Email,
    Pdf,
    JsonLines,
    Text(text::TextFormat),
}

/// Extensions that are never documents, skipped without looking at their content.
const NOT_DOCUMENTS: &[&str] = &[
    "json", "js", "mjs", "map", "css", "svg", "svgz", "ico", "woff", "woff2", "ttf", "otf", "eot",
    "deb", "rpm", "exe", "dll", "so", "o", "a", "class", "jar", "pyc", "wasm", "mp3", "mp4", "ogg",
    "wav", "avi", "mov", "webm", "db", "sqlite",
];

/// Legacy Office binary formats (OLE compound files): DOC and XLS are read by a tool
/// (`office::legacy`), PPT by `office::ppt`.
const LEGACY_OFFICE: &[&str] = &["doc", "dot", "xls", "xlt", "ppt", "pot", "pps"];
const OLE_MAGIC: &[u8] = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";

/// Archive formats that are not opened (zip, tar, 7z, xz and zstd are).
const CLOSED_ARCHIVES: &[&str] = &["bz2", "tbz", "tbz2", "rar", "lz", "lzma", "cab", "arj", "z"];

/// Why a file named `lower_name` (lowercase) is no document, told from its name alone: `None`
/// when its content must be looked at.
pub(crate) fn not_a_document(lower_name: &str) -> Option<Unsupported> {
    let inner = match lower_name.strip_suffix(".gz") {
        Some(inner) if !inner.is_empty() && !inner.ends_with(".tar") => inner,
        _ => lower_name,
    };
    let ext = extension(inner);
    let reason = if NOT_DOCUMENTS.contains(&ext.as_str()) {
        format!("`.{ext}` files are not documents samizdat ingests")
    } else if CLOSED_ARCHIVES.contains(&ext.as_str()) {
        format!(
            "`.{ext}` archives are not opened: samizdat opens zip, tar (plain, .gz, .xz, .zst) and 7z"
        )
    } else {
        return None;
    };
    Some(Unsupported {
        detected_type: media_type_for_ext(&ext).to_owned(),
        reason,
    })
}

/// Largest size a gzip-compressed document may decompress to.
pub const MAX_GUNZIPPED_BYTES: u64 = 256 << 20;

/// Reads one file, all its documents at once (see [`read_each`]).
///
/// `path`: the file; `root`: the folder the publisher passed to `add` (or the file's parent when a single file was passed).
/// A whole-file failure (unreadable, truncated PDF, 0-byte e-mail, invalid UTF-8 in a text file...) is Err.
pub fn read_file(path: &Path, root: &Path, opts: &ReadOptions) -> Result<ReadOutcome, ReadError> {
    let mut docs = Vec::new();
    Ok(
        match read_each(path, root, opts, &mut |doc| docs.push(doc))? {
            Some(unsupported) => ReadOutcome::Unsupported(unsupported),
            None => ReadOutcome::Documents(docs),
        },
    )
}

/// Reads one file, handing each document (or a row's or message's failure) to `each` as soon as
/// it is read, so that the caller can store it and let it go: a JSON Lines file whose rows each
/// name a large file costs one row's memory, not all of them. `Ok(Some(unsupported))`: the file
/// is no document we read.
pub fn read_each(
    path: &Path,
    root: &Path,
    opts: &ReadOptions,
    each: &mut dyn FnMut(Result<Extracted, ReadError>),
) -> Result<Option<Unsupported>, ReadError> {
    let name = file_name(path);
    let lower = name.to_ascii_lowercase();
    if let Some(unsupported) = not_a_document(&lower) {
        let ext = extension(&lower);
        return Ok(Some(Unsupported::new(
            &ext,
            &head_of(path),
            unsupported.reason,
        )));
    }
    let cannot_read = |e: std::io::Error| ReadError::file(format!("cannot read: {e}"));
    if outlook::is_mailbox(&head_of(path)) {
        outlook::read_mailbox(path, opts, each)?;
        return Ok(None);
    }
    if let Some(kind) = container::detect(&lower, &head_of(path)) {
        let file = std::fs::File::open(path).map_err(cannot_read)?;
        return container::read(Box::new(file), &name, kind, opts, each);
    }
    if let Some(read) = read_by_path(path, root, &name, opts, each) {
        return read.map(|()| None);
    }
    let raw = std::fs::read(path).map_err(cannot_read)?;
    read_content(&name, raw, Some((path, root)), opts, each)
}

/// How many leading bytes of a file [`read_by_path`] tells its format from.
const PATH_HEAD: u64 = 64 << 10;

/// A PDF, an e-mail or mbox, JSON Lines, or a text too large to read whole, read from its path
/// without the file in memory: the PDF's child process is given the path, an mbox and JSON
/// Lines are read as streams (a message or a row at a time), a message or text over its cap is
/// read in part ([`email::read_path`], [`text::read_head`]), and the original is stored from
/// the file. `None`: the file is read whole by [`read_content`], whose dispatch this one follows
/// on the file's first bytes.
fn read_by_path(
    path: &Path,
    root: &Path,
    name: &str,
    opts: &ReadOptions,
    each: &mut dyn FnMut(Result<Extracted, ReadError>),
) -> Option<Result<(), ReadError>> {
    use std::io::Read;
    let lower = name.to_ascii_lowercase();
    let ext = extension(&lower);
    let mut head = Vec::new();
    let size = std::fs::File::open(path)
        .and_then(|file| {
            let size = file.metadata()?.len();
            file.take(PATH_HEAD).read_to_end(&mut head).map(|_| size)
        })
        .ok()?;
    if lower.ends_with(".gz") {
        // Read whole below, unless it cannot be within the cap on what it decompresses to
        // (gzip barely ever expands): that is found from the stream, not from its bytes held.
        if size <= MAX_GUNZIPPED_BYTES {
            return None;
        }
        let file = std::fs::File::open(path).map(std::io::BufReader::new);
        return match file.map(|file| gunzip_len(file, MAX_GUNZIPPED_BYTES)) {
            Ok(Err(e)) => Some(Err(e)),
            _ => None,
        };
    }
    if image::Image::sniff(&head).is_some()
        || image::EXTENSIONS.contains(&ext.as_str())
        || office::Office::detect(&ext, &head).is_some()
        || ext == "msg"
        || office::legacy::Legacy::detect(&ext).is_some()
        || LEGACY_OFFICE.contains(&ext.as_str())
        || head.starts_with(OLE_MAGIC)
    {
        return None;
    }
    let read = match detect(&ext, &head).ok()? {
        Format::Pdf => read_pdf_file(path, name, opts).map(|doc| each(Ok(doc))),
        Format::Email => email::read_path(path, ext == "eml", opts, each),
        Format::Text(format) if size > text::MAX_TEXT_BYTES => {
            let ext = stored_ext(&ext, format, false);
            text::read_head(format, path, ext, name)
                .and_then(|doc| with_sidecar(path, doc))
                .map(|doc| each(Ok(doc)))
        }
        Format::JsonLines => jsonl::read_path(path, root, opts, each),
        Format::Text(_) => return None,
    };
    Some(read)
}

/// A PDF on disk: its text from the extractor given the path (never its bytes), by OCR when it
/// has no text layer and OCR is asked, and its sidecar.
fn read_pdf_file(path: &Path, name: &str, opts: &ReadOptions) -> Result<Extracted, ReadError> {
    let mut doc = pdf::read(path, name, &opts.pdf)?;
    ocr::scanned_pdf(&mut doc, Some(path), name, opts.ocr.as_ref());
    with_sidecar(path, doc)
}

/// A PDF whose bytes are `raw` (an archive's member, an attachment), read through one
/// temporary file that the extractor and OCR both read; `raw` becomes the document's original
/// only when it reads (an attachment that does not is kept as it is).
fn read_pdf_bytes(
    raw: &mut Vec<u8>,
    name: &str,
    extractor: &PdfExtractor,
    ocr: Option<&ocr::Ocr>,
) -> Result<Extracted, ReadError> {
    let tmp = pdf::spill(raw)?;
    let text = pdf::extract(tmp.path(), extractor)?;
    let mut doc = pdf::to_extracted(text, std::mem::take(raw), name);
    ocr::scanned_pdf(&mut doc, Some(tmp.path()), name, ocr);
    Ok(doc)
}

/// `bytes` in a temporary file (`PREFIX…SUFFIX`), removed when dropped: for the readers that
/// run a tool on a file (pdftotext, Tesseract, catdoc) given bytes from an archive or an e-mail.
pub(crate) fn temporary(
    bytes: &[u8],
    prefix: &str,
    suffix: &str,
) -> Result<tempfile::NamedTempFile, String> {
    use std::io::Write;
    let mut tmp = tempfile::Builder::new()
        .prefix(prefix)
        .suffix(suffix)
        .tempfile()
        .map_err(|e| format!("cannot create a temporary file: {e}"))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.flush())
        .map_err(|e| format!("cannot write a temporary file: {e}"))?;
    Ok(tmp)
}

/// Reads one member of an archive, named `name` (its last component), whose bytes are `raw`:
/// the same dispatch as a file, but without a path (a PDF goes through a temporary file), a
/// sidecar, or JSON Lines (whose rows are ranges of their file).
pub fn read_member(
    name: &str,
    raw: Vec<u8>,
    opts: &ReadOptions,
    each: &mut dyn FnMut(Result<Extracted, ReadError>),
) -> Result<Option<Unsupported>, ReadError> {
    read_content(name, raw, None, opts, each)
}

/// The dispatch on a file's bytes `raw`, named `name`; `file`: its path and the folder given
/// to `add`, for a file on disk.
fn read_content(
    name: &str,
    raw: Vec<u8>,
    file: Option<(&Path, &Path)>,
    opts: &ReadOptions,
    each: &mut dyn FnMut(Result<Extracted, ReadError>),
) -> Result<Option<Unsupported>, ReadError> {
    let lower = name.to_ascii_lowercase();
    let (inner_name, gzipped) = match lower.strip_suffix(".gz") {
        Some(inner) if !inner.is_empty() => (inner.to_owned(), true),
        _ => (lower.clone(), false),
    };
    let ext = extension(&inner_name);
    if !gzipped {
        if let Some(format) = image::Image::sniff(&raw) {
            let path = file.map(|(path, _)| path);
            let doc = image::read(format, raw, name, path, opts.ocr.as_ref());
            each(Ok(match path {
                Some(path) => with_sidecar(path, doc)?,
                None => doc,
            }));
            return Ok(None);
        }
        if image::EXTENSIONS.contains(&ext.as_str()) {
            let reason = format!("a `.{ext}` file whose content is no image samizdat reads");
            return Ok(Some(Unsupported::new(&ext, &raw, reason)));
        }
        if let Some(format) = office::Office::detect(&ext, &raw) {
            let doc = office::read(format, raw, name, office::Caps::default())?;
            each(Ok(match file {
                Some((path, _)) => with_sidecar(path, doc)?,
                None => doc,
            }));
            return Ok(None);
        }
        if ext == "msg" || outlook::is_message(&raw) {
            return Ok(match outlook::read_msg(raw, opts)? {
                ReadOutcome::Unsupported(unsupported) => Some(unsupported),
                ReadOutcome::Documents(docs) => {
                    docs.into_iter().for_each(&mut *each);
                    None
                }
            });
        }
        if let Some(format) = office::legacy::Legacy::detect(&ext) {
            let doc = office::legacy::read(format, raw, name, &opts.pdf)?;
            each(Ok(match file {
                Some((path, _)) => with_sidecar(path, doc)?,
                None => doc,
            }));
            return Ok(None);
        }
        if matches!(ext.as_str(), "ppt" | "pot" | "pps") {
            let doc = office::ppt::read(raw, name, office::Caps::default())?;
            each(Ok(match file {
                Some((path, _)) => with_sidecar(path, doc)?,
                None => doc,
            }));
            return Ok(None);
        }
        if LEGACY_OFFICE.contains(&ext.as_str()) || raw.starts_with(OLE_MAGIC) {
            let reason =
                "a legacy Office binary file that is not DOC, XLS or PPT by its name: not read";
            return Ok(Some(Unsupported::new(&ext, &raw, reason)));
        }
    }
    // The decompressed content, or the raw bytes themselves (not a copy: a file of one 200 MiB
    // line must not cost two).
    let gunzipped = if gzipped {
        Some(gunzip(&raw, MAX_GUNZIPPED_BYTES)?)
    } else {
        None
    };
    let content: &[u8] = gunzipped.as_deref().unwrap_or(&raw);
    let format = match detect(&ext, content) {
        Ok(format) => format,
        Err(reason) => return Ok(Some(Unsupported::new(&ext, content, reason))),
    };
    let gzip = |reason: &str| Some(Unsupported::new(&ext, content, reason));
    let mut all = |outcome: ReadOutcome| match outcome {
        ReadOutcome::Unsupported(unsupported) => Some(unsupported),
        ReadOutcome::Documents(docs) => {
            docs.into_iter().for_each(&mut *each);
            None
        }
    };
    match format {
        Format::Email if gzipped => Ok(gzip(
            "gzip-compressed e-mail is not ingested: expected an uncompressed message or mbox",
        )),
        Format::Email => Ok(all(email::read(content, ext == "eml", opts)?)),
        Format::Pdf if gzipped => Ok(gzip(
            "gzip-compressed PDF is not ingested: expected an uncompressed PDF",
        )),
        Format::Pdf => {
            let doc = match file {
                Some((path, _)) => read_pdf_file(path, name, opts)?,
                None => {
                    let mut raw = raw;
                    read_pdf_bytes(&mut raw, name, &opts.pdf, opts.ocr.as_ref())?
                }
            };
            each(Ok(doc));
            Ok(None)
        }
        Format::JsonLines if gzipped => Ok(gzip(
            "gzip-compressed JSON Lines are not ingested: expected an uncompressed .jsonl",
        )),
        Format::JsonLines => match file {
            Some((path, root)) => {
                jsonl::read(content, path, root, opts, each)?;
                Ok(None)
            }
            None => Ok(gzip(
                "JSON Lines inside an archive are not read: a row's original is a range of its own file",
            )),
        },
        Format::Text(format) => {
            let file_ext = stored_ext(&ext, format, gzipped);
            let doc = match (gunzipped, file) {
                (Some(content), _) => text::read(format, &content, raw, file_ext, name)?,
                (None, Some((path, _))) => text::read_owned(format, raw, path, file_ext, name)?,
                (None, None) => text::read_vec(format, raw, file_ext, name)?,
            };
            let doc = match file {
                Some((path, _)) => with_sidecar(path, doc)?,
                None => doc,
            };
            each(Ok(doc));
            Ok(None)
        }
    }
}

/// `doc`, the one document of the file at `path`, with what its sidecar gives (see [`sidecar`]).
fn with_sidecar(path: &Path, mut doc: Extracted) -> Result<Extracted, ReadError> {
    if let Some(sidecar_path) = sidecar::path_for(path) {
        sidecar::read(&sidecar_path)
            .and_then(|s| s.apply(&mut doc, &sidecar_path))
            .map_err(ReadError::file)?;
    }
    Ok(doc)
}

/// Picks a format from the (inner, lowercased) extension and the decompressed content; `Err` is the
/// reason the file is not a document.
fn detect(ext: &str, content: &[u8]) -> Result<Format, String> {
    if content.starts_with(b"%PDF-") || ext == "pdf" {
        return Ok(Format::Pdf);
    }
    match ext {
        "eml" | "mbox" => return Ok(Format::Email),
        "jsonl" | "ndjson" => return Ok(Format::JsonLines),
        "md" | "markdown" => return Ok(Format::Text(text::TextFormat::Markdown)),
        "rst" => return Ok(Format::Text(text::TextFormat::Rst)),
        "html" | "htm" | "xhtml" => return Ok(Format::Text(text::TextFormat::Html)),
        _ => {}
    }
    if email::looks_like_email(content) {
        return Ok(Format::Email);
    }
    // A `.txt` or any other name: text in whatever encoding, unless its content is binary.
    match decode::binary_reason(content) {
        Some(why) => Err(format!(
            "{why}: not text, and no document format samizdat reads"
        )),
        None => Ok(Format::Text(text::TextFormat::Plain)),
    }
}

/// The `ext` to record for a text document: a known one, else the file's own if it is short and
/// plain, else `txt`; with `.gz` appended when the file was compressed.
fn stored_ext(ext: &str, format: text::TextFormat, gzipped: bool) -> String {
    let base = match format {
        text::TextFormat::Plain if is_plain_ext(ext) => ext,
        text::TextFormat::Plain => "txt",
        _ => ext,
    };
    if gzipped {
        format!("{base}.gz")
    } else {
        base.to_owned()
    }
}

pub(crate) fn is_plain_ext(ext: &str) -> bool {
    !ext.is_empty() && ext.len() <= 10 && ext.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The final component of `path` as (lossy) UTF-8.
pub(crate) fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// The lowercase extension of a file name, without the dot; empty when there is none.
pub(crate) fn extension(name: &str) -> String {
    match name.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => ext.to_ascii_lowercase(),
        _ => String::new(),
    }
}

/// Decompresses gzip data, refusing more than `limit` bytes of output.
pub fn gunzip(data: &[u8], limit: u64) -> Result<Vec<u8>, ReadError> {
    use std::io::Read;
    let mut out = Vec::new();
    let decoder = flate2::read::MultiGzDecoder::new(data);
    let mut limited = decoder.take(limit + 1);
    limited.read_to_end(&mut out).map_err(gzip_error)?;
    check_gunzipped(out.len() as u64, limit)?;
    Ok(out)
}

/// How many bytes the gzip stream `data` decompresses to, up to `limit` (more is an `Err`, as
/// in [`gunzip`]), without keeping them.
fn gunzip_len(data: impl std::io::BufRead, limit: u64) -> Result<u64, ReadError> {
    use std::io::Read;
    let decoder = flate2::bufread::MultiGzDecoder::new(data);
    let len =
        std::io::copy(&mut decoder.take(limit + 1), &mut std::io::sink()).map_err(gzip_error)?;
    check_gunzipped(len, limit)?;
    Ok(len)
}

fn gzip_error(e: std::io::Error) -> ReadError {
    let reason = match e.kind() {
        std::io::ErrorKind::UnexpectedEof => "truncated gzip: the stream ends early".to_owned(),
        _ => format!("invalid gzip: {e}"),
    };
    ReadError::file(reason)
}

fn check_gunzipped(len: u64, limit: u64) -> Result<(), ReadError> {
    if len > limit {
        return Err(ReadError::file(format!(
            "gzip bomb: decompresses to more than {} MiB",
            limit >> 20
        )));
    }
    Ok(())
}

/// Longest title taken from a document's first line.
pub const MAX_TITLE_CHARS: usize = 200;

/// The first non-empty line, trimmed and cut at a word to [`MAX_TITLE_CHARS`].
pub(crate) fn first_line_title(text: &str) -> Option<String> {
    let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
    Some(cut_at_word(line, MAX_TITLE_CHARS))
}

pub(crate) use title::cut_at_word;

/// A media type for a file extension (as recorded in `Extracted::ext`).
pub fn media_type_for_ext(ext: &str) -> &'static str {
    let (ext, gz) = match ext.strip_suffix(".gz") {
        Some(inner) => (inner, true),
        None => (ext, false),
    };
    if gz {
        return "application/gzip";
    }
    match ext {
        "pdf" => "application/pdf",
        "eml" => "message/rfc822",
        "html" | "htm" => "text/html",
        "xhtml" => "application/xhtml+xml",
        "md" | "markdown" => "text/markdown",
        "rst" => "text/x-rst",
        "txt" | "text" => "text/plain",
        "json" => "application/json",
        "jsonl" | "ndjson" => "application/x-ndjson",
        "csv" => "text/csv",
        "xml" => "application/xml",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "svg" => "image/svg+xml",
        "webp" => "image/webp",
        "tif" | "tiff" => "image/tiff",
        "bmp" => "image/bmp",
        "zip" => "application/zip",
        "doc" => "application/msword",
        "docx" => "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        "xls" => "application/vnd.ms-excel",
        "xlsx" => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "odt" => "application/vnd.oasis.opendocument.text",
        "rtf" => "application/rtf",
        "mp3" => "audio/mpeg",
        "mp4" => "video/mp4",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests;
