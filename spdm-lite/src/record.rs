//! DSP0277 secured messages in the MCTP binding used by spdm-emu.
//!
//! ```text
//! 0x06 | SessionID(4) | SeqNum(2) | Length(2) = len(ciphertext) + 16
//!      | AES-GCM( AppDataLength(2) | 0x05 | SPDM message | RandomPad ) | Tag(16)
//! AAD   = SessionID | SeqNum | Length   (the 8 bytes after 0x06)
//! Nonce = IV XOR u64_le(seq) in IV bytes 0..8
//! ```
//!
//! All integers little-endian. Sequence numbers are 64-bit per direction, start at 0 for every
//! key, carry their low 16 bits on the wire and never wrap: a direction whose counter reached
//! `u64::MAX` refuses to seal or open ([`Error::SequenceExhausted`]). A receiver accepts only
//! the next sequence number; its counter moves only after the tag verifies, and the plaintext
//! area is wiped when it does not.

use crate::codec::{Reader, Writer};
use crate::crypto::{AEAD_IV_LEN, AEAD_TAG_LEN, AeadAlgo, CryptoProvider, Secret};
use crate::error::{Error, InvalidMessage};
use crate::key_schedule::TrafficKeys;

/// MCTP message type of a secured message.
pub const MCTP_SECURED: u8 = 0x06;
/// MCTP message type of a plain SPDM message.
pub const MCTP_SPDM: u8 = 0x05;
/// Bytes before the ciphertext: type, session id, sequence number, length.
pub const HEADER_LEN: usize = 9;
/// Record overhead around an SPDM message without padding.
pub const OVERHEAD: usize = HEADER_LEN + 2 + 1 + AEAD_TAG_LEN;
/// Largest random padding this crate accepts to add.
pub const MAX_PAD: usize = 32;

/// Keys and sequence number of one direction of a session.
///
/// Its `Debug` output shows the AEAD and the sequence number only: the key and the IV are
/// secrets.
pub struct DirectionKeys {
    aead: AeadAlgo,
    key: Secret,
    iv: [u8; AEAD_IV_LEN],
    seq: u64,
}

impl core::fmt::Debug for DirectionKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("DirectionKeys")
            .field("aead", &self.aead)
            .field("seq", &self.seq)
            .finish_non_exhaustive()
    }
}

impl Drop for DirectionKeys {
    #[inline(never)]
    fn drop(&mut self) {
        zeroize::Zeroize::zeroize(&mut self.iv);
    }
}

impl DirectionKeys {
    /// Installs traffic keys with sequence number 0.
    pub fn new(keys: TrafficKeys) -> Self {
        let iv = keys.iv_array();
        Self {
            aead: keys.aead,
            key: keys.key,
            iv,
            seq: 0,
        }
    }

    /// The next sequence number this direction will use.
    pub fn sequence(&self) -> u64 {
        self.seq
    }

    /// Takes back the last record opened under these keys (its sequence number is expected
    /// again): for a receiver that could not answer an authentic record and so did not
    /// consume it.
    pub(crate) fn unread(&mut self) {
        self.seq = self.seq.saturating_sub(1);
    }

    #[inline(never)]
    fn nonce(&self) -> [u8; AEAD_IV_LEN] {
        let mut n = self.iv;
        for (d, s) in n.iter_mut().zip(self.seq.to_le_bytes()) {
            *d ^= s;
        }
        n
    }

    fn check_seq(&self) -> Result<(), Error> {
        if self.seq == u64::MAX {
            Err(Error::SequenceExhausted)
        } else {
            Ok(())
        }
    }
}

/// The session id of a secured record, for routing before decryption.
///
/// # Errors
/// [`InvalidMessage`] if the record is too short or not a secured message.
pub fn session_id(record: &[u8]) -> Result<u32, InvalidMessage> {
    let mut r = Reader::new(record);
    let ty = r.u8()?;
    if ty != MCTP_SECURED {
        return Err(InvalidMessage::UnexpectedMessageType(ty));
    }
    r.u32()
}

