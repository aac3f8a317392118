//! Outsider attacks on the CCISE target and controller, written against the public API and the
//! crate README only: cross-entry-point confusion (a read request fed as a write and the other
//! way round), responses opened against another pending read, short response buffers, every
//! truncation and extension of a frame, and the counter's last values.
//!
//! Each attack runs on a "twin": one target (or controller) sees the attack and the genuine
//! traffic, the other the genuine traffic only; everything observable but the rejection
//! counters of the status register must match afterwards.

use ccise::wire::MAX_FRAME_LEN;
use ccise::{Config, Controller, Error, SessionKeys, SimSensor, StatusCode, Target, WireError};
use cse_core::crypto::SuiteKey;
use cse_core::keys::UsageStatus;
use cse_core::keys::{Salt, SecretKey};
use cse_core::{CipherSuite, SecurityError};

const ADDRESS: u8 = 0x36;

fn keys(suite: CipherSuite) -> SessionKeys {
    let k = |b: u8| match suite {
        CipherSuite::Aes256Gcm | CipherSuite::Aes256Gmac | CipherSuite::Aes256Cmac => {
            SecretKey::aes256([b; 32])
        }
        _ => SecretKey::aes128([b; 16]),
    };
    SessionKeys::new(
        SuiteKey::new(suite, &k(0x11), None).expect("key"),
        SuiteKey::new(suite, &k(0x22), None).expect("key"),
        Salt::new([0x33; 12]),
    )
    .expect("session keys")
}

fn pair(config: Config, suite: CipherSuite) -> (Controller, Target) {
    (
        Controller::new(config, keys(suite)).expect("controller"),
        Target::new(config, keys(suite)).expect("target"),
    )
}

/// Everything a target shows apart from its rejection counters.
fn target_view(t: &Target, regs: &SimSensor<0x400>) -> (Option<u32>, bool, bool, Vec<u8>, u32) {
    let s = t.status();
    (
        t.last_counter(),
        s.needs_rekey,
        s.exhausted,
        regs.registers().to_vec(),
        regs.writes_applied(),
    )
}

#[test]
fn a_read_request_fed_as_a_write_and_a_write_fed_as_a_read_move_nothing() {
    let config = Config::new(ADDRESS);
    let (mut ctl, mut target) = pair(config, CipherSuite::Aes128Cmac);
    let (_, mut twin) = pair(config, CipherSuite::Aes128Cmac);
    let (mut regs, mut twin_regs) = (SimSensor::demo(), SimSensor::demo());

    // A one-byte write has the read request's length plus nothing: reg(2) data(1) ctr(4) tag.
    let mut w = [0u8; MAX_FRAME_LEN];
    let wl = ctl.seal_write(0x0100, &[0x05], &mut w).expect("seal").len;
    let mut r = [0u8; MAX_FRAME_LEN];
    let (pending, sealed) = ctl.seal_read_request(0x0100, 1, &mut r).expect("seal");
    let rl = sealed.len;
    assert_eq!(
        wl, rl,
        "the two frames have the same length: the parse cannot tell them apart"
    );

    // Attack: the read request into the write path, the write into the read path.
    let before = target_view(&target, &regs);
    let e = target
        .handle_write(&r[..rl], &mut regs)
        .expect_err("a read request is no write");
    assert_eq!(e, Error::Security(SecurityError::AuthFailed));
    let mut resp = [0xEEu8; 64];
    let e = target
        .handle_read(&w[..wl], &mut regs, &mut resp)
        .expect_err("a write is no read request");
    assert_eq!(e, Error::Security(SecurityError::AuthFailed));
    assert!(resp.iter().all(|&b| b == ccise::FILLER), "filler only");
    assert_eq!(target_view(&target, &regs), before);
    assert_eq!(target.status().failures, 2);
    assert_eq!(target.status().last_error, StatusCode::AUTH_FAILED);

    // The genuine traffic follows and gives byte for byte the twin's results.
    for (t, m) in [(&mut target, &mut regs), (&mut twin, &mut twin_regs)] {
        let _ = t
            .handle_write(&w[..wl], m)
            .expect("the genuine write applies");
    }
    let (mut a, mut b) = ([0u8; 64], [0u8; 64]);
    let na = target
        .handle_read(&r[..rl], &mut regs, &mut a)
        .expect("read")
        .response_len;
    let nb = twin
        .handle_read(&r[..rl], &mut twin_regs, &mut b)
        .expect("read")
        .response_len;
    assert_eq!(a[..na], b[..nb]);
    assert_eq!(target_view(&target, &regs), target_view(&twin, &twin_regs));
    let mut value = [0u8; 1];
    ctl.open_read_response(pending, &a[..na], &mut value)
        .expect("response opens");
    assert_eq!(value, [0x05]);
}

