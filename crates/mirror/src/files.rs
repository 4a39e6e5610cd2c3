//! The mirror folder's small file operations, shared by sync, collection, configuration,
//! export and the server's gzip cache.

use common::files::{Durability, write_atomic_via};
use std::path::Path;

use crate::error::{Error, ErrorKind, Result};

/// Writes `bytes` to `path` through a temporary file in `tmp_dir` (on the same file system) and
/// a rename: readers see the old file or the new one, never part of one. 0644, like everything a
/// mirror serves (a web server may run as another user). Not flushed
/// ([`Durability::NoFsync`]), as the mirror always wrote: a sync makes what it wrote durable
/// with one [`sync_fs`] of its own before it commits.
pub(crate) fn write_atomic(tmp_dir: &Path, path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_via(tmp_dir, path, bytes, Durability::NoFsync)
        .map_err(|e| Error::new(ErrorKind::Io, e.to_string()))
}

/// The release (snapshot version) whose `timestamp.json` is committed in `metadata_dir`, if any.
pub(crate) fn committed_snapshot(metadata_dir: &Path) -> Result<Option<u64>> {
    trust::editor::committed(metadata_dir)
        .map(|committed| committed.map(|(_, snapshot)| snapshot))
        .map_err(|e| Error::new(ErrorKind::Io, e.to_string()))
}

/// Makes everything written under `dir` durable (one `syncfs`).
pub(crate) fn sync_fs(dir: &Path) -> Result<()> {
    common::files::sync_fs(dir).map_err(|e| Error::cannot("sync", dir, e))
}
