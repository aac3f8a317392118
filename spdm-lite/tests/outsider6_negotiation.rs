//! Outsider round 6: connection setup as a third-party peer or a conformance suite drives it:
//! refused requests at every step of the VCA and the PSK handshake must leave the transcripts
//! as they were (the session that follows checks verify data in both directions), legal
//! encodings other than ours must be understood, and reserved bits ignored.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;
mod o6;

use common::{SETS, TestRng, fixture};
use o6::{RawPsk, ask, psk_get_caps, responder, vca};

fn err_code(a: &[u8]) -> Option<u8> {
    o6::err_code(a)
}

/// `base` (a NEGOTIATE_ALGORITHMS of our requester: fixed part 32 bytes, no extended
/// algorithms, then its AlgStructs) with one extended algorithm in its first AlgStruct
/// (AlgCount 0x21 and a 4-byte ExtAlg entry after the fixed one), Length fixed up.
fn with_ext_in_first_algstruct(base: &[u8]) -> Vec<u8> {
    let mut m = base[..36].to_vec();
    m[33] = 0x21;
    // RegistryID 0 (DMTF), reserved, an algorithm id no one implements.
    m.extend([0x00, 0x00, 0x34, 0x12]);
    m.extend(&base[36..]);
    let len = m.len() as u16;
    m[4..6].copy_from_slice(&len.to_le_bytes());
    m
}

#[test]
fn an_algstruct_with_extended_algorithms_is_understood() {
    for set in SETS {
        let fx = fixture(set);
        let v = vca(set);
        // The twin: our own encoding.
        let mut r1 = TestRng(1);
        let mut twin = responder(set, &fx, &mut r1);
        ask(&mut twin, &v.get_version);
        ask(&mut twin, &v.get_caps);
        let expected = ask(&mut twin, &v.neg_algs);
        // The same offer with an extended algorithm in the DHE AlgStruct: the responder
        // supports none, so it selects from the fixed bits alike.
        let ext = with_ext_in_first_algstruct(&v.neg_algs);
        let mut r2 = TestRng(1);
        let mut rsp = responder(set, &fx, &mut r2);
        ask(&mut rsp, &v.get_version);
        ask(&mut rsp, &v.get_caps);
        assert_eq!(ask(&mut rsp, &ext), expected, "{set:?}");
        assert_eq!(rsp.state_name(), "Negotiated");
        // A session over that VCA: its transcript holds the request as sent.
        let mut r3 = TestRng(1);
        let mut rsp = responder(set, &fx, &mut r3);
        let mut pv = vca(set);
        pv.get_caps = psk_get_caps();
        pv.neg_algs = with_ext_in_first_algstruct(&pv.neg_algs);
        let mut s = RawPsk::establish_vca(set, &mut rsp, pv, 0, &mut |_, _| {});
        assert_eq!(s.ask(&mut rsp, &[0x12, 0xE8, 0, 0]), [0x12, 0x68, 0, 0]);
    }
}

#[test]
fn extended_asym_and_hash_entries_in_the_fixed_part_are_skipped() {
    let set = SETS[0];
    let fx = fixture(set);
    let v = vca(set);
    let mut r1 = TestRng(1);
    let mut twin = responder(set, &fx, &mut r1);
    ask(&mut twin, &v.get_version);
    ask(&mut twin, &v.get_caps);
    let expected = ask(&mut twin, &v.neg_algs);
    let mut m = v.neg_algs[..32].to_vec();
    m[28] = 1; // ExtAsymCount
    m[29] = 2; // ExtHashCount
    m.extend([0u8; 12]);
    m.extend(&v.neg_algs[32..]);
    let len = m.len() as u16;
    m[4..6].copy_from_slice(&len.to_le_bytes());
    let mut r2 = TestRng(1);
    let mut rsp = responder(set, &fx, &mut r2);
    ask(&mut rsp, &v.get_version);
    ask(&mut rsp, &v.get_caps);
    assert_eq!(ask(&mut rsp, &m), expected);
}

