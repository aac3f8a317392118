//! Byte layouts of CCISE transactions (profile `draft-1`).
//!
//! One protected CCI transaction is one I2C transaction, Start to Stop. The 7-bit device address
//! and the R/W bit travel in the I2C address byte; everything below is the I2C payload. Register
//! addresses and counters are big-endian (the CCI convention for multi-byte register indices).
//! `n` is the number of data bytes (1..=[`MAX_DATA_LEN`]), `t` the session's tag length (16, 12
//! or 8; never on the wire, both ends are configured with it).
//!
//! ```text
//! write (S addr|W ... P):
//!   offset   size  field
//!   0        2     register, BE
//!   2        n     data
//!   2+n      4     counter (controller to sensor), BE
//!   6+n      t     tag
//!
//! read request (S addr|W ...), then read response (Sr addr|R ... P):
//!   request                              response
//!   0   2  register, BE                  0    n  data (clear, or AES-CTR ciphertext)
//!   2   1  n, number of bytes to read    n    4  counter (sensor to controller), BE
//!   3   4  counter (ctrl to sensor), BE  n+4  t  tag
//!   7   t  tag
//! ```
//!
//! A write of one data byte and a read request have the same length (`7 + t`). The target tells
//! them apart by the I2C framing (a write ends with Stop, a request with a repeated start), and
//! the transaction kind is bound into the tag ([`Kind`]), so a write cannot be replayed as a
//! request or the other way round.
//!
//! # What a tag covers
//!
//! Every MAC input is `context(32) ‖ header(16) ‖ data(n)`: the `cse-core` context block
//! ([`context`]), then the CCISE transaction header ([`mac_header`]), then the data bytes as they
//! travel (the ciphertext of an encrypted read response: encrypt-then-MAC). Neither the context
//! block nor the header is transmitted; both ends rebuild them.
//!
//! ```text
//! header (16 bytes)
//!   0   1  kind: 1 write, 2 read request, 3 read response
//!   1   1  7-bit device address (bit 7 zero)
//!   2   2  register, BE
//!   4   2  data length n, BE (writes and responses: the data bytes; requests: bytes asked for)
//!   6   4  counter of this transaction, BE
//!  10   4  read responses: the counter of the request answered, BE; otherwise 0
//!  14   2  reserved, 0
//! ```
//!
//! # Parsing
//!
//! The frames are small and fully parsed into borrowed `*Repr` values: `parse` checks every
//! length first and never panics; `emit` writes exactly `buffer_len()` bytes or returns an error,
//! and never panics.

use cse_core::context::{CONTEXT_LEN, Context};
use cse_core::nonce::{PacketNumber, StreamId};
use cse_core::{
    Block, CipherSuite, ConfigError, Direction, KeyId, Profile, Protocol, ScopeKind,
    SecurityVariant, TagLen,
};

use crate::error::WireError;

/// Size of the register address on the wire.
pub const REGISTER_LEN: usize = 2;
/// Size of a counter on the wire.
pub const COUNTER_LEN: usize = 4;
/// The largest number of data bytes in one write or read (the read request's length is one
/// byte).
pub const MAX_DATA_LEN: usize = 255;
/// The largest tag.
pub const MAX_TAG_LEN: usize = 16;
/// The largest frame of any kind: a write of [`MAX_DATA_LEN`] bytes with a 16-byte tag.
pub const MAX_FRAME_LEN: usize = REGISTER_LEN + MAX_DATA_LEN + COUNTER_LEN + MAX_TAG_LEN;
/// Size of the transaction header in the MAC input.
pub const HEADER_LEN: usize = 16;

/// First register of the target's status block (read-only, read through a protected read).
pub const STATUS_REGISTER: u16 = 0xFFF0;
/// Size of the status block in bytes (see [`crate::Status`]).
pub const STATUS_LEN: usize = 8;

/// The transaction kind bound into every tag.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Kind {
    /// A register write, controller to sensor.
    Write = 1,
    /// A read request, controller to sensor.
    ReadRequest = 2,
    /// A read response, sensor to controller.
    ReadResponse = 3,
}

impl Kind {
    /// The direction this kind travels in.
    pub const fn direction(self) -> Direction {
        match self {
            Kind::Write | Kind::ReadRequest => Direction::ControllerToSensor,
            Kind::ReadResponse => Direction::SensorToController,
        }
    }
}

/// Length of a write frame with `data_len` data bytes.
pub const fn write_len(data_len: usize, tag_len: TagLen) -> usize {
    REGISTER_LEN + data_len + COUNTER_LEN + tag_len.get()
}

/// Length of a read request frame.
pub const fn read_request_len(tag_len: TagLen) -> usize {
    REGISTER_LEN + 1 + COUNTER_LEN + tag_len.get()
}

