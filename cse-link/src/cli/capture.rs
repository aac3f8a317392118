//! `cse protect`, `cse verify`, `cse inspect` and `cse keygen`: capture files (format in
//! `docs/capture.md`). The logic is in [`crate::capture`]; this module parses arguments,
//! reads and writes files and prints.
//!
//! Exit status: 0 success; 1 the capture does not verify (`verify`, `inspect`) or the input
//! cannot be protected (`protect`: a malformed or refused packet); 2 bad arguments, unreadable
//! or empty input, an invalid key file, or an output that cannot be written.

use std::process::ExitCode;

use clap::builder::{NonEmptyStringValueParser, RangedU64ValueParser};
use cse_core::csi2::VirtualChannel;
use cse_core::{
    BlockConfig, FrameConfig, KeyId, KeySize, Policy, SecurityVariant, SvLevel, TagMode,
};

use super::{ProtocolArg, SuiteArg, SvArg, TagLenArg, TagModeArg};
use crate::Protocol;
use crate::capture::{self, CaptureError, KeyFile, ProtectOptions, RawFormat, RawInput};

/// Findings `verify` prints before pointing at `inspect`.
const MAX_LISTED: usize = 20;

/// `--protocol sep|fsed|auto` of `verify` and `inspect`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ProtocolOrAuto {
    /// Service Extension Packets.
    Sep,
    /// Frame-based, legacy-transparent protection.
    Fsed,
    /// Recognise the protocol from the capture.
    #[default]
    Auto,
}

impl ProtocolOrAuto {
    fn protocol(self) -> Option<Protocol> {
        match self {
            ProtocolOrAuto::Sep => Some(Protocol::Sep),
            ProtocolOrAuto::Fsed => Some(Protocol::Fsed),
            ProtocolOrAuto::Auto => None,
        }
    }
}

/// `--format`: the file format of an output capture.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// pcapng when the file name ends in `.pcapng` or `.pcap`, raw otherwise.
    #[default]
    Auto,
    /// CSI-2 packets back to back (docs/capture.md section 1).
    Raw,
    /// pcapng of ASAM CMP messages, one time-stamped CSI-2 packet each (section 7).
    Pcapng,
}

impl FormatArg {
    /// Whether `path` is written as pcapng.
    pub fn pcapng_for(self, path: &str) -> bool {
        match self {
            FormatArg::Raw => false,
            FormatArg::Pcapng => true,
            FormatArg::Auto => {
                let p = std::path::Path::new(path);
                p.extension().is_some_and(|e| {
                    e.eq_ignore_ascii_case("pcapng") || e.eq_ignore_ascii_case("pcap")
                })
            }
        }
    }
}

/// `--cmp-device`, `--cmp-stream`, `--cmp-interface`: which messages of a pcapng input are
/// read (docs/capture.md section 7).
#[derive(Clone, Copy, Debug, Default, clap::Args)]
pub struct CmpSelectArgs {
    /// pcapng input: read only the CMP frames of this capture-module (device) id.
    #[arg(long, value_name = "ID", value_parser = clap::value_parser!(u16))]
    pub cmp_device: Option<u16>,
    /// pcapng input: read only the CMP frames of this stream id (the demo capture: 0 the clean
    /// link, n the link of attack n).
    #[arg(long, value_name = "ID", value_parser = clap::value_parser!(u8))]
    pub cmp_stream: Option<u8>,
    /// pcapng input: read only the messages of this interface id (the captured bus).
    #[arg(long, value_name = "ID", value_parser = clap::value_parser!(u32))]
    pub cmp_interface: Option<u32>,
}

impl CmpSelectArgs {
    fn selection(self) -> capture::pcapng::Selection {
        capture::pcapng::Selection {
            device_id: self.cmp_device,
            stream_id: self.cmp_stream,
            interface_id: self.cmp_interface,
        }
    }
}

/// `--cmp-mtu`: segmentation of the CMP messages of a pcapng output.
#[derive(Clone, Copy, Debug, Default, clap::Args)]
pub struct CmpMtuArgs {
    /// pcapng output: split every CMP message longer than BYTES of Ethernet payload allow into
    /// segments, as a capture module on standard Ethernet does (1500) [default: no
    /// segmentation, long lines in jumbo frames].
    #[arg(long, value_name = "BYTES",
          value_parser = RangedU64ValueParser::<usize>::new().range(46..=65535))]
    pub cmp_mtu: Option<usize>,
}

