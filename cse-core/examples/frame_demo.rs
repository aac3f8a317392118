//! The project's main job until the `cse` CLI exists.
//!
//! Builds a synthetic 3840x2160 RAW12 frame as CSI-2 packets (FS, two embedded-data lines, 2160
//! pixel lines of 5760 bytes, two embedded-data lines, FE), then for every cipher suite protects
//! each long packet with its own tag (SV-1 for the encrypting suites, SV-2 for the others, one
//! tag per message), verifies every line through the replay tracker, checks that the receiver
//! gets the original bytes back, checks that a single flipped bit is caught, and prints a
//! throughput table.
//!
//! ```text
//! cargo run --release -p cse-core --features std --example frame_demo [-- --frames N]
//! ```

use std::process::ExitCode;
use std::time::{Duration, Instant};

use cse_core::context::{Context, covered_prefix};
use cse_core::crypto::SuiteKey;
use cse_core::csi2::{DataType, Emitter, HEADER_LEN, HeaderForm, Packets, VirtualChannel};
use cse_core::keys::{Salt, SecretKey};
use cse_core::nonce::{Iv, PacketNumber, StreamId};
use cse_core::sequence::ReplayTracker;
use cse_core::{
    Block, BlockConfig, CipherSuite, Direction, KeyId, KeySize, Profile, Protocol, ScopeKind,
    SecurityError, SecurityVariant, TagLen, TagMode,
};

const WIDTH: usize = 3840;
const HEIGHT: usize = 2160;
/// RAW12 packs two pixels into three bytes.
const LINE_BYTES: usize = WIDTH * 3 / 2;
const EMBEDDED_LINES: usize = 2;
const VC: u8 = 0;

/// Where one long packet sits in the frame buffer, and what the MAC binds it to.
struct Line {
    payload_at: usize,
    len: usize,
    dt: DataType,
    block: Block,
}

fn main() -> ExitCode {
    let frames = parse_frames().unwrap_or(4);
    let profile = Profile::DRAFT_1;
    let original = match build_frame(1) {
        Ok(f) => f,
        Err(e) => {
            eprintln!("could not build the frame: {e}");
            return ExitCode::FAILURE;
        }
    };
    let lines = match index_lines(&original) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("could not parse the frame: {e}");
            return ExitCode::FAILURE;
        }
    };
    let payload_bytes: usize = lines.iter().map(|l| l.len).sum();

    println!(
        "frame: {WIDTH}x{HEIGHT} RAW12, {} CSI-2 packets, {} long packets, {:.2} MB of payload; \
         {frames} frame(s) per suite, profile {}",
        Packets::new(&original, HeaderForm::Dphy).count(),
        lines.len(),
        payload_bytes as f64 / 1e6,
        profile.name
    );
    println!();
    println!(
        "{:<18} {:<5} {:>4} {:>14} {:>14} {:>10} {:>10}",
        "suite", "SV", "tag", "protect GB/s", "verify GB/s", "bit-exact", "tamper"
    );
    println!("{}", "-".repeat(81));

    let mut all_ok = true;
    for suite in CipherSuite::ALL {
        match run_suite(suite, &profile, &original, &lines, frames) {
            Ok(r) => {
                let gbps = |d: Duration| (payload_bytes * frames) as f64 / d.as_secs_f64() / 1e9;
                println!(
                    "{:<18} {:<5} {:>4} {:>14.2} {:>14.2} {:>10} {:>10}",
                    suite.name(),
                    format!("SV-{}", r.sv.number()),
                    r.tag_len.get(),
                    gbps(r.protect),
                    gbps(r.verify),
                    if r.bit_exact { "yes" } else { "NO" },
                    if r.tamper_detected {
                        "detected"
                    } else {
                        "MISSED"
                    },
                );
                all_ok &= r.bit_exact && r.tamper_detected;
            }
            Err(e) => {
                println!("{:<18} failed: {e}", suite.name());
                all_ok = false;
            }
        }
    }
    println!();
    if all_ok {
        println!("every line verified and came back bit-exact; every tampered line was rejected");
        ExitCode::SUCCESS
    } else {
        println!("FAILURE: see the table above");
        ExitCode::FAILURE
    }
}

fn parse_frames() -> Option<usize> {
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        if a == "--frames" {
            return args.next()?.parse().ok().filter(|n| *n > 0);
        }
    }
    None
}