/// Length of a read response frame carrying `data_len` bytes.
pub const fn read_response_len(data_len: usize, tag_len: TagLen) -> usize {
    data_len + COUNTER_LEN + tag_len.get()
}

fn be16(b: &[u8]) -> u16 {
    let mut a = [0u8; 2];
    a.copy_from_slice(&b[..2]);
    u16::from_be_bytes(a)
}

fn be32(b: &[u8]) -> u32 {
    let mut a = [0u8; 4];
    a.copy_from_slice(&b[..4]);
    u32::from_be_bytes(a)
}

fn check_data_len(n: usize) -> Result<(), WireError> {
    if n == 0 {
        Err(WireError::EmptyData)
    } else if n > MAX_DATA_LEN {
        Err(WireError::TooLong)
    } else {
        Ok(())
    }
}

/// A tag to emit must have one of the supported lengths (16, 12, 8).
fn check_tag(tag: &[u8]) -> Result<(), WireError> {
    match u8::try_from(tag.len()).map(TagLen::new) {
        Ok(Ok(_)) => Ok(()),
        _ => Err(WireError::TagLength),
    }
}

fn out_buffer(out: &mut [u8], needed: usize) -> Result<&mut [u8], WireError> {
    let available = out.len();
    out.get_mut(..needed)
        .ok_or(WireError::BufferTooSmall { needed, available })
}

/// Writes `parts` one after the other at the start of `out`, which must hold `len` bytes (their
/// total), and returns `len`; written without any panicking path (no slice split or copy that
/// the compiler cannot prove in bounds).
///
/// # Errors
/// [`WireError::BufferTooSmall`] when `out` is shorter than `len` (or `len` shorter than the
/// parts).
fn put_parts(out: &mut [u8], len: usize, parts: &[&[u8]]) -> Result<usize, WireError> {
    let mut rest = out_buffer(out, len)?;
    for part in parts {
        let available = rest.len();
        let (head, tail) = core::mem::take(&mut rest)
            .split_at_mut_checked(part.len())
            .ok_or(WireError::BufferTooSmall {
                needed: len,
                available,
            })?;
        head.copy_from_slice(part);
        rest = tail;
    }
    Ok(len)
}

/// A parsed write frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WriteRepr<'a> {
    /// First register written.
    pub register: u16,
    /// Data bytes, 1..=[`MAX_DATA_LEN`].
    pub data: &'a [u8],
    /// Controller-to-sensor counter.
    pub counter: u32,
    /// Tag, exactly the session's tag length.
    pub tag: &'a [u8],
}

impl<'a> WriteRepr<'a> {
    /// Parses a whole write frame (the I2C payload between the address byte and Stop).
    ///
    /// # Errors
    /// [`WireError::Truncated`] when the frame has no data byte, [`WireError::TooLong`] when it
    /// has more than [`MAX_DATA_LEN`].
    pub fn parse(frame: &'a [u8], tag_len: TagLen) -> Result<Self, WireError> {
        let fixed = write_len(0, tag_len);
        let Some(n) = frame.len().checked_sub(fixed) else {
            return Err(WireError::Truncated);
        };
        if n == 0 {
            return Err(WireError::Truncated);
        }
        check_data_len(n)?;
        let (register, rest) = frame.split_at(REGISTER_LEN);
        let (data, rest) = rest.split_at(n);
        let (counter, tag) = rest.split_at(COUNTER_LEN);
        Ok(WriteRepr {
            register: be16(register),
            data,
            counter: be32(counter),
            tag,
        })
    }

    /// The frame length.
    pub fn buffer_len(&self) -> usize {
        REGISTER_LEN + self.data.len() + COUNTER_LEN + self.tag.len()
    }

    /// Writes the frame into `out`; returns the number of bytes written.
    ///
    /// # Errors
    /// [`WireError::EmptyData`] / [`WireError::TooLong`] for a data length outside
    /// 1..=[`MAX_DATA_LEN`], [`WireError::TagLength`] for a tag of an unsupported length,
    /// [`WireError::BufferTooSmall`] when `out` is shorter than [`WriteRepr::buffer_len`].
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, WireError> {
        check_data_len(self.data.len())?;
        check_tag(self.tag)?;
        put_parts(
            out,
            self.buffer_len(),
            &[
                &self.register.to_be_bytes(),
                self.data,
                &self.counter.to_be_bytes(),
                self.tag,
            ],
        )
    }
}

/// A parsed read request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadRequestRepr<'a> {
    /// First register to read.
    pub register: u16,
    /// Number of bytes asked for, 1..=255.
    pub len: u8,
    /// Controller-to-sensor counter.
    pub counter: u32,
    /// Tag, exactly the session's tag length.
    pub tag: &'a [u8],
}

