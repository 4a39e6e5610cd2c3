//! The JSON Lines reader on untrusted bytes, with `path` fields resolved against a small folder
//! made once per process: files of each format, a sub-folder, a symlink inside the root and one
//! that escapes it, and a secret file beside the root.
//!
//! Besides not panicking: no document may carry the secret file's bytes (a `path` must stay
//! inside the root, as written and after following symlinks). The reader only reads; the folder
//! is written here, in `fuzz/target/jsonl-fixture`, and nowhere else.
#![no_main]

use archive::read::{PdfExtractor, ReadOptions, jsonl};
use libfuzzer_sys::fuzz_target;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// The file outside the root. Not JSON, so no line of input can be a document with these bytes.
const SECRET: &[u8] = b"SECRET outside the archive root\n";

struct Fixture {
    options: ReadOptions,
    /// The JSON Lines file's path (it need not exist: the reader gets its bytes).
    jsonl_path: PathBuf,
    root: PathBuf,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        // Inside the fuzz crate's own target/ (git-ignored), rewritten at each start with the
        // same bytes, so that restarts and parallel jobs share one small folder.
        let base = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/target/jsonl-fixture"));
        let root = base.join("root");
        let write = |path: &Path, bytes: &[u8]| {
            std::fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
            if std::fs::read(path).ok().as_deref() != Some(bytes) {
                std::fs::write(path, bytes).expect("write fixture file");
            }
        };
        let docs = concat!(env!("CARGO_MANIFEST_DIR"), "/../sample/documents");
        let sample = |rel: &str| std::fs::read(format!("{docs}/{rel}")).expect("sample file");
        write(&base.join("outside/secret.txt"), SECRET);
        write(&root.join("a.txt"), b"Plain text\nsecond line\n");
        write(&root.join("mail.eml"), &sample("mail/01-inspection.eml"));
        write(&root.join("press.mbox"), &sample("mail/press.mbox"));
        write(&root.join("notes.md"), &sample("notes/methodology.md"));
        write(&root.join("page.html"), &sample("notes/press-release.html"));
        write(
            &root.join("glossary.rst.gz"),
            &sample("notes/glossary.rst.gz"),
        );
        write(
            &root.join("report.pdf"),
            &sample("notes/harbour-report.pdf"),
        );
        write(&root.join("other.jsonl"), &sample("cables/cables.jsonl"));
        write(&root.join("image.png"), b"\x89PNG\r\n\x1a\n");
        write(&root.join("sub/note.txt"), b"A note in the sub-folder\n");
        write(&root.join("sub/bad-utf8.txt"), b"caf\xe9\n");
        std::fs::create_dir_all(root.join("sub/folder")).expect("mkdir");
        for (link, target) in [
            ("link-in.txt", "a.txt"),
            ("link-out.txt", "../outside/secret.txt"),
            ("sub/link-up", ".."),
        ] {
            let link = root.join(link);
            if std::fs::read_link(&link).ok().as_deref() != Some(Path::new(target)) {
                let _ = std::fs::remove_file(&link);
                std::os::unix::fs::symlink(target, &link).expect("symlink");
            }
        }
        Fixture {
            // The PDF extractor does not exist: a PDF `path` fails to spawn, no child runs.
            options: ReadOptions::new(PdfExtractor::new(
                "/nonexistent/samizdat-fuzz-no-pdf-extractor",
                Vec::new(),
            )),
            jsonl_path: root.join("sub/import.jsonl"),
            root,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let fixture = fixture();
    // Rows are handed over one at a time; a row's original is bytes, or a file (a part of it)
    // that ingest stores from disk: either way it must never be the file outside the root.
    let _ = jsonl::read(
        data,
        &fixture.jsonl_path,
        &fixture.root,
        &fixture.options,
        &mut |row| {
            let Ok(doc) = row else { return };
            let original = match &doc.original_file {
                None => doc.original.clone(),
                Some(file) => {
                    let bytes = std::fs::read(file).unwrap_or_default();
                    match doc.original_part {
                        Some((start, len)) => bytes
                            .get(start as usize..(start + len) as usize)
                            .map(<[u8]>::to_vec)
                            .unwrap_or_default(),
                        None => bytes,
                    }
                }
            };
            assert_ne!(
                original, SECRET,
                "a row read the file outside the root: {doc:?}"
            );
            assert!(!doc.ext.is_empty(), "empty ext: {doc:?}");
        },
    );
});
