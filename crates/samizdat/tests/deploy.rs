//! Deployment (`deploy/`): install.sh into a temporary prefix, the systemd unit it installs
//! checked by `systemd-analyze`, and the volunteer's side from the README: the restricted rsync
//! key (rrsync) the publisher pushes through, and the nginx site that serves the web root.

use crate::util::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const UNIT: &str = "samizdat-mirror.service";
/// The listening socket systemd holds across the service's restarts (`mirror::handover`).
const SOCKET: &str = "samizdat-mirror.socket";
/// install.sh --listen's drop-in: the socket listens where mirror.toml does.
const LISTEN_DROP_IN: &str = "samizdat-mirror.socket.d/listen.conf";

fn deploy() -> PathBuf {
    repo().join("deploy")
}

/// Runs deploy/install.sh into `prefix` with the binary under test.
fn install(prefix: &Path, args: &[&str]) -> Output {
    Command::new(deploy().join("install.sh"))
        .args([
            "--prefix",
            p(prefix),
            "--binary",
            env!("CARGO_BIN_EXE_samizdat"),
        ])
        .args(args)
        .output()
        .expect("run deploy/install.sh")
}

fn expect_code(out: &Output, code: i32, what: &str) {
    assert_eq!(
        out.status.code(),
        Some(code),
        "{what}: exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        stdout(out),
        stderr(out)
    );
}

