//! One audit round: every enrolled mirror audited at once (a bounded number at a time), each
//! judged against the newest release seen verified anywhere, each outcome recorded, and the
//! signed list re-published when it changed or is a day old.

use std::path::Path;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use rand_core::OsRng;
use time::{Duration, OffsetDateTime};
use trust::client::Transport;

use crate::audit::{AuditConfig, Observation, observe};
use crate::error::{Error, ErrorKind, Result};
use crate::holdings::Held;
use crate::list::{self, MirrorList};
use crate::machine::{Policy, State, next};
use crate::store::Store;

/// How a round runs.
#[derive(Clone, Debug)]
pub struct RoundConfig {
    pub audit: AuditConfig,
    pub policy: Policy,
    /// Audits in flight at once.
    pub concurrency: usize,
}

impl Default for RoundConfig {
    fn default() -> Self {
        RoundConfig {
            audit: AuditConfig::default(),
            policy: Policy::default(),
            concurrency: 32,
        }
    }
}

/// One change of a mirror's state in a round.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub url: String,
    pub from: State,
    pub to: State,
    pub reason: String,
}

/// What a round did.
#[derive(Clone, Debug, Default)]
pub struct Round {
    pub audited: usize,
    pub changes: Vec<Change>,
    /// The newest release verified anywhere, this round or before.
    pub newest: u64,
    /// The list's release, when it was re-published.
    pub published: Option<u64>,
    /// The archive release whose targets were loaded this round (`holdings`), when a new one.
    pub targets_loaded: Option<u64>,
    /// Why the newest release's targets could not be loaded, when they could not.
    pub targets_error: Option<String>,
    /// The archive root this round moved to (its version and bytes), when an audit verified a
    /// newer one: already kept in `DIR/archive-root.json`, for the next rounds.
    pub new_root: Option<(u64, Vec<u8>)>,
}

/// Audits every mirror in `store` through `connect(url)` against `archive_root`, records the
/// outcomes and re-publishes the list in `dir` when needed.
pub fn run<T: Transport>(
    dir: &Path,
    store: &mut Store,
    archive_root: &[u8],
    config: &RoundConfig,
    connect: &(dyn Fn(&str) -> T + Sync),
    now: OffsetDateTime,
) -> Result<Round> {
    let mirrors = store.mirrors()?;
    // Unreadable holdings: every mirror is sampled from its own metadata this round.
    let held = crate::holdings::Held::open(dir).ok().flatten();
    let observations = observe_all(&mirrors, archive_root, held.as_ref(), config, connect, now);
    let new_root = keep_newest_root(dir, archive_root, &observations)?;
    let archive_root = new_root
        .as_ref()
        .map_or(archive_root, |(_, json)| json.as_slice());
    let newest = observations
        .iter()
        .filter_map(Observation::release)
        .chain(mirrors.iter().filter_map(|mirror| mirror.release))
        .max()
        .unwrap_or(0);
    let mut changes = Vec::new();
    let mut transitions = Vec::with_capacity(mirrors.len());
    for (mirror, observation) in mirrors.iter().zip(&observations) {
        let verdict = observation.verdict(newest, &config.audit);
        crate::metrics::global().audited(&verdict, observation.sampled());
        let transition = next(&mirror.standing(), &verdict, &config.policy);
        if let Some(reason) = &transition.change {
            changes.push(Change {
                url: mirror.url.clone(),
                from: mirror.state,
                to: transition.standing.state,
                reason: reason.clone(),
            });
        }
        transitions.push(transition);
    }
    let outcomes: Vec<_> = mirrors
        .iter()
        .zip(&transitions)
        .zip(&observations)
        .map(|((mirror, transition), seen)| (mirror.id, transition, seen.measured()))
        .collect();
    store.record_audits(&outcomes, now.unix_timestamp())?;
    // What each blocks, as its log said now (kept as it was when the audit failed).
    let withheld: Vec<(i64, &std::collections::BTreeSet<String>)> = mirrors
        .iter()
        .zip(&observations)
        .filter_map(|(mirror, seen)| seen.blocked().map(|blocked| (mirror.id, blocked)))
        .collect();
    crate::holdings::Holdings::open(dir)?.set_withheld_all(&withheld)?;
    // What the archive holds, once per new release, from a mirror that served it verified.
    let sources: Vec<&str> = mirrors
        .iter()
        .zip(&observations)
        .filter(|(_, seen)| seen.release() == Some(newest))
        .map(|(mirror, _)| mirror.url.as_str())
        .collect();
    let (targets_loaded, targets_error) =
        match crate::holdings::refresh(dir, archive_root, newest, &sources, connect, now) {
            Ok(loaded) => (loaded, None),
            Err(error) => (None, Some(error.to_string())),
        };
    let published = publish_if_due(dir, &MirrorList::of(&store.mirrors()?), now)?;
    if published.is_some() {
        crate::metrics::global().published();
    }
    Ok(Round {
        audited: mirrors.len(),
        changes,
        newest,
        published,
        targets_loaded,
        targets_error,
        new_root,
    })
}

