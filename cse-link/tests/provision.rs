//! `cse provision` end to end: an unprovisioned in-process sensor (spdm-lite responder with
//! provisioning) is provisioned by the factory station, over the spdm-emu socket by the `cse`
//! binary and in process by the library, then authenticates against the manufacturer root;
//! a sensor that is no longer in factory mode, or that trusts another root, is not
//! (re)provisioned and keeps what it had.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::thread;

use cse_link::pki::{self, CaSet, Curve};
use cse_link::provision::{
    ProvisionError, ProvisionOptions, Provisioned, SimSensor, Transact, authenticate, provision,
};
use spdm_lite::crypto::AlgorithmSet;
use spdm_lite::emu::{
    CMD_NORMAL, CMD_SHUTDOWN, CMD_TEST, SERVER_HELLO, TRANSPORT_MCTP, read_frame, write_frame,
};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cse-prov-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Serves one spdm-emu connection on `listener` as `sensor` until SHUTDOWN or close, and
/// gives the sensor back.
fn serve(listener: TcpListener, mut sensor: SimSensor, set: AlgorithmSet) -> SimSensor {
    let (mut s, _) = listener.accept().unwrap();
    sensor
        .serve(set, |rsp| {
            while let Some((cmd, _, mut payload)) = read_frame(&mut s).unwrap() {
                match cmd {
                    CMD_TEST => write_frame(&mut s, CMD_TEST, TRANSPORT_MCTP, SERVER_HELLO),
                    CMD_NORMAL => {
                        let mut out = vec![0u8; 8192];
                        let n = rsp.handle(&mut payload, &mut out).unwrap();
                        write_frame(&mut s, CMD_NORMAL, TRANSPORT_MCTP, &out[..n])
                    }
                    _ => {
                        let _ = write_frame(&mut s, CMD_SHUTDOWN, TRANSPORT_MCTP, &[]);
                        break;
                    }
                }
                .unwrap();
            }
        })
        .unwrap();
    sensor
}

