//! Zero-downtime restart of a mirror (issue 19's upgrade path, issue 15 item 9), with real
//! processes: the test plays systemd's socket activation. It binds the listening socket and
//! starts `samizdat mirror serve` with it as fd 3 (`LISTEN_FDS=1`, and `LISTEN_PID` the child's
//! own, set by a `sh` that then execs samizdat, as systemd sets it after its fork); while
//! readers ask (fresh connections, keep-alive over HTTP/1.1 and HTTP/2, slow downloads), it
//! stops that process with SIGTERM and, once it has exited, starts the next one on the same
//! socket, as `systemctl restart` does.
//! (Without socket activation a second server on a served address is refused:
//! `serve::a_second_server_on_the_same_address_is_refused_and_the_first_keeps_serving`.)

use crate::util::*;
use command_fds::{CommandFdExt, FdMapping};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// The old process's drain limit in the hand-over test.
const DRAIN_SECS: u64 = 20;
/// The slow downloads' rate (bytes a second) and the large file's size: 5 to 8 s each (the
/// kernel's socket buffers take the first megabytes at once).
const SLOW_RATE: u64 = 1 << 20;
const LARGE: usize = 8 << 20;

/// `samizdat mirror serve DIR ARGS` on `socket`, passed as systemd passes it.
fn serve_activated(socket: &TcpListener, dir: &Path, args: &[&str], log: &Path) -> Daemon {
    activated(socket, &[&["mirror", "serve", p(dir)], args].concat(), log)
}

/// `samizdat ARGS` on `socket`, passed as systemd passes it: as fd 3, with `LISTEN_FDS=1` and
/// `LISTEN_PID` its own pid (set by `sh`, which then execs samizdat).
fn activated(socket: &TcpListener, args: &[&str], log: &Path) -> Daemon {
    let mut command = Command::new("sh");
    command
        .arg("-c")
        .arg(r#"export LISTEN_PID=$$ LISTEN_FDS=1; exec "$0" "$@""#)
        .arg(env!("CARGO_BIN_EXE_samizdat"))
        .args(args);
    let fd = socket.try_clone().expect("duplicate the listening socket");
    command
        .fd_mappings(vec![FdMapping {
            parent_fd: fd.into(),
            child_fd: 3,
        }])
        .expect("fd 3");
    Daemon::start_command(command, log)
}

/// A text of `size` bytes, every line different (a short or shifted answer cannot match).
fn large_text(size: usize) -> String {
    let mut text = String::with_capacity(size + 64);
    let mut line = 0u64;
    while text.len() < size {
        text.push_str(&format!(
            "line {line:08} of the large note, for the slow readers\n"
        ));
        line += 1;
    }
    text.truncate(size);
    text
}

/// The large note's original as released: (its URL path, its bytes).
fn large_target(release: &Path) -> (String, Vec<u8>) {
    let (name, file) = target_name(release, "large-txt.original.txt");
    (
        format!("/targets/{name}"),
        std::fs::read(&file).expect("read"),
    )
}

/// `GET path` on a connection of its own (`Connection: close`): the body of a 200, or why not.
fn fresh_get(address: &str, path: &str) -> Result<Vec<u8>, String> {
    let mut stream = TcpStream::connect(address).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .map_err(|e| e.to_string())?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
    )
    .map_err(|e| format!("send: {e}"))?;
    let mut answer = Vec::new();
    stream
        .read_to_end(&mut answer)
        .map_err(|e| format!("read after {} bytes: {e}", answer.len()))?;
    let end = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| format!("no head in {} bytes", answer.len()))?;
    let head = String::from_utf8_lossy(&answer[..end]);
    if !head.starts_with("HTTP/1.1 200 ") {
        return Err(format!("answered {head:?}"));
    }
    Ok(answer[end + 4..].to_vec())
}

/// What a reader saw: answers that were right (when each came), the longest wait for one, and
/// what went wrong (with the time since the test's start).
#[derive(Default)]
struct Seen {
    right: usize,
    right_after: Vec<Instant>,
    slowest: Duration,
    wrong: Vec<String>,
}

