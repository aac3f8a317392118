//! Secrets die with their session and never leave through `Debug`: END_SESSION drops every
//! secret of the requester's session, a GET_VERSION reset ends the responder's session and the
//! next session has a new export master secret, and no `Debug` output of a session or of its
//! direction keys contains key or IV bytes.
#![allow(clippy::unwrap_used, clippy::panic, clippy::expect_used)]

mod common;

use common::{TestRng, encode_chain, session_exchange};
use cse_core::Direction;
use cse_core::csi2::VirtualChannel;
use spdm_lite::Error;
use spdm_lite::crypto::{AeadAlgo, AlgorithmSet, EcdsaSigningKey, RustCrypto, Secret};
use spdm_lite::export::LinkKeyPurpose;
use spdm_lite::key_schedule::TrafficKeys;
use spdm_lite::record::DirectionKeys;
use spdm_lite::requester::{
    Auth, Requester, RequesterConfig, RequesterSession, SessionEvent, Status,
};
use spdm_lite::responder::{Responder, ResponderConfig};
use spdm_lite::x509::X509Verifier;

const ROOT: &[u8] = include_bytes!("pki/p256/root.cert.der");
const CHAIN: &[u8] = include_bytes!("pki/p256/chain.der");
const LEAF_KEY: &[u8] = include_bytes!("pki/p256/leaf.key.der");
const SET: AlgorithmSet = AlgorithmSet::SET_A;
const BUF: usize = 4096;

/// Whether `text` shows any 4-byte window of `secret`: as hex (either case, with or without
/// separators) or as a Rust byte list (`[1, 2, 3, 4` in decimal, `{:x?}` or `0x..`).
fn leaks(text: &str, secret: &[u8]) -> bool {
    let squeezed: String = text
        .chars()
        .filter(|c| c.is_ascii_hexdigit())
        .collect::<String>()
        .to_ascii_lowercase();
    let list: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    secret.windows(4).any(|w| {
        let hex: String = w.iter().map(|b| format!("{b:02x}")).collect();
        let dec = w.iter().map(u8::to_string).collect::<Vec<_>>().join(",");
        let hx = w
            .iter()
            .map(|b| format!("{b:#x}"))
            .collect::<Vec<_>>()
            .join(",");
        let short = w
            .iter()
            .map(|b| format!("{b:x}"))
            .collect::<Vec<_>>()
            .join(",");
        squeezed.contains(&hex)
            || list.contains(&dec)
            || list.contains(&hx)
            || list.contains(&short)
    })
}

#[test]
fn the_leak_check_finds_what_a_derived_debug_would_print() {
    // The check itself must be able to fail.
    let secret = [0xB2u8, 0x07, 0x99, 0x10, 0x44];
    assert!(leaks(&format!("{secret:?}"), &secret));
    assert!(leaks(&format!("{secret:#?}"), &secret));
    assert!(leaks(&format!("{secret:x?}"), &secret));
    assert!(leaks("iv: b2079910", &secret));
    assert!(!leaks(
        "DirectionKeys { aead: Aes256Gcm, seq: 0, .. }",
        &secret
    ));
}

fn spdm_chain() -> Vec<u8> {
    encode_chain(SET, CHAIN, ROOT)
}

fn responder<'a>(
    key: &'a EcdsaSigningKey,
    rng: &'a mut TestRng,
    chain: &'a [u8],
) -> Responder<'a, RustCrypto, EcdsaSigningKey> {
    Responder::new(
        RustCrypto,
        key,
        rng,
        ResponderConfig {
            algorithms: SET,
            cert_chain: chain,
            psk: None,
            handshake_in_the_clear: false,
            data_transfer_size: 1024,
        },
    )
    .unwrap()
}

