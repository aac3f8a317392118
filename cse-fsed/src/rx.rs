//! The receiver agent: the mixed stream (original packets and FSED packets of one virtual
//! channel) in, packets with their verification state and events out.
//!
//! # Release rule
//!
//! FSED tags close frame-sized scopes, and a `no_std` receiver cannot hold a frame. Original
//! packets of protected blocks are therefore released at once as [`Unverified`]: their bytes
//! are reachable only through [`Unverified::unverified_packet`], and they become usable when a
//! [`Delivery::ScopeVerified`] whose [`ScopeProof`] covers them arrives. They must be
//! discarded on [`FsedError::ScopeFailed`] or [`Event::ScopeFailed`]. SV-1 payloads stay
//! ciphertext until [`Receiver::decrypt`] is given the proof: there is no way to decrypt
//! before the scope verified.

use cse_core::agent::EventQueue;
use cse_core::context::covered_prefix;
use cse_core::csi2::{self, DataType};
use cse_core::fusa::{FrameContinuity, FusaStats, SecurityStats, TimeoutMonitor};
use cse_core::keys::KeySlots;
use cse_core::nonce::PacketNumber;
use cse_core::sequence::ReplayTracker;
use cse_core::{
    Block, BlockConfig, ConfigError, FrameConfig, FusaError, KeyId, Policy, ScopeKind,
    SecurityError, SecurityVariant,
};

use crate::agent::{
    BlockTracker, FrameKeys, KeyEntry, KeyMaterial, MAX_OPEN_SCOPES, Scope, Settings, StreamParams,
    any_protected, check_frame, find_scope, protected, seal_config, seal_key_block,
};
use crate::error::FsedError;
use crate::wire::{self, FRAME_HEADER_LEN, FrameHeader, RECORD_FIXED_LEN, TagRecord};

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

/// A scope whose packets must be discarded: its tag record failed or never came. The frame
/// seal (`Bottom`, `Frame`) fails when a frame with a protected block ends without a verified
/// last record (a scope at the end of the frame was removed).
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

    /// Message indices the scope spans: `first..end`. Every [`Unverified`] packet of this
    /// scope ([`Unverified::scope`]) with an index in this range is now verified.
    pub fn indices(&self) -> core::ops::Range<u32> {
        self.first_index..self.end_index
    }

    /// Number of packets covered.
    pub fn packets(&self) -> u32 {
        self.packets
    }

    /// Whether `u` is one of the packets this proof verifies.
    pub fn covers(&self, u: &Unverified<'_>) -> bool {
        u.scope == self.scope && self.indices().contains(&u.info.message_index)
    }
}

/// What the receiver knows about a delivered original packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct PacketInfo {
    /// Frame counter.
    pub frame_counter: u32,
    /// Index of the original packet within the frame (FS = 0; FSED packets not counted).
    pub message_index: u32,
    /// Block.
    pub block: Block,
    /// Security variant of the block.
    pub sv: SecurityVariant,
    /// Data type.
    pub data_type: DataType,
    /// Word count (or short-packet data).
    pub word_count: u16,
}

/// An original packet of an open scope: **not yet authenticated**. Its bytes are reachable
/// only through [`Unverified::unverified_packet`]; it becomes usable when a
/// [`Delivery::ScopeVerified`] with a [`ScopeProof`] that [covers](ScopeProof::covers) it
/// arrives. Under SV-1 the payload is still ciphertext; decrypt a copy with
/// [`Receiver::decrypt`] and the proof.
#[derive(Debug, PartialEq, Eq)]
pub struct Unverified<'p> {
    packet: &'p [u8],
    info: PacketInfo,
    scope: ScopeId,
    encrypted: bool,
}

impl<'p> Unverified<'p> {
    /// The packet as received, NOT authenticated (for SV-1: header, ciphertext, CRC-16 of the
    /// ciphertext).
    pub fn unverified_packet(&self) -> &'p [u8] {
        self.packet
    }

    /// Metadata (not authenticated either).
    pub fn info(&self) -> &PacketInfo {
        &self.info
    }

    /// The scope whose tag record will verify it.
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

/// An original packet of an SV-5 block: CRC-checked only, no authentication.
#[derive(Debug, PartialEq, Eq)]
pub struct Unprotected<'p> {
    packet: &'p [u8],
    info: PacketInfo,
}

