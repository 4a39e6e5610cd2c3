//! The directory's state: enrolled mirrors, their standing and the history of every change, in
//! one SQLite file (`DIR/directory.sqlite`).
//!
//! Every change (an enrolment, an admin call, a round's audits) is one transaction in WAL mode
//! with `synchronous = FULL`: a directory killed at any moment (`kill -9` mid-audit) comes back
//! with every enrolment it acknowledged and every state change it recorded, never half of one (a
//! state without its event, or the reverse).

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use serde::Serialize;

use crate::error::{Error, ErrorKind, Result};
use crate::machine::{Standing, State, Transition};

/// The state file's name in the directory's folder.
pub const FILE: &str = "directory.sqlite";

/// Schema version (`PRAGMA user_version`); a file of a newer version is refused, not guessed
/// at; an older one is brought up to this one (`MIGRATIONS`) in one transaction.
const SCHEMA_VERSION: i64 = 2;

/// From version *i + 1* to *i + 2*: what each version added.
const MIGRATIONS: [&str; 1] = [
    // 2: the blocks log each mirror signed, as last verified.
    "ALTER TABLE mirrors ADD COLUMN blocks_key TEXT;
     ALTER TABLE mirrors ADD COLUMN blocks_head TEXT;",
];

/// Version 1, which a new file starts from before [`MIGRATIONS`].
const SCHEMA: &str = "
CREATE TABLE mirrors(
    id INTEGER PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,
    country TEXT NOT NULL,
    provider TEXT NOT NULL,
    contact TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    failures INTEGER NOT NULL DEFAULT 0,
    weight INTEGER NOT NULL DEFAULT 100,
    disabled INTEGER NOT NULL DEFAULT 0,
    enrolled_at INTEGER NOT NULL,
    audited_at INTEGER,
    release INTEGER,
    latency_ms INTEGER
);
CREATE TABLE events(
    id INTEGER PRIMARY KEY,
    mirror INTEGER NOT NULL REFERENCES mirrors(id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX events_by_mirror ON events(mirror, id);
";

/// An enrolled mirror as the directory knows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Mirror {
    pub id: i64,
    /// Its base URL (the folder holding `metadata/` and `targets/`), as enrolled.
    pub url: String,
    /// ISO 3166-1 alpha-2, upper case.
    pub country: String,
    /// Who hosts it (a company or network name): coverage counts distinct providers.
    pub provider: String,
    pub contact: String,
    pub state: State,
    /// Why it is in its state (the reason of the last change).
    pub reason: String,
    /// Consecutive audits that could not reach it.
    pub failures: u32,
    /// Relative share of readers sent to it among equals (admin-set, default 100).
    pub weight: u32,
    /// Taken out of the list by an admin, whatever its audits say.
    pub disabled: bool,
    /// Unix seconds.
    pub enrolled_at: i64,
    pub audited_at: Option<i64>,
    /// The release (snapshot version) it served at its last audit that verified.
    pub release: Option<u64>,
    pub latency_ms: Option<u64>,
    /// Its signed blocks log as last verified: later logs must be signed by the same key and
    /// extend that head.
    pub blocks_log: Option<BlocksSeen>,
}

/// A mirror's blocks log as one audit verified it (`mirror::blocks`): its key and its head.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BlocksSeen {
    /// The mirror's ed25519 public key, hex.
    pub key: String,
    /// Hex SHA-256 of its newest entry (`mirror::blocks::GENESIS` for an empty log).
    pub head: String,
}

impl Mirror {
    /// Whether readers are sent to it.
    pub fn is_listed(&self) -> bool {
        self.state.is_listed() && !self.disabled
    }

    /// Its standing, for [`crate::machine::next`].
    pub fn standing(&self) -> Standing {
        Standing {
            state: self.state,
            failures: self.failures,
        }
    }
}

/// A mirror to enrol.
#[derive(Clone, Debug)]
pub struct Enrolment {
    pub url: String,
    pub country: String,
    pub provider: String,
    pub contact: String,
}