/// The version a root file says it is (0 when unreadable: never newer than a verified one).
fn root_version(json: &[u8]) -> u64 {
    serde_json::from_slice::<serde_json::Value>(json)
        .ok()
        .and_then(|root| root["signed"]["version"].as_u64())
        .unwrap_or(0)
}

/// The newest archive root any audit verified, when newer than `archive_root`, written to
/// `DIR/archive-root.json` (atomically, durably) before anything relies on it (TUF 5.3.8): after
/// the publisher rotates its root keys, a mirror that serves only the old chain can no longer
/// pass with metadata signed by the old keys. Each candidate was reached from the trusted root
/// through signatures, so any mirror's chain is as good as another's; the highest wins.
fn keep_newest_root(
    dir: &Path,
    archive_root: &[u8],
    observations: &[Observation],
) -> Result<Option<(u64, Vec<u8>)>> {
    let current = root_version(archive_root);
    let Some((version, json)) = observations
        .iter()
        .filter_map(Observation::newer_root)
        .map(|json| (root_version(json), json))
        .filter(|(version, _)| *version > current)
        .max_by_key(|(version, _)| *version)
    else {
        return Ok(None);
    };
    let path = dir.join("archive-root.json");
    common::files::write_atomic(&path, json, common::files::Durability::Fsync)
        .map_err(|e| Error::new(ErrorKind::State, e.to_string()))?;
    Ok(Some((version, json.to_vec())))
}

/// Observations of `mirrors`, in order, `config.concurrency` at a time.
fn observe_all<T: Transport>(
    mirrors: &[crate::store::Mirror],
    archive_root: &[u8],
    held: Option<&Held>,
    config: &RoundConfig,
    connect: &(dyn Fn(&str) -> T + Sync),
    now: OffsetDateTime,
) -> Vec<Observation> {
    let next_index = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<Observation>>> = Mutex::new(vec![None; mirrors.len()]);
    let workers = config.concurrency.clamp(1, mirrors.len().max(1));
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let index = next_index.fetch_add(1, Ordering::Relaxed);
                    let Some(mirror) = mirrors.get(index) else {
                        break;
                    };
                    let seen = observe(
                        connect(&mirror.url),
                        archive_root,
                        held,
                        mirror.blocks_log.as_ref(),
                        &config.audit,
                        now,
                        &mut OsRng,
                    );
                    if let Ok(mut results) = results.lock() {
                        results[index] = Some(seen);
                    }
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .map(|seen| {
            seen.unwrap_or_else(|| {
                Observation::Failed(crate::machine::Verdict::Unreachable(
                    "the audit did not finish".to_owned(),
                ))
            })
        })
        .collect()
}

/// The list is re-signed when its content changed, or a day after it was last signed (its
/// timestamp lives two days).
const REPUBLISH_AFTER: Duration = Duration::days(1);

/// What was last published: `SHA256-hex UNIX-SECONDS`, in `DIR/list/published`.
const PUBLISHED: &str = "published";

