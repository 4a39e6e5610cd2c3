//! The reader's side: check that what a mirror serves is what the publisher signed.
//!
//! [`verify`] runs the TUF client workflow (the `trust` crate) from a trusted `root.json` over any
//! transport (a folder, or an untrusted mirror over HTTP), then downloads and checks either every
//! target or the named documents. An expired but otherwise authentic release is reported as such
//! ("authentic, not known fresh since DATE"), not only refused: the publisher may be the one that
//! was taken down.
//!
//! Multi-mirror download (`samizdat fetch`) arrives with its own issue.
//!
//! Errors: the crate's one error type is the TUF client's, re-exported as [`Error`] (a
//! [`ErrorKind`] and a message): everything that can fail here is a step of the client workflow
//! or of checking what it verified, and a caller tells a network failure
//! ([`ErrorKind::is_unreachable`]) from a release that does not verify by the kind alone.

mod list;
mod logged;
pub use list::{
    Directory, LIST_TARGET, ListReport, ListedMirror, Remembered, VerifiedList, verify_lists,
};
pub use logged::Logged;

use common::layout;
use common::progress::Progress;
use time::OffsetDateTime;
use trust::TargetName;
use trust::client::{Client, Freshness, Options, Transport};
pub use trust::{Error, ErrorKind};

/// One target that did not verify, or could not be fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    /// The target name, or the document id / name the reader asked for.
    pub target: String,
    pub reason: String,
    /// Why, coarsely: [`trust::ErrorKind::is_unreachable`] tells a network failure (nothing
    /// learnt about the target) from a target that was checked and found wrong.
    pub kind: trust::ErrorKind,
}

#[derive(Debug)]
pub struct Report {
    /// The verified snapshot version.
    pub version: u64,
    pub freshness: Freshness,
    /// Targets downloaded and checked.
    pub verified: u64,
    pub failures: Vec<Failure>,
    /// Bytes of metadata the check needed.
    pub metadata_bytes: u64,
}

impl Report {
    pub fn ok(&self) -> bool {
        self.failures.is_empty()
    }

    /// Some target was checked and found wrong (not merely unreachable).
    pub fn forged(&self) -> bool {
        self.failures.iter().any(|f| !f.kind.is_unreachable())
    }
}

/// Verifies the release behind `transport` against `trusted_root` (the bytes of a `root.json`).
/// `wanted` names documents (by id) or targets (by name); empty means the whole release.
/// An error is returned when the release itself cannot be trusted (bad signatures, rollback,
/// malformed metadata...), or cannot be had at all (its kind
/// [`is_unreachable`](trust::ErrorKind::is_unreachable)); failures of single targets are in
/// the report.
pub fn verify<T: Transport>(
    trusted_root: &[u8],
    transport: T,
    wanted: &[String],
    now: OffsetDateTime,
    progress: &dyn Progress,
) -> Result<Report, Error> {
    let options = Options {
        now,
        allow_expired: true,
        ..Options::default()
    };
    let mut client = Client::load(trusted_root, transport, options)?;
    let names: Vec<String> = if wanted.is_empty() {
        client
            .all_targets()?
            .into_iter()
            .map(|(name, _)| name.to_string())
            .collect()
    } else {
        wanted.to_vec()
    };
    let mut report = Report {
        version: client.version(),
        freshness: client.freshness().clone(),
        verified: 0,
        failures: Vec::new(),
        metadata_bytes: 0,
    };
    progress.start(names.len() as u64);
    for name in &names {
        match check(&mut client, name, wanted.is_empty()) {
            Ok(n) => report.verified += n,
            Err(error) => report.failures.push(Failure {
                target: name.clone(),
                reason: error.message().to_owned(),
                kind: error.kind(),
            }),
        }
        progress.advance(name);
    }
    progress.finish();
    report.metadata_bytes = client.metadata_bytes();
    Ok(report)
}

/// Checks one target, or one document (its record and its original) when `name` is an id.
fn check<T: Transport>(
    client: &mut Client<T>,
    name: &str,
    exact: bool,
) -> Result<u64, trust::Error> {
    if exact || name.contains('.') || name.starts_with('_') {
        client.fetch_target(&target_name(name)?)?;
        return Ok(1);
    }
    let id = common::DocId::new(name).map_err(|e| invalid(e.to_string()))?;
    let record_name = layout::record_target(&id);
    let in_document = |e: trust::Error| Error::new(e.kind(), format!("document {id}: {e}"));
    let record = client
        .fetch_target(&target_name(&record_name)?)
        .map_err(in_document)?;
    // The record is a verified target and carries its original's hash and length: the original
    // is checked against those, without walking the originals' bins (half the metadata).
    let record: Record = serde_json::from_slice(&record).map_err(|e| {
        Error::new(
            ErrorKind::Malformed,
            format!("{record_name}: not a document record: {e}"),
        )
    })?;
    let original = layout::original_target(&id, &record.document.ext);
    let mut sha256 = [0u8; 32];
    hex::decode_to_slice(&record.document.original.sha256, &mut sha256).map_err(|_| {
        Error::new(
            ErrorKind::Malformed,
            format!("{record_name}: document.original.sha256 is not a SHA-256"),
        )
    })?;
    client
        .fetch_attested(
            &target_name(&original)?,
            record.document.original.len,
            sha256,
        )
        .map_err(in_document)?;
    Ok(2)
}

/// The part of a document record (`<id>.json`) that verification needs.
#[derive(serde::Deserialize)]
struct Record {
    document: RecordDocument,
}

#[derive(serde::Deserialize)]
struct RecordDocument {
    ext: String,
    original: common::Blob,
}

fn target_name(name: &str) -> Result<TargetName, trust::Error> {
    TargetName::new(name).map_err(|e| Error::new(e.kind(), format!("{name}: {e}")))
}

fn invalid(message: String) -> trust::Error {
    Error::new(ErrorKind::InvalidInput, message)
}
