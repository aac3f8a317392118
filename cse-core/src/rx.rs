//! The receiver core shared by `cse-sep` and `cse-fsed`: check, verify, commit.
//!
//! Every packet a receiver takes in goes through three steps:
//!
//! 1. **check**: parse, bound-check, and compute every state change the packet would make (the
//!    replay token, the frame start with its key activation, the key invocation to count,
//!    block/line/record indices, scope updates, events) as a plain value, a *plan*. The
//!    protocol crates write this step as methods taking `&self`, so the borrow checker proves
//!    that nothing moves while it runs;
//! 2. **verify**: compute and compare the tag (also `&self`; it writes only into the caller's
//!    output buffer, which is wiped on failure);
//! 3. **commit**: apply the plan in one infallible call ([`RxCore::commit`] for the state kept
//!    here, plus the protocol's own frame state).
//!
//! A packet that fails check or verify never reaches commit, so it leaves the receiver exactly
//! as it was except for the rejection counters ([`RxCore::reject_security`], [`RxCore::reject_fusa`],
//! [`RxCore::record_failed_mac`]): no key-usage counter, exhaustion flag, replay state, frame,
//! block, line or record index, scope, key activation, timeout monitor or event moves, and the
//! genuine packets that follow verify as if the forged one had never arrived.
//!
//! What the core owns for one stream: the policy, the two key slots with their usage counters,
//! the replay tracker, the FuSa monitors (frame-counter continuity, message counter, timeout),
//! the event queue and the statistics. What each protocol keeps: its frame state (blocks,
//! scopes, records) and the meaning of its packets.

use core::fmt;

use crate::agent::{AgentError, EventQueue, KeyEntry, KeyMaterial, check_frame};
use crate::csi2::VirtualChannel;
use crate::error::{ConfigError, FusaError, SecurityError};
use crate::fusa::{FrameContinuity, FusaStats, MessageCounter, SecurityStats, TimeoutMonitor};
use crate::keys::{KeySlots, UsageStatus};
use crate::model::{Block, FrameConfig, KeyId, MacAlgorithm, Policy, ScopeKind};
use crate::nonce::PacketNumber;
use crate::profile::Profile;
use crate::sequence::{Pending, ReplayTracker};

/// Capacity of a receiver's event queue.
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

/// A scope whose packets must be discarded: its tag failed or never came.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ScopeFailure {
    /// The scope.
    pub scope: ScopeId,
    /// Message index of its first packet.
    pub first_index: u32,
}

/// Identifies one receiver instance: scope proofs and decrypt tickets carry it, and a receiver
/// refuses those another instance issued.
///
/// Instances get consecutive numbers from a process-wide atomic counter (on targets without
/// 32-bit atomics every instance is number 0, and only the virtual channel and frame state
/// tell receivers apart).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ReceiverId(u32);

impl ReceiverId {
    /// A number no other receiver of this process has (until 2^32 receivers were made).
    pub fn fresh() -> Self {
        #[cfg(target_has_atomic = "32")]
        {
            use core::sync::atomic::{AtomicU32, Ordering};
            static NEXT: AtomicU32 = AtomicU32::new(1);
            ReceiverId(NEXT.fetch_add(1, Ordering::Relaxed))
        }
        #[cfg(not(target_has_atomic = "32"))]
        {
            ReceiverId(0)
        }
    }
}

/// A receiver event, drained with the receivers' `poll_event`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A frame started: its frame start authenticated and its configuration passed the policy.
    FrameStart {
        /// Frame counter.
        frame_counter: u32,
        /// The frame's configuration.
        config: FrameConfig,
    },
    /// The frame ended. `clean` is true when every packet the frame accepted verified, no scope
    /// failed and no message was lost. Rejected packets (forgeries, replays, junk) do not make
    /// a frame unclean: they never entered it, and they are counted in the statistics.
    FrameComplete {
        /// Frame counter.
        frame_counter: u32,
        /// Messages received in the frame. SEP: FS to FE, close records included, as the
        /// message counter accounts them ([`MessageCounter::received`]: the indices up to FE
        /// less those reported lost, so an injected SV-5 packet whose index a later
        /// authenticated one showed impossible does not count); FSED: original packets FS to
        /// FE.
        messages: u32,
        /// Whether the frame is complete and fully verified.
        clean: bool,
    },
    /// An authenticated frame start arrived before the end of this frame.
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
    /// A scope ended without a verified tag; discard its unverified packets.
    ScopeFailed(ScopeFailure),
    /// A functional-safety finding on an accepted packet (frame or message loss) or a timeout.
    Fusa(FusaError),
    /// The key passed its invocation soft limit: derive and install the next generation and
    /// have the sender switch to it. Reported once per key, before any hard limit.
    NeedsRekey {
        /// The key.
        key_id: KeyId,
    },
    /// The stream's frame counter passed its soft limit. Packet numbers belong to the stream,
    /// so a rekey does not help: restart the stream (new session, new transmitter and
    /// receiver) before the hard limit. Reported once per key.
    NeedsRestart {
        /// The key in use.
        key_id: KeyId,
        /// The frame counter that crossed the limit.
        frame_counter: u32,
    },
    /// Events were dropped because the queue was full (drain it after every packet).
    Overflow,
}