#[test]
fn a_short_response_buffer_at_every_length_moves_nothing_and_the_retry_is_answered() {
    let config = Config::new(ADDRESS);
    let (mut ctl, mut target) = pair(config, CipherSuite::Aes128Cmac);
    let (_, mut twin) = pair(config, CipherSuite::Aes128Cmac);
    let (mut regs, mut twin_regs) = (SimSensor::demo(), SimSensor::demo());
    let mut req = [0u8; MAX_FRAME_LEN];
    let (pending, sealed) = ctl.seal_read_request(0x0000, 4, &mut req).expect("seal");
    let req = &req[..sealed.len];
    let needed = pending.response_len();
    let before = target_view(&target, &regs);
    for len in 0..needed {
        let mut short = vec![0xEEu8; len];
        let e = target
            .handle_read(req, &mut regs, &mut short)
            .expect_err("too short");
        assert_eq!(
            e,
            Error::Wire(WireError::BufferTooSmall {
                needed,
                available: len
            }),
            "length {len}"
        );
        assert!(short.iter().all(|&b| b == ccise::FILLER));
        assert_eq!(target_view(&target, &regs), before, "length {len}");
    }
    let (mut a, mut b) = ([0u8; 64], [0u8; 64]);
    let na = target
        .handle_read(req, &mut regs, &mut a)
        .expect("retry answered")
        .response_len;
    let nb = twin
        .handle_read(req, &mut twin_regs, &mut b)
        .expect("read")
        .response_len;
    assert_eq!(
        a[..na],
        b[..nb],
        "the response equals the one of a target never attacked"
    );
    let mut chip = [0u8; 4];
    ctl.open_read_response(pending, &a[..na], &mut chip)
        .expect("opens");
    assert_eq!(chip, ccise::sim::DEMO_CHIP_ID);
}

/// Two read requests outstanding; the response to the second is offered against the first.
/// With encrypted reads, nothing decrypted may stay in the caller's buffer.
#[test]
fn a_response_for_another_pending_read_is_refused_and_leaves_no_bytes() {
    for (suite, encrypted) in [
        (CipherSuite::Aes128Cmac, false),
        (CipherSuite::Aes256Gcm, true),
        (CipherSuite::Aes128Gmac, false),
    ] {
        let config = Config::new(ADDRESS).with_encrypted_reads(encrypted);
        let (mut ctl, mut target) = pair(config, suite);
        let mut regs = SimSensor::demo();
        // Both read 4 bytes: the protected range under encryption, else the chip id and a
        // read-write range.
        let (reg_a, reg_b) = if encrypted {
            (0x0300, 0x0304)
        } else {
            (0x0000, 0x0100)
        };
        regs_write(&mut ctl, &mut target, &mut regs, 0x0100, &[1, 2, 3, 4]);
        let (mut qa, mut qb) = ([0u8; MAX_FRAME_LEN], [0u8; MAX_FRAME_LEN]);
        let (pa, sa) = ctl.seal_read_request(reg_a, 4, &mut qa).expect("seal a");
        let (pb, sb) = ctl.seal_read_request(reg_b, 4, &mut qb).expect("seal b");
        let (mut ra, mut rb) = ([0u8; 64], [0u8; 64]);
        let _na = target
            .handle_read(&qa[..sa.len], &mut regs, &mut ra)
            .expect("a")
            .response_len;
        let nb = target
            .handle_read(&qb[..sb.len], &mut regs, &mut rb)
            .expect("b")
            .response_len;
        let last = ctl.last_response_counter();
        let next = ctl.next_counter();

        let mut out = [0xEEu8; 8];
        let e = ctl
            .open_read_response(pa, &rb[..nb], &mut out)
            .expect_err("B's response does not answer A");
        assert_eq!(e, Error::Security(SecurityError::AuthFailed), "{suite:?}");
        assert_eq!(out[..4], [0; 4], "{suite:?}: the data bytes are wiped");
        assert_eq!(
            out[4..],
            [0xEE; 4],
            "{suite:?}: nothing written past the data"
        );
        assert_eq!(ctl.last_response_counter(), last, "{suite:?}");
        assert_eq!(ctl.next_counter(), next, "{suite:?}");

        // B's own request still opens it.
        let mut out = [0u8; 4];
        ctl.open_read_response(pb, &rb[..nb], &mut out)
            .expect("B opens B's response");
        let expected: Vec<u8> = if encrypted {
            (4..8).map(|i| 0xC0 ^ i as u8).collect()
        } else {
            vec![1, 2, 3, 4]
        };
        assert_eq!(out.to_vec(), expected, "{suite:?}");
    }
}

