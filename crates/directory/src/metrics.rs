//! Prometheus metrics (`GET /metrics`, OpenMetrics text by `prometheus-client`): mirrors by
//! state (read from the state file at each scrape), and counters since the process started:
//! audits run, audits that failed by verdict, targets the audits downloaded and hashed, enrolments accepted and refused, list
//! publications, archive releases whose targets were loaded.
//!
//! One set per process ([`global`]): the audit loop and the server count into the same one,
//! whichever thread they run on.

use std::sync::OnceLock;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::machine::{State, Verdict};
use crate::store::Mirror;

type Labels = Vec<(String, String)>;

const STATES: [State; 4] = [
    State::Pending,
    State::Active,
    State::Degraded,
    State::Delisted,
];

/// The directory's metrics.
pub struct Metrics {
    registry: Registry,
    mirrors: Family<Labels, Gauge>,
    disabled: Gauge,
    audits: Counter,
    samples: Counter,
    audit_failures: Family<Labels, Counter>,
    enrolments: Family<Labels, Counter>,
    publications: Counter,
    release: Gauge,
}

/// The process's metrics.
pub fn global() -> &'static Metrics {
    static METRICS: OnceLock<Metrics> = OnceLock::new();
    METRICS.get_or_init(Metrics::new)
}

/// The label of a verdict.
pub fn verdict_name(verdict: &Verdict) -> &'static str {
    match verdict {
        Verdict::Healthy => "healthy",
        Verdict::Stale(_) => "stale",
        Verdict::Slow(_) => "slow",
        Verdict::Unreachable(_) => "unreachable",
        Verdict::Lying(_) => "lying",
    }
}

fn label(key: &str, value: &str) -> Labels {
    vec![(key.to_owned(), value.to_owned())]
}

impl Metrics {
    fn new() -> Metrics {
        let mut registry = Registry::with_prefix("samizdat_directory");
        let mirrors = Family::<Labels, Gauge>::default();
        registry.register(
            "mirrors",
            "Enrolled mirrors by state (disabled ones included)",
            mirrors.clone(),
        );
        let disabled = Gauge::default();
        registry.register(
            "mirrors_disabled",
            "Mirrors taken out of the list by an admin",
            disabled.clone(),
        );
        let audits = Counter::default();
        registry.register("audits", "Audits run", audits.clone());
        let samples = Counter::default();
        registry.register(
            "audit_samples",
            "Targets audits downloaded whole and hashed against the signed metadata",
            samples.clone(),
        );
        let audit_failures = Family::<Labels, Counter>::default();
        registry.register(
            "audit_failures",
            "Audits that did not pass, by verdict",
            audit_failures.clone(),
        );
        let enrolments = Family::<Labels, Counter>::default();
        registry.register(
            "enrolments",
            "Enrolment requests, by outcome (accepted, refused)",
            enrolments.clone(),
        );
        let publications = Counter::default();
        registry.register(
            "list_publications",
            "Signed mirror lists published",
            publications.clone(),
        );
        let release = Gauge::default();
        registry.register(
            "archive_release",
            "The archive release whose targets the directory holds",
            release.clone(),
        );
        // Every series present from the start, at zero.
        for verdict in ["stale", "slow", "unreachable", "lying"] {
            drop(audit_failures.get_or_create(&label("verdict", verdict)));
        }
        for outcome in ["accepted", "refused"] {
            drop(enrolments.get_or_create(&label("outcome", outcome)));
        }
        Metrics {
            registry,
            mirrors,
            disabled,
            audits,
            samples,
            audit_failures,
            enrolments,
            publications,
            release,
        }
    }

    /// Counts one audit, its verdict and the targets it hashed.
    pub fn audited(&self, verdict: &Verdict, sampled: usize) {
        self.audits.inc();
        self.samples.inc_by(sampled as u64);
        if *verdict != Verdict::Healthy {
            self.audit_failures
                .get_or_create(&label("verdict", verdict_name(verdict)))
                .inc();
        }
    }

    /// Counts an enrolment request.
    pub fn enrolment(&self, accepted: bool) {
        let outcome = if accepted { "accepted" } else { "refused" };
        self.enrolments
            .get_or_create(&label("outcome", outcome))
            .inc();
    }

    /// Counts a publication of the signed list.
    pub fn published(&self) {
        self.publications.inc();
    }

    /// The text of a scrape, with `mirrors` as they are now and `release` the archive release
    /// held.
    pub fn encode(&self, mirrors: &[Mirror], release: Option<u64>) -> String {
        for state in STATES {
            let count = mirrors.iter().filter(|m| m.state == state).count();
            self.mirrors
                .get_or_create(&label("state", state.as_str()))
                .set(i64::try_from(count).unwrap_or(i64::MAX));
        }
        let disabled = mirrors.iter().filter(|m| m.disabled).count();
        self.disabled
            .set(i64::try_from(disabled).unwrap_or(i64::MAX));
        self.release
            .set(release.and_then(|r| i64::try_from(r).ok()).unwrap_or(0));
        let mut text = String::new();
        if prometheus_client::encoding::text::encode(&mut text, &self.registry).is_err() {
            return "# cannot encode the metrics\n".into();
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_and_states_appear_in_the_text() {
        let metrics = Metrics::new();
        metrics.audited(&Verdict::Healthy, 3);
        metrics.audited(&Verdict::Lying("x".into()), 0);
        metrics.enrolment(false);
        metrics.published();
        let text = metrics.encode(&[], Some(7));
        for line in [
            "samizdat_directory_audits_total 2",
            "samizdat_directory_audit_samples_total 3",
            "samizdat_directory_audit_failures_total{verdict=\"lying\"} 1",
            "samizdat_directory_audit_failures_total{verdict=\"stale\"} 0",
            "samizdat_directory_enrolments_total{outcome=\"refused\"} 1",
            "samizdat_directory_enrolments_total{outcome=\"accepted\"} 0",
            "samizdat_directory_list_publications_total 1",
            "samizdat_directory_mirrors{state=\"active\"} 0",
            "samizdat_directory_archive_release 7",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
    }
}
