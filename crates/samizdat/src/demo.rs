//! `samizdat demo`: the sample archive that ships in `sample/`, ingested, released and verified.
//! Run it twice: the second run finds nothing new to ingest and signs a release that re-signs
//! nothing but the snapshot and timestamp.

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

pub fn run(dir: &Path) -> Result<ExitCode> {
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
    let read = read_options(Duration::from_secs(60), 1 << 30)?;
    println!("== add {}", sample.display());
    let summary = archive.add(&[sample.join("documents")], read, &Bar::new("adding"))?;
    print_summary(&summary);
    println!("== release");
    let report = archive.release(&release::site::NoSite, &Bar::new("records"))?;
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
    println!();
    println!(
        "The release is in {}/ : serve it with any web server,",
        release_dir.display()
    );
    println!(
        "e.g. python3 -m http.server -d {} 8000",
        release_dir.display()
    );
    println!(
        "and check it from anywhere with: samizdat verify --root {} http://127.0.0.1:8000/",
        dir.join("root.json").display()
    );
    Ok(code)
}
