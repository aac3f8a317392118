//! Our responder, configured as the `spdm-responder` example configures it, against the
//! messages a default DMTF `spdm_requester_emu` (libspdm) run sends, and the checks libspdm's
//! requester applies to the answers.
//!
//! What a default run does (spdm-emu `spdm_emu.c` / `spdm_requester_*.c`, libspdm
//! `libspdm_req_*.c`):
//! - VCA: GET_VERSION (1.0), then SPDM 1.2 GET_CAPABILITIES with CERT, CHAL, ENCRYPT, MAC,
//!   MUT_AUTH, KEY_EX, PSK (requester), ENCAP, HBEAT, KEY_UPD, HANDSHAKE_IN_THE_CLEAR and
//!   CHUNK (flags 0x0002F7C6 as recorded in `vectors/spdm12_libspdm_vectors.json`; newer
//!   spdm-emu also sets 1.3/1.4-only bits, which libspdm masks for 1.2), DataTransferSize 0x1200
//!   and MaxSPDMmsgSize 0x28000; NEGOTIATE_ALGORITHMS offering MeasurementSpecification DMTF,
//!   OpaqueDataFmt1, BaseAsym ECDSA P-384|P-256, BaseHash SHA-384|SHA-256, DHE secp384r1|
//!   secp256r1|FFDHE3072|FFDHE2048, AEAD AES-256-GCM|ChaCha20-Poly1305, ReqBaseAsym
//!   RSAPSS-3072|RSAPSS-2048|RSASSA-3072|RSASSA-2048, KeySchedule SPDM;
//! - `--exe_conn` (default DIGEST, CERT, CHAL, MEAS, ...; steps the responder's CAPABILITIES
//!   do not allow are dropped): GET_DIGESTS, GET_CERTIFICATE slot 0 until the remainder is 0,
//!   CHALLENGE slot 0 with MeasurementSummaryHashType All (0xFF, `--meas_sum` default), then
//!   GET_MEASUREMENTS one by one (`--meas_op ONE_BY_ONE`, `--meas_att HASH` = attributes 0):
//!   operation 0 (count), then each index 1..=count, signature (and slot 0) only on the last;
//! - `--exe_session` (default KEY_EX then PSK): per session KEY_EXCHANGE / PSK_EXCHANGE with
//!   Param1 = 0xFF, slot 0, SessionPolicy 1, opaque data listing secured-message versions 1.0,
//!   1.1 and 1.2; then an application message, HEARTBEAT, KEY_UPDATE UpdateAllKeys followed by
//!   VerifyNewKey (`--key_upd ALL`), the measurements again inside the session, END_SESSION
//!   with Param1 = 1 (PreserveNegotiatedStateClear).
//!
//! Each test cites the source of what it expects. What cannot work with a default run (set A's
//! AEAD, RSA requester keys, the emu's own trust anchors) is asserted as such and listed in
//! `docs/profile.md`.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::*;
use der::Decode;
use spdm_lite::crypto::{AlgorithmSet, AsymAlgo, CryptoProvider, EcdsaSigningKey, RustCrypto};
use spdm_lite::measurements::{BlockInfo, MeasurementProvider, value_type as vt};
use spdm_lite::msgs::Version;
use spdm_lite::msgs::key_update::KeyUpdateOp;
use spdm_lite::requester::{Auth, Requester, RequesterConfig, SessionEvent, Status};
use spdm_lite::responder::{PldmGetTid, PskConfig, Responder, ResponderConfig};
use spdm_lite::transcript::{context, signing_digest};

const SET_A: AlgorithmSet = AlgorithmSet::SET_A;
const SET_B: AlgorithmSet = AlgorithmSet::SET_B;

// DSP0274 bit values of the offers.
const ASYM_P256: u32 = 0x10;
const ASYM_P384: u32 = 0x80;
const HASH_256: u32 = 0x01;
const HASH_384: u32 = 0x02;
const MEAS_HASH_256: u32 = 0x02;
const MEAS_HASH_384: u32 = 0x04;
const MEAS_HASH_512: u32 = 0x08;
const DHE_FFDHE2048: u16 = 0x01;
const DHE_FFDHE3072: u16 = 0x02;
const DHE_SECP256: u16 = 0x08;
const DHE_SECP384: u16 = 0x10;
const AEAD_AES128: u16 = 0x01;
const AEAD_AES256: u16 = 0x02;
const AEAD_CHACHA: u16 = 0x04;
const REQ_RSA_ALL: u16 = 0x01 | 0x02 | 0x04 | 0x08;

/// spdm-emu default requester capabilities as libspdm sends them in a 1.2 GET_CAPABILITIES
/// (recorded vector: `c6f70200`).
const EMU_REQ_FLAGS: u32 = 0x0002_F7C6;
/// libspdm requester DataTransferSize / MaxSPDMmsgSize (recorded vector: 0x1200, 0x28000).
const EMU_DTS: u32 = 0x1200;
const EMU_MAX_MSG: u32 = 0x0002_8000;
/// libspdm sample PSK and hint (`TestPskData\0`, `TestPskHint\0`; spdm-emu default).
const EMU_PSK: &[u8] = b"TestPskData\0";
const EMU_HINT: &[u8] = b"TestPskHint\0";

/// The algorithm offer of one `spdm_requester_emu` run.
#[derive(Clone, Copy)]
struct Offer {
    asym: u32,
    hash: u32,
    dhe: u16,
    aead: u16,
    req_asym: u16,
}

/// spdm-emu defaults (`spdm_emu.c`: `m_support_*_algo`).
const EMU_DEFAULT: Offer = Offer {
    asym: ASYM_P384 | ASYM_P256,
    hash: HASH_384 | HASH_256,
    dhe: DHE_SECP384 | DHE_SECP256 | DHE_FFDHE3072 | DHE_FFDHE2048,
    aead: AEAD_AES256 | AEAD_CHACHA,
    req_asym: REQ_RSA_ALL,
};

/// NEGOTIATE_ALGORITHMS as libspdm 1.2 builds it: 32-byte body, then the four AlgStructs
/// (DHE, AEAD, ReqBaseAsymAlg, KeySchedule), each with AlgCount 0x20.
fn negotiate_algorithms(o: Offer) -> Vec<u8> {
    let mut m = vec![0x12, 0xE3, 4, 0, 48, 0, 0x01, 0x02];
    m.extend_from_slice(&o.asym.to_le_bytes());
    m.extend_from_slice(&o.hash.to_le_bytes());
    m.extend_from_slice(&[0; 12]);
    m.extend_from_slice(&[0, 0, 0, 0]);
    for (ty, v) in [(2u8, o.dhe), (3, o.aead), (4, o.req_asym), (5, 0x0001)] {
        m.extend_from_slice(&[ty, 0x20]);
        m.extend_from_slice(&v.to_le_bytes());
    }
    assert_eq!(m.len(), 48);
    m
}

