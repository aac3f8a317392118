//! Known-answer tests against a recorded libspdm session
//! (`tests/vectors/spdm12_libspdm_vectors.json`: DMTF spdm-emu requester <-> responder, libspdm
//! 1e16c60f, SPDM 1.2, algorithm set A, MCTP; values cross-checked with libspdm's debug dump).
//!
//! Every message parses and re-emits byte for byte; the certificate-chain hash, M1, the
//! KEY_EXCHANGE_RSP signature input, TH1, both FINISH HMAC inputs and verify data, TH2, every
//! secret, key and IV of the schedule (before and after KEY_UPDATE) and the export master secret
//! are reproduced; every recorded record decrypts under the right key and sequence number and
//! re-seals to the same bytes; the two recorded ECDSA signatures verify with the leaf key.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use spdm_lite::crypto::{
    AeadAlgo, AlgorithmSet, AsymAlgo, CryptoProvider, Digest, HashAlgo, HashCtx, RustCrypto,
    Secret, Sizes,
};
use spdm_lite::key_schedule::KeySchedule;
use spdm_lite::msgs::algorithms::{AlgorithmsRsp, NegotiateAlgorithms};
use spdm_lite::msgs::capabilities::{CapabilitiesRsp, GetCapabilities};
use spdm_lite::msgs::certificate::{CertChain, CertificateRsp, GetCertificate};
use spdm_lite::msgs::challenge::{Challenge, ChallengeAuth};
use spdm_lite::msgs::digests::{DigestsRsp, GetDigests};
use spdm_lite::msgs::finish::{Finish, FinishRsp};
use spdm_lite::msgs::key_exchange::{KeyExchange, KeyExchangeRsp};
use spdm_lite::msgs::opaque::SmVersions;
use spdm_lite::msgs::psk::{PskExchange, PskExchangeRsp, PskFinish, PskFinishRsp};
use spdm_lite::msgs::version::{GetVersion, VersionRsp};
use spdm_lite::msgs::{Encode, Version};
use spdm_lite::record::{self, DirectionKeys};
use spdm_lite::transcript::{self, signing_digest};

const JSON: &str = include_str!("vectors/spdm12_libspdm_vectors.json");
const KEX: &str = "kex_p256_sha256_aes128gcm_hs_in_clear";
const PSK: &str = "psk_sha256_aes128gcm";
const P: RustCrypto = RustCrypto;
const SIZES: Sizes = AlgorithmSet::SET_A.sizes();

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd hex");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// The text of one top-level section.
fn section(name: &str) -> &'static str {
    let start = JSON.find(&format!("\"{name}\": {{")).unwrap();
    let rest = &JSON[start..];
    // Sections are separated by "\n },\n" at indent 1 (or end with "\n }\n}").
    let end = rest.find("\n }").unwrap();
    &rest[..end]
}

/// The string value of `"key": "value"` inside `sec` (first occurrence).
fn value(sec: &str, key: &str) -> Vec<u8> {
    let pat = format!("\"{key}\": \"");
    let start = sec.find(&pat).unwrap_or_else(|| panic!("missing {key}")) + pat.len();
    let end = sec[start..].find('"').unwrap();
    unhex(&sec[start..start + end])
}

fn digest(sec: &str, key: &str) -> Digest {
    Digest::from_slice(&value(sec, key)).unwrap()
}

/// `[name, hex]` pairs of `messages_in_order`.
fn messages(sec: &str) -> Vec<(String, Vec<u8>)> {
    let block = &sec[sec.find("\"messages_in_order\"").unwrap()..];
    let block = &block[..block.find("\n  ]").unwrap()];
    let strings: Vec<&str> = block.split('"').skip(3).step_by(2).collect();
    strings
        .chunks(2)
        .map(|c| (c[0].to_string(), unhex(c[1])))
        .collect()
}

/// `[direction, hex]` pairs of `secured_records`.
fn records(sec: &str) -> Vec<(String, Vec<u8>)> {
    let block = &sec[sec.find("\"secured_records\"").unwrap()..];
    let block = &block[..block.find("\n  ]").unwrap()];
    let strings: Vec<&str> = block.split('"').skip(3).step_by(2).collect();
    strings
        .chunks(2)
        .map(|c| (c[0].to_string(), unhex(c[1])))
        .collect()
}

