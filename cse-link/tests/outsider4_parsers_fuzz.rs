//! Outsider round 4: no input makes a parser of `cse-link` panic. Random bytes and mutations of
//! genuine files go into every reader the tool has (raw captures, pcapng of ASAM CMP, key
//! files, PSK records, CSRs) through the library and through the `cse` binary, whose exit
//! status must then be 1 or 2 (docs/capture.md section 5), never a crash.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::PathBuf;
use std::process::Command;

use cse_core::{Policy, SvLevel};
use cse_link::capture::{self, KeyFile};
use cse_link::provision::PskRecord;

const KEYS: &str = "key = 000102030405060708090a0b0c0d0e0f\nsalt = a0a1a2a3a4a5a6a7a8a9aaab\n";

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
    /// One of: flip bits, overwrite a run, truncate, insert, duplicate a run.
    fn mutate(&mut self, base: &[u8]) -> Vec<u8> {
        let mut b = base.to_vec();
        for _ in 0..1 + self.below(4) {
            if b.is_empty() {
                b = self.bytes(8);
            }
            let at = self.below(b.len());
            match self.below(6) {
                0 => b[at] ^= 1 << self.below(8),
                1 => {
                    let n = self.below(16).min(b.len() - at);
                    let r = self.bytes(n);
                    b[at..at + n].copy_from_slice(&r);
                }
                2 => b.truncate(at),
                3 => {
                    let n = 1 + self.below(8);
                    let r = self.bytes(n);
                    b.splice(at..at, r);
                }
                4 => {
                    let n = self.below(64).min(b.len() - at);
                    let dup = b[at..at + n].to_vec();
                    b.splice(at..at, dup);
                }
                _ => b[at] = [0x00, 0xff, 0x7f, 0x80][self.below(4)],
            }
        }
        b
    }
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("cse-outsider4-fuzz-{}", std::process::id()));
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

fn policy(min: u8) -> Policy {
    let m = SvLevel::try_from(min).unwrap();
    Policy {
        min_top: m,
        min_image: m,
        min_bottom: m,
    }
}

/// Genuine protected captures, raw and pcapng, SEP and FSED, made by the binary.
fn seeds() -> Vec<Vec<u8>> {
    let keys = tmp("keys.txt");
    std::fs::write(&keys, KEYS).unwrap();
    let raw = tmp("img.raw");
    std::fs::write(
        &raw,
        (0..2 * 4 * 12)
            .map(|i| (i * 5 + 9) as u8)
            .collect::<Vec<u8>>(),
    )
    .unwrap();
    let mut out = Vec::new();
    for (proto, sv, ext) in [
        ("sep", "1", "bin"),
        ("fsed", "1", "bin"),
        ("sep", "2", "pcapng"),
        ("fsed", "5", "pcapng"),
    ] {
        let o = tmp(&format!("seed-{proto}-{sv}.{ext}"));
        let (code, text) = cse(&[
            "protect",
            "--in",
            raw.to_str().unwrap(),
            "--raw12",
            "--width",
            "8",
            "--height",
            "4",
            "--out",
            o.to_str().unwrap(),
            "--keys",
            keys.to_str().unwrap(),
            "--protocol",
            proto,
            "--sv",
            sv,
            "--force",
        ]);
        assert_eq!(code, 0, "{text}");
        out.push(std::fs::read(&o).unwrap());
    }
    // a segmented CMP pcapng
    let o = tmp("seed-mtu.pcapng");
    let (code, text) = cse(&[
        "protect",
        "--in",
        raw.to_str().unwrap(),
        "--raw12",
        "--width",
        "8",
        "--height",
        "4",
        "--out",
        o.to_str().unwrap(),
        "--keys",
        keys.to_str().unwrap(),
        "--cmp-mtu",
        "46",
        "--force",
    ]);
    assert_eq!(code, 0, "{text}");
    out.push(std::fs::read(&o).unwrap());
    out
}

#[test]
fn capture_readers_take_any_bytes() {
    let keys = KeyFile::parse(KEYS).unwrap();
    let seeds = seeds();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..3000 {
        let input = if round % 10 == 0 {
            let n = rng.below(300);
            rng.bytes(n)
        } else {
            let s = &seeds[rng.below(seeds.len())];
            rng.mutate(s)
        };
        // pcapng reader, then the CSI-2 bytes it gives into the raw readers
        let csi2 = if capture::pcapng::is_pcapng(&input) {
            match capture::pcapng::read(&input) {
                Ok(c) => c.csi2,
                Err(_) => continue,
            }
        } else {
            input.clone()
        };
        let rows = capture::scan(&csi2);
        let total: usize = rows.iter().map(|p| p.bytes(&csi2).len()).sum();
        assert_eq!(total, csi2.len(), "scan skips no byte (round {round})");
        for p in &rows {
            let _ = capture::capture_nonce(p, &csi2);
        }
        for min in [2, 5] {
            let _ = capture::analyse(&csi2, Some(&keys), None, policy(min));
        }
        let _ = capture::analyse(&csi2, None, None, policy(2));
    }
}

