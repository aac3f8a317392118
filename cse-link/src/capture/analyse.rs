//! `cse verify` / `cse inspect`: the receiver run over a capture, with a verdict per packet.

use cse_core::csi2::VirtualChannel;
use cse_core::{Block, FusaError, Policy, Profile, ScopeKind, SecurityError};

use super::{CaptureError, CaptureHeader, CapturePacket, Framing, KeyFile, capture_header, scan};
use crate::Protocol;
use crate::ecu::{fsed_header, sync_type, with_header};
use crate::fsed_sync::SyncBinder;

/// The verdict on one packet of a capture.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// The packet's own tag verified, or (an original packet of a scope) the tag of its scope
    /// verified.
    Verified,
    /// A close record (SEP) or tag record (FSED) whose tag verified; the rows it covered.
    ScopeVerified {
        /// Rows of the original packets the tag covered.
        covered: Vec<usize>,
    },
    /// FSED frame header, FS or FE, bound by the frame's first verified tag.
    BoundByFrameHeader,
    /// An SV-5 packet the policy accepts: CRC-checked, not authenticated.
    Unprotected,
    /// The packet's own tag did not verify.
    TagMismatch,
    /// The record carrying a scope's tag failed (tag, covered counts or position); the rows of
    /// its scope are discarded.
    ScopeFailed {
        /// Rows of the original packets of the failed scope.
        covered: Vec<usize>,
    },
    /// A packet of a scope that failed: never released.
    Discarded {
        /// Row of the record whose tag failed, when there was one.
        record: Option<usize>,
        /// Why.
        reason: String,
    },
    /// A CRC-16 or CRC-32 mismatch (functional safety).
    Crc(String),
    /// A replayed or reordered packet or frame.
    Replay(String),
    /// A configuration below the policy.
    Downgrade(String),
    /// Unknown key id or exhausted key.
    Key(String),
    /// Not a valid CSI-2 / SEP / FSED packet.
    Malformed(String),
    /// Refused for another reason (does not fit the frame state, ...).
    Rejected(String),
    /// Not verified: no keys, not protected, another virtual channel, or a scope that never
    /// closed.
    NotVerified(String),
    /// The capture header written by `cse protect`: the nonce the capture's keys are derived
    /// with and, in version 2, the frame range bound into them (not authenticated itself: a
    /// changed nonce or range gives other keys, and no packet verifies).
    CaptureHeader,
}

impl Verdict {
    /// Whether the packet counts as good.
    pub fn is_ok(&self) -> bool {
        matches!(
            self,
            Verdict::Verified
                | Verdict::ScopeVerified { .. }
                | Verdict::BoundByFrameHeader
                | Verdict::Unprotected
                | Verdict::CaptureHeader
        )
    }

    /// A short label for tables (`verified`, `TAG MISMATCH`, ...).
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Verified => "verified",
            Verdict::ScopeVerified { .. } => "scope tag verified",
            Verdict::BoundByFrameHeader => "verified (frame header)",
            Verdict::Unprotected => "unprotected (SV-5, allowed)",
            Verdict::TagMismatch => "TAG MISMATCH",
            Verdict::ScopeFailed { .. } => "SCOPE TAG MISMATCH",
            Verdict::Discarded { .. } => "discarded",
            Verdict::Crc(_) => "CRC MISMATCH",
            Verdict::Replay(_) => "REPLAY",
            Verdict::Downgrade(_) => "DOWNGRADE",
            Verdict::Key(_) => "KEY",
            Verdict::Malformed(_) => "MALFORMED",
            Verdict::Rejected(_) => "REJECTED",
            Verdict::NotVerified(_) => "not verified",
            Verdict::CaptureHeader => "capture header (nonce)",
        }
    }

    /// The label with its details (covered rows, reason).
    pub fn describe(&self) -> String {
        match self {
            Verdict::ScopeVerified { covered } => {
                format!("{} (covers {})", self.label(), rows_text(covered))
            }
            Verdict::ScopeFailed { covered } => {
                format!("{} (scope discarded: {})", self.label(), rows_text(covered))
            }
            Verdict::Discarded { record, reason } => match record {
                Some(r) => format!("discarded: {reason} (record at packet {r})"),
                None => format!("discarded: {reason}"),
            },
            Verdict::Crc(s)
            | Verdict::Replay(s)
            | Verdict::Downgrade(s)
            | Verdict::Key(s)
            | Verdict::Malformed(s)
            | Verdict::Rejected(s)
            | Verdict::NotVerified(s) => format!("{}: {s}", self.label()),
            _ => self.label().into(),
        }
    }
}

