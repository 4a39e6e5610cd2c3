//! `samizdat demo`'s network, in one process: the origin (the demo archive's own release) and
//! two mirrors on loopback, each syncing from the origin every 10 s and serving what it has.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::config::Config;
use crate::handover::Servers;
use crate::run::{RunError, read_root, runtime, start_mirror, start_servers, stop_signal};
use crate::serve::App;
use crate::served::Served;
use crate::status::Status;

/// Why the demo's network stopped.
#[derive(Debug)]
pub enum DemoError {
    /// A server, a mirror or the origin's release could not be started (the message).
    Start(String),
    /// The mirrors did not serve the origin's release within two minutes.
    NotSynced,
}

impl std::fmt::Display for DemoError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DemoError::Start(message) => f.write_str(message),
            DemoError::NotSynced => f.write_str("the demo mirrors did not sync within 2 minutes"),
        }
    }
}

impl std::error::Error for DemoError {}

impl From<RunError> for DemoError {
    fn from(e: RunError) -> Self {
        DemoError::Start(e.to_string())
    }
}

/// Where the demo serves: the origin on `port`, the mirrors on the next two (0: any free ports).
#[derive(Debug, Clone, Copy)]
pub struct Network {
    pub port: u16,
    /// Stop after this long instead of at SIGTERM or Ctrl-C.
    pub stop_after: Option<Duration>,
}

/// The mirrors' names, and their folders inside the demo's.
pub const MIRRORS: [(&str, &str); 2] = [("mirror A", "mirror-a"), ("mirror B", "mirror-b")];

impl Network {
    /// The address of the origin (0) and of each mirror (1, 2): loopback, on the given ports.
    pub fn address(&self, offset: u16) -> String {
        let port = if self.port == 0 {
            0
        } else {
            self.port + offset
        };
        format!("127.0.0.1:{port}")
    }

    /// The URLs of the origin and the mirrors, for the reader site's mirror list and failover;
    /// none when the ports are chosen at start (port 0).
    pub fn urls(&self) -> Vec<String> {
        if self.port == 0 {
            return Vec::new();
        }
        (0..=MIRRORS.len() as u16)
            .map(|offset| format!("http://{}/", self.address(offset)))
            .collect()
    }

    /// Serves the demo archive in `dir` (its `release/` and `root.json`) as the origin, and a
    /// mirror of it in each of [`MIRRORS`]' folders. Waits until every mirror serves the
    /// origin's release, calls `ready` with the origin's and the mirrors' URLs, then serves
    /// until SIGTERM or Ctrl-C (or for `stop_after`, when given).
    pub fn serve(&self, dir: &Path, ready: impl FnOnce(&str, &[String])) -> Result<(), DemoError> {
        let mirrors: Vec<(PathBuf, String)> = MIRRORS
            .iter()
            .zip(1..)
            .map(|((_, folder), offset)| (dir.join(folder), self.address(offset)))
            .collect();
        let runtime = runtime()?;
        let result = runtime.block_on(async {
            let root = read_root(&dir.join("root.json"))?;
            let origin_served = Served::load(&dir.join("release"), &root)
                .map_err(|e| DemoError::Start(e.to_string()))?;
            let version = origin_served.version;
            let origin_app = Arc::new(App::new(
                dir.join("release"),
                origin_served,
                Status::default(),
            ));
            // The demo's servers are never drained: they end with the process.
            let origin_url =
                start_servers(&origin_app, &[self.address(0)], None, &mut Servers::bind())
                    .await?
                    .remove(0);
            let mut apps = Vec::new();
            let mut urls = Vec::new();
            for (dir, listen) in &mirrors {
                std::fs::create_dir_all(dir)
                    .map_err(|e| DemoError::Start(format!("{}: {e}", dir.display())))?;
                // Only a new mirror is given the origin's root: an existing one's may be newer
                // (the newest its syncs verified, TUF 5.3.8), and trust never goes back to an
                // older one.
                if !dir.join("root.json").exists() {
                    std::fs::write(dir.join("root.json"), &root)
                        .map_err(|e| DemoError::Start(format!("{}: {e}", dir.display())))?;
                }
                let mut config = Config::new(vec![origin_url.clone()]);
                config.listen = vec![listen.clone()];
                config.interval_secs = 10;
                config
                    .save(dir)
                    .map_err(|e| DemoError::Start(e.to_string()))?;
                let (app, mut served_on) =
                    start_mirror(dir, config, None, &mut Servers::bind()).await?;
                apps.push(app);
                urls.push(served_on.remove(0));
            }
            let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
            while apps.iter().any(|app| app.served().version < version) {
                if tokio::time::Instant::now() > deadline {
                    return Err(DemoError::NotSynced);
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            ready(&origin_url, &urls);
            match self.stop_after {
                Some(duration) => {
                    tokio::time::sleep(duration).await;
                    Ok(())
                }
                None => Ok(stop_signal().await?),
            }
        });
        runtime.shutdown_background();
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_mirrors_take_the_ports_after_the_origins() {
        let network = Network {
            port: 8480,
            stop_after: None,
        };
        assert_eq!(network.address(0), "127.0.0.1:8480");
        assert_eq!(network.address(2), "127.0.0.1:8482");
        assert_eq!(
            network.urls(),
            [
                "http://127.0.0.1:8480/",
                "http://127.0.0.1:8481/",
                "http://127.0.0.1:8482/"
            ]
        );
        let any = Network {
            port: 0,
            stop_after: None,
        };
        assert_eq!(any.address(1), "127.0.0.1:0");
        assert!(any.urls().is_empty());
    }
}
