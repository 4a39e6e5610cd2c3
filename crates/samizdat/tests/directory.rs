//! The directory end to end (issue 17, must-show 1): five real mirrors (`samizdat mirror serve`
//! of folders synced by `samizdat mirror sync`) on 127.0.0.162–166, one directory (`samizdat
//! directory run`) on 127.0.0.159 auditing them every two seconds, each mirror enrolled through
//! `samizdat mirror enroll` and the challenge its own server answers. Then: a mirror that starts
//! serving tampered targets is delisted as lying within two audit intervals and relisted once
//! repaired; one left on the old release when the origin publishes a new one is degraded as
//! stale; an enrolment for a URL that does not serve the challenge is refused, and one to a
//! directory that does not answer exits 5; admin calls without the token are refused; a directory
//! killed with -9 in the middle of a round and started again has lost no mirror.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use crate::util::*;

/// Seconds between the directory's audit rounds.
const INTERVAL: u64 = 2;

const MIRROR_IPS: [&str; 5] = [
    "127.0.0.162",
    "127.0.0.163",
    "127.0.0.164",
    "127.0.0.165",
    "127.0.0.166",
];
const COUNTRIES: [&str; 5] = ["DE", "NL", "IS", "CH", "SE"];

/// One enrolled mirror as `status.json` shows it.
#[derive(Debug, Clone)]
struct Seen {
    id: i64,
    state: String,
    reason: String,
    release: Option<u64>,
    disabled: bool,
}

/// The directory's `status.json`, by mirror URL.
fn status(directory: &str) -> BTreeMap<String, Seen> {
    let (code, body) = http_get(directory, "/status.json");
    assert_eq!(code, 200, "{}", String::from_utf8_lossy(&body));
    let mirrors: serde_json::Value = serde_json::from_slice(&body).expect("status.json");
    mirrors
        .as_array()
        .expect("an array")
        .iter()
        .map(|m| {
            (
                m["url"].as_str().expect("url").to_owned(),
                Seen {
                    id: m["id"].as_i64().expect("id"),
                    state: m["state"].as_str().expect("state").to_owned(),
                    reason: m["reason"].as_str().unwrap_or("").to_owned(),
                    release: m["release"].as_u64(),
                    disabled: m["disabled"].as_bool().unwrap_or(false),
                },
            )
        })
        .collect()
}

