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

// Unauthenticated indices and counters (SV-5 packets, open-scope members, all-SV-5 frames):
// anybody can send them, so after an authenticated one they must not change how the next
// authenticated one is judged.

#[test]
fn an_injected_high_index_does_not_make_authenticated_messages_out_of_order() {
    for injected in [5, 1000, u32::MAX - 1, u32::MAX] {
        let mut m = MessageCounter::new();
        m.observe(0).expect("FS");
        assert_eq!(m.observe_unauthenticated(injected), Ok(()), "{injected}");
        // The sender's next messages are judged as if nothing had come in between.
        assert_eq!(m.observe(1), Ok(()), "{injected}");
        assert_eq!(m.observe(2), Ok(()), "{injected}");
        // A real loss after that is still reported.
        assert_eq!(
            m.observe(5),
            Err(FusaError::MessageLoss {
                expected: 3,
                got: 5,
                lost: 2
            }),
            "{injected}"
        );
    }
}

#[test]
fn unauthenticated_messages_between_authenticated_ones_account_for_their_indices() {
    let mut m = MessageCounter::new();
    m.observe(0).expect("FS");
    // Two unauthenticated messages in order, then an authenticated one: nothing lost.
    assert_eq!(m.observe_unauthenticated(1), Ok(()));
    assert_eq!(m.observe_unauthenticated(2), Ok(()));
    assert_eq!(m.count(), 3);
    assert_eq!(m.observe(3), Ok(()));
    // One of three messages between missing: one lost, reported at the authenticated one.
    assert_eq!(m.observe_unauthenticated(4), Ok(()));
    assert_eq!(m.observe_unauthenticated(6), Ok(()));
    assert_eq!(
        m.observe(7),
        Err(FusaError::MessageLoss {
            expected: 4,
            got: 7,
            lost: 1
        })
    );
    // A duplicate unauthenticated index counts once (its out-of-order finding waits for the
    // next authenticated index; the loss is reported first).
    assert_eq!(m.observe_unauthenticated(8), Ok(()));
    assert_eq!(m.observe_unauthenticated(8), Ok(()));
    assert_eq!(
        m.observe(10),
        Err(FusaError::MessageLoss {
            expected: 8,
            got: 10,
            lost: 1
        })
    );
}

#[test]
fn an_unauthenticated_index_behind_the_authenticated_ones_is_out_of_order_and_moves_nothing() {
    let mut m = MessageCounter::new();
    m.observe(0).expect("FS");
    m.observe(1).expect("in order");
    let before = m;
    assert_eq!(
        m.observe_unauthenticated(1),
        Err(FusaError::MessageOutOfOrder {
            expected: 2,
            got: 1
        })
    );
    assert_eq!(m, before);
    assert_eq!(m.observe(2), Ok(()));
}

#[test]
fn a_frame_without_authenticated_messages_is_counted_as_before() {
    let mut m = MessageCounter::new();
    assert_eq!(m.observe_unauthenticated(0), Ok(()));
    assert_eq!(m.observe_unauthenticated(1), Ok(()));
    assert_eq!(
        m.observe_unauthenticated(4),
        Err(FusaError::MessageLoss {
            expected: 2,
            got: 4,
            lost: 2
        })
    );
    assert_eq!(
        m.observe_unauthenticated(3),
        Err(FusaError::MessageOutOfOrder {
            expected: 5,
            got: 3
        })
    );
    assert_eq!(m.count(), 5);
}

#[test]
fn an_injected_frame_counter_does_not_change_how_authenticated_frames_are_judged() {
    for injected in [3, 4, 1000, 0x8000_0002, u32::MAX] {
        let mut c = FrameContinuity::new();
        c.observe(2).expect("base");
        let _ = c.observe_unauthenticated(injected);
        assert_eq!(c.last(), Some(2), "{injected}");
        assert_eq!(c.observe(3), Ok(()), "{injected}");
        assert_eq!(c.observe(4), Ok(()), "{injected}");
        assert_eq!(
            c.observe(7),
            Err(FusaError::FrameLoss {
                expected: 5,
                got: 7,
                lost: 2
            }),
            "{injected}"
        );
    }
}

