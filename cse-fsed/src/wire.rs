//! The FSED packet codec: a [`Packet`] view over the payload of an FSED long packet and a
//! validated [`Repr`].
//!
//! FSED packets are CSI-2 long packets of data type [`Profile::dt_fsed`] (default 0x3A) on the
//! virtual channel of the frame they protect. The outer CSI-2 header (with ECC) and CRC-16
//! footer are handled by [`cse_core::csi2`]; this module covers the FSED payload only.
//! Multi-byte fields are little-endian (the CSI-2 convention, as in SEP).
//!
//! ```text
//! common part (every FSED packet)
//! offset size field
//!  0     1    format version (Profile::format_version)
//!  1     1    record kind: 0x01 frame header, 0x02 tag record
//!  2     1    bits 1..0 key id, bits 7..2 reserved 0
//!  3     1    reserved 0
//!  4     4    frame counter, full 32 bits (LE)
//!
//! frame header (kind 0x01), 40 bytes, right after FS
//!  8     2    CSI-2 frame number carried by this frame's FS and FE (LE)
//! 10     2    reserved 0
//! 12     8    top block:    SV number, suite id, tag length, tag mode, param a (LE), param b (LE)
//! 20     8    image block:  same layout
//! 28     8    bottom block: same layout
//! 36     4    CRC-32 over bytes 0..36 (Profile::crc32, LE)
//!
//! tag record (kind 0x02), 36 + T bytes, right after the last packet of its scope
//!  8     1    scope kind: 1 per data type, 2 per frame
//!  9     1    block: 0 top, 1 image, 2 bottom
//! 10     1    data type of a per-data-type scope, 0 for a per-frame scope
//! 11     1    tag length T (16, 12, 8; 4 only under the hazmat profile switch)
//! 12     4    covered packets: original packets the tag covers (LE)
//! 16     4    covered bytes: payload bytes the tag covers, SV-3/SV-4 selection applied (LE)
//! 20     4    message index of the scope's first covered packet (FS = 0) (LE)
//! 24     1    record index within the frame (0, 1, ...)
//! 25     1    flags: bit 0 L (last record of the frame), bits 7..1 reserved 0
//! 26     2    reserved 0
//! 28     4    end index: message index of the next original packet (LE)
//! 32     T    tag
//! 32+T   4    CRC-32 over bytes 0..32+T (Profile::crc32, LE)
//! ```
//!
//! # Panic contract
//!
//! After [`Packet::new_checked`] succeeds no accessor panics. [`Repr::parse`] and
//! [`Repr::emit`] never panic; `emit` writes exactly [`Repr::buffer_len`] bytes or returns an
//! error and writes nothing.

use cse_core::crc::Crc32;
use cse_core::{
    Block, BlockConfig, CipherSuite, ConfigError, FrameConfig, FusaError, KeyId, Profile,
    ScopeKind, SecurityVariant, SvLevel, TagLen, TagMode,
};

/// Length of the common part of every FSED packet.
pub const COMMON_LEN: usize = 8;
/// Length of a frame header.
pub const FRAME_HEADER_LEN: usize = 40;
/// Length of a tag record without its tag and CRC-32: the bytes the tag covers.
pub const RECORD_FIXED_LEN: usize = 32;
/// Length of the FuSa CRC-32 trailer.
pub const CRC_LEN: usize = 4;
/// The largest tag length.
pub const MAX_TAG_LEN: usize = 16;

/// Length of a tag record with a `tag_len`-byte tag.
pub const fn record_len(tag_len: usize) -> usize {
    RECORD_FIXED_LEN + tag_len + CRC_LEN
}

