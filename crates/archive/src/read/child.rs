//! Waiting for a reader's child process (the PDF extractor, `readpst`) within its time.

use std::process::{Child, ExitStatus};
use std::time::{Duration, Instant};

/// Waits for `child` (`what`, for the messages) to exit within `timeout`, giving up early when
/// `stop` says why (its output grew too large); a child given up on is killed and reaped, so
/// no zombie is left.
pub(crate) fn wait_within(
    child: &mut Child,
    timeout: Duration,
    what: &str,
    stop: impl Fn() -> Option<String>,
) -> Result<ExitStatus, String> {
    let started = Instant::now();
    let mut pause = Duration::from_millis(1);
    let outcome = loop {
        match child.try_wait() {
            Ok(Some(status)) => return Ok(status),
            Ok(None) => {}
            Err(e) => break format!("cannot wait for {what}: {e}"),
        }
        if let Some(reason) = stop() {
            break reason;
        }
        if started.elapsed() >= timeout {
            break format!("timed out after {:.1} s", timeout.as_secs_f64());
        }
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(25));
    };
    // Already exited if kill fails; either way reap it.
    let _ = child.kill();
    let _ = child.wait();
    Err(outcome)
}
