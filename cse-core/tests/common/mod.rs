//! Helpers shared by the crypto test files (each includes this with `mod common;` and uses
//! what it needs).
#![allow(dead_code)]

use cse_core::TagLen;
use cse_core::keys::SecretKey;
use cse_core::model::KeySize;
use proptest::prelude::*;

/// A key of the size given by the length of `bytes` (16 or 32).
pub(crate) fn key(bytes: &[u8]) -> SecretKey {
    let size = if bytes.len() == 16 {
        KeySize::Aes128
    } else {
        KeySize::Aes256
    };
    SecretKey::from_slice(size, bytes).expect("test key length")
}

/// Random AES-128 or AES-256 key bytes.
pub(crate) fn any_key() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 16),
        proptest::collection::vec(any::<u8>(), 32)
    ]
}

/// Every supported tag length, the hazmat 4 bytes included.
pub(crate) fn any_tag_len() -> impl Strategy<Value = TagLen> {
    prop_oneof![
        Just(TagLen::L16),
        Just(TagLen::L12),
        Just(TagLen::L8),
        Just(TagLen::hazmat_short_4())
    ]
}

/// Splits `msg` at the (sorted, clamped) cut points; repeated cuts give empty pieces.
pub(crate) fn split<'a>(msg: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
    let mut cuts: Vec<usize> = cuts.iter().map(|c| c % (msg.len() + 1)).collect();
    cuts.sort_unstable();
    let mut pieces = Vec::new();
    let mut prev = 0;
    for c in cuts {
        pieces.push(&msg[prev..c]);
        prev = c;
    }
    pieces.push(&msg[prev..]);
    pieces
}
