//! FuSa services: frame continuity, message counters, timeouts, statistics.

use cse_core::fusa::{FrameContinuity, FusaStats, MessageCounter, SecurityStats, TimeoutMonitor};
use cse_core::{ConfigError, FusaError, SecurityError};

#[test]
fn frame_continuity_accepts_consecutive_counters() {
    let mut c = FrameContinuity::new();
    for fc in 10..20 {
        assert_eq!(c.observe(fc), Ok(()));
    }
    assert_eq!(c.last(), Some(19));
}

#[test]
fn frame_continuity_reports_loss_with_count_then_resyncs() {
    let mut c = FrameContinuity::new();
    c.observe(5).expect("base");
    assert_eq!(
        c.observe(9),
        Err(FusaError::FrameLoss {
            expected: 6,
            got: 9,
            lost: 3
        })
    );
    assert_eq!(c.observe(10), Ok(()));
}

#[test]
fn frame_continuity_reports_duplicate_and_reorder_without_moving() {
    let mut c = FrameContinuity::new();
    c.observe(5).expect("base");
    c.observe(6).expect("next");
    assert_eq!(c.observe(6), Err(FusaError::FrameDuplicate(6)));
    assert_eq!(
        c.observe(4),
        Err(FusaError::FrameReorder { last: 6, got: 4 })
    );
    assert_eq!(c.observe(7), Ok(()));
}

#[test]
fn frame_continuity_wraps_at_u32_max() {
    let mut c = FrameContinuity::new();
    c.observe(u32::MAX).expect("base");
    assert_eq!(c.observe(0), Ok(()));
    assert_eq!(
        c.observe(u32::MAX),
        Err(FusaError::FrameReorder {
            last: 0,
            got: u32::MAX
        })
    );
    c.reset();
    assert_eq!(c.observe(u32::MAX - 1), Ok(()));
    assert_eq!(
        c.observe(1),
        Err(FusaError::FrameLoss {
            expected: u32::MAX,
            got: 1,
            lost: 2
        })
    );
}

#[test]
fn message_counter_expects_zero_one_two() {
    let mut m = MessageCounter::new();
    for i in 0..5 {
        assert_eq!(m.observe(i), Ok(()));
    }
    m.start_frame();
    assert_eq!(m.observe(0), Ok(()));
}

#[test]
fn message_counter_reports_loss_and_out_of_order() {
    let mut m = MessageCounter::new();
    m.observe(0).expect("first");
    assert_eq!(
        m.observe(4),
        Err(FusaError::MessageLoss {
            expected: 1,
            got: 4,
            lost: 3
        })
    );
    assert_eq!(m.observe(5), Ok(()));
    assert_eq!(
        m.observe(5),
        Err(FusaError::MessageOutOfOrder {
            expected: 6,
            got: 5
        })
    );
    assert_eq!(
        m.observe(2),
        Err(FusaError::MessageOutOfOrder {
            expected: 6,
            got: 2
        })
    );
    assert_eq!(m.observe(6), Ok(()));
    m.start_frame();
    assert_eq!(
        m.observe(1),
        Err(FusaError::MessageLoss {
            expected: 0,
            got: 1,
            lost: 1
        })
    );
}

#[test]
fn message_counter_does_not_wrap_after_the_last_index() {
    let mut m = MessageCounter::new();
    assert!(m.observe(u32::MAX).is_err()); // loss of 0..MAX
    assert_eq!(
        m.observe(0),
        Err(FusaError::MessageOutOfOrder {
            expected: u32::MAX,
            got: 0
        })
    );
}

#[test]
fn timeout_reports_each_stall_once_until_fed_again() {
    let mut t = TimeoutMonitor::new(50);
    t.feed(0, 0).expect("vc 0");
    t.feed(31, 30).expect("vc 31");
    assert_eq!(t.poll(49), None);
    assert_eq!(
        t.poll(50),
        Some(FusaError::Timeout {
            vc: 0,
            silent_for: 50
        })
    );
    assert_eq!(t.poll(60), None);
    assert_eq!(
        t.poll(80),
        Some(FusaError::Timeout {
            vc: 31,
            silent_for: 50
        })
    );
    assert_eq!(t.poll(1000), None);
    assert!(t.is_stalled(0, 1000));
    t.feed(0, 1000).expect("vc 0 again");
    assert!(!t.is_stalled(0, 1000));
    assert_eq!(t.poll(1049), None);
    assert_eq!(
        t.poll(1050),
        Some(FusaError::Timeout {
            vc: 0,
            silent_for: 50
        })
    );
}

#[test]
fn timeout_ignores_unfed_and_stopped_vcs_and_clock_going_back() {
    let mut t = TimeoutMonitor::new(10);
    assert_eq!(t.poll(u64::MAX), None);
    t.feed(7, 100).expect("vc 7");
    assert_eq!(t.poll(5), None); // now before the feed: no silence
    t.stop(7);
    assert_eq!(t.poll(1000), None);
}

#[test]
fn timeout_rejects_vc_32() {
    let mut t = TimeoutMonitor::new(10);
    assert_eq!(t.feed(32, 0), Err(ConfigError::VirtualChannel(32)));
    assert_eq!(t.feed(255, 0), Err(ConfigError::VirtualChannel(255)));
    t.stop(255);
    assert!(!t.is_stalled(255, 1000));
}

#[test]
fn stats_count_fusa_and_security_findings_separately() {
    let mut f = FusaStats::new();
    let mut s = SecurityStats::new();
    for e in [
        FusaError::Crc32Mismatch {
            computed: 1,
            received: 2,
        },
        FusaError::Crc16Mismatch {
            computed: 1,
            received: 2,
        },
        FusaError::FrameLoss {
            expected: 1,
            got: 4,
            lost: 3,
        },
        FusaError::FrameDuplicate(4),
        FusaError::FrameReorder { last: 4, got: 3 },
        FusaError::MessageLoss {
            expected: 0,
            got: 2,
            lost: 2,
        },
        FusaError::MessageOutOfOrder {
            expected: 3,
            got: 1,
        },
        FusaError::Timeout {
            vc: 0,
            silent_for: 9,
        },
    ] {
        f.record(&e);
    }
    assert_eq!(
        (
            f.crc32_errors,
            f.crc16_errors,
            f.frames_lost,
            f.frames_duplicated,
            f.frames_reordered
        ),
        (1, 1, 3, 1, 1)
    );
    assert_eq!(
        (f.messages_lost, f.messages_out_of_order, f.timeouts),
        (2, 1, 1)
    );
    assert_eq!(f.total(), 11);
    for e in [
        SecurityError::AuthFailed,
        SecurityError::AuthFailed,
        SecurityError::Replay { pn: 1, last: 2 },
        SecurityError::KeyExhausted,
    ] {
        s.record(&e);
    }
    assert_eq!(
        (s.auth_failures, s.replays, s.key_exhausted, s.downgrades),
        (2, 1, 1, 0)
    );
    assert_eq!(s.total(), 4);
    assert_eq!(FusaStats::default(), FusaStats::new());
}

#[test]
fn stats_saturate_instead_of_overflowing() {
    let mut f = FusaStats::new();
    f.frames_lost = u64::MAX - 1;
    f.record(&FusaError::FrameLoss {
        expected: 0,
        got: 9,
        lost: 9,
    });
    assert_eq!(f.frames_lost, u64::MAX);
    assert_eq!(f.total(), u64::MAX);
}
