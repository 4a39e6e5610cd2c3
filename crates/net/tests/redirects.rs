//! Issue 15: a peer must not be able to send a mirror's requests to another host. A peer on
//! 127.0.0.2 answers every request with a redirect to a listener on 127.0.0.3, which must
//! receive no connection at all, through either road (one request through ureq, a batch
//! through the pipeline).

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use net::{HttpTransport, Limits};
use trust::client::{FetchError, Transport};

/// A peer answering each request on each connection with `status` and `Location: target + path`
/// (until the test ends); returns its base URL and how many requests it got.
fn redirecting_peer(status: &'static str, target: String) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.2:0").expect("bind 127.0.0.2");
    let base = format!("http://{}/", listener.local_addr().expect("address"));
    let requests = Arc::new(AtomicUsize::new(0));
    let counted = requests.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(64) {
            let Ok(mut stream) = stream else { return };
            let (target, counted) = (target.clone(), counted.clone());
            std::thread::spawn(move || {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let mut seen = Vec::new();
                let mut chunk = [0; 4096];
                loop {
                    // One answer per complete request head.
                    while let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head: Vec<u8> = seen.drain(..end + 4).collect();
                        let head = String::from_utf8_lossy(&head).into_owned();
                        let path = head.split(' ').nth(1).unwrap_or("/").to_owned();
                        counted.fetch_add(1, Ordering::SeqCst);
                        let answer = format!(
                            "HTTP/1.1 {status}\r\nLocation: {target}{}\r\nContent-Length: 0\r\n\r\n",
                            path.trim_start_matches('/')
                        );
                        if stream.write_all(answer.as_bytes()).is_err() {
                            return;
                        }
                    }
                    match stream.read(&mut chunk) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => seen.extend_from_slice(&chunk[..n]),
                    }
                }
            });
        }
    });
    (base, requests)
}

#[test]
fn a_redirect_to_another_host_is_not_followed_and_that_host_gets_no_request() {
    let elsewhere = TcpListener::bind("127.0.0.3:0").expect("bind 127.0.0.3");
    elsewhere.set_nonblocking(true).expect("nonblocking");
    let target = format!("http://{}/", elsewhere.local_addr().expect("address"));
    for status in [
        "302 Found",
        "301 Moved Permanently",
        "307 Temporary Redirect",
    ] {
        let (base, requests) = redirecting_peer(status, target.clone());
        for gzip in [false, true] {
            let limits = Limits {
                request_timeout: Duration::from_secs(5),
                gzip,
                ..Limits::default()
            };
            let peer = HttpTransport::new(&base, &limits);
            // One request (ureq), and a batch (the pipeline, which leaves redirects to ureq).
            let one = peer.fetch("metadata/timestamp.json", 16_384);
            let batch = peer.fetch_batch(&[
                ("targets/a.json".to_owned(), 100),
                ("targets/b.json".to_owned(), 100),
            ]);
            for answer in std::iter::once(&one).chain(batch.iter().take(1)) {
                match answer {
                    Err(FetchError::Other(why)) => assert!(
                        why.contains("redirect") && why.contains("not followed"),
                        "{status}: {why}"
                    ),
                    other => panic!("{status}: {other:?}"),
                }
            }
            assert!(batch[1].is_err(), "{status}: {:?}", batch[1]);
        }
        assert!(
            requests.load(Ordering::SeqCst) >= 2,
            "{status}: the peer was not asked"
        );
    }
    match elsewhere.accept() {
        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
        Ok((_, from)) => panic!("the other host got a connection from {from}"),
        Err(e) => panic!("accept: {e}"),
    }
}
