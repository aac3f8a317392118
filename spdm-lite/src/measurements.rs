//! Firmware measurements (SPDM 1.2 GET_MEASUREMENTS): the provider the responder's firmware
//! implements, the measurement summary hash, and the L1/L2 transcript.
//!
//! The responder reads its blocks from a [`MeasurementProvider`] (no allocator: the provider
//! writes each value into a buffer of the responder's). Blocks are DMTF blocks
//! ([`crate::msgs::measurements::MeasurementBlock`]); a digest value has the size of
//! MeasurementHashAlgo, which this crate negotiates equal to BaseHashAlgo.
//!
//! **Measurement summary hash** (CHALLENGE_AUTH, KEY_EXCHANGE_RSP, PSK_EXCHANGE_RSP; SPDM
//! 1.1.2 and later): the BaseHashAlgo hash of the concatenation of the *whole* blocks (block
//! header, DMTF header, value) in device order: every block for type All (0xFF), only the
//! blocks the device counts as its TCB for type TCB (0x01). Type None (0) has no hash.
//!
//! **L1/L2**: VCA ‖ every GET_MEASUREMENTS ‖ MEASUREMENTS since the last reset (responses
//! without their Signature). A signed MEASUREMENTS is signed over its hash with the context
//! `"responder-measurements signing"`, then the transcript resets; so does any other request
//! in the same context (outside sessions, or the one session) and any ERROR answering a
//! GET_MEASUREMENTS.

use crate::crypto::{CryptoProvider, Digest, HashAlgo, HashCtx};
use crate::error::{EncodeError, Error, InvalidMessage};
use crate::msgs::measurements::{Blocks, MeasurementBlock};

/// DMTFSpecMeasurementValueType kinds (bits 0-6) and the raw flag (bit 7).
pub mod value_type {
    /// Immutable ROM.
    pub const IMMUTABLE_ROM: u8 = 0;
    /// Mutable firmware.
    pub const MUTABLE_FIRMWARE: u8 = 1;
    /// Hardware configuration (e.g. fuses).
    pub const HARDWARE_CONFIG: u8 = 2;
    /// Firmware configuration.
    pub const FIRMWARE_CONFIG: u8 = 3;
    /// Measurement manifest.
    pub const MANIFEST: u8 = 4;
    /// Device mode.
    pub const DEVICE_MODE: u8 = 5;
    /// Mutable firmware's version number.
    pub const FIRMWARE_VERSION: u8 = 6;
    /// Mutable firmware's security version number (a little-endian u64, raw).
    pub const SECURITY_VERSION_NUMBER: u8 = 7;
    /// Bit 7: the value is the raw bit stream, not a digest.
    pub const RAW: u8 = 0x80;
}

/// MeasurementSummaryHashType of CHALLENGE, KEY_EXCHANGE and PSK_EXCHANGE.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum SummaryType {
    /// 0: no summary hash.
    #[default]
    None,
    /// 0x01: the TCB blocks.
    Tcb,
    /// 0xFF: every block.
    All,
}

impl SummaryType {
    /// The wire value.
    pub const fn to_u8(self) -> u8 {
        match self {
            Self::None => 0,
            Self::Tcb => 0x01,
            Self::All => 0xFF,
        }
    }

    /// The type of a wire value (other values are invalid: `None`).
    pub const fn from_u8(v: u8) -> Option<Self> {
        match v {
            0 => Some(Self::None),
            0x01 => Some(Self::Tcb),
            0xFF => Some(Self::All),
            _ => None,
        }
    }
}

/// The MeasurementHashAlgo bit of a base hash (SHA-256 0x02, SHA-384 0x04).
pub const fn meas_hash_bit(alg: HashAlgo) -> u32 {
    match alg {
        HashAlgo::Sha256 => 0x02,
        HashAlgo::Sha384 => 0x04,
    }
}

/// What the provider says about one block; its value was written into the caller's buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BlockInfo {
    /// Index (1..=0xFE), unique among the device's blocks.
    pub index: u8,
    /// DMTFSpecMeasurementValueType (a [`value_type`] kind, `| value_type::RAW` for a raw
    /// value).
    pub value_type: u8,
    /// Length of the value written.
    pub len: usize,
    /// Whether the block belongs to the device's TCB (selects it for summary type TCB).
    pub tcb: bool,
}

