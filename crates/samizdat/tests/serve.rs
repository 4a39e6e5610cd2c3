//! The mirror's HTTP server (`samizdat mirror serve` / `run`): HTTP semantics checked with curl,
//! HTTPS and HTTP/2, 410 for withdrawn documents, and origin → three mirrors on our own servers
//! with python-tuf verifying through the last one.

use crate::util::*;
use std::fs;
use std::io::{Read, Write};
use std::path::Path;

/// Starts `samizdat mirror serve DIR` on `ip`.
fn serve(dir: &Path, ip: &str, log: &Path) -> Daemon {
    Daemon::start(
        &["mirror", "serve", p(dir), "--listen", &format!("{ip}:0")],
        log,
    )
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines()
        .find_map(|line| line.strip_prefix(&format!("{name}: ")))
        .map(str::trim)
}

/// The target name and stored file of the sample's e-mail original.
fn email_original(archive: &Path) -> (String, std::path::PathBuf) {
    target_name(&archive.join("release"), ".original.eml")
}

/// Sends `request` as raw bytes (for what curl would normalise) and returns the status line.
fn raw_status(url: &str, request: &str) -> String {
    let address = url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("timeout");
    stream.write_all(request.as_bytes()).expect("send");
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    String::from_utf8_lossy(&answer)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn ranges_etags_head_and_caching_as_caches_and_download_managers_expect() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    let server = serve(&archive, "127.0.0.20", &tmp.path().join("serve.log"));
    let (name, file) = email_original(&archive);
    let bytes = fs::read(&file).expect("read");
    let url = format!("{}targets/{name}", server.url);
    let sha = name.split('.').next().expect("sha");

    // Whole file: immutable, ETag = its SHA-256, sandboxed, no sniffing.
    let (head, body) = curl(&url, &[]);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert_eq!(body, bytes);
    assert_eq!(header(&head, "etag"), Some(format!("\"{sha}\"").as_str()));
    assert_eq!(
        header(&head, "cache-control"),
        Some("public, max-age=31536000, immutable")
    );
    assert_eq!(header(&head, "content-security-policy"), Some("sandbox"));
    assert_eq!(header(&head, "x-content-type-options"), Some("nosniff"));
    assert_eq!(header(&head, "content-type"), Some("message/rfc822"));
    assert_eq!(header(&head, "accept-ranges"), Some("bytes"));
    // Asked again, it comes from the response cache, with the very same headers.
    let without_date = |head: &str| -> Vec<String> {
        let mut lines: Vec<String> = head
            .lines()
            .filter(|line| !line.starts_with("date: "))
            .map(str::to_owned)
            .collect();
        lines.sort();
        lines
    };
    let (again, body) = curl(&url, &[]);
    assert_eq!(body, bytes);
    assert_eq!(without_date(&again), without_date(&head));

    // Ranges: a middle, a suffix, past the end; If-Range with another tag gets it all.
    let (head, body) = curl(&url, &["-H", "Range: bytes=10-19"]);
    assert!(head.starts_with("http/1.1 206"), "{head}");
    assert_eq!(body, bytes[10..20]);
    let total = bytes.len();
    assert_eq!(
        header(&head, "content-range"),
        Some(format!("bytes 10-19/{total}").as_str())
    );
    let (head, body) = curl(&url, &["-H", "Range: bytes=-7"]);
    assert!(head.starts_with("http/1.1 206"), "{head}");
    assert_eq!(body, bytes[total - 7..]);
    let (head, _) = curl(&url, &["-H", &format!("Range: bytes={total}-")]);
    assert!(head.starts_with("http/1.1 416"), "{head}");
    assert_eq!(
        header(&head, "content-range"),
        Some(format!("bytes */{total}").as_str())
    );
    let (head, body) = curl(
        &url,
        &["-H", "Range: bytes=0-3", "-H", "If-Range: \"another\""],
    );
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert_eq!(body, bytes);

    // Conditional: the ETag it gave comes back as 304, with no body.
    let (head, body) = curl(&url, &["-H", &format!("If-None-Match: \"{sha}\"")]);
    assert!(head.starts_with("http/1.1 304"), "{head}");
    assert!(body.is_empty());

    // HEAD: the length, no body.
    let (head, body) = curl(&url, &["-I"]);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert_eq!(
        header(&head, "content-length"),
        Some(total.to_string().as_str())
    );
    assert!(body.is_empty());

    // The plain path of the same document gives the same bytes (short caching: it may change).
    let id = name.split('.').nth(1).expect("id");
    let (head, body) = curl(&format!("{}d/{id}/original.eml", server.url), &[]);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert_eq!(body, bytes);
    assert_eq!(header(&head, "cache-control"), Some("public, max-age=300"));

    // The timestamp: from memory, short max-age; versioned metadata immutable.
    let (head, body) = curl(&format!("{}metadata/timestamp.json", server.url), &[]);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert_eq!(header(&head, "cache-control"), Some("public, max-age=60"));
    assert_eq!(
        body,
        fs::read(archive.join("release/metadata/timestamp.json")).expect("read")
    );
    let (head, _) = curl(&format!("{}metadata/1.snapshot.json", server.url), &[]);
    assert_eq!(
        header(&head, "cache-control"),
        Some("public, max-age=31536000, immutable")
    );

    // Metadata and text targets gzipped for clients that take it (made once, kept on disk),
    // with their own ETag; a Range request gets the file as it is.
    let snapshot = fs::read(archive.join("release/metadata/1.snapshot.json")).expect("read");
    let snapshot_url = format!("{}metadata/1.snapshot.json", server.url);
    for round in 0..2 {
        let (head, body) = curl(&snapshot_url, &["--compressed"]);
        assert_eq!(
            header(&head, "content-encoding"),
            Some("gzip"),
            "{round}: {head}"
        );
        assert_eq!(header(&head, "vary"), Some("accept-encoding"));
        assert!(
            header(&head, "etag").is_some_and(|e| e.ends_with("-gz\"")),
            "{head}"
        );
        let length: usize = header(&head, "content-length")
            .and_then(|l| l.parse().ok())
            .expect("length");
        assert!(length < snapshot.len(), "{length} of {}", snapshot.len());
        assert_eq!(body, snapshot, "curl decodes it back to the same bytes");
    }
    assert!(
        archive
            .join("cache/gz/metadata/1.snapshot.json.gz")
            .exists()
    );
    let (head, body) = curl(&snapshot_url, &["--compressed", "-H", "Range: bytes=0-9"]);
    assert!(head.starts_with("http/1.1 206"), "{head}");
    assert_eq!(header(&head, "content-encoding"), None);
    assert_eq!(body, snapshot[..10]);

    // Not there, not allowed, not a path.
    let (head, _) = curl(&format!("{}targets/00.nothing.json", server.url), &[]);
    assert!(head.starts_with("http/1.1 404"), "{head}");
    let (head, _) = curl(&url, &["-X", "POST"]);
    assert!(head.starts_with("http/1.1 405"), "{head}");
    assert_eq!(header(&head, "allow"), Some("get, head"));
    for path in [
        "/metadata/../../keys/root-1.pk8",
        "/targets/%2e%2e/x",
        "/.git/config",
    ] {
        let status = raw_status(
            &server.url,
            &format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"),
        );
        assert!(status.starts_with("HTTP/1.1 400"), "{path}: {status}");
    }

    // A large file (streamed, not cached): whole, a range in the middle, HEAD.
    let big: String = (0..40_000).map(|i| format!("line {i:08}\n")).collect();
    drop(server);
    release_a_note(&archive, "big.txt", &big);
    let server = serve(&archive, "127.0.0.20", &tmp.path().join("serve2.log"));
    let (big_name, _) = target_name(&archive.join("release"), "big-txt.original.txt");
    let big_url = format!("{}targets/{big_name}", server.url);
    let (head, body) = curl(&big_url, &[]);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert_eq!(body, big.as_bytes());
    let (head, body) = curl(&big_url, &["-H", "Range: bytes=300000-300013"]);
    assert!(head.starts_with("http/1.1 206"), "{head}");
    assert_eq!(body, &big.as_bytes()[300_000..300_014]);
    let (head, body) = curl(&big_url, &["-I"]);
    assert_eq!(
        header(&head, "content-length"),
        Some(big.len().to_string().as_str())
    );
    assert!(body.is_empty());

    // Every answer above was counted.
    let (_, metrics) = curl(&format!("{}metrics", server.url), &[]);
    let metrics = String::from_utf8_lossy(&metrics).into_owned();
    assert!(
        metrics.contains("samizdat_mirror_http_requests_total{class=\"2xx\"} ")
            && metrics.contains("samizdat_mirror_release 2"),
        "{metrics}"
    );
    let count = |class: &str| -> u64 {
        metrics
            .lines()
            .find_map(|l| {
                l.strip_prefix(&format!(
                    "samizdat_mirror_http_requests_total{{class=\"{class}\"}} "
                ))
            })
            .and_then(|n| n.parse().ok())
            .unwrap_or(0)
    };
    assert_eq!(count("2xx"), 3, "{metrics}");
}

