//! The cases beyond the SV x mode x suite x tag-length matrix: long and odd-length lines, SV-3
//! line counting across blocks, SV-4 windows past the end of a line, the FS of a frame whose
//! top block is SV-5, a frame from the top block straight to FE, four open scopes, the
//! controller-to-sensor direction, VCX headers, multi-frame sequences (frame counters, key
//! rollover through key ids 1..3, SV changes between frames), the FSED seal record, and
//! negative vectors (a tampered or replayed stream, a downgrade, CRC errors) with the verdict
//! a receiver must reach on every packet. Described in `docs/vectors.md`.

use cse_core::csi2::{self, DataType, Emitter, HeaderForm, VirtualChannel};
use cse_core::{
    BlockConfig, CipherSuite, Direction, FrameConfig, KeyId, Policy, Profile, SecurityVariant,
    SvLevel, TagLen, TagMode,
};

use super::{
    FSED, FrameSpec, MakeAttack, SEP, StreamAttack, StreamFixture, StreamSetup, Vector,
    VectorProtocol, mismatch, split_form, stream_doc,
};
use crate::LinkError;

/// The line lengths of the long-line vectors: 1, 15, 17 (around one AES block), 4097 (one
/// byte past a 4 KiB boundary) and 5760 / 11520 (a 3840-pixel RAW12 line, one and two of them).
pub const LONG_LINE_LENGTHS: [usize; 6] = [1, 15, 17, 4097, 5760, 11520];

/// Payload byte `i` of packet `k`.
fn pattern(len: usize, k: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ (k as u8).wrapping_mul(7) ^ 0x21)
        .collect()
}

/// One original packet of a frame description.
#[derive(Clone, Copy)]
enum P {
    Emb(usize),
    Line(u8, usize),
    Ls(u16),
    Le(u16),
}

/// The frame `fs, packets.., fe` with frame number `number`, split into packets.
fn frame(
    vc: VirtualChannel,
    form: HeaderForm,
    number: u16,
    packets: &[P],
) -> Result<Vec<Vec<u8>>, LinkError> {
    let total: usize = packets
        .iter()
        .map(|p| match p {
            P::Emb(n) | P::Line(_, n) => n + 6,
            _ => 4,
        })
        .sum();
    let mut buf = vec![0u8; total + 8];
    let mut em = Emitter::new(&mut buf, form);
    em.frame_start(vc, number)?;
    for (k, p) in packets.iter().enumerate() {
        match *p {
            P::Emb(n) => em.long(vc, DataType::EMBEDDED, &pattern(n, k))?,
            P::Line(dt, n) => em.long(vc, DataType(dt), &pattern(n, k))?,
            P::Ls(l) => em.line_start(vc, l)?,
            P::Le(l) => em.line_end(vc, l)?,
        };
    }
    em.frame_end(vc, number)?;
    let n = em.len();
    split_form(buf.get(..n).unwrap_or_default(), form)
}

fn block(sv: SecurityVariant, suite: CipherSuite, tag_len: TagLen, mode: TagMode) -> BlockConfig {
    BlockConfig {
        sv,
        suite,
        tag_len,
        tag_mode: mode,
    }
}

fn uniform(b: BlockConfig, key: u8) -> Result<FrameConfig, LinkError> {
    Ok(FrameConfig::uniform(b, KeyId::new(key)?))
}

const SV1: SecurityVariant = SecurityVariant::FullIntegrityEncrypted;
const SV2: SecurityVariant = SecurityVariant::FullIntegrity;
const RAW12: u8 = 0x2C;
const RAW10: u8 = 0x2B;

/// The key of key id `id` for `suite`: the fixture key XOR `0x11 * id` (id 0 is the fixture's).
fn keys_for(fx: &StreamFixture, suite: CipherSuite, id: u8) -> super::StreamKeys {
    let mut k = fx.keys(suite);
    let x = 0x11u8.wrapping_mul(id);
    k.key.iter_mut().for_each(|b| *b ^= x);
    if let Some(m) = k.mac_key.as_mut() {
        m.iter_mut().for_each(|b| *b ^= x);
    }
    k.salt.iter_mut().for_each(|b| *b ^= x);
    k
}

