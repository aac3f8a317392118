#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(any(feature = "std", test))]
extern crate std;

#[cfg(feature = "bytes")]
extern crate alloc;

mod agent;
mod error;
pub mod rx;
pub mod tx;
pub mod wire;

// Built for the crate's own unit tests too, so `cargo test -p` runs the oracles.
#[cfg(any(feature = "std", test))]
#[doc(hidden)]
pub mod fuzzing;

pub use agent::{KeyMaterial, MAX_OPEN_SCOPES, Settings};
pub use error::SepError;
pub use rx::{
    BATCH_LINES, DecryptTicket, Delivery, Event, PacketInfo, ProtocolStats, Receiver, ScopeFailure,
    ScopeId, ScopeProof, Unprotected, Unverified, Verified,
};
pub use tx::{Protected, Transmitter};
