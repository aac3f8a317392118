//! Error types shared by the crate family.
//!
//! Three families that a caller must never confuse:
//! - [`ConfigError`]: a configuration or a parameter is invalid (caller or peer mistake);
//! - [`SecurityError`]: an attack or a key-management limit (tag failure, replay, downgrade,
//!   exhausted key). Authentication failures are opaque: [`SecurityError::AuthFailed`] says
//!   nothing about which byte or which check failed;
//! - [`FusaError`]: a functional-safety finding (CRC mismatch, lost or duplicated frames and
//!   messages, timeouts). These are faults a safety monitor counts, not attacks.

use crate::model::{Block, CipherSuite, Downgrade, KeyId};

/// An invalid configuration or parameter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A security-variant code outside 1..=5.
    #[error("unknown security variant code {0}")]
    UnknownSecurityVariant(u8),
    /// A block code outside 0..=2.
    #[error("unknown block code {0}")]
    UnknownBlock(u8),
    /// A tag-mode code outside 0..=2.
    #[error("unknown tag mode code {0}")]
    UnknownTagMode(u8),
    /// A cipher-suite identifier the profile does not define.
    #[error("unknown cipher suite id {0:#04x}")]
    UnknownSuite(u8),
    /// SV-3 with stride 0.
    #[error("SV-3 stride must be at least 1")]
    ZeroStride,
    /// SV-3 with an offset not below the stride.
    #[error("SV-3 offset {offset} must be below stride {stride}")]
    OffsetNotBelowStride {
        /// Stride.
        stride: u16,
        /// Offset.
        offset: u16,
    },
    /// SV-4 with an empty byte window.
    #[error("SV-4 byte window must cover at least one byte")]
    EmptyByteWindow,
    /// SV-4 window that ends past the largest CSI-2 word count.
    #[error("SV-4 byte window {start}..+{len} ends past 65536")]
    ByteWindowOverflow {
        /// First byte.
        start: u16,
        /// Length.
        len: u16,
    },
    /// SV-4 requested for a block other than the image block.
    #[error("SV-4 (byte-partial integrity) is allowed only in the image block, not {0:?}")]
    BytePartialOutsideImage(Block),
    /// SV-1 with an integrity-only suite.
    #[error("SV-1 needs an encrypting suite, {0} does not encrypt")]
    SuiteDoesNotEncrypt(CipherSuite),
    /// SV-2..SV-4 with an encrypting suite.
    #[error("{0} encrypts, which only SV-1 allows")]
    SuiteEncryptsWithoutSv1(CipherSuite),
    /// A tag length other than 16, 12 or 8 (4 only through the hazmat constructor).
    #[error("unsupported tag length {0}")]
    TagLen(u8),
    /// A key id above 3.
    #[error("key id {0} does not fit in two bits")]
    KeyId(u8),
    /// Key material of the wrong length for the suite.
    #[error("key is {got} bytes, the suite needs {expected}")]
    KeyLength {
        /// Bytes given.
        got: usize,
        /// Bytes needed.
        expected: usize,
    },
    /// A CTR+CMAC suite without its separate MAC key, or a MAC key for a suite that has none.
    #[error("MAC key presence does not match the suite")]
    MacKey,
    /// A suite whose engine this build leaves out (cse-core features `gcm` for GMAC and
    /// AES-GCM, `ctr-cmac` for AES-CTR+CMAC, `aes256` for every AES-256 suite; the AES-128
    /// CMAC suite is always built).
    #[error("cipher suite {0:?} is not built in (cse-core features gcm, ctr-cmac, aes256)")]
    SuiteNotBuilt(crate::model::CipherSuite),
    /// A key of a size this build does not expand (a 256-bit key without the cse-core
    /// feature `aes256`).
    #[error("{0:?} keys are not built in (cse-core feature aes256)")]
    KeySizeNotBuilt(crate::model::KeySize),
    /// A virtual channel above the supported range.
    #[error("virtual channel {0} out of range")]
    VirtualChannel(u8),
    /// A caller buffer too small for the output.
    #[error("buffer too small: need {needed} bytes, have {available}")]
    BufferTooSmall {
        /// Bytes needed.
        needed: usize,
        /// Bytes available.
        available: usize,
    },
}

