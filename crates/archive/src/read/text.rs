//! Plain text, Markdown, reStructuredText and HTML: one file, one document.
//!
//! The text is the source itself, decoded from whatever encoding it is in ([`super::decode`]:
//! UTF-8, else detected; the encoding is recorded); HTML is converted to text with `html2text`,
//! after decoding the charset it declares (else detected). Titles come from the format's own
//! markup (`# heading`, an underlined line, `<title>`), for plain text its first heading or first
//! sentence ([`super::title`]), else the file name. A date comes from a dateline in the text, else
//! from the file name ([`super::dates`]), marked as such.

use super::decode::{self, Decoded};
use super::{MAX_TITLE_CHARS, ReadError, cut_at_word, dates, first_line_title, title};
use crate::model::{DateSource, Extracted, Kind};
use encoding_rs::Encoding;
use std::path::Path;

/// The text formats this module reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TextFormat {
    Plain,
    Markdown,
    Rst,
    Html,
}

impl TextFormat {
    pub fn kind(self) -> Kind {
        match self {
            TextFormat::Plain => Kind::Text,
            TextFormat::Markdown => Kind::Markdown,
            TextFormat::Rst => Kind::Rst,
            TextFormat::Html => Kind::Html,
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            TextFormat::Plain => "text/plain",
            TextFormat::Markdown => "text/markdown",
            TextFormat::Rst => "text/x-rst",
            TextFormat::Html => "text/html",
        }
    }
}

/// What [`extract`] finds in a text document.
#[derive(Debug)]
pub struct Parts {
    /// The title, if the content has one.
    pub title: Option<String>,
    pub text: String,
    /// The encoding the text was decoded from.
    pub encoding: &'static Encoding,
    /// What went amiss in decoding, if anything (see [`Decoded::note`]).
    pub note: Option<String>,
}

/// Reads one text document. `content` is the (decompressed) bytes, `original` the file's bytes,
/// `ext` the extension to record (`rst.gz`), `name` the file name for a title of last resort.
pub fn read(
    format: TextFormat,
    content: &[u8],
    original: Vec<u8>,
    ext: String,
    name: &str,
) -> Result<Extracted, ReadError> {
    let kept = cut(content, false);
    let parts = extract(format, &content[..kept]).map_err(ReadError::file)?;
    let media_type = if ext.ends_with(".gz") {
        "application/gzip"
    } else {
        format.media_type()
    };
    let mut doc = Extracted {
        original,
        ..document(format, parts, ext, media_type, name)
    };
    note_cut(&mut doc, content.len() as u64, kept as u64);
    Ok(doc)
}

/// As [`read`] for bytes `raw` that are both the content and the original (an archive's
/// member): read, then kept as the original, without a copy.
pub fn read_vec(
    format: TextFormat,
    raw: Vec<u8>,
    ext: String,
    name: &str,
) -> Result<Extracted, ReadError> {
    let kept = cut(&raw, false);
    let parts = extract(format, &raw[..kept]).map_err(ReadError::file)?;
    let size = raw.len() as u64;
    let mut doc = Extracted {
        original: raw,
        ..document(format, parts, ext, format.media_type(), name)
    };
    note_cut(&mut doc, size, kept as u64);
    Ok(doc)
}

/// As [`read`] for an uncompressed file at `path` whose bytes are `raw`, without a copy: UTF-8
/// text keeps `raw` as its text, and the original is stored from `path` as a stream (a file of
/// one 200 MiB line costs 200 MiB, not twice that).
pub fn read_owned(
    format: TextFormat,
    raw: Vec<u8>,
    path: &Path,
    ext: String,
    name: &str,
) -> Result<Extracted, ReadError> {
    let parts = match format {
        TextFormat::Html => extract(format, &raw).map_err(ReadError::file)?,
        _ => source_parts(format, decode::decode_owned(raw)),
    };
    Ok(Extracted {
        original_file: Some(path.to_owned()),
        ..document(format, parts, ext, format.media_type(), name)
    })
}

/// Most bytes of a text file read for its text: a larger file's text is its first
/// `MAX_TEXT_BYTES` (cut after a line, or at a character), and a note says so; its original is
/// stored whole from the file.
pub const MAX_TEXT_BYTES: u64 = 64 << 20;

