//! What the binary says and its exit status: a network failure is not a verification failure
//! (5 and "cannot get", never 1 and "does not verify"); a reader that closes the pipe early
//! ends nothing badly; `mirror sync` takes its peers from `mirror.toml`; `mirror init` checks
//! its peers and leaves nothing behind when it fails; the demo logs only changes and names a
//! command that runs.

use crate::util::*;
use std::fs;
use std::io::Read;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

/// A URL on `ip` where nothing listens.
fn dead_peer(ip: &str) -> String {
    format!("http://{ip}:{}/", free_port(ip))
}

/// `samizdat ARGS` with stdout a pipe whose reader closed before anything was written: its
/// exit status and stderr.
fn run_with_stdout_closed(args: &[&str]) -> (Option<i32>, String) {
    let mut child = samizdat()
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn samizdat");
    drop(child.stdout.take());
    let mut err = String::new();
    child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("read stderr");
    let status = child.wait().expect("wait");
    (status.code(), err)
}

#[test]
fn verify_says_cannot_get_with_status_5_for_a_network_failure_and_does_not_verify_with_1_for_a_forgery()
 {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    let root = archive.join("root.json");

    // Nothing listens: nothing verified, nothing found wrong.
    let dead = dead_peer("127.0.0.150");
    let out = run(&["verify", "--root", p(&root), &dead], 5);
    let err = stderr(&out);
    assert!(
        err.contains("cannot get the release, nothing verified") && err.contains(&dead),
        "{err}"
    );
    assert!(!err.contains("does not verify"), "{err}");

    // A peer that serves the metadata and hangs up on every file: the document is unreachable,
    // not forged.
    let hangup = StaticServer::start_evil(&archive.join("release"), "127.0.0.151", "hangup");
    let out = run(
        &["verify", "--root", p(&root), &hangup.url, "10PORTCITY101"],
        5,
    );
    assert_says(&stderr(&out), "UNREACHABLE 10PORTCITY101");
    assert!(!stderr(&out).contains("FAILED"), "{}", stderr(&out));
    assert_says(&stdout(&out), "0 FAILED, 1 could not be fetched");

    // A forged timestamp signature: exit 1, "does not verify".
    let forged = tmp.path().join("forged");
    copy_tree(&archive.join("release"), &forged);
    let timestamp = forged.join("metadata/timestamp.json");
    let text = fs::read_to_string(&timestamp).expect("read");
    let sig = text.find("\"sig\":\"").expect("a signature") + 7;
    let flipped = if &text[sig..sig + 1] == "0" { "1" } else { "0" };
    fs::write(
        &timestamp,
        format!("{}{flipped}{}", &text[..sig], &text[sig + 1..]),
    )
    .expect("write");
    let out = run(&["verify", "--root", p(&root), p(&forged)], 1);
    assert_says(&stderr(&out), "does not verify");
}

#[test]
fn mirror_sync_exits_5_when_no_peer_answers_and_1_when_a_peer_lies() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    let root = archive.join("root.json");
    let dir = tmp.path().join("mirror");

    let dead = dead_peer("127.0.0.152");
    let out = mirror_sync(&dir, &root, &[&dead], &[], 5);
    let err = stderr(&out);
    assert!(
        err.contains("no peer answered") && err.contains(&dead),
        "{err}"
    );
    assert!(!err.contains("verif"), "{err}");
    let out = mirror_sync(&dir, &root, &[&dead], &["--json"], 5);
    let report: serde_json::Value = serde_json::from_str(stdout(&out).trim()).expect("JSON");
    assert_eq!(report["Err"]["kind"], "Unreachable", "{report}");

    // Metadata served, every file hung up on: unreachable too.
    let hangup = StaticServer::start_evil(&archive.join("release"), "127.0.0.153", "hangup");
    let out = mirror_sync(&dir, &root, &[&hangup.url], &[], 5);
    assert_says(&stderr(&out), "no peer served it intact");

    // Files cut in half: a lie, whoever else did not answer.
    let liar = StaticServer::start_evil(&archive.join("release"), "127.0.0.153", "truncate");
    let out = mirror_sync(&dir, &root, &[&liar.url, &dead], &[], 1);
    assert_says(&stderr(&out), "keeps its last release");
    assert!(!dir.join("release/metadata/timestamp.json").exists());
}

#[test]
fn mirror_sync_takes_its_peers_and_time_limit_from_mirror_toml() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    let root = archive.join("root.json");
    let origin = StaticServer::start(&archive.join("release"), "127.0.0.154");
    let dir = tmp.path().join("mirror");
    mirror_init(&dir, &root, &[&origin.url], &[], 0);
    let out = run(&["mirror", "sync", p(&dir)], 0);
    assert!(
        stdout(&out).starts_with("release 1: 29 targets"),
        "{}",
        stdout(&out)
    );

    // No mirror.toml and no --peer: says what to give.
    let bare = tmp.path().join("bare");
    let out = run(&["mirror", "sync", p(&bare), "--root", p(&root)], 1);
    assert_says(&stderr(&out), "--peer URL");
    assert!(!bare.exists(), "a folder was made for nothing");
}

