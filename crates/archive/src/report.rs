//! The report of one `add`: `ARCHIVE/reports/add-<time>.jsonl`, one JSON line per file (or per
//! document, for a file that holds several) saying what became of it, then one summary line.
//!
//! A publisher audits what was left out of the archive from it: every file the walk found is named,
//! with its outcome (`ingested`, `updated`, `unchanged`, `unsupported` with the type detected,
//! `duplicate` of which document, `failed` and why, `gone`). Lines are written as `add` decides,
//! so a report costs a buffer, not a line per file held until the end.

use crate::error::{Error, ErrorKind};
use serde::Serialize;
use std::fs::{self, File, OpenOptions};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use time::OffsetDateTime;

/// One line of the report: a file, the place inside it when it holds several documents, and what
/// became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Line {
    /// The file as found by the walk (or, for `gone`, the document's source).
    pub path: String,
    /// Where inside the file, for a file of several documents (`line 3`, `message 2`,
    /// `attachment-1`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub part: Option<String>,
    #[serde(flatten)]
    pub outcome: Outcome,
    /// For an image or a PDF read: what OCR did (`ran (eng): 2 of 2 pages, …`, `not asked: …`,
    /// `not needed: …`, `failed: why`, a cut and why).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ocr: Option<String>,
    /// What a reader left out of a document it kept, and why: a cut (`cut: sheet 'Ledger'
    /// stops at row 2000001: ...`, `cut: word/document.xml stops at 256 MiB ...`) or an
    /// attachment kept without its text. Empty (and not written) for most lines.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

/// What became of a file or document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "lowercase")]
pub enum Outcome {
    /// New to the archive, as document `id`.
    Ingested { id: String },
    /// Read again because its file changed; document `id` changed.
    Updated { id: String },
    /// Already in the archive as it is (a file not read again has no `id` here).
    Unchanged {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<String>,
    },
    /// No document format samizdat reads: the media type detected, and why it was skipped.
    Unsupported {
        detected_type: String,
        reason: String,
    },
    /// The archive already holds the same document: document `of`.
    Duplicate { of: String },
    /// Not ingested, and why (the next `add` tries it again).
    Failed { reason: String },
    /// Document `id`'s source is gone; `withdrawn` when `add --withdraw-missing` withdrew it.
    Gone { id: String, withdrawn: bool },
    /// A sidecar: the metadata of the document file `of`, read with it.
    Metadata { of: String },
}

/// The counts of the last line, `{"summary": {...}}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub files: u64,
    pub ingested: u64,
    pub updated: u64,
    pub unchanged: u64,
    pub unsupported: u64,
    pub duplicates: u64,
    pub renamed: u64,
    pub failed: u64,
    pub gone: u64,
    pub withdrawn: u64,
    pub sidecars: u64,
    /// Documents whose text OCR recognised (`add --ocr`).
    pub ocr: u64,
}

/// The report being written.
pub struct Writer {
    path: PathBuf,
    out: BufWriter<File>,
}

impl Writer {
    /// Creates `dir/add-<time>.jsonl` (`-2`, `-3`... when an `add` of the same second wrote one),
    /// creating `dir` if needed. `at` is the time the `add` started.
    pub fn create(dir: &Path, at: OffsetDateTime) -> Result<Writer, Error> {
        fs::create_dir_all(dir).map_err(|e| io_error(dir, "cannot create the folder", e))?;
        let stem = format!(
            "add-{:04}-{:02}-{:02}T{:02}-{:02}-{:02}Z",
            at.year(),
            u8::from(at.month()),
            at.day(),
            at.hour(),
            at.minute(),
            at.second()
        );
        // Bounded: more than 1,000 `add`s in one second is not a publisher at work.
        for n in 1..=1000u32 {
            let name = match n {
                1 => format!("{stem}.jsonl"),
                n => format!("{stem}-{n}.jsonl"),
            };
            let path = dir.join(name);
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(file) => {
                    return Ok(Writer {
                        path,
                        out: BufWriter::new(file),
                    });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(io_error(&path, "cannot create the report", e)),
            }
        }
        Err(Error::new(
            ErrorKind::Io,
            format!("{}: 1,000 reports named {stem} already", dir.display()),
        ))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Writes one line.
    pub fn line(&mut self, line: &Line) -> Result<(), Error> {
        self.json(line)
    }

    /// Writes the summary line and flushes the report to its file.
    pub fn finish(mut self, counts: &Counts) -> Result<PathBuf, Error> {
        #[derive(Serialize)]
        struct Last<'a> {
            summary: &'a Counts,
        }
        self.json(&Last { summary: counts })?;
        self.out
            .flush()
            .map_err(|e| io_error(&self.path, "cannot write the report", e))?;
        Ok(self.path)
    }

    fn json(&mut self, value: &impl Serialize) -> Result<(), Error> {
        serde_json::to_writer(&mut self.out, value)
            .map_err(|e| Error::new(ErrorKind::Io, format!("{}: {e}", self.path.display())))?;
        self.out
            .write_all(b"\n")
            .map_err(|e| io_error(&self.path, "cannot write the report", e))
    }
}

fn io_error(path: &Path, what: &str, e: std::io::Error) -> Error {
    Error::new(ErrorKind::Io, format!("{}: {what}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_name_the_outcome_and_its_fields_and_the_summary_comes_last() {
        let dir = tempfile::tempdir().expect("tempdir");
        let at = OffsetDateTime::from_unix_timestamp(1_271_030_400).expect("time");
        let mut w = Writer::create(&dir.path().join("reports"), at).expect("create");
        assert!(w.path().ends_with("reports/add-2010-04-12T00-00-00Z.jsonl"));
        w.line(&Line {
            path: "/d/a.png".into(),
            part: None,
            outcome: Outcome::Unsupported {
                detected_type: "image/png".into(),
                reason: "not a document".into(),
            },
            ocr: None,
            notes: Vec::new(),
        })
        .expect("line");
        w.line(&Line {
            path: "/d/box.mbox".into(),
            part: Some("message 2".into()),
            outcome: Outcome::Duplicate { of: "x-1".into() },
            ocr: Some("not asked".into()),
            notes: Vec::new(),
        })
        .expect("line");
        w.line(&Line {
            path: "/d/big.docx".into(),
            part: None,
            outcome: Outcome::Ingested { id: "big".into() },
            ocr: None,
            notes: vec!["cut: word/document.xml stops at 256 MiB".into()],
        })
        .expect("line");
        let path = w
            .finish(&Counts {
                files: 3,
                ..Counts::default()
            })
            .expect("finish");
        let text = fs::read_to_string(&path).expect("read");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines[0],
            r#"{"path":"/d/a.png","outcome":"unsupported","detected_type":"image/png","reason":"not a document"}"#
        );
        assert_eq!(
            lines[1],
            r#"{"path":"/d/box.mbox","part":"message 2","outcome":"duplicate","of":"x-1","ocr":"not asked"}"#
        );
        assert_eq!(
            lines[2],
            r#"{"path":"/d/big.docx","outcome":"ingested","id":"big","notes":["cut: word/document.xml stops at 256 MiB"]}"#
        );
        assert!(
            lines[3].starts_with(r#"{"summary":{"files":3,"#),
            "{}",
            lines[3]
        );
        // A second report in the same second gets a name of its own.
        let second = Writer::create(&dir.path().join("reports"), at).expect("create");
        assert!(second.path().ends_with("add-2010-04-12T00-00-00Z-2.jsonl"));
    }
}