/// Seals `spdm` (an SPDM message) into a record in `out` with `pad` as random padding.
/// Returns the record length. The sequence number advances only on success.
///
/// # Errors
/// [`Error::SequenceExhausted`]; [`Error::Encode`] if `out` is too small or `pad` longer than
/// [`MAX_PAD`].
pub fn seal<P: CryptoProvider>(
    provider: &P,
    session_id: u32,
    keys: &mut DirectionKeys,
    spdm: &[u8],
    pad: &[u8],
    out: &mut [u8],
) -> Result<usize, Error> {
    seal_app(provider, session_id, keys, MCTP_SPDM, spdm, pad, out)
}

/// Seals an application message of MCTP type `mctp_type` (`msg` follows the type byte) into
/// a record in `out`; [`seal`] is this with [`MCTP_SPDM`].
///
/// # Errors
/// As [`seal`].
pub fn seal_app<P: CryptoProvider>(
    provider: &P,
    session_id: u32,
    keys: &mut DirectionKeys,
    mctp_type: u8,
    msg: &[u8],
    pad: &[u8],
    out: &mut [u8],
) -> Result<usize, Error> {
    keys.check_seq()?;
    if pad.len() > MAX_PAD {
        return Err(crate::error::EncodeError::FieldTooLong.into());
    }
    let app_len = 1 + msg.len();
    let ct_len = 2 + app_len + pad.len();
    let total = HEADER_LEN + ct_len + AEAD_TAG_LEN;
    let mut w = Writer::new(out);
    w.u8(MCTP_SECURED)?;
    w.u32(session_id)?;
    w.u16(keys.seq as u16)?;
    w.len16(ct_len + AEAD_TAG_LEN)?;
    w.len16(app_len)?;
    w.u8(mctp_type)?;
    w.put(msg)?;
    w.put(pad)?;
    w.zeros(AEAD_TAG_LEN)?;
    let (head, rest) = out.split_at_mut(HEADER_LEN);
    let (body, tag_out) = rest.split_at_mut(ct_len);
    let tag = provider.aead_seal(
        keys.aead,
        keys.key.as_bytes(),
        &keys.nonce(),
        &head[1..],
        body,
    )?;
    tag_out
        .get_mut(..AEAD_TAG_LEN)
        .ok_or(crate::error::EncodeError::BufferTooSmall)?
        .copy_from_slice(&tag);
    keys.seq += 1;
    Ok(total)
}

/// Offset of the SPDM message inside a record buffer for [`seal_in_place`]: the record header,
/// AppDataLength and the inner MCTP type come first.
pub const SPDM_OFFSET: usize = HEADER_LEN + 3;

/// The length of the record [`seal_in_place`] makes of an SPDM message of `spdm_len` bytes.
pub(crate) const fn record_len(spdm_len: usize) -> usize {
    spdm_len + OVERHEAD
}

/// Seals, without padding, the SPDM message of `spdm_len` bytes the caller already wrote at
/// `buf[SPDM_OFFSET..]`, so that a state machine can build a response straight into its
/// output buffer. Returns the record length. The sequence number advances only on success.
///
/// # Errors
/// [`Error::SequenceExhausted`]; [`Error::Encode`] if `buf` cannot hold the record.
pub fn seal_in_place<P: CryptoProvider>(
    provider: &P,
    session_id: u32,
    keys: &mut DirectionKeys,
    buf: &mut [u8],
    spdm_len: usize,
) -> Result<usize, Error> {
    seal_typed_in_place(provider, session_id, keys, buf, MCTP_SPDM, spdm_len)
}

