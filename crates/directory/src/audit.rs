//! One audit of one mirror: is it alive, fresh and honest?
//!
//! The mirror's metadata is verified with our TUF client from the archive's root (so a mirror
//! cannot pass with metadata nobody signed, an old release, or expired files), then a few targets
//! chosen at random are downloaded whole and hashed against that signed metadata (so a mirror
//! cannot pass by answering the right sizes, or the files an auditor usually asks for). Every
//! request is capped in time and bytes by the transport (`net`), and the whole audit's duration is
//! its latency.
//!
//! Where the samples come from: when the snapshot verified for the mirror is, byte for byte, the
//! one of the release the directory holds (`holdings`, loaded once per release from the
//! archive's signed metadata), they are drawn from the holdings with their signed lengths and
//! hashes: one metadata walk per release, not one per audit. Any other release (newer, older, or
//! a fork signed by the archive's keys) is sampled from the mirror's own verified bins.
//!
//! A mirror's legal blocks (`mirror::blocks`: it answers 451 for a document a court made it
//! withhold) are read from its signed log first: a blocked document is not sampled, and what
//! the log says is kept for coverage. A log that does not verify is a lie; no log, no blocks.
//! The log is append-only: once one verified, the next must be signed by the same key and
//! extend the head seen (`store::BlocksSeen`), else the mirror rewrote its public record of
//! what it withheld, and that is a lie too (so is serving no log after serving one).
//!
//! The verdict separates what says nothing about honesty (unreachable: refused, timed out, an
//! HTTP error) from what does (a file that does not verify, or one its own signed release lists
//! and it does not serve).

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use rand_core::RngCore;
use time::OffsetDateTime;
use trust::TargetName;
use trust::client::{Client, Freshness, Options, Transport};

use crate::holdings::Held;
use crate::machine::Verdict;
use crate::store::{BlocksSeen, Measured};

/// How an audit judges.
#[derive(Clone, Debug)]
pub struct AuditConfig {
    /// Targets downloaded and hashed per audit.
    pub samples: usize,
    /// Releases a mirror may be behind the newest one seen before it counts as stale.
    pub max_lag: u64,
    /// An audit slower than this (metadata and samples together) counts as slow.
    pub slow: Duration,
}

impl Default for AuditConfig {
    fn default() -> Self {
        AuditConfig {
            samples: 3,
            max_lag: 0,
            slow: Duration::from_secs(10),
        }
    }
}

/// What an audit saw, before it is judged against the newest release seen in the same round
/// (a mirror audited first cannot know that one audited later serves a newer release).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Observation {
    /// Metadata verified from the archive root and every sample's hash right.
    Verified {
        /// The release served (its snapshot version: authentic, since it verified).
        release: u64,
        /// When the earliest-expiring role expired, if one did (role, time).
        expired: Option<(String, OffsetDateTime)>,
        took: Duration,
        /// Targets downloaded and hashed.
        sampled: usize,
        /// The documents its signed blocks log says it withholds.
        blocked: BTreeSet<String>,
        /// Its blocks log's key and head, when it serves one.
        blocks_log: Option<BlocksSeen>,
        /// The archive's root the client ended on, when it is not the one the audit started
        /// from: the publisher rotated its root keys, and the chain to the new root verified
        /// (TUF 5.3.8: the directory keeps the newest, see `round`).
        newer_root: Option<Vec<u8>>,
    },
    /// The audit stopped at a failure, already judged: unreachable or lying.
    Failed(Verdict),
}

impl Observation {
    /// The release served, when it verified.
    pub fn release(&self) -> Option<u64> {
        match self {
            Observation::Verified { release, .. } => Some(*release),
            Observation::Failed(_) => None,
        }
    }

    /// The documents the mirror blocks, when its release verified.
    pub fn blocked(&self) -> Option<&BTreeSet<String>> {
        match self {
            Observation::Verified { blocked, .. } => Some(blocked),
            Observation::Failed(_) => None,
        }
    }

