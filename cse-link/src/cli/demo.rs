//! `cse demo`: the arguments, their checks, and the printed report (text or JSON).

use std::process::ExitCode;

use clap::Parser;
use serde::{Deserialize, Serialize};

use cse_core::{BlockConfig, CipherSuite, FrameConfig, KeyId, SecurityVariant, TagLen, TagMode};

use super::{ProtocolArg, SuiteArg, SvArg, TagModeArg};
use crate::Protocol;
use crate::demo::{self, Options, Report};
use crate::scene::Scene;

/// The arguments of `cse demo`.
#[derive(Clone, Debug, clap::Args)]
pub struct DemoArgs {
    /// 3840x2160 frames instead of 1920x1080.
    #[arg(long = "4k", overrides_with = "k8")]
    pub k4: bool,
    /// 7680x4320 frames instead of 1920x1080.
    #[arg(long = "8k", overrides_with = "k4")]
    pub k8: bool,
    /// The stream protocol.
    #[arg(long, value_enum, ignore_case = true, default_value = "sep")]
    pub protocol: ProtocolArg,
    /// The security variant of the image block (the embedded-data blocks run SV-2).
    #[arg(long, value_enum, default_value = "1")]
    pub sv: SvArg,
    /// The image block's cipher suite; it must suit the SV (SV-1 an encrypting suite, SV-2 an
    /// integrity-only one); the embedded-data blocks use the integrity-only suite of the same
    /// key family. Under SV-5 it names the embedded-data blocks' suite [default: AES-256-GCM
    /// for SV-1, AES-256-GMAC otherwise].
    #[arg(long, value_name = "NAME", value_enum, ignore_case = true)]
    pub suite: Option<SuiteArg>,
    /// The tag mode of every block [default: message for SEP, frame for FSED].
    #[arg(long, value_enum)]
    pub tag_mode: Option<TagModeArg>,
    /// Frames in the clean streaming phase (at least 1).
    #[arg(long, value_name = "N", default_value = "90", value_parser = frame_count,
          allow_negative_numbers = true)]
    pub frames: usize,
    /// Print the report as one JSON object (configuration, measurements, attacks).
    #[arg(long)]
    pub json: bool,
    /// Also record the whole link into this pcapng file of ASAM CMP messages: the CCISE
    /// register writes on I2C, the protected CSI-2 stream and every attack (docs/capture.md
    /// section 7; Wireshark opens it). Large: about one frame's bytes per frame streamed.
    #[arg(long, value_name = "FILE", value_parser = clap::builder::NonEmptyStringValueParser::new())]
    pub pcap: Option<String>,
    /// Segmentation of the --pcap capture's messages.
    #[command(flatten)]
    pub mtu: super::capture::CmpMtuArgs,
}

fn frame_count(s: &str) -> Result<usize, String> {
    let n: usize = s.parse().map_err(|e| format!("not a frame count: {e}"))?;
    if n == 0 {
        return Err("at least one frame: the demo checks clean frames before the attacks".into());
    }
    Ok(n)
}

/// Runs `cse demo`; prints the report (text or JSON).
pub fn main(args: &DemoArgs) -> ExitCode {
    match options(args) {
        Ok(_) if args.mtu.cmp_mtu.is_some() && args.pcap.is_none() => {
            eprintln!(
                "cse demo: --cmp-mtu segments the messages of the --pcap capture; there is none\n{}\n\
                 For more information, try 'cse demo --help'.",
                super::usage("demo").trim_end()
            );
            ExitCode::from(2)
        }
        Ok(opts) => run(&opts, args.json, args.pcap.as_deref(), args.mtu.cmp_mtu),
        Err(e) => {
            eprintln!(
                "cse demo: {e}\n{}\nFor more information, try 'cse demo --help'.",
                super::usage("demo").trim_end()
            );
            ExitCode::from(2)
        }
    }
}

