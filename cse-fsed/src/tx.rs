//! The transmitter agent: watches the original CSI-2 packets of one virtual channel, protects
//! them in place and writes the FSED packets to insert into a caller buffer.

use cse_core::context::{CONTEXT_LEN, covered_prefix};
use cse_core::csi2::{self, DataType, Emitter, FOOTER_LEN, HEADER_LEN as CSI2_HEADER_LEN};
use cse_core::keys::{KeySlots, UsageStatus};
use cse_core::nonce::PacketNumber;
use cse_core::{Block, BlockConfig, ConfigError, FrameConfig, KeyId, ScopeKind, SecurityError};

use crate::agent::{
    BlockTracker, FrameKeys, KeyEntry, KeyMaterial, MAX_OPEN_SCOPES, Scope, Settings, StreamParams,
    check_frame, find_scope, protected, seal_config, seal_key_block,
};
use crate::error::FsedError;
use crate::wire::{
    self, FRAME_HEADER_LEN, FrameHeader, MAX_TAG_LEN, RECORD_FIXED_LEN, TagRecord, record_len,
};

/// Length of a whole CSI-2 packet around an FSED payload of `n` bytes.
const fn outer_len(n: usize) -> usize {
    CSI2_HEADER_LEN + n + FOOTER_LEN
}

/// The most bytes one [`Transmitter::protect`] call writes to its output buffer: the tag
/// records of [`MAX_OPEN_SCOPES`] scopes with 16-byte tags (a frame header is smaller).
pub const MAX_INSERTED_LEN: usize = MAX_OPEN_SCOPES * outer_len(record_len(MAX_TAG_LEN));

/// What one [`Transmitter::protect`] call wrote to the output buffer: whole FSED packets, back
/// to back, `before` bytes to send before the original packet, then `after` bytes to send
/// right after it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use = "the FSED packets in the output buffer must be inserted into the stream"]
pub struct Inserted {
    /// Bytes at `out[..before]`: tag records of the scopes the packet ends (before the first
    /// packet of a new block, and before FE).
    pub before: usize,
    /// Bytes at `out[before..before + after]`: the frame header (after FS).
    pub after: usize,
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

impl Inserted {
    /// The packets to send before the original packet.
    pub fn before<'a>(&self, out: &'a [u8]) -> &'a [u8] {
        out.get(..self.before).unwrap_or_default()
    }

    /// The packets to send after the original packet.
    pub fn after<'a>(&self, out: &'a [u8]) -> &'a [u8] {
        out.get(self.before..self.before + self.after)
            .unwrap_or_default()
    }

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

/// MAC input of a scope when it opens: the context block, then the frame header packet
/// (covered prefix and its payload).
const SCOPE_OPEN_INPUT: u64 = (CONTEXT_LEN + PREFIX_LEN + FRAME_HEADER_LEN) as u64;

/// MAC input of one covered original packet: its message index (4), covered prefix and
/// covered payload bytes.
const fn packet_input(covered_len: usize) -> u64 {
    (4 + PREFIX_LEN + covered_len) as u64
}

/// MAC input of a tag record: its covered prefix and the record before the tag.
const RECORD_INPUT: u64 = (PREFIX_LEN + RECORD_FIXED_LEN) as u64;

/// Length of the covered prefix (`vc ‖ dt ‖ wc`).
const PREFIX_LEN: usize = 4;

struct TxFrame {
    fc: u32,
    frame_number: u16,
    config: FrameConfig,
    params: StreamParams,
    header: [u8; FRAME_HEADER_LEN],
    tracker: BlockTracker,
    /// Message index of the next original packet (FS is 0). Tag records carry it as the end
    /// index of their scope, so it stays a `u32`: the last original packet of a frame has
    /// index `u32::MAX - 1`.
    next_index: u32,
    records: u8,
    scopes: [Option<Scope>; MAX_OPEN_SCOPES],
    /// MAC input absorbed so far by the scope in the same slot of `scopes`.
    scope_input: [u64; MAX_OPEN_SCOPES],
}

