//! The commands: each calls a library and prints what it did. `cli` dispatches to them and
//! turns what they return (an [`Outcome`], or an error) into the exit status; `demo` runs
//! several of them in a row.

use crate::out::{errln, outln};
use crate::progress::Bar;
use anyhow::{Context, Result, bail};
use release::{Archive, InitOptions};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// How a command ended that ran to its end (`cli::status` gives its exit status).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// `add`: finished, but some files or documents could not be ingested.
    SomeFailed,
    /// `verify`: something was checked and found wrong.
    Forged,
    /// `verify`: some targets could not be fetched, and none was found wrong.
    Unreachable,
    /// `verify`: authentic, but expired: not known fresh.
    NotFresh,
    /// `mirror sync --json`: the round failed so (its report is the JSON printed).
    SyncFailed(mirror::ErrorKind),
    /// The status a child's own `main` returned (`extract-pdf`).
    Child(i32),
}

pub fn init(archive: &Path, options: &InitOptions) -> Result<Outcome> {
    let root = Archive::init(archive, options)?;
    outln!("created archive {}", archive.display());
    outln!(
        "trusted root for mirrors and readers: {} (SHA-256 {}: publish it beside the file)",
        root.display(),
        root_fingerprint(&root)?
    );
    Ok(Outcome::Done)
}

/// A root's fingerprint as operators compare it: the SHA-256 of the file's bytes (what
/// `sha256sum root.json` prints, as for a directory's root in `directory init`).
fn root_fingerprint(root: &Path) -> Result<String> {
    let bytes = std::fs::read(root).with_context(|| format!("{}: cannot read", root.display()))?;
    Ok(trust::schema::Digest::of(&bytes).to_hex())
}

pub fn add(
    archive: &Path,
    paths: &[PathBuf],
    pdf_timeout: Duration,
    pdf_memory: u64,
    archives: archive::read::container::Limits,
    ocr: Option<archive::read::ocr::Ocr>,
    flags: archive::ingest::AddFlags,
) -> Result<Outcome> {
    let mut a = Archive::open(archive)?;
    let read = archive::read::ReadOptions {
        archives,
        ocr,
        ..read_options(pdf_timeout, pdf_memory)?
    };
    let summary = a.add_with(paths, read, flags, &Bar::new("adding"))?;
    print_lines(&summary.lines);
    print_summary(&summary);
    Ok(if summary.failed.is_empty() {
        Outcome::Done
    } else {
        Outcome::SomeFailed
    })
}

pub fn withdraw(archive: &Path, id: &str, reason: &str) -> Result<Outcome> {
    Archive::open(archive)?.withdraw(id, reason)?;
    outln!("withdrew {id}; the next release leaves it out");
    Ok(Outcome::Done)
}

pub fn release(archive: &Path, no_site: bool) -> Result<Outcome> {
    let mut a = Archive::open(archive)?;
    let started = std::time::Instant::now();
    let site: &dyn release::site::Site = if no_site {
        &release::site::NoSite
    } else {
        &site::ReaderSite
    };
    let report = a.release(site, &Bar::new("release"))?;
    outln!(
        "release {}: {} documents ({} withdrawn), {} targets ({} new files), {} records rebuilt, {} of {} bins signed, in {:.1}s ({})",
        report.version,
        report.documents,
        report.withdrawn,
        report.targets,
        report.files_placed,
        report.records_rebuilt,
        report.bins_written,
        report.bins_total,
        started.elapsed().as_secs_f64(),
        if report.from_changes {
            "from the changes since the last release"
        } else {
            "from every document"
        }
    );
    Ok(Outcome::Done)
}

pub fn timestamp(archive: &Path, key: Option<&Path>) -> Result<Outcome> {
    let a = Archive::open(archive)?;
    let version = a.refresh_timestamp(key)?;
    outln!("timestamp version {version} signed");
    Ok(Outcome::Done)
}

pub fn key_export_root(archive: &Path, out: &Path, remove: bool) -> Result<Outcome> {
    let a = Archive::open(archive)?;
    for path in a.export_root_keys(out, remove)? {
        outln!("root key written to {}", path.display());
    }
    if remove {
        outln!(
            "root keys removed from {}: root is offline",
            archive.display()
        );
    }
    Ok(Outcome::Done)
}

