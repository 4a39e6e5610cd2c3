//! Text from images and from PDFs without a text layer, by OCR (issue 20: off unless asked,
//! `add --ocr fra+eng`): Debian's Tesseract (`tesseract-ocr` and a `tesseract-ocr-LANG` pack
//! per language), and poppler's `pdftoppm` to turn a PDF's pages into images, each a child
//! process under `prlimit` with a time limit ([`super::child::run_limited`]). No Rust crate does
//! OCR well; the Tesseract bindings would put its crashes in our process.
//!
//! Images are read by [`super::image`]; a PDF whose text layer holds fewer than
//! [`TEXT_LAYER_MIN_CHARS`] letters and digits a page (a scan) has its pages recognised by
//! [`scanned_pdf`], one page rendered and read at a time, all within [`Ocr::timeout`] and
//! [`Ocr::pages_max`]. What was done goes to [`Extracted::ocr`] (the report says it for every
//! image and PDF), and a text that came from OCR is marked [`TextSource::Ocr`] (the page says
//! it may hold errors).

use std::ffi::OsStr;
use std::path::Path;
use std::time::{Duration, Instant};

use super::child::run_limited;
use crate::error::{Error, ErrorKind};
use crate::model::{Extracted, TextSource};

/// How OCR is run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ocr {
    /// Tesseract's languages, `+`-joined (`fra+eng`).
    pub languages: String,
    /// For one file, all its pages together.
    pub timeout: Duration,
    /// Each child's address space, at most.
    pub memory_bytes: u64,
    /// Pages of a PDF read, at most.
    pub pages_max: u32,
    /// Resolution a PDF page is rendered at.
    pub dpi: u32,
}

/// Text printed for one page, at most.
const PAGE_TEXT_MAX: u64 = 4 << 20;

impl Ocr {
    /// Default wall-clock limit for one file, all its pages together.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(300);
    /// Default for the pages of one PDF read.
    pub const DEFAULT_PAGES_MAX: u32 = 500;

    /// OCR in `languages` (`fra+eng`), or why not: a name that is not a language code, or a
    /// language whose pack is not installed (naming the Debian package), or no Tesseract.
    pub fn new(languages: &str) -> Result<Ocr, Error> {
        Ocr::checked(languages).map_err(|why| Error::new(ErrorKind::Ocr, why))
    }

    fn checked(languages: &str) -> Result<Ocr, String> {
        let codes: Vec<&str> = languages.split('+').collect();
        if codes
            .iter()
            .any(|c| c.is_empty() || !c.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
        {
            return Err(format!(
                "OCR languages {languages:?}: expected Tesseract codes joined by '+' (fra+eng)"
            ));
        }
        let listed = run_limited(
            "tesseract",
            &[OsStr::new("--list-langs")],
            1 << 30,
            Duration::from_secs(30),
            1 << 20,
        )
        .map_err(|e| format!("OCR needs Tesseract (Debian package tesseract-ocr): {e}"))?;
        let installed = String::from_utf8_lossy(&listed).into_owned();
        let have: Vec<&str> = installed.lines().skip(1).map(str::trim).collect();
        if let Some(missing) = codes.iter().find(|c| !have.contains(c)) {
            return Err(format!(
                "OCR language {missing:?} is not installed (Debian package tesseract-ocr-{})",
                missing.replace('_', "-")
            ));
        }
        Ok(Ocr {
            languages: languages.to_owned(),
            timeout: Ocr::DEFAULT_TIMEOUT,
            memory_bytes: 2 << 30,
            pages_max: Ocr::DEFAULT_PAGES_MAX,
            dpi: 300,
        })
    }

    /// The text of the image at `path`.
    pub fn image(&self, path: &Path) -> Result<String, String> {
        self.image_within(path, self.timeout)
    }

    fn image_within(&self, path: &Path, timeout: Duration) -> Result<String, String> {
        let args = [
            path.as_os_str(),
            OsStr::new("stdout"),
            OsStr::new("-l"),
            OsStr::new(&self.languages),
        ];
        let printed = run_limited(
            "tesseract",
            &args,
            self.memory_bytes,
            timeout,
            PAGE_TEXT_MAX,
        )?;
        Ok(String::from_utf8_lossy(&printed).trim().to_owned())
    }

    /// The text of the image whose bytes are `raw` (an archive's member, an attachment),
    /// through a temporary file.
    pub fn image_bytes(&self, raw: &[u8]) -> Result<String, String> {
        let tmp = super::temporary(raw, "samizdat-ocr-", "")?;
        self.image(tmp.path())
    }

    /// The text of the first `pages` pages of the PDF at `path` (at most [`Ocr::pages_max`]),
    /// each rendered and read in turn, all within [`Ocr::timeout`]: the pages read, and why it
    /// stopped before the last when it did. `Err` when not even the first page was read.
    pub fn pdf(&self, path: &Path, pages: u32) -> Result<Pages, String> {
        let started = Instant::now();
        let dir = tempfile::Builder::new()
            .prefix("samizdat-ocr-")
            .tempdir()
            .map_err(|e| format!("cannot make a temporary folder: {e}"))?;
        let image = dir.path().join("page");
        let dpi = self.dpi.to_string();
        let last = pages.min(self.pages_max);
        let mut read = Pages {
            texts: Vec::new(),
            stopped: None,
        };
        for n in 1..=last {
            let left = self.timeout.saturating_sub(started.elapsed());
            let page = n.to_string();
            let args = [
                OsStr::new("-r"),
                OsStr::new(&dpi),
                OsStr::new("-f"),
                OsStr::new(&page),
                OsStr::new("-l"),
                OsStr::new(&page),
                OsStr::new("-gray"),
                OsStr::new("-png"),
                OsStr::new("-singlefile"),
                path.as_os_str(),
                image.as_os_str(),
            ];
            let text = if left.is_zero() {
                Err(format!(
                    "timed out after {:.1} s",
                    self.timeout.as_secs_f64()
                ))
            } else {
                run_limited("pdftoppm", &args, self.memory_bytes, left, 1 << 20).and_then(|_| {
                    let left = self.timeout.saturating_sub(started.elapsed());
                    self.image_within(&image.with_extension("png"), left)
                })
            };
            match text {
                Ok(text) => read.texts.push(text),
                Err(why) if n == 1 => return Err(format!("page 1: {why}")),
                Err(why) => {
                    read.stopped = Some(format!("stopped at page {n} of {pages}: {why}"));
                    break;
                }
            }
        }
        Ok(read)
    }
}

/// What OCR read of a PDF: each page's text, in order, and why it stopped before the last page
/// asked when it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pages {
    pub texts: Vec<String>,
    pub stopped: Option<String>,
}