fn read(path: &Path) -> Vec<u8> {
    fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn text(path: &Path) -> String {
    String::from_utf8(read(path)).expect("utf-8")
}

#[test]
fn install_sh_installs_into_a_prefix_keeps_the_state_and_refuses_bad_flags() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    let root = archive.join("root.json");
    let prefix = tmp.path().join("prefix");
    // Peers that answer: `mirror init` checks them before it writes anything.
    let origin_server = StaticServer::start(&archive.join("release"), "127.0.0.160");
    let origin = origin_server.url.as_str();

    let out = install(&prefix, &["--root", p(&root), "--peer", origin]);
    expect_code(&out, 0, "first install");
    let bin = prefix.join("usr/local/bin/samizdat");
    let unit = prefix.join("etc/systemd/system").join(UNIT);
    let state = prefix.join("var/lib/samizdat-mirror");
    assert_eq!(read(&bin), read(Path::new(env!("CARGO_BIN_EXE_samizdat"))));
    let mode = fs::metadata(&bin).expect("stat").permissions().mode();
    assert_eq!(mode & 0o777, 0o755, "binary mode {mode:o}");
    assert_eq!(read(&unit), read(&deploy().join(UNIT)));
    let units = prefix.join("etc/systemd/system");
    assert_eq!(read(&units.join(SOCKET)), read(&deploy().join(SOCKET)));
    assert!(
        !units.join(LISTEN_DROP_IN).exists(),
        "a drop-in without --listen: the socket unit's own address is samizdat's default"
    );
    assert_eq!(read(&state.join("root.json")), read(&root));
    let toml = text(&state.join("mirror.toml"));
    assert!(
        toml.contains(origin),
        "the peer is not in mirror.toml:\n{toml}"
    );
    assert!(
        stdout(&out).contains("systemd not touched"),
        "a prefix install must leave the system alone:\n{}",
        stdout(&out)
    );

    // The same command again: nothing changes.
    expect_code(
        &install(&prefix, &["--root", p(&root), "--peer", origin]),
        0,
        "second install",
    );
    assert_eq!(text(&state.join("mirror.toml")), toml);
    assert_eq!(read(&state.join("root.json")), read(&root));

    // An upgrade (no configuration flags) keeps the configuration and what the mirror synced.
    fs::create_dir_all(state.join("release/metadata")).expect("mkdir");
    let synced = state.join("release/metadata/timestamp.json");
    fs::write(&synced, b"{}").expect("write");
    expect_code(&install(&prefix, &[]), 0, "upgrade");
    assert_eq!(text(&state.join("mirror.toml")), toml);
    assert!(synced.exists(), "the upgrade lost the mirror's release");

    // New flags: a new configuration (the root kept when not given), the release kept; what
    // follows `--` goes to `samizdat mirror init` as it is.
    let other_server = StaticServer::start(&archive.join("release"), "127.0.0.161");
    let other = other_server.url.as_str();
    let out = install(
        &prefix,
        &[
            "--peer",
            other,
            "--listen",
            "127.0.0.1:8081",
            "--",
            "--timeout",
            "17",
        ],
    );
    expect_code(&out, 0, "reconfigure");
    let toml2 = text(&state.join("mirror.toml"));
    assert!(
        toml2.contains(other)
            && !toml2.contains(origin)
            && toml2.contains("127.0.0.1:8081")
            && toml2.contains("timeout_secs = 17"),
        "{toml2}"
    );
    assert_eq!(read(&state.join("root.json")), read(&root));
    assert!(synced.exists(), "reconfiguring lost the mirror's release");
    let drop_in = text(&units.join(LISTEN_DROP_IN));
    assert_eq!(
        drop_in,
        "# Written by install.sh --listen: the addresses of mirror.toml.\n\
         [Socket]\nListenStream=\nListenStream=127.0.0.1:8081\n"
    );

    // Bad input: a clear message, a non-zero exit, and the installed mirror untouched.
    let cases: [(&[&str], &str); 7] = [
        (&["--bogus"], "--bogus"),
        (&["--peer"], "--peer needs a value"),
        (&["--peer", "origin.example"], "not an http"),
        (
            &["--root", "/nonexistent/root.json", "--peer", origin],
            "/nonexistent/root.json",
        ),
        (&["--peer", origin, "--interval", "soon"], "soon"),
        (
            &["--peer", origin, "--", "--no-such-flag"],
            "--no-such-flag",
        ),
        (&["--deb", "samizdat.deb"], "no --prefix"),
    ];
    for (args, message) in cases {
        let out = install(&prefix, args);
        assert_ne!(out.status.code(), Some(0), "{args:?} succeeded");
        assert!(
            stderr(&out).contains(message),
            "{args:?}: no {message:?} in:\n{}",
            stderr(&out)
        );
        assert_eq!(
            text(&state.join("mirror.toml")),
            toml2,
            "{args:?} changed the config"
        );
        assert_eq!(text(&units.join(LISTEN_DROP_IN)), drop_in, "{args:?}");
    }
    // An upgrade keeps the socket's addresses with the configuration.
    expect_code(&install(&prefix, &[]), 0, "upgrade after --listen");
    assert_eq!(text(&units.join(LISTEN_DROP_IN)), drop_in);
    let leftovers: Vec<_> = fs::read_dir(prefix.join("var/lib"))
        .expect("ls")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(leftovers, ["samizdat-mirror"], "a staging folder was left");

    // --domain goes to mirror init, which moves `listen` to HTTPS's port: the socket follows
    // mirror.toml, not only --listen.
    let out = install(
        &prefix,
        &["--peer", other, "--domain", "mirror.example.org"],
    );
    expect_code(&out, 0, "--domain");
    let toml3 = text(&state.join("mirror.toml"));
    assert!(toml3.contains("mirror.example.org"), "{toml3}");
    assert_eq!(
        text(&units.join(LISTEN_DROP_IN)),
        "# Written by install.sh --listen: the addresses of mirror.toml.\n\
         [Socket]\nListenStream=\nListenStream=0.0.0.0:443\n"
    );

    // A fresh prefix needs the publisher's root: nothing is installed without it.
    let fresh = tmp.path().join("fresh");
    let out = install(&fresh, &["--peer", origin]);
    assert_ne!(out.status.code(), Some(0));
    assert_says(&stderr(&out), "--root ROOT.json");
    assert!(!fresh.join("usr/local/bin/samizdat").exists());
    assert!(!fresh.join("var/lib/samizdat-mirror").exists());

    let out = Command::new(deploy().join("install.sh"))
        .arg("--help")
        .output()
        .expect("install.sh --help");
    expect_code(&out, 0, "--help");
    assert_says(&stdout(&out), "--peer URL");
}

/// `systemd-analyze verify` over a root laid out as install.sh lays it (the test above checks
/// the paths and that the unit is installed byte for byte): no error and no warning. Works
/// without systemd as PID 1: `--root` resolves the unit and its ExecStart= inside the prefix,
/// `--recursive-errors=no` leaves out the standard targets a bare prefix does not have.
fn analyze(root: &Path, unit: &str) -> (bool, String) {
    let out = Command::new("systemd-analyze")
        .args(["verify", "--recursive-errors=no", "--man=no"])
        .arg(format!("--root={}", p(root)))
        .arg(unit)
        .output()
        .expect("systemd-analyze not found: ./test.sh installs it (apt-get install systemd)");
    let text = format!("{}{}", stdout(&out), stderr(&out));
    (out.status.success() && text.trim().is_empty(), text)
}

