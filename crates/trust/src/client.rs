//! The verifying client: TUF 1.0's detailed client workflow (spec section 5) over a
//! [`Transport`], lazy about delegations so that verifying one document fetches only the bins on
//! its path.
//!
//! A [`Client`] can only be built by [`Client::load`], which runs steps 5.1–5.6.6; holding one
//! means root, timestamp, snapshot and top-level targets verified. Delegated roles are verified
//! when first needed (5.6.7), each with its delegator's keys and against the snapshot's version.
//! Comments quote the spec's step numbers; departures are marked "Off-spec:".
//!
//! Architecture invariant: nothing here can load a private key; only [`PublicKey`]s are handled.
//!
//! [`PublicKey`]: crate::keys::PublicKey

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::path::PathBuf;

use time::OffsetDateTime;

use crate::error::{Error, ErrorKind, Result};
use crate::leaf::Listed;
use crate::schema::{
    Delegations, Digest, MetaFile, RoleType, Root, SNAPSHOT_META, Snapshot, TARGETS_META,
    TargetInfo, TargetName, Targets, Timestamp, expires_format, role_file_name_is_safe,
};
use crate::verify::Envelope;

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

/// 5.6.7, the search for target `name` (pre-order depth-first), over the roles loaded so far:
/// the one search behind [`Client::target_info`] (which loads what it asks for and searches
/// again) and [`Client::all_targets`] (which loads every role first, then searches in parallel).
fn search<'a>(roles: &'a HashMap<String, Targets>, most: usize, name: &str) -> Search<'a> {
    let hash = NameHash::of(name);
    let children = |_: &str, delegations: &'a Delegations, out: &mut Vec<usize>| {
        out.extend(
            (0..delegations.roles.len()).filter(|&i| delegations.roles[i].covers(name, hash.hex())),
        );
    };
    search_with(roles, most, name, &children, &mut Scratch::default())
}

/// The lists a search works with, kept from one search to the next.
#[derive(Default)]
struct Scratch<'a> {
    to_visit: Vec<(&'a str, &'a str)>,
    visited: Vec<&'a str>,
    covering: Vec<usize>,
    next: Vec<(&'a str, &'a str)>,
}

/// The hex SHA-256 of a target name, which `path_hash_prefixes` match.
struct NameHash(String);

impl NameHash {
    fn of(name: &str) -> Self {
        NameHash(Digest::of(name.as_bytes()).to_hex())
    }
    fn hex(&self) -> &str {
        &self.0
    }
}

/// 5.6.7's pre-order depth-first search for `name` over the loaded `roles`; `children(role,
/// its delegations, out)` appends the positions, in order, of the delegations that cover `name`.
fn search_with<'a>(
    roles: &'a HashMap<String, Targets>,
    most: usize,
    name: &str,
    children: &dyn Fn(&str, &'a Delegations, &mut Vec<usize>),
    scratch: &mut Scratch<'a>,
) -> Search<'a> {
    let Scratch {
        to_visit,
        visited,
        covering,
        next,
    } = scratch;
    to_visit.clear();
    visited.clear();
    to_visit.push(("targets", ""));
    while let Some((role_name, delegator)) = to_visit.pop() {
        // 5.6.7.1: skip a role seen before (cycles); stop after the maximum number of visits.
        if visited.contains(&role_name) {
            continue;
        }
        if visited.len() >= most {
            break;
        }
        let Some((role_key, role)) = roles.get_key_value(role_name) else {
            return Search::Load {
                role: role_name.to_owned(),
                delegator: delegator.to_owned(),
            };
        };
        // 5.6.7.1: this role has the target: done.
        if let Some(info) = role.targets.get(name) {
            return Search::Found(info, role_key);
        }
        visited.push(role_key);
        // 5.6.7.2: search the delegations in order of appearance.
        let Some(delegations) = &role.delegations else {
            continue;
        };
        covering.clear();
        children(role_key, delegations, covering);
        next.clear();
        for &i in covering.iter() {
            let delegated = &delegations.roles[i];
            next.push((delegated.name.as_str(), role_key.as_str()));
            // 5.6.7.2.1: a terminating delegation ends the search after its subtree.
            if delegated.terminating {
                to_visit.clear();
                break;
            }
        }
        // 5.6.7.2.2: non-terminating ones are searched in order, first one first.
        to_visit.extend(next.drain(..).rev());
    }
    Search::NotFound
}

/// The delegations of one role, indexed by hash prefix: which cover a name, without testing
/// each (a middle bin delegates to ~80 leaves; a mirror resolves ~500,000 names).
struct DelegationIndex<'a> {
    by_prefix: HashMap<&'a str, Vec<usize>>,
    prefix_lengths: Vec<usize>,
    /// Delegations by `paths` (patterns), tested one by one.
    by_paths: Vec<usize>,
}

impl<'a> DelegationIndex<'a> {
    fn new(delegations: &'a Delegations) -> Self {
        let mut index = DelegationIndex {
            by_prefix: HashMap::new(),
            prefix_lengths: Vec::new(),
            by_paths: Vec::new(),
        };
        for (i, delegated) in delegations.roles.iter().enumerate() {
            match &delegated.path_hash_prefixes {
                Some(prefixes) => {
                    for prefix in prefixes {
                        let positions = index.by_prefix.entry(prefix.as_str()).or_default();
                        if positions.last() != Some(&i) {
                            positions.push(i);
                        }
                        if !index.prefix_lengths.contains(&prefix.len()) {
                            index.prefix_lengths.push(prefix.len());
                        }
                    }
                }
                None => index.by_paths.push(i),
            }
        }
        index
    }