fn publish_if_due(dir: &Path, list: &MirrorList, now: OffsetDateTime) -> Result<Option<u64>> {
    let bytes = list.to_json();
    let digest = trust::schema::Digest::of(&bytes).to_hex();
    let record = list::repository(dir).join(PUBLISHED);
    let last = std::fs::read_to_string(&record).unwrap_or_default();
    let mut fields = last.split_whitespace();
    let same = fields.next() == Some(digest.as_str());
    let recent = fields
        .next()
        .and_then(|at| at.parse::<i64>().ok())
        .is_some_and(|at| now.unix_timestamp() - at < REPUBLISH_AFTER.whole_seconds());
    if same && recent {
        return Ok(None);
    }
    let version = list::publish(dir, list, now)?;
    std::fs::write(&record, format!("{digest} {}\n", now.unix_timestamp()))
        .map_err(|e| Error::state(&record, "write", e))?;
    Ok(Some(version))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Enrolment;
    use crate::testing::Repo;
    use trust::client::DirTransport;

    /// An archive of one document, `doc.txt`, released once.
    fn archive() -> Repo {
        let repo = Repo::new();
        repo.release_files(
            &[("doc.txt".to_owned(), b"a document\n".to_vec())],
            Duration::days(1),
        );
        repo
    }

    fn enrol(store: &mut Store, url: &str) {
        store
            .enroll(
                &Enrolment {
                    url: url.to_owned(),
                    country: "NL".to_owned(),
                    provider: "Greenhost".to_owned(),
                    contact: String::new(),
                },
                0,
            )
            .expect("enrol");
    }

    /// After the publisher rotates its root key, the first round that verifies the new root
    /// through the chain keeps it in `DIR/archive-root.json` and says so; the next round, started
    /// from it, finds nothing newer. A root that was not reached through signatures is never
    /// kept: the mirror's copy of the old one changes nothing.
    #[test]
    fn a_rotated_archive_root_verified_through_the_chain_is_kept_for_the_next_rounds() {
        let mut archive = Repo::new();
        let first_root = archive.root_json.clone();
        archive.release(2, Duration::days(1));
        let rotated = archive.rotate_root(2);
        archive.release(2, Duration::days(1));
        let directory = tempfile::tempdir().expect("tempdir");
        list::init(directory.path(), OffsetDateTime::now_utc()).expect("init");
        std::fs::write(directory.path().join("archive-root.json"), &first_root).expect("root");
        let mut store = Store::open(directory.path()).expect("store");
        enrol(&mut store, &archive.path().display().to_string());
        let connect = |url: &str| DirTransport::new(url);
        let config = RoundConfig::default();
        let now = OffsetDateTime::now_utc();
        let round = run(
            directory.path(),
            &mut store,
            &first_root,
            &config,
            &connect,
            now,
        )
        .expect("round");
        assert_eq!(round.new_root, Some((2, rotated.clone())));
        let kept = std::fs::read(directory.path().join("archive-root.json")).expect("read");
        assert_eq!(kept, rotated, "the newer root is kept on disk");
        assert_eq!(store.mirrors().expect("mirrors")[0].state, State::Active);
        let again =
            run(directory.path(), &mut store, &kept, &config, &connect, now).expect("round");
        assert_eq!(again.new_root, None);
    }

    /// A mirror whose signed blocks log withholds the archive's one document (its file gone
    /// from it, as a 451 would be) stays listed, and coverage counts it for nothing there.
    #[test]
    fn a_mirrors_legal_block_is_recorded_and_subtracted_from_coverage() {
        let archive_dir = archive();
        let root = archive_dir.root_json.clone();
        let mirror_state = tempfile::tempdir().expect("tempdir");
        std::fs::write(mirror_state.path().join("root.json"), "{}").expect("root");
        let order = mirror::blocks::Order {
            authority: "a court".into(),
            reference: "1/26".into(),
            url: None,
            jurisdiction: Some("FR".into()),
        };
        mirror::blocks::block(mirror_state.path(), "doc", order, 1).expect("block");
        let served = archive_dir.path().join(".well-known/samizdat/blocks.json");
        std::fs::create_dir_all(served.parent().expect("folder")).expect("mkdir");
        std::fs::copy(mirror_state.path().join(mirror::blocks::LOG_FILE), &served).expect("log");
        for entry in std::fs::read_dir(archive_dir.path().join("targets")).expect("targets") {
            std::fs::remove_file(entry.expect("entry").path()).expect("remove");
        }
        let directory = tempfile::tempdir().expect("tempdir");
        list::init(directory.path(), OffsetDateTime::now_utc()).expect("init");
        let mut store = Store::open(directory.path()).expect("store");
        enrol(&mut store, &archive_dir.path().display().to_string());
        let connect = |url: &str| DirTransport::new(url);
        let now = OffsetDateTime::now_utc();
        let config = RoundConfig::default();
        run(directory.path(), &mut store, &root, &config, &connect, now).expect("round");
        let mirrors = store.mirrors().expect("mirrors");
        assert_eq!(mirrors[0].state, State::Active, "{mirrors:?}");
        let held = crate::holdings::Holdings::open(directory.path()).expect("holdings");
        let exceptions = crate::coverage::Exceptions::of(&held).expect("exceptions");
        assert_eq!(
            exceptions.withheld.get("doc"),
            Some(&[mirrors[0].id].into())
        );
        let documents = vec!["doc".to_owned()];
        let coverage = crate::coverage::compute(&mirrors, Some(1), &documents, &exceptions, 1);
        assert_eq!(coverage.serving_mirrors, 1);
        assert_eq!(coverage.by_document[0].mirrors, 0, "{coverage:?}");
        assert_eq!(coverage.under_floor.len(), 1);
    }

    #[test]
    fn a_round_lists_the_honest_mirror_and_not_the_missing_one_and_publishes_once() {
        let archive_dir = archive();
        let root = archive_dir.root_json.clone();
        let directory = tempfile::tempdir().expect("tempdir");
        list::init(directory.path(), OffsetDateTime::now_utc()).expect("init");
        let mut store = Store::open(directory.path()).expect("store");
        let good = archive_dir.path().display().to_string();
        let missing = directory.path().join("nothing here").display().to_string();
        enrol(&mut store, &good);
        enrol(&mut store, &missing);
        let connect = |url: &str| DirTransport::new(url);
        let config = RoundConfig::default();
        let now = OffsetDateTime::now_utc();
        let round =
            run(directory.path(), &mut store, &root, &config, &connect, now).expect("round");
        assert_eq!(round.audited, 2);
        assert_eq!(round.newest, 1);
        assert_eq!(
            round.changes,
            [Change {
                url: good.clone(),
                from: State::Pending,
                to: State::Active,
                reason: "audit passed".to_owned()
            }]
        );
        let absent = store.by_url(&missing).expect("enrolled");
        assert_eq!((absent.state, absent.failures), (State::Pending, 1));
        assert!(round.published.is_some());
        assert_eq!((round.targets_loaded, round.targets_error), (Some(1), None));
        let held = crate::holdings::Holdings::open(directory.path()).expect("holdings");
        assert_eq!(held.release().expect("release"), Some(1));
        let names: Vec<String> = held
            .all()
            .expect("all")
            .into_iter()
            .map(|t| t.name)
            .collect();
        assert_eq!(names, ["doc.txt"]);
        let listed = MirrorList::of(&store.mirrors().expect("mirrors"));
        let urls: Vec<&str> = listed.mirrors.iter().map(|m| m.url.as_str()).collect();
        assert_eq!(urls, [good.as_str()]);
        // Nothing changed: nothing is re-signed; a day later it is.
        let again =
            run(directory.path(), &mut store, &root, &config, &connect, now).expect("round");
        assert!(
            again.changes.is_empty() && again.published.is_none(),
            "{again:?}"
        );
        // The release's targets are loaded once, not every round.
        assert_eq!(again.targets_loaded, None, "{again:?}");
        let later = now + Duration::hours(25);
        let daily = run(
            directory.path(),
            &mut store,
            &root,
            &config,
            &connect,
            later,
        )
        .expect("round");
        assert!(daily.published.is_some(), "{daily:?}");
    }
}
