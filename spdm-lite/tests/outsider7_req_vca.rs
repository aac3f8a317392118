//! Outsider round 7: VCA answers and ERRORs a libspdm responder may send to our requester,
//! each followed through a whole PSK session (the transcript is built here from the bytes the
//! requester saw, so an answer it read or hashed wrongly fails the verify data).
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;
mod o7;

use common::SETS;
use o7::{PskOpts, psk_session, request};
use spdm_lite::Error;
use spdm_lite::requester::SessionEvent;

/// A whole PSK session with the VCA answer of `step` rewritten by `f`, then a HEARTBEAT.
fn session_after(step: usize, f: impl Fn(&mut Vec<u8>) + Clone + 'static) -> Result<(), o7::Stop> {
    for set in SETS {
        let f = f.clone();
        let (mut s, mut peer) = psk_session(
            set,
            PskOpts {
                vca: Box::new(move |i, m| {
                    if i == step {
                        f(m);
                    }
                }),
                ..PskOpts::default()
            },
        )?;
        let hb = request(&mut s, &mut peer, |s, o| s.write_heartbeat(o));
        assert_eq!(hb, [0x12, 0xE8, 0, 0], "the session runs SPDM 1.2");
        let mut rec = peer.seal(&[0x12, 0x68, 0, 0], &[]);
        assert_eq!(
            s.handle_response(&mut rec).unwrap(),
            SessionEvent::HeartbeatAck
        );
    }
    Ok(())
}

/// VERSION listing `entries`, with the reserved bytes `reserved` (Param1, Param2, Reserved).
fn set_versions(m: &mut Vec<u8>, entries: &[u16], reserved: [u8; 3]) {
    m.truncate(2);
    m.extend(reserved);
    m.push(entries.len() as u8);
    for e in entries {
        m.extend(e.to_le_bytes());
    }
}

#[test]
fn version_lists_offering_1_2_lead_to_a_1_2_session() {
    let lists: [&[u16]; 7] = [
        &[0x1300, 0x1200, 0x1100, 0x1000],
        &[0x1000, 0x1100, 0x1300, 0x1200],
        &[0x1200, 0x1200],
        &[0x1100, 0x1210],
        &[0x1201, 0x1000],
        &[0x12F0, 0x1300, 0x1400],
        &[0x1300, 0x1310, 0x1000, 0x1200, 0x1100, 0x1300],
    ];
    for l in lists {
        session_after(0, move |m| set_versions(m, l, [0; 3]))
            .unwrap_or_else(|e| panic!("{l:04x?}: {e:?}"));
    }
    session_after(0, |m| {
        set_versions(m, &[0x1200, 0x1100], [0xA5, 0x5A, 0x77])
    })
    .unwrap_or_else(|e| panic!("reserved bytes: {e:?}"));
}

fn caps(m: &mut [u8], or_flags: u32, ct: u8, max_msg: Option<u32>) {
    let f = u32::from_le_bytes(m[8..12].try_into().unwrap()) | or_flags;
    m[8..12].copy_from_slice(&f.to_le_bytes());
    m[5] = ct;
    if let Some(x) = max_msg {
        m[16..20].copy_from_slice(&x.to_le_bytes());
    }
}

#[test]
fn capabilities_a_libspdm_responder_sets_lead_to_a_session() {
    const CHUNK: u32 = 1 << 17;
    const ALIAS_CERT: u32 = 1 << 18;
    const SET_CERT: u32 = 1 << 19;
    const CSR: u32 = 1 << 20;
    const CERT_INSTALL_RESET: u32 = 1 << 21;
    const IN_CLEAR: u32 = 1 << 15;
    const ENCAP_MUT: u32 = (1 << 12) | (1 << 8);
    let variants: [(u32, u8, Option<u32>); 7] = [
        (0, 0, None),
        (0, 31, None),
        (0, 255, None),
        (CHUNK, 12, Some(65_536)),
        (CHUNK, 20, Some(1024)),
        (ALIAS_CERT | SET_CERT | CSR | CERT_INSTALL_RESET, 0, None),
        (
            CHUNK | ALIAS_CERT | SET_CERT | CSR | IN_CLEAR | ENCAP_MUT,
            8,
            Some(0x0010_0000),
        ),
    ];
    for (f, ct, mx) in variants {
        session_after(1, move |m| caps(m, f, ct, mx))
            .unwrap_or_else(|e| panic!("flags {f:#x} ct {ct} max {mx:?}: {e:?}"));
    }
}

