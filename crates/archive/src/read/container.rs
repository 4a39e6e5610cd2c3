//! Archives: zip, tar (plain, gzip, xz, zstd), 7z, and single files compressed with xz or zstd,
//! opened recursively. Each member is read by the same dispatch as a file on disk
//! ([`super::read_member`]): an `.eml` in a zip is an e-mail with its attachments, a zip in a zip
//! is opened in turn. The archive file itself is a container, not a document: its members are.
//!
//! **Where a member is.** A member's place is `!/` and its name as the archive spells it,
//! appended to the place of what holds it: `leak.zip!/mail/a.eml`,
//! `leak.zip!/inner.tar.gz!/b.txt`. A document inside a member that holds several gets `#` and
//! its place there (`leak.zip!/box.mbox#message 3`, `leak.zip!/a.eml#attachment-1`). In a member
//! name `%`, `!`, `#` and control characters are written `%XX`, so every `!/` and `#` of a place
//! is a boundary. This is the document's locator (and so its `source` and the report's `part`).
//! Member names are never paths: nothing is extracted to disk, and `../x` or `/etc/passwd` are
//! only text in a place.
//!
//! **Bounds** ([`Limits`], shared down the whole recursion of one file by a [`Budget`]): how deep
//! archives nest, how many members one archive and one file may have, how many bytes one member
//! and one file may expand to, and how much more a stream may expand than its compressed bytes.
//! Every byte a decompressor hands over is counted as it is read ([`Meter`]): a declared size is
//! only trusted to refuse a member early, never to let one through. A member a bound stops is an
//! `Err` entry naming it and the bound (with the `add` flag that raises it); a bound on the whole
//! file also names the first member left unread, and stops every level. Nested archives are
//! spooled to an anonymous temporary file past 1 MiB, so depth costs disk, not memory.

use super::{ReadError, ReadOptions, Unsupported};
use crate::model::Extracted;
use std::cell::Cell;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The bounds on the archives of one file (see the module's doc); `add` flags set them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Archives nested one in another, the outermost counting 1 (`--archive-depth`).
    pub max_depth: u32,
    /// Members of one archive (`--archive-members`).
    pub max_members: u64,
    /// Members of all the archives in one file (`--archive-members-total`).
    pub max_total_members: u64,
    /// Bytes one member may expand to (`--archive-member-mib`); a bigger one is refused.
    pub max_member_bytes: u64,
    /// Bytes all the archives in one file may expand to, skipped data included
    /// (`--archive-total-mib`).
    pub max_total_bytes: u64,
    /// How many times its compressed size a member or stream may expand to, once past
    /// [`RATIO_GRACE`] (`--archive-ratio`).
    pub max_ratio: u64,
}

impl Limits {
    /// Sane for a publisher's machine: a 256 MiB member, 4 GiB a file, five levels deep.
    pub const DEFAULT: Limits = Limits {
        max_depth: 5,
        max_members: 10_000,
        max_total_members: 100_000,
        max_member_bytes: 256 << 20,
        max_total_bytes: 4 << 30,
        max_ratio: 100,
    };
}

impl Default for Limits {
    fn default() -> Limits {
        Limits::DEFAULT
    }
}

/// Expanded bytes a member or stream may reach before its ratio is judged: small files of
/// repeated lines compress far better than 100:1 and are no bomb.
pub const RATIO_GRACE: u64 = 8 << 20;

/// What one file's archives have used so far, shared by every level of its recursion (and by
/// e-mail attachments read side by side, hence atomics).
#[derive(Debug, Default)]
pub struct Budget {
    members: AtomicU64,
    bytes: AtomicU64,
    /// Set when a bound on the whole file stopped it: every level stops.
    exhausted: AtomicBool,
    /// Why the last meter refused to read on (taken by the level whose read failed).
    stop: Mutex<Option<String>>,
}

impl Budget {
    fn exhausted(&self) -> bool {
        self.exhausted.load(Ordering::Relaxed)
    }

    fn set_stop(&self, why: String) {
        if let Ok(mut stop) = self.stop.lock() {
            *stop = Some(why);
        }
    }

    fn take_stop(&self) -> Option<String> {
        self.stop.lock().ok().and_then(|mut stop| stop.take())
    }
}

/// How deep the thing being read is, and the budget of the file it is in.
#[derive(Clone, Debug, Default)]
pub struct Nesting {
    /// Archives around it (0 for a file on disk).
    pub depth: u32,
    pub budget: Option<Arc<Budget>>,
}

/// How an archive is laid out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Container {
    Zip,
    SevenZ,
    Tar(Codec),
    /// One compressed file (`notes.txt.xz`): one member, or a tar when it holds one.
    Single(Codec),
}

/// The compression around a tar or a single file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Codec {
    Plain,
    Gzip,
    Xz,
    Zstd,
}

/// Zip files that are documents or programs, not archives of documents: never opened as archives.
const ZIP_FORMATS: &[&str] = &[
    "docx", "docm", "dotx", "xlsx", "xlsm", "pptx", "pptm", "odt", "ods", "odp", "odg", "epub",
    "jar", "war", "apk", "xpi", "crx", "whl", "nupkg", "vsix", "ipa", "kmz",
];

