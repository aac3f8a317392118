//! The receiver agent: SEP packets in, verified original packets and events out.
//!
//! Every packet goes through check, verify, commit ([`cse_core::rx`]): the checks and the tag
//! verification take `&self` and compute a plan; only a packet that passed both commits it.
//! A rejected packet leaves the receiver as it was, apart from the rejection counters.
//!
//! # Frame starts
//!
//! The FS packet carries the frame counter and the configuration of every block. It is always
//! tagged when any block of the frame is protected (with the frame-start configuration: the
//! top block's, or the first protected block's when the top block is SV-5), so no frame-level
//! state (replay base, key activation, continuity, key usage) moves on an unauthenticated FS.
//! A frame whose blocks are all SV-5 cannot be authenticated: it is accepted only when the
//! policy allows SV-5 everywhere, moves no replay state and activates no key, and cannot
//! abandon an authenticated frame in progress.

use cse_core::crc::Span;
use cse_core::crypto::{SuiteKey, Tag};
use cse_core::csi2::{self, DataType, Emitter, HEADER_LEN as CSI2_HEADER_LEN};
use cse_core::fusa::{FusaStats, SecurityStats};
use cse_core::nonce::{Iv, PacketNumber};
use cse_core::rx::{CommitPlan, FrameStartPlan, Invocation, ReceiverId, RxCore};
use cse_core::sequence::Pending;
use cse_core::{
    Block, BlockConfig, ConfigError, FrameConfig, KeyId, Policy, ScopeKind, SecurityError,
    SecurityVariant, TagMode,
};

pub use cse_core::rx::{EVENT_QUEUE_LEN, Event, ScopeFailure, ScopeId};

use crate::agent::{
    BlockTracker, FrameKeys, KeyMaterial, MAX_OPEN_SCOPES, Settings, StreamParams, classify,
    covered, frame_start_config, frame_start_key_block, prefix, protected, scope_kind,
};
use crate::error::SepError;
use crate::wire::{self, CLOSE_BODY_LEN, Header, Phase};

/// How many packets [`Receiver::receive_batch`] (and [`Transmitter::protect_batch`]) take
/// together: the tags of up to this many lines are computed in one pass of the multi-lane MAC
/// engine. Longer batches are taken in chunks of this size.
///
/// [`Transmitter::protect_batch`]: crate::Transmitter::protect_batch
pub const BATCH_LINES: usize = 16;

/// Bytes of the context block every MAC input starts with.
const CONTEXT_LEN: u64 = 32;

/// Proof that a scope's tag verified, needed to decrypt SV-1 packets released as
/// [`Unverified`] ([`Receiver::decrypt`]). Only the receiver creates it, and only the receiver
/// instance that created it accepts it.
#[derive(Debug, PartialEq, Eq)]
pub struct ScopeProof {
    receiver: ReceiverId,
    scope: ScopeId,
    first_index: u32,
    end_index: u32,
    packets: u32,
}

impl ScopeProof {
    /// The verified scope.
    pub fn scope(&self) -> ScopeId {
        self.scope
    }

    /// Message indices of the packets the tag covered: `first..end` (every [`Unverified`]
    /// packet of this scope with an index in this range is now verified).
    pub fn indices(&self) -> core::ops::Range<u32> {
        self.first_index..self.end_index
    }

    /// Number of packets covered.
    pub fn packets(&self) -> u32 {
        self.packets
    }
}

/// What the receiver knows about a delivered packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PacketInfo {
    /// Frame counter.
    pub frame_counter: u32,
    /// Message index within the frame.
    pub message_index: u32,
    /// Block.
    pub block: Block,
    /// Security variant of the block.
    pub sv: SecurityVariant,
    /// Original data type.
    pub data_type: DataType,
    /// Original word count (or short-packet data).
    pub word_count: u16,
}

/// An original packet whose tag verified (per-message tag). Under SV-3/SV-4 only the covered
/// bytes (see [`SecurityVariant::covered_payload`]) and the headers are authenticated.
#[derive(Debug, PartialEq, Eq)]
pub struct Verified<'o> {
    packet: &'o [u8],
    info: PacketInfo,
}

impl<'o> Verified<'o> {
    /// The original CSI-2 packet, bit-exact (header with ECC, plaintext payload, CRC-16).
    pub fn packet(&self) -> &'o [u8] {
        self.packet
    }

    /// Metadata.
    pub fn info(&self) -> &PacketInfo {
        &self.info
    }
}

/// A packet of an open scope: **not yet authenticated**. Its bytes are reachable only through
/// [`Unverified::unverified_packet`]; it becomes usable when a [`Delivery::ScopeVerified`]
/// with a [`ScopeProof`] covering its index arrives, and must be discarded on
/// [`Event::ScopeFailed`]. Under SV-1 the payload is still ciphertext; decrypt it with
/// [`Receiver::decrypt`] and the proof.
#[derive(Debug, PartialEq, Eq)]
pub struct Unverified<'o> {
    packet: &'o [u8],
    info: PacketInfo,
    scope: ScopeId,
    encrypted: bool,
    receiver: ReceiverId,
}

impl<'o> Unverified<'o> {
    /// The packet as received, NOT authenticated (for SV-1: header, ciphertext, CRC-16 of the
    /// ciphertext).
    pub fn unverified_packet(&self) -> &'o [u8] {
        self.packet
    }

    /// Metadata (not authenticated either).
    pub fn info(&self) -> &PacketInfo {
        &self.info
    }

    /// The scope whose tag will verify it.
    pub fn scope(&self) -> ScopeId {
        self.scope
    }

    /// Whether the payload is ciphertext (SV-1).
    pub fn is_encrypted(&self) -> bool {
        self.encrypted
    }

    /// What [`Receiver::decrypt`] needs to decrypt this packet once its scope verified.
    pub fn decrypt_ticket(&self) -> DecryptTicket {
        DecryptTicket {
            receiver: self.receiver,
            scope: self.scope,
            message_index: self.info.message_index,
            data_type: self.info.data_type,
            word_count: self.info.word_count,
            crc: released_crc(self.packet),
        }
    }
}

/// Identifies an SV-1 packet released as [`Unverified`], for [`Receiver::decrypt`] of the
/// receiver that released it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DecryptTicket {
    receiver: ReceiverId,
    scope: ScopeId,
    message_index: u32,
    data_type: DataType,
    word_count: u16,
    /// The CRC-16 footer of the packet as released: the bytes given to decrypt must be those.
    crc: Option<u16>,
}

/// The CRC-16 footer of a released packet (`None` for a short one).
fn released_crc(packet: &[u8]) -> Option<u16> {
    csi2::Packet::new_checked(packet).ok().and_then(|p| p.crc())
}

/// A packet of an SV-5 block: CRC-checked only, no authentication.
#[derive(Debug, PartialEq, Eq)]
pub struct Unprotected<'o> {
    packet: &'o [u8],
    info: PacketInfo,
}

impl<'o> Unprotected<'o> {
    /// The original packet; SV-5 means nobody authenticated it.
    pub fn unauthenticated_packet(&self) -> &'o [u8] {
        self.packet
    }

    /// Metadata.
    pub fn info(&self) -> &PacketInfo {
        &self.info
    }
}