fn get_capabilities() -> Vec<u8> {
    let mut m = vec![0x12, 0xE1, 0, 0, 0, 0, 0, 0];
    m.extend_from_slice(&EMU_REQ_FLAGS.to_le_bytes());
    m.extend_from_slice(&EMU_DTS.to_le_bytes());
    m.extend_from_slice(&EMU_MAX_MSG.to_le_bytes());
    m
}

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}
fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes(b[i..i + 4].try_into().unwrap())
}
fn one_hot(v: u32) -> bool {
    v.count_ones() == 1
}

/// The example's sample measurements (`examples/common/mod.rs`, `--measurements`).
struct Sample(Vec<Block>);

impl Sample {
    fn new(set: AlgorithmSet) -> Self {
        let d = |s: &str| hash(set, &[s.as_bytes()]);
        Self(vec![
            (1, vt::IMMUTABLE_ROM, d("example boot ROM"), true),
            (2, vt::MUTABLE_FIRMWARE, d("example firmware 1.0.0"), true),
            (3, vt::HARDWARE_CONFIG, d("example fuses"), false),
            (4, vt::FIRMWARE_VERSION | vt::RAW, b"1.0.0".to_vec(), false),
            (
                5,
                vt::SECURITY_VERSION_NUMBER | vt::RAW,
                1u64.to_le_bytes().to_vec(),
                true,
            ),
        ])
    }
}

impl MeasurementProvider for Sample {
    fn count(&self) -> usize {
        self.0.len()
    }
    fn block(&self, n: usize, value: &mut [u8]) -> Option<BlockInfo> {
        block_info(&self.0, n, value)
    }
}

/// The options of the `spdm-responder` example that change what a requester sees.
#[derive(Clone, Copy, Default)]
struct Opts {
    psk: bool,
    no_psk_finish: bool,
    in_clear: bool,
    measurements: bool,
}

/// Runs `f` with a responder configured as `spdm-responder --set <set>` with `o`: the test
/// PKI's chain and key, DataTransferSize 1024, the example's sample measurements, the
/// libspdm sample PSK and hint.
fn with_rsp<R>(
    set: AlgorithmSet,
    o: Opts,
    f: impl FnOnce(&mut Responder<'_, RustCrypto, EcdsaSigningKey>) -> R,
) -> R {
    let chain = spdm_chain(set, "chain.der", "root.cert.der");
    let key = EcdsaSigningKey::from_sec1_der(set.asym, &read(set, "leaf.key.der")).unwrap();
    let mut rng = TestRng(0x5eed_0e30_1234_5678);
    let sample = Sample::new(set);
    let config = ResponderConfig {
        algorithms: set,
        cert_chain: &chain,
        psk: o.psk.then_some(PskConfig {
            hint: EMU_HINT,
            key: EMU_PSK,
            with_context: !o.no_psk_finish,
        }),
        handshake_in_the_clear: o.in_clear,
        data_transfer_size: 1024,
    };
    let mut pldm = PldmGetTid { tid: 1 };
    let mut rsp = Responder::new(RustCrypto, &key, &mut rng, config).unwrap();
    if o.measurements {
        rsp.set_measurements(&sample);
    }
    rsp.set_app_handler(&mut pldm);
    f(&mut rsp)
}

/// One plain SPDM request; the SPDM response (MCTP type byte checked and stripped).
fn plain(rsp: &mut Responder<'_, RustCrypto, EcdsaSigningKey>, spdm: &[u8]) -> Vec<u8> {
    let mut a = vec![0x05];
    a.extend_from_slice(spdm);
    let mut b = vec![0u8; 8192];
    let n = rsp.handle(&mut a, &mut b).unwrap();
    assert_eq!(b[0], 0x05, "plain SPDM over MCTP");
    b[1..n].to_vec()
}

/// The VCA of a default run with `offer`; returns the transcript bytes (message A) and the
/// CAPABILITIES and ALGORITHMS responses, after the libspdm requester's checks on each.
fn vca(
    rsp: &mut Responder<'_, RustCrypto, EcdsaSigningKey>,
    offer: Offer,
) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let mut a = Vec::new();
    // libspdm requester: GET_VERSION is 1.0; VERSION must be 1.0 and list a version both
    // sides have (1.2).
    let gv = [0x10, 0x84, 0, 0];
    let v = plain(rsp, &gv);
    assert_eq!(v[..2], [0x10, 0x04]);
    let entries = usize::from(v[5]);
    assert_eq!(v.len(), 6 + 2 * entries);
    assert!((0..entries).any(|i| u16_at(&v, 6 + 2 * i) >> 8 == 0x12));
    a.extend_from_slice(&gv);
    a.extend_from_slice(&v);
    let gc = get_capabilities();
    let c = plain(rsp, &gc);
    check_capabilities(&c);
    a.extend_from_slice(&gc);
    a.extend_from_slice(&c);
    let na = negotiate_algorithms(offer);
    let alg = plain(rsp, &na);
    check_algorithms(&alg, &c, offer);
    a.extend_from_slice(&na);
    a.extend_from_slice(&alg);
    (a, c, alg)
}

/// libspdm requester `libspdm_req_get_capabilities.c`: `validate_responder_capability` for
/// 1.2 and the 1.2 size rules.
fn check_capabilities(c: &[u8]) {
    assert_eq!(c[..2], [0x12, 0x61], "CAPABILITIES 1.2");
    assert!(c.len() >= 20, "1.2 CAPABILITIES carries the sizes");
    assert!(c[5] <= 31, "CTExponent at most LIBSPDM_MAX_CT_EXPONENT");
    let f = u32_at(c, 8);
    let bit = |n: u32| (f >> n) & 1;
    let meas = (f >> 3) & 3;
    let psk = (f >> 10) & 3;
    assert_ne!(meas, 3, "MEAS_CAP 11b reserved");
    assert!(meas != 0 || bit(5) == 0, "MEAS_FRESH needs MEAS_CAP");
    assert_ne!(psk, 3, "PSK_CAP 11b reserved");
    if bit(9) == 1 || psk != 0 {
        assert!(bit(6) == 1 || bit(7) == 1, "sessions need ENCRYPT or MAC");
    } else {
        assert_eq!(f & (1 << 6 | 1 << 7 | 1 << 13 | 1 << 14 | 1 << 15), 0);
    }
    if bit(9) == 0 && psk != 0 {
        assert_eq!(bit(15), 0, "HANDSHAKE_IN_THE_CLEAR needs KEY_EX");
    }
    assert!(bit(1) == 0 || bit(16) == 0, "CERT and PUB_KEY_ID exclusive");
    if bit(1) == 1 {
        assert!(bit(2) == 1 || bit(9) == 1 || meas == 2, "the key has a use");
    } else {
        assert!(bit(2) == 0 && bit(9) == 0 && meas != 2 && bit(8) == 0);
    }
    if bit(8) == 1 {
        assert!(bit(9) == 1 || bit(2) == 1, "MUT_AUTH needs KEY_EX or CHAL");
    }
    assert!(
        bit(1) == 1 || (bit(18) == 0 && bit(19) == 0),
        "ALIAS/SET_CERT need CERT"
    );
    assert!(bit(20) == 0 || bit(19) == 1, "CSR needs SET_CERT");
    let dts = u32_at(c, 12);
    let max = u32_at(c, 16);
    assert!(
        (42..=max).contains(&dts),
        "42 <= DataTransferSize <= MaxSPDMmsgSize"
    );
    assert!(
        bit(17) == 1 || dts == max,
        "no CHUNK_CAP: DataTransferSize = MaxSPDMmsgSize"
    );
    // spdm-emu: a step the responder's flags do not allow is skipped, not failed
    // (`spdm_requester_spdm.c`); the responder must announce what the run uses.
    assert_eq!(f & 0b110, 0b110, "CERT and CHAL (DIGEST, CERT, CHAL steps)");
    assert_ne!(f & (1 << 9), 0, "KEY_EX (session step)");
}

