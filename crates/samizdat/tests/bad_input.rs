//! Bad input: each a per-file error naming the file and why; everything else is ingested.

use crate::util::*;
use std::fs;

fn is_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .map(|s| {
            s.lines()
                .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

#[test]
fn bad_files_are_reported_one_by_one_and_the_rest_is_ingested() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = tmp.path().join("archive");
    run(&["init", p(&archive)], 0);
    let docs = tmp.path().join("docs");
    fs::create_dir(&docs).expect("mkdir");
    let pdf = fs::read(sample_documents().join("notes/harbour-report.pdf")).expect("pdf");
    fs::write(docs.join("truncated.pdf"), &pdf[..pdf.len() / 2]).expect("write");
    fs::write(docs.join("empty.eml"), b"").expect("write");
    // Not bad input since issue 20: Latin-1 text is detected and decoded.
    fs::write(docs.join("latin1.txt"), b"caf\xe9 au lait\n").expect("write");
    fs::write(
        docs.join("rows.jsonl"),
        concat!(
            r#"{"id":"good-1","title":"Good","date":"2010-01-02","body":"fine"}"#,
            "\n",
            r#"{"id":"bad-date","title":"Bad","date":"2010-13-45","body":"x"}"#,
            "\n",
            r#"{"id":"escape","title":"Escape","path":"../../../etc/passwd"}"#,
            "\n",
            r#"{"id":"good-2","title":"Good too","body":"fine"}"#,
            "\n",
        ),
    )
    .expect("write");
    std::os::unix::fs::symlink("/nonexistent/target", docs.join("dangling.txt")).expect("symlink");
    std::os::unix::fs::symlink("/etc/hostname", docs.join("outside.txt")).expect("symlink");
    fs::write(docs.join("fine.txt"), "A perfectly good note.\n").expect("write");
    // Unreadable: mode 000. The test runs as root in CI, where that alone stops nobody, so `add`
    // then runs without the capabilities that bypass file permissions (setpriv, util-linux).
    let locked = docs.join("locked.txt");
    fs::write(&locked, "secret\n").expect("write");
    fs::set_permissions(&locked, std::os::unix::fs::PermissionsExt::from_mode(0o000))
        .expect("chmod");
    let status = std::process::Command::new("mkfifo")
        .arg(docs.join("pipe.txt"))
        .status()
        .expect("mkfifo");
    assert!(status.success());

    let mut add = samizdat();
    if is_root() {
        add = std::process::Command::new("setpriv");
        add.args(["--bounding-set=-dac_override,-dac_read_search", "--"])
            .arg(env!("CARGO_BIN_EXE_samizdat"));
    }
    let out = add
        .args(["add", p(&archive), p(&docs)])
        .output()
        .expect("run add");
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let err = stderr(&out);
    let expect = [
        ("truncated.pdf", "pdf"),
        ("empty.eml", "empty"),
        ("rows.jsonl (line 2)", "date"),
        ("rows.jsonl (line 3)", "outside"),
        ("dangling.txt", "broken symbolic link"),
        ("outside.txt", "outside"),
        ("locked.txt", "permission denied"),
        ("pipe.txt", "not a regular file"),
    ];
    for (file, why) in expect {
        let line = err
            .lines()
            .find(|l| l.contains(file))
            .unwrap_or_else(|| panic!("no failure line for {file} in:\n{err}"));
        assert!(
            line.to_lowercase().contains(&why.to_lowercase()),
            "failure for {file} does not say {why:?}: {line}"
        );
    }
    assert_says(&stdout(&out), "4 documents ingested");
    assert_says(&stdout(&out), "8 failed");
    // The archive is intact and releases what it has.
    run(&["release", p(&archive)], 0);
    verify_archive(&archive, &["good-1", "good-2", "fine-txt", "latin1-txt"], 0);
}

/// Every file under `dir`, read whole.
fn files_under(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in fs::read_dir(&d).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                out.push((path.clone(), fs::read(&path).expect("read")));
            }
        }
    }
    out
}