mod field {
    pub(super) type Field = core::ops::Range<usize>;
    pub(super) const VERSION: usize = 0;
    pub(super) const KIND: usize = 1;
    pub(super) const KEY_ID: usize = 2;
    pub(super) const RESERVED: usize = 3;
    pub(super) const FRAME_COUNTER: Field = 4..8;
    // Frame header.
    pub(super) const FRAME_NUMBER: Field = 8..10;
    pub(super) const HEADER_RESERVED: Field = 10..12;
    pub(super) const BLOCKS: usize = 12;
    pub(super) const BLOCK_LEN: usize = 8;
    pub(super) const HEADER_CRC: Field = 36..40;
    // Tag record.
    pub(super) const SCOPE: usize = 8;
    pub(super) const BLOCK: usize = 9;
    pub(super) const DATA_TYPE: usize = 10;
    pub(super) const TAG_LEN: usize = 11;
    pub(super) const PACKETS: Field = 12..16;
    pub(super) const BYTES: Field = 16..20;
    pub(super) const FIRST_INDEX: Field = 20..24;
    pub(super) const RECORD_INDEX: usize = 24;
    pub(super) const FLAGS: usize = 25;
    pub(super) const RECORD_RESERVED: Field = 26..28;
    pub(super) const END_INDEX: Field = 28..32;
    pub(super) const TAG: usize = 32;
}

const FLAG_LAST: u8 = 0x01;
const KEY_ID_MASK: u8 = 0x03;

/// The kind of an FSED packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kind {
    /// Frame header (after FS).
    FrameHeader = 1,
    /// Tag record (after the last packet of a scope).
    TagRecord = 2,
}

impl TryFrom<u8> for Kind {
    type Error = WireError;
    fn try_from(v: u8) -> Result<Self, WireError> {
        match v {
            1 => Ok(Kind::FrameHeader),
            2 => Ok(Kind::TagRecord),
            other => Err(WireError::UnknownKind(other)),
        }
    }
}

/// A malformed FSED payload. Small and `Copy`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// Fewer bytes than the layout needs.
    #[error("truncated: need {needed} bytes, have {available}")]
    Truncated {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// Bytes after the end of the layout.
    #[error("{0} trailing byte(s)")]
    TrailingData(usize),
    /// A format version other than the profile's.
    #[error("unsupported format version {0}")]
    Version(u8),
    /// An unknown record kind.
    #[error("unknown record kind {0:#04x}")]
    UnknownKind(u8),
    /// A scope-kind code other than 1 (data type) or 2 (frame).
    #[error("unknown scope kind {0}")]
    UnknownScope(u8),
    /// A reserved bit or byte is not zero, or a per-frame scope names a data type.
    #[error("reserved field not zero")]
    Reserved,
    /// A tag length the profile does not accept.
    #[error("tag length {0} not accepted")]
    TagLen(u8),
    /// A block configuration that does not validate.
    #[error("invalid configuration: {0}")]
    Config(ConfigError),
}