    /// The verdict, where `newest` is the newest release verified anywhere.
    pub fn verdict(&self, newest: u64, config: &AuditConfig) -> Verdict {
        let (release, expired, took) = match self {
            Observation::Verified {
                release,
                expired,
                took,
                ..
            } => (release, expired, took),
            Observation::Failed(verdict) => return verdict.clone(),
        };
        if let Some((role, since)) = expired {
            return Verdict::Stale(format!("its {role} metadata expired at {since}"));
        }
        let lag = newest.saturating_sub(*release);
        if lag > config.max_lag {
            return Verdict::Stale(format!(
                "serves release {release}, {lag} behind release {newest}"
            ));
        }
        if *took > config.slow {
            return Verdict::Slow(format!(
                "the audit took {} ms (limit {} ms)",
                took.as_millis(),
                config.slow.as_millis()
            ));
        }
        Verdict::Healthy
    }

    /// The newer archive root the audit verified, if any.
    pub fn newer_root(&self) -> Option<&[u8]> {
        match self {
            Observation::Verified { newer_root, .. } => newer_root.as_deref(),
            Observation::Failed(_) => None,
        }
    }

    /// Targets downloaded and hashed (none when the audit failed).
    pub fn sampled(&self) -> usize {
        match self {
            Observation::Verified { sampled, .. } => *sampled,
            Observation::Failed(_) => 0,
        }
    }

    /// What is stored with the verdict.
    pub fn measured(&self) -> Measured {
        match self {
            Observation::Verified {
                release,
                took,
                blocks_log,
                ..
            } => Measured {
                release: Some(*release),
                latency_ms: Some(u64::try_from(took.as_millis()).unwrap_or(u64::MAX)),
                blocks_log: blocks_log.clone(),
            },
            Observation::Failed(_) => Measured::default(),
        }
    }
}

/// Audits the release `transport` serves against `archive_root` (the archive's `root.json`
/// bytes) at time `now`; samples are drawn from `held` when the mirror serves that release;
/// `known` is the mirror's blocks log as last verified.
pub fn observe<T: Transport>(
    transport: T,
    archive_root: &[u8],
    held: Option<&Held>,
    known: Option<&BlocksSeen>,
    config: &AuditConfig,
    now: OffsetDateTime,
    rng: &mut dyn RngCore,
) -> Observation {
    let started = Instant::now();
    let (blocked, blocks_log) = match read_blocks(&transport, known) {
        Ok(blocked) => blocked,
        Err(verdict) => return Observation::Failed(verdict),
    };
    let mut options = Options::new(now);
    // Expired metadata is authentic but stale: recorded, judged by the caller, not a forgery.
    options.allow_expired = true;
    let mut client = match Client::load(archive_root, transport, options) {
        Ok(client) => client,
        // A mirror with no release yet (still syncing its first, or a web root not pushed to)
        // answers "not found": absent, like one that does not answer, not a forgery.
        Err(error) if error.kind() == trust::ErrorKind::NotFound => {
            return Observation::Failed(Verdict::Unreachable(format!(
                "serves no complete release: {}",
                error.message()
            )));
        }
        Err(error) => return Observation::Failed(judge_error("metadata", &error)),
    };
    let drawn = held
        .filter(|held| client.snapshot_digest().0 == held.release.snapshot)
        .and_then(|held| draw_held(held, config.samples, &blocked, rng));
    let sampled = match drawn {
        Some(targets) => sample_held(&client, &targets),
        None => sample_own(&mut client, config.samples, &blocked, rng),
    };
    let sampled = match sampled {
        Ok(sampled) => sampled,
        Err(verdict) => return Observation::Failed(verdict),
    };
    let expired = match client.freshness() {
        Freshness::Fresh => None,
        Freshness::Expired { role, since } => Some((role.clone(), *since)),
    };
    let newer_root =
        (client.trusted_root_json() != archive_root).then(|| client.trusted_root_json().to_vec());
    Observation::Verified {
        release: client.version(),
        expired,
        took: started.elapsed(),
        sampled,
        blocked,
        blocks_log,
        newer_root,
    }
}

/// Where a mirror publishes its legal blocks.
const BLOCKS_FILE: &str = ".well-known/samizdat/blocks.json";

