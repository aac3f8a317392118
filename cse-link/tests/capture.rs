//! `cse protect` / `cse verify` / `cse inspect` on capture files: the library and the binary.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)] // test helpers outside #[test] fns

use std::path::PathBuf;
use std::process::{Command, Output};

use cse_core::csi2::{DataType, VirtualChannel, payload_crc};
use cse_core::{
    BlockConfig, CipherSuite, FrameConfig, KeyId, Policy, Profile, SecurityVariant, SvLevel,
    TagLen, TagMode,
};
use cse_link::Protocol;
use cse_link::capture::{
    self, Analysis, CaptureError, Framing, KeyFile, ProtectOptions, RawFormat, RawInput, Verdict,
};
use cse_link::scene::Scene;

const KEYS: &str = "# test keys\nkey = 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n\
salt = a0a1a2a3a4a5a6a7a8a9aaab\nkey_id = 1\n";
const OTHER_KEYS: &str = "key = ff0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n\
salt = a0a1a2a3a4a5a6a7a8a9aaab\nkey_id = 1\n";

const POLICY: Policy = Policy {
    min_top: SvLevel::Sv2,
    min_image: SvLevel::Sv2,
    min_bottom: SvLevel::Sv2,
};

fn keys() -> KeyFile {
    KeyFile::parse(KEYS).unwrap()
}

/// Two RAW12 frames with embedded lines above and below (top, image and bottom blocks).
fn plain() -> Vec<u8> {
    let scene = Scene::new(64, 6, VirtualChannel::new(1).unwrap());
    let mut cap = scene.frame(1).unwrap();
    cap.extend(scene.frame(2).unwrap());
    cap
}

fn config(sv: SecurityVariant, mode: TagMode) -> FrameConfig {
    let suite = if sv.encrypts() {
        CipherSuite::Aes256Gcm
    } else {
        CipherSuite::Aes256Gmac
    };
    FrameConfig::uniform(
        BlockConfig {
            sv,
            suite,
            tag_len: TagLen::L16,
            tag_mode: mode,
        },
        KeyId::default(),
    )
}

fn protect(input: &[u8], protocol: Protocol, mode: TagMode) -> Vec<u8> {
    let opts = ProtectOptions {
        protocol,
        config: config(SecurityVariant::FullIntegrityEncrypted, mode),
        vc: None,
        first_frame: 7,
    };
    capture::protect(input, &keys(), &opts).unwrap()
}

fn analyse(cap: &[u8]) -> Analysis {
    capture::analyse(cap, Some(&keys()), None, POLICY).unwrap()
}

/// The row index of the `n`-th packet (0-based) carrying original data type `dt`: for SEP the
/// SEP packet wrapping it, for FSED the original packet itself.
fn row_of(cap: &[u8], dt: DataType, n: usize) -> usize {
    let p = Profile::DRAFT_1;
    let packets = capture::scan(cap);
    packets
        .iter()
        .filter(|pk| {
            let r = pk.repr.unwrap();
            if r.data_type == p.dt_sep {
                let bytes = pk.bytes(cap);
                // orig_dt, and not a close record (phase bits 3..2 of the flags byte = 2)
                bytes[4 + 4] == dt.0 && (bytes[4 + 1] >> 2) & 3 != 2
            } else {
                r.data_type == dt
            }
        })
        .nth(n)
        .unwrap()
        .index
}

/// Flips one payload bit of packet `row`. With `fix_crcs` the CSI-2 CRC-16 (and the SEP CRC-32)
/// are recomputed so that only a tag can notice.
fn tamper(cap: &[u8], row: usize, fix_crcs: bool) -> Vec<u8> {
    let mut out = cap.to_vec();
    let pk = capture::scan(cap)[row];
    let start = pk.offset + 4;
    let end = pk.offset + pk.len - 2;
    let is_sep = pk.repr.unwrap().data_type == Profile::DRAFT_1.dt_sep;
    // SEP: header 12 bytes, no frame extension on a pixel line; flip inside the body.
    let at = if is_sep { start + 12 + 5 } else { start + 5 };
    out[at] ^= 0x10;
    if fix_crcs {
        if is_sep {
            let c = cse_sep::wire::crc32(&Profile::DRAFT_1, &out[start..end - 4]);
            out[end - 4..end].copy_from_slice(&c.to_le_bytes());
        }
        let c = payload_crc(&out[start..end]);
        out[end..end + 2].copy_from_slice(&c.to_le_bytes());
    }
    out
}