/// One recorded change of a mirror's state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Event {
    /// Unix seconds.
    pub at: i64,
    pub from: State,
    pub to: State,
    pub reason: String,
}

/// What one audit measured, stored with the transition it caused.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Measured {
    /// Release served, when its metadata verified.
    pub release: Option<u64>,
    pub latency_ms: Option<u64>,
    /// The blocks log verified, when the mirror serves one (what was known is kept otherwise).
    pub blocks_log: Option<BlocksSeen>,
}

/// The open state file.
pub struct Store {
    conn: Connection,
    path: PathBuf,
}

impl Store {
    /// Opens (creating it if missing) the state file in folder `dir`.
    pub fn open(dir: &Path) -> Result<Store> {
        let path = dir.join(FILE);
        let conn = Connection::open(&path).map_err(|e| Error::state(&path, "open", e))?;
        let store = Store { conn, path };
        store.prepare()?;
        Ok(store)
    }

    fn prepare(&self) -> Result<()> {
        let fail = |e| Error::state(&self.path, "prepare", e);
        // WAL: audits write while the server reads. FULL: a commit is on disk when it returns.
        self.conn
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(fail)?;
        self.conn
            .pragma_update(None, "synchronous", "FULL")
            .map_err(fail)?;
        self.conn
            .pragma_update(None, "foreign_keys", "ON")
            .map_err(fail)?;
        self.conn
            .busy_timeout(std::time::Duration::from_secs(5))
            .map_err(fail)?;
        let version: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(fail)?;
        if !(0..=SCHEMA_VERSION).contains(&version) {
            return Err(Error::state(
                &self.path,
                "use",
                format!(
                    "schema version {version}, this samizdat knows {SCHEMA_VERSION} (a newer samizdat made it?)"
                ),
            ));
        }
        if version == SCHEMA_VERSION {
            return Ok(());
        }
        let tx =
            Transaction::new_unchecked(&self.conn, TransactionBehavior::Immediate).map_err(fail)?;
        if version == 0 {
            tx.execute_batch(SCHEMA).map_err(fail)?;
        }
        for migration in &MIGRATIONS[version.max(1) as usize - 1..] {
            tx.execute_batch(migration).map_err(fail)?;
        }
        tx.pragma_update(None, "user_version", SCHEMA_VERSION)
            .map_err(fail)?;
        tx.commit().map_err(fail)
    }

    /// Enrols a mirror as [`State::Pending`] at `now` (Unix seconds), recording the event.
    pub fn enroll(&mut self, mirror: &Enrolment, now: i64) -> Result<Mirror> {
        let fail = |e| Error::state(&self.path, "enrol", e);
        let tx = write(&mut self.conn).map_err(fail)?;
        let taken: Option<i64> = tx
            .query_row(
                "SELECT id FROM mirrors WHERE url = ?1",
                [&mirror.url],
                |row| row.get(0),
            )
            .optional()
            .map_err(fail)?;
        if taken.is_some() {
            return Err(Error::new(
                ErrorKind::Exists,
                format!("{}: enrolled already", mirror.url),
            ));
        }
        tx.execute(
            "INSERT INTO mirrors(url, country, provider, contact, state, reason, enrolled_at)
             VALUES (?1, ?2, ?3, ?4, ?5, 'enrolled', ?6)",
            params![
                mirror.url,
                mirror.country,
                mirror.provider,
                mirror.contact,
                State::Pending.as_str(),
                now
            ],
        )
        .map_err(fail)?;
        let id = tx.last_insert_rowid();
        insert_event(&tx, id, now, State::Pending, State::Pending, "enrolled").map_err(fail)?;
        tx.commit().map_err(fail)?;
        self.mirror(id)
    }

