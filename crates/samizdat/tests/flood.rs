//! The mirror's flood guard (issue 18) on loopback: attackers from 127.0.0.x addresses of their
//! own against `samizdat mirror serve`, while a reader on another address reads a document. Each
//! test is bounded in time and in requests; each asserts the reader was served, the attacker
//! mostly refused (and counted in `/metrics`), and the server's peak memory (VmHWM) within
//! 150 MB.

use crate::util::*;
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// The server's memory bound under attack.
const MEMORY_MAX: u64 = 150 << 20;

/// `samizdat mirror serve` of a sample release on `ip`, with `extra` flags; the release and
/// the e-mail original's target name and bytes.
fn serve(dir: &Path, ip: &str, extra: &[&str]) -> (Daemon, String, Vec<u8>) {
    let archive = sample_release(dir, &[]);
    let (name, file) = target_name(&archive.join("release"), ".original.eml");
    let listen = format!("{ip}:0");
    let mut args = vec!["mirror", "serve", p(&archive), "--listen", &listen];
    args.extend(extra);
    let server = Daemon::start(&args, &dir.join("serve.log"));
    (
        server,
        format!("/targets/{name}"),
        fs::read(file).expect("read"),
    )
}

fn address(server: &Daemon) -> String {
    server
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned()
}

/// The server's peak resident memory (VmHWM), in bytes.
fn peak_memory(server: &Daemon) -> u64 {
    let status = fs::read_to_string(format!("/proc/{}/status", server.pid())).expect("status");
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmHWM in {status}"));
    kb << 10
}

/// A counter of `/metrics` (0 if absent: a family's label not yet used).
fn metric(server: &Daemon, line: &str) -> u64 {
    let (_, metrics) = curl(
        &format!("{}metrics", server.url),
        &["--interface", "127.0.0.99"],
    );
    let metrics = String::from_utf8_lossy(&metrics).into_owned();
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(line))
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or(0)
}

/// Answers an attacker saw, by status.
#[derive(Default)]
struct Seen {
    ok: AtomicU64,
    too_many: AtomicU64,
    other: AtomicU64,
}

impl Seen {
    fn total(&self) -> u64 {
        self.ok.load(Relaxed) + self.too_many.load(Relaxed) + self.other.load(Relaxed)
    }
}

/// One answer read from `reader`: its status (its body read past, by Content-Length).
fn read_answer(reader: &mut BufReader<std::net::TcpStream>) -> std::io::Result<u16> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status line: {line:?}")))?;
    let mut length = 0usize;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    std::io::copy(
        &mut reader.by_ref().take(length as u64),
        &mut std::io::sink(),
    )?;
    Ok(status)
}

/// Asks for `path` from `from` as fast as the server answers, on keep-alive connections
/// (a new one when one ends), until `until` or `most` requests.
fn attack(from: &str, address: &str, path: &str, until: Instant, most: u64, seen: &Seen) {
    let request = format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n");
    while Instant::now() < until && seen.total() < most {
        let stream = connect_from(from, address);
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut reader = BufReader::new(stream);
        while Instant::now() < until && seen.total() < most {
            if reader.get_mut().write_all(request.as_bytes()).is_err() {
                break;
            }
            match read_answer(&mut reader) {
                Ok(200) => seen.ok.fetch_add(1, Relaxed),
                Ok(429) => seen.too_many.fetch_add(1, Relaxed),
                Ok(_) => seen.other.fetch_add(1, Relaxed),
                Err(_) => break,
            };
        }
    }
}

/// The reader: `count` GETs of `path` from `from`, one at a time; each must be the document,
/// within 5 s. Returns the slowest.
fn read_documents(server: &Daemon, from: &str, path: &str, body: &[u8], count: usize) -> Duration {
    let url = format!("{}{}", server.url, path.trim_start_matches('/'));
    let mut slowest = Duration::ZERO;
    for i in 0..count {
        let started = Instant::now();
        let (head, got) = curl(&url, &["--interface", from, "--max-time", "5"]);
        slowest = slowest.max(started.elapsed());
        assert!(head.starts_with("http/1.1 200"), "read {i}: {head}");
        assert!(got == body, "read {i}: not the document");
    }
    slowest
}

