//! SPDM 1.2 measurements end to end, in memory: MEAS_CAP negotiation, the measurement
//! summary hash in CHALLENGE_AUTH and KEY_EXCHANGE_RSP (TCB and All), GET_MEASUREMENTS in a
//! session (count, one index, all; signed and unsigned) and in the clear, the L1/L2 rules,
//! ContentChanged, and the negative cases (flipped signature, summary mismatch after a
//! firmware swap, malformed requests answered with ERROR and nothing else changed).
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use std::cell::{Cell, RefCell};

use common::{Block, HINT, PSK, SETS, TestRng, block_info, in_session, read, spdm_chain, verifier};
use spdm_lite::cert::ChainVerifier;
use spdm_lite::crypto::{
    AlgorithmSet, AsymAlgo, CryptoProvider, EcdsaSigningKey, RustCrypto, Signer,
};
use spdm_lite::measurements::{BlockInfo, MeasurementProvider, SummaryType, value_type};
use spdm_lite::msgs::Encode;
use spdm_lite::msgs::measurements::{ContentChanged, MeasurementBlock, MeasurementsRsp, OP_ALL};
use spdm_lite::requester::{
    Auth, MeasurementRequest, Measurements, Requester, RequesterConfig, RequesterSession, Status,
};
use spdm_lite::responder::{Responder, ResponderConfig};
use spdm_lite::session::Role;
use spdm_lite::{CryptoError, Error};

/// A signer that can be told to flip a bit of the next signatures (a responder whose
/// MEASUREMENTS signature is corrupted on the way).
struct FlipSigner {
    key: EcdsaSigningKey,
    flip: &'static Cell<bool>,
}

impl Signer for FlipSigner {
    fn algorithm(&self) -> AsymAlgo {
        self.key.algorithm()
    }
    fn sign_prehash(&self, prehash: &[u8], out: &mut [u8]) -> Result<usize, CryptoError> {
        let n = self.key.sign_prehash(prehash, out)?;
        if self.flip.get() {
            out[3] ^= 0x10;
        }
        Ok(n)
    }
}

/// Firmware measurements.
struct Fw {
    blocks: RefCell<Vec<Block>>,
    generation: Cell<u64>,
}

impl Fw {
    fn new(h: usize, svn: u64) -> Self {
        Self {
            blocks: RefCell::new(vec![
                (1, value_type::IMMUTABLE_ROM, vec![0x11; h], true),
                (2, value_type::MUTABLE_FIRMWARE, vec![0x22; h], true),
                (3, value_type::HARDWARE_CONFIG, vec![0x33; h], false),
                (
                    4,
                    value_type::FIRMWARE_VERSION | value_type::RAW,
                    b"1.4.2".to_vec(),
                    false,
                ),
                (
                    5,
                    value_type::SECURITY_VERSION_NUMBER | value_type::RAW,
                    svn.to_le_bytes().to_vec(),
                    true,
                ),
            ]),
            generation: Cell::new(1),
        }
    }

    /// A firmware update at run time: block 2 changes.
    fn swap_firmware(&self) {
        let mut b = self.blocks.borrow_mut();
        b[1].2.fill(0x66);
        self.generation.set(self.generation.get() + 1);
    }
}

impl MeasurementProvider for Fw {
    fn count(&self) -> usize {
        self.blocks.borrow().len()
    }
    fn block(&self, n: usize, value: &mut [u8]) -> Option<BlockInfo> {
        block_info(&self.blocks.borrow(), n, value)
    }
    fn generation(&self) -> Option<u64> {
        Some(self.generation.get())
    }
}

const BUF: usize = 4096;

struct Fixture {
    chain: Vec<u8>,
    signer: FlipSigner,
    fw: &'static Fw,
    rrng: TestRng,
    qrng: TestRng,
    chain_buf: Vec<u8>,
}

fn fixture(set: AlgorithmSet) -> Fixture {
    Fixture {
        chain: spdm_chain(set, "chain.der", "root.cert.der"),
        signer: FlipSigner {
            key: EcdsaSigningKey::from_sec1_der(set.asym, &read(set, "leaf.key.der")).unwrap(),
            flip: Box::leak(Box::new(Cell::new(false))),
        },
        fw: Box::leak(Box::new(Fw::new(set.hash.len(), 3))),
        rrng: TestRng(0x0123_4567_89ab_cdef),
        qrng: TestRng(0xfedc_ba98_7654_3211),
        chain_buf: vec![0u8; BUF],
    }
}