fn reemit<E: Encode>(m: &E, original: &[u8]) {
    let mut buf = vec![0u8; original.len() + 64];
    let n = m.encode(&mut buf).unwrap();
    assert_eq!(&buf[..n], original, "re-emitted message differs");
    // Exactly sized buffers work, one byte less does not.
    let mut exact = vec![0u8; original.len()];
    assert_eq!(m.encode(&mut exact).unwrap(), original.len());
    if !original.is_empty() {
        let mut short = vec![0u8; original.len() - 1];
        assert!(m.encode(&mut short).is_err());
    }
}

fn hash(parts: &[&[u8]]) -> Digest {
    let mut h = P.hash(HashAlgo::Sha256).unwrap();
    for p in parts {
        h.update(p);
    }
    h.finish()
}

/// Parses and re-emits one message, with the parse parameters the session negotiated.
fn roundtrip(name: &str, m: &[u8], meas: bool, hs_in_clear: bool) {
    match name {
        "SPDM_GET_VERSION" => reemit(&GetVersion::parse(m).unwrap(), m),
        "SPDM_VERSION" => {
            let v = VersionRsp::parse(m).unwrap();
            assert_eq!(v.versions().collect::<Vec<_>>(), vec![Version::V12]);
            reemit(&v, m)
        }
        "SPDM_GET_CAPABILITIES" => reemit(&GetCapabilities::parse(m).unwrap(), m),
        "SPDM_CAPABILITIES" => reemit(&CapabilitiesRsp::parse(m).unwrap(), m),
        "SPDM_NEGOTIATE_ALGORITHMS" => reemit(&NegotiateAlgorithms::parse(m).unwrap(), m),
        "SPDM_ALGORITHMS" => {
            let a = AlgorithmsRsp::parse(m).unwrap();
            assert_eq!(HashAlgo::from_bit(a.base_hash), Some(HashAlgo::Sha256));
            assert_eq!(AsymAlgo::from_bit(a.base_asym), Some(AsymAlgo::EcdsaP256));
            assert_eq!(
                a.structs.aead.and_then(AeadAlgo::from_bit),
                Some(AeadAlgo::Aes128Gcm)
            );
            reemit(&a, m)
        }
        "SPDM_GET_DIGESTS" => reemit(&GetDigests::parse(m).unwrap(), m),
        "SPDM_DIGESTS" => reemit(&DigestsRsp::parse(m, 32).unwrap(), m),
        "SPDM_GET_CERTIFICATE" => reemit(&GetCertificate::parse(m).unwrap(), m),
        "SPDM_CERTIFICATE" => reemit(&CertificateRsp::parse(m).unwrap(), m),
        "SPDM_CHALLENGE" => reemit(&Challenge::parse(m).unwrap(), m),
        "SPDM_CHALLENGE_AUTH" => reemit(&ChallengeAuth::parse(m, SIZES, meas).unwrap(), m),
        "SPDM_KEY_EXCHANGE" => {
            let ke = KeyExchange::parse(m, SIZES).unwrap();
            assert_eq!(
                SmVersions::find(ke.opaque).unwrap(),
                SmVersions::Supported(&[0x00, 0x10, 0x00, 0x11, 0x00, 0x12])
            );
            reemit(&ke, m)
        }
        "SPDM_KEY_EXCHANGE_RSP" => {
            let r = KeyExchangeRsp::parse(m, SIZES, meas, !hs_in_clear).unwrap();
            assert_eq!(
                SmVersions::find(r.opaque).unwrap(),
                SmVersions::Selected(0x1200)
            );
            reemit(&r, m)
        }
        "SPDM_FINISH" => reemit(&Finish::parse(m, SIZES).unwrap(), m),
        "SPDM_FINISH_RSP" => reemit(&FinishRsp::parse(m, SIZES, hs_in_clear).unwrap(), m),
        "SPDM_PSK_EXCHANGE" => reemit(&PskExchange::parse(m).unwrap(), m),
        "SPDM_PSK_EXCHANGE_RSP" => reemit(&PskExchangeRsp::parse(m, SIZES, meas).unwrap(), m),
        "SPDM_PSK_FINISH" => reemit(&PskFinish::parse(m, SIZES).unwrap(), m),
        "SPDM_PSK_FINISH_RSP" => reemit(&PskFinishRsp::parse(m).unwrap(), m),
        other => panic!("no codec for {other}"),
    }
}

