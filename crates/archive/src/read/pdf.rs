//! PDF: text per page and the document info, extracted in a child process.
//!
//! PDF parsers panic, loop or eat memory on hostile files, so the parsing never happens in the
//! caller. [`read`] runs the [`PdfExtractor`] command (which calls [`child_main`]) on the file, kills
//! it after the wall-clock timeout, caps what it may print, and turns every way it can fail (timeout,
//! out of memory, signal, parse error, panic) into a [`ReadError`] naming why.
//!
//! The child sets its own address-space limit (`RLIMIT_AS`) from [`MEMORY_LIMIT_ENV`] before it
//! reads a byte, parses with `pdf-extract` (falling back to `lopdf`'s simpler text extraction for a
//! page `pdf-extract` fails on), extracts pages on a worker thread so that one page stuck in a loop
//! costs at most [`PAGE_TIMEOUT_ENV`] milliseconds, and prints one JSON [`ChildReport`] on stdout.

use super::{PdfExtractor, ReadError};
use crate::model::{Extracted, Kind};
use pdf_extract::{Document, Object};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// Environment variable carrying the child's address-space limit, in bytes.
pub const MEMORY_LIMIT_ENV: &str = "SAMIZDAT_PDF_MEMORY_LIMIT";
/// Environment variable carrying the longest time one page may take, in milliseconds.
pub const PAGE_TIMEOUT_ENV: &str = "SAMIZDAT_PDF_PAGE_TIMEOUT_MS";
/// Environment variable carrying the time after which the child stops and reports the pages it has.
pub const DEADLINE_ENV: &str = "SAMIZDAT_PDF_DEADLINE_MS";
/// Most bytes of JSON the parent accepts from the child.
pub const MAX_OUTPUT_BYTES: usize = 128 << 20;
/// Most bytes of stderr the parent keeps (to explain a crash).
const MAX_STDERR_BYTES: usize = 16 << 10;
/// Most page errors the child reports in detail.
const MAX_PAGE_ERRORS: usize = 5;

/// What the child prints on stdout: exactly one JSON object.
#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChildReport {
    Ok(PdfText),
    Error(String),
}

/// The text and metadata of one PDF, as the child found them.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct PdfText {
    /// The text of each page, in order; a page that failed is empty.
    pub pages: Vec<String>,
    /// Document info `Title`, `Author` and the raw `CreationDate` (`D:YYYYMMDDHHmmSS+HH'mm'`).
    pub title: Option<String>,
    pub author: Option<String>,
    pub creation_date: Option<String>,
    /// How many pages `pdf-extract` failed on and `lopdf` was used for instead.
    pub fallback_pages: u32,
    /// The first few pages that failed with both extractors, with why.
    pub page_errors: Vec<String>,
    pub failed_pages: u32,
    /// Set when extraction stopped early (a page took too long); `pages` holds what was extracted.
    pub stopped: Option<String>,
}

impl PdfText {
    /// All pages, joined with form feeds.
    pub fn text(&self) -> String {
        self.pages.join("\u{c}")
    }
}

/// Reads a PDF file into one document, extracting in a child process that is given its path:
/// this process never holds the file's bytes, and its original is stored from the file as a
/// stream.
pub fn read(path: &Path, name: &str, extractor: &PdfExtractor) -> Result<Extracted, ReadError> {
    let pdf = extract(path, extractor)?;
    Ok(Extracted {
        original_file: Some(path.to_owned()),
        ..to_extracted(pdf, Vec::new(), name)
    })
}

/// PDF bytes (an archive's member, an attachment) in a temporary file, for the extractor and
/// OCR to read by its path.
pub(crate) fn spill(bytes: &[u8]) -> Result<tempfile::NamedTempFile, ReadError> {
    super::temporary(bytes, "samizdat-pdf-", ".pdf").map_err(ReadError::file)
}

/// Turns extracted PDF text into a document.
pub(crate) fn to_extracted(pdf: PdfText, raw: Vec<u8>, name: &str) -> Extracted {
    let text = pdf.text();
    let title = pdf
        .title
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(|t| super::cut_at_word(t, super::MAX_TITLE_CHARS))
        .or_else(|| super::first_line_title(&text))
        .unwrap_or_else(|| name.to_owned());
    Extracted {
        date: pdf.creation_date.as_deref().and_then(parse_pdf_date),
        author: pdf
            .author
            .as_deref()
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(str::to_owned),
        pages: Some(u32::try_from(pdf.pages.len()).unwrap_or(u32::MAX)),
        original: raw,
        text,
        ..Extracted::new(Kind::Pdf, title, "pdf", "application/pdf")
    }
}

