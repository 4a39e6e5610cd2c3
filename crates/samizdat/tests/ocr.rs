//! OCR in `add` (issue 20, "Images"), with the real Tesseract: pages of real PDFs of the
//! texlive corpus rendered by poppler's `pdftoppm` as a PNG, a TIFF in a zip, a JPEG attached to
//! an e-mail, and a scanned PDF (JPEG pages, no text layer) are read back as their own text
//! (`pdftotext` of the same pages is the oracle), found by the search, and shown on their page;
//! without `--ocr` an image is a document without text; a bad language stops `add` before any
//! file is read; a time limit or a page limit reached is reported, never fatal.

use crate::util::browser::{browser_test, validate_html};
use crate::util::*;
use archive::{Catalog, Document, Kind, TextSource, testing};
use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A PDF of the texlive-humanities corpus.
fn texlive(name: &str) -> PathBuf {
    corpus("texlive-humanities")
        .join("x/usr/share/doc/texlive-doc/latex")
        .join(name)
}

/// Runs poppler's `program` (`pdftoppm`, `pdftotext`): what it printed; fails naming the
/// Debian package when it is missing.
fn poppler(program: &str, args: &[&str]) -> Vec<u8> {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{program}: {e} (Debian package poppler-utils: ./test.sh)"));
    assert!(out.status.success(), "{program} {args:?}: {}", stderr(&out));
    out.stdout
}

/// Page `page` of `pdf` rendered at 200 dpi in gray as `format` (`png`, `jpeg`, `tiff`): its
/// bytes.
fn render(pdf: &Path, page: u32, format: &str, dir: &Path) -> Vec<u8> {
    let stem = dir.join(format!("render-{page}-{format}"));
    let n = page.to_string();
    let flag = format!("-{format}");
    poppler(
        "pdftoppm",
        &[
            "-r",
            "200",
            "-gray",
            "-f",
            &n,
            "-l",
            &n,
            &flag,
            "-singlefile",
            p(pdf),
            p(&stem),
        ],
    );
    let ext = match format {
        "jpeg" => "jpg",
        "tiff" => "tif",
        other => other,
    };
    fs::read(stem.with_extension(ext)).expect("the rendered page")
}

/// The text layer of pages `first..=last` of `pdf`: the oracle.
fn oracle(pdf: &Path, first: u32, last: u32) -> String {
    let (f, l) = (first.to_string(), last.to_string());
    String::from_utf8_lossy(&poppler("pdftotext", &["-f", &f, "-l", &l, p(pdf), "-"])).into_owned()
}

/// The words of a text as the share is counted: longer than three letters, lowercased.
fn words(text: &str) -> HashSet<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.chars().count() > 3)
        .map(str::to_lowercase)
        .collect()
}

/// The share of `expected`'s words that `found` holds.
fn share(expected: &str, found: &str) -> f64 {
    let (expected, found) = (words(expected), words(found));
    assert!(expected.len() > 50, "an oracle of {} words", expected.len());
    expected.intersection(&found).count() as f64 / expected.len() as f64
}

/// A message with `image` attached as `name`.
fn mail_with(name: &str, media_type: &str, image: &[u8]) -> Vec<u8> {
    format!(
        "From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: The scan\r\n\
         Date: Mon, 12 Apr 2010 10:00:00 +0000\r\nMessage-ID: <scan@example.org>\r\n\
         MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\
         Content-Type: text/plain\r\n\r\nThe scanned page, attached.\r\n--b\r\n\
         Content-Type: {media_type}\r\nContent-Disposition: attachment; filename={name}\r\n\
         Content-Transfer-Encoding: base64\r\n\r\n{}\r\n--b--\r\n",
        testing::base64(image)
    )
    .into_bytes()
}

/// What the report says of OCR for `key`, which must have been ingested.
fn ocr_of<'a>(lines: &'a HashMap<String, serde_json::Value>, key: &str) -> &'a str {
    let line = lines
        .get(key)
        .unwrap_or_else(|| panic!("{key} not in the report: {lines:#?}"));
    assert_eq!(line["outcome"], "ingested", "{key}: {line}");
    line["ocr"]
        .as_str()
        .unwrap_or_else(|| panic!("{key}: no word on OCR: {line}"))
}