/// A full handshake (from GET_VERSION) against `rsp`; returns the requester's session.
fn handshake(
    rsp: &mut Responder<'_, RustCrypto, EcdsaSigningKey>,
    seed: u64,
) -> RequesterSession<RustCrypto> {
    let mut rng = TestRng(seed);
    let verifier = X509Verifier::new(RustCrypto, ROOT);
    let mut chain_buf = vec![0u8; 4096];
    let offered = [SET];
    let mut req = Requester::new(
        RustCrypto,
        &mut rng,
        RequesterConfig {
            algorithms: &offered,
            handshake_in_the_clear: false,
            data_transfer_size: 1024,
        },
        Auth::Certificate {
            verifier: &verifier,
            chain_buf: &mut chain_buf,
            challenge: false,
        },
    )
    .unwrap();
    for _ in 0..64 {
        let (mut a, mut b) = ([0u8; BUF], [0u8; BUF]);
        let n = req.write_request(&mut a).unwrap();
        let m = rsp.handle(&mut a[..n], &mut b).unwrap();
        if req.handle_response(&mut b[..m]).unwrap() == Status::Established {
            return req.into_session().unwrap();
        }
    }
    panic!("handshake did not finish");
}

fn stream_key(s: &spdm_lite::session::Session) -> [u8; 32] {
    let mut k = [0u8; 32];
    s.export_master_secret()
        .derive_link_key(
            &RustCrypto,
            &cse_core::Profile::DRAFT_1,
            LinkKeyPurpose::StreamKey,
            Direction::SensorToController,
            VirtualChannel::new(0).unwrap(),
            0,
            &mut k,
        )
        .unwrap();
    k
}

#[test]
fn end_session_drops_every_secret_of_the_requester_session() {
    let chain = spdm_chain();
    let key = EcdsaSigningKey::from_sec1_der(SET.asym, LEAF_KEY).unwrap();
    let mut rrng = TestRng(0x1234_5678_9ABC_DEF1);
    let mut rsp = responder(&key, &mut rrng, &chain);
    let mut s = handshake(&mut rsp, 0x0F0F_1234_5555_7777);
    let ems = s
        .session()
        .unwrap()
        .export_master_secret()
        .as_bytes()
        .to_vec();
    assert_eq!(ems.len(), SET.hash.len());
    assert_ne!(ems, vec![0u8; ems.len()]);

    assert_eq!(
        session_exchange(&mut s, &mut rsp, |s, o| s.write_end_session(o)).unwrap(),
        SessionEvent::Ended
    );
    // Nothing of the session is reachable any more: no export master secret, no keys.
    assert!(s.is_ended());
    assert!(s.session().is_none());
    assert!(rsp.session().is_none());
    assert!(!leaks(&format!("{s:?}"), &ems));
    // And nothing more goes out under the ended session.
    let mut out = [0u8; BUF];
    assert!(matches!(
        s.write_heartbeat(&mut out),
        Err(Error::UnexpectedMessage)
    ));
    assert!(matches!(
        s.write_key_update(
            spdm_lite::msgs::key_update::KeyUpdateOp::UPDATE_KEY,
            &mut out
        ),
        Err(Error::UnexpectedMessage)
    ));
    assert_eq!(out, [0u8; BUF], "nothing written");
}

#[test]
fn get_version_ends_the_session_and_the_next_one_has_new_secrets() {
    let chain = spdm_chain();
    let key = EcdsaSigningKey::from_sec1_der(SET.asym, LEAF_KEY).unwrap();
    let mut rrng = TestRng(0x1234_5678_9ABC_DEF1);
    let mut rsp = responder(&key, &mut rrng, &chain);
    let mut old = handshake(&mut rsp, 0x0F0F_1234_5555_7777);
    let old_ems = old
        .session()
        .unwrap()
        .export_master_secret()
        .as_bytes()
        .to_vec();
    let old_id = old.session().unwrap().id();
    let old_key = stream_key(old.session().unwrap());
    assert_eq!(stream_key(rsp.session().unwrap()), old_key);

    // A new requester starts again with GET_VERSION: the responder's session ends at once.
    let mut get_version = [0x05, 0x10, 0x84, 0, 0];
    let mut b = [0u8; BUF];
    let m = rsp.handle(&mut get_version, &mut b).unwrap();
    assert_eq!(&b[..3], &[0x05, 0x10, 0x04], "VERSION: {:02x?}", &b[..m]);
    assert!(rsp.session().is_none());
    // The old session's holder can no longer talk to the responder, and its request leaves
    // the responder where it was.
    let state = rsp.state_name();
    assert!(session_exchange(&mut old, &mut rsp, |s, o| s.write_heartbeat(o)).is_err());
    assert_eq!(rsp.state_name(), state);

    let new = handshake(&mut rsp, 0x7777_0000_1111_2223);
    let s = new.session().unwrap();
    assert_ne!(s.export_master_secret().as_bytes(), &old_ems[..]);
    assert_eq!(s.export_master_secret().session_id(), s.id());
    assert_eq!(
        rsp.session().unwrap().export_master_secret().as_bytes(),
        s.export_master_secret().as_bytes()
    );
    let new_key = stream_key(s);
    assert_ne!(new_key, old_key);
    assert_eq!(stream_key(rsp.session().unwrap()), new_key);
    // The old id is reported for what it is (the ids may or may not repeat; the keys never do).
    let _ = old_id;
}