/// A security finding: an attack, or a key that may no longer be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecurityError {
    /// A tag did not verify. Deliberately opaque; any output buffer has been wiped.
    #[error("authentication failed")]
    AuthFailed,
    /// A packet number at or below the last verified one.
    #[error("replayed or reordered packet number {pn:#018x} (last verified {last:#018x})")]
    Replay {
        /// The packet number received.
        pn: u64,
        /// The last verified packet number.
        last: u64,
    },
    /// A security variant below the local policy.
    #[error("security downgrade in {:?} block: {} below minimum {}", .0.block, .0.got, .0.min)]
    Downgrade(Downgrade),
    /// A key id with no key installed.
    #[error("no key installed for key id {}", .0.get())]
    UnknownKeyId(KeyId),
    /// The key reached its hard usage limit (invocations, frame-counter wrap); rekey first.
    #[error("key exhausted, rekey required")]
    KeyExhausted,
    /// A message or scope longer than the key's usage limits allow (NIST SP 800-38D
    /// Appendix C row, or GCM's own bound): the transmitter refuses it, the receiver fails it.
    #[error("MAC input of {len} bytes exceeds the key's limit of {max} bytes")]
    LimitExceeded {
        /// MAC input length of the message or scope.
        len: u64,
        /// The key's limit.
        max: u64,
    },
}

impl From<Downgrade> for SecurityError {
    fn from(d: Downgrade) -> Self {
        SecurityError::Downgrade(d)
    }
}

/// A functional-safety finding (CSE v1.0 services).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FusaError {
    /// A record's CRC-32 did not match.
    #[error("CRC-32 mismatch: computed {computed:#010x}, received {received:#010x}")]
    Crc32Mismatch {
        /// CRC over the received bytes.
        computed: u32,
        /// CRC carried in the record.
        received: u32,
    },
    /// A CSI-2 payload CRC-16 did not match.
    #[error("CRC-16 mismatch: computed {computed:#06x}, received {received:#06x}")]
    Crc16Mismatch {
        /// CRC over the received payload.
        computed: u16,
        /// CRC carried in the packet footer.
        received: u16,
    },
    /// Frames were lost: the counter jumped forward.
    #[error("{lost} frame(s) lost: expected frame {expected}, got {got}")]
    FrameLoss {
        /// The frame counter expected (when unauthenticated frames came between, the counter
        /// after the last authenticated one: the lost frames are among those from here to
        /// `got`).
        expected: u32,
        /// The frame counter received.
        got: u32,
        /// Number of frames missing.
        lost: u32,
    },
    /// The same frame counter arrived twice.
    #[error("frame {0} duplicated")]
    FrameDuplicate(u32),
    /// A frame counter below the last one (reordering).
    #[error("frame {got} out of order after {last}")]
    FrameReorder {
        /// The last frame counter seen.
        last: u32,
        /// The frame counter received.
        got: u32,
    },
    /// Messages of a frame were lost: the message counter jumped forward.
    #[error("{lost} message(s) lost in frame: expected index {expected}, got {got}")]
    MessageLoss {
        /// Index expected (when unauthenticated messages came between, the first index after
        /// the last authenticated one: the lost ones are among the indices from here to `got`).
        expected: u32,
        /// Index received.
        got: u32,
        /// Number of messages missing.
        lost: u32,
    },
    /// A message index repeated or went backwards within a frame.
    #[error("message index {got} repeated or out of order (expected {expected})")]
    MessageOutOfOrder {
        /// Index expected.
        expected: u32,
        /// Index received.
        got: u32,
    },
    /// A virtual channel has been silent for longer than the configured interval.
    #[error("VC {vc} silent for {silent_for} ticks")]
    Timeout {
        /// The stalled virtual channel.
        vc: u8,
        /// Ticks since its last message.
        silent_for: u64,
    },
}
