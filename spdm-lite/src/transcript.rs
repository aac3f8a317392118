//! Running transcript hashes and the SPDM 1.2 signing prefix.
//!
//! Transcripts are hashed as they grow (no buffered copy of certificate chains or messages);
//! a transcript hash at a point (TH1, TH2, the signature input) is taken by cloning the
//! running state.

use crate::crypto::{CryptoProvider, Digest, HashAlgo, HashCtx};
use crate::error::CryptoError;
use crate::msgs::Version;

/// A running transcript hash.
#[derive(Clone, Debug)]
pub struct Transcript<H: HashCtx> {
    state: H,
}

impl<H: HashCtx> Transcript<H> {
    /// An empty transcript.
    pub fn new(state: H) -> Self {
        Self { state }
    }

    /// Starts a transcript with `provider`'s hash.
    ///
    /// # Errors
    /// [`CryptoError::Unsupported`] if the provider lacks `alg`.
    pub fn start<P: CryptoProvider<Hash = H>>(
        provider: &P,
        alg: HashAlgo,
    ) -> Result<Self, CryptoError> {
        Ok(Self::new(provider.hash(alg)?))
    }

    /// Appends `data`.
    pub fn update(&mut self, data: &[u8]) {
        self.state.update(data);
    }

    /// The hash of the transcript so far; the transcript continues.
    pub fn current(&self) -> Digest {
        self.state.clone().finish()
    }

    /// The hash algorithm.
    pub fn algorithm(&self) -> HashAlgo {
        self.state.algorithm()
    }
}

/// Signing contexts of SPDM 1.2.
pub mod context {
    /// CHALLENGE_AUTH signed by the responder.
    pub const RESPONDER_CHALLENGE_AUTH: &str = "responder-challenge_auth signing";
    /// KEY_EXCHANGE_RSP signed by the responder.
    pub const RESPONDER_KEY_EXCHANGE_RSP: &str = "responder-key_exchange_rsp signing";
    /// FINISH signed by the requester (mutual authentication).
    pub const REQUESTER_FINISH: &str = "requester-finish signing";
    /// MEASUREMENTS signed by the responder (over L1/L2).
    pub const RESPONDER_MEASUREMENTS: &str = "responder-measurements signing";
}

/// Length of the combined signing prefix.
pub const SIGNING_PREFIX_LEN: usize = 100;

/// The digest an SPDM 1.2+ signature covers:
/// `Hash("dmtf-spdm-v1.2.*" ×4 ‖ zero pad ‖ context ‖ transcript_hash)`, where the zero pad
/// brings the context to 36 bytes.
///
/// # Errors
/// [`CryptoError::InvalidLength`] if `context` is longer than 36 bytes.
pub fn signing_digest<P: CryptoProvider>(
    provider: &P,
    alg: HashAlgo,
    version: Version,
    context: &str,
    transcript_hash: &Digest,
) -> Result<Digest, CryptoError> {
    let ctx = context.as_bytes();
    if ctx.len() > 36 {
        return Err(CryptoError::InvalidLength);
    }
    let mut prefix = *b"dmtf-spdm-v1.2.*";
    prefix[11] = b'0' + (version.0 >> 4);
    prefix[13] = b'0' + (version.0 & 0x0F);
    let mut h = provider.hash(alg)?;
    for _ in 0..4 {
        h.update(&prefix);
    }
    h.update(&[0u8; 36][..36 - ctx.len()]);
    h.update(ctx);
    h.update(transcript_hash.as_bytes());
    Ok(h.finish())
}
