//! Long lines (payloads of 64 bytes and more): where the folding backend runs, the CRC-16 of an
//! original line and the CRCs of the SEP packet that carries it come from one fold of the
//! payload, and an SV-2 line is MACed while it is copied. These tests hold that path to what
//! the separate passes did: every CRC refused with its own error, in the order of the layers
//! (the CSI-2 CRC-16 first, then the SEP CRC-32), nothing moved by a refusal, and every line
//! that comes out equal to the original bit for bit (its CRC-16 footer included), through
//! `receive` and `receive_batch`, and on the transmitter side the same.
#![allow(clippy::unwrap_used, clippy::panic)] // test helpers outside #[test] fns

mod common;
use common::*;

use cse_core::csi2::{self, DataType, Emitter, HeaderForm, payload_crc};
use cse_core::{CipherSuite, Policy, TagLen, TagMode};
use cse_sep::{Delivery, Receiver, SepError, Transmitter, wire};

/// Payload lengths around the folding backend's minimum, and a 4K RAW12 line.
const LENS: [usize; 5] = [63, 64, 65, 100, 5760];

/// One frame with RAW12 lines of every length of [`LENS`] and a long embedded line.
fn originals(seed: u8) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut push = |dt: Option<DataType>, len: usize, k: usize| {
        let mut buf = vec![0u8; len + 16];
        let mut em = Emitter::new(&mut buf, HeaderForm::Dphy);
        match dt {
            None if k == 0 => em.frame_start(vc(), 3).unwrap(),
            None => em.frame_end(vc(), 3).unwrap(),
            Some(dt) => {
                let p: Vec<u8> = (0..len)
                    .map(|i| (i as u8).wrapping_mul(29) ^ (k as u8).wrapping_mul(11) ^ seed)
                    .collect();
                em.long(vc(), dt, &p).unwrap()
            }
        };
        let n = em.len();
        buf.truncate(n);
        out.push(buf);
    };
    push(None, 0, 0);
    push(Some(DataType::EMBEDDED), 70, 1);
    for (k, len) in LENS.into_iter().enumerate() {
        push(Some(DataType::RAW12), len, k + 2);
    }
    push(Some(DataType::EMBEDDED), 80, 9);
    push(None, 0, 1);
    out
}

/// Every configuration the path serves or must leave alone: SV-1 to SV-5, per-message and
/// per-frame tags, GMAC/GCM and CMAC/CTR+CMAC suites.
fn cases() -> Vec<Case> {
    let mut v = Vec::new();
    for sv in all_svs() {
        for (integrity, encrypting) in [
            (CipherSuite::Aes256Gmac, CipherSuite::Aes256Gcm),
            (CipherSuite::Aes128Cmac, CipherSuite::Aes128CtrCmac),
        ] {
            let suite = if sv.encrypts() { encrypting } else { integrity };
            for mode in [TagMode::PerMessage, TagMode::PerFrame] {
                v.push(case(sv, suite, TagLen::L16, mode));
            }
        }
    }
    v
}

fn rx(c: &Case) -> Receiver {
    let mut rx = Receiver::new(settings(), Policy::PERMISSIVE, 1000);
    rx.install_key(c.cfg.key_id, material(c.suite, 0x42))
        .unwrap();
    rx
}

/// The SEP packets of `originals` under `c`.
fn protected(c: &Case, originals: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let (mut tx, _) = pair(c.cfg, c.suite);
    protect_all(&mut tx, originals)
}

/// The error the separate passes give for `bytes`: the CSI-2 CRC-16 over the whole payload,
/// then the SEP CRC-32 over all of it but the CRC-32 field.
fn layered_error(bytes: &[u8]) -> SepError {
    let view = csi2::Packet::new_checked(bytes).unwrap();
    if let Err(e) = view.verify_crc() {
        return e.into();
    }
    let payload = view.payload();
    let m = payload.len();
    let computed = wire::crc32(&P, &payload[..m - 4]);
    let received = u32::from_le_bytes(payload[m - 4..].try_into().unwrap());
    assert_ne!(computed, received, "the packet is not corrupted");
    SepError::Fusa(cse_core::FusaError::Crc32Mismatch { computed, received })
}

/// Rewrites the outer CSI-2 CRC-16 of an SEP packet to match its payload.
fn fix_crc16(sep: &mut [u8]) {
    let n = sep.len();
    let c = payload_crc(&sep[4..n - 2]);
    sep[n - 2..].copy_from_slice(&c.to_le_bytes());
}