/// Where a plan's protocol events go at commit time: the receiver's event queue. Only
/// [`RxCore::commit_with`] hands one out, so events are queued only by a commit.
pub struct EventSink<'a> {
    queue: &'a mut EventQueue<Event, EVENT_QUEUE_LEN>,
    received: u64,
    lost: u64,
}

impl EventSink<'_> {
    /// The messages of the current frame the message counter accounts as received (see
    /// [`MessageCounter::received`]), this packet's plan applied.
    pub fn messages_received(&self) -> u64 {
        self.received
    }

    /// The messages of the current frame the message counter reported lost
    /// ([`MessageCounter::lost`]), this packet's plan applied.
    pub fn messages_lost(&self) -> u64 {
        self.lost
    }

    /// Queues `e` (an overflow is reported later as [`Event::Overflow`]).
    pub fn push(&mut self, e: Event) {
        self.queue.push(e);
    }
}

/// A frame start that authenticated: what committing it changes.
#[derive(Clone, Copy, Debug)]
pub struct FrameStartPlan {
    /// Frame counter.
    pub frame_counter: u32,
    /// The frame's configuration (its key id becomes the active key).
    pub config: FrameConfig,
    /// The key's frame-limit status for this frame.
    pub status: UsageStatus,
    /// Whether the protocol counts message indices with the message counter (SEP).
    pub count_messages: bool,
    /// Whether the frame's counter is authenticated. `false` only for frames with every
    /// block SV-5: nothing can authenticate them, so they move no replay state and activate
    /// no key; only the FuSa continuity monitor sees their counter, as an unauthenticated one
    /// that cannot move what authenticated frames are judged by (see [`FrameContinuity`]).
    pub authenticated: bool,
}

/// One key invocation (a tag that verified) to count.
#[derive(Clone, Copy, Debug)]
pub struct Invocation {
    /// The key.
    pub key_id: KeyId,
    /// The MAC algorithm it was used with (pins the key at its first use).
    pub mac: MacAlgorithm,
}

/// Every change of core state one packet makes, computed by the protocol's check step and
/// applied by [`RxCore::commit`]. Build it with [`CommitPlan::new`] and the setters. The
/// protocol's own events (the end of a frame, failed scopes) are queued by the closures given
/// to [`RxCore::commit_with`], which run inside the commit.
#[derive(Debug, Default)]
#[must_use = "a plan does nothing until committed"]
pub struct CommitPlan {
    replay: Option<Pending>,
    frame_start: Option<FrameStartPlan>,
    invocation: Option<Invocation>,
    /// The index, and whether it was authenticated.
    message_index: Option<(u32, bool)>,
    feed: bool,
}

impl CommitPlan {
    /// A plan that changes nothing but feeds the timeout monitor (the packet was accepted).
    pub fn new() -> Self {
        CommitPlan {
            feed: true,
            ..CommitPlan::default()
        }
    }

    /// Commits the replay token (the packet number verified).
    pub fn replay(&mut self, p: Pending) {
        self.replay = Some(p);
    }

    /// Starts a frame.
    pub fn frame_start(&mut self, f: FrameStartPlan) {
        self.frame_start = Some(f);
    }

    /// Counts one verified invocation of a key.
    pub fn invocation(&mut self, i: Invocation) {
        self.invocation = Some(i);
    }

    /// Observes the index of an authenticated message (its own tag or its close record
    /// verified) with the message counter (after the frame start, if any).
    pub fn message_index(&mut self, idx: u32) {
        self.message_index = Some((idx, true));
    }

    /// Observes the index of a message accepted without authentication (an SV-5 packet, a
    /// member of a scope still open): it cannot move what authenticated messages are judged
    /// by (see [`MessageCounter`]).
    pub fn unauthenticated_message_index(&mut self, idx: u32) {
        self.message_index = Some((idx, false));
    }
}

