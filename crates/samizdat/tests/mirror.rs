//! A mirror syncs from the origin over HTTP, verifying every file; what it serves passes
//! python-tuf; a lying origin gets nothing stored and the mirror keeps its last release.

use crate::util::*;
use std::fs;
use std::time::Duration;

/// A mirror in `tmp/mirror` trusting `root`, synced once from `peer`.
fn mirror_of(tmp: &std::path::Path, root: &std::path::Path, peer: &str) -> std::path::PathBuf {
    let dir = tmp.join("mirror");
    fs::create_dir_all(&dir).expect("mkdir");
    fs::copy(root, dir.join("root.json")).expect("copy root");
    run(&["mirror", "sync", p(&dir), "--peer", peer], 0);
    dir
}

/// Adds `n` JSON Lines documents to `archive` and releases it (without the site).
fn release_rows(tmp: &std::path::Path, archive: &std::path::Path, n: usize) {
    let rows = tmp.join("rows");
    fs::create_dir(&rows).expect("mkdir");
    let lines: String = (0..n)
        .map(|i| {
            format!("{{\"id\":\"row-{i}\",\"title\":\"Row {i}\",\"body\":\"Body of row {i}.\"}}\n")
        })
        .collect();
    fs::write(rows.join("rows.jsonl"), lines).expect("write");
    run(&["add", p(archive), p(&rows)], 0);
    run(&["release", "--no-site", p(archive)], 0);
}

/// `samizdat mirror sync DIR --peer PEER` started, its stdout and stderr to `output()`.
fn spawn_sync(
    dir: &std::path::Path,
    peer: &str,
    output: fn() -> std::process::Stdio,
) -> std::process::Child {
    samizdat()
        .args(["mirror", "sync", p(dir), "--peer", peer])
        .stdout(output())
        .stderr(output())
        .spawn()
        .expect("spawn sync")
}