/// The arguments of `cse protect`.
#[derive(Clone, Debug, clap::Args)]
pub struct ProtectArgs {
    /// The input: a capture of CSI-2 packets (docs/capture.md), or a raw image with
    /// --raw10/--raw12.
    #[arg(long = "in", value_name = "FILE", value_parser = NonEmptyStringValueParser::new())]
    pub input: String,
    /// The input is a raw RAW10 image (needs --width and --height).
    #[arg(long, conflicts_with = "raw12", requires_all = ["width", "height"])]
    pub raw10: bool,
    /// The input is a raw RAW12 image (needs --width and --height).
    #[arg(long, requires_all = ["width", "height"])]
    pub raw12: bool,
    /// Pixels per line of the raw image.
    #[arg(long, value_name = "W")]
    pub width: Option<usize>,
    /// Lines of the raw image.
    #[arg(long, value_name = "H")]
    pub height: Option<usize>,
    /// The protected capture to write (refused if it exists, unless --force; never the input).
    #[arg(long, value_name = "FILE", value_parser = NonEmptyStringValueParser::new())]
    pub out: String,
    /// Overwrite an existing output file (never the input file).
    #[arg(long)]
    pub force: bool,
    /// The output's format [default: pcapng for a .pcapng/.pcap file name, raw otherwise].
    /// The input's format is recognised from its content.
    #[arg(long, value_enum, default_value = "auto")]
    pub format: FormatArg,
    /// Segmentation of a pcapng output.
    #[command(flatten)]
    pub mtu: CmpMtuArgs,
    /// Which messages of a pcapng input are read.
    #[command(flatten)]
    pub select: CmpSelectArgs,
    /// The key file (`cse keygen`).
    #[arg(long, value_name = "KEYFILE", value_parser = NonEmptyStringValueParser::new())]
    pub keys: String,
    /// The protocol.
    #[arg(long, value_enum, ignore_case = true, default_value = "sep")]
    pub protocol: ProtocolArg,
    /// The security variant of every block.
    #[arg(long, value_enum, default_value = "1")]
    pub sv: SvArg,
    /// The cipher suite [default: AES-GCM for SV-1, AES-GMAC otherwise, of the key file's
    /// size].
    #[arg(long, value_name = "NAME", value_enum, ignore_case = true)]
    pub suite: Option<SuiteArg>,
    /// The tag mode [default: message for SEP, frame for FSED].
    #[arg(long, value_enum)]
    pub tag_mode: Option<TagModeArg>,
    /// The tag length in bytes.
    #[arg(long, value_enum, default_value = "16")]
    pub tag_len: TagLenArg,
    /// The virtual channel of the raw image's packets, or the only one protected in a capture
    /// (D-PHY: 0 to 3).
    #[arg(long, value_name = "N", value_parser = RangedU64ValueParser::<u8>::new().range(0..=3))]
    pub vc: Option<u8>,
    /// The frame number of the first frame.
    #[arg(long, value_name = "N", default_value_t = 1)]
    pub first_frame: u32,
}

/// `--min-sv N`: the weakest security variant accepted in any block.
#[derive(Clone, Copy, Debug, clap::Args)]
pub struct PolicyArgs {
    /// The weakest security variant accepted in any block (1 strongest .. 5 none).
    #[arg(long, value_name = "N", default_value_t = 2,
          value_parser = RangedU64ValueParser::<u8>::new().range(1..=5))]
    pub min_sv: u8,
}

/// The arguments of `cse verify`.
#[derive(Clone, Debug, clap::Args)]
pub struct VerifyArgs {
    /// The protected capture.
    #[arg(long = "in", value_name = "FILE", value_parser = NonEmptyStringValueParser::new())]
    pub input: String,
    /// The key file.
    #[arg(long, value_name = "KEYFILE", value_parser = NonEmptyStringValueParser::new())]
    pub keys: String,
    /// The protocol.
    #[arg(long, value_enum, ignore_case = true, default_value = "auto")]
    pub protocol: ProtocolOrAuto,
    /// The receiver policy.
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Write the original packets that verified to this file.
    #[arg(long, value_name = "PLAIN", value_parser = NonEmptyStringValueParser::new())]
    pub out: Option<String>,
    /// The format of --out [default: pcapng for a .pcapng/.pcap file name, raw otherwise].
    #[arg(long, value_enum, default_value = "auto")]
    pub format: FormatArg,
    /// Segmentation of a pcapng --out.
    #[command(flatten)]
    pub mtu: CmpMtuArgs,
    /// Which messages of a pcapng input are read.
    #[command(flatten)]
    pub select: CmpSelectArgs,
}

