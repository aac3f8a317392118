//! SPDM certificate chains: the chain format, and the requester's validation hook.
//!
//! ```text
//! SPDM chain = Length(2, LE, whole chain) | Reserved(2) | RootHash[H] | DER certificates root..leaf
//! ```
//!
//! The responder serves its chain from a caller-provided `&[u8]` in this format and keeps no
//! copy. The requester collects the chain into a caller buffer and hands it to a
//! [`ChainVerifier`], which checks it and returns the leaf's public key. With the `alloc`
//! feature, `x509::X509Verifier` implements the trait (the requester, i.e. the ECU,
//! needs an allocator for it because `x509-cert` does; the responder never needs one).

use crate::codec::Writer;
use crate::crypto::{AlgorithmSet, CryptoProvider, HashAlgo, HashCtx};
use crate::error::Error;
use crate::session::Role;

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
    /// A certificate's issuer name is not its predecessor's subject name.
    #[error("certificate issuer does not match the previous certificate's subject")]
    IssuerMismatch,
    /// More intermediate CA certificates follow a CA than its `pathLenConstraint` allows.
    #[error("certificate chain exceeds a CA's path length constraint")]
    PathLength,
    /// The leaf's extended key usage does not name the SPDM role it is validated for (for
    /// example a requester-only certificate presented as a responder identity).
    #[error("leaf certificate extended key usage does not allow this SPDM role")]
    LeafExtendedKeyUsage,
    /// A certificate carries an extension marked critical that the validator does not process
    /// (RFC 5280 section 4.2).
    #[error("certificate has an unsupported critical extension")]
    UnsupportedCriticalExtension,
    /// The trusted time is before a certificate's `notBefore`.
    #[error("certificate not yet valid")]
    NotYetValid,
    /// The trusted time is after a certificate's `notAfter`.
    #[error("certificate expired")]
    Expired,
    /// The leaf's public key is not the expected one (a chain offered to a responder for
    /// installation must certify the device's own key).
    #[error("leaf public key is not the expected key")]
    LeafKeyMismatch,
}

/// Validates a peer's certificate chain and yields its leaf key.
pub trait ChainVerifier {
    /// Checks `chain` (SPDM format, RootHash of `set.hash`) for the negotiated `set` as the
    /// identity of a peer acting as `role` (the requester passes [`Role::Responder`] for the
    /// responder's chain) and writes the leaf's SEC1 uncompressed public key (`04‖X‖Y`) into
    /// `leaf_key`; returns its length. `leaf_key` is written only when the chain is accepted.
    ///
    /// # Errors
    /// A [`CertError`] saying why the chain was refused.
    fn verify_chain(
        &self,
        set: AlgorithmSet,
        role: Role,
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

/// Splits concatenated DER certificates (`SEQUENCE` TLVs, definite lengths) without
/// allocating. Yields each certificate's complete TLV; a malformed header yields
/// [`CertError::Malformed`] once and ends the iteration.
#[derive(Clone, Debug)]
pub struct DerCertificates<'a> {
    rest: &'a [u8],
}

impl<'a> DerCertificates<'a> {
    /// Iterates over the certificates in `der` (for an SPDM chain, pass the part after the
    /// root hash).
    pub fn new(der: &'a [u8]) -> Self {
        Self { rest: der }
    }
}

/// The total length (header + content) of the DER TLV at the start of `b`.
pub(crate) fn der_tlv_len(b: &[u8]) -> Option<usize> {
    let first = *b.get(1)?;
    let (hdr, len) = if first < 0x80 {
        (2, usize::from(first))
    } else {
        let n = usize::from(first & 0x7F);
        if n == 0 || n > 3 {
            return None;
        }
        let bytes = b.get(2..2 + n)?;
        let len = bytes
            .iter()
            .fold(0usize, |acc, &x| (acc << 8) | usize::from(x));
        (2 + n, len)
    };
    let total = hdr.checked_add(len)?;
    (total <= b.len()).then_some(total)
}

impl<'a> Iterator for DerCertificates<'a> {
    type Item = Result<&'a [u8], CertError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let parsed = match self.rest.first() {
            Some(0x30) => der_tlv_len(self.rest),
            _ => None,
        };
        match parsed.and_then(|n| self.rest.split_at_checked(n)) {
            Some((cert, rest)) => {
                self.rest = rest;
                Some(Ok(cert))
            }
            None => {
                self.rest = &[];
                Some(Err(CertError::Malformed))
            }
        }
    }
}
