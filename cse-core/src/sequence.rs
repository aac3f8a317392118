//! Packet-number replay protection for one (direction, virtual channel).
//!
//! CSI-2 delivers packets in order, so a receiver accepts only strictly increasing packet
//! numbers: a repeat or a lower number is a replay ([`SecurityError::Replay`]), a jump forward is
//! loss (reported, then accepted). The check and the update are two steps, because the state may
//! move only after the message's tag has verified (check, verify, commit: see `docs/security.md`):
//!
//! 1. [`ReplayTracker::check`] looks at a packet number without changing anything and returns a
//!    [`Pending`] token;
//! 2. the caller verifies the tag;
//! 3. only on success, [`ReplayTracker::commit`] consumes the token and advances the tracker.
//!
//! A token is not `Clone` or `Copy`, so it commits at most once. A stale token (one whose packet
//! number is no longer above the tracker's state, because a later message was committed first)
//! is ignored: the tracker never moves backwards, whatever the order of calls.
//!
//! ```
//! use cse_core::nonce::PacketNumber;
//! use cse_core::sequence::{ReplayTracker, SeqStatus};
//!
//! let mut rx = ReplayTracker::new();
//! let p = rx.check(PacketNumber::new(7, 0)).unwrap();
//! assert_eq!(p.status(), SeqStatus::First);
//! rx.commit(p); // the tag verified
//! assert!(rx.check(PacketNumber::new(7, 0)).is_err()); // replay
//! let p = rx.check(PacketNumber::new(7, 3)).unwrap();
//! assert_eq!(p.status(), SeqStatus::Gap { frames_lost: 0, messages_lost: 2 });
//! ```

use crate::error::SecurityError;
use crate::nonce::PacketNumber;

/// How an accepted packet number relates to the last verified one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SeqStatus {
    /// The first packet number since the tracker was created or reset; it sets the base.
    First,
    /// The next message of the same frame (`message_index = last + 1`).
    InOrder,
    /// The first message of the next frame (`frame_counter = last + 1`, `message_index = 0`).
    NextFrame,
    /// Packets are missing in between.
    Gap {
        /// Whole frames skipped between the last verified frame and this one.
        frames_lost: u32,
        /// Messages missing: within one frame, the indices skipped; in a later frame, the
        /// indices below this one (messages missing at the end of the last frame cannot be
        /// known from packet numbers alone).
        messages_lost: u32,
    },
}

impl SeqStatus {
    fn between(last: Option<PacketNumber>, pn: PacketNumber) -> SeqStatus {
        let Some(last) = last else {
            return SeqStatus::First;
        };
        let (lf, li) = (last.frame_counter(), last.message_index());
        let (f, i) = (pn.frame_counter(), pn.message_index());
        if f == lf {
            // Caller guarantees pn > last, so i > li.
            let messages_lost = i.saturating_sub(li).saturating_sub(1);
            if messages_lost == 0 {
                SeqStatus::InOrder
            } else {
                SeqStatus::Gap {
                    frames_lost: 0,
                    messages_lost,
                }
            }
        } else {
            let frames_lost = f.saturating_sub(lf).saturating_sub(1);
            if frames_lost == 0 && i == 0 {
                SeqStatus::NextFrame
            } else {
                SeqStatus::Gap {
                    frames_lost,
                    messages_lost: i,
                }
            }
        }
    }
}

/// An accepted but not yet committed packet number (see the [module docs](self)).
#[derive(Debug, PartialEq, Eq)]
#[must_use = "commit the token after the tag verifies, or drop it"]
pub struct Pending {
    pn: PacketNumber,
    status: SeqStatus,
}

impl Pending {
    /// The packet number checked.
    pub fn packet_number(&self) -> PacketNumber {
        self.pn
    }

    /// How it relates to the last verified packet number (in order, next frame, gap).
    pub fn status(&self) -> SeqStatus {
        self.status
    }
}

/// Strictly-increasing packet-number tracker for one (direction, VC).
///
/// Deliberately not `Copy`: a copied tracker that is advanced while the original is not would
/// accept a replay.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReplayTracker {
    last: Option<PacketNumber>,
}

impl ReplayTracker {
    /// A tracker with no base: the first packet number checked will be accepted.
    pub const fn new() -> Self {
        ReplayTracker { last: None }
    }

    /// The last committed packet number, if any.
    pub const fn last(&self) -> Option<PacketNumber> {
        self.last
    }

    /// Checks `pn` without changing the tracker.
    ///
    /// # Errors
    /// [`SecurityError::Replay`] when `pn` is not above the last committed packet number.
    pub fn check(&self, pn: PacketNumber) -> Result<Pending, SecurityError> {
        if let Some(last) = self.last
            && pn <= last
        {
            return Err(SecurityError::Replay {
                pn: pn.get(),
                last: last.get(),
            });
        }
        Ok(Pending {
            pn,
            status: SeqStatus::between(self.last, pn),
        })
    }

    /// Advances to the token's packet number (call only after the tag verified).
    ///
    /// Returns whether the tracker moved. A stale token (its packet number is no longer above
    /// the tracker's state) changes nothing and returns `false`.
    pub fn commit(&mut self, pending: Pending) -> bool {
        match self.last {
            Some(last) if pending.pn <= last => false,
            _ => {
                self.last = Some(pending.pn);
                true
            }
        }
    }

    /// Forgets the base, for a new key or a restarted stream. The next packet number is
    /// accepted as [`SeqStatus::First`].
    pub fn reset(&mut self) {
        self.last = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_does_not_advance() {
        let rx = ReplayTracker::new();
        let _ = rx.check(PacketNumber::new(1, 1));
        assert_eq!(rx.last(), None);
    }

    #[test]
    fn stale_token_is_ignored() {
        let mut rx = ReplayTracker::new();
        let a = rx.check(PacketNumber::new(1, 1));
        let b = rx.check(PacketNumber::new(1, 5));
        assert!(b.is_ok());
        if let (Ok(a), Ok(b)) = (a, b) {
            assert!(rx.commit(b));
            assert!(!rx.commit(a));
        }
        assert_eq!(rx.last(), Some(PacketNumber::new(1, 5)));
    }
}