/// The arguments of `cse inspect`.
#[derive(Clone, Debug, clap::Args)]
pub struct InspectArgs {
    /// The capture (plain or protected).
    #[arg(long = "in", value_name = "FILE", value_parser = NonEmptyStringValueParser::new())]
    pub input: String,
    /// The key file; without it only structure and CRCs are checked.
    #[arg(long, value_name = "KEYFILE", value_parser = NonEmptyStringValueParser::new())]
    pub keys: Option<String>,
    /// The protocol.
    #[arg(long, value_enum, ignore_case = true, default_value = "auto")]
    pub protocol: ProtocolOrAuto,
    /// The receiver policy.
    #[command(flatten)]
    pub policy: PolicyArgs,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Which messages of a pcapng input are read.
    #[command(flatten)]
    pub select: CmpSelectArgs,
}

/// The arguments of `cse keygen`.
#[derive(Clone, Debug, clap::Args)]
pub struct KeygenArgs {
    /// The key file to create (refused if it exists; mode 0600 on Unix).
    #[arg(long, value_name = "KEYFILE", value_parser = NonEmptyStringValueParser::new())]
    pub out: String,
    /// The AES key size.
    #[arg(long, value_name = "BITS", default_value = "256",
          value_parser = clap::builder::PossibleValuesParser::new(["128", "256"]))]
    pub bits: String,
    /// Also write a separate MAC key (the CTR+CMAC suites need one).
    #[arg(long)]
    pub mac_key: bool,
    /// The key id (0 to 3).
    #[arg(long, value_name = "N", default_value_t = 0,
          value_parser = RangedU64ValueParser::<u8>::new().range(0..=3))]
    pub key_id: u8,
}

/// How a subcommand failed: the message and the exit status.
struct Fail(u8, String);

impl From<CaptureError> for Fail {
    fn from(e: CaptureError) -> Self {
        let code = match e {
            CaptureError::Malformed { .. }
            | CaptureError::Refused { .. }
            | CaptureError::UnfinishedFrame { .. } => 1,
            _ => 2,
        };
        Fail(code, e.to_string())
    }
}

fn usage_err(msg: String) -> Fail {
    Fail(2, msg)
}

fn finish(cmd: &str, r: Result<ExitCode, Fail>) -> ExitCode {
    match r {
        Ok(c) => c,
        Err(Fail(code, msg)) => {
            if code == 2 {
                eprintln!(
                    "cse {cmd}: {msg}\n{}\nFor more information, try 'cse {cmd} --help'.",
                    super::usage(cmd).trim_end()
                );
            } else {
                eprintln!("cse {cmd}: {msg}");
            }
            ExitCode::from(code)
        }
    }
}

fn read(path: &str) -> Result<Vec<u8>, Fail> {
    let b = std::fs::read(path).map_err(|e| Fail(2, format!("cannot read {path}: {e}")))?;
    if b.is_empty() {
        return Err(Fail(2, format!("{path}: the input file is empty")));
    }
    Ok(b)
}

fn write(path: &str, bytes: &[u8]) -> Result<(), Fail> {
    std::fs::write(path, bytes).map_err(|e| Fail(2, format!("cannot write {path}: {e}")))
}

/// A capture as read from a file: the CSI-2 packets in the raw format (pcapng converted), and
/// for pcapng the read statistics and first timestamp.
struct Input {
    csi2: Vec<u8>,
    pcapng: Option<capture::pcapng::PcapCapture>,
}

fn read_capture(path: &str, select: CmpSelectArgs) -> Result<Input, Fail> {
    let bytes = read(path)?;
    let selection = select.selection();
    if !capture::pcapng::is_pcapng(&bytes) {
        if selection != capture::pcapng::Selection::default() {
            return Err(usage_err(format!(
                "{path} is not a pcapng file: --cmp-device/--cmp-stream/--cmp-interface select \
                 CMP messages of a pcapng input"
            )));
        }
        return Ok(Input {
            csi2: bytes,
            pcapng: None,
        });
    }
    let mut p = capture::pcapng::read_selected(&bytes, &selection)
        .map_err(|e| Fail(2, format!("{path}: {e}")))?;
    if p.csi2.is_empty() {
        return Err(Fail(
            2,
            format!(
                "{path}: no CSI-2 packets in the pcapng file ({})",
                capture::pcapng::describe(&p.stats)
            ),
        ));
    }
    let csi2 = std::mem::take(&mut p.csi2);
    Ok(Input {
        csi2,
        pcapng: Some(p),
    })
}

