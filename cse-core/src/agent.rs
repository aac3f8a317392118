//! Building blocks shared by the frame-protection agents of `cse-sep` and `cse-fsed`: key
//! material and its usage counting, the key-family check of a frame configuration, the
//! expanded per-block keys of a frame, the block tracker, and a fixed-size event queue.
//!
//! Everything here is `no_std` without allocation. The protocol-specific parts (packet
//! layouts, scopes, what FS and FE mean to each protocol) stay in the protocol crates.

use crate::crypto::{CheckedKey, SuiteKey};
use crate::csi2::DataType;
use crate::keys::{KeyUsage, Salt, SecretKey, UsageLimits};
use crate::{
    Block, BlockConfig, CipherSuite, ConfigError, FrameConfig, KeySize, MacAlgorithm, Profile,
    SecurityVariant, TagLen,
};

/// An error of the shared agent building blocks; the protocol crates turn it into their own
/// error type with a `From` impl.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AgentError {
    /// An invalid configuration (frame configuration, tag length below the key's minimum,
    /// suite the key cannot serve).
    #[error(transparent)]
    Config(ConfigError),
    /// A frame configuration mixes GMAC- and CMAC-family suites or key sizes.
    #[error("frame mixes key families (GMAC/CMAC) or key sizes")]
    MixedKeyFamilies,
    /// A packet that does not fit the block structure of the frame.
    #[error("packet does not fit the frame state")]
    UnexpectedPacket,
    /// An internal invariant failed (a bug); reported instead of panicking.
    #[error("internal error")]
    Internal,
}

impl From<ConfigError> for AgentError {
    fn from(e: ConfigError) -> Self {
        AgentError::Config(e)
    }
}

/// The key material of one key id: the key, the separate MAC key of CTR+CMAC suites, the IV
/// salt and the shortest tag length it may be used with. Not `Clone`; zeroized on drop (its
/// parts are). Prints nothing secret.
///
/// One key serves every block of a frame: GMAC and GCM blocks share `key` (their IVs differ by
/// the block and scope fields of the stream id); CMAC blocks use `mac_key` when present, else
/// `key`; CTR+CMAC blocks encrypt with `key` and MAC with `mac_key`. A frame that mixes
/// GMAC-family and CMAC-family suites, or key sizes, is refused ([`check_frame`] answers
/// [`AgentError::MixedKeyFamilies`]), so no key is ever used with two MAC algorithms.
#[derive(Debug)]
pub struct KeyMaterial {
    key: SecretKey,
    mac_key: Option<SecretKey>,
    salt: Salt,
    min_tag_len: TagLen,
    max_mac_input: u64,
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
            max_mac_input: 0,
        }
    }

    /// Declares the longest MAC input the key will take, in bytes: for per-frame or
    /// per-data-type scopes, the covered bytes of a whole frame. The key's usage limits (the
    /// row of NIST SP 800-38D Appendix C for short tags) are chosen for it
    /// ([`UsageLimits::for_mac_input`]); without it they are chosen for
    /// [`Profile::max_message_len`]. A message or scope longer than the chosen bound is
    /// refused by the transmitter and fails at the receiver.
    #[must_use]
    pub fn with_max_mac_input(mut self, bytes: u64) -> Self {
        self.max_mac_input = bytes;
        self
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

    /// The IV salt.
    pub fn salt(&self) -> &Salt {
        &self.salt
    }

    /// The expanded key of `suite`: GMAC-family suites use `key`; CTR+CMAC uses `key` and
    /// `mac_key`; CMAC uses `mac_key` when present, else `key`.
    ///
    /// # Errors
    /// [`ConfigError`] when the key sizes do not fit `suite` or a needed MAC key is missing.
    pub fn suite_key(&self, suite: CipherSuite) -> Result<SuiteKey, ConfigError> {
        Ok(SuiteKey::expand(self.checked_key(suite)?))
    }

    /// The checks of [`KeyMaterial::suite_key`] alone; [`SuiteKey::expand`] then builds the
    /// key where it is to live.
    ///
    /// # Errors
    /// As [`KeyMaterial::suite_key`].
    pub fn checked_key(&self, suite: CipherSuite) -> Result<CheckedKey<'_>, ConfigError> {
        match suite.mac() {
            MacAlgorithm::Gmac => SuiteKey::check(suite, &self.key, None),
            MacAlgorithm::Cmac if suite.needs_mac_key() => {
                SuiteKey::check(suite, &self.key, self.mac_key.as_ref())
            }
            MacAlgorithm::Cmac => {
                SuiteKey::check(suite, self.mac_key.as_ref().unwrap_or(&self.key), None)
            }
        }
    }
}