/// `packets 3-7, 9` (or `no packets`).
pub(super) fn rows_text(rows: &[usize]) -> String {
    if rows.is_empty() {
        return "no packets".into();
    }
    let mut parts = Vec::new();
    let mut i = 0;
    while let Some(&start) = rows.get(i) {
        let mut end = start;
        while rows.get(i + 1) == Some(&(end + 1)) {
            end += 1;
            i += 1;
        }
        parts.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
        i += 1;
    }
    let n = rows.len();
    format!(
        "packet{} {} ({n} packet{})",
        if n == 1 { "" } else { "s" },
        parts.join(", "),
        if n == 1 { "" } else { "s" }
    )
}

/// The structural state of a packet, before any key is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RowStatus {
    /// CSI-2 framing and, for SEP/FSED packets, payload layout and CRC-32 are good.
    Sound,
    /// Something is broken (the verdict says what).
    Broken,
}

/// One packet of a capture with its verdict.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Row {
    /// Where the packet is and how its CSI-2 framing fared.
    pub packet: CapturePacket,
    /// Structural state.
    pub status: RowStatus,
    /// The verdict.
    pub verdict: Verdict,
    /// Frame counter, when the receiver reported one for this packet.
    pub frame: Option<u32>,
    /// Receiver events seen while this packet was processed (frame start, loss, ...).
    pub notes: Vec<String>,
}

/// A finding that concerns a frame rather than one packet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameFinding {
    /// The packet being processed when it was found (or the last packet).
    pub row: usize,
    /// The frame counter, when known.
    pub frame: Option<u32>,
    /// What.
    pub what: String,
}

/// The result of running the receiver (or, without keys, the structural checks) over a
/// capture.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Analysis {
    /// The protocol detected or given (`None`: the capture has no SEP or FSED packet).
    pub protocol: Option<Protocol>,
    /// Whether keys were used.
    pub keyed: bool,
    /// One row per packet, in capture order.
    pub rows: Vec<Row>,
    /// Frames whose start the receiver accepted.
    pub frames: usize,
    /// Frames that completed clean.
    pub frames_clean: usize,
    /// Frame-level findings.
    pub findings: Vec<FrameFinding>,
    /// The original packets released (verified, or SV-5 accepted by the policy), in capture
    /// order, concatenated.
    pub recovered: Vec<u8>,
    /// Number of original packets in `recovered`.
    pub recovered_packets: usize,
}

impl Analysis {
    /// Everything verified: keys were used, at least one frame, every row good, no finding.
    pub fn passed(&self) -> bool {
        self.keyed
            && self.frames > 0
            && self.findings.is_empty()
            && self.rows.iter().all(|r| r.verdict.is_ok())
    }

    /// Rows of packets that verified or were allowed (the capture header is not counted).
    pub fn good_rows(&self) -> usize {
        self.rows
            .iter()
            .filter(|r| r.verdict.is_ok() && r.verdict != Verdict::CaptureHeader)
            .count()
    }
}

/// SEP or FSED from the data types in the capture (`Profile::DRAFT_1` codes).
///
/// # Errors
/// [`CaptureError::Options`] when the capture holds both.
pub fn detect_protocol(packets: &[CapturePacket]) -> Result<Option<Protocol>, CaptureError> {
    let p = Profile::DRAFT_1;
    let has = |dt| {
        packets
            .iter()
            .any(|x| x.repr.is_some_and(|r| r.data_type == dt))
    };
    match (has(p.dt_sep), has(p.dt_fsed)) {
        (true, true) => Err(CaptureError::Options(
            "the capture holds both SEP and FSED packets; pass --protocol".into(),
        )),
        (true, false) => Ok(Some(Protocol::Sep)),
        (false, true) => Ok(Some(Protocol::Fsed)),
        (false, false) => Ok(None),
    }
}

/// The structural verdict of a packet: framing, then the SEP/FSED payload and its CRC-32.
fn structural(p: &CapturePacket, bytes: &[u8], profile: &Profile) -> Option<Verdict> {
    match p.framing {
        Framing::Ok => {}
        Framing::CrcMismatch { computed, received } => {
            return Some(Verdict::Crc(format!(
                "CRC-16 computed {computed:#06x}, footer {received:#06x}"
            )));
        }
        Framing::Malformed(e) => return Some(Verdict::Malformed(e.to_string())),
    }
    let r = p.repr?;
    let payload = bytes
        .get(4..bytes.len().saturating_sub(2))
        .unwrap_or_default();
    if r.data_type == profile.dt_sep {
        let pkt = match cse_sep::wire::Packet::new_checked(payload, profile) {
            Ok(p) => p,
            Err(e) => return Some(Verdict::Malformed(format!("SEP payload: {e}"))),
        };
        if let Err(e) = cse_sep::wire::Repr::parse(&pkt, profile) {
            return Some(Verdict::Malformed(format!("SEP payload: {e}")));
        }
        if let Err(e) = pkt.verify_crc(profile) {
            return Some(Verdict::Crc(e.to_string()));
        }
    } else if r.data_type == profile.dt_fsed {
        let pkt = match cse_fsed::wire::Packet::new_checked(payload) {
            Ok(p) => p,
            Err(e) => return Some(Verdict::Malformed(format!("FSED payload: {e}"))),
        };
        if let Err(e) = cse_fsed::wire::Repr::parse(&pkt, profile) {
            return Some(Verdict::Malformed(format!("FSED payload: {e}")));
        }
        if let Err(e) = pkt.verify_crc(profile) {
            return Some(Verdict::Crc(e.to_string()));
        }
    }
    None
}

