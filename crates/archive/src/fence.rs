//! The fence around the archive's own folder: its keys, configuration, catalog, store and
//! releases are never read as documents, whatever path leads there.
//!
//! A publisher may keep the archive inside the folder they add. Without a fence, a JSON Lines row
//! whose `path` is `../ARCHIVE/keys/root-1.der`, a symbolic link to `ARCHIVE/samizdat.toml`, or the
//! folder walk itself would put a private key into the signed release as a document's original.
//! Every file `add` reads is checked here after its path is made canonical (symbolic links and
//! `..` resolved), and by inode against the archive's keys and top-level files, which catches a
//! hard link too.

use std::collections::HashSet;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// How many files of `ARCHIVE/keys` (recursively) are remembered by inode; a keys folder holds a
/// handful, the bound only keeps a hostile folder from costing more than a moment.
const MAX_KEY_FILES: usize = 4096;

#[derive(Debug, Clone, Default)]
pub struct Fence {
    /// The archive's folder, canonical; `None`: nothing is fenced (a reader used on its own).
    dir: Option<PathBuf>,
    /// `(device, inode)` of the files in `keys/` and at the archive's top level.
    inodes: HashSet<(u64, u64)>,
}

impl Fence {
    /// A fence around `archive_dir` (made canonical here).
    pub fn new(archive_dir: &Path) -> Fence {
        let dir = fs::canonicalize(archive_dir).unwrap_or_else(|_| archive_dir.to_owned());
        let mut inodes = HashSet::new();
        let mut remember = |path: &Path| {
            if let Ok(meta) = fs::symlink_metadata(path)
                && meta.is_file()
            {
                inodes.insert((meta.dev(), meta.ino()));
            }
        };
        if let Ok(entries) = fs::read_dir(&dir) {
            for entry in entries.flatten() {
                remember(&entry.path());
            }
        }
        for entry in walkdir::WalkDir::new(dir.join("keys"))
            .follow_links(false)
            .into_iter()
            .flatten()
            .take(MAX_KEY_FILES)
        {
            remember(entry.path());
        }
        Fence {
            dir: Some(dir),
            inodes,
        }
    }

    /// The archive's folder (canonical), when there is a fence.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Why the file at `real` (a canonical path) must not be read, or `None` when it may be.
    pub fn refuses(&self, real: &Path) -> Option<String> {
        if let Some(why) = self.refuses_path(real) {
            return Some(why);
        }
        self.refuses_file(&fs::metadata(real).ok()?)
    }

    /// Why `real` (a canonical path) must not be read, by its path alone.
    pub fn refuses_path(&self, real: &Path) -> Option<String> {
        let dir = self.dir.as_ref()?;
        real.starts_with(dir).then(|| {
            format!(
                "inside the archive's own folder {}: never ingested",
                dir.display()
            )
        })
    }

    /// Why the file with this metadata must not be read: it is one of the archive's own files
    /// (its keys, its top-level files) under another name, a hard link.
    pub fn refuses_file(&self, meta: &fs::Metadata) -> Option<String> {
        let dir = self.dir.as_ref()?;
        self.inodes.contains(&(meta.dev(), meta.ino())).then(|| {
            format!(
                "a hard link to a file of the archive's own folder {}: never ingested",
                dir.display()
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_the_archive_folder_its_files_and_hard_links_to_its_keys() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let archive = tmp.path().join("archive");
        fs::create_dir_all(archive.join("keys")).expect("mkdir");
        fs::write(archive.join("keys/root-1.der"), b"secret").expect("write");
        fs::write(archive.join("samizdat.toml"), b"config").expect("write");
        let docs = tmp.path().join("docs");
        fs::create_dir(&docs).expect("mkdir");
        fs::write(docs.join("note.txt"), b"fine").expect("write");
        fs::hard_link(archive.join("keys/root-1.der"), docs.join("key.txt")).expect("link");

        let fence = Fence::new(&archive);
        let canon = |p: &Path| fs::canonicalize(p).expect("canonicalize");
        assert!(fence.refuses(&canon(&archive)).is_some());
        assert!(
            fence
                .refuses(&canon(&archive.join("keys/root-1.der")))
                .is_some()
        );
        assert!(
            fence
                .refuses(&canon(&archive.join("samizdat.toml")))
                .is_some()
        );
        let hard = fence
            .refuses(&canon(&docs.join("key.txt")))
            .expect("a hard link to a key is refused");
        assert!(hard.contains("hard link"), "{hard}");
        assert_eq!(fence.refuses(&canon(&docs.join("note.txt"))), None);
        assert_eq!(Fence::default().refuses(&canon(&archive)), None);
    }
}
