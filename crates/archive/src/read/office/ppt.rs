//! Legacy PowerPoint (PPT, 97–2003): the records of the compound file's `PowerPoint Document`
//! stream, read here (MS-PPT), slide by slide.
//!
//! Debian's `catppt` (catdoc 0.95) was tried first: it reads only the outline text kept in the
//! document's slide list and skips every slide's drawing, so it finds no word at all in the
//! PPT files LibreOffice writes (their text is in text boxes), and no text box of PowerPoint's.
//! The record format is simple enough to walk in this process, with no tool to install.
//!
//! **Which slides, in which order.** The `Current User` stream points at the last edit; each
//! edit (`UserEditAtom`) has a persist directory (persist id → offset of a record in the
//! stream) and points at the edit before it, so that a file saved in "fast save" mode, whose
//! stream also holds superseded slides, is read as it stands: the newest entry of an id wins.
//! The document's slide list (`SlideListWithText`, instance 0) gives the slides in their
//! order, each with its outline text (title and body placeholders); each slide's own record
//! gives the text of its drawing (text boxes, shapes, tables). When the edits cannot be
//! followed (a broken or hand-made file), the stream is walked in order instead, every slide
//! record a slide. Notes pages and masters are not read.

use super::{Caps, Text};
use crate::model::{Extracted, Kind};
use crate::read::ReadError;
use std::collections::HashMap;
use std::io::{Cursor, Read};

const DOCUMENT: u16 = 0x03E8;
const SLIDE: u16 = 0x03EE;
const SLIDE_PERSIST_ATOM: u16 = 0x03F3;
const TEXT_CHARS_ATOM: u16 = 0x0FA0;
const TEXT_BYTES_ATOM: u16 = 0x0FA8;
const SLIDE_LIST_WITH_TEXT: u16 = 0x0FF0;
const USER_EDIT_ATOM: u16 = 0x0FF5;
const PERSIST_DIRECTORY_ATOM: u16 = 0x1772;

/// Records nested deeper than this are not looked into (a hostile file cannot exhaust the stack).
const MAX_DEPTH: usize = 32;
/// Edits followed back from the last one.
const MAX_EDITS: usize = 256;

/// One record: its type, instance, and body (a container's body is its children).
#[derive(Clone, Copy)]
struct Record<'a> {
    kind: u16,
    instance: u16,
    container: bool,
    body: &'a [u8],
}

/// The record at `offset` of `stream`, its body cut at the end of the stream.
fn record_at(stream: &[u8], offset: usize) -> Option<(Record<'_>, usize)> {
    let header = stream.get(offset..offset.checked_add(8)?)?;
    let ver_instance = u16::from_le_bytes([header[0], header[1]]);
    let kind = u16::from_le_bytes([header[2], header[3]]);
    let len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
    let start = offset + 8;
    let end = start.saturating_add(len).min(stream.len());
    let record = Record {
        kind,
        instance: ver_instance >> 4,
        container: ver_instance & 0xF == 0xF,
        body: &stream[start..end],
    };
    Some((record, end))
}

/// The records one after the other in `bytes`.
fn records(bytes: &[u8]) -> impl Iterator<Item = Record<'_>> {
    let mut offset = 0;
    std::iter::from_fn(move || {
        let (record, next) = record_at(bytes, offset)?;
        offset = next;
        Some(record)
    })
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at + 4)?;
    Some(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
}

/// The text of a text atom: UTF-16 (`TextCharsAtom`) or one byte a character, the low byte of
/// UTF-16 (`TextBytesAtom`); a carriage return ends a paragraph, a vertical tab breaks a line.
fn atom_text(record: &Record) -> Option<String> {
    let text: String = match record.kind {
        TEXT_CHARS_ATOM => {
            let units = record
                .body
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]));
            char::decode_utf16(units)
                .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
                .collect()
        }
        TEXT_BYTES_ATOM => record.body.iter().map(|&b| char::from(b)).collect(),
        _ => return None,
    };
    let text: String = text
        .chars()
        .map(|c| if c == '\r' || c == '\u{b}' { '\n' } else { c })
        .filter(|&c| c == '\n' || c == '\t' || !c.is_control())
        .collect();
    Some(text)
}

