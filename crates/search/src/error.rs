//! The crate's one error type: an [`ErrorKind`] a caller can match on and a message.

use std::fmt;

/// What went wrong, coarsely enough to decide what to do about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Documents were not handed over in number order, or dated ones after undated ones or
    /// out of date order (the caller's mistake).
    OutOfOrder,
    /// The sink given to [`Builder::on_file`](crate::Builder::on_file) could not keep a file.
    Sink,
    /// Bytes that do not decode (a varint or a set past its end), or an index file that could
    /// not be encoded or named.
    Malformed,
}

/// An error of this crate: a kind and a message without trailing period.
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    message: String,
}

impl Error {
    /// Builds an error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Error {
            kind,
            message: message.into(),
        }
    }

    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    pub fn message(&self) -> &str {
        &self.message
    }

    pub(crate) fn malformed(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Malformed, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}