/// What one received SEP packet yields.
#[derive(Debug, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub enum Delivery<'o> {
    /// An original packet whose own tag verified.
    Verified(Verified<'o>),
    /// An original packet of an open scope, not yet verified.
    Unverified(Unverified<'o>),
    /// An original packet of an SV-5 block.
    Unprotected(Unprotected<'o>),
    /// A close record verified: every packet of the scope is authentic.
    ScopeVerified(ScopeProof),
}

/// An open per-data-type or per-frame scope of the receiver.
struct RxScope {
    block: Block,
    kind: ScopeKind,
    mac: cse_core::crypto::MacState,
    count: u32,
    first_index: u32,
    /// MAC input absorbed so far (context block included).
    mac_len: u64,
    /// The packet number of its last member: a member must come after it. Members do not
    /// move the frame's `last` (they are not authenticated yet), so a forged member can fail
    /// only its own scope, not refuse the authenticated packets after it as replays.
    last: PacketNumber,
}

struct RxFrame {
    fc: u32,
    config: FrameConfig,
    params: StreamParams,
    keys: Option<FrameKeys>,
    tracker: BlockTracker,
    scopes: [Option<RxScope>; MAX_OPEN_SCOPES],
    /// The last packet number accepted in this frame (replays inside the frame are refused
    /// before the replay state, which moves only at verified tags, knows of them).
    last: PacketNumber,
    clean: bool,
    /// Whether the FS verified (false only for all-SV-5 frames).
    authenticated: bool,
}

impl RxFrame {
    fn keys(&self) -> Result<&FrameKeys, SepError> {
        self.keys.as_ref().ok_or(SepError::Internal)
    }
}

/// Counters of packets the receiver rejected for protocol reasons (malformed SEP, framing,
/// packets that contradict the frame state), apart from the FuSa and security statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProtocolStats {
    /// Malformed outer CSI-2 packets or SEP payloads.
    pub malformed: u64,
    /// Well-formed packets that do not fit the frame state or configuration.
    pub unexpected: u64,
    /// Packets delivered as verified.
    pub verified: u64,
    /// Packets delivered as unverified (open scope).
    pub unverified: u64,
    /// Scopes verified.
    pub scopes_verified: u64,
}

/// The SEP receiver of one stream (direction and original virtual channel). Sans-IO.
///
/// Checks, per SEP packet and in this order: the outer CSI-2 framing (ECC, CRC-16, data type),
/// the SEP layout and FuSa CRC-32, the header against the frame configuration, the packet
/// number against the replay state and the key against its limits, then the tag. Only then
/// does anything move (see the [module docs](self)).
pub struct Receiver {
    settings: Settings,
    core: RxCore,
    frame: Option<RxFrame>,
    finished: Option<RxFrame>,
    proto: ProtocolStats,
}

impl core::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Receiver")
            .field("settings", &self.settings)
            .field("core", &self.core)
            .field("in_frame", &self.frame.is_some())
            .finish_non_exhaustive()
    }
}

fn mismatch() -> SepError {
    SepError::UnexpectedPacket
}

/// What a checked data packet (per-message, scope member, SV-5 or FE) will change.
struct DataPlan {
    block: Block,
    cfg: BlockConfig,
    single: bool,
    is_fe: bool,
    line: u32,
    tracker: BlockTracker,
    pn: PacketNumber,
    pending: Option<Pending>,
    /// Scope slot of a member packet and whether it opens the scope.
    member: Option<(usize, bool)>,
    fail_open: bool,
}

impl Receiver {
    /// A receiver enforcing `policy`, reporting a timeout after `timeout_interval` ticks
    /// without an accepted packet (see [`Receiver::poll_event`]).
    pub fn new(settings: Settings, policy: Policy, timeout_interval: u64) -> Self {
        Receiver {
            settings,
            core: RxCore::new(settings.vc, settings.profile, policy, timeout_interval),
            frame: None,
            finished: None,
            proto: ProtocolStats::default(),
        }
    }

    /// Installs key material under `id` (the idle slot; the receiver activates a key id when a
    /// verified FS names it).
    ///
    /// # Errors
    /// [`SepError::Config`] when `id` is the active key or the minimum tag length has no usage
    /// limit under the profile.
    pub fn install_key(&mut self, id: KeyId, material: KeyMaterial) -> Result<(), SepError> {
        Ok(self.core.install_key(id, material)?)
    }

    /// Drops the previous key generation.
    pub fn retire_key(&mut self) -> Option<KeyId> {
        self.core.retire_key()
    }

    /// Drops every key and the frame state built on them (the session that made the keys
    /// ended). Nothing verifies until a key of the next session is installed.
    pub fn clear_keys(&mut self) {
        self.frame = None;
        self.finished = None;
        self.core.clear_keys();
    }

    /// FuSa statistics.
    pub fn fusa_stats(&self) -> &FusaStats {
        self.core.fusa_stats()
    }

    /// Security statistics.
    pub fn security_stats(&self) -> &SecurityStats {
        self.core.security_stats()
    }

    /// Protocol statistics.
    pub fn protocol_stats(&self) -> &ProtocolStats {
        &self.proto
    }

    /// The next event: queued events first, then a timeout of the stream at `now`.
    pub fn poll_event(&mut self, now: u64) -> Option<Event> {
        self.core.poll_event(now)
    }