/// Requests on one connection, pipelined and one split inside its head, are answered in order,
/// whether by the hot path from the response cache or by hyper, which takes the connection over
/// at the first request that is not a plain cache hit (here a range).
#[test]
fn pipelined_requests_are_answered_in_order_by_the_hot_path_and_then_hyper() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    let server = serve(&archive, "127.0.0.20", &tmp.path().join("serve.log"));
    let (name, file) = email_original(&archive);
    let bytes = fs::read(&file).expect("read");
    let path = format!("/targets/{name}");
    let (head, _) = curl(&format!("{}{}", server.url, &path[1..]), &[]);
    assert!(head.starts_with("http/1.1 200"), "{head}");

    let get = |extra: &str| format!("GET {path} HTTP/1.1\r\nHost: x\r\n{extra}\r\n");
    let requests = [
        get(""),
        format!("HEAD {path} HTTP/1.1\r\nHost: x\r\n\r\n"),
        get("Accept-Encoding: identity\r\n"),
        get("Range: bytes=0-9\r\n"),
        get(""),
        get("Connection: close\r\n"),
    ]
    .concat();
    let address = server
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(10)))
        .expect("timeout");
    let cut = get("").len() + 10;
    stream.write_all(&requests.as_bytes()[..cut]).expect("send");
    std::thread::sleep(std::time::Duration::from_millis(200));
    stream.write_all(&requests.as_bytes()[cut..]).expect("send");
    let mut answers = Vec::new();
    stream.read_to_end(&mut answers).expect("read the answers");

    let expected: [(&str, &[u8]); 6] = [
        ("200", &bytes),
        ("200", b""),
        ("200", &bytes),
        ("206", &bytes[..10]),
        ("200", &bytes),
        ("200", &bytes),
    ];
    let mut rest = &answers[..];
    for (i, (status, body)) in expected.iter().enumerate() {
        let end = rest
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| {
                panic!("answer {i}: no head in {:?}", String::from_utf8_lossy(rest))
            });
        let head = String::from_utf8_lossy(&rest[..end]).to_lowercase();
        assert!(
            head.starts_with(&format!("http/1.1 {status}")),
            "answer {i}: {head}"
        );
        let length: usize = header(&head, "content-length")
            .and_then(|l| l.parse().ok())
            .unwrap_or_else(|| panic!("answer {i}: no length: {head}"));
        assert_eq!(length, if i == 1 { bytes.len() } else { body.len() }, "{i}");
        assert_eq!(
            header(&head, "content-security-policy"),
            Some("sandbox"),
            "{i}"
        );
        rest = &rest[end + 4..];
        assert_eq!(&rest[..body.len()], *body, "answer {i}'s body");
        rest = &rest[body.len()..];
    }
    assert!(
        rest.is_empty(),
        "more than asked: {:?}",
        String::from_utf8_lossy(rest)
    );
}

