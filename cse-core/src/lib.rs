#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_auto_cfg))]

pub mod agent;
pub mod context;
pub mod crc;
pub mod crypto;
pub mod csi2;
pub mod error;
pub mod fusa;
pub mod keys;
pub mod model;
pub mod nonce;
pub mod profile;
pub mod sequence;

#[doc(hidden)]
pub mod fuzzing;

#[cfg(feature = "testing")]
#[doc(hidden)]
pub mod testing;

pub use error::{ConfigError, FusaError, SecurityError};
pub use model::{
    Block, BlockConfig, CipherSuite, Direction, FrameConfig, KeyId, KeySize, MacAlgorithm, Policy,
    Protocol, ScopeKind, SecurityVariant, SvLevel, TagLen, TagMode,
};
pub use profile::Profile;