/// A PDF's text layer with fewer letters and digits than this a page, on average, is no text
/// layer: a scan (a page number or a scanner's stamp is not the document's text).
pub const TEXT_LAYER_MIN_CHARS: usize = 32;

/// A PDF's document `doc`, as its text layer gave it, named `name`: when the layer is (almost)
/// empty and OCR was asked for, its pages recognised, the text marked as OCR's, and a title
/// taken from that text when the document had none of its own. `path`: the PDF's file, or
/// `None` for the bytes in `doc.original` (an archive's member, an attachment). What was done,
/// or why not, goes to [`Extracted::ocr`]; a failure or a cut is a note too.
pub(crate) fn scanned_pdf(doc: &mut Extracted, path: Option<&Path>, name: &str, ocr: Option<&Ocr>) {
    let pages = doc.pages.unwrap_or(0);
    let chars = doc.text.chars().filter(|c| c.is_alphanumeric()).count();
    if pages == 0 {
        return;
    }
    if chars >= TEXT_LAYER_MIN_CHARS * pages as usize {
        doc.ocr = Some("not needed: the PDF has a text layer".into());
        return;
    }
    let Some(ocr) = ocr else {
        doc.ocr = Some(format!(
            "not asked: the PDF has no text layer ({chars} letters and digits in {pages} pages; add --ocr LANGS reads its pages)"
        ));
        return;
    };
    let tmp;
    let path = match path {
        Some(path) => path,
        None => match super::temporary(&doc.original, "samizdat-ocr-", ".pdf") {
            Ok(file) => {
                tmp = file;
                tmp.path()
            }
            Err(why) => return failed(doc, why),
        },
    };
    let read = match ocr.pdf(path, pages) {
        Ok(read) => read,
        Err(why) => return failed(doc, why),
    };
    let text = read.texts.join("\u{c}");
    let untitled =
        doc.title == name || super::first_line_title(&doc.text).as_ref() == Some(&doc.title);
    if untitled && let Some(title) = super::title::plain_title(&text) {
        doc.title = title;
    }
    let mut said = format!(
        "ran ({}): {} of {pages} pages, {} characters",
        ocr.languages,
        read.texts.len(),
        text.chars().filter(|c| !c.is_whitespace()).count()
    );
    if pages > ocr.pages_max {
        let cut = format!(
            "OCR read the first {} of {pages} pages (--ocr-pages)",
            ocr.pages_max
        );
        said.push_str(&format!("; cut: {cut}"));
        doc.notes.push(cut);
    }
    if let Some(stopped) = read.stopped {
        said.push_str(&format!("; {stopped}"));
        doc.notes.push(format!("OCR {stopped}"));
    }
    doc.text = text;
    doc.text_source = Some(TextSource::Ocr);
    doc.ocr = Some(said);
}