    /// The mirror with `id`.
    pub fn mirror(&self, id: i64) -> Result<Mirror> {
        self.conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM mirrors WHERE id = ?1"),
                [id],
                row_to_mirror,
            )
            .optional()
            .map_err(|e| Error::state(&self.path, "read", e))?
            .ok_or_else(|| Error::new(ErrorKind::NotFound, format!("no mirror {id}")))
    }

    /// The mirror enrolled with `url`.
    pub fn by_url(&self, url: &str) -> Result<Mirror> {
        self.conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM mirrors WHERE url = ?1"),
                [url],
                row_to_mirror,
            )
            .optional()
            .map_err(|e| Error::state(&self.path, "read", e))?
            .ok_or_else(|| Error::new(ErrorKind::NotFound, format!("{url}: not enrolled")))
    }

    /// Every enrolled mirror, by id.
    pub fn mirrors(&self) -> Result<Vec<Mirror>> {
        let fail = |e| Error::state(&self.path, "read", e);
        let mut statement = self
            .conn
            .prepare(&format!("SELECT {COLUMNS} FROM mirrors ORDER BY id"))
            .map_err(fail)?;
        let rows = statement.query_map([], row_to_mirror).map_err(fail)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(fail)
    }

    /// Stores the outcome of mirror `id`'s audit at `now`: its new standing, what was measured,
    /// and an event when its state changed, in one transaction.
    pub fn record_audit(
        &mut self,
        id: i64,
        transition: &Transition,
        measured: Measured,
        now: i64,
    ) -> Result<()> {
        self.mirror(id)?;
        self.record_audits(&[(id, transition, measured)], now)
    }

    /// Stores the outcomes of a round's audits at `now` (mirror id, transition, measured), all
    /// in one transaction: one commit (one `fsync`) a round, not one a mirror (5,000 of them
    /// took ~15 s here). Killed before the commit, the round is lost whole and audited again;
    /// never half of one mirror's change. A mirror removed during the round is skipped.
    pub fn record_audits(
        &mut self,
        audits: &[(i64, &Transition, Measured)],
        now: i64,
    ) -> Result<()> {
        let fail = |e| Error::state(&self.path, "record an audit", e);
        let tx = write(&mut self.conn).map_err(fail)?;
        {
            let mut before = tx
                .prepare("SELECT state FROM mirrors WHERE id = ?1")
                .map_err(fail)?;
            let mut update = tx
                .prepare(
                    "UPDATE mirrors SET state = ?2, failures = ?3, audited_at = ?4,
                         release = COALESCE(?5, release), latency_ms = ?6,
                         reason = COALESCE(?7, reason),
                         blocks_key = COALESCE(?8, blocks_key),
                         blocks_head = COALESCE(?9, blocks_head)
                     WHERE id = ?1",
                )
                .map_err(fail)?;
            for (id, transition, measured) in audits {
                let Some(from) = before
                    .query_row([id], |row| state_column(row, 0))
                    .optional()
                    .map_err(fail)?
                else {
                    continue;
                };
                let standing = &transition.standing;
                update
                    .execute(params![
                        id,
                        standing.state.as_str(),
                        standing.failures,
                        now,
                        measured.release.and_then(|v| i64::try_from(v).ok()),
                        measured.latency_ms.and_then(|v| i64::try_from(v).ok()),
                        transition.change,
                        measured.blocks_log.as_ref().map(|log| &log.key),
                        measured.blocks_log.as_ref().map(|log| &log.head),
                    ])
                    .map_err(fail)?;
                if let Some(reason) = &transition.change {
                    insert_event(&tx, *id, now, from, standing.state, reason).map_err(fail)?;
                }
            }
        }
        tx.commit().map_err(fail)
    }

    /// Mirror `id`'s history, oldest first.
    pub fn events(&self, id: i64) -> Result<Vec<Event>> {
        let fail = |e| Error::state(&self.path, "read", e);
        let mut statement = self
            .conn
            .prepare(
                "SELECT at, from_state, to_state, reason FROM events WHERE mirror = ?1 ORDER BY id",
            )
            .map_err(fail)?;
        let rows = statement
            .query_map([id], |row| {
                Ok(Event {
                    at: row.get(0)?,
                    from: state_column(row, 1)?,
                    to: state_column(row, 2)?,
                    reason: row.get(3)?,
                })
            })
            .map_err(fail)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(fail)
    }

    /// Admin: takes mirror `id` out of the list (or back), recording why.
    pub fn set_disabled(&mut self, id: i64, disabled: bool, reason: &str, now: i64) -> Result<()> {
        let fail = |e| Error::state(&self.path, "change a mirror", e);
        let mirror = self.mirror(id)?;
        let tx = write(&mut self.conn).map_err(fail)?;
        tx.execute(
            "UPDATE mirrors SET disabled = ?2 WHERE id = ?1",
            params![id, disabled],
        )
        .map_err(fail)?;
        let what = if disabled { "disabled" } else { "enabled" };
        insert_event(
            &tx,
            id,
            now,
            mirror.state,
            mirror.state,
            &format!("{what} by an admin: {reason}"),
        )
        .map_err(fail)?;
        tx.commit().map_err(fail)
    }

    /// Admin: mirror `id`'s share of readers among equals.
    pub fn set_weight(&mut self, id: i64, weight: u32) -> Result<()> {
        self.mirror(id)?;
        self.conn
            .execute(
                "UPDATE mirrors SET weight = ?2 WHERE id = ?1",
                params![id, weight],
            )
            .map_err(|e| Error::state(&self.path, "change a mirror", e))?;
        Ok(())
    }

    /// Admin: forgets mirror `id` and its history.
    pub fn remove(&mut self, id: i64) -> Result<()> {
        self.mirror(id)?;
        self.conn
            .execute("DELETE FROM mirrors WHERE id = ?1", [id])
            .map_err(|e| Error::state(&self.path, "remove a mirror", e))?;
        Ok(())
    }
}

