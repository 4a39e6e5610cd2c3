//! Browser tests of the reader site (tests/browser/README.md): node drives Debian's Chromium with
//! playwright-core; html-validate checks the HTML. All installed by ./test.sh, which exports
//! SAMIZDAT_BROWSER_DIR and SAMIZDAT_CHROMIUM.
//!

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use super::{p, repo};

/// tests/browser with its node_modules (`SAMIZDAT_BROWSER_DIR`, else the repository's); fails
/// clearly when ./test.sh has not installed them.
pub fn browser_dir() -> PathBuf {
    let dir = std::env::var_os("SAMIZDAT_BROWSER_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("tests/browser"));
    assert!(
        dir.join("node_modules/playwright-core").is_dir(),
        "{}/node_modules not installed: run ./test.sh, which runs npm ci there",
        dir.display()
    );
    dir
}

/// Debian's Chromium (`SAMIZDAT_CHROMIUM`, else /usr/bin/chromium); fails clearly when missing.
pub fn chromium() -> PathBuf {
    let path = std::env::var_os("SAMIZDAT_CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        path.exists(),
        "{} not found: run ./test.sh, which installs Debian's chromium",
        path.display()
    );
    path
}

/// `node ARGS...` in tests/browser, with the env the scripts read.
fn node(dir: &Path, args: &[&str]) -> Output {
    let node = std::env::var("SAMIZDAT_NODE").unwrap_or_else(|_| "node".to_owned());
    Command::new(&node)
        .args(args)
        .current_dir(dir)
        .env("SAMIZDAT_BROWSER_DIR", dir)
        .env("SAMIZDAT_CHROMIUM", chromium())
        .output()
        .unwrap_or_else(|e| panic!("run {node} (Node 20.19 or newer): {e}"))
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Runs the browser test `script` (a path; a relative one is under tests/browser) against the
/// site at `base_url`: `node tests/browser/run.mjs SCRIPT BASE_URL OUT ARGS...`. Screenshots and
/// metrics.json go to `out`. Panics with node's output unless the test passed; returns that output
/// (its `METRIC name=value unit` lines: see `metric`). The script's own time limit is
/// BROWSER_TEST_TIMEOUT seconds (default 120), inherited from the environment.
pub fn browser_test(script: &Path, base_url: &str, out: &Path, args: &[&str]) -> String {
    let dir = browser_dir();
    let script = dir.join(script);
    let out = std::env::current_dir().expect("cwd").join(out);
    let mut argv = vec!["run.mjs", p(&script), base_url, p(&out)];
    argv.extend_from_slice(args);
    let output = node(&dir, &argv);
    let text = text(&output);
    assert!(
        output.status.success(),
        "browser test {} against {base_url} failed ({}; screenshots in {}):\n{text}",
        script.display(),
        output.status,
        out.display()
    );
    println!("{text}");
    text
}

/// The value of `METRIC name=value ...` in a browser test's output.
pub fn metric(output: &str, name: &str) -> Option<f64> {
    output.lines().find_map(|line| {
        let rest = line
            .strip_prefix("METRIC ")?
            .strip_prefix(name)?
            .strip_prefix('=')?;
        rest.split_whitespace().next()?.parse().ok()
    })
}

/// html-validate over the `*.html` files under `dir` (a deterministic sample of at most `max`,
/// spread over the folders), with tests/browser/.htmlvalidate.json; panics with every error.
pub fn validate_html(dir: &Path, max: usize) {
    let browser = browser_dir();
    let dir = std::env::current_dir().expect("cwd").join(dir);
    let max = max.to_string();
    let output = node(&browser, &["validate.mjs", p(&dir), "--max", &max]);
    let text = text(&output);
    assert!(
        output.status.success(),
        "html-validate found errors in {} ({}):\n{text}",
        dir.display(),
        output.status
    );
    println!("{text}");
}
