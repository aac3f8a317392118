//! The `cse` command line: `cse demo`'s argument parsing (every flag, every bad value), and the
//! binary itself (exit statuses, usage, and the `--json` report checked with a small JSON
//! parser written here).
#![allow(clippy::unwrap_used, clippy::panic)]

use std::process::Command;

use cse_core::{CipherSuite, KeySize, MacAlgorithm, SecurityVariant, TagMode};
use cse_link::Protocol;
use cse_link::cli::demo::parse;
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
fn every_suite_selects_its_key_family() {
    for s in CipherSuite::ALL {
        for name in [s.name().to_string(), s.name().to_ascii_lowercase()] {
            for sv in ["1", "2"] {
                let (o, _) = ok(&["--suite", &name, "--sv", sv]);
                let img = o.config.image.suite;
                assert_eq!(img.key_size(), s.key_size(), "--suite {name}");
                assert_eq!(img.mac(), s.mac(), "--suite {name}");
                assert_eq!(img.encrypts(), sv == "1", "--suite {name} --sv {sv}");
                // The embedded-data blocks share the key family, integrity only.
                assert_eq!(o.config.top.suite.key_size(), s.key_size());
                assert_eq!(o.config.top.suite.mac(), s.mac());
                assert!(!o.config.top.suite.encrypts());
                o.config.validate().unwrap();
            }
        }
    }
    let (o, _) = ok(&["--suite", "AES-128-CMAC"]);
    assert_eq!(o.config.image.suite, CipherSuite::Aes128CtrCmac);
    assert_eq!(o.config.top.suite, CipherSuite::Aes128Cmac);
    assert_eq!(o.config.image.suite.key_size(), KeySize::Aes128);
    assert_eq!(o.config.image.suite.mac(), MacAlgorithm::Cmac);
}

#[test]
fn tag_modes() {
    for (m, mode) in [
        ("message", TagMode::PerMessage),
        ("datatype", TagMode::PerDataType),
        ("frame", TagMode::PerFrame),
    ] {
        for p in ["sep", "fsed"] {
            let (o, _) = ok(&["--protocol", p, "--tag-mode", m]);
            assert_eq!(o.config.image.tag_mode, mode);
            assert_eq!(o.config.top.tag_mode, mode);
            assert_eq!(o.config.bottom.tag_mode, mode);
        }
    }
}