/// The state one stream's receiver keeps whatever the protocol (see the [module docs](self)).
pub struct RxCore {
    id: ReceiverId,
    vc: VirtualChannel,
    profile: Profile,
    policy: Policy,
    keys: KeySlots<KeyEntry>,
    replay: ReplayTracker,
    continuity: FrameContinuity,
    counter: MessageCounter,
    timeout: TimeoutMonitor,
    events: EventQueue<Event, EVENT_QUEUE_LEN>,
    fusa: FusaStats,
    security: SecurityStats,
}

impl fmt::Debug for RxCore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RxCore")
            .field("id", &self.id)
            .field("vc", &self.vc)
            .field("policy", &self.policy)
            .field("active_key", &self.keys.active_id())
            .finish_non_exhaustive()
    }
}

impl RxCore {
    /// The core of a receiver of virtual channel `vc` under `profile`, enforcing `policy`,
    /// reporting a timeout after `timeout_interval` ticks without an accepted packet.
    pub fn new(
        vc: VirtualChannel,
        profile: Profile,
        policy: Policy,
        timeout_interval: u64,
    ) -> Self {
        RxCore {
            id: ReceiverId::fresh(),
            vc,
            profile,
            policy,
            keys: KeySlots::new(),
            replay: ReplayTracker::new(),
            continuity: FrameContinuity::new(),
            counter: MessageCounter::new(),
            timeout: TimeoutMonitor::new(timeout_interval),
            events: EventQueue::new(),
            fusa: FusaStats::new(),
            security: SecurityStats::new(),
        }
    }

    /// This receiver's instance id.
    pub fn id(&self) -> ReceiverId {
        self.id
    }