/// The documents of `archive` by their source (`page.png`, `leak.zip!/page.tif`), and a
/// reader of their texts.
fn documents(archive: &Path) -> (HashMap<String, Document>, impl Fn(&Document) -> String) {
    let catalog = Catalog::open(&archive.join("catalog.sqlite")).expect("catalog");
    let all = catalog.documents().expect("documents");
    let store = archive::Store::open(&archive.join("store")).expect("store");
    let by_source = all.into_iter().map(|d| (d.source.clone(), d)).collect();
    (by_source, move |d: &Document| {
        fs::read_to_string(store.path_of(&d.text.sha256)).expect("text")
    })
}

/// The files of the OCR tests in `docs`: a PNG page, a scanned PDF of two JPEG pages, a zip
/// holding a TIFF page, an e-mail with a JPEG page attached, and a PDF with a text layer. The
/// oracle's text of each, by its document's source.
fn scans(docs: &Path, scratch: &Path) -> Vec<(&'static str, String)> {
    fs::create_dir_all(docs).expect("mkdir");
    let poetry = texlive("poetrytex/poetrytex.pdf");
    let drama = texlive("dramatist/dramatist.pdf");
    let covington = texlive("covington/covington.pdf");
    fs::write(docs.join("page.png"), render(&poetry, 3, "png", scratch)).expect("write");
    let jpegs = [
        render(&drama, 2, "jpeg", scratch),
        render(&drama, 3, "jpeg", scratch),
    ];
    let scan = testing::scanned_pdf(&jpegs, 200).expect("a scanned PDF");
    fs::write(docs.join("scan.pdf"), scan).expect("write");
    let tiff = render(&covington, 2, "tiff", scratch);
    let zip = testing::zip_of(&[("page.tif", &tiff)]).expect("zip");
    fs::write(docs.join("leak.zip"), zip).expect("write");
    let jpeg = render(&covington, 3, "jpeg", scratch);
    fs::write(
        docs.join("scan.eml"),
        mail_with("page.jpg", "image/jpeg", &jpeg),
    )
    .expect("write");
    fs::copy(texlive("linguex/linguex-doc.pdf"), docs.join("typeset.pdf")).expect("copy");
    vec![
        ("page.png", oracle(&poetry, 3, 3)),
        ("scan.pdf", oracle(&drama, 2, 3)),
        ("leak.zip!/page.tif", oracle(&covington, 2, 2)),
        ("scan.eml#attachment-1", oracle(&covington, 3, 3)),
    ]
}

