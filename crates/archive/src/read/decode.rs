//! Bytes to text, and the test that tells text from binary.
//!
//! Text is read as UTF-8 when it is valid UTF-8 or starts with a byte-order mark (UTF-8, UTF-16);
//! anything else is detected with `chardetng` (Firefox's detector for unlabelled pages, trained
//! for the legacy encodings: the Windows code pages, ISO-8859-x, KOI8, Shift_JIS, EUC-JP/KR, GBK,
//! Big5...) and decoded with `encoding_rs`. Encodings go by their WHATWG names: Latin-1 is read,
//! and named, as its superset `windows-1252`.

use encoding_rs::{Encoding, UTF_8};
use std::borrow::Cow;

/// How many leading bytes the binary test looks at (as git and file(1) do: a prefix decides).
pub const BINARY_SAMPLE: usize = 8192;
/// How many leading bytes the encoding detector is fed: plenty to tell the encodings apart, and
/// a 200 MiB file is not scanned whole twice.
const DETECT_SAMPLE: usize = 1 << 20;

/// Text decoded from bytes, and what it was decoded from.
#[derive(Debug)]
pub struct Decoded<'a> {
    pub text: Cow<'a, str>,
    pub encoding: &'static Encoding,
    /// Some bytes were not valid in `encoding` and became U+FFFD (the original keeps them).
    pub replaced: bool,
}

impl Decoded<'_> {
    /// What a reader notes about the decoding, if anything went amiss.
    pub fn note(&self) -> Option<String> {
        self.replaced.then(|| {
            format!(
                "some bytes are not valid {} and show as U+FFFD in the text (the original keeps them)",
                self.encoding.name()
            )
        })
    }
}

/// Why `bytes` are binary rather than text in some encoding, or `None` when they are text.
///
/// Looks at the first [`BINARY_SAMPLE`] bytes. A byte-order mark means text. A NUL means binary:
/// no 8-bit or multibyte legacy encoding (Latin-1 to Shift_JIS and GB18030) uses the byte 0 but for
/// U+0000, which text does not contain, while nearly every binary format has NULs in its first
/// kilobytes. Without a NUL, the C0 control bytes no text layout uses (all but tab, line feed,
/// vertical tab, form feed, carriage return, backspace of overstruck man pages, SUB of DOS files
/// and ESC of ISO-2022 and terminal colours) are counted: compressed or encrypted data spreads its
/// bytes evenly, so about 1 in 10 of them falls there (25 of 256 values), while text holds at
/// most a stray one; more than 1 in 20 means binary.
pub fn binary_reason(bytes: &[u8]) -> Option<String> {
    if Encoding::for_bom(bytes).is_some() {
        return None;
    }
    let sample = &bytes[..bytes.len().min(BINARY_SAMPLE)];
    if let Some(at) = sample.iter().position(|&b| b == 0) {
        return Some(format!("binary content: a NUL byte at offset {at}"));
    }
    let controls = sample.iter().filter(|&&b| is_binary_control(b)).count();
    (controls * 20 > sample.len()).then(|| {
        format!(
            "binary content: {controls} of the first {} bytes are control characters text does not use",
            sample.len()
        )
    })
}

/// A control byte that text in no encoding uses for layout (see [`binary_reason`]).
fn is_binary_control(b: u8) -> bool {
    matches!(b, 0x01..=0x07 | 0x0E..=0x19 | 0x1C..=0x1F | 0x7F)
}

/// Decodes text in whatever encoding it is: by its byte-order mark, as UTF-8 when valid, else as
/// `chardetng` guesses.
pub fn decode(bytes: &[u8]) -> Decoded<'_> {
    if let Some((encoding, bom)) = Encoding::for_bom(bytes) {
        let (text, replaced) = encoding.decode_without_bom_handling(&bytes[bom..]);
        return Decoded {
            text,
            encoding,
            replaced,
        };
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Decoded {
            text: Cow::Borrowed(text),
            encoding: UTF_8,
            replaced: false,
        };
    }
    let encoding = match mostly_utf8(bytes) {
        true => UTF_8,
        false => detect(bytes),
    };
    let (text, replaced) = encoding.decode_without_bom_handling(bytes);
    Decoded {
        text,
        encoding,
        replaced,
    }
}

/// As [`decode`], taking the bytes: valid UTF-8 becomes the text without a copy.
pub fn decode_owned(bytes: Vec<u8>) -> Decoded<'static> {
    match String::from_utf8(bytes) {
        Ok(mut text) => {
            if text.starts_with('\u{feff}') {
                text.drain(..'\u{feff}'.len_utf8());
            }
            Decoded {
                text: Cow::Owned(text),
                encoding: UTF_8,
                replaced: false,
            }
        }
        Err(e) => {
            let bytes = e.into_bytes();
            let decoded = decode(&bytes);
            Decoded {
                text: Cow::Owned(decoded.text.into_owned()),
                encoding: decoded.encoding,
                replaced: decoded.replaced,
            }
        }
    }
}