/// Whether the message parses (for negative tests; no panics involved).
fn parse_ok(name: &str, m: &[u8]) -> bool {
    match name {
        "SPDM_GET_VERSION" => GetVersion::parse(m).is_ok(),
        "SPDM_VERSION" => VersionRsp::parse(m).is_ok(),
        "SPDM_GET_CAPABILITIES" => GetCapabilities::parse(m).is_ok(),
        "SPDM_CAPABILITIES" => CapabilitiesRsp::parse(m).is_ok(),
        "SPDM_NEGOTIATE_ALGORITHMS" => NegotiateAlgorithms::parse(m).is_ok(),
        "SPDM_ALGORITHMS" => AlgorithmsRsp::parse(m).is_ok(),
        "SPDM_GET_DIGESTS" => GetDigests::parse(m).is_ok(),
        "SPDM_DIGESTS" => DigestsRsp::parse(m, 32).is_ok(),
        "SPDM_GET_CERTIFICATE" => GetCertificate::parse(m).is_ok(),
        "SPDM_CERTIFICATE" => CertificateRsp::parse(m).is_ok(),
        "SPDM_CHALLENGE" => Challenge::parse(m).is_ok(),
        "SPDM_CHALLENGE_AUTH" => ChallengeAuth::parse(m, SIZES, true).is_ok(),
        "SPDM_KEY_EXCHANGE" => KeyExchange::parse(m, SIZES).is_ok(),
        "SPDM_KEY_EXCHANGE_RSP" => KeyExchangeRsp::parse(m, SIZES, true, false).is_ok(),
        "SPDM_FINISH" => Finish::parse(m, SIZES).is_ok(),
        "SPDM_FINISH_RSP" => FinishRsp::parse(m, SIZES, true).is_ok(),
        "SPDM_PSK_EXCHANGE" => PskExchange::parse(m).is_ok(),
        "SPDM_PSK_EXCHANGE_RSP" => PskExchangeRsp::parse(m, SIZES, true).is_ok(),
        "SPDM_PSK_FINISH" => PskFinish::parse(m, SIZES).is_ok(),
        "SPDM_PSK_FINISH_RSP" => PskFinishRsp::parse(m).is_ok(),
        other => panic!("no codec for {other}"),
    }
}

#[test]
fn every_recorded_message_parses_and_reemits_identically() {
    let mut n = 0;
    for sec in [KEX, PSK] {
        for (name, m) in messages(section(sec)) {
            roundtrip(&name, &m, true, true);
            // Every truncation and one extra byte are refused.
            for cut in 0..m.len() {
                assert!(
                    !parse_ok(&name, &m[..cut]),
                    "{name} accepted a truncation to {cut} bytes"
                );
            }
            let mut long = m.clone();
            long.push(0);
            assert!(!parse_ok(&name, &long), "{name} accepted a trailing byte");
            n += 1;
        }
    }
    assert_eq!(n, 34);
}

/// Splits concatenated DER certificates (each `30 82 len_hi len_lo ...`).
fn split_der(mut certs: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while !certs.is_empty() {
        assert_eq!(&certs[..2], &[0x30, 0x82]);
        let len = 4 + usize::from(u16::from_be_bytes([certs[2], certs[3]]));
        out.push(&certs[..len]);
        certs = &certs[len..];
    }
    out
}

fn leaf_public_key(chain: &[u8]) -> Vec<u8> {
    use der::Decode;
    let chain = CertChain::parse(chain, 32).unwrap();
    let certs = split_der(chain.certificates);
    assert_eq!(certs.len(), 3);
    assert_eq!(
        hash(&[certs[0]]).as_bytes(),
        chain.root_hash,
        "RootHash = Hash(root DER)"
    );
    let leaf = x509_cert::Certificate::from_der(certs[2]).unwrap();
    leaf.tbs_certificate()
        .subject_public_key_info()
        .subject_public_key
        .raw_bytes()
        .to_vec()
}

fn msg<'a>(ms: &'a [(String, Vec<u8>)], name: &str, nth: usize) -> &'a [u8] {
    &ms.iter().filter(|(n, _)| n == name).nth(nth).unwrap().1
}