    /// What [`DelegatedRole::covers`] says of each delegation, in order.
    fn covering(
        &self,
        delegations: &Delegations,
        name: &str,
        hash: &NameHash,
        out: &mut Vec<usize>,
    ) {
        for &length in &self.prefix_lengths {
            if let Some(prefix) = hash.hex().get(..length)
                && let Some(positions) = self.by_prefix.get(prefix)
            {
                out.extend(positions);
            }
        }
        out.extend(
            self.by_paths
                .iter()
                .filter(|&&i| delegations.roles[i].covers(name, hash.hex())),
        );
        out.sort_unstable();
        out.dedup();
    }
}

/// Where a search over the loaded roles ended.
enum Search<'a> {
    /// The entry, and the role that lists it.
    Found(&'a TargetInfo, &'a str),
    NotFound,
    /// It reaches `role` (delegated by `delegator`), not loaded yet.
    Load {
        role: String,
        delegator: String,
    },
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

/// How the client checks.
#[derive(Clone, Debug)]
pub struct Options {
    /// 5.1: the fixed update start time every expiry is compared with.
    pub now: OffsetDateTime,
    /// Record expired metadata in [`Client::freshness`] instead of refusing it. Signatures,
    /// versions and hashes are still all checked. For "authentic, but not known fresh".
    pub allow_expired: bool,
    /// 5.3.3: most root versions to walk through in one load.
    pub max_root_rotations: u32,
    /// Size caps for files whose length no signed metadata gives.
    pub max_root_len: u64,
    pub max_timestamp_len: u64,
    pub max_snapshot_len: u64,
    pub max_targets_len: u64,
    /// 5.6.7.1: most roles visited in one target search.
    pub max_delegation_visits: usize,
}

impl Options {
    /// Defaults (python-tuf's, with a larger snapshot cap) at time `now`.
    pub fn new(now: OffsetDateTime) -> Self {
        Self {
            now,
            allow_expired: false,
            max_root_rotations: 1024,
            max_root_len: 512_000,
            max_timestamp_len: 16_384,
            max_snapshot_len: 4_000_000,
            max_targets_len: 5_000_000,
            max_delegation_visits: 32,
        }
    }
}

impl Default for Options {
    fn default() -> Self {
        Self::new(OffsetDateTime::now_utc())
    }
}

/// Whether everything verified was also unexpired.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Freshness {
    Fresh,
    /// The earliest-expiring role seen expired (only with [`Options::allow_expired`]).
    Expired {
        role: String,
        since: OffsetDateTime,
    },
}

impl Freshness {
    /// `role` expired at `since`: kept if it is the earliest expiry seen.
    fn note_expired(&mut self, role: &str, since: OffsetDateTime) {
        let earlier = match self {
            Freshness::Fresh => true,
            Freshness::Expired { since: before, .. } => since < *before,
        };
        if earlier {
            *self = Freshness::Expired {
                role: role.to_string(),
                since,
            };
        }
    }
}

/// Metadata a client trusted before (persisted by a mirror or reader), for rollback checks
/// (5.4.3, 5.5.5). Both are verified against the current root before use.
#[derive(Clone, Debug, Default)]
pub struct TrustedState {
    pub timestamp: Option<Vec<u8>>,
    pub snapshot: Option<Vec<u8>>,
}

/// A verified view of a repository. See the module documentation.
pub struct Client<T: Transport> {
    transport: T,
    options: Options,
    root: Root,
    root_bytes: Vec<u8>,
    timestamp: Timestamp,
    timestamp_bytes: Vec<u8>,
    snapshot: Snapshot,
    snapshot_bytes: Vec<u8>,
    /// Verified targets roles by name, `targets` included.
    roles: HashMap<String, Targets>,
    freshness: Freshness,
    metadata_bytes: u64,
}

const TOP_LEVEL_ROLES: [&str; 4] = ["root", "targets", "snapshot", "timestamp"];

impl<T: Transport> Client<T> {
    /// Runs the client workflow up to the top-level targets (5.1–5.6.6), trusting only
    /// `trusted_root_json`.
    pub fn load(trusted_root_json: &[u8], transport: T, options: Options) -> Result<Self> {
        Self::load_with_trusted_state(
            trusted_root_json,
            transport,
            options,
            TrustedState::default(),
        )
    }