type Rsp<'a> = Responder<'a, RustCrypto, FlipSigner>;

fn responder(
    f: &mut Fixture,
    set: AlgorithmSet,
    with_meas: bool,
) -> (Rsp<'_>, Requester<'_, RustCrypto>) {
    let mut rsp = Responder::new(
        RustCrypto,
        &f.signer,
        &mut f.rrng,
        ResponderConfig {
            algorithms: set,
            cert_chain: &f.chain,
            psk: None,
            handshake_in_the_clear: false,
            data_transfer_size: 1024,
        },
    )
    .unwrap();
    if with_meas {
        rsp.set_measurements(f.fw);
    }
    let req = Requester::new(
        RustCrypto,
        &mut f.qrng,
        RequesterConfig {
            algorithms: &SETS,
            handshake_in_the_clear: false,
            data_transfer_size: 1024,
        },
        Auth::Certificate {
            verifier: verifier(set),
            chain_buf: &mut f.chain_buf,
            challenge: true,
        },
    )
    .unwrap();
    (rsp, req)
}

/// Runs the handshake; returns the plain VCA messages (for the L1 check in the clear).
fn drive(req: &mut Requester<'_, RustCrypto>, rsp: &mut Rsp<'_>) -> Result<Vec<u8>, Error> {
    let mut vca = Vec::new();
    for step in 0..64 {
        let mut a = [0u8; BUF];
        let mut b = [0u8; BUF];
        let n = req.write_request(&mut a)?;
        let m = rsp.handle(&mut a[..n], &mut b)?;
        if step < 3 {
            vca.extend_from_slice(&a[1..n]);
            vca.extend_from_slice(&b[1..m]);
        }
        if req.handle_response(&mut b[..m])? == Status::Established {
            return Ok(vca);
        }
    }
    panic!("no end");
}

/// One GET_MEASUREMENTS in the session; the record is copied out.
fn measure(
    s: &mut RequesterSession<RustCrypto>,
    rsp: &mut Rsp<'_>,
    operation: u8,
    signed: bool,
) -> Result<(Measurements<'static>, Vec<u8>), Error> {
    let mut a = [0u8; BUF];
    let b: &'static mut [u8] = Box::leak(vec![0u8; BUF].into_boxed_slice());
    let n = s.write_get_measurements(
        &MeasurementRequest {
            operation,
            nonce: signed.then_some([0x5A; 32]),
        },
        &mut a,
    )?;
    let m = rsp.handle(&mut a[..n], b)?;
    let got = s.handle_measurements(&mut b[..m])?;
    let rec = got.record.to_vec();
    Ok((got, rec))
}

fn is_tcb(b: &MeasurementBlock<'_>) -> bool {
    matches!(b.index, 1 | 2 | 5)
}

fn established(
    f: &mut Fixture,
    set: AlgorithmSet,
    ty: SummaryType,
) -> (Rsp<'_>, RequesterSession<RustCrypto>) {
    let (mut rsp, mut req) = responder(f, set, true);
    req.set_measurement_summary(ty);
    drive(&mut req, &mut rsp).unwrap();
    (rsp, req.into_session().unwrap())
}

