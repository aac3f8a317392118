#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![doc = include_str!("../README.md")]

// Only the fuzzing helpers allocate themselves (`x509` allocates inside `x509-cert`).
#[cfg(all(feature = "alloc", feature = "set-a", feature = "set-b"))]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod cert;
pub mod codec;
pub mod crypto;
#[cfg(feature = "std")]
pub mod emu;
pub mod error;
pub mod export;
#[cfg(all(feature = "alloc", feature = "set-a", feature = "set-b"))]
#[doc(hidden)]
pub mod fuzzing;
pub mod key_schedule;
pub mod measurements;
pub mod msgs;
pub mod mut_auth;
#[cfg(feature = "provisioning")]
pub mod provisioning;
pub mod record;
pub mod requester;
pub mod responder;
pub mod session;
pub mod transcript;
#[cfg(feature = "alloc")]
pub mod x509;

pub use error::{CryptoError, EncodeError, Error, InvalidMessage};
