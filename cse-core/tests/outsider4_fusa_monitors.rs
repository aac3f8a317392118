//! Outsider round 4 (black box): FuSa monitors against injected observations.
//!
//! - `FrameContinuity`: random authenticated sender streams (in order, with losses, near the
//!   `u32` wrap) with random unauthenticated counters injected anywhere. Once an authenticated
//!   counter was seen, `last()` after every authenticated observation equals the twin's that
//!   saw no injection, and an unauthenticated observation never moves `last()`; a reorder or
//!   duplicate of an authenticated counter leaves the state as it was.
//! - `TimeoutMonitor`: a VC out of range changes nothing; time going backwards, `u64::MAX`
//!   and interval 0 never panic and report each stall once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cse_core::fusa::{FrameContinuity, TimeoutMonitor};
use cse_core::{ConfigError, FusaError};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[test]
fn injected_frame_counters_never_move_the_authenticated_state() {
    let mut rng = Rng(0x0ddb_1a5e_5bad_5eed);
    for case in 0..4000 {
        let start = match rng.below(3) {
            0 => 0,
            1 => u32::MAX - rng.below(8) as u32,
            _ => rng.next() as u32,
        };
        // The sender's authenticated counters: strictly increasing (mod 2^32), gaps = losses.
        let mut auth = Vec::new();
        let mut c = start;
        for _ in 0..1 + rng.below(12) {
            auth.push(c);
            c = c.wrapping_add(
                1 + if rng.below(4) == 0 {
                    rng.below(5) as u32
                } else {
                    0
                },
            );
        }
        let mut clean = FrameContinuity::new();
        let mut attacked = FrameContinuity::new();
        for (i, &a) in auth.iter().enumerate() {
            // Injections before this authenticated counter (after the first one).
            if i > 0 {
                for _ in 0..rng.below(4) {
                    let near = a.wrapping_add(rng.below(9) as u32).wrapping_sub(4);
                    let v = if rng.below(5) == 0 {
                        rng.next() as u32
                    } else {
                        near
                    };
                    let before = attacked.last();
                    let _ = attacked.observe_unauthenticated(v);
                    assert_eq!(
                        attacked.last(),
                        before,
                        "case {case}: unauthenticated {v} moved last ({auth:?})"
                    );
                }
            }
            let r_clean = clean.observe(a);
            let _ = attacked.observe(a);
            assert_eq!(
                attacked.last(),
                clean.last(),
                "case {case}: {auth:?} at {a}"
            );
            assert_eq!(clean.last(), Some(a));
            if let Err(e) = r_clean {
                assert!(matches!(e, FusaError::FrameLoss { .. }), "{e:?}");
            }
            // A replay of an earlier authenticated counter: finding, state unchanged.
            if i > 0 && rng.below(3) == 0 {
                let old = auth[rng.below(i as u64) as usize];
                let before = attacked.last();
                assert!(
                    attacked.observe(old).is_err(),
                    "case {case}: replay {old} accepted"
                );
                assert_eq!(attacked.last(), before);
                let _ = clean.observe(old);
            }
        }
    }
}

#[test]
fn timeout_monitor_refuses_bad_vc_and_survives_odd_clocks() {
    for interval in [0u64, 1, 100, u64::MAX] {
        let mut m = TimeoutMonitor::new(interval);
        assert_eq!(m.feed(32, 5), Err(ConfigError::VirtualChannel(32)));
        assert_eq!(m.feed(255, 5), Err(ConfigError::VirtualChannel(255)));
        // Nothing monitored: nothing stalls, whatever the time.
        for now in [0, 5, u64::MAX] {
            assert_eq!(
                m.poll(now),
                None,
                "interval {interval}: vc 32 was monitored"
            );
            assert!(!m.is_stalled(32, now));
        }
        m.feed(31, 1_000).unwrap();
        // Earlier than the last feed: no silence.
        assert_eq!(m.poll(0), None);
        assert!(!m.is_stalled(31, 999));
        let eff = interval.max(1);
        let due = 1_000u64.saturating_add(eff);
        if due < u64::MAX {
            assert_eq!(m.poll(due - 1), None);
        }
        let got = m.poll(u64::MAX);
        if eff <= u64::MAX - 1_000 {
            assert!(
                matches!(got, Some(FusaError::Timeout { vc: 31, .. })),
                "interval {interval}: {got:?}"
            );
            assert_eq!(m.poll(u64::MAX), None, "reported twice");
        } else {
            assert_eq!(got, None);
        }
        m.stop(31);
        m.stop(200);
        assert_eq!(m.poll(u64::MAX), None);
    }
}