/// The FSED transmitter of one stream (direction and virtual channel). Sans-IO: it is fed the
/// original packets of each frame in order (FS, embedded lines, pixel lines, LS/LE, embedded
/// lines, FE), protects each in place (under SV-1 its payload is encrypted, length unchanged,
/// CRC-16 recomputed; otherwise untouched) and writes the FSED packets to insert around it.
///
/// ```text
/// install_key(id, material)    any time; never over the active key
/// set_config(frame_config)     takes effect at the next FS (dynamic adjustment, key rollover)
/// protect(packet, out)         for every original packet; send out[..before], the packet,
///                              then out[before..before + after]
/// ```
///
/// The frame counter starts at the value given to [`Transmitter::new`] and increases by one
/// per FS.
pub struct Transmitter {
    settings: Settings,
    keys: KeySlots<KeyEntry>,
    config: Option<FrameConfig>,
    next_fc: u32,
    frame: Option<TxFrame>,
    /// The keys of the open frame (meaningless outside a frame): kept for the transmitter's
    /// life and re-expanded in place at every frame start.
    frame_keys: FrameKeys,
    /// The key id and configuration `frame_keys` were expanded for, while no key was installed,
    /// retired or cleared since: a frame start with the same ones keeps them (no expansion).
    frame_keys_for: Option<(KeyId, FrameConfig)>,
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
            frame_keys_for: None,
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

    /// Whether a frame is open (FS seen, FE not yet).
    pub fn in_frame(&self) -> bool {
        self.frame.is_some()
    }

    /// Installs key material under `id` in the idle slot.
    ///
    /// # Errors
    /// [`FsedError::Config`] when the material's minimum tag length has no usage limit under
    /// the profile, or `id` is the active key.
    pub fn install_key(&mut self, id: KeyId, material: KeyMaterial) -> Result<(), FsedError> {
        let entry = KeyEntry::new(material, &self.settings.profile)?;
        self.keys
            .install(id, entry)
            .map_err(|_| FsedError::Config(ConfigError::KeyId(id.get())))?;
        self.frame_keys_for = None;
        Ok(())
    }

    /// Drops the key of the idle slot (the previous generation).
    pub fn retire_key(&mut self) -> Option<KeyId> {
        self.frame_keys_for = None;
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
        // The last frame's expanded keys too (dropped, so zeroized).
        self.frame_keys = FrameKeys::empty();
        self.frame_keys_for = None;
    }

    /// Whether any key is installed.
    pub fn has_keys(&self) -> bool {
        !self.keys.is_empty()
    }

    /// Sets the configuration of the next frames (applied at the next FS). The key named by
    /// `config.key_id` must be installed by then; switching key id is a key rollover.
    ///
    /// # Errors
    /// [`FsedError::Config`] for an invalid configuration;
    /// [`FsedError::PerMessageUnsupported`] for a protected block with per-message tags;
    /// [`FsedError::MixedKeyFamilies`] when the key of `config.key_id` is installed and already
    /// served the other MAC algorithm (GMAC/GCM vs. CMAC/CTR+CMAC): a key serves one MAC
    /// algorithm for its whole life, pinned at the first frame that uses it. The configuration
    /// in effect is unchanged on every error.
    pub fn set_config(&mut self, config: FrameConfig) -> Result<(), FsedError> {
        config.validate()?;
        for b in Block::ALL {
            let c = config.block(b);
            if protected(c) && c.tag_mode == cse_core::TagMode::PerMessage {
                return Err(FsedError::PerMessageUnsupported);
            }
        }
        if let Ok(entry) = self.keys.get(config.key_id) {
            entry.check_pin(&config)?;
        }
        self.config = Some(config);
        Ok(())
    }

