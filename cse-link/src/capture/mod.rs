//! Capture files: protecting, verifying and inspecting recorded CSI-2 streams (the logic behind
//! `cse protect`, `cse verify` and `cse inspect`; the format is in `docs/capture.md`).
//!
//! A capture is CSI-2 packets in D-PHY form, back to back, exactly as on the wire, with no file
//! header (`protect` writes its nonce and frame range in a first CSI-2 packet,
//! [`capture_header`]): short
//! packets are 4 bytes, long packets a 4-byte header (with ECC), the payload and the CRC-16
//! footer (least significant byte first). [`scan`] splits a capture into packets
//! without stopping at the first CRC error (the header still says where the next packet
//! starts); a header the ECC cannot correct, or a packet cut by the end of the file, ends the
//! scan with one last [`CapturePacket`] that covers the remaining bytes, so nothing is dropped.
//!
//! - [`protect()`]: plain packets (or a raw RAW10/RAW12 image file, [`raw_to_capture`]) in, a
//!   capture protected with SEP or FSED out.
//! - [`analyse()`]: runs the SEP or FSED receiver over a protected capture and gives a verdict
//!   for every packet ([`Analysis`]), the recovered original packets and the frame findings.
//! - [`KeyFile`]: the key file format.

mod analyse;
pub mod cmp;
mod keyfile;
pub mod pcapng;
mod protect;
mod render;

pub use analyse::{
    Analysis, FrameFinding, PROGRESS_STEP, Row, RowStatus, Verdict, analyse, analyse_with_progress,
    detect_protocol,
};
pub use keyfile::{CAPTURE_NONCE_LEN, KeyFile};
pub use protect::{
    ProtectOptions, RawFormat, RawInput, protect, protect_progress, protect_with_nonce,
    raw_to_capture,
};
pub use render::{
    InspectFinding, InspectPacket, InspectReport, fields, inspect_json, inspect_report,
    inspect_text, inspect_text_width, summary, to_json_line,
};

use cse_core::Profile;
use cse_core::csi2::{self, DataType, EccCheck, HeaderForm, Packets, Repr};

/// Why a capture operation failed. Messages name the packet (index and byte offset) or the key
/// file line; they never contain key bytes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CaptureError {
    /// A file could not be read or written.
    #[error("{path}: {msg}")]
    Io {
        /// The file.
        path: String,
        /// What the operating system said.
        msg: String,
    },
    /// The input file is empty.
    #[error("the input file is empty")]
    Empty,
    /// A packet of the input capture is not a valid CSI-2 packet.
    #[error("packet {index} at byte {offset}: {error}")]
    Malformed {
        /// Packet index in the capture.
        index: usize,
        /// Byte offset in the capture.
        offset: usize,
        /// What is wrong with it.
        error: String,
    },
    /// The transmitter refused a packet of the input.
    #[error("packet {index} at byte {offset} ({what}): {error}")]
    Refused {
        /// Packet index in the capture.
        index: usize,
        /// Byte offset in the capture.
        offset: usize,
        /// The packet's VC and data type.
        what: String,
        /// The transmitter's reason.
        error: String,
    },
    /// The input capture ends inside a frame (no FE after the last FS).
    #[error("the input ends inside frame {frame} (FS at packet {index} has no FE)")]
    UnfinishedFrame {
        /// CSI-2 frame number of the unfinished frame.
        frame: u16,
        /// Packet index of its FS.
        index: usize,
    },
    /// A raw image file whose size or geometry does not fit the options.
    #[error("raw input: {0}")]
    Raw(String),
    /// A key file line that is not valid.
    #[error("key file line {line}: {msg}")]
    KeyFile {
        /// 1-based line number.
        line: usize,
        /// The problem (never the value).
        msg: String,
    },
    /// A required key file entry is missing.
    #[error("key file: `{0}` is missing")]
    KeyMissing(&'static str),
    /// The key file as a whole is not valid, or its keys do not fit the chosen suite.
    #[error("key file: {0}")]
    KeySuite(String),
    /// Options that do not fit together (or a protocol that cannot be detected).
    #[error("{0}")]
    Options(String),
    /// A pcapng file that cannot be read or written.
    #[error("pcapng: {0}")]
    Pcapng(String),
}

/// How a packet of a capture fared in CSI-2 framing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    /// Header (possibly ECC-corrected) and, for a long packet, CRC-16 are good.
    Ok,
    /// The header is good but the CRC-16 footer does not match the payload.
    CrcMismatch {
        /// CRC-16 over the payload as received.
        computed: u16,
        /// CRC-16 in the footer.
        received: u16,
    },
    /// The packet cannot be read: the header is uncorrectable or has reserved bits set, or the
    /// file ends inside the packet. It covers every remaining byte of the capture.
    Malformed(csi2::Error),
}

/// One packet of a capture as [`scan`] found it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapturePacket {
    /// Index in the capture (0-based).
    pub index: usize,
    /// Byte offset in the capture.
    pub offset: usize,
    /// Length in bytes (for [`Framing::Malformed`]: the rest of the file).
    pub len: usize,
    /// The decoded header, when the ECC allowed decoding it.
    pub repr: Option<Repr>,
    /// What the ECC check found (`None` when fewer than 4 bytes remain).
    pub ecc: Option<EccCheck>,
    /// Framing verdict.
    pub framing: Framing,
}