/// A typed view over an FSED payload (the bytes between the CSI-2 header and CRC-16).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps `buffer` without checks; accessors may panic until [`Packet::check_len`] passed.
    pub const fn new_unchecked(buffer: T) -> Self {
        Packet { buffer }
    }

    /// Wraps `buffer` and checks that its length is exactly the one its kind (and tag length)
    /// implies, so that no accessor panics.
    ///
    /// # Errors
    /// [`WireError::Truncated`], [`WireError::TrailingData`], [`WireError::UnknownKind`],
    /// [`WireError::TagLen`] (above 16).
    pub fn new_checked(buffer: T) -> Result<Self, WireError> {
        let p = Packet { buffer };
        p.check_len()?;
        Ok(p)
    }

    /// Checks the length (see [`Packet::new_checked`]).
    ///
    /// # Errors
    /// As [`Packet::new_checked`].
    pub fn check_len(&self) -> Result<(), WireError> {
        let b = self.buffer.as_ref();
        if b.len() < COMMON_LEN {
            return Err(WireError::Truncated {
                needed: COMMON_LEN,
                available: b.len(),
            });
        }
        let needed = match Kind::try_from(b[field::KIND])? {
            Kind::FrameHeader => FRAME_HEADER_LEN,
            Kind::TagRecord => {
                if b.len() < RECORD_FIXED_LEN {
                    return Err(WireError::Truncated {
                        needed: RECORD_FIXED_LEN,
                        available: b.len(),
                    });
                }
                let t = b[field::TAG_LEN];
                if usize::from(t) > MAX_TAG_LEN {
                    return Err(WireError::TagLen(t));
                }
                record_len(usize::from(t))
            }
        };
        match b.len().cmp(&needed) {
            core::cmp::Ordering::Less => Err(WireError::Truncated {
                needed,
                available: b.len(),
            }),
            core::cmp::Ordering::Greater => Err(WireError::TrailingData(b.len() - needed)),
            core::cmp::Ordering::Equal => Ok(()),
        }
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    fn le32(&self, f: field::Field) -> u32 {
        let s = &self.b()[f];
        u32::from_le_bytes([s[0], s[1], s[2], s[3]])
    }

    /// Format version.
    pub fn version(&self) -> u8 {
        self.b()[field::VERSION]
    }

    /// Record kind byte.
    pub fn kind_byte(&self) -> u8 {
        self.b()[field::KIND]
    }

    /// Record kind.
    pub fn kind(&self) -> Kind {
        if self.kind_byte() == Kind::FrameHeader as u8 {
            Kind::FrameHeader
        } else {
            Kind::TagRecord
        }
    }

    /// Key id byte (bits 1..0 key id, the rest reserved).
    pub fn key_id_byte(&self) -> u8 {
        self.b()[field::KEY_ID]
    }

    /// Frame counter.
    pub fn frame_counter(&self) -> u32 {
        self.le32(field::FRAME_COUNTER)
    }

    /// Frame header: the CSI-2 frame number of FS/FE.
    pub fn frame_number(&self) -> u16 {
        let s = &self.b()[field::FRAME_NUMBER];
        u16::from_le_bytes([s[0], s[1]])
    }

    /// Frame header: the 8 configuration bytes of `block`.
    pub fn block_bytes(&self, block: Block) -> &[u8] {
        let at = field::BLOCKS + usize::from(block.code()) * field::BLOCK_LEN;
        &self.b()[at..at + field::BLOCK_LEN]
    }

    /// Tag record: scope-kind code.
    pub fn scope_code(&self) -> u8 {
        self.b()[field::SCOPE]
    }

    /// Tag record: block code.
    pub fn block_code(&self) -> u8 {
        self.b()[field::BLOCK]
    }

    /// Tag record: data type of a per-data-type scope.
    pub fn data_type(&self) -> u8 {
        self.b()[field::DATA_TYPE]
    }

    /// Tag record: tag length byte.
    pub fn tag_len_byte(&self) -> u8 {
        self.b()[field::TAG_LEN]
    }

    /// Tag record: covered packets.
    pub fn covered_packets(&self) -> u32 {
        self.le32(field::PACKETS)
    }

    /// Tag record: covered bytes.
    pub fn covered_bytes(&self) -> u32 {
        self.le32(field::BYTES)
    }

    /// Tag record: message index of the first covered packet.
    pub fn first_index(&self) -> u32 {
        self.le32(field::FIRST_INDEX)
    }

    /// Tag record: message index of the next original packet.
    pub fn end_index(&self) -> u32 {
        self.le32(field::END_INDEX)
    }

    /// Tag record: record index within the frame.
    pub fn record_index(&self) -> u8 {
        self.b()[field::RECORD_INDEX]
    }

    /// Tag record: flags byte.
    pub fn flags(&self) -> u8 {
        self.b()[field::FLAGS]
    }

    /// Tag record: the bytes the tag covers (offsets 0..32).
    pub fn authenticated_fields(&self) -> &[u8] {
        let b = self.b();
        b.get(..RECORD_FIXED_LEN).unwrap_or(b)
    }

    /// Tag record: the tag.
    pub fn tag(&self) -> &[u8] {
        let b = self.b();
        b.get(field::TAG..b.len().saturating_sub(CRC_LEN))
            .unwrap_or_default()
    }

    /// The CRC-32 carried at the end.
    pub fn crc(&self) -> u32 {
        let b = self.b();
        let n = b.len();
        u32::from_le_bytes([b[n - 4], b[n - 3], b[n - 2], b[n - 1]])
    }

    /// Checks the CRC-32 (variant [`Profile::crc32`]).
    ///
    /// # Errors
    /// [`FusaError::Crc32Mismatch`].
    pub fn verify_crc(&self, profile: &Profile) -> Result<(), FusaError> {
        let b = self.b();
        let computed = crc32(profile, &b[..b.len() - CRC_LEN]);
        let received = self.crc();
        if computed == received {
            Ok(())
        } else {
            Err(FusaError::Crc32Mismatch { computed, received })
        }
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Tag record: the tag bytes, writable.
    pub fn tag_mut(&mut self) -> &mut [u8] {
        let b = self.buffer.as_mut();
        let end = b.len().saturating_sub(CRC_LEN);
        b.get_mut(field::TAG..end).unwrap_or_default()
    }

    /// Writes the CRC-32 over everything before it.
    pub fn fill_crc(&mut self, profile: &Profile) {
        let b = self.buffer.as_mut();
        let n = b.len();
        let c = crc32(profile, &b[..n - CRC_LEN]);
        b[n - CRC_LEN..].copy_from_slice(&c.to_le_bytes());
    }
}

/// The FuSa CRC-32 of FSED packets (variant [`Profile::crc32`]).
pub fn crc32(profile: &Profile, data: &[u8]) -> u32 {
    let mut c = Crc32::new(profile.crc32);
    c.update(data);
    c.finalize()
}

/// A frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// Full frame counter.
    pub frame_counter: u32,
    /// The CSI-2 frame number of this frame's FS and FE.
    pub frame_number: u16,
    /// Per-block configuration and key id.
    pub config: FrameConfig,
}

