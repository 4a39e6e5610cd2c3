//! The Debian package and the static binary (`deploy/build-dist.sh`) on a bare Debian 12 root
//! with no Rust: made by mmdebstrap (`./test.sh` caches it under `.cache/`), entered with
//! `unshare` + `chroot` (a private mount and PID namespace: its /proc goes away with it, and so
//! does every process started in it). It shares the host's network, so the mirror installed in it
//! syncs from an origin the host serves on 127.0.0.1.

use crate::util::*;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// Issue 19's limits.
const MAX_DEB_BYTES: u64 = 15_000_000;
const MAX_STATIC_BYTES: u64 = 25_000_000;

fn expect_ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}: exit {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        stdout(out),
        stderr(out)
    );
}

/// The Debian 12 root's tarball (`mmdebstrap --variant=minbase --include=man-db,systemd`).
fn debian_tarball() -> PathBuf {
    let tar = std::env::var_os("SAMIZDAT_DEBIAN_TAR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(".cache/debian-bookworm.tar"));
    assert!(
        tar.is_file(),
        "{} is missing: ./test.sh makes it with mmdebstrap (or set SAMIZDAT_DEBIAN_TAR)",
        tar.display()
    );
    tar
}

/// A fresh Debian root in `dir`, unpacked from the cached tarball.
fn debian_root(dir: &Path) -> PathBuf {
    let root = dir.join("debian");
    fs::create_dir(&root).expect("mkdir");
    let out = Command::new("tar")
        .args(["-C", p(&root), "-xf", p(&debian_tarball())])
        .output()
        .expect("tar");
    expect_ok(&out, "unpack the Debian root");
    root
}

/// `unshare` + `chroot` into `root`, as the caller then sets up: a shell runs `script` there.
fn chroot(root: &Path, script: &str) -> Command {
    let mut command = Command::new("unshare");
    command
        .args(["--mount", "--pid", "--fork", "--kill-child"])
        .arg(format!("--mount-proc={}", p(&root.join("proc"))))
        .args(["chroot", p(root), "/bin/sh", "-ec", script])
        .env_clear()
        .env(
            "PATH",
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        )
        .env("HOME", "/root")
        .env("LANG", "C.UTF-8");
    command
}

/// Runs `script` in `root`, expecting success; its stdout.
fn in_root(root: &Path, script: &str) -> String {
    let out = chroot(root, script)
        .output()
        .expect("unshare (util-linux) and chroot");
    expect_ok(&out, &format!("in the Debian root: {script}"));
    stdout(&out)
}

/// `deploy/build-dist.sh ARGS --out OUT`: the static binary and the .deb it made.
fn build_dist(out: &Path, args: &[&str]) -> (PathBuf, PathBuf) {
    // Only PATH and HOME (and rustup's and cargo's homes): the CARGO_* and other variables of
    // the test run made cargo rebuild the whole release build that ./test.sh had just made.
    let mut command = Command::new(repo().join("deploy/build-dist.sh"));
    command.env_clear();
    for name in ["PATH", "HOME", "RUSTUP_HOME", "CARGO_HOME"] {
        if let Some(value) = std::env::var_os(name) {
            command.env(name, value);
        }
    }
    let run = command
        .args(args)
        .args(["--out", p(out)])
        .output()
        .expect("deploy/build-dist.sh");
    expect_ok(&run, "deploy/build-dist.sh");
    let mut debs = Vec::new();
    let mut binaries = Vec::new();
    for entry in fs::read_dir(out).expect("ls dist") {
        let path = entry.expect("entry").path();
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        if name.ends_with(".deb") {
            debs.push(path);
        } else if name.ends_with("-x86_64-linux-musl") {
            binaries.push(path);
        }
    }
    assert!(
        debs.len() == 1 && binaries.len() == 1,
        "build-dist.sh made {debs:?} and {binaries:?}:\n{}",
        stdout(&run)
    );
    (binaries.remove(0), debs.remove(0))
}

fn size(path: &Path) -> u64 {
    fs::metadata(path).expect("stat").len()
}

/// Copies `file` into the root's /tmp; its path there.
fn put(root: &Path, file: &Path) -> String {
    let name = file.file_name().expect("name").to_string_lossy();
    fs::copy(file, root.join("tmp").join(&*name)).expect("copy into the root");
    format!("/tmp/{name}")
}

/// The files of the mirror's state that an upgrade must keep, with their bytes.
fn mirror_state(root: &Path) -> Vec<(String, Vec<u8>)> {
    let state = root.join("var/lib/samizdat-mirror");
    [
        "mirror.toml",
        "root.json",
        "mirror.key",
        "releases.json",
        "release/metadata/timestamp.json",
    ]
    .iter()
    .map(|name| {
        let bytes =
            fs::read(state.join(name)).unwrap_or_else(|e| panic!("the mirror's {name}: {e}"));
        ((*name).to_owned(), bytes)
    })
    .collect()
}

/// The service's own command (ExecStart=, User=) run in the root, until dropped. The shell
/// stays the namespace's first process (no `exec`): killing `unshare` kills it (`--kill-child`),
/// and with it every process of the namespace, the mirror too, whose changed credentials would
/// have cleared its own parent-death signal.
fn mirror_run(root: &Path, log: &Path) -> Daemon {
    Daemon::start_command(
        chroot(
            root,
            "setpriv --reuid=samizdat --regid=samizdat --init-groups \
             /usr/bin/samizdat mirror run /var/lib/samizdat-mirror; exit",
        ),
        log,
    )
}

/// Stops `mirror` and waits (at most 10 s) until nothing answers on its address any more.
fn stop(mirror: Daemon) {
    let address = mirror
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    drop(mirror);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(&address).is_ok() {
        assert!(
            Instant::now() < deadline,
            "{address} still answers after the mirror was killed"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `samizdat verify` of `url` against `root_json` from the host, retried for at most 60 s
/// (the mirror's first round may still be running).
fn wait_verified(root_json: &Path, url: &str, daemon: &Daemon) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = samizdat()
            .args(["verify", "--root", p(root_json), url])
            .output()
            .expect("samizdat verify");
        if out.status.success() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{url} never served a release that verifies: {}\n{}",
            stderr(&out),
            daemon.log()
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// Issue 19: from the .deb alone on a bare Debian 12 (no Rust) to a mirror that syncs and
/// serves, with its man page, completions and units; a newer .deb installed over it keeps its
/// state; the static binary runs there and here. Sizes within the limits.
#[test]
fn the_deb_makes_a_mirror_on_a_bare_debian_and_a_newer_one_keeps_its_state() {
    let tempdir = tempfile::tempdir().expect("tempdir");
    let tmp = tempdir.path();
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| stdout(&o).trim() == "0");
    assert!(
        is_root,
        "this test needs root (chroot, dpkg in the Debian root)"
    );

    let started = Instant::now();
    let step = |what: &str| eprintln!("{:6.1} s  {what}", started.elapsed().as_secs_f64());

    // The artefacts, and their sizes.
    let (binary, deb) = build_dist(&tmp.join("dist"), &[]);
    let (deb_size, binary_size) = (size(&deb), size(&binary));
    eprintln!("sizes: {deb:?} {deb_size} bytes, {binary:?} {binary_size} bytes");
    assert!(deb_size <= MAX_DEB_BYTES, "{deb:?}: {deb_size} bytes");
    assert!(
        binary_size <= MAX_STATIC_BYTES,
        "{binary:?}: {binary_size} bytes"
    );
    // Static: no interpreter, no library (file says "static-pie linked" or "statically linked").
    let file = Command::new("file")
        .arg(&binary)
        .output()
        .expect("file (./test.sh installs it)");
    let file = stdout(&file);
    assert!(
        file.contains("static") && !file.contains("interpreter"),
        "{file}"
    );
    let version = stdout(&run(&["--version"], 0));
    let static_version = Command::new(&binary)
        .arg("--version")
        .output()
        .expect("the static binary");
    assert_eq!(stdout(&static_version), version);

    step("built");

    // A bare Debian 12 with no Rust toolchain.
    // In memory when /dev/shm is there: on disk, deleting the root after dpkg's fsyncs took
    // 20 s of a 70 s run here.
    let shm = Path::new("/dev/shm");
    let root_dir = if shm.is_dir() {
        tempfile::tempdir_in(shm)
    } else {
        tempfile::tempdir()
    }
    .expect("tempdir for the Debian root");
    let root = debian_root(root_dir.path());
    step("Debian root unpacked");
    let debian = in_root(&root, "cat /etc/debian_version");
    assert!(debian.starts_with("12."), "not Debian 12: {debian}");
    in_root(
        &root,
        "! command -v cargo && ! command -v rustc && ! test -e /root/.cargo",
    );
    let static_in_root = put(&root, &binary);
    assert_eq!(
        in_root(&root, &format!("{static_in_root} --version")),
        version
    );

    // The package: binary, man pages, completions, units (installed, not enabled), the user.
    let deb_in_root = put(&root, &deb);
    in_root(&root, &format!("dpkg -i {deb_in_root}"));
    step("dpkg -i");
    assert_eq!(in_root(&root, "samizdat --version"), version);
    let man = in_root(&root, "MANWIDTH=100 man -P cat samizdat");
    assert!(
        man.contains("samizdat-mirror(1)") && man.contains("signed document archive"),
        "man samizdat:\n{man}"
    );
    let man = in_root(&root, "MANWIDTH=100 man -P cat samizdat-mirror-init");
    assert!(man.contains("--peer"), "man samizdat-mirror-init:\n{man}");
    for (file, marker) in [
        (
            "usr/share/bash-completion/completions/samizdat",
            "_samizdat",
        ),
        (
            "usr/share/zsh/vendor-completions/_samizdat",
            "#compdef samizdat",
        ),
        (
            "usr/share/fish/vendor_completions.d/samizdat.fish",
            "complete -c samizdat",
        ),
    ] {
        let text = fs::read_to_string(root.join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(text.contains(marker), "{file} lacks {marker:?}");
    }
    let units = in_root(&root, "ls /lib/systemd/system/ | grep '^samizdat-'");
    assert!(
        units.contains("samizdat-mirror.service")
            && units.contains("samizdat-mirror.socket")
            && units.contains("samizdat-directory.service"),
        "{units}"
    );
    let verify = in_root(
        &root,
        "systemd-analyze verify --man=no samizdat-mirror.socket samizdat-mirror.service \
         samizdat-directory.service 2>&1",
    );
    assert!(
        verify.trim().is_empty(),
        "systemd-analyze verify:\n{verify}"
    );
    in_root(
        &root,
        "! test -e /etc/systemd/system/multi-user.target.wants/samizdat-mirror.service \
         && ! test -e /etc/systemd/system/sockets.target.wants/samizdat-mirror.socket",
    );
    in_root(&root, "getent passwd samizdat | grep -q nologin");

    // install.sh, as the package ships it: a mirror of an origin the host serves.
    let archive = sample_release(tmp, &[]);
    let root_json = archive.join("root.json");
    let origin = Daemon::start(
        &[
            "mirror",
            "serve",
            p(&archive),
            "--listen",
            &format!("127.0.0.1:{}", free_port("127.0.0.1")),
        ],
        &tmp.join("origin.log"),
    );
    // The static tarball's install.sh takes the binary beside it (here into a prefix: no
    // systemd, no user).
    let name = binary.file_name().expect("name").to_string_lossy();
    let tarball = binary.with_file_name(format!("{name}.tar.gz"));
    let out = Command::new("tar")
        .args(["-C", p(tmp), "-xzf", p(&tarball)])
        .output()
        .expect("tar");
    expect_ok(&out, "unpack the static tarball");
    let prefix = tmp.join("prefix");
    let out = Command::new(tmp.join(&*name).join("install.sh"))
        .args(["--prefix", p(&prefix), "--root", p(&root_json)])
        .args(["--peer", &origin.url, "--listen", "127.0.0.1:8080"])
        .output()
        .expect("the tarball's install.sh");
    expect_ok(&out, "the tarball's install.sh --prefix");
    assert!(
        fs::read(prefix.join("usr/local/bin/samizdat")).expect("installed binary")
            == fs::read(&binary).expect("static binary"),
        "the tarball's install.sh installed another binary"
    );
    assert!(
        prefix
            .join("etc/systemd/system/samizdat-mirror.service")
            .is_file()
    );
    let toml = fs::read_to_string(prefix.join("var/lib/samizdat-mirror/mirror.toml"))
        .expect("mirror.toml of the tarball's install");
    assert!(toml.contains(&origin.url), "{toml}");
    step("the static tarball's install.sh");

    let port = free_port("127.0.0.1");
    let root_in_root = put(&root, &root_json);
    let out = in_root(
        &root,
        &format!(
            "samizdat-install-mirror --root {root_in_root} --peer {} \
             --listen 127.0.0.1:{port} -- --timeout 17",
            origin.url
        ),
    );
    let fingerprint = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(
        fs::read(&root_json).expect("root.json"),
    ));
    assert_says(&out, format!("SHA-256 {fingerprint}"));
    assert_says(&out, "systemd is not running here");
    let toml =
        fs::read_to_string(root.join("var/lib/samizdat-mirror/mirror.toml")).expect("mirror.toml");
    assert!(toml.contains("timeout_secs = 17"), "{toml}");
    // The package's socket unit listens where mirror.toml does (a drop-in in /etc).
    let listen =
        fs::read_to_string(root.join("etc/systemd/system/samizdat-mirror.socket.d/listen.conf"))
            .expect("the socket's listen.conf");
    assert!(
        listen.contains(&format!("ListenStream=127.0.0.1:{port}")),
        "{listen}"
    );
    assert_eq!(
        in_root(&root, "stat -c %U /var/lib/samizdat-mirror").trim(),
        "samizdat"
    );
    step("samizdat-install-mirror");
    let mirror = mirror_run(&root, &tmp.join("mirror.log"));
    wait_verified(&root_json, &mirror.url, &mirror);
    stop(mirror);
    step("the mirror synced and served");
    let state = mirror_state(&root);

    // A newer package, through install.sh (upgrade: no flags) with systemd standing in: the
    // postinst restarts a running service, the state stays as it was.
    let (_, newer) = build_dist(
        &tmp.join("dist2"),
        &["--no-build", "--deb-version", "0.1.0-2"],
    );
    step("newer .deb built");
    let newer_in_root = put(&root, &newer);
    fs::create_dir_all(root.join("run/systemd/system")).expect("mkdir");
    // In place of the real one (dpkg's PATH for the maintainer scripts has /usr/bin first).
    let shim = root.join("usr/bin/systemctl");
    fs::remove_file(&shim).expect("rm systemctl");
    fs::write(&shim, "#!/bin/sh\necho \"$*\" >>/tmp/systemctl.log\n").expect("write");
    fs::set_permissions(&shim, fs::Permissions::from_mode(0o755)).expect("chmod");
    in_root(
        &root,
        &format!("samizdat-install-mirror --deb {newer_in_root}"),
    );
    step("samizdat-install-mirror --deb NEWER");
    assert_eq!(
        in_root(&root, "dpkg-query -W -f '${Version}' samizdat"),
        "0.1.0-2"
    );
    let calls = fs::read_to_string(root.join("tmp/systemctl.log")).expect("systemctl.log");
    assert!(
        calls.contains("try-restart samizdat-mirror.service")
            && calls.contains("restart samizdat-mirror.service"),
        "{calls}"
    );
    assert!(
        mirror_state(&root) == state,
        "the upgrade changed the mirror's state"
    );
    let mirror = mirror_run(&root, &tmp.join("mirror2.log"));
    wait_verified(&root_json, &mirror.url, &mirror);
    stop(mirror);
    step("the upgraded mirror served");
    drop(origin);
    drop(root_dir);
    drop(tempdir);
    step("cleaned up");
}