    /// Processes one SEP packet (outer CSI-2 header, SEP payload, CRC-16) received at `now`;
    /// writes the original packet, if it carries one, into `out`.
    ///
    /// # Errors
    /// The packet is rejected: see [`SepError`]. The receiver is then exactly as it was (only
    /// the rejection counters moved), and the first `sep.len()` bytes of `out` (at least the
    /// length of any original packet it carries) are zeroed. A close record whose tag fails is
    /// [`SepError::ScopeFailed`]; its scope stays open, so a genuine record can still verify
    /// it, and is reported as [`Event::ScopeFailed`] if the block ends first.
    pub fn receive<'o>(
        &mut self,
        sep: &[u8],
        now: u64,
        out: &'o mut [u8],
    ) -> Result<Delivery<'o>, SepError> {
        // Reborrow: on an error the buffer is wiped in `settle`.
        let r = match self.parse(sep) {
            Ok(p) => self.dispatch(&p, now, &mut *out, None),
            Err(e) => Err(e),
        };
        self.settle(r, sep.len(), out)
    }

    /// Processes the SEP packets `seps` in order, as [`Receiver::receive`] would one after the
    /// other, writing the original packet of `seps[i]` into `outs[i]`; `on_result(i, result)`
    /// receives the result of `seps[i]`, in order.
    ///
    /// The receiver ends up exactly as after `receive(seps[0], now, outs[0])`,
    /// `receive(seps[1], now, outs[1])`, ...: same state, statistics, events, outputs and
    /// results (a rejected packet moves nothing but the rejection counters and has its output
    /// wiped; the packets are committed in order). The difference is speed: the tags of the
    /// packets with their own tag over unencrypted bytes (SV-2/SV-3/SV-4 per-message tags) are
    /// computed together first, in chunks of [`BATCH_LINES`] packets, on the multi-lane engine
    /// ([`SuiteKey::mac_batch`]: for CMAC, several CBC chains in flight), from the packets'
    /// layout before their CRCs are checked (so the MAC engine reads the payloads first).
    /// Computing a tag moves nothing; each packet then still goes through its CRC checks,
    /// check, verify (the received tag against the precomputed one, in constant time) and
    /// commit in its turn. A precomputed tag is used
    /// only if the packet's MAC input is the one it was computed over (same frame, block
    /// configuration and covered bytes); otherwise the tag is computed again.
    ///
    /// # Errors
    /// [`SepError::Config`] with [`ConfigError::BufferTooSmall`] (`needed`: `seps.len()`,
    /// `available`: `outs.len()`) when the two slices differ in length; nothing is processed
    /// then. The errors of single packets go to `on_result`.
    pub fn receive_batch(
        &mut self,
        seps: &[&[u8]],
        now: u64,
        outs: &mut [&mut [u8]],
        mut on_result: impl FnMut(usize, Result<Delivery<'_>, SepError>),
    ) -> Result<(), SepError> {
        if seps.len() != outs.len() {
            return Err(SepError::Config(ConfigError::BufferTooSmall {
                needed: seps.len(),
                available: outs.len(),
            }));
        }
        let chunks = seps.chunks(BATCH_LINES).zip(outs.chunks_mut(BATCH_LINES));
        for (c, (seps, outs)) in chunks.enumerate() {
            // The tags first, from the packets' layout alone: the multi-lane MAC is the first
            // pass over the payloads (its loads overlap the AES work), the CRC checks and the
            // copies then read them from cache. `parse` is pure, so parsing each packet just
            // before its dispatch is the same as parsing them all first.
            let layouts: [Option<Result<Parsed<'_>, SepError>>; BATCH_LINES] =
                core::array::from_fn(|i| seps.get(i).map(|s| self.parse_layout(s)));
            let tags = self.precompute_tags(&layouts);
            let lines = seps.iter().zip(outs.iter_mut()).zip(layouts).zip(tags);
            for (i, (((sep, out), layout), tag)) in lines.enumerate() {
                let r = match layout {
                    // Everything but the CRCs held: `parse` would give this `Parsed` or the
                    // first CRC that fails.
                    Some(Ok(mut p)) => self.check_crcs(sep).and_then(|span| {
                        p.span = span;
                        self.dispatch(&p, now, out, tag.as_ref())
                    }),
                    _ => self
                        .parse(sep)
                        .and_then(|p| self.dispatch(&p, now, out, tag.as_ref())),
                };
                on_result(c * BATCH_LINES + i, self.settle(r, sep.len(), out));
            }
        }
        Ok(())
    }

    /// The end of [`Receiver::receive`]: binds a delivery to `out`, or wipes `out[..len]` and
    /// counts the rejection.
    fn settle<'o>(
        &mut self,
        r: Result<Done, SepError>,
        len: usize,
        out: &'o mut [u8],
    ) -> Result<Delivery<'o>, SepError> {
        match r {
            Ok(d) => Ok(d.rebind(out)),
            Err(e) => {
                let n = len.min(out.len());
                if let Some(o) = out.get_mut(..n) {
                    o.fill(0);
                }
                match &e {
                    SepError::Security(s) => self.core.reject_security(s),
                    SepError::Fusa(f) => self.core.reject_fusa(f),
                    SepError::ScopeFailed(_) => {
                        self.core.reject_security(&SecurityError::AuthFailed);
                    }
                    SepError::Wire(_) | SepError::Framing(_) => self.proto.malformed += 1,
                    _ => self.proto.unexpected += 1,
                }
                Err(e)
            }
        }
    }

    /// The checks of one SEP packet that depend on nothing but the settings: outer CSI-2
    /// framing, SEP layout and CRC-32, header consistency.
    fn parse<'a>(&self, bytes: &'a [u8]) -> Result<Parsed<'a>, SepError> {
        self.parse_with(bytes, true)
    }

    /// [`Receiver::parse`] without the CRC checks (the only steps that read the whole
    /// payload): what a packet would be if its CRCs hold, for the tags a batch computes ahead
    /// ([`Receiver::precompute_tags`], pure). A packet that passes `parse` gives the same
    /// `Parsed` here; every packet still has its CRCs checked ([`Receiver::check_crcs`], or the
    /// whole `parse` where its layout failed) before it is dispatched.
    fn parse_layout<'a>(&self, bytes: &'a [u8]) -> Result<Parsed<'a>, SepError> {
        self.parse_with(bytes, false)
    }

    /// The SEP packet inside `bytes`: outer CSI-2 framing (header, ECC, length, data type, no
    /// trailing bytes) and SEP layout, with the CSI-2 CRC-16 and the SEP CRC-32 checked when
    /// `crcs` (in one pass over the bytes, and in the order of the layers, as separate passes
    /// would).
    ///
    /// With `crcs`, also the span of the SEP body when the CRCs were spliced around it
    /// ([`Receiver::spliced_crcs`]): the CRC-16 of an original packet that carries the body as
    /// it is, without another pass.
    fn sep_packet<'a>(
        &self,
        bytes: &'a [u8],
        crcs: bool,
    ) -> Result<(wire::Packet<&'a [u8]>, Option<Span>), SepError> {
        let profile = self.settings.profile;
        let view = csi2::Packet::new_checked(bytes)?;
        // The CRC-32 covers all but the payload's last four bytes (the CRC-32 field of a
        // well-formed SEP payload).
        let (outer, record_crc, span) = if !crcs {
            (
                csi2::Repr::parse_header(&view, self.settings.form)?.0,
                None,
                None,
            )
        } else if let Some((outer, c32, span)) = self.spliced_crcs(&view)? {
            (outer, Some(c32), Some(span))
        } else {
            let (outer, _, record_crc) =
                csi2::Repr::parse_with_record_crc32(&view, self.settings.form, profile.crc32)?;
            (outer, record_crc, None)
        };
        if outer.data_type != profile.dt_sep {
            return Err(mismatch());
        }
        if bytes.len() != outer.buffer_len() {
            return Err(SepError::Wire(wire::WireError::TrailingData(
                bytes.len().saturating_sub(outer.buffer_len()),
            )));
        }
        let payload = bytes
            .get(CSI2_HEADER_LEN..CSI2_HEADER_LEN + usize::from(outer.word_count))
            .ok_or(SepError::Internal)?;
        let sep = wire::Packet::new_checked(payload, &profile)?;
        match record_crc {
            // `new_checked` found the CRC-32 field at the end of the payload.
            Some(c) => sep.verify_computed_crc(c)?,
            None if crcs => sep.verify_crc(&profile)?,
            None => {}
        }
        Ok((sep, span))
    }

    /// The first step of [`Receiver::sep_packet`] with the CRCs, where the packet's layout
    /// allows it: the outer header (as `Repr::parse_header`), then the CSI-2 CRC-16 (checked,
    /// the same error as `Repr::parse_with_record_crc32`) and the SEP CRC-32 (returned) spliced
    /// around one fold of the SEP body ([`Span`]), which is returned too. `Ok(None)` when the
    /// packet is not one this path takes (a header or layout that does not parse, an encrypted
    /// body, a body too short or no folding backend): the caller then runs
    /// `parse_with_record_crc32`, which reports what is wrong in its order.
    fn spliced_crcs(
        &self,
        view: &csi2::Packet<&[u8]>,
    ) -> Result<Option<(csi2::Repr, u32, Span)>, SepError> {
        let profile = self.settings.profile;
        let Ok((outer, _)) = csi2::Repr::parse_header(view, self.settings.form) else {
            return Ok(None);
        };
        let (Some(payload), Some(received)) = (
            view.as_ref()
                .get(CSI2_HEADER_LEN..CSI2_HEADER_LEN + usize::from(outer.word_count)),
            view.crc(),
        ) else {
            return Ok(None);
        };
        // An encrypted body is decrypted, and its plaintext's CRC-16 computed, later: its span
        // would serve nothing the one fold of the whole payload does not.
        let Ok(sep) = wire::Packet::new_checked(payload, &profile) else {
            return Ok(None);
        };
        if sep.header().encrypted {
            return Ok(None);
        }
        let l = sep.layout();
        let (Some(head), Some(body), Some(tail), Some(field)) = (
            payload.get(..l.body.start),
            payload.get(l.body.clone()),
            payload.get(l.body.end..l.crc.start),
            payload.get(l.crc.clone()),
        ) else {
            return Ok(None);
        };
        let Some(span) = Span::new(profile.crc32, body) else {
            return Ok(None);
        };
        let (c32, computed) = cse_core::crc::crc32_and_crc16_around(head, &span, tail, field);
        if computed != received {
            return Err(csi2::Error::CrcMismatch { computed, received }.into());
        }
        Ok(Some((outer, c32, span)))
    }

    /// The CRC checks of [`Receiver::parse`] (the CSI-2 CRC-16, then the SEP CRC-32) of a
    /// packet [`Receiver::parse_layout`] accepted: `parse` then fails with the first of them
    /// that fails, or gives what `parse_layout` gave (and the body's span, as `parse` would).
    fn check_crcs(&self, bytes: &[u8]) -> Result<Option<Span>, SepError> {
        self.sep_packet(bytes, true).map(|(_, span)| span)
    }

    fn parse_with<'a>(&self, bytes: &'a [u8], crcs: bool) -> Result<Parsed<'a>, SepError> {
        let profile = self.settings.profile;
        let (sep, span) = self.sep_packet(bytes, crcs)?;
        let repr = wire::Repr::parse(&sep, &profile)?;
        let h = repr.header;
        if h.orig_vc != self.settings.vc.get() {
            return Err(mismatch());
        }
        if repr.ext.is_none() && h.orig_dt == DataType::FS.0 && h.phase != Phase::Close {
            return Err(SepError::Wire(wire::WireError::Inconsistent(
                "FS without frame extension",
            )));
        }
        Ok(Parsed {
            sep,
            h,
            ext: repr.ext,
            span,
        })
    }

    fn dispatch(
        &mut self,
        p: &Parsed<'_>,
        now: u64,
        out: &mut [u8],
        tag: Option<&ReadyTag>,
    ) -> Result<Done, SepError> {
        if let Some(ext) = p.ext {
            return self.handle_fs(&p.sep, &p.h, ext, now, out);
        }
        if p.h.phase == Phase::Close {
            return self.handle_close(&p.sep, &p.h, now);
        }
        self.handle_data(&p.sep, &p.h, now, out, tag, p.span.as_ref())
    }

    /// The tags of the packets of a batch that carry their own tag over unencrypted bytes,
    /// computed together ([`SuiteKey::mac_batch`]) under the frame open now, assuming every
    /// packet before is accepted (for the line index of SV-3). Pure: moves nothing. Stops at
    /// the first FS or FE (what follows belongs to another frame).
    fn precompute_tags(
        &self,
        parsed: &[Option<Result<Parsed<'_>, SepError>>; BATCH_LINES],
    ) -> [Option<ReadyTag>; BATCH_LINES] {
        let mut ready: [Option<ReadyTag>; BATCH_LINES] = [None; BATCH_LINES];
        let Some(frame) = self.frame.as_ref() else {
            return ready;
        };
        let (Some(keys), Ok(entry)) = (frame.keys.as_ref(), self.core.key(frame.config.key_id))
        else {
            return ready;
        };
        let salt = entry.material.salt();
        let mut tracker = frame.tracker;
        let mut ctx = [[0u8; 32]; BATCH_LINES];
        let mut pre = [[0u8; 4]; BATCH_LINES];
        let mut ivs = [Iv([0; 12]); BATCH_LINES];
        let mut spans = [(0usize, 0usize); BATCH_LINES];
        let mut blocks: [Option<Block>; BATCH_LINES] = [None; BATCH_LINES];
        for (i, p) in parsed.iter().enumerate() {
            let Some(Ok(p)) = p else { continue };
            let h = &p.h;
            let dt = DataType(h.orig_dt);
            if p.ext.is_some() || dt == DataType::FE {
                break;
            }
            if h.phase == Phase::Close {
                continue;
            }
            let Ok(block) = classify(&tracker, dt) else {
                continue;
            };
            let line = tracker.advance(block, dt.is_long());
            let cfg = *frame.config.block(block);
            if h.key_id != frame.config.key_id
                || h.block != block
                || h.phase != Phase::Single
                || !protected(&cfg)
                || cfg.tag_mode != TagMode::PerMessage
                || cfg.sv.encrypts()
            {
                continue;
            }
            let pn = PacketNumber::new(frame.fc, h.message_index);
            let Ok(iv) = frame.params.iv(salt, block, ScopeKind::Message, pn) else {
                continue;
            };
            let range = covered(&cfg, line, p.sep.body().len());
            if let (Some(c), Some(x), Some(v), Some(s), Some(b)) = (
                ctx.get_mut(i),
                pre.get_mut(i),
                ivs.get_mut(i),
                spans.get_mut(i),
                blocks.get_mut(i),
            ) {
                *c = frame
                    .params
                    .context(&cfg, block, ScopeKind::Message, pn.get());
                *x = prefix(h.orig_vc, h.orig_dt, h.orig_wc);
                *v = iv;
                *s = (range.start, range.end);
                *b = Some(block);
            }
        }
        let mut pieces: [[&[u8]; 4]; BATCH_LINES] = [[&[]; 4]; BATCH_LINES];
        for (i, (p, dst)) in parsed.iter().zip(pieces.iter_mut()).enumerate() {
            if let Some(Ok(p)) = p
                && blocks[i].is_some()
            {
                let body = p.sep.body();
                *dst = [
                    &ctx[i],
                    p.sep.header_bytes(),
                    &pre[i],
                    body.get(spans[i].0..spans[i].1).unwrap_or_default(),
                ];
            }
        }
        for block in Block::ALL {
            let Ok(key) = keys.get(block) else { continue };
            let cfg = *frame.config.block(block);
            let mut index = [0usize; BATCH_LINES];
            let mut messages: [(Iv, &[&[u8]]); BATCH_LINES] = [(Iv([0; 12]), &[]); BATCH_LINES];
            let mut n = 0;
            for i in 0..BATCH_LINES {
                if blocks[i] == Some(block)
                    && let (Some(m), Some(x)) = (messages.get_mut(n), index.get_mut(n))
                {
                    *m = (ivs[i], &pieces[i][..]);
                    *x = i;
                    n += 1;
                }
            }
            if n == 0 {
                continue;
            }
            let messages = messages.get(..n).unwrap_or_default();
            key.mac_batch(messages, cfg.tag_len, |j, tag| {
                let Some(&i) = index.get(j) else { return };
                if let (Some(r), Some(&covered)) = (ready.get_mut(i), spans.get(i)) {
                    *r = Some(ReadyTag {
                        fc: frame.fc,
                        key_id: frame.config.key_id,
                        block,
                        cfg,
                        covered,
                        tag,
                    });
                }
            });
        }
        ready
    }

    // ---- FS ----------------------------------------------------------------------------

    fn handle_fs(
        &mut self,
        sep: &wire::Packet<&[u8]>,
        h: &Header,
        ext: wire::FrameExt,
        now: u64,
        out: &mut [u8],
    ) -> Result<Done, SepError> {
        let (frame, plan) = self.check_fs(sep, h, &ext)?;
        let len = match self.verify_fs(&frame, sep, h, out) {
            Ok(len) => len,
            Err(e) => {
                if matches!(e, SepError::Security(SecurityError::AuthFailed)) {
                    self.core.record_failed_mac(frame.config.key_id);
                }
                return Err(e);
            }
        };
        // Commit.
        let top = frame.config.top;
        let info = info(frame.fc, h, Block::Top, &top);
        let authenticated = frame.authenticated;
        // The frame in progress (if any) ends unfinished.
        let old = self.frame.as_ref();
        self.core.commit_with(
            plan,
            now,
            |ev| {
                if let Some(old) = old {
                    ev.push(Event::FrameAbandoned {
                        frame_counter: old.fc,
                    });
                    for s in old.scopes.iter().flatten() {
                        ev.push(Event::ScopeFailed(failure(old.fc, s)));
                    }
                }
            },
            |_| {},
        );
        // Both earlier frames are forgotten (`decrypt` works until the FS after a frame's
        // end): their keys may be retired and their key ids reinstalled from now on.
        self.frame = Some(frame);
        self.finished = None;
        let fs_cfg = frame_start_config(&self.frame.as_ref().ok_or(SepError::Internal)?.config);
        Ok(self.deliver(&fs_cfg, authenticated, info, None, len))
    }

    /// Check: everything an FS would change, computed without changing anything.
    fn check_fs(
        &self,
        sep: &wire::Packet<&[u8]>,
        h: &Header,
        ext: &wire::FrameExt,
    ) -> Result<(RxFrame, CommitPlan), SepError> {
        let config = ext.config;
        let fc = ext.frame_counter;
        if h.orig_dt != DataType::FS.0 || h.message_index != 0 {
            return Err(mismatch());
        }
        let fs_cfg = frame_start_config(&config);
        expect_header(h, &fs_cfg, Block::Top, true)?;
        let authenticated = protected(&fs_cfg);
        let mut plan = CommitPlan::new();
        let pn = PacketNumber::new(fc, 0);
        let (status, keys) = if authenticated {
            let (entry, status) = self.core.check_frame_start::<SepError>(&config, fc)?;
            plan.replay(self.core.check_replay(pn)?);
            let keys = FrameKeys::expand(&config, &entry.material)?;
            let mac_len = CONTEXT_LEN + sep.header_bytes().len() as u64 + 4;
            self.core.check_invocation(config.key_id, fc, mac_len)?;
            plan.invocation(Invocation {
                key_id: config.key_id,
                mac: fs_cfg.suite.mac(),
            });
            (status, Some(keys))
        } else {
            // Every block SV-5: nothing to authenticate; the policy must allow it, and it may
            // not end an authenticated frame.
            self.core
                .policy()
                .check(&config)
                .map_err(SecurityError::from)?;
            if self.frame.as_ref().is_some_and(|f| f.authenticated) {
                return Err(mismatch());
            }
            (cse_core::keys::UsageStatus::Ok, None)
        };
        plan.frame_start(FrameStartPlan {
            frame_counter: fc,
            config,
            status,
            count_messages: true,
            authenticated,
        });
        if authenticated {
            plan.message_index(0);
        } else {
            plan.unauthenticated_message_index(0);
        }
        let frame = RxFrame {
            fc,
            config,
            params: StreamParams {
                profile: self.settings.profile,
                direction: self.settings.direction,
                vc: self.settings.vc.get(),
                key_id: config.key_id,
            },
            keys,
            tracker: BlockTracker::new(),
            scopes: [None, None, None, None],
            last: pn,
            clean: true,
            authenticated,
        };
        Ok((frame, plan))
    }

    /// Verify: writes the FS into `out` and checks its tag; returns the length written.
    fn verify_fs(
        &self,
        frame: &RxFrame,
        sep: &wire::Packet<&[u8]>,
        h: &Header,
        out: &mut [u8],
    ) -> Result<usize, SepError> {
        let len = emit_original(&self.settings, h, sep.body(), out, Emit::Copy(None))?;
        if !frame.authenticated {
            return Ok(len);
        }
        let fs_cfg = frame_start_config(&frame.config);
        let key_block = frame_start_key_block(&frame.config).ok_or(SepError::Internal)?;
        let key = frame.keys()?.get(key_block)?;
        let salt = self.core.key(frame.config.key_id)?.material.salt();
        let pn = PacketNumber::new(frame.fc, 0);
        let iv = frame.params.iv(salt, Block::Top, ScopeKind::Message, pn)?;
        verify_single(
            &frame.params,
            key,
            &iv,
            &fs_cfg,
            Block::Top,
            pn,
            sep,
            h,
            0,
            None,
            false,
            out,
            len,
        )?;
        Ok(len)
    }

    // ---- data packets ------------------------------------------------------------------

    /// The error for a packet that arrives with no frame open: a replay of the last frame's
    /// packets when its packet number is not above the replay state, else unexpected.
    fn outside_frame(&self, h: &Header) -> SepError {
        if let Some(f) = &self.finished {
            let pn = PacketNumber::new(f.fc, h.message_index);
            if let Err(e) = self.core.check_replay(pn) {
                return SepError::Security(e);
            }
        }
        mismatch()
    }

    fn check_pn(&self, frame: &RxFrame, pn: PacketNumber) -> Result<Pending, SepError> {
        if pn <= frame.last {
            return Err(SepError::Security(SecurityError::Replay {
                pn: pn.get(),
                last: frame.last.get(),
            }));
        }
        Ok(self.core.check_replay(pn)?)
    }

    fn check_data(&self, sep: &wire::Packet<&[u8]>, h: &Header) -> Result<DataPlan, SepError> {
        let Some(frame) = self.frame.as_ref() else {
            return Err(self.outside_frame(h));
        };
        if h.key_id != frame.config.key_id {
            return Err(mismatch());
        }
        let dt = DataType(h.orig_dt);
        let block = classify(&frame.tracker, dt)?;
        let cfg = *frame.config.block(block);
        let is_fe = dt == DataType::FE;
        let prot = protected(&cfg);
        let single = !prot || cfg.tag_mode == TagMode::PerMessage || is_fe;
        expect_header(h, &cfg, block, single)?;
        let pn = PacketNumber::new(frame.fc, h.message_index);
        let pending = self.check_pn(frame, pn)?;
        let fail_open = is_fe || block != frame.tracker.block();
        let mut tracker = frame.tracker;
        let line = tracker.advance(block, dt.is_long());
        let body = sep.body();
        let covered_len = body
            .get(covered(&cfg, line, body.len()))
            .map_or(0, <[u8]>::len);
        let input = sep.header_bytes().len() as u64 + 4 + covered_len as u64;
        let mut member = None;
        if prot && single {
            self.core
                .check_invocation(frame.config.key_id, frame.fc, CONTEXT_LEN + input)?;
        } else if prot {
            let kind = scope_kind(cfg.tag_mode, h.orig_dt);
            // A block change fails the open scopes first, so only scopes of this block count.
            let found = if fail_open {
                None
            } else {
                frame.scopes.iter().position(|s| {
                    s.as_ref()
                        .is_some_and(|s| s.block == block && s.kind == kind)
                })
            };
            if let Some(last) = found.and_then(|i| frame.scopes[i].as_ref()).map(|s| s.last)
                && pn <= last
            {
                return Err(SepError::Security(SecurityError::Replay {
                    pn: pn.get(),
                    last: last.get(),
                }));
            }
            let (slot, so_far) = match found {
                Some(i) => (i, frame.scopes[i].as_ref().map_or(0, |s| s.mac_len)),
                None => {
                    let free = if fail_open {
                        Some(0)
                    } else {
                        frame.scopes.iter().position(Option::is_none)
                    };
                    (free.ok_or(SepError::TooManyScopes)?, CONTEXT_LEN)
                }
            };
            let max = self.core.max_mac_input(frame.config.key_id)?;
            let total = so_far.saturating_add(input);
            if total > max {
                return Err(SepError::Security(SecurityError::LimitExceeded {
                    len: total,
                    max,
                }));
            }
            member = Some((slot, found.is_none()));
        }
        Ok(DataPlan {
            block,
            cfg,
            single,
            is_fe,
            line,
            tracker,
            pn,
            pending: Some(pending),
            member,
            fail_open,
        })
    }

    fn handle_data(
        &mut self,
        sep: &wire::Packet<&[u8]>,
        h: &Header,
        now: u64,
        out: &mut [u8],
        ready: Option<&ReadyTag>,
        span: Option<&Span>,
    ) -> Result<Done, SepError> {
        let mut p = self.check_data(sep, h)?;
        // Verify.
        let frame = self.frame.as_ref().ok_or(SepError::Internal)?;
        let key_id = frame.config.key_id;
        // An encrypted payload is decrypted from the SEP body straight into `out` once its tag
        // verified (`verify_single`), and its CRC-16 written then (over the plaintext): no copy
        // of the ciphertext, no CRC over it.
        let sealed = protected(&p.cfg) && p.single && p.cfg.sv.encrypts();
        let prot = protected(&p.cfg);
        // The key and IV first: from the moment the original packet is written into `out`,
        // the only error return is a failed verification, which wipes it.
        let key_iv = if prot && p.single {
            let key = frame.keys()?.get(p.block)?;
            let salt = self.core.key(key_id)?.material.salt();
            Some((
                key,
                frame.params.iv(salt, p.block, ScopeKind::Message, p.pn)?,
            ))
        } else {
            None
        };
        // A tag computed in a batch counts only over exactly this MAC input.
        let body_len = sep.body().len();
        let range = covered(&p.cfg, p.line, body_len);
        let ready = ready
            .filter(|t| {
                t.fc == frame.fc
                    && t.key_id == key_id
                    && t.block == p.block
                    && t.cfg == p.cfg
                    && t.covered == (range.start, range.end)
            })
            .map(|t| t.tag);
        // An unencrypted body whose CRCs were spliced around it: the original packet's CRC-16
        // is the span's (no pass over the payload for it), and a packet with its own tag over
        // all of it has it copied by the MAC pass.
        let crc16 = span
            .filter(|s| !p.cfg.sv.encrypts() && s.len() == body_len)
            .map(Span::crc16_mcrf4xx);
        let mac_copy = key_iv.is_some()
            && !p.cfg.sv.encrypts()
            && ready.is_none()
            && crc16.is_some()
            && range == (0..body_len);
        let emit = if sealed {
            Emit::Later(None)
        } else if mac_copy {
            Emit::Later(crc16)
        } else {
            Emit::Copy(crc16)
        };
        let len = emit_original(&self.settings, h, sep.body(), out, emit)?;
        if let Some((key, iv)) = key_iv
            && let Err(e) = verify_single(
                &frame.params,
                key,
                &iv,
                &p.cfg,
                p.block,
                p.pn,
                sep,
                h,
                p.line,
                ready,
                mac_copy,
                out,
                len,
            )
        {
            self.core.record_failed_mac(key_id);
            return Err(e);
        }
        // Commit.
        let mut plan = CommitPlan::new();
        let frame = self.frame.as_ref().ok_or(SepError::Internal)?;
        if prot && p.single {
            if let Some(pending) = p.pending.take() {
                plan.replay(pending);
            }
            plan.invocation(Invocation {
                key_id,
                mac: p.cfg.suite.mac(),
            });
            plan.message_index(h.message_index);
        } else {
            // An SV-5 packet or a member of an open scope: its index is not authenticated yet.
            plan.unauthenticated_message_index(h.message_index);
        }
        let fc = frame.fc;
        // The scope a member opens: its MAC starts with the context block.
        let opened = match p.member {
            Some((_, true)) => {
                let key = frame.keys()?.get(p.block)?;
                let salt = self.core.key(key_id)?.material.salt();
                let kind = scope_kind(p.cfg.tag_mode, h.orig_dt);
                let mac = frame
                    .params
                    .open_scope(key, salt, &p.cfg, p.block, kind, fc)?;
                Some(RxScope {
                    block: p.block,
                    kind,
                    mac,
                    count: 0,
                    first_index: h.message_index,
                    mac_len: CONTEXT_LEN,
                    last: p.pn,
                })
            }
            _ => None,
        };
        let (fail_open, is_fe) = (p.fail_open, p.is_fe);
        self.core.commit_with(
            plan,
            now,
            |ev| {
                // A block change or FE fails the scopes still open.
                if fail_open {
                    for s in frame.scopes.iter().flatten() {
                        ev.push(Event::ScopeFailed(failure(fc, s)));
                    }
                }
            },
            |ev| {
                if is_fe {
                    ev.push(Event::FrameComplete {
                        frame_counter: fc,
                        messages: u32::try_from(ev.messages_received()).unwrap_or(u32::MAX),
                        clean: frame.clean
                            && !frame.scopes.iter().any(Option::is_some)
                            && ev.messages_lost() == 0,
                    });
                }
            },
        );
        let frame = self.frame.as_mut().ok_or(SepError::Internal)?;
        if p.fail_open {
            let failed = frame.scopes.iter().any(Option::is_some);
            frame.scopes = [None, None, None, None];
            if failed {
                frame.clean = false;
                self.core.reject_security(&SecurityError::AuthFailed);
            }
        }
        frame.tracker = p.tracker;
        let mut scope_id = None;
        if let Some((slot, _)) = p.member {
            if let Some(s) = opened
                && let Some(dst) = frame.scopes.get_mut(slot)
            {
                *dst = Some(s);
            }
            let body = sep.body();
            let piece = body
                .get(covered(&p.cfg, p.line, body.len()))
                .unwrap_or_default();
            if let Some(Some(scope)) = frame.scopes.get_mut(slot) {
                // The scope's key (the MAC state is detached from it).
                let key = frame
                    .keys
                    .as_ref()
                    .ok_or(SepError::Internal)?
                    .get(scope.block)?;
                scope.mac.update(key, sep.header_bytes());
                scope
                    .mac
                    .update(key, &prefix(h.orig_vc, h.orig_dt, h.orig_wc));
                scope.mac.update(key, piece);
                scope.count = scope.count.saturating_add(1);
                scope.mac_len = scope
                    .mac_len
                    .saturating_add(sep.header_bytes().len() as u64 + 4 + piece.len() as u64);
                scope.last = p.pn;
                scope_id = Some(ScopeId {
                    frame_counter: fc,
                    block: scope.block,
                    kind: scope.kind,
                });
            }
        } else if prot {
            frame.last = p.pn;
        }
        let info = info(fc, h, p.block, &p.cfg);
        if p.is_fe
            && let Some(frame) = self.frame.take()
        {
            self.finished = Some(frame);
        }
        Ok(self.deliver(&p.cfg, p.single, info, scope_id, len))
    }

    // ---- close records -----------------------------------------------------------------

    fn handle_close(
        &mut self,
        sep: &wire::Packet<&[u8]>,
        h: &Header,
        now: u64,
    ) -> Result<Done, SepError> {
        // Check.
        let Some(frame) = self.frame.as_ref() else {
            return Err(self.outside_frame(h));
        };
        if h.key_id != frame.config.key_id || h.block != frame.tracker.block() {
            return Err(mismatch());
        }
        let block = h.block;
        let cfg = *frame.config.block(block);
        if !protected(&cfg) || cfg.tag_mode == TagMode::PerMessage {
            return Err(mismatch());
        }
        if h.sv != cfg.sv.level() || h.tag_mode != cfg.tag_mode || h.tag_len != Some(cfg.tag_len) {
            return Err(mismatch());
        }
        if cfg.tag_mode == TagMode::PerFrame && h.orig_dt != 0 {
            return Err(mismatch());
        }
        let kind = scope_kind(cfg.tag_mode, h.orig_dt);
        let pn = PacketNumber::new(frame.fc, h.message_index);
        let pending = self.check_pn(frame, pn)?;
        let slot = frame
            .scopes
            .iter()
            .position(|s| {
                s.as_ref()
                    .is_some_and(|s| s.block == block && s.kind == kind)
            })
            .ok_or_else(mismatch)?;
        let scope = frame.scopes[slot].as_ref().ok_or(SepError::Internal)?;
        let key_id = frame.config.key_id;
        let mac_len = scope
            .mac_len
            .saturating_add(sep.header_bytes().len() as u64 + 4 + CLOSE_BODY_LEN as u64);
        self.core.check_invocation(key_id, frame.fc, mac_len)?;
        // Verify (the scope's MAC state is not consumed: a forged record leaves it open).
        let body = sep.body();
        let count_ok = body == scope.count.to_le_bytes();
        let pre = prefix(h.orig_vc, h.orig_dt, CLOSE_BODY_LEN as u16);
        let tag_ok = scope
            .mac
            .verify_continued(
                frame.keys()?.get(scope.block)?,
                &[sep.header_bytes(), &pre, body],
                sep.tag(),
                cfg.tag_len,
            )
            .is_ok();
        if !(tag_ok && count_ok) {
            let fail = failure(frame.fc, scope);
            self.core.record_failed_mac(key_id);
            return Err(SepError::ScopeFailed(fail));
        }
        // Commit.
        let mut plan = CommitPlan::new();
        plan.replay(pending);
        plan.invocation(Invocation {
            key_id,
            mac: cfg.suite.mac(),
        });
        plan.message_index(h.message_index);
        self.core.commit(plan, now);
        let frame = self.frame.as_mut().ok_or(SepError::Internal)?;
        let scope = frame.scopes[slot].take().ok_or(SepError::Internal)?;
        frame.last = pn;
        self.proto.scopes_verified += 1;
        Ok(Done::Scope(ScopeProof {
            receiver: self.core.id(),
            scope: ScopeId {
                frame_counter: frame.fc,
                block: scope.block,
                kind: scope.kind,
            },
            first_index: scope.first_index,
            end_index: h.message_index,
            packets: scope.count,
        }))
    }

    fn deliver(
        &mut self,
        cfg: &BlockConfig,
        single: bool,
        info: PacketInfo,
        scope: Option<ScopeId>,
        len: usize,
    ) -> Done {
        if !protected(cfg) {
            return Done::Unprotected(info, len);
        }
        match (single, scope) {
            (false, Some(scope)) => {
                self.proto.unverified += 1;
                Done::Unverified(info, len, scope, cfg.sv.encrypts(), self.core.id())
            }
            _ => {
                self.proto.verified += 1;
                Done::Verified(info, len)
            }
        }
    }

    /// Decrypts, in place, an SV-1 packet released as [`Unverified`] (the bytes of
    /// [`Unverified::unverified_packet`], copied by the caller) once `proof` shows its scope
    /// verified, and rewrites its CRC-16: the buffer then holds the original packet.
    ///
    /// Works until the next accepted FS (the one after the frame's end, or the one that
    /// abandons the frame; under a policy that admits all-SV-5 frames, their untagged FS
    /// too): the receiver keeps the frame's keys until then and forgets the frame at that FS,
    /// so a proof of an earlier frame is refused even after its key id was retired and
    /// installed again with other material.
    ///
    /// # Errors
    /// [`SepError::ProofMismatch`] when the proof or the ticket come from another receiver,
    /// the proof does not cover the ticket, the frame is gone, or `packet` is not the packet
    /// the ticket was issued for (its data type, word count, virtual channel, length or CRC-16
    /// footer differs from the released packet's: the bytes of another line of the scope are
    /// refused, with the buffer untouched; a CRC-16 guards against mix-ups, not against bytes
    /// crafted to match it); [`SepError::Framing`]/[`SepError::Fusa`] when the packet's
    /// CRC-16 does not match its bytes.
    pub fn decrypt(
        &self,
        proof: &ScopeProof,
        ticket: &DecryptTicket,
        packet: &mut [u8],
    ) -> Result<(), SepError> {
        let me = self.core.id();
        if proof.receiver != me
            || ticket.receiver != me
            || proof.scope != ticket.scope
            || !proof.indices().contains(&ticket.message_index)
        {
            return Err(SepError::ProofMismatch);
        }
        let frame = [self.frame.as_ref(), self.finished.as_ref()]
            .into_iter()
            .flatten()
            .find(|f| f.fc == proof.scope.frame_counter)
            .ok_or(SepError::ProofMismatch)?;
        let cfg = frame.config.block(ticket.scope.block);
        if !cfg.sv.encrypts() {
            return Err(SepError::ProofMismatch);
        }
        let mut view = csi2::Packet::new_checked(&mut *packet)?;
        if view.data_type() != ticket.data_type
            || view.word_count() != ticket.word_count
            || view.total_len() != view.as_ref().len()
            || view.vc(self.settings.form) != self.settings.vc
        {
            return Err(SepError::ProofMismatch);
        }
        if view.crc() != ticket.crc {
            // Corrupted bytes fail their own CRC-16 (as when the footer matches); intact bytes
            // of another packet are refused as not the ticket's.
            view.verify_crc()?;
            return Err(SepError::ProofMismatch);
        }
        view.verify_crc()?;
        let entry = self.core.key(frame.config.key_id)?;
        let key = frame.keys()?.get(ticket.scope.block)?;
        let pn = PacketNumber::new(frame.fc, ticket.message_index);
        let iv = frame.params.iv(
            entry.material.salt(),
            ticket.scope.block,
            ScopeKind::Message,
            pn,
        )?;
        key.apply_keystream(&iv, view.payload_mut())?;
        view.fill_crc();
        Ok(())
    }
}

