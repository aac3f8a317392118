//! The SEP packet codec: a [`Packet`] view over the SEP payload and a validated [`Repr`].
//!
//! An SEP packet is one CSI-2 long packet (data type [`Profile::dt_sep`], default 0x3E) whose
//! payload is laid out as below. The outer CSI-2 header (with ECC) and CRC-16 footer are
//! handled by [`cse_core::csi2`]; this module covers the SEP payload only. Multi-byte fields
//! are little-endian (the CSI-2 convention).
//!
//! ```text
//! SEP payload = header (12) [‖ frame extension (28), FS only] ‖ body (L) ‖ tag (T) ‖ CRC-32 (4)
//!
//! header
//! offset size field
//!  0     1    format version (Profile::format_version)
//!  1     1    flags: bit 7 E (body encrypted), bit 6 T (tag present), bit 5 X (frame extension
//!             present), bit 4 reserved 0, bits 3..2 phase (0 single, 1 member, 2 close),
//!             bits 1..0 key id
//!  2     1    bits 2..0 SV number (1..=5), bits 4..3 block (0 top, 1 image, 2 bottom),
//!             bits 6..5 tag mode (0 per message, 1 per data type, 2 per frame), bit 7 reserved 0
//!  3     1    original virtual channel (0..=31, VCX included)
//!  4     1    original data type (of a close record: the scope's data type, 0 for a frame scope)
//!  5     1    tag length in bytes (0 when T is clear)
//!  6     2    original word count, or the 16-bit data of a short packet (LE)
//!  8     4    message index within the frame (LE)
//!
//! frame extension (X set; only on the SEP packet of FS)
//!  0     4    frame counter, full 32 bits (LE)
//!  4     8    top block:    SV number, suite id, tag length, tag mode, param a (LE), param b (LE)
//! 12     8    image block:  same layout
//! 20     8    bottom block: same layout
//!
//! body  L = original word count for a long original packet or a close record, 0 for a short
//!       original packet. Under SV-1 (E set) it is the ciphertext. A close record's body is
//!       the number of packets its scope covered (u32 LE, so L = 4).
//! tag   T = the tag length byte, present when T is set.
//! CRC-32 over header ‖ extension ‖ body ‖ tag, variant Profile::crc32, stored LE.
//! ```
//!
//! # Panic contract
//!
//! After [`Packet::new_checked`] succeeds no accessor panics. [`Repr::parse`] and
//! [`Repr::emit`] never panic; `emit` writes exactly [`Repr::buffer_len`] bytes or returns an
//! error and writes nothing.

use cse_core::crc::Crc32;
use cse_core::{
    Block, BlockConfig, CipherSuite, ConfigError, FrameConfig, KeyId, Profile, SecurityVariant,
    SvLevel, TagLen, TagMode,
};

/// Length of the fixed SEP header.
pub const HEADER_LEN: usize = 12;
/// Length of the frame extension carried by the SEP packet of FS.
pub const FRAME_EXT_LEN: usize = 28;
/// Length of the FuSa CRC-32 trailer.
pub const CRC_LEN: usize = 4;
/// Length of a close record's body (the covered packet count).
pub const CLOSE_BODY_LEN: usize = 4;

mod field {
    pub(super) type Field = core::ops::Range<usize>;
    pub(super) const VERSION: usize = 0;
    pub(super) const FLAGS: usize = 1;
    pub(super) const SV_BLOCK_MODE: usize = 2;
    pub(super) const ORIG_VC: usize = 3;
    pub(super) const ORIG_DT: usize = 4;
    pub(super) const TAG_LEN: usize = 5;
    pub(super) const ORIG_WC: Field = 6..8;
    pub(super) const MSG_INDEX: Field = 8..12;
    // Offsets inside the frame extension.
    pub(super) const EXT_FRAME_COUNTER: Field = 0..4;
    pub(super) const EXT_BLOCKS: usize = 4;
    pub(super) const EXT_BLOCK_LEN: usize = 8;
}

const FLAG_E: u8 = 0x80;
const FLAG_T: u8 = 0x40;
const FLAG_X: u8 = 0x20;
const FLAG_RESERVED: u8 = 0x10;
const PHASE_SHIFT: u32 = 2;

