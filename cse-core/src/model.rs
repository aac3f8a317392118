//! The security model: security variants, frame blocks, cipher suites, tag lengths and tag modes,
//! and the per-block frame configuration that a transmitter applies and a receiver checks.
//!
//! Numbering follows MIPI's public 2022 slides: SV-1 is the strongest (full integrity and
//! encryption), SV-5 is none. Some marketing texts number them in reverse, so every variant also
//! has a descriptive name and the API never relies on the number alone.
//!
//! | SV | variant | integrity | encryption |
//! |---|---|---|---|
//! | SV-1 | [`SecurityVariant::FullIntegrityEncrypted`] | every byte | payloads encrypted |
//! | SV-2 | [`SecurityVariant::FullIntegrity`] | every byte | none |
//! | SV-3 | [`SecurityVariant::LinePartialIntegrity`] | payloads of lines where `(idx - offset) % stride == 0`; headers of all lines | none |
//! | SV-4 | [`SecurityVariant::BytePartialIntegrity`] | bytes `[start, start + len)` of every line; headers of all lines | none |
//! | SV-5 | [`SecurityVariant::NoSecurity`] | none (FuSa CRC and counters only) | none |

use core::fmt;
use core::ops::Range;

use crate::error::ConfigError;

/// The security level of a variant, SV-1 (strongest) to SV-5 (none), without parameters.
///
/// This is the closed set that travels on the wire; [`TryFrom<u8>`] accepts exactly 1..=5.
/// The derived ordering follows the numbers, so *stronger is smaller*: use
/// [`SvLevel::at_least`] rather than comparison operators when checking a policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum SvLevel {
    /// SV-1: full integrity, payloads encrypted.
    Sv1 = 1,
    /// SV-2: full integrity, no encryption.
    Sv2 = 2,
    /// SV-3: line-partial integrity.
    Sv3 = 3,
    /// SV-4: byte-partial integrity.
    Sv4 = 4,
    /// SV-5: no security services (FuSa only).
    Sv5 = 5,
}

impl SvLevel {
    /// The MIPI number, 1..=5.
    pub const fn number(self) -> u8 {
        self as u8
    }

    /// Whether `self` is at least as strong as `min` (SV-1 is the strongest).
    pub const fn at_least(self, min: SvLevel) -> bool {
        (self as u8) <= (min as u8)
    }
}

impl TryFrom<u8> for SvLevel {
    type Error = ConfigError;
    fn try_from(v: u8) -> Result<Self, ConfigError> {
        Ok(match v {
            1 => SvLevel::Sv1,
            2 => SvLevel::Sv2,
            3 => SvLevel::Sv3,
            4 => SvLevel::Sv4,
            5 => SvLevel::Sv5,
            other => return Err(ConfigError::UnknownSecurityVariant(other)),
        })
    }
}

impl fmt::Display for SvLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SV-{}", self.number())
    }
}

/// A security variant with its parameters (see the table in the [module docs](self)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SecurityVariant {
    /// SV-1: every byte authenticated, payloads encrypted (encrypt-then-MAC).
    FullIntegrityEncrypted,
    /// SV-2: every byte authenticated, nothing encrypted.
    FullIntegrity,
    /// SV-3: the payloads of lines with `(line_index - offset) % stride == 0` are authenticated;
    /// the headers (VC, DT, WC) of all lines are authenticated.
    LinePartialIntegrity {
        /// Distance between covered lines, at least 1.
        stride: u16,
        /// Index of the first covered line, less than `stride`.
        offset: u16,
    },
    /// SV-4 (image block only): bytes `[start, start + len)` of every line's payload are
    /// authenticated; the headers of all lines are authenticated.
    BytePartialIntegrity {
        /// First covered byte of each line.
        start: u16,
        /// Number of covered bytes, at least 1.
        len: u16,
    },
    /// SV-5: no tag; FuSa CRC and counters only.
    NoSecurity,
}

impl SecurityVariant {
    /// The level without parameters.
    pub const fn level(&self) -> SvLevel {
        match self {
            SecurityVariant::FullIntegrityEncrypted => SvLevel::Sv1,
            SecurityVariant::FullIntegrity => SvLevel::Sv2,
            SecurityVariant::LinePartialIntegrity { .. } => SvLevel::Sv3,
            SecurityVariant::BytePartialIntegrity { .. } => SvLevel::Sv4,
            SecurityVariant::NoSecurity => SvLevel::Sv5,
        }
    }