impl<'a> ReadRequestRepr<'a> {
    /// Parses a read request (the write phase before the repeated start).
    ///
    /// # Errors
    /// [`WireError::Truncated`] / [`WireError::TooLong`] when the frame is not exactly
    /// [`read_request_len`] bytes, [`WireError::EmptyData`] when it asks for 0 bytes.
    pub fn parse(frame: &'a [u8], tag_len: TagLen) -> Result<Self, WireError> {
        let expected = read_request_len(tag_len);
        if frame.len() < expected {
            return Err(WireError::Truncated);
        }
        if frame.len() > expected {
            return Err(WireError::TooLong);
        }
        let (register, rest) = frame.split_at(REGISTER_LEN);
        let (len, rest) = rest.split_at(1);
        let (counter, tag) = rest.split_at(COUNTER_LEN);
        let len = len[0];
        check_data_len(usize::from(len))?;
        Ok(ReadRequestRepr {
            register: be16(register),
            len,
            counter: be32(counter),
            tag,
        })
    }

    /// The frame length.
    pub fn buffer_len(&self) -> usize {
        REGISTER_LEN + 1 + COUNTER_LEN + self.tag.len()
    }

    /// Writes the request into `out`; returns the number of bytes written.
    ///
    /// # Errors
    /// [`WireError::EmptyData`] for `len == 0`, [`WireError::TagLength`] for a tag of an
    /// unsupported length, [`WireError::BufferTooSmall`] when `out` is too short.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, WireError> {
        check_data_len(usize::from(self.len))?;
        check_tag(self.tag)?;
        put_parts(
            out,
            self.buffer_len(),
            &[
                &self.register.to_be_bytes(),
                &[self.len],
                &self.counter.to_be_bytes(),
                self.tag,
            ],
        )
    }
}

/// A parsed read response.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReadResponseRepr<'a> {
    /// Data bytes (ciphertext when the session encrypts reads).
    pub data: &'a [u8],
    /// Sensor-to-controller counter.
    pub counter: u32,
    /// Tag, exactly the session's tag length.
    pub tag: &'a [u8],
}

impl<'a> ReadResponseRepr<'a> {
    /// Parses a response to a request for `data_len` bytes.
    ///
    /// # Errors
    /// [`WireError::Truncated`] / [`WireError::TooLong`] when the frame is not exactly
    /// [`read_response_len`] bytes; [`WireError::EmptyData`] / [`WireError::TooLong`] for a
    /// `data_len` outside 1..=[`MAX_DATA_LEN`].
    pub fn parse(frame: &'a [u8], data_len: usize, tag_len: TagLen) -> Result<Self, WireError> {
        check_data_len(data_len)?;
        let expected = read_response_len(data_len, tag_len);
        if frame.len() < expected {
            return Err(WireError::Truncated);
        }
        if frame.len() > expected {
            return Err(WireError::TooLong);
        }
        let (data, rest) = frame.split_at(data_len);
        let (counter, tag) = rest.split_at(COUNTER_LEN);
        Ok(ReadResponseRepr {
            data,
            counter: be32(counter),
            tag,
        })
    }

    /// The frame length.
    pub fn buffer_len(&self) -> usize {
        self.data.len() + COUNTER_LEN + self.tag.len()
    }

    /// Writes the response into `out`; returns the number of bytes written.
    ///
    /// # Errors
    /// As [`WriteRepr::emit`].
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, WireError> {
        check_data_len(self.data.len())?;
        check_tag(self.tag)?;
        put_parts(
            out,
            self.buffer_len(),
            &[self.data, &self.counter.to_be_bytes(), self.tag],
        )
    }
}

/// The 16-byte transaction header of the MAC input (layout in the [module docs](self)).
pub fn mac_header(
    kind: Kind,
    address: u8,
    register: u16,
    len: u16,
    counter: u32,
    request_counter: u32,
) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[0] = kind as u8;
    h[1] = address & 0x7F;
    h[2..4].copy_from_slice(&register.to_be_bytes());
    h[4..6].copy_from_slice(&len.to_be_bytes());
    h[6..10].copy_from_slice(&counter.to_be_bytes());
    h[10..14].copy_from_slice(&request_counter.to_be_bytes());
    h
}

/// The packet number of a CCISE transaction: `counter << 32 | device address`.
///
/// It is the context block's number and, with [`stream_id`], the IV of GMAC, GCM and CTR
/// suites. The address in the low half keeps IVs apart even if a key were shared by two
/// devices; the counter in the high half is what the key usage limits watch (it takes the
/// place of the frame counter, so a key never sees its counter wrap).
pub const fn packet_number(counter: u32, address: u8) -> PacketNumber {
    PacketNumber::new(counter, address as u32)
}

