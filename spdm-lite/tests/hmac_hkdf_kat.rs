//! Known answers for the RustCrypto provider's HMAC and HKDF-Expand (RFC 4231, RFC 5869), which
//! it computes with one HMAC implementation (`SimpleHmac`) and its own HKDF-Expand loop; the
//! multi-block and maximum-length outputs are also checked against the `hkdf` crate.
use hex_literal::hex;
use spdm_lite::CryptoError;
use spdm_lite::crypto::{CryptoProvider, HashAlgo, RustCrypto};

const P: RustCrypto = RustCrypto;

#[test]
fn hmac_sha256_rfc4231_case_2() {
    let mut out = [0u8; 32];
    // The data in two pieces: the provider concatenates them.
    P.hmac(
        HashAlgo::Sha256,
        b"Jefe",
        &[b"what do ya want ", b"for nothing?"],
        &mut out,
    )
    .unwrap();
    assert_eq!(
        out,
        hex!("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    );
}

#[test]
fn hkdf_expand_sha256_rfc5869_cases_1_and_3() {
    // Case 1: 42 bytes (two blocks, the last one partial), the info split in two.
    let prk = hex!("077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5");
    let mut okm = [0u8; 42];
    P.hkdf_expand(
        HashAlgo::Sha256,
        &prk,
        &[&hex!("f0f1f2f3"), &hex!("f4f5f6f7f8f9")],
        &mut okm,
    )
    .unwrap();
    assert_eq!(
        okm,
        hex!(
            "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
            "34007208d5b887185865"
        )
    );
    // Case 3: empty info.
    let prk = hex!("19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04");
    let mut okm = [0u8; 42];
    P.hkdf_expand(HashAlgo::Sha256, &prk, &[], &mut okm)
        .unwrap();
    assert_eq!(
        okm,
        hex!(
            "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
            "9d201395faa4b61a96c8"
        )
    );
}

#[test]
fn hkdf_expand_matches_the_hkdf_crate_up_to_255_blocks() {
    for (alg, h) in [(HashAlgo::Sha256, 32usize), (HashAlgo::Sha384, 48)] {
        let prk: Vec<u8> = (0..h as u8).collect();
        let info: [&[u8]; 3] = [b"spdm1.2 ", b"key", &[7, 0, 9]];
        for len in [1, h - 1, h, h + 1, 3 * h + 5, 255 * h] {
            let mut ours = vec![0u8; len];
            P.hkdf_expand(alg, &prk, &info, &mut ours).unwrap();
            let mut theirs = vec![0u8; len];
            match alg {
                HashAlgo::Sha256 => hkdf::Hkdf::<sha2::Sha256>::from_prk(&prk)
                    .unwrap()
                    .expand_multi_info(&info, &mut theirs)
                    .unwrap(),
                _ => hkdf::Hkdf::<sha2::Sha384>::from_prk(&prk)
                    .unwrap()
                    .expand_multi_info(&info, &mut theirs)
                    .unwrap(),
            }
            assert_eq!(ours, theirs, "{alg:?} {len}");
        }
    }
}

#[test]
fn hkdf_expand_refuses_a_short_prk_and_a_too_long_output_and_writes_nothing() {
    let prk = [0x0bu8; 32];
    // 255 blocks is the maximum; one byte more is refused.
    let mut out = vec![0xA5u8; 255 * 32 + 1];
    assert_eq!(
        P.hkdf_expand(HashAlgo::Sha256, &prk, &[b"info"], &mut out),
        Err(CryptoError::InvalidLength)
    );
    assert!(out.iter().all(|&b| b == 0xA5));
    // A PRK shorter than the hash is refused.
    let mut out = [0xA5u8; 32];
    assert_eq!(
        P.hkdf_expand(HashAlgo::Sha256, &prk[..31], &[b"info"], &mut out),
        Err(CryptoError::InvalidLength)
    );
    assert_eq!(out, [0xA5u8; 32]);
}