/// Writes CSI-2 packets as raw or pcapng (time stamps from `start_ns` on, messages segmented
/// to `mtu`).
fn write_capture(
    path: &str,
    csi2: &[u8],
    pcapng: bool,
    start_ns: u64,
    mtu: CmpMtuArgs,
) -> Result<(), Fail> {
    if pcapng {
        let b = capture::pcapng::write_csi2_mtu(csi2, start_ns, mtu.cmp_mtu)
            .map_err(|e| Fail(2, format!("cannot write {path}: {e}")))?;
        write(path, &b)
    } else {
        write(path, csi2)
    }
}

/// Refuses `--cmp-mtu` for an output that is not pcapng.
fn check_mtu(out: &str, pcapng: bool, mtu: CmpMtuArgs) -> Result<(), Fail> {
    if mtu.cmp_mtu.is_some() && !pcapng {
        return Err(usage_err(format!(
            "--cmp-mtu segments CMP messages of a pcapng output, and {out} is written raw \
             (name it .pcapng or pass --format pcapng)"
        )));
    }
    Ok(())
}

/// Refuses `out` when it is the input file: writing `what` there would destroy the input
/// before anything could be checked against it.
fn not_the_input(input: &str, out: &str, what: &str) -> Result<(), Fail> {
    let same = match (std::fs::canonicalize(input), std::fs::canonicalize(out)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    };
    if same {
        return Err(usage_err(format!(
            "--out {out} is the input file; write {what} to another file"
        )));
    }
    Ok(())
}

/// Refuses `out` when it is the input file (always) or exists (without `force`).
fn check_output(input: &str, out: &str, force: bool) -> Result<(), Fail> {
    not_the_input(input, out, "the protected capture")?;
    if !force && std::fs::symlink_metadata(out).is_ok() {
        return Err(usage_err(format!(
            "--out {out} exists; pass --force to overwrite it"
        )));
    }
    Ok(())
}

fn policy_arg(a: PolicyArgs) -> Result<Policy, Fail> {
    let min = SvLevel::try_from(a.min_sv).map_err(|_| usage_err("--min-sv takes 1 to 5".into()))?;
    Ok(Policy {
        min_top: min,
        min_image: min,
        min_bottom: min,
    })
}

/// The frame configuration of `cse protect`: the same block configuration for the three
/// blocks. Without `--suite`: AES-GCM for SV-1, AES-GMAC otherwise, of the key file's size.
fn config_args(
    a: &ProtectArgs,
    protocol: Protocol,
    key_size: KeySize,
) -> Result<FrameConfig, Fail> {
    let sv = SecurityVariant::from(a.sv);
    let suite = match a.suite {
        Some(SuiteArg(s)) => s,
        None => match (key_size, sv.encrypts()) {
            (KeySize::Aes128, true) => cse_core::CipherSuite::Aes128Gcm,
            (KeySize::Aes128, false) => cse_core::CipherSuite::Aes128Gmac,
            (KeySize::Aes256, true) => cse_core::CipherSuite::Aes256Gcm,
            (KeySize::Aes256, false) => cse_core::CipherSuite::Aes256Gmac,
        },
    };
    let tag_mode = match a.tag_mode {
        Some(m) => TagMode::from(m),
        None => match protocol {
            Protocol::Sep => TagMode::PerMessage,
            Protocol::Fsed => TagMode::PerFrame,
        },
    };
    let tag_len = a.tag_len.into();
    let block = BlockConfig {
        sv,
        suite,
        tag_len,
        tag_mode,
    };
    let config = FrameConfig::uniform(block, KeyId::default());
    config
        .validate()
        .map_err(|e| usage_err(format!("--sv/--suite: {e}")))?;
    if sv.authenticates() && protocol == Protocol::Fsed && tag_mode == TagMode::PerMessage {
        return Err(usage_err(
            "FSED has no per-message tags: use --tag-mode datatype or frame, or --protocol sep"
                .into(),
        ));
    }
    Ok(config)
}