#[test]
fn measurements_in_the_session_for_both_sets_with_summary_hash() {
    for set in SETS {
        for ty in [SummaryType::All, SummaryType::Tcb] {
            let mut f = fixture(set);
            let (mut rsp, mut s) = established(&mut f, set, ty);
            assert!(s.has_measurements());
            assert_eq!(s.measurement_summary().unwrap().0, ty);
            // Count.
            let (c, _) = measure(&mut s, &mut rsp, 0, false).unwrap();
            assert_eq!((c.total, c.number_of_blocks), (5, 0));
            // One index, unsigned then signed (the signature covers VCA and both pairs).
            let (one, _) = measure(&mut s, &mut rsp, 5, false).unwrap();
            let b = one.blocks().next().unwrap();
            assert_eq!(b.index, 5);
            assert_eq!(b.value, 3u64.to_le_bytes());
            assert_eq!(b.kind(), value_type::SECURITY_VERSION_NUMBER);
            let (all, _) = measure(&mut s, &mut rsp, OP_ALL, true).unwrap();
            assert!(all.signed);
            assert_eq!(all.number_of_blocks, 5);
            assert_eq!(all.content_changed, ContentChanged::Unchanged);
            assert_eq!(all.blocks().count(), 5);
            assert_eq!(
                all.blocks().nth(1).unwrap().value,
                vec![0x22; set.hash.len()]
            );
            s.check_measurement_summary(&all, &is_tcb).unwrap();
            // A signed response after a signed response: L1/L2 restarted on both sides.
            let (again, _) = measure(&mut s, &mut rsp, 2, true).unwrap();
            assert_eq!(again.number_of_blocks, 1);
            // The session still carries other requests.
            let mut a = [0u8; BUF];
            let mut bb = [0u8; BUF];
            let n = s.write_heartbeat(&mut a).unwrap();
            let m = rsp.handle(&mut a[..n], &mut bb).unwrap();
            s.handle_response(&mut bb[..m]).unwrap();
        }
    }
}

#[test]
fn flipped_measurement_signature_is_refused_and_both_transcripts_restart() {
    for set in SETS {
        let mut f = fixture(set);
        let flip = f.signer.flip;
        let (mut rsp, mut s) = established(&mut f, set, SummaryType::None);
        measure(&mut s, &mut rsp, 1, false).unwrap();
        flip.set(true);
        assert_eq!(
            measure(&mut s, &mut rsp, OP_ALL, true).unwrap_err(),
            Error::Authentication
        );
        flip.set(false);
        // Both L1/L2 restarted from VCA: the next signed response verifies.
        let (all, _) = measure(&mut s, &mut rsp, OP_ALL, true).unwrap();
        assert!(all.signed);
        assert_eq!(rsp.state_name(), "Established");
    }
}

#[test]
fn firmware_swapped_after_the_handshake_fails_the_summary_and_shows_as_changed() {
    for set in SETS {
        let mut f = fixture(set);
        let fw = f.fw;
        let (mut rsp, mut s) = established(&mut f, set, SummaryType::All);
        // The summary of the handshake holds while the firmware is the one measured.
        let (first, _) = measure(&mut s, &mut rsp, OP_ALL, false).unwrap();
        s.check_measurement_summary(&first, &is_tcb).unwrap();
        // A re-measuring device changes its values behind a shared reference.
        fw.swap_firmware();
        // Within the same L1/L2 (unsigned request before): ContentChanged says so.
        let (signed, _) = measure(&mut s, &mut rsp, OP_ALL, true).unwrap();
        assert_eq!(signed.content_changed, ContentChanged::Changed);
        // The blocks no longer match the handshake's summary hash.
        assert_eq!(
            s.check_measurement_summary(&signed, &is_tcb),
            Err(Error::Authentication)
        );
        // A fresh L1/L2 after the change: unchanged again.
        let (next, _) = measure(&mut s, &mut rsp, OP_ALL, true).unwrap();
        assert_eq!(next.content_changed, ContentChanged::Unchanged);
    }
}

