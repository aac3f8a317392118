//! Session mutual authentication (SPDM 1.2): what the responder requires of the requester, and
//! the requester's own identity.
//!
//! The responder asks for mutual authentication in KEY_EXCHANGE_RSP (`MutAuthRequested`) when
//! it has a [`MutAuthPolicy`] and the requester advertised `MUT_AUTH_CAP`; the requester then
//! signs FINISH (context `"requester-finish signing"`) over
//! `Hash(A ‖ Hash(Ct) ‖ K ‖ Hash(Cm) ‖ FINISH header)`, where `Cm` is its certificate chain (SPDM
//! format) or, for a provisioned public key, that key's DER SubjectPublicKeyInfo. `Hash(Cm)`
//! stays in the transcript (RequesterVerifyData and TH2 include it); the encapsulated
//! GET_DIGESTS / GET_CERTIFICATE exchanges do not enter it.
//!
//! Three modes ([`MutAuthMode`]):
//! - **provisioned public key** (`MutAuthRequested = 0x01`, `ReqSlotIDParam = 0xF`, FINISH
//!   `Param2 = 0xFF`): the responder holds the requester's key; no certificate at all;
//! - **provisioned chain hash** (`0x01`, slot 0): the responder holds `Hash(chain)` and the
//!   leaf key; the requester's chain is bound into the transcript without being sent or parsed;
//! - **certificate** (`0x02`, encapsulated request flow): the responder fetches the chain with
//!   encapsulated GET_DIGESTS and GET_CERTIFICATE into a caller buffer and validates it with a
//!   [`ChainVerifier`] for the requester role (for the X.509 verifier, with
//!   `ValidationOptions::strict_eku` to require the SPDM requester-auth EKU).
//!
//! The first two need no X.509 parsing and no allocator.

use crate::cert::ChainVerifier;
use crate::crypto::{AsymAlgo, Signer};

/// `MutAuthRequested` value: mutual authentication without encapsulated request.
pub const MUT_AUTH_REQUESTED: u8 = 0x01;
/// `MutAuthRequested` value: mutual authentication with the encapsulated request flow.
pub const MUT_AUTH_REQUESTED_WITH_ENCAP: u8 = 0x02;
/// `ReqSlotIDParam` naming the requester's provisioned public key.
pub const PROVISIONED_KEY_SLOT_PARAM: u8 = 0x0F;
/// FINISH `Param2` (ReqSlotID) for a signature with the provisioned public key.
pub const PROVISIONED_KEY_SLOT: u8 = 0xFF;

/// How the responder learns and checks the requester's identity.
pub enum MutAuthMode<'a> {
    /// A provisioned public key (DER SubjectPublicKeyInfo of a P-256 or P-384 key).
    PublicKey {
        /// The requester's key, DER SubjectPublicKeyInfo (also `Cm`).
        spki: &'a [u8],
    },
    /// A provisioned hash of the requester's slot-0 certificate chain (SPDM format), with the
    /// key of its leaf.
    ChainHash {
        /// `Hash(chain)` under the negotiated hash (H bytes).
        chain_hash: &'a [u8],
        /// The leaf's key, DER SubjectPublicKeyInfo.
        spki: &'a [u8],
    },
    /// The chain fetched with encapsulated requests and validated by `verifier` (needs feature
    /// `encap`, a default; without it a responder with this policy treats every requester as
    /// unable to authenticate).
    Certificate {
        /// Validates the requester's chain (role [`Role::Requester`](crate::session::Role))
        /// and yields its leaf key.
        verifier: &'a dyn ChainVerifier,
        /// Where the chain is collected (no allocation; the chain must fit).
        chain_buf: &'a mut [u8],
    },
}

impl core::fmt::Debug for MutAuthMode<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::PublicKey { .. } => "PublicKey",
            Self::ChainHash { .. } => "ChainHash",
            Self::Certificate { .. } => "Certificate",
        })
    }
}

/// The responder's mutual-authentication policy.
#[derive(Debug)]
pub struct MutAuthPolicy<'a> {
    /// How the requester is authenticated.
    pub mode: MutAuthMode<'a>,
    /// Refuse KEY_EXCHANGE (ERROR Unspecified) from a requester that cannot authenticate
    /// (no `MUT_AUTH_CAP`, no usable requester algorithm, or no `ENCAP_CAP` for the
    /// certificate mode). Without it such a requester gets a session whose
    /// [`RequesterAuth`](crate::session::RequesterAuth) is `None`.
    pub mandatory: bool,
}

