//! Leaf bins in the one form this crate writes them: canonical JSON, no `custom`, names that JSON
//! writes without escapes. Written straight to bytes, and read back without a general JSON
//! parser: at 250,000 documents a release after a 1% change re-signs ~1,200 bins of ~30 KB, and a
//! mirror verifies as many. Anything not exactly in that form is left to the general path (serde
//! and canonicalisation of the parsed value), so the result never depends on which path read it.

use std::collections::BTreeMap;

use crate::error::{Error, ErrorKind, Result};
use crate::schema::{
    Delegations, Digest, Hashes, RoleType, Signature, TargetInfo, Targets, expires_format,
};
use time::OffsetDateTime;

/// Whether JSON writes `text` as it is, between quotes (no escapes).
pub(crate) fn plain(text: &str) -> bool {
    !text.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\')
}

/// Whether [`write_simple_targets`] can write `targets`: no `custom`, plain names.
pub(crate) fn simple_targets(targets: &BTreeMap<String, TargetInfo>) -> bool {
    targets
        .iter()
        .all(|(name, info)| info.custom.is_none() && plain(name))
}

/// Appends the canonical JSON of a `targets` object that [`simple_targets`] accepts.
pub(crate) fn write_simple_targets(out: &mut Vec<u8>, targets: &BTreeMap<String, TargetInfo>) {
    out.push(b'{');
    for (index, (name, info)) in targets.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        out.push(b'"');
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(br#"":{"hashes":{"sha256":""#);
        let mut hex = [0u8; 64];
        // Cannot fail: the buffer is exactly twice the digest.
        let _ = hex::encode_to_slice(info.hashes.sha256.0, &mut hex);
        out.extend_from_slice(&hex);
        out.extend_from_slice(br#""},"length":"#);
        out.extend_from_slice(info.length.to_string().as_bytes());
        out.push(b'}');
    }
    out.push(b'}');
}

/// Reads back what [`write_simple_targets`] wrote, without a general JSON parser (at 250,000
/// documents a release after a 1% change reads ~35 MB of bins); `None` for anything else, which
/// the caller then parses as JSON.
pub(crate) fn read_simple_targets(raw: &str) -> Option<BTreeMap<String, TargetInfo>> {
    // Sorted and without duplicates as canonical JSON has them, checked by the reader: the map
    // is then built in one pass rather than by inserts.
    let mut entries: Vec<(String, TargetInfo)> = Vec::with_capacity(raw.len() / 120);
    each_simple_target(raw, |name, info| entries.push((name.to_string(), info)))?;
    Some(entries.into_iter().collect())
}

/// Calls `each` with every target of a `targets` object that [`write_simple_targets`] wrote, in
/// order (names strictly increasing, checked); `None`, and maybe some calls, for anything else.
fn each_simple_target<'a>(raw: &'a str, mut each: impl FnMut(&'a str, TargetInfo)) -> Option<()> {
    const HASHES: &[u8] = br#"":{"hashes":{"sha256":""#;
    const LENGTH: &[u8] = br#""},"length":"#;
    let bytes = raw.as_bytes();
    let mut at = 1;
    if bytes.first() != Some(&b'{') {
        return None;
    }
    if &bytes[at..] == b"}" {
        return Some(());
    }
    let mut last: Option<&str> = None;
    loop {
        if bytes.get(at) != Some(&b'"') {
            return None;
        }
        let start = at + 1;
        let end = start + bytes[start..].iter().position(|&b| b == b'"')?;
        // A quote is ASCII, so both ends are character boundaries of `raw`.
        let name = &raw[start..end];
        if !plain(name) || last.is_some_and(|last| last >= name) {
            return None;
        }
        last = Some(name);
        at = end;
        if !bytes[at..].starts_with(HASHES) {
            return None;
        }
        at += HASHES.len();
        let sha256 = decode_lower_hex(bytes.get(at..at + 64)?)?;
        at += 64;
        if !bytes[at..].starts_with(LENGTH) {
            return None;
        }
        at += LENGTH.len();
        let digits = bytes[at..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
        if digits == 0 || (digits > 1 && bytes[at] == b'0') {
            return None;
        }
        let length: u64 = raw[at..at + digits].parse().ok()?;
        at += digits;
        if bytes.get(at) != Some(&b'}') {
            return None;
        }
        at += 1;
        each(
            name,
            TargetInfo {
                length,
                hashes: Hashes {
                    sha256: Digest(sha256),
                },
                custom: None,
            },
        );
        match &bytes[at..] {
            b"}" => return Some(()),
            [b',', ..] => at += 1,
            _ => return None,
        }
    }
}

/// Lowercase hex digits → their value; anything else → 0xff.
const HEX: [u8; 256] = {
    let mut table = [0xff; 256];
    let mut i = 0;
    while i < 10 {
        table[b'0' as usize + i] = i as u8;
        i += 1;
    }
    let mut i = 0;
    while i < 6 {
        table[b'a' as usize + i] = 10 + i as u8;
        i += 1;
    }
    table
};

/// 64 lowercase hex digits (as written; uppercase is another spelling, left to JSON).
fn decode_lower_hex(hex: &[u8]) -> Option<[u8; 32]> {
    let mut out = [0u8; 32];
    let mut bad = 0u8;
    for (byte, pair) in out.iter_mut().zip(hex.chunks_exact(2)) {
        let (high, low) = (HEX[pair[0] as usize], HEX[pair[1] as usize]);
        bad |= high | low;
        *byte = (high << 4) | (low & 0x0f);
    }
    (hex.len() == 64 && bad & 0xf0 == 0).then_some(out)
}

/// A leaf targets role from its `signed` bytes, if they are exactly the canonical JSON this crate
/// writes for one (then they are also the bytes its signatures cover): `{"_type":"targets",
/// "expires":…,"spec_version":…,"targets":{…},"version":N}` with nothing else, no whitespace, no
/// escapes, names sorted and distinct. `None` for anything else.
pub(crate) fn read_canonical_leaf(signed: &str) -> Option<Targets> {
    let leaf = CanonicalLeaf::split(signed)?;
    Some(Targets {
        role_type: RoleType::Targets,
        spec_version: leaf.spec_version.to_string(),
        version: leaf.version,
        expires: expires_format::parse(leaf.expires).ok()?,
        targets: read_simple_targets(leaf.targets)?,
        delegations: None,
    })
}

/// The parts of a leaf role's `signed` bytes in the form [`read_canonical_leaf`] reads.
struct CanonicalLeaf<'a> {
    expires: &'a str,
    spec_version: &'a str,
    /// The `targets` object, unread.
    targets: &'a str,
    version: u64,
}

impl<'a> CanonicalLeaf<'a> {
    fn split(signed: &'a str) -> Option<Self> {
        let rest = signed.strip_prefix(r#"{"_type":"targets","expires":""#)?;
        let (expires, rest) = rest.split_once('"')?;
        let rest = rest.strip_prefix(r#","spec_version":""#)?;
        let (spec_version, rest) = rest.split_once('"')?;
        if !plain(spec_version) {
            return None;
        }
        let rest = rest.strip_prefix(r#","targets":"#)?;
        let end = rest.rfind(r#","version":"#)?;
        let version = rest[end..]
            .strip_prefix(r#","version":"#)?
            .strip_suffix('}')?;
        if version.is_empty()
            || !version.bytes().all(|b| b.is_ascii_digit())
            || (version.len() > 1 && version.starts_with('0'))
        {
            return None;
        }
        Some(CanonicalLeaf {
            expires,
            spec_version,
            targets: &rest[..end],
            version: version.parse().ok()?,
        })
    }
}

/// The targets a role file lists, sorted by name: what a sync compares a changed role's new
/// listing with. Names are kept in one string, not one allocation each (a sync after a 1% change
/// at 250,000 documents reads ~1,200 earlier bins of ~500 names).
#[derive(Debug, Default, PartialEq)]
pub struct Listed {
    names: String,
    /// (end of the name in `names`, its target), sorted by name.
    entries: Vec<(usize, TargetInfo)>,
}

impl Listed {
    fn push(&mut self, name: &str, info: TargetInfo) {
        self.names.push_str(name);
        self.entries.push((self.names.len(), info));
    }

    /// Every (name, target), sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &TargetInfo)> {
        let mut start = 0;
        self.entries.iter().map(move |(end, info)| {
            let name = &self.names[start..*end];
            start = *end;
            (name, info)
        })
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

impl From<BTreeMap<String, TargetInfo>> for Listed {
    fn from(targets: BTreeMap<String, TargetInfo>) -> Self {
        let mut listed = Listed::default();
        for (name, info) in targets {
            listed.push(&name, info);
        }
        listed
    }
}

/// The targets a metadata file lists, read without checking its signatures: for a file this
/// side wrote or verified before (a mirror's own committed release). `None` if it does not parse.
///
/// A leaf bin in the canonical form this crate writes (`{"signatures":[…],"signed":{…}}`, no
/// whitespace, as [`read_canonical_leaf`] reads `signed`) is read without a JSON parser; any
/// other file through [`read_listing`]. Both give the same listing.
pub fn read_listed(file: &[u8]) -> Option<Listed> {
    const SIGNED: &str = r#"],"signed":"#;
    let quick = std::str::from_utf8(file).ok().and_then(|text| {
        let rest = text.strip_prefix(r#"{"signatures":["#)?;
        // Signatures are key ids and signatures in hex: the first `],"signed":` ends them.
        let signed = rest[rest.find(SIGNED)? + SIGNED.len()..].strip_suffix('}')?;
        let leaf = CanonicalLeaf::split(signed)?;
        let mut listed = Listed {
            names: String::with_capacity(leaf.targets.len() / 4),
            entries: Vec::with_capacity(leaf.targets.len() / 120),
        };
        each_simple_target(leaf.targets, |name, info| listed.push(name, info))?;
        Some(listed)
    });
    quick.or_else(|| read_listing(file).map(Listed::from))
}

/// The targets a metadata file lists, read without checking its signatures: for a file this
/// side wrote or verified before (a mirror's own committed release). `None` if it does not parse.
pub fn read_listing(file: &[u8]) -> Option<BTreeMap<String, TargetInfo>> {
    serde_json::from_slice::<TargetsFile>(file)
        .ok()?
        .targets()
        .ok()
}

/// A targets role file read without checking its signatures (for a file this side wrote or
/// verified before: the previous release of a publisher, the committed release of a mirror):
/// what deciding to keep it needs, and its `targets` as they are in the file, parsed only when
/// needed.
#[derive(serde::Deserialize)]
#[serde(from = "RoleFile")]
pub(crate) struct TargetsFile {
    pub(crate) version: u64,
    pub(crate) expires: OffsetDateTime,
    pub(crate) keyids: Vec<String>,
    pub(crate) delegations: Option<Delegations>,
    targets: Box<serde_json::value::RawValue>,
    /// The file's length in bytes (set by whoever read the file; 0 until then).
    pub(crate) length: u64,
}

#[derive(serde::Deserialize)]
struct RoleFile {
    signatures: Vec<Signature>,
    signed: RoleSigned,
}

#[derive(serde::Deserialize)]
struct RoleSigned {
    version: u64,
    #[serde(with = "crate::schema::expires_format")]
    expires: OffsetDateTime,
    targets: Box<serde_json::value::RawValue>,
    #[serde(default)]
    delegations: Option<Delegations>,
}

impl From<RoleFile> for TargetsFile {
    fn from(file: RoleFile) -> Self {
        TargetsFile {
            version: file.signed.version,
            expires: file.signed.expires,
            keyids: file.signatures.into_iter().map(|s| s.keyid).collect(),
            delegations: file.signed.delegations,
            targets: file.signed.targets,
            length: 0,
        }
    }
}

impl TargetsFile {
    pub(crate) fn targets(&self) -> Result<BTreeMap<String, TargetInfo>> {
        let raw = self.targets.get();
        if let Some(targets) = read_simple_targets(raw) {
            return Ok(targets);
        }
        serde_json::from_str(raw).map_err(|error| {
            Error::new(
                ErrorKind::Malformed,
                format!("targets of version {}: {error}", self.version),
            )
        })
    }

    /// Whether the file lists exactly `targets`, compared as canonical bytes when they can be
    /// written so: a bin written by this editor holds exactly those bytes; one written another
    /// way differs, and is signed anew once, the same content at a new version.
    pub(crate) fn same_targets(&self, targets: &BTreeMap<String, TargetInfo>) -> Result<bool> {
        if simple_targets(targets) {
            let mut bytes = Vec::with_capacity(targets.len() * 128);
            write_simple_targets(&mut bytes, targets);
            return Ok(bytes == self.targets.get().as_bytes());
        }
        Ok(self.targets()? == *targets)
    }
}
