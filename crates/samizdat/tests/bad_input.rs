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
        ("latin1.txt", "UTF-8"),
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
    assert_says(&stdout(&out), "3 documents ingested");
    assert_says(&stdout(&out), "9 failed");
    // The archive is intact and releases what it has.
    run(&["release", p(&archive)], 0);
    verify_archive(&archive, &["good-1", "good-2", "fine-txt"], 0);
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
        "Bytes ff.",
        "Bytes fe.",
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
    // Both fail (invalid UTF-8), so both are printed.
    fs::write(docs.join("x\nfailed: forged.txt"), b"caf\xe9\n").expect("write");
    fs::write(docs.join("\x1b]0;pwned\x07\x1b[2J.txt"), b"caf\xe9\n").expect("write");
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
    assert!(err.contains(r#"x\nfailed: forged.txt""#), "{err}");
    assert!(
        err.contains(r#"\u{1b}]0;pwned\u{7}\u{1b}[2J.txt""#),
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

/// Peak resident memory of a command, from `/usr/bin/time -v`, in KiB.
fn peak_rss_kib(args: &[&str]) -> u64 {
    let time = std::path::Path::new("/usr/bin/time");
    assert!(time.exists(), "this test needs GNU time at /usr/bin/time");
    let out = std::process::Command::new(time)
        .arg("-v")
        .arg(env!("CARGO_BIN_EXE_samizdat"))
        .args(args)
        .output()
        .expect("run /usr/bin/time");
    let err = stderr(&out);
    assert!(out.status.success(), "{err}");
    err.lines()
        .find_map(|l| {
            l.trim()
                .strip_prefix("Maximum resident set size (kbytes): ")
        })
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no maximum resident set size in:\n{err}"))
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
