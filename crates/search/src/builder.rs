//! The streaming index builder: documents are tokenised in parallel batches as they arrive and
//! reduced to per-term posting bytes (document gap + term frequency, varints, ~2.5 bytes a
//! posting); `finish` sorts the vocabulary, scores each term's postings with BM25 and cuts the
//! dictionary into shards. Peak memory is the postings, not the texts.

use std::collections::HashMap;

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::codec::{get_varint, put_set, put_varint, zigzag};
use crate::tokenize::for_each_token;
use crate::{Error, ErrorKind, SearchDoc, SearchFile, SearchIndex};

/// The builder's term maps (every distinct term of every document goes through two of them):
/// foldhash, seeded per process, rather than the standard SipHash, which was 8% of a release of
/// 250,000 documents with the site (perf). The documents may come from hostile senders, so the
/// hash stays seeded; no output depends on the maps' order.
type TermMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

/// BM25 parameters (tantivy's and Lucene's defaults).
pub const K1: f64 = 1.2;
pub const B: f64 = 0.75;

/// Bytes of SHA-256 in a file name (48 bits: collisions are checked at build).
const HASH_BYTES: usize = 6;
type Hash = [u8; HASH_BYTES];

const ENGINE_JS: &str = include_str!("../js/engine.js");
const UI_JS: &str = include_str!("../js/ui.js");
const STYLE_CSS: &str = include_str!("../js/search.css");

/// The facets with value sets, in the order of the facets file.
const FACETS: [&str; 4] = ["kind", "origin", "tag", "sender"];

/// Sizes of the index's parts.
#[derive(Debug, Clone)]
pub struct Config {
    /// A dictionary shard is cut once it holds this many bytes.
    pub shard_bytes: usize,
    /// Documents kept with their score per term (its top by BM25); a term in more documents also
    /// gets a posting file with all of them.
    pub scored: usize,
    /// A term's scored list is inlined in its shard up to this many bytes, else in a term file.
    pub inline_bytes: usize,
    /// Documents per card block.
    pub card_block: u32,
    /// The commonest terms (those with a term file) listed in the root itself, so the queries
    /// that cost most (common words) skip their shard.
    pub hot_terms: usize,
    /// Card blocks per card page.
    pub card_page: u32,
    /// Values kept per facet (the most frequent).
    pub facet_values: usize,
    /// Documents tokenised in parallel at a time.
    pub batch: usize,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            shard_bytes: 12 * 1024,
            scored: 1000,
            inline_bytes: 192,
            card_block: 4,
            hot_terms: 128,
            card_page: 32,
            facet_values: 200,
            batch: 512,
        }
    }
}

/// What the builder is doing, for a progress bar.
#[derive(Debug, Clone, Copy)]
pub struct Progress {
    /// "index" while documents are added, "write" while terms are written.
    pub phase: &'static str,
    pub done: u64,
    /// 0 when not known.
    pub total: u64,
}

#[derive(Default)]
struct Postings {
    /// (gap from the previous document, term frequency) as varints.
    bytes: Vec<u8>,
    last: u32,
    df: u32,
}

/// The longest varint of a `u64`.
const MAX_VARINT: usize = 10;

/// Builds the index one document at a time; see [`crate::build`].
pub struct Builder<'a> {
    config: Config,
    progress: Option<Box<dyn FnMut(Progress) + 'a>>,
    terms: TermMap<Box<str>, u32>,
    postings: Vec<Postings>,
    lengths: Vec<u32>,
    total_tokens: u64,
    pending: Vec<SearchDoc>,
    count: u32,
    dated: u32,
    /// Non-empty months: (year × 12 + month − 1, documents).
    months: Vec<(i64, u32)>,
    facets: [HashMap<String, Vec<u32>>; 4],
    block: Vec<serde_json::Value>,
    blocks: Vec<Hash>,
    files: Files<'a>,
}

impl<'a> Builder<'a> {
    pub fn new(config: Config) -> Self {
        Builder {
            config,
            progress: None,
            terms: TermMap::default(),
            postings: Vec::new(),
            lengths: Vec::new(),
            total_tokens: 0,
            pending: Vec::new(),
            count: 0,
            dated: 0,
            months: Vec::new(),
            facets: Default::default(),
            block: Vec::new(),
            blocks: Vec::new(),
            files: Files::default(),
        }
    }