/// The documents the mirror behind `transport` blocks, from its signed log, and the log's key
/// and head: none when it serves no log (a plain web root, an older mirror: then the metadata
/// says more). A log that does not verify is a lie about itself; so is, when `known` (the log
/// last verified) is given, a log signed by another key, one that does not extend the head
/// seen (entries dropped or rewritten), or no log at all.
fn read_blocks<T: Transport>(
    transport: &T,
    known: Option<&BlocksSeen>,
) -> Result<(BTreeSet<String>, Option<BlocksSeen>), Verdict> {
    let source = format!("{} {BLOCKS_FILE}", transport.describe());
    let bytes = match (transport.fetch(BLOCKS_FILE, mirror::blocks::LOG_MAX), known) {
        (Ok(bytes), _) => bytes,
        (Err(_), None) => return Ok((BTreeSet::new(), None)),
        (Err(trust::client::FetchError::NotFound), Some(known)) => {
            return Err(Verdict::Lying(format!(
                "blocks log: {source} is gone, though it served one signed by key {}",
                known.key
            )));
        }
        (Err(trust::client::FetchError::TooLarge { limit }), Some(_)) => {
            return Err(Verdict::Lying(format!(
                "blocks log: {source} is over {limit} bytes"
            )));
        }
        (Err(trust::client::FetchError::Other(why)), Some(_)) => {
            return Err(Verdict::Unreachable(format!("blocks log: {source}: {why}")));
        }
    };
    let lie = |why: String| Verdict::Lying(format!("blocks log: {why}"));
    let log = mirror::blocks::verify(&source, &bytes, known.map(|known| known.key.as_str()))
        .map_err(|error| lie(error.message().to_owned()))?;
    if let Some(known) = known
        && !log.extends(&known.head)
    {
        return Err(lie(format!(
            "{source} does not extend the log seen before (head {}): entries dropped or rewritten",
            known.head
        )));
    }
    let seen = BlocksSeen {
        key: log.key.to_hex(),
        head: log.head.clone(),
    };
    Ok((log.blocked.into_keys().collect(), Some(seen)))
}

/// Whether target `name` belongs to a document in `blocked`.
fn is_blocked(name: &str, blocked: &BTreeSet<String>) -> bool {
    common::layout::doc_of_target(name).is_some_and(|id| blocked.contains(id))
}

/// Draws (bounded) from `draw` until `count` distinct targets are kept, none of a document in
/// `blocked`: at most 8 draws.
fn draw_unblocked<T>(
    count: usize,
    blocked: &BTreeSet<String>,
    name: impl Fn(&T) -> &str,
    mut draw: impl FnMut() -> Option<Vec<T>>,
) -> Option<Vec<T>> {
    let mut kept: Vec<T> = Vec::with_capacity(count);
    for _ in 0..8 {
        if kept.len() >= count {
            break;
        }
        for item in draw()? {
            let known = kept.iter().any(|other| name(other) == name(&item));
            if kept.len() < count && !known && !is_blocked(name(&item), blocked) {
                kept.push(item);
            }
        }
        if blocked.is_empty() {
            break;
        }
    }
    Some(kept)
}

/// `count` targets of the release held, drawn at random, none of a document in `blocked`, with
/// their signed lengths and hashes; `None` when the holdings cannot be read (the directory's
/// trouble, not the mirror's: it is then sampled from its own metadata).
fn draw_held(
    held: &Held,
    count: usize,
    blocked: &BTreeSet<String>,
    rng: &mut dyn RngCore,
) -> Option<Vec<(TargetName, u64, [u8; 32])>> {
    let targets = draw_unblocked(
        count,
        blocked,
        |target: &crate::holdings::Target| target.name.as_str(),
        || held.draw(count, rng).ok(),
    )?;
    targets
        .into_iter()
        .map(|target| {
            let name = TargetName::new(&target.name).ok()?;
            Some((name, target.length, target.sha256))
        })
        .collect()
}

/// Downloads each of `targets` (name, signed length and SHA-256) and checks it.
fn sample_held<T: Transport>(
    client: &Client<T>,
    targets: &[(TargetName, u64, [u8; 32])],
) -> Result<usize, Verdict> {
    for (name, length, sha256) in targets {
        client
            .fetch_attested(name, *length, *sha256)
            .map_err(|error| judge_error(&format!("target {name}"), &error))?;
    }
    Ok(targets.len())
}

