//! The document model: ids, kinds, metadata, and what a reader hands to the catalog.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

pub use common::{Blob, DocId};

pub use common::html::is_bidi_control;

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
    /// A word-processing document (DOCX, ODT, RTF).
    Document,
    /// A spreadsheet (XLSX, ODS), its text sheet by sheet.
    Spreadsheet,
    /// A presentation (PPTX, ODP), its text slide by slide.
    Presentation,
    /// An image (PNG, JPEG, GIF, BMP, TIFF, WebP): a scan or a photo, its text by OCR when
    /// `add --ocr` asked for it.
    Image,
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
            Kind::Document => "document",
            Kind::Spreadsheet => "spreadsheet",
            Kind::Presentation => "presentation",
            Kind::Image => "image",
        }
    }
}

/// Where a document's date came from when its format has no date of its own: what a reader is
/// told, since a date guessed from a file name is weaker than a `Date:` header. A date without a
/// source is the format's own (an e-mail's `Date:`, a PDF's creation date, a row's `date`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DateSource {
    /// A dateline among the text's first lines (`Date: 12 April 2010`, `Berlin, 12 April 2010`).
    Text,
    /// The file name (`memo-2010-04-12.txt`, `report-2006.txt`).
    FileName,
    /// The publisher's sidecar file beside the document (`NAME.meta.json`, `NAME.json`).
    Sidecar,
}

/// Where a document's text came from when not from the format's own text: a reader is told
/// that recognised text may hold errors.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum TextSource {
    /// Optical character recognition (Tesseract) of an image or of a PDF's rendered pages.
    Ocr,
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
    /// Where `date` came from, when not from the format's own metadata.
    pub date_source: Option<DateSource>,
    /// The character encoding the text was decoded from (`windows-1252`, `KOI8-R`, `UTF-8`), for
    /// text formats; its WHATWG name.
    pub encoding: Option<String>,
    /// Where `text` came from, when not from the format's own text (OCR).
    pub text_source: Option<TextSource>,
    /// What OCR did for an image or a PDF: ran (how much), not asked, not needed, failed or
    /// cut, and why (the report's text is its rendering); `None` for other formats.
    pub ocr: Option<crate::read::ocr::OcrOutcome>,
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
    /// A document of `kind` titled `title`, whose original has the extension `ext` and the
    /// media type `media_type`, with every other field empty: its id from its path, no date, no
    /// original bytes or text yet, no children. Readers set what they found with struct update
    /// syntax (`Extracted { date, text, ..Extracted::new(..) }`), so a field added to this struct
    /// gets its empty value here, once, instead of in every reader.
    pub fn new(
        kind: Kind,
        title: impl Into<String>,
        ext: impl Into<String>,
        media_type: impl Into<String>,
    ) -> Extracted {
        Extracted {
            id_source: IdSource::Path,
            kind,
            title: title.into(),
            date: None,
            date_source: None,
            encoding: None,
            text_source: None,
            ocr: None,
            origin: None,
            tags: Vec::new(),
            record_kind: None,
            author: None,
            email: None,
            pages: None,
            original: Vec::new(),
            original_file: None,
            original_part: None,
            ext: ext.into(),
            media_type: media_type.into(),
            text: String::new(),
            locator: None,
            children: Vec::new(),
            notes: Vec::new(),
        }
    }

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
    /// Where `date` came from when not from the format's own metadata (absent: the format's own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date_source: Option<DateSource>,
    /// The character encoding a text document was decoded from (absent in documents ingested
    /// before it was recorded, and for formats that are not text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding: Option<String>,
    /// Where the text came from when not from the format's own text (`ocr`: recognised, may
    /// hold errors); absent: the format's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_source: Option<TextSource>,
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