#[test]
fn sep_and_fsed_round_trip_bit_exact_in_every_mode() {
    let input = plain();
    for (protocol, modes) in [
        (
            Protocol::Sep,
            &[TagMode::PerMessage, TagMode::PerDataType, TagMode::PerFrame][..],
        ),
        (
            Protocol::Fsed,
            &[TagMode::PerDataType, TagMode::PerFrame][..],
        ),
    ] {
        for &mode in modes {
            let cap = protect(&input, protocol, mode);
            assert_ne!(cap, input);
            let a = analyse(&cap);
            assert_eq!(a.protocol, Some(protocol));
            assert!(a.passed(), "{protocol:?} {mode:?}: {:?}", a.findings);
            assert_eq!(a.frames, 2);
            assert_eq!(a.frames_clean, 2);
            assert_eq!(a.recovered, input, "{protocol:?} {mode:?}: bit-exact");
            assert_eq!(a.recovered_packets, capture::scan(&input).len());
        }
    }
}

#[test]
fn raw10_and_raw12_files_round_trip() {
    for (format, width) in [(RawFormat::Raw10, 16usize), (RawFormat::Raw12, 10)] {
        let line = format.line_bytes(width).unwrap();
        let raw: Vec<u8> = (0..line * 4 * 3).map(|i| (i * 31 % 251) as u8).collect();
        let input = RawInput {
            format,
            width,
            height: 4,
        };
        let vc = VirtualChannel::new(2).unwrap();
        let plain = capture::raw_to_capture(&raw, &input, vc, 5).unwrap();
        let packets = capture::scan(&plain);
        assert_eq!(packets.len(), 3 * (4 + 2));
        let first = packets[0].repr.unwrap();
        assert_eq!(
            (first.data_type, first.word_count, first.vc),
            (DataType::FS, 5, vc)
        );
        assert_eq!(packets[1].repr.unwrap().data_type, format.data_type());
        assert_eq!(usize::from(packets[1].repr.unwrap().word_count), line);
        for protocol in [Protocol::Sep, Protocol::Fsed] {
            let cap = protect(&plain, protocol, TagMode::PerDataType);
            let a = analyse(&cap);
            assert!(a.passed(), "{format:?} {protocol:?}: {:?}", a.findings);
            assert_eq!(a.recovered, plain);
            assert_eq!(a.frames, 3);
        }
    }
}

#[test]
fn raw_input_errors_are_clear() {
    let vc = VirtualChannel::default();
    let input = |width| RawInput {
        format: RawFormat::Raw10,
        width,
        height: 4,
    };
    let raw = vec![0u8; 20 * 4 * 2];
    let e = capture::raw_to_capture(&raw, &input(14), vc, 1).unwrap_err();
    assert!(e.to_string().contains("multiple of 4"), "{e}");
    // Width 12 fits the packing but not the file: 15-byte lines, 60-byte frames.
    let e = capture::raw_to_capture(&raw, &input(12), vc, 1).unwrap_err();
    assert!(e.to_string().contains("not a whole number"), "{e}");
    assert!(e.to_string().contains("left over"), "{e}");
    let e = capture::raw_to_capture(&[], &input(16), vc, 1).unwrap_err();
    assert!(matches!(e, CaptureError::Empty));
    let e = capture::raw_to_capture(&raw, &input(0), vc, 1).unwrap_err();
    assert!(matches!(e, CaptureError::Raw(_)));
    let e = capture::raw_to_capture(&raw, &input(60_000), vc, 1).unwrap_err();
    assert!(e.to_string().contains("65535"), "{e}");
}

#[test]
fn sep_tampered_pixel_with_crcs_fixed_is_a_tag_mismatch_on_that_packet() {
    let cap = protect(&plain(), Protocol::Sep, TagMode::PerMessage);
    let row = row_of(&cap, DataType::RAW12, 3);
    let bad = tamper(&cap, row, true);
    let a = analyse(&bad);
    assert!(!a.passed());
    assert_eq!(a.rows[row].verdict, Verdict::TagMismatch);
    let failing: Vec<usize> = a
        .rows
        .iter()
        .filter(|r| !r.verdict.is_ok())
        .map(|r| r.packet.index)
        .collect();
    assert_eq!(failing, vec![row], "only the tampered packet fails");
    assert_eq!(a.recovered_packets, capture::scan(&plain()).len() - 1);
    let text = capture::inspect_text(&a, &bad);
    let line = text
        .lines()
        .find(|l| l.split_whitespace().next() == Some(&row.to_string()))
        .unwrap();
    assert!(line.contains("TAG MISMATCH"), "{line}");
    // Wrapped to a width, no line is wider, and the failing row is still found.
    for w in [70u16, 100] {
        let t = capture::inspect_text_width(&a, &bad, Some(w));
        let table = t.strip_suffix(&capture::summary(&a)).unwrap();
        for l in table.lines() {
            assert!(l.chars().count() <= usize::from(w), "{w}: {l:?}");
        }
        assert!(
            t.lines()
                .any(|l| l.split_whitespace().next() == Some(&row.to_string())),
            "{t}"
        );
    }
}

