//! Independent adversarial audit of the public CCISE API (written from the rustdoc and
//! `docs/security.md` only), going after what `adversarial.rs` and `negative.rs` leave out:
//! every byte of every write, read request and read response changed three ways, every
//! truncation, extensions up to absurd lengths and empty frames, each checked against a
//! twin target (or controller) that never saw it; caller buffers one byte short on both
//! roles; authenticated accesses at the edges of the 16-bit register space; `Debug` and
//! `Clone` of everything that holds a key.
#![allow(clippy::unwrap_used, clippy::panic, clippy::indexing_slicing)]

mod common;

use ccise::wire::{self, MAX_FRAME_LEN};
use ccise::{
    AccessError, Config, Controller, Error, FILLER, PendingRead, RegisterMap, SessionKeys,
    SessionSecrets, SimSensor, Status, Target,
};
use common::{keys, sensor};
use cse_core::keys::{Salt, SecretKey};
use cse_core::testing::{CloneProbe, NotClone, leaks};
use cse_core::{CipherSuite, KeySize, TagLen};

fn cfgs() -> Vec<(CipherSuite, Config)> {
    let mut v = Vec::new();
    for (suite, tag) in [
        (CipherSuite::Aes128Cmac, TagLen::L8),
        (CipherSuite::Aes256Gmac, TagLen::L16),
        (CipherSuite::Aes128Gcm, TagLen::L12),
        (CipherSuite::Aes256CtrCmac, TagLen::L16),
    ] {
        v.push((
            suite,
            Config::new(0x36)
                .with_tag_len(tag)
                .with_encrypted_reads(suite.encrypts()),
        ));
    }
    v
}

/// Every single-byte change (masks 0x01, 0x80, 0xFF), every truncation, extensions by 1, 2
/// and up to absurd lengths, and the empty frame.
fn mutations(g: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut v = Vec::new();
    for at in 0..g.len() {
        for mask in [0x01u8, 0x80, 0xFF] {
            let mut x = g.to_vec();
            x[at] ^= mask;
            v.push((format!("byte {at} ^ {mask:#x}"), x));
        }
    }
    for len in 0..g.len() {
        v.push((format!("first {len} bytes"), g[..len].to_vec()));
    }
    for extra in [1usize, 2, MAX_FRAME_LEN, 4096] {
        let mut x = g.to_vec();
        x.extend((0..extra).map(|i| i as u8));
        v.push((format!("{extra} bytes appended"), x));
    }
    v
}

/// `reg`, or a clear-readable register instead of the protected range when reads are not
/// encrypted.
fn readable(cfg: &Config, reg: u16) -> u16 {
    if (0x0300..0x0320).contains(&reg) && !cfg.encrypt_reads {
        reg - 0x0200
    } else {
        reg
    }
}

/// The target's observable state apart from the rejection counters.
fn target_state(t: &Target, m: &SimSensor<0x400>) -> (Option<u32>, bool, bool, SimSensor<0x400>) {
    let s: Status = t.status();
    (t.last_counter(), s.needs_rekey, s.exhausted, m.clone())
}

