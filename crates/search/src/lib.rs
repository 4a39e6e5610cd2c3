//! The reader site's static full-text search: an index of content-hashed files that any mirror
//! serves with plain GETs, and the browser client that queries it (`js/`).
//!
//! A [`Builder`] takes the documents in number order (numbered by date, undated
//! last: a date range is a number range) and returns every file of the index and of the client.
//! A query fetches only the few small files it needs; every name carries a hash of its bytes
//! (48 bits of SHA-256, checked for collisions at build), so caches keep them forever.
//!
//! # Files (paths relative to the site root)
//!
//! | path | holds | fetched |
//! | --- | --- | --- |
//! | `search/r.<h>.bin` | the root (~23 KB at 250k documents): N, month table (documents per month: dates and years are number ranges), separator keys and hashes of the dictionary shards, hashes of the card pages, hash of the facets file, and the entries of the [`Config::hot_terms`] commonest terms (so the costliest queries skip their shard) | once per release |
//! | `search/s/<h>.bin` | a dictionary shard (~12 KB): sorted, front-coded terms; per term its document frequency and either its scored posting list inline (small terms) or the hash of its term file | one per query word |
//! | `search/t/<h>.bin` | a term file: the term's top [`Config::scored`] documents by BM25 with their score (all its documents when it has no more), and, when it has more, the hash of its full posting set | one per common query word |
//! | `search/p/<h>.bin` | the full posting set of a term found in more than [`Config::scored`] documents | only for AND/NOT, filters, date sort or deep pages; for one word with filters, after its first page is shown from the top list when the filtered top list fills it (the count needs the set, the page does not) |
//! | `search/f.<h>.json` | the facets (kind, origin, tag, sender): values, global counts, hash of each value's set | when facets are used, and by the search page opened without words (it lists every value with its count, to browse by) |
//! | `search/v/<h>.bin` | the set of documents of one facet value | when that value filters or its facet shows counts |
//! | `search/h/<h>.bin` | a card page: hashes of [`Config::card_page`] consecutive card blocks | one per shown result, at most |
//! | `search/c/<h>.json` | a card block: id, title, date, kind, sender, origin of [`Config::card_block`] (4) consecutive documents | one per shown result, at most |
//! | `assets/search.<h>.js`, `assets/search-engine.<h>.js`, `assets/search.<h>.css` | the client: DOM UI, query engine (also runs in node), style | once |
//!
//! Encodings (varints, Rice-coded sets, the scored list: set + one score byte per document) are in
//! [`codec`]; the JavaScript decoder mirrors them. Scores are BM25 (k1 = 1.2, b = 0.75, tantivy's
//! idf) over title + text: the builder stores the term-frequency part quantised to a byte, the
//! client multiplies by the idf it derives from N and the document frequency. For an AND, a
//! document outside a term's top list is given 0.6 × that list's lowest score (an upper bound
//! scaled down): exact wherever the lists are complete, a close estimate elsewhere.
//!
//! Sizes were chosen by measuring (`examples/sizes.rs`, 250k documents): 12 KB shards keep the
//! root near 20 KB; card blocks of 4 (not 10) documents and pages of 32 block hashes cost ~0.8 KB
//! a shown result (~0.5 KB of it HTTP headers) for ~12 KB of root at 250k (pages of 64: ~1 KB a
//! result for ~6 KB; 32 keeps a return visit of a mid-frequency word within 30 KB).
//!
//! Phrases and excerpts are checked on the shown results only, from `d/<id>/doc.json`, which every
//! mirror has: a phrase query's count is exact when its candidates fit in three pages, else
//! estimated from the share of checked candidates that matched. Facet counts need the result set
//! and, but for years (number ranges), the facet's value sets: the client fetches them only when
//! the reader opens that facet (then they are cached for every later query).

mod builder;
pub mod codec;
mod error;
pub mod tokenize;

pub use builder::{Builder, Config, Progress};
pub use error::{Error, ErrorKind};
pub use tokenize::{MAX_TOKEN_CHARS, tokenize};