fn fetched(out: &std::process::Output) -> usize {
    let text = stdout(out);
    text.split(", ")
        .find(|part| part.ends_with(")") && part.contains(" fetched ("))
        .and_then(|part| part.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no fetched count in {text}"))
}

#[test]
fn mirror_syncs_verifies_and_keeps_its_release_when_the_origin_lies() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    let root = archive.join("root.json");
    let origin = StaticServer::start(&archive.join("release"), "127.0.0.6");
    let dir = tmp.path().join("mirror");

    let out = mirror_sync(&dir, &root, &[&origin.url], &[], 0);
    assert!(
        stdout(&out).starts_with("release 1: 29 targets, 29 fetched"),
        "{}",
        stdout(&out)
    );

    // What the mirror serves verifies, with python-tuf and with samizdat.
    let served = StaticServer::start(&dir.join("release"), "127.0.0.7");
    let cache = tmp.path().join("ngclient");
    fs::create_dir_all(&cache).expect("mkdir");
    fs::copy(&root, cache.join("root.json")).expect("copy");
    let lines = ngclient(
        &cache,
        &served.url,
        &tmp.path().join("dl"),
        &["10PORTCITY101.json"],
    );
    assert!(lines[0].starts_with("OK 10PORTCITY101.json "), "{lines:?}");
    run(&["verify", "--root", p(&root), &served.url], 0);

    // Nothing new: nothing walked or fetched.
    let out = run(&["mirror", "sync", p(&dir), "--peer", &origin.url], 0);
    assert_eq!(fetched(&out), 0, "{}", stdout(&out));
    assert!(
        stdout(&out)
            .starts_with("release 1: already complete here, 0 fetched (0 bytes), 0 metadata files"),
        "{}",
        stdout(&out)
    );
    // The report as JSON (how `mirror run` reads the sync it runs in a child process).
    let out = run(
        &["mirror", "sync", "--json", p(&dir), "--peer", &origin.url],
        0,
    );
    let report: serde_json::Value = serde_json::from_str(stdout(&out).trim()).expect("JSON");
    assert_eq!(report["Ok"]["version"], 1, "{report}");
    assert_eq!(report["Ok"]["unchanged"], true, "{report}");
    let dead = format!("http://127.0.0.6:{}/", free_port("127.0.0.6"));
    let out = run(&["mirror", "sync", "--json", p(&dir), "--peer", &dead], 5);
    let report: serde_json::Value = serde_json::from_str(stdout(&out).trim()).expect("JSON");
    assert!(report["Err"]["what"].is_string(), "{report}");
    assert_eq!(report["Err"]["dropped"][0][0], dead.as_str(), "{report}");

    // A re-signed timestamp (same release) is taken, and only it.
    run(&["timestamp", p(&archive)], 0);
    let out = run(&["mirror", "sync", p(&dir), "--peer", &origin.url], 0);
    assert_says(&stdout(&out), ", 1 metadata files");
    assert_eq!(
        fs::read(dir.join("release/metadata/timestamp.json")).expect("mirror's"),
        fs::read(archive.join("release/metadata/timestamp.json")).expect("origin's")
    );
    verify_release(&root, p(&dir.join("release")), 1);

    // A second release: only its new files travel.
    release_a_note(&archive, "late.txt", "A late note.\n");
    let out = run(&["mirror", "sync", p(&dir), "--peer", &origin.url], 0);
    assert!(stdout(&out).starts_with("release 2:"), "{}", stdout(&out));
    assert_eq!(fetched(&out), 2, "{}", stdout(&out));

    // A third release whose new record the origin then corrupts: refused, nothing of it stored,
    // and the mirror still serves release 2 complete.
    release_a_note(&archive, "later.txt", "An even later note.\n");
    let victim = target_file(&archive.join("release"), "later-txt.json");
    fs::remove_file(&victim).expect("rm");
    fs::write(&victim, b"{\"forged\":true}").expect("write");
    let out = run(&["mirror", "sync", p(&dir), "--peer", &origin.url], 1);
    let err = stderr(&out);
    assert!(
        err.contains("later-txt.json") && err.contains("keeps its last release"),
        "{err}"
    );
    let stored = fs::read_dir(dir.join("release/targets"))
        .expect("targets")
        .filter(|e| {
            e.as_ref()
                .is_ok_and(|e| e.file_name().to_string_lossy().ends_with("later-txt.json"))
        })
        .count();
    assert_eq!(stored, 0, "a forged file was stored");
    let out = run(&["verify", "--root", p(&root), &served.url], 0);
    assert!(stdout(&out).starts_with("release 2:"), "{}", stdout(&out));
}

