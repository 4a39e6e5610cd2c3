//! Legal blocks: this mirror's own decision, on a court's order, not to serve one document
//! (451 Unavailable For Legal Reasons, RFC 7725), made in public.
//!
//! The one state file is the transparency log `DIR/blocks.json`, served as it is at
//! [`BLOCKS_PATH`]: the mirror's public key and every block and unblock ever made, in order,
//! each entry signed by the mirror's own ed25519 key (`DIR/mirror.key`, 0600, made by `mirror
//! init` or by the first block) over the canonical JSON of its record, and chained to the one
//! before by `prev`, the SHA-256 of that record's canonical JSON. The blocks in force are the
//! log replayed ([`verify`]), so the server, `samizdat block` and `samizdat verify-blocks`
//! read it through the one function, and an entry cannot be changed, dropped or moved without
//! breaking a signature or the chain. Dropping the newest entries is seen by a reader who
//! remembered the head: `verify-blocks` prints it, and `--since HEAD` refuses a log that does
//! not extend it ([`Verified::extends`]).
//!
//! [`block`] and [`unblock`] append under `DIR/blocks.lock` (two commands wait for each other
//! instead of racing) and replace the file atomically, fsynced; a running mirror notices the
//! file changed within 100 ms (`run`) and serves a new load of its release with the blocked
//! documents hidden (`Served::load_hiding`), which empties its caches. The document stays in
//! the release and in sync: nothing is deleted, nothing re-signed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use trust::keys::{PublicKey, SigningKey};
use trust::schema::Digest;

use crate::{Error, ErrorKind, Result};

/// The log, in the mirror's folder.
pub const LOG_FILE: &str = "blocks.json";
/// The mirror's own signing key (PKCS#8 DER, 0600): it signs the log, nothing else.
pub const KEY_FILE: &str = "mirror.key";
/// Held while a block or unblock is appended.
const LOCK_FILE: &str = "blocks.lock";
/// Where the log is served.
pub const BLOCKS_PATH: &str = "/.well-known/samizdat/blocks.json";
/// The largest log read (from disk or from a mirror): 16 MiB, some 30,000 entries.
pub const LOG_MAX: u64 = 16 << 20;
/// The `prev` of the first entry.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
/// How long a block or unblock waits for another to finish.
const LOCK_WAIT: Duration = Duration::from_secs(10);
/// The longest authority or reference kept.
const TEXT_MAX: usize = 500;

/// Who ordered a block, as the 451 page shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Order {
    /// The court or authority that ordered it.
    pub authority: String,
    /// Its reference (case number, decision).
    pub reference: String,
    /// Where the order is published (`Link: <URL>; rel="blocked-by"`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    /// ISO 3166-1 alpha-2 code of the jurisdiction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jurisdiction: Option<String>,
}

impl Order {
    /// Why the order cannot be recorded, if it cannot: empty or over-long texts, control
    /// characters, a URL that is not plain http(s) (it goes into a header and a page), a
    /// jurisdiction that is not two capital letters.
    pub fn check(&self) -> std::result::Result<(), String> {
        for (what, value) in [
            ("authority", &self.authority),
            ("reference", &self.reference),
        ] {
            if value.trim().is_empty() || value.chars().count() > TEXT_MAX {
                return Err(format!("{what}: expected 1 to {TEXT_MAX} characters"));
            }
            if value.chars().any(char::is_control) {
                return Err(format!("{what} {value:?}: control characters"));
            }
        }
        if let Some(url) = &self.url {
            let plain = url.starts_with("https://") || url.starts_with("http://");
            let clean = url.len() <= 2048
                && url
                    .bytes()
                    .all(|b| b.is_ascii_graphic() && !b"<>\"\\'`".contains(&b));
            if !plain || !clean {
                return Err(format!(
                    "url {url:?}: expected an http:// or https:// URL of printable ASCII without quotes or <>"
                ));
            }
        }
        if let Some(code) = &self.jurisdiction
            && !(code.len() == 2 && code.bytes().all(|b| b.is_ascii_uppercase()))
        {
            return Err(format!(
                "jurisdiction {code:?}: expected an ISO 3166-1 alpha-2 code such as DE"
            ));
        }
        Ok(())
    }
}

