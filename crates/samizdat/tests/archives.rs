//! Archives given to `add` (issue 20): zip members become documents placed at
//! `FILE!/MEMBER`, and hostile archives (a 10 GiB zip bomb, a 42.zip-like nesting, 20 zips
//! deep) are each stopped with the bound named in the report, within bounded memory and time.

use crate::util::*;
use archive::testing;
use std::fs;
use std::path::Path;
use std::time::{Duration, Instant};

/// `add --verbose ARCHIVE DOCS` under GNU time: its exit code, stdout, and peak RSS in KiB.
fn add_measured(archive: &Path, docs: &Path) -> (i32, String, u64) {
    let (code, out, _, kib) = add_measured_all(archive, docs);
    (code, out, kib)
}

/// As [`add_measured`], with stderr too.
fn add_measured_all(archive: &Path, docs: &Path) -> (i32, String, String, u64) {
    let time = Path::new("/usr/bin/time");
    assert!(time.exists(), "this test needs GNU time at /usr/bin/time");
    let out = std::process::Command::new(time)
        .arg("-v")
        .arg(env!("CARGO_BIN_EXE_samizdat"))
        .args(["add", "--verbose", p(archive), p(docs)])
        .output()
        .expect("run /usr/bin/time");
    let err = stderr(&out);
    let kib = err
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no maximum resident set size in:\n{err}"));
    (out.status.code().unwrap_or(-1), stdout(&out), err, kib)
}

/// The line of file `name` (its last component) at `part`: its outcome and the line.
fn line_of<'a>(
    lines: &'a [serde_json::Value],
    name: &str,
    part: Option<&str>,
) -> (&'a str, &'a serde_json::Value) {
    let line = lines
        .iter()
        .find(|l| {
            l["path"]
                .as_str()
                .is_some_and(|p| p.ends_with(&format!("/{name}")))
                && l["part"].as_str() == part
        })
        .unwrap_or_else(|| panic!("no line for {name} {part:?} in {lines:#?}"));
    (line["outcome"].as_str().expect("outcome"), line)
}

fn reason(line: &serde_json::Value) -> &str {
    line["reason"].as_str().unwrap_or_default()
}

const MAIL: &[u8] = b"From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: The plan\r\nDate: Mon, 12 Apr 2010 10:00:00 +0000\r\nMessage-ID: <plan@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nSee the notes.\r\n--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=notes.txt\r\n\r\nThe notes themselves.\r\n--b--\r\n";