/// One SEP packet after [`Receiver::parse`].
struct Parsed<'a> {
    sep: wire::Packet<&'a [u8]>,
    h: Header,
    ext: Option<wire::FrameExt>,
    /// The SEP body summed up for the CRCs, when they were spliced around it.
    span: Option<Span>,
}

/// A tag computed ahead in [`Receiver::receive_batch`], with what its MAC input depended on
/// besides the packet's own bytes.
#[derive(Clone, Copy)]
struct ReadyTag {
    fc: u32,
    key_id: KeyId,
    block: Block,
    cfg: BlockConfig,
    /// The covered payload bytes (`start..end`).
    covered: (usize, usize),
    tag: Tag,
}

/// What a committed packet delivers, before it is bound to the caller's buffer.
enum Done {
    Verified(PacketInfo, usize),
    Unverified(PacketInfo, usize, ScopeId, bool, ReceiverId),
    Unprotected(PacketInfo, usize),
    Scope(ScopeProof),
}

impl Done {
    fn rebind(self, out: &[u8]) -> Delivery<'_> {
        let take = |len: usize| out.get(..len).unwrap_or_default();
        match self {
            Done::Verified(info, len) => Delivery::Verified(Verified {
                packet: take(len),
                info,
            }),
            Done::Unverified(info, len, scope, encrypted, receiver) => {
                Delivery::Unverified(Unverified {
                    packet: take(len),
                    info,
                    scope,
                    encrypted,
                    receiver,
                })
            }
            Done::Unprotected(info, len) => Delivery::Unprotected(Unprotected {
                packet: take(len),
                info,
            }),
            Done::Scope(p) => Delivery::ScopeVerified(p),
        }
    }
}

