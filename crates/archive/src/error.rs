//! The crate's one error type for whole operations (opening the catalog, an `add`): an
//! [`ErrorKind`] a caller can match on and a message that names the file or document. A bad
//! input file is not an error of this kind: it is a per-file failure (`read::ReadError`,
//! `ingest::Failure`) and never aborts `add`.

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
    /// OCR cannot run as asked (`add --ocr`): languages that are no Tesseract codes, a
    /// language pack or Tesseract itself not installed.
    Ocr,
}

common::kinded_error! {
    /// An error of this crate: a kind and a message without trailing period.
    pub struct Error(ErrorKind);
}

impl Error {
    /// A catalog error with `message`.
    pub(crate) fn catalog(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Catalog, message)
    }
}

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
