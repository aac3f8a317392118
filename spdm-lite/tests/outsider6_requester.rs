//! Outsider round 6: our requester against answers a third-party responder may give at the
//! first step: VERSION lists of other shapes, malformed VERSION, ERROR. Each refusal is an
//! error (no panic) and leaves the requester poisoned, as documented ("Any requester failure
//! poisons it").
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;
mod o6;

use common::{SETS, TestRng};
use o6::cert_requester;

/// A VERSION response listing `entries` (VersionNumberEntry values).
fn version_rsp(entries: &[u16]) -> Vec<u8> {
    let mut m = vec![0x05, 0x10, 0x04, 0, 0, 0, entries.len() as u8];
    for e in entries {
        m.extend(e.to_le_bytes());
    }
    m
}

/// The requester's answer to `rsp` after its GET_VERSION, and the request it writes next.
fn after_version(
    rsp: &[u8],
) -> (
    Result<(), spdm_lite::Error>,
    Result<Vec<u8>, spdm_lite::Error>,
) {
    let mut rng = TestRng(3);
    let mut req = cert_requester(SETS[0], &mut rng);
    let mut a = [0u8; 256];
    let n = req.write_request(&mut a).unwrap();
    assert_eq!(a[..n], [0x05, 0x10, 0x84, 0, 0]);
    let mut m = rsp.to_vec();
    let r = req.handle_response(&mut m).map(|_| ());
    let next = req.write_request(&mut a).map(|n| a[..n].to_vec());
    (r, next)
}

#[test]
fn version_lists_that_contain_1_2_are_accepted() {
    // 1.2 with an update / alpha number, several versions in any order, 1.2 among newer
    // ones: the connection is 1.2 (the update number does not change the message format).
    for entries in [
        &[0x1200u16][..],
        &[0x1210],
        &[0x1201],
        &[0x1000, 0x1100, 0x1200],
        &[0x1300, 0x1200, 0x1100],
        &[0x1100, 0x1210, 0x1300],
    ] {
        let (r, next) = after_version(&version_rsp(entries));
        assert!(r.is_ok(), "{entries:04x?}: {r:?}");
        let next = next.unwrap();
        assert_eq!(next[..3], [0x05, 0x12, 0xE1], "{entries:04x?}");
    }
}

#[test]
fn version_lists_without_1_2_or_malformed_are_refused_and_poison() {
    let mut bad: Vec<Vec<u8>> = vec![
        version_rsp(&[]),
        version_rsp(&[0x1100]),
        version_rsp(&[0x1000, 0x1100]),
        version_rsp(&[0x1300]),
        version_rsp(&[0x2200]),
        // Count larger, then smaller, than the entries present.
        {
            let mut m = version_rsp(&[0x1200]);
            m[6] = 2;
            m
        },
        {
            let mut m = version_rsp(&[0x1200, 0x1100]);
            m[6] = 1;
            m
        },
        // Truncated; another code; another SPDMVersion for VERSION itself.
        version_rsp(&[0x1200])[..6].to_vec(),
        {
            let mut m = version_rsp(&[0x1200]);
            m[2] = 0x01;
            m
        },
        {
            let mut m = version_rsp(&[0x1200]);
            m[1] = 0x12;
            m
        },
        // ERROR Busy, UnexpectedRequest; an empty message; a secured record.
        vec![0x05, 0x10, 0x7F, 0x03, 0x00],
        vec![0x05, 0x10, 0x7F, 0x04, 0x00],
        vec![],
        vec![0x06, 0, 0, 0, 0, 0, 0, 0, 0],
    ];
    for m in bad.drain(..) {
        let (r, next) = after_version(&m);
        assert!(r.is_err(), "{m:02x?} accepted");
        assert!(
            next.is_err(),
            "{m:02x?}: the requester goes on after a refusal"
        );
    }
}
