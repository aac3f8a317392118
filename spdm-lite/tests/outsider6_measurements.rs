//! Outsider round 6: GET_MEASUREMENTS in the clear as a third-party requester or a
//! conformance suite sends it: the reserved bits of SlotIDParam and Param1, the index range,
//! and signatures over L1 recomputed here from the bytes on the wire.
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;
mod o6;

use common::{Block, SETS, TestRng, block_info, fixture, hash_digest};
use o6::{ask, err_code, responder, vca};
use spdm_lite::crypto::{RustCrypto, Signer};
use spdm_lite::measurements::{BlockInfo, MeasurementProvider};
use spdm_lite::msgs::Version;
use spdm_lite::transcript::{context, signing_digest};

struct Fw(Vec<Block>);

impl MeasurementProvider for Fw {
    fn count(&self) -> usize {
        self.0.len()
    }
    fn block(&self, n: usize, value: &mut [u8]) -> Option<BlockInfo> {
        block_info(&self.0, n, value)
    }
}

fn fw(h: usize) -> Fw {
    Fw(vec![
        (1, 0x00, vec![0x11; h], true),
        (2, 0x01, vec![0x22; h], true),
        (4, 0x86, b"1.4.2".to_vec(), false),
    ])
}

/// A signed GET_MEASUREMENTS of `op` with nonce 0x77.. and `slot_param`.
fn signed(attr: u8, op: u8, slot_param: u8) -> Vec<u8> {
    let mut m = vec![0x12, 0xE0, attr, op];
    m.extend([0x77; 32]);
    m.push(slot_param);
    m
}

/// Runs VCA on a fresh responder with measurements, sends `req` and checks the answer is a
/// MEASUREMENTS whose signature is the responder key's over L1 = VCA ‖ `req` ‖ the answer
/// without its signature (ECDSA here is deterministic, so the expected signature is
/// recomputed with the responder's key and compared). Returns the answer.
fn signed_answer(set: spdm_lite::crypto::AlgorithmSet, req: &[u8]) -> Vec<u8> {
    let fx = fixture(set);
    let provider = fw(set.hash.len());
    let v = vca(set);
    let mut rr = TestRng(1);
    let mut rsp = responder(set, &fx, &mut rr);
    rsp.set_measurements(&provider);
    let mut l1 = Vec::new();
    for r in [&v.get_version, &v.get_caps, &v.neg_algs] {
        let a = ask(&mut rsp, r);
        l1.extend_from_slice(r);
        l1.extend_from_slice(&a);
    }
    let a = ask(&mut rsp, req);
    assert_eq!(a[1], 0x60, "{req:02x?}: {a:02x?}");
    let sig_len = set.asym.signature_len();
    let unsigned = &a[..a.len() - sig_len];
    let th = hash_digest(set, &[&l1, req, unsigned]);
    let d = signing_digest(
        &RustCrypto,
        set.hash,
        Version::V12,
        context::RESPONDER_MEASUREMENTS,
        &th,
    )
    .unwrap();
    let mut sig = vec![0u8; sig_len];
    let n = fx.key.sign_prehash(d.as_bytes(), &mut sig).unwrap();
    assert_eq!(&a[a.len() - sig_len..], &sig[..n], "signature over L1");
    a
}

#[test]
fn signed_measurements_verify_over_l1_as_sent() {
    for set in SETS {
        signed_answer(set, &signed(1, 0xFF, 0));
        signed_answer(set, &signed(1, 1, 0));
        signed_answer(set, &signed(1, 0, 0));
    }
}

#[test]
fn reserved_bits_of_slot_id_param_are_ignored() {
    // SlotIDParam: bits 3:0 the slot, bits 7:4 reserved. A requester that sets them still
    // asks for slot 0; the signature covers the request as it was sent.
    for set in SETS {
        let plain = signed_answer(set, &signed(1, 0xFF, 0));
        for p in [0x10u8, 0xF0, 0x50] {
            let a = signed_answer(set, &signed(1, 0xFF, p));
            let sig = set.asym.signature_len();
            // Same blocks, nonce, opaque data; the signature differs with the request.
            assert_eq!(a[..a.len() - sig], plain[..plain.len() - sig], "{p:#x}");
        }
    }
}

#[test]
fn raw_bit_stream_requested_and_reserved_attribute_bits_are_served() {
    // Param1 bit 1 (RawBitStreamRequested, 1.2) and the reserved bits: the provider decides
    // each block's form, so the answer is the same blocks.
    for set in SETS {
        let plain = signed_answer(set, &signed(1, 0xFF, 0));
        let a = signed_answer(set, &signed(0x03, 0xFF, 0));
        let sig = set.asym.signature_len();
        assert_eq!(a[..a.len() - sig], plain[..plain.len() - sig]);
        signed_answer(set, &signed(0xF1, 0xFF, 0));
    }
}

#[test]
fn slots_without_a_key_and_missing_indices_are_invalid_request_and_change_nothing() {
    for set in SETS {
        let fx = fixture(set);
        let provider = fw(set.hash.len());
        let v = vca(set);
        let mut rr = TestRng(1);
        let mut rsp = responder(set, &fx, &mut rr);
        rsp.set_measurements(&provider);
        o6::run_vca(&mut rsp, &v);
        let mut r2 = TestRng(1);
        let mut twin = responder(set, &fx, &mut r2);
        twin.set_measurements(&provider);
        o6::run_vca(&mut twin, &v);
        for req in [
            signed(1, 0xFF, 1),
            signed(1, 0xFF, 7),
            signed(1, 0xFF, 0x0F),
            signed(1, 0xFF, 0x1F),
            signed(1, 3, 0),
            signed(1, 0xFE, 0),
            vec![0x12, 0xE0, 0, 3],
            vec![0x12, 0xE0, 0, 5],
            // Truncated signed request, unsigned request of another version.
            signed(1, 1, 0)[..36].to_vec(),
            vec![0x11, 0xE0, 0, 1],
        ] {
            let a = ask(&mut rsp, &req);
            let code = if req[0] == 0x11 { 0x41 } else { 0x01 };
            assert_eq!(err_code(&a), Some(code), "{req:02x?}: {a:02x?}");
        }
        // A refusal ends L1 and draws no random byte: the next signed request gets, byte for
        // byte, what the twin gives to its first one (whose L1 is VCA ‖ that request too).
        let req = signed(1, 0xFF, 0);
        assert_eq!(ask(&mut rsp, &req), ask(&mut twin, &req));
    }
}
