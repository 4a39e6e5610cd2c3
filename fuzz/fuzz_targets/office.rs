//! The office readers on untrusted bytes, all in this process (no child process, no tool):
//! DOCX, PPTX, XLSX, ODT, ODP and ODS from their zip (the streamed XML reader, calamine's cell
//! reader), RTF, and legacy PPT (its records in a compound file), through
//! `read::office::read` and `read::office::ppt::read` with small caps.
//!
//! The first byte picks the format, the rest is the file. Besides not panicking: the text is
//! within its cap, and every document has a title (its own, or the file's name).
#![no_main]

use archive::read::office::{self, Caps, Office};
use libfuzzer_sys::fuzz_target;

const CAPS: Caps = Caps {
    part_bytes: 1 << 20,
    text_chars: 64 << 10,
    cells: 10_000,
};

const FORMATS: [(Option<Office>, &str); 8] = [
    (Some(Office::Docx), "fuzz.docx"),
    (Some(Office::Pptx), "fuzz.pptx"),
    (Some(Office::Xlsx), "fuzz.xlsx"),
    (Some(Office::Odt), "fuzz.odt"),
    (Some(Office::Odp), "fuzz.odp"),
    (Some(Office::Ods), "fuzz.ods"),
    (Some(Office::Rtf), "fuzz.rtf"),
    (None, "fuzz.ppt"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, file)) = data.split_first() else {
        return;
    };
    let (format, name) = FORMATS[pick as usize % FORMATS.len()];
    let read = match format {
        Some(format) => {
            let _ = Office::detect(&name[5..], file);
            office::read(format, file.to_vec(), name, CAPS)
        }
        None => office::ppt::read(file.to_vec(), name, CAPS),
    };
    if let Ok(doc) = read {
        assert!(
            doc.text.len() <= CAPS.text_chars,
            "{name}: text of {} bytes past its cap",
            doc.text.len()
        );
        assert!(!doc.title.trim().is_empty(), "{name}: no title");
        assert!(!doc.ext.is_empty() && !doc.media_type.is_empty(), "{doc:?}");
    }
});