/// The device's measurements, implemented by the responder's firmware.
///
/// Blocks are numbered 0..[`count`](MeasurementProvider::count) in device order (the order
/// of MEASUREMENTS for operation 0xFF and of the summary hash). A digest value must have the
/// size of the negotiated hash (BaseHashAlgo). The provider may change its values between
/// calls (a firmware update, a re-measurement); it then changes
/// [`generation`](MeasurementProvider::generation).
pub trait MeasurementProvider {
    /// Number of blocks (at most 0xFE).
    fn count(&self) -> usize;

    /// Writes the value of block `n` (device order) into `value` and describes it; `None` if
    /// there is no such block or `value` is too small.
    fn block(&self, n: usize, value: &mut [u8]) -> Option<BlockInfo>;

    /// A counter that changes whenever a value changes, or `None` if the device does not
    /// detect changes (MEASUREMENTS then reports ContentChanged = not detected).
    fn generation(&self) -> Option<u64> {
        None
    }
}

/// Largest block value [`summary_hash`] can read (its stack buffer).
pub const MAX_SUMMARY_VALUE_LEN: usize = 256;

/// The measurement summary hash of `source`'s blocks for `ty`; `None` for [`SummaryType::None`].
///
/// # Errors
/// [`Error::Crypto`] if the provider lacks `alg`; [`Error::Encode`] if a block value is
/// longer than [`MAX_SUMMARY_VALUE_LEN`] or the source fails to produce a block it counts.
pub fn summary_hash<P: CryptoProvider>(
    provider: &P,
    alg: HashAlgo,
    source: &dyn MeasurementProvider,
    ty: SummaryType,
) -> Result<Option<Digest>, Error> {
    if ty == SummaryType::None {
        return Ok(None);
    }
    let mut h = provider.hash(alg)?;
    let mut value = [0u8; MAX_SUMMARY_VALUE_LEN];
    for n in 0..source.count() {
        let info = source
            .block(n, &mut value)
            .ok_or(EncodeError::BufferTooSmall)?;
        if ty == SummaryType::Tcb && !info.tcb {
            continue;
        }
        let v = value.get(..info.len).ok_or(EncodeError::BufferTooSmall)?;
        let mut hdr = [0u8; 7];
        let mut w = crate::codec::Writer::new(&mut hdr);
        MeasurementBlock::emit_header(&mut w, info.index, info.value_type, v.len())?;
        h.update(&hdr);
        h.update(v);
    }
    Ok(Some(h.finish()))
}

/// The measurement summary hash of a MeasurementRecord of every block (the requester's
/// side); `tcb` says which blocks count for [`SummaryType::Tcb`].
///
/// # Errors
/// [`Error::Message`] for a malformed record; [`Error::Crypto`].
pub fn summary_hash_of_record<P: CryptoProvider>(
    provider: &P,
    alg: HashAlgo,
    record: &[u8],
    digest_len: usize,
    ty: SummaryType,
    tcb: &dyn Fn(&MeasurementBlock<'_>) -> bool,
) -> Result<Option<Digest>, Error> {
    if ty == SummaryType::None {
        return Ok(None);
    }
    let mut h = provider.hash(alg)?;
    let mut off = 0usize;
    for b in Blocks::new(record, digest_len) {
        let b = b?;
        let whole = record
            .get(off..off + b.wire_len())
            .ok_or(InvalidMessage::Truncated)?;
        off += b.wire_len();
        if ty == SummaryType::All || tcb(&b) {
            h.update(whole);
        }
    }
    Ok(Some(h.finish()))
}

/// An L1/L2 transcript: VCA (the hash state at its end) and the measurement messages since
/// the last reset.
#[derive(Clone, Debug)]
pub struct L1L2<H: HashCtx> {
    vca: H,
    running: Option<H>,
}

impl<H: HashCtx> L1L2<H> {
    /// An empty L1/L2 over the VCA hash state `vca`.
    pub fn new(vca: H) -> Self {
        Self { vca, running: None }
    }

    /// Appends a message (starting from VCA after a reset).
    pub fn update(&mut self, msg: &[u8]) {
        self.running
            .get_or_insert_with(|| self.vca.clone())
            .update(msg);
    }

    /// The hash of L1/L2 so far.
    pub fn current(&self) -> Digest {
        self.running.as_ref().unwrap_or(&self.vca).clone().finish()
    }

    /// Forgets the measurement messages (the transcript is VCA again).
    pub fn reset(&mut self) {
        self.running = None;
    }

    /// Whether measurement messages are in the transcript.
    pub fn is_started(&self) -> bool {
        self.running.is_some()
    }
}
