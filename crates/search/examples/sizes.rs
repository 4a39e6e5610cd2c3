//! Size report of the search index at scale: builds the index of COUNT documents synthesised from
//! the real corpora (each text reused with its own number, title, date, origin, tags and ~2% of
//! its words dropped, like bench/make_corpus.py), writes it under DIR, and has the real client
//! engine (node) run typical queries, counting the bytes each one fetches.
//!
//!   cargo run -p samizdat-search --release --example sizes -- DIR [COUNT]
//!
//! Needs the corpora (`$SAMIZDAT_CORPORA` or the workspace's .cache/corpora) and node.

#[path = "../tests/corpora.rs"]
#[allow(dead_code)]
mod corpora;

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use search::{Builder, Config, SearchDoc, tokenize};

const ORIGINS: [&str; 40] = [
    "Aberdeen", "Accra", "Amman", "Ankara", "Athens", "Baku", "Belgrade", "Bern", "Bogota",
    "Brasilia", "Cairo", "Dakar", "Dhaka", "Dublin", "Hanoi", "Harare", "Jakarta", "Kabul", "Kyiv",
    "Lagos", "Lima", "Lisbon", "Luanda", "Lusaka", "Madrid", "Manila", "Minsk", "Nairobi", "Oslo",
    "Ottawa", "Quito", "Rabat", "Riga", "Rome", "Seoul", "Sofia", "Tbilisi", "Tunis", "Vienna",
    "Warsaw",
];

const TAGS: &str = "customs shipping justice energy mining health elections media police budget courts \
    banking fisheries rail ports aviation water housing schools prisons labour tax pensions defence border \
    asylum trade farming forests climate telecoms software patents privacy surveillance protest unions \
    contracts tenders audit fraud bribery lobbying shipping-lanes oil gas nuclear wind solar roads bridges \
    dams floods drought census migration tourism football broadcasting";

fn peak_rss_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

