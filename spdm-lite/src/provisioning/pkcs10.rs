//! The PKCS#10 `CertificationRequest` (RFC 2986) the responder answers GET_CSR with, encoded
//! by hand into the response buffer (no allocator).
//!
//! ```text
//! CertificationRequest ::= SEQUENCE {
//!   certificationRequestInfo SEQUENCE {
//!     version INTEGER 0, subject Name,
//!     subjectPKInfo SEQUENCE { SEQUENCE { id-ecPublicKey, secp256r1 | secp384r1 }, BIT STRING 04‖X‖Y },
//!     attributes [0] IMPLICIT SET OF Attribute },
//!   signatureAlgorithm SEQUENCE { ecdsa-with-SHA256 | ecdsa-with-SHA384 },
//!   signature BIT STRING (DER ECDSA-Sig-Value) }
//! ```

use super::ProvisioningProvider;
use super::der::{self, CTX0, INTEGER, SEQUENCE};
use crate::codec::Writer;
use crate::crypto::{AlgorithmSet, AsymAlgo, CryptoProvider, HashCtx, MAX_SIGNATURE_LEN};
use crate::error::{EncodeError, InvalidMessage};

/// The parts of a GET_CSR RequesterInfo the CSR uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct RequesterInfo<'a> {
    /// The requester's subject `Name` (whole TLV), if it is not empty.
    pub subject: Option<&'a [u8]>,
    /// The content of the `[0]` attributes (the DER `Attribute`s, back to back).
    pub attributes: &'a [u8],
}

/// Parses a GET_CSR RequesterInfo: empty, or exactly one DER `CertificationRequestInfo`
/// (`SEQUENCE { INTEGER 0, Name, SubjectPublicKeyInfo, [0] Attributes }`, each attribute a
/// `SEQUENCE`).
///
/// # Errors
/// [`InvalidMessage::InvalidField`] for anything else.
pub fn parse_requester_info(bytes: &[u8]) -> Result<RequesterInfo<'_>, InvalidMessage> {
    if bytes.is_empty() {
        return Ok(RequesterInfo::default());
    }
    let bad = InvalidMessage::InvalidField;
    let (cri, rest) = der::expect(bytes, SEQUENCE).ok_or(bad)?;
    if !rest.is_empty() {
        return Err(bad);
    }
    let (version, rest) = der::expect(cri.content, INTEGER).ok_or(bad)?;
    if version.content != [0] {
        return Err(bad);
    }
    let (name, rest) = der::expect(rest, SEQUENCE).ok_or(bad)?;
    // Each RDN of the Name is a SET.
    let mut rdns = name.content;
    while !rdns.is_empty() {
        rdns = der::expect(rdns, der::SET).ok_or(bad)?.1;
    }
    let (_spki, rest) = der::expect(rest, SEQUENCE).ok_or(bad)?;
    let (attrs, rest) = der::expect(rest, CTX0).ok_or(bad)?;
    if !rest.is_empty() {
        return Err(bad);
    }
    let mut a = attrs.content;
    while !a.is_empty() {
        a = der::expect(a, SEQUENCE).ok_or(bad)?.1;
    }
    Ok(RequesterInfo {
        subject: (!name.content.is_empty()).then_some(name.whole),
        attributes: attrs.content,
    })
}

/// Why a CSR could not be built.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CsrFail {
    /// The output buffer is too small.
    Encode(EncodeError),
    /// The provider's key, subject or signature is unusable.
    Provider,
}

impl From<EncodeError> for CsrFail {
    fn from(e: EncodeError) -> Self {
        Self::Encode(e)
    }
}

/// The SubjectPublicKeyInfo prefix (everything before `04‖X‖Y`) of a curve.
fn spki_prefix(asym: AsymAlgo) -> &'static [u8] {
    match asym {
        AsymAlgo::EcdsaP256 => &[
            0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01, 0x06,
            0x08, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
        ],
        AsymAlgo::EcdsaP384 => &[
            0x30, 0x76, 0x30, 0x10, 0x06, 0x07, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01, 0x06,
            0x05, 0x2B, 0x81, 0x04, 0x00, 0x22, 0x03, 0x62, 0x00,
        ],
    }
}

/// The SEC1 point length of a curve.
pub(super) const fn point_len(asym: AsymAlgo) -> usize {
    match asym {
        AsymAlgo::EcdsaP256 => 65,
        AsymAlgo::EcdsaP384 => 97,
    }
}

/// The room kept in front of the CertificationRequestInfo for the outer header.
const OUTER_MAX: usize = 4;

