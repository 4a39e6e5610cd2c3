//! The catalog: one SQLite file (`catalog.sqlite`) that lists every document, every source file
//! seen (for incremental `add`), withdrawals, and the records a release published.
//!
//! SQLite because `add` and `release` must survive a crash at any moment: a transaction either
//! lands whole or not at all, and the WAL keeps readers and the writer apart.

use crate::error::{Error, ErrorKind};
use crate::model::{Blob, DocId, Document, Kind};
use crate::read::ocr::OcrTag;
use rusqlite::{Connection, OptionalExtension, params};
use std::borrow::Cow;
use std::path::Path;

/// The catalog's errors are the crate's ([`crate::Error`], kind [`ErrorKind::Catalog`] or
/// [`ErrorKind::NotFound`]).
pub type Result<T> = std::result::Result<T, Error>;

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
CREATE TABLE IF NOT EXISTS released_extra (
    name TEXT PRIMARY KEY,
    sha256 TEXT NOT NULL,
    len INTEGER NOT NULL
);
";

/// Indexes on added columns (after [`ADDED_COLUMNS`]): what a release from changes asks for;
/// and the documents of a source file, which `add` asks for every file it reads again.
const INDEXES: &str = "
CREATE INDEX IF NOT EXISTS documents_gen ON documents(gen);
CREATE INDEX IF NOT EXISTS documents_linked ON documents(id) WHERE links_in IS NOT NULL;
CREATE INDEX IF NOT EXISTS records_unplaced ON records(id) WHERE placed = 0;
CREATE INDEX IF NOT EXISTS records_linked ON records(id) WHERE links <> '{}';
CREATE INDEX IF NOT EXISTS documents_withdrawn ON documents(id) WHERE withdrawn_reason IS NOT NULL;
CREATE INDEX IF NOT EXISTS documents_source ON documents(source_file);
";

/// Columns added after the first schema, with their definitions: `open` adds those missing, so
/// an older catalog upgrades in place (rows written before have them NULL, and a release fills
/// them in as it checks those rows the old way, once).
///
/// - `documents.doc_sha`: SHA-256 (hex) of the `doc` text, so a release knows an unchanged
///   document without parsing it;
/// - `records.doc_sha`, `records.links`: the `doc_sha` and the links (JSON) the record was built
///   from: equal to the current ones, the record is up to date;
/// - `records.placed`: 1 once the record is in a committed release (its targets in
///   `release/targets`, durable); a rebuilt record row starts at 0;
/// - `documents.gen`: when the row last changed (added, replaced, withdrawn), counting up; a
///   release remembers the highest it included (meta `released_gen`), and the next one reads
///   only the rows changed since;
/// - `documents.links_in`: what the document's links are computed from ([`LinkInputs`], JSON),
///   for e-mail and attachments only, so that threads are computed without every document;
/// - `records.original`: the original's target name in the committed release, so that a
///   release from changes can remove it when it changes or the document is withdrawn.
/// - `sources.ocr`: what OCR did for the file's documents ([`OcrTag::as_column`]), NULL when it
///   had no say; a catalog that kept it after the hash (`sources.sha256` = `HEX ocr=TAG`) has
///   it split out when the column is added ([`split_ocr_tags`]).
const ADDED_COLUMNS: &[(&str, &str, &str)] = &[
    ("documents", "doc_sha", "TEXT"),
    ("records", "doc_sha", "TEXT"),
    ("records", "links", "TEXT"),
    ("records", "placed", "INTEGER NOT NULL DEFAULT 0"),
    ("documents", "gen", "INTEGER"),
    ("documents", "links_in", "TEXT"),
    ("records", "original", "TEXT"),
    ("sources", "ocr", "TEXT"),
];

/// Moves the OCR tag that older catalogs kept after a source's hash (`HEX ocr=TAG`) to
/// `sources.ocr`, leaving the hash alone in `sha256`.
fn split_ocr_tags(conn: &Connection) -> Result<()> {
    conn.execute(
        "UPDATE sources SET ocr = substr(sha256, instr(sha256, ' ocr=') + 5),
         sha256 = substr(sha256, 1, instr(sha256, ' ocr=') - 1)
         WHERE instr(sha256, ' ocr=') > 0",
        [],
    )?;
    Ok(())
}

