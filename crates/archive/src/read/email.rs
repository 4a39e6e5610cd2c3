//! E-mail: single RFC 5322 messages, mbox files and maildir entries, recognised by their content.
//!
//! A file is e-mail when it starts with an mbox `From ` line and/or a block of RFC 5322 headers
//! with at least two well-known names ([`looks_like_email`]), whatever it is called: the
//! spam-assassin corpus names its messages `NNNNN.hash.txt`, maildir names them `1234.host:2,S`.
//! A file starting with `From ` is an mbox: each message is one document, and its original is that
//! message's bytes without the `From ` separator line. Attachments become child documents, a PDF
//! attachment's text extracted through the same child process as a PDF file.

use super::maildate;
use super::text::html_to_text;
use super::{ReadError, ReadOptions, ReadOutcome, extension, media_type_for_ext, pdf};
use crate::model::{EmailHeaders, Extracted, IdSource, Kind};
use mail_parser::{
    Address, HeaderValue, Message, MessageParser, MessagePart, MimeHeaders, PartType,
};
use rayon::prelude::*;
use std::time::Instant;
use time::OffsetDateTime;

/// Header names that mark the start of an e-mail message (lowercase).
const KNOWN_HEADERS: &[&str] = &[
    "from",
    "to",
    "cc",
    "subject",
    "date",
    "received",
    "return-path",
    "message-id",
    "mime-version",
    "delivered-to",
    "reply-to",
    "sender",
    "in-reply-to",
    "references",
    "content-type",
    "x-mailer",
    "envelope-to",
];

/// How many header lines [`looks_like_email`] looks at before giving up.
const MAX_SNIFF_LINES: usize = 1000;

/// What the start of a file looks like, as e-mail goes.
#[derive(Debug, Default, PartialEq, Eq)]
struct HeaderSniff {
    /// The first line is an mbox `From ` separator.
    from_line: bool,
    /// Known header names in the header block.
    known: usize,
}

fn sniff(content: &[u8]) -> HeaderSniff {
    let mut sniff = HeaderSniff::default();
    let mut lines = content
        .split(|&b| b == b'\n')
        .map(|l| l.strip_suffix(b"\r").unwrap_or(l))
        .take(MAX_SNIFF_LINES)
        .peekable();
    if lines.peek().is_some_and(|l| l.starts_with(b"From ")) {
        sniff.from_line = true;
        lines.next();
    }
    let mut in_header = false;
    for line in lines {
        if line.is_empty() {
            break;
        }
        if line.starts_with(b" ") || line.starts_with(b"\t") {
            if !in_header {
                break;
            }
            continue;
        }
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            break;
        };
        let name = &line[..colon];
        if name.is_empty() || !name.iter().all(|&b| b.is_ascii_graphic()) {
            break;
        }
        in_header = true;
        let name = String::from_utf8_lossy(name).to_ascii_lowercase();
        if KNOWN_HEADERS.contains(&name.as_str()) {
            sniff.known += 1;
        }
    }
    sniff
}

/// Whether a file's content is an e-mail message or an mbox: an mbox `From ` line followed by at
/// least one known header, or a header block with at least two known header names.
pub fn looks_like_email(content: &[u8]) -> bool {
    let s = sniff(content);
    s.known >= 2 || (s.from_line && s.known >= 1)
}

/// Reads a file already recognised as e-mail (or named `.eml`/`.mbox`).
pub fn read(content: &[u8], named_eml: bool, opts: &ReadOptions) -> Result<ReadOutcome, ReadError> {
    if content.iter().all(u8::is_ascii_whitespace) {
        return Err(ReadError::file(
            "empty file: expected an e-mail message (RFC 5322) or an mbox",
        ));
    }
    if content.starts_with(b"From ") {
        return read_mbox(content, opts);
    }
    if sniff(content).known == 0 {
        let what = if named_eml {
            "an .eml file"
        } else {
            "the file"
        };
        return Err(ReadError::file(format!(
            "no e-mail headers in {what}: expected header lines such as From:, To:, Subject:, Date: before the first blank line"
        )));
    }
    let doc = read_message(content, None, None, opts).map_err(ReadError::file)?;
    Ok(ReadOutcome::Documents(vec![Ok(doc)]))
}