/// Runs the extractor on `path` and returns what the child found, or why it failed.
pub fn extract(path: &Path, extractor: &PdfExtractor) -> Result<PdfText, ReadError> {
    let timeout = extractor.timeout;
    // The child stops by itself a little before we would kill it, so a long PDF keeps the pages
    // it got through; one page may take at most a third of the budget.
    let deadline_ms = timeout.as_millis().saturating_mul(4) / 5;
    let page_ms = (timeout.as_millis() / 3).max(1);
    let mut child = Command::new(&extractor.program)
        .args(&extractor.args)
        .arg(path)
        .env(MEMORY_LIMIT_ENV, extractor.memory_limit_bytes.to_string())
        .env(PAGE_TIMEOUT_ENV, page_ms.to_string())
        .env(DEADLINE_ENV, deadline_ms.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            ReadError::file(format!(
                "cannot start the PDF extractor {}: {e}",
                extractor.program.display()
            ))
        })?;

    let overflow = Arc::new(AtomicBool::new(false));
    let stdout = child.stdout.take().map(|out| {
        let overflow = Arc::clone(&overflow);
        std::thread::spawn(move || read_capped(out, MAX_OUTPUT_BYTES, Some(&overflow)))
    });
    let stderr = child
        .stderr
        .take()
        .map(|err| std::thread::spawn(move || read_capped(err, MAX_STDERR_BYTES, None)));

    let too_much = || {
        overflow.load(Ordering::Relaxed).then(|| {
            format!(
                "extractor output larger than {} MiB",
                MAX_OUTPUT_BYTES >> 20
            )
        })
    };
    let status = super::child::wait_within(&mut child, timeout, "the PDF extractor", too_much)
        .map_err(ReadError::file)?;
    let out = stdout.and_then(|h| h.join().ok()).unwrap_or_default();
    let err = stderr.and_then(|h| h.join().ok()).unwrap_or_default();
    if overflow.load(Ordering::Relaxed) {
        return Err(ReadError::file(format!(
            "extractor output larger than {} MiB",
            MAX_OUTPUT_BYTES >> 20
        )));
    }
    let err = String::from_utf8_lossy(&err);
    if let Some(reason) = crash_reason(status, &err, extractor.memory_limit_bytes) {
        return Err(ReadError::file(reason));
    }
    match serde_json::from_slice::<ChildReport>(&out) {
        Ok(ChildReport::Ok(pdf)) => Ok(pdf),
        Ok(ChildReport::Error(reason)) => Err(ReadError::file(oom_or(
            reason,
            &err,
            extractor.memory_limit_bytes,
        ))),
        Err(e) => Err(ReadError::file(format!(
            "the PDF extractor exited with {status} and printed no valid report ({e}){}",
            stderr_tail(&err)
        ))),
    }
}

/// Reads at most `cap` bytes, then drains (and drops) the rest so the child never blocks on a full pipe.
fn read_capped(mut from: impl Read, cap: usize, overflow: Option<&AtomicBool>) -> Vec<u8> {
    let mut kept = Vec::new();
    let mut buf = [0u8; 64 * 1024];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => return kept,
            Ok(n) => {
                let room = cap.saturating_sub(kept.len());
                kept.extend_from_slice(&buf[..n.min(room)]);
                if n > room
                    && let Some(flag) = overflow
                {
                    flag.store(true, Ordering::Relaxed);
                    return kept;
                }
            }
        }
    }
}

/// Why a child that died by a signal or abort failed; `None` when it exited normally.
fn crash_reason(status: std::process::ExitStatus, stderr: &str, limit: u64) -> Option<String> {
    use std::os::unix::process::ExitStatusExt;
    let signal = status.signal()?;
    if stderr.contains("memory allocation of") {
        return Some(out_of_memory(limit));
    }
    if stderr.contains("has overflowed its stack") {
        return Some("stack overflow in the PDF parser".into());
    }
    let name = match signal {
        4 => " (SIGILL)",
        6 => " (SIGABRT)",
        7 => " (SIGBUS)",
        9 => " (SIGKILL, perhaps out of memory)",
        11 => " (SIGSEGV)",
        _ => "",
    };
    Some(format!(
        "the PDF extractor crashed with signal {signal}{name}{}",
        stderr_tail(stderr)
    ))
}

fn oom_or(reason: String, stderr: &str, limit: u64) -> String {
    if stderr.contains("memory allocation of") || reason.contains("out of memory") {
        out_of_memory(limit)
    } else {
        reason
    }
}

fn out_of_memory(limit: u64) -> String {
    format!("out of memory (limit {} MiB)", limit >> 20)
}

fn stderr_tail(stderr: &str) -> String {
    let line = stderr.lines().map(str::trim).rfind(|l| !l.is_empty());
    match line {
        Some(line) => format!(": {}", super::cut_at_word(line, 300)),
        None => String::new(),
    }
}