/// Parses the arguments after `cse demo` (clap, then [`options`]) into the scenario options
/// and the `--json` flag.
///
/// # Errors
/// Clap's rendered message for a malformed command line, or the reason a combination cannot
/// run.
pub fn parse(args: &[String]) -> Result<(Options, bool), String> {
    #[derive(Parser)]
    #[command(name = "cse demo")]
    struct Demo {
        #[command(flatten)]
        args: DemoArgs,
    }
    let cmd = std::iter::once("cse demo").chain(args.iter().map(String::as_str));
    let a = Demo::try_parse_from(cmd)
        .map_err(|e| e.render().to_string())?
        .args;
    Ok((options(&a)?, a.json))
}

/// The integrity-only suite of `s`'s key family (GCM to GMAC, CTR+CMAC to CMAC).
fn integrity_only(s: CipherSuite) -> CipherSuite {
    use CipherSuite::*;
    match s {
        Aes128Gcm => Aes128Gmac,
        Aes256Gcm => Aes256Gmac,
        Aes128CtrCmac => Aes128Cmac,
        Aes256CtrCmac => Aes256Cmac,
        other => other,
    }
}

/// The encrypting suite of `s`'s key family (GMAC to GCM, CMAC to CTR+CMAC).
fn encrypting(s: CipherSuite) -> CipherSuite {
    use CipherSuite::*;
    match s {
        Aes128Gmac => Aes128Gcm,
        Aes256Gmac => Aes256Gcm,
        Aes128Cmac => Aes128CtrCmac,
        Aes256Cmac => Aes256CtrCmac,
        other => other,
    }
}

/// The scenario options for parsed arguments: every combination the demo cannot run is
/// refused with the reason, and no suite is changed behind the user's back.
///
/// # Errors
/// Why the combination cannot run (a suite that does not suit the SV, with the suite that
/// would; per-message tags under FSED).
pub fn options(a: &DemoArgs) -> Result<Options, String> {
    let (w, h) = match (a.k4, a.k8) {
        (true, _) => (3840, 2160),
        (_, true) => (7680, 4320),
        _ => (1920, 1080),
    };
    let protocol = Protocol::from(a.protocol);
    let image_sv = SecurityVariant::from(a.sv);
    let suite = match (a.suite.map(|s| s.0), image_sv) {
        (None, SecurityVariant::FullIntegrityEncrypted) => CipherSuite::Aes256Gcm,
        (None, _) => CipherSuite::Aes256Gmac,
        (Some(s), SecurityVariant::FullIntegrityEncrypted) if !s.encrypts() => {
            return Err(format!(
                "--sv 1 encrypts and {} does not: use --suite {} (same key family) or --sv 2",
                s.name(),
                encrypting(s).name()
            ));
        }
        (Some(s), SecurityVariant::FullIntegrity) if s.encrypts() => {
            return Err(format!(
                "--sv 2 does not encrypt and {} does: use --suite {} (same key family) or --sv 1",
                s.name(),
                integrity_only(s).name()
            ));
        }
        (Some(s), SecurityVariant::NoSecurity) if s.encrypts() => {
            return Err(format!(
                "under --sv 5 --suite names the embedded-data blocks' suite, which do not \
                 encrypt: use --suite {} (same key family)",
                integrity_only(s).name()
            ));
        }
        (Some(s), _) => s,
    };
    let tag_mode = match a.tag_mode {
        Some(m) => TagMode::from(m),
        None => match protocol {
            Protocol::Sep => TagMode::PerMessage,
            Protocol::Fsed => TagMode::PerFrame,
        },
    };
    if protocol == Protocol::Fsed && tag_mode == TagMode::PerMessage {
        return Err(
            "FSED has no per-message tags: use --tag-mode datatype or frame, or --protocol sep"
                .into(),
        );
    }
    let block = |sv: SecurityVariant, suite: CipherSuite| BlockConfig {
        sv,
        suite,
        tag_len: TagLen::L16,
        tag_mode,
    };
    let embedded = block(SecurityVariant::FullIntegrity, integrity_only(suite));
    let config = FrameConfig {
        top: embedded,
        image: block(image_sv, suite),
        bottom: embedded,
        key_id: KeyId::default(),
    };
    config
        .validate()
        .map_err(|e| format!("this configuration cannot run: {e}"))?;
    Ok(Options {
        scene: Scene::new(w, h, demo::default_vc()),
        frames: a.frames,
        protocol,
        config,
    })
}