/// Every text atom inside `bytes` (records), depth first, in file order.
fn texts_in(bytes: &[u8], depth: usize, out: &mut Vec<String>) {
    if depth > MAX_DEPTH {
        return;
    }
    for record in records(bytes) {
        if record.container {
            texts_in(record.body, depth + 1, out);
        } else if let Some(text) = atom_text(&record) {
            out.push(text);
        }
    }
}

/// One slide: its outline text from the slide list, and where its own record is.
#[derive(Default)]
struct Slide {
    persist_id: Option<u32>,
    outline: Vec<String>,
}

/// The slides of the document's slide list (`SlideListWithText` of instance 0), in order.
fn slide_list(document: &[u8]) -> Vec<Slide> {
    let mut slides = Vec::new();
    let Some(list) = records(document)
        .find(|r| r.kind == SLIDE_LIST_WITH_TEXT && r.container && r.instance == 0)
    else {
        return slides;
    };
    for record in records(list.body) {
        if record.kind == SLIDE_PERSIST_ATOM {
            slides.push(Slide {
                persist_id: u32_at(record.body, 0),
                outline: Vec::new(),
            });
        } else if let (Some(slide), Some(text)) = (slides.last_mut(), atom_text(&record)) {
            slide.outline.push(text);
        }
    }
    slides
}

/// The persist directory of the file as it stands (the newest offset of each persist id) and
/// the document's persist id, followed from the `Current User` stream's last edit.
fn persist_directory(stream: &[u8], current_user: &[u8]) -> Option<(HashMap<u32, usize>, u32)> {
    let mut edit = u32_at(current_user, 16)? as usize;
    let mut directory = HashMap::new();
    let mut document = None;
    let mut seen = Vec::new();
    for _ in 0..MAX_EDITS {
        if seen.contains(&edit) {
            break;
        }
        seen.push(edit);
        let (atom, _) = record_at(stream, edit)?;
        if atom.kind != USER_EDIT_ATOM {
            return None;
        }
        document = document.or(u32_at(atom.body, 16));
        let previous = u32_at(atom.body, 8)? as usize;
        let (persist, _) = record_at(stream, u32_at(atom.body, 12)? as usize)?;
        if persist.kind != PERSIST_DIRECTORY_ATOM {
            return None;
        }
        let mut at = 0;
        while let Some(entry) = u32_at(persist.body, at) {
            let (first, count) = (entry & 0xF_FFFF, entry >> 20);
            at += 4;
            for n in 0..count {
                let Some(offset) = u32_at(persist.body, at) else {
                    break;
                };
                at += 4;
                directory.entry(first + n).or_insert(offset as usize);
            }
        }
        if previous == 0 {
            break;
        }
        edit = previous;
    }
    Some((directory, document?))
}

/// The slides of the file as its edits say, each with its outline and drawing text.
fn slides_by_directory(stream: &[u8], current_user: &[u8]) -> Option<Vec<Vec<String>>> {
    let (directory, document_id) = persist_directory(stream, current_user)?;
    let (document, _) = record_at(stream, *directory.get(&document_id)?)?;
    if document.kind != DOCUMENT {
        return None;
    }
    let slides = slide_list(document.body);
    let mut out = Vec::with_capacity(slides.len());
    // Each slide record is read once: a hostile list naming one large slide a thousand times
    // costs one reading, not a thousand.
    let mut read = std::collections::HashSet::new();
    for slide in slides {
        let mut texts = slide.outline;
        if let Some(&offset) = slide.persist_id.and_then(|id| directory.get(&id))
            && read.insert(offset)
            && let Some((record, _)) = record_at(stream, offset)
            && record.kind == SLIDE
        {
            texts_in(record.body, 0, &mut texts);
        }
        out.push(texts);
    }
    Some(out)
}

