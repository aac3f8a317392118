//! `cse demo`: argument parsing and the printed report.

use std::io::Write;
use std::process::ExitCode;

use cse_core::{BlockConfig, CipherSuite, FrameConfig, KeyId, SecurityVariant, TagLen, TagMode};

use crate::Protocol;
use crate::demo::{self, Options};
use crate::scene::Scene;

/// The usage line of `cse demo`.
pub const USAGE: &str = "cse demo [--4k | --8k] [--protocol sep|fsed] [--sv 1|2|5 (image block)] \
[--suite NAME] [--tag-mode message|datatype|frame] [--frames N] [--json]";

/// Runs `cse demo` with the arguments after `demo`; prints the report (text or JSON).
pub fn main(args: &[String]) -> ExitCode {
    match parse(args) {
        Ok((opts, json)) => run(&opts, json),
        Err(e) => {
            eprintln!("cse demo: {e}\nusage: {USAGE}");
            ExitCode::from(2)
        }
    }
}

fn suite(name: &str) -> Option<CipherSuite> {
    CipherSuite::ALL
        .into_iter()
        .find(|s| s.name().eq_ignore_ascii_case(name))
}

/// Parses the arguments of `cse demo` into the scenario options and the `--json` flag.
///
/// # Errors
/// A message naming the unknown or malformed argument.
pub fn parse(args: &[String]) -> Result<(Options, bool), String> {
    let (mut w, mut h) = (1920, 1080);
    let mut frames = 90;
    let mut protocol = Protocol::Sep;
    let mut sv = 1u8;
    let mut suite_ = CipherSuite::Aes256Gcm;
    let mut mode = None;
    let mut json = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().cloned().ok_or(format!("{a} needs a value"));
        match a.as_str() {
            "--4k" => (w, h) = (3840, 2160),
            "--8k" => (w, h) = (7680, 4320),
            "--json" => json = true,
            "--frames" => {
                let v = val()?;
                frames = v
                    .parse()
                    .map_err(|_| format!("--frames takes a frame count, not {v:?}"))?;
            }
            "--protocol" => {
                protocol = match val()?.to_ascii_lowercase().as_str() {
                    "sep" => Protocol::Sep,
                    "fsed" => Protocol::Fsed,
                    p => return Err(format!("--protocol takes sep or fsed, not {p:?}")),
                }
            }
            "--sv" => {
                let v = val()?;
                sv = match v.as_str() {
                    "1" => 1,
                    "2" => 2,
                    "5" => 5,
                    _ => return Err(format!("--sv takes 1, 2 or 5, not {v:?}")),
                };
            }
            "--suite" => {
                let v = val()?;
                suite_ = suite(&v).ok_or_else(|| {
                    let names: Vec<&str> = CipherSuite::ALL.iter().map(|s| s.name()).collect();
                    format!("--suite takes one of {}, not {v:?}", names.join(", "))
                })?;
            }
            "--tag-mode" => {
                mode = Some(match val()?.as_str() {
                    "message" => TagMode::PerMessage,
                    "datatype" => TagMode::PerDataType,
                    "frame" => TagMode::PerFrame,
                    m => {
                        return Err(format!(
                            "--tag-mode takes message, datatype or frame, not {m:?}"
                        ));
                    }
                })
            }
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    let mode = mode.unwrap_or(match protocol {
        Protocol::Sep => TagMode::PerMessage,
        Protocol::Fsed => TagMode::PerFrame,
    });
    let image_sv = match sv {
        1 => SecurityVariant::FullIntegrityEncrypted,
        2 => SecurityVariant::FullIntegrity,
        5 => SecurityVariant::NoSecurity,
        _ => return Err(format!("--sv takes 1, 2 or 5, not {sv}")),
    };
    let family = |sv: SecurityVariant| {
        use CipherSuite::*;
        match (suite_, sv.encrypts()) {
            (Aes128Gmac | Aes128Gcm, true) => Aes128Gcm,
            (Aes128Gmac | Aes128Gcm, false) => Aes128Gmac,
            (Aes256Gmac | Aes256Gcm, true) => Aes256Gcm,
            (Aes256Gmac | Aes256Gcm, false) => Aes256Gmac,
            (Aes128Cmac | Aes128CtrCmac, true) => Aes128CtrCmac,
            (Aes128Cmac | Aes128CtrCmac, false) => Aes128Cmac,
            (_, true) => Aes256CtrCmac,
            (_, false) => Aes256Cmac,
        }
    };
    let block = |sv: SecurityVariant| BlockConfig {
        sv,
        suite: family(sv),
        tag_len: TagLen::L16,
        tag_mode: mode,
    };
    let embedded = SecurityVariant::FullIntegrity;
    let config = FrameConfig {
        top: block(embedded),
        image: block(image_sv),
        bottom: block(embedded),
        key_id: KeyId::default(),
    };
    Ok((
        Options {
            scene: Scene::new(w, h, demo::default_vc()),
            frames,
            protocol,
            config,
        },
        json,
    ))
}

/// `s` as a JSON string literal (quotes included): `"` and `\` escaped, control characters
/// as `\n`, `\t`, ... or `\u00XX`.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 || c == '\u{7f}' => {
                out.push_str(&format!("\\u{:04x}", u32::from(c)));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn run(opts: &Options, json: bool) -> ExitCode {
    let s = &opts.scene;
    if !json {
        outln!(
            "cse demo: {}x{} RAW12, {} frames, {}, image SV-{} {} ({:?} tags)",
            s.width,
            s.height,
            opts.frames,
            opts.protocol.name(),
            opts.config.image.sv.number(),
            opts.config.image.suite.name(),
            opts.config.image.tag_mode
        );
    }
    let mut progress = |done: usize, total: usize| {
        if !json {
            eprint!("\rstreaming frame {done}/{total}");
            if done == total {
                eprintln!();
            }
            let _ = std::io::stderr().flush();
        }
    };
    let report = match demo::run(opts, &mut progress) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cse demo: the clean link failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mb = (report.frame_payload * report.frames) as f64 / 1e6;
    let gbps = |d: std::time::Duration| mb / 1e3 / d.as_secs_f64().max(1e-9);
    if json {
        let attacks: Vec<String> = report
            .attacks
            .iter()
            .map(|a| {
                format!(
                    "{{\"attack\":{},\"expected\":{},\"observed\":{},\"detected\":{},\"attributed\":{}}}",
                    json_string(a.attack.name()),
                    json_string(a.attack.expected()),
                    json_string(&a.observed),
                    a.detected,
                    a.attributed
                )
            })
            .collect();
        outln!(
            "{{\"protocol\":{},\"width\":{},\"height\":{},\"frames\":{},\"frames_bit_exact\":{},\"key_rollover\":{},\"handshake_ms\":{:.3},\"protect_gbps\":{:.3},\"verify_gbps\":{:.3},\"aes_engine\":{},\"attacks\":[{}],\"passed\":{}}}",
            json_string(opts.protocol.name()),
            s.width,
            s.height,
            report.frames,
            report.frames_ok,
            report.rollover,
            report.handshake_time.as_secs_f64() * 1e3,
            gbps(report.protect_time),
            gbps(report.verify_time),
            json_string(cse_core::crypto::engine_name()),
            attacks.join(","),
            report.passed()
        );
    } else {
        outln!(
            "SPDM handshake: {} exchanges, {:.2} ms; stream configured over CCISE",
            report.handshake_steps,
            report.handshake_time.as_secs_f64() * 1e3
        );
        outln!(
            "clean frames bit-exact: {}/{}; key rollover after KEY_UPDATE: {}",
            report.frames_ok,
            report.frames,
            if report.rollover { "yes" } else { "NO" }
        );
        outln!();
        outln!(
            "{:<20} {:<40} {:<44} result",
            "attack",
            "expected",
            "observed"
        );
        outln!("{}", "-".repeat(114));
        for a in &report.attacks {
            let verdict = match (a.detected, a.attributed) {
                (true, true) => "detected",
                (true, false) => "detected (misattributed)",
                _ => "UNDETECTED",
            };
            outln!(
                "{:<20} {:<40} {:<44} {verdict}",
                a.attack.name(),
                a.attack.expected(),
                a.observed
            );
        }
        outln!();
        outln!(
            "throughput ({:.1} MB of payload): protect {:.2} GB/s, verify {:.2} GB/s",
            mb,
            gbps(report.protect_time),
            gbps(report.verify_time)
        );
        outln!(
            "  (link path only: sensor transmit and ECU receive, scene and attacks not timed; \
             AES engine: {})",
            cse_core::crypto::engine_name()
        );
        outln!("{}", if report.passed() { "PASS" } else { "FAIL" });
    }
    if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

#[cfg(test)]
mod tests {
    use super::json_string;

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(json_string("plain"), r#""plain""#);
        assert_eq!(json_string(r#"say "hi""#), r#""say \"hi\"""#);
        assert_eq!(json_string(r"C:\dir"), r#""C:\\dir""#);
        assert_eq!(json_string("a\nb\tc\r"), r#""a\nb\tc\r""#);
        assert_eq!(json_string("\u{1}\u{1f}\u{7f}"), r#""\u0001\u001f\u007f""#);
        assert_eq!(json_string("é→"), "\"é→\"");
        assert_eq!(json_string(""), r#""""#);
    }
}