#[derive(Clone, Copy, Debug)]
enum Tx {
    Write(u16, &'static [u8]),
    Read(u16, u8),
}

const SCRIPT: [Tx; 6] = [
    Tx::Write(0x0100, &[1, 2, 3, 4, 5]),
    Tx::Read(0x0100, 5),
    Tx::Read(0x0300, 4),
    Tx::Write(0x0110, &[0xAA]),
    Tx::Read(0x0000, 2),
    Tx::Read(wire::STATUS_REGISTER, 8),
];

/// Every mutation of every genuine write and read request is refused by the target, which
/// stays the twin of a target that never saw them: same register map, counters, key flags, and
/// byte-identical answers to the genuine transactions.
#[test]
fn every_mutation_of_every_transaction_leaves_the_target_a_twin_of_the_reference() {
    for (suite, cfg) in cfgs() {
        let mut ctrl = Controller::new(cfg, keys(suite)).unwrap();
        let mut tgt = Target::new(cfg, keys(suite)).unwrap();
        let mut map = sensor();
        let mut twin = Target::new(cfg, keys(suite)).unwrap();
        let mut twin_map = sensor();
        for (k, tx) in SCRIPT.iter().enumerate() {
            let what = format!("{suite} step {k} {tx:?}");
            let mut frame = [0u8; MAX_FRAME_LEN];
            match *tx {
                Tx::Write(reg, data) => {
                    let s = ctrl.seal_write(reg, data, &mut frame).unwrap();
                    let g = &frame[..s.len];
                    for (w, f) in mutations(g) {
                        let before = target_state(&tgt, &map);
                        let failures = tgt.status().failures;
                        assert!(tgt.handle_write(&f, &mut map).is_err(), "{what} {w}");
                        assert!(target_state(&tgt, &map) == before, "{what} {w}: moved");
                        assert_eq!(tgt.status().failures, failures + 1, "{what} {w}");
                        // The same bytes as a read request: refused too, FILLER answered.
                        let mut resp = [0u8; MAX_FRAME_LEN];
                        assert!(tgt.handle_read(&f, &mut map, &mut resp).is_err());
                        assert!(resp.iter().all(|b| *b == FILLER), "{what} {w}");
                        assert!(target_state(&tgt, &map) == before, "{what} {w}: moved");
                    }
                    let a = tgt.handle_write(g, &mut map).unwrap();
                    let b = twin.handle_write(g, &mut twin_map).unwrap();
                    assert_eq!(a, b, "{what}");
                }
                Tx::Read(reg, n) => {
                    let reg = readable(&cfg, reg);
                    let (pending, s) = ctrl.seal_read_request(reg, n, &mut frame).unwrap();
                    let g = &frame[..s.len];
                    for (w, f) in mutations(g) {
                        let before = target_state(&tgt, &map);
                        let mut resp = [0x5Au8; MAX_FRAME_LEN];
                        assert!(tgt.handle_read(&f, &mut map, &mut resp).is_err());
                        assert!(resp.iter().all(|b| *b == FILLER), "{what} {w}");
                        assert!(target_state(&tgt, &map) == before, "{what} {w}: moved");
                        assert!(tgt.handle_write(&f, &mut map).is_err(), "{what} {w}");
                        assert!(target_state(&tgt, &map) == before, "{what} {w}: moved");
                    }
                    let mut resp = [0u8; MAX_FRAME_LEN];
                    let mut twin_resp = [0u8; MAX_FRAME_LEN];
                    let a = tgt.handle_read(g, &mut map, &mut resp).unwrap();
                    let b = twin.handle_read(g, &mut twin_map, &mut twin_resp).unwrap();
                    assert_eq!(a, b, "{what}");
                    // The status register is the one documented difference (failure count
                    // and last error): compare the response only for other registers.
                    if reg != wire::STATUS_REGISTER {
                        assert_eq!(resp, twin_resp, "{what}: response differs");
                    }
                    let mut out = vec![0u8; usize::from(n)];
                    ctrl.open_read_response(pending, &resp[..a.response_len], &mut out)
                        .unwrap();
                }
            }
            assert_eq!(map, twin_map, "{what}");
            assert_eq!(tgt.last_counter(), twin.last_counter(), "{what}");
        }
        let (s, t) = (tgt.status(), twin.status());
        assert_eq!((s.needs_rekey, s.exhausted), (t.needs_rekey, t.exhausted));
        assert!(s.failures > 500, "{suite}: {s:?}");
    }
}

/// Every mutation of every genuine read response is refused by a controller twin (same keys,
/// same counters, `Controller::resume`), its output wiped, its response counter unchanged, and
/// the next genuine response then opens on it exactly as on a controller that saw nothing.
#[test]
fn every_mutation_of_every_read_response_leaves_the_controller_unchanged() {
    for (suite, cfg) in cfgs() {
        let mut ctrl = Controller::new(cfg, keys(suite)).unwrap();
        let mut tgt = Target::new(cfg, keys(suite)).unwrap();
        let mut map = sensor();
        for (reg, n) in [(0x0100u16, 3u8), (0x0300, 4), (0x0000, 1)] {
            let reg = readable(&cfg, reg);
            let mut frame = [0u8; MAX_FRAME_LEN];
            let mut resp = [0u8; MAX_FRAME_LEN];
            let (pending, s) = ctrl.seal_read_request(reg, n, &mut frame).unwrap();
            let a = tgt
                .handle_read(&frame[..s.len], &mut map, &mut resp)
                .unwrap();
            let g = resp[..a.response_len].to_vec();
            let last = ctrl.last_response_counter();
            // A request twin of `pending` (same register, length and counter) from a controller
            // resumed at its counter: what a fresh controller state opens `g` with.
            let twin_request = || {
                let mut c = Controller::resume(cfg, keys(suite), pending.counter()).unwrap();
                let mut tf = [0u8; MAX_FRAME_LEN];
                (c.seal_read_request(reg, n, &mut tf).unwrap().0, c)
            };
            let (rp, mut reference) = twin_request();
            let mut want = vec![0u8; usize::from(n)];
            reference.open_read_response(rp, &g, &mut want).unwrap();
            for (w, f) in mutations(&g) {
                let (tp, mut twin) = twin_request();
                let mut out = vec![0xEEu8; usize::from(n) + 8];
                let r = twin.open_read_response(tp, &f, &mut out);
                assert!(r.is_err(), "{suite} {w}: {r:?}");
                assert!(
                    out[..usize::from(n)].iter().all(|b| *b == 0),
                    "{suite} {w}: output not wiped"
                );
                assert!(
                    out[usize::from(n)..].iter().all(|b| *b == 0xEE),
                    "{suite} {w}: wrote past the data length"
                );
                assert_eq!(twin.last_response_counter(), None, "{suite} {w}");
                assert_eq!(twin.next_counter(), pending.counter() + 1, "{suite} {w}");
                // The genuine response still opens on the attacked twin, as on the reference.
                let (tp, _) = twin_request();
                let mut got = vec![0u8; usize::from(n)];
                twin.open_read_response(tp, &g, &mut got).unwrap();
                assert_eq!(got, want, "{suite} {w}");
                assert_eq!(
                    twin.last_response_counter(),
                    reference.last_response_counter(),
                    "{suite} {w}"
                );
            }
            let mut out = vec![0u8; usize::from(n)];
            ctrl.open_read_response(pending, &g, &mut out).unwrap();
            assert!(ctrl.last_response_counter() > last);
        }
    }
}

// ---- caller buffers one byte short ------------------------------------------------------------------

/// A target given a response buffer one byte short (or empty) refuses before the request is
/// taken: the counter is not consumed, nothing is read, and the same request then succeeds with
/// a proper buffer, answering byte for byte like a twin that never saw the short call.
#[test]
fn a_short_response_buffer_at_the_target_consumes_nothing() {
    for (suite, cfg) in cfgs() {
        let mut ctrl = Controller::new(cfg, keys(suite)).unwrap();
        let mut tgt = Target::new(cfg, keys(suite)).unwrap();
        let mut twin = Target::new(cfg, keys(suite)).unwrap();
        let (mut map, mut twin_map) = (sensor(), sensor());
        for (reg, n) in [(0x0100u16, 7u8), (0x0300, 32), (0x0000, 255)] {
            let reg = readable(&cfg, reg);
            let mut frame = [0u8; MAX_FRAME_LEN];
            let (pending, s) = ctrl.seal_read_request(reg, n, &mut frame).unwrap();
            let g = &frame[..s.len];
            let need = wire::read_response_len(usize::from(n), cfg.tag_len);
            for len in [0, 1, need - 1] {
                let before = target_state(&tgt, &map);
                let mut short = vec![0u8; len];
                let r = tgt.handle_read(g, &mut map, &mut short);
                assert!(
                    matches!(r, Err(Error::Wire(ccise::WireError::BufferTooSmall { .. }))),
                    "{suite} {len}: {r:?}"
                );
                assert!(short.iter().all(|b| *b == FILLER));
                assert!(target_state(&tgt, &map) == before, "{suite}: moved");
            }
            let mut resp = vec![0u8; need];
            let mut twin_resp = vec![0u8; need];
            let a = tgt.handle_read(g, &mut map, &mut resp);
            let b = twin.handle_read(g, &mut twin_map, &mut twin_resp);
            assert_eq!(a, b, "{suite} {reg:#x}");
            if let Ok(a) = a {
                assert_eq!(resp, twin_resp, "{suite}");
                let mut out = vec![0u8; usize::from(n)];
                ctrl.open_read_response(pending, &resp[..a.response_len], &mut out)
                    .unwrap();
            }
        }
    }
}

/// A controller given an output one byte short refuses without writing anything and without
/// moving its response counter.
#[test]
fn a_short_output_at_the_controller_writes_nothing_and_moves_nothing() {
    for (suite, cfg) in cfgs() {
        let mut ctrl = Controller::new(cfg, keys(suite)).unwrap();
        let mut tgt = Target::new(cfg, keys(suite)).unwrap();
        let mut map = sensor();
        let n = 4u8;
        let mut frame = [0u8; MAX_FRAME_LEN];
        let mut resp = [0u8; MAX_FRAME_LEN];
        let reg = readable(&cfg, 0x0300);
        let (pending, s) = ctrl.seal_read_request(reg, n, &mut frame).unwrap();
        let a = tgt
            .handle_read(&frame[..s.len], &mut map, &mut resp)
            .unwrap();
        let mut out = vec![0x77u8; usize::from(n) - 1];
        let r = ctrl.open_read_response(pending, &resp[..a.response_len], &mut out);
        assert!(r.is_err(), "{suite}");
        assert!(out.iter().all(|b| *b == 0x77 || *b == 0), "{suite}");
        assert!(
            !out.windows(3).any(|w| {
                let r = usize::from(reg);
                w == &map.registers()[r..r + 3]
            }),
            "{suite}: register contents in the short output"
        );
        assert_eq!(ctrl.last_response_counter(), None, "{suite}");
        assert_eq!(ctrl.next_counter(), 2);
    }
}

// ---- the edges of the register space ------------------------------------------------------------------

/// Authenticated writes and reads whose range touches or crosses the top of the 16-bit register
/// space and the status register, of every length: no panic, refused as an access error (or
/// served, for the status register itself), nothing written, and the session goes on.
#[test]
fn accesses_at_the_edges_of_the_register_space_are_refused_cleanly() {
    let (suite, cfg) = cfgs()[0];
    let mut ctrl = Controller::new(cfg, keys(suite)).unwrap();
    let mut tgt = Target::new(cfg, keys(suite)).unwrap();
    let mut map = sensor();
    let data = [0x42u8; 255];
    for reg in [
        0xFFFFu16, 0xFFF8, 0xFFF7, 0xFFF0, 0xFFEF, 0xFF00, 0x03FF, 0x0400,
    ] {
        for n in [1usize, 2, 8, 9, 17, 255] {
            let before = map.clone();
            let mut frame = [0u8; MAX_FRAME_LEN];
            let s = ctrl.seal_write(reg, &data[..n], &mut frame).unwrap();
            let r = tgt.handle_write(&frame[..s.len], &mut map);
            let fits = usize::from(reg) + n <= 0x400;
            if fits {
                assert!(r.is_ok(), "{reg:#x}+{n}: {r:?}");
            } else {
                assert!(matches!(r, Err(Error::Access(_))), "{reg:#x}+{n}: {r:?}");
                assert_eq!(map, before, "{reg:#x}+{n}");
            }
            let (pending, s) = ctrl.seal_read_request(reg, n as u8, &mut frame).unwrap();
            let mut resp = [0u8; MAX_FRAME_LEN];
            let r = tgt.handle_read(&frame[..s.len], &mut map, &mut resp);
            let status = reg >= wire::STATUS_REGISTER
                && usize::from(reg) + n <= usize::from(wire::STATUS_REGISTER) + wire::STATUS_LEN;
            match r {
                Ok(a) => {
                    assert!(fits || status, "{reg:#x}+{n}: read served");
                    let mut out = vec![0u8; n];
                    ctrl.open_read_response(pending, &resp[..a.response_len], &mut out)
                        .unwrap();
                }
                Err(e) => {
                    assert!(matches!(e, Error::Access(_)), "{reg:#x}+{n}: {e:?}");
                    assert!(resp.iter().all(|b| *b == FILLER));
                }
            }
        }
    }
}

/// `SimSensor` registers near the top of the address space: a write or read that would run
/// past register 0xFFFF addresses registers that do not exist and must be refused as unmapped
/// (the map documents `[base, base + N)` of 16-bit register addresses).
#[test]
fn a_sim_sensor_near_the_top_refuses_ranges_past_register_0xffff() {
    const TOP: &[ccise::Region] = &[];
    let mut s: SimSensor<0x400> = SimSensor::new(0xFF00, TOP);
    let before = s.clone();
    let r = s.write(0xFFF8, &[0x11; 64]);
    assert!(matches!(r, Err(AccessError::Unmapped(_))), "{r:?}");
    assert_eq!(s, before);
    let mut out = [0u8; 64];
    let r = s.read(0xFFF8, &mut out, false);
    assert!(matches!(r, Err(AccessError::Unmapped(_))), "{r:?}");
}

// ---- no panic on absurd inputs ----------------------------------------------------------------------------

#[test]
fn absurd_inputs_never_panic_and_never_move_state() {
    for (suite, cfg) in cfgs() {
        let mut ctrl = Controller::new(cfg, keys(suite)).unwrap();
        let mut tgt = Target::new(cfg, keys(suite)).unwrap();
        let mut map = sensor();
        let big = vec![0xA5u8; 70_000];
        for len in [0usize, 1, 2, 3, 6, 7, 8, 64, 300, 70_000] {
            let f = &big[..len];
            let before = target_state(&tgt, &map);
            assert!(tgt.handle_write(f, &mut map).is_err());
            let mut resp = vec![0u8; len];
            assert!(tgt.handle_read(f, &mut map, &mut resp).is_err());
            assert!(tgt.handle_read(f, &mut map, &mut []).is_err());
            assert!(target_state(&tgt, &map) == before);
            for rl in [0usize, 1, 255] {
                let mut frame = [0u8; MAX_FRAME_LEN];
                let (p, _) = ctrl.seal_read_request(0, 1, &mut frame).unwrap();
                let mut out = vec![0u8; rl];
                assert!(ctrl.open_read_response(p, f, &mut out).is_err());
                assert_eq!(ctrl.last_response_counter(), None);
            }
        }
        // Caller mistakes at the controller: nothing consumed.
        let next = ctrl.next_counter();
        let mut frame = [0u8; MAX_FRAME_LEN];
        assert!(ctrl.seal_write(0, &[], &mut frame).is_err());
        assert!(ctrl.seal_write(0, &big[..256], &mut frame).is_err());
        assert!(ctrl.seal_write(0, &[1], &mut frame[..3]).is_err());
        assert!(ctrl.seal_read_request(0, 0, &mut frame).is_err());
        assert!(ctrl.seal_read_request(0, 1, &mut []).is_err());
        assert_eq!(ctrl.next_counter(), next);
        // Status decoding of every length.
        for len in 0..20 {
            let _ = Status::from_bytes(&big[..len]);
        }
        // A controller resumed at the top of the counter space refuses instead of wrapping.
        let mut top = Controller::resume(cfg, keys(suite), u32::MAX).unwrap();
        let r = top.seal_write(0x0100, &[1], &mut frame);
        let r2 = top.seal_write(0x0100, &[1], &mut frame);
        assert!(r.is_err() || r2.is_err(), "{suite}: {r:?} {r2:?}");
        assert!(top.next_counter() >= u32::MAX - 1);
    }
}

// ---- keys never printed, never cloned ----------------------------------------------------------------------

fn key_bytes(seed: u8, n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| seed.wrapping_add((i as u8).wrapping_mul(29)) | 0x81)
        .collect()
}

