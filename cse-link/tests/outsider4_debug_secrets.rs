//! Outsider round 4: the `Debug` output and the errors of the public types that hold secrets
//! (device and station private keys, PSKs, CA keys) name nothing secret: no window of the key
//! bytes, as hex or as the decimal list `{:?}` of a byte slice prints.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::path::PathBuf;

use cse_link::provision::{PskRecord, StationIdentity};
use cse_link::{EcuIdentity, SensorIdentity};
use spdm_lite::crypto::AlgorithmSet;

fn pki(name: &str) -> Vec<u8> {
    std::fs::read(
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("pki/p256")
            .join(name),
    )
    .unwrap()
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// No 6-hex-digit window of `secret` and no 4-byte decimal list window appears in `text`.
fn assert_clean(text: &str, secret: &[u8], what: &str) {
    let lower = text.to_ascii_lowercase();
    let h = hex(secret);
    for w in (0..h.len().saturating_sub(6)).step_by(2) {
        assert!(
            !lower.contains(&h[w..w + 6]),
            "{what}: hex of the secret in {text}"
        );
    }
    for w in secret.windows(4) {
        let dec = format!("{}, {}, {}, {}", w[0], w[1], w[2], w[3]);
        assert!(
            !text.contains(&dec),
            "{what}: bytes of the secret in {text}"
        );
    }
}

#[test]
fn identities_print_no_private_key() {
    let key = pki("leaf.key.der");
    let s = SensorIdentity::from_der(
        AlgorithmSet::SET_A,
        &pki("chain.der"),
        &pki("root.cert.der"),
        &key,
    )
    .unwrap();
    assert_clean(&format!("{s:?} {s:#?}"), &key, "SensorIdentity");
    let rkey = pki("req_leaf.key.der");
    let e = EcuIdentity::from_der(
        AlgorithmSet::SET_A,
        &pki("req_chain.der"),
        &pki("root.cert.der"),
        &rkey,
    )
    .unwrap();
    assert_clean(&format!("{e:?} {e:#?}"), &rkey, "EcuIdentity");
    // A station identity from a key that is not the certificate's: the error names no key.
    let err =
        StationIdentity::new(cse_link::pki::Curve::P256, &pki("req_chain.der"), &key).unwrap_err();
    assert_clean(&format!("{err} {err:?}"), &key, "StationIdentity error");
    if let Ok(st) = StationIdentity::new(cse_link::pki::Curve::P256, &pki("req_chain.der"), &rkey) {
        assert_clean(&format!("{st:?} {st:#?}"), &rkey, "StationIdentity");
    }
}

#[test]
fn psk_records_print_no_psk() {
    let r = PskRecord::generate(Some("SN-1".into()), "SN-1".into()).unwrap();
    let psk = r.key().to_vec();
    assert_clean(&format!("{r:?} {r:#?}"), &psk, "PskRecord");
    // Parse errors of records holding the PSK in the wrong place name no PSK either.
    let h = hex(&psk);
    for text in [
        format!("psk-hint: x\npsk: {h}zz\n"),
        format!("psk-hint: x\n{h}: 1\npsk: {h}\n"),
        format!("psk-hint: x\npsk {h}\n"),
        format!("psk-hint: x\npsk: {h}\npsk: {h}\n"),
        format!("psk-hint: {h}\npsk: {h}\n"),
    ] {
        match PskRecord::parse(&text) {
            Err(e) => assert_clean(&format!("{e} {e:?}"), &psk, "PskRecord error"),
            Ok(rec) => assert_clean(
                &format!("{rec:?}").replace(&rec.hint, ""),
                &psk,
                "PskRecord",
            ),
        }
    }
}
