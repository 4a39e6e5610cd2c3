//! TUF 1.0 for samizdat: keys, canonical JSON, signing with hashed bins, and the verifying client.
//!
//! - [`keys`]: ed25519 [`keys::SigningKey`] (PKCS#8 DER files) and [`keys::PublicKey`].
//! - [`cjson`]: canonical JSON exactly as python-tuf (securesystemslib) signs it.
//! - [`schema`]: the metadata documents; [`schema::TargetName`], the flat name rule.
//! - [`bins`]: the hashed-bin layout (√(4.3·T) leaves, a middle level above 32).
//! - [`editor`]: [`editor::sign_root`], [`editor::build_release`] (incremental: only touched bins
//!   are re-signed), [`editor::refresh_timestamp`].
//! - [`client`]: [`client::Client`], the spec's client workflow over a [`client::Transport`],
//!   lazy about delegations; its checks are the steps of [`client::TrustedMetadataSet`], which
//!   take bytes and a clock (no transport).
//! - [`verify`]: signature thresholds on untrusted bytes, shared by the client.
//!
//! Why our own code and not tough: tough's editor is quadratic in the number of targets and its
//! client downloads every bin; we also need byte-level control of metadata size (a reader must
//! verify one document of 250,000 with ≤ 100 KB of metadata). The output is plain TUF that
//! python-tuf's ngclient reads.
//!
//! Architecture invariant: verification (`client`, `verify`) never loads a private key.

pub mod bins;
pub mod cjson;
pub mod client;
pub mod editor;
mod error;
pub mod keys;
pub mod leaf;
pub mod schema;
pub mod verify;

pub use error::{Error, ErrorKind, Result};
pub use schema::TargetName;