/// Kill -9 at 20 moments of a sync of 2,000 files from a slow peer: after each, the mirror
/// serves a complete release that verifies, and the next sync completes without fetching again
/// what it already stored.
#[test]
fn kill_during_sync_keeps_a_complete_release_and_resumes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    let root = archive.join("root.json");
    // Release 1 synced whole, from a fast peer.
    let fast = StaticServer::start(&archive.join("release"), "127.0.0.8");
    let dir = mirror_of(tmp.path(), &root, &fast.url);
    drop(fast);

    // Release 2: 1,000 more documents (2,000 files), served with 20 ms per request.
    release_rows(tmp.path(), &archive, 1000);
    let origin = StaticServer::start_slow(&archive.join("release"), "127.0.0.9", 20);

    let mut seed: u64 = 0x5eed;
    let mut killed_midway = 0;
    for trial in 0..20 {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        // Even trials: killed at a random time in the first second, while the metadata is
        // fetched (~100 files at 20 ms, one at a time). Odd trials: killed while targets are
        // fetched (8 at a time), a random 1 to 40 files after the first new one is stored.
        let random = (seed >> 33) as usize;
        let targets = dir.join("release/targets");
        let count = || fs::read_dir(&targets).map(|d| d.count()).unwrap_or(0);
        let before = count();
        let mut child = spawn_sync(&dir, &origin.url, std::process::Stdio::null);
        let delay = if trial % 2 == 0 {
            let delay = Duration::from_millis(100 + (random % 900) as u64);
            std::thread::sleep(delay);
            delay
        } else {
            let started = std::time::Instant::now();
            let wanted = before + 1 + random % 40;
            while count() < wanted && child.try_wait().expect("try_wait").is_none() {
                std::thread::sleep(Duration::from_millis(2));
            }
            started.elapsed()
        };
        if child.try_wait().expect("try_wait").is_none() {
            killed_midway += 1;
        }
        child.kill().ok();
        child.wait().expect("wait");
        let out = run(&["verify", "--root", p(&root), p(&dir.join("release"))], 0);
        let text = stdout(&out);
        assert!(
            text.starts_with("release 1: authentic") || text.starts_with("release 2: authentic"),
            "trial {trial} ({delay:?}): {text}"
        );
    }
    assert!(
        killed_midway >= 18,
        "only {killed_midway} of 20 syncs were killed midway"
    );
    let out = run(&["mirror", "sync", p(&dir), "--peer", &origin.url], 0);
    assert!(stdout(&out).starts_with("release 2:"), "{}", stdout(&out));
    // What the killed runs stored was kept: fewer than the 2,000 new files are fetched now.
    assert!(fetched(&out) < 2000, "{}", stdout(&out));
    verify_release(&root, p(&dir.join("release")), 2);
}

/// Three peers: one replays an older (validly signed) release, one serves the newest release
/// with a forged file, one is honest. The mirror takes the newest release, gets the forged file
/// from the honest peer, stores nothing false, and names both liars.
#[test]
fn lying_peers_are_dropped_by_name_and_the_sync_goes_on() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    let release = archive.join("release");
    let stale_dir = tmp.path().join("stale");
    copy_tree(&release, &stale_dir);
    release_a_note(&archive, "late.txt", "A late note.\n");
    let forged_dir = tmp.path().join("forged");
    copy_tree(&release, &forged_dir);
    // Both new files of release 2 are forged, so whichever the forger is asked for is a lie.
    for name in ["late-txt.json", "late-txt.original.txt"] {
        let victim = target_file(&forged_dir, name);
        fs::remove_file(&victim).expect("rm");
        fs::write(&victim, b"{\"forged\":true}").expect("write");
    }

    let stale = StaticServer::start(&stale_dir, "127.0.0.10");
    let forged = StaticServer::start(&forged_dir, "127.0.0.11");
    let honest = StaticServer::start(&release, "127.0.0.12");
    let dir = tmp.path().join("mirror");
    let out = mirror_sync(
        &dir,
        &archive.join("root.json"),
        &[&stale.url, &forged.url, &honest.url],
        &[],
        0,
    );
    assert!(stdout(&out).starts_with("release 2:"), "{}", stdout(&out));
    let err = stderr(&out);
    let line = |peer: &str| {
        err.lines()
            .find(|l| l.contains(peer))
            .unwrap_or_else(|| panic!("{peer} not named in:\n{err}"))
            .to_owned()
    };
    assert!(line(&stale.url).contains("older"), "{err}");
    assert!(line(&forged.url).contains("late-txt."), "{err}");
    assert!(!err.contains(&honest.url), "{err}");
    let out = run(
        &[
            "verify",
            "--root",
            p(&archive.join("root.json")),
            p(&dir.join("release")),
        ],
        0,
    );
    assert!(
        stdout(&out).starts_with("release 2: authentic"),
        "{}",
        stdout(&out)
    );
}