/// As [`read_owned`] for an uncompressed file at `path` larger than [`MAX_TEXT_BYTES`]: only
/// that much of it is read (a 2 GiB line costs 64 MiB, not 2 GiB), and the document's note says
/// how much of the file its text covers.
pub fn read_head(
    format: TextFormat,
    path: &Path,
    ext: String,
    name: &str,
) -> Result<Extracted, ReadError> {
    use std::io::Read;
    let mut head = Vec::new();
    let size = std::fs::File::open(path)
        .and_then(|file| {
            let size = file.metadata()?.len();
            file.take(MAX_TEXT_BYTES).read_to_end(&mut head)?;
            Ok(size)
        })
        .map_err(|e| ReadError::file(format!("cannot read: {e}")))?;
    let kept = cut(&head, size > head.len() as u64);
    head.truncate(kept);
    let mut doc = read_owned(format, head, path, ext, name)?;
    note_cut(&mut doc, size, kept as u64);
    Ok(doc)
}

/// How many of `bytes`, a text's first bytes (all of them unless `more` follow), its text is
/// read from: all of them up to [`MAX_TEXT_BYTES`]; else that many, cut after the last line
/// break of their last MiB, else before a character the cut splits (so that the cut alone never
/// makes UTF-8 text look like another encoding).
fn cut(bytes: &[u8], more: bool) -> usize {
    if !more && bytes.len() as u64 <= MAX_TEXT_BYTES {
        return bytes.len();
    }
    let head = &bytes[..bytes.len().min(MAX_TEXT_BYTES as usize)];
    let tail = head.len().saturating_sub(1 << 20);
    match head[tail..].iter().rposition(|&b| b == b'\n') {
        Some(at) => tail + at + 1,
        None => match std::str::from_utf8(head) {
            Err(e) if e.error_len().is_none() => e.valid_up_to(),
            _ => head.len(),
        },
    }
}

/// Says in `doc`'s notes that its text is the first `kept` bytes of `size`, when it is.
fn note_cut(doc: &mut Extracted, size: u64, kept: u64) {
    if kept < size {
        doc.notes.push(format!(
            "a text of {} MiB: its text is its first {} MiB only (the original is kept whole)",
            size >> 20,
            kept >> 20
        ));
    }
}

/// The document of `parts`: titled by the file `name` when it has no title of its own, dated by
/// its dateline or its file name.
fn document(
    format: TextFormat,
    parts: Parts,
    ext: String,
    media_type: &str,
    name: &str,
) -> Extracted {
    let this_year = time::OffsetDateTime::now_utc().year();
    let dated = dates::text_date(head(&parts.text), this_year)
        .map(|date| (date, DateSource::Text))
        .or_else(|| dates::name_date(name, this_year).map(|date| (date, DateSource::FileName)));
    Extracted {
        text: parts.text,
        date: dated.map(|(date, _)| date.midnight().assume_utc()),
        date_source: dated.map(|(_, source)| source),
        encoding: Some(parts.encoding.name().to_owned()),
        notes: parts.note.into_iter().collect(),
        ..Extracted::new(
            format.kind(),
            parts.title.unwrap_or_else(|| name.to_owned()),
            ext,
            media_type,
        )
    }
}

/// How much of a text its title and dateline are looked for in: both are at its start, and a
/// 64 MiB line must not cost a list of all its words (a 64 MiB text of one line took 550 MiB).
const HEAD_FOR_TITLE: usize = 1 << 20;

