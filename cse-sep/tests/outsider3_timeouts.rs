//! Outsider round 3: the timeout monitor fed by forged packets.
//!
//! docs/security.md: a rejected packet moves no timeout monitor. What an *accepted*
//! unauthenticated packet does (an SV-5 packet, a member of an open scope, the FS of an
//! all-SV-5 frame) the docs did not say; these tests pin it down: such a packet counts as
//! traffic for the monitor (documented now under "What is not protected", "Availability"),
//! so a keyless injector can postpone the timeout of a stalled stream while a frame with an
//! SV-5 block or an open scope is in progress, and nothing else: what it injects never
//! verifies, and the scope it joins fails.
#![allow(clippy::unwrap_used, clippy::panic)]

mod o3;

use cse_core::{CipherSuite, FusaError, SecurityVariant, TagMode};
use cse_sep::Event;
use o3::*;

const INTERVAL: u64 = 1_000;

fn timeouts(rx: &mut cse_sep::Receiver, now: u64) -> Vec<Event> {
    let mut v = Vec::new();
    while let Some(e) = rx.poll_event(now) {
        if matches!(e, Event::Fusa(FusaError::Timeout { .. })) {
            v.push(e);
        }
    }
    v
}

#[test]
fn rejected_forgeries_of_every_kind_do_not_postpone_a_timeout() {
    for mode in [TagMode::PerMessage, TagMode::PerDataType, TagMode::PerFrame] {
        let suite = CipherSuite::Aes128Cmac;
        let config = uniform(SecurityVariant::FullIntegrity, suite, mode);
        let mut tx = tx_with(config, suite, 1);
        let seps = protect_all(&mut tx, &originals(0, &typical(3)));
        // The stream stalls after the FS and the first packet (genuine, at t = 10).
        let mut rx = rx_with(config, suite, policy_sv5());
        let _ = feed(&mut rx, &seps[..2], 10);
        let _ = observe(&mut rx, 11);
        // Forged copies of every packet with a tag (one tag bit flipped, CRCs fixed) and
        // replays of the FS, all the way to the deadline: every one refused. (Members carry
        // no tag: a forged one is accepted, see the next test.)
        let tagged: Vec<&Vec<u8>> = seps.iter().filter(|p| phase(p) != 1).collect();
        for t in 12..10 + INTERVAL {
            let f = if t % 3 == 0 {
                // A replay of a packet already received.
                seps[t as usize % 2].clone()
            } else {
                let mut f = tagged[t as usize % tagged.len()].clone();
                let n = f.len();
                f[n - 8] ^= 1;
                fix_crcs(&mut f);
                f
            };
            let (g, _) = recv(&mut rx, &f, t);
            assert!(matches!(g, Got::Err(_)), "{t}: {g:?}");
        }
        assert_eq!(
            timeouts(&mut rx, 11 + INTERVAL),
            vec![Event::Fusa(FusaError::Timeout {
                vc: VC,
                silent_for: INTERVAL
            })],
            "{mode:?}"
        );
    }
}

#[test]
fn an_accepted_unauthenticated_packet_counts_as_traffic_for_the_timeout_monitor() {
    // (1) A forged member of an open scope; (2) a forged packet of an SV-5 block of a
    // protected frame. Both are accepted unauthenticated and postpone the timeout (documented
    // limitation); neither verifies.
    let suite = CipherSuite::Aes128Gcm;
    let scoped = uniform(
        SecurityVariant::FullIntegrity,
        CipherSuite::Aes128Gmac,
        TagMode::PerFrame,
    );
    let mut sv5_image = uniform(
        SecurityVariant::FullIntegrity,
        CipherSuite::Aes128Gmac,
        TagMode::PerMessage,
    );
    sv5_image.image.sv = SecurityVariant::NoSecurity;
    let _ = suite;
    for config in [scoped, sv5_image] {
        let s = CipherSuite::Aes128Gmac;
        let mut tx = tx_with(config, s, 1);
        let seps = protect_all(&mut tx, &originals(0, &typical(3)));
        // Genuine up to the first image line (an LS of the image block follows the top
        // embedded line, so position 3 is in the image block).
        let k = seps
            .iter()
            .position(|p| (p[6] >> 3) & 3 == 1 && orig_dt(p) >= 0x10)
            .unwrap();
        let mut rx = rx_with(config, s, policy_sv5());
        let _ = feed(&mut rx, &seps[..k], 10);
        let last = 10 + k as u64 - 1;
        let mut forged = seps[k].clone();
        forged[body_at(0)] ^= 0xFF;
        fix_crcs(&mut forged);
        let (g, _) = recv(&mut rx, &forged, last + 500);
        assert!(
            matches!(g, Got::Unverified(..) | Got::Unprotected(..)),
            "{g:?}"
        );
        // No timeout one interval after the last genuine packet ...
        assert_eq!(timeouts(&mut rx, last + INTERVAL), vec![]);
        // ... but one interval after the forged one.
        assert_eq!(
            timeouts(&mut rx, last + 500 + INTERVAL),
            vec![Event::Fusa(FusaError::Timeout {
                vc: VC,
                silent_for: INTERVAL
            })]
        );
        // The forged member never verifies: the genuine rest fails its scope.
        if config.image.tag_mode == TagMode::PerFrame {
            let rest = feed(&mut rx, &seps[k + 1..], last + 2000);
            assert!(
                rest.iter()
                    .any(|g| matches!(g, Got::Err(cse_sep::SepError::ScopeFailed(_))))
            );
            assert!(!rest.iter().any(|g| matches!(g, Got::Scope(sc, r, _) if sc.block == cse_core::Block::Image && r.contains(&message_index(&forged)))));
        }
    }
}
