//! `cse provision`: the factory station (`docs/provisioning.md`). Connects to a sensor's SPDM
//! responder over the DMTF spdm-emu socket protocol (the `spdm-responder` example with
//! `--state`, `spdm_responder_emu`, or a bridge to a real device), requests a CSR, signs it with
//! the manufacturer's intermediate, installs the chain with SET_CERTIFICATE, then checks it on
//! a fresh connection against the manufacturer root and prints the device's identity.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use spdm_lite::emu::{
    CLIENT_HELLO, CMD_NORMAL, CMD_SHUTDOWN, CMD_TEST, TRANSPORT_MCTP, command_name, read_frame,
    write_frame,
};

use crate::pki::{CaSet, PkiError};
use crate::provision::{ProvisionError, ProvisionOptions, provision};

/// The arguments of `cse provision`.
#[derive(Clone, Debug, clap::Args)]
pub struct ProvisionArgs {
    /// The sensor's responder (spdm-emu socket protocol, MCTP transport).
    #[arg(long, value_name = "HOST:PORT", default_value = "127.0.0.1:2323")]
    pub connect: String,
    /// The manufacturer CA directory (`cse pki init`): the intermediate signs, the root
    /// verifies.
    #[arg(long, value_name = "DIR")]
    pub ca: PathBuf,
    /// The device serial for the certificate subject; by default the CSR's, or the key
    /// fingerprint.
    #[arg(long)]
    pub device_serial: Option<String>,
    /// Send the spdm-emu SHUTDOWN at the end (the `spdm-responder` example then exits).
    #[arg(long)]
    pub shutdown: bool,
}

/// Runs `cse provision`. Exit status 0 when the sensor was provisioned and verified, 1 when
/// it refused or did not verify (not in factory mode, a bad CSR, a chain it does not serve),
/// 2 for bad arguments, an unreadable CA or a connection that fails.
pub fn main(a: &ProvisionArgs) -> ExitCode {
    match run(a) {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, msg)) => {
            eprintln!("cse provision: {msg}");
            ExitCode::from(code)
        }
    }
}

fn run(a: &ProvisionArgs) -> Result<(), (u8, String)> {
    let ca = CaSet::read_dir(&a.ca).map_err(|e| {
        let code = if matches!(e, PkiError::Io { .. }) {
            2
        } else {
            1
        };
        (code, e.to_string())
    })?;
    let mut s =
        TcpStream::connect(&a.connect).map_err(|e| (2, format!("connect {}: {e}", a.connect)))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| (2, e.to_string()))?;
    let io = |e: std::io::Error| (2, format!("{}: {e}", a.connect));
    write_frame(&mut s, CMD_TEST, TRANSPORT_MCTP, CLIENT_HELLO).map_err(io)?;
    match read_frame(&mut s).map_err(io)? {
        Some((CMD_TEST, ..)) => {}
        Some((cmd, ..)) => {
            return Err((
                2,
                format!("expected the TEST hello, got {}", command_name(cmd)),
            ));
        }
        None => return Err((2, "the responder closed the connection".into())),
    }
    outln!(
        "cse provision: connected to {} ({} CA {})",
        a.connect,
        ca.curve,
        a.ca.display()
    );
    let mut transact = |msg: &[u8]| -> Result<Vec<u8>, String> {
        write_frame(&mut s, CMD_NORMAL, TRANSPORT_MCTP, msg).map_err(|e| e.to_string())?;
        match read_frame(&mut s).map_err(|e| e.to_string())? {
            Some((CMD_NORMAL, TRANSPORT_MCTP, p)) => Ok(p),
            Some((cmd, t, _)) => Err(format!(
                "expected NORMAL/MCTP, got {} with transport type {t}",
                command_name(cmd)
            )),
            None => Err("the responder closed the connection".into()),
        }
    };
    let opts = ProvisionOptions {
        device_serial: a.device_serial.clone(),
        serial: None,
    };
    let done = provision(&mut transact, &ca, &opts).map_err(|e| {
        let code = if matches!(e, ProvisionError::Transport(_)) {
            2
        } else {
            1
        };
        (code, e.to_string())
    })?;
    outln!("cse provision: installed and verified against the manufacturer root:");
    outln!("  subject:        {}", done.subject);
    outln!(
        "  serial:         {}",
        done.serial.as_deref().unwrap_or("(none)")
    );
    outln!("  key SHA-256:    {}", done.fingerprint);
    outln!(
        "  chain:          {} bytes (root, intermediate, device)",
        done.certificates.len()
    );
    if a.shutdown {
        write_frame(&mut s, CMD_SHUTDOWN, TRANSPORT_MCTP, &[]).map_err(io)?;
        let _ = read_frame(&mut s);
    }
    Ok(())
}