    /// The virtual channel.
    pub fn vc(&self) -> VirtualChannel {
        self.vc
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Installs key material under `id` in the idle slot.
    ///
    /// # Errors
    /// [`ConfigError::KeyId`] when `id` is the active key; [`ConfigError::TagLen`] when the
    /// material's minimum tag length has no usage limit for its declared MAC input length.
    pub fn install_key(&mut self, id: KeyId, material: KeyMaterial) -> Result<(), ConfigError> {
        let entry = KeyEntry::new(material, &self.profile)?;
        self.keys
            .install(id, entry)
            .map_err(|_| ConfigError::KeyId(id.get()))
    }

    /// Drops the previous key generation.
    pub fn retire_key(&mut self) -> Option<KeyId> {
        self.keys.retire()
    }

    /// Drops every key (the session that made them ended); each is zeroized on drop. Nothing
    /// verifies until a key of the next session is installed.
    pub fn clear_keys(&mut self) {
        self.keys = KeySlots::new();
    }

    /// The key installed under `id`.
    ///
    /// # Errors
    /// [`SecurityError::UnknownKeyId`] when none is.
    pub fn key(&self, id: KeyId) -> Result<&KeyEntry, SecurityError> {
        self.keys.get(id)
    }

    /// The active key id (the one the last authenticated frame start named).
    pub fn active_key_id(&self) -> Option<KeyId> {
        self.keys.active_id()
    }

    /// FuSa statistics.
    pub fn fusa_stats(&self) -> &FusaStats {
        &self.fusa
    }

    /// Security statistics.
    pub fn security_stats(&self) -> &SecurityStats {
        &self.security
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

    /// Checks a frame start announcing `config` for frame `frame_counter`: the policy, the
    /// key (installed, usable for the configuration, not pinned to the other MAC algorithm,
    /// frame counter below its hard limit). Changes nothing; returns the key and its status.
    ///
    /// # Errors
    /// The first failure, as [`SecurityError`] or [`AgentError`].
    pub fn check_frame_start<E>(
        &self,
        config: &FrameConfig,
        frame_counter: u32,
    ) -> Result<(&KeyEntry, UsageStatus), E>
    where
        E: From<SecurityError> + From<AgentError>,
    {
        self.policy.check(config).map_err(SecurityError::from)?;
        let entry = self.keys.get(config.key_id)?;
        check_frame(config, &entry.material, |_| Ok::<(), E>(()))?;
        entry.check_pin(config)?;
        let status = entry.usage.check_frame(frame_counter)?;
        Ok((entry, status))
    }

    /// Checks a packet number against the replay state. Changes nothing.
    ///
    /// # Errors
    /// [`SecurityError::Replay`] at or below the last verified packet number.
    pub fn check_replay(&self, pn: PacketNumber) -> Result<Pending, SecurityError> {
        self.replay.check(pn)
    }

    /// Checks that key `id` may run one more MAC of `mac_input_len` bytes in frame
    /// `frame_counter`. Changes nothing.
    ///
    /// # Errors
    /// [`SecurityError::UnknownKeyId`], [`SecurityError::KeyExhausted`] or
    /// [`SecurityError::LimitExceeded`].
    pub fn check_invocation(
        &self,
        id: KeyId,
        frame_counter: u32,
        mac_input_len: u64,
    ) -> Result<(), SecurityError> {
        let usage = &self.keys.get(id)?.usage;
        usage.check_mac_input(mac_input_len)?;
        let _ = usage.check(frame_counter)?;
        Ok(())
    }

    /// The longest MAC input key `id` may take.
    ///
    /// # Errors
    /// [`SecurityError::UnknownKeyId`].
    pub fn max_mac_input(&self, id: KeyId) -> Result<u64, SecurityError> {
        Ok(self.keys.get(id)?.usage.limits().max_mac_input)
    }

    /// Applies a plan without protocol events: [`commit_with`](Self::commit_with) with two
    /// empty closures.
    pub fn commit(&mut self, plan: CommitPlan, now: u64) {
        self.commit_with(plan, now, |_| {}, |_| {});
    }

    /// Applies a plan: every change of core state one verified (or accepted) packet makes, in
    /// this order: the protocol's `before` events (the end of the previous frame, failed
    /// scopes); the frame start (key activation with [`Event::KeyRollover`],
    /// [`Event::FrameStart`], message counter reset, continuity); the replay state; the key
    /// invocation (pinning the key, [`Event::NeedsRekey`] once); the message counter; the
    /// timeout monitor; the protocol's `after` events (the end of this frame). Infallible: a
    /// plan is whole or it is not applied.
    pub fn commit_with(
        &mut self,
        plan: CommitPlan,
        now: u64,
        before: impl FnOnce(&mut EventSink<'_>),
        after: impl FnOnce(&mut EventSink<'_>),
    ) {
        before(&mut EventSink {
            received: self.counter.received(),
            lost: self.counter.lost(),
            queue: &mut self.events,
        });
        if let Some(fs) = plan.frame_start {
            let id = fs.config.key_id;
            if fs.authenticated {
                let prev = self.keys.active_id();
                // The check step found the key installed; activation cannot fail here.
                if self.keys.activate(id).is_ok()
                    && let Some(from) = prev.filter(|p| *p != id)
                {
                    self.events.push(Event::KeyRollover { from, to: id });
                }
                if fs.status == UsageStatus::NeedsRestart
                    && let Ok(entry) = self.keys.get_mut(id)
                    && !entry.soft_limit_reported
                {
                    entry.soft_limit_reported = true;
                    self.security.needs_rekey = self.security.needs_rekey.saturating_add(1);
                    self.events.push(Event::NeedsRestart {
                        key_id: id,
                        frame_counter: fs.frame_counter,
                    });
                }
            }
            self.events.push(Event::FrameStart {
                frame_counter: fs.frame_counter,
                config: fs.config,
            });
            if fs.count_messages {
                self.counter.start_frame();
            }
            let observed = if fs.authenticated {
                self.continuity.observe(fs.frame_counter)
            } else {
                self.continuity.observe_unauthenticated(fs.frame_counter)
            };
            if let Err(e) = observed {
                self.push_fusa(e);
            }
        }
        if let Some(p) = plan.replay {
            self.replay.commit(p);
        }
        if let Some(inv) = plan.invocation
            && let Ok(entry) = self.keys.get_mut(inv.key_id)
        {
            entry.pinned = Some(inv.mac);
            let status = entry.usage.commit();
            if status.past_soft_limit() && !entry.soft_limit_reported {
                entry.soft_limit_reported = true;
                self.security.needs_rekey = self.security.needs_rekey.saturating_add(1);
                self.events.push(Event::NeedsRekey { key_id: inv.key_id });
            }
        }
        if let Some((idx, authenticated)) = plan.message_index
            && let Err(e) = if authenticated {
                self.counter.observe(idx)
            } else {
                self.counter.observe_unauthenticated(idx)
            }
        {
            self.push_fusa(e);
        }
        if plan.feed {
            self.accept(now);
        }
        after(&mut EventSink {
            received: self.counter.received(),
            lost: self.counter.lost(),
            queue: &mut self.events,
        });
    }

    /// Commits a packet that changes no core state but the timeout monitor (an accepted packet
    /// without a tag, key use or event): the same as committing `CommitPlan::new()`, without
    /// building one.
    pub fn accept(&mut self, now: u64) {
        // The only error is a virtual channel above 31, which `VirtualChannel` excludes.
        let _ = self.timeout.feed(self.vc.get(), now);
    }

    fn push_fusa(&mut self, e: FusaError) {
        self.fusa.record(&e);
        self.events.push(Event::Fusa(e));
    }

    /// Counts a rejected packet's security finding (a rejection counter: nothing else moves).
    pub fn reject_security(&mut self, e: &SecurityError) {
        self.security.record(e);
    }

    /// Counts a rejected packet's FuSa finding (a rejection counter: nothing else moves).
    pub fn reject_fusa(&mut self, e: &FusaError) {
        self.fusa.record(e);
    }

    /// Counts a tag that was computed under key `id` and did not verify against that key's
    /// invocation budget (see [`crate::keys::KeyUsage::record_failure`]). Forgery attempts
    /// spend the budget like verified tags (NIST SP 800-38D counts both), so when this failure
    /// takes the key to its soft limit, [`Event::NeedsRekey`] is queued (once per key, as at
    /// a commit): the one event a rejected packet can queue, so that a key worn out by
    /// forgeries is reported before genuine traffic is refused with `KeyExhausted`.
    pub fn record_failed_mac(&mut self, id: KeyId) {
        if let Ok(entry) = self.keys.get_mut(id) {
            entry.usage.record_failure();
            let spent = entry
                .usage
                .invocations()
                .saturating_add(entry.usage.failures());
            if spent >= entry.usage.limits().invocation_soft && !entry.soft_limit_reported {
                entry.soft_limit_reported = true;
                self.security.needs_rekey = self.security.needs_rekey.saturating_add(1);
                self.events.push(Event::NeedsRekey { key_id: id });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::keys::{Salt, SecretKey};
    use crate::model::{BlockConfig, CipherSuite, SecurityVariant, TagLen, TagMode};

    #[derive(Debug)]
    enum E {
        S(SecurityError),
        A(AgentError),
    }

    impl From<SecurityError> for E {
        fn from(e: SecurityError) -> Self {
            E::S(e)
        }
    }

    impl From<AgentError> for E {
        fn from(e: AgentError) -> Self {
            E::A(e)
        }
    }

    fn core() -> RxCore {
        let mut c = RxCore::new(
            VirtualChannel::new(0).unwrap(),
            Profile::DRAFT_1,
            Policy::PERMISSIVE,
            10,
        );
        let m = KeyMaterial::new(SecretKey::aes128([1; 16]), None, Salt::new([2; 12]));
        c.install_key(KeyId::default(), m).unwrap();
        c
    }

    fn config(suite: CipherSuite) -> FrameConfig {
        FrameConfig::uniform(
            BlockConfig {
                sv: SecurityVariant::FullIntegrity,
                suite,
                tag_len: TagLen::L16,
                tag_mode: TagMode::PerMessage,
            },
            KeyId::default(),
        )
    }

    #[test]
    fn receivers_get_distinct_ids() {
        assert_ne!(core().id(), core().id());
    }

    #[test]
    fn checks_of_a_forged_max_frame_counter_change_nothing() {
        let c = core();
        let r: Result<_, E> = c.check_frame_start(&config(CipherSuite::Aes128Gmac), u32::MAX);
        assert!(matches!(r, Err(E::S(SecurityError::KeyExhausted))));
        let entry = c.key(KeyId::default()).unwrap();
        assert!(!entry.usage.is_exhausted());
        assert_eq!(entry.usage.invocations(), 0);
        let ok: Result<_, E> = c.check_frame_start(&config(CipherSuite::Aes128Gmac), 7);
        assert!(ok.is_ok());
    }

    #[test]
    fn a_key_pinned_to_gmac_refuses_cmac_frames() {
        let mut c = core();
        let mut plan = CommitPlan::new();
        plan.invocation(Invocation {
            key_id: KeyId::default(),
            mac: MacAlgorithm::Gmac,
        });
        c.commit(plan, 0);
        let r: Result<_, E> = c.check_frame_start(&config(CipherSuite::Aes128Cmac), 1);
        assert!(matches!(r, Err(E::A(AgentError::MixedKeyFamilies))));
        let r: Result<_, E> = c.check_frame_start(&config(CipherSuite::Aes128Gmac), 1);
        assert!(r.is_ok());
    }

    #[test]
    fn clear_keys_drops_every_key() {
        let mut c = core();
        c.clear_keys();
        assert_eq!(
            c.key(KeyId::default()).err(),
            Some(SecurityError::UnknownKeyId(KeyId::default()))
        );
    }
}