    /// The MIPI number, 1..=5.
    pub const fn number(&self) -> u8 {
        self.level().number()
    }

    /// Whether payloads are encrypted (SV-1 only).
    pub const fn encrypts(&self) -> bool {
        matches!(self, SecurityVariant::FullIntegrityEncrypted)
    }

    /// Whether a tag is computed at all (everything but SV-5).
    pub const fn authenticates(&self) -> bool {
        !matches!(self, SecurityVariant::NoSecurity)
    }

    /// The two 16-bit parameters carried in the context block and on the wire:
    /// `(stride, offset)` for SV-3, `(start, len)` for SV-4, `(0, 0)` otherwise.
    pub const fn params(&self) -> (u16, u16) {
        match *self {
            SecurityVariant::LinePartialIntegrity { stride, offset } => (stride, offset),
            SecurityVariant::BytePartialIntegrity { start, len } => (start, len),
            _ => (0, 0),
        }
    }

    /// Rebuilds a variant from its level and wire parameters, validating the parameters.
    ///
    /// # Errors
    /// [`ConfigError`] when SV-3 has `stride == 0` or `offset >= stride`, or SV-4 has `len == 0`
    /// or a window past `u16::MAX`.
    pub fn from_parts(level: SvLevel, a: u16, b: u16) -> Result<Self, ConfigError> {
        let sv = match level {
            SvLevel::Sv1 => SecurityVariant::FullIntegrityEncrypted,
            SvLevel::Sv2 => SecurityVariant::FullIntegrity,
            SvLevel::Sv3 => SecurityVariant::LinePartialIntegrity {
                stride: a,
                offset: b,
            },
            SvLevel::Sv4 => SecurityVariant::BytePartialIntegrity { start: a, len: b },
            SvLevel::Sv5 => SecurityVariant::NoSecurity,
        };
        sv.validate_params()?;
        Ok(sv)
    }

    /// Checks the parameters of SV-3 and SV-4 (the other variants have none).
    ///
    /// # Errors
    /// See [`SecurityVariant::from_parts`].
    pub fn validate_params(&self) -> Result<(), ConfigError> {
        match *self {
            SecurityVariant::LinePartialIntegrity { stride, offset } => {
                if stride == 0 {
                    Err(ConfigError::ZeroStride)
                } else if offset >= stride {
                    Err(ConfigError::OffsetNotBelowStride { stride, offset })
                } else {
                    Ok(())
                }
            }
            SecurityVariant::BytePartialIntegrity { start, len } => {
                if len == 0 {
                    Err(ConfigError::EmptyByteWindow)
                } else if u32::from(start) + u32::from(len) > u32::from(u16::MAX) + 1 {
                    Err(ConfigError::ByteWindowOverflow { start, len })
                } else {
                    Ok(())
                }
            }
            _ => Ok(()),
        }
    }

    /// Which payload bytes of a long packet are covered by the tag.
    ///
    /// `line_index` is the 0-based index of the long packet within its block; `payload_len` its
    /// word count. Headers (`orig_vc ‖ orig_dt ‖ wc`) are covered for every packet of an
    /// authenticating variant regardless of the result. For SV-4 the window is clipped to the
    /// payload; a line shorter than `start` has no covered payload bytes.
    pub fn covered_payload(&self, line_index: u32, payload_len: usize) -> Range<usize> {
        match *self {
            SecurityVariant::FullIntegrityEncrypted | SecurityVariant::FullIntegrity => {
                0..payload_len
            }
            SecurityVariant::LinePartialIntegrity { stride, offset } => {
                let stride = u32::from(stride.max(1));
                let offset = u32::from(offset);
                if line_index >= offset && (line_index - offset).is_multiple_of(stride) {
                    0..payload_len
                } else {
                    0..0
                }
            }
            SecurityVariant::BytePartialIntegrity { start, len } => {
                let s = usize::from(start).min(payload_len);
                let e = (usize::from(start) + usize::from(len)).min(payload_len);
                s..e
            }
            SecurityVariant::NoSecurity => 0..0,
        }
    }
}

