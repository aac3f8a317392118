//! `cse provision --station-cert/--station-key` against the `spdm-responder` example as a
//! sensor (`--state` device): provisioned in factory mode, restarted with the session
//! provisioning policy and session mutual authentication, then re-provisioned inside a session
//! by a station whose requester certificate it trusts (new chain served, same device key). A
//! station under another root is refused at the handshake, a re-provisioning in the clear is
//! refused, and a sensor with the factory policy offers none; each leaves slot 0 and the chain
//! served as they were. A refusal inside the session (a SET_CERTIFICATE the sensor refuses, a
//! CSR for another key than the one it authenticated with: the example's test hook
//! `--test-hook-csr-for-another-key`) changes nothing either, and the station ends the session
//! (the sensor logs "session ended" before the connection closes).
#![allow(clippy::unwrap_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use cse_link::provision::{ProvisionError, Provisioned, authenticate};
use spdm_lite::crypto::AlgorithmSet;
use spdm_lite::emu::{
    CLIENT_HELLO, CMD_NORMAL, CMD_SHUTDOWN, CMD_TEST, TRANSPORT_MCTP, read_frame, write_frame,
};

const LIMIT: Duration = Duration::from_secs(60);

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cse-reprov-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Builds the `spdm-responder` example into this test's target directory (a no-op when it is
/// up to date) and returns its path.
fn responder_exe() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            // target/<profile>/deps/<this test>
            let exe = std::env::current_exe().unwrap();
            let dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
            let mut cmd = Command::new(env!("CARGO"));
            cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
                .args(["build", "--quiet", "-p", "spdm-lite", "--features", "std"])
                .args(["--example", "spdm-responder", "--target-dir"])
                .arg(dir.parent().unwrap());
            if dir.file_name().is_some_and(|n| n == "release") {
                cmd.arg("--release");
            }
            assert!(cmd.status().unwrap().success(), "building spdm-responder");
            let p = dir
                .join("examples")
                .join(format!("spdm-responder{}", std::env::consts::EXE_SUFFIX));
            assert!(p.is_file(), "{} missing", p.display());
            p
        })
        .clone()
}

/// A running `spdm-responder`; killed on drop if it has not exited.
struct Sensor {
    child: Child,
    port: u16,
    log: mpsc::Receiver<String>,
}

impl Sensor {
    /// Starts the example with `args` and waits until it listens.
    fn start(args: &[&str]) -> Self {
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut child = Command::new(responder_exe())
            .args(["--port", &port.to_string()])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let (tx, log) = mpsc::channel();
        for r in [
            Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>,
            Box::new(child.stderr.take().unwrap()),
        ] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(r).lines().map_while(Result::ok) {
                    println!("(sensor) {line}");
                    if tx.send(line).is_err() {
                        break;
                    }
                }
            });
        }
        let sensor = Self { child, port, log };
        let deadline = Instant::now() + LIMIT;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = sensor
                .log
                .recv_timeout(left)
                .expect("the sensor never listened");
            if line.contains("listening on") {
                return sensor;
            }
        }
    }

    fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Waits for the example to exit by itself (SHUTDOWN or end of stream).
    fn wait(self) {
        let _ = self.wait_log();
    }

    /// [`Sensor::wait`], returning what the example printed after it started listening.
    fn wait_log(mut self) -> Vec<String> {
        let deadline = Instant::now() + LIMIT;
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                assert!(st.success(), "the sensor exited with {st}");
                break;
            }
            assert!(Instant::now() < deadline, "the sensor did not exit");
            std::thread::sleep(Duration::from_millis(20));
        }
        // The readers end at the end of the pipes, which the exit closed.
        let mut lines = Vec::new();
        while let Ok(line) = self.log.recv_timeout(LIMIT) {
            lines.push(line);
        }
        lines
    }
}

/// Asserts that every session the sensor's log shows established was ended (END_SESSION)
/// before the connection closed, and returns how many there were.
fn sessions_all_ended(log: &[String]) -> usize {
    let mut open = 0usize;
    let mut opened = 0;
    for line in log {
        if line.contains("session established") {
            open += 1;
            opened += 1;
        } else if line.contains("session ended") {
            open = open
                .checked_sub(1)
                .expect("an END_SESSION without a session");
        } else if line.contains("end of stream") || line.contains("SHUTDOWN") {
            assert_eq!(
                open, 0,
                "the connection closed with a session open:\n{log:#?}"
            );
        }
    }
    assert_eq!(open, 0, "the sensor exited with a session open:\n{log:#?}");
    opened
}

