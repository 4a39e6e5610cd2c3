//! init → add → release → verify on the sample archive, incremental re-runs, withdrawals, tampering.

use crate::util::*;

#[test]
fn sample_archive_releases_and_verifies() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    let release = archive.join("release");
    let out = run(
        &[
            "verify",
            "--root",
            p(&archive.join("root.json")),
            p(&release),
        ],
        0,
    );
    assert_says(&stdout(&out), "authentic and fresh");

    // Every sample document is there: 3 e-mails + 1 attachment + 2 from the mbox + 5 notes + 3 cables.
    let catalog = archive::Catalog::open(&archive.join("catalog.sqlite")).expect("catalog");
    let docs = catalog.documents().expect("documents");
    assert_eq!(
        docs.len(),
        14,
        "{:#?}",
        docs.iter().map(|d| &d.source).collect::<Vec<_>>()
    );

    // A document by id: its record and its original.
    let out = run(
        &[
            "verify",
            "--root",
            p(&archive.join("root.json")),
            p(&release),
            "10PORTCITY101",
        ],
        0,
    );
    assert_says(&stdout(&out), "2 targets verified");
}

#[test]
fn re_adding_is_free_and_a_small_change_resigns_little() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    let out = run(&["add", p(&archive), p(&sample_documents())], 0);
    assert_says(&stdout(&out), "0 documents ingested");
    assert_says(&stdout(&out), "10 files unchanged");

    let extra = tmp.path().join("extra");
    std::fs::create_dir(&extra).expect("mkdir");
    std::fs::write(extra.join("late-note.txt"), "A late note about berth 7.\n").expect("write");
    let out = run(&["add", p(&archive), p(&extra)], 0);
    assert_says(&stdout(&out), "1 documents ingested");
    let out = run(&["release", "--no-site", p(&archive)], 0);
    let text = stdout(&out);
    assert!(text.starts_with("release 2:"), "{text}");
    // One new document: its two targets land in at most two bins.
    let signed: usize = text
        .split(" of ")
        .next()
        .and_then(|s| s.rsplit(", ").next())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or_else(|| panic!("no bin count in {text}"));
    assert!((1..=2).contains(&signed), "{text}");
    verify_archive(&archive, &[], 0);
}

#[test]
fn withdrawn_document_leaves_the_next_release_with_a_tombstone() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    run(
        &[
            "withdraw",
            p(&archive),
            "10CAPITAL077",
            "--reason",
            "court order 2010/17",
        ],
        0,
    );
    run(&["release", "--no-site", p(&archive)], 0);
    let release = archive.join("release");
    let root = archive.join("root.json");
    let out = run(
        &["verify", "--root", p(&root), p(&release), "10CAPITAL077"],
        1,
    );
    assert_says(&stderr(&out), "10CAPITAL077");
    let tombstones =
        std::fs::read_to_string(target_file(&release, "._withdrawn.json")).expect("read");
    assert!(tombstones.contains("court order 2010/17"), "{tombstones}");
    let out = run(
        &["withdraw", p(&archive), "no-such-doc", "--reason", "x"],
        1,
    );
    assert_says(&stderr(&out), "no document with id no-such-doc");
}

#[test]
fn tampered_target_is_named_and_fails_verification() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    let release = archive.join("release");
    let victim = target_file(&release, ".original.pdf");
    // Targets are hard links into the store: replace the link, do not write through it.
    std::fs::remove_file(&victim).expect("rm");
    std::fs::write(&victim, b"%PDF-1.4 forged").expect("write");
    let out = run(
        &[
            "verify",
            "--root",
            p(&archive.join("root.json")),
            p(&release),
        ],
        1,
    );
    let err = stderr(&out);
    assert!(
        err.contains("FAILED") && err.contains(".original.pdf"),
        "{err}"
    );
    // By document id, the original is checked against its record's hash: also refused.
    let pdf_id = victim
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.split('.').nth(1))
        .expect("id")
        .to_owned();
    let out = run(
        &[
            "verify",
            "--root",
            p(&archive.join("root.json")),
            p(&release),
            &pdf_id,
        ],
        1,
    );
    let err = stderr(&out);
    assert!(
        err.contains(&format!("FAILED {pdf_id}")) && err.contains("15 bytes, metadata says"),
        "{err}"
    );
}

