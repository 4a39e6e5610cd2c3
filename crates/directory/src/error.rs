//! The crate's one error type: an [`ErrorKind`] a caller can match on (the binary maps it to an
//! exit code, the server to an HTTP status) and a message naming the mirror, file or request.

use std::fmt;

/// What went wrong, coarsely enough to decide what to do about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The directory's state file could not be opened, read or written.
    State,
    /// A caller asked for something unusable: a malformed URL, an unknown country code, a
    /// mirror that is not enrolled.
    InvalidInput,
    /// A mirror with that URL is enrolled already.
    Exists,
    /// No enrolled mirror has that URL or id.
    NotFound,
    /// Refused: a challenge that does not hold, an admin call without the token.
    Refused,
}

common::kinded_error! {
    /// An error of this crate: a kind and a message without trailing period.
    pub struct Error(ErrorKind);
}

impl Error {
    /// A failure of the state file at `path` while doing `action`.
    pub(crate) fn state(path: &std::path::Path, action: &str, error: impl fmt::Display) -> Self {
        Self::new(
            ErrorKind::State,
            format!("{}: cannot {action}: {error}", path.display()),
        )
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