    /// [`Self::load`] with a previously trusted timestamp and snapshot to detect rollbacks.
    pub fn load_with_trusted_state(
        trusted_root_json: &[u8],
        transport: T,
        options: Options,
        trusted_state: TrustedState,
    ) -> Result<Self> {
        let mut loader = Loader {
            transport,
            options,
            freshness: Freshness::Fresh,
            metadata_bytes: 0,
        };
        // 5.1: the fixed update start time is `options.now`.
        // 5.2: load the trusted root. Like python-tuf, require it to be signed by its own
        // threshold (a corrupted local copy is caught here).
        let envelope = Envelope::parse("trusted root", trusted_root_json)?;
        let mut root: Root = envelope.peek_typed(RoleType::Root)?;
        check_root_shape(&root, "trusted root")?;
        verify_with_top_level_role(&envelope, &root, "root")?;
        let mut root_bytes = trusted_root_json.to_vec();
        // A trusted timestamp or snapshot that the trusted root's keys do not sign is set aside,
        // as python-tuf sets aside a local file it cannot load: it was signed under keys that a
        // root walked through since rotated (5.3.11 would have deleted it, but a mirror serves
        // it until it has a release signed with the new keys), or it is damaged.
        let mut trusted_state = usable_trusted_state(trusted_state, &root);

        // 5.3: update the root, one version at a time.
        for _ in 0..loader.options.max_root_rotations {
            // 5.3.2, 5.3.3: try version N+1.
            let next_version = root.version.saturating_add(1);
            let path = format!("metadata/{next_version}.root.json");
            let bytes = match loader.fetch_metadata(&path, loader.options.max_root_len) {
                Ok(bytes) => bytes,
                Err(error) if error.kind() == ErrorKind::NotFound => break,
                Err(error) => return Err(error),
            };
            let envelope = Envelope::parse(&path, &bytes)?;
            // 5.3.4 (1): signed by a threshold of the trusted root's root keys …
            verify_with_top_level_role(&envelope, &root, "root")?;
            // … and (2) by a threshold of its own root keys.
            let new_root: Root = envelope.peek_typed(RoleType::Root)?;
            check_root_shape(&new_root, &path)?;
            verify_with_top_level_role(&envelope, &new_root, "root")?;
            // 5.3.5: the version must be exactly N+1.
            if new_root.version != next_version {
                let kind = if new_root.version <= root.version {
                    ErrorKind::Rollback
                } else {
                    ErrorKind::Mismatch
                };
                return Err(Error::new(
                    kind,
                    format!(
                        "{path}: version {} where {next_version} was expected",
                        new_root.version
                    ),
                ));
            }
            // 5.3.6: the intermediate root's expiry does not matter.
            // 5.3.11 (done per step): rotated timestamp or snapshot keys void the trusted state.
            if new_root.roles.get("timestamp") != root.roles.get("timestamp")
                || new_root.roles.get("snapshot") != root.roles.get("snapshot")
            {
                trusted_state = TrustedState::default();
            }
            // 5.3.7: trust it. 5.3.8 (persisting) is the caller's: see `trusted_root_json`.
            root = new_root;
            root_bytes = bytes;
        }
        // 5.3.10: freeze attack on root.
        loader.check_expiry(
            "root",
            root.expires,
            &format!("metadata/{}.root.json", root.version),
        )?;
        // 5.3.12: consistent snapshots. Off-spec: only consistent snapshots are supported.
        if !root.consistent_snapshot {
            return Err(Error::new(
                ErrorKind::Malformed,
                format!(
                    "root version {}: consistent_snapshot is false, samizdat needs true",
                    root.version
                ),
            ));
        }

        let (timestamp, timestamp_bytes) =
            loader.update_timestamp(&root, trusted_state.timestamp.as_deref())?;
        let (snapshot, snapshot_bytes) =
            loader.update_snapshot(&root, &timestamp, trusted_state.snapshot.as_deref())?;
        let targets = loader.update_targets(&root, &snapshot)?;

        Ok(Self {
            transport: loader.transport,
            options: loader.options,
            root,
            root_bytes,
            timestamp,
            timestamp_bytes,
            snapshot,
            snapshot_bytes,
            roles: HashMap::from([("targets".to_string(), targets)]),
            freshness: loader.freshness,
            metadata_bytes: loader.metadata_bytes,
        })
    }

    /// The release: the verified snapshot's version.
    pub fn version(&self) -> u64 {
        self.snapshot.version
    }

    /// The verified timestamp's version.
    pub fn timestamp_version(&self) -> u64 {
        self.timestamp.version
    }

    /// Whether all metadata verified so far was unexpired.
    pub fn freshness(&self) -> &Freshness {
        &self.freshness
    }

    /// The newest trusted root.
    pub fn root(&self) -> &Root {
        &self.root
    }

    /// The bytes of the newest trusted root, to persist (5.3.8) and start from next time.
    pub fn trusted_root_json(&self) -> &[u8] {
        &self.root_bytes
    }

    /// The verified timestamp and snapshot, to persist (5.4.5, 5.5.7) and pass to
    /// [`Self::load_with_trusted_state`] next time.
    pub fn trusted_state(&self) -> TrustedState {
        TrustedState {
            timestamp: Some(self.timestamp_bytes.clone()),
            snapshot: Some(self.snapshot_bytes.clone()),
        }
    }

    /// The verified snapshot: every role's version (and the file names `{version}.{role}.json`).
    pub fn snapshot(&self) -> &Snapshot {
        &self.snapshot
    }

    /// Bytes of metadata fetched so far (the trusted root passed in is not counted).
    pub fn metadata_bytes(&self) -> u64 {
        self.metadata_bytes
    }

    /// The transport.
    pub fn transport(&self) -> &T {
        &self.transport
    }

    /// 5.6.7: the verified entry of target `name`, fetching and verifying only the delegated
    /// roles on its path (pre-order depth-first search). `None` if no role on the path lists it.
    pub fn target_info(&mut self, name: &TargetName) -> Result<Option<TargetInfo>> {
        // Each pass either ends or loads one more role on the path: at most one pass a role.
        loop {
            match search(
                &self.roles,
                self.options.max_delegation_visits,
                name.as_str(),
            ) {
                Search::Found(info, _) => return Ok(Some(info.clone())),
                Search::NotFound => return Ok(None),
                Search::Load { role, delegator } => self.load_delegated(&role, &delegator)?,
            }
        }
    }

    /// 5.7: downloads target `name` (at most its signed length) from
    /// `targets/SHA256.NAME` and checks its length and SHA-256. A name that no metadata lists is
    /// [`ErrorKind::NotFound`].
    pub fn fetch_target(&mut self, name: &TargetName) -> Result<Vec<u8>> {
        // 5.7.1, 5.7.2
        let Some(info) = self.target_info(name)? else {
            return Err(Error::new(
                ErrorKind::NotFound,
                format!(
                    "target {name} is not in release {} ({})",
                    self.version(),
                    self.transport.describe()
                ),
            ));
        };
        fetch_verified_target(&self.transport, name, &info)
    }

