//! The publisher's archive: what a document is, how files become documents, and where they are kept.
//!
//! - [`model`]: [`DocId`], [`Kind`], [`Document`], and [`Extracted`] — what a reader found in a file.
//! - [`read`]: the ingest readers (e-mail, mbox, maildir, PDF in a child process, text, Markdown,
//!   reStructuredText, HTML, gzip, JSON Lines; zip, tar and 7z archives opened recursively within
//!   bounds). A reader only parses: it never writes.
//! - `store`, `catalog`, `ingest`: the content-addressed blob store, the SQLite catalog, and the
//!   incremental `add` that ties readers to them; [`report`], the line per file an `add` writes to
//!   `ARCHIVE/reports/`.
//! - [`fence`]: the archive's own folder, never read as a document whatever path leads there.
//!
//! This crate never touches the network.

pub mod catalog;
mod error;
pub mod fence;
pub mod ingest;
pub mod model;
pub mod read;
pub mod report;
pub mod store;
#[doc(hidden)]
pub mod testing;

/// The shared contract, kept in the leaf crate `common` (which the mirror and the reader use
/// without this crate), and re-exported here for the publisher's crates.
pub use common::{files, layout};

pub use catalog::Catalog;
pub use error::{Error, ErrorKind};
pub use model::{
    Blob, DateSource, DocId, Document, EmailHeaders, Extracted, IdSource, Kind, TextSource,
};
pub use store::Store;