/// A key id's material with its usage counters (what an agent keeps in its key slots).
#[derive(Debug)]
pub struct KeyEntry {
    /// The key material.
    pub material: KeyMaterial,
    /// The usage counters, with limits from the material's minimum tag length.
    pub usage: KeyUsage,
    /// The MAC algorithm the key is bound to: set at its first use and never changed, so one
    /// AES key never serves both GMAC (whose hash key is `E_K(0)`) and CMAC (whose subkeys come
    /// from `E_K(0)` too) over its life.
    pub pinned: Option<MacAlgorithm>,
    /// Whether a soft limit of this key has been reported already (reported once per key).
    pub soft_limit_reported: bool,
}

impl KeyEntry {
    /// The entry of `material`, with usage limits for its minimum tag length under `profile`.
    ///
    /// # Errors
    /// [`ConfigError`] when that tag length has no usage limit under the profile.
    pub fn new(material: KeyMaterial, profile: &Profile) -> Result<Self, ConfigError> {
        let limits =
            UsageLimits::for_mac_input(material.min_tag_len, material.max_mac_input, profile)?;
        Ok(KeyEntry {
            material,
            usage: KeyUsage::new(limits),
            pinned: None,
            soft_limit_reported: false,
        })
    }

    /// Whether frames under `config` may use this key: the MAC family of its protected blocks
    /// is the one the key is pinned to (or the key is not pinned yet). Changes nothing.
    ///
    /// # Errors
    /// [`AgentError::MixedKeyFamilies`] when the key is pinned to the other MAC algorithm.
    pub fn check_pin(&self, config: &FrameConfig) -> Result<Option<MacAlgorithm>, AgentError> {
        let alg = frame_mac(config);
        match (self.pinned, alg) {
            (Some(p), Some(a)) if p != a => Err(AgentError::MixedKeyFamilies),
            _ => Ok(alg),
        }
    }
}

/// The MAC algorithm of a frame's protected blocks (`None` when every block is SV-5).
pub fn frame_mac(config: &FrameConfig) -> Option<MacAlgorithm> {
    Block::ALL
        .iter()
        .map(|b| config.block(*b))
        .find(|c| protected(c))
        .map(|c| c.suite.mac())
}

/// Whether a block carries tags (not SV-5).
pub fn protected(cfg: &BlockConfig) -> bool {
    cfg.sv != SecurityVariant::NoSecurity
}

/// Checks a frame configuration for use with one key: the configuration is valid, and, per
/// protected block in the order top, image, bottom, `per_block` accepts it, its tag length is
/// at least the material's minimum, and its suite has the key family (MAC algorithm and key
/// size) of the other protected blocks.
///
/// # Errors
/// The first failure, converted from [`AgentError::Config`] /
/// [`AgentError::MixedKeyFamilies`], or the error of `per_block`.
pub fn check_frame<E: From<AgentError>>(
    config: &FrameConfig,
    material: &KeyMaterial,
    mut per_block: impl FnMut(&BlockConfig) -> Result<(), E>,
) -> Result<(), E> {
    config.validate().map_err(AgentError::Config)?;
    let mut family: Option<(MacAlgorithm, KeySize)> = None;
    for b in Block::ALL {
        let c = config.block(b);
        if !protected(c) {
            continue;
        }
        per_block(c)?;
        if c.tag_len < material.min_tag_len {
            return Err(AgentError::Config(ConfigError::TagLen(c.tag_len.as_u8())).into());
        }
        let f = (c.suite.mac(), c.suite.key_size());
        match family {
            None => family = Some(f),
            Some(prev) if prev != f => return Err(AgentError::MixedKeyFamilies.into()),
            Some(_) => {}
        }
    }
    Ok(())
}