const COLUMNS: &str = "id, url, country, provider, contact, state, reason, failures, weight, \
                       disabled, enrolled_at, audited_at, release, latency_ms, blocks_key, \
                       blocks_head";

fn row_to_mirror(row: &rusqlite::Row<'_>) -> rusqlite::Result<Mirror> {
    Ok(Mirror {
        id: row.get(0)?,
        url: row.get(1)?,
        country: row.get(2)?,
        provider: row.get(3)?,
        contact: row.get(4)?,
        state: state_column(row, 5)?,
        reason: row.get(6)?,
        failures: row.get(7)?,
        weight: row.get(8)?,
        disabled: row.get(9)?,
        enrolled_at: row.get(10)?,
        audited_at: row.get(11)?,
        release: unsigned(row.get(12)?),
        latency_ms: unsigned(row.get(13)?),
        blocks_log: match (row.get(14)?, row.get(15)?) {
            (Some(key), Some(head)) => Some(BlocksSeen { key, head }),
            _ => None,
        },
    })
}

/// SQLite integers are signed; these counts never are.
fn unsigned(value: Option<i64>) -> Option<u64> {
    value.and_then(|v| u64::try_from(v).ok())
}

fn state_column(row: &rusqlite::Row<'_>, index: usize) -> rusqlite::Result<State> {
    let name: String = row.get(index)?;
    State::parse(&name).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            rusqlite::types::Type::Text,
            format!("unknown mirror state {name:?}").into(),
        )
    })
}

/// A transaction that writes: it takes the write lock at once (`BEGIN IMMEDIATE`), waiting
/// up to the busy time-out for another writer. A deferred one that read first could not
/// take it once another connection (the audits', the server's) had committed meanwhile, and
/// failed at once with "database is locked" whatever the time-out (enrolments during a
/// round of 5,000 audits did).
fn write(conn: &mut Connection) -> rusqlite::Result<Transaction<'_>> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
}