impl CapturePacket {
    /// The packet's bytes in `capture`.
    pub fn bytes<'a>(&self, capture: &'a [u8]) -> &'a [u8] {
        capture
            .get(self.offset..self.offset.saturating_add(self.len))
            .unwrap_or_default()
    }

    /// `VC n DT name`, or what is known of a malformed packet.
    pub fn describe(&self, profile: &Profile) -> String {
        match &self.repr {
            Some(r) => format!("VC {} {}", r.vc.get(), dt_name(r.data_type, profile)),
            None => "unreadable header".into(),
        }
    }
}

/// Data type of the capture header packet: CSI-2 user-defined 8-bit data type 1.
pub const HEADER_DT: DataType = DataType(0x30);

/// The first 16 payload bytes of the capture header packet that `protect` writes (version 2:
/// nonce and frame range).
pub const HEADER_MAGIC: &[u8; 16] = b"cse-rs capture 2";

/// The first 16 payload bytes of a version 1 capture header (nonce only, no frame range), as
/// earlier versions of `protect` wrote it; still read.
pub const HEADER_MAGIC_V1: &[u8; 16] = b"cse-rs capture 1";

/// What a capture header records (`docs/capture.md` section 1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CaptureHeader {
    /// The random value the capture's keys were derived with (not secret).
    pub nonce: [u8; CAPTURE_NONCE_LEN],
    /// Version 2: the frame counter of the first frame and the number of frames protected,
    /// bound into the key derivation ([`KeyFile::for_capture_range`]). `None` for version 1.
    pub range: Option<(u32, u32)>,
}

/// The capture header in `packet`: a long packet of data type [`HEADER_DT`] whose payload is
/// [`HEADER_MAGIC`], the nonce and the frame range (first frame counter, frame count, both
/// u32 little-endian; 40 bytes), or [`HEADER_MAGIC_V1`] and the nonce (32 bytes).
pub fn capture_header(packet: &CapturePacket, capture: &[u8]) -> Option<CaptureHeader> {
    if packet.framing != Framing::Ok || packet.repr?.data_type != HEADER_DT {
        return None;
    }
    let payload = packet.bytes(capture).get(4..)?;
    let payload = payload.get(..payload.len().checked_sub(2)?)?;
    if let Some(nonce) = payload.strip_prefix(&HEADER_MAGIC_V1[..]) {
        return Some(CaptureHeader {
            nonce: nonce.try_into().ok()?,
            range: None,
        });
    }
    let rest = payload.strip_prefix(&HEADER_MAGIC[..])?;
    if rest.len() != CAPTURE_NONCE_LEN + 8 {
        return None;
    }
    let (nonce, range) = rest.split_at(CAPTURE_NONCE_LEN);
    let (first, count) = range.split_at(4);
    Some(CaptureHeader {
        nonce: nonce.try_into().ok()?,
        range: Some((
            u32::from_le_bytes(first.try_into().ok()?),
            u32::from_le_bytes(count.try_into().ok()?),
        )),
    })
}

/// The nonce of a capture header ([`capture_header`], either version).
pub fn capture_nonce(packet: &CapturePacket, capture: &[u8]) -> Option<[u8; CAPTURE_NONCE_LEN]> {
    capture_header(packet, capture).map(|h| h.nonce)
}

/// Decodes the header at the start of `rest` through its ECC, without length or CRC checks.
fn header_of(rest: &[u8]) -> (Option<Repr>, Option<EccCheck>) {
    let Some(&[a, b, c, d]) = rest.get(..4) else {
        return (None, None);
    };
    let mut h = [a, b, c, d];
    let ecc = HeaderForm::Dphy.correct(&mut h);
    if !ecc.is_usable() {
        return (None, Some(ecc));
    }
    let view = csi2::Packet::new_unchecked(&h[..]);
    let repr = Repr {
        vc: view.vc(HeaderForm::Dphy),
        data_type: view.data_type(),
        word_count: view.word_count(),
    };
    (Some(repr), Some(ecc))
}

/// Splits a capture into packets. Never panics; every byte of `capture` belongs to exactly one
/// returned packet.
pub fn scan(capture: &[u8]) -> Vec<CapturePacket> {
    let mut out = Vec::new();
    let mut pos = 0usize;
    while pos < capture.len() {
        let rest = capture.get(pos..).unwrap_or_default();
        let index = out.len();
        match Packets::new(rest, HeaderForm::Dphy).next() {
            Some(Ok(d)) => {
                out.push(CapturePacket {
                    index,
                    offset: pos,
                    len: d.raw.len(),
                    repr: Some(d.repr),
                    ecc: Some(d.ecc),
                    framing: Framing::Ok,
                });
                pos = pos.saturating_add(d.raw.len().max(1));
            }
            Some(Err(e)) => {
                let (repr, ecc) = header_of(rest);
                if let (csi2::Error::CrcMismatch { computed, received }, Some(r)) = (e.error, repr)
                {
                    let len = r.buffer_len();
                    out.push(CapturePacket {
                        index,
                        offset: pos,
                        len,
                        repr,
                        ecc,
                        framing: Framing::CrcMismatch { computed, received },
                    });
                    pos = pos.saturating_add(len.max(1));
                } else {
                    out.push(CapturePacket {
                        index,
                        offset: pos,
                        len: rest.len(),
                        repr,
                        ecc,
                        framing: Framing::Malformed(e.error),
                    });
                    break;
                }
            }
            None => break,
        }
    }
    out
}

