//! Functional-safety services (the CSE v1.0 FuSa services): frame-counter continuity,
//! per-frame message counters, a per-VC timeout monitor, and statistics.
//!
//! These report faults of the link (lost, duplicated or reordered frames and messages, stalled
//! virtual channels, CRC mismatches) as [`FusaError`](crate::FusaError). They are not security
//! checks: an attacker can forge a counter on an unauthenticated stream. Security findings are
//! [`SecurityError`](crate::SecurityError)s and are counted separately in [`SecurityStats`], so
//! a safety monitor never confuses the two.
//!
//! All state machines here are sans-IO: counters in, findings out, time passed in as a
//! caller-defined `u64` tick.

mod continuity;
mod stats;
mod timeout;

pub use continuity::{FrameContinuity, MessageCounter};
pub use stats::{FusaStats, SecurityStats};
pub use timeout::{MAX_VCS, TimeoutMonitor};
