//! Relevance against tantivy's BM25 on the real corpora: both indexes over the same texts with the
//! same tokeniser (ours, plugged into tantivy); our top 10 (computed by the real client engine in
//! node) must share on average ≥ 9.5 of 10 documents with tantivy's for 50 one-word queries and
//! ≥ 8 for 50 two-word (AND) queries of mid-frequency words.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::process::Command;

use search::{Builder, Config, SearchDoc, tokenize};
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{IndexRecordOption, STORED, Schema, TextFieldIndexing, TextOptions, Value};
use tantivy::tokenizer::{TextAnalyzer, Token, TokenStream, Tokenizer};
use tantivy::{Index, TantivyDocument, Term};

use crate::corpora::{Text, corpora_dir, read_texts};
use crate::{engine_path, require_node, tests_dir, write_index};

/// Our tokeniser as a tantivy tokenizer.
#[derive(Clone)]
struct Ours;

struct OursStream {
    tokens: Vec<Token>,
    next: usize,
}

impl TokenStream for OursStream {
    fn advance(&mut self) -> bool {
        self.next += 1;
        self.next <= self.tokens.len()
    }
    fn token(&self) -> &Token {
        &self.tokens[self.next - 1]
    }
    fn token_mut(&mut self) -> &mut Token {
        &mut self.tokens[self.next - 1]
    }
}

impl Tokenizer for Ours {
    type TokenStream<'a> = OursStream;
    fn token_stream<'a>(&'a mut self, text: &'a str) -> OursStream {
        let tokens = tokenize(text)
            .into_iter()
            .enumerate()
            .map(|(position, text)| Token {
                offset_from: 0,
                offset_to: 0,
                position,
                text,
                position_length: 1,
            })
            .collect();
        OursStream { tokens, next: 0 }
    }
}

struct Tantivy {
    index: Index,
    body: tantivy::schema::Field,
    number: tantivy::schema::Field,
}

impl Tantivy {
    fn build(texts: &[Text]) -> Tantivy {
        let mut schema = Schema::builder();
        let indexing = TextFieldIndexing::default()
            .set_tokenizer("ours")
            .set_index_option(IndexRecordOption::WithFreqs);
        let body = schema.add_text_field(
            "body",
            TextOptions::default().set_indexing_options(indexing),
        );
        let number = schema.add_u64_field("number", STORED);
        let index = Index::create_in_ram(schema.build());
        index
            .tokenizers()
            .register("ours", TextAnalyzer::from(Ours));
        let mut writer: tantivy::IndexWriter = index
            .writer_with_num_threads(1, 400_000_000)
            .expect("writer");
        for (i, t) in texts.iter().enumerate() {
            let mut doc = TantivyDocument::default();
            doc.add_text(body, format!("{}\n{}", t.name, t.text));
            doc.add_u64(number, i as u64 + 1);
            writer.add_document(doc).expect("add");
        }
        writer.commit().expect("commit");
        Tantivy {
            index,
            body,
            number,
        }
    }

    fn top10(&self, words: &[&str]) -> Vec<u32> {
        let reader = self.index.reader().expect("reader");
        let searcher = reader.searcher();
        let clauses: Vec<(Occur, Box<dyn Query>)> = words
            .iter()
            .map(|w| {
                let term = Term::from_field_text(self.body, w);
                (
                    Occur::Must,
                    Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs)) as Box<dyn Query>,
                )
            })
            .collect();
        let top = searcher
            .search(&BooleanQuery::new(clauses), &TopDocs::with_limit(10))
            .expect("search");
        top.into_iter()
            .map(|(_, address)| {
                let doc: TantivyDocument = searcher.doc(address).expect("doc");
                doc.get_first(self.number)
                    .and_then(|v| v.as_u64())
                    .expect("number") as u32
            })
            .collect()
    }
}

