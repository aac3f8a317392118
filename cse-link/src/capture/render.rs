//! `cse inspect` output: one row per packet, as a text table or JSON.

use cse_core::csi2::{DataType, EccCheck};
use cse_core::{Block, Profile, ScopeKind, TagMode};

use super::{Analysis, CapturePacket, Framing, Row, dt_name};

fn block_name(b: Block) -> &'static str {
    match b {
        Block::Top => "top",
        Block::Image => "image",
        Block::Bottom => "bottom",
    }
}

fn mode_name(m: TagMode) -> &'static str {
    match m {
        TagMode::PerMessage => "message",
        TagMode::PerDataType => "datatype",
        TagMode::PerFrame => "frame",
    }
}

/// The protocol fields of a SEP or FSED packet as `(name, value)` pairs (empty for other
/// packets; a `"error"` pair when the payload does not parse).
pub fn fields(p: &CapturePacket, capture: &[u8], profile: &Profile) -> Vec<(&'static str, String)> {
    let mut f = Vec::new();
    let Some(r) = p.repr else {
        return f;
    };
    if p.framing != Framing::Ok && !matches!(p.framing, Framing::CrcMismatch { .. }) {
        return f;
    }
    let bytes = p.bytes(capture);
    let payload = bytes
        .get(4..bytes.len().saturating_sub(2))
        .unwrap_or_default();
    if r.data_type == profile.dt_sep {
        let pkt = match cse_sep::wire::Packet::new_checked(payload, profile) {
            Ok(p) => p,
            Err(e) => {
                f.push(("error", e.to_string()));
                return f;
            }
        };
        let h = *pkt.header();
        let mut flags = String::new();
        if h.encrypted {
            flags.push('E');
        }
        if h.tag_len.is_some() {
            flags.push('T');
        }
        if pkt.has_ext() {
            flags.push('X');
        }
        if flags.is_empty() {
            flags.push('-');
        }
        let phase = match h.phase {
            cse_sep::wire::Phase::Single => "single",
            cse_sep::wire::Phase::Member => "member",
            cse_sep::wire::Phase::Close => "close",
        };
        f.push(("flags", flags));
        f.push(("phase", phase.into()));
        f.push(("sv", h.sv.number().to_string()));
        f.push(("block", block_name(h.block).into()));
        f.push(("mode", mode_name(h.tag_mode).into()));
        f.push(("key", h.key_id.get().to_string()));
        f.push(("msg", h.message_index.to_string()));
        f.push(("orig_vc", h.orig_vc.to_string()));
        f.push(("orig_dt", dt_name(DataType(h.orig_dt), profile)));
        let wc_name = if h.phase != cse_sep::wire::Phase::Close && DataType(h.orig_dt).is_short() {
            "orig_data"
        } else {
            "orig_wc"
        };
        f.push((wc_name, h.orig_wc.to_string()));
        f.push(("tag", h.tag_len.map_or(0, |t| t.get()).to_string()));
        match cse_sep::wire::Repr::parse(&pkt, profile) {
            Ok(rep) => {
                if let Some(ext) = rep.ext {
                    f.push(("fc", ext.frame_counter.to_string()));
                }
            }
            Err(e) => f.push(("error", e.to_string())),
        }
        f.push((
            "crc32",
            if pkt.verify_crc(profile).is_ok() {
                "ok"
            } else {
                "BAD"
            }
            .into(),
        ));
    } else if r.data_type == profile.dt_fsed {
        let pkt = match cse_fsed::wire::Packet::new_checked(payload) {
            Ok(p) => p,
            Err(e) => {
                f.push(("error", e.to_string()));
                return f;
            }
        };
        match cse_fsed::wire::Repr::parse(&pkt, profile) {
            Ok(cse_fsed::wire::Repr::FrameHeader(h)) => {
                f.push(("kind", "frame-header".into()));
                f.push(("key", h.config.key_id.get().to_string()));
                f.push(("fc", h.frame_counter.to_string()));
                f.push(("frame_number", h.frame_number.to_string()));
                for b in Block::ALL {
                    let c = h.config.block(b);
                    let v = if c.sv.authenticates() {
                        format!(
                            "SV-{}/{}/{}/{}",
                            c.sv.number(),
                            c.suite.name(),
                            c.tag_len.get(),
                            mode_name(c.tag_mode)
                        )
                    } else {
                        "SV-5".into()
                    };
                    f.push((block_name(b), v));
                }
            }
            Ok(cse_fsed::wire::Repr::TagRecord(t)) => {
                f.push(("kind", "tag-record".into()));
                f.push(("key", t.key_id.get().to_string()));
                f.push(("fc", t.frame_counter.to_string()));
                let scope = match t.scope {
                    ScopeKind::Message => "message".to_string(),
                    ScopeKind::DataType(dt) => {
                        format!("datatype:{}", dt_name(DataType(dt), profile))
                    }
                    ScopeKind::Frame => "frame".to_string(),
                };
                f.push(("scope", scope));
                f.push(("block", block_name(t.block).into()));
                f.push(("covered_packets", t.covered_packets.to_string()));
                f.push(("covered_bytes", t.covered_bytes.to_string()));
                f.push(("first", t.first_index.to_string()));
                f.push(("end", t.end_index.to_string()));
                f.push(("record", t.record_index.to_string()));
                f.push(("last", if t.last { "yes" } else { "no" }.into()));
                f.push(("tag", t.tag_len.get().to_string()));
            }
            Err(e) => f.push(("error", e.to_string())),
        }
        f.push((
            "crc32",
            if pkt.verify_crc(profile).is_ok() {
                "ok"
            } else {
                "BAD"
            }
            .into(),
        ));
    }
    f
}