/// Issue 15, item 16: the archive inside the folder being added; a row, a symbolic link, a hard
/// link and the walk itself lead into it. Nothing of it is published, each is named as failed.
#[test]
fn the_archives_own_folder_is_never_ingested_by_row_symlink_hard_link_or_nesting() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let docs = tmp.path().join("docs");
    let archive = docs.join("archive");
    fs::create_dir(&docs).expect("mkdir");
    run(&["init", p(&archive)], 0);
    fs::create_dir(docs.join("rows")).expect("mkdir");
    fs::write(docs.join(".hidden.txt"), "a hidden note\n").expect("write");
    fs::write(
        docs.join("rows/rows.jsonl"),
        concat!(
            r#"{"id":"key","title":"Key","path":"../archive/keys/root-1.der"}"#,
            "\n",
            r#"{"id":"hidden","title":"Hidden","path":"../.hidden.txt"}"#,
            "\n",
            r#"{"id":"fine","title":"Fine","body":"a fine row"}"#,
            "\n",
        ),
    )
    .expect("write");
    std::os::unix::fs::symlink("archive/samizdat.toml", docs.join("config.txt")).expect("symlink");
    fs::hard_link(
        archive.join("keys/snapshot.der"),
        docs.join("snapshot-copy.txt"),
    )
    .expect("hard link");
    fs::write(docs.join("note.txt"), "A note.\n").expect("write");
    let inside = archive.join("keys/targets.der");

    let out = samizdat()
        .args(["add", p(&archive), p(&docs), p(&inside)])
        .output()
        .expect("run add");
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let err = stderr(&out);
    for (what, why) in [
        ("rows.jsonl (line 1)", "archive's own folder"),
        ("rows.jsonl (line 2)", "hidden"),
        ("config.txt", "archive's own folder"),
        ("snapshot-copy.txt", "hard link"),
        ("targets.der", "archive's own folder"),
        ("/archive", "archive's own folder"),
    ] {
        let line = err
            .lines()
            .find(|l| l.contains(what) && l.contains(why))
            .unwrap_or_else(|| panic!("no failure naming {what} with {why:?} in:\n{err}"));
        assert!(line.starts_with("failed: "), "{line}");
    }
    assert_says(&stdout(&out), "2 documents ingested");
    run(&["release", p(&archive)], 0);
    let secrets: Vec<Vec<u8>> = files_under(&archive.join("keys"))
        .into_iter()
        .map(|(_, bytes)| bytes)
        .chain([fs::read(archive.join("samizdat.toml")).expect("config")])
        .collect();
    for (path, bytes) in files_under(&archive.join("release")) {
        for secret in &secrets {
            assert!(
                !bytes.windows(secret.len()).any(|w| w == secret.as_slice()),
                "{} holds a secret of the archive",
                path.display()
            );
        }
    }
    verify_archive(&archive, &["fine", "note-txt"], 0);
}

fn email(message_id: &str, subject: &str) -> String {
    format!(
        "From: a@example.org\nTo: b@example.org\nSubject: {subject}\nMessage-ID: <{message_id}>\nDate: Mon, 1 Feb 2010 10:00:00 +0000\n\n{subject}, the body.\n"
    )
}