#[test]
fn frames_and_json() {
    let (o, json) = ok(&["--frames", "7"]);
    assert_eq!(o.frames, 7);
    assert!(!json);
    let (o, json) = ok(&["--json", "--frames", "0"]);
    assert_eq!(o.frames, 0);
    assert!(json);
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
            e.contains(flag) && e.contains("needs a value"),
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
        assert!(e.contains("unknown argument") && e.contains(a), "{a}: {e}");
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
    assert!(err.contains("usage") && err.contains("cse demo"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn help_prints_usage_and_exits_0() {
    for flag in ["--help", "-h", "help"] {
        let out = cse(&[flag]);
        assert_eq!(out.status.code(), Some(0), "{flag}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(
            text.contains("usage") && text.contains("cse demo"),
            "{text}"
        );
    }
}

#[test]
fn demo_with_a_bad_flag_prints_usage_and_exits_2() {
    let out = cse(&["demo", "--bogus"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("--bogus"), "{err}");
    assert!(err.contains("usage: cse demo"), "{err}");
    assert!(out.stdout.is_empty());
    let out = cse(&["demo", "--sv", "4"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn demo_json_report_is_valid_and_passes() {
    let out = cse(&["demo", "--frames", "2", "--json"]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{text}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = Json::parse(text.trim()).unwrap_or_else(|e| panic!("{e}: {text}"));
    assert_eq!(v.get("protocol"), Some(&Json::Str("SEP".into())));
    assert_eq!(v.get("width"), Some(&Json::Num(1920.0)));
    assert_eq!(v.get("height"), Some(&Json::Num(1080.0)));
    assert_eq!(v.get("frames"), Some(&Json::Num(2.0)));
    assert_eq!(v.get("frames_bit_exact"), Some(&Json::Num(2.0)));
    assert_eq!(v.get("key_rollover"), Some(&Json::Bool(true)));
    assert_eq!(v.get("passed"), Some(&Json::Bool(true)));
    for k in ["handshake_ms", "protect_gbps", "verify_gbps"] {
        assert!(matches!(v.get(k), Some(Json::Num(x)) if *x >= 0.0), "{k}");
    }
    let Some(Json::Arr(attacks)) = v.get("attacks") else {
        panic!("no attacks array: {text}");
    };
    assert_eq!(attacks.len(), cse_link::demo::Attack::ALL.len());
    let mut names = Vec::new();
    for a in attacks {
        assert_eq!(a.get("detected"), Some(&Json::Bool(true)), "{a:?}");
        assert_eq!(a.get("attributed"), Some(&Json::Bool(true)), "{a:?}");
        for k in ["attack", "expected", "observed"] {
            assert!(
                matches!(a.get(k), Some(Json::Str(s)) if !s.is_empty()),
                "{k}"
            );
        }
        if let Some(Json::Str(n)) = a.get("attack") {
            names.push(n.clone());
        }
    }
    let want: Vec<String> = cse_link::demo::Attack::ALL
        .iter()
        .map(|a| a.name().to_string())
        .collect();
    assert_eq!(names, want);
}

// ---- a minimal JSON parser (RFC 8259 subset: everything the demo can print) ---------------

#[derive(Clone, Debug, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    fn parse(s: &str) -> Result<Json, String> {
        let mut p = Parser {
            b: s.as_bytes(),
            i: 0,
        };
        let v = p.value(0)?;
        p.ws();
        if p.i != p.b.len() {
            return Err(format!("trailing bytes at {}", p.i));
        }
        Ok(v)
    }

    fn get(&self, key: &str) -> Option<&Json> {
        match self {
            Json::Obj(m) => m.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }
}

struct Parser<'a> {
    b: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while matches!(self.b.get(self.i), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Result<(), String> {
        self.ws();
        if self.b.get(self.i) == Some(&c) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("expected {:?} at {}", c as char, self.i))
        }
    }

    fn lit(&mut self, word: &str, v: Json) -> Result<Json, String> {
        if self.b[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            Ok(v)
        } else {
            Err(format!("bad literal at {}", self.i))
        }
    }

    fn value(&mut self, depth: usize) -> Result<Json, String> {
        if depth > 32 {
            return Err("nested too deep".into());
        }
        self.ws();
        match self.b.get(self.i) {
            Some(b'{') => {
                self.i += 1;
                let mut m = Vec::new();
                self.ws();
                if self.b.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    return Ok(Json::Obj(m));
                }
                loop {
                    self.ws();
                    let k = self.string()?;
                    if m.iter().any(|(x, _)| *x == k) {
                        return Err(format!("duplicate key {k}"));
                    }
                    self.eat(b':')?;
                    let v = self.value(depth + 1)?;
                    m.push((k, v));
                    self.ws();
                    match self.b.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(Json::Obj(m));
                        }
                        _ => return Err(format!("expected , or }} at {}", self.i)),
                    }
                }
            }
            Some(b'[') => {
                self.i += 1;
                let mut a = Vec::new();
                self.ws();
                if self.b.get(self.i) == Some(&b']') {
                    self.i += 1;
                    return Ok(Json::Arr(a));
                }
                loop {
                    a.push(self.value(depth + 1)?);
                    self.ws();
                    match self.b.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(Json::Arr(a));
                        }
                        _ => return Err(format!("expected , or ] at {}", self.i)),
                    }
                }
            }
            Some(b'"') => Ok(Json::Str(self.string()?)),
            Some(b't') => self.lit("true", Json::Bool(true)),
            Some(b'f') => self.lit("false", Json::Bool(false)),
            Some(b'n') => self.lit("null", Json::Null),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(format!("unexpected byte at {}", self.i)),
        }
    }

    fn number(&mut self) -> Result<Json, String> {
        let start = self.i;
        if self.b.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        let digits = |p: &mut Self| {
            let s = p.i;
            while matches!(p.b.get(p.i), Some(b'0'..=b'9')) {
                p.i += 1;
            }
            p.i > s
        };
        let int_start = self.i;
        if !digits(self) {
            return Err(format!("bad number at {start}"));
        }
        if self.b[int_start] == b'0' && self.i - int_start > 1 {
            return Err(format!("leading zero at {start}"));
        }
        if self.b.get(self.i) == Some(&b'.') {
            self.i += 1;
            if !digits(self) {
                return Err(format!("bad fraction at {start}"));
            }
        }
        if matches!(self.b.get(self.i), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.b.get(self.i), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if !digits(self) {
                return Err(format!("bad exponent at {start}"));
            }
        }
        let text = std::str::from_utf8(&self.b[start..self.i]).unwrap();
        text.parse()
            .map(Json::Num)
            .map_err(|e| format!("{text}: {e}"))
    }

    fn string(&mut self) -> Result<String, String> {
        if self.b.get(self.i) != Some(&b'"') {
            return Err(format!("expected a string at {}", self.i));
        }
        self.i += 1;
        let mut out = Vec::new();
        loop {
            let Some(&c) = self.b.get(self.i) else {
                return Err("unterminated string".into());
            };
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let Some(&e) = self.b.get(self.i) else {
                        return Err("unterminated escape".into());
                    };
                    self.i += 1;
                    match e {
                        b'"' | b'\\' | b'/' => out.push(e),
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'r' => out.push(b'\r'),
                        b'b' => out.push(8),
                        b'f' => out.push(12),
                        b'u' => {
                            let hex = self
                                .b
                                .get(self.i..self.i + 4)
                                .and_then(|h| std::str::from_utf8(h).ok())
                                .and_then(|h| u32::from_str_radix(h, 16).ok())
                                .ok_or(format!("bad \\u escape at {}", self.i))?;
                            self.i += 4;
                            // The demo never prints surrogate pairs; refuse them.
                            let ch = char::from_u32(hex).ok_or("surrogate in \\u escape")?;
                            out.extend_from_slice(ch.to_string().as_bytes());
                        }
                        _ => return Err(format!("bad escape at {}", self.i)),
                    }
                }
                c if c < 0x20 => return Err(format!("raw control character at {}", self.i)),
                c => out.push(c),
            }
        }
        String::from_utf8(out).map_err(|e| e.to_string())
    }
}

#[test]
fn the_json_parser_accepts_json_and_refuses_the_rest() {
    let v =
        Json::parse(r#" {"a": [1, -2.5e3, true, false, null], "b": "x\"\\\n\u00e9"} "#).unwrap();
    assert_eq!(
        v.get("a"),
        Some(&Json::Arr(vec![
            Json::Num(1.0),
            Json::Num(-2500.0),
            Json::Bool(true),
            Json::Bool(false),
            Json::Null
        ]))
    );
    assert_eq!(v.get("b"), Some(&Json::Str("x\"\\\né".into())));
    for bad in [
        "",
        "{",
        "{\"a\":1,}",
        "[1 2]",
        "{\"a\" 1}",
        "\"open",
        "\"a\"b",
        "\"tab\there\"",
        "\"bad \\q\"",
        "01",
        "1.",
        "tru",
        "{\"a\":1,\"a\":2}",
        "{'a':1}",
    ] {
        assert!(Json::parse(bad).is_err(), "accepted {bad:?}");
    }
}