/// The requester's identity for mutual authentication.
pub struct RequesterIdentity<'a> {
    /// Signs FINISH; its algorithm is offered as ReqBaseAsymAlg.
    pub signer: &'a dyn Signer,
    /// The slot-0 certificate chain in SPDM format (RootHash of the hash the responder will
    /// choose), served to encapsulated GET_DIGESTS / GET_CERTIFICATE.
    pub cert_chain: &'a [u8],
    /// The signer's public key as DER SubjectPublicKeyInfo, for a responder that names the
    /// provisioned key (`ReqSlotIDParam = 0xF`); `None` refuses that mode.
    pub public_key: Option<&'a [u8]>,
}

impl core::fmt::Debug for RequesterIdentity<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("RequesterIdentity")
            .field("algorithm", &self.signer.algorithm())
            .field("chain_len", &self.cert_chain.len())
            .finish_non_exhaustive()
    }
}

/// DER SubjectPublicKeyInfo of an uncompressed P-256 key, up to the point.
const SPKI_P256: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];
/// DER SubjectPublicKeyInfo of an uncompressed P-384 key, up to the point.
const SPKI_P384: [u8; 23] = [
    0x30, 0x76, 0x30, 0x10, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x05, 0x2b,
    0x81, 0x04, 0x00, 0x22, 0x03, 0x62, 0x00,
];

/// The SEC1 point (`04‖X‖Y`) of a DER SubjectPublicKeyInfo of an uncompressed `alg` key, by
/// comparing against the one fixed encoding (no DER parser); `None` for anything else.
pub fn spki_ec_point(alg: AsymAlgo, spki: &[u8]) -> Option<&[u8]> {
    let (prefix, point_len): (&[u8], usize) = match alg {
        AsymAlgo::EcdsaP256 => (&SPKI_P256, 65),
        AsymAlgo::EcdsaP384 => (&SPKI_P384, 97),
    };
    let point = spki.strip_prefix(prefix)?;
    (point.len() == point_len && point.first() == Some(&0x04)).then_some(point)
}

/// Writes the DER SubjectPublicKeyInfo of the SEC1 point `point` (`04‖X‖Y`) into `out`;
/// returns its length (91 for P-256, 120 for P-384), `None` if the point or `out` do not fit.
pub fn spki_from_point(alg: AsymAlgo, point: &[u8], out: &mut [u8]) -> Option<usize> {
    let (prefix, point_len): (&[u8], usize) = match alg {
        AsymAlgo::EcdsaP256 => (&SPKI_P256, 65),
        AsymAlgo::EcdsaP384 => (&SPKI_P384, 97),
    };
    if point.len() != point_len || point.first() != Some(&0x04) {
        return None;
    }
    let n = prefix.len() + point_len;
    let dst = out.get_mut(..n)?;
    dst[..prefix.len()].copy_from_slice(prefix);
    dst[prefix.len()..].copy_from_slice(point);
    Some(n)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn spki_round_trip_and_refusals() {
        for (alg, len) in [(AsymAlgo::EcdsaP256, 65), (AsymAlgo::EcdsaP384, 97)] {
            let mut point = [7u8; 97];
            point[0] = 4;
            let mut spki = [0u8; 128];
            let n = spki_from_point(alg, &point[..len], &mut spki).unwrap();
            assert_eq!(spki_ec_point(alg, &spki[..n]), Some(&point[..len]));
            // The other curve's prefix, a truncated key, a compressed point.
            let other = match alg {
                AsymAlgo::EcdsaP256 => AsymAlgo::EcdsaP384,
                AsymAlgo::EcdsaP384 => AsymAlgo::EcdsaP256,
            };
            assert_eq!(spki_ec_point(other, &spki[..n]), None);
            assert_eq!(spki_ec_point(alg, &spki[..n - 1]), None);
            spki[n - len] = 2;
            assert_eq!(spki_ec_point(alg, &spki[..n]), None);
        }
    }
}