#[test]
fn expired_release_is_authentic_but_not_known_fresh() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &["--timestamp-expiry-days", "0"]);
    let out = verify_archive(&archive, &[], 3);
    assert_says(&stdout(&out), "authentic, not known fresh since");
}

#[test]
fn timestamp_refresh_keeps_the_release_verifying() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    let out = run(&["timestamp", p(&archive)], 0);
    assert_says(&stdout(&out), "timestamp version 2");
    verify_archive(&archive, &[], 0);
}

#[test]
fn verify_over_http_checks_documents_and_names_what_is_missing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    let release = archive.join("release");
    let server = StaticServer::start(&release, "127.0.0.5");
    let root = archive.join("root.json");
    let out = run(&["verify", "--root", p(&root), &server.url], 0);
    assert_says(&stdout(&out), "authentic and fresh, 29 targets verified");
    let out = run(
        &["verify", "--root", p(&root), &server.url, "10PORTCITY101"],
        0,
    );
    assert_says(&stdout(&out), "2 targets verified");

    // A mirror that lost a file: the document is named, with the path that was missing.
    let record = target_file(&release, "10PORTCITY102.json");
    std::fs::remove_file(&record).expect("rm");
    let out = run(
        &[
            "verify",
            "--root",
            p(&root),
            &server.url,
            "10PORTCITY102",
            "10PORTCITY101",
        ],
        1,
    );
    let err = stderr(&out);
    assert!(
        err.contains("FAILED 10PORTCITY102") && err.contains("not found"),
        "{err}"
    );
    assert_says(&stdout(&out), "2 targets verified, 1 FAILED");
}

#[test]
fn maildir_messages_thread_and_originals_are_published_unchanged() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = tmp.path().join("archive");
    run(&["init", p(&archive)], 0);
    let maildir = tmp.path().join("Mail/inbox");
    for sub in ["cur", "new", "tmp"] {
        std::fs::create_dir_all(maildir.join(sub)).expect("mkdir");
    }
    let first = b"From: Ana <ana@example.org>\r\nTo: Ben <ben@example.org>\r\nSubject: Berth 7\r\n\
Date: Tue, 4 May 2010 09:00:00 +0200\r\nMessage-ID: <berth7@example.org>\r\n\r\nThe seals were replaced.\r\n";
    let reply =
        b"From: Ben <ben@example.org>\r\nTo: Ana <ana@example.org>\r\nSubject: Re: Berth 7\r\n\
Date: Tue, 4 May 2010 11:30:00 +0200\r\nMessage-ID: <re-berth7@example.org>\r\n\
In-Reply-To: <berth7@example.org>\r\n\r\nWho replaced them?\r\n";
    // Maildir names carry no extension: the reader goes by content.
    std::fs::write(maildir.join("cur/1273000000.M1P1.host:2,S"), first).expect("write");
    std::fs::write(maildir.join("new/1273009000.M2P2.host"), reply).expect("write");
    let out = run(&["add", p(&archive), p(&tmp.path().join("Mail"))], 0);
    assert_says(&stdout(&out), "2 documents ingested");
    run(&["release", "--no-site", p(&archive)], 0);

    let release = archive.join("release");
    let records: Vec<serde_json::Value> = std::fs::read_dir(release.join("targets"))
        .expect("targets")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.contains(".m-") && n.ends_with(".json") && !n.contains(".original.")
            })
        })
        .map(|p| serde_json::from_slice(&std::fs::read(p).expect("read")).expect("json"))
        .collect();
    assert_eq!(records.len(), 2);
    let reply_record = records
        .iter()
        .find(|r| r["document"]["title"] == "Re: Berth 7")
        .expect("reply record");
    let parent_id = reply_record["links"]["reply_to"]
        .as_str()
        .expect("reply_to");
    let parent = records
        .iter()
        .find(|r| r["document"]["id"] == parent_id)
        .expect("parent record");
    assert_eq!(parent["document"]["title"], "Berth 7");
    // The original is the file's bytes, unchanged (CRLF and all).
    let original = target_file(&release, &format!("{parent_id}.original.eml"));
    assert_eq!(std::fs::read(original).expect("read"), first);
}

