//! Outsider round 3: `Receiver::receive` and `receive_batch` with output buffers that are too
//! small (0, 1, one byte short): each call must be refused with nothing moved and no
//! plaintext left behind, and the same packet then received into a proper buffer must give
//! exactly what an unattacked twin gets, for every SV, suite and tag mode.
#![allow(clippy::unwrap_used, clippy::panic)]

mod o3;

use cse_core::{CipherSuite, SecurityVariant, TagMode};
use cse_sep::Receiver;
use o3::*;

fn cases() -> Vec<(cse_core::FrameConfig, CipherSuite)> {
    let mut v = Vec::new();
    for (sv, suite) in [
        (
            SecurityVariant::FullIntegrityEncrypted,
            CipherSuite::Aes256Gcm,
        ),
        (
            SecurityVariant::FullIntegrityEncrypted,
            CipherSuite::Aes128CtrCmac,
        ),
        (SecurityVariant::FullIntegrity, CipherSuite::Aes128Cmac),
        (
            SecurityVariant::LinePartialIntegrity {
                stride: 2,
                offset: 0,
            },
            CipherSuite::Aes256Gmac,
        ),
        (SecurityVariant::NoSecurity, CipherSuite::Aes128Cmac),
    ] {
        for mode in [TagMode::PerMessage, TagMode::PerDataType, TagMode::PerFrame] {
            v.push((uniform(sv, suite, mode), suite));
        }
    }
    v
}

fn original_len(twin_got: &Got) -> usize {
    match twin_got {
        Got::Verified(p, _) | Got::Unverified(p, ..) | Got::Unprotected(p, _) => p.len(),
        _ => 0,
    }
}

#[test]
fn too_small_output_buffers_move_nothing_and_hold_no_plaintext() {
    for (config, suite) in cases() {
        let mut tx = tx_with(config, suite, 1);
        let seps: Vec<Vec<u8>> = (0..2)
            .flat_map(|f| protect_all(&mut tx, &originals(f, &typical(f as u8))))
            .collect();
        let mut twin = rx_with(config, suite, policy_sv5());
        let expect = feed(&mut twin, &seps, 0);
        let t_obs = observe(&mut twin, 0);
        let mut rx = rx_with(config, suite, policy_sv5());
        let mut got = Vec::new();
        for (i, s) in seps.iter().enumerate() {
            let need = original_len(&expect[i]);
            for size in [0usize, 1, need.saturating_sub(1)] {
                if size >= need {
                    continue;
                }
                let mut out = vec![0xEEu8; size];
                let r = rx.receive(s, i as u64, &mut out);
                assert!(
                    r.is_err(),
                    "{config:?} packet {i}: taken into {size} bytes: {r:?}"
                );
                drop(r);
                assert!(
                    out.iter().all(|&b| b == 0),
                    "{config:?} packet {i}: out not wiped"
                );
            }
            got.push(recv(&mut rx, s, i as u64).0);
        }
        assert_eq!(got, expect, "{config:?}");
        assert_same_but_rejections(&observe(&mut rx, 0), &t_obs, &format!("{config:?}"));
    }
}

#[test]
fn too_small_output_buffers_in_a_batch_equal_single_calls() {
    for (config, suite) in cases() {
        let mut tx = tx_with(config, suite, 1);
        let seps: Vec<Vec<u8>> = (0..2)
            .flat_map(|f| protect_all(&mut tx, &originals(f, &typical(f as u8))))
            .collect();
        // Each packet first with a buffer one byte short of its own length, then a proper one.
        let mut items: Vec<(Vec<u8>, usize)> = Vec::new();
        for s in &seps {
            items.push((s.clone(), s.len().saturating_sub(22)));
            items.push((s.clone(), s.len()));
        }
        let mut a = rx_with(config, suite, policy_sv5());
        let mut b: Receiver = rx_with(config, suite, policy_sv5());
        let mut outs_a: Vec<Vec<u8>> = items.iter().map(|(_, n)| vec![0xEE; *n]).collect();
        let mut res_a = Vec::new();
        {
            let refs: Vec<&[u8]> = items.iter().map(|(s, _)| s.as_slice()).collect();
            let mut outs: Vec<&mut [u8]> = outs_a.iter_mut().map(Vec::as_mut_slice).collect();
            a.receive_batch(&refs, 0, &mut outs, |_, r| res_a.push(own(&r)))
                .unwrap();
        }
        let mut outs_b: Vec<Vec<u8>> = items.iter().map(|(_, n)| vec![0xEE; *n]).collect();
        let res_b: Vec<Got> = items
            .iter()
            .zip(outs_b.iter_mut())
            .map(|((s, _), out)| {
                let r = b.receive(s, 0, out);
                own(&r)
            })
            .collect();
        assert_eq!(res_a, res_b, "{config:?}");
        assert_eq!(outs_a, outs_b, "{config:?}");
        assert_eq!(observe(&mut a, 0), observe(&mut b, 0), "{config:?}");
    }
}

