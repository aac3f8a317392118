//! An SPDM 1.2 requester (the ECU side) speaking the DMTF spdm-emu socket protocol over TCP on
//! 127.0.0.1 with the MCTP transport, so it can drive `spdm_responder_emu` or the
//! `spdm-responder` example. It runs the handshake (certificate: VCA, GET_DIGESTS,
//! GET_CERTIFICATE, CHALLENGE, KEY_EXCHANGE, FINISH; or PSK_EXCHANGE (+ PSK_FINISH)), then
//! HEARTBEAT, KEY_UPDATE (UpdateAllKeys + VerifyNewKey), END_SESSION, and sends SHUTDOWN.
//!
//! ```text
//! cargo run -p spdm-lite --features std --example spdm-requester -- [--set a|b] [--port N]
//!     [--root FILE] [--psk HEX [--psk-hint-hex HEX | --psk-hint TEXT]] [--in-clear]
//!     [--no-challenge] [--version 1.2] [--mut-auth [--req-chain FILE] [--req-key FILE]]
//!
//! Keys and certificates may be DER or PEM; `--help` prints the options.
//! ```

mod common;

use std::net::TcpStream;
use std::process::ExitCode;
use std::time::Duration;

use common::*;
use spdm_lite::Error;
use spdm_lite::crypto::RustCrypto;
use spdm_lite::measurements::SummaryType;
use spdm_lite::msgs::Code;
use spdm_lite::msgs::key_update::KeyUpdateOp;
use spdm_lite::msgs::measurements::{OP_ALL, OP_COUNT};
use spdm_lite::requester::{
    Auth, MeasurementRequest, Requester, RequesterConfig, RequesterSession, Status,
};
use spdm_lite::x509::X509Verifier;

const LOG: &str = "[spdm-requester]";