    /// Hands each file to `sink` as soon as it is written, instead of keeping it for
    /// [`SearchIndex::files`] (then empty): at 250,000 documents the index is ~250 MB, which a
    /// release need not hold all at once.
    pub fn on_file(&mut self, sink: impl FnMut(SearchFile) -> Result<(), Error> + 'a) {
        self.files.sink = Some(Box::new(sink));
    }

    /// Calls `progress` as documents are indexed and terms written.
    pub fn on_progress(&mut self, progress: impl FnMut(Progress) + 'a) {
        self.progress = Some(Box::new(progress));
    }

    fn report(&mut self, phase: &'static str, done: u64, total: u64) {
        if let Some(progress) = &mut self.progress {
            progress(Progress { phase, done, total });
        }
    }

    /// Adds the next document; its number must be one more than the last one's.
    pub fn add(&mut self, doc: SearchDoc) -> Result<(), Error> {
        let number = self.count + 1;
        if doc.number != number {
            return Err(Error::new(
                ErrorKind::OutOfOrder,
                format!(
                    "document {} ({}): expected number {number}",
                    doc.id, doc.number
                ),
            ));
        }
        if let Some(date) = doc.date {
            if self.dated != self.count {
                return Err(Error::new(
                    ErrorKind::OutOfOrder,
                    format!("document {} ({number}): dated after an undated one", doc.id),
                ));
            }
            let date = date.to_offset(time::UtcOffset::UTC);
            let month = i64::from(date.year()) * 12 + i64::from(u8::from(date.month())) - 1;
            match self.months.last_mut() {
                Some((last, count)) if *last == month => *count += 1,
                Some((last, _)) if *last > month => {
                    return Err(Error::new(
                        ErrorKind::OutOfOrder,
                        format!(
                            "document {} ({number}): dated before its predecessor",
                            doc.id
                        ),
                    ));
                }
                _ => self.months.push((month, 1)),
            }
            self.dated += 1;
        }
        self.count = number;
        self.add_facets(&doc);
        self.add_card(&doc)?;
        self.pending.push(doc);
        if self.pending.len() >= self.config.batch {
            self.index_pending();
        }
        Ok(())
    }

    fn add_facets(&mut self, doc: &SearchDoc) {
        let number = doc.number;
        let mut add = |facet: usize, value: &str| {
            let docs = self.facets[facet].entry(value.to_owned()).or_default();
            if docs.last() != Some(&number) {
                docs.push(number);
            }
        };
        add(0, &doc.kind);
        if let Some(origin) = &doc.origin {
            add(1, origin);
        }
        for tag in &doc.tags {
            add(2, tag);
        }
        if let Some(sender) = &doc.sender {
            add(3, sender);
        }
    }

    fn add_card(&mut self, doc: &SearchDoc) -> Result<(), Error> {
        let title: String = doc.title.chars().take(200).collect();
        let date = doc.date.map(|d| {
            let d = d.to_offset(time::UtcOffset::UTC);
            format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
        });
        self.block.push(serde_json::json!([
            doc.id, title, date, doc.kind, doc.sender, doc.origin
        ]));
        if self.block.len() as u32 == self.config.card_block {
            self.flush_block()?;
        }
        Ok(())
    }

    fn flush_block(&mut self) -> Result<(), Error> {
        if self.block.is_empty() {
            return Ok(());
        }
        let bytes = serde_json::to_vec(&self.block)
            .map_err(|e| Error::malformed(format!("card block: {e}")))?;
        self.block.clear();
        let hash = self.files.add("search/c/", "json", bytes)?;
        self.blocks.push(hash);
        Ok(())
    }

