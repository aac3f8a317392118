//! The throughput report of `bench-report`: criterion's results of the last run read back,
//! grouped, compared with the reference implementation, and written as SVG plots and a
//! Markdown page.
//!
//! Criterion 0.8 keeps the latest measurement of each benchmark in
//! `<criterion-dir>/<group>/<function>/<parameter>/new/` (directory names made filename-safe):
//! `benchmark.json` holds the ids as given to criterion (`group_id`, `function_id`, `value_str`)
//! and the `throughput`, `estimates.json` the statistics in nanoseconds per iteration. The
//! report uses the ids from `benchmark.json`, never the directory names, and the median.
//!
//! Naming convention of the benches (what the report relies on): the function id is the
//! implementation, optionally followed by a space and an operation (`aws-lc-rs`,
//! `spdm-lite seal`); the parameter is the message size in bytes (a number) or, in groups
//! without a size dimension, a case name (`set_a_p256`, `8x5760`). A group whose parameters are
//! all numbers and that declares `Throughput::Bytes` is plotted against message size; any other
//! group goes in a table only. A benchmark made with `BenchmarkId::from_parameter` (no function
//! id) is named after its parameter.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::{self, Write as _};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::Deserialize;

/// The implementation every other one is compared with, unless told otherwise.
pub const DEFAULT_REFERENCE: &str = "aws-lc-rs";

/// What can stop the report. Problems with single benchmarks are not errors: they are
/// [`Load::warnings`] and the benchmark is left out.
#[derive(Debug)]
pub enum Error {
    /// The criterion directory cannot be read.
    CriterionDir(PathBuf, std::io::Error),
    /// The criterion directory holds no usable result.
    NoResults(PathBuf),
    /// A file of the report cannot be written.
    Write(PathBuf, std::io::Error),
    /// A plot cannot be drawn.
    Plot(PathBuf, String),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::CriterionDir(p, e) => write!(
                f,
                "cannot read the criterion directory {}: {e} (run `cargo bench -p cse-benches` first, or pass --criterion-dir)",
                p.display()
            ),
            Self::NoResults(p) => write!(
                f,
                "no criterion results (<group>/<function>/<parameter>/new/benchmark.json and estimates.json) under {}; run `cargo bench -p cse-benches` first",
                p.display()
            ),
            Self::Write(p, e) => write!(f, "cannot write {}: {e}", p.display()),
            Self::Plot(p, e) => write!(f, "cannot draw {}: {e}", p.display()),
        }
    }
}

impl std::error::Error for Error {}

/// One benchmark of the last run.
#[derive(Debug, Clone, PartialEq)]
pub struct Measurement {
    /// Criterion's group id.
    pub group: String,
    /// The function id (implementation, optionally followed by an operation).
    pub function: Option<String>,
    /// The parameter: a size in bytes or a case name.
    pub value: Option<String>,
    /// Bytes processed per iteration (`Throughput::Bytes`, `BytesDecimal`, `Bits` / 8 or the
    /// bytes of `ElementsAndBytes`).
    pub bytes: Option<u64>,
    /// Median time per iteration, nanoseconds.
    pub median_ns: f64,
    /// When the estimates were written (the file's modification time).
    pub measured: Option<SystemTime>,
}

impl Measurement {
    /// The line or column the benchmark belongs to: the function id, or the parameter when
    /// there is no function id.
    pub fn label(&self) -> &str {
        match (&self.function, &self.value) {
            (Some(f), _) => f,
            (None, Some(v)) => v,
            (None, None) => &self.group,
        }
    }

    /// The parameter once the label is taken out of the id.
    pub fn parameter(&self) -> Option<&str> {
        self.function.as_ref().and(self.value.as_deref())
    }

    /// The message size: the parameter, when it is a number.
    pub fn size(&self) -> Option<u64> {
        self.parameter()?.parse().ok()
    }

    /// Median throughput in GB/s (10^9 bytes per second), when the bench declares bytes.
    pub fn gbps(&self) -> Option<f64> {
        self.bytes.map(|b| b as f64 / self.median_ns)
    }
}

