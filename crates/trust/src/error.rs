//! The crate's one error type: an [`ErrorKind`] a caller can match on and a message that names the
//! file, URL or key involved and what was expected.

/// What went wrong, coarsely enough to decide what to do about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A signature by an authorised key did not verify (tampered metadata).
    BadSignature,
    /// Fewer distinct authorised keys signed than the role's threshold requires.
    ThresholdNotMet,
    /// A version went backwards, or a role listed before disappeared.
    Rollback,
    /// Metadata expired (a freeze attack, or a publisher that stopped re-signing).
    Expired,
    /// A hash, length or version differs from what the signed metadata says.
    Mismatch,
    /// A target or file that does not exist.
    NotFound,
    /// A download exceeded its size cap (endless data).
    TooLarge,
    /// Metadata that does not parse or breaks the format rules.
    Malformed,
    /// The transport failed for a reason other than not-found or too-large.
    Transport,
    /// A local file could not be read or written.
    Io,
    /// A caller passed something unusable: a bad target name, duplicate targets, a key that is not
    /// allowed to sign the role.
    InvalidInput,
}

impl ErrorKind {
    /// The bytes could not be had: the source refused, timed out, reset the connection or
    /// answered an HTTP error ([`ErrorKind::Transport`]). Such an error says nothing about the
    /// release (try again, or another mirror), unlike every kind that means a file was checked
    /// and found wrong; a reader is told "cannot reach", never "does not verify".
    pub fn is_unreachable(self) -> bool {
        matches!(self, ErrorKind::Transport)
    }
}

common::kinded_error! {
    /// An error of this crate: a kind and a message without trailing period.
    pub struct Error(ErrorKind);
}

impl Error {
    pub(crate) fn io(action: &str, path: &std::path::Path, error: &std::io::Error) -> Self {
        Self::new(
            ErrorKind::Io,
            format!("cannot {action} {}: {error}", path.display()),
        )
    }
}

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
