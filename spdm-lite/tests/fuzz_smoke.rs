//! Runs the fuzz entry points (`spdm_lite::fuzzing`) on genuine handshake traffic and a few
//! mutations, so `cargo test` exercises their oracles. With `SPDM_WRITE_SEEDS=<fuzz dir>` it
//! also writes the seed corpora.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

use spdm_lite::fuzzing;

/// Genuine messages of a PSK and a certificate handshake (plain ones, MCTP type stripped).
fn genuine_messages() -> Vec<Vec<u8>> {
    // Requester fuzz input: flags then (tag=0 genuine, len 0) steps.
    let mut out = Vec::new();
    // The responder target with genuine requester traffic only (tag 1) must complete.
    for flags in [0u8, 1, 2, 4, 0x47] {
        let mut seed = vec![flags];
        for _ in 0..12 {
            seed.extend([1, 0]);
        }
        out.push(seed);
    }
    // Certificate handshakes with mutual authentication (0x40; 0x38: DataTransferSize 1024):
    // the encapsulated flow.
    for flags in [0x78u8, 0x7B] {
        let mut seed = vec![flags];
        for _ in 0..24 {
            seed.extend([1, 0]);
        }
        out.push(seed);
    }
    out
}

fn write(dir: &str, name: &str, data: &[u8]) {
    if let Ok(base) = std::env::var("SPDM_WRITE_SEEDS") {
        let d = format!("{base}/corpus/{dir}");
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(format!("{d}/{name}"), data).unwrap();
    }
}

#[test]
fn responder_target_accepts_genuine_and_arbitrary_traffic() {
    for (i, seed) in genuine_messages().iter().enumerate() {
        fuzzing::responder(seed);
        write("spdm_responder", &format!("seed-{i}"), seed);
    }
    // Arbitrary requests interleaved with genuine ones.
    let junk = [
        0u8, 5, 0x05, 0x12, 0xE0, 0, 0, 1, 0, 0, 4, 0x05, 0x10, 0x84, 0, 1, 0,
    ];
    fuzzing::responder(&junk);
    write("spdm_responder", "seed-junk", &junk);
}

#[test]
fn requester_target_reaches_established_only_on_genuine_responses() {
    // flags: bit0 set B, bit1 in clear, bit2 psk context, 0x20 mutual authentication,
    // 0x40 PSK, 0x80 challenge.
    for (i, flags) in [0u8, 1, 2, 0x80, 0x81, 0x40, 0x44, 0x43, 0x20, 0x23, 0xA1]
        .into_iter()
        .enumerate()
    {
        let mut seed = vec![flags];
        for _ in 0..24 {
            seed.extend([0, 0]); // tag 0: deliver the genuine response
        }
        let n = fuzzing::requester(&seed).unwrap_or_else(|| panic!("genuine run {flags:#x}"));
        write("spdm_requester", &format!("seed-{i}"), &seed);
        // The version byte (or, in a record, a session-id byte) of the k-th response
        // flipped (tag 4: 4 % 3 = flip, at 4 >> 2 = 1): the run must not establish.
        for k in 0..n {
            let mut flipped = vec![flags];
            flipped.extend(std::iter::repeat_n([0u8, 0], k).flatten());
            flipped.extend([4, 1, 0x10]);
            assert_eq!(
                fuzzing::requester(&flipped),
                None,
                "{flags:#x} response {k}"
            );
        }
    }
}

#[test]
fn message_target_round_trips_real_messages() {
    let msgs: &[&[u8]] = &[
        &[0x10, 0x84, 0, 0],
        &[0x10, 0x04, 0, 0, 0, 0, 0, 2, 0x00, 0x12, 0x00, 0x11],
        &[
            0x12, 0xE1, 0, 0, 0, 0x0A, 0, 0, 0xC6, 0x73, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0,
        ],
        &[0x12, 0x7F, 0x04, 0x00],
        &[0x12, 0xE8, 0x01, 0x07],
        &[0x12, 0xE0, 0, 0],
        &[0x12, 0x82, 0, 0, 0, 0, 0, 1],
    ];
    for (i, m) in msgs.iter().enumerate() {
        for sel in 0..8u8 {
            let mut d = vec![sel];
            d.extend_from_slice(m);
            fuzzing::messages(&d);
            if sel == 0 {
                write("spdm_messages", &format!("seed-{i}"), &d);
            }
        }
    }
}

