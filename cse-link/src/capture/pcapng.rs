//! pcapng files of ASAM CMP frames (`docs/capture.md` section 7): writing a capture's CSI-2
//! packets and I2C transactions, each time-stamped, and reading them back from files that
//! `cse` or another tool wrote. The block format is the `pcap-file` crate's; the CMP encoding
//! is [`super::cmp`].

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::time::Duration;

use pcap_file::DataLink;
use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
use pcap_file::pcapng::blocks::interface_description::{
    InterfaceDescriptionBlock, InterfaceDescriptionOption,
};
use pcap_file::pcapng::{Block, PcapNgParser, PcapNgWriter};

use super::CaptureError;
use super::cmp::{
    self, CmpHeader, Csi2Message, Decoded, I2cMessage, Message, Payload, Reassembler,
};

/// The first four bytes of a pcapng file (the Section Header Block type).
pub const PCAPNG_MAGIC: [u8; 4] = [0x0A, 0x0D, 0x0D, 0x0A];

/// CMP interface id of the CSI-2 link in the files `cse` writes.
pub const IF_CSI2: u32 = 1;
/// CMP interface id of the I2C (CCI) bus in the files `cse` writes.
pub const IF_I2C: u32 = 2;
/// CMP device id of the files `cse` writes.
pub const DEVICE_ID: u16 = 0x0C5E;

/// Whether `bytes` start like a pcapng file.
pub fn is_pcapng(bytes: &[u8]) -> bool {
    bytes.starts_with(&PCAPNG_MAGIC)
}

/// Nanoseconds since the Unix epoch, now (0 if the clock is before 1970).
pub fn now_ns() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX))
}

/// The smallest `--cmp-mtu` (the smallest Ethernet payload): room for the CMP and message
/// headers and 22 payload bytes per segment.
pub const MIN_MTU: usize = 46;

/// Builds a pcapng capture of CMP frames: one Capture Data message per Ethernet frame (or,
/// with an MTU, per segment of a longer message), the frame's pcapng timestamp that of its
/// message, in nanoseconds (`if_tsresol` 9).
pub struct Recorder {
    writer: PcapNgWriter<Vec<u8>>,
    mtu: Option<usize>,
    stream_id: u8,
    sequence: BTreeMap<u8, u16>,
    clock_ns: u64,
    frames: usize,
    error: Option<String>,
}

/// The CSI-2 link rate the recorder's clock assumes: 4 lanes of 1.5 Gbit/s, 0.75 bytes a
/// nanosecond (timestamps advance by `len * 4 / 3` ns per packet).
const NS_PER_3_BYTES: u64 = 4;
/// The I2C rate the recorder's clock assumes: 400 kHz, 9 bit times (22.5 us) a byte.
const I2C_NS_PER_BYTE: u64 = 22_500;

impl Recorder {
    /// A recorder whose clock starts at `start_ns` (nanoseconds since the Unix epoch).
    ///
    /// # Errors
    /// Never in practice (the blocks go to memory); the writer's error otherwise.
    pub fn new(start_ns: u64) -> Result<Self, CaptureError> {
        let mut writer = PcapNgWriter::new(Vec::new()).map_err(pcap_err)?;
        let idb = InterfaceDescriptionBlock {
            linktype: DataLink::ETHERNET,
            snaplen: 0,
            options: vec![
                InterfaceDescriptionOption::IfName(Cow::Borrowed("cse ASAM CMP")),
                InterfaceDescriptionOption::IfTsResol(9),
            ],
        };
        writer.write_pcapng_block(idb).map_err(pcap_err)?;
        Ok(Recorder {
            writer,
            mtu: None,
            stream_id: 0,
            sequence: BTreeMap::new(),
            clock_ns: start_ns,
            frames: 0,
            error: None,
        })
    }

    /// Segments every message whose frame would carry more than `mtu` bytes of Ethernet
    /// payload (CMP header, message header and payload) into segments that fit, each in its
    /// own frame ([`cmp::segment`]); `None` (the default) writes every message whole, in a jumbo
    /// frame when it is long.
    ///
    /// # Errors
    /// An MTU below [`MIN_MTU`].
    pub fn set_mtu(&mut self, mtu: Option<usize>) -> Result<(), CaptureError> {
        if let Some(m) = mtu.filter(|m| *m < MIN_MTU) {
            return Err(CaptureError::Pcapng(format!(
                "an MTU of {m} bytes is below the smallest Ethernet payload ({MIN_MTU})"
            )));
        }
        self.mtu = mtu;
        Ok(())
    }

