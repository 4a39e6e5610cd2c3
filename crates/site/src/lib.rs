//! The reader site: the static HTML a release carries so that any mirror, even a plain web root,
//! gives readers the whole archive to browse and search with nothing running on the server.
//!
//! [`ReaderSite`] implements the release's [`Site`] seam. It writes, into the archive's store:
//!
//! | path                               | what                                                   |
//! | ---------------------------------- | ------------------------------------------------------ |
//! | `index.html`                       | home: counts, the ways in, the newest documents        |
//! | `d/<id>/index.html`                | one page per document (metadata, text, thread, files)  |
//! | `browse/…`                         | by date (year → month), kind, origin, tag, sender      |
//! | `search/index.html`, `search/…`    | the search page and its static sharded index (`search`)|
//! | `mirrors/index.html`, `mirrors.json` | where else the archive is served                     |
//! | `assets/…`, `sw.js`, `sw-register.js` | stylesheet, search client, service worker           |
//! | `live-mirrors.js`                  | the vouched directories' live lists: the worker's failover list, the mirrors page's table |
//!
//! Every link is relative, so the site works under any path of any mirror. A document page
//! depends only on that document, its links and the titles of the documents it links to, so an
//! unchanged document keeps the same page (and target) from one release to the next. Lists and
//! the search index are rebuilt each release. Pages work without JavaScript; search needs it.
//!
//! **Invariant:** the site generator never reads the network and never writes outside the store.

mod browse;
mod document;
mod error;
pub mod html;
mod present;

use archive::files::{Durability, write_atomic};
use archive::{DocId, Document, Store};
use rayon::prelude::*;
use release::site::{Site, SiteFile, SiteInput};
use std::collections::HashMap;
use std::sync::Mutex;

pub use document::ThreadIndex;
pub use error::{Error, ErrorKind};

/// The stylesheet, the service worker, its registration and the directories' live lists it and
/// the mirrors page read, shipped with the binary.
const STYLE: &str = include_str!("../assets/style.css");
const SERVICE_WORKER: &str = include_str!("../assets/sw.js");
const SW_REGISTER: &str = include_str!("../assets/sw-register.js");
const LIVE_MIRRORS: &str = include_str!("../assets/live-mirrors.js");

/// The footer of every page: constant, so that a page changes only when what it shows does.
const FOOTER: &str = "Every file of this archive is signed by its publisher: check it with \
     <code>samizdat verify</code> or any TUF client. Served by a mirror; \
     <a href=\"ROOTmirrors/\">other mirrors</a>.";

/// The reader site generator.
#[derive(Default)]
pub struct ReaderSite;

/// Documents rendered together: enough to keep both cores busy, few enough to hold their text.
const CHUNK: usize = 2048;

/// The document pages of the last release, by id: what each was made of ([`document::page_key`])
/// and its blob, so that a page whose inputs did not change is not rendered again. Kept in the
/// archive's cache folder (`SiteInput::cache_dir`), never published; lost or unreadable, every
/// page is simply rendered.
#[derive(Default, serde::Serialize, serde::Deserialize)]
struct PageCache {
    /// id → (page key, SHA-256 of the page, its length): hashes as bytes, not hex (at 250,000
    /// documents two of these maps are held while the site builds).
    pages: HashMap<String, ([u8; 32], [u8; 32], u64)>,
}

const PAGE_CACHE: &str = "pages.json";

impl PageCache {
    fn load(dir: &std::path::Path) -> PageCache {
        std::fs::read(dir.join(PAGE_CACHE))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    /// Not flushed ([`Durability::NoFsync`]): lost in a power cut, the cache costs only the
    /// time of rendering every page once more.
    fn save(&self, dir: &std::path::Path) -> Result<(), Error> {
        let fail =
            |e: &dyn std::fmt::Display| Error::io(format!("{}: cannot write: {e}", dir.display()));
        std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
        let bytes = serde_json::to_vec(self).map_err(|e| fail(&e))?;
        write_atomic(&dir.join(PAGE_CACHE), &bytes, Durability::NoFsync)
            .map_err(|e| Error::io(e.to_string()))
    }
}

/// What the pages need to know about the whole archive.
pub struct Context<'a> {
    pub site: &'a str,
    pub style: String,
    pub docs: &'a [Document],
    pub number: HashMap<&'a DocId, usize>,
    pub links: &'a HashMap<DocId, release::records::Links>,
    pub threads: ThreadIndex,
    /// An e-mail's Message-ID → the document.
    pub by_message_id: HashMap<&'a str, usize>,
    /// A document's source path (without `.gz`) → the document, for cross-references.
    pub by_source: HashMap<&'a str, usize>,
}

