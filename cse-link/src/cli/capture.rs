//! `cse protect`, `cse verify`, `cse inspect` and `cse keygen`: capture files (format in
//! `docs/capture.md`). The logic is in [`crate::capture`]; this module parses arguments,
//! reads and writes files and prints.
//!
//! Exit status: 0 success; 1 the capture does not verify (`verify`, `inspect`) or the input
//! cannot be protected (`protect`: a malformed or refused packet); 2 bad arguments, unreadable
//! or empty input, an invalid key file, or an output that cannot be written.

use std::process::ExitCode;

use cse_core::csi2::VirtualChannel;
use cse_core::{
    BlockConfig, CipherSuite, FrameConfig, KeyId, KeySize, Policy, SecurityVariant, SvLevel,
    TagLen, TagMode,
};

use crate::Protocol;
use crate::capture::{self, CaptureError, KeyFile, ProtectOptions, RawFormat, RawInput};

/// The usage line of `cse protect`.
pub const PROTECT_USAGE: &str = "cse protect --in FILE [--raw10|--raw12 --width W --height H] \
--out FILE --keys KEYFILE [--protocol sep|fsed] [--sv 1|2|5] [--suite NAME] \
[--tag-mode message|datatype|frame] [--tag-len 16|12|8] [--vc N] [--first-frame N]";

/// The usage line of `cse verify`.
pub const VERIFY_USAGE: &str = "cse verify --in FILE --keys KEYFILE [--protocol sep|fsed|auto] \
[--min-sv N] [--out PLAIN]";

/// The usage line of `cse inspect`.
pub const INSPECT_USAGE: &str =
    "cse inspect --in FILE [--keys KEYFILE] [--protocol sep|fsed|auto] [--min-sv N] [--json]";

/// The usage line of `cse keygen`.
pub const KEYGEN_USAGE: &str = "cse keygen --out KEYFILE [--bits 128|256] [--mac-key] [--key-id N]";

/// Findings `verify` prints before pointing at `inspect`.
const MAX_LISTED: usize = 20;

/// Parsed `--name value` options and flags.
struct Args {
    vals: Vec<(String, String)>,
    flags: Vec<String>,
}

