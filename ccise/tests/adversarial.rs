//! Attacker-model tests against the public API: a keyless attacker on the bus forges,
//! replays, truncates and misdirects writes and read requests before every genuine
//! transaction. Each rejected transaction must leave the register map, the target's counters
//! and its status (apart from the rejection count and last error) unchanged: the attacked
//! target answers every genuine transaction byte for byte like a target that never saw the
//! attack.
#![allow(clippy::unwrap_used, clippy::panic)] // test helpers outside #[test] fns

mod common;

use ccise::wire::MAX_FRAME_LEN;
use ccise::{Config, Controller, Error, FILLER, SimSensor, Status, Target};
use common::{keys, sensor};
use cse_core::{CipherSuite, SecurityError, TagLen};

#[derive(Clone, Copy, Debug)]
enum Tx {
    Write(u16, &'static [u8]),
    Read(u16, u8),
}

const SCRIPT: [Tx; 7] = [
    Tx::Write(0x0100, &[1, 2, 3]),
    Tx::Read(0x0100, 3),
    Tx::Write(0x0104, &[9]),
    Tx::Read(0x0000, 4),
    Tx::Write(0x0100, &[7]),
    Tx::Read(0x0100, 3),
    Tx::Read(0x0104, 1),
];

fn cfgs() -> Vec<(CipherSuite, Config)> {
    let mut v = Vec::new();
    for suite in [
        CipherSuite::Aes128Cmac,
        CipherSuite::Aes256Gmac,
        CipherSuite::Aes128Gcm,
        CipherSuite::Aes256CtrCmac,
    ] {
        for tag in [TagLen::L16, TagLen::L8] {
            v.push((
                suite,
                Config::new(0x36)
                    .with_tag_len(tag)
                    .with_encrypted_reads(suite.encrypts()),
            ));
        }
    }
    v
}

fn garbage(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(97).wrapping_add(seed))
        .collect()
}

/// Forgeries built from a genuine frame `g`: bad tag, truncated, extended, garbage.
fn forgeries(g: &[u8], seed: u8) -> Vec<(&'static str, Vec<u8>)> {
    let mut bad_tag = g.to_vec();
    *bad_tag.last_mut().unwrap() ^= 0x01;
    let mut bad_counter = g.to_vec();
    // The counter sits before the tag; change its low byte region (any field: the tag covers
    // it).
    let n = bad_counter.len();
    bad_counter[n / 2] ^= 0x10;
    let mut extended = g.to_vec();
    extended.push(0);
    vec![
        ("bad tag", bad_tag),
        ("tampered field", bad_counter),
        ("truncated by one", g[..g.len() - 1].to_vec()),
        ("truncated to 3", g[..3].to_vec()),
        ("extended", extended),
        ("garbage", garbage(g.len(), seed)),
    ]
}

/// The target's observable state apart from the rejection counters.
fn state(t: &Target, m: &SimSensor<0x400>) -> (Option<u32>, bool, bool, SimSensor<0x400>, u32) {
    let s: Status = t.status();
    (
        t.last_counter(),
        s.needs_rekey,
        s.exhausted,
        m.clone(),
        m.writes_applied(),
    )
}

fn forged_write(t: &mut Target, m: &mut SimSensor<0x400>, f: &[u8], what: &str) {
    let before = state(t, m);
    let failures = t.status().failures;
    let r = t.handle_write(f, m);
    assert!(r.is_err(), "{what}: forged write accepted");
    assert!(state(t, m) == before, "{what}: state moved");
    assert_eq!(t.status().failures, failures + 1, "{what}");
}

fn forged_read(t: &mut Target, m: &mut SimSensor<0x400>, f: &[u8], what: &str) {
    let before = state(t, m);
    let failures = t.status().failures;
    let mut resp = [0u8; MAX_FRAME_LEN];
    let r = t.handle_read(f, m, &mut resp);
    assert!(r.is_err(), "{what}: forged read accepted");
    assert!(resp.iter().all(|b| *b == FILLER), "{what}: response leaked");
    assert!(state(t, m) == before, "{what}: state moved");
    assert_eq!(t.status().failures, failures + 1, "{what}");
}

