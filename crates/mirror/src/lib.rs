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
//! ```
//!
//! Modules: [`sync`] (the client workflow against several peers), [`served`] (the release in
//! memory), [`serve`] (the HTTP app: routing; `answer` builds its answers, `cache` holds the
//! caches and the one header builder, [`request`] reads requests; `hot` answers plain cache
//! hits before hyper; `conns`: the connection cap and time-outs), [`status`], [`metrics`],
//! [`gc`] (old releases, the lock),
//! [`config`], [`run`] (the daemon), [`export`] (a static tree for a plain web root).

mod answer;
mod cache;
pub mod config;
mod conns;
pub mod export;
mod files;
pub mod gc;
mod hot;
pub mod metrics;
pub mod request;
pub mod run;
pub mod serve;
pub mod served;
pub mod status;
pub mod sync;

pub use sync::{
    PARALLEL_FETCHES, SyncError, SyncFailure, SyncReport, sync_from, sync_with_progress,
};
