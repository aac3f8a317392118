//! The transmitter agent: original CSI-2 packets of one virtual channel in, SEP packets out.

use cse_core::csi2::{self, DataType, FOOTER_LEN, HEADER_LEN as CSI2_HEADER_LEN, payload_crc};
use cse_core::keys::{KeySlots, UsageStatus};
use cse_core::nonce::PacketNumber;
use cse_core::{Block, ConfigError, FrameConfig, KeyId, ScopeKind, TagMode};

use crate::agent::{
    BlockTracker, FrameKeys, KeyEntry, KeyMaterial, MAX_OPEN_SCOPES, Scope, Settings, StreamParams,
    check_frame, classify, covered, find_scope, frame_start_config, frame_start_key_block, prefix,
    protected, scope_kind,
};
use crate::error::SepError;
use crate::wire::{self, CLOSE_BODY_LEN, FrameExt, Header, Layout, Phase};

/// What one [`Transmitter::protect`] call wrote.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use = "the SEP packets are in the output buffer only up to `len`"]
pub struct Protected {
    /// Bytes written to the output buffer (whole SEP packets, back to back).
    pub len: usize,
    /// Number of SEP packets written: the packet itself, preceded by the close records of the
    /// scopes it ended.
    pub packets: usize,
    /// The key passed a soft usage limit: install the next key generation and switch to it at
    /// a frame boundary ([`Transmitter::set_config`] with the new key id).
    pub needs_rekey: bool,
}

