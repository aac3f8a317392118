//! What the transmitter and the receiver share: key material, settings, block tracking, the
//! MAC-input and IV construction, and open scopes.

use cse_core::context::{Context, covered_prefix};
use cse_core::crypto::{MacState, SuiteKey};
use cse_core::csi2::{DataType, HeaderForm, VirtualChannel};
use cse_core::keys::{KeyUsage, Salt, SecretKey, UsageLimits};
use cse_core::nonce::{Iv, PacketNumber, StreamId};
use cse_core::{
    Block, BlockConfig, CipherSuite, ConfigError, Direction, FrameConfig, KeyId, MacAlgorithm,
    Profile, Protocol, ScopeKind, SecurityVariant, TagLen, TagMode,
};

use crate::error::FsedError;
use crate::wire::FRAME_HEADER_LEN;

/// At most this many scopes are open at once (they all belong to the current block: the
/// per-data-type scopes of one block, e.g. pixel lines, LS and LE).
pub const MAX_OPEN_SCOPES: usize = 4;

/// The key material of one key id: the key, the separate MAC key of CTR+CMAC suites, the IV
/// salt and the shortest tag length it may be used with. Not `Clone`; zeroized on drop (its
/// parts are). Prints nothing secret.
///
/// One key serves every block of a frame: GMAC and GCM blocks share `key` (their IVs differ by
/// the block and scope fields of the stream id); CMAC blocks use `mac_key` when present, else
/// `key`; CTR+CMAC blocks encrypt with `key` and MAC with `mac_key`. A frame that mixes
/// GMAC-family and CMAC-family suites, or key sizes, is refused
/// ([`FsedError::MixedKeyFamilies`]), so no key is ever used with two MAC algorithms.
#[derive(Debug)]
pub struct KeyMaterial {
    key: SecretKey,
    mac_key: Option<SecretKey>,
    salt: Salt,
    min_tag_len: TagLen,
}

impl KeyMaterial {
    /// Key material; tags of 16 bytes only unless [`KeyMaterial::with_min_tag_len`] says
    /// otherwise.
    pub fn new(key: SecretKey, mac_key: Option<SecretKey>, salt: Salt) -> Self {
        KeyMaterial {
            key,
            mac_key,
            salt,
            min_tag_len: TagLen::L16,
        }
    }

    /// Allows tags down to `len` (the key's usage limits then follow NIST SP 800-38D
    /// Appendix C for that length, see [`UsageLimits`]).
    #[must_use]
    pub fn with_min_tag_len(mut self, len: TagLen) -> Self {
        self.min_tag_len = len;
        self
    }

    /// The shortest tag length allowed.
    pub fn min_tag_len(&self) -> TagLen {
        self.min_tag_len
    }

    pub(crate) fn salt(&self) -> &Salt {
        &self.salt
    }

    pub(crate) fn suite_key(&self, suite: CipherSuite) -> Result<SuiteKey, ConfigError> {
        match suite.mac() {
            MacAlgorithm::Gmac => SuiteKey::new(suite, &self.key, None),
            MacAlgorithm::Cmac if suite.needs_mac_key() => {
                SuiteKey::new(suite, &self.key, self.mac_key.as_ref())
            }
            MacAlgorithm::Cmac => {
                SuiteKey::new(suite, self.mac_key.as_ref().unwrap_or(&self.key), None)
            }
        }
    }
}

/// A key id's material with its usage counters.
#[derive(Debug)]
pub(crate) struct KeyEntry {
    pub(crate) material: KeyMaterial,
    pub(crate) usage: KeyUsage,
}

impl KeyEntry {
    pub(crate) fn new(material: KeyMaterial, profile: &Profile) -> Result<Self, ConfigError> {
        let limits = UsageLimits::new(material.min_tag_len, profile)?;
        Ok(KeyEntry {
            material,
            usage: KeyUsage::new(limits),
        })
    }
}

/// Settings of one FSED stream (one direction of one virtual channel). FSED packets travel on
/// the virtual channel of the frame they protect.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The profile (data type of FSED packets, CRC-32 variant, suite ids, format version).
    pub profile: Profile,
    /// Direction of the stream.
    pub direction: Direction,
    /// The virtual channel of the protected frames and of the FSED packets.
    pub vc: VirtualChannel,
    /// CSI-2 header form of all packets.
    pub form: HeaderForm,
}

