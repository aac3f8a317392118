//! The receiver agent: SEP packets in, verified original packets and events out.

use cse_core::agent::EventQueue;
use cse_core::crypto::SuiteKey;
use cse_core::csi2::{self, DataType, Emitter, HEADER_LEN as CSI2_HEADER_LEN};
use cse_core::fusa::{FrameContinuity, FusaStats, MessageCounter, SecurityStats, TimeoutMonitor};
use cse_core::keys::KeySlots;
use cse_core::nonce::{Iv, PacketNumber};
use cse_core::sequence::ReplayTracker;
use cse_core::{
    Block, BlockConfig, ConfigError, FrameConfig, FusaError, KeyId, Policy, ScopeKind,
    SecurityError, SecurityVariant, TagMode,
};

use crate::agent::{
    BlockTracker, FrameKeys, KeyEntry, KeyMaterial, MAX_OPEN_SCOPES, Scope, Settings, StreamParams,
    check_frame, classify, covered, find_scope, prefix, protected, scope_kind,
};
use crate::error::SepError;
use crate::wire::{self, CLOSE_BODY_LEN, Header, Phase};

/// Capacity of the receiver's event queue.
pub const EVENT_QUEUE_LEN: usize = 16;

/// A tag scope: one block's per-data-type or per-frame scope in one frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ScopeId {
    /// Frame counter.
    pub frame_counter: u32,
    /// Block.
    pub block: Block,
    /// Scope kind (with the data type of a per-data-type scope).
    pub kind: ScopeKind,
}

/// A scope whose packets must be discarded: its tag failed or it was never closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ScopeFailure {
    /// The scope.
    pub scope: ScopeId,
    /// Message index of its first packet.
    pub first_index: u32,
}

/// Proof that a scope's tag verified, needed to decrypt SV-1 packets released as
/// [`Unverified`] ([`Receiver::decrypt`]). Only the receiver creates it.
#[derive(Debug, PartialEq, Eq)]
pub struct ScopeProof {
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
/// [`SepError::ScopeFailed`] or [`Event::ScopeFailed`]. Under SV-1 the payload is still
/// ciphertext; decrypt it with [`Receiver::decrypt`] and the proof.
#[derive(Debug, PartialEq, Eq)]
pub struct Unverified<'o> {
    packet: &'o [u8],
    info: PacketInfo,
    scope: ScopeId,
    encrypted: bool,
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
            scope: self.scope,
            message_index: self.info.message_index,
            data_type: self.info.data_type,
            word_count: self.info.word_count,
        }
    }
}

/// Identifies an SV-1 packet released as [`Unverified`], for [`Receiver::decrypt`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct DecryptTicket {
    scope: ScopeId,
    message_index: u32,
    data_type: DataType,
    word_count: u16,
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

/// A receiver event, drained with [`Receiver::poll_event`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A frame started (its FS verified); its configuration passed the policy.
    FrameStart {
        /// Frame counter.
        frame_counter: u32,
        /// The frame's configuration.
        config: FrameConfig,
    },
    /// FE verified. `clean` is true when every packet of the frame verified, no scope failed
    /// and no message was lost.
    FrameComplete {
        /// Frame counter.
        frame_counter: u32,
        /// Messages received in the frame (FS to FE, close records included).
        messages: u32,
        /// Whether the frame is complete and fully verified.
        clean: bool,
    },
    /// A new FS arrived before the FE of this frame.
    FrameAbandoned {
        /// Frame counter of the unfinished frame.
        frame_counter: u32,
    },
    /// The sender switched to another key id at this frame.
    KeyRollover {
        /// Previous key id.
        from: KeyId,
        /// New key id.
        to: KeyId,
    },
    /// A scope ended without a verified close record; discard its unverified packets.
    ScopeFailed(ScopeFailure),
    /// A functional-safety finding on an accepted packet (frame or message loss) or a timeout.
    Fusa(FusaError),
    /// Events were dropped because the queue was full (drain it after every packet).
    Overflow,
}

