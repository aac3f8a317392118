//! GET_CSR (0xED) / CSR (0x6D) and SET_CERTIFICATE (0xEE) / SET_CERTIFICATE_RSP (0x6E), SPDM
//! 1.2 (feature `provisioning`).
//!
//! ```text
//! GET_CSR:             header(P1, P2 reserved) | RequesterInfoLength(2) OpaqueDataLength(2)
//!                      RequesterInfo[RequesterInfoLength] OpaqueData[OpaqueDataLength]
//! CSR:                 header(P1, P2 reserved) | CSRLength(2) Reserved(2) CSR[CSRLength]
//! SET_CERTIFICATE:     header(P1 bits 0-3 = SlotID; P2 reserved) | CertChain (SPDM chain format:
//!                      Length(2) Reserved(2) RootHash[H] DER certificates, root first)
//! SET_CERTIFICATE_RSP: header(P1 bits 0-3 = SlotID; P2 reserved)
//! ```
//!
//! RequesterInfo is empty or a DER PKCS#10 `CertificationRequestInfo`; the CSR is a DER PKCS#10
//! `CertificationRequest`. The parsers check every length field against the input before
//! anything else (truncation, inconsistent lengths and trailing bytes are errors); as for the
//! other messages, the parameter bytes are kept as received and the responder decides what
//! they may hold (SPDM 1.3 gives these reserved bits a meaning: KeyPairID, CertModel,
//! Overwrite, Erase).

use super::{Code, Encode, Version, hdr};
use crate::codec::{Reader, Writer};
use crate::error::{EncodeError, InvalidMessage};

/// GET_CSR's request code.
pub const GET_CSR: Code = Code(0xED);
/// CSR's response code.
pub const CSR: Code = Code(0x6D);
/// SET_CERTIFICATE's request code.
pub const SET_CERTIFICATE: Code = Code(0xEE);
/// SET_CERTIFICATE_RSP's response code.
pub const SET_CERTIFICATE_RSP: Code = Code(0x6E);

/// The SlotID mask of SET_CERTIFICATE / SET_CERTIFICATE_RSP Param1.
pub const SLOT_MASK: u8 = 0x0F;

/// GET_CSR.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GetCsr<'a> {
    /// SPDMVersion.
    pub version: Version,
    /// Param1 (reserved in 1.2; 1.3: KeyPairID).
    pub param1: u8,
    /// Param2 (reserved in 1.2; 1.3: CertModel, CSRTrackingTag, Overwrite).
    pub param2: u8,
    /// RequesterInfo: empty, or a DER `CertificationRequestInfo`.
    pub requester_info: &'a [u8],
    /// OpaqueData.
    pub opaque: &'a [u8],
}

impl<'a> GetCsr<'a> {
    /// Parses the message.
    ///
    /// # Errors
    /// [`InvalidMessage`]: wrong code, truncated input, lengths that do not match the input,
    /// trailing bytes.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, InvalidMessage> {
        let mut r = Reader::new(bytes);
        let h = super::Header::read_expect(&mut r, GET_CSR)?;
        let info_len = usize::from(r.u16()?);
        let opaque_len = usize::from(r.u16()?);
        if info_len + opaque_len != r.left() {
            return Err(if info_len + opaque_len > r.left() {
                InvalidMessage::Truncated
            } else {
                InvalidMessage::TrailingData
            });
        }
        let requester_info = r.take(info_len)?;
        let opaque = r.take(opaque_len)?;
        r.finish()?;
        Ok(Self {
            version: h.version,
            param1: h.param1,
            param2: h.param2,
            requester_info,
            opaque,
        })
    }
}

impl Encode for GetCsr<'_> {
    fn emit(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        hdr(self.version, GET_CSR, self.param1, self.param2).emit(w)?;
        w.len16(self.requester_info.len())?;
        w.len16(self.opaque.len())?;
        w.put(self.requester_info)?;
        w.put(self.opaque)
    }
}

/// CSR.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CsrRsp<'a> {
    /// SPDMVersion.
    pub version: Version,
    /// Param1 (reserved).
    pub param1: u8,
    /// Param2 (reserved).
    pub param2: u8,
    /// The DER PKCS#10 `CertificationRequest`.
    pub csr: &'a [u8],
}

impl<'a> CsrRsp<'a> {
    /// Parses the message.
    ///
    /// # Errors
    /// [`InvalidMessage`]; an empty CSR is [`InvalidMessage::BadLength`].
    pub fn parse(bytes: &'a [u8]) -> Result<Self, InvalidMessage> {
        let mut r = Reader::new(bytes);
        let h = super::Header::read_expect(&mut r, CSR)?;
        let len = usize::from(r.u16()?);
        r.u16()?;
        if len == 0 {
            return Err(InvalidMessage::BadLength);
        }
        let csr = r.take(len)?;
        r.finish()?;
        Ok(Self {
            version: h.version,
            param1: h.param1,
            param2: h.param2,
            csr,
        })
    }
}

impl Encode for CsrRsp<'_> {
    fn emit(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        hdr(self.version, CSR, self.param1, self.param2).emit(w)?;
        w.len16(self.csr.len())?;
        w.u16(0)?;
        w.put(self.csr)
    }
}

