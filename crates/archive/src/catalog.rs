//! The catalog: one SQLite file (`catalog.sqlite`) that lists every document, every source file
//! seen (for incremental `add`), withdrawals, and the records a release published.
//!
//! SQLite because `add` and `release` must survive a crash at any moment: a transaction either
//! lands whole or not at all, and the WAL keeps readers and the writer apart.

use crate::model::{Blob, DocId, Document};
use rusqlite::{Connection, OptionalExtension, params};
use std::path::Path;

#[derive(Debug)]
pub struct CatalogError(pub String);

impl std::fmt::Display for CatalogError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for CatalogError {}

impl From<rusqlite::Error> for CatalogError {
    fn from(e: rusqlite::Error) -> Self {
        CatalogError(format!("catalog: {e}"))
    }
}

impl From<serde_json::Error> for CatalogError {
    fn from(e: serde_json::Error) -> Self {
        CatalogError(format!("catalog: bad stored document: {e}"))
    }
}

pub type Result<T> = std::result::Result<T, CatalogError>;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS documents (
    id TEXT PRIMARY KEY,
    doc TEXT NOT NULL,
    source_file TEXT NOT NULL,
    original_sha TEXT NOT NULL,
    message_id TEXT,
    withdrawn_reason TEXT,
    withdrawn_at TEXT
);
CREATE INDEX IF NOT EXISTS documents_original ON documents(original_sha);
CREATE TABLE IF NOT EXISTS sources (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    sha256 TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS records (
    id TEXT PRIMARY KEY,
    inputs TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    len INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
";

/// What the catalog remembers of a source file, to skip it when unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceState {
    pub size: u64,
    pub mtime_ns: i128,
    pub sha256: String,
}

/// A document's withdrawal: the next release leaves it out and publishes this tombstone.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tombstone {
    pub id: DocId,
    pub reason: String,
    /// RFC 3339.
    pub withdrawn_at: String,
}

/// A published record (`<id>.json`): the blob, and a digest of what it was built from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordState {
    pub inputs: String,
    pub blob: Blob,
}

pub struct Catalog {
    conn: Connection,
}

impl Catalog {
    pub fn open(path: &Path) -> Result<Catalog> {
        let conn = Connection::open(path)
            .map_err(|e| CatalogError(format!("{}: cannot open catalog: {e}", path.display())))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute_batch(SCHEMA)?;
        Ok(Catalog { conn })
    }

    /// Runs `f` in one transaction: all of it lands, or none.
    pub fn transaction<T>(&mut self, f: impl FnOnce(&Tx<'_>) -> Result<T>) -> Result<T> {
        let tx = self.conn.transaction()?;
        let out = f(&Tx { tx: &tx })?;
        tx.commit()?;
        Ok(out)
    }

    pub fn source(&self, path: &str) -> Result<Option<SourceState>> {
        source(&self.conn, path)
    }

    pub fn document(&self, id: &DocId) -> Result<Option<Document>> {
        document(&self.conn, id)
    }

    /// Every document that is not withdrawn, in id order.
    pub fn documents(&self) -> Result<Vec<Document>> {
        let mut stmt = self
            .conn
            .prepare("SELECT doc FROM documents WHERE withdrawn_reason IS NULL ORDER BY id")?;
        let rows = stmt.query_map([], |row| row.get::<_, String>(0))?;
        let mut docs = Vec::new();
        for row in rows {
            docs.push(serde_json::from_str(&row?)?);
        }
        Ok(docs)
    }

    pub fn count(&self) -> Result<u64> {
        let n: i64 = self.conn.query_row(
            "SELECT count(*) FROM documents WHERE withdrawn_reason IS NULL",
            [],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }

    pub fn tombstones(&self) -> Result<Vec<Tombstone>> {
        let mut stmt = self.conn.prepare(
            "SELECT id, withdrawn_reason, withdrawn_at FROM documents
             WHERE withdrawn_reason IS NOT NULL ORDER BY id",
        )?;
        let rows = stmt.query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                row.get::<_, String>(1)?,
                row.get::<_, String>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, reason, withdrawn_at) = row?;
            let id = DocId::new(&id).map_err(CatalogError)?;
            out.push(Tombstone {
                id,
                reason,
                withdrawn_at,
            });
        }
        Ok(out)
    }

    /// Marks a document withdrawn. Errors if there is no such document.
    pub fn withdraw(&mut self, id: &DocId, reason: &str, at: &str) -> Result<()> {
        let n = self.conn.execute(
            "UPDATE documents SET withdrawn_reason = ?2, withdrawn_at = ?3 WHERE id = ?1",
            params![id.as_str(), reason, at],
        )?;
        if n == 0 {
            return Err(CatalogError(format!(
                "no document with id {id} in the archive"
            )));
        }
        Ok(())
    }

