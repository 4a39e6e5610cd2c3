//! Test helpers: the real binary in a temp folder, a static HTTP server, the corpora and python-tuf.

#![allow(dead_code)]

pub mod browser;
pub mod directory_server;
pub mod h2_raw;

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub fn samizdat() -> Command {
    Command::new(env!("CARGO_BIN_EXE_samizdat"))
}

/// Runs samizdat with `args`, returning the output; panics with both streams if the exit code is
/// not `expect`.
pub fn run(args: &[&str], expect: i32) -> Output {
    let out = samizdat().args(args).output().expect("run samizdat");
    let code = out.status.code().unwrap_or(-1);
    assert_eq!(
        code,
        expect,
        "samizdat {args:?} exited {code}\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

pub fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn sample_documents() -> PathBuf {
    repo().join("sample/documents")
}

/// A new archive in `dir/archive` with the sample ingested and released, without the reader
/// site: what these tests count (targets, bins, files fetched) is then the documents' alone.
pub fn sample_release(dir: &Path, init_args: &[&str]) -> PathBuf {
    let archive = dir.join("archive");
    let mut args = vec!["init", p(&archive)];
    args.extend_from_slice(init_args);
    run(&args, 0);
    run(&["add", p(&archive), p(&sample_documents())], 0);
    run(&["release", "--no-site", p(&archive)], 0);
    archive
}

/// A corpus folder fetched by ./test.sh (`SAMIZDAT_CORPORA`); fails clearly when missing.
pub fn corpus(name: &str) -> PathBuf {
    let base = std::env::var("SAMIZDAT_CORPORA")
        .unwrap_or_else(|_| p(&repo().join(".cache/corpora")).to_owned());
    let dir = Path::new(&base).join(name);
    assert!(
        dir.join(".done").exists(),
        "corpus {name} not found under {base}: run ./test.sh, which fetches it"
    );
    dir
}

/// The python with `tuf` installed (a venv made by ./test.sh).
pub fn python() -> PathBuf {
    let py = std::env::var("SAMIZDAT_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|_| repo().join(".cache/venv/bin/python"));
    assert!(
        py.exists(),
        "{} not found: run ./test.sh, which installs python-tuf in a venv",
        py.display()
    );
    py
}

/// A self-signed certificate for `ip` and its key (`DIR/cert.pem`, `DIR/key.pem`), made by
/// openssl.
pub fn tls_cert(dir: &Path, ip: &str) -> (PathBuf, PathBuf) {
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let out = Command::new("openssl")
        .args(["req", "-x509", "-newkey", "ec", "-pkeyopt"])
        .args(["ec_paramgen_curve:prime256v1", "-nodes", "-days", "1"])
        .args(["-subj", &format!("/CN={ip}")])
        .args(["-addext", &format!("subjectAltName=IP:{ip}")])
        .args(["-keyout", p(&key), "-out", p(&cert)])
        .output()
        .expect("openssl (./test.sh installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (cert, key)
}

/// A free port on a loopback address.
pub fn free_port(ip: &str) -> u16 {
    TcpListener::bind((ip, 0))
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

/// A static file server (python's http.server) over `dir` on `ip`; killed on drop.
pub struct StaticServer {
    child: Child,
    pub url: String,
}

impl StaticServer {
    pub fn start(dir: &Path, ip: &str) -> StaticServer {
        Self::start_slow(dir, ip, 0)
    }

    /// The same server, waiting `delay_ms` before each answer (a slow peer).
    pub fn start_slow(dir: &Path, ip: &str, delay_ms: u64) -> StaticServer {
        let port = free_port(ip);
        let script = format!(
            "import functools, http.server, time\n\
             class H(http.server.SimpleHTTPRequestHandler):\n\
             \x20   def send_head(self):\n\
             \x20       time.sleep({delay})\n\
             \x20       return super().send_head()\n\
             \x20   def log_message(self, *a):\n\
             \x20       pass\n\
             http.server.ThreadingHTTPServer(({ip:?}, {port}), functools.partial(H, directory={dir:?})).serve_forever()\n",
            delay = delay_ms as f64 / 1000.0,
            dir = p(dir),
        );
        let child = Command::new("python3")
            .args(["-c", &script])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start python3 -m http.server");
        let url = format!("http://{ip}:{port}");
        wait_for_port(ip, port, || "http.server".to_owned());
        StaticServer { child, url }
    }
}

impl StaticServer {
    /// An evil peer over `dir` (see `tests/py/evil_peer.py` for the modes).
    pub fn start_evil(dir: &Path, ip: &str, mode: &str) -> StaticServer {
        let port = free_port(ip);
        let script = repo().join("crates/samizdat/tests/py/evil_peer.py");
        let child = Command::new("python3")
            .arg(&script)
            .args([p(dir), ip, &port.to_string(), mode])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start evil_peer.py");
        let url = format!("http://{ip}:{port}");
        wait_for_port(ip, port, || "evil peer".to_owned());
        StaticServer { child, url }
    }
}

impl Drop for StaticServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs python-tuf's ngclient over `url` with the metadata cache in `cache` (which must hold
/// the trusted `root.json`); returns its output lines.
pub fn ngclient(cache: &Path, url: &str, download: &Path, targets: &[&str]) -> Vec<String> {
    std::fs::create_dir_all(download).expect("mkdir");
    let script = repo().join("crates/samizdat/tests/py/ngclient_check.py");
    let out = Command::new(python())
        .arg(script)
        .args([p(cache), url, p(download)])
        .args(targets)
        .output()
        .expect("run python-tuf");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.code() == Some(0) || out.status.code() == Some(2),
        "ngclient crashed: {text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    text.lines().map(str::to_owned).collect()
}

/// Starts samizdat with `args` and waits until it prints `line` on stderr (or exits).
pub fn spawn_until(args: &[&str], envs: &[(&str, &str)], line: &str) -> Child {
    let mut child = samizdat()
        .args(args)
        .envs(envs.iter().copied())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn samizdat");
    let stderr = child.stderr.take().expect("stderr");
    let mut reader = BufReader::new(stderr);
    let mut buf = String::new();
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        buf.clear();
        let n = reader.read_line(&mut buf).expect("read stderr");
        assert!(n > 0, "samizdat {args:?} exited before printing {line:?}");
        if buf.contains(line) {
            break;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {line:?}");
    }
    child
}

/// The file name (`SHA256.NAME`) and path of the newest target ending in `name_suffix`.
pub fn target_name(release: &Path, name_suffix: &str) -> (String, PathBuf) {
    let file = target_file(release, name_suffix);
    let name = file
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    (name, file)
}

/// All target file names of the current release (from the folder), for tampering tests.
/// The stored file of the newest target whose name ends in `name_suffix`.
pub fn target_file(release: &Path, name_suffix: &str) -> PathBuf {
    let dir = release.join("targets");
    let mut found: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("read targets")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(name_suffix))
        })
        .collect();
    // Every release's copy stays (content-addressed); the newest file is the latest release's.
    found.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    found
        .pop()
        .unwrap_or_else(|| panic!("no target ending in {name_suffix}"))
}

/// A real nginx serving `root` on `ip` (master in the foreground, killed on drop).
pub struct Nginx {
    child: Child,
    _conf: tempfile::TempDir,
    pub url: String,
}

impl Nginx {
    /// nginx serving `root` as a plain web root on `ip`.
    pub fn start(root: &Path, ip: &str) -> Nginx {
        let root = p(root).to_owned();
        Self::start_with(ip, |port| {
            format!("server {{ listen {ip}:{port}; root {root}; }}")
        })
    }

    /// nginx with the `server` block `server(port)` (a site configuration under test).
    pub fn start_with(ip: &str, server: impl FnOnce(u16) -> String) -> Nginx {
        let conf = tempfile::tempdir().expect("tempdir");
        let port = free_port(ip);
        let file = conf.path().join("nginx.conf");
        let d = p(conf.path());
        let server = server(port);
        std::fs::write(
            &file,
            format!(
                "daemon off;\nmaster_process off;\nuser root;\nworker_processes 1;\npid {d}/nginx.pid;\n\
                 error_log {d}/error.log;\nevents {{ worker_connections 64; }}\n\
                 http {{ access_log off; client_body_temp_path {d}; proxy_temp_path {d};\n\
                 fastcgi_temp_path {d}; uwsgi_temp_path {d}; scgi_temp_path {d};\n\
                 types {{ application/json json; }}\n{server}\n}}\n"
            ),
        )
        .expect("write nginx.conf");
        let program = if Path::new("/usr/sbin/nginx").exists() {
            "/usr/sbin/nginx"
        } else {
            "nginx"
        };
        let child = Command::new(program)
            .args(["-e", &format!("{d}/error.log"), "-c", p(&file)])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start nginx (./test.sh installs it)");
        let url = format!("http://{ip}:{port}");
        wait_for_port(ip, port, || {
            format!(
                "nginx: {}",
                std::fs::read_to_string(conf.path().join("error.log")).unwrap_or_default()
            )
        });
        Nginx {
            child,
            _conf: conf,
            url,
        }
    }
}

impl Drop for Nginx {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `cp -a FROM TO` (a release folder as it was, for replaying or forging it).
pub fn copy_tree(from: &Path, to: &Path) {
    let status = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .expect("cp");
    assert!(
        status.success(),
        "cp -a {} {}",
        from.display(),
        to.display()
    );
}

/// Adds one note file (`<tmp>/extra/<name>`) to the archive and makes a release.
pub fn release_a_note(archive: &Path, name: &str, text: &str) {
    let extra = archive.parent().expect("parent").join("extra");
    std::fs::create_dir_all(&extra).expect("mkdir");
    std::fs::write(extra.join(name), text).expect("write");
    run(&["add", p(archive), p(&extra)], 0);
    run(&["release", "--no-site", p(archive)], 0);
}

/// Waits (at most 20 s) until something listens on `ip:port`; panics with `what()` otherwise.
fn wait_for_port(ip: &str, port: u16, what: impl Fn() -> String) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect((ip, port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{} did not start on {ip}:{port}",
            what()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// `samizdat mirror sync DIR --root ROOT --peer P... EXTRA...`, expecting exit `code`.
pub fn mirror_sync(dir: &Path, root: &Path, peers: &[&str], extra: &[&str], code: i32) -> Output {
    let mut args = vec!["mirror", "sync", p(dir), "--root", p(root)];
    for peer in peers {
        args.extend(["--peer", peer]);
    }
    args.extend_from_slice(extra);
    run(&args, code)
}

/// `samizdat verify --root ROOT SOURCE`: exit 0 and "release VERSION: authentic…".
pub fn verify_release(root: &Path, source: &str, version: u64) -> Output {
    let out = run(&["verify", "--root", p(root), source], 0);
    assert!(
        stdout(&out).starts_with(&format!("release {version}: authentic")),
        "{source}: {}",
        stdout(&out)
    );
    out
}

/// `samizdat verify --root ARCHIVE/root.json ARCHIVE/release [TARGETS]`, expecting exit `code`.
pub fn verify_archive(archive: &Path, targets: &[&str], code: i32) -> Output {
    let root = archive.join("root.json");
    let release = archive.join("release");
    let mut args = vec!["verify", "--root", p(&root), p(&release)];
    args.extend_from_slice(targets);
    run(&args, code)
}

/// A long-running `samizdat` (`mirror run`, `mirror serve`): started with `args`, ready once it
/// printed `listening on URL`; its stderr goes to a log file; killed on drop.
pub struct Daemon {
    child: Child,
    pub url: String,
    pub log: PathBuf,
}

impl Daemon {
    pub fn start(args: &[&str], log: &Path) -> Daemon {
        let mut command = samizdat();
        command.args(args);
        Daemon::start_command(command, log)
    }

    /// As [`Daemon::start`], for a command made by the caller (`samizdat` run under `prlimit`).
    pub fn start_command(mut command: Command, log: &Path) -> Daemon {
        let args = format!("{command:?}");
        let file = std::fs::File::create(log).expect("create log");
        let mut child = command
            .stdout(Stdio::piped())
            .stderr(file)
            .spawn()
            .expect("spawn samizdat");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("read stdout");
        let Some(url) = line.trim().strip_prefix("listening on ") else {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "{args} did not start: {line:?}\n{}",
                std::fs::read_to_string(log).unwrap_or_default()
            );
        };
        Daemon {
            child,
            url: url.to_owned(),
            log: log.to_owned(),
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Sends it SIGTERM, as systemd stops it.
    pub fn terminate(&self) {
        let pid = i32::try_from(self.pid()).expect("a pid");
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::SIGTERM)
            .unwrap_or_else(|e| panic!("SIGTERM to {pid}: {e}"));
    }

    /// Its exit status once it has exited, waiting at most `limit`; None if it still runs.
    pub fn exited_within(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The parsed `/.well-known/samizdat/status.json`.
    pub fn status(&self) -> serde_json::Value {
        let out = Command::new("curl")
            .args([
                "-sf",
                &format!("{}.well-known/samizdat/status.json", self.url),
            ])
            .output()
            .expect("curl");
        serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
    }

    /// Waits (at most 60 s) until the daemon serves release `version`.
    pub fn wait_for_release(&self, version: u64) {
        let deadline = Instant::now() + Duration::from_secs(60);
        while self.status()["release"]["version"].as_u64() != Some(version) {
            assert!(
                Instant::now() < deadline,
                "{} never served release {version}: {}\n{}",
                self.url,
                self.status(),
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `curl -si [extra...] URL`: the status line and headers (lowercased names), and the body.
pub fn curl(url: &str, extra: &[&str]) -> (String, Vec<u8>) {
    let out = Command::new("curl")
        .args(["-si", "--max-time", "20"])
        .args(extra)
        .arg(url)
        .output()
        .expect("curl (./test.sh installs it)");
    let raw = out.stdout;
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| {
            panic!(
                "no header end from {url}: {}",
                String::from_utf8_lossy(&raw)
            )
        });
    let head = String::from_utf8_lossy(&raw[..split]).to_ascii_lowercase();
    (head, raw[split + 4..].to_vec())
}

/// `GET path` from `base` (`http://IP:PORT/`) on a connection of its own, as raw HTTP/1.1:
/// the status and the body (no `Accept-Encoding`, so bytes as stored). Faster than a curl per
/// file when a test asks for every file of a release.
pub fn http_get(base: &str, path: &str) -> (u16, Vec<u8>) {
    use std::io::{Read, Write};
    let address = base.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(address)
        .unwrap_or_else(|e| panic!("connect to {address}: {e}"));
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let end = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| {
            panic!(
                "GET {path}: no head in {:?}",
                String::from_utf8_lossy(&answer)
            )
        });
    let head = String::from_utf8_lossy(&answer[..end]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("GET {path}: {head}"));
    (status, answer[end + 4..].to_vec())
}

/// The plain site path of a target name (`archive::layout::plain_path_of_target`, again).
pub fn plain_path_of(name: &str) -> Option<String> {
    if name == "_withdrawn.json" {
        return Some("/withdrawn.json".into());
    }
    if name == "_directories.json" {
        return Some("/directories.json".into());
    }
    if let Some(dir) = name.strip_prefix("_dir_") {
        return Some(format!("/directories/{dir}"));
    }
    if let Some(site) = name.strip_prefix("_s_") {
        return Some(format!("/{}", site.replace('_', "/")));
    }
    let (id, rest) = name.split_once('.')?;
    Some(match rest {
        "json" => format!("/d/{id}/doc.json"),
        "html" => format!("/d/{id}/index.html"),
        _ => format!("/d/{id}/original.{}", rest.strip_prefix("original.")?),
    })
}

/// Every path by which a server could answer a file of `release` (an archive's or a mirror's
/// folder, all its releases): `/targets/FILE` and the plain path of each target file,
/// `/metadata/FILE` of each metadata file, and `/`.
pub fn every_path_of(release: &Path) -> Vec<String> {
    let mut paths = vec!["/".to_owned()];
    let names = |sub: &str| -> Vec<String> {
        std::fs::read_dir(release.join(sub))
            .expect("read the release")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect()
    };
    for file in names("targets") {
        paths.push(format!("/targets/{file}"));
        if let Some(plain) = file
            .split_once('.')
            .and_then(|(_, name)| plain_path_of(name))
        {
            paths.push(plain);
        }
    }
    for file in names("metadata") {
        paths.push(format!("/metadata/{file}"));
    }
    paths.sort();
    paths.dedup();
    paths
}

/// The paths (of `paths`, asked from `base`) whose answer contains one of `markers`
/// (lowercase; bodies are compared lowercased), with the marker found.
pub fn paths_showing(base: &str, paths: &[String], markers: &[&str]) -> Vec<(String, String)> {
    let mut found = Vec::new();
    for path in paths {
        let (_, body) = http_get(base, path);
        let body = String::from_utf8_lossy(&body).to_lowercase();
        if let Some(marker) = markers.iter().find(|m| body.contains(*m)) {
            found.push((path.clone(), (*marker).to_owned()));
        }
    }
    found
}

/// The id of the note [`archive_with_a_note_to_withdraw`] adds.
pub const GONE_ID: &str = "gone-txt";
/// What shows the note (lowercase): a word of its title, a phrase of its text, a word of it.
pub const GONE_MARKERS: &[&str] = &["jvortex", "vermilion xylophone", "xylophone"];

/// An archive of the sample and a note whose title and text are easy to find (the id
/// [`GONE_ID`]), released with the reader site: its home page, listings and search files quote
/// the note.
pub fn archive_with_a_note_to_withdraw(dir: &Path) -> PathBuf {
    let archive = dir.join("archive");
    run(&["init", p(&archive)], 0);
    let extra = dir.join("extra");
    std::fs::create_dir_all(&extra).expect("mkdir");
    std::fs::write(
        extra.join("gone.txt"),
        "Zqxjvortex minutes of the harbour\n\nThe harbour master confirmed the vermilion xylophone shipment.\n",
    )
    .expect("write");
    run(&["add", p(&archive), p(&sample_documents()), p(&extra)], 0);
    run(&["release", p(&archive)], 0);
    archive
}

/// Withdraws the note of [`archive_with_a_note_to_withdraw`] and releases (with the site).
pub fn withdraw_the_note(archive: &Path) {
    run(
        &["withdraw", p(archive), GONE_ID, "--reason", "court order 9"],
        0,
    );
    run(&["release", p(archive)], 0);
}

/// An e-mail whose attachments are a script, an HTML page and an SVG image, as a sender could
/// make them to run on a mirror's origin.
pub const SCRIPTED_EMAIL: &str = "From: a@example.org\r\nTo: b@example.org\r\n\
Subject: Attachments that would run\r\nDate: Tue, 1 Dec 2026 10:00:00 +0000\r\n\
Message-ID: <scripted@example.org>\r\nMIME-Version: 1.0\r\n\
Content-Type: multipart/mixed; boundary=\"b\"\r\n\r\n\
--b\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n\
--b\r\nContent-Type: text/javascript\r\nContent-Disposition: attachment; filename=\"evil.js\"\r\n\r\n\
window.pwned = true;\r\n\
--b\r\nContent-Type: text/html\r\nContent-Disposition: attachment; filename=\"evil.html\"\r\n\r\n\
<script>alert(document.domain)</script>\r\n\
--b\r\nContent-Type: image/svg+xml\r\nContent-Disposition: attachment; filename=\"evil.svg\"\r\n\r\n\
<svg xmlns=\"http://www.w3.org/2000/svg\"><script>alert(1)</script></svg>\r\n\
--b--\r\n";

/// An `add`'s report (`ARCHIVE/reports/add-TIME.jsonl`): where it is, its lines (a file's or a
/// document's each) in order, and its summary.
pub struct Report {
    pub path: PathBuf,
    pub lines: Vec<serde_json::Value>,
    pub summary: serde_json::Value,
}

/// The report of the `add` whose output is `printed` (its last line names the report): every
/// line parsed, the last one its summary.
pub fn read_report(printed: &str) -> Report {
    let last = printed.lines().last().expect("a summary line");
    let path = PathBuf::from(
        last.rsplit_once("report: ")
            .unwrap_or_else(|| panic!("the summary names the report: {last}"))
            .1,
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    let summary = lines.pop().expect("a summary line")["summary"].clone();
    assert!(summary.is_object(), "the last line is the summary: {text}");
    Report {
        path,
        lines,
        summary,
    }
}

impl Report {
    /// Its lines by the file's path relative to `docs` (a file's last line when it has
    /// several), and its summary.
    pub fn by_path_under(
        self,
        docs: &Path,
    ) -> (HashMap<String, serde_json::Value>, serde_json::Value) {
        let docs = std::fs::canonicalize(docs).expect("canonical");
        let by_file = self
            .lines
            .into_iter()
            .map(|line| {
                let path = PathBuf::from(line["path"].as_str().expect("path"));
                let rel = path
                    .strip_prefix(&docs)
                    .unwrap_or_else(|_| panic!("{} outside {}", path.display(), docs.display()))
                    .to_string_lossy()
                    .into_owned();
                (rel, line)
            })
            .collect();
        (by_file, self.summary)
    }

    /// Its lines by the file's name and part (`leak.zip !/page.tif`), and its summary.
    pub fn by_name(self) -> (HashMap<String, serde_json::Value>, serde_json::Value) {
        let by_name = self
            .lines
            .into_iter()
            .map(|line| {
                let path = line["path"].as_str().expect("path");
                let name = path.rsplit('/').next().unwrap_or(path).to_owned();
                let key = match line["part"].as_str() {
                    Some(part) => format!("{name} {part}"),
                    None => name,
                };
                (key, line)
            })
            .collect();
        (by_name, self.summary)
    }
}

/// SHA-256 of `bytes`, in lowercase hex.
pub fn sha256_hex(bytes: impl AsRef<[u8]>) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

/// Fails the test, showing the whole of `text`, unless it contains `needle`.
#[track_caller]
pub fn assert_says(text: &str, needle: impl AsRef<str>) {
    let needle = needle.as_ref();
    assert!(text.contains(needle), "expected {needle:?} in:\n{text}");
}

/// `samizdat mirror init DIR --root ROOT --peer P...` plus `extra`, expecting exit `code`.
pub fn mirror_init(dir: &Path, root: &Path, peers: &[&str], extra: &[&str], code: i32) -> Output {
    let mut args = vec!["mirror", "init", p(dir), "--root", p(root)];
    for peer in peers {
        args.extend(["--peer", peer]);
    }
    args.extend(extra);
    run(&args, code)
}

/// A TCP connection to `address` from the loopback address `from`.
pub fn connect_from(from: &str, address: &str) -> std::net::TcpStream {
    try_connect_from(from, address).expect("connect")
}

/// As [`connect_from`], the connection's error given back (a server that resets it at once).
pub fn try_connect_from(from: &str, address: &str) -> std::io::Result<std::net::TcpStream> {
    let to: std::net::SocketAddr = address.parse().expect("address");
    let from: std::net::SocketAddr = format!("{from}:0").parse().expect("from");
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
        .expect("a socket (too few descriptors for the test?)");
    socket.bind(&from.into()).expect("bind the client");
    socket.connect_timeout(&to.into(), std::time::Duration::from_secs(5))?;
    Ok(socket.into())
}
