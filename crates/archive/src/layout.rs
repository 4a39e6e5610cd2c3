//! How documents are named in a release. Target names are flat (no `/`: python-tuf and tough
//! disagree on where a consistent-snapshot hash goes inside a path) and derive from the document
//! id, so the plain site path of a document target needs no `custom` field in the metadata:
//!
//! | target name              | plain path                  | what                                   |
//! | ------------------------ | --------------------------- | -------------------------------------- |
//! | `<id>.original.<ext>`    | `/d/<id>/original.<ext>`    | the original bytes, unchanged          |
//! | `<id>.json`              | `/d/<id>/doc.json`          | metadata, extracted text, thread links |
//! | `_withdrawn.json`        | `/withdrawn.json`           | tombstones of withdrawn documents      |
//!
//! Ids never contain `.` nor start with `_`, so these names cannot collide.

use crate::model::DocId;

/// The tombstone list: documents withdrawn, why and when (mirrors answer 410 Gone for them).
pub const WITHDRAWN_TARGET: &str = "_withdrawn.json";

pub fn original_target(id: &DocId, ext: &str) -> String {
    format!("{id}.original.{}", clean_ext(ext))
}

pub fn record_target(id: &DocId) -> String {
    format!("{id}.json")
}

/// The document id a target name belongs to, if it is a document target.
pub fn doc_of_target(name: &str) -> Option<&str> {
    let (id, _) = name.split_once('.')?;
    DocId::new(id).ok()?;
    Some(id)
}

/// The target a plain site path stands for (the table above, read right to left), if any.
/// The site generator (issue 4) adds its pages here.
pub fn target_of_plain_path(path: &str) -> Option<String> {
    if path == "/withdrawn.json" {
        return Some(WITHDRAWN_TARGET.to_owned());
    }
    let (id, file) = path.strip_prefix("/d/")?.split_once('/')?;
    let id = DocId::new(id).ok()?;
    if file == "doc.json" {
        return Some(record_target(&id));
    }
    let ext = file.strip_prefix("original.")?;
    (clean_ext(ext) == ext).then(|| original_target(&id, ext))
}

/// The plain site path of a target, if it has one (the inverse of [`target_of_plain_path`]).
pub fn plain_path_of_target(name: &str) -> Option<String> {
    if name == WITHDRAWN_TARGET {
        return Some("/withdrawn.json".to_owned());
    }
    let id = doc_of_target(name)?;
    let rest = &name[id.len() + 1..];
    if rest == "json" {
        return Some(format!("/d/{id}/doc.json"));
    }
    let ext = rest.strip_prefix("original.")?;
    Some(format!("/d/{id}/original.{ext}"))
}

/// An extension safe in a target name: lowercase ASCII letters, digits and inner dots; else `bin`.
pub fn clean_ext(ext: &str) -> String {
    let ext = ext.trim_matches('.').to_ascii_lowercase();
    let ok = !ext.is_empty()
        && ext.len() <= 16
        && !ext.contains("..")
        && ext
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.');
    if ok { ext } else { "bin".to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_to_their_document() {
        let id = DocId::new("m-0123abcd").expect("id");
        assert_eq!(original_target(&id, "PDF"), "m-0123abcd.original.pdf");
        assert_eq!(original_target(&id, "rst.gz"), "m-0123abcd.original.rst.gz");
        assert_eq!(original_target(&id, "../x"), "m-0123abcd.original.bin");
        assert_eq!(doc_of_target(&record_target(&id)), Some("m-0123abcd"));
        assert_eq!(doc_of_target(WITHDRAWN_TARGET), None);
    }

    #[test]
    fn plain_paths_map_back_to_targets() {
        let id = DocId::new("m-0123abcd").expect("id");
        for (path, target) in [
            ("/d/m-0123abcd/original.pdf", original_target(&id, "pdf")),
            (
                "/d/m-0123abcd/original.rst.gz",
                original_target(&id, "rst.gz"),
            ),
            ("/d/m-0123abcd/doc.json", record_target(&id)),
            ("/withdrawn.json", WITHDRAWN_TARGET.to_owned()),
        ] {
            assert_eq!(plain_path_of_target(&target).as_deref(), Some(path));
            assert_eq!(target_of_plain_path(path), Some(target), "{path}");
        }
        for path in [
            "/d/m-0123abcd/original.PDF",
            "/d/m-0123abcd/original.",
            "/d/m-0123abcd/other.json",
            "/d/m-0123abcd/x/doc.json",
            "/d/_x/doc.json",
            "/d/",
            "/_withdrawn.json",
        ] {
            assert_eq!(target_of_plain_path(path), None, "{path}");
        }
    }
}