/// What a document's links (thread, replies, attachments) are computed from.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct LinkInputs<'a> {
    pub kind: Option<Kind>,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    pub message_id: Option<Cow<'a, str>>,
    #[serde(default, borrow, skip_serializing_if = "Vec::is_empty")]
    pub in_reply_to: Vec<Cow<'a, str>>,
    #[serde(default, borrow, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<Cow<'a, str>>,
    #[serde(default, borrow, skip_serializing_if = "Option::is_none")]
    pub parent: Option<Cow<'a, str>>,
}

/// The headers that link an e-mail into its thread, borrowed from wherever the document is
/// read: a [`Document`]'s [`EmailHeaders`](crate::EmailHeaders), or a release's lighter parse of
/// the same stored JSON (`release::records::DocLite`).
pub struct ThreadHeaders<'a, S> {
    pub message_id: Option<&'a str>,
    pub in_reply_to: &'a [S],
    pub references: &'a [S],
}

impl<'a> LinkInputs<'a> {
    /// The one rule for what a document's links are computed from: an e-mail's Message-ID,
    /// In-Reply-To and References and an attachment's parent; `None` when it can have no links
    /// of its own (neither an e-mail nor an attachment: it can still be the parent of one).
    ///
    /// Both roads to a release's threads come here: the catalog's `documents.links_in` (what an
    /// incremental release reads, through [`LinkInputs::of`]) and a full release's reading of
    /// every stored document. Were there two rules, an incremental release and a full one could
    /// compute different threads.
    pub fn from_parts<S: AsRef<str>>(
        kind: Kind,
        email: Option<ThreadHeaders<'a, S>>,
        parent: Option<&'a str>,
    ) -> Option<LinkInputs<'a>> {
        if email.is_none() && parent.is_none() {
            return None;
        }
        let borrow = |ids: &'a [S]| ids.iter().map(|m| Cow::Borrowed(m.as_ref())).collect();
        Some(LinkInputs {
            kind: Some(kind),
            message_id: email.as_ref().and_then(|e| e.message_id).map(Cow::Borrowed),
            in_reply_to: email
                .as_ref()
                .map_or_else(Vec::new, |e| borrow(e.in_reply_to)),
            references: email
                .as_ref()
                .map_or_else(Vec::new, |e| borrow(e.references)),
            parent: parent.map(Cow::Borrowed),
        })
    }

    /// Those of `doc` ([`LinkInputs::from_parts`]).
    pub fn of(doc: &'a Document) -> Option<LinkInputs<'a>> {
        let email = doc.email.as_ref().map(|e| ThreadHeaders {
            message_id: e.message_id.as_deref(),
            in_reply_to: &e.in_reply_to[..],
            references: &e.references[..],
        });
        LinkInputs::from_parts(doc.kind, email, doc.parent.as_ref().map(DocId::as_str))
    }

    fn json_of(doc: &Document) -> Result<Option<String>> {
        Ok(match LinkInputs::of(doc) {
            Some(inputs) => Some(serde_json::to_string(&inputs)?),
            None => None,
        })
    }
}

/// What the catalog remembers of a source file, to skip it when unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceState {
    pub size: u64,
    pub mtime_ns: i128,
    /// SHA-256 (hex) of the file (with a sidecar, of both hashes), nothing else.
    pub sha256: String,
    /// What OCR did for its documents; `None` when it had no say.
    pub ocr: Option<OcrTag>,
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

/// What a release reads of one document: its stored JSON (parsed only as far as needed) and the
/// state of its record, in one pass over the catalog.
#[derive(Debug, Clone)]
pub struct ReleaseRow {
    pub id: String,
    /// The document, as stored (JSON).
    pub doc: String,
    /// SHA-256 (hex) of `doc`; `None` for a row written before the column existed.
    pub doc_sha: Option<String>,
    pub record: Option<RecordRow>,
}

/// The stored state of a document's record.
#[derive(Debug, Clone)]
pub struct RecordRow {
    pub state: RecordState,
    /// The `doc_sha` and links (JSON) it was built from; `None` for a row written before.
    pub doc_sha: Option<String>,
    pub links: Option<String>,
    /// The record is in the committed release (its targets in `release/targets`, durable).
    pub placed: bool,
    /// The original's target name in the committed release (`None`: not known).
    pub original: Option<String>,
}

