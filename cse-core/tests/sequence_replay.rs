//! Replay tracker: strictly increasing packet numbers, state moves only on commit.

use cse_core::SecurityError;
use cse_core::nonce::PacketNumber;
use cse_core::sequence::{ReplayTracker, SeqStatus};
use proptest::prelude::*;

fn pn(f: u32, i: u32) -> PacketNumber {
    PacketNumber::new(f, i)
}

#[test]
fn first_packet_sets_the_base() {
    let mut rx = ReplayTracker::new();
    let p = rx.check(pn(100, 7)).expect("first accepted");
    assert_eq!(p.status(), SeqStatus::First);
    assert!(rx.commit(p));
    assert_eq!(rx.last(), Some(pn(100, 7)));
}

#[test]
fn rejects_repeat_and_lower_packet_numbers() {
    let mut rx = ReplayTracker::new();
    assert!(rx.commit(rx.check(pn(5, 5)).expect("first")));
    for bad in [pn(5, 5), pn(5, 4), pn(4, 9), pn(0, 0)] {
        assert_eq!(
            rx.check(bad),
            Err(SecurityError::Replay {
                pn: bad.get(),
                last: pn(5, 5).get()
            })
        );
    }
}

#[test]
fn reports_in_order_next_frame_and_gaps() {
    let mut rx = ReplayTracker::new();
    assert!(rx.commit(rx.check(pn(1, 0)).expect("first")));
    let cases = [
        (pn(1, 1), SeqStatus::InOrder),
        (
            pn(1, 4),
            SeqStatus::Gap {
                frames_lost: 0,
                messages_lost: 2,
            },
        ),
        (pn(2, 0), SeqStatus::NextFrame),
        (pn(2, 1), SeqStatus::InOrder),
        (
            pn(3, 2),
            SeqStatus::Gap {
                frames_lost: 0,
                messages_lost: 2,
            },
        ),
        (
            pn(7, 0),
            SeqStatus::Gap {
                frames_lost: 3,
                messages_lost: 0,
            },
        ),
    ];
    for (p, want) in cases {
        let t = rx.check(p).expect("increasing");
        assert_eq!(t.status(), want, "{p:?}");
        assert!(rx.commit(t));
    }
}

#[test]
fn unverified_packet_does_not_advance() {
    let mut rx = ReplayTracker::new();
    assert!(rx.commit(rx.check(pn(1, 0)).expect("first")));
    // A forged packet with a huge PN is checked, its tag fails, the token is dropped.
    drop(rx.check(pn(u32::MAX, u32::MAX)).expect("above"));
    // The genuine next packet is still accepted.
    assert_eq!(
        rx.check(pn(1, 1)).map(|p| p.status()),
        Ok(SeqStatus::InOrder)
    );
}

#[test]
fn stale_token_never_moves_the_tracker_back() {
    let mut rx = ReplayTracker::new();
    let early = rx.check(pn(1, 1)).expect("first");
    let late = rx.check(pn(1, 9)).expect("first");
    assert!(rx.commit(late));
    assert!(!rx.commit(early));
    assert_eq!(rx.last(), Some(pn(1, 9)));
    assert!(rx.check(pn(1, 2)).is_err());
}

#[test]
fn reset_forgets_the_base() {
    let mut rx = ReplayTracker::new();
    assert!(rx.commit(rx.check(pn(9, 9)).expect("first")));
    rx.reset();
    assert_eq!(rx.check(pn(0, 0)).map(|p| p.status()), Ok(SeqStatus::First));
}

#[derive(Clone, Debug)]
enum Op {
    /// Check this PN and, if accepted, keep the token in the pool.
    Check(u64),
    /// Commit the token at this pool position (if any).
    Commit(prop::sample::Index),
}

proptest! {
    /// Whatever the interleaving of checks and commits (including stale tokens), the tracker
    /// never accepts a PN at or below one already committed, and never moves backwards.
    #[test]
    fn never_accepts_a_repeat_or_lower_pn(ops in proptest::collection::vec(
        prop_oneof![
            (0u64..64).prop_map(Op::Check),
            any::<prop::sample::Index>().prop_map(Op::Commit),
        ],
        1..200,
    )) {
        let mut rx = ReplayTracker::new();
        let mut pool = Vec::new();
        let mut max_committed: Option<u64> = None;
        for op in ops {
            match op {
                Op::Check(v) => match rx.check(PacketNumber::from_u64(v)) {
                    Ok(t) => {
                        prop_assert!(max_committed.is_none_or(|m| v > m));
                        pool.push(t);
                    }
                    Err(SecurityError::Replay { pn, last }) => {
                        prop_assert_eq!(pn, v);
                        prop_assert_eq!(Some(last), max_committed);
                        prop_assert!(v <= last);
                    }
                    Err(e) => prop_assert!(false, "unexpected {e:?}"),
                },
                Op::Commit(i) => {
                    if !pool.is_empty() {
                        let t = pool.swap_remove(i.index(pool.len()));
                        let v = t.packet_number().get();
                        let moved = rx.commit(t);
                        prop_assert_eq!(moved, max_committed.is_none_or(|m| v > m));
                        if moved { max_committed = Some(v); }
                    }
                }
            }
            prop_assert_eq!(rx.last().map(PacketNumber::get), max_committed);
        }
    }
}