fn failure(fc: u32, s: &RxScope) -> ScopeFailure {
    ScopeFailure {
        scope: ScopeId {
            frame_counter: fc,
            block: s.block,
            kind: s.kind,
        },
        first_index: s.first_index,
    }
}

fn info(fc: u32, h: &Header, block: Block, cfg: &BlockConfig) -> PacketInfo {
    PacketInfo {
        frame_counter: fc,
        message_index: h.message_index,
        block,
        sv: cfg.sv,
        data_type: DataType(h.orig_dt),
        word_count: h.orig_wc,
    }
}

/// The header a packet of `block` under `cfg` must carry.
fn expect_header(
    h: &Header,
    cfg: &BlockConfig,
    block: Block,
    single: bool,
) -> Result<(), SepError> {
    let prot = protected(cfg);
    let phase = if single { Phase::Single } else { Phase::Member };
    let tag = (prot && single).then_some(cfg.tag_len);
    if h.block != block
        || h.sv != cfg.sv.level()
        || h.tag_mode != cfg.tag_mode
        || h.phase != phase
        || h.tag_len != tag
        || h.encrypted != (prot && cfg.sv.encrypts())
    {
        return Err(mismatch());
    }
    Ok(())
}

/// Writes the original packet (as received: ciphertext under SV-1) into `out`.
///
/// How [`emit_original`] writes a long packet's payload and CRC-16 footer.
#[derive(Clone, Copy)]
enum Emit {
    /// The payload copied from the SEP body; the footer the given CRC-16 of it, or computed
    /// in the copy.
    Copy(Option<u16>),
    /// The payload not written: the caller writes it (decrypts into it, or copies it in its MAC
    /// pass). The footer the given CRC-16, or zero for the caller to fill (with
    /// [`csi2::Packet::fill_crc`]) once the payload is final.
    Later(Option<u16>),
}

