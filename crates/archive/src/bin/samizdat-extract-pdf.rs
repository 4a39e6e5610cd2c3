//! `samizdat-extract-pdf <file.pdf>`: the PDF extraction child process, for tests and debugging.
//!
//! The `samizdat` CLI runs the same code as its hidden `extract-pdf` subcommand; this binary exists
//! so that the archive crate's tests have an extractor program (`CARGO_BIN_EXE_samizdat-extract-pdf`).

use std::path::PathBuf;

fn main() {
    let mut args = std::env::args_os().skip(1);
    let (Some(path), None) = (args.next(), args.next()) else {
        eprintln!("usage: samizdat-extract-pdf <file.pdf>");
        std::process::exit(1);
    };
    let code = archive::read::pdf::child_main(&PathBuf::from(path));
    // Exit at once: a worker thread may still be stuck on a page that timed out.
    std::process::exit(code);
}
