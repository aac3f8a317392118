//! The `cse` command line. `cse demo` is the project's main job; each subcommand lives in
//! [`cse_link::cli`].
#![forbid(unsafe_code)]

use std::process::ExitCode;

use cse_link::cli;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rest = args.get(1..).unwrap_or_default();
    match args.first().map(String::as_str) {
        Some("demo") => cli::demo::main(rest),
        Some("vectors") => cli::vectors::main(rest),
        Some("protect") => cli::capture::protect(rest),
        Some("verify") => cli::capture::verify(rest),
        Some("inspect") => cli::capture::inspect(rest),
        Some("keygen") => cli::capture::keygen(rest),
        Some("-h" | "--help" | "help") => {
            print!("{}", cli::usage());
            ExitCode::SUCCESS
        }
        _ => {
            eprint!("{}", cli::usage());
            ExitCode::from(2)
        }
    }
}