    /// Tokenises the pending documents in parallel and appends their postings.
    fn index_pending(&mut self) {
        // (number, length in tokens, term frequencies)
        type Counted = (u32, u32, Vec<(String, u32)>);
        let counted: Vec<Counted> = self
            .pending
            .par_iter()
            .map(|doc| {
                let mut counts: TermMap<String, u32> = TermMap::default();
                let mut length = 0u32;
                let mut count = |token: &str| {
                    length += 1;
                    match counts.get_mut(token) {
                        Some(n) => *n += 1,
                        None => {
                            counts.insert(token.to_owned(), 1);
                        }
                    }
                };
                for_each_token(&doc.title, &mut count);
                for_each_token(&doc.text, &mut count);
                (doc.number, length, counts.into_iter().collect())
            })
            .collect();
        self.pending.clear();
        for (number, length, counts) in counted {
            self.lengths.push(length);
            self.total_tokens += u64::from(length);
            for (term, tf) in counts {
                let id = match self.terms.get(term.as_str()) {
                    Some(&id) => id,
                    None => {
                        let id = self.postings.len() as u32;
                        self.terms.insert(term.into_boxed_str(), id);
                        self.postings.push(Postings::default());
                        id
                    }
                };
                let postings = &mut self.postings[id as usize];
                // Grown by a quarter, not doubled: every posting list of the archive is held
                // until the end, and doubling left a third of it unused on average.
                let bytes = &mut postings.bytes;
                if bytes.capacity() - bytes.len() < 2 * MAX_VARINT {
                    bytes.reserve_exact((bytes.capacity() / 4).max(4 * MAX_VARINT));
                }
                put_varint(&mut postings.bytes, u64::from(number - postings.last));
                put_varint(&mut postings.bytes, u64::from(tf));
                postings.last = number;
                postings.df += 1;
            }
        }
        let done = u64::from(self.count);
        self.report("index", done, 0);
    }

    /// Writes the index and returns every file.
    pub fn finish(mut self) -> Result<SearchIndex, Error> {
        self.index_pending();
        self.flush_block()?;
        let n = self.count;
        let (shards, hot) = self.write_terms()?;
        let pages = self.write_card_pages()?;
        let facets = self.write_facets()?;

        let mut root = b"SZS1".to_vec();
        put_varint(&mut root, u64::from(n));
        put_varint(&mut root, u64::from(self.dated));
        put_varint(&mut root, self.months.len() as u64);
        let mut previous = 0i64;
        for &(month, count) in &self.months {
            put_varint(&mut root, zigzag(month - previous));
            put_varint(&mut root, u64::from(count));
            previous = month;
        }
        put_varint(&mut root, u64::from(self.config.card_block));
        put_varint(&mut root, u64::from(self.config.card_page));
        put_varint(&mut root, pages.len() as u64);
        for hash in &pages {
            root.extend_from_slice(hash);
        }
        put_varint(&mut root, shards.len() as u64);
        let mut previous_key: &[u8] = &[];
        for (key, hash) in &shards {
            let shared = common_prefix(previous_key, key);
            put_varint(&mut root, shared as u64);
            put_varint(&mut root, (key.len() - shared) as u64);
            root.extend_from_slice(&key[shared..]);
            root.extend_from_slice(hash);
            previous_key = key;
        }
        root.extend_from_slice(&facets);
        put_varint(&mut root, hot.len() as u64);
        for (df, term, hash) in &hot {
            put_varint(&mut root, term.len() as u64);
            root.extend_from_slice(term);
            put_varint(&mut root, u64::from(*df));
            root.extend_from_slice(hash);
        }
        let root_path = Files::path(
            "search/r.",
            "bin",
            &self.files.add("search/r.", "bin", root)?,
        );

        let engine =
            self.files
                .add("assets/search-engine.", "js", ENGINE_JS.as_bytes().to_vec())?;
        let style = self
            .files
            .add("assets/search.", "css", STYLE_CSS.as_bytes().to_vec())?;
        let style_path = Files::path("assets/search.", "css", &style);
        let ui = UI_JS
            .replace(
                "./search-engine.js",
                &format!("./search-engine.{}.js", hex(&engine)),
            )
            .replace("./search.css", &format!("./search.{}.css", hex(&style)));
        let script = Files::path(
            "assets/search.",
            "js",
            &self.files.add("assets/search.", "js", ui.into_bytes())?,
        );
        Ok(SearchIndex {
            files: self.files.files,
            modules: vec![Files::path("assets/search-engine.", "js", &engine)],
            script,
            root: root_path,
            style: Some(style_path),
        })
    }

