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
                    read.stopped = Some(Stopped {
                        page: n,
                        of: pages,
                        why,
                    });
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
    pub stopped: Option<Stopped>,
}

/// Why OCR stopped before the last page of a PDF asked: at `page` of `of`, for `why`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stopped {
    pub page: u32,
    pub of: u32,
    pub why: String,
}

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let Stopped { page, of, why } = self;
        write!(f, "stopped at page {page} of {of}: {why}")
    }
}

/// What OCR did for an image or a PDF ([`Extracted::ocr`]): the report's `ocr` field is its
/// text ([`std::fmt::Display`]), its cuts and failure are the document's notes
/// ([`OcrOutcome::notes`]), and the catalog keeps of it what a later `add --ocr` must redo
/// ([`OcrOutcome::tag`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OcrOutcome {
    /// A PDF with a text layer: nothing to recognise.
    NotNeeded,
    /// An image, or a scan, read without `--ocr`.
    NotAsked(Unread),
    /// Recognised in `languages` (Tesseract's, `+`-joined), all of it or cut.
    Ran { languages: String, read: Read },
    /// Not recognised, for `why`; the document is kept with the text it had.
    Failed { why: String },
}

/// What was left unread for want of `--ocr`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unread {
    Image,
    /// A PDF whose text layer holds `chars` letters and digits in `pages` pages.
    Scan {
        chars: usize,
        pages: u32,
    },
}

/// What OCR read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Read {
    /// An image: `chars` characters that are not white space (none: no text found).
    Image { chars: usize },
    /// A PDF: `read` of its `pages` pages, `chars` characters that are not white space; `cut`
    /// at [`Ocr::pages_max`] when it has more pages, `stopped` before the last page asked.
    Pages {
        read: usize,
        pages: u32,
        chars: usize,
        cut: Option<u32>,
        stopped: Option<Stopped>,
    },
}

/// What the catalog keeps of a source file's [`OcrOutcome`]s (`sources.ocr`): whether the next
/// `add --ocr LANGS` reads it again ([`OcrTag::stale_for`]). A file whose documents OCR had no
/// say in (no image, no scan) has none.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OcrTag {
    /// Some image or scan of the file was read without `--ocr` (stored as the empty string).
    NotAsked,
    /// OCR failed on some document of the file (stored as `!`).
    Failed,
    /// OCR ran in these languages on all of them (stored as the languages, `fra+eng`).
    Ran(String),
}

impl OcrTag {
    /// As stored in the catalog's `sources.ocr` column: the languages, empty when not asked,
    /// `!` when it failed (no language code is empty or holds a `!`).
    pub fn as_column(&self) -> &str {
        match self {
            OcrTag::NotAsked => "",
            OcrTag::Failed => "!",
            OcrTag::Ran(languages) => languages,
        }
    }

    /// Of the catalog's `sources.ocr` column ([`OcrTag::as_column`]).
    pub fn from_column(column: &str) -> OcrTag {
        match column {
            "" => OcrTag::NotAsked,
            "!" => OcrTag::Failed,
            languages => OcrTag::Ran(languages.to_owned()),
        }
    }

    /// The tag of a file whose documents' outcomes are `outcomes`: a failure first, then
    /// anything not asked, then the languages OCR ran in; `None` when OCR had no say.
    pub fn of<'a>(outcomes: impl IntoIterator<Item = &'a OcrOutcome>) -> Option<OcrTag> {
        outcomes
            .into_iter()
            .filter_map(OcrOutcome::tag)
            .min_by_key(|tag| match tag {
                OcrTag::Failed => 0,
                OcrTag::NotAsked => 1,
                OcrTag::Ran(_) => 2,
            })
    }

    /// Whether a file tagged so must be read again by an `add` with `ocr`: an `add --ocr
    /// LANGS` reads again what was read without OCR, in other languages, or where OCR failed;
    /// an `add` without `--ocr` never drops what OCR read.
    pub fn stale_for(&self, ocr: Option<&Ocr>) -> bool {
        match (self, ocr) {
            (_, None) => false,
            (OcrTag::Ran(languages), Some(ocr)) => *languages != ocr.languages,
            (OcrTag::NotAsked | OcrTag::Failed, Some(_)) => true,
        }
    }
}

impl OcrOutcome {
    /// What the catalog keeps of it; `None` when OCR had nothing to do (a text layer).
    pub fn tag(&self) -> Option<OcrTag> {
        match self {
            OcrOutcome::NotNeeded => None,
            OcrOutcome::NotAsked(_) => Some(OcrTag::NotAsked),
            OcrOutcome::Ran { languages, .. } => Some(OcrTag::Ran(languages.clone())),
            OcrOutcome::Failed { .. } => Some(OcrTag::Failed),
        }
    }

