//! `cse provision --psk` / `--psk-record`: a PSK record is written for a PSK-only sensor (mode
//! 0600, never over an existing file, the PSK never in the tool's output), and a sensor that
//! holds the record's PSK is verified over the spdm-emu socket while one holding another PSK
//! is refused with the record left as it was.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::thread;

use cse_link::provision::{PSK_LEN, PskRecord, SimSensor};
use spdm_lite::crypto::{AlgorithmSet, RustCrypto};
use spdm_lite::emu::{
    CMD_NORMAL, CMD_SHUTDOWN, CMD_TEST, SERVER_HELLO, TRANSPORT_MCTP, read_frame, write_frame,
};
use spdm_lite::responder::{PskConfig, Responder, ResponderConfig};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cse-psk-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn cse(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cse"))
        .arg("provision")
        .args(args)
        .output()
        .unwrap()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Neither the PSK (in either hex case) nor a long piece of it is in the tool's output.
fn assert_secret_not_in(out: &Output, key: &[u8]) {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
    .to_lowercase();
    let h = hex(key);
    for w in h.as_bytes().windows(16) {
        assert!(!text.contains(std::str::from_utf8(w).unwrap()), "{text}");
    }
}

/// Serves one spdm-emu connection as a PSK-only sensor (set B, PSK with responder context)
/// holding `key` under `hint`, until SHUTDOWN or close. It serves no certificate chain (the
/// responder's slot storage is an empty in-process [`SimSensor`]).
fn serve_psk(listener: TcpListener, key: Vec<u8>, hint: Vec<u8>) {
    let set = AlgorithmSet::SET_B;
    let mut sim = SimSensor::new(set, "psk sensor", None).unwrap();
    let signer = sim.signer().unwrap();
    let mut rng = cse_link::OsRandom;
    let config = ResponderConfig {
        algorithms: set,
        cert_chain: &[],
        psk: Some(PskConfig {
            hint: &hint,
            key: &key,
            with_context: true,
        }),
        handshake_in_the_clear: false,
        data_transfer_size: 4096,
    };
    let mut rsp =
        Responder::with_provisioning(RustCrypto, &signer, &mut rng, config, &mut sim).unwrap();
    let (mut s, _) = listener.accept().unwrap();
    while let Ok(Some((cmd, _, mut payload))) = read_frame(&mut s) {
        let r = match cmd {
            CMD_TEST => write_frame(&mut s, CMD_TEST, TRANSPORT_MCTP, SERVER_HELLO),
            CMD_NORMAL => {
                let mut out = vec![0u8; 8192];
                let n = rsp.handle(&mut payload, &mut out).unwrap_or(0);
                write_frame(&mut s, CMD_NORMAL, TRANSPORT_MCTP, &out[..n])
            }
            _ => {
                let _ = write_frame(&mut s, CMD_SHUTDOWN, TRANSPORT_MCTP, &[]);
                break;
            }
        };
        if r.is_err() {
            break;
        }
    }
}

fn generate(path: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["--psk", path.to_str().unwrap()];
    args.extend_from_slice(extra);
    cse(&args)
}

#[test]
fn the_record_is_written_0600_and_the_psk_is_not_printed() {
    let d = tmp("write");
    let rec = d.join("sensor.psk");
    let out = generate(
        &rec,
        &["--device-serial", "SN-0042", "--psk-hint", "cam0-SN-0042"],
    );
    assert!(out.status.success(), "{out:?}");
    let r = PskRecord::read(&rec).unwrap();
    assert_eq!(r.key().len(), PSK_LEN);
    assert_ne!(r.key(), &[0u8; PSK_LEN][..]);
    assert_eq!(r.hint, "cam0-SN-0042");
    assert_eq!(r.device_serial.as_deref(), Some("SN-0042"));
    assert_secret_not_in(&out, r.key());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&rec).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // A second record for another sensor has another PSK; the hint defaults to the serial.
    let rec2 = d.join("other.psk");
    assert!(
        generate(&rec2, &["--device-serial", "SN-0043"])
            .status
            .success()
    );
    let r2 = PskRecord::read(&rec2).unwrap();
    assert_ne!(r.key(), r2.key());
    assert_eq!(r2.hint, "SN-0043");
}