/// What [`Extracted::ocr`] says, in short: whether a later `add --ocr` has something to do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Said {
    /// Recognised (all of it, or cut at `--ocr-pages` or the time limit).
    Ran,
    /// An image or a scan, read without `--ocr`.
    NotAsked,
    Failed,
}

impl Said {
    /// Of a document's [`Extracted::ocr`]; `None` when OCR had nothing to do (a text layer).
    pub fn of(said: &str) -> Option<Said> {
        if said.starts_with("ran ") {
            Some(Said::Ran)
        } else if said.starts_with("not asked") {
            Some(Said::NotAsked)
        } else if said.starts_with("failed") {
            Some(Said::Failed)
        } else {
            None
        }
    }
}

/// `doc` kept with the text it had, OCR having failed for `why`.
fn failed(doc: &mut Extracted, why: String) {
    doc.notes.push(format!("OCR failed: {why}"));
    doc.ocr = Some(format!("failed: {why}"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_are_checked_before_any_file_is_read() {
        let why = Ocr::new("fra;rm -rf").expect_err("refused");
        assert_eq!(why.kind(), ErrorKind::Ocr);
        assert!(why.to_string().contains("Tesseract codes"), "{why}");
        let why = Ocr::new("eng+qqq").expect_err("refused");
        assert!(why.to_string().contains("tesseract-ocr-qqq"), "{why}");
        assert!(Ocr::new("fra+eng").is_ok());
    }

    #[test]
    fn a_pdf_is_a_scan_when_its_text_layer_has_fewer_than_32_letters_a_page() {
        let pdf = |text: &str| Extracted {
            pages: Some(2),
            text: text.to_owned(),
            ..Extracted::new(
                crate::model::Kind::Pdf,
                "scan.pdf",
                "pdf",
                "application/pdf",
            )
        };
        let mut scan = pdf("Scanned by the copier, page 1\u{c}page 2");
        scanned_pdf(&mut scan, None, "scan.pdf", None);
        let said = scan.ocr.expect("said");
        assert!(
            said.starts_with(
                "not asked: the PDF has no text layer (28 letters and digits in 2 pages"
            ),
            "{said}"
        );
        assert_eq!(scan.text_source, None);
        let mut typeset = pdf(&"A page of words. ".repeat(10));
        scanned_pdf(&mut typeset, None, "typeset.pdf", None);
        assert_eq!(
            typeset.ocr.as_deref(),
            Some("not needed: the PDF has a text layer")
        );
        for (said, short) in [
            (&said[..], Some(Said::NotAsked)),
            ("ran (eng): 1 of 2 pages", Some(Said::Ran)),
            (
                "failed: tesseract: timed out after 0.0 s",
                Some(Said::Failed),
            ),
            ("not needed: the PDF has a text layer", None),
        ] {
            assert_eq!(Said::of(said), short, "{said}");
        }
    }

    /// A real PDF's first four pages rendered as images and read back: the words OCR finds are
    /// the words of the text layer (`pdftotext`, the oracle), nearly all of them.
    #[test]
    fn a_rendered_pdf_reads_back_as_its_own_text() {
        let base = std::env::var("SAMIZDAT_CORPORA").unwrap_or_else(|_| {
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../.cache/corpora").to_owned()
        });
        let pdf = Path::new(&base)
            .join("texlive-humanities/x/usr/share/doc/texlive-doc/latex/poetrytex/poetrytex.pdf");
        assert!(pdf.exists(), "{}: run ./test.sh", pdf.display());
        let ocr = Ocr {
            pages_max: 4,
            ..Ocr::new("eng").expect("tesseract with English")
        };
        let pages = ocr.pdf(&pdf, 10).expect("read");
        assert_eq!((pages.texts.len(), pages.stopped), (4, None));
        let pages = pages.texts;
        let oracle = run_limited(
            "pdftotext",
            &[
                OsStr::new("-l"),
                OsStr::new("4"),
                pdf.as_os_str(),
                OsStr::new("-"),
            ],
            1 << 30,
            Duration::from_secs(60),
            1 << 20,
        )
        .expect("pdftotext");
        let words = |text: &str| -> std::collections::HashSet<String> {
            text.split(|c: char| !c.is_alphanumeric())
                .filter(|w| w.len() > 3)
                .map(str::to_lowercase)
                .collect()
        };
        let expected = words(&String::from_utf8_lossy(&oracle));
        let found = words(&pages.join("\n"));
        let shared = expected.intersection(&found).count();
        let share = shared as f64 / expected.len() as f64;
        eprintln!(
            "OCR found {shared} of {} words ({share:.3})",
            expected.len()
        );
        assert!(expected.len() > 100 && share >= 0.9, "{share}");

        let hurried = Ocr {
            timeout: Duration::ZERO,
            ..ocr
        };
        let why = hurried.pdf(&pdf, 10).expect_err("timed out");
        assert!(why.contains("timed out"), "{why}");
    }
}
