//! A publisher's metadata beside a document: `NAME.meta.json` or `NAME.json` next to the file
//! `NAME` (`memo.txt.meta.json`, `scan.pdf.json`), with any of `title`, `date`, `author`, `tags`,
//! `origin`. What it gives overrides what the reader extracted; a date from it is marked as such.
//!
//! A sidecar is not a document of its own (`add` reports it as the metadata of its file). It is
//! part of its document's source: editing, adding or removing it reads the document again. A
//! sidecar that is not valid JSON, or has a field we do not know, fails its document with the
//! reason (the next `add` tries again), rather than being ignored.

use super::jsonl::parse_date;
use crate::model::{DateSource, Extracted};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Largest sidecar read: metadata, not a document.
pub const MAX_SIDECAR_BYTES: u64 = 1 << 20;
/// The endings a sidecar's name adds to its document's, in the order they are looked for.
const ENDINGS: [&str; 2] = [".meta.json", ".json"];

/// The fields of a sidecar; each one given overrides the extracted value.
#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Sidecar {
    pub title: Option<String>,
    /// `YYYY-MM-DD`, RFC 3339, or `YYYY-MM-DDTHH:MM:SS` (UTC), as a JSON Lines row's.
    pub date: Option<String>,
    pub author: Option<String>,
    pub tags: Option<Vec<String>>,
    pub origin: Option<String>,
}

/// The sidecar of the document at `path`, if there is one (`NAME.meta.json` first).
pub fn path_for(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?;
    ENDINGS.iter().find_map(|ending| {
        let mut sidecar = name.to_owned();
        sidecar.push(ending);
        let sidecar = path.with_file_name(sidecar);
        sidecar.is_file().then_some(sidecar)
    })
}

/// The document `path` is the sidecar of, if it is one: a file beside it has its name without
/// the ending, and that file is not itself JSON (`a.json` describes nothing; `a.json.json` does
/// not make `a.json` a document).
pub fn document_of(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    let stem = ENDINGS.iter().find_map(|e| name.strip_suffix(e))?;
    if stem.is_empty() || stem.ends_with(".json") {
        return None;
    }
    let document = path.with_file_name(stem);
    // `a.txt.meta.json` is a sidecar of `a.txt`, unless `a.txt.meta` exists and claims it as
    // its `.json` one: the first ending found by `path_for` wins.
    (document.is_file() && path_for(&document).as_deref() == Some(path)).then_some(document)
}

/// Reads and parses a sidecar; the error names the file and what is wrong.
pub fn read(path: &Path) -> Result<Sidecar, String> {
    let shown = path.display();
    let len = std::fs::metadata(path)
        .map_err(|e| format!("sidecar {shown}: cannot read: {e}"))?
        .len();
    if len > MAX_SIDECAR_BYTES {
        return Err(format!(
            "sidecar {shown}: {len} bytes, more than the {} KiB metadata may take",
            MAX_SIDECAR_BYTES >> 10
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("sidecar {shown}: cannot read: {e}"))?;
    serde_json::from_slice(&bytes).map_err(|e| {
        format!(
            "sidecar {shown}: {e}: expected a JSON object with title, date, author, tags, origin"
        )
    })
}

impl Sidecar {
    /// Overrides `doc`'s fields with the ones given; a bad date is an error naming `path`.
    pub fn apply(self, doc: &mut Extracted, path: &Path) -> Result<(), String> {
        if let Some(date) = &self.date {
            let date = parse_date(date).map_err(|e| format!("sidecar {}: {e}", path.display()))?;
            doc.date = Some(date);
            doc.date_source = Some(DateSource::Sidecar);
        }
        if let Some(title) = self.title.filter(|t| !t.trim().is_empty()) {
            doc.title = title;
        }
        if let Some(author) = self.author {
            doc.author = Some(author);
        }
        if let Some(tags) = self.tags {
            doc.tags = tags;
        }
        if let Some(origin) = self.origin {
            doc.origin = Some(origin);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;
    use std::fs;

    #[test]
    fn found_beside_its_document_and_applied() {
        let dir = tempfile::tempdir().expect("tempdir");
        let doc = dir.path().join("memo.txt");
        fs::write(&doc, "text").expect("write");
        assert_eq!(path_for(&doc), None);
        let plain = dir.path().join("memo.txt.json");
        fs::write(
            &plain,
            r#"{"title":"Memo on the audit","date":"2010-04-12","tags":["audit"],"origin":"Port office","author":"A. Clerk"}"#,
        )
        .expect("write");
        assert_eq!(path_for(&doc), Some(plain.clone()));
        assert_eq!(document_of(&plain), Some(doc.clone()));
        // NAME.meta.json comes first; the other is then no sidecar.
        let meta = dir.path().join("memo.txt.meta.json");
        fs::write(&meta, r#"{"title":"From meta"}"#).expect("write");
        assert_eq!(path_for(&doc), Some(meta.clone()));
        assert_eq!(document_of(&meta), Some(doc.clone()));
        assert_eq!(document_of(&plain), None);
        fs::remove_file(&meta).expect("rm");

        let mut x = Extracted::new(Kind::Text, "memo.txt", "txt", "text/plain");
        read(&plain)
            .expect("read")
            .apply(&mut x, &plain)
            .expect("apply");
        assert_eq!(x.title, "Memo on the audit");
        assert_eq!(
            x.date.map(|d| d.date().to_string()).as_deref(),
            Some("2010-04-12")
        );
        assert_eq!(x.date_source, Some(DateSource::Sidecar));
        assert_eq!(x.tags, ["audit"]);
        assert_eq!(x.origin.as_deref(), Some("Port office"));
        assert_eq!(x.author.as_deref(), Some("A. Clerk"));
    }

    #[test]
    fn json_that_describes_nothing_is_no_sidecar() {
        let dir = tempfile::tempdir().expect("tempdir");
        let lone = dir.path().join("data.json");
        fs::write(&lone, "{}").expect("write");
        assert_eq!(document_of(&lone), None);
        let nested = dir.path().join("data.json.json");
        fs::write(&nested, "{}").expect("write");
        assert_eq!(document_of(&nested), None, "a .json describes no document");
    }

    #[test]
    fn bad_sidecars_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("a.txt.json");
        for (body, says) in [
            ("{not json", "expected a JSON object"),
            (r#"{"titel":"typo"}"#, "unknown field `titel`"),
            (r#"{"tags":"one"}"#, "invalid type"),
        ] {
            fs::write(&path, body).expect("write");
            let err = read(&path).expect_err(body);
            assert!(err.contains("a.txt.json") && err.contains(says), "{err}");
        }
        fs::write(&path, r#"{"date":"2010-13-45"}"#).expect("write");
        let mut x = Extracted::new(Kind::Text, "a", "txt", "text/plain");
        let err = read(&path)
            .expect("parses")
            .apply(&mut x, &path)
            .expect_err("bad date");
        assert!(
            err.contains("a.txt.json") && err.contains("2010-13-45"),
            "{err}"
        );
    }
}
