//! Key usage limits at their boundaries, and key-slot rollover.
//!
//! Limits for 8- and 4-byte tags: NIST SP 800-38D, Appendix C, Table 2 (t = 64) and Table 1
//! (t = 32); see `cse_core::keys::UsageLimits` for the provenance note on Table 1.

use cse_core::keys::{KeySlotError, KeySlots, KeyUsage, SecretKey, UsageLimits, UsageStatus};
use cse_core::nonce::PacketNumber;
use cse_core::{ConfigError, KeyId, Profile, SecurityError, TagLen};

fn profile_with(max_message_len: u32, soft_limit_percent: u8) -> Profile {
    let mut p = Profile::DRAFT_1;
    p.max_message_len = max_message_len;
    p.soft_limit_percent = soft_limit_percent;
    p
}

fn limits(tag: TagLen, p: &Profile) -> UsageLimits {
    UsageLimits::new(tag, p).expect("limits")
}

#[test]
fn full_tags_are_bounded_by_the_iv_space_only() {
    for tag in [TagLen::L16, TagLen::L12] {
        let l = limits(tag, &Profile::DRAFT_1);
        assert_eq!(l.invocation_hard, u64::MAX);
        assert_eq!(l.frame_hard, u32::MAX);
        assert_eq!(l.frame_soft, 0xC000_0000);
    }
}

#[test]
fn eight_byte_tags_take_the_table2_row_of_the_max_message_length() {
    // draft-1: 65 600 bytes > 2^15, <= 2^17 -> 2^29 invocations.
    assert_eq!(
        limits(TagLen::L8, &Profile::DRAFT_1).invocation_hard,
        1 << 29
    );
    assert_eq!(
        limits(TagLen::L8, &profile_with(1 << 15, 75)).invocation_hard,
        1 << 32
    );
    assert_eq!(
        limits(TagLen::L8, &profile_with((1 << 15) + 1, 75)).invocation_hard,
        1 << 29
    );
    assert_eq!(
        limits(TagLen::L8, &profile_with(1 << 25, 75)).invocation_hard,
        1 << 17
    );
    assert_eq!(
        UsageLimits::new(TagLen::L8, &profile_with((1 << 25) + 1, 75)),
        Err(ConfigError::TagLen(8))
    );
}

#[test]
fn four_byte_tags_take_the_table1_row_or_are_refused() {
    let t4 = TagLen::hazmat_short_4();
    assert_eq!(
        UsageLimits::new(t4, &Profile::DRAFT_1),
        Err(ConfigError::TagLen(4))
    );
    assert_eq!(limits(t4, &profile_with(2048, 75)).invocation_hard, 1 << 12);
    assert_eq!(
        UsageLimits::new(t4, &profile_with(2049, 75)),
        Err(ConfigError::TagLen(4))
    );
    assert_eq!(limits(t4, &profile_with(2, 75)).invocation_hard, 1 << 22);
    assert_eq!(limits(t4, &profile_with(64, 75)).invocation_hard, 1 << 17);
}

#[test]
fn soft_limit_is_the_profile_percentage() {
    let l = limits(TagLen::L8, &profile_with(1 << 15, 75));
    assert_eq!(l.invocation_soft, 3 << 30); // 75 % of 2^32
    let l = limits(TagLen::L8, &profile_with(1 << 15, 200));
    assert_eq!(l.invocation_soft, l.invocation_hard); // clamped to 100 %
}

fn small_limits() -> UsageLimits {
    UsageLimits {
        invocation_soft: 3,
        invocation_hard: 5,
        frame_soft: 10,
        frame_hard: 20,
        max_mac_input: 1000,
    }
}

#[test]
fn invocation_soft_and_hard_limits_exactly() {
    let mut u = KeyUsage::new(small_limits());
    let pn = PacketNumber::new(0, 0);
    assert_eq!(u.record(pn), Ok(UsageStatus::Ok));
    assert_eq!(u.record(pn), Ok(UsageStatus::Ok));
    assert_eq!(u.record(pn), Ok(UsageStatus::NeedsRekey)); // 3rd = soft
    assert_eq!(u.record(pn), Ok(UsageStatus::NeedsRekey));
    assert_eq!(u.record(pn), Ok(UsageStatus::NeedsRekey)); // 5th = hard, still allowed
    assert_eq!(u.invocations(), 5);
    assert_eq!(u.record(pn), Err(SecurityError::KeyExhausted)); // 6th refused
    assert!(u.is_exhausted());
    assert_eq!(u.invocations(), 5);
}