/// A large file asked for again on a plain connection is sent by the hot path (`sendfile`)
/// with the same head and bytes as hyper's answer, to a client slow to read; HEAD gets the head
/// alone; a request that takes gzip, and one that closes, go to hyper and get the same.
#[test]
fn large_files_sent_by_the_hot_path_answer_as_hyper_does() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    // 3.4 MB: larger than the socket buffers, and too large to be gzipped on request.
    let huge: String = (0..240_000).map(|i| format!("line {i:08}\n")).collect();
    release_a_note(&archive, "huge.txt", &huge);
    let server = serve(&archive, "127.0.0.20", &tmp.path().join("serve.log"));
    let (name, _) = target_name(&archive.join("release"), "huge-txt.original.txt");
    let request = |extra: &str| format!("GET /targets/{name} HTTP/1.1\r\nHost: x\r\n{extra}\r\n");
    let address = server
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let exchange = |requests: &str, slow: bool| -> Vec<u8> {
        let mut stream = std::net::TcpStream::connect(&address).expect("connect");
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(20)))
            .expect("timeout");
        stream.write_all(requests.as_bytes()).expect("send");
        let mut answers = Vec::new();
        let mut chunk = [0; 16384];
        loop {
            if slow && answers.len() < 1 << 20 {
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            match stream.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => answers.extend_from_slice(&chunk[..n]),
                Err(e) => panic!("reading the answers: {e}"),
            }
        }
        answers
    };
    // The head's lines but the date, sorted, and the bytes after it.
    let split = |answers: &[u8], body_len: usize| -> (Vec<String>, Vec<u8>, usize) {
        let end = answers
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| {
                panic!(
                    "no head in {:?}",
                    String::from_utf8_lossy(&answers[..answers.len().min(200)])
                )
            });
        let head = String::from_utf8_lossy(&answers[..end]).to_lowercase();
        let mut lines: Vec<String> = head
            .lines()
            .filter(|l| !l.starts_with("date: ") && !l.starts_with("connection: "))
            .map(str::to_owned)
            .collect();
        lines.sort();
        let body = answers[end + 4..][..body_len].to_vec();
        (lines, body, end + 4 + body_len)
    };
    // First hyper's, which opens the file and keeps it for the hot path.
    let answer = exchange(&request("Connection: close\r\n"), false);
    let (hyper_head, body, used) = split(&answer, huge.len());
    assert!(
        hyper_head.contains(&"http/1.1 200 ok".to_owned()),
        "{hyper_head:?}"
    );
    assert!(
        hyper_head.contains(&format!("content-length: {}", huge.len())),
        "{hyper_head:?}"
    );
    assert_eq!(body, huge.as_bytes());
    assert_eq!(used, answer.len());

    let requests = [
        request(""),
        format!("HEAD /targets/{name} HTTP/1.1\r\nHost: x\r\n\r\n"),
        request(""),
        request("Accept-Encoding: gzip\r\n"),
        request("Connection: close\r\n"),
    ]
    .concat();
    let answers = exchange(&requests, true);
    let mut rest = &answers[..];
    for (i, body_len) in [huge.len(), 0, huge.len(), huge.len(), huge.len()]
        .into_iter()
        .enumerate()
    {
        let (head, body, used) = split(rest, body_len);
        assert_eq!(head, hyper_head, "answer {i}'s head");
        assert!(
            body == huge.as_bytes()[..body_len],
            "answer {i}'s body differs"
        );
        rest = &rest[used..];
    }
    assert!(rest.is_empty(), "{} bytes more than asked", rest.len());
}

/// A connection answered by the hot path stays HTTP/1.1: an HTTP/2 preface after an answer is
/// a bad request, not a switch to HTTP/2.
#[test]
fn a_connection_answered_once_stays_http1() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    let server = serve(&archive, "127.0.0.20", &tmp.path().join("serve.log"));
    let (name, _) = email_original(&archive);
    let (head, _) = curl(&format!("{}targets/{name}", server.url), &[]);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    let address = server
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .expect("timeout");
    let request = format!("GET /targets/{name} HTTP/1.1\r\nHost: x\r\n\r\n");
    stream.write_all(request.as_bytes()).expect("send");
    stream
        .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n")
        .expect("send");
    let mut answers = Vec::new();
    let mut chunk = [0; 65536];
    while let Ok(n @ 1..) = stream.read(&mut chunk) {
        answers.extend_from_slice(&chunk[..n]);
    }
    let end = answers
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an answer");
    let head = String::from_utf8_lossy(&answers[..end]).to_lowercase();
    assert!(head.starts_with("http/1.1 200"), "{head}");
    let length: usize = header(&head, "content-length")
        .and_then(|l| l.parse().ok())
        .expect("a length");
    // Then hyper's HTTP/1 refusal: the connection closed, or a 400; no HTTP/2 frames.
    let rest = &answers[end + 4 + length..];
    assert!(
        rest.is_empty() || rest.starts_with(b"HTTP/1.1 400"),
        "the preface was taken as HTTP/2: {:?}",
        String::from_utf8_lossy(rest)
    );
}

/// Connections that hold on without completing a request are cut after 10 to 20 s: one that
/// drips header lines and never ends its head (slowloris), and one left idle after an answer.
#[test]
fn connections_that_complete_no_request_are_closed() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    let server = serve(&archive, "127.0.0.20", &tmp.path().join("serve.log"));
    let (name, _) = email_original(&archive);
    let (head, _) = curl(&format!("{}targets/{name}", server.url), &[]);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    let address = server
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let connect = || {
        let stream = std::net::TcpStream::connect(&address).expect("connect");
        stream
            .set_read_timeout(Some(std::time::Duration::from_secs(1)))
            .expect("timeout");
        stream
    };
    let started = std::time::Instant::now();
    use std::io::ErrorKind;
    let slow = {
        let mut stream = connect();
        std::thread::spawn(move || {
            stream
                .write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\n")
                .expect("send");
            let mut byte = [0; 1];
            for _ in 0..40 {
                let _ = stream.write_all(b"X-Drip: 1\r\n");
                match stream.read(&mut byte) {
                    Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
                    Ok(0) | Err(_) => return Some(started.elapsed()),
                    Ok(_) => {}
                }
            }
            None
        })
    };
    let idle = {
        let mut stream = connect();
        let request = format!("GET /targets/{name} HTTP/1.1\r\nHost: x\r\n\r\n");
        std::thread::spawn(move || {
            stream.write_all(request.as_bytes()).expect("send");
            let mut answer = Vec::new();
            let mut chunk = [0; 4096];
            for _ in 0..40 {
                match stream.read(&mut chunk) {
                    Ok(0) => return Some((started.elapsed(), answer)),
                    Ok(n) => answer.extend_from_slice(&chunk[..n]),
                    Err(_) => {}
                }
            }
            None
        })
    };
    let slow = slow
        .join()
        .expect("slow client")
        .expect("the dripping client was never cut");
    // The start of an HTTP/2 preface, never finished: the idle limit holds as for HTTP/1.
    let preface = {
        let mut stream = connect();
        std::thread::spawn(move || {
            stream.write_all(b"PRI * HTTP/2.0\r\n").expect("send");
            let mut chunk = [0; 4096];
            for _ in 0..40 {
                if let Ok(0) = stream.read(&mut chunk) {
                    return Some(started.elapsed());
                }
            }
            None
        })
    };
    let preface = preface
        .join()
        .expect("preface client")
        .expect("the client with half a preface was never cut");
    let (idle, answer) = idle
        .join()
        .expect("idle client")
        .expect("the idle client was never cut");
    assert!(
        answer.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
    for (what, after) in [
        ("dripping", slow),
        ("idle", idle),
        ("half preface", preface),
    ] {
        let seconds = after.as_secs_f64();
        assert!(
            (9.0..25.0).contains(&seconds),
            "{what}: cut after {seconds:.1} s"
        );
    }
}