    /// Downloads target `name` whose length and hash come from a verified source other than the
    /// bins: a document's record (itself a verified target) carries its original's. Same checks
    /// as [`Client::fetch_target`], no metadata fetched.
    pub fn fetch_attested(
        &self,
        name: &TargetName,
        length: u64,
        sha256: [u8; 32],
    ) -> Result<Vec<u8>> {
        let info = TargetInfo {
            length,
            hashes: crate::schema::Hashes {
                sha256: Digest(sha256),
            },
            custom: None,
        };
        fetch_verified_target(&self.transport, name, &info)
    }

    /// Every target of the release, sorted by name: loads every delegated role, then resolves
    /// each listed name with the same search as [`Self::target_info`] (so a role listing a name
    /// outside its delegation does not count).
    pub fn all_targets(&mut self) -> Result<Vec<(TargetName, TargetInfo)>> {
        use rayon::prelude::*;
        self.load_every_role()?;
        let resolver = Resolver::new(self);
        // Role by role on all cores, each name kept where the search finds it.
        let found: Vec<Result<Vec<(TargetName, TargetInfo)>>> = self
            .roles
            .par_iter()
            .filter(|(_, role)| !role.targets.is_empty())
            .map(|(role_name, role)| {
                let mut scratch = Scratch::default();
                let mut out = Vec::new();
                for name in role.targets.keys() {
                    if let Some((target, info, found_in)) = resolver.resolve(name, &mut scratch)?
                        && found_in == role_name
                    {
                        out.push((target, info.clone()));
                    }
                }
                Ok(out)
            })
            .collect();
        let mut all = Vec::new();
        for part in found {
            all.extend(part?);
        }
        all.par_sort_unstable_by(|a, b| a.0.as_str().cmp(b.0.as_str()));
        Ok(all)
    }

    /// How many target names the loaded roles list (the release's targets, when every listing
    /// is one a search reaches: always, in releases of ours).
    pub fn listed_targets(&self) -> usize {
        self.roles.values().map(|role| role.targets.len()).sum()
    }

    /// The targets of this release that an earlier release of the same repository may not have
    /// had (in no particular order): what a mirror holding that release lacks, at most.
    /// `previous` is the earlier release's snapshot `meta`; `listing(role, version)` the
    /// targets that version of a role lists (from files the caller verified before), `None` if
    /// it is not known (then every name the role lists now counts as new; a name it no longer
    /// lists is not seen, which matters only where delegations overlap, as hashed bins do not).
    ///
    /// A search for a name depends only on the roles that delegate and on which roles list the
    /// name, with which entry: when every role that delegates is at its earlier version, a name
    /// resolves as before unless a role that changed lists it differently (added, changed,
    /// removed). Only those names are searched; at 250,000 documents and 1% new that is ~5,000
    /// of 500,000. `None` when a role that delegates changed, or the roles are not the same
    /// set as before: then use [`Self::all_targets`].
    pub fn targets_changed_since(
        &mut self,
        previous: &BTreeMap<String, MetaFile>,
        listing: &Listing<'_>,
    ) -> Result<Option<Vec<(TargetName, TargetInfo)>>> {
        use rayon::prelude::*;
        let version_then = |role: &str| previous.get(&format!("{role}.json")).map(|m| m.version);
        // What the roles whose version changed listed before, read while the new ones are
        // fetched and verified (the snapshot already says which changed).
        let changed_meta: Vec<(String, u64)> = self
            .snapshot
            .meta
            .iter()
            .filter_map(|(file, meta)| {
                let role = file.strip_suffix(".json")?;
                let then = version_then(role)?;
                (then != meta.version).then(|| (role.to_string(), then))
            })
            .collect();
        let (loaded, before) = std::thread::scope(|scope| {
            let before = scope.spawn(|| {
                changed_meta
                    .par_iter()
                    .filter_map(|(role, then)| Some((role.clone(), listing(role, *then)?)))
                    .collect::<HashMap<String, Listed>>()
            });
            let loaded = self.load_every_role();
            (loaded, before.join().unwrap_or_default())
        });
        loaded?;
        // Another set of roles (one gone, or no longer delegated to): names may resolve through
        // other roles than before without any role listing them differently.
        let roles_then: HashSet<&str> = previous
            .keys()
            .filter_map(|file| file.strip_suffix(".json"))
            .collect();
        if roles_then != self.roles.keys().map(String::as_str).collect() {
            return Ok(None);
        }
        let nothing = Listed::default();
        let changed: Vec<(&str, Option<u64>)> = self
            .roles
            .keys()
            .filter_map(|role| {
                let now = self
                    .snapshot
                    .meta
                    .get(&format!("{role}.json"))
                    .map(|m| m.version);
                let then = version_then(role);
                (then.is_none() || then != now).then_some((role.as_str(), then))
            })
            .collect();
        if changed
            .iter()
            .any(|(role, _)| self.roles[*role].delegations.is_some())
        {
            return Ok(None);
        }
        // Names a changed role lists differently from its earlier version.
        let differing: Vec<Vec<String>> = changed
            .par_iter()
            .map(|(role, then)| {
                let now = &self.roles[*role].targets;
                let before = match then {
                    Some(_) => before.get(*role).unwrap_or(&nothing),
                    None => &nothing,
                };
                differing_names(now, before)
            })
            .collect();
        let mut names: Vec<String> = differing.into_iter().flatten().collect();
        names.par_sort_unstable();
        names.dedup();
        let resolver = Resolver::new(self);
        let found: Vec<Result<Option<(TargetName, TargetInfo)>>> = names
            .par_iter()
            .map_init(Scratch::default, |scratch, name| {
                Ok(resolver
                    .resolve(name, scratch)?
                    .map(|(target, info, _)| (target, info.clone())))
            })
            .collect();
        found
            .into_iter()
            .filter_map(Result::transpose)
            .collect::<Result<_>>()
            .map(Some)
    }

