//! The transmitter agent: original CSI-2 packets of one virtual channel in, SEP packets out.

use cse_core::context::CONTEXT_LEN;
use cse_core::crc::Span;
use cse_core::crypto::Tag;
use cse_core::csi2::{self, DataType, FOOTER_LEN, HEADER_LEN as CSI2_HEADER_LEN};
use cse_core::keys::{KeySlots, Salt, UsageStatus};
use cse_core::nonce::Iv;
use cse_core::nonce::PacketNumber;
use cse_core::{Block, ConfigError, FrameConfig, KeyId, ScopeKind, SecurityError, TagLen, TagMode};

use crate::agent::{
    BlockTracker, FrameKeys, KeyEntry, KeyMaterial, MAX_OPEN_SCOPES, Scope, Settings, StreamParams,
    check_frame, classify, covered, find_scope, frame_start_config, frame_start_key_block, prefix,
    protected, scope_kind,
};
use crate::error::SepError;
use crate::rx::BATCH_LINES;
use crate::wire::{self, CLOSE_BODY_LEN, FrameExt, Header, Layout, Phase};

/// Bytes of the MAC input a tag covers apart from the covered packets: the context block.
const CONTEXT_INPUT: u64 = CONTEXT_LEN as u64;

/// MAC input of one covered packet of a scope, or of a per-message packet apart from the
/// context block: its SEP header (with the frame extension of FS), the covered prefix
/// (`orig_vc ‖ orig_dt ‖ wc`), and its covered payload bytes.
const fn packet_input(head_len: usize, covered_len: usize) -> u64 {
    (head_len + PREFIX_LEN + covered_len) as u64
}

/// MAC input of a close record: its header, the covered prefix and its body (the count).
const CLOSE_INPUT: u64 = packet_input(wire::HEADER_LEN, CLOSE_BODY_LEN);

/// Length of the covered prefix (`orig_vc ‖ orig_dt ‖ wc`).
const PREFIX_LEN: usize = 4;

/// The longest tag.
const MAX_TAG_LEN: usize = 16;

/// The most bytes one [`Transmitter::protect`] call writes beyond the length of the original
/// packet it is given (header, payload and CRC-16 footer of a long packet; 4 bytes for a short
/// one): the close records of [`MAX_OPEN_SCOPES`] scopes with 16-byte tags, then the packet's
/// own SEP packet with a 16-byte tag. The worst case is FE ending four scopes (202 bytes beyond
/// its 4). See [`max_protected_len`].
pub const MAX_SEP_OVERHEAD: usize = MAX_OPEN_SCOPES
    * outer_len(wire::HEADER_LEN + CLOSE_BODY_LEN + MAX_TAG_LEN + wire::CRC_LEN)
    + outer_len(wire::HEADER_LEN + MAX_TAG_LEN + wire::CRC_LEN)
    - CSI2_HEADER_LEN;

/// The most bytes one [`Transmitter::protect`] call writes for an original packet of
/// `original_len` bytes (as passed to `protect`): an output buffer of this size never gets
/// [`ConfigError::BufferTooSmall`]. For [`Transmitter::protect_repr`], pass the payload length
/// plus 6 (a long packet's header and footer).
pub const fn max_protected_len(original_len: usize) -> usize {
    original_len.saturating_add(MAX_SEP_OVERHEAD)
}

/// What one [`Transmitter::protect`] call wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use = "the SEP packets are in the output buffer only up to `len`"]
pub struct Protected {
    /// Bytes written to the output buffer (whole SEP packets, back to back).
    pub len: usize,
    /// Number of SEP packets written: the packet itself, preceded by the close records of the
    /// scopes it ended.
    pub packets: usize,
    /// The most urgent soft usage limit the key passed in this call (reported on every call
    /// from then on):
    /// - [`UsageStatus::NeedsRekey`]: the invocation soft limit; install the next key
    ///   generation and switch to it at a frame boundary ([`Transmitter::set_config`] with the
    ///   new key id);
    /// - [`UsageStatus::NeedsRestart`]: the frame counter passed the profile's
    ///   `frame_counter_soft_limit`. Packet numbers belong to the stream, so a rekey does not
    ///   help: restart the stream (a new session: new keys, a new transmitter and receiver)
    ///   before the frame counter reaches its hard limit, where frames are refused.
    pub usage: UsageStatus,
}

impl Protected {
    /// Whether the key passed its invocation soft limit ([`UsageStatus::NeedsRekey`]).
    #[must_use]
    pub fn needs_rekey(&self) -> bool {
        self.usage == UsageStatus::NeedsRekey
    }

    /// Whether the stream's frame counter passed its soft limit
    /// ([`UsageStatus::NeedsRestart`]).
    #[must_use]
    pub fn needs_restart(&self) -> bool {
        self.usage == UsageStatus::NeedsRestart
    }
}

struct TxFrame {
    fc: u32,
    config: FrameConfig,
    params: StreamParams,
    tracker: BlockTracker,
    /// Message index of the next SEP packet. Checked below 2^32 by [`next_index`]: a u64 only so
    /// that the FE written at index `u32::MAX` leaves a representable value behind.
    next_index: u64,
    scopes: [Option<Scope>; MAX_OPEN_SCOPES],
    /// MAC input absorbed so far by the scope in the same slot of `scopes`.
    scope_input: [u64; MAX_OPEN_SCOPES],
}