/// A one-frame vector of fixture `fx`.
fn one(
    fx: &StreamFixture,
    name: &str,
    config: FrameConfig,
    packets: &[P],
) -> Result<Vector, LinkError> {
    let vc = fx.vc()?;
    let inputs = frame(vc, HeaderForm::Dphy, 1, packets)?;
    let setup = StreamSetup::single(
        fx.protocol,
        vc,
        fx.first_frame_counter,
        fx.keys(config.image.suite),
        config,
        inputs.len(),
    );
    stream_doc(name, &setup, &inputs, None)
}

fn long_frame(dt_ls_le: bool) -> Vec<P> {
    let mut v = vec![P::Emb(4)];
    for (i, len) in LONG_LINE_LENGTHS.iter().enumerate() {
        let l = i as u16 + 1;
        if dt_ls_le {
            v.push(P::Ls(l));
        }
        v.push(P::Line(RAW12, *len));
        if dt_ls_le {
            v.push(P::Le(l));
        }
    }
    v.push(P::Emb(2));
    v
}

/// Flips bit 0 of byte `at` of the CSI-2 payload of `pkt`, then (when asked) recomputes the
/// inner CRC-32 (SEP packets, FSED records) and the CSI-2 CRC-16, so only the tag can tell.
fn flip(pkt: &mut [u8], at: usize, fix_crc32: bool, fix_crc16: bool) {
    let len = pkt.len();
    if let Some(b) = pkt.get_mut(4 + at) {
        *b ^= 0x01;
    }
    if fix_crc32 && let Some(payload) = pkt.get_mut(4..len - 2) {
        let n = payload.len() - 4;
        let crc = cse_sep::wire::crc32(&Profile::DRAFT_1, &payload[..n]);
        payload[n..].copy_from_slice(&crc.to_le_bytes());
    }
    if fix_crc16 && let Some(payload) = pkt.get(4..len - 2) {
        let crc = csi2::payload_crc(payload);
        pkt[len - 2..].copy_from_slice(&crc.to_le_bytes());
    }
}

fn attack(
    kind: &'static str,
    description: &str,
    policy: Policy,
    received: Vec<Vec<u8>>,
) -> StreamAttack {
    StreamAttack {
        kind,
        description: description.to_string(),
        policy,
        received,
    }
}

fn negative(
    fx: &StreamFixture,
    name: &str,
    config: FrameConfig,
    packets: &[P],
    frames: usize,
    mk: &MakeAttack<'_>,
) -> Result<Vector, LinkError> {
    let vc = fx.vc()?;
    let mut inputs = Vec::new();
    let mut specs = Vec::new();
    for f in 0..frames {
        let one = frame(vc, HeaderForm::Dphy, f as u16 + 1, packets)?;
        specs.push(FrameSpec {
            config,
            inputs: one.len(),
        });
        inputs.extend(one);
    }
    let setup = StreamSetup {
        frames: specs,
        ..StreamSetup::single(
            fx.protocol,
            vc,
            fx.first_frame_counter,
            fx.keys(config.image.suite),
            config,
            0,
        )
    };
    stream_doc(name, &setup, &inputs, Some(mk))
}