    /// The CMP stream id of the frames that follow.
    pub fn set_stream(&mut self, stream_id: u8) {
        self.stream_id = stream_id;
    }

    /// The clock: the timestamp of the next message.
    pub fn clock_ns(&self) -> u64 {
        self.clock_ns
    }

    /// Moves the clock forward by `ns`.
    pub fn advance(&mut self, ns: u64) {
        self.clock_ns = self.clock_ns.saturating_add(ns);
    }

    /// Frames written so far.
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Writes an Ethernet frame as it is (a frame another tool built), at the clock's time.
    pub fn ethernet(&mut self, data: Vec<u8>) {
        let epb = EnhancedPacketBlock {
            interface_id: 0,
            timestamp: Duration::from_nanos(self.clock_ns),
            original_len: u32::try_from(data.len()).unwrap_or(u32::MAX),
            data: Cow::Owned(data),
            options: vec![],
        };
        match self.writer.write_pcapng_block(epb) {
            Ok(_) => self.frames += 1,
            Err(e) => {
                self.error.get_or_insert(e.to_string());
            }
        }
    }

    /// Writes one message at the clock's time as its own frame (or its segments, each in its
    /// own frame, when it is longer than the MTU allows).
    pub fn message(&mut self, interface_id: u32, payload: Payload) {
        let m = Message {
            timestamp_ns: self.clock_ns,
            interface_id,
            flags: cmp::FLAG_INSYNC,
            payload,
        };
        let parts = match self.mtu {
            None => Ok(vec![m]),
            Some(mtu) => cmp::segment(&m, mtu - cmp::CMP_HEADER_LEN - cmp::MSG_HEADER_LEN),
        };
        let parts = match parts {
            Ok(p) => p,
            Err(e) => {
                self.error.get_or_insert(e.into());
                return;
            }
        };
        for part in parts {
            let seq = self.sequence.entry(self.stream_id).or_insert(0);
            *seq = seq.wrapping_add(1);
            let header = CmpHeader {
                version: cmp::CMP_VERSION,
                device_id: DEVICE_ID,
                message_type: cmp::MSG_CAPTURE_DATA,
                stream_id: self.stream_id,
                sequence: *seq,
            };
            match cmp::encode_frame(&header, std::slice::from_ref(&part)) {
                Ok(data) => self.ethernet(data),
                Err(e) => {
                    self.error.get_or_insert(e.into());
                }
            }
        }
    }

    /// Records an I2C write of `bytes` to `address`; the clock advances by its bus time.
    pub fn i2c_write(&mut self, address: u8, bytes: &[u8]) {
        self.message(IF_I2C, Payload::I2c(I2cMessage::write(address, bytes)));
        let n = u64::try_from(bytes.len())
            .unwrap_or(u64::MAX)
            .saturating_add(1);
        self.advance(n.saturating_mul(I2C_NS_PER_BYTE));
    }

    /// Records the CSI-2 packets of `wire` (D-PHY packets back to back) one message each; the
    /// clock advances by each packet's time on the link. Frame and line counters follow the
    /// stream (FS data, long packets since FS). Bytes that do not form a whole packet (an
    /// attacker's garbage) are not recorded; their count is returned.
    pub fn csi2(&mut self, wire: &[u8]) -> usize {
        let mut skipped = 0;
        let (mut fc, mut lc) = (0u16, 0u16);
        for p in super::scan(wire) {
            let raw = p.bytes(wire);
            if let Some(r) = p.repr {
                if r.data_type == cse_core::csi2::DataType::FS {
                    (fc, lc) = (r.word_count, 0);
                } else if !r.data_type.is_short() {
                    lc = lc.wrapping_add(1);
                }
            }
            match Csi2Message::from_dphy(raw, fc, lc) {
                Some(m) => self.message(IF_CSI2, Payload::Csi2(m)),
                None => skipped += raw.len(),
            }
            let n = u64::try_from(raw.len()).unwrap_or(u64::MAX);
            self.advance(n.saturating_mul(NS_PER_3_BYTES) / 3);
        }
        skipped
    }

    /// The pcapng file.
    ///
    /// # Errors
    /// A message that could not be written (a CSI-2 payload longer than a CMP message holds).
    pub fn finish(self) -> Result<Vec<u8>, CaptureError> {
        match self.error {
            Some(e) => Err(CaptureError::Pcapng(e)),
            None => Ok(self.writer.into_inner()),
        }
    }
}