pub fn key_rotate(archive: &Path, role: &str, root_keys: Option<&Path>) -> Result<Outcome> {
    let role: release::KeyRole = role.parse()?;
    let mut a = Archive::open(archive)?;
    let rotation = a.rotate_key(role, root_keys)?;
    for path in &rotation.new_keys {
        outln!("new {} key written to {}", role.as_str(), path.display());
    }
    for path in &rotation.removed {
        outln!("old key {} deleted", path.display());
    }
    outln!(
        "root version {} lists it: {}",
        rotation.root_version,
        archive.join("root.json").display()
    );
    if let Some(version) = rotation.release {
        outln!("release {version}: signed again with the new key");
    }
    if role == release::KeyRole::Root && root_keys.is_some() {
        outln!(
            "the new root keys are in {}: take them offline again with `samizdat key export-root --remove`",
            archive.join("keys").display()
        );
    }
    Ok(Outcome::Done)
}

/// `extract-pdf`: run by `add` in a child process with limits.
pub fn extract_pdf(file: &Path) -> Outcome {
    Outcome::Child(archive::read::pdf::child_main(file))
}

/// Readers' options; PDFs are extracted by this same binary in a child process.
pub fn read_options(timeout: Duration, memory: u64) -> Result<archive::read::ReadOptions> {
    let exe = std::env::current_exe().context("cannot find the samizdat executable")?;
    Ok(archive::read::ReadOptions::new(
        archive::read::PdfExtractor {
            program: exe,
            args: vec!["extract-pdf".into()],
            timeout,
            memory_limit_bytes: memory,
        },
    ))
}

/// `add --verbose`: one line a file, `OUTCOME "PATH" (PART): what`, escaped as failures are.
fn print_lines(lines: &[archive::report::Line]) {
    use archive::ingest::{escaped, quoted};
    use archive::report::Outcome as O;
    for line in lines {
        let part = match &line.part {
            Some(part) => format!(" ({})", escaped(part)),
            None => String::new(),
        };
        let what = match &line.outcome {
            O::Ingested { id } => format!("ingested    {}{part}: {id}", quoted(&line.path)),
            O::Updated { id } => format!("updated     {}{part}: {id}", quoted(&line.path)),
            O::Unchanged { id } => format!(
                "unchanged   {}{part}{}",
                quoted(&line.path),
                id.as_ref().map(|id| format!(": {id}")).unwrap_or_default()
            ),
            O::Unsupported {
                detected_type,
                reason,
            } => format!(
                "unsupported {}{part}: {} ({})",
                quoted(&line.path),
                escaped(reason),
                escaped(detected_type)
            ),
            O::Duplicate { of } => format!("duplicate   {}{part}: of {of}", quoted(&line.path)),
            O::Failed { reason } => {
                format!(
                    "failed      {}{part}: {}",
                    quoted(&line.path),
                    escaped(reason)
                )
            }
            O::Metadata { of } => format!(
                "metadata    {}{part}: of {}",
                quoted(&line.path),
                quoted(of)
            ),
            O::Gone { id, withdrawn } => format!(
                "gone        {}{part}: {id}{}",
                quoted(&line.path),
                if *withdrawn { " (withdrawn)" } else { "" }
            ),
        };
        match &line.ocr {
            Some(ocr) => outln!("{what}; OCR {}", escaped(ocr)),
            None => outln!("{what}"),
        }
    }
}

pub fn print_summary(s: &archive::ingest::Summary) {
    // `Failure`'s Display quotes and escapes: a file name cannot forge a line or drive the terminal.
    for f in &s.failed {
        errln!("failed: {f}");
    }
    for f in &s.renamed {
        errln!("renamed: {f}");
    }
    for f in &s.duplicates {
        errln!("duplicate skipped: {f}");
    }
    for f in &s.notes {
        errln!("warning: {f}");
    }
    for f in &s.missing {
        errln!("gone: {f}");
    }
    outln!(
        "{} files: {} documents ingested, {} updated, {} files unchanged, {} duplicates skipped, {} renamed, {} unsupported skipped, {} failed, {} gone ({} withdrawn), {} sidecars, {} read by OCR; report: {}",
        s.files_seen,
        s.ingested,
        s.updated,
        s.unchanged,
        s.duplicates.len(),
        s.renamed.len(),
        s.unsupported.len(),
        s.failed.len(),
        s.missing.len(),
        s.withdrawn,
        s.sidecars,
        s.ocr,
        archive::ingest::escaped(&s.report.display().to_string())
    );
}