/// Writes the original packet of a data SEP packet into `out` (see [`Emit`] for its payload);
/// the checks and errors are those of [`Emitter::long`] either way.
fn emit_original(
    settings: &Settings,
    h: &Header,
    body: &[u8],
    out: &mut [u8],
    emit: Emit,
) -> Result<usize, SepError> {
    let dt = DataType(h.orig_dt);
    let framing = |e| match e {
        csi2::Error::BufferTooSmall { needed, available } => {
            SepError::Config(ConfigError::BufferTooSmall { needed, available })
        }
        other => SepError::Framing(other),
    };
    if !dt.is_short() && !matches!(emit, Emit::Copy(None)) {
        // `Emitter::long` without its CRC pass, with its checks in its order.
        let wc = u16::try_from(body.len())
            .map_err(|_| framing(csi2::Error::PayloadTooLong(body.len())))?;
        let repr = csi2::Repr::long(settings.vc, dt, wc);
        let header = repr.header_bytes(settings.form).map_err(framing)?;
        let needed = repr.buffer_len();
        let available = out.len();
        let dst = out
            .get_mut(..needed)
            .ok_or(framing(csi2::Error::BufferTooSmall { needed, available }))?;
        let (head, rest) = dst.split_at_mut(CSI2_HEADER_LEN);
        head.copy_from_slice(&header);
        let (payload, footer) = rest.split_at_mut(body.len());
        let crc = match emit {
            Emit::Copy(crc) => {
                payload.copy_from_slice(body);
                crc
            }
            Emit::Later(crc) => crc,
        };
        footer.copy_from_slice(&crc.unwrap_or(0).to_le_bytes());
        return Ok(needed);
    }
    let mut em = Emitter::new(out, settings.form);
    let r = if dt.is_short() {
        em.short(settings.vc, dt, h.orig_wc)
    } else {
        em.long(settings.vc, dt, body)
    };
    r.map_err(framing)?;
    Ok(em.len())
}