/// The number of message indices of a frame: 0 (FS) to `u32::MAX`.
const INDEX_SPACE: u64 = 1 << 32;

/// The SEP transmitter of one stream (direction and original virtual channel). Sans-IO: it is
/// fed the original packets of each frame in order (FS, embedded lines, pixel lines, LS/LE,
/// embedded lines, FE) and writes SEP packets into the caller's buffer.
///
/// ```text
/// install_key(id, material)    any time; never over the active key
/// set_config(frame_config)     takes effect at the next FS (dynamic adjustment, key rollover)
/// protect(packet, out)         for every original packet
/// ```
///
/// The frame counter starts at the value given to [`Transmitter::new`] and increases by one
/// per FS. Scopes of the per-data-type and per-frame modes are closed by close records, written
/// before the first packet of the next block and before FE.
pub struct Transmitter {
    settings: Settings,
    keys: KeySlots<KeyEntry>,
    config: Option<FrameConfig>,
    next_fc: u32,
    frame: Option<TxFrame>,
    /// The keys of the open frame (meaningless outside a frame): kept for the transmitter's
    /// life and re-expanded in place at every frame start.
    frame_keys: FrameKeys,
}

impl core::fmt::Debug for Transmitter {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Transmitter")
            .field("settings", &self.settings)
            .field("config", &self.config)
            .field("next_frame_counter", &self.next_fc)
            .field("in_frame", &self.frame.is_some())
            .finish_non_exhaustive()
    }
}

/// Refuses bytes after the original packet: `protect` takes exactly one packet, so the rest
/// of a buffer holding more is never dropped silently.
fn whole(packet: &[u8], repr: &csi2::Repr) -> Result<(), SepError> {
    match packet.len().checked_sub(repr.buffer_len()) {
        Some(0) | None => Ok(()),
        Some(extra) => Err(SepError::Wire(wire::WireError::TrailingData(extra))),
    }
}

/// Length of the outer CSI-2 packet around an SEP payload of `n` bytes.
const fn outer_len(n: usize) -> usize {
    CSI2_HEADER_LEN + n + FOOTER_LEN
}

impl Transmitter {
    /// A transmitter whose first frame gets frame counter `first_frame_counter`.
    pub fn new(settings: Settings, first_frame_counter: u32) -> Self {
        Transmitter {
            settings,
            keys: KeySlots::new(),
            config: None,
            next_fc: first_frame_counter,
            frame: None,
            frame_keys: FrameKeys::empty(),
        }
    }

    /// The settings.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The frame counter of the next frame.
    pub fn next_frame_counter(&self) -> u32 {
        self.next_fc
    }

    /// Whether a frame is open (FS protected, FE not yet).
    pub fn in_frame(&self) -> bool {
        self.frame.is_some()
    }

    /// Installs key material under `id` in the idle slot.
    ///
    /// # Errors
    /// [`SepError::Config`] when the material's minimum tag length has no usage limit under
    /// the profile; [`SepError::Security`] (`UnknownKeyId` is not possible here) when `id` is
    /// the active key.
    pub fn install_key(&mut self, id: KeyId, material: KeyMaterial) -> Result<(), SepError> {
        let entry = KeyEntry::new(material, &self.settings.profile)?;
        self.keys
            .install(id, entry)
            .map_err(|_| SepError::Config(ConfigError::KeyId(id.get())))
    }

    /// Drops the key of the idle slot (the previous generation) once no frame uses it.
    pub fn retire_key(&mut self) -> Option<KeyId> {
        self.keys.retire()
    }

    /// The key id the next key generation should be installed under: the one after the active
    /// key's (never the active one; see [`KeySlots::next_id`]).
    pub fn next_key_id(&self) -> KeyId {
        self.keys.next_id()
    }

    /// Drops every installed key (each zeroized on drop), the open frame (and any key
    /// material it holds) and the configuration: the session the keys came from ended.
    /// Nothing is protected again until a new key is installed and a configuration set; the
    /// frame counter keeps counting.
    pub fn clear_keys(&mut self) {
        self.frame = None;
        self.config = None;
        self.keys.clear();
    }

    /// Whether any key is installed.
    pub fn has_keys(&self) -> bool {
        !self.keys.is_empty()
    }

    /// Sets the configuration of the next frames (applied at the next FS). The key named by
    /// `config.key_id` must be installed by then; switching key id is a key rollover.
    ///
    /// # Errors
    /// [`SepError::Config`] for an invalid configuration; [`SepError::MixedKeyFamilies`] when
    /// the key of `config.key_id` is installed and already served the other MAC algorithm
    /// (GMAC/GCM vs. CMAC/CTR+CMAC): a key serves one MAC algorithm for its whole life, pinned
    /// at the first frame that uses it. The configuration in effect is unchanged then.
    pub fn set_config(&mut self, config: FrameConfig) -> Result<(), SepError> {
        config.validate()?;
        if let Ok(entry) = self.keys.get(config.key_id) {
            entry.check_pin(&config)?;
        }
        self.config = Some(config);
        Ok(())
    }

