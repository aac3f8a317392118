//! 96-bit IV construction: `IV = salt(12) XOR (stream_id(4, BE) ‖ PN(8, BE))`.
//!
//! ```text
//! byte    0   1   2   3   4   5   6   7   8   9  10  11
//!       +---------------+-------------------------------+
//!       | stream id, BE |     packet number, BE         |   XOR salt[0..12]
//!       +---------------+-------------------------------+
//! ```
//!
//! # Stream id
//!
//! A 32-bit value naming the stream and the kind of scope a tag closes:
//!
//! ```text
//! bit  31      direction      0 = sensor to controller, 1 = controller to sensor
//! bits 30..28  protocol       0 = SEP, 1 = FSED, 2 = CCISE
//! bits 27..26  scope kind     0 = message, 1 = data type, 2 = frame
//! bits 25..24  block          0 = top, 1 = image, 2 = bottom (CCISE uses 0)
//! bits 23..16  data type      the DT of a per-data-type scope, 0 for other scopes
//! bits 15..11  virtual chan.  0..=31 (VC with the VCX extension bits)
//! bits 10..0   reserved       0
//! ```
//!
//! # Packet number
//!
//! ```text
//! bits 63..32  frame counter  (32-bit, carried in full by the protocol)
//! bits 31..0   message index  (per frame; 0 for per-data-type and per-frame scopes)
//! ```
//!
//! # Why scopes never collide with messages
//!
//! With a 96-bit IV, GCM/GMAC uses `J0 = IV ‖ 0x00000001` to mask the tag and
//! `IV ‖ 0x00000002`, `IV ‖ 0x00000003`, ... as CTR counter blocks. Two counter blocks can only
//! be equal when their IVs are equal and their 32-bit counters are equal. The map
//! `(stream id, PN) -> IV` is injective under one salt (XOR with a fixed salt is a bijection of
//! the 96-bit string `stream_id ‖ PN`), so:
//!
//! - the J0 of a per-data-type or per-frame scope and the J0 or counter blocks of a message
//!   differ in their IV, because the scope kind (and, per data type, the data type) are
//!   separate fields of the stream id; a scope that reuses `frame_counter << 32` as its PN still
//!   has another IV than message 0 of that frame;
//! - within one IV, J0 ends in 1 and counter blocks end in 2 or more; they would wrap back to 1
//!   only after 2^32 blocks (64 GiB), far beyond any CSI-2 packet (word count below 2^16).
//!
//! Keys never see the same `(stream id, PN)` twice: the transmitter's PN strictly increases,
//! and the key usage counters ([`crate::keys::KeyUsage`]) refuse to let the frame counter wrap.

use crate::error::ConfigError;
use crate::keys::Salt;
use crate::model::{Block, Direction, Protocol, ScopeKind};

/// A 96-bit GCM/GMAC/CTR initialisation vector.
///
/// Its `Debug` output is `Iv { .. }`: an IV is `salt XOR public data`, so printing it prints
/// the salt, a secret derived with the key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Iv(pub [u8; 12]);

impl core::fmt::Debug for Iv {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Iv { .. }")
    }
}

impl Iv {
    /// `salt XOR (stream_id(4, BE) ‖ pn(8, BE))`.
    pub fn new(salt: &Salt, stream: StreamId, pn: PacketNumber) -> Iv {
        let mut iv = [0u8; 12];
        let (sid, pnb) = iv.split_at_mut(4);
        sid.copy_from_slice(&stream.to_u32().to_be_bytes());
        pnb.copy_from_slice(&pn.get().to_be_bytes());
        for (b, s) in iv.iter_mut().zip(salt.as_bytes()) {
            *b ^= s;
        }
        Iv(iv)
    }

    /// The IV bytes.
    pub const fn as_bytes(&self) -> &[u8; 12] {
        &self.0
    }
}

/// The largest virtual channel a stream id holds (5 bits: VC plus the VCX extension).
pub const MAX_VIRTUAL_CHANNEL: u8 = 31;

