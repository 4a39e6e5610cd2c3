//! Plain text, Markdown, reStructuredText and HTML: one file, one document.
//!
//! The text of plain, Markdown and reStructuredText files is the source itself (UTF-8 required, the
//! error names the offset of the first bad byte); HTML is converted to text with `html2text`, after
//! decoding the charset it declares. Titles come from the format's own markup (`# heading`, an
//! underlined line, `<title>`), else the first non-empty line, else the file name.

use super::{MAX_TITLE_CHARS, ReadError, decode_utf8, first_line_title, truncate_chars};
use crate::model::{Extracted, Kind};
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

/// Reads one text document. `content` is the (decompressed) bytes, `original` the file's bytes,
/// `ext` the extension to record (`rst.gz`), `name` the file name for a title of last resort.
pub fn read(
    format: TextFormat,
    content: &[u8],
    original: Vec<u8>,
    ext: String,
    name: &str,
) -> Result<Extracted, ReadError> {
    let (title, text) = extract(format, content).map_err(ReadError::file)?;
    let media_type = if ext.ends_with(".gz") {
        "application/gzip"
    } else {
        format.media_type()
    };
    Ok(Extracted {
        original,
        text,
        ..Extracted::new(
            format.kind(),
            title.unwrap_or_else(|| name.to_owned()),
            ext,
            media_type,
        )
    })
}

/// As [`read`] for an uncompressed file at `path` whose bytes are `raw`, without a copy: the
/// UTF-8 formats keep `raw` as their text and leave the original to be stored from `path` as a
/// stream (a file of one 200 MiB line costs 200 MiB, not twice that).
pub fn read_owned(
    format: TextFormat,
    raw: Vec<u8>,
    path: &Path,
    ext: String,
    name: &str,
) -> Result<Extracted, ReadError> {
    if format == TextFormat::Html {
        let (title, text) = extract(format, &raw).map_err(ReadError::file)?;
        let mut doc = read(format, b"", raw, ext, name)?;
        doc.title = title.unwrap_or_else(|| name.to_owned());
        doc.text = text;
        return Ok(doc);
    }
    let title = {
        let text = decode_utf8(&raw).map_err(ReadError::file)?;
        match format {
            TextFormat::Markdown => markdown_title(text),
            TextFormat::Rst => rst_title(text),
            _ => first_line_title(text),
        }
    };
    let text = match raw.strip_prefix(b"\xEF\xBB\xBF") {
        Some(rest) => String::from_utf8_lossy(rest).into_owned(),
        None => String::from_utf8(raw).map_err(|e| ReadError::file(e.to_string()))?,
    };
    let mut doc = read(format, b"", Vec::new(), ext, name)?;
    doc.title = title.unwrap_or_else(|| name.to_owned());
    doc.text = text;
    doc.original_file = Some(path.to_owned());
    Ok(doc)
}

/// The title (if the content has one) and the text of a document in `format`.
pub fn extract(format: TextFormat, content: &[u8]) -> Result<(Option<String>, String), String> {
    match format {
        TextFormat::Html => {
            let html = decode_html(content)?;
            let text = html_to_text(&html)?;
            let title = html_title(&html).or_else(|| first_line_title(&text));
            Ok((title, text))
        }
        TextFormat::Plain => {
            let text = decode_utf8(content)?;
            Ok((first_line_title(text), text.to_owned()))
        }
        TextFormat::Markdown => {
            let text = decode_utf8(content)?;
            Ok((markdown_title(text), text.to_owned()))
        }
        TextFormat::Rst => {
            let text = decode_utf8(content)?;
            Ok((rst_title(text), text.to_owned()))
        }
    }
}

/// Converts HTML to plain text.
pub fn html_to_text(html: &str) -> Result<String, String> {
    html2text::config::plain_no_decorate()
        .string_from_read(html.as_bytes(), 200)
        .map_err(|e| format!("cannot convert HTML to text: {e}"))
}

/// Decodes HTML bytes: the charset declared in the first few KiB if it is not UTF-8, else UTF-8.
pub fn decode_html(bytes: &[u8]) -> Result<String, String> {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return decode_utf8(rest).map(str::to_owned);
    }
    let declared = declared_charset(&bytes[..bytes.len().min(4096)]);
    let encoding = declared
        .as_deref()
        .and_then(|label| encoding_rs::Encoding::for_label(label.as_bytes()));
    match encoding {
        Some(enc) if enc != encoding_rs::UTF_8 => {
            let (text, _, _) = enc.decode(bytes);
            Ok(text.into_owned())
        }
        _ => decode_utf8(bytes)
            .map(str::to_owned)
            .map_err(|e| match declared {
                Some(label) if encoding.is_none() => {
                    format!("{e} (the declared charset {label:?} is not one we know)")
                }
                _ => e,
            }),
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
    (!title.is_empty()).then(|| truncate_chars(&title, MAX_TITLE_CHARS))
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
            (!value.is_empty()).then(|| truncate_chars(value, MAX_TITLE_CHARS))
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
            (!title.is_empty()).then(|| truncate_chars(title, MAX_TITLE_CHARS))
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
            .then(|| truncate_chars(title, MAX_TITLE_CHARS))
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
            return Some(truncate_chars(title, MAX_TITLE_CHARS));
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