    /// Moves the message index of the open frame forward, so tests reach the end of the index
    /// space without writing 2^32 packets. Never moves it back, and keeps room to end the
    /// frame. Not a stable API.
    ///
    /// # Errors
    /// [`SepError::UnexpectedPacket`] outside a frame, for an index below the next one, or one
    /// that leaves no room for the close records and FE.
    #[cfg(feature = "testing")]
    #[doc(hidden)]
    pub fn set_next_message_index(&mut self, index: u32) -> Result<(), SepError> {
        let frame = self.frame.as_mut().ok_or(SepError::UnexpectedPacket)?;
        let open = frame.scopes.iter().flatten().count() as u64;
        let index = u64::from(index);
        if index < frame.next_index || index + open + 1 > INDEX_SPACE {
            return Err(SepError::UnexpectedPacket);
        }
        frame.next_index = index;
        Ok(())
    }

    /// Protects one original CSI-2 packet given as bytes (header with ECC, payload and CRC-16
    /// footer for a long packet; the header form of the settings). Its ECC and CRC-16 are
    /// checked first. `out` needs at most [`max_protected_len`]`(packet.len())` bytes.
    ///
    /// # Errors
    /// See [`Transmitter::protect_repr`]; also [`SepError::Framing`] / [`SepError::Fusa`] for a
    /// malformed original packet, and [`SepError::Wire`] with `TrailingData` when `packet`
    /// holds bytes after the original packet.
    pub fn protect(&mut self, packet: &[u8], out: &mut [u8]) -> Result<Protected, SepError> {
        self.protect_packet(packet, out, None)
    }

    /// Protects the original packets `packets` in order, as [`Transmitter::protect`] would one
    /// after the other, writing the SEP packets of `packets[i]` into `outs[i]`;
    /// `on_result(i, result)` receives the result of `packets[i]`, in index order, once the
    /// output of its chunk is complete.
    ///
    /// The transmitter ends up exactly as after the single calls, and the outputs and results
    /// are the same (a refused packet writes nothing and moves nothing). The difference is
    /// speed: the tags of packets with their own tag over unencrypted bytes (SV-2/SV-3/SV-4
    /// per-message tags) are computed together, in chunks of [`BATCH_LINES`] packets, on the
    /// multi-lane engine ([`SuiteKey::mac_batch`](cse_core::crypto::SuiteKey::mac_batch): for
    /// CMAC, several CBC chains in flight). Each packet is checked and committed in its turn
    /// as in `protect`; only its tag and CRCs, which cannot fail, are written when its chunk
    /// ends (or before the next frame starts).
    ///
    /// # Errors
    /// [`SepError::Config`] with [`ConfigError::BufferTooSmall`] (`needed`: `packets.len()`,
    /// `available`: `outs.len()`) when the two slices differ in length; nothing is processed
    /// then. The errors of single packets go to `on_result`.
    pub fn protect_batch(
        &mut self,
        packets: &[&[u8]],
        outs: &mut [&mut [u8]],
        mut on_result: impl FnMut(usize, Result<Protected, SepError>),
    ) -> Result<(), SepError> {
        if packets.len() != outs.len() {
            return Err(SepError::Config(ConfigError::BufferTooSmall {
                needed: packets.len(),
                available: outs.len(),
            }));
        }
        let chunks = packets
            .chunks(BATCH_LINES)
            .zip(outs.chunks_mut(BATCH_LINES));
        for (c, (packets, outs)) in chunks.enumerate() {
            let mut results: [Option<Result<Protected, SepError>>; BATCH_LINES] =
                [None; BATCH_LINES];
            let mut pending: [Option<Deferred>; BATCH_LINES] = [const { None }; BATCH_LINES];
            for (i, packet) in packets.iter().enumerate() {
                // A frame start re-expands the frame keys: finish the tags of the frame
                // before.
                if self.frame.is_none() {
                    self.flush(outs_prefix(outs, i), &mut pending);
                }
                let Some(out) = outs.get_mut(i) else { break };
                let mut deferred = None;
                let r = self.protect_packet(packet, out, Some(&mut deferred));
                if let (Some(slot), Some(d)) = (pending.get_mut(i), deferred) {
                    *slot = Some(d);
                }
                if let Some(slot) = results.get_mut(i) {
                    *slot = Some(r);
                }
            }
            self.flush(outs, &mut pending);
            for (i, r) in results.into_iter().take(packets.len()).enumerate() {
                on_result(c * BATCH_LINES + i, r.unwrap_or(Err(SepError::Internal)));
            }
        }
        Ok(())
    }