#[test]
fn issue_20_archives_are_opened_member_by_member_and_bombs_stop_at_a_named_bound() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = tmp.path().join("archive");
    run(&["init", p(&archive)], 0);
    let docs = tmp.path().join("leak");
    fs::create_dir_all(&docs).expect("mkdir");

    let inner = testing::zip_of(&[("b.txt", b"The inner memo.\n")]).expect("zip");
    let leak = |with_memo: bool| {
        let mut members: Vec<(&str, &[u8])> = vec![
            ("mail/plan.eml", MAIL),
            ("inner.zip", &inner),
            ("photo.png", b"\x89PNG\r\n\x1a\n...."),
        ];
        if with_memo {
            members.push(("memo.txt", b"A memo about the harbour.\n"));
        }
        testing::zip_of(&members).expect("zip")
    };
    fs::write(docs.join("leak.zip"), leak(true)).expect("write");
    let attached = testing::zip_of(&[("minutes.txt", b"Minutes of the meeting.\n")]).expect("zip");
    let files = format!(
        "From: a@example.org\r\nTo: b@example.org\r\nSubject: Files\r\nDate: Mon, 12 Apr 2010 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n--b\r\nContent-Type: application/zip\r\nContent-Disposition: attachment; filename=files.zip\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b--\r\n",
        testing::base64(&attached)
    );
    fs::write(docs.join("files.eml"), files).expect("write");
    let mut bomb = std::io::BufWriter::new(fs::File::create(docs.join("bomb.zip")).expect("bomb"));
    testing::zeros_zip(&mut bomb, "zeros.txt", 10 << 10, 10 << 30).expect("bomb");
    std::io::Write::flush(&mut bomb).expect("flush");
    drop(bomb);
    // 16^4 leaves of 1 GiB each: 64 TiB declared, 65,536 members.
    fs::write(
        docs.join("42.zip"),
        testing::nested_bomb(16, 4, 1 << 10).expect("bomb"),
    )
    .expect("write");
    fs::write(
        docs.join("deep.zip"),
        testing::deep_zip(20, b"At the bottom.\n").expect("zip"),
    )
    .expect("write");
    fs::write(
        docs.join("traversal.zip"),
        testing::zip_of(&[("../../../escaped.txt", b"Only a name.\n")]).expect("zip"),
    )
    .expect("write");

    let started = Instant::now();
    let (code, printed, kib) = add_measured(&archive, &docs);
    let took = started.elapsed();
    eprintln!("add: {took:.1?}, peak RSS {} MiB", kib >> 10);
    assert_eq!(
        code, 4,
        "members failed, so `add` is incomplete:\n{printed}"
    );
    assert!(kib < 1 << 20, "peak RSS {} MiB", kib >> 10);
    assert!(took < Duration::from_secs(120), "add took {took:?}");
    let lines = read_report(&printed).lines;

    for part in [
        "!/memo.txt",
        "!/mail/plan.eml",
        "!/mail/plan.eml#attachment-1",
        "!/inner.zip!/b.txt",
    ] {
        let (outcome, line) = line_of(&lines, "leak.zip", Some(part));
        assert_eq!(outcome, "ingested", "{line}");
    }
    // An e-mail's attached zip: kept as the attachment, its members inside it.
    for part in ["attachment-1", "attachment-1!/minutes.txt"] {
        let (outcome, line) = line_of(&lines, "files.eml", Some(part));
        assert_eq!(outcome, "ingested", "{line}");
    }
    // An image is a document of its own, whose text only OCR would read (not asked here).
    let (outcome, line) = line_of(&lines, "leak.zip", Some("!/photo.png"));
    assert_eq!(outcome, "ingested", "{line}");
    assert!(
        line["ocr"]
            .as_str()
            .is_some_and(|o| o.starts_with("not asked")),
        "{line}"
    );

    let (outcome, line) = line_of(&lines, "bomb.zip", Some("!/zeros.txt"));
    assert_eq!(outcome, "failed");
    assert!(
        reason(line).contains(
            "expands to 10240 MiB, more than the 256 MiB a member may (--archive-member-mib)"
        ),
        "{line}"
    );
    let bombed: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| l["path"].as_str().is_some_and(|p| p.ends_with("/42.zip")))
        .collect();
    assert!(
        bombed.iter().all(|l| l["outcome"] == "failed"),
        "{bombed:#?}"
    );
    assert!(
        bombed
            .iter()
            .any(|l| reason(l).contains("more than 1024 MiB")
                || reason(l).contains("a member may (--archive-member-mib)")),
        "{bombed:#?}"
    );
    assert!(bombed.len() <= 100_001, "{}", bombed.len());
    let (outcome, line) = line_of(
        &lines,
        "deep.zip",
        Some("!/level-1.zip!/level-2.zip!/level-3.zip!/level-4.zip!/level-5.zip"),
    );
    assert_eq!(outcome, "failed");
    assert!(
        reason(line).contains("nested 6 deep, more than 5 (--archive-depth)"),
        "{line}"
    );
    let (outcome, line) = line_of(&lines, "traversal.zip", Some("!/../../../escaped.txt"));
    assert_eq!(outcome, "ingested", "{line}");
    assert!(!tmp.path().join("escaped.txt").exists());
    assert!(!Path::new("/escaped.txt").exists());

    // The catalog places each member's document inside its archive.
    let catalog = archive::Catalog::open(&archive.join("catalog.sqlite")).expect("catalog");
    let sources: Vec<String> = catalog
        .documents()
        .expect("documents")
        .into_iter()
        .map(|d| d.source)
        .collect();
    assert!(
        sources.iter().any(|s| s == "leak.zip!/inner.zip!/b.txt"),
        "{sources:?}"
    );
    drop(catalog);

    // Again, with the memo gone from the archive: reported gone, the rest unchanged.
    fs::write(docs.join("leak.zip"), leak(false)).expect("write");
    let (_, printed, _) = add_measured(&archive, &docs);
    let lines = read_report(&printed).lines;
    let gone = lines
        .iter()
        .find(|l| l["path"] == "leak.zip!/memo.txt")
        .unwrap_or_else(|| panic!("the memo is not reported gone: {lines:#?}"));
    assert_eq!(gone["outcome"], "gone", "{gone}");
    let (outcome, line) = line_of(&lines, "leak.zip", Some("!/inner.zip!/b.txt"));
    assert_eq!(outcome, "unchanged", "{line}");
    let (outcome, line) = line_of(&lines, "traversal.zip", None);
    assert_eq!(outcome, "unchanged", "{line}");
}

