//! The life of one enrolled mirror as a state machine: what an audit's [`Verdict`] does to its
//! [`State`]. Pure (no clock, no I/O), so every transition is a unit test.
//!
//! ```text
//!   pending ──healthy──▶ active ◀──────healthy─────┐
//!      │                  │  ▲                       │
//!      │            stale, slow, │healthy            │
//!      │            unreachable  │                   │
//!      │                  ▼  │                       │
//!      │               degraded ──unreachable × N──▶ delisted
//!      └───────lying (from any state)──────────────▶ delisted
//! ```
//!
//! A mirror is listed (in `mirrors.json`, redirects, Metalink) only while `active` or
//! `degraded`: a degraded mirror is behind or slow but serves verified bytes, and readers who
//! check what they get lose nothing by using it when nothing better is near. A mirror that served
//! one byte that does not verify is delisted at once: the directory vouches for honesty, not only
//! for uptime. It comes back after a full audit passes again (the operator repaired it).

use serde::{Deserialize, Serialize};

/// Where a mirror stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Enrolled, not yet seen serving the current release completely and correctly.
    Pending,
    /// Serving the current release; every sampled target verified.
    Active,
    /// Serving verified bytes, but behind, slow or briefly unreachable.
    Degraded,
    /// Dead (unreachable audit after audit) or lying (served bytes that do not verify).
    Delisted,
}

impl State {
    /// The name stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Active => "active",
            State::Degraded => "degraded",
            State::Delisted => "delisted",
        }
    }

    /// The state named `name` (as [`State::as_str`] writes it).
    pub fn parse(name: &str) -> Option<State> {
        [
            State::Pending,
            State::Active,
            State::Degraded,
            State::Delisted,
        ]
        .into_iter()
        .find(|state| state.as_str() == name)
    }

    /// Whether readers are sent to a mirror in this state.
    pub fn is_listed(self) -> bool {
        matches!(self, State::Active | State::Degraded)
    }
}

impl std::fmt::Display for State {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str(self.as_str())
    }
}

/// What one audit found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Reached, metadata verified against the archive root, unexpired, at most the allowed lag
    /// behind the newest release seen, every sampled target's hash right, answered in time.
    Healthy,
    /// Verified, but behind the newest release or expired (why).
    Stale(String),
    /// Verified and current, but slower than the limit (why).
    Slow(String),
    /// Could not be reached, timed out, or answered an HTTP error (why): says nothing about its
    /// honesty.
    Unreachable(String),
    /// Served metadata or a target that does not verify (why): a forgery, a tampered file, a
    /// rollback, a file its own signed release lists but it does not have.
    Lying(String),
}

/// How forgiving the directory is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Consecutive unreachable audits after which a mirror is delisted as dead.
    pub dead_after: u32,
}

impl Default for Policy {
    fn default() -> Self {
        Policy { dead_after: 3 }
    }
}

/// A mirror's standing between audits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Standing {
    pub state: State,
    /// Consecutive audits that could not reach it.
    pub failures: u32,
}

/// The result of applying a verdict: the new standing, and why the state changed (`None` when
/// it did not: nothing to record in the event history).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transition {
    pub standing: Standing,
    pub change: Option<String>,
}

/// What `verdict` does to a mirror standing at `now`.
pub fn next(now: &Standing, verdict: &Verdict, policy: &Policy) -> Transition {
    let failures = match verdict {
        Verdict::Unreachable(_) => now.failures.saturating_add(1),
        _ => 0,
    };
    let (state, reason) = match verdict {
        Verdict::Healthy => (State::Active, "audit passed".to_owned()),
        Verdict::Lying(why) => (State::Delisted, format!("lying: {why}")),
        Verdict::Unreachable(why) if failures >= policy.dead_after => (
            State::Delisted,
            format!("dead: unreachable in {failures} audits in a row ({why})"),
        ),
        Verdict::Unreachable(why) => (
            degraded_unless_unlisted(now.state),
            format!("unreachable: {why}"),
        ),
        Verdict::Stale(why) => (degraded_unless_unlisted(now.state), format!("stale: {why}")),
        Verdict::Slow(why) => (degraded_unless_unlisted(now.state), format!("slow: {why}")),
    };
    Transition {
        change: (state != now.state).then_some(reason),
        standing: Standing { state, failures },
    }
}

