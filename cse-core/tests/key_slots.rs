//! Key slots: the next key id is never the active one, however many generations are installed
//! between two activations, and `clear` drops every key.
#![allow(clippy::unwrap_used)]

use cse_core::KeyId;
use cse_core::keys::KeySlots;

fn id(v: u8) -> KeyId {
    KeyId::new(v).unwrap()
}

#[test]
fn next_id_follows_the_active_key_and_is_never_it() {
    let mut s: KeySlots<&str> = KeySlots::new();
    assert_eq!(s.next_id(), id(0));
    s.install(s.next_id(), "g0").unwrap();
    s.activate(id(0)).unwrap();
    for round in 0..9u8 {
        let active = s.active_id().unwrap();
        assert_eq!(active.get(), round % 4);
        let next = s.next_id();
        assert_ne!(next, active);
        // Two (or more) generations before the next activation: the same id, the newest key.
        s.install(next, "older").unwrap();
        assert_eq!(s.next_id(), next, "installing does not move the next id");
        s.install(s.next_id(), "newest").unwrap();
        assert_eq!(
            *s.get(active).unwrap(),
            if round == 0 { "g0" } else { "newest" }
        );
        s.activate(next).unwrap();
        assert_eq!(s.active(), Some((next, &"newest")));
        assert_eq!(s.retire(), Some(active));
    }
}

#[test]
fn clear_drops_every_key_and_the_active_one() {
    let mut s: KeySlots<Vec<u8>> = KeySlots::new();
    s.install(id(0), vec![1; 16]).unwrap();
    s.activate(id(0)).unwrap();
    s.install(s.next_id(), vec![2; 16]).unwrap();
    assert!(!s.is_empty());
    s.clear();
    assert!(s.is_empty());
    assert_eq!(s.active(), None);
    assert!(s.get(id(0)).is_err());
    assert!(s.get(id(1)).is_err());
    assert_eq!(s.next_id(), id(0));
    // The slots work again afterwards, from scratch.
    s.install(id(0), vec![3; 16]).unwrap();
    s.activate(id(0)).unwrap();
    assert_eq!(s.active().map(|(_, k)| k[0]), Some(3));
}
