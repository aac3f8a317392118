//! The DMTF SPDM-Responder-Validator test groups 1 to 5 (VERSION, CAPABILITIES, ALGORITHMS,
//! DIGESTS, CERTIFICATE), replayed as raw SPDM bytes against the responder as the
//! `spdm-responder` example configures it (its options: set A or B, PSK, measurements, mutual
//! authentication, HANDSHAKE_IN_THE_CLEAR, the 4 KiB DataTransferSize of a provisionable
//! device). One test per case that applies to an SPDM 1.2 responder without CHUNK_CAP; the
//! requests are the validator's (its documents, and its C sources where a document leaves the
//! bytes open). A refused request must change nothing: after it, the rest of the validator's
//! sequence (up to a CHALLENGE, whose signature covers every accepted message) must give the
//! very bytes a responder that never saw the refused request gives.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{
    HINT, INVALID_REQUEST, PSK, TestRng, UNEXPECTED_REQUEST, VERSION_MISMATCH, encode_chain, hash,
    read,
};
use der::{Decode, Encode};
use spdm_lite::cert::ChainVerifier;
use spdm_lite::crypto::{AlgorithmSet, AsymAlgo, EcdsaSigningKey, RustCrypto};
use spdm_lite::measurements::{BlockInfo, MeasurementProvider};
use spdm_lite::mut_auth::{MutAuthMode, MutAuthPolicy};
use spdm_lite::responder::{PskConfig, Responder, ResponderConfig};
use spdm_lite::session::Role;
use spdm_lite::x509::X509Verifier;

// ---- fixtures -----------------------------------------------------------------------------

/// A measurement provider without blocks: enough for MEAS_CAP and the ALGORITHMS selection.
struct NoBlocks;

impl MeasurementProvider for NoBlocks {
    fn count(&self) -> usize {
        0
    }
    fn block(&self, _: usize, _: &mut [u8]) -> Option<BlockInfo> {
        None
    }
}

static NO_BLOCKS: NoBlocks = NoBlocks;

/// One configuration of the example responder.
#[derive(Clone, Copy, Debug)]
struct Opts {
    set: AlgorithmSet,
    /// `--psk` (with PSK_FINISH unless `--no-psk-finish`).
    psk: Option<bool>,
    meas: bool,
    mut_auth: bool,
    in_clear: bool,
    /// 1024, or 4096 for a provisionable device (`--state`).
    dts: u32,
}

const A: Opts = Opts {
    set: AlgorithmSet::SET_A,
    psk: None,
    meas: false,
    mut_auth: false,
    in_clear: false,
    dts: 1024,
};
const B: Opts = Opts {
    set: AlgorithmSet::SET_B,
    ..A
};

/// Every configuration the example can start with (as far as VCA is concerned).
fn configs() -> [Opts; 8] {
    [
        A,
        B,
        Opts {
            psk: Some(true),
            ..A
        },
        Opts {
            psk: Some(false),
            ..B
        },
        Opts { meas: true, ..A },
        Opts {
            mut_auth: true,
            ..A
        },
        Opts {
            in_clear: true,
            dts: 4096,
            ..B
        },
        Opts {
            psk: Some(true),
            meas: true,
            mut_auth: true,
            in_clear: true,
            ..B
        },
    ]
}

type Rsp<'a> = Responder<'a, RustCrypto, EcdsaSigningKey>;

/// Builds the responder of `o` (chain and key from the test PKI, RNG seed fixed) and runs `f`.
fn with_responder<T>(o: Opts, f: impl FnOnce(&mut Rsp<'_>, &[u8]) -> T) -> T {
    let set = o.set;
    let chain = encode_chain(set, &read(set, "chain.der"), &read(set, "root.cert.der"));
    let key = EcdsaSigningKey::from_sec1_der(set.asym, &read(set, "leaf.key.der")).unwrap();
    let mut rng = TestRng(0x5eed_0f7e_5700);
    let psk = o.psk.map(|with_context| PskConfig {
        hint: HINT,
        key: PSK,
        with_context,
    });
    let config = ResponderConfig {
        algorithms: set,
        cert_chain: &chain,
        psk,
        handshake_in_the_clear: o.in_clear,
        data_transfer_size: o.dts,
    };
    let mut rsp = Responder::new(RustCrypto, &key, &mut rng, config).unwrap();
    if o.meas {
        rsp.set_measurements(&NO_BLOCKS);
    }
    if o.mut_auth {
        // The provisioned-key mode: its key only matters from KEY_EXCHANGE on.
        rsp.set_mut_auth(MutAuthPolicy {
            mode: MutAuthMode::PublicKey { spki: &[] },
            mandatory: false,
        });
    }
    f(&mut rsp, &chain)
}

/// Sends one plain SPDM request; returns the SPDM response (MCTP type 0x05 checked).
fn send(rsp: &mut Rsp<'_>, spdm: &[u8]) -> Vec<u8> {
    let mut a = vec![0x05];
    a.extend_from_slice(spdm);
    let mut b = [0u8; 4096];
    let m = rsp.handle(&mut a, &mut b).unwrap();
    assert_eq!(b[0], 0x05, "plain SPDM answer");
    b[1..m].to_vec()
}

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes(b[i..i + 4].try_into().unwrap())
}

// ---- the validator's requests -------------------------------------------------------------