impl Settings {
    /// Sensor to controller, `draft-1`, D-PHY headers.
    pub const fn new(vc: VirtualChannel) -> Self {
        Settings {
            profile: Profile::DRAFT_1,
            direction: Direction::SensorToController,
            vc,
            form: HeaderForm::Dphy,
        }
    }
}

/// Checks a frame configuration for use with one key under FSED.
pub(crate) fn check_frame(config: &FrameConfig, material: &KeyMaterial) -> Result<(), FsedError> {
    config.validate().map_err(FsedError::Config)?;
    let mut family: Option<(MacAlgorithm, cse_core::KeySize)> = None;
    for b in Block::ALL {
        let c = config.block(b);
        if !protected(c) {
            continue;
        }
        if c.tag_mode == TagMode::PerMessage {
            return Err(FsedError::PerMessageUnsupported);
        }
        if c.tag_len < material.min_tag_len {
            return Err(FsedError::Config(ConfigError::TagLen(c.tag_len.as_u8())));
        }
        let f = (c.suite.mac(), c.suite.key_size());
        match family {
            None => family = Some(f),
            Some(prev) if prev != f => return Err(FsedError::MixedKeyFamilies),
            Some(_) => {}
        }
    }
    Ok(())
}

/// Whether any block of the frame carries tags.
pub(crate) fn any_protected(config: &FrameConfig) -> bool {
    Block::ALL.iter().any(|b| protected(config.block(*b)))
}

/// The expanded suite keys of one frame, one per protected block.
pub(crate) struct FrameKeys {
    blocks: [Option<SuiteKey>; 3],
}

impl FrameKeys {
    pub(crate) fn expand(config: &FrameConfig, material: &KeyMaterial) -> Result<Self, FsedError> {
        let mut blocks: [Option<SuiteKey>; 3] = [None, None, None];
        for (slot, b) in blocks.iter_mut().zip(Block::ALL) {
            let c = config.block(b);
            if protected(c) {
                *slot = Some(material.suite_key(c.suite).map_err(FsedError::Config)?);
            }
        }
        Ok(FrameKeys { blocks })
    }

    pub(crate) fn get(&self, b: Block) -> Result<&SuiteKey, FsedError> {
        self.blocks
            .get(usize::from(b.code()))
            .and_then(Option::as_ref)
            .ok_or(FsedError::Internal)
    }
}

/// Everything that names one stream: used for contexts and IVs.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StreamParams {
    pub(crate) profile: Profile,
    pub(crate) direction: Direction,
    pub(crate) vc: u8,
    pub(crate) key_id: KeyId,
}

impl StreamParams {
    pub(crate) fn context(
        &self,
        cfg: &BlockConfig,
        block: Block,
        scope: ScopeKind,
        number: u64,
    ) -> [u8; 32] {
        Context {
            protocol: Protocol::Fsed,
            direction: self.direction,
            scope,
            suite: cfg.suite,
            tag_len: cfg.tag_len,
            sv: cfg.sv,
            block,
            orig_vc: self.vc,
            key_id: self.key_id,
            number,
        }
        .encode(&self.profile)
    }

    pub(crate) fn iv(
        &self,
        salt: &Salt,
        block: Block,
        scope: ScopeKind,
        pn: PacketNumber,
    ) -> Result<Iv, FsedError> {
        let stream = StreamId::new(self.direction, Protocol::Fsed, scope, block, self.vc)
            .map_err(FsedError::Config)?;
        Ok(Iv::new(salt, stream, pn))
    }

    /// Opens the MAC of scope `(block, kind)` of frame `fc`: context block, then the frame
    /// header packet as the first covered packet.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn open_scope(
        &self,
        key: &SuiteKey,
        salt: &Salt,
        cfg: &BlockConfig,
        block: Block,
        kind: ScopeKind,
        fc: u32,
        header: &[u8; FRAME_HEADER_LEN],
    ) -> Result<MacState, FsedError> {
        let spn = PacketNumber::scope(fc);
        let iv = self.iv(salt, block, kind, spn)?;
        let mut mac = key.mac(&iv);
        mac.update(&self.context(cfg, block, kind, spn.get()));
        mac.update(&covered_prefix(
            self.vc,
            self.profile.dt_fsed.0,
            FRAME_HEADER_LEN as u16,
        ));
        mac.update(header);
        Ok(mac)
    }
}

