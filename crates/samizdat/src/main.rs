//! `samizdat`: one binary, one subcommand per role. Parsing, progress bars and exit codes live
//! here; everything else is in the library crates, which the tests drive directly.
//!
//! Exit codes (one place: `cli::exit_code`): 0 success, 1 failure (of verification in
//! particular: something was checked and found wrong), 2 bad usage, 3 authentic but expired
//! (not known fresh), 4 `add`: finished, but some files or documents could not be ingested,
//! 5 unreachable: the source or every peer failed to answer (nothing verified, nothing found
//! wrong).

#![deny(clippy::print_stdout, clippy::print_stderr)] // through `out`, which never panics

mod cli;
mod commands;
mod demo;
mod out;
mod progress;

use out::errln;

use clap::Parser;
use std::process::ExitCode;

/// The static (musl) build's allocator: musl's own made a hot document ~21% slower to serve
/// than with glibc's malloc (see crates/samizdat/Cargo.toml).
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            errln!("samizdat: error: {e:#}");
            ExitCode::from(cli::exit_code(&e))
        }
    }
}