/// The three corruptions of a data SEP packet `sep`: its CRC-16 footer, a byte of its body
/// (CRCs as they were), its CRC-32 field (the CRC-16 then recomputed, as a bus error after the
/// CRC-16 cannot do but a bridge could).
fn corruptions(sep: &[u8]) -> Vec<(&'static str, Vec<u8>)> {
    let n = sep.len();
    let mut footer = sep.to_vec();
    footer[n - 1] ^= 0x40;
    let mut body = sep.to_vec();
    body[4 + wire::HEADER_LEN + 5] ^= 0x01;
    let mut field = sep.to_vec();
    // The CRC-32 field ends the SEP payload, just before the CRC-16 footer.
    field[n - 2 - 3] ^= 0x80;
    fix_crc16(&mut field);
    vec![("footer", footer), ("body", body), ("crc32", field)]
}

/// Whether `sep` is a data SEP packet carrying a long original (the path under test).
fn long_data(sep: &[u8]) -> bool {
    let payload = &sep[4..sep.len() - 2];
    let p = wire::Packet::new_checked(payload, &P).unwrap();
    p.header().phase != wire::Phase::Close
        && !p.has_ext()
        && !DataType(p.header().orig_dt).is_short()
        && p.body().len() >= 64
}

#[test]
fn every_crc_of_a_long_line_is_refused_in_the_order_of_the_layers_and_moves_nothing() {
    let orig = originals(0x5A);
    let mut checked = 0;
    for c in cases() {
        let seps = protected(&c, &orig);
        // Each corruption of each long data packet, sent just before the genuine packet.
        let mut stream = Vec::new();
        let mut want_errors = Vec::new();
        for s in &seps {
            if long_data(s) {
                for (what, bad) in corruptions(s) {
                    want_errors.push((what, layered_error(&bad)));
                    stream.push(bad);
                    checked += 1;
                }
            }
            stream.push(s.clone());
        }
        // One by one: the refusals with the layered errors, then every original as it was.
        let mut r = rx(&c);
        let o = receive_all(&mut r, &stream);
        let got: Vec<&SepError> = o.errors.iter().collect();
        assert_eq!(got.len(), want_errors.len(), "{c:?}: {got:?}");
        for ((what, want), got) in want_errors.iter().zip(got) {
            assert_eq!(got, want, "{c:?} {what}");
        }
        assert_eq!(o.accepted(), orig, "{c:?}: what came out");
        assert!(o.pending.is_empty(), "{c:?}");
        // The same stream clean, on a fresh receiver: the refusals moved nothing that shows.
        let mut clean = rx(&c);
        let oc = receive_all(&mut clean, &seps);
        assert_eq!(oc.accepted(), orig, "{c:?}: clean");
        assert_eq!(o.events, oc.events, "{c:?}: events");
        assert_eq!(
            r.security_stats(),
            clean.security_stats(),
            "{c:?}: security statistics"
        );
        // Through the batch path: the same results, packet for packet.
        let mut one = rx(&c);
        let mut batch = rx(&c);
        let mut outs: Vec<Vec<u8>> = stream.iter().map(|s| vec![0xEE; s.len() + 16]).collect();
        let mut results = Vec::new();
        {
            let refs: Vec<&[u8]> = stream.iter().map(Vec::as_slice).collect();
            let mut out_refs: Vec<&mut [u8]> = outs.iter_mut().map(Vec::as_mut_slice).collect();
            batch
                .receive_batch(&refs, 0, &mut out_refs, |i, r| {
                    results.push((i, r.map(|d| delivered(&d))));
                })
                .unwrap();
        }
        for (i, s) in stream.iter().enumerate() {
            let mut out = vec![0xEE; s.len() + 16];
            let want = one.receive(s, 0, &mut out).map(|d| delivered(&d));
            assert_eq!(results[i], (i, want), "{c:?} batch packet {i}");
            assert_eq!(outs[i], out, "{c:?} batch output {i}");
        }
    }
    assert!(checked >= 3 * 4 * cases().len(), "{checked}");
}

