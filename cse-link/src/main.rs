//! The `cse` command line. `cse demo` is the project's main job; each subcommand lives in
//! [`cse_link::cli`].
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use cse_link::cli;

fn main() -> ExitCode {
    cli::run(cli::Cli::parse())
}
