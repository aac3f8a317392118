//! The receiver agent: the mixed stream (original packets and FSED packets of one virtual
//! channel) in, packets with their verification state and events out.
//!
//! # Release rule
//!
//! FSED tags close frame-sized scopes, and a `no_std` receiver cannot hold a frame. Original
//! packets of protected blocks are therefore released at once as [`Unverified`]: their bytes
//! are reachable only through [`Unverified::unverified_packet`], and they become usable when a
//! [`Delivery::ScopeVerified`] whose [`ScopeProof`] covers them arrives, and must be discarded
//! on [`Event::ScopeFailed`] for their scope. An [`FsedError::ScopeFailed`] error only says
//! that one tag record did not verify: the scope stays open, and a genuine record may still
//! verify it (an injected record cannot end a scope). SV-1 payloads stay
//! ciphertext until [`Receiver::decrypt`] is given the proof: there is no way to decrypt
//! before the scope verified.

use cse_core::context::covered_prefix;
use cse_core::csi2::{self, DataType};
use cse_core::fusa::{FusaStats, SecurityStats};
use cse_core::keys::Salt;
use cse_core::nonce::PacketNumber;
use cse_core::rx::{CommitPlan, EventSink, FrameStartPlan, Invocation, ReceiverId, RxCore};
use cse_core::{
    Block, BlockConfig, ConfigError, FrameConfig, KeyId, Policy, ScopeKind, SecurityError,
    SecurityVariant,
};

/// The shared receiver vocabulary. A scope failure of the frame seal (`Bottom`, `Frame`) means
/// a frame with a protected block ended without a verified last record (a scope at the end of
/// the frame was removed).
pub use cse_core::rx::{EVENT_QUEUE_LEN, Event, ScopeFailure, ScopeId};

use crate::agent::{
    BlockTracker, FrameKeys, KeyMaterial, MAX_OPEN_SCOPES, Scope, Settings, StreamParams,
    any_protected, find_scope, protected, seal_config, seal_key_block,
};
use crate::error::FsedError;
use crate::wire::{self, FRAME_HEADER_LEN, FrameHeader, RECORD_FIXED_LEN, TagRecord};

#[cfg(feature = "bytes")]
#[cfg_attr(docsrs, doc(cfg(feature = "bytes")))]
pub mod hold;

/// How many FS numbers the receiver remembers while it waits for a frame header (an injected
/// FS cannot push the genuine one out unless the attacker sends this many).
const PENDING_FS: usize = 4;

/// Proof that a scope's tag verified, needed to decrypt SV-1 packets released as
/// [`Unverified`] ([`Receiver::decrypt`]). Only the receiver creates it.
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

    /// Message indices the scope spans: `first..end`. Every [`Unverified`] packet of this
    /// scope ([`Unverified::scope`]) with an index in this range is now verified.
    pub fn indices(&self) -> core::ops::Range<u32> {
        self.first_index..self.end_index
    }

    /// Number of packets covered.
    pub fn packets(&self) -> u32 {
        self.packets
    }

    /// Whether `u` is one of the packets this proof verifies (released by the same receiver).
    pub fn covers(&self, u: &Unverified<'_>) -> bool {
        u.receiver == self.receiver
            && u.scope == self.scope
            && self.indices().contains(&u.info.message_index)
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
    receiver: ReceiverId,
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
    /// The slot of [`Receiver::frame_keys`] holding this frame's keys (`None`: every block
    /// SV-5).
    keys: Option<usize>,
    /// The salt of the material the keys were expanded from (zero when every block is
    /// SV-5): [`Receiver::decrypt`] pairs the frame's keys with it, never with the material
    /// its key id names later (the id may be installed again, e.g. during the frame).
    salt: Salt,
    header: [u8; FRAME_HEADER_LEN],
    tracker: BlockTracker,
    scopes: [Option<Scope>; MAX_OPEN_SCOPES],
    next_index: u32,
    records: u8,
    /// The key's frame-limit status, reported when the frame authenticates.
    status: cse_core::keys::UsageStatus,
    authenticated: bool,
    sealed: bool,
    clean: bool,
}

/// The keys of `frame`, from the receiver's key slots.
fn keys_of<'a>(slots: &'a [FrameKeys; 2], frame: &RxFrame) -> Result<&'a FrameKeys, FsedError> {
    frame
        .keys
        .and_then(|i| slots.get(i))
        .ok_or(FsedError::Internal)
}