/// The first [`HEAD_FOR_TITLE`] bytes of `text`, cut at a character.
fn head(text: &str) -> &str {
    let mut end = text.len().min(HEAD_FOR_TITLE);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// The parts of a document in `format` from its bytes.
pub fn extract(format: TextFormat, content: &[u8]) -> Result<Parts, String> {
    match format {
        TextFormat::Html => {
            let html = decode_html(content);
            let text = html_to_text(&html.text)?;
            let title = html_title(&html.text).or_else(|| first_line_title(&text));
            Ok(Parts {
                title,
                text,
                encoding: html.encoding,
                note: html.note(),
            })
        }
        _ => Ok(source_parts(format, decode::decode(content))),
    }
}

/// The parts of a plain, Markdown or reStructuredText document: its source is its text.
fn source_parts(format: TextFormat, decoded: Decoded<'_>) -> Parts {
    let note = decoded.note();
    let text = decoded.text.into_owned();
    let title = match format {
        TextFormat::Markdown => markdown_title(head(&text)),
        TextFormat::Rst => rst_title(head(&text)),
        _ => title::plain_title(head(&text)),
    };
    Parts {
        title,
        text,
        encoding: decoded.encoding,
        note,
    }
}

/// Converts HTML to plain text.
pub fn html_to_text(html: &str) -> Result<String, String> {
    html2text::config::plain_no_decorate()
        .string_from_read(html.as_bytes(), 200)
        .map_err(|e| format!("cannot convert HTML to text: {e}"))
}

/// Decodes HTML bytes: by a byte-order mark, else the charset declared in the first few KiB,
/// else as UTF-8 when valid, else as detected.
pub fn decode_html(bytes: &[u8]) -> Decoded<'_> {
    if Encoding::for_bom(bytes).is_some() {
        return decode::decode(bytes);
    }
    let declared = declared_charset(&bytes[..bytes.len().min(4096)])
        .and_then(|label| Encoding::for_label(label.as_bytes()));
    match declared {
        // A page declaring UTF-8 that is not: detected, like one declaring nothing.
        Some(encoding) if encoding != encoding_rs::UTF_8 => {
            let (text, replaced) = encoding.decode_without_bom_handling(bytes);
            Decoded {
                text,
                encoding,
                replaced,
            }
        }
        _ => decode::decode(bytes),
    }
}

/// The label after the first `charset=` (a `<meta>` tag) or `encoding=` (an XML declaration).
fn declared_charset(head: &[u8]) -> Option<String> {
    let lower = head.to_ascii_lowercase();
    for key in [&b"charset"[..], &b"encoding"[..]] {
        let mut from = 0;
        while let Some(pos) = find(&lower[from..], key) {
            let mut i = from + pos + key.len();
            from = i;
            while lower.get(i).is_some_and(u8::is_ascii_whitespace) {
                i += 1;
            }
            if lower.get(i) != Some(&b'=') {
                continue;
            }
            i += 1;
            while lower
                .get(i)
                .is_some_and(|b| b.is_ascii_whitespace() || *b == b'"' || *b == b'\'')
            {
                i += 1;
            }
            let label: String = lower[i..]
                .iter()
                .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':'))
                .map(|&b| char::from(b))
                .collect();
            if !label.is_empty() {
                return Some(label);
            }
        }
    }
    None
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// The content of the first `<title>` element, entity-decoded and whitespace-collapsed.
pub fn html_title(html: &str) -> Option<String> {
    let lower = html.to_ascii_lowercase();
    let mut from = 0;
    let start = loop {
        let pos = from + lower[from..].find("<title")?;
        let after = lower.as_bytes().get(pos + 6).copied();
        if matches!(after, Some(b'>' | b' ' | b'\t' | b'\n' | b'\r')) {
            break pos;
        }
        from = pos + 6;
    };
    let open_end = start + lower[start..].find('>')? + 1;
    let close = open_end + lower[open_end..].find("</title")?;
    let title = decode_entities(&html[open_end..close]);
    let title = title.split_whitespace().collect::<Vec<_>>().join(" ");
    (!title.is_empty()).then(|| cut_at_word(&title, MAX_TITLE_CHARS))
}

/// Decodes the character references that appear in titles: numeric ones and the common named ones.
fn decode_entities(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let decoded = rest.find(';').filter(|&end| end <= 12).and_then(|end| {
            let entity = &rest[1..end];
            let c = match entity {
                "amp" => Some('&'),
                "lt" => Some('<'),
                "gt" => Some('>'),
                "quot" => Some('"'),
                "apos" => Some('\''),
                "nbsp" => Some('\u{a0}'),
                "mdash" => Some('—'),
                "ndash" => Some('–'),
                _ => {
                    let num = entity.strip_prefix('#')?;
                    let code = match num.strip_prefix(['x', 'X']) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => num.parse().ok()?,
                    };
                    char::from_u32(code)
                }
            };
            c.map(|c| (c, end))
        });
        match decoded {
            Some((c, end)) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// A Markdown document's title: `title:` in YAML front matter, the first `# ` heading, the first
/// heading of any level, else the first non-empty line outside front matter and code blocks.
pub fn markdown_title(text: &str) -> Option<String> {
    let mut lines: Vec<&str> = text.lines().collect();
    if lines.first().map(|l| l.trim_end()) == Some("---")
        && let Some(end) = lines.iter().skip(1).position(|l| l.trim_end() == "---")
    {
        let front = &lines[1..=end];
        let title = front.iter().find_map(|l| {
            let value = l.strip_prefix("title:")?.trim().trim_matches(['"', '\'']);
            (!value.is_empty()).then(|| cut_at_word(value, MAX_TITLE_CHARS))
        });
        if title.is_some() {
            return title;
        }
        lines.drain(..=end + 1);
    }
    let mut in_fence = false;
    let mut prose: Vec<&str> = Vec::new();
    for line in &lines {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
            continue;
        }
        if !in_fence {
            prose.push(line);
        }
    }
    let heading = |level_one: bool| {
        prose.iter().find_map(|line| {
            let hashes = line.bytes().take_while(|&b| b == b'#').count();
            if hashes == 0 || hashes > 6 || (level_one && hashes != 1) {
                return None;
            }
            let rest = &line[hashes..];
            if !rest.is_empty() && !rest.starts_with([' ', '\t']) {
                return None;
            }
            let title = rest.trim().trim_end_matches('#').trim();
            (!title.is_empty()).then(|| cut_at_word(title, MAX_TITLE_CHARS))
        })
    };
    heading(true)
        .or_else(|| heading(false))
        .or_else(|| setext_title(&prose))
        .or_else(|| first_line_title(&prose.join("\n")))
}