/// `samizdat demo`: the sample archive released and verified, then served by an origin and two
/// mirrors that synced from it; each mirror's copy verifies.
#[test]
fn demo_releases_the_sample_and_two_mirrors_sync_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().join("demo");
    let out = run(
        &["demo", "--dir", p(&dir), "--port", "0", "--stop-after", "1"],
        0,
    );
    let text = stdout(&out);
    assert!(text.contains("release 1: authentic and fresh"), "{text}");
    assert!(text.contains("mirror A http://127.0.0.1:"), "{text}");
    assert!(text.contains("mirror B http://127.0.0.1:"), "{text}");
    // The directory: both mirrors enrolled through its API (the challenge each one served).
    for name in ["mirror A", "mirror B"] {
        assert!(
            text.contains(&format!("{name} enrolled with the directory as mirror ")),
            "{text}\n{}",
            stderr(&out)
        );
    }
    assert!(
        text.contains("directory audit: 2 active"),
        "{text}\n{}",
        stderr(&out)
    );
    assert!(
        text.contains("directory status page: http://127.0.0.1:"),
        "{text}"
    );
    assert!(dir.join("directory/directory.sqlite").exists());
    for mirror in ["mirror-a", "mirror-b"] {
        let root = dir.join("root.json");
        let out = run(
            &[
                "verify",
                "--root",
                p(&root),
                p(&dir.join(mirror).join("release")),
            ],
            0,
        );
        assert!(
            stdout(&out).starts_with("release 1: authentic"),
            "{}",
            stdout(&out)
        );
    }
}

/// Every target of the committed release (name → sha256), walked from `timestamp.json`.
fn release_targets(archive: &std::path::Path) -> std::collections::BTreeMap<String, String> {
    let meta = archive.join("release/metadata");
    let read = |name: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(meta.join(name)).expect(name)).expect(name)
    };
    let timestamp = read("timestamp.json");
    let version = &timestamp["signed"]["meta"]["snapshot.json"]["version"];
    let snapshot = read(&format!("{version}.snapshot.json"));
    let mut out = std::collections::BTreeMap::new();
    let mut roles = vec!["targets".to_string()];
    while let Some(role) = roles.pop() {
        let version = &snapshot["signed"]["meta"][format!("{role}.json")]["version"];
        let file = read(&format!("{version}.{role}.json"));
        for (name, info) in file["signed"]["targets"].as_object().expect("targets") {
            let sha = info["hashes"]["sha256"]
                .as_str()
                .expect("sha256")
                .to_owned();
            assert!(out.insert(name.clone(), sha).is_none(), "{name} twice");
        }
        if let Some(delegated) = file["signed"]["delegations"]["roles"].as_array() {
            roles.extend(
                delegated
                    .iter()
                    .map(|d| d["name"].as_str().expect("name").to_owned()),
            );
        }
    }
    out
}