/// The container `lower_name` (lowercase) and its first bytes `head` show, if any.
pub fn detect(lower_name: &str, head: &[u8]) -> Option<Container> {
    const BY_NAME: &[(&str, Container)] = &[
        (".tar", Container::Tar(Codec::Plain)),
        (".tar.gz", Container::Tar(Codec::Gzip)),
        (".tgz", Container::Tar(Codec::Gzip)),
        (".tar.xz", Container::Tar(Codec::Xz)),
        (".txz", Container::Tar(Codec::Xz)),
        (".tar.zst", Container::Tar(Codec::Zstd)),
        (".tar.zstd", Container::Tar(Codec::Zstd)),
        (".tzst", Container::Tar(Codec::Zstd)),
        (".zip", Container::Zip),
        (".7z", Container::SevenZ),
        (".xz", Container::Single(Codec::Xz)),
        (".zst", Container::Single(Codec::Zstd)),
        (".zstd", Container::Single(Codec::Zstd)),
    ];
    let ext = super::extension(lower_name);
    if ZIP_FORMATS.contains(&ext.as_str()) {
        return None;
    }
    if let Some((_, container)) = BY_NAME.iter().find(|(s, _)| lower_name.ends_with(s)) {
        return Some(*container);
    }
    if head.starts_with(b"PK\x03\x04") || head.starts_with(b"PK\x05\x06") {
        Some(Container::Zip)
    } else if head.starts_with(b"7z\xBC\xAF\x27\x1C") {
        Some(Container::SevenZ)
    } else if head.starts_with(b"\xFD7zXZ\x00") {
        Some(Container::Single(Codec::Xz))
    } else if head.starts_with(b"\x28\xB5\x2F\xFD") {
        Some(Container::Single(Codec::Zstd))
    } else if is_tar(head) {
        Some(Container::Tar(Codec::Plain))
    } else {
        None
    }
}

/// A POSIX or GNU tar header: `ustar` at offset 257.
fn is_tar(head: &[u8]) -> bool {
    head.get(257..262) == Some(b"ustar")
}

/// A seekable source of archive bytes: a file on disk, or a spooled member.
pub trait Source: Read + Seek {}
impl<T: Read + Seek> Source for T {}

/// Reads the archive `source` (named `name`, laid out as `container`), handing every document
/// of its members, or why a member was not read, to `each`. `Ok(Some(_))`: it is no archive we
/// can open at all (encrypted headers, say); `Err`: it is broken before its first member.
pub fn read(
    mut source: Box<dyn Source + '_>,
    name: &str,
    container: Container,
    opts: &ReadOptions,
    each: &mut dyn FnMut(Result<Extracted, ReadError>),
) -> Result<Option<Unsupported>, ReadError> {
    let limits = opts.archives;
    let level = opts.nesting.depth + 1;
    let budget = opts.nesting.budget.clone().unwrap_or_default();
    let mut inner = opts.clone();
    inner.nesting = Nesting {
        depth: level,
        budget: Some(budget.clone()),
    };
    let mut walk = Walk {
        opts: inner,
        limits,
        budget,
        members: 0,
        random_access: matches!(container, Container::Zip),
        each,
    };
    let compressed = Rc::new(Cell::new(0u64));
    match container {
        Container::Zip => walk.zip(source, name),
        Container::SevenZ => walk.seven_z(source),
        Container::Tar(codec) => {
            let counted = Counted {
                inner: source,
                count: compressed.clone(),
            };
            let stream = decoder(codec, Box::new(counted))?;
            let meter = walk.meter(stream, Ratio::Counted(compressed));
            walk.tar(Box::new(meter))
        }
        Container::Single(codec) => {
            source
                .seek(SeekFrom::Start(0))
                .map_err(|e| ReadError::file(format!("cannot read: {e}")))?;
            let counted = Counted {
                inner: source,
                count: compressed.clone(),
            };
            let stream = decoder(codec, Box::new(counted))?;
            let mut meter = walk.meter(stream, Ratio::Counted(compressed));
            let mut head = Vec::new();
            if let Err(e) = (&mut meter).take(512).read_to_end(&mut head) {
                return Err(walk.stopped(e));
            }
            let chained: Box<dyn Read + '_> = Box::new(io::Cursor::new(head.clone()).chain(meter));
            if is_tar(&head) {
                walk.tar(chained)
            } else {
                walk.single(name, chained)
            }
        }
    }
}

/// A decompressing reader for `codec` over `raw`.
fn decoder<'a>(codec: Codec, raw: Box<dyn Read + 'a>) -> Result<Box<dyn Read + 'a>, ReadError> {
    Ok(match codec {
        Codec::Plain => raw,
        Codec::Gzip => Box::new(flate2::read::MultiGzDecoder::new(io::BufReader::new(raw))),
        // 64 MiB of dictionary at most: what `xz -9` uses; a header asking more is refused.
        Codec::Xz => Box::new(lzma_rust2::XzReader::new_mem_limit(
            io::BufReader::new(raw),
            true,
            DICTIONARY_LIMIT_KIB,
        )),
        // ruzstd refuses windows above 128 MiB by default.
        Codec::Zstd => Box::new(
            ruzstd::decoding::StreamingDecoder::new(io::BufReader::new(raw))
                .map_err(|e| ReadError::file(format!("not a zstd stream: {e}")))?,
        ),
    })
}

/// The largest decompressor dictionary or model accepted (xz, 7z), in KiB.
const DICTIONARY_LIMIT_KIB: u32 = 128 << 10;

/// How much a metered stream is compressed, for its ratio.
#[derive(Clone)]
enum Ratio {
    /// Compressed bytes read so far.
    Counted(Rc<Cell<u64>>),
    /// A zip member's compressed size (the zip reader reads no more of it).
    Known(u64),
    /// Judged from the archive's header instead (7z).
    None,
}

/// Counts the bytes read through it.
struct Counted<R> {
    inner: R,
    count: Rc<Cell<u64>>,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.count.set(self.count.get() + n as u64);
        Ok(n)
    }
}

/// Every byte a decompressor hands over, counted against the file's budget and the stream's
/// ratio: past either it fails, leaving why in the budget.
struct Meter<R> {
    inner: R,
    budget: Arc<Budget>,
    limits: Limits,
    ratio: Ratio,
    read: u64,
}

