//! `/.well-known/samizdat/status.json`: what this mirror serves and how its syncs go, for the
//! directory's audits and for operators.

use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::served::Served;

/// A peer as the last sync round saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerState {
    pub url: String,
    /// None: it served a release that verified; Some: why it was dropped.
    pub dropped: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct Status {
    /// Seconds between sync rounds (None: this server does not sync).
    pub interval_seconds: Option<u64>,
    pub last_attempt: Option<OffsetDateTime>,
    pub last_success: Option<OffsetDateTime>,
    pub last_error: Option<String>,
    pub peers: Vec<PeerState>,
    /// Automatic HTTPS, when the mirror has a domain (`acme`).
    pub https: Option<HttpsState>,
}

/// The certificate of a mirror with a domain and how its renewals go (`acme`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpsState {
    pub domain: String,
    /// The certificate served (None: none obtained yet, HTTPS refuses handshakes).
    pub not_after: Option<OffsetDateTime>,
    /// When the next order is due (a renewal, or a retry after a failure).
    pub next_attempt: Option<OffsetDateTime>,
    /// The last certificate obtained.
    pub last_obtained: Option<OffsetDateTime>,
    /// Why the last order failed, while it is the last one (the old certificate is served).
    pub last_error: Option<String>,
    /// Orders failed since the last that succeeded.
    pub failures_in_a_row: u32,
}

impl Status {
    pub fn to_json(&self, served: &Served) -> String {
        let when = |t: &Option<OffsetDateTime>| t.and_then(|t| t.format(&Rfc3339).ok());
        let peers: Vec<_> = self
            .peers
            .iter()
            .map(|peer| {
                json!({
                    "url": peer.url,
                    "state": if peer.dropped.is_none() { "ok" } else { "dropped" },
                    "reason": peer.dropped,
                })
            })
            .collect();
        // No release yet: nothing is served but this and the metrics (503 elsewhere).
        let state = if served.timestamp.is_empty() {
            "syncing"
        } else {
            "serving"
        };
        let value = json!({
            "software": concat!("samizdat ", env!("CARGO_PKG_VERSION")),
            "state": state,
            "release": {
                "version": served.version,
                "targets": served.targets(),
                "stale_since": when(&served.stale_since),
            },
            "sync": {
                "interval_seconds": self.interval_seconds,
                "last_attempt": when(&self.last_attempt),
                "last_success": when(&self.last_success),
                "last_error": self.last_error,
            },
            "peers": peers,
        });
        let mut value = value;
        if let Some(https) = &self.https {
            value["https"] = json!({
                "domain": https.domain,
                "certificate_expires": when(&https.not_after),
                "next_attempt": when(&https.next_attempt),
                "last_obtained": when(&https.last_obtained),
                "last_error": https.last_error,
                "failures_in_a_row": https.failures_in_a_row,
            });
        }
        value.to_string()
    }
}
