//! How documents are named in a release. Target names are flat (no `/`: python-tuf and tough
//! disagree on where a consistent-snapshot hash goes inside a path) and derive from the document
//! id, so the plain site path of a document target needs no `custom` field in the metadata:
//!
//! | target name              | plain path                  | what                                   |
//! | ------------------------ | --------------------------- | -------------------------------------- |
//! | `<id>.original.<ext>`    | `/d/<id>/original.<ext>`    | the original bytes, unchanged          |
//! | `<id>.json`              | `/d/<id>/doc.json`          | metadata, extracted text, thread links |
//! | `<id>.html`              | `/d/<id>/index.html`        | the document's page on the reader site |
//! | `_withdrawn.json`        | `/withdrawn.json`           | tombstones of withdrawn documents      |
//! | `_s_<a>_<b>_<file>`      | `/<a>/<b>/<file>`           | any other file of the reader site      |
//! | `_directories.json`      | `/directories.json`         | the directories the publisher vouches for |
//! | `_dir_<name>.root.json`  | `/directories/<name>.root.json` | a vouched directory's TUF root     |
//!
//! Ids never contain `.` nor start with `_`, so these names cannot collide. A site path is made
//! of segments of `[a-z0-9.-]` (no `_`, none starting with `.`), which is what lets `/` become `_`
//! and come back; [`site_target`] refuses any other path. A path ending in `/` stands for its
//! `index.html`.

use crate::DocId;

/// The tombstone list: documents withdrawn, why and when (mirrors answer 410 Gone for them).
pub const WITHDRAWN_TARGET: &str = "_withdrawn.json";

/// The index of the directories the publisher vouches for: `{"directories": [{name, url,
/// root_target}]}`.
pub const DIRECTORIES_TARGET: &str = "_directories.json";

const DIRECTORY_PREFIX: &str = "_dir_";
const DIRECTORY_SUFFIX: &str = ".root.json";

/// Whether `name` may name a vouched directory: 1 to 64 of `[a-z0-9-]`, not starting with `-`.
pub fn is_directory_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && !name.starts_with('-')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// The target carrying the root of the directory named `name` (see [`is_directory_name`]).
pub fn directory_root_target(name: &str) -> String {
    format!("{DIRECTORY_PREFIX}{name}{DIRECTORY_SUFFIX}")
}

/// The directory name a target carries the root of, if it is such a target.
pub fn directory_of_target(target: &str) -> Option<&str> {
    let name = target
        .strip_prefix(DIRECTORY_PREFIX)?
        .strip_suffix(DIRECTORY_SUFFIX)?;
    is_directory_name(name).then_some(name)
}

pub fn original_target(id: &DocId, ext: &str) -> String {
    format!("{id}.original.{}", clean_ext(ext))
}

pub fn record_target(id: &DocId) -> String {
    format!("{id}.json")
}

pub fn page_target(id: &DocId) -> String {
    format!("{id}.html")
}

/// The prefix of the reader site's own files (all but the document pages).
const SITE_PREFIX: &str = "_s_";

/// The target name of a reader-site file at `path` (site-relative, no leading `/`, e.g.
/// `browse/date/2002/index.html`), or why the path cannot be one.
pub fn site_target(path: &str) -> Result<String, String> {
    let segments: Vec<&str> = path.split('/').collect();
    let ok = segments.iter().all(|s| {
        !s.is_empty()
            && !s.starts_with('.')
            && !s.contains("..")
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
    });
    let name = format!("{SITE_PREFIX}{}", segments.join("_"));
    if !ok || name.len() > 255 {
        return Err(format!(
            "site path {path:?}: expected segments of a-z 0-9 . - (none empty or starting with '.'), at most 250 bytes"
        ));
    }
    Ok(name)
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
    if path == "/directories.json" {
        return Some(DIRECTORIES_TARGET.to_owned());
    }
    if let Some(file) = path.strip_prefix("/directories/") {
        let name = file.strip_suffix(DIRECTORY_SUFFIX)?;
        return is_directory_name(name).then(|| directory_root_target(name));
    }
    let indexed;
    let path = if path.ends_with('/') {
        indexed = format!("{path}index.html");
        &indexed
    } else {
        path
    };
    if let Some(doc) = path.strip_prefix("/d/") {
        let (id, file) = doc.split_once('/')?;
        let id = DocId::new(id).ok()?;
        if file == "doc.json" {
            return Some(record_target(&id));
        }
        if file == "index.html" {
            return Some(page_target(&id));
        }
        let ext = file.strip_prefix("original.")?;
        return (clean_ext(ext) == ext).then(|| original_target(&id, ext));
    }
    site_target(path.strip_prefix('/')?).ok()
}

