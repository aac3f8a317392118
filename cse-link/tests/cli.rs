//! The `cse` command line: `cse demo`'s argument parsing (every flag, every bad value, every
//! combination it cannot run), and the binary itself (exit statuses, `--help` of every
//! subcommand, `--version`, completions, and the `--json` report read back through its serde
//! types).
#![allow(clippy::unwrap_used, clippy::panic)]

use std::process::Command;

use cse_core::{CipherSuite, KeySize, MacAlgorithm, SecurityVariant, TagMode};
use cse_link::Protocol;
use cse_link::cli::demo::{JsonBlock, JsonBlocks, JsonReport, parse};
use cse_link::demo::Options;

fn args(a: &[&str]) -> Vec<String> {
    a.iter().map(|s| s.to_string()).collect()
}

fn ok(a: &[&str]) -> (Options, bool) {
    parse(&args(a)).unwrap_or_else(|e| panic!("{a:?} refused: {e}"))
}

fn err(a: &[&str]) -> String {
    match parse(&args(a)) {
        Ok((o, _)) => panic!("{a:?} accepted: {o:?}"),
        Err(e) => e,
    }
}

#[test]
fn defaults_are_1080p_sep_sv1_aes256_gcm_per_message_90_frames() {
    let (o, json) = ok(&[]);
    assert!(!json);
    assert_eq!((o.scene.width, o.scene.height), (1920, 1080));
    assert_eq!(o.frames, 90);
    assert_eq!(o.protocol, Protocol::Sep);
    assert_eq!(o.config.image.sv, SecurityVariant::FullIntegrityEncrypted);
    assert_eq!(o.config.image.suite, CipherSuite::Aes256Gcm);
    assert_eq!(o.config.image.tag_mode, TagMode::PerMessage);
    // Embedded-data blocks: integrity only, same key family.
    assert_eq!(o.config.top.sv, SecurityVariant::FullIntegrity);
    assert_eq!(o.config.top.suite, CipherSuite::Aes256Gmac);
    assert_eq!(o.config.bottom, o.config.top);
    o.config.validate().unwrap();
}

#[test]
fn sizes() {
    let (o, _) = ok(&["--4k"]);
    assert_eq!((o.scene.width, o.scene.height), (3840, 2160));
    let (o, _) = ok(&["--8k"]);
    assert_eq!((o.scene.width, o.scene.height), (7680, 4320));
    // The last size flag wins.
    let (o, _) = ok(&["--8k", "--4k"]);
    assert_eq!(o.scene.width, 3840);
}

#[test]
fn protocol_and_default_tag_mode() {
    let (o, _) = ok(&["--protocol", "sep"]);
    assert_eq!(o.protocol, Protocol::Sep);
    assert_eq!(o.config.image.tag_mode, TagMode::PerMessage);
    let (o, _) = ok(&["--protocol", "fsed"]);
    assert_eq!(o.protocol, Protocol::Fsed);
    assert_eq!(o.config.image.tag_mode, TagMode::PerFrame);
    let (o, _) = ok(&["--protocol", "FSED"]);
    assert_eq!(o.protocol, Protocol::Fsed);
}

#[test]
fn security_variants() {
    for (v, sv) in [
        ("1", SecurityVariant::FullIntegrityEncrypted),
        ("2", SecurityVariant::FullIntegrity),
        ("5", SecurityVariant::NoSecurity),
    ] {
        let (o, _) = ok(&["--sv", v]);
        assert_eq!(o.config.image.sv, sv, "--sv {v}");
        // Only the image block follows --sv.
        assert_eq!(o.config.top.sv, SecurityVariant::FullIntegrity);
        o.config.validate().unwrap();
    }
    let (o, _) = ok(&["--sv", "2"]);
    assert_eq!(o.config.image.suite, CipherSuite::Aes256Gmac);
}

