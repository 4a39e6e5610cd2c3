//! The crate's one error type: an [`ErrorKind`] a caller can match on (the binary maps it to an
//! exit code), a message that names the file, folder or peer involved, and, for a failed sync
//! round, every peer dropped on the way.
//!
//! It travels as JSON too: `mirror run` reads the result of each round from the
//! `samizdat mirror sync --json` child it runs (`{"Err": {"what", "dropped", "kind"}}`).

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// What went wrong, coarsely enough to decide what to do about it. The first three are what a
/// sync round that found no release to take ran into, from the peers' errors' kinds (never from
/// their messages): a network failure is not a forgery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum ErrorKind {
    /// No peer could be reached (refused, timed out, an HTTP error): nothing was checked.
    Unreachable,
    /// A peer served metadata or a file that does not verify against the trusted root (or no
    /// peer was there to serve one).
    NotVerified,
    /// The peers' newest release has expired (otherwise it verified).
    NotFresh,
    /// A file or folder here could not be read, written or made durable, or does not hold what
    /// the mirror wrote there.
    Io,
    /// Another sync or collection of the mirror folder holds its lock.
    Locked,
    /// The configuration (`mirror.toml`, or what would be saved there) is unusable.
    Config,
    /// A thread of this process failed (a bug, not the peers' doing nor the disk's).
    Internal,
    /// A directory refused an enrolment (its message says why).
    Refused,
    /// A command's input makes no sense here (a block of a document blocked already, an
    /// unblock of one that is not).
    Invalid,
}

impl ErrorKind {
    /// The kind of a round whose peers all failed with `kinds` (one or more each): a lie
    /// outweighs an expired release, which outweighs a peer that did not answer. No peer at all
    /// is a round with no release that verifies.
    pub fn of_peers(kinds: &[trust::ErrorKind]) -> ErrorKind {
        if kinds.is_empty()
            || kinds
                .iter()
                .any(|k| !k.is_unreachable() && *k != trust::ErrorKind::Expired)
        {
            ErrorKind::NotVerified
        } else if kinds.contains(&trust::ErrorKind::Expired) {
            ErrorKind::NotFresh
        } else {
            ErrorKind::Unreachable
        }
    }
}

/// An error of this crate: a kind, a message without trailing period, and the peers a sync
/// round dropped on the way (empty for anything but a sync).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Error {
    #[serde(rename = "what")]
    message: String,
    #[serde(default)]
    dropped: Vec<(String, String)>,
    kind: ErrorKind,
}

impl Error {
    /// Builds an error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            message: message.into(),
            dropped: Vec::new(),
            kind,
        }
    }

    /// The same error, naming the peers dropped on the way (peer, why).
    pub fn with_dropped(mut self, dropped: Vec<(String, String)>) -> Self {
        self.dropped = dropped;
        self
    }

    /// The kind of the error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The message (names the file, folder or peer, and what was expected), without the peers
    /// dropped.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The peers a sync round dropped before it failed, with why.
    pub fn dropped(&self) -> &[(String, String)] {
        &self.dropped
    }

    /// `PATH: ERROR`: a file or folder here that could not be read or written.
    pub(crate) fn io(path: &Path, error: impl fmt::Display) -> Self {
        Self::new(ErrorKind::Io, format!("{}: {error}", path.display()))
    }

    /// `PATH: cannot ACTION: ERROR`.
    pub(crate) fn cannot(action: &str, path: &Path, error: impl fmt::Display) -> Self {
        Self::new(
            ErrorKind::Io,
            format!("{}: cannot {action}: {error}", path.display()),
        )
    }

    /// A thread of this process that failed.
    pub(crate) fn internal(what: impl Into<String>) -> Self {
        Self::new(ErrorKind::Internal, what)
    }
}

/// The message, then one line per peer dropped (`  PEER: WHY`).
impl fmt::Display for Error {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(&self.message)?;
        for (peer, why) in &self.dropped {
            write!(formatter, "\n  {peer}: {why}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lie_outweighs_an_expired_release_which_outweighs_silence() {
        use trust::ErrorKind as K;
        assert_eq!(ErrorKind::of_peers(&[]), ErrorKind::NotVerified);
        assert_eq!(
            ErrorKind::of_peers(&[K::Transport, K::Transport]),
            ErrorKind::Unreachable
        );
        assert_eq!(
            ErrorKind::of_peers(&[K::Transport, K::Expired]),
            ErrorKind::NotFresh
        );
        assert_eq!(
            ErrorKind::of_peers(&[K::Expired, K::BadSignature, K::Transport]),
            ErrorKind::NotVerified
        );
    }

    #[test]
    fn travels_as_the_json_mirror_run_reads() {
        let error = Error::new(ErrorKind::Unreachable, "no peer answered")
            .with_dropped(vec![("http://a/".into(), "refused".into())]);
        let json = serde_json::to_value(&error).expect("JSON");
        assert_eq!(json["what"], "no peer answered");
        assert_eq!(json["kind"], "Unreachable");
        assert_eq!(json["dropped"][0][0], "http://a/");
        let back: Error = serde_json::from_value(json).expect("back");
        assert_eq!(back, error);
        assert_eq!(error.to_string(), "no peer answered\n  http://a/: refused");
    }
}