/// Origin → A, B; the origin goes down; C syncs from B alone, and python-tuf verifies documents
/// fetched through C. (Mirrors' folders served by a static server until `mirror run` serves.)
#[test]
fn a_mirror_syncs_from_another_mirror_while_the_origin_is_down() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    let root = archive.join("root.json");
    let origin = StaticServer::start(&archive.join("release"), "127.0.0.13");
    let (a, b, c) = (
        tmp.path().join("a"),
        tmp.path().join("b"),
        tmp.path().join("c"),
    );
    for dir in [&a, &b] {
        mirror_sync(dir, &root, &[&origin.url], &[], 0);
    }
    drop(origin);
    let served_b = StaticServer::start(&b.join("release"), "127.0.0.14");
    let out = mirror_sync(&c, &root, &[&served_b.url], &[], 0);
    assert_says(&stdout(&out), format!("from {}", served_b.url));
    let served_c = StaticServer::start(&c.join("release"), "127.0.0.15");
    let cache = tmp.path().join("ngclient");
    fs::create_dir_all(&cache).expect("mkdir");
    fs::copy(&root, cache.join("root.json")).expect("copy");
    let pdf = target_file(&c.join("release"), ".original.pdf");
    let pdf_name = pdf
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| n.split_once('.'))
        .map(|(_, name)| name.to_owned())
        .expect("name");
    let lines = ngclient(
        &cache,
        &served_c.url,
        &tmp.path().join("dl"),
        &["10PORTCITY101.json", &pdf_name],
    );
    assert!(lines[0].starts_with("OK 10PORTCITY101.json "), "{lines:?}");
    assert!(
        lines[1].starts_with(&format!("OK {pdf_name} ")),
        "{lines:?}"
    );
}

/// A plain web root: `mirror push` (rsync, targets then metadata then timestamp) into a folder
/// that a real nginx serves; python-tuf verifies through nginx, before and after a new release.
#[test]
fn rsync_pushed_web_root_served_by_nginx_verifies_with_python_tuf() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    let root = archive.join("root.json");
    let webroot = tmp.path().join("www/samizdat");
    run(&["mirror", "push", p(&archive), p(&webroot)], 0);
    let nginx = Nginx::start(&webroot, "127.0.0.16");
    let cache = tmp.path().join("ngclient");
    fs::create_dir_all(&cache).expect("mkdir");
    fs::copy(&root, cache.join("root.json")).expect("copy");
    let lines = ngclient(
        &cache,
        &nginx.url,
        &tmp.path().join("dl1"),
        &["10CAPITAL077.json"],
    );
    assert!(lines[0].starts_with("OK 10CAPITAL077.json "), "{lines:?}");

    release_a_note(&archive, "late.txt", "A late note.\n");
    run(&["mirror", "push", p(&archive), p(&webroot)], 0);
    let lines = ngclient(
        &cache,
        &nginx.url,
        &tmp.path().join("dl2"),
        &["late-txt.json"],
    );
    assert!(lines[0].starts_with("OK late-txt.json "), "{lines:?}");
    verify_release(&root, &nginx.url, 2);
    // The plain site paths are there too, the same bytes as their targets.
    let (head, body) = curl(&format!("{}/d/late-txt/original.txt", nginx.url), &[]);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert_eq!(body, b"A late note.\n");

    // A withdrawal reaches the web root even without deletes: the plain paths become a notice.
    run(
        &[
            "withdraw",
            p(&archive),
            "late-txt",
            "--reason",
            "court order 7",
        ],
        0,
    );
    run(&["release", "--no-site", p(&archive)], 0);
    run(&["mirror", "push", p(&archive), p(&webroot)], 0);
    let (_, body) = curl(&format!("{}/d/late-txt/original.txt", nginx.url), &[]);
    let body = String::from_utf8_lossy(&body).into_owned();
    assert!(
        body.contains("withdrawn") && body.contains("court order 7"),
        "{body}"
    );
    verify_release(&root, &nginx.url, 3);
}