    /// Moves the message index of the open frame forward, so tests reach the end of the index
    /// space without feeding 2^32 packets. Never moves it back. Not a stable API.
    ///
    /// # Errors
    /// [`FsedError::UnexpectedPacket`] outside a frame or for an index below the next one.
    #[cfg(feature = "testing")]
    #[doc(hidden)]
    pub fn set_next_message_index(&mut self, index: u32) -> Result<(), FsedError> {
        let frame = self.frame.as_mut().ok_or(FsedError::UnexpectedPacket)?;
        if index < frame.next_index {
            return Err(FsedError::UnexpectedPacket);
        }
        frame.next_index = index;
        Ok(())
    }

    /// Protects one original CSI-2 packet in place (`packet` holds exactly one packet: header
    /// with ECC, payload and CRC-16 for a long packet; the header form of the settings) and
    /// writes the FSED packets to insert around it into `out` (at most [`MAX_INSERTED_LEN`]
    /// bytes). Its ECC is checked first, its CRC-16 after the other checks and before anything
    /// moves; under SV-1 in the pass that encrypts it (on a mismatch the keystream is applied
    /// again: the packet is as it was given).
    ///
    /// # Errors
    /// Nothing is written, the packet is left as it was and no state moves (frame, indices,
    /// scopes, key usage) on:
    /// - [`FsedError::Framing`] / [`FsedError::Fusa`] for a malformed packet;
    /// - [`FsedError::Config`] with [`ConfigError::BufferTooSmall`] when `out` is too small,
    ///   [`ConfigError::VirtualChannel`] for a packet of another virtual channel;
    /// - [`FsedError::UnexpectedPacket`] for FS inside a frame, anything else outside one,
    ///   pixel data after the bottom block, or a packet of the FSED data type;
    /// - [`FsedError::NotConfigured`] at FS without configuration or key;
    /// - [`FsedError::Security`] with `KeyExhausted` when the key reached its hard limit or the
    ///   frame counter its hard limit (`u32::MAX`: restart the stream), and with
    ///   `LimitExceeded` when the packet's scope, with this packet and its tag record, would
    ///   take more MAC input than the key's
    ///   [`max_mac_input`](cse_core::keys::UsageLimits::max_mac_input) (see
    ///   [`KeyMaterial::with_max_mac_input`]);
    /// - [`FsedError::MessageIndexExhausted`] for an original packet that would get message
    ///   index `u32::MAX` (tag records carry the index after their last packet): end the frame
    ///   (FE takes no index and is always accepted);
    /// - [`FsedError::TooManyScopes`], [`FsedError::MixedKeyFamilies`] (at FS, also for a key
    ///   pinned to the other MAC algorithm).
    pub fn protect(&mut self, packet: &mut [u8], out: &mut [u8]) -> Result<Inserted, FsedError> {
        let view = csi2::Packet::new_checked(&*packet)?;
        // The payload's CRC-16 is checked below, after the other checks and before anything
        // moves (under SV-1 in the encryption pass).
        let (repr, _) = csi2::Repr::parse_header(&view, self.settings.form)?;
        if packet.len() != repr.buffer_len() {
            return Err(FsedError::Wire(wire::WireError::TrailingData(
                packet.len().saturating_sub(repr.buffer_len()),
            )));
        }
        if repr.vc != self.settings.vc {
            return Err(FsedError::Config(ConfigError::VirtualChannel(
                repr.vc.get(),
            )));
        }
        if repr.data_type == self.settings.profile.dt_fsed {
            return Err(FsedError::UnexpectedPacket);
        }
        if repr.data_type == DataType::FS {
            return self.start_frame(&repr, out);
        }
        if repr.data_type == DataType::FE {
            return self.end_frame(&repr, out);
        }
        let Some(frame) = self.frame.as_mut() else {
            return Err(FsedError::UnexpectedPacket);
        };
        let block = frame.tracker.classify(repr.data_type)?;
        let closing = block != frame.tracker.block();
        let cfg = *frame.config.block(block);
        let prot = protected(&cfg);
        let kind = ScopeKind::for_mode(cfg.tag_mode, repr.data_type.0);
        // Every check before any state moves or any byte is written.
        let needed = if closing { open_records_len(frame) } else { 0 };
        if out.len() < needed {
            return Err(FsedError::Config(ConfigError::BufferTooSmall {
                needed,
                available: out.len(),
            }));
        }
        let open = frame.scopes.iter().flatten().count();
        let closes = if closing { open } else { 0 };
        let existing = if closing || !prot {
            None
        } else {
            find_scope(&frame.scopes, block, kind)
        };
        if prot && existing.is_none() && open - closes >= MAX_OPEN_SCOPES {
            return Err(FsedError::TooManyScopes);
        }
        let idx = frame.next_index;
        let next_index = idx.checked_add(1).ok_or(FsedError::MessageIndexExhausted)?;
        let mut tracker = frame.tracker;
        let line = tracker.advance(block, repr.data_type.is_long());
        let encrypt = prot && cfg.sv.encrypts() && repr.data_type.is_long();
        let pn = PacketNumber::new(frame.fc, idx);
        let entry = self.keys.get(frame.config.key_id)?;
        let mut usage = entry.usage;
        // The bytes `Scope::absorb` will cover (a short packet has no payload).
        let covered = if repr.data_type.is_long() {
            cfg.sv
                .covered_payload(line, usize::from(repr.word_count))
                .len()
        } else {
            0
        };
        if prot {
            let before = existing.map_or(SCOPE_OPEN_INPUT, |i| frame.scope_input[i]);
            usage.check_mac_input(before + packet_input(covered) + RECORD_INPUT)?;
        }
        // Key usage, counted on a copy: one invocation per tag record and per SV-1 keystream.
        let mut status = UsageStatus::Ok;
        for _ in 0..closes {
            status = status.max(usage.record(PacketNumber::scope(frame.fc))?);
        }
        if encrypt {
            status = status.max(usage.record(pn)?);
        }
        // The payload's CRC-16, the last check. Under SV-1 the payload is encrypted here, its
        // CRC-16 checked and the ciphertext's computed in the same pass; on a mismatch the
        // keystream is applied again, so the packet is as it was given.
        if encrypt {
            let salt = entry.material.salt();
            let key = self.frame_keys.get(block)?;
            let iv = frame.params.iv(salt, block, ScopeKind::Message, pn)?;
            let mut view = csi2::Packet::new_checked(&mut *packet)?;
            let received = view.crc().ok_or(FsedError::Internal)?;
            let (computed, crc) = key.apply_keystream_crc16(&iv, view.payload_mut())?;
            if computed != received {
                key.apply_keystream(&iv, view.payload_mut())?;
                return Err(csi2::Error::CrcMismatch { computed, received }.into());
            }
            view.set_crc(crc);
        } else {
            csi2::Packet::new_checked(&*packet)?.verify_crc()?;
        }
        // Commit.
        let entry = self.keys.get_mut(frame.config.key_id)?;
        entry.usage = usage;
        let salt = entry.material.salt();
        frame.tracker = tracker;
        let at = if closing {
            close_all(&self.settings, frame, &self.frame_keys, false, out)?
        } else {
            0
        };
        frame.next_index = next_index;
        if prot {
            let key = self.frame_keys.get(block)?;
            let i = match existing {
                Some(i) => i,
                None => {
                    let i = frame
                        .scopes
                        .iter()
                        .position(Option::is_none)
                        .ok_or(FsedError::TooManyScopes)?;
                    let mac = frame.params.open_scope(
                        key,
                        salt,
                        &cfg,
                        block,
                        kind,
                        frame.fc,
                        &frame.header,
                    )?;
                    frame.scopes[i] = Some(Scope {
                        block,
                        key_block: block,
                        kind,
                        mac,
                        packets: 0,
                        bytes: 0,
                        first_index: idx,
                    });
                    frame.scope_input[i] = SCOPE_OPEN_INPUT;
                    i
                }
            };
            // Encrypted above under SV-1.
            let view = csi2::Packet::new_checked(&*packet)?;
            let scope = frame.scopes[i].as_mut().ok_or(FsedError::Internal)?;
            scope.absorb(
                self.frame_keys.get(scope.key_block)?,
                &cfg,
                idx,
                self.settings.vc.get(),
                repr.data_type,
                repr.word_count,
                view.payload(),
                line,
            );
            frame.scope_input[i] += packet_input(covered);
        }
        Ok(Inserted {
            before: at,
            after: 0,
            usage: status,
        })
    }

