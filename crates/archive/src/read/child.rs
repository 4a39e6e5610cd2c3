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

/// Runs `program` with `args` under `prlimit --as=memory_bytes`, within `timeout`: what it
/// printed (through a file, so it never blocks on a pipe; at most `stdout_max` bytes), or why
/// it failed, naming `program` (and the end of what it said on stderr).
pub(crate) fn run_limited(
    program: &str,
    args: &[&std::ffi::OsStr],
    memory_bytes: u64,
    timeout: Duration,
    stdout_max: u64,
) -> Result<Vec<u8>, String> {
    use std::io::{Read, Seek};
    use std::process::{Command, Stdio};
    let scratch = |what: &str| {
        tempfile::tempfile().map_err(|e| format!("cannot make a temporary file for {what}: {e}"))
    };
    let mut stdout = scratch(program)?;
    let mut stderr = scratch(program)?;
    let mut child = Command::new("prlimit")
        .arg(format!("--as={memory_bytes}"))
        .arg("--")
        .arg(program)
        .args(args)
        // Tesseract's OpenMP threads: the files are read in parallel already.
        .env("OMP_THREAD_LIMIT", "1")
        .stdin(Stdio::null())
        .stdout(stdout.try_clone().map_err(|e| e.to_string())?)
        .stderr(stderr.try_clone().map_err(|e| e.to_string())?)
        .spawn()
        .map_err(|e| format!("cannot start {program} through prlimit: {e}"))?;
    let status = wait_within(&mut child, timeout, program, || None)
        .map_err(|why| format!("{program}: {why}"))?;
    let mut said = Vec::new();
    let _ = stderr.rewind().and_then(|()| stderr.read_to_end(&mut said));
    let stderr = String::from_utf8_lossy(&said[said.len().saturating_sub(400)..])
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    if !status.success() {
        return Err(format!("{program} failed ({status}): {stderr}"));
    }
    let mut printed = Vec::new();
    stdout
        .rewind()
        .and_then(|()| (&mut stdout).take(stdout_max).read_to_end(&mut printed))
        .map_err(|e| format!("cannot read what {program} printed: {e}"))?;
    Ok(printed)
}