/// MAC input of a scope (context block, frame header packet, every absorbed packet, the
/// record): what SP 800-38D Appendix C bounds.
fn scope_mac_len(packets: u32, bytes: u32) -> u64 {
    let fixed = 32 + 4 + FRAME_HEADER_LEN as u64 + 4 + RECORD_FIXED_LEN as u64;
    fixed + 8 * u64::from(packets) + u64::from(bytes)
}

/// The FSED receiver of one stream (direction and virtual channel). Sans-IO.
///
/// Feed it every packet of its virtual channel in order ([`Receiver::receive`]). Checks: CSI-2
/// framing (ECC, CRC-16), then for FSED packets the layout and CRC-32, the frame header against
/// the policy, the key and the replay state, each tag record against its scope (tag, covered
/// packet and byte counts, first index, record index). Every check and tag verification runs
/// before anything moves (check, verify, commit: [`cse_core::rx`]); the replay state, the key
/// activation, the key usage and the continuity monitor move only when a tag record verifies.
///
/// FS and FE are original CSI-2 packets, unauthenticated by design (legacy receivers must see
/// them unchanged), and the frame header is authenticated only by the frame's first verified
/// record. So an injected FS, frame header or FE can end the frame in progress early: its
/// packets are then reported failed ([`Event::ScopeFailed`]), never released as verified, and
/// nothing a later genuine frame depends on moves.
pub struct Receiver {
    settings: Settings,
    core: RxCore,
    /// FS numbers seen since the last frame header or FE (most recent last).
    pending_fs: [Option<u16>; PENDING_FS],
    frame: Option<RxFrame>,
    finished: Option<RxFrame>,
    /// The expanded keys of the frame in progress and of the finished one (each names its
    /// slot), re-expanded in place at a frame header (a few hundred bytes per key: not built
    /// on the stack and moved with the frame). A slot keeps its keys until the next frame
    /// header reuses it or [`Receiver::clear_keys`].
    frame_keys: [FrameKeys; 2],
    /// What each slot of `frame_keys` was expanded for (key id and frame configuration), while
    /// no key was installed, retired or cleared since: a frame header with the same key id and
    /// configuration finds its keys already expanded in the slot. Reset by every key change.
    slot_tags: [Option<(KeyId, FrameConfig)>; 2],
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

impl Receiver {
    /// A receiver enforcing `policy`, reporting a timeout after `timeout_interval` ticks
    /// without an accepted packet (see [`Receiver::poll_event`]).
    pub fn new(settings: Settings, policy: Policy, timeout_interval: u64) -> Self {
        Receiver {
            settings,
            core: RxCore::new(settings.vc, settings.profile, policy, timeout_interval),
            pending_fs: [None; PENDING_FS],
            frame: None,
            finished: None,
            frame_keys: [FrameKeys::empty(), FrameKeys::empty()],
            slot_tags: [None, None],
            proto: ProtocolStats::default(),
        }
    }

    /// Installs key material under `id` (the idle slot; the receiver activates a key id when a
    /// frame naming it authenticates).
    ///
    /// # Errors
    /// [`FsedError::Config`] when `id` is the active key or the minimum tag length has no
    /// usage limit under the profile.
    pub fn install_key(&mut self, id: KeyId, material: KeyMaterial) -> Result<(), FsedError> {
        self.core.install_key(id, material)?;
        // The id may name new material now: no slot's expansion can be reused for it.
        self.slot_tags = [None, None];
        Ok(())
    }

    /// Drops the previous key generation.
    pub fn retire_key(&mut self) -> Option<KeyId> {
        self.slot_tags = [None, None];
        self.core.retire_key()
    }

