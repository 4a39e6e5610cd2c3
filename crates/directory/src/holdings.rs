//! What the archive holds: the target list (name, length, SHA-256) of the newest release the
//! audits verified, kept in `DIR/holdings.sqlite` for Metalink, redirects and coverage.
//!
//! The list is loaded once per new release ([`refresh`], called at the end of an audit round)
//! through our TUF client from the archive's root, from a mirror that served that release in
//! the round: every entry is one the archive's keys signed; nothing a mirror says about itself
//! unsigned is kept. Its own file (not `directory.sqlite`): it is a cache, rebuilt from any
//! honest mirror, and a reader of it never waits on the audits' writes.
//!
//! Beside it, what each mirror withholds of its release by a legal block, as its own signed
//! blocks log said at its last verified audit (`mirror::blocks`): coverage subtracts it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use time::OffsetDateTime;
use trust::client::{Client, Options, Transport};

use crate::error::{Error, ErrorKind, Result};

/// The cache's file name in the directory's folder.
pub const FILE: &str = "holdings.sqlite";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS release(one INTEGER PRIMARY KEY CHECK (one = 1), version INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS targets(
    name TEXT PRIMARY KEY,
    length INTEGER NOT NULL,
    sha256 BLOB NOT NULL
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS withheld(
    mirror INTEGER NOT NULL,
    id TEXT NOT NULL,
    PRIMARY KEY (mirror, id)
) WITHOUT ROWID;
";

/// One target of the archive, as its signed metadata lists it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Target {
    pub name: String,
    pub length: u64,
    #[serde(serialize_with = "as_hex")]
    pub sha256: [u8; 32],
}

fn as_hex<S: serde::Serializer>(sha: &[u8; 32], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&hex::encode(sha))
}

impl Target {
    /// Its consistent-snapshot file name under a mirror's `targets/`.
    pub fn file_name(&self) -> String {
        format!("{}.{}", hex::encode(self.sha256), self.name)
    }
}

/// The open cache.
pub struct Holdings {
    conn: Connection,
    path: PathBuf,
}

impl Holdings {
    /// Opens (creating it if missing) the cache in folder `dir`.
    pub fn open(dir: &Path) -> Result<Holdings> {
        let path = dir.join(FILE);
        let conn = Connection::open(&path).map_err(|e| Error::state(&path, "open", e))?;
        let fail = |e| Error::state(&path, "prepare", e);
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(fail)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(fail)?;
        conn.execute_batch(SCHEMA).map_err(fail)?;
        Ok(Holdings { conn, path })
    }

    /// The release whose targets are held, if any is.
    pub fn release(&self) -> Result<Option<u64>> {
        let version: Option<i64> = self
            .conn
            .query_row("SELECT version FROM release WHERE one = 1", [], |row| {
                row.get(0)
            })
            .optional()
            .map_err(|e| Error::state(&self.path, "read", e))?;
        Ok(version.and_then(|v| u64::try_from(v).ok()))
    }

    /// Replaces what is held by release `version`'s `targets`, in one transaction.
    pub fn replace(&mut self, version: u64, targets: &[Target]) -> Result<()> {
        let fail = |e| Error::state(&self.path, "write", e);
        let tx = self.conn.transaction().map_err(fail)?;
        tx.execute("DELETE FROM targets", []).map_err(fail)?;
        {
            let mut insert = tx
                .prepare("INSERT OR REPLACE INTO targets(name, length, sha256) VALUES (?1, ?2, ?3)")
                .map_err(fail)?;
            for target in targets {
                insert
                    .execute(params![
                        target.name,
                        i64::try_from(target.length).unwrap_or(i64::MAX),
                        &target.sha256[..]
                    ])
                    .map_err(fail)?;
            }
        }
        tx.execute(
            "INSERT OR REPLACE INTO release(one, version) VALUES (1, ?1)",
            [i64::try_from(version).unwrap_or(i64::MAX)],
        )
        .map_err(fail)?;
        tx.commit().map_err(fail)
    }

    /// Records that mirror `mirror` (its id in the store) blocks the documents `ids` now,
    /// instead of what it blocked before.
    pub fn set_withheld(&mut self, mirror: i64, ids: &BTreeSet<String>) -> Result<()> {
        let fail = |e| Error::state(&self.path, "write", e);
        let tx = self.conn.transaction().map_err(fail)?;
        tx.execute("DELETE FROM withheld WHERE mirror = ?1", [mirror])
            .map_err(fail)?;
        for id in ids {
            tx.execute(
                "INSERT OR REPLACE INTO withheld(mirror, id) VALUES (?1, ?2)",
                params![mirror, id],
            )
            .map_err(fail)?;
        }
        tx.commit().map_err(fail)
    }

