//! The directory: finds and audits the mirrors of one archive, around the clock, and publishes
//! the list of those that are alive, current and honest (see DESIGN.md, "Directory").
//!
//! - [`store`]: enrolled mirrors, their standing and history, in one SQLite file;
//! - [`machine`]: what an audit's [`machine::Verdict`] does to a mirror's [`machine::State`]
//!   (pure, so every transition is a unit test);
//! - [`audit`]: one audit of one mirror: metadata verified from the archive root, random targets
//!   downloaded and hashed;
//! - [`list`]: the signed mirror list, a TUF repository of the directory's own;
//! - [`holdings`]: the verified target list of the newest release, loaded once per release;
//! - [`metalink`], [`coverage`], [`metrics`]: what the server makes of it for download
//!   managers, for the floor of independent copies, for Prometheus.
//!
//! Architecture invariant: the directory never holds the archive's keys and never re-signs the
//! archive's files; what it signs is its own list, with its own keys. It trusts nothing a mirror
//! says about itself that the archive's signed metadata does not confirm.

pub mod audit;
pub mod config;
pub mod coverage;
pub mod enroll;
pub mod error;
pub mod geo;
pub mod holdings;
pub mod list;
pub mod machine;
pub mod metalink;
pub mod metrics;
pub mod page;
pub mod round;
pub mod run;
pub mod server;
pub mod store;
#[cfg(test)]
mod testing;

pub use error::{Error, ErrorKind, Result};