#[test]
fn every_suite_runs_as_given_or_is_refused_naming_the_equivalent() {
    for s in CipherSuite::ALL {
        for name in [s.name().to_string(), s.name().to_ascii_lowercase()] {
            for sv in ["1", "2"] {
                let a = ["--suite", name.as_str(), "--sv", sv];
                if s.encrypts() == (sv == "1") {
                    let (o, _) = ok(&a);
                    // Exactly the suite asked for: never another one.
                    assert_eq!(o.config.image.suite, s, "{a:?}");
                    // The embedded-data blocks share the key family, integrity only.
                    assert_eq!(o.config.top.suite.key_size(), s.key_size());
                    assert_eq!(o.config.top.suite.mac(), s.mac());
                    assert!(!o.config.top.suite.encrypts());
                    assert_eq!(o.config.bottom, o.config.top);
                    o.config.validate().unwrap();
                } else {
                    let e = err(&a);
                    // The reason names the suite of the same family that would run.
                    let other = CipherSuite::ALL
                        .into_iter()
                        .find(|o| {
                            o.key_size() == s.key_size()
                                && o.mac() == s.mac()
                                && o.encrypts() != s.encrypts()
                        })
                        .unwrap();
                    assert!(
                        e.contains(&format!("--suite {}", other.name())),
                        "{a:?}: {e}"
                    );
                    assert!(e.contains(&format!("--sv {sv}")), "{a:?}: {e}");
                }
            }
        }
    }
    let (o, _) = ok(&["--suite", "AES-128-CMAC", "--sv", "2"]);
    assert_eq!(o.config.image.suite, CipherSuite::Aes128Cmac);
    assert_eq!(o.config.top.suite, CipherSuite::Aes128Cmac);
    assert_eq!(o.config.image.suite.key_size(), KeySize::Aes128);
    assert_eq!(o.config.image.suite.mac(), MacAlgorithm::Cmac);
    let (o, _) = ok(&["--suite", "AES-128-CTR+CMAC"]);
    assert_eq!(o.config.image.suite, CipherSuite::Aes128CtrCmac);
    assert_eq!(o.config.top.suite, CipherSuite::Aes128Cmac);
    // Under SV-5 --suite names the embedded-data blocks' suite: integrity only.
    let (o, _) = ok(&["--sv", "5", "--suite", "AES-128-GMAC"]);
    assert_eq!(o.config.image.sv, SecurityVariant::NoSecurity);
    assert_eq!(o.config.top.suite, CipherSuite::Aes128Gmac);
    let e = err(&["--sv", "5", "--suite", "AES-128-GCM"]);
    assert!(e.contains("AES-128-GMAC"), "{e}");
}

#[test]
fn tag_modes() {
    for (m, mode) in [
        ("message", TagMode::PerMessage),
        ("datatype", TagMode::PerDataType),
        ("frame", TagMode::PerFrame),
    ] {
        for p in ["sep", "fsed"] {
            if p == "fsed" && m == "message" {
                continue;
            }
            let (o, _) = ok(&["--protocol", p, "--tag-mode", m]);
            assert_eq!(o.config.image.tag_mode, mode);
            assert_eq!(o.config.top.tag_mode, mode);
            assert_eq!(o.config.bottom.tag_mode, mode);
        }
    }
    // FSED has no per-message tags: a usage error with the reason, not a failed run.
    let e = err(&["--protocol", "fsed", "--tag-mode", "message"]);
    assert!(e.contains("FSED has no per-message tags"), "{e}");
}

#[test]
fn frames_and_json() {
    let (o, json) = ok(&["--frames", "7"]);
    assert_eq!(o.frames, 7);
    assert!(!json);
    let (o, json) = ok(&["--json", "--frames", "1"]);
    assert_eq!(o.frames, 1);
    assert!(json);
    // No frames: nothing would be checked before the attacks; refused.
    let e = err(&["--frames", "0"]);
    assert!(
        e.contains("--frames") && e.contains("at least one frame"),
        "{e}"
    );
}

