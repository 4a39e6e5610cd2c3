//! Images as documents: PNG, JPEG, GIF, BMP, TIFF and WebP (what Tesseract's Leptonica reads),
//! told by their content, whatever their name. A scan or a photo in a leak is part of it: an
//! image is a document with or without OCR (`add --ocr LANGS`), published as it came, its
//! text recognised only when asked, its title from that text's first sentence, else its file
//! name. The report says for each whether OCR ran ([`Extracted::ocr`]).

use std::path::Path;

use super::ocr::{Ocr, OcrOutcome, Read, Unread};
use crate::model::{DateSource, Extracted, Kind, TextSource};

/// An image format samizdat reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Image {
    Png,
    Jpeg,
    Gif,
    Bmp,
    Tiff,
    Webp,
}

/// File extensions of images: a file so named whose content is no image is not read as text.
pub const EXTENSIONS: &[&str] = &[
    "png", "jpg", "jpeg", "jpe", "gif", "bmp", "dib", "tif", "tiff", "webp",
];

impl Image {
    /// The format of the bytes that start with `head`, by its magic number; `None` for
    /// anything else.
    pub fn sniff(head: &[u8]) -> Option<Image> {
        if head.starts_with(b"\x89PNG\r\n\x1a\n") {
            Some(Image::Png)
        } else if head.starts_with(b"\xFF\xD8\xFF") {
            Some(Image::Jpeg)
        } else if head.starts_with(b"GIF87a") || head.starts_with(b"GIF89a") {
            Some(Image::Gif)
        } else if head.starts_with(b"II*\0") || head.starts_with(b"MM\0*") {
            Some(Image::Tiff)
        } else if head.len() >= 12 && head.starts_with(b"RIFF") && &head[8..12] == b"WEBP" {
            Some(Image::Webp)
        } else if is_bmp(head) {
            Some(Image::Bmp)
        } else {
            None
        }
    }

    /// The extension its original is published under.
    pub fn ext(self) -> &'static str {
        match self {
            Image::Png => "png",
            Image::Jpeg => "jpg",
            Image::Gif => "gif",
            Image::Bmp => "bmp",
            Image::Tiff => "tif",
            Image::Webp => "webp",
        }
    }

    pub fn media_type(self) -> &'static str {
        match self {
            Image::Png => "image/png",
            Image::Jpeg => "image/jpeg",
            Image::Gif => "image/gif",
            Image::Bmp => "image/bmp",
            Image::Tiff => "image/tiff",
            Image::Webp => "image/webp",
        }
    }
}

/// `BM`, two reserved words of zero, and a DIB header of a size one of the versions has: two
/// letters alone would take a text that starts with "BM" for an image.
fn is_bmp(head: &[u8]) -> bool {
    let word = |at: usize| {
        head.get(at..at + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    head.starts_with(b"BM")
        && word(6) == Some(0)
        && matches!(word(14), Some(12 | 16 | 40 | 52 | 56 | 64 | 108 | 124))
}

/// The document of the image `raw` in `format`, named `name`; `path`: its file, when it is
/// one (else Tesseract reads a temporary copy). With `ocr`, its text recognised (a failure is
/// a note: the image is still a document, without text).
pub fn read(
    format: Image,
    raw: Vec<u8>,
    name: &str,
    path: Option<&Path>,
    ocr: Option<&Ocr>,
) -> Extracted {
    let mut doc = Extracted {
        original: raw,
        ..Extracted::new(Kind::Image, name, format.ext(), format.media_type())
    };
    let this_year = time::OffsetDateTime::now_utc().year();
    let Some(ocr) = ocr else {
        super::ocr::said(&mut doc, OcrOutcome::NotAsked(Unread::Image));
        dated(&mut doc, None, name, this_year);
        return doc;
    };
    let read = match path {
        Some(path) => ocr.image(path),
        None => ocr.image_bytes(&doc.original),
    };
    let outcome = match read {
        Ok(text) => {
            let chars = super::ocr::visible_chars(&text);
            if chars > 0 {
                if let Some(title) = super::title::plain_title(&text) {
                    doc.title = title;
                }
                doc.text = text;
                doc.text_source = Some(TextSource::Ocr);
            }
            OcrOutcome::Ran {
                languages: ocr.languages.clone(),
                read: Read::Image { chars },
            }
        }
        Err(why) => OcrOutcome::Failed { why },
    };
    super::ocr::said(&mut doc, outcome);
    let text = std::mem::take(&mut doc.text);
    dated(&mut doc, Some(&text), name, this_year);
    doc.text = text;
    doc
}

/// A date from the text's dateline, else from the file name, marked as such.
fn dated(doc: &mut Extracted, text: Option<&str>, name: &str, this_year: i32) {
    use super::dates;
    let found = text
        .and_then(|t| dates::text_date(t, this_year))
        .map(|d| (d, DateSource::Text))
        .or_else(|| dates::name_date(name, this_year).map(|d| (d, DateSource::FileName)));
    if let Some((date, source)) = found {
        doc.date = Some(date.midnight().assume_utc());
        doc.date_source = Some(source);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_are_told_by_their_magic_numbers_not_by_two_letters() {
        let bmp_header = |dib: u32| {
            let mut b = b"BM\x46\0\0\0\0\0\0\0\x36\0\0\0".to_vec();
            b.extend_from_slice(&dib.to_le_bytes());
            b
        };
        for (head, format) in [
            (&b"\x89PNG\r\n\x1a\n\0\0"[..], Some(Image::Png)),
            (b"\xFF\xD8\xFF\xE0\0\x10JFIF", Some(Image::Jpeg)),
            (b"GIF89a\x01\0", Some(Image::Gif)),
            (b"II*\0\x08\0\0\0", Some(Image::Tiff)),
            (b"MM\0*\0\0\0\x08", Some(Image::Tiff)),
            (b"RIFF\x24\0\0\0WEBPVP8 ", Some(Image::Webp)),
            (&bmp_header(40), Some(Image::Bmp)),
            (&bmp_header(41), None),
            (b"BMW annual report 2010, page one", None),
            (b"%PDF-1.4", None),
            (b"", None),
        ] {
            assert_eq!(Image::sniff(head), format, "{head:?}");
        }
    }

    #[test]
    fn without_ocr_an_image_is_a_document_named_by_its_file_without_text() {
        let doc = read(
            Image::Png,
            b"\x89PNG\r\n\x1a\n".to_vec(),
            "scan-2010-04-12.png",
            None,
            None,
        );
        assert_eq!(doc.kind, Kind::Image);
        assert_eq!(doc.title, "scan-2010-04-12.png");
        assert_eq!(
            (doc.ext.as_str(), doc.media_type.as_str()),
            ("png", "image/png")
        );
        assert!(doc.text.is_empty() && doc.text_source.is_none());
        assert!(
            doc.ocr
                .is_some_and(|o| o.to_string().starts_with("not asked"))
        );
        assert_eq!(doc.date_source, Some(DateSource::FileName));
    }
}
