//! RTF: a small reader of the text and the `\info` group's title and author. Groups that are
//! not text (font and colour tables, style sheets, pictures, any `{\*\...}` destination) are
//! skipped; `\'hh` bytes are decoded in the document's `\ansicpg` code page (Windows-1252 when
//! it names none), `\uN` as Unicode with its `\ucN` fallback characters skipped. Nesting is
//! bounded, and the text by [`super::Text`]'s cap.

use super::Text;

/// What the `\info` group says.
#[derive(Debug, Default)]
pub struct Info {
    pub title: Option<String>,
    pub author: Option<String>,
}

/// Groups deeper than this are skipped whole (and counted, not stacked: a file of a billion
/// `{` costs a counter, not a state each).
const MAX_DEPTH: usize = 256;

/// Destinations whose text is not the document's.
const SKIPPED: &[&str] = &[
    "fonttbl",
    "colortbl",
    "stylesheet",
    "pict",
    "object",
    "header",
    "footer",
    "headerl",
    "headerr",
    "footerl",
    "footerr",
    "footnote",
    "field",
    "fldinst",
    "themedata",
    "colorschememapping",
    "datastore",
    "latentstyles",
    "listtable",
    "listoverridetable",
    "rsidtbl",
    "generator",
    "xmlnstbl",
    "mmathPr",
    "filetbl",
    "revtbl",
    "pgdsctbl",
];

#[derive(Clone, Copy, PartialEq, Eq)]
enum Dest {
    Text,
    Skip,
    Title,
    Author,
    /// Inside `\info`, outside a field kept.
    Info,
}

#[derive(Clone, Copy)]
struct State {
    dest: Dest,
    /// Fallback characters after `\uN`.
    uc: usize,
}