#[test]
fn a_withdrawn_document_is_410_gone_on_every_path_with_the_reason() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    let (name, _) = email_original(&archive);
    let id = name.split('.').nth(1).expect("id").to_owned();
    // Served (and cached) before the withdrawal; the server follows the new release by itself.
    let server = serve(&archive, "127.0.0.21", &tmp.path().join("serve.log"));
    for round in 0..2 {
        let (head, _) = curl(&format!("{}d/{id}/original.eml", server.url), &[]);
        assert!(head.starts_with("http/1.1 200"), "{round}: {head}");
    }
    run(
        &[
            "withdraw",
            p(&archive),
            &id,
            "--reason",
            "court order 12/2026",
        ],
        0,
    );
    run(&["release", p(&archive)], 0);
    server.wait_for_release(2);
    // The old target file is still on disk (release 1), but the document is withdrawn.
    for path in [
        format!("targets/{name}"),
        format!("d/{id}/original.eml"),
        format!("d/{id}/doc.json"),
    ] {
        let (head, body) = curl(&format!("{}{path}", server.url), &[]);
        assert!(head.starts_with("http/1.1 410"), "{path}: {head}");
        assert!(
            String::from_utf8_lossy(&body).contains("court order 12/2026"),
            "{path}: {}",
            String::from_utf8_lossy(&body)
        );
    }
    // Other documents are untouched.
    let (head, _) = curl(&format!("{}d/10PORTCITY101/doc.json", server.url), &[]);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    let (_, body) = curl(&format!("{}withdrawn.json", server.url), &[]);
    assert!(String::from_utf8_lossy(&body).contains(&id));
}

/// The file names under `release/targets` ending in `suffix`.
fn target_files(release: &Path, suffix: &str) -> std::collections::BTreeSet<String> {
    fs::read_dir(release.join("targets"))
        .expect("read targets")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(suffix))
        .collect()
}

/// Gone means gone on the origin (`mirror serve ARCHIVE`, which keeps every release): once a
/// release withdraws the note, no file of any release on disk shows its title or text, by
/// `/targets/`, by plain path or as metadata, though every earlier file is still there; an
/// earlier release's files are served until then (a release that withdraws nothing).
#[test]
fn once_withdrawn_a_documents_title_and_text_are_on_no_path_of_the_origin() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = archive_with_a_note_to_withdraw(tmp.path());
    let release = archive.join("release");
    let server = serve(&archive, "127.0.0.21", &tmp.path().join("serve.log"));
    let before = paths_showing(&server.url, &every_path_of(&release), GONE_MARKERS);
    assert!(
        before.iter().any(|(path, _)| !path.contains(GONE_ID)),
        "the note is quoted by other files of the release: {before:?}"
    );
    let files_1 = target_files(&release, "");

    // Release 2 withdraws nothing: release 1's files that quote the note and that release 2
    // replaced (listings, search files) are still served by /targets/.
    let extra = tmp.path().join("extra2");
    fs::create_dir_all(&extra).expect("mkdir");
    fs::write(extra.join("other.txt"), "Another note.\n").expect("write");
    run(&["add", p(&archive), p(&extra)], 0);
    run(&["release", p(&archive)], 0);
    server.wait_for_release(2);
    let new_names: Vec<String> = target_files(&release, "")
        .difference(&files_1)
        .filter_map(|f| Some(f.split_once('.')?.1.to_owned()))
        .collect();
    let replaced: Vec<&String> = before
        .iter()
        .map(|(path, _)| path)
        .filter(|path| !path.contains(GONE_ID))
        .filter(|path| {
            path.strip_prefix("/targets/")
                .and_then(|f| f.split_once('.'))
                .is_some_and(|(_, name)| new_names.iter().any(|n| n == name))
        })
        .collect();
    assert!(!replaced.is_empty(), "{before:?}\n{new_names:?}");
    for path in &replaced {
        let (status, body) = http_get(&server.url, path);
        assert_eq!(status, 200, "{path}");
        assert!(
            String::from_utf8_lossy(&body)
                .to_lowercase()
                .contains("xylophone")
                || String::from_utf8_lossy(&body)
                    .to_lowercase()
                    .contains("jvortex"),
            "{path}"
        );
    }
    // Asked again for every path: the caches hold them all now.
    let _ = paths_showing(&server.url, &every_path_of(&release), GONE_MARKERS);

    withdraw_the_note(&archive);
    let released = std::time::Instant::now();
    server.wait_for_release(3);
    let took = released.elapsed();
    eprintln!("release 3 served {took:?} after it was written");
    assert!(
        took < std::time::Duration::from_secs(1),
        "the withdrawal took {took:?} to be served"
    );
    let paths = every_path_of(&release);
    let after = paths_showing(&server.url, &paths, GONE_MARKERS);
    assert!(after.is_empty(), "the withdrawn note shows on {after:?}");
    for path in &replaced {
        assert!(paths.contains(path), "{path}: still on disk");
        let (status, _) = http_get(&server.url, path);
        assert_eq!(status, 404, "{path}");
    }
}

#[test]
fn originals_that_a_browser_would_run_are_served_inert_by_plain_path_and_under_targets() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    release_a_note(&archive, "scripted.eml", SCRIPTED_EMAIL);
    let server = serve(&archive, "127.0.0.21", &tmp.path().join("serve.log"));
    for (ext, expected) in [
        ("js", "text/plain; charset=utf-8"),
        ("html", "text/plain; charset=utf-8"),
        ("svg", "text/plain; charset=utf-8"),
    ] {
        let (name, file) = target_name(&archive.join("release"), &format!(".original.{ext}"));
        let bytes = fs::read(&file).expect("read");
        let id = name.split('.').nth(1).expect("id");
        for path in [format!("targets/{name}"), format!("d/{id}/original.{ext}")] {
            // Twice: the second answer comes from the response cache (the hot path).
            for round in 0..2 {
                let (head, body) = curl(&format!("{}{path}", server.url), &[]);
                assert!(head.starts_with("http/1.1 200"), "{path}: {head}");
                assert_eq!(body, bytes, "{path}");
                assert_eq!(
                    header(&head, "content-type"),
                    Some(expected),
                    "{path} ({round}): {head}"
                );
                assert_eq!(
                    header(&head, "content-security-policy"),
                    Some("sandbox"),
                    "{path}"
                );
                assert_eq!(header(&head, "x-content-type-options"), Some("nosniff"));
            }
        }
    }
    // The sample's PDF keeps its type (a reader views it in the browser).
    let (name, _) = target_name(&archive.join("release"), ".original.pdf");
    let (head, _) = curl(&format!("{}targets/{name}", server.url), &[]);
    assert_eq!(
        header(&head, "content-type"),
        Some("application/pdf"),
        "{head}"
    );
}

