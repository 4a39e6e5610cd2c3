//! `samizdat demo`: the sample archive that ships in `sample/`, ingested, released and verified;
//! then the origin and two mirrors on loopback, the mirrors syncing from the origin, until
//! Ctrl-C. Run it twice: the second run finds nothing new to ingest and signs a release that
//! re-signs nothing but the snapshot and timestamp.

use crate::cli::{print_summary, read_options, verify};
use crate::out::outln;
use crate::progress::Bar;
use anyhow::{Context, Result, bail};
use release::{Archive, InitOptions};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
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

/// Where the demo serves: the origin on `port`, the mirrors on the next two (0: any free ports).
pub struct Network {
    pub port: u16,
    /// Stop after this long instead of at Ctrl-C.
    pub stop_after: Option<Duration>,
}

pub fn run(dir: &Path, network: &Network) -> Result<ExitCode> {
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
    if network.port != 0 {
        // The reader site lists the demo's origin and mirrors, and fails over between them.
        let urls: Vec<String> = (0..3)
            .map(|i| format!("http://127.0.0.1:{}/", network.port + i))
            .collect();
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
    let code = verify(
        &dir.join("root.json"),
        release_dir
            .to_str()
            .context("the demo folder's path is not UTF-8")?,
        &[],
        false,
    )?;
    if code != ExitCode::SUCCESS {
        return Ok(code);
    }
    outln!("== origin and two mirrors on loopback");
    let address = |offset: u16| {
        let port = if network.port == 0 {
            0
        } else {
            network.port + offset
        };
        format!("127.0.0.1:{port}")
    };
    let mirrors = [
        (dir.join("mirror-a"), address(1)),
        (dir.join("mirror-b"), address(2)),
    ];
    let root = std::path::absolute(dir.join("root.json")).context("the demo folder")?;
    let program = std::env::current_exe()
        .context("cannot find the samizdat executable")?
        .display()
        .to_string();
    mirror::run::demo_network(
        dir,
        &address(0),
        &mirrors,
        network.stop_after,
        |origin, urls| {
            outln!();
            outln!("origin   {origin}");
            for (name, url) in ["mirror A", "mirror B"].iter().zip(urls) {
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
        },
    )
    .map_err(anyhow::Error::msg)?;
    Ok(ExitCode::SUCCESS)
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
