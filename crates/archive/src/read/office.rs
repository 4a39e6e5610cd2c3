//! Office documents: OOXML (DOCX, PPTX, XLSX) and ODF (ODT, ODP, ODS), read from their zip,
//! and RTF ([`rtf`]). Text is taken from the XML parts by one streamed reader ([`Rules`] say
//! which elements hold text, end a paragraph, or start a slide or sheet): a part is read
//! through a byte cap and the text through a character cap, so a 1 GiB XML part is cut, never
//! loaded, and the document says so in its notes. XLSX cells come from `calamine`'s streamed
//! cell reader, sheet by sheet, after every part's declared size (which the zip reader
//! enforces) is checked against the cap, since calamine loads the shared strings whole. ODS
//! rows and cells that stand for several alike are written out up to [`MAX_REPEAT`] times. Title,
//! author and dates come from `docProps/core.xml` (OOXML) or `meta.xml` (ODF).
//!
//! Legacy DOC and XLS are read by Debian's catdoc tools in a child process ([`legacy`]); PPT
//! by its records, in this process ([`ppt`]). The
//! order of PPTX slides is their file number (`slide1.xml`, `slide2.xml`...), which is the
//! order every common producer writes, not the order `presentation.xml` lists.

pub mod legacy;
pub mod ppt;
pub mod rtf;

use super::ReadError;
use crate::model::{Extracted, Kind};
use quick_xml::events::Event;
use std::io::{self, BufRead, Read, Seek};
use time::OffsetDateTime;

/// Bytes of one XML part read before it is cut.
pub const MAX_PART_BYTES: u64 = 256 << 20;
/// Characters of text one document keeps before it is cut.
pub const MAX_TEXT_CHARS: usize = 64 << 20;
/// Cells of one spreadsheet read before it is cut.
pub const MAX_CELLS: u64 = 2_000_000;

/// How much of a document is read.
#[derive(Clone, Copy, Debug)]
pub struct Caps {
    pub part_bytes: u64,
    pub text_chars: usize,
    pub cells: u64,
}

impl Default for Caps {
    fn default() -> Caps {
        Caps {
            part_bytes: MAX_PART_BYTES,
            text_chars: MAX_TEXT_CHARS,
            cells: MAX_CELLS,
        }
    }
}

/// An office format.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Office {
    Docx,
    Pptx,
    Xlsx,
    Odt,
    Odp,
    Ods,
    Rtf,
}

impl Office {
    /// The format of a file with extension `ext` (lowercase) and first bytes `head`.
    pub fn detect(ext: &str, head: &[u8]) -> Option<Office> {
        Some(match ext {
            "docx" | "docm" | "dotx" => Office::Docx,
            "pptx" | "pptm" | "ppsx" => Office::Pptx,
            "xlsx" | "xlsm" => Office::Xlsx,
            "odt" | "ott" => Office::Odt,
            "odp" | "otp" => Office::Odp,
            "ods" | "ots" => Office::Ods,
            "rtf" => Office::Rtf,
            _ if head.starts_with(b"{\\rtf") => Office::Rtf,
            _ => return None,
        })
    }

    /// The office format of an open zip, told from the parts it holds, whatever its name.
    pub fn sniff<R: Read + Seek>(zip: &mut zip::ZipArchive<R>) -> Option<Office> {
        let has = |name: &str| zip.index_for_name(name).is_some();
        if has("word/document.xml") {
            return Some(Office::Docx);
        }
        if has("xl/workbook.xml") {
            return Some(Office::Xlsx);
        }
        if has("ppt/presentation.xml") || has("ppt/slides/slide1.xml") {
            return Some(Office::Pptx);
        }
        if has("content.xml") && has("mimetype") {
            let mut mimetype = String::new();
            let file = zip.by_name("mimetype").ok()?;
            file.take(100).read_to_string(&mut mimetype).ok()?;
            return match mimetype.trim() {
                "application/vnd.oasis.opendocument.text" => Some(Office::Odt),
                "application/vnd.oasis.opendocument.spreadsheet" => Some(Office::Ods),
                "application/vnd.oasis.opendocument.presentation" => Some(Office::Odp),
                _ => None,
            };
        }
        None
    }