impl std::fmt::Debug for Recorder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Recorder")
            .field("stream_id", &self.stream_id)
            .field("clock_ns", &self.clock_ns)
            .field("frames", &self.frames)
            .finish_non_exhaustive()
    }
}

fn pcap_err(e: pcap_file::PcapError) -> CaptureError {
    CaptureError::Pcapng(e.to_string())
}

/// Writes the CSI-2 packets of a capture (D-PHY packets back to back) as a pcapng file, time
/// stamps from `start_ns` on at the link rate, every message whole.
///
/// # Errors
/// Bytes that are not whole packets (a malformed capture), or a packet too long for CMP.
pub fn write_csi2(capture: &[u8], start_ns: u64) -> Result<Vec<u8>, CaptureError> {
    write_csi2_mtu(capture, start_ns, None)
}

/// [`write_csi2`] with messages longer than `mtu` allows segmented ([`Recorder::set_mtu`]).
///
/// # Errors
/// As [`write_csi2`], and an MTU below [`MIN_MTU`].
pub fn write_csi2_mtu(
    capture: &[u8],
    start_ns: u64,
    mtu: Option<usize>,
) -> Result<Vec<u8>, CaptureError> {
    let mut rec = Recorder::new(start_ns)?;
    rec.set_mtu(mtu)?;
    let skipped = rec.csi2(capture);
    if skipped > 0 {
        return Err(CaptureError::Pcapng(format!(
            "{skipped} bytes of the capture are not whole CSI-2 packets"
        )));
    }
    rec.finish()
}

/// Which messages [`read_selected`] keeps: those of the given CMP device, stream and
/// interface ids (`None`: any).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Selection {
    /// CMP device id (capture module).
    pub device_id: Option<u16>,
    /// CMP stream id.
    pub stream_id: Option<u8>,
    /// Interface id of the message (the captured bus).
    pub interface_id: Option<u32>,
}

impl Selection {
    fn keeps(&self, h: &CmpHeader, interface_id: u32) -> bool {
        self.device_id.is_none_or(|d| d == h.device_id)
            && self.stream_id.is_none_or(|s| s == h.stream_id)
            && self.interface_id.is_none_or(|i| i == interface_id)
    }
}

/// What [`read`] found besides the CSI-2 packets, in file order.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ReadStats {
    /// Packet blocks (EPB/SPB) in the file.
    pub frames: usize,
    /// Ethernet frames of EtherType 0x99FE.
    pub cmp_frames: usize,
    /// CSI-2 messages read.
    pub csi2: usize,
    /// I2C messages read.
    pub i2c: usize,
    /// Frames skipped: another EtherType, another link type, or too short.
    pub skipped_frames: usize,
    /// CMP frames of a message type other than Capture Data (Control, Status, ...), skipped.
    pub skipped_message_types: usize,
    /// Messages of other payload types, skipped, by payload type (`"0x01"`: CAN, ...).
    pub skipped_payloads: BTreeMap<String, usize>,
    /// Messages rebuilt from their segments (counted once, as the message they make).
    pub reassembled: usize,
    /// Segments skipped because their message could not be completed (a segment missing or
    /// out of order, the file ending first, a message longer than
    /// [`cmp::MAX_REASSEMBLED_LEN`]) or because no first segment came before them.
    pub lost_segments: usize,
    /// Messages skipped because they are not of the selected device, stream or interface
    /// (`--cmp-device`, `--cmp-stream`, `--cmp-interface`).
    pub unselected: usize,
    /// CSI-2 or I2C messages whose fields do not fit together, skipped.
    pub invalid: usize,
    /// CSI-2 messages flagged with a CRC error by the capture module.
    pub crc_error_flags: usize,
    /// CSI-2 messages flagged with an ECC error (correctable or not) by the capture module.
    pub ecc_error_flags: usize,
}

impl ReadStats {
    /// Messages and frames skipped, all kinds together.
    pub fn skipped(&self) -> usize {
        self.skipped_frames
            + self.skipped_message_types
            + self.skipped_payloads.values().sum::<usize>()
            + self.lost_segments
            + self.unselected
            + self.invalid
    }
}

/// An I2C transaction read from a capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct I2cRecord {
    /// Nanoseconds since the Unix epoch.
    pub timestamp_ns: u64,
    /// The transaction.
    pub message: I2cMessage,
}