#[test]
fn malformed_get_measurements_get_invalid_request_and_change_nothing_else() {
    for set in SETS {
        let mut f = fixture(set);
        let (mut rsp, mut s) = established(&mut f, set, SummaryType::None);
        let (ids_before, _) = (
            s.session().unwrap().id(),
            s.session().unwrap().sequence_numbers(),
        );
        let mut signed_body = vec![0x12, 0xE0, 0x01, 0xFF];
        signed_body.extend_from_slice(&[7; 32]);
        let bad: [(&str, Vec<u8>); 5] = [
            ("index without block", vec![0x12, 0xE0, 0x00, 0x42]),
            ("signed, no nonce", vec![0x12, 0xE0, 0x01, 0xFF]),
            ("unsigned with body", vec![0x12, 0xE0, 0x00, 0xFF, 0x00]),
            ("signed, slot 3", [&signed_body[..], &[3]].concat()),
            ("signed, truncated slot", signed_body.clone()),
        ];
        for (what, req) in bad {
            // An unsigned request first: the ERROR must also end this L1/L2.
            measure(&mut s, &mut rsp, 1, false).unwrap();
            assert_eq!(
                in_session(&mut s, &mut rsp, &req),
                Err(Error::PeerError(0x01)),
                "{what}"
            );
            assert_eq!(rsp.state_name(), "Established", "{what}");
            assert_eq!(s.session().unwrap().id(), ids_before, "{what}");
            // The requester's L1/L2 went on with the unsigned pair, the responder's was reset
            // by the ERROR: a signed response now must NOT verify for the requester...
            assert_eq!(
                measure(&mut s, &mut rsp, OP_ALL, true).unwrap_err(),
                Error::Authentication,
                "{what}"
            );
            // ...and after that signed exchange both are reset and agree again.
            let (ok, _) = measure(&mut s, &mut rsp, OP_ALL, true).unwrap();
            assert!(ok.signed, "{what}");
        }
        // A well-formed request still works after all that.
        assert_eq!(
            in_session(&mut s, &mut rsp, &[0x12, 0xE0, 0x00, 0x01]).map(|r| r[1]),
            Ok(0x60)
        );
    }
}

/// Plain (unsealed) request to the responder; returns the SPDM response.
fn plain(rsp: &mut Rsp<'_>, spdm: &[u8]) -> Vec<u8> {
    let mut a = vec![0x05];
    a.extend_from_slice(spdm);
    let mut b = [0u8; BUF];
    let m = rsp.handle(&mut a, &mut b).unwrap();
    assert_eq!(b[0], 0x05);
    b[1..m].to_vec()
}

#[test]
fn measurements_in_the_clear_are_signed_over_vca_and_l1() {
    for set in SETS {
        let mut f = fixture(set);
        let leaf_chain = f.chain.clone();
        let (mut rsp, mut req) = responder(&mut f, set, true);
        // Before ALGORITHMS: out of order.
        let e = plain(&mut rsp, &[0x10, 0x84, 0, 0]);
        assert_eq!(e[1], 0x04);
        let e = plain(&mut rsp, &[0x12, 0xE0, 0, 0]);
        assert_eq!((e[1], e[2]), (0x7F, 0x04));
        // Restart the requester's view: a fresh handshake, recording VCA.
        let vca = drive(&mut req, &mut rsp).unwrap();
        let mut key = [0u8; 97];
        let kl = verifier(set)
            .verify_chain(set, Role::Responder, &leaf_chain, &mut key)
            .unwrap();
        // L1 = VCA ‖ GET_MEASUREMENTS(count) ‖ MEASUREMENTS ‖ GET_MEASUREMENTS(all, signed) ‖
        // MEASUREMENTS without its signature.
        let q0 = [0x12, 0xE0, 0, 0];
        let r0 = plain(&mut rsp, &q0);
        let p0 = MeasurementsRsp::parse(&r0, 0).unwrap();
        assert_eq!((p0.param1, p0.number_of_blocks), (5, 0));
        let mut q1 = vec![0x12, 0xE0, 0x01, 0xFF];
        q1.extend_from_slice(&[9; 32]);
        q1.push(0);
        let r1 = plain(&mut rsp, &q1);
        let s = set.asym.signature_len();
        let p1 = MeasurementsRsp::parse(&r1, s).unwrap();
        assert_eq!(p1.number_of_blocks, 5);
        // Whether `sig` is the responder's signature over L1 = the concatenation of `parts`.
        let signed_over = |parts: &[&[u8]], sig: &[u8]| {
            use spdm_lite::crypto::HashCtx;
            let mut h = RustCrypto.hash(set.hash).unwrap();
            for part in parts {
                h.update(part);
            }
            let d = spdm_lite::transcript::signing_digest(
                &RustCrypto,
                set.hash,
                spdm_lite::msgs::Version::V12,
                "responder-measurements signing",
                &h.finish(),
            )
            .unwrap();
            RustCrypto.ecdsa_verify(set.asym, &key[..kl], d.as_bytes(), sig)
        };
        let l1 = [&vca[..], &q0, &r0, &q1, &r1[..p1.signed_len()]];
        signed_over(&l1, p1.signature).unwrap();
        // Without the earlier pair (as if a reset had happened) it does not verify.
        let l1 = [&vca[..], &q1, &r1[..p1.signed_len()]];
        assert!(signed_over(&l1, p1.signature).is_err());
        // Another request in between resets L1: GET_DIGESTS, then a signed MEASUREMENTS
        // covers only VCA ‖ its own pair.
        let _ = plain(&mut rsp, &[0x12, 0x81, 0, 0]);
        let r2 = plain(&mut rsp, &q1);
        let p2 = MeasurementsRsp::parse(&r2, s).unwrap();
        signed_over(&[&vca[..], &q1, &r2[..p2.signed_len()]], p2.signature).unwrap();
        // Any ERROR ends L1 as well: to a request too short for an SPDM header, to a
        // GET_VERSION of another version (VersionMismatch), to a GET_MEASUREMENTS without a
        // block. After each, a signed MEASUREMENTS covers only VCA ‖ its own pair, not the
        // unsigned pair before the ERROR.
        let bad: [&[u8]; 3] = [&[0x12], &[0x11, 0x84, 0, 0], &[0x12, 0xE0, 0, 0x42]];
        for q in bad {
            let _ = plain(&mut rsp, &q0);
            let e = plain(&mut rsp, q);
            assert_eq!(e[1], 0x7F, "{q:02x?}");
            let r = plain(&mut rsp, &q1);
            let p = MeasurementsRsp::parse(&r, s).unwrap();
            let l1 = [&vca[..], &q1, &r[..p.signed_len()]];
            assert_eq!(
                signed_over(&l1, p.signature),
                Ok(()),
                "after the ERROR to {q:02x?}"
            );
        }
        // The block encoding round-trips.
        let b = spdm_lite::msgs::measurements::Blocks::new(p2.record, set.hash.len())
            .next()
            .unwrap()
            .unwrap();
        let mut enc = [0u8; 64];
        assert_eq!(b.encode(&mut enc).unwrap(), b.wire_len());
    }
}