    /// Writes the deferred tags and CRCs of `pending` into `outs` (the packets of one chunk).
    fn flush(&self, outs: &mut [&mut [u8]], pending: &mut [Option<Deferred>; BATCH_LINES]) {
        let mut tags: [Option<Tag>; BATCH_LINES] = [None; BATCH_LINES];
        {
            let mut pieces: [[&[u8]; 4]; BATCH_LINES] = [[&[]; 4]; BATCH_LINES];
            for ((d, out), dst) in pending.iter().zip(outs.iter()).zip(pieces.iter_mut()) {
                if let Some(d) = d {
                    let slot = out.get(d.slot..).unwrap_or_default();
                    let body = slot.get(d.layout.body.clone()).unwrap_or_default();
                    *dst = [
                        &d.ctx,
                        slot.get(..d.layout.body.start).unwrap_or_default(),
                        &d.prefix,
                        body.get(d.covered.clone()).unwrap_or_default(),
                    ];
                }
            }
            for block in Block::ALL {
                let mut index = [0usize; BATCH_LINES];
                let mut messages: [(Iv, &[&[u8]]); BATCH_LINES] = [(Iv([0; 12]), &[]); BATCH_LINES];
                let mut n = 0;
                let mut tag_len = None;
                for (i, d) in pending.iter().enumerate() {
                    if let Some(d) = d
                        && d.block == block
                        && let (Some(m), Some(x)) = (messages.get_mut(n), index.get_mut(n))
                    {
                        *m = (d.iv, &pieces[i][..]);
                        *x = i;
                        n += 1;
                        tag_len = Some(d.tag_len);
                    }
                }
                let (Some(tag_len), Ok(key)) = (tag_len, self.frame_keys.get(block)) else {
                    continue;
                };
                let messages = messages.get(..n).unwrap_or_default();
                key.mac_batch(messages, tag_len, |j, tag| {
                    if let Some(t) = index.get(j).and_then(|&i| tags.get_mut(i)) {
                        *t = Some(tag);
                    }
                });
            }
        }
        for ((d, out), tag) in pending.iter_mut().zip(outs.iter_mut()).zip(tags) {
            if let (Some(d), Some(tag)) = (d.take(), tag)
                && let Some(slot) = out.get_mut(d.slot..)
            {
                if let Some(t) = slot.get_mut(d.layout.tag.clone()) {
                    t.copy_from_slice(tag.as_bytes());
                }
                finish(&self.settings, slot, &d.layout, d.span.as_ref());
            }
        }
    }

    fn protect_packet(
        &mut self,
        packet: &[u8],
        out: &mut [u8],
        defer: Option<&mut Option<Deferred>>,
    ) -> Result<Protected, SepError> {
        let view = csi2::Packet::new_checked(packet)?;
        // The header checks of `Repr::parse`, in its order; then the CRC-16 of a long payload,
        // from a span that also gives the SEP packet's CRCs over the same bytes (no second
        // pass), or through `Repr::parse` where no span is made.
        if !cfg!(target_arch = "x86_64") {
            // No span is made on other targets.
            let (repr, _) = csi2::Repr::parse(&view, self.settings.form)?;
            whole(packet, &repr)?;
            let payload = if repr.is_short() {
                &[][..]
            } else {
                packet
                    .get(CSI2_HEADER_LEN..CSI2_HEADER_LEN + usize::from(repr.word_count))
                    .ok_or(SepError::Internal)?
            };
            return self.protect_with(&repr, payload, out, defer, None);
        }
        let (repr, _) = csi2::Repr::parse_header(&view, self.settings.form)?;
        whole(packet, &repr)?;
        if repr.is_short() {
            return self.protect_with(&repr, &[], out, defer, None);
        }
        let payload = packet
            .get(CSI2_HEADER_LEN..CSI2_HEADER_LEN + usize::from(repr.word_count))
            .ok_or(SepError::Internal)?;
        let span = Span::new(self.settings.profile.crc32, payload);
        match (&span, view.crc()) {
            (Some(s), Some(received)) => {
                let computed = s.crc16_mcrf4xx();
                if computed != received {
                    return Err(csi2::Error::CrcMismatch { computed, received }.into());
                }
            }
            _ => {
                csi2::Repr::parse(&view, self.settings.form)?;
            }
        }
        self.protect_with(&repr, payload, out, defer, span.as_ref())
    }

    /// Protects one original packet given as its header values and payload. Writes the close
    /// records of the scopes it ends, then its SEP packet, into `out`.
    ///
    /// # Errors
    /// Every error leaves the transmitter as it was (frame, indices, scopes, key usage) and
    /// writes nothing:
    /// - [`SepError::Config`] with [`ConfigError::BufferTooSmall`] when `out` cannot hold the
    ///   output; [`ConfigError::VirtualChannel`] for a packet of another virtual channel;
    /// - [`SepError::UnexpectedPacket`] for FS inside a frame, anything else outside one,
    ///   pixel data after the bottom block, or an original of SEP's own data type
    ///   ([`Profile::dt_sep`](cse_core::Profile::dt_sep));
    /// - [`SepError::NotConfigured`] at FS without configuration or key;
    /// - [`SepError::Security`] with `KeyExhausted` when the key reached its hard limit or the
    ///   frame counter its hard limit (`u32::MAX`: restart the stream), and with
    ///   `LimitExceeded` when the packet's MAC input (per-message tags), or its scope's with
    ///   this packet and the close record (per-data-type and per-frame tags), would exceed the
    ///   key's [`max_mac_input`](cse_core::keys::UsageLimits::max_mac_input) (see
    ///   [`KeyMaterial::with_max_mac_input`]);
    /// - [`SepError::MessageIndexExhausted`] when the frame's message indices (`u32`) would
    ///   not leave room to close its scopes and write FE: end the frame (FE is always
    ///   accepted);
    /// - [`SepError::TooManyScopes`], [`SepError::MixedKeyFamilies`] (at FS, also for a key
    ///   pinned to the other MAC algorithm).
    pub fn protect_repr(
        &mut self,
        repr: &csi2::Repr,
        payload: &[u8],
        out: &mut [u8],
    ) -> Result<Protected, SepError> {
        self.protect_with(repr, payload, out, None, None)
    }