fn main() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let out = Path::new(args.first().ok_or("usage: sizes DIR [COUNT]")?);
    let count: u32 = args
        .get(1)
        .map_or(Ok(250_000), |c| c.parse())
        .map_err(|e| format!("COUNT: {e}"))?;
    let dir = corpora::corpora_dir()
        .ok_or("corpora missing: set SAMIZDAT_CORPORA (see tests/corpora.rs)")?;

    let started = Instant::now();
    let pool: Vec<corpora::Text> = corpora::read_texts(&dir)
        .into_iter()
        .filter_map(|mut t| {
            let body = t.text.trim();
            if body.len() <= 200 {
                return None;
            }
            t.text = body.chars().take(6000).collect();
            Some(t)
        })
        .collect();
    let pool_bytes: usize = pool.iter().map(|t| t.text.len()).sum();
    println!(
        "pool: {} real texts, {:.1} MB, read in {:.1?}",
        pool.len(),
        pool_bytes as f64 / 1e6,
        started.elapsed()
    );
    // Document frequencies in the pool pick the query words (the synthetic corpus repeats it).
    let mut df: HashMap<String, u32> = HashMap::new();
    for t in &pool {
        let mut seen: Vec<String> = tokenize(&t.text);
        seen.sort();
        seen.dedup();
        for token in seen {
            *df.entry(token).or_default() += 1;
        }
    }
    let tags: Vec<&str> = TAGS.split_whitespace().collect();

    let rss_before = peak_rss_mb();
    let started = Instant::now();
    let mut builder = Builder::new(Config::default());
    let mut last_report = Instant::now();
    builder.on_progress(move |p| {
        if last_report.elapsed().as_secs() >= 10 {
            last_report = Instant::now();
            eprintln!(
                "  {} {}/{} after {:.0?}",
                p.phase,
                p.done,
                p.total,
                started.elapsed()
            );
        }
    });
    let start_day = time::macros::date!(1995 - 01 - 01);
    for n in 1..=count {
        let source = &pool[n as usize % pool.len()];
        // Drop ~2% of the words, varying with the number, so copies differ.
        let mut text = String::with_capacity(source.text.len());
        for (i, word) in source.text.split(' ').enumerate() {
            if !(i as u64 * 31 + u64::from(n) * 17).is_multiple_of(50) {
                text.push_str(word);
                text.push(' ');
            }
        }
        let first_line = source
            .text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("");
        let day = start_day + time::Duration::days(i64::from(n - 1) * 10_950 / i64::from(count));
        let doc = SearchDoc {
            number: n,
            id: format!("s{n:07}"),
            title: format!("{} ({n})", first_line.chars().take(70).collect::<String>()),
            date: Some(day.midnight().assume_utc()),
            kind: source.kind.into(),
            origin: Some(format!("Office {}", ORIGINS[n as usize % ORIGINS.len()])),
            tags: [7, 13, 31][..1 + n as usize % 3]
                .iter()
                .map(|k| tags[(n as usize * k) % tags.len()].to_string())
                .collect(),
            sender: source.sender.clone(),
            text,
        };
        builder.add(doc).map_err(|e| e.to_string())?;
    }
    let index = builder.finish().map_err(|e| e.to_string())?;
    let build_time = started.elapsed();
    let rss = peak_rss_mb();

    let _ = std::fs::remove_dir_all(out);
    let mut by_dir: HashMap<String, (usize, usize)> = HashMap::new();
    for file in &index.files {
        let path = out.join(&file.path);
        std::fs::create_dir_all(path.parent().ok_or("no parent")?).map_err(|e| e.to_string())?;
        std::fs::write(&path, &file.bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        let kind = file
            .path
            .rsplit_once('/')
            .map_or("", |(d, _)| d)
            .to_string();
        let kind = if file.path.starts_with("search/") && !file.path[7..].contains('/') {
            file.path[..9].to_string()
        } else {
            kind
        };
        let e = by_dir.entry(kind).or_default();
        e.0 += 1;
        e.1 += file.bytes.len();
    }
    let size = |path: &str| {
        index
            .files
            .iter()
            .find(|f| f.path == path)
            .map_or(0, |f| f.bytes.len())
    };
    let client: usize = index
        .files
        .iter()
        .filter(|f| f.path.starts_with("assets/"))
        .map(|f| f.bytes.len())
        .sum();
    let root = size(&index.root);

    println!(
        "\n{count} documents: built in {:.1?}, peak RSS {rss:.0} MB ({rss_before:.0} MB before the build: the corpus pool)",
        build_time
    );
    let mut dirs: Vec<_> = by_dir.into_iter().collect();
    dirs.sort();
    for (dir, (files, bytes)) in dirs {
        println!(
            "  {dir:<14} {files:>8} files {:>10.1} MB",
            bytes as f64 / 1e6
        );
    }
    println!(
        "first visit: client {:.1} KB + root {:.1} KB = {:.1} KB; return visit (client cached): {:.1} KB",
        client as f64 / 1024.0,
        root as f64 / 1024.0,
        (client + root) as f64 / 1024.0,
        root as f64 / 1024.0
    );

    // Query words from the pool's frequencies.
    let word = |t: &str| t.len() >= 3 && t.chars().all(char::is_alphabetic);
    let mut by_df: Vec<(&str, u32)> = df
        .iter()
        .filter(|(t, _)| word(t))
        .map(|(t, d)| (t.as_str(), *d))
        .collect();
    by_df.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let near = |target: u32| {
        by_df
            .iter()
            .min_by_key(|(_, d)| d.abs_diff(target))
            .map_or("", |(t, _)| *t)
    };
    let common = by_df[0].0;
    let mid = near(pool.len() as u32 / 100);
    let rare = near(2);
    let queries = [
        ("commonest word", common.to_string(), serde_json::json!({})),
        (
            "2nd commonest word",
            by_df[1].0.to_string(),
            serde_json::json!({}),
        ),
        (
            "mid-frequency word (1%)",
            mid.to_string(),
            serde_json::json!({}),
        ),
        (
            "word in 10%",
            near(pool.len() as u32 / 10).to_string(),
            serde_json::json!({}),
        ),
        ("rare word", rare.to_string(), serde_json::json!({})),
        (
            "AND of 2 commonest",
            format!("{} {}", by_df[0].0, by_df[1].0),
            serde_json::json!({}),
        ),
        (
            "AND of 3rd + 5th commonest",
            format!("{} {}", by_df[2].0, by_df[4].0),
            serde_json::json!({}),
        ),
        (
            "AND of two 10% words",
            format!(
                "{} {}",
                near(pool.len() as u32 / 10),
                near(pool.len() as u32 / 12)
            ),
            serde_json::json!({}),
        ),
        (
            "mid word + kind facet",
            mid.to_string(),
            serde_json::json!({"filters": {"kind": ["email"]}}),
        ),
        (
            "mid word + origin facet",
            mid.to_string(),
            serde_json::json!({"filters": {"origin": ["Office Oslo"]}}),
        ),
        (
            "commonest word + kind facet",
            common.to_string(),
            serde_json::json!({"filters": {"kind": ["email"]}}),
        ),
        (
            "mid word, 2000-2004",
            mid.to_string(),
            serde_json::json!({"from": "2000", "to": "2004"}),
        ),
        (
            "commonest word by date",
            common.to_string(),
            serde_json::json!({"sort": "newest"}),
        ),
        (
            "mid word -commonest",
            format!("{mid} -{common}"),
            serde_json::json!({}),
        ),
        (
            "mid word, counts: year+kind",
            mid.to_string(),
            serde_json::json!({"counts": ["year", "kind"]}),
        ),
        (
            "mid word, counts: all facets",
            mid.to_string(),
            serde_json::json!({"counts": ["year", "kind", "origin", "tag", "sender"]}),
        ),
    ];
    let json: Vec<serde_json::Value> = queries
        .iter()
        .map(|(_, q, o)| serde_json::json!({"query": q, "options": o}))
        .collect();
    let queries_path = out.join("queries.json");
    std::fs::write(
        &queries_path,
        serde_json::to_string(&json).map_err(|e| e.to_string())?,
    )
    .map_err(|e| e.to_string())?;
    let engine = index
        .files
        .iter()
        .find(|f| f.path.starts_with("assets/search-engine."))
        .ok_or("no engine")?;
    let output = Command::new("node")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/node/rank.mjs"))
        .arg(out)
        .arg(&index.root)
        .arg(&engine.path)
        .arg(&queries_path)
        .output()
        .map_err(|e| format!("node: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "rank.mjs: {}",
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    let results: Vec<serde_json::Value> =
        serde_json::from_slice(&output.stdout).map_err(|e| e.to_string())?;
    println!("\nbytes fetched per query (fresh page, root already loaded; excerpts not included):");
    for ((name, query, options), r) in queries.iter().zip(&results) {
        println!(
            "  {name:<30} {:>8.1} KB in {:>3} files, {:>4} ms, {:>7} results  {query:?} {}",
            r["bytes"].as_f64().unwrap_or(0.0) / 1024.0,
            r["files"],
            r["ms"],
            r["total"],
            if options.as_object().is_some_and(|o| o.is_empty()) {
                String::new()
            } else {
                options.to_string()
            },
        );
    }
    let average_text = pool_bytes / pool.len();
    println!(
        "excerpts: the 10 shown documents' d/<id>/doc.json, ~{:.1} KB each here (their text)",
        average_text as f64 / 1024.0
    );
    Ok(())
}
