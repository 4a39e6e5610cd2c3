//! `samizdat demo`: the sample archive that ships in `sample/`, ingested, released and verified;
//! then the origin and two mirrors on loopback, the mirrors syncing from the origin, until
//! Ctrl-C. Run it twice: the second run finds nothing new to ingest and signs a release that
//! re-signs nothing but the snapshot and timestamp.

use crate::cli::{print_summary, read_options, verify};
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
        println!("created archive {}", dir.display());
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
    println!("== add {}", sample.display());
    let summary = archive.add(&[sample.join("documents")], read, &Bar::new("adding"))?;
    print_summary(&summary);
    println!("== release");
    let report = archive.release(&site::ReaderSite, &Bar::new("release"))?;
    println!(
        "release {}: {} documents, {} targets, {} of {} bins signed",
        report.version, report.documents, report.targets, report.bins_written, report.bins_total
    );
    drop(archive);
    println!("== verify");
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
    println!("== origin and two mirrors on loopback");
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
    let root = dir.join("root.json");
    mirror::run::demo_network(
        dir,
        &address(0),
        &mirrors,
        network.stop_after,
        |origin, urls| {
            println!();
            println!("origin   {origin}");
            for (name, url) in ["mirror A", "mirror B"].iter().zip(urls) {
                println!("{name} {url}  (synced from the origin; re-checks it every 10 s)");
            }
            println!();
            if let Some(first) = urls.first() {
                println!("open {first}");
                println!(
                    "status: {first}.well-known/samizdat/status.json   metrics: {first}metrics"
                );
            }
            if let Some(last) = urls.last() {
                println!(
                    "check a mirror from anywhere: samizdat verify --root {} {last}",
                    root.display()
                );
            }
            println!("Ctrl-C stops them.");
        },
    )
    .map_err(anyhow::Error::msg)?;
    Ok(ExitCode::SUCCESS)
}
