//! What the transmitter and the receiver share: key material, settings, block tracking, the
//! MAC-input and IV construction, and open scopes.

pub use cse_core::agent::KeyMaterial;
pub(crate) use cse_core::agent::{BlockTracker, FrameKeys, KeyEntry, protected};
use cse_core::context::{Context, covered_prefix};
use cse_core::crypto::{MacState, SuiteKey};
use cse_core::csi2::{DataType, HeaderForm, VirtualChannel};
use cse_core::keys::Salt;
use cse_core::nonce::{Iv, PacketNumber, StreamId};
use cse_core::{
    Block, BlockConfig, Direction, FrameConfig, KeyId, Profile, Protocol, ScopeKind, TagMode,
};

use crate::error::FsedError;
use crate::wire::FRAME_HEADER_LEN;

/// At most this many scopes are open at once (they all belong to the current block: the
/// per-data-type scopes of one block, e.g. pixel lines, LS and LE).
pub const MAX_OPEN_SCOPES: usize = 4;

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

/// Checks a frame configuration for use with one key under FSED: per-message tags are refused
/// (checked per protected block, before its tag length and key family).
pub(crate) fn check_frame(config: &FrameConfig, material: &KeyMaterial) -> Result<(), FsedError> {
    cse_core::agent::check_frame(config, material, |c| {
        if c.tag_mode == TagMode::PerMessage {
            return Err(FsedError::PerMessageUnsupported);
        }
        Ok(())
    })
}

/// Whether any block of the frame carries tags.
pub(crate) fn any_protected(config: &FrameConfig) -> bool {
    Block::ALL.iter().any(|b| protected(config.block(*b)))
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
        mac.update(key, &self.context(cfg, block, kind, spn.get()));
        mac.update(
            key,
            &covered_prefix(self.vc, self.profile.dt_fsed.0, FRAME_HEADER_LEN as u16),
        );
        mac.update(key, header);
        Ok(mac)
    }
}

/// An open per-data-type or per-frame scope.
pub(crate) struct Scope {
    pub(crate) block: Block,
    /// The block whose key opened the MAC (every later update and the record take that key:
    /// the MAC state is detached from it).
    pub(crate) key_block: Block,
    pub(crate) kind: ScopeKind,
    pub(crate) mac: MacState,
    pub(crate) packets: u32,
    pub(crate) bytes: u32,
    pub(crate) first_index: u32,
}

impl Scope {
    /// Absorbs one original packet: its message index (4, LE), the covered prefix, then its
    /// covered payload bytes; `key` is the key of `key_block`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn absorb(
        &mut self,
        key: &SuiteKey,
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
        // Index and prefix as one 8-byte piece (the same MAC input as two pieces, one call).
        let mut head = [0u8; 8];
        let (i, p) = head.split_at_mut(4);
        i.copy_from_slice(&index.to_le_bytes());
        p.copy_from_slice(&covered_prefix(vc, dt.0, wc));
        self.mac.update(key, &head);
        self.mac.update(key, covered);
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
