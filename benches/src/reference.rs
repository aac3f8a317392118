//! The `aws-lc-rs` references of the `sep` and `fsed` benches: the cryptographic work of one
//! line and nothing else, the same for both benches.
//!
//! - AES-256-GCM: seal (or open) of a line in place, with the 48-byte [`AAD`] (about a context
//!   block and a header).
//! - AES-256-GMAC: GCM with an empty plaintext and [`AAD`] ‖ line as the AAD, so a GMAC group
//!   compares MAC with MAC ([`gmac_input`] builds the message).
//! - AES-128-CMAC: `cmac::sign` (or `cmac::verify`) of a line.
//!
//! Every function is `#[inline]`, so a reference loop in a bench costs what the `aws-lc-rs`
//! calls cost.
use std::hint::black_box;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, Tag, UnboundKey};
use aws_lc_rs::cmac;

use crate::link::{AAD, IV};

/// The reference keys: AES-256-GCM and AES-128-CMAC (fixed bench keys).
pub struct Aws {
    gcm: LessSafeKey,
    cmac: cmac::Key,
}

impl Default for Aws {
    fn default() -> Self {
        Self::new()
    }
}

impl Aws {
    /// Both keys.
    pub fn new() -> Aws {
        Aws {
            gcm: LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[0x42; 32]).expect("aws key")),
            cmac: cmac::Key::new(cmac::AES_128, &[0x42; 16]).expect("aws cmac key"),
        }
    }

    /// AES-256-GCM seal of `line` in place (AAD: [`AAD`]); the tag goes to `black_box`.
    #[inline]
    pub fn seal(&self, line: &mut [u8]) {
        let n = Nonce::assume_unique_for_key(IV);
        let tag = self
            .gcm
            .seal_in_place_separate_tag(n, Aad::from(&AAD), line);
        let _ = black_box(tag.expect("seal"));
    }

    /// `line` sealed by [`Aws::seal`] and its tag: the input of [`Aws::open`].
    pub fn sealed(&self, line: &[u8]) -> (Vec<u8>, Tag) {
        let mut ct = line.to_vec();
        let n = Nonce::assume_unique_for_key(IV);
        let tag = self
            .gcm
            .seal_in_place_separate_tag(n, Aad::from(&AAD), &mut ct);
        (ct, tag.expect("seal"))
    }

    /// AES-256-GCM open of `line` in place; panics if the tag does not verify.
    #[inline]
    pub fn open(&self, line: &mut [u8], tag: &Tag) {
        let n = Nonce::assume_unique_for_key(IV);
        let r = self
            .gcm
            .open_in_place_separate_tag(n, Aad::from(&AAD), tag.as_ref(), line);
        assert!(r.is_ok());
    }

    /// AES-256-GMAC of `msg` (a [`gmac_input`]); the tag goes to `black_box`.
    #[inline]
    pub fn gmac(&self, msg: &[u8]) {
        let _ = black_box(self.gmac_tag(msg));
    }

    /// The AES-256-GMAC tag of `msg`.
    #[inline]
    pub fn gmac_tag(&self, msg: &[u8]) -> Tag {
        let n = Nonce::assume_unique_for_key(IV);
        let tag = self
            .gcm
            .seal_in_place_separate_tag(n, Aad::from(black_box(msg)), &mut []);
        tag.expect("gmac")
    }

    /// AES-256-GMAC check of `msg` against `tag`; panics if it does not verify.
    #[inline]
    pub fn gmac_verify(&self, msg: &[u8], tag: &Tag) {
        let n = Nonce::assume_unique_for_key(IV);
        let r = self.gcm.open_in_place_separate_tag(
            n,
            Aad::from(black_box(msg)),
            tag.as_ref(),
            &mut [],
        );
        assert!(r.is_ok());
    }

    /// AES-128-CMAC of `line`; the tag goes to `black_box`.
    #[inline]
    pub fn cmac(&self, line: &[u8]) {
        black_box(self.cmac_tag(line));
    }

    /// The AES-128-CMAC tag of `line`.
    #[inline]
    pub fn cmac_tag(&self, line: &[u8]) -> cmac::Tag {
        cmac::sign(&self.cmac, black_box(line)).expect("cmac")
    }

    /// AES-128-CMAC check of `line` against `tag`; panics if it does not verify.
    #[inline]
    pub fn cmac_verify(&self, line: &[u8], tag: &cmac::Tag) {
        let r = cmac::verify(&self.cmac, black_box(line), tag.as_ref());
        assert!(r.is_ok());
    }
}

/// The message of the AES-256-GMAC reference: [`AAD`] followed by `payload`.
pub fn gmac_input(payload: &[u8]) -> Vec<u8> {
    let mut m = AAD.to_vec();
    m.extend_from_slice(payload);
    m
}

/// `n` copies of `lines` lines: one buffer per line, as a stream's packets are (so that a
/// reference reads as many distinct bytes as the path it is compared with, not one line kept
/// hot in L1).
pub fn distinct_lines(line: &[u8], lines: usize) -> Vec<Vec<u8>> {
    vec![line.to_vec(); lines]
}

impl Aws {
    /// The multi-stream CMAC reference: one thread per frame of `frames`, each an [`Aws::cmac`]
    /// of each of its lines.
    pub fn cmac_threads(&self, frames: &[Vec<Vec<u8>>]) {
        std::thread::scope(|s| {
            for f in frames {
                s.spawn(|| f.iter().for_each(|l| self.cmac(l)));
            }
        })
    }

    /// [`Aws::cmac_threads`] checking `tag` instead ([`Aws::cmac_verify`]).
    pub fn cmac_verify_threads(&self, frames: &[Vec<Vec<u8>>], tag: &cmac::Tag) {
        std::thread::scope(|s| {
            for f in frames {
                s.spawn(|| f.iter().for_each(|l| self.cmac_verify(l, tag)));
            }
        })
    }
}
