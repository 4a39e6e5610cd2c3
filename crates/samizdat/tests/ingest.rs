//! What `add` makes of a leak-like folder (issue 20): every file named in the report with its
//! outcome; legacy encodings detected, decoded and recorded; titles a reader can use; dates from
//! file names marked as such; a sidecar's metadata over what was extracted.

use crate::util::*;
use archive::{Catalog, DateSource, Document};
use std::fs;

/// A linux-doc file, decompressed.
fn linux_doc(rel: &str) -> String {
    let path = corpus("linux-doc")
        .join("x/usr/share/doc/linux-doc-6.1")
        .join(rel);
    let gz = fs::File::open(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(gz), &mut text)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text
}

fn encode(text: &str, encoding: &'static encoding_rs::Encoding) -> Vec<u8> {
    let (bytes, _, unmappable) = encoding.encode(text);
    assert!(!unmappable, "{} cannot encode the text", encoding.name());
    bytes.into_owned()
}

#[test]
fn issue_20_every_file_is_reported_with_its_outcome_and_legacy_text_is_decoded_titled_and_dated() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = tmp.path().join("archive");
    run(&["init", p(&archive)], 0);
    let docs = tmp.path().join("leak");
    fs::create_dir_all(docs.join("later")).expect("mkdir");

    // Real translated kernel documents, re-encoded as old systems wrote them.
    let howto = linux_doc("Documentation/translations/it_IT/process/howto.rst.gz");
    let latin1 = encode(&howto, encoding_rs::WINDOWS_1252);
    assert!(
        latin1.iter().all(|b| !(0x80..0xA0).contains(b)) && latin1.iter().any(|&b| b >= 0xA0),
        "true ISO-8859-1: accented letters, none of windows-1252's own characters"
    );
    fs::write(docs.join("howto-it.txt"), &latin1).expect("write");
    // The duplicate: the same bytes under another name, walked after the first.
    fs::write(docs.join("later/howto-it.txt"), &latin1).expect("write");
    // Windows-1252 with typographic apostrophes (0x92), as Word writes them; no extension.
    let intro = linux_doc("Documentation/translations/it_IT/process/1.Intro.rst.gz");
    let intro = intro.replace('\'', "\u{2019}");
    fs::write(
        docs.join("memo_2009-11-03"),
        encode(&intro, encoding_rs::WINDOWS_1252),
    )
    .expect("write");
    let rules = linux_doc("Documentation/translations/ja_JP/stable_kernel_rules.txt.gz");
    fs::write(
        docs.join("stable_kernel_rules.ja.txt"),
        encode(&rules, encoding_rs::SHIFT_JIS),
    )
    .expect("write");
    let base = corpus("linux-doc").join("x/usr/share/doc/linux-doc-6.1");
    fs::copy(base.join("CREDITS.gz"), docs.join("CREDITS.gz")).expect("copy");
    // A real image without its extension: an image by its content, whatever its name.
    fs::copy(base.join("html/_static/minus.png"), docs.join("minus")).expect("copy");
    fs::copy(base.join("html/_static/plus.png"), docs.join("plus.png")).expect("copy");
    // The publisher's metadata beside a document.
    let rules_en = linux_doc("Documentation/process/stable-kernel-rules.rst.gz");
    fs::write(docs.join("stable-kernel-rules.txt"), &rules_en).expect("write");
    let sidecar = docs.join("stable-kernel-rules.txt.meta.json");
    fs::write(
        &sidecar,
        r#"{"title":"Rules for the stable kernel","date":"2005-03-04","tags":["process"],"origin":"linux-doc"}"#,
    )
    .expect("write");
    let pdf = fs::read(sample_documents().join("notes/harbour-report.pdf")).expect("pdf");
    fs::write(docs.join("broken.pdf"), &pdf[..pdf.len() / 2]).expect("write");

    let out = run(&["add", "--verbose", p(&archive), p(&docs)], 4);
    let printed = stdout(&out);
    let report = read_report(&printed);
    assert!(
        report.path.starts_with(archive.join("reports")),
        "{}",
        report.path.display()
    );
    let (lines, summary) = report.by_path_under(&docs);
    let outcome = |file: &str| {
        let line = lines
            .get(file)
            .unwrap_or_else(|| panic!("{file} is not in the report: {lines:#?}"));
        (line["outcome"].as_str().expect("outcome").to_owned(), line)
    };
    let id_of = |file: &str| {
        let (what, line) = outcome(file);
        assert_eq!(what, "ingested", "{file}: {line}");
        line["id"].as_str().expect("id").to_owned()
    };
    for file in [
        "howto-it.txt",
        "memo_2009-11-03",
        "stable_kernel_rules.ja.txt",
        "CREDITS.gz",
        "stable-kernel-rules.txt",
    ] {
        id_of(file);
    }
    // Images are documents, without text when no OCR was asked for, and the report says so.
    for file in ["minus", "plus.png"] {
        id_of(file);
        let (_, line) = outcome(file);
        let ocr = line["ocr"].as_str().unwrap_or_default();
        assert!(ocr.starts_with("not asked"), "{file}: {line}");
    }
    let (what, line) = outcome("later/howto-it.txt");
    assert_eq!(what, "duplicate", "{line}");
    assert_eq!(line["of"].as_str(), Some(id_of("howto-it.txt").as_str()));
    let (what, line) = outcome("stable-kernel-rules.txt.meta.json");
    assert_eq!(what, "metadata", "{line}");
    assert!(
        line["of"]
            .as_str()
            .is_some_and(|of| of.ends_with("/stable-kernel-rules.txt"))
    );
    let (what, line) = outcome("broken.pdf");
    assert_eq!(what, "failed", "{line}");
    assert!(line["reason"].as_str().is_some_and(|r| !r.is_empty()));
    assert_eq!(lines.len(), 10, "one line a file: {lines:#?}");
    for (count, n) in [
        ("files", 10),
        ("ingested", 7),
        ("sidecars", 1),
        ("unsupported", 0),
        ("duplicates", 1),
        ("failed", 1),
    ] {
        assert_eq!(summary[count], n, "{count}: {summary}");
    }
    // --verbose printed every file.
    for file in ["minus", "plus.png", "broken.pdf", "later/howto-it.txt"] {
        assert!(
            printed.lines().any(|l| l.contains(file)),
            "{file} not printed:\n{printed}"
        );
    }

    let catalog = Catalog::open(&archive.join("catalog.sqlite")).expect("catalog");
    let all = catalog.documents().expect("documents");
    let doc = |file: &str| -> &Document {
        let id = id_of(file);
        all.iter()
            .find(|d| d.id.as_str() == id)
            .unwrap_or_else(|| panic!("{id} not in the catalog"))
    };
    let store = archive::Store::open(&archive.join("store")).expect("store");
    let text_of = |d: &Document| {
        let blob = store.path_of(&d.text.sha256);
        fs::read_to_string(&blob).unwrap_or_else(|e| panic!("{}: {e}", blob.display()))
    };
    let expect = [
        (
            "howto-it.txt",
            "windows-1252",
            "Come partecipare allo sviluppo del kernel Linux",
            "comunità di",
        ),
        (
            "memo_2009-11-03",
            "windows-1252",
            "Introduzione",
            "un\u{2019}introduzione",
        ),
        (
            "stable_kernel_rules.ja.txt",
            "Shift_JIS",
            "NOTE: This is Japanese translated version of \"Documentation/process/stable-kernel-rules.rst\"",
            "これは、",
        ),
        (
            "CREDITS.gz",
            "UTF-8",
            "This is at least a partial credits-file of people that have contributed to the Linux project",
            "Linus",
        ),
    ];
    for (file, encoding, title, words) in expect {
        let d = doc(file);
        assert_eq!(d.encoding.as_deref(), Some(encoding), "{file}");
        assert_eq!(d.title, title, "{file}");
        let text = text_of(d);
        assert!(
            text.contains(words),
            "{file}: {words:?} not in the decoded text"
        );
        assert!(!text.contains('\u{FFFD}'), "{file}: a byte not decoded");
    }
    let memo = doc("memo_2009-11-03");
    assert_eq!(
        memo.date.map(|d| d.date().to_string()).as_deref(),
        Some("2009-11-03")
    );
    assert_eq!(memo.date_source, Some(DateSource::FileName));
    assert_eq!(doc("howto-it.txt").date, None, "no date in name or text");
    let rules = doc("stable-kernel-rules.txt");
    assert_eq!(rules.title, "Rules for the stable kernel");
    assert_eq!(
        rules.date.map(|d| d.date().to_string()).as_deref(),
        Some("2005-03-04")
    );
    assert_eq!(rules.date_source, Some(DateSource::Sidecar));
    assert_eq!(rules.tags, ["process"]);
    assert_eq!(rules.origin.as_deref(), Some("linux-doc"));

    // The published record carries the encoding and where the date came from.
    run(&["release", "--no-site", p(&archive)], 0);
    let record = target_file(&archive.join("release"), &format!("{}.json", memo.id));
    let record: serde_json::Value =
        serde_json::from_slice(&fs::read(&record).expect("record")).expect("record JSON");
    assert_eq!(record["document"]["encoding"], "windows-1252", "{record}");
    assert_eq!(record["document"]["date_source"], "file-name", "{record}");

    // Editing the sidecar alone reads its document again, and only it.
    fs::write(&sidecar, r#"{"title":"Stable kernel rules, revised"}"#).expect("write");
    let out = run(&["add", p(&archive), p(&docs)], 4);
    let (lines, summary) = read_report(&stdout(&out)).by_path_under(&docs);
    assert_eq!(
        lines["stable-kernel-rules.txt"]["outcome"], "updated",
        "{lines:#?}"
    );
    assert_eq!(summary["updated"], 1, "{summary}");
    assert_eq!(summary["unchanged"], 7, "{summary}");
    let catalog = Catalog::open(&archive.join("catalog.sqlite")).expect("catalog");
    let rules = catalog
        .documents()
        .expect("documents")
        .into_iter()
        .find(|d| d.source == "stable-kernel-rules.txt")
        .expect("the document");
    assert_eq!(rules.title, "Stable kernel rules, revised");
    assert_eq!(
        rules.date, None,
        "the sidecar's date is gone, none in the text or name"
    );
}