/// A document changed since a release: its row (its record's state as the committed release
/// has it), or that it was withdrawn.
#[derive(Debug, Clone)]
pub struct ChangedRow {
    pub row: ReleaseRow,
    pub withdrawn: bool,
}

/// An e-mail or attachment: what its links are computed from, and those its record was built
/// with.
#[derive(Debug, Clone)]
pub struct LinkRow {
    pub id: String,
    /// [`LinkInputs`], JSON.
    pub links_in: String,
    pub record_links: Option<String>,
}

/// What the committed release was made from: its snapshot version and the highest
/// `documents.gen` it included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Released {
    pub version: u64,
    pub generation: i64,
}

const RELEASE_COLUMNS: &str = "d.id, d.doc, d.doc_sha, r.inputs, r.sha256, r.len, r.doc_sha, \
    r.links, r.placed, r.original";

fn release_row(row: &rusqlite::Row<'_>) -> rusqlite::Result<ReleaseRow> {
    let inputs: Option<String> = row.get(3)?;
    let record = match inputs {
        Some(inputs) => Some(RecordRow {
            state: RecordState {
                inputs,
                blob: Blob {
                    sha256: row.get(4)?,
                    len: row.get::<_, i64>(5)? as u64,
                },
            },
            doc_sha: row.get(6)?,
            links: row.get(7)?,
            placed: row.get::<_, i64>(8)? != 0,
            original: row.get(9)?,
        }),
        None => None,
    };
    Ok(ReleaseRow {
        id: row.get(0)?,
        doc: row.get(1)?,
        doc_sha: row.get(2)?,
        record,
    })
}

/// SHA-256 (hex) of a document's stored JSON: `documents.doc_sha`.
pub fn doc_sha(json: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(json.as_bytes()))
}

pub struct Catalog {
    conn: Connection,
}

impl Catalog {
    pub fn open(path: &Path) -> Result<Catalog> {
        let mut conn = Connection::open(path)
            .map_err(|e| Error::catalog(format!("{}: cannot open catalog: {e}", path.display())))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        // A large page cache; no memory map (SQLite's default): a release with the reader site
        // reads every row, and every mapped page it touched counted in its RSS (+170 MiB at 250k).
        conn.pragma_update(None, "cache_size", -65536)?;
        conn.execute_batch(SCHEMA)?;
        // The columns added and what moves into them land together, or not at all.
        let tx = conn.transaction()?;
        let mut added = Vec::new();
        for (table, column, definition) in ADDED_COLUMNS {
            let exists: bool = tx.query_row(
                &format!("SELECT count(*) FROM pragma_table_info('{table}') WHERE name = ?1"),
                [column],
                |r| r.get::<_, i64>(0).map(|n| n > 0),
            )?;
            if !exists {
                tx.execute_batch(&format!(
                    "ALTER TABLE {table} ADD COLUMN {column} {definition}"
                ))?;
                added.push(*column);
            }
        }
        if added.contains(&"ocr") {
            split_ocr_tags(&tx)?;
        }
        tx.commit()?;
        conn.execute_batch(INDEXES)?;
        let mut catalog = Catalog { conn };
        if added.contains(&"links_in") {
            catalog.fill_links_in()?;
        }
        Ok(catalog)
    }