    /// [`Transmitter::protect_repr`]; with `defer`, a per-message tag over unencrypted bytes
    /// is left out (with the CRCs after it) and described in `defer` instead. `span`, when
    /// given, sums up exactly `payload` (for the CRCs of an SEP packet that carries it as it
    /// is).
    fn protect_with(
        &mut self,
        repr: &csi2::Repr,
        payload: &[u8],
        out: &mut [u8],
        defer: Option<&mut Option<Deferred>>,
        span: Option<&Span>,
    ) -> Result<Protected, SepError> {
        if repr.vc != self.settings.vc {
            return Err(SepError::Config(ConfigError::VirtualChannel(repr.vc.get())));
        }
        let body_len = if repr.is_short() {
            0
        } else {
            usize::from(repr.word_count)
        };
        if payload.len() != body_len {
            return Err(SepError::Framing(csi2::Error::Truncated {
                needed: body_len,
                available: payload.len(),
            }));
        }
        // An original of SEP's own data type would leave a receiver looking like an SEP
        // packet.
        if repr.data_type == self.settings.profile.dt_sep {
            return Err(SepError::UnexpectedPacket);
        }
        if repr.data_type == DataType::FS {
            return self.start_frame(repr, out);
        }
        let Some(frame) = self.frame.as_mut() else {
            return Err(SepError::UnexpectedPacket);
        };
        let block = classify(&frame.tracker, repr.data_type)?;
        let is_fe = repr.data_type == DataType::FE;
        let closing = is_fe || block != frame.tracker.block();
        let cfg = *frame.config.block(block);
        let prot = protected(&cfg);
        let single = !prot || cfg.tag_mode == TagMode::PerMessage || is_fe;
        // Every check before any state moves or any byte is written.
        let open = frame.scopes.iter().flatten().count();
        let closes = if closing { open } else { 0 };
        let mut needed = 0usize;
        for s in frame.scopes.iter().flatten().take(closes) {
            needed += outer_len(close_len(&frame.config, s.block));
        }
        let tag = if prot && single { cfg.tag_len.get() } else { 0 };
        needed += outer_len(wire::HEADER_LEN + body_len + tag + wire::CRC_LEN);
        if out.len() < needed {
            return Err(SepError::Config(ConfigError::BufferTooSmall {
                needed,
                available: out.len(),
            }));
        }
        let kind = scope_kind(cfg.tag_mode, repr.data_type.0);
        let existing = if single || closing {
            None
        } else {
            find_scope(&mut frame.scopes, block, kind)
        };
        if !single && existing.is_none() && open - closes >= MAX_OPEN_SCOPES {
            return Err(SepError::TooManyScopes);
        }
        let open_after = open - closes + usize::from(!single && existing.is_none());
        // Message indices: the close records and this packet, leaving room for the close
        // records and FE that end the frame. A packet number is never used twice.
        let first = frame.next_index;
        let used = closes as u64 + 1;
        let reserve = if is_fe { 0 } else { open_after as u64 + 1 };
        if first + used + reserve > INDEX_SPACE {
            return Err(SepError::MessageIndexExhausted);
        }
        let mut tracker = frame.tracker;
        let line = tracker.advance(block, !repr.is_short());
        let key_id = frame.config.key_id;
        let entry = self.keys.get(key_id)?;
        let mut usage = entry.usage;
        if prot {
            let own = packet_input(wire::HEADER_LEN, covered(&cfg, line, body_len).len());
            let total = match (single, existing) {
                (true, _) => CONTEXT_INPUT + own,
                (false, Some(i)) => frame.scope_input[i] + own + CLOSE_INPUT,
                (false, None) => CONTEXT_INPUT + own + CLOSE_INPUT,
            };
            usage.check_mac_input(total)?;
        }
        // Key usage, counted on a copy: one invocation per close record and per protected
        // packet.
        let mut status = UsageStatus::Ok;
        for k in 0..used {
            if k < closes as u64 || prot {
                let idx = u32::try_from(first + k).map_err(|_| SepError::Internal)?;
                status = status.max(usage.record(PacketNumber::new(frame.fc, idx))?);
            }
        }
        // Commit.
        let entry = self.keys.get_mut(key_id)?;
        entry.usage = usage;
        let salt = entry.material.salt();
        frame.tracker = tracker;
        let mut at = 0usize;
        let mut packets = 0usize;
        if closing {
            for i in 0..MAX_OPEN_SCOPES {
                if let Some(scope) = frame.scopes.get_mut(i).and_then(Option::take) {
                    at += write_close(
                        &self.settings,
                        frame,
                        &self.frame_keys,
                        scope,
                        &mut out[at..],
                    )?;
                    packets += 1;
                }
            }
        }
        let slot = at + CSI2_HEADER_LEN;
        let mut later = None;
        at += write_packet(
            &self.settings,
            salt,
            frame,
            &self.frame_keys,
            repr,
            payload,
            block,
            line,
            single,
            None,
            &mut out[at..],
            defer.is_some().then_some(&mut later),
            span,
        )?;
        if let (Some(d), Some(mut l)) = (defer, later) {
            l.slot = slot;
            *d = Some(l);
        }
        packets += 1;
        if is_fe {
            self.frame = None;
        }
        Ok(Protected {
            len: at,
            packets,
            usage: status,
        })
    }

