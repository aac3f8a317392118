//! Outsider round 3: the FSED timeout monitor and forged packets. Rejected ones (forged tag
//! records) never feed it; an injected original is accepted unauthenticated and counts as
//! traffic (docs/security.md, "What is not protected", "Availability"), never verifying.
#![allow(clippy::unwrap_used, clippy::panic)]

mod o3;

use cse_core::{CipherSuite, FusaError, SecurityVariant, TagMode};
use cse_fsed::Event;
use o3::*;

const INTERVAL: u64 = 1_000;

fn timeouts(rx: &mut cse_fsed::Receiver, now: u64) -> Vec<Event> {
    let mut v = Vec::new();
    while let Some(e) = rx.poll_event(now) {
        if matches!(e, Event::Fusa(FusaError::Timeout { .. })) {
            v.push(e);
        }
    }
    v
}

#[test]
fn forged_records_do_not_postpone_a_timeout_and_injected_originals_do() {
    for mode in [TagMode::PerDataType, TagMode::PerFrame] {
        let suite = CipherSuite::Aes128Gmac;
        let config = uniform(SecurityVariant::FullIntegrity, suite, mode);
        let mut tx = tx_with(config, suite, 1);
        let wire = protect_all(&mut tx, &frame(0, 1));
        let records: Vec<&Vec<u8>> = wire.iter().filter(|p| is_record(p)).collect();
        // The stream stalls after FS, frame header and the first original (t = 10..12).
        let mut rx = rx_with(config, suite);
        for (i, p) in wire[..3].iter().enumerate() {
            assert!(!matches!(recv(&mut rx, p, 10 + i as u64), Got::Err(_)));
        }
        let last = 12;
        for t in last + 1..last + INTERVAL {
            // Mostly the forged twin of the record of the scope that is open (it reaches the
            // tag check), sometimes of later records (refused earlier, for their scope).
            let which = if t % 4 == 0 {
                t as usize % records.len()
            } else {
                0
            };
            let mut r = records[which].clone();
            let n = r.len();
            r[n - 8] ^= 1; // inside the tag
            let c = cse_fsed::wire::crc32(&cse_core::Profile::DRAFT_1, &r[4..n - 6]);
            r[n - 6..n - 2].copy_from_slice(&c.to_le_bytes());
            let c16 = cse_core::csi2::payload_crc(&r[4..n - 2]);
            r[n - 2..].copy_from_slice(&c16.to_le_bytes());
            let g = recv(&mut rx, &r, t);
            assert!(matches!(g, Got::Err(_)), "{g:?}");
            if which == 0 {
                // The tag check failed (reported as a failed scope that stays open).
                assert!(
                    matches!(g, Got::Err(cse_fsed::FsedError::ScopeFailed(_))),
                    "{g:?}"
                );
            }
        }
        assert_eq!(
            timeouts(&mut rx, last + INTERVAL),
            vec![Event::Fusa(FusaError::Timeout {
                vc: VC,
                silent_for: INTERVAL
            })]
        );
        // A second stall: an injected original (the next genuine line with one byte changed
        // and its CRC-16 fixed) is taken unverified and postpones the report.
        let mut rx = rx_with(config, suite);
        for (i, p) in wire[..3].iter().enumerate() {
            let _ = recv(&mut rx, p, 10 + i as u64);
        }
        let k = wire
            .iter()
            .skip(3)
            .position(|p| !is_fsed(p) && p.len() > 6)
            .unwrap()
            + 3;
        let mut f = wire[k].clone();
        f[4] ^= 0xFF;
        let n = f.len();
        let c16 = cse_core::csi2::payload_crc(&f[4..n - 2]);
        f[n - 2..].copy_from_slice(&c16.to_le_bytes());
        assert!(matches!(recv(&mut rx, &f, last + 500), Got::Unverified(..)));
        assert_eq!(timeouts(&mut rx, last + INTERVAL), vec![]);
        assert_eq!(
            timeouts(&mut rx, last + 500 + INTERVAL),
            vec![Event::Fusa(FusaError::Timeout {
                vc: VC,
                silent_for: INTERVAL
            })]
        );
    }
}