/// A tag record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TagRecord {
    /// Full frame counter.
    pub frame_counter: u32,
    /// Key id.
    pub key_id: KeyId,
    /// Scope kind (never [`ScopeKind::Message`]).
    pub scope: ScopeKind,
    /// Block.
    pub block: Block,
    /// Tag length.
    pub tag_len: TagLen,
    /// Original packets covered.
    pub covered_packets: u32,
    /// Payload bytes covered.
    pub covered_bytes: u32,
    /// Message index of the first covered packet.
    pub first_index: u32,
    /// Message index of the next original packet (the scope's packets lie in
    /// `first_index..end_index`).
    pub end_index: u32,
    /// Record index within the frame.
    pub record_index: u8,
    /// Last record of the frame.
    pub last: bool,
    /// The tag (the first `tag_len` bytes are used).
    pub tag: [u8; MAX_TAG_LEN],
}

/// The validated content of an FSED packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Repr {
    /// A frame header.
    FrameHeader(FrameHeader),
    /// A tag record.
    TagRecord(TagRecord),
}

fn encode_block(c: &BlockConfig, profile: &Profile) -> [u8; 8] {
    let (a, b) = c.sv.params();
    let a = a.to_le_bytes();
    let b = b.to_le_bytes();
    [
        c.sv.number(),
        profile.suite_ids.id(c.suite),
        c.tag_len.as_u8(),
        c.tag_mode.code(),
        a[0],
        a[1],
        b[0],
        b[1],
    ]
}

fn decode_block(b: &[u8], profile: &Profile) -> Result<BlockConfig, WireError> {
    let &[sv, suite, tag_len, mode, a0, a1, b0, b1] = b else {
        return Err(WireError::Truncated {
            needed: 8,
            available: b.len(),
        });
    };
    let level = SvLevel::try_from(sv).map_err(WireError::Config)?;
    let sv = SecurityVariant::from_parts(
        level,
        u16::from_le_bytes([a0, a1]),
        u16::from_le_bytes([b0, b1]),
    )
    .map_err(WireError::Config)?;
    // Parameters of SV-1/2/5 must be zero: one encoding per configuration.
    if sv.params() != (u16::from_le_bytes([a0, a1]), u16::from_le_bytes([b0, b1])) {
        return Err(WireError::Reserved);
    }
    let suite: CipherSuite = profile.suite_ids.suite(suite).map_err(WireError::Config)?;
    let tag_len = TagLen::from_wire(tag_len, profile.allow_hazmat_tag4)
        .map_err(|_| WireError::TagLen(tag_len))?;
    let tag_mode = TagMode::try_from(mode).map_err(WireError::Config)?;
    Ok(BlockConfig {
        sv,
        suite,
        tag_len,
        tag_mode,
    })
}

