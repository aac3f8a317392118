//! Key usage counters: a soft limit that asks for a rekey and a hard limit that refuses.
//! The limits and their sources are documented on [`UsageLimits`].

use crate::error::{ConfigError, SecurityError};
use crate::model::TagLen;
use crate::nonce::PacketNumber;
use crate::profile::Profile;

/// SP 800-38D Appendix C Table 2 (t = 64): `(log2 max C+A bytes, log2 max invocations)`.
const TABLE2_T64: [(u32, u32); 6] = [(15, 32), (17, 29), (19, 26), (21, 23), (23, 20), (25, 17)];

/// SP 800-38D Appendix C Table 1 (t = 32): `(log2 max C+A bytes, log2 max invocations)`.
/// Not re-verified against the document (see the module docs).
const TABLE1_T32: [(u32, u32); 11] = [
    (1, 22),
    (2, 21),
    (3, 20),
    (4, 19),
    (5, 18),
    (6, 17),
    (7, 16),
    (8, 15),
    (9, 14),
    (10, 13),
    (11, 12),
];

/// The smallest row whose length bound admits `max_len`, as a number of invocations.
fn appendix_c_row(table: &[(u32, u32)], max_len: u32) -> Option<u64> {
    table
        .iter()
        .find(|(len_log2, _)| u64::from(max_len) <= 1u64 << len_log2)
        .map(|(_, inv_log2)| 1u64 << inv_log2)
}

/// The usage limits of one key.
///
/// Two things bound the life of a stream key:
///
/// - **The IV space.** The IV is `salt XOR (stream_id ‖ frame_counter ‖ message_index)`
///   ([`crate::nonce`]), so a key must never see a frame counter wrap. The frame-counter hard
///   limit is `u32::MAX`: frame `u32::MAX` is refused, the last usable frame is `u32::MAX - 1`,
///   and the soft limit is [`Profile::frame_counter_soft_limit`]. The message index is a `u32`
///   inside [`PacketNumber`] and cannot pass `u32::MAX` by construction. For 16- and 12-byte
///   tags this is the only invocation limit (`u64::MAX` invocations, never reached in practice
///   before the frame counter is).
/// - **Short tags.** NIST SP 800-38D Appendix C requires that an implementation supporting 64-bit
///   or 32-bit tags enforce one row of its Table 2 or Table 1: a maximum combined length of
///   ciphertext and AAD per invocation, and a maximum number of invocations of the
///   authenticated-decryption function under one key. [`UsageLimits::new`] picks the row from
///   [`Profile::max_message_len`] (the largest MAC input, which bounds ciphertext plus AAD).
///   The same limits are applied to CMAC suites with short tags, conservatively.
///
/// ```text
/// SP 800-38D Table 2, t = 64 bits     SP 800-38D Table 1, t = 32 bits
/// max C+A bytes  max invocations      max C+A bytes  max invocations
///   2^15           2^32                 2^1            2^22
///   2^17           2^29                 2^2            2^21
///   2^19           2^26                 2^3            2^20
///   2^21           2^23                 ...            ...
///   2^23           2^20                 2^10           2^13
///   2^25           2^17                 2^11           2^12
/// ```
///
/// Provenance: the Table 2 rows were checked against a public text quoting the table
/// (OpenTDF NanoTDF security considerations, section 3.3). The Table 1 rows (one row per
/// doubling of length from 2^1 to 2^11 bytes, invocations halving from 2^22 to 2^12) are
/// written from the published document as recalled, and could **not** be re-checked against
/// the document from this environment; confirm them against SP 800-38D before relying on
/// 4-byte tags. With the `draft-1` profile (`max_message_len` = 65 600 bytes) no Table 1 row
/// applies, so 4-byte tags are refused outright, and 8-byte tags get 2^29 invocations.
///
/// [`KeyUsage`] counts: every sealed message on the transmitter, every verification attempt
/// (successful or not) on the receiver. Once the hard limit is hit it stays failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct UsageLimits {
    /// Invocations after which a rekey is requested ([`UsageStatus::NeedsRekey`]).
    pub invocation_soft: u64,
    /// Invocations allowed in total; the next one fails with [`SecurityError::KeyExhausted`].
    pub invocation_hard: u64,
    /// Frame counter from which a rekey is requested.
    pub frame_soft: u32,
    /// First frame counter that is refused (the key never reaches a frame-counter wrap).
    pub frame_hard: u32,
}