fn ecc_text(e: Option<EccCheck>) -> String {
    match e {
        None => "-".into(),
        Some(EccCheck::Ok) => "ok".into(),
        Some(EccCheck::Corrected { bit }) => format!("fixed:{bit}"),
        Some(_) => "BAD".into(),
    }
}

fn crc_text(p: &CapturePacket) -> &'static str {
    match (p.framing, p.repr) {
        (Framing::CrcMismatch { .. }, _) => "BAD",
        (Framing::Malformed(_), _) => "-",
        (Framing::Ok, Some(r)) if r.is_short() => "n/a",
        (Framing::Ok, _) => "ok",
    }
}

fn header_cells(row: &Row, profile: &Profile) -> (String, String, String) {
    match row.packet.repr {
        Some(r) => (
            r.vc.get().to_string(),
            dt_name(r.data_type, profile),
            r.word_count.to_string(),
        ),
        None => ("-".into(), "-".into(), "-".into()),
    }
}

/// The text table of `cse inspect`, with a summary line at the end, unwrapped.
pub fn inspect_text(a: &Analysis, capture: &[u8]) -> String {
    inspect_text_width(a, capture, None)
}

/// The text table of `cse inspect` with its cells wrapped to `width` columns (no line is
/// wider), with a summary line at the end. A packet's receiver notes follow its verdict in
/// the same cell, one per line.
pub fn inspect_text_width(a: &Analysis, capture: &[u8], width: Option<u16>) -> String {
    let profile = Profile::DRAFT_1;
    let rows = a
        .rows
        .iter()
        .map(|row| {
            let p = &row.packet;
            let (vc, dt, wc) = header_cells(row, &profile);
            let f = fields(p, capture, &profile)
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ");
            let mut verdict = row.verdict.describe();
            for n in &row.notes {
                verdict.push_str(&format!("\n^ {n}"));
            }
            vec![
                p.index.to_string(),
                p.offset.to_string(),
                p.len.to_string(),
                vc,
                dt,
                wc,
                ecc_text(p.ecc),
                crc_text(p).to_string(),
                if f.is_empty() { "-".into() } else { f },
                verdict,
            ]
        })
        .collect();
    let mut s = crate::table::render(
        &[
            "#", "offset", "len", "VC", "DT", "WC", "ECC", "CRC", "fields", "verdict",
        ],
        rows,
        &[0, 1, 2, 3, 5],
        width,
    );
    s.push_str(&summary(a));
    s
}

/// The summary lines shared by `inspect` and `verify`.
pub fn summary(a: &Analysis) -> String {
    let proto = a.protocol.map_or("none", |p| p.name());
    if !a.keyed {
        let sound = a
            .rows
            .iter()
            .filter(|r| r.status == super::RowStatus::Sound)
            .count();
        return format!(
            "{} packets, protocol {proto}; {sound} structurally sound, {} broken\nno keys given: \
             structural checks only (ECC, CRC-16, SEP/FSED layout, CRC-32), nothing verified\n",
            a.rows.len(),
            a.rows.len() - sound
        );
    }
    // The capture header is listed as a row but is not a packet of the stream.
    let header = a
        .rows
        .first()
        .is_some_and(|r| r.verdict == super::Verdict::CaptureHeader);
    let packets = a.rows.len() - usize::from(header);
    let mut s = format!(
        "{packets} packets{}, protocol {proto}; {} good, {} not; frames started {}, clean {}; {} \
         original packets recovered\n",
        if header {
            " after the capture header"
        } else {
            ""
        },
        a.good_rows(),
        packets.saturating_sub(a.good_rows()),
        a.frames,
        a.frames_clean,
        a.recovered_packets
    );
    for f in &a.findings {
        match f.frame {
            Some(fc) => s.push_str(&format!(
                "finding at packet {} (frame {fc}): {}\n",
                f.row, f.what
            )),
            None => s.push_str(&format!("finding at packet {}: {}\n", f.row, f.what)),
        }
    }
    s
}

