//! Errors of the FSED agents.

use cse_core::{ConfigError, FusaError, SecurityError};

use crate::wire::WireError;

/// An error of the transmitter or the receiver.
///
/// The families stay apart as in `cse_core`: [`FsedError::Security`] (attacks, key limits),
/// [`FsedError::Fusa`] (CRC and counter faults), [`FsedError::Config`] (caller mistakes), and
/// the framing and protocol errors of this crate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FsedError {
    /// A security finding: replay, downgrade, unknown key id, exhausted key.
    #[error(transparent)]
    Security(SecurityError),
    /// A functional-safety finding (CRC-32 or CRC-16 mismatch).
    #[error(transparent)]
    Fusa(FusaError),
    /// An invalid configuration, a caller buffer too small, a packet of another virtual
    /// channel.
    #[error(transparent)]
    Config(ConfigError),
    /// A CSI-2 packet is malformed.
    #[error("CSI-2 framing: {0}")]
    Framing(cse_core::csi2::Error),
    /// An FSED payload is malformed.
    #[error("FSED packet: {0}")]
    Wire(WireError),
    /// A scope's tag record did not verify (tag, covered counts, position), or the scope was
    /// never closed: every packet released as [`Unverified`](crate::Unverified) in it must be
    /// discarded. Deliberately says nothing about which check failed.
    #[error("scope failed: {0:?}")]
    ScopeFailed(crate::rx::ScopeFailure),
    /// A packet that does not fit the state of the frame (no frame open, no frame header after
    /// FS, pixel data after the bottom block, a record for a scope that is not open, FS/FE
    /// whose frame number contradicts the frame header).
    #[error("packet does not fit the frame state")]
    UnexpectedPacket,
    /// More than [`MAX_OPEN_SCOPES`](crate::MAX_OPEN_SCOPES) scopes open in one block.
    #[error("too many open scopes")]
    TooManyScopes,
    /// A frame configuration mixes GMAC- and CMAC-family suites or key sizes, or asks a key
    /// for the other MAC algorithm than the one it served first (a key is pinned to one MAC
    /// algorithm for its whole life).
    #[error(
        "frame mixes key families (GMAC/CMAC) or key sizes, or the key is pinned to the other MAC algorithm"
    )]
    MixedKeyFamilies,
    /// The frame's message indices (32 bits, FS = 0) ran out: the transmitter refuses the
    /// original packet rather than use a packet number twice (the last original packet of a
    /// frame has index `u32::MAX - 1`, since tag records carry the index after it). End the
    /// frame: FE takes no index; the next frame starts again at 0.
    #[error("message index space of the frame exhausted; end the frame")]
    MessageIndexExhausted,
    /// A protected block asks for per-message tags, which FSED does not offer (use SEP).
    #[error("FSED supports per-data-type and per-frame tags only")]
    PerMessageUnsupported,
    /// No frame configuration or no active key for a new frame.
    #[error("no frame configuration or key installed")]
    NotConfigured,
    /// A decryption proof or ticket that does not match (other scope, other frame).
    #[error("proof of verification does not cover this packet")]
    ProofMismatch,
    /// An internal invariant failed (a bug); reported instead of panicking.
    #[error("internal error")]
    Internal,
}

impl From<SecurityError> for FsedError {
    fn from(e: SecurityError) -> Self {
        FsedError::Security(e)
    }
}

impl From<FusaError> for FsedError {
    fn from(e: FusaError) -> Self {
        FsedError::Fusa(e)
    }
}

impl From<ConfigError> for FsedError {
    fn from(e: ConfigError) -> Self {
        FsedError::Config(e)
    }
}

impl From<WireError> for FsedError {
    fn from(e: WireError) -> Self {
        FsedError::Wire(e)
    }
}

impl From<cse_core::csi2::Error> for FsedError {
    fn from(e: cse_core::csi2::Error) -> Self {
        match e.to_fusa() {
            Some(f) => FsedError::Fusa(f),
            None => FsedError::Framing(e),
        }
    }
}

impl From<cse_core::agent::AgentError> for FsedError {
    fn from(e: cse_core::agent::AgentError) -> Self {
        use cse_core::agent::AgentError;
        match e {
            AgentError::Config(c) => FsedError::Config(c),
            AgentError::MixedKeyFamilies => FsedError::MixedKeyFamilies,
            AgentError::UnexpectedPacket => FsedError::UnexpectedPacket,
            _ => FsedError::Internal,
        }
    }
}