/// Runs `cse protect`.
pub fn protect(args: &ProtectArgs) -> ExitCode {
    finish("protect", run_protect(args))
}

fn run_protect(a: &ProtectArgs) -> Result<ExitCode, Fail> {
    let (input, output) = (a.input.as_str(), a.out.as_str());
    let protocol = Protocol::from(a.protocol);
    let vc = match a.vc {
        Some(v) => Some(VirtualChannel::new(v).map_err(|e| usage_err(e.to_string()))?),
        None => None,
    };
    let first_frame = a.first_frame;
    let raw = match (a.raw10, a.raw12) {
        (true, true) => return Err(usage_err("--raw10 and --raw12 exclude each other".into())),
        (true, false) => Some(RawFormat::Raw10),
        (false, true) => Some(RawFormat::Raw12),
        (false, false) => None,
    };
    let geometry = (a.width, a.height);
    let raw = match (raw, geometry) {
        (Some(format), (Some(width), Some(height))) => Some(RawInput {
            format,
            width,
            height,
        }),
        (Some(_), _) => {
            return Err(usage_err(
                "--raw10/--raw12 need --width and --height".into(),
            ));
        }
        (None, (None, None)) => None,
        (None, _) => {
            return Err(usage_err(
                "--width/--height only go with --raw10 or --raw12".into(),
            ));
        }
    };
    check_output(input, output, a.force)?;
    let as_pcapng = a.format.pcapng_for(output);
    check_mtu(output, as_pcapng, a.mtu)?;
    let keys = KeyFile::read(&a.keys)?;
    let config = config_args(a, protocol, keys.key_size())?;
    let (plain, start_ns) = match &raw {
        Some(r) => {
            let selection = a.select.selection();
            if selection != capture::pcapng::Selection::default() {
                return Err(usage_err(
                    "--cmp-device/--cmp-stream/--cmp-interface select CMP messages of a \
                     pcapng input, not of a raw image"
                        .into(),
                ));
            }
            let vc = vc.unwrap_or_default();
            let bytes = read(input)?;
            (
                capture::raw_to_capture(&bytes, r, vc, first_frame)?,
                capture::pcapng::now_ns(),
            )
        }
        None => {
            let i = read_capture(input, a.select)?;
            let start = i
                .pcapng
                .as_ref()
                .and_then(|p| p.csi2_times.first().copied())
                .unwrap_or_else(capture::pcapng::now_ns);
            (i.csi2, start)
        }
    };
    let opts = ProtectOptions {
        protocol,
        config,
        vc: if raw.is_some() {
            Some(vc.unwrap_or_default())
        } else {
            vc
        },
        first_frame,
    };
    let mut bar = super::progress::Progress::new("protecting", "packets", true);
    let out = capture::protect_progress(&plain, &keys, &opts, &mut |d, t| bar.update(d, t))?;
    bar.finish();
    write_capture(output, &out, as_pcapng, start_ns, a.mtu)?;
    let packets = capture::scan(&plain).len();
    let c = &config.image;
    let what = if c.sv.authenticates() {
        format!(
            "SV-{} {} ({:?} tags, {} bytes)",
            c.sv.number(),
            c.suite.name(),
            c.tag_mode,
            c.tag_len.get()
        )
    } else {
        "SV-5 (no tags, CRC only)".to_string()
    };
    outln!(
        "protected {packets} packets ({} bytes) with {}, {what}: {} bytes of CSI-2 packets \
         written to {output}{}",
        plain.len(),
        protocol.name(),
        out.len(),
        if as_pcapng { " (pcapng)" } else { "" }
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs `cse verify`.
pub fn verify(args: &VerifyArgs) -> ExitCode {
    finish("verify", run_verify(args))
}

fn run_verify(a: &VerifyArgs) -> Result<ExitCode, Fail> {
    let protocol = a.protocol.protocol();
    let policy = policy_arg(a.policy)?;
    if let Some(out) = &a.out {
        not_the_input(&a.input, out, "the verified original packets")?;
        check_mtu(out, a.format.pcapng_for(out), a.mtu)?;
    } else if a.mtu.cmp_mtu.is_some() {
        return Err(usage_err(
            "--cmp-mtu segments the pcapng --out; there is none".into(),
        ));
    }
    let keys = KeyFile::read(&a.keys)?;
    let input = read_capture(&a.input, a.select)?;
    if let Some(p) = &input.pcapng {
        outln!("{}", capture::pcapng::describe(&p.stats));
    }
    let bytes = input.csi2;
    let mut bar = super::progress::Progress::new("verifying", "packets", true);
    let an = capture::analyse_with_progress(&bytes, Some(&keys), protocol, policy, &mut |d, t| {
        bar.update(d, t)
    })?;
    bar.finish();
    if let Some(out) = &a.out {
        let start = input
            .pcapng
            .as_ref()
            .and_then(|p| p.csi2_times.first().copied())
            .unwrap_or_else(capture::pcapng::now_ns);
        write_capture(out, &an.recovered, a.format.pcapng_for(out), start, a.mtu)?;
        outln!(
            "{} verified original packets ({} bytes) written to {out}",
            an.recovered_packets,
            an.recovered.len()
        );
    }
    let bad: Vec<_> = an.rows.iter().filter(|r| !r.verdict.is_ok()).collect();
    for r in bad.iter().take(MAX_LISTED) {
        outln!(
            "packet {} at byte {} ({}): {}",
            r.packet.index,
            r.packet.offset,
            r.packet.describe(&cse_core::Profile::DRAFT_1),
            r.verdict.describe()
        );
    }
    if bad.len() > MAX_LISTED {
        outln!(
            "... and {} more packets that did not verify (`cse inspect` lists every packet)",
            bad.len() - MAX_LISTED
        );
    }
    out!("{}", capture::summary(&an));
    if an.passed() {
        outln!("PASS: every packet verified");
        Ok(ExitCode::SUCCESS)
    } else {
        outln!("FAIL");
        Ok(ExitCode::FAILURE)
    }
}

/// Runs `cse inspect`.
pub fn inspect(args: &InspectArgs) -> ExitCode {
    finish("inspect", run_inspect(args))
}

fn run_inspect(a: &InspectArgs) -> Result<ExitCode, Fail> {
    let protocol = a.protocol.protocol();
    let policy = policy_arg(a.policy)?;
    let keys = match &a.keys {
        Some(p) => Some(KeyFile::read(p)?),
        None => None,
    };
    let input = read_capture(&a.input, a.select)?;
    if let (Some(p), false) = (&input.pcapng, a.json) {
        outln!("{}", capture::pcapng::describe(&p.stats));
    }
    let bytes = input.csi2;
    let an = capture::analyse(&bytes, keys.as_ref(), protocol, policy)?;
    if a.json {
        let stats = input.pcapng.as_ref().map(|p| &p.stats);
        out!(
            "{}",
            capture::to_json_line(&capture::inspect_report(&an, &bytes, stats))
        );
    } else {
        let width = crate::table::output_width();
        out!("{}", capture::inspect_text_width(&an, &bytes, width));
    }
    let ok = if an.keyed {
        an.passed()
    } else {
        an.rows
            .iter()
            .all(|r| r.status == capture::RowStatus::Sound)
    };
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Runs `cse keygen`: writes a key file with fresh random keys from the operating system
/// (refuses to overwrite a file; mode 0600 on Unix).
pub fn keygen(args: &KeygenArgs) -> ExitCode {
    finish("keygen", run_keygen(args))
}

fn run_keygen(a: &KeygenArgs) -> Result<ExitCode, Fail> {
    use spdm_lite::crypto::RandomSource;
    use std::io::Write;
    use zeroize::Zeroize;
    let path = a.out.as_str();
    let n = match a.bits.as_str() {
        "128" => 16,
        "256" => 32,
        _ => return Err(usage_err("--bits takes 128 or 256".into())),
    };
    let key_id = a.key_id;
    if key_id > 3 {
        return Err(usage_err("--key-id takes 0 to 3".into()));
    }
    let mut buf = [0u8; 32 + 32 + 12];
    crate::OsRandom
        .fill(&mut buf)
        .map_err(|_| Fail(2, "the operating system random generator failed".into()))?;
    let (key, rest) = buf.split_at(32);
    let (mac, salt) = rest.split_at(32);
    let text = KeyFile::render(
        key.get(..n).unwrap_or_default(),
        a.mac_key.then(|| mac.get(..n).unwrap_or_default()),
        salt,
        key_id,
    );
    buf.zeroize();
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(|e| Fail(2, format!("cannot create {path}: {e}")))?;
    outln!("wrote a {}-bit key file to {path} (key id {key_id})", n * 8);
    Ok(ExitCode::SUCCESS)
}