/// A scope, the same for SEP and FSED: frame counter, block, kind.
type ScopeKey = (u32, Block, ScopeKind);

fn scope_text(s: &ScopeKey) -> String {
    let kind = match s.2 {
        ScopeKind::Message => "per-message".to_string(),
        ScopeKind::DataType(dt) => format!(
            "per-data-type ({})",
            super::dt_name(cse_core::csi2::DataType(dt), &Profile::DRAFT_1)
        ),
        ScopeKind::Frame => "per-frame".to_string(),
    };
    format!("{kind} scope of the {:?} block, frame {}", s.1, s.0).to_lowercase()
}

enum Ticket {
    Sep(cse_sep::DecryptTicket),
    Fsed(cse_fsed::DecryptTicket),
}

struct Held {
    row: usize,
    index: u32,
    scope: ScopeKey,
    encrypted: bool,
    ticket: Ticket,
    bytes: Vec<u8>,
}

struct State {
    rows: Vec<Row>,
    held: Vec<Held>,
    recovered: Vec<(usize, Vec<u8>)>,
    findings: Vec<FrameFinding>,
    frames: usize,
    frames_clean: usize,
    frame_open: Option<u32>,
    /// FSED: FS, FE and frame headers waiting for the frame's header to be authenticated.
    syncs: SyncBinder<SyncRow>,
    /// The row of the capture header, which the receiver never sees.
    header: Option<usize>,
    /// The frame counters of the first and the last frame start the receiver accepted.
    first_frame: Option<u32>,
    last_frame: Option<u32>,
}

impl State {
    fn set(&mut self, row: usize, v: Verdict, frame: Option<u32>) {
        if let Some(r) = self.rows.get_mut(row) {
            r.verdict = v;
            if frame.is_some() {
                r.frame = frame;
            }
        }
    }

    fn note(&mut self, row: usize, s: String) {
        if let Some(r) = self.rows.get_mut(row) {
            r.notes.push(s);
        }
    }

    fn finding(&mut self, row: usize, frame: Option<u32>, what: String) {
        self.note(row, what.clone());
        self.findings.push(FrameFinding { row, frame, what });
    }

    fn release(&mut self, row: usize, bytes: Vec<u8>) {
        self.recovered.push((row, bytes));
    }

    /// Takes the held packets of `scope` (with an index in `range`, when given).
    fn take(&mut self, scope: ScopeKey, range: Option<core::ops::Range<u32>>) -> Vec<Held> {
        let (mine, rest): (Vec<Held>, Vec<Held>) = std::mem::take(&mut self.held)
            .into_iter()
            .partition(|h| h.scope == scope && range.as_ref().is_none_or(|r| r.contains(&h.index)));
        self.held = rest;
        mine
    }

    /// A scope failed: its held packets are discarded; `record` is the row that carried the
    /// failing tag (it gets [`Verdict::ScopeFailed`]).
    /// Without a record, the finding is attributed to row `at` (the packet being processed).
    fn scope_failed(&mut self, record: Option<usize>, at: usize, scope: ScopeKey, reason: &str) {
        let gone = self.take(scope, None);
        let covered: Vec<usize> = gone.iter().map(|h| h.row).collect();
        for h in &gone {
            self.set(
                h.row,
                Verdict::Discarded {
                    record,
                    reason: format!("{} failed ({reason})", scope_text(&scope)),
                },
                Some(scope.0),
            );
        }
        match record {
            Some(r) => self.set(r, Verdict::ScopeFailed { covered }, Some(scope.0)),
            None => {
                self.findings.push(FrameFinding {
                    row: at,
                    frame: Some(scope.0),
                    what: format!(
                        "{} failed ({reason}): {} discarded",
                        scope_text(&scope),
                        rows_text(&covered)
                    ),
                });
            }
        }
    }

    /// Marks FSED frame `fc` as authenticated: its pending frame header, its FS (the one whose
    /// number the header binds) and its FE are good; anything else stays pending.
    fn authenticate_frame(&mut self, fc: u32) {
        for p in self.syncs.authenticate(fc) {
            self.set(p.row, Verdict::BoundByFrameHeader, Some(fc));
            if let Some(b) = p.bytes {
                self.release(p.row, b);
            }
        }
    }

    /// An FSED frame header for frame `fc` binding frame number `number` was accepted: it takes
    /// the pending FS of that number; every other pending FS (the receiver forgets their
    /// numbers) and whatever was pending for an earlier frame (abandoned unauthenticated) will
    /// never be bound.
    fn bind_header(&mut self, fc: u32, number: Option<u16>) {
        for (p, frame) in self.syncs.frame_header(fc, number) {
            let why = if frame.is_none() {
                "an FS whose frame number no accepted frame header names"
            } else {
                "the frame header was never authenticated"
            };
            self.set(p.row, Verdict::NotVerified(why.into()), None);
        }
    }