/// Builds the DER CSR into `out`; returns its length. The subject is the requester's if it
/// gave one, else the provider's; the attributes are the requester's.
pub(crate) fn build_csr<C: CryptoProvider>(
    crypto: &C,
    provider: &dyn ProvisioningProvider,
    set: AlgorithmSet,
    info: &RequesterInfo<'_>,
    out: &mut [u8],
) -> Result<usize, CsrFail> {
    let asym = set.asym;
    if provider.algorithm() != asym {
        return Err(CsrFail::Provider);
    }
    let mut point = [0u8; 97];
    let plen = provider
        .device_public_key(&mut point)
        .map_err(|_| CsrFail::Provider)?;
    let point = point.get(..plen).ok_or(CsrFail::Provider)?;
    if plen != point_len(asym) || point.first() != Some(&0x04) {
        return Err(CsrFail::Provider);
    }
    let subject = match info.subject {
        Some(s) => s,
        None => provider.subject(),
    };
    match der::expect(subject, SEQUENCE) {
        Some((_, [])) => {}
        _ => return Err(CsrFail::Provider),
    }
    let prefix = spki_prefix(asym);
    let a = info.attributes;
    let cri_content = 3 + subject.len() + prefix.len() + plen + der::header_len(a.len()) + a.len();
    let cri_len = der::header_len(cri_content) + cri_content;
    // The CertificationRequestInfo, written after room for the outer header.
    let cri_end = {
        let dst = out
            .get_mut(OUTER_MAX..)
            .ok_or(EncodeError::BufferTooSmall)?;
        let mut w = Writer::new(dst);
        der::put_header(&mut w, SEQUENCE, cri_content)?;
        w.put(&[INTEGER, 1, 0])?;
        w.put(subject)?;
        w.put(prefix)?;
        w.put(point)?;
        der::put_header(&mut w, CTX0, a.len())?;
        w.put(a)?;
        if w.len() != cri_len {
            return Err(CsrFail::Provider);
        }
        OUTER_MAX + w.len()
    };
    let cri = out.get(OUTER_MAX..cri_end).ok_or(CsrFail::Provider)?;
    let mut h = crypto.hash(set.hash).map_err(|_| CsrFail::Provider)?;
    h.update(cri);
    let digest = h.finish();
    let mut rs = [0u8; MAX_SIGNATURE_LEN];
    let slen = asym.signature_len();
    let rs = rs.get_mut(..slen).ok_or(CsrFail::Provider)?;
    let n = provider
        .sign_prehash(digest.as_bytes(), rs)
        .map_err(|_| CsrFail::Provider)?;
    if n != slen {
        return Err(CsrFail::Provider);
    }
    let alg: &[u8] = match asym {
        AsymAlgo::EcdsaP256 => der::OID_ECDSA_SHA256,
        AsymAlgo::EcdsaP384 => der::OID_ECDSA_SHA384,
    };
    let alg_len = 2 + 2 + alg.len();
    let sig_der = der::ecdsa_sig_len(rs);
    let bits_len = der::header_len(1 + sig_der) + 1 + sig_der;
    let total = cri_len + alg_len + bits_len;
    let hl = der::header_len(total);
    if hl > OUTER_MAX {
        return Err(EncodeError::FieldTooLong.into());
    }
    // Move the CertificationRequestInfo right behind the real outer header.
    out.copy_within(OUTER_MAX..cri_end, hl);
    let mut w = Writer::new(out);
    der::put_header(&mut w, SEQUENCE, total)?;
    let mut w = Writer::new(
        out.get_mut(hl + cri_len..)
            .ok_or(EncodeError::BufferTooSmall)?,
    );
    der::put_header(&mut w, SEQUENCE, 2 + alg.len())?;
    der::put_header(&mut w, der::OID, alg.len())?;
    w.put(alg)?;
    der::put_header(&mut w, der::BIT_STRING, 1 + sig_der)?;
    w.u8(0)?;
    der::put_ecdsa_sig(&mut w, rs)?;
    Ok(hl + total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requester_info_rules() {
        assert_eq!(parse_requester_info(&[]), Ok(RequesterInfo::default()));
        // SEQUENCE { INTEGER 0, Name {}, SPKI SEQUENCE {}, [0] {} }
        let ok = [
            0x30, 0x09, 0x02, 0x01, 0x00, 0x30, 0x00, 0x30, 0x00, 0xA0, 0x00,
        ];
        assert_eq!(parse_requester_info(&ok), Ok(RequesterInfo::default()));
        // Version 1, trailing byte, missing attributes.
        let mut v1 = ok;
        v1[4] = 1;
        assert!(parse_requester_info(&v1).is_err());
        let mut trailing = [0u8; 12];
        trailing[..11].copy_from_slice(&ok);
        assert!(parse_requester_info(&trailing).is_err());
        let short = [0x30, 0x07, 0x02, 0x01, 0x00, 0x30, 0x00, 0x30, 0x00];
        assert!(parse_requester_info(&short).is_err());
    }
}