#[test]
fn https_with_http2_from_certificate_files() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    let (cert, key) = tls_cert(tmp.path(), "127.0.0.22");
    let server = Daemon::start(
        &[
            "mirror",
            "serve",
            p(&archive),
            "--listen",
            "127.0.0.22:0",
            "--tls-cert",
            p(&cert),
            "--tls-key",
            p(&key),
        ],
        &tmp.path().join("serve.log"),
    );
    assert!(server.url.starts_with("https://"), "{}", server.url);
    let url = format!("{}metadata/timestamp.json", server.url);
    let (head, body) = curl(&url, &["--cacert", p(&cert), "--http2"]);
    assert!(head.starts_with("http/2 200"), "{head}");
    assert_eq!(
        body,
        fs::read(archive.join("release/metadata/timestamp.json")).expect("read")
    );
    let (head, _) = curl(&url, &["--cacert", p(&cert), "--http1.1"]);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    // HEAD over HTTP/2: GET's length, no body (once a stream error, PROTOCOL_ERROR).
    let length = fs::metadata(archive.join("release/metadata/timestamp.json"))
        .expect("timestamp")
        .len();
    let (head, body) = curl(&url, &["--cacert", p(&cert), "--http2", "-I"]);
    assert!(head.starts_with("http/2 200"), "{head}");
    assert!(
        head.contains(&format!("content-length: {length}")),
        "{head}"
    );
    assert!(body.is_empty());
    // Plain HTTP/2 (prior knowledge) on a plain listener.
    let plain = serve(&archive, "127.0.0.23", &tmp.path().join("plain.log"));
    let (head, _) = curl(
        &format!("{}metadata/timestamp.json", plain.url),
        &["--http2-prior-knowledge"],
    );
    assert!(head.starts_with("http/2 200"), "{head}");
    // A certificate that is not one is a clear error naming the file.
    fs::write(tmp.path().join("bad.pem"), "not a certificate").expect("write");
    let out = run(
        &[
            "mirror",
            "serve",
            p(&archive),
            "--listen",
            "127.0.0.22:0",
            "--tls-cert",
            p(&tmp.path().join("bad.pem")),
            "--tls-key",
            p(&key),
        ],
        1,
    );
    assert_says(&stderr(&out), "bad.pem");
}

#[test]
fn origin_and_three_mirrors_c_syncs_from_b_while_the_origin_is_down() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    let root = archive.join("root.json");
    let log = |name: &str| tmp.path().join(format!("{name}.log"));
    let origin = serve(&archive, "127.0.0.30", &log("origin"));
    let mirror = |name: &str, ip: &str, peers: &[&str]| {
        let dir = tmp.path().join(name);
        let mut args = vec!["mirror", "init", p(&dir), "--root", p(&root)];
        for peer in peers {
            args.extend(["--peer", peer]);
        }
        let listen = format!("{ip}:0");
        args.extend(["--listen", &listen, "--interval", "1"]);
        run(&args, 0);
        Daemon::start(&["mirror", "run", p(&dir)], &log(name))
    };
    let a = mirror("a", "127.0.0.31", &[&origin.url]);
    let b = mirror("b", "127.0.0.32", &[&origin.url, &a.url]);
    a.wait_for_release(1);
    b.wait_for_release(1);
    let origin_address = origin
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    drop(origin);

    // C knows only B; the origin is down.
    let c = mirror("c", "127.0.0.33", &[&b.url]);
    c.wait_for_release(1);
    let status = c.status();
    assert_eq!(status["peers"][0]["url"], b.url.as_str(), "{status}");
    assert_eq!(status["peers"][0]["state"], "ok", "{status}");
    assert!(status["sync"]["last_success"].is_string(), "{status}");

    // python-tuf, given only root.json, verifies documents fetched through C.
    let cache = tmp.path().join("ngclient");
    fs::create_dir_all(&cache).expect("mkdir");
    fs::copy(&root, cache.join("root.json")).expect("copy");
    let lines = ngclient(
        &cache,
        &c.url,
        &tmp.path().join("dl"),
        &["10PORTCITY101.json"],
    );
    assert!(lines[0].starts_with("OK 10PORTCITY101.json "), "{lines:?}");
    run(&["verify", "--root", p(&root), &c.url], 0);

    // The origin comes back with a second release: it reaches C through B.
    release_a_note(&archive, "late.txt", "a document of the second release");
    let origin = Daemon::start(
        &["mirror", "serve", p(&archive), "--listen", &origin_address],
        &log("origin2"),
    );
    b.wait_for_release(2);
    c.wait_for_release(2);
    let lines = ngclient(&cache, &c.url, &tmp.path().join("dl2"), &["late-txt.json"]);
    assert!(lines[0].starts_with("OK "), "{lines:?}");
    drop(origin);
    let (_, metrics) = curl(&format!("{}metrics", c.url), &[]);
    let metrics = String::from_utf8_lossy(&metrics).into_owned();
    assert!(metrics.contains("samizdat_mirror_release 2"), "{metrics}");
    assert!(
        metrics.contains(&format!("samizdat_mirror_peer_up{{peer=\"{}\"}} 1", b.url)),
        "{metrics}"
    );
}

/// Sends `requests` (the last with `Connection: close`) on one connection to the server at
/// `url` and returns each answer's head (lowercased) and body, read by their `Content-Length`.
fn exchange(url: &str, requests: &str) -> Vec<(String, Vec<u8>)> {
    let address = url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = std::net::TcpStream::connect(address).expect("connect");
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .expect("timeout");
    stream.write_all(requests.as_bytes()).expect("send");
    let mut raw = Vec::new();
    let _ = stream.read_to_end(&mut raw);
    let mut answers = Vec::new();
    let mut rest = &raw[..];
    while !rest.is_empty() {
        let end = rest
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .unwrap_or_else(|| panic!("no head in {:?}", String::from_utf8_lossy(rest)));
        let head = String::from_utf8_lossy(&rest[..end]).to_lowercase();
        let length: usize = header(&head, "content-length")
            .and_then(|l| l.parse().ok())
            .unwrap_or_else(|| panic!("no length: {head}"));
        let body = rest[end + 4..][..length.min(rest.len() - end - 4)].to_vec();
        assert_eq!(body.len(), length, "a short body after {head}");
        rest = &rest[end + 4 + length..];
        answers.push((head, body));
    }
    answers
}