#[test]
fn mirror_init_says_what_each_peer_answered_and_writes_nothing_unless_one_verifies() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    let root = archive.join("root.json");
    let dir = tmp.path().join("mirror");

    // Nobody answers: exit 5, and no folder.
    let dead = dead_peer("127.0.0.155");
    let out = mirror_init(&dir, &root, &[&dead], &[], 5);
    assert_says(&stderr(&out), format!("peer {dead} does not answer"));
    assert!(!dir.exists(), "mirror init left a folder behind");

    // Another publisher's release: exit 1, nothing written either.
    let other = tmp.path().join("other");
    fs::create_dir(&other).expect("mkdir");
    let other_archive = sample_release(&other, &[]);
    let stranger = StaticServer::start(&other_archive.join("release"), "127.0.0.155");
    let out = mirror_init(&dir, &root, &[&stranger.url], &[], 1);
    assert_says(&stderr(&out), "does not verify");
    assert!(!dir.exists(), "mirror init left a folder behind");

    // One of two answers with a release that verifies: created, and each peer's answer said.
    let origin = StaticServer::start(&archive.join("release"), "127.0.0.156");
    let out = mirror_init(&dir, &root, &[&dead, &origin.url], &[], 0);
    assert_says(
        &stdout(&out),
        format!("peer {} answers: release 1, verified", origin.url),
    );
    assert_says(&stderr(&out), format!("peer {dead} does not answer"));
    assert!(dir.join("mirror.toml").exists() && dir.join("root.json").exists());
}

#[test]
fn verify_and_demo_end_with_their_own_status_when_the_reader_closes_the_pipe_early() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    let (root, release) = (archive.join("root.json"), archive.join("release"));
    let (code, err) = run_with_stdout_closed(&["verify", "--root", p(&root), p(&release)]);
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // A verification that fails still says so in its status.
    let (code, err) =
        run_with_stdout_closed(&["verify", "--root", p(&root), p(&release), "nosuchdoc"]);
    assert_eq!(code, Some(1), "{err}");
    assert!(!err.contains("panicked"), "{err}");

    let demo = tmp.path().join("demo");
    let (code, err) = run_with_stdout_closed(&[
        "demo",
        "--dir",
        p(&demo),
        "--port",
        "0",
        "--stop-after",
        "1",
    ]);
    assert_eq!(code, Some(0), "{err}");
    assert!(!err.contains("panicked"), "{err}");
}

/// The demo's "check a mirror from anywhere" line is a command that runs as printed (after
/// `cargo run` no `samizdat` is on PATH).
#[test]
fn the_demo_names_a_verify_command_that_runs_as_printed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let demo = tmp.path().join("demo");
    let out = run(
        &[
            "demo",
            "--dir",
            p(&demo),
            "--port",
            "0",
            "--stop-after",
            "1",
        ],
        0,
    );
    let text = stdout(&out);
    let command = text
        .lines()
        .find_map(|line| line.strip_prefix("check a mirror from anywhere: "))
        .unwrap_or_else(|| panic!("no command in:\n{text}"));
    let words: Vec<&str> = command.split(' ').collect();
    assert!(Path::new(words[0]).is_absolute(), "{command}");
    // The mirror stopped with the demo: the command reaches the binary and the root it names.
    let out = std::process::Command::new(words[0])
        .args(&words[1..])
        .current_dir(tmp.path())
        .output()
        .expect("run the printed command");
    assert_eq!(out.status.code(), Some(5), "{command}: {}", stderr(&out));
}

/// A mirror's log says what changed: a round that finds the release it served already says
/// nothing (the demo printed "up to date" every 10 s).
#[test]
fn mirror_run_logs_a_release_once_not_up_to_date_every_round() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    let root = archive.join("root.json");
    let origin = StaticServer::start(&archive.join("release"), "127.0.0.157");
    let dir = tmp.path().join("mirror");
    mirror_init(
        &dir,
        &root,
        &[&origin.url],
        &["--listen", "127.0.0.157:0", "--interval", "1"],
        0,
    );
    let log = tmp.path().join("mirror.log");
    let mirror = Daemon::start(&["mirror", "run", p(&dir)], &log);
    mirror.wait_for_release(1);
    // Three more rounds.
    let mut attempts = vec![mirror.status()["sync"]["last_attempt"].clone()];
    let deadline = Instant::now() + Duration::from_secs(30);
    while attempts.len() < 4 {
        assert!(
            Instant::now() < deadline,
            "no sync rounds: {}",
            mirror.log()
        );
        let attempt = mirror.status()["sync"]["last_attempt"].clone();
        if attempts.last() != Some(&attempt) {
            attempts.push(attempt);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let text = mirror.log();
    assert_eq!(text.matches("release 1 from").count(), 1, "{text}");
    assert!(!text.contains("up to date"), "{text}");
}
