//! Bad input: each a per-file error naming the file and why; everything else is ingested.

use crate::util::*;
use std::fs;

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

    let out = run(&["add", p(&archive), p(&docs)], 4);
    let err = stderr(&out);
    let expect = [
        ("truncated.pdf", "pdf"),
        ("empty.eml", "empty"),
        ("latin1.txt", "UTF-8"),
        ("rows.jsonl (line 2)", "date"),
        ("rows.jsonl (line 3)", "outside"),
        ("dangling.txt", "broken symbolic link"),
        ("outside.txt", "outside"),
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
    assert!(
        stdout(&out).contains("3 documents ingested"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("7 failed"), "{}", stdout(&out));
    // The archive is intact and releases what it has.
    run(&["release", p(&archive)], 0);
    run(
        &[
            "verify",
            "--root",
            p(&archive.join("root.json")),
            p(&archive.join("release")),
            "good-1",
            "good-2",
            "fine-txt",
        ],
        0,
    );
}