/// Ranges whose last byte is at or past `u64::MAX` mean "to the end" (RFC 9110), on a small
/// file (cached, answered by the hot path first) and a large one (streamed), on a connection the
/// hot path handed to hyper and on a fresh one; a start past the end is a 416. These once
/// panicked the connection, or answered 206 with `Content-Length: 0` or 2^64 - 5.
#[test]
fn ranges_with_numbers_past_u64_end_at_the_file_end() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    let big: String = (0..40_000).map(|i| format!("line {i:08}\n")).collect();
    release_a_note(&archive, "big.txt", &big);
    let server = serve(&archive, "127.0.0.24", &tmp.path().join("serve.log"));
    let (small_name, small_file) = email_original(&archive);
    let (big_name, _) = target_name(&archive.join("release"), "big-txt.original.txt");
    let max = u64::MAX;
    for (name, bytes) in [
        (small_name, fs::read(&small_file).expect("read")),
        (big_name, big.into_bytes()),
    ] {
        let total = bytes.len();
        let get = |extra: &str| format!("GET /targets/{name} HTTP/1.1\r\nHost: x\r\n{extra}\r\n");
        // Hyper answers the first time and keeps the file for the hot path.
        let answers = exchange(&server.url, &get("Connection: close\r\n"));
        assert!(answers[0].0.starts_with("http/1.1 200"), "{}", answers[0].0);
        let requests = [
            get(""),
            get(&format!("Range: bytes=5-{max}\r\n")),
            get(&format!("Range: bytes=0-{max}\r\n")),
            get(&format!("Range: bytes={max}-{max}\r\n")),
            get(&format!("Range: bytes=-{max}\r\nConnection: close\r\n")),
        ]
        .concat();
        let fresh = [
            get(&format!("Range: bytes=5-{max}\r\n")),
            get("Range: bytes=5-18446744073709551616\r\nConnection: close\r\n"),
        ]
        .concat();
        let mut answers = exchange(&server.url, &requests);
        answers.extend(exchange(&server.url, &fresh));
        let expected: [(&str, Option<(usize, usize)>); 7] = [
            ("200", None),
            ("206", Some((5, total))),
            ("206", Some((0, total))),
            ("416", None),
            ("206", Some((0, total))),
            ("206", Some((5, total))),
            // Not a number we can honour: the whole file.
            ("200", None),
        ];
        assert_eq!(answers.len(), expected.len(), "{name}: {answers:?}");
        for (i, ((head, body), (status, part))) in answers.iter().zip(expected).enumerate() {
            assert!(
                head.starts_with(&format!("http/1.1 {status}")),
                "{name} {i}: {head}"
            );
            match (status, part) {
                ("206", Some((start, end))) => {
                    assert_eq!(
                        header(head, "content-range"),
                        Some(format!("bytes {start}-{}/{total}", end - 1).as_str()),
                        "{name} {i}"
                    );
                    assert!(body[..] == bytes[start..end], "{name} {i}: another body");
                }
                ("200", _) => assert!(body[..] == bytes[..], "{name} {i}: another body"),
                _ => assert_eq!(
                    header(head, "content-range"),
                    Some(format!("bytes */{total}").as_str()),
                    "{name} {i}"
                ),
            }
        }
    }
    assert!(!server.log().contains("panicked"), "{}", server.log());
}

/// A new mirror whose peer cannot be reached has no release: every release path answers 503
/// with `Retry-After` and `no-store` (never a 200 with an empty `timestamp.json`, which a cache
/// would keep and every TUF client would fail to parse), and status.json says it is syncing.
#[test]
fn a_mirror_with_no_release_yet_answers_503_and_says_it_is_syncing() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    let dir = tmp.path().join("mirror");
    fs::create_dir_all(&dir).expect("mkdir");
    fs::copy(archive.join("root.json"), dir.join("root.json")).expect("copy root");
    let unreachable = format!("http://127.0.0.25:{}/", free_port("127.0.0.25"));
    fs::write(
        dir.join("mirror.toml"),
        format!("peers = [\"{unreachable}\"]\nlisten = [\"127.0.0.25:0\"]\ninterval_secs = 1\n"),
    )
    .expect("write mirror.toml");
    let mirror = Daemon::start(&["mirror", "run", p(&dir)], &tmp.path().join("mirror.log"));
    for path in [
        "metadata/timestamp.json",
        "metadata/1.root.json",
        "",
        "d/10PORTCITY101/doc.json",
        "targets/00.nothing.json",
    ] {
        for extra in [&[][..], &["-I"][..]] {
            let (head, _) = curl(&format!("{}{path}", mirror.url), extra);
            assert!(head.starts_with("http/1.1 503"), "/{path}: {head}");
            assert_eq!(header(&head, "retry-after"), Some("30"), "/{path}: {head}");
            assert_eq!(
                header(&head, "cache-control"),
                Some("no-store"),
                "/{path}: {head}"
            );
            assert_eq!(header(&head, "etag"), None, "/{path}: {head}");
        }
    }
    let status = mirror.status();
    assert_eq!(status["state"], "syncing", "{status}");
    assert_eq!(status["release"]["version"], 0, "{status}");
    let (head, _) = curl(&format!("{}metrics", mirror.url), &[]);
    assert!(head.starts_with("http/1.1 200"), "{head}");

    // Once a peer answers, the release is served.
    let origin = Daemon::start(
        &[
            "mirror",
            "serve",
            p(&archive),
            "--listen",
            unreachable
                .trim_start_matches("http://")
                .trim_end_matches('/'),
        ],
        &tmp.path().join("origin.log"),
    );
    mirror.wait_for_release(1);
    assert_eq!(mirror.status()["state"], "serving");
    let (head, body) = curl(&format!("{}metadata/timestamp.json", mirror.url), &[]);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert_eq!(
        body,
        fs::read(archive.join("release/metadata/timestamp.json")).expect("read")
    );
    drop(origin);
}