#[test]
fn forged_and_replayed_transactions_change_nothing_and_the_next_genuine_one_applies() {
    for (suite, cfg) in cfgs() {
        let mut ctrl = Controller::new(cfg, keys(suite)).unwrap();
        let mut tgt = Target::new(cfg, keys(suite)).unwrap();
        let mut map = sensor();
        // The reference: the same genuine transactions, no attacker.
        let mut ref_tgt = Target::new(cfg, keys(suite)).unwrap();
        let mut ref_map = sensor();
        // Another device's controller (address 0x37), same session keys.
        let other_cfg = Config::new(0x37)
            .with_tag_len(cfg.tag_len)
            .with_encrypted_reads(cfg.encrypt_reads);
        let mut other = Controller::new(other_cfg, keys(suite)).unwrap();
        let mut past_writes: Vec<Vec<u8>> = Vec::new();
        let mut past_reads: Vec<Vec<u8>> = Vec::new();
        for (k, tx) in SCRIPT.iter().enumerate() {
            let what = format!("{suite} {:?} step {k} {tx:?}", cfg.tag_len);
            let mut frame = [0u8; MAX_FRAME_LEN];
            let mut ofr = [0u8; MAX_FRAME_LEN];
            match *tx {
                Tx::Write(reg, data) => {
                    let s = ctrl.seal_write(reg, data, &mut frame).unwrap();
                    let g = frame[..s.len].to_vec();
                    // Misdirected: the same write sealed for another device.
                    let o = other.seal_write(reg, data, &mut ofr).unwrap();
                    let mut attacks = forgeries(&g, k as u8);
                    attacks.push(("other device", ofr[..o.len].to_vec()));
                    for p in &past_writes {
                        attacks.push(("replayed write", p.clone()));
                    }
                    for p in &past_reads {
                        attacks.push(("read request as a write", p.clone()));
                    }
                    for (w, f) in &attacks {
                        forged_write(&mut tgt, &mut map, f, &format!("{what} {w}"));
                    }
                    // The genuine write applies, like at the reference.
                    let a = tgt.handle_write(&g, &mut map).unwrap();
                    let b = ref_tgt.handle_write(&g, &mut ref_map).unwrap();
                    assert_eq!(a, b, "{what}");
                    assert_eq!(
                        &map.registers()[usize::from(reg)..usize::from(reg) + data.len()],
                        data,
                        "{what}"
                    );
                    past_writes.push(g);
                }
                Tx::Read(reg, n) => {
                    let (pending, s) = ctrl.seal_read_request(reg, n, &mut frame).unwrap();
                    let g = frame[..s.len].to_vec();
                    let (_op, o) = other.seal_read_request(reg, n, &mut ofr).unwrap();
                    let mut attacks = forgeries(&g, k as u8);
                    attacks.push(("other device", ofr[..o.len].to_vec()));
                    for p in &past_reads {
                        attacks.push(("replayed read request", p.clone()));
                    }
                    for p in &past_writes {
                        attacks.push(("write as a read request", p.clone()));
                    }
                    for (w, f) in &attacks {
                        forged_read(&mut tgt, &mut map, f, &format!("{what} {w}"));
                    }
                    // The genuine read: same response bytes as the reference (same response
                    // counter: no forged request moved it), and the controller opens it.
                    let mut resp = [0u8; MAX_FRAME_LEN];
                    let mut ref_resp = [0u8; MAX_FRAME_LEN];
                    let a = tgt.handle_read(&g, &mut map, &mut resp).unwrap();
                    let b = ref_tgt
                        .handle_read(&g, &mut ref_map, &mut ref_resp)
                        .unwrap();
                    assert_eq!(a, b, "{what}");
                    assert_eq!(
                        resp, ref_resp,
                        "{what}: response differs from the reference"
                    );
                    let mut out = vec![0u8; usize::from(n)];
                    ctrl.open_read_response(pending, &resp[..a.response_len], &mut out)
                        .unwrap();
                    assert_eq!(
                        out,
                        ref_map.registers()[usize::from(reg)..usize::from(reg) + usize::from(n)],
                        "{what}"
                    );
                    past_reads.push(g);
                }
            }
            assert_eq!(map, ref_map, "{what}");
            assert_eq!(tgt.last_counter(), ref_tgt.last_counter(), "{what}");
            assert_eq!(map.writes_applied(), ref_map.writes_applied(), "{what}");
        }
        // Rejections were counted, nothing else.
        assert!(tgt.status().failures > 0);
        assert_eq!(ref_tgt.status(), Status::default());
        assert!(!tgt.status().needs_rekey && !tgt.status().exhausted);
    }
}