impl<R: Read> Read for Meter<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        let total = self.budget.bytes.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
        if total > self.limits.max_total_bytes {
            self.budget.exhausted.store(true, Ordering::Relaxed);
            let why = format!(
                "the archives in this file expand to more than {} MiB in all (--archive-total-mib): this member and the rest are not read",
                self.limits.max_total_bytes >> 20
            );
            self.budget.set_stop(why.clone());
            return Err(io::Error::other(why));
        }
        let compressed = match &self.ratio {
            Ratio::Counted(count) => count.get(),
            Ratio::Known(size) => *size,
            Ratio::None => u64::MAX,
        };
        if self.read > RATIO_GRACE && self.read / self.limits.max_ratio.max(1) > compressed {
            let why = format!(
                "a compression bomb: more than {} MiB from {} KiB, over {}:1 (--archive-ratio)",
                self.read >> 20,
                compressed >> 10,
                self.limits.max_ratio
            );
            self.budget.set_stop(why.clone());
            return Err(io::Error::other(why));
        }
        Ok(n)
    }
}

/// What to do after a member.
#[derive(Debug, PartialEq, Eq)]
enum Flow {
    Go,
    Stop,
}

/// One archive being read.
struct Walk<'e> {
    /// The options its members are read with (one level deeper).
    opts: ReadOptions,
    limits: Limits,
    budget: Arc<Budget>,
    members: u64,
    /// Its members are found from a directory (zip), not one after another: a member that
    /// cannot be read does not hide the next.
    random_access: bool,
    each: &'e mut dyn FnMut(Result<Extracted, ReadError>),
}

/// Bytes of a member read before deciding what it is.
const HEAD: usize = 8192;
/// A nested archive up to this size stays in memory; a bigger one goes to a temporary file.
const SPOOL_IN_MEMORY: usize = 1 << 20;