/// A mirror syncs from a plain web root served by a real nginx, asking for the targets in
/// pipelined batches: nginx, set to close a connection after 5 requests, answers each target
/// once, some of them pipelined, and the mirror's release verifies.
#[test]
fn a_mirror_syncs_from_nginx_with_pipelined_requests_across_closed_connections() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    let root = archive.join("root.json");
    let webroot = tmp.path().join("www/samizdat");
    run(&["mirror", "push", p(&archive), p(&webroot)], 0);
    let log = tmp.path().join("access.log");
    let (webroot_s, log_s) = (p(&webroot).to_owned(), p(&log).to_owned());
    let nginx = Nginx::start_with("127.0.0.24", |port| {
        format!(
            "log_format pipe '$pipe $connection_requests $request_uri';\n\
             server {{ listen 127.0.0.24:{port}; root {webroot_s}; access_log {log_s} pipe;\n\
             keepalive_requests 5; }}"
        )
    });
    let dir = tmp.path().join("mirror");
    let out = mirror_sync(&dir, &root, &[&nginx.url], &[], 0);
    assert!(
        stdout(&out).starts_with("release 1: 29 targets, 29 fetched"),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    run(&["verify", "--root", p(&root), p(&dir.join("release"))], 0);
    let log = fs::read_to_string(&log).expect("nginx's access log");
    let targets: Vec<(&str, u32, &str)> = log
        .lines()
        .filter_map(|line| {
            let mut fields = line.split(' ');
            let (pipe, n, uri) = (fields.next()?, fields.next()?, fields.next()?);
            uri.starts_with("/targets/")
                .then(|| (pipe, n.parse().unwrap_or(0), uri))
        })
        .collect();
    let uris: std::collections::BTreeSet<&str> = targets.iter().map(|t| t.2).collect();
    assert_eq!(targets.len(), 29, "each target asked once:\n{log}");
    assert_eq!(uris.len(), 29, "{log}");
    assert!(
        targets.iter().any(|t| t.0 == "p"),
        "no request was pipelined:\n{log}"
    );
    assert!(targets.iter().all(|t| (1..=5).contains(&t.1)), "{log}");
}

/// `samizdat export`: a static tree of hard links into the release; again, nothing to write.
#[test]
fn export_links_targets_and_plain_paths_and_is_incremental() {
    use std::os::unix::fs::MetadataExt;
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    let out_dir = tmp.path().join("static");
    let out = run(&["export", p(&archive), p(&out_dir)], 0);
    assert!(
        stdout(&out).starts_with("exported release 1 (29 targets)"),
        "{}",
        stdout(&out)
    );
    let target = target_file(&archive.join("release"), "10PORTCITY101.json");
    let plain = out_dir.join("d/10PORTCITY101/doc.json");
    let inode = |path: &std::path::Path| fs::metadata(path).expect("stat").ino();
    assert_eq!(inode(&plain), inode(&target), "a hard link, not a copy");
    assert!(out_dir.join("withdrawn.json").exists());
    assert!(out_dir.join("metadata/timestamp.json").exists());
    run(
        &[
            "verify",
            "--root",
            p(&archive.join("root.json")),
            p(&out_dir),
        ],
        0,
    );
    let out = run(&["export", p(&archive), p(&out_dir)], 0);
    assert_says(&stdout(&out), ": 0 files written");
}

/// The evil peer kit's file-level lies: for each, the mirror stores nothing from the liar, names
/// it, and reaches the release from the honest peer. A stalling or dripping peer costs one
/// request time-out (2 s here), not one per file.
#[test]
fn evil_peers_truncating_endless_stalling_dripping_get_nothing_stored() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    let release = archive.join("release");
    let honest = StaticServer::start(&release, "127.0.0.17");
    for (n, mode) in ["truncate", "endless", "stall", "drip"].iter().enumerate() {
        let evil = StaticServer::start_evil(&release, &format!("127.0.0.{}", 18 + n), mode);
        let dir = tmp.path().join(format!("mirror-{mode}"));
        let started = std::time::Instant::now();
        let out = mirror_sync(
            &dir,
            &archive.join("root.json"),
            &[&evil.url, &honest.url],
            &["--timeout", "2"],
            0,
        );
        let took = started.elapsed();
        assert!(
            stdout(&out).starts_with("release 1: 29 targets, 29 fetched"),
            "{mode}: {}",
            stdout(&out)
        );
        let err = stderr(&out);
        assert!(
            err.lines()
                .any(|l| l.starts_with("dropped peer") && l.contains(&evil.url)),
            "{mode}: liar not named:\n{err}"
        );
        assert!(took < Duration::from_secs(20), "{mode}: took {took:?}");
        run(
            &[
                "verify",
                "--root",
                p(&archive.join("root.json")),
                p(&dir.join("release")),
            ],
            0,
        );
    }
}