    /// How messages name the format ("DOCX").
    pub fn name(self) -> &'static str {
        match self {
            Office::Docx => "DOCX",
            Office::Pptx => "PPTX",
            Office::Xlsx => "XLSX",
            Office::Odt => "ODT",
            Office::Odp => "ODP",
            Office::Ods => "ODS",
            Office::Rtf => "RTF",
        }
    }

    fn kind(self) -> Kind {
        match self {
            Office::Docx | Office::Odt | Office::Rtf => Kind::Document,
            Office::Pptx | Office::Odp => Kind::Presentation,
            Office::Xlsx | Office::Ods => Kind::Spreadsheet,
        }
    }

    fn media_type(self) -> &'static str {
        match self {
            Office::Docx => {
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
            }
            Office::Pptx => {
                "application/vnd.openxmlformats-officedocument.presentationml.presentation"
            }
            Office::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            Office::Odt => "application/vnd.oasis.opendocument.text",
            Office::Odp => "application/vnd.oasis.opendocument.presentation",
            Office::Ods => "application/vnd.oasis.opendocument.spreadsheet",
            Office::Rtf => "application/rtf",
        }
    }

    fn ext(self) -> &'static str {
        match self {
            Office::Docx => "docx",
            Office::Pptx => "pptx",
            Office::Xlsx => "xlsx",
            Office::Odt => "odt",
            Office::Odp => "odp",
            Office::Ods => "ods",
            Office::Rtf => "rtf",
        }
    }
}

/// Reads the office document `raw` (the file named `name`) as `format`.
pub fn read(format: Office, raw: Vec<u8>, name: &str, caps: Caps) -> Result<Extracted, ReadError> {
    let mut doc = Extracted::new(
        format.kind(),
        String::new(),
        format.ext().to_owned(),
        format.media_type().to_owned(),
    );
    let mut text = Text::new(caps.text_chars);
    if format == Office::Rtf {
        let info = rtf::read(&raw, &mut text);
        doc.title = info.title.unwrap_or_default();
        doc.author = info.author;
    } else {
        let mut zip = zip::ZipArchive::new(io::Cursor::new(&raw))
            .map_err(|e| ReadError::file(format!("not a readable {} (zip): {e}", format.ext())))?;
        let meta = match format {
            Office::Odt | Office::Odp | Office::Ods => "meta.xml",
            _ => "docProps/core.xml",
        };
        if zip.index_for_name(meta).is_some() {
            let mut props = Text::new(MAX_META_CHARS);
            let found = properties(&mut zip, meta, caps, &mut props)?;
            doc.title = found.title.unwrap_or_default();
            doc.author = found.author;
            doc.date = found.created.or(found.modified);
        }
        match format {
            Office::Docx => part(&mut zip, "word/document.xml", &DOCX, caps, &mut text)?,
            Office::Pptx => {
                for (n, slide) in slides(&zip).into_iter().enumerate() {
                    text.section(&format!("Slide {}", n + 1));
                    part(&mut zip, &slide, &PPTX, caps, &mut text)?;
                }
            }
            Office::Xlsx => xlsx(raw.as_slice(), &mut zip, caps, &mut text)?,
            Office::Odt | Office::Odp | Office::Ods => {
                let rules = match format {
                    Office::Odt => &ODT,
                    Office::Odp => &ODP,
                    _ => &ODS,
                };
                part(&mut zip, "content.xml", rules, caps, &mut text)?;
            }
            Office::Rtf => {}
        }
    }
    text.finish(&mut doc, name, raw);
    Ok(doc)
}

const MAX_META_CHARS: usize = 64 << 10;

/// A cap as the notes say it: `256 MiB`, `64 KiB`, `1000 bytes`.
fn size(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 20 && b % (1 << 20) == 0 => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b % (1 << 10) == 0 => format!("{} KiB", b >> 10),
        b => format!("{b} bytes"),
    }
}

/// Text being gathered, with its cap.
pub struct Text {
    out: String,
    cap: usize,
    cut: bool,
    notes: Vec<String>,
}

impl Text {
    /// Puts the text read into `doc` (of file `name`, whose bytes are `raw`), with its notes,
    /// and gives it a title when its format gave none: the first heading or sentence of the
    /// text for a document, the first line of the first slide for a presentation (where a
    /// title slide or a title placeholder is); the
    /// file's name for a spreadsheet (its first row is no title of the file) or when there is
    /// no text.
    pub(crate) fn finish(mut self, doc: &mut Extracted, name: &str, raw: Vec<u8>) {
        if doc.title.trim().is_empty() {
            let own = match doc.kind {
                Kind::Document => super::title::plain_title(&self.out),
                Kind::Presentation => first_section(&self.out)
                    .lines()
                    .map(str::trim)
                    .find(|l| l.chars().any(char::is_alphanumeric))
                    .map(|l| super::cut_at_word(l, super::MAX_TITLE_CHARS)),
                _ => None,
            };
            doc.title = own
                .filter(|t| !t.is_empty())
                .unwrap_or_else(|| name.to_owned());
        }
        doc.notes.append(&mut self.notes);
        doc.text = self.out;
        doc.original = raw;
    }