impl fmt::Display for SecurityVariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            SecurityVariant::FullIntegrityEncrypted => {
                f.write_str("SV-1 (full integrity, encrypted)")
            }
            SecurityVariant::FullIntegrity => f.write_str("SV-2 (full integrity)"),
            SecurityVariant::LinePartialIntegrity { stride, offset } => write!(
                f,
                "SV-3 (line-partial integrity, stride {stride}, offset {offset})"
            ),
            SecurityVariant::BytePartialIntegrity { start, len } => {
                write!(f, "SV-4 (byte-partial integrity, bytes {start}..+{len})")
            }
            SecurityVariant::NoSecurity => f.write_str("SV-5 (no security)"),
        }
    }
}

/// The partitions of a CSI-2 frame on one virtual channel that carry a security variant.
///
/// FS and FE short packets (MIPI's FP-1 and FP-5) belong to no block; they are protected with the
/// frame as a whole (their headers are covered by the top block's scope in SEP, and by the FSED
/// frame header in FSED).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Block {
    /// FP-2: embedded-data packets before the first pixel line.
    Top = 0,
    /// FP-3: pixel-data packets.
    Image = 1,
    /// FP-4: embedded-data packets after the last pixel line.
    Bottom = 2,
}

impl Block {
    /// All blocks in frame order.
    pub const ALL: [Block; 3] = [Block::Top, Block::Image, Block::Bottom];

    /// The wire code (0, 1, 2).
    pub const fn code(self) -> u8 {
        self as u8
    }
}

impl TryFrom<u8> for Block {
    type Error = ConfigError;
    fn try_from(v: u8) -> Result<Self, ConfigError> {
        match v {
            0 => Ok(Block::Top),
            1 => Ok(Block::Image),
            2 => Ok(Block::Bottom),
            other => Err(ConfigError::UnknownBlock(other)),
        }
    }
}

/// A cipher suite. One-byte wire identifiers live in the [`Profile`](crate::profile::Profile).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CipherSuite {
    /// AES-128-GMAC, integrity only.
    Aes128Gmac,
    /// AES-256-GMAC, integrity only.
    Aes256Gmac,
    /// AES-128-CMAC, integrity only.
    Aes128Cmac,
    /// AES-256-CMAC, integrity only.
    Aes256Cmac,
    /// AES-128-GCM: encryption with GMAC-style tags (SV-1).
    Aes128Gcm,
    /// AES-256-GCM: encryption with GMAC-style tags (SV-1).
    Aes256Gcm,
    /// AES-128-CTR encryption + AES-128-CMAC, encrypt-then-MAC with separate keys (SV-1).
    Aes128CtrCmac,
    /// AES-256-CTR encryption + AES-256-CMAC, encrypt-then-MAC with separate keys (SV-1).
    Aes256CtrCmac,
}

/// The MAC algorithm underneath a suite.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MacAlgorithm {
    /// GMAC (GHASH keyed by `H = E_K(0)`, masked with `E_K(J0)`), NIST SP 800-38D.
    Gmac,
    /// CMAC, NIST SP 800-38B.
    Cmac,
}

/// AES key size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeySize {
    /// 16-byte key.
    Aes128,
    /// 32-byte key.
    Aes256,
}

impl KeySize {
    /// Key length in bytes (a key is never empty, hence no `is_empty`).
    #[allow(clippy::len_without_is_empty)]
    pub const fn len(self) -> usize {
        match self {
            KeySize::Aes128 => 16,
            KeySize::Aes256 => 32,
        }
    }
}

impl CipherSuite {
    /// Every suite, in Profile order.
    pub const ALL: [CipherSuite; 8] = [
        CipherSuite::Aes128Gmac,
        CipherSuite::Aes256Gmac,
        CipherSuite::Aes128Cmac,
        CipherSuite::Aes256Cmac,
        CipherSuite::Aes128Gcm,
        CipherSuite::Aes256Gcm,
        CipherSuite::Aes128CtrCmac,
        CipherSuite::Aes256CtrCmac,
    ];

    /// AES key size of every key in the suite.
    pub const fn key_size(self) -> KeySize {
        match self {
            CipherSuite::Aes128Gmac
            | CipherSuite::Aes128Cmac
            | CipherSuite::Aes128Gcm
            | CipherSuite::Aes128CtrCmac => KeySize::Aes128,
            _ => KeySize::Aes256,
        }
    }

    /// The MAC underneath the suite.
    pub const fn mac(self) -> MacAlgorithm {
        match self {
            CipherSuite::Aes128Gmac
            | CipherSuite::Aes256Gmac
            | CipherSuite::Aes128Gcm
            | CipherSuite::Aes256Gcm => MacAlgorithm::Gmac,
            _ => MacAlgorithm::Cmac,
        }
    }