/// UTF-8 with a few bad bytes (a truncated character, a stray byte pasted in): chardetng answers
/// UTF-8 only for valid UTF-8, but text in a legacy encoding almost never holds a valid multibyte
/// UTF-8 sequence, so ten of those to each bad byte says UTF-8.
fn mostly_utf8(bytes: &[u8]) -> bool {
    let sample = &bytes[..bytes.len().min(DETECT_SAMPLE)];
    let (mut multibyte, mut bad) = (0usize, 0usize);
    for chunk in sample.utf8_chunks() {
        multibyte += chunk.valid().chars().filter(|c| !c.is_ascii()).count();
        bad += chunk.invalid().len();
    }
    multibyte >= 10 * bad
}

/// The encoding `chardetng` guesses for bytes that are not valid UTF-8 (UTF-8 stays a possible
/// answer for text that is UTF-8 but for a few bad bytes).
pub fn detect(bytes: &[u8]) -> &'static Encoding {
    let sample = &bytes[..bytes.len().min(DETECT_SAMPLE)];
    let mut detector = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Allow);
    detector.feed(sample, sample.len() == bytes.len());
    detector.guess(None, chardetng::Utf8Detection::Allow)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Real text in each encoding, made with encoding_rs's encoders from the UTF-8 original.
    fn encoded(text: &str, encoding: &'static Encoding) -> Vec<u8> {
        let (bytes, _, unmappable) = encoding.encode(text);
        assert!(!unmappable, "{} cannot encode the sample", encoding.name());
        bytes.into_owned()
    }

    const FRENCH: &str = "Le ministère a reçu la note détaillée à l'été : « les élèves \
        étrangers doivent être accueillis dès la rentrée », écrit le préfet.\n";
    const RUSSIAN: &str = "Министерство иностранных дел сообщило, что переговоры о \
        поставках газа возобновятся в следующем месяце в Москве.\n";
    const JAPANESE: &str = "外務省は、来月東京で開かれる会議について、各国の代表団と\
        事前の協議を行ったと発表した。\n";

    #[test]
    fn legacy_encodings_are_detected_and_decoded() {
        // (text, encoded with, detected as): KOI8-R text is detected as KOI8-U, its superset,
        // which decodes every Russian letter alike.
        for (text, encoding, detected) in [
            (FRENCH, encoding_rs::WINDOWS_1252, encoding_rs::WINDOWS_1252),
            (RUSSIAN, encoding_rs::KOI8_R, encoding_rs::KOI8_U),
            (
                RUSSIAN,
                encoding_rs::WINDOWS_1251,
                encoding_rs::WINDOWS_1251,
            ),
            (JAPANESE, encoding_rs::SHIFT_JIS, encoding_rs::SHIFT_JIS),
            (JAPANESE, encoding_rs::EUC_JP, encoding_rs::EUC_JP),
        ] {
            let bytes = encoded(text, encoding);
            let decoded = decode(&bytes);
            assert_eq!(decoded.encoding, detected, "{text}");
            assert_eq!(decoded.text, text);
            assert!(!decoded.replaced);
            assert_eq!(binary_reason(&bytes), None, "{}", encoding.name());
        }
    }

    #[test]
    fn utf8_is_borrowed_and_boms_decide() {
        let decoded = decode(FRENCH.as_bytes());
        assert!(matches!(decoded.text, Cow::Borrowed(_)));
        assert_eq!(decoded.encoding, UTF_8);
        let mut utf16 = vec![0xFF, 0xFE];
        utf16.extend(FRENCH.encode_utf16().flat_map(u16::to_le_bytes));
        assert_eq!(binary_reason(&utf16), None, "UTF-16 has NULs but a BOM");
        let decoded = decode(&utf16);
        assert_eq!(decoded.encoding, encoding_rs::UTF_16LE);
        assert_eq!(decoded.text, FRENCH);
        let owned = decode_owned(format!("\u{feff}{FRENCH}").into_bytes());
        assert_eq!(owned.text, FRENCH);
    }

    #[test]
    fn bad_bytes_in_utf8_are_replaced_and_noted() {
        let mut bytes = FRENCH.repeat(20).into_bytes();
        bytes.insert(100, 0xFF);
        let decoded = decode_owned(bytes);
        assert_eq!(decoded.encoding, UTF_8);
        assert!(decoded.text.contains('\u{FFFD}'));
        assert!(decoded.note().expect("note").contains("UTF-8"));
    }

    #[test]
    fn binary_is_a_nul_or_many_controls_and_text_with_a_stray_escape_is_not() {
        let gz = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../sample/documents/notes/glossary.rst.gz"
        ))
        .expect("a real gzip file from the samples");
        // Compressed data: its bytes spread evenly, the model of binary content.
        let deflated = &gz[10..];
        assert!(binary_reason(deflated).is_some());
        assert!(
            binary_reason(b"ab\0cd")
                .expect("binary")
                .contains("offset 2")
        );
        let noisy: Vec<u8> = (0..4000u32).map(|i| (i * 7919 % 251) as u8 + 1).collect();
        assert!(binary_reason(&noisy).expect("binary").contains("control"));
        let man = b"\x1b[1mNAME\x1b[0m\n  l\x08ls - list directory contents\x0c\n";
        assert_eq!(binary_reason(man), None);
    }
}
