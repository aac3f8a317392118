//! Errors of the SEP agents.

use cse_core::{ConfigError, FusaError, SecurityError};

use crate::wire::WireError;

/// An error of the transmitter or the receiver.
///
/// The families stay apart as in `cse_core`: [`SepError::Security`] (attacks, key limits),
/// [`SepError::Fusa`] (CRC and counter faults), [`SepError::Config`] (caller mistakes), and the
/// framing and protocol errors of this crate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SepError {
    /// A security finding: authentication failure (opaque), replay, downgrade, unknown key id,
    /// exhausted key.
    #[error(transparent)]
    Security(SecurityError),
    /// A functional-safety finding (CRC-32 or CRC-16 mismatch).
    #[error(transparent)]
    Fusa(FusaError),
    /// An invalid configuration or a caller buffer too small.
    #[error(transparent)]
    Config(ConfigError),
    /// The outer (or an original) CSI-2 packet is malformed.
    #[error("CSI-2 framing: {0}")]
    Framing(cse_core::csi2::Error),
    /// The SEP payload is malformed.
    #[error("SEP packet: {0}")]
    Wire(WireError),
    /// A scope's tag did not verify, or the scope was never closed: every packet released as
    /// [`Unverified`](crate::Unverified) in it must be discarded.
    #[error("scope failed: {0:?}")]
    ScopeFailed(crate::rx::ScopeFailure),
    /// A packet that does not fit the state of the frame (no frame open, FS inside a frame,
    /// pixel data after the bottom block, a header that contradicts the frame configuration).
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
    /// The frame's message indices (32 bits, FS = 0) would run out: the transmitter refuses the
    /// packet rather than use a packet number twice. It keeps the indices needed to close the
    /// open scopes and write FE, so the frame can always end; the next frame starts again at 0.
    #[error("message index space of the frame exhausted; end the frame")]
    MessageIndexExhausted,
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

impl From<SecurityError> for SepError {
    fn from(e: SecurityError) -> Self {
        SepError::Security(e)
    }
}

impl From<FusaError> for SepError {
    fn from(e: FusaError) -> Self {
        SepError::Fusa(e)
    }
}

impl From<ConfigError> for SepError {
    fn from(e: ConfigError) -> Self {
        SepError::Config(e)
    }
}

impl From<WireError> for SepError {
    fn from(e: WireError) -> Self {
        SepError::Wire(e)
    }
}

impl From<cse_core::csi2::Error> for SepError {
    fn from(e: cse_core::csi2::Error) -> Self {
        match e.to_fusa() {
            Some(f) => SepError::Fusa(f),
            None => SepError::Framing(e),
        }
    }
}

impl From<cse_core::agent::AgentError> for SepError {
    fn from(e: cse_core::agent::AgentError) -> Self {
        use cse_core::agent::AgentError;
        match e {
            AgentError::Config(c) => SepError::Config(c),
            AgentError::MixedKeyFamilies => SepError::MixedKeyFamilies,
            AgentError::UnexpectedPacket => SepError::UnexpectedPacket,
            _ => SepError::Internal,
        }
    }
}