/// The slides as they lie in the stream: each slide record in order, with the outline text of
/// the slide list's entry of the same rank.
fn slides_in_order(stream: &[u8]) -> Vec<Vec<String>> {
    let mut outlines = Vec::new();
    let mut slides = Vec::new();
    for record in records(stream) {
        match record.kind {
            DOCUMENT if outlines.is_empty() => outlines = slide_list(record.body),
            SLIDE => {
                let mut texts = Vec::new();
                texts_in(record.body, 0, &mut texts);
                slides.push(texts);
            }
            _ => {}
        }
    }
    for (n, outline) in outlines.into_iter().enumerate() {
        match slides.get_mut(n) {
            Some(slide) => {
                let drawing = std::mem::replace(slide, outline.outline);
                slide.extend(drawing);
            }
            None => slides.push(outline.outline),
        }
    }
    slides
}

/// Reads the PPT `raw` (the file named `name`).
pub fn read(raw: Vec<u8>, name: &str, caps: Caps) -> Result<Extracted, ReadError> {
    let mut file = cfb::CompoundFile::open(Cursor::new(raw.as_slice()))
        .map_err(|e| ReadError::file(format!("not a readable PPT (compound file): {e}")))?;
    let mut text = Text::new(caps.text_chars);
    let mut stream = Vec::new();
    file.open_stream("/PowerPoint Document")
        .and_then(|s| {
            s.take(caps.part_bytes.saturating_add(1))
                .read_to_end(&mut stream)
        })
        .map_err(|e| ReadError::file(format!("not a PPT: its PowerPoint Document stream: {e}")))?;
    if stream.len() as u64 > caps.part_bytes {
        stream.truncate(caps.part_bytes as usize);
        text.notes.push(format!(
            "cut: the PowerPoint Document stream stops at {}: it is larger, the rest is not read",
            super::size(caps.part_bytes)
        ));
    }
    let mut current_user = Vec::new();
    let _ = file
        .open_stream("/Current User")
        .and_then(|s| s.take(4096).read_to_end(&mut current_user));
    let slides = slides_by_directory(&stream, &current_user).unwrap_or_else(|| {
        text.notes.push(
            "its edits could not be followed: slides read in the order they lie in the file"
                .to_owned(),
        );
        slides_in_order(&stream)
    });
    let mut doc = Extracted::new(
        Kind::Presentation,
        String::new(),
        "ppt".to_owned(),
        "application/vnd.ms-powerpoint".to_owned(),
    );
    for (n, texts) in slides.iter().enumerate() {
        text.section(&format!("Slide {}", n + 1));
        let mut said: Vec<&str> = Vec::new();
        for t in texts {
            // A shape's text that repeats its outline text (some writers keep both) once.
            if t.trim().is_empty() || said.contains(&t.as_str()) {
                continue;
            }
            said.push(t);
            text.push(t);
            text.end_paragraph();
        }
    }
    text.finish(&mut doc, name, raw);
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn record(ver_instance: u16, kind: u16, body: &[u8]) -> Vec<u8> {
        let mut out = ver_instance.to_le_bytes().to_vec();
        out.extend(kind.to_le_bytes());
        out.extend((body.len() as u32).to_le_bytes());
        out.extend(body);
        out
    }

    fn container(kind: u16, instance: u16, children: &[Vec<u8>]) -> Vec<u8> {
        record(instance << 4 | 0xF, kind, &children.concat())
    }

    fn chars(text: &str) -> Vec<u8> {
        let body: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        record(0, TEXT_CHARS_ATOM, &body)
    }

    fn bytes(text: &[u8]) -> Vec<u8> {
        record(0, TEXT_BYTES_ATOM, text)
    }

    fn persist_atom(id: u32) -> Vec<u8> {
        let mut body = id.to_le_bytes().to_vec();
        body.extend([0; 16]);
        record(0, SLIDE_PERSIST_ATOM, &body)
    }

    /// A slide whose drawing holds `text` in a shape's text box (OfficeArt records).
    fn slide(text: &str) -> Vec<u8> {
        let textbox = container(
            0xF00D,
            0,
            &[record(0, 0x0F9F, &4u32.to_le_bytes()), chars(text)],
        );
        let shape = container(0xF004, 0, &[textbox]);
        let drawing = container(
            0x040C,
            0,
            &[container(0xF002, 0, &[container(0xF003, 0, &[shape])])],
        );
        container(SLIDE, 0, &[record(2, 0x03EF, &[0; 24]), drawing])
    }

    fn edit(previous: u32, directory: u32) -> Vec<u8> {
        let mut body = 256u32.to_le_bytes().to_vec();
        body.extend([0, 0, 0, 3]);
        body.extend(previous.to_le_bytes());
        body.extend(directory.to_le_bytes());
        body.extend(1u32.to_le_bytes());
        body.extend([0; 8]);
        record(0, USER_EDIT_ATOM, &body)
    }

    fn directory(entries: &[(u32, &[u32])]) -> Vec<u8> {
        let mut body = Vec::new();
        for (first, offsets) in entries {
            body.extend((first | (offsets.len() as u32) << 20).to_le_bytes());
            offsets.iter().for_each(|o| body.extend(o.to_le_bytes()));
        }
        record(0, PERSIST_DIRECTORY_ATOM, &body)
    }

    /// A PPT saved twice ("fast save"): slide 1 edited the second time, so the stream holds
    /// its old record too; `current_user: false` leaves out the stream that finds the edits.
    pub(crate) fn two_edits(current_user: bool) -> Vec<u8> {
        let list = container(
            SLIDE_LIST_WITH_TEXT,
            0,
            &[
                persist_atom(2),
                record(0, 0x0F9F, &0u32.to_le_bytes()),
                chars("Harbour plan\rfor 2010"),
                persist_atom(3),
                bytes(b"Second\x0bslide"),
            ],
        );
        let masters = container(
            SLIDE_LIST_WITH_TEXT,
            1,
            &[persist_atom(9), chars("Click to edit")],
        );
        let mut stream = container(DOCUMENT, 0, &[list, masters]);
        let at = |stream: &mut Vec<u8>, part: Vec<u8>| {
            let offset = stream.len() as u32;
            stream.extend(part);
            offset
        };
        let old = at(&mut stream, slide("Old draft"));
        let second = at(&mut stream, slide("Caf\u{e9} box"));
        let first_dir = at(&mut stream, directory(&[(1, &[0, old, second])]));
        let first_edit = at(&mut stream, edit(0, first_dir));
        let new = at(&mut stream, slide("Quay drawing"));
        let second_dir = at(&mut stream, directory(&[(2, &[new])]));
        let last_edit = at(&mut stream, edit(first_edit, second_dir));
        compound(&stream, current_user.then_some(last_edit))
    }

    /// A compound file of the PowerPoint Document `stream`, with a Current User stream naming
    /// the edit at `last_edit`.
    fn compound(stream: &[u8], last_edit: Option<u32>) -> Vec<u8> {
        // Version 3: 512-byte sectors, so that the fuzz seed stays small.
        let mut file =
            cfb::CompoundFile::create_with_version(cfb::Version::V3, Cursor::new(Vec::new()))
                .expect("cfb");
        let mut s = file.create_stream("/PowerPoint Document").expect("stream");
        s.write_all(stream).expect("write");
        drop(s);
        if let Some(last_edit) = last_edit {
            let mut user = record(0, 0x0FF6, &[0; 20]);
            user[16..20].copy_from_slice(&last_edit.to_le_bytes());
            let mut s = file.create_stream("/Current User").expect("stream");
            s.write_all(&user).expect("write");
        }
        file.flush().expect("flush");
        file.into_inner().into_inner()
    }

    #[test]
    fn slides_are_read_as_the_last_edit_left_them_outline_then_drawing() {
        let doc = read(two_edits(true), "plan.ppt", Caps::default()).expect("read");
        assert_eq!(
            doc.text,
            "## Slide 1\n\nHarbour plan\nfor 2010\nQuay drawing\n\n## Slide 2\n\nSecond\nslide\nCaf\u{e9} box\n"
        );
        assert_eq!(doc.title, "Harbour plan");
        assert_eq!(doc.kind, Kind::Presentation);
        assert_eq!(doc.ext, "ppt");
        assert!(doc.notes.is_empty(), "{:?}", doc.notes);
    }

    #[test]
    fn without_its_edits_a_ppt_is_read_in_stream_order_and_says_so() {
        let doc = read(two_edits(false), "plan.ppt", Caps::default()).expect("read");
        assert!(
            doc.text
                .starts_with("## Slide 1\n\nHarbour plan\nfor 2010\nOld draft\n"),
            "{}",
            doc.text
        );
        assert!(doc.text.contains("Quay drawing"), "{}", doc.text);
        assert!(
            doc.notes[0].contains("edits could not be followed"),
            "{:?}",
            doc.notes
        );
        let caps = Caps {
            part_bytes: 64,
            ..Caps::default()
        };
        let doc = read(two_edits(true), "plan.ppt", caps).expect("read");
        assert!(
            doc.notes
                .iter()
                .any(|n| n.starts_with("cut: the PowerPoint Document stream stops at 64 bytes")),
            "{:?}",
            doc.notes
        );
    }

    /// A slide list naming one large slide 5,000 times reads that slide once (it took
    /// 5,000 walks of its records before).
    #[test]
    fn a_slide_named_many_times_is_read_once() {
        let list: Vec<Vec<u8>> = (0..5000).map(|_| persist_atom(2)).collect();
        let mut stream = container(DOCUMENT, 0, &[container(SLIDE_LIST_WITH_TEXT, 0, &list)]);
        let big = stream.len() as u32;
        let atoms: Vec<Vec<u8>> = (0..20_000).map(|_| bytes(b"x")).collect();
        stream.extend(container(
            SLIDE,
            0,
            &[bytes(b"only once"), container(0x040C, 0, &atoms)],
        ));
        let directory_at = stream.len() as u32;
        stream.extend(directory(&[(1, &[0, big])]));
        let edit_at = stream.len() as u32;
        stream.extend(edit(0, directory_at));
        let doc = read(
            compound(&stream, Some(edit_at)),
            "many.ppt",
            Caps::default(),
        )
        .expect("read");
        assert_eq!(doc.text.matches("only once").count(), 1);
        assert!(
            doc.text.contains("## Slide 5000\n"),
            "{}",
            &doc.text[doc.text.len() - 100..]
        );
        assert!(doc.notes.is_empty(), "{:?}", doc.notes);
    }

    #[test]
    fn a_file_that_is_no_ppt_fails_with_its_reason() {
        let e = read(b"PK\x03\x04".to_vec(), "x.ppt", Caps::default()).expect_err("not cfb");
        assert!(e.reason.contains("not a readable PPT"), "{}", e.reason);
        let mut file = cfb::CompoundFile::create(Cursor::new(Vec::new())).expect("cfb");
        file.flush().expect("flush");
        let e =
            read(file.into_inner().into_inner(), "x.ppt", Caps::default()).expect_err("no stream");
        assert!(e.reason.contains("PowerPoint Document"), "{}", e.reason);
    }

    /// The fuzz target's seed (`fuzz/seeds/office/ppt-two-edits`): its first byte picks PPT.
    #[test]
    fn the_fuzz_seed_is_this_file() {
        let seed = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../fuzz/seeds/office/ppt-two-edits");
        let mut expected = vec![7u8];
        expected.extend(two_edits(true));
        if std::env::var_os("SAMIZDAT_WRITE_SEEDS").is_some() {
            std::fs::write(&seed, &expected).expect("write the seed");
        }
        assert_eq!(
            std::fs::read(&seed).ok(),
            Some(expected),
            "{}",
            seed.display()
        );
    }
}