#[test]
fn tampered_pixel_with_crc_left_wrong_is_named_as_a_crc_error() {
    for (protocol, mode) in [
        (Protocol::Sep, TagMode::PerMessage),
        (Protocol::Sep, TagMode::PerFrame),
        (Protocol::Fsed, TagMode::PerFrame),
    ] {
        let cap = protect(&plain(), protocol, mode);
        let row = row_of(&cap, DataType::RAW12, 2);
        let bad = tamper(&cap, row, false);
        let a = analyse(&bad);
        assert!(!a.passed());
        assert!(
            matches!(a.rows[row].packet.framing, Framing::CrcMismatch { .. }),
            "{protocol:?}"
        );
        assert!(
            matches!(a.rows[row].verdict, Verdict::Crc(_)),
            "{protocol:?} {mode:?}: {:?}",
            a.rows[row].verdict
        );
        // Structural inspection without keys names it too.
        let s = capture::analyse(&bad, None, None, POLICY).unwrap();
        assert!(matches!(s.rows[row].verdict, Verdict::Crc(_)));
        assert!(!s.passed());
    }
}

#[test]
fn fsed_scope_failure_is_attributed_to_the_record_with_the_covered_range() {
    let cap = protect(&plain(), Protocol::Fsed, TagMode::PerFrame);
    let row = row_of(&cap, DataType::RAW12, 4);
    let bad = tamper(&cap, row, true);
    let a = analyse(&bad);
    assert!(!a.passed());
    let (rec, covered) = a
        .rows
        .iter()
        .find_map(|r| match &r.verdict {
            Verdict::ScopeFailed { covered } => Some((r.packet.index, covered.clone())),
            _ => None,
        })
        .expect("a failing record");
    assert!(rec > row);
    assert!(covered.contains(&row), "{covered:?}");
    assert!(matches!(
        &a.rows[row].verdict,
        Verdict::Discarded { record: Some(r), .. } if *r == rec
    ));
    // The second frame is untouched and still verifies.
    assert_eq!(a.frames_clean, 1);
    let json = capture::inspect_json(&a, &bad);
    let report: capture::InspectReport = serde_json::from_str(&json).unwrap();
    let obj = &report.packets[rec];
    assert_eq!(obj.index, rec);
    assert_eq!(obj.verdict, "SCOPE TAG MISMATCH", "{obj:?}");
    assert!(!obj.ok);
    assert_eq!(obj.covered.as_deref(), Some(&covered[..]), "{obj:?}");
    assert_eq!(report.packets[row].record, Some(rec));
    // The report round-trips through its serde types unchanged, and it is what the typed
    // builder returns.
    assert_eq!(report, capture::inspect_report(&a, &bad, None));
    let again: capture::InspectReport =
        serde_json::from_str(&serde_json::to_string(&report).unwrap()).unwrap();
    assert_eq!(again, report);
    // Field names are the schema: an unknown member is refused, a missing one too.
    let mut v: serde_json::Value = serde_json::from_str(&json).unwrap();
    v["extra"] = serde_json::Value::Bool(true);
    assert!(serde_json::from_value::<capture::InspectReport>(v.clone()).is_err());
    let obj = v.as_object_mut().unwrap();
    obj.remove("extra");
    obj.remove("frames_clean");
    assert!(serde_json::from_value::<capture::InspectReport>(v).is_err());
}