fn read_mbox(content: &[u8], opts: &ReadOptions) -> Result<ReadOutcome, ReadError> {
    let messages: Vec<_> = mail_parser::mailbox::mbox::MessageIterator::new(content)
        .collect::<Result<_, _>>()
        .map_err(|e| ReadError::file(format!("cannot split the mbox: {e}")))?;
    match messages.as_slice() {
        [] => Err(ReadError::file("empty mbox: expected at least one message")),
        [only] => {
            let date = mbox_date(only);
            let doc = read_message(only.contents(), None, date, opts).map_err(ReadError::file)?;
            Ok(ReadOutcome::Documents(vec![Ok(doc)]))
        }
        many => Ok(ReadOutcome::Documents(
            many.iter()
                .enumerate()
                .map(|(i, m)| {
                    let locator = format!("message {}", i + 1);
                    read_message(m.contents(), Some(locator.clone()), mbox_date(m), opts)
                        .map_err(|reason| ReadError::at(locator, reason))
                })
                .collect(),
        )),
    }
}

/// The date on an mbox `From ` line, used when the message has no `Date:` header.
fn mbox_date(m: &mail_parser::mailbox::mbox::Message) -> Option<OffsetDateTime> {
    let secs = i64::try_from(m.internal_date()).ok().filter(|&s| s > 0)?;
    OffsetDateTime::from_unix_timestamp(secs).ok()
}

/// Parses one message (its raw bytes) into a document with its attachments as children.
fn read_message(
    raw: &[u8],
    locator: Option<String>,
    fallback_date: Option<OffsetDateTime>,
    opts: &ReadOptions,
) -> Result<Extracted, String> {
    if raw.iter().all(u8::is_ascii_whitespace) {
        return Err("empty message: expected headers and a body".into());
    }
    // mail-parser 0.11 has `debug_assert!`s that hostile MIME structure trips (found by fuzzing:
    // a message/rfc822 part inside a multipart whose boundary never closes). With debug
    // assertions (dev builds, tests) they panic, which aborted a whole `add`; in release the
    // parser recovers. Either way one bad message must fail alone.
    let msg = std::panic::catch_unwind(|| MessageParser::default().parse(raw))
        .map_err(|_| "the e-mail parser failed on this message's MIME structure")?
        .ok_or("not an e-mail message: expected RFC 5322 headers and a body")?;
    if msg.headers().is_empty() {
        return Err("no e-mail headers: expected From:, To:, Subject:, Date: ...".into());
    }
    let mut doc = message_document(&msg, raw.to_vec(), locator.clone(), fallback_date);
    // The PDF attachments of one message share one time limit and are extracted side by side:
    // one after another, a message with a dozen slow PDFs took a dozen limits.
    let deadline = Instant::now() + opts.pdf.timeout;
    let parts: Vec<&MessagePart> = msg.attachments().collect();
    doc.children = parts
        .par_iter()
        .enumerate()
        .map(|(i, part)| attachment(part, i + 1, &doc, locator.as_deref(), opts, deadline))
        .collect();
    Ok(doc)
}

/// When the message was written: its `Date:` (strict, then the obsolete forms), else the newest
/// `Received:` stamp, which every relay adds after its `;`.
fn message_date(msg: &Message) -> Option<OffsetDateTime> {
    let plausible = |d: OffsetDateTime| (1970..=2200).contains(&d.year());
    let strict = msg
        .date()
        .filter(|d| d.is_valid())
        .and_then(|d| OffsetDateTime::from_unix_timestamp(d.to_timestamp()).ok())
        .filter(|d| plausible(*d));
    strict
        .or_else(|| {
            msg.header_raw("Date")
                .and_then(maildate::parse)
                .filter(|d| plausible(*d))
        })
        .or_else(|| {
            let raw = msg.raw_message();
            msg.headers()
                .iter()
                .filter(|h| h.name == mail_parser::HeaderName::Received)
                .filter_map(|h| raw.get(h.offset_start as usize..h.offset_end as usize))
                .filter_map(|v| std::str::from_utf8(v).ok())
                .filter_map(|v| v.rsplit_once(';'))
                .find_map(|(_, stamp)| maildate::parse(stamp).filter(|d| plausible(*d)))
        })
}