/// A replayed write after the sensor changed the register itself does not restore the old
/// value, and a write replayed after a newer one does not undo it.
#[test]
fn an_old_write_never_comes_back() {
    for (suite, cfg) in cfgs() {
        let mut ctrl = Controller::new(cfg, keys(suite)).unwrap();
        let mut tgt = Target::new(cfg, keys(suite)).unwrap();
        let mut map = sensor();
        let mut f1 = [0u8; MAX_FRAME_LEN];
        let mut f2 = [0u8; MAX_FRAME_LEN];
        let s1 = ctrl.seal_write(0x0100, &[0x11], &mut f1).unwrap();
        let s2 = ctrl.seal_write(0x0100, &[0x22], &mut f2).unwrap();
        let _ = tgt.handle_write(&f1[..s1.len], &mut map).unwrap();
        let _ = tgt.handle_write(&f2[..s2.len], &mut map).unwrap();
        for _ in 0..3 {
            let r = tgt.handle_write(&f1[..s1.len], &mut map);
            assert!(matches!(
                r,
                Err(Error::Security(SecurityError::Replay { .. }))
            ));
            assert_eq!(map.peek(0x0100), Some(0x22));
        }
        assert_eq!(tgt.last_counter(), Some(2));
        assert_eq!(map.writes_applied(), 2);
    }
}

/// Forged responses at the controller: rejected, output wiped, response counter unchanged,
/// and the genuine response still opens.
#[test]
fn forged_read_responses_change_nothing_at_the_controller() {
    for (suite, cfg) in cfgs() {
        let mut ctrl = Controller::new(cfg, keys(suite)).unwrap();
        let mut tgt = Target::new(cfg, keys(suite)).unwrap();
        let mut map = sensor();
        let mut old_resp: Option<Vec<u8>> = None;
        for round in 0..3u8 {
            let mut frame = [0u8; MAX_FRAME_LEN];
            let mut resp = [0u8; MAX_FRAME_LEN];
            let (pending, s) = ctrl.seal_read_request(0x0000, 4, &mut frame).unwrap();
            let a = tgt
                .handle_read(&frame[..s.len], &mut map, &mut resp)
                .unwrap();
            let g = resp[..a.response_len].to_vec();
            // A twin controller (same keys, same counters) receives the forgeries: a pending
            // request takes at most one response.
            let mut attacks = forgeries(&g, round);
            if let Some(o) = &old_resp {
                attacks.push(("replayed response", o.clone()));
            }
            for (w, f) in &attacks {
                let mut twin = Controller::resume(cfg, keys(suite), pending.counter()).unwrap();
                let mut tf = [0u8; MAX_FRAME_LEN];
                let (tp, _) = twin.seal_read_request(0x0000, 4, &mut tf).unwrap();
                let mut out = vec![0xEEu8; 4];
                assert!(
                    twin.open_read_response(tp, f, &mut out).is_err(),
                    "{suite} {w}"
                );
                assert!(out.iter().all(|b| *b == 0), "{suite} {w}: output not wiped");
                assert_eq!(twin.last_response_counter(), None, "{suite} {w}");
            }
            let before = ctrl.last_response_counter();
            let mut out = vec![0u8; 4];
            ctrl.open_read_response(pending, &g, &mut out).unwrap();
            assert_eq!(out, map.registers()[..4]);
            assert!(ctrl.last_response_counter() > before);
            old_resp = Some(g);
        }
    }
}
