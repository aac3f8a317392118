//! Runs the `spdm-requester` example against the `spdm-responder` example over loopback TCP
//! (the spdm-emu socket protocol, MCTP transport): algorithm sets A and B with certificates,
//! HANDSHAKE_IN_THE_CLEAR, and PSK with and without PSK_FINISH. Both processes must exit 0 by
//! themselves and their logs must show the session, END_SESSION and SHUTDOWN.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(30);

/// `target/<profile>/`, from this test binary's path (`target/<profile>/deps/..`).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().unwrap().parent().unwrap().to_path_buf()
}

/// Builds the two examples (a no-op when `cargo test` already did) and returns their paths.
fn examples() -> (PathBuf, PathBuf) {
    static BUILT: std::sync::OnceLock<(PathBuf, PathBuf)> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| {
            let dir = profile_dir();
            let target = dir.parent().unwrap();
            let mut cmd = Command::new(env!("CARGO"));
            cmd.current_dir(env!("CARGO_MANIFEST_DIR"))
                .args(["build", "--quiet", "--features", "std"])
                .args(["--example", "spdm-responder", "--example", "spdm-requester"])
                .arg("--target-dir")
                .arg(target);
            if dir.file_name().is_some_and(|n| n == "release") {
                cmd.arg("--release");
            }
            let status = cmd.status().unwrap();
            assert!(status.success(), "building the examples failed: {status}");
            let exe = |n: &str| {
                let p = dir
                    .join("examples")
                    .join(format!("{n}{}", std::env::consts::EXE_SUFFIX));
                assert!(p.is_file(), "{} missing", p.display());
                p
            };
            (exe("spdm-responder"), exe("spdm-requester"))
        })
        .clone()
}

fn free_port() -> u16 {
    let l = TcpListener::bind(("127.0.0.1", 0)).unwrap();
    l.local_addr().unwrap().port()
}