#[test]
fn kex_session_transcripts_signatures_and_verify_data_match_libspdm() {
    let sec = section(KEX);
    let ms = messages(sec);
    let vca: Vec<u8> = ms[..6].iter().flat_map(|(_, m)| m.clone()).collect();
    assert_eq!(vca, value(sec, "vca"));

    // Cert chain: Hash(chain) is the DIGESTS/CHALLENGE_AUTH value and the CERTIFICATE portion.
    let chain = value(sec, "cert_chain_slot0");
    let ct = hash(&[&chain]);
    assert_eq!(ct, digest(sec, "cert_chain_hash"));
    let cert0 = CertificateRsp::parse(msg(&ms, "SPDM_CERTIFICATE", 0)).unwrap();
    assert_eq!(cert0.portion, &chain[..]);
    assert_eq!(cert0.remainder, 0);
    let digests = DigestsRsp::parse(msg(&ms, "SPDM_DIGESTS", 0), 32).unwrap();
    assert_eq!(digests.digest(0, 32).unwrap(), ct.as_bytes());
    let leaf = leaf_public_key(&chain);

    // M1 and the CHALLENGE_AUTH signature.
    let ca_bytes = msg(&ms, "SPDM_CHALLENGE_AUTH", 0);
    let ca = ChallengeAuth::parse(ca_bytes, SIZES, true).unwrap();
    let mut t = transcript::Transcript::start(&P, HashAlgo::Sha256).unwrap();
    t.update(&vca);
    for (name, m) in &ms[6..12] {
        assert!(name.contains("DIGESTS") || name.contains("CERTIFICATE"));
        t.update(m);
    }
    t.update(msg(&ms, "SPDM_CHALLENGE", 0));
    t.update(&ca_bytes[..ca.signed_len()]);
    let m1 = t.current();
    assert_eq!(m1, digest(sec, "m1_hash_challenge_auth"));
    let d = signing_digest(
        &P,
        HashAlgo::Sha256,
        Version::V12,
        transcript::context::RESPONDER_CHALLENGE_AUTH,
        &m1,
    )
    .unwrap();
    P.ecdsa_verify(AsymAlgo::EcdsaP256, &leaf, d.as_bytes(), ca.signature)
        .unwrap();
    let mut bad = ca.signature.to_vec();
    bad[5] ^= 1;
    assert_eq!(
        P.ecdsa_verify(AsymAlgo::EcdsaP256, &leaf, d.as_bytes(), &bad),
        Err(spdm_lite::Error::Authentication)
    );

    // KEY_EXCHANGE: signature input, TH1.
    let ke = msg(&ms, "SPDM_KEY_EXCHANGE", 0);
    let ker_bytes = msg(&ms, "SPDM_KEY_EXCHANGE_RSP", 0);
    let ker = KeyExchangeRsp::parse(ker_bytes, SIZES, true, false).unwrap();
    assert!(ker.verify_data.is_none());
    let mut t = transcript::Transcript::start(&P, HashAlgo::Sha256).unwrap();
    t.update(&vca);
    t.update(ct.as_bytes());
    t.update(ke);
    let mut t_sig = t.clone();
    t_sig.update(&ker_bytes[..ker.unsigned_len()]);
    let th_sig = t_sig.current();
    assert_eq!(th_sig, digest(sec, "th_for_kex_rsp_signature"));
    let d = signing_digest(
        &P,
        HashAlgo::Sha256,
        Version::V12,
        transcript::context::RESPONDER_KEY_EXCHANGE_RSP,
        &th_sig,
    )
    .unwrap();
    P.ecdsa_verify(AsymAlgo::EcdsaP256, &leaf, d.as_bytes(), ker.signature)
        .unwrap();
    t.update(&ker_bytes[..ker.th1_len()]);
    let th1 = t.current();
    assert_eq!(th1, digest(sec, "th1_hash"));

    // Key schedule up to the finished keys.
    let ks = KeySchedule::new(&P, HashAlgo::Sha256, Version::V12);
    let sched = section_after(sec, "\"schedule\"");
    let hs = ks
        .handshake_secret(&value(sec, "dhe_shared_secret"), false)
        .unwrap();
    assert_eq!(hs.as_bytes(), value(sched, "handshake_secret"));
    let hss = ks.handshake(hs, &th1).unwrap();
    check_handshake(&ks, sched, &hss);

    // FINISH (in the clear): requester verify data over Hash(A‖Ct‖K‖FINISH header).
    let fin_bytes = msg(&ms, "SPDM_FINISH", 0);
    let fin = Finish::parse(fin_bytes, SIZES).unwrap();
    t.update(&fin_bytes[..fin.hmac_input_len()]);
    let th_f = t.current();
    assert_eq!(th_f, digest(sec, "finish_req_hmac_input_hash"));
    ks.check_verify_data(&hss.request.finished_key, &th_f, fin.verify_data)
        .unwrap();
    let mut tampered = fin.verify_data.to_vec();
    tampered[31] ^= 0x80;
    assert_eq!(
        ks.check_verify_data(&hss.request.finished_key, &th_f, &tampered),
        Err(spdm_lite::Error::Authentication)
    );
    // The responder's key must not verify the requester's data.
    assert!(
        ks.check_verify_data(&hss.response.finished_key, &th_f, fin.verify_data)
            .is_err()
    );
    t.update(&fin_bytes[fin.hmac_input_len()..]);

    // FINISH_RSP carries the responder verify data over Hash(…‖FINISH‖FINISH_RSP header).
    let fr_bytes = msg(&ms, "SPDM_FINISH_RSP", 0);
    let fr = FinishRsp::parse(fr_bytes, SIZES, true).unwrap();
    let mut t_fr = t.clone();
    t_fr.update(&fr_bytes[..4]);
    let th_fr = t_fr.current();
    assert_eq!(th_fr, digest(sec, "finish_rsp_hmac_input_hash"));
    ks.check_verify_data(&hss.response.finished_key, &th_fr, fr.verify_data.unwrap())
        .unwrap();
    t.update(fr_bytes);
    let th2 = t.current();
    assert_eq!(th2, digest(sec, "th2_hash"));

    check_data_phase(&ks, sched, &hss, &th2);
}

