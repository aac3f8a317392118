//! Outsider round 3: no key, MAC key or salt byte in any `Debug` output of the public API,
//! in any state (keys installed, a frame in progress with its keys expanded, after errors,
//! after a rollover), and transmitter batches with buffers of the wrong size.
#![allow(clippy::unwrap_used, clippy::panic)]

mod o3;

use cse_core::keys::{Salt, SecretKey};
use cse_core::{CipherSuite, KeyId, SecurityVariant, TagMode};
use cse_sep::{Delivery, KeyMaterial, Receiver, Transmitter};
use o3::*;

const KEY: u8 = 0xC3;
const MAC: u8 = 0xD4;
const SALT: u8 = 0xB5;

fn distinctive(suite: CipherSuite) -> KeyMaterial {
    let big = matches!(suite, CipherSuite::Aes256Gcm | CipherSuite::Aes256CtrCmac);
    let k = |b: u8| {
        if big {
            SecretKey::aes256([b; 32])
        } else {
            SecretKey::aes128([b; 16])
        }
    };
    let mac = matches!(
        suite,
        CipherSuite::Aes128CtrCmac | CipherSuite::Aes256CtrCmac
    )
    .then(|| k(MAC));
    KeyMaterial::new(k(KEY), mac, Salt::new([SALT; 12]))
}

fn assert_clean(s: &str, what: &str) {
    for b in [KEY, MAC, SALT] {
        for needle in [
            format!("{b}, {b}"),
            format!("{b:02x}{b:02x}"),
            format!("{b:02X}{b:02X}"),
            format!("{b:#04x}, {b:#04x}"),
            format!("{b:#x}, {b:#x}"),
        ] {
            assert!(
                !s.contains(&needle),
                "{what} prints key material ({needle}): {s}"
            );
        }
    }
}

#[test]
fn no_debug_output_shows_key_mac_key_or_salt_bytes() {
    for (suite, mode) in [
        (CipherSuite::Aes256Gcm, TagMode::PerMessage),
        (CipherSuite::Aes128CtrCmac, TagMode::PerFrame),
        (CipherSuite::Aes256CtrCmac, TagMode::PerDataType),
    ] {
        let config = uniform(SecurityVariant::FullIntegrityEncrypted, suite, mode);
        let m = distinctive(suite);
        assert_clean(&format!("{m:?} {m:#?}"), "KeyMaterial");
        let mut tx = Transmitter::new(settings(), 1);
        tx.install_key(KeyId::default(), distinctive(suite))
            .unwrap();
        tx.set_config(config).unwrap();
        let mut rx = Receiver::new(settings(), policy_sv5(), 100);
        rx.install_key(KeyId::default(), distinctive(suite))
            .unwrap();
        let orig = originals(0, &typical(1));
        let mut all = String::new();
        for (i, o) in orig.iter().enumerate() {
            let mut out = vec![0u8; cse_sep::tx::max_protected_len(o.len())];
            let done = tx.protect(o, &mut out).unwrap();
            all += &format!("{tx:?} {tx:#?} {done:?} ");
            let err = tx.protect(o, &mut [0u8; 3]).unwrap_err();
            all += &format!("{err:?} {err} ");
            for s in split(&out[..done.len]) {
                let mut back = vec![0u8; s.len()];
                match rx.receive(&s, i as u64, &mut back) {
                    Ok(Delivery::Unverified(u)) => {
                        all += &format!("{u:?} {:?} ", u.decrypt_ticket());
                    }
                    r => all += &format!("{r:?} "),
                }
                all += &format!("{rx:?} {rx:#?} ");
                let mut bad = s.clone();
                let n = bad.len();
                bad[n - 7] ^= 1;
                fix_crcs(&mut bad);
                let r = rx.receive(&bad, i as u64, &mut back);
                all += &format!("{r:?} ");
            }
        }
        while let Some(e) = rx.poll_event(1_000) {
            all += &format!("{e:?} ");
        }
        // A rollover: both slots hold material.
        tx.install_key(KeyId::new(1).unwrap(), distinctive(suite))
            .unwrap();
        rx.install_key(KeyId::new(1).unwrap(), distinctive(suite))
            .unwrap();
        all += &format!("{tx:?} {rx:?} {:?}", tx.settings());
        assert_clean(&all, "SEP API");
    }
}

#[test]
fn a_batch_with_wrong_sized_buffers_equals_single_calls() {
    // Buffers of every size from 0 to just enough, per packet, in one batch and one at a
    // time on a twin: the same results, the same bytes, the same state after.
    for (sv, suite, mode) in [
        (
            SecurityVariant::FullIntegrity,
            CipherSuite::Aes128Cmac,
            TagMode::PerMessage,
        ),
        (
            SecurityVariant::FullIntegrity,
            CipherSuite::Aes256Gmac,
            TagMode::PerDataType,
        ),
        (
            SecurityVariant::FullIntegrityEncrypted,
            CipherSuite::Aes128Gcm,
            TagMode::PerFrame,
        ),
    ] {
        let config = uniform(sv, suite, mode);
        let mut a = tx_with(config, suite, 1);
        let mut b = tx_with(config, suite, 1);
        let orig: Vec<Vec<u8>> = (0..3)
            .flat_map(|f| originals(f, &typical(f as u8)))
            .collect();
        // Each packet three times: a buffer too small, none, then big enough.
        let mut packets = Vec::new();
        let mut sizes = Vec::new();
        for o in &orig {
            let need = cse_sep::tx::max_protected_len(o.len());
            // Too small for a tagged SEP packet, nothing at all, then enough.
            for size in [o.len() + 20, 0, need] {
                packets.push(o.clone());
                sizes.push(size);
            }
        }
        let mut outs_a: Vec<Vec<u8>> = sizes.iter().map(|&s| vec![0x5Au8; s]).collect();
        let mut res_a = Vec::new();
        {
            let refs: Vec<&[u8]> = packets.iter().map(Vec::as_slice).collect();
            let mut outs: Vec<&mut [u8]> = outs_a.iter_mut().map(Vec::as_mut_slice).collect();
            a.protect_batch(&refs, &mut outs, |i, r| res_a.push((i, r)))
                .unwrap();
        }
        let mut outs_b: Vec<Vec<u8>> = sizes.iter().map(|&s| vec![0x5Au8; s]).collect();
        let res_b: Vec<_> = packets
            .iter()
            .zip(outs_b.iter_mut())
            .enumerate()
            .map(|(i, (p, out))| (i, b.protect(p, out)))
            .collect();
        assert_eq!(res_a, res_b, "{config:?}");
        assert_eq!(outs_a, outs_b, "{config:?}");
        assert!(res_a.iter().any(|(_, r)| r.is_err()) && res_a.iter().any(|(_, r)| r.is_ok()));
        assert_eq!(a.next_frame_counter(), b.next_frame_counter());
        assert_eq!(format!("{a:?}"), format!("{b:?}"));
    }
}