    /// Scores every term, writes term and posting files and the dictionary shards; returns each
    /// shard's separator key (the shortest prefix of its first term above the previous shard's
    /// last term; empty for the first) and hash, and the hot terms (df, term, term file hash).
    #[allow(clippy::type_complexity)]
    fn write_terms(&mut self) -> Result<(Vec<(Vec<u8>, Hash)>, Vec<(u32, Vec<u8>, Hash)>), Error> {
        let n = self.count;
        let average = if n == 0 {
            1.0
        } else {
            self.total_tokens as f64 / f64::from(n)
        };
        let mut order: Vec<(Box<str>, u32)> = std::mem::take(&mut self.terms).into_iter().collect();
        order.par_sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let total = order.len() as u64;

        let mut shards = Vec::new();
        let mut shard = Vec::new();
        let mut shard_terms = 0u64;
        let mut shard_first: Vec<u8> = Vec::new();
        let mut previous_last: Vec<u8> = Vec::new();
        let mut previous: &[u8] = &[];
        let mut entry = Vec::new();
        // Min-heap of the commonest terms with a term file.
        let mut hot = std::collections::BinaryHeap::new();
        for (i, (term, id)) in order.iter().enumerate() {
            let postings = std::mem::take(&mut self.postings[*id as usize]);
            let scored = score(&postings, &self.lengths, average, self.config.scored)?;
            entry.clear();
            let term = term.as_bytes();
            if shard_terms == 0 {
                shard_first = term.to_vec();
                previous = &[];
            }
            let shared = common_prefix(previous, term);
            put_varint(&mut entry, shared as u64);
            put_varint(&mut entry, (term.len() - shared) as u64);
            entry.extend_from_slice(&term[shared..]);
            put_varint(&mut entry, u64::from(postings.df));
            let mut list = Vec::new();
            put_set(&mut list, &scored.docs, n);
            list.extend_from_slice(&scored.scores);
            if scored.all.is_empty() && list.len() <= self.config.inline_bytes {
                entry.push(0);
                put_varint(&mut entry, list.len() as u64);
                entry.extend_from_slice(&list);
            } else {
                let mut file = Vec::with_capacity(list.len() + 1 + HASH_BYTES);
                if scored.all.is_empty() {
                    file.push(0);
                } else {
                    let mut set = Vec::new();
                    put_set(&mut set, &scored.all, n);
                    file.push(1);
                    file.extend_from_slice(&self.files.add("search/p/", "bin", set)?);
                }
                file.extend_from_slice(&list);
                entry.push(1);
                let hash = self.files.add("search/t/", "bin", file)?;
                entry.extend_from_slice(&hash);
                hot.push(std::cmp::Reverse((postings.df, term.to_vec(), hash)));
                if hot.len() > self.config.hot_terms {
                    hot.pop();
                }
            }
            shard.extend_from_slice(&entry);
            shard_terms += 1;
            previous = term;
            if shard.len() >= self.config.shard_bytes || i + 1 == order.len() {
                let mut bytes = Vec::with_capacity(shard.len() + 4);
                put_varint(&mut bytes, shard_terms);
                bytes.append(&mut shard);
                let key = if shards.is_empty() {
                    Vec::new()
                } else {
                    shard_first[..common_prefix(&previous_last, &shard_first) + 1].to_vec()
                };
                shards.push((key, self.files.add("search/s/", "bin", bytes)?));
                previous_last = term.to_vec();
                shard_terms = 0;
            }
            if i % 4096 == 0 {
                self.report("write", i as u64, total);
            }
        }
        if shards.is_empty() {
            let mut bytes = Vec::new();
            put_varint(&mut bytes, 0);
            shards.push((Vec::new(), self.files.add("search/s/", "bin", bytes)?));
        }
        self.postings = Vec::new();
        self.report("write", total, total);
        let mut hot: Vec<(u32, Vec<u8>, Hash)> = hot.into_iter().map(|r| r.0).collect();
        hot.sort_by(|a, b| a.1.cmp(&b.1));
        Ok((shards, hot))
    }

    fn write_card_pages(&mut self) -> Result<Vec<Hash>, Error> {
        let blocks = std::mem::take(&mut self.blocks);
        blocks
            .chunks(self.config.card_page as usize)
            .map(|page| self.files.add("search/h/", "bin", page.concat()))
            .collect()
    }