/// The text from `marker` to the end of `sec`.
fn section_after<'a>(sec: &'a str, marker: &str) -> &'a str {
    &sec[sec.find(marker).unwrap()..]
}

fn check_handshake<P: CryptoProvider>(
    ks: &KeySchedule<'_, P>,
    sched: &str,
    hss: &spdm_lite::key_schedule::HandshakeSecrets,
) {
    assert_eq!(hss.request.secret.as_bytes(), value(sched, "req_hs_secret"));
    assert_eq!(
        hss.response.secret.as_bytes(),
        value(sched, "rsp_hs_secret")
    );
    assert_eq!(
        hss.request.finished_key.as_bytes(),
        value(sched, "req_finished_key")
    );
    assert_eq!(
        hss.response.finished_key.as_bytes(),
        value(sched, "rsp_finished_key")
    );
    let k = ks
        .traffic_keys(AeadAlgo::Aes128Gcm, &hss.request.secret)
        .unwrap();
    assert_eq!(k.key.as_bytes(), value(sched, "req_hs_key"));
    assert_eq!(k.iv.as_bytes(), value(sched, "req_hs_iv"));
    let k = ks
        .traffic_keys(AeadAlgo::Aes128Gcm, &hss.response.secret)
        .unwrap();
    assert_eq!(k.key.as_bytes(), value(sched, "rsp_hs_key"));
    assert_eq!(k.iv.as_bytes(), value(sched, "rsp_hs_iv"));
}

fn check_data_phase<P: CryptoProvider>(
    ks: &KeySchedule<'_, P>,
    sched: &str,
    hss: &spdm_lite::key_schedule::HandshakeSecrets,
    th2: &Digest,
) {
    let master = ks.master_secret(&hss.handshake_secret).unwrap();
    assert_eq!(master.as_bytes(), value(sched, "master_secret"));
    let data = ks.data(&master, th2).unwrap();
    assert_eq!(data.request.as_bytes(), value(sched, "req_app_secret"));
    assert_eq!(data.response.as_bytes(), value(sched, "rsp_app_secret"));
    assert_eq!(
        data.export_master.as_bytes(),
        value(sched, "export_master_secret")
    );
    for (dir, secret) in [("req", &data.request), ("rsp", &data.response)] {
        let k = ks.traffic_keys(AeadAlgo::Aes128Gcm, secret).unwrap();
        assert_eq!(k.key.as_bytes(), value(sched, &format!("{dir}_app_key")));
        assert_eq!(k.iv.as_bytes(), value(sched, &format!("{dir}_app_iv")));
        let next = ks.update(secret).unwrap();
        assert_eq!(
            next.as_bytes(),
            value(sched, &format!("{dir}_app_secret_after_key_update"))
        );
        let k = ks.traffic_keys(AeadAlgo::Aes128Gcm, &next).unwrap();
        assert_eq!(
            k.key.as_bytes(),
            value(sched, &format!("{dir}_app_key_after_key_update"))
        );
        assert_eq!(
            k.iv.as_bytes(),
            value(sched, &format!("{dir}_app_iv_after_key_update"))
        );
    }
}