fn regs_write(
    ctl: &mut Controller,
    target: &mut Target,
    regs: &mut SimSensor<0x400>,
    register: u16,
    data: &[u8],
) {
    let mut f = [0u8; MAX_FRAME_LEN];
    let n = ctl.seal_write(register, data, &mut f).expect("seal").len;
    let _ = target.handle_write(&f[..n], regs).expect("write");
}

#[test]
fn every_truncation_and_extension_of_a_write_moves_nothing() {
    let config = Config::new(ADDRESS);
    let (mut ctl, mut target) = pair(config, CipherSuite::Aes128Cmac);
    let mut regs = SimSensor::demo();
    let mut f = [0u8; MAX_FRAME_LEN];
    let n = ctl
        .seal_write(0x0110, &[9, 8, 7], &mut f)
        .expect("seal")
        .len;
    let before = target_view(&target, &regs);
    let mut failures = 0;
    for len in 0..n {
        assert!(
            target.handle_write(&f[..len], &mut regs).is_err(),
            "truncated to {len}"
        );
        failures += 1;
        assert_eq!(target_view(&target, &regs), before, "truncated to {len}");
    }
    for extra in 1..8 {
        let mut long = f[..n].to_vec();
        long.extend(core::iter::repeat_n(0u8, extra));
        assert!(
            target.handle_write(&long, &mut regs).is_err(),
            "extended by {extra}"
        );
        failures += 1;
        assert_eq!(target_view(&target, &regs), before, "extended by {extra}");
    }
    assert_eq!(target.status().failures, failures);
    let _ = target
        .handle_write(&f[..n], &mut regs)
        .expect("the genuine write applies");
    assert_eq!(regs.registers()[0x110..0x113], [9, 8, 7]);
    assert_eq!(target.last_counter(), Some(1));
}

/// The last counters: the controller reports the soft limit before the hard one, refuses
/// counter `u32::MAX` without consuming anything, and the target accepts the last valid
/// counter; a keyless frame carrying `u32::MAX` afterwards moves nothing.
#[test]
fn the_last_counters_report_the_soft_limit_and_never_wrap() {
    let config = Config::new(ADDRESS);
    let mut ctl =
        Controller::resume(config, keys(CipherSuite::Aes128Cmac), u32::MAX - 1).expect("resume");
    let mut target = Target::new(config, keys(CipherSuite::Aes128Cmac)).expect("target");
    let mut regs = SimSensor::demo();
    let mut f = [0x5Au8; MAX_FRAME_LEN];
    let sealed = ctl
        .seal_write(0x0100, &[1], &mut f)
        .expect("the last counter seals");
    assert!(
        sealed.needs_rekey(),
        "past the soft limit: {:?}",
        sealed.usage
    );
    assert_ne!(sealed.usage, UsageStatus::Ok);
    let last = f;
    assert_eq!(ctl.next_counter(), u32::MAX);

    let mut g = [0x5Au8; MAX_FRAME_LEN];
    let e = ctl
        .seal_write(0x0100, &[2], &mut g)
        .expect_err("u32::MAX is refused");
    assert_eq!(e, Error::Security(SecurityError::KeyExhausted));
    assert_eq!(g, [0x5A; MAX_FRAME_LEN], "nothing written");
    assert_eq!(ctl.next_counter(), u32::MAX, "nothing consumed");
    let mut q = [0x5Au8; MAX_FRAME_LEN];
    assert!(ctl.seal_read_request(0x0100, 1, &mut q).is_err());
    assert_eq!(q, [0x5A; MAX_FRAME_LEN]);

    let _ = target
        .handle_write(&last[..sealed.len], &mut regs)
        .expect("applies");
    assert_eq!(target.last_counter(), Some(u32::MAX - 1));
    // A keyless injector copies the frame with the counter set to u32::MAX.
    let mut forged = last[..sealed.len].to_vec();
    forged[3..7].copy_from_slice(&u32::MAX.to_be_bytes());
    let view = target_view(&target, &regs);
    assert!(target.handle_write(&forged, &mut regs).is_err());
    assert_eq!(target_view(&target, &regs), view);
    assert!(
        !target.status().exhausted,
        "a forged frame exhausts nothing"
    );
}