fn secret(size: KeySize, b: &[u8]) -> SecretKey {
    SecretKey::from_slice(size, &b[..size.len()]).unwrap()
}

#[test]
fn no_debug_output_shows_key_or_salt_bytes() {
    let (k1, k2, m1, m2, s) = (
        key_bytes(0x11, 32),
        key_bytes(0x35, 32),
        key_bytes(0x57, 32),
        key_bytes(0x79, 32),
        key_bytes(0x9D, 12),
    );
    let secrets = [&k1, &k2, &m1, &m2, &s];
    assert!(leaks(&format!("{k1:?}"), &k1).is_some());
    for (suite, cfg) in cfgs() {
        let size = suite.key_size();
        let (a, b, ma, mb) = (
            secret(size, &k1),
            secret(size, &k2),
            secret(size, &m1),
            secret(size, &m2),
        );
        let salt = Salt::new(s[..12].try_into().unwrap());
        let mac = suite.needs_mac_key().then_some((&ma, &mb));
        let secrets_view = SessionSecrets {
            suite,
            to_target: &a,
            to_controller: &b,
            mac_keys: mac,
            salt: &salt,
        };
        let sk = |x: &SecretKey, m: &SecretKey| {
            cse_core::crypto::SuiteKey::new(suite, x, suite.needs_mac_key().then_some(m)).unwrap()
        };
        let keys = || {
            SessionKeys::new(
                sk(&a, &ma),
                sk(&b, &mb),
                Salt::new(s[..12].try_into().unwrap()),
            )
            .unwrap()
        };
        let mut dbg = vec![format!("{secrets_view:?} {secrets_view:#?}")];
        let k = keys();
        dbg.push(format!("{k:?} {k:#?}"));
        let mut ctrl = Controller::new(cfg, keys()).unwrap();
        let mut tgt = Target::from_secrets(cfg, &secrets_view).unwrap();
        let mut map = sensor();
        let mut frame = [0u8; MAX_FRAME_LEN];
        let s1 = ctrl.seal_write(0x0100, &[1, 2], &mut frame).unwrap();
        dbg.push(format!(
            "{s1:?} {:?}",
            tgt.handle_write(&frame[..s1.len], &mut map)
        ));
        let (p, s2) = ctrl
            .seal_read_request(readable(&cfg, 0x0300), 4, &mut frame)
            .unwrap();
        dbg.push(format!("{p:?} {s2:?}"));
        let mut resp = [0u8; MAX_FRAME_LEN];
        let a2 = tgt.handle_read(&frame[..s2.len], &mut map, &mut resp);
        dbg.push(format!("{a2:?}"));
        let mut out = [0u8; 4];
        let _ = ctrl.open_read_response(p, &resp[..resp.len().min(24)], &mut out);
        dbg.push(format!(
            "{ctrl:?} {ctrl:#?} {tgt:?} {tgt:#?} {:?}",
            tgt.status()
        ));
        for d in &dbg {
            for x in secrets {
                assert_eq!(leaks(d, x), None, "{suite}: secret bytes in {d}");
            }
        }
    }
}

#[test]
fn nothing_that_holds_a_key_or_a_pending_request_is_clone() {
    let probes = [
        ("String (control)", CloneProbe::<String>::IS_CLONE, true),
        ("SessionKeys", CloneProbe::<SessionKeys>::IS_CLONE, false),
        ("Controller", CloneProbe::<Controller>::IS_CLONE, false),
        ("Target", CloneProbe::<Target>::IS_CLONE, false),
        ("PendingRead", CloneProbe::<PendingRead>::IS_CLONE, false),
        (
            "SessionSecrets",
            CloneProbe::<SessionSecrets<'static>>::IS_CLONE,
            false,
        ),
    ];
    for (name, is_clone, want) in probes {
        assert_eq!(is_clone, want, "{name}");
    }
}
