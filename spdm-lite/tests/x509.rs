//! X.509 chain validation (`X509Verifier`): the committed test PKI for both algorithm sets is
//! accepted, and a chain from another root, a tampered certificate, a leaf without
//! digitalSignature and malformed chains are refused with the right `CertError`.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use spdm_lite::Error;
use spdm_lite::cert::{CertError, ChainVerifier, DerCertificates, encode_spdm_chain};
use spdm_lite::crypto::{AlgorithmSet, AsymAlgo, EcdsaSigningKey, RustCrypto};
use spdm_lite::session::Role;
use spdm_lite::x509::X509Verifier;

const SETS: [AlgorithmSet; 2] = [AlgorithmSet::SET_A, AlgorithmSet::SET_B];

fn read(set: AlgorithmSet, name: &str) -> Vec<u8> {
    let dir = if set.asym == AsymAlgo::EcdsaP256 {
        "p256"
    } else {
        "p384"
    };
    let p = format!("{}/tests/pki/{dir}/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn chain(set: AlgorithmSet, certs: &[u8], root: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; certs.len() + 64];
    let n = encode_spdm_chain(&RustCrypto, set.hash, root, certs, &mut out).unwrap();
    out.truncate(n);
    out
}

fn verify(set: AlgorithmSet, chain: &[u8]) -> Result<Vec<u8>, CertError> {
    let root = read(set, "root.cert.der");
    let v = X509Verifier::new(RustCrypto, &root);
    let mut key = [0u8; 97];
    let n = v.verify_chain(set, Role::Responder, chain, &mut key)?;
    Ok(key[..n].to_vec())
}

fn good(set: AlgorithmSet) -> Vec<u8> {
    chain(set, &read(set, "chain.der"), &read(set, "root.cert.der"))
}

#[test]
fn valid_chains_yield_the_leaf_signing_key() {
    for set in SETS {
        let key = verify(set, &good(set)).unwrap();
        let sk = EcdsaSigningKey::from_sec1_der(set.asym, &read(set, "leaf.key.der")).unwrap();
        let mut pk = [0u8; 97];
        let n = sk.public_key_sec1(&mut pk).unwrap();
        assert_eq!(key, pk[..n]);
    }
}

#[test]
fn a_chain_without_the_root_certificate_is_accepted_too() {
    for set in SETS {
        let mut certs = read(set, "inter.cert.der");
        certs.extend(read(set, "leaf.cert.der"));
        let c = chain(set, &certs, &read(set, "root.cert.der"));
        assert!(verify(set, &c).is_ok());
    }
}

#[test]
fn a_chain_from_another_root_is_refused_as_untrusted() {
    for set in SETS {
        // Honest root hash of the other root.
        let other = chain(
            set,
            &read(set, "other_chain.der"),
            &read(set, "other_root.cert.der"),
        );
        assert_eq!(verify(set, &other), Err(CertError::UntrustedRoot));
        // Forged root hash (ours) over the other root's certificates.
        let forged = chain(
            set,
            &read(set, "other_chain.der"),
            &read(set, "root.cert.der"),
        );
        assert_eq!(verify(set, &forged), Err(CertError::UntrustedRoot));
        // Our root hash, the other intermediate and leaf without a root certificate.
        let mut certs = read(set, "other_inter.cert.der");
        certs.extend(read(set, "other_leaf.cert.der"));
        let c = chain(set, &certs, &read(set, "root.cert.der"));
        assert_eq!(verify(set, &c), Err(CertError::UntrustedRoot));
    }
}

#[test]
fn a_leaf_without_digital_signature_is_refused() {
    for set in SETS {
        let c = chain(
            set,
            &read(set, "bad_usage_chain.der"),
            &read(set, "root.cert.der"),
        );
        assert_eq!(verify(set, &c), Err(CertError::LeafKeyUsage));
    }
}

#[test]
fn a_ca_certificate_as_leaf_is_refused() {
    for set in SETS {
        let mut certs = read(set, "root.cert.der");
        certs.extend(read(set, "inter.cert.der"));
        let c = chain(set, &certs, &read(set, "root.cert.der"));
        assert_eq!(verify(set, &c), Err(CertError::LeafKeyUsage));
    }
}

#[test]
fn a_leaf_used_as_issuer_is_refused() {
    for set in SETS {
        let mut certs = read(set, "chain.der");
        certs.extend(read(set, "leaf.cert.der"));
        let c = chain(set, &certs, &read(set, "root.cert.der"));
        assert_eq!(verify(set, &c), Err(CertError::NotCa));
    }
}

/// Offsets (inside the SPDM chain) of each certificate after the root.
fn cert_ranges(set: AlgorithmSet, c: &[u8]) -> Vec<(usize, usize)> {
    let start = 4 + set.hash.len();
    let mut at = start;
    DerCertificates::new(&c[start..])
        .map(|r| {
            let len = r.unwrap().len();
            at += len;
            (at - len, at)
        })
        .collect()
}

#[test]
fn a_tampered_certificate_signature_is_refused() {
    for set in SETS {
        let c = good(set);
        let ranges = cert_ranges(set, &c);
        assert_eq!(ranges.len(), 3);
        // Last byte of the leaf's and of the intermediate's signature (s).
        for &(_, end) in &ranges[1..] {
            let mut t = c.clone();
            t[end - 1] ^= 0x01;
            assert_eq!(verify(set, &t), Err(CertError::BadSignature), "{end}");
        }
    }
}

#[test]
fn every_sampled_byte_flip_in_the_intermediate_or_leaf_is_refused() {
    let set = AlgorithmSet::SET_A;
    let c = good(set);
    let ranges = cert_ranges(set, &c);
    let mut refused = 0;
    for &(s, e) in &ranges[1..] {
        for i in (s..e).step_by(3) {
            let mut t = c.clone();
            t[i] ^= 0x20;
            assert!(verify(set, &t).is_err(), "flip at {i} accepted");
            refused += 1;
        }
    }
    assert!(refused > 200);
}

#[test]
fn a_tampered_root_or_header_is_refused() {
    for set in SETS {
        let c = good(set);
        let ranges = cert_ranges(set, &c);
        let mut t = c.clone();
        t[ranges[0].0 + 100] ^= 0x01; // inside the root certificate
        assert_eq!(verify(set, &t), Err(CertError::UntrustedRoot));
        let mut t = c.clone();
        t[4] ^= 0x01; // root hash
        assert_eq!(verify(set, &t), Err(CertError::UntrustedRoot));
        let mut t = c.clone();
        t[0] ^= 0x01; // Length
        assert_eq!(verify(set, &t), Err(CertError::Malformed));
        assert_eq!(verify(set, &c[..c.len() - 1]), Err(CertError::Malformed));
        assert_eq!(
            verify(set, &c[..4 + set.hash.len()]),
            Err(CertError::Malformed)
        );
    }
}

#[test]
fn a_chain_of_the_wrong_algorithm_set_is_refused() {
    // A P-256 chain (SHA-256 root hash) checked as set B: the root hash no longer matches.
    let c = good(AlgorithmSet::SET_A);
    let root = read(AlgorithmSet::SET_A, "root.cert.der");
    let v = X509Verifier::new(RustCrypto, &root);
    let mut key = [0u8; 97];
    assert!(
        v.verify_chain(AlgorithmSet::SET_B, Role::Responder, &c, &mut key)
            .is_err()
    );
}

#[test]
fn a_too_small_leaf_key_buffer_is_refused_not_truncated() {
    let set = AlgorithmSet::SET_B;
    let root = read(set, "root.cert.der");
    let v = X509Verifier::new(RustCrypto, &root);
    let mut key = [0u8; 65];
    assert_eq!(
        v.verify_chain(set, Role::Responder, &good(set), &mut key),
        Err(CertError::TooLong)
    );
}

#[test]
fn der_splitter_refuses_garbage_and_truncation() {
    let certs = read(AlgorithmSet::SET_A, "chain.der");
    assert_eq!(DerCertificates::new(&certs).count(), 3);
    let r: Vec<_> = DerCertificates::new(&certs[..certs.len() - 1]).collect();
    assert_eq!(r.last(), Some(&Err(CertError::Malformed)));
    let r: Vec<_> = DerCertificates::new(&[0x31, 0x00]).collect();
    assert_eq!(r, [Err(CertError::Malformed)]);
    let _ = Error::from(CertError::Malformed);
}
