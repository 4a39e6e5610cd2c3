//! Issue 15, trust: key rotation of each role followed by replays, and a timestamp re-served
//! with its signature twice. Real peers (python's http.server, the evil peer kit), the real
//! binary, and python-tuf's ngclient as the independent client.

use crate::util::*;
use std::fs;
use std::path::Path;

/// A fresh ngclient cache holding `root` (a reader who only ever got that root.json).
fn ngclient_cache(dir: &Path, root: &Path) -> std::path::PathBuf {
    fs::create_dir_all(dir).expect("mkdir");
    fs::copy(root, dir.join("root.json")).expect("copy root");
    dir.to_owned()
}

/// A peer re-serving the current timestamp with its signature listed twice (the signed part
/// untouched): python-tuf refuses those bytes, so a mirror must neither take them nor serve
/// them; and a mirror keeps its own bytes of a timestamp version it holds even when a peer
/// serves other valid bytes of it.
#[test]
fn a_timestamp_with_its_signature_twice_is_refused_and_a_mirror_keeps_its_own_bytes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    let root = archive.join("root.json");
    let release = archive.join("release");
    let origin = StaticServer::start(&release, "127.0.0.46");
    let dir = tmp.path().join("mirror");
    mirror_sync(&dir, &root, &[&origin.url], &[], 0);
    let timestamp = dir.join("release/metadata/timestamp.json");
    let ours = fs::read(&timestamp).expect("the mirror's timestamp");

    // python-tuf refuses the doubled timestamp straight from the liar …
    let twice = StaticServer::start_evil(&release, "127.0.0.47", "timestamp-signature-twice");
    let lines = ngclient(
        &ngclient_cache(&tmp.path().join("ngclient-1"), &root),
        &twice.url,
        &tmp.path().join("dl-1"),
        &["10PORTCITY101.json"],
    );
    assert!(
        lines[0].starts_with("REFRESH-FAILED") && lines[0].contains("Multiple signatures"),
        "{lines:?}"
    );
    // … and so does the mirror: the liar is dropped by name, the mirror's bytes stay.
    let out = mirror_sync(&dir, &root, &[&twice.url], &[], 1);
    let err = stderr(&out);
    assert!(
        err.lines()
            .any(|l| l.contains(&twice.url) && l.contains("more than one signature")),
        "{err}"
    );
    assert_eq!(fs::read(&timestamp).expect("timestamp"), ours);

    // Other bytes of the same timestamp that both clients accept: still the mirror's own.
    let reformatted = StaticServer::start_evil(&release, "127.0.0.48", "timestamp-reformatted");
    let lines = ngclient(
        &ngclient_cache(&tmp.path().join("ngclient-2"), &root),
        &reformatted.url,
        &tmp.path().join("dl-2"),
        &["10PORTCITY101.json"],
    );
    assert!(lines[0].starts_with("OK 10PORTCITY101.json"), "{lines:?}");
    let out = mirror_sync(&dir, &root, &[&reformatted.url], &[], 0);
    assert!(
        stdout(&out).contains("0 metadata files"),
        "{}",
        stdout(&out)
    );
    assert_eq!(fs::read(&timestamp).expect("timestamp"), ours);

    // A new mirror told of the liar first: it takes the origin's bytes, and python-tuf reads
    // documents from it.
    let fresh = tmp.path().join("fresh");
    mirror_sync(&fresh, &root, &[&twice.url, &origin.url], &[], 0);
    assert_eq!(
        fs::read(fresh.join("release/metadata/timestamp.json")).expect("timestamp"),
        fs::read(release.join("metadata/timestamp.json")).expect("origin's")
    );
    let served = StaticServer::start(&fresh.join("release"), "127.0.0.49");
    let lines = ngclient(
        &ngclient_cache(&tmp.path().join("ngclient-3"), &root),
        &served.url,
        &tmp.path().join("dl-3"),
        &["10PORTCITY101.json"],
    );
    assert!(lines[0].starts_with("OK 10PORTCITY101.json"), "{lines:?}");
}
