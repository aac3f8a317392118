//! Outsider round 4 (black box): `KeyUsage` under small limits. Looking (`check`,
//! `check_frame`, `check_mac_input`) never moves a counter, whatever the input (frame counter
//! `u32::MAX`, MAC input `u64::MAX`); forged tags spend the budget (`record_failure`) so the
//! hard limit counts them; the hard limit is sticky for receiver and transmitter forms; the
//! soft statuses come exactly at the documented counts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use cse_core::SecurityError;
use cse_core::keys::{KeyUsage, UsageLimits, UsageStatus};
use cse_core::nonce::PacketNumber;

fn limits() -> UsageLimits {
    UsageLimits {
        invocation_soft: 3,
        invocation_hard: 5,
        frame_soft: 10,
        frame_hard: 12,
        max_mac_input: 100,
    }
}

/// The observable state of a `KeyUsage`.
fn state(u: &KeyUsage) -> (u64, u64, bool) {
    (u.invocations(), u.failures(), u.is_exhausted())
}

#[test]
fn looking_never_moves_a_counter() {
    let mut u = KeyUsage::new(limits());
    let _ = u.commit();
    let before = state(&u);
    for fc in [0, 9, 10, 11, 12, 13, u32::MAX] {
        let r = u.check(fc);
        assert_eq!(r.is_err(), fc >= 12, "check({fc})");
        let r = u.check_frame(fc);
        assert_eq!(r.is_err(), fc >= 12, "check_frame({fc})");
        assert_eq!(
            u.check_frame(fc).ok(),
            (fc < 12).then_some(if fc >= 10 {
                UsageStatus::NeedsRestart
            } else {
                UsageStatus::Ok
            }),
            "status of frame {fc}"
        );
    }
    for len in [0, 100, 101, u64::MAX] {
        assert_eq!(
            u.check_mac_input(len).is_err(),
            len > 100,
            "mac input {len}"
        );
    }
    assert_eq!(state(&u), before, "a check moved a counter");
    assert!(matches!(
        u.check_mac_input(101),
        Err(SecurityError::LimitExceeded { len: 101, max: 100 })
    ));
}

#[test]
fn receiver_budget_counts_failures_and_hard_limit_is_sticky() {
    let mut u = KeyUsage::new(limits());
    for _ in 0..4 {
        let _ = u.check(1).unwrap();
        u.record_failure();
    }
    assert_eq!(state(&u), (0, 4, false));
    // One verified invocation remains (5 in all, failures included).
    let _ = u.check(1).expect("the fifth invocation is allowed");
    let _ = u.commit();
    assert!(u.is_exhausted(), "hard limit reached: exhausted");
    assert_eq!(u.check(1), Err(SecurityError::KeyExhausted));
    assert_eq!(u.check_frame(1), Err(SecurityError::KeyExhausted));
}

#[test]
fn receiver_soft_then_hard_by_commits() {
    let mut u = KeyUsage::new(limits());
    let mut seen = Vec::new();
    while u.check(1).is_ok() {
        seen.push(u.commit());
        assert!(seen.len() <= 5, "more than the hard limit allowed");
    }
    assert_eq!(seen.len(), 5);
    assert_eq!(seen[..2], [UsageStatus::Ok, UsageStatus::Ok]);
    assert!(
        seen[2..].iter().all(|s| *s == UsageStatus::NeedsRekey),
        "{seen:?}"
    );
    assert!(u.is_exhausted());
}

#[test]
fn transmitter_record_refuses_past_limits_and_stays_refused() {
    // The frame hard limit: refused, sticky, even for a frame below it afterwards.
    let mut u = KeyUsage::new(limits());
    assert_eq!(u.record(PacketNumber::new(1, 0)), Ok(UsageStatus::Ok));
    assert_eq!(
        u.record(PacketNumber::new(12, 0)),
        Err(SecurityError::KeyExhausted)
    );
    assert_eq!(
        u.record(PacketNumber::new(2, 0)),
        Err(SecurityError::KeyExhausted)
    );
    assert_eq!(u.record_frame(2), Err(SecurityError::KeyExhausted));
    assert!(u.is_exhausted());
    // The invocation hard limit: five seals, the sixth refused and every later one too.
    let mut u = KeyUsage::new(limits());
    for i in 0..5 {
        let _ = u.record(PacketNumber::new(1, i)).unwrap();
    }
    assert_eq!(
        u.record(PacketNumber::new(1, 5)),
        Err(SecurityError::KeyExhausted)
    );
    assert_eq!(u.record_frame(1), Err(SecurityError::KeyExhausted));
    assert_eq!(u.invocations(), 5, "a refused seal was counted");
}