impl<'a> Context<'a> {
    pub fn new(
        site: &'a str,
        style: String,
        docs: &'a [Document],
        links: &'a HashMap<DocId, release::records::Links>,
    ) -> Context<'a> {
        Context {
            site,
            style,
            docs,
            number: docs.iter().enumerate().map(|(i, d)| (&d.id, i)).collect(),
            links,
            threads: ThreadIndex::new(docs, links),
            by_message_id: docs
                .iter()
                .enumerate()
                .filter_map(|(i, d)| Some((d.email.as_ref()?.message_id.as_deref()?, i)))
                .collect(),
            by_source: docs
                .iter()
                .enumerate()
                .map(|(i, d)| (d.source.strip_suffix(".gz").unwrap_or(&d.source), i))
                .collect(),
        }
    }

    pub fn shell<'b>(&'b self, root: &'b str, footer: &'b str) -> html::Shell<'b> {
        html::Shell {
            site: self.site,
            root,
            style: &self.style,
            footer,
        }
    }
}

fn footer(root: &str) -> String {
    FOOTER.replace("ROOT", root)
}

fn put(store: &Store, path: String, bytes: &[u8]) -> Result<SiteFile, Error> {
    let blob = store
        .put(bytes)
        .map_err(|e| Error::io(format!("site: cannot store {path}: {e}")))?;
    Ok(SiteFile { path, blob })
}

/// Whether `blob` is in the store at its full length.
fn stored_whole(store: &Store, blob: &archive::Blob) -> bool {
    std::fs::metadata(store.path_of(&blob.sha256)).is_ok_and(|m| m.len() == blob.len)
}

/// A short content hash for an asset's file name.
fn short_hash(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(&Sha256::digest(bytes)[..6])
}

impl Site for ReaderSite {
    fn build(&self, input: &SiteInput<'_>) -> Result<Vec<SiteFile>, release::Error> {
        Ok(build(input)?)
    }
}