/// SET_CERTIFICATE.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SetCertificate<'a> {
    /// SPDMVersion.
    pub version: Version,
    /// Param1: SlotID in bits 0..4 (1.3: SetCertModel in bits 4..7, Erase in bit 7).
    pub param1: u8,
    /// Param2 (reserved in 1.2; 1.3: KeyPairID).
    pub param2: u8,
    /// The SPDM certificate chain (its own `Length` field equals its length).
    pub chain: &'a [u8],
}

impl<'a> SetCertificate<'a> {
    /// The slot id.
    pub const fn slot(&self) -> u8 {
        self.param1 & SLOT_MASK
    }

    /// Parses the message: the chain's `Length` field (its first two bytes) must equal the
    /// number of bytes after the header; the rest of the chain format (RootHash, certificates)
    /// depends on the negotiated hash and is checked by the responder.
    ///
    /// # Errors
    /// [`InvalidMessage`]: truncated (a chain shorter than its 4-byte header), or a `Length`
    /// that disagrees with the message ([`InvalidMessage::BadLength`]).
    pub fn parse(bytes: &'a [u8]) -> Result<Self, InvalidMessage> {
        let mut r = Reader::new(bytes);
        let h = super::Header::read_expect(&mut r, SET_CERTIFICATE)?;
        let chain = r.rest();
        let mut c = Reader::new(chain);
        let len = usize::from(c.u16()?);
        c.u16()?;
        if len != chain.len() {
            return Err(InvalidMessage::BadLength);
        }
        Ok(Self {
            version: h.version,
            param1: h.param1,
            param2: h.param2,
            chain,
        })
    }
}

impl Encode for SetCertificate<'_> {
    fn emit(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        hdr(self.version, SET_CERTIFICATE, self.param1, self.param2).emit(w)?;
        w.put(self.chain)
    }
}

/// SET_CERTIFICATE_RSP.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SetCertificateRsp {
    /// SPDMVersion.
    pub version: Version,
    /// Param1: SlotID in bits 0..4.
    pub param1: u8,
    /// Param2 (reserved).
    pub param2: u8,
}

impl SetCertificateRsp {
    /// The slot id.
    pub const fn slot(&self) -> u8 {
        self.param1 & SLOT_MASK
    }

    /// Parses the message.
    ///
    /// # Errors
    /// [`InvalidMessage`] on a wrong code, truncation or trailing bytes.
    pub fn parse(bytes: &[u8]) -> Result<Self, InvalidMessage> {
        let mut r = Reader::new(bytes);
        let h = super::Header::read_expect(&mut r, SET_CERTIFICATE_RSP)?;
        r.finish()?;
        Ok(Self {
            version: h.version,
            param1: h.param1,
            param2: h.param2,
        })
    }
}

impl Encode for SetCertificateRsp {
    fn emit(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        hdr(self.version, SET_CERTIFICATE_RSP, self.param1, self.param2).emit(w)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_csr_lengths_are_checked_before_the_fields() {
        let m = GetCsr {
            version: Version::V12,
            param1: 0,
            param2: 0,
            requester_info: &[0x30, 0x00],
            opaque: &[1, 2, 3],
        };
        let mut b = [0u8; 32];
        let n = m.encode(&mut b).unwrap_or(0);
        assert_eq!(n, 4 + 4 + 2 + 3);
        assert_eq!(GetCsr::parse(&b[..n]), Ok(m));
        // One byte short, one byte too many, and a length that overflows the message.
        assert_eq!(GetCsr::parse(&b[..n - 1]), Err(InvalidMessage::Truncated));
        assert_eq!(
            GetCsr::parse(&b[..n + 1]),
            Err(InvalidMessage::TrailingData)
        );
        let mut big = b;
        big[4] = 0xFF;
        big[5] = 0xFF;
        assert_eq!(GetCsr::parse(&big[..n]), Err(InvalidMessage::Truncated));
    }

    #[test]
    fn set_certificate_chain_length_must_match() {
        let chain = [9u8, 0, 0, 0, 0xAA, 0xBB, 0x30, 0x00, 0x11];
        let m = SetCertificate {
            version: Version::V12,
            param1: 0,
            param2: 0,
            chain: &chain,
        };
        let mut b = [0u8; 32];
        let n = m.encode(&mut b).unwrap_or(0);
        assert_eq!(SetCertificate::parse(&b[..n]), Ok(m));
        assert_eq!(
            SetCertificate::parse(&b[..n - 1]),
            Err(InvalidMessage::BadLength)
        );
        assert_eq!(
            SetCertificate::parse(&b[..6]),
            Err(InvalidMessage::Truncated)
        );
        let rsp = SetCertificateRsp {
            version: Version::V12,
            param1: 3,
            param2: 0,
        };
        let n = rsp.encode(&mut b).unwrap_or(0);
        assert_eq!(SetCertificateRsp::parse(&b[..n]).map(|r| r.slot()), Ok(3));
    }

    #[test]
    fn csr_rsp_round_trip_and_empty_csr() {
        let m = CsrRsp {
            version: Version::V12,
            param1: 0,
            param2: 0,
            csr: &[0x30, 0x01, 0x00],
        };
        let mut b = [0u8; 16];
        let n = m.encode(&mut b).unwrap_or(0);
        assert_eq!(CsrRsp::parse(&b[..n]), Ok(m));
        assert_eq!(
            CsrRsp::parse(&[0x12, 0x6D, 0, 0, 0, 0, 0, 0]),
            Err(InvalidMessage::BadLength)
        );
    }
}