#[test]
fn measurements_target_survives_arbitrary_in_session_requests() {
    let seeds: Vec<Vec<u8>> = vec![
        // Genuine: count, one index, all signed.
        vec![0, 1, 1, 0, 1, 1, 2, 3, 1, 0xFF],
        vec![1, 1, 1, 5, 3, 1, 0xFF],
        vec![6, 3, 1, 0xFF, 3, 1, 0x42],
        // Raw requests: malformed GET_MEASUREMENTS, an unknown index, a bad slot, HEARTBEAT.
        vec![
            0, 0, 4, 0x12, 0xE0, 0x01, 0xFF, 0, 4, 0x12, 0xE0, 0x00, 0x42,
        ],
        {
            let mut v = vec![2, 1, 1, 0, 0, 38, 0x12, 0xE0, 0x01, 0xFF];
            v.extend([7; 32]);
            v.extend([3, 0, 0]);
            v
        },
        vec![0, 1, 1, 1, 0, 4, 0x12, 0xE8, 0, 0, 3, 1, 0xFF],
        vec![0, 0, 4, 0x11, 0xE0, 0, 0],
        // Application messages (tag 0x81): PLDM GetTID (served), another PLDM command and a
        // vendor type (ERROR), then a signed request.
        vec![
            0, 0x81, 4, 0x01, 0x80, 0x00, 0x02, 0x81, 4, 0x01, 0x80, 0x00, 0x03, 0x81, 3, 0x7E, 1,
            2, 3, 1, 0xFF,
        ],
    ];
    for (i, seed) in seeds.iter().enumerate() {
        fuzzing::measurements(seed);
        write("spdm_measurements", &format!("seed-{i}"), seed);
    }
}

#[test]
fn provisioning_target_installs_only_the_genuine_chain() {
    // flags: bit0 set B, bit1 not in factory mode. Steps: tag 1 genuine (VCA, then
    // SET_CERTIFICATE of the genuine chain), 9 genuine GET_CSR, 5 SET_CERTIFICATE of a chain
    // for another key, 3 (bit 1) one flipped byte, 0 arbitrary bytes.
    let genuine = |flags: u8, tail: &[u8]| {
        let mut v = vec![flags, 1, 0, 1, 0, 1, 0, 9, 0];
        v.extend_from_slice(tail);
        v
    };
    let cases: Vec<(Vec<u8>, bool)> = vec![
        (genuine(0, &[1, 0]), true),
        (genuine(1, &[1, 0]), true),
        // Outside factory mode nothing installs.
        (genuine(2, &[1, 0]), false),
        (genuine(3, &[1, 0, 9, 0]), false),
        // A chain for another key (same root) is refused, the genuine one after it installs.
        (genuine(0, &[5, 0, 1, 0]), true),
        (genuine(1, &[5, 0]), false),
        // A flipped byte in SET_CERTIFICATE (tag >> 4 = its index in the MCTP message: 1 the
        // version, 12 a RootHash byte): refused; the genuine one after it installs.
        (genuine(0, &[0x13, 0, 1, 0]), true),
        (genuine(0, &[0xC3, 0, 1, 0]), true),
        (genuine(1, &[0xC3, 0]), false),
        (genuine(1, &[0x23, 0]), false),
        // Found by the fuzzer: a flipped bit in the chain's Reserved field used to install the
        // chain (same certificates, another chain hash); now refused, the genuine one installs.
        (
            vec![
                1, 1, 0, 1, 0, 1, 1, 0, 9, 0, 0x83, 0, 0x82, 0x82, 0x82, 0x82,
            ],
            false,
        ),
        (genuine(1, &[0x33, 0, 1, 0]), true),
        // Arbitrary requests: a bare SET_CERTIFICATE header, a GET_CSR with a bad length.
        (
            genuine(
                0,
                &[
                    0, 5, 0x05, 0x12, 0xEE, 0, 0, 0, 9, 0x05, 0x12, 0xED, 0, 0, 9, 0, 0, 0,
                ],
            ),
            false,
        ),
    ];
    for (i, (seed, installs)) in cases.iter().enumerate() {
        assert_eq!(fuzzing::provisioning(seed), *installs, "case {i}");
        write("spdm_provisioning", &format!("seed-{i}"), seed);
    }
    let provisioning_msgs: &[&[u8]] = &[
        &[0x12, 0xED, 0, 0, 0, 0, 0, 0],
        &[0x12, 0x6D, 0, 0, 3, 0, 0, 0, 0x30, 0x01, 0x00],
        &[0x12, 0xEE, 0, 0, 4, 0, 0, 0],
        &[0x12, 0x6E, 0, 0],
    ];
    for (i, m) in provisioning_msgs.iter().enumerate() {
        for sel in 0..2u8 {
            let mut d = vec![sel];
            d.extend_from_slice(m);
            fuzzing::messages(&d);
            if sel == 0 {
                write("spdm_messages", &format!("seed-prov-{i}"), &d);
            }
        }
    }
}
