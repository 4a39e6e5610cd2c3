//! `samizdat demo`: the sample archive that ships in `sample/`, ingested, released and verified;
//! then the origin and two mirrors on loopback, the mirrors syncing from the origin, until
//! Ctrl-C. Run it twice: the second run finds nothing new to ingest and signs a release that
//! re-signs nothing but the snapshot and timestamp.

use crate::commands::{Outcome, print_summary, read_options, verify};
use crate::out::outln;
use crate::progress::Bar;
use anyhow::{Context, Result, bail};
use mirror::demo::{MIRRORS, Network};
use release::{Archive, InitOptions};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The sample documents: `./sample` when run from a checkout, else the one beside the sources.
fn sample_dir() -> Result<PathBuf> {
    let candidates = [
        PathBuf::from("sample"),
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sample"),
    ];
    for c in candidates {
        if c.join("README.md").is_file() {
            return Ok(c);
        }
    }
    bail!("cannot find the sample archive (run from the samizdat checkout)")
}

/// The demo in `dir`, served as `network` says.
pub fn run(dir: &Path, network: &Network) -> Result<Outcome> {
    let sample = sample_dir()?;
    if !dir.join(release::CONFIG_FILE).exists() {
        let options = InitOptions {
            title: "samizdat sample archive".into(),
            ..InitOptions::default()
        };
        Archive::init(dir, &options)?;
        outln!("created archive {}", dir.display());
    }
    let mut archive = Archive::open(dir)?;
    let urls = network.urls();
    if !urls.is_empty() {
        // The reader site lists the demo's origin and mirrors, and fails over between them.
        archive.set_mirrors(&urls)?;
    }
    let read = read_options(Duration::from_secs(60), 1 << 30)?;
    outln!("== add {}", sample.display());
    let summary = archive.add(&[sample.join("documents")], read, &Bar::new("adding"))?;
    print_summary(&summary);
    outln!("== release");
    let report = archive.release(&site::ReaderSite, &Bar::new("release"))?;
    outln!(
        "release {}: {} documents, {} targets, {} of {} bins signed",
        report.version,
        report.documents,
        report.targets,
        report.bins_written,
        report.bins_total
    );
    drop(archive);
    outln!("== verify");
    let release_dir = dir.join("release");
    let outcome = verify(
        &dir.join("root.json"),
        release_dir
            .to_str()
            .context("the demo folder's path is not UTF-8")?,
        &[],
        false,
    )?;
    if outcome != Outcome::Done {
        return Ok(outcome);
    }
    outln!("== origin and two mirrors on loopback");
    let root = std::path::absolute(dir.join("root.json")).context("the demo folder")?;
    let program = std::env::current_exe()
        .context("cannot find the samizdat executable")?
        .display()
        .to_string();
    network.serve(dir, |origin, urls| {
        outln!();
        outln!("origin   {origin}");
        for ((name, _), url) in MIRRORS.iter().zip(urls) {
            outln!("{name} {url}  (synced from the origin; re-checks it every 10 s)");
        }
        outln!();
        if let Some(first) = urls.first() {
            outln!("open {first}");
            outln!("status: {first}.well-known/samizdat/status.json   metrics: {first}metrics");
        }
        if let Some(last) = urls.last() {
            // This very binary: after `cargo run` no `samizdat` is on PATH.
            outln!(
                "check a mirror from anywhere: {} verify --root {} {last}",
                shell_word(&program),
                shell_word(&root.display().to_string())
            );
        }
        outln!("Ctrl-C stops them.");
    })?;
    Ok(Outcome::Done)
}

/// `word` as one shell word: as it is when it holds nothing the shell would read, else quoted.
fn shell_word(word: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "/._-+:,=@%".contains(c);
    if !word.is_empty() && word.chars().all(plain) {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}
