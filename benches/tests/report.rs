//! The `bench-report` logic on small criterion trees: reading, grouping, ratios, the page and
//! the plots, and what happens with missing or broken results.
#![allow(clippy::unwrap_used)] // test helpers outside #[test] fns
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use cse_benches::report::{self, Context, Error, Group, Measurement};

/// A scratch directory of this test process, emptied first.
fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cse-bench-report-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Criterion's `estimates.json` with `median` ns (the other statistics set apart so a reader
/// that takes the wrong one fails).
fn estimates(median: f64) -> String {
    let e = |x: f64| {
        format!(
            r#"{{"confidence_interval":{{"confidence_level":0.95,"lower_bound":{},"upper_bound":{}}},"point_estimate":{x},"standard_error":0.5}}"#,
            x * 0.99,
            x * 1.01
        )
    };
    format!(
        r#"{{"mean":{},"median":{},"median_abs_dev":{},"slope":{},"std_dev":{}}}"#,
        e(median * 3.0),
        e(median),
        e(1.0),
        e(median * 5.0),
        e(2.0)
    )
}

/// Writes one benchmark the way criterion 0.8 lays it out:
/// `<root>/<group>/<function>/<value>/new/{benchmark.json,estimates.json}`.
fn bench(
    root: &Path,
    group: &str,
    function: Option<&str>,
    value: Option<&str>,
    throughput: Option<&str>,
    median: f64,
) -> PathBuf {
    let mut dir = root.join(group);
    let mut full = group.to_string();
    for part in [function, value].into_iter().flatten() {
        dir.push(part);
        full.push('/');
        full.push_str(part);
    }
    let new = dir.join("new");
    std::fs::create_dir_all(&new).unwrap();
    let q = |o: Option<&str>| o.map_or("null".to_string(), |s| format!("\"{s}\""));
    let meta = format!(
        r#"{{"group_id":"{group}","function_id":{},"value_str":{},"throughput":{},"full_id":"{full}","directory_name":"{full}","title":"{full}"}}"#,
        q(function),
        q(value),
        throughput.unwrap_or("null")
    );
    std::fs::write(new.join("benchmark.json"), meta).unwrap();
    std::fs::write(new.join("estimates.json"), estimates(median)).unwrap();
    new
}