/// [`seal_in_place`] of a message of MCTP type `mctp_type` (an application message when it is
/// not [`MCTP_SPDM`]).
pub(crate) fn seal_typed_in_place<P: CryptoProvider>(
    provider: &P,
    session_id: u32,
    keys: &mut DirectionKeys,
    buf: &mut [u8],
    mctp_type: u8,
    spdm_len: usize,
) -> Result<usize, Error> {
    keys.check_seq()?;
    let app_len = 1 + spdm_len;
    let ct_len = 2 + app_len;
    let total = record_len(spdm_len);
    if buf.len() < total {
        return Err(crate::error::EncodeError::BufferTooSmall.into());
    }
    {
        let mut w = Writer::new(buf);
        w.u8(MCTP_SECURED)?;
        w.u32(session_id)?;
        w.u16(keys.seq as u16)?;
        w.len16(ct_len + AEAD_TAG_LEN)?;
        w.len16(app_len)?;
        w.u8(mctp_type)?;
    }
    let (head, rest) = buf.split_at_mut(HEADER_LEN);
    let (body, tag_out) = rest.split_at_mut(ct_len);
    let tag = provider.aead_seal(
        keys.aead,
        keys.key.as_bytes(),
        &keys.nonce(),
        &head[1..],
        body,
    )?;
    tag_out
        .get_mut(..AEAD_TAG_LEN)
        .ok_or(crate::error::EncodeError::BufferTooSmall)?
        .copy_from_slice(&tag);
    keys.seq += 1;
    Ok(total)
}

/// Opens a record in place and returns the SPDM message inside it. The record must carry
/// `session_id` and the direction's next sequence number; the sequence number advances only
/// after the tag verifies. On any failure after decryption starts, the ciphertext area of
/// `record` is zeroed.
///
/// # Errors
/// [`Error::Message`] for a malformed record, [`Error::UnknownSession`],
/// [`Error::BadSequence`] for a replayed, reordered or lost record,
/// [`Error::Authentication`] for a wrong tag, [`Error::SequenceExhausted`].
pub fn open<'b, P: CryptoProvider>(
    provider: &P,
    session_id: u32,
    keys: &mut DirectionKeys,
    record: &'b mut [u8],
) -> Result<&'b [u8], Error> {
    match open_app(provider, session_id, keys, record)? {
        (MCTP_SPDM, spdm) => Ok(spdm),
        (ty, _) => Err(InvalidMessage::UnexpectedMessageType(ty).into()),
    }
}

/// Opens a record in place like [`open`] and returns the application message inside it:
/// its MCTP message type (`0x05` for SPDM) and the bytes after that type. A record of
/// another type is authentic (the sequence number moved), so the receiver can answer it.
///
/// # Errors
/// As [`open`], except that any inner MCTP type is accepted.
pub fn open_app<'b, P: CryptoProvider>(
    provider: &P,
    session_id: u32,
    keys: &mut DirectionKeys,
    record: &'b mut [u8],
) -> Result<(u8, &'b [u8]), Error> {
    keys.check_seq()?;
    let (sid, seq, len) = {
        let mut r = Reader::new(record);
        let ty = r.u8()?;
        if ty != MCTP_SECURED {
            return Err(InvalidMessage::UnexpectedMessageType(ty).into());
        }
        let sid = r.u32()?;
        let seq = r.u16()?;
        let len = usize::from(r.u16()?);
        r.take(len)?;
        r.finish()?;
        (sid, seq, len)
    };
    if sid != session_id {
        return Err(Error::UnknownSession);
    }
    if seq != keys.seq as u16 {
        return Err(Error::BadSequence);
    }
    let ct_len = len
        .checked_sub(AEAD_TAG_LEN)
        .ok_or(InvalidMessage::BadLength)?;
    let (head, rest) = record.split_at_mut(HEADER_LEN);
    let (body, tag) = rest.split_at_mut(ct_len);
    let mut t = [0u8; AEAD_TAG_LEN];
    t.copy_from_slice(tag);
    if let Err(e) = provider.aead_open(
        keys.aead,
        keys.key.as_bytes(),
        &keys.nonce(),
        &head[1..],
        body,
        &t,
    ) {
        body.fill(0);
        return Err(e);
    }
    // Authentic from here on: the counter moves even if the inner framing is bad, because
    // the peer did send this record under this sequence number.
    keys.seq += 1;
    let body: &'b [u8] = body;
    let mut r = Reader::new(body);
    let app_len = usize::from(r.u16()?);
    let app = r.take(app_len)?;
    let (&ty, msg) = app.split_first().ok_or(InvalidMessage::Truncated)?;
    Ok((ty, msg))
}
