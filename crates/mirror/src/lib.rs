//! A samizdat mirror: sync a release from untrusted peers, verifying every byte, and serve it.
//!
//! Layout of a mirror folder:
//!
//! ```text
//! DIR/mirror.toml         configuration (peers, listen addresses, interval...)
//! DIR/root.json           the root the mirror trusts: the publisher's, then the newest a sync
//!                         verified (TUF 5.3.8; never replaced by an older one)
//! DIR/release/targets/    SHA256.NAME files, each stored only after its length and hash checked
//! DIR/release/metadata/   the verified metadata; timestamp.json replaced last (the commit point)
//! DIR/releases.json       when each release became the one served (for collection)
//! DIR/tmp/                files being written (renamed into place when complete)
//! DIR/lock                held by a sync or a collection
//! DIR/enroll.txt          a directory's challenge while `mirror enroll` runs (served)
//! DIR/mirror.key          the mirror's own ed25519 key (0600): signs its blocks log only
//! DIR/blocks.json         the legal blocks' transparency log (signed, hash-chained; served)
//! DIR/blocks.lock         held while a block or unblock is appended
//! ```
//!
//! Every fallible function of the crate returns its one [`Error`] (an [`ErrorKind`] and a
//! message; a failed sync round's names the peers it dropped).
//!
//! Modules: [`sync`] (the client workflow against several peers), [`served`] (the release in
//! memory), [`serve`] (the HTTP app: routing; `answer` builds its answers, `cache` holds the
//! caches and the one header builder, [`request`] reads requests; `hot` answers plain cache
//! hits before hyper; `conns`: the connection cap and time-outs; [`guard`]: the flood guard,
//! per-client connection caps and request rates, the global load shedding), [`status`], [`metrics`],
//! [`gc`] (old releases, the lock), [`config`], [`init`] (a mirror folder set up: `mirror
//! init`, a sync's peers and first root), [`run`] (the daemon), [`handover`] (sockets inherited
//! from systemd's socket activation, the graceful drain on SIGTERM), [`demo`] (the demo's origin and
//! mirrors in one process), [`export`] (a static tree for a plain web root), [`push`] (that tree
//! sent to one with rsync), [`enroll`] (enrolling with a directory: its challenge served at
//! `/.well-known/samizdat/enroll.txt`), [`blocks`] (legal blocks and their signed log).

/// A line of the mirror's log on stderr. Not `eprintln!`, which panics when stderr is a pipe
/// whose reader went away: a closed log is no reason to stop serving. (Before the modules, so
/// that every one of them has it.)
macro_rules! log {
    ($($arg:tt)*) => {{
        let _ = std::io::Write::write_fmt(&mut std::io::stderr().lock(), format_args!("{}\n", format_args!($($arg)*)));
    }};
}

pub mod acme;
mod answer;
pub mod blocks;
mod cache;
pub mod config;
mod conns;
pub mod demo;
pub mod enroll;
mod error;
pub mod export;
mod files;
pub mod gc;
pub mod guard;
pub mod handover;
mod hot;
pub mod init;
pub mod metrics;
pub mod push;
pub mod request;
pub mod run;
pub mod serve;
pub mod served;
pub mod status;
pub mod sync;
mod withhold;

pub use error::{Error, ErrorKind, Result};
pub use sync::{PARALLEL_FETCHES, SyncReport, sync_from, sync_with_progress};
