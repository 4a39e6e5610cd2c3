//! File helpers shared by the archive, the release, the reader site, the trust editor and the
//! mirror: the one way a file is replaced so that readers never see part of it
//! ([`write_atomic`]), with the durability each caller needs said at the call.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// A temporary file in `dir`, readable by all (0644): what lands in a release or on a mirror
/// is published, and a web server running as another user must be able to read it
/// (tempfile's default is 0600).
pub fn public_tempfile(dir: &Path) -> io::Result<tempfile::NamedTempFile> {
    use std::os::unix::fs::PermissionsExt;
    tempfile::Builder::new()
        .permissions(fs::Permissions::from_mode(0o644))
        .tempfile_in(dir)
}

/// Makes everything written on `dir`'s file system durable: one `syncfs` instead of an `fsync`
/// per file.
pub fn sync_fs(dir: &Path) -> io::Result<()> {
    let handle = fs::File::open(dir)?;
    rustix::fs::syncfs(&handle)?;
    Ok(())
}

/// How durable a [`write_atomic`] is when it returns. Either way a reader sees the old file or
/// the new one, never part of one; the choice is only about a power cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// The file is flushed (`fsync`) before the rename, and its folder after: once the call
    /// returns, the new file survives a power cut. For a commit point that nothing after it
    /// makes durable (`timestamp.json` last, `root.json`, the configuration).
    Fsync,
    /// Nothing is flushed: the caller makes the whole file system durable later with one
    /// [`sync_fs`] before anything refers to the file (a release's or a sync's metadata), or the
    /// file is one whose loss costs only time (a cache, a history that is rebuilt).
    NoFsync,
}

/// A [`write_atomic`] that failed: the file (or, when no temporary file could be made, the
/// temporary folder), what could not be done, and why. Shown as `PATH: cannot write: REASON`.
#[derive(Debug)]
pub struct WriteError {
    path: PathBuf,
    action: &'static str,
    source: io::Error,
}

impl WriteError {
    /// The file or folder that could not be written or synced.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// `"cannot write"` or `"cannot sync"`.
    pub fn action(&self) -> &'static str {
        self.action
    }

    /// The system's reason.
    pub fn io_error(&self) -> &io::Error {
        &self.source
    }
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: {}: {}",
            self.path.display(),
            self.action,
            self.source
        )
    }
}

impl std::error::Error for WriteError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.source)
    }
}

/// Replaces `path` with `bytes` through a temporary file beside it (0644, see
/// [`public_tempfile`]) and a rename: readers see the old file or the new one, never part of
/// one. How durable the result is when this returns is the caller's explicit choice.
pub fn write_atomic(path: &Path, bytes: &[u8], durability: Durability) -> Result<(), WriteError> {
    write_atomic_via(folder_of(path), path, bytes, durability)
}

/// [`write_atomic`] with the temporary file made in `tmp_dir` (on the same file system as
/// `path`) instead of beside `path`: a mirror keeps its temporary files in a folder of their own,
/// so that a crash leaves none among the files it serves.
pub fn write_atomic_via(
    tmp_dir: &Path,
    path: &Path,
    bytes: &[u8],
    durability: Durability,
) -> Result<(), WriteError> {
    replace(tmp_dir, path, durability, &mut |tmp| {
        tmp.write_all(bytes).map_err(fail(path, "cannot write"))
    })
}

/// [`write_atomic`] of the bytes of the file `from`, copied as a stream: a file of any size
/// costs a buffer, not its size.
pub fn copy_atomic(from: &Path, path: &Path, durability: Durability) -> Result<(), WriteError> {
    let mut source = fs::File::open(from).map_err(fail(from, "cannot read"))?;
    replace(folder_of(path), path, durability, &mut |tmp| {
        io::copy(&mut source, tmp)
            .map(|_| ())
            .map_err(fail(path, "cannot copy"))
    })
}

/// A [`WriteError`] for `path`, saying what could not be done (`action`).
fn fail(path: &Path, action: &'static str) -> impl FnOnce(io::Error) -> WriteError {
    let path = path.to_owned();
    move |source| WriteError {
        path,
        action,
        source,
    }
}

