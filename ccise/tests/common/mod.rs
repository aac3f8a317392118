//! Helpers shared by the integration tests: deterministic session keys and a connected
//! controller/target pair on the demo sensor.
#![allow(dead_code, clippy::unwrap_used)]

use ccise::{Config, Controller, SessionKeys, SimSensor, Target};
use cse_core::crypto::SuiteKey;
use cse_core::keys::{Salt, SecretKey};
use cse_core::{CipherSuite, KeySize};

/// Every suite CCISE can run: integrity-only (CMAC, GMAC) and encrypting (CTR+CMAC, GCM).
pub(crate) const SUITES: [CipherSuite; 8] = CipherSuite::ALL;

fn secret(size: KeySize, byte: u8) -> SecretKey {
    let bytes: Vec<u8> = (0..size.len() as u8)
        .map(|i| byte.wrapping_add(i))
        .collect();
    SecretKey::from_slice(size, &bytes).unwrap()
}

/// A suite key whose bytes start at `byte` (and a MAC key from `byte ^ 0x80` where needed).
pub(crate) fn suite_key(suite: CipherSuite, byte: u8) -> SuiteKey {
    let size = suite.key_size();
    let mac = suite.needs_mac_key().then(|| secret(size, byte ^ 0x80));
    SuiteKey::new(suite, &secret(size, byte), mac.as_ref()).unwrap()
}

/// The session keys of the tests: to-target key from 0x00, to-controller key from 0x40, salt
/// 0xA0..0xAB.
pub(crate) fn keys(suite: CipherSuite) -> SessionKeys {
    let salt: [u8; 12] = core::array::from_fn(|i| 0xA0 + i as u8);
    SessionKeys::new(
        suite_key(suite, 0x00),
        suite_key(suite, 0x40),
        Salt::new(salt),
    )
    .unwrap()
}

/// A controller and a target of one session.
pub(crate) fn pair(suite: CipherSuite, cfg: Config) -> (Controller, Target) {
    (
        Controller::new(cfg, keys(suite)).unwrap(),
        Target::new(cfg, keys(suite)).unwrap(),
    )
}

/// A fresh demo sensor.
pub(crate) fn sensor() -> SimSensor<0x400> {
    SimSensor::demo()
}