/// `verify`: the release at `source` (a release folder, or an http(s) URL) checked against
/// the root in `root`; `targets` names documents or targets (none: every target). With
/// `verbose`, each metadata file fetched is listed on stderr.
pub fn verify(root: &Path, source: &str, targets: &[String], verbose: bool) -> Result<Outcome> {
    let trusted =
        std::fs::read(root).with_context(|| format!("{}: cannot read", root.display()))?;
    let now = time::OffsetDateTime::now_utc();
    let bar = Bar::new("verifying");
    let log = |path: &str, bytes: usize| {
        if verbose {
            errln!("fetched {path} ({bytes} bytes)");
        }
    };
    let report = if source.starts_with("http://") || source.starts_with("https://") {
        let inner = net::HttpTransport::new(source, &net::Limits::default());
        fetch::verify(&trusted, fetch::Logged::new(inner, log), targets, now, &bar)
    } else {
        let dir = Path::new(source);
        if !dir.join("metadata").is_dir() {
            bail!("{source}: not a release folder (no metadata/ inside)");
        }
        let inner = trust::client::DirTransport::new(dir);
        fetch::verify(&trusted, fetch::Logged::new(inner, log), targets, now, &bar)
    };
    let report = report.map_err(|e| {
        let what = if e.kind().is_unreachable() {
            "cannot get the release, nothing verified"
        } else {
            "the release does not verify"
        };
        anyhow::Error::new(e).context(format!("{source}: {what}"))
    })?;
    for f in &report.failures {
        let what = if f.kind.is_unreachable() {
            "UNREACHABLE"
        } else {
            "FAILED"
        };
        errln!("{what} {}: {}", f.target, f.reason);
    }
    if !report.ok() {
        let unreachable = report
            .failures
            .iter()
            .filter(|f| f.kind.is_unreachable())
            .count();
        let failed = report.failures.len() - unreachable;
        outln!(
            "release {}: {} targets verified, {failed} FAILED, {unreachable} could not be fetched",
            report.version,
            report.verified,
        );
        return Ok(if report.forged() {
            Outcome::Forged
        } else {
            Outcome::Unreachable
        });
    }
    match report.freshness {
        trust::client::Freshness::Fresh => {
            outln!(
                "release {}: authentic and fresh, {} targets verified ({} bytes of metadata fetched)",
                report.version,
                report.verified,
                report.metadata_bytes
            );
            Ok(Outcome::Done)
        }
        trust::client::Freshness::Expired { role, since } => {
            outln!(
                "release {}: authentic, not known fresh since {} ({} expired), {} targets verified ({} bytes of metadata fetched)",
                report.version,
                since.date(),
                role,
                report.verified,
                report.metadata_bytes
            );
            Ok(Outcome::NotFresh)
        }
    }
}

fn print_exported(exported: &mirror::export::Exported, out: &Path) {
    outln!(
        "exported release {} ({} targets) to {}: {} files written, {} withdrawn paths and {} files of earlier releases replaced by a notice",
        exported.version,
        exported.targets,
        out.display(),
        exported.written,
        exported.withdrawn,
        exported.replaced
    );
    if exported.blocked > 0 {
        outln!(
            "{} documents blocked here: not exported; nginx answers 451 for them with {}",
            exported.blocked,
            out.join(mirror::export::NGINX_BLOCKS).display()
        );
    }
}

/// `export`: the release in `dir` (an archive or a mirror folder) as a static tree in `out`.
pub fn export(dir: &Path, out: &Path) -> Result<Outcome> {
    let exported = mirror::push::export(dir, out)?;
    print_exported(&exported, out);
    Ok(Outcome::Done)
}