    fn unbind_pending(&mut self, why: &str) {
        for p in self.syncs.abandon_all() {
            self.set(p.row, Verdict::NotVerified(why.into()), None);
        }
    }
}

/// An FSED FS, FE or frame header waiting for its frame's header to be authenticated.
struct SyncRow {
    row: usize,
    /// The packet to recover (`None` for the frame header, which is not an original).
    bytes: Option<Vec<u8>>,
}

fn security_verdict(e: &SecurityError) -> Verdict {
    match e {
        SecurityError::AuthFailed => Verdict::TagMismatch,
        SecurityError::Replay { .. } => Verdict::Replay(e.to_string()),
        SecurityError::Downgrade(_) => Verdict::Downgrade(e.to_string()),
        _ => Verdict::Key(e.to_string()),
    }
}

fn fusa_verdict(e: &FusaError) -> Verdict {
    match e {
        FusaError::Crc16Mismatch { .. } | FusaError::Crc32Mismatch { .. } => {
            Verdict::Crc(e.to_string())
        }
        FusaError::FrameDuplicate(_) | FusaError::FrameReorder { .. } => {
            Verdict::Replay(e.to_string())
        }
        _ => Verdict::Rejected(e.to_string()),
    }
}

fn framing_verdict(e: &cse_core::csi2::Error) -> Verdict {
    match e {
        cse_core::csi2::Error::CrcMismatch { .. } => Verdict::Crc(e.to_string()),
        _ => Verdict::Malformed(e.to_string()),
    }
}

/// Runs the structural checks and, with `keys`, the receiver over `capture`.
///
/// `protocol` `None` detects SEP or FSED from the data types. `policy` is the weakest
/// security variant accepted per block.
///
/// # Errors
/// [`CaptureError::Empty`]; [`CaptureError::Options`] when the protocol cannot be detected
/// (both SEP and FSED packets).
pub fn analyse(
    capture: &[u8],
    keys: Option<&KeyFile>,
    protocol: Option<Protocol>,
    policy: Policy,
) -> Result<Analysis, CaptureError> {
    analyse_with_progress(capture, keys, protocol, policy, &mut |_, _| {})
}

