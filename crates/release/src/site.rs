//! The seam where the reader site and its search index join a release.
//!
//! `release` asks a [`Site`] for extra files after the document targets are known; each becomes a
//! target (content-addressed, signed like every document) whose plain path goes into the target's
//! `custom` field. [`NoSite`] adds nothing: the site generator arrives with its own issue.

use archive::{Document, Store};
use std::collections::HashMap;

use crate::records::Links;

/// Everything a site generator may read: the published documents, their links, and the store
/// (for their text). It never reads the network.
pub struct SiteInput<'a> {
    pub title: &'a str,
    /// In date order ([`crate::records::sort_by_date`]): document *n* is `documents[n - 1]`.
    pub documents: &'a [Document],
    pub links: &'a HashMap<archive::DocId, Links>,
    pub store: &'a Store,
}

/// One generated file.
pub struct SiteFile {
    /// Flat target name starting with `_` (ids never do), e.g. `_site.index.html`.
    pub name: String,
    /// Where readers find it on a mirror, e.g. `/index.html`.
    pub path: String,
    pub bytes: Vec<u8>,
}

pub trait Site {
    /// Whether `build` reads `SiteInput::documents` and `links`: when not, a release does not
    /// load every document for it.
    fn wants_documents(&self) -> bool {
        true
    }

    fn build(&self, input: &SiteInput<'_>) -> Result<Vec<SiteFile>, String>;
}

/// No reader site (yet): a release of documents only.
pub struct NoSite;

impl Site for NoSite {
    fn wants_documents(&self) -> bool {
        false
    }

    fn build(&self, _input: &SiteInput<'_>) -> Result<Vec<SiteFile>, String> {
        Ok(Vec::new())
    }
}