/// libspdm requester `libspdm_req_negotiate_algorithms.c`: sizes, AlgStruct shapes, and each
/// selection a single bit out of what the requester offered (and set where the capabilities
/// need it).
fn check_algorithms(alg: &[u8], caps: &[u8], o: Offer) {
    assert_eq!(alg[..2], [0x12, 0x63], "ALGORITHMS 1.2");
    assert_eq!(usize::from(u16_at(alg, 4)), alg.len(), "Length = size");
    assert_eq!(alg[2], 4, "one AlgStruct per AlgStruct asked for");
    assert_eq!(alg[32..34], [0, 0], "no extended algorithms");
    let f = u32_at(caps, 8);
    let meas_cap = (f >> 3) & 3 != 0;
    let (spec, other) = (alg[6], alg[7]);
    let meas_hash = u32_at(alg, 8);
    let asym = u32_at(alg, 12);
    let base_hash = u32_at(alg, 16);
    if meas_cap {
        assert_eq!(spec, 0x01, "MEAS_CAP: DMTF measurement specification");
        assert!(one_hot(meas_hash));
        assert_ne!(
            meas_hash & (MEAS_HASH_512 | MEAS_HASH_384 | MEAS_HASH_256),
            0,
            "spdm-emu local measurement hashes SHA-512|384|256"
        );
    } else {
        assert_eq!((spec, meas_hash), (0, 0), "no MEAS_CAP: nothing selected");
    }
    assert!(one_hot(base_hash) && base_hash & o.hash != 0, "BaseHashSel");
    assert!(one_hot(asym) && asym & o.asym != 0, "BaseAsymSel");
    assert_eq!(other, 0x02, "OpaqueDataFmt1 (1.2 sessions need it)");
    let mut types = Vec::new();
    for i in 0..4 {
        let s = &alg[36 + 4 * i..40 + 4 * i];
        assert_eq!(s[1], 0x20, "fixed size 2, no external algorithms");
        types.push((s[0], u16::from_le_bytes([s[2], s[3]])));
    }
    assert_eq!(types.iter().map(|t| t.0).collect::<Vec<_>>(), [2, 3, 4, 5]);
    let sel = |ty: u8| types.iter().find(|t| t.0 == ty).unwrap().1;
    // KEY_EX on both sides: the DHE group must be usable and offered.
    let dhe = u32::from(sel(2));
    assert!(one_hot(dhe) && dhe & u32::from(o.dhe) != 0, "DHE");
    // ENCRYPT or MAC on both sides: the AEAD.
    let aead = u32::from(sel(3));
    assert!(one_hot(aead) && aead & u32::from(o.aead) != 0, "AEAD");
    // MUT_AUTH on both sides: ReqBaseAsymAlg usable and offered.
    if f & (1 << 8) != 0 && EMU_REQ_FLAGS & (1 << 8) != 0 {
        let r = u32::from(sel(4));
        assert!(
            one_hot(r) && r & u32::from(o.req_asym) != 0,
            "ReqBaseAsymAlg"
        );
    }
    assert_eq!(sel(5), 1, "KeySchedule SPDM");
}

/// libspdm requester: the measurement summary hash of `ty` is present (hash size) only if the
/// responder announced MEAS_CAP (`libspdm_get_measurement_summary_hash_size`).
fn summary_len(set: AlgorithmSet, caps: &[u8], ty: u8) -> usize {
    if ty == 0 || (u32_at(caps, 8) >> 3) & 3 == 0 {
        0
    } else {
        set.hash.len()
    }
}

/// The leaf public key (SEC1) of an SPDM chain with `h`-byte root hash.
fn leaf_key(chain: &[u8], h: usize) -> Vec<u8> {
    let mut certs = &chain[4 + h..];
    let mut last = certs;
    while !certs.is_empty() {
        let len = der_len(certs);
        last = &certs[..len];
        certs = &certs[len..];
    }
    let c = x509_cert::Certificate::from_der(last).unwrap();
    c.tbs_certificate()
        .subject_public_key_info()
        .subject_public_key
        .raw_bytes()
        .to_vec()
}

/// Length of the DER TLV at the start of `b`.
fn der_len(b: &[u8]) -> usize {
    match b[1] {
        l @ 0..=0x7F => 2 + usize::from(l),
        0x81 => 3 + usize::from(b[2]),
        0x82 => 4 + usize::from(u16::from_be_bytes([b[2], b[3]])),
        _ => panic!("certificate too long"),
    }
}

fn verify(set: AlgorithmSet, pk: &[u8], ctx: &str, transcript: &[&[u8]], sig: &[u8]) {
    let th = hash_digest(set, transcript);
    let d = signing_digest(&RustCrypto, set.hash, Version::V12, ctx, &th).unwrap();
    RustCrypto
        .ecdsa_verify(set.asym, pk, d.as_bytes(), sig)
        .expect("signature libspdm verifies");
}

/// Every option of the example answers the default VCA of set B in a shape libspdm accepts.
#[test]
fn set_b_answers_the_default_vca_for_every_option() {
    let options = [
        Opts::default(),
        Opts {
            psk: true,
            ..Opts::default()
        },
        Opts {
            psk: true,
            no_psk_finish: true,
            ..Opts::default()
        },
        Opts {
            in_clear: true,
            ..Opts::default()
        },
        Opts {
            measurements: true,
            ..Opts::default()
        },
    ];
    for o in options {
        with_rsp(SET_B, o, |rsp| {
            let (_, c, alg) = vca(rsp, EMU_DEFAULT);
            // Set B selects within the default offers: SHA-384, P-384, secp384r1, AES-256-GCM.
            assert_eq!(u32_at(&alg, 16), HASH_384);
            assert_eq!(u32_at(&alg, 12), ASYM_P384);
            let f = u32_at(&c, 8);
            assert_eq!(
                (f >> 10) & 3,
                u32::from(o.psk) * (2 - u32::from(o.no_psk_finish))
            );
            assert_eq!(f >> 15 & 1, u32::from(o.in_clear));
            if o.measurements {
                assert_eq!(u32_at(&alg, 8), MEAS_HASH_384);
            }
        });
    }
}

