//! The RustCrypto provider for both algorithm sets: ECDHE agreement, ECDSA sign/verify with the
//! SPDM signing prefix, and a secured-record round trip under keys from the schedule.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

mod common;

use common::TestRng;
use spdm_lite::crypto::{
    AlgorithmSet, CryptoProvider, DheSecret, Digest, EcdsaSigningKey, RandomSource, RustCrypto,
    Signer,
};
use spdm_lite::key_schedule::KeySchedule;
use spdm_lite::msgs::Version;
use spdm_lite::record::{self, DirectionKeys};
use spdm_lite::{CryptoError, Error};

fn run(set: AlgorithmSet) {
    let p = RustCrypto;
    let mut rng = TestRng(0x1234_5678_9abc_def1);
    let a = p.dhe_generate(set.dhe, &mut rng).unwrap();
    let b = p.dhe_generate(set.dhe, &mut rng).unwrap();
    let (mut pa, mut pb) = ([0u8; 96], [0u8; 96]);
    let d = a.public_key(&mut pa).unwrap();
    assert_eq!(d, set.dhe.public_len());
    b.public_key(&mut pb).unwrap();
    let sa = a.agree(&pb[..d]).unwrap();
    let sb = b.agree(&pa[..d]).unwrap();
    assert_eq!(sa.as_bytes(), sb.as_bytes());
    assert_eq!(sa.len(), set.dhe.secret_len());
    // A point off the curve is refused.
    let c = p.dhe_generate(set.dhe, &mut rng).unwrap();
    let mut bad = pb;
    bad[d - 1] ^= 1;
    assert_eq!(c.agree(&bad[..d]).unwrap_err(), CryptoError::InvalidKey);

    let mut scalar = [0u8; 48];
    rng.fill(&mut scalar).unwrap();
    let n = set.dhe.secret_len();
    let key = EcdsaSigningKey::from_scalar(set.asym, &scalar[..n]).unwrap();
    let mut pk = [0u8; 97];
    let pkl = key.public_key_sec1(&mut pk).unwrap();
    let th = Digest::from_slice(&[0x5A; 48][..set.hash.len()]).unwrap();
    let digest = spdm_lite::transcript::signing_digest(
        &p,
        set.hash,
        Version::V12,
        spdm_lite::transcript::context::RESPONDER_KEY_EXCHANGE_RSP,
        &th,
    )
    .unwrap();
    let mut sig = [0u8; 96];
    let sl = key.sign_prehash(digest.as_bytes(), &mut sig).unwrap();
    assert_eq!(sl, set.asym.signature_len());
    p.ecdsa_verify(set.asym, &pk[..pkl], digest.as_bytes(), &sig[..sl])
        .unwrap();
    for i in 0..sl {
        let mut t = sig;
        t[i] ^= 0x10;
        assert_eq!(
            p.ecdsa_verify(set.asym, &pk[..pkl], digest.as_bytes(), &t[..sl]),
            Err(Error::Authentication)
        );
    }

    let ks = KeySchedule::new(&p, set.hash, Version::V12);
    let hs = ks.handshake_secret(sa.as_bytes(), false).unwrap();
    let h = ks.handshake(hs, &th).unwrap();
    let mk = || DirectionKeys::new(ks.traffic_keys(set.aead, &h.response.secret).unwrap());
    let (mut tx, mut rx) = (mk(), mk());
    let mut buf = [0u8; 128];
    for i in 0..3u8 {
        let msg = [0x12, 0x68, i, 0];
        let n = record::seal(&p, 0x0001_0002, &mut tx, &msg, &[0xEE; 5], &mut buf).unwrap();
        assert_eq!(n, record::OVERHEAD + msg.len() + 5);
        let mut copy = buf;
        assert_eq!(
            record::open(&p, 0x0001_0002, &mut rx, &mut copy[..n]).unwrap(),
            &msg
        );
        // Reordered (an old record again) and wrong-session records are refused.
        let mut again = buf;
        assert_eq!(
            record::open(&p, 0x0001_0002, &mut rx, &mut again[..n]),
            Err(Error::BadSequence)
        );
        let mut again = buf;
        assert_eq!(
            record::open(&p, 0x0001_0003, &mut rx, &mut again[..n]),
            Err(Error::UnknownSession)
        );
    }
    assert_eq!((tx.sequence(), rx.sequence()), (3, 3));
}

#[test]
fn algorithm_set_a_agrees_signs_and_seals() {
    run(AlgorithmSet::SET_A);
}

#[test]
fn algorithm_set_b_agrees_signs_and_seals() {
    run(AlgorithmSet::SET_B);
}