#[test]
fn sep_per_frame_tag_failure_lands_on_the_close_record() {
    let cap = protect(&plain(), Protocol::Sep, TagMode::PerFrame);
    let row = row_of(&cap, DataType::RAW12, 1);
    let a = analyse(&tamper(&cap, row, true));
    assert!(!a.passed());
    let failed: Vec<_> = a
        .rows
        .iter()
        .filter_map(|r| match &r.verdict {
            Verdict::ScopeFailed { covered } => Some(covered.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(failed.len(), 1);
    assert!(failed[0].contains(&row));
    assert!(matches!(a.rows[row].verdict, Verdict::Discarded { .. }));
}

#[test]
fn wrong_key_fails_everything() {
    for (protocol, mode) in [
        (Protocol::Sep, TagMode::PerMessage),
        (Protocol::Fsed, TagMode::PerDataType),
    ] {
        let cap = protect(&plain(), protocol, mode);
        let other = KeyFile::parse(OTHER_KEYS).unwrap();
        let a = capture::analyse(&cap, Some(&other), None, POLICY).unwrap();
        assert!(!a.passed());
        assert_eq!(a.good_rows(), 0, "{protocol:?}");
        assert!(a.recovered.is_empty());
    }
}

#[test]
fn every_truncation_is_reported_never_dropped() {
    for protocol in [Protocol::Sep, Protocol::Fsed] {
        let cap = protect(&plain(), protocol, TagMode::PerDataType);
        let ends: Vec<usize> = capture::scan(&cap)
            .iter()
            .map(|p| p.offset + p.len)
            .collect();
        for n in 1..cap.len() {
            let a = analyse(&cap[..n]);
            let total: usize = a.rows.iter().map(|r| r.packet.len).sum();
            assert_eq!(total, n);
            if !ends.contains(&n) {
                let last = a.rows.last().unwrap();
                assert!(matches!(last.verdict, Verdict::Malformed(_)), "{n}");
                assert!(!a.passed());
            }
        }
    }
    // Protecting a truncated plain capture fails cleanly.
    let input = plain();
    for n in 1..input.len() {
        let opts = ProtectOptions {
            protocol: Protocol::Sep,
            config: config(SecurityVariant::FullIntegrity, TagMode::PerMessage),
            vc: None,
            first_frame: 1,
        };
        let r = capture::protect(&input[..n], &keys(), &opts);
        if n != input.len() / 2 {
            assert!(r.is_err(), "{n}");
        }
    }
}

#[test]
fn garbage_and_empty_inputs_give_errors() {
    assert!(matches!(
        capture::analyse(&[], Some(&keys()), None, POLICY),
        Err(CaptureError::Empty)
    ));
    let junk: Vec<u8> = (0..4000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let a = capture::analyse(&junk, Some(&keys()), Some(Protocol::Sep), POLICY).unwrap();
    assert!(!a.passed());
    let a = capture::analyse(&junk, Some(&keys()), None, POLICY);
    assert!(a.is_err() || !a.unwrap().passed());
    let opts = ProtectOptions {
        protocol: Protocol::Fsed,
        config: config(SecurityVariant::FullIntegrity, TagMode::PerFrame),
        vc: None,
        first_frame: 1,
    };
    assert!(capture::protect(&junk, &keys(), &opts).is_err());
    assert!(matches!(
        capture::protect(&[], &keys(), &opts),
        Err(CaptureError::Empty)
    ));
    // A plain capture given to verify: not protected.
    let a = analyse(&plain());
    assert_eq!(a.protocol, None);
    assert!(!a.passed());
    // A protected capture given to protect again.
    let e = capture::protect(
        &protect(&plain(), Protocol::Sep, TagMode::PerMessage),
        &keys(),
        &opts,
    )
    .unwrap_err();
    assert!(e.to_string().contains("already protected"), "{e}");
}

#[test]
fn a_key_that_does_not_fit_the_suite_is_refused() {
    let short =
        KeyFile::parse("key = 000102030405060708090a0b0c0d0e0f\nsalt = 000000000000000000000000")
            .unwrap();
    let opts = ProtectOptions {
        protocol: Protocol::Sep,
        config: config(SecurityVariant::FullIntegrityEncrypted, TagMode::PerMessage),
        vc: None,
        first_frame: 1,
    };
    let e = capture::protect(&plain(), &short, &opts).unwrap_err();
    assert!(e.to_string().contains("32-byte key"), "{e}");
}

// ---- the binary ----

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("cse-capture-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }

    fn path(&self, f: &str) -> String {
        self.0.join(f).to_string_lossy().into_owned()
    }

    fn write(&self, f: &str, b: &[u8]) -> String {
        let p = self.path(f);
        std::fs::write(&p, b).unwrap();
        p
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn cse(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cse"))
        .args(args)
        .output()
        .unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn binary_protect_verify_round_trip_and_tampered_capture() {
    let d = Dir::new("bin");
    let keys = d.write("k.txt", KEYS.as_bytes());
    let input = d.write("plain.cap", &plain());
    for (protocol, mode) in [("sep", "message"), ("fsed", "frame")] {
        let prot = d.path(&format!("{protocol}.cap"));
        let o = cse(&[
            "protect",
            "--in",
            &input,
            "--out",
            &prot,
            "--keys",
            &keys,
            "--protocol",
            protocol,
            "--tag-mode",
            mode,
        ]);
        assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
        let back = d.path(&format!("{protocol}.back"));
        let o = cse(&["verify", "--in", &prot, "--keys", &keys, "--out", &back]);
        assert_eq!(code(&o), 0, "{}", stdout(&o));
        assert!(stdout(&o).contains("PASS"));
        assert_eq!(std::fs::read(&back).unwrap(), plain());

        let cap = std::fs::read(&prot).unwrap();
        let row = row_of(&cap, DataType::RAW12, 3);
        let bad = d.write("bad.cap", &tamper(&cap, row, true));
        let o = cse(&["verify", "--in", &bad, "--keys", &keys]);
        assert_eq!(code(&o), 1, "{}", stdout(&o));
        assert!(stdout(&o).contains("FAIL"));
        let o = cse(&["inspect", "--in", &bad, "--keys", &keys]);
        assert_eq!(code(&o), 1);
        let out = stdout(&o);
        let line = |i: usize| {
            out.lines()
                .find(|l| l.split_whitespace().next() == Some(&i.to_string()))
                .unwrap()
                .to_owned()
        };
        if protocol == "sep" {
            assert!(line(row).contains("TAG MISMATCH"), "{}", line(row));
            assert!(
                stdout(&cse(&["verify", "--in", &bad, "--keys", &keys]))
                    .contains(&format!("packet {row} at byte"))
            );
        } else {
            assert!(line(row).contains("discarded"), "{}", line(row));
            assert!(out.contains("SCOPE TAG MISMATCH"));
        }
        let crc = d.write("crc.cap", &tamper(&cap, row, false));
        let o = cse(&["inspect", "--in", &crc, "--json"]);
        assert_eq!(code(&o), 1);
        let json = stdout(&o);
        let report: capture::InspectReport = serde_json::from_str(&json).unwrap();
        let obj = &report.packets[row];
        assert_eq!(obj.crc, "BAD", "{obj:?}");
        assert_eq!(obj.verdict, "CRC MISMATCH", "{obj:?}");
        assert!(!report.passed);
        assert!(report.pcapng.is_none());
    }
}

#[test]
fn inspect_into_a_closed_pipe_ends_without_a_panic() {
    // `cse inspect ... | head` closes the pipe early; printing must not abort the process.
    let d = Dir::new("pipe");
    let keys = d.write("k.txt", KEYS.as_bytes());
    let cap = d.write(
        "p.cap",
        &protect(&plain(), Protocol::Sep, TagMode::PerMessage),
    );
    let mut child = Command::new(env!("CARGO_BIN_EXE_cse"))
        .args(["inspect", "--in", &cap, "--keys", &keys])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader is gone before anything is written
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(o.status.code(), Some(0), "{err}");
}

#[test]
fn binary_raw_input() {
    let d = Dir::new("raw");
    let keys = d.write("k.txt", KEYS.as_bytes());
    let raw: Vec<u8> = (0..15 * 4 * 2).map(|i| i as u8).collect();
    let rawf = d.write("img.raw", &raw);
    let prot = d.path("p.cap");
    let o = cse(&[
        "protect", "--in", &rawf, "--raw12", "--width", "10", "--height", "4", "--out", &prot,
        "--keys", &keys,
    ]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(code(&cse(&["verify", "--in", &prot, "--keys", &keys])), 0);
    let o = cse(&[
        "protect", "--in", &rawf, "--raw12", "--width", "12", "--height", "4", "--out", &prot,
        "--keys", &keys, "--force",
    ]);
    assert_eq!(code(&o), 2);
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a whole number"));
}

#[test]
fn binary_bad_arguments_and_files_exit_2() {
    let d = Dir::new("args");
    let keys = d.write("k.txt", KEYS.as_bytes());
    let empty = d.write("empty.cap", b"");
    let cap = d.write(
        "p.cap",
        &protect(&plain(), Protocol::Sep, TagMode::PerMessage),
    );
    let missing = d.path("missing.cap");
    let badkeys = d.write("bad.txt", b"key = 00\nsalt = 00\n");
    for args in [
        vec!["verify"],
        vec!["verify", "--in", &cap],
        vec!["verify", "--in", &cap, "--keys", &keys, "--bogus"],
        vec!["verify", "--in", &cap, "--keys", &keys, "--protocol", "xyz"],
        vec!["verify", "--in", &cap, "--keys", &keys, "--min-sv", "9"],
        vec!["verify", "--in", &missing, "--keys", &keys],
        vec!["verify", "--in", &empty, "--keys", &keys],
        vec!["verify", "--in", &cap, "--keys", &badkeys],
        vec!["verify", "--in", &cap, "--keys", &missing],
        vec!["inspect"],
        vec!["inspect", "--in", &empty],
        vec!["protect", "--in", &cap, "--keys", &keys],
        vec![
            "protect", "--in", &cap, "--out", &missing, "--keys", &keys, "--sv", "3",
        ],
        vec![
            "protect",
            "--in",
            &cap,
            "--out",
            &missing,
            "--keys",
            &keys,
            "--tag-len",
            "4",
        ],
        vec![
            "protect", "--in", &cap, "--out", &missing, "--keys", &keys, "--raw10",
        ],
        vec![
            "protect", "--in", &cap, "--out", &missing, "--keys", &keys, "--width", "8",
        ],
        vec![
            "protect",
            "--in",
            &cap,
            "--out",
            &missing,
            "--keys",
            &keys,
            "--protocol",
            "fsed",
            "--tag-mode",
            "message",
        ],
        vec!["keygen"],
        vec!["keygen", "--out", &keys],
    ] {
        let o = cse(&args);
        assert_eq!(
            code(&o),
            2,
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!err.contains("panicked"), "{err}");
        assert!(!err.contains("000102030405"), "key bytes leaked: {err}");
    }
    // A protected capture fed to protect again: refused (exit 1), nothing written.
    let out = d.path("again.cap");
    let o = cse(&["protect", "--in", &cap, "--out", &out, "--keys", &keys]);
    assert_eq!(code(&o), 1);
    assert!(!std::path::Path::new(&out).exists());
    // Garbage: verify runs and fails (exit 1), never panics.
    let junk = d.write("junk.cap", &[0xA5; 100]);
    let o = cse(&[
        "verify",
        "--in",
        &junk,
        "--keys",
        &keys,
        "--protocol",
        "sep",
    ]);
    assert_eq!(code(&o), 1);
    let o = cse(&["inspect", "--in", &junk]);
    assert_eq!(code(&o), 1);
    assert!(stdout(&o).contains("MALFORMED"));
}

#[test]
fn binary_keygen_writes_a_usable_key_file() {
    let d = Dir::new("keygen");
    let k = d.path("new.txt");
    let o = cse(&["keygen", "--out", &k, "--bits", "128", "--key-id", "2"]);
    assert_eq!(code(&o), 0);
    let kf = KeyFile::read(&k).unwrap();
    assert_eq!(kf.key_id().get(), 2);
    assert!(!stdout(&o).contains("key ="));
    let input = d.write("plain.cap", &plain());
    let prot = d.path("p.cap");
    let o = cse(&[
        "protect", "--in", &input, "--out", &prot, "--keys", &k, "--sv", "2",
    ]);
    assert_eq!(code(&o), 0, "{}", String::from_utf8_lossy(&o.stderr));
    assert!(stdout(&o).contains("AES-128-GMAC"));
    assert_eq!(code(&cse(&["verify", "--in", &prot, "--keys", &k])), 0);
}

#[test]
fn every_single_payload_bit_flip_is_caught() {
    for (protocol, mode) in [
        (Protocol::Sep, TagMode::PerDataType),
        (Protocol::Fsed, TagMode::PerFrame),
    ] {
        let cap = protect(&plain(), protocol, mode);
        let header_bytes: Vec<usize> = capture::scan(&cap)
            .iter()
            .flat_map(|p| p.offset..p.offset + 4)
            .collect();
        for at in (0..cap.len()).filter(|i| !header_bytes.contains(i)) {
            let mut bad = cap.clone();
            bad[at] ^= 0x01;
            let a = analyse(&bad);
            assert!(!a.passed(), "{protocol:?}: flip at byte {at} not caught");
            let named = a
                .rows
                .iter()
                .find(|r| (r.packet.offset..r.packet.offset + r.packet.len).contains(&at))
                .unwrap();
            assert!(
                matches!(named.verdict, Verdict::Crc(_)),
                "{at}: {:?}",
                named.verdict
            );
        }
    }
}

#[test]
fn protecting_twice_never_reuses_a_keystream_and_both_captures_verify() {
    for (protocol, mode) in [
        (Protocol::Sep, TagMode::PerMessage),
        (Protocol::Fsed, TagMode::PerDataType),
    ] {
        let input = plain();
        let (a, b) = (
            protect(&input, protocol, mode),
            protect(&input, protocol, mode),
        );
        assert_eq!(a.len(), b.len(), "{protocol:?}: same geometry");
        // Each starts with its capture header, and the nonces differ.
        let (pa, pb) = (capture::scan(&a), capture::scan(&b));
        let na = capture::capture_nonce(&pa[0], &a).unwrap();
        let nb = capture::capture_nonce(&pb[0], &b).unwrap();
        assert_ne!(na, nb);
        assert_eq!(pa[0].repr.unwrap().data_type, capture::HEADER_DT);
        // The XOR of the two captures is not the XOR of their pixels (which is all zero here:
        // same input): no packet carrying pixels (SEP-wrapped, or an FSED original encrypted
        // in place) repeats between the two. (FSED's frame headers are clear and may repeat.)
        let p = Profile::DRAFT_1;
        let mut pixel_packets = 0;
        for (x, y) in pa.iter().zip(&pb).skip(1) {
            assert_eq!((x.offset, x.len), (y.offset, y.len));
            let dt = x.repr.unwrap().data_type;
            // Packets that carry a 96-byte line (not the wrapped FS/FE/embedded packets).
            if (dt == DataType::RAW12 || dt == p.dt_sep) && x.len > 96 {
                pixel_packets += 1;
                let (px, py) = (&x.bytes(&a)[4..x.len - 2], &y.bytes(&b)[4..y.len - 2]);
                let same = px.iter().zip(py).filter(|(u, v)| u == v).count();
                // Random bytes agree in about 1 of 256 places; SEP's clear header repeats.
                assert!(
                    same < px.len() / 3,
                    "{protocol:?}: {same} of {} bytes repeat",
                    px.len()
                );
            }
        }
        assert!(pixel_packets >= 8, "{protocol:?}: {pixel_packets}");
        let diff = a.iter().zip(&b).filter(|(x, y)| x != y).count();
        assert!(diff > a.len() / 2, "{protocol:?}: only {diff} bytes differ");
        // Both verify and give the input back, bit-exact.
        for cap in [&a, &b] {
            let r = analyse(cap);
            assert!(r.passed(), "{protocol:?}: {:?}", r.findings);
            assert_eq!(r.rows[0].verdict, Verdict::CaptureHeader);
            assert_eq!(r.recovered, input);
        }
    }
}

#[test]
fn a_changed_capture_nonce_makes_every_packet_fail_and_inspect_without_keys_still_works() {
    let cap = protect(&plain(), Protocol::Sep, TagMode::PerMessage);
    // The nonce is payload bytes 16..32 of the first packet: flip one, fix the CRC-16.
    let mut bad = cap.clone();
    bad[4 + 20] ^= 0x01;
    let crc = payload_crc(&bad[4..36]);
    bad[36..38].copy_from_slice(&crc.to_le_bytes());
    let a = analyse(&bad);
    assert!(!a.passed());
    assert_eq!(a.good_rows(), 0);
    assert!(a.recovered.is_empty());
    // The header without the nonce record: verified under the key file's own keys, which
    // are not the capture's.
    let headless = &cap[38..];
    let a = analyse(headless);
    assert!(!a.passed());
    assert_eq!(a.good_rows(), 0);
    // Without keys: the header is listed for what it is, every packet is still read.
    let a = capture::analyse(&cap, None, None, POLICY).unwrap();
    assert_eq!(a.rows[0].verdict, Verdict::CaptureHeader);
    assert_eq!(a.rows.len(), capture::scan(&cap).len());
    assert!(
        a.rows[1..]
            .iter()
            .all(|r| matches!(r.verdict, Verdict::NotVerified(_)))
    );
    let text = capture::inspect_text(&a, &cap);
    assert!(text.contains("capture header"), "{text}");
}

#[test]
fn the_same_nonce_gives_the_same_capture_and_another_one_another() {
    // protect_with_nonce is the reproducible path (hazmat): determinism is what makes the
    // per-capture nonce the only thing that separates two runs.
    let opts = ProtectOptions {
        protocol: Protocol::Sep,
        config: config(SecurityVariant::FullIntegrityEncrypted, TagMode::PerMessage),
        vc: None,
        first_frame: 7,
    };
    let n1 = [0x11u8; capture::CAPTURE_NONCE_LEN];
    let mut n2 = n1;
    n2[15] ^= 0x80;
    let a = capture::protect_with_nonce(&plain(), &keys(), &opts, &n1).unwrap();
    let b = capture::protect_with_nonce(&plain(), &keys(), &opts, &n1).unwrap();
    let c = capture::protect_with_nonce(&plain(), &keys(), &opts, &n2).unwrap();
    assert_eq!(a, b);
    assert_ne!(a[38..], c[38..]);
    assert_eq!(&a[4..20], capture::HEADER_MAGIC);
    assert_eq!(a[20..36], n1);
    assert!(analyse(&a).passed() && analyse(&c).passed());
}

/// A frame cut short in the capture (its second half, FE included, missing), then a genuine
/// frame: the findings of the cut frame (given up when the next starts, its scopes failed)
/// name the cut frame's counter, and the next frame counts as clean and is recovered whole.
#[test]
fn a_frame_cut_short_is_charged_to_itself_not_to_the_next_frame() {
    let scene = Scene::new(64, 6, VirtualChannel::new(1).unwrap());
    let frames: Vec<Vec<u8>> = (1..=3).map(|n| scene.frame(n).unwrap()).collect();
    let input = frames.concat();
    for (protocol, mode) in [
        (Protocol::Sep, TagMode::PerMessage),
        (Protocol::Sep, TagMode::PerFrame),
        (Protocol::Fsed, TagMode::PerFrame),
    ] {
        let cap = protect(&input, protocol, mode);
        let packets = capture::scan(&cap);
        // Frames start at the FS (SEP: the SEP packet wrapping it; FSED: the FS itself).
        let (fs2, fs3) = (
            row_of(&cap, DataType(0x00), 1),
            row_of(&cap, DataType(0x00), 2),
        );
        let cut_at = packets[fs2 + (fs3 - fs2) / 2].offset;
        let cut = [&cap[..cut_at], &cap[packets[fs3].offset..]].concat();
        let a = analyse(&cut);
        assert_eq!(a.frames, 3, "{protocol:?} {mode:?}");
        assert_eq!(a.frames_clean, 2, "{protocol:?} {mode:?}: {:?}", a.findings);
        assert!(!a.findings.is_empty());
        // Frame counters 7, 8, 9 (`first_frame: 7`): every finding is about frame 8.
        for f in &a.findings {
            assert_eq!(f.frame, Some(8), "{protocol:?} {mode:?}: {f:?}");
        }
        assert!(
            a.recovered.ends_with(&frames[2]),
            "{protocol:?} {mode:?}: frame 3 recovered whole"
        );
        let text = capture::summary(&a);
        assert!(!text.contains("(frame 9)"), "{text}");
    }
}

/// `cse verify --out` after one header bit flipped in any packet of a protected capture (the
/// ECC corrects it; see below for the bits it does not): the capture passes and the recovered packets are the originals,
/// bit-exact, under SEP and FSED (SV-1 and SV-2, every tag mode).
#[test]
fn recovered_packets_are_bit_exact_after_any_corrected_header_bit() {
    let input = plain();
    let mut wrong = Vec::new();
    for (protocol, modes) in [
        (
            Protocol::Sep,
            &[TagMode::PerMessage, TagMode::PerDataType, TagMode::PerFrame][..],
        ),
        (
            Protocol::Fsed,
            &[TagMode::PerDataType, TagMode::PerFrame][..],
        ),
    ] {
        for &mode in modes {
            for sv in [
                SecurityVariant::FullIntegrityEncrypted,
                SecurityVariant::FullIntegrity,
            ] {
                let opts = ProtectOptions {
                    protocol,
                    config: config(sv, mode),
                    vc: None,
                    first_frame: 7,
                };
                let cap = capture::protect(&input, &keys(), &opts).unwrap();
                let packets = capture::scan(&cap);
                // Packet 0 is the capture header (the nonce), not a packet of the stream.
                for pk in &packets[1..] {
                    // Not the 2 reserved bits (outside the ECC: refused as malformed), nor a
                    // bit that changes the packet's length as its header reads before the
                    // correction (a word-count bit of a long packet, a data-type bit that
                    // makes a long type short or back): the receivers check a packet's length
                    // against its header as received, and refuse it. Both fail safe.
                    let dt = cap[pk.offset] & 0x3F;
                    let same_len = |b: &usize| {
                        let flipped_dt = if *b < 6 { dt ^ (1 << b) } else { dt };
                        (flipped_dt < 0x10) == (dt < 0x10) && (pk.len == 4 || !(8..24).contains(b))
                    };
                    for bit in (0..30).filter(same_len) {
                        let mut c = cap.clone();
                        c[pk.offset + bit / 8] ^= 1 << (bit % 8);
                        let a = analyse(&c);
                        if !a.passed() || a.recovered != input {
                            wrong.push(format!(
                                "{protocol:?} {mode:?} {sv:?}: packet {} bit {bit}: passed {}, \
                                 bit-exact {}",
                                pk.index,
                                a.passed(),
                                a.recovered == input
                            ));
                        }
                    }
                }
            }
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}