#[test]
fn issue_20_a_docx_with_a_1_gib_xml_part_is_cut_and_a_million_empty_rows_cost_nothing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = tmp.path().join("archive");
    run(&["init", p(&archive)], 0);
    let docs = tmp.path().join("office");
    fs::create_dir_all(&docs).expect("mkdir");

    // 1 GiB of paragraphs in word/document.xml, in about 1 MiB of zip.
    let paragraph = "<w:p><w:r><w:t>All work and no play makes Jack a dull boy.</w:t></w:r></w:p>";
    let unit = paragraph.repeat((1 << 20) / paragraph.len());
    let count = (1u64 << 30) / unit.len() as u64;
    let mut docx = std::io::BufWriter::new(fs::File::create(docs.join("huge.docx")).expect("docx"));
    testing::repeated_zip(
        &mut docx,
        "word/document.xml",
        unit.as_bytes(),
        count,
        unit.len() as u64 * count,
    )
    .expect("docx");
    std::io::Write::flush(&mut docx).expect("flush");
    drop(docx);
    let empty: String = (2..1_000_002)
        .map(|r| format!(r#"<row r="{r}"/>"#))
        .collect();
    let rows = format!(
        r#"<row r="1"><c r="A1" t="inlineStr"><is><t>Rope</t></is></c><c r="B1"><v>12</v></c></row>{empty}<row r="1000002"><c r="XFD1000002" t="inlineStr"><is><t>end</t></is></c></row>"#
    );
    fs::write(
        docs.join("rows.xlsx"),
        testing::xlsx_of(&rows).expect("xlsx"),
    )
    .expect("write");
    // A million rows of text, as ODF writes alike rows: once, with a count.
    let content = r#"<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0"><office:body><office:spreadsheet><table:table table:name="Tally"><table:table-row><table:table-cell><text:p>Item</text:p></table:table-cell></table:table-row><table:table-row table:number-rows-repeated="1000000"><table:table-cell><text:p>rope</text:p></table:table-cell></table:table-row></table:table></office:spreadsheet></office:body></office:document-content>"#;
    fs::write(
        docs.join("million.ods"),
        testing::zip_of(&[
            (
                "mimetype",
                b"application/vnd.oasis.opendocument.spreadsheet".as_slice(),
            ),
            ("content.xml", content.as_bytes()),
        ])
        .expect("ods"),
    )
    .expect("write");

    let started = Instant::now();
    let (code, printed, err, kib) = add_measured_all(&archive, &docs);
    let took = started.elapsed();
    eprintln!("add: {took:.1?}, peak RSS {} MiB", kib >> 10);
    assert_eq!(code, 0, "{printed}\n{err}");
    assert!(kib < 1 << 20, "peak RSS {} MiB", kib >> 10);
    assert!(took < Duration::from_secs(120), "add took {took:?}");
    let cut = |note: &str| {
        note.starts_with("cut: the text stops at 64 MiB")
            || note.starts_with("cut: word/document.xml stops at 256 MiB")
    };
    assert!(
        err.lines()
            .any(|l| l.starts_with("warning: ") && l.contains("huge.docx") && l.contains("cut: ")),
        "{err}"
    );
    // The report's line of the file says what was cut, and why.
    let lines = read_report(&printed).lines;
    let (outcome, line) = line_of(&lines, "huge.docx", None);
    assert_eq!(outcome, "ingested");
    let notes: Vec<&str> = line["notes"]
        .as_array()
        .unwrap_or_else(|| panic!("no notes on {line}"))
        .iter()
        .filter_map(|n| n.as_str())
        .collect();
    assert!(notes.iter().any(|n| cut(n)), "{line}");
    // A million empty rows cut nothing: every row is gone through (the last cell is read),
    // and the line says no cut.
    let (outcome, line) = line_of(&lines, "rows.xlsx", None);
    assert_eq!(outcome, "ingested");
    assert!(line.get("notes").is_none(), "{line}");
    // A million rows of text are cut, and the line says where and why.
    let (outcome, line) = line_of(&lines, "million.ods", None);
    assert_eq!(outcome, "ingested");
    assert_eq!(
        line["notes"],
        serde_json::json!([
            "cut: Sheet 1: Tally: a row repeated 1000000 times is written 1000 times"
        ]),
        "{line}"
    );
    let catalog = archive::Catalog::open(&archive.join("catalog.sqlite")).expect("catalog");
    let sheet = catalog
        .documents()
        .expect("documents")
        .into_iter()
        .find(|d| d.source == "rows.xlsx")
        .expect("the spreadsheet");
    assert_eq!(sheet.kind, archive::Kind::Spreadsheet);
    assert_eq!(sheet.title, "Harbour & docks");
    let sha = &sheet.text.sha256;
    let text = fs::read_to_string(archive.join("store").join(&sha[..2]).join(sha)).expect("text");
    assert!(text.ends_with("Rope\t12\nend\n"), "{text}");
}

#[test]
fn issue_20_the_archive_bounds_are_add_flags() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = tmp.path().join("archive");
    run(&["init", p(&archive)], 0);
    let docs = tmp.path().join("docs");
    fs::create_dir_all(&docs).expect("mkdir");
    fs::write(
        docs.join("deep.zip"),
        testing::deep_zip(3, b"At the bottom.\n").expect("zip"),
    )
    .expect("write");
    let big = vec![b'x'; 2 << 20];
    fs::write(
        docs.join("big.zip"),
        testing::zip_of(&[("big.txt", &big), ("small.txt", b"Small.\n")]).expect("zip"),
    )
    .expect("write");
    let out = run(
        &[
            "add",
            "--verbose",
            "--archive-depth",
            "2",
            "--archive-member-mib",
            "1",
            p(&archive),
            p(&docs),
        ],
        4,
    );
    let lines = read_report(&stdout(&out)).lines;
    let (outcome, line) = line_of(&lines, "deep.zip", Some("!/level-1.zip!/level-2.zip"));
    assert_eq!(outcome, "failed");
    assert!(
        reason(line).contains("nested 3 deep, more than 2 (--archive-depth)"),
        "{line}"
    );
    let (outcome, line) = line_of(&lines, "big.zip", Some("!/big.txt"));
    assert_eq!(outcome, "failed");
    assert!(
        reason(line).contains("expands to 2 MiB, more than the 1 MiB a member may"),
        "{line}"
    );
    let (outcome, _) = line_of(&lines, "big.zip", Some("!/small.txt"));
    assert_eq!(outcome, "ingested");
}