fn keys_from(sched: &str, name: &str) -> DirectionKeys {
    let ks = KeySchedule::new(&P, HashAlgo::Sha256, Version::V12);
    let secret = Secret::from_slice(&value(sched, name)).unwrap();
    DirectionKeys::new(ks.traffic_keys(AeadAlgo::Aes128Gcm, &secret).unwrap())
}

/// Opens `rec` with `keys` (expecting `expected` inside), then re-seals the plaintext with the
/// recorded padding under a copy of the sender's state and compares the bytes.
fn open_and_reseal(
    rec: &[u8],
    opener: &mut DirectionKeys,
    sealer: &mut DirectionKeys,
    expected: Option<&[u8]>,
) -> Vec<u8> {
    let sid = record::session_id(rec).unwrap();
    assert_eq!(sid, 0xFFFF_FFFF);
    let mut buf = rec.to_vec();
    let spdm = record::open(&P, sid, opener, &mut buf).unwrap().to_vec();
    if let Some(e) = expected {
        assert_eq!(spdm, e);
    }
    // Plaintext layout: AppDataLen(2) 0x05 SPDM pad.
    let pad = &buf[record::HEADER_LEN + 3 + spdm.len()..buf.len() - 16];
    let mut out = vec![0u8; rec.len()];
    let n = record::seal(&P, sid, sealer, &spdm, pad, &mut out).unwrap();
    assert_eq!(&out[..n], rec, "re-sealed record differs");
    spdm
}

#[test]
fn kex_session_records_decrypt_across_key_update_and_reseal_identically() {
    let sec = section(KEX);
    let sched = section_after(sec, "\"schedule\"");
    let recs = records(sec);
    assert_eq!(recs.len(), 7);
    let (mut req_o, mut req_s) = (
        keys_from(sched, "req_app_secret"),
        keys_from(sched, "req_app_secret"),
    );
    let (mut rsp_o, mut rsp_s) = (
        keys_from(sched, "rsp_app_secret"),
        keys_from(sched, "rsp_app_secret"),
    );
    let expect = |s: &str| unhex(&s[2..]);
    // HEARTBEAT / ACK under the first app keys, seq 0.
    open_and_reseal(
        &recs[0].1,
        &mut req_o,
        &mut req_s,
        Some(&expect("0512e80000")),
    );
    open_and_reseal(
        &recs[1].1,
        &mut rsp_o,
        &mut rsp_s,
        Some(&expect("0512680000")),
    );
    // KEY_UPDATE(UpdateAllKeys) under the OLD request key, seq 1.
    open_and_reseal(
        &recs[2].1,
        &mut req_o,
        &mut req_s,
        Some(&expect("0512e902ca")),
    );
    // A replay of it is refused without moving the counter.
    let mut replay = recs[2].1.clone();
    assert_eq!(
        record::open(&P, 0xFFFF_FFFF, &mut req_o, &mut replay),
        Err(spdm_lite::Error::BadSequence)
    );
    // The ACK already goes under the NEW response key, seq 0; the old one cannot open it.
    let mut old = keys_from(sched, "rsp_app_secret");
    let mut copy = recs[3].1.clone();
    assert_eq!(
        record::open(&P, 0xFFFF_FFFF, &mut old, &mut copy),
        Err(spdm_lite::Error::Authentication)
    );
    assert!(
        copy[record::HEADER_LEN..copy.len() - 16]
            .iter()
            .all(|&b| b == 0),
        "failed open wipes"
    );
    assert_eq!(old.sequence(), 0);
    let (mut rsp_o, mut rsp_s) = (
        keys_from(sched, "rsp_app_secret_after_key_update"),
        keys_from(sched, "rsp_app_secret_after_key_update"),
    );
    open_and_reseal(
        &recs[3].1,
        &mut rsp_o,
        &mut rsp_s,
        Some(&expect("05126902ca")),
    );
    // VerifyNewKey under the NEW request key, seq 0; its ACK seq 1; END_SESSION seq 1.
    let (mut req_o, mut req_s) = (
        keys_from(sched, "req_app_secret_after_key_update"),
        keys_from(sched, "req_app_secret_after_key_update"),
    );
    open_and_reseal(
        &recs[4].1,
        &mut req_o,
        &mut req_s,
        Some(&expect("0512e9034c")),
    );
    open_and_reseal(
        &recs[5].1,
        &mut rsp_o,
        &mut rsp_s,
        Some(&expect("051269034c")),
    );
    open_and_reseal(
        &recs[6].1,
        &mut req_o,
        &mut req_s,
        Some(&expect("0512ec0100")),
    );
    assert_eq!((req_o.sequence(), rsp_o.sequence()), (2, 2));
}