/// The `--json` report of `cse demo`: the whole configuration, the measurements and one entry
/// per attack.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonReport {
    /// `"SEP"` or `"FSED"`.
    pub protocol: String,
    /// Frame width in pixels.
    pub width: usize,
    /// Frame height in lines.
    pub height: usize,
    /// Frames in the clean streaming phase.
    pub frames: usize,
    /// The configuration of each block.
    pub blocks: JsonBlocks,
    /// Clean frames that arrived bit-exact.
    pub frames_bit_exact: usize,
    /// A key rollover after KEY_UPDATE was observed.
    pub key_rollover: bool,
    /// SPDM handshake wall time in milliseconds.
    pub handshake_ms: f64,
    /// Protect throughput of the link path, GB/s of payload.
    pub protect_gbps: f64,
    /// Verify throughput of the link path, GB/s of payload.
    pub verify_gbps: f64,
    /// The AES engine in use.
    pub aes_engine: String,
    /// The attacks, in the order they ran.
    pub attacks: Vec<JsonAttack>,
    /// The verdict ([`Report::passed`]).
    pub passed: bool,
}

/// The three blocks' configurations.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonBlocks {
    /// Top embedded-data block.
    pub top: JsonBlock,
    /// Image block.
    pub image: JsonBlock,
    /// Bottom embedded-data block.
    pub bottom: JsonBlock,
}

/// One block's configuration; suite, tag length and tag mode are `null` under SV-5 (no tag).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonBlock {
    /// The security variant number (1, 2 or 5).
    pub sv: u8,
    /// The cipher suite name, e.g. `"AES-256-GCM"`.
    pub suite: Option<String>,
    /// The tag length in bytes.
    pub tag_len: Option<usize>,
    /// `"message"`, `"datatype"` or `"frame"` (the `--tag-mode` names).
    pub tag_mode: Option<String>,
}

/// One attack's outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct JsonAttack {
    /// The attack's name.
    pub attack: String,
    /// What should happen.
    pub expected: String,
    /// What the link reported.
    pub observed: String,
    /// The configuration promises to detect it.
    pub covered: bool,
    /// It was noticed.
    pub detected: bool,
    /// It was noticed for the right reason.
    pub attributed: bool,
    /// The verdict cell of the table (`"detected"`, `"UNDETECTED"`,
    /// `"not covered by SV-5 (expected)"`, ...).
    pub result: String,
}

fn tag_mode_name(m: TagMode) -> &'static str {
    match m {
        TagMode::PerMessage => "message",
        TagMode::PerDataType => "datatype",
        TagMode::PerFrame => "frame",
    }
}

impl JsonBlock {
    fn new(b: &BlockConfig) -> Self {
        let tagged = b.sv.authenticates();
        JsonBlock {
            sv: b.sv.number(),
            suite: tagged.then(|| b.suite.name().to_string()),
            tag_len: tagged.then(|| b.tag_len.get()),
            tag_mode: tagged.then(|| tag_mode_name(b.tag_mode).to_string()),
        }
    }
}

fn gbps(report: &Report, d: std::time::Duration) -> f64 {
    let bytes = (report.frame_payload * report.frames) as f64;
    bytes / 1e9 / d.as_secs_f64().max(1e-9)
}

/// Rounds to three decimals, the precision the report promises.
fn milli(x: f64) -> f64 {
    (x * 1e3).round() / 1e3
}

/// The JSON report of a run.
pub fn json_report(opts: &Options, report: &Report) -> JsonReport {
    let c = &opts.config;
    JsonReport {
        protocol: opts.protocol.name().into(),
        width: opts.scene.width,
        height: opts.scene.height,
        frames: report.frames,
        blocks: JsonBlocks {
            top: JsonBlock::new(&c.top),
            image: JsonBlock::new(&c.image),
            bottom: JsonBlock::new(&c.bottom),
        },
        frames_bit_exact: report.frames_ok,
        key_rollover: report.rollover,
        handshake_ms: milli(report.handshake_time.as_secs_f64() * 1e3),
        protect_gbps: milli(gbps(report, report.protect_time)),
        verify_gbps: milli(gbps(report, report.verify_time)),
        aes_engine: cse_core::crypto::engine_name().into(),
        attacks: report
            .attacks
            .iter()
            .map(|a| JsonAttack {
                attack: a.attack.name().into(),
                expected: a.attack.expected().into(),
                observed: a.observed.clone(),
                covered: a.covered,
                detected: a.detected,
                attributed: a.attributed,
                result: a.verdict().into(),
            })
            .collect(),
        passed: report.passed(),
    }
}

