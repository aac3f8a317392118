//! AES-CMAC (NIST SP 800-38B), streaming, on the RustCrypto `cmac` crate.

use core::fmt;

use aes::{Aes128Enc, Aes256Enc};
use cmac::{Cmac, KeyInit, Mac};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::tag::Tag;
use crate::error::SecurityError;
use crate::keys::SecretKey;
use crate::model::{KeySize, TagLen};

/// An AES-CMAC key (AES-128 or AES-256).
///
/// Holds a keyed, empty CMAC instance that [`CmacKey::start`] copies, so each running MAC owns
/// its own state. Not `Clone`; zeroized on drop; `Debug` prints `CmacKey { .. }`.
pub struct CmacKey(CmacInner);

enum CmacInner {
    Aes128(Cmac<Aes128Enc>),
    Aes256(Cmac<Aes256Enc>),
}

impl ZeroizeOnDrop for CmacKey {}

fn init<M: KeyInit>(key: &SecretKey) -> M {
    let mut k = cmac::digest::Key::<M>::default();
    for (d, s) in k.iter_mut().zip(key.expose_secret()) {
        *d = *s;
    }
    let m = M::new(&k);
    k.as_mut_slice().zeroize();
    m
}

impl CmacKey {
    /// Expands `key` (AES-128 or AES-256 depending on its size).
    pub fn new(key: &SecretKey) -> CmacKey {
        match key.size() {
            KeySize::Aes128 => CmacKey(CmacInner::Aes128(init(key))),
            KeySize::Aes256 => CmacKey(CmacInner::Aes256(init(key))),
        }
    }

    /// Starts a running CMAC. The state owns a copy of the key schedule (no borrow).
    pub fn start(&self) -> CmacState {
        match &self.0 {
            CmacInner::Aes128(m) => CmacState(CmacInner::Aes128(m.clone())),
            CmacInner::Aes256(m) => CmacState(CmacInner::Aes256(m.clone())),
        }
    }

    /// One-shot CMAC over the concatenation of `pieces`, truncated to `tag_len`.
    pub fn mac(&self, pieces: &[&[u8]], tag_len: TagLen) -> Tag {
        let mut s = self.start();
        for p in pieces {
            s.update(p);
        }
        s.finalize(tag_len)
    }
}

impl fmt::Debug for CmacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CmacKey { .. }")
    }
}

/// A running AES-CMAC. Accepts input split anywhere. Not `Clone`; zeroized on drop.
pub struct CmacState(CmacInner);

impl ZeroizeOnDrop for CmacState {}

impl CmacState {
    /// Absorbs the next piece of the message (any length, including empty).
    pub fn update(&mut self, piece: &[u8]) {
        match &mut self.0 {
            CmacInner::Aes128(m) => m.update(piece),
            CmacInner::Aes256(m) => m.update(piece),
        }
    }

    /// The tag, truncated to `tag_len` (leftmost bytes, SP 800-38B section 6.2).
    pub fn finalize(self, tag_len: TagLen) -> Tag {
        let mut full = [0u8; 16];
        match self.0 {
            CmacInner::Aes128(m) => full.copy_from_slice(&m.finalize().into_bytes()),
            CmacInner::Aes256(m) => full.copy_from_slice(&m.finalize().into_bytes()),
        }
        Tag::from_full(full, tag_len)
    }

    /// Verifies `received` (which must be exactly `tag_len` bytes) in constant time.
    ///
    /// # Errors
    /// [`SecurityError::AuthFailed`] on any mismatch.
    pub fn verify(self, received: &[u8], tag_len: TagLen) -> Result<(), SecurityError> {
        self.finalize(tag_len).verify(received)
    }
}

impl fmt::Debug for CmacState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CmacState { .. }")
    }
}