/// A malformed SEP payload. Small and `Copy`; parsing is independent of any session state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// The payload ends before a field it announces.
    #[error("truncated SEP payload: need {needed} bytes, have {available}")]
    Truncated {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
    /// Bytes after the CRC-32 (the payload is longer than its header describes).
    #[error("SEP payload has {0} trailing bytes")]
    TrailingData(usize),
    /// A format version other than the profile's.
    #[error("unsupported SEP format version {0}")]
    Version(u8),
    /// A reserved bit is set or a field holds a code outside its range.
    #[error("invalid SEP header field at offset {0}")]
    BadField(usize),
    /// A field combination the format forbids (e.g. a tag without a tag length).
    #[error("inconsistent SEP header: {0}")]
    Inconsistent(&'static str),
    /// A configuration carried in the frame extension is invalid.
    #[error("invalid frame configuration: {0}")]
    Config(ConfigError),
    /// The buffer is too small to emit into.
    #[error("buffer too small: need {needed} bytes, have {available}")]
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
}

/// Where a packet stands relative to its tag scope.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Phase {
    /// Protected on its own: carries its own tag (or nothing under SV-5).
    Single = 0,
    /// A member of an open per-data-type or per-frame scope: no tag.
    Member = 1,
    /// A close record: carries the tag of a scope and no original packet.
    Close = 2,
}

impl TryFrom<u8> for Phase {
    type Error = WireError;
    fn try_from(v: u8) -> Result<Self, WireError> {
        match v {
            0 => Ok(Phase::Single),
            1 => Ok(Phase::Member),
            2 => Ok(Phase::Close),
            _ => Err(WireError::BadField(field::FLAGS)),
        }
    }
}

/// The validated SEP header fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Header {
    /// Body encrypted (SV-1).
    pub encrypted: bool,
    /// Scope phase.
    pub phase: Phase,
    /// Key id of the frame.
    pub key_id: KeyId,
    /// Security level of the packet's block.
    pub sv: SvLevel,
    /// Block the packet belongs to.
    pub block: Block,
    /// Tag mode of the block.
    pub tag_mode: TagMode,
    /// Original virtual channel (0..=31).
    pub orig_vc: u8,
    /// Original data type (a close record: the scope's data type).
    pub orig_dt: u8,
    /// Tag length, `None` when no tag is present.
    pub tag_len: Option<TagLen>,
    /// Original word count or short-packet data.
    pub orig_wc: u16,
    /// Message index within the frame.
    pub message_index: u32,
}

impl Header {
    /// Length of the body this header announces.
    pub fn body_len(&self) -> usize {
        if self.phase == Phase::Close || !cse_core::csi2::DataType(self.orig_dt).is_short() {
            usize::from(self.orig_wc)
        } else {
            0
        }
    }

    /// The 12 header bytes.
    pub fn to_bytes(&self, profile: &Profile, has_ext: bool) -> [u8; HEADER_LEN] {
        let mut b = [0u8; HEADER_LEN];
        b[field::VERSION] = profile.format_version;
        let mut flags = ((self.phase as u8) << PHASE_SHIFT) | (self.key_id.get() & 0x03);
        if self.encrypted {
            flags |= FLAG_E;
        }
        if self.tag_len.is_some() {
            flags |= FLAG_T;
        }
        if has_ext {
            flags |= FLAG_X;
        }
        b[field::FLAGS] = flags;
        b[field::SV_BLOCK_MODE] =
            (self.sv.number() & 0x07) | (self.block.code() << 3) | (self.tag_mode.code() << 5);
        b[field::ORIG_VC] = self.orig_vc;
        b[field::ORIG_DT] = self.orig_dt;
        b[field::TAG_LEN] = self.tag_len.map_or(0, TagLen::as_u8);
        b[field::ORIG_WC].copy_from_slice(&self.orig_wc.to_le_bytes());
        b[field::MSG_INDEX].copy_from_slice(&self.message_index.to_le_bytes());
        b
    }