/// A release made from the changes since the last one publishes exactly the targets a full
/// release does, through new threads (a message arriving that older ones answer), attachments,
/// changed and renamed originals, withdrawals and the reader site; and a release with nothing new
/// signs nothing.
#[test]
fn a_release_from_changes_publishes_what_a_full_release_does() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let docs = tmp.path().join("docs");
    let (changes, full) = (tmp.path().join("changes"), tmp.path().join("full"));
    for archive in [&changes, &full] {
        run(&["init", p(archive)], 0);
    }
    let write = |rel: &str, text: &str| {
        let path = docs.join(rel);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    };
    let mail = |id: &str, reply_to: &str, refs: &str, subject: &str| {
        let mut text = format!(
            "From: Ana <ana@example.org>\r\nTo: Ben <ben@example.org>\r\nSubject: {subject}\r\n\
Date: Tue, 4 May 2010 09:{:02}:00 +0200\r\nMessage-ID: <{id}@example.org>\r\n",
            id.len() + subject.len()
        );
        if !reply_to.is_empty() {
            text.push_str(&format!("In-Reply-To: <{reply_to}@example.org>\r\n"));
        }
        if !refs.is_empty() {
            text.push_str(&format!("References: {refs}\r\n"));
        }
        text.push_str(&format!("\r\n{subject}, and the seals of berth 7.\r\n"));
        text
    };
    let attachment = |id: &str| {
        format!(
            "From: Ana <ana@example.org>\r\nSubject: Scan {id}\r\nMessage-ID: <{id}@example.org>\r\n\
MIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b\"\r\n\r\n--b\r\n\
Content-Type: text/plain\r\n\r\nThe scan.\r\n--b\r\nContent-Type: application/octet-stream\r\n\
Content-Disposition: attachment; filename=\"scan.bin\"\r\n\r\nBYTES {id}\r\n--b--\r\n"
        )
    };
    let release_both = |label: &str| {
        run(&["add", p(&changes), p(&docs)], 0);
        run(&["add", p(&full), p(&docs)], 0);
        let from_changes = run(&["release", p(&changes)], 0);
        assert!(
            stdout(&from_changes).contains("from the changes since the last release")
                || label == "first",
            "{label}: {}",
            stdout(&from_changes)
        );
        let out = samizdat()
            .env("SAMIZDAT_FULL_RELEASE", "1")
            .args(["release", p(&full)])
            .output()
            .expect("release");
        assert!(out.status.success(), "{}", stderr(&out));
        let (mut a, mut b) = (release_targets(&changes), release_targets(&full));
        // The tombstones carry the time of each withdrawal: only their presence compares.
        for targets in [&mut a, &mut b] {
            if let Some(sha) = targets.get_mut("_withdrawn.json") {
                sha.clear();
            }
        }
        let only_a: Vec<_> = a.iter().filter(|(n, s)| b.get(*n) != Some(s)).collect();
        let only_b: Vec<_> = b.iter().filter(|(n, s)| a.get(*n) != Some(s)).collect();
        assert!(
            only_a.is_empty() && only_b.is_empty(),
            "{label}: from changes only {only_a:?}\nfull only {only_b:?}"
        );
        assert!(a.len() > 10, "{label}: {} targets", a.len());
        stdout(&from_changes)
    };

    // 1. A thread whose first message is missing, notes, a JSON Lines row with an original.
    write(
        "mail/b1.eml",
        &mail("b1", "b0", "<b0@example.org>", "Berth 7"),
    );
    write(
        "mail/b2.eml",
        &mail(
            "b2",
            "b1",
            "<b0@example.org> <b1@example.org>",
            "Re: Berth 7",
        ),
    );
    write("notes/one.txt", "The first note.\n");
    write("notes/two.md", "# Two\n\nThe second note.\n");
    write("orig/c1.txt", "Cable one, as sent.\n");
    write(
        "rows.jsonl",
        "{\"id\":\"cable-1\",\"title\":\"Cable one\",\"body\":\"Cable one.\",\"path\":\"orig/c1.txt\"}\n",
    );
    release_both("first");

    // 2. The missing first message arrives (both older ones now hang under it), a message
    // with an attachment, a new note; a note changes.
    write("mail/b0.eml", &mail("b0", "", "", "Berth 7 inspection"));
    write("mail/scan.eml", &attachment("scan1"));
    write("notes/three.txt", "The third note.\n");
    write("notes/one.txt", "The first note, corrected.\n");
    release_both("thread root arrives");

    // 3. The row's original changes name and kind.
    write("orig/c1.md", "# Cable one\n\nAs sent.\n");
    write(
        "rows.jsonl",
        "{\"id\":\"cable-1\",\"title\":\"Cable one\",\"body\":\"Cable one.\",\"path\":\"orig/c1.md\"}\n",
    );
    release_both("renamed original");

    // 4. Withdrawals: the middle of the thread, the message with the attachment, a note.
    let mail_id = |mid: &str| {
        use sha2::Digest;
        format!("m-{}", &hex::encode(sha2::Sha256::digest(mid))[..16])
    };
    for archive in [&changes, &full] {
        for id in [
            mail_id("b1@example.org"),
            mail_id("scan1@example.org"),
            "notes-two-md".into(),
        ] {
            run(&["withdraw", p(archive), &id, "--reason", "asked"], 0);
        }
    }
    release_both("withdrawn");

    // 5. Nothing new: nothing signed anew but the snapshot and timestamp.
    let out = release_both("nothing new");
    assert!(out.contains(" 0 of "), "{out}");
}

