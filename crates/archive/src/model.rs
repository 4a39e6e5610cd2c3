//! The document model: ids, kinds, metadata, and what a reader hands to the catalog.

use serde::{Deserialize, Serialize};
use std::fmt;
use time::OffsetDateTime;

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

/// The Unicode bidirectional controls: embeddings and overrides (U+202A-U+202E) and isolates
/// (U+2066-U+2069). In a title they make `invoice<RLO>gnp.exe` show as `invoiceexe.png`, and on a
/// terminal they reorder the rest of the line.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// What a document was made from. Facets and the reader site group by it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Email,
    Pdf,
    Text,
    Markdown,
    Rst,
    Html,
    /// A row of a publisher's JSON Lines import (a cable, say); its own `kind` field goes to `Document::tags`
    /// only if the publisher says so, the row's declared kind is kept in `Document::record_kind`.
    Record,
    /// Any other file (an attachment that is an image, say): kept and published, no text.
    Binary,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Email => "email",
            Kind::Pdf => "pdf",
            Kind::Text => "text",
            Kind::Markdown => "markdown",
            Kind::Rst => "rst",
            Kind::Html => "html",
            Kind::Record => "record",
            Kind::Binary => "binary",
        }
    }
}

/// The headers of an e-mail that readers browse by and that link a thread.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailHeaders {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub to: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cc: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<String>,
    /// Without the angle brackets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Without the angle brackets.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub in_reply_to: Vec<String>,
    /// Without the angle brackets, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
}

/// Where an id comes from, in order of preference: given by the publisher, else an e-mail's
/// Message-ID, else the file's path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum IdSource {
    /// Given by the publisher (a JSON Lines `id`); validated with [`DocId::new`].
    Explicit(String),
    /// An e-mail's Message-ID, without angle brackets.
    MessageId(String),
    /// Derived from the relative path (plus, inside a multi-document file, the position).
    Path,
}

/// One document as a reader found it, before the catalog gives it an id and stores its bytes.
#[derive(Clone, Debug)]
pub struct Extracted {
    pub id_source: IdSource,
    pub kind: Kind,
    pub title: String,
    pub date: Option<OffsetDateTime>,
    pub origin: Option<String>,
    pub tags: Vec<String>,
    /// The publisher's own kind for a JSON Lines row ("cable", say).
    pub record_kind: Option<String>,
    pub author: Option<String>,
    pub email: Option<EmailHeaders>,
    pub pages: Option<u32>,
    /// The original bytes, published unchanged (empty when `original_file` is set).
    pub original: Vec<u8>,
    /// The original is this file's bytes instead (a JSON Lines row's file): stored as a stream,
    /// never held in memory, however many rows name it.
    pub original_file: Option<std::path::PathBuf>,
    /// With `original_file`: only these bytes of it, `(offset, length)` (a JSON Lines row's own
    /// line).
    pub original_part: Option<(u64, u64)>,
    /// The original's file extension without the dot, lowercase (`eml`, `pdf`, `rst.gz`, `txt`).
    pub ext: String,
    pub media_type: String,
    /// Extracted plain text (UTF-8); empty when there is none.
    pub text: String,
    /// Where inside the source file this came from, when a file holds several ("message 3", "line 12").
    pub locator: Option<String>,
    /// Attachments of an e-mail: child documents.
    pub children: Vec<Extracted>,
    /// What went wrong without costing the document (an attachment kept without its text, and
    /// why): `add` reports each.
    pub notes: Vec<String>,
}

/// Longest title kept, in characters; a longer one is cut with an ellipsis.
pub const MAX_TITLE_CHARS: usize = 1000;
/// Longest other short field (author, origin, an address, a Message-ID...), in characters.
pub const MAX_FIELD_CHARS: usize = 1000;
/// Longest tag, in characters.
pub const MAX_TAG_CHARS: usize = 200;
/// Most entries of a list field (tags, To, Cc, References) kept.
pub const MAX_LIST: usize = 1000;