#[test]
fn capabilities_with_reserved_flag_bits_lead_to_a_session() {
    // Bits 22..31 are reserved in 1.2 (1.3 gives them EP_INFO, MEL, EVENT, MULTI_KEY, ...):
    // a receiver ignores reserved bits.
    for f in [
        1u32 << 22,
        3 << 22,
        1 << 24,
        1 << 25,
        3 << 26,
        1 << 28,
        0xFFC0_0000,
    ] {
        session_after(1, move |m| caps(m, f, 0, None))
            .unwrap_or_else(|e| panic!("flags {f:#x}: {e:?}"));
    }
}

#[test]
fn algorithms_with_reserved_bytes_set_lead_to_a_session() {
    // Param2 and the Reserved bytes (20..32 and 34..36) ignored; byte 31 is
    // MELspecificationSel in 1.3.
    session_after(2, |m| {
        m[3] = 0x5A;
        for (i, b) in m[20..32].iter_mut().enumerate() {
            *b = 0x11 * (i as u8 + 1);
        }
        m[34] = 0xC3;
        m[35] = 0x3C;
    })
    .unwrap_or_else(|e| panic!("{e:?}"));
    session_after(2, |m| m[31] = 1).unwrap_or_else(|e| panic!("MEL: {e:?}"));
}

/// SPDM ERROR (version `v`) with `data` after the header.
fn error(v: u8, code: u8, p2: u8, data: &[u8]) -> Vec<u8> {
    let mut m = vec![v, 0x7F, code, p2];
    m.extend_from_slice(data);
    m
}

#[test]
fn errors_at_each_handshake_step_are_reported_and_poison() {
    let codes: [(u8, &[u8]); 7] = [
        (0x03, &[]),
        (0x04, &[]),
        (0x05, &[]),
        (0x41, &[]),
        (0x43, &[]),
        (0x42, &[1, 0, 0x7A, 2]),
        (0xFF, &[3, 0x34, 0x12, 9, 9, 9]),
    ];
    const REQ_CODES: [u8; 5] = [0x84, 0xE1, 0xE3, 0xE6, 0xE7];
    for (step, req_code) in REQ_CODES.into_iter().enumerate() {
        for (code, data) in codes {
            let v = if step == 0 { 0x10 } else { 0x12 };
            let mut data = data.to_vec();
            if code == 0x42 {
                data[1] = req_code;
            }
            let r = psk_session(
                SETS[0],
                PskOpts {
                    replace: Some((step, error(v, code, 0, &data))),
                    ..PskOpts::default()
                },
            );
            match r {
                Err((s, Error::PeerError(c), Err(Error::Poisoned))) if s == step && c == code => {}
                Err(e) => panic!("step {step} code {code:#x}: {e:?}"),
                Ok(_) => panic!("step {step} code {code:#x}: session established"),
            }
        }
    }
}

#[test]
fn vca_answers_of_another_version_or_with_trailing_bytes_are_refused_and_poison() {
    // VERSION is always 1.0; CAPABILITIES and ALGORITHMS carry the version chosen (1.2).
    // Bytes after the message (or beyond ALGORITHMS' Length) are not part of any 1.2 form.
    type Mutation = fn(&mut Vec<u8>);
    let cases: [(&str, Mutation); 3] = [
        ("trailing", |m| m.extend([0u8; 4])),
        ("older", |m| m[0] = if m[0] == 0x10 { 0x12 } else { 0x11 }),
        ("newer", |m| m[0] = if m[0] == 0x10 { 0x11 } else { 0x13 }),
    ];
    for step in 0..3 {
        for (name, f) in cases {
            match session_after(step, f) {
                Err((s, _, Err(Error::Poisoned))) if s == step => {}
                r => panic!("{name} at step {step}: {:?}", r.err()),
            }
        }
    }
}
