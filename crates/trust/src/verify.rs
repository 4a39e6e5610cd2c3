//! Signature checking on untrusted bytes, shared by the client (and usable by a mirror).
//!
//! Order matters and is fixed here: size-capped bytes → `serde_json::Value` → signatures checked
//! over the canonical JSON of the *parsed* `signed` value (so fields this crate does not know are
//! covered too) → only then deserialised into the typed structs of [`crate::schema`].
//! Nothing here can touch a private key.

use std::collections::{BTreeMap, HashSet};

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::cjson;
use crate::error::{Error, ErrorKind, Result};
use crate::keys::PublicKey;
use crate::schema::{Key, RoleType, Signature};

/// A parsed but not yet trusted metadata document.
pub struct Envelope {
    /// Where it came from, for messages.
    pub file: String,
    signatures: Vec<Signature>,
    signed: Value,
    canonical_signed: Vec<u8>,
    /// A leaf targets role read by [`crate::leaf`] (then `signed` is not used).
    leaf: Option<crate::schema::Targets>,
}

impl Envelope {
    /// Parses the outer `{"signatures":[...],"signed":{...}}` of `bytes` read from `file`.
    pub fn parse(file: &str, bytes: &[u8]) -> Result<Self> {
        let malformed = |what: String| Error::new(ErrorKind::Malformed, format!("{file}: {what}"));
        let value: Value = serde_json::from_slice(bytes)
            .map_err(|error| malformed(format!("not JSON: {error}")))?;
        let Value::Object(mut outer) = value else {
            return Err(malformed("not a JSON object".to_string()));
        };
        let signed = outer
            .remove("signed")
            .filter(Value::is_object)
            .ok_or_else(|| malformed("no \"signed\" object".to_string()))?;
        let signatures_value = outer
            .remove("signatures")
            .ok_or_else(|| malformed("no \"signatures\" list".to_string()))?;
        let signatures: Vec<Signature> = serde_json::from_value(signatures_value)
            .map_err(|error| malformed(format!("bad \"signatures\": {error}")))?;
        let canonical_signed = cjson::canonical_value(&signed)
            .map_err(|error| malformed(error.message().to_string()))?;
        check_unique_signatures(file, &signatures)?;
        Ok(Self {
            file: file.to_string(),
            signatures,
            signed,
            canonical_signed,
            leaf: None,
        })
    }

    /// [`Self::parse`] for a targets role, with a shorter road for a leaf bin in the exact
    /// canonical form [`crate::leaf`] describes: its `signed` bytes are then the canonical form
    /// the signatures cover, and are read straight into the typed role (at 250,000 documents a
    /// mirror's sync verifies ~1,200 bins of ~30 KB; through `Value` this was most of its time).
    /// Anything else takes the general road; both give the same result.
    pub fn parse_targets(file: &str, bytes: &[u8]) -> Result<Self> {
        #[derive(serde::Deserialize)]
        struct Outer<'a> {
            signatures: Vec<Signature>,
            #[serde(borrow)]
            signed: &'a serde_json::value::RawValue,
        }
        // (A struct also deserializes from a JSON array: the general road refuses that.)
        let is_object = bytes.trim_ascii_start().first() == Some(&b'{');
        if is_object
            && let Ok(outer) = serde_json::from_slice::<Outer<'_>>(bytes)
            && let Some(leaf) = crate::leaf::read_canonical_leaf(outer.signed.get())
        {
            check_unique_signatures(file, &outer.signatures)?;
            return Ok(Self {
                file: file.to_string(),
                signatures: outer.signatures,
                signed: Value::Null,
                canonical_signed: outer.signed.get().as_bytes().to_vec(),
                leaf: Some(leaf),
            });
        }
        Self::parse(file, bytes)
    }

    /// Whether [`Self::parse_targets`] took the shorter road: a leaf bin in canonical form,
    /// read straight into the typed role.
    pub fn read_as_leaf(&self) -> bool {
        self.leaf.is_some()
    }

    /// The targets role (call after [`Self::verify_threshold`]), checked as [`Self::into_typed`].
    pub fn into_targets(self) -> Result<crate::schema::Targets> {
        match self.leaf {
            Some(leaf) => check_typed(&self.file, leaf, RoleType::Targets),
            None => self.into_typed(RoleType::Targets),
        }
    }

    /// Checks that at least `threshold` distinct keys among `keyids` (looked up in `keys`) signed.
    ///
    /// A key counts once however many key ids it is listed under. A signature that fails, or
    /// names a key that is not authorised or of an unknown type, counts for nothing, as in
    /// python-tuf (`get_verification_result`): the threshold decides. A signatures list naming
    /// one key id twice was refused when parsed, and `keyids` naming one twice is refused here
    /// (python-tuf refuses both). If the threshold is not met and some authorised key's
    /// signature failed, the error is [`ErrorKind::BadSignature`] (tampering), otherwise
    /// [`ErrorKind::ThresholdNotMet`].
    pub fn verify_threshold(
        &self,
        role: &str,
        keyids: &[String],
        threshold: u32,
        keys: &BTreeMap<String, Key>,
    ) -> Result<()> {
        if threshold == 0 {
            return Err(Error::new(
                ErrorKind::Malformed,
                format!("{}: role {role} has threshold 0", self.file),
            ));
        }
        if let Some(twice) = keyids
            .iter()
            .enumerate()
            .find_map(|(i, keyid)| keyids[..i].contains(keyid).then_some(keyid))
        {
            return Err(Error::new(
                ErrorKind::Malformed,
                format!(
                    "{}: role {role} is given key id {twice} twice by its delegator",
                    self.file
                ),
            ));
        }
        let mut counted_keys: HashSet<[u8; 32]> = HashSet::new();
        let mut failed_signatures = 0usize;
        for signature in &self.signatures {
            if !keyids.iter().any(|keyid| keyid == &signature.keyid) {
                continue;
            }
            let Some(key) = keys.get(&signature.keyid) else {
                continue;
            };
            let Ok(Some(public)) = PublicKey::from_key(key) else {
                continue;
            };
            let verified = hex::decode(&signature.sig)
                .map(|bytes| public.verify(&self.canonical_signed, &bytes))
                .unwrap_or(false);
            if verified {
                counted_keys.insert(*public.as_bytes());
            } else {
                failed_signatures += 1;
            }
        }
        if counted_keys.len() >= threshold as usize {
            return Ok(());
        }
        let kind = if failed_signatures > 0 {
            ErrorKind::BadSignature
        } else {
            ErrorKind::ThresholdNotMet
        };
        Err(Error::new(
            kind,
            format!(
                "{}: {} valid signature(s) by distinct {role} keys, threshold is {threshold}{}",
                self.file,
                counted_keys.len(),
                if failed_signatures > 0 {
                    format!(", {failed_signatures} signature(s) did not verify")
                } else {
                    String::new()
                }
            ),
        ))
    }

    /// Deserialises a copy of `signed` before its signatures are checked: only for root, whose
    /// own keys are needed to check it (5.2, 5.3.4). Same checks as [`Self::into_typed`].
    pub fn peek_typed<T: DeserializeOwned + Versioned>(&self, expected: RoleType) -> Result<T> {
        Self {
            file: self.file.clone(),
            signatures: Vec::new(),
            signed: self.signed.clone(),
            canonical_signed: Vec::new(),
            leaf: None,
        }
        .into_typed(expected)
    }

    /// Deserialises `signed` (call after [`Self::verify_threshold`]) and checks `_type`,
    /// `spec_version` (major 1, as python-tuf) and `version` ≥ 1.
    pub fn into_typed<T: DeserializeOwned + Versioned>(self, expected: RoleType) -> Result<T> {
        let file = self.file;
        let typed: T = serde_json::from_value(self.signed).map_err(|error| {
            Error::new(
                ErrorKind::Malformed,
                format!("{file}: bad {}: {error}", expected.as_str()),
            )
        })?;
        check_typed(&file, typed, expected)
    }
}