/// Downloads `count` targets of the mirror's own verified metadata drawn at random (without
/// repeats), none of a document in `blocked`, and checks each: for a release the directory does
/// not hold. Loads the bins on the draws' paths only (`Client::draw_targets`), never every
/// bin: the memory and requests of an audit stay those of a few files whatever the release's
/// size and whoever serves it.
fn sample_own<T: Transport>(
    client: &mut Client<T>,
    count: usize,
    blocked: &BTreeSet<String>,
    rng: &mut dyn RngCore,
) -> Result<usize, Verdict> {
    if count == 0 {
        return Ok(0);
    }
    let mut failure = None;
    let targets = draw_unblocked(
        count,
        blocked,
        |(name, _): &(TargetName, trust::schema::TargetInfo)| name.as_str(),
        || match client.draw_targets(count, rng) {
            Ok(drawn) => Some(drawn),
            Err(error) => {
                failure = Some(judge_error("targets metadata", &error));
                None
            }
        },
    );
    if let Some(verdict) = failure {
        return Err(verdict);
    }
    let targets = targets.unwrap_or_default();
    for (name, info) in &targets {
        client
            .fetch_attested(name, info.length, info.hashes.sha256.0)
            .map_err(|error| judge_error(&format!("target {name}"), &error))?;
    }
    Ok(targets.len())
}

/// Up to `count` distinct indices below `len`, at random.
pub(crate) fn pick(len: usize, count: usize, rng: &mut dyn RngCore) -> Vec<usize> {
    let mut chosen: Vec<usize> = Vec::with_capacity(count.min(len));
    while chosen.len() < count.min(len) {
        let len_u64 = u64::try_from(len).unwrap_or(u64::MAX);
        let index = usize::try_from(rng.next_u64() % len_u64).unwrap_or(0);
        if !chosen.contains(&index) {
            chosen.push(index);
        }
    }
    chosen
}