/// One document to index.
#[derive(Debug, Clone)]
pub struct SearchDoc {
    /// 1-based number in date order (documents are numbered by date, undated last), so a date range is a number range.
    pub number: u32,
    /// The permalink id: the document page is at `d/<id>/` relative to the site root.
    pub id: String,
    pub title: String,
    pub date: Option<time::OffsetDateTime>,
    /// "email", "pdf", "text", "markdown", "rst", "html", "record", "binary",
    /// "document", "spreadsheet", "presentation".
    pub kind: String,
    pub origin: Option<String>,
    pub tags: Vec<String>,
    /// E-mail From, as written.
    pub sender: Option<String>,
    /// Full extracted plain text.
    pub text: String,
}

/// One file of the index or of the client.
#[derive(Debug, Clone)]
pub struct SearchFile {
    /// Site-relative, no leading slash, e.g. "search/s/3fa9c2e1b0d4.bin".
    pub path: String,
    pub bytes: Vec<u8>,
}

/// Everything the site generator writes for search.
#[derive(Debug, Clone)]
pub struct SearchIndex {
    /// Every index file and the client's files.
    pub files: Vec<SearchFile>,
    /// Site-relative path of the client module to load, e.g. "assets/search.1a2b3c4d5e6f.js".
    pub script: String,
    /// Site-relative paths of the modules `script` imports (to preload them with it).
    pub modules: Vec<String>,
    /// Site-relative path of the index root file (the `data-root` of `#search-ui`).
    pub root: String,
    /// Site-relative path of the client's small stylesheet; the client also links it itself.
    pub style: Option<String>,
}

/// A card block (`search/c/<h>.json`) with the cards of the documents that are `blocked` (a
/// mirror's legal blocks) showing [`common::mention::WITHHELD`] as their title and neither sender
/// nor origin; `None` when it has none of them, or is not a card block. A mirror serves this in
/// place of the signed block, as it withholds titles from the site's pages
/// ([`common::mention::withhold`]).
pub fn withhold_cards(
    block: &[u8],
    blocked: impl Fn(&str) -> bool,
) -> Option<common::mention::Withheld> {
    let mut cards: Vec<Vec<serde_json::Value>> = serde_json::from_slice(block).ok()?;
    let mut first = None;
    for card in &mut cards {
        let Some(id) = card.first().and_then(serde_json::Value::as_str) else {
            continue;
        };
        if !blocked(id) {
            continue;
        }
        first.get_or_insert_with(|| id.to_owned());
        // [id, title, date, kind, sender, origin]: the date and the kind say nothing of it.
        for (at, value) in card.iter_mut().enumerate() {
            match at {
                1 => *value = common::mention::WITHHELD.into(),
                4 | 5 => *value = serde_json::Value::Null,
                _ => {}
            }
        }
    }
    Some(common::mention::Withheld {
        page: serde_json::to_vec(&cards).ok()?,
        first: first?,
    })
}

#[cfg(test)]
mod withhold_tests {
    use super::withhold_cards;

    #[test]
    fn a_blocked_documents_card_keeps_its_date_and_kind_and_nothing_that_names_it() {
        let block = br#"[["m-a","Seals","2002-08-01","email","Ann <a@x>","lists/a"],["m-b","Other",null,"pdf",null,"b.pdf"]]"#;
        let w = withhold_cards(block, |id| id == "m-a").expect("withheld");
        assert_eq!(w.first, "m-a");
        let cards: serde_json::Value = serde_json::from_slice(&w.page).expect("json");
        assert_eq!(
            cards,
            serde_json::json!([
                ["m-a", "[withheld]", "2002-08-01", "email", null, null],
                ["m-b", "Other", null, "pdf", null, "b.pdf"]
            ])
        );
        assert_eq!(withhold_cards(block, |id| id == "m-c"), None);
        assert_eq!(withhold_cards(b"{\"not\": \"cards\"}", |_| true), None);
    }
}
