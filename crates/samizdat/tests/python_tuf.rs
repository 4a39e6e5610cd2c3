//! The proof of compliance: python-tuf's ngclient, given only root.json, verifies documents from
//! a samizdat release served by a plain static server — and refuses what it must refuse.

use crate::util::*;
use std::fs;
use std::path::Path;

fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).expect("mkdir");
    for entry in fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let dest = to.join(entry.file_name());
        if entry.file_type().expect("type").is_dir() {
            copy_dir(&entry.path(), &dest);
        } else {
            fs::copy(entry.path(), &dest).expect("copy");
        }
    }
}

#[test]
fn ngclient_verifies_documents_and_refuses_tampering_and_rollback() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    let release = archive.join("release");
    let cache = tmp.path().join("ngclient-cache");
    fs::create_dir_all(&cache).expect("mkdir");
    fs::copy(archive.join("root.json"), cache.join("root.json")).expect("copy root");
    let release_v1 = tmp.path().join("release-v1");
    copy_dir(&release, &release_v1);

    let server = StaticServer::start(&release, "127.0.0.2");
    let pdf = target_file(&release, ".original.pdf");
    let pdf_name = pdf.file_name().and_then(|n| n.to_str()).expect("name");
    let pdf_name = pdf_name.split_once('.').expect("hash.name").1.to_owned();
    let lines = ngclient(
        &cache,
        &server.url,
        &tmp.path().join("dl1"),
        &[&pdf_name, "10PORTCITY101.json", "no-such-document.json"],
    );
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(
        lines[0],
        format!(
            "OK {pdf_name} {}",
            sha256_hex(fs::read(&pdf).expect("read"))
        ),
        "{lines:?}"
    );
    assert!(lines[1].starts_with("OK 10PORTCITY101.json "), "{lines:?}");
    assert_eq!(lines[2], "MISSING no-such-document.json", "{lines:?}");

    // Tampered bytes on the server: refused.
    let record = target_file(&release, "10PORTCITY102.json");
    fs::remove_file(&record).expect("rm");
    fs::write(&record, br#"{"document":{"title":"forged"}}"#).expect("write");
    let lines = ngclient(
        &cache,
        &server.url,
        &tmp.path().join("dl2"),
        &["10PORTCITY102.json"],
    );
    assert!(lines[0].starts_with("FAIL 10PORTCITY102.json"), "{lines:?}");
    fs::remove_file(&record).expect("rm");
    fs::copy(target_file(&release_v1, "10PORTCITY102.json"), &record).expect("restore");

    // A second release; ngclient (with its cache of release 1) moves on to it.
    let extra = tmp.path().join("extra");
    fs::create_dir(&extra).expect("mkdir");
    fs::write(
        extra.join("second.md"),
        "# Second release\n\nOne more note.\n",
    )
    .expect("write");
    run(&["add", p(&archive), p(&extra)], 0);
    run(&["release", p(&archive)], 0);
    let lines = ngclient(
        &cache,
        &server.url,
        &tmp.path().join("dl3"),
        &["second-md.json"],
    );
    assert!(lines[0].starts_with("OK second-md.json "), "{lines:?}");
    drop(server);

    // A mirror replaying release 1 (validly signed, but older): ngclient refuses the rollback.
    let stale = StaticServer::start(&release_v1, "127.0.0.3");
    let lines = ngclient(
        &cache,
        &stale.url,
        &tmp.path().join("dl4"),
        &["10PORTCITY101.json"],
    );
    assert!(lines[0].starts_with("REFRESH-FAILED"), "{lines:?}");
    assert!(lines[0].to_lowercase().contains("version"), "{lines:?}");
}

#[test]
fn ngclient_verifies_a_two_of_three_root() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(
        tmp.path(),
        &[
            "--root-keys",
            "3",
            "--root-threshold",
            "2",
            "--timestamp-keys",
            "2",
        ],
    );
    let root: serde_json::Value =
        serde_json::from_slice(&fs::read(archive.join("root.json")).expect("read")).expect("json");
    assert_eq!(root["signed"]["roles"]["root"]["threshold"], 2);
    assert_eq!(root["signatures"].as_array().map(Vec::len), Some(3));
    let cache = tmp.path().join("cache");
    fs::create_dir_all(&cache).expect("mkdir");
    fs::copy(archive.join("root.json"), cache.join("root.json")).expect("copy");
    let server = StaticServer::start(&archive.join("release"), "127.0.0.4");
    let lines = ngclient(
        &cache,
        &server.url,
        &tmp.path().join("dl"),
        &["10CAPITAL077.json"],
    );
    assert!(lines[0].starts_with("OK 10CAPITAL077.json"), "{lines:?}");
}