#[test]
fn responder_without_measurements_refuses_get_measurements_and_summaries() {
    let set = AlgorithmSet::SET_A;
    let mut f = fixture(set);
    let (mut rsp, mut req) = responder(&mut f, set, false);
    req.set_measurement_summary(SummaryType::All);
    // The requester wants a summary but the responder has no MEAS_CAP.
    assert_eq!(drive(&mut req, &mut rsp).unwrap_err(), Error::Negotiation);
    let e = plain(&mut rsp, &[0x12, 0xE0, 0, 0]);
    assert_eq!((e[1], e[2], e[3]), (0x7F, 0x07, 0xE0));
}

#[test]
fn undefined_summary_type_gets_invalid_request() {
    for code in [0x83u8, 0xE4] {
        let set = AlgorithmSet::SET_B;
        let mut f = fixture(set);
        let (mut rsp, mut req) = responder(&mut f, set, true);
        req.set_measurement_summary(SummaryType::Tcb);
        let mut err = None;
        for _ in 0..64 {
            let mut a = [0u8; BUF];
            let mut b = [0u8; BUF];
            let n = req.write_request(&mut a).unwrap();
            if a[2] == code {
                // CHALLENGE carries the type in P2, KEY_EXCHANGE in P1.
                a[if code == 0x83 { 4 } else { 3 }] = 0x02;
            }
            let m = rsp.handle(&mut a[..n], &mut b).unwrap();
            match req.handle_response(&mut b[..m]) {
                Ok(Status::Continue) => {}
                other => {
                    err = Some(other);
                    break;
                }
            }
        }
        assert_eq!(err, Some(Err(Error::PeerError(0x01))));
        // The responder is still negotiated and answers GET_MEASUREMENTS.
        let r = plain(&mut rsp, &[0x12, 0xE0, 0, 0]);
        assert_eq!((r[1], r[2]), (0x60, 5));
    }
}

/// One GET_MEASUREMENTS in the clear through the session's plain API.
fn measure_plain(
    s: &mut RequesterSession<RustCrypto>,
    rsp: &mut Rsp<'_>,
    operation: u8,
    signed: bool,
) -> Result<Measurements<'static>, Error> {
    let mut a = [0u8; BUF];
    let b: &'static mut [u8] = Box::leak(vec![0u8; BUF].into_boxed_slice());
    let n = s.write_get_measurements_plain(
        &MeasurementRequest {
            operation,
            nonce: signed.then_some([0x33; 32]),
        },
        &mut a,
    )?;
    assert_eq!(a[0], 0x05, "sent in the clear");
    let m = rsp.handle(&mut a[..n], b)?;
    s.handle_measurements_plain(&b[..m])
}

