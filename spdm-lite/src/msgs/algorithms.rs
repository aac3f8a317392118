//! NEGOTIATE_ALGORITHMS (0xE3) and ALGORITHMS (0x63).
//!
//! ```text
//! request  header(P1 = #AlgStruct) | Length(2) MeasSpec(1) OtherParams(1) BaseAsym(4) BaseHash(4)
//!          Reserved(12) ExtAsymCount(1) ExtHashCount(1) Reserved(1) MELspec(1)
//!          ExtAsym[4n] ExtHash[4n] AlgStruct[P1]
//! response header(P1 = #AlgStruct) | Length(2) MeasSpecSel(1) OtherParamsSel(1) MeasHashAlgo(4)
//!          BaseAsymSel(4) BaseHashSel(4) Reserved(11) MELspecSel(1) ExtAsymSelCount(1)
//!          ExtHashSelCount(1) Reserved(2) ExtAsym[4n] ExtHash[4n] AlgStruct[P1]
//! AlgStruct = AlgType(1) AlgCount(1) = 0x2n AlgSupported(2) ExtAlg[4n]
//! ```
//!
//! AlgStructs are kept in the typed [`AlgStructs`] (types 2 DHE, 3 AEAD, 4 ReqBaseAsym,
//! 5 KeySchedule, each at most once, in ascending order); the extended algorithms of an
//! AlgStruct are skipped (none is implemented, so none is ever selected and the typed form
//! drops them); another fixed-size count is [`InvalidMessage::InvalidField`].

use super::{Code, Encode, Version, hdr};
use crate::codec::{Reader, Writer};
use crate::error::{EncodeError, InvalidMessage};

/// `OtherParams` bit: opaque data format 1.
pub const OPAQUE_DATA_FMT1: u8 = 0x02;
/// `KeySchedule` bit: the SPDM key schedule.
pub const KEY_SCHEDULE_SPDM: u16 = 0x0001;
/// `MeasurementSpecification` bit: DMTF.
pub const MEAS_SPEC_DMTF: u8 = 0x01;

/// The four AlgStruct tables (a `None` table is absent from the message).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
pub struct AlgStructs {
    /// Type 2, DHE groups.
    pub dhe: Option<u16>,
    /// Type 3, AEAD suites.
    pub aead: Option<u16>,
    /// Type 4, requester base asymmetric algorithms.
    pub req_base_asym: Option<u16>,
    /// Type 5, key schedules.
    pub key_schedule: Option<u16>,
}

impl AlgStructs {
    fn count(&self) -> u8 {
        [self.dhe, self.aead, self.req_base_asym, self.key_schedule]
            .iter()
            .filter(|x| x.is_some())
            .count() as u8
    }

    fn read(r: &mut Reader<'_>, n: u8) -> Result<Self, InvalidMessage> {
        let mut out = Self::default();
        let mut last = 0u8;
        for _ in 0..n {
            let ty = r.u8()?;
            let count = r.u8()?;
            let v = r.u16()?;
            // FixedAlgCount (bits 7:4) must be 2; the ExtAlgCount (bits 3:0) extended
            // algorithms that follow are skipped: none is implemented.
            r.take(4 * usize::from(count & 0x0F))?;
            if count >> 4 != 2 || ty <= last {
                return Err(InvalidMessage::InvalidField);
            }
            last = ty;
            let slot = match ty {
                2 => &mut out.dhe,
                3 => &mut out.aead,
                4 => &mut out.req_base_asym,
                5 => &mut out.key_schedule,
                _ => return Err(InvalidMessage::InvalidField),
            };
            *slot = Some(v);
        }
        Ok(out)
    }

    fn emit(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        for (ty, v) in [
            (2u8, self.dhe),
            (3, self.aead),
            (4, self.req_base_asym),
            (5, self.key_schedule),
        ] {
            if let Some(v) = v {
                w.u8(ty)?;
                w.u8(0x20)?;
                w.u16(v)?;
            }
        }
        Ok(())
    }
}

/// NEGOTIATE_ALGORITHMS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct NegotiateAlgorithms<'a> {
    /// SPDMVersion.
    pub version: Version,
    /// MeasurementSpecification.
    pub meas_spec: u8,
    /// OtherParamsSupport.
    pub other_params: u8,
    /// BaseAsymAlgo bits.
    pub base_asym: u32,
    /// BaseHashAlgo bits.
    pub base_hash: u32,
    /// MELspecification (1.3).
    pub mel_spec: u8,
    /// ExtAsym entries, 4 bytes each.
    pub ext_asym: &'a [u8],
    /// ExtHash entries, 4 bytes each.
    pub ext_hash: &'a [u8],
    /// AlgStructs.
    pub structs: AlgStructs,
}

/// ALGORITHMS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AlgorithmsRsp<'a> {
    /// SPDMVersion.
    pub version: Version,
    /// MeasurementSpecificationSel.
    pub meas_spec: u8,
    /// OtherParamsSelection.
    pub other_params: u8,
    /// MeasurementHashAlgo.
    pub meas_hash: u32,
    /// BaseAsymSel.
    pub base_asym: u32,
    /// BaseHashSel.
    pub base_hash: u32,
    /// MELspecificationSel (1.3).
    pub mel_spec: u8,
    /// ExtAsymSel entries, 4 bytes each.
    pub ext_asym: &'a [u8],
    /// ExtHashSel entries, 4 bytes each.
    pub ext_hash: &'a [u8],
    /// AlgStructs.
    pub structs: AlgStructs,
}