/// Checks the validator's ERROR assertions (size, code, SPDMVersion, Param1, Param2 = 0).
fn assert_error(r: &[u8], version: u8, code: u8, what: &str) {
    assert!(r.len() >= 4, "{what}: ERROR size {}", r.len());
    assert_eq!(r[1], 0x7F, "{what}: RequestResponseCode");
    assert_eq!(r[0], version, "{what}: SPDMVersion");
    assert_eq!(r[2], code, "{what}: Param1 (error code)");
    assert_eq!(r[3], 0, "{what}: Param2");
}

const GET_VERSION: [u8; 4] = [0x10, 0x84, 0, 0];

// Capability flags.
const CERT: u32 = 1 << 1;
const CHAL: u32 = 1 << 2;
const MEAS_MASK: u32 = 3 << 3;
const MEAS_SIG: u32 = 2 << 3;
const ENCRYPT: u32 = 1 << 6;
const MAC: u32 = 1 << 7;
const MUT_AUTH: u32 = 1 << 8;
const KEY_EX: u32 = 1 << 9;
const PSK_MASK: u32 = 3 << 10;
const PSK1: u32 = 1 << 10;
const ENCAP: u32 = 1 << 12;
const HBEAT: u32 = 1 << 13;
const KEY_UPD: u32 = 1 << 14;
const HANDSHAKE_IN_THE_CLEAR: u32 = 1 << 15;
const PUB_KEY_ID: u32 = 1 << 16;
const CHUNK: u32 = 1 << 17;

/// The flags the validator's requester announces in the set-up of groups 3 to 5.
const SETUP_FLAGS: u32 = CERT | CHAL | ENCRYPT | MAC | KEY_EX | ENCAP | HBEAT | KEY_UPD;
/// The validator's DataTransferSize and MaxSPDMmsgSize (libspdm's defaults, 0x1200).
const VAL_DTS: u32 = 0x1200;

/// GET_CAPABILITIES 1.2 (20 bytes).
fn get_caps(param2: u8, ct_exponent: u8, flags: u32, dts: u32, max: u32) -> Vec<u8> {
    let mut m = vec![0x12, 0xE1, 0, param2, 0, ct_exponent, 0, 0];
    m.extend_from_slice(&flags.to_le_bytes());
    m.extend_from_slice(&dts.to_le_bytes());
    m.extend_from_slice(&max.to_le_bytes());
    m
}

/// The validator's NEGOTIATE_ALGORITHMS 1.2 (48 bytes: every base algorithm, four AlgStructs
/// offering every DHE group, AEAD suite and requester algorithm, OpaqueDataFmt1).
fn neg_algs() -> Vec<u8> {
    let mut m = vec![0x12, 0xE3, 4, 0];
    m.extend_from_slice(&48u16.to_le_bytes());
    m.push(0x01); // MeasurementSpecification: DMTF
    m.push(0x02); // OtherParamsSupport: OpaqueDataFmt1
    m.extend_from_slice(&0x0000_0FFFu32.to_le_bytes()); // RSA..P-521, SM2, Ed25519, Ed448
    m.extend_from_slice(&0x0000_007Fu32.to_le_bytes()); // SHA-256..SHA3-512, SM3
    m.extend_from_slice(&[0; 12]);
    m.extend_from_slice(&[0, 0, 0, 0]); // ExtAsymCount, ExtHashCount, reserved
    for (ty, v) in [(2u8, 0x007Fu16), (3, 0x000F), (4, 0x0FFF), (5, 0x0001)] {
        m.extend_from_slice(&[ty, 0x20]);
        m.extend_from_slice(&v.to_le_bytes());
    }
    assert_eq!(m.len(), 48);
    m
}

fn get_certificate(version: u8, slot: u8, offset: u16, length: u16) -> Vec<u8> {
    let mut m = vec![version, 0x82, slot, 0];
    m.extend_from_slice(&offset.to_le_bytes());
    m.extend_from_slice(&length.to_le_bytes());
    m
}

/// The validator's sequence: GET_VERSION, GET_CAPABILITIES, NEGOTIATE_ALGORITHMS, GET_DIGESTS,
/// GET_CERTIFICATE (first 1 KiB), then a CHALLENGE whose signature covers them all.
fn script() -> [(Vec<u8>, u8); 6] {
    let mut challenge = vec![0x12, 0x83, 0, 0];
    challenge.extend_from_slice(&[0x42; 32]);
    [
        (GET_VERSION.to_vec(), 0x04),
        (get_caps(0, 0, SETUP_FLAGS, VAL_DTS, VAL_DTS), 0x61),
        (neg_algs(), 0x63),
        (vec![0x12, 0x81, 0, 0], 0x01),
        (get_certificate(0x12, 0, 0, 0x400), 0x02),
        (challenge, 0x03),
    ]
}