impl Extracted {
    /// Caps every short field, here and in the children, whatever reader made them: a 1 MiB
    /// `Subject:` or row title would otherwise be copied onto every page and listing that shows
    /// it. Line breaks and other control characters become spaces and bidirectional controls are
    /// dropped (a title is one line of plain text; see [`is_bidi_control`]).
    pub fn bound(&mut self) {
        self.title = short(&self.title, MAX_TITLE_CHARS);
        for value in [&mut self.origin, &mut self.record_kind, &mut self.author]
            .into_iter()
            .flatten()
        {
            *value = short(value, MAX_FIELD_CHARS);
        }
        self.tags.truncate(MAX_LIST);
        for tag in &mut self.tags {
            *tag = short(tag, MAX_TAG_CHARS);
        }
        self.media_type = short(&self.media_type, 255);
        if let Some(email) = &mut self.email {
            for value in [&mut email.from, &mut email.subject, &mut email.message_id]
                .into_iter()
                .flatten()
            {
                *value = short(value, MAX_FIELD_CHARS);
            }
            email.to.truncate(MAX_LIST);
            email.cc.truncate(MAX_LIST);
            email.in_reply_to.truncate(MAX_LIST);
            // The newest references are the last ones, and the ones threads need.
            let skip = email.references.len().saturating_sub(MAX_LIST);
            email.references.drain(..skip);
            for list in [
                &mut email.to,
                &mut email.cc,
                &mut email.in_reply_to,
                &mut email.references,
            ] {
                for value in list.iter_mut() {
                    *value = short(value, MAX_FIELD_CHARS);
                }
            }
        }
        for child in &mut self.children {
            child.bound();
        }
    }
}

/// `s` as one line of at most `max` characters: control characters as spaces, bidirectional
/// controls dropped, trimmed, and cut at a character boundary with an ellipsis when longer.
pub fn short(s: &str, max: usize) -> String {
    let clean = |c: char| !c.is_control() && !is_bidi_control(c);
    if s.chars().count() <= max && s.chars().all(clean) && s.trim() == s {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len().min(max * 4));
    let mut chars = 0;
    for c in s.trim().chars() {
        if is_bidi_control(c) {
            continue;
        }
        if chars == max {
            // Cut: the last character kept gives way to the ellipsis.
            out.pop();
            let trimmed = out.trim_end().len();
            out.truncate(trimmed);
            out.push('…');
            return out;
        }
        out.push(if c.is_control() { ' ' } else { c });
        chars += 1;
    }
    out.trim_end().to_owned()
}

/// A stored blob: its SHA-256 (hex) and length.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Blob {
    pub sha256: String,
    pub len: u64,
}

/// A document as the catalog keeps it and a release publishes it (as `<id>.json`, with its text).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Document {
    pub id: DocId,
    pub kind: Kind,
    pub title: String,
    #[serde(
        default,
        with = "time::serde::rfc3339::option",
        skip_serializing_if = "Option::is_none"
    )]
    pub date: Option<OffsetDateTime>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_kind: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailHeaders>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pages: Option<u32>,
    /// The message this is an attachment of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<DocId>,
    /// The source path relative to the folder given to `add`, with the locator if any.
    pub source: String,
    pub original: Blob,
    pub ext: String,
    pub media_type: String,
    /// The extracted text, stored apart.
    pub text: Blob,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_fields_are_one_line_capped_at_a_char_boundary_with_an_ellipsis() {
        assert_eq!(short("  plain  ", 10), "plain");
        assert_eq!(short("a\nb\tc\u{1b}[2J", 20), "a b c [2J");
        assert_eq!(short("invoice\u{202E}gnp.exe", 20), "invoicegnp.exe");
        let long = "é".repeat(5000);
        let cut = short(&long, MAX_TITLE_CHARS);
        assert_eq!(cut.chars().count(), MAX_TITLE_CHARS);
        assert!(cut.ends_with("é…"), "{cut}");
        assert_eq!(short("abcdef", 6), "abcdef");
        assert_eq!(short("abcdefg", 6), "abcde…");
    }
}
