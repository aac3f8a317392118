//! `cse protect`: plain packets or raw image files in, a protected capture out.

use cse_core::csi2::{DataType, Emitter, HeaderForm, VirtualChannel};
use cse_core::{Block, FrameConfig, Profile};

use super::{CAPTURE_NONCE_LEN, CaptureError, Framing, HEADER_DT, HEADER_MAGIC, KeyFile, scan};
use crate::Protocol;

/// A raw pixel format accepted as input, in CSI-2 packed form.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RawFormat {
    /// RAW10: 4 pixels in 5 bytes (4 high bytes, then the 4 pairs of low bits).
    Raw10,
    /// RAW12: 2 pixels in 3 bytes (2 high bytes, then the 2 low nibbles).
    Raw12,
}

impl RawFormat {
    /// The CSI-2 data type of the lines.
    pub fn data_type(self) -> DataType {
        match self {
            RawFormat::Raw10 => DataType::RAW10,
            RawFormat::Raw12 => DataType::RAW12,
        }
    }

    /// `"RAW10"` or `"RAW12"`.
    pub fn name(self) -> &'static str {
        match self {
            RawFormat::Raw10 => "RAW10",
            RawFormat::Raw12 => "RAW12",
        }
    }

    /// Bytes of one packed line of `width` pixels.
    ///
    /// # Errors
    /// [`CaptureError::Raw`] when `width` is zero, not a multiple of the packing group (4 for
    /// RAW10, 2 for RAW12), or the line exceeds the 65535-byte word count.
    pub fn line_bytes(self, width: usize) -> Result<usize, CaptureError> {
        let (group, bytes) = match self {
            RawFormat::Raw10 => (4, 5),
            RawFormat::Raw12 => (2, 3),
        };
        if width == 0 || !width.is_multiple_of(group) {
            return Err(CaptureError::Raw(format!(
                "--width {width}: {} packs {group} pixels in {bytes} bytes, the width must be a \
                 nonzero multiple of {group}",
                self.name()
            )));
        }
        let line = width / group * bytes;
        if line > usize::from(u16::MAX) {
            return Err(CaptureError::Raw(format!(
                "--width {width}: a {} line of {line} bytes exceeds the 65535-byte CSI-2 word \
                 count",
                self.name()
            )));
        }
        Ok(line)
    }
}

/// The geometry of a raw image file: frames of `height` lines of `width` pixels, back to back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RawInput {
    /// Pixel format.
    pub format: RawFormat,
    /// Pixels per line.
    pub width: usize,
    /// Lines per frame.
    pub height: usize,
}

/// Turns a raw image file into a capture of plain packets: per frame FS, one long packet per
/// line with the RAW data type, FE. The CSI-2 frame number of frame `i` (0-based) is the low 16
/// bits of `first_frame + i`.
///
/// # Errors
/// [`CaptureError::Empty`]; [`CaptureError::Raw`] when the size is not a whole number of
/// frames or the geometry is invalid; [`CaptureError::Options`] for a VC above 3.
pub fn raw_to_capture(
    raw: &[u8],
    input: &RawInput,
    vc: VirtualChannel,
    first_frame: u32,
) -> Result<Vec<u8>, CaptureError> {
    if raw.is_empty() {
        return Err(CaptureError::Empty);
    }
    check_vc(vc)?;
    let line = input.format.line_bytes(input.width)?;
    if input.height == 0 {
        return Err(CaptureError::Raw("--height must be at least 1".into()));
    }
    let frame = line
        .checked_mul(input.height)
        .ok_or_else(|| CaptureError::Raw("--width x --height is too large".into()))?;
    if !raw.len().is_multiple_of(frame) {
        return Err(CaptureError::Raw(format!(
            "the file has {} bytes, not a whole number of {}x{} {} frames of {frame} bytes \
             ({line} bytes per line): {} whole frame(s) and {} bytes left over; check --width, \
             --height and the pixel format",
            raw.len(),
            input.width,
            input.height,
            input.format.name(),
            raw.len() / frame,
            raw.len() % frame
        )));
    }
    let frames = raw.len() / frame;
    let per_frame = 8 + input.height * (line + 6);
    let mut out = vec![0u8; frames * per_frame];
    let mut em = Emitter::new(&mut out, HeaderForm::Dphy);
    let dt = input.format.data_type();
    let framing = |e: cse_core::csi2::Error| CaptureError::Raw(e.to_string());
    for (i, pixels) in raw.chunks_exact(frame).enumerate() {
        // The frame number is the low 16 bits by definition.
        let number = (first_frame.wrapping_add(i as u32) & 0xFFFF) as u16;
        em.frame_start(vc, number).map_err(framing)?;
        for l in pixels.chunks_exact(line) {
            em.long(vc, dt, l).map_err(framing)?;
        }
        em.frame_end(vc, number).map_err(framing)?;
    }
    let n = em.len();
    out.truncate(n);
    Ok(out)
}