impl Args {
    fn parse(args: &[String], with_value: &[&str], flags: &[&str]) -> Result<Args, String> {
        let mut a = Args {
            vals: Vec::new(),
            flags: Vec::new(),
        };
        let mut it = args.iter();
        while let Some(name) = it.next() {
            let n = name.as_str();
            if with_value.contains(&n) {
                let v = it.next().ok_or(format!("{n} needs a value"))?;
                if a.vals.iter().any(|(k, _)| k == n) {
                    return Err(format!("{n} given twice"));
                }
                a.vals.push((n.to_owned(), v.clone()));
            } else if flags.contains(&n) {
                if a.flags.iter().any(|k| k == n) {
                    return Err(format!("{n} given twice"));
                }
                a.flags.push(n.to_owned());
            } else {
                return Err(format!("unknown argument {n}"));
            }
        }
        Ok(a)
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.vals
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn need(&self, name: &str) -> Result<&str, String> {
        self.get(name).ok_or(format!("{name} is required"))
    }

    fn flag(&self, name: &str) -> bool {
        self.flags.iter().any(|f| f == name)
    }

    fn num<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>, String> {
        match self.get(name) {
            None => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| format!("{name}: `{v}` is not a valid number")),
        }
    }
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

fn finish(cmd: &str, usage: &str, r: Result<ExitCode, Fail>) -> ExitCode {
    match r {
        Ok(c) => c,
        Err(Fail(code, msg)) => {
            if code == 2 {
                eprintln!("cse {cmd}: {msg}\nusage: {usage}");
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

fn protocol_arg(a: &Args, allow_auto: bool) -> Result<Option<Protocol>, Fail> {
    match a.get("--protocol").map(str::to_ascii_lowercase).as_deref() {
        None => Ok(None),
        Some("sep") => Ok(Some(Protocol::Sep)),
        Some("fsed") => Ok(Some(Protocol::Fsed)),
        Some("auto") if allow_auto => Ok(None),
        Some(p) => Err(usage_err(format!("unknown protocol `{p}`"))),
    }
}

fn policy_arg(a: &Args) -> Result<Policy, Fail> {
    let n: u8 = a.num("--min-sv").map_err(usage_err)?.unwrap_or(2);
    let min = SvLevel::try_from(n).map_err(|_| usage_err("--min-sv takes 1 to 5".into()))?;
    Ok(Policy {
        min_top: min,
        min_image: min,
        min_bottom: min,
    })
}

fn suite_by_name(name: &str) -> Option<CipherSuite> {
    CipherSuite::ALL
        .into_iter()
        .find(|s| s.name().eq_ignore_ascii_case(name))
}

/// The frame configuration of `cse protect`: the same block configuration for the three
/// blocks. Without `--suite`: AES-GCM for SV-1, AES-GMAC otherwise, of the key file's size.
fn config_args(a: &Args, protocol: Protocol, key_size: KeySize) -> Result<FrameConfig, Fail> {
    let sv = match a.num::<u8>("--sv").map_err(usage_err)?.unwrap_or(1) {
        1 => SecurityVariant::FullIntegrityEncrypted,
        2 => SecurityVariant::FullIntegrity,
        5 => SecurityVariant::NoSecurity,
        _ => return Err(usage_err("--sv takes 1, 2 or 5".into())),
    };
    let suite = match a.get("--suite") {
        Some(n) => suite_by_name(n).ok_or_else(|| {
            let names: Vec<&str> = CipherSuite::ALL.iter().map(|s| s.name()).collect();
            usage_err(format!("unknown suite `{n}` (known: {})", names.join(", ")))
        })?,
        None => match (key_size, sv.encrypts()) {
            (KeySize::Aes128, true) => CipherSuite::Aes128Gcm,
            (KeySize::Aes128, false) => CipherSuite::Aes128Gmac,
            (KeySize::Aes256, true) => CipherSuite::Aes256Gcm,
            (KeySize::Aes256, false) => CipherSuite::Aes256Gmac,
        },
    };
    let tag_mode = match a.get("--tag-mode") {
        None => match protocol {
            Protocol::Sep => TagMode::PerMessage,
            Protocol::Fsed => TagMode::PerFrame,
        },
        Some("message") => TagMode::PerMessage,
        Some("datatype") => TagMode::PerDataType,
        Some("frame") => TagMode::PerFrame,
        Some(m) => {
            return Err(usage_err(format!(
                "unknown tag mode `{m}` (message, datatype, frame)"
            )));
        }
    };
    let tag_len = match a.num::<u8>("--tag-len").map_err(usage_err)?.unwrap_or(16) {
        16 => TagLen::L16,
        12 => TagLen::L12,
        8 => TagLen::L8,
        _ => return Err(usage_err("--tag-len takes 16, 12 or 8".into())),
    };
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
pub fn protect(args: &[String]) -> ExitCode {
    finish("protect", PROTECT_USAGE, run_protect(args))
}

fn run_protect(args: &[String]) -> Result<ExitCode, Fail> {
    let a = Args::parse(
        args,
        &[
            "--in",
            "--out",
            "--keys",
            "--protocol",
            "--sv",
            "--suite",
            "--tag-mode",
            "--tag-len",
            "--vc",
            "--first-frame",
            "--width",
            "--height",
        ],
        &["--raw10", "--raw12"],
    )
    .map_err(usage_err)?;
    let input = a.need("--in").map_err(usage_err)?;
    let output = a.need("--out").map_err(usage_err)?;
    let key_path = a.need("--keys").map_err(usage_err)?;
    let protocol = protocol_arg(&a, false)?.unwrap_or(Protocol::Sep);
    let vc = match a.num::<u8>("--vc").map_err(usage_err)? {
        Some(v) if v <= 3 => Some(VirtualChannel::new(v).map_err(|e| usage_err(e.to_string()))?),
        Some(v) => return Err(usage_err(format!("--vc {v}: D-PHY carries VC 0..=3"))),
        None => None,
    };
    let first_frame: u32 = a.num("--first-frame").map_err(usage_err)?.unwrap_or(1);
    let raw = match (a.flag("--raw10"), a.flag("--raw12")) {
        (true, true) => return Err(usage_err("--raw10 and --raw12 exclude each other".into())),
        (true, false) => Some(RawFormat::Raw10),
        (false, true) => Some(RawFormat::Raw12),
        (false, false) => None,
    };
    let geometry = (
        a.num::<usize>("--width").map_err(usage_err)?,
        a.num::<usize>("--height").map_err(usage_err)?,
    );
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
    let keys = KeyFile::read(key_path)?;
    let config = config_args(&a, protocol, keys.key_size())?;
    let bytes = read(input)?;
    let plain = match &raw {
        Some(r) => {
            let vc = vc.unwrap_or_default();
            capture::raw_to_capture(&bytes, r, vc, first_frame)?
        }
        None => bytes,
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
    let out = capture::protect(&plain, &keys, &opts)?;
    write(output, &out)?;
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
        "protected {packets} packets ({} bytes) with {}, {what}: {} bytes written to {output}",
        plain.len(),
        protocol.name(),
        out.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs `cse verify`.
pub fn verify(args: &[String]) -> ExitCode {
    finish("verify", VERIFY_USAGE, run_verify(args))
}

fn run_verify(args: &[String]) -> Result<ExitCode, Fail> {
    let a = Args::parse(
        args,
        &["--in", "--keys", "--protocol", "--min-sv", "--out"],
        &[],
    )
    .map_err(usage_err)?;
    let input = a.need("--in").map_err(usage_err)?;
    let key_path = a.need("--keys").map_err(usage_err)?;
    let protocol = protocol_arg(&a, true)?;
    let policy = policy_arg(&a)?;
    let keys = KeyFile::read(key_path)?;
    let bytes = read(input)?;
    let an = capture::analyse(&bytes, Some(&keys), protocol, policy)?;
    if let Some(out) = a.get("--out") {
        write(out, &an.recovered)?;
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
pub fn inspect(args: &[String]) -> ExitCode {
    finish("inspect", INSPECT_USAGE, run_inspect(args))
}

fn run_inspect(args: &[String]) -> Result<ExitCode, Fail> {
    let a = Args::parse(
        args,
        &["--in", "--keys", "--protocol", "--min-sv"],
        &["--json"],
    )
    .map_err(usage_err)?;
    let input = a.need("--in").map_err(usage_err)?;
    let protocol = protocol_arg(&a, true)?;
    let policy = policy_arg(&a)?;
    let keys = match a.get("--keys") {
        Some(p) => Some(KeyFile::read(p)?),
        None => None,
    };
    let bytes = read(input)?;
    let an = capture::analyse(&bytes, keys.as_ref(), protocol, policy)?;
    if a.flag("--json") {
        out!("{}", capture::inspect_json(&an, &bytes));
    } else {
        out!("{}", capture::inspect_text(&an, &bytes));
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
pub fn keygen(args: &[String]) -> ExitCode {
    finish("keygen", KEYGEN_USAGE, run_keygen(args))
}

fn run_keygen(args: &[String]) -> Result<ExitCode, Fail> {
    use spdm_lite::crypto::RandomSource;
    use std::io::Write;
    use zeroize::Zeroize;
    let a =
        Args::parse(args, &["--out", "--bits", "--key-id"], &["--mac-key"]).map_err(usage_err)?;
    let path = a.need("--out").map_err(usage_err)?;
    let n = match a.num::<u16>("--bits").map_err(usage_err)?.unwrap_or(256) {
        128 => 16,
        256 => 32,
        _ => return Err(usage_err("--bits takes 128 or 256".into())),
    };
    let key_id: u8 = a.num("--key-id").map_err(usage_err)?.unwrap_or(0);
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
        a.flag("--mac-key")
            .then(|| mac.get(..n).unwrap_or_default()),
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
