//! Ed25519 keys: [`SigningKey`] (private, PKCS#8 DER files as tough expects) for the editor, and
//! [`PublicKey`] (serialised as the TUF key object) for everything else.
//!
//! Architecture invariant: the verifying client only ever sees [`PublicKey`]; nothing in
//! `client` or `verify` can construct or read a [`SigningKey`].

use std::fmt;
use std::path::Path;

use ed25519_dalek::Signer;
use ed25519_dalek::pkcs8::DecodePrivateKey;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

use crate::error::{Error, ErrorKind, Result};
use crate::schema::{Key, KeyVal};

/// The TUF key type and signature scheme of every key this crate writes.
pub const ED25519: &str = "ed25519";

/// A private ed25519 key. Its `Debug` shows only the key id.
pub struct SigningKey {
    inner: ed25519_dalek::SigningKey,
}

impl SigningKey {
    /// A fresh random key from the operating system's generator.
    pub fn generate() -> Self {
        let mut random = rand_core::OsRng;
        Self {
            inner: ed25519_dalek::SigningKey::generate(&mut random),
        }
    }

    /// Parses a PKCS#8 DER private key (v1 or v2, as written by tough, openssl or [`Self::to_pkcs8_der`]).
    pub fn from_pkcs8_der(der: &[u8]) -> Result<Self> {
        let inner = ed25519_dalek::SigningKey::from_pkcs8_der(der).map_err(|error| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("not a PKCS#8 DER ed25519 private key: {error}"),
            )
        })?;
        Ok(Self { inner })
    }

    /// PKCS#8 v2 DER (RFC 8410 OneAsymmetricKey with the public key), byte-identical to what
    /// `ed25519-dalek`'s `EncodePrivateKey` writes and what ring (tough) reads.
    pub fn to_pkcs8_der(&self) -> Vec<u8> {
        const PREFIX: [u8; 16] = [
            0x30, 0x51, // SEQUENCE, 81 bytes
            0x02, 0x01, 0x01, // INTEGER 1 (v2)
            0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, // AlgorithmIdentifier id-Ed25519
            0x04, 0x22, 0x04, 0x20, // OCTET STRING { OCTET STRING (32 bytes) }
        ];
        const PUBLIC_PREFIX: [u8; 3] = [0x81, 0x21, 0x00]; // [1] BIT STRING, 0 unused bits
        let mut der = Vec::with_capacity(83);
        der.extend_from_slice(&PREFIX);
        der.extend_from_slice(&self.inner.to_bytes());
        der.extend_from_slice(&PUBLIC_PREFIX);
        der.extend_from_slice(self.inner.verifying_key().as_bytes());
        der
    }

    /// Reads a PKCS#8 DER key file; the error names the file.
    pub fn read(path: &Path) -> Result<Self> {
        let der = std::fs::read(path).map_err(|error| Error::io("read key file", path, &error))?;
        Self::from_pkcs8_der(&der).map_err(|error| {
            Error::new(
                error.kind(),
                format!("{}: {}", path.display(), error.message()),
            )
        })
    }

    /// Writes the key as PKCS#8 DER to a new file (mode 0600, fsynced, the folder too).
    /// Refuses to overwrite an existing file.
    pub fn write_new(&self, path: &Path) -> Result<()> {
        common::files::write_new(path, &self.to_pkcs8_der(), 0o600)
            .map_err(|error| Error::new(ErrorKind::Io, format!("key file {error}")))
    }

    /// The public half.
    pub fn public(&self) -> PublicKey {
        PublicKey {
            inner: self.inner.verifying_key(),
        }
    }

    /// Signs `message` (for TUF: the canonical JSON of a `signed` object).
    pub fn sign(&self, message: &[u8]) -> [u8; 64] {
        self.inner.sign(message).to_bytes()
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "SigningKey({})", self.public().key_id())
    }
}

/// A public ed25519 key, serialised as the TUF key object
/// `{"keytype":"ed25519","scheme":"ed25519","keyval":{"public":HEX}}`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublicKey {
    inner: ed25519_dalek::VerifyingKey,
}