/// [`analyse`], calling `progress(done, total)` (packets) as the receiver works through the
/// capture: every [`PROGRESS_STEP`] packets and once at the end.
///
/// # Errors
/// As [`analyse`].
pub fn analyse_with_progress(
    capture: &[u8],
    keys: Option<&KeyFile>,
    protocol: Option<Protocol>,
    policy: Policy,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Analysis, CaptureError> {
    if capture.is_empty() {
        return Err(CaptureError::Empty);
    }
    let profile = Profile::DRAFT_1;
    let packets = scan(capture);
    let protocol = match protocol {
        Some(p) => Some(p),
        None => detect_protocol(&packets)?,
    };
    let rows: Vec<Row> = packets
        .iter()
        .map(|p| {
            let s = structural(p, p.bytes(capture), &profile);
            Row {
                packet: *p,
                status: if s.is_some() {
                    RowStatus::Broken
                } else {
                    RowStatus::Sound
                },
                verdict: s.unwrap_or_else(|| Verdict::NotVerified("no keys".into())),
                frame: None,
                notes: Vec::new(),
            }
        })
        .collect();
    let mut st = State {
        rows,
        held: Vec::new(),
        recovered: Vec::new(),
        findings: Vec::new(),
        frames: 0,
        frames_clean: 0,
        frame_open: None,
        syncs: SyncBinder::new(),
        header: None,
        first_frame: None,
        last_frame: None,
    };
    // The capture header of `cse protect`: the first packet, carrying the nonce (and the frame
    // range) the capture's keys are derived from. A capture without one (from a sensor or RTL fed the key file's
    // keys directly) is verified under the key file's keys.
    let header = packets.first().and_then(|p| capture_header(p, capture));
    if let (Some(_), Some(row)) = (header, st.rows.first_mut()) {
        row.verdict = Verdict::CaptureHeader;
        st.header = Some(0);
    }
    let derived = match (keys, header) {
        (Some(k), Some(CaptureHeader { nonce, range: None })) => Some(k.for_capture(&nonce)?),
        (
            Some(k),
            Some(CaptureHeader {
                nonce,
                range: Some((first, count)),
            }),
        ) => Some(k.for_capture_range(&nonce, first, count)?),
        _ => None,
    };
    let range = header.and_then(|h| h.range);
    let keys = derived.as_ref().or(keys);
    let keyed = keys.is_some();
    match (keys, protocol) {
        (None, _) => {}
        (Some(_), None) => {
            for r in &mut st.rows {
                if r.status == RowStatus::Sound {
                    r.verdict =
                        Verdict::NotVerified("not protected (no SEP or FSED packet)".into());
                }
            }
            let last = st.rows.len().saturating_sub(1);
            st.findings.push(FrameFinding {
                row: last,
                frame: None,
                what: "the capture holds no SEP or FSED packet: it is not protected".into(),
            });
        }
        (Some(k), Some(proto)) => {
            let dt = match proto {
                Protocol::Sep => profile.dt_sep,
                Protocol::Fsed => profile.dt_fsed,
            };
            let vc = packets
                .iter()
                .find_map(|p| p.repr.filter(|r| r.data_type == dt).map(|r| r.vc))
                .or_else(|| packets.first().and_then(|p| p.repr.map(|r| r.vc)))
                .unwrap_or_default();
            let kp = capture_key_profile(&st, capture, proto);
            match proto {
                Protocol::Sep => run_sep(&mut st, capture, k, vc, policy, kp, progress),
                Protocol::Fsed => run_fsed(&mut st, capture, k, vc, policy, kp, progress),
            }
            progress(st.rows.len(), st.rows.len());
            finish(&mut st);
            if let Some(range) = range {
                check_range(&mut st, range);
            }
        }
    }
    st.recovered.sort_by_key(|(row, _)| *row);
    let recovered_packets = st.recovered.len();
    let recovered = st.recovered.into_iter().flat_map(|(_, b)| b).collect();
    Ok(Analysis {
        protocol,
        keyed,
        rows: st.rows,
        frames: st.frames,
        frames_clean: st.frames_clean,
        findings: st.findings,
        recovered,
        recovered_packets,
    })
}

/// How many packets pass between two progress calls.
pub const PROGRESS_STEP: usize = 1024;

/// The frames the capture header records (its keys are bound to them, so the range is as
/// authentic as the frames that verified): frames cut off before the first or after the last
/// frame of the capture are missing packets, which the receiver alone cannot see.
fn check_range(st: &mut State, (first, count): (u32, u32)) {
    let last_row = st.rows.len().saturating_sub(1);
    let last = first.checked_add(count.saturating_sub(1));
    match st.first_frame {
        Some(f) if f == first => {}
        seen => st.findings.push(FrameFinding {
            row: last_row,
            frame: Some(first),
            what: match seen {
                Some(f) => format!(
                    "frames missing at the start: the capture header records frames from \
                     {first}, the first frame that started is {f}"
                ),
                None => format!(
                    "the capture header records {count} frame(s) from frame {first}; none started"
                ),
            },
        }),
    }
    match (st.last_frame, last) {
        (Some(l), Some(want)) if l == want => {}
        (None, _) => {}
        (Some(l), want) => st.findings.push(FrameFinding {
            row: last_row,
            frame: want,
            what: format!(
                "frames missing at the end: the capture header records {count} frame(s) from \
                 frame {first}, the last frame that started is {l}"
            ),
        }),
    }
}

/// What is left at the end of the capture.
fn finish(st: &mut State) {
    let last = st.rows.len().saturating_sub(1);
    for h in std::mem::take(&mut st.held) {
        st.set(
            h.row,
            Verdict::NotVerified(format!(
                "{} never closed: the capture ends before its tag",
                scope_text(&h.scope)
            )),
            Some(h.scope.0),
        );
    }
    st.unbind_pending("the frame header was never authenticated");
    if let Some(fc) = st.frame_open.take() {
        st.findings.push(FrameFinding {
            row: last,
            frame: Some(fc),
            what: format!("frame {fc} is incomplete: the capture ends before its FE"),
        });
    }
}

/// Whether the receiver should see this row; rows it must not see get their verdict here.
fn feed<'a>(st: &mut State, capture: &'a [u8], i: usize, vc: VirtualChannel) -> Option<&'a [u8]> {
    if st.header == Some(i) {
        return None;
    }
    let row = st.rows.get(i)?;
    if let Framing::Malformed(_) = row.packet.framing {
        return None;
    }
    let repr = row.packet.repr?;
    if repr.vc != vc {
        let v = Verdict::NotVerified(format!(
            "VC {} is not the protected stream (VC {}); one stream per capture",
            repr.vc.get(),
            vc.get()
        ));
        st.set(i, v, None);
        return None;
    }
    Some(row.packet.bytes(capture))
}