/// A message's own document, without attachments.
fn message_document(
    msg: &Message,
    raw: Vec<u8>,
    locator: Option<String>,
    fallback_date: Option<OffsetDateTime>,
) -> Extracted {
    let headers = EmailHeaders {
        from: msg.from().and_then(|a| a.iter().next()).map(format_addr),
        to: addresses(msg.to()),
        cc: addresses(msg.cc()),
        subject: msg
            .subject()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned),
        message_id: msg.message_id().map(strip_angle).filter(|s| !s.is_empty()),
        in_reply_to: ids(msg.in_reply_to()),
        references: ids(msg.references()),
    };
    let date = message_date(msg).or(fallback_date);
    let id_source = match &headers.message_id {
        Some(mid) => IdSource::MessageId(mid.clone()),
        None => IdSource::Path,
    };
    let title = headers
        .subject
        .clone()
        .unwrap_or_else(|| "(no subject)".into());
    Extracted {
        id_source,
        date,
        author: headers.from.clone(),
        email: Some(headers),
        original: raw,
        text: body_text(msg),
        locator,
        ..Extracted::new(Kind::Email, title, "eml", "message/rfc822")
    }
}

/// The message's text: its text/plain bodies, else its HTML bodies converted to text.
fn body_text(msg: &Message) -> String {
    let mut parts = Vec::new();
    for part in msg.text_bodies() {
        match &part.body {
            PartType::Text(text) => parts.push(text.to_string()),
            PartType::Html(html) => parts.push(html_to_text(html).unwrap_or_default()),
            _ => {}
        }
    }
    parts.join("\n\n")
}

fn format_addr(addr: &mail_parser::Addr) -> String {
    let name = addr
        .name
        .as_deref()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    let address = addr
        .address
        .as_deref()
        .map(str::trim)
        .filter(|a| !a.is_empty());
    match (name, address) {
        (Some(name), Some(address)) => format!("{name} <{address}>"),
        (None, Some(address)) => address.to_owned(),
        (Some(name), None) => name.to_owned(),
        (None, None) => String::new(),
    }
}

fn addresses(list: Option<&Address>) -> Vec<String> {
    list.map(|a| {
        a.iter()
            .map(format_addr)
            .filter(|s| !s.is_empty())
            .collect()
    })
    .unwrap_or_default()
}

/// Message ids from an `In-Reply-To` or `References` header, without angle brackets.
fn ids(value: &HeaderValue) -> Vec<String> {
    let raw: Vec<&str> = match value {
        HeaderValue::Text(t) => vec![t.as_ref()],
        HeaderValue::TextList(list) => list.iter().map(|t| t.as_ref()).collect(),
        _ => Vec::new(),
    };
    raw.into_iter()
        .flat_map(str::split_whitespace)
        .map(strip_angle)
        .filter(|s| !s.is_empty())
        .collect()
}

fn strip_angle(id: &str) -> String {
    id.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_owned()
}

