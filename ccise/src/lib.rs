#![doc = include_str!("../README.md")]
#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]

#[cfg(feature = "std")]
extern crate std;

mod controller;
pub mod error;
#[cfg(feature = "embedded-hal")]
pub mod hal;
mod session;
pub mod sim;
mod target;
pub mod wire;

#[doc(hidden)]
pub mod fuzzing;

pub use controller::{Controller, PendingRead, Sealed};
pub use error::{AccessError, Error, StatusCode, WireError};
#[cfg(feature = "embedded-hal")]
pub use hal::SecureCci;
pub use session::{Config, SessionKeys, SessionSecrets};
pub use sim::{Access, Region, SimSensor};
pub use target::{Accepted, FILLER, RegisterMap, Status, Target};
