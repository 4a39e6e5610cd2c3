//! Where bytes come from: the [`Transport`] trait, its errors, the transports every caller has
//! (a folder), and the one check of a downloaded target against its verified length and hash
//! (5.7.3). Nothing here parses metadata.

use std::io::Read;
use std::path::PathBuf;

use crate::error::{Error, ErrorKind, Result};
use crate::schema::{Digest, TargetInfo, TargetName};

/// Where metadata and targets come from: a folder, an HTTP mirror, several mirrors.
pub trait Transport {
    /// The bytes at `path` (like `metadata/timestamp.json` or `targets/HASH.NAME`), at most
    /// `max_len` of them: a longer file is [`FetchError::TooLarge`], never truncated silently.
    fn fetch(&self, path: &str, max_len: u64) -> Result<Vec<u8>, FetchError>;
    /// Where this transport reads from, for error messages.
    fn describe(&self) -> String;
    /// Several files on one thread, answered in order: by default one after the other; a
    /// transport that can ask for several at once (HTTP/1.1 pipelining) does. After the first
    /// failure but "not found", the rest is not asked ([`not_asked_after_failure`]): a peer
    /// that stalls costs one time-out a batch, not one a file.
    fn fetch_batch(&self, requests: &[(String, u64)]) -> Vec<Result<Vec<u8>, FetchError>> {
        let mut failed = None;
        requests
            .iter()
            .map(|(path, max_len)| {
                not_asked_after_failure(&mut failed, || self.fetch(path, *max_len))
            })
            .collect()
    }
    /// Several files at once (`(path, max_len)` each): `each(i, answer to requests[i])` is called
    /// once per request, on any thread, as answers come. By default they are fetched one after
    /// the other and handed over in parallel; a transport that can fetch several at once (a
    /// mirror asks a peer for ~1,200 bins per release) calls `each` from its fetching threads.
    fn fetch_each(
        &self,
        requests: &[(String, u64)],
        each: &(dyn Fn(usize, Result<Vec<u8>, FetchError>) + Sync),
    ) {
        use rayon::prelude::*;
        let answers: Vec<Result<Vec<u8>, FetchError>> = requests
            .iter()
            .map(|(path, max_len)| self.fetch(path, *max_len))
            .collect();
        answers
            .into_par_iter()
            .enumerate()
            .for_each(|(i, answer)| each(i, answer));
    }
}

/// `fetch()`, unless an earlier answer of the batch failed (`failed` holds why): then a "not
/// asked" error. A failure but "not found" is recorded in `failed`.
pub fn not_asked_after_failure(
    failed: &mut Option<String>,
    fetch: impl FnOnce() -> Result<Vec<u8>, FetchError>,
) -> Result<Vec<u8>, FetchError> {
    if let Some(why) = failed {
        return Err(not_asked(why));
    }
    let answer = fetch();
    match &answer {
        Ok(_) | Err(FetchError::NotFound) => {}
        Err(FetchError::TooLarge { limit }) => *failed = Some(format!("over {limit} bytes")),
        Err(FetchError::Other(why)) => *failed = Some(why.clone()),
    }
    answer
}

/// The answer to a request of a batch left unasked because an earlier one failed (`why`).
pub fn not_asked(why: &str) -> FetchError {
    FetchError::Other(format!("not asked: an earlier answer failed ({why})"))
}

impl<T: Transport + ?Sized> Transport for &T {
    fn fetch(&self, path: &str, max_len: u64) -> Result<Vec<u8>, FetchError> {
        (**self).fetch(path, max_len)
    }
    fn describe(&self) -> String {
        (**self).describe()
    }
    fn fetch_batch(&self, requests: &[(String, u64)]) -> Vec<Result<Vec<u8>, FetchError>> {
        (**self).fetch_batch(requests)
    }
    fn fetch_each(
        &self,
        requests: &[(String, u64)],
        each: &(dyn Fn(usize, Result<Vec<u8>, FetchError>) + Sync),
    ) {
        (**self).fetch_each(requests, each)
    }
}

impl<T: Transport + ?Sized> Transport for Box<T> {
    fn fetch(&self, path: &str, max_len: u64) -> Result<Vec<u8>, FetchError> {
        (**self).fetch(path, max_len)
    }
    fn describe(&self) -> String {
        (**self).describe()
    }
    fn fetch_batch(&self, requests: &[(String, u64)]) -> Vec<Result<Vec<u8>, FetchError>> {
        (**self).fetch_batch(requests)
    }
    fn fetch_each(
        &self,
        requests: &[(String, u64)],
        each: &(dyn Fn(usize, Result<Vec<u8>, FetchError>) + Sync),
    ) {
        (**self).fetch_each(requests, each)
    }
}