/// The report of `cse inspect --json` (one JSON object; every field is always present except
/// where noted). Read it back with `serde_json::from_str::<InspectReport>`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InspectReport {
    /// `"SEP"`, `"FSED"` or null (not recognised).
    pub protocol: Option<String>,
    /// Whether a key file was given (tags checked).
    pub keyed: bool,
    /// Frames seen.
    pub frames: usize,
    /// Frames whose every packet verified.
    pub frames_clean: usize,
    /// Original packets recovered.
    pub recovered_packets: usize,
    /// For a pcapng input: what the reader found and skipped (absent for a raw capture).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pcapng: Option<super::pcapng::ReadStats>,
    /// One entry per packet, in capture order.
    pub packets: Vec<InspectPacket>,
    /// Frame-level findings.
    pub findings: Vec<InspectFinding>,
    /// The verdict of `cse verify` on the same capture.
    pub passed: bool,
}

/// A packet of [`InspectReport`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InspectPacket {
    /// Index in the capture.
    pub index: usize,
    /// Byte offset in the capture (raw format; for pcapng the rebuilt CSI-2 stream).
    pub offset: usize,
    /// Length in bytes.
    pub len: usize,
    /// Virtual channel (null: header unreadable).
    pub vc: Option<u8>,
    /// Data type name (`RAW12`, `SEP`, ...).
    pub dt: Option<String>,
    /// Word count.
    pub wc: Option<u16>,
    /// ECC check: `ok`, `fixed:<bit>`, `BAD`, ...
    pub ecc: String,
    /// CRC-16 check: `ok`, `BAD`, `-`.
    pub crc: String,
    /// SEP/FSED header fields by name.
    pub fields: std::collections::BTreeMap<String, String>,
    /// Frame number, when known.
    pub frame: Option<u32>,
    /// The verdict label (`OK`, `TAG MISMATCH`, ...).
    pub verdict: String,
    /// Whether the verdict is good.
    pub ok: bool,
    /// The verdict in words.
    pub detail: String,
    /// For a scope tag: the packets it covers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub covered: Option<Vec<usize>>,
    /// For a discarded packet: the tag record whose scope failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<usize>,
    /// Receiver events seen at this packet.
    pub notes: Vec<String>,
}

/// A frame finding of [`InspectReport`].
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InspectFinding {
    /// The packet index.
    pub packet: usize,
    /// The frame number, when known.
    pub frame: Option<u32>,
    /// What.
    pub what: String,
}

/// The typed report of `cse inspect --json`.
pub fn inspect_report(
    a: &Analysis,
    capture: &[u8],
    pcapng: Option<&super::pcapng::ReadStats>,
) -> InspectReport {
    use super::Verdict;
    let profile = Profile::DRAFT_1;
    let packets = a
        .rows
        .iter()
        .map(|row| {
            let p = &row.packet;
            let (covered, record) = match &row.verdict {
                Verdict::ScopeVerified { covered } | Verdict::ScopeFailed { covered } => {
                    (Some(covered.clone()), None)
                }
                Verdict::Discarded {
                    record: Some(r), ..
                } => (None, Some(*r)),
                _ => (None, None),
            };
            InspectPacket {
                index: p.index,
                offset: p.offset,
                len: p.len,
                vc: p.repr.map(|r| r.vc.get()),
                dt: p.repr.map(|r| dt_name(r.data_type, &profile)),
                wc: p.repr.map(|r| r.word_count),
                ecc: ecc_text(p.ecc),
                crc: crc_text(p).to_string(),
                fields: fields(p, capture, &profile)
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect(),
                frame: row.frame,
                verdict: row.verdict.label().to_string(),
                ok: row.verdict.is_ok(),
                detail: row.verdict.describe(),
                covered,
                record,
                notes: row.notes.clone(),
            }
        })
        .collect();
    InspectReport {
        protocol: a.protocol.map(|p| p.name().to_string()),
        keyed: a.keyed,
        frames: a.frames,
        frames_clean: a.frames_clean,
        recovered_packets: a.recovered_packets,
        pcapng: pcapng.cloned(),
        packets,
        findings: a
            .findings
            .iter()
            .map(|f| InspectFinding {
                packet: f.row,
                frame: f.frame,
                what: f.what.clone(),
            })
            .collect(),
        passed: a.passed(),
    }
}

/// The JSON document of `cse inspect --json` ([`InspectReport`]), one line.
pub fn inspect_json(a: &Analysis, capture: &[u8]) -> String {
    to_json_line(&inspect_report(a, capture, None))
}

/// One JSON line for a report (serde_json cannot fail on these types; an empty object if it
/// ever did).
pub fn to_json_line(r: &InspectReport) -> String {
    let mut s = serde_json::to_string(r).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}
