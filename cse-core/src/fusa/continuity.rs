//! Frame-counter continuity and per-frame message counters.

use crate::error::FusaError;

/// Checks that 32-bit frame counters arrive one after the other.
///
/// Counters compare with serial-number arithmetic (RFC 1982 style), so `u32::MAX` followed by
/// `0` is continuous: a counter `d = got - last (mod 2^32)` ahead is
///
/// ```text
/// d == 0              duplicate          FusaError::FrameDuplicate, state unchanged
/// d == 1              in order           Ok, state advances
/// 2 <= d <= 2^31      d - 1 frames lost  FusaError::FrameLoss, state resyncs to got
/// d >  2^31           behind (reorder)   FusaError::FrameReorder, state unchanged
/// ```
///
/// The first counter observed sets the base. After a loss the monitor resyncs to the counter
/// received, so one loss is reported once. A reordered or duplicated frame leaves the state
/// where it was, so a late frame does not disturb the frames after it; call
/// [`reset`](Self::reset) when the sender restarts its counter.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FrameContinuity {
    last: Option<u32>,
}

impl FrameContinuity {
    /// A monitor with no base.
    pub const fn new() -> Self {
        FrameContinuity { last: None }
    }

    /// The last frame counter accepted (in order or after a loss).
    pub const fn last(&self) -> Option<u32> {
        self.last
    }

    /// Forgets the base.
    pub fn reset(&mut self) {
        self.last = None;
    }

    /// Observes the counter of a new frame.
    ///
    /// # Errors
    /// [`FusaError::FrameLoss`], [`FusaError::FrameDuplicate`] or [`FusaError::FrameReorder`]
    /// as in the table in the type docs.
    pub fn observe(&mut self, fc: u32) -> Result<(), FusaError> {
        let Some(last) = self.last else {
            self.last = Some(fc);
            return Ok(());
        };
        let d = fc.wrapping_sub(last);
        match d {
            0 => Err(FusaError::FrameDuplicate(fc)),
            1 => {
                self.last = Some(fc);
                Ok(())
            }
            2..=0x8000_0000 => {
                self.last = Some(fc);
                Err(FusaError::FrameLoss {
                    expected: last.wrapping_add(1),
                    got: fc,
                    lost: d - 1,
                })
            }
            _ => Err(FusaError::FrameReorder { last, got: fc }),
        }
    }
}

/// Checks that the message indices of one frame run 0, 1, 2, ...
///
/// ```text
/// got == expected   Ok, expected = got + 1
/// got >  expected   FusaError::MessageLoss { lost: got - expected }, resync: expected = got + 1
/// got <  expected   FusaError::MessageOutOfOrder, state unchanged
/// ```
///
/// Call [`start_frame`](Self::start_frame) at each frame start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MessageCounter {
    /// The next index expected; `u32::MAX + 1` after index `u32::MAX`.
    expected: u64,
}

impl MessageCounter {
    /// A counter expecting index 0.
    pub const fn new() -> Self {
        MessageCounter { expected: 0 }
    }

    /// Resets to index 0 for a new frame.
    pub fn start_frame(&mut self) {
        self.expected = 0;
    }

    /// The number of messages accounted for in this frame (received or reported lost).
    pub const fn count(&self) -> u64 {
        self.expected
    }

    /// Observes the index of the next message.
    ///
    /// # Errors
    /// [`FusaError::MessageLoss`] or [`FusaError::MessageOutOfOrder`] as in the type docs.
    pub fn observe(&mut self, index: u32) -> Result<(), FusaError> {
        let got = u64::from(index);
        let expected32 = u32::try_from(self.expected).unwrap_or(u32::MAX);
        if got == self.expected {
            self.expected = got + 1;
            Ok(())
        } else if got > self.expected {
            let lost = u32::try_from(got - self.expected).unwrap_or(u32::MAX);
            self.expected = got + 1;
            Err(FusaError::MessageLoss {
                expected: expected32,
                got: index,
                lost,
            })
        } else {
            Err(FusaError::MessageOutOfOrder {
                expected: expected32,
                got: index,
            })
        }
    }
}
