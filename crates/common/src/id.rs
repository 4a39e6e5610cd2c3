//! What a document is called: its id, and the blobs a record refers to.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A document id: stable across releases and mirrors, the `<id>` of the permalink `/d/<id>/`.
///
/// `[A-Za-z0-9][A-Za-z0-9_-]{0,99}`. No dot, so `<id>.` prefixes a target name unambiguously;
/// never starts with `_`, which is kept for the release's own targets.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct DocId(String);

impl DocId {
    pub const MAX_LEN: usize = 100;

    pub fn new(s: &str) -> Result<DocId, String> {
        let ok_first = s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
        let ok_rest = s
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if s.is_empty() || s.len() > Self::MAX_LEN || !ok_first || !ok_rest {
            return Err(format!(
                "invalid document id {s:?}: expected 1-100 of A-Z a-z 0-9 - _, starting with a letter or digit"
            ));
        }
        Ok(DocId(s.to_owned()))
    }

    /// The id of an e-mail: a hash of its Message-ID, so it is the same wherever the message came from.
    pub fn from_message_id(message_id: &str) -> DocId {
        use sha2::{Digest, Sha256};
        let mid = message_id
            .trim()
            .trim_start_matches('<')
            .trim_end_matches('>');
        let digest = Sha256::digest(mid.as_bytes());
        DocId(format!("m-{}", &hex::encode(digest)[..16]))
    }

    /// The id of a file without a better one: a slug of its path relative to the folder given to `add`.
    /// Long paths keep their start and end and gain a short hash so that ids stay distinct.
    pub fn from_path(relative: &str) -> DocId {
        let rel = relative.strip_suffix(".gz").unwrap_or(relative);
        let mut slug = String::with_capacity(rel.len());
        for c in rel.chars() {
            if c.is_ascii_alphanumeric() {
                slug.push(c.to_ascii_lowercase());
            } else if !slug.ends_with('-') {
                slug.push('-');
            }
        }
        let slug = slug.trim_matches('-');
        let slug = if slug.is_empty() { "doc" } else { slug };
        if slug.len() <= Self::MAX_LEN {
            return DocId(slug.to_owned());
        }
        use sha2::{Digest, Sha256};
        let tag = &hex::encode(Sha256::digest(relative.as_bytes()))[..8];
        // All ASCII, so byte slicing is on char boundaries.
        let head = slug[..60].trim_end_matches('-');
        let tail = slug[slug.len() - 30..].trim_start_matches('-');
        DocId(format!("{head}-{tag}-{tail}"))
    }

    /// The id of the n-th attachment (1-based) of a message.
    pub fn child(&self, n: usize) -> DocId {
        let suffix = format!("-a{n}");
        let keep = self.0.len().min(Self::MAX_LEN - suffix.len());
        DocId(format!("{}{suffix}", &self.0[..keep]))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for DocId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        DocId::new(&s)
    }
}

impl From<DocId> for String {
    fn from(id: DocId) -> String {
        id.0
    }
}

impl fmt::Display for DocId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A stored blob: its SHA-256 (hex) and length.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Blob {
    pub sha256: String,
    pub len: u64,
}
