//! `cse vectors`: writes the golden test vectors (`docs/vectors.md`) into a directory.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::vectors::{self, VectorProtocol};

/// The usage line of `cse vectors`.
pub const USAGE: &str = "cse vectors --out DIR   (writes DIR/{sep,fsed,ccise,keys}/*.json and \
DIR/index.json, see docs/vectors.md)";

/// Runs `cse vectors` with the arguments after `vectors`.
///
/// Exit status 0 when every vector was written, 1 when generating the set failed, 2 for bad
/// arguments or an output directory that cannot be created or written.
pub fn main(args: &[String]) -> ExitCode {
    let out = match parse(args) {
        Ok(out) => out,
        Err(e) => {
            eprintln!("cse vectors: {e}\nusage: {USAGE}");
            return ExitCode::from(2);
        }
    };
    let set = match vectors::all() {
        Ok(set) => set,
        Err(e) => {
            eprintln!("cse vectors: generating the vectors failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let Err(e) = vectors::write_dir(&out, &set) {
        eprintln!("cse vectors: cannot write the output directory: {e}");
        return ExitCode::from(2);
    }
    let counts: Vec<String> = VectorProtocol::ALL
        .iter()
        .map(|p| {
            let k = set.iter().filter(|v| v.protocol == *p).count();
            format!("{k} {}", p.name())
        })
        .collect();
    outln!(
        "cse vectors: wrote {} vectors ({}) and index.json to {}",
        set.len(),
        counts.join(", "),
        out.display()
    );
    ExitCode::SUCCESS
}

/// Parses the arguments of `cse vectors`: the output directory.
///
/// # Errors
/// A message for a missing `--out`, a missing value or an unknown argument.
pub fn parse(args: &[String]) -> Result<PathBuf, String> {
    let mut out = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--out" => {
                let v = it.next().ok_or("--out needs a directory")?;
                if v.is_empty() {
                    return Err("--out needs a directory".into());
                }
                out = Some(PathBuf::from(v));
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    out.ok_or_else(|| "missing --out DIR".into())
}