    fn start_frame(&mut self, repr: &csi2::Repr, out: &mut [u8]) -> Result<Inserted, FsedError> {
        if self.frame.is_some() {
            return Err(FsedError::UnexpectedPacket);
        }
        let config = self.config.ok_or(FsedError::NotConfigured)?;
        let fc = self.next_fc;
        // The key's frame hard limit refuses `u32::MAX` first; checked anyway.
        let next_fc = fc
            .checked_add(1)
            .ok_or(FsedError::Security(SecurityError::KeyExhausted))?;
        let entry = self
            .keys
            .get(config.key_id)
            .map_err(|_| FsedError::NotConfigured)?;
        check_frame(&config, &entry.material)?;
        let alg = entry.check_pin(&config)?;
        let needed = outer_len(FRAME_HEADER_LEN);
        if out.len() < needed {
            return Err(FsedError::Config(ConfigError::BufferTooSmall {
                needed,
                available: out.len(),
            }));
        }
        // The frame start itself computes no tag: its frame header is covered by every scope.
        let status = entry.usage.check_frame(fc)?;
        // In place; on an error nothing changed (and outside a frame the keys are unused).
        if self.frame_keys_for != Some((config.key_id, config)) {
            self.frame_keys.expand_into(&config, &entry.material)?;
            self.frame_keys_for = Some((config.key_id, config));
        }
        let mut header = [0u8; FRAME_HEADER_LEN];
        wire::Repr::FrameHeader(FrameHeader {
            frame_counter: fc,
            frame_number: repr.word_count,
            config,
        })
        .emit(&mut header, &self.settings.profile)?;
        // Commit.
        self.keys.activate(config.key_id)?;
        let entry = self.keys.get_mut(config.key_id)?;
        entry.pinned = entry.pinned.or(alg);
        let n = emit_fsed(&self.settings, &header, out)?;
        self.frame = Some(TxFrame {
            fc,
            frame_number: repr.word_count,
            config,
            params: StreamParams {
                profile: self.settings.profile,
                direction: self.settings.direction,
                vc: self.settings.vc.get(),
                key_id: config.key_id,
            },
            header,
            tracker: BlockTracker::new(),
            next_index: 1,
            records: 0,
            scopes: [None, None, None, None],
            scope_input: [0; MAX_OPEN_SCOPES],
        });
        self.next_fc = next_fc;
        Ok(Inserted {
            before: 0,
            after: n,
            usage: status,
        })
    }

