//! The `cse` command line, one module per subcommand; `main.rs` only dispatches.
//!
//! Each subcommand takes the arguments after its name and returns the process exit status:
//! 0 on success, 1 when the run itself failed (an attack undetected, a capture that does not
//! verify), 2 for bad arguments or unreadable input.

/// `print!` without the panic: a report written into a closed pipe (`cse inspect | head`)
/// ends quietly instead of aborting with "failed printing to stdout". The exit status still
/// carries the verdict.
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout().lock(), $($t)*);
    }};
}

/// `println!` without the panic, as [`out!`].
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($t)*);
    }};
}

pub mod capture;
pub mod demo;
pub mod vectors;

/// The usage text printed for `cse` without a known subcommand.
pub fn usage() -> String {
    format!(
        "usage:\n  {}\n  {}\n  {}\n  {}\n  {}\n  {}\n",
        demo::USAGE,
        vectors::USAGE,
        capture::PROTECT_USAGE,
        capture::VERIFY_USAGE,
        capture::INSPECT_USAGE,
        capture::KEYGEN_USAGE
    )
}