/// One attachment as a child document.
fn attachment(
    part: &MessagePart,
    n: usize,
    parent: &Extracted,
    parent_locator: Option<&str>,
    opts: &ReadOptions,
    deadline: Instant,
) -> Extracted {
    let content_type = part.content_type().map(|ct| match ct.subtype() {
        Some(sub) => format!("{}/{}", ct.ctype(), sub).to_ascii_lowercase(),
        None => ct.ctype().to_ascii_lowercase(),
    });
    let name = part
        .attachment_name()
        .map(|n| n.trim().rsplit(['/', '\\']).next().unwrap_or("").to_owned())
        .filter(|n| !n.is_empty());
    let ext = name
        .as_deref()
        .map(extension)
        .filter(|e| super::is_plain_ext(e))
        .or_else(|| ext_for_content_type(content_type.as_deref(), part).map(str::to_owned))
        .unwrap_or_else(|| "bin".into());
    let name = name.unwrap_or_else(|| format!("attachment-{n}.{ext}"));
    let locator = match parent_locator {
        Some(p) => format!("{p}, attachment {n}"),
        None => format!("attachment {n}"),
    };
    let bytes = part.contents().to_vec();
    let media_type = content_type
        .clone()
        .filter(|ct| ct.contains('/'))
        .unwrap_or_else(|| media_type_for_ext(&ext).to_owned());
    let mut child = Extracted {
        date: parent.date,
        original: bytes,
        locator: Some(locator.clone()),
        ..Extracted::new(Kind::Binary, name, ext, media_type)
    };
    let is_pdf = content_type.as_deref() == Some("application/pdf")
        || child.ext == "pdf"
        || child.original.starts_with(b"%PDF-");
    match &part.body {
        PartType::Message(inner) => {
            let mut doc = message_document(inner, child.original, Some(locator), parent.date);
            doc.title = inner
                .subject()
                .map(str::to_owned)
                .unwrap_or_else(|| child.title.clone());
            return doc;
        }
        PartType::Html(html) => {
            child.kind = Kind::Html;
            child.text = html_to_text(html).unwrap_or_default();
        }
        PartType::Text(text) => {
            child.kind = match child.ext.as_str() {
                "md" | "markdown" => Kind::Markdown,
                "rst" => Kind::Rst,
                "html" | "htm" => Kind::Html,
                _ => Kind::Text,
            };
            child.text = if child.kind == Kind::Html {
                html_to_text(text).unwrap_or_default()
            } else {
                text.to_string()
            };
        }
        _ if is_pdf => {
            let left = deadline.saturating_duration_since(Instant::now());
            let extracted = if left.is_zero() {
                Err(ReadError::file(format!(
                    "the message's {:.0} s for its PDF attachments ran out",
                    opts.pdf.timeout.as_secs_f64()
                )))
            } else {
                let mut limited = opts.clone();
                limited.pdf.timeout = left;
                extract_pdf_bytes(&child.original, &limited)
            };
            match extracted {
                Ok(pdf) => {
                    let title = child.title.clone();
                    let mut doc =
                        pdf::to_extracted(pdf, std::mem::take(&mut child.original), &title);
                    super::ocr::scanned_pdf(&mut doc, None, &title, opts.ocr.as_ref());
                    doc.title = title;
                    doc.date = doc.date.or(parent.date);
                    doc.media_type = child.media_type;
                    doc.locator = child.locator;
                    return doc;
                }
                // A PDF we cannot read is kept as a binary attachment, without text, and `add`
                // says so.
                Err(e) => child
                    .notes
                    .push(format!("PDF attachment kept without its text: {e}")),
            }
        }
        _ => return opened(child, opts),
    }
    child
}

/// An attachment that is an office document or an archive, read as a file would be: an office
/// document becomes the attachment's document; an archive stays the attachment, its members
/// its children (placed `!/NAME` in it), and a member not read is a note of the attachment.
/// The members are held until the message is stored, so all of an attached archive's members
/// together may expand to one member's cap (`--archive-member-mib`), not the file's.
fn opened(mut child: Extracted, opts: &ReadOptions) -> Extracted {
    use super::{container, image, office};
    if let Some(format) = image::Image::sniff(&child.original) {
        let raw = std::mem::take(&mut child.original);
        let mut doc = image::read(format, raw, &child.title, None, opts.ocr.as_ref());
        if child.date.is_some() {
            (doc.date, doc.date_source) = (child.date, None);
        }
        doc.locator = child.locator;
        return doc;
    }
    if let Some(format) = office::Office::detect(&child.ext, &child.original) {
        let read = office::read(
            format,
            child.original.clone(),
            &child.title,
            office::Caps::default(),
        );
        return match read {
            Ok(mut doc) => {
                doc.locator = child.locator;
                doc.date = doc.date.or(child.date);
                doc
            }
            Err(e) => {
                let note = format!("{} attachment kept without its text: {e}", format.name());
                child.notes.push(note);
                child
            }
        };
    }
    let lower = child.title.to_ascii_lowercase();
    let Some(kind) = container::detect(&lower, &child.original) else {
        return child;
    };
    let mut inner = opts.clone();
    inner.archives.max_total_bytes = opts
        .archives
        .max_total_bytes
        .min(opts.archives.max_member_bytes);
    inner.nesting.budget = None;
    let mut members = Vec::new();
    let mut notes = Vec::new();
    let source = Box::new(std::io::Cursor::new(child.original.as_slice()));
    let outcome = container::read(source, &child.title, kind, &inner, &mut |doc| match doc {
        Ok(doc) => members.push(doc),
        Err(e) => notes.push(format!(
            "{} not read: {}",
            e.locator.as_deref().unwrap_or("a member"),
            e.reason
        )),
    });
    match outcome {
        Ok(None) => {}
        Ok(Some(unsupported)) => notes.push(unsupported.reason),
        Err(e) => notes.push(format!("the attached archive is not read: {e}")),
    }
    child.children = members;
    child.notes.append(&mut notes);
    child
}