    fn end_frame(&mut self, repr: &csi2::Repr, out: &mut [u8]) -> Result<Inserted, FsedError> {
        let Some(frame) = self.frame.as_mut() else {
            return Err(FsedError::UnexpectedPacket);
        };
        if repr.word_count != frame.frame_number {
            return Err(FsedError::UnexpectedPacket);
        }
        let open = frame.scopes.iter().flatten().count();
        let seal = if open == 0 {
            seal_config(&frame.config).zip(seal_key_block(&frame.config))
        } else {
            None
        };
        let needed = if open > 0 {
            open_records_len(frame)
        } else {
            seal.map_or(0, |(c, _)| outer_len(record_len(c.tag_len.get())))
        };
        if out.len() < needed {
            return Err(FsedError::Config(ConfigError::BufferTooSmall {
                needed,
                available: out.len(),
            }));
        }
        let entry = self.keys.get(frame.config.key_id)?;
        let mut usage = entry.usage;
        let mut status = UsageStatus::Ok;
        if seal.is_some() {
            usage.check_mac_input(SCOPE_OPEN_INPUT + RECORD_INPUT)?;
        }
        for _ in 0..open + usize::from(seal.is_some()) {
            status = status.max(usage.record(PacketNumber::scope(frame.fc))?);
        }
        // Commit.
        let entry = self.keys.get_mut(frame.config.key_id)?;
        entry.usage = usage;
        let n = if open > 0 {
            close_all(&self.settings, frame, &self.frame_keys, true, out)?
        } else if let Some((cfg, kb)) = seal {
            let mac = frame.params.open_scope(
                self.frame_keys.get(kb)?,
                entry.material.salt(),
                &cfg,
                Block::Bottom,
                ScopeKind::Frame,
                frame.fc,
                &frame.header,
            )?;
            // No scope is open: the seal takes the first slot, so the record is written from
            // there like any other (no copy of the MAC state per call level).
            let slot = frame.scopes.first_mut().ok_or(FsedError::Internal)?;
            *slot = Some(Scope {
                block: Block::Bottom,
                key_block: kb,
                kind: ScopeKind::Frame,
                mac,
                packets: 0,
                bytes: 0,
                first_index: frame.next_index,
            });
            write_record(&self.settings, frame, &self.frame_keys, 0, &cfg, true, out)?
        } else {
            0
        };
        self.frame = None;
        Ok(Inserted {
            before: n,
            after: 0,
            usage: status,
        })
    }
}