/// Whether a target is a file of the reader site (a document page or `_s_…`): served under
/// the site's own policy rather than sandboxed, when asked by its plain path.
pub fn is_site_target(name: &str) -> bool {
    name.starts_with(SITE_PREFIX)
        || doc_of_target(name).is_some_and(|id| &name[id.len()..] == ".html")
}

/// Whether a target is a document's original bytes (`<id>.original.<ext>`): whatever a sender
/// wrote, so never served with a type a browser would run or render as active content.
pub fn is_original_target(name: &str) -> bool {
    doc_of_target(name).is_some_and(|id| name[id.len()..].starts_with(".original."))
}

/// Whether a site file is named by a hash of its bytes, so it never changes under its path:
/// everything under `assets/` and `search/` but the search page itself.
pub fn site_target_is_hashed(name: &str) -> bool {
    let Some(path) = name.strip_prefix(SITE_PREFIX) else {
        return false;
    };
    (path.starts_with("assets_") || path.starts_with("search_")) && path != "search_index.html"
}

/// Whether a plain path with no target of its own names a folder that may have an
/// `index.html` (so a server redirects `/d/x` to `/d/x/`): no extension in its last segment.
pub fn is_folder_path(path: &str) -> bool {
    path.rsplit('/')
        .next()
        .is_some_and(|last| !last.is_empty() && !last.contains('.'))
}

/// The plain site path of a target, if it has one (the inverse of [`target_of_plain_path`]).
pub fn plain_path_of_target(name: &str) -> Option<String> {
    if name == WITHDRAWN_TARGET {
        return Some("/withdrawn.json".to_owned());
    }
    if name == DIRECTORIES_TARGET {
        return Some("/directories.json".to_owned());
    }
    if let Some(directory) = directory_of_target(name) {
        return Some(format!("/directories/{directory}{DIRECTORY_SUFFIX}"));
    }
    if let Some(site) = name.strip_prefix(SITE_PREFIX) {
        return Some(format!("/{}", site.replace('_', "/")));
    }
    let id = doc_of_target(name)?;
    let rest = &name[id.len() + 1..];
    if rest == "json" {
        return Some(format!("/d/{id}/doc.json"));
    }
    if rest == "html" {
        return Some(format!("/d/{id}/index.html"));
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
            ("/directories.json", DIRECTORIES_TARGET.to_owned()),
            (
                "/directories/0a1b-main.root.json",
                directory_root_target("0a1b-main"),
            ),
            ("/d/m-0123abcd/index.html", page_target(&id)),
            ("/index.html", "_s_index.html".to_owned()),
            (
                "/search/s/3fa9.bin",
                site_target("search/s/3fa9.bin").expect("site path"),
            ),
            (
                "/browse/date/2002/index.html",
                "_s_browse_date_2002_index.html".to_owned(),
            ),
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
            "/directories/Main.root.json",
            "/directories/.root.json",
            "/directories/a/b.root.json",
            "/Browse/index.html",
            "/a_b/index.html",
            "/a//b.html",
            "/.hidden/x.html",
            "/a/../b.html",
        ] {
            assert_eq!(target_of_plain_path(path), None, "{path}");
        }
        // A folder stands for its index.
        assert_eq!(
            target_of_plain_path("/d/m-0123abcd/"),
            Some(page_target(&id))
        );
        assert_eq!(
            target_of_plain_path("/browse/"),
            Some("_s_browse_index.html".to_owned())
        );
        assert!(is_site_target(&page_target(&id)));
        assert!(is_site_target("_s_index.html"));
        assert!(!is_site_target(&original_target(&id, "html")));
        assert!(!is_site_target(&record_target(&id)));
        assert!(site_target_is_hashed("_s_search_s_3fa9.bin"));
        assert!(site_target_is_hashed("_s_assets_style-1a2b.css"));
        assert!(!site_target_is_hashed("_s_search_index.html"));
        assert!(!site_target_is_hashed("_s_index.html"));
        assert!(is_folder_path("/d/m-0123abcd"));
        assert!(!is_folder_path("/d/m-0123abcd/"));
        assert!(!is_folder_path("/search/x.json"));
    }
}