#[test]
fn frame_soft_and_hard_limits_exactly() {
    let mut u = KeyUsage::new(small_limits());
    assert_eq!(u.record_frame(9), Ok(UsageStatus::Ok));
    assert_eq!(u.record_frame(10), Ok(UsageStatus::NeedsRestart));
    assert_eq!(u.record_frame(19), Ok(UsageStatus::NeedsRestart));
    assert_eq!(u.record_frame(20), Err(SecurityError::KeyExhausted));
}

#[test]
fn exhaustion_is_sticky() {
    let mut u = KeyUsage::new(small_limits());
    assert_eq!(
        u.record(PacketNumber::new(20, 0)),
        Err(SecurityError::KeyExhausted)
    );
    // Even an early frame and a fresh invocation budget do not revive the key.
    assert_eq!(u.record_frame(0), Err(SecurityError::KeyExhausted));
    assert_eq!(
        u.record(PacketNumber::new(0, 0)),
        Err(SecurityError::KeyExhausted)
    );
    assert_eq!(u.invocations(), 0);
}

#[test]
fn default_profile_never_reaches_a_frame_counter_wrap() {
    let mut u = KeyUsage::new(limits(TagLen::L16, &Profile::DRAFT_1));
    assert_eq!(
        u.record(PacketNumber::new(0xBFFF_FFFF, u32::MAX)),
        Ok(UsageStatus::Ok)
    );
    assert_eq!(
        u.record(PacketNumber::new(0xC000_0000, 0)),
        Ok(UsageStatus::NeedsRestart)
    );
    assert_eq!(
        u.record(PacketNumber::new(u32::MAX - 1, u32::MAX)),
        Ok(UsageStatus::NeedsRestart)
    );
    assert_eq!(
        u.record(PacketNumber::new(u32::MAX, 0)),
        Err(SecurityError::KeyExhausted)
    );
}

fn id(v: u8) -> KeyId {
    KeyId::new(v).expect("two bits")
}

#[test]
fn rollover_sequence_0_1_2_3_0() {
    let mut s: KeySlots<SecretKey> = KeySlots::new();
    s.install(id(0), SecretKey::aes128([0; 16]))
        .expect("install 0");
    s.activate(id(0)).expect("activate 0");
    for next in [1u8, 2, 3, 0] {
        let prev = s.active_id().expect("active");
        s.install(id(next), SecretKey::aes128([next; 16]))
            .expect("install next");
        // Before the switch the old key is still active.
        assert_eq!(s.active_id(), Some(prev));
        s.activate(id(next)).expect("activate next");
        assert_eq!(
            s.active().map(|(k, key)| (k, key.expose_secret()[0])),
            Some((id(next), next))
        );
        // Make-before-break: the previous key still verifies in-flight frames.
        assert!(s.get(prev).is_ok());
        assert_eq!(s.retire(), Some(prev));
        assert_eq!(s.get(prev).err(), Some(SecurityError::UnknownKeyId(prev)));
    }
}

#[test]
fn unknown_key_id_is_reported() {
    let mut s: KeySlots<u32> = KeySlots::new();
    assert_eq!(s.get(id(2)), Err(SecurityError::UnknownKeyId(id(2))));
    assert_eq!(s.activate(id(2)), Err(SecurityError::UnknownKeyId(id(2))));
    assert_eq!(s.active(), None);
    assert_eq!(s.retire(), None);
}

#[test]
fn refuses_to_overwrite_the_active_key() {
    let mut s: KeySlots<u32> = KeySlots::new();
    s.install(id(1), 11).expect("install");
    s.activate(id(1)).expect("activate");
    assert_eq!(s.install(id(1), 99), Err(KeySlotError::ActiveKeyId(id(1))));
    assert_eq!(s.get(id(1)), Ok(&11));
    // Installing another id goes to the idle slot and leaves the active key alone.
    s.install(id(2), 22).expect("idle");
    s.install(id(3), 33).expect("idle again, replaces 2");
    assert_eq!(s.get(id(2)), Err(SecurityError::UnknownKeyId(id(2))));
    assert_eq!(s.active(), Some((id(1), &11)));
    assert_eq!(s.get(id(3)), Ok(&33));
}

