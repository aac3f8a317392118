//! `cse vectors`: writes the golden test vectors (`docs/vectors.md`) into a directory.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::vectors::{self, VectorProtocol};

/// The arguments of `cse vectors`.
#[derive(Clone, Debug, clap::Args)]
pub struct VectorsArgs {
    /// The output directory: DIR/{sep,fsed,ccise,keys}/*.json and DIR/index.json (see
    /// docs/vectors.md).
    #[arg(long, value_name = "DIR", value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub out: String,
}

/// Runs `cse vectors`.
///
/// Exit status 0 when every vector was written, 1 when generating the set failed, 2 for an
/// output directory that cannot be created or written.
pub fn main(args: &VectorsArgs) -> ExitCode {
    let out = PathBuf::from(&args.out);
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
