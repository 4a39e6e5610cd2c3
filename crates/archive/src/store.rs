//! The content-addressed blob store: every original, extracted text and published record is kept
//! once, under its SHA-256, in `store/<2 hex>/<64 hex>`.
//!
//! A blob is written to `store/tmp/` and renamed into place, so a blob path that exists is complete.
//! Durability is batched: [`Store::sync`] flushes the whole file system once per ingest batch
//! (one `syncfs` instead of an `fsync` per file: at 250,000 documents the difference is minutes),
//! and the catalog commits only after it.

use crate::model::Blob;
use sha2::{Digest, Sha256};
use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

/// Files up to this size are read whole by [`Store::put_file`]; larger ones are streamed.
const SMALL_FILE: u64 = 1 << 20;

#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
}

impl Store {
    /// Opens (creating if needed) the store in `dir`.
    pub fn open(dir: &Path) -> io::Result<Store> {
        fs::create_dir_all(dir.join("tmp"))?;
        Ok(Store {
            dir: dir.to_owned(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The path of a blob (which may not exist).
    pub fn path_of(&self, sha256_hex: &str) -> PathBuf {
        let shard = sha256_hex.get(..2).unwrap_or("xx");
        self.dir.join(shard).join(sha256_hex)
    }

    /// Stores `bytes` (if not already there) and returns its blob reference.
    pub fn put(&self, bytes: &[u8]) -> io::Result<Blob> {
        let sha256 = hex::encode(Sha256::digest(bytes));
        let path = self.path_of(&sha256);
        if !path.exists() {
            let parent = path.parent().unwrap_or(&self.dir);
            fs::create_dir_all(parent)?;
            // 0644: the blob becomes a published target (a hard link), which a web server
            // running as another user must be able to read.
            let mut tmp = crate::files::public_tempfile(&self.dir.join("tmp"))?;
            tmp.write_all(bytes)?;
            tmp.persist(&path).map_err(|e| e.error)?;
        }
        Ok(Blob {
            sha256,
            len: bytes.len() as u64,
        })
    }

    /// Stores the bytes of the file at `source` as a stream (hashed while copied, never held in
    /// memory) and returns its blob reference.
    pub fn put_file(&self, source: &Path) -> io::Result<Blob> {
        self.put_file_part(source, None)
    }

    /// As [`Store::put_file`], for the `len` bytes from `offset` when `part` is
    /// `Some((offset, len))` (a JSON Lines row is stored from its file, not from a copy of its
    /// line). A file shorter than that is an error.
    pub fn put_file_part(&self, source: &Path, part: Option<(u64, u64)>) -> io::Result<Blob> {
        use std::io::Seek;
        let mut file = fs::File::open(source)?;
        let size = match part {
            Some((offset, len)) => {
                file.seek(io::SeekFrom::Start(offset))?;
                len
            }
            None => file.metadata()?.len(),
        };
        let mut input = file.take(size);
        if size <= SMALL_FILE {
            // Small: read whole and stored only if not there yet, with no temporary file.
            let mut bytes = Vec::with_capacity(size as usize);
            input.read_to_end(&mut bytes)?;
            if part.is_some() && bytes.len() as u64 != size {
                return Err(io::Error::new(
                    io::ErrorKind::UnexpectedEof,
                    format!("{}: shorter than when it was read", source.display()),
                ));
            }
            return self.put(&bytes);
        }
        let mut tmp = crate::files::public_tempfile(&self.dir.join("tmp"))?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 256 << 10];
        let mut len = 0u64;
        loop {
            let n = match input.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            hasher.update(&buf[..n]);
            tmp.write_all(&buf[..n])?;
            len += n as u64;
        }
        if part.is_some() && len != size {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("{}: shorter than when it was read", source.display()),
            ));
        }
        let sha256 = hex::encode(hasher.finalize());
        let path = self.path_of(&sha256);
        if !path.exists() {
            let parent = path.parent().unwrap_or(&self.dir);
            fs::create_dir_all(parent)?;
            tmp.persist(&path).map_err(|e| e.error)?;
        }
        Ok(Blob { sha256, len })
    }

    pub fn read(&self, blob: &Blob) -> io::Result<Vec<u8>> {
        let path = self.path_of(&blob.sha256);
        fs::read(&path).map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))
    }

    pub fn contains(&self, blob: &Blob) -> bool {
        self.path_of(&blob.sha256).exists()
    }

    /// Makes every blob written so far durable.
    pub fn sync(&self) -> io::Result<()> {
        crate::files::sync_fs(&self.dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_is_idempotent_and_content_addressed() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let store = Store::open(tmp.path()).expect("open");
        let a = store.put(b"hello").expect("put");
        let b = store.put(b"hello").expect("put again");
        assert_eq!(a, b);
        assert_eq!(
            a.sha256,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert_eq!(store.read(&a).expect("read"), b"hello");
        store.sync().expect("sync");
    }

    #[test]
    fn a_file_is_stored_as_a_stream_under_the_hash_of_its_bytes() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&tmp.path().join("store")).expect("open");
        let bytes: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        let file = tmp.path().join("big.bin");
        fs::write(&file, &bytes).expect("write");
        let from_file = store.put_file(&file).expect("put_file");
        assert_eq!(from_file, store.put(&bytes).expect("put"));
        assert_eq!(store.read(&from_file).expect("read"), bytes);
        assert_eq!(store.put_file(&file).expect("again"), from_file);
        for (offset, len) in [(10u64, 20u64), (7, 2_500_000)] {
            let part = store
                .put_file_part(&file, Some((offset, len)))
                .expect("part");
            let (a, b) = (offset as usize, (offset + len) as usize);
            assert_eq!(part, store.put(&bytes[a..b]).expect("put"));
        }
        assert!(store.put_file_part(&file, Some((10, 3_000_000))).is_err());
    }
}
