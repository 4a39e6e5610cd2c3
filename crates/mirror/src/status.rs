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
        value.to_string()
    }
}