    /// Whether the suite encrypts (GCM and CTR+CMAC); only these may serve SV-1.
    pub const fn encrypts(self) -> bool {
        matches!(
            self,
            CipherSuite::Aes128Gcm
                | CipherSuite::Aes256Gcm
                | CipherSuite::Aes128CtrCmac
                | CipherSuite::Aes256CtrCmac
        )
    }

    /// Whether the suite needs a separate MAC key (CTR+CMAC, encrypt-then-MAC).
    pub const fn needs_mac_key(self) -> bool {
        matches!(
            self,
            CipherSuite::Aes128CtrCmac | CipherSuite::Aes256CtrCmac
        )
    }

    /// A short human-readable name, e.g. `AES-256-GCM`.
    pub const fn name(self) -> &'static str {
        match self {
            CipherSuite::Aes128Gmac => "AES-128-GMAC",
            CipherSuite::Aes256Gmac => "AES-256-GMAC",
            CipherSuite::Aes128Cmac => "AES-128-CMAC",
            CipherSuite::Aes256Cmac => "AES-256-CMAC",
            CipherSuite::Aes128Gcm => "AES-128-GCM",
            CipherSuite::Aes256Gcm => "AES-256-GCM",
            CipherSuite::Aes128CtrCmac => "AES-128-CTR+CMAC",
            CipherSuite::Aes256CtrCmac => "AES-256-CTR+CMAC",
        }
    }
}

impl fmt::Display for CipherSuite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A tag length in bytes: 16, 12 or 8, or 4 through the explicitly named hazmat constructor.
///
/// Truncated tags are the leftmost bytes of the full 16-byte MAC output.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TagLen(u8);

impl TagLen {
    /// 16 bytes (the default).
    pub const L16: TagLen = TagLen(16);
    /// 12 bytes.
    pub const L12: TagLen = TagLen(12);
    /// 8 bytes. Invocation limits of NIST SP 800-38D Appendix C apply (see [`crate::keys`]).
    pub const L8: TagLen = TagLen(8);

    /// A tag length of 16, 12 or 8 bytes.
    ///
    /// # Errors
    /// [`ConfigError::TagLen`] for anything else, including 4 (use
    /// [`TagLen::hazmat_short_4`]).
    pub const fn new(len: u8) -> Result<Self, ConfigError> {
        match len {
            16 | 12 | 8 => Ok(TagLen(len)),
            other => Err(ConfigError::TagLen(other)),
        }
    }

    /// **Hazmat.** A 4-byte tag. A forger succeeds with probability 2^-32 per attempt, so the
    /// usage counters enforce the NIST SP 800-38D Appendix C limits on invocations and message
    /// length for this length. Use only where the link budget leaves no alternative.
    pub const fn hazmat_short_4() -> Self {
        TagLen(4)
    }

    /// Parses a length from the wire; accepts 4 only when `allow_hazmat_4` is set.
    ///
    /// # Errors
    /// [`ConfigError::TagLen`] for an unsupported length.
    pub const fn from_wire(len: u8, allow_hazmat_4: bool) -> Result<Self, ConfigError> {
        match len {
            4 if allow_hazmat_4 => Ok(TagLen(4)),
            _ => TagLen::new(len),
        }
    }

    /// The length in bytes.
    pub const fn get(self) -> usize {
        self.0 as usize
    }

    /// The length as a byte, as it is carried on the wire and in the context block.
    pub const fn as_u8(self) -> u8 {
        self.0
    }

    /// Whether this is the hazmat 4-byte length.
    pub const fn is_hazmat(self) -> bool {
        self.0 == 4
    }
}

impl Default for TagLen {
    fn default() -> Self {
        TagLen::L16
    }
}

/// When tags are emitted: MIPI's public "per-message, per data type, per frame" MAC modes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum TagMode {
    /// Every protected packet carries its own tag.
    PerMessage = 0,
    /// One running MAC per data type per frame; the tag follows the last packet of that type.
    PerDataType = 1,
    /// One running MAC over the whole frame; the tag is emitted before FE.
    PerFrame = 2,
}

impl TagMode {
    /// The wire code.
    pub const fn code(self) -> u8 {
        self as u8
    }
}