/// A deterministic RAW12 test pattern: a diagonal ramp, two 12-bit pixels per three bytes.
fn fill_raw12_line(y: usize, out: &mut [u8]) {
    for (x2, px) in out.chunks_exact_mut(3).enumerate() {
        let p0 = ((2 * x2 + y) & 0xFFF) as u16;
        let p1 = ((2 * x2 + 1 + 3 * y) & 0xFFF) as u16;
        px[0] = (p0 >> 4) as u8;
        px[1] = (p1 >> 4) as u8;
        px[2] = ((p0 & 0xF) | ((p1 & 0xF) << 4)) as u8;
    }
}

fn build_frame(frame_number: u16) -> Result<Vec<u8>, Box<dyn std::error::Error>> {
    let vc = VirtualChannel::new(VC)?;
    let embedded_len = 2 * (HEADER_LEN + 2) + 2 * EMBEDDED_LINES * (LINE_BYTES + HEADER_LEN + 2);
    let total = 2 * HEADER_LEN + HEIGHT * (HEADER_LEN + LINE_BYTES + 2) + embedded_len;
    let mut buf = vec![0u8; total];
    let mut em = Emitter::new(&mut buf, HeaderForm::Dphy);
    em.frame_start(vc, frame_number)?;
    for i in 0..EMBEDDED_LINES {
        em.long_with(vc, DataType::EMBEDDED, LINE_BYTES as u16, |p| {
            p.fill(0x0A + i as u8)
        })?;
    }
    for y in 0..HEIGHT {
        em.long_with(vc, DataType::RAW12, LINE_BYTES as u16, |p| {
            fill_raw12_line(y, p)
        })?;
    }
    for i in 0..EMBEDDED_LINES {
        em.long_with(vc, DataType::EMBEDDED, LINE_BYTES as u16, |p| {
            p.fill(0xB0 + i as u8)
        })?;
    }
    em.frame_end(vc, frame_number)?;
    let used = em.len();
    buf.truncate(used);
    Ok(buf)
}

/// Finds every long packet and assigns it to a block: embedded data before the first pixel line
/// is the top block, after the last one the bottom block.
fn index_lines(frame: &[u8]) -> Result<Vec<Line>, Box<dyn std::error::Error>> {
    let mut lines = Vec::new();
    let mut seen_pixels = false;
    for p in Packets::new(frame, HeaderForm::Dphy) {
        let p = p.map_err(|e| format!("malformed packet at offset {}: {}", e.offset, e.error))?;
        if p.repr.is_short() {
            continue;
        }
        let dt = p.data_type();
        let block = if dt == DataType::EMBEDDED {
            if seen_pixels {
                Block::Bottom
            } else {
                Block::Top
            }
        } else {
            seen_pixels = true;
            Block::Image
        };
        lines.push(Line {
            payload_at: p.offset + HEADER_LEN,
            len: p.payload.len(),
            dt,
            block,
        });
    }
    Ok(lines)
}

struct SuiteResult {
    sv: SecurityVariant,
    tag_len: TagLen,
    protect: Duration,
    verify: Duration,
    bit_exact: bool,
    tamper_detected: bool,
}

/// Demo keys: fixed bytes, never use such keys outside a demo. Real keys come from the SPDM
/// session (`cse-link`, later).
fn demo_key(size: KeySize, seed: u8) -> Result<SecretKey, cse_core::ConfigError> {
    let bytes: Vec<u8> = (0..size.len() as u8)
        .map(|i| i.wrapping_mul(29) ^ seed)
        .collect();
    SecretKey::from_slice(size, &bytes)
}

/// Everything needed to build one line's IV and MAC prefix.
struct Binding<'a> {
    profile: &'a Profile,
    config: BlockConfig,
    suite: CipherSuite,
    key_id: KeyId,
}

impl Binding<'_> {
    fn iv_and_context(
        &self,
        salt: &Salt,
        frame: u32,
        msg_index: u32,
        line: &Line,
    ) -> Result<(Iv, [u8; 32], PacketNumber), cse_core::ConfigError> {
        let pn = PacketNumber::new(frame, msg_index);
        let stream = StreamId::new(
            Direction::SensorToController,
            Protocol::Sep,
            ScopeKind::Message,
            line.block,
            VC,
        )?;
        let ctx = Context {
            protocol: Protocol::Sep,
            direction: Direction::SensorToController,
            scope: ScopeKind::Message,
            suite: self.suite,
            tag_len: self.config.tag_len,
            sv: self.config.sv,
            block: line.block,
            orig_vc: VC,
            key_id: self.key_id,
            number: pn.get(),
        }
        .encode(self.profile);
        Ok((Iv::new(salt, stream, pn), ctx, pn))
    }
}

