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

use crate::error::SepError;

/// At most this many scopes are open at once (they all belong to the current block: the
/// per-data-type scopes of one block, e.g. pixel lines, LS and LE).
pub const MAX_OPEN_SCOPES: usize = 4;

/// Settings of one SEP stream (one direction of one original virtual channel).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// The profile (data type of SEP packets, CRC-32 variant, suite ids, format version).
    pub profile: Profile,
    /// Direction of the stream.
    pub direction: Direction,
    /// The original virtual channel of the protected packets.
    pub vc: VirtualChannel,
    /// The virtual channel of the outer SEP packets (by default the original one).
    pub outer_vc: VirtualChannel,
    /// CSI-2 header form of the outer packets (and of the original packets given to the
    /// transmitter / returned by the receiver).
    pub form: HeaderForm,
}

impl Settings {
    /// Sensor to controller, `draft-1`, D-PHY headers, outer VC = original VC.
    pub const fn new(vc: VirtualChannel) -> Self {
        Settings {
            profile: Profile::DRAFT_1,
            direction: Direction::SensorToController,
            vc,
            outer_vc: vc,
            form: HeaderForm::Dphy,
        }
    }
}

/// The configuration the FS packet of a frame is protected with: the top block's when it is
/// protected, else the first protected block's (image, then bottom), else the top block's
/// (every block SV-5: the FS carries no tag). The FS is thereby tagged whenever any block of
/// the frame is protected, so its frame counter, key id and block configurations are always
/// authenticated.
pub(crate) fn frame_start_config(config: &FrameConfig) -> BlockConfig {
    Block::ALL
        .into_iter()
        .map(|b| *config.block(b))
        .find(protected)
        .unwrap_or(config.top)
}

/// The block whose key tags the FS: the top block when protected, else the first protected
/// block (`None` when every block is SV-5).
pub(crate) fn frame_start_key_block(config: &FrameConfig) -> Option<Block> {
    Block::ALL.into_iter().find(|b| protected(config.block(*b)))
}

/// Checks a frame configuration for use with one key.
pub(crate) fn check_frame(config: &FrameConfig, material: &KeyMaterial) -> Result<(), SepError> {
    cse_core::agent::check_frame(config, material, |_| Ok::<(), SepError>(()))
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
            protocol: Protocol::Sep,
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

    /// Opens the running MAC of scope `(block, kind)` of frame `fc` under `cfg`: the scope's IV
    /// (packet number `fc << 32`, its own stream-id scope field), then the context block.
    pub(crate) fn open_scope(
        &self,
        key: &SuiteKey,
        salt: &Salt,
        cfg: &BlockConfig,
        block: Block,
        kind: ScopeKind,
        fc: u32,
    ) -> Result<MacState, SepError> {
        let spn = PacketNumber::scope(fc);
        let mut mac = key.mac(&self.iv(salt, block, kind, spn)?);
        mac.update(key, &self.context(cfg, block, kind, spn.get()));
        Ok(mac)
    }

    pub(crate) fn iv(
        &self,
        salt: &Salt,
        block: Block,
        scope: ScopeKind,
        pn: PacketNumber,
    ) -> Result<Iv, SepError> {
        let stream = StreamId::new(self.direction, Protocol::Sep, scope, block, self.vc)
            .map_err(SepError::Config)?;
        Ok(Iv::new(salt, stream, pn))
    }
}

/// Which part of a packet's payload the MAC covers.
pub(crate) fn covered(cfg: &BlockConfig, line_index: u32, len: usize) -> core::ops::Range<usize> {
    cfg.sv.covered_payload(line_index, len)
}

/// The per-packet covered prefix.
pub(crate) fn prefix(vc: u8, dt: u8, wc: u16) -> [u8; 4] {
    covered_prefix(vc, dt, wc)
}

/// The block of the next packet with data type `dt` (`docs/wire-format.md`, "Blocks"): FE belongs to the
/// bottom block; FS inside a frame is refused; every other packet is classified by the shared
/// [`BlockTracker`].
pub(crate) fn classify(tracker: &BlockTracker, dt: DataType) -> Result<Block, SepError> {
    if dt == DataType::FE {
        return Ok(Block::Bottom);
    }
    Ok(tracker.classify(dt)?)
}

/// An open per-data-type or per-frame scope.
pub(crate) struct Scope {
    pub(crate) block: Block,
    /// The block whose key opened the MAC (every later update and the close take that key:
    /// the MAC state is detached from it).
    pub(crate) key_block: Block,
    pub(crate) kind: ScopeKind,
    pub(crate) mac: MacState,
    pub(crate) count: u32,
}

/// The scope kind for a packet of data type `dt` under `mode` (never `Message`).
pub(crate) fn scope_kind(mode: TagMode, dt: u8) -> ScopeKind {
    ScopeKind::for_mode(mode, dt)
}

/// Finds the open scope `(block, kind)`.
pub(crate) fn find_scope(
    scopes: &mut [Option<Scope>; MAX_OPEN_SCOPES],
    block: Block,
    kind: ScopeKind,
) -> Option<usize> {
    scopes.iter().position(|s| {
        s.as_ref()
            .is_some_and(|s| s.block == block && s.kind == kind)
    })
}
