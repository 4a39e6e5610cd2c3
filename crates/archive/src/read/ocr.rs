//! Text from images and from PDFs without a text layer, by OCR (issue 20: off unless asked,
//! `add --ocr fra+eng`): Debian's Tesseract (`tesseract-ocr` and a `tesseract-ocr-LANG` pack
//! per language), and poppler's `pdftoppm` to turn a PDF's pages into images, each a child
//! process under `prlimit` with a time limit ([`super::child::run_limited`]). No Rust crate does
//! OCR well; the Tesseract bindings would put its crashes in our process.

use std::ffi::OsStr;
use std::path::Path;
use std::time::{Duration, Instant};

use super::child::run_limited;

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
    /// OCR in `languages` (`fra+eng`), or why not: a name that is not a language code, or a
    /// language whose pack is not installed (naming the Debian package), or no Tesseract.
    pub fn new(languages: &str) -> Result<Ocr, String> {
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
            timeout: Duration::from_secs(300),
            memory_bytes: 2 << 30,
            pages_max: 500,
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

    /// The text of each page of the PDF at `path` (at most [`Ocr::pages_max`]), rendered and
    /// read within [`Ocr::timeout`] in all.
    pub fn pdf(&self, path: &Path) -> Result<Vec<String>, String> {
        let started = Instant::now();
        let dir = tempfile::Builder::new()
            .prefix("samizdat-ocr-")
            .tempdir()
            .map_err(|e| format!("cannot make a temporary folder: {e}"))?;
        let prefix = dir.path().join("p");
        let (dpi, last) = (self.dpi.to_string(), self.pages_max.to_string());
        let args = [
            OsStr::new("-r"),
            OsStr::new(&dpi),
            OsStr::new("-l"),
            OsStr::new(&last),
            OsStr::new("-gray"),
            OsStr::new("-png"),
            path.as_os_str(),
            prefix.as_os_str(),
        ];
        run_limited("pdftoppm", &args, self.memory_bytes, self.timeout, 1 << 20)?;
        let mut pages: Vec<std::path::PathBuf> = std::fs::read_dir(dir.path())
            .map_err(|e| format!("{}: {e}", dir.path().display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        // `p-01.png`, `p-02.png`…: one width for a document, so sorting sorts by page.
        pages.sort();
        pages
            .iter()
            .map(|page| {
                let left = self.timeout.saturating_sub(started.elapsed());
                if left.is_zero() {
                    return Err(format!(
                        "timed out after {:.1} s",
                        self.timeout.as_secs_f64()
                    ));
                }
                self.image_within(page, left)
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_are_checked_before_any_file_is_read() {
        let why = Ocr::new("fra;rm -rf").expect_err("refused");
        assert!(why.contains("Tesseract codes"), "{why}");
        let why = Ocr::new("eng+qqq").expect_err("refused");
        assert!(why.contains("tesseract-ocr-qqq"), "{why}");
        assert!(Ocr::new("fra+eng").is_ok());
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
        let pages = ocr.pdf(&pdf).expect("read");
        assert_eq!(pages.len(), 4);
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
        let why = hurried.pdf(&pdf).expect_err("timed out");
        assert!(why.contains("timed out"), "{why}");
    }
}