/// The expanded suite keys of one frame: one per distinct suite of its protected blocks (blocks
/// with the same suite share one expansion, so a uniform frame expands its key once).
pub struct FrameKeys {
    keys: [Option<SuiteKey>; 3],
    /// The index in `keys` of each block's key.
    of_block: [Option<u8>; 3],
}

impl core::fmt::Debug for FrameKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FrameKeys").finish_non_exhaustive()
    }
}

impl FrameKeys {
    /// No keys: every block unprotected (the resting value of a transmitter's frame keys).
    pub const fn empty() -> Self {
        FrameKeys {
            keys: [None, None, None],
            of_block: [None; 3],
        }
    }

    /// Expands the key of every protected block of `config` from `material`.
    ///
    /// # Errors
    /// [`AgentError::Config`] when the material cannot serve a block's suite.
    pub fn expand(config: &FrameConfig, material: &KeyMaterial) -> Result<Self, AgentError> {
        let mut keys = FrameKeys::empty();
        keys.expand_into(config, material)?;
        Ok(keys)
    }

    /// [`FrameKeys::expand`] in place: every check runs first (on an error `self` is
    /// unchanged), then each key is expanded straight into its slot (the previous keys are
    /// dropped, so zeroized, one by one). A transmitter keeps one `FrameKeys` for its life
    /// and re-expands it at every frame start, instead of building a new one on the stack and
    /// moving it (each expanded key is a few hundred bytes).
    ///
    /// # Errors
    /// As [`FrameKeys::expand`].
    pub fn expand_into(
        &mut self,
        config: &FrameConfig,
        material: &KeyMaterial,
    ) -> Result<(), AgentError> {
        let mut checked: [Option<CheckedKey<'_>>; 3] = [None; 3];
        let mut of_block = [None; 3];
        let mut n = 0usize;
        for (slot, b) in of_block.iter_mut().zip(Block::ALL) {
            let c = config.block(b);
            if !protected(c) {
                continue;
            }
            let known = checked
                .iter()
                .position(|k| k.as_ref().map(CheckedKey::suite) == Some(c.suite));
            let i = match known {
                Some(i) => i,
                None => {
                    let k = checked.get_mut(n).ok_or(AgentError::Internal)?;
                    *k = Some(material.checked_key(c.suite)?);
                    n += 1;
                    n - 1
                }
            };
            *slot = u8::try_from(i).ok();
        }
        // Commit: nothing below fails.
        for (slot, c) in self.keys.iter_mut().zip(checked) {
            *slot = None;
            if let Some(c) = c {
                *slot = Some(SuiteKey::expand(c));
            }
        }
        self.of_block = of_block;
        Ok(())
    }

    /// The key of block `b`.
    ///
    /// # Errors
    /// [`AgentError::Internal`] when `b` is not protected (callers check first).
    pub fn get(&self, b: Block) -> Result<&SuiteKey, AgentError> {
        self.of_block
            .get(usize::from(b.code()))
            .copied()
            .flatten()
            .and_then(|i| self.keys.get(usize::from(i)))
            .and_then(Option::as_ref)
            .ok_or(AgentError::Internal)
    }
}

/// Tracks which block the packets of a frame belong to (`docs/wire-format.md`, "Blocks"): the top block
/// until the first long packet that is not embedded data, which starts the image block;
/// embedded data after it starts the bottom block. Short packets (LS, LE, generic) belong to
/// the block in effect when they arrive. FS and FE are refused: what they mean is up to each
/// protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlockTracker {
    block: Block,
    /// Long packets seen per block (the SV-3 line index).
    lines: [u32; 3],
}

impl Default for BlockTracker {
    fn default() -> Self {
        Self::new()
    }
}

impl BlockTracker {
    /// A tracker at the start of a frame (top block, no lines).
    pub const fn new() -> Self {
        BlockTracker {
            block: Block::Top,
            lines: [0; 3],
        }
    }