/// A second server on an address already served is refused with a clear error (SO_REUSEPORT
/// once let it bind silently and split readers between the two), and the first keeps serving.
#[test]
fn a_second_server_on_the_same_address_is_refused_and_the_first_keeps_serving() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    let first = serve(&archive, "127.0.0.26", &tmp.path().join("first.log"));
    let address = first
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let mut second = samizdat()
        .args(["mirror", "serve", p(&archive), "--listen", &address])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn samizdat");
    // Bounded: a second server that binds serves forever, so it is killed after 10 s.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let status = loop {
        if let Some(status) = second.try_wait().expect("wait") {
            break Some(status);
        }
        if std::time::Instant::now() > deadline {
            let _ = second.kill();
            let _ = second.wait();
            break None;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let output = second.wait_with_output().expect("output");
    let (out, err) = (
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr),
    );
    let status = status.unwrap_or_else(|| panic!("the second server bound {address}: {out}"));
    assert!(!status.success(), "{status}: {out} {err}");
    assert!(
        err.contains(&format!("{address} is already in use by another process")),
        "{err}"
    );
    assert!(!out.contains("listening on"), "{out}");
    for _ in 0..20 {
        let (head, _) = curl(&format!("{}metadata/timestamp.json", first.url), &[]);
        assert!(head.starts_with("http/1.1 200"), "{head}");
    }
}

/// Whether the kernel still has `stream` established (from /proc/net/tcp, without reading from
/// it: a reader that takes nothing must not be drained to be looked at). A connection the
/// server closed is in CLOSE_WAIT, or gone after a reset.
fn established(stream: &std::net::TcpStream) -> bool {
    Established::now().has(stream)
}

/// The local addresses of the connections established now, as /proc/net/tcp writes them.
struct Established(std::collections::HashSet<String>);

impl Established {
    fn now() -> Established {
        let table = fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp (Linux)");
        let set = table
            .lines()
            .skip(1)
            .filter_map(|line| {
                let mut fields = line.split_whitespace().skip(1);
                let local = fields.next()?;
                (fields.nth(1)? == "01").then(|| local.to_owned())
            })
            .collect();
        Established(set)
    }

    fn has(&self, stream: &std::net::TcpStream) -> bool {
        let local = stream.local_addr().expect("local address");
        let std::net::SocketAddr::V4(local) = local else {
            panic!("{local}: not IPv4");
        };
        let address = format!(
            "{:08X}:{:04X}",
            u32::from_le_bytes(local.ip().octets()),
            local.port()
        );
        self.0.contains(&address)
    }
}

/// Idle, slowloris and slow-reader connections, over HTTP/1.1 on the hot path and on hyper's,
/// and over HTTP/2, are each closed by the server: idle and dripping ones after 10 to 25 s,
/// ones that take no byte of their answer (a full socket, an HTTP/2 window of 0) after 30 s
/// without progress. Each client is watched in the kernel's table, never drained.
#[test]
fn idle_dripping_and_non_reading_connections_are_cut_on_both_protocols_and_paths() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    let huge: String = (0..240_000).map(|i| format!("line {i:08}\n")).collect();
    release_a_note(&archive, "huge.txt", &huge);
    let server = serve(&archive, "127.0.0.27", &tmp.path().join("serve.log"));
    let (name, _) = target_name(&archive.join("release"), "huge-txt.original.txt");
    let path = format!("/targets/{name}");
    // Once by hyper: the large file is then kept open and sent by the hot path.
    let (head, _) = curl(&format!("{}{}", server.url, &path[1..]), &[]);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    let address = server
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let get = |extra: &str| format!("GET {path} HTTP/1.1\r\nHost: x\r\n{extra}\r\n");
    let metrics_request = "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n";
    // What each client sends first, whether it drips a header line each second after, and
    // whether it is cut for taking nothing (30 s) rather than for sending nothing (10 s).
    let hostile: Vec<(&str, Vec<u8>, bool, bool)> = vec![
        ("HTTP/1.1 idle, hot path", vec![], false, false),
        (
            "HTTP/1.1 slowloris, hot path",
            b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec(),
            true,
            false,
        ),
        (
            "HTTP/1.1 idle, hyper",
            metrics_request.as_bytes().to_vec(),
            false,
            false,
        ),
        (
            "HTTP/1.1 slowloris, hyper",
            [metrics_request, "GET / HTTP/1.1\r\nHost: x\r\n"]
                .concat()
                .into_bytes(),
            true,
            false,
        ),
        (
            "HTTP/1.1 slow reader, hot path",
            get("").repeat(30).into_bytes(),
            false,
            true,
        ),
        (
            "HTTP/1.1 slow reader, hyper",
            get("Range: bytes=0-\r\n").repeat(30).into_bytes(),
            false,
            true,
        ),
        ("HTTP/2 idle", h2_raw::hello(false), false, false),
        (
            "HTTP/2 slowloris",
            [h2_raw::hello(false), h2_raw::get(&path, false)].concat(),
            false,
            false,
        ),
        (
            "HTTP/2 slow reader (window 0)",
            [h2_raw::hello(true), h2_raw::get(&path, true)].concat(),
            false,
            true,
        ),
    ];
    let started = std::time::Instant::now();
    let clients: Vec<_> = hostile
        .into_iter()
        .map(|(what, first, drip, reads_nothing)| {
            let mut stream = connect_from("127.0.0.28", &address);
            stream.write_all(&first).expect("send");
            (what, stream, drip, reads_nothing)
        })
        .collect();
    let mut cut_after: Vec<Option<f64>> = vec![None; clients.len()];
    // Bounded: 60 s at most, every half second.
    for _ in 0..120 {
        std::thread::sleep(std::time::Duration::from_millis(500));
        for (i, (_, stream, drip, _)) in clients.iter().enumerate() {
            if cut_after[i].is_some() {
                continue;
            }
            if *drip {
                let _ = (&*stream).write_all(b"X-Drip: 1\r\n");
            }
            if !established(stream) {
                cut_after[i] = Some(started.elapsed().as_secs_f64());
            }
        }
        if cut_after.iter().all(Option::is_some) {
            break;
        }
    }
    let mut wrong = Vec::new();
    for ((what, _, _, reads_nothing), after) in clients.iter().zip(&cut_after) {
        let within = if *reads_nothing {
            29.0..47.0
        } else {
            9.0..25.0
        };
        match after {
            Some(seconds) if within.contains(seconds) => {}
            Some(seconds) => wrong.push(format!("{what}: cut after {seconds:.1} s")),
            None => wrong.push(format!("{what}: never cut")),
        }
    }
    assert!(wrong.is_empty(), "{wrong:#?}\n{}", server.log());
    drop(clients);
    // The server still answers, and counted what it closed.
    let (_, metrics) = curl(&format!("{}metrics", server.url), &[]);
    let metrics = String::from_utf8_lossy(&metrics).into_owned();
    for reason in ["idle", "stalled"] {
        let line = format!("samizdat_mirror_connections_closed_total{{reason=\"{reason}\"}} ");
        let count: u64 = metrics
            .lines()
            .find_map(|l| l.strip_prefix(&line))
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        assert!(count > 0, "no {reason} connection counted: {metrics}");
    }
}