/// spdm-emu's default AEAD offer (`--aead` default AES_256_GCM,CHACHA20_POLY1305) has no
/// AES-128-GCM, set A's: a set A responder takes the stronger AES-256-GCM from it (and keeps
/// its secp256r1, which is offered), so a default run needs no `--aead` option. With
/// `spdm_requester_emu --aead AES_128_GCM` it selects set A's own AES-128-GCM.
#[test]
fn set_a_answers_the_default_offer() {
    with_rsp(SET_A, Opts::default(), |rsp| {
        let (_, c, alg) = vca(rsp, EMU_DEFAULT);
        assert_eq!(u32_at(&alg, 16), HASH_256);
        assert_eq!(u32_at(&alg, 12), ASYM_P256);
        let sel = |ty: u8| {
            alg[36..]
                .chunks(4)
                .find(|s| s[0] == ty)
                .map(|s| u16_at(s, 2))
        };
        assert_eq!((sel(2), sel(3)), (Some(DHE_SECP256), Some(AEAD_AES256)));
        plain(rsp, &[0x10, 0x84, 0, 0]);
        let c2 = plain(rsp, &get_capabilities());
        assert_eq!(c2, c);
        let aes128 = Offer {
            aead: AEAD_AES128,
            ..EMU_DEFAULT
        };
        let alg = plain(rsp, &negotiate_algorithms(aes128));
        check_algorithms(&alg, &c, aes128);
        assert_eq!(u32_at(&alg, 16), HASH_256);
        assert_eq!(u32_at(&alg, 12), ASYM_P256);
    });
}

/// `--mut-auth`: spdm-emu's default ReqBaseAsymAlg offer is RSA only, which this responder
/// cannot verify: it selects none while announcing MUT_AUTH_CAP, and libspdm (MUT_AUTH_CAP set
/// by default) then fails the negotiation. With `--req_asym ECDSA_P384` (or P256) the
/// selection is one offered bit.
#[test]
fn mut_auth_needs_an_ecdsa_requester_key() {
    use spdm_lite::mut_auth::{MutAuthMode, MutAuthPolicy};
    for set in SETS {
        let chain = spdm_chain(set, "chain.der", "root.cert.der");
        let key = EcdsaSigningKey::from_sec1_der(set.asym, &read(set, "leaf.key.der")).unwrap();
        for (req_asym, expect) in [(REQ_RSA_ALL, 0u16), (ASYM_P384 as u16, 0x80), (0x10, 0x10)] {
            let mut rng = TestRng(7);
            let mut buf = vec![0u8; 8192];
            let config = ResponderConfig {
                algorithms: set,
                cert_chain: &chain,
                psk: None,
                handshake_in_the_clear: false,
                data_transfer_size: 1024,
            };
            let mut rsp = Responder::new(RustCrypto, &key, &mut rng, config).unwrap();
            rsp.set_mut_auth(MutAuthPolicy {
                mode: MutAuthMode::Certificate {
                    verifier: verifier(set),
                    chain_buf: &mut buf,
                },
                mandatory: true,
            });
            plain(&mut rsp, &[0x10, 0x84, 0, 0]);
            let c = plain(&mut rsp, &get_capabilities());
            check_capabilities(&c);
            assert_ne!(u32_at(&c, 8) & (1 << 8 | 1 << 12), 0, "MUT_AUTH and ENCAP");
            let offer = Offer {
                req_asym,
                aead: AEAD_AES128 | AEAD_AES256,
                ..EMU_DEFAULT
            };
            let alg = plain(&mut rsp, &negotiate_algorithms(offer));
            assert_eq!(u16_at(&alg, 36 + 8 + 2), expect, "ReqBaseAsymAlg selected");
            if expect != 0 {
                check_algorithms(&alg, &c, offer);
            }
        }
    }
}

/// `--exe_conn` default steps in order on set B with `--measurements`: GET_DIGESTS,
/// GET_CERTIFICATE (libspdm asks for LIBSPDM_MAX_CERT_CHAIN_BLOCK_LEN 1024 bytes, or 0xFFFF
/// as in the recorded run, each time up to the remainder), CHALLENGE (slot 0, All), then
/// GET_MEASUREMENTS one by one with the signature on the last; every field libspdm checks and
/// both signatures.
#[test]
fn connection_steps_pass_libspdm_checks() {
    for (set, offer) in [
        (SET_B, EMU_DEFAULT),
        (SET_A, EMU_DEFAULT),
        (
            SET_A,
            Offer {
                aead: AEAD_AES128,
                ..EMU_DEFAULT
            },
        ),
    ] {
        for block_len in [1024u16, 0xFFFF] {
            let o = Opts {
                measurements: true,
                ..Opts::default()
            };
            with_rsp(set, o, |rsp| connection_steps(rsp, set, offer, block_len));
        }
    }
}