impl TryFrom<u8> for TagMode {
    type Error = ConfigError;
    fn try_from(v: u8) -> Result<Self, ConfigError> {
        match v {
            0 => Ok(TagMode::PerMessage),
            1 => Ok(TagMode::PerDataType),
            2 => Ok(TagMode::PerFrame),
            other => Err(ConfigError::UnknownTagMode(other)),
        }
    }
}

/// The configuration of one block of one frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BlockConfig {
    /// The security variant.
    pub sv: SecurityVariant,
    /// The cipher suite (ignored for SV-5).
    pub suite: CipherSuite,
    /// Tag length (ignored for SV-5).
    pub tag_len: TagLen,
    /// Tag mode (ignored for SV-5).
    pub tag_mode: TagMode,
}

impl BlockConfig {
    /// A block with SV-2, the given integrity suite, 16-byte tags, one tag per message.
    pub const fn full_integrity(suite: CipherSuite) -> Self {
        BlockConfig {
            sv: SecurityVariant::FullIntegrity,
            suite,
            tag_len: TagLen::L16,
            tag_mode: TagMode::PerMessage,
        }
    }

    /// A block with SV-5: no tag, FuSa services only.
    pub const fn no_security() -> Self {
        BlockConfig {
            sv: SecurityVariant::NoSecurity,
            suite: CipherSuite::Aes128Cmac,
            tag_len: TagLen::L16,
            tag_mode: TagMode::PerMessage,
        }
    }

    /// Validates this configuration for `block`.
    ///
    /// Rules: SV-4 only in the image block; SV-3/SV-4 parameters in bounds; SV-1 needs an
    /// encrypting suite (GCM or CTR+CMAC); SV-2..SV-4 need an integrity-only suite (GMAC or
    /// CMAC), so that a configuration never says "no encryption" while naming a cipher that
    /// encrypts.
    ///
    /// # Errors
    /// The first rule broken, as a [`ConfigError`].
    pub fn validate(&self, block: Block) -> Result<(), ConfigError> {
        self.sv.validate_params()?;
        if matches!(self.sv, SecurityVariant::BytePartialIntegrity { .. }) && block != Block::Image
        {
            return Err(ConfigError::BytePartialOutsideImage(block));
        }
        match self.sv {
            SecurityVariant::NoSecurity => Ok(()),
            SecurityVariant::FullIntegrityEncrypted if !self.suite.encrypts() => {
                Err(ConfigError::SuiteDoesNotEncrypt(self.suite))
            }
            SecurityVariant::FullIntegrityEncrypted => Ok(()),
            _ if self.suite.encrypts() => Err(ConfigError::SuiteEncryptsWithoutSv1(self.suite)),
            _ => Ok(()),
        }
    }
}

/// A two-bit key identifier (0..=3) naming one of two key slots, for make-before-break rollover.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct KeyId(u8);

impl KeyId {
    /// A key id from its two-bit value.
    ///
    /// # Errors
    /// [`ConfigError::KeyId`] for values above 3.
    pub const fn new(v: u8) -> Result<Self, ConfigError> {
        if v <= 3 {
            Ok(KeyId(v))
        } else {
            Err(ConfigError::KeyId(v))
        }
    }

    /// The two-bit value.
    pub const fn get(self) -> u8 {
        self.0
    }

    /// The next key id (wraps 3 -> 0), used for the next key generation.
    pub const fn next(self) -> Self {
        KeyId((self.0 + 1) & 3)
    }
}

/// The configuration of one frame: one [`BlockConfig`] per block and the key id in use.
///
/// A transmitter may change it at a frame boundary (dynamic adjustment); a receiver checks it
/// against its [`Policy`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FrameConfig {
    /// Top block (embedded data before the image).
    pub top: BlockConfig,
    /// Image block.
    pub image: BlockConfig,
    /// Bottom block (embedded data after the image).
    pub bottom: BlockConfig,
    /// Key slot in use for this frame.
    pub key_id: KeyId,
}

impl FrameConfig {
    /// The same block configuration for all three blocks.
    pub const fn uniform(block: BlockConfig, key_id: KeyId) -> Self {
        FrameConfig {
            top: block,
            image: block,
            bottom: block,
            key_id,
        }
    }

    /// The configuration of `block`.
    pub const fn block(&self, block: Block) -> &BlockConfig {
        match block {
            Block::Top => &self.top,
            Block::Image => &self.image,
            Block::Bottom => &self.bottom,
        }
    }