/// Issue 15, item 17: distinct inputs keep distinct documents; none replaces another silently.
#[test]
fn no_document_silently_replaces_another_with_its_message_id_id_or_name() {
    use std::os::unix::ffi::OsStrExt;
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = tmp.path().join("archive");
    run(&["init", p(&archive)], 0);
    let docs = tmp.path().join("docs");
    fs::create_dir(&docs).expect("mkdir");
    // Two files, two different messages, one Message-ID.
    fs::write(docs.join("first.eml"), email("same@x", "First file")).expect("write");
    fs::write(docs.join("second.eml"), email("same@x", "Second file")).expect("write");
    // One mbox, two different messages, one Message-ID.
    fs::write(
        docs.join("box.mbox"),
        format!(
            "From a@example.org Mon Feb  1 10:00:00 2010\n{}\nFrom a@example.org Mon Feb  1 11:00:00 2010\n{}",
            email("boxed@x", "Boxed one"),
            email("boxed@x", "Boxed two")
        ),
    )
    .expect("write");
    // Two rows, one id.
    fs::write(
        docs.join("rows.jsonl"),
        concat!(
            r#"{"id":"twice","title":"Row one","body":"one"}"#,
            "\n",
            r#"{"id":"twice","title":"Row two","body":"two"}"#,
            "\n"
        ),
    )
    .expect("write");
    // Two names that differ only in invalid UTF-8 bytes.
    for (byte, text) in [(0xffu8, "Bytes ff.\n"), (0xfe, "Bytes fe.\n")] {
        let bytes = [b'n', byte, b'.', b't', b'x', b't'];
        fs::write(docs.join(std::ffi::OsStr::from_bytes(&bytes)), text).expect("write");
    }

    let out = run(&["add", p(&archive), p(&docs)], 4);
    let err = stderr(&out);
    let line = err
        .lines()
        .find(|l| l.contains("rows.jsonl#line 2"))
        .unwrap_or_else(|| panic!("no failure for the second row in:\n{err}"));
    assert!(
        line.starts_with("failed: ") && line.contains("twice") && line.contains("line 1"),
        "{line}"
    );
    let renamed: Vec<&str> = err.lines().filter(|l| l.starts_with("renamed: ")).collect();
    assert_eq!(renamed.len(), 2, "{err}");
    assert!(
        renamed
            .iter()
            .any(|l| l.contains("second.eml") && l.contains("first.eml")),
        "{err}"
    );
    assert!(
        renamed
            .iter()
            .any(|l| l.contains("box.mbox#message 2") && l.contains("box.mbox#message 1")),
        "{err}"
    );
    let catalog = archive::Catalog::open(&archive.join("catalog.sqlite")).expect("catalog");
    let titles: Vec<String> = catalog
        .documents()
        .expect("documents")
        .into_iter()
        .map(|d| d.title)
        .collect();
    for title in [
        "First file",
        "Second file",
        "Boxed one",
        "Boxed two",
        "Row one",
        // A one-sentence text is titled by its sentence, without the final period.
        "Bytes ff",
        "Bytes fe",
    ] {
        assert!(
            titles.iter().any(|t| t == title),
            "{title} lost: {titles:?}"
        );
    }
    assert_eq!(titles.len(), 7, "{titles:?}");
    // Adding again changes nothing: every id stays with its document.
    let out = run(&["add", p(&archive), p(&docs)], 4);
    assert_says(&stdout(&out), "0 documents ingested, 0 updated");
}