/// What an entry did.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    Block,
    Unblock,
}

/// The signed part of an entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    /// 1 for the first entry, then one more each.
    pub seq: u64,
    /// Hex SHA-256 of the canonical JSON of the record before ([`GENESIS`] for the first).
    pub prev: String,
    /// Unix seconds.
    pub at: i64,
    pub action: Action,
    pub id: String,
    /// The order, for a block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<Order>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Entry {
    pub signed: Record,
    /// Hex ed25519 signature of the canonical JSON of `signed`.
    pub signature: String,
}

/// The file: the key that signs it and the entries.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Log {
    /// Hex ed25519 public key.
    mirror_key: String,
    entries: Vec<Entry>,
}

/// A log that verified: its key, its entries, the blocks in force.
#[derive(Debug, Clone)]
pub struct Verified {
    pub key: PublicKey,
    pub entries: Vec<Entry>,
    /// Document id → its order.
    pub blocked: BTreeMap<String, Order>,
    /// Hex SHA-256 of the newest record (the head a reader may remember), or [`GENESIS`].
    pub head: String,
    /// The head after each entry, in order.
    heads: Vec<String>,
}

impl Verified {
    /// Whether this log extends the one whose head was `head` (a head it had, or had since):
    /// a log that dropped its newest entries, or another log, does not.
    pub fn extends(&self, head: &str) -> bool {
        head.eq_ignore_ascii_case(GENESIS)
            || self.heads.iter().any(|h| h.eq_ignore_ascii_case(head))
    }
}

/// The blocks a server applies: those in force, and the log's bytes as it serves them.
#[derive(Debug, Clone, Default)]
pub struct Blocks {
    pub orders: BTreeMap<String, Order>,
    /// `blocks.json` as read (empty when the mirror has none).
    pub log: Bytes,
}

fn bad(message: impl Into<String>) -> Error {
    Error::new(ErrorKind::NotVerified, message)
}

fn canonical(record: &Record) -> Result<Vec<u8>> {
    trust::cjson::canonical(record).map_err(|e| Error::internal(e.to_string()))
}

/// Checks the log `bytes` (from `source`, named in every error): its form, then each entry in
/// order: its number, its link to the one before, its signature by the log's key (or
/// `expected_key`, hex, when given), and that it makes sense (a block of a valid id not
/// blocked, with a valid order; an unblock of a blocked one).
pub fn verify(source: &str, bytes: &[u8], expected_key: Option<&str>) -> Result<Verified> {
    let log: Log = serde_json::from_slice(bytes)
        .map_err(|e| bad(format!("{source}: not a blocks log: {e}")))?;
    if let Some(expected) = expected_key
        && !expected.eq_ignore_ascii_case(&log.mirror_key)
    {
        return Err(bad(format!(
            "{source}: signed by key {}, not the expected {expected}",
            log.mirror_key
        )));
    }
    let key = PublicKey::from_hex(&log.mirror_key)
        .map_err(|e| bad(format!("{source}: mirror_key: {e}")))?;
    let mut blocked = BTreeMap::new();
    let mut head = GENESIS.to_owned();
    let mut heads = Vec::with_capacity(log.entries.len());
    for (i, entry) in log.entries.iter().enumerate() {
        let record = &entry.signed;
        let what = format!("{source}: entry {}", i + 1);
        if record.seq != i as u64 + 1 {
            return Err(bad(format!("{what}: numbered {}", record.seq)));
        }
        if record.prev != head {
            return Err(bad(format!(
                "{what}: the chain is broken (prev {} is not the hash of entry {i})",
                record.prev
            )));
        }
        let bytes = canonical(record)?;
        let signature = hex::decode(&entry.signature).unwrap_or_default();
        if !key.verify(&bytes, &signature) {
            return Err(bad(format!("{what}: bad signature")));
        }
        apply(&mut blocked, record).map_err(|e| bad(format!("{what}: {e}")))?;
        head = Digest::of(&bytes).to_hex();
        heads.push(head.clone());
    }
    Ok(Verified {
        key,
        entries: log.entries,
        blocked,
        head,
        heads,
    })
}

