//! `samizdat demo`: the sample archive that ships in `sample/`, ingested, released and verified;
//! then the origin and two mirrors on loopback, the mirrors syncing from the origin, and a
//! directory that the mirrors enrol with (through its API and the challenge they serve) and that
//! audits them, until Ctrl-C. Run it twice: the second run finds nothing new to ingest and signs a release that
//! re-signs nothing but the snapshot and timestamp.

use crate::commands::{Outcome, print_summary, read_options, verify};
use crate::out::{errln, outln};
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
    outln!("== origin, two mirrors and a directory on loopback");
    let (directory, directory_config) =
        start_directory(dir, &network.address(MIRRORS.len() as u16 + 1))?;
    let directory_url = directory.urls.first().cloned().unwrap_or_default();
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
        for ((name, folder), url) in MIRRORS.iter().zip(urls) {
            let enrolment = mirror::enroll::Enrolment {
                url: url.clone(),
                country: "ZZ".into(),
                provider: "loopback".into(),
                contact: String::new(),
            };
            let limits = net::Limits {
                request_timeout: Duration::from_secs(10),
                ..net::Limits::default()
            };
            match mirror::enroll::enroll(&dir.join(folder), &directory_url, &enrolment, &limits) {
                Ok(enrolled) => outln!(
                    "{name} enrolled with the directory as mirror {}: {}",
                    enrolled.id,
                    enrolled.state
                ),
                // A second demo run: the directory knows it already.
                Err(e) => errln!("{name} not enrolled: {e}"),
            }
        }
        // A round now rather than in one interval: the mirrors listed as the demo starts.
        match directory::run::audit_now(&dir.join("directory"), &directory_config) {
            Ok(audited) => {
                let counts: Vec<String> = audited
                    .counts
                    .iter()
                    .filter(|(_, count)| *count > 0)
                    .map(|(state, count)| format!("{count} {state}"))
                    .collect();
                outln!("directory audit: {}", counts.join(", "));
            }
            Err(e) => errln!("directory audit failed: {e}"),
        }
        outln!("directory {directory_url}  (audits the mirrors every {DIRECTORY_INTERVAL} s)");
        outln!("directory status page: {directory_url}   as JSON: {directory_url}status.json");
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
    directory.stop();
    Ok(Outcome::Done)
}

/// Seconds between the demo directory's audit rounds.
const DIRECTORY_INTERVAL: u64 = 10;

/// The demo's directory in `DIR/directory` (made on the first run) for the demo archive's root,
/// serving on `listen`, started without blocking.
fn start_directory(
    dir: &Path,
    listen: &str,
) -> Result<(directory::run::Running, directory::config::Config)> {
    let folder = dir.join("directory");
    let mut config = if directory::config::Config::path(&folder).exists() {
        directory::config::Config::load(&folder)?
    } else {
        let root = std::fs::read(dir.join("root.json")).context("the demo archive's root.json")?;
        let config = directory::config::Config {
            listen: vec![listen.to_owned()],
            interval_secs: DIRECTORY_INTERVAL,
            ..directory::config::Config::default()
        };
        directory::config::init(&folder, &root, &config, time::OffsetDateTime::now_utc())?;
        config
    };
    // The ports of this run (another `--port` than the first run's).
    config.listen = vec![listen.to_owned()];
    Ok((directory::run::start(&folder, &config)?, config))
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