/// The evil peer kit's metadata-level lies: an expired timestamp (validly signed) and a release
/// whose snapshot was swapped for an older one. Both peers are dropped by name; the honest peer's
/// release is taken.
#[test]
fn expired_and_mixed_metadata_peers_are_dropped() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    let release = archive.join("release");
    // Mixed: release 2's timestamp over release 1's snapshot bytes.
    let release_1 = tmp.path().join("release-1");
    copy_tree(&release, &release_1);
    release_a_note(&archive, "late.txt", "A late note.\n");
    let mixed = tmp.path().join("mixed");
    copy_tree(&release, &mixed);
    fs::copy(
        release_1.join("metadata/1.snapshot.json"),
        mixed.join("metadata/2.snapshot.json"),
    )
    .expect("swap snapshot");
    // Expired: a timestamp signed with a lifetime of 0 days, then a fresh one for the honest peer.
    let config = archive.join("samizdat.toml");
    let original = fs::read_to_string(&config).expect("config");
    fs::write(&config, original.replace("timestamp = 14", "timestamp = 0")).expect("config");
    run(&["timestamp", p(&archive)], 0);
    let expired = tmp.path().join("expired");
    copy_tree(&release, &expired);
    fs::write(&config, &original).expect("config");
    run(&["timestamp", p(&archive)], 0);

    let expired_peer = StaticServer::start(&expired, "127.0.0.22");
    let mixed_peer = StaticServer::start(&mixed, "127.0.0.23");
    let honest = StaticServer::start(&release, "127.0.0.24");
    let dir = tmp.path().join("mirror");
    let out = mirror_sync(
        &dir,
        &archive.join("root.json"),
        &[&expired_peer.url, &mixed_peer.url, &honest.url],
        &[],
        0,
    );
    assert!(stdout(&out).starts_with("release 2:"), "{}", stdout(&out));
    assert_says(&stdout(&out), format!("from {}", honest.url));
    let err = stderr(&out);
    for (peer, why) in [
        (&expired_peer.url, "expired"),
        (&mixed_peer.url, "snapshot"),
    ] {
        let line = err
            .lines()
            .find(|l| l.contains(peer.as_str()))
            .unwrap_or_else(|| panic!("{peer} not named:\n{err}"));
        assert!(line.to_lowercase().contains(why), "{line}");
    }
}

/// Release 1's files that release 2 no longer needs are removed once the grace period is over,
/// not before; what is served still verifies, and what killed syncs left in tmp/ goes too.
#[test]
fn old_releases_are_collected_after_the_grace_period() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    let root = archive.join("root.json");
    let origin = StaticServer::start(&archive.join("release"), "127.0.0.13");
    let dir = tmp.path().join("mirror");
    let sync = || mirror_sync(&dir, &root, &[&origin.url], &[], 0);
    sync();
    // Release 2 adds a note: release 1's snapshot and the bins it changed become garbage.
    release_a_note(&archive, "late.txt", "A late note.\n");
    sync();
    let stored = dir.join("release/metadata/1.snapshot.json");
    assert!(stored.exists(), "kept until collected");
    fs::write(dir.join("tmp/.tmpKILLED"), b"left by a killed sync").expect("write");

    let out = run(&["mirror", "collect", p(&dir), "--grace", "3600"], 0);
    assert!(
        stdout(&out).starts_with("collected 0 old release(s)"),
        "{}",
        stdout(&out)
    );
    assert!(stored.exists(), "within the grace period");
    assert!(
        !dir.join("tmp/.tmpKILLED").exists(),
        "tmp/ leftovers removed"
    );

    let out = run(&["mirror", "collect", p(&dir), "--grace", "0"], 0);
    assert!(
        stdout(&out).starts_with("collected 1 old release(s) [1]"),
        "{}",
        stdout(&out)
    );
    assert!(!stored.exists(), "release 1 outlived its grace period");
    assert!(
        dir.join("release/metadata/1.root.json").exists(),
        "roots stay"
    );
    verify_release(&root, p(&dir.join("release")), 2);
    let out = run(&["mirror", "collect", p(&dir), "--grace", "0"], 0);
    assert!(
        stdout(&out).starts_with("collected 0 old release(s)"),
        "{}",
        stdout(&out)
    );
}