/// `mirror push`: exported to `DIR/export`, then sent to `dest` with rsync, `timestamp.json`
/// last (`mirror::push`).
pub fn push(dir: &Path, dest: &str) -> Result<Outcome> {
    let pushed = mirror::push::push(dir, dest, print_exported)?;
    outln!("pushed {} to {}", dir.display(), pushed.dest);
    Ok(Outcome::Done)
}

/// `mirror init`: says what each peer answered, then what was written.
pub fn mirror_init(dir: &Path, root: &Path, settings: mirror::init::Overrides) -> Result<Outcome> {
    let root_file = root.display().to_string();
    let answered = |peer: &str, answer: &mirror::init::Answer| match answer {
        mirror::init::Answer::Verified {
            version,
            freshness: trust::client::Freshness::Fresh,
        } => outln!("peer {peer} answers: release {version}, verified"),
        mirror::init::Answer::Verified {
            version,
            freshness: trust::client::Freshness::Expired { since, .. },
        } => outln!(
            "peer {peer} answers: release {version}, authentic, not known fresh since {}",
            since.date()
        ),
        mirror::init::Answer::Unreachable(e) => errln!("peer {peer} does not answer: {e}"),
        mirror::init::Answer::NotVerified(e) => {
            errln!("peer {peer} answers, but its release does not verify against {root_file}: {e}")
        }
    };
    let made = mirror::init::init(dir, root, settings, answered)?;
    outln!(
        "trusting root {} (SHA-256 {}): check it is the one the publisher publishes",
        root_file,
        root_fingerprint(root)?
    );
    outln!(
        "{} mirror {}: peers {}; serves on {}; syncs every {} s",
        if made.reconfigured {
            "reconfigured"
        } else {
            "created"
        },
        dir.display(),
        made.config.peers.join(", "),
        made.config.listen.join(", "),
        made.config.interval_secs
    );
    outln!("start it with: samizdat mirror run {}", dir.display());
    Ok(Outcome::Done)
}

/// `mirror run`: until SIGTERM; each sync round runs as this binary's `mirror sync --json`.
pub fn mirror_run(dir: &Path, settings: mirror::init::Overrides) -> Result<Outcome> {
    let mut config = mirror::config::Config::load(dir)?;
    settings.apply(&mut config);
    let program = std::env::current_exe().context("cannot find the samizdat executable")?;
    mirror::run::run(dir, config, Some(program))?;
    Ok(Outcome::Done)
}

pub fn mirror_serve(
    dir: &Path,
    root: Option<&Path>,
    listen: &[String],
    tls: Option<(PathBuf, PathBuf)>,
    guard: mirror::guard::Overrides,
    drain: std::time::Duration,
) -> Result<Outcome> {
    mirror::run::serve_only(dir, root, listen, tls, guard, drain)?;
    Ok(Outcome::Done)
}

pub fn mirror_collect(dir: &Path, grace: u64) -> Result<Outcome> {
    let collected = mirror::gc::collect(dir, grace, time::OffsetDateTime::now_utc())?;
    outln!(
        "collected {} old release(s) {:?}: {} files, {} bytes",
        collected.releases.len(),
        collected.releases,
        collected.files,
        collected.bytes
    );
    Ok(Outcome::Done)
}

/// `mirror sync`: one round. With `json`, the result as one line of JSON (for `mirror run`,
/// which reads it from a child) and no bar.
pub fn mirror_sync(
    dir: &Path,
    peers: Vec<String>,
    root: Option<&Path>,
    timeout: Option<u64>,
    json: bool,
) -> Result<Outcome> {
    let transports = mirror::init::prepare_sync(dir, peers, root, timeout)?;
    // A bar on a terminal (not with --json: `mirror run` reads that from a child).
    let bar = Bar::new("fetching");
    let progress: &dyn archive::ingest::Progress = if json {
        &archive::ingest::NoProgress
    } else {
        &bar
    };
    let now = time::OffsetDateTime::now_utc();
    let result = mirror::sync_with_progress(dir, transports, now, progress);
    if json {
        outln!("{}", serde_json::to_string(&result)?);
        return Ok(match result {
            Ok(_) => Outcome::Done,
            Err(e) => Outcome::SyncFailed(e.kind()),
        });
    }
    let report = result.context("sync failed; the mirror keeps its last release")?;
    for (peer, why) in &report.dropped {
        errln!("dropped peer {peer} this round: {why}");
    }
    let targets = if report.unchanged {
        "already complete here".to_owned()
    } else {
        format!("{} targets", report.targets)
    };
    outln!(
        "release {}: {targets}, {} fetched ({} bytes), {} metadata files, from {}",
        report.version,
        report.targets_fetched,
        report.bytes_fetched,
        report.metadata_files,
        report.source
    );
    Ok(Outcome::Done)
}