/// `systemd-analyze security --offline`: the exposure score, 0 to 100 (shown divided by ten).
fn exposure_at_most(root: &Path, unit: &str, threshold: u32) -> (bool, String) {
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--no-pager"])
        .arg(format!("--threshold={threshold}"))
        .arg(format!("--root={}", p(root)))
        .arg(unit)
        .output()
        .expect("systemd-analyze");
    (out.status.success(), stdout(&out))
}

#[test]
fn systemd_analyze_verifies_the_unit_and_rates_it_hardened() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    let units = root.join("etc/systemd/system");
    fs::create_dir_all(&units).expect("mkdir");
    fs::create_dir_all(root.join("usr/local/bin")).expect("mkdir");
    fs::copy(
        env!("CARGO_BIN_EXE_samizdat"),
        root.join("usr/local/bin/samizdat"),
    )
    .expect("cp");
    let unit = text(&deploy().join(UNIT));
    fs::write(units.join(UNIT), &unit).expect("write");
    let socket = text(&deploy().join(SOCKET));
    fs::write(units.join(SOCKET), &socket).expect("write");

    let (ok, out) = analyze(root, UNIT);
    assert!(ok, "systemd-analyze verify {UNIT}:\n{out}");
    // The socket unit (verify also finds the service it starts), alone and with install.sh
    // --listen's drop-in.
    let (ok, out) = analyze(root, SOCKET);
    assert!(ok, "systemd-analyze verify {SOCKET}:\n{out}");
    let drop_in = units.join(LISTEN_DROP_IN);
    fs::create_dir_all(drop_in.parent().expect("parent")).expect("mkdir");
    fs::write(
        &drop_in,
        "[Socket]\nListenStream=\nListenStream=127.0.0.1:8081\nListenStream=[::1]:8081\n",
    )
    .expect("write");
    let (ok, out) = analyze(root, SOCKET);
    assert!(
        ok,
        "systemd-analyze verify {SOCKET} with {LISTEN_DROP_IN}:\n{out}"
    );
    fs::write(
        &drop_in,
        "[Socket]\nListenStream=\nListenStream=127.0.0.1:80810\n",
    )
    .expect("write");
    let (ok, out) = analyze(root, SOCKET);
    assert!(
        !ok && out.contains("80810"),
        "a drop-in with a bad port verified:\n{out}"
    );
    fs::remove_file(&drop_in).expect("rm");
    let broken = socket.replace("FreeBind=", "FreeBnd=");
    fs::write(units.join("broken.socket"), broken).expect("write");
    let (ok, out) = analyze(root, "broken.socket");
    assert!(!ok && out.contains("FreeBnd"), "{out}");
    // Exposure 2.0 or less ("OK"): the hardening directives are all in effect.
    let (ok, out) = exposure_at_most(root, UNIT, 20);
    assert!(ok, "{UNIT} is not hardened enough:\n{out}");

    // The checks bite: a misspelt directive, a bad value, a missing binary, no hardening.
    let broken = [
        (
            "typo",
            unit.replace("ProtectSystem=", "ProtectSytem="),
            "ProtectSytem",
        ),
        ("value", unit.replace("MemoryMax=2G", "MemoryMax=2Q"), "2Q"),
        (
            "binary",
            unit.replace("/usr/local/bin/samizdat ", "/usr/local/bin/samizdat-gone "),
            "samizdat-gone",
        ),
    ];
    for (name, content, message) in broken {
        let file = format!("broken-{name}.service");
        fs::write(units.join(&file), content).expect("write");
        let (ok, out) = analyze(root, &file);
        assert!(
            !ok && out.contains(message),
            "{name}: verify passed or is silent:\n{out}"
        );
    }
    let bare: String = unit
        .lines()
        .filter(|l| {
            l.starts_with('[')
                || ["Exec", "User=", "Group=", "State"]
                    .iter()
                    .any(|k| l.starts_with(k))
        })
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(units.join("bare.service"), bare).expect("write");
    assert!(
        analyze(root, "bare.service").0,
        "the bare unit should still verify"
    );
    let (ok, out) = exposure_at_most(root, "bare.service", 20);
    assert!(!ok, "an unhardened unit passed the exposure check:\n{out}");
}

