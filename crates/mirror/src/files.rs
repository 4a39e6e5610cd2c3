//! The mirror folder's small file operations, shared by sync, collection, configuration,
//! export and the server's gzip cache.

use std::fs;
use std::io::Write;
use std::path::Path;

use trust::schema::{Signed, Timestamp};

/// Writes `bytes` to `path` through a temporary file in `tmp_dir` (on the same file system) and
/// a rename: readers see the old file or the new one, never part of one. 0644, like everything a
/// mirror serves (a web server may run as another user).
pub(crate) fn write_atomic(tmp_dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), String> {
    let mut tmp = archive::files::public_tempfile(tmp_dir)
        .map_err(|e| format!("{}: cannot write: {e}", tmp_dir.display()))?;
    tmp.write_all(bytes)
        .map_err(|e| format!("{}: cannot write: {e}", path.display()))?;
    tmp.persist(path)
        .map_err(|e| format!("{}: cannot write: {}", path.display(), e.error))?;
    Ok(())
}

/// The release (snapshot version) whose `timestamp.json` is committed in `metadata_dir`, if any.
pub(crate) fn committed_snapshot(metadata_dir: &Path) -> Result<Option<u64>, String> {
    let path = metadata_dir.join("timestamp.json");
    let bytes = match fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let timestamp: Signed<Timestamp> =
        serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))?;
    let version = timestamp
        .signed
        .meta
        .get("snapshot.json")
        .map(|m| m.version)
        .ok_or_else(|| format!("{}: no snapshot version", path.display()))?;
    Ok(Some(version))
}

/// Makes everything written under `dir` durable (one `syncfs`).
pub(crate) fn sync_fs(dir: &Path) -> Result<(), String> {
    archive::files::sync_fs(dir).map_err(|e| format!("{}: cannot sync: {e}", dir.display()))
}