/// `mirror enroll`: the challenge asked, served, checked; the enrolment's outcome.
pub fn mirror_enroll(
    dir: &Path,
    directory: &str,
    enrolment: &mirror::enroll::Enrolment,
    timeout: Duration,
) -> Result<Outcome> {
    let limits = net::Limits {
        request_timeout: timeout,
        connect_timeout: timeout.min(Duration::from_secs(10)),
        gzip: false,
    };
    let enrolled = mirror::enroll::enroll(dir, directory, enrolment, &limits)
        .with_context(|| format!("enrolling {} with {directory}", enrolment.url))?;
    outln!(
        "enrolled {} with {directory} as mirror {}: {}",
        enrolled.url,
        enrolled.id,
        enrolled.state
    );
    outln!(
        "the directory lists it once an audit finds its release complete and correct (within one audit interval)"
    );
    Ok(Outcome::Done)
}

/// `block`: the entry appended to the mirror's log.
pub fn block(dir: &Path, id: &str, order: mirror::blocks::Order) -> Result<Outcome> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let entry = mirror::blocks::block(dir, id, order, now)
        .with_context(|| format!("cannot block {id} on {}", dir.display()))?;
    outln!(
        "blocked {id} on {} (entry {} of its log): a running mirror answers 451 within a second",
        dir.display(),
        entry.signed.seq
    );
    Ok(Outcome::Done)
}

/// `unblock`: the entry appended to the mirror's log.
pub fn unblock(dir: &Path, id: &str) -> Result<Outcome> {
    let now = time::OffsetDateTime::now_utc().unix_timestamp();
    let entry = mirror::blocks::unblock(dir, id, now)
        .with_context(|| format!("cannot unblock {id} on {}", dir.display()))?;
    outln!(
        "unblocked {id} on {} (entry {} of its log)",
        dir.display(),
        entry.signed.seq
    );
    Ok(Outcome::Done)
}

/// `verify-blocks`: the key, the head of the chain, the blocks in force.
pub fn verify_blocks(
    url: &str,
    key: Option<&str>,
    since: Option<&str>,
    timeout: Duration,
) -> Result<Outcome> {
    let log = mirror::blocks::verify_url(url, key, timeout)
        .with_context(|| format!("{url}: the blocks log does not verify"))?;
    if let Some(head) = since
        && !log.extends(head)
    {
        errln!(
            "{url}: the blocks log does not extend head {head} (entries dropped, or another log): its head is {}",
            log.head
        );
        return Ok(Outcome::Forged);
    }
    outln!(
        "{url}: blocks log verified: {} entries signed by key {}, head {}",
        log.entries.len(),
        log.key.to_hex(),
        log.head
    );
    for (id, order) in &log.blocked {
        outln!(
            "blocked {id}: {}, {}{}",
            order.authority,
            order.reference,
            order
                .jurisdiction
                .as_ref()
                .map(|c| format!(" ({c})"))
                .unwrap_or_default()
        );
    }
    Ok(Outcome::Done)
}

/// `directory init`: what was made, and what to hand the publisher.
pub fn directory_init(
    dir: &Path,
    archive_root: &Path,
    settings: directory::config::Overrides,
) -> Result<Outcome> {
    let root = std::fs::read(archive_root)
        .with_context(|| format!("{}: cannot read", archive_root.display()))?;
    let mut config = directory::config::Config::default();
    settings.apply(&mut config);
    let made = directory::config::init(dir, &root, &config, time::OffsetDateTime::now_utc())
        .with_context(|| format!("{}: archive root", archive_root.display()))?;
    outln!("created directory {}", dir.display());
    outln!(
        "its root, for the publisher to vouch for: {} (SHA-256 {})",
        dir.join("root.json").display(),
        trust::schema::Digest::of(&made.root_json).to_hex()
    );
    outln!(
        "admin token (for disable, enable, weight, remove): {}",
        dir.join("admin-token").display()
    );
    outln!(
        "serves on {}; audits every {} s; start it with: samizdat directory run {}",
        config.listen.join(", "),
        config.interval_secs,
        dir.display()
    );
    Ok(Outcome::Done)
}