impl Drop for Sensor {
    fn drop(&mut self) {
        if self.child.try_wait().ok().flatten().is_none() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn cse(args: &[&str]) -> Output {
    let out = Command::new(env!("CARGO_BIN_EXE_cse"))
        .args(args)
        .output()
        .unwrap();
    println!(
        "cse {args:?}: {}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A CA directory (`cse pki init`) and a requester (station) chain and key issued by it.
fn station(dir: &Path, name: &str) -> (PathBuf, PathBuf) {
    let ca = dir.join(format!("{name}-ca"));
    assert!(
        cse(&["pki", "init", "--out", s(&ca), "--name", name])
            .status
            .success()
    );
    let (key, csr) = (
        dir.join(format!("{name}.key")),
        dir.join(format!("{name}.csr")),
    );
    let (cert, chain) = (
        dir.join(format!("{name}.cert")),
        dir.join(format!("{name}.chain")),
    );
    let cn = format!("{name} station");
    assert!(
        cse(&[
            "pki",
            "csr",
            "--cn",
            &cn,
            "--key-out",
            s(&key),
            "--out",
            s(&csr)
        ])
        .status
        .success()
    );
    assert!(
        cse(&[
            "pki",
            "issue",
            "--ca",
            s(&ca),
            "--csr",
            s(&csr),
            "--out",
            s(&cert),
            "--chain-out",
            s(&chain),
            "--role",
            "requester",
        ])
        .status
        .success()
    );
    (chain, key)
}

/// The `slot0` line of a state file.
fn slot0(state: &Path) -> String {
    std::fs::read_to_string(state)
        .unwrap()
        .lines()
        .find(|l| l.starts_with("slot0 "))
        .unwrap_or("")
        .to_string()
}

/// What the sensor of `state` serves to a vehicle that trusts `root` (the example restarted
/// with its default policy, no mutual authentication).
fn served(state: &Path, root: &[u8]) -> Result<Provisioned, ProvisionError> {
    let sensor = Sensor::start(&["--state", s(state)]);
    let mut sock = TcpStream::connect(sensor.addr()).unwrap();
    write_frame(&mut sock, CMD_TEST, TRANSPORT_MCTP, CLIENT_HELLO).unwrap();
    read_frame(&mut sock).unwrap().unwrap();
    let mut call = |m: &[u8]| -> Result<Vec<u8>, ProvisionError> {
        write_frame(&mut sock, CMD_NORMAL, TRANSPORT_MCTP, m).unwrap();
        Ok(read_frame(&mut sock).unwrap().unwrap().2)
    };
    let r = authenticate(&mut call, root, AlgorithmSet::SET_A);
    write_frame(&mut sock, CMD_SHUTDOWN, TRANSPORT_MCTP, &[]).unwrap();
    let _ = read_frame(&mut sock);
    sensor.wait();
    r
}

/// The manufacturer CA, and a sensor provisioned by the factory flow (in the clear, factory
/// mode) with device serial SN-1: its state file and what it serves.
struct Factory {
    dir: PathBuf,
    ca: PathBuf,
    root: Vec<u8>,
    state: PathBuf,
    first: Provisioned,
}

fn factory(name: &str) -> Factory {
    let dir = tmp(name);
    let ca = dir.join("maker");
    assert!(
        cse(&["pki", "init", "--out", s(&ca), "--name", "ACME"])
            .status
            .success()
    );
    let root_path = ca.join("root.cert.der");
    let root = std::fs::read(&root_path).unwrap();
    let state = dir.join("sensor.state");
    let sensor = Sensor::start(&["--state", s(&state), "--root", s(&root_path)]);
    let out = cse(&[
        "provision",
        "--connect",
        &sensor.addr(),
        "--ca",
        s(&ca),
        "--device-serial",
        "SN-1",
        "--shutdown",
    ]);
    assert!(out.status.success());
    sensor.wait();
    assert!(!slot0(&state).is_empty());
    let first = served(&state, &root).unwrap();
    assert_eq!(first.serial.as_deref(), Some("SN-1"));
    Factory {
        dir,
        ca,
        root,
        state,
        first,
    }
}

/// The factory's sensor restarted with the in-service policy: provisioning only inside a
/// session whose requester authenticated, which may replace slot 0; mutual authentication
/// against `station_root`.
fn in_service(f: &Factory, station_root: &Path) -> Sensor {
    in_service_with(f, station_root, &[])
}

/// [`in_service`] with more options for the example responder.
fn in_service_with(f: &Factory, station_root: &Path, extra: &[&str]) -> Sensor {
    let mut args = vec![
        "--state",
        s(&f.state),
        "--provision-scope",
        "session",
        "--provision-overwrite",
        "session",
        "--mut-auth",
        "--req-root",
        s(station_root),
    ];
    args.extend_from_slice(extra);
    Sensor::start(&args)
}

/// Runs `cse provision --connect <sensor> --ca <f.ca> <args>` and asserts that it is refused
/// (exit 1, `why` in its message) and that nothing changed: slot 0 of the state file as
/// before, and (with `check_served`) the first identity still served; and that the station
/// ended every session it opened. Returns the tool's output (stdout then stderr) and the
/// number of sessions the sensor saw.
fn refused(
    f: &Factory,
    sensor: Sensor,
    args: &[&str],
    why: &str,
    check_served: bool,
) -> (String, usize) {
    let before = slot0(&f.state);
    let addr = sensor.addr();
    let mut all = vec!["provision", "--connect", &addr, "--ca", s(&f.ca)];
    all.extend_from_slice(args);
    let out = cse(&all);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(why), "{err}");
    let sessions = sessions_all_ended(&sensor.wait_log());
    assert_eq!(slot0(&f.state), before);
    if check_served {
        assert_eq!(served(&f.state, &f.root).unwrap(), f.first);
    }
    let text = String::from_utf8_lossy(&out.stdout).to_string() + &err;
    (text, sessions)
}

/// Asserts that `text` shows no part of the private key in the DER file `key`.
fn no_key_in(text: &str, key: &Path) {
    let der = std::fs::read(key).unwrap();
    let hex: String = der.iter().map(|b| format!("{b:02x}")).collect();
    for k in [&hex, &hex.to_uppercase()] {
        assert!(!text.contains(&k[k.len() - 32..]), "{text}");
    }
}

/// The device private key (hex) in a state file of the example.
fn device_key(state: &Path) -> String {
    std::fs::read_to_string(state)
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("key "))
        .unwrap()
        .to_string()
}

#[test]
fn a_provisioned_sensor_is_reprovisioned_inside_a_session_by_a_trusted_station() {
    let f = factory("renew");
    let (chain, key) = station(&f.dir, "Line7");
    let station_root = f.dir.join("Line7-ca").join("root.cert.der");
    let before = slot0(&f.state);
    let sensor = in_service(&f, &station_root);
    let out = cse(&[
        "provision",
        "--connect",
        &sensor.addr(),
        "--ca",
        s(&f.ca),
        "--station-cert",
        s(&chain),
        "--station-key",
        s(&key),
        "--device-serial",
        "SN-2",
        "--shutdown",
    ]);
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text}");
    // The renewal's session and the check's, each ended.
    assert_eq!(sessions_all_ended(&sensor.wait_log()), 2);
    assert!(text.contains("SERIALNUMBER=SN-2"), "{text}");
    // Same device key: the tool printed the key the sensor had.
    assert!(text.contains(&f.first.fingerprint), "{text}");
    // The state file holds a new chain, and the sensor serves it, verified against the root.
    assert_ne!(slot0(&f.state), before);
    let now = served(&f.state, &f.root).unwrap();
    assert_eq!(now.serial.as_deref(), Some("SN-2"));
    assert_eq!(now.fingerprint, f.first.fingerprint);
    assert_ne!(now.certificates, f.first.certificates);
    assert!(now.certificates.starts_with(&f.root));
    // The station's private key is not in the tool's output.
    no_key_in(&text, &key);
    let _ = std::fs::remove_dir_all(&f.dir);
}

#[test]
fn a_station_under_another_root_is_refused_at_the_handshake_and_changes_nothing() {
    let f = factory("rogue");
    let (_, _) = station(&f.dir, "Line7");
    let (rogue_chain, rogue_key) = station(&f.dir, "Rogue");
    let sensor = in_service(&f, &f.dir.join("Line7-ca").join("root.cert.der"));
    let station = [
        "--station-cert",
        s(&rogue_chain),
        "--station-key",
        s(&rogue_key),
    ];
    let (_, sessions) = refused(&f, sensor, &station, "mutual authentication", true);
    assert_eq!(sessions, 0);
    let _ = std::fs::remove_dir_all(&f.dir);
}

#[test]
fn a_set_certificate_refused_inside_the_session_ends_the_session_and_changes_nothing() {
    let f = factory("refuse-set");
    let (chain, key) = station(&f.dir, "Line7");
    let station_root = f.dir.join("Line7-ca").join("root.cert.der");
    // The sensor now trusts another manufacturer root for installed chains (its current chain
    // is still served): it refuses the new chain with an ERROR inside the session.
    let other = f.dir.join("other");
    assert!(
        cse(&["pki", "init", "--out", s(&other), "--name", "Other"])
            .status
            .success()
    );
    let other_root = other.join("root.cert.der");
    let sensor = in_service_with(&f, &station_root, &["--root", s(&other_root)]);
    let station = ["--station-cert", s(&chain), "--station-key", s(&key)];
    let (text, sessions) = refused(&f, sensor, &station, "SET_CERTIFICATE", true);
    assert_eq!(sessions, 1);
    no_key_in(&text, &key);
    let _ = std::fs::remove_dir_all(&f.dir);
}

#[test]
fn a_csr_for_another_key_is_refused_the_session_ended_and_nothing_changes() {
    let f = factory("key-changed");
    let (chain, key) = station(&f.dir, "Line7");
    let station_root = f.dir.join("Line7-ca").join("root.cert.der");
    let sensor = in_service_with(&f, &station_root, &["--test-hook-csr-for-another-key"]);
    let station = ["--station-cert", s(&chain), "--station-key", s(&key)];
    let (text, sessions) = refused(
        &f,
        sensor,
        &station,
        "the CSR's key is not the key the sensor authenticated with",
        true,
    );
    // Refused inside the one session (no SET_CERTIFICATE, no check connection), which the
    // station ended.
    assert_eq!(sessions, 1);
    no_key_in(&text, &key);
    assert!(!text.contains(&device_key(&f.state)), "{text}");
    let _ = std::fs::remove_dir_all(&f.dir);
}

#[test]
fn reprovisioning_in_the_clear_or_without_a_session_policy_is_refused() {
    let f = factory("clear");
    let (_, _) = station(&f.dir, "Line7");
    let sensor = in_service(&f, &f.dir.join("Line7-ca").join("root.cert.der"));
    // The factory flow (no station certificate): GET_CSR in the clear is refused with
    // UnexpectedRequest (0x04): not here, not now.
    let factory_flow = ["--device-serial", "SN-3"];
    let _ = refused(
        &f,
        sensor,
        &factory_flow,
        "CSR: peer sent SPDM ERROR 0x04",
        true,
    );
    // A sensor with the factory policy (out of factory mode) offers no provisioning at all:
    // the station does not even open a session.
    let (chain, key) = (f.dir.join("Line7.chain"), f.dir.join("Line7.key"));
    let sensor = Sensor::start(&["--state", s(&f.state)]);
    let station = ["--station-cert", s(&chain), "--station-key", s(&key)];
    let _ = refused(&f, sensor, &station, "admits no re-provisioning", false);
    let _ = std::fs::remove_dir_all(&f.dir);
}

#[test]
fn a_bad_station_identity_exits_2_before_connecting() {
    let dir = tmp("args");
    let ca = dir.join("maker");
    assert!(cse(&["pki", "init", "--out", s(&ca)]).status.success());
    let (chain, _) = station(&dir, "Line7");
    let (_, other_key) = station(&dir, "Other");
    // A key that is not the certificate's; nothing listens on port 1, the identity is
    // checked first.
    let out = cse(&[
        "provision",
        "--connect",
        "127.0.0.1:1",
        "--ca",
        s(&ca),
        "--station-cert",
        s(&chain),
        "--station-key",
        s(&other_key),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("station identity"));
    // --station-cert without --station-key, or with --psk: usage errors.
    for extra in [
        &["--station-cert", s(&chain)][..],
        &[
            "--station-cert",
            s(&chain),
            "--station-key",
            s(&other_key),
            "--psk",
            "x",
        ][..],
    ] {
        let mut args = vec!["provision", "--ca", s(&ca)];
        args.extend_from_slice(extra);
        assert_eq!(cse(&args).status.code(), Some(2));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_station_key_may_be_sec1_or_pkcs8() {
    use cse_link::pki::{self, CertRole, Curve, IssueOptions};
    use cse_link::provision::StationIdentity;
    for curve in [Curve::P256, Curve::P384] {
        let ca = pki::init(curve, "Line7", 30).unwrap();
        // PKCS#8 (the CA keys): the signer is the certificate's key.
        let k = pki::signing_key(curve, &ca.inter_key).unwrap();
        let mut pk = [0u8; 97];
        let n = k.public_key_sec1(&mut pk).unwrap();
        assert_eq!(pk[..n], pki::describe(&ca.inter_cert).unwrap().2[..]);
        // SEC1 (`cse pki csr --key-out`): a station identity; another curve is refused.
        let (key, csr) = pki::device_csr(curve, "station", None, None).unwrap();
        let req = pki::verify_csr(&csr).unwrap();
        let cert = pki::issue(&ca, &req, &IssueOptions::new(CertRole::Requester)).unwrap();
        let chain = [ca.root_cert.as_slice(), &ca.inter_cert, &cert].concat();
        let id = StationIdentity::new(curve, &chain, &key).unwrap();
        assert!(id.subject().contains("CN=station"), "{id:?}");
        let other = if curve == Curve::P256 {
            Curve::P384
        } else {
            Curve::P256
        };
        assert!(StationIdentity::new(other, &chain, &key).is_err());
        // A responder-auth certificate is not a station's.
        let rsp = pki::issue(&ca, &req, &IssueOptions::new(CertRole::Responder)).unwrap();
        let chain = [ca.root_cert.as_slice(), &ca.inter_cert, &rsp].concat();
        assert!(StationIdentity::new(curve, &chain, &key).is_err());
    }
}