    /// Loads every delegated role reachable from `targets`, a level at a time: each level's
    /// files asked of the transport together, then verified in parallel.
    fn load_every_role(&mut self) -> Result<()> {
        let most_roles = self.snapshot.meta.len() + 1;
        let mut visited = HashSet::from(["targets".to_owned()]);
        let mut level = self.delegated_by("targets");
        while !level.is_empty() {
            let room = most_roles.saturating_sub(visited.len());
            level.retain(|(role, _)| visited.insert(role.clone()));
            level.truncate(room);
            // A role loaded before (by the search for one name) is not fetched again, but what
            // it delegates to is walked all the same.
            let mut next = Vec::new();
            level.retain(|(role, _)| {
                let loaded = self.roles.contains_key(role);
                if loaded {
                    next.extend(self.delegated_by(role));
                }
                !loaded
            });
            let prepared: Vec<Delegation> = level
                .iter()
                .map(|(role, delegator)| self.delegation(role, delegator))
                .collect::<Result<_>>()?;
            let requests: Vec<(String, u64)> = prepared
                .iter()
                .map(|d| {
                    let max = d.meta.length.unwrap_or(self.options.max_targets_len);
                    (d.path.clone(), max)
                })
                .collect();
            let source = self.transport.describe();
            let options = &self.options;
            // Each file verified as it arrives, while the others are still coming.
            let verified: Vec<std::sync::Mutex<Option<Result<Verified>>>> = prepared
                .iter()
                .map(|_| std::sync::Mutex::new(None))
                .collect();
            self.transport.fetch_each(&requests, &|i, bytes| {
                let delegation = &prepared[i];
                let result = bytes
                    .map_err(|error| fetch_error(&source, &delegation.path, error))
                    .and_then(|bytes| delegation.verify(&bytes, options, &source));
                if let Ok(mut slot) = verified[i].lock() {
                    *slot = Some(result);
                }
            });
            for (delegation, slot) in prepared.iter().zip(verified) {
                let (role, freshness, bytes) =
                    slot.into_inner().ok().flatten().unwrap_or_else(|| {
                        Err(Error::new(
                            ErrorKind::Malformed,
                            format!("{}: not fetched", delegation.path),
                        ))
                    })?;
                self.note_freshness(freshness);
                self.metadata_bytes += bytes;
                self.roles.insert(delegation.role.clone(), role);
                next.extend(self.delegated_by(&delegation.role));
            }
            level = next;
        }
        Ok(())
    }