struct TxFrame {
    fc: u32,
    config: FrameConfig,
    params: StreamParams,
    keys: FrameKeys,
    tracker: BlockTracker,
    next_index: u32,
    scopes: [Option<Scope>; MAX_OPEN_SCOPES],
}

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
    /// [`SepError::Config`] for an invalid configuration.
    pub fn set_config(&mut self, config: FrameConfig) -> Result<(), SepError> {
        config.validate()?;
        self.config = Some(config);
        Ok(())
    }

    /// Protects one original CSI-2 packet given as bytes (header with ECC, payload and CRC-16
    /// footer for a long packet; the header form of the settings). Its ECC and CRC-16 are
    /// checked first.
    ///
    /// # Errors
    /// See [`Transmitter::protect_repr`]; also [`SepError::Framing`] / [`SepError::Fusa`] for a
    /// malformed original packet.
    pub fn protect(&mut self, packet: &[u8], out: &mut [u8]) -> Result<Protected, SepError> {
        let view = csi2::Packet::new_checked(packet)?;
        let (repr, _) = csi2::Repr::parse(&view, self.settings.form)?;
        let payload = if repr.is_short() {
            &[][..]
        } else {
            packet
                .get(CSI2_HEADER_LEN..CSI2_HEADER_LEN + usize::from(repr.word_count))
                .ok_or(SepError::Internal)?
        };
        self.protect_repr(&repr, payload, out)
    }

    /// Protects one original packet given as its header values and payload. Writes the close
    /// records of the scopes it ends, then its SEP packet, into `out`.
    ///
    /// # Errors
    /// - [`SepError::Config`] with [`ConfigError::BufferTooSmall`] when `out` cannot hold the
    ///   output (nothing is written, no state changes); [`ConfigError::VirtualChannel`] for a
    ///   packet of another virtual channel;
    /// - [`SepError::UnexpectedPacket`] for FS inside a frame, anything else outside one, or
    ///   pixel data after the bottom block;
    /// - [`SepError::NotConfigured`] at FS without configuration or key;
    /// - [`SepError::Security`] with `KeyExhausted` when the key reached its hard limit;
    /// - [`SepError::TooManyScopes`], [`SepError::MixedKeyFamilies`].
    pub fn protect_repr(
        &mut self,
        repr: &csi2::Repr,
        payload: &[u8],
        out: &mut [u8],
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
        let single = !protected(&cfg) || cfg.tag_mode == TagMode::PerMessage || is_fe;
        // Size check before any state moves.
        let mut needed = 0usize;
        if closing {
            for s in frame.scopes.iter().flatten() {
                needed += outer_len(close_len(&frame.config, s.block));
            }
        }
        let tag = if protected(&cfg) && single {
            cfg.tag_len.get()
        } else {
            0
        };
        let own = outer_len(wire::HEADER_LEN + body_len + tag + wire::CRC_LEN);
        needed += own;
        if out.len() < needed {
            return Err(SepError::Config(ConfigError::BufferTooSmall {
                needed,
                available: out.len(),
            }));
        }
        if !single
            && !closing
            && find_scope(
                &mut frame.scopes,
                block,
                scope_kind(cfg.tag_mode, repr.data_type.0),
            )
            .is_none()
            && frame.scopes.iter().all(Option::is_some)
        {
            return Err(SepError::TooManyScopes);
        }
        let mut at = 0usize;
        let mut packets = 0usize;
        let mut rekey = false;
        if closing {
            for i in 0..MAX_OPEN_SCOPES {
                if let Some(scope) = frame.scopes.get_mut(i).and_then(Option::take) {
                    let (n, r) =
                        write_close(&self.settings, &mut self.keys, frame, scope, &mut out[at..])?;
                    at += n;
                    packets += 1;
                    rekey |= r;
                }
            }
        }
        let line = frame.tracker.advance(block, !repr.is_short());
        let (n, r) = write_packet(
            &self.settings,
            &mut self.keys,
            frame,
            repr,
            payload,
            block,
            line,
            single,
            None,
            &mut out[at..],
        )?;
        at += n;
        packets += 1;
        rekey |= r;
        if is_fe {
            self.frame = None;
        }
        Ok(Protected {
            len: at,
            packets,
            needs_rekey: rekey,
        })
    }

    fn start_frame(&mut self, repr: &csi2::Repr, out: &mut [u8]) -> Result<Protected, SepError> {
        if self.frame.is_some() {
            return Err(SepError::UnexpectedPacket);
        }
        let config = self.config.ok_or(SepError::NotConfigured)?;
        let fc = self.next_fc;
        let entry = self
            .keys
            .get_mut(config.key_id)
            .map_err(|_| SepError::NotConfigured)?;
        check_frame(&config, &entry.material)?;
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
        let status = entry.usage.record_frame(fc)?;
        let keys = FrameKeys::expand(&config, &entry.material)?;
        self.keys.activate(config.key_id)?;
        let mut frame = TxFrame {
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
            next_index: 0,
            scopes: [None, None, None, None],
        };
        let ext = FrameExt {
            frame_counter: fc,
            config,
        };
        let (n, r) = write_packet(
            &self.settings,
            &mut self.keys,
            &mut frame,
            repr,
            &[],
            Block::Top,
            0,
            true,
            Some(ext),
            out,
        )?;
        self.next_fc = fc.wrapping_add(1);
        self.frame = Some(frame);
        Ok(Protected {
            len: n,
            packets: 1,
            needs_rekey: r || status.past_soft_limit(),
        })
    }
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

/// Writes the CRC-32 at the end of the SEP payload and the CSI-2 CRC-16 footer after it.
fn finish(settings: &Settings, slot: &mut [u8], layout: &Layout) {
    let crc = wire::crc32(&settings.profile, &slot[..layout.crc.start]);
    slot[layout.crc.clone()].copy_from_slice(&crc.to_le_bytes());
    let crc16 = payload_crc(&slot[..layout.total()]);
    slot[layout.total()..layout.total() + FOOTER_LEN].copy_from_slice(&crc16.to_le_bytes());
}

fn record(keys: &mut KeySlots<KeyEntry>, id: KeyId, pn: PacketNumber) -> Result<bool, SepError> {
    let entry = keys.get_mut(id)?;
    Ok(entry.usage.record(pn)? == UsageStatus::NeedsRekey)
}