/// The one "temporary file in `tmp_dir`, filled by `fill`, renamed to `path`".
fn replace(
    tmp_dir: &Path,
    path: &Path,
    durability: Durability,
    fill: &mut dyn FnMut(&mut fs::File) -> Result<(), WriteError>,
) -> Result<(), WriteError> {
    let mut tmp = public_tempfile(tmp_dir).map_err(fail(tmp_dir, "cannot write"))?;
    fill(tmp.as_file_mut())?;
    if durability == Durability::Fsync {
        tmp.as_file()
            .sync_all()
            .map_err(fail(path, "cannot sync"))?;
    }
    tmp.persist(path)
        .map_err(|e| fail(path, "cannot write")(e.error))?;
    if durability == Durability::Fsync {
        // The rename is a change of the folder: durable only once the folder is.
        let dir = folder_of(path);
        fs::File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(fail(dir, "cannot sync"))?;
    }
    Ok(())
}

/// Creates `path`, which must not exist, with `bytes` and permissions `mode` (0600 for a key or a
/// secret: no moment when another user could read it), durably: the file and its folder are
/// flushed before this returns. Refuses to overwrite: a key or secret is made once.
pub fn write_new(path: &Path, bytes: &[u8], mode: u32) -> Result<(), WriteError> {
    use std::os::unix::fs::OpenOptionsExt;
    let fail = |action: &'static str| {
        move |source| WriteError {
            path: path.to_owned(),
            action,
            source,
        }
    };
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .map_err(fail("cannot create"))?;
    file.write_all(bytes).map_err(fail("cannot write"))?;
    file.sync_all().map_err(fail("cannot sync"))?;
    fs::File::open(folder_of(path))
        .and_then(|d| d.sync_all())
        .map_err(fail("cannot sync"))
}

