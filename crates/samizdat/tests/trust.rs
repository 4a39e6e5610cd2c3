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
    assert_says(&stdout(&out), "0 metadata files");
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

/// The release in the release folder `release`, from `samizdat verify`.
fn release_version(root: &Path, release: &Path) -> u64 {
    let out = run(&["verify", "--root", p(root), p(release)], 0);
    let text = stdout(&out);
    text.strip_prefix("release ")
        .and_then(|rest| rest.split(':').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no release in {text}"))
}

/// Issue 15, the rollback after a key rotation: each role rotated in turn (`key rotate`), a
/// mirror syncs through the rotation and persists the new root; python-tuf verifies from the
/// ORIGINAL root.json through every rotation; then peers replaying a release signed after the
/// rotation (older than the mirror's) or before it are refused, and the mirror keeps serving
/// its release. Before the fix the mirror started every round from its first root, so every
/// walk through a timestamp or snapshot rotation voided its trusted state and a replay was
/// taken.
#[test]
fn each_role_rotated_then_replayed_releases_are_refused_by_a_mirror_that_synced_past_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    let original_root = tmp.path().join("original-root.json");
    fs::copy(archive.join("root.json"), &original_root).expect("copy root");
    let release = archive.join("release");
    let origin = StaticServer::start(&release, "127.0.0.40");
    let dir = tmp.path().join("mirror");
    mirror_sync(&dir, &original_root, &[&origin.url], &[], 0);
    let served = StaticServer::start(&dir.join("release"), "127.0.0.41");
    // A reader who keeps a cache and refreshes after every rotation.
    let kept_cache = ngclient_cache(&tmp.path().join("ngclient-kept"), &original_root);

    for (n, role) in ["timestamp", "snapshot", "targets", "root"]
        .into_iter()
        .enumerate()
    {
        let before = tmp.path().join(format!("before-{role}"));
        copy_tree(&release, &before);
        let old_version = release_version(&original_root, &before);

        if role == "root" {
            // Root offline: the rotation says where the keys must come from.
            let offline = tmp.path().join("usb-stick");
            run(
                &["key", "export-root", p(&archive), p(&offline), "--remove"],
                0,
            );
            let out = run(&["key", "rotate", p(&archive), role], 1);
            assert_says(&stderr(&out), "--root-keys");
            run(
                &[
                    "key",
                    "rotate",
                    p(&archive),
                    role,
                    "--root-keys",
                    p(&offline),
                ],
                0,
            );
        } else {
            let out = run(&["key", "rotate", p(&archive), role], 0);
            assert_says(
                &stdout(&out),
                format!("release {}: signed again", old_version + 1),
            );
        }
        let root: serde_json::Value =
            serde_json::from_slice(&fs::read(archive.join("root.json")).expect("root"))
                .expect("json");
        assert_eq!(root["signed"]["version"], n as u64 + 2, "{role}");

        // Two releases with the new key; the first kept aside for a replay.
        // (Texts of their own: a file with the same bytes as an earlier one is not new.)
        release_a_note(
            &archive,
            &format!("{role}-a.txt"),
            &format!("After the {role} rotation.\n"),
        );
        let after = tmp.path().join(format!("after-{role}"));
        copy_tree(&release, &after);
        let note = format!("{role}-b.txt");
        release_a_note(&archive, &note, &format!("Later still, {role}.\n"));
        let newest = old_version + 3;

        let out = mirror_sync(&dir, &original_root, &[&origin.url], &[], 0);
        assert!(
            stdout(&out).starts_with(&format!("release {newest}:")),
            "{role}: {}",
            stdout(&out)
        );
        assert_eq!(
            fs::read(dir.join("root.json")).expect("the mirror's root"),
            fs::read(archive.join("root.json")).expect("the publisher's"),
            "{role}: the mirror did not persist the newest root"
        );

        // python-tuf, from the original root.json, through every rotation so far.
        let record = format!("{}.json", note.replace('.', "-"));
        let fresh = ngclient_cache(&tmp.path().join(format!("ngclient-{role}")), &original_root);
        for cache in [&fresh, &kept_cache] {
            let lines = ngclient(
                cache,
                &served.url,
                &tmp.path().join(format!("dl-{role}")),
                &[&record, "10PORTCITY101.json"],
            );
            assert!(
                lines[0].starts_with(&format!("OK {record} ")) && lines[1].starts_with("OK "),
                "{role}: {lines:?}"
            );
        }

        // Replays: the release signed after the rotation but older, and the one before it.
        for (replayed, ip) in [(&after, "127.0.0.42"), (&before, "127.0.0.43")] {
            let replay = StaticServer::start(replayed, ip);
            let out = mirror_sync(&dir, &original_root, &[&replay.url], &[], 1);
            let err = stderr(&out);
            assert!(
                err.lines().any(|l| l.contains(&replay.url)),
                "{role}: the replaying peer is not named:\n{err}"
            );
            assert_eq!(
                release_version(&original_root, &dir.join("release")),
                newest,
                "{role}: the mirror was rolled back by {}",
                replayed.display()
            );
            // python-tuf, which has seen the newest release, refuses the replay as well.
            let lines = ngclient(
                &kept_cache,
                &replay.url,
                &tmp.path().join(format!("dl-replay-{role}")),
                &["10PORTCITY101.json"],
            );
            assert!(lines[0].starts_with("REFRESH-FAILED"), "{role}: {lines:?}");
        }
    }
}

/// `mirror init` run again with the publisher's first root (as `deploy/install.sh` does on an
/// upgrade) after the mirror followed a root rotation: accepted, since that root leads to the
/// one the mirror trusts through the roots it verified; the newer root stays. Another
/// publisher's root is still refused.
#[test]
fn mirror_init_again_with_the_first_root_after_a_root_rotation_keeps_the_newer_root() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    let first_root = tmp.path().join("first-root.json");
    fs::copy(archive.join("root.json"), &first_root).expect("copy root");
    let origin = StaticServer::start(&archive.join("release"), "127.0.0.47");
    let dir = tmp.path().join("mirror");
    let init = |root: &Path, code: i32| {
        run(
            &[
                "mirror",
                "init",
                p(&dir),
                "--root",
                p(root),
                "--peer",
                &origin.url,
            ],
            code,
        )
    };
    init(&first_root, 0);
    run(&["key", "rotate", p(&archive), "root"], 0);
    release_a_note(&archive, "rotated.txt", "After the root rotation.\n");
    mirror_sync(&dir, &first_root, &[&origin.url], &[], 0);
    let newest = fs::read(archive.join("root.json")).expect("the publisher's root");
    assert_eq!(fs::read(dir.join("root.json")).expect("root"), newest);

    let out = init(&first_root, 0);
    assert!(!stderr(&out).contains("another root"), "{}", stderr(&out));
    assert_eq!(
        fs::read(dir.join("root.json")).expect("root"),
        newest,
        "init went back to the first root"
    );

    let other = sample_release(&tmp.path().join("other"), &[]);
    let out = init(&other.join("root.json"), 1);
    assert_says(&stderr(&out), "already trusts another root");
    assert_eq!(fs::read(dir.join("root.json")).expect("root"), newest);
}