fn check_vc(vc: VirtualChannel) -> Result<(), CaptureError> {
    if vc.get() > HeaderForm::Dphy.max_vc() {
        return Err(CaptureError::Options(format!(
            "VC {} does not fit a D-PHY header (0..=3)",
            vc.get()
        )));
    }
    Ok(())
}

/// What `cse protect` does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProtectOptions {
    /// SEP or FSED.
    pub protocol: Protocol,
    /// The configuration of every frame (its key id is replaced by the key file's).
    pub config: FrameConfig,
    /// The virtual channel to protect; `None`: the VC of the first packet.
    pub vc: Option<VirtualChannel>,
    /// The frame counter of the first frame.
    pub first_frame: u32,
}

/// Protects a capture of plain CSI-2 packets (one virtual channel, whole frames FS..FE) and
/// returns the protected capture.
///
/// No keystream is ever reused: every call draws a fresh 16-byte nonce from the operating
/// system, protects under keys derived from the key file, that nonce and the capture's frame
/// range ([`KeyFile::for_capture_range`]: `first_frame` and the number of frames) and writes
/// them first, in a capture header packet that `verify` and `inspect` read
/// ([`super::capture_header`]); they report frames missing from either end of the range.
///
/// # Errors
/// As [`protect_with_nonce`]; [`CaptureError::Options`] when the system has no random source.
pub fn protect(
    capture: &[u8],
    keys: &KeyFile,
    opts: &ProtectOptions,
) -> Result<Vec<u8>, CaptureError> {
    let mut nonce = [0u8; CAPTURE_NONCE_LEN];
    getrandom::fill(&mut nonce)
        .map_err(|e| CaptureError::Options(format!("no random source for the nonce: {e}")))?;
    protect_inner(capture, keys, opts, &nonce, &mut |_, _| {})
}