/// Issue 15, item 20: a file name with a newline or an escape sequence cannot forge a line of
/// the report or reach the terminal raw; a title's bidirectional override is neutralised on pages.
#[test]
fn file_names_are_printed_quoted_and_titles_cannot_reorder_pages() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = tmp.path().join("archive");
    run(&["init", p(&archive)], 0);
    let docs = tmp.path().join("docs");
    fs::create_dir(&docs).expect("mkdir");
    // Both fail (an empty e-mail), so both are printed.
    fs::write(docs.join("x\nfailed: forged.eml"), b"").expect("write");
    fs::write(docs.join("\x1b]0;pwned\x07\x1b[2J.eml"), b"").expect("write");
    fs::write(
        docs.join("rlo.txt"),
        "invoice\u{202E}gnp.exe\n\nThe body.\n",
    )
    .expect("write");
    let out = run(&["add", p(&archive), p(&docs)], 4);
    let err = stderr(&out);
    assert!(!err.contains('\x1b') && !err.contains('\x07'), "{err:?}");
    assert!(
        !err.lines().any(|l| l.starts_with("failed: forged")),
        "a file name forged a line:\n{err}"
    );
    assert!(err.contains(r#"x\nfailed: forged.eml""#), "{err}");
    assert!(
        err.contains(r#"\u{1b}]0;pwned\u{7}\u{1b}[2J.eml""#),
        "{err}"
    );
    assert_eq!(
        err.lines().filter(|l| l.starts_with("failed: ")).count(),
        2,
        "{err}"
    );

    run(&["release", p(&archive)], 0);
    let pages: Vec<_> = files_under(&archive.join("release/targets"))
        .into_iter()
        .filter(|(path, _)| path.extension().is_some_and(|e| e == "html"))
        .collect();
    assert!(
        pages
            .iter()
            .any(|(_, bytes)| String::from_utf8_lossy(bytes).contains("invoicegnp.exe")),
        "no page shows the title"
    );
    for (path, bytes) in pages {
        assert!(
            !String::from_utf8_lossy(&bytes).contains('\u{202E}'),
            "{} carries a bidirectional override",
            path.display()
        );
    }
}

/// Issue 15, item 19: a title from a row or a `Subject:` is capped (1,000 characters, cut with
/// an ellipsis), however long the field.
#[test]
fn titles_from_rows_and_subjects_are_capped() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = tmp.path().join("archive");
    run(&["init", p(&archive)], 0);
    let docs = tmp.path().join("docs");
    fs::create_dir(&docs).expect("mkdir");
    let long = "é".repeat(1 << 19);
    fs::write(
        docs.join("rows.jsonl"),
        format!("{{\"id\":\"long\",\"title\":\"{long}\",\"origin\":\"{long}\",\"body\":\"b\"}}\n"),
    )
    .expect("write");
    fs::write(docs.join("long.eml"), email("long@x", &long)).expect("write");
    run(&["add", p(&archive), p(&docs)], 0);
    let catalog = archive::Catalog::open(&archive.join("catalog.sqlite")).expect("catalog");
    let docs = catalog.documents().expect("documents");
    assert_eq!(docs.len(), 2);
    for doc in docs {
        assert_eq!(doc.title.chars().count(), 1000, "{}", doc.id);
        assert!(doc.title.ends_with("é…"), "{}", doc.id);
        let subject = doc.email.and_then(|e| e.subject);
        for field in [doc.origin, subject].into_iter().flatten() {
            assert!(field.chars().count() <= 1000, "{}", doc.id);
        }
    }
}

/// A JSON Lines row without a file is published as its own line, byte for byte (stored from the
/// file rather than from a copy of the line).
#[test]
fn a_row_without_a_file_is_published_as_its_line() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = tmp.path().join("archive");
    run(&["init", p(&archive)], 0);
    let docs = tmp.path().join("docs");
    fs::create_dir(&docs).expect("mkdir");
    let lines = [
        r#"{"id":"one","title":"One","body":"first"}"#,
        r#"  {"id":"two","title":"Two","body":"second"}  "#,
    ];
    fs::write(
        docs.join("rows.jsonl"),
        format!("\n{}\r\n\n{}", lines[0], lines[1]),
    )
    .expect("write");
    run(&["add", p(&archive), p(&docs)], 0);
    let catalog = archive::Catalog::open(&archive.join("catalog.sqlite")).expect("catalog");
    let store = archive::Store::open(&archive.join("store")).expect("store");
    for (id, line) in [("one", lines[0]), ("two", lines[1])] {
        let doc = catalog
            .document(&archive::DocId::new(id).expect("id"))
            .expect("catalog")
            .expect("document");
        assert_eq!(store.read(&doc.original).expect("read"), line.as_bytes());
    }
}

/// Peak resident memory of a command that must succeed, from `/usr/bin/time -v`, in KiB.
fn peak_rss_kib(args: &[&str]) -> u64 {
    peak_rss_kib_exit(args, 0).1
}

/// Peak resident memory of a command (and the children it waited for), from
/// `/usr/bin/time -v`, in KiB, and its standard error (with GNU time's lines); its exit code
/// must be `code`.
fn peak_rss_kib_exit(args: &[&str], code: i32) -> (String, u64) {
    let time = std::path::Path::new("/usr/bin/time");
    assert!(time.exists(), "this test needs GNU time at /usr/bin/time");
    let out = std::process::Command::new(time)
        .arg("-v")
        .arg(env!("CARGO_BIN_EXE_samizdat"))
        .args(args)
        .output()
        .expect("run /usr/bin/time");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(code), "{}\n{err}", stdout(&out));
    let kib = err
        .lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no maximum resident set size in:\n{err}"));
    (err, kib)
}