#[test]
fn measurements_in_the_clear_and_in_the_session_keep_separate_transcripts() {
    for set in SETS {
        let mut f = fixture(set);
        let (mut rsp, mut s) = established(&mut f, set, SummaryType::All);
        // Interleaved: an unsigned pair in the clear, one in the session, then a signed one in
        // each context: both verify, each over its own L1/L2.
        let c = measure_plain(&mut s, &mut rsp, 0, false).unwrap();
        assert_eq!(c.total, 5);
        measure(&mut s, &mut rsp, 3, false).unwrap();
        let p = measure_plain(&mut s, &mut rsp, OP_ALL, true).unwrap();
        assert!(p.signed && p.number_of_blocks == 5);
        s.check_measurement_summary(&p, &is_tcb).unwrap();
        let (q, _) = measure(&mut s, &mut rsp, OP_ALL, true).unwrap();
        assert!(q.signed);
        // A flipped signature in the clear is refused; the next signed one verifies again.
        f_flip(&mut s, &mut rsp);
        assert_eq!(rsp.state_name(), "Established");
    }
}

fn f_flip(s: &mut RequesterSession<RustCrypto>, rsp: &mut Rsp<'_>) {
    let mut a = [0u8; BUF];
    let mut b = [0u8; BUF];
    let n = s
        .write_get_measurements_plain(
            &MeasurementRequest {
                operation: 2,
                nonce: Some([1; 32]),
            },
            &mut a,
        )
        .unwrap();
    let m = rsp.handle(&mut a[..n], &mut b).unwrap();
    // An attacker on the wire flips a bit of the signature.
    b[m - 5] ^= 0x20;
    assert_eq!(
        s.handle_measurements_plain(&b[..m]).unwrap_err(),
        Error::Authentication
    );
    // A response without an outstanding request is refused.
    assert_eq!(
        s.handle_measurements_plain(&b[..m]).unwrap_err(),
        Error::UnexpectedMessage
    );
    measure_plain(s, rsp, OP_ALL, true).unwrap();
}

#[test]
fn requester_refuses_the_reserved_meas_cap_value() {
    let set = AlgorithmSet::SET_A;
    let mut f = fixture(set);
    let (mut rsp, mut req) = responder(&mut f, set, true);
    let mut seen = false;
    let r = (|| {
        for _ in 0..64 {
            let mut a = [0u8; BUF];
            let mut b = [0u8; BUF];
            let n = req.write_request(&mut a)?;
            let m = rsp.handle(&mut a[..n], &mut b)?;
            if b[2] == 0x61 {
                // CAPABILITIES: Flags at SPDM offset 8; MEAS_CAP 10b -> 11b (reserved).
                assert_eq!(b[1 + 8] & 0x18, 0x10);
                b[1 + 8] |= 0x08;
                seen = true;
            }
            if req.handle_response(&mut b[..m])? == Status::Established {
                return Ok(());
            }
        }
        Ok(())
    })();
    assert!(seen);
    assert_eq!(r, Err(Error::Negotiation));
}