impl<'p> Unprotected<'p> {
    /// The original packet; SV-5 means nobody authenticated it.
    pub fn unauthenticated_packet(&self) -> &'p [u8] {
        self.packet
    }

    /// Metadata.
    pub fn info(&self) -> &PacketInfo {
        &self.info
    }
}

/// FS or FE. They carry only the 16-bit CSI-2 frame number, which FSED binds through the frame
/// header (covered by every tag of the frame): the receiver rejects an FS/FE whose number
/// differs from the header's. So once the frame's first scope verified, both are authentic.
#[derive(Debug, PartialEq, Eq)]
pub struct SyncPacket<'p> {
    packet: &'p [u8],
    start: bool,
    frame_number: u16,
}

impl<'p> SyncPacket<'p> {
    /// The packet as received.
    pub fn packet(&self) -> &'p [u8] {
        self.packet
    }

    /// True for FS, false for FE.
    pub fn is_frame_start(&self) -> bool {
        self.start
    }

    /// The CSI-2 frame number.
    pub fn frame_number(&self) -> u16 {
        self.frame_number
    }
}

/// What one received packet yields.
#[derive(Debug, PartialEq, Eq)]
#[must_use]
#[non_exhaustive]
pub enum Delivery<'p> {
    /// An original packet of an open scope, not yet verified.
    Unverified(Unverified<'p>),
    /// An original packet of an SV-5 block.
    Unprotected(Unprotected<'p>),
    /// FS or FE.
    Sync(SyncPacket<'p>),
    /// An FSED frame header was taken in. Its configuration is authenticated by the frame's
    /// first verified scope ([`Event::FrameStart`] is queued then), or at once when every block
    /// is SV-5.
    FrameHeader {
        /// Frame counter it announced.
        frame_counter: u32,
    },
    /// A tag record verified: every packet of the scope is authentic.
    ScopeVerified(ScopeProof),
}

/// A receiver event, drained with [`Receiver::poll_event`]. Same set and names as the SEP
/// receiver.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A frame's header is authenticated (its first scope verified, or every block is SV-5)
    /// and its configuration passed the policy.
    FrameStart {
        /// Frame counter.
        frame_counter: u32,
        /// The frame's configuration.
        config: FrameConfig,
    },
    /// FE arrived. `clean` is true when every scope of the frame verified, the last record was
    /// seen and nothing was rejected in the frame.
    FrameComplete {
        /// Frame counter.
        frame_counter: u32,
        /// Original packets received in the frame (FS to FE).
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
    /// A scope ended without a verified tag record; discard its unverified packets.
    ScopeFailed(ScopeFailure),
    /// A functional-safety finding on an accepted frame (frame loss) or a timeout.
    Fusa(FusaError),
    /// Events were dropped because the queue was full (drain it after every packet).
    Overflow,
}

/// Counters of packets the receiver rejected for protocol reasons, apart from the FuSa and
/// security statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProtocolStats {
    /// Malformed CSI-2 packets or FSED payloads.
    pub malformed: u64,
    /// Well-formed packets that do not fit the frame state or configuration.
    pub unexpected: u64,
    /// Packets delivered as unverified (open scope).
    pub unverified: u64,
    /// Scopes verified.
    pub scopes_verified: u64,
}

struct RxFrame {
    fc: u32,
    frame_number: u16,
    config: FrameConfig,
    params: StreamParams,
    keys: FrameKeys,
    header: [u8; FRAME_HEADER_LEN],
    tracker: BlockTracker,
    scopes: [Option<Scope>; MAX_OPEN_SCOPES],
    next_index: u32,
    records: u8,
    authenticated: bool,
    sealed: bool,
    clean: bool,
}

/// The FSED receiver of one stream (direction and virtual channel). Sans-IO.
///
/// Feed it every packet of its virtual channel in order ([`Receiver::receive`]). Checks: CSI-2
/// framing (ECC, CRC-16), then for FSED packets the layout and CRC-32, the frame header against
/// the policy and the replay state, each tag record against its scope (tag, covered packet and
/// byte counts, first index, record index). Counters and the replay state move only after a
/// tag verified.
pub struct Receiver {
    settings: Settings,
    policy: Policy,
    keys: KeySlots<KeyEntry>,
    replay: ReplayTracker,
    continuity: FrameContinuity,
    timeout: TimeoutMonitor,
    /// FS seen, frame header expected next: the FS frame number.
    awaiting_header: Option<u16>,
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
            timeout: TimeoutMonitor::new(timeout_interval),
            awaiting_header: None,
            frame: None,
            finished: None,
            events: EventQueue::new(),
            fusa: FusaStats::new(),
            security: SecurityStats::new(),
            proto: ProtocolStats::default(),
        }
    }

    /// Installs key material under `id` (the idle slot; the receiver activates a key id when
    /// a frame naming it is authenticated).
    ///
    /// # Errors
    /// [`FsedError::Config`] when `id` is the active key or the minimum tag length has no
    /// usage limit under the profile.
    pub fn install_key(&mut self, id: KeyId, material: KeyMaterial) -> Result<(), FsedError> {
        let entry = KeyEntry::new(material, &self.settings.profile)?;
        self.keys
            .install(id, entry)
            .map_err(|_| FsedError::Config(ConfigError::KeyId(id.get())))
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

    /// Processes one packet of the stream (exactly one CSI-2 packet: header with ECC, payload
    /// and CRC-16 of a long packet) received at `now`.
    ///
    /// # Errors
    /// The packet is rejected and must not be used: see [`FsedError`]. A rejected packet
    /// inside an open scope makes that scope fail later; a failed tag record is
    /// [`FsedError::ScopeFailed`].
    pub fn receive<'p>(&mut self, packet: &'p [u8], now: u64) -> Result<Delivery<'p>, FsedError> {
        let r = self.receive_inner(packet, now);
        if let Err(e) = &r {
            match e {
                FsedError::Security(s) => self.security.record(s),
                FsedError::Fusa(f) => self.fusa.record(f),
                FsedError::ScopeFailed(_) => self.security.record(&SecurityError::AuthFailed),
                FsedError::Wire(_) | FsedError::Framing(_) => self.proto.malformed += 1,
                _ => self.proto.unexpected += 1,
            }
            if let Some(f) = self.frame.as_mut() {
                f.clean = false;
            }
        }
        r
    }

    fn receive_inner<'p>(&mut self, bytes: &'p [u8], now: u64) -> Result<Delivery<'p>, FsedError> {
        let profile = self.settings.profile;
        let view = csi2::Packet::new_checked(bytes)?;
        let (repr, _) = csi2::Repr::parse(&view, self.settings.form)?;
        if bytes.len() != repr.buffer_len() {
            return Err(FsedError::Wire(wire::WireError::TrailingData(
                bytes.len().saturating_sub(repr.buffer_len()),
            )));
        }
        if repr.vc != self.settings.vc {
            return Err(FsedError::Config(ConfigError::VirtualChannel(
                repr.vc.get(),
            )));
        }
        self.timeout
            .feed(self.settings.vc.get(), now)
            .map_err(FsedError::Config)?;
        let payload = view.payload();
        if repr.data_type == profile.dt_fsed {
            let p = wire::Packet::new_checked(payload)?;
            p.verify_crc(&profile)?;
            return match wire::Repr::parse(&p, &profile)? {
                wire::Repr::FrameHeader(h) => self.handle_header(&h, payload),
                wire::Repr::TagRecord(r) => self.handle_record(&r, &p),
            };
        }
        if repr.data_type == DataType::FS {
            return self.handle_fs(bytes, repr.word_count);
        }
        if repr.data_type == DataType::FE {
            return self.handle_fe(bytes, repr.word_count);
        }
        self.handle_data(bytes, &repr, payload)
    }

    fn handle_fs<'p>(&mut self, bytes: &'p [u8], number: u16) -> Result<Delivery<'p>, FsedError> {
        self.abandon();
        // A second FS before the frame header: the first one's frame cannot start any more.
        let repeated = self.awaiting_header.replace(number).is_some();
        if repeated {
            return Err(FsedError::UnexpectedPacket);
        }
        Ok(Delivery::Sync(SyncPacket {
            packet: bytes,
            start: true,
            frame_number: number,
        }))
    }

    /// Ends an unfinished frame (a new FS arrived first).
    fn abandon(&mut self) {
        if let Some(old) = self.frame.take() {
            self.events.push(Event::FrameAbandoned {
                frame_counter: old.fc,
            });
            let mut failed = false;
            for s in old.scopes.iter().flatten() {
                self.events.push(Event::ScopeFailed(failure(old.fc, s)));
                failed = true;
            }
            if failed {
                self.security.record(&SecurityError::AuthFailed);
            }
            self.finished = Some(old);
        }
    }

    fn handle_header<'p>(
        &mut self,
        h: &FrameHeader,
        payload: &[u8],
    ) -> Result<Delivery<'p>, FsedError> {
        // Taken on every path: a frame header that fails leaves the frame unable to start.
        let Some(number) = self.awaiting_header.take() else {
            if let Some(f) = self.frame.as_ref().or(self.finished.as_ref())
                && h.frame_counter <= f.fc
            {
                return Err(FsedError::Security(SecurityError::Replay {
                    pn: PacketNumber::new(h.frame_counter, 0).get(),
                    last: PacketNumber::new(f.fc, 0).get(),
                }));
            }
            return Err(FsedError::UnexpectedPacket);
        };
        if h.frame_number != number {
            return Err(FsedError::UnexpectedPacket);
        }
        let config = h.config;
        let fc = h.frame_counter;
        let pending = self.replay.check(PacketNumber::new(fc, 0))?;
        self.policy.check(&config).map_err(SecurityError::from)?;
        let entry = self.keys.get_mut(config.key_id)?;
        check_frame(&config, &entry.material)?;
        let _ = entry.usage.record_frame(fc)?;
        let keys = FrameKeys::expand(&config, &entry.material)?;
        let mut header = [0u8; FRAME_HEADER_LEN];
        header.copy_from_slice(payload.get(..FRAME_HEADER_LEN).ok_or(FsedError::Internal)?);
        self.frame = Some(RxFrame {
            fc,
            frame_number: number,
            config,
            params: StreamParams {
                profile: self.settings.profile,
                direction: self.settings.direction,
                vc: self.settings.vc.get(),
                key_id: config.key_id,
            },
            keys,
            header,
            tracker: BlockTracker::new(),
            scopes: [None, None, None, None],
            next_index: 1,
            records: 0,
            authenticated: false,
            sealed: false,
            clean: true,
        });
        if !any_protected(&config) {
            // Nothing to verify: the policy allowed an all-SV-5 frame.
            self.replay.commit(pending);
            self.authenticate()?;
        }
        Ok(Delivery::FrameHeader { frame_counter: fc })
    }

    /// The frame header is authentic: move the frame-level state.
    fn authenticate(&mut self) -> Result<(), FsedError> {
        let frame = self.frame.as_mut().ok_or(FsedError::Internal)?;
        if frame.authenticated {
            return Ok(());
        }
        frame.authenticated = true;
        let (fc, config) = (frame.fc, frame.config);
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
        if let Err(e) = self.continuity.observe(fc) {
            self.fusa.record(&e);
            self.events.push(Event::Fusa(e));
        }
        Ok(())
    }

    /// Fails the scopes still open (their records never came).
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

    fn handle_fe<'p>(&mut self, bytes: &'p [u8], number: u16) -> Result<Delivery<'p>, FsedError> {
        match self.frame.as_ref() {
            Some(f) if f.frame_number == number && self.awaiting_header.is_none() => {}
            _ => return Err(FsedError::UnexpectedPacket),
        }
        self.fail_open_scopes();
        let mut frame = self.frame.take().ok_or(FsedError::Internal)?;
        if any_protected(&frame.config) && !frame.sealed {
            frame.clean = false;
            self.security.record(&SecurityError::AuthFailed);
            self.events.push(Event::ScopeFailed(ScopeFailure {
                scope: ScopeId {
                    frame_counter: frame.fc,
                    block: Block::Bottom,
                    kind: ScopeKind::Frame,
                },
                first_index: frame.next_index,
            }));
        }
        self.events.push(Event::FrameComplete {
            frame_counter: frame.fc,
            messages: frame.next_index.saturating_add(1),
            clean: frame.clean,
        });
        self.finished = Some(frame);
        Ok(Delivery::Sync(SyncPacket {
            packet: bytes,
            start: false,
            frame_number: number,
        }))
    }

    fn handle_data<'p>(
        &mut self,
        bytes: &'p [u8],
        repr: &csi2::Repr,
        payload: &[u8],
    ) -> Result<Delivery<'p>, FsedError> {
        let Some(frame) = self.frame.as_ref() else {
            return Err(FsedError::UnexpectedPacket);
        };
        if frame.sealed || self.awaiting_header.is_some() {
            return Err(FsedError::UnexpectedPacket);
        }
        let block = frame.tracker.classify(repr.data_type)?;
        if block != frame.tracker.block() {
            self.fail_open_scopes();
        }
        let frame = self.frame.as_mut().ok_or(FsedError::Internal)?;
        let cfg = *frame.config.block(block);
        let kind = ScopeKind::for_mode(cfg.tag_mode, repr.data_type.0);
        let slot = if protected(&cfg) {
            match find_scope(&frame.scopes, block, kind) {
                Some(i) => Some(i),
                None => Some(
                    frame
                        .scopes
                        .iter()
                        .position(Option::is_none)
                        .ok_or(FsedError::TooManyScopes)?,
                ),
            }
        } else {
            None
        };
        let line = frame.tracker.advance(block, repr.data_type.is_long());
        let idx = frame.next_index;
        frame.next_index = idx.wrapping_add(1);
        let info = PacketInfo {
            frame_counter: frame.fc,
            message_index: idx,
            block,
            sv: cfg.sv,
            data_type: repr.data_type,
            word_count: repr.word_count,
        };
        let Some(i) = slot else {
            return Ok(Delivery::Unprotected(Unprotected {
                packet: bytes,
                info,
            }));
        };
        if frame.scopes[i].is_none() {
            let entry = self.keys.get(frame.config.key_id)?;
            let mac = frame.params.open_scope(
                frame.keys.get(block)?,
                entry.material.salt(),
                &cfg,
                block,
                kind,
                frame.fc,
                &frame.header,
            )?;
            frame.scopes[i] = Some(Scope {
                block,
                kind,
                mac,
                packets: 0,
                bytes: 0,
                first_index: idx,
            });
        }
        let scope = frame.scopes[i].as_mut().ok_or(FsedError::Internal)?;
        scope.absorb(
            &cfg,
            idx,
            self.settings.vc.get(),
            repr.data_type,
            repr.word_count,
            payload,
            line,
        );
        self.proto.unverified += 1;
        Ok(Delivery::Unverified(Unverified {
            packet: bytes,
            info,
            scope: ScopeId {
                frame_counter: frame.fc,
                block,
                kind,
            },
            encrypted: cfg.sv.encrypts(),
        }))
    }

    fn handle_record<'p>(
        &mut self,
        r: &TagRecord,
        p: &wire::Packet<&[u8]>,
    ) -> Result<Delivery<'p>, FsedError> {
        let Some(frame) = self.frame.as_mut() else {
            if let Some(f) = self.finished.as_ref()
                && r.frame_counter <= f.fc
            {
                return Err(FsedError::Security(SecurityError::Replay {
                    pn: PacketNumber::new(r.frame_counter, 1).get(),
                    last: PacketNumber::new(f.fc, 1).get(),
                }));
            }
            return Err(FsedError::UnexpectedPacket);
        };
        if r.frame_counter < frame.fc {
            return Err(FsedError::Security(SecurityError::Replay {
                pn: PacketNumber::new(r.frame_counter, 1).get(),
                last: PacketNumber::new(frame.fc, 1).get(),
            }));
        }
        if r.frame_counter != frame.fc || r.key_id != frame.config.key_id || frame.sealed {
            return Err(FsedError::UnexpectedPacket);
        }
        let fc = frame.fc;
        // The scope it closes: an open one, or the frame seal.
        let (scope, cfg, key_block) = match find_scope(&frame.scopes, r.block, r.scope) {
            Some(i) => {
                let s = frame.scopes[i].take().ok_or(FsedError::Internal)?;
                (s, *frame.config.block(r.block), r.block)
            }
            None => {
                let seal = (seal_config(&frame.config), seal_key_block(&frame.config));
                let (Some(cfg), Some(kb)) = seal else {
                    return Err(FsedError::UnexpectedPacket);
                };
                if !(r.block == Block::Bottom && r.scope == ScopeKind::Frame && r.last) {
                    return Err(FsedError::UnexpectedPacket);
                }
                let entry = self.keys.get(frame.config.key_id)?;
                let mac = frame.params.open_scope(
                    frame.keys.get(kb)?,
                    entry.material.salt(),
                    &cfg,
                    Block::Bottom,
                    ScopeKind::Frame,
                    fc,
                    &frame.header,
                )?;
                let s = Scope {
                    block: Block::Bottom,
                    kind: ScopeKind::Frame,
                    mac,
                    packets: 0,
                    bytes: 0,
                    first_index: frame.next_index,
                };
                (s, cfg, kb)
            }
        };
        let _ = key_block;
        let fail = failure(fc, &scope);
        let record_index = frame.records;
        frame.records = frame.records.wrapping_add(1);
        let end_index = frame.next_index;
        let entry = self.keys.get_mut(frame.config.key_id)?;
        let _ = entry.usage.record(PacketNumber::scope(fc))?;
        let fields_ok = r.tag_len == cfg.tag_len
            && r.covered_packets == scope.packets
            && r.covered_bytes == scope.bytes
            && r.first_index == scope.first_index
            && r.end_index == end_index
            && r.record_index == record_index;
        let mut mac = scope.mac;
        let wc = u16::try_from(p.as_ref().len()).map_err(|_| FsedError::Internal)?;
        mac.update(&covered_prefix(
            self.settings.vc.get(),
            self.settings.profile.dt_fsed.0,
            wc,
        ));
        mac.update(
            p.authenticated_fields()
                .get(..RECORD_FIXED_LEN)
                .unwrap_or_default(),
        );
        let tag_ok = mac.verify(p.tag(), cfg.tag_len).is_ok();
        let pending = self
            .replay
            .check(PacketNumber::new(fc, 1 + u32::from(record_index)));
        if !(tag_ok && fields_ok) {
            frame.clean = false;
            return Err(FsedError::ScopeFailed(fail));
        }
        let pending = pending?;
        self.replay.commit(pending);
        if r.last {
            frame.sealed = true;
            // Scopes of the block still open cannot be closed any more.
            self.fail_open_scopes();
        }
        self.authenticate()?;
        self.proto.scopes_verified += 1;
        Ok(Delivery::ScopeVerified(ScopeProof {
            scope: fail.scope,
            first_index: fail.first_index,
            end_index,
            packets: scope.packets,
        }))
    }

    /// Decrypts, in place, an SV-1 packet released as [`Unverified`] (a copy of
    /// [`Unverified::unverified_packet`]) once `proof` shows its scope verified, and rewrites
    /// its CRC-16 (and corrects a single-bit header error the ECC found): the buffer then
    /// holds the original packet.
    ///
    /// Works until the second FS after the frame (the frame's keys are kept until then).
    ///
    /// # Errors
    /// [`FsedError::ProofMismatch`] when the proof does not cover the ticket, the block is not
    /// SV-1, or the frame is gone; [`FsedError::Framing`] / [`FsedError::Fusa`] when `packet`
    /// is not the packet the ticket describes (its CRC-16 is checked first).
    pub fn decrypt(
        &self,
        proof: &ScopeProof,
        ticket: &DecryptTicket,
        packet: &mut [u8],
    ) -> Result<(), FsedError> {
        if proof.scope != ticket.scope || !proof.indices().contains(&ticket.message_index) {
            return Err(FsedError::ProofMismatch);
        }
        let frame = [self.frame.as_ref(), self.finished.as_ref()]
            .into_iter()
            .flatten()
            .find(|f| f.fc == proof.scope.frame_counter)
            .ok_or(FsedError::ProofMismatch)?;
        let cfg: &BlockConfig = frame.config.block(ticket.scope.block);
        if !cfg.sv.encrypts() {
            return Err(FsedError::ProofMismatch);
        }
        let mut view = csi2::Packet::new_checked(&mut *packet)?;
        // The packet was released as received: correct a single-bit header error first (an
        // uncorrectable header then fails the comparisons below).
        let _ = view.correct_ecc(self.settings.form);
        if view.data_type() != ticket.data_type
            || view.word_count() != ticket.word_count
            || view.total_len() != view.as_ref().len()
        {
            return Err(FsedError::ProofMismatch);
        }
        if ticket.data_type.is_short() {
            return Ok(());
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