impl Walk<'_> {
    fn meter<R: Read>(&self, inner: R, ratio: Ratio) -> Meter<R> {
        Meter {
            inner,
            budget: self.budget.clone(),
            limits: self.limits,
            ratio,
            read: 0,
        }
    }

    fn fail(&mut self, place: &str, reason: String) {
        (self.each)(Err(ReadError::at(place, reason)));
    }

    fn unsupported(&mut self, place: &str, unsupported: Unsupported) {
        (self.each)(Err(ReadError::unsupported(place, unsupported)));
    }

    /// Why reading stopped with `e`: the bound a meter hit, else the error itself.
    fn stopped(&self, e: io::Error) -> ReadError {
        ReadError::file(
            self.budget
                .take_stop()
                .unwrap_or_else(|| format!("cannot read the archive: {e}")),
        )
    }

    /// Counts a member in; `Some(reason)` when a bound on members stops the archive here.
    fn count(&mut self) -> Option<String> {
        self.members += 1;
        let total = self.budget.members.fetch_add(1, Ordering::Relaxed) + 1;
        if self.members > self.limits.max_members {
            return Some(format!(
                "the archive has more than {} members (--archive-members): this one and the rest are not read",
                self.limits.max_members
            ));
        }
        if total > self.limits.max_total_members {
            self.budget.exhausted.store(true, Ordering::Relaxed);
            return Some(format!(
                "the archives in this file have more than {} members in all (--archive-members-total): this one and the rest are not read",
                self.limits.max_total_members
            ));
        }
        None
    }

    /// Reads one member named `name` from `reader` (already metered). `declared`: the size its
    /// header gives, trusted only to refuse it.
    fn member(&mut self, name: &str, declared: Option<u64>, reader: &mut dyn Read) -> Flow {
        if self.budget.exhausted() {
            return Flow::Stop;
        }
        let place = place_of(name);
        if let Some(why) = self.count() {
            self.fail(&place, why);
            return Flow::Stop;
        }
        let cap = self.limits.max_member_bytes;
        if let Some(size) = declared.filter(|&size| size > cap) {
            let why = format!(
                "expands to {} MiB, more than the {} MiB a member may (--archive-member-mib): not read",
                size >> 20,
                cap >> 20
            );
            self.fail(&place, why);
            return Flow::Go;
        }
        let base = base_name(name);
        let lower = base.to_ascii_lowercase();
        if let Some(unsupported) = super::not_a_document(&lower) {
            self.unsupported(&place, unsupported);
            return Flow::Go;
        }
        let mut head = Vec::with_capacity(HEAD);
        if let Err(e) = reader.take(HEAD as u64).read_to_end(&mut head) {
            return self.read_failed(&place, e);
        }
        // A gzip-compressed member is one compressed file, metered like the others.
        let gzipped = lower
            .ends_with(".gz")
            .then_some(Container::Single(Codec::Gzip));
        match detect(&lower, &head).or(gzipped) {
            Some(container) => self.nested(&place, base, container, head, reader),
            None => {
                let mut raw = head;
                let rest = (cap + 1).saturating_sub(raw.len() as u64);
                if let Err(e) = reader.take(rest).read_to_end(&mut raw) {
                    return self.read_failed(&place, e);
                }
                if raw.len() as u64 > cap {
                    self.fail(&place, too_big(cap));
                    return Flow::Go;
                }
                let each = &mut *self.each;
                let outcome = super::read_member(base, raw, &self.opts, &mut |doc| {
                    each(relocate(doc, &place));
                });
                self.finish_member(&place, outcome)
            }
        }
    }

    /// A member that is an archive itself: opened in turn, one level deeper, if that is allowed.
    fn nested(
        &mut self,
        place: &str,
        base: &str,
        container: Container,
        head: Vec<u8>,
        reader: &mut dyn Read,
    ) -> Flow {
        let level = self.opts.nesting.depth + 1;
        if level > self.limits.max_depth {
            let why = format!(
                "an archive nested {level} deep, more than {} (--archive-depth): not opened",
                self.limits.max_depth
            );
            self.fail(place, why);
            return Flow::Go;
        }
        let cap = self.limits.max_member_bytes;
        let mut spool = tempfile::spooled_tempfile(SPOOL_IN_MEMORY);
        let rest = (cap + 1).saturating_sub(head.len() as u64);
        let copied = spool
            .write_all(&head)
            .and_then(|()| io::copy(&mut reader.take(rest), &mut spool));
        let copied = match copied {
            Ok(n) => n + head.len() as u64,
            Err(e) => return self.read_failed(place, e),
        };
        if copied > cap {
            self.fail(place, too_big(cap));
            return Flow::Go;
        }
        if let Err(e) = spool.seek(SeekFrom::Start(0)) {
            self.fail(place, format!("cannot spool the archive: {e}"));
            return Flow::Go;
        }
        let each = &mut *self.each;
        let outcome = read(Box::new(spool), base, container, &self.opts, &mut |doc| {
            each(relocate(doc, place));
        });
        self.finish_member(place, outcome)
    }

    fn finish_member(
        &mut self,
        place: &str,
        outcome: Result<Option<Unsupported>, ReadError>,
    ) -> Flow {
        match outcome {
            Ok(None) => {}
            Ok(Some(unsupported)) => self.unsupported(place, unsupported),
            Err(e) => (self.each)(relocate(Err(e), place)),
        }
        if self.budget.exhausted() {
            Flow::Stop
        } else {
            Flow::Go
        }
    }

    /// A member whose bytes could not be read: a bound (the file's budget stops every level, a
    /// ratio this member), or a broken stream (which stops a tar, 7z or compressed stream: what
    /// follows cannot be found; a zip's next member is found from its directory).
    fn read_failed(&mut self, place: &str, e: io::Error) -> Flow {
        let (why, flow) = match self.budget.take_stop() {
            Some(why) if self.budget.exhausted() => (why, Flow::Stop),
            Some(why) if self.random_access => (why, Flow::Go),
            Some(why) => (
                format!("{why}; the archive is not read further"),
                Flow::Stop,
            ),
            None if self.random_access => (format!("cannot read: {e}"), Flow::Go),
            None => (
                format!("cannot read: {e}: the archive is not read further"),
                Flow::Stop,
            ),
        };
        self.fail(place, why);
        flow
    }

    /// A broken archive after some members: the failure, named at the archive.
    fn broken(&mut self, e: impl std::fmt::Display) -> Result<Option<Unsupported>, ReadError> {
        let why = self
            .budget
            .take_stop()
            .unwrap_or_else(|| format!("cannot read the archive further: {e}"));
        Err(ReadError::file(why))
    }

    fn zip(
        &mut self,
        source: Box<dyn Source + '_>,
        name: &str,
    ) -> Result<Option<Unsupported>, ReadError> {
        let mut zip = zip::ZipArchive::new(source)
            .map_err(|e| ReadError::file(format!("not a readable zip archive: {e}")))?;
        // An office document under a name that does not say so (`report`, `scan.bin`).
        if let Some(format) = super::office::Office::sniff(&mut zip) {
            let cap = self.limits.max_member_bytes;
            let mut source = zip.into_inner();
            let mut raw = Vec::new();
            source
                .seek(SeekFrom::Start(0))
                .and_then(|_| source.take(cap + 1).read_to_end(&mut raw))
                .map_err(|e| ReadError::file(format!("cannot read: {e}")))?;
            if raw.len() as u64 > cap {
                return Err(ReadError::file(too_big(cap)));
            }
            let doc = super::office::read(format, raw, name, super::office::Caps::default())?;
            (self.each)(Ok(doc));
            return Ok(None);
        }
        for i in 0..zip.len() {
            if self.budget.exhausted() {
                break;
            }
            let listed = entry_name(&zip, i);
            let mut file = match zip.by_index(i) {
                Ok(file) => file,
                Err(zip::result::ZipError::UnsupportedArchive(why)) => {
                    let place = place_of(&listed);
                    let detail = format!("{why}: the zip entry cannot be read");
                    self.unsupported(&place, Unsupported::new("", &[], detail));
                    continue;
                }
                Err(e) => {
                    let place = place_of(&listed);
                    self.fail(&place, format!("cannot read: {e}"));
                    continue;
                }
            };
            let name = match file.name() {
                Ok(name) => name.into_owned(),
                Err(_) => String::from_utf8_lossy(file.name_raw()).into_owned(),
            };
            if file.is_dir() {
                continue;
            }
            if file.is_symlink() {
                let place = place_of(&name);
                let why = "a symbolic link inside the archive: not followed";
                self.unsupported(&place, Unsupported::new("", &[], why));
                continue;
            }
            let declared = file.size();
            let ratio = Ratio::Known(file.compressed_size());
            let mut meter = self.meter(&mut file, ratio);
            if self.member(&name, Some(declared), &mut meter) == Flow::Stop {
                break;
            }
        }
        Ok(None)
    }

    fn tar(&mut self, stream: Box<dyn Read + '_>) -> Result<Option<Unsupported>, ReadError> {
        let mut tar = tar::Archive::new(stream);
        let entries = tar.entries().map_err(|e| self.stopped(e))?;
        for entry in entries {
            if self.budget.exhausted() {
                break;
            }
            let mut entry = match entry {
                Ok(entry) => entry,
                // A header that does not parse: nothing after it can be found.
                Err(e) => return self.broken(e),
            };
            let name = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
            let kind = entry.header().entry_type();
            if kind.is_dir()
                || kind.is_pax_global_extensions()
                || kind.is_pax_local_extensions()
                || kind.is_gnu_longname()
                || kind.is_gnu_longlink()
            {
                continue;
            }
            if !kind.is_file() && !kind.is_contiguous() && !kind.is_gnu_sparse() {
                let place = place_of(&name);
                let why = "not a regular file inside the archive (a link or a device): skipped";
                self.unsupported(&place, Unsupported::new("", &[], why));
                continue;
            }
            let declared = entry.header().size().ok();
            if self.member(&name, declared, &mut entry) == Flow::Stop {
                break;
            }
        }
        Ok(None)
    }

    fn single(
        &mut self,
        name: &str,
        mut stream: Box<dyn Read + '_>,
    ) -> Result<Option<Unsupported>, ReadError> {
        let lower = name.to_ascii_lowercase();
        let inner = [".xz", ".zst", ".zstd", ".gz"]
            .iter()
            .find_map(|s| lower.strip_suffix(s).map(|stem| &name[..stem.len()]))
            .filter(|stem| !stem.is_empty())
            .unwrap_or(name);
        self.member(inner, None, &mut stream);
        Ok(None)
    }

    fn seven_z(&mut self, source: Box<dyn Source + '_>) -> Result<Option<Unsupported>, ReadError> {
        use sevenz_rust2::{ArchiveReader, EntryDecision, Password};
        let mut archive = match ArchiveReader::new_with_memory_limit(
            source,
            Password::empty(),
            DICTIONARY_LIMIT_KIB as usize,
        ) {
            Ok(archive) => archive,
            Err(sevenz_rust2::Error::PasswordRequired) => {
                let why = "an encrypted 7z archive: samizdat has no password for it";
                return Ok(Some(Unsupported::new("7z", b"7z\xBC\xAF\x27\x1C", why)));
            }
            Err(e) => return Err(ReadError::file(format!("not a readable 7z archive: {e}"))),
        };
        archive.set_thread_count(1);
        // The decoder stops each member at its declared size: the header's sizes bound what it
        // can expand to, so the ratio is judged from them, before anything is decoded.
        let (packed, unpacked) = {
            let a = archive.archive();
            let packed: u64 = a.pack_sizes().iter().sum();
            let unpacked: u64 = a.files.iter().map(|f| f.size).sum();
            (packed, unpacked)
        };
        if unpacked > RATIO_GRACE && unpacked / self.limits.max_ratio.max(1) > packed {
            return Err(ReadError::file(format!(
                "a compression bomb: {} MiB from {} KiB, over {}:1 (--archive-ratio): not read",
                unpacked >> 20,
                packed >> 10,
                self.limits.max_ratio
            )));
        }
        let block_of: Vec<Option<usize>> = archive.archive().stream_map.file_block_index.clone();
        let names: Vec<String> = archive
            .archive()
            .files
            .iter()
            .map(|f| f.name.clone())
            .collect();
        let mut skipped_blocks = Vec::new();
        let mut seen = vec![false; names.len()];
        let mut index_of = std::collections::HashMap::new();
        for (i, name) in names.iter().enumerate() {
            index_of
                .entry(name.clone())
                .or_insert_with(Vec::new)
                .push(i);
        }
        let cap = self.limits.max_member_bytes;
        let result = archive.for_each_entries_with_decision(|entry, reader| {
            let i = index_of
                .get_mut(&entry.name)
                .and_then(|list| (!list.is_empty()).then(|| list.remove(0)));
            if let Some(i) = i {
                seen[i] = true;
            }
            if entry.is_directory() || entry.is_anti_item() {
                return Ok(EntryDecision::Continue);
            }
            // A refused member in a solid block is not decoded through: the rest of its block is
            // given up instead (and named below).
            let refused = entry.size() > cap;
            let mut meter = self.meter(reader, Ratio::None);
            let flow = self.member(entry.name(), Some(entry.size()), &mut meter);
            Ok(match flow {
                Flow::Stop => EntryDecision::Stop,
                Flow::Go if refused => {
                    if let Some(block) = i.and_then(|i| block_of[i]) {
                        skipped_blocks.push(block);
                    }
                    EntryDecision::SkipBlock
                }
                Flow::Go => EntryDecision::Continue,
            })
        });
        if let Err(e) = result {
            return self.broken(e);
        }
        if !self.budget.exhausted() {
            for (i, name) in names.iter().enumerate() {
                let in_skipped = block_of[i].is_some_and(|b| skipped_blocks.contains(&b));
                if !seen[i] && in_skipped {
                    let why = "not read: it is compressed together with a member refused above (a solid 7z block)";
                    self.fail(&place_of(name), why.to_owned());
                }
            }
        }
        Ok(None)
    }
}