/// How much faster `m` is than `reference` (> 1: faster): the throughput ratio, or the
/// inverse ratio of the median times when either declares no bytes.
pub fn speed_ratio(m: &Measurement, reference: &Measurement) -> f64 {
    match (m.gbps(), reference.gbps()) {
        (Some(a), Some(b)) if b > 0.0 => a / b,
        _ => reference.median_ns / m.median_ns,
    }
}

/// Everything read from a criterion directory.
#[derive(Debug, Default)]
pub struct Load {
    /// The usable benchmarks, sorted by group, label and size.
    pub measurements: Vec<Measurement>,
    /// Benchmarks left out and why (missing or malformed files).
    pub warnings: Vec<String>,
}

#[derive(Deserialize)]
struct BenchmarkJson {
    group_id: String,
    function_id: Option<String>,
    value_str: Option<String>,
    throughput: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct EstimatesJson {
    median: EstimateJson,
}

#[derive(Deserialize)]
struct EstimateJson {
    point_estimate: f64,
}

/// Bytes per iteration from criterion's serialised `Throughput` (an externally tagged enum).
fn throughput_bytes(t: &serde_json::Value) -> Option<u64> {
    let obj = t.as_object()?;
    let (kind, v) = obj.iter().next()?;
    match kind.as_str() {
        "Bytes" | "BytesDecimal" => v.as_u64(),
        "Bits" => v.as_u64().map(|b| b / 8),
        "ElementsAndBytes" => v.get("bytes")?.as_u64(),
        _ => None,
    }
}

/// Reads one benchmark from its `new` directory.
fn read_one(new: &Path) -> Result<Measurement, String> {
    let read = |name: &str| {
        let p = new.join(name);
        std::fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))
    };
    let meta: BenchmarkJson = serde_json::from_str(&read("benchmark.json")?)
        .map_err(|e| format!("{}: {e}", new.join("benchmark.json").display()))?;
    let est_path = new.join("estimates.json");
    let est: EstimatesJson = serde_json::from_str(&read("estimates.json")?)
        .map_err(|e| format!("{}: {e}", est_path.display()))?;
    let median_ns = est.median.point_estimate;
    if !(median_ns.is_finite() && median_ns > 0.0) {
        return Err(format!(
            "{}: median {median_ns} ns is not a positive time",
            est_path.display()
        ));
    }
    let measured = std::fs::metadata(&est_path).and_then(|m| m.modified()).ok();
    Ok(Measurement {
        group: meta.group_id,
        function: meta.function_id,
        value: meta.value_str,
        bytes: meta.throughput.as_ref().and_then(throughput_bytes),
        median_ns,
        measured,
    })
}

/// How deep [`load`] looks for `new/` directories.
const MAX_DEPTH: usize = 8;

/// Reads every benchmark's latest result (`.../new/`) under `criterion_dir`.
///
/// Benchmarks with missing or malformed files are skipped with a warning; it is an error only
/// when the directory cannot be read or nothing usable is in it.
pub fn load(criterion_dir: &Path) -> Result<Load, Error> {
    let top = std::fs::read_dir(criterion_dir)
        .map_err(|e| Error::CriterionDir(criterion_dir.to_path_buf(), e))?;
    let mut out = Load::default();
    // (directory, depth below `criterion_dir`); criterion nests at most
    // `<group>/<function>/<parameter>/new`, so the depth bound only stops symlink loops.
    let mut stack: Vec<(PathBuf, usize)> = Vec::new();
    for entry in top.flatten() {
        // `report/` is criterion's HTML summary, not a group.
        if entry.file_name() != "report" {
            stack.push((entry.path(), 1));
        }
    }
    let mut seen = BTreeSet::new();
    while let Some((dir, depth)) = stack.pop() {
        if !dir.is_dir() || depth > MAX_DEPTH {
            continue;
        }
        if dir.file_name().is_some_and(|n| n == "new") {
            if dir.join("benchmark.json").exists() || dir.join("estimates.json").exists() {
                match read_one(&dir) {
                    Ok(m) => {
                        let key = (m.group.clone(), m.function.clone(), m.value.clone());
                        if seen.insert(key) {
                            out.measurements.push(m);
                        } else {
                            out.warnings.push(format!(
                                "{}: a second result for {}/{}, left out",
                                dir.display(),
                                m.group,
                                m.label()
                            ));
                        }
                    }
                    Err(e) => out.warnings.push(e),
                }
            }
            continue;
        }
        // `base/` and `change/` hold older runs and comparisons: only `new/` is the last run.
        if dir
            .file_name()
            .is_some_and(|n| n == "base" || n == "change")
        {
            continue;
        }
        match std::fs::read_dir(&dir) {
            Ok(entries) => stack.extend(entries.flatten().map(|e| (e.path(), depth + 1))),
            Err(e) => out.warnings.push(format!("{}: {e}", dir.display())),
        }
    }
    if out.measurements.is_empty() {
        return Err(Error::NoResults(criterion_dir.to_path_buf()));
    }
    out.measurements.sort_by(|a, b| {
        (&a.group, a.label(), a.size(), a.parameter()).cmp(&(
            &b.group,
            b.label(),
            b.size(),
            b.parameter(),
        ))
    });
    out.warnings.sort();
    Ok(out)
}