/// A full-speed attacker (4 keep-alive connections from 127.0.0.41) asks for a document as fast
/// as the server answers for 6 s, while a reader on 127.0.0.42 reads it 20 times: the reader
/// gets every one within 5 s; the attacker gets mostly 429 (its address over its rate), each
/// refusal counted in `/metrics`; the server stays under 150 MB. No tarpit: each 429 is sent at
/// once, the most a flood can make the server write.
#[test]
fn a_reader_is_served_while_an_attacker_floods_from_its_own_address() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (server, path, body) = serve(
        tmp.path(),
        "127.0.0.40",
        &[
            "--guard-rate",
            "100",
            "--guard-burst",
            "200",
            "--guard-tarpit-ms",
            "0",
        ],
    );
    let address = address(&server);
    let seen = Arc::new(Seen::default());
    let until = Instant::now() + Duration::from_secs(6);
    let attackers: Vec<_> = (0..4)
        .map(|_| {
            let (address, path, seen) = (address.clone(), path.clone(), seen.clone());
            std::thread::spawn(move || attack("127.0.0.41", &address, &path, until, 500_000, &seen))
        })
        .collect();
    // The reader starts once the attacker has spent its burst.
    let deadline = Instant::now() + Duration::from_secs(5);
    while seen.too_many.load(Relaxed) == 0 {
        assert!(Instant::now() < deadline, "the attacker was never refused");
        std::thread::sleep(Duration::from_millis(10));
    }
    let slowest = read_documents(&server, "127.0.0.42", &path, &body, 20);
    let reader_done = Instant::now();
    for attacker in attackers {
        attacker.join().expect("attacker");
    }
    assert!(reader_done < until, "the reader finished after the attack");
    let (ok, refused) = (seen.ok.load(Relaxed), seen.too_many.load(Relaxed));
    let other = seen.other.load(Relaxed);
    eprintln!(
        "attacker: {ok} answered, {refused} refused (429), {other} other; reader's slowest {slowest:?}"
    );
    assert_eq!(other, 0, "an attacker's answer neither 200 nor 429");
    assert!(
        refused > 4 * ok,
        "the attacker mostly refused: {ok} answered, {refused} refused"
    );
    assert!(
        ok <= 200 + 100 * 8,
        "{ok} answered: over its burst and rate"
    );
    let counted = metric(&server, "samizdat_mirror_refused_total{reason=\"rate\"} ");
    assert!(counted >= refused, "{counted} counted, {refused} seen");
    let peak = peak_memory(&server);
    assert!(peak <= MEMORY_MAX, "peak memory {peak} bytes");
}