#[test]
fn sv3_and_sv4_batches_with_forged_and_missing_lines_equal_single_calls() {
    // The batch path precomputes tags from a packet's layout and its predicted covered bytes
    // (SV-3: from the line index, which a refused or missing line shifts). Forged covered
    // and uncovered bytes, dropped lines and duplicates in one batch must give exactly the
    // results of single calls.
    let side = blk(
        SecurityVariant::FullIntegrity,
        CipherSuite::Aes128Cmac,
        TagMode::PerMessage,
    );
    let mut configs = Vec::new();
    for (stride, offset) in [(2u16, 0u16), (3, 1), (1, 0)] {
        configs.push(uniform(
            SecurityVariant::LinePartialIntegrity { stride, offset },
            CipherSuite::Aes128Cmac,
            TagMode::PerMessage,
        ));
    }
    for (start, len) in [(2u16, 4u16), (10, 100)] {
        let mut c = uniform(
            SecurityVariant::FullIntegrity,
            CipherSuite::Aes128Cmac,
            TagMode::PerMessage,
        );
        c.image = cse_core::BlockConfig {
            sv: SecurityVariant::BytePartialIntegrity { start, len },
            ..side
        };
        configs.push(c);
    }
    for config in configs {
        let suite = CipherSuite::Aes128Cmac;
        let mut tx = tx_with(config, suite, 1);
        let body: Vec<Pkt> = (0..9)
            .map(|i| line(cse_core::csi2::DataType::RAW12, i, 12))
            .collect();
        let seps: Vec<Vec<u8>> = (0..2)
            .flat_map(|f| protect_all(&mut tx, &originals(f, &body)))
            .collect();
        for variant in 0..4 {
            let mut items: Vec<Vec<u8>> = Vec::new();
            for (k, s) in seps.iter().enumerate() {
                let is_line = orig_dt(s) == 0x2C;
                match (variant, k % 3, is_line) {
                    // A forged copy (first byte flipped) before the genuine line.
                    (0, 0, true) => {
                        let mut f = s.clone();
                        f[body_at(0)] ^= 1;
                        fix_crcs(&mut f);
                        items.push(f);
                        items.push(s.clone());
                    }
                    // The line replaced by a forged one (last byte flipped).
                    (1, 1, true) => {
                        let mut f = s.clone();
                        f[body_at(11)] ^= 1;
                        fix_crcs(&mut f);
                        items.push(f);
                    }
                    // The line dropped.
                    (2, 2, true) => {}
                    // The line twice.
                    (3, 0, true) => {
                        items.push(s.clone());
                        items.push(s.clone());
                    }
                    _ => items.push(s.clone()),
                }
            }
            let mut a = rx_with(config, suite, policy_sv5());
            let mut b = rx_with(config, suite, policy_sv5());
            let mut outs_a: Vec<Vec<u8>> = items.iter().map(|s| vec![0xEE; s.len()]).collect();
            let mut res_a = Vec::new();
            {
                let refs: Vec<&[u8]> = items.iter().map(Vec::as_slice).collect();
                let mut outs: Vec<&mut [u8]> = outs_a.iter_mut().map(Vec::as_mut_slice).collect();
                a.receive_batch(&refs, 0, &mut outs, |_, r| res_a.push(own(&r)))
                    .unwrap();
            }
            let mut outs_b: Vec<Vec<u8>> = items.iter().map(|s| vec![0xEE; s.len()]).collect();
            let res_b: Vec<Got> = items
                .iter()
                .zip(outs_b.iter_mut())
                .map(|(s, out)| {
                    let r = b.receive(s, 0, out);
                    own(&r)
                })
                .collect();
            assert_eq!(res_a, res_b, "{config:?} variant {variant}");
            assert_eq!(outs_a, outs_b, "{config:?} variant {variant}");
            assert_eq!(
                observe(&mut a, 0),
                observe(&mut b, 0),
                "{config:?} variant {variant}"
            );
        }
    }
}