    fn start_frame(&mut self, repr: &csi2::Repr, out: &mut [u8]) -> Result<Protected, SepError> {
        if self.frame.is_some() {
            return Err(SepError::UnexpectedPacket);
        }
        let config = self.config.ok_or(SepError::NotConfigured)?;
        let fc = self.next_fc;
        // The key's frame hard limit refuses `u32::MAX` first; checked anyway.
        let next_fc = fc
            .checked_add(1)
            .ok_or(SepError::Security(SecurityError::KeyExhausted))?;
        let entry = self
            .keys
            .get(config.key_id)
            .map_err(|_| SepError::NotConfigured)?;
        check_frame(&config, &entry.material)?;
        let alg = entry.check_pin(&config)?;
        let fs_cfg = frame_start_config(&config);
        let tag = if protected(&fs_cfg) {
            fs_cfg.tag_len.get()
        } else {
            0
        };
        let needed = outer_len(wire::HEADER_LEN + wire::FRAME_EXT_LEN + tag + wire::CRC_LEN);
        if out.len() < needed {
            return Err(SepError::Config(ConfigError::BufferTooSmall {
                needed,
                available: out.len(),
            }));
        }
        let mut usage = entry.usage;
        let mut status = usage.record_frame(fc)?;
        if protected(&fs_cfg) {
            usage.check_mac_input(
                CONTEXT_INPUT + packet_input(wire::HEADER_LEN + wire::FRAME_EXT_LEN, 0),
            )?;
            status = status.max(usage.record(PacketNumber::new(fc, 0))?);
        }
        // In place; on an error nothing changed (and outside a frame the keys are unused).
        self.frame_keys.expand_into(&config, &entry.material)?;
        // Commit.
        self.keys.activate(config.key_id)?;
        let entry = self.keys.get_mut(config.key_id)?;
        entry.usage = usage;
        entry.pinned = entry.pinned.or(alg);
        let salt = entry.material.salt();
        // Built in place (small fields only); taken back if the FS cannot be written.
        let frame = self.frame.insert(TxFrame {
            fc,
            config,
            params: StreamParams {
                profile: self.settings.profile,
                direction: self.settings.direction,
                vc: self.settings.vc.get(),
                key_id: config.key_id,
            },
            tracker: BlockTracker::new(),
            next_index: 0,
            scopes: [None, None, None, None],
            scope_input: [0; MAX_OPEN_SCOPES],
        });
        let ext = FrameExt {
            frame_counter: fc,
            config,
        };
        let written = write_packet(
            &self.settings,
            salt,
            frame,
            &self.frame_keys,
            repr,
            &[],
            Block::Top,
            0,
            true,
            Some(ext),
            out,
            None,
            None,
        );
        let n = match written {
            Ok(n) => n,
            Err(e) => {
                self.frame = None;
                return Err(e);
            }
        };
        self.next_fc = next_fc;
        Ok(Protected {
            len: n,
            packets: 1,
            usage: status,
        })
    }
}

/// A per-message tag left for [`Transmitter::flush`], and what its MAC input is besides the
/// bytes already written.
struct Deferred {
    /// Offset of the SEP payload in the output buffer.
    slot: usize,
    layout: Layout,
    block: Block,
    iv: Iv,
    ctx: [u8; CONTEXT_LEN],
    prefix: [u8; PREFIX_LEN],
    /// Covered bytes of the body.
    covered: core::ops::Range<usize>,
    tag_len: TagLen,
    /// The body summed up for the CRCs, when it was.
    span: Option<Span>,
}

/// The first `n` buffers of `outs`.
fn outs_prefix<'a, 'b>(outs: &'a mut [&'b mut [u8]], n: usize) -> &'a mut [&'b mut [u8]] {
    let n = n.min(outs.len());
    outs.get_mut(..n).unwrap_or_default()
}

/// SEP payload length of a close record of a scope in `block`.
fn close_len(config: &FrameConfig, block: Block) -> usize {
    wire::HEADER_LEN + CLOSE_BODY_LEN + config.block(block).tag_len.get() + wire::CRC_LEN
}

/// Writes the outer header of an SEP packet with an SEP payload of `len` bytes at the start of
/// `out` and returns the payload slot. The caller fills the slot, then calls [`finish`].
fn outer<'o>(settings: &Settings, out: &'o mut [u8], len: usize) -> Result<&'o mut [u8], SepError> {
    let wc = u16::try_from(len).map_err(|_| csi2::Error::PayloadTooLong(len))?;
    let header = csi2::Repr::long(settings.outer_vc, settings.profile.dt_sep, wc)
        .header_bytes(settings.form)?;
    let total = outer_len(len);
    let dst = out
        .get_mut(..total)
        .ok_or(SepError::Config(ConfigError::BufferTooSmall {
            needed: total,
            available: 0,
        }))?;
    dst[..CSI2_HEADER_LEN].copy_from_slice(&header);
    Ok(&mut dst[CSI2_HEADER_LEN..])
}