#[test]
fn issue_20_images_and_scanned_pdfs_are_read_by_tesseract_found_by_their_words_and_shown() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (archive, docs) = (tmp.path().join("archive"), tmp.path().join("docs"));
    let expected = scans(&docs, tmp.path());
    run(&["init", p(&archive), "--title", "Scans"], 0);
    let started = std::time::Instant::now();
    let out = run(
        &["add", "--verbose", "--ocr", "eng", p(&archive), p(&docs)],
        0,
    );
    let seconds = started.elapsed().as_secs_f64();
    let printed = stdout(&out);
    let (lines, summary) = read_report(&printed).by_name();
    println!("add --ocr eng: {seconds:.1} s, report summary {summary}");
    assert_eq!(summary["failed"], 0, "{summary}");
    assert_eq!(summary["ocr"], 4, "{summary}");
    assert!(printed.contains(", 4 read by OCR; report: "), "{printed}");

    // The report says for every image and PDF what OCR did.
    for key in ["page.png", "leak.zip !/page.tif", "scan.eml attachment-1"] {
        let said = ocr_of(&lines, key);
        assert!(said.starts_with("ran (eng): "), "{key}: {said}");
    }
    let said = ocr_of(&lines, "scan.pdf");
    assert!(said.starts_with("ran (eng): 2 of 2 pages"), "{said}");
    let said = ocr_of(&lines, "typeset.pdf");
    assert!(said.starts_with("not needed"), "{said}");
    assert!(
        printed.contains("OCR ran (eng)"),
        "--verbose says it:\n{printed}"
    );

    // Each one's text is the text of the pages it shows, nearly word for word, and marked as
    // recognised.
    let (by_source, text_of) = documents(&archive);
    for (source, oracle) in &expected {
        let doc = by_source
            .get(*source)
            .unwrap_or_else(|| panic!("no document from {source}: {:?}", by_source.keys()));
        let text = text_of(doc);
        let found = share(oracle, &text);
        println!("{source}: {:.1}% of the oracle's words", found * 100.0);
        assert!(found >= 0.9, "{source}: {found:.3} of the words\n{text}");
        assert_eq!(doc.text_source, Some(TextSource::Ocr), "{source}");
        let kind = if *source == "scan.pdf" {
            Kind::Pdf
        } else {
            Kind::Image
        };
        assert_eq!(doc.kind, kind, "{source}");
    }
    let png = &by_source["page.png"];
    assert_eq!(
        (png.ext.as_str(), png.media_type.as_str()),
        ("png", "image/png")
    );
    assert_ne!(png.title, "page.png", "titled by its text's first sentence");
    let tif = &by_source["leak.zip!/page.tif"];
    assert_eq!(tif.media_type, "image/tiff");
    let typeset = &by_source["typeset.pdf"];
    assert_eq!(
        typeset.text_source, None,
        "a text layer is the PDF's own text"
    );

    // A word only the PNG holds finds it first; its page shows the image.
    let others: HashSet<String> = by_source
        .values()
        .filter(|d| d.id != png.id)
        .flat_map(|d| words(&text_of(d)))
        .collect();
    let mut own: Vec<String> = words(&text_of(png))
        .intersection(&words(&expected[0].1))
        .filter(|w| !others.contains(*w) && w.chars().all(|c| c.is_ascii_alphabetic()))
        .cloned()
        .collect();
    own.sort_by_key(|w| std::cmp::Reverse(w.len()));
    let word = own.first().expect("a word only the image holds").clone();
    run(&["release", p(&archive)], 0);
    let listen = format!("127.0.0.120:{}", free_port("127.0.0.120"));
    let log = tmp.path().join("mirror.log");
    let mirror = Daemon::start(&["mirror", "serve", p(&archive), "--listen", &listen], &log);
    let base = mirror.url.trim_end_matches('/').to_owned();
    let (head, page) = curl(&format!("{base}/d/{}/", png.id), &[]);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    let page = String::from_utf8_lossy(&page);
    assert!(page.contains("<img src=\"original.png\" alt=\""), "{page}");
    assert!(page.contains("recognised by OCR"), "{page}");
    // The original an <img> loads: an image's own type, inert, never a type that runs.
    let (head, bytes) = curl(&format!("{base}/d/{}/original.png", png.id), &[]);
    assert!(head.contains("content-type: image/png"), "{head}");
    assert!(head.contains("content-security-policy: sandbox"), "{head}");
    assert!(bytes.starts_with(b"\x89PNG"));
    // And so does a volunteer's nginx, with the configuration the README gives, over an export.
    let export = tmp.path().join("export");
    run(&["export", p(&archive), p(&export)], 0);
    let conf = fs::read_to_string(repo().join("deploy/nginx-samizdat.conf")).expect("conf");
    let nginx = Nginx::start_with("127.0.0.121", |port| {
        conf.replace("listen [::]:80;", "")
            .replace("listen 80;", &format!("listen 127.0.0.121:{port};"))
            .replace("root /var/www/samizdat;", &format!("root {};", p(&export)))
    });
    for (doc, ext, media_type) in [(png, "png", "image/png"), (tif, "tif", "image/tiff")] {
        let (head, _) = curl(&format!("{}/d/{}/original.{ext}", nginx.url, doc.id), &[]);
        assert!(head.starts_with("http/1.1 200"), "{head}");
        assert!(
            head.contains(&format!("content-type: {media_type}")),
            "{head}"
        );
        assert!(head.contains("content-security-policy: sandbox"), "{head}");
    }
    // The pages (an image shown, OCR's text said to be OCR's) are valid HTML.
    validate_html(&export.join("d"), 50);
    let shots = repo().join("target/screenshots/ocr");
    browser_test(
        &repo().join("tests/browser/site/ocr.mjs"),
        &base,
        &shots,
        &[&word, png.id.as_str()],
    );
}

