//! The crate's one error type: an [`ErrorKind`] and a message. A release sees it as a
//! [`release::Error`] of kind `Site` (or `Io`).

use std::fmt;

/// What went wrong, coarsely enough to decide what to do about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A file could not be stored, a text read from the store, or the page cache written.
    Io,
    /// The search index could not be built: the search crate's kind says why.
    Search(search::ErrorKind),
    /// A page's rendering thread panicked.
    Internal,
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

    pub(crate) fn io(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Io, message)
    }

    /// A lock held by a rendering thread that panicked.
    pub(crate) fn page_failed<T>(_: T) -> Self {
        Error::new(ErrorKind::Internal, "site: a page failed")
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Error {}

impl From<search::Error> for Error {
    fn from(e: search::Error) -> Self {
        Error::new(ErrorKind::Search(e.kind()), e.message())
    }
}

impl From<Error> for release::Error {
    fn from(e: Error) -> Self {
        let kind = match e.kind {
            ErrorKind::Io => release::ErrorKind::Io,
            _ => release::ErrorKind::Site,
        };
        release::Error::new(kind, e.message)
    }
}
