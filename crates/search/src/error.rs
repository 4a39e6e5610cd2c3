//! The crate's one error type: an [`ErrorKind`] a caller can match on and a message.

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

common::kinded_error! {
    /// An error of this crate: a kind and a message without trailing period.
    pub struct Error(ErrorKind);
}

impl Error {
    pub(crate) fn malformed(message: impl Into<String>) -> Self {
        Error::new(ErrorKind::Malformed, message)
    }
}