#[test]
fn every_tampered_record_byte_is_rejected() {
    let sec = section(KEX);
    let sched = section_after(sec, "\"schedule\"");
    let rec = &records(sec)[0].1;
    for i in 0..rec.len() {
        let mut keys = keys_from(sched, "req_app_secret");
        let mut buf = rec.clone();
        buf[i] ^= 0x01;
        assert!(
            record::open(&P, 0xFFFF_FFFF, &mut keys, &mut buf).is_err(),
            "byte {i}"
        );
        assert_eq!(keys.sequence(), 0, "counter moved on a rejected record");
    }
}

#[test]
fn psk_session_schedule_transcripts_and_records_match_libspdm() {
    let sec = section(PSK);
    let sched = section_after(sec, "\"schedule\"");
    let ms = messages(sec);
    let vca: Vec<u8> = ms[..6].iter().flat_map(|(_, m)| m.clone()).collect();
    assert_eq!(vca, value(sec, "vca"));
    let px = msg(&ms, "SPDM_PSK_EXCHANGE", 0);
    let pxr_bytes = msg(&ms, "SPDM_PSK_EXCHANGE_RSP", 0);
    let pxr = PskExchangeRsp::parse(pxr_bytes, SIZES, true).unwrap();
    assert_eq!(pxr.responder_context.len(), 64);
    let pe = PskExchange::parse(px).unwrap();
    assert_eq!(pe.psk_hint, b"TestPskHint\0");

    let mut t = transcript::Transcript::start(&P, HashAlgo::Sha256).unwrap();
    t.update(&vca);
    t.update(px);
    t.update(&pxr_bytes[..pxr.th1_len()]);
    let th1 = t.current();
    assert_eq!(th1, digest(sec, "th1_hash"));

    let ks = KeySchedule::new(&P, HashAlgo::Sha256, Version::V12);
    let psk = value(sec, "psk");
    assert_eq!(psk, b"TestPskData\0");
    let hs = ks.handshake_secret(&psk, true).unwrap();
    assert_eq!(hs.as_bytes(), value(sched, "handshake_secret"));
    let hss = ks.handshake(hs, &th1).unwrap();
    check_handshake(&ks, sched, &hss);
    ks.check_verify_data(&hss.response.finished_key, &th1, pxr.verify_data)
        .unwrap();
    // A wrong PSK yields verify data that does not check.
    let wrong = ks
        .handshake(ks.handshake_secret(b"TestPskData\x01", true).unwrap(), &th1)
        .unwrap();
    assert!(
        ks.check_verify_data(&wrong.response.finished_key, &th1, pxr.verify_data)
            .is_err()
    );
    t.update(pxr.verify_data);

    let pf_bytes = msg(&ms, "SPDM_PSK_FINISH", 0);
    let pf = PskFinish::parse(pf_bytes, SIZES).unwrap();
    let mut t_pf = t.clone();
    t_pf.update(&pf_bytes[..4]);
    ks.check_verify_data(&hss.request.finished_key, &t_pf.current(), pf.verify_data)
        .unwrap();
    t.update(pf_bytes);
    t.update(msg(&ms, "SPDM_PSK_FINISH_RSP", 0));
    let th2 = t.current();
    assert_eq!(th2, digest(sec, "th2_hash"));
    check_data_phase(&ks, sched, &hss, &th2);

    // Records: PSK_FINISH / PSK_FINISH_RSP under the handshake keys, then one app record each way.
    let recs = records(sec);
    assert_eq!(recs.len(), 4);
    let hs_keys = |d: &spdm_lite::key_schedule::HandshakeDirection| {
        DirectionKeys::new(ks.traffic_keys(AeadAlgo::Aes128Gcm, &d.secret).unwrap())
    };
    let (mut o, mut s) = (hs_keys(&hss.request), hs_keys(&hss.request));
    open_and_reseal(&recs[0].1, &mut o, &mut s, Some(pf_bytes));
    let (mut o, mut s) = (hs_keys(&hss.response), hs_keys(&hss.response));
    open_and_reseal(
        &recs[1].1,
        &mut o,
        &mut s,
        Some(msg(&ms, "SPDM_PSK_FINISH_RSP", 0)),
    );
    let (mut o, mut s) = (
        keys_from(sched, "req_app_secret"),
        keys_from(sched, "req_app_secret"),
    );
    let req = open_and_reseal(&recs[2].1, &mut o, &mut s, None);
    let (mut o, mut s) = (
        keys_from(sched, "rsp_app_secret"),
        keys_from(sched, "rsp_app_secret"),
    );
    let rsp = open_and_reseal(&recs[3].1, &mut o, &mut s, None);
    // Whatever libspdm exchanged there, it is an SPDM 1.2 request and its response.
    assert_eq!(req[0], 0x12);
    assert!(req[1] & 0x80 != 0, "{req:02x?}");
    assert_eq!(rsp[0], 0x12);
    assert_eq!(rsp[1], req[1] & 0x7F, "{rsp:02x?}");
}