    /// The mirrors (ids in the store) that block document `id`.
    pub fn withheld_by(&self, id: &str) -> Result<BTreeSet<i64>> {
        let fail = |e| Error::state(&self.path, "read", e);
        let mut statement = self
            .conn
            .prepare("SELECT mirror FROM withheld WHERE id = ?1")
            .map_err(fail)?;
        let rows = statement
            .query_map([id], |row| row.get::<_, i64>(0))
            .map_err(fail)?;
        rows.collect::<rusqlite::Result<_>>().map_err(fail)
    }

    /// What the mirrors withhold: document id → the mirrors (ids in the store) that block it.
    pub fn withheld(&self) -> Result<BTreeMap<String, BTreeSet<i64>>> {
        let fail = |e| Error::state(&self.path, "read", e);
        let mut statement = self
            .conn
            .prepare("SELECT id, mirror FROM withheld")
            .map_err(fail)?;
        let rows = statement
            .query_map([], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
            })
            .map_err(fail)?;
        let mut withheld: BTreeMap<String, BTreeSet<i64>> = BTreeMap::new();
        for row in rows {
            let (id, mirror) = row.map_err(fail)?;
            withheld.entry(id).or_default().insert(mirror);
        }
        Ok(withheld)
    }

    fn select(&self, filter: &str, args: impl rusqlite::Params) -> Result<Vec<Target>> {
        let fail = |e| Error::state(&self.path, "read", e);
        let mut statement = self
            .conn
            .prepare(&format!(
                "SELECT name, length, sha256 FROM targets {filter} ORDER BY name"
            ))
            .map_err(fail)?;
        let rows = statement
            .query_map(args, |row| {
                let length: i64 = row.get(1)?;
                let sha: Vec<u8> = row.get(2)?;
                Ok(Target {
                    name: row.get(0)?,
                    length: u64::try_from(length).unwrap_or(0),
                    sha256: sha.try_into().unwrap_or([0; 32]),
                })
            })
            .map_err(fail)?;
        rows.collect::<rusqlite::Result<Vec<_>>>().map_err(fail)
    }

    /// Every target held, by name.
    pub fn all(&self) -> Result<Vec<Target>> {
        self.select("", [])
    }

    /// Calls `f` with every target held, by name, one at a time (the whole list is never in
    /// memory), until it returns `false`.
    pub fn each(&self, mut f: impl FnMut(Target) -> bool) -> Result<()> {
        let fail = |e| Error::state(&self.path, "read", e);
        let mut statement = self
            .conn
            .prepare("SELECT name, length, sha256 FROM targets ORDER BY name")
            .map_err(fail)?;
        let mut rows = statement.query([]).map_err(fail)?;
        while let Some(row) = rows.next().map_err(fail)? {
            let length: i64 = row.get(1).map_err(fail)?;
            let sha: Vec<u8> = row.get(2).map_err(fail)?;
            let target = Target {
                name: row.get(0).map_err(fail)?,
                length: u64::try_from(length).unwrap_or(0),
                sha256: sha.try_into().unwrap_or([0; 32]),
            };
            if !f(target) {
                break;
            }
        }
        Ok(())
    }

    /// The targets of document `id` (`<id>.json`, `<id>.html`, `<id>.original.<ext>`), by name.
    pub fn of_document(&self, id: &str) -> Result<Vec<Target>> {
        // Names of `id` run from `id.` up to, not including, `id/` ('/' follows '.').
        self.select(
            "WHERE name >= ?1 AND name < ?2",
            params![format!("{id}."), format!("{id}/")],
        )
        .map(|targets| {
            targets
                .into_iter()
                .filter(|t| common::layout::doc_of_target(&t.name) == Some(id))
                .collect()
        })
    }

    /// Target `name`, if held.
    pub fn target(&self, name: &str) -> Result<Option<Target>> {
        Ok(self.select("WHERE name = ?1", [name])?.into_iter().next())
    }

    /// The documents of the release held, by id.
    pub fn documents(&self) -> Result<Vec<String>> {
        let fail = |e| Error::state(&self.path, "read", e);
        let mut statement = self
            .conn
            .prepare("SELECT name FROM targets ORDER BY name")
            .map_err(fail)?;
        let names = statement
            .query_map([], |row| row.get::<_, String>(0))
            .map_err(fail)?;
        // Names of one document are not all adjacent (`a-b.json` sorts between `a.html` and
        // `a.json`): a set.
        let mut ids = std::collections::BTreeSet::new();
        for name in names {
            let name = name.map_err(fail)?;
            if let Some(id) = common::layout::doc_of_target(&name)
                && !ids.contains(id)
            {
                ids.insert(id.to_owned());
            }
        }
        Ok(ids.into_iter().collect())
    }
}