    /// Parses the 12 header bytes; also returns whether the frame extension follows.
    ///
    /// # Errors
    /// [`WireError`] for a wrong version, reserved bits or out-of-range codes.
    pub fn parse(b: &[u8], profile: &Profile) -> Result<(Header, bool), WireError> {
        let Some(b) = b.get(..HEADER_LEN) else {
            return Err(WireError::Truncated {
                needed: HEADER_LEN,
                available: b.len(),
            });
        };
        if b[field::VERSION] != profile.format_version {
            return Err(WireError::Version(b[field::VERSION]));
        }
        let flags = b[field::FLAGS];
        if flags & FLAG_RESERVED != 0 {
            return Err(WireError::BadField(field::FLAGS));
        }
        let phase = Phase::try_from((flags >> PHASE_SHIFT) & 0x03)?;
        let key_id = KeyId::new(flags & 0x03).map_err(|_| WireError::BadField(field::FLAGS))?;
        let sbm = b[field::SV_BLOCK_MODE];
        let bad = WireError::BadField(field::SV_BLOCK_MODE);
        if sbm & 0x80 != 0 {
            return Err(bad);
        }
        let sv = SvLevel::try_from(sbm & 0x07).map_err(|_| bad)?;
        let block = Block::try_from((sbm >> 3) & 0x03).map_err(|_| bad)?;
        let tag_mode = TagMode::try_from((sbm >> 5) & 0x03).map_err(|_| bad)?;
        let orig_vc = b[field::ORIG_VC];
        if orig_vc > cse_core::csi2::VirtualChannel::MAX {
            return Err(WireError::BadField(field::ORIG_VC));
        }
        let raw_tag = b[field::TAG_LEN];
        let tag_len = match (flags & FLAG_T != 0, raw_tag) {
            (false, 0) => None,
            (true, n) => Some(
                TagLen::from_wire(n, profile.allow_hazmat_tag4)
                    .map_err(|_| WireError::BadField(field::TAG_LEN))?,
            ),
            (false, _) => return Err(WireError::Inconsistent("tag length without T flag")),
        };
        let orig_wc = u16::from_le_bytes([b[6], b[7]]);
        let message_index = u32::from_le_bytes([b[8], b[9], b[10], b[11]]);
        let h = Header {
            encrypted: flags & FLAG_E != 0,
            phase,
            key_id,
            sv,
            block,
            tag_mode,
            orig_vc,
            orig_dt: b[field::ORIG_DT],
            tag_len,
            orig_wc,
            message_index,
        };
        h.check_rules()?;
        Ok((h, flags & FLAG_X != 0))
    }

    /// The rules a header obeys on its own, whatever the session state.
    fn check_rules(&self) -> Result<(), WireError> {
        match self.phase {
            Phase::Close if self.tag_len.is_none() => {
                Err(WireError::Inconsistent("close record without a tag"))
            }
            Phase::Close if usize::from(self.orig_wc) != CLOSE_BODY_LEN => {
                Err(WireError::Inconsistent("close record body must be 4 bytes"))
            }
            Phase::Close if self.encrypted => {
                Err(WireError::Inconsistent("close record marked encrypted"))
            }
            Phase::Member if self.tag_len.is_some() => {
                Err(WireError::Inconsistent("scope member with a tag"))
            }
            _ if self.sv == SvLevel::Sv5 && (self.tag_len.is_some() || self.encrypted) => Err(
                WireError::Inconsistent("SV-5 packet with a tag or encryption"),
            ),
            _ if self.encrypted && self.sv != SvLevel::Sv1 => {
                Err(WireError::Inconsistent("encryption outside SV-1"))
            }
            _ => Ok(()),
        }
    }
}

/// The frame extension: the full frame counter and the frame's per-block configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FrameExt {
    /// Full 32-bit frame counter.
    pub frame_counter: u32,
    /// Per-block configuration (its `key_id` is the header's key id).
    pub config: FrameConfig,
}