fn open_records_len(frame: &TxFrame) -> usize {
    frame
        .scopes
        .iter()
        .flatten()
        .map(|s| outer_len(record_len(frame.config.block(s.block).tag_len.get())))
        .sum()
}

/// Writes one FSED packet (payload `payload`) at the start of `out`.
fn emit_fsed(settings: &Settings, payload: &[u8], out: &mut [u8]) -> Result<usize, FsedError> {
    let mut em = Emitter::new(out, settings.form);
    em.long(settings.vc, settings.profile.dt_fsed, payload)
        .map_err(|e| match e {
            csi2::Error::BufferTooSmall { needed, available } => {
                FsedError::Config(ConfigError::BufferTooSmall { needed, available })
            }
            other => FsedError::Framing(other),
        })?;
    Ok(em.len())
}

/// Closes every open scope, in the order they were opened, writing their tag records (the
/// caller checked everything and counted the key usage).
fn close_all(
    settings: &Settings,
    frame: &mut TxFrame,
    keys: &FrameKeys,
    last_of_frame: bool,
    out: &mut [u8],
) -> Result<usize, FsedError> {
    let mut order: [(u32, usize); MAX_OPEN_SCOPES] = [(u32::MAX, 0); MAX_OPEN_SCOPES];
    let mut n_open = 0;
    for (i, s) in frame.scopes.iter().enumerate() {
        if let Some(s) = s {
            order[n_open] = (s.first_index, i);
            n_open += 1;
        }
    }
    order[..n_open].sort_unstable();
    let mut at = 0;
    for (k, (_, i)) in order[..n_open].iter().enumerate() {
        let block = frame.scopes[*i].as_ref().ok_or(FsedError::Internal)?.block;
        let cfg = *frame.config.block(block);
        let last = last_of_frame && k + 1 == n_open;
        let dst = out.get_mut(at..).ok_or(FsedError::Internal)?;
        at += write_record(settings, frame, keys, *i, &cfg, last, dst)?;
    }
    Ok(at)
}