/// What a delivery released (the original packet, when there is one).
fn delivered(d: &Delivery<'_>) -> Option<Vec<u8>> {
    match d {
        Delivery::Verified(v) => Some(v.packet().to_vec()),
        Delivery::Unprotected(u) => Some(u.unauthenticated_packet().to_vec()),
        Delivery::Unverified(u) => Some(u.unverified_packet().to_vec()),
        _ => None,
    }
}

#[test]
fn a_long_original_with_a_bad_crc16_is_refused_and_moves_nothing() {
    let orig = originals(0xA5);
    for c in cases() {
        let (mut a, _) = pair(c.cfg, c.suite);
        let (mut b, _) = pair(c.cfg, c.suite);
        for p in &orig {
            let mut bad = p.clone();
            let long = bad.len() >= 4 + 64 + 2;
            if long {
                // A payload byte, then the footer alone.
                for at in [4 + 7, bad.len() - 1] {
                    bad[at] ^= 0x10;
                    let want: SepError = csi2::Packet::new_checked(&bad[..])
                        .unwrap()
                        .verify_crc()
                        .unwrap_err()
                        .into();
                    let mut out = vec![0xEE; bad.len() + 400];
                    assert_eq!(a.protect(&bad, &mut out).unwrap_err(), want, "{c:?}");
                    assert!(out.iter().all(|&x| x == 0xEE), "{c:?}: written");
                    bad[at] ^= 0x10;
                }
            }
            // The genuine packet: both transmitters write the same bytes.
            assert_eq!(protect_one(&mut a, p), protect_one(&mut b, p), "{c:?}");
        }
    }
}

fn protect_one(t: &mut Transmitter, p: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; p.len() + 400];
    let n = t.protect(p, &mut out).unwrap().len;
    out.truncate(n);
    out
}

/// Recomputes the SEP CRC-32 and the outer CRC-16 of an SEP packet, as an attacker would.
fn fix_crcs(sep: &mut [u8]) {
    let n = sep.len();
    let m = n - 4 - 2;
    let crc = wire::crc32(&P, &sep[4..4 + m - 4]);
    sep[4 + m - 4..4 + m].copy_from_slice(&crc.to_le_bytes());
    fix_crc16(sep);
}

#[test]
fn a_forged_long_line_with_valid_crcs_is_refused_wiped_and_the_genuine_one_still_verifies() {
    let orig = originals(0x3C);
    for sv in [
        cse_core::SecurityVariant::FullIntegrityEncrypted,
        cse_core::SecurityVariant::FullIntegrity,
    ] {
        for suite in [
            CipherSuite::Aes256Gcm,
            CipherSuite::Aes256Gmac,
            CipherSuite::Aes128CtrCmac,
            CipherSuite::Aes128Cmac,
        ] {
            if suite.encrypts() != sv.encrypts() {
                continue;
            }
            let c = case(sv, suite, TagLen::L16, TagMode::PerMessage);
            let seps = protected(&c, &orig);
            let mut r = rx(&c);
            let mut clean = rx(&c);
            let mut forged_sent = 0;
            for s in &seps {
                if long_data(s) {
                    // A payload byte changed and both CRCs made right again: only the tag
                    // can tell, and until it has the original is not released.
                    let mut forged = s.clone();
                    forged[4 + wire::HEADER_LEN + 9] ^= 0x04;
                    fix_crcs(&mut forged);
                    let mut out = vec![0xEE; forged.len() + 16];
                    let e = r.receive(&forged, 0, &mut out).unwrap_err();
                    assert_eq!(
                        e,
                        SepError::Security(cse_core::SecurityError::AuthFailed),
                        "{c:?}"
                    );
                    assert!(out[..forged.len()].iter().all(|&b| b == 0), "{c:?}: wiped");
                    forged_sent += 1;
                }
                let mut a = vec![0u8; s.len() + 16];
                let mut b = vec![0u8; s.len() + 16];
                let got = r.receive(s, 0, &mut a).map(|d| delivered(&d));
                let want = clean.receive(s, 0, &mut b).map(|d| delivered(&d));
                assert_eq!(got, want, "{c:?}: the genuine packet after a forgery");
                assert!(matches!(got, Ok(Some(_))), "{c:?}: {got:?}");
            }
            // Lines of 64, 65, 100 and 5760 bytes and the two embedded lines.
            assert_eq!(forged_sent, 6, "{c:?}");
            assert_eq!(r.fusa_stats(), clean.fusa_stats(), "{c:?}");
        }
    }
}
