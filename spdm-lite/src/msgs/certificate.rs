//! GET_CERTIFICATE (0x82) and CERTIFICATE (0x02), and the SPDM certificate-chain header.
//!
//! ```text
//! GET_CERTIFICATE: header(P1 = slot) | Offset(2) Length(2)
//! CERTIFICATE:     header(P1 = slot) | PortionLength(2) RemainderLength(2) Chain[PortionLength]
//! chain:           Length(2) Reserved(2) RootHash[H] DER certificates, root first
//! ```

use super::{Code, Encode, Version, hdr};
use crate::codec::{Reader, Writer};
use crate::error::{EncodeError, InvalidMessage};

/// GET_CERTIFICATE.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GetCertificate {
    /// SPDMVersion.
    pub version: Version,
    /// Param1: slot id in bits 0..4.
    pub param1: u8,
    /// Param2 (1.3: SlotSizeRequested).
    pub param2: u8,
    /// Offset into the chain.
    pub offset: u16,
    /// Requested length.
    pub length: u16,
}

impl GetCertificate {
    /// The slot id.
    pub const fn slot(&self) -> u8 {
        self.param1 & 0x0F
    }

    /// Parses the message.
    ///
    /// # Errors
    /// [`InvalidMessage`].
    pub fn parse(bytes: &[u8]) -> Result<Self, InvalidMessage> {
        let mut r = Reader::new(bytes);
        let h = super::Header::read_expect(&mut r, Code::GET_CERTIFICATE)?;
        let offset = r.u16()?;
        let length = r.u16()?;
        r.finish()?;
        Ok(Self {
            version: h.version,
            param1: h.param1,
            param2: h.param2,
            offset,
            length,
        })
    }
}

impl Encode for GetCertificate {
    fn emit(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        hdr(
            self.version,
            Code::GET_CERTIFICATE,
            self.param1,
            self.param2,
        )
        .emit(w)?;
        w.u16(self.offset)?;
        w.u16(self.length)
    }
}

/// CERTIFICATE.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CertificateRsp<'a> {
    /// SPDMVersion.
    pub version: Version,
    /// Param1: slot id in bits 0..4.
    pub param1: u8,
    /// Param2 (1.3: CertModel).
    pub param2: u8,
    /// The portion of the chain.
    pub portion: &'a [u8],
    /// Bytes of the chain after this portion.
    pub remainder: u16,
}

impl<'a> CertificateRsp<'a> {
    /// Parses the message.
    ///
    /// # Errors
    /// [`InvalidMessage`].
    pub fn parse(bytes: &'a [u8]) -> Result<Self, InvalidMessage> {
        let mut r = Reader::new(bytes);
        let h = super::Header::read_expect(&mut r, Code::CERTIFICATE)?;
        let portion_len = r.u16()?;
        let remainder = r.u16()?;
        let portion = r.take(usize::from(portion_len))?;
        r.finish()?;
        Ok(Self {
            version: h.version,
            param1: h.param1,
            param2: h.param2,
            portion,
            remainder,
        })
    }
}

impl Encode for CertificateRsp<'_> {
    fn emit(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        hdr(self.version, Code::CERTIFICATE, self.param1, self.param2).emit(w)?;
        w.len16(self.portion.len())?;
        w.u16(self.remainder)?;
        w.put(self.portion)
    }
}

/// A parsed SPDM certificate chain (`Length Reserved RootHash Certificates`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CertChain<'a> {
    /// RootHash: hash of the root certificate's DER.
    pub root_hash: &'a [u8],
    /// The concatenated DER certificates, root first.
    pub certificates: &'a [u8],
}

impl<'a> CertChain<'a> {
    /// Parses a complete chain with hash length `hash_len`.
    ///
    /// # Errors
    /// [`InvalidMessage::BadLength`] if `Length` is not the chain's length.
    pub fn parse(bytes: &'a [u8], hash_len: usize) -> Result<Self, InvalidMessage> {
        let mut r = Reader::new(bytes);
        let len = r.u16()?;
        if usize::from(len) != bytes.len() {
            return Err(InvalidMessage::BadLength);
        }
        r.u16()?;
        let root_hash = r.take(hash_len)?;
        let certificates = r.rest();
        if certificates.is_empty() {
            return Err(InvalidMessage::Truncated);
        }
        Ok(Self {
            root_hash,
            certificates,
        })
    }

    /// Writes the chain header (`Length Reserved RootHash`) for certificates of `cert_len`
    /// bytes; the certificates follow.
    ///
    /// # Errors
    /// [`EncodeError::FieldTooLong`] if the chain exceeds 65535 bytes.
    pub fn emit_header(
        w: &mut Writer<'_>,
        root_hash: &[u8],
        cert_len: usize,
    ) -> Result<(), EncodeError> {
        w.len16(4 + root_hash.len() + cert_len)?;
        w.u16(0)?;
        w.put(root_hash)
    }
}
