//! Outsider round 4 (black box): SET_CERTIFICATE on a factory-mode responder fed forged
//! chains (every certificate byte region flipped, cut, a byte appended after the chain, the
//! chain of another key, slot 1, reserved Param bits) and malformed GET_CSR. Each is refused
//! with the documented ERROR, nothing is stored (the provider's `store_chain` is never
//! called), DIGESTS still announces no slot, and the genuine SET_CERTIFICATE afterwards is
//! accepted and stores exactly the genuine chain, once.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)]

use std::cell::RefCell;
use std::rc::Rc;

use spdm_lite::cert::{CertError, encode_spdm_chain};
use spdm_lite::crypto::{
    AlgorithmSet, AsymAlgo, EcdsaSigningKey, RandomSource, RustCrypto, Signer,
};
use spdm_lite::error::CryptoError;
use spdm_lite::provisioning::{
    Provisioner, ProvisionerConfig, ProvisioningPolicy, ProvisioningProvider, StorageError,
};
use spdm_lite::responder::{Responder, ResponderConfig};

struct XorShift(u64);

impl RandomSource for XorShift {
    fn fill(&mut self, out: &mut [u8]) -> Result<(), CryptoError> {
        for b in out {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            *b = self.0 as u8;
        }
        Ok(())
    }
}

/// Every `store_chain` call: (slot, chain).
type Log = Rc<RefCell<Vec<(u8, Vec<u8>)>>>;

struct Device<'k> {
    key: &'k EcdsaSigningKey,
    root: &'static [u8],
    slot0: Option<Vec<u8>>,
    log: Log,
}

impl ProvisioningProvider for Device<'_> {
    fn algorithm(&self) -> AsymAlgo {
        self.key.algorithm()
    }
    fn device_public_key(&self, out: &mut [u8]) -> Result<usize, CryptoError> {
        self.key.public_key_sec1(out)
    }
    fn sign_prehash(&self, prehash: &[u8], out: &mut [u8]) -> Result<usize, CryptoError> {
        self.key.sign_prehash(prehash, out)
    }
    fn subject(&self) -> &[u8] {
        // SEQUENCE { SET { SEQUENCE { OID 2.5.4.3, UTF8String "cam" } } }
        &[
            0x30, 0x0E, 0x31, 0x0C, 0x30, 0x0A, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0C, 0x03, b'c',
            b'a', b'm',
        ]
    }
    fn factory_mode(&self) -> bool {
        self.slot0.is_none()
    }
    fn policy(&self) -> ProvisioningPolicy {
        ProvisioningPolicy::FACTORY
    }
    fn trusted_root(&self) -> Option<&[u8]> {
        Some(self.root)
    }
    fn slot_chain(&self, slot: u8) -> Option<&[u8]> {
        (slot == 0).then_some(self.slot0.as_deref()).flatten()
    }
    fn store_chain(&mut self, slot: u8, chain: &[u8]) -> Result<(), StorageError> {
        self.log.borrow_mut().push((slot, chain.to_vec()));
        if slot == 0 {
            self.slot0 = Some(chain.to_vec());
        }
        Ok(())
    }
    fn check_chain(&self, _set: AlgorithmSet, _chain: &[u8]) -> Result<(), CertError> {
        Ok(())
    }
}

fn spdm_chain(set: AlgorithmSet, root: &[u8], certs: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; certs.len() + 64];
    let n = encode_spdm_chain(&RustCrypto, set.hash, root, certs, &mut out).unwrap();
    out.truncate(n);
    out
}

fn error_code(a: &[u8]) -> Option<u8> {
    (a.len() >= 5 && a[0] == 0x05 && a[2] == 0x7F).then(|| a[3])
}

