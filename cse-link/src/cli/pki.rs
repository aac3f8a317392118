//! `cse pki`: the manufacturer PKI (`docs/provisioning.md`): `init` creates a root and an
//! intermediate CA, `issue` signs a device's certificate signing request, `csr` makes a key
//! pair and request on the host (test and development identities; a real device makes its own
//! with SPDM GET_CSR).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::pki::{self, CaSet, CertRole, Curve, IssueOptions, PkiError};

/// The arguments of `cse pki`.
#[derive(Clone, Debug, clap::Args)]
pub struct PkiArgs {
    /// The operation.
    #[command(subcommand)]
    pub command: PkiCommand,
}

/// The operations of `cse pki`.
#[derive(Clone, Debug, clap::Subcommand)]
pub enum PkiCommand {
    /// Create a manufacturer root CA and intermediate CA in a new directory: root.cert.der,
    /// root.cert.pem, inter.cert.der, and their private keys root.key.der, inter.key.der
    /// (PKCS#8 DER, mode 0600). Never overwrites a file.
    Init(InitArgs),
    /// Check a device's PKCS#10 request (DER) and sign its device certificate with the
    /// intermediate CA; the result is checked with spdm-lite's chain verifier before it is
    /// written.
    Issue(IssueArgs),
    /// Make a device key pair (SEC1 DER) and its PKCS#10 request (DER) on this host: for test
    /// and development identities (a device makes its own with SPDM GET_CSR).
    Csr(CsrArgs),
}

/// `cse pki init`.
#[derive(Clone, Debug, clap::Args)]
pub struct InitArgs {
    /// The directory to create the CA in.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// The curve of the CA keys and of the device keys they certify (P-256: SPDM algorithm
    /// set A; P-384: set B).
    #[arg(long, value_enum, default_value = "p256")]
    pub curve: Curve,
    /// The manufacturer's name (the organization of both CAs; their common names are
    /// "NAME Root CA" and "NAME Intermediate CA").
    #[arg(long, default_value = "Example Sensor Manufacturer")]
    pub name: String,
    /// Validity of both CA certificates in years, from today.
    #[arg(long, default_value_t = 30)]
    pub years: u32,
}

/// `cse pki issue`.
#[derive(Clone, Debug, clap::Args)]
pub struct IssueArgs {
    /// The CA directory (`cse pki init`).
    #[arg(long, value_name = "DIR")]
    pub ca: PathBuf,
    /// The device's certificate signing request (PKCS#10 DER).
    #[arg(long, value_name = "FILE")]
    pub csr: PathBuf,
    /// The device certificate to write (DER; never overwritten).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Also write the device's whole chain, root || intermediate || device (concatenated DER:
    /// what the device's certificate slot holds).
    #[arg(long, value_name = "FILE")]
    pub chain_out: Option<PathBuf>,
    /// The certificate's serial number (decimal, or hex with 0x); random by default.
    #[arg(long)]
    pub serial: Option<String>,
    /// The device serial in the subject (serialNumber); by default the request's, or the
    /// first 16 hex digits of the device key's SHA-256.
    #[arg(long)]
    pub device_serial: Option<String>,
    /// The SPDM role the certificate authenticates: responder (a sensor or bridge) or
    /// requester (an ECU or factory station).
    #[arg(long, value_enum, default_value = "responder")]
    pub role: CertRole,
    /// Validity in years from today; by default none (notAfter 9999-12-31, IEEE 802.1AR).
    #[arg(long)]
    pub years: Option<u32>,
    /// Test PKI only: keyUsage keyEncipherment instead of digitalSignature (a certificate
    /// every SPDM verifier must refuse).
    #[arg(long, hide = true)]
    pub test_key_encipherment: bool,
}

/// `cse pki csr`.
#[derive(Clone, Debug, clap::Args)]
pub struct CsrArgs {
    /// The curve of the device key.
    #[arg(long, value_enum, default_value = "p256")]
    pub curve: Curve,
    /// The device's common name.
    #[arg(long)]
    pub cn: String,
    /// The device serial (the subject's serialNumber).
    #[arg(long)]
    pub device_serial: Option<String>,
    /// The private key to write (SEC1 DER, mode 0600; never overwritten).
    #[arg(long, value_name = "FILE", required_unless_present = "key")]
    pub key_out: Option<PathBuf>,
    /// Use this existing private key (SEC1 or PKCS#8 DER) instead of making one.
    #[arg(long, value_name = "FILE", conflicts_with = "key_out")]
    pub key: Option<PathBuf>,
    /// The request to write (PKCS#10 DER; never overwritten).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

/// Runs `cse pki`. Exit status 0 on success, 1 when the request or the CA was refused (a bad
/// signature, another curve, a chain that does not validate, a CA key file that does not
/// parse), 2 for bad arguments (a malformed `--serial` included) or files that cannot be read
/// or written.
pub fn main(args: &PkiArgs) -> ExitCode {
    let (name, r) = match &args.command {
        PkiCommand::Init(a) => ("init", init(a)),
        PkiCommand::Issue(a) => ("issue", issue(a)),
        PkiCommand::Csr(a) => ("csr", csr(a)),
    };
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cse pki {name}: {e}");
            let code = match e {
                PkiError::Io { .. } | PkiError::Generate(_) => 2,
                // A malformed command-line argument (`--serial`) is a usage error.
                PkiError::Malformed { what, .. } if what.starts_with("--") => 2,
                _ => 1,
            };
            ExitCode::from(code)
        }
    }
}