/// A release superseded by one that withdraws a document is collected at once, grace period
/// or not: its files show the document.
#[test]
fn a_release_superseded_by_a_withdrawal_is_collected_without_waiting_for_the_grace_period() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    let root = archive.join("root.json");
    let origin = StaticServer::start(&archive.join("release"), "127.0.0.13");
    let dir = tmp.path().join("mirror");
    let sync = || mirror_sync(&dir, &root, &[&origin.url], &[], 0);
    sync();
    // Release 2 withdraws the e-mail: its two targets and release 1's bins become garbage.
    let email = target_file(&archive.join("release"), ".original.eml");
    let name = email
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    let id = name.split('.').nth(1).expect("id").to_owned();
    run(&["withdraw", p(&archive), &id, "--reason", "test"], 0);
    run(&["release", "--no-site", p(&archive)], 0);
    sync();
    let stored = dir.join("release/targets").join(&name);
    assert!(stored.exists(), "kept until collected");

    let out = run(&["mirror", "collect", p(&dir), "--grace", "3600"], 0);
    assert!(
        stdout(&out).starts_with("collected 1 old release(s) [1]"),
        "{}",
        stdout(&out)
    );
    assert!(!stored.exists(), "{name} outlived the withdrawal");
    assert!(!dir.join("release/metadata/1.snapshot.json").exists());
    verify_release(&root, p(&dir.join("release")), 2);
}

/// Gone means gone on a mirror (synced, then collected) and on a static export pushed without
/// deletes: once a release withdraws the note, no file of any release shows its title or
/// text, asked by `/targets/`, by plain path or as metadata, though the mirror's server had
/// every one of them cached; and no file of the pushed web root holds them.
#[test]
fn once_withdrawn_a_documents_title_and_text_are_on_no_path_of_a_mirror_or_an_export() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = archive_with_a_note_to_withdraw(tmp.path());
    let release = archive.join("release");
    let root = archive.join("root.json");
    let origin = StaticServer::start(&release, "127.0.0.13");
    let dir = mirror_of(tmp.path(), &root, &origin.url);
    let server = Daemon::start(
        &["mirror", "serve", p(&dir), "--listen", "127.0.0.13:0"],
        &tmp.path().join("serve.log"),
    );
    let webroot = tmp.path().join("www/samizdat");
    run(&["mirror", "push", p(&archive), p(&webroot)], 0);
    let nginx = Nginx::start(&webroot, "127.0.0.16");
    for base in [&server.url, &format!("{}/", nginx.url)] {
        // Twice: the second time from the server's caches.
        for _ in 0..2 {
            let before = paths_showing(base, &every_path_of(&release), GONE_MARKERS);
            assert!(
                before.iter().any(|(path, _)| !path.contains(GONE_ID)),
                "{base}: the note is quoted by other files: {before:?}"
            );
        }
    }

    withdraw_the_note(&archive);
    run(&["mirror", "sync", p(&dir), "--peer", &origin.url], 0);
    server.wait_for_release(2);
    run(&["mirror", "push", p(&archive), p(&webroot)], 0);
    let paths = every_path_of(&release);
    let after = paths_showing(&server.url, &paths, GONE_MARKERS);
    assert!(
        after.is_empty(),
        "mirror: the withdrawn note shows on {after:?}"
    );
    let after = paths_showing(&format!("{}/", nginx.url), &paths, GONE_MARKERS);
    assert!(
        after.is_empty(),
        "export: the withdrawn note shows on {after:?}"
    );
    for file in files_in(&webroot) {
        let text = String::from_utf8_lossy(&fs::read(&file).expect("read")).to_lowercase();
        assert!(
            !GONE_MARKERS.iter().any(|m| text.contains(m)),
            "{} shows the withdrawn note",
            file.display()
        );
    }
    // Release 1 is collected at once; what the server cached of it stays unanswered.
    let out = run(&["mirror", "collect", p(&dir), "--grace", "3600"], 0);
    assert!(
        stdout(&out).starts_with("collected 1 old release(s) [1]"),
        "{}",
        stdout(&out)
    );
    let after = paths_showing(&server.url, &paths, GONE_MARKERS);
    assert!(
        after.is_empty(),
        "mirror, collected: the note shows on {after:?}"
    );
}