/// The child process: extract `path` and print a [`ChildReport`] as JSON on stdout.
///
/// Returns the exit code: 0 when the PDF was read, 2 when it could not be, 3 when the report could
/// not be written.
pub fn child_main(path: &Path) -> i32 {
    // Panics are caught and reported in the JSON; the default hook would only add noise on stderr.
    std::panic::set_hook(Box::new(|_| {}));
    let report = match set_memory_limit() {
        Err(reason) => ChildReport::Error(reason),
        Ok(()) => match catch_unwind(|| extract_here(path)) {
            Ok(Ok(pdf)) => ChildReport::Ok(pdf),
            Ok(Err(reason)) => ChildReport::Error(reason),
            Err(payload) => ChildReport::Error(format!(
                "the PDF parser panicked: {}",
                panic_message(payload.as_ref())
            )),
        },
    };
    let code = match report {
        ChildReport::Ok(_) => 0,
        ChildReport::Error(_) => 2,
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    if serde_json::to_writer(&mut out, &report).is_err() || out.flush().is_err() {
        return 3;
    }
    code
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok()?.trim().parse().ok()
}

fn set_memory_limit() -> Result<(), String> {
    let Some(limit) = env_u64(MEMORY_LIMIT_ENV) else {
        return Ok(());
    };
    rlimit::setrlimit(rlimit::Resource::AS, limit, limit)
        .map_err(|e| format!("cannot set the memory limit to {limit} bytes: {e}"))
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".into()
    }
}

/// Extraction proper, in the child.
fn extract_here(path: &Path) -> Result<PdfText, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read: {e}"))?;
    let mut doc = Document::load_mem(&bytes).map_err(|e| format!("parse error: {e}"))?;
    drop(bytes);
    if doc.is_encrypted() {
        doc.decrypt("")
            .map_err(|e| format!("encrypted PDF that cannot be opened without a password: {e}"))?;
    }
    let mut pdf = PdfText {
        title: info_string(&doc, b"Title"),
        author: info_string(&doc, b"Author"),
        creation_date: info_string(&doc, b"CreationDate"),
        ..PdfText::default()
    };
    let page_numbers: Vec<u32> = doc.get_pages().keys().copied().collect();
    let total = page_numbers.len();
    let page_budget = Duration::from_millis(env_u64(PAGE_TIMEOUT_ENV).unwrap_or(20_000));
    let deadline = env_u64(DEADLINE_ENV).map(|ms| Instant::now() + Duration::from_millis(ms));

    let (tx, rx) = mpsc::channel();
    let numbers = page_numbers.clone();
    // The worker owns the document; if a page never finishes, the process exits without it.
    std::thread::Builder::new()
        .name("pdf-pages".into())
        .spawn(move || {
            for n in numbers {
                if tx.send(page_text(&doc, n)).is_err() {
                    break;
                }
            }
        })
        .map_err(|e| format!("cannot start the page thread (out of memory?): {e}"))?;

    for n in page_numbers {
        let mut wait = page_budget;
        if let Some(deadline) = deadline {
            wait = wait.min(deadline.saturating_duration_since(Instant::now()));
        }
        let page = match rx.recv_timeout(wait) {
            Ok(page) => page,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                pdf.stopped = Some(format!(
                    "stopped at page {n} of {total}: time limit of {:.1} s reached",
                    wait.as_secs_f64()
                ));
                break;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                return Err(format!("the page thread stopped at page {n}"));
            }
        };
        match page {
            PageText::Extracted(text) => pdf.pages.push(text),
            PageText::Fallback(text) => {
                pdf.fallback_pages += 1;
                pdf.pages.push(text);
            }
            PageText::Failed(reason) => {
                pdf.failed_pages += 1;
                if pdf.page_errors.len() < MAX_PAGE_ERRORS {
                    pdf.page_errors.push(format!("page {n}: {reason}"));
                }
                pdf.pages.push(String::new());
            }
        }
    }
    if let Some(stopped) = &pdf.stopped
        && pdf.pages.iter().all(|p| p.trim().is_empty())
    {
        return Err(stopped.clone());
    }
    if total > 0 && pdf.failed_pages as usize == total {
        return Err(format!(
            "no page could be extracted: {}",
            pdf.page_errors.first().map_or("", String::as_str)
        ));
    }
    Ok(pdf)
}

enum PageText {
    Extracted(String),
    Fallback(String),
    Failed(String),
}

