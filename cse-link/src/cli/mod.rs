//! The `cse` command line, one module per subcommand; `main.rs` only parses ([`Cli`]) and
//! dispatches ([`run`]).
//!
//! Exit statuses: 0 on success, 1 when the run itself failed (an attack undetected, a capture
//! that does not verify), 2 for bad arguments or unreadable input (clap's usage errors exit 2
//! as well).

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand, ValueEnum, builder::PossibleValue};
use cse_core::{CipherSuite, SecurityVariant, TagLen, TagMode};

use crate::Protocol;

/// `print!` without the panic: a report written into a closed pipe (`cse inspect | head`)
/// ends quietly instead of aborting with "failed printing to stdout". The exit status still
/// carries the verdict.
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout().lock(), $($t)*);
    }};
}

/// `println!` without the panic, as [`out!`].
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($t)*);
    }};
}

pub mod capture;
pub mod demo;
pub mod pki;
pub mod progress;
pub mod provision;
pub mod vectors;

const EXAMPLES: &str = "\
Examples:
  cse demo                                  the main job: SPDM, CCISE, SEP stream, attacks
  cse demo --protocol fsed --sv 2 --json    one configuration, machine-readable report
  cse vectors --out vectors/
  cse keygen --out keys.txt
  cse pki init --out ca/ --name ACME
  cse pki issue --ca ca/ --csr device.csr --out device.cert.der --chain-out device.chain.der
  cse provision --connect 127.0.0.1:2323 --ca ca/
  cse provision --connect 127.0.0.1:2323 --ca ca/ --station-cert station.chain.der --station-key station.key
  cse provision --psk sensor.psk --device-serial SN-0001   (then --psk-record sensor.psk --connect ...)
  cse protect --in frames.raw --raw12 --width 1920 --height 1080 --keys keys.txt --out frames.sep
  cse verify --in frames.sep --keys keys.txt --out frames.plain
  cse inspect --in frames.sep --keys keys.txt
  cse completions bash > ~/.local/share/bash-completion/completions/cse

Exit status: 0 success, 1 the run failed (an attack undetected, a capture that does not
verify), 2 bad arguments or unreadable input.";

/// The `cse` command line.
#[derive(Debug, Parser)]
#[command(
    name = "cse",
    version,
    about = "A secured MIPI camera link (SPDM, CCISE, SEP/FSED): demo, golden vectors, \
             protected captures",
    after_help = EXAMPLES,
    arg_required_else_help = true
)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands of `cse`.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the demo: authenticate with SPDM, configure over CCISE, stream frames, then
    /// inject every attack and report what the link detected.
    Demo(demo::DemoArgs),
    /// Write the golden test vectors (docs/vectors.md) into a directory.
    Vectors(vectors::VectorsArgs),
    /// Protect a capture of CSI-2 packets (or a raw RAW10/RAW12 image) with SEP or FSED.
    Protect(capture::ProtectArgs),
    /// Verify a protected capture; exit 0 only when every packet verified.
    Verify(capture::VerifyArgs),
    /// List every packet of a capture (plain or protected) with its verdict.
    Inspect(capture::InspectArgs),
    /// Write a key file with fresh random keys (never overwrites a file).
    Keygen(capture::KeygenArgs),
    /// The manufacturer PKI: create a root and intermediate CA, sign device certificates.
    Pki(pki::PkiArgs),
    /// The factory station: provision a sensor over the spdm-emu socket (GET_CSR, sign,
    /// SET_CERTIFICATE) and verify it against the manufacturer root; with `--station-cert`,
    /// renew a sensor in service inside a mutually authenticated session.
    Provision(provision::ProvisionArgs),
    /// Print a shell completion script to standard output.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
}

/// Runs the parsed command line and returns the exit status.
pub fn run(cli: Cli) -> ExitCode {
    match cli.command {
        Command::Demo(a) => demo::main(&a),
        Command::Vectors(a) => vectors::main(&a),
        Command::Protect(a) => capture::protect(&a),
        Command::Verify(a) => capture::verify(&a),
        Command::Inspect(a) => capture::inspect(&a),
        Command::Keygen(a) => capture::keygen(&a),
        Command::Pki(a) => pki::main(&a),
        Command::Provision(a) => provision::main(&a),
        Command::Completions { shell } => {
            let mut cmd = Cli::command();
            clap_complete::generate(shell, &mut cmd, "cse", &mut std::io::stdout());
            ExitCode::SUCCESS
        }
    }
}

