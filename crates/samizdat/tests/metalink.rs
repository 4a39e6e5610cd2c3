//! The directory's Metalink (RFC 5854) read by a real download manager: `aria2c` (Debian's
//! `aria2`) downloads one document and then the whole archive from the mirrors the directory
//! lists, checking every file's SHA-256 itself (`--check-integrity=true`), and the test compares
//! every file with the release's.
//!
//! The directory runs in the test process (its library: enrolment in the store, one audit
//! round over HTTP, the router on a socket); the mirrors are `samizdat mirror serve` daemons.

use crate::util::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::directory_server::directory_for;
use sha2::{Digest, Sha256};

/// `aria2c`, installed by ./test.sh (Debian package `aria2`).
fn aria2c() -> PathBuf {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("aria2c"))
            .find(|path| path.is_file())
    });
    found.expect("aria2c not found: run ./test.sh, which installs the Debian package aria2")
}

/// Runs aria2c on the Metalink at `url`, saving into `out`; panics with its output unless every
/// download completed and verified.
fn aria2(url: &str, out: &Path) {
    let output = aria2_output(url, out);
    assert!(
        output.status.success(),
        "aria2c {url} exited {:?}\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

fn aria2_output(url: &str, out: &Path) -> std::process::Output {
    Command::new(aria2c())
        .args([
            "--no-conf",
            // aria2c's default (`true`): the Metalink is saved, then followed; kept in memory
            // (`mem`) it may be at most 5 MiB, less than the spam-assassin archive's.
            "--follow-metalink=true",
            "--check-integrity=true",
            "--allow-overwrite=false",
            "--auto-file-renaming=false",
            "--file-allocation=none",
            "--summary-interval=0",
            "--console-log-level=warn",
            "--max-tries=5",
            "--retry-wait=1",
            "--connect-timeout=5",
            "--timeout=20",
            "--max-concurrent-downloads=8",
            "--dir",
            p(out),
            url,
        ])
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("all_proxy")
        .env_remove("ALL_PROXY")
        .output()
        .expect("run aria2c")
}

/// The release's targets by name (`SHA256.NAME` files in `release/targets`): their bytes'
/// SHA-256 as hex.
fn release_targets(release: &Path) -> BTreeMap<String, String> {
    std::fs::read_dir(release.join("targets"))
        .expect("targets")
        .map(|entry| {
            let name = entry
                .expect("entry")
                .file_name()
                .into_string()
                .expect("utf-8");
            let (sha, target) = name.split_once('.').expect("SHA256.NAME");
            (target.to_owned(), sha.to_owned())
        })
        .collect()
}

/// Every file aria2c wrote to `out`, checked against the release's hash of the same name;
/// returns the names.
fn check_downloads(out: &Path, expected: &BTreeMap<String, String>) -> Vec<String> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(out).expect("downloads") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        if name.ends_with(".meta4") {
            // The Metalink itself, as aria2c saves it.
            continue;
        }
        assert!(!name.ends_with(".aria2"), "an unfinished download: {name}");
        let bytes = std::fs::read(&path).expect("read a download");
        let sha = hex::encode(Sha256::digest(&bytes));
        assert_eq!(
            expected.get(&name),
            Some(&sha),
            "{name}: not the release's bytes"
        );
        names.push(name);
    }
    names.sort();
    names
}

fn get(url: &str) -> String {
    let (head, body) = curl(url, &[]);
    assert!(
        head.to_ascii_lowercase().starts_with("http/1.1 200"),
        "{url}: {head}"
    );
    String::from_utf8(body).expect("utf-8")
}