    /// The block in effect.
    pub const fn block(&self) -> Block {
        self.block
    }

    /// The block of the next packet with data type `dt`, without moving.
    ///
    /// # Errors
    /// [`AgentError::UnexpectedPacket`] for FS, FE, and a long packet other than embedded
    /// data in the bottom block.
    pub fn classify(&self, dt: DataType) -> Result<Block, AgentError> {
        if dt.is_frame_sync() {
            return Err(AgentError::UnexpectedPacket);
        }
        if dt.is_short() {
            return Ok(self.block);
        }
        Ok(match (self.block, dt == DataType::EMBEDDED) {
            (Block::Top, true) => Block::Top,
            (Block::Top, false) | (Block::Image, false) => Block::Image,
            (Block::Image, true) | (Block::Bottom, true) => Block::Bottom,
            (Block::Bottom, false) => return Err(AgentError::UnexpectedPacket),
        })
    }

    /// Moves to `block` and, for a long packet, returns its line index in the block (for a
    /// short packet, the index the next long packet of the block will get).
    pub fn advance(&mut self, block: Block, long: bool) -> u32 {
        self.block = block;
        let slot = &mut self.lines[usize::from(block.code()) % 3];
        let idx = *slot;
        if long {
            *slot = slot.saturating_add(1);
        }
        idx
    }
}

/// A first-in first-out queue of at most `N` events that never allocates and never blocks:
/// a push onto a full queue drops the event and remembers that it did, and the next pop after
/// the queue drained reports the loss once.
#[derive(Clone, Debug)]
pub struct EventQueue<E, const N: usize> {
    items: [Option<E>; N],
    head: usize,
    len: usize,
    overflow: bool,
}

impl<E: Copy, const N: usize> Default for EventQueue<E, N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<E: Copy, const N: usize> EventQueue<E, N> {
    /// An empty queue.
    pub const fn new() -> Self {
        EventQueue {
            items: [None; N],
            head: 0,
            len: 0,
            overflow: false,
        }
    }

    /// Appends `e`, or drops it and remembers the loss when the queue is full.
    pub fn push(&mut self, e: E) {
        if self.len >= N {
            self.overflow = true;
            return;
        }
        let at = (self.head + self.len) % N;
        if let Some(slot) = self.items.get_mut(at) {
            *slot = Some(e);
            self.len += 1;
        }
    }