impl Repr {
    /// Parses a checked packet. Checks the version, reserved fields and every code; the
    /// CRC-32 is checked separately ([`Packet::verify_crc`]).
    ///
    /// # Errors
    /// [`WireError`] for any invalid field.
    pub fn parse<T: AsRef<[u8]>>(p: &Packet<T>, profile: &Profile) -> Result<Repr, WireError> {
        p.check_len()?;
        if p.version() != profile.format_version {
            return Err(WireError::Version(p.version()));
        }
        let kb = p.key_id_byte();
        if kb & !KEY_ID_MASK != 0 || p.b()[field::RESERVED] != 0 {
            return Err(WireError::Reserved);
        }
        let key_id = KeyId::new(kb & KEY_ID_MASK).map_err(WireError::Config)?;
        let frame_counter = p.frame_counter();
        match Kind::try_from(p.kind_byte())? {
            Kind::FrameHeader => {
                if p.b()[field::HEADER_RESERVED] != [0, 0] {
                    return Err(WireError::Reserved);
                }
                let top = decode_block(p.block_bytes(Block::Top), profile)?;
                let image = decode_block(p.block_bytes(Block::Image), profile)?;
                let bottom = decode_block(p.block_bytes(Block::Bottom), profile)?;
                let config = FrameConfig {
                    top,
                    image,
                    bottom,
                    key_id,
                };
                config.validate().map_err(WireError::Config)?;
                Ok(Repr::FrameHeader(FrameHeader {
                    frame_counter,
                    frame_number: p.frame_number(),
                    config,
                }))
            }
            Kind::TagRecord => {
                let scope = match p.scope_code() {
                    1 => ScopeKind::DataType(p.data_type()),
                    2 if p.data_type() == 0 => ScopeKind::Frame,
                    2 => return Err(WireError::Reserved),
                    other => return Err(WireError::UnknownScope(other)),
                };
                let block = Block::try_from(p.block_code()).map_err(WireError::Config)?;
                let t = p.tag_len_byte();
                let tag_len = TagLen::from_wire(t, profile.allow_hazmat_tag4)
                    .map_err(|_| WireError::TagLen(t))?;
                if p.flags() & !FLAG_LAST != 0 || p.b()[field::RECORD_RESERVED] != [0, 0] {
                    return Err(WireError::Reserved);
                }
                let mut tag = [0u8; MAX_TAG_LEN];
                let src = p.tag();
                tag.get_mut(..src.len())
                    .ok_or(WireError::TagLen(t))?
                    .copy_from_slice(src);
                Ok(Repr::TagRecord(TagRecord {
                    frame_counter,
                    key_id,
                    scope,
                    block,
                    tag_len,
                    covered_packets: p.covered_packets(),
                    covered_bytes: p.covered_bytes(),
                    first_index: p.first_index(),
                    end_index: p.end_index(),
                    record_index: p.record_index(),
                    last: p.flags() & FLAG_LAST != 0,
                    tag,
                }))
            }
        }
    }

    /// Length of the emitted payload.
    pub fn buffer_len(&self) -> usize {
        match self {
            Repr::FrameHeader(_) => FRAME_HEADER_LEN,
            Repr::TagRecord(r) => record_len(r.tag_len.get()),
        }
    }