/// One document and then the whole archive released in `archive`, from three mirrors on
/// `ips[0..3]` through a directory on `ips[3]`; one mirror dies before the whole archive.
fn through_metalink(tmp: &Path, archive: &Path, ips: [&str; 4]) {
    let release = archive.join("release");
    let mut mirrors: Vec<Daemon> = ips[..3]
        .iter()
        .map(|ip| {
            Daemon::start(
                &[
                    "mirror",
                    "serve",
                    p(archive),
                    "--listen",
                    &format!("{ip}:0"),
                ],
                &tmp.join(format!("mirror-{ip}.log")),
            )
        })
        .collect();
    let enrolled = [
        (mirrors[0].url.as_str(), "NL", "Greenhost"),
        (mirrors[1].url.as_str(), "IS", "1984"),
        (mirrors[2].url.as_str(), "DE", "Hetzner"),
    ];
    let directory = directory_for(
        &tmp.join("directory"),
        &archive.join("root.json"),
        &enrolled,
        ips[3],
    );
    let expected = release_targets(&release);
    // Three countries serve every document: none under the default floor of three.
    let report = stdout(&run(
        &["directory", "coverage", p(&tmp.join("directory"))],
        0,
    ));
    assert!(
        report.contains("3 listed mirrors serve it; 0 documents under the floor of 3 countries"),
        "{report}"
    );

    // One document: every file of it, from every mirror.
    let (email, _) = target_name(&release, ".original.eml");
    let id = email
        .split_once('.')
        .and_then(|(_, name)| name.strip_suffix(".original.eml"))
        .expect("SHA.ID.original.eml")
        .to_owned();
    let meta4 = get(&format!("{}d/{id}.meta4", directory.url));
    for mirror in &mirrors {
        assert!(
            meta4.contains(&format!(">{}targets/", mirror.url)),
            "{meta4}"
        );
    }
    let one = tmp.join("one");
    std::fs::create_dir_all(&one).expect("folder");
    aria2(&format!("{}d/{id}.meta4", directory.url), &one);
    let got = check_downloads(&one, &expected);
    let of_document: Vec<String> = expected
        .keys()
        .filter(|name| name.split_once('.').is_some_and(|(doc, _)| doc == id))
        .cloned()
        .collect();
    assert_eq!(got, of_document);
    assert!(got.contains(&format!("{id}.original.eml")), "{got:?}");

    // The whole archive, with one of the three listed mirrors gone.
    drop(mirrors.pop());
    let all = tmp.join("all");
    std::fs::create_dir_all(&all).expect("folder");
    aria2(&format!("{}archive.meta4", directory.url), &all);
    let got = check_downloads(&all, &expected);
    let wanted: Vec<String> = expected.keys().cloned().collect();
    assert!(wanted.len() > 10, "{wanted:?}");
    assert_eq!(got.len(), wanted.len());
    assert_eq!(got, wanted);
}

#[test]
fn aria2c_downloads_a_document_and_the_sample_archive_through_the_directory_metalink() {
    aria2c();
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    through_metalink(
        tmp.path(),
        &archive,
        ["127.0.0.181", "127.0.0.182", "127.0.0.183", "127.0.0.184"],
    );
}

#[test]
fn a_file_every_mirror_serves_tampered_fails_aria2c_s_check_against_the_metalink() {
    aria2c();
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    // A plain web root that reads each file from disk when asked: a mirror that caches what
    // it served (ours keeps hot files in memory) could go on serving the bytes it read before
    // the file was changed under it, and the test would not be about aria2c's check.
    let mirror = StaticServer::start(&archive.join("release"), "127.0.0.189");
    let mirror_url = format!("{}/", mirror.url);
    let directory = directory_for(
        &tmp.path().join("directory"),
        &archive.join("root.json"),
        &[(mirror_url.as_str(), "NL", "Greenhost")],
        "127.0.0.190",
    );
    // Audited honest; then its copy of the e-mail changes, same size, one bit.
    let (email, file) = target_name(&archive.join("release"), ".original.eml");
    let mut bytes = std::fs::read(&file).expect("read");
    bytes[0] ^= 1;
    std::fs::write(&file, &bytes).expect("tamper");
    let id = email
        .split_once('.')
        .and_then(|(_, name)| name.strip_suffix(".original.eml"))
        .expect("SHA.ID.original.eml")
        .to_owned();
    let out = tmp.path().join("out");
    std::fs::create_dir_all(&out).expect("folder");
    let output = aria2_output(&format!("{}d/{id}.meta4", directory.url), &out);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(!output.status.success(), "{text}");
    assert!(text.contains("original.eml"), "{text}");
    assert!(text.to_lowercase().contains("checksum"), "{text}");
    // Whatever it kept of the e-mail, it never passed it as complete.
    let kept = out.join(format!("{id}.original.eml"));
    assert!(
        !kept.exists()
            || out.join(format!("{id}.original.eml.aria2")).exists()
            || std::fs::read(&kept).expect("read") != bytes,
        "aria2c kept the tampered bytes as complete: {text}"
    );
}

#[test]
fn directory_coverage_of_a_folder_that_is_no_directory_names_its_configuration() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let out = run(&["directory", "coverage", p(tmp.path())], 1);
    assert_says(&stderr(&out), "directory.toml");
}

#[test]
fn aria2c_downloads_the_spam_assassin_archive_through_the_directory_metalink() {
    aria2c();
    let data = corpus("spam-assassin").join("package/data");
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = tmp.path().join("archive");
    run(&["init", p(&archive)], 0);
    let out = samizdat()
        .args(["add", p(&archive), p(&data)])
        .output()
        .expect("run add");
    // 4: finished, some files not ingested (the corpus's own index files).
    assert!(
        matches!(out.status.code(), Some(0 | 4)),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    run(&["release", "--no-site", p(&archive)], 0);
    through_metalink(
        tmp.path(),
        &archive,
        ["127.0.0.185", "127.0.0.186", "127.0.0.187", "127.0.0.188"],
    );
}