#[test]
fn dropped_keys_are_dropped_not_leaked() {
    use std::rc::Rc;
    let k0 = Rc::new(0u8);
    let k1 = Rc::new(1u8);
    let mut s: KeySlots<Rc<u8>> = KeySlots::new();
    s.install(id(0), Rc::clone(&k0)).expect("install");
    s.activate(id(0)).expect("activate");
    s.install(id(1), Rc::clone(&k1)).expect("install");
    s.activate(id(1)).expect("activate");
    assert_eq!(Rc::strong_count(&k0), 2);
    assert_eq!(s.retire(), Some(id(0)));
    assert_eq!(Rc::strong_count(&k0), 1);
    drop(s);
    assert_eq!(Rc::strong_count(&k1), 1);
}

#[test]
fn get_mut_reaches_installed_keys_only() {
    let mut slots: KeySlots<u32> = KeySlots::new();
    slots.install(id(1), 10).expect("limits");
    *slots.get_mut(id(1)).unwrap() += 5;
    assert_eq!(slots.get(id(1)), Ok(&15));
    assert_eq!(
        slots.get_mut(id(2)),
        Err(SecurityError::UnknownKeyId(id(2)))
    );
}

#[test]
fn receiver_checks_change_nothing_even_for_a_forged_max_frame_counter() {
    let u = KeyUsage::new(small_limits());
    let before = u;
    assert_eq!(u.check_frame(u32::MAX), Err(SecurityError::KeyExhausted));
    assert_eq!(u.check(u32::MAX), Err(SecurityError::KeyExhausted));
    assert_eq!(
        u.check_mac_input(1001),
        Err(SecurityError::LimitExceeded {
            len: 1001,
            max: 1000
        })
    );
    assert_eq!(u, before);
    assert!(!u.is_exhausted());
    assert_eq!(u.check(0), Ok(UsageStatus::Ok));
    assert_eq!(u.check_mac_input(1000), Ok(()));
}

#[test]
fn receiver_commit_and_failures_share_the_invocation_budget() {
    let mut u = KeyUsage::new(small_limits());
    assert_eq!(u.check(0), Ok(UsageStatus::Ok));
    assert_eq!(u.commit(), UsageStatus::Ok);
    u.record_failure(); // a computed tag that did not verify spends the budget too
    assert_eq!(u.failures(), 1);
    assert_eq!(u.invocations(), 1);
    assert_eq!(u.check(0), Ok(UsageStatus::NeedsRekey)); // the 3rd would reach the soft limit
    assert_eq!(u.commit(), UsageStatus::NeedsRekey);
    assert_eq!(u.commit(), UsageStatus::NeedsRekey);
    u.record_failure(); // 5th = hard
    assert!(u.is_exhausted());
    assert_eq!(u.check(0), Err(SecurityError::KeyExhausted));
}

#[test]
fn mac_input_limit_follows_the_appendix_c_row_of_the_declared_length() {
    let p = Profile::DRAFT_1;
    // 8-byte tags, message-sized inputs: row 2^17 bytes, 2^29 invocations.
    let l = UsageLimits::new(TagLen::L8, &p).expect("limits");
    assert_eq!((l.max_mac_input, l.invocation_hard), (1 << 17, 1 << 29));
    // A whole 12 MiB frame as one scope: row 2^25 bytes, 2^17 invocations.
    let l = UsageLimits::for_mac_input(TagLen::L8, 12 << 20, &p).expect("limits");
    assert_eq!((l.max_mac_input, l.invocation_hard), (1 << 25, 1 << 17));
    // Beyond the last row: refused.
    assert_eq!(
        UsageLimits::for_mac_input(TagLen::L8, (1 << 25) + 1, &p),
        Err(ConfigError::TagLen(8))
    );
    // 16-byte tags: GCM's own bound.
    let l = UsageLimits::for_mac_input(TagLen::L16, 12 << 20, &p).expect("limits");
    assert_eq!(l.max_mac_input, (1 << 36) - 32);
}