fn block_to_bytes(c: &BlockConfig, profile: &Profile) -> [u8; 8] {
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

fn block_from_bytes(b: &[u8], profile: &Profile) -> Result<BlockConfig, WireError> {
    let Some(&[sv, suite_byte, tag, mode, a0, a1, b0, b1]) = b.get(..8) else {
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
    let suite: CipherSuite = profile
        .suite_ids
        .suite(suite_byte)
        .map_err(WireError::Config)?;
    let tag_len = TagLen::from_wire(tag, profile.allow_hazmat_tag4).map_err(WireError::Config)?;
    let tag_mode = TagMode::try_from(mode).map_err(WireError::Config)?;
    let cfg = BlockConfig {
        sv,
        suite,
        tag_len,
        tag_mode,
    };
    // Canonical form: the bytes must re-encode identically (e.g. SV-2 with nonzero params).
    if block_to_bytes(&cfg, profile) != [level.number(), suite_byte, tag, mode, a0, a1, b0, b1] {
        return Err(WireError::Inconsistent("non-canonical block configuration"));
    }
    Ok(cfg)
}

impl FrameExt {
    /// The 28 extension bytes.
    pub fn to_bytes(&self, profile: &Profile) -> [u8; FRAME_EXT_LEN] {
        let mut out = [0u8; FRAME_EXT_LEN];
        out[field::EXT_FRAME_COUNTER].copy_from_slice(&self.frame_counter.to_le_bytes());
        for (i, b) in Block::ALL.iter().enumerate() {
            let at = field::EXT_BLOCKS + i * field::EXT_BLOCK_LEN;
            out[at..at + field::EXT_BLOCK_LEN]
                .copy_from_slice(&block_to_bytes(self.config.block(*b), profile));
        }
        out
    }

    /// Parses the 28 extension bytes; `key_id` comes from the header.
    ///
    /// # Errors
    /// [`WireError::Truncated`], [`WireError::Config`] for invalid or non-canonical
    /// configurations (validated per block with [`BlockConfig::validate`]).
    pub fn parse(b: &[u8], key_id: KeyId, profile: &Profile) -> Result<FrameExt, WireError> {
        let Some(b) = b.get(..FRAME_EXT_LEN) else {
            return Err(WireError::Truncated {
                needed: FRAME_EXT_LEN,
                available: b.len(),
            });
        };
        let fc = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        let blk = |i: usize| {
            let at = field::EXT_BLOCKS + i * field::EXT_BLOCK_LEN;
            block_from_bytes(&b[at..at + field::EXT_BLOCK_LEN], profile)
        };
        let config = FrameConfig {
            top: blk(0)?,
            image: blk(1)?,
            bottom: blk(2)?,
            key_id,
        };
        config.validate().map_err(WireError::Config)?;
        Ok(FrameExt {
            frame_counter: fc,
            config,
        })
    }
}

/// A read/write view of one SEP payload (the payload of the outer CSI-2 long packet).
///
/// Unlike a bare smoltcp view it keeps the header it validated in [`Packet::new_checked`]
/// (12 bytes of `Copy` data), because where the body and tag sit depends on it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
    header: Header,
    layout: Layout,
}

/// Byte ranges of the parts of one SEP payload.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Layout {
    /// Header and, when present, the frame extension: the bytes a MAC covers as header.
    pub header: core::ops::Range<usize>,
    /// Frame extension, empty when absent.
    pub ext: core::ops::Range<usize>,
    /// Body (original payload or ciphertext, or a close record's count).
    pub body: core::ops::Range<usize>,
    /// Tag, empty when absent.
    pub tag: core::ops::Range<usize>,
    /// CRC-32.
    pub crc: core::ops::Range<usize>,
}

impl Layout {
    /// The layout a header describes.
    pub fn of(header: &Header, has_ext: bool) -> Layout {
        let ext_len = if has_ext { FRAME_EXT_LEN } else { 0 };
        let ext = HEADER_LEN..HEADER_LEN + ext_len;
        let body = ext.end..ext.end + header.body_len();
        let tag = body.end..body.end + header.tag_len.map_or(0, TagLen::get);
        let crc = tag.end..tag.end + CRC_LEN;
        Layout {
            header: 0..ext.end,
            ext,
            body,
            tag,
            crc,
        }
    }

    /// Total length of the SEP payload.
    pub fn total(&self) -> usize {
        self.crc.end
    }
}