fn mail_with_attachments(names: &[&str]) -> String {
    let mut mail = String::from(
        "From: a@example.org\nTo: b@example.org\nSubject: With attachments\nMessage-ID: <att@x>\nDate: Mon, 1 Feb 2010 10:00:00 +0000\nMIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"B\"\n\n--B\nContent-Type: text/plain\n\nThe body.\n",
    );
    for name in names {
        mail.push_str(&format!(
            "--B\nContent-Type: text/plain\nContent-Disposition: attachment; filename=\"{name}\"\n\nThe text of {name}.\n"
        ));
    }
    mail.push_str("--B--\n");
    mail
}

/// Issue 15, item 18: a deleted file, a removed row and an attachment no longer in its e-mail
/// are reported by the next `add`, and withdrawn with the reason by `--withdraw-missing`; one
/// file reached twice is one document; a file that failed is read again.
#[test]
fn add_reports_what_disappeared_and_withdraws_it_when_asked() {
    use std::fs;
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = tmp.path().join("archive");
    run(&["init", p(&archive)], 0);
    let docs = tmp.path().join("docs");
    fs::create_dir(&docs).expect("mkdir");
    fs::write(docs.join("a.txt"), "Note a.\n").expect("write");
    fs::write(docs.join("b.txt"), "Note b.\n").expect("write");
    let row = |id: &str| format!("{{\"id\":\"{id}\",\"title\":\"{id}\",\"body\":\"{id}\"}}\n");
    fs::write(docs.join("rows.jsonl"), row("row-1") + &row("row-2")).expect("write");
    fs::write(
        docs.join("mail.eml"),
        mail_with_attachments(&["one.txt", "two.txt"]),
    )
    .expect("write");
    // `docs/a.txt` and `docs`: a.txt once.
    let out = run(&["add", p(&archive), p(&docs.join("a.txt")), p(&docs)], 0);
    assert_says(&stdout(&out), "7 documents ingested");
    let catalog = || archive::Catalog::open(&archive.join("catalog.sqlite")).expect("catalog");
    let ids = || -> Vec<String> {
        catalog()
            .documents()
            .expect("documents")
            .into_iter()
            .map(|d| d.id.to_string())
            .collect()
    };
    let before = ids();
    assert_eq!(before.len(), 7, "{before:?}");
    let attachment_two = before
        .iter()
        .find(|id| id.ends_with("-a2"))
        .expect("the second attachment")
        .clone();

    fs::remove_file(docs.join("b.txt")).expect("rm");
    fs::write(docs.join("rows.jsonl"), row("row-1")).expect("write");
    fs::write(docs.join("mail.eml"), mail_with_attachments(&["one.txt"])).expect("write");
    for _ in 0..2 {
        // Reported at every `add` until withdrawn.
        let out = run(&["add", p(&archive), p(&docs)], 0);
        let err = stderr(&out);
        for gone in ["b-txt", "row-2", attachment_two.as_str()] {
            assert!(
                err.lines().any(|l| l.starts_with("gone: ")
                    && l.contains(&format!("document {gone}:"))
                    && l.contains("still published")),
                "{gone} not reported gone in:\n{err}"
            );
        }
        assert_says(&stdout(&out), "3 gone (0 withdrawn)");
        assert_eq!(ids().len(), 7);
    }
    let out = run(&["add", "--withdraw-missing", p(&archive), p(&docs)], 0);
    assert_says(&stdout(&out), "3 gone (3 withdrawn)");
    let tombstones = catalog().tombstones().expect("tombstones");
    let withdrawn: Vec<&str> = tombstones.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(withdrawn.len(), 3, "{withdrawn:?}");
    for t in &tombstones {
        assert!(t.reason.contains("withdraw-missing"), "{t:?}");
    }
    assert_eq!(ids().len(), 4);
    // Nothing more to report.
    let out = run(&["add", p(&archive), p(&docs)], 0);
    assert_says(&stdout(&out), "0 gone");

    // A file whose row failed is read again, and its row now resolves.
    let more = tmp.path().join("more");
    fs::create_dir(&more).expect("mkdir");
    fs::write(
        more.join("late.jsonl"),
        "{\"id\":\"late\",\"title\":\"Late\",\"path\":\"later.txt\"}\n",
    )
    .expect("write");
    run(&["add", p(&archive), p(&more.join("late.jsonl"))], 4);
    fs::write(more.join("later.txt"), "Here at last.\n").expect("write");
    let out = run(&["add", p(&archive), p(&more.join("late.jsonl"))], 0);
    assert_says(&stdout(&out), "1 documents ingested");
}