/// The stream id of one CCISE direction: protocol CCISE, message scope, block 0, VC 0.
///
/// # Errors
/// None in practice (VC 0 is always valid); the `Result` is `StreamId::new`'s.
pub const fn stream_id(direction: Direction) -> Result<StreamId, ConfigError> {
    StreamId::new(
        direction,
        Protocol::Ccise,
        ScopeKind::Message,
        Block::Top,
        0,
    )
}

/// The fixed parameters of a session that the context block binds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ContextParams {
    /// Cipher suite.
    pub suite: CipherSuite,
    /// Tag length.
    pub tag_len: TagLen,
    /// Key id.
    pub key_id: KeyId,
}

/// The `cse-core` context block of one CCISE transaction.
///
/// Protocol CCISE (2), message scope, block 0 (top), VC 0, the direction of `kind`, security
/// variant 1 when the data is encrypted and 2 otherwise, and the [`packet_number`] as number.
pub fn context(
    profile: &Profile,
    params: &ContextParams,
    kind: Kind,
    encrypted: bool,
    counter: u32,
    address: u8,
) -> [u8; CONTEXT_LEN] {
    Context {
        protocol: Protocol::Ccise,
        direction: kind.direction(),
        scope: ScopeKind::Message,
        suite: params.suite,
        tag_len: params.tag_len,
        sv: if encrypted {
            SecurityVariant::FullIntegrityEncrypted
        } else {
            SecurityVariant::FullIntegrity
        },
        block: Block::Top,
        orig_vc: 0,
        key_id: params.key_id,
        number: packet_number(counter, address & 0x7F).get(),
    }
    .encode(profile)
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    #[test]
    fn write_parses_and_emits_the_same_bytes() {
        let frame = hex!("30 12 AA BB 00 00 00 07 01 02 03 04 05 06 07 08");
        let w = WriteRepr::parse(&frame, TagLen::L8).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(w.register, 0x3012);
        assert_eq!(w.data, &[0xAA, 0xBB]);
        assert_eq!(w.counter, 7);
        assert_eq!(w.tag, &hex!("01 02 03 04 05 06 07 08"));
        let mut out = [0u8; 32];
        assert_eq!(w.emit(&mut out), Ok(frame.len()));
        assert_eq!(&out[..frame.len()], &frame);
    }

    #[test]
    fn rejects_truncated_and_oversized_frames() {
        let t = TagLen::L8;
        assert_eq!(
            WriteRepr::parse(&[0; 14], t),
            Err(WireError::Truncated),
            "no data byte"
        );
        assert_eq!(WriteRepr::parse(&[], t), Err(WireError::Truncated));
        assert!(WriteRepr::parse(&[0; 15], t).is_ok());
        assert!(WriteRepr::parse(&[0; MAX_FRAME_LEN - 8], t).is_ok());
        assert_eq!(
            WriteRepr::parse(&[0; MAX_FRAME_LEN - 7], t),
            Err(WireError::TooLong)
        );
        assert_eq!(
            ReadRequestRepr::parse(&[0; 14], t),
            Err(WireError::Truncated)
        );
        assert_eq!(ReadRequestRepr::parse(&[0; 16], t), Err(WireError::TooLong));
        assert_eq!(
            ReadRequestRepr::parse(&[0; 15], t),
            Err(WireError::EmptyData)
        );
        assert_eq!(
            ReadResponseRepr::parse(&[0; 15], 4, t),
            Err(WireError::Truncated)
        );
        assert_eq!(
            ReadResponseRepr::parse(&[0; 17], 4, t),
            Err(WireError::TooLong)
        );
        assert_eq!(
            ReadResponseRepr::parse(&[0; 12], 0, t),
            Err(WireError::EmptyData)
        );
    }

    #[test]
    fn emit_refuses_a_short_buffer_and_bad_lengths() {
        let w = WriteRepr {
            register: 1,
            data: &[1, 2],
            counter: 3,
            tag: &[0; 8],
        };
        let mut small = [0u8; 15];
        assert_eq!(
            w.emit(&mut small),
            Err(WireError::BufferTooSmall {
                needed: 16,
                available: 15
            })
        );
        let bad_tag = WriteRepr { tag: &[0; 5], ..w };
        assert_eq!(bad_tag.emit(&mut [0u8; 64]), Err(WireError::TagLength));
        let empty = WriteRepr { data: &[], ..w };
        assert_eq!(empty.emit(&mut [0u8; 64]), Err(WireError::EmptyData));
        let r = ReadRequestRepr {
            register: 1,
            len: 0,
            counter: 1,
            tag: &[0; 8],
        };
        assert_eq!(r.emit(&mut [0u8; 64]), Err(WireError::EmptyData));
    }

    #[test]
    fn header_layout_is_fixed() {
        assert_eq!(
            mac_header(Kind::ReadResponse, 0x36, 0x0100, 4, 0x0102_0304, 9),
            hex!("03 36 01 00 00 04 01 02 03 04 00 00 00 09 00 00")
        );
    }
}
