//! The real corpora as plain texts, read simply (no archive crate): spam-assassin e-mails (the body
//! after the first blank line, and the From header) and linux-doc's .txt/.rst files (gunzipped).
//! Shared by the relevance test and the `sizes` example.

use std::io::Read;
use std::path::{Path, PathBuf};

pub struct Text {
    pub name: String,
    pub kind: &'static str,
    pub sender: Option<String>,
    pub text: String,
}

/// `$SAMIZDAT_CORPORA`, else the workspace's `.cache/corpora`, if it holds the two corpora.
pub fn corpora_dir() -> Option<PathBuf> {
    let dir = std::env::var_os("SAMIZDAT_CORPORA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.cache/corpora"));
    (dir.join("spam-assassin/package/data").is_dir() && dir.join(LINUX_DOC).is_dir()).then_some(dir)
}

const LINUX_DOC: &str = "linux-doc/x/usr/share/doc/linux-doc-6.1/Documentation";

/// Every text of both corpora, in a fixed order: e-mails first, then linux-doc.
pub fn read_texts(dir: &Path) -> Vec<Text> {
    let mut out = Vec::new();
    let files = |root: PathBuf| {
        walkdir::WalkDir::new(root)
            .sort_by_file_name()
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .map(|e| e.into_path())
    };
    for path in files(dir.join("spam-assassin/package/data")) {
        if path.extension().is_none_or(|e| e != "txt") {
            continue;
        }
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let raw = String::from_utf8_lossy(&bytes);
        let (head, body) = raw.split_once("\n\n").unwrap_or(("", &raw));
        let sender = head
            .lines()
            .find_map(|l| l.strip_prefix("From: "))
            .map(|s| s.trim().chars().take(80).collect());
        out.push(Text {
            name: file_name(&path),
            kind: "email",
            sender,
            text: body.to_string(),
        });
    }
    for path in files(dir.join(LINUX_DOC)) {
        let name = file_name(&path);
        let plain = name.trim_end_matches(".gz");
        let kind = if plain.ends_with(".rst") {
            "rst"
        } else if plain.ends_with(".txt") {
            "text"
        } else {
            continue;
        };
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        let bytes = if name.ends_with(".gz") {
            let mut out = Vec::new();
            if flate2::read::GzDecoder::new(&bytes[..])
                .read_to_end(&mut out)
                .is_err()
            {
                continue;
            }
            out
        } else {
            bytes
        };
        out.push(Text {
            name: plain.to_string(),
            kind,
            sender: None,
            text: String::from_utf8_lossy(&bytes).into_owned(),
        });
    }
    out
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