#[allow(clippy::too_many_arguments)]
fn write_packet(
    settings: &Settings,
    keys: &mut KeySlots<KeyEntry>,
    frame: &mut TxFrame,
    repr: &csi2::Repr,
    payload: &[u8],
    block: Block,
    line: u32,
    single: bool,
    ext: Option<FrameExt>,
    out: &mut [u8],
) -> Result<(usize, bool), SepError> {
    // The FS is tagged with the frame-start configuration (the first protected block's when
    // the top block is SV-5), under the key of that block.
    let (cfg, key_block) = if ext.is_some() {
        let kb = frame_start_key_block(&frame.config).unwrap_or(block);
        (frame_start_config(&frame.config), kb)
    } else {
        (*frame.config.block(block), block)
    };
    let prot = protected(&cfg);
    let idx = frame.next_index;
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
    let slot = outer(settings, out, layout.total())?;
    sep.emit_header(slot, &settings.profile)?;
    slot[layout.body.clone()].copy_from_slice(payload);
    let mut rekey = false;
    if prot {
        rekey = record(keys, frame.config.key_id, pn)?;
        let material = &keys.get(frame.config.key_id)?.material;
        let key = frame.keys.get(key_block)?;
        let salt = material.salt();
        let iv = frame.params.iv(salt, block, ScopeKind::Message, pn)?;
        let pre = prefix(settings.vc.get(), repr.data_type.0, repr.word_count);
        let (head, rest) = slot.split_at_mut(layout.body.start);
        let (body, rest) = rest.split_at_mut(layout.body.len());
        if single {
            let ctx = frame
                .params
                .context(&cfg, block, ScopeKind::Message, pn.get());
            let tag = if cfg.sv.encrypts() {
                key.seal_in_place(&iv, &[&ctx, head, &pre], body, cfg.tag_len)
            } else {
                let mut m = key.mac(&iv);
                m.update(&ctx);
                m.update(head);
                m.update(&pre);
                m.update(
                    body.get(covered(&cfg, line, body.len()))
                        .unwrap_or_default(),
                );
                m.finalize(cfg.tag_len)
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
                    let spn = PacketNumber::scope(frame.fc);
                    let siv = frame.params.iv(salt, block, kind, spn)?;
                    let mut mac = key.mac(&siv);
                    mac.update(&frame.params.context(&cfg, block, kind, spn.get()));
                    frame.scopes[i] = Some(Scope {
                        block,
                        kind,
                        mac,
                        count: 0,
                    });
                    i
                }
            };
            let scope = frame.scopes[i].as_mut().ok_or(SepError::Internal)?;
            scope.mac.update(head);
            scope.mac.update(&pre);
            scope.mac.update(
                body.get(covered(&cfg, line, body.len()))
                    .unwrap_or_default(),
            );
            scope.count = scope.count.saturating_add(1);
        }
    }
    finish(settings, slot, &layout);
    frame.next_index = idx.wrapping_add(1);
    Ok((outer_len(layout.total()), rekey))
}

fn write_close(
    settings: &Settings,
    keys: &mut KeySlots<KeyEntry>,
    frame: &mut TxFrame,
    scope: Scope,
    out: &mut [u8],
) -> Result<(usize, bool), SepError> {
    let cfg = *frame.config.block(scope.block);
    let idx = frame.next_index;
    let pn = PacketNumber::new(frame.fc, idx);
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
    let rekey = record(keys, frame.config.key_id, pn)?;
    let mut mac = scope.mac;
    mac.update(&slot[layout.header.clone()]);
    mac.update(&prefix(settings.vc.get(), dt, CLOSE_BODY_LEN as u16));
    mac.update(&count);
    let tag = mac.finalize(cfg.tag_len);
    slot[layout.tag.clone()].copy_from_slice(tag.as_bytes());
    finish(settings, slot, &layout);
    frame.next_index = idx.wrapping_add(1);
    Ok((outer_len(layout.total()), rekey))
}
