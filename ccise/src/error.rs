//! Errors of the CCISE agents and codecs.
//!
//! [`Error`] keeps the families apart: security findings ([`SecurityError`]: forged or
//! tampered transactions, replays, exhausted keys; authentication failures are opaque), local
//! configuration mistakes ([`ConfigError`]), malformed frames ([`WireError`]) and register
//! access refusals ([`AccessError`]). The codes a target records in its status register are
//! [`StatusCode`]s.

use cse_core::{ConfigError, SecurityError};

/// A malformed frame, or a caller buffer that cannot hold one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// Shorter than the smallest frame of its kind.
    #[error("truncated transaction")]
    Truncated,
    /// Longer than its kind allows (more than 255 data bytes, or trailing bytes).
    #[error("transaction too long")]
    TooLong,
    /// A write or read of zero bytes.
    #[error("zero-length data")]
    EmptyData,
    /// A tag of a length the session does not use.
    #[error("tag length does not match the session")]
    TagLength,
    /// The caller's output buffer is too small.
    #[error("buffer too small: need {needed} bytes, have {available}")]
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
}

/// A register access the register map refuses (after the transaction authenticated).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum AccessError {
    /// No register at this address.
    #[error("register {0:#06x} is not mapped")]
    Unmapped(u16),
    /// A write touches a read-only register.
    #[error("register {0:#06x} is read-only")]
    ReadOnly(u16),
    /// A read touches a write-only register.
    #[error("register {0:#06x} is write-only")]
    WriteOnly(u16),
    /// A clear read touches a protected register (readable only with encrypted responses).
    #[error("register {0:#06x} is readable only through an encrypted read")]
    NeedsEncryption(u16),
}

/// Everything a CCISE operation can fail with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A security finding: forged, tampered, misdirected or replayed transaction, or a key at its
    /// hard usage limit ([`SecurityError::KeyExhausted`]: rekey before sending more).
    #[error(transparent)]
    Security(#[from] SecurityError),
    /// A local configuration or parameter mistake.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A malformed frame or a too-small caller buffer.
    #[error(transparent)]
    Wire(#[from] WireError),
    /// The register map refused an authenticated access; nothing was written or returned.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// A 7-bit I2C device address above 0x7F.
    #[error("device address {0:#04x} does not fit in 7 bits")]
    Address(u8),
}

impl Error {
    /// The code a target records in its status register for this error.
    pub const fn status_code(&self) -> StatusCode {
        match self {
            Error::Security(SecurityError::AuthFailed) => StatusCode::AUTH_FAILED,
            Error::Security(SecurityError::Replay { .. }) => StatusCode::REPLAY,
            Error::Security(SecurityError::KeyExhausted) => StatusCode::KEY_EXHAUSTED,
            Error::Security(_) => StatusCode::AUTH_FAILED,
            Error::Wire(_) => StatusCode::MALFORMED,
            Error::Access(_) => StatusCode::ACCESS_DENIED,
            Error::Config(_) | Error::Address(_) => StatusCode::INTERNAL,
        }
    }
}

/// The last-error code of a target's status register: an open set (unknown codes read back
/// unchanged).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct StatusCode(pub u8);

impl StatusCode {
    /// No failure since the session started.
    pub const NONE: StatusCode = StatusCode(0x00);
    /// A tag did not verify (tampered, forged, or sent to another device address).
    pub const AUTH_FAILED: StatusCode = StatusCode(0x01);
    /// A counter at or below the last accepted one (replay or reordering).
    pub const REPLAY: StatusCode = StatusCode(0x02);
    /// A frame of impossible length (truncated, too long, zero-length).
    pub const MALFORMED: StatusCode = StatusCode(0x03);
    /// An authenticated access the register map refused (read-only, write-only, unmapped,
    /// protected).
    pub const ACCESS_DENIED: StatusCode = StatusCode(0x04);
    /// The target's key reached a hard usage limit; a rekey is required.
    pub const KEY_EXHAUSTED: StatusCode = StatusCode(0x05);
    /// A local fault of the target (a configuration or address error; never produced by
    /// frame handling: a response buffer too small for the response counts as malformed, 3).
    pub const INTERNAL: StatusCode = StatusCode(0x06);
}
