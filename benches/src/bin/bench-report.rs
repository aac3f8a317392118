//! `bench-report`: throughput plots and tables from criterion's results of the last run.
//!
//! ```sh
//! cargo bench -p cse-benches
//! cargo run -p cse-benches --bin bench-report -- --criterion-dir target/criterion --out docs/benchmarks
//! ```
//!
//! Writes `<out>/<group>.svg` (GB/s against message size, log scale, one line per
//! implementation) for every group with a size dimension and `<out>/README.md` with every
//! group's numbers and their ratios to `aws-lc-rs`, the CPU model and the date.
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Duration, SystemTime};

use clap::Parser;
use cse_benches::report::{self, Context, DEFAULT_REFERENCE};

/// Throughput plots and tables from criterion's results of the last run.
#[derive(Parser, Debug)]
#[command(version)]
struct Args {
    /// Criterion's output directory (default: `target/criterion` of the workspace, or of
    /// `CARGO_TARGET_DIR` when set).
    #[arg(long, value_name = "DIR")]
    criterion_dir: Option<PathBuf>,
    /// Where to write the SVG plots and README.md (default: `docs/benchmarks` of the workspace).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// The implementation (first word of a function id) every other one is compared with.
    #[arg(long, default_value = DEFAULT_REFERENCE)]
    reference: String,
    /// Leave out results older than this many hours (stale groups of earlier runs).
    #[arg(long, value_name = "HOURS")]
    max_age_hours: Option<f64>,
    /// A line to add to the page's header (machine state, commit); repeatable.
    #[arg(long, value_name = "TEXT")]
    note: Vec<String>,
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn main() -> ExitCode {
    let args = Args::parse();
    let criterion_dir = args.criterion_dir.unwrap_or_else(|| {
        std::env::var_os("CARGO_TARGET_DIR")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace().join("target"))
            .join("criterion")
    });
    let out = args
        .out
        .unwrap_or_else(|| workspace().join("docs").join("benchmarks"));
    let mut loaded = match report::load(&criterion_dir) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("bench-report: {e}");
            return ExitCode::FAILURE;
        }
    };
    let now = SystemTime::now();
    if let Some(h) = args.max_age_hours {
        let cutoff = Duration::try_from_secs_f64(h * 3600.0)
            .ok()
            .and_then(|age| now.checked_sub(age));
        let Some(cutoff) = cutoff else {
            eprintln!("bench-report: --max-age-hours {h} is not a usable age");
            return ExitCode::FAILURE;
        };
        loaded.drop_older_than(cutoff);
        if loaded.measurements.is_empty() {
            eprintln!(
                "bench-report: no result under {} is younger than {h} hours",
                criterion_dir.display()
            );
            return ExitCode::FAILURE;
        }
    }
    for w in &loaded.warnings {
        eprintln!("bench-report: skipped: {w}");
    }
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| report::cpu_model(&s))
        .unwrap_or_else(|| "unknown (no /proc/cpuinfo model name)".into());
    let ctx = Context {
        cpu,
        generated: now,
        reference: args.reference,
        notes: args.note,
    };
    let groups = report::groups(&loaded.measurements);
    match report::write_report(&groups, &ctx, &out) {
        Ok(w) => {
            println!(
                "bench-report: {} benchmarks in {} group(s) from {}: {} plot(s) and {}",
                loaded.measurements.len(),
                groups.len(),
                criterion_dir.display(),
                w.plots.len(),
                w.page.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("bench-report: {e}");
            ExitCode::FAILURE
        }
    }
}