/// Verifies a packet's own tag; for SV-1 decrypts the payload in `out` only after that; with
/// `copy` (an unencrypted body the whole tag covers) copies the body into the payload of `out`
/// in the MAC pass. On failure wipes `out`.
#[allow(clippy::too_many_arguments)]
fn verify_single(
    params: &StreamParams,
    key: &SuiteKey,
    iv: &Iv,
    cfg: &BlockConfig,
    block: Block,
    pn: PacketNumber,
    sep: &wire::Packet<&[u8]>,
    h: &Header,
    line: u32,
    ready: Option<Tag>,
    copy: bool,
    out: &mut [u8],
    len: usize,
) -> Result<(), SepError> {
    let ctx = params.context(cfg, block, ScopeKind::Message, pn.get());
    let pre = prefix(h.orig_vc, h.orig_dt, h.orig_wc);
    let head = sep.header_bytes();
    let r = if cfg.sv.encrypts() {
        let body = sep.body();
        let payload_end = CSI2_HEADER_LEN + body.len();
        match out.get_mut(CSI2_HEADER_LEN..payload_end) {
            // One pass from the SEP body into the original packet's payload; on a bad tag
            // `open_to` wipes what it wrote (and `out` is wiped below).
            Some(buf) if !DataType(h.orig_dt).is_short() => {
                key.open_to(iv, &[&ctx, head, &pre], body, buf, sep.tag(), cfg.tag_len)
            }
            _ => key.open_in_place(iv, &[&ctx, head, &pre], &mut [], sep.tag(), cfg.tag_len),
        }
    } else if let Some(tag) = ready {
        tag.verify(sep.tag())
    } else if copy {
        // The MAC over `ctx ‖ head ‖ pre ‖ body`, the body copied into the payload.
        let body = sep.body();
        let dst = out
            .get_mut(CSI2_HEADER_LEN..CSI2_HEADER_LEN + body.len())
            .ok_or(SepError::Internal)?;
        key.seal_to(iv, &[&ctx, head, &pre], body, dst, cfg.tag_len)
            .map_err(|_| SepError::Internal)?
            .verify(sep.tag())
    } else {
        let body = sep.body();
        let covered = body.get(covered(cfg, line, body.len())).unwrap_or_default();
        key.mac_pieces(iv, &[&ctx, head, &pre, covered], cfg.tag_len)
            .verify(sep.tag())
    };
    if let Err(e) = r {
        if let Some(o) = out.get_mut(..len) {
            o.fill(0);
        }
        return Err(SepError::Security(e));
    }
    if cfg.sv.encrypts() && !DataType(h.orig_dt).is_short() {
        let mut view = csi2::Packet::new_checked(out.get_mut(..len).ok_or(SepError::Internal)?)?;
        view.fill_crc();
    }
    Ok(())
}