/// `directory run`: until SIGTERM; prints `listening on URL` for each address.
pub fn directory_run(dir: &Path, settings: directory::config::Overrides) -> Result<Outcome> {
    let mut config = directory::config::Config::load(dir)?;
    settings.apply(&mut config);
    directory::run::run(dir, &config, None, |urls| {
        for url in urls {
            outln!("listening on {url}");
        }
    })?;
    Ok(Outcome::Done)
}

/// `directory audit`: one round now; each change, then the counts by state.
pub fn directory_audit(dir: &Path, samples: Option<usize>) -> Result<Outcome> {
    let mut config = directory::config::Config::load(dir)?;
    directory::config::Overrides {
        samples,
        ..Default::default()
    }
    .apply(&mut config);
    let audited = directory::run::audit_now(dir, &config)?;
    for change in &audited.round.changes {
        outln!(
            "{}: {} -> {}: {}",
            change.url,
            change.from,
            change.to,
            change.reason
        );
    }
    let counts: Vec<String> = audited
        .counts
        .iter()
        .map(|(state, count)| format!("{count} {state}"))
        .collect();
    outln!(
        "audited {} mirrors in {} ms (newest release seen: {}): {}",
        audited.round.audited,
        audited.took.as_millis(),
        audited.round.newest,
        counts.join(", ")
    );
    if let Some(version) = audited.round.published {
        outln!("mirror list {version} signed");
    }
    Ok(Outcome::Done)
}

pub fn verify_list(
    root: &Path,
    source: &str,
    directory: Option<&str>,
    state: Option<&Path>,
) -> Result<Outcome> {
    let trusted =
        std::fs::read(root).with_context(|| format!("{}: cannot read", root.display()))?;
    let now = time::OffsetDateTime::now_utc();
    let limits = net::Limits::default();
    let connect = |url: &str| net::HttpTransport::new(url, &limits);
    let remembered = |name: &str| read_remembered(state, name);
    let report = if source.starts_with("http://") || source.starts_with("https://") {
        let archive = net::HttpTransport::new(source, &limits);
        fetch::verify_lists(&trusted, archive, connect, remembered, directory, now)
    } else {
        let dir = Path::new(source);
        if !dir.join("metadata").is_dir() {
            bail!("{source}: not a release folder (no metadata/ inside)");
        }
        let archive = trust::client::DirTransport::new(dir);
        fetch::verify_lists(&trusted, archive, connect, remembered, directory, now)
    };
    let report = report.map_err(|e| {
        let what = if e.kind().is_unreachable() {
            "cannot get the mirror list, nothing verified"
        } else {
            "the mirror list does not verify"
        };
        anyhow::Error::new(e).context(format!("{source}: {what}"))
    })?;
    for list in &report.lists {
        if let Some(state) = state {
            write_remembered(state, &list.directory.name, &list.remember)?;
        }
        outln!(
            "directory {} ({}): list {} verified, {} mirrors",
            list.directory.name,
            list.directory.url,
            list.version,
            list.mirrors.len()
        );
        for mirror in &list.mirrors {
            outln!(
                "  {} {} {} {}",
                mirror.url,
                mirror.state,
                if mirror.country.is_empty() {
                    "-"
                } else {
                    &mirror.country
                },
                if mirror.provider.is_empty() {
                    "-"
                } else {
                    &mirror.provider
                },
            );
        }
    }
    for (directory, e) in &report.failed {
        let what = if e.kind().is_unreachable() {
            "cannot get the mirror list"
        } else {
            "the mirror list does not verify"
        };
        errln!(
            "directory {} ({}): {what}: {e}",
            directory.name,
            directory.url
        );
    }
    let kinds: Vec<trust::ErrorKind> = report.failed.iter().map(|(_, e)| e.kind()).collect();
    if kinds
        .iter()
        .any(|k| !k.is_unreachable() && *k != trust::ErrorKind::Expired)
    {
        return Ok(Outcome::Forged);
    }
    if kinds.contains(&trust::ErrorKind::Expired) {
        return Ok(Outcome::NotFresh);
    }
    if !kinds.is_empty() {
        return Ok(Outcome::Unreachable);
    }
    match report.archive_freshness {
        trust::client::Freshness::Fresh => Ok(Outcome::Done),
        trust::client::Freshness::Expired { role, since } => {
            errln!(
                "release {}: authentic, not known fresh since {} ({role} expired)",
                report.archive_version,
                since.date()
            );
            Ok(Outcome::NotFresh)
        }
    }
}

