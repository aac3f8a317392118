//! Outsider round 4: key material never reaches the output of `cse`, whatever a key file
//! holds and whichever output mode runs (protect, verify, inspect, inspect --json), and the
//! `Debug` of the parsed key file names nothing secret.
//!
//! A key file is a secret (docs/capture.md section 3: "The message never contains the
//! value"). A line whose key bytes ended up left of the `=` (a pasted key with a stray
//! `= ...`, a name glued to the hex) is still the key: the error that names the line must not
//! echo it.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::PathBuf;
use std::process::Command;

const KEY: &str = "e1d2382ec76e7c176da80932c4f6534ebba151a0ff45d5c410eee50ea5ca6827";
const SALT: &str = "3bc9d8d084e9d801e45b8f21";
const MAC: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00112233445566778899aabbccddeeff0";

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cse-outsider4-keyleak-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn cse(args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_cse"))
        .args(args)
        .output()
        .expect("run cse");
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    (out.status.code().unwrap_or(-1), text)
}

/// Every 6-hex-digit window of every secret: none may appear in `text` (case-insensitive).
fn assert_no_secret(text: &str, what: &str) {
    let lower = text.to_ascii_lowercase();
    for secret in [KEY, SALT, MAC] {
        for w in 0..=secret.len() - 6 {
            let piece = &secret[w..w + 6];
            assert!(
                !lower.contains(piece),
                "{what}: output holds secret bytes `{piece}`:\n{text}"
            );
        }
    }
}

/// A plain two-frame RAW12 capture to protect (16x4 pixels per frame).
fn raw_input() -> PathBuf {
    let p = tmp("img.raw");
    let bytes: Vec<u8> = (0..2 * 4 * 24).map(|i| (i * 7 + 3) as u8).collect();
    std::fs::write(&p, bytes).unwrap();
    p
}

const RAW: [&str; 6] = ["--raw12", "--width", "16", "--height", "4", "--force"];

#[test]
fn key_bytes_in_a_bad_key_file_line_are_never_echoed() {
    let input = raw_input();
    let out = tmp("o.sep");
    let bad_lines = [
        format!("{KEY} = 1"),
        format!("{KEY}={KEY}"),
        format!("k{KEY} = 3"),
        format!("key{KEY} = 0"),
        format!("key {KEY} = x"),
        format!("{SALT} = salt"),
        format!("mac{MAC} = 1"),
        KEY.to_string(),
        format!("key = {KEY}zz"),
        format!("key = {KEY}0"),
        format!("salt = {KEY}"),
        format!("key_id = {KEY}"),
        format!("mac_key = {SALT}"),
        format!("key = {KEY}{KEY}"),
    ];
    for (i, line) in bad_lines.iter().enumerate() {
        let kf = tmp(&format!("bad{i}.txt"));
        std::fs::write(
            &kf,
            format!("# bench\n{line}\nkey = {KEY}\nsalt = {SALT}\n"),
        )
        .unwrap();
        let (code, text) = cse(&[
            "protect",
            "--in",
            input.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--keys",
            kf.to_str().unwrap(),
            RAW[0],
            RAW[1],
            RAW[2],
            RAW[3],
            RAW[4],
            RAW[5],
        ]);
        assert_eq!(
            code, 2,
            "line {line:?} must be refused as bad input:\n{text}"
        );
        assert!(text.contains("line 2"), "the error names the line: {text}");
        assert_no_secret(&text, &format!("protect with line {line:?}"));
        for cmd in ["verify", "inspect"] {
            let (code, text) = cse(&[
                cmd,
                "--in",
                input.to_str().unwrap(),
                "--keys",
                kf.to_str().unwrap(),
            ]);
            assert_eq!(code, 2, "{cmd} with line {line:?}: {text}");
            assert_no_secret(&text, &format!("{cmd} with line {line:?}"));
        }
    }
    // A typo in a real name is still named (the message stays useful).
    let kf = tmp("typo.txt");
    std::fs::write(&kf, format!("key = {KEY}\nsalt = {SALT}\nkeyid = 1\n")).unwrap();
    let (code, text) = cse(&[
        "inspect",
        "--in",
        input.to_str().unwrap(),
        "--keys",
        kf.to_str().unwrap(),
    ]);
    assert_eq!(code, 2);
    assert!(text.contains("unknown name `keyid`"), "{text}");
}

