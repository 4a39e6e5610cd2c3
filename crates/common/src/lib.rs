//! The contract every samizdat crate shares, and nothing else: what a document is called
//! ([`DocId`], [`Blob`]), how its targets are named and where the reader site serves them
//! ([`layout`]), how a long run reports progress ([`progress`]), and how a file is written
//! so that readers never see part of it ([`files`]), and the
//! escaping of the few plain HTML pages outside the reader site ([`html`]), and how a
//! page mentions a document, so that a mirror can withhold a blocked one's title ([`mention`]).
//!
//! A leaf crate on purpose: the mirror and the reader's `fetch` depend on it instead of on
//! `archive`, so they build without SQLite, the PDF readers or the mail parser. Keep it so:
//! no dependency that parses documents, opens a database or speaks HTTP.

mod error;
pub mod files;
pub mod html;
mod id;
pub mod layout;
pub mod mention;
pub mod progress;

pub use id::{Blob, DocId};
