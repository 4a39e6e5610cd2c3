//! The client's query engine (`js/engine.js`, as written into the index) run by node against a
//! brute-force oracle, over a small index built twice: with the default sizes and with tiny ones
//! (so that term files, posting files, several shards and card pages are all exercised).

use std::process::Command;

use search::{Builder, Config, SearchDoc, SearchIndex, tokenize};
use time::macros::datetime;

use crate::{engine_path, require_node, tests_dir, write_index};

const WORDS: [&str; 10] = [
    "alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa",
];

fn corpus() -> Vec<SearchDoc> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move |m: u64| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state % m
    };
    (1..=60u32)
        .map(|n| {
            let mut words: Vec<String> = (0..5 + next(30))
                .map(|_| WORDS[next(10) as usize].to_string())
                .collect();
            if next(10) < 7 {
                words.insert(next(words.len() as u64) as usize, "common".into());
            }
            if n % 9 == 0 {
                words.insert(0, "omega".into());
            }
            if n % 5 == 0 {
                words.extend(["alpha".into(), "beta".into()]);
            }
            let (id, text) = if n == 31 {
                (
                    "dense-omega".to_string(),
                    "Omega omega OMEGA, omega common.".to_string(),
                )
            } else {
                (
                    format!("doc-{n}"),
                    words.join(if n % 4 == 0 { ", " } else { " " }),
                )
            };
            let kind = ["email", "pdf", "text"][n as usize % 3];
            SearchDoc {
                number: n,
                id,
                title: format!("Document {n} {}", WORDS[n as usize % 10]),
                date: (n <= 50).then(|| {
                    datetime!(2000-01-01 12:00 UTC) + time::Duration::days(i64::from(n) * 29)
                }),
                kind: kind.into(),
                origin: Some(format!("Office {}", ["A", "B", "C"][(n as usize / 2) % 3])),
                tags: ["red", "green", "blue"]
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| (n >> i) & 1 == 1)
                    .map(|(_, t)| t.to_string())
                    .collect(),
                sender: (kind == "email").then(|| {
                    ["Ann <ann@example.org>", "Bob <bob@example.org>"][n as usize % 2].into()
                }),
                text,
            }
        })
        .collect()
}

fn build(config: Config, docs: &[SearchDoc]) -> SearchIndex {
    let mut builder = Builder::new(config);
    for doc in docs {
        builder.add(doc.clone()).expect("adds");
    }
    builder.finish().expect("builds")
}

fn run_node(config: Config) {
    run_node_expecting(config, false);
}

/// `pages_from_top_list`: the index's top lists are short enough that some filtered pages are
/// shown from them before the word's full set is fetched (the node script checks there were).
fn run_node_expecting(config: Config, pages_from_top_list: bool) {
    require_node();
    let docs = corpus();
    let index = build(config, &docs);
    let site = tempfile::tempdir().expect("tempdir");
    write_index(site.path(), &index);
    let json: Vec<serde_json::Value> = docs
        .iter()
        .map(|d| {
            let date = d.date.map(|d| format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day()));
            let page = site.path().join("d").join(&d.id);
            std::fs::create_dir_all(&page).expect("mkdir");
            let doc_json = serde_json::json!({"document": {"id": d.id, "title": d.title}, "links": {}, "text": d.text});
            std::fs::write(page.join("doc.json"), doc_json.to_string()).expect("write");
            serde_json::json!({
                "number": d.number, "id": d.id, "title": d.title, "date": date, "kind": d.kind,
                "origin": d.origin, "tags": d.tags, "sender": d.sender, "text": d.text,
            })
        })
        .collect();
    std::fs::write(
        site.path().join("docs.json"),
        serde_json::to_string(&json).expect("json"),
    )
    .expect("write");
    let tricky = [
        "Hello, World! e-mail x86_64",
        "ÉTÉ Größe naïve ΟΔΟΣ Σίσυφος",
        "日本語テキスト ٣٤ ½ ① Ⅻ",
        "İstanbul ǅemal ﬁnal ß",
        &format!("{} {} ok", "a".repeat(40), "b".repeat(41)),
        "tab\tnew\nline\u{a0}nbsp\u{200b}zero-width",
    ];
    let tokens: Vec<(&str, Vec<String>)> = tricky.iter().map(|t| (*t, tokenize(t))).collect();
    std::fs::write(
        site.path().join("tokens.json"),
        serde_json::to_string(&tokens).expect("json"),
    )
    .expect("write");

    let ui = index
        .files
        .iter()
        .find(|f| f.path == index.script)
        .expect("the UI module");
    let engine = engine_path(&index);
    let engine_name = engine.trim_start_matches("assets/");
    assert!(
        String::from_utf8_lossy(&ui.bytes).contains(&format!("\"./{engine_name}\"")),
        "the UI imports the engine by its hashed name"
    );
    if let Ok(keep) = std::env::var("SEARCH_TEST_KEEP") {
        let _ = std::fs::remove_dir_all(&keep);
        let status = Command::new("cp")
            .arg("-r")
            .arg(site.path())
            .arg(&keep)
            .status()
            .expect("cp");
        assert!(status.success());
    }
    let output = Command::new("node")
        .arg(tests_dir().join("node/engine_test.mjs"))
        .arg(site.path())
        .arg(&index.root)
        .arg(&engine)
        .env(
            "EXPECT_PAGES_FROM_TOP_LIST",
            if pages_from_top_list { "1" } else { "0" },
        )
        .output()
        .expect("runs node");
    let stdout = String::from_utf8_lossy(&output.stdout);
    println!("{stdout}");
    eprintln!("{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        output.status.success(),
        "the engine's checks failed:\n{stdout}"
    );
}

#[test]
fn engine_answers_like_the_oracle() {
    run_node(Config::default());
}

#[test]
fn engine_answers_like_the_oracle_with_tiny_files() {
    // Top lists of 4: filtered pages of 3 come from them for the commonest word.
    run_node_expecting(
        Config {
            scored: 4,
            inline_bytes: 8,
            shard_bytes: 64,
            card_block: 3,
            card_page: 2,
            hot_terms: 3,
            ..Config::default()
        },
        true,
    );
}