fn insert_event(
    tx: &rusqlite::Transaction<'_>,
    mirror: i64,
    at: i64,
    from: State,
    to: State,
    reason: &str,
) -> rusqlite::Result<usize> {
    tx.execute(
        "INSERT INTO events(mirror, at, from_state, to_state, reason) VALUES (?1, ?2, ?3, ?4, ?5)",
        params![mirror, at, from.as_str(), to.as_str(), reason],
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::machine::{Policy, Verdict, next};

    fn enrolment(url: &str) -> Enrolment {
        Enrolment {
            url: url.to_owned(),
            country: "DE".to_owned(),
            provider: "Hetzner".to_owned(),
            contact: "ops@example.org".to_owned(),
        }
    }

    #[test]
    fn an_enrolled_mirror_is_pending_and_a_second_enrolment_of_its_url_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open(dir.path()).expect("open");
        let mirror = store
            .enroll(&enrolment("http://127.0.0.2:8080/"), 100)
            .expect("enrol");
        assert_eq!(mirror.state, State::Pending);
        assert!(!mirror.is_listed());
        let again = store
            .enroll(&enrolment("http://127.0.0.2:8080/"), 101)
            .expect_err("a second enrolment");
        assert_eq!(again.kind(), ErrorKind::Exists);
        assert_eq!(store.mirrors().expect("list").len(), 1);
    }

    #[test]
    fn audits_change_the_state_and_each_change_is_an_event_that_survives_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        let id = {
            let mut store = Store::open(dir.path()).expect("open");
            let mirror = store
                .enroll(&enrolment("http://127.0.0.3/"), 10)
                .expect("enrol");
            let policy = Policy::default();
            let mut standing = mirror.standing();
            for (at, verdict) in [
                (20, Verdict::Healthy),
                (30, Verdict::Healthy),
                (
                    40,
                    Verdict::Lying("targets/abc.x: sha256 differs".to_owned()),
                ),
            ] {
                let transition = next(&standing, &verdict, &policy);
                let measured = Measured {
                    release: Some(7),
                    latency_ms: Some(3),
                    blocks_log: None,
                };
                store
                    .record_audit(mirror.id, &transition, measured, at)
                    .expect("record");
                standing = transition.standing;
            }
            mirror.id
        };
        let store = Store::open(dir.path()).expect("reopen");
        let mirror = store.mirror(id).expect("mirror");
        assert_eq!(mirror.state, State::Delisted);
        assert_eq!(mirror.reason, "lying: targets/abc.x: sha256 differs");
        assert_eq!(mirror.audited_at, Some(40));
        assert_eq!(mirror.release, Some(7));
        let events: Vec<(i64, State, State)> = store
            .events(id)
            .expect("events")
            .into_iter()
            .map(|event| (event.at, event.from, event.to))
            .collect();
        assert_eq!(
            events,
            [
                (10, State::Pending, State::Pending),
                (20, State::Pending, State::Active),
                (40, State::Active, State::Delisted)
            ]
        );
    }

    #[test]
    fn a_round_is_recorded_at_once_and_a_mirror_removed_meanwhile_is_skipped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open(dir.path()).expect("open");
        let kept = store
            .enroll(&enrolment("http://127.0.0.5/"), 1)
            .expect("enrol");
        let removed = store
            .enroll(&enrolment("http://127.0.0.6/"), 1)
            .expect("enrol");
        let policy = Policy::default();
        let healthy = next(&kept.standing(), &Verdict::Healthy, &policy);
        let dead = next(
            &removed.standing(),
            &Verdict::Unreachable("refused".into()),
            &policy,
        );
        store.remove(removed.id).expect("remove");
        let measured = Measured {
            release: Some(3),
            latency_ms: Some(9),
            blocks_log: None,
        };
        store
            .record_audits(
                &[
                    (kept.id, &healthy, measured.clone()),
                    (removed.id, &dead, measured),
                ],
                5,
            )
            .expect("record");
        let mirrors = store.mirrors().expect("mirrors");
        assert_eq!(mirrors.len(), 1);
        assert_eq!(
            (mirrors[0].state, mirrors[0].release, mirrors[0].audited_at),
            (State::Active, Some(3), Some(5))
        );
        let last = store.events(kept.id).expect("events").pop().expect("event");
        assert_eq!((last.from, last.to), (State::Pending, State::Active));
    }

    #[test]
    fn a_disabled_mirror_is_not_listed_whatever_its_state() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open(dir.path()).expect("open");
        let mirror = store
            .enroll(&enrolment("http://127.0.0.4/"), 1)
            .expect("enrol");
        let transition = next(&mirror.standing(), &Verdict::Healthy, &Policy::default());
        store
            .record_audit(mirror.id, &transition, Measured::default(), 2)
            .expect("record");
        assert!(store.mirror(mirror.id).expect("mirror").is_listed());
        store
            .set_disabled(mirror.id, true, "abuse report", 3)
            .expect("disable");
        let disabled = store.mirror(mirror.id).expect("mirror");
        assert!(!disabled.is_listed());
        assert_eq!(disabled.state, State::Active);
        let last = store
            .events(mirror.id)
            .expect("events")
            .pop()
            .expect("an event");
        assert_eq!(last.reason, "disabled by an admin: abuse report");
    }

    /// A state file of version 1 (before the blocks log was kept) is brought up to date with
    /// its mirrors, and what an audit verified of a blocks log is kept, never erased by an
    /// audit that saw none.
    #[test]
    fn a_version_1_state_file_is_migrated_and_the_blocks_log_seen_is_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let conn = Connection::open(dir.path().join(FILE)).expect("open");
            conn.execute_batch(SCHEMA).expect("version 1");
            conn.pragma_update(None, "user_version", 1).expect("pragma");
            conn.execute(
                "INSERT INTO mirrors(url, country, provider, state, enrolled_at)
                 VALUES ('http://127.0.0.4/', 'DE', 'x', 'active', 5)",
                [],
            )
            .expect("insert");
        }
        let mut store = Store::open(dir.path()).expect("migrated");
        let mirror = store.by_url("http://127.0.0.4/").expect("kept");
        assert_eq!(mirror.blocks_log, None);
        let seen = BlocksSeen {
            key: "ab".repeat(32),
            head: "cd".repeat(32),
        };
        let transition = next(&mirror.standing(), &Verdict::Healthy, &Policy::default());
        let measured = |blocks_log| Measured {
            release: Some(1),
            latency_ms: Some(1),
            blocks_log,
        };
        store
            .record_audit(mirror.id, &transition, measured(Some(seen.clone())), 10)
            .expect("record");
        store
            .record_audit(mirror.id, &transition, measured(None), 20)
            .expect("record");
        drop(store);
        let store = Store::open(dir.path()).expect("reopen");
        let mirror = store.by_url("http://127.0.0.4/").expect("kept");
        assert_eq!(mirror.blocks_log, Some(seen));
    }

    #[test]
    fn a_state_file_of_a_newer_schema_is_refused_by_name() {
        let dir = tempfile::tempdir().expect("tempdir");
        {
            let conn = Connection::open(dir.path().join(FILE)).expect("open");
            conn.pragma_update(None, "user_version", 99)
                .expect("pragma");
        }
        let error = Store::open(dir.path()).err().expect("refused");
        assert_eq!(error.kind(), ErrorKind::State);
        assert!(
            error.message().contains("directory.sqlite"),
            "{}",
            error.message()
        );
        assert!(
            error.message().contains("schema version 99"),
            "{}",
            error.message()
        );
    }

    #[test]
    fn removing_a_mirror_removes_its_history() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut store = Store::open(dir.path()).expect("open");
        let mirror = store
            .enroll(&enrolment("http://127.0.0.5/"), 1)
            .expect("enrol");
        store.remove(mirror.id).expect("remove");
        assert_eq!(
            store.mirror(mirror.id).expect_err("gone").kind(),
            ErrorKind::NotFound
        );
        assert!(store.events(mirror.id).expect("events").is_empty());
        assert_eq!(
            store.remove(mirror.id).expect_err("twice").kind(),
            ErrorKind::NotFound
        );
    }
}