#[test]
fn all_flags_together() {
    let (o, json) = ok(&[
        "--4k",
        "--protocol",
        "fsed",
        "--sv",
        "2",
        "--suite",
        "AES-256-CMAC",
        "--tag-mode",
        "datatype",
        "--frames",
        "3",
        "--json",
    ]);
    assert!(json);
    assert_eq!((o.scene.width, o.frames), (3840, 3));
    assert_eq!(o.protocol, Protocol::Fsed);
    assert_eq!(o.config.image.sv, SecurityVariant::FullIntegrity);
    assert_eq!(o.config.image.suite, CipherSuite::Aes256Cmac);
    assert_eq!(o.config.image.tag_mode, TagMode::PerDataType);
}

#[test]
fn bad_values_name_the_argument() {
    for (a, names) in [
        (&["--frames", "many"][..], "--frames"),
        (&["--frames", "-1"][..], "--frames"),
        (&["--frames", ""][..], "--frames"),
        (&["--protocol", "udp"][..], "--protocol"),
        (&["--sv", "3"][..], "--sv"),
        (&["--sv", "one"][..], "--sv"),
        (&["--sv", "01"][..], "--sv"),
        (&["--suite", "AES-512-GCM"][..], "--suite"),
        (&["--suite", ""][..], "--suite"),
        (&["--tag-mode", "packet"][..], "--tag-mode"),
        (&["--tag-mode", "Frame"][..], "--tag-mode"),
    ] {
        let e = err(a);
        assert!(e.contains(names), "{a:?}: {e}");
        assert!(e.contains(a[1]), "{a:?} should echo the value: {e}");
    }
}

#[test]
fn missing_values_name_the_argument() {
    for flag in ["--frames", "--protocol", "--sv", "--suite", "--tag-mode"] {
        let e = err(&[flag]);
        assert!(
            e.contains(flag) && e.contains("a value is required"),
            "{flag}: {e}"
        );
        // Also when it is not the first argument.
        let e = err(&["--json", flag]);
        assert!(e.contains(flag), "{flag}: {e}");
    }
}

#[test]
fn unknown_arguments_are_named() {
    for a in ["--bogus", "-x", "demo", "--JSON", "--4K", "4k"] {
        let e = err(&[a]);
        assert!(
            e.contains("unexpected argument") && e.contains(a),
            "{a}: {e}"
        );
    }
    let e = err(&["--frames", "2", "extra"]);
    assert!(e.contains("extra"), "{e}");
}

// ---- the binary ---------------------------------------------------------------------------

fn cse(a: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_cse"))
        .args(a)
        .output()
        .unwrap()
}

