//! An SPDM 1.2 responder (the camera sensor side) speaking the DMTF spdm-emu socket protocol
//! over TCP on 127.0.0.1 with the MCTP transport, so `spdm_requester_emu` (or the
//! `spdm-requester` example) can drive it. Serves one connection and exits on SHUTDOWN or
//! end of stream.
//!
//! ```text
//! cargo run -p spdm-lite --features std --example spdm-responder -- [--set a|b] [--port N]
//!     [--chain FILE] [--key FILE] [--root FILE]
//!     [--psk HEX [--psk-hint-hex HEX | --psk-hint TEXT] [--no-psk-finish]] [--in-clear]
//!     [--version 1.2] [--mut-auth [--req-root FILE]]
//!
//! Keys and certificates may be DER or PEM; `--help` prints the options. A message of an MCTP
//! type other than SPDM (0x05) or secured (0x06) closes the connection; an authentic record
//! carrying a non-SPDM application message is answered with an ERROR record by the responder.
//! ```

mod common;

use std::net::TcpListener;
use std::process::ExitCode;

use common::*;
use spdm_lite::crypto::RustCrypto;
use spdm_lite::mut_auth::{MutAuthMode, MutAuthPolicy};
use spdm_lite::responder::{PskConfig, Responder, ResponderConfig};
use spdm_lite::x509::{ValidationOptions, X509Verifier};

const LOG: &str = "[spdm-responder]";

