//! GET_CAPABILITIES (0xE1) and CAPABILITIES (0x61).
//!
//! ```text
//! 1.2+: header | Reserved(1) CTExponent(1) Reserved(2) Flags(4) DataTransferSize(4) MaxSPDMmsgSize(4)
//! 1.1:  header | Reserved(1) CTExponent(1) Reserved(2) Flags(4)
//! 1.0:  GET_CAPABILITIES is the header only; CAPABILITIES as 1.1
//! ```

use super::{Code, Encode, Version, hdr};
use crate::codec::{Reader, Writer};
use crate::error::{EncodeError, InvalidMessage};

/// Capability flags (`Flags` field); an open bit set.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct CapFlags(pub u32);

#[allow(missing_docs)]
impl CapFlags {
    pub const CACHE: u32 = 1 << 0;
    pub const CERT: u32 = 1 << 1;
    pub const CHAL: u32 = 1 << 2;
    pub const MEAS_NO_SIG: u32 = 1 << 3;
    pub const MEAS_SIG: u32 = 1 << 4;
    pub const MEAS_FRESH: u32 = 1 << 5;
    pub const ENCRYPT: u32 = 1 << 6;
    pub const MAC: u32 = 1 << 7;
    pub const MUT_AUTH: u32 = 1 << 8;
    pub const KEY_EX: u32 = 1 << 9;
    /// PSK without responder context (no PSK_FINISH).
    pub const PSK: u32 = 1 << 10;
    /// PSK with responder context (PSK_FINISH required).
    pub const PSK_WITH_CONTEXT: u32 = 2 << 10;
    pub const PSK_MASK: u32 = 3 << 10;
    pub const ENCAP: u32 = 1 << 12;
    pub const HBEAT: u32 = 1 << 13;
    pub const KEY_UPD: u32 = 1 << 14;
    pub const HANDSHAKE_IN_THE_CLEAR: u32 = 1 << 15;
    pub const PUB_KEY_ID: u32 = 1 << 16;
    pub const CHUNK: u32 = 1 << 17;
    /// SET_CERTIFICATE is supported (needs CERT_CAP).
    pub const SET_CERT: u32 = 1 << 19;
    /// GET_CSR is supported (needs SET_CERT_CAP).
    pub const CSR: u32 = 1 << 20;
    /// The responder may need a reset to install a certificate (ERROR ResetRequired).
    pub const CERT_INSTALL_RESET: u32 = 1 << 21;

    /// Whether every bit of `mask` is set.
    pub const fn has(self, mask: u32) -> bool {
        self.0 & mask == mask
    }
}

/// The body of GET_CAPABILITIES and CAPABILITIES (they share the layout).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Capabilities {
    /// SPDMVersion.
    pub version: Version,
    /// Param1 (1.3: bit 0 of GET_CAPABILITIES asks for the supported-algorithms block, which
    /// this crate does not support).
    pub param1: u8,
    /// CTExponent.
    pub ct_exponent: u8,
    /// Flags.
    pub flags: CapFlags,
    /// DataTransferSize (1.2+; 0 before).
    pub data_transfer_size: u32,
    /// MaxSPDMmsgSize (1.2+; 0 before).
    pub max_spdm_msg_size: u32,
}

impl Capabilities {
    fn parse_code(bytes: &[u8], code: Code) -> Result<Self, InvalidMessage> {
        let mut r = Reader::new(bytes);
        let h = super::Header::read_expect(&mut r, code)?;
        let mut out = Self {
            version: h.version,
            param1: h.param1,
            ct_exponent: 0,
            flags: CapFlags(0),
            data_transfer_size: 0,
            max_spdm_msg_size: 0,
        };
        if h.version == Version::V10 && code == Code::GET_CAPABILITIES {
            r.finish()?;
            return Ok(out);
        }
        r.u8()?;
        out.ct_exponent = r.u8()?;
        r.u16()?;
        out.flags = CapFlags(r.u32()?);
        if h.version >= Version::V12 {
            out.data_transfer_size = r.u32()?;
            out.max_spdm_msg_size = r.u32()?;
        }
        r.finish()?;
        Ok(out)
    }

    fn emit_code(&self, w: &mut Writer<'_>, code: Code) -> Result<(), EncodeError> {
        hdr(self.version, code, self.param1, 0).emit(w)?;
        if self.version == Version::V10 && code == Code::GET_CAPABILITIES {
            return Ok(());
        }
        w.u8(0)?;
        w.u8(self.ct_exponent)?;
        w.u16(0)?;
        w.u32(self.flags.0)?;
        if self.version >= Version::V12 {
            w.u32(self.data_transfer_size)?;
            w.u32(self.max_spdm_msg_size)?;
        }
        Ok(())
    }
}

/// GET_CAPABILITIES.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct GetCapabilities(pub Capabilities);

/// CAPABILITIES.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CapabilitiesRsp(pub Capabilities);

impl GetCapabilities {
    /// Parses the message.
    ///
    /// # Errors
    /// [`InvalidMessage`].
    pub fn parse(bytes: &[u8]) -> Result<Self, InvalidMessage> {
        Capabilities::parse_code(bytes, Code::GET_CAPABILITIES).map(Self)
    }
}

impl Encode for GetCapabilities {
    fn emit(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        self.0.emit_code(w, Code::GET_CAPABILITIES)
    }
}

impl CapabilitiesRsp {
    /// Parses the message.
    ///
    /// # Errors
    /// [`InvalidMessage`].
    pub fn parse(bytes: &[u8]) -> Result<Self, InvalidMessage> {
        Capabilities::parse_code(bytes, Code::CAPABILITIES).map(Self)
    }
}

impl Encode for CapabilitiesRsp {
    fn emit(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        self.0.emit_code(w, Code::CAPABILITIES)
    }
}