impl PublicKey {
    /// Parses 64 hex digits (the `keyval.public` of a TUF key).
    pub fn from_hex(text: &str) -> Result<Self> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text, &mut bytes).map_err(|error| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("ed25519 public key must be 64 hex digits, got {text:?}: {error}"),
            )
        })?;
        Self::from_bytes(&bytes)
    }

    /// Parses the 32 raw bytes of a public key.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self> {
        let inner = ed25519_dalek::VerifyingKey::from_bytes(bytes).map_err(|error| {
            Error::new(
                ErrorKind::InvalidInput,
                format!("invalid ed25519 public key {}: {error}", hex::encode(bytes)),
            )
        })?;
        Ok(Self { inner })
    }

    /// The key as TUF writes it: `keyval.public`.
    pub fn to_hex(&self) -> String {
        hex::encode(self.inner.as_bytes())
    }

    /// The 32 raw bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        self.inner.as_bytes()
    }

    /// The TUF key object.
    pub fn to_key(&self) -> Key {
        Key {
            keytype: ED25519.to_string(),
            scheme: ED25519.to_string(),
            keyval: KeyVal {
                public: self.to_hex(),
            },
        }
    }

    /// The key of a TUF key object, `None` for key types or schemes this crate does not verify
    /// (the spec lets clients ignore them), an error for a malformed ed25519 key.
    pub fn from_key(key: &Key) -> Result<Option<Self>> {
        if key.keytype != ED25519 || key.scheme != ED25519 {
            return Ok(None);
        }
        Self::from_hex(&key.keyval.public).map(Some)
    }

    /// The TUF key id: hex SHA-256 of the canonical JSON of the key object.
    pub fn key_id(&self) -> String {
        // The key object holds only ASCII strings, so this is the canonical form written by hand
        // (keys sorted: keytype, keyval, scheme) and cannot fail.
        let canonical = format!(
            "{{\"keytype\":\"{ED25519}\",\"keyval\":{{\"public\":\"{}\"}},\"scheme\":\"{ED25519}\"}}",
            self.to_hex()
        );
        hex::encode(Sha256::digest(canonical.as_bytes()))
    }

    /// Strict ed25519 verification (rejects small-order keys and non-canonical signatures).
    pub fn verify(&self, message: &[u8], signature: &[u8]) -> bool {
        let Ok(signature) = ed25519_dalek::Signature::from_slice(signature) else {
            return false;
        };
        self.inner.verify_strict(message, &signature).is_ok()
    }
}

impl fmt::Debug for PublicKey {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "PublicKey({})", self.to_hex())
    }
}

impl std::str::FromStr for PublicKey {
    type Err = Error;
    fn from_str(text: &str) -> Result<Self> {
        Self::from_hex(text)
    }
}

impl Serialize for PublicKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.to_key().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for PublicKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let key = Key::deserialize(deserializer)?;
        match PublicKey::from_key(&key) {
            Ok(Some(public)) => Ok(public),
            Ok(None) => Err(serde::de::Error::custom(format!(
                "unsupported key type {:?} / scheme {:?}, expected ed25519",
                key.keytype, key.scheme
            ))),
            Err(error) => Err(serde::de::Error::custom(error.message())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ed25519_dalek::pkcs8::EncodePrivateKey;

    #[test]
    fn pkcs8_matches_library_and_round_trips() {
        let key = SigningKey::generate();
        let library = key.inner.to_pkcs8_der().unwrap();
        assert_eq!(key.to_pkcs8_der(), library.as_bytes());
        let again = SigningKey::from_pkcs8_der(&key.to_pkcs8_der()).unwrap();
        assert_eq!(again.public(), key.public());
    }

    #[test]
    fn key_id_is_hash_of_canonical_key_object() {
        let key = SigningKey::generate().public();
        let canonical = crate::cjson::canonical(&key.to_key()).unwrap();
        assert_eq!(key.key_id(), hex::encode(Sha256::digest(&canonical)));
    }

    #[test]
    fn write_new_refuses_to_overwrite_and_read_names_the_file() {
        let folder = tempfile::tempdir().unwrap();
        let path = folder.path().join("targets.der");
        let key = SigningKey::generate();
        key.write_new(&path).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(key.write_new(&path).unwrap_err().kind(), ErrorKind::Io);
        assert_eq!(SigningKey::read(&path).unwrap().public(), key.public());
        std::fs::write(&path, b"garbage").unwrap();
        let error = SigningKey::read(&path).unwrap_err();
        assert!(error.message().contains("targets.der"), "{error}");
    }

    #[test]
    fn public_key_serde_is_the_tuf_key_object() {
        let key = SigningKey::generate().public();
        let json = serde_json::to_value(key).unwrap();
        assert_eq!(json["keytype"], "ed25519");
        assert_eq!(json["keyval"]["public"], key.to_hex());
        let back: PublicKey = serde_json::from_value(json).unwrap();
        assert_eq!(back, key);
    }
}