#[test]
fn text_readers_take_any_bytes() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    let key_seed = format!("{KEYS}mac_key = 00112233445566778899aabbccddeeff\nkey_id = 3\n");
    let psk_seed = "# cse PSK record v1\ndevice-serial: SN-1\npsk-hint: SN-1\npsk: 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";
    for _ in 0..5000 {
        let k = rng.mutate(key_seed.as_bytes());
        let _ = KeyFile::parse(&String::from_utf8_lossy(&k));
        let p = rng.mutate(psk_seed.as_bytes());
        let _ = PskRecord::parse(&String::from_utf8_lossy(&p));
    }
}

#[test]
fn the_binary_exits_1_or_2_on_mangled_files() {
    let seeds = seeds();
    let keys = tmp("keys.txt");
    let mut rng = Rng(0xdead_beef_cafe_f00d);
    for round in 0..60 {
        let input = if round % 6 == 0 {
            let n = rng.below(200);
            rng.bytes(n)
        } else {
            {
                let i = rng.below(seeds.len());
                rng.mutate(&seeds[i])
            }
        };
        let f = tmp(&format!("m{round}.bin"));
        std::fs::write(&f, &input).unwrap();
        let plain = tmp(&format!("m{round}.plain"));
        let _ = std::fs::remove_file(&plain);
        for args in [
            vec![
                "verify",
                "--in",
                f.to_str().unwrap(),
                "--keys",
                keys.to_str().unwrap(),
                "--out",
                plain.to_str().unwrap(),
            ],
            vec![
                "inspect",
                "--in",
                f.to_str().unwrap(),
                "--keys",
                keys.to_str().unwrap(),
                "--json",
                "--min-sv",
                "5",
            ],
            vec!["inspect", "--in", f.to_str().unwrap()],
        ] {
            let (code, text) = cse(&args);
            assert!(!text.contains("panicked"), "{args:?}: {text}");
            assert!(
                code == 0 || code == 1 || code == 2,
                "{args:?}: exit {code}: {text}"
            );
            if code == 0 && args[0] == "verify" {
                // exit 0 only for an input that is genuinely a whole capture: then --out holds
                // only packets of some seed's plain form (each one a genuine packet)
                assert!(!std::fs::read(&plain).unwrap_or_default().is_empty());
            }
        }
        // mangled key files and CSRs
        let k = tmp(&format!("k{round}.txt"));
        std::fs::write(&k, rng.mutate(KEYS.as_bytes())).unwrap();
        let (code, text) = cse(&[
            "inspect",
            "--in",
            f.to_str().unwrap(),
            "--keys",
            k.to_str().unwrap(),
        ]);
        assert!(
            !text.contains("panicked") && (1..=2).contains(&code) || code == 0,
            "{text}"
        );
    }
}

#[test]
fn pki_issue_refuses_mangled_csrs_without_a_crash() {
    let ca = tmp("ca");
    let _ = std::fs::remove_dir_all(&ca);
    let (code, text) = cse(&["pki", "init", "--out", ca.to_str().unwrap()]);
    assert_eq!(code, 0, "{text}");
    let key = tmp("dev.key");
    let csr = tmp("dev.csr");
    let _ = std::fs::remove_file(&key);
    let _ = std::fs::remove_file(&csr);
    let (code, text) = cse(&[
        "pki",
        "csr",
        "--cn",
        "cam",
        "--key-out",
        key.to_str().unwrap(),
        "--out",
        csr.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{text}");
    let good = std::fs::read(&csr).unwrap();
    let mut rng = Rng(0x0bad_5eed_0bad_5eed);
    for round in 0..40 {
        let bad = if round % 8 == 0 {
            let n = rng.below(200);
            rng.bytes(n)
        } else {
            rng.mutate(&good)
        };
        if bad == good {
            continue;
        }
        let f = tmp(&format!("bad{round}.csr"));
        std::fs::write(&f, &bad).unwrap();
        let out = tmp(&format!("bad{round}.cert"));
        let _ = std::fs::remove_file(&out);
        let (code, text) = cse(&[
            "pki",
            "issue",
            "--ca",
            ca.to_str().unwrap(),
            "--csr",
            f.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
        ]);
        assert!(!text.contains("panicked"), "{text}");
        // a mutated request either fails its signature / parse (1 or 2) or, when the mutation
        // touched only bytes outside what is signed (a DER length form), is still genuine
        if code == 0 {
            assert!(out.exists());
        } else {
            assert!(code == 1 || code == 2, "exit {code}: {text}");
            assert!(!out.exists(), "nothing written on refusal");
        }
    }
}
