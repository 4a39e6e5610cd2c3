//! The one HTTP client of samizdat: every request has a time limit and every body a size cap,
//! because every server it talks to (origin, mirror, peer) is untrusted.
//!
//! [`HttpTransport`] serves the TUF client (`trust::client::Transport`) over HTTP(S); sync, audits
//! and the reader's fetch will share it.

use std::io::Read;
use std::time::Duration;
use trust::client::{FetchError, Transport};

/// Limits of one client.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Connecting, sending, receiving headers and body: all of one request.
    pub request_timeout: Duration,
    pub connect_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            request_timeout: Duration::from_secs(60),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// A release served over HTTP(S) at `base` (e.g. `https://mirror.example/`): fetches
/// `base + metadata/...` and `base + targets/...`.
pub struct HttpTransport {
    base: String,
    agent: ureq::Agent,
}

impl HttpTransport {
    pub fn new(base: &str, limits: &Limits) -> HttpTransport {
        let mut base = base.to_owned();
        if !base.ends_with('/') {
            base.push('/');
        }
        let agent = ureq::Agent::config_builder()
            .timeout_global(Some(limits.request_timeout))
            .timeout_connect(Some(limits.connect_timeout))
            .max_redirects(3)
            .user_agent(concat!("samizdat/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        HttpTransport { base, agent }
    }
}

impl Transport for HttpTransport {
    fn fetch(&self, path: &str, max_len: u64) -> Result<Vec<u8>, FetchError> {
        let url = format!("{}{path}", self.base);
        let response = self.agent.get(&url).call();
        let mut response = match response {
            Ok(r) => r,
            Err(ureq::Error::StatusCode(404)) => return Err(FetchError::NotFound),
            Err(e) => return Err(FetchError::Other(format!("{url}: {e}"))),
        };
        // Read one byte past the cap to tell "exactly max_len" from "too long".
        let mut body = Vec::new();
        let reader = response.body_mut().as_reader();
        reader
            .take(max_len.saturating_add(1))
            .read_to_end(&mut body)
            .map_err(|e| FetchError::Other(format!("{url}: {e}")))?;
        if body.len() as u64 > max_len {
            return Err(FetchError::TooLarge { limit: max_len });
        }
        Ok(body)
    }

    fn describe(&self) -> String {
        self.base.clone()
    }
}