/// The shortest tag length and whether scopes are used, over every frame configuration the
/// capture's frame starts announce (16 bytes and no scopes when none is found): the receiver's
/// key gets the usage limits for them, as the transmitter's did.
fn capture_key_profile(st: &State, capture: &[u8], proto: Protocol) -> (cse_core::TagLen, bool) {
    let profile = Profile::DRAFT_1;
    let mut min_tag = cse_core::TagLen::L16;
    let mut scoped = false;
    for row in &st.rows {
        let Some(repr) = row.packet.repr else {
            continue;
        };
        let bytes = row.packet.bytes(capture);
        let Some(payload) = bytes.get(4..bytes.len().saturating_sub(2)) else {
            continue;
        };
        let config = match proto {
            Protocol::Sep if repr.data_type == profile.dt_sep => {
                cse_sep::wire::Packet::new_checked(payload, &profile)
                    .and_then(|p| cse_sep::wire::Repr::parse(&p, &profile))
                    .ok()
                    .and_then(|r| r.ext)
                    .map(|e| e.config)
            }
            Protocol::Fsed if repr.data_type == profile.dt_fsed => {
                match cse_fsed::wire::Packet::new_checked(payload)
                    .and_then(|p| cse_fsed::wire::Repr::parse(&p, &profile))
                {
                    Ok(cse_fsed::wire::Repr::FrameHeader(h)) => Some(h.config),
                    _ => None,
                }
            }
            _ => None,
        };
        if let Some(c) = config {
            let kp = crate::keys::KeyProfile::of(&c);
            min_tag = min_tag.min(kp.min_tag_len);
            scoped |= kp.scoped;
        }
    }
    (min_tag, scoped)
}

fn install_err(st: &mut State, e: String) {
    let last = st.rows.len().saturating_sub(1);
    st.findings.push(FrameFinding {
        row: last,
        frame: None,
        what: format!("the key file cannot be installed: {e}"),
    });
    for r in &mut st.rows {
        if r.verdict.is_ok() || matches!(r.verdict, Verdict::NotVerified(_)) {
            r.verdict = Verdict::Key(format!("key not installed: {e}"));
        }
    }
}

fn run_sep(
    st: &mut State,
    capture: &[u8],
    keys: &KeyFile,
    vc: VirtualChannel,
    policy: Policy,
    kp: (cse_core::TagLen, bool),
    progress: &mut dyn FnMut(usize, usize),
) {
    use cse_sep::{Delivery, Event, SepError};
    let mut rx = cse_sep::Receiver::new(cse_sep::Settings::new(vc), policy, u64::MAX / 4);
    let installed = keys
        .material(kp.0, kp.1)
        .map_err(|e| e.to_string())
        .and_then(|m| rx.install_key(keys.key_id(), m).map_err(|e| e.to_string()));
    if let Err(e) = installed {
        install_err(st, e);
        return;
    }
    let mut out = vec![0u8; 70_000];
    for i in 0..st.rows.len() {
        if i % PROGRESS_STEP == 0 {
            progress(i, st.rows.len());
        }
        let now = i as u64;
        let Some(raw) = feed(st, capture, i, vc) else {
            continue;
        };
        if out.len() < raw.len() {
            out.resize(raw.len(), 0);
        }
        match rx.receive(raw, now, &mut out) {
            Ok(Delivery::Verified(v)) => {
                let fc = v.info().frame_counter;
                st.set(i, Verdict::Verified, Some(fc));
                st.release(i, v.packet().to_vec());
            }
            Ok(Delivery::Unprotected(u)) => {
                let fc = u.info().frame_counter;
                st.set(i, Verdict::Unprotected, Some(fc));
                st.release(i, u.unauthenticated_packet().to_vec());
            }
            Ok(Delivery::Unverified(u)) => {
                let s = u.scope();
                let scope = (s.frame_counter, s.block, s.kind);
                let what = format!("pending: {}", scope_text(&scope));
                st.set(i, Verdict::NotVerified(what), Some(s.frame_counter));
                st.held.push(Held {
                    row: i,
                    index: u.info().message_index,
                    scope,
                    encrypted: u.is_encrypted(),
                    ticket: Ticket::Sep(u.decrypt_ticket()),
                    bytes: u.unverified_packet().to_vec(),
                });
            }
            Ok(Delivery::ScopeVerified(proof)) => {
                let s = proof.scope();
                let scope = (s.frame_counter, s.block, s.kind);
                let mine = st.take(scope, Some(proof.indices()));
                let covered = mine.iter().map(|h| h.row).collect();
                st.set(i, Verdict::ScopeVerified { covered }, Some(s.frame_counter));
                for mut h in mine {
                    if h.encrypted
                        && let Ticket::Sep(t) = &h.ticket
                        && let Err(e) = rx.decrypt(&proof, t, &mut h.bytes)
                    {
                        st.set(h.row, Verdict::Rejected(format!("decryption: {e}")), None);
                        continue;
                    }
                    st.set(h.row, Verdict::Verified, Some(s.frame_counter));
                    st.release(h.row, h.bytes);
                }
            }
            Ok(_) => st.set(
                i,
                Verdict::Rejected("unknown delivery from the receiver".into()),
                None,
            ),
            Err(SepError::ScopeFailed(f)) => {
                let scope = (f.scope.frame_counter, f.scope.block, f.scope.kind);
                st.scope_failed(Some(i), i, scope, "tag mismatch");
            }
            Err(SepError::Security(e)) => st.set(i, security_verdict(&e), None),
            Err(SepError::Fusa(e)) => st.set(i, fusa_verdict(&e), None),
            Err(SepError::Framing(e)) => st.set(i, framing_verdict(&e), None),
            Err(e @ SepError::Wire(_)) => st.set(i, Verdict::Malformed(e.to_string()), None),
            Err(e) => st.set(i, Verdict::Rejected(e.to_string()), None),
        }
        while let Some(ev) = rx.poll_event(now) {
            match ev {
                Event::FrameStart {
                    frame_counter,
                    config,
                } => {
                    st.frames += 1;
                    st.frame_open = Some(frame_counter);
                    st.first_frame.get_or_insert(frame_counter);
                    st.last_frame = Some(frame_counter);
                    st.note(
                        i,
                        format!(
                            "frame {frame_counter} starts (image {}, {})",
                            config.image.sv.level(),
                            config.image.suite
                        ),
                    );
                }
                Event::FrameComplete {
                    frame_counter,
                    clean,
                    ..
                } => {
                    st.frame_open = None;
                    if clean {
                        st.frames_clean += 1;
                        st.note(i, format!("frame {frame_counter} complete, clean"));
                    } else {
                        let w = format!("frame {frame_counter} ended NOT clean");
                        st.finding(i, Some(frame_counter), w);
                    }
                }
                Event::FrameAbandoned { frame_counter } => {
                    st.frame_open = None;
                    let w = format!("frame {frame_counter} abandoned: a new FS before its FE");
                    st.finding(i, Some(frame_counter), w);
                }
                Event::ScopeFailed(f) => {
                    let scope = (f.scope.frame_counter, f.scope.block, f.scope.kind);
                    st.scope_failed(None, i, scope, "no verified close record");
                }
                Event::KeyRollover { from, to } => {
                    st.note(i, format!("key rollover {} -> {}", from.get(), to.get()));
                }
                Event::Fusa(f) => {
                    let fc = st.frame_open;
                    st.finding(i, fc, f.to_string());
                }
                other => {
                    let fc = st.frame_open;
                    st.finding(i, fc, format!("receiver event {other:?}"));
                }
            }
        }
    }
}