    /// Writes each kept facet value's set and the facets file; returns the facets file's hash.
    fn write_facets(&mut self) -> Result<Hash, Error> {
        let mut json = serde_json::Map::new();
        let mut omitted = serde_json::Map::new();
        let facets = std::mem::take(&mut self.facets);
        for (name, values) in FACETS.iter().zip(facets) {
            let mut values: Vec<(String, Vec<u32>)> = values.into_iter().collect();
            values.sort_by(|a, b| b.1.len().cmp(&a.1.len()).then_with(|| a.0.cmp(&b.0)));
            omitted.insert(
                name.to_string(),
                values.len().saturating_sub(self.config.facet_values).into(),
            );
            values.truncate(self.config.facet_values);
            let mut list = Vec::new();
            for (value, docs) in values {
                let mut set = Vec::new();
                put_set(&mut set, &docs, self.count);
                let hash = self.files.add("search/v/", "bin", set)?;
                list.push(serde_json::json!([value, docs.len(), hex(&hash)]));
            }
            json.insert(name.to_string(), list.into());
        }
        json.insert("omitted".into(), omitted.into());
        let bytes =
            serde_json::to_vec(&json).map_err(|e| Error::malformed(format!("facets: {e}")))?;
        self.files.add("search/f.", "json", bytes)
    }
}

/// A term's documents with scores: its top `limit` by BM25, sorted by number, and all of its
/// documents when it has more.
struct Scored {
    docs: Vec<u32>,
    /// The term-frequency part of BM25, tf·(k1+1) / (tf + k1·(1 − b + b·len/avg)), on 1..=255.
    scores: Vec<u8>,
    /// Empty when `docs` holds them all.
    all: Vec<u32>,
}

/// Quantises the term-frequency part of BM25 (in 0..k1+1) to a byte (the client's `tfc`).
pub fn quantise(tfc: f64) -> u8 {
    (tfc / (K1 + 1.0) * 255.0).round().clamp(1.0, 255.0) as u8
}

fn score(
    postings: &Postings,
    lengths: &[u32],
    average: f64,
    limit: usize,
) -> Result<Scored, Error> {
    let mut docs = Vec::with_capacity(postings.df as usize);
    let mut tfcs = Vec::with_capacity(postings.df as usize);
    let (mut pos, mut number) = (0usize, 0u32);
    while pos < postings.bytes.len() {
        number += get_varint(&postings.bytes, &mut pos)? as u32;
        let tf = get_varint(&postings.bytes, &mut pos)? as f64;
        let length = f64::from(lengths[number as usize - 1]);
        docs.push(number);
        tfcs.push(tf * (K1 + 1.0) / (tf + K1 * (1.0 - B + B * length / average)));
    }
    if docs.len() <= limit {
        let scores = tfcs.iter().map(|&t| quantise(t)).collect();
        return Ok(Scored {
            docs,
            scores,
            all: Vec::new(),
        });
    }
    let mut best: Vec<usize> = (0..docs.len()).collect();
    let by_score = |a: &usize, b: &usize| tfcs[*b].total_cmp(&tfcs[*a]).then(a.cmp(b));
    best.select_nth_unstable_by(limit - 1, by_score);
    best.truncate(limit);
    best.sort_unstable();
    Ok(Scored {
        docs: best.iter().map(|&i| docs[i]).collect(),
        scores: best.iter().map(|&i| quantise(tfcs[i])).collect(),
        all: docs,
    })
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

fn hex(hash: &[u8]) -> String {
    hash.iter().map(|b| format!("{b:02x}")).collect()
}

/// Where [`Builder::on_file`] sends each file.
type Sink<'a> = dyn FnMut(SearchFile) -> Result<(), Error> + 'a;

/// The output files, named by content hash; two different contents under one name fail the build.
#[derive(Default)]
struct Files<'a> {
    files: Vec<SearchFile>,
    seen: HashMap<String, [u8; 32]>,
    sink: Option<Box<Sink<'a>>>,
}