/// The usage line clap renders for subcommand `name` (`Usage: cse demo [OPTIONS]`), for the
/// messages of usage errors found after parsing.
pub fn usage(name: &str) -> String {
    let mut cmd = Cli::command();
    cmd.build();
    match cmd.find_subcommand_mut(name) {
        Some(sub) => sub.render_usage().to_string(),
        None => cmd.render_usage().to_string(),
    }
}

/// `--protocol sep|fsed`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ProtocolArg {
    /// Service Extension Packets: every packet wrapped.
    Sep,
    /// Frame-based, legacy-transparent protection.
    Fsed,
}

impl From<ProtocolArg> for Protocol {
    fn from(p: ProtocolArg) -> Self {
        match p {
            ProtocolArg::Sep => Protocol::Sep,
            ProtocolArg::Fsed => Protocol::Fsed,
        }
    }
}

/// `--sv 1|2|5`: the security variants the tools configure.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SvArg {
    /// SV-1: full integrity and encryption.
    #[value(name = "1")]
    Sv1,
    /// SV-2: full integrity, no encryption.
    #[value(name = "2")]
    Sv2,
    /// SV-5: no security (CRCs and counters only).
    #[value(name = "5")]
    Sv5,
}

impl From<SvArg> for SecurityVariant {
    fn from(s: SvArg) -> Self {
        match s {
            SvArg::Sv1 => SecurityVariant::FullIntegrityEncrypted,
            SvArg::Sv2 => SecurityVariant::FullIntegrity,
            SvArg::Sv5 => SecurityVariant::NoSecurity,
        }
    }
}

/// `--tag-mode message|datatype|frame`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TagModeArg {
    /// A tag on every packet (SEP only).
    Message,
    /// One tag per data type and frame.
    Datatype,
    /// One tag per block and frame.
    Frame,
}

impl From<TagModeArg> for TagMode {
    fn from(m: TagModeArg) -> Self {
        match m {
            TagModeArg::Message => TagMode::PerMessage,
            TagModeArg::Datatype => TagMode::PerDataType,
            TagModeArg::Frame => TagMode::PerFrame,
        }
    }
}

/// `--tag-len 16|12|8`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TagLenArg {
    /// 16-byte tags.
    #[value(name = "16")]
    L16,
    /// 12-byte tags.
    #[value(name = "12")]
    L12,
    /// 8-byte tags.
    #[value(name = "8")]
    L8,
}

impl From<TagLenArg> for TagLen {
    fn from(l: TagLenArg) -> Self {
        match l {
            TagLenArg::L16 => TagLen::L16,
            TagLenArg::L12 => TagLen::L12,
            TagLenArg::L8 => TagLen::L8,
        }
    }
}

/// `--suite NAME`: a cipher suite by its name (`AES-256-GCM`; the arguments taking it ignore
/// case).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SuiteArg(pub CipherSuite);

const SUITES: [SuiteArg; CipherSuite::ALL.len()] = {
    let mut out = [SuiteArg(CipherSuite::Aes128Gmac); CipherSuite::ALL.len()];
    let mut i = 0;
    while i < out.len() {
        out[i] = SuiteArg(CipherSuite::ALL[i]);
        i += 1;
    }
    out
};

impl ValueEnum for SuiteArg {
    fn value_variants<'a>() -> &'a [Self] {
        &SUITES
    }

    fn to_possible_value(&self) -> Option<PossibleValue> {
        let s = self.0;
        let help = match (s.encrypts(), s.needs_mac_key()) {
            (true, true) => "encrypts (AES-CTR) and authenticates (CMAC, own key): SV-1",
            (true, false) => "encrypts and authenticates (AES-GCM): SV-1",
            (false, _) => "integrity only: SV-2 and the embedded-data blocks",
        };
        Some(PossibleValue::new(s.name()).help(help))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_suite_is_a_possible_value() {
        let names: Vec<String> = SuiteArg::value_variants()
            .iter()
            .filter_map(|s| s.to_possible_value())
            .map(|v| v.get_name().to_string())
            .collect();
        let want: Vec<String> = CipherSuite::ALL.iter().map(|s| s.name().into()).collect();
        assert_eq!(names, want);
        for s in CipherSuite::ALL {
            let lower = s.name().to_ascii_lowercase();
            assert_eq!(SuiteArg::from_str(&lower, true), Ok(SuiteArg(s)));
        }
        assert!(SuiteArg::from_str("AES-512-GCM", true).is_err());
    }
}