/// Runs `f` with a transact function talking to `sensor`'s responder in process.
fn in_process<R>(
    sensor: &mut SimSensor,
    set: AlgorithmSet,
    f: impl FnOnce(&mut Transact<'_>) -> R,
) -> R {
    sensor
        .serve(set, |rsp| {
            let mut t = |msg: &[u8]| {
                let mut m = msg.to_vec();
                let mut out = vec![0u8; 8192];
                let n = rsp.handle(&mut m, &mut out).map_err(|e| e.to_string())?;
                Ok(out[..n].to_vec())
            };
            f(&mut t)
        })
        .unwrap()
}

fn verify(sensor: &mut SimSensor, set: AlgorithmSet, root: &[u8]) -> Result<Provisioned, String> {
    in_process(sensor, set, |t| {
        let mut call = |m: &[u8]| t(m).map_err(ProvisionError::Transport);
        authenticate(&mut call, root, set).map_err(|e| e.to_string())
    })
}

#[test]
fn the_station_provisions_a_sensor_over_the_socket() {
    let d = tmp("socket");
    let ca_dir = d.join("ca");
    let out = Command::new(env!("CARGO_BIN_EXE_cse"))
        .args([
            "pki",
            "init",
            "--out",
            ca_dir.to_str().unwrap(),
            "--name",
            "ACME",
        ])
        .output()
        .unwrap();
    assert!(out.status.success());
    let ca = CaSet::read_dir(&ca_dir).unwrap();
    let set = AlgorithmSet::SET_A;
    let sensor = SimSensor::new(set, "ACME camera", Some(&ca.root_cert)).unwrap();
    assert!(!sensor.is_provisioned());
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || serve(listener, sensor, set));
    let out = Command::new(env!("CARGO_BIN_EXE_cse"))
        .args([
            "provision",
            "--connect",
            &format!("127.0.0.1:{port}"),
            "--ca",
            ca_dir.to_str().unwrap(),
            "--device-serial",
            "SN-0001",
            "--shutdown",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut sensor = server.join().unwrap();
    assert!(sensor.is_provisioned());
    assert!(text.contains("SERIALNUMBER=SN-0001"), "{text}");
    // What the tool printed is what the sensor now serves, for its own key.
    let mut pk = [0u8; 97];
    let n = sensor.signer().unwrap().public_key_sec1(&mut pk).unwrap();
    let fp = pki::fingerprint(&pk[..n]);
    assert!(text.contains(&fp), "{text}");
    // The vehicle: a fresh connection authenticates it against the manufacturer root.
    let seen = verify(&mut sensor, set, &ca.root_cert).unwrap();
    assert_eq!(seen.fingerprint, fp);
    assert_eq!(seen.serial.as_deref(), Some("SN-0001"));
    assert!(seen.certificates.starts_with(&ca.root_cert));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn provisioning_in_process_both_sets_and_a_second_attempt_is_refused() {
    for (set, curve) in [
        (AlgorithmSet::SET_A, Curve::P256),
        (AlgorithmSet::SET_B, Curve::P384),
    ] {
        let ca = pki::init(curve, "ACME", 30).unwrap();
        let mut sensor = SimSensor::new(set, "ACME camera", Some(&ca.root_cert)).unwrap();
        // Unprovisioned: nothing to authenticate with.
        assert!(verify(&mut sensor, set, &ca.root_cert).is_err());
        let got = in_process(&mut sensor, set, |t| {
            provision(t, &ca, &ProvisionOptions::default())
        })
        .unwrap();
        assert!(sensor.is_provisioned());
        let installed = sensor.slot0().unwrap().to_vec();
        assert_eq!(verify(&mut sensor, set, &ca.root_cert).unwrap(), got);
        // Out of factory mode: a second station (even the genuine one) cannot replace it.
        let again = in_process(&mut sensor, set, |t| {
            provision(t, &ca, &ProvisionOptions::default())
        });
        assert!(
            matches!(again, Err(ProvisionError::NotInFactoryMode)),
            "{again:?}"
        );
        assert_eq!(sensor.slot0().unwrap(), &installed[..]);
        assert_eq!(verify(&mut sensor, set, &ca.root_cert).unwrap(), got);
    }
}

#[test]
fn a_counterfeit_provisioning_under_another_root_is_refused() {
    let set = AlgorithmSet::SET_A;
    let genuine = pki::init(Curve::P256, "ACME", 30).unwrap();
    let rogue = pki::init(Curve::P256, "ACME", 30).unwrap(); // same names, other keys
    // A sensor whose firmware trusts the genuine root refuses the rogue station's chain and
    // stays unprovisioned (still in factory mode for the genuine station).
    let mut sensor = SimSensor::new(set, "ACME camera", Some(&genuine.root_cert)).unwrap();
    let r = in_process(&mut sensor, set, |t| {
        provision(t, &rogue, &ProvisionOptions::default())
    });
    assert!(
        matches!(
            r,
            Err(ProvisionError::Spdm {
                step: "SET_CERTIFICATE",
                ..
            })
        ),
        "{r:?}"
    );
    assert!(!sensor.is_provisioned());
    in_process(&mut sensor, set, |t| {
        provision(t, &genuine, &ProvisionOptions::default())
    })
    .unwrap();
    // A sensor that trusts any root (counterfeit hardware) takes the rogue chain, and the
    // vehicle, which trusts the genuine root, refuses it.
    let mut fake = SimSensor::new(set, "ACME camera", None).unwrap();
    in_process(&mut fake, set, |t| {
        provision(t, &rogue, &ProvisionOptions::default())
    })
    .unwrap();
    let e = in_process(&mut fake, set, |t| {
        let mut call = |m: &[u8]| t(m).map_err(ProvisionError::Transport);
        authenticate(&mut call, &genuine.root_cert, set)
    });
    assert!(
        matches!(
            e,
            Err(ProvisionError::Spdm {
                error: spdm_lite::Error::Certificate(spdm_lite::cert::CertError::UntrustedRoot),
                ..
            })
        ),
        "{e:?}"
    );
    assert!(verify(&mut fake, set, &rogue.root_cert).is_ok());
}

#[test]
fn a_sensor_name_too_long_for_its_subject_is_refused() {
    let set = AlgorithmSet::SET_A;
    assert!(SimSensor::new(set, &"x".repeat(100), None).is_ok());
    assert!(SimSensor::new(set, &"x".repeat(101), None).is_err());
}

#[test]
fn a_wrong_ca_or_address_exits_2_and_provisions_nothing() {
    let d = tmp("args");
    let out = Command::new(env!("CARGO_BIN_EXE_cse"))
        .args([
            "provision",
            "--connect",
            "127.0.0.1:1",
            "--ca",
            d.join("none").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&d);
}
