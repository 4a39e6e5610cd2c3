//! Prometheus metrics (`/metrics`, OpenMetrics text by the `prometheus-client` crate).
//!
//! Requests are counted in one shard of plain atomics per server thread, so the hot path takes
//! no lock and writes no cache line another thread writes; the shards are added into the
//! registry's counters when the metrics are read.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use hyper::StatusCode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::serve::{Padded, shard, shards};
use crate::served::Served;

type Labels = Vec<(String, String)>;

pub struct Metrics {
    registry: Registry,
    /// Requests by status class: 1xx..5xx.
    by_class: [Counter; 5],
    response_bytes: Counter,
    /// Counted since the last read of the metrics, per server thread.
    unread: Box<[Padded<Unread>]>,
    release: Gauge,
    targets: Gauge,
    last_sync: Gauge,
    syncs: Family<Labels, Counter>,
    peer_up: Family<Labels, Gauge>,
    /// Peers reported last round, to zero the ones no longer configured.
    peers_seen: Mutex<Vec<String>>,
}

#[derive(Default)]
struct Unread {
    by_class: [AtomicU64; 5],
    response_bytes: AtomicU64,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("samizdat_mirror");
        let requests = Family::<Labels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests answered, by status class",
            requests.clone(),
        );
        let by_class = ["1xx", "2xx", "3xx", "4xx", "5xx"]
            .map(|class| (*requests.get_or_create(&vec![("class".into(), class.into())])).clone());
        let response_bytes = Counter::default();
        registry.register(
            "response_body_bytes",
            "Bytes of response bodies sent (as announced by Content-Length)",
            response_bytes.clone(),
        );
        let release = Gauge::default();
        registry.register(
            "release",
            "Release (snapshot version) served",
            release.clone(),
        );
        let targets = Gauge::default();
        registry.register("targets", "Targets in the release served", targets.clone());
        let last_sync = Gauge::default();
        registry.register(
            "last_sync_success_seconds",
            "Unix time of the last sync that completed",
            last_sync.clone(),
        );
        let syncs = Family::<Labels, Counter>::default();
        registry.register("syncs", "Sync rounds, by result", syncs.clone());
        let peer_up = Family::<Labels, Gauge>::default();
        registry.register(
            "peer_up",
            "1 if the peer served a release that verified in the last round, else 0",
            peer_up.clone(),
        );
        Metrics {
            registry,
            by_class,
            response_bytes,
            unread: (0..shards()).map(|_| Padded::default()).collect(),
            release,
            targets,
            last_sync,
            syncs,
            peer_up,
            peers_seen: Mutex::new(Vec::new()),
        }
    }

    pub fn request(&self, status: StatusCode, body_bytes: u64) {
        let class = (status.as_u16() / 100).clamp(1, 5) as usize - 1;
        let unread = &self.unread[shard() % self.unread.len()].0;
        unread.by_class[class].fetch_add(1, Ordering::Relaxed);
        unread
            .response_bytes
            .fetch_add(body_bytes, Ordering::Relaxed);
    }

    pub fn release(&self, served: &Served) {
        self.release.set(served.version as i64);
        self.targets.set(served.targets() as i64);
    }

    /// One sync round: its result and each peer's state.
    pub fn sync(&self, ok: bool, unix_now: i64, peers: &[(String, bool)]) {
        let result = if ok { "ok" } else { "failed" };
        self.syncs
            .get_or_create(&vec![("result".into(), result.into())])
            .inc();
        if ok {
            self.last_sync.set(unix_now);
        }
        if let Ok(mut seen) = self.peers_seen.lock() {
            for old in seen.iter() {
                if !peers.iter().any(|(peer, _)| peer == old) {
                    self.peer_up.remove(&vec![("peer".into(), old.clone())]);
                }
            }
            *seen = peers.iter().map(|(peer, _)| peer.clone()).collect();
        }
        for (peer, up) in peers {
            self.peer_up
                .get_or_create(&vec![("peer".into(), peer.clone())])
                .set(i64::from(*up));
        }
    }

    pub fn encode(&self) -> String {
        for unread in &self.unread {
            for (counter, count) in self.by_class.iter().zip(&unread.0.by_class) {
                counter.inc_by(count.swap(0, Ordering::Relaxed));
            }
            self.response_bytes
                .inc_by(unread.0.response_bytes.swap(0, Ordering::Relaxed));
        }
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.registry).is_err() {
            return "# cannot encode the metrics\n".into();
        }
        text
    }
}