/// A listed mirror that falls short becomes degraded; a pending or delisted one stays where it
/// is until a full audit passes.
fn degraded_unless_unlisted(state: State) -> State {
    if state.is_listed() {
        State::Degraded
    } else {
        state
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(state: State, failures: u32) -> Standing {
        Standing { state, failures }
    }

    /// `(from, verdict) → (to, recorded reason starts with)`, for every state and verdict kind.
    #[test]
    fn every_state_under_every_verdict() {
        let policy = Policy::default();
        let why = || "x".to_owned();
        let cases: Vec<(State, Verdict, State, Option<&str>)> = vec![
            (
                State::Pending,
                Verdict::Healthy,
                State::Active,
                Some("audit passed"),
            ),
            (State::Pending, Verdict::Stale(why()), State::Pending, None),
            (State::Pending, Verdict::Slow(why()), State::Pending, None),
            (
                State::Pending,
                Verdict::Unreachable(why()),
                State::Pending,
                None,
            ),
            (
                State::Pending,
                Verdict::Lying(why()),
                State::Delisted,
                Some("lying: x"),
            ),
            (State::Active, Verdict::Healthy, State::Active, None),
            (
                State::Active,
                Verdict::Stale(why()),
                State::Degraded,
                Some("stale: x"),
            ),
            (
                State::Active,
                Verdict::Slow(why()),
                State::Degraded,
                Some("slow: x"),
            ),
            (
                State::Active,
                Verdict::Unreachable(why()),
                State::Degraded,
                Some("unreachable: x"),
            ),
            (
                State::Active,
                Verdict::Lying(why()),
                State::Delisted,
                Some("lying: x"),
            ),
            (
                State::Degraded,
                Verdict::Healthy,
                State::Active,
                Some("audit passed"),
            ),
            (
                State::Degraded,
                Verdict::Stale(why()),
                State::Degraded,
                None,
            ),
            (
                State::Degraded,
                Verdict::Lying(why()),
                State::Delisted,
                Some("lying: x"),
            ),
            (
                State::Delisted,
                Verdict::Healthy,
                State::Active,
                Some("audit passed"),
            ),
            (
                State::Delisted,
                Verdict::Stale(why()),
                State::Delisted,
                None,
            ),
            (
                State::Delisted,
                Verdict::Unreachable(why()),
                State::Delisted,
                None,
            ),
            (
                State::Delisted,
                Verdict::Lying(why()),
                State::Delisted,
                None,
            ),
        ];
        for (from, verdict, to, reason) in cases {
            let transition = next(&at(from, 0), &verdict, &policy);
            assert_eq!(transition.standing.state, to, "{from} under {verdict:?}");
            assert_eq!(
                transition.change.as_deref(),
                reason,
                "{from} under {verdict:?}"
            );
        }
    }

    #[test]
    fn a_mirror_unreachable_audit_after_audit_is_delisted_as_dead_and_relisted_when_back() {
        let policy = Policy { dead_after: 3 };
        let down = Verdict::Unreachable("connection refused".to_owned());
        let mut standing = at(State::Active, 0);
        let mut states = Vec::new();
        for _ in 0..4 {
            standing = next(&standing, &down, &policy).standing;
            states.push((standing.state, standing.failures));
        }
        assert_eq!(
            states,
            [
                (State::Degraded, 1),
                (State::Degraded, 2),
                (State::Delisted, 3),
                (State::Delisted, 4)
            ]
        );
        let back = next(&standing, &Verdict::Healthy, &policy);
        assert_eq!(back.standing, at(State::Active, 0));
        assert_eq!(back.change.as_deref(), Some("audit passed"));
    }

    #[test]
    fn one_good_audit_between_failures_resets_the_count() {
        let policy = Policy { dead_after: 2 };
        let down = Verdict::Unreachable("time-out".to_owned());
        let once = next(&at(State::Active, 0), &down, &policy).standing;
        let good = next(&once, &Verdict::Healthy, &policy).standing;
        let again = next(&good, &down, &policy);
        assert_eq!(again.standing, at(State::Degraded, 1));
    }

    #[test]
    fn the_dead_reason_says_how_many_audits_and_why() {
        let transition = next(
            &at(State::Degraded, 2),
            &Verdict::Unreachable("connection refused".to_owned()),
            &Policy { dead_after: 3 },
        );
        assert_eq!(
            transition.change.as_deref(),
            Some("dead: unreachable in 3 audits in a row (connection refused)")
        );
    }

    #[test]
    fn states_round_trip_through_their_names() {
        for state in [
            State::Pending,
            State::Active,
            State::Degraded,
            State::Delisted,
        ] {
            assert_eq!(State::parse(state.as_str()), Some(state));
        }
        assert_eq!(State::parse("Active"), None);
    }
}