/// Tracks which block the packets of a frame belong to (DESIGN section 4): the top block
/// until the first long packet that is not embedded data, which starts the image block;
/// embedded data after it starts the bottom block. Short packets (LS, LE, generic) belong to
/// the block in effect when they arrive. FS and FE are handled by the agents.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BlockTracker {
    pub(crate) block: Block,
    /// Long packets seen per block (the SV-3 line index).
    lines: [u32; 3],
}

impl BlockTracker {
    pub(crate) const fn new() -> Self {
        BlockTracker {
            block: Block::Top,
            lines: [0; 3],
        }
    }

    /// The block of the next packet with data type `dt`, without moving.
    pub(crate) fn classify(&self, dt: DataType) -> Result<Block, FsedError> {
        if dt.is_frame_sync() {
            return Err(FsedError::UnexpectedPacket);
        }
        if dt.is_short() {
            return Ok(self.block);
        }
        Ok(match (self.block, dt == DataType::EMBEDDED) {
            (Block::Top, true) => Block::Top,
            (Block::Top, false) | (Block::Image, false) => Block::Image,
            (Block::Image, true) | (Block::Bottom, true) => Block::Bottom,
            (Block::Bottom, false) => return Err(FsedError::UnexpectedPacket),
        })
    }

    /// Moves to `block` and, for a long packet, returns its line index in the block.
    pub(crate) fn advance(&mut self, block: Block, long: bool) -> u32 {
        self.block = block;
        let slot = &mut self.lines[usize::from(block.code()) % 3];
        let idx = *slot;
        if long {
            *slot = slot.saturating_add(1);
        }
        idx
    }
}

/// An open per-data-type or per-frame scope.
pub(crate) struct Scope {
    pub(crate) block: Block,
    pub(crate) kind: ScopeKind,
    pub(crate) mac: MacState,
    pub(crate) packets: u32,
    pub(crate) bytes: u32,
    pub(crate) first_index: u32,
}

impl Scope {
    /// Absorbs one original packet: its message index (4, LE), the covered prefix, then its
    /// covered payload bytes.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn absorb(
        &mut self,
        cfg: &BlockConfig,
        index: u32,
        vc: u8,
        dt: DataType,
        wc: u16,
        payload: &[u8],
        line: u32,
    ) {
        let covered = payload
            .get(cfg.sv.covered_payload(line, payload.len()))
            .unwrap_or_default();
        self.mac.update(&index.to_le_bytes());
        self.mac.update(&covered_prefix(vc, dt.0, wc));
        self.mac.update(covered);
        self.packets = self.packets.saturating_add(1);
        self.bytes = self
            .bytes
            .saturating_add(u32::try_from(covered.len()).unwrap_or(u32::MAX));
    }
}

/// Finds the open scope `(block, kind)`.
pub(crate) fn find_scope(
    scopes: &[Option<Scope>; MAX_OPEN_SCOPES],
    block: Block,
    kind: ScopeKind,
) -> Option<usize> {
    scopes.iter().position(|s| {
        s.as_ref()
            .is_some_and(|s| s.block == block && s.kind == kind)
    })
}

/// Whether a block carries tags (not SV-5).
pub(crate) fn protected(cfg: &BlockConfig) -> bool {
    cfg.sv != SecurityVariant::NoSecurity
}

/// The block and configuration of the frame seal: the record a transmitter writes before FE
/// when no scope is open but the frame has a protected block. It names the bottom block (whose
/// per-frame scope can only close at FE, so its IV is never used twice) and uses the
/// configuration of the last protected block.
pub(crate) fn seal_config(config: &FrameConfig) -> Option<BlockConfig> {
    Block::ALL
        .iter()
        .rev()
        .map(|b| *config.block(*b))
        .find(protected)
        .map(|c| BlockConfig {
            tag_mode: TagMode::PerFrame,
            ..c
        })
}

/// The suite key of the frame seal: the key of the last protected block.
pub(crate) fn seal_key_block(config: &FrameConfig) -> Option<Block> {
    Block::ALL
        .iter()
        .rev()
        .copied()
        .find(|b| protected(config.block(*b)))
}