/// A pcapng capture as read: the CSI-2 packets in D-PHY form back to back (the raw capture
/// format, section 1), their timestamps, the I2C transactions and what was skipped.
#[derive(Clone, Debug, Default)]
pub struct PcapCapture {
    /// CSI-2 packets in D-PHY form, back to back, in file order.
    pub csi2: Vec<u8>,
    /// The timestamp of each CSI-2 packet (nanoseconds since the Unix epoch).
    pub csi2_times: Vec<u64>,
    /// The I2C transactions.
    pub i2c: Vec<I2cRecord>,
    /// The pcapng timestamp of every packet block, in file order (nanoseconds since the Unix
    /// epoch, converted from the interface's `if_tsresol`; 0 for simple packet blocks).
    pub frame_times: Vec<u64>,
    /// Counts.
    pub stats: ReadStats,
}

/// Reads a pcapng file of CMP frames. CSI-2 messages become D-PHY packets (ECC and CRC-16 as
/// captured when the flags say so, computed otherwise); segmented messages are reassembled
/// ([`Reassembler`]); other payloads, other EtherTypes and other link types are counted and
/// skipped.
///
/// # Errors
/// A file that is not pcapng, or whose block structure is broken.
pub fn read(bytes: &[u8]) -> Result<PcapCapture, CaptureError> {
    read_selected(bytes, &Selection::default())
}

/// [`read`], keeping only the messages of `selection` (the others are counted as
/// [`ReadStats::unselected`]). Segments are selected by their frame's device and stream ids
/// and their own interface id, before reassembly.
///
/// # Errors
/// As [`read`].
pub fn read_selected(bytes: &[u8], selection: &Selection) -> Result<PcapCapture, CaptureError> {
    let (mut src, mut parser) = PcapNgParser::new(bytes).map_err(pcap_err)?;
    let mut out = PcapCapture::default();
    let mut reassembler = Reassembler::new();
    while !src.is_empty() {
        let (rest, block) = parser.next_block(src).map_err(pcap_err)?;
        src = rest;
        let (iface, data, units) = match block {
            Block::EnhancedPacket(p) => (p.interface_id, p.data, Some(p.timestamp.as_nanos())),
            Block::SimplePacket(p) => (0, p.data, None),
            _ => continue,
        };
        out.stats.frames += 1;
        let idb = usize::try_from(iface)
            .ok()
            .and_then(|i| parser.interfaces().get(i));
        out.frame_times
            .push(units.map_or(0, |u| to_ns(u, idb.map_or(6, ts_resolution))));
        let ethernet = idb.is_some_and(|i| i.linktype == DataLink::ETHERNET);
        if !ethernet {
            out.stats.skipped_frames += 1;
            continue;
        }
        let Decoded::Cmp(frame) = cmp::decode_ethernet(&data) else {
            out.stats.skipped_frames += 1;
            continue;
        };
        out.stats.cmp_frames += 1;
        if frame.header.message_type != cmp::MSG_CAPTURE_DATA {
            out.stats.skipped_message_types += 1;
            continue;
        }
        if frame.trailing > 0 {
            out.stats.invalid += 1;
        }
        for m in frame.messages {
            if !selection.keeps(&frame.header, m.interface_id) {
                out.stats.unselected += 1;
                continue;
            }
            let Some(m) = reassembler.push(&frame.header, m) else {
                continue;
            };
            match m.payload {
                Payload::Csi2(c) => {
                    let Some(raw) = c.to_dphy() else {
                        out.stats.invalid += 1;
                        continue;
                    };
                    if c.flags & cmp::CSI2_CRC_ERR != 0 {
                        out.stats.crc_error_flags += 1;
                    }
                    if c.flags & (cmp::CSI2_ECC_ERR_CORRECTABLE | cmp::CSI2_ECC_ERR_UNCORRECTABLE)
                        != 0
                    {
                        out.stats.ecc_error_flags += 1;
                    }
                    out.stats.csi2 += 1;
                    out.csi2.extend_from_slice(&raw);
                    out.csi2_times.push(m.timestamp_ns);
                }
                Payload::I2c(message) => {
                    out.stats.i2c += 1;
                    out.i2c.push(I2cRecord {
                        timestamp_ns: m.timestamp_ns,
                        message,
                    });
                }
                Payload::Other { payload_type, .. } => {
                    *out.stats
                        .skipped_payloads
                        .entry(format!("0x{payload_type:02X}"))
                        .or_insert(0) += 1;
                }
                // Fields that do not fit together; a segment never comes out of the
                // reassembler, and would count as invalid if it did.
                Payload::Invalid { .. } | Payload::Segment { .. } => out.stats.invalid += 1,
            }
        }
    }
    reassembler.finish();
    let r = reassembler.stats();
    out.stats.reassembled = r.reassembled;
    out.stats.lost_segments = r.lost_segments;
    Ok(out)
}

