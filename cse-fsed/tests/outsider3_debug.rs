//! Outsider round 3: no key, MAC key or salt byte in any `Debug` output of the FSED API, with
//! keys installed, frames in progress (keys expanded), after errors and a rollover.
#![allow(clippy::unwrap_used, clippy::panic)]

mod o3;

use cse_core::keys::{Salt, SecretKey};
use cse_core::{CipherSuite, KeyId, SecurityVariant, TagMode};
use cse_fsed::{Delivery, KeyMaterial, Receiver, Transmitter};
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

fn assert_clean(s: &str) {
    for b in [KEY, MAC, SALT] {
        for needle in [
            format!("{b}, {b}"),
            format!("{b:02x}{b:02x}"),
            format!("{b:02X}{b:02X}"),
            format!("{b:#04x}, {b:#04x}"),
        ] {
            assert!(!s.contains(&needle), "key material printed ({needle}): {s}");
        }
    }
}

#[test]
fn no_debug_output_shows_key_mac_key_or_salt_bytes() {
    for suite in [CipherSuite::Aes256Gcm, CipherSuite::Aes128CtrCmac] {
        let config = uniform(
            SecurityVariant::FullIntegrityEncrypted,
            suite,
            TagMode::PerDataType,
        );
        let mut tx = Transmitter::new(settings(), 1);
        tx.install_key(KeyId::default(), distinctive(suite))
            .unwrap();
        tx.set_config(config).unwrap();
        let mut rx = Receiver::new(settings(), cse_core::Policy::PERMISSIVE, 100);
        rx.install_key(KeyId::default(), distinctive(suite))
            .unwrap();
        let mut all = format!("{:?} {:#?} ", distinctive(suite), distinctive(suite));
        let mut ins = [0u8; cse_fsed::tx::MAX_INSERTED_LEN];
        for o in frame(0, 1) {
            let mut p = o.clone();
            let r = tx.protect(&mut p, &mut ins).unwrap();
            all += &format!("{tx:?} {tx:#?} {r:?} ");
            let mut q = o.clone();
            all += &format!("{:?} ", tx.protect(&mut q, &mut []));
            let mut wire = r.before(&ins).to_vec();
            wire.extend_from_slice(&p);
            wire.extend_from_slice(r.after(&ins));
            for d in cse_core::csi2::Packets::new(&wire, cse_core::csi2::HeaderForm::Dphy) {
                let d = d.unwrap().raw.to_vec();
                match rx.receive(&d, 0) {
                    Ok(Delivery::Unverified(u)) => {
                        all += &format!("{u:?} {:?} ", u.decrypt_ticket())
                    }
                    r => all += &format!("{r:?} "),
                }
                all += &format!("{rx:?} {rx:#?} ");
            }
        }
        while let Some(e) = rx.poll_event(1_000) {
            all += &format!("{e:?} ");
        }
        tx.install_key(KeyId::new(1).unwrap(), distinctive(suite))
            .unwrap();
        rx.install_key(KeyId::new(1).unwrap(), distinctive(suite))
            .unwrap();
        all += &format!("{tx:?} {rx:?}");
        assert_clean(&all);
    }
}