fn init(a: &InitArgs) -> Result<(), PkiError> {
    let ca = pki::init(a.curve, &a.name, a.years)?;
    ca.write_dir(&a.out)?;
    let (subject, _, _) = pki::describe(&ca.root_cert)?;
    outln!(
        "cse pki init: {} root and intermediate CA in {} (root: {subject}). Keep root.key.der \
         offline; the factory station needs inter.key.der; vehicles trust root.cert.der.",
        a.curve,
        a.out.display()
    );
    Ok(())
}

/// `--serial` as big-endian bytes: decimal, or hex with `0x`.
fn parse_serial(s: &str) -> Result<Vec<u8>, PkiError> {
    let bad = || PkiError::Malformed {
        what: "--serial",
        why: format!("{s:?} is neither a decimal number nor 0x-prefixed hex"),
    };
    let bytes = if let Some(h) = s.strip_prefix("0x") {
        if h.is_empty() || h.len() > 40 || !h.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let h = if h.len() % 2 == 1 {
            format!("0{h}")
        } else {
            h.to_string()
        };
        (0..h.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&h[i..i + 2], 16).map_err(|_| bad()))
            .collect::<Result<Vec<u8>, _>>()?
    } else {
        let n: u64 = s.parse().map_err(|_| bad())?;
        n.to_be_bytes().to_vec()
    };
    let trimmed: Vec<u8> = bytes.iter().copied().skip_while(|b| *b == 0).collect();
    if trimmed.is_empty() {
        return Err(PkiError::Malformed {
            what: "--serial",
            why: "a certificate serial number is positive".into(),
        });
    }
    Ok(trimmed)
}

fn read(p: &Path) -> Result<Vec<u8>, PkiError> {
    std::fs::read(p).map_err(|source| PkiError::Io {
        path: p.display().to_string(),
        source,
    })
}

fn issue(a: &IssueArgs) -> Result<(), PkiError> {
    let serial = a.serial.as_deref().map(parse_serial).transpose()?;
    let ca = CaSet::read_dir(&a.ca)?;
    let csr = pki::verify_csr(&read(&a.csr)?)?;
    let opts = IssueOptions {
        role: a.role,
        serial,
        device_serial: a.device_serial.clone(),
        years: a.years,
        test_key_encipherment: a.test_key_encipherment,
    };
    let cert = pki::issue(&ca, &csr, &opts)?;
    // Both outputs are checked before either is written: a refusal writes nothing.
    for p in [&a.out].into_iter().chain(&a.chain_out) {
        if p.exists() {
            return Err(PkiError::Io {
                path: p.display().to_string(),
                source: std::io::ErrorKind::AlreadyExists.into(),
            });
        }
    }
    pki::write_new(&a.out, &cert, false)?;
    if let Some(c) = &a.chain_out {
        pki::write_new(
            c,
            &[ca.root_cert.as_slice(), &ca.inter_cert, &cert].concat(),
            false,
        )?;
    }
    let (subject, _, key) = pki::describe(&cert)?;
    outln!(
        "cse pki issue: {} certificate for {subject} (key SHA-256 {}) in {}",
        match a.role {
            CertRole::Responder => "responder",
            CertRole::Requester => "requester",
        },
        pki::fingerprint(&key),
        a.out.display()
    );
    Ok(())
}

fn csr(a: &CsrArgs) -> Result<(), PkiError> {
    let existing = a.key.as_deref().map(read).transpose()?;
    let (key, req) = pki::device_csr(
        a.curve,
        &a.cn,
        a.device_serial.as_deref(),
        existing.as_deref(),
    )?;
    for p in a.key_out.iter().chain([&a.out]) {
        if p.exists() {
            return Err(PkiError::Io {
                path: p.display().to_string(),
                source: std::io::ErrorKind::AlreadyExists.into(),
            });
        }
    }
    if let Some(k) = &a.key_out {
        pki::write_new(k, &key, true)?;
    }
    pki::write_new(&a.out, &req, false)?;
    let key_path = a.key_out.as_ref().or(a.key.as_ref());
    outln!(
        "cse pki csr: {} key in {}, request in {}",
        a.curve,
        key_path
            .map(|p| p.display().to_string())
            .unwrap_or_default(),
        a.out.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serials_parse_as_positive_big_endian() {
        assert_eq!(parse_serial("3").unwrap(), vec![3]);
        assert_eq!(parse_serial("256").unwrap(), vec![1, 0]);
        assert_eq!(parse_serial("0x0102").unwrap(), vec![1, 2]);
        assert_eq!(parse_serial("0xabc").unwrap(), vec![0x0a, 0xbc]);
        for bad in ["0", "0x", "0x00", "-1", "x1", "0xg1", "1.5"] {
            assert!(parse_serial(bad).is_err(), "{bad}");
        }
    }
}
