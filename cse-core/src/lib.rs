#![doc = include_str!("../README.md")]
#![no_std]
// `deny`, not `forbid`: the one SIMD module `crypto::simd` (x86_64 PCLMULQDQ GHASH) needs `core::arch` intrinsics and opts in with `#[allow(unsafe_code)]`; every
// other module is `#[forbid(unsafe_code)]` below and in `crypto`.
#![deny(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[forbid(unsafe_code)]
pub mod agent;
#[forbid(unsafe_code)]
pub mod context;
#[forbid(unsafe_code)]
pub mod crc;
pub mod crypto;
#[forbid(unsafe_code)]
pub mod csi2;
#[forbid(unsafe_code)]
pub mod error;
#[forbid(unsafe_code)]
pub mod fusa;
#[forbid(unsafe_code)]
pub mod keys;
#[forbid(unsafe_code)]
pub mod model;
#[forbid(unsafe_code)]
pub mod nonce;
#[forbid(unsafe_code)]
pub mod profile;
#[forbid(unsafe_code)]
pub mod rx;
#[forbid(unsafe_code)]
pub mod sequence;

#[doc(hidden)]
#[forbid(unsafe_code)]
pub mod fuzzing;

#[cfg(feature = "testing")]
#[doc(hidden)]
#[forbid(unsafe_code)]
pub mod testing;

pub use error::{ConfigError, FusaError, SecurityError};
pub use model::{
    Block, BlockConfig, CipherSuite, Direction, FrameConfig, KeyId, KeySize, MacAlgorithm, Policy,
    Protocol, ScopeKind, SecurityVariant, SvLevel, TagLen, TagMode,
};
pub use profile::Profile;