/// The blocks in force after `record`, or why it cannot follow them.
fn apply(
    blocked: &mut BTreeMap<String, Order>,
    record: &Record,
) -> std::result::Result<(), String> {
    common::DocId::new(&record.id)?;
    match (record.action, &record.order) {
        (Action::Block, Some(order)) => {
            order.check()?;
            if blocked.contains_key(&record.id) {
                return Err(format!("{} is blocked already", record.id));
            }
            blocked.insert(record.id.clone(), order.clone());
        }
        (Action::Unblock, None) => {
            if blocked.remove(&record.id).is_none() {
                return Err(format!("{} is not blocked", record.id));
            }
        }
        (Action::Block, None) => return Err("a block without its order".into()),
        (Action::Unblock, Some(_)) => return Err("an unblock with an order".into()),
    }
    Ok(())
}

fn log_path(dir: &Path) -> PathBuf {
    dir.join(LOG_FILE)
}

/// The blocks the mirror in `dir` applies: its log, verified against its own key (none when
/// it has no log). An unreadable or broken log is an error, never "no blocks".
pub fn read(dir: &Path) -> Result<Blocks> {
    let path = log_path(dir);
    let bytes = match read_capped(&path)? {
        Some(bytes) => bytes,
        None => return Ok(Blocks::default()),
    };
    let verified = verify(&path.display().to_string(), &bytes, None)?;
    Ok(Blocks {
        orders: verified.blocked,
        log: Bytes::from(bytes),
    })
}

/// The file at `path`, none if it is not there; more than [`LOG_MAX`] bytes is an error.
fn read_capped(path: &Path) -> Result<Option<Vec<u8>>> {
    use std::io::Read;
    let file = match std::fs::File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::cannot("read", path, e)),
    };
    let mut bytes = Vec::new();
    file.take(LOG_MAX + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::cannot("read", path, e))?;
    if bytes.len() as u64 > LOG_MAX {
        return Err(bad(format!(
            "{}: larger than {LOG_MAX} bytes",
            path.display()
        )));
    }
    Ok(Some(bytes))
}

/// The mirror's key in `dir`, made (0600) if it has none yet; and its log, written empty if
/// there is none (so a new mirror serves its key from the start).
pub fn ensure_key(dir: &Path) -> Result<SigningKey> {
    let path = dir.join(KEY_FILE);
    let key = if path.exists() {
        SigningKey::read(&path).map_err(|e| Error::io(&path, e))?
    } else {
        let key = SigningKey::generate();
        key.write_new(&path).map_err(|e| Error::io(&path, e))?;
        key
    };
    if !log_path(dir).exists() {
        write_log(dir, &key, Vec::new())?;
    }
    Ok(key)
}

fn write_log(dir: &Path, key: &SigningKey, entries: Vec<Entry>) -> Result<()> {
    let log = Log {
        mirror_key: key.public().to_hex(),
        entries,
    };
    let mut bytes = serde_json::to_vec_pretty(&log).map_err(|e| Error::internal(e.to_string()))?;
    bytes.push(b'\n');
    let path = log_path(dir);
    common::files::write_atomic(&path, &bytes, common::files::Durability::Fsync)
        .map_err(|e| Error::new(ErrorKind::Io, e.to_string()))
}