#[test]
fn export_helper_is_hkdf_expand_over_bin_concat_with_profile_labels() {
    use cse_core::csi2::VirtualChannel;
    use hmac::{Hmac, KeyInit, Mac};
    use spdm_lite::export::{ExportMasterSecret, LinkKeyPurpose, link_key_context};
    let sec = section(KEX);
    let sched = section_after(sec, "\"schedule\"");
    let raw = value(sched, "export_master_secret");
    let vc = VirtualChannel::new(3).unwrap();
    let profile = cse_core::Profile::DRAFT_1;
    let mut seen = Vec::new();
    // Two sessions with the same secret but other ids (a defence in depth: a real new session
    // also has a new export master secret) never share a key.
    for session_id in [0xFFFE_FFFFu32, 0x0001_0002] {
        let ems = ExportMasterSecret::new(
            Secret::from_slice(&raw).unwrap(),
            HashAlgo::Sha256,
            Version::V12,
            session_id,
        );
        assert_eq!(ems.session_id(), session_id);
        for purpose in [
            LinkKeyPurpose::StreamKey,
            LinkKeyPurpose::StreamSalt,
            LinkKeyPurpose::StreamMacKey,
            LinkKeyPurpose::CciseKey,
        ] {
            for dir in [
                cse_core::Direction::SensorToController,
                cse_core::Direction::ControllerToSensor,
            ] {
                for generation in [0u32, 1] {
                    let mut out = [0u8; 16];
                    ems.derive_link_key(&P, &profile, purpose, dir, vc, generation, &mut out)
                        .unwrap();
                    // Independent HKDF-Expand (one block): HMAC(prk, info ‖ 0x01), the
                    // context spelled out byte by byte.
                    let mut info = vec![16u8, 0];
                    info.extend_from_slice(b"spdm1.2 ");
                    info.extend_from_slice(purpose.label(&profile).as_bytes());
                    let context = [
                        [dir as u8, 3].as_slice(),
                        &generation.to_le_bytes(),
                        &session_id.to_le_bytes(),
                    ]
                    .concat();
                    assert_eq!(
                        link_key_context(dir, vc, generation, session_id)[..],
                        context[..]
                    );
                    info.extend_from_slice(&context);
                    info.push(1);
                    let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(&raw).unwrap();
                    mac.update(&info);
                    assert_eq!(out, mac.finalize().into_bytes()[..16]);
                    assert!(
                        !seen.contains(&out),
                        "two purposes/contexts/sessions gave the same key"
                    );
                    seen.push(out);
                }
            }
        }
    }
    assert_eq!(LinkKeyPurpose::CciseKey.label(&profile), "ccise key");
}