#[test]
fn forged_set_certificate_stores_nothing_then_genuine_is_stored_once() {
    for set_b in [false, true] {
        let (set, dir_certs, root, key, other): (_, &[u8], &'static [u8], &[u8], &[u8]) = if set_b {
            (
                AlgorithmSet::SET_B,
                include_bytes!("pki/p384/chain.der"),
                include_bytes!("pki/p384/root.cert.der"),
                include_bytes!("pki/p384/leaf.key.der"),
                include_bytes!("pki/p384/other_chain.der"),
            )
        } else {
            (
                AlgorithmSet::SET_A,
                include_bytes!("pki/p256/chain.der"),
                include_bytes!("pki/p256/root.cert.der"),
                include_bytes!("pki/p256/leaf.key.der"),
                include_bytes!("pki/p256/other_chain.der"),
            )
        };
        let key = EcdsaSigningKey::from_sec1_der(set.asym, key).unwrap();
        let good = spdm_chain(set, root, dir_certs);
        let log: Log = Rc::default();
        let mut dev = Device {
            key: &key,
            root,
            slot0: None,
            log: log.clone(),
        };
        let mut rng = XorShift(0x1234_5678);
        let mut rsp = Responder::with_provisioning(
            RustCrypto,
            &key,
            &mut rng,
            ResponderConfig {
                algorithms: set,
                cert_chain: &[],
                psk: None,
                handshake_in_the_clear: false,
                data_transfer_size: 8192,
            },
            &mut dev,
        )
        .unwrap();
        let sets = [set];
        let mut prov = Provisioner::new(ProvisionerConfig {
            algorithms: &sets,
            data_transfer_size: 8192,
        })
        .unwrap();
        let mut out = vec![0u8; 8192];
        while !prov.is_ready() {
            let mut m = vec![0u8; 512];
            let n = prov.write_request(&mut m).unwrap();
            let k = rsp.handle(&mut m[..n], &mut out).unwrap();
            prov.handle_response(&out[..k]).unwrap();
        }
        let mut send = |m: &[u8]| -> Vec<u8> {
            let mut o = vec![0u8; 8192];
            let k = rsp.handle(&mut m.to_vec(), &mut o).unwrap();
            o.truncate(k);
            o
        };
        let digests = |send: &mut dyn FnMut(&[u8]) -> Vec<u8>| send(&[0x05, 0x12, 0x81, 0, 0]);
        let empty_digests = digests(&mut send);
        assert_eq!(empty_digests[3..5], [0, 0], "unprovisioned: no slot");
        // The genuine SET_CERTIFICATE bytes (the provisioner writes them; not sent yet).
        let mut genuine = vec![0u8; 8192];
        let n = prov.write_set_certificate(0, &good, &mut genuine).unwrap();
        genuine.truncate(n);
        let header = genuine.len() - good.len();
        let mut forged: Vec<(String, Vec<u8>, u8)> = Vec::new();
        // Flip a byte in each 64-byte stretch of the chain (SPDM header reserved bytes
        // excepted): Unspecified (refused chain) or InvalidRequest (bad lengths).
        for i in (0..good.len()).step_by(61).filter(|i| !(2..4).contains(i)) {
            let mut x = genuine.clone();
            x[header + i] ^= 0x01;
            forged.push((format!("flip {i}"), x, 0));
        }
        for cut in [1, 2, 100, good.len() / 2] {
            forged.push((
                format!("cut {cut}"),
                genuine[..genuine.len() - cut].to_vec(),
                0,
            ));
        }
        let mut x = genuine.clone();
        x.push(0);
        forged.push(("byte appended".into(), x, 0x01));
        let other = spdm_chain(set, root, other);
        let mut x = genuine[..header].to_vec();
        x.extend_from_slice(&other);
        forged.push(("chain of another key".into(), x, 0));
        let mut x = genuine.clone();
        x[3] = (x[3] & 0xF0) | 1;
        forged.push(("slot 1".into(), x, 0x01));
        let mut x = genuine.clone();
        x[3] |= 0x70;
        forged.push(("reserved Param1 bits".into(), x, 0x01));
        // Malformed GET_CSR: cut, and lengths that point past the end.
        forged.push(("GET_CSR cut".into(), vec![0x05, 0x12, 0xED, 0, 0, 0], 0x01));
        forged.push((
            "GET_CSR lengths past end".into(),
            vec![0x05, 0x12, 0xED, 0, 0, 0, 0x10, 0, 0x10, 0],
            0x01,
        ));
        for (what, f, want) in &forged {
            let a = send(f);
            let code = error_code(&a).unwrap_or_else(|| panic!("set_b={set_b} {what}: {a:02x?}"));
            if *want != 0 {
                assert_eq!(code, *want, "set_b={set_b} {what}");
            } else {
                assert!(
                    matches!(code, 0x01 | 0x05),
                    "set_b={set_b} {what}: code {code:#x}"
                );
            }
            assert!(log.borrow().is_empty(), "set_b={set_b} {what}: stored");
            assert_eq!(digests(&mut send), empty_digests, "set_b={set_b} {what}");
        }
        let a = send(&genuine);
        assert_eq!(a[2], 0x6E, "set_b={set_b}: genuine refused: {a:02x?}");
        assert_eq!(*log.borrow(), vec![(0u8, good.clone())]);
        // Locked now (factory mode over): the genuine one again is refused, nothing stored.
        let a = send(&genuine);
        assert!(
            error_code(&a).is_some(),
            "set_b={set_b}: second SET accepted"
        );
        assert_eq!(log.borrow().len(), 1);
    }
}