#[test]
fn bare_cse_prints_usage_and_exits_2() {
    let out = cse(&[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(
        err.to_lowercase().contains("usage") && err.contains("cse demo"),
        "{err}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn help_prints_usage_and_exits_0() {
    for flag in ["--help", "-h", "help"] {
        let out = cse(&[flag]);
        assert_eq!(out.status.code(), Some(0), "{flag}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.to_lowercase().contains("usage") && text.contains("cse demo"),
            "{text}"
        );
    }
}

#[test]
fn every_subcommand_has_help_listing_its_flags_and_values() {
    for (sub, must) in [
        (
            "demo",
            &[
                "--4k",
                "--8k",
                "--protocol",
                "--sv",
                "--suite",
                "--tag-mode",
                "--frames",
                "--json",
                "fsed",
                "AES-256-GCM",
                "AES-128-CTR+CMAC",
                "datatype",
            ][..],
        ),
        ("vectors", &["--out"][..]),
        (
            "protect",
            &[
                "--in",
                "--out",
                "--keys",
                "--raw10",
                "--raw12",
                "--width",
                "--height",
                "--protocol",
                "--sv",
                "--suite",
                "--tag-mode",
                "--tag-len",
                "--vc",
                "--first-frame",
            ][..],
        ),
        (
            "verify",
            &["--in", "--keys", "--protocol", "--min-sv", "--out", "auto"][..],
        ),
        (
            "inspect",
            &["--in", "--keys", "--protocol", "--min-sv", "--json"][..],
        ),
        (
            "keygen",
            &["--out", "--bits", "--mac-key", "--key-id", "128", "256"][..],
        ),
        ("pki", &["init", "issue", "csr"][..]),
        ("completions", &["bash", "zsh", "fish"][..]),
    ] {
        for h in ["--help", "-h"] {
            let out = cse(&[sub, h]);
            assert_eq!(out.status.code(), Some(0), "{sub} {h}");
            let text = String::from_utf8(out.stdout).unwrap();
            assert!(text.contains(&format!("Usage: cse {sub}")), "{text}");
            for m in must {
                assert!(text.contains(m), "cse {sub} {h} lacks {m}: {text}");
            }
        }
        let out = cse(&["help", sub]);
        assert_eq!(out.status.code(), Some(0), "help {sub}");
    }
}

#[test]
fn version_and_completions() {
    let out = cse(&["--version"]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.trim(), format!("cse {}", env!("CARGO_PKG_VERSION")));
    for (shell, marker) in [
        ("bash", "_cse()"),
        ("zsh", "#compdef cse"),
        ("fish", "complete -c cse"),
    ] {
        let out = cse(&["completions", shell]);
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains(marker), "{shell}: {text}");
        for sub in [
            "demo", "protect", "verify", "inspect", "keygen", "vectors", "pki",
        ] {
            assert!(text.contains(sub), "{shell} completion lacks {sub}");
        }
    }
    let out = cse(&["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn combinations_the_demo_cannot_run_are_usage_errors() {
    for (a, reason) in [
        (
            &["demo", "--protocol", "fsed", "--tag-mode", "message"][..],
            "FSED has no per-message tags",
        ),
        (
            &["demo", "--sv", "2", "--suite", "AES-256-GCM"][..],
            "--suite AES-256-GMAC",
        ),
        (
            &["demo", "--sv", "2", "--suite", "AES-128-CTR+CMAC"][..],
            "--suite AES-128-CMAC",
        ),
        (
            &["demo", "--suite", "AES-128-GMAC"][..],
            "--suite AES-128-GCM",
        ),
        (&["demo", "--frames", "0"][..], "at least one frame"),
    ] {
        let out = cse(a);
        let err = String::from_utf8(out.stderr).unwrap();
        assert_eq!(out.status.code(), Some(2), "{a:?}: {err}");
        assert!(err.contains(reason), "{a:?}: {err}");
        // Refused before anything ran.
        assert!(out.stdout.is_empty(), "{a:?}");
    }
}

#[test]
fn demo_with_a_bad_flag_prints_usage_and_exits_2() {
    let out = cse(&["demo", "--bogus"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("--bogus"), "{err}");
    assert!(err.contains("Usage: cse demo"), "{err}");
    assert!(out.stdout.is_empty());
    let out = cse(&["demo", "--sv", "4"]);
    assert_eq!(out.status.code(), Some(2));
}

fn demo_json(a: &[&str]) -> (Option<i32>, JsonReport, String) {
    let out = cse(a);
    let text = String::from_utf8(out.stdout).unwrap();
    let report: JsonReport = serde_json::from_str(text.trim())
        .unwrap_or_else(|e| panic!("{e}: {text}\n{}", String::from_utf8_lossy(&out.stderr)));
    // The same report written back: the schema holds every field the binary wrote.
    let again: serde_json::Value = serde_json::to_value(&report).unwrap();
    let raw: serde_json::Value = serde_json::from_str(text.trim()).unwrap();
    assert_eq!(
        again, raw,
        "round trip through the serde types changed the report"
    );
    (out.status.code(), report, text)
}

#[test]
fn demo_json_report_is_valid_and_passes() {
    let (code, v, text) = demo_json(&["demo", "--frames", "2", "--json"]);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(v.protocol, "SEP");
    assert_eq!((v.width, v.height), (1920, 1080));
    assert_eq!(v.frames, 2);
    assert_eq!(v.frames_bit_exact, 2);
    assert!(v.key_rollover);
    assert!(v.passed);
    for x in [v.handshake_ms, v.protect_gbps, v.verify_gbps] {
        assert!(x >= 0.0 && x.is_finite(), "{text}");
    }
    assert!(!v.aes_engine.is_empty());
    // The whole configuration.
    let tagged = |sv: u8, suite: &str, mode: &str| JsonBlock {
        sv,
        suite: Some(suite.into()),
        tag_len: Some(16),
        tag_mode: Some(mode.into()),
    };
    assert_eq!(
        v.blocks,
        JsonBlocks {
            top: tagged(2, "AES-256-GMAC", "message"),
            image: tagged(1, "AES-256-GCM", "message"),
            bottom: tagged(2, "AES-256-GMAC", "message"),
        }
    );
    assert_eq!(v.attacks.len(), cse_link::demo::Attack::ALL.len());
    for a in &v.attacks {
        assert!(a.covered && a.detected && a.attributed, "{a:?}");
        assert_eq!(a.result, "detected");
        for s in [&a.attack, &a.expected, &a.observed] {
            assert!(!s.is_empty(), "{a:?}");
        }
    }
    let names: Vec<&str> = v.attacks.iter().map(|a| a.attack.as_str()).collect();
    let want: Vec<&str> = cse_link::demo::Attack::ALL
        .iter()
        .map(|a| a.name())
        .collect();
    assert_eq!(names, want);
}

#[test]
fn demo_json_report_carries_the_configuration_it_ran() {
    let (code, v, text) = demo_json(&[
        "demo",
        "--protocol",
        "fsed",
        "--sv",
        "2",
        "--suite",
        "aes-128-cmac",
        "--tag-mode",
        "datatype",
        "--frames",
        "1",
        "--json",
    ]);
    assert_eq!(code, Some(0), "{text}");
    assert_eq!(v.protocol, "FSED");
    assert_eq!(v.frames, 1);
    for b in [&v.blocks.top, &v.blocks.image, &v.blocks.bottom] {
        assert_eq!(b.sv, 2);
        assert_eq!(b.suite.as_deref(), Some("AES-128-CMAC"));
        assert_eq!(b.tag_len, Some(16));
        assert_eq!(b.tag_mode.as_deref(), Some("datatype"));
    }
}

#[test]
fn demo_sv5_passes_on_what_sv5_promises_and_marks_the_rest() {
    for protocol in ["sep", "fsed"] {
        let (code, v, text) = demo_json(&[
            "demo",
            "--protocol",
            protocol,
            "--sv",
            "5",
            "--frames",
            "2",
            "--json",
        ]);
        assert_eq!(code, Some(0), "{text}");
        assert!(v.passed);
        assert_eq!(v.blocks.image.sv, 5);
        assert_eq!(v.blocks.image.suite, None);
        assert_eq!(v.blocks.top.sv, 2);
        let get = |n: &str| v.attacks.iter().find(|a| a.attack == n).unwrap();
        // The FuSa promises: held, and they decide the verdict.
        for n in ["replayed frame", "dropped line"] {
            let a = get(n);
            assert!(a.covered && a.detected && a.attributed, "{protocol}: {a:?}");
        }
        // Attacks on the untagged image: not covered, and said so.
        for n in [
            "flipped pixel bit",
            "injected packet in block",
            "SV downgrade",
        ] {
            let a = get(n);
            assert!(!a.covered, "{protocol}: {a:?}");
            assert_eq!(a.result, "not covered by SV-5 (expected)");
        }
        // A flipped pixel with fixed CRCs goes through untagged SV-5: the report does not hide it.
        assert!(!get("flipped pixel bit").detected);
        // Register, SPDM and key attacks do not depend on the image SV.
        for n in [
            "forged CCI write",
            "replayed CCI write",
            "counterfeit sensor",
            "re-auth after reset",
        ] {
            let a = get(n);
            assert!(a.covered && a.detected && a.attributed, "{protocol}: {a:?}");
        }
    }
    // The text table says it too.
    let out = cse(&["demo", "--sv", "5", "--frames", "1"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("not covered by SV-5 (expected)"), "{text}");
    assert!(text.trim_end().ends_with("PASS"), "{text}");
}