    fn new(cap: usize) -> Text {
        Text {
            out: String::new(),
            cap,
            cut: false,
            notes: Vec::new(),
        }
    }

    pub(crate) fn push(&mut self, s: &str) {
        if self.cut {
            return;
        }
        if self.out.len() + s.len() > self.cap {
            let room = s.floor_char_boundary(self.cap.saturating_sub(self.out.len()));
            self.out.push_str(&s[..room]);
            self.cut = true;
            self.notes.push(format!(
                "cut: the text stops at {}: the rest of the document is not read",
                size(self.cap as u64)
            ));
            return;
        }
        self.out.push_str(s);
    }

    /// Ends a paragraph: one line break, never a blank line at the start.
    pub(crate) fn end_paragraph(&mut self) {
        if !self.out.is_empty() && !self.out.ends_with('\n') {
            self.push("\n");
        }
    }

    /// Starts a slide or a sheet, headed by `title`.
    fn section(&mut self, title: &str) {
        if !self.out.is_empty() {
            self.end_paragraph();
            self.push("\n");
        }
        self.push(&format!("## {title}\n\n"));
    }
}

/// The text of the first section (slide) that has any, without its `## ` heading line.
fn first_section(text: &str) -> String {
    let mut body = String::new();
    for line in text.lines() {
        if line.starts_with("## ") {
            if !body.trim().is_empty() {
                break;
            }
            body.clear();
            continue;
        }
        body.push_str(line);
        body.push('\n');
    }
    body
}

/// Which elements (by local name) make the text of a format.
struct Rules {
    /// Text inside these is kept (all of it, nested spans included).
    text_in: &'static [&'static str],
    /// The end of one of these ends a paragraph (a row, for a spreadsheet).
    paragraph: &'static [&'static str],
    /// A cell: its end writes a tab.
    cell: &'static str,
    /// A line break, a tab, a space (ODF's `text:s`).
    line_break: &'static [&'static str],
    tab: &'static [&'static str],
    space: &'static str,
    /// The start of one of these starts a section (a slide, a sheet) named by its
    /// `name_attr`, or numbered.
    section: Option<(&'static str, &'static str, &'static str)>,
    /// Elements that stand for several alike (ODF's repeated rows and cells), by the attribute
    /// that counts them: their text is written that many times, at most [`MAX_REPEAT`].
    repeat: &'static [(&'static str, &'static str)],
}

/// Times a repeated row or cell with text is written out; past it the note says so.
pub const MAX_REPEAT: u64 = 1000;

const DOCX: Rules = Rules {
    text_in: &["t"],
    paragraph: &["p"],
    cell: "tc",
    line_break: &["br", "cr"],
    tab: &["tab"],
    space: "",
    section: None,
    repeat: &[],
};

const PPTX: Rules = Rules {
    text_in: &["t"],
    paragraph: &["p"],
    cell: "tc",
    line_break: &["br"],
    tab: &[],
    space: "",
    section: None,
    repeat: &[],
};

const ODT: Rules = Rules {
    text_in: &["p", "h"],
    paragraph: &["p", "h"],
    cell: "table-cell",
    line_break: &["line-break"],
    tab: &["tab"],
    space: "s",
    section: None,
    repeat: &[],
};

const ODP: Rules = Rules {
    section: Some(("page", "name", "Slide")),
    ..ODT
};

const ODS: Rules = Rules {
    paragraph: &["table-row"],
    section: Some(("table", "name", "Sheet")),
    repeat: &[
        ("table-row", "number-rows-repeated"),
        ("table-cell", "number-columns-repeated"),
    ],
    ..ODT
};

/// Document properties: Dublin Core in both OOXML's core.xml and ODF's meta.xml.
#[derive(Default)]
struct Properties {
    title: Option<String>,
    author: Option<String>,
    created: Option<OffsetDateTime>,
    modified: Option<OffsetDateTime>,
}