#[test]
fn an_existing_file_is_never_overwritten() {
    let d = tmp("exists");
    let rec = d.join("sensor.psk");
    // An existing record of a real sensor, and an unrelated file: both stay byte for byte.
    assert!(generate(&rec, &[]).status.success());
    let before = std::fs::read(&rec).unwrap();
    let out = generate(&rec, &["--device-serial", "SN-1"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_eq!(std::fs::read(&rec).unwrap(), before);
    let other = d.join("notes.txt");
    std::fs::write(&other, b"precious\n").unwrap();
    let out = generate(&other, &[]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert_eq!(std::fs::read(&other).unwrap(), b"precious\n");
    // Neither --connect nor --ca goes with --psk (it sends nothing to a sensor).
    let out = generate(&d.join("x.psk"), &["--connect", "127.0.0.1:1"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!d.join("x.psk").exists());
    // A malformed record is bad input for --psk-record (exit 2), read only.
    let out = cse(&[
        "--psk-record",
        other.to_str().unwrap(),
        "--connect",
        "127.0.0.1:1",
    ]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("PSK record"));
    assert_eq!(std::fs::read(&other).unwrap(), b"precious\n");
}

fn verify(rec: &Path, sensor_key: Vec<u8>, sensor_hint: &str) -> Output {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let hint = sensor_hint.as_bytes().to_vec();
    let t = thread::spawn(move || serve_psk(listener, sensor_key, hint));
    let out = cse(&[
        "--psk-record",
        rec.to_str().unwrap(),
        "--connect",
        &addr,
        "--shutdown",
    ]);
    t.join().unwrap();
    out
}

#[test]
fn a_sensor_holding_the_psk_verifies_and_one_with_another_is_refused() {
    let d = tmp("verify");
    let rec = d.join("sensor.psk");
    assert!(
        generate(&rec, &["--device-serial", "SN-7", "--psk-hint", "cam7"])
            .status
            .success()
    );
    let before = std::fs::read(&rec).unwrap();
    let r = PskRecord::read(&rec).unwrap();

    // The programming step installed the record: the sensor holds its PSK under its hint.
    let out = verify(&rec, r.key().to_vec(), "cam7");
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("holds the PSK"));
    assert_secret_not_in(&out, r.key());

    // A sensor programmed with another PSK under the same hint: refused, record unchanged.
    let mut other = r.key().to_vec();
    other[0] ^= 1;
    let out = verify(&rec, other, "cam7");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("holds the PSK"));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("does not hold the record's PSK: PSK session"),
        "{err}"
    );
    assert_secret_not_in(&out, r.key());
    assert_eq!(std::fs::read(&rec).unwrap(), before);

    // The right PSK under another hint (the ECU could not pick it): refused too.
    let out = verify(&rec, r.key().to_vec(), "cam8");
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert_eq!(std::fs::read(&rec).unwrap(), before);
}

#[test]
fn records_round_trip_and_malformed_ones_are_refused_without_the_key() {
    let key = [0xa5u8; 32];
    let r = PskRecord::from_key(Some("SN-1".into()), "cam0".into(), &key).unwrap();
    assert!(!format!("{r:?}").contains("a5a5"));
    let text = r.to_text();
    let back = PskRecord::parse(&text).unwrap();
    assert_eq!(back.key(), &key[..]);
    assert_eq!(back.hint, "cam0");
    assert_eq!(back.device_serial.as_deref(), Some("SN-1"));
    for bad in [
        text.replace("psk: a5", "psk: g5"),
        text.replace("psk: a5", "psk: a"),
        text.replace("psk-hint: cam0\n", ""),
        format!("{}psk-hint: x\n", &*text),
        text.replace("device-serial", "serial"),
    ] {
        let e = PskRecord::parse(&bad).unwrap_err().to_string();
        assert!(!e.contains("a5a5"), "{e}");
    }
    assert!(PskRecord::generate(None, "bad\nhint".into()).is_err());
    assert!(PskRecord::from_key(None, "h".into(), &[1; 8]).is_err());
}