/// Writes the CRC-32 at the end of the SEP payload and the CSI-2 CRC-16 footer after it, both
/// in one pass over the record ([`cse_core::crc::crc32_appended_crc16`]): the CRC-32 is the
/// last field of the SEP payload (it ends at [`Layout::total`]), so the CRC-16 covers the
/// record and then the CRC-32.
///
/// With `span` (a sum of exactly the bytes of the body, for the profile's CRC-32) the body is
/// not read again: only the header before it and the tag after it are
/// ([`cse_core::crc::crc32_appended_crc16_around`]).
fn finish(settings: &Settings, slot: &mut [u8], layout: &Layout, span: Option<&Span>) {
    let span =
        span.filter(|s| s.len() == layout.body.len() && s.variant() == settings.profile.crc32);
    let (crc, crc16) = match span {
        Some(s) => cse_core::crc::crc32_appended_crc16_around(
            &slot[..layout.body.start],
            s,
            &slot[layout.body.end..layout.crc.start],
        ),
        None => {
            cse_core::crc::crc32_appended_crc16(settings.profile.crc32, &slot[..layout.crc.start])
        }
    };
    slot[layout.crc.clone()].copy_from_slice(&crc.to_le_bytes());
    slot[layout.total()..layout.total() + FOOTER_LEN].copy_from_slice(&crc16.to_le_bytes());
}

/// The message index of the next SEP packet of `frame`.
fn next_index(frame: &TxFrame) -> Result<u32, SepError> {
    u32::try_from(frame.next_index).map_err(|_| SepError::MessageIndexExhausted)
}

/// Writes the SEP packet of one original packet (the caller checked everything and counted
/// the key usage).
#[allow(clippy::too_many_arguments)]
fn write_packet(
    settings: &Settings,
    salt: &Salt,
    frame: &mut TxFrame,
    keys: &FrameKeys,
    repr: &csi2::Repr,
    payload: &[u8],
    block: Block,
    line: u32,
    single: bool,
    ext: Option<FrameExt>,
    out: &mut [u8],
    defer: Option<&mut Option<Deferred>>,
    span: Option<&Span>,
) -> Result<usize, SepError> {
    // The FS is tagged with the frame-start configuration (the first protected block's when
    // the top block is SV-5), under the key of that block.
    let (cfg, key_block) = if ext.is_some() {
        let kb = frame_start_key_block(&frame.config).unwrap_or(block);
        (frame_start_config(&frame.config), kb)
    } else {
        (*frame.config.block(block), block)
    };
    let prot = protected(&cfg);
    let idx = next_index(frame)?;
    let pn = PacketNumber::new(frame.fc, idx);
    let header = Header {
        encrypted: prot && cfg.sv.encrypts(),
        phase: if single { Phase::Single } else { Phase::Member },
        key_id: frame.config.key_id,
        sv: cfg.sv.level(),
        block,
        tag_mode: cfg.tag_mode,
        orig_vc: settings.vc.get(),
        orig_dt: repr.data_type.0,
        tag_len: (prot && single).then_some(cfg.tag_len),
        orig_wc: repr.word_count,
        message_index: idx,
    };
    let sep = wire::Repr { header, ext };
    let layout = sep.layout();
    let total = layout.total();
    let slot = outer(settings, out, total)?;
    sep.emit_header(slot, &settings.profile)?;
    // A packet sealed on its own is encrypted from `payload` straight into the slot (one pass,
    // no copy first); every other packet carries its payload as it is. A packet with its own
    // tag over the whole of an unencrypted payload (SV-2, a covered SV-3 line) is MACed while
    // the payload is copied (one pass where the engine allows it); with its tag deferred, the
    // payload is copied now and MACed in the batch.
    let sealed = prot && single && cfg.sv.encrypts();
    let whole = covered(&cfg, line, payload.len()) == (0..payload.len());
    // (Only the x86-64 engines copy in the MAC pass; elsewhere the copy-then-MAC path is the
    // same work, and a sensor MCU's flash keeps one path.)
    let mac_copy =
        cfg!(target_arch = "x86_64") && prot && single && !sealed && whole && defer.is_none();
    if !sealed && !mac_copy {
        slot[layout.body.clone()].copy_from_slice(payload);
    }
    // The span sums up the payload: it serves the CRCs only if the body carries it as it is.
    let span = span.filter(|_| !(prot && cfg.sv.encrypts()));
    if prot {
        let key = keys.get(key_block)?;
        let iv = frame.params.iv(salt, block, ScopeKind::Message, pn)?;
        let pre = prefix(settings.vc.get(), repr.data_type.0, repr.word_count);
        let (head, rest) = slot.split_at_mut(layout.body.start);
        let (body, rest) = rest.split_at_mut(layout.body.len());
        if single {
            let ctx = frame
                .params
                .context(&cfg, block, ScopeKind::Message, pn.get());
            let tag = if sealed || mac_copy {
                // Integrity-only suites: the MAC over `ctx ‖ head ‖ pre ‖ payload`, the
                // payload copied into the body as it is.
                key.seal_to(&iv, &[&ctx, head, &pre], payload, body, cfg.tag_len)
                    .map_err(|_| SepError::Internal)?
            } else if let Some(d) = defer
                && ext.is_none()
            {
                // The caller computes the tag with others and then writes the CRCs.
                *d = Some(Deferred {
                    slot: 0,
                    layout,
                    block,
                    iv,
                    ctx,
                    prefix: pre,
                    covered: covered(&cfg, line, body.len()),
                    tag_len: cfg.tag_len,
                    span: span.copied(),
                });
                frame.next_index += 1;
                return Ok(outer_len(total));
            } else {
                let covered = body
                    .get(covered(&cfg, line, body.len()))
                    .unwrap_or_default();
                key.mac_pieces(&iv, &[&ctx, head, &pre, covered], cfg.tag_len)
            };
            rest.get_mut(..layout.tag.len())
                .ok_or(SepError::Internal)?
                .copy_from_slice(tag.as_bytes());
        } else {
            if cfg.sv.encrypts() {
                key.apply_keystream(&iv, body)?;
            }
            let kind = scope_kind(cfg.tag_mode, repr.data_type.0);
            let i = match find_scope(&mut frame.scopes, block, kind) {
                Some(i) => i,
                None => {
                    let i = frame
                        .scopes
                        .iter()
                        .position(Option::is_none)
                        .ok_or(SepError::TooManyScopes)?;
                    let mac = frame
                        .params
                        .open_scope(key, salt, &cfg, block, kind, frame.fc)?;
                    frame.scopes[i] = Some(Scope {
                        block,
                        key_block,
                        kind,
                        mac,
                        count: 0,
                    });
                    frame.scope_input[i] = CONTEXT_INPUT;
                    i
                }
            };
            let scope = frame.scopes[i].as_mut().ok_or(SepError::Internal)?;
            let covered_body = body
                .get(covered(&cfg, line, body.len()))
                .unwrap_or_default();
            let key = keys.get(scope.key_block)?;
            scope.mac.update(key, head);
            scope.mac.update(key, &pre);
            scope.mac.update(key, covered_body);
            scope.count = scope.count.saturating_add(1);
            frame.scope_input[i] += packet_input(head.len(), covered_body.len());
        }
    }
    finish(settings, slot, &layout, span);
    frame.next_index += 1;
    Ok(outer_len(layout.total()))
}