    /// Drops every key and the frame state built on them (the session that made the keys
    /// ended). Nothing verifies until a key of the next session is installed.
    pub fn clear_keys(&mut self) {
        self.frame = None;
        self.finished = None;
        // Dropped, so zeroized.
        self.frame_keys = [FrameKeys::empty(), FrameKeys::empty()];
        self.slot_tags = [None, None];
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

    /// Processes one packet of the stream (exactly one CSI-2 packet: header with ECC, payload
    /// and CRC-16 of a long packet) received at `now`.
    ///
    /// # Errors
    /// The packet is rejected and must not be used: see [`FsedError`]. The receiver is then
    /// exactly as it was, apart from the rejection counters. A tag record that fails is
    /// [`FsedError::ScopeFailed`]; its scope stays open (a genuine record can still verify
    /// it) and is reported as [`Event::ScopeFailed`] if the frame ends first.
    pub fn receive<'p>(&mut self, packet: &'p [u8], now: u64) -> Result<Delivery<'p>, FsedError> {
        let r = self.receive_inner(packet, now);
        if let Err(e) = &r {
            match e {
                FsedError::Security(s) => self.core.reject_security(s),
                FsedError::Fusa(f) => self.core.reject_fusa(f),
                FsedError::ScopeFailed(_) => {
                    self.core.reject_security(&SecurityError::AuthFailed);
                }
                FsedError::Wire(_) | FsedError::Framing(_) => self.proto.malformed += 1,
                _ => self.proto.unexpected += 1,
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
        let payload = view.payload();
        if repr.data_type == profile.dt_fsed {
            let p = wire::Packet::new_checked(payload)?;
            p.verify_crc(&profile)?;
            return match wire::Repr::parse(&p, &profile)? {
                wire::Repr::FrameHeader(h) => self.handle_header(&h, payload, now),
                wire::Repr::TagRecord(r) => self.handle_record(&r, &p, now),
            };
        }
        if repr.data_type == DataType::FS {
            return self.handle_fs(bytes, repr.word_count);
        }
        if repr.data_type == DataType::FE {
            return self.handle_fe(bytes, repr.word_count, now);
        }
        self.handle_data(bytes, &repr, payload, now)
    }

    /// FS: remembered until a frame header names it. Nothing else moves: the frame in progress
    /// goes on until an accepted frame header replaces it. A repeat of a remembered FS is
    /// refused (a duplicate).
    fn handle_fs<'p>(&mut self, bytes: &'p [u8], number: u16) -> Result<Delivery<'p>, FsedError> {
        if self.pending_fs.contains(&Some(number)) {
            return Err(FsedError::UnexpectedPacket);
        }
        self.pending_fs.rotate_left(1);
        if let Some(last) = self.pending_fs.last_mut() {
            *last = Some(number);
        }
        Ok(Delivery::Sync(SyncPacket {
            packet: bytes,
            start: true,
            frame_number: number,
        }))
    }

    /// The events that end `old` unfinished (it is replaced).
    fn abandon_events(old: Option<&RxFrame>, ev: &mut EventSink<'_>) {
        if let Some(old) = old {
            ev.push(Event::FrameAbandoned {
                frame_counter: old.fc,
            });
            for s in old.scopes.iter().flatten() {
                ev.push(Event::ScopeFailed(failure(old.fc, s)));
            }
        }
    }

    /// The checks of a frame header. Its last step, once nothing else can fail, expands the
    /// frame's keys into the slot that the frame which is the finished one after the commit
    /// does not use (the caller commits unconditionally after it, so the frame in progress is
    /// then gone unless it became the finished one).
    fn check_header(&mut self, h: &FrameHeader, payload: &[u8]) -> Result<RxFrame, FsedError> {
        let fc = h.frame_counter;
        let last_verified = self
            .frame
            .as_ref()
            .filter(|f| f.authenticated)
            .map(|f| f.fc);
        if !self.pending_fs.contains(&Some(h.frame_number)) {
            if let Err(e) = self.core.check_replay(PacketNumber::new(fc, 0)) {
                return Err(FsedError::Security(e));
            }
            return Err(FsedError::UnexpectedPacket);
        }
        drop(self.core.check_replay(PacketNumber::new(fc, 0))?);
        if let Some(last) = last_verified
            && fc <= last
        {
            return Err(FsedError::Security(SecurityError::Replay {
                pn: PacketNumber::new(fc, 0).get(),
                last: PacketNumber::new(last, 0).get(),
            }));
        }
        let config = h.config;
        let mut header = [0u8; FRAME_HEADER_LEN];
        header.copy_from_slice(payload.get(..FRAME_HEADER_LEN).ok_or(FsedError::Internal)?);
        // The new frame replaces the frame in progress, which becomes the finished frame if
        // it authenticated; otherwise (no frame in progress, or one that never authenticated:
        // forged headers) the finished frame stays. So the free slot is the other one than the
        // slot of the frame that will be the finished one: injected headers must not expand
        // their keys over the keys the finished frame still decrypts with.
        let used = match &self.frame {
            Some(f) if f.authenticated => f.keys,
            _ => self.finished.as_ref().and_then(|f| f.keys),
        };
        let slot = if used == Some(0) { 1 } else { 0 };
        let mut salt = Salt::new([0; 12]);
        let (status, keys) = if any_protected(&config) {
            let (entry, status) = self.core.check_frame_start::<FsedError>(&config, fc)?;
            salt = Salt::new(*entry.material.salt().as_bytes());
            let tag = self.slot_tags.get_mut(slot).ok_or(FsedError::Internal)?;
            if *tag != Some((config.key_id, config)) {
                // Last fallible step (on an error the slot and its tag are unchanged).
                self.frame_keys
                    .get_mut(slot)
                    .ok_or(FsedError::Internal)?
                    .expand_into(&config, &entry.material)?;
                if let Some(t) = self.slot_tags.get_mut(slot) {
                    *t = Some((config.key_id, config));
                }
            }
            (status, Some(slot))
        } else {
            self.core
                .policy()
                .check(&config)
                .map_err(SecurityError::from)?;
            (cse_core::keys::UsageStatus::Ok, None)
        };
        Ok(RxFrame {
            fc,
            frame_number: h.frame_number,
            config,
            params: StreamParams {
                profile: self.settings.profile,
                direction: self.settings.direction,
                vc: self.settings.vc.get(),
                key_id: config.key_id,
            },
            keys,
            salt,
            header,
            tracker: BlockTracker::new(),
            scopes: [None, None, None, None],
            next_index: 1,
            records: 0,
            status,
            authenticated: false,
            sealed: false,
            clean: true,
        })
    }

