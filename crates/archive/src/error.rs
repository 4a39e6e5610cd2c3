//! The crate's one error type for whole operations (opening the catalog, an `add`): an
//! [`ErrorKind`] a caller can match on and a message that names the file or document. A bad
//! input file is not an error of this kind: it is a per-file failure (`read::ReadError`,
//! `ingest::Failure`) and never aborts `add`.

use std::fmt;

/// What went wrong, coarsely enough to decide what to do about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The catalog could not be opened, read or written, or holds what it should not.
    Catalog,
    /// A file of the archive (the store, a source being added) could not be read or written.
    Io,
    /// What the caller named is not in the archive (a document to withdraw).
    NotFound,
    /// An `add` failed as a whole for another reason.
    Ingest,
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

    /// The message (names the file or document and what was expected).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// A catalog error with `message`.
    pub(crate) fn catalog(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Catalog, message)
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::catalog(format!("catalog: {e}"))
    }
}

impl From<serde_json::Error> for Error {
    fn from(e: serde_json::Error) -> Self {
        Error::catalog(format!("catalog: bad stored document: {e}"))
    }
}