/// Waits at most `limit` until `done` holds of the directory's status; returns how long it took.
fn wait_for(
    directory: &Daemon,
    what: &str,
    limit: Duration,
    done: impl Fn(&BTreeMap<String, Seen>) -> bool,
) -> Duration {
    let started = Instant::now();
    loop {
        let seen = status(&directory.url);
        if done(&seen) {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < limit,
            "{what}: not within {limit:?}: {seen:#?}\n{}",
            directory.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Flips the last byte of every file in `targets` (`restore`: puts back the copies in
/// `backup`), then touches `timestamp.json` so that `mirror serve` loads its release again
/// (which empties its caches: from then on it serves what is on disk).
fn tamper(release: &Path, backup: &Path, restore: bool) {
    let targets = release.join("targets");
    std::fs::create_dir_all(backup).expect("backup");
    for entry in std::fs::read_dir(&targets).expect("targets") {
        let path = entry.expect("entry").path();
        let saved = backup.join(path.file_name().expect("name"));
        if restore {
            std::fs::write(&path, std::fs::read(&saved).expect("saved")).expect("restore");
        } else {
            let mut bytes = std::fs::read(&path).expect("target");
            std::fs::write(&saved, &bytes).expect("save");
            if let Some(last) = bytes.last_mut() {
                *last ^= 1;
            }
            std::fs::write(&path, &bytes).expect("tamper");
        }
    }
    std::fs::File::options()
        .write(true)
        .open(release.join("metadata/timestamp.json"))
        .and_then(|f| f.set_modified(SystemTime::now() + Duration::from_secs(1)))
        .expect("touch timestamp.json");
}

fn enroll(
    dir: &Path,
    directory: &str,
    url: &str,
    country: &str,
    code: i32,
) -> std::process::Output {
    run(
        &[
            "mirror",
            "enroll",
            p(dir),
            "--directory",
            directory,
            "--url",
            url,
            "--country",
            country,
            "--provider",
            "Loopback Hosting",
            "--contact",
            "ops@example.org",
            "--timeout",
            "10",
        ],
        code,
    )
}

/// `kill -9` of `daemon`, then waits (at most 10 s) until nothing listens on `listen`.
fn kill_9(daemon: &Daemon, listen: &str) {
    let status = std::process::Command::new("kill")
        .args(["-9", &daemon.pid().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(listen).is_ok() {
        assert!(
            Instant::now() < deadline,
            "{listen}: still answering after kill -9"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn directory_enrols_five_mirrors_delists_a_liar_relists_it_degrades_a_stale_one_and_survives_kill_9()
 {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    let root = archive.join("root.json");
    let origin = Daemon::start(
        &["mirror", "serve", p(&archive), "--listen", "127.0.0.158:0"],
        &tmp.path().join("origin.log"),
    );

    let mut mirrors: Vec<(PathBuf, Daemon)> = Vec::new();
    for (index, ip) in MIRROR_IPS.iter().enumerate() {
        let dir = tmp.path().join(format!("mirror-{index}"));
        mirror_sync(&dir, &root, &[&origin.url], &[], 0);
        let listen = format!("{ip}:{}", free_port(ip));
        let log = tmp.path().join(format!("mirror-{index}.log"));
        let daemon = Daemon::start(&["mirror", "serve", p(&dir), "--listen", &listen], &log);
        mirrors.push((dir, daemon));
    }

    // The directory: init prints its root's fingerprint and where the admin token is.
    let dir = tmp.path().join("directory");
    let listen = format!("127.0.0.159:{}", free_port("127.0.0.159"));
    let interval = INTERVAL.to_string();
    let out = run(
        &[
            "directory",
            "init",
            p(&dir),
            "--archive-root",
            p(&root),
            "--listen",
            &listen,
            "--interval",
            &interval,
        ],
        0,
    );
    let text = stdout(&out);
    let root_json = std::fs::read(dir.join("root.json")).expect("directory root.json");
    let fingerprint = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&root_json));
    assert!(
        text.contains(&format!(
            "{} (SHA-256 {fingerprint})",
            p(&dir.join("root.json"))
        )),
        "{text}"
    );
    assert!(text.contains(p(&dir.join("admin-token"))), "{text}");
    let token = std::fs::read_to_string(dir.join("admin-token")).expect("token");
    let log = tmp.path().join("directory.log");
    let mut directory = Daemon::start(&["directory", "run", p(&dir)], &log);
    assert_eq!(directory.url, format!("http://{listen}/"));

    // Each operator enrols with one call; the challenge goes as it came.
    for (index, (dir, mirror)) in mirrors.iter().enumerate() {
        let out = enroll(dir, &directory.url, &mirror.url, COUNTRIES[index], 0);
        assert!(
            stdout(&out).contains(&format!("enrolled {} with", mirror.url))
                && stdout(&out).contains("pending"),
            "{}",
            stdout(&out)
        );
        assert!(!dir.join("enroll.txt").exists(), "the used challenge stays");
    }
    let urls: Vec<String> = mirrors.iter().map(|(_, m)| m.url.clone()).collect();
    wait_for(
        &directory,
        "five mirrors active",
        Duration::from_secs(4 * INTERVAL + 10),
        |seen| {
            seen.len() == 5
                && urls
                    .iter()
                    .all(|u| seen.get(u).is_some_and(|m| m.state == "active"))
        },
    );
    let ids: BTreeMap<String, i64> = status(&directory.url)
        .into_iter()
        .map(|(url, m)| (url, m.id))
        .collect();

    // A liar: every target of mirror 0 tampered (so any sample hits one), then repaired.
    let (liar_dir, liar) = &mirrors[0];
    let backup = tmp.path().join("backup");
    tamper(&liar_dir.join("release"), &backup, false);
    let took = wait_for(
        &directory,
        "the tampered mirror delisted as lying",
        Duration::from_secs(4 * INTERVAL + 10),
        |seen| {
            seen.get(&liar.url)
                .is_some_and(|m| m.state == "delisted" && m.reason.starts_with("lying: "))
        },
    );
    // The reload that starts serving the tampered files takes up to 200 ms; then at most one
    // interval until the next round starts, and the round itself.
    eprintln!("tampered mirror delisted {took:?} after it started serving the tampered files");
    assert!(
        took <= Duration::from_secs(2 * INTERVAL),
        "delisted only after {took:?} (interval {INTERVAL} s)"
    );
    let seen = status(&directory.url);
    assert!(
        seen[&liar.url].reason.contains("target"),
        "{:?}",
        seen[&liar.url]
    );
    for url in &urls[1..] {
        assert_eq!(seen[url].state, "active", "{url}: {:?}", seen[url]);
    }
    tamper(&liar_dir.join("release"), &backup, true);
    wait_for(
        &directory,
        "the repaired mirror relisted",
        Duration::from_secs(4 * INTERVAL + 10),
        |seen| seen.get(&liar.url).is_some_and(|m| m.state == "active"),
    );

    // Stale: the origin publishes release 2; mirrors 0-3 sync it, mirror 4 does not.
    release_a_note(
        &archive,
        "directory-news.txt",
        "a second release for the directory\n",
    );
    origin.wait_for_release(2);
    for (dir, mirror) in &mirrors[..4] {
        mirror_sync(dir, &root, &[&origin.url], &[], 0);
        mirror.wait_for_release(2);
    }
    let stale = &mirrors[4].1.url;
    wait_for(
        &directory,
        "the stale mirror degraded, the others active on release 2",
        Duration::from_secs(4 * INTERVAL + 10),
        |seen| {
            seen.get(stale).is_some_and(|m| {
                m.state == "degraded" && m.reason.starts_with("stale: ") && m.release == Some(1)
            }) && urls[..4].iter().all(|u| {
                seen.get(u)
                    .is_some_and(|m| m.state == "active" && m.release == Some(2))
            })
        },
    );

    // A URL whose operator does not serve the challenge: refused, with the directory's word.
    let empty = tmp.path().join("empty");
    std::fs::create_dir_all(&empty).expect("mkdir");
    let impostor = StaticServer::start(&empty, "127.0.0.167");
    let out = enroll(&empty, &directory.url, &impostor.url, "FR", 1);
    let err = stderr(&out);
    assert!(
        err.contains("the directory refused (403)") && err.contains("cannot fetch the challenge"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "{}.well-known/samizdat/enroll.txt",
            impostor.url.trim_end_matches('/').to_owned() + "/"
        )) && err.contains(p(&empty.join("enroll.txt"))),
        "{err}"
    );
    // A directory that does not answer: unreachable, 5.
    let nowhere = format!("http://127.0.0.167:{}/", free_port("127.0.0.167"));
    let out = enroll(&empty, &nowhere, &impostor.url, "FR", 5);
    assert_says(&stderr(&out), "does not answer");
    assert_eq!(
        status(&directory.url).len(),
        5,
        "the refused URL was enrolled"
    );

    // Admin calls: without the token, or with another, refused and nothing changes.
    let id = ids[&urls[1]];
    let disable = format!("{}api/mirrors/{id}/disable", directory.url);
    for extra in [&[][..], &["-H", "Authorization: Bearer not-the-token"][..]] {
        let mut args = vec!["-X", "POST"];
        args.extend_from_slice(extra);
        let (head, _) = curl(&disable, &args);
        assert!(head.starts_with("http/1.1 401"), "{head}");
        let (head, _) = curl(
            &format!("{}api/mirrors/{id}", directory.url),
            &[&["-X", "DELETE"][..], extra].concat(),
        );
        assert!(head.starts_with("http/1.1 401"), "{head}");
    }
    assert!(!status(&directory.url)[&urls[1]].disabled);
    assert_eq!(status(&directory.url).len(), 5);
    let bearer = format!("Authorization: Bearer {}", token.trim());
    let (head, _) = curl(&disable, &["-X", "POST", "-H", &bearer]);
    assert!(head.starts_with("http/1.1 204"), "{head}");
    assert!(status(&directory.url)[&urls[1]].disabled);
    let (head, _) = curl(
        &format!("{}api/mirrors/{id}/enable", directory.url),
        &["-X", "POST", "-H", &bearer],
    );
    assert!(head.starts_with("http/1.1 204"), "{head}");

    // One round now, from the command line, with every target sampled: how long such a round
    // lasts (then the kills below fall inside one).
    let out = run(&["directory", "audit", p(&dir), "--samples", "1000"], 0);
    let text = stdout(&out);
    assert!(
        text.contains("0 pending, 4 active, 1 degraded, 0 delisted"),
        "{text}"
    );
    let round_ms: u64 = text
        .split("audited 5 mirrors in ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|ms| ms.parse().ok())
        .unwrap_or_else(|| panic!("no round time in {text}"));

    eprintln!("round with every target sampled: {round_ms} ms");
    // kill -9 in the middle of a round: a directory's first round starts as it listens, and
    // with every target sampled it lasts `round_ms`; the kills fall at its start, a third and
    // two thirds into it.
    kill_9(&directory, &listen);
    for delay in [0, round_ms / 3, 2 * round_ms / 3] {
        directory = Daemon::start(
            &["directory", "run", p(&dir), "--samples", "1000"],
            &tmp.path().join(format!("directory-{delay}.log")),
        );
        std::thread::sleep(Duration::from_millis(delay));
        kill_9(&directory, &listen);
    }
    // Started again, on another port given by the environment over directory.toml's.
    let moved = format!("127.0.0.159:{}", free_port("127.0.0.159"));
    let mut command = samizdat();
    command
        .args(["directory", "run", p(&dir)])
        .env("SAMIZDAT_DIRECTORY_LISTEN", &moved);
    directory = Daemon::start_command(command, &log);
    assert_eq!(directory.url, format!("http://{moved}/"));
    let after: BTreeMap<String, i64> = status(&directory.url)
        .into_iter()
        .map(|(url, m)| (url, m.id))
        .collect();
    assert_eq!(after, ids, "an enrolled mirror was lost");
    wait_for(
        &directory,
        "the directory audits again after its restart",
        Duration::from_secs(4 * INTERVAL + 10),
        |seen| {
            urls[..4]
                .iter()
                .all(|u| seen.get(u).is_some_and(|m| m.state == "active"))
                && seen.get(stale).is_some_and(|m| m.state == "degraded")
        },
    );
    let (code, _) = http_get(&directory.url, "/metadata/timestamp.json");
    assert_eq!(code, 200, "the signed list after kill -9");
}

/// What the directory's commands are given wrong is named: the file, the setting, the folder.
#[test]
fn directory_commands_name_what_is_wrong() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let not_a_root = tmp.path().join("notes.txt");
    std::fs::write(&not_a_root, "not json").expect("write");
    let dir = tmp.path().join("directory");
    let out = run(
        &[
            "directory",
            "init",
            p(&dir),
            "--archive-root",
            p(&not_a_root),
        ],
        1,
    );
    assert!(
        stderr(&out).contains("notes.txt") && stderr(&out).contains("not a TUF root.json"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.exists(), "a failed init left {}", dir.display());
    let missing = tmp.path().join("missing.json");
    let out = run(
        &["directory", "init", p(&dir), "--archive-root", p(&missing)],
        1,
    );
    assert_says(&stderr(&out), "missing.json");

    let archive = tmp.path().join("archive");
    run(&["init", p(&archive)], 0);
    let out = run(
        &[
            "directory",
            "init",
            p(&dir),
            "--archive-root",
            p(&archive.join("root.json")),
            "--listen",
            "localhost",
        ],
        1,
    );
    assert_says(&stderr(&out), "IP:PORT");
    for command in ["run", "audit"] {
        let out = run(&["directory", command, p(&tmp.path().join("nowhere"))], 1);
        assert!(
            stderr(&out).contains("directory.toml") && stderr(&out).contains("directory init"),
            "{command}: {}",
            stderr(&out)
        );
    }
}

/// A new mirror enrols while it still has no release (its server answers the challenge before
/// anything else): it stays pending, audited as serving no complete release, and is listed once
/// it serves the publisher's first release.
#[test]
fn a_mirror_enrols_before_its_first_release_and_is_listed_once_it_serves_one() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = tmp.path().join("archive");
    run(&["init", p(&archive)], 0);
    let root = archive.join("root.json");
    // The origin serves the archive's folder: no release/ in it yet.
    let origin = StaticServer::start(&archive, "127.0.0.168");
    let dir = tmp.path().join("mirror");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::copy(&root, dir.join("root.json")).expect("copy root");
    std::fs::write(
        dir.join("mirror.toml"),
        format!(
            "peers = [\"{}/release/\"]\nlisten = [\"127.0.0.168:0\"]\ninterval_secs = 1\n",
            origin.url.trim_end_matches('/')
        ),
    )
    .expect("write mirror.toml");
    let mirror = Daemon::start(&["mirror", "run", p(&dir)], &tmp.path().join("mirror.log"));

    let directory_dir = tmp.path().join("directory");
    run(
        &[
            "directory",
            "init",
            p(&directory_dir),
            "--archive-root",
            p(&root),
            "--listen",
            "127.0.0.169:0",
            "--interval",
            "1",
        ],
        0,
    );
    let directory = Daemon::start(
        &["directory", "run", p(&directory_dir)],
        &tmp.path().join("directory.log"),
    );
    let out = enroll(&dir, &directory.url, &mirror.url, "PT", 0);
    assert_says(&stdout(&out), ": pending");

    let out = run(&["directory", "audit", p(&directory_dir)], 0);
    let text = stdout(&out);
    assert!(
        text.contains("audited 1 mirrors") && text.contains("1 pending, 0 active"),
        "{text}"
    );
    let (_, body) = http_get(&directory.url, "/status.json");
    let seen: serde_json::Value = serde_json::from_slice(&body).expect("status.json");
    assert_eq!(seen[0]["state"], "pending", "{seen}");
    assert!(seen[0]["failures"].as_u64() >= Some(1), "{seen}");

    run(&["add", p(&archive), p(&sample_documents())], 0);
    run(&["release", "--no-site", p(&archive)], 0);
    mirror.wait_for_release(1);
    wait_for(
        &directory,
        "the mirror listed once it serves the release",
        Duration::from_secs(15),
        |seen| {
            seen.get(&mirror.url)
                .is_some_and(|m| m.state == "active" && m.release == Some(1))
        },
    );
}

/// `deploy/samizdat-directory.service`, beside the mirror's: `systemd-analyze verify` finds no
/// error or warning (its `ExecStart=` resolved inside a root laid out as on a server), and
/// `systemd-analyze security` rates it hardened (exposure 2.0 or less); a misspelt directive
/// is caught, so the check bites.
#[test]
fn the_directory_systemd_unit_verifies_and_is_hardened() {
    const UNIT: &str = "samizdat-directory.service";
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    let units = root.join("etc/systemd/system");
    std::fs::create_dir_all(&units).expect("mkdir");
    std::fs::create_dir_all(root.join("usr/local/bin")).expect("mkdir");
    std::fs::copy(
        env!("CARGO_BIN_EXE_samizdat"),
        root.join("usr/local/bin/samizdat"),
    )
    .expect("cp");
    let unit = std::fs::read_to_string(repo().join("deploy").join(UNIT)).expect(UNIT);
    std::fs::write(units.join(UNIT), &unit).expect("write");
    let analyze = |args: &[&str], name: &str| {
        let out = std::process::Command::new("systemd-analyze")
            .args(args)
            .arg(format!("--root={}", p(root)))
            .arg(name)
            .output()
            .expect("systemd-analyze not found: ./test.sh installs it (apt-get install systemd)");
        (
            out.status.success(),
            format!("{}{}", stdout(&out), stderr(&out)),
        )
    };
    let verify = ["verify", "--recursive-errors=no", "--man=no"];
    let (ok, out) = analyze(&verify, UNIT);
    assert!(
        ok && out.trim().is_empty(),
        "systemd-analyze verify {UNIT}:\n{out}"
    );
    let security = ["security", "--offline=yes", "--no-pager", "--threshold=20"];
    let (ok, out) = analyze(&security, UNIT);
    assert!(ok, "{UNIT} is not hardened enough:\n{out}");
    std::fs::write(
        units.join("broken.service"),
        unit.replace("ProtectSystem=", "ProtectSytem="),
    )
    .expect("write");
    let (ok, out) = analyze(&verify, "broken.service");
    assert!(
        !(ok && out.trim().is_empty()) && out.contains("ProtectSytem"),
        "a misspelt directive passed:\n{out}"
    );
}