    /// The document's notes it makes: a cut at `--ocr-pages`, a stop before the last page, a
    /// failure.
    pub fn notes(&self) -> Vec<String> {
        match self {
            OcrOutcome::Ran {
                read:
                    Read::Pages {
                        pages,
                        cut,
                        stopped,
                        ..
                    },
                ..
            } => cut
                .map(|max| cut_note(max, *pages))
                .into_iter()
                .chain(stopped.iter().map(|s| format!("OCR {s}")))
                .collect(),
            OcrOutcome::Failed { why } => vec![format!("OCR failed: {why}")],
            _ => Vec::new(),
        }
    }
}

fn cut_note(max: u32, pages: u32) -> String {
    format!("OCR read the first {max} of {pages} pages (--ocr-pages)")
}

/// The report's `ocr` field.
impl std::fmt::Display for OcrOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OcrOutcome::NotNeeded => f.write_str("not needed: the PDF has a text layer"),
            OcrOutcome::NotAsked(Unread::Image) => {
                f.write_str("not asked: an image (add --ocr LANGS reads its text)")
            }
            OcrOutcome::NotAsked(Unread::Scan { chars, pages }) => write!(
                f,
                "not asked: the PDF has no text layer ({chars} letters and digits in {pages} pages; add --ocr LANGS reads its pages)"
            ),
            OcrOutcome::Ran {
                languages,
                read: Read::Image { chars: 0 },
            } => write!(f, "ran ({languages}): no text found"),
            OcrOutcome::Ran {
                languages,
                read: Read::Image { chars },
            } => write!(f, "ran ({languages}): {chars} characters"),
            OcrOutcome::Ran {
                languages,
                read:
                    Read::Pages {
                        read,
                        pages,
                        chars,
                        cut,
                        stopped,
                    },
            } => {
                write!(
                    f,
                    "ran ({languages}): {read} of {pages} pages, {chars} characters"
                )?;
                if let Some(max) = cut {
                    write!(f, "; cut: {}", cut_note(*max, *pages))?;
                }
                if let Some(stopped) = stopped {
                    write!(f, "; {stopped}")?;
                }
                Ok(())
            }
            OcrOutcome::Failed { why } => write!(f, "failed: {why}"),
        }
    }
}

/// Characters that are not white space: how much OCR read.
pub(crate) fn visible_chars(text: &str) -> usize {
    text.chars().filter(|c| !c.is_whitespace()).count()
}

/// `doc`'s OCR was `outcome`: said in [`Extracted::ocr`], and in its notes.
pub(crate) fn said(doc: &mut Extracted, outcome: OcrOutcome) {
    doc.notes.extend(outcome.notes());
    doc.ocr = Some(outcome);
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
        return said(doc, OcrOutcome::NotNeeded);
    }
    let Some(ocr) = ocr else {
        return said(doc, OcrOutcome::NotAsked(Unread::Scan { chars, pages }));
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
    let outcome = OcrOutcome::Ran {
        languages: ocr.languages.clone(),
        read: Read::Pages {
            read: read.texts.len(),
            pages,
            chars: visible_chars(&text),
            cut: (pages > ocr.pages_max).then_some(ocr.pages_max),
            stopped: read.stopped,
        },
    };
    doc.text = text;
    doc.text_source = Some(TextSource::Ocr);
    said(doc, outcome);
}

/// `doc` kept with the text it had, OCR having failed for `why`.
fn failed(doc: &mut Extracted, why: String) {
    said(doc, OcrOutcome::Failed { why });
}