/// A zip entry's name for a message, when the entry itself cannot be opened.
fn entry_name<R: Read + Seek>(zip: &zip::ZipArchive<R>, i: usize) -> String {
    match zip.name_for_index(i) {
        Some(Ok(name)) => name.into_owned(),
        _ => format!("entry {}", i + 1),
    }
}

fn too_big(cap: u64) -> String {
    format!(
        "expands to more than the {} MiB a member may (--archive-member-mib): not read",
        cap >> 20
    )
}

/// The last component of a member name: what its type and title are told from.
fn base_name(name: &str) -> &str {
    name.trim_end_matches(['/', '\\'])
        .rsplit(['/', '\\'])
        .next()
        .filter(|b| !b.is_empty())
        .unwrap_or(name)
}

/// `!/` and the member name with `%`, `!`, `#` and control characters written `%XX`.
pub fn place_of(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push_str("!/");
    for c in name.chars() {
        match c {
            '%' | '!' | '#' => out.push_str(&format!("%{:02X}", c as u32)),
            c if c.is_control() && (c as u32) < 0x100 => {
                out.push_str(&format!("%{:02X}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

/// A document (or failure) of a member, placed inside the member at `place`.
pub(crate) fn relocate(
    doc: Result<Extracted, ReadError>,
    place: &str,
) -> Result<Extracted, ReadError> {
    match doc {
        Ok(mut doc) => {
            doc.locator = Some(join(place, doc.locator.as_deref()));
            Ok(doc)
        }
        Err(mut e) => {
            e.locator = Some(join(place, e.locator.as_deref()));
            Err(e)
        }
    }
}

/// `place` then `inner`: a member's place follows directly, anything else after a `#`.
fn join(place: &str, inner: Option<&str>) -> String {
    match inner {
        None => place.to_owned(),
        Some(inner) if inner.starts_with("!/") => format!("{place}{inner}"),
        Some(inner) => format!("{place}#{inner}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Kind;
    use crate::read::{PdfExtractor, ReadOptions, read_each};
    use crate::testing;
    use std::path::Path;

    /// What reading one file gave: its documents and the members not read.
    #[derive(Debug, Default)]
    struct Got {
        docs: Vec<Extracted>,
        failed: Vec<ReadError>,
        unsupported: Vec<ReadError>,
    }

    impl Got {
        fn locators(&self) -> Vec<String> {
            self.docs
                .iter()
                .map(|d| d.locator.clone().unwrap_or_default())
                .collect()
        }

        /// The failure at `locator`, whose reason must hold `words`.
        fn assert_failed(&self, locator: &str, words: &str) {
            let found = self
                .failed
                .iter()
                .find(|e| e.locator.as_deref() == Some(locator));
            match found {
                Some(e) => assert!(e.reason.contains(words), "{locator}: {}", e.reason),
                None => panic!("no failure at {locator}: {:?}", self.failed),
            }
        }
    }

    fn options(limits: Limits) -> ReadOptions {
        ReadOptions {
            archives: limits,
            ..ReadOptions::new(PdfExtractor::new("/bin/false", Vec::new()))
        }
    }

    fn read_path(path: &Path, limits: Limits) -> Got {
        let mut got = Got::default();
        let root = path.parent().unwrap_or(Path::new("/"));
        let outcome = read_each(path, root, &options(limits), &mut |doc| match doc {
            Ok(doc) => got.docs.push(doc),
            Err(e) if e.detected_type.is_some() => got.unsupported.push(e),
            Err(e) => got.failed.push(e),
        });
        match outcome {
            Ok(None) => {}
            Ok(Some(unsupported)) => panic!("the archive itself unsupported: {unsupported:?}"),
            Err(e) => got.failed.push(e),
        }
        got
    }

    fn read_as(name: &str, bytes: &[u8], limits: Limits) -> Got {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).expect("write");
        read_path(&path, limits)
    }

    const MAIL: &[u8] = b"From: Alice <alice@example.org>\r\nTo: bob@example.org\r\nSubject: The plan\r\nDate: Mon, 12 Apr 2010 10:00:00 +0000\r\nMessage-ID: <plan@example.org>\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nSee the notes.\r\n--b\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename=notes.txt\r\n\r\nThe notes themselves.\r\n--b--\r\n";

    #[test]
    fn a_zip_s_members_are_documents_placed_by_their_names_nested_ones_too() {
        let inner = testing::zip_of(&[("b.txt", b"Inner text\n")]).expect("zip");
        let zip = testing::zip_of(&[
            ("dir/a.txt", b"A memo about the plan.\n"),
            ("dir/", b""),
            ("mail/plan.eml", MAIL),
            ("photo.png", b"\x89PNG\r\n\x1a\n...."),
            ("inner.zip", &inner),
            ("x!y#z.txt", b"odd name\n"),
            ("font.woff", b"wOFF...."),
        ])
        .expect("zip");
        let got = read_as("leak.zip", &zip, Limits::default());
        assert_eq!(
            got.locators(),
            [
                "!/dir/a.txt",
                "!/mail/plan.eml",
                "!/photo.png",
                "!/inner.zip!/b.txt",
                "!/x%21y%23z.txt"
            ]
        );
        assert!(got.failed.is_empty(), "{:?}", got.failed);
        let mail = &got.docs[1];
        assert_eq!(mail.title, "The plan");
        assert_eq!(mail.children.len(), 1, "the attachment of the e-mail");
        // An image is a document, without text when no OCR was asked for.
        assert_eq!(
            (got.docs[2].kind, got.docs[2].text.as_str()),
            (Kind::Image, "")
        );
        assert_eq!(got.docs[3].text, "Inner text\n");
        assert_eq!(got.unsupported.len(), 1);
        assert_eq!(got.unsupported[0].locator.as_deref(), Some("!/font.woff"));
    }

    #[test]
    fn an_attached_archive_s_members_and_an_attached_docx_are_read() {
        let zip = testing::zip_of(&[
            ("minutes.txt", b"Minutes of the meeting.\n"),
            (
                "deeper.zip",
                &testing::deep_zip(10, b"Deep.\n").expect("zip"),
            ),
        ])
        .expect("zip");
        let docx = testing::zip_of(&[(
            "word/document.xml",
            b"<w:document xmlns:w=\"w\"><w:body><w:p><w:r><w:t>Attached words.</w:t></w:r></w:p></w:body></w:document>",
        )])
        .expect("docx");
        let mail = format!(
            "From: a@example.org\r\nTo: b@example.org\r\nSubject: Files\r\nDate: Mon, 12 Apr 2010 10:00:00 +0000\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nSee attached.\r\n--b\r\nContent-Type: application/zip\r\nContent-Disposition: attachment; filename=files.zip\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b\r\nContent-Type: application/octet-stream\r\nContent-Disposition: attachment; filename=words.docx\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n--b--\r\n",
            testing::base64(&zip),
            testing::base64(&docx)
        );
        let got = read_as("files.eml", mail.as_bytes(), Limits::default());
        assert!(got.failed.is_empty(), "{:?}", got.failed);
        let message = &got.docs[0];
        assert_eq!(message.children.len(), 2);
        let archive = &message.children[0];
        let members: Vec<(&str, &str)> = archive
            .children
            .iter()
            .map(|c| (c.locator.as_deref().unwrap_or(""), c.text.as_str()))
            .collect();
        assert_eq!(members, [("!/minutes.txt", "Minutes of the meeting.\n")]);
        assert!(
            archive.notes.iter().any(|n| n.contains("nested 6 deep")),
            "{:?}",
            archive.notes
        );
        let words = &message.children[1];
        assert_eq!(words.kind, crate::model::Kind::Document);
        assert_eq!(words.text, "Attached words.\n");
    }

    #[test]
    fn an_office_document_under_another_name_is_read_as_one_not_opened() {
        let docx = testing::zip_of(&[
            ("[Content_Types].xml", b"<Types/>"),
            (
                "word/document.xml",
                b"<w:document xmlns:w=\"w\"><w:body><w:p><w:r><w:t>Misnamed words.</w:t></w:r></w:p></w:body></w:document>",
            ),
        ])
        .expect("docx");
        let got = read_as("report", &docx, Limits::default());
        assert_eq!(got.docs.len(), 1, "{:?}", got.failed);
        assert_eq!(got.docs[0].kind, crate::model::Kind::Document);
        assert_eq!(got.docs[0].text, "Misnamed words.\n");
        let zip = testing::zip_of(&[("scan.bin", &docx)]).expect("zip");
        let got = read_as("outer.zip", &zip, Limits::default());
        assert_eq!(got.locators(), ["!/scan.bin"]);
        assert_eq!(got.docs[0].text, "Misnamed words.\n");
    }

    #[test]
    fn traversal_and_absolute_member_names_are_only_text_in_a_place() {
        let zip = testing::zip_of(&[
            ("../../../../tmp/samizdat-escape.txt", b"escape\n"),
            ("/etc/samizdat-absolute.txt", b"absolute\n"),
        ])
        .expect("zip");
        let got = read_as("t.zip", &zip, Limits::default());
        assert_eq!(
            got.locators(),
            [
                "!/../../../../tmp/samizdat-escape.txt",
                "!//etc/samizdat-absolute.txt"
            ]
        );
        assert!(!Path::new("/tmp/samizdat-escape.txt").exists());
        assert!(!Path::new("/etc/samizdat-absolute.txt").exists());
    }

    #[test]
    fn tar_gz_xz_zst_and_7z_are_opened() {
        let mut tar = tar::Builder::new(Vec::new());
        let mut header = tar::Header::new_gnu();
        let body = b"A tarred memo.\n";
        header.set_size(body.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        tar.append_data(&mut header, "docs/memo.txt", &body[..])
            .expect("tar");
        let tar = tar.into_inner().expect("tar");
        let got = read_as("t.tar", &tar, Limits::default());
        assert_eq!(got.locators(), ["!/docs/memo.txt"]);

        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&tar).expect("gz");
        let got = read_as("t.tgz", &gz.finish().expect("gz"), Limits::default());
        assert_eq!(got.locators(), ["!/docs/memo.txt"]);

        let mut xz =
            lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::default()).expect("xz");
        xz.write_all(&tar).expect("xz");
        let xz = xz.finish().expect("xz");
        let got = read_as("t.tar.xz", &xz, Limits::default());
        assert_eq!(got.locators(), ["!/docs/memo.txt"]);
        // By its content alone, under any name.
        let got = read_as("backup.bin", &xz, Limits::default());
        assert_eq!(got.locators(), ["!/docs/memo.txt"]);

        let zst = ruzstd::encoding::compress_to_vec(
            &tar[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        let got = read_as("t.tar.zst", &zst, Limits::default());
        assert_eq!(got.locators(), ["!/docs/memo.txt"]);
        let zst = ruzstd::encoding::compress_to_vec(
            &b"One compressed note.\n"[..],
            ruzstd::encoding::CompressionLevel::Fastest,
        );
        let got = read_as("note.txt.zst", &zst, Limits::default());
        assert_eq!(got.locators(), ["!/note.txt"]);

        let mut seven = sevenz_rust2::ArchiveWriter::new(io::Cursor::new(Vec::new())).expect("7z");
        seven
            .push_archive_entry(
                sevenz_rust2::ArchiveEntry::new_file("seven/a.txt"),
                Some(&b"Seven memo.\n"[..]),
            )
            .expect("7z");
        let seven = seven.finish().expect("7z").into_inner();
        let got = read_as("s.7z", &seven, Limits::default());
        assert_eq!(got.locators(), ["!/seven/a.txt"]);
        assert_eq!(got.docs[0].text, "Seven memo.\n");
    }

    #[test]
    fn a_10_gib_zip_bomb_is_refused_by_its_declared_size_and_a_liar_by_what_it_expands_to() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("bomb.zip");
        let mut out = io::BufWriter::new(std::fs::File::create(&path).expect("create"));
        testing::zeros_zip(&mut out, "zeros.txt", 10 << 10, 10 << 30).expect("bomb");
        out.flush().expect("flush");
        drop(out);
        assert!(std::fs::metadata(&path).expect("size").len() < 20 << 20);
        let got = read_path(&path, Limits::default());
        assert!(got.docs.is_empty());
        got.assert_failed("!/zeros.txt", "expands to 10240 MiB, more than the 256 MiB");

        // The same bomb declaring 1 KiB: the zip reader stops at the declared size.
        let mut liar = Vec::new();
        testing::zeros_zip(&mut liar, "zeros.txt", 1 << 10, 1024).expect("bomb");
        let got = read_as("liar.zip", &liar, Limits::default());
        got.assert_failed("!/zeros.txt", "larger than its declared uncompressed size");
    }

    /// A tar.gz whose one member is `mib` MiB of zeros, written as a stream.
    fn zeros_tar_gz(path: &Path, mib: u64) {
        let file = std::fs::File::create(path).expect("create");
        let gz = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
        let mut tar = tar::Builder::new(gz);
        let mut header = tar::Header::new_gnu();
        header.set_size(mib << 20);
        header.set_mode(0o644);
        header.set_cksum();
        let zeros = io::repeat(0).take(mib << 20);
        tar.append_data(&mut header, "zeros.txt", zeros)
            .expect("tar");
        tar.into_inner().expect("tar").finish().expect("gz");
    }

    #[test]
    fn a_compressed_stream_is_stopped_by_its_ratio_or_the_member_cap_whatever_it_declares() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("zeros.tar.gz");
        zeros_tar_gz(&path, 96);
        // The tar header declares 96 MiB, under the cap: what it expands to stops it.
        let got = read_path(&path, Limits::default());
        assert!(got.docs.is_empty());
        got.assert_failed("!/zeros.txt", "a compression bomb: more than ");
        let limits = Limits {
            max_ratio: u64::MAX,
            max_member_bytes: 64 << 20,
            ..Limits::default()
        };
        let got = read_path(&path, limits);
        got.assert_failed("!/zeros.txt", "more than the 64 MiB a member may");
    }

    #[test]
    fn a_7z_bomb_is_refused_by_its_header_and_a_bare_xz_stream_by_what_it_expands_to() {
        let mut seven = sevenz_rust2::ArchiveWriter::new(io::Cursor::new(Vec::new())).expect("7z");
        seven
            .push_archive_entry(
                sevenz_rust2::ArchiveEntry::new_file("zeros.txt"),
                Some(io::repeat(0).take(16 << 20)),
            )
            .expect("7z");
        let seven = seven.finish().expect("7z").into_inner();
        assert!(seven.len() < 1 << 20, "{}", seven.len());
        let got = read_as("bomb.7z", &seven, Limits::default());
        assert!(got.docs.is_empty());
        assert_eq!(got.failed.len(), 1, "{:?}", got.failed);
        assert!(
            got.failed[0]
                .reason
                .contains("a compression bomb: 16 MiB from"),
            "{}",
            got.failed[0].reason
        );

        // A bare .xz declares no size at all: the member cap stops it as it expands.
        let mut xz =
            lzma_rust2::XzWriter::new(Vec::new(), lzma_rust2::XzOptions::default()).expect("xz");
        io::copy(&mut io::repeat(b'a').take(12 << 20), &mut xz).expect("xz");
        let xz = xz.finish().expect("xz");
        let limits = Limits {
            max_ratio: u64::MAX,
            max_member_bytes: 4 << 20,
            ..Limits::default()
        };
        let got = read_as("notes.txt.xz", &xz, limits);
        assert!(got.docs.is_empty());
        got.assert_failed("!/notes.txt", "more than the 4 MiB a member may");
        let got = read_as("notes.txt.xz", &xz, Limits::default());
        got.assert_failed("!/notes.txt", "a compression bomb");
    }

    #[test]
    fn a_nested_bomb_like_42_zip_stops_at_the_file_s_bounds() {
        let bomb = testing::nested_bomb(16, 4, 1 << 10).expect("bomb");
        assert!(bomb.len() < 4 << 20, "{}", bomb.len());
        let limits = Limits {
            max_total_members: 2_000,
            ..Limits::default()
        };
        let started = std::time::Instant::now();
        let got = read_as("42.zip", &bomb, limits);
        assert!(got.docs.is_empty());
        assert!(
            got.failed
                .iter()
                .any(|e| e.reason.contains("more than 2000 members in all")),
            "{:?}",
            got.failed.last()
        );
        // Every leaf refused for its size, and at most one failure a member counted.
        assert!(got.failed.len() <= 2_001, "{}", got.failed.len());
        assert!(started.elapsed().as_secs() < 60);
    }

    #[test]
    fn nesting_20_deep_is_opened_to_the_depth_limit_and_named_there() {
        let deep = testing::deep_zip(20, b"At the bottom.\n").expect("zip");
        let got = read_as("deep.zip", &deep, Limits::default());
        assert!(got.docs.is_empty());
        got.assert_failed(
            "!/level-1.zip!/level-2.zip!/level-3.zip!/level-4.zip!/level-5.zip",
            "an archive nested 6 deep, more than 5 (--archive-depth)",
        );
        let shallow = testing::deep_zip(5, b"At the bottom.\n").expect("zip");
        let got = read_as("shallow.zip", &shallow, Limits::default());
        assert_eq!(
            got.locators(),
            ["!/level-1.zip!/level-2.zip!/level-3.zip!/level-4.zip!/deepest.txt"]
        );
    }

    #[test]
    fn the_file_s_byte_budget_names_the_first_member_it_stops() {
        let big = vec![b'x'; 3 << 20];
        let zip =
            testing::zip_of(&[("a.txt", &big), ("b.txt", &big), ("c.txt", &big)]).expect("zip");
        let limits = Limits {
            max_total_bytes: 5 << 20,
            max_ratio: u64::MAX,
            ..Limits::default()
        };
        let got = read_as("budget.zip", &zip, limits);
        assert_eq!(got.locators(), ["!/a.txt"]);
        got.assert_failed("!/b.txt", "more than 5 MiB in all (--archive-total-mib)");
        assert_eq!(got.failed.len(), 1, "{:?}", got.failed);
    }

    #[test]
    fn members_of_one_archive_are_bounded() {
        let names: Vec<String> = (0..12).map(|i| format!("{i:02}.txt")).collect();
        let members: Vec<(&str, &[u8])> =
            names.iter().map(|n| (n.as_str(), &b"text\n"[..])).collect();
        let zip = testing::zip_of(&members).expect("zip");
        let limits = Limits {
            max_members: 10,
            ..Limits::default()
        };
        let got = read_as("many.zip", &zip, limits);
        assert_eq!(got.docs.len(), 10);
        got.assert_failed("!/10.txt", "more than 10 members (--archive-members)");
    }

    #[test]
    fn a_broken_archive_is_a_failure_of_the_file() {
        let got = read_as("broken.zip", b"PK\x03\x04 not really", Limits::default());
        assert!(got.docs.is_empty());
        assert!(
            got.failed[0].reason.contains("not a readable zip archive"),
            "{:?}",
            got.failed
        );
        assert_eq!(got.failed[0].locator, None);
    }
}
