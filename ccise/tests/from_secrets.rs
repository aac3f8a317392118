//! `Target::from_secrets` builds the same target as `Target::new` with the `SessionKeys` of the
//! same secrets, and refuses what `SuiteKey::new`, `SessionKeys::new` and `Config::validate`
//! refuse.
#![allow(clippy::unwrap_used)]

mod common;

use ccise::{Config, Controller, Error, SessionSecrets, Target};
use common::{keys, sensor};
use cse_core::keys::{Salt, SecretKey};
use cse_core::{CipherSuite, ConfigError, KeySize, TagLen};

fn secret(size: KeySize, byte: u8) -> SecretKey {
    let bytes: Vec<u8> = (0..size.len() as u8)
        .map(|i| byte.wrapping_add(i))
        .collect();
    SecretKey::from_slice(size, &bytes).unwrap()
}

fn salt() -> Salt {
    Salt::new(core::array::from_fn(|i| 0xA0 + i as u8))
}

/// The target of `common::keys(suite)`, built from the secrets.
fn from_secrets(suite: CipherSuite, cfg: Config) -> Result<Target, Error> {
    let size = suite.key_size();
    let (t, c) = (secret(size, 0x00), secret(size, 0x40));
    let (mt, mc) = (secret(size, 0x80), secret(size, 0xC0));
    let salt = salt();
    Target::from_secrets(
        cfg,
        &SessionSecrets {
            suite,
            to_target: &t,
            to_controller: &c,
            mac_keys: suite.needs_mac_key().then_some((&mt, &mc)),
            salt: &salt,
        },
    )
}

#[test]
fn answers_like_a_target_from_session_keys_for_every_suite() {
    for suite in CipherSuite::ALL {
        for tag in [TagLen::L16, TagLen::L8] {
            let cfg = Config::new(0x36)
                .with_tag_len(tag)
                .with_encrypted_reads(suite.encrypts());
            let mut ctrl = Controller::new(cfg, keys(suite)).unwrap();
            let mut reference = Target::new(cfg, keys(suite)).unwrap();
            let mut target = from_secrets(suite, cfg).unwrap();
            let (mut map_a, mut map_b) = (sensor(), sensor());
            let mut frame = [0u8; ccise::wire::MAX_FRAME_LEN];
            let n = ctrl.seal_write(0x0100, &[1, 2, 3], &mut frame).unwrap().len;
            let a = reference.handle_write(&frame[..n], &mut map_a).unwrap();
            let b = target.handle_write(&frame[..n], &mut map_b).unwrap();
            assert_eq!(a, b, "{suite:?}");
            let (_pending, sealed) = ctrl.seal_read_request(0x0100, 3, &mut frame).unwrap();
            let n = sealed.len;
            let (mut ra, mut rb) = ([0u8; 64], [0u8; 64]);
            let a = reference
                .handle_read(&frame[..n], &mut map_a, &mut ra)
                .unwrap();
            let b = target
                .handle_read(&frame[..n], &mut map_b, &mut rb)
                .unwrap();
            assert_eq!(a, b, "{suite:?}");
            assert_eq!(ra, rb, "{suite:?}: response");
            assert_eq!(reference.status(), target.status());
            assert_eq!(reference.last_counter(), target.last_counter());
        }
    }
}

#[test]
fn refuses_what_the_session_keys_refuse() {
    let salt = salt();
    let k128 = secret(KeySize::Aes128, 1);
    let k256 = secret(KeySize::Aes256, 2);
    let cfg = Config::new(0x36);
    let build = |suite, t, c, mac_keys| {
        Target::from_secrets(
            cfg,
            &SessionSecrets {
                suite,
                to_target: t,
                to_controller: c,
                mac_keys,
                salt: &salt,
            },
        )
    };
    // A key of the wrong size, in either direction.
    let wrong = Error::from(ConfigError::KeyLength {
        got: 32,
        expected: 16,
    });
    assert_eq!(
        build(CipherSuite::Aes128Cmac, &k256, &k128, None).unwrap_err(),
        wrong
    );
    assert_eq!(
        build(CipherSuite::Aes128Cmac, &k128, &k256, None).unwrap_err(),
        wrong
    );
    // MAC keys missing for CTR+CMAC, given for CMAC, or of the wrong size.
    let mac_key = Error::from(ConfigError::MacKey);
    assert_eq!(
        build(CipherSuite::Aes128CtrCmac, &k128, &k128, None).unwrap_err(),
        mac_key
    );
    assert_eq!(
        build(CipherSuite::Aes128Cmac, &k128, &k128, Some((&k128, &k128))).unwrap_err(),
        mac_key
    );
    assert_eq!(
        build(
            CipherSuite::Aes128CtrCmac,
            &k128,
            &k128,
            Some((&k128, &k256))
        )
        .unwrap_err(),
        wrong
    );
    // The configuration is checked too: encrypted reads need an encrypting suite.
    let r = Target::from_secrets(
        cfg.with_encrypted_reads(true),
        &SessionSecrets {
            suite: CipherSuite::Aes128Cmac,
            to_target: &k128,
            to_controller: &k128,
            mac_keys: None,
            salt: &salt,
        },
    );
    assert_eq!(
        r.unwrap_err(),
        Error::from(ConfigError::SuiteDoesNotEncrypt(CipherSuite::Aes128Cmac))
    );
}