/// The README's authorized_keys line for the publisher's key on a volunteer's box.
const RRSYNC: &str = "rrsync -wo -no-del -munge";

/// Stands in for ssh + sshd with a forced command: drops ssh's options and the host, then runs
/// the authorized_keys `command=` as sshd does (`sh -c`, with SSH_ORIGINAL_COMMAND set).
const FAKE_SSH: &str = r#"#!/bin/sh
while [ "$#" -gt 0 ]; do case "$1" in -l|-p|-o) shift 2 ;; -*) shift ;; *) break ;; esac; done
shift
SSH_ORIGINAL_COMMAND="$*" exec /bin/sh -c "$FORCED_COMMAND"
"#;

/// nginx running deploy/nginx-samizdat.conf over `root` on `ip` (killed on drop).
fn site(root: &Path, ip: &str) -> Nginx {
    let conf = text(&deploy().join("nginx-samizdat.conf"));
    Nginx::start_with(ip, |port| {
        conf.replace("listen [::]:80;", "")
            .replace("listen 80;", &format!("listen {ip}:{port};"))
            .replace("root /var/www/samizdat;", &format!("root {};", p(root)))
    })
}

/// HEAD `path` on `site`: the status code and the Cache-Control header, if any.
fn head(site: &Nginx, path: &str) -> (u16, Option<String>) {
    let url = format!("{}{path}", site.url);
    let (head, _) = curl(&url, &["-I"]);
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad answer from {url}: {head}"));
    let cache = head
        .lines()
        .find_map(|l| l.strip_prefix("cache-control: "))
        .map(|v| v.trim().to_owned());
    (status, cache)
}

