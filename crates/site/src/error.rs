//! The crate's one error type: an [`ErrorKind`] and a message. A release sees it as a
//! [`release::Error`] of kind `Site` (or `Io`).

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

common::kinded_error! {
    /// An error of this crate: a kind and a message without trailing period.
    pub struct Error(ErrorKind);
}

impl Error {
    pub(crate) fn io(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Io, message)
    }

    /// A lock held by a rendering thread that panicked.
    pub(crate) fn page_failed<T>(_: T) -> Self {
        Error::new(ErrorKind::Internal, "site: a page failed")
    }
}

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