fn usage() -> String {
    format!(
        "usage: spdm-requester [options]\n{USAGE}  --no-challenge    skip CHALLENGE before KEY_EXCHANGE\n"
    )
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{LOG} error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Sends one NORMAL frame and returns the NORMAL payload that answers it.
fn transact(s: &mut TcpStream, msg: &[u8]) -> Result<Vec<u8>, String> {
    write_frame(s, CMD_NORMAL, TRANSPORT_MCTP, msg).map_err(|e| format!("write: {e}"))?;
    let (cmd, transport, payload) = read_frame(s)
        .map_err(|e| format!("read: {e}"))?
        .ok_or("responder closed the connection")?;
    if cmd != CMD_NORMAL || transport != TRANSPORT_MCTP {
        return Err(format!(
            "expected NORMAL/MCTP, got {} with transport type {transport}",
            command_name(cmd)
        ));
    }
    Ok(payload)
}

fn session_step(
    s: &mut TcpStream,
    sess: &mut RequesterSession<RustCrypto>,
    name: &str,
    write: impl FnOnce(&mut RequesterSession<RustCrypto>, &mut [u8]) -> Result<usize, Error>,
) -> Result<(), String> {
    let mut out = vec![0u8; 4096];
    let n = write(sess, &mut out).map_err(|e| format!("{name}: {e}"))?;
    println!("{LOG} -> {}", describe(&out[..n], None, name));
    let mut rsp = transact(s, &out[..n])?;
    let hint = describe(&rsp, None, "secured record");
    let ev = sess
        .handle_response(&mut rsp)
        .map_err(|e| format!("{hint}: {e}"))?;
    println!(
        "{LOG} <- {} => {ev:?}",
        describe(&rsp, opened_code(&rsp), "secured record")
    );
    Ok(())
}

/// One GET_MEASUREMENTS in the session (signed: fresh nonce, signature over L1/L2 checked);
/// for all blocks, the handshake's measurement summary hash is checked against them.
fn measure(
    s: &mut TcpStream,
    sess: &mut RequesterSession<RustCrypto>,
    operation: u8,
    signed: bool,
) -> Result<(), String> {
    use spdm_lite::crypto::RandomSource as _;
    let nonce = if signed {
        let mut n = [0u8; 32];
        OsRng.fill(&mut n).map_err(|e| e.to_string())?;
        Some(n)
    } else {
        None
    };
    let mut out = vec![0u8; 4096];
    let n = sess
        .write_get_measurements(&MeasurementRequest { operation, nonce }, &mut out)
        .map_err(|e| format!("GET_MEASUREMENTS: {e}"))?;
    println!(
        "{LOG} -> {} (operation 0x{operation:02x}{})",
        describe(&out[..n], None, "GET_MEASUREMENTS"),
        if signed { ", signature requested" } else { "" }
    );
    let mut rsp = transact(s, &out[..n])?;
    let m = sess
        .handle_measurements(&mut rsp)
        .map_err(|e| format!("<- MEASUREMENTS: {e}"))?;
    println!(
        "{LOG} <- MEASUREMENTS: {} block(s) of {} total{}",
        m.number_of_blocks,
        m.total,
        if m.signed { ", signature verified" } else { "" }
    );
    for b in m.blocks() {
        let v: String = b.value.iter().map(|x| format!("{x:02x}")).collect();
        println!(
            "{LOG}    block {} type 0x{:02x} {} {v}",
            b.index,
            b.value_type,
            if b.is_raw() { "raw" } else { "digest" }
        );
    }
    if operation == OP_ALL {
        sess.check_measurement_summary(&m, &|b| b.index == 1 || b.index == 2 || b.index == 5)
            .map_err(|e| format!("measurement summary hash: {e}"))?;
        if sess.measurement_summary().is_some() {
            println!("{LOG} measurement summary hash of the handshake matches the blocks");
        }
    }
    Ok(())
}

fn run() -> Result<(), String> {
    let o = parse_args(&["--no-challenge"], &usage())?;
    let set = o.set;
    let root_path = o
        .root
        .clone()
        .unwrap_or_else(|| test_pki(set, "root.cert.der"));
    let root = certs_der(&read_file(&root_path)?)?;
    let verifier = X509Verifier::new(RustCrypto, &root);
    let mut chain_buf = vec![0u8; 0x1_0000];
    let auth = match &o.psk {
        Some(key) => Auth::Psk {
            hint: &o.psk_hint,
            key,
        },
        None => Auth::Certificate {
            verifier: &verifier,
            chain_buf: &mut chain_buf,
            challenge: !o.no_challenge,
        },
    };
    // The requester's own identity (with --mut-auth).
    let req_chain_path = o
        .req_chain
        .clone()
        .unwrap_or_else(|| test_pki(set, "req_chain.der"));
    let req_key_path = o
        .req_key
        .clone()
        .unwrap_or_else(|| test_pki(set, "req_leaf.key.der"));
    let (req_chain, req_key, req_spki) = if o.mut_auth {
        let chain = load_spdm_chain(set, &read_file(&req_chain_path)?, None)?;
        let key = load_key(set, &read_file(&req_key_path)?)?;
        let mut point = [0u8; 97];
        let n = key
            .public_key_sec1(&mut point)
            .map_err(|e| format!("requester key: {e}"))?;
        let mut spki = [0u8; 128];
        let m = spdm_lite::mut_auth::spki_from_point(set.asym, &point[..n], &mut spki)
            .ok_or("requester key: not a P-256/P-384 key")?;
        (chain, Some(key), spki[..m].to_vec())
    } else {
        (Vec::new(), None, Vec::new())
    };
    let offered = [set];
    let mut rng = OsRng;
    let mut req = Requester::new(
        RustCrypto,
        &mut rng,
        RequesterConfig {
            algorithms: &offered,
            handshake_in_the_clear: o.in_clear,
            data_transfer_size: 1024,
        },
        auth,
    )
    .map_err(|e| format!("requester: {e}"))?;
    if o.measurements {
        req.set_measurement_summary(SummaryType::All);
    }
    if let Some(key) = &req_key {
        req = req.with_mutual_auth(spdm_lite::mut_auth::RequesterIdentity {
            signer: key,
            cert_chain: &req_chain,
            public_key: Some(&req_spki),
        });
        println!(
            "{LOG} mutual authentication: requester chain {}",
            req_chain_path.display()
        );
    }

    let mut s = TcpStream::connect(("127.0.0.1", o.port))
        .map_err(|e| format!("connect 127.0.0.1:{}: {e}", o.port))?;
    s.set_read_timeout(Some(Duration::from_secs(60)))
        .map_err(|e| e.to_string())?;
    println!(
        "{LOG} connected to 127.0.0.1:{} (MCTP transport, SPDM 1.2, set {}, {}{})",
        o.port,
        set_name(set),
        if o.psk.is_some() {
            "PSK".to_string()
        } else {
            format!("trust anchor {}", root_path.display())
        },
        if o.in_clear {
            ", HANDSHAKE_IN_THE_CLEAR"
        } else {
            ""
        }
    );

    // The TEST hello.
    write_frame(&mut s, CMD_TEST, TRANSPORT_MCTP, CLIENT_HELLO).map_err(|e| e.to_string())?;
    println!("{LOG} -> TEST hello \"Client Hello!\"");
    let (cmd, _, hello) = read_frame(&mut s)
        .map_err(|e| format!("read: {e}"))?
        .ok_or("responder closed the connection")?;
    if cmd != CMD_TEST {
        return Err(format!(
            "expected the TEST hello, got {}",
            command_name(cmd)
        ));
    }
    println!(
        "{LOG} <- TEST hello {:?}",
        String::from_utf8_lossy(hello.strip_suffix(b"\0").unwrap_or(&hello))
    );

    // The handshake.
    let mut out = vec![0u8; 4096];
    let mut last_rsp = None;
    loop {
        let n = req
            .write_request(&mut out)
            .map_err(|e| format!("write request: {e}"))?;
        let msg = &out[..n];
        // Sealed handshake requests: FINISH after KEY_EXCHANGE_RSP, PSK_FINISH after
        // PSK_EXCHANGE_RSP.
        let hint = match last_rsp {
            Some(Code::KEY_EXCHANGE_RSP) if o.mut_auth => "GET_ENCAPSULATED_REQUEST",
            Some(Code::ENCAPSULATED_REQUEST) => "DELIVER_ENCAPSULATED_RESPONSE",
            Some(Code::ENCAPSULATED_RESPONSE_ACK) => "DELIVER_ENCAPSULATED_RESPONSE or FINISH",
            Some(Code::KEY_EXCHANGE_RSP) => "FINISH",
            Some(Code::PSK_EXCHANGE_RSP) => "PSK_FINISH",
            _ => "secured record",
        };
        println!("{LOG} -> {}", describe(msg, plain_code(msg), hint));
        let mut rsp = transact(&mut s, msg)?;
        let secured = rsp.first() == Some(&spdm_lite::record::MCTP_SECURED);
        let plain = plain_code(&rsp);
        let before = describe(&rsp, plain, "secured record");
        let status = req.handle_response(&mut rsp);
        let code = if secured { opened_code(&rsp) } else { plain };
        match status {
            Ok(st) => {
                println!("{LOG} <- {}", describe(&rsp, code, "secured record"));
                last_rsp = code.map(Code);
                if st == Status::Established {
                    break;
                }
            }
            Err(e) => return Err(format!("<- {before}: {e}")),
        }
    }
    let mut sess = req.into_session().map_err(|e| e.to_string())?;
    let (id, set) = sess
        .session()
        .map(|x| (x.id(), x.algorithms()))
        .ok_or("no session")?;
    let auth = sess.session().map(|x| x.requester_auth());
    println!(
        "{LOG} session established: id 0x{id:08x}, set {}, requester auth {:?}",
        set_name(set),
        auth.unwrap_or_default()
    );

    if o.measurements {
        measure(&mut s, &mut sess, OP_COUNT, false)?;
        // Signed when the responder's certificate is known; a PSK session has no key to
        // check a signature with, so its measurements are asked for unsigned.
        measure(&mut s, &mut sess, OP_ALL, o.psk.is_none())?;
    }
    session_step(&mut s, &mut sess, "HEARTBEAT", |x, b| x.write_heartbeat(b))?;
    session_step(&mut s, &mut sess, "KEY_UPDATE(UpdateAllKeys)", |x, b| {
        x.write_key_update(KeyUpdateOp::UPDATE_ALL_KEYS, b)
    })?;
    session_step(&mut s, &mut sess, "KEY_UPDATE(VerifyNewKey)", |x, b| {
        x.write_key_update(KeyUpdateOp::VERIFY_NEW_KEY, b)
    })?;
    session_step(&mut s, &mut sess, "HEARTBEAT", |x, b| x.write_heartbeat(b))?;
    session_step(&mut s, &mut sess, "END_SESSION", |x, b| {
        x.write_end_session(b)
    })?;
    if !sess.is_ended() {
        return Err("END_SESSION not acknowledged".into());
    }
    println!("{LOG} session ended");

    write_frame(&mut s, CMD_SHUTDOWN, TRANSPORT_MCTP, &[]).map_err(|e| e.to_string())?;
    println!("{LOG} -> SHUTDOWN");
    match read_frame(&mut s) {
        Ok(Some((CMD_SHUTDOWN, ..))) => println!("{LOG} <- SHUTDOWN (echo)"),
        Ok(Some((cmd, ..))) => println!("{LOG} <- {} after SHUTDOWN", command_name(cmd)),
        Ok(None) | Err(_) => println!("{LOG} connection closed after SHUTDOWN"),
    }
    println!("{LOG} done");
    Ok(())
}