/// Refused requests at every step of VCA and the PSK handshake: each gets its ERROR, and the
/// session established afterwards checks both verify data, so none of them entered a
/// transcript or moved a state.
#[test]
fn refusals_at_every_step_leave_the_transcripts_as_they_were() {
    for set in SETS {
        let fx = fixture(set);
        let v = vca(set);
        let neg = v.neg_algs.clone();
        let mut bad_algs: Vec<Vec<u8>> = Vec::new();
        // Length one more than the message; trailing bytes beyond Length.
        let mut m = neg.clone();
        m[4] += 1;
        bad_algs.push(m);
        let mut m = neg.clone();
        m.extend([0; 4]);
        bad_algs.push(m);
        // AlgStructs out of order, duplicated, of another fixed size, of an undefined type.
        let mut m = neg[..32].to_vec();
        m.extend(&neg[36..40]);
        m.extend(&neg[32..36]);
        m.extend(&neg[40..]);
        bad_algs.push(m);
        let mut m = neg.clone();
        m[33] = 0x30;
        bad_algs.push(m);
        let mut m = neg.clone();
        m.extend([6, 0x20, 1, 0]);
        m[2] += 1;
        m[4] += 4;
        bad_algs.push(m);
        // Param1 fewer AlgStructs than present.
        let mut m = neg.clone();
        m[2] -= 1;
        bad_algs.push(m);
        // No common hash; only a non-SPDM key schedule.
        let mut m = neg.clone();
        m[12] = 0x80;
        bad_algs.push(m);
        let mut m = neg.clone();
        let ks = m.len() - 2;
        m[ks] = 0x02;
        bad_algs.push(m);

        let mut seen = Vec::new();
        let mut r = TestRng(1);
        let mut rsp = responder(set, &fx, &mut r);
        let mut s = RawPsk::establish_with(set, &mut rsp, &mut |step, rsp| {
            let mut expect = |req: &[u8], code: u8| {
                let a = ask(rsp, req);
                assert_eq!(err_code(&a), Some(code), "step {step} {req:02x?}: {a:02x?}");
                seen.push(step);
            };
            match step {
                // Before GET_VERSION: nothing but GET_VERSION.
                0 => {
                    expect(&[0x12, 0x81, 0, 0], 0x04);
                    expect(&psk_get_caps(), 0x04);
                }
                // After VERSION: a GET_CAPABILITIES of another version, one too short, and
                // out-of-order requests.
                1 => {
                    let mut c = psk_get_caps();
                    c[0] = 0x11;
                    expect(&c, 0x41);
                    expect(&psk_get_caps()[..12], 0x01);
                    expect(&neg, 0x04);
                    expect(&[0x12, 0x81, 0, 0], 0x04);
                }
                // After CAPABILITIES: every malformed NEGOTIATE_ALGORITHMS, and
                // GET_CAPABILITIES again.
                2 => {
                    for m in &bad_algs {
                        expect(m, 0x01);
                    }
                    expect(&psk_get_caps(), 0x04);
                }
                // Negotiated: VCA requests again, session-only requests in the clear, a
                // PSK_EXCHANGE with an unknown hint or a wrong version.
                3 => {
                    expect(&psk_get_caps(), 0x04);
                    expect(&neg, 0x04);
                    expect(&[0x12, 0xE7, 0, 0], 0x0B);
                    expect(&[0x12, 0xE8, 0, 0], 0x0B);
                    let mut px = vec![0x12, 0xE6, 0, 0, 0x34, 0x12, 3, 0, 0, 0, 0, 0];
                    px.extend(b"cam");
                    expect(&px, 0x01);
                    let mut px = px.clone();
                    px[0] = 0x11;
                    expect(&px, 0x41);
                }
                // Waiting for PSK_FINISH (in a record): PSK_FINISH in the clear.
                4 => {
                    expect(&[0x12, 0xE7, 0, 0], 0x0B);
                }
                _ => {}
            }
        });
        assert_eq!(seen.iter().filter(|&&x| x == 2).count(), bad_algs.len() + 1);
        assert!(seen.contains(&4));
        assert_eq!(s.ask(&mut rsp, &[0x12, 0xE8, 0, 0]), [0x12, 0x68, 0, 0]);
    }
}

#[test]
fn reserved_bits_of_get_certificate_param1_are_ignored() {
    let set = SETS[0];
    let fx = fixture(set);
    let v = vca(set);
    let mut r = TestRng(1);
    let mut rsp = responder(set, &fx, &mut r);
    o6::run_vca(&mut rsp, &v);
    let slot0 = ask(&mut rsp, &[0x12, 0x82, 0x00, 0, 0, 0, 0x40, 0]);
    assert_eq!(slot0[1], 0x02);
    // Bits 7:4 of Param1 are reserved in 1.2; Param2 is reserved.
    let a = ask(&mut rsp, &[0x12, 0x82, 0xF0, 0xAA, 0, 0, 0x40, 0]);
    assert_eq!(a[1], 0x02, "{a:02x?}");
    assert_eq!(a[4..], slot0[4..]);
}

#[test]
#[ignore = "the responder sends answers longer than the requester's DataTransferSize / \
            MaxSPDMmsgSize (here 42, no CHUNK_CAP): a 48-byte ALGORITHMS and a 134-byte \
            CHALLENGE_AUTH. DSP0274 1.2 has the ERROR ResponseTooLarge for that (libspdm \
            answers it); only CERTIFICATE portions are cut to the requester's size today. A \
            fix limits every answer to the requester's size, which also changes the tests \
            that run set B with a 256-byte requester (KEY_EXCHANGE_RSP is 342 bytes)"]
fn answers_longer_than_the_requesters_max_message_size_are_response_too_large() {
    let set = SETS[0];
    let fx = fixture(set);
    let mut v = vca(set);
    // DataTransferSize = MaxSPDMmsgSize = 42, the 1.2 minimum, no CHUNK_CAP.
    v.get_caps[12..16].copy_from_slice(&42u32.to_le_bytes());
    v.get_caps[16..20].copy_from_slice(&42u32.to_le_bytes());
    let mut rr = TestRng(1);
    let mut rsp = responder(set, &fx, &mut rr);
    ask(&mut rsp, &v.get_version);
    assert_eq!(ask(&mut rsp, &v.get_caps)[1], 0x61);
    let a = ask(&mut rsp, &v.neg_algs);
    assert!(
        a.len() <= 42 || err_code(&a) == Some(0x0D),
        "ALGORITHMS of {} bytes to a 42-byte requester",
        a.len()
    );
}