fn connection_steps(
    rsp: &mut Responder<'_, RustCrypto, EcdsaSigningKey>,
    set: AlgorithmSet,
    offer: Offer,
    block_len: u16,
) {
    let h = set.hash.len();
    let (a, caps, _) = vca(rsp, offer);
    let mut m1 = a.clone();
    // libspdm_req_get_digests.c: slot mask non-zero, one digest per bit, exact size.
    let gd = [0x12, 0x81, 0, 0];
    let d = plain(rsp, &gd);
    assert_eq!(d[..2], [0x12, 0x01]);
    assert_eq!(d[3], 0x01, "slot 0 only");
    assert_eq!(d.len(), 4 + h);
    m1.extend_from_slice(&gd);
    m1.extend_from_slice(&d);
    // libspdm_req_get_certificate.c: Param1 slot, PortionLength <= asked, size exact,
    // offset + portion + remainder constant, until the remainder is 0.
    let mut chain = Vec::new();
    let mut total = None;
    loop {
        let ask = match total {
            Some(t) => block_len.min(t - chain.len() as u16),
            None => block_len,
        };
        let off = chain.len() as u16;
        let mut gc = vec![0x12, 0x82, 0, 0];
        gc.extend_from_slice(&off.to_le_bytes());
        gc.extend_from_slice(&ask.to_le_bytes());
        let c = plain(rsp, &gc);
        assert_eq!(c[..2], [0x12, 0x02]);
        assert_eq!(c[2] & 0x0F, 0, "slot 0");
        let portion = usize::from(u16_at(&c, 4));
        let remainder = usize::from(u16_at(&c, 6));
        assert!(portion > 0 && portion <= usize::from(ask));
        assert_eq!(c.len(), 8 + portion);
        assert!(
            c.len() <= EMU_DTS as usize,
            "fits the requester's DataTransferSize"
        );
        let t = *total.get_or_insert(off + (portion + remainder) as u16);
        assert_eq!(usize::from(t), chain.len() + portion + remainder);
        chain.extend_from_slice(&c[8..]);
        m1.extend_from_slice(&gc);
        m1.extend_from_slice(&c);
        if remainder == 0 {
            break;
        }
    }
    // libspdm_verify_certificate_chain_buffer: Length field, RootHash = H(root), and the
    // DIGESTS entry is H(chain).
    assert_eq!(usize::from(u16_at(&chain, 0)), chain.len());
    assert_eq!(chain, spdm_chain(set, "chain.der", "root.cert.der"));
    assert_eq!(d[4..], hash(set, &[&chain])[..]);
    let pk = leaf_key(&chain, h);
    // libspdm_req_challenge.c (1.2): Param1 slot, Param2 has the slot's bit, chain hash,
    // nonce, summary hash of the asked type, opaque length, signature over M1.
    let mut ch = vec![0x12, 0x83, 0, 0xFF];
    ch.extend_from_slice(&[0xA5; 32]);
    let auth = plain(rsp, &ch);
    assert_eq!(auth[..2], [0x12, 0x03]);
    assert_eq!(auth[2] & 0x0F, 0, "slot 0, no basic mutual authentication");
    assert_ne!(auth[3] & 1, 0, "slot mask has slot 0");
    assert_eq!(auth[4..4 + h], hash(set, &[&chain])[..]);
    let s = summary_len(set, &caps, 0xFF);
    assert_eq!(s, h, "MEAS_CAP: summary hash present");
    let opaque_at = 4 + h + 32 + s;
    let opaque = usize::from(u16_at(&auth, opaque_at));
    assert!(opaque <= 1024);
    let signed = opaque_at + 2 + opaque;
    assert_eq!(auth.len(), signed + set.asym.signature_len());
    m1.extend_from_slice(&ch);
    verify(
        set,
        &pk,
        context::RESPONDER_CHALLENGE_AUTH,
        &[&m1, &auth[..signed]],
        &auth[signed..],
    );
    // spdm_requester_measurement.c ONE_BY_ONE, libspdm_req_get_measurements.c: the count (no
    // blocks, empty record), one block of the asked index each, Param2 slot on the signed one,
    // signature over L1 = VCA || every request and response since.
    let mut l1 = a.clone();
    let count_req = [0x12, 0xE0, 0, 0];
    let count = plain(rsp, &count_req);
    assert_eq!(count[..2], [0x12, 0x60]);
    let n = count[2];
    assert_eq!(n, 5, "the sample's five blocks");
    assert_eq!(count[4..8], [0, 0, 0, 0], "no blocks, empty record");
    l1.extend_from_slice(&count_req);
    l1.extend_from_slice(&count);
    for index in 1..=n {
        let last = index == n;
        let mut req = vec![0x12, 0xE0, u8::from(last), index];
        if last {
            req.extend_from_slice(&[0x3C; 32]);
            req.push(0);
        }
        let m = plain(rsp, &req);
        assert_eq!(m[..2], [0x12, 0x60]);
        assert_eq!(m[4], 1, "one block");
        let rec_len = usize::from(m[5]) | usize::from(m[6]) << 8 | usize::from(m[7]) << 16;
        let rec = &m[8..8 + rec_len];
        assert_eq!(rec[0], index, "the block of the asked index");
        assert_eq!(rec[1], 0x01, "DMTF measurement specification");
        let size = usize::from(u16_at(rec, 2));
        assert_eq!(size + 4, rec_len);
        let value_len = usize::from(u16_at(rec, 5));
        assert_eq!(value_len + 3, size, "DMTF header consistent");
        if rec[4] & vt::RAW == 0 {
            assert_eq!(value_len, h, "a digest of the measurement hash's size");
        }
        let after = 8 + rec_len + 32;
        let opaque = usize::from(u16_at(&m, after));
        let signed = after + 2 + opaque;
        l1.extend_from_slice(&req);
        if last {
            assert_eq!(m[3] & 0x0F, 0, "Param2 slot 0");
            assert_eq!(m.len(), signed + set.asym.signature_len());
            verify(
                set,
                &pk,
                context::RESPONDER_MEASUREMENTS,
                &[&l1, &m[..signed]],
                &m[signed..],
            );
        } else {
            assert_eq!(m.len(), signed, "no signature asked, none sent");
            l1.extend_from_slice(&m);
        }
    }
}

/// Without `--measurements` the responder has no MEAS_CAP; spdm-emu still sends CHALLENGE
/// (and KEY_EXCHANGE / PSK_EXCHANGE) with MeasurementSummaryHashType All by default, which
/// DSP0274 and libspdm's own responder (`libspdm_rsp_challenge_auth.c`) refuse with
/// InvalidRequest: a default run needs `--measurements` here or `--meas_sum NO` there. The
/// refusal changes nothing: CHALLENGE with type 0 is answered right after.
#[test]
fn summary_hash_without_measurements_is_refused_as_libspdm_does() {
    for (set, offer) in [
        (SET_B, EMU_DEFAULT),
        (SET_A, EMU_DEFAULT),
        (
            SET_A,
            Offer {
                aead: AEAD_AES128,
                ..EMU_DEFAULT
            },
        ),
    ] {
        with_rsp(set, Opts::default(), |rsp| {
            let (a, caps, _) = vca(rsp, offer);
            let mut ch = vec![0x12, 0x83, 0, 0xFF];
            ch.extend_from_slice(&[0x11; 32]);
            assert_eq!(plain(rsp, &ch), error(INVALID_REQUEST));
            ch[3] = 0;
            let auth = plain(rsp, &ch);
            assert_eq!(auth[..2], [0x12, 0x03]);
            let h = set.hash.len();
            assert_eq!(summary_len(set, &caps, 0), 0);
            let signed = 4 + h + 32 + 2;
            assert_eq!(auth.len(), signed + set.asym.signature_len());
            // M1 = VCA || CHALLENGE || CHALLENGE_AUTH: the refused CHALLENGE is not in it.
            let chain = spdm_chain(set, "chain.der", "root.cert.der");
            verify(
                set,
                &leaf_key(&chain, h),
                context::RESPONDER_CHALLENGE_AUTH,
                &[&a, &ch, &auth[..signed]],
                &auth[signed..],
            );
        });
    }
}