/// The benchmarks of one criterion group.
#[derive(Debug, Clone)]
pub struct Group {
    /// The group id.
    pub name: String,
    /// Its benchmarks.
    pub measurements: Vec<Measurement>,
}

impl Load {
    /// Leaves out the results written before `cutoff` (stale groups of earlier runs), with a
    /// warning naming how many; results without a file time are kept.
    pub fn drop_older_than(&mut self, cutoff: SystemTime) {
        let before = self.measurements.len();
        self.measurements
            .retain(|m| m.measured.is_none_or(|t| t >= cutoff));
        let dropped = before - self.measurements.len();
        if dropped > 0 {
            self.warnings.push(format!(
                "{dropped} result(s) measured before {} left out",
                fmt_utc(cutoff)
            ));
        }
    }
}

/// Splits measurements into groups, in group-name order.
pub fn groups(measurements: &[Measurement]) -> Vec<Group> {
    let mut by: BTreeMap<&str, Vec<Measurement>> = BTreeMap::new();
    for m in measurements {
        by.entry(&m.group).or_default().push(m.clone());
    }
    by.into_iter()
        .map(|(name, measurements)| Group {
            name: name.to_string(),
            measurements,
        })
        .collect()
}

/// The first word of a label (the implementation) and the rest (the operation, maybe empty).
fn split_label(label: &str) -> (&str, &str) {
    match label.split_once(' ') {
        Some((imp, op)) => (imp, op.trim()),
        None => (label, ""),
    }
}

impl Group {
    /// Plotted against message size: every parameter is a size and every benchmark declares
    /// its bytes.
    pub fn is_sized(&self) -> bool {
        !self.measurements.is_empty()
            && self
                .measurements
                .iter()
                .all(|m| m.size().is_some() && m.bytes.is_some())
    }

    /// The labels (implementations, lines of a plot) in display order: the project's own
    /// first, then the reference, then the others, each by name.
    pub fn labels(&self, reference: &str) -> Vec<String> {
        let set: BTreeSet<&str> = self.measurements.iter().map(|m| m.label()).collect();
        let mut v: Vec<String> = set.into_iter().map(str::to_string).collect();
        v.sort_by_key(|l| (label_rank(l, reference), l.clone()));
        v
    }

    /// The sizes of a sized group, ascending.
    pub fn sizes(&self) -> Vec<u64> {
        let set: BTreeSet<u64> = self.measurements.iter().filter_map(|m| m.size()).collect();
        set.into_iter().collect()
    }

    /// The benchmark of `label` at `parameter`.
    pub fn get(&self, label: &str, parameter: Option<&str>) -> Option<&Measurement> {
        self.measurements
            .iter()
            .find(|m| m.label() == label && m.parameter() == parameter)
    }

    /// The label `label` is compared with: the reference implementation with the same
    /// operation (`spdm-lite seal` against `aws-lc-rs seal`), else the group's only reference
    /// label when one side names no operation; `None` for the reference itself and when
    /// nothing matches (an `open` is not compared with a reference `seal`).
    pub fn reference_for(&self, label: &str, reference: &str) -> Option<String> {
        let (imp, op) = split_label(label);
        if imp == reference {
            return None;
        }
        let refs: Vec<String> = self
            .labels(reference)
            .into_iter()
            .filter(|l| split_label(l).0 == reference)
            .collect();
        if let Some(same) = refs.iter().find(|r| split_label(r).1 == op) {
            return Some(same.clone());
        }
        match refs.as_slice() {
            [only] if op.is_empty() || split_label(only).1.is_empty() => Some(only.clone()),
            _ => None,
        }
    }