/// Outlook files given to `add` (issue 20): the three real `.msg` files of PyPI's msg-parser
/// 1.2.0, each an e-mail whose original is the `.msg` itself, its attachments documents of their
/// own; and the Enron PST of npm's pst-extractor 1.12.0, every one of its 71 messages an e-mail
/// placed at `enron.pst!/FOLDERS/N.eml`, threads and all.
#[test]
fn issue_20_outlook_messages_and_mailboxes_are_emails_with_their_attachments() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = tmp.path().join("archive");
    run(&["init", p(&archive)], 0);
    let docs = tmp.path().join("outlook");
    fs::create_dir_all(&docs).expect("mkdir");
    let samples = corpus("outlook");
    for name in [
        "msg/complete.msg",
        "msg/other.msg",
        "msg/outer.msg",
        "pst/enron.pst",
    ] {
        let from = samples.join(name);
        let to = docs.join(from.file_name().expect("name"));
        fs::copy(&from, &to).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
    }
    let (code, printed, kib) = add_measured(&archive, &docs);
    eprintln!("add: peak RSS {} MiB", kib >> 10);
    assert_eq!(code, 0, "{printed}");
    let lines = read_report(&printed).lines;
    let (outcome, _) = line_of(&lines, "complete.msg", None);
    assert_eq!(outcome, "ingested", "{lines:#?}");
    let in_pst: Vec<&serde_json::Value> = lines
        .iter()
        .filter(|l| {
            l["path"]
                .as_str()
                .is_some_and(|p| p.ends_with("/enron.pst"))
        })
        .collect();
    let messages = in_pst
        .iter()
        .filter(|l| {
            l["part"]
                .as_str()
                .is_some_and(|p| p.starts_with("!/") && p.ends_with(".eml"))
        })
        .count();
    assert_eq!(messages, 71, "{in_pst:#?}");
    assert!(
        in_pst.iter().all(|l| l["outcome"] == "ingested"),
        "{in_pst:#?}"
    );

    // The catalog: the .msg's original is the .msg, its ten attachments are its children.
    let catalog = archive::Catalog::open(&archive.join("catalog.sqlite")).expect("catalog");
    let documents = catalog.documents().expect("documents");
    let complete = documents
        .iter()
        .find(|d| d.source.ends_with("complete.msg"))
        .expect("complete.msg's document");
    assert_eq!(complete.title, "Test Multiple attachments complete email!!");
    assert_eq!(complete.original.len, 15_833_088, "{}", complete.source);
    let children = documents
        .iter()
        .filter(|d| d.source.contains("complete.msg#attachment"))
        .count();
    assert_eq!(children, 10);
    let sent = documents
        .iter()
        .find(|d| d.source.contains("enron.pst!/") && d.source.contains("/Sent Items/"))
        .expect("a sent message of the mailbox");
    assert_eq!(sent.kind, archive::Kind::Email, "{}", sent.source);
}

