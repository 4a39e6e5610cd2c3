//! JSON Lines imports: one document per line, as a publisher exports them from elsewhere.
//!
//! A line is `{"id", "title", "date", "origin", "kind", "tags": [..], "body", "path"}`; every field
//! is optional but one of `body` and `path` is required, and unknown fields are refused (a typo
//! would otherwise lose data silently). `path` names the publisher's original file, relative to the
//! JSON Lines file's folder, and must stay inside the archive's root after following symlinks. A
//! bad line is an `Err` entry with locator `line N`; the others are still read.

use super::{ReadError, ReadOptions, extension, media_type_for_ext};
use crate::fence::Fence;
use crate::model::{DocId, Extracted, IdSource, Kind};
use serde::Deserialize;
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime, UtcOffset};

/// One line of a JSON Lines import.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Row {
    id: Option<String>,
    title: Option<String>,
    date: Option<String>,
    origin: Option<String>,
    kind: Option<String>,
    #[serde(default)]
    tags: Vec<String>,
    body: Option<String>,
    path: Option<String>,
}

/// Longest line read as a row: a longer one is an error of that line, skipped without being
/// held (a row's body costs its size about three times while it is read).
pub const MAX_ROW_BYTES: u64 = 64 << 20;

/// Reads every non-blank line of a JSON Lines file at `path` whose bytes are `content`, handing
/// each row to `each` as soon as it is read (a row's file is never held longer than its row).
pub fn read(
    content: &[u8],
    path: &Path,
    root: &Path,
    opts: &ReadOptions,
    each: &mut dyn FnMut(Result<Extracted, ReadError>),
) -> Result<(), ReadError> {
    read_lines(content, path, root, opts, each)
}

/// As [`read`], from the file at `path` read as a stream: one row in memory at a time, however
/// large the file (issue 15, item 19).
pub fn read_path(
    path: &Path,
    root: &Path,
    opts: &ReadOptions,
    each: &mut dyn FnMut(Result<Extracted, ReadError>),
) -> Result<(), ReadError> {
    let file = std::fs::File::open(path).map_err(cannot_read)?;
    read_lines(
        std::io::BufReader::with_capacity(64 << 10, file),
        path,
        root,
        opts,
        each,
    )
}

fn cannot_read(e: std::io::Error) -> ReadError {
    ReadError::file(format!("cannot read: {e}"))
}

/// The rows of the JSON Lines file at `path`, read from `reader`.
fn read_lines(
    mut reader: impl BufRead,
    path: &Path,
    root: &Path,
    opts: &ReadOptions,
    each: &mut dyn FnMut(Result<Extracted, ReadError>),
) -> Result<(), ReadError> {
    let folder = path.parent().unwrap_or(Path::new("."));
    let root = root.canonicalize().map_err(|e| {
        ReadError::file(format!(
            "cannot resolve the archive root {}: {e}",
            root.display()
        ))
    })?;
    let mut offset = 0u64;
    let mut line = Vec::new();
    for n in 1.. {
        line.clear();
        let read = (&mut reader)
            .take(MAX_ROW_BYTES + 1)
            .read_until(b'\n', &mut line)
            .map_err(cannot_read)? as u64;
        if read == 0 {
            break;
        }
        let line_start = offset;
        offset += read;
        let locator = format!("line {n}");
        if !line.ends_with(b"\n") && read > MAX_ROW_BYTES {
            offset += skip_line(&mut reader).map_err(cannot_read)?;
            let reason = format!(
                "longer than {} MiB: not read (a row's text belongs in its file, named by `path`)",
                MAX_ROW_BYTES >> 20
            );
            each(Err(ReadError::at(&locator, reason)));
            continue;
        }
        let row = line.strip_suffix(b"\n").unwrap_or(&line);
        let row = row.strip_suffix(b"\r").unwrap_or(row);
        if row.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        // A row without a file is its own original: stored from the file, not from a copy of a
        // line that may be hundreds of MiB.
        let own = (path.to_owned(), (line_start, row.len() as u64));
        each(
            read_row(row, own, &locator, folder, &root, opts)
                .map_err(|reason| ReadError::at(&locator, reason)),
        );
    }
    Ok(())
}

/// Reads the rest of a line without keeping it; how many bytes it had.
fn skip_line(reader: &mut impl BufRead) -> std::io::Result<u64> {
    let mut skipped = 0u64;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(skipped);
        }
        let (n, end) = match buf.iter().position(|&b| b == b'\n') {
            Some(at) => (at + 1, true),
            None => (buf.len(), false),
        };
        reader.consume(n);
        skipped += n as u64;
        if end {
            return Ok(skipped);
        }
    }
}