/// The folder `path` is in (`.` for a bare file name).
fn folder_of(path: &Path) -> &Path {
    path.parent()
        .filter(|dir| !dir.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// A folder held by one process at a time: an exclusive `flock` on a file in it. Released when
/// dropped, or when the process dies, so a command that was killed never leaves the folder
/// locked.
#[derive(Debug)]
pub struct FolderLock {
    _file: fs::File,
}

/// Why [`lock_folder`] did not lock.
#[derive(Debug)]
pub enum LockError {
    /// Another process holds the lock.
    Held,
    /// The lock file could not be opened (or created), or locked for another reason.
    Io(io::Error),
}

/// Locks the folder `lock_file` is in by an exclusive `flock` on `lock_file` (made if missing,
/// never truncated), without waiting: the archive's `.lock` (one `add`, `release` or
/// `withdraw` at a time) and the mirror's `lock` (one sync or collection at a time).
pub fn lock_folder(lock_file: &Path) -> Result<FolderLock, LockError> {
    let file = fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(lock_file)
        .map_err(LockError::Io)?;
    match file.try_lock() {
        Ok(()) => Ok(FolderLock { _file: file }),
        Err(fs::TryLockError::WouldBlock) => Err(LockError::Held),
        Err(fs::TryLockError::Error(e)) => Err(LockError::Io(e)),
    }
}

/// Phase timings on stderr when `SAMIZDAT_TIMINGS` is set (for profiling a release or a sync).
pub struct Phases(Option<std::time::Instant>);

impl Phases {
    pub fn from_env() -> Self {
        Phases(std::env::var_os("SAMIZDAT_TIMINGS").map(|_| std::time::Instant::now()))
    }

    /// Prints how long since the last mark (or the start) `phase` took.
    pub fn mark(&mut self, phase: &str) {
        if let Some(last) = self.0.as_mut() {
            let last = std::mem::replace(last, std::time::Instant::now());
            eprintln!("samizdat: {phase}: {:.3} s", last.elapsed().as_secs_f64());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .expect("read_dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn write_atomic_replaces_the_file_whole_and_public_with_either_durability() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("timestamp.json");
        for (durability, bytes) in [
            (Durability::Fsync, &b"first"[..]),
            (Durability::NoFsync, &b"second, longer"[..]),
            (Durability::Fsync, &b"3"[..]),
        ] {
            write_atomic(&path, bytes, durability).expect("write");
            assert_eq!(fs::read(&path).expect("read"), bytes);
            let mode = fs::metadata(&path).expect("metadata").permissions().mode();
            assert_eq!(mode & 0o777, 0o644, "{durability:?}");
            // No temporary file left beside it.
            assert_eq!(names(dir.path()), ["timestamp.json"]);
        }
    }

    #[test]
    fn copy_atomic_copies_a_file_whole_and_public_and_names_a_missing_source() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (from, to) = (dir.path().join("blob"), dir.path().join("target"));
        let bytes: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        fs::write(&from, &bytes).expect("write");
        copy_atomic(&from, &to, Durability::NoFsync).expect("copy");
        assert_eq!(fs::read(&to).expect("read"), bytes);
        let mode = fs::metadata(&to).expect("metadata").permissions().mode();
        assert_eq!(mode & 0o777, 0o644);
        assert_eq!(names(dir.path()), ["blob", "target"]);
        let missing = dir.path().join("gone");
        let err = copy_atomic(&missing, &to, Durability::NoFsync).expect_err("no source");
        assert!(err.to_string().contains("gone: cannot read"), "{err}");
    }

    #[test]
    fn write_new_makes_a_private_file_once_and_never_overwrites() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("secret");
        write_new(&path, b"first", 0o600).expect("write_new");
        let mode = fs::metadata(&path).expect("metadata").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let refused = write_new(&path, b"second", 0o600).expect_err("must not overwrite");
        assert!(
            refused.to_string().contains("secret: cannot create"),
            "{refused}"
        );
        assert_eq!(fs::read(&path).expect("read"), b"first");
    }

    #[test]
    fn write_atomic_via_leaves_nothing_in_the_temporary_folder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let tmp = dir.path().join("tmp");
        fs::create_dir(&tmp).expect("mkdir");
        let path = dir.path().join("root.json");
        write_atomic_via(&tmp, &path, b"{}", Durability::NoFsync).expect("write");
        assert_eq!(fs::read(&path).expect("read"), b"{}");
        assert!(names(&tmp).is_empty());
    }

    #[test]
    fn a_folder_is_locked_once_until_the_lock_is_dropped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("lock");
        let lock = lock_folder(&path).expect("lock");
        assert!(matches!(lock_folder(&path), Err(LockError::Held)));
        drop(lock);
        let _again = lock_folder(&path).expect("lock again");
        let missing = dir.path().join("missing/lock");
        assert!(matches!(lock_folder(&missing), Err(LockError::Io(_))));
    }

    #[test]
    fn a_failed_write_names_the_file_and_leaves_the_old_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        // No such folder: the temporary file cannot be made, and the folder is named.
        let missing = dir.path().join("missing/file.json");
        let error = write_atomic(&missing, b"x", Durability::Fsync).expect_err("no folder");
        assert_eq!(error.path(), dir.path().join("missing"));
        assert_eq!(error.io_error().kind(), io::ErrorKind::NotFound);
        assert!(
            error.to_string().starts_with(&format!(
                "{}: cannot write: ",
                dir.path().join("missing").display()
            )),
            "{error}"
        );
        // A folder in the way of the rename: the file is named, the folder stays.
        let blocked = dir.path().join("blocked");
        fs::create_dir(&blocked).expect("mkdir");
        fs::write(blocked.join("inside"), b"keep").expect("write");
        let error = write_atomic(&blocked, b"x", Durability::NoFsync).expect_err("a folder");
        assert_eq!(error.path(), blocked);
        assert_eq!(error.action(), "cannot write");
        assert_eq!(fs::read(blocked.join("inside")).expect("read"), b"keep");
        assert_eq!(names(dir.path()), ["blocked"]);
    }
}