#[test]
fn issue_20_without_ocr_an_image_is_a_document_without_text_until_an_add_with_ocr_reads_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (archive, docs) = (tmp.path().join("archive"), tmp.path().join("docs"));
    fs::create_dir_all(&docs).expect("mkdir");
    let drama = texlive("dramatist/dramatist.pdf");
    let png = render(&drama, 2, "png", tmp.path());
    // Its content says what it is, not its name.
    fs::write(docs.join("scan-2010-04-12"), &png).expect("write");
    let scan = testing::scanned_pdf(&[render(&drama, 3, "jpeg", tmp.path())], 200).expect("pdf");
    fs::write(docs.join("scan.pdf"), scan).expect("write");
    fs::write(
        docs.join("not-an-image.png"),
        b"Some text under an image's name.\n",
    )
    .expect("write");
    run(&["init", p(&archive)], 0);
    let out = run(&["add", "--verbose", p(&archive), p(&docs)], 0);
    let (lines, summary) = read_report(&stdout(&out)).by_name();
    let said = ocr_of(&lines, "scan-2010-04-12");
    assert!(said.starts_with("not asked: an image"), "{said}");
    let said = ocr_of(&lines, "scan.pdf");
    assert!(
        said.contains("no text layer") && said.contains("--ocr"),
        "{said}"
    );
    let line = &lines["not-an-image.png"];
    assert_eq!(line["outcome"], "unsupported", "{line}");
    assert_eq!(summary["ingested"], 2, "{summary}");

    let (by_source, text_of) = documents(&archive);
    let image = &by_source["scan-2010-04-12"];
    assert_eq!(image.kind, Kind::Image);
    assert_eq!(image.title, "scan-2010-04-12");
    assert_eq!(
        (image.ext.as_str(), image.media_type.as_str()),
        ("png", "image/png")
    );
    assert_eq!(image.date_source, Some(archive::DateSource::FileName));
    assert!(text_of(image).is_empty() && image.text_source.is_none());
    assert!(text_of(&by_source["scan.pdf"]).trim().is_empty());

    // `add --ocr` later reads again what OCR would read, and only that; a plain `add` after it
    // keeps what OCR read, and the same `add --ocr` again has nothing to do.
    let out = run(&["add", "--ocr", "eng", p(&archive), p(&docs)], 0);
    let (lines, summary) = read_report(&stdout(&out)).by_name();
    for key in ["scan-2010-04-12", "scan.pdf"] {
        assert_eq!(lines[key]["outcome"], "updated", "{key}: {:?}", lines[key]);
        let said = lines[key]["ocr"].as_str().unwrap_or_default();
        assert!(said.starts_with("ran (eng)"), "{key}: {said}");
    }
    assert_eq!(summary["updated"], 2, "{summary}");
    let ocr_text = |archive: &Path| {
        let (by_source, text_of) = documents(archive);
        (
            text_of(&by_source["scan-2010-04-12"]),
            by_source["scan-2010-04-12"].text_source,
        )
    };
    let (text, source) = ocr_text(&archive);
    assert!(share(&oracle(&drama, 2, 2), &text) >= 0.9, "{text}");
    assert_eq!(source, Some(TextSource::Ocr));
    for again in [&["add"][..], &["add", "--ocr", "eng"][..]] {
        let mut args = again.to_vec();
        args.extend([p(&archive), p(&docs)]);
        let (_, summary) = read_report(&stdout(&run(&args, 0))).by_name();
        assert_eq!(
            (&summary["updated"], &summary["unchanged"]),
            (&0.into(), &2.into()),
            "{again:?}: {summary}"
        );
        assert_eq!(ocr_text(&archive), (text.clone(), source), "{again:?}");
    }
}