/// Under a 1,024-descriptor limit, 2,000 hostile connections (idle, dripping, and not reading,
/// over HTTP/1.1 and HTTP/2, from several source addresses) are held open by the client while
/// a reader asks for a document: it is answered within seconds, because the server keeps a
/// share of its descriptors for connections and sheds the least active one for a new one.
#[test]
fn a_reader_is_served_while_2000_hostile_connections_are_held_under_1024_descriptors() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = sample_release(tmp.path(), &[]);
    let big: String = (0..40_000).map(|i| format!("line {i:08}\n")).collect();
    release_a_note(&archive, "big.txt", &big);
    let (name, file) = email_original(&archive);
    let (big_name, _) = target_name(&archive.join("release"), "big-txt.original.txt");
    let mut command = std::process::Command::new("prlimit");
    command
        .arg("--nofile=1024:1024")
        .arg(env!("CARGO_BIN_EXE_samizdat"))
        .args(["mirror", "serve", p(&archive), "--listen", "127.0.0.29:0"])
        // The flood guard would refuse most of these connections at once (64 an address, 256
        // a prefix: `flood.rs`); exempted, so that the descriptor share and shedding are tested.
        .args(["--guard-allow", "127.0.0.96/28"]);
    let server = Daemon::start_command(command, &tmp.path().join("serve.log"));
    let limits = fs::read_to_string(format!("/proc/{}/limits", server.pid())).expect("limits");
    assert!(
        limits
            .lines()
            .any(|l| l.starts_with("Max open files") && l.contains(" 1024 ")),
        "prlimit did not apply: {limits}"
    );
    let address = server
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_owned();
    let (head, _) = curl(&format!("{}targets/{big_name}", server.url), &[]);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    // The client's own descriptors: 2,000 connections and some.
    rlimit::increase_nofile_limit(4096).expect("raise the test's descriptor limit");
    let flood_started = std::time::Instant::now();
    let big_get = format!("GET /targets/{big_name} HTTP/1.1\r\nHost: x\r\n\r\n");
    let held: Vec<std::net::TcpStream> = (0..2000)
        .map(|i| {
            let from = format!("127.0.0.{}", 100 + i % 8);
            let mut stream = connect_from(&from, &address);
            // A few readers that take nothing of a large file; the rest send little or nothing.
            let first: Vec<u8> = match i % 6 {
                0 => vec![],
                1 => b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec(),
                2 if i % 60 == 2 => big_get.repeat(4).into_bytes(),
                2 => b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Drip: 1\r\n".to_vec(),
                3 => h2_raw::hello(false),
                4 => [h2_raw::hello(false), h2_raw::get("/metrics", false)].concat(),
                _ => [h2_raw::hello(true), h2_raw::get("/metrics", true)].concat(),
            };
            // A connection the server shed may be closed already: that is what it may do.
            let _ = stream.write_all(&first);
            stream
        })
        .collect();
    eprintln!("2,000 connections made in {:?}", flood_started.elapsed());
    let started = std::time::Instant::now();
    let (head, body) = curl(
        &format!("{}targets/{name}", server.url),
        &["--max-time", "5"],
    );
    let took = started.elapsed();
    assert!(head.starts_with("http/1.1 200"), "{head}\n{}", server.log());
    assert_eq!(body, fs::read(&file).expect("read"));
    assert!(took < std::time::Duration::from_secs(5), "{took:?}");
    let now = Established::now();
    let still_open = held.iter().filter(|s| now.has(s)).count();
    let (_, metrics) = curl(&format!("{}metrics", server.url), &[]);
    let metrics = String::from_utf8_lossy(&metrics).into_owned();
    let value = |line: &str| -> u64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(line))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no {line:?} in {metrics}"))
    };
    let shed = value("samizdat_mirror_connections_closed_total{reason=\"shed\"} ");
    let open = value("samizdat_mirror_connections ");
    assert!(shed >= 1000, "shed {shed}: {metrics}");
    assert!(open <= 1024, "{open} open: {metrics}");
    assert!(still_open <= 1024, "{still_open} of the 2,000 still open");
    drop(held);
}

/// The rule's seam for legal blocks: a document given to `Served::load_hiding` is hidden as a
/// withdrawn one is: its own files are not served, nor the files of an earlier release that
/// showed it (which the same release without the block still serves in its grace period).
#[test]
fn a_blocked_document_is_hidden_as_a_withdrawn_one_with_the_earlier_releases_that_show_it() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let archive = archive_with_a_note_to_withdraw(tmp.path());
    let release = archive.join("release");
    let files_1 = target_files(&release, "");
    release_a_note(&archive, "other.txt", "Another note.\n");
    let root = fs::read(archive.join("root.json")).expect("root");
    let open = mirror::served::Served::load(&release, &root).expect("load");
    let mut blocks = mirror::blocks::Blocks::default();
    let order = mirror::blocks::Order {
        authority: "a court".into(),
        reference: "1/26".into(),
        url: None,
        jurisdiction: None,
    };
    blocks.orders.insert(GONE_ID.to_owned(), order);
    let hiding = mirror::served::Served::load_hiding(&release, &root, blocks.into()).expect("load");
    assert_eq!(open.earlier_releases, vec![1]);
    assert!(hiding.earlier_releases.is_empty());
    let note = format!("{GONE_ID}.json");
    assert!(open.target(&note).is_some());
    assert!(hiding.target(&note).is_none());
    for file in &files_1 {
        assert!(open.serves_file(file), "{file}");
        let shows_the_note = file.contains(GONE_ID);
        if shows_the_note || !hiding.serves_file(file) {
            continue;
        }
        // What the hiding release still serves of release 1 is its own too.
        let name = file.split_once('.').expect("name").1;
        assert!(hiding.target(name).is_some(), "{file}");
    }
    assert!(
        files_1
            .iter()
            .any(|f| f.contains(GONE_ID) && !hiding.serves_file(f))
    );
}
