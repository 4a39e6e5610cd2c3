//! `samizdat`: one binary, one subcommand per role. Parsing, progress bars and exit codes live
//! here; everything else is in the library crates, which the tests drive directly.
//!
//! Exit codes: 0 success, 1 failure, 2 bad usage, 3 `verify`: authentic but expired (not known
//! fresh), 4 `add`: finished, but some files or documents could not be ingested.

mod cli;
mod demo;
mod progress;

use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cli::Cli::parse();
    match cli::run(args) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("samizdat: error: {e:#}");
            ExitCode::from(1)
        }
    }
}