/// The first recorded libspdm message `name` (`vectors/spdm12_libspdm_vectors.json`: an
/// spdm-emu requester run with `--aead AES_128_GCM` and set A's algorithms).
fn recorded(name: &str) -> Vec<u8> {
    let json = include_str!("vectors/spdm12_libspdm_vectors.json");
    let key = json.find(&format!("\"{name}\",")).unwrap() + name.len() + 3;
    let at = key + json[key..].find('"').unwrap() + 1;
    let end = at + json[at..].find('"').unwrap();
    (at..end)
        .step_by(2)
        .map(|i| u8::from_str_radix(&json[i..i + 2], 16).unwrap())
        .collect()
}

/// PSK_EXCHANGE as the recorded libspdm run sends it (hint `TestPskHint\0`, 64-byte requester
/// context, secured-message versions 1.0/1.1/1.2) to `--psk 5465737450736b4461746100
/// --psk-hint-hex 5465737450736b48696e7400 --measurements`: libspdm_req_psk_exchange.c checks
/// the response's sizes, a non-zero session id, the summary hash of the asked type, the
/// responder context (PSK_FINISH follows) and the opaque version selection: one element,
/// SMDataID 0, version 1.2, out of the requester's list.
#[test]
fn psk_exchange_of_the_recorded_run_gets_a_libspdm_shaped_answer() {
    let pe = recorded("SPDM_PSK_EXCHANGE");
    assert_eq!(
        pe[..4],
        [0x12, 0xE6, 0xFF, 0x01],
        "All summary, SessionPolicy 1"
    );
    for no_psk_finish in [false, true] {
        let o = Opts {
            psk: true,
            no_psk_finish,
            measurements: true,
            ..Opts::default()
        };
        with_rsp(SET_A, o, |rsp| {
            plain(rsp, &recorded("SPDM_GET_VERSION"));
            plain(rsp, &recorded("SPDM_GET_CAPABILITIES"));
            plain(rsp, &recorded("SPDM_NEGOTIATE_ALGORITHMS"));
            let r = plain(rsp, &pe);
            let h = SET_A.hash.len();
            assert_eq!(r[..2], [0x12, 0x66]);
            assert_ne!(u16_at(&r, 4), 0, "RspSessionID");
            let ctx = usize::from(u16_at(&r, 8));
            let opaque_len = usize::from(u16_at(&r, 10));
            assert_eq!(ctx == 0, no_psk_finish, "context iff PSK_FINISH");
            let opaque = &r[12 + h + ctx..12 + h + ctx + opaque_len];
            assert_eq!(
                opaque,
                [1, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0x00, 0x12],
                "version selection 1.2"
            );
            assert_eq!(
                r.len(),
                12 + h + ctx + opaque_len + h,
                "ResponderVerifyData"
            );
        });
    }
}

/// The `--exe_session` steps after the handshake, in libspdm's shapes, in a KEY_EXCHANGE
/// session on set B with `--measurements`: HEARTBEAT (Param1/2 0) gets HEARTBEAT_ACK;
/// KEY_UPDATE UpdateAllKeys then VerifyNewKey each get an ACK echoing operation and tag
/// (libspdm_req_key_update.c checks both); the one-by-one measurements in the session
/// (libspdm verifies the last signature over L2 = VCA || the measurement messages);
/// GET_DIGESTS and GET_CERTIFICATE in the session; END_SESSION with PreserveNegotiatedStateClear gets END_SESSION_ACK and ends the session.
#[test]
fn session_steps_pass_libspdm_checks() {
    let set = SET_B;
    let o = Opts {
        measurements: true,
        ..Opts::default()
    };
    with_rsp(set, o, |rsp| {
        let mut qrng = TestRng(0xabcdef);
        let mut chain_buf = vec![0u8; 4096];
        let mut req = Requester::new(
            RustCrypto,
            &mut qrng,
            RequesterConfig {
                algorithms: &[SET_B],
                handshake_in_the_clear: false,
                data_transfer_size: EMU_DTS,
            },
            Auth::Certificate {
                verifier: verifier(set),
                chain_buf: &mut chain_buf,
                challenge: false,
            },
        )
        .unwrap();
        let mut a = Vec::new();
        let mut step = 0;
        loop {
            let mut q = [0u8; 4096];
            let mut r = [0u8; 4096];
            let n = req.write_request(&mut q).unwrap();
            let m = rsp.handle(&mut q[..n], &mut r).unwrap();
            if step < 3 {
                a.extend_from_slice(&q[1..n]);
                a.extend_from_slice(&r[1..m]);
            }
            step += 1;
            if req.handle_response(&mut r[..m]).unwrap() == Status::Established {
                break;
            }
        }
        let pk = leaf_key(
            &spdm_chain(set, "chain.der", "root.cert.der"),
            set.hash.len(),
        );
        let mut s = req.into_session().unwrap();
        // The APP step first (do_app_session_via_spdm, in the default --exe_session): PLDM
        // GetTID, instance 0, checked as pldm_control_get_tid does (five bytes, Rq and
        // datagram bits clear, the same instance ID, type 0, GetTID, completion code 0).
        let mut q = [0u8; 4096];
        let mut r = [0u8; 4096];
        let n = s
            .write_app_message(0x01, &[0x80, 0x00, 0x02], &mut q)
            .unwrap();
        let m = rsp.handle(&mut q[..n], &mut r).unwrap();
        let (ty, tid) = s.handle_app_response(&mut r[..m]).unwrap();
        assert_eq!(ty, 0x01, "MCTP type PLDM");
        assert_eq!(tid.len(), 5);
        assert_eq!(tid[0] & 0xC0, 0, "Rq and datagram bits clear");
        assert_eq!(tid[0] & 0x1F, 0, "the request's instance ID");
        assert_eq!((tid[1] & 0x3F, tid[2], tid[3]), (0x00, 0x02, 0x00));
        // HEARTBEAT is 12 E8 00 00 from both libspdm and our session writer.
        let ev = session_exchange(&mut s, rsp, |s, out| s.write_heartbeat(out));
        assert_eq!(ev.unwrap(), SessionEvent::HeartbeatAck);
        for op in [KeyUpdateOp::UPDATE_ALL_KEYS, KeyUpdateOp::VERIFY_NEW_KEY] {
            let ev = session_exchange(&mut s, rsp, |s, out| s.write_key_update(op, out));
            assert_eq!(ev.unwrap(), SessionEvent::KeyUpdated(op));
        }
        let mut l2 = a.clone();
        let count_req = [0x12, 0xE0, 0, 0];
        let count = in_session(&mut s, rsp, &count_req).unwrap();
        assert_eq!((count[2], &count[4..8]), (5, &[0u8, 0, 0, 0][..]));
        l2.extend_from_slice(&count_req);
        l2.extend_from_slice(&count);
        for index in 1..=5u8 {
            let last = index == 5;
            let mut q = vec![0x12, 0xE0, u8::from(last), index];
            if last {
                q.extend_from_slice(&[0x77; 32]);
                q.push(0);
            }
            let m = in_session(&mut s, rsp, &q).unwrap();
            assert_eq!((m[1], m[4], m[8]), (0x60, 1, index));
            l2.extend_from_slice(&q);
            if last {
                let sig_at = m.len() - set.asym.signature_len();
                assert_eq!(m[3] & 0x0F, 0);
                verify(
                    set,
                    &pk,
                    context::RESPONDER_MEASUREMENTS,
                    &[&l2, &m[..sig_at]],
                    &m[sig_at..],
                );
            } else {
                l2.extend_from_slice(&m);
            }
        }
        // get_digest_cert_in_session (spdm_requester_session.c): GET_DIGESTS, then
        // GET_CERTIFICATE slot 0 until the remainder is 0, inside the session.
        let d = in_session(&mut s, rsp, &[0x12, 0x81, 0, 0]).unwrap();
        assert_eq!((d[1], d[3], d.len()), (0x01, 0x01, 4 + set.hash.len()));
        let mut chain = Vec::new();
        loop {
            let mut q = vec![0x12, 0x82, 0, 0];
            q.extend_from_slice(&(chain.len() as u16).to_le_bytes());
            q.extend_from_slice(&1024u16.to_le_bytes());
            let c = in_session(&mut s, rsp, &q).unwrap();
            assert_eq!((c[1], c[2] & 0x0F), (0x02, 0));
            assert_eq!(c.len(), 8 + usize::from(u16_at(&c, 4)));
            chain.extend_from_slice(&c[8..]);
            if u16_at(&c, 6) == 0 {
                break;
            }
        }
        assert_eq!(d[4..], hash(set, &[&chain])[..]);
        assert_eq!(chain, spdm_chain(set, "chain.der", "root.cert.der"));
        // libspdm sends END_SESSION with Param1 = 1; the responder's END_SESSION takes any
        // Param1 (it only parses the header, Param1 stays unused: no negotiated state is
        // cached), as that parse shows; our session writer sends Param1 = 0.
        let es = spdm_lite::msgs::end_session::EndSession::parse(&[0x12, 0xEC, 0x01, 0]);
        assert_eq!(es.unwrap().param1, 1);
        assert!(rsp.session().is_some());
        let ev = session_exchange(&mut s, rsp, |s, out| s.write_end_session(out));
        assert_eq!(ev.unwrap(), SessionEvent::Ended);
        assert!(rsp.session().is_none(), "END_SESSION ends it");
    });
}