fn properties<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    name: &str,
    caps: Caps,
    _scratch: &mut Text,
) -> Result<Properties, ReadError> {
    let file = zip
        .by_name(name)
        .map_err(|e| ReadError::file(format!("{name}: {e}")))?;
    let mut xml =
        quick_xml::Reader::from_reader(io::BufReader::new(file.take(caps.part_bytes.min(1 << 20))));
    let mut found = Properties::default();
    let mut buf = Vec::new();
    let mut current: Option<String> = None;
    let mut value = String::new();
    loop {
        match xml.read_event_into(&mut buf) {
            Ok(Event::Start(e)) => {
                current = Some(e.name().as_ref().to_owned());
                value.clear();
            }
            Ok(Event::Text(t)) => {
                if current.is_some() && value.len() < MAX_META_CHARS {
                    value.push_str(&t.xml10_content());
                }
            }
            Ok(Event::GeneralRef(r)) => {
                if current.is_some()
                    && let Some(c) = entity(&r)
                {
                    value.push(c);
                }
            }
            Ok(Event::End(_)) => {
                let v = value.trim();
                match current.take().as_deref() {
                    _ if v.is_empty() => {}
                    Some("dc:title") => found.title = Some(v.to_owned()),
                    Some("dc:creator" | "meta:initial-creator") if found.author.is_none() => {
                        found.author = Some(v.to_owned());
                    }
                    Some("dcterms:created" | "meta:creation-date") => {
                        found.created = parse_date(v);
                    }
                    Some("dcterms:modified" | "dc:date") => found.modified = parse_date(v),
                    _ => {}
                }
                value.clear();
            }
            Ok(Event::Eof) | Err(_) => break,
            Ok(_) => {}
        }
        buf.clear();
    }
    Ok(found)
}

/// An ISO 8601 date of core.xml or meta.xml (`2010-04-12T10:00:00Z`, ODF's without a zone).
fn parse_date(v: &str) -> Option<OffsetDateTime> {
    use time::format_description::well_known::Rfc3339;
    if let Ok(d) = OffsetDateTime::parse(v, &Rfc3339) {
        return Some(d);
    }
    let plain = v.split('.').next().unwrap_or(v);
    OffsetDateTime::parse(&format!("{plain}Z"), &Rfc3339).ok()
}

/// The slides of a PPTX, in their file number's order.
fn slides<R: Read + Seek>(zip: &zip::ZipArchive<R>) -> Vec<String> {
    let mut slides: Vec<(u32, String)> = zip
        .file_names()
        .filter_map(|n| {
            let n: &str = n.as_ref().ok()?;
            let number = n
                .strip_prefix("ppt/slides/slide")?
                .strip_suffix(".xml")?
                .parse()
                .ok()?;
            Some((number, n.to_owned()))
        })
        .collect();
    slides.sort();
    slides.into_iter().map(|(_, n)| n).collect()
}

/// Reads the XML part `name` into `text` by `rules`, cut at the caps.
fn part<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    name: &str,
    rules: &Rules,
    caps: Caps,
    text: &mut Text,
) -> Result<(), ReadError> {
    let file = zip
        .by_name(name)
        .map_err(|e| ReadError::file(format!("{name}: {e}: not a valid document")))?;
    let mut limited = file.take(caps.part_bytes);
    let outcome = xml_text(io::BufReader::new(&mut limited), rules, text);
    if limited.limit() == 0 {
        text.notes.push(format!(
            "cut: {name} stops at {}: the part is larger, the rest is not read",
            size(caps.part_bytes)
        ));
        return Ok(());
    }
    outcome.map_err(|e| ReadError::file(format!("{name}: {e}")))
}

/// The streamed reading of one XML part.
fn xml_text(input: impl BufRead, rules: &Rules, text: &mut Text) -> Result<(), String> {
    let mut xml = quick_xml::Reader::from_reader(input);
    let mut buf = Vec::new();
    let mut inside = 0usize;
    let mut sections = 0usize;
    let mut sheet = String::new();
    // Rows and cells open (for ODS): where their text starts, how many they stand for; past
    // 64 deep (tables in cells in tables...) only counted, never repeated.
    let mut repeated: Vec<(usize, u64)> = Vec::new();
    let mut deeper = 0usize;
    loop {
        if text.cut {
            return Ok(());
        }
        let event = xml
            .read_event_into(&mut buf)
            .map_err(|e| format!("broken XML at byte {}: {e}", xml.buffer_position()))?;
        match event {
            Event::Start(e) => {
                let local = e.local_name();
                let local = local.as_ref();
                if let Some(name) = section(&e, rules, &mut sections, text) {
                    sheet = name;
                }
                if rules.text_in.contains(&local) {
                    inside += 1;
                }
                if let Some((_, attr)) = rules.repeat.iter().find(|(el, _)| *el == local) {
                    let times = e
                        .attributes()
                        .flatten()
                        .find(|a| a.key.local_name().as_ref() == *attr)
                        .and_then(|a| a.value.parse().ok())
                        .unwrap_or(1u64);
                    if repeated.len() < 64 {
                        repeated.push((text.out.len(), times));
                    } else {
                        deeper += 1;
                    }
                }
            }
            Event::Empty(e) => {
                let local = e.local_name();
                let local = local.as_ref();
                if let Some(name) = section(&e, rules, &mut sections, text) {
                    sheet = name;
                }
                if inside > 0 || rules.text_in == ["t"] {
                    if rules.line_break.contains(&local) {
                        text.push("\n");
                    } else if rules.tab.contains(&local) {
                        text.push("\t");
                    } else if local == rules.space {
                        let n = e
                            .attributes()
                            .flatten()
                            .find(|a| a.key.local_name().as_ref() == "c")
                            .and_then(|a| a.value.parse().ok())
                            .unwrap_or(1usize)
                            .min(64);
                        text.push(&" ".repeat(n));
                    }
                }
                if rules.paragraph.contains(&local) {
                    text.end_paragraph();
                }
            }
            Event::Text(t) if inside > 0 => {
                text.push(&t.xml10_content());
            }
            Event::CData(t) if inside > 0 => text.push(&t.xml10_content()),
            Event::GeneralRef(r) if inside > 0 => {
                if let Some(c) = entity(&r) {
                    text.push(c.encode_utf8(&mut [0; 4]));
                }
            }
            Event::End(e) => {
                let local = e.local_name();
                let local = local.as_ref();
                if rules.text_in.contains(&local) {
                    inside = inside.saturating_sub(1);
                }
                if local == rules.cell && !text.out.ends_with(['\n', '\t']) {
                    text.push("\t");
                }
                if rules.paragraph.contains(&local) {
                    if text.out.ends_with('\t') {
                        text.out.pop();
                    }
                    text.end_paragraph();
                }
                if rules.repeat.iter().any(|(el, _)| *el == local) {
                    if deeper > 0 {
                        deeper -= 1;
                    } else if let Some((start, times)) = repeated.pop()
                        && times > 1
                    {
                        repeat(text, start, times, local, &sheet);
                    }
                }
            }
            Event::Eof => return Ok(()),
            _ => {}
        }
        buf.clear();
    }
}