/// The name of a data type: the CSI-2 names, `SEP` and `FSED` for the profile's codes, else
/// the hex code.
pub fn dt_name(dt: DataType, profile: &Profile) -> String {
    if dt == profile.dt_sep {
        return "SEP".into();
    }
    if dt == profile.dt_fsed {
        return "FSED".into();
    }
    let name = match dt.0 {
        0x00 => "FS",
        0x01 => "FE",
        0x02 => "LS",
        0x03 => "LE",
        0x08..=0x0F => return format!("GEN{}", dt.0 - 0x07),
        0x10 => "NULL",
        0x11 => "BLANKING",
        0x12 => "EMBEDDED",
        0x18 => "YUV420_8",
        0x19 => "YUV420_10",
        0x1A => "YUV420_8L",
        0x1E => "YUV422_8",
        0x1F => "YUV422_10",
        0x20 => "RGB444",
        0x21 => "RGB555",
        0x22 => "RGB565",
        0x23 => "RGB666",
        0x24 => "RGB888",
        0x26 => "RAW28",
        0x27 => "RAW24",
        0x28 => "RAW6",
        0x29 => "RAW7",
        0x2A => "RAW8",
        0x2B => "RAW10",
        0x2C => "RAW12",
        0x2D => "RAW14",
        0x2E => "RAW16",
        0x2F => "RAW20",
        0x30..=0x37 => return format!("USER{}", dt.0 - 0x2F),
        _ => return format!("0x{:02X}", dt.0),
    };
    name.into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use cse_core::csi2::{Emitter, VirtualChannel};

    fn sample() -> Vec<u8> {
        let vc = VirtualChannel::new(1).unwrap();
        let mut buf = vec![0u8; 256];
        let mut em = Emitter::new(&mut buf, HeaderForm::Dphy);
        em.frame_start(vc, 3).unwrap();
        em.long(vc, DataType::RAW10, &[0x55; 10]).unwrap();
        em.long(vc, DataType::RAW10, &[0x66; 10]).unwrap();
        em.frame_end(vc, 3).unwrap();
        let n = em.len();
        buf.truncate(n);
        buf
    }

    #[test]
    fn scan_splits_and_continues_after_a_crc_error() {
        let mut cap = sample();
        let p = scan(&cap);
        assert_eq!(p.len(), 4);
        assert!(p.iter().all(|p| p.framing == Framing::Ok));
        assert_eq!(p[1].offset, 4);
        assert_eq!(p[2].offset, 20);
        // A single header bit error is corrected and reported.
        let mut one = cap.clone();
        one[6] ^= 0x01;
        let p = scan(&one);
        assert_eq!(p.len(), 4);
        assert!(matches!(p[1].ecc, Some(EccCheck::Corrected { .. })));
        assert_eq!(p[1].framing, Framing::Ok);
        // Break the CRC of packet 1 (a payload byte): the scan goes on to 2 and 3.
        cap[10] ^= 0x01;
        let p = scan(&cap);
        assert_eq!(p.len(), 4);
        assert!(matches!(p[1].framing, Framing::CrcMismatch { .. }));
        assert_eq!(p[2].framing, Framing::Ok);
    }

    #[test]
    fn every_truncation_is_covered_without_panic() {
        let cap = sample();
        for n in 0..=cap.len() {
            let p = scan(&cap[..n]);
            let total: usize = p.iter().map(|p| p.len).sum();
            assert_eq!(total, n, "every byte accounted for at length {n}");
            if let Some(last) = p.last()
                && ![4, 20, 36, 40].contains(&n)
            {
                assert!(
                    matches!(last.framing, Framing::Malformed(_)),
                    "{n}: {last:?}"
                );
            }
        }
    }

    #[test]
    fn garbage_ends_in_one_malformed_packet() {
        let junk: Vec<u8> = (0..100u8).map(|i| i.wrapping_mul(97) ^ 0xC3).collect();
        let p = scan(&junk);
        let total: usize = p.iter().map(|p| p.len).sum();
        assert_eq!(total, junk.len());
        assert!(!p.is_empty());
    }

    #[test]
    fn names() {
        let p = Profile::DRAFT_1;
        assert_eq!(dt_name(DataType::RAW12, &p), "RAW12");
        assert_eq!(dt_name(p.dt_sep, &p), "SEP");
        assert_eq!(dt_name(p.dt_fsed, &p), "FSED");
        assert_eq!(dt_name(DataType(0x3F), &p), "0x3F");
        assert_eq!(dt_name(DataType(0x08), &p), "GEN1");
    }
}