/// CRC-32 of `data` with the profile's variant.
pub fn crc32(profile: &Profile, data: &[u8]) -> u32 {
    let mut c = Crc32::new(profile.crc32);
    c.update(data);
    c.finalize()
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wraps a buffer after checking that it holds exactly one well-formed SEP payload
    /// (version, reserved bits, codes, header rules, lengths; not the CRC, see
    /// [`Packet::verify_crc`], and not the frame extension's contents, see [`Repr::parse`]).
    ///
    /// # Errors
    /// [`WireError`] for any malformed or truncated field, or trailing bytes.
    pub fn new_checked(buffer: T, profile: &Profile) -> Result<Packet<T>, WireError> {
        let b = buffer.as_ref();
        let (header, has_ext) = Header::parse(b, profile)?;
        let layout = Layout::of(&header, has_ext);
        if b.len() < layout.total() {
            return Err(WireError::Truncated {
                needed: layout.total(),
                available: b.len(),
            });
        }
        if b.len() > layout.total() {
            return Err(WireError::TrailingData(b.len() - layout.total()));
        }
        Ok(Packet {
            buffer,
            header,
            layout,
        })
    }

    /// The validated header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Whether the frame extension is present.
    pub fn has_ext(&self) -> bool {
        !self.layout.ext.is_empty()
    }

    /// The byte layout.
    pub fn layout(&self) -> &Layout {
        &self.layout
    }

    /// Header bytes, with the frame extension when present: what a MAC covers as header.
    pub fn header_bytes(&self) -> &[u8] {
        self.slice(self.layout.header.clone())
    }

    /// The frame extension bytes (empty when absent).
    pub fn ext_bytes(&self) -> &[u8] {
        self.slice(self.layout.ext.clone())
    }

    /// The body: original payload, ciphertext, or a close record's count.
    pub fn body(&self) -> &[u8] {
        self.slice(self.layout.body.clone())
    }

    /// The tag bytes (empty when absent).
    pub fn tag(&self) -> &[u8] {
        self.slice(self.layout.tag.clone())
    }

    /// The CRC-32 as carried.
    pub fn crc(&self) -> u32 {
        match self.slice(self.layout.crc.clone()) {
            [a, b, c, d] => u32::from_le_bytes([*a, *b, *c, *d]),
            _ => 0,
        }
    }

    /// Checks the CRC-32 over header..tag.
    ///
    /// # Errors
    /// [`cse_core::FusaError::Crc32Mismatch`].
    pub fn verify_crc(&self, profile: &Profile) -> Result<(), cse_core::FusaError> {
        let computed = crc32(profile, self.slice(0..self.layout.crc.start));
        let received = self.crc();
        if computed == received {
            Ok(())
        } else {
            Err(cse_core::FusaError::Crc32Mismatch { computed, received })
        }
    }

    /// [`Packet::verify_crc`] against a CRC-32 already computed over the bytes before the CRC
    /// field, which in a valid packet are all but its last four
    /// ([`cse_core::csi2::Repr::parse_with_record_crc32`] computes it in the pass of the CSI-2
    /// CRC-16).
    ///
    /// # Errors
    /// [`cse_core::FusaError::Crc32Mismatch`].
    pub fn verify_computed_crc(&self, computed: u32) -> Result<(), cse_core::FusaError> {
        let received = self.crc();
        if computed == received {
            Ok(())
        } else {
            Err(cse_core::FusaError::Crc32Mismatch { computed, received })
        }
    }

    /// The wrapped buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn slice(&self, r: core::ops::Range<usize>) -> &[u8] {
        self.buffer.as_ref().get(r).unwrap_or_default()
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// The body, writable (for in-place decryption).
    pub fn body_mut(&mut self) -> &mut [u8] {
        let r = self.layout.body.clone();
        self.buffer.as_mut().get_mut(r).unwrap_or_default()
    }
}

/// The validated values of an SEP payload, apart from body and tag bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Repr {
    /// The header.
    pub header: Header,
    /// The frame extension (FS only).
    pub ext: Option<FrameExt>,
}

impl Repr {
    /// Parses a checked packet, including the frame extension's configuration.
    ///
    /// # Errors
    /// [`WireError::Config`] for an invalid configuration in the frame extension.
    pub fn parse<T: AsRef<[u8]>>(packet: &Packet<T>, profile: &Profile) -> Result<Repr, WireError> {
        let header = *packet.header();
        let ext = if packet.has_ext() {
            Some(FrameExt::parse(packet.ext_bytes(), header.key_id, profile)?)
        } else {
            None
        };
        Ok(Repr { header, ext })
    }

    /// The layout of the payload this repr describes.
    pub fn layout(&self) -> Layout {
        Layout::of(&self.header, self.ext.is_some())
    }

    /// Length of the SEP payload.
    pub fn buffer_len(&self) -> usize {
        self.layout().total()
    }