/// Writes the close record of `scope` (the caller checked everything and counted the key
/// usage).
fn write_close(
    settings: &Settings,
    frame: &mut TxFrame,
    keys: &FrameKeys,
    scope: Scope,
    out: &mut [u8],
) -> Result<usize, SepError> {
    let cfg = *frame.config.block(scope.block);
    let idx = next_index(frame)?;
    let dt = scope.kind.data_type();
    let header = Header {
        encrypted: false,
        phase: Phase::Close,
        key_id: frame.config.key_id,
        sv: cfg.sv.level(),
        block: scope.block,
        tag_mode: cfg.tag_mode,
        orig_vc: settings.vc.get(),
        orig_dt: dt,
        tag_len: Some(cfg.tag_len),
        orig_wc: CLOSE_BODY_LEN as u16,
        message_index: idx,
    };
    let sep = wire::Repr { header, ext: None };
    let layout = sep.layout();
    let slot = outer(settings, out, layout.total())?;
    sep.emit_header(slot, &settings.profile)?;
    let count = scope.count.to_le_bytes();
    slot[layout.body.clone()].copy_from_slice(&count);
    let key = keys.get(scope.key_block)?;
    let mut mac = scope.mac;
    mac.update(key, &slot[layout.header.clone()]);
    mac.update(key, &prefix(settings.vc.get(), dt, CLOSE_BODY_LEN as u16));
    mac.update(key, &count);
    let tag = mac.finalize(key, cfg.tag_len);
    slot[layout.tag.clone()].copy_from_slice(tag.as_bytes());
    finish(settings, slot, &layout, None);
    frame.next_index += 1;
    Ok(outer_len(layout.total()))
}

#[cfg(feature = "bytes")]
#[cfg_attr(docsrs, doc(cfg(feature = "bytes")))]
impl Transmitter {
    /// [`Transmitter::protect`], appending the SEP packets to `out` (whole packets, back to
    /// back as on the wire). They are built in a scratch buffer of
    /// [`max_protected_len`]`(packet.len())` bytes, then copied once into `out`. Nothing is
    /// appended on an error.
    ///
    /// # Errors
    /// As [`Transmitter::protect`]; [`ConfigError::BufferTooSmall`] (checked first, nothing
    /// protected) when `out` cannot take [`max_protected_len`]`(packet.len())` more bytes.
    pub fn protect_buf<B: bytes::BufMut>(
        &mut self,
        packet: &[u8],
        out: &mut B,
    ) -> Result<Protected, SepError> {
        let needed = max_protected_len(packet.len());
        if out.remaining_mut() < needed {
            return Err(SepError::Config(ConfigError::BufferTooSmall {
                needed,
                available: out.remaining_mut(),
            }));
        }
        let mut scratch = alloc::vec![0u8; needed];
        let r = self.protect(packet, &mut scratch)?;
        out.put_slice(scratch.get(..r.len).unwrap_or_default());
        Ok(r)
    }
}