    /// Emits the payload, CRC-32 included, into `buf[..buffer_len()]`.
    ///
    /// # Errors
    /// [`WireError::Truncated`] when `buf` is too short (nothing written);
    /// [`WireError::UnknownScope`] for a [`ScopeKind::Message`] record.
    pub fn emit(&self, buf: &mut [u8], profile: &Profile) -> Result<usize, WireError> {
        let n = self.buffer_len();
        let available = buf.len();
        let Some(b) = buf.get_mut(..n) else {
            return Err(WireError::Truncated {
                needed: n,
                available,
            });
        };
        let mut tmp = [0u8; record_len(MAX_TAG_LEN)];
        let t = &mut tmp[..n];
        t[field::VERSION] = profile.format_version;
        match self {
            Repr::FrameHeader(h) => {
                t[field::KIND] = Kind::FrameHeader as u8;
                t[field::KEY_ID] = h.config.key_id.get();
                t[field::FRAME_COUNTER].copy_from_slice(&h.frame_counter.to_le_bytes());
                t[field::FRAME_NUMBER].copy_from_slice(&h.frame_number.to_le_bytes());
                for blk in Block::ALL {
                    let at = field::BLOCKS + usize::from(blk.code()) * field::BLOCK_LEN;
                    t[at..at + field::BLOCK_LEN]
                        .copy_from_slice(&encode_block(h.config.block(blk), profile));
                }
                let _ = field::HEADER_CRC;
            }
            Repr::TagRecord(r) => {
                t[field::KIND] = Kind::TagRecord as u8;
                t[field::KEY_ID] = r.key_id.get();
                t[field::FRAME_COUNTER].copy_from_slice(&r.frame_counter.to_le_bytes());
                t[field::SCOPE] = match r.scope {
                    ScopeKind::Message => return Err(WireError::UnknownScope(0)),
                    s => s.code(),
                };
                t[field::BLOCK] = r.block.code();
                t[field::DATA_TYPE] = r.scope.data_type();
                t[field::TAG_LEN] = r.tag_len.as_u8();
                t[field::PACKETS].copy_from_slice(&r.covered_packets.to_le_bytes());
                t[field::BYTES].copy_from_slice(&r.covered_bytes.to_le_bytes());
                t[field::FIRST_INDEX].copy_from_slice(&r.first_index.to_le_bytes());
                t[field::END_INDEX].copy_from_slice(&r.end_index.to_le_bytes());
                t[field::RECORD_INDEX] = r.record_index;
                t[field::FLAGS] = if r.last { FLAG_LAST } else { 0 };
                let tl = r.tag_len.get();
                t[field::TAG..field::TAG + tl].copy_from_slice(&r.tag[..tl]);
            }
        }
        let mut p = Packet::new_unchecked(&mut *t);
        p.fill_crc(profile);
        b.copy_from_slice(t);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: Profile = Profile::DRAFT_1;

    fn header() -> Repr {
        let mut config = FrameConfig::uniform(
            BlockConfig {
                sv: SecurityVariant::FullIntegrity,
                suite: CipherSuite::Aes256Gmac,
                tag_len: TagLen::L16,
                tag_mode: TagMode::PerFrame,
            },
            KeyId::new(2).unwrap_or_default(),
        );
        config.image.sv = SecurityVariant::LinePartialIntegrity {
            stride: 4,
            offset: 1,
        };
        Repr::FrameHeader(FrameHeader {
            frame_counter: 0x0102_0304,
            frame_number: 7,
            config,
        })
    }

    fn record() -> Repr {
        Repr::TagRecord(TagRecord {
            frame_counter: 9,
            key_id: KeyId::default(),
            scope: ScopeKind::DataType(0x2C),
            block: Block::Image,
            tag_len: TagLen::L12,
            covered_packets: 3,
            covered_bytes: 300,
            first_index: 2,
            end_index: 9,
            record_index: 1,
            last: true,
            tag: [0xAB; 16],
        })
    }

    fn round_trip(r: Repr) -> [u8; 52] {
        let mut buf = [0u8; 52];
        let n = r.emit(&mut buf, &P).unwrap_or_default();
        assert_eq!(n, r.buffer_len());
        let p = Packet::new_checked(&buf[..n]).expect("checked");
        p.verify_crc(&P).expect("crc");
        let mut back = Repr::parse(&p, &P).expect("parse");
        if let (Repr::TagRecord(a), Repr::TagRecord(b)) = (&mut back, &r) {
            // Only the first tag_len bytes travel.
            a.tag[b.tag_len.get()..].copy_from_slice(&b.tag[b.tag_len.get()..]);
        }
        assert_eq!(back, r);
        buf
    }

    #[test]
    fn frame_header_round_trips_with_documented_layout() {
        let b = round_trip(header());
        assert_eq!(&b[..12], &[1, 1, 2, 0, 4, 3, 2, 1, 7, 0, 0, 0]);
        // image block: SV-3, suite id of AES-256-GMAC, 16, per frame, stride 4, offset 1.
        assert_eq!(
            &b[20..28],
            &[
                3,
                P.suite_ids.id(CipherSuite::Aes256Gmac),
                16,
                2,
                4,
                0,
                1,
                0
            ]
        );
    }

    #[test]
    fn tag_record_round_trips_with_documented_layout() {
        let b = round_trip(record());
        assert_eq!(
            &b[..32],
            &[
                1, 2, 0, 0, 9, 0, 0, 0, 1, 1, 0x2C, 12, 3, 0, 0, 0, 44, 1, 0, 0, 2, 0, 0, 0, 1, 1,
                0, 0, 9, 0, 0, 0
            ]
        );
        assert_eq!(&b[32..44], &[0xAB; 12]);
    }

    #[test]
    fn rejects_truncated_and_trailing_payloads() {
        let mut buf = [0u8; 52];
        let n = header().emit(&mut buf, &P).unwrap_or_default();
        for len in 0..n {
            assert!(Packet::new_checked(&buf[..len]).is_err());
        }
        assert_eq!(
            Packet::new_checked(&buf[..n + 1]).err(),
            Some(WireError::TrailingData(1))
        );
    }

    #[test]
    fn rejects_reserved_bits_and_unknown_codes() {
        let mut buf = [0u8; 52];
        let n = record().emit(&mut buf, &P).unwrap_or_default();
        for (at, v) in [
            (0, 2u8),
            (1, 3),
            (2, 4),
            (3, 1),
            (8, 0),
            (8, 3),
            (9, 3),
            (11, 5),
            (25, 2),
            (26, 1),
        ] {
            let mut b = buf;
            b[at] = v;
            let r = Packet::new_checked(&b[..n]).and_then(|p| Repr::parse(&p, &P));
            assert!(r.is_err(), "byte {at} = {v} accepted");
        }
    }

    #[test]
    fn rejects_parameters_on_variants_without_them() {
        let mut buf = [0u8; 52];
        let n = header().emit(&mut buf, &P).unwrap_or_default();
        // Top block is SV-2: parameter a must be zero.
        buf[16] = 1;
        let p = Packet::new_checked(&buf[..n]).expect("checked");
        assert_eq!(Repr::parse(&p, &P), Err(WireError::Reserved));
    }

    #[test]
    fn crc_detects_every_single_bit_flip() {
        let mut buf = [0u8; 52];
        let n = header().emit(&mut buf, &P).unwrap_or_default();
        for bit in 0..n * 8 {
            let mut b = buf;
            b[bit / 8] ^= 1 << (bit % 8);
            if let Ok(p) = Packet::new_checked(&b[..n]) {
                assert!(p.verify_crc(&P).is_err());
            }
        }
    }

    #[test]
    fn emit_refuses_short_buffer_and_message_scope() {
        let mut small = [0u8; 10];
        assert!(header().emit(&mut small, &P).is_err());
        assert_eq!(small, [0u8; 10]);
        let Repr::TagRecord(mut r) = record() else {
            return;
        };
        r.scope = ScopeKind::Message;
        let mut buf = [0u8; 52];
        assert!(Repr::TagRecord(r).emit(&mut buf, &P).is_err());
    }
}