#[test]
fn no_output_mode_prints_key_material() {
    let input = raw_input();
    let kf = tmp("good.txt");
    std::fs::write(
        &kf,
        format!("key = {KEY}\nmac_key = {MAC}\nsalt = {SALT}\nkey_id = 2\n"),
    )
    .unwrap();
    for (proto, suite, sv) in [
        ("sep", "AES-256-CTR+CMAC", "1"),
        ("fsed", "AES-256-CMAC", "2"),
    ] {
        let prot = tmp(&format!("p.{proto}"));
        let (code, text) = cse(&[
            "protect",
            "--in",
            input.to_str().unwrap(),
            "--out",
            prot.to_str().unwrap(),
            "--keys",
            kf.to_str().unwrap(),
            "--protocol",
            proto,
            "--suite",
            suite,
            "--sv",
            sv,
            RAW[0],
            RAW[1],
            RAW[2],
            RAW[3],
            RAW[4],
            RAW[5],
        ]);
        assert_eq!(code, 0, "{text}");
        assert_no_secret(&text, "protect");
        let plain = tmp(&format!("plain.{proto}"));
        let _ = std::fs::remove_file(&plain);
        let (code, text) = cse(&[
            "verify",
            "--in",
            prot.to_str().unwrap(),
            "--keys",
            kf.to_str().unwrap(),
            "--out",
            plain.to_str().unwrap(),
        ]);
        assert_eq!(code, 0, "{text}");
        assert_no_secret(&text, "verify");
        for json in [false, true] {
            let mut args = vec![
                "inspect",
                "--in",
                prot.to_str().unwrap(),
                "--keys",
                kf.to_str().unwrap(),
            ];
            if json {
                args.push("--json");
            }
            let (code, text) = cse(&args);
            assert_eq!(code, 0, "{text}");
            assert_no_secret(&text, "inspect");
        }
        // A forged packet: the failure report names no secret either.
        let mut bytes = std::fs::read(&prot).unwrap();
        let n = bytes.len();
        bytes[n / 2] ^= 0x10;
        let forged = tmp(&format!("forged.{proto}"));
        std::fs::write(&forged, bytes).unwrap();
        for cmd in ["verify", "inspect"] {
            let (code, text) = cse(&[
                cmd,
                "--in",
                forged.to_str().unwrap(),
                "--keys",
                kf.to_str().unwrap(),
            ]);
            assert_eq!(code, 1, "{text}");
            assert_no_secret(&text, cmd);
        }
    }
}

#[test]
fn debug_of_a_key_file_and_its_capture_keys_names_nothing_secret() {
    let kf = cse_link::capture::KeyFile::parse(&format!(
        "key = {KEY}\nmac_key = {MAC}\nsalt = {SALT}\nkey_id = 1\n"
    ))
    .unwrap();
    let dbg = format!("{kf:?} {kf:#?}");
    assert_no_secret(&dbg, "Debug of KeyFile");
    let derived = kf
        .for_capture(&[0x55; cse_link::capture::CAPTURE_NONCE_LEN])
        .unwrap();
    let dbg2 = format!("{derived:?}");
    assert_eq!(dbg.split(' ').next(), dbg2.split(' ').next());
    assert_no_secret(&dbg2, "Debug of the capture keys");
    // The parse error of a line holding the key says nothing of it either.
    let err =
        cse_link::capture::KeyFile::parse(&format!("key{KEY} = 1\nkey = {KEY}\nsalt = {SALT}\n"))
            .unwrap_err();
    assert_no_secret(&format!("{err} {err:?}"), "KeyFile parse error");
}