/// Holds `DIR/blocks.lock`, waiting up to [`LOCK_WAIT`] for another block or unblock.
fn lock(dir: &Path) -> Result<common::files::FolderLock> {
    if !dir.join("root.json").exists() {
        return Err(Error::new(
            ErrorKind::Config,
            format!("{}: not a mirror folder (no root.json)", dir.display()),
        ));
    }
    let path = dir.join(LOCK_FILE);
    let started = Instant::now();
    loop {
        match common::files::lock_folder(&path) {
            Ok(lock) => return Ok(lock),
            Err(common::files::LockError::Held) if started.elapsed() < LOCK_WAIT => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Err(common::files::LockError::Held) => {
                return Err(Error::new(
                    ErrorKind::Locked,
                    format!(
                        "{}: another block or unblock held it for {} s",
                        path.display(),
                        LOCK_WAIT.as_secs()
                    ),
                ));
            }
            Err(common::files::LockError::Io(e)) => return Err(Error::cannot("lock", &path, e)),
        }
    }
}

/// Blocks document `id` on the mirror in `dir` by `order`: the entry appended to the log and
/// returned. A running mirror answers 451 for it within the second.
pub fn block(dir: &Path, id: &str, order: Order, at: i64) -> Result<Entry> {
    append(dir, Action::Block, id, Some(order), at)
}

/// Lifts the block of `id`: the entry appended and returned.
pub fn unblock(dir: &Path, id: &str, at: i64) -> Result<Entry> {
    append(dir, Action::Unblock, id, None, at)
}

fn append(dir: &Path, action: Action, id: &str, order: Option<Order>, at: i64) -> Result<Entry> {
    let _lock = lock(dir)?;
    let key = ensure_key(dir)?;
    let path = log_path(dir);
    let bytes = read_capped(&path)?.unwrap_or_default();
    let expected = key.public().to_hex();
    let log = verify(&path.display().to_string(), &bytes, Some(&expected))?;
    let record = Record {
        seq: log.entries.len() as u64 + 1,
        prev: log.head,
        at,
        action,
        id: id.to_owned(),
        order,
    };
    let mut blocked = log.blocked;
    apply(&mut blocked, &record)
        .map_err(|e| Error::new(ErrorKind::Invalid, format!("{}: {e}", dir.display())))?;
    let entry = Entry {
        signature: hex::encode(key.sign(&canonical(&record)?)),
        signed: record,
    };
    let mut entries = log.entries;
    entries.push(entry.clone());
    write_log(dir, &key, entries)?;
    Ok(entry)
}

/// The 451 page for document `id`, blocked by `order`: plain HTML, no script, every value
/// escaped; who ordered it, and where else the archive is served.
pub fn notice(id: &str, order: &Order, elsewhere: &crate::served::Elsewhere) -> String {
    use common::html::escape;
    use std::fmt::Write;
    let mut page = format!(
        "<!doctype html>\n<html lang=\"en\">\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width\">\n\
         <title>451 Unavailable for legal reasons</title>\n\
         <h1>Unavailable for legal reasons</h1>\n\
         <p>This mirror does not serve the document <code>{id}</code>: a legal order binds it. \
         The document is not withdrawn by its publisher; other mirrors may serve it.</p>\n<dl>\n\
         <dt>Ordered by</dt><dd>{authority}</dd>\n<dt>Reference</dt><dd>{reference}</dd>\n",
        id = escape(id),
        authority = escape(&order.authority),
        reference = escape(&order.reference),
    );
    if let Some(code) = &order.jurisdiction {
        let _ = writeln!(page, "<dt>Jurisdiction</dt><dd>{}</dd>", escape(code));
    }
    if let Some(url) = &order.url {
        let _ = writeln!(
            page,
            "<dt>The order</dt><dd><a href=\"{0}\" rel=\"nofollow\">{0}</a></dd>",
            escape(url)
        );
    }
    page.push_str(
        "</dl>\n<p>Every block this mirror makes is published, signed, at \
        <a href=\"/.well-known/samizdat/blocks.json\">/.well-known/samizdat/blocks.json</a>.</p>\n",
    );
    let links = |page: &mut String, title: &str, urls: &[String]| {
        if urls.is_empty() {
            return;
        }
        let _ = writeln!(page, "<h2>{title}</h2>\n<ul>");
        for url in urls {
            let _ = writeln!(page, "<li><a href=\"{0}\">{0}</a></li>", escape(url));
        }
        page.push_str("</ul>\n");
    };
    links(&mut page, "Other mirrors", &elsewhere.mirrors);
    links(
        &mut page,
        "Lists of mirrors kept by directories",
        &elsewhere.directory_lists,
    );
    if elsewhere.mirrors.is_empty() && elsewhere.directory_lists.is_empty() {
        page.push_str("<p>The release names no other mirror.</p>\n");
    }
    page.push_str("</html>\n");
    page
}