/// What a failure while fetching `what` says about the mirror.
fn judge_error(what: &str, error: &trust::Error) -> Verdict {
    let why = format!("{what}: {}", error.message());
    match error.kind() {
        kind if kind.is_unreachable() => Verdict::Unreachable(why),
        // Checked and found wrong, or missing although its own signed release lists it.
        _ => Verdict::Lying(why),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::OsRng;
    use std::path::{Path, PathBuf};
    use time::Duration as Span;

    /// A judged observation.
    #[derive(Debug)]
    struct Audit {
        verdict: Verdict,
        measured: Measured,
    }
    use trust::client::{DirTransport, FetchError};

    use crate::testing::Repo;

    impl Repo {
        fn target_files(&self) -> Vec<PathBuf> {
            std::fs::read_dir(self.path().join("targets"))
                .expect("targets")
                .map(|entry| entry.expect("entry").path())
                .collect()
        }

        fn audit(&self, newest: u64) -> Audit {
            self.audit_through(DirTransport::new(self.path()), newest)
        }

        fn audit_through<T: Transport>(&self, transport: T, newest: u64) -> Audit {
            self.audit_held(transport, None, 100, newest).0
        }

        /// An audit taking `samples` samples, drawn from `held` when the mirror serves it;
        /// also how many targets it hashed.
        fn audit_held<T: Transport>(
            &self,
            transport: T,
            held: Option<&Held>,
            samples: usize,
            newest: u64,
        ) -> (Audit, usize) {
            let config = AuditConfig {
                samples,
                ..AuditConfig::default()
            };
            let seen = observe(
                transport,
                &self.root_json,
                held,
                None,
                &config,
                self.now,
                &mut OsRng,
            );
            let audit = Audit {
                verdict: seen.verdict(newest, &config),
                measured: seen.measured(),
            };
            (audit, seen.sampled())
        }

        /// The directory's holdings of the release this repository serves now, loaded the
        /// way a round loads them.
        fn hold(&self, directory: &Path, version: u64) -> Held {
            let source = self.path().display().to_string();
            let loaded = crate::holdings::refresh(
                directory,
                &self.root_json,
                version,
                &[source.as_str()],
                &|url: &str| DirTransport::new(url),
                self.now,
            )
            .expect("refresh");
            assert_eq!(loaded, Some(version));
            Held::open(directory).expect("open").expect("held")
        }
    }

    /// A release folder that records every path asked of it.
    struct Recording {
        inner: DirTransport,
        asked: std::sync::Mutex<Vec<String>>,
    }

    impl Transport for Recording {
        fn fetch(&self, path: &str, max_len: u64) -> Result<Vec<u8>, FetchError> {
            if let Ok(mut asked) = self.asked.lock() {
                asked.push(path.to_owned());
            }
            self.inner.fetch(path, max_len)
        }
        fn describe(&self) -> String {
            self.inner.describe()
        }
    }

    impl Recording {
        fn new(path: &Path) -> Recording {
            Recording {
                inner: DirTransport::new(path),
                asked: std::sync::Mutex::new(Vec::new()),
            }
        }

        /// The delegated roles' files asked for (bins): none but the top-level ones.
        fn bins_asked(&self) -> Vec<String> {
            let top = [
                "root.json",
                "timestamp.json",
                "snapshot.json",
                ".targets.json",
            ];
            self.asked
                .lock()
                .expect("asked")
                .iter()
                .filter(|path| path.starts_with("metadata/"))
                .filter(|path| !top.iter().any(|role| path.ends_with(role)))
                .cloned()
                .collect()
        }
    }

    #[test]
    fn a_mirror_on_the_release_held_is_sampled_from_the_holdings_without_its_bins() {
        let repo = Repo::new();
        let version = repo.release(40, Span::days(1));
        let directory = tempfile::tempdir().expect("tempdir");
        let held = repo.hold(directory.path(), version);
        assert_eq!(held.release.targets, 40);
        let mirror = Recording::new(repo.path());
        let (audit, sampled) = repo.audit_held(&mirror, Some(&held), 3, version);
        assert_eq!(audit.verdict, Verdict::Healthy);
        assert_eq!(sampled, 3);
        assert_eq!(mirror.bins_asked(), Vec::<String>::new());
        let targets_asked = mirror
            .asked
            .lock()
            .expect("asked")
            .iter()
            .filter(|path| path.starts_with("targets/"))
            .count();
        assert_eq!(targets_asked, 3);
        // Without holdings, the same audit walks the mirror's own bins.
        let own = Recording::new(repo.path());
        let (audit, sampled) = repo.audit_held(&own, None, 3, version);
        assert_eq!((audit.verdict, sampled), (Verdict::Healthy, 3));
        assert!(!own.bins_asked().is_empty(), "no bin asked");
    }

    #[test]
    fn a_tampered_target_is_caught_when_sampled_from_the_holdings() {
        let repo = Repo::new();
        let version = repo.release(5, Span::days(1));
        let directory = tempfile::tempdir().expect("tempdir");
        let held = repo.hold(directory.path(), version);
        let victim = repo.target_files().into_iter().next().expect("a target");
        let mut bytes = std::fs::read(&victim).expect("read");
        bytes[0] ^= 1;
        std::fs::write(&victim, &bytes).expect("tamper");
        // Every target drawn: the tampered one among them.
        let mirror = Recording::new(repo.path());
        match repo.audit_held(&mirror, Some(&held), 5, version).0.verdict {
            Verdict::Lying(why) => assert!(why.contains("target doc-"), "{why}"),
            other => panic!("a tampered target passed as {other:?}"),
        }
        assert_eq!(mirror.bins_asked(), Vec::<String>::new());
    }

    #[test]
    fn a_mirror_on_a_release_not_held_is_audited_from_its_own_metadata() {
        let repo = Repo::new();
        let first = repo.release(5, Span::days(1));
        let directory = tempfile::tempdir().expect("tempdir");
        let held = repo.hold(directory.path(), first);
        // The mirror moves on to a release the directory does not hold yet (its files written
        // again, two more): its snapshot is not the one held.
        let second = {
            for path in repo.target_files() {
                std::fs::remove_file(path).expect("remove");
            }
            repo.release(7, Span::days(1))
        };
        assert!(second > first);
        let honest = Recording::new(repo.path());
        let (audit, sampled) = repo.audit_held(&honest, Some(&held), 3, second);
        assert_eq!((audit.verdict, sampled), (Verdict::Healthy, 3));
        assert_eq!(audit.measured.release, Some(second));
        assert!(
            !honest.bins_asked().is_empty(),
            "its own bins were not read"
        );
        // And it is still caught lying (every file tampered: whichever is drawn).
        for victim in repo.target_files() {
            let mut bytes = std::fs::read(&victim).expect("read");
            bytes[0] ^= 1;
            std::fs::write(&victim, &bytes).expect("tamper");
        }
        let tampered = Recording::new(repo.path());
        match repo.audit_held(&tampered, Some(&held), 7, second).0.verdict {
            Verdict::Lying(why) => assert!(why.contains("target doc-"), "{why}"),
            other => panic!("a tampered target passed as {other:?}"),
        }
    }

    #[test]
    fn an_honest_current_mirror_passes_and_its_release_is_measured() {
        let repo = Repo::new();
        let version = repo.release(5, Span::days(1));
        let audit = repo.audit(version);
        assert_eq!(audit.verdict, Verdict::Healthy);
        assert_eq!(audit.measured.release, Some(version));
        assert!(audit.measured.latency_ms.is_some());
    }

    /// A mirror that blocks a document (451 for its files: here, not there at all) is healthy:
    /// its signed log says so, the document is not sampled, and the block is observed. A log
    /// changed after it was signed is a lie.
    #[test]
    fn a_blocked_document_is_not_sampled_and_a_forged_blocks_log_is_lying() {
        let repo = Repo::new();
        let version = repo.release(5, Span::days(1));
        for path in repo.target_files() {
            if path.to_string_lossy().ends_with(".doc-1.txt") {
                std::fs::remove_file(path).expect("remove");
            }
        }
        assert!(matches!(repo.audit(version).verdict, Verdict::Lying(_)));
        let state = tempfile::tempdir().expect("tempdir");
        std::fs::write(state.path().join("root.json"), "{}").expect("root");
        let order = mirror::blocks::Order {
            authority: "a court".into(),
            reference: "1/26".into(),
            url: None,
            jurisdiction: None,
        };
        mirror::blocks::block(state.path(), "doc-1", order, 1).expect("block");
        let log = std::fs::read(state.path().join(mirror::blocks::LOG_FILE)).expect("log");
        let served = repo.path().join(BLOCKS_FILE);
        std::fs::create_dir_all(served.parent().expect("folder")).expect("mkdir");
        std::fs::write(&served, &log).expect("write");
        let config = AuditConfig {
            samples: 100,
            ..AuditConfig::default()
        };
        let seen = observe(
            DirTransport::new(repo.path()),
            &repo.root_json,
            None,
            None,
            &config,
            repo.now,
            &mut OsRng,
        );
        assert_eq!(seen.verdict(version, &config), Verdict::Healthy);
        let blocked: Vec<&String> = seen.blocked().expect("verified").iter().collect();
        assert_eq!(blocked, ["doc-1"]);
        // Drawn from the holdings, every other target and never the blocked one.
        let directory = tempfile::tempdir().expect("tempdir");
        let held = repo.hold(directory.path(), version);
        let (audit, sampled) =
            repo.audit_held(DirTransport::new(repo.path()), Some(&held), 100, version);
        assert_eq!((audit.verdict, sampled), (Verdict::Healthy, 4));
        let forged = String::from_utf8(log)
            .expect("text")
            .replace("1/26", "2/26");
        std::fs::write(&served, forged).expect("write");
        match repo.audit(version).verdict {
            Verdict::Lying(why) => assert!(why.contains("blocks log"), "{why}"),
            other => panic!("a forged blocks log passed as {other:?}"),
        }
    }

    /// The blocks log is append-only: after one verified, a log signed by another key, one
    /// that dropped its newest entry, or no log at all is a lie; a log that grew is fine.
    #[test]
    fn a_blocks_log_rewritten_or_gone_after_an_audit_saw_it_is_lying() {
        let repo = Repo::new();
        let version = repo.release(5, Span::days(1));
        let served = repo.path().join(BLOCKS_FILE);
        std::fs::create_dir_all(served.parent().expect("folder")).expect("mkdir");
        let order = || mirror::blocks::Order {
            authority: "a court".into(),
            reference: "1/26".into(),
            url: None,
            jurisdiction: None,
        };
        let state = tempfile::tempdir().expect("tempdir");
        std::fs::write(state.path().join("root.json"), "{}").expect("root");
        let log_of =
            |state: &Path| std::fs::read(state.join(mirror::blocks::LOG_FILE)).expect("log");
        let config = AuditConfig::default();
        let observe_with = |known: Option<&BlocksSeen>| {
            let seen = observe(
                DirTransport::new(repo.path()),
                &repo.root_json,
                None,
                known,
                &config,
                repo.now,
                &mut OsRng,
            );
            (seen.verdict(version, &config), seen.measured().blocks_log)
        };
        mirror::blocks::block(state.path(), "doc-1", order(), 1).expect("block");
        let one = log_of(state.path());
        std::fs::write(&served, &one).expect("write");
        let (verdict, first) = observe_with(None);
        assert_eq!(verdict, Verdict::Healthy);
        let first = first.expect("the log seen");
        mirror::blocks::unblock(state.path(), "doc-1", 2).expect("unblock");
        std::fs::write(&served, log_of(state.path())).expect("write");
        let (verdict, second) = observe_with(Some(&first));
        assert_eq!(verdict, Verdict::Healthy, "a log that grew");
        let second = second.expect("the log seen");
        assert_eq!(second.key, first.key);
        assert_ne!(second.head, first.head);
        let lying = |known: &BlocksSeen, says: &str| match observe_with(Some(known)).0 {
            Verdict::Lying(why) => assert!(why.contains(says), "{why}"),
            other => panic!("passed as {other:?}, not a lie: {says}"),
        };
        // The unblock's entry dropped: back to the log with the block alone.
        std::fs::write(&served, &one).expect("write");
        lying(&second, "does not extend");
        // Another key: a new log made from scratch, with the same one block.
        let other = tempfile::tempdir().expect("tempdir");
        std::fs::write(other.path().join("root.json"), "{}").expect("root");
        mirror::blocks::block(other.path(), "doc-1", order(), 1).expect("block");
        std::fs::write(&served, log_of(other.path())).expect("write");
        lying(&first, "not the expected");
        std::fs::remove_file(&served).expect("remove");
        lying(&first, "is gone");
        assert_eq!(
            observe_with(None).0,
            Verdict::Healthy,
            "no log ever seen, none served"
        );
    }

    #[test]
    fn a_tampered_target_of_the_right_size_is_lying() {
        let repo = Repo::new();
        let version = repo.release(5, Span::days(1));
        let victim = repo.target_files().into_iter().next().expect("a target");
        let mut bytes = std::fs::read(&victim).expect("read");
        bytes[0] ^= 1;
        std::fs::write(&victim, &bytes).expect("tamper");
        match repo.audit(version).verdict {
            Verdict::Lying(why) => assert!(why.contains("target doc-"), "{why}"),
            other => panic!("a tampered target passed as {other:?}"),
        }
    }

    #[test]
    fn a_missing_target_that_its_release_lists_is_lying() {
        let repo = Repo::new();
        let version = repo.release(3, Span::days(1));
        for path in repo.target_files() {
            std::fs::remove_file(path).expect("remove");
        }
        assert!(matches!(repo.audit(version).verdict, Verdict::Lying(_)));
    }

    #[test]
    fn a_mirror_behind_the_newest_release_is_stale_and_says_by_how_much() {
        let repo = Repo::new();
        let version = repo.release(2, Span::days(1));
        match repo.audit(version + 2).verdict {
            Verdict::Stale(why) => assert!(why.contains("2 behind"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn expired_metadata_is_stale_not_lying() {
        let repo = Repo::new();
        let version = repo.release(2, -Span::hours(1));
        match repo.audit(version).verdict {
            Verdict::Stale(why) => assert!(why.contains("timestamp"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn metadata_signed_by_another_archive_is_lying() {
        let repo = Repo::new();
        let other = Repo::new();
        let version = other.release(2, Span::days(1));
        let audit = repo.audit_through(DirTransport::new(other.path()), version);
        assert!(matches!(audit.verdict, Verdict::Lying(_)), "{audit:?}");
        assert_eq!(audit.measured.release, None);
    }

    /// A transport that cannot connect.
    struct Down;

    impl Transport for Down {
        fn fetch(&self, _path: &str, _max_len: u64) -> Result<Vec<u8>, FetchError> {
            Err(FetchError::Other("connection refused".to_owned()))
        }
        fn describe(&self) -> String {
            "http://127.0.0.9/".to_owned()
        }
    }

    #[test]
    fn a_mirror_that_cannot_be_reached_is_unreachable_not_lying() {
        let repo = Repo::new();
        repo.release(1, Span::days(1));
        match repo.audit_through(Down, 1).verdict {
            Verdict::Unreachable(why) => assert!(why.contains("connection refused"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_mirror_with_no_release_yet_is_unreachable_not_lying() {
        let repo = Repo::new();
        let empty = tempfile::tempdir().expect("tempdir");
        match repo
            .audit_through(DirTransport::new(empty.path()), 1)
            .verdict
        {
            Verdict::Unreachable(why) => assert!(why.contains("no complete release"), "{why}"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn picks_are_distinct_and_bounded_by_the_population() {
        assert_eq!(pick(0, 3, &mut OsRng), Vec::<usize>::new());
        let mut two = pick(2, 5, &mut OsRng);
        two.sort_unstable();
        assert_eq!(two, [0, 1]);
        let many = pick(1000, 10, &mut OsRng);
        assert_eq!(many.len(), 10);
        assert!(many.iter().all(|&index| index < 1000));
    }
}