fn check_length(r: &Reader<'_>, declared: u16) -> Result<(), InvalidMessage> {
    if usize::from(declared) != r.used() + r.left() {
        return Err(InvalidMessage::BadLength);
    }
    Ok(())
}

fn total_len(fixed: usize, ea: &[u8], eh: &[u8], s: &AlgStructs) -> Result<u16, EncodeError> {
    if !ea.len().is_multiple_of(4)
        || !eh.len().is_multiple_of(4)
        || ea.len() > 4 * 255
        || eh.len() > 4 * 255
    {
        return Err(EncodeError::WrongFieldLength);
    }
    u16::try_from(fixed + ea.len() + eh.len() + 4 * usize::from(s.count()))
        .map_err(|_| EncodeError::FieldTooLong)
}

impl<'a> NegotiateAlgorithms<'a> {
    /// Parses the message.
    ///
    /// # Errors
    /// [`InvalidMessage`]; `Length` must equal the message length.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, InvalidMessage> {
        let mut r = Reader::new(bytes);
        let h = super::Header::read_expect(&mut r, Code::NEGOTIATE_ALGORITHMS)?;
        let length = r.u16()?;
        check_length(&r, length)?;
        let meas_spec = r.u8()?;
        let other_params = r.u8()?;
        let base_asym = r.u32()?;
        let base_hash = r.u32()?;
        r.take(12)?;
        let ea = usize::from(r.u8()?);
        let eh = usize::from(r.u8()?);
        r.u8()?;
        let mel_spec = r.u8()?;
        let ext_asym = r.take(4 * ea)?;
        let ext_hash = r.take(4 * eh)?;
        let structs = AlgStructs::read(&mut r, h.param1)?;
        r.finish()?;
        Ok(Self {
            version: h.version,
            meas_spec,
            other_params,
            base_asym,
            base_hash,
            mel_spec,
            ext_asym,
            ext_hash,
            structs,
        })
    }
}

impl Encode for NegotiateAlgorithms<'_> {
    fn emit(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        let len = total_len(32, self.ext_asym, self.ext_hash, &self.structs)?;
        hdr(
            self.version,
            Code::NEGOTIATE_ALGORITHMS,
            self.structs.count(),
            0,
        )
        .emit(w)?;
        w.u16(len)?;
        w.u8(self.meas_spec)?;
        w.u8(self.other_params)?;
        w.u32(self.base_asym)?;
        w.u32(self.base_hash)?;
        w.zeros(12)?;
        w.u8((self.ext_asym.len() / 4) as u8)?;
        w.u8((self.ext_hash.len() / 4) as u8)?;
        w.u8(0)?;
        w.u8(self.mel_spec)?;
        w.put(self.ext_asym)?;
        w.put(self.ext_hash)?;
        self.structs.emit(w)
    }
}

impl<'a> AlgorithmsRsp<'a> {
    /// Parses the message.
    ///
    /// # Errors
    /// [`InvalidMessage`]; `Length` must equal the message length.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, InvalidMessage> {
        let mut r = Reader::new(bytes);
        let h = super::Header::read_expect(&mut r, Code::ALGORITHMS)?;
        let length = r.u16()?;
        check_length(&r, length)?;
        let meas_spec = r.u8()?;
        let other_params = r.u8()?;
        let meas_hash = r.u32()?;
        let base_asym = r.u32()?;
        let base_hash = r.u32()?;
        r.take(11)?;
        let mel_spec = r.u8()?;
        let ea = usize::from(r.u8()?);
        let eh = usize::from(r.u8()?);
        r.u16()?;
        let ext_asym = r.take(4 * ea)?;
        let ext_hash = r.take(4 * eh)?;
        let structs = AlgStructs::read(&mut r, h.param1)?;
        r.finish()?;
        Ok(Self {
            version: h.version,
            meas_spec,
            other_params,
            meas_hash,
            base_asym,
            base_hash,
            mel_spec,
            ext_asym,
            ext_hash,
            structs,
        })
    }
}

impl Encode for AlgorithmsRsp<'_> {
    fn emit(&self, w: &mut Writer<'_>) -> Result<(), EncodeError> {
        let len = total_len(36, self.ext_asym, self.ext_hash, &self.structs)?;
        hdr(self.version, Code::ALGORITHMS, self.structs.count(), 0).emit(w)?;
        w.u16(len)?;
        w.u8(self.meas_spec)?;
        w.u8(self.other_params)?;
        w.u32(self.meas_hash)?;
        w.u32(self.base_asym)?;
        w.u32(self.base_hash)?;
        w.zeros(11)?;
        w.u8(self.mel_spec)?;
        w.u8((self.ext_asym.len() / 4) as u8)?;
        w.u8((self.ext_hash.len() / 4) as u8)?;
        w.u16(0)?;
        w.put(self.ext_asym)?;
        w.put(self.ext_hash)?;
        self.structs.emit(w)
    }
}
