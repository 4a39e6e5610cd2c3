//! Printing that never panics. `println!` panics when its stream is a pipe whose reader went
//! away (`samizdat verify ... | head`: a backtrace and exit 101), so every line this binary
//! prints goes through [`outln!`] and [`errln!`] (`main.rs` denies `print_stdout` and
//! `print_stderr`). A stream that cannot be written is written no more; the command goes on
//! and ends with its own exit code (a `verify` that failed still exits 1 under `| head`).
//!
//! Not by restoring SIGPIPE's default action: that would also end the process when a reader's
//! connection closes under `writev` or `sendfile` (which take no `MSG_NOSIGNAL`), and `demo`
//! and `mirror` serve from this process.

use std::fmt::Arguments;
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

static STDOUT_GONE: AtomicBool = AtomicBool::new(false);
static STDERR_GONE: AtomicBool = AtomicBool::new(false);

/// One line on stdout, unless stdout is gone.
pub fn out(line: Arguments<'_>) {
    if write_line(&STDOUT_GONE, &mut std::io::stdout().lock(), line)
        .is_some_and(|e| e.kind() != std::io::ErrorKind::BrokenPipe)
    {
        // A full disk under `> file` is worth a word; a reader that left is not.
        err(format_args!("samizdat: stops writing to stdout"));
    }
}

/// One line on stderr, unless stderr is gone.
pub fn err(line: Arguments<'_>) {
    write_line(&STDERR_GONE, &mut std::io::stderr().lock(), line);
}

/// Writes `line` and a newline; the first error marks the stream gone and is returned.
fn write_line(
    gone: &AtomicBool,
    stream: &mut dyn Write,
    line: Arguments<'_>,
) -> Option<std::io::Error> {
    if gone.load(Ordering::Relaxed) {
        return None;
    }
    let error = writeln!(stream, "{line}")
        .and_then(|()| stream.flush())
        .err()?;
    gone.store(true, Ordering::Relaxed);
    Some(error)
}

/// `println!` that never panics (see the module).
macro_rules! outln {
    () => { $crate::out::out(format_args!("")) };
    ($($arg:tt)*) => { $crate::out::out(format_args!($($arg)*)) };
}

/// `eprintln!` that never panics (see the module).
macro_rules! errln {
    ($($arg:tt)*) => { $crate::out::err(format_args!($($arg)*)) };
}

pub(crate) use {errln, outln};
