//! Certificate-chain verification on the ECU side.
//!
//! [`RootPinned`] is an interim verifier: it checks that the chain's root certificate is the
//! provisioned trust anchor (byte for byte, and the SPDM RootHash field against the hash of that
//! anchor) and extracts the leaf's public key. It does **not** check the signatures up the
//! chain or the leaf's key usage; `spdm-lite`'s X.509 verifier does, and replaces it as soon as
//! it lands (one line in [`crate::demo`]). A certificate from another root is refused either
//! way.

use der::Decode;
use spdm_lite::cert::{CertError, ChainVerifier};
use spdm_lite::crypto::{AlgorithmSet, CryptoProvider, HashCtx, RustCrypto};

/// Accepts chains whose root is `root` (DER); see the module documentation for its limits.
#[derive(Debug)]
pub struct RootPinned {
    root: Vec<u8>,
}

impl RootPinned {
    /// A verifier trusting the root certificate `root_der`.
    pub fn new(root_der: &[u8]) -> Self {
        RootPinned {
            root: root_der.to_vec(),
        }
    }
}

/// Splits concatenated DER certificates (each `30 82 len len ...`).
fn split(mut rest: &[u8]) -> Result<Vec<&[u8]>, CertError> {
    let mut certs = Vec::new();
    while !rest.is_empty() {
        if rest.len() < 4 || rest[0] != 0x30 || rest[1] != 0x82 {
            return Err(CertError::Malformed);
        }
        let len = 4 + usize::from(u16::from_be_bytes([rest[2], rest[3]]));
        let (c, r) = rest.split_at_checked(len).ok_or(CertError::Malformed)?;
        certs.push(c);
        rest = r;
    }
    Ok(certs)
}

impl ChainVerifier for RootPinned {
    fn verify_chain(
        &self,
        set: AlgorithmSet,
        chain: &[u8],
        leaf_key: &mut [u8],
    ) -> Result<usize, CertError> {
        let h = set.hash.len();
        let root_hash = chain.get(4..4 + h).ok_or(CertError::Malformed)?;
        let certs = split(chain.get(4 + h..).ok_or(CertError::Malformed)?)?;
        let mut ctx = RustCrypto
            .hash(set.hash)
            .map_err(|_| CertError::AlgorithmMismatch)?;
        ctx.update(&self.root);
        let expected = ctx.finish();
        let first = certs.first().ok_or(CertError::Malformed)?;
        if root_hash != expected.as_bytes() || *first != self.root.as_slice() {
            return Err(CertError::UntrustedRoot);
        }
        let leaf = certs.last().ok_or(CertError::Malformed)?;
        let cert = x509_cert::Certificate::from_der(leaf).map_err(|_| CertError::Malformed)?;
        let pk = cert
            .tbs_certificate()
            .subject_public_key_info()
            .subject_public_key
            .as_bytes()
            .ok_or(CertError::Malformed)?;
        leaf_key
            .get_mut(..pk.len())
            .ok_or(CertError::TooLong)?
            .copy_from_slice(pk);
        Ok(pk.len())
    }
}
