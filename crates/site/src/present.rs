//! How every page presents a document's fields: its title, date, kind and sender. One module
//! for the document pages and the listings alike, so that a document's page and the lists that
//! show it agree (the sender a page links to is the listing it appears in); and one module the
//! page cache hashes ([`crate::document::page_key`] covers this file's source), so that a change
//! here renders every document page again instead of leaving cached pages with old links.

use archive::{Document, Kind};

/// The machine-readable date, for `<time datetime>`: `2002-08-21T14:03Z`.
pub fn date_attr(doc: &Document) -> Option<String> {
    let d = doc.date?.to_offset(time::UtcOffset::UTC);
    Some(format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}Z",
        d.year(),
        u8::from(d.month()),
        d.day(),
        d.hour(),
        d.minute()
    ))
}

/// A `<time>` element for the document's date: `2002-08-21 14:03 UTC`, or only the day.
pub fn time_tag(doc: &Document, day_only: bool) -> Option<String> {
    let attr = date_attr(doc)?;
    let shown = if day_only {
        attr[..10].to_owned()
    } else {
        format!("{} {} UTC", &attr[..10], &attr[11..16])
    };
    Some(format!("<time datetime=\"{attr}\">{shown}</time>"))
}

/// A document's title as a list shows it: never empty.
pub fn title_of(doc: &Document) -> &str {
    let t = doc.title.trim();
    if t.is_empty() { doc.id.as_str() } else { t }
}

/// Every kind, in the order the search page lists their labels (a new kind fails to build in
/// [`kind_label`]; add it here too).
pub const KINDS: [Kind; 12] = [
    Kind::Email,
    Kind::Pdf,
    Kind::Text,
    Kind::Markdown,
    Kind::Rst,
    Kind::Html,
    Kind::Record,
    Kind::Document,
    Kind::Spreadsheet,
    Kind::Presentation,
    Kind::Image,
    Kind::Binary,
];

/// How pages name a kind ("E-mail", "PDF"); the search page gets the same table.
pub fn kind_label(kind: Kind) -> &'static str {
    match kind {
        Kind::Email => "E-mail",
        Kind::Pdf => "PDF",
        Kind::Text => "Text",
        Kind::Markdown => "Markdown",
        Kind::Rst => "reStructuredText",
        Kind::Html => "HTML",
        Kind::Record => "Record",
        Kind::Binary => "Other file",
        Kind::Document => "Document",
        Kind::Spreadsheet => "Spreadsheet",
        Kind::Presentation => "Presentation",
        Kind::Image => "Image",
    }
}

/// The key senders are grouped by: the address, lowercased, when the From has one.
pub fn sender_key(from: &str) -> String {
    match (from.rfind('<'), from.rfind('>')) {
        (Some(a), Some(b)) if a < b => from[a + 1..b].trim().to_lowercase(),
        _ => from.trim().to_lowercase(),
    }
}

/// The name part of a From, for lists: `Jane Doe` of `"Jane Doe" <jane@example.org>`.
pub fn sender_name(from: &str) -> &str {
    let name = from
        .split('<')
        .next()
        .unwrap_or(from)
        .trim()
        .trim_matches('"')
        .trim();
    if name.is_empty() { from.trim() } else { name }
}