    /// The roles `delegator` delegates to, in order: `(role, delegator)`.
    fn delegated_by(&self, delegator: &str) -> Vec<(String, String)> {
        self.roles
            .get(delegator)
            .and_then(|role| role.delegations.as_ref())
            .map(|delegations| {
                delegations
                    .roles
                    .iter()
                    .map(|delegated| (delegated.name.clone(), delegator.to_string()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Keeps the earliest expiry seen (with [`Options::allow_expired`]).
    fn note_freshness(&mut self, freshness: Freshness) {
        if let Freshness::Expired { role, since } = freshness {
            self.freshness.note_expired(&role, since);
        }
    }

    /// Verifies delegated role `role_name` with the keys `delegator` gives it
    /// (5.6.1–5.6.5 applied to a delegated role, as python-tuf does).
    fn load_delegated(&mut self, role_name: &str, delegator: &str) -> Result<()> {
        if self.roles.contains_key(role_name) {
            return Ok(());
        }
        let delegation = self.delegation(role_name, delegator)?;
        let max = delegation
            .meta
            .length
            .unwrap_or(self.options.max_targets_len);
        let source = self.transport.describe();
        // 5.6.1: download, capped by the snapshot's length if given.
        let bytes = self
            .transport
            .fetch(&delegation.path, max)
            .map_err(|error| fetch_error(&source, &delegation.path, error))?;
        let (role, freshness, fetched) = delegation.verify(&bytes, &self.options, &source)?;
        self.note_freshness(freshness);
        self.metadata_bytes += fetched;
        self.roles.insert(role_name.to_string(), role);
        Ok(())
    }

    /// What verifying delegated role `role_name` takes from `delegator` and the snapshot.
    fn delegation(&self, role_name: &str, delegator: &str) -> Result<Delegation> {
        // Off-spec: role names must be file-name safe and not a top-level role's.
        if !role_file_name_is_safe(role_name) || TOP_LEVEL_ROLES.contains(&role_name) {
            return Err(Error::new(
                ErrorKind::Malformed,
                format!("role {delegator} delegates to {role_name:?}, not an allowed role name"),
            ));
        }
        let Some(delegations) = self
            .roles
            .get(delegator)
            .and_then(|role| role.delegations.as_ref())
        else {
            return Err(Error::new(
                ErrorKind::Malformed,
                format!("role {delegator} has no delegations"),
            ));
        };
        let Some(delegated) = delegations
            .roles
            .iter()
            .find(|delegated| delegated.name == role_name)
        else {
            return Err(Error::new(
                ErrorKind::Malformed,
                format!("role {delegator} does not delegate to {role_name}"),
            ));
        };
        if delegated.paths.is_some() == delegated.path_hash_prefixes.is_some() {
            return Err(Error::new(
                ErrorKind::Malformed,
                format!(
                    "role {delegator}: delegation {role_name} needs exactly one of paths and path_hash_prefixes"
                ),
            ));
        }
        let meta_name = format!("{role_name}.json");
        let Some(meta) = self.snapshot.meta.get(&meta_name).cloned() else {
            return Err(Error::new(
                ErrorKind::Mismatch,
                format!(
                    "{meta_name} is not listed in snapshot version {}",
                    self.snapshot.version
                ),
            ));
        };
        Ok(Delegation {
            role: role_name.to_string(),
            path: format!("metadata/{}.{role_name}.json", meta.version),
            keyids: delegated.keyids.clone(),
            threshold: delegated.threshold,
            keys: delegations.keys.clone(),
            meta,
        })
    }
}

/// `listing(role, version)`: the targets that version of a role lists, if known (see
/// [`Client::targets_changed_since`]).
pub type Listing<'a> = dyn Fn(&str, u64) -> Option<Listed> + Sync + 'a;

/// The names `now` and `before` list differently (added, removed, or another target), walking
/// both in name order.
fn differing_names(now: &BTreeMap<String, TargetInfo>, before: &Listed) -> Vec<String> {
    use std::cmp::Ordering;
    let mut names = Vec::new();
    let mut now = now.iter().peekable();
    let mut before = before.iter().peekable();
    loop {
        match (now.peek(), before.peek()) {
            (None, None) => return names,
            (Some((name, _)), None) => {
                names.push((*name).clone());
                now.next();
            }
            (None, Some((name, _))) => {
                names.push((*name).to_string());
                before.next();
            }
            (Some((name, info)), Some((then, then_info))) => match name.as_str().cmp(then) {
                Ordering::Less => {
                    names.push((*name).clone());
                    now.next();
                }
                Ordering::Greater => {
                    names.push((*then).to_string());
                    before.next();
                }
                Ordering::Equal => {
                    if info != then_info {
                        names.push((*name).clone());
                    }
                    now.next();
                    before.next();
                }
            },
        }
    }
}

/// A delegated role verified: the role, its freshness, and its length.
type Verified = (Targets, Freshness, u64);

/// Searches names over every loaded role of a client, on any thread.
struct Resolver<'a> {
    roles: &'a HashMap<String, Targets>,
    most: usize,
    version: u64,
    indexes: HashMap<&'a str, DelegationIndex<'a>>,
}

impl<'a> Resolver<'a> {
    fn new<T: Transport>(client: &'a Client<T>) -> Self {
        let indexes = client
            .roles
            .iter()
            .filter_map(|(name, role)| Some((name.as_str(), role.delegations.as_ref()?)))
            .map(|(name, d)| (name, DelegationIndex::new(d)))
            .collect();
        Resolver {
            roles: &client.roles,
            most: client.options.max_delegation_visits,
            version: client.version(),
            indexes,
        }
    }

    /// The entry `name` resolves to, and the role that lists it; an error if the name is not a
    /// valid target name (every listed name must be, found or not).
    fn resolve(
        &self,
        name: &str,
        scratch: &mut Scratch<'a>,
    ) -> Result<Option<(TargetName, &'a TargetInfo, &'a str)>> {
        let target = TargetName::new(name).map_err(|error| {
            Error::new(
                ErrorKind::Malformed,
                format!("release {}: {}", self.version, error.message()),
            )
        })?;
        let hash = NameHash::of(name);
        let children = |role: &str, delegations: &Delegations, out: &mut Vec<usize>| {
            if let Some(index) = self.indexes.get(role) {
                index.covering(delegations, name, &hash, out);
            }
        };
        match search_with(self.roles, self.most, name, &children, scratch) {
            Search::Found(info, role) => Ok(Some((target, info, role))),
            Search::NotFound => Ok(None),
            // Not reachable: every role a search can visit is loaded.
            Search::Load { role, .. } => Err(Error::new(
                ErrorKind::Malformed,
                format!("release {}: role {role} was not loaded", self.version),
            )),
        }
    }
}

/// A delegated role to verify, and what with.
struct Delegation {
    role: String,
    path: String,
    keyids: Vec<String>,
    threshold: u32,
    keys: BTreeMap<String, crate::schema::Key>,
    meta: MetaFile,
}

impl Delegation {
    /// 5.6.2–5.6.5 on the bytes fetched from `source`: the role, its freshness, and its length.
    fn verify(&self, bytes: &[u8], options: &Options, source: &str) -> Result<Verified> {
        let (path, role_name) = (&self.path, &self.role);
        let max_len = self.meta.length.unwrap_or(options.max_targets_len);
        within_cap(bytes, max_len).map_err(|error| fetch_error(source, path, error))?;
        // 5.6.2: length and hashes the snapshot gives, if any.
        check_meta_file(path, bytes, &self.meta)?;
        // 5.6.3: signed by a threshold of the keys the delegator gives this role.
        let envelope = Envelope::parse_targets(path, bytes)?;
        envelope.verify_threshold(role_name, &self.keyids, self.threshold, &self.keys)?;
        let role: Targets = envelope.into_targets()?;
        // 5.6.4: the version the snapshot says (mix-and-match).
        check_version(path, role.version, self.meta.version, "snapshot")?;
        // 5.6.5: freeze attack.
        let mut freshness = Freshness::Fresh;
        check_expires(
            options,
            source,
            &mut freshness,
            role_name,
            role.expires,
            path,
        )?;
        Ok((role, freshness, bytes.len() as u64))
    }
}

/// The freeze-attack check of 5.3.10, 5.4.4, 5.5.6, 5.6.5 for `file` from `source`: refuse, or
/// with `allow_expired` record the earliest expiry in `freshness`.
fn check_expires(
    options: &Options,
    source: &str,
    freshness: &mut Freshness,
    role: &str,
    expires: OffsetDateTime,
    file: &str,
) -> Result<()> {
    if options.now < expires {
        return Ok(());
    }
    if !options.allow_expired {
        return Err(Error::new(
            ErrorKind::Expired,
            format!(
                "{file} from {source}: {role} metadata expired at {}, now is {}",
                expires_format::format(expires).unwrap_or_else(|_| expires.to_string()),
                expires_format::format(options.now).unwrap_or_else(|_| options.now.to_string()),
            ),
        ));
    }
    freshness.note_expired(role, expires);
    Ok(())
}

/// The cap on a metadata file holds even if a transport returns more than it was asked for.
fn within_cap(bytes: &[u8], max_len: u64) -> std::result::Result<(), FetchError> {
    if bytes.len() as u64 > max_len {
        return Err(FetchError::TooLarge { limit: max_len });
    }
    Ok(())
}

/// The state `load` threads through 5.3–5.6 before a `Client` exists.
struct Loader<T: Transport> {
    transport: T,
    options: Options,
    freshness: Freshness,
    metadata_bytes: u64,
}

impl<T: Transport> Loader<T> {
    fn fetch_metadata(&mut self, path: &str, max_len: u64) -> Result<Vec<u8>> {
        let bytes = self
            .transport
            .fetch(path, max_len)
            .map_err(|error| fetch_error(&self.transport.describe(), path, error))?;
        within_cap(&bytes, max_len)
            .map_err(|error| fetch_error(&self.transport.describe(), path, error))?;
        self.metadata_bytes += bytes.len() as u64;
        Ok(bytes)
    }

    /// The freeze-attack check of 5.3.10, 5.4.4, 5.5.6, 5.6.5: refuse, or with `allow_expired`
    /// record the earliest expiry.
    fn check_expiry(&mut self, role: &str, expires: OffsetDateTime, file: &str) -> Result<()> {
        let source = self.transport.describe();
        check_expires(
            &self.options,
            &source,
            &mut self.freshness,
            role,
            expires,
            file,
        )
    }

    /// 5.4: timestamp.
    fn update_timestamp(
        &mut self,
        root: &Root,
        trusted: Option<&[u8]>,
    ) -> Result<(Timestamp, Vec<u8>)> {
        let trusted = match trusted {
            Some(bytes) => {
                let envelope = Envelope::parse("trusted timestamp", bytes)?;
                verify_with_top_level_role(&envelope, root, "timestamp")?;
                let timestamp: Timestamp = envelope.into_typed(RoleType::Timestamp)?;
                let snapshot_version = snapshot_meta(&timestamp, "trusted timestamp")?.version;
                Some((timestamp, snapshot_version, bytes.to_vec()))
            }
            None => None,
        };
        // 5.4.1: download, capped.
        let path = "metadata/timestamp.json";
        let bytes = self.fetch_metadata(path, self.options.max_timestamp_len)?;
        // 5.4.2: signed by a threshold of root's timestamp keys.
        let envelope = Envelope::parse(path, &bytes)?;
        verify_with_top_level_role(&envelope, root, "timestamp")?;
        let timestamp: Timestamp = envelope.into_typed(RoleType::Timestamp)?;
        let new_snapshot_version = snapshot_meta(&timestamp, path)?.version;
        let (timestamp, bytes) = match trusted {
            Some((trusted_timestamp, trusted_snapshot_version, trusted_bytes)) => {
                // 5.4.3.1: the timestamp version must not go back …
                if timestamp.version < trusted_timestamp.version {
                    return Err(Error::new(
                        ErrorKind::Rollback,
                        format!(
                            "{path} from {}: version {} is older than the trusted version {}",
                            self.transport.describe(),
                            timestamp.version,
                            trusted_timestamp.version
                        ),
                    ));
                }
                // 5.4.3.2: … nor the snapshot version it names.
                if new_snapshot_version < trusted_snapshot_version {
                    return Err(Error::new(
                        ErrorKind::Rollback,
                        format!(
                            "{path} from {}: snapshot version {new_snapshot_version} is older than the trusted {trusted_snapshot_version}",
                            self.transport.describe()
                        ),
                    ));
                }
                // 5.4.3.1, equal versions: nothing changed; keep the trusted copy. Off-spec: the
                // update continues with it instead of stopping (as python-tuf does).
                if timestamp.version == trusted_timestamp.version {
                    (trusted_timestamp, trusted_bytes)
                } else {
                    (timestamp, bytes)
                }
            }
            None => (timestamp, bytes),
        };
        // 5.4.4: freeze attack.
        self.check_expiry("timestamp", timestamp.expires, path)?;
        // 5.4.5 (persisting) is the caller's: see `Client::trusted_state`.
        Ok((timestamp, bytes))
    }

    /// 5.5: snapshot.
    fn update_snapshot(
        &mut self,
        root: &Root,
        timestamp: &Timestamp,
        trusted: Option<&[u8]>,
    ) -> Result<(Snapshot, Vec<u8>)> {
        let trusted: Option<Snapshot> = match trusted {
            Some(bytes) => {
                let envelope = Envelope::parse("trusted snapshot", bytes)?;
                verify_with_top_level_role(&envelope, root, "snapshot")?;
                Some(envelope.into_typed(RoleType::Snapshot)?)
            }
            None => None,
        };
        let meta = snapshot_meta(timestamp, "metadata/timestamp.json")?.clone();
        // 5.5.1: download VERSION.snapshot.json, capped by the timestamp's length if given.
        let path = format!("metadata/{}.snapshot.json", meta.version);
        let bytes =
            self.fetch_metadata(&path, meta.length.unwrap_or(self.options.max_snapshot_len))?;
        // 5.5.2: the timestamp's length and hash.
        check_meta_file(&path, &bytes, &meta)?;
        // 5.5.3: signed by a threshold of root's snapshot keys.
        let envelope = Envelope::parse(&path, &bytes)?;
        verify_with_top_level_role(&envelope, root, "snapshot")?;
        let snapshot: Snapshot = envelope.into_typed(RoleType::Snapshot)?;
        // 5.5.4: the version the timestamp says.
        check_version(&path, snapshot.version, meta.version, "timestamp")?;
        // 5.5.5: no role listed before may disappear or go back.
        if let Some(trusted) = &trusted {
            for (file_name, trusted_meta) in &trusted.meta {
                let Some(new_meta) = snapshot.meta.get(file_name) else {
                    return Err(Error::new(
                        ErrorKind::Rollback,
                        format!(
                            "{path}: {file_name} was listed in trusted snapshot version {} and is missing",
                            trusted.version
                        ),
                    ));
                };
                if new_meta.version < trusted_meta.version {
                    return Err(Error::new(
                        ErrorKind::Rollback,
                        format!(
                            "{path}: {file_name} version {} is older than the trusted {}",
                            new_meta.version, trusted_meta.version
                        ),
                    ));
                }
            }
        }
        // 5.5.6: freeze attack.
        self.check_expiry("snapshot", snapshot.expires, &path)?;
        // 5.5.7 (persisting) is the caller's.
        Ok((snapshot, bytes))
    }

    /// 5.6.1–5.6.5: top-level targets.
    fn update_targets(&mut self, root: &Root, snapshot: &Snapshot) -> Result<Targets> {
        let Some(meta) = snapshot.meta.get(TARGETS_META) else {
            return Err(Error::new(
                ErrorKind::Malformed,
                format!(
                    "snapshot version {} does not list {TARGETS_META}",
                    snapshot.version
                ),
            ));
        };
        // 5.6.1: download VERSION.targets.json.
        let path = format!("metadata/{}.targets.json", meta.version);
        let bytes =
            self.fetch_metadata(&path, meta.length.unwrap_or(self.options.max_targets_len))?;
        // 5.6.2: the snapshot's length and hashes, if any.
        check_meta_file(&path, &bytes, meta)?;
        // 5.6.3: signed by a threshold of root's targets keys.
        let envelope = Envelope::parse(&path, &bytes)?;
        verify_with_top_level_role(&envelope, root, "targets")?;
        let targets: Targets = envelope.into_typed(RoleType::Targets)?;
        // 5.6.4: the version the snapshot says.
        check_version(&path, targets.version, meta.version, "snapshot")?;
        // 5.6.5: freeze attack.
        self.check_expiry("targets", targets.expires, &path)?;
        Ok(targets)
    }
}

/// The parts of `state` that `root`'s keys sign (see [`Client::load_with_trusted_state`]).
fn usable_trusted_state(state: TrustedState, root: &Root) -> TrustedState {
    let signed_by = |bytes: Option<Vec<u8>>, role: &str| {
        bytes.filter(|bytes| {
            Envelope::parse(&format!("trusted {role}"), bytes)
                .and_then(|envelope| verify_with_top_level_role(&envelope, root, role))
                .is_ok()
        })
    };
    TrustedState {
        timestamp: signed_by(state.timestamp, "timestamp"),
        snapshot: signed_by(state.snapshot, "snapshot"),
    }
}

fn verify_with_top_level_role(envelope: &Envelope, root: &Root, role: &str) -> Result<()> {
    let Some(role_keys) = root.roles.get(role) else {
        return Err(Error::new(
            ErrorKind::Malformed,
            format!("root version {} has no {role} role", root.version),
        ));
    };
    envelope.verify_threshold(role, &role_keys.keyids, role_keys.threshold, &root.keys)
}

fn check_root_shape(root: &Root, file: &str) -> Result<()> {
    for role in TOP_LEVEL_ROLES {
        let Some(role_keys) = root.roles.get(role) else {
            return Err(Error::new(
                ErrorKind::Malformed,
                format!("{file}: no {role} role"),
            ));
        };
        // python-tuf refuses such a root when it parses it ("Nonunique keyids").
        let keyids = &role_keys.keyids;
        if let Some(twice) = (0..keyids.len()).find(|&i| keyids[..i].contains(&keyids[i])) {
            return Err(Error::new(
                ErrorKind::Malformed,
                format!("{file}: role {role} lists key id {} twice", keyids[twice]),
            ));
        }
    }
    Ok(())
}

fn snapshot_meta<'a>(timestamp: &'a Timestamp, file: &str) -> Result<&'a MetaFile> {
    timestamp.meta.get(SNAPSHOT_META).ok_or_else(|| {
        Error::new(
            ErrorKind::Malformed,
            format!("{file}: meta has no {SNAPSHOT_META}"),
        )
    })
}

fn check_meta_file(path: &str, bytes: &[u8], meta: &MetaFile) -> Result<()> {
    if let Some(length) = meta.length
        && bytes.len() as u64 != length
    {
        return Err(Error::new(
            ErrorKind::Mismatch,
            format!(
                "{path}: {} bytes, the signed length is {length}",
                bytes.len()
            ),
        ));
    }
    if let Some(hashes) = &meta.hashes
        && Digest::of(bytes) != hashes.sha256
    {
        return Err(Error::new(
            ErrorKind::Mismatch,
            format!("{path}: SHA-256 differs from the signed hash"),
        ));
    }
    Ok(())
}

fn check_version(path: &str, version: u64, expected: u64, source: &str) -> Result<()> {
    if version == expected {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::Mismatch,
        format!("{path}: version {version}, the {source} says {expected}"),
    ))
}

fn fetch_error(source: &str, path: &str, error: FetchError) -> Error {
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