#[test]
fn no_debug_output_shows_key_or_iv_bytes() {
    let key_bytes: Vec<u8> = (0xA0..0xC0).collect();
    let iv_bytes = [
        0x5C, 0x6D, 0x7E, 0x8F, 0x90, 0xA1, 0xB2, 0xC3, 0xD4, 0xE5, 0xF6, 0x07,
    ];
    let dk = DirectionKeys::new(TrafficKeys {
        aead: AeadAlgo::Aes256Gcm,
        key: Secret::from_slice(&key_bytes).unwrap(),
        iv: Secret::from_slice(&iv_bytes).unwrap(),
    });
    for text in [format!("{dk:?}"), format!("{dk:#?}"), format!("{dk:x?}")] {
        assert!(!leaks(&text, &iv_bytes), "IV in {text}");
        assert!(!leaks(&text, &key_bytes), "key in {text}");
        assert!(text.contains("DirectionKeys"), "{text}");
    }

    // A live session on both ends: its export master secret (the root of every link key) and
    // a link key derived from it appear in no Debug form of the session.
    let chain = spdm_chain();
    let key = EcdsaSigningKey::from_sec1_der(SET.asym, LEAF_KEY).unwrap();
    let mut rrng = TestRng(0x1234_5678_9ABC_DEF1);
    let mut rsp = responder(&key, &mut rrng, &chain);
    let s = handshake(&mut rsp, 0x0F0F_1234_5555_7777);
    let ems = s
        .session()
        .unwrap()
        .export_master_secret()
        .as_bytes()
        .to_vec();
    let link = stream_key(s.session().unwrap());
    let rs = rsp.session().unwrap();
    for text in [
        format!("{s:?}"),
        format!("{s:#?}"),
        format!("{:?}", s.session().unwrap()),
        format!("{rs:#?}"),
        format!("{:x?}", rs.export_master_secret()),
        format!("{rsp:?}"),
    ] {
        assert!(!leaks(&text, &ems), "export master secret in {text}");
        assert!(!leaks(&text, &link), "link key in {text}");
        assert!(!text.contains("iv"), "an IV field in {text}");
    }
}

#[test]
fn reset_ends_the_session_like_get_version_and_the_next_requester_starts_over() {
    let chain = spdm_chain();
    let key = EcdsaSigningKey::from_sec1_der(SET.asym, LEAF_KEY).unwrap();
    let mut rrng = TestRng(0x2468_ACE0_1357_9BDF);
    let mut rsp = responder(&key, &mut rrng, &chain);
    let mut old = handshake(&mut rsp, 0x0F0F_1234_5555_7777);
    let old_key = stream_key(old.session().unwrap());
    assert!(rsp.session().is_some());

    rsp.reset();
    assert!(rsp.session().is_none());
    assert_eq!(rsp.state_name(), "AwaitVersion");
    // The old session's holder gets nothing, and moves nothing.
    assert!(session_exchange(&mut old, &mut rsp, |s, o| s.write_heartbeat(o)).is_err());
    assert_eq!(rsp.state_name(), "AwaitVersion");
    // Nothing of the negotiated connection is left: a request other than GET_VERSION is
    // answered with an ERROR, not served.
    let mut get_capabilities = [0x05, 0x12, 0xE1, 0, 0];
    let mut b = [0u8; BUF];
    let m = rsp.handle(&mut get_capabilities, &mut b).unwrap();
    assert_eq!(b[2], 0x7F, "ERROR expected: {:02x?}", &b[..m]);
    assert_eq!(rsp.state_name(), "AwaitVersion");

    let new = handshake(&mut rsp, 0x7777_0000_1111_2223);
    assert_ne!(stream_key(new.session().unwrap()), old_key);
}