/// [`ReaderSite`]'s build, with this crate's error.
fn build(input: &SiteInput<'_>) -> Result<Vec<SiteFile>, Error> {
    let store = input.store;
    let docs = input.documents;
    let mut files = Vec::new();
    let mut phases = archive::files::Phases::from_env();
    // Wall time spent rendering pages, inside the stream the index reads.
    let rendering = std::cell::Cell::new(std::time::Duration::ZERO);

    let style = format!("assets/style-{}.css", short_hash(STYLE.as_bytes()));
    files.push(put(store, style.clone(), STYLE.as_bytes())?);
    files.push(put(store, "sw.js".into(), SERVICE_WORKER.as_bytes())?);
    files.push(put(store, "sw-register.js".into(), SW_REGISTER.as_bytes())?);
    files.push(put(
        store,
        "live-mirrors.js".into(),
        LIVE_MIRRORS.as_bytes(),
    )?);

    let ctx = Context::new(input.title, style, docs, input.links);

    // Document pages, rendered a chunk at a time on every core while the search index
    // takes the chunk's texts in number order.
    input.progress.start(docs.len() as u64);
    let cache = PageCache::load(input.cache_dir);
    let next_cache = Mutex::new(PageCache::default());
    let reused = std::sync::atomic::AtomicUsize::new(0);
    let pages = Mutex::new(Vec::with_capacity(docs.len()));
    let failure: Mutex<Option<Error>> = Mutex::new(None);
    let stream = docs.chunks(CHUNK).enumerate().flat_map(|(c, chunk)| {
        let started = std::time::Instant::now();
        let rendered: Vec<Result<(SiteFile, search::SearchDoc), Error>> = chunk
            .par_iter()
            .enumerate()
            .map(|(k, doc)| {
                let number = c * CHUNK + k;
                let text = store.read(&doc.text).map_err(|e| {
                    Error::io(format!("document {}: cannot read its text: {e}", doc.id))
                })?;
                let text = String::from_utf8_lossy(&text).into_owned();
                let refs = document::references(&ctx, number, &text);
                let key = document::page_key(&ctx, number, &refs);
                let path = format!("d/{}/index.html", doc.id);
                // The page of the last release, if it is made of the same and whole.
                let same = cache
                    .pages
                    .get(doc.id.as_str())
                    .filter(|(k, _, _)| *k == key)
                    .map(|(_, sha, len)| {
                        let blob = archive::Blob {
                            sha256: hex::encode(sha),
                            len: *len,
                        };
                        (*sha, blob)
                    })
                    .filter(|(_, blob)| stored_whole(store, blob));
                let (file, sha) = match same {
                    Some((sha, blob)) => {
                        reused.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        (SiteFile { path, blob }, Some(sha))
                    }
                    None => {
                        let page = document::page(&ctx, number, &text, &refs);
                        let file = put(store, path, page.as_bytes())?;
                        let mut sha = [0u8; 32];
                        let hex_ok = hex::decode_to_slice(&file.blob.sha256, &mut sha).is_ok();
                        (file, hex_ok.then_some(sha))
                    }
                };
                if let Some(sha) = sha
                    && let Ok(mut next) = next_cache.lock()
                {
                    next.pages
                        .insert(doc.id.to_string(), (key, sha, file.blob.len));
                }
                input.progress.advance(doc.id.as_str());
                Ok((file, search_doc(number, doc, text)))
            })
            .collect();
        rendering.set(rendering.get() + started.elapsed());
        let mut out = Vec::with_capacity(rendered.len());
        for r in rendered {
            match r {
                Ok((file, sdoc)) => {
                    if let Ok(mut pages) = pages.lock() {
                        pages.push(file);
                    }
                    out.push(sdoc);
                }
                Err(e) => {
                    if let Ok(mut f) = failure.lock() {
                        f.get_or_insert(e);
                    }
                }
            }
        }
        out
    });
    // Index files go to the store as the builder writes them (at 250,000 documents they are
    // ~250 MB, not held until the end).
    let mut index_files: Vec<SiteFile> = Vec::new();
    let index = {
        let mut builder = search::Builder::new(search::Config::default());
        builder.on_file(|file| {
            let file = put(store, file.path, &file.bytes)
                .map_err(|e| search::Error::new(search::ErrorKind::Sink, e.message()))?;
            index_files.push(file);
            Ok(())
        });
        for doc in stream {
            builder.add(doc)?;
        }
        builder.finish()?
    };
    input.progress.finish();
    if std::env::var_os("SAMIZDAT_TIMINGS").is_some() {
        eprintln!(
            "samizdat: site: of which {} document pages ({} unchanged, not rendered again): {:.3} s",
            docs.len(),
            reused.load(std::sync::atomic::Ordering::Relaxed),
            rendering.get().as_secs_f64()
        );
    }
    phases.mark("site: pages and search index");
    if let Some(e) = failure.into_inner().map_err(Error::page_failed)? {
        return Err(e);
    }
    files.extend(pages.into_inner().map_err(Error::page_failed)?);
    // Written before the release makes the store durable: an entry whose blob did not
    // survive a crash whole fails the length check below and is rendered again.
    next_cache
        .into_inner()
        .map_err(Error::page_failed)?
        .save(input.cache_dir)?;
    debug_assert!(
        index.files.is_empty(),
        "a builder with a sink keeps no file"
    );
    files.extend(index_files);

    phases.mark("site: index files stored");
    for (path, page) in browse::pages(&ctx, input.mirrors, &index) {
        files.push(put(store, path, page.as_bytes())?);
    }
    phases.mark("site: listings");
    Ok(files)
}

/// What the search index takes of a document.
fn search_doc(number: usize, doc: &Document, text: String) -> search::SearchDoc {
    search::SearchDoc {
        number: number as u32 + 1,
        id: doc.id.to_string(),
        title: doc.title.clone(),
        date: doc.date,
        kind: doc.kind.as_str().to_owned(),
        origin: doc.origin.clone(),
        tags: doc.tags.clone(),
        sender: doc.email.as_ref().and_then(|e| e.from.clone()),
        text,
    }
}