/// Every file under `dir`, recursively.
fn files_in(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    let mut folders = vec![dir.to_owned()];
    while let Some(folder) = folders.pop() {
        for entry in fs::read_dir(&folder).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                folders.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files
}

/// A disk that fills during a sync: the sync stops (every writer and fetcher, within seconds)
/// and says which file could not be written and why; the last release stays whole; the next
/// sync, with room again, completes. (The full disk is a 64 KiB tmpfs over the targets folder,
/// so this needs root; without it the test fails, saying so: CI runs as root.)
#[test]
fn a_full_disk_stops_the_sync_by_name_and_keeps_the_release() {
    use std::os::unix::fs::MetadataExt;
    assert_eq!(
        fs::metadata("/proc/self").map(|m| m.uid()).unwrap_or(1),
        0,
        "not root: mounting the small file system this test fills needs root (CI runs as root)"
    );
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    let root = archive.join("root.json");
    let origin = StaticServer::start(&archive.join("release"), "127.0.0.13");
    let dir = mirror_of(tmp.path(), &root, &origin.url);

    // Release 2: 1,000 more documents (2,000 files, more than the 64 KiB of room below).
    release_rows(tmp.path(), &archive, 1000);

    /// Unmounts when dropped, whatever the test did.
    struct Mounted(std::path::PathBuf);
    impl Drop for Mounted {
        fn drop(&mut self) {
            let _ = std::process::Command::new("umount").arg(&self.0).status();
        }
    }
    let targets = dir.join("release/targets");
    let status = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs", p(&targets)])
        .status()
        .expect("mount");
    assert!(
        status.success(),
        "cannot mount a tmpfs on {}",
        targets.display()
    );
    let mounted = Mounted(targets.clone());

    let mut child = spawn_sync(&dir, &origin.url, std::process::Stdio::piped);
    let started = std::time::Instant::now();
    while child.try_wait().expect("try_wait").is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            child.kill().ok();
            panic!("the sync did not stop within 60 s of a full disk");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "stderr: {stderr}");
    assert!(
        stderr.contains("cannot write") && stderr.contains("No space left on device"),
        "stderr: {stderr}"
    );
    assert!(stderr.contains(p(&targets)), "names the file: {stderr}");
    drop(mounted);

    // Release 1 whole, as before the sync; then release 2 with room again.
    verify_release(&root, p(&dir.join("release")), 1);
    let out = run(&["mirror", "sync", p(&dir), "--peer", &origin.url], 0);
    assert!(stdout(&out).starts_with("release 2:"), "{}", stdout(&out));
    verify_release(&root, p(&dir.join("release")), 2);
}