/// Issue 15, item 19: rows that name one large file cost that file once, not once per row (40
/// rows naming one 20 MiB file held 800 MiB until the whole file was stored).
#[test]
fn rows_naming_one_large_file_keep_memory_bounded() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = tmp.path().join("archive");
    run(&["init", p(&archive)], 0);
    let docs = tmp.path().join("docs");
    fs::create_dir(&docs).expect("mkdir");
    let big: Vec<u8> = (0..20u32 << 20).map(|i| (i % 251) as u8).collect();
    fs::write(docs.join("big.bin"), &big).expect("write");
    let rows: String = (0..40)
        .map(|n| format!("{{\"id\":\"row-{n}\",\"title\":\"Row {n}\",\"path\":\"big.bin\"}}\n"))
        .collect();
    fs::write(docs.join("rows.jsonl"), rows).expect("write");
    let kib = peak_rss_kib(&["add", p(&archive), p(&docs.join("rows.jsonl"))]);
    assert!(kib < 300 << 10, "peak RSS {} MiB", kib >> 10);
    let catalog = archive::Catalog::open(&archive.join("catalog.sqlite")).expect("catalog");
    let docs = catalog.documents().expect("documents");
    assert_eq!(docs.len(), 40);
    assert!(docs.iter().all(|d| d.original.len == 20 << 20));
}

/// A message with a base64 attachment of `lines` lines of 76 characters (57 bytes each).
fn big_email(lines: usize) -> Vec<u8> {
    let mut mail = b"From: a@example.org\nTo: b@example.org\nSubject: A big attachment\nMessage-ID: <big@example.org>\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"B\"\n\n--B\nContent-Type: text/plain\n\nThe body.\n--B\nContent-Type: application/octet-stream\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename=\"big.bin\"\n\n".to_vec();
    let line = format!("{}\n", "QUJD".repeat(19));
    mail.reserve(lines * line.len() + 8);
    for _ in 0..lines {
        mail.extend_from_slice(line.as_bytes());
    }
    mail.extend_from_slice(b"--B--\n");
    mail
}

/// Issue 15, item 19: a 300 MB e-mail (one large attachment) is added within memory far below
/// its size (it took 3.5 times its size): kept whole as its original, stored from the file, its
/// headers read, and `add` says its body and attachments were not.
#[test]
fn a_large_email_is_kept_whole_within_bounded_memory() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = tmp.path().join("archive");
    run(&["init", p(&archive)], 0);
    let docs = tmp.path().join("docs");
    fs::create_dir(&docs).expect("mkdir");
    let mail = big_email(4_000_000);
    let sha256 = sha256_hex(&mail);
    let len = mail.len() as u64;
    fs::write(docs.join("big.eml"), &mail).expect("write");
    drop(mail);
    let (said, kib) = peak_rss_kib_exit(&["add", p(&archive), p(&docs)], 0);
    assert!(kib < 200 << 10, "peak RSS {} MiB", kib >> 10);
    assert!(
        said.contains("its headers read, its body and attachments not read"),
        "{said}"
    );
    let catalog = archive::Catalog::open(&archive.join("catalog.sqlite")).expect("catalog");
    let docs = catalog.documents().expect("documents");
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0].title, "A big attachment");
    assert_eq!(
        (docs[0].original.len, &docs[0].original.sha256),
        (len, &sha256)
    );
    let store = archive::Store::open(&archive.join("store")).expect("store");
    assert!(store.contains(&docs[0].original));
}

