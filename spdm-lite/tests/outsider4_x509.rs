//! Outsider round 4 (black box): the X.509 chain verifier fed the genuine SPDM chains of
//! both sets with every byte flipped in turn (except the two reserved bytes of the SPDM
//! chain header, which SPDM leaves unchecked) and cut at every length. Every altered chain is
//! refused, nothing panics, and `leaf_key` is written only for the genuine chain.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use spdm_lite::cert::{ChainVerifier, encode_spdm_chain};
use spdm_lite::crypto::{AlgorithmSet, RustCrypto};
use spdm_lite::session::Role;
use spdm_lite::x509::X509Verifier;

fn chain(set_b: bool) -> (AlgorithmSet, &'static [u8], Vec<u8>) {
    let (set, certs, root): (_, &[u8], &'static [u8]) = if set_b {
        (
            AlgorithmSet::SET_B,
            include_bytes!("pki/p384/chain.der"),
            include_bytes!("pki/p384/root.cert.der"),
        )
    } else {
        (
            AlgorithmSet::SET_A,
            include_bytes!("pki/p256/chain.der"),
            include_bytes!("pki/p256/root.cert.der"),
        )
    };
    let mut out = vec![0u8; certs.len() + 64];
    let n = encode_spdm_chain(&RustCrypto, set.hash, root, certs, &mut out).unwrap();
    out.truncate(n);
    (set, root, out)
}

#[test]
fn every_altered_chain_is_refused_and_leaf_key_untouched() {
    for set_b in [false, true] {
        let (set, root, good) = chain(set_b);
        let v = X509Verifier::new(RustCrypto, root);
        let mut key = [0u8; 97];
        let n = v
            .verify_chain(set, Role::Responder, &good, &mut key)
            .expect("genuine chain");
        assert!(n == 65 || n == 97);
        for i in (0..good.len()).filter(|i| !(2..4).contains(i)) {
            let mut bad = good.clone();
            bad[i] ^= 0x01;
            let mut k = [0xA5u8; 97];
            let r = v.verify_chain(set, Role::Responder, &bad, &mut k);
            assert!(r.is_err(), "set_b={set_b}: byte {i} flipped, accepted");
            assert_eq!(k, [0xA5; 97], "byte {i}: leaf_key written on refusal");
        }
        for cut in 0..good.len() {
            let mut k = [0xA5u8; 97];
            let r = v.verify_chain(set, Role::Responder, &good[..cut], &mut k);
            assert!(r.is_err(), "set_b={set_b}: cut at {cut} accepted");
            assert_eq!(k, [0xA5; 97]);
        }
        // The chain for the other set's hash, and the responder's chain for the requester role
        // when strict: refused.
        let other = if set_b {
            AlgorithmSet::SET_A
        } else {
            AlgorithmSet::SET_B
        };
        let mut k = [0xA5u8; 97];
        assert!(
            v.verify_chain(other, Role::Responder, &good, &mut k)
                .is_err()
        );
        assert_eq!(k, [0xA5; 97]);
    }
}