/// A Markdown setext heading: a line underlined with `===` (or `---` when not a rule after a blank).
fn setext_title(lines: &[&str]) -> Option<String> {
    lines.windows(2).find_map(|w| {
        let (title, under) = (w[0].trim(), w[1].trim());
        let is_under = under.len() >= 2
            && (under.bytes().all(|b| b == b'=') || under.bytes().all(|b| b == b'-'));
        (is_under && !title.is_empty() && !w[0].starts_with([' ', '\t']))
            .then(|| cut_at_word(title, MAX_TITLE_CHARS))
    })
}

/// A reStructuredText document's title: the first line underlined with a repeated punctuation
/// character (optionally also overlined); else the first non-empty line that is not a comment or
/// directive.
pub fn rst_title(text: &str) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    for i in 0..lines.len().saturating_sub(1) {
        let candidate = lines[i];
        let title = candidate.trim();
        if title.is_empty() || is_adornment(title) || title.starts_with("..") {
            continue;
        }
        let overlined = i > 0 && is_adornment(lines[i - 1].trim());
        if candidate.starts_with([' ', '\t']) && !overlined {
            continue;
        }
        let under = lines[i + 1].trim_end();
        if is_adornment(under) && under.chars().count() >= title.chars().count().min(3) {
            return Some(cut_at_word(title, MAX_TITLE_CHARS));
        }
    }
    let prose: Vec<&str> = lines
        .iter()
        .copied()
        .filter(|l| !l.trim_start().starts_with("..") && !is_adornment(l.trim()))
        .collect();
    first_line_title(&prose.join("\n"))
}

/// A reStructuredText section adornment: at least 3 of the same non-alphanumeric printable character.
fn is_adornment(line: &str) -> bool {
    let mut chars = line.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    first.is_ascii_punctuation() && line.len() >= 3 && chars.all(|c| c == first)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Issue 15, item 19: a text over the cap is read from its first 64 MiB, cut after a line
    /// or before a split character, and the note says so; one within it is read whole.
    #[test]
    fn a_text_over_the_cap_is_cut_after_a_line_or_at_a_character() {
        let cap = MAX_TEXT_BYTES as usize;
        let mut lines = "a line\n".repeat(cap / 7 + 2).into_bytes();
        assert_eq!(cut(&lines[..cap - 10], false), cap - 10);
        assert_eq!(cut(&lines, false) % 7, 0);
        assert!(cut(&lines, false) <= cap);
        lines.truncate(cap - 3);
        assert_eq!(cut(&lines, true) % 7, 0);
        // One line: the cut falls inside an `é` (2 bytes) and goes before it.
        let one = "é".repeat(cap / 2 + 1).into_bytes();
        let odd = [b"x".as_slice(), &one].concat();
        assert_eq!(cut(&odd, false), cap - 1);
        assert_eq!(cut(&one, false), cap);
        let doc = read_vec(TextFormat::Plain, odd, "txt".into(), "odd.txt").expect("read");
        assert_eq!(doc.text.len(), cap - 1);
        assert!(
            doc.notes[0].contains("its text is its first 63 MiB only"),
            "{:?}",
            doc.notes
        );
    }
}