struct RxFrame {
    fc: u32,
    config: FrameConfig,
    params: StreamParams,
    keys: FrameKeys,
    tracker: BlockTracker,
    scopes: [Option<Scope>; MAX_OPEN_SCOPES],
    tentative: Option<PacketNumber>,
    messages: u32,
    clean: bool,
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
/// number against the replay state, then the tag. Counters and the replay state move only
/// after a tag verified. See the crate docs for the release rule of scope modes.
pub struct Receiver {
    settings: Settings,
    policy: Policy,
    keys: KeySlots<KeyEntry>,
    replay: ReplayTracker,
    continuity: FrameContinuity,
    counter: MessageCounter,
    timeout: TimeoutMonitor,
    frame: Option<RxFrame>,
    finished: Option<RxFrame>,
    events: EventQueue<Event, EVENT_QUEUE_LEN>,
    fusa: FusaStats,
    security: SecurityStats,
    proto: ProtocolStats,
}

impl core::fmt::Debug for Receiver {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Receiver")
            .field("settings", &self.settings)
            .field("policy", &self.policy)
            .field("in_frame", &self.frame.is_some())
            .finish_non_exhaustive()
    }
}

fn mismatch() -> SepError {
    SepError::UnexpectedPacket
}

impl Receiver {
    /// A receiver enforcing `policy`, reporting a timeout after `timeout_interval` ticks of
    /// silence (see [`Receiver::poll_event`]).
    pub fn new(settings: Settings, policy: Policy, timeout_interval: u64) -> Self {
        Receiver {
            settings,
            policy,
            keys: KeySlots::new(),
            replay: ReplayTracker::new(),
            continuity: FrameContinuity::new(),
            counter: MessageCounter::new(),
            timeout: TimeoutMonitor::new(timeout_interval),
            frame: None,
            finished: None,
            events: EventQueue::new(),
            fusa: FusaStats::new(),
            security: SecurityStats::new(),
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
        let entry = KeyEntry::new(material, &self.settings.profile)?;
        self.keys
            .install(id, entry)
            .map_err(|_| SepError::Config(ConfigError::KeyId(id.get())))
    }

    /// Drops the previous key generation.
    pub fn retire_key(&mut self) -> Option<KeyId> {
        self.keys.retire()
    }

    /// FuSa statistics.
    pub fn fusa_stats(&self) -> &FusaStats {
        &self.fusa
    }

    /// Security statistics.
    pub fn security_stats(&self) -> &SecurityStats {
        &self.security
    }

    /// Protocol statistics.
    pub fn protocol_stats(&self) -> &ProtocolStats {
        &self.proto
    }

    /// The next event: queued events first, then a timeout of the stream at `now`.
    pub fn poll_event(&mut self, now: u64) -> Option<Event> {
        if let Some(e) = self.events.pop(Event::Overflow) {
            return Some(e);
        }
        let t = self.timeout.poll(now)?;
        self.fusa.record(&t);
        Some(Event::Fusa(t))
    }

    fn push_fusa(&mut self, e: FusaError) {
        self.fusa.record(&e);
        if let Some(f) = self.frame.as_mut() {
            f.clean = false;
        }
        self.events.push(Event::Fusa(e));
    }

    /// Processes one SEP packet (outer CSI-2 header, SEP payload, CRC-16) received at `now`;
    /// writes the original packet, if it carries one, into `out`.
    ///
    /// # Errors
    /// The packet is rejected: see [`SepError`]. Nothing in `out` may be used: when a tag fails
    /// the written bytes are zeroized, and the other checks run before anything is written.
    /// A rejection inside an open scope makes that scope fail at its close record.
    pub fn receive<'o>(
        &mut self,
        sep: &[u8],
        now: u64,
        out: &'o mut [u8],
    ) -> Result<Delivery<'o>, SepError> {
        let r = self.receive_inner(sep, now, out);
        if let Err(e) = &r {
            match e {
                SepError::Security(s) => self.security.record(s),
                SepError::Fusa(f) => self.fusa.record(f),
                SepError::ScopeFailed(_) => self.security.record(&SecurityError::AuthFailed),
                SepError::Wire(_) | SepError::Framing(_) => self.proto.malformed += 1,
                _ => self.proto.unexpected += 1,
            }
            if let Some(f) = self.frame.as_mut() {
                f.clean = false;
            }
        }
        r
    }

    fn receive_inner<'o>(
        &mut self,
        bytes: &[u8],
        now: u64,
        out: &'o mut [u8],
    ) -> Result<Delivery<'o>, SepError> {
        let profile = self.settings.profile;
        let view = csi2::Packet::new_checked(bytes)?;
        let (outer, _) = csi2::Repr::parse(&view, self.settings.form)?;
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
        sep.verify_crc(&profile)?;
        let repr = wire::Repr::parse(&sep, &profile)?;
        let h = repr.header;
        if h.orig_vc != self.settings.vc.get() {
            return Err(mismatch());
        }
        self.timeout
            .feed(self.settings.vc.get(), now)
            .map_err(SepError::Config)?;
        if let Some(ext) = repr.ext {
            return self.handle_fs(&sep, &h, ext, out);
        }
        if h.orig_dt == DataType::FS.0 && h.phase != Phase::Close {
            return Err(SepError::Wire(wire::WireError::Inconsistent(
                "FS without frame extension",
            )));
        }
        if h.phase == Phase::Close {
            return self.handle_close(&sep, &h);
        }
        self.handle_data(&sep, &h, out)
    }

    fn handle_fs<'o>(
        &mut self,
        sep: &wire::Packet<&[u8]>,
        h: &Header,
        ext: wire::FrameExt,
        out: &'o mut [u8],
    ) -> Result<Delivery<'o>, SepError> {
        let config = ext.config;
        let fc = ext.frame_counter;
        if h.orig_dt != DataType::FS.0 || h.message_index != 0 {
            return Err(mismatch());
        }
        self.policy.check(&config).map_err(SecurityError::from)?;
        let entry = self.keys.get_mut(config.key_id)?;
        check_frame(&config, &entry.material)?;
        let top = config.top;
        expect_header(h, &top, Block::Top, true)?;
        let pn = PacketNumber::new(fc, 0);
        let pending = self.replay.check(pn)?;
        let params = StreamParams {
            profile: self.settings.profile,
            direction: self.settings.direction,
            vc: self.settings.vc.get(),
            key_id: config.key_id,
        };
        let keys = FrameKeys::expand(&config, &entry.material)?;
        if protected(&top) {
            let _ = entry.usage.record(pn)?;
        }
        let len = emit_original(&self.settings, h, sep.body(), out)?;
        if protected(&top) {
            let key = keys.get(Block::Top)?;
            let iv = params.iv(entry.material.salt(), Block::Top, ScopeKind::Message, pn)?;
            verify_single(&params, key, &iv, &top, Block::Top, pn, sep, h, 0, out, len)?;
        }
        // Verified: state moves.
        self.replay.commit(pending);
        if let Some(old) = self.frame.take() {
            self.events.push(Event::FrameAbandoned {
                frame_counter: old.fc,
            });
            for s in old.scopes.iter().flatten() {
                self.events.push(Event::ScopeFailed(failure(old.fc, s)));
            }
        }
        let prev = self.keys.active_id();
        self.keys.activate(config.key_id)?;
        if let Some(from) = prev.filter(|p| *p != config.key_id) {
            self.events.push(Event::KeyRollover {
                from,
                to: config.key_id,
            });
        }
        self.events.push(Event::FrameStart {
            frame_counter: fc,
            config,
        });
        self.counter.start_frame();
        let _ = self.counter.observe(0);
        self.frame = Some(RxFrame {
            fc,
            config,
            params,
            keys,
            tracker: BlockTracker::new(),
            scopes: [None, None, None, None],
            tentative: None,
            messages: 1,
            clean: true,
        });
        if let Err(e) = self.continuity.observe(fc) {
            self.push_fusa(e);
        }
        let info = info(fc, h, Block::Top, &top);
        let packet = out.get(..len).ok_or(SepError::Internal)?;
        Ok(deliver(&top, true, packet, info, None, &mut self.proto))
    }

    fn check_pn(
        &self,
        frame: &RxFrame,
        pn: PacketNumber,
    ) -> Result<cse_core::sequence::Pending, SepError> {
        if let Some(t) = frame.tentative.filter(|t| pn <= *t) {
            return Err(SepError::Security(SecurityError::Replay {
                pn: pn.get(),
                last: t.get(),
            }));
        }
        Ok(self.replay.check(pn)?)
    }

    /// The error for a packet that arrives with no frame open: a replay of the last frame's
    /// packets when its packet number is not above the replay state, else unexpected.
    fn outside_frame(&self, h: &Header) -> SepError {
        if let Some(f) = &self.finished {
            let pn = PacketNumber::new(f.fc, h.message_index);
            if let Err(e) = self.replay.check(pn) {
                return SepError::Security(e);
            }
        }
        mismatch()
    }

    /// Ends the scopes still open when the block changes or FE arrives.
    fn fail_open_scopes(&mut self) {
        let Some(frame) = self.frame.as_mut() else {
            return;
        };
        let mut failed = false;
        for s in frame.scopes.iter_mut() {
            if let Some(scope) = s.take() {
                self.events
                    .push(Event::ScopeFailed(failure(frame.fc, &scope)));
                failed = true;
            }
        }
        if failed {
            frame.clean = false;
            self.security.record(&SecurityError::AuthFailed);
        }
    }

    fn handle_data<'o>(
        &mut self,
        sep: &wire::Packet<&[u8]>,
        h: &Header,
        out: &'o mut [u8],
    ) -> Result<Delivery<'o>, SepError> {
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
        let single = !protected(&cfg) || cfg.tag_mode == TagMode::PerMessage || is_fe;
        expect_header(h, &cfg, block, single)?;
        let pn = PacketNumber::new(frame.fc, h.message_index);
        let pending = self.check_pn(frame, pn)?;
        let closing = is_fe || block != frame.tracker.block();
        if closing {
            self.fail_open_scopes();
        }
        let frame = self.frame.as_mut().ok_or(SepError::Internal)?;
        let line = frame.tracker.advance(block, dt.is_long());
        let len = emit_original(&self.settings, h, sep.body(), out)?;
        let fc = frame.fc;
        let info = info(fc, h, block, &cfg);
        let mut scope_id = None;
        if protected(&cfg) {
            let entry = self.keys.get_mut(frame.config.key_id)?;
            let _ = entry.usage.record(pn)?;
            let key = frame.keys.get(block)?;
            let iv = frame
                .params
                .iv(entry.material.salt(), block, ScopeKind::Message, pn)?;
            if single {
                verify_single(
                    &frame.params,
                    key,
                    &iv,
                    &cfg,
                    block,
                    pn,
                    sep,
                    h,
                    line,
                    out,
                    len,
                )?;
                self.replay.commit(pending);
            } else {
                let kind = scope_kind(cfg.tag_mode, h.orig_dt);
                let i = match find_scope(&mut frame.scopes, block, kind) {
                    Some(i) => i,
                    None => {
                        let i = frame
                            .scopes
                            .iter()
                            .position(Option::is_none)
                            .ok_or(SepError::TooManyScopes)?;
                        let spn = PacketNumber::scope(fc);
                        let siv = frame.params.iv(entry.material.salt(), block, kind, spn)?;
                        let mut mac = key.mac(&siv);
                        mac.update(&frame.params.context(&cfg, block, kind, spn.get()));
                        frame.scopes[i] = Some(Scope {
                            block,
                            kind,
                            mac,
                            count: 0,
                            first_index: h.message_index,
                        });
                        i
                    }
                };
                let scope = frame.scopes[i].as_mut().ok_or(SepError::Internal)?;
                let body = sep.body();
                scope.mac.update(sep.header_bytes());
                scope.mac.update(&prefix(h.orig_vc, h.orig_dt, h.orig_wc));
                scope.mac.update(
                    body.get(covered(&cfg, line, body.len()))
                        .unwrap_or_default(),
                );
                scope.count = scope.count.saturating_add(1);
                frame.tentative = Some(pn);
                scope_id = Some(ScopeId {
                    frame_counter: fc,
                    block,
                    kind,
                });
                drop(pending);
            }
        } else {
            self.replay.commit(pending);
        }
        frame.messages = frame.messages.saturating_add(1);
        if let Err(e) = self.counter.observe(h.message_index) {
            self.push_fusa(e);
        }
        if is_fe && let Some(frame) = self.frame.take() {
            self.events.push(Event::FrameComplete {
                frame_counter: frame.fc,
                messages: frame.messages,
                clean: frame.clean,
            });
            self.finished = Some(frame);
        }
        let packet = out.get(..len).ok_or(SepError::Internal)?;
        Ok(deliver(
            &cfg,
            single,
            packet,
            info,
            scope_id,
            &mut self.proto,
        ))
    }

    fn handle_close<'o>(
        &mut self,
        sep: &wire::Packet<&[u8]>,
        h: &Header,
    ) -> Result<Delivery<'o>, SepError> {
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
        let frame = self.frame.as_mut().ok_or(SepError::Internal)?;
        let i = find_scope(&mut frame.scopes, block, kind).ok_or_else(mismatch)?;
        let scope = frame.scopes[i].take().ok_or(SepError::Internal)?;
        let fail = failure(frame.fc, &scope);
        let entry = self.keys.get_mut(frame.config.key_id)?;
        let _ = entry.usage.record(pn)?;
        let body = sep.body();
        let count_ok = body == scope.count.to_le_bytes();
        let mut mac = scope.mac;
        mac.update(sep.header_bytes());
        mac.update(&prefix(h.orig_vc, h.orig_dt, CLOSE_BODY_LEN as u16));
        mac.update(body);
        let tag_ok = mac.verify(sep.tag(), cfg.tag_len).is_ok();
        if !(tag_ok && count_ok) {
            frame.clean = false;
            return Err(SepError::ScopeFailed(fail));
        }
        self.replay.commit(pending);
        frame.tentative = Some(pn);
        frame.messages = frame.messages.saturating_add(1);
        if let Err(e) = self.counter.observe(h.message_index) {
            self.push_fusa(e);
        }
        self.proto.scopes_verified += 1;
        Ok(Delivery::ScopeVerified(ScopeProof {
            scope: fail.scope,
            first_index: scope.first_index,
            end_index: h.message_index,
            packets: scope.count,
        }))
    }

    /// Decrypts, in place, an SV-1 packet released as [`Unverified`] (the bytes of
    /// [`Unverified::unverified_packet`], copied by the caller) once `proof` shows its scope
    /// verified, and rewrites its CRC-16: the buffer then holds the original packet.
    ///
    /// Works until the FS after the frame's end (the frame's keys are kept until then).
    ///
    /// # Errors
    /// [`SepError::ProofMismatch`] when the proof does not cover the ticket or the frame is
    /// gone; [`SepError::Framing`]/[`SepError::Fusa`] when `packet` is not the packet the
    /// ticket describes (its CRC-16 is checked first).
    pub fn decrypt(
        &self,
        proof: &ScopeProof,
        ticket: &DecryptTicket,
        packet: &mut [u8],
    ) -> Result<(), SepError> {
        if proof.scope != ticket.scope || !proof.indices().contains(&ticket.message_index) {
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
        {
            return Err(SepError::ProofMismatch);
        }
        view.verify_crc()?;
        let entry = self.keys.get(frame.config.key_id)?;
        let key = frame.keys.get(ticket.scope.block)?;
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

fn failure(fc: u32, s: &Scope) -> ScopeFailure {
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

fn deliver<'o>(
    cfg: &BlockConfig,
    single: bool,
    packet: &'o [u8],
    info: PacketInfo,
    scope: Option<ScopeId>,
    stats: &mut ProtocolStats,
) -> Delivery<'o> {
    if !protected(cfg) {
        return Delivery::Unprotected(Unprotected { packet, info });
    }
    match (single, scope) {
        (false, Some(scope)) => {
            stats.unverified += 1;
            Delivery::Unverified(Unverified {
                packet,
                info,
                scope,
                encrypted: cfg.sv.encrypts(),
            })
        }
        _ => {
            stats.verified += 1;
            Delivery::Verified(Verified { packet, info })
        }
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
fn emit_original(
    settings: &Settings,
    h: &Header,
    body: &[u8],
    out: &mut [u8],
) -> Result<usize, SepError> {
    let mut em = Emitter::new(out, settings.form);
    let dt = DataType(h.orig_dt);
    let r = if dt.is_short() {
        em.short(settings.vc, dt, h.orig_wc)
    } else {
        em.long(settings.vc, dt, body)
    };
    r.map_err(|e| match e {
        csi2::Error::BufferTooSmall { needed, available } => {
            SepError::Config(ConfigError::BufferTooSmall { needed, available })
        }
        other => SepError::Framing(other),
    })?;
    Ok(em.len())
}

/// Verifies a packet's own tag; for SV-1 decrypts the payload in `out` only after that. On
/// failure wipes `out`.
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
    out: &mut [u8],
    len: usize,
) -> Result<(), SepError> {
    let ctx = params.context(cfg, block, ScopeKind::Message, pn.get());
    let pre = prefix(h.orig_vc, h.orig_dt, h.orig_wc);
    let head = sep.header_bytes();
    let r = if cfg.sv.encrypts() {
        let payload_end = CSI2_HEADER_LEN + sep.body().len();
        match out.get_mut(CSI2_HEADER_LEN..payload_end) {
            Some(buf) if !DataType(h.orig_dt).is_short() => {
                key.open_in_place(iv, &[&ctx, head, &pre], buf, sep.tag(), cfg.tag_len)
            }
            _ => key.open_in_place(iv, &[&ctx, head, &pre], &mut [], sep.tag(), cfg.tag_len),
        }
    } else {
        let body = sep.body();
        let mut m = key.mac(iv);
        m.update(&ctx);
        m.update(head);
        m.update(&pre);
        m.update(body.get(covered(cfg, line, body.len())).unwrap_or_default());
        m.verify(sep.tag(), cfg.tag_len)
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