fn block_text(b: &BlockConfig) -> String {
    if b.sv.authenticates() {
        format!(
            "SV-{} {} ({} tags, {} bytes)",
            b.sv.number(),
            b.suite.name(),
            tag_mode_name(b.tag_mode),
            b.tag_len.get()
        )
    } else {
        format!("SV-{} (no tags: CRCs and counters only)", b.sv.number())
    }
}

/// The attack table, unwrapped.
pub fn attack_table(report: &Report) -> String {
    attack_table_width(report, None)
}

/// The attack table with its cells wrapped to `width` columns (no line is wider; long
/// "observed" cells wrap within their column).
pub fn attack_table_width(report: &Report, width: Option<u16>) -> String {
    let rows = report
        .attacks
        .iter()
        .map(|a| {
            vec![
                a.attack.name().to_string(),
                a.attack.expected().to_string(),
                a.observed.clone(),
                a.verdict().to_string(),
            ]
        })
        .collect();
    crate::table::render(
        &["attack", "expected", "observed", "result"],
        rows,
        &[],
        width,
    )
}

fn run(opts: &Options, json: bool, pcap: Option<&str>, mtu: Option<usize>) -> ExitCode {
    let s = &opts.scene;
    let c = &opts.config;
    if !json {
        outln!(
            "cse demo: {}x{} RAW12, {} frames, {}; image {}; embedded data {}",
            s.width,
            s.height,
            opts.frames,
            opts.protocol.name(),
            block_text(&c.image),
            block_text(&c.top),
        );
    }
    // The capture file is created before the run, so that a path that cannot be written
    // fails at once.
    let mut pcap_file = match pcap.map(|p| (p, std::fs::File::create(p))) {
        None => None,
        Some((_, Ok(f))) => Some(f),
        Some((p, Err(e))) => {
            eprintln!("cse demo: cannot create {p}: {e}");
            return ExitCode::from(2);
        }
    };
    // Progress only for a person watching: not into a file, not with --json.
    let mut bar = super::progress::Progress::new("streaming", "frames", !json);
    let mut progress = |done: usize, total: usize| bar.update(done, total);
    let result = match pcap {
        None => demo::run(opts, &mut progress).map(|r| (r, None)),
        Some(_) => {
            let start = crate::capture::pcapng::now_ns();
            let rec = crate::capture::pcapng::Recorder::new(start).and_then(|mut r| {
                r.set_mtu(mtu)?;
                Ok(r)
            });
            match rec {
                Ok(rec) => {
                    demo::run_recorded(opts, &mut progress, rec).map(|(r, rec)| (r, Some(rec)))
                }
                Err(e) => Err(crate::LinkError::Capture(e.to_string())),
            }
        }
    };
    bar.finish();
    let (report, recorder) = match result {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cse demo: the clean link failed: {e}");
            return ExitCode::FAILURE;
        }
    };
    if let (Some(path), Some(rec), Some(file)) = (pcap, recorder, pcap_file.as_mut()) {
        use std::io::Write;
        let frames = rec.frames();
        let written = rec
            .finish()
            .map_err(|e| e.to_string())
            .and_then(|b| file.write_all(&b).map_err(|e| e.to_string()));
        match written {
            // On stderr, so that --json output stays one JSON object.
            Ok(()) => eprintln!("cse demo: {frames} ASAM CMP frames written to {path}"),
            Err(e) => {
                eprintln!("cse demo: cannot write {path}: {e}");
                return ExitCode::from(2);
            }
        }
    }
    let j = json_report(opts, &report);
    if json {
        match serde_json::to_string(&j) {
            Ok(text) => outln!("{text}"),
            Err(e) => {
                eprintln!("cse demo: cannot write the JSON report: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        let f = &report.factory;
        outln!(
            "factory: sensor provisioned by the manufacturer's intermediate (GET_CSR, \
             SET_CERTIFICATE): {}, key SHA-256 {}...; vehicle authenticated it against the \
             manufacturer root: {}",
            f.provisioned.subject,
            f.provisioned.fingerprint.get(..16).unwrap_or_default(),
            if f.vehicle_authenticated { "yes" } else { "NO" }
        );
        outln!(
            "SPDM handshake and firmware attestation of the sensor: {} exchanges, {:.2} ms; \
             serializer bridge authenticated and attested; stream configured over CCISE",
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
        out!(
            "{}",
            attack_table_width(&report, crate::table::output_width())
        );
        outln!();
        let mb = (report.frame_payload * report.frames) as f64 / 1e6;
        outln!(
            "throughput ({:.1} MB of payload): protect {:.2} GB/s, verify {:.2} GB/s",
            mb,
            j.protect_gbps,
            j.verify_gbps
        );
        outln!(
            "  (link path only: sensor transmit and ECU receive, scene and attacks not timed; \
             AES engine: {})",
            j.aes_engine
        );
        if report.attacks.iter().any(|a| !a.covered) {
            outln!(
                "SV-5 promises functional-safety detection only (CRCs, counters): the attacks \
                 marked \"not covered\" need a tag on the image block and do not decide the verdict."
            );
        }
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
    use super::*;

    fn sample() -> JsonReport {
        JsonReport {
            protocol: "FSED".into(),
            width: 64,
            height: 12,
            frames: 3,
            blocks: JsonBlocks {
                top: JsonBlock {
                    sv: 2,
                    suite: Some("AES-128-CMAC".into()),
                    tag_len: Some(16),
                    tag_mode: Some("frame".into()),
                },
                image: JsonBlock {
                    sv: 5,
                    suite: None,
                    tag_len: None,
                    tag_mode: None,
                },
                bottom: JsonBlock {
                    sv: 2,
                    suite: Some("AES-128-CMAC".into()),
                    tag_len: Some(16),
                    tag_mode: Some("frame".into()),
                },
            },
            frames_bit_exact: 3,
            key_rollover: true,
            handshake_ms: 1.5,
            protect_gbps: 0.25,
            verify_gbps: 2.0,
            aes_engine: "say \"hi\"\n\\ é".into(),
            attacks: vec![JsonAttack {
                attack: "flipped pixel bit".into(),
                expected: "frame rejected: tag mismatch".into(),
                observed: "CORRUPTED FRAME RELEASED".into(),
                covered: false,
                detected: false,
                attributed: false,
                result: "not covered by SV-5 (expected)".into(),
            }],
            passed: true,
        }
    }

    #[test]
    fn the_json_report_round_trips_and_keeps_its_field_names() {
        let r = sample();
        let text = serde_json::to_string(&r).unwrap_or_default();
        let back: JsonReport = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, r);
        // The schema's names, as consumers read them.
        let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        assert_eq!(v["blocks"]["image"]["sv"], 5);
        assert!(v["blocks"]["image"]["suite"].is_null());
        assert_eq!(v["blocks"]["top"]["tag_mode"], "frame");
        assert_eq!(v["attacks"][0]["result"], "not covered by SV-5 (expected)");
        // Strings are escaped: the text holds no raw newline.
        assert!(!text.contains('\n'));
    }

    #[test]
    fn unknown_or_missing_fields_are_refused() {
        let mut v = serde_json::to_value(sample()).unwrap_or_default();
        if let Some(o) = v.as_object_mut() {
            o.insert("extra".into(), 1.into());
        }
        assert!(serde_json::from_value::<JsonReport>(v.clone()).is_err());
        if let Some(o) = v.as_object_mut() {
            o.remove("extra");
            o.remove("blocks");
        }
        assert!(serde_json::from_value::<JsonReport>(v).is_err());
    }
}