    /// Throughput of `label` against its reference at `parameter`, when both were measured.
    pub fn ratio(&self, label: &str, parameter: Option<&str>, reference: &str) -> Option<f64> {
        let r = self.reference_for(label, reference)?;
        Some(speed_ratio(
            self.get(label, parameter)?,
            self.get(&r, parameter)?,
        ))
    }

    /// The newest and oldest measurement times of the group.
    pub fn measured(&self) -> Option<(SystemTime, SystemTime)> {
        let times = self.measurements.iter().filter_map(|m| m.measured);
        let min = times.clone().min()?;
        Some((min, times.max()?))
    }
}

fn label_rank(label: &str, reference: &str) -> u8 {
    let imp = split_label(label).0;
    if imp == reference {
        1
    } else if ["cse-", "ccise", "spdm-lite"]
        .iter()
        .any(|p| imp.starts_with(p))
    {
        0
    } else {
        2
    }
}

/// The section of the report a group goes in, by its name.
pub fn section(group: &str) -> &'static str {
    let g = group.to_ascii_lowercase();
    if g.starts_with("sep") {
        "SEP path (cse-sep)"
    } else if g.starts_with("fsed") {
        "FSED path (cse-fsed)"
    } else if g.starts_with("ccise") {
        "CCISE round trips (ccise)"
    } else if g.starts_with("spdm") {
        "SPDM (spdm-lite)"
    } else if g.starts_with("crc") {
        "CRCs (cse-core)"
    } else if ["gcm", "gmac", "ctr", "cmac", "aes"]
        .iter()
        .any(|p| g.starts_with(p))
    {
        "AES primitives (cse-core)"
    } else {
        "Other groups"
    }
}

const SECTION_ORDER: [&str; 7] = [
    "AES primitives (cse-core)",
    "CRCs (cse-core)",
    "SEP path (cse-sep)",
    "FSED path (cse-fsed)",
    "CCISE round trips (ccise)",
    "SPDM (spdm-lite)",
    "Other groups",
];

/// Three significant digits (`0.123`, `1.23`, `12.3`, `123`).
pub fn sig3(x: f64) -> String {
    if !x.is_finite() {
        return "-".into();
    }
    let a = x.abs();
    if a >= 100.0 {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else if a >= 1.0 {
        format!("{x:.2}")
    } else if a >= 0.1 {
        format!("{x:.3}")
    } else if a == 0.0 {
        "0".into()
    } else {
        let digits = (2 - a.log10().floor() as i32).clamp(3, 12) as usize;
        format!("{x:.digits$}")
    }
}

/// A time in nanoseconds with a unit (`563 ns`, `1.09 µs`, `1.75 ms`).
pub fn fmt_time(ns: f64) -> String {
    if ns < 1e3 {
        format!("{} ns", sig3(ns))
    } else if ns < 1e6 {
        format!("{} µs", sig3(ns / 1e3))
    } else if ns < 1e9 {
        format!("{} ms", sig3(ns / 1e6))
    } else {
        format!("{} s", sig3(ns / 1e9))
    }
}

/// A byte count for plot axes, decimal units (`64 B`, `10 kB`, `12.4 MB`).
pub fn fmt_bytes(b: f64) -> String {
    if b < 1e3 {
        format!("{b:.0} B")
    } else if b < 1e6 {
        format!("{} kB", axis_num(b / 1e3))
    } else if b < 1e9 {
        format!("{} MB", axis_num(b / 1e6))
    } else {
        format!("{} GB", axis_num(b / 1e9))
    }
}

/// A UTC date and time, `YYYY-MM-DD HH:MM UTC`.
pub fn fmt_utc(t: SystemTime) -> String {
    let secs = t
        .duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let days = (secs / 86_400) as i64;
    let rem = secs % 86_400;
    // Civil from days (H. Hinnant's algorithm), proleptic Gregorian calendar.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60
    )
}