/// `curl` keep-alive over HTTP/1.1: `count` requests for `url` at `rate` a second on one
/// connection while the server keeps it; each answer's status and size, and the connections
/// it opened. Returns (what went wrong, connections opened).
fn curl_keep_alive(url: &str, count: usize, rate: &str, expected: usize) -> (Vec<String>, u64) {
    let mut command = Command::new("curl");
    command.args([
        "-sS",
        "--http1.1",
        "--rate",
        rate,
        "--max-time",
        "60",
        "-w",
        "%{http_code} %{size_download} %{num_connects}\\n",
    ]);
    for _ in 0..count {
        command.args([url, "-o", "/dev/null"]);
    }
    let out = command.output().expect("curl (./test.sh installs it)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut wrong = Vec::new();
    let mut connects = 0;
    for line in text.lines() {
        let fields: Vec<&str> = line.split(' ').collect();
        if fields.len() != 3 || fields[0] != "200" || fields[1] != expected.to_string() {
            wrong.push(line.to_owned());
        }
        connects += fields
            .get(2)
            .and_then(|n| n.parse::<u64>().ok())
            .unwrap_or(0);
    }
    if text.lines().count() != count {
        wrong.push(format!("{} answers of {count}", text.lines().count()));
    }
    if !out.status.success() {
        wrong.push(format!(
            "curl exited {}: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    (wrong, connects)
}

/// An HTTP/2 keep-alive client (the `h2` crate: Debian 12's curl 7.88 cannot reuse an
/// `--http2-prior-knowledge` connection, curl/curl#10634): `count` requests for `path`, one
/// every `every`, on one connection while the server keeps it. A request the server refused
/// with its GOAWAY (above its last stream, so never processed) is sent again on a new
/// connection, as RFC 9113 section 6.8 lets a client do and browsers do. Returns (what went
/// wrong, connections opened, requests sent again). Bounded: `count` requests, 3 tries each,
/// 20 s for each answer.
fn h2_keep_alive(
    address: &str,
    path: &str,
    count: usize,
    every: Duration,
    expected: &[u8],
) -> (Vec<String>, u64, u64) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let uri = format!("http://{address}{path}");
    runtime.block_on(async {
        let (mut wrong, mut connects, mut again) = (Vec::new(), 0, 0);
        let mut client: Option<h2::client::SendRequest<bytes::Bytes>> = None;
        for i in 0..count {
            tokio::time::sleep(every).await;
            let mut tries = 0;
            let answer = loop {
                tries += 1;
                let sender = match client.take() {
                    Some(sender) => sender,
                    None => match h2_connect(address).await {
                        Ok(sender) => {
                            connects += 1;
                            sender
                        }
                        Err(e) => break Err(format!("connect: {e}")),
                    },
                };
                let request = http::Request::get(&uri).body(()).expect("request");
                let asked = tokio::time::timeout(Duration::from_secs(20), async {
                    let mut sender = sender.ready().await?;
                    let (response, _) = sender.send_request(request, true)?;
                    let response = response.await?;
                    let status = response.status();
                    let mut body = response.into_body();
                    let mut bytes = Vec::new();
                    while let Some(chunk) = body.data().await {
                        let chunk = chunk?;
                        let _ = body.flow_control().release_capacity(chunk.len());
                        bytes.extend_from_slice(&chunk);
                    }
                    Ok::<_, h2::Error>((sender, status, bytes))
                })
                .await;
                match asked {
                    Ok(Ok((sender, status, bytes))) => {
                        client = Some(sender);
                        break Ok((status, bytes));
                    }
                    Ok(Err(e)) if e.is_go_away() && e.is_remote() && tries < 3 => again += 1,
                    Ok(Err(e)) => break Err(format!("{e} (try {tries})")),
                    Err(_) => break Err("no answer within 20 s".to_owned()),
                }
            };
            match answer {
                Ok((status, bytes)) if status == 200 && bytes == expected => {}
                Ok((status, bytes)) => {
                    wrong.push(format!("request {i}: {status}, {} bytes", bytes.len()))
                }
                Err(e) => wrong.push(format!("request {i}: {e}")),
            }
        }
        (wrong, connects, again)
    })
}

/// A new HTTP/2 connection (prior knowledge) to `address`, driven on this runtime.
async fn h2_connect(address: &str) -> Result<h2::client::SendRequest<bytes::Bytes>, String> {
    let connect = async {
        let stream = tokio::net::TcpStream::connect(address)
            .await
            .map_err(|e| e.to_string())?;
        h2::client::handshake(stream)
            .await
            .map_err(|e| e.to_string())
    };
    let (sender, connection) = tokio::time::timeout(Duration::from_secs(20), connect)
        .await
        .map_err(|_| "no connection within 20 s".to_owned())??;
    tokio::spawn(connection);
    Ok(sender)
}

/// A slow download of `url` with curl over HTTP/2 into `file`: its status line and the time it
/// ended.
fn slow_download_h2(url: &str, file: &Path) -> (String, Instant) {
    let out = Command::new("curl")
        .args(["-sS", "--http2-prior-knowledge", "--max-time", "60"])
        .args(["--limit-rate", &SLOW_RATE.to_string()])
        .args(["-w", "%{http_code} %{size_download}", "-o"])
        .arg(file)
        .arg(url)
        .output()
        .expect("curl (./test.sh installs it)");
    let said = format!(
        "{} ({}) {}",
        String::from_utf8_lossy(&out.stdout),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    (said, Instant::now())
}

/// A slow download of `path` over HTTP/1.1 into `file` (the body as it comes), read 16 KiB at
/// a time at about `SLOW_RATE` (curl's --limit-rate does not hold over HTTP/1.1 when the
/// answer comes at once, as it does from the mirror's cache): what went wrong, if anything,
/// and the time it ended. Bounded: 60 s.
fn slow_download_h1(address: &str, path: &str, file: &Path) -> (String, Instant) {
    const CHUNK: usize = 16 << 10;
    let pause = Duration::from_secs_f64(CHUNK as f64 / SLOW_RATE as f64);
    let deadline = Instant::now() + Duration::from_secs(60);
    let download = || -> Result<String, String> {
        let mut stream = TcpStream::connect(address).map_err(|e| format!("connect: {e}"))?;
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .map_err(|e| e.to_string())?;
        write!(
            stream,
            "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n"
        )
        .map_err(|e| format!("send: {e}"))?;
        let mut out =
            std::fs::File::create(file).map_err(|e| format!("{}: {e}", file.display()))?;
        let (mut head, mut body_started) = (Vec::new(), false);
        let mut chunk = vec![0u8; CHUNK];
        while Instant::now() < deadline {
            let n = stream.read(&mut chunk).map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                return Ok(String::from_utf8_lossy(&head).into_owned());
            }
            let mut bytes = &chunk[..n];
            if !body_started {
                head.extend_from_slice(bytes);
                let Some(end) = head.windows(4).position(|w| w == b"\r\n\r\n") else {
                    continue;
                };
                bytes = &chunk[n - (head.len() - end - 4)..n];
                head.truncate(end);
                body_started = true;
            }
            out.write_all(bytes).map_err(|e| format!("write: {e}"))?;
            out.flush().map_err(|e| format!("write: {e}"))?;
            std::thread::sleep(pause);
        }
        Err("still reading after 60 s".to_owned())
    };
    let said = match download() {
        Ok(head) if head.starts_with("HTTP/1.1 200 ") => String::new(),
        Ok(head) => format!("answered {head:?}"),
        Err(e) => e,
    };
    (said, Instant::now())
}

#[test]
fn a_restart_on_the_socket_systemd_holds_loses_no_reader_and_finishes_slow_downloads() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    release_a_note(&archive, "large.txt", &large_text(LARGE));
    let release = archive.join("release");
    let (large_path, large) = large_target(&release);
    assert_eq!(large.len(), LARGE, "{large_path}");
    let (small_name, small_file) = target_name(&release, ".original.eml");
    let small_path = format!("/targets/{small_name}");
    let small = std::fs::read(&small_file).expect("read");
    let timestamp = std::fs::read(release.join("metadata/timestamp.json")).expect("read");

    // systemd's part: the socket, bound once and held to the end.
    let socket = TcpListener::bind("127.0.0.180:0").expect("bind 127.0.0.180");
    let address = socket.local_addr().expect("address").to_string();
    let base = format!("http://{address}");
    let drain = DRAIN_SECS.to_string();
    let args = ["--listen", "127.0.0.1:1", "--drain", &drain];
    let mut old = serve_activated(&socket, &archive, &args, &tmp.path().join("a.log"));
    assert_eq!(old.url, format!("{base}/"), "{}", old.log());
    assert_says(&old.log(), "serving the sockets systemd passed");

    // The large file read once at full speed first (and checked), so that the slow downloads
    // start from the mirror's caches: curl's --limit-rate did not hold on a cold first answer.
    assert_eq!(
        fresh_get(&address, &large_path).as_deref(),
        Ok(&large[..]),
        "{large_path}"
    );

    let start = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    // Readers on fresh connections, two at once, each request checked byte for byte.
    let fresh: Vec<_> = (0..2)
        .map(|i| {
            let (stop, address) = (stop.clone(), address.clone());
            let (path, expected) = if i == 0 {
                (small_path.clone(), small.clone())
            } else {
                ("/metadata/timestamp.json".to_owned(), timestamp.clone())
            };
            std::thread::spawn(move || {
                let mut seen = Seen::default();
                // Bounded: stopped by the test, or after 10,000 requests. About 100 a second
                // each, well under the mirror's rate limit for one address (`guard`).
                for _ in 0..10_000 {
                    if stop.load(Ordering::Relaxed) {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                    let asked = Instant::now();
                    match fresh_get(&address, &path) {
                        Ok(body) if body == expected => {
                            seen.right += 1;
                            seen.right_after.push(Instant::now());
                            seen.slowest = seen.slowest.max(asked.elapsed());
                        }
                        Ok(body) => seen.wrong.push(format!(
                            "{path}: {} bytes, not the {} expected",
                            body.len(),
                            expected.len()
                        )),
                        Err(e) => seen.wrong.push(format!(
                            "{path} at {:.3} s: {e}",
                            start.elapsed().as_secs_f64()
                        )),
                    }
                }
                seen
            })
        })
        .collect();
    // Keep-alive readers, HTTP/1.1 (curl) and HTTP/2 (h2): 150 requests each, 25 a second,
    // on one connection until the server tells them to go.
    let h1 = {
        let url = format!("{base}{small_path}");
        let size = small.len();
        std::thread::spawn(move || curl_keep_alive(&url, 150, "25/s", size))
    };
    let h2 = {
        let (address, path, expected) = (address.clone(), small_path.clone(), small.clone());
        let every = Duration::from_millis(40);
        std::thread::spawn(move || h2_keep_alive(&address, &path, 150, every, &expected))
    };
    // Slow downloads of the large file, 5 to 8 s each: HTTP/1.1 (read here at a set pace) and
    // HTTP/2 (curl --limit-rate).
    let slow = {
        let (file1, file2) = (tmp.path().join("slow1"), tmp.path().join("slow2"));
        let (into1, into2) = (file1.clone(), file2.clone());
        let (address, path) = (address.clone(), large_path.clone());
        let url = format!("{base}{large_path}");
        [
            (
                file1,
                std::thread::spawn(move || slow_download_h1(&address, &path, &into1)),
            ),
            (
                file2,
                std::thread::spawn(move || slow_download_h2(&url, &into2)),
            ),
        ]
    };

    // Once both slow downloads are under way: SIGTERM to the old process and, once it has
    // exited, the new one started on the same socket, as `systemctl restart` does. Meanwhile
    // new connections wait in the socket's backlog.
    let deadline = Instant::now() + Duration::from_secs(20);
    let started = |file: &PathBuf| std::fs::metadata(file).is_ok_and(|m| m.len() > 0);
    while !slow.iter().all(|(file, _)| started(file)) {
        assert!(
            Instant::now() < deadline,
            "the slow downloads did not start"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(100));
    let stopped_at = Instant::now();
    old.terminate();
    let status = old.exited_within(Duration::from_secs(DRAIN_SECS + 2));
    let exited_at = Instant::now();
    let status = status.unwrap_or_else(|| {
        panic!(
            "the old process still runs {} s after SIGTERM, over its drain limit:\n{}",
            DRAIN_SECS + 2,
            old.log()
        )
    });
    let new = serve_activated(&socket, &archive, &args, &tmp.path().join("b.log"));
    assert_eq!(new.url, format!("{base}/"), "{}", new.log());
    assert!(status.success(), "the old process: {status}\n{}", old.log());
    let drained = exited_at - stopped_at;
    // Readers go on a second more, with the new process alone.
    std::thread::sleep(Duration::from_secs(1));
    stop.store(true, Ordering::Relaxed);

    let mut wrong = Vec::new();
    let (mut right, mut right_after_exit, mut slowest) = (0, 0, Duration::ZERO);
    for reader in fresh {
        let seen = reader.join().expect("reader");
        right += seen.right;
        slowest = slowest.max(seen.slowest);
        right_after_exit += seen.right_after.iter().filter(|t| **t > exited_at).count();
        wrong.extend(seen.wrong);
    }
    let (h1_wrong, h1_connects) = h1.join().expect("curl");
    let (h2_wrong, h2_connects, h2_again) = h2.join().expect("h2");
    wrong.extend(
        h1_wrong
            .into_iter()
            .map(|w| format!("keep-alive HTTP/1.1: {w}")),
    );
    wrong.extend(
        h2_wrong
            .into_iter()
            .map(|w| format!("keep-alive HTTP/2: {w}")),
    );
    // Each was told to go at least once (by the old process), and kept its connection between.
    assert!(
        (2..20).contains(&h1_connects) && (2..20).contains(&h2_connects),
        "keep-alive: {h1_connects} HTTP/1.1 and {h2_connects} HTTP/2 connections for 150 requests each"
    );
    for (file, download) in slow {
        let (said, ended) = download.join().expect("curl");
        let bytes = std::fs::read(&file).unwrap_or_default();
        if bytes != large {
            wrong.push(format!(
                "slow download {}: {} bytes of {}: {said}",
                file.display(),
                bytes.len(),
                large.len()
            ));
        }
        assert!(
            ended > stopped_at,
            "the slow download {} ended {:.3} s before the SIGTERM: the test tested no drain: {said}",
            file.display(),
            stopped_at.saturating_duration_since(ended).as_secs_f64()
        );
    }
    assert!(
        wrong.is_empty(),
        "{} readers' requests went wrong during the hand-over ({right} right), the first:\n{}\nold:\n{}\nnew:\n{}",
        wrong.len(),
        wrong[..wrong.len().min(20)].join("\n"),
        old.log(),
        new.log()
    );
    assert_says(&old.log(), "every connection finished");
    // It waited for the slow downloads (more than the kernel's socket buffers hold).
    assert!(
        drained > Duration::from_secs(1),
        "the old process exited {drained:?} after SIGTERM: nothing was left to drain\n{}",
        old.log()
    );
    eprintln!(
        "hand-over: {right} fresh requests right ({right_after_exit} after the old process \
         exited), keep-alive connections {h1_connects} (HTTP/1.1) and {h2_connects} (HTTP/2, \
         {h2_again} requests sent again after GOAWAY), the old process drained for {:.2} s, \
         the longest wait for a fresh request {:.2} s",
        drained.as_secs_f64(),
        slowest.as_secs_f64()
    );
    assert!(
        right_after_exit > 0 && right > 100,
        "{right} fresh requests answered, {right_after_exit} by the new process alone"
    );
    drop(socket);
}

/// The drain on its own (a self-bound server, no hand-over): an idle keep-alive connection is
/// closed at once, a download that makes no progress is cut at the drain limit and the process
/// exits then, and no new connection is taken meanwhile.
#[test]
fn a_drain_closes_idle_connections_at_once_and_ends_at_the_limit() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    release_a_note(&archive, "large.txt", &large_text(LARGE));
    let (large_path, _) = large_target(&archive.join("release"));
    let log = tmp.path().join("serve.log");
    let mut server = Daemon::start(
        &[
            "mirror",
            "serve",
            p(&archive),
            "--listen",
            "127.0.0.181:0",
            "--drain",
            "2",
        ],
        &log,
    );
    let address = server
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    // Idle after one answer, kept alive.
    let mut idle = TcpStream::connect(&address).expect("connect");
    idle.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    write!(
        idle,
        "GET /metadata/timestamp.json HTTP/1.1\r\nHost: {address}\r\n\r\n"
    )
    .expect("send");
    let mut first = [0u8; 12];
    idle.read_exact(&mut first).expect("an answer");
    assert_eq!(&first, b"HTTP/1.1 200");
    // A reader that takes nothing of a large file: its answer cannot finish.
    let mut stalled = TcpStream::connect(&address).expect("connect");
    write!(
        stalled,
        "GET {large_path} HTTP/1.1\r\nHost: {address}\r\n\r\n"
    )
    .expect("send");
    std::thread::sleep(Duration::from_millis(300));

    let stopped_at = Instant::now();
    server.terminate();
    // The idle connection ends (the rest of its answer, then end of file) well before the limit.
    let mut rest = Vec::new();
    let read = idle.read_to_end(&mut rest);
    let idle_closed = stopped_at.elapsed();
    assert!(
        read.is_ok() && idle_closed < Duration::from_secs(1),
        "idle connection: {read:?} after {idle_closed:?}"
    );
    let status = server
        .exited_within(Duration::from_secs(10))
        .unwrap_or_else(|| panic!("still running 10 s after SIGTERM:\n{}", server.log()));
    let exited = stopped_at.elapsed();
    assert!(status.success(), "{status}\n{}", server.log());
    assert!(
        (Duration::from_millis(1900)..Duration::from_secs(5)).contains(&exited),
        "exited {exited:?} after SIGTERM with a drain limit of 2 s:\n{}",
        server.log()
    );
    assert_says(&server.log(), "the drain limit passed, 1 connections cut");
    assert!(
        TcpStream::connect(&address).is_err(),
        "{address} still takes connections"
    );
    drop(stalled);
}

/// `mirror run` (what the systemd unit runs) socket-activated, with a certificate: it serves
/// HTTPS on the socket it was passed and binds none of its `listen` addresses; stopped, it
/// leaves the socket open (a connection made meanwhile waits in the backlog), and the next
/// process answers that connection, over HTTP/2.
#[test]
fn mirror_run_serves_https_on_the_passed_socket_and_leaves_it_to_the_next_process() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    let origin = StaticServer::start(&archive.join("release"), "127.0.0.185");
    let (cert, key) = tls_cert(tmp.path(), "127.0.0.184");
    let dir = tmp.path().join("mirror");
    std::fs::create_dir_all(&dir).expect("mkdir");
    std::fs::copy(archive.join("root.json"), dir.join("root.json")).expect("copy root");
    // `listen` is a busy address: binding it would fail, so it must not be bound.
    let busy = TcpListener::bind("127.0.0.184:0").expect("bind");
    let busy_address = busy.local_addr().expect("address");
    std::fs::write(
        dir.join("mirror.toml"),
        format!(
            "peers = [\"{}\"]\nlisten = [\"{busy_address}\"]\ntls_cert = \"{}\"\n\
             tls_key = \"{}\"\ndrain_secs = 5\n",
            origin.url,
            p(&cert),
            p(&key)
        ),
    )
    .expect("write mirror.toml");
    let socket = TcpListener::bind("127.0.0.184:0").expect("bind 127.0.0.184");
    let address = socket.local_addr().expect("address").to_string();
    let url = format!("https://{address}/metadata/timestamp.json");
    let timestamp = std::fs::read(archive.join("release/metadata/timestamp.json")).expect("read");
    let run = |log: &str| activated(&socket, &["mirror", "run", p(&dir)], &tmp.path().join(log));

    let mut old = run("a.log");
    assert_eq!(old.url, format!("https://{address}/"), "{}", old.log());
    // The first sync round runs at once: the release is served within seconds.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (head, body) = curl(&url, &["--cacert", p(&cert), "--http2"]);
        if head.starts_with("http/2 200") {
            assert_eq!(body, timestamp);
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no release after 30 s: {head}\n{}",
            old.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    old.terminate();
    let status = old
        .exited_within(Duration::from_secs(7))
        .unwrap_or_else(|| panic!("still running 7 s after SIGTERM:\n{}", old.log()));
    assert!(status.success(), "{status}\n{}", old.log());
    assert_says(&old.log(), "every connection finished");
    // No process serves the socket now; the kernel still takes connections into its backlog:
    // a reader who asks now is answered by the next process.
    let waiting = TcpStream::connect(&address).expect("the socket is still open");
    let reader = Command::new("curl")
        .args([
            "-sS",
            "--http2",
            "--max-time",
            "20",
            "--cacert",
            p(&cert),
            &url,
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("curl (./test.sh installs it)");
    // Not a synchronisation: had curl not connected by then, it connects to the new process.
    std::thread::sleep(Duration::from_millis(200));
    let new = run("b.log");
    assert_eq!(new.url, format!("https://{address}/"), "{}", new.log());
    drop(waiting);
    let out = reader.wait_with_output().expect("curl");
    assert!(
        out.status.success() && out.stdout == timestamp,
        "{}: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr),
        new.log()
    );
    drop((socket, busy));
}