#[test]
fn psk_session_carries_the_summary_hash_and_unsigned_measurements_only() {
    for set in SETS {
        let mut f = fixture(set);
        let mut rsp = Responder::new(
            RustCrypto,
            &f.signer,
            &mut f.rrng,
            ResponderConfig {
                algorithms: set,
                cert_chain: &f.chain,
                psk: Some(spdm_lite::responder::PskConfig {
                    hint: HINT,
                    key: PSK,
                    with_context: true,
                }),
                handshake_in_the_clear: false,
                data_transfer_size: 1024,
            },
        )
        .unwrap();
        rsp.set_measurements(f.fw);
        let mut req = Requester::new(
            RustCrypto,
            &mut f.qrng,
            RequesterConfig {
                algorithms: &SETS,
                handshake_in_the_clear: false,
                data_transfer_size: 1024,
            },
            Auth::Psk {
                hint: HINT,
                key: PSK,
            },
        )
        .unwrap();
        req.set_measurement_summary(SummaryType::Tcb);
        drive(&mut req, &mut rsp).unwrap();
        let mut s = req.into_session().unwrap();
        assert_eq!(s.measurement_summary().unwrap().0, SummaryType::Tcb);
        // No certificate: a signed request cannot be checked and is not sent.
        let mut a = [0u8; BUF];
        assert_eq!(
            s.write_get_measurements(
                &MeasurementRequest {
                    operation: OP_ALL,
                    nonce: Some([1; 32])
                },
                &mut a
            ),
            Err(Error::Negotiation)
        );
        let (all, _) = measure(&mut s, &mut rsp, OP_ALL, false).unwrap();
        s.check_measurement_summary(&all, &is_tcb).unwrap();
        // The TCB summary ignores a non-TCB block: with a different TCB set it fails.
        assert_eq!(
            s.check_measurement_summary(&all, &|b| b.index == 1),
            Err(Error::Authentication)
        );
    }
}

/// A GET_MEASUREMENTS in the session that the responder cannot answer for want of room in
/// `out` is not consumed: the sequence numbers and the session's L1/L2 stay as they were, so
/// the same record sent again with a larger `out` is answered, and the signature of that
/// answer covers the unsigned exchange before it (an L1/L2 reset by the failed attempt would
/// make the requester refuse it). Also for the unsigned request before it.
#[test]
fn a_get_measurements_without_room_for_its_answer_is_not_consumed_and_keeps_l1() {
    for set in SETS {
        let mut f = fixture(set);
        let (mut rsp, mut s) = established(&mut f, set, SummaryType::None);
        for (operation, signed) in [(1u8, false), (OP_ALL, true)] {
            let mut a = [0u8; BUF];
            let n = s
                .write_get_measurements(
                    &MeasurementRequest {
                        operation,
                        nonce: signed.then_some([0x5A; 32]),
                    },
                    &mut a,
                )
                .unwrap();
            let record = a[..n].to_vec();
            let seq = rsp.session().unwrap().sequence_numbers();
            for len in [0usize, 16, 40, 100] {
                let mut q = record.clone();
                let mut small = vec![0u8; len];
                let r = rsp.handle(&mut q, &mut small);
                assert!(matches!(r, Err(Error::Encode(_))), "{len}: {r:?}");
                assert_eq!(rsp.session().unwrap().sequence_numbers(), seq, "{len}");
            }
            let mut q = record.clone();
            let mut b = vec![0u8; BUF];
            let m = rsp.handle(&mut q, &mut b).unwrap();
            let got = s.handle_measurements(&mut b[..m]).unwrap();
            assert_eq!(got.signed, signed);
        }
        assert_eq!(rsp.state_name(), "Established");
    }
}

/// The first record of the handshake (FINISH) sent with an `out` too small for any answer is
/// refused unopened: the responder still waits for FINISH under the same sequence number, and
/// the same record with a larger `out` completes the handshake.
#[test]
fn a_finish_record_without_room_for_its_answer_is_not_consumed() {
    for set in SETS {
        let mut f = fixture(set);
        let (mut rsp, mut req) = responder(&mut f, set, true);
        let (mut finished, mut records) = (false, 0);
        for _ in 0..64 {
            let mut a = [0u8; BUF];
            let mut b = [0u8; BUF];
            let n = req.write_request(&mut a).unwrap();
            if a[0] == spdm_lite::record::MCTP_SECURED {
                records += 1;
                let state = rsp.state_name();
                for len in [0usize, 4, 40, 103] {
                    let mut q = a[..n].to_vec();
                    let mut small = vec![0u8; len];
                    let r = rsp.handle(&mut q, &mut small);
                    assert!(matches!(r, Err(Error::Encode(_))), "{len}: {r:?}");
                    assert_eq!(rsp.state_name(), state, "{len}");
                }
            }
            let m = rsp.handle(&mut a[..n], &mut b).unwrap();
            if req.handle_response(&mut b[..m]).unwrap() == Status::Established {
                finished = true;
                break;
            }
        }
        assert!(finished && records > 0, "{records} records");
        assert_eq!(rsp.state_name(), "Established");
    }
}