/// The CPU model named by `/proc/cpuinfo`-style text, and the number of processors listed.
pub fn cpu_model(cpuinfo: &str) -> Option<String> {
    let field = |key: &str| {
        cpuinfo.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            (k.trim() == key && !v.trim().is_empty()).then(|| v.trim().to_string())
        })
    };
    let model = field("model name")
        .or_else(|| field("Model"))
        .or_else(|| field("Hardware"))
        .or_else(|| field("cpu model"))
        .or_else(|| field("uarch"))?;
    let n = cpuinfo
        .lines()
        .filter(|l| {
            l.split_once(':')
                .is_some_and(|(k, _)| k.trim() == "processor")
        })
        .count();
    Some(if n > 0 {
        format!("{model} ({n} logical CPUs)")
    } else {
        model
    })
}

/// What goes in the page besides the numbers.
#[derive(Debug, Clone)]
pub struct Context {
    /// The CPU model, or what to say instead.
    pub cpu: String,
    /// When the report was generated.
    pub generated: SystemTime,
    /// The implementation every other one is compared with.
    pub reference: String,
    /// Free notes for the page (machine state, commit).
    pub notes: Vec<String>,
}

/// A filename-safe stem for a group's files.
pub fn file_stem(group: &str) -> String {
    group
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn md_escape(s: &str) -> String {
    s.replace('|', "\\|")
}

/// A sort key that orders the numbers inside a name by value (`8x5760` before `16x64`).
pub fn natural_key(s: &str) -> Vec<(u64, String)> {
    let mut key = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if n > 0 {
            key.push((rest[..n].parse().unwrap_or(u64::MAX), String::new()));
            rest = &rest[n..];
        } else {
            let t = rest
                .find(|c: char| c.is_ascii_digit())
                .unwrap_or(rest.len());
            key.push((0, rest[..t].to_string()));
            rest = &rest[t..];
        }
    }
    key
}

/// A ratio: two decimals, or two significant digits below 0.1 (`0.0018`), so small ratios
/// do not read as zero.
pub fn fmt_ratio(x: f64) -> String {
    if !x.is_finite() {
        "-".into()
    } else if x >= 0.1 || x <= 0.0 {
        format!("{x:.2}")
    } else {
        let digits = (1 - x.log10().floor() as i32).clamp(2, 12) as usize;
        format!("{x:.digits$}")
    }
}