/// The stream and scope part of an IV (see the [module docs](self) for the bit layout).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct StreamId {
    direction: Direction,
    protocol: Protocol,
    scope: ScopeKind,
    block: Block,
    vc: u8,
}

impl StreamId {
    /// A stream id from its fields.
    ///
    /// # Errors
    /// [`ConfigError::VirtualChannel`] when `vc` is above [`MAX_VIRTUAL_CHANNEL`].
    pub const fn new(
        direction: Direction,
        protocol: Protocol,
        scope: ScopeKind,
        block: Block,
        vc: u8,
    ) -> Result<Self, ConfigError> {
        if vc > MAX_VIRTUAL_CHANNEL {
            return Err(ConfigError::VirtualChannel(vc));
        }
        Ok(StreamId {
            direction,
            protocol,
            scope,
            block,
            vc,
        })
    }

    /// The same stream with another scope (for example the per-frame scope of a message stream).
    pub const fn with_scope(self, scope: ScopeKind) -> Self {
        StreamId { scope, ..self }
    }

    /// The 32-bit value placed, big-endian, in IV bytes 0..4.
    pub const fn to_u32(self) -> u32 {
        ((self.direction as u32) << 31)
            | ((self.protocol as u32 & 0x7) << 28)
            | ((self.scope.code() as u32 & 0x3) << 26)
            | ((self.block.code() as u32 & 0x3) << 24)
            | ((self.scope.data_type() as u32) << 16)
            | ((self.vc as u32 & 0x1F) << 11)
    }

    /// Traffic direction.
    pub const fn direction(self) -> Direction {
        self.direction
    }

    /// Protocol.
    pub const fn protocol(self) -> Protocol {
        self.protocol
    }

    /// Scope kind (with the data type of a per-data-type scope).
    pub const fn scope(self) -> ScopeKind {
        self.scope
    }

    /// Frame block.
    pub const fn block(self) -> Block {
        self.block
    }

    /// Virtual channel, 0..=31.
    pub const fn virtual_channel(self) -> u8 {
        self.vc
    }
}

/// A 64-bit packet number: `frame_counter << 32 | message_index`.
///
/// For per-data-type and per-frame scopes the message index is 0 (the scope number is the frame
/// counter); the scope kind in the [`StreamId`] keeps those IVs apart from message IVs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct PacketNumber(u64);

impl PacketNumber {
    /// The packet number of message `message_index` of frame `frame_counter`.
    pub const fn new(frame_counter: u32, message_index: u32) -> Self {
        PacketNumber(((frame_counter as u64) << 32) | message_index as u64)
    }

    /// The number of a per-data-type or per-frame scope of frame `frame_counter`.
    pub const fn scope(frame_counter: u32) -> Self {
        PacketNumber::new(frame_counter, 0)
    }

    /// A packet number from its 64-bit value (as carried on the wire).
    pub const fn from_u64(v: u64) -> Self {
        PacketNumber(v)
    }

    /// The 64-bit value.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// The frame counter (high 32 bits).
    pub const fn frame_counter(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// The message index within the frame (low 32 bits).
    pub const fn message_index(self) -> u32 {
        self.0 as u32
    }
}

impl From<PacketNumber> for u64 {
    fn from(pn: PacketNumber) -> u64 {
        pn.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_virtual_channel_above_31() {
        let s = StreamId::new(
            Direction::SensorToController,
            Protocol::Sep,
            ScopeKind::Message,
            Block::Image,
            32,
        );
        assert_eq!(s, Err(ConfigError::VirtualChannel(32)));
    }

    #[test]
    fn packet_number_splits_into_frame_and_index() {
        let pn = PacketNumber::new(0x0102_0304, 0xA0B0_C0D0);
        assert_eq!(pn.get(), 0x0102_0304_A0B0_C0D0);
        assert_eq!(pn.frame_counter(), 0x0102_0304);
        assert_eq!(pn.message_index(), 0xA0B0_C0D0);
        assert_eq!(PacketNumber::from_u64(pn.get()), pn);
        assert_eq!(PacketNumber::scope(7), PacketNumber::new(7, 0));
    }
}