fn run_fsed(
    st: &mut State,
    capture: &[u8],
    keys: &KeyFile,
    vc: VirtualChannel,
    policy: Policy,
    kp: (cse_core::TagLen, bool),
    progress: &mut dyn FnMut(usize, usize),
) {
    use cse_fsed::{Delivery, Event, FsedError};
    let mut rx = cse_fsed::Receiver::new(cse_fsed::Settings::new(vc), policy, u64::MAX / 4);
    let installed = keys
        .material(kp.0, kp.1)
        .map_err(|e| e.to_string())
        .and_then(|m| rx.install_key(keys.key_id(), m).map_err(|e| e.to_string()));
    if let Err(e) = installed {
        install_err(st, e);
        return;
    }
    for i in 0..st.rows.len() {
        if i % PROGRESS_STEP == 0 {
            progress(i, st.rows.len());
        }
        let now = i as u64;
        let Some(raw) = feed(st, capture, i, vc) else {
            continue;
        };
        // Original packets are recovered with the header the tag authenticated (rebuilt, ECC
        // included), not with a header bit the ECC corrected still flipped (FSED forwards the
        // packets as they arrived).
        let no_header = || Verdict::Rejected("no CSI-2 header from the decoded values".into());
        match rx.receive(raw, now) {
            Ok(Delivery::Unverified(u)) => {
                let s = u.scope();
                let scope = (s.frame_counter, s.block, s.kind);
                let info = u.info();
                let h = fsed_header(vc, info.data_type, info.word_count);
                match with_header(u.unverified_packet(), h) {
                    Some(bytes) => {
                        let what = format!("pending: {}", scope_text(&scope));
                        st.set(i, Verdict::NotVerified(what), Some(s.frame_counter));
                        st.held.push(Held {
                            row: i,
                            index: info.message_index,
                            scope,
                            encrypted: u.is_encrypted(),
                            ticket: Ticket::Fsed(u.decrypt_ticket()),
                            bytes,
                        });
                    }
                    None => st.set(i, no_header(), Some(s.frame_counter)),
                }
            }
            Ok(Delivery::Unprotected(u)) => {
                let info = u.info();
                let h = fsed_header(vc, info.data_type, info.word_count);
                match with_header(u.unauthenticated_packet(), h) {
                    Some(bytes) => {
                        st.set(i, Verdict::Unprotected, Some(info.frame_counter));
                        st.release(i, bytes);
                    }
                    None => st.set(i, no_header(), Some(info.frame_counter)),
                }
            }
            Ok(Delivery::Sync(s)) => {
                let start = s.is_frame_start();
                let number = s.frame_number();
                let h = fsed_header(vc, sync_type(start), number);
                match with_header(s.packet(), h) {
                    None => st.set(i, no_header(), None),
                    Some(bytes) => {
                        // An FS waits for the frame header that names its number; an FE is
                        // accepted only for the frame in progress, whose header bound its
                        // number, and is good at once if that frame already authenticated.
                        let row = SyncRow {
                            row: i,
                            bytes: Some(bytes),
                        };
                        let bound = if start {
                            st.syncs.frame_start(number, row);
                            None
                        } else {
                            st.syncs.frame_end(number, row)
                        };
                        match bound {
                            Some((fc, row)) => {
                                st.set(i, Verdict::BoundByFrameHeader, Some(fc));
                                if let Some(b) = row.bytes {
                                    st.release(i, b);
                                }
                            }
                            None => {
                                let w = "pending: bound by the frame header once a tag of the \
                                         frame verifies";
                                st.set(i, Verdict::NotVerified(w.into()), None);
                            }
                        }
                    }
                }
            }
            Ok(Delivery::FrameHeader { frame_counter }) => {
                let number = raw
                    .get(4..raw.len().saturating_sub(2))
                    .and_then(|b| cse_fsed::wire::Packet::new_checked(b).ok())
                    .map(|h| h.frame_number());
                st.bind_header(frame_counter, number);
                let w = "pending: authenticated by the frame's first verified tag";
                st.set(i, Verdict::NotVerified(w.into()), Some(frame_counter));
                st.syncs.hold_for(
                    frame_counter,
                    SyncRow {
                        row: i,
                        bytes: None,
                    },
                );
            }
            Ok(Delivery::ScopeVerified(proof)) => {
                let s = proof.scope();
                let scope = (s.frame_counter, s.block, s.kind);
                let mine = st.take(scope, Some(proof.indices()));
                let covered = mine.iter().map(|h| h.row).collect();
                st.set(i, Verdict::ScopeVerified { covered }, Some(s.frame_counter));
                for mut h in mine {
                    if h.encrypted
                        && let Ticket::Fsed(t) = &h.ticket
                        && let Err(e) = rx.decrypt(&proof, t, &mut h.bytes)
                    {
                        st.set(h.row, Verdict::Rejected(format!("decryption: {e}")), None);
                        continue;
                    }
                    st.set(h.row, Verdict::Verified, Some(s.frame_counter));
                    st.release(h.row, h.bytes);
                }
            }
            Ok(_) => st.set(
                i,
                Verdict::Rejected("unknown delivery from the receiver".into()),
                None,
            ),
            Err(FsedError::ScopeFailed(f)) => {
                let scope = (f.scope.frame_counter, f.scope.block, f.scope.kind);
                st.scope_failed(Some(i), i, scope, "tag record did not verify");
            }
            Err(FsedError::Security(e)) => st.set(i, security_verdict(&e), None),
            Err(FsedError::Fusa(e)) => st.set(i, fusa_verdict(&e), None),
            Err(FsedError::Framing(e)) => st.set(i, framing_verdict(&e), None),
            Err(e @ FsedError::Wire(_)) => st.set(i, Verdict::Malformed(e.to_string()), None),
            Err(e) => st.set(i, Verdict::Rejected(e.to_string()), None),
        }
        while let Some(ev) = rx.poll_event(now) {
            match ev {
                Event::FrameStart {
                    frame_counter,
                    config,
                } => {
                    st.frames += 1;
                    st.frame_open = Some(frame_counter);
                    st.first_frame.get_or_insert(frame_counter);
                    st.last_frame = Some(frame_counter);
                    st.note(
                        i,
                        format!(
                            "frame {frame_counter} authenticated (image {}, {})",
                            config.image.sv.level(),
                            config.image.suite
                        ),
                    );
                    st.authenticate_frame(frame_counter);
                }
                Event::FrameComplete {
                    frame_counter,
                    clean,
                    ..
                } => {
                    st.frame_open = None;
                    if clean {
                        st.frames_clean += 1;
                        st.note(i, format!("frame {frame_counter} complete, clean"));
                    } else {
                        let w = format!("frame {frame_counter} ended NOT clean");
                        st.finding(i, Some(frame_counter), w);
                    }
                }
                Event::FrameAbandoned { frame_counter } => {
                    st.frame_open = None;
                    let w = format!("frame {frame_counter} abandoned: a new FS before its FE");
                    st.finding(i, Some(frame_counter), w);
                }
                Event::ScopeFailed(f) => {
                    let scope = (f.scope.frame_counter, f.scope.block, f.scope.kind);
                    st.scope_failed(None, i, scope, "no verified tag record");
                }
                Event::KeyRollover { from, to } => {
                    st.note(i, format!("key rollover {} -> {}", from.get(), to.get()));
                }
                Event::Fusa(f) => {
                    let fc = st.frame_open;
                    st.finding(i, fc, f.to_string());
                }
                other => {
                    let fc = st.frame_open;
                    st.finding(i, fc, format!("receiver event {other:?}"));
                }
            }
        }
    }
}