/// Refuses a signatures list that names one key id twice, as python-tuf does when it parses
/// metadata ("Multiple signatures found for keyid"), whatever the signatures and whoever the key:
/// bytes one client accepts and the other refuses would let a peer make an honest mirror store
/// and serve what readers' TUF clients refuse.
fn check_unique_signatures(file: &str, signatures: &[Signature]) -> Result<()> {
    let mut seen: HashSet<&str> = HashSet::with_capacity(signatures.len());
    for signature in signatures {
        if !seen.insert(signature.keyid.as_str()) {
            return Err(Error::new(
                ErrorKind::Malformed,
                format!(
                    "{file}: more than one signature by key id {}",
                    signature.keyid
                ),
            ));
        }
    }
    Ok(())
}

/// `_type`, `spec_version` (major 1, as python-tuf) and `version` ≥ 1.
fn check_typed<T: Versioned>(file: &str, typed: T, expected: RoleType) -> Result<T> {
    if typed.role_type() != expected {
        return Err(Error::new(
            ErrorKind::Malformed,
            format!(
                "{file}: _type is {:?}, expected {:?}",
                typed.role_type().as_str(),
                expected.as_str()
            ),
        ));
    }
    let parts: Vec<&str> = typed.spec_version().split('.').collect();
    let numeric = parts
        .iter()
        .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()));
    if parts.len() != 3 || !numeric || parts[0] != "1" {
        return Err(Error::new(
            ErrorKind::Malformed,
            format!(
                "{file}: spec_version {:?} is not 1.x.y",
                typed.spec_version()
            ),
        ));
    }
    if typed.version() == 0 {
        return Err(Error::new(
            ErrorKind::Malformed,
            format!("{file}: version 0"),
        ));
    }
    Ok(typed)
}

/// What every metadata document has.
pub trait Versioned {
    fn role_type(&self) -> RoleType;
    fn spec_version(&self) -> &str;
    fn version(&self) -> u64;
    fn expires(&self) -> time::OffsetDateTime;
}

macro_rules! versioned {
    ($($type:ty),*) => {$(
        impl Versioned for $type {
            fn role_type(&self) -> RoleType { self.role_type }
            fn spec_version(&self) -> &str { &self.spec_version }
            fn version(&self) -> u64 { self.version }
            fn expires(&self) -> time::OffsetDateTime { self.expires }
        }
    )*};
}
versioned!(
    crate::schema::Root,
    crate::schema::Targets,
    crate::schema::Snapshot,
    crate::schema::Timestamp
);
