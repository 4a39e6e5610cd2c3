//! The seam where the reader site and its search index join a release.
//!
//! `release` asks a [`Site`] for its files after the records are built. The site stores each
//! file in the archive's store itself (a site has a page per document: 250,000 pages do not wait
//! in memory) and returns where it goes; the release places each as a target, content-addressed
//! and signed like every document, under the target name its path gives
//! (`archive::layout::target_of_plain_path`). [`NoSite`] adds nothing.

use archive::ingest::Progress;
use archive::{Blob, Document, Store};
use std::collections::HashMap;
use std::path::Path;

use crate::records::Links;

/// Everything a site generator may read: the published documents, their links, and the store
/// (for their text). It never reads the network.
pub struct SiteInput<'a> {
    pub title: &'a str,
    /// In date order ([`crate::records::sort_by_date`]): document *n* is `documents[n - 1]`.
    pub documents: &'a [Document],
    pub links: &'a HashMap<archive::DocId, Links>,
    pub store: &'a Store,
    /// The mirrors the publisher lists in its configuration (base URLs), for the site's mirror
    /// page and its service worker, until a directory publishes a signed list.
    pub mirrors: &'a [String],
    /// A folder of the archive the site may keep caches in between releases (never published).
    pub cache_dir: &'a Path,
    pub progress: &'a dyn Progress,
}

/// One generated file, already in the store.
pub struct SiteFile {
    /// Where readers find it, relative to the site root: `index.html`, `d/<id>/index.html`,
    /// `search/s/3fa9.bin`. Must map to a target (`archive::layout::target_of_plain_path`).
    pub path: String,
    pub blob: Blob,
}

pub trait Site {
    /// Whether `build` reads `SiteInput::documents` and `links`: when not, a release does not
    /// load every document for it.
    fn wants_documents(&self) -> bool {
        true
    }

    fn build(&self, input: &SiteInput<'_>) -> Result<Vec<SiteFile>, crate::Error>;
}

/// No reader site: a release of documents only.
pub struct NoSite;

impl Site for NoSite {
    fn wants_documents(&self) -> bool {
        false
    }

    fn build(&self, _input: &SiteInput<'_>) -> Result<Vec<SiteFile>, crate::Error> {
        Ok(Vec::new())
    }
}