/// Issue 15, item 19: a 300 MB mbox is split as a stream, a message in memory at a time (it
/// took 4 times its size): 230 messages of 1 MB read whole, and one of 70 MB, over the cap on
/// a parsed message, kept whole (its bytes as they stand in the mbox) with its headers read.
#[test]
fn a_large_mbox_is_read_a_message_at_a_time() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = tmp.path().join("archive");
    run(&["init", p(&archive)], 0);
    let docs = tmp.path().join("docs");
    fs::create_dir(&docs).expect("mkdir");
    let body = "the text of a message in a large mailbox, line after line\n".repeat(1 << 14);
    let mut mbox = Vec::with_capacity(310 << 20);
    let (mut big, mut small_len) = ((0, 0), 0);
    for n in 0..231 {
        mbox.extend_from_slice(b"From a@example.org Mon Mar  1 10:00:00 2010\n");
        let start = mbox.len();
        let headers = format!(
            "From: a@example.org\nSubject: message {n}\nMessage-ID: <m{n}@example.org>\n\n"
        );
        mbox.extend_from_slice(headers.as_bytes());
        for _ in 0..if n == 100 { 72 } else { 1 } {
            mbox.extend_from_slice(body.as_bytes());
        }
        mbox.push(b'\n');
        match n {
            100 => big = (start, mbox.len()),
            7 => small_len = mbox.len() - start,
            _ => {}
        }
    }
    let big_sha256 = sha256_hex(&mbox[big.0..big.1]);
    fs::write(docs.join("box.mbox"), &mbox).expect("write");
    drop(mbox);
    let (said, kib) = peak_rss_kib_exit(&["add", p(&archive), p(&docs)], 0);
    assert!(kib < 200 << 10, "peak RSS {} MiB", kib >> 10);
    let note = format!("a message of {} MiB", (big.1 - big.0) >> 20);
    assert!(said.contains(&note), "{note} in {said}");
    let catalog = archive::Catalog::open(&archive.join("catalog.sqlite")).expect("catalog");
    let docs = catalog.documents().expect("documents");
    assert_eq!(docs.len(), 231);
    let big = docs
        .iter()
        .find(|d| d.title == "message 100")
        .expect("the large message");
    assert_eq!(big.original.sha256, big_sha256);
    let small = docs
        .iter()
        .find(|d| d.title == "message 7")
        .expect("message 7");
    assert_eq!(small.original.len, small_len as u64);
}

/// Issue 15, item 19: `add` never reads a PDF into its own memory (a 300 MB PDF cost 300 MB
/// before its child process was even started): the child is given its path. Here the child's
/// own limit stops it, so that only `add`'s memory is measured.
#[test]
fn a_large_pdf_is_never_read_into_adds_memory() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = tmp.path().join("archive");
    run(&["init", p(&archive)], 0);
    let docs = tmp.path().join("docs");
    fs::create_dir(&docs).expect("mkdir");
    let mut pdf = b"%PDF-1.4\n1 0 obj\n<< /Length 314572800 >>\nstream\n".to_vec();
    pdf.resize(pdf.len() + (300 << 20), b'x');
    pdf.extend_from_slice(b"\nendstream\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n");
    fs::write(docs.join("big.pdf"), &pdf).expect("write");
    drop(pdf);
    let args = ["add", "--pdf-memory-mib", "128", p(&archive), p(&docs)];
    let (said, kib) = peak_rss_kib_exit(&args, 4);
    assert!(kib < 150 << 10, "peak RSS {} MiB", kib >> 10);
    assert!(said.contains("out of memory (limit 128 MiB)"), "{said}");
}