fn read_row(
    line: &[u8],
    own: (PathBuf, (u64, u64)),
    locator: &str,
    folder: &Path,
    root: &Path,
    opts: &ReadOptions,
) -> Result<Extracted, String> {
    let text = std::str::from_utf8(line).map_err(|e| {
        format!(
            "invalid UTF-8 at byte {} of the line: expected UTF-8 JSON",
            e.valid_up_to()
        )
    })?;
    let row: Row = serde_json::from_str(text).map_err(|e| format!("invalid JSON: {e}"))?;
    let id_source = match &row.id {
        Some(id) => IdSource::Explicit(DocId::new(id)?.as_str().to_owned()),
        None => IdSource::Path,
    };
    let date = row.date.as_deref().map(parse_date).transpose()?;
    if row.body.is_none() && row.path.is_none() {
        return Err("neither body nor path: expected at least one of them".into());
    }
    let (original_file, original_part, ext, media_type, file_text) = match &row.path {
        Some(rel) => {
            let file = resolve(folder, root, rel, &opts.fence)?;
            let name = super::file_name(&file).to_ascii_lowercase();
            let ext = match name.strip_suffix(".gz") {
                Some(inner) => format!("{}.gz", extension(inner)),
                None => extension(&name),
            };
            let ext = if ext.is_empty() || ext == ".gz" {
                "bin".to_owned()
            } else {
                ext
            };
            let file_text = match row.body {
                Some(_) => None,
                None => Some(text_of_file(&file, root, rel, opts)?),
            };
            let media_type = media_type_for_ext(&ext).to_owned();
            // The bytes are stored from the file as a stream, by `add`.
            (Some(file), None, ext, media_type, file_text)
        }
        None => (
            Some(own.0),
            Some(own.1),
            "json".to_owned(),
            "application/json".to_owned(),
            None,
        ),
    };
    let text = row.body.or(file_text).unwrap_or_default();
    let title = row
        .title
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .map(str::to_owned)
        .or_else(|| super::first_line_title(&text))
        .or_else(|| row.id.clone())
        .unwrap_or_else(|| locator.to_owned());
    Ok(Extracted {
        id_source,
        date,
        origin: row.origin,
        tags: row.tags,
        record_kind: row.kind,
        text,
        locator: Some(locator.to_owned()),
        original_file,
        original_part,
        ..Extracted::new(Kind::Record, title, ext, media_type)
    })
}

/// Resolves a row's `path` against the JSON Lines file's folder, refusing anything outside `root`
/// (the canonical root), both as written and after following symlinks; anything hidden below
/// `root` (the folder walk skips hidden files, and a row may not name what the walk would skip);
/// and anything in the archive's own folder (`fence`).
fn resolve(folder: &Path, root: &Path, rel: &str, fence: &Fence) -> Result<PathBuf, String> {
    if rel.trim().is_empty() {
        return Err("empty path: expected a file relative to the JSON Lines file".into());
    }
    let folder = folder
        .canonicalize()
        .map_err(|e| format!("cannot resolve the folder of the JSON Lines file: {e}"))?;
    let joined = lexically_normal(&folder.join(rel));
    if !joined.starts_with(root) {
        return Err("path outside the archive".into());
    }
    let real = joined
        .canonicalize()
        .map_err(|e| format!("path {rel:?} not found: {e}"))?;
    if !real.starts_with(root) {
        return Err("path outside the archive".into());
    }
    if let Some(why) = fence.refuses(&real) {
        return Err(format!("path {rel:?}: {why}"));
    }
    if hidden_below(&joined, root) || hidden_below(&real, root) {
        return Err(format!(
            "path {rel:?} is a hidden file or inside a hidden folder: skipped, as the folder walk skips them"
        ));
    }
    if !real.is_file() {
        return Err(format!("path {rel:?} is not a file"));
    }
    Ok(real)
}

/// Whether a component of `path` below `root` starts with a dot.
fn hidden_below(path: &Path, root: &Path) -> bool {
    path.strip_prefix(root).is_ok_and(|below| {
        below
            .components()
            .any(|c| c.as_os_str().as_encoded_bytes().starts_with(b"."))
    })
}

/// `path` with `.` and `..` components resolved without touching the file system.
fn lexically_normal(path: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// The text of a row's file, read with the reader its format calls for.
fn text_of_file(file: &Path, root: &Path, rel: &str, opts: &ReadOptions) -> Result<String, String> {
    let ext = extension(&super::file_name(file));
    if ext == "jsonl" || ext == "ndjson" {
        return Err(format!(
            "path {rel:?} is another JSON Lines file: expected a document"
        ));
    }
    // Only the texts are kept, each document let go as soon as it is read.
    let mut texts = Vec::new();
    let mut failed = None;
    let read = super::read_each(file, root, opts, &mut |doc| match doc {
        Ok(doc) => texts.push(doc.text),
        Err(e) => {
            failed.get_or_insert(e);
        }
    });
    match (read, failed) {
        (Ok(Some(_unsupported)), _) => Ok(String::new()),
        (Ok(None), None) => Ok(texts.join("\n\n")),
        (Ok(None), Some(e)) | (Err(e), _) => Err(format!("cannot read path {rel:?}: {e}")),
    }
}

/// A row's date: `YYYY-MM-DD`, RFC 3339, or `YYYY-MM-DDTHH:MM:SS` (UTC); normalised to UTC.
pub fn parse_date(s: &str) -> Result<OffsetDateTime, String> {
    let s = s.trim();
    let expected = || {
        format!("invalid date {s:?}: expected YYYY-MM-DD, RFC 3339 or YYYY-MM-DDTHH:MM:SS (UTC)")
    };
    if let Ok(dt) = OffsetDateTime::parse(s, &Rfc3339) {
        return Ok(dt.to_offset(UtcOffset::UTC));
    }
    let naive = format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]");
    if let Ok(dt) = PrimitiveDateTime::parse(s, naive) {
        return Ok(dt.assume_utc());
    }
    let day = format_description!("[year]-[month]-[day]");
    if let Ok(d) = Date::parse(s, day) {
        return Ok(d.midnight().assume_utc());
    }
    Err(expected())
}
