//! `cse provision`: the factory station (`docs/provisioning.md`). Connects to a sensor's SPDM
//! responder over the DMTF spdm-emu socket protocol (the `spdm-responder` example with
//! `--state`, `spdm_responder_emu`, or a bridge to a real device), requests a CSR, signs it with
//! the manufacturer's intermediate, installs the chain with SET_CERTIFICATE, then checks it on
//! a fresh connection against the manufacturer root and prints the device's identity.
//!
//! With `--station-cert FILE --station-key FILE` it re-provisions a sensor that already has an
//! identity (certificate renewal): the sensor is authenticated against the manufacturer root,
//! the station authenticates to it with its own requester certificate (session mutual
//! authentication), and GET_CSR / SET_CERTIFICATE run inside that session.
//!
//! For PSK-only sensors, `--psk OUT` writes a new PSK record (mode 0600, never over an existing
//! file) for the manufacturer's programming step, and `--psk-record FILE --connect ADDR`
//! checks that a programmed sensor holds it (PSK_EXCHANGE, PSK_FINISH). The PSK is never
//! printed.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use spdm_lite::emu::{
    CLIENT_HELLO, CMD_NORMAL, CMD_SHUTDOWN, CMD_TEST, TRANSPORT_MCTP, command_name, read_frame,
    write_frame,
};

use crate::pki::{CaSet, PkiError};
use crate::provision::{
    ProvisionError, ProvisionOptions, PskRecord, PskRecordError, StationIdentity, provision,
    reprovision, verify_psk,
};

/// The arguments of `cse provision`.
#[derive(Clone, Debug, clap::Args)]
pub struct ProvisionArgs {
    /// The sensor's responder (spdm-emu socket protocol, MCTP transport); 127.0.0.1:2323
    /// when provisioning a certificate. Not with `--psk`.
    #[arg(long, value_name = "HOST:PORT", conflicts_with = "psk")]
    pub connect: Option<String>,
    /// The manufacturer CA directory (`cse pki init`): the intermediate signs, the root
    /// verifies. Required unless `--psk` or `--psk-record`.
    #[arg(
        long,
        value_name = "DIR",
        required_unless_present_any = ["psk", "psk_record"],
        conflicts_with_all = ["psk", "psk_record"]
    )]
    pub ca: Option<PathBuf>,
    /// The device serial: for the certificate subject (by default the CSR's, or the key
    /// fingerprint), or for the PSK record.
    #[arg(long)]
    pub device_serial: Option<String>,
    /// PSK-only sensor: write a new PSK record (a fresh 32-byte PSK) to this file, created
    /// with mode 0600 and never over an existing file. Nothing is sent to a sensor: the
    /// manufacturer's programming step installs the record; check it with `--psk-record`.
    #[arg(long, value_name = "OUT_RECORD", conflicts_with = "psk_record")]
    pub psk: Option<PathBuf>,
    /// The PSK hint of the record `--psk` writes (default: the device serial, else "cam0").
    #[arg(long, value_name = "TEXT", requires = "psk")]
    pub psk_hint: Option<String>,
    /// Check that the sensor at `--connect` holds this PSK record's key (PSK_EXCHANGE,
    /// PSK_FINISH, END_SESSION). The record is only read.
    #[arg(long, value_name = "FILE", requires = "connect")]
    pub psk_record: Option<PathBuf>,
    /// Re-provision inside an authenticated session (certificate renewal of a sensor that
    /// already has an identity): the station's own requester certificate chain, root first
    /// (`cse pki issue --role requester --chain-out`, concatenated DER) under a root the
    /// sensor trusts for requesters. With `--station-key`.
    #[arg(
        long,
        value_name = "FILE",
        requires_all = ["station_key", "ca"],
        conflicts_with_all = ["psk", "psk_record"]
    )]
    pub station_cert: Option<PathBuf>,
    /// The private key of `--station-cert` (SEC1 or PKCS#8 DER); never printed.
    #[arg(long, value_name = "FILE", requires = "station_cert")]
    pub station_key: Option<PathBuf>,
    /// Send the spdm-emu SHUTDOWN at the end (the `spdm-responder` example then exits).
    #[arg(long)]
    pub shutdown: bool,
}

/// Runs `cse provision`. Exit status 0 when the sensor was provisioned and verified, 1 when
/// it refused or did not verify (not in factory mode, a bad CSR, a chain it does not serve),
/// 2 for bad arguments, an unreadable CA or a connection that fails. With `--psk`: 0 when the
/// record was written, 2 when it was not (an existing file, a bad serial or hint). With
/// `--psk-record`: 0 when the sensor holds the PSK, 1 when it does not, 2 for an unreadable
/// or malformed record or a connection that fails. With `--station-cert`: as without, 1 also
/// when the sensor refuses the station's certificate or provisioning in the session, 2 also
/// for an unreadable or invalid station certificate or key.
pub fn main(a: &ProvisionArgs) -> ExitCode {
    match run(a) {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, msg)) => {
            eprintln!("cse provision: {msg}");
            ExitCode::from(code)
        }
    }
}

/// A record that cannot be made, written or read is bad input: exit status 2.
fn record_error(e: PskRecordError) -> (u8, String) {
    (2, e.to_string())
}