#[test]
fn issue_20_an_ocr_language_not_installed_stops_add_before_any_file_is_read() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = tmp.path().join("archive");
    run(&["init", p(&archive)], 0);
    let docs = sample_documents();
    for (languages, says) in [
        (
            "xx",
            "\"xx\" is not installed (Debian package tesseract-ocr-xx)",
        ),
        ("eng+qqq", "tesseract-ocr-qqq"),
        ("eng;rm", "expected Tesseract codes joined by '+'"),
        ("", "expected Tesseract codes"),
    ] {
        let out = run(&["add", "--ocr", languages, p(&archive), p(&docs)], 1);
        assert_says(&stderr(&out), says);
    }
    assert!(
        !archive.join("reports").exists(),
        "no report: no file was read"
    );
}

#[test]
fn issue_20_ocr_past_its_time_memory_or_page_limit_is_reported_and_the_document_kept() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (archive, docs) = (tmp.path().join("archive"), tmp.path().join("docs"));
    fs::create_dir_all(&docs).expect("mkdir");
    let covington = texlive("covington/covington.pdf");
    fs::write(
        docs.join("page.png"),
        render(&covington, 2, "png", tmp.path()),
    )
    .expect("write");
    run(&["init", p(&archive)], 0);
    // A time limit no page can meet: the image is a document all the same, without text.
    let out = run(
        &[
            "add",
            "--ocr",
            "eng",
            "--ocr-timeout",
            "0",
            p(&archive),
            p(&docs),
        ],
        0,
    );
    let (lines, _) = read_report(&stdout(&out)).by_name();
    let said = ocr_of(&lines, "page.png");
    assert!(said.starts_with("failed: tesseract: timed out"), "{said}");
    assert_says(&stderr(&out), "OCR failed: tesseract: timed out");
    let (by_source, text_of) = documents(&archive);
    assert!(text_of(&by_source["page.png"]).is_empty());

    // A scan of three pages read one page only: its text is the first page's, the cut said.
    let pages: Vec<Vec<u8>> = (2..=4)
        .map(|n| render(&covington, n, "jpeg", tmp.path()))
        .collect();
    let scan = testing::scanned_pdf(&pages, 200).expect("pdf");
    fs::write(docs.join("scan.pdf"), scan).expect("write");
    // An image of 65,000 × 65,000 pixels in 200 bytes: 4 GiB to decode, past Tesseract's
    // memory limit.
    fs::write(
        docs.join("bomb.png"),
        testing::png_bomb(65_000).expect("png"),
    )
    .expect("write");
    let out = run(
        &[
            "add",
            "--ocr",
            "eng",
            "--ocr-pages",
            "1",
            p(&archive),
            p(&docs),
        ],
        0,
    );
    let (lines, _) = read_report(&stdout(&out)).by_name();
    let said = ocr_of(&lines, "bomb.png");
    assert!(said.starts_with("failed: tesseract failed"), "{said}");
    // The image whose OCR failed is read again, within its time this once.
    let line = &lines["page.png"];
    assert_eq!(line["outcome"], "updated", "{line}");
    assert!(
        line["ocr"]
            .as_str()
            .is_some_and(|o| o.starts_with("ran (eng)")),
        "{line}"
    );
    let said = ocr_of(&lines, "scan.pdf");
    assert!(
        said.starts_with("ran (eng): 1 of 3 pages") && said.contains("cut"),
        "{said}"
    );
    assert_says(&stderr(&out), "OCR read the first 1 of 3 pages");
    let (by_source, text_of) = documents(&archive);
    let found = share(&oracle(&covington, 2, 2), &text_of(&by_source["scan.pdf"]));
    assert!(found >= 0.9, "{found}");
}