/// One page's text: `pdf-extract` first, `lopdf`'s own extraction when it fails or panics.
fn page_text(doc: &Document, n: u32) -> PageText {
    let primary = catch_unwind(AssertUnwindSafe(|| {
        let mut s = String::new();
        let mut output = pdf_extract::PlainTextOutput::new(&mut s);
        pdf_extract::output_doc_page(doc, &mut output, n).map(|()| s)
    }));
    let why = match primary {
        Ok(Ok(text)) => return PageText::Extracted(text),
        Ok(Err(e)) => format!("{e:?}"),
        Err(payload) => format!("panic: {}", panic_message(payload.as_ref())),
    };
    match catch_unwind(AssertUnwindSafe(|| doc.extract_text(&[n]))) {
        Ok(Ok(text)) => PageText::Fallback(text),
        Ok(Err(e)) => PageText::Failed(format!("{why}; lopdf: {e}")),
        Err(payload) => PageText::Failed(format!(
            "{why}; lopdf panicked: {}",
            panic_message(payload.as_ref())
        )),
    }
}

/// A string entry of the document info dictionary, decoded.
fn info_string(doc: &Document, key: &[u8]) -> Option<String> {
    let info = doc.trailer.get(b"Info").ok()?;
    let info = match info {
        Object::Reference(id) => doc.get_object(*id).ok()?,
        other => other,
    };
    let value = info.as_dict().ok()?.get(key).ok()?;
    let value = match value {
        Object::Reference(id) => doc.get_object(*id).ok()?,
        other => other,
    };
    match value {
        Object::String(bytes, _) => {
            let s = decode_pdf_string(bytes);
            let s = s.trim_matches(|c: char| c.is_whitespace() || c == '\0');
            (!s.is_empty()).then(|| s.to_owned())
        }
        _ => None,
    }
}

/// Decodes a PDF text string: UTF-16BE or UTF-8 with a byte-order mark, else PDFDocEncoding
/// (Latin-1 with a few typographic characters in 0x80–0x9F).
pub fn decode_pdf_string(bytes: &[u8]) -> String {
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        let units: Vec<u16> = rest
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .collect();
        return String::from_utf16_lossy(&units);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return String::from_utf8_lossy(rest).into_owned();
    }
    bytes.iter().map(|&b| pdfdoc_char(b)).collect()
}

fn pdfdoc_char(b: u8) -> char {
    const HIGH: [char; 32] = [
        '•', '†', '‡', '…', '—', '–', 'ƒ', '⁄', '‹', '›', '−', '‰', '„', '“', '”', '‘', '’', '‚',
        '™', 'ﬁ', 'ﬂ', 'Ł', 'Œ', 'Š', 'Ÿ', 'Ž', 'ı', 'ł', 'œ', 'š', 'ž', '\u{fffd}',
    ];
    match b {
        0x80..=0x9F => HIGH[usize::from(b - 0x80)],
        0xA0 => '€',
        _ => char::from(b),
    }
}

/// Parses a PDF date (`D:YYYYMMDDHHmmSSOHH'mm'`, every part after the year optional) to UTC.
pub fn parse_pdf_date(s: &str) -> Option<OffsetDateTime> {
    let s = s.trim();
    let s = s.strip_prefix("D:").unwrap_or(s);
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    if digits < 4 {
        return None;
    }
    let (stamp, zone) = s.split_at(digits);
    let num = |from: usize, len: usize, default: u32| -> Option<u32> {
        match stamp.get(from..from + len) {
            Some(part) => part.parse().ok(),
            None if stamp.len() <= from => Some(default),
            None => None,
        }
    };
    let year = i32::try_from(num(0, 4, 0)?).ok()?;
    let month = Month::try_from(u8::try_from(num(4, 2, 1)?).ok()?).ok()?;
    let day = u8::try_from(num(6, 2, 1)?).ok()?;
    let hour = u8::try_from(num(8, 2, 0)?).ok()?;
    let minute = u8::try_from(num(10, 2, 0)?).ok()?;
    let second = u8::try_from(num(12, 2, 0)?).ok()?.min(59);
    let date = Date::from_calendar_date(year, month, day).ok()?;
    let time = Time::from_hms(hour, minute, second).ok()?;
    let offset = parse_pdf_offset(zone).unwrap_or(UtcOffset::UTC);
    Some(
        PrimitiveDateTime::new(date, time)
            .assume_offset(offset)
            .to_offset(UtcOffset::UTC),
    )
}

/// `Z`, `+HH'mm'`, `-HH'mm`, `+HH` and the like; `None` for anything else.
fn parse_pdf_offset(zone: &str) -> Option<UtcOffset> {
    let mut chars = zone.chars();
    let sign: i8 = match chars.next()? {
        'Z' | 'z' => return Some(UtcOffset::UTC),
        '+' => 1,
        '-' => -1,
        _ => return None,
    };
    let rest: String = chars.filter(|c| c.is_ascii_digit()).collect();
    let hours: i8 = rest.get(0..2)?.parse().ok()?;
    let minutes: i8 = rest.get(2..4).and_then(|m| m.parse().ok()).unwrap_or(0);
    UtcOffset::from_hms(sign * hours, sign * minutes, 0).ok()
}