/// The certificate checks libspdm applies to a responder leaf and its chain
/// (`libspdm_x509_certificate_check` / `libspdm_verify_cert_chain_data` in
/// `libspdm_com_crypto_service_lib.c` and the cryptlib X.509 helpers), on the test PKI the
/// example serves (what validator case 5.5 checks is not repeated): the leaf's keyUsage has
/// digitalSignature; an extendedKeyUsage, if present, does not carry the requester-auth OID
/// without the responder-auth one; validity inside libspdm's 1970..9999 window; CA
/// certificates CA:TRUE with keyCertSign; the root self-signed (issuer = subject).
#[test]
fn test_pki_leaf_and_chain_pass_libspdm_certificate_checks() {
    use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages};
    let rsp_auth = der::asn1::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.412.274.3");
    let req_auth = der::asn1::ObjectIdentifier::new_unwrap("1.3.6.1.4.1.412.274.4");
    let server_auth = der::asn1::ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.1");
    for set in SETS {
        let ders = read(set, "chain.der");
        let mut certs = Vec::new();
        let mut rest = &ders[..];
        while !rest.is_empty() {
            let l = der_len(rest);
            certs.push(x509_cert::Certificate::from_der(&rest[..l]).unwrap());
            rest = &rest[l..];
        }
        assert_eq!(certs.len(), 3);
        let root = certs[0].tbs_certificate();
        assert_eq!(root.issuer(), root.subject(), "root self-signed");
        for (i, c) in certs.iter().enumerate() {
            let t = c.tbs_certificate();
            let v = t.validity();
            assert!(v.not_before.to_unix_duration().as_secs() > 0, "after 1970");
            assert!(
                v.not_after.to_unix_duration().as_secs() < 253_402_300_800,
                "before 9999-12-31"
            );
            let (_, ku) = t.get_extension::<KeyUsage>().unwrap().unwrap();
            let bc = t.get_extension::<BasicConstraints>().unwrap().map(|e| e.1);
            if i < 2 {
                assert!(bc.unwrap().ca, "CA certificate {i}");
                assert!(ku.0.contains(KeyUsages::KeyCertSign));
            } else {
                assert!(ku.0.contains(KeyUsages::DigitalSignature));
                assert!(!bc.is_some_and(|b| b.ca), "leaf CA:FALSE");
                if let Some((_, eku)) = t.get_extension::<ExtendedKeyUsage>().unwrap() {
                    assert!(eku.0.contains(&rsp_auth) || !eku.0.contains(&req_auth));
                    assert!(eku.0.contains(&rsp_auth) || eku.0.contains(&server_auth));
                }
                assert_eq!(
                    leaf_key(
                        &spdm_chain(set, "chain.der", "root.cert.der"),
                        set.hash.len()
                    )
                    .len(),
                    if set.asym == AsymAlgo::EcdsaP256 {
                        65
                    } else {
                        97
                    },
                    "uncompressed point of the negotiated curve"
                );
            }
        }
    }
}