fn run_suite(
    suite: CipherSuite,
    profile: &Profile,
    original: &[u8],
    lines: &[Line],
    frames: usize,
) -> Result<SuiteResult, Box<dyn std::error::Error>> {
    let key = demo_key(suite.key_size(), 0x11)?;
    let mac_key = if suite.needs_mac_key() {
        Some(demo_key(suite.key_size(), 0x22)?)
    } else {
        None
    };
    let engine = SuiteKey::new(suite, &key, mac_key.as_ref())?;
    let salt = Salt::new([0x5A; 12]);
    let config = BlockConfig {
        sv: if suite.encrypts() {
            SecurityVariant::FullIntegrityEncrypted
        } else {
            SecurityVariant::FullIntegrity
        },
        suite,
        tag_len: TagLen::L16,
        tag_mode: TagMode::PerMessage,
    };
    for b in Block::ALL {
        config.validate(b)?;
    }
    let binding = Binding {
        profile,
        config,
        suite,
        key_id: KeyId::default(),
    };

    let mut work = original.to_vec();
    let mut tags = vec![[0u8; 16]; lines.len()];
    let mut tracker = ReplayTracker::new();
    let (mut protect, mut verify) = (Duration::ZERO, Duration::ZERO);
    let mut bit_exact = true;

    for f in 0..frames {
        let frame = f as u32 + 1;
        work.copy_from_slice(original);

        // Transmitter: seal every line (encrypts in place under SV-1) and refresh the CSI-2
        // payload CRC-16 over what goes on the wire.
        let t = Instant::now();
        for (i, line) in lines.iter().enumerate() {
            let (iv, ctx, _) = binding.iv_and_context(&salt, frame, i as u32, line)?;
            let prefix = covered_prefix(VC, line.dt.0, line.len as u16);
            let payload = &mut work[line.payload_at..line.payload_at + line.len];
            let tag = engine.seal_in_place(&iv, &[&ctx, &prefix], payload, config.tag_len);
            tags[i].copy_from_slice(tag.as_bytes());
            if config.sv.encrypts() {
                let crc = cse_core::csi2::payload_crc(payload);
                let at = line.payload_at + line.len;
                work[at..at + 2].copy_from_slice(&crc.to_le_bytes());
            }
        }
        protect += t.elapsed();

        // Receiver: replay check, verify (and decrypt), then move the replay state.
        let t = Instant::now();
        for (i, line) in lines.iter().enumerate() {
            let (iv, ctx, pn) = binding.iv_and_context(&salt, frame, i as u32, line)?;
            let pending = tracker.check(pn)?;
            let prefix = covered_prefix(VC, line.dt.0, line.len as u16);
            let payload = &mut work[line.payload_at..line.payload_at + line.len];
            engine.open_in_place(&iv, &[&ctx, &prefix], payload, &tags[i], config.tag_len)?;
            tracker.commit(pending);
        }
        verify += t.elapsed();

        bit_exact &= lines.iter().all(|l| {
            work[l.payload_at..l.payload_at + l.len] == original[l.payload_at..l.payload_at + l.len]
        });
    }

    // Attack: flip one bit in the middle of the image, on the wire, in a fresh frame.
    let frame = frames as u32 + 1;
    let victim = lines.len() / 2;
    work.copy_from_slice(original);
    let line = &lines[victim];
    let (iv, ctx, _) = binding.iv_and_context(&salt, frame, victim as u32, line)?;
    let prefix = covered_prefix(VC, line.dt.0, line.len as u16);
    let payload = &mut work[line.payload_at..line.payload_at + line.len];
    let tag = engine.seal_in_place(&iv, &[&ctx, &prefix], payload, config.tag_len);
    payload[1234] ^= 0x08;
    let opened = engine.open_in_place(
        &iv,
        &[&ctx, &prefix],
        payload,
        tag.as_bytes(),
        config.tag_len,
    );
    let wiped = payload.iter().all(|b| *b == 0);
    let tamper_detected = opened == Err(SecurityError::AuthFailed) && wiped;

    Ok(SuiteResult {
        sv: config.sv,
        tag_len: config.tag_len,
        protect,
        verify,
        bit_exact,
        tamper_detected,
    })
}