/// Encrypted reads of the same registers, again and again: the encrypted data never repeats
/// (counters bind every keystream), and every response decrypts to the register values.
#[test]
fn encrypted_reads_of_the_same_registers_never_repeat_a_keystream() {
    for suite in [CipherSuite::Aes256Gcm, CipherSuite::Aes128Gcm] {
        let config = Config::new(ADDRESS).with_encrypted_reads(true);
        let (mut ctl, mut target) = pair(config, suite);
        let mut regs = SimSensor::demo();
        let mut seen = std::collections::HashSet::new();
        for i in 0..64 {
            let mut q = [0u8; MAX_FRAME_LEN];
            let (pending, sealed) = ctl.seal_read_request(0x0300, 16, &mut q).expect("seal");
            let mut r = [0u8; MAX_FRAME_LEN];
            let n = target
                .handle_read(&q[..sealed.len], &mut regs, &mut r)
                .expect("read")
                .response_len;
            assert!(
                seen.insert(r[..16].to_vec()),
                "{suite:?}: read {i} repeats a ciphertext"
            );
            let mut value = [0u8; 16];
            ctl.open_read_response(pending, &r[..n], &mut value)
                .expect("opens");
            let expected: Vec<u8> = (0..16).map(|k| 0xC0 ^ k as u8).collect();
            assert_eq!(value.to_vec(), expected);
        }
    }
}

struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(g: &mut Lcg, f: &[u8]) -> Vec<u8> {
    let mut v = f.to_vec();
    match g.below(4) {
        0 => {
            let i = g.below(v.len());
            v[i] ^= 1 << g.below(8);
        }
        1 => v.truncate(g.below(v.len())),
        2 => v.insert(g.below(v.len() + 1), g.next() as u8),
        _ => v = (0..g.below(300)).map(|_| g.next() as u8).collect(),
    }
    v
}

/// Mutated writes, read requests and read responses on every entry point (response buffers
/// of random sizes): no panic, nothing applied, no counter moved, no data left in the
/// controller's output; the genuine transactions in between all succeed.
#[test]
fn mutated_transactions_on_every_entry_point_change_nothing() {
    for (suite, encrypted) in [
        (CipherSuite::Aes128Cmac, false),
        (CipherSuite::Aes256Gcm, true),
    ] {
        let config = Config::new(ADDRESS).with_encrypted_reads(encrypted);
        let (mut ctl, mut target) = pair(config, suite);
        let mut regs = SimSensor::demo();
        let mut g = Lcg(7);
        for round in 0..40u8 {
            let mut w = [0u8; MAX_FRAME_LEN];
            let wl = ctl
                .seal_write(0x0120, &[round, round ^ 0xFF], &mut w)
                .expect("seal")
                .len;
            let view = target_view(&target, &regs);
            for _ in 0..50 {
                let m = mutate(&mut g, &w[..wl]);
                assert!(target.handle_write(&m, &mut regs).is_err());
                let mut resp = vec![0u8; g.below(80)];
                assert!(target.handle_read(&m, &mut regs, &mut resp).is_err());
                assert_eq!(target_view(&target, &regs), view);
            }
            let _ = target
                .handle_write(&w[..wl], &mut regs)
                .expect("genuine write");
            let mut q = [0u8; MAX_FRAME_LEN];
            let reg = if encrypted { 0x0300 } else { 0x0120 };
            let (pending, sealed) = ctl.seal_read_request(reg, 2, &mut q).expect("seal");
            let view = target_view(&target, &regs);
            for _ in 0..50 {
                let m = mutate(&mut g, &q[..sealed.len]);
                let mut resp = vec![0u8; 64];
                assert!(target.handle_read(&m, &mut regs, &mut resp).is_err());
                assert_eq!(target_view(&target, &regs), view);
            }
            let mut r = [0u8; 64];
            let n = target
                .handle_read(&q[..sealed.len], &mut regs, &mut r)
                .expect("read")
                .response_len;
            // Mutated responses, each against a fresh pending read of the same shape.
            let last = ctl.last_response_counter();
            for _ in 0..10 {
                let (p, _) = ctl.seal_read_request(reg, 2, &mut q).expect("seal");
                let m = mutate(&mut g, &r[..n]);
                let mut out = [0xEEu8; 4];
                assert!(ctl.open_read_response(p, &m, &mut out).is_err());
                assert!(out[..2] == [0, 0] || out[..2] == [0xEE, 0xEE], "{out:?}");
                assert_eq!(out[2..], [0xEE, 0xEE]);
                assert_eq!(ctl.last_response_counter(), last);
            }
            let mut value = [0u8; 2];
            ctl.open_read_response(pending, &r[..n], &mut value)
                .expect("the genuine response");
            let expected = if encrypted {
                [0xC0, 0xC1]
            } else {
                [round, round ^ 0xFF]
            };
            assert_eq!(value, expected);
        }
    }
}