/// KEY_EXCHANGE as the recorded libspdm run sends it (Param1 All, slot 0, ReqSessionID 0xFFFF,
/// SessionPolicy 1, secured-message versions 1.0/1.1/1.2) to set A with `--measurements`, with
/// and without `--in-clear` (the requester offers HANDSHAKE_IN_THE_CLEAR): the checks of
/// libspdm_req_key_exchange.c: non-zero RspSessionID, MutAuthRequested 0 (no `--mut-auth`),
/// the summary hash present, the opaque version selection 1.2, the signature over
/// TH = VCA || H(chain) || KEY_EXCHANGE || KEY_EXCHANGE_RSP (minus signature and verify data)
/// with the leaf key, and ResponderVerifyData only outside the clear.
#[test]
fn key_exchange_of_the_recorded_run_gets_a_libspdm_shaped_answer() {
    let ke = recorded("SPDM_KEY_EXCHANGE");
    assert_eq!(ke[..8], [0x12, 0xE4, 0xFF, 0, 0xFF, 0xFF, 0x01, 0]);
    let set = SET_A;
    let h = set.hash.len();
    let chain = spdm_chain(set, "chain.der", "root.cert.der");
    for in_clear in [false, true] {
        let o = Opts {
            in_clear,
            measurements: true,
            ..Opts::default()
        };
        with_rsp(set, o, |rsp| {
            let mut a = Vec::new();
            for name in [
                "SPDM_GET_VERSION",
                "SPDM_GET_CAPABILITIES",
                "SPDM_NEGOTIATE_ALGORITHMS",
            ] {
                let q = recorded(name);
                let r = plain(rsp, &q);
                a.extend_from_slice(&q);
                a.extend_from_slice(&r);
            }
            let r = plain(rsp, &ke);
            assert_eq!(r[..2], [0x12, 0x64]);
            assert_ne!(u16_at(&r, 4), 0, "RspSessionID");
            assert_eq!(r[6], 0, "MutAuthRequested");
            assert_eq!(r[7], 0, "SlotIDParam without mutual authentication");
            assert_eq!(r[2], 0, "HeartbeatPeriod off by default");
            let summary_at = 8 + 32 + 64;
            let opaque_at = summary_at + h;
            let opaque_len = usize::from(u16_at(&r, opaque_at));
            assert_eq!(
                r[opaque_at + 2..opaque_at + 2 + opaque_len],
                [1, 0, 0, 0, 0, 0, 4, 0, 1, 0, 0x00, 0x12],
                "version selection 1.2"
            );
            let signed = opaque_at + 2 + opaque_len;
            let sig = set.asym.signature_len();
            let verify_data = if in_clear { 0 } else { h };
            assert_eq!(r.len(), signed + sig + verify_data);
            verify(
                set,
                &leaf_key(&chain, h),
                context::RESPONDER_KEY_EXCHANGE_RSP,
                &[&a, &hash(set, &[&chain]), &ke, &r[..signed]],
                &r[signed..signed + sig],
            );
        });
    }
}

/// libspdm's sample certificates (`unit_test/sample_key/openssl.cnf`), which spdm-emu's
/// requester sends with `--mut-auth` and its responder serves: intermediate `v3_inter` (CA,
/// every key usage, critical EKU serverAuth + clientAuth), leaf `v3_end` (critical CA:FALSE;
/// nonRepudiation, digitalSignature, keyEncipherment; subjectAltName otherName
/// 1.3.6.1.4.1.412.274.1 "ACME:WIDGET:1234567890"; critical EKU serverAuth, clientAuth,
/// OCSPSigning; the SPDM extension 1.3.6.1.4.1.412.274.6 naming hardware-identity 274.2).
/// No SPDM EKU: as a requester chain it is refused in strict mode (the example's `--mut-auth`
/// default) and accepted in the default mode (`--lax-req-eku`); as a responder chain it passes
/// the default mode (serverAuth).
#[test]
fn libspdm_sample_certificate_profile_needs_lax_requester_eku() {
    use rcgen::{CertificateParams, CustomExtension, IsCa, Issuer, KeyPair, KeyUsagePurpose as Ku};
    use spdm_lite::cert::{CertError, ChainVerifier};
    use spdm_lite::session::Role;
    use spdm_lite::x509::{ValidationOptions, X509Verifier};
    let oid = |last: u8| {
        let mut o = vec![
            0x06, 0x0A, 0x2B, 0x06, 0x01, 0x04, 0x01, 0x83, 0x1C, 0x82, 0x12,
        ];
        o.push(last);
        o
    };
    let tls = |n: u8| vec![0x06, 0x08, 0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, n];
    let seq = |tag: u8, parts: &[Vec<u8>]| {
        let body: Vec<u8> = parts.concat();
        let mut v = vec![tag, u8::try_from(body.len()).unwrap()];
        v.extend(body);
        v
    };
    let ext = |arc: &[u64], critical: bool, content: Vec<u8>| {
        let mut e = CustomExtension::from_oid_content(arc, content);
        e.set_criticality(critical);
        e
    };
    const EKU: [u64; 4] = [2, 5, 29, 37];
    let mut utf8 = vec![0x0C, 22];
    utf8.extend_from_slice(b"ACME:WIDGET:1234567890");
    let san = seq(0x30, &[seq(0xA0, &[oid(1), seq(0xA0, &[utf8])])]);
    let spdm_ext = seq(0x30, &[seq(0x30, &[oid(2)])]);
    for set in SETS {
        let mut root = CertificateParams::default();
        root.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        root.key_usages = vec![Ku::KeyCertSign, Ku::CrlSign];
        let mut inter = CertificateParams::default();
        inter.is_ca = IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        inter.key_usages = vec![
            Ku::CrlSign,
            Ku::KeyCertSign,
            Ku::DigitalSignature,
            Ku::ContentCommitment,
            Ku::KeyEncipherment,
            Ku::DataEncipherment,
            Ku::KeyAgreement,
        ];
        inter
            .custom_extensions
            .push(ext(&EKU, true, seq(0x30, &[tls(1), tls(2)])));
        let mut leaf = CertificateParams::default();
        leaf.is_ca = IsCa::ExplicitNoCa;
        leaf.key_usages = vec![
            Ku::ContentCommitment,
            Ku::DigitalSignature,
            Ku::KeyEncipherment,
        ];
        leaf.custom_extensions = vec![
            ext(&[2, 5, 29, 17], false, san.clone()),
            ext(&EKU, true, seq(0x30, &[tls(1), tls(2), tls(9)])),
            ext(&[1, 3, 6, 1, 4, 1, 412, 274, 6], false, spdm_ext.clone()),
        ];
        let alg = rcgen_alg(set);
        let keys: Vec<KeyPair> = (0..3)
            .map(|_| KeyPair::generate_for(alg).unwrap())
            .collect();
        let params = [root, inter, leaf];
        let mut ders = params[0].self_signed(&keys[0]).unwrap().der().to_vec();
        let root_der = ders.clone();
        for i in 1..3 {
            let issuer = Issuer::from_params(&params[i - 1], &keys[i - 1]);
            ders.extend_from_slice(params[i].signed_by(&keys[i], &issuer).unwrap().der());
        }
        let chain = encode_chain(set, &ders, &root_der);
        let check = |opts: ValidationOptions, role: Role| {
            let mut pk = [0u8; 97];
            X509Verifier::with_options(RustCrypto, &root_der, opts)
                .verify_chain(set, role, &chain, &mut pk)
                .map(|n| pk[..n].to_vec())
        };
        let strict = ValidationOptions::new().strict_eku();
        assert_eq!(
            check(strict, Role::Requester),
            Err(CertError::LeafExtendedKeyUsage)
        );
        let pk = keys[2].public_key_raw().to_vec();
        assert_eq!(
            check(ValidationOptions::new(), Role::Requester),
            Ok(pk.clone())
        );
        assert_eq!(check(ValidationOptions::new(), Role::Responder), Ok(pk));
    }
}
