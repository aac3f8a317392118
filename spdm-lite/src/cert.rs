//! SPDM certificate chains: the chain format, and the requester's validation hook.
//!
//! ```text
//! SPDM chain = Length(2, LE, whole chain) | Reserved(2) | RootHash[H] | DER certificates root..leaf
//! ```
//!
//! The responder serves its chain from a caller-provided `&[u8]` in this format and keeps no
//! copy. The requester collects the chain into a caller buffer and hands it to a
//! [`ChainVerifier`], which checks it and returns the leaf's public key. A platform implements
//! the trait (an X.509 verifier behind the `alloc` feature is planned, see the README).

use crate::codec::Writer;
use crate::crypto::{AlgorithmSet, CryptoProvider, HashAlgo, HashCtx};
use crate::error::Error;

/// Why a peer's certificate chain was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CertError {
    /// The chain is not a well-formed SPDM chain of DER certificates.
    #[error("malformed certificate chain")]
    Malformed,
    /// The chain does not fit the caller's chain buffer.
    #[error("certificate chain larger than the chain buffer")]
    TooLong,
    /// The chain's hash differs from the digest the responder announced in DIGESTS.
    #[error("certificate chain does not match its announced digest")]
    DigestMismatch,
    /// The chain's root is not the provisioned trust anchor (another root, or a root-hash
    /// field that is not the hash of the first certificate).
    #[error("certificate chain does not start at the provisioned root")]
    UntrustedRoot,
    /// A certificate's signature does not verify under its issuer's key.
    #[error("certificate signature does not verify")]
    BadSignature,
    /// A certificate's key or signature algorithm is not the negotiated one.
    #[error("certificate algorithm does not match the negotiated algorithm")]
    AlgorithmMismatch,
    /// The leaf may not sign SPDM messages (no digitalSignature key usage, or it is a CA).
    #[error("leaf certificate key usage does not allow SPDM signing")]
    LeafKeyUsage,
    /// An issuer in the chain is not a CA allowed to sign certificates.
    #[error("intermediate certificate is not a CA")]
    NotCa,
}

/// Validates a peer's certificate chain and yields its leaf key.
pub trait ChainVerifier {
    /// Checks `chain` (SPDM format, RootHash of `set.hash`) for the negotiated `set` and writes
    /// the leaf's SEC1 uncompressed public key (`04‖X‖Y`) into `leaf_key`; returns its length.
    ///
    /// # Errors
    /// A [`CertError`] saying why the chain was refused.
    fn verify_chain(
        &self,
        set: AlgorithmSet,
        chain: &[u8],
        leaf_key: &mut [u8],
    ) -> Result<usize, CertError>;
}

/// Writes an SPDM chain for the DER certificates `certs` (root first, leaf last) whose root is
/// `root` (the first certificate's DER) into `out`; returns its length.
///
/// # Errors
/// [`Error::Encode`] if `out` is too small or the chain exceeds 65535 bytes.
pub fn encode_spdm_chain<P: CryptoProvider>(
    provider: &P,
    hash: HashAlgo,
    root: &[u8],
    certs: &[u8],
    out: &mut [u8],
) -> Result<usize, Error> {
    let mut h = provider.hash(hash)?;
    h.update(root);
    let rh = h.finish();
    let mut w = Writer::new(out);
    crate::msgs::certificate::CertChain::emit_header(&mut w, rh.as_bytes(), certs.len())?;
    w.put(certs)?;
    Ok(w.len())
}