    /// Validates every block.
    ///
    /// # Errors
    /// The first block's [`ConfigError`].
    pub fn validate(&self) -> Result<(), ConfigError> {
        for b in Block::ALL {
            self.block(b).validate(b)?;
        }
        Ok(())
    }
}

/// A receiver's local policy: the weakest security variant it accepts in each block.
///
/// A frame configuration below the policy is a downgrade: the receiver reports it as a security
/// error and never silently accepts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Policy {
    /// Minimum level for the top block.
    pub min_top: SvLevel,
    /// Minimum level for the image block.
    pub min_image: SvLevel,
    /// Minimum level for the bottom block.
    pub min_bottom: SvLevel,
}

impl Policy {
    /// Accept anything, SV-5 included.
    pub const PERMISSIVE: Policy = Policy {
        min_top: SvLevel::Sv5,
        min_image: SvLevel::Sv5,
        min_bottom: SvLevel::Sv5,
    };

    /// The minimum level for `block`.
    pub const fn min(&self, block: Block) -> SvLevel {
        match block {
            Block::Top => self.min_top,
            Block::Image => self.min_image,
            Block::Bottom => self.min_bottom,
        }
    }

    /// Checks a frame configuration; returns the first block below its minimum.
    ///
    /// # Errors
    /// [`Downgrade`] naming the block, the level received and the minimum.
    pub fn check(&self, frame: &FrameConfig) -> Result<(), Downgrade> {
        for b in Block::ALL {
            let got = frame.block(b).sv.level();
            let min = self.min(b);
            if !got.at_least(min) {
                return Err(Downgrade { block: b, got, min });
            }
        }
        Ok(())
    }
}

/// A security variant below the receiver's policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Downgrade {
    /// The block.
    pub block: Block,
    /// The level the sender used.
    pub got: SvLevel,
    /// The weakest level the policy accepts.
    pub min: SvLevel,
}

/// Traffic direction, part of every stream id and context block so a message cannot be
/// reflected back to its sender.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Direction {
    /// Sensor (or bridge) to controller: image data, CCI read responses.
    SensorToController = 0,
    /// Controller to sensor: CCI writes and read requests.
    ControllerToSensor = 1,
}

/// Which protocol a tag belongs to, part of the context block and stream id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Protocol {
    /// Service Extension Packets.
    Sep = 0,
    /// Frame-based Service Extension Data.
    Fsed = 1,
    /// CCI service extensions.
    Ccise = 2,
}

/// The scope a tag closes: one message, all packets of one data type in a frame, or a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ScopeKind {
    /// One packet.
    Message,
    /// All covered packets of one data type in one frame.
    DataType(u8),
    /// All covered packets of one frame.
    Frame,
}

impl ScopeKind {
    /// The two-bit scope code used in stream ids and context blocks.
    pub const fn code(self) -> u8 {
        match self {
            ScopeKind::Message => 0,
            ScopeKind::DataType(_) => 1,
            ScopeKind::Frame => 2,
        }
    }

    /// The data type of a per-data-type scope, 0 otherwise.
    pub const fn data_type(self) -> u8 {
        match self {
            ScopeKind::DataType(dt) => dt,
            _ => 0,
        }
    }