/// The extra vectors of `protocol` (SEP or FSED), in a fixed order.
///
/// # Errors
/// A transmitter or receiver failure (a bug: the set is fixed).
pub(crate) fn extra(protocol: VectorProtocol) -> Result<Vec<Vector>, LinkError> {
    let fx = match protocol {
        VectorProtocol::Fsed => &FSED,
        _ => &SEP,
    };
    let sep = protocol == VectorProtocol::Sep;
    let mut v = Vec::new();
    let l16 = TagLen::L16;
    // Modes this protocol has: SEP's per-message vectors become per-data-type under FSED.
    let pm = if sep {
        TagMode::PerMessage
    } else {
        TagMode::PerDataType
    };
    let pm_name = super::mode_name(pm);

    // Long and odd-length lines.
    for (sv, suite, tag_len, mode) in [
        (SV1, CipherSuite::Aes128Gcm, l16, pm),
        (
            SV1,
            CipherSuite::Aes256CtrCmac,
            TagLen::L12,
            TagMode::PerFrame,
        ),
        (
            SV2,
            CipherSuite::Aes256Gmac,
            TagLen::L8,
            TagMode::PerDataType,
        ),
        (SV2, CipherSuite::Aes128Cmac, l16, TagMode::PerFrame),
        // SV-3 stride 2, offset 0: image lines 0, 2, 4 (1, 17 and 5760 bytes) covered, the
        // 15-, 4097- and 11520-byte lines not.
        (
            SecurityVariant::LinePartialIntegrity {
                stride: 2,
                offset: 0,
            },
            CipherSuite::Aes128Gmac,
            TagLen::L12,
            pm,
        ),
        // SV-4 bytes 4000..6000 of each image line: none of the 1-, 15- and 17-byte lines,
        // the window cut at the end of the 4097- and 5760-byte lines, whole in the 11520-byte
        // one. Top and bottom SV-2 (SV-4 is an image-block variant).
        (
            SecurityVariant::BytePartialIntegrity {
                start: 4000,
                len: 2000,
            },
            CipherSuite::Aes256Cmac,
            TagLen::L8,
            TagMode::PerFrame,
        ),
    ] {
        let name = format!(
            "long-lines-sv{}-{}-{}-t{}",
            sv.number(),
            super::mode_name(mode),
            super::suite_slug(suite),
            tag_len.get()
        );
        let b = block(sv, suite, tag_len, mode);
        let c = if matches!(sv, SecurityVariant::BytePartialIntegrity { .. }) {
            FrameConfig {
                image: b,
                ..uniform(block(SV2, suite, tag_len, mode), 0)?
            }
        } else {
            uniform(b, 0)?
        };
        v.push(one(
            fx,
            &name,
            c,
            &long_frame(mode == TagMode::PerDataType),
        )?);
    }

    // SV-3 line counting: two top and two bottom embedded lines, five image lines with LS/LE;
    // stride 3, offset 1 in every block.
    let sv3 = SecurityVariant::LinePartialIntegrity {
        stride: 3,
        offset: 1,
    };
    let mut p = vec![P::Emb(8), P::Emb(8)];
    for l in 1..=5u16 {
        p.extend([P::Ls(l), P::Line(RAW12, 12), P::Le(l)]);
    }
    p.extend([P::Emb(8), P::Emb(8)]);
    let c = uniform(block(sv3, CipherSuite::Aes128Cmac, l16, pm), 0)?;
    v.push(one(
        fx,
        &format!("sv3-line-count-{pm_name}-aes128cmac-t16"),
        c,
        &p,
    )?);

    // SV-4 windows past the end of a line and a line shorter than the window's start.
    let sv4 = SecurityVariant::BytePartialIntegrity {
        start: 10,
        len: 100,
    };
    let b2 = block(SV2, CipherSuite::Aes128Gmac, l16, pm);
    let c = FrameConfig {
        image: block(sv4, CipherSuite::Aes128Gmac, l16, pm),
        ..uniform(b2, 0)?
    };
    let p = [
        P::Emb(4),
        P::Line(RAW12, 1),
        P::Line(RAW12, 15),
        P::Line(RAW12, 17),
        P::Line(RAW12, 200),
        P::Emb(2),
    ];
    v.push(one(
        fx,
        &format!("sv4-window-past-end-{pm_name}-aes128gmac-t16"),
        c,
        &p,
    )?);

    // The FS of a frame whose top block is SV-5 (tagged with the image block's configuration).
    let none = BlockConfig {
        tag_mode: pm,
        ..BlockConfig::no_security()
    };
    let img = block(SV1, CipherSuite::Aes256Gcm, l16, pm);
    let c = FrameConfig {
        top: none,
        image: img,
        bottom: none,
        key_id: KeyId::default(),
    };
    v.push(one(
        fx,
        &format!("fs-top-sv5-image-sv1-{pm_name}-aes256gcm-t16"),
        c,
        &[P::Emb(4), P::Line(RAW12, 8), P::Line(RAW12, 8), P::Emb(2)],
    )?);

    // From the top block straight to FE: no image line, no bottom embedded data.
    let c = FrameConfig {
        top: block(SV2, CipherSuite::Aes128Cmac, l16, TagMode::PerFrame),
        bottom: block(SV2, CipherSuite::Aes128Cmac, l16, pm),
        ..uniform(block(SV2, CipherSuite::Aes128Cmac, l16, pm), 0)?
    };
    v.push(one(
        fx,
        "top-to-fe-sv2-aes128cmac-t16",
        c,
        &[P::Emb(8), P::Emb(6)],
    )?);

    // Four scopes open at once in the image block: RAW12, LE, LS, RAW10.
    let c = uniform(
        block(SV2, CipherSuite::Aes128Gmac, l16, TagMode::PerDataType),
        0,
    )?;
    v.push(one(
        fx,
        "four-scopes-sv2-per-data-type-aes128gmac-t16",
        c,
        &[
            P::Emb(4),
            P::Ls(1),
            P::Line(RAW12, 8),
            P::Le(1),
            P::Ls(2),
            P::Line(RAW10, 10),
            P::Le(2),
            P::Emb(2),
        ],
    )?);

    // FSED: the seal record (top block protected, image and bottom SV-5: no scope open at FE).
    if !sep {
        let none = BlockConfig {
            tag_mode: TagMode::PerFrame,
            ..BlockConfig::no_security()
        };
        let c = FrameConfig {
            top: block(SV2, CipherSuite::Aes128Cmac, l16, TagMode::PerFrame),
            image: none,
            bottom: none,
            key_id: KeyId::default(),
        };
        v.push(one(
            fx,
            "seal-record-top-sv2-per-frame-aes128cmac-t16",
            c,
            &[P::Emb(8), P::Line(RAW12, 16), P::Emb(8)],
        )?);
    }

    // Controller to sensor; VCX headers on VC 14 (VCX 3) and VC 5 (VCX 1: with VCX 3 it pins
    // each of the two VCX columns of the ECC, not only their sum).
    let short = [P::Emb(4), P::Line(RAW12, 17), P::Line(RAW12, 17), P::Emb(2)];
    for (name, direction, vc, form) in [
        (
            "controller-to-sensor",
            Direction::ControllerToSensor,
            fx.vc,
            HeaderForm::Dphy,
        ),
        (
            "vcx-vc14",
            Direction::SensorToController,
            14,
            HeaderForm::DPHY_VCX_DRAFT_1,
        ),
        (
            "vcx-vc5",
            Direction::SensorToController,
            5,
            HeaderForm::DPHY_VCX_DRAFT_1,
        ),
    ] {
        let vc = VirtualChannel::new(vc)?;
        let c = uniform(block(SV1, CipherSuite::Aes128Gcm, l16, pm), 0)?;
        let inputs = frame(vc, form, 1, &short)?;
        let setup = StreamSetup {
            direction,
            form,
            ..StreamSetup::single(
                fx.protocol,
                vc,
                fx.first_frame_counter,
                fx.keys(c.image.suite),
                c,
                inputs.len(),
            )
        };
        v.push(stream_doc(
            &format!("{name}-sv1-{pm_name}-aes128gcm-t16"),
            &setup,
            &inputs,
            None,
        )?);
    }

    // Multi-frame: counters, key rollover 0 -> 1 -> 2 -> 3, SV changes between frames.
    let vc = fx.vc()?;
    let mf = [P::Emb(4), P::Line(RAW12, 17), P::Line(RAW12, 17), P::Emb(2)];
    let gcm = CipherSuite::Aes128Gcm;
    let gmac = CipherSuite::Aes128Gmac;
    for (name, configs) in [
        (
            "multi-frame-counters-sv2-per-frame-aes128gmac-t16",
            vec![uniform(block(SV2, gmac, l16, TagMode::PerFrame), 0)?; 3],
        ),
        (
            "multi-frame-rollover-sv1-aes128gcm-t16",
            (0..4u8)
                .map(|k| uniform(block(SV1, gcm, l16, pm), k))
                .collect::<Result<Vec<_>, _>>()?,
        ),
        (
            "multi-frame-sv-change-aes128-gmac-family-t16",
            vec![
                uniform(block(SV1, gcm, l16, pm), 0)?,
                uniform(block(SV2, gmac, TagLen::L12, TagMode::PerFrame), 0)?,
                uniform(
                    block(
                        SecurityVariant::LinePartialIntegrity {
                            stride: 2,
                            offset: 1,
                        },
                        gmac,
                        TagLen::L8,
                        TagMode::PerDataType,
                    ),
                    0,
                )?,
                FrameConfig {
                    image: BlockConfig {
                        tag_mode: pm,
                        ..BlockConfig::no_security()
                    },
                    ..uniform(block(SV2, gmac, l16, pm), 0)?
                },
            ],
        ),
    ] {
        let mut inputs = Vec::new();
        let mut frames = Vec::new();
        let mut keys = Vec::new();
        for (i, c) in configs.iter().enumerate() {
            let f = frame(vc, HeaderForm::Dphy, i as u16 + 1, &mf)?;
            frames.push(FrameSpec {
                config: *c,
                inputs: f.len(),
            });
            inputs.extend(f);
            if !keys.iter().any(|(k, _)| *k == c.key_id) {
                keys.push((c.key_id, keys_for(fx, c.image.suite, c.key_id.get())));
            }
        }
        let setup = StreamSetup {
            protocol: fx.protocol,
            vc,
            direction: Direction::SensorToController,
            form: HeaderForm::Dphy,
            first_frame_counter: fx.first_frame_counter,
            keys,
            frames,
        };
        v.push(stream_doc(name, &setup, &inputs, None)?);
    }

    // Negative vectors.
    let permissive = Policy::PERMISSIVE;
    let basic = [P::Emb(4), P::Line(RAW12, 17), P::Line(RAW12, 17), P::Emb(2)];
    let fix = sep; // SEP packets carry a CRC-32 of their own, FSED's original lines do not
    let first_line = |outs: &[Vec<u8>]| -> Result<usize, LinkError> {
        // The packet carrying the first RAW12 line: SEP packets by the original data type in
        // their header (payload byte 4), FSED lines by their own data type.
        outs.iter()
            .position(|p| {
                if sep {
                    p.get(8) == Some(&RAW12)
                } else {
                    p.first().map(|b| b & 0x3F) == Some(RAW12)
                }
            })
            .ok_or_else(|| mismatch("negative vector: no image line".into()))
    };
    // The body byte to flip: SEP payload offset 12 (first body byte), FSED payload byte 0.
    let body_at = if sep { 12 } else { 0 };
    let c2 = uniform(block(SV2, CipherSuite::Aes128Cmac, l16, pm), 0)?;
    let c_frame = uniform(
        block(SV1, CipherSuite::Aes128CtrCmac, l16, TagMode::PerFrame),
        0,
    )?;
    let mk_tamper = |outs: &[Vec<u8>]| -> Result<StreamAttack, LinkError> {
        let mut r = outs.to_vec();
        let at = first_line(outs)?;
        flip(&mut r[at], body_at, fix, true);
        Ok(attack(
            "tamper-body",
            "bit 0 of the first body byte of the first image line flipped, CRCs recomputed",
            permissive,
            r,
        ))
    };
    let mk_crc16 = |outs: &[Vec<u8>]| -> Result<StreamAttack, LinkError> {
        let mut r = outs.to_vec();
        let at = first_line(outs)?;
        flip(&mut r[at], body_at, false, false);
        Ok(attack(
            "crc16",
            "bit 0 of the first body byte of the first image line flipped, CRC-16 left as sent",
            permissive,
            r,
        ))
    };
    let mk_replay = |outs: &[Vec<u8>]| -> Result<StreamAttack, LinkError> {
        let mut r = outs.to_vec();
        r.extend(outs.iter().cloned());
        Ok(attack(
            "replay",
            "the whole genuine frame sent a second time",
            permissive,
            r,
        ))
    };
    let mk_downgrade = |outs: &[Vec<u8>]| -> Result<StreamAttack, LinkError> {
        Ok(attack(
            "downgrade",
            "a genuine SV-4 frame at a receiver whose policy asks for SV-2 or better in the image block",
            Policy {
                min_image: SvLevel::Sv2,
                ..permissive
            },
            outs.to_vec(),
        ))
    };
    let suffix = |c: &FrameConfig| {
        format!(
            "sv{}-{}-{}-t{}",
            c.image.sv.number(),
            super::mode_name(c.image.tag_mode),
            super::suite_slug(c.image.suite),
            c.image.tag_len.get()
        )
    };
    v.push(negative(
        fx,
        &format!("neg-tamper-body-{}", suffix(&c2)),
        c2,
        &basic,
        1,
        &mk_tamper,
    )?);
    v.push(negative(
        fx,
        &format!("neg-tamper-body-{}", suffix(&c_frame)),
        c_frame,
        &basic,
        1,
        &mk_tamper,
    )?);
    v.push(negative(
        fx,
        &format!("neg-crc16-{}", suffix(&c2)),
        c2,
        &basic,
        1,
        &mk_crc16,
    )?);
    if sep {
        let mk_crc32 = |outs: &[Vec<u8>]| -> Result<StreamAttack, LinkError> {
            let mut r = outs.to_vec();
            let at = first_line(outs)?;
            flip(&mut r[at], body_at, false, true);
            Ok(attack(
                "crc32",
                "bit 0 of the first body byte of the first image line flipped, CRC-16 recomputed, SEP CRC-32 left as sent",
                permissive,
                r,
            ))
        };
        v.push(negative(
            fx,
            &format!("neg-crc32-{}", suffix(&c2)),
            c2,
            &basic,
            1,
            &mk_crc32,
        )?);
        let mk_fs = |outs: &[Vec<u8>]| -> Result<StreamAttack, LinkError> {
            let mut r = outs.to_vec();
            // Frame extension byte 0 (frame counter, LS byte) is SEP payload byte 12.
            if let Some(fs) = r.first_mut() {
                flip(fs, 12, true, true);
            }
            Ok(attack(
                "forged-frame-counter",
                "frame counter of the FS's frame extension changed (bit 0), CRCs recomputed",
                permissive,
                r,
            ))
        };
        v.push(negative(
            fx,
            &format!("neg-forged-fs-{}", suffix(&c2)),
            c2,
            &basic,
            1,
            &mk_fs,
        )?);
    } else {
        let mk_record = |outs: &[Vec<u8>]| -> Result<StreamAttack, LinkError> {
            let mut r = outs.to_vec();
            // The first tag record: its covered-packets field (payload offset 12) changed.
            let at = r
                .iter()
                .position(|p| p.first().map(|b| b & 0x3F) == Some(0x3A) && p.get(5) == Some(&0x02))
                .ok_or_else(|| mismatch("no tag record".into()))?;
            flip(&mut r[at], 12, true, true);
            Ok(attack(
                "tamper-record",
                "covered-packets field of the first tag record changed (bit 0), CRCs recomputed",
                permissive,
                r,
            ))
        };
        v.push(negative(
            fx,
            &format!("neg-tamper-record-{}", suffix(&c2)),
            c2,
            &basic,
            1,
            &mk_record,
        )?);
    }
    v.push(negative(
        fx,
        &format!("neg-replay-frame-{}", suffix(&c2)),
        c2,
        &basic,
        1,
        &mk_replay,
    )?);
    let c4 = FrameConfig {
        image: block(fx.sv4, CipherSuite::Aes128Cmac, l16, pm),
        ..c2
    };
    v.push(negative(
        fx,
        &format!("neg-downgrade-{}", suffix(&c4)),
        c4,
        &basic,
        1,
        &mk_downgrade,
    )?);
    Ok(v)
}