/// Our top ids per query, computed by the client engine in node.
fn ours(texts: &[Text], config: Config, queries: &[Vec<&str>]) -> Vec<Vec<u32>> {
    let mut builder = Builder::new(config);
    for (i, t) in texts.iter().enumerate() {
        let doc = SearchDoc {
            number: i as u32 + 1,
            id: format!("n{}", i + 1),
            title: t.name.clone(),
            date: None,
            kind: t.kind.into(),
            origin: None,
            tags: Vec::new(),
            sender: t.sender.clone(),
            text: t.text.clone(),
        };
        builder.add(doc).expect("adds");
    }
    let index = builder.finish().expect("builds");
    let site = tempfile::tempdir().expect("tempdir");
    write_index(site.path(), &index);
    let json: Vec<serde_json::Value> = queries
        .iter()
        .map(|q| serde_json::json!({"query": q.join(" ")}))
        .collect();
    let queries_path = site.path().join("queries.json");
    std::fs::write(&queries_path, serde_json::to_string(&json).expect("json")).expect("write");
    let output = Command::new("node")
        .arg(tests_dir().join("node/rank.mjs"))
        .arg(site.path())
        .arg(&index.root)
        .arg(engine_path(&index))
        .arg(&queries_path)
        .output()
        .expect("runs node");
    assert!(
        output.status.success(),
        "rank.mjs failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let results: Vec<serde_json::Value> =
        serde_json::from_slice(&output.stdout).expect("rank.mjs prints JSON");
    results
        .iter()
        .map(|r| {
            r["ids"]
                .as_array()
                .expect("ids")
                .iter()
                .map(|id| id.as_str().expect("id")[1..].parse().expect("number"))
                .collect()
        })
        .collect()
}

/// Mean overlap of top 10s, and the worst one.
fn overlap(a: &[Vec<u32>], b: &[Vec<u32>]) -> (f64, usize) {
    let overlaps: Vec<usize> = a
        .iter()
        .zip(b)
        .map(|(x, y)| {
            x.iter()
                .collect::<HashSet<_>>()
                .intersection(&y.iter().collect())
                .count()
        })
        .collect();
    (
        overlaps.iter().sum::<usize>() as f64 / overlaps.len() as f64,
        overlaps.iter().copied().min().unwrap_or(0),
    )
}

#[test]
fn top_ten_agrees_with_tantivy_bm25() {
    let Some(dir) = corpora_dir() else {
        panic!(
            "the corpora are missing: run /work/shared/corpora/fetch.sh spam-assassin DIR and ... linux-doc DIR, \
             then set SAMIZDAT_CORPORA=DIR (default: the workspace's .cache/corpora)"
        );
    };
    require_node();
    let texts = read_texts(&dir);
    let n = texts.len();
    assert!(n > 10_000, "{n} texts");

    // Document frequencies, and the documents of each mid-frequency word.
    let mut df: HashMap<String, u32> = HashMap::new();
    let token_sets: Vec<HashSet<String>> = texts
        .iter()
        .map(|t| {
            tokenize(&format!("{}\n{}", t.name, t.text))
                .into_iter()
                .collect()
        })
        .collect();
    for set in &token_sets {
        for token in set {
            *df.entry(token.clone()).or_default() += 1;
        }
    }
    let word = |t: &str| t.len() >= 4 && t.chars().all(char::is_alphabetic);
    let (lo, hi) = (n as u32 / 100, n as u32 / 20);
    let mut mids: Vec<&str> = df
        .iter()
        .filter(|(t, d)| word(t) && (lo..=hi).contains(*d))
        .map(|(t, _)| t.as_str())
        .collect();
    mids.sort();
    let step = mids.len() / 50;
    let one: Vec<Vec<&str>> = (0..50).map(|i| vec![mids[i * step]]).collect();
    let mut two: Vec<Vec<&str>> = Vec::new();
    for i in 0..mids.len() * 4 {
        let (a, b) = (
            mids[(i * 37) % mids.len()],
            mids[(i * 101 + 7) % mids.len()],
        );
        let both = token_sets
            .iter()
            .filter(|s| s.contains(a) && s.contains(b))
            .count();
        if a != b && both >= 20 {
            two.push(vec![a, b]);
        }
        if two.len() == 50 {
            break;
        }
    }
    assert_eq!(two.len(), 50, "50 co-occurring pairs");
    let mut common: Vec<(&str, u32)> = df
        .iter()
        .filter(|(t, _)| word(t))
        .map(|(t, d)| (t.as_str(), *d))
        .collect();
    common.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let common_one: Vec<Vec<&str>> = common[..10].iter().map(|(t, _)| vec![*t]).collect();
    let common_two: Vec<Vec<&str>> = (0..10)
        .map(|i| vec![common[i].0, common[(i + 3) % 20 + 10].0])
        .collect();
    drop(token_sets);

    check_tokeniser_parity(&texts);
    let tantivy = Tantivy::build(&texts);
    let all: Vec<Vec<&str>> = [
        one.clone(),
        two.clone(),
        common_one.clone(),
        common_two.clone(),
    ]
    .concat();
    let theirs: Vec<Vec<u32>> = all.iter().map(|q| tantivy.top10(q)).collect();
    let mine = ours(&texts, Config::default(), &all);
    let small = ours(
        &texts,
        Config {
            scored: 100,
            ..Config::default()
        },
        &all,
    );

    let part = |v: &[Vec<u32>], i: usize| v[i * 50..(i * 50 + 50).min(v.len())].to_vec();
    let (one_mean, one_min) = overlap(&part(&mine, 0), &part(&theirs, 0));
    let (two_mean, two_min) = overlap(&part(&mine, 1), &part(&theirs, 1));
    let (c1_mean, c1_min) = overlap(&mine[100..110], &theirs[100..110]);
    let (c2_mean, c2_min) = overlap(&mine[110..120], &theirs[110..120]);
    println!(
        "relevance vs tantivy BM25 over {n} documents (df {lo}..={hi} for mid-frequency words):"
    );
    println!(
        "  one word, 50 mid-frequency queries: mean overlap {one_mean:.2}/10 (worst {one_min})"
    );
    println!(
        "  two words AND, 50 mid-frequency pairs: mean overlap {two_mean:.2}/10 (worst {two_min})"
    );
    println!("  one word, 10 commonest words: mean overlap {c1_mean:.2}/10 (worst {c1_min})");
    println!(
        "  two words AND, 10 pairs of common words: mean overlap {c2_mean:.2}/10 (worst {c2_min})"
    );
    let figures = [
        overlap(&part(&small, 0), &part(&theirs, 0)).0,
        overlap(&part(&small, 1), &part(&theirs, 1)).0,
        overlap(&small[100..110], &theirs[100..110]).0,
        overlap(&small[110..120], &theirs[110..120]).0,
    ];
    println!(
        "  with top lists of 100 instead of 1000: {:.2}, {:.2}, {:.2}, {:.2} (same four)",
        figures[0], figures[1], figures[2], figures[3]
    );
    assert!(one_mean >= 9.5, "one-word overlap {one_mean}");
    assert!(two_mean >= 8.0, "two-word overlap {two_mean}");
}

/// The client's tokeniser gives the Rust one's tokens on every 20th real text.
fn check_tokeniser_parity(texts: &[Text]) {
    let sample: Vec<(&str, Vec<String>)> = texts
        .iter()
        .step_by(20)
        .map(|t| (t.text.as_str(), tokenize(&t.text)))
        .collect();
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("tokens.json");
    std::fs::write(&path, serde_json::to_string(&sample).expect("json")).expect("write");
    let output = Command::new("node")
        .arg(tests_dir().join("node/tokens_check.mjs"))
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("js/engine.js"))
        .arg(&path)
        .output()
        .expect("runs node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!(
        "tokeniser parity on {} real texts: {}",
        sample.len(),
        stdout.lines().last().unwrap_or("")
    );
    assert!(
        output.status.success(),
        "the client tokenises differently:\n{stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
}