/// What `verify-list --state DIR` kept of the directory `name`: `DIR/<name>.timestamp.json`
/// and `DIR/<name>.snapshot.json` (verified again before use).
fn read_remembered(state: Option<&Path>, name: &str) -> fetch::Remembered {
    let read = |role: &str| {
        state.and_then(|dir| std::fs::read(dir.join(format!("{name}.{role}.json"))).ok())
    };
    fetch::Remembered {
        timestamp: read("timestamp"),
        snapshot: read("snapshot"),
    }
}

fn write_remembered(state: &Path, name: &str, kept: &fetch::Remembered) -> Result<()> {
    std::fs::create_dir_all(state)
        .with_context(|| format!("{}: cannot create", state.display()))?;
    for (role, bytes) in [("timestamp", &kept.timestamp), ("snapshot", &kept.snapshot)] {
        if let Some(bytes) = bytes {
            let path = state.join(format!("{name}.{role}.json"));
            archive::files::write_atomic(&path, bytes, archive::files::Durability::Fsync)
                .with_context(|| format!("{}: cannot write", path.display()))?;
        }
    }
    Ok(())
}

pub fn vouch(archive: &Path, root: &Path, url: &str, name: Option<&str>) -> Result<Outcome> {
    let mut archive = Archive::open(archive)?;
    for entry in archive.vouch(root, url, name)? {
        outln!(
            "vouching for directory {} ({}, root version {}) as {} from the next release",
            entry.name,
            entry.url,
            entry.root_version,
            entry.root_target
        );
    }
    Ok(Outcome::Done)
}

/// `samizdat directory coverage`: the documents under the floor, or the whole report as JSON.
pub fn directory_coverage(dir: &Path, json: bool) -> Result<Outcome> {
    let coverage = directory::coverage::report(dir)?;
    if json {
        outln!("{}", serde_json::to_string_pretty(&coverage)?);
        return Ok(Outcome::Done);
    }
    let release = coverage.release.map_or_else(
        || "no release verified yet".to_owned(),
        |r| format!("release {r}"),
    );
    outln!(
        "{release}: {} documents, {} listed mirrors serve it; {} documents under the floor of {} countries",
        coverage.documents,
        coverage.serving_mirrors,
        coverage.under_floor.len(),
        coverage.floor_countries
    );
    for document in &coverage.under_floor {
        outln!(
            "{}\t{} mirrors\t{} countries\t{} providers",
            document.id,
            document.mirrors,
            document.countries,
            document.providers
        );
    }
    Ok(Outcome::Done)
}

/// `man DIR`: the manual pages of `cli` (the top page and one per visible subcommand), from
/// the same clap definition that parses the command line, so they never drift from it.
pub fn man(cli: clap::Command, dir: &Path) -> Result<Outcome> {
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    clap_mangen::generate_to(cli, dir)
        .with_context(|| format!("{}: cannot write the manual pages", dir.display()))?;
    outln!("manual pages written to {}", dir.display());
    Ok(Outcome::Done)
}

/// `completions SHELL`: the shell's completion script for `cli`, on stdout.
pub fn completions(mut cli: clap::Command, shell: clap_complete::Shell) -> Outcome {
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut cli, "samizdat", &mut script);
    outln!("{}", String::from_utf8_lossy(&script).trim_end());
    Outcome::Done
}