/// A sized group with three implementations at two sizes, a group with operations in the
/// function ids, a batch group and a handshake group without sizes.
fn fixture(root: &Path) {
    for (imp, ns64, ns5760) in [
        ("cse-core", 32.0, 576.0),
        ("aws-lc-rs", 16.0, 1152.0),
        ("aes-gcm", 64.0, 2304.0),
    ] {
        bench(
            root,
            "gcm256_seal",
            Some(imp),
            Some("64"),
            Some(r#"{"Bytes":64}"#),
            ns64,
        );
        bench(
            root,
            "gcm256_seal",
            Some(imp),
            Some("5760"),
            Some(r#"{"Bytes":5760}"#),
            ns5760,
        );
    }
    for (f, ns) in [
        ("spdm-lite seal", 100.0),
        ("spdm-lite open", 110.0),
        ("aws-lc-rs seal", 25.0),
    ] {
        bench(
            root,
            "spdm_record_aes128gcm",
            Some(f),
            Some("64"),
            Some(r#"{"Bytes":64}"#),
            ns,
        );
    }
    for (f, ns) in [
        ("cse-core", 100.0),
        ("cse-core-serial", 300.0),
        ("aws-lc-rs", 200.0),
    ] {
        bench(
            root,
            "cmac128_lines",
            Some(f),
            Some("16x64"),
            Some(r#"{"Bytes":1024}"#),
            ns,
        );
    }
    bench(
        root,
        "spdm_handshake",
        Some("spdm-lite"),
        Some("set_a_p256"),
        None,
        1.75e6,
    );
    bench(
        root,
        "spdm_handshake",
        Some("spdm-lite"),
        Some("set_b_p384"),
        None,
        6.0e6,
    );
}

fn find<'a>(groups: &'a [Group], name: &str) -> &'a Group {
    groups.iter().find(|g| g.name == name).unwrap()
}

fn ctx() -> Context {
    Context {
        cpu: "Test CPU @ 1 GHz (2 logical CPUs)".into(),
        generated: SystemTime::UNIX_EPOCH + Duration::from_secs(1_796_601_540),
        reference: "aws-lc-rs".into(),
        notes: vec!["fixture run".into()],
    }
}

#[test]
fn reads_ids_throughput_and_median_from_the_json_files() {
    let root = scratch("reads");
    fixture(&root);
    let l = report::load(&root).unwrap();
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    assert_eq!(l.measurements.len(), 6 + 3 + 3 + 2);
    let groups = report::groups(&l.measurements);
    let names: Vec<&str> = groups.iter().map(|g| g.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "cmac128_lines",
            "gcm256_seal",
            "spdm_handshake",
            "spdm_record_aes128gcm"
        ]
    );
    let g = find(&groups, "gcm256_seal");
    let m = g.get("cse-core", Some("5760")).unwrap();
    // The median, not the mean (3x) or the slope (5x).
    assert_eq!(m.median_ns, 576.0);
    assert_eq!(m.bytes, Some(5760));
    assert_eq!(m.size(), Some(5760));
    assert_eq!(m.gbps(), Some(10.0));
    assert_eq!(g.sizes(), [64, 5760]);
    // Own implementation first, then the reference, then the others.
    assert_eq!(g.labels("aws-lc-rs"), ["cse-core", "aws-lc-rs", "aes-gcm"]);
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn sized_groups_are_the_ones_with_numeric_parameters_and_bytes() {
    let root = scratch("sized");
    fixture(&root);
    let groups = report::groups(&report::load(&root).unwrap().measurements);
    assert!(find(&groups, "gcm256_seal").is_sized());
    assert!(find(&groups, "spdm_record_aes128gcm").is_sized());
    assert!(!find(&groups, "cmac128_lines").is_sized());
    assert!(!find(&groups, "spdm_handshake").is_sized());
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn ratios_are_throughput_against_the_reference_at_the_same_size() {
    let root = scratch("ratios");
    fixture(&root);
    let groups = report::groups(&report::load(&root).unwrap().measurements);
    let r = "aws-lc-rs";
    let g = find(&groups, "gcm256_seal");
    assert_eq!(g.ratio("cse-core", Some("64"), r), Some(0.5));
    assert_eq!(g.ratio("cse-core", Some("5760"), r), Some(2.0));
    assert_eq!(g.ratio("aes-gcm", Some("64"), r), Some(0.25));
    assert_eq!(g.ratio("aws-lc-rs", Some("64"), r), None);
    assert_eq!(g.ratio("cse-core", Some("1024"), r), None);

    // Operation in the function id: seal against seal; no reference open, so no ratio.
    let g = find(&groups, "spdm_record_aes128gcm");
    assert_eq!(
        g.reference_for("spdm-lite seal", r).as_deref(),
        Some("aws-lc-rs seal")
    );
    assert_eq!(g.ratio("spdm-lite seal", Some("64"), r), Some(0.25));
    assert_eq!(g.reference_for("spdm-lite open", r), None);
    assert_eq!(g.ratio("spdm-lite open", Some("64"), r), None);

    // Case parameters: same parameter, and any implementation against the reference.
    let g = find(&groups, "cmac128_lines");
    assert_eq!(g.ratio("cse-core", Some("16x64"), r), Some(2.0));
    let serial = g.ratio("cse-core-serial", Some("16x64"), r).unwrap();
    assert!((serial - 2.0 / 3.0).abs() < 1e-12, "{serial}");
    // Another reference name changes the comparison.
    assert_eq!(
        g.ratio("cse-core", Some("16x64"), "cse-core-serial"),
        Some(3.0)
    );

    // No reference in the group: no ratio.
    let g = find(&groups, "spdm_handshake");
    assert_eq!(g.ratio("spdm-lite", Some("set_a_p256"), r), None);
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn speed_ratio_falls_back_to_times_without_bytes() {
    let m = |ns, bytes| Measurement {
        group: "g".into(),
        function: Some("x".into()),
        value: Some("case".into()),
        bytes,
        median_ns: ns,
        measured: None,
    };
    assert_eq!(report::speed_ratio(&m(100.0, None), &m(400.0, None)), 4.0);
    assert_eq!(
        report::speed_ratio(&m(100.0, Some(1000)), &m(100.0, Some(500))),
        2.0
    );
}

#[test]
fn throughput_kinds_and_parameter_only_ids() {
    let root = scratch("kinds");
    bench(
        &root,
        "k",
        Some("dec"),
        Some("8"),
        Some(r#"{"BytesDecimal":8}"#),
        8.0,
    );
    bench(
        &root,
        "k",
        Some("bits"),
        Some("8"),
        Some(r#"{"Bits":64}"#),
        8.0,
    );
    bench(
        &root,
        "k",
        Some("both"),
        Some("8"),
        Some(r#"{"ElementsAndBytes":{"elements":2,"bytes":8}}"#),
        8.0,
    );
    bench(
        &root,
        "k",
        Some("elems"),
        Some("8"),
        Some(r#"{"Elements":8}"#),
        8.0,
    );
    // `BenchmarkId::from_parameter`: no function id, the parameter names the benchmark.
    bench(&root, "p", None, Some("aws-lc-rs"), None, 10.0);
    bench(&root, "p", None, Some("cse-core"), None, 5.0);
    let l = report::load(&root).unwrap();
    let groups = report::groups(&l.measurements);
    let k = find(&groups, "k");
    for f in ["dec", "bits", "both"] {
        assert_eq!(k.get(f, Some("8")).unwrap().bytes, Some(8), "{f}");
    }
    assert_eq!(k.get("elems", Some("8")).unwrap().bytes, None);
    assert!(!k.is_sized());
    let p = find(&groups, "p");
    assert_eq!(p.labels("aws-lc-rs"), ["cse-core", "aws-lc-rs"]);
    assert_eq!(p.ratio("cse-core", None, "aws-lc-rs"), Some(2.0));
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn only_the_last_run_is_read() {
    let root = scratch("last");
    let new = bench(
        &root,
        "g",
        Some("cse-core"),
        Some("64"),
        Some(r#"{"Bytes":64}"#),
        32.0,
    );
    // criterion's previous run and comparison, and its HTML report, are not results.
    let dir = new.parent().unwrap();
    for other in ["base", "change"] {
        std::fs::create_dir_all(dir.join(other)).unwrap();
        std::fs::copy(
            new.join("benchmark.json"),
            dir.join(other).join("benchmark.json"),
        )
        .unwrap();
        std::fs::write(dir.join(other).join("estimates.json"), estimates(1.0)).unwrap();
    }
    std::fs::create_dir_all(root.join("report")).unwrap();
    std::fs::write(root.join("report").join("index.html"), "<html></html>").unwrap();
    let l = report::load(&root).unwrap();
    assert_eq!(l.measurements.len(), 1);
    assert_eq!(l.measurements[0].median_ns, 32.0);
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn broken_results_are_skipped_with_a_warning() {
    let root = scratch("broken");
    fixture(&root);
    let before = report::load(&root).unwrap().measurements.len();
    // No estimates, bad JSON, a zero median, no benchmark.json.
    let a = bench(
        &root,
        "bad",
        Some("a"),
        Some("64"),
        Some(r#"{"Bytes":64}"#),
        1.0,
    );
    std::fs::remove_file(a.join("estimates.json")).unwrap();
    let b = bench(
        &root,
        "bad",
        Some("b"),
        Some("64"),
        Some(r#"{"Bytes":64}"#),
        1.0,
    );
    std::fs::write(b.join("estimates.json"), "{\"median\": ").unwrap();
    let c = bench(
        &root,
        "bad",
        Some("c"),
        Some("64"),
        Some(r#"{"Bytes":64}"#),
        1.0,
    );
    std::fs::write(c.join("estimates.json"), estimates(0.0)).unwrap();
    let d = bench(
        &root,
        "bad",
        Some("d"),
        Some("64"),
        Some(r#"{"Bytes":64}"#),
        1.0,
    );
    std::fs::remove_file(d.join("benchmark.json")).unwrap();
    let l = report::load(&root).unwrap();
    assert_eq!(l.warnings.len(), 4, "{:#?}", l.warnings);
    assert!(l.warnings.iter().any(|w| w.contains("not a positive time")));
    // The good results are all still there, and none of the bad group.
    assert_eq!(l.measurements.len(), before);
    assert!(l.measurements.iter().all(|m| m.group != "bad"));
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn no_results_and_no_directory_are_errors() {
    let root = scratch("empty");
    std::fs::create_dir_all(root.join("report")).unwrap();
    assert!(matches!(report::load(&root), Err(Error::NoResults(_))));
    let msg = report::load(&root).unwrap_err().to_string();
    assert!(msg.contains("cargo bench -p cse-benches"), "{msg}");
    assert!(matches!(
        report::load(&root.join("missing")),
        Err(Error::CriterionDir(..))
    ));
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn page_and_plots_are_written() {
    let root = scratch("write");
    let crit = root.join("criterion");
    fixture(&crit);
    let groups = report::groups(&report::load(&crit).unwrap().measurements);
    let out = root.join("out");
    let w = report::write_report(&groups, &ctx(), &out).unwrap();
    // One plot per sized group, none for the others.
    let mut plots: Vec<String> = w
        .plots
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    plots.sort();
    assert_eq!(plots, ["gcm256_seal.svg", "spdm_record_aes128gcm.svg"]);
    assert!(!out.join("spdm_handshake.svg").exists());
    let svg = std::fs::read_to_string(out.join("gcm256_seal.svg")).unwrap();
    assert!(svg.contains("<svg"));
    for label in ["cse-core", "aws-lc-rs", "aes-gcm", "GB/s"] {
        assert!(svg.contains(label), "{label} not in the plot");
    }

    let page = std::fs::read_to_string(&w.page).unwrap();
    assert_eq!(w.page, out.join("README.md"));
    assert!(page.contains("Test CPU @ 1 GHz"));
    assert!(page.contains("generated: 2026-12-06 23:59 UTC"));
    assert!(page.contains("- fixture run"));
    assert!(page.contains("![gcm256_seal throughput](gcm256_seal.svg)"));
    // Sized table: GB/s of each implementation, then the ratios to the reference.
    assert!(page.contains(
        "| size (bytes) | cse-core (GB/s) | aws-lc-rs (GB/s) | aes-gcm (GB/s) | cse-core / aws-lc-rs | aes-gcm / aws-lc-rs |"
    ));
    assert!(page.contains("| 64 | 2.00 | 4.00 | 1.00 | 0.50 | 0.25 |"));
    assert!(page.contains("| 5760 | 10.0 | 5.00 | 2.50 | 2.00 | 0.50 |"));
    // Operation pairs: no ratio column for the open without a reference open.
    assert!(page.contains("| spdm-lite seal / aws-lc-rs seal |"));
    assert!(!page.contains("spdm-lite open / "));
    // Groups without sizes: a table only, times, no ratio where no reference.
    // (No bytes and no reference in the group: no such columns.)
    assert!(page.contains("| implementation | parameter | median time |\n"));
    assert!(page.contains("| spdm-lite | set_a_p256 | 1.75 ms |\n"));
    assert!(page.contains("| cse-core | 16x64 | 100 ns | 10.2 | 2.00 |"));
    // Sections in a fixed order.
    let aes = page.find("## AES primitives").unwrap();
    let spdm = page.find("## SPDM").unwrap();
    assert!(aes < spdm);
    std::fs::remove_dir_all(&root).unwrap();
}

#[test]
fn formatting_helpers() {
    assert_eq!(report::sig3(0.012345), "0.0123");
    assert_eq!(report::sig3(0.5), "0.500");
    assert_eq!(report::sig3(1.234), "1.23");
    assert_eq!(report::sig3(12.34), "12.3");
    assert_eq!(report::sig3(1234.0), "1234");
    assert_eq!(report::fmt_time(563.0), "563 ns");
    assert_eq!(report::fmt_time(1090.0), "1.09 µs");
    assert_eq!(report::fmt_time(6.0e6), "6.00 ms");
    assert_eq!(report::fmt_bytes(64.0), "64 B");
    assert_eq!(report::fmt_bytes(12_441_600.0), "12.4 MB");
    assert_eq!(report::fmt_bytes(1000.0), "1 kB");
    assert_eq!(report::fmt_bytes(2_500_000.0), "2.5 MB");
    assert_eq!(report::fmt_ratio(0.5), "0.50");
    assert_eq!(report::fmt_ratio(2.0), "2.00");
    assert_eq!(report::fmt_ratio(0.0018), "0.0018");
    assert_eq!(report::fmt_ratio(0.05), "0.050");
    let mut cases = ["16x5760", "8x5760", "64x64", "16x64"];
    cases.sort_by_key(|c| report::natural_key(c));
    assert_eq!(cases, ["8x5760", "16x64", "16x5760", "64x64"]);
    assert_eq!(
        report::fmt_utc(SystemTime::UNIX_EPOCH),
        "1970-01-01 00:00 UTC"
    );
    assert_eq!(
        report::fmt_utc(SystemTime::UNIX_EPOCH + Duration::from_secs(1_709_210_040)),
        "2024-02-29 12:34 UTC"
    );
    assert_eq!(report::file_stem("sep-sv1/gcm 256"), "sep-sv1_gcm_256");
    assert_eq!(
        report::section("sep-sv2-cmac128-verify"),
        "SEP path (cse-sep)"
    );
    assert_eq!(
        report::section("gmac256_lines"),
        "AES primitives (cse-core)"
    );
    assert_eq!(report::section("something-new"), "Other groups");
}

#[test]
fn cpu_model_from_cpuinfo() {
    let x86 = "processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Processor\nflags\t: aes\n\n\
               processor\t: 1\nmodel name\t: Intel(R) Xeon(R) Processor\n";
    assert_eq!(
        report::cpu_model(x86).as_deref(),
        Some("Intel(R) Xeon(R) Processor (2 logical CPUs)")
    );
    let arm = "processor\t: 0\nBogoMIPS\t: 50.00\nCPU part\t: 0xd0c\n\nHardware\t: BCM2711\n";
    assert_eq!(
        report::cpu_model(arm).as_deref(),
        Some("BCM2711 (1 logical CPUs)")
    );
    assert_eq!(report::cpu_model("flags: aes\n"), None);
}

/// The median of a committed `estimates.json`, read independently of the report code.
fn fixture_median(rel: &str) -> f64 {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/criterion")
        .join(rel)
        .join("new/estimates.json");
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    v["median"]["point_estimate"].as_f64().unwrap()
}

#[test]
fn reads_files_written_by_criterion() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/criterion");
    let l = report::load(&dir).unwrap();
    assert!(l.warnings.is_empty(), "{:?}", l.warnings);
    assert_eq!(l.measurements.len(), 9);
    let groups = report::groups(&l.measurements);
    let g = find(&groups, "gcm256_seal");
    assert!(g.is_sized());
    assert_eq!(g.sizes(), [64, 1024]);
    assert_eq!(g.labels("aws-lc-rs"), ["cse-core", "aws-lc-rs", "aes-gcm"]);
    let m = g.get("cse-core", Some("1024")).unwrap();
    assert_eq!(m.bytes, Some(1024));
    assert_eq!(m.median_ns, fixture_median("gcm256_seal/cse-core/1024"));
    let want =
        fixture_median("gcm256_seal/aws-lc-rs/1024") / fixture_median("gcm256_seal/cse-core/1024");
    let got = g.ratio("cse-core", Some("1024"), "aws-lc-rs").unwrap();
    assert!((got - want).abs() < 1e-12 * want, "{got} != {want}");
    let lines = find(&groups, "cmac128_lines");
    assert!(!lines.is_sized());
    assert_eq!(
        lines.get("cse-core-serial", Some("16x64")).unwrap().bytes,
        Some(1024)
    );
}

#[test]
fn stale_results_can_be_left_out() {
    let t = |s| Some(SystemTime::UNIX_EPOCH + Duration::from_secs(s));
    let m = |f: &str, measured| Measurement {
        group: "g".into(),
        function: Some(f.into()),
        value: Some("64".into()),
        bytes: Some(64),
        median_ns: 10.0,
        measured,
    };
    let mut l = report::Load {
        measurements: vec![m("old", t(100)), m("new", t(200)), m("untimed", None)],
        warnings: vec![],
    };
    l.drop_older_than(SystemTime::UNIX_EPOCH + Duration::from_secs(150));
    let left: Vec<&str> = l.measurements.iter().map(|m| m.label()).collect();
    assert_eq!(left, ["new", "untimed"]);
    assert_eq!(l.warnings.len(), 1);
    assert!(l.warnings[0].starts_with("1 result(s) measured before 1970-01-01"));
}