/// [`protect`], calling `progress(done, total)` (packets) every [`super::PROGRESS_STEP`]
/// packets and once at the end.
///
/// # Errors
/// As [`protect`].
pub fn protect_progress(
    capture: &[u8],
    keys: &KeyFile,
    opts: &ProtectOptions,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<u8>, CaptureError> {
    let mut nonce = [0u8; CAPTURE_NONCE_LEN];
    getrandom::fill(&mut nonce)
        .map_err(|e| CaptureError::Options(format!("no random source for the nonce: {e}")))?;
    protect_inner(capture, keys, opts, &nonce, progress)
}

/// [`protect`] with a given nonce (reproducible test vectors). **Hazmat**: two calls with the
/// same key file, nonce and input geometry use the same IVs under the same keys; never reuse
/// a nonce for different data.
///
/// # Errors
/// [`CaptureError::Empty`]; [`CaptureError::Malformed`] for a packet that is not valid CSI-2;
/// [`CaptureError::Refused`] for a packet the transmitter refuses (another VC, outside a frame,
/// already protected, ...), naming its index and offset; [`CaptureError::UnfinishedFrame`];
/// [`CaptureError::KeySuite`] / [`CaptureError::Options`] for keys or options that do not fit.
pub fn protect_with_nonce(
    capture: &[u8],
    keys: &KeyFile,
    opts: &ProtectOptions,
    nonce: &[u8; CAPTURE_NONCE_LEN],
) -> Result<Vec<u8>, CaptureError> {
    protect_inner(capture, keys, opts, nonce, &mut |_, _| {})
}

/// [`protect_with_nonce`], calling `progress(done, total)` (packets) every
/// [`super::PROGRESS_STEP`] packets and once at the end.
fn protect_inner(
    capture: &[u8],
    keys: &KeyFile,
    opts: &ProtectOptions,
    nonce: &[u8; CAPTURE_NONCE_LEN],
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Vec<u8>, CaptureError> {
    if capture.is_empty() {
        return Err(CaptureError::Empty);
    }
    let profile = Profile::DRAFT_1;
    let packets = scan(capture);
    for p in &packets {
        let error = match p.framing {
            Framing::Ok => continue,
            Framing::CrcMismatch { computed, received } => format!(
                "CRC-16 mismatch (computed {computed:#06x}, footer {received:#06x}); the input \
                 must be a clean capture"
            ),
            Framing::Malformed(e) => format!("{e} (the input is not a whole CSI-2 capture)"),
        };
        return Err(CaptureError::Malformed {
            index: p.index,
            offset: p.offset,
            error,
        });
    }
    let mut config = opts.config;
    config.key_id = keys.key_id();
    config
        .validate()
        .map_err(|e| CaptureError::Options(format!("frame configuration: {e}")))?;
    for b in Block::ALL {
        let c = config.block(b);
        if c.sv.authenticates() {
            keys.check_suite(c.suite)?;
        }
    }
    let kp = crate::keys::KeyProfile::of(&config);
    let (min_tag, scoped) = (kp.min_tag_len, kp.scoped);
    let vc = match (opts.vc, packets.first().and_then(|p| p.repr)) {
        (Some(vc), _) => vc,
        (None, Some(r)) => r.vc,
        (None, None) => return Err(CaptureError::Empty),
    };
    check_vc(vc)?;
    // The frame range the capture header records and the keys are bound to: one frame per FS
    // (every FS of the input is on `vc`, or the input is refused below), counters from
    // `first_frame` on.
    let frame_count = packets
        .iter()
        .filter(|p| p.repr.is_some_and(|r| r.data_type == DataType::FS))
        .count();
    let frame_count = u32::try_from(frame_count)
        .map_err(|_| CaptureError::Options("more frames than a capture header counts".into()))?;
    let keys = &keys.for_capture_range(nonce, opts.first_frame, frame_count)?;
    let mut tx = match opts.protocol {
        Protocol::Sep => {
            let mut t = cse_sep::Transmitter::new(cse_sep::Settings::new(vc), opts.first_frame);
            let r = t
                .install_key(config.key_id, keys.material(min_tag, scoped)?)
                .and_then(|()| t.set_config(config));
            r.map_err(|e| CaptureError::Options(e.to_string()))?;
            Tx::Sep(Box::new(t))
        }
        Protocol::Fsed => {
            let mut t = cse_fsed::Transmitter::new(cse_fsed::Settings::new(vc), opts.first_frame);
            let r = t
                .install_key(config.key_id, keys.material(min_tag, scoped)?)
                .and_then(|()| t.set_config(config));
            r.map_err(|e| CaptureError::Options(e.to_string()))?;
            Tx::Fsed(Box::new(t))
        }
    };
    let mut out = Vec::with_capacity(capture.len() + capture.len() / 8 + 1024);
    // The capture header: the nonce the keys were derived with, on the protected VC.
    let mut header = [0u8; 4 + 40 + 2];
    let mut em = Emitter::new(&mut header, HeaderForm::Dphy);
    let mut payload = [0u8; 40];
    payload[..16].copy_from_slice(HEADER_MAGIC);
    payload[16..32].copy_from_slice(nonce);
    payload[32..36].copy_from_slice(&opts.first_frame.to_le_bytes());
    payload[36..].copy_from_slice(&frame_count.to_le_bytes());
    em.long(vc, HEADER_DT, &payload)
        .map_err(|e| CaptureError::Options(e.to_string()))?;
    out.extend_from_slice(em.written());
    let mut scratch = vec![0u8; 70_000 + 1024];
    let mut ins = [0u8; cse_fsed::tx::MAX_INSERTED_LEN];
    let mut open_fs: Option<(u16, usize)> = None;
    for p in &packets {
        if p.index % super::PROGRESS_STEP == 0 {
            progress(p.index, packets.len());
        }
        let Some(repr) = p.repr else {
            continue; // unreachable: every packet passed the framing check above
        };
        let raw = p.bytes(capture);
        let refuse = |error: String| CaptureError::Refused {
            index: p.index,
            offset: p.offset,
            what: p.describe(&profile),
            error,
        };
        if repr.vc != vc {
            return Err(refuse(format!(
                "this capture protects VC {}; a capture holds one virtual channel (split \
                 multi-VC captures first)",
                vc.get()
            )));
        }
        if repr.data_type == profile.dt_sep
            || repr.data_type == profile.dt_fsed
            || super::capture_nonce(p, capture).is_some()
        {
            return Err(refuse(
                "the input is already protected (SEP/FSED packet or capture header); protect \
                 plain packets"
                    .into(),
            ));
        }
        let outside = open_fs.is_none() && repr.data_type != DataType::FS;
        let hint = |e: String| {
            if outside {
                format!("{e}: the packet is outside a frame (before the first FS or after an FE)")
            } else {
                e
            }
        };
        match &mut tx {
            Tx::Sep(t) => {
                let r = t
                    .protect(raw, &mut scratch)
                    .map_err(|e| refuse(hint(e.to_string())))?;
                out.extend_from_slice(scratch.get(..r.len).unwrap_or_default());
            }
            Tx::Fsed(t) => {
                let mut pkt = raw.to_vec();
                let r = t
                    .protect(&mut pkt, &mut ins)
                    .map_err(|e| refuse(hint(e.to_string())))?;
                out.extend_from_slice(r.before(&ins));
                out.extend_from_slice(&pkt);
                out.extend_from_slice(r.after(&ins));
            }
        }
        if repr.data_type == DataType::FS {
            open_fs = Some((repr.word_count, p.index));
        } else if repr.data_type == DataType::FE {
            open_fs = None;
        }
    }
    if let Some((frame, index)) = open_fs {
        return Err(CaptureError::UnfinishedFrame { frame, index });
    }
    progress(packets.len(), packets.len());
    Ok(out)
}

enum Tx {
    Sep(Box<cse_sep::Transmitter>),
    Fsed(Box<cse_fsed::Transmitter>),
}
