//! Error statistics a safety monitor reads: FuSa faults and security findings, kept apart.

use crate::error::{FusaError, SecurityError};

/// Functional-safety fault counters. All counters saturate at `u64::MAX`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct FusaStats {
    /// Record CRC-32 mismatches.
    pub crc32_errors: u64,
    /// CSI-2 payload CRC-16 mismatches.
    pub crc16_errors: u64,
    /// Frames lost (sum of the `lost` counts).
    pub frames_lost: u64,
    /// Frames duplicated.
    pub frames_duplicated: u64,
    /// Frames out of order.
    pub frames_reordered: u64,
    /// Messages lost (sum of the `lost` counts).
    pub messages_lost: u64,
    /// Messages repeated or out of order within a frame.
    pub messages_out_of_order: u64,
    /// Timeouts reported.
    pub timeouts: u64,
}

impl FusaStats {
    /// All counters zero.
    pub const fn new() -> Self {
        FusaStats {
            crc32_errors: 0,
            crc16_errors: 0,
            frames_lost: 0,
            frames_duplicated: 0,
            frames_reordered: 0,
            messages_lost: 0,
            messages_out_of_order: 0,
            timeouts: 0,
        }
    }

    /// Counts one finding.
    pub fn record(&mut self, e: &FusaError) {
        let (counter, n) = match *e {
            FusaError::Crc32Mismatch { .. } => (&mut self.crc32_errors, 1),
            FusaError::Crc16Mismatch { .. } => (&mut self.crc16_errors, 1),
            FusaError::FrameLoss { lost, .. } => (&mut self.frames_lost, u64::from(lost)),
            FusaError::FrameDuplicate(_) => (&mut self.frames_duplicated, 1),
            FusaError::FrameReorder { .. } => (&mut self.frames_reordered, 1),
            FusaError::MessageLoss { lost, .. } => (&mut self.messages_lost, u64::from(lost)),
            FusaError::MessageOutOfOrder { .. } => (&mut self.messages_out_of_order, 1),
            FusaError::Timeout { .. } => (&mut self.timeouts, 1),
        };
        *counter = counter.saturating_add(n);
    }

    /// Sum of all counters (saturating): zero means no fault was seen.
    pub fn total(&self) -> u64 {
        [
            self.crc32_errors,
            self.crc16_errors,
            self.frames_lost,
            self.frames_duplicated,
            self.frames_reordered,
            self.messages_lost,
            self.messages_out_of_order,
            self.timeouts,
        ]
        .iter()
        .fold(0u64, |a, b| a.saturating_add(*b))
    }
}

/// Security finding counters, kept apart from [`FusaStats`]. All counters saturate.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct SecurityStats {
    /// Tags that did not verify.
    pub auth_failures: u64,
    /// Replayed or reordered packet numbers.
    pub replays: u64,
    /// Security-variant downgrades below the policy.
    pub downgrades: u64,
    /// Packets naming a key id with no key installed.
    pub unknown_key_ids: u64,
    /// Operations refused because the key reached its hard limit.
    pub key_exhausted: u64,
    /// Messages or scopes refused for a MAC input longer than the key's limit.
    pub limit_exceeded: u64,
    /// Times a key passed its soft limit (a rekey or restart was requested). Not a rejection:
    /// counted once per key when the verified traffic crosses the limit.
    pub needs_rekey: u64,
}

impl SecurityStats {
    /// All counters zero.
    pub const fn new() -> Self {
        SecurityStats {
            auth_failures: 0,
            replays: 0,
            downgrades: 0,
            unknown_key_ids: 0,
            key_exhausted: 0,
            limit_exceeded: 0,
            needs_rekey: 0,
        }
    }

    /// Counts one finding.
    pub fn record(&mut self, e: &SecurityError) {
        let counter = match e {
            SecurityError::AuthFailed => &mut self.auth_failures,
            SecurityError::Replay { .. } => &mut self.replays,
            SecurityError::Downgrade(_) => &mut self.downgrades,
            SecurityError::UnknownKeyId(_) => &mut self.unknown_key_ids,
            SecurityError::KeyExhausted => &mut self.key_exhausted,
            SecurityError::LimitExceeded { .. } => &mut self.limit_exceeded,
        };
        *counter = counter.saturating_add(1);
    }

    /// Sum of all counters (saturating).
    pub fn total(&self) -> u64 {
        [
            self.auth_failures,
            self.replays,
            self.downgrades,
            self.unknown_key_ids,
            self.key_exhausted,
            self.limit_exceeded,
        ]
        .iter()
        .fold(0u64, |a, b| a.saturating_add(*b))
    }
}