    /// The scope matching a tag mode, for a packet of data type `dt`.
    pub const fn for_mode(mode: TagMode, dt: u8) -> Self {
        match mode {
            TagMode::PerMessage => ScopeKind::Message,
            TagMode::PerDataType => ScopeKind::DataType(dt),
            TagMode::PerFrame => ScopeKind::Frame,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(sv: SecurityVariant, suite: CipherSuite) -> BlockConfig {
        BlockConfig {
            sv,
            suite,
            tag_len: TagLen::L16,
            tag_mode: TagMode::PerMessage,
        }
    }

    #[test]
    fn sv4_is_rejected_outside_the_image_block() {
        let c = cfg(
            SecurityVariant::BytePartialIntegrity { start: 0, len: 64 },
            CipherSuite::Aes128Cmac,
        );
        assert_eq!(c.validate(Block::Image), Ok(()));
        assert_eq!(
            c.validate(Block::Top),
            Err(ConfigError::BytePartialOutsideImage(Block::Top))
        );
        assert_eq!(
            c.validate(Block::Bottom),
            Err(ConfigError::BytePartialOutsideImage(Block::Bottom))
        );
    }

    #[test]
    fn rejects_bad_partial_parameters() {
        let sv3 = |stride, offset| SecurityVariant::LinePartialIntegrity { stride, offset };
        assert_eq!(sv3(0, 0).validate_params(), Err(ConfigError::ZeroStride));
        assert_eq!(
            sv3(4, 4).validate_params(),
            Err(ConfigError::OffsetNotBelowStride {
                stride: 4,
                offset: 4
            })
        );
        assert_eq!(sv3(4, 3).validate_params(), Ok(()));
        let sv4 = |start, len| SecurityVariant::BytePartialIntegrity { start, len };
        assert_eq!(
            sv4(0, 0).validate_params(),
            Err(ConfigError::EmptyByteWindow)
        );
        assert_eq!(
            sv4(u16::MAX, 2).validate_params(),
            Err(ConfigError::ByteWindowOverflow {
                start: u16::MAX,
                len: 2
            })
        );
        assert_eq!(sv4(u16::MAX, 1).validate_params(), Ok(()));
    }

    #[test]
    fn sv1_needs_an_encrypting_suite_and_sv2_an_integrity_suite() {
        for suite in CipherSuite::ALL {
            let sv1 = cfg(SecurityVariant::FullIntegrityEncrypted, suite).validate(Block::Image);
            let sv2 = cfg(SecurityVariant::FullIntegrity, suite).validate(Block::Image);
            assert_eq!(sv1.is_ok(), suite.encrypts(), "{suite}");
            assert_eq!(sv2.is_ok(), !suite.encrypts(), "{suite}");
        }
        assert_eq!(
            cfg(SecurityVariant::NoSecurity, CipherSuite::Aes256Gcm).validate(Block::Top),
            Ok(())
        );
    }

    #[test]
    fn line_partial_coverage_follows_stride_and_offset() {
        let sv = SecurityVariant::LinePartialIntegrity {
            stride: 4,
            offset: 1,
        };
        let covered: [bool; 10] =
            core::array::from_fn(|i| !sv.covered_payload(i as u32, 8).is_empty());
        assert_eq!(
            covered,
            [
                false, true, false, false, false, true, false, false, false, true
            ]
        );
    }

    #[test]
    fn byte_partial_window_is_clipped_to_the_payload() {
        let sv = SecurityVariant::BytePartialIntegrity { start: 10, len: 20 };
        assert_eq!(sv.covered_payload(0, 100), 10..30);
        assert_eq!(sv.covered_payload(7, 25), 10..25);
        assert_eq!(sv.covered_payload(7, 5), 5..5);
    }

    #[test]
    fn levels_round_trip_and_order_by_strength() {
        for n in 1..=5u8 {
            assert_eq!(SvLevel::try_from(n).map(SvLevel::number), Ok(n));
        }
        assert!(SvLevel::try_from(0).is_err() && SvLevel::try_from(6).is_err());
        assert!(SvLevel::Sv1.at_least(SvLevel::Sv2));
        assert!(!SvLevel::Sv3.at_least(SvLevel::Sv2));
    }

    #[test]
    fn policy_reports_the_first_downgraded_block() {
        let policy = Policy {
            min_top: SvLevel::Sv2,
            min_image: SvLevel::Sv3,
            min_bottom: SvLevel::Sv2,
        };
        let mut frame = FrameConfig::uniform(
            BlockConfig::full_integrity(CipherSuite::Aes128Cmac),
            KeyId::default(),
        );
        assert_eq!(policy.check(&frame), Ok(()));
        frame.image = BlockConfig::no_security();
        assert_eq!(
            policy.check(&frame),
            Err(Downgrade {
                block: Block::Image,
                got: SvLevel::Sv5,
                min: SvLevel::Sv3
            })
        );
    }

    #[test]
    fn tag_len_four_only_through_hazmat() {
        assert!(TagLen::new(4).is_err());
        assert!(TagLen::from_wire(4, false).is_err());
        assert_eq!(TagLen::from_wire(4, true), Ok(TagLen::hazmat_short_4()));
        assert!(TagLen::hazmat_short_4().is_hazmat());
        for n in [8u8, 12, 16] {
            assert_eq!(TagLen::new(n).map(TagLen::get), Ok(usize::from(n)));
        }
        for n in [0u8, 1, 7, 9, 15, 17, 32] {
            assert!(TagLen::new(n).is_err());
        }
    }

    #[test]
    fn key_id_is_two_bits() {
        assert!(KeyId::new(4).is_err());
        assert_eq!(KeyId::new(3).map(KeyId::next), KeyId::new(0));
    }
}