    /// Fills in `documents.links_in` of rows written before the column existed (once).
    fn fill_links_in(&mut self) -> Result<()> {
        self.transaction(|tx| {
            let mut select = tx.tx.prepare("SELECT id, doc FROM documents")?;
            let mut update = tx
                .tx
                .prepare("UPDATE documents SET links_in = ?2 WHERE id = ?1")?;
            let rows =
                select.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?;
            for row in rows {
                let (id, doc) = row?;
                let doc: Document = serde_json::from_str(&doc)?;
                if let Some(links_in) = LinkInputs::json_of(&doc)? {
                    update.execute(params![id, links_in])?;
                }
            }
            Ok(())
        })
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

    /// Every document that is not withdrawn, in id order, with the state of its record.
    pub fn release_rows(&self) -> Result<Vec<ReleaseRow>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {RELEASE_COLUMNS} FROM documents d LEFT JOIN records r ON r.id = d.id
             WHERE d.withdrawn_reason IS NULL ORDER BY d.id"
        ))?;
        let rows = stmt.query_map([], release_row)?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// The documents (published or not) with these ids, in the order given, those there are.
    pub fn release_rows_of(&self, ids: &[&str]) -> Result<Vec<ReleaseRow>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {RELEASE_COLUMNS} FROM documents d LEFT JOIN records r ON r.id = d.id
             WHERE d.id = ?1 AND d.withdrawn_reason IS NULL"
        ))?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(row) = stmt.query_row([id], release_row).optional()? {
                out.push(row);
            }
        }
        Ok(out)
    }

    /// The highest `gen` of any document (0 if none).
    pub fn max_gen(&self) -> Result<i64> {
        Ok(self
            .conn
            .query_row("SELECT coalesce(max(gen), 0) FROM documents", [], |r| {
                r.get(0)
            })?)
    }

    /// Documents changed after generation `after` up to `upto` (added, replaced or withdrawn), in id order.
    pub fn changed_since(&self, after: i64, upto: i64) -> Result<Vec<ChangedRow>> {
        let mut stmt = self.conn.prepare(&format!(
            "SELECT {RELEASE_COLUMNS}, d.withdrawn_reason IS NOT NULL
             FROM documents d LEFT JOIN records r ON r.id = d.id
             WHERE d.gen > ?1 AND d.gen <= ?2 ORDER BY d.id"
        ))?;
        let rows = stmt.query_map(params![after, upto], |row| {
            Ok(ChangedRow {
                row: release_row(row)?,
                withdrawn: row.get(10)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Published documents whose record is not in the committed release (built by a release
    /// that did not commit).
    pub fn unplaced(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare(
            "SELECT r.id FROM records r JOIN documents d ON d.id = r.id
             WHERE r.placed = 0 AND d.withdrawn_reason IS NULL ORDER BY r.id",
        )?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Every published e-mail and attachment, in id order: what links are computed from.
    pub fn link_rows(&self) -> Result<Vec<LinkRow>> {
        let mut stmt = self.conn.prepare(
            "SELECT d.id, d.links_in, r.links FROM documents d LEFT JOIN records r ON r.id = d.id
             WHERE d.links_in IS NOT NULL AND d.withdrawn_reason IS NULL ORDER BY d.id",
        )?;
        let rows = stmt.query_map([], |r| {
            Ok(LinkRow {
                id: r.get(0)?,
                links_in: r.get(1)?,
                record_links: r.get(2)?,
            })
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Published documents whose record was built with links.
    pub fn linked_records(&self) -> Result<Vec<String>> {
        let mut stmt = self.conn.prepare(
            "SELECT r.id FROM records r JOIN documents d ON d.id = r.id
             WHERE r.links <> '{}' AND d.withdrawn_reason IS NULL ORDER BY r.id",
        )?;
        let rows = stmt.query_map([], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// Which of `ids` are published documents.
    pub fn published(&self, ids: &[&str]) -> Result<Vec<String>> {
        let mut stmt = self
            .conn
            .prepare("SELECT id FROM documents WHERE id = ?1 AND withdrawn_reason IS NULL")?;
        let mut out = Vec::new();
        for id in ids {
            if let Some(id) = stmt.query_row([id], |r| r.get(0)).optional()? {
                out.push(id);
            }
        }
        Ok(out)
    }

    /// The targets besides documents' (the site, the tombstones) in the committed release.
    pub fn released_extra(&self) -> Result<Vec<(String, Blob)>> {
        let mut stmt = self
            .conn
            .prepare("SELECT name, sha256, len FROM released_extra ORDER BY name")?;
        let rows = stmt.query_map([], |r| {
            Ok((
                r.get(0)?,
                Blob {
                    sha256: r.get(1)?,
                    len: r.get::<_, i64>(2)? as u64,
                },
            ))
        })?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
    }

    /// What the committed release was made from, if a release recorded it.
    pub fn released(&self) -> Result<Option<Released>> {
        let version = self.meta("released_version")?.and_then(|v| v.parse().ok());
        let generation = self.meta("released_gen")?.and_then(|v| v.parse().ok());
        Ok(version
            .zip(generation)
            .map(|(version, generation)| Released {
                version,
                generation,
            }))
    }

    /// Published documents: all but the withdrawn (two index counts, not a scan of every row).
    pub fn count(&self) -> Result<u64> {
        let n: i64 = self.conn.query_row(
            "SELECT (SELECT count(*) FROM documents)
             - (SELECT count(*) FROM documents WHERE withdrawn_reason IS NOT NULL)",
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
            let id = DocId::new(&id).map_err(Error::catalog)?;
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
        self.transaction(|tx| tx.withdraw(id, reason, at))
    }

    /// The source files recorded under the folder `dir` (a catalog key, `/`-separated), in order.
    pub fn sources_under(&self, dir: &str) -> Result<Vec<String>> {
        let dir = dir.trim_end_matches('/');
        // Every key that starts with `dir/`: from `dir/` up to `dir0` ('0' follows '/').
        let mut stmt = self
            .conn
            .prepare("SELECT path FROM sources WHERE path >= ?1 AND path < ?2 ORDER BY path")?;
        let rows = stmt.query_map(params![format!("{dir}/"), format!("{dir}0")], |r| r.get(0))?;
        Ok(rows.collect::<rusqlite::Result<_>>()?)
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

    /// Marks a document withdrawn. Errors if there is no such document.
    pub fn withdraw(&self, id: &DocId, reason: &str, at: &str) -> Result<()> {
        let n = self.tx.execute(
            "UPDATE documents SET withdrawn_reason = ?2, withdrawn_at = ?3,
             gen = (SELECT coalesce(max(gen), 0) + 1 FROM documents) WHERE id = ?1",
            params![id.as_str(), reason, at],
        )?;
        if n == 0 {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!("no document with id {id} in the archive"),
            ));
        }
        Ok(())
    }

    /// The documents (not withdrawn) read from the source file `key`, with their sources, in id order.
    pub fn documents_of_source(&self, key: &str) -> Result<Vec<(DocId, String)>> {
        let mut stmt = self.tx.prepare_cached(
            "SELECT id, doc FROM documents WHERE source_file = ?1 AND withdrawn_reason IS NULL
             ORDER BY id",
        )?;
        let rows = stmt.query_map([key], |r| {
            Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (id, doc) = row?;
            let doc: Document = serde_json::from_str(&doc)?;
            out.push((DocId::new(&id).map_err(Error::catalog)?, doc.source));
        }
        Ok(out)
    }

    /// Forgets a source file (it is gone), so that it is reported once.
    pub fn delete_source(&self, path: &str) -> Result<()> {
        self.tx
            .execute("DELETE FROM sources WHERE path = ?1", [path])?;
        Ok(())
    }

    pub fn put_source(&self, path: &str, state: &SourceState) -> Result<()> {
        self.tx.execute(
            "INSERT INTO sources (path, size, mtime_ns, sha256, ocr) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(path) DO UPDATE SET size = excluded.size, mtime_ns = excluded.mtime_ns,
             sha256 = excluded.sha256, ocr = excluded.ocr",
            params![
                path,
                state.size as i64,
                state.mtime_ns as i64,
                state.sha256,
                state.ocr.as_ref().map(OcrTag::as_column)
            ],
        )?;
        Ok(())
    }

    /// Inserts or replaces a document (a re-added, changed file updates its documents in place;
    /// a withdrawal stays in force). Returns whether the row changed.
    pub fn put_document(&self, doc: &Document, source_file: &str) -> Result<bool> {
        let json = serde_json::to_string(doc)?;
        let message_id = doc.email.as_ref().and_then(|e| e.message_id.clone());
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO documents (id, doc, source_file, original_sha, message_id, doc_sha,
             links_in, gen)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, (SELECT coalesce(max(gen), 0) + 1 FROM documents))
             ON CONFLICT(id) DO UPDATE SET doc = excluded.doc, source_file = excluded.source_file,
             original_sha = excluded.original_sha, message_id = excluded.message_id,
             doc_sha = excluded.doc_sha, links_in = excluded.links_in, gen = excluded.gen
             WHERE doc_sha IS NOT excluded.doc_sha OR source_file <> excluded.source_file",
        )?;
        let changed = stmt.execute(params![
            doc.id.as_str(),
            json,
            source_file,
            doc.original.sha256,
            message_id,
            doc_sha(&json),
            LinkInputs::json_of(doc)?
        ])?;
        Ok(changed > 0)
    }

    /// Stores a (re)built record, not yet placed; `built_from` is the `doc_sha` and links (JSON)
    /// it was built from, when known.
    pub fn put_record_built_from(
        &self,
        id: &DocId,
        state: &RecordState,
        built_from: Option<(&str, &str)>,
    ) -> Result<()> {
        let mut stmt = self.tx.prepare_cached(
            "INSERT INTO records (id, inputs, sha256, len, doc_sha, links, placed)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, 0)
             ON CONFLICT(id) DO UPDATE SET inputs = excluded.inputs, sha256 = excluded.sha256,
             len = excluded.len, doc_sha = excluded.doc_sha, links = excluded.links, placed = 0",
        )?;
        stmt.execute(params![
            id.as_str(),
            state.inputs,
            state.blob.sha256,
            state.blob.len as i64,
            built_from.map(|b| b.0),
            built_from.map(|b| b.1)
        ])?;
        Ok(())
    }

    /// Records what an up-to-date record (checked the old way, by its inputs digest) was built
    /// from, so the next release knows it without a digest.
    pub fn set_record_built_from(&self, id: &str, doc_sha: &str, links: &str) -> Result<()> {
        let mut stmt = self
            .tx
            .prepare_cached("UPDATE records SET doc_sha = ?2, links = ?3 WHERE id = ?1")?;
        stmt.execute(params![id, doc_sha, links])?;
        Ok(())
    }

    /// Fills in `documents.doc_sha` of a row written before the column existed.
    pub fn set_doc_sha(&self, id: &str, doc_sha: &str) -> Result<()> {
        let mut stmt = self
            .tx
            .prepare_cached("UPDATE documents SET doc_sha = ?2 WHERE id = ?1")?;
        stmt.execute(params![id, doc_sha])?;
        Ok(())
    }

    /// Marks a document's record as in the committed release, with its original's target name.
    pub fn set_released(&self, id: &str, original: &str) -> Result<()> {
        let mut stmt = self
            .tx
            .prepare_cached("UPDATE records SET placed = 1, original = ?2 WHERE id = ?1")?;
        stmt.execute(params![id, original])?;
        Ok(())
    }

    /// Records an extra target of the committed release (`None`: no longer in it).
    pub fn set_released_extra(&self, name: &str, blob: Option<&Blob>) -> Result<()> {
        match blob {
            Some(blob) => {
                let mut stmt = self.tx.prepare_cached(
                    "INSERT INTO released_extra (name, sha256, len) VALUES (?1, ?2, ?3)
                     ON CONFLICT(name) DO UPDATE SET sha256 = excluded.sha256, len = excluded.len",
                )?;
                stmt.execute(params![name, blob.sha256, blob.len as i64])?;
            }
            None => {
                let mut stmt = self
                    .tx
                    .prepare_cached("DELETE FROM released_extra WHERE name = ?1")?;
                stmt.execute(params![name])?;
            }
        }
        Ok(())
    }

    /// Records what the committed release was made from (see [`Catalog::released`]).
    pub fn set_released_state(&self, released: Released) -> Result<()> {
        for (key, value) in [
            ("released_version", released.version.to_string()),
            ("released_gen", released.generation.to_string()),
        ] {
            self.tx.execute(
                "INSERT INTO meta (key, value) VALUES (?1, ?2)
                 ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                params![key, value],
            )?;
        }
        Ok(())
    }
}

fn source(conn: &Connection, path: &str) -> Result<Option<SourceState>> {
    Ok(conn
        .query_row(
            "SELECT size, mtime_ns, sha256, ocr FROM sources WHERE path = ?1",
            [path],
            |r| {
                Ok(SourceState {
                    size: r.get::<_, i64>(0)? as u64,
                    mtime_ns: r.get::<_, i64>(1)? as i128,
                    sha256: r.get(2)?,
                    ocr: r
                        .get::<_, Option<String>>(3)?
                        .map(|tag| OcrTag::from_column(&tag)),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_say_whether_the_catalog_failed_or_the_document_is_not_there() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let mut catalog = Catalog::open(&tmp.path().join("catalog.sqlite")).expect("open");
        let id = DocId::new("absent").expect("id");
        let error = catalog
            .transaction(|tx| tx.withdraw(&id, "why", "2002-08-21T00:00:00Z"))
            .expect_err("no such document");
        assert_eq!(error.kind(), ErrorKind::NotFound);
        assert_eq!(error.message(), "no document with id absent in the archive");
        let error = Catalog::open(&tmp.path().join("missing/catalog.sqlite"))
            .err()
            .expect("no folder");
        assert_eq!(error.kind(), ErrorKind::Catalog);
        assert!(error.to_string().contains("cannot open catalog"), "{error}");
    }
}
