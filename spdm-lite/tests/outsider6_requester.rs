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

/// Runs our certificate requester (set A) against a genuine responder; the response to the
/// request of code `code` is changed by `m` (SPDM bytes) before the requester sees it.
/// Returns the requester's verdict on that response and whether it still writes a request.
fn mutated(
    code: u8,
    m: &dyn Fn(&mut Vec<u8>),
) -> (Result<spdm_lite::requester::Status, spdm_lite::Error>, bool) {
    let set = SETS[0];
    let fx = common::fixture(set);
    let mut rr = TestRng(1);
    let mut rsp = o6::responder(set, &fx, &mut rr);
    let mut qr = TestRng(2);
    let mut req = cert_requester(set, &mut qr);
    loop {
        let mut a = [0u8; 4096];
        let mut b = [0u8; 4096];
        let n = req.write_request(&mut a).unwrap();
        let k = rsp.handle(&mut a[..n], &mut b).unwrap();
        if a[0] == 0x05 && a[2] == code {
            let mut spdm = b[1..k].to_vec();
            m(&mut spdm);
            let mut r = vec![0x05];
            r.extend(spdm);
            let res = req.handle_response(&mut r);
            let next = req.write_request(&mut a).is_ok();
            return (res, next);
        }
        assert_eq!(
            req.handle_response(&mut b[..k]).unwrap(),
            spdm_lite::requester::Status::Continue
        );
    }
}

/// A named change to a response.
type Mutation<'a> = (&'a str, &'a dyn Fn(&mut Vec<u8>));

fn set_u32(m: &mut [u8], at: usize, v: u32) {
    m[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

#[test]
fn capabilities_with_inconsistent_sizes_or_reserved_psk_cap_are_refused() {
    // CAPABILITIES 1.2: Flags at 8, DataTransferSize at 12, MaxSPDMmsgSize at 16. The
    // genuine responder answers 1024 / 1024 without CHUNK_CAP.
    let cases: [Mutation<'_>; 4] = [
        ("MaxSPDMmsgSize below DataTransferSize", &|m| {
            set_u32(m, 16, 512)
        }),
        (
            "MaxSPDMmsgSize above DataTransferSize without CHUNK_CAP",
            &|m| set_u32(m, 16, 4096),
        ),
        ("DataTransferSize below 42", &|m| {
            set_u32(m, 12, 41);
            set_u32(m, 16, 41)
        }),
        ("PSK_CAP 11b (reserved)", &|m| m[9] |= 0x0C),
    ];
    for (name, f) in cases {
        let (r, next) = mutated(0xE1, f);
        assert!(r.is_err(), "{name}: accepted");
        assert!(!next, "{name}: the requester goes on");
    }
}

#[test]
fn capabilities_a_conformant_responder_may_send_are_accepted() {
    // Chunking responder (spdm-emu's default: DataTransferSize 0x1200, MaxSPDMmsgSize
    // 0x28000, CHUNK_CAP), reserved flag bits, another CTExponent.
    let cases: [Mutation<'_>; 3] = [
        ("CHUNK_CAP with a larger MaxSPDMmsgSize", &|m| {
            m[10] |= 0x02;
            set_u32(m, 12, 0x1200);
            set_u32(m, 16, 0x28000)
        }),
        ("reserved flag bit 31", &|m| m[11] |= 0x80),
        ("CTExponent 20", &|m| m[5] = 20),
    ];
    for (name, f) in cases {
        let (r, next) = mutated(0xE1, f);
        assert!(r.is_ok(), "{name}: {r:?}");
        assert!(next, "{name}");
    }
}