fn ext_for_content_type(content_type: Option<&str>, part: &MessagePart) -> Option<&'static str> {
    let ext = match content_type {
        Some("text/plain") => "txt",
        Some("text/html") => "html",
        Some("text/markdown") => "md",
        Some("application/pdf") => "pdf",
        Some("message/rfc822") => "eml",
        Some("image/png") => "png",
        Some("image/jpeg") => "jpg",
        Some("image/gif") => "gif",
        Some("application/zip") => "zip",
        _ => match &part.body {
            PartType::Text(_) => "txt",
            PartType::Html(_) => "html",
            PartType::Message(_) => "eml",
            _ => return None,
        },
    };
    Some(ext)
}

/// Extracts an attached PDF in the child process, through a temporary file.
fn extract_pdf_bytes(bytes: &[u8], opts: &ReadOptions) -> Result<pdf::PdfText, ReadError> {
    pdf::extract_bytes(bytes, &opts.pdf)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::read::{PdfExtractor, ReadOptions};

    /// Issue 15, item 19: an e-mail's PDF attachments share one time limit (side by side, not
    /// one limit after another), and one that cannot be extracted is kept with a note saying why.
    #[test]
    fn pdf_attachments_share_one_time_limit_and_their_failures_are_noted() {
        let mut mail = String::from(
            "From: a@example.org\nTo: b@example.org\nSubject: PDFs\nMessage-ID: <pdfs@x>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"B\"\n\n--B\nContent-Type: text/plain\n\nThe body.\n",
        );
        for n in 1..=4 {
            mail.push_str(&format!(
                "--B\nContent-Type: application/pdf\nContent-Disposition: attachment; filename=\"{n}.pdf\"\n\n%PDF-1.4 {n}\n"
            ));
        }
        mail.push_str("--B--\n");
        // An extractor that never answers: each extraction runs into the time limit.
        let mut extractor = PdfExtractor::new("/bin/sh", vec!["-c".into(), "sleep 30".into()]);
        extractor.timeout = std::time::Duration::from_millis(1500);
        let opts = ReadOptions::new(extractor);
        let started = std::time::Instant::now();
        let Ok(ReadOutcome::Documents(docs)) = read(mail.as_bytes(), true, &opts) else {
            panic!("expected documents");
        };
        let elapsed = started.elapsed();
        let doc = docs.into_iter().next().expect("one").expect("a message");
        assert_eq!(doc.children.len(), 4);
        for child in &doc.children {
            assert_eq!(child.notes.len(), 1, "{:?}", child.notes);
            assert!(child.notes[0].contains("PDF attachment kept without its text"));
        }
        // One after another, four limits: 6 s.
        assert!(elapsed.as_secs_f64() < 3.0, "took {elapsed:?}");
    }

    /// The fuzzer's find (fuzz/seeds/email/regression-mail-parser-invalid-part-id.eml): with
    /// debug assertions on, as here, mail-parser panics on it; the read must fail alone.
    #[test]
    fn hostile_mime_that_panics_mail_parser_is_an_error_of_that_message() {
        let raw = include_bytes!(
            "../../../../fuzz/seeds/email/regression-mail-parser-invalid-part-id.eml"
        );
        let opts = ReadOptions::new(PdfExtractor::new("/bin/false", Vec::new()));
        match read(raw, true, &opts) {
            Ok(ReadOutcome::Documents(docs)) => assert!(
                docs.iter().all(Result::is_err),
                "expected the message to fail, got a document"
            ),
            Ok(ReadOutcome::Unsupported(why)) => panic!("unsupported: {why:?}"),
            Err(e) => assert!(!e.reason.is_empty()),
        }
    }
}