/// The character an entity or character reference stands for (XML's five, or `&#N;`).
fn entity(r: &quick_xml::events::BytesRef) -> Option<char> {
    match r.resolve_char_ref() {
        Ok(Some(c)) => Some(c),
        _ => match &**r {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            _ => None,
        },
    }
}

/// Writes the text of a repeated row or cell (from `start` on, the first copy) `times` in
/// all, at most [`MAX_REPEAT`], and says so past it: a row with text repeated a million times
/// is a cut, an empty one costs nothing.
fn repeat(text: &mut Text, start: usize, times: u64, element: &str, sheet: &str) {
    let Some(unit) = text.out.get(start..).map(str::to_owned) else {
        return;
    };
    if unit.trim().is_empty() {
        return;
    }
    for _ in 1..times.min(MAX_REPEAT) {
        if text.cut {
            return;
        }
        text.push(&unit);
    }
    if times > MAX_REPEAT {
        let what = if element == "table-row" {
            "row"
        } else {
            "cell"
        };
        text.notes.push(format!(
            "cut: {sheet}: a {what} repeated {times} times is written {MAX_REPEAT} times"
        ));
    }
}

/// Starts a section (a slide, a sheet) when `e` is the element that makes one, and gives its
/// heading.
fn section(
    e: &quick_xml::events::BytesStart,
    rules: &Rules,
    sections: &mut usize,
    text: &mut Text,
) -> Option<String> {
    let (element, attr, word) = rules.section?;
    if e.local_name().as_ref() != element {
        return None;
    }
    *sections += 1;
    let named = e
        .attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == attr)
        .and_then(|a| {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()
                .map(|v| v.into_owned())
        });
    let heading = match named {
        Some(n) => format!("{word} {sections}: {n}"),
        None => format!("{word} {sections}"),
    };
    text.section(&heading);
    Some(heading)
}

