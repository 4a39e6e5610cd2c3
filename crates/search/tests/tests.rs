//! Integration tests of the search index: the real client engine run by node over built indexes,
//! and relevance against tantivy on the real corpora.

mod corpora;
mod engine;
mod relevance;

use std::path::Path;
use std::process::Command;

use search::SearchIndex;

/// Writes every file of `index` under `site`.
pub fn write_index(site: &Path, index: &SearchIndex) {
    for file in &index.files {
        let path = site.join(&file.path);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(&path, &file.bytes).expect("write");
    }
}

/// Fails the test, saying so, unless `node` runs: the client engine is tested only by node,
/// and a test that passed without it would claim what nobody checked (CI has node).
pub fn require_node() {
    let ok = Command::new("node")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        ok,
        "`node` is missing (not on PATH, or `node --version` failed): the client engine \
         cannot be tested without it; install Node.js (apt-get install nodejs)"
    );
}

/// The site-relative path of the engine module.
pub fn engine_path(index: &SearchIndex) -> String {
    index
        .files
        .iter()
        .find(|f| f.path.starts_with("assets/search-engine."))
        .map(|f| f.path.clone())
        .expect("the engine module is in the index")
}

pub fn tests_dir() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/tests"))
}