/// The tarpit: a client over its rate waits `--guard-tarpit-ms` (300) for each 429, so an
/// attacker on 4 keep-alive connections from 127.0.0.65 gets at most about 4 refusals each
/// 300 ms once its burst of 5 is spent, not as many as the server can write; the refusals that
/// wait are not answers in flight: with `--guard-in-flight 2` a reader on 127.0.0.66 (exempt
/// from the rate by the allow-list, not from the in-flight cap) is served all along (it would
/// get 503 if they were).
#[test]
fn a_client_over_its_rate_waits_in_the_tarpit_for_each_429_outside_the_in_flight_count() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (server, path, body) = serve(
        tmp.path(),
        "127.0.0.64",
        &[
            "--guard-rate",
            "1",
            "--guard-burst",
            "5",
            "--guard-tarpit-ms",
            "300",
            "--guard-in-flight",
            "2",
            // The reader's rate is not the point; the in-flight cap holds for it all the same.
            "--guard-allow",
            "127.0.0.66",
        ],
    );
    let address = address(&server);
    let seen = Arc::new(Seen::default());
    let started = Instant::now();
    let until = started + Duration::from_secs(3);
    let attackers: Vec<_> = (0..4)
        .map(|_| {
            let (address, path, seen) = (address.clone(), path.clone(), seen.clone());
            std::thread::spawn(move || attack("127.0.0.65", &address, &path, until, 100_000, &seen))
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(2);
    while seen.too_many.load(Relaxed) == 0 {
        assert!(Instant::now() < deadline, "the attacker was never refused");
        std::thread::sleep(Duration::from_millis(10));
    }
    read_documents(&server, "127.0.0.66", &path, &body, 10);
    for attacker in attackers {
        attacker.join().expect("attacker");
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (ok, refused) = (seen.ok.load(Relaxed), seen.too_many.load(Relaxed));
    let other = seen.other.load(Relaxed);
    eprintln!("attacker: {ok} answered, {refused} refused (429), {other} other in {elapsed:.1} s");
    assert_eq!(other, 0, "an attacker's answer neither 200 nor 429");
    assert!(ok <= 5 + 4, "{ok} answered: over its burst and rate");
    // Four connections, one refusal each 300 ms at most (and one more each that was waiting
    // when the attack ended).
    let most = (4.0 * (elapsed / 0.3 + 1.0)) as u64;
    assert!(
        (4..=most).contains(&refused),
        "{refused} refused in {elapsed:.1} s: the tarpit allows 4..={most}"
    );
    let counted = metric(&server, "samizdat_mirror_refused_total{reason=\"rate\"} ");
    assert!(counted >= refused, "{counted} counted, {refused} seen");
}

/// A slowloris attacker holds 2,000 connections from 40 addresses of one /24 (127.0.1.x), each
/// with a request head it never finishes, while a reader on 127.0.0.43 reads a document: the
/// guard admits 256 of them (its prefix's connection cap) and closes the rest at once, counted;
/// the reader is served within 5 s; the server stays under 150 MB.
#[test]
fn a_reader_is_served_while_a_slowloris_holds_thousands_of_connections() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (server, path, body) = serve(tmp.path(), "127.0.0.44", &[]);
    let address = address(&server);
    rlimit::increase_nofile_limit(4096).expect("raise the test's descriptor limit");
    let started = Instant::now();
    // A refused connection is reset: its connect or its write may fail, as they may.
    let held: Vec<std::net::TcpStream> = (0..2000)
        .filter_map(|i| {
            let from = format!("127.0.1.{}", 10 + i % 40);
            let mut stream = try_connect_from(&from, &address).ok()?;
            let _ = stream.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nX-Drip: ");
            Some(stream)
        })
        .collect();
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{:?}",
        started.elapsed()
    );
    let slowest = read_documents(&server, "127.0.0.43", &path, &body, 10);
    let count = |reason: &str| {
        metric(
            &server,
            &format!("samizdat_mirror_refused_total{{reason=\"{reason}\"}} "),
        )
    };
    // The accepts of the last connections may trail the reader's: polled, within 10 s.
    let deadline = Instant::now() + Duration::from_secs(10);
    let refused = loop {
        let refused = count("connections") + count("prefix_connections");
        if refused >= 2000 - 256 || Instant::now() > deadline {
            break refused;
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let open = metric(&server, "samizdat_mirror_connections ");
    eprintln!("slowloris: {refused} refused, {open} open; reader's slowest {slowest:?}");
    assert_eq!(refused, 2000 - 256, "refused at once");
    assert!(open <= 256 + 1, "{open} open");
    let peak = peak_memory(&server);
    assert!(peak <= MEMORY_MAX, "peak memory {peak} bytes");
    drop(held);
}

/// What the server sent an HTTP/2 client: streams answered (HEADERS frames) and the error code
/// of its GOAWAY, if it sent one.
fn h2_frames(bytes: &[u8]) -> (usize, Option<u32>) {
    let (mut answered, mut goaway, mut at) = (0, None, 0);
    while at + 9 <= bytes.len() {
        let length = u32::from_be_bytes([0, bytes[at], bytes[at + 1], bytes[at + 2]]) as usize;
        let payload = &bytes[(at + 9).min(bytes.len())..(at + 9 + length).min(bytes.len())];
        match bytes[at + 3] {
            1 => answered += 1,
            7 if payload.len() >= 8 => {
                goaway = Some(u32::from_be_bytes([
                    payload[4], payload[5], payload[6], payload[7],
                ]))
            }
            _ => {}
        }
        at += 9 + length;
    }
    (answered, goaway)
}

/// HTTP/2's ENHANCE_YOUR_CALM error code.
const ENHANCE_YOUR_CALM: u32 = 0xb;

/// An HTTP/2 rapid-reset attacker (CVE-2023-44487) on 127.0.0.51: connection after connection,
/// each sends 1,000 requests for a document and cancels each at once, for 6 s at most (and 300
/// connections), while a reader on 127.0.0.52 reads the document: the attacker's connection is
/// ended by the server with GOAWAY ENHANCE_YOUR_CALM having answered a few streams of the
/// 1,000, and with `--guard-penalty-s 30` its address goes in the penalty box: each of its later
/// connections is closed at once, unread (counted as `penalty`); the reader is served within
/// 5 s each time; the server stays under 150 MB.
#[test]
fn a_reader_is_served_while_an_http2_rapid_reset_attacker_opens_and_cancels_streams() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (server, path, body) = serve(tmp.path(), "127.0.0.50", &["--guard-penalty-s", "30"]);
    let address = address(&server);
    let burst: Vec<u8> = (0..1000u32)
        .flat_map(|i| {
            [
                h2_raw::get_on(2 * i + 1, &path, true),
                h2_raw::reset(2 * i + 1),
            ]
            .concat()
        })
        .collect();
    let attack = [h2_raw::hello(false), burst].concat();
    let connections = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs(6);
    let attacker = {
        let (address, connections) = (address.clone(), connections.clone());
        std::thread::spawn(move || {
            let (mut calmed, mut answered_most) = (0u64, 0usize);
            while Instant::now() < until && connections.load(Relaxed) < 300 {
                // Counted whether or not it connects: a connection the server resets at once
                // may fail already in `connect` (its reset read as the socket's error).
                connections.fetch_add(1, Relaxed);
                let Ok(mut stream) = try_connect_from("127.0.0.51", &address) else {
                    continue;
                };
                stream
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .expect("timeout");
                let _ = stream.write_all(&attack);
                let mut got = Vec::new();
                // Ends when the server closes; a time-out (the server kept it) fails below.
                let _ = stream.read_to_end(&mut got);
                let (answered, goaway) = h2_frames(&got);
                calmed += u64::from(goaway == Some(ENHANCE_YOUR_CALM));
                answered_most = answered_most.max(answered);
            }
            (calmed, answered_most)
        })
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while connections.load(Relaxed) < 3 {
        assert!(Instant::now() < deadline, "the attack never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    let slowest = read_documents(&server, "127.0.0.52", &path, &body, 20);
    let (calmed, answered_most) = attacker.join().expect("attacker");
    let connections = connections.load(Relaxed);
    eprintln!(
        "rapid reset: {connections} connections, {calmed} ended with ENHANCE_YOUR_CALM, at most {answered_most} streams answered on one; reader's slowest {slowest:?}"
    );
    assert!(connections >= 3, "{connections}");
    assert!(calmed >= 1, "the first attacker connection cut");
    let counted = metric(
        &server,
        "samizdat_mirror_connections_closed_total{reason=\"http2_abuse\"} ",
    );
    assert_eq!(counted, calmed, "each cut counted in /metrics");
    // A connection opened before the server had boxed the address may be cut like the first.
    let boxed = metric(
        &server,
        "samizdat_mirror_refused_total{reason=\"penalty\"} ",
    );
    assert!(boxed >= 1, "no connection refused for the penalty");
    assert_eq!(
        calmed + boxed,
        connections,
        "every attacker connection cut or refused"
    );
    assert!(
        answered_most < 200,
        "{answered_most} of 1,000 streams answered on one"
    );
    let peak = peak_memory(&server);
    assert!(peak <= MEMORY_MAX, "peak memory {peak} bytes");
}

/// A CONTINUATION flood (CVE-2024-27316 and kin) from 127.0.0.55, two ways, each connection
/// after connection for 5 s at most (and 200 connections), while a reader on 127.0.0.56 reads
/// the document: a header block left open by 100,000 empty CONTINUATION frames, and one fed
/// 10 MB of header fields in CONTINUATION frames of 1 KiB. The server ends every attacker
/// connection with a GOAWAY (ENHANCE_YOUR_CALM, or COMPRESSION_ERROR when the block only grows
/// past its size) without answering, counts each in `/metrics`, serves the reader within 5 s
/// each time and stays under 150 MB. No penalty box (`--guard-penalty-s 0`, the default, said
/// here), so that every connection reaches HTTP/2 and both floods are tried again and again.
#[test]
fn a_reader_is_served_while_an_http2_continuation_flood_keeps_header_blocks_open() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (server, path, body) = serve(tmp.path(), "127.0.0.57", &["--guard-penalty-s", "0"]);
    let address = address(&server);
    let empty: Vec<u8> = (0..100_000)
        .flat_map(|_| h2_raw::continuation(1, &[]))
        .collect();
    let fields: Vec<u8> = (0..10)
        .flat_map(|_| h2_raw::literal("x-a", &"a".repeat(96)))
        .collect();
    let grown: Vec<u8> = (0..10_000)
        .flat_map(|_| h2_raw::continuation(1, &fields))
        .collect();
    let floods: Vec<Vec<u8>> = [empty, grown]
        .into_iter()
        .map(|flood| [h2_raw::hello(false), h2_raw::get(&path, false), flood].concat())
        .collect();
    let connections = Arc::new(AtomicU64::new(0));
    let until = Instant::now() + Duration::from_secs(5);
    let attacker = {
        let (address, connections) = (address.clone(), connections.clone());
        std::thread::spawn(move || {
            let mut codes = Vec::new();
            while Instant::now() < until && connections.load(Relaxed) < 200 {
                let flood = &floods[codes.len() % 2];
                let Ok(mut stream) = try_connect_from("127.0.0.55", &address) else {
                    continue;
                };
                connections.fetch_add(1, Relaxed);
                stream
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .expect("timeout");
                // The server may close before the whole flood is written: the write then fails.
                let writer = stream.try_clone().expect("clone");
                let flood = flood.clone();
                let sender = std::thread::spawn(move || {
                    let _ = (&writer).write_all(&flood);
                });
                let mut got = Vec::new();
                let _ = stream.read_to_end(&mut got);
                let _ = stream.shutdown(std::net::Shutdown::Both);
                let _ = sender.join();
                codes.push(h2_frames(&got));
            }
            codes
        })
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while connections.load(Relaxed) < 2 {
        assert!(Instant::now() < deadline, "the attack never started");
        std::thread::sleep(Duration::from_millis(10));
    }
    let slowest = read_documents(&server, "127.0.0.56", &path, &body, 20);
    let codes = attacker.join().expect("attacker");
    eprintln!(
        "continuation flood: {} connections, GOAWAY codes {:?}; reader's slowest {slowest:?}",
        codes.len(),
        codes
            .iter()
            .map(|(_, code)| *code)
            .collect::<std::collections::BTreeSet<_>>()
    );
    assert!(codes.len() >= 2, "{} connections", codes.len());
    for (i, (answered, code)) in codes.iter().enumerate() {
        assert_eq!(*answered, 0, "connection {i}: the open block was answered");
        assert!(
            matches!(code, Some(0xb | 0x9)),
            "connection {i}: ended with GOAWAY {code:?}, not ENHANCE_YOUR_CALM or COMPRESSION_ERROR"
        );
    }
    let counted = metric(
        &server,
        "samizdat_mirror_connections_closed_total{reason=\"http2_abuse\"} ",
    ) + metric(
        &server,
        "samizdat_mirror_connections_closed_total{reason=\"malformed\"} ",
    );
    assert_eq!(counted, codes.len() as u64, "each cut counted in /metrics");
    let peak = peak_memory(&server);
    assert!(peak <= MEMORY_MAX, "peak memory {peak} bytes");
}

/// Load shedding: with at most 4 answers in flight (`--guard-in-flight 4`), four HTTP/2
/// clients from 127.0.0.58 that ask for the document with a flow-control window of 0 (their
/// answers can send no byte, so they stay in flight) make a fifth request, from 127.0.0.59,
/// get 503 at once with `Retry-After`, counted in `/metrics` (which is answered meanwhile); once
/// they leave, it is served.
#[test]
fn over_its_answers_in_flight_the_server_answers_503_at_once_and_recovers() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (server, path, body) = serve(tmp.path(), "127.0.0.60", &["--guard-in-flight", "4"]);
    let address = address(&server);
    let held: Vec<std::net::TcpStream> = (0..4)
        .map(|_| {
            let mut stream = connect_from("127.0.0.58", &address);
            stream
                .write_all(&[h2_raw::hello(true), h2_raw::get(&path, true)].concat())
                .expect("send");
            stream
        })
        .collect();
    let url = format!("{}{}", server.url, path.trim_start_matches('/'));
    let deadline = Instant::now() + Duration::from_secs(5);
    let head = loop {
        let started = Instant::now();
        let (head, _) = curl(&url, &["--interface", "127.0.0.59", "--max-time", "5"]);
        if head.starts_with("http/1.1 503") {
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "503 after {:?}",
                started.elapsed()
            );
            break head;
        }
        // The held answers may not all be in flight yet.
        assert!(Instant::now() < deadline, "never refused: {head}");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(head.contains("retry-after: 1"), "{head}");
    // The operator still sees the server while it sheds load.
    assert!(
        metric(
            &server,
            "samizdat_mirror_refused_total{reason=\"overloaded\"} "
        ) >= 1,
        "the 503 counted, and /metrics answered while overloaded"
    );
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (head, got) = curl(&url, &["--interface", "127.0.0.59", "--max-time", "5"]);
        if head.starts_with("http/1.1 200") {
            assert!(got == body, "not the document");
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not served once the holders left: {head}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The hot path's answers count as in flight too: with at most 2 answers in flight, two
/// HTTP/1.1 readers from 127.0.0.61 that ask for a 16 MiB file the server has sent before (a
/// hot hit, sent with `sendfile`) and do not read it keep the server at its cap, so a request
/// from 127.0.0.62 gets 503; once they leave, it is served.
#[test]
fn answers_the_hot_path_is_sending_count_as_in_flight() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    let text: String = (0..320_000u32)
        .map(|i| format!("line {i:08} of a file larger than the sockets hold\n"))
        .collect();
    release_a_note(&archive, "large.txt", &text);
    let (name, _) = target_name(&archive.join("release"), "large-txt.original.txt");
    let path = format!("/targets/{name}");
    let args = [
        "mirror",
        "serve",
        p(&archive),
        "--listen",
        "127.0.0.63:0",
        "--guard-in-flight",
        "2",
    ];
    let server = Daemon::start(&args, &tmp.path().join("serve.log"));
    let address = address(&server);
    let url = format!("{}{}", server.url, path.trim_start_matches('/'));
    // Read once whole: the file is kept open, and the next asks are hot hits.
    let (head, got) = curl(&url, &["--interface", "127.0.0.62"]);
    assert!(
        head.starts_with("http/1.1 200") && got.len() > 16 << 20,
        "{head}"
    );
    let ask = format!("GET {path} HTTP/1.1\r\nhost: x\r\n\r\n");
    let held: Vec<std::net::TcpStream> = (0..2)
        .map(|_| {
            let mut stream = connect_from("127.0.0.61", &address);
            stream.write_all(ask.as_bytes()).expect("send");
            stream
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(5);
    let small = format!("{}metrics", server.url);
    loop {
        let (head, _) = curl(
            &url,
            &["--interface", "127.0.0.62", "--max-time", "5", "-r", "0-9"],
        );
        if head.starts_with("http/1.1 503") {
            assert!(head.contains("retry-after: 1"), "{head}");
            break;
        }
        assert!(Instant::now() < deadline, "never refused: {head}");
        std::thread::sleep(Duration::from_millis(50));
    }
    let (head, _) = curl(&small, &["--interface", "127.0.0.62"]);
    assert!(
        head.starts_with("http/1.1 200"),
        "monitoring answered: {head}"
    );
    drop(held);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let (head, _) = curl(
            &url,
            &["--interface", "127.0.0.62", "--max-time", "5", "-r", "0-9"],
        );
        if head.starts_with("http/1.1 206") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "not served once the holders left: {head}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Request heads over the limits, on hyper's path (the hot path hands them over): a header
/// line of 20 KiB and 80 header lines get 431 (each counted in `/metrics`), a path of 2 KiB
/// 400, before any routing.
#[test]
fn request_heads_over_the_limits_are_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let (server, path, _) = serve(tmp.path(), "127.0.0.53", &[]);
    let address = address(&server);
    let long_path = format!("/d/{}/", "a".repeat(2048));
    let many: String = (0..80).map(|i| format!("X-H{i}: {i}\r\n")).collect();
    let cases = [
        (
            format!(
                "GET {path} HTTP/1.1\r\nHost: x\r\nX-Big: {}\r\n\r\n",
                "b".repeat(20 << 10)
            ),
            431,
        ),
        (format!("GET {path} HTTP/1.1\r\nHost: x\r\n{many}\r\n"), 431),
        (format!("GET {long_path} HTTP/1.1\r\nHost: x\r\n\r\n"), 400),
        (format!("GET {path} HTTP/1.1\r\nHost: x\r\n\r\n"), 200),
    ];
    for (request, status) in cases {
        let stream = connect_from("127.0.0.54", &address);
        stream
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("timeout");
        let mut reader = BufReader::new(stream);
        reader
            .get_mut()
            .write_all(request.as_bytes())
            .expect("send");
        let got = read_answer(&mut reader).expect("an answer");
        assert_eq!(got, status, "{}", &request[..request.len().min(80)]);
    }
    let counted = metric(
        &server,
        "samizdat_mirror_connections_closed_total{reason=\"head_too_large\"} ",
    );
    assert_eq!(counted, 2, "each 431 counted in /metrics");
}

/// A mirror syncing from a peer whose guard sheds it waits out each 429 as `Retry-After` asks
/// and completes: the guard slows a first sync to its rate, it does not break it (the sync
/// failed at the first 429 before).
#[test]
fn a_first_sync_from_a_guarded_peer_is_slowed_to_its_rate_not_refused() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // 29 targets and the metadata: a burst of 10 at 20 a second refuses some of them.
    let (server, _, _) = serve(
        tmp.path(),
        "127.0.0.220",
        &["--guard-rate", "20", "--guard-burst", "10"],
    );
    let root = tmp.path().join("archive/root.json");
    let dir = tmp.path().join("mirror");
    let out = mirror_sync(&dir, &root, &[&server.url], &[], 0);
    assert_says(&stdout(&out), "release 1");
    let refused = metric(&server, "samizdat_mirror_refused_total{reason=\"rate\"} ");
    assert!(
        refused > 0,
        "the guard never refused the sync: the test tests nothing"
    );
}