/// Issue 15, item 19: a text file of one 390 MB line costs 64 MiB of text, not its size: its
/// text is its first 64 MiB, cut before the character the cut splits (UTF-8 still, not taken
/// for another encoding), `add` says so, and its original is stored whole from the file.
#[test]
fn a_text_of_one_huge_line_is_read_in_part_and_kept_whole() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = tmp.path().join("archive");
    run(&["init", p(&archive)], 0);
    let docs = tmp.path().join("docs");
    fs::create_dir(&docs).expect("mkdir");
    let line = "é ".repeat(130 << 20).into_bytes();
    let (len, sha256) = (line.len() as u64, sha256_hex(&line));
    fs::write(docs.join("line.txt"), &line).expect("write");
    drop(line);
    let (said, kib) = peak_rss_kib_exit(&["add", p(&archive), p(&docs)], 0);
    assert!(kib < 250 << 10, "peak RSS {} MiB", kib >> 10);
    assert!(said.contains("its text is its first 63 MiB only"), "{said}");
    let catalog = archive::Catalog::open(&archive.join("catalog.sqlite")).expect("catalog");
    let docs = catalog.documents().expect("documents");
    assert_eq!(docs.len(), 1);
    assert_eq!(
        (docs[0].original.len, &docs[0].original.sha256),
        (len, &sha256)
    );
    assert!(docs[0].text.len <= 64 << 20, "{}", docs[0].text.len);
    let store = archive::Store::open(&archive.join("store")).expect("store");
    let text = String::from_utf8(store.read(&docs[0].text).expect("text")).expect("UTF-8");
    assert_eq!(text.len(), (64 << 20) - 1);
    assert!(text.starts_with("é é é"));
}

/// Issue 15, item 19: a 300 MB JSON Lines file is read a row at a time (it was read whole
/// first), and a row longer than 64 MiB is that line's failure, skipped without being held.
#[test]
fn a_large_json_lines_file_is_read_a_row_at_a_time() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = tmp.path().join("archive");
    run(&["init", p(&archive)], 0);
    let docs = tmp.path().join("docs");
    fs::create_dir(&docs).expect("mkdir");
    use std::io::Write;
    let body = "a cable's text, word after word, ".repeat(3000);
    let file = fs::File::create(docs.join("rows.jsonl")).expect("create");
    let mut rows = std::io::BufWriter::new(file);
    for n in 1..=3000 {
        let row = match n {
            1500 => format!(
                "{{\"id\":\"long\",\"body\":\"{}\"}}\n",
                "x".repeat(65 << 20)
            ),
            _ => format!("{{\"id\":\"row-{n}\",\"title\":\"Row {n}\",\"body\":\"{body}\"}}\n"),
        };
        rows.write_all(row.as_bytes()).expect("write");
    }
    rows.flush().expect("flush");
    drop(rows);
    let (said, kib) = peak_rss_kib_exit(&["add", p(&archive), p(&docs)], 4);
    assert!(kib < 200 << 10, "peak RSS {} MiB", kib >> 10);
    assert!(
        said.contains("(line 1500)\": longer than 64 MiB: not read"),
        "{said}"
    );
    let catalog = archive::Catalog::open(&archive.join("catalog.sqlite")).expect("catalog");
    let docs = catalog.documents().expect("documents");
    assert_eq!(docs.len(), 2999);
    let last = docs
        .iter()
        .find(|d| d.title == "Row 3000")
        .expect("row 3000");
    assert_eq!(last.text.len, body.len() as u64);
}

/// Issue 15, item 19: a 300 MiB `.gz` text, whose content is more than the 256 MiB a gzipped
/// file may expand to, is refused as before but from the stream, without its bytes held (it took
/// its size and the 256 MiB expanded).
#[test]
fn a_large_gzip_is_refused_from_the_stream() {
    use std::io::Write;
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = tmp.path().join("archive");
    run(&["init", p(&archive)], 0);
    let docs = tmp.path().join("docs");
    fs::create_dir(&docs).expect("mkdir");
    let file = fs::File::create(docs.join("big.txt.gz")).expect("create");
    let mut gz = flate2::write::GzEncoder::new(file, flate2::Compression::none());
    let line = "some words of a large compressed text\n".repeat(1 << 14);
    for _ in 0..(300 << 20) / line.len() {
        gz.write_all(line.as_bytes()).expect("write");
    }
    gz.finish().expect("finish");
    let (said, kib) = peak_rss_kib_exit(&["add", p(&archive), p(&docs)], 4);
    assert!(kib < 150 << 10, "peak RSS {} MiB", kib >> 10);
    assert!(
        said.contains("gzip bomb: decompresses to more than 256 MiB"),
        "{said}"
    );
}