/// An XLSX, sheet by sheet, through calamine's streamed cell reader.
fn xlsx(
    raw: &[u8],
    zip: &mut zip::ZipArchive<io::Cursor<&Vec<u8>>>,
    caps: Caps,
    text: &mut Text,
) -> Result<(), ReadError> {
    use calamine::{Data, Reader, Xlsx};
    // calamine reads the shared strings and styles whole: refuse parts that declare more than
    // the cap (the zip reader stops a part at its declared size).
    for i in 0..zip.len() {
        if let Ok(file) = zip.by_index_raw(i)
            && file.size() > caps.part_bytes
        {
            return Err(ReadError::file(format!(
                "{} declares {} MiB, more than the {} MiB a part of an office document may",
                file.name().unwrap_or_default(),
                file.size() >> 20,
                caps.part_bytes >> 20
            )));
        }
    }
    let mut book: Xlsx<_> = Xlsx::new(io::Cursor::new(raw))
        .map_err(|e| ReadError::file(format!("not a readable xlsx: {e}")))?;
    let mut cells = 0u64;
    for (n, name) in book.sheet_names().into_iter().enumerate() {
        text.section(&format!("Sheet {}: {name}", n + 1));
        let mut reader = book
            .worksheet_cells_reader(&name)
            .map_err(|e| ReadError::file(format!("sheet {name}: {e}")))?;
        let mut row = None;
        loop {
            let cell = match reader.next_cell() {
                Ok(Some(cell)) => cell,
                Ok(None) => break,
                Err(e) => {
                    text.notes.push(format!(
                        "cut: sheet '{name}' stops after row {}: {e}",
                        row.map_or(0, |r| r + 1)
                    ));
                    break;
                }
            };
            cells += 1;
            if cells > caps.cells {
                text.notes.push(format!(
                    "cut: sheet '{name}' stops at row {}: the workbook has more than {} cells, the rest is not read",
                    cell.get_position().0 + 1,
                    caps.cells
                ));
                return Ok(());
            }
            let value = Data::from(cell.get_value().clone());
            if value == Data::Empty {
                continue;
            }
            let (r, _) = cell.get_position();
            if row.is_some_and(|last| last != r) {
                text.end_paragraph();
            } else if row.is_some() {
                text.push("\t");
            }
            row = Some(r);
            text.push(&value.to_string());
            if text.cut {
                return Ok(());
            }
        }
        text.end_paragraph();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::zip_of;

    const CORE: &str = r#"<?xml version="1.0" encoding="UTF-8"?><cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/"><dc:title>Harbour &amp; docks</dc:title><dc:creator>Alice Example</dc:creator><dcterms:created>2010-04-12T10:00:00Z</dcterms:created></cp:coreProperties>"#;

    fn docx(body: &str) -> Vec<u8> {
        let document = format!(
            r#"<?xml version="1.0"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>{body}</w:body></w:document>"#
        );
        zip_of(&[
            ("[Content_Types].xml", b"<Types/>"),
            ("docProps/core.xml", CORE.as_bytes()),
            ("word/document.xml", document.as_bytes()),
        ])
        .expect("zip")
    }

    fn read_as(format: Office, raw: Vec<u8>, caps: Caps) -> Extracted {
        read(format, raw, "file", caps).expect("read")
    }

    #[test]
    fn a_docx_gives_its_paragraphs_title_author_and_date() {
        let raw = docx(
            r#"<w:p><w:r><w:t>First</w:t></w:r><w:r><w:tab/><w:t xml:space="preserve"> paragraph &lt;1&gt;</w:t></w:r></w:p><w:p><w:r><w:instrText>PAGE</w:instrText><w:t>Second</w:t><w:br/><w:t>line</w:t></w:r></w:p>"#,
        );
        let doc = read_as(Office::Docx, raw, Caps::default());
        assert_eq!(doc.text, "First\t paragraph <1>\nSecond\nline\n");
        assert_eq!(doc.title, "Harbour & docks");
        assert_eq!(doc.author.as_deref(), Some("Alice Example"));
        assert_eq!(doc.date.map(|d| d.unix_timestamp()), Some(1_271_066_400));
        assert_eq!(doc.kind, Kind::Document);
        assert!(doc.notes.is_empty(), "{:?}", doc.notes);
    }

    #[test]
    fn a_docx_part_past_the_cap_is_cut_and_says_so() {
        let paragraph = "<w:p><w:r><w:t>All work and no play.</w:t></w:r></w:p>";
        let raw = docx(&paragraph.repeat(100_000));
        let caps = Caps {
            part_bytes: 1 << 20,
            ..Caps::default()
        };
        let doc = read_as(Office::Docx, raw, caps);
        assert!(doc.text.len() > 300 << 10 && doc.text.len() < 1 << 20);
        assert!(
            doc.notes
                .iter()
                .any(|n| n.starts_with("cut: word/document.xml stops at 1 MiB")),
            "{:?}",
            doc.notes
        );
        let caps = Caps {
            text_chars: 1000,
            ..Caps::default()
        };
        let doc = read_as(Office::Docx, docx(&paragraph.repeat(1000)), caps);
        assert!(doc.text.len() <= 1000);
        assert!(
            doc.notes
                .iter()
                .any(|n| n.starts_with("cut: the text stops at 1000 bytes")),
            "{:?}",
            doc.notes
        );
    }

    #[test]
    fn a_pptx_is_read_slide_by_slide_in_number_order() {
        let slide = |t: &str| {
            format!(
                r#"<p:sld xmlns:p="p" xmlns:a="a"><p:cSld><p:spTree><p:sp><p:txBody><a:p><a:r><a:t>{t}</a:t></a:r></a:p><a:p><a:r><a:t>more</a:t></a:r></a:p></p:txBody></p:sp></p:spTree></p:cSld></p:sld>"#
            )
        };
        let (s1, s2, s10) = (slide("One"), slide("Two"), slide("Ten"));
        let raw = zip_of(&[
            ("ppt/slides/slide10.xml", s10.as_bytes()),
            ("ppt/slides/slide2.xml", s2.as_bytes()),
            ("ppt/slides/slide1.xml", s1.as_bytes()),
        ])
        .expect("zip");
        let doc = read(Office::Pptx, raw, "deck.pptx", Caps::default()).expect("read");
        assert_eq!(
            doc.text,
            "## Slide 1\n\nOne\nmore\n\n## Slide 2\n\nTwo\nmore\n\n## Slide 3\n\nTen\nmore\n"
        );
        // No title in its properties: the first slide's first line.
        assert_eq!(doc.title, "One");
        assert_eq!(doc.kind, Kind::Presentation);
    }

    const ODF_META: &str = r#"<office:document-meta xmlns:office="o" xmlns:meta="m" xmlns:dc="d"><office:meta><dc:title>Minutes</dc:title><meta:initial-creator>Bob</meta:initial-creator><meta:creation-date>2009-11-03T09:30:00</meta:creation-date></office:meta></office:document-meta>"#;

    fn odf(content: &str) -> Vec<u8> {
        zip_of(&[
            ("mimetype", b"application/vnd.oasis.opendocument.text"),
            ("meta.xml", ODF_META.as_bytes()),
            ("content.xml", content.as_bytes()),
        ])
        .expect("zip")
    }

    #[test]
    fn odt_odp_and_ods_are_read_with_their_metadata() {
        let odt = odf(
            r#"<office:document-content xmlns:office="o" xmlns:text="t"><office:body><office:text><text:h>Minutes</text:h><text:p>Present:<text:s text:c="2"/><text:span>Alice</text:span><text:tab/>Bob</text:p></office:text></office:body></office:document-content>"#,
        );
        let doc = read_as(Office::Odt, odt, Caps::default());
        assert_eq!(doc.text, "Minutes\nPresent:  Alice\tBob\n");
        assert_eq!(doc.title, "Minutes");
        assert_eq!(doc.author.as_deref(), Some("Bob"));
        assert_eq!(doc.date.map(|d| d.unix_timestamp()), Some(1_257_240_600));

        let odp = odf(
            r#"<office:document-content xmlns:office="o" xmlns:text="t" xmlns:draw="d"><office:body><office:presentation><draw:page draw:name="Intro"><draw:frame><draw:text-box><text:p>Hello</text:p></draw:text-box></draw:frame></draw:page><draw:page draw:name="End"><draw:frame><draw:text-box><text:p>Bye</text:p></draw:text-box></draw:frame></draw:page></office:presentation></office:body></office:document-content>"#,
        );
        let doc = read_as(Office::Odp, odp, Caps::default());
        assert_eq!(
            doc.text,
            "## Slide 1: Intro\n\nHello\n\n## Slide 2: End\n\nBye\n"
        );

        // A million empty rows, repeated or written out, cost nothing.
        let empty_rows = r#"<table:table-row table:number-rows-repeated="1000000"><table:table-cell table:number-columns-repeated="16384"/></table:table-row>"#;
        let ods = odf(&format!(
            r#"<office:document-content xmlns:office="o" xmlns:text="t" xmlns:table="b"><office:body><office:spreadsheet><table:table table:name="Costs"><table:table-row><table:table-cell><text:p>Item</text:p></table:table-cell><table:table-cell><text:p>Euro</text:p></table:table-cell></table:table-row><table:table-row><table:table-cell><text:p>Rope</text:p></table:table-cell><table:table-cell office:value="12"><text:p>12</text:p></table:table-cell></table:table-row>{empty_rows}{}</table:table><table:table table:name="Empty"/></office:spreadsheet></office:body></office:document-content>"#,
            "<table:table-row/>".repeat(1_000_000)
        ));
        let started = std::time::Instant::now();
        let doc = read_as(Office::Ods, ods, Caps::default());
        assert_eq!(
            doc.text,
            "## Sheet 1: Costs\n\nItem\tEuro\nRope\t12\n\n## Sheet 2: Empty\n\n"
        );
        assert_eq!(doc.kind, Kind::Spreadsheet);
        assert!(started.elapsed().as_secs() < 30);
    }

    /// ODF writes alike rows and cells once with a count: their text is written that many
    /// times, up to a bound the notes name (a million rows of text are a cut, not a million
    /// copies), and a million empty ones still cost nothing.
    #[test]
    fn repeated_ods_rows_and_cells_are_written_out_to_a_bound() {
        let ods = odf(
            r#"<office:document-content xmlns:office="o" xmlns:text="t" xmlns:table="b"><office:body><office:spreadsheet><table:table table:name="Ledger"><table:table-row table:number-rows-repeated="3"><table:table-cell table:number-columns-repeated="2"><text:p>rope</text:p></table:table-cell><table:table-cell><text:p>12</text:p></table:table-cell></table:table-row><table:table-row table:number-rows-repeated="1000000"><table:table-cell><text:p>tar</text:p></table:table-cell></table:table-row><table:table-row table:number-rows-repeated="1000000"><table:table-cell table:number-columns-repeated="16384"/></table:table-row></table:table></office:spreadsheet></office:body></office:document-content>"#,
        );
        let doc = read_as(Office::Ods, ods, Caps::default());
        let expected = format!(
            "## Sheet 1: Ledger\n\n{}{}",
            "rope\trope\t12\n".repeat(3),
            "tar\n".repeat(MAX_REPEAT as usize)
        );
        assert_eq!(doc.text, expected);
        assert_eq!(
            doc.notes,
            ["cut: Sheet 1: Ledger: a row repeated 1000000 times is written 1000 times"]
        );
    }

    fn xlsx(rows: &str) -> Vec<u8> {
        crate::testing::xlsx_of(rows).expect("xlsx")
    }

    #[test]
    fn an_xlsx_is_read_sheet_by_sheet_and_a_million_empty_rows_cost_nothing() {
        let rows = r#"<row r="1"><c r="A1" t="inlineStr"><is><t>Item</t></is></c><c r="B1" t="inlineStr"><is><t>Euro</t></is></c></row><row r="2"><c r="A2" t="inlineStr"><is><t>Rope</t></is></c><c r="B2"><v>12.5</v></c></row>"#;
        let empty: String = (3..1_000_003)
            .map(|r| format!(r#"<row r="{r}"/>"#))
            .collect();
        let raw = xlsx(&format!(
            r#"{rows}{empty}<row r="1000003"><c r="XFD1000003" t="inlineStr"><is><t>end</t></is></c></row>"#
        ));
        let started = std::time::Instant::now();
        let doc = read_as(Office::Xlsx, raw, Caps::default());
        assert_eq!(
            doc.text,
            "## Sheet 1: Ledger\n\nItem\tEuro\nRope\t12.5\nend\n"
        );
        assert_eq!(doc.title, "Harbour & docks");
        assert!(started.elapsed().as_secs() < 30);
        let caps = Caps {
            cells: 3,
            ..Caps::default()
        };
        let doc = read_as(Office::Xlsx, xlsx(rows), caps);
        assert!(
            doc.notes.iter().any(|n| n
                == "cut: sheet 'Ledger' stops at row 2: the workbook has more than 3 cells, the rest is not read"),
            "{:?}",
            doc.notes
        );
    }

    #[test]
    fn rtf_text_title_and_author_are_read_and_its_tables_skipped() {
        let raw = br"{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0 Times;}}{\colortbl;\red0\green0\blue0;}{\info{\title The plan}{\author Alice}}{\*\generator Word;}\pard Caf\'e9 \b bold\b0\par Second line\tab end \u8364?\par}";
        let doc = read_as(Office::Rtf, raw.to_vec(), Caps::default());
        assert_eq!(doc.text, "Café bold\nSecond line\tend €\n");
        assert_eq!(doc.title, "The plan");
        assert_eq!(doc.author.as_deref(), Some("Alice"));
    }

    /// Groups past the depth bound cost a counter, not a stacked state each (ten million `{`
    /// took a 16-byte state each, 160 MB), and the text after them is read; the report says what was skipped.
    #[test]
    fn rtf_groups_nested_past_the_bound_are_skipped_and_said() {
        let mut raw = br"{\rtf1 before ".to_vec();
        raw.extend(std::iter::repeat_n(b'{', 10_000_000));
        raw.extend(b"hidden");
        raw.extend(std::iter::repeat_n(b'}', 10_000_000));
        raw.extend(br" after\par}");
        let doc = read_as(Office::Rtf, raw, Caps::default());
        assert_eq!(doc.text, "before  after\n");
        assert_eq!(
            doc.notes,
            ["cut: groups nested more than 256 deep are skipped, with their text"]
        );
    }

    #[test]
    fn a_broken_office_file_fails_with_its_reason() {
        let e = read(
            Office::Docx,
            b"PK\x03\x04 no".to_vec(),
            "x.docx",
            Caps::default(),
        )
        .expect_err("broken");
        assert!(e.reason.contains("not a readable docx"), "{}", e.reason);
        let e = read(
            Office::Docx,
            zip_of(&[("a", b"b")]).expect("zip"),
            "x.docx",
            Caps::default(),
        )
        .expect_err("no body");
        assert!(e.reason.contains("word/document.xml"), "{}", e.reason);
    }
}