fn run(a: &ProvisionArgs) -> Result<(), (u8, String)> {
    if let Some(out) = &a.psk {
        let hint = a
            .psk_hint
            .clone()
            .or_else(|| a.device_serial.clone())
            .unwrap_or_else(|| "cam0".into());
        let record = PskRecord::generate(a.device_serial.clone(), hint).map_err(record_error)?;
        record.write_new(out).map_err(record_error)?;
        outln!(
            "cse provision: wrote a new PSK record to {} (mode 0600; {} bytes of PSK, hint {:?}, \
             device serial {})",
            out.display(),
            record.key().len(),
            record.hint,
            record.device_serial.as_deref().unwrap_or("(none)")
        );
        outln!(
            "  the record is SECRET: program it into the sensor's secure storage and the ECU, \
             then check with --psk-record"
        );
        return Ok(());
    }
    let addr = a.connect.as_deref().unwrap_or("127.0.0.1:2323");
    if let Some(path) = &a.psk_record {
        let record = PskRecord::read(path).map_err(record_error)?;
        let mut s = connect(addr)?;
        outln!(
            "cse provision: connected to {addr}; checking the PSK of {} (hint {:?})",
            path.display(),
            record.hint
        );
        let mut transact = transact(&mut s);
        let mut call = |m: &[u8]| transact(m).map_err(ProvisionError::Transport);
        verify_psk(&mut call, &record).map_err(|e| {
            let code = if matches!(e, ProvisionError::Transport(_)) {
                2
            } else {
                1
            };
            (
                code,
                format!("the sensor does not hold the record's PSK: {e}"),
            )
        })?;
        drop(transact);
        outln!(
            "cse provision: the sensor holds the PSK of {} (PSK session established and ended)",
            path.display()
        );
        if a.shutdown {
            shutdown(&mut s, addr)?;
        }
        return Ok(());
    }
    let Some(ca_dir) = &a.ca else {
        return Err((2, "--ca DIR is required".into()));
    };
    let ca = CaSet::read_dir(ca_dir).map_err(|e| {
        let code = if matches!(e, PkiError::Io { .. }) {
            2
        } else {
            1
        };
        (code, e.to_string())
    })?;
    // The station's identity is bad input (exit 2) whatever is wrong with it.
    let station = match (&a.station_cert, &a.station_key) {
        (Some(cert), Some(key)) => Some(
            StationIdentity::read(ca.curve, cert, key)
                .map_err(|e| (2, format!("station identity {}: {e}", cert.display())))?,
        ),
        (None, None) => None,
        _ => return Err((2, "--station-cert and --station-key go together".into())),
    };
    let mut s = connect(addr)?;
    outln!(
        "cse provision: connected to {addr} ({} CA {})",
        ca.curve,
        ca_dir.display()
    );
    let mut transact = transact(&mut s);
    let opts = ProvisionOptions {
        device_serial: a.device_serial.clone(),
        serial: None,
    };
    let done = match &station {
        Some(station) => {
            outln!(
                "cse provision: re-provisioning inside a session, the station authenticated as {}",
                station.subject()
            );
            reprovision(&mut *transact, &ca, station, &opts)
        }
        None => provision(&mut *transact, &ca, &opts),
    }
    .map_err(|e| {
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
    drop(transact);
    if a.shutdown {
        shutdown(&mut s, addr)?;
    }
    Ok(())
}

/// Connects to `addr` and exchanges the spdm-emu TEST hello.
fn connect(addr: &str) -> Result<TcpStream, (u8, String)> {
    let mut s = TcpStream::connect(addr).map_err(|e| (2, format!("connect {addr}: {e}")))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| (2, e.to_string()))?;
    let io = |e: std::io::Error| (2, format!("{addr}: {e}"));
    write_frame(&mut s, CMD_TEST, TRANSPORT_MCTP, CLIENT_HELLO).map_err(io)?;
    match read_frame(&mut s).map_err(io)? {
        Some((CMD_TEST, ..)) => Ok(s),
        Some((cmd, ..)) => Err((
            2,
            format!("expected the TEST hello, got {}", command_name(cmd)),
        )),
        None => Err((2, "the responder closed the connection".into())),
    }
}

/// One MCTP message over the spdm-emu socket `s`, its answer back.
fn transact(s: &mut TcpStream) -> Box<crate::provision::Transact<'_>> {
    Box::new(move |msg: &[u8]| -> Result<Vec<u8>, String> {
        write_frame(s, CMD_NORMAL, TRANSPORT_MCTP, msg).map_err(|e| e.to_string())?;
        match read_frame(s).map_err(|e| e.to_string())? {
            Some((CMD_NORMAL, TRANSPORT_MCTP, p)) => Ok(p),
            Some((cmd, t, _)) => Err(format!(
                "expected NORMAL/MCTP, got {} with transport type {t}",
                command_name(cmd)
            )),
            None => Err("the responder closed the connection".into()),
        }
    })
}

/// Sends the spdm-emu SHUTDOWN and waits for its answer.
fn shutdown(s: &mut TcpStream, addr: &str) -> Result<(), (u8, String)> {
    write_frame(s, CMD_SHUTDOWN, TRANSPORT_MCTP, &[]).map_err(|e| (2, format!("{addr}: {e}")))?;
    let _ = read_frame(s);
    Ok(())
}
