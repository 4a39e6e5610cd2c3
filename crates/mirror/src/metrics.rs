//! Prometheus metrics (`/metrics`, OpenMetrics text by the `prometheus-client` crate).
//!
//! The request counters are plain atomics cloned out of their families once, so the hot path
//! takes no lock.

use std::sync::Mutex;

use hyper::StatusCode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::guard::Refusal;
use crate::served::Served;

type Labels = Vec<(String, String)>;

/// Why the server closed a connection: by its own sweep (`conns`: shed, idle, stalled), or
/// because hyper or h2 ended it for the client's conduct (`conns::ended`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Cut {
    Shed = 0,
    Idle = 1,
    Stalled = 2,
    /// HTTP/2 GOAWAY `ENHANCE_YOUR_CALM`: rapid reset, too many CONTINUATION frames, a header
    /// list far over its size, too many streams reset for errors.
    Http2Abuse = 3,
    /// HTTP/1.1: a head over its bytes or header lines (431).
    HeadTooLarge = 4,
    /// HTTP/1.1: a head not complete in time (slowloris on hyper's path).
    HeadTimeout = 5,
    /// HTTP/1.1: a head that does not parse (400), HTTP/2: a protocol error.
    Malformed = 6,
}

impl Cut {
    const ALL: [Cut; 7] = [
        Cut::Shed,
        Cut::Idle,
        Cut::Stalled,
        Cut::Http2Abuse,
        Cut::HeadTooLarge,
        Cut::HeadTimeout,
        Cut::Malformed,
    ];

    fn label(self) -> &'static str {
        match self {
            Cut::Shed => "shed",
            Cut::Idle => "idle",
            Cut::Stalled => "stalled",
            Cut::Http2Abuse => "http2_abuse",
            Cut::HeadTooLarge => "head_too_large",
            Cut::HeadTimeout => "head_timeout",
            Cut::Malformed => "malformed",
        }
    }
}

pub struct Metrics {
    registry: Registry,
    /// Requests by status class: 1xx..5xx.
    by_class: [Counter; 5],
    response_bytes: Counter,
    release: Gauge,
    targets: Gauge,
    last_sync: Gauge,
    syncs: Family<Labels, Counter>,
    peer_up: Family<Labels, Gauge>,
    /// Connections open now, and those the server closed, by why: `shed` (at the cap, the
    /// least active one closed for a new one), `idle`, `stalled` (`conns`).
    pub(crate) connections: Gauge,
    connections_cut: [Counter; 7],
    /// Requests and connections the flood guard refused, by [`Refusal`].
    refused: [Counter; 6],
    /// ACME orders by result, and the served certificate's end of validity (`acme`).
    acme_orders: Family<Labels, Counter>,
    acme_failures: Counter,
    certificate_expiry: Gauge,
    /// Peers reported last round, to zero the ones no longer configured.
    peers_seen: Mutex<Vec<String>>,
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
        let connections = Gauge::default();
        registry.register(
            "connections",
            "Client connections open (the cap is set by the descriptor limit)",
            connections.clone(),
        );
        let cut = Family::<Labels, Counter>::default();
        registry.register(
            "connections_closed",
            "Connections the server closed, by reason: shed at the cap, idle, stalled on write, \
             HTTP/2 abuse (GOAWAY ENHANCE_YOUR_CALM), a head too large, late or malformed",
            cut.clone(),
        );
        let connections_cut = Cut::ALL
            .map(|why| (*cut.get_or_create(&vec![("reason".into(), why.label().into())])).clone());
        let refusals = Family::<Labels, Counter>::default();
        registry.register(
            "refused",
            "Requests (429, 503) and connections (closed at once) the flood guard refused, by reason",
            refusals.clone(),
        );
        let refused = Refusal::ALL.map(|why| {
            (*refusals.get_or_create(&vec![("reason".into(), why.label().into())])).clone()
        });
        let acme_orders = Family::<Labels, Counter>::default();
        registry.register(
            "acme_orders",
            "Certificate orders to the ACME server (first and renewals), by result",
            acme_orders.clone(),
        );
        let acme_failures = Counter::default();
        registry.register(
            "acme_renewal_failures",
            "Certificate orders that failed (the certificate served stays)",
            acme_failures.clone(),
        );
        let certificate_expiry = Gauge::default();
        registry.register(
            "tls_certificate_expiry_seconds",
            "Unix time the served certificate expires (0: none yet)",
            certificate_expiry.clone(),
        );
        Metrics {
            acme_orders,
            acme_failures,
            certificate_expiry,
            refused,
            registry,
            connections,
            connections_cut,
            by_class,
            response_bytes,
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
        self.by_class[class].inc();
        self.response_bytes.inc_by(body_bytes);
    }

    /// A connection the server closed, and why.
    pub(crate) fn cut(&self, why: Cut) {
        self.connections_cut[why as usize].inc();
    }

    /// A request or connection the flood guard refused.
    pub(crate) fn refused(&self, why: Refusal) {
        self.refused[why as usize].inc();
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

    /// A certificate order: obtained (`not_after`, its expiry) or failed.
    pub(crate) fn acme_order(&self, obtained: Option<i64>) {
        let result = if obtained.is_some() { "ok" } else { "failed" };
        self.acme_orders
            .get_or_create(&vec![("result".into(), result.into())])
            .inc();
        if obtained.is_none() {
            self.acme_failures.inc();
        }
    }

    /// The certificate served now expires at `not_after` (Unix time).
    pub(crate) fn certificate(&self, not_after: i64) {
        self.certificate_expiry.set(not_after);
    }

    pub fn encode(&self) -> String {
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.registry).is_err() {
            return "# cannot encode the metrics\n".into();
        }
        text
    }
}
