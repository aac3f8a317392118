//! A per-virtual-channel timeout monitor.

use crate::error::{ConfigError, FusaError};

/// Virtual channels the monitor tracks (0..=31: VC plus the VCX extension).
pub const MAX_VCS: usize = 32;

/// Reports virtual channels that have been silent for at least `interval` ticks.
///
/// Monitoring of a VC starts at its first [`feed`](Self::feed). [`poll`](Self::poll) reports
/// each stall once; the VC is reported again only after it has been fed and gone silent again.
/// Time is a caller-defined `u64` tick; a `now` earlier than the last feed counts as no silence.
///
/// ```
/// use cse_core::fusa::TimeoutMonitor;
/// use cse_core::FusaError;
///
/// let mut m = TimeoutMonitor::new(100);
/// m.feed(3, 1_000).unwrap();
/// assert_eq!(m.poll(1_099), None);
/// assert_eq!(m.poll(1_100), Some(FusaError::Timeout { vc: 3, silent_for: 100 }));
/// assert_eq!(m.poll(5_000), None); // reported once
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TimeoutMonitor {
    interval: u64,
    last_fed: [Option<u64>; MAX_VCS],
    /// Bit `vc` set: the current stall of `vc` has been reported.
    reported: u32,
}

impl TimeoutMonitor {
    /// A monitor with the given interval in ticks (0 behaves as 1: a VC stalls as soon as a
    /// tick passes without a feed).
    pub const fn new(interval: u64) -> Self {
        TimeoutMonitor {
            interval: if interval == 0 { 1 } else { interval },
            last_fed: [None; MAX_VCS],
            reported: 0,
        }
    }

    /// The configured interval.
    pub const fn interval(&self) -> u64 {
        self.interval
    }

    /// Records activity on `vc` at `now` (starting its monitoring if needed).
    ///
    /// # Errors
    /// [`ConfigError::VirtualChannel`] when `vc` is 32 or more.
    pub fn feed(&mut self, vc: u8, now: u64) -> Result<(), ConfigError> {
        let slot = self
            .last_fed
            .get_mut(usize::from(vc))
            .ok_or(ConfigError::VirtualChannel(vc))?;
        *slot = Some(now);
        self.reported &= !(1u32 << vc);
        Ok(())
    }

    /// Stops monitoring `vc` (its stream ended). Unknown VCs are ignored.
    pub fn stop(&mut self, vc: u8) {
        if let Some(slot) = self.last_fed.get_mut(usize::from(vc)) {
            *slot = None;
            self.reported &= !(1u32 << vc);
        }
    }

    /// Whether `vc` is monitored and silent for at least the interval at `now` (reported or
    /// not).
    pub fn is_stalled(&self, vc: u8, now: u64) -> bool {
        self.last_fed
            .get(usize::from(vc))
            .copied()
            .flatten()
            .is_some_and(|t| now.saturating_sub(t) >= self.interval)
    }

    /// The lowest-numbered VC with an unreported stall at `now`, marked as reported. Call until
    /// it returns `None` to collect every stalled VC.
    pub fn poll(&mut self, now: u64) -> Option<FusaError> {
        for (vc, last) in (0u8..).zip(self.last_fed.iter()) {
            let Some(t) = *last else { continue };
            let silent_for = now.saturating_sub(t);
            let bit = 1u32 << vc;
            if silent_for >= self.interval && self.reported & bit == 0 {
                self.reported |= bit;
                return Some(FusaError::Timeout { vc, silent_for });
            }
        }
        None
    }
}