impl UsageLimits {
    /// The limits for a key used with `tag_len` under `profile`.
    ///
    /// The invocation soft limit is `profile.soft_limit_percent` of the hard limit (clamped to
    /// 100 %); the frame soft limit is `profile.frame_counter_soft_limit` (clamped below the hard
    /// limit).
    ///
    /// # Errors
    /// [`ConfigError::TagLen`] when the tag is 8 or 4 bytes and no row of SP 800-38D Appendix C
    /// admits `profile.max_message_len` (for 4-byte tags: anything above 2048 bytes).
    pub fn new(tag_len: TagLen, profile: &Profile) -> Result<Self, ConfigError> {
        let invocation_hard = match tag_len.get() {
            8 => appendix_c_row(&TABLE2_T64, profile.max_message_len),
            4 => appendix_c_row(&TABLE1_T32, profile.max_message_len),
            _ => Some(u64::MAX),
        }
        .ok_or(ConfigError::TagLen(tag_len.as_u8()))?;
        let percent = u128::from(profile.soft_limit_percent.min(100));
        let soft = u128::from(invocation_hard) * percent / 100;
        let invocation_soft = u64::try_from(soft).unwrap_or(invocation_hard);
        let frame_hard = u32::MAX;
        Ok(UsageLimits {
            invocation_soft,
            invocation_hard,
            frame_soft: profile.frame_counter_soft_limit.min(frame_hard),
            frame_hard,
        })
    }
}

/// The outcome of a successful [`KeyUsage`] record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[must_use]
pub enum UsageStatus {
    /// Below the soft limits.
    Ok,
    /// Past a soft limit: derive and install the next key generation soon.
    NeedsRekey,
}

/// Usage counters of one key (see [`UsageLimits`] for the limits).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyUsage {
    limits: UsageLimits,
    invocations: u64,
    exhausted: bool,
}

impl KeyUsage {
    /// Fresh counters.
    pub const fn new(limits: UsageLimits) -> Self {
        KeyUsage {
            limits,
            invocations: 0,
            exhausted: false,
        }
    }

    /// The limits.
    pub const fn limits(&self) -> &UsageLimits {
        &self.limits
    }

    /// Invocations recorded so far (refused ones are not counted).
    pub const fn invocations(&self) -> u64 {
        self.invocations
    }

    /// Whether the key has hit a hard limit (sticky).
    pub const fn is_exhausted(&self) -> bool {
        self.exhausted
    }

    /// Records one invocation (a seal, or a verification attempt) for packet number `pn`.
    ///
    /// # Errors
    /// [`SecurityError::KeyExhausted`] when this invocation would pass the invocation hard
    /// limit, when `pn`'s frame counter is at or past the frame hard limit, or when the key
    /// is already exhausted. Once returned, every later call returns it too.
    pub fn record(&mut self, pn: PacketNumber) -> Result<UsageStatus, SecurityError> {
        let frame = self.record_frame(pn.frame_counter())?;
        if self.invocations >= self.limits.invocation_hard {
            self.exhausted = true;
            return Err(SecurityError::KeyExhausted);
        }
        self.invocations += 1;
        if frame == UsageStatus::NeedsRekey || self.invocations >= self.limits.invocation_soft {
            Ok(UsageStatus::NeedsRekey)
        } else {
            Ok(UsageStatus::Ok)
        }
    }

    /// Checks a frame counter against the frame limits (call at each frame start).
    ///
    /// # Errors
    /// [`SecurityError::KeyExhausted`] when `frame_counter` is at or past the frame hard limit
    /// or the key is already exhausted (sticky).
    pub fn record_frame(&mut self, frame_counter: u32) -> Result<UsageStatus, SecurityError> {
        if self.exhausted || frame_counter >= self.limits.frame_hard {
            self.exhausted = true;
            return Err(SecurityError::KeyExhausted);
        }
        if frame_counter >= self.limits.frame_soft {
            Ok(UsageStatus::NeedsRekey)
        } else {
            Ok(UsageStatus::Ok)
        }
    }
}
