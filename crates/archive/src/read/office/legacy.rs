//! Legacy Office binary files, read by Debian's `catdoc` tools in a child process under the PDF
//! reader's limits (its timeout by the wall clock, its memory by `prlimit --as`, output capped):
//! `catdoc` for DOC, `xls2csv` for XLS (sheets separated by form feeds). PPT is read by
//! [`super::ppt`] instead: `catppt` finds no text in the PPT files LibreOffice writes.

use super::{Caps, Text};
use crate::model::{Extracted, Kind};
use crate::read::{PdfExtractor, ReadError};
use std::path::PathBuf;

/// A legacy format read by a tool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Legacy {
    Doc,
    Xls,
}

impl Legacy {
    /// The legacy format of extension `ext` that is read, if any.
    pub fn detect(ext: &str) -> Option<Legacy> {
        match ext {
            "doc" | "dot" => Some(Legacy::Doc),
            "xls" | "xlt" => Some(Legacy::Xls),
            _ => None,
        }
    }

    /// The tool and its arguments before the file.
    fn tool(self) -> (&'static str, &'static [&'static str]) {
        match self {
            Legacy::Doc => ("catdoc", &["-w", "-d", "utf-8"]),
            Legacy::Xls => ("xls2csv", &["-d", "utf-8", "-q", "1"]),
        }
    }
}

/// Output of a tool kept at most.
const MAX_OUTPUT: u64 = 64 << 20;

/// Reads the legacy file `raw` named `name`, under `limits`' time and memory.
pub fn read(
    format: Legacy,
    raw: Vec<u8>,
    name: &str,
    limits: &PdfExtractor,
) -> Result<Extracted, ReadError> {
    let (tool, args) = format.tool();
    let program = find(tool).ok_or_else(|| {
        ReadError::file(format!(
            "{tool} is not installed (Debian package catdoc): legacy {} files cannot be read",
            match format {
                Legacy::Doc => "DOC",
                Legacy::Xls => "XLS",
            }
        ))
    })?;
    let tmp = crate::read::temporary(&raw, "samizdat-legacy-", "").map_err(ReadError::file)?;
    let mut argv: Vec<&std::ffi::OsStr> = args.iter().map(std::ffi::OsStr::new).collect();
    argv.push(tmp.path().as_os_str());
    let out = crate::read::child::run_limited(
        &program.to_string_lossy(),
        &argv,
        limits.memory_limit_bytes,
        limits.timeout,
        MAX_OUTPUT + 1,
    )
    .map_err(ReadError::file)?;
    let mut text = Text::new(Caps::default().text_chars);
    let out = if out.len() as u64 > MAX_OUTPUT {
        text.notes.push(format!(
            "cut: what {tool} printed stops at {}: the rest of the document is not read",
            super::size(MAX_OUTPUT)
        ));
        String::from_utf8_lossy(&out[..MAX_OUTPUT as usize]).into_owned()
    } else {
        String::from_utf8_lossy(&out).into_owned()
    };
    let kind = match format {
        Legacy::Doc => {
            text.push(&out);
            Kind::Document
        }
        Legacy::Xls => {
            for (n, sheet) in out.split('\u{c}').enumerate() {
                if sheet.trim().is_empty() {
                    continue;
                }
                text.section(&format!("Sheet {}", n + 1));
                for line in sheet.lines() {
                    text.push(&csv_line(line).join("\t"));
                    text.push("\n");
                }
            }
            Kind::Spreadsheet
        }
    };
    let (ext, media_type) = match format {
        Legacy::Doc => ("doc", "application/msword"),
        Legacy::Xls => ("xls", "application/vnd.ms-excel"),
    };
    let mut doc = Extracted::new(kind, String::new(), ext.to_owned(), media_type.to_owned());
    text.finish(&mut doc, name, raw);
    Ok(doc)
}

/// `name` in the `PATH`.
fn find(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// The fields of one CSV line as `xls2csv` writes it (quoted, `""` for a quote).
fn csv_line(line: &str) -> Vec<String> {
    let mut fields = vec![String::new()];
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                chars.next();
                if let Some(f) = fields.last_mut() {
                    f.push('"');
                }
            }
            '"' => quoted = !quoted,
            ',' if !quoted => fields.push(String::new()),
            c => {
                if let Some(f) = fields.last_mut() {
                    f.push(c);
                }
            }
        }
    }
    fields
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn fixture(name: &str) -> Vec<u8> {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("fixtures/legacy")
            .join(name);
        std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn limits() -> PdfExtractor {
        PdfExtractor {
            timeout: Duration::from_secs(20),
            memory_limit_bytes: 512 << 20,
            ..PdfExtractor::new("/bin/false", Vec::new())
        }
    }

    /// LibreOffice's DOC and XLS of a kernel document and a table of e-mail headers; the tools
    /// come from test.sh (`apt-get install catdoc`).
    #[test]
    fn a_doc_and_an_xls_are_read_by_the_catdoc_tools() {
        let doc = read(Legacy::Doc, fixture("memo.doc"), "memo.doc", &limits())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            doc.text.contains("Yama is a Linux Security Module"),
            "{}",
            doc.text
        );
        assert_eq!(doc.title, "Yama");
        assert_eq!(doc.kind, Kind::Document);
        let xls = read(Legacy::Xls, fixture("ledger.xls"), "ledger.xls", &limits())
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(
            xls.text.starts_with("## Sheet 1\n\nFrom\tSubject\tDate\nDave Long <dl@silcom.com>\tRE: The Curse of India's Socialism\t"),
            "{}",
            xls.text
        );
        assert_eq!(xls.kind, Kind::Spreadsheet);
    }

    #[test]
    fn a_tool_past_its_time_is_stopped_with_the_reason() {
        let e = crate::read::child::run_limited(
            "sleep",
            &[std::ffi::OsStr::new("5")],
            1 << 30,
            Duration::from_millis(200),
            1 << 20,
        )
        .expect_err("timed out");
        assert!(e.contains("sleep: timed out after 0.2 s"), "{e}");
    }

    #[test]
    fn a_csv_line_splits_on_commas_outside_quotes() {
        assert_eq!(
            csv_line(r#""a, b","say ""hi""",3"#),
            ["a, b", "say \"hi\"", "3"]
        );
    }
}