fn usage() -> String {
    format!(
        "usage: spdm-responder [options]\n{USAGE}  --no-psk-finish   PSK without responder context (no PSK_FINISH)\n"
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

fn run() -> Result<(), String> {
    let o = parse_args(&["--no-psk-finish"], &usage())?;
    let set = o.set;
    let chain_path = o
        .chain
        .clone()
        .unwrap_or_else(|| test_pki(set, "chain.der"));
    let key_path = o
        .key
        .clone()
        .unwrap_or_else(|| test_pki(set, "leaf.key.der"));
    let root = match &o.root {
        Some(p) => Some(certs_der(&read_file(p)?)?),
        None => None,
    };
    let chain = load_spdm_chain(set, &read_file(&chain_path)?, root.as_deref())?;
    let key = load_key(set, &read_file(&key_path)?)?;
    let psk = o.psk.as_deref().map(|key| PskConfig {
        hint: &o.psk_hint,
        key,
        with_context: !o.no_psk_finish,
    });
    let config = ResponderConfig {
        algorithms: set,
        cert_chain: &chain,
        psk,
        handshake_in_the_clear: o.in_clear,
        data_transfer_size: 1024,
    };
    let req_root_path = o
        .req_root
        .clone()
        .unwrap_or_else(|| test_pki(set, "root.cert.der"));
    let req_root = certs_der(&read_file(&req_root_path)?)?;
    let req_verifier =
        X509Verifier::with_options(RustCrypto, &req_root, ValidationOptions::new().strict_eku());
    let mut req_chain_buf = vec![0u8; 8192];
    let mut rng = OsRng;
    let sample = SampleMeasurements::new(set);
    let mut rsp = Responder::new(RustCrypto, &key, &mut rng, config)
        .map_err(|e| format!("responder: {e}"))?;
    if o.measurements {
        rsp.set_measurements(&sample);
    }
    if o.mut_auth {
        rsp.set_mut_auth(MutAuthPolicy {
            mode: MutAuthMode::Certificate {
                verifier: &req_verifier,
                chain_buf: &mut req_chain_buf,
            },
            mandatory: true,
        });
        println!(
            "{LOG} mutual authentication required (requester trust anchor {})",
            req_root_path.display()
        );
    }

    let listener = TcpListener::bind(("127.0.0.1", o.port))
        .map_err(|e| format!("bind 127.0.0.1:{}: {e}", o.port))?;
    println!(
        "{LOG} listening on 127.0.0.1:{} (MCTP transport, SPDM 1.2, set {}, chain {} ({} bytes){}{}{})",
        o.port,
        set_name(set),
        chain_path.display(),
        chain.len(),
        if o.psk.is_some() { ", PSK" } else { "" },
        if o.measurements { ", measurements" } else { "" },
        if o.in_clear {
            ", HANDSHAKE_IN_THE_CLEAR"
        } else {
            ""
        }
    );
    loop {
        let (mut s, peer) = listener.accept().map_err(|e| format!("accept: {e}"))?;
        println!("{LOG} connection from {peer}");
        let mut established = false;
        let mut out = vec![0u8; 8192];
        loop {
            let Some((cmd, transport, mut payload)) =
                read_frame(&mut s).map_err(|e| format!("read: {e}"))?
            else {
                println!("{LOG} end of stream: exiting");
                return Ok(());
            };
            let io = |e: std::io::Error| format!("write: {e}");
            match cmd {
                CMD_TEST => {
                    println!(
                        "{LOG} <- TEST hello {:?}",
                        String::from_utf8_lossy(payload.strip_suffix(b"\0").unwrap_or(&payload))
                    );
                    write_frame(&mut s, CMD_TEST, TRANSPORT_MCTP, SERVER_HELLO).map_err(io)?;
                    println!("{LOG} -> TEST hello \"Server Hello!\"");
                }
                CMD_SHUTDOWN => {
                    println!("{LOG} <- SHUTDOWN");
                    write_frame(&mut s, CMD_SHUTDOWN, TRANSPORT_MCTP, &[]).map_err(io)?;
                    println!("{LOG} -> SHUTDOWN (echo): exiting");
                    return Ok(());
                }
                CMD_CONTINUE => {
                    println!("{LOG} <- CONTINUE");
                    write_frame(&mut s, CMD_CONTINUE, TRANSPORT_MCTP, &[]).map_err(io)?;
                    println!("{LOG} -> CONTINUE (echo): waiting for the next connection");
                    break;
                }
                CMD_NORMAL if transport != TRANSPORT_MCTP => {
                    return Err(format!(
                        "transport type {transport} received, this responder speaks MCTP (1)"
                    ));
                }
                CMD_NORMAL
                    if !matches!(
                        payload.first(),
                        Some(&spdm_lite::record::MCTP_SPDM | &spdm_lite::record::MCTP_SECURED)
                    ) =>
                {
                    // Nothing this responder can answer in SPDM: close the connection rather
                    // than leave the peer waiting, and accept the next one.
                    println!(
                        "{LOG} <- {}: not SPDM, closing the connection",
                        describe(&payload, None, "message")
                    );
                    break;
                }
                CMD_NORMAL => {
                    let secured_in = payload.first() == Some(&spdm_lite::record::MCTP_SECURED);
                    let in_code = plain_code(&payload);
                    let in_desc = describe(&payload, in_code, "secured record");
                    match rsp.handle(&mut payload, &mut out) {
                        Ok(n) => {
                            let req_code = if secured_in {
                                opened_code(&payload)
                            } else {
                                in_code
                            };
                            let in_desc = if secured_in {
                                describe(&payload, req_code, "secured record")
                            } else {
                                in_desc
                            };
                            println!("{LOG} <- {in_desc}");
                            let msg = &out[..n];
                            let hint = match req_code {
                                Some(c) => format!("response to {}", code_name(c)),
                                None => "response".into(),
                            };
                            println!("{LOG} -> {}", describe(msg, plain_code(msg), &hint));
                            write_frame(&mut s, CMD_NORMAL, TRANSPORT_MCTP, msg).map_err(io)?;
                        }
                        Err(e) => {
                            // No answer at all (a forged or replayed record, an unknown
                            // transport type): log it and wait for the next message.
                            println!("{LOG} <- {in_desc}: dropped without answer ({e})");
                        }
                    }
                    match (established, rsp.session()) {
                        (false, Some(sess)) => {
                            established = true;
                            println!(
                                "{LOG} session established: id 0x{:08x}, set {}, requester auth {:?}",
                                sess.id(),
                                set_name(sess.algorithms()),
                                sess.requester_auth()
                            );
                        }
                        (true, None) => {
                            established = false;
                            println!("{LOG} session ended (state {})", rsp.state_name());
                        }
                        _ => {}
                    }
                }
                other => {
                    println!(
                        "{LOG} <- {} ({} bytes): answered UNKNOWN",
                        command_name(other),
                        payload.len()
                    );
                    write_frame(&mut s, CMD_UNKNOWN, TRANSPORT_MCTP, &[]).map_err(io)?;
                }
            }
        }
    }
}