#[test]
fn a_volunteer_web_root_takes_pushes_through_rrsync_only_and_nginx_serves_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    let www = tmp.path().join("www");
    fs::create_dir(&www).expect("mkdir");
    let ssh = tmp.path().join("fake-ssh");
    fs::write(&ssh, FAKE_SSH).expect("write");
    fs::set_permissions(&ssh, fs::Permissions::from_mode(0o755)).expect("chmod");
    let forced = format!("{RRSYNC} {}", p(&www));
    let envs = [("RSYNC_RSH", p(&ssh)), ("FORCED_COMMAND", forced.as_str())];
    let dest = "publisher@volunteer.example:";
    let rsync = |args: &[&str]| -> Output {
        Command::new("rsync")
            .args(args)
            .envs(envs)
            .output()
            .expect("rsync (./test.sh installs it)")
    };
    let push = || {
        let out = samizdat()
            .args(["mirror", "push", p(&archive), dest])
            .envs(envs)
            .output()
            .expect("samizdat mirror push");
        expect_code(&out, 0, "push through rrsync");
    };

    // Two releases pushed (the second replaces timestamp.json): the web root holds the newest.
    push();
    release_a_note(&archive, "late.txt", "A late note.\n");
    push();
    let release = archive.join("release");
    assert_eq!(
        read(&www.join("metadata/timestamp.json")),
        read(&release.join("metadata/timestamp.json"))
    );

    // The key cannot read, delete, leave the web root, or plant a symlink that leads out of it.
    let out = rsync(&["-rlt", &format!("{dest}/"), p(&tmp.path().join("pulled"))]);
    assert!(
        !out.status.success() && stderr(&out).contains("write-only"),
        "{}",
        stderr(&out)
    );
    let out = rsync(&[
        "-rlt",
        "--delete",
        &format!("{}/", p(&release.join("metadata"))),
        &format!("{dest}/metadata/"),
    ]);
    assert!(
        !out.status.success() && stderr(&out).contains("--delete"),
        "{}",
        stderr(&out)
    );
    let note = tmp.path().join("note");
    fs::write(&note, "x").expect("write");
    let out = rsync(&["-rlt", p(&note), &format!("{dest}/../escaped")]);
    assert!(!out.status.success(), "wrote outside the web root");
    assert!(!tmp.path().join("escaped").exists());
    let link = tmp.path().join("passwd");
    std::os::unix::fs::symlink("/etc/passwd", &link).expect("symlink");
    expect_code(
        &rsync(&["-rlt", p(&link), &format!("{dest}/targets/")]),
        0,
        "symlink push",
    );
    let planted = fs::read_link(www.join("targets/passwd")).expect("readlink");
    assert!(
        planted.starts_with("/rsyncd-munged/"),
        "symlink kept: {}",
        planted.display()
    );
    fs::remove_file(www.join("targets/passwd")).expect("rm");

    // nginx with deploy/nginx-samizdat.conf serves a release that verifies, with the caching
    // the README promises: immutable for content-addressed names, a minute for the timestamp.
    let site = site(&www, "127.0.0.11");
    run(
        &["verify", "--root", p(&archive.join("root.json")), &site.url],
        0,
    );
    let immutable = Some("public, max-age=31536000, immutable".to_owned());
    let target = fs::read_dir(www.join("targets"))
        .expect("ls")
        .next()
        .expect("a target")
        .expect("entry")
        .file_name();
    assert_eq!(
        head(&site, &format!("/targets/{}", target.to_string_lossy())),
        (200, immutable.clone())
    );
    assert_eq!(head(&site, "/metadata/1.root.json"), (200, immutable));
    assert_eq!(
        head(&site, "/metadata/timestamp.json"),
        (200, Some("public, max-age=60".to_owned()))
    );
    // A client looks for the next root version: the 404 must not be cached as immutable.
    assert_eq!(head(&site, "/metadata/2.root.json"), (404, None));
    // Originals and targets never run on the volunteer's origin; the site's files run only its
    // own scripts; every file may be read by a service worker on another mirror.
    let original = fs::read_dir(www.join("d"))
        .expect("ls d")
        .flatten()
        .flat_map(|d| fs::read_dir(d.path()).expect("ls").flatten())
        .map(|f| f.path())
        .find(|f| {
            f.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("original."))
        })
        .expect("an original");
    let original = format!(
        "/{}",
        original.strip_prefix(&www).expect("under www").display()
    );
    let policy = |path: &str| -> (Option<String>, Option<String>) {
        let (head, _) = curl(&format!("{}{path}", site.url), &["-I"]);
        let get = |name: &str| {
            head.lines()
                .find_map(|l| l.strip_prefix(name))
                .map(|v| v.trim().to_owned())
        };
        (
            get("content-security-policy: "),
            get("access-control-allow-origin: "),
        )
    };
    let sandbox = (Some("sandbox".to_owned()), Some("*".to_owned()));
    assert_eq!(policy(&original), sandbox, "{original}");
    assert_eq!(
        policy(&format!("/targets/{}", target.to_string_lossy())),
        sandbox
    );
    let (csp, cors) = policy("/withdrawn.json");
    assert!(
        csp.is_some_and(|c| c.contains("script-src 'self'")),
        "site policy on /withdrawn.json"
    );
    assert_eq!(cors.as_deref(), Some("*"));
    // An HTML original (the sample's press release) is text here, by plain path and under
    // /targets/, as our own server sends it: never a page or a script of this origin.
    let html = fs::read_dir(www.join("targets"))
        .expect("ls")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .find(|n| n.ends_with(".original.html"))
        .expect("an HTML original");
    let id = html.split('.').nth(1).expect("id");
    for path in [format!("/targets/{html}"), format!("/d/{id}/original.html")] {
        let (head, _) = curl(&format!("{}{path}", site.url), &["-I"]);
        assert!(
            head.contains("content-type: text/plain; charset=utf-8"),
            "{path}: {head}"
        );
    }
}

/// The README shows the nginx site a volunteer installs: deploy/nginx-samizdat.conf, whole
/// (CORS for failover, `sandbox` for originals, the site's 404 page). One source: the copy in
/// the README is checked to be the file, byte for byte.
#[test]
fn the_readme_nginx_block_is_deploy_nginx_samizdat_conf_byte_for_byte() {
    let readme = text(&repo().join("README.md"));
    let blocks: Vec<&str> = readme
        .split("```nginx\n")
        .skip(1)
        .map(|rest| rest.split("```").next().unwrap_or(rest))
        .collect();
    assert_eq!(blocks.len(), 1, "one nginx block in the README");
    assert_eq!(
        blocks[0],
        text(&deploy().join("nginx-samizdat.conf")),
        "the README's nginx block differs from deploy/nginx-samizdat.conf: copy the file"
    );
}