#[cfg(test)]
pub(crate) mod tests {
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
        assert_eq!(
            scan.ocr,
            Some(OcrOutcome::NotAsked(Unread::Scan {
                chars: 28,
                pages: 2
            }))
        );
        assert_eq!(scan.text_source, None);
        assert!(scan.notes.is_empty(), "{:?}", scan.notes);
        let mut typeset = pdf(&"A page of words. ".repeat(10));
        scanned_pdf(&mut typeset, None, "typeset.pdf", None);
        assert_eq!(typeset.ocr, Some(OcrOutcome::NotNeeded));
    }

    fn ran(read: Read) -> OcrOutcome {
        OcrOutcome::Ran {
            languages: "fra+eng".into(),
            read,
        }
    }

    fn pages(read: usize, cut: Option<u32>, stopped: Option<Stopped>) -> Read {
        Read::Pages {
            read,
            pages: 3,
            chars: 1234,
            cut,
            stopped,
        }
    }

    /// The report's text and the notes, word for word as they read before the outcome was
    /// typed (the report's readers and the end-to-end tests know them so).
    #[test]
    fn an_outcome_renders_as_the_report_and_the_notes_say_it() {
        let stop = Stopped {
            page: 2,
            of: 3,
            why: "tesseract: timed out after 1.0 s".into(),
        };
        let cases: [(OcrOutcome, &str, &[&str]); 9] = [
            (
                OcrOutcome::NotNeeded,
                "not needed: the PDF has a text layer",
                &[],
            ),
            (
                OcrOutcome::NotAsked(Unread::Image),
                "not asked: an image (add --ocr LANGS reads its text)",
                &[],
            ),
            (
                OcrOutcome::NotAsked(Unread::Scan {
                    chars: 28,
                    pages: 2,
                }),
                "not asked: the PDF has no text layer (28 letters and digits in 2 pages; \
                 add --ocr LANGS reads its pages)",
                &[],
            ),
            (
                ran(Read::Image { chars: 0 }),
                "ran (fra+eng): no text found",
                &[],
            ),
            (
                ran(Read::Image { chars: 42 }),
                "ran (fra+eng): 42 characters",
                &[],
            ),
            (
                ran(pages(3, None, None)),
                "ran (fra+eng): 3 of 3 pages, 1234 characters",
                &[],
            ),
            (
                ran(pages(1, Some(1), None)),
                "ran (fra+eng): 1 of 3 pages, 1234 characters; \
                 cut: OCR read the first 1 of 3 pages (--ocr-pages)",
                &["OCR read the first 1 of 3 pages (--ocr-pages)"],
            ),
            (
                ran(pages(1, Some(2), Some(stop.clone()))),
                "ran (fra+eng): 1 of 3 pages, 1234 characters; \
                 cut: OCR read the first 2 of 3 pages (--ocr-pages); \
                 stopped at page 2 of 3: tesseract: timed out after 1.0 s",
                &[
                    "OCR read the first 2 of 3 pages (--ocr-pages)",
                    "OCR stopped at page 2 of 3: tesseract: timed out after 1.0 s",
                ],
            ),
            (
                OcrOutcome::Failed {
                    why: "page 1: pdftoppm failed".into(),
                },
                "failed: page 1: pdftoppm failed",
                &["OCR failed: page 1: pdftoppm failed"],
            ),
        ];
        for (outcome, text, notes) in cases {
            assert_eq!(outcome.to_string(), text);
            assert_eq!(outcome.notes(), notes, "{text}");
            let mut doc =
                Extracted::new(crate::model::Kind::Pdf, "x.pdf", "pdf", "application/pdf");
            doc.notes.push("earlier".into());
            said(&mut doc, outcome.clone());
            assert_eq!(doc.ocr, Some(outcome));
            assert_eq!(doc.notes[1..], *notes, "{text}");
        }
    }

    /// OCR in `languages` with the default limits, whether Tesseract has them or not (for
    /// the unit tests here and in `ingest`).
    pub(crate) fn ocr_in(languages: &str) -> Ocr {
        Ocr {
            languages: languages.into(),
            timeout: Ocr::DEFAULT_TIMEOUT,
            memory_bytes: 1 << 30,
            pages_max: Ocr::DEFAULT_PAGES_MAX,
            dpi: 300,
        }
    }

    /// A file's tag: a failure wins over anything not asked, which wins over OCR having run;
    /// none when OCR had no say. Stored as the languages, empty, or `!`.
    #[test]
    fn a_file_is_tagged_by_its_worst_outcome() {
        let failed = OcrOutcome::Failed { why: "x".into() };
        let not_asked = OcrOutcome::NotAsked(Unread::Image);
        let ran = ran(Read::Image { chars: 3 });
        let none = OcrOutcome::NotNeeded;
        let tag = |all: &[&OcrOutcome]| OcrTag::of(all.iter().copied());
        assert_eq!(tag(&[]), None);
        assert_eq!(tag(&[&none, &none]), None);
        assert_eq!(tag(&[&none, &ran]), Some(OcrTag::Ran("fra+eng".into())));
        assert_eq!(tag(&[&ran, &not_asked, &none]), Some(OcrTag::NotAsked));
        assert_eq!(tag(&[&ran, &failed, &not_asked]), Some(OcrTag::Failed));
        assert_eq!(tag(&[&not_asked, &ran, &failed]), Some(OcrTag::Failed));
        for (tag, column) in [
            (OcrTag::NotAsked, ""),
            (OcrTag::Failed, "!"),
            (OcrTag::Ran("fra+eng".into()), "fra+eng"),
        ] {
            assert_eq!(tag.as_column(), column);
            assert_eq!(OcrTag::from_column(column), tag);
        }
    }

    /// `add --ocr LANGS` reads again what was read without OCR, in other languages or where
    /// OCR failed; `add` without `--ocr` never reads a file again for OCR's sake.
    #[test]
    fn a_tag_is_stale_for_ocr_that_would_do_more() {
        let (eng, fra_eng) = (ocr_in("eng"), ocr_in("fra+eng"));
        for (tag, none, with_eng, with_fra_eng) in [
            (OcrTag::NotAsked, false, true, true),
            (OcrTag::Failed, false, true, true),
            (OcrTag::Ran("eng".into()), false, false, true),
            (OcrTag::Ran("fra+eng".into()), false, true, false),
        ] {
            assert_eq!(tag.stale_for(None), none, "{tag:?}");
            assert_eq!(tag.stale_for(Some(&eng)), with_eng, "{tag:?} eng");
            assert_eq!(
                tag.stale_for(Some(&fra_eng)),
                with_fra_eng,
                "{tag:?} fra+eng"
            );
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