    /// Writes header and extension at the start of `buf` (at least the header length).
    ///
    /// # Errors
    /// [`WireError::BufferTooSmall`]; nothing is written then.
    pub fn emit_header(&self, buf: &mut [u8], profile: &Profile) -> Result<(), WireError> {
        let l = self.layout();
        let Some(dst) = buf.get_mut(l.header.clone()) else {
            return Err(WireError::BufferTooSmall {
                needed: l.header.end,
                available: buf.len(),
            });
        };
        let (h, e) = dst.split_at_mut(HEADER_LEN);
        h.copy_from_slice(&self.header.to_bytes(profile, self.ext.is_some()));
        if let Some(ext) = &self.ext {
            e.copy_from_slice(&ext.to_bytes(profile));
        }
        Ok(())
    }

    /// Writes the whole SEP payload: header, extension, `body`, `tag` and the CRC-32. Writes
    /// exactly [`Repr::buffer_len`] bytes.
    ///
    /// # Errors
    /// [`WireError::Inconsistent`] when `body` or `tag` do not have the lengths the header
    /// announces, [`WireError::BufferTooSmall`]. Nothing is written on error.
    pub fn emit(
        &self,
        buf: &mut [u8],
        body: &[u8],
        tag: &[u8],
        profile: &Profile,
    ) -> Result<usize, WireError> {
        let l = self.layout();
        if body.len() != l.body.len() || tag.len() != l.tag.len() {
            return Err(WireError::Inconsistent("body or tag length"));
        }
        if buf.len() < l.total() {
            return Err(WireError::BufferTooSmall {
                needed: l.total(),
                available: buf.len(),
            });
        }
        self.emit_header(buf, profile)?;
        buf[l.body.clone()].copy_from_slice(body);
        buf[l.tag.clone()].copy_from_slice(tag);
        let crc = crc32(profile, &buf[..l.crc.start]);
        buf[l.crc.clone()].copy_from_slice(&crc.to_le_bytes());
        Ok(l.total())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    const P: Profile = Profile::DRAFT_1;

    /// A per-message SV-2 RAW12 packet: header, 4 body bytes, 8-byte tag, CRC-32.
    fn header() -> Header {
        Header {
            encrypted: false,
            phase: Phase::Single,
            key_id: KeyId::new(1).unwrap_or_default(),
            sv: SvLevel::Sv2,
            block: Block::Image,
            tag_mode: TagMode::PerMessage,
            orig_vc: 2,
            orig_dt: 0x2C,
            tag_len: Some(TagLen::L8),
            orig_wc: 4,
            message_index: 0x0102_0304,
        }
    }

    fn emitted() -> std::vec::Vec<u8> {
        let repr = Repr {
            header: header(),
            ext: None,
        };
        let mut buf = std::vec![0u8; repr.buffer_len()];
        let n = repr.emit(&mut buf, &[1, 2, 3, 4], &[0xAA; 8], &P);
        assert_eq!(n, Ok(buf.len()));
        buf
    }

    extern crate std;

    #[test]
    fn header_bytes_follow_the_documented_layout() {
        let b = emitted();
        // version, flags (T, key id 1), SV 2 | image << 3 | mode 0, VC, DT, tag len, WC, index
        assert_eq!(b[..12], hex!("01 41 0a 02 2c 08 04 00 04 03 02 01"));
        assert_eq!(b[12..16], [1, 2, 3, 4]);
        assert_eq!(b[16..24], [0xAA; 8]);
        let crc = crc32(&P, &b[..24]).to_le_bytes();
        assert_eq!(b[24..], crc);
    }

    #[test]
    fn parses_what_it_emits() {
        let b = emitted();
        let p = Packet::new_checked(&b[..], &P).unwrap();
        assert_eq!(*p.header(), header());
        assert_eq!(p.body(), &[1, 2, 3, 4]);
        assert_eq!(p.tag(), &[0xAA; 8]);
        assert_eq!(p.verify_crc(&P), Ok(()));
        assert_eq!(Repr::parse(&p, &P).map(|r| r.header), Ok(header()));
    }

    #[test]
    fn rejects_truncated_and_trailing_bytes() {
        let b = emitted();
        for n in 0..b.len() {
            assert!(matches!(
                Packet::new_checked(&b[..n], &P),
                Err(WireError::Truncated { .. })
            ));
        }
        let mut longer = b.clone();
        longer.push(0);
        assert_eq!(
            Packet::new_checked(&longer[..], &P),
            Err(WireError::TrailingData(1))
        );
    }

    #[test]
    fn rejects_reserved_bits_bad_codes_and_inconsistent_flags() {
        let b = emitted();
        let bad = |at: usize, v: u8| {
            let mut c = b.clone();
            c[at] = v;
            Packet::new_checked(&c[..], &P).map(|_| ())
        };
        assert_eq!(bad(0, 2), Err(WireError::Version(2)));
        assert_eq!(bad(1, 0x51), Err(WireError::BadField(1))); // reserved flag bit
        assert_eq!(bad(1, 0x4D), Err(WireError::BadField(1))); // phase 3
        assert_eq!(bad(2, 0x8A), Err(WireError::BadField(2))); // reserved bit
        assert_eq!(bad(2, 0x0E), Err(WireError::BadField(2))); // SV 6
        assert_eq!(bad(2, 0x1A), Err(WireError::BadField(2))); // block 3
        assert_eq!(bad(2, 0x6A), Err(WireError::BadField(2))); // tag mode 3
        assert_eq!(bad(3, 32), Err(WireError::BadField(3))); // VC 32
        assert_eq!(bad(5, 9), Err(WireError::BadField(5))); // tag length 9
        assert_eq!(bad(5, 4), Err(WireError::BadField(5))); // hazmat 4 not allowed
        assert!(matches!(bad(1, 0x01), Err(WireError::Inconsistent(_)))); // length without T
        assert!(matches!(bad(1, 0x45), Err(WireError::Inconsistent(_)))); // member with tag
        assert!(matches!(bad(2, 0x0D), Err(WireError::Inconsistent(_)))); // SV-5 with tag
        assert!(matches!(bad(1, 0xC1), Err(WireError::Inconsistent(_)))); // E outside SV-1
    }

    #[test]
    fn frame_extension_round_trips_and_must_be_canonical() {
        let config = FrameConfig {
            top: BlockConfig::full_integrity(CipherSuite::Aes128Cmac),
            image: BlockConfig {
                sv: SecurityVariant::BytePartialIntegrity { start: 3, len: 700 },
                suite: CipherSuite::Aes128Cmac,
                tag_len: TagLen::L12,
                tag_mode: TagMode::PerFrame,
            },
            bottom: BlockConfig::no_security(),
            key_id: KeyId::new(2).unwrap_or_default(),
        };
        let ext = FrameExt {
            frame_counter: 0x0A0B_0C0D,
            config,
        };
        let b = ext.to_bytes(&P);
        assert_eq!(
            b,
            hex!(
                "0d 0c 0b 0a"
                "02 03 10 00 00 00 00 00"
                "04 03 0c 02 03 00 bc 02"
                "05 03 10 00 00 00 00 00"
            )
        );
        assert_eq!(FrameExt::parse(&b, config.key_id, &P), Ok(ext));
        // SV-2 with a nonzero parameter is not canonical.
        let mut c = b;
        c[8] = 1;
        assert!(FrameExt::parse(&c, config.key_id, &P).is_err());
        // SV-4 outside the image block is invalid.
        let mut c = b;
        c[4] = 4;
        c[8] = 1;
        c[10] = 1;
        assert!(matches!(
            FrameExt::parse(&c, config.key_id, &P),
            Err(WireError::Config(_))
        ));
        // Unknown suite id.
        let mut c = b;
        c[5] = 0x7F;
        assert!(FrameExt::parse(&c, config.key_id, &P).is_err());
    }

    #[test]
    fn emit_refuses_wrong_lengths_and_small_buffers_without_writing() {
        let repr = Repr {
            header: header(),
            ext: None,
        };
        let mut buf = [0x55u8; 28];
        assert!(repr.emit(&mut buf, &[1, 2, 3], &[0; 8], &P).is_err());
        assert!(repr.emit(&mut buf, &[1, 2, 3, 4], &[0; 7], &P).is_err());
        assert!(
            repr.emit(&mut buf[..27], &[1, 2, 3, 4], &[0; 8], &P)
                .is_err()
        );
        assert_eq!(buf, [0x55; 28]);
    }
}