/// Downloads target `name` from `transport` (its consistent-snapshot path) and checks it against
/// `info`, a verified length and hash (5.7.3): what [`Client::fetch_target`] does once the
/// search found `info`, for a caller (a mirror's parallel fetch) that already holds it.
///
/// [`Client::fetch_target`]: super::Client::fetch_target
pub fn fetch_verified_target<T: Transport + ?Sized>(
    transport: &T,
    name: &TargetName,
    info: &TargetInfo,
) -> Result<Vec<u8>> {
    let path = target_path(name, info);
    let fetched = transport.fetch(&path, info.length);
    verified_target(transport, &path, info, fetched)
}

/// [`fetch_verified_target`] for several targets at once ([`Transport::fetch_batch`]), each
/// checked against its own length and hash; answers in order.
pub fn fetch_verified_targets<T: Transport + ?Sized>(
    transport: &T,
    targets: &[(&TargetName, &TargetInfo)],
) -> Vec<Result<Vec<u8>>> {
    let requests: Vec<(String, u64)> = targets
        .iter()
        .map(|(name, info)| (target_path(name, info), info.length))
        .collect();
    let mut fetched = transport.fetch_batch(&requests).into_iter();
    requests
        .iter()
        .zip(targets)
        .map(|((path, _), (_, info))| {
            let answer = fetched
                .next()
                .unwrap_or_else(|| Err(FetchError::Other("no answer".into())));
            verified_target(transport, path, info, answer)
        })
        .collect()
}

/// A target's file name in a consistent snapshot (`SHA256.NAME`, TUF 5.7.3).
pub fn target_file_name(name: impl std::fmt::Display, info: &TargetInfo) -> String {
    format!("{}.{name}", info.hashes.sha256.to_hex())
}

fn target_path(name: &TargetName, info: &TargetInfo) -> String {
    format!("targets/{}", target_file_name(name, info))
}

fn verified_target<T: Transport + ?Sized>(
    transport: &T,
    path: &str,
    info: &TargetInfo,
    fetched: Result<Vec<u8>, FetchError>,
) -> Result<Vec<u8>> {
    let bytes = fetched.map_err(|error| fetch_error(&transport.describe(), path, error))?;
    if bytes.len() as u64 != info.length {
        return Err(Error::new(
            ErrorKind::Mismatch,
            format!(
                "{path} from {}: {} bytes, metadata says {}",
                transport.describe(),
                bytes.len(),
                info.length
            ),
        ));
    }
    if Digest::of(&bytes) != info.hashes.sha256 {
        return Err(Error::new(
            ErrorKind::Mismatch,
            format!(
                "{path} from {}: SHA-256 differs from the metadata",
                transport.describe()
            ),
        ));
    }
    Ok(bytes)
}

/// Why a fetch failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FetchError {
    NotFound,
    TooLarge { limit: u64 },
    Other(String),
}

/// Reads from a release folder (the one holding `metadata/` and `targets/`).
#[derive(Clone, Debug)]
pub struct DirTransport(pub PathBuf);

impl DirTransport {
    /// A transport reading below `folder`.
    pub fn new(folder: impl Into<PathBuf>) -> Self {
        Self(folder.into())
    }
}

impl Transport for DirTransport {
    fn fetch(&self, path: &str, max_len: u64) -> Result<Vec<u8>, FetchError> {
        let unsafe_path = path.is_empty()
            || path.starts_with('/')
            || path
                .split('/')
                .any(|part| part.is_empty() || part == "." || part == "..");
        if unsafe_path {
            return Err(FetchError::Other(format!("refusing path {path:?}")));
        }
        let full_path = self.0.join(path);
        let file = std::fs::File::open(&full_path).map_err(|error| match error.kind() {
            std::io::ErrorKind::NotFound => FetchError::NotFound,
            _ => FetchError::Other(format!("{}: {error}", full_path.display())),
        })?;
        let mut bytes = Vec::new();
        file.take(max_len.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|error| FetchError::Other(format!("{}: {error}", full_path.display())))?;
        if bytes.len() as u64 > max_len {
            return Err(FetchError::TooLarge { limit: max_len });
        }
        Ok(bytes)
    }

    fn describe(&self) -> String {
        format!("folder {}", self.0.display())
    }
}

/// The cap on a metadata file holds even if a transport returns more than it was asked for.
pub(super) fn within_cap(bytes: &[u8], max_len: u64) -> std::result::Result<(), FetchError> {
    if bytes.len() as u64 > max_len {
        return Err(FetchError::TooLarge { limit: max_len });
    }
    Ok(())
}

/// A transport's failure to fetch `path` from `source`, as this crate's error.
pub(super) fn fetch_error(source: &str, path: &str, error: FetchError) -> Error {
    match error {
        FetchError::NotFound => {
            Error::new(ErrorKind::NotFound, format!("{path} not found at {source}"))
        }
        FetchError::TooLarge { limit } => Error::new(
            ErrorKind::TooLarge,
            format!("{path} from {source} is larger than {limit} bytes"),
        ),
        FetchError::Other(message) => Error::new(
            ErrorKind::Transport,
            format!("{path} from {source}: {message}"),
        ),
    }
}