#[test]
fn unauthenticated_frames_between_authenticated_ones_account_for_their_counters() {
    let mut c = FrameContinuity::new();
    c.observe(u32::MAX - 1).expect("base");
    assert_eq!(c.observe_unauthenticated(u32::MAX), Ok(()));
    assert_eq!(c.observe_unauthenticated(0), Ok(()));
    assert_eq!(c.observe(1), Ok(()));
    assert_eq!(c.observe_unauthenticated(2), Ok(()));
    assert_eq!(c.observe_unauthenticated(4), Ok(()));
    assert_eq!(
        c.observe(5),
        Err(FusaError::FrameLoss {
            expected: 2,
            got: 5,
            lost: 1
        })
    );
    // At or behind the last authenticated counter: reported, nothing moves.
    let before = c;
    assert_eq!(
        c.observe_unauthenticated(5),
        Err(FusaError::FrameDuplicate(5))
    );
    assert_eq!(
        c.observe_unauthenticated(1),
        Err(FusaError::FrameReorder { last: 5, got: 1 })
    );
    assert_eq!(c, before);
}

#[test]
fn a_stream_of_unauthenticated_frames_is_judged_as_before_until_one_authenticates() {
    let mut c = FrameContinuity::new();
    assert_eq!(c.observe_unauthenticated(10), Ok(()));
    assert_eq!(c.observe_unauthenticated(11), Ok(()));
    assert_eq!(
        c.observe_unauthenticated(14),
        Err(FusaError::FrameLoss {
            expected: 12,
            got: 14,
            lost: 2
        })
    );
    assert_eq!(
        c.observe_unauthenticated(14),
        Err(FusaError::FrameDuplicate(14))
    );
    // The first authenticated counter sets the base whatever came before (the unauthenticated
    // counters may all have been injected).
    assert_eq!(c.observe(3), Ok(()));
    assert_eq!(c.last(), Some(3));
    assert_eq!(c.observe(4), Ok(()));
}

#[test]
fn reordered_unauthenticated_messages_are_out_of_order_and_not_lost() {
    let mut m = MessageCounter::new();
    m.observe(0).expect("FS");
    assert_eq!(m.observe_unauthenticated(2), Ok(()));
    // Either of the two may be injected: the finding waits for the authenticated index.
    assert_eq!(m.observe_unauthenticated(1), Ok(()));
    assert_eq!(
        m.observe(3),
        Err(FusaError::MessageOutOfOrder {
            expected: 3,
            got: 1
        })
    );
    // Both were received: nothing lost.
    assert_eq!(m.lost(), 0);
    assert_eq!(m.received(), 4);
    assert_eq!(m.observe(4), Ok(()));
    // An injected index beyond the next authenticated one voids the waiting finding.
    assert_eq!(m.observe_unauthenticated(1000), Ok(()));
    assert_eq!(m.observe_unauthenticated(5), Ok(()));
    assert_eq!(m.observe(6), Ok(()));

    let mut c = FrameContinuity::new();
    c.observe(1).expect("base");
    assert_eq!(c.observe_unauthenticated(3), Ok(()));
    assert_eq!(c.observe_unauthenticated(2), Ok(()));
    assert_eq!(c.observe_unauthenticated(3), Ok(()));
    assert_eq!(
        c.observe(4),
        Err(FusaError::FrameReorder { last: 3, got: 2 })
    );
    assert_eq!(
        c.observe(6),
        Err(FusaError::FrameLoss {
            expected: 5,
            got: 6,
            lost: 1
        })
    );
    assert_eq!(c.observe_unauthenticated(1000), Ok(()));
    assert_eq!(c.observe_unauthenticated(7), Ok(()));
    assert_eq!(c.observe(8), Ok(()));
}