/// Fetches `URL/.well-known/samizdat/blocks.json` (or `url` itself when it names the file)
/// and verifies it: unreachable, or not verified with what is wrong.
pub fn verify_url(url: &str, expected_key: Option<&str>, timeout: Duration) -> Result<Verified> {
    use trust::client::Transport;
    let file = BLOCKS_PATH.trim_start_matches('/');
    let base = url.strip_suffix(file).unwrap_or(url);
    let limits = net::Limits {
        request_timeout: timeout,
        connect_timeout: timeout.min(Duration::from_secs(10)),
        gzip: false,
    };
    let transport = net::HttpTransport::new(base, &limits);
    let source = format!("{}{file}", net::base_url(base));
    let bytes = transport.fetch(file, LOG_MAX).map_err(|e| {
        use trust::client::FetchError;
        match e {
            FetchError::TooLarge { limit } => bad(format!("{source}: larger than {limit} bytes")),
            FetchError::NotFound => Error::new(
                ErrorKind::Unreachable,
                format!("{source}: not found (404): not a samizdat mirror with a blocks log"),
            ),
            FetchError::Other(why) => Error::new(ErrorKind::Unreachable, why),
        }
    })?;
    verify(&source, &bytes, expected_key)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order() -> Order {
        Order {
            authority: "Landgericht Hamburg".into(),
            reference: "324 O 1/26".into(),
            url: Some("https://court.example/324-O-1-26".into()),
            jurisdiction: Some("DE".into()),
        }
    }

    fn mirror_dir() -> tempfile::TempDir {
        let tmp = tempfile::tempdir().expect("tempdir");
        std::fs::write(tmp.path().join("root.json"), "{}").expect("root");
        tmp
    }

    #[test]
    fn blocks_and_unblocks_replay_into_the_set_in_force() {
        let tmp = mirror_dir();
        assert!(read(tmp.path()).expect("none").orders.is_empty());
        block(tmp.path(), "doc-1", order(), 1).expect("block");
        block(tmp.path(), "doc-2", order(), 2).expect("block");
        unblock(tmp.path(), "doc-1", 3).expect("unblock");
        let blocks = read(tmp.path()).expect("read");
        assert_eq!(blocks.orders.keys().collect::<Vec<_>>(), ["doc-2"]);
        let mode = std::os::unix::fs::PermissionsExt::mode(
            &std::fs::metadata(tmp.path().join(KEY_FILE))
                .expect("key")
                .permissions(),
        );
        assert_eq!(mode & 0o777, 0o600);
        // Nonsense is refused, naming why, and leaves the log as it was.
        let again = block(tmp.path(), "doc-2", order(), 4).expect_err("twice");
        assert!(again.message().contains("blocked already"), "{again}");
        let unknown = unblock(tmp.path(), "doc-9", 4).expect_err("not blocked");
        assert!(unknown.message().contains("not blocked"), "{unknown}");
        let bad_id = block(tmp.path(), "../etc", order(), 4).expect_err("id");
        assert!(bad_id.message().contains("invalid document id"), "{bad_id}");
        let header_injection = Order {
            url: Some("https://x.example/>; rel=\"x\"".into()),
            ..order()
        };
        assert!(block(tmp.path(), "doc-3", header_injection, 4).is_err());
        let country = Order {
            jurisdiction: Some("Germany".into()),
            ..order()
        };
        assert!(block(tmp.path(), "doc-3", country, 4).is_err());
        assert_eq!(read(tmp.path()).expect("read").log, blocks.log);
    }

    /// Blocks made at once by several processes' worth of threads: each waits for the lock,
    /// none is lost, the chain holds.
    #[test]
    fn blocks_made_at_once_are_all_kept_in_one_chain() {
        let tmp = mirror_dir();
        let dir = tmp.path();
        std::thread::scope(|scope| {
            for i in 0..8 {
                scope.spawn(move || block(dir, &format!("doc-{i}"), order(), i).expect("block"));
            }
        });
        let blocks = read(dir).expect("the chain verifies");
        assert_eq!(blocks.orders.len(), 8);
    }

    #[test]
    fn any_change_to_the_log_fails_verification_naming_the_entry() {
        let tmp = mirror_dir();
        block(tmp.path(), "doc-1", order(), 1).expect("block");
        block(tmp.path(), "doc-2", order(), 2).expect("block");
        unblock(tmp.path(), "doc-1", 3).expect("unblock");
        let bytes = std::fs::read(tmp.path().join(LOG_FILE)).expect("log");
        let good = verify("log", &bytes, None).expect("verifies");
        assert_eq!(good.entries.len(), 3);
        let text = String::from_utf8(bytes.clone()).expect("text");
        let mut json: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        // An entry's text changed; an entry removed; two swapped; another key.
        let changed = text.replacen("324 O 1/26", "324 O 2/26", 1);
        let mut removed = json.clone();
        removed["entries"]
            .as_array_mut()
            .expect("entries")
            .remove(1);
        let mut swapped = json.clone();
        swapped["entries"]
            .as_array_mut()
            .expect("entries")
            .swap(1, 2);
        let cases = [
            (changed.into_bytes(), "entry 1: bad signature"),
            (
                serde_json::to_vec(&removed).expect("json"),
                "entry 2: numbered 3",
            ),
            (
                serde_json::to_vec(&swapped).expect("json"),
                "entry 2: numbered 3",
            ),
        ];
        for (tampered, expected) in cases {
            let error = verify("log", &tampered, None).expect_err(expected);
            assert_eq!(error.kind(), ErrorKind::NotVerified);
            assert!(error.message().contains(expected), "{error}");
        }
        // Renumbered after a removal: the chain still breaks.
        removed["entries"][1]["signed"]["seq"] = 2.into();
        let error =
            verify("log", &serde_json::to_vec(&removed).expect("json"), None).expect_err("chain");
        assert!(
            error.message().contains("entry 2: the chain is broken"),
            "{error}"
        );
        json["mirror_key"] = SigningKey::generate().public().to_hex().into();
        let error =
            verify("log", &serde_json::to_vec(&json).expect("json"), None).expect_err("key");
        assert!(
            error.message().contains("entry 1: bad signature"),
            "{error}"
        );
        let pinned = verify("log", &bytes, Some(&"ab".repeat(32))).expect_err("pinned");
        assert!(pinned.message().contains("not the expected"), "{pinned}");
        // The newest entry dropped: the chain holds, but it does not extend the head seen.
        let mut truncated: serde_json::Value = serde_json::from_slice(&bytes).expect("json");
        truncated["entries"].as_array_mut().expect("entries").pop();
        let shorter = verify("log", &serde_json::to_vec(&truncated).expect("json"), None)
            .expect("a shorter chain verifies");
        assert!(good.extends(&shorter.head) && good.extends(GENESIS));
        assert!(!shorter.extends(&good.head));
    }
}