/// Runs [`script`] on a fresh responder of `o`, calling `refused` before step `at`; returns
/// every response of the script (each checked to be the expected response code).
fn run_script(o: Opts, at: usize, refused: &mut dyn FnMut(&mut Rsp<'_>)) -> Vec<Vec<u8>> {
    with_responder(o, |rsp, _| {
        let mut out = Vec::new();
        for (i, (req, code)) in script().into_iter().enumerate() {
            if i == at {
                refused(rsp);
            }
            let r = send(rsp, &req);
            assert_eq!(r[1], code, "{o:?}: step {i} answered {r:02x?}");
            out.push(r);
        }
        out
    })
}

/// The refusals of `refused` (sent before step `at`) change nothing: the script then gives
/// the same bytes as without them, the CHALLENGE_AUTH signature included.
fn assert_changes_nothing(o: Opts, at: usize, refused: &mut dyn FnMut(&mut Rsp<'_>)) {
    let clean = run_script(o, at, &mut |_| {});
    let mut called = false;
    let got = run_script(o, at, &mut |rsp| {
        called = true;
        refused(rsp);
    });
    assert!(called);
    assert_eq!(
        got, clean,
        "{o:?}: a refused request changed the connection"
    );
}

/// GET_VERSION, the validator's GET_CAPABILITIES and NEGOTIATE_ALGORITHMS (the set-up of
/// groups 4 and 5); returns the CAPABILITIES flags.
fn setup_vca(rsp: &mut Rsp<'_>) -> u32 {
    let s = script();
    assert_eq!(send(rsp, &s[0].0)[1], 0x04);
    let caps = send(rsp, &s[1].0);
    assert_eq!(caps[1], 0x61);
    assert_eq!(send(rsp, &s[2].0)[1], 0x63);
    u32_at(&caps, 8)
}

// ---- 1. VERSION ---------------------------------------------------------------------------

/// DMTF SPDM-Responder-Validator case 1.1: GET_VERSION 1.0 gets VERSION 1.0 with at least one
/// entry, every entry fitting the message and naming 1.0, 1.1 or 1.2.
#[test]
fn case_1_1_get_version_gets_valid_version() {
    for o in [A, B] {
        with_responder(o, |rsp, _| {
            let r = send(rsp, &GET_VERSION);
            assert!(r.len() >= 6, "size");
            assert_eq!(r[1], 0x04, "VERSION");
            assert_eq!(r[0], 0x10, "SPDMVersion");
            let count = usize::from(r[5]);
            assert!(
                count > 0 && count <= (r.len() - 6) / 2,
                "entry count {count}"
            );
            for i in 0..count {
                let e = u16_at(&r, 6 + 2 * i);
                let v = ((e >> 12) << 4) | ((e >> 8) & 0xF);
                assert!([0x10, 0x11, 0x12].contains(&v), "entry {e:#06x}");
            }
            // Exactly 1.2, as the profile says.
            assert_eq!(r, [0x10, 0x04, 0, 0, 0, 1, 0x00, 0x12]);
        });
    }
}

// ---- 2. CAPABILITIES ----------------------------------------------------------------------

/// DMTF SPDM-Responder-Validator case 2.2: after VERSION, a GET_CAPABILITIES (header only) of
/// the highest listed version + 1 and of the lowest - 1 each gets ERROR VersionMismatch with
/// SPDMVersion 1.0 and Param2 0; neither changes the connection.
#[test]
fn case_2_2_get_capabilities_of_another_version_gets_version_mismatch() {
    for o in [A, B] {
        let (mut lowest, mut highest) = (0xFFu8, 0u8);
        with_responder(o, |rsp, _| {
            let r = send(rsp, &GET_VERSION);
            for i in 0..usize::from(r[5]) {
                let v = (u16_at(&r, 6 + 2 * i) >> 8) as u8;
                lowest = lowest.min(v);
                highest = highest.max(v);
            }
        });
        assert_eq!((lowest, highest), (0x12, 0x12));
        assert_changes_nothing(o, 1, &mut |rsp| {
            for v in [highest + 1, lowest - 1] {
                let r = send(rsp, &[v, 0xE1, 0, 0]);
                assert_error(&r, 0x10, VERSION_MISMATCH, &format!("version {v:#x}"));
            }
        });
    }
}

/// DMTF SPDM-Responder-Validator case 2.4: a GET_CAPABILITIES 1.2 with inconsistent flags
/// (KEY_EX_CAP and PSK_CAP without ENCRYPT_CAP or MAC_CAP; ENCRYPT_CAP and MAC_CAP without
/// KEY_EX_CAP or PSK_CAP), with DataTransferSize 41, or with DataTransferSize above
/// MaxSPDMmsgSize gets ERROR InvalidRequest in version 1.2, Param2 0, and changes nothing.
/// The validator sends the first flag set also without PSK_CAP (its C source), and skips
/// MUT_AUTH_CAP without ENCAP_CAP for 1.2 (a 1.1-only rule): both are covered so.
#[test]
fn case_2_4_get_capabilities_with_invalid_fields_gets_invalid_request() {
    let base = CERT | CHAL | ENCRYPT | MAC | MUT_AUTH | KEY_EX | ENCAP | HBEAT | KEY_UPD;
    let bad = [
        (
            "KEY_EX, PSK without ENCRYPT/MAC",
            CERT | CHAL | MUT_AUTH | KEY_EX | PSK1 | ENCAP | HBEAT | KEY_UPD,
            VAL_DTS,
            VAL_DTS,
        ),
        (
            "KEY_EX without ENCRYPT/MAC",
            CERT | CHAL | MUT_AUTH | KEY_EX | ENCAP | HBEAT | KEY_UPD,
            VAL_DTS,
            VAL_DTS,
        ),
        (
            "ENCRYPT/MAC without KEY_EX/PSK",
            CERT | CHAL | ENCRYPT | MAC | MUT_AUTH | ENCAP | HBEAT | KEY_UPD,
            VAL_DTS,
            VAL_DTS,
        ),
        ("DataTransferSize 41", base, 41, VAL_DTS),
        (
            "DataTransferSize > MaxSPDMmsgSize",
            base,
            VAL_DTS + 1,
            VAL_DTS,
        ),
    ];
    for o in configs() {
        assert_changes_nothing(o, 1, &mut |rsp| {
            for (what, flags, dts, max) in bad {
                let r = send(rsp, &get_caps(0, 0, flags, dts, max));
                assert_error(&r, 0x12, INVALID_REQUEST, what);
                assert_eq!(rsp.state_name(), "AwaitCapabilities", "{what}");
            }
        });
    }
}

/// DMTF SPDM-Responder-Validator case 2.5: GET_CAPABILITIES 1.2 (CERT, CHAL, ENCRYPT, MAC,
/// MUT_AUTH, KEY_EX, PSK_CAP = 01b, ENCAP, HBEAT, KEY_UPD, CHUNK) gets a 20-byte CAPABILITIES
/// 1.2 whose flags are consistent: MEAS_CAP and PSK_CAP not 11b; ENCRYPT or MAC only with
/// KEY_EX or PSK; KEY_EX or PSK only with ENCRYPT or MAC; MUT_AUTH only with ENCAP;
/// HANDSHAKE_IN_THE_CLEAR only with KEY_EX; PUB_KEY_ID never with CERT; CHAL, KEY_EX or
/// signed measurements only with CERT or PUB_KEY_ID (the C source's 2.5.15);
/// DataTransferSize >= 42 and MaxSPDMmsgSize >= DataTransferSize. Checked in every
/// configuration, with the flags each one offers.
#[test]
fn case_2_5_get_capabilities_1_2_gets_valid_capabilities() {
    let req = CERT | CHAL | ENCRYPT | MAC | MUT_AUTH | KEY_EX | PSK1 | ENCAP | HBEAT | KEY_UPD;
    for o in configs() {
        with_responder(o, |rsp, _| {
            send(rsp, &GET_VERSION);
            let r = send(rsp, &get_caps(0, 0, req | CHUNK, VAL_DTS, VAL_DTS));
            assert!(r.len() >= 20, "{o:?}: size {}", r.len());
            assert_eq!(r[1], 0x61, "{o:?}: CAPABILITIES");
            assert_eq!(r[0], 0x12, "{o:?}: SPDMVersion");
            let f = u32_at(&r, 8);
            let has = |m: u32| f & m != 0;
            let session = has(KEY_EX) || has(PSK_MASK);
            assert_ne!(f & MEAS_MASK, MEAS_MASK, "{o:?}: MEAS_CAP {f:#x}");
            assert_ne!(f & PSK_MASK, PSK_MASK, "{o:?}: PSK_CAP {f:#x}");
            assert!(!has(ENCRYPT) || session, "{o:?}: ENCRYPT {f:#x}");
            assert!(!has(MAC) || session, "{o:?}: MAC {f:#x}");
            assert!(!has(KEY_EX) || has(ENCRYPT | MAC), "{o:?}: KEY_EX {f:#x}");
            assert!(!has(PSK_MASK) || has(ENCRYPT | MAC), "{o:?}: PSK {f:#x}");
            assert!(!has(MUT_AUTH) || has(ENCAP), "{o:?}: MUT_AUTH {f:#x}");
            assert!(
                !has(HANDSHAKE_IN_THE_CLEAR) || has(KEY_EX),
                "{o:?}: HANDSHAKE_IN_THE_CLEAR {f:#x}"
            );
            assert!(!has(PUB_KEY_ID) || !has(CERT), "{o:?}: PUB_KEY_ID {f:#x}");
            assert!(
                !(has(CHAL) || has(KEY_EX) || f & MEAS_MASK == MEAS_SIG) || has(CERT | PUB_KEY_ID),
                "{o:?}: CHAL/KEY_EX/MEAS need a key {f:#x}"
            );
            let (dts, max) = (u32_at(&r, 12), u32_at(&r, 16));
            assert!(dts >= 42, "{o:?}: DataTransferSize {dts}");
            assert!(max >= dts, "{o:?}: MaxSPDMmsgSize {max}");
            // And the flags are what the configuration offers.
            assert_eq!(f & MUT_AUTH != 0, o.mut_auth, "{o:?}");
            assert_eq!(f & MEAS_MASK == MEAS_SIG, o.meas, "{o:?}");
            assert_eq!(f & PSK_MASK != 0, o.psk.is_some(), "{o:?}");
            assert_eq!(f & HANDSHAKE_IN_THE_CLEAR != 0, o.in_clear, "{o:?}");
            assert_eq!(dts, o.dts, "{o:?}");
        });
    }
}

/// DMTF SPDM-Responder-Validator case 2.6: once CAPABILITIES went out, a second
/// GET_CAPABILITIES gets ERROR UnexpectedRequest in version 1.2 (Param2 0), whether it
/// differs (Param2 = 1; CTExponent + 1 without HBEAT_CAP; DataTransferSize and
/// MaxSPDMmsgSize one more) or, as the validator's C source actually sends, repeats the first
/// one; none changes the connection.
#[test]
fn case_2_6_second_get_capabilities_gets_unexpected_request() {
    let first = &script()[1].0;
    let again = [
        get_caps(1, 0, SETUP_FLAGS, VAL_DTS, VAL_DTS),
        get_caps(0, 1, SETUP_FLAGS & !HBEAT, VAL_DTS, VAL_DTS),
        get_caps(0, 0, SETUP_FLAGS, VAL_DTS + 1, VAL_DTS + 1),
        first.clone(),
    ];
    for o in [A, B] {
        assert_changes_nothing(o, 2, &mut |rsp| {
            for m in &again {
                let r = send(rsp, m);
                assert_error(&r, 0x12, UNEXPECTED_REQUEST, &format!("{m:02x?}"));
                assert_eq!(rsp.state_name(), "AwaitAlgorithms");
            }
        });
    }
}

// ---- 3. ALGORITHMS ------------------------------------------------------------------------

/// DMTF SPDM-Responder-Validator case 3.2: after CAPABILITIES 1.2, a NEGOTIATE_ALGORITHMS of
/// version 1.3 and of version 1.1 each gets ERROR VersionMismatch in version 1.2, Param2 0,
/// and changes nothing.
#[test]
fn case_3_2_negotiate_algorithms_of_another_version_gets_version_mismatch() {
    for o in [A, B] {
        assert_changes_nothing(o, 2, &mut |rsp| {
            for v in [0x13, 0x11] {
                let mut m = neg_algs();
                m[0] = v;
                let r = send(rsp, &m);
                assert_error(&r, 0x12, VERSION_MISMATCH, &format!("version {v:#x}"));
            }
        });
    }
}

/// DMTF SPDM-Responder-Validator case 3.3: NEGOTIATE_ALGORITHMS right after VERSION (no
/// GET_CAPABILITIES) gets ERROR UnexpectedRequest in version 1.0, Param2 0, and changes
/// nothing; with SPDMVersion 1.2 (the document) and 0 (what the C source sends, since no
/// version is negotiated yet).
#[test]
fn case_3_3_negotiate_algorithms_before_capabilities_gets_unexpected_request() {
    for o in [A, B] {
        assert_changes_nothing(o, 1, &mut |rsp| {
            for v in [0x12, 0x00] {
                let mut m = neg_algs();
                m[0] = v;
                let r = send(rsp, &m);
                assert_error(&r, 0x10, UNEXPECTED_REQUEST, &format!("version {v:#x}"));
                assert_eq!(rsp.state_name(), "AwaitCapabilities");
            }
        });
    }
}

/// DMTF SPDM-Responder-Validator case 3.4: a NEGOTIATE_ALGORITHMS 1.2 whose Length is one
/// less or one more than the message, or 129 more with as many bytes appended (the C
/// source), with ExtAsymCount 21 or ExtHashCount 21 (no such entries sent), or an AlgStruct
/// with FixedAlgCount 1 or 3, or ExtAlgCount 0xF in every AlgStruct, gets ERROR
/// InvalidRequest in version 1.2, Param2 0, and changes nothing.
#[test]
fn case_3_4_negotiate_algorithms_with_invalid_fields_gets_invalid_request() {
    let edit = |f: &dyn Fn(&mut Vec<u8>)| {
        let mut m = neg_algs();
        f(&mut m);
        m
    };
    let bad = [
        ("Length - 1", edit(&|m| m[4] -= 1)),
        ("Length + 1", edit(&|m| m[4] += 1)),
        (
            "Length + 129, bytes appended",
            edit(&|m| {
                m[4] += 129;
                m.extend_from_slice(&[0; 129]);
            }),
        ),
        ("ExtAsymCount 21", edit(&|m| m[28] = 21)),
        ("ExtHashCount 21", edit(&|m| m[29] = 21)),
        ("FixedAlgCount 1", edit(&|m| m[33] = 0x10)),
        ("FixedAlgCount 3", edit(&|m| m[33] = 0x30)),
        (
            "ExtAlgCount 0xF",
            edit(&|m| {
                for i in [33, 37, 41, 45] {
                    m[i] = 0x2F;
                }
            }),
        ),
    ];
    for o in configs() {
        assert_changes_nothing(o, 2, &mut |rsp| {
            for (what, m) in &bad {
                let r = send(rsp, m);
                assert_error(&r, 0x12, INVALID_REQUEST, what);
                assert_eq!(rsp.state_name(), "AwaitAlgorithms", "{what}");
            }
        });
    }
}

/// At most one bit of `v` set, and only among `allowed`.
fn one_of(v: u32, allowed: u32) -> bool {
    v.count_ones() == 1 && v & !allowed == 0
}

/// DMTF SPDM-Responder-Validator case 3.6: the validator's NEGOTIATE_ALGORITHMS 1.2 (after its
/// GET_CAPABILITIES, which does not announce MUT_AUTH_CAP) gets ALGORITHMS 1.2 of consistent
/// Length, no extended algorithms, MeasurementSpecificationSel DMTF or 0, one
/// MeasurementHashAlgo with MEAS_CAP (else 0), one BaseAsymSel and one BaseHashSel (CHAL_CAP
/// and KEY_EX_CAP are set), at most four AlgStructs of distinct known types with AlgCount
/// 0x20, one DHE group, AEAD suite and the SPDM key schedule (KEY_EX_CAP), one
/// ReqBaseAsymAlg when this responder has MUT_AUTH_CAP (else 0 or absent), and
/// OpaqueDataFmt1. In every configuration.
#[test]
fn case_3_6_negotiate_algorithms_1_2_gets_valid_algorithms() {
    for o in configs() {
        with_responder(o, |rsp, _| {
            let s = script();
            send(rsp, &s[0].0);
            let caps = u32_at(&send(rsp, &s[1].0), 8);
            let r = send(rsp, &neg_algs());
            assert!(r.len() >= 36, "{o:?}: size");
            assert_eq!(r[1], 0x63, "{o:?}: ALGORITHMS");
            assert_eq!(r[0], 0x12, "{o:?}: SPDMVersion");
            let n = usize::from(r[2]);
            let (ext_asym, ext_hash) = (usize::from(r[32]), usize::from(r[33]));
            let len = usize::from(u16_at(&r, 4));
            assert!(len <= r.len(), "{o:?}: Length");
            assert_eq!(
                len,
                36 + 4 * ext_asym + 4 * ext_hash + 4 * n,
                "{o:?}: Length"
            );
            assert_eq!((ext_asym, ext_hash), (0, 0), "{o:?}: extended algorithms");
            let meas_spec = r[6];
            assert!(meas_spec == 0 || meas_spec == 0x01, "{o:?}: MeasSpecSel");
            let meas_hash = u32_at(&r, 8);
            if caps & MEAS_MASK != 0 {
                assert!(one_of(meas_hash, 0xFF), "{o:?}: MeasurementHashAlgo");
            } else {
                assert_eq!(meas_hash, 0, "{o:?}: MeasurementHashAlgo");
            }
            assert!(caps & (CHAL | KEY_EX) != 0);
            assert!(one_of(u32_at(&r, 12), 0xFFF), "{o:?}: BaseAsymSel");
            assert!(one_of(u32_at(&r, 16), 0x7F), "{o:?}: BaseHashSel");
            assert_eq!(u32_at(&r, 12), o.set.asym.bit(), "{o:?}");
            assert_eq!(u32_at(&r, 16), o.set.hash.bit(), "{o:?}");
            assert!(n <= 4, "{o:?}: Param1");
            let mut seen = [None; 6];
            for i in 0..n {
                let (ty, count, v) = (r[36 + 4 * i], r[37 + 4 * i], u16_at(&r, 38 + 4 * i));
                assert!((2..=5).contains(&ty), "{o:?}: AlgType {ty}");
                assert!(
                    seen[usize::from(ty)].replace(v).is_none(),
                    "{o:?}: AlgType {ty} twice"
                );
                assert_eq!(count, 0x20, "{o:?}: AlgCount");
            }
            let get = |ty: usize| u32::from(seen[ty].unwrap_or(0));
            assert!(caps & KEY_EX != 0);
            assert!(one_of(get(2), 0x7F), "{o:?}: DHE");
            assert!(one_of(get(3), 0x0F), "{o:?}: AEAD");
            if caps & MUT_AUTH != 0 {
                assert!(one_of(get(4), 0xFFF), "{o:?}: ReqBaseAsymAlg");
            } else {
                assert_eq!(get(4), 0, "{o:?}: ReqBaseAsymAlg");
            }
            assert_eq!(get(5), 0x0001, "{o:?}: KeySchedule");
            let other = r[7];
            assert!(
                other.count_ones() <= 1 && other == 0x02,
                "{o:?}: OpaqueDataFmt1"
            );
        });
    }
}

/// DMTF SPDM-Responder-Validator case 3.7: once ALGORITHMS went out, another
/// NEGOTIATE_ALGORITHMS gets ERROR UnexpectedRequest in version 1.2, Param2 0: with
/// Param2 = 1, with the selected base algorithms only, with the selected DHE, AEAD and
/// requester algorithms only; none changes the connection.
#[test]
fn case_3_7_second_negotiate_algorithms_gets_unexpected_request() {
    for o in [A, B, configs()[7]] {
        let sel = with_responder(o, |rsp, _| {
            let s = script();
            send(rsp, &s[0].0);
            send(rsp, &s[1].0);
            send(rsp, &s[2].0)
        });
        let mut again = vec![neg_algs(), neg_algs(), neg_algs()];
        again[0][3] = 1;
        again[1][8..16].copy_from_slice(&sel[12..20]);
        for (i, at) in [(0, 34), (1, 38), (2, 42)] {
            again[2][at..at + 2].copy_from_slice(&sel[38 + 4 * i..40 + 4 * i]);
        }
        assert_changes_nothing(o, 3, &mut |rsp| {
            for m in &again {
                let r = send(rsp, m);
                assert_error(&r, 0x12, UNEXPECTED_REQUEST, &format!("{m:02x?}"));
                assert_eq!(rsp.state_name(), "Negotiated");
            }
        });
    }
}

// ---- 4. DIGESTS ---------------------------------------------------------------------------

/// DMTF SPDM-Responder-Validator case 4.1: after VCA (CERT_CAP set), GET_DIGESTS 1.2 gets
/// DIGESTS 1.2 whose SlotMask has slot 0, with a digest of the negotiated hash per slot.
#[test]
fn case_4_1_get_digests_gets_valid_digests() {
    for o in [A, B] {
        with_responder(o, |rsp, chain| {
            assert!(setup_vca(rsp) & CERT != 0);
            let r = send(rsp, &[0x12, 0x81, 0, 0]);
            assert!(r.len() >= 4, "size");
            assert_eq!(r[1], 0x01, "DIGESTS");
            assert_eq!(r[0], 0x12, "SPDMVersion");
            assert_eq!(r[3] & 1, 1, "slot 0 in SlotMask");
            let h = o.set.hash.len();
            assert!(r.len() >= 4 + h * r[3].count_ones() as usize, "digests");
            assert_eq!(r[4..4 + h], hash(o.set, &[chain])[..], "slot 0 digest");
        });
    }
}

/// DMTF SPDM-Responder-Validator case 4.2: after VCA, a GET_DIGESTS of version 1.3 and of
/// version 1.1 each gets ERROR VersionMismatch in version 1.2, Param2 0, and changes nothing.
#[test]
fn case_4_2_get_digests_of_another_version_gets_version_mismatch() {
    for o in [A, B] {
        assert_changes_nothing(o, 3, &mut |rsp| {
            for v in [0x13, 0x11] {
                let r = send(rsp, &[v, 0x81, 0, 0]);
                assert_error(&r, 0x12, VERSION_MISMATCH, &format!("version {v:#x}"));
            }
        });
    }
}

/// DMTF SPDM-Responder-Validator case 4.3: GET_DIGESTS 1.2 after CAPABILITIES but before
/// NEGOTIATE_ALGORITHMS gets ERROR UnexpectedRequest in version 1.2, Param2 0, and changes
/// nothing.
#[test]
fn case_4_3_get_digests_before_algorithms_gets_unexpected_request() {
    for o in [A, B] {
        assert_changes_nothing(o, 2, &mut |rsp| {
            let r = send(rsp, &[0x12, 0x81, 0, 0]);
            assert_error(&r, 0x12, UNEXPECTED_REQUEST, "GET_DIGESTS");
            assert_eq!(rsp.state_name(), "AwaitAlgorithms");
        });
    }
}

// ---- 5. CERTIFICATE -----------------------------------------------------------------------

/// Reads slot 0 as the validator does (GET_CERTIFICATE, Length 0x400, from offset 0 until
/// RemainderLength is 0), checking every CERTIFICATE; returns the chain.
fn read_chain(rsp: &mut Rsp<'_>) -> Vec<u8> {
    let mut chain = Vec::new();
    loop {
        let off = u16::try_from(chain.len()).unwrap();
        let r = send(rsp, &get_certificate(0x12, 0, off, 0x400));
        assert!(r.len() >= 8, "size");
        assert_eq!(r[1], 0x02, "CERTIFICATE: {r:02x?}");
        assert_eq!(r[0], 0x12, "SPDMVersion");
        let portion = usize::from(u16_at(&r, 4));
        assert!(portion > 0 && portion <= 0x400, "PortionLength {portion}");
        assert_eq!(r.len(), 8 + portion, "message size");
        chain.extend_from_slice(&r[8..]);
        if u16_at(&r, 6) == 0 {
            return chain;
        }
    }
}

/// DMTF SPDM-Responder-Validator case 5.1: after VCA and DIGESTS, slot 0 read with
/// GET_CERTIFICATE (Length 0x400, next offset until RemainderLength 0) comes in CERTIFICATE
/// 1.2 portions of 1..=0x400 bytes; the chain's Length is its size and its hash is the slot-0
/// digest of DIGESTS. Also with a provisionable device's 4 KiB DataTransferSize.
#[test]
fn case_5_1_get_certificate_gets_the_chain_of_the_digest() {
    for o in [A, B, Opts { dts: 4096, ..A }] {
        with_responder(o, |rsp, served| {
            setup_vca(rsp);
            let d = send(rsp, &[0x12, 0x81, 0, 0]);
            assert_eq!(d[3], 0x01, "slot 0 only");
            let chain = read_chain(rsp);
            assert_eq!(usize::from(u16_at(&chain, 0)), chain.len(), "chain Length");
            assert_eq!(hash(o.set, &[&chain])[..], d[4..], "Hash(chain) = digest");
            assert_eq!(chain, served);
        });
    }
}

/// DMTF SPDM-Responder-Validator case 5.2: after VCA and DIGESTS, a GET_CERTIFICATE of version
/// 1.3 and of version 1.1 each gets ERROR VersionMismatch in version 1.2, Param2 0, and
/// changes nothing.
#[test]
fn case_5_2_get_certificate_of_another_version_gets_version_mismatch() {
    for o in [A, B] {
        assert_changes_nothing(o, 4, &mut |rsp| {
            for v in [0x13, 0x11] {
                let r = send(rsp, &get_certificate(v, 0, 0, 0x400));
                assert_error(&r, 0x12, VERSION_MISMATCH, &format!("version {v:#x}"));
            }
        });
    }
}

/// DMTF SPDM-Responder-Validator case 5.4: after VCA and DIGESTS, GET_CERTIFICATE for every
/// slot not in the SlotMask (1..=7) and for slot ids 8..=0xF, and for slot 0 at Offset 0xFFFF,
/// gets ERROR InvalidRequest in version 1.2, Param2 0, and changes nothing.
#[test]
fn case_5_4_get_certificate_with_invalid_fields_gets_invalid_request() {
    for o in [A, B] {
        assert_changes_nothing(o, 4, &mut |rsp| {
            for slot in 1..=0xF {
                let r = send(rsp, &get_certificate(0x12, slot, 0, 0x400));
                assert_error(&r, 0x12, INVALID_REQUEST, &format!("slot {slot}"));
            }
            let r = send(rsp, &get_certificate(0x12, 0, 0xFFFF, 0x400));
            assert_error(&r, 0x12, INVALID_REQUEST, "offset 0xFFFF");
        });
    }
}

/// The DER certificates of an SPDM chain (after its 4-byte header and RootHash).
fn split_certs(mut der: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    while !der.is_empty() {
        assert_eq!(der[0], 0x30, "certificate SEQUENCE");
        let (hl, len) = match der[1] {
            l @ 0..=0x7F => (2, usize::from(l)),
            0x81 => (3, usize::from(der[2])),
            0x82 => (4, usize::from(u16::from_be_bytes([der[2], der[3]]))),
            l => panic!("length form {l:#x}"),
        };
        out.push(&der[..hl + len]);
        der = &der[hl + len..];
    }
    out
}

/// Whether the DER of `cert` contains the OBJECT IDENTIFIER 1.3.6.1.4.1.412.274.`tail`.
fn has_dmtf_oid(cert: &[u8], tail: &[u8]) -> bool {
    let mut oid = vec![0x06, 9 + tail.len() as u8];
    oid.extend_from_slice(&[0x2B, 0x06, 0x01, 0x04, 0x01, 0x83, 0x1C, 0x82, 0x12]);
    oid.extend_from_slice(tail);
    cert.windows(oid.len()).any(|w| w == oid.as_slice())
}

/// DMTF SPDM-Responder-Validator case 5.5: the chain read with GET_CERTIFICATE is X.509 as
/// SPDM wants it: a self-signed first certificate's hash is the RootHash; each certificate is
/// signed by the one before it; the leaf's key is of the negotiated algorithm; every
/// certificate is v3 with a serial number, signature algorithm, issuer, subject, validity,
/// public key and KeyUsage; a leaf BasicConstraints says CA false; the DMTF device-info,
/// hardware-identity, responder-auth and requester-auth OIDs appear only in the leaf (no
/// ALIAS_CERT_CAP), device-info as "manufacturer:product:serial", and no certificate is marked
/// mutable (that needs ALIAS_CERT_CAP).
#[test]
fn case_5_5_certificate_chain_follows_x509_and_spdm() {
    use x509_cert::Certificate;
    use x509_cert::ext::pkix::{BasicConstraints, KeyUsage};
    for o in [A, B] {
        with_responder(o, |rsp, _| {
            setup_vca(rsp);
            send(rsp, &[0x12, 0x81, 0, 0]);
            let chain = read_chain(rsp);
            let h = o.set.hash.len();
            let ders = split_certs(&chain[4 + h..]);
            assert!(ders.len() >= 2);
            let certs: Vec<Certificate> = ders
                .iter()
                .map(|d| Certificate::from_der(d).unwrap())
                .collect();
            let tbs0 = certs[0].tbs_certificate();
            if tbs0.issuer() == tbs0.subject() {
                assert_eq!(chain[4..4 + h], hash(o.set, &[ders[0]])[..], "RootHash");
            }
            // Each certificate signed by the previous one (root as the anchor).
            let mut leaf_key = [0u8; 97];
            X509Verifier::new(RustCrypto, ders[0])
                .verify_chain(o.set, Role::Responder, &chain, &mut leaf_key)
                .unwrap();
            let last = certs.len() - 1;
            // namedCurve secp256r1 / secp384r1, DER.
            let curve: &[u8] = match o.set.asym {
                AsymAlgo::EcdsaP256 => &[0x06, 8, 0x2A, 0x86, 0x48, 0xCE, 0x3D, 3, 1, 7],
                _ => &[0x06, 5, 0x2B, 0x81, 0x04, 0x00, 0x22],
            };
            let spki = certs[last].tbs_certificate().subject_public_key_info();
            assert_eq!(spki.algorithm.oid.to_string(), "1.2.840.10045.2.1");
            let params = spki
                .algorithm
                .parameters
                .as_ref()
                .unwrap()
                .to_der()
                .unwrap();
            assert_eq!(params, curve, "leaf key of the negotiated algorithm");
            for (i, (c, d)) in certs.iter().zip(&ders).enumerate() {
                let t = c.tbs_certificate();
                let leaf = i == last;
                assert_eq!(t.version(), x509_cert::certificate::Version::V3, "cert {i}");
                assert!(!t.serial_number().as_bytes().is_empty(), "cert {i} serial");
                assert_eq!(c.signature_algorithm().oid, t.signature().oid, "cert {i}");
                assert!(
                    !t.issuer().is_empty() && !t.subject().is_empty(),
                    "cert {i}"
                );
                let v = t.validity();
                assert!(v.not_before.to_unix_duration() < v.not_after.to_unix_duration());
                assert!(
                    !t.subject_public_key_info()
                        .subject_public_key
                        .raw_bytes()
                        .is_empty()
                );
                assert!(
                    t.get_extension::<KeyUsage>().unwrap().is_some(),
                    "cert {i} KeyUsage"
                );
                if leaf && let Some((_, bc)) = t.get_extension::<BasicConstraints>().unwrap() {
                    assert!(!bc.ca, "leaf CA:FALSE");
                }
                for (what, tail) in [
                    ("device-info", &[1u8][..]),
                    ("hardware-identity", &[2]),
                    ("responder-auth", &[3]),
                    ("requester-auth", &[4]),
                ] {
                    assert!(
                        !has_dmtf_oid(d, tail) || leaf,
                        "cert {i}: {what} outside the leaf"
                    );
                }
                assert!(!has_dmtf_oid(d, &[5]), "cert {i}: mutable certificate");
                if has_dmtf_oid(d, &[1]) {
                    let text = String::from_utf8_lossy(d);
                    assert!(text.matches(':').count() >= 2, "device-info form");
                }
            }
            // The test PKI's leaf carries the responder-auth EKU: the rule above ran.
            assert!(has_dmtf_oid(ders[last], &[3]));
        });
    }
}