/// The `if_tsresol` of an interface (6, microseconds, when absent).
fn ts_resolution(idb: &InterfaceDescriptionBlock<'_>) -> u8 {
    idb.options
        .iter()
        .find_map(|o| match o {
            InterfaceDescriptionOption::IfTsResol(r) => Some(*r),
            _ => None,
        })
        .unwrap_or(6)
}

/// Nanoseconds from a timestamp in the units of `if_tsresol` `resol` (`pcap-file` hands the
/// raw 64-bit value over as if it were nanoseconds).
fn to_ns(units: u128, resol: u8) -> u64 {
    let ns = if resol & 0x80 != 0 {
        let shift = u32::from(resol & 0x7F).min(127);
        units.saturating_mul(1_000_000_000) >> shift
    } else if resol <= 9 {
        units.saturating_mul(10u128.pow(u32::from(9 - resol)))
    } else {
        units / 10u128.saturating_pow(u32::from(resol - 9))
    };
    u64::try_from(ns).unwrap_or(u64::MAX)
}

/// One line on what a pcapng read found, e.g. `pcapng: 12 frames, 10 CSI-2 packets, 1 I2C
/// transaction, 1 skipped (payload type 0x01: 1)`.
pub fn describe(s: &ReadStats) -> String {
    let mut t = format!(
        "pcapng: {} frames, {} CSI-2 packets, {} I2C transactions",
        s.frames, s.csi2, s.i2c
    );
    if s.skipped() > 0 {
        let mut parts = Vec::new();
        if s.skipped_frames > 0 {
            parts.push(format!("{} non-CMP frames", s.skipped_frames));
        }
        if s.skipped_message_types > 0 {
            parts.push(format!("{} non-data CMP frames", s.skipped_message_types));
        }
        for (t, n) in &s.skipped_payloads {
            parts.push(format!("payload type {t}: {n}"));
        }
        if s.unselected > 0 {
            parts.push(format!(
                "{} of other devices, streams or interfaces",
                s.unselected
            ));
        }
        if s.lost_segments > 0 {
            parts.push(format!(
                "{} segments of incomplete messages",
                s.lost_segments
            ));
        }
        if s.invalid > 0 {
            parts.push(format!("{} invalid messages", s.invalid));
        }
        t.push_str(&format!(", {} skipped ({})", s.skipped(), parts.join(", ")));
    }
    if s.reassembled > 0 {
        t.push_str(&format!(
            ", {} messages reassembled from segments",
            s.reassembled
        ));
    }
    if s.crc_error_flags + s.ecc_error_flags > 0 {
        t.push_str(&format!(
            ", capture module flagged {} CRC and {} ECC errors",
            s.crc_error_flags, s.ecc_error_flags
        ));
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamp_resolutions() {
        assert_eq!(to_ns(1_500_000, 6), 1_500_000_000);
        assert_eq!(to_ns(7, 9), 7);
        assert_eq!(to_ns(12_345, 12), 12);
        assert_eq!(to_ns(3, 0), 3_000_000_000);
        // 2^-10 s units.
        assert_eq!(to_ns(1024, 0x8A), 1_000_000_000);
        assert_eq!(to_ns(u128::MAX, 0), u64::MAX);
        assert_eq!(to_ns(u128::MAX, 0xFF), to_ns(u128::MAX, 0xFF));
    }

    #[test]
    fn written_timestamps_read_back_as_nanoseconds() {
        let mut r = Recorder::new(1_700_000_000_123_456_789).unwrap();
        r.i2c_write(0x36, &[1, 2, 3]);
        r.message(IF_I2C, Payload::I2c(I2cMessage::write(0x10, &[])));
        let file = r.finish().unwrap();
        let got = read(&file).unwrap();
        assert_eq!(got.frame_times.len(), 2);
        assert_eq!(got.frame_times[0], 1_700_000_000_123_456_789);
        assert_eq!(got.frame_times[1], 1_700_000_000_123_456_789 + 4 * 22_500);
        assert_eq!(got.i2c[1].timestamp_ns, got.frame_times[1]);
    }
}
