//! A directory run in the test process (its library: enrolment in the store, one audit round over
//! HTTP, the router on a real socket), for the tests of what reads its list: aria2c through its
//! Metalink, the reader site's service worker.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use directory::config::Config;
use directory::enroll::Challenges;
use directory::machine::State;
use directory::server::{Directory, app};
use directory::store::{Enrolment, Store};

/// A directory serving on `ip`, its mirrors enrolled and audited once.
pub struct RunningDirectory {
    pub url: String,
    _runtime: std::thread::JoinHandle<()>,
}

/// Makes a directory in `dir` for the archive whose root is `root`, enrols `mirrors` (URL,
/// country, provider), audits them once over HTTP (all must come out active, and the archive's
/// targets loaded), and serves it on `ip`.
pub fn directory_for(
    dir: &Path,
    root: &Path,
    mirrors: &[(&str, &str, &str)],
    ip: &str,
) -> RunningDirectory {
    let archive_root = std::fs::read(root).expect("archive root");
    let now = time::OffsetDateTime::now_utc();
    let config = Config::default();
    directory::config::init(dir, &archive_root, &config, now).expect("directory init");
    let mut store = Store::open(dir).expect("store");
    for (url, country, provider) in mirrors {
        store
            .enroll(
                &Enrolment {
                    url: (*url).to_owned(),
                    country: (*country).to_owned(),
                    provider: (*provider).to_owned(),
                    contact: String::new(),
                },
                now.unix_timestamp(),
            )
            .expect("enrol");
    }
    let limits = net::Limits {
        request_timeout: Duration::from_secs(30),
        connect_timeout: Duration::from_secs(5),
        gzip: false,
    };
    let connect = |url: &str| net::HttpTransport::new(url, &limits);
    let round = directory::round::run(
        dir,
        &mut store,
        &archive_root,
        &config.round(),
        &connect,
        now,
    )
    .expect("audit round");
    assert_eq!(round.targets_error, None, "{round:?}");
    assert!(round.targets_loaded.is_some(), "{round:?}");
    let states: Vec<(String, State)> = store
        .mirrors()
        .expect("mirrors")
        .into_iter()
        .map(|m| (m.url, m.state))
        .collect();
    assert!(
        states.iter().all(|(_, state)| *state == State::Active),
        "{states:?}"
    );
    let shared = Arc::new(Directory {
        dir: dir.to_owned(),
        store: Mutex::new(store),
        challenges: Challenges::new([7; 32]),
        admin_token: "unused".to_owned(),
        fetch: Box::new(|_, _, _| Err("no enrolments in this test".to_owned())),
        geo: None,
        behind_proxy: false,
    });
    let listener = std::net::TcpListener::bind((ip, 0)).expect("bind the directory");
    listener.set_nonblocking(true).expect("nonblocking");
    let url = format!("http://{}/", listener.local_addr().expect("address"));
    let handle = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("listener");
            axum::serve(listener, app(shared)).await.expect("serve");
        });
    });
    RunningDirectory {
        url,
        _runtime: handle,
    }
}