    fn handle_header<'p>(
        &mut self,
        h: &FrameHeader,
        payload: &[u8],
        now: u64,
    ) -> Result<Delivery<'p>, FsedError> {
        let frame = self.check_header(h, payload)?;
        // Commit: the frame is taken in, unauthenticated; the frame-level state moves when its
        // first record verifies (or at once when every block is SV-5 and the policy allows it:
        // then nothing can authenticate it and only the FuSa continuity monitor sees it).
        let mut plan = CommitPlan::new();
        if !any_protected(&frame.config) {
            // Not `authenticated`: a later genuine header must still be able to replace it.
            plan.frame_start(FrameStartPlan {
                frame_counter: frame.fc,
                config: frame.config,
                status: frame.status,
                count_messages: false,
                authenticated: false,
            });
        }
        let old = self.frame.as_ref();
        self.core
            .commit_with(plan, now, |ev| Self::abandon_events(old, ev), |_| {});
        self.pending_fs = [None; PENDING_FS];
        let fc = frame.fc;
        if let Some(old) = self.frame.replace(frame) {
            self.finish(old);
        }
        Ok(Delivery::FrameHeader { frame_counter: fc })
    }

    /// Keeps an ended frame as the finished one (its keys stay for [`Receiver::decrypt`]) if
    /// it authenticated; a frame that never did (forged, or all SV-5) ends without replacing
    /// the finished frame, so keyless packets cannot end the decryption of an authenticated one.
    fn finish(&mut self, frame: RxFrame) {
        if frame.authenticated {
            self.finished = Some(frame);
        }
    }

    fn handle_fe<'p>(
        &mut self,
        bytes: &'p [u8],
        number: u16,
        now: u64,
    ) -> Result<Delivery<'p>, FsedError> {
        let frame = match self.frame.as_ref() {
            Some(f) if f.frame_number == number => f,
            _ => return Err(FsedError::UnexpectedPacket),
        };
        let failed = frame.scopes.iter().any(Option::is_some);
        let unsealed = any_protected(&frame.config) && !frame.sealed;
        let clean = frame.clean && !failed && !unsealed;
        self.core.commit_with(
            CommitPlan::new(),
            now,
            |ev| {
                for s in frame.scopes.iter().flatten() {
                    ev.push(Event::ScopeFailed(failure(frame.fc, s)));
                }
                if unsealed {
                    ev.push(Event::ScopeFailed(ScopeFailure {
                        scope: ScopeId {
                            frame_counter: frame.fc,
                            block: Block::Bottom,
                            kind: ScopeKind::Frame,
                        },
                        first_index: frame.next_index,
                    }));
                }
            },
            |ev| {
                ev.push(Event::FrameComplete {
                    frame_counter: frame.fc,
                    messages: frame.next_index.saturating_add(1),
                    clean,
                });
            },
        );
        if failed || unsealed {
            self.core.reject_security(&SecurityError::AuthFailed);
        }
        self.pending_fs = [None; PENDING_FS];
        if let Some(mut frame) = self.frame.take() {
            frame.scopes = [None, None, None, None];
            frame.clean = clean;
            self.finish(frame);
        }
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
        now: u64,
    ) -> Result<Delivery<'p>, FsedError> {
        // Check.
        let Some(frame) = self.frame.as_ref() else {
            return Err(FsedError::UnexpectedPacket);
        };
        if frame.sealed {
            return Err(FsedError::UnexpectedPacket);
        }
        let block = frame.tracker.classify(repr.data_type)?;
        let block_change = block != frame.tracker.block();
        let cfg = *frame.config.block(block);
        let kind = ScopeKind::for_mode(cfg.tag_mode, repr.data_type.0);
        let idx = frame.next_index;
        let next_index = idx.checked_add(1).ok_or(FsedError::UnexpectedPacket)?;
        let mut tracker = frame.tracker;
        let line = tracker.advance(block, repr.data_type.is_long());
        let slot = if protected(&cfg) {
            let found = if block_change {
                None
            } else {
                find_scope(&frame.scopes, block, kind)
            };
            let i = match found {
                Some(i) => i,
                None if block_change => 0,
                None => frame
                    .scopes
                    .iter()
                    .position(Option::is_none)
                    .ok_or(FsedError::TooManyScopes)?,
            };
            let (packets, covered) = found
                .and_then(|i| frame.scopes[i].as_ref())
                .map_or((0, 0), |s| (s.packets, s.bytes));
            let add = payload
                .get(cfg.sv.covered_payload(line, payload.len()))
                .map_or(0, <[u8]>::len);
            let add = u32::try_from(add).unwrap_or(u32::MAX);
            let len = scope_mac_len(packets.saturating_add(1), covered.saturating_add(add));
            let max = self.core.max_mac_input(frame.config.key_id)?;
            if len > max {
                return Err(FsedError::Security(SecurityError::LimitExceeded {
                    len,
                    max,
                }));
            }
            let opened = if found.is_none() {
                let entry = self.core.key(frame.config.key_id)?;
                Some(Scope {
                    block,
                    key_block: block,
                    kind,
                    mac: frame.params.open_scope(
                        keys_of(&self.frame_keys, frame)?.get(block)?,
                        entry.material.salt(),
                        &cfg,
                        block,
                        kind,
                        frame.fc,
                        &frame.header,
                    )?,
                    packets: 0,
                    bytes: 0,
                    first_index: idx,
                })
            } else {
                None
            };
            Some((i, opened))
        } else {
            None
        };
        // Commit (nothing to verify: the scope's record will).
        if block_change {
            let fc = frame.fc;
            let scopes = &frame.scopes;
            self.core.commit_with(
                CommitPlan::new(),
                now,
                |ev| {
                    for s in scopes.iter().flatten() {
                        ev.push(Event::ScopeFailed(failure(fc, s)));
                    }
                },
                |_| {},
            );
        } else {
            // The common case moves no core state but the timeout monitor.
            self.core.accept(now);
        }
        let frame = self.frame.as_mut().ok_or(FsedError::Internal)?;
        if block_change && frame.scopes.iter().any(Option::is_some) {
            frame.scopes = [None, None, None, None];
            frame.clean = false;
            self.core.reject_security(&SecurityError::AuthFailed);
        }
        frame.tracker = tracker;
        frame.next_index = next_index;
        let info = PacketInfo {
            frame_counter: frame.fc,
            message_index: idx,
            block,
            sv: cfg.sv,
            data_type: repr.data_type,
            word_count: repr.word_count,
        };
        let Some((i, opened)) = slot else {
            return Ok(Delivery::Unprotected(Unprotected {
                packet: bytes,
                info,
            }));
        };
        if let Some(s) = opened
            && let Some(dst) = frame.scopes.get_mut(i)
        {
            *dst = Some(s);
        }
        let slots = &self.frame_keys;
        let frame_slot = frame.keys;
        let scope = frame
            .scopes
            .get_mut(i)
            .and_then(Option::as_mut)
            .ok_or(FsedError::Internal)?;
        let key = frame_slot
            .and_then(|k| slots.get(k))
            .ok_or(FsedError::Internal)?
            .get(scope.key_block)?;
        scope.absorb(
            key,
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
            receiver: self.core.id(),
        }))
    }

    fn handle_record<'p>(
        &mut self,
        r: &TagRecord,
        p: &wire::Packet<&[u8]>,
        now: u64,
    ) -> Result<Delivery<'p>, FsedError> {
        // Check.
        let Some(frame) = self.frame.as_ref() else {
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
        let key_id = frame.config.key_id;
        // The scope it closes: an open one, or the frame seal.
        let open = find_scope(&frame.scopes, r.block, r.scope);
        let seal;
        let (scope, cfg) = match open {
            Some(i) => (
                frame.scopes[i].as_ref().ok_or(FsedError::Internal)?,
                *frame.config.block(r.block),
            ),
            None => {
                let (Some(cfg), Some(kb)) =
                    (seal_config(&frame.config), seal_key_block(&frame.config))
                else {
                    return Err(FsedError::UnexpectedPacket);
                };
                if !(r.block == Block::Bottom && r.scope == ScopeKind::Frame && r.last) {
                    return Err(FsedError::UnexpectedPacket);
                }
                let entry = self.core.key(key_id)?;
                seal = Scope {
                    block: Block::Bottom,
                    key_block: kb,
                    kind: ScopeKind::Frame,
                    mac: frame.params.open_scope(
                        keys_of(&self.frame_keys, frame)?.get(kb)?,
                        entry.material.salt(),
                        &cfg,
                        Block::Bottom,
                        ScopeKind::Frame,
                        fc,
                        &frame.header,
                    )?,
                    packets: 0,
                    bytes: 0,
                    first_index: frame.next_index,
                };
                (&seal, cfg)
            }
        };
        let fail = failure(fc, scope);
        // The record index is that of the next record the receiver expects, or a later one:
        // records before it whose tags failed (a scope with a tampered packet) or that never
        // came leave their scopes to fail, and do not take the records after them along. Its
        // packet number (`1 + index`) keeps the records of a frame in order.
        if r.record_index < frame.records || r.record_index == u8::MAX {
            return Err(FsedError::ScopeFailed(fail));
        }
        let record_index = r.record_index;
        let end_index = frame.next_index;
        let pending = self
            .core
            .check_replay(PacketNumber::new(fc, 1 + u32::from(record_index)))?;
        self.core
            .check_invocation(key_id, fc, scope_mac_len(scope.packets, scope.bytes))?;
        // Verify (the scope's MAC state is not consumed: a forged record leaves it open).
        let fields_ok = r.tag_len == cfg.tag_len
            && r.covered_packets == scope.packets
            && r.covered_bytes == scope.bytes
            && r.first_index == scope.first_index
            && r.end_index == end_index;
        let wc = u16::try_from(p.as_ref().len()).map_err(|_| FsedError::Internal)?;
        let pre = covered_prefix(self.settings.vc.get(), self.settings.profile.dt_fsed.0, wc);
        let fields = p
            .authenticated_fields()
            .get(..RECORD_FIXED_LEN)
            .unwrap_or_default();
        let tag_ok = scope
            .mac
            .verify_continued(
                keys_of(&self.frame_keys, frame)?.get(scope.key_block)?,
                &[&pre, fields],
                p.tag(),
                cfg.tag_len,
            )
            .is_ok();
        if !(tag_ok && fields_ok) {
            self.core.record_failed_mac(key_id);
            return Err(FsedError::ScopeFailed(fail));
        }
        let packets = scope.packets;
        // Commit.
        let mut plan = CommitPlan::new();
        plan.replay(pending);
        plan.invocation(Invocation {
            key_id,
            mac: cfg.suite.mac(),
        });
        if !frame.authenticated {
            plan.frame_start(FrameStartPlan {
                frame_counter: fc,
                config: frame.config,
                status: frame.status,
                count_messages: false,
                authenticated: true,
            });
        }
        // After the last record, scopes still open cannot be closed any more.
        let left_open = |j: usize, s: &Option<Scope>| s.is_some() && Some(j) != open;
        let failed = r.last
            && frame
                .scopes
                .iter()
                .enumerate()
                .any(|(j, s)| left_open(j, s));
        let last = r.last;
        self.core.commit_with(
            plan,
            now,
            |_| {},
            |ev| {
                if last {
                    for (j, s) in frame.scopes.iter().enumerate() {
                        if let Some(s) = s.as_ref().filter(|_| left_open(j, s)) {
                            ev.push(Event::ScopeFailed(failure(fc, s)));
                        }
                    }
                }
            },
        );
        if failed {
            self.core.reject_security(&SecurityError::AuthFailed);
        }
        let frame = self.frame.as_mut().ok_or(FsedError::Internal)?;
        if let Some(i) = open
            && let Some(s) = frame.scopes.get_mut(i)
        {
            *s = None;
        }
        frame.records = record_index.saturating_add(1);
        frame.authenticated = true;
        if r.last {
            frame.sealed = true;
            if failed {
                frame.clean = false;
            }
            frame.scopes = [None, None, None, None];
        }
        self.proto.scopes_verified += 1;
        Ok(Delivery::ScopeVerified(ScopeProof {
            receiver: self.core.id(),
            scope: fail.scope,
            first_index: fail.first_index,
            end_index,
            packets,
        }))
    }

    /// Decrypts, in place, an SV-1 packet released as [`Unverified`] (a copy of
    /// [`Unverified::unverified_packet`]) once `proof` shows its scope verified, and rewrites
    /// its CRC-16 (and corrects a single-bit header error the ECC found): the buffer then
    /// holds the original packet.
    ///
    /// Works until the next authenticated frame ends (its FE, or the frame header that replaces
    /// it): the receiver keeps the keys of the frame in progress and of the last finished
    /// frame that authenticated (a frame that never authenticated does not replace it).
    ///
    /// One pass over the payload where the engine allows it (VAES-512): the CRC-16 of the
    /// ciphertext, the keystream and the CRC-16 of the plaintext together
    /// ([`cse_core::crypto::SuiteKey::apply_keystream_crc16`]).
    ///
    /// # Errors
    /// [`FsedError::ProofMismatch`] when the proof or the ticket come from another receiver,
    /// the proof does not cover the ticket, the block is not SV-1, the frame is gone, or
    /// `packet` is not the packet the ticket was issued for (its data type, word count, virtual
    /// channel, length or CRC-16 footer differs from the released packet's: the bytes of
    /// another packet of the scope are refused, with the buffer untouched; a CRC-16 guards
    /// against mix-ups, not against bytes crafted to match it);
    /// [`FsedError::Framing`] / [`FsedError::Fusa`] when `packet` is not the packet the ticket
    /// describes (its CRC-16 does not match its ciphertext): the payload is then put back as
    /// it was given (only a single-bit header error the ECC found stays corrected), so no
    /// plaintext of another packet comes out.
    pub fn decrypt(
        &self,
        proof: &ScopeProof,
        ticket: &DecryptTicket,
        packet: &mut [u8],
    ) -> Result<(), FsedError> {
        let me = self.core.id();
        if proof.receiver != me
            || ticket.receiver != me
            || proof.scope != ticket.scope
            || !proof.indices().contains(&ticket.message_index)
        {
            return Err(FsedError::ProofMismatch);
        }
        let frame = [self.frame.as_ref(), self.finished.as_ref()]
            .into_iter()
            .flatten()
            .find(|f| f.fc == proof.scope.frame_counter && f.authenticated)
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
            || view.vc(self.settings.form) != self.settings.vc
        {
            return Err(FsedError::ProofMismatch);
        }
        if view.crc() != ticket.crc {
            // Corrupted bytes fail their own CRC-16 (as when the footer matches); intact bytes
            // of another packet are refused as not the ticket's.
            view.verify_crc()?;
            return Err(FsedError::ProofMismatch);
        }
        if ticket.data_type.is_short() {
            return Ok(());
        }
        let received = view.crc().ok_or(FsedError::Internal)?;
        let key = keys_of(&self.frame_keys, frame)?.get(ticket.scope.block)?;
        let pn = PacketNumber::new(frame.fc, ticket.message_index);
        let iv = frame
            .params
            .iv(&frame.salt, ticket.scope.block, ScopeKind::Message, pn)?;
        // One pass: the CRC-16 of the ciphertext (checked against the footer), the keystream
        // and the CRC-16 of the plaintext (written as the new footer).
        let (computed, plain) = key.apply_keystream_crc16(&iv, view.payload_mut())?;
        if computed != received {
            // Not the packet the ticket describes (or changed since): the keystream is its own
            // inverse, so this puts the ciphertext back and the buffer is as it was given.
            key.apply_keystream(&iv, view.payload_mut())?;
            return Err(csi2::Error::CrcMismatch { computed, received }.into());
        }
        view.set_crc(plain);
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