/// `program` in the `PATH`, or the test fails naming the Debian package that has it.
fn tool(program: &str, package: &str) -> std::path::PathBuf {
    std::env::var_os("PATH")
        .and_then(|paths| {
            std::env::split_paths(&paths)
                .map(|dir| dir.join(program))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| {
            panic!("this test needs {program} (Debian package {package}; ./test.sh installs it)")
        })
}

/// Runs LibreOffice headless in `dir` (its own profile there), converting `file` to `to`,
/// within two minutes; the file it wrote.
fn soffice(dir: &Path, file: &Path, to: &str, ext: &str) -> std::path::PathBuf {
    let program = tool("soffice", "libreoffice-impress-nogui");
    let mut child = std::process::Command::new(program)
        .args(["--headless", "--norestore"])
        .arg(format!(
            "-env:UserInstallation=file://{}",
            dir.join("profile").display()
        ))
        .args(["--convert-to", to, "--outdir"])
        .arg(dir)
        .arg(file)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start soffice");
    let deadline = Instant::now() + Duration::from_secs(120);
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for soffice") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "soffice --convert-to {to} {}: no answer in 2 minutes",
                file.display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let out = dir.join(file.with_extension(ext).file_name().expect("a file name"));
    assert!(
        status.success() && out.exists(),
        "soffice --convert-to {to} {}: {status}, no {}",
        file.display(),
        out.display()
    );
    out
}

/// The words (three letters or more, lowercased) of `text`.
fn words(text: &str) -> std::collections::BTreeSet<String> {
    text.split(|c: char| !c.is_alphanumeric() && c != '_')
        .filter(|w| w.chars().count() > 2)
        .map(str::to_lowercase)
        .collect()
}

/// Issue 20, legacy PPT: slides of real prose (linux-doc), written as a presentation and
/// turned into PPTX and then PPT by LibreOffice; `add` reads the PPT slide by slide, and its
/// text has at least 98% of the words of LibreOffice's own reading of the PPT (exported to
/// PDF, then pdftotext: the oracle). catppt, tried first, finds none of them.
#[test]
fn issue_20_a_legacy_ppt_made_by_libreoffice_is_read_slide_by_slide() {
    let pdftotext = tool("pdftotext", "poppler-utils");
    let tmp = tempfile::tempdir().expect("tempdir");
    let work = tmp.path().join("work");
    fs::create_dir_all(&work).expect("mkdir");
    let rst = corpus("linux-doc")
        .join("x/usr/share/doc/linux-doc-6.1/Documentation/admin-guide/bug-hunting.rst.gz");
    let gz = fs::File::open(&rst).unwrap_or_else(|e| panic!("{}: {e}", rst.display()));
    let mut prose = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(gz), &mut prose)
        .unwrap_or_else(|e| panic!("{}: {e}", rst.display()));
    // Paragraphs of the prose, without reStructuredText's heading adornments (a heading is
    // then a paragraph of its own): the first one is its heading, "Bug hunting", the title
    // slide's first line.
    let adornment =
        |l: &str| !l.trim().is_empty() && l.trim().chars().all(|c| "=-*~^#+".contains(c));
    let prose: String = prose
        .lines()
        .flat_map(|l| [if adornment(l) { "" } else { l }, "\n"])
        .collect();
    let paragraphs: Vec<String> = prose
        .split("\n\n")
        .map(|p| p.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|p| !p.is_empty())
        .take(24)
        .collect();
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
    };
    let mut fodp = String::from(
        r#"<?xml version="1.0" encoding="UTF-8"?><office:document xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:draw="urn:oasis:names:tc:opendocument:xmlns:drawing:1.0" xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" xmlns:svg="urn:oasis:names:tc:opendocument:xmlns:svg-compatible:1.0" office:version="1.3" office:mimetype="application/vnd.oasis.opendocument.presentation"><office:body><office:presentation>"#,
    );
    for (n, slide) in paragraphs.chunks(3).enumerate() {
        fodp.push_str(&format!(r#"<draw:page draw:name="s{n}"><draw:frame svg:x="1cm" svg:y="1cm" svg:width="26cm" svg:height="17cm"><draw:text-box>"#));
        for p in slide {
            fodp.push_str(&format!("<text:p>{}</text:p>", escape(p)));
        }
        fodp.push_str("</draw:text-box></draw:frame></draw:page>");
    }
    fodp.push_str("</office:presentation></office:body></office:document>");
    let source = work.join("bug-hunting.fodp");
    fs::write(&source, fodp).expect("write");
    let pptx = soffice(&work, &source, "pptx", "pptx");
    let ppt = soffice(&work, &pptx, "ppt", "ppt");
    let pdf = soffice(&work, &ppt, "pdf", "pdf");
    let oracle = std::process::Command::new(pdftotext)
        .args(["-enc", "UTF-8"])
        .arg(&pdf)
        .arg("-")
        .output()
        .expect("run pdftotext");
    assert!(oracle.status.success(), "pdftotext: {}", stderr(&oracle));
    let oracle = words(&stdout(&oracle));
    assert!(oracle.len() > 300, "{} words in the oracle", oracle.len());

    let docs = tmp.path().join("docs");
    fs::create_dir_all(&docs).expect("mkdir");
    fs::copy(&ppt, docs.join("bug-hunting.ppt")).expect("copy");
    let archive = tmp.path().join("archive");
    run(&["init", p(&archive)], 0);
    let out = run(&["add", "--verbose", p(&archive), p(&docs)], 0);
    let lines = read_report(&stdout(&out)).lines;
    let (outcome, line) = line_of(&lines, "bug-hunting.ppt", None);
    assert_eq!(outcome, "ingested", "{line}");
    assert!(line.get("notes").is_none(), "{line}");
    let catalog = archive::Catalog::open(&archive.join("catalog.sqlite")).expect("catalog");
    let doc = catalog
        .documents()
        .expect("documents")
        .into_iter()
        .find(|d| d.source == "bug-hunting.ppt")
        .expect("the presentation");
    assert_eq!(doc.kind, archive::Kind::Presentation);
    assert_eq!(doc.title, "Bug hunting");
    let sha = &doc.text.sha256;
    let text = fs::read_to_string(archive.join("store").join(&sha[..2]).join(sha))
        .expect("the document's text");
    let slides = paragraphs.len().div_ceil(3);
    assert!(
        text.contains(&format!("## Slide {slides}\n"))
            && !text.contains(&format!("## Slide {}\n", slides + 1)),
        "{slides} slides expected in:\n{text}"
    );
    let found = words(&text);
    let shared = oracle.intersection(&found).count();
    let share = shared as f64 / oracle.len() as f64;
    eprintln!(
        "PPT: {shared} of the oracle's {} words found ({:.1}%)",
        oracle.len(),
        100.0 * share
    );
    assert!(
        share >= 0.98,
        "{:.1}% of the oracle's words; missing: {:?}",
        100.0 * share,
        oracle.difference(&found).take(40).collect::<Vec<_>>()
    );
}
