//! The error type of the link.

/// Why a link operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LinkError {
    /// SPDM: handshake, certificate, session or record failure.
    #[error("SPDM: {0}")]
    Spdm(#[from] spdm_lite::Error),
    /// Key derivation from the export master secret failed.
    #[error("key derivation: {0}")]
    Derive(#[from] spdm_lite::CryptoError),
    /// CCISE: a protected register transaction was refused.
    #[error("CCISE: {0}")]
    Cci(#[from] ccise::Error),
    /// The SEP transmitter refused a packet or configuration.
    #[error("SEP: {0}")]
    Sep(#[from] cse_sep::SepError),
    /// The FSED transmitter refused a packet or configuration.
    #[error("FSED: {0}")]
    Fsed(#[from] cse_fsed::FsedError),
    /// An invalid stream configuration or key.
    #[error("configuration: {0}")]
    Config(#[from] cse_core::ConfigError),
    /// An original frame that is not a valid CSI-2 packet sequence.
    #[error("CSI-2: {0}")]
    Framing(#[from] cse_core::csi2::Error),
    /// No SPDM session yet: keys cannot be derived.
    #[error("no authenticated session")]
    NotAuthenticated,
    /// The sensor's stream registers hold no valid configuration.
    #[error("stream registers hold no valid configuration")]
    NotConfigured,
    /// The configuration changes the key family (GMAC/CMAC, key size) without a rekey.
    #[error("stream configuration changes the key family of the installed key")]
    KeyFamilyChanged,
    /// The SPDM handshake did not finish within the step limit.
    #[error("SPDM handshake did not finish")]
    HandshakeStalled,
    /// A KEY_UPDATE is between its key change and the exchange that confirms the new keys:
    /// no CCISE transaction until it completes (see [`crate::key_update`]).
    #[error("a KEY_UPDATE is in progress: no CCISE transaction until it completes")]
    KeyUpdateInProgress,
    /// An SPDM response that was not the expected one.
    #[error("unexpected SPDM session response")]
    UnexpectedResponse,
    /// A responder's firmware attestation failed (the link is refused).
    #[error("attestation: {0}")]
    Attestation(#[from] crate::attest::AttestError),
    /// Not every responder of the link is authenticated and attested: no stream configuration.
    #[error("link not ready: a responder is not authenticated or not attested")]
    LinkNotReady,
    /// A generated test vector did not check out (see [`crate::vectors`]).
    #[error("vector: {0}")]
    Vector(String),
    /// The demo's capture recorder failed ([`crate::demo::run_recorded`]).
    #[error("capture: {0}")]
    Capture(String),
    /// Factory provisioning of the demo failed ([`crate::demo::factory`]).
    #[error("provisioning: {0}")]
    Provisioning(String),
}