/// An axis label number: [`sig3`] without trailing zeros (`1`, `2.5`, `0.25`).
fn axis_num(x: f64) -> String {
    let s = sig3(x);
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// The Markdown page: header, contents, and per group a plot link (sized groups) and a table.
pub fn markdown(groups: &[Group], ctx: &Context) -> String {
    let r = &ctx.reference;
    let mut s = String::new();
    let _ = writeln!(s, "# Benchmark results\n");
    let _ = writeln!(
        s,
        "Generated by `cargo run -p cse-benches --bin bench-report` from criterion's results of \
         `cargo bench -p cse-benches`; do not edit by hand (see the \
         [benchmarks section of the README](../../README.md#benchmarks) to regenerate).\n"
    );
    let _ = writeln!(s, "- CPU: {}", ctx.cpu);
    let _ = writeln!(s, "- generated: {}", fmt_utc(ctx.generated));
    let all = groups.iter().filter_map(Group::measured);
    if let (Some(first), Some(last)) =
        (all.clone().map(|(a, _)| a).min(), all.map(|(_, b)| b).max())
    {
        let (first, last) = (fmt_utc(first), fmt_utc(last));
        if first == last {
            let _ = writeln!(s, "- measured: {last} (time of criterion's result files)");
        } else {
            let _ = writeln!(
                s,
                "- measured: {first} to {last} (times of criterion's result files)"
            );
        }
    }
    for n in &ctx.notes {
        let _ = writeln!(s, "- {n}");
    }
    let _ = writeln!(
        s,
        "\nEvery number is criterion's median of one run. Throughput is in GB/s (10^9 bytes per \
         second) of the bytes each benchmark declares; \"x / {r}\" is the throughput of x divided \
         by `{r}`'s in the same group and at the same size (above 1: faster than `{r}`). Plots \
         have the message size on a log scale.\n"
    );
    let mut by_section: BTreeMap<usize, Vec<&Group>> = BTreeMap::new();
    for g in groups {
        let sec = section(&g.name);
        let i = SECTION_ORDER
            .iter()
            .position(|x| *x == sec)
            .unwrap_or(SECTION_ORDER.len());
        by_section.entry(i).or_default().push(g);
    }
    for (i, gs) in &by_section {
        let title = SECTION_ORDER.get(*i).copied().unwrap_or("Other groups");
        let _ = writeln!(s, "## {title}\n");
        for g in gs {
            let _ = writeln!(s, "### {}\n", md_escape(&g.name));
            if let Some((a, b)) = g.measured() {
                if fmt_utc(a) == fmt_utc(b) {
                    let _ = writeln!(s, "Measured {}.\n", fmt_utc(b));
                } else {
                    let _ = writeln!(s, "Measured {} to {}.\n", fmt_utc(a), fmt_utc(b));
                }
            }
            if g.is_sized() {
                let stem = file_stem(&g.name);
                let _ = writeln!(s, "![{} throughput]({stem}.svg)\n", md_escape(&g.name));
                sized_table(&mut s, g, r);
            } else {
                case_table(&mut s, g, r);
            }
            s.push('\n');
        }
    }
    s
}

/// Rows: sizes; columns: GB/s of each implementation, then each one's ratio to the reference.
fn sized_table(s: &mut String, g: &Group, r: &str) {
    let labels = g.labels(r);
    let ratio_cols: Vec<(String, String)> = labels
        .iter()
        .filter_map(|l| Some((l.clone(), g.reference_for(l, r)?)))
        .collect();
    let mut head = String::from("| size (bytes) |");
    let mut rule = String::from("|---:|");
    for l in &labels {
        let _ = write!(head, " {} (GB/s) |", md_escape(l));
        rule.push_str("---:|");
    }
    for (l, rl) in &ratio_cols {
        let _ = write!(head, " {} / {} |", md_escape(l), md_escape(rl));
        rule.push_str("---:|");
    }
    let _ = writeln!(s, "{head}\n{rule}");
    for size in g.sizes() {
        let p = size.to_string();
        let mut row = format!("| {size} |");
        for l in &labels {
            let cell = g
                .get(l, Some(&p))
                .and_then(Measurement::gbps)
                .map(sig3)
                .unwrap_or_else(|| "-".into());
            let _ = write!(row, " {cell} |");
        }
        for (l, _) in &ratio_cols {
            let cell = g
                .ratio(l, Some(&p), r)
                .map(fmt_ratio)
                .unwrap_or_else(|| "-".into());
            let _ = write!(row, " {cell} |");
        }
        let _ = writeln!(s, "{row}");
    }
}

/// One row per benchmark: time, throughput when any benchmark of the group declares bytes,
/// ratio to the reference when any has one.
fn case_table(s: &mut String, g: &Group, r: &str) {
    let labels = g.labels(r);
    let mut rows: Vec<&Measurement> = g.measurements.iter().collect();
    rows.sort_by_key(|m| {
        (
            m.parameter().map(natural_key),
            labels.iter().position(|l| l == m.label()),
        )
    });
    let with_gbps = rows.iter().any(|m| m.gbps().is_some());
    let with_ratio = rows
        .iter()
        .any(|m| g.ratio(m.label(), m.parameter(), r).is_some());
    let mut head = String::from("| implementation | parameter | median time |");
    let mut rule = String::from("|---|---|---:|");
    if with_gbps {
        head.push_str(" GB/s |");
        rule.push_str("---:|");
    }
    if with_ratio {
        let _ = write!(head, " / {} |", md_escape(r));
        rule.push_str("---:|");
    }
    let _ = writeln!(s, "{head}\n{rule}");
    for m in rows {
        let mut row = format!(
            "| {} | {} | {} |",
            md_escape(m.label()),
            md_escape(m.parameter().unwrap_or("-")),
            fmt_time(m.median_ns)
        );
        if with_gbps {
            let cell = m.gbps().map(sig3).unwrap_or_else(|| "-".into());
            let _ = write!(row, " {cell} |");
        }
        if with_ratio {
            let cell = g
                .ratio(m.label(), m.parameter(), r)
                .map(fmt_ratio)
                .unwrap_or_else(|| "-".into());
            let _ = write!(row, " {cell} |");
        }
        let _ = writeln!(s, "{row}");
    }
}

/// Draws a sized group: GB/s against message size (log scale), one line per implementation,
/// the reference in black.
pub fn plot(g: &Group, path: &Path, reference: &str) -> Result<(), Error> {
    use plotters::prelude::*;
    let err = |e: &dyn fmt::Display| Error::Plot(path.to_path_buf(), e.to_string());
    let labels = g.labels(reference);
    let series: Vec<(String, Vec<(f64, f64)>)> = labels
        .iter()
        .map(|l| {
            let pts = g
                .measurements
                .iter()
                .filter(|m| m.label() == l)
                .filter_map(|m| Some((m.size()? as f64, m.gbps()?)))
                .collect();
            (l.clone(), pts)
        })
        .collect();
    let xs = series.iter().flat_map(|(_, p)| p.iter().map(|&(x, _)| x));
    let (Some(xmin), Some(xmax)) = (xs.clone().reduce(f64::min), xs.reduce(f64::max)) else {
        return Err(err(&"no sized measurement to plot"));
    };
    let ymax = series
        .iter()
        .flat_map(|(_, p)| p.iter().map(|&(_, y)| y))
        .fold(0.0, f64::max);
    if !(ymax.is_finite() && ymax > 0.0 && xmin >= 1.0) {
        return Err(err(&"no positive throughput to plot"));
    }
    let root = SVGBackend::new(path, (900, 520)).into_drawing_area();
    root.fill(&WHITE).map_err(|e| err(&e))?;
    let mut chart = ChartBuilder::on(&root)
        .caption(format!("{}: median throughput", g.name), ("sans-serif", 22))
        .margin(16)
        .x_label_area_size(52)
        .y_label_area_size(64)
        .build_cartesian_2d((xmin / 1.6..xmax * 1.6).log_scale(), 0.0..ymax * 1.12)
        .map_err(|e| err(&e))?;
    chart
        .configure_mesh()
        .x_desc("message size (log scale)")
        .y_desc("GB/s")
        .x_label_formatter(&|x| fmt_bytes(*x))
        .y_label_formatter(&|y| axis_num(*y))
        .draw()
        .map_err(|e| err(&e))?;
    const COLOURS: [RGBColor; 6] = [
        RGBColor(31, 119, 180),
        RGBColor(214, 39, 40),
        RGBColor(44, 160, 44),
        RGBColor(255, 127, 14),
        RGBColor(148, 103, 189),
        RGBColor(140, 86, 75),
    ];
    let mut next = 0;
    for (label, pts) in &series {
        let colour = if split_label(label).0 == reference {
            BLACK
        } else {
            next += 1;
            COLOURS[(next - 1) % COLOURS.len()]
        };
        chart
            .draw_series(LineSeries::new(pts.iter().copied(), colour.stroke_width(2)))
            .map_err(|e| err(&e))?
            .label(label.as_str())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
            });
        chart
            .draw_series(
                pts.iter()
                    .map(|&(x, y)| Circle::new((x, y), 3, colour.filled())),
            )
            .map_err(|e| err(&e))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()
        .map_err(|e| err(&e))?;
    root.present().map_err(|e| err(&e))?;
    Ok(())
}

/// What [`write_report`] wrote.
#[derive(Debug, Default)]
pub struct Written {
    /// The SVG files.
    pub plots: Vec<PathBuf>,
    /// The Markdown page.
    pub page: PathBuf,
}

/// Writes `<out>/<group>.svg` for every sized group and `<out>/README.md` for all groups.
pub fn write_report(groups: &[Group], ctx: &Context, out: &Path) -> Result<Written, Error> {
    std::fs::create_dir_all(out).map_err(|e| Error::Write(out.to_path_buf(), e))?;
    let mut written = Written::default();
    for g in groups.iter().filter(|g| g.is_sized()) {
        let path = out.join(format!("{}.svg", file_stem(&g.name)));
        plot(g, &path, &ctx.reference)?;
        written.plots.push(path);
    }
    let page = out.join("README.md");
    std::fs::write(&page, markdown(groups, ctx)).map_err(|e| Error::Write(page.clone(), e))?;
    written.page = page;
    Ok(written)
}