    /// All published records, by document id.
    pub fn records(&self) -> Result<std::collections::HashMap<String, RecordState>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id, inputs, sha256, len FROM records")?;
        let rows = stmt.query_map([], |row| {
            Ok((
                row.get::<_, String>(0)?,
                RecordState {
                    inputs: row.get(1)?,
                    blob: Blob {
                        sha256: row.get(2)?,
                        len: row.get::<_, i64>(3)? as u64,
                    },
                },
            ))
        })?;
        let mut out = std::collections::HashMap::new();
        for row in rows {
            let (id, state) = row?;
            out.insert(id, state);
        }
        Ok(out)
    }

    pub fn meta(&self, key: &str) -> Result<Option<String>> {
        Ok(self
            .conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()?)
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<()> {
        self.conn.execute(
            "INSERT INTO meta (key, value) VALUES (?1, ?2)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            params![key, value],
        )?;
        Ok(())
    }
}

/// The write side of one transaction.
pub struct Tx<'a> {
    tx: &'a rusqlite::Transaction<'a>,
}

impl Tx<'_> {
    pub fn source(&self, path: &str) -> Result<Option<SourceState>> {
        source(self.tx, path)
    }

    pub fn document(&self, id: &DocId) -> Result<Option<Document>> {
        document(self.tx, id)
    }

    /// The source file of a document, when there is one with this id.
    pub fn source_of(&self, id: &DocId) -> Result<Option<String>> {
        Ok(self
            .tx
            .query_row(
                "SELECT source_file FROM documents WHERE id = ?1",
                [id.as_str()],
                |r| r.get(0),
            )
            .optional()?)
    }

    /// The id of a document (from another source file) with the same original bytes.
    pub fn same_original(&self, sha256: &str, source_file: &str) -> Result<Option<String>> {
        Ok(self
            .tx
            .query_row(
                "SELECT id FROM documents WHERE original_sha = ?1 AND source_file <> ?2 LIMIT 1",
                params![sha256, source_file],
                |r| r.get(0),
            )
            .optional()?)
    }

    pub fn put_source(&self, path: &str, state: &SourceState) -> Result<()> {
        self.tx.execute(
            "INSERT INTO sources (path, size, mtime_ns, sha256) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns,
             sha256 = excluded.sha256",
            params![path, state.size as i64, state.mtime_ns as i64, state.sha256],
        )?;
        Ok(())
    }

    /// Inserts or replaces a document (a re-added, changed file updates its documents in place;
    /// a withdrawal stays in force).
    pub fn put_document(&self, doc: &Document, source_file: &str) -> Result<()> {
        let json = serde_json::to_string(doc)?;
        let message_id = doc.email.as_ref().and_then(|e| e.message_id.clone());
        self.tx.execute(
            "INSERT INTO documents (id, doc, source_file, original_sha, message_id)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(id) DO UPDATE SET doc = excluded.doc, source_file = excluded.source_file,
             original_sha = excluded.original_sha, message_id = excluded.message_id",
            params![
                doc.id.as_str(),
                json,
                source_file,
                doc.original.sha256,
                message_id
            ],
        )?;
        Ok(())
    }

    pub fn put_record(&self, id: &DocId, state: &RecordState) -> Result<()> {
        self.tx.execute(
            "INSERT INTO records (id, inputs, sha256, len) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(id) DO UPDATE SET inputs = excluded.inputs, sha256 = excluded.sha256,
             len = excluded.len",
            params![
                id.as_str(),
                state.inputs,
                state.blob.sha256,
                state.blob.len as i64
            ],
        )?;
        Ok(())
    }
}

fn source(conn: &Connection, path: &str) -> Result<Option<SourceState>> {
    Ok(conn
        .query_row(
            "SELECT size, mtime_ns, sha256 FROM sources WHERE path = ?1",
            [path],
            |r| {
                Ok(SourceState {
                    size: r.get::<_, i64>(0)? as u64,
                    mtime_ns: r.get::<_, i64>(1)? as i128,
                    sha256: r.get(2)?,
                })
            },
        )
        .optional()?)
}

fn document(conn: &Connection, id: &DocId) -> Result<Option<Document>> {
    let json: Option<String> = conn
        .query_row(
            "SELECT doc FROM documents WHERE id = ?1",
            [id.as_str()],
            |r| r.get(0),
        )
        .optional()?;
    Ok(match json {
        Some(json) => Some(serde_json::from_str(&json)?),
        None => None,
    })
}
