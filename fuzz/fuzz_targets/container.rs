//! The archive reader on untrusted bytes: zip, tar (plain, gzip, xz, zstd), 7z and bare xz or
//! zstd streams through `read::container::read`, with small bounds, every member read by the
//! same dispatch as a file (an e-mail, an office file, a nested archive...).
//!
//! The first byte picks the layout (the rest is the archive), so that one corpus reaches every
//! decoder. No child process runs: the PDF extractor does not exist, and `PATH` is emptied at
//! the start, so catdoc, xls2csv and prlimit are not found and a DOC or XLS member fails at once.
//!
//! Besides not panicking: every document has an `ext`, a media type and a place inside the
//! archive, and no text is longer than the office reader's cap (a member's own format may
//! expand further than the archive's bounds: a DOCX's parts have caps of their own).
#![no_main]

use archive::model::Extracted;
use archive::read::container::{self, Codec, Container, Limits};
use archive::read::{PdfExtractor, ReadOptions};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

const LIMITS: Limits = Limits {
    max_depth: 3,
    max_members: 64,
    max_total_members: 256,
    max_member_bytes: 1 << 20,
    max_total_bytes: 8 << 20,
    max_ratio: 100,
};

fn options() -> &'static ReadOptions {
    static OPTIONS: OnceLock<ReadOptions> = OnceLock::new();
    OPTIONS.get_or_init(|| {
        // SAFETY: set once, before the reader starts any thread, and never read concurrently
        // by this process's own code: a tool looked up in PATH is then never found.
        #[allow(unsafe_code)]
        unsafe {
            std::env::set_var("PATH", "/nonexistent/samizdat-fuzz-no-tools");
        }
        let mut options = ReadOptions::new(PdfExtractor::new(
            "/nonexistent/samizdat-fuzz-no-pdf-extractor",
            Vec::new(),
        ));
        options.archives = LIMITS;
        options
    })
}

const LAYOUTS: [(Container, &str); 8] = [
    (Container::Zip, "fuzz.zip"),
    (Container::Tar(Codec::Plain), "fuzz.tar"),
    (Container::Tar(Codec::Gzip), "fuzz.tar.gz"),
    (Container::Tar(Codec::Xz), "fuzz.tar.xz"),
    (Container::Tar(Codec::Zstd), "fuzz.tar.zst"),
    (Container::SevenZ, "fuzz.7z"),
    (Container::Single(Codec::Xz), "fuzz.txt.xz"),
    (Container::Single(Codec::Zstd), "fuzz.txt.zst"),
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, archive)) = data.split_first() else {
        return;
    };
    let (layout, name) = LAYOUTS[pick as usize % LAYOUTS.len()];
    // What `detect` makes of the bytes is exercised too, whatever layout is fed.
    let _ = container::detect(name, archive);
    let source = Box::new(std::io::Cursor::new(archive));
    let _ = container::read(source, name, layout, options(), &mut |doc| {
        if let Ok(doc) = doc {
            assert!(doc.locator.is_some(), "a member without its place: {doc:?}");
            check(&doc);
        }
    });
});

/// What every document read from an archive has, attachments included.
fn check(doc: &Extracted) {
    assert!(!doc.ext.is_empty(), "empty ext: {doc:?}");
    assert!(!doc.media_type.is_empty(), "empty media type: {doc:?}");
    assert!(
        doc.text.len() <= archive::read::office::MAX_TEXT_CHARS + 4096,
        "text of {} bytes",
        doc.text.len()
    );
    doc.children.iter().for_each(check);
}
