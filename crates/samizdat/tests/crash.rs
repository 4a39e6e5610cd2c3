//! Kill -9 during `release`: the previous release must still verify, and the next run completes.

use crate::util::*;
use std::time::Duration;

fn verify_version(archive: &std::path::Path, version: u64) {
    let out = verify_archive(archive, &[], 0);
    let text = stdout(&out);
    assert!(
        text.starts_with(&format!("release {version}: authentic")),
        "{text}"
    );
}

fn add_more(archive: &std::path::Path, dir: &std::path::Path, n: usize) {
    std::fs::create_dir_all(dir).expect("mkdir");
    for i in 0..n {
        std::fs::write(
            dir.join(format!("note-{i}.txt")),
            format!("Note {i} of a later batch.\n"),
        )
        .expect("write");
    }
    run(&["add", p(archive), p(dir)], 0);
}

#[test]
fn kill_at_each_phase_of_a_release_keeps_the_previous_release() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    let mut version = 1;
    for (n, phase) in ["records", "targets", "metadata"].iter().enumerate() {
        add_more(&archive, &tmp.path().join(format!("batch-{n}")), 5);
        let mut child = spawn_until(
            &["release", p(&archive)],
            &[("SAMIZDAT_PAUSE_AT", phase)],
            &format!("paused at {phase}"),
        );
        child.kill().expect("kill -9");
        child.wait().expect("wait");
        verify_version(&archive, version);
        run(&["release", p(&archive)], 0);
        version += 1;
        verify_version(&archive, version);
    }
}

/// Killed after its commit point but before the catalog records it: the new release stands, the
/// catalog no longer describes the committed release, and the next release reads every document
/// (a release from changes would miss what the killed one published).
#[test]
fn killed_after_its_commit_the_next_release_reads_every_document() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    add_more(&archive, &tmp.path().join("batch-0"), 5);
    let mut child = spawn_until(
        &["release", "--no-site", p(&archive)],
        &[("SAMIZDAT_PAUSE_AT", "committed")],
        "paused at committed",
    );
    child.kill().expect("kill -9");
    child.wait().expect("wait");
    verify_version(&archive, 2);
    add_more(&archive, &tmp.path().join("batch-1"), 5);
    let out = run(&["release", "--no-site", p(&archive)], 0);
    assert_says(&stdout(&out), "from every document");
    verify_version(&archive, 3);
    let out = verify_archive(&archive, &["note-4-txt"], 0);
    assert_says(&stdout(&out), "2 targets verified");
    let out = run(&["release", "--no-site", p(&archive)], 0);
    assert!(
        stdout(&out).contains("from the changes since the last release")
            && stdout(&out).contains(" 0 of "),
        "{}",
        stdout(&out)
    );
}

#[test]
fn kill_at_random_moments_of_a_release_keeps_a_valid_release() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    add_more(&archive, &tmp.path().join("batch"), 200);
    // Delays spread over a release of this size (tens of milliseconds); bounded trials.
    for delay_ms in [0u64, 2, 5, 10, 20, 40] {
        let mut child = samizdat()
            .args(["release", p(&archive)])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn");
        std::thread::sleep(Duration::from_millis(delay_ms));
        let _ = child.kill();
        child.wait().expect("wait");
        let out = verify_archive(&archive, &[], 0);
        assert_says(&stdout(&out), "authentic and fresh");
    }
    run(&["release", p(&archive)], 0);
    let out = verify_archive(&archive, &["note-199-txt"], 0);
    assert_says(&stdout(&out), "2 targets verified");
}