/// Loads release `newest`'s targets into the cache in `dir` unless it holds them already,
/// trying `sources` (mirrors that served `newest` when audited) in order; each is verified from
/// `archive_root`. Returns the release loaded, `None` when nothing was to do.
pub fn refresh<T: Transport>(
    dir: &Path,
    archive_root: &[u8],
    newest: u64,
    sources: &[&str],
    connect: &(dyn Fn(&str) -> T + Sync),
    now: OffsetDateTime,
) -> Result<Option<u64>> {
    let mut holdings = Holdings::open(dir)?;
    if newest == 0 || holdings.release()? == Some(newest) {
        return Ok(None);
    }
    let mut why = Vec::new();
    for url in sources {
        let mut options = Options::new(now);
        options.allow_expired = true;
        let loaded = Client::load(archive_root, connect(url), options).and_then(|mut client| {
            let version = client.version();
            client.all_targets().map(|all| (version, all))
        });
        match loaded {
            // A mirror that moved on since its audit is not what was asked for; the next round
            // loads its release.
            Ok((version, all)) if version == newest => {
                let targets: Vec<Target> = all
                    .into_iter()
                    .map(|(name, info)| Target {
                        name: name.as_str().to_owned(),
                        length: info.length,
                        sha256: info.hashes.sha256.0,
                    })
                    .collect();
                holdings.replace(newest, &targets)?;
                return Ok(Some(newest));
            }
            Ok((version, _)) => why.push(format!("{url}: serves release {version} now")),
            Err(error) => why.push(format!("{url}: {}", error.message())),
        }
    }
    Err(Error::new(
        ErrorKind::NotFound,
        format!(
            "cannot load the targets of release {newest}: {}",
            if why.is_empty() {
                "no mirror served it".to_owned()
            } else {
                why.join("; ")
            }
        ),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(name: &str, byte: u8) -> Target {
        Target {
            name: name.to_owned(),
            length: u64::from(byte),
            sha256: [byte; 32],
        }
    }

    #[test]
    fn a_document_s_targets_are_its_own_and_a_new_release_replaces_the_old() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut holdings = Holdings::open(dir.path()).expect("open");
        assert_eq!(holdings.release().expect("release"), None);
        let targets = [
            target("_s_index.html", 1),
            target("ab.html", 2),
            target("ab.json", 3),
            target("ab.original.eml", 4),
            target("ab-c.json", 5),
            target("abc.json", 6),
            target("ab.zip", 7),
        ];
        holdings.replace(3, &targets).expect("replace");
        assert_eq!(holdings.release().expect("release"), Some(3));
        let names: Vec<String> = holdings
            .of_document("ab")
            .expect("doc")
            .into_iter()
            .map(|t| t.name)
            .collect();
        assert_eq!(names, ["ab.html", "ab.json", "ab.original.eml", "ab.zip"]);
        assert_eq!(
            holdings.documents().expect("documents"),
            ["ab", "ab-c", "abc"]
        );
        assert_eq!(
            holdings.target("ab.json").expect("target"),
            Some(target("ab.json", 3))
        );
        let mut seen = Vec::new();
        holdings
            .each(|target| {
                seen.push(target.name);
                seen.len() < 2
            })
            .expect("each");
        assert_eq!(seen, ["_s_index.html", "ab-c.json"]);
        holdings.replace(4, &targets[..1]).expect("replace");
        assert_eq!(holdings.all().expect("all"), [target("_s_index.html", 1)]);
        // Reopened: still there.
        drop(holdings);
        let again = Holdings::open(dir.path()).expect("reopen");
        assert_eq!(again.release().expect("release"), Some(4));
    }
}