    /// The oldest event; once the queue is empty, `overflow` if events were dropped since the
    /// last such report, else `None`.
    pub fn pop(&mut self, overflow: E) -> Option<E> {
        if self.len == 0 {
            if self.overflow {
                self.overflow = false;
                return Some(overflow);
            }
            return None;
        }
        let e = self.items.get_mut(self.head).and_then(Option::take);
        self.head = (self.head + 1) % N;
        self.len -= 1;
        e
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::{KeyId, TagMode};

    fn material(mac_key: bool) -> KeyMaterial {
        KeyMaterial::new(
            SecretKey::aes128([7; 16]),
            mac_key.then(|| SecretKey::aes128([9; 16])),
            Salt::new([1; 12]),
        )
        .with_min_tag_len(TagLen::L8)
    }

    fn block(suite: CipherSuite, tag_len: TagLen) -> BlockConfig {
        let sv = if suite.encrypts() {
            SecurityVariant::FullIntegrityEncrypted
        } else {
            SecurityVariant::FullIntegrity
        };
        BlockConfig {
            sv,
            suite,
            tag_len,
            tag_mode: TagMode::PerFrame,
        }
    }

    fn frame(top: BlockConfig, image: BlockConfig, bottom: BlockConfig) -> FrameConfig {
        FrameConfig {
            top,
            image,
            bottom,
            key_id: KeyId::default(),
        }
    }

    fn ok(_: &BlockConfig) -> Result<(), AgentError> {
        Ok(())
    }

    #[test]
    fn check_frame_accepts_one_key_family() {
        let g = block(CipherSuite::Aes128Gmac, TagLen::L16);
        let e = block(CipherSuite::Aes128Gcm, TagLen::L8);
        assert_eq!(check_frame(&frame(g, e, g), &material(false), ok), Ok(()));
    }

    #[test]
    fn check_frame_refuses_mixed_mac_families_and_key_sizes() {
        let g = block(CipherSuite::Aes128Gmac, TagLen::L16);
        let c = block(CipherSuite::Aes128Cmac, TagLen::L16);
        let g256 = block(CipherSuite::Aes256Gmac, TagLen::L16);
        let m = material(true);
        assert_eq!(
            check_frame(&frame(g, c, g), &m, ok),
            Err(AgentError::MixedKeyFamilies)
        );
        assert_eq!(
            check_frame(&frame(g, g, g256), &m, ok),
            Err(AgentError::MixedKeyFamilies)
        );
    }

    #[test]
    fn check_frame_refuses_tags_shorter_than_the_key_minimum() {
        let g = block(CipherSuite::Aes128Gmac, TagLen::L16);
        let short = block(CipherSuite::Aes128Gmac, TagLen::L8);
        let m = KeyMaterial::new(SecretKey::aes128([7; 16]), None, Salt::new([1; 12]));
        assert_eq!(
            check_frame(&frame(g, short, g), &m, ok),
            Err(AgentError::Config(ConfigError::TagLen(8)))
        );
    }

    #[test]
    fn check_frame_skips_sv5_blocks_and_asks_per_block_in_order() {
        let none = BlockConfig {
            sv: SecurityVariant::NoSecurity,
            ..block(CipherSuite::Aes256Cmac, TagLen::L8)
        };
        let g = block(CipherSuite::Aes128Gmac, TagLen::L16);
        let mut seen = 0;
        let r = check_frame(&frame(none, g, g), &material(false), |_| {
            seen += 1;
            if seen == 2 {
                Err(AgentError::Internal)
            } else {
                Ok(())
            }
        });
        assert_eq!(r, Err(AgentError::Internal));
        assert_eq!(seen, 2);
    }

    // GMAC/GCM/CTR+CMAC suites exist only with their feature.
    #[cfg(feature = "gcm")]
    #[test]
    fn frame_keys_exist_for_protected_blocks_only() {
        let none = BlockConfig {
            sv: SecurityVariant::NoSecurity,
            ..block(CipherSuite::Aes128Gmac, TagLen::L16)
        };
        let g = block(CipherSuite::Aes128Gmac, TagLen::L16);
        let keys = FrameKeys::expand(&frame(g, none, g), &material(false)).unwrap();
        assert!(keys.get(Block::Top).is_ok());
        assert_eq!(keys.get(Block::Image).err(), Some(AgentError::Internal));
        assert!(keys.get(Block::Bottom).is_ok());
    }

    // GMAC/GCM/CTR+CMAC suites exist only with their feature.
    #[cfg(feature = "gcm")]
    #[test]
    fn blocks_with_one_suite_share_one_expanded_key() {
        let g = block(CipherSuite::Aes128Gmac, TagLen::L16);
        let e = block(CipherSuite::Aes128Gcm, TagLen::L16);
        let keys = FrameKeys::expand(&frame(g, e, g), &material(false)).unwrap();
        assert!(keys.keys[0].is_some() && keys.keys[1].is_some() && keys.keys[2].is_none());
        assert_eq!(keys.of_block, [Some(0), Some(1), Some(0)]);
        assert_eq!(
            keys.get(Block::Bottom).unwrap().suite(),
            CipherSuite::Aes128Gmac
        );
        assert_eq!(
            keys.get(Block::Image).unwrap().suite(),
            CipherSuite::Aes128Gcm
        );
    }

    // GMAC/GCM/CTR+CMAC suites exist only with their feature.
    #[cfg(feature = "gcm")]
    #[test]
    fn expand_into_replaces_the_keys_and_changes_nothing_when_refused() {
        let g = block(CipherSuite::Aes128Gmac, TagLen::L16);
        let e = block(CipherSuite::Aes128Gcm, TagLen::L16);
        let none = BlockConfig {
            sv: SecurityVariant::NoSecurity,
            ..g
        };
        let mut keys = FrameKeys::empty();
        assert_eq!(keys.get(Block::Top).err(), Some(AgentError::Internal));
        keys.expand_into(&frame(g, e, g), &material(false)).unwrap();
        assert_eq!(keys.of_block, [Some(0), Some(1), Some(0)]);
        // A refused configuration (CTR+CMAC without a MAC key) leaves the keys as they were.
        let c = block(CipherSuite::Aes128CtrCmac, TagLen::L16);
        assert!(matches!(
            keys.expand_into(&frame(none, c, none), &material(false)),
            Err(AgentError::Config(_))
        ));
        assert_eq!(keys.of_block, [Some(0), Some(1), Some(0)]);
        assert_eq!(
            keys.get(Block::Image).unwrap().suite(),
            CipherSuite::Aes128Gcm
        );
        // Re-expanded for another frame: the keys of the old one are gone.
        keys.expand_into(&frame(none, g, none), &material(false))
            .unwrap();
        assert_eq!(keys.of_block, [None, Some(0), None]);
        assert!(keys.keys[1].is_none() && keys.keys[2].is_none());
        assert_eq!(keys.get(Block::Top).err(), Some(AgentError::Internal));
        assert_eq!(
            keys.get(Block::Image).unwrap().suite(),
            CipherSuite::Aes128Gmac
        );
    }

    // GMAC/GCM/CTR+CMAC suites exist only with their feature.
    #[cfg(feature = "ctr-cmac")]
    #[test]
    fn ctr_cmac_without_mac_key_is_refused() {
        let c = block(CipherSuite::Aes128CtrCmac, TagLen::L16);
        assert!(matches!(
            FrameKeys::expand(&frame(c, c, c), &material(false)),
            Err(AgentError::Config(_))
        ));
        assert!(FrameKeys::expand(&frame(c, c, c), &material(true)).is_ok());
    }

    #[test]
    fn key_entry_needs_a_usage_limit_for_the_minimum_tag_length() {
        assert!(KeyEntry::new(material(false), &Profile::DRAFT_1).is_ok());
    }

    #[test]
    fn tracker_walks_top_image_bottom_and_counts_lines_per_block() {
        let mut t = BlockTracker::new();
        assert_eq!(t.classify(DataType::EMBEDDED), Ok(Block::Top));
        assert_eq!(t.advance(Block::Top, true), 0);
        assert_eq!(t.advance(Block::Top, true), 1);
        assert_eq!(t.classify(DataType::LS), Ok(Block::Top));
        assert_eq!(t.classify(DataType::RAW12), Ok(Block::Image));
        assert_eq!(t.advance(Block::Image, true), 0);
        assert_eq!(t.classify(DataType::LE), Ok(Block::Image));
        assert_eq!(t.advance(Block::Image, false), 1);
        assert_eq!(t.classify(DataType::RAW12), Ok(Block::Image));
        assert_eq!(t.classify(DataType::EMBEDDED), Ok(Block::Bottom));
        assert_eq!(t.advance(Block::Bottom, true), 0);
        assert_eq!(t.block(), Block::Bottom);
        assert_eq!(t.classify(DataType::EMBEDDED), Ok(Block::Bottom));
        assert_eq!(
            t.classify(DataType::RAW12),
            Err(AgentError::UnexpectedPacket)
        );
    }

    #[test]
    fn tracker_refuses_frame_syncs() {
        let t = BlockTracker::new();
        assert_eq!(t.classify(DataType::FS), Err(AgentError::UnexpectedPacket));
        assert_eq!(t.classify(DataType::FE), Err(AgentError::UnexpectedPacket));
    }

    #[test]
    fn event_queue_is_fifo_and_reports_overflow_once_after_draining() {
        let mut q: EventQueue<u8, 3> = EventQueue::new();
        assert_eq!(q.pop(0), None);
        for e in 1..=5 {
            q.push(e);
        }
        assert_eq!(q.pop(0), Some(1));
        q.push(6);
        assert_eq!(q.pop(0), Some(2));
        assert_eq!(q.pop(0), Some(3));
        assert_eq!(q.pop(0), Some(6));
        assert_eq!(q.pop(0), Some(0));
        assert_eq!(q.pop(0), None);
    }
}