impl Files<'_> {
    fn add(&mut self, prefix: &str, ext: &str, bytes: Vec<u8>) -> Result<Hash, Error> {
        let digest: [u8; 32] = Sha256::digest(&bytes).into();
        let mut hash = [0u8; HASH_BYTES];
        hash.copy_from_slice(&digest[..HASH_BYTES]);
        let path = Files::path(prefix, ext, &hash);
        match self.seen.get(&path) {
            Some(seen) if *seen == digest => {} // identical content: one file serves both
            Some(_) => {
                return Err(Error::malformed(format!(
                    "{path}: two different files share a 48-bit name hash"
                )));
            }
            None => {
                self.seen.insert(path.clone(), digest);
                let file = SearchFile { path, bytes };
                match &mut self.sink {
                    Some(sink) => sink(file)?,
                    None => self.files.push(file),
                }
            }
        }
        Ok(hash)
    }

    fn path(prefix: &str, ext: &str, hash: &Hash) -> String {
        format!("{prefix}{}.{ext}", hex(hash))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::codec::get_set;

    fn doc(number: u32, text: &str) -> SearchDoc {
        SearchDoc {
            number,
            id: format!("doc{number}"),
            title: String::new(),
            date: None,
            kind: "text".into(),
            origin: None,
            tags: Vec::new(),
            sender: None,
            text: text.into(),
        }
    }

    /// Terms of every shard, in shard order, with the root's separator keys.
    fn dictionary(index: &SearchIndex) -> (Vec<Vec<u8>>, Vec<Vec<Vec<u8>>>) {
        let file = |path: &str| {
            index
                .files
                .iter()
                .find(|f| f.path == path)
                .expect("file exists")
        };
        let root = &file(&index.root).bytes;
        let mut pos = 4;
        let next = |pos: &mut usize| get_varint(root, pos).expect("varint") as usize;
        let _n = next(&mut pos);
        let _dated = next(&mut pos);
        let months = next(&mut pos);
        for _ in 0..months * 2 {
            next(&mut pos);
        }
        let (_block, _page, pages) = (next(&mut pos), next(&mut pos), next(&mut pos));
        pos += pages * HASH_BYTES;
        let count = next(&mut pos);
        let mut keys = Vec::new();
        let mut shards = Vec::new();
        let mut key: Vec<u8> = Vec::new();
        for _ in 0..count {
            let shared = next(&mut pos);
            let suffix = next(&mut pos);
            key.truncate(shared);
            key.extend_from_slice(&root[pos..pos + suffix]);
            pos += suffix;
            keys.push(key.clone());
            let hash = hex(&root[pos..pos + HASH_BYTES]);
            pos += HASH_BYTES;
            let shard = &file(&format!("search/s/{hash}.bin")).bytes;
            let mut p = 0;
            let terms = get_varint(shard, &mut p).expect("count");
            let mut term: Vec<u8> = Vec::new();
            let mut list = Vec::new();
            for _ in 0..terms {
                let shared = get_varint(shard, &mut p).expect("shared") as usize;
                let suffix = get_varint(shard, &mut p).expect("suffix") as usize;
                term.truncate(shared);
                term.extend_from_slice(&shard[p..p + suffix]);
                p += suffix;
                let _df = get_varint(shard, &mut p).expect("df");
                if shard[p] == 0 {
                    p += 1;
                    let len = get_varint(shard, &mut p).expect("len") as usize;
                    p += len;
                } else {
                    p += 1 + HASH_BYTES;
                }
                list.push(term.clone());
            }
            assert_eq!(p, shard.len(), "shard decoded to its end");
            shards.push(list);
        }
        (keys, shards)
    }

    #[test]
    fn dictionary_is_cut_into_sorted_shards_under_separator_keys() {
        let words: Vec<String> = (0..3000)
            .map(|i| format!("w{:05}x{}", (i * 7919) % 3000, i % 7))
            .collect();
        let docs = (1..=300u32).map(|n| {
            let text: Vec<&str> = (0..10)
                .map(|j| words[(n as usize * 10 + j) % words.len()].as_str())
                .collect();
            doc(n, &text.join(" "))
        });
        let mut builder = Builder::new(Config {
            shard_bytes: 1024,
            ..Config::default()
        });
        for d in docs {
            builder.add(d).expect("adds");
        }
        let index = builder.finish().expect("builds");
        let (keys, shards) = dictionary(&index);
        assert!(shards.len() > 5, "{} shards", shards.len());
        assert!(keys[0].is_empty());
        let all: Vec<&Vec<u8>> = shards.iter().flatten().collect();
        assert!(
            all.windows(2).all(|w| w[0] < w[1]),
            "terms sorted across shards"
        );
        let mut expected: Vec<String> = words.clone();
        expected.sort();
        expected.dedup();
        assert_eq!(all.len(), expected.len());
        for (i, shard) in shards.iter().enumerate().skip(1) {
            let last_before = shards[i - 1].last().expect("non-empty");
            assert!(
                keys[i].as_slice() > last_before.as_slice(),
                "key above the previous shard"
            );
            assert!(
                keys[i].as_slice() <= shard[0].as_slice(),
                "key at most the first term"
            );
            assert!(
                shard[0].starts_with(&keys[i]),
                "key is a prefix of the first term"
            );
        }
    }

    #[test]
    fn common_terms_get_a_top_list_and_a_posting_file() {
        let docs = (1..=50u32).map(|n| {
            let repeats = if n == 17 {
                9
            } else if n == 30 {
                5
            } else {
                1
            };
            doc(
                n,
                &format!(
                    "{} filler words here {}",
                    "common ".repeat(repeats),
                    if n % 2 == 0 { "even" } else { "" }
                ),
            )
        });
        let mut builder = Builder::new(Config {
            scored: 3,
            inline_bytes: 0,
            ..Config::default()
        });
        for d in docs {
            builder.add(d).expect("adds");
        }
        let index = builder.finish().expect("builds");
        let postings: Vec<&SearchFile> = index
            .files
            .iter()
            .filter(|f| f.path.starts_with("search/p/"))
            .collect();
        let mut sets: Vec<Vec<u32>> = postings
            .iter()
            .map(|f| get_set(&f.bytes, &mut 0, 50).expect("decodes"))
            .collect();
        sets.sort();
        let evens: Vec<u32> = (1..=50).filter(|n| n % 2 == 0).collect();
        let everyone: Vec<u32> = (1..=50).collect();
        assert!(sets.contains(&evens), "posting file of 'even'");
        assert!(sets.contains(&everyone), "posting file of 'common'");
        // The term file of "common": flag 1, posting hash, top 3 with scores, 17 and 30 first.
        let term_files: Vec<&SearchFile> = index
            .files
            .iter()
            .filter(|f| f.path.starts_with("search/t/"))
            .collect();
        let tops: Vec<(Vec<u32>, Vec<u8>)> = term_files
            .iter()
            .filter(|f| f.bytes[0] == 1)
            .map(|f| {
                let mut pos = 1 + HASH_BYTES;
                let docs = get_set(&f.bytes, &mut pos, 50).expect("decodes");
                (docs.clone(), f.bytes[pos..pos + docs.len()].to_vec())
            })
            .collect();
        let common = tops
            .iter()
            .find(|(docs, _)| docs.contains(&17))
            .expect("top list of common");
        assert_eq!(common.0.len(), 3);
        assert!(common.0.contains(&30));
        assert!(
            common.1[common.0.iter().position(|&d| d == 17).expect("17")]
                > common.1[0].min(common.1[2])
        );
    }

    #[test]
    fn bad_order_is_refused() {
        let mut builder = Builder::new(Config::default());
        assert!(builder.add(doc(2, "x")).is_err());
        let date = time::macros::datetime!(2001-02-03 04:05 UTC);
        let mut builder = Builder::new(Config::default());
        builder
            .add(SearchDoc {
                date: Some(date),
                ..doc(1, "a")
            })
            .expect("adds");
        let earlier = SearchDoc {
            date: Some(date - time::Duration::days(40)),
            ..doc(2, "b")
        };
        assert!(builder.add(earlier).is_err());
        let mut builder = Builder::new(Config::default());
        builder.add(doc(1, "a")).expect("adds");
        assert!(
            builder
                .add(SearchDoc {
                    date: Some(date),
                    ..doc(2, "b")
                })
                .is_err()
        );
    }

    #[test]
    fn an_empty_archive_has_an_index() {
        let index = Builder::new(Config::default()).finish().expect("builds");
        let (keys, shards) = dictionary(&index);
        assert_eq!(keys, vec![Vec::<u8>::new()]);
        assert_eq!(shards, vec![Vec::<Vec<u8>>::new()]);
        assert!(index.files.iter().any(|f| f.path == index.script));
    }

    #[test]
    fn quantised_scores_stay_in_a_byte() {
        assert_eq!(quantise(0.0), 1);
        assert_eq!(quantise(K1 + 1.0), 255);
        assert!(quantise(1.0) > quantise(0.9));
    }
}