/// Collects a child's stdout and stderr lines into a channel (echoed for `--nocapture`).
fn pump(child: &mut Child, who: &'static str) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    let out = child.stdout.take().unwrap();
    let err = child.stderr.take().unwrap();
    fn spawn<R: Read + Send + 'static>(r: R, tx: mpsc::Sender<String>, who: &'static str) {
        std::thread::spawn(move || {
            for line in BufReader::new(r).lines().map_while(Result::ok) {
                println!("({who}) {line}");
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
    }
    spawn(out, tx.clone(), who);
    spawn(err, tx, who);
    rx
}

/// Waits for `child` until the deadline; kills it and fails past it.
fn wait(child: &mut Child, deadline: Instant, who: &str) -> std::process::ExitStatus {
    loop {
        if let Some(st) = child.try_wait().unwrap() {
            return st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{who} did not finish within {LIMIT:?}: killed");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

struct Killer(Option<Child>);

impl Drop for Killer {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take()
            && c.try_wait().ok().flatten().is_none()
        {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Runs responder and requester with `args` (given to both); returns both logs.
fn run_pair(args: &[&str]) -> (Vec<String>, Vec<String>) {
    run_pair_with(args, args)
}

/// Runs the responder with `rsp_args` and the requester with `req_args`; returns both logs
/// (both must exit 0).
fn run_pair_with(rsp_args: &[&str], req_args: &[&str]) -> (Vec<String>, Vec<String>) {
    let (req_status, req_log, rsp_status, rsp_log) = run_pair_status(rsp_args, req_args);
    assert!(req_status.success(), "requester {req_status}: {req_log:#?}");
    assert!(rsp_status.success(), "responder {rsp_status}: {rsp_log:#?}");
    (req_log, rsp_log)
}

/// [`run_pair_with`] without the exit checks: the requester's exit status and log, then the
/// responder's.
fn run_pair_status(
    rsp_args: &[&str],
    req_args: &[&str],
) -> (
    std::process::ExitStatus,
    Vec<String>,
    std::process::ExitStatus,
    Vec<String>,
) {
    let (rsp_exe, req_exe) = examples();
    let deadline = Instant::now() + LIMIT;
    let port = free_port().to_string();
    let mut rsp = Killer(Some(
        Command::new(&rsp_exe)
            .args(["--port", &port])
            .args(rsp_args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    ));
    let rsp_rx = pump(rsp.0.as_mut().unwrap(), "responder");
    let mut rsp_log = Vec::new();
    // Wait until it listens.
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rsp_rx.recv_timeout(left) {
            Ok(line) => {
                let ready = line.contains("listening on");
                rsp_log.push(line);
                if ready {
                    break;
                }
            }
            Err(e) => panic!("responder never listened ({e}): {rsp_log:#?}"),
        }
    }
    let mut req = Killer(Some(
        Command::new(&req_exe)
            .args(["--port", &port])
            .args(req_args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    ));
    let req_rx = pump(req.0.as_mut().unwrap(), "requester");
    let req_status = wait(req.0.as_mut().unwrap(), deadline, "spdm-requester");
    let rsp_status = wait(rsp.0.as_mut().unwrap(), deadline, "spdm-responder");
    // The pumps end with the pipes.
    let drain = |rx: mpsc::Receiver<String>, log: &mut Vec<String>| {
        while let Ok(l) = rx.recv_timeout(Duration::from_secs(5)) {
            log.push(l);
        }
    };
    let mut req_log = Vec::new();
    drain(req_rx, &mut req_log);
    drain(rsp_rx, &mut rsp_log);
    (req_status, req_log, rsp_status, rsp_log)
}

fn has(log: &[String], needle: &str) -> bool {
    log.iter().any(|l| l.contains(needle))
}

fn assert_complete_session(args: &[&str], set: &str, handshake: &[&str]) {
    let (req, rsp) = run_pair(args);
    let dump = || format!("requester: {req:#?}\nresponder: {rsp:#?}");
    for (log, side) in [(&req, "requester"), (&rsp, "responder")] {
        for needle in [
            "TEST hello",
            "session established: id 0x",
            &format!(", set {set}"),
            "END_SESSION",
            "SHUTDOWN",
        ] {
            assert!(has(log, needle), "{side} log lacks {needle:?}\n{}", dump());
        }
        for m in handshake {
            assert!(has(log, m), "{side} log lacks {m:?}\n{}", dump());
        }
        assert!(!has(log, "error"), "{side} logged an error\n{}", dump());
    }
    assert!(has(&req, "<- END_SESSION_ACK"), "{}", dump());
    assert!(has(&req, "<- SHUTDOWN (echo)"), "{}", dump());
    assert!(has(&rsp, "<- KEY_UPDATE"), "{}", dump());
    assert!(has(&rsp, "<- SHUTDOWN"), "{}", dump());
    assert!(has(&rsp, "session ended"), "{}", dump());
    // The same session id on both sides.
    let id = |log: &[String]| {
        log.iter()
            .find_map(|l| l.split("session established: id ").nth(1))
            .map(|s| s.split(',').next().unwrap().to_string())
            .unwrap()
    };
    assert_eq!(id(&req), id(&rsp), "{}", dump());
}

const CERT: &[&str] = &[
    "GET_CERTIFICATE",
    "CHALLENGE_AUTH",
    "KEY_EXCHANGE_RSP",
    "FINISH (",
];

#[test]
fn requester_example_completes_a_set_a_certificate_session_with_the_responder_example() {
    assert_complete_session(&["--set", "a"], "A", CERT);
}

#[test]
fn requester_example_completes_a_set_b_certificate_session_with_the_responder_example() {
    assert_complete_session(&["--set", "b", "--version", "1.2"], "B", CERT);
}

#[test]
fn requester_example_completes_a_mutually_authenticated_session_sets_a_and_b() {
    let handshake = &[
        "GET_CERTIFICATE",
        "KEY_EXCHANGE_RSP",
        // GET_ENCAPSULATED_REQUEST / ENCAPSULATED_REQUEST, then DELIVER_ENCAPSULATED_RESPONSE
        // (sent by the requester, opened and named by the responder).
        "ENCAPSULATED_REQUEST",
        "DELIVER_ENCAPSULATED_RESPONSE",
        "requester auth Signature",
    ];
    assert_complete_session(&["--set", "a", "--mut-auth"], "A", handshake);
    assert_complete_session(&["--set", "b", "--mut-auth", "--in-clear"], "B", handshake);
}

#[test]
fn requester_example_completes_a_handshake_in_the_clear_session() {
    let (req, _) = run_pair(&["--set", "a", "--in-clear"]);
    // FINISH and FINISH_RSP travel as plain MCTP messages.
    assert!(
        has(&req, "-> FINISH (") && has(&req, "<- FINISH_RSP ("),
        "{req:#?}"
    );
    assert!(
        req.iter()
            .any(|l| l.contains("FINISH_RSP") && l.contains("plain")),
        "{req:#?}"
    );
    assert!(has(&req, "<- END_SESSION_ACK"), "{req:#?}");
}

#[test]
fn requester_example_completes_a_psk_session_with_the_responder_example() {
    let psk = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    assert_complete_session(
        &["--set", "a", "--psk", psk, "--psk-hint", "cam0"],
        "A",
        &["PSK_EXCHANGE_RSP", "PSK_FINISH"],
    );
}

#[test]
fn requester_example_fails_cleanly_with_the_wrong_psk() {
    let (rsp_exe, req_exe) = examples();
    let deadline = Instant::now() + LIMIT;
    let port = free_port().to_string();
    let mut rsp = Killer(Some(
        Command::new(&rsp_exe)
            .args(["--port", &port, "--psk", "0102030405060708"])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    ));
    // Wait for the listening line (the pump keeps reading, so the responder never writes
    // into a closed pipe).
    let rx = pump(rsp.0.as_mut().unwrap(), "responder");
    let first = rx.recv_timeout(LIMIT).unwrap();
    assert!(first.contains("listening on"), "{first}");
    let out = Command::new(&req_exe)
        .args(["--port", &port, "--psk", "0102030405060709"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a wrong PSK must fail");
    assert!(stderr.contains("error"), "{stderr}");
    // The requester closed the connection without SHUTDOWN: the responder exits on EOF.
    let st = wait(rsp.0.as_mut().unwrap(), deadline, "spdm-responder");
    assert!(st.success(), "{st}");
}

/// A temporary directory removed on drop.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> Self {
        let p = std::env::temp_dir().join(format!(
            "spdm-lite-{tag}-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&p).unwrap();
        Self(p)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn pem(label: &str, der: &[u8]) -> String {
    use base64ct::{Base64, Encoding};
    let b64 = Base64::encode_string(der);
    let mut s = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        s.push_str(std::str::from_utf8(line).unwrap());
        s.push('\n');
    }
    s.push_str(&format!("-----END {label}-----\n"));
    s
}

fn pki(dir: &str, name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/tests/pki/{dir}/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[test]
fn the_examples_accept_pem_keys_and_certificates() {
    for (set, dir, name) in [("a", "p256", "A"), ("b", "p384", "B")] {
        let tmp = TempDir::new(&format!("pem-{set}"));
        // The chain as PEM certificates (with explanatory text between blocks, as openssl
        // writes it), the key as SEC1 PEM after an EC PARAMETERS block, the root as PEM.
        let chain = pki(dir, "chain.der");
        let mut chain_pem = String::new();
        for c in spdm_lite::cert::DerCertificates::new(&chain) {
            chain_pem.push_str("subject=whatever\n");
            chain_pem.push_str(&pem("CERTIFICATE", c.unwrap()));
        }
        let key_pem = pem("EC PARAMETERS", &[0x06, 0x01, 0x00])
            + &pem("EC PRIVATE KEY", &pki(dir, "leaf.key.der"));
        let root_pem = pem("CERTIFICATE", &pki(dir, "root.cert.der"));
        let path = |n: &str, body: &str| {
            let p = tmp.0.join(n);
            std::fs::write(&p, body).unwrap();
            p.to_str().unwrap().to_string()
        };
        let (c, k, r) = (
            path("chain.pem", &chain_pem),
            path("key.pem", &key_pem),
            path("root.pem", &root_pem),
        );
        assert_complete_session(
            &["--set", set, "--chain", &c, "--key", &k, "--root", &r],
            name,
            CERT,
        );
    }
}

#[test]
fn a_psk_hint_with_a_nul_byte_is_given_as_hex() {
    // "TestPskHint\0", as DMTF's sample tools use it.
    let psk = "5465737450736b4461746100";
    assert_complete_session(
        &[
            "--set",
            "a",
            "--psk",
            psk,
            "--psk-hint-hex",
            "5465737450736b48696e7400",
        ],
        "A",
        &["PSK_EXCHANGE_RSP", "PSK_FINISH"],
    );
}

#[test]
fn help_prints_usage_on_stdout_and_exits_0() {
    let (rsp_exe, req_exe) = examples();
    for exe in [rsp_exe, req_exe] {
        for flag in ["--help", "-h"] {
            let out = Command::new(&exe).arg(flag).output().unwrap();
            let stdout = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "{} {flag}: {}",
                exe.display(),
                out.status
            );
            assert!(stdout.starts_with("usage: "), "{stdout}");
            assert!(stdout.contains("--psk-hint-hex"), "{stdout}");
            assert!(out.stderr.is_empty());
        }
    }
}

/// `--provision-scope` / `--provision-overwrite`: listed in the help, refused without
/// `--state` or with an unknown value (exit 1, nothing listens).
#[test]
fn the_responder_example_checks_its_provisioning_policy_flags() {
    let (rsp_exe, _) = examples();
    let help = Command::new(&rsp_exe).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("--provision-scope factory|session|either"),
        "{help}"
    );
    assert!(
        help.contains("--provision-overwrite locked|session"),
        "{help}"
    );
    let dir = std::env::temp_dir().join(format!("spdm-lite-policy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join("device.state");
    let state = state.to_str().unwrap();
    for args in [
        &["--provision-scope", "session"][..],
        &["--provision-overwrite", "session"][..],
        &["--state", state, "--provision-scope", "always"][..],
        &["--state", state, "--provision-overwrite", "never"][..],
    ] {
        let out = Command::new(&rsp_exe).args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(err.contains("--provision-"), "{args:?}: {err}");
        assert!(!String::from_utf8_lossy(&out.stdout).contains("listening"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn frame(cmd: u32, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    f.extend_from_slice(&cmd.to_be_bytes());
    f.extend_from_slice(&1u32.to_be_bytes());
    f.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    f.extend_from_slice(payload);
    f
}

#[test]
fn the_responder_example_closes_on_a_message_of_an_unknown_mctp_type() {
    use std::io::Write;
    let (rsp_exe, _) = examples();
    let deadline = Instant::now() + LIMIT;
    let port = free_port();
    let mut rsp = Killer(Some(
        Command::new(&rsp_exe)
            .args(["--port", &port.to_string()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    ));
    let rx = pump(rsp.0.as_mut().unwrap(), "responder");
    let first = rx.recv_timeout(LIMIT).unwrap();
    assert!(first.contains("listening on"), "{first}");
    // A PLDM message (MCTP type 0x01) in the clear: the connection closes, no hang.
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(LIMIT)).unwrap();
    s.write_all(&frame(0x0001, &[0x01, 0x80, 0x02, 0x02]))
        .unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(
        s.read(&mut buf).unwrap(),
        0,
        "expected the connection to close"
    );
    // The responder still serves the next connection: SHUTDOWN is echoed, it exits 0.
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(LIMIT)).unwrap();
    s.write_all(&frame(0xFFFE, &[])).unwrap();
    let mut echo = [0u8; 12];
    s.read_exact(&mut echo).unwrap();
    assert_eq!(echo[..4], 0xFFFEu32.to_be_bytes());
    let st = wait(rsp.0.as_mut().unwrap(), deadline, "spdm-responder");
    assert!(st.success(), "{st}");
    let mut log = Vec::new();
    while let Ok(l) = rx.recv_timeout(Duration::from_secs(5)) {
        log.push(l);
    }
    assert!(has(&log, "not SPDM, closing the connection"), "{log:#?}");
}

#[test]
fn requester_example_attests_the_responder_example_with_measurements() {
    for (set, name) in [("a", "A"), ("b", "B")] {
        let args = ["--set", set, "--measurements"];
        assert_complete_session(&args, name, CERT);
        let (req, rsp) = run_pair(&args);
        let dump = || format!("requester: {req:#?}\nresponder: {rsp:#?}");
        for needle in [
            "<- MEASUREMENTS: 0 block(s) of 5 total",
            "<- MEASUREMENTS: 5 block(s) of 0 total, signature verified",
            "block 5 type 0x87 raw 0100000000000000",
            "measurement summary hash of the handshake matches the blocks",
        ] {
            assert!(
                has(&req, needle),
                "requester log lacks {needle:?}\n{}",
                dump()
            );
        }
        assert!(has(&rsp, "measurements"), "{}", dump());
    }
}

/// The responder example serves its measurements by default (a default spdm_requester_emu
/// run asks for a measurement summary hash): a requester with `--measurements` against a
/// responder started without flags attests it; against `--no-measurements` (no MEAS_CAP)
/// the requester stops at negotiation, as it must.
#[test]
fn responder_example_serves_measurements_by_default() {
    let (req, rsp) = run_pair_with(&[], &["--measurements"]);
    let dump = || format!("requester: {req:#?}\nresponder: {rsp:#?}");
    assert!(
        has(
            &req,
            "<- MEASUREMENTS: 5 block(s) of 0 total, signature verified"
        ),
        "{}",
        dump()
    );
    assert!(has(&rsp, ", measurements"), "{}", dump());
    let (req_status, req, rsp_status, rsp) =
        run_pair_status(&["--no-measurements"], &["--measurements"]);
    let dump = || format!("requester: {req:#?}\nresponder: {rsp:#?}");
    assert_eq!(req_status.code(), Some(1), "{}", dump());
    assert!(rsp_status.success(), "{}", dump());
    assert!(!has(&rsp, ", measurements"), "{}", dump());
    assert!(has(&req, "negotiation failed"), "{}", dump());
    assert!(!has(&req, "session established"), "{}", dump());
    assert!(!has(&req, "<- MEASUREMENTS"), "{}", dump());
}

/// `--psk` with `--measurements` (as against `spdm_responder_emu`, which measures in PSK
/// sessions too): without the responder's certificate no signature can be checked, so the
/// requester asks for every block unsigned, and still checks the summary hash.
#[test]
fn requester_example_measures_unsigned_in_a_psk_session() {
    let psk = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
    let args = [
        "--set",
        "b",
        "--psk",
        psk,
        "--psk-hint",
        "cam0",
        "--measurements",
    ];
    assert_complete_session(&args, "B", &["PSK_EXCHANGE_RSP", "PSK_FINISH"]);
    let (req, rsp) = run_pair(&args);
    let dump = || format!("requester: {req:#?}\nresponder: {rsp:#?}");
    assert!(
        has(&req, "<- MEASUREMENTS: 5 block(s) of 0 total"),
        "{}",
        dump()
    );
    assert!(!has(&req, "signature verified"), "{}", dump());
    assert!(
        has(
            &req,
            "measurement summary hash of the handshake matches the blocks"
        ),
        "{}",
        dump()
    );
}

/// `spdm-responder --state FILE`: starts unprovisioned in factory mode, is provisioned over the
/// socket (GET_CSR, a chain issued from the CSR by an rcgen manufacturer PKI, SET_CERTIFICATE),
/// keeps the chain across a restart, and the `spdm-requester` example then authenticates it
/// against the manufacturer root (and no longer finds factory mode).
#[test]
fn responder_state_file_provisioning_survives_a_restart() {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer,
        KeyPair, KeyUsagePurpose,
    };
    use spdm_lite::crypto::AlgorithmSet;
    use spdm_lite::msgs::capabilities::CapFlags;
    use spdm_lite::provisioning::{Provisioner, ProvisionerConfig};
    use std::io::Write;
    use std::net::TcpStream;

    let (rsp_exe, _) = examples();
    let dir = std::env::temp_dir().join(format!("spdm-lite-state-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let state = dir.join("device.state");
    let _ = std::fs::remove_file(&state);
    let root_path = dir.join("root.der");
    // The manufacturer PKI.
    let alg = &rcgen::PKCS_ECDSA_P256_SHA256;
    let ca = |cn: &str| {
        let mut p = CertificateParams::default();
        p.distinguished_name.push(DnType::CommonName, cn);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign];
        p
    };
    let (root_p, inter_p) = (ca("maker root"), ca("maker line"));
    let (root_k, inter_k) = (
        KeyPair::generate_for(alg).unwrap(),
        KeyPair::generate_for(alg).unwrap(),
    );
    let root = root_p.self_signed(&root_k).unwrap().der().to_vec();
    let inter = inter_p
        .signed_by(&inter_k, &Issuer::from_params(&root_p, &root_k))
        .unwrap()
        .der()
        .to_vec();
    std::fs::write(&root_path, &root).unwrap();
    let state_s = state.to_str().unwrap();
    let root_s = root_path.to_str().unwrap();

    // First start: factory mode, provisioned over the socket.
    let port = free_port();
    let mut rsp = Killer(Some(
        Command::new(&rsp_exe)
            .args([
                "--port",
                &port.to_string(),
                "--state",
                state_s,
                "--root",
                root_s,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    ));
    let rx = pump(rsp.0.as_mut().unwrap(), "responder");
    let deadline = Instant::now() + LIMIT;
    let mut log = Vec::new();
    while !log.iter().any(|l: &String| l.contains("listening on")) {
        let left = deadline.saturating_duration_since(Instant::now());
        log.push(rx.recv_timeout(left).expect("responder never listened"));
    }
    assert!(has(&log, "unprovisioned: factory mode"), "{log:#?}");
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let frame = |s: &mut TcpStream, cmd: u32, payload: &[u8]| -> Vec<u8> {
        let mut f = Vec::new();
        f.extend(cmd.to_be_bytes());
        f.extend(1u32.to_be_bytes());
        f.extend((payload.len() as u32).to_be_bytes());
        f.extend_from_slice(payload);
        s.write_all(&f).unwrap();
        let mut h = [0u8; 12];
        s.read_exact(&mut h).unwrap();
        let n = u32::from_be_bytes([h[8], h[9], h[10], h[11]]) as usize;
        let mut p = vec![0u8; n];
        s.read_exact(&mut p).unwrap();
        p
    };
    let sets = [AlgorithmSet::SET_A];
    let mut p = Provisioner::new(ProvisionerConfig {
        algorithms: &sets,
        data_transfer_size: 4096,
    })
    .unwrap();
    let mut buf = vec![0u8; 8192];
    while !p.is_ready() {
        let n = p.write_request(&mut buf).unwrap();
        let a = frame(&mut s, 1, &buf[..n]);
        p.handle_response(&a).unwrap();
    }
    assert!(
        p.responder_capabilities()
            .has(CapFlags::CSR | CapFlags::SET_CERT)
    );
    let n = p.write_get_csr(&[], &[], &mut buf).unwrap();
    let a = frame(&mut s, 1, &buf[..n]);
    let mut csr = vec![0u8; 4096];
    let k = p.handle_csr(&a, &mut csr).unwrap();
    let req = {
        use der::Decode;
        x509_cert::request::CertReq::from_der(&csr[..k]).unwrap()
    };
    let mut lp = CertificateParams::default();
    lp.distinguished_name.push(DnType::CommonName, "camera");
    lp.is_ca = IsCa::ExplicitNoCa;
    lp.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    lp.extended_key_usages = vec![ExtendedKeyUsagePurpose::Other(vec![
        1, 3, 6, 1, 4, 1, 412, 274, 3,
    ])];
    let leaf = lp
        .signed_by(
            &common::LeafPub(
                req.info.public_key.subject_public_key.raw_bytes().to_vec(),
                &rcgen::PKCS_ECDSA_P256_SHA256,
            ),
            &Issuer::from_params(&inter_p, &inter_k),
        )
        .unwrap();
    let certs = [&root[..], &inter[..], leaf.der()].concat();
    let chain = common::encode_chain(AlgorithmSet::SET_A, &certs, &root);
    let n = p.write_set_certificate(0, &chain, &mut buf).unwrap();
    let a = frame(&mut s, 1, &buf[..n]);
    p.handle_set_certificate(&a).unwrap();
    let _ = frame(&mut s, 0xFFFE, &[]);
    let st = wait(rsp.0.as_mut().unwrap(), deadline, "spdm-responder");
    assert!(st.success());
    let text = std::fs::read_to_string(&state).unwrap();
    assert!(text.contains("\nslot0 "), "{text}");

    // Restarted: serves the installed chain; the requester example authenticates it against
    // the manufacturer root.
    let (req_log, rsp_log) =
        run_pair_with(&["--state", state_s], &["--root", root_s, "--no-challenge"]);
    assert!(has(&rsp_log, "provisioned, chain"), "{rsp_log:#?}");
    assert!(has(&req_log, "session established: id 0x"), "{req_log:#?}");
    assert!(has(&rsp_log, "<- SHUTDOWN"), "{rsp_log:#?}");
    let _ = std::fs::remove_dir_all(&dir);
}