/// Writes the tag record of the scope in slot `slot` of `frame` and closes it (the caller
/// checked everything and counted the key usage). The scope is taken out of its slot here, not
/// by the callers, so its MAC state is not copied once per call level.
fn write_record(
    settings: &Settings,
    frame: &mut TxFrame,
    keys: &FrameKeys,
    slot: usize,
    cfg: &BlockConfig,
    last: bool,
    out: &mut [u8],
) -> Result<usize, FsedError> {
    let r = write_record_in_place(settings, frame, keys, slot, cfg, last, out);
    if r.is_err() {
        // As on success, the scope is closed.
        if let Some(s) = frame.scopes.get_mut(slot) {
            *s = None;
        }
    }
    r
}

/// [`write_record`]: the MAC state is updated where it lies and only moved out of its slot to
/// be finalized.
fn write_record_in_place(
    settings: &Settings,
    frame: &mut TxFrame,
    keys: &FrameKeys,
    slot: usize,
    cfg: &BlockConfig,
    last: bool,
    out: &mut [u8],
) -> Result<usize, FsedError> {
    let scope = frame
        .scopes
        .get_mut(slot)
        .and_then(Option::as_mut)
        .ok_or(FsedError::Internal)?;
    let repr = TagRecord {
        frame_counter: frame.fc,
        key_id: frame.config.key_id,
        scope: scope.kind,
        block: scope.block,
        tag_len: cfg.tag_len,
        covered_packets: scope.packets,
        covered_bytes: scope.bytes,
        first_index: scope.first_index,
        end_index: frame.next_index,
        record_index: frame.records,
        last,
        tag: [0; MAX_TAG_LEN],
    };
    let mut buf = [0u8; record_len(MAX_TAG_LEN)];
    let len = wire::Repr::TagRecord(repr).emit(&mut buf, &settings.profile)?;
    let payload = buf.get_mut(..len).ok_or(FsedError::Internal)?;
    let key = keys.get(scope.key_block)?;
    scope.mac.update(
        key,
        &covered_prefix(settings.vc.get(), settings.profile.dt_fsed.0, len as u16),
    );
    scope.mac.update(
        key,
        payload.get(..RECORD_FIXED_LEN).ok_or(FsedError::Internal)?,
    );
    let tag = frame
        .scopes
        .get_mut(slot)
        .and_then(Option::take)
        .ok_or(FsedError::Internal)?
        .mac
        .finalize(key, cfg.tag_len);
    let mut p = wire::Packet::new_checked(&mut *payload)?;
    p.tag_mut().copy_from_slice(tag.as_bytes());
    p.fill_crc(&settings.profile);
    let n = emit_fsed(settings, payload, out)?;
    frame.records = frame.records.wrapping_add(1);
    Ok(n)
}

#[cfg(feature = "bytes")]
#[cfg_attr(docsrs, doc(cfg(feature = "bytes")))]
impl Transmitter {
    /// [`Transmitter::protect`], appending the result to `out`: the FSED packets inserted
    /// before the original, the original packet (encrypted in place under SV-1) and those
    /// inserted after it, back to back as on the wire. Nothing is appended on an error.
    ///
    /// # Errors
    /// As [`Transmitter::protect`]; [`ConfigError::BufferTooSmall`] (checked first, nothing
    /// protected) when `out` cannot take `packet.len()` + [`MAX_INSERTED_LEN`] more bytes.
    pub fn protect_buf<B: bytes::BufMut>(
        &mut self,
        packet: &mut [u8],
        out: &mut B,
    ) -> Result<Inserted, FsedError> {
        let needed = packet.len().saturating_add(MAX_INSERTED_LEN);
        if out.remaining_mut() < needed {
            return Err(FsedError::Config(ConfigError::BufferTooSmall {
                needed,
                available: out.remaining_mut(),
            }));
        }
        let mut ins = [0u8; MAX_INSERTED_LEN];
        let r = self.protect(packet, &mut ins)?;
        out.put_slice(r.before(&ins));
        out.put_slice(packet);
        out.put_slice(r.after(&ins));
        Ok(r)
    }
}
