//! `post_json` against a real HTTP/1.1 server on loopback (a thread answering raw bytes, so a
//! test chooses exactly what comes back): the answer whatever its status, the body sent as
//! given, no redirect followed, the answer capped in size and the request in time.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use net::{Limits, Posted, post_json};
use trust::client::FetchError;

/// A server on 127.0.0.168 answering one request with `answer` (after `delay`); sends back
/// the request it read (head and body) through the receiver.
fn server(answer: Vec<u8>, delay: Duration) -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.168:0").expect("bind 127.0.0.168");
    let url = format!(
        "http://{}/api/enroll",
        listener.local_addr().expect("address")
    );
    let (sent, received) = mpsc::channel();
    std::thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else {
            return;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
        let mut seen = Vec::new();
        let mut chunk = [0; 4096];
        // The head, then as many body bytes as Content-Length says.
        loop {
            if let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&seen[..end]).to_ascii_lowercase();
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse().ok())
                    .unwrap_or(0);
                if seen.len() >= end + 4 + length {
                    break;
                }
            }
            match stream.read(&mut chunk) {
                Ok(0) | Err(_) => break,
                Ok(n) => seen.extend_from_slice(&chunk[..n]),
            }
        }
        let _ = sent.send(String::from_utf8_lossy(&seen).into_owned());
        std::thread::sleep(delay);
        let _ = stream.write_all(&answer);
    });
    (url, received)
}

fn answer(status: &str, extra: &str, body: &str) -> Vec<u8> {
    format!(
        "HTTP/1.1 {status}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn limits(seconds: u64) -> Limits {
    Limits {
        request_timeout: Duration::from_secs(seconds),
        connect_timeout: Duration::from_secs(seconds),
        gzip: false,
    }
}

#[test]
fn the_body_is_sent_as_json_and_any_answer_comes_back_with_its_status() {
    for (status, body) in [
        ("201 Created", "{\"id\":1}"),
        ("403 Forbidden", "no challenge there\n"),
    ] {
        let (url, request) = server(answer(status, "", body), Duration::ZERO);
        let posted = post_json(&url, b"{\"url\":\"http://x/\"}", &limits(5), 1024).expect("post");
        let code: u16 = status[..3].parse().expect("code");
        assert_eq!(
            posted,
            Posted {
                status: code,
                body: body.as_bytes().to_vec()
            }
        );
        let request = request.recv().expect("request");
        assert!(
            request.starts_with("POST /api/enroll HTTP/1.1\r\n"),
            "{request}"
        );
        assert!(
            request
                .to_ascii_lowercase()
                .contains("content-type: application/json"),
            "{request}"
        );
        assert!(request.ends_with("{\"url\":\"http://x/\"}"), "{request}");
    }
}

#[test]
fn a_redirect_is_not_followed_and_says_where_it_pointed() {
    let (url, _request) = server(
        answer(
            "307 Temporary Redirect",
            "Location: http://127.0.0.169:9/x\r\n",
            "",
        ),
        Duration::ZERO,
    );
    match post_json(&url, b"{}", &limits(5), 1024) {
        Err(FetchError::Other(why)) => {
            assert!(
                why.contains("not followed") && why.contains("127.0.0.169"),
                "{why}"
            )
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_answer_over_the_cap_is_refused() {
    let (url, _request) = server(answer("200 OK", "", &"x".repeat(2000)), Duration::ZERO);
    match post_json(&url, b"{}", &limits(5), 1000) {
        Err(FetchError::TooLarge { limit: 1000 }) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn a_server_that_does_not_answer_is_given_up_in_time_and_one_that_is_not_there_at_once() {
    let (url, _request) = server(answer("200 OK", "", ""), Duration::from_secs(30));
    let started = Instant::now();
    let error = post_json(&url, b"{}", &limits(1), 1024).expect_err("timed out");
    assert!(started.elapsed() < Duration::from_secs(5), "{error:?}");
    assert!(
        matches!(error, FetchError::Other(ref why) if why.contains(&url)),
        "{error:?}"
    );

    let closed = TcpListener::bind("127.0.0.168:0").expect("bind");
    let url = format!("http://{}/", closed.local_addr().expect("address"));
    drop(closed);
    let error = post_json(&url, b"{}", &limits(5), 1024).expect_err("refused");
    assert!(
        matches!(error, FetchError::Other(ref why) if why.contains(&url)),
        "{error:?}"
    );
}