/// Reads the RTF `raw` into `text`.
pub fn read(raw: &[u8], text: &mut Text) -> Info {
    let mut info = Info::default();
    let mut encoding = encoding_rs::WINDOWS_1252;
    let mut stack: Vec<State> = Vec::new();
    let mut state = State {
        dest: Dest::Text,
        uc: 1,
    };
    let mut pending: Vec<u8> = Vec::new();
    let mut field = String::new();
    let mut skip_chars = 0usize;
    // Groups open past MAX_DEPTH, inside the one skipped there.
    let mut deeper = 0usize;
    let mut i = 0;
    // Flushes bytes of `\'hh` escapes and plain characters, decoded, to where they belong.
    let flush = |pending: &mut Vec<u8>,
                 encoding: &'static encoding_rs::Encoding,
                 dest: Dest,
                 text: &mut Text,
                 field: &mut String| {
        if pending.is_empty() {
            return;
        }
        let (s, _, _) = encoding.decode(pending);
        match dest {
            Dest::Text => text.push(&s),
            Dest::Title | Dest::Author if field.len() < 4096 => field.push_str(&s),
            _ => {}
        }
        pending.clear();
    };
    while i < raw.len() {
        let c = raw[i];
        match c {
            b'{' if stack.len() > MAX_DEPTH => {
                deeper += 1;
                i += 1;
            }
            b'}' if deeper > 0 => {
                deeper -= 1;
                i += 1;
            }
            b'{' => {
                flush(&mut pending, encoding, state.dest, text, &mut field);
                stack.push(state);
                if stack.len() > MAX_DEPTH {
                    state.dest = Dest::Skip;
                    if !text.notes.iter().any(|n| n.contains("nested more than")) {
                        text.notes.push(format!(
                            "cut: groups nested more than {MAX_DEPTH} deep are skipped, with their text"
                        ));
                    }
                }
                // `{\*\dest ...}`: a destination a reader may ignore.
                if raw[i + 1..].starts_with(b"\\*") {
                    state.dest = Dest::Skip;
                }
                i += 1;
            }
            b'}' => {
                flush(&mut pending, encoding, state.dest, text, &mut field);
                match state.dest {
                    Dest::Title if info.title.is_none() => info.title = Some(field.clone()),
                    Dest::Author if info.author.is_none() => info.author = Some(field.clone()),
                    _ => {}
                }
                if matches!(state.dest, Dest::Title | Dest::Author) {
                    field.clear();
                }
                state = stack.pop().unwrap_or(state);
                i += 1;
            }
            b'\\' => {
                let next = raw.get(i + 1).copied().unwrap_or(b' ');
                if next == b'\'' {
                    let hex = raw
                        .get(i + 2..i + 4)
                        .and_then(|h| std::str::from_utf8(h).ok());
                    if let Some(b) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                        if skip_chars > 0 {
                            skip_chars -= 1;
                        } else {
                            pending.push(b);
                        }
                    }
                    i += 4;
                    continue;
                }
                if !next.is_ascii_alphabetic() {
                    flush(&mut pending, encoding, state.dest, text, &mut field);
                    let s = match next {
                        b'\\' => "\\",
                        b'{' => "{",
                        b'}' => "}",
                        b'~' => "\u{a0}",
                        b'_' => "-",
                        b'\n' | b'\r' => "\n",
                        _ => "",
                    };
                    if state.dest == Dest::Text {
                        text.push(s);
                    }
                    i += 2;
                    continue;
                }
                // A control word: letters, an optional signed number, an optional space.
                let start = i + 1;
                let mut j = start;
                while j < raw.len() && raw[j].is_ascii_alphabetic() && j - start < 32 {
                    j += 1;
                }
                let word = std::str::from_utf8(&raw[start..j]).unwrap_or("");
                let num_start = j;
                if j < raw.len() && raw[j] == b'-' {
                    j += 1;
                }
                while j < raw.len() && raw[j].is_ascii_digit() && j - num_start < 11 {
                    j += 1;
                }
                let number: Option<i64> = std::str::from_utf8(&raw[num_start..j])
                    .ok()
                    .and_then(|n| n.parse().ok());
                if j < raw.len() && raw[j] == b' ' {
                    j += 1;
                }
                i = j;
                flush(&mut pending, encoding, state.dest, text, &mut field);
                if SKIPPED.contains(&word) {
                    state.dest = Dest::Skip;
                    continue;
                }
                match word {
                    "ansicpg" => {
                        let label = format!("windows-{}", number.unwrap_or(1252));
                        encoding = encoding_rs::Encoding::for_label(label.as_bytes())
                            .unwrap_or(encoding_rs::WINDOWS_1252);
                    }
                    "info" => state.dest = Dest::Info,
                    "title" if state.dest == Dest::Info => state.dest = Dest::Title,
                    "author" if state.dest == Dest::Info => state.dest = Dest::Author,
                    "uc" => state.uc = number.unwrap_or(1).clamp(0, 8) as usize,
                    "u" => {
                        let n = number.unwrap_or(0);
                        let n = if n < 0 { n + 65536 } else { n };
                        let c = char::from_u32(n as u32).unwrap_or('\u{fffd}');
                        match state.dest {
                            Dest::Text => text.push(c.encode_utf8(&mut [0; 4])),
                            Dest::Title | Dest::Author => field.push(c),
                            _ => {}
                        }
                        skip_chars = state.uc;
                    }
                    "par" | "line" | "sect" | "page" if state.dest == Dest::Text => {
                        text.push("\n");
                    }
                    "row" if state.dest == Dest::Text => text.push("\n"),
                    "tab" | "cell" if state.dest == Dest::Text => text.push("\t"),
                    _ => {}
                }
            }
            b'\r' | b'\n' => i += 1,
            _ => {
                if skip_chars > 0 {
                    skip_chars -= 1;
                } else if matches!(state.dest, Dest::Text | Dest::Title | Dest::Author) {
                    pending.push(c);
                }
                i += 1;
            }
        }
        if text.cut {
            break;
        }
    }
    flush(&mut pending, encoding, state.dest, text, &mut field);
    let clean = |s: Option<String>| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    Info {
        title: clean(info.title),
        author: clean(info.author),
    }
}
