//! Our requester against DMTF's `spdm_responder_emu` (libspdm) run with its default options.
//!
//! [`Emu`] answers every request the way a default `spdm_responder_emu` does, byte for byte
//! where it matters, and keeps the transcripts libspdm keeps, so it signs and MACs what libspdm
//! signs and MACs; the tests drive `spdm_lite::requester::Requester` (as the `spdm-requester`
//! example, the ECU of cse-link and `cse provision` use it) with it. Each shape cites where it
//! comes from: "spdm-emu default" (`spdm_emu/spdm_emu_common/spdm_emu.c`,
//! `spdm_emu/spdm_responder_emu/spdm_responder_spdm.c`), "libspdm responder"
//! (`library/spdm_responder_lib/libspdm_rsp_*.c`), "libspdm sample device"
//! (`os_stub/spdm_device_secret_lib_sample/meas.c`, `chal.c`) or "libspdm transport"
//! (`library/spdm_transport_mctp_lib`, `libspdm_encode_secured_message`).
//!
//! The default emu supports SHA-384/SHA-256, ECDSA P-384/P-256, secp384r1/secp256r1 and
//! AES-256-GCM/ChaCha20-Poly1305 only, so set B is the set it can agree on with us; the
//! recorded session of `libspdm_vectors.rs` covers set A (emu run with `--aead AES_128_GCM`).
// Test fixtures: a fixture that cannot be built fails the test.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::*;
use spdm_lite::Error;
use spdm_lite::crypto::{
    AlgorithmSet, CryptoProvider, DheSecret, EcdsaSigningKey, RustCrypto, Secret, Signer,
};
use spdm_lite::key_schedule::{HandshakeSecrets, KeySchedule};
use spdm_lite::measurements::SummaryType;
use spdm_lite::msgs::Version;
use spdm_lite::msgs::key_update::KeyUpdateOp;
use spdm_lite::msgs::measurements::{ContentChanged, OP_ALL, OP_COUNT};
use spdm_lite::record::{self, DirectionKeys};
use spdm_lite::requester::{
    Auth, MeasurementRequest, Requester, RequesterConfig, RequesterSession, SessionEvent, Status,
};
use spdm_lite::transcript::{context, signing_digest};

const SET: AlgorithmSet = AlgorithmSet::SET_B;
const SIG: usize = 96;
const DHE: usize = 96;

/// spdm-emu default capabilities of the responder (the list `--cap` documents): CACHE, CERT,
/// CHAL, MEAS_SIG, MEAS_FRESH, ENCRYPT, MAC, MUT_AUTH, KEY_EX, PSK_WITH_CONTEXT, ENCAP, HBEAT,
/// KEY_UPD, HANDSHAKE_IN_THE_CLEAR, CHUNK, SET_CERT, CSR: 0x001AFBF7, the value a libspdm
/// responder sent in the session `tests/vectors/spdm12_libspdm_vectors.json` recorded.
const EMU_CAPS: u32 = 0x001A_FBF7;
/// Newer spdm-emu defaults add SPDM 1.3/1.4 bits (MULTI_KEY_NEG, GET/SET_KEY_PAIR_INFO,
/// LARGE_RESP); bits a 1.2 requester does not know must not stop it.
const EMU_CAPS_1_3: u32 = EMU_CAPS | 0x0E80_0000;
/// libspdm responder: DataTransferSize and MaxSPDMmsgSize as recorded (CHUNK_CAP set).
const EMU_DTS: u32 = 0x1200;
const EMU_MAX_MSG: u32 = 0x0002_8000;
/// spdm-emu default: `LIBSPDM_DATA_HEARTBEAT_PERIOD` is 0xF0.
const EMU_HEARTBEAT: u8 = 0xF0;
/// libspdm responder: the first RspSessionID it allocates.
const EMU_RSP_SESSION_ID: u16 = 0xFFFF;
/// libspdm's `LIBSPDM_MAX_CERT_CHAIN_BLOCK_LEN`: the longest CERTIFICATE portion it sends.
const EMU_CERT_BLOCK: usize = 1024;

/// The knobs of [`Emu`]: what a default emu does, and the departures the negative tests make.
#[derive(Clone, Copy)]
struct Knobs {
    caps: u32,
    /// VERSION entries (spdm-emu default: every version libspdm speaks).
    versions: &'static [u16],
    /// The AEAD libspdm selects (0: none in common).
    aead: u16,
    /// MeasurementHashAlgo libspdm selects (its priority puts SHA-512 first).
    meas_hash: u32,
    /// DIGESTS SlotMask (spdm-emu default `--slot_count 3`).
    slot_mask: u8,
    /// The SecuredMessageVersion selected in KEY_EXCHANGE_RSP.
    sm_version: u16,
    /// The slot whose chain hash CHALLENGE_AUTH carries.
    challenge_slot_hash: usize,
    /// Random padding of each sealed record (libspdm MCTP: 1..=32 bytes).
    pad: usize,
    /// Flip a byte of the next signed MEASUREMENTS after signing (an on-path change).
    tamper_meas: bool,
    /// ReqBaseAsymAlg libspdm selects: 0 with spdm-emu's default `--req_asym` (RSA only)
    /// against our ECDSA requester; 0x0080 with `--req_asym ECDSA_P384`.
    req_asym: u16,
}

const DEFAULT: Knobs = Knobs {
    caps: EMU_CAPS,
    versions: &[0x1000, 0x1100, 0x1200, 0x1300, 0x1400],
    aead: 0x0002,
    meas_hash: 0x08,
    slot_mask: 0x07,
    sm_version: 0x1200,
    challenge_slot_hash: 0,
    pad: 32,
    tamper_meas: false,
    req_asym: 0,
};

/// The handshake state of the responder side after KEY_EXCHANGE_RSP.
struct Hs {
    session_id: u32,
    /// TH so far (VCA ‖ H(chain) ‖ KEY_EXCHANGE ‖ KEY_EXCHANGE_RSP ‖ …).
    th: Vec<u8>,
    secrets: HandshakeSecrets,
    req: DirectionKeys,
    rsp: DirectionKeys,
}

/// The data phase of the responder side.
struct Data {
    session_id: u32,
    req: DirectionKeys,
    rsp: DirectionKeys,
    req_secret: Secret,
    rsp_secret: Secret,
    /// libspdm's L2 of the session since the last signed MEASUREMENTS.
    l2: Vec<u8>,
}

/// A default `spdm_responder_emu` (libspdm responder) for set B.
struct Emu {
    k: Knobs,
    key: EcdsaSigningKey,
    /// Slot 0 (and slot 2) chain; slot 1 holds another chain (spdm-emu default: per-slot
    /// chain for slot 1, the same chain for every other slot).
    chain: Vec<u8>,
    chain1: Vec<u8>,
    rng: TestRng,
    in_clear: bool,
    /// The requester's capability flags.
    req_caps: u32,
    /// Basic mutual authentication started by CHALLENGE_AUTH and not run.
    encap_pending: bool,
    vca: Vec<u8>,
    /// B ‖ C since VCA (libspdm's M1/M2 message buffers).
    m1: Vec<u8>,
    hs: Option<Hs>,
    data: Option<Data>,
}

fn sign(key: &EcdsaSigningKey, ctx: &str, transcript: &[u8]) -> Vec<u8> {
    let th = hash_digest(SET, &[transcript]);
    let d = signing_digest(&RustCrypto, SET.hash, Version::V12, ctx, &th).unwrap();
    let mut sig = [0u8; SIG];
    let n = key.sign_prehash(d.as_bytes(), &mut sig).unwrap();
    sig[..n].to_vec()
}

fn ks() -> KeySchedule<'static, RustCrypto> {
    KeySchedule::new(&RustCrypto, SET.hash, Version::V12)
}

/// libspdm sample device: the measurement blocks of `op` (index, or 0xFF for all) with the
/// digests of MeasurementHashAlgo SHA-512, no raw bit stream asked for.
fn sample_blocks(op: u8) -> (u8, Vec<u8>) {
    fn block(out: &mut Vec<u8>, index: u8, value_type: u8, value: &[u8]) {
        let vs = value.len() as u16;
        out.push(index);
        out.push(0x01); // MeasurementSpecification DMTF
        out.extend_from_slice(&(vs + 3).to_le_bytes());
        out.push(value_type);
        out.extend_from_slice(&vs.to_le_bytes());
        out.extend_from_slice(value);
    }
    let sha512 = |data: &[u8]| <sha2::Sha512 as sha2::Digest>::digest(data).to_vec();
    let mut all = Vec::new();
    // Indices 1..=4: digest blocks, type index - 1 (immutable ROM, mutable firmware, hardware
    // configuration, firmware configuration), over 72 bytes of the index.
    for i in 1..=4u8 {
        block(&mut all, i, i - 1, &sha512(&[i; 72]));
    }
    // 0x10: SVN 7 (u64), raw; 0x11: hash-extended measurement (type 8, an SPDM 1.3 type),
    // digest; 0xFD: manifest of 128 bytes 0xFD, raw; 0xFE: device mode (four u32), raw.
    block(&mut all, 0x10, 0x87, &7u64.to_le_bytes());
    block(&mut all, 0x11, 0x08, &sha512(b"MEL stand-in"));
    block(&mut all, 0xFD, 0x84, &[0xFD; 128]);
    let mut mode = Vec::new();
    for v in [0x3Fu32, 0x04, 0x1F, 0x11] {
        mode.extend_from_slice(&v.to_le_bytes());
    }
    block(&mut all, 0xFE, 0x85, &mode);
    if op == OP_ALL {
        return (8, all);
    }
    let mut at = 0;
    while at < all.len() {
        let len = 4 + usize::from(u16::from_le_bytes([all[at + 2], all[at + 3]]));
        if all[at] == op {
            return (1, all[at..at + len].to_vec());
        }
        at += len;
    }
    (0, Vec::new())
}

impl Emu {
    fn new(k: Knobs) -> Self {
        Self {
            k,
            key: EcdsaSigningKey::from_sec1_der(SET.asym, &read(SET, "leaf.key.der")).unwrap(),
            chain: spdm_chain(SET, "chain.der", "root.cert.der"),
            chain1: spdm_chain(SET, "other_chain.der", "other_root.cert.der"),
            rng: TestRng(0x5EED_0F11_B59D_1100),
            in_clear: false,
            req_caps: 0,
            encap_pending: false,
            vca: Vec::new(),
            m1: Vec::new(),
            hs: None,
            data: None,
        }
    }

    fn random(&mut self, n: usize) -> Vec<u8> {
        let mut v = vec![0u8; n];
        spdm_lite::crypto::RandomSource::fill(&mut self.rng, &mut v).unwrap();
        v
    }

    /// libspdm sample device: the measurement summary hash of `ty` (base hash over the whole
    /// blocks of every measurement, or of the immutable-ROM ones for TCB).
    fn summary(ty: u8) -> Vec<u8> {
        let (_, rec) = sample_blocks(OP_ALL);
        let mut picked = Vec::new();
        let mut at = 0;
        while at < rec.len() {
            let len = 4 + usize::from(u16::from_le_bytes([rec[at + 2], rec[at + 3]]));
            if ty == 0xFF || rec[at + 4] & 0x7F == 0 {
                picked.extend_from_slice(&rec[at..at + len]);
            }
            at += len;
        }
        hash(SET, &[&picked])
    }

    /// The answer to one MCTP message, as the emu would put it on the socket.
    fn answer(&mut self, msg: &[u8]) -> Vec<u8> {
        match msg[0] {
            0x05 => {
                let spdm = self.plain(&msg[1..]);
                [&[0x05u8][..], &spdm].concat()
            }
            0x06 => self.secured(msg),
            t => panic!("MCTP type {t:#x}"),
        }
    }

    fn plain(&mut self, req: &[u8]) -> Vec<u8> {
        match req[1] {
            0x84 => {
                // libspdm responder: VERSION is 1.0 with every version it speaks.
                let mut r = vec![0x10, 0x04, 0, 0, 0, self.k.versions.len() as u8];
                for v in self.k.versions {
                    r.extend_from_slice(&v.to_le_bytes());
                }
                self.vca = [req, &r].concat();
                r
            }
            0xE1 => {
                // libspdm responder: CTExponent 0 (spdm-emu default), flags, DTS, MaxSPDMmsgSize.
                let mut r = vec![0x12, 0x61, 0, 0, 0, 0, 0, 0];
                r.extend_from_slice(&self.k.caps.to_le_bytes());
                r.extend_from_slice(&EMU_DTS.to_le_bytes());
                r.extend_from_slice(&EMU_MAX_MSG.to_le_bytes());
                // libspdm: HANDSHAKE_IN_THE_CLEAR when both sides have it.
                let req_caps = u32::from_le_bytes(req[8..12].try_into().unwrap());
                self.in_clear = req_caps & self.k.caps & (1 << 15) != 0;
                self.req_caps = req_caps;
                self.vca.extend_from_slice(req);
                self.vca.extend_from_slice(&r);
                r
            }
            0xE3 => {
                let r = self.algorithms(req);
                self.vca.extend_from_slice(req);
                self.vca.extend_from_slice(&r);
                r
            }
            0x81 => {
                // libspdm responder (1.2): Param1 reserved, Param2 the SlotMask, one digest per
                // provisioned slot.
                let mut r = vec![0x12, 0x01, 0, self.k.slot_mask];
                for slot in 0..8 {
                    if self.k.slot_mask & (1 << slot) != 0 {
                        let c = if slot == 1 { &self.chain1 } else { &self.chain };
                        r.extend_from_slice(&hash(SET, &[&c[..]]));
                    }
                }
                self.m1.extend_from_slice(req);
                self.m1.extend_from_slice(&r);
                r
            }
            0x82 => {
                // libspdm responder: PortionLength = min(Length, block limit, what is left);
                // Param1 the slot, Param2 0 in 1.2.
                let offset = usize::from(u16::from_le_bytes([req[4], req[5]]));
                let length = usize::from(u16::from_le_bytes([req[6], req[7]]));
                let c = &self.chain;
                let n = length.min(EMU_CERT_BLOCK).min(c.len() - offset);
                let mut r = vec![0x12, 0x02, req[2] & 0x0F, 0];
                r.extend_from_slice(&(n as u16).to_le_bytes());
                r.extend_from_slice(&((c.len() - offset - n) as u16).to_le_bytes());
                r.extend_from_slice(&c[offset..offset + n]);
                self.m1.extend_from_slice(req);
                self.m1.extend_from_slice(&r);
                r
            }
            0x83 => self.challenge_auth(req),
            // libspdm responder: anything but the encapsulated flow while it is pending is
            // answered with ERROR RequestInFlight.
            0xE4 if self.encap_pending => vec![0x12, 0x7F, 0x08, 0],
            0xE4 => self.key_exchange_rsp(req),
            0xE6 => self.psk_exchange_rsp(req),
            0xED => {
                // libspdm responder (1.2): CSR with CSRLength, Reserved; the sample device
                // signs a PKCS #10 request with its device key (a stand-in here: the
                // requester hands the bytes on).
                let csr = b"0\x82 PKCS#10 stand-in";
                let mut r = vec![0x12, 0x6D, 0, 0];
                r.extend_from_slice(&(csr.len() as u16).to_le_bytes());
                r.extend_from_slice(&[0, 0]);
                r.extend_from_slice(csr);
                r
            }
            0xEE => {
                // libspdm responder: ERROR ResetRequired with CERT_INSTALL_RESET_CAP, else
                // SET_CERTIFICATE_RSP with Param1 = the slot.
                if self.k.caps & (1 << 21) != 0 {
                    vec![0x12, 0x7F, 0x0C, 0]
                } else {
                    vec![0x12, 0x6E, req[2] & 0x0F, 0]
                }
            }
            0xE5 => {
                // FINISH in the clear (HANDSHAKE_IN_THE_CLEAR negotiated).
                assert!(self.in_clear);
                self.finish_rsp(req)
            }
            c => panic!("request {c:#x}"),
        }
    }

    /// libspdm responder: as many AlgStructs as asked, in the request's order, AlgCount 0x20;
    /// MeasurementSpecificationSel DMTF, OtherParamsSelection OpaqueDataFmt1 (0x02),
    /// MeasurementHashAlgo from its own priority (SHA-512 first); ReqBaseAsymAlg 0 when
    /// nothing is in common (spdm-emu default `--req_asym` is RSA only).
    fn algorithms(&mut self, req: &[u8]) -> Vec<u8> {
        let n = req[2];
        let mut r = vec![0x12, 0x63, n, 0];
        r.extend_from_slice(&(36 + 4 * u16::from(n)).to_le_bytes());
        r.push(0x01);
        r.push(0x02);
        r.extend_from_slice(&self.k.meas_hash.to_le_bytes());
        r.extend_from_slice(&0x80u32.to_le_bytes()); // TPM_ALG_ECDSA_ECC_NIST_P384
        r.extend_from_slice(&0x02u32.to_le_bytes()); // TPM_ALG_SHA_384
        r.extend_from_slice(&[0; 12]); // reserved, MEL spec 0 in 1.2
        r.extend_from_slice(&[0, 0, 0, 0]); // ExtAsymSelCount, ExtHashSelCount, reserved
        let mut at = 32;
        for _ in 0..n {
            let ty = req[at];
            let sel: u16 = match ty {
                2 => 0x0010, // secp384r1
                3 => self.k.aead,
                4 => self.k.req_asym,
                5 => 0x0001,
                _ => panic!("AlgType {ty}"),
            };
            r.extend_from_slice(&[ty, 0x20]);
            r.extend_from_slice(&sel.to_le_bytes());
            at += 4;
        }
        r
    }

    fn challenge_auth(&mut self, req: &[u8]) -> Vec<u8> {
        // libspdm responder: Param1 the slot (no BasicMutAuthReq: the requester has no
        // MUT_AUTH_CAP), Param2 the SlotMask; no opaque data (sample device: size 0).
        let ty = req[3];
        let c = if self.k.challenge_slot_hash == 1 {
            &self.chain1
        } else {
            &self.chain
        };
        let mut r = vec![0x12, 0x03, req[2] & 0x0F, self.k.slot_mask];
        // spdm-emu: with a requester key algorithm in common and both MUT_AUTH_CAP, the
        // default `--basic_mut_auth BASIC` makes libspdm set BasicMutAuthReq (Param1 bit 7)
        // and wait for GET_ENCAPSULATED_REQUEST.
        if self.k.req_asym != 0 && self.req_caps & self.k.caps & (1 << 8) != 0 {
            r[2] |= 0x80;
            self.encap_pending = true;
        }
        r.extend_from_slice(&hash(SET, &[&c[..]]));
        r.extend(self.random(32));
        if ty != 0 {
            r.extend(Self::summary(ty));
        }
        r.extend_from_slice(&[0, 0]);
        self.m1.extend_from_slice(req);
        self.m1.extend_from_slice(&r);
        let m1 = [&self.vca[..], &self.m1].concat();
        r.extend(sign(&self.key, context::RESPONDER_CHALLENGE_AUTH, &m1));
        self.m1.clear();
        r
    }

    /// The handshake after KEY_EXCHANGE_RSP or PSK_EXCHANGE_RSP: the session id, TH so far and
    /// the handshake traffic keys of both directions.
    fn begin(&mut self, req_id: u16, th: Vec<u8>, secrets: HandshakeSecrets) {
        let ks = ks();
        let keys = |s: &Secret| DirectionKeys::new(ks.traffic_keys(SET.aead, s).unwrap());
        self.hs = Some(Hs {
            session_id: u32::from(req_id) | u32::from(EMU_RSP_SESSION_ID) << 16,
            th,
            req: keys(&secrets.request.secret),
            rsp: keys(&secrets.response.secret),
            secrets,
        });
    }

    fn key_exchange_rsp(&mut self, req: &[u8]) -> Vec<u8> {
        let ty = req[2];
        let req_id = u16::from_le_bytes([req[4], req[5]]);
        let peer = &req[40..40 + DHE];
        let dhe = RustCrypto.dhe_generate(SET.dhe, &mut self.rng).unwrap();
        let mut pk = [0u8; DHE];
        dhe.public_key(&mut pk).unwrap();
        // libspdm responder: HeartbeatPeriod when both sides have HBEAT_CAP, MutAuthRequested 0
        // without the requester's MUT_AUTH_CAP, ReqSlotIDParam 0.
        let mut r = vec![0x12, 0x64, EMU_HEARTBEAT, 0];
        r.extend_from_slice(&EMU_RSP_SESSION_ID.to_le_bytes());
        r.extend_from_slice(&[0, 0]);
        r.extend(self.random(32));
        r.extend_from_slice(&pk);
        if ty != 0 {
            r.extend(Self::summary(ty));
        }
        // libspdm responder: opaque data = version selection, general opaque data format 1.
        r.extend_from_slice(&12u16.to_le_bytes());
        r.extend_from_slice(&[1, 0, 0, 0, 0, 0, 4, 0, 1, 0]);
        r.extend_from_slice(&self.k.sm_version.to_le_bytes());
        let mut th = [&self.vca[..], &hash(SET, &[&self.chain[..]]), req, &r].concat();
        let sig = sign(&self.key, context::RESPONDER_KEY_EXCHANGE_RSP, &th);
        r.extend_from_slice(&sig);
        th.extend_from_slice(&sig);
        let th1 = hash_digest(SET, &[&th]);
        let shared = dhe.agree(peer).unwrap();
        let ks = ks();
        let secrets = ks
            .handshake(ks.handshake_secret(shared.as_bytes(), false).unwrap(), &th1)
            .unwrap();
        if !self.in_clear {
            let vd = ks
                .verify_data(&secrets.response.finished_key, &th1)
                .unwrap();
            r.extend_from_slice(vd.as_bytes());
            th.extend_from_slice(vd.as_bytes());
        }
        self.begin(req_id, th, secrets);
        r
    }

    /// libspdm responder, PSK with context (spdm-emu default PSK_WITH_CONTEXT): HeartbeatPeriod,
    /// RspSessionID, ResponderContext of 64 bytes (LIBSPDM_PSK_CONTEXT_LENGTH), the version
    /// selection, ResponderVerifyData over TH1 = VCA ‖ PSK_EXCHANGE ‖ PSK_EXCHANGE_RSP.
    fn psk_exchange_rsp(&mut self, req: &[u8]) -> Vec<u8> {
        let ty = req[2];
        let req_id = u16::from_le_bytes([req[4], req[5]]);
        let hint_len = usize::from(u16::from_le_bytes([req[6], req[7]]));
        assert_eq!(&req[12..12 + hint_len], PSK_HINT);
        let mut r = vec![0x12, 0x66, EMU_HEARTBEAT, 0];
        r.extend_from_slice(&EMU_RSP_SESSION_ID.to_le_bytes());
        r.extend_from_slice(&[0, 0, 64, 0, 12, 0]);
        if ty != 0 {
            r.extend(Self::summary(ty));
        }
        r.extend(self.random(64));
        r.extend_from_slice(&[1, 0, 0, 0, 0, 0, 4, 0, 1, 0]);
        r.extend_from_slice(&self.k.sm_version.to_le_bytes());
        let mut th = [&self.vca[..], req, &r].concat();
        let th1 = hash_digest(SET, &[&th]);
        let ks = ks();
        let secrets = ks
            .handshake(ks.handshake_secret(EMU_PSK, true).unwrap(), &th1)
            .unwrap();
        let vd = ks
            .verify_data(&secrets.response.finished_key, &th1)
            .unwrap();
        r.extend_from_slice(vd.as_bytes());
        th.extend_from_slice(vd.as_bytes());
        self.begin(req_id, th, secrets);
        r
    }

    /// FINISH_RSP (sealed, or in the clear with ResponderVerifyData) or PSK_FINISH_RSP; moves
    /// to the data phase.
    fn finish_rsp(&mut self, finish: &[u8]) -> Vec<u8> {
        let mut hs = self.hs.take().expect("KEY_EXCHANGE or PSK_EXCHANGE first");
        // FINISH (0xE5) or PSK_FINISH (0xE7), no mutual authentication.
        assert!(finish[..4] == [0x12, 0xE5, 0, 0] || finish[..4] == [0x12, 0xE7, 0, 0]);
        let psk = finish[1] == 0xE7;
        let key = &hs.secrets.request.finished_key;
        // The requester's verify data: HMAC(finished key, TH ‖ header).
        let t = hash_digest(SET, &[&hs.th, &finish[..4]]);
        assert_eq!(
            ks().verify_data(key, &t).unwrap().as_bytes(),
            &finish[4..4 + SET.hash.len()]
        );
        hs.th.extend_from_slice(finish);
        let ks = ks();
        let mut r = vec![0x12, if psk { 0x67 } else { 0x65 }, 0, 0];
        if self.in_clear {
            let t = hash_digest(SET, &[&hs.th, &r]);
            let vd = ks
                .verify_data(&hs.secrets.response.finished_key, &t)
                .unwrap();
            r.extend_from_slice(vd.as_bytes());
        }
        hs.th.extend_from_slice(&r);
        let th2 = hash_digest(SET, &[&hs.th]);
        let master = ks.master_secret(&hs.secrets.handshake_secret).unwrap();
        let data = ks.data(&master, &th2).unwrap();
        let keys = |s: &Secret| DirectionKeys::new(ks.traffic_keys(SET.aead, s).unwrap());
        self.data = Some(Data {
            session_id: hs.session_id,
            req: keys(&data.request),
            rsp: keys(&data.response),
            req_secret: data.request,
            rsp_secret: data.response,
            l2: Vec::new(),
        });
        if self.in_clear {
            return r;
        }
        let pad = self.random(self.k.pad);
        let mut out = vec![0u8; 4096];
        let n = record::seal(&RustCrypto, hs.session_id, &mut hs.rsp, &r, &pad, &mut out).unwrap();
        out.truncate(n);
        out
    }

    fn secured(&mut self, rec: &[u8]) -> Vec<u8> {
        let mut rec = rec.to_vec();
        if let Some(hs) = self.hs.as_mut() {
            let finish = record::open(&RustCrypto, hs.session_id, &mut hs.req, &mut rec)
                .unwrap()
                .to_vec();
            return self.finish_rsp(&finish);
        }
        let d = self.data.as_mut().expect("no session");
        let req = record::open(&RustCrypto, d.session_id, &mut d.req, &mut rec)
            .unwrap()
            .to_vec();
        let r = match req[1] {
            0xE8 => vec![0x12, 0x68, 0, 0],
            0xEC => vec![0x12, 0x6C, 0, 0],
            0xE0 => self.measurements(&req),
            0xE9 => {
                // libspdm responder: UpdateKey switches the request key now; UpdateAllKeys
                // both, the ACK already under the new response key; VerifyNewKey only acks.
                let ks = ks();
                let d = self.data.as_mut().unwrap();
                if matches!(req[2], 1 | 2) {
                    d.req_secret = ks.update(&d.req_secret).unwrap();
                    d.req = DirectionKeys::new(ks.traffic_keys(SET.aead, &d.req_secret).unwrap());
                }
                if req[2] == 2 {
                    d.rsp_secret = ks.update(&d.rsp_secret).unwrap();
                    d.rsp = DirectionKeys::new(ks.traffic_keys(SET.aead, &d.rsp_secret).unwrap());
                }
                vec![0x12, 0x69, req[2], req[3]]
            }
            c => panic!("request {c:#x} in the session"),
        };
        let pad = self.random(self.k.pad);
        let d = self.data.as_mut().unwrap();
        let mut out = vec![0u8; 4096];
        let n = record::seal(&RustCrypto, d.session_id, &mut d.rsp, &r, &pad, &mut out).unwrap();
        out.truncate(n);
        out
    }

    /// libspdm responder + sample device: MEASUREMENTS of the operation asked.
    fn measurements(&mut self, req: &[u8]) -> Vec<u8> {
        let signed = req[2] & 1 != 0;
        let op = req[3];
        let (total, (n, rec)) = if op == OP_COUNT {
            (8u8, (0u8, Vec::new()))
        } else {
            (0, sample_blocks(op))
        };
        // Param2: SlotID | ContentChanged; the sample device reports "no change detected"
        // (0x20) on signed requests and "not supported" (0) otherwise.
        let p2 = if signed { req[36] & 0x0F | 0x20 } else { 0 };
        let mut r = vec![0x12, 0x60, total, p2, n];
        r.extend_from_slice(&(rec.len() as u32).to_le_bytes()[..3]);
        r.extend_from_slice(&rec);
        r.extend(self.random(32));
        r.extend_from_slice(&[0, 0]);
        let d = self.data.as_mut().unwrap();
        d.l2.extend_from_slice(req);
        d.l2.extend_from_slice(&r);
        if signed {
            let l2 = [&self.vca[..], &d.l2].concat();
            d.l2.clear();
            r.extend(sign(&self.key, context::RESPONDER_MEASUREMENTS, &l2));
            if std::mem::take(&mut self.k.tamper_meas) {
                r[8 + 4 * (4 + 3 + 64) + 7] ^= 1; // the SVN value
            }
        }
        r
    }
}

const BUF: usize = 4096;

/// libspdm sample device: the PSK "TestPskData" and hint "TestPskHint", NUL included (what
/// `spdm-requester --psk-hint-hex` must be given).
const EMU_PSK: &[u8] = b"TestPskData\0";
const PSK_HINT: &[u8] = b"TestPskHint\0";

/// A requester as the `spdm-requester` example builds it (one set, DTS 1024, challenge).
fn requester<'a>(
    rng: &'a mut TestRng,
    chain_buf: &'a mut [u8],
    offered: &'a [AlgorithmSet],
    in_clear: bool,
    dts: u32,
) -> Requester<'a, RustCrypto> {
    requester_with(rng, chain_buf, offered, in_clear, dts, verifier(SET))
}

fn requester_with<'a>(
    rng: &'a mut TestRng,
    chain_buf: &'a mut [u8],
    offered: &'a [AlgorithmSet],
    in_clear: bool,
    dts: u32,
    verifier: &'a dyn spdm_lite::cert::ChainVerifier,
) -> Requester<'a, RustCrypto> {
    Requester::new(
        RustCrypto,
        rng,
        RequesterConfig {
            algorithms: offered,
            handshake_in_the_clear: in_clear,
            data_transfer_size: dts,
        },
        Auth::Certificate {
            verifier,
            chain_buf,
            challenge: true,
        },
    )
    .unwrap()
}

/// One request of `req`, answered by `emu`; the request's SPDM code and the requester's verdict.
fn step(req: &mut Requester<'_, RustCrypto>, emu: &mut Emu) -> (u8, Result<Status, Error>) {
    let mut out = [0u8; BUF];
    let n = req.write_request(&mut out).unwrap();
    let code = if out[0] == 0x05 { out[2] } else { 0 };
    let mut rsp = emu.answer(&out[..n]);
    (code, req.handle_response(&mut rsp))
}

/// Runs the handshake to the end; every request code sent.
fn handshake(req: &mut Requester<'_, RustCrypto>, emu: &mut Emu) -> Vec<u8> {
    let mut codes = Vec::new();
    loop {
        let (code, st) = step(req, emu);
        codes.push(code);
        match st {
            Ok(Status::Established) => return codes,
            Ok(_) => {}
            Err(e) => panic!("requester refused the answer to {code:#x}: {e:?}"),
        }
    }
}

/// A request in the established session; the emu's answer record.
fn in_session(
    s: &mut RequesterSession<RustCrypto>,
    emu: &mut Emu,
    write: impl FnOnce(&mut RequesterSession<RustCrypto>, &mut [u8]) -> Result<usize, Error>,
) -> Vec<u8> {
    let mut out = [0u8; BUF];
    let n = write(s, &mut out).unwrap();
    emu.answer(&out[..n])
}

#[test]
fn default_emu_handshake_challenge_measurements_and_padded_records() {
    for caps in [EMU_CAPS, EMU_CAPS_1_3] {
        let mut emu = Emu::new(Knobs { caps, ..DEFAULT });
        let mut rng = TestRng(7);
        let mut chain_buf = vec![0u8; 0x1_0000];
        let offered = [SET];
        let mut req = requester(&mut rng, &mut chain_buf, &offered, false, 1024);
        req.set_measurement_summary(SummaryType::All);
        let codes = handshake(&mut req, &mut emu);
        // VCA, GET_DIGESTS, GET_CERTIFICATE in portions of DTS - 8 = 1016 bytes (the chain
        // is longer than one), CHALLENGE, KEY_EXCHANGE, then FINISH as a record.
        let certs = codes.iter().filter(|&&c| c == 0x82).count();
        assert_eq!(certs, emu.chain.len().div_ceil(1016));
        assert!(certs > 1);
        let mut expected = vec![0x84, 0xE1, 0xE3, 0x81];
        expected.extend(std::iter::repeat_n(0x82, certs));
        expected.extend([0x83, 0xE4, 0]);
        assert_eq!(codes, expected);
        let mut s = req.into_session().unwrap();
        let session = s.session().unwrap();
        assert_eq!(session.id() >> 16, u32::from(EMU_RSP_SESSION_ID));
        assert_eq!(session.algorithms(), SET);
        // spdm-emu default HeartbeatPeriod (both sides HBEAT_CAP).
        assert_eq!(s.heartbeat_period(), EMU_HEARTBEAT);
        assert!(s.has_measurements());

        // GET_MEASUREMENTS count: Param1 = 8 blocks, nothing else.
        let mut rec = in_session(&mut s, &mut emu, |s, b| {
            s.write_get_measurements(
                &MeasurementRequest {
                    operation: OP_COUNT,
                    nonce: None,
                },
                b,
            )
        });
        let m = s.handle_measurements(&mut rec).unwrap();
        assert_eq!((m.total, m.number_of_blocks, m.signed), (8, 0, false));

        // All blocks, signed over L2 (count exchange included): the sample device's eight
        // blocks with indices 1-4, 0x10, 0x11, 0xFD, 0xFE, SHA-512 digests and raw streams.
        let mut rec = in_session(&mut s, &mut emu, |s, b| {
            s.write_get_measurements(
                &MeasurementRequest {
                    operation: OP_ALL,
                    nonce: Some([0xA5; 32]),
                },
                b,
            )
        });
        let m = s.handle_measurements(&mut rec).unwrap();
        assert!(m.signed);
        assert_eq!(m.number_of_blocks, 8);
        assert_eq!(m.content_changed, ContentChanged::Unchanged);
        assert_eq!(m.digest_len(), 64);
        let blocks: Vec<_> = m
            .blocks()
            .map(|b| (b.index, b.value_type, b.is_raw(), b.value.len()))
            .collect();
        assert_eq!(
            blocks,
            [
                (1, 0, false, 64),
                (2, 1, false, 64),
                (3, 2, false, 64),
                (4, 3, false, 64),
                (0x10, 0x87, true, 8),
                (0x11, 0x08, false, 64),
                (0xFD, 0x84, true, 128),
                (0xFE, 0x85, true, 16),
            ]
        );
        assert_eq!(m.record, &sample_blocks(OP_ALL).1[..]);
        // The summary hash of the handshake is the sample device's (all blocks, whole).
        s.check_measurement_summary(&m, &|_| false).unwrap();
        assert_eq!(
            s.measurement_summary()
                .map(|(t, d)| (t, d.as_bytes().to_vec())),
            Some((SummaryType::All, Emu::summary(0xFF)))
        );

        // One index at a time, as spdm-emu's requester does by default (`--meas_op
        // ONE_BY_ONE`), signed each time: the manifest and device-mode blocks too.
        for op in [1u8, 0x10, 0x11, 0xFD, 0xFE] {
            let mut rec = in_session(&mut s, &mut emu, |s, b| {
                s.write_get_measurements(
                    &MeasurementRequest {
                        operation: op,
                        nonce: Some([op; 32]),
                    },
                    b,
                )
            });
            let m = s.handle_measurements(&mut rec).unwrap();
            assert_eq!(m.number_of_blocks, 1);
            assert_eq!(m.record, &sample_blocks(op).1[..]);
        }

        // The example's data phase: HEARTBEAT, KEY_UPDATE UpdateAllKeys + VerifyNewKey (and
        // UpdateKey, spdm-emu's `--key_upd REQ`), HEARTBEAT, END_SESSION.
        let mut rec = in_session(&mut s, &mut emu, |s, b| s.write_heartbeat(b));
        assert_eq!(s.handle_response(&mut rec), Ok(SessionEvent::HeartbeatAck));
        for op in [
            KeyUpdateOp::UPDATE_ALL_KEYS,
            KeyUpdateOp::VERIFY_NEW_KEY,
            KeyUpdateOp::UPDATE_KEY,
            KeyUpdateOp::VERIFY_NEW_KEY,
        ] {
            let mut rec = in_session(&mut s, &mut emu, |s, b| s.write_key_update(op, b));
            assert_eq!(
                s.handle_response(&mut rec),
                Ok(SessionEvent::KeyUpdated(op))
            );
        }
        assert_eq!(s.session().unwrap().key_generation(), 3);
        let mut rec = in_session(&mut s, &mut emu, |s, b| s.write_heartbeat(b));
        assert_eq!(s.handle_response(&mut rec), Ok(SessionEvent::HeartbeatAck));
        let mut rec = in_session(&mut s, &mut emu, |s, b| s.write_end_session(b));
        assert_eq!(s.handle_response(&mut rec), Ok(SessionEvent::Ended));
        assert!(s.is_ended());
    }
}

#[test]
fn handshake_in_the_clear_and_one_byte_padding() {
    // The example's --in-clear: both sides have HANDSHAKE_IN_THE_CLEAR_CAP (spdm-emu default
    // responder has it), so KEY_EXCHANGE_RSP has no ResponderVerifyData and FINISH / FINISH_RSP
    // travel as plain messages, FINISH_RSP with ResponderVerifyData (libspdm responder).
    // libspdm transport: each record carries 1..=32 random bytes; here the least.
    let mut emu = Emu::new(Knobs { pad: 1, ..DEFAULT });
    let mut rng = TestRng(9);
    let mut chain_buf = vec![0u8; 0x1_0000];
    let offered = [SET];
    let mut req = requester(&mut rng, &mut chain_buf, &offered, true, 1024);
    let codes = handshake(&mut req, &mut emu);
    assert_eq!(codes[codes.len() - 2..], [0xE4, 0xE5]);
    let mut s = req.into_session().unwrap();
    assert!(s.measurement_summary().is_none());
    let mut rec = in_session(&mut s, &mut emu, |s, b| s.write_heartbeat(b));
    assert_eq!(s.handle_response(&mut rec), Ok(SessionEvent::HeartbeatAck));
}

#[test]
fn certificate_portions_capped_by_libspdm_block_limit() {
    // `cse provision` advertises DTS 4096 and asks for 4088 bytes a portion; libspdm answers at
    // most LIBSPDM_MAX_CERT_CHAIN_BLOCK_LEN (1024) with the RemainderLength of the rest, and
    // the requester asks again from where the portion ended.
    let mut emu = Emu::new(DEFAULT);
    let mut rng = TestRng(11);
    let mut chain_buf = vec![0u8; 0x1_0000];
    let offered = [SET];
    let mut req = requester(&mut rng, &mut chain_buf, &offered, false, 4096);
    let mut offsets = Vec::new();
    loop {
        let mut out = [0u8; BUF];
        let n = req.write_request(&mut out).unwrap();
        if out[2] == 0x83 {
            // CHALLENGE next: the chain is complete and validated.
            assert!(req.peer_chain() == Some(&emu.chain[..]));
            break;
        }
        if out[2] == 0x82 {
            offsets.push((
                u16::from_le_bytes([out[5], out[6]]),
                u16::from_le_bytes([out[7], out[8]]),
            ));
        }
        let mut rsp = emu.answer(&out[..n]);
        assert_eq!(req.handle_response(&mut rsp), Ok(Status::Continue));
    }
    let expected: Vec<_> = (0..emu.chain.len().div_ceil(EMU_CERT_BLOCK))
        .map(|i| ((i * EMU_CERT_BLOCK) as u16, 4088))
        .collect();
    assert_eq!(offsets, expected);
}

/// Runs the handshake with `k` until the requester refuses an answer; that request's code
/// and the error. The requester is poisoned afterwards and never reaches a session.
fn refused(k: Knobs, summary: SummaryType) -> (u8, Error) {
    let mut emu = Emu::new(k);
    let mut rng = TestRng(13);
    let mut chain_buf = vec![0u8; 0x1_0000];
    let offered = [SET];
    let mut req = requester(&mut rng, &mut chain_buf, &offered, false, 1024);
    req.set_measurement_summary(summary);
    loop {
        match step(&mut req, &mut emu) {
            (_, Ok(Status::Established)) => panic!("established with a wrong answer"),
            (_, Ok(_)) => {}
            (code, Err(e)) => {
                let mut out = [0u8; BUF];
                assert_eq!(req.write_request(&mut out), Err(Error::Poisoned));
                assert!(!req.is_established());
                assert!(req.peer_chain().is_none());
                return (code, e);
            }
        }
    }
}

#[test]
fn answers_a_libspdm_responder_would_give_with_other_options_are_refused() {
    // `--ver 1.1`: no 1.2 in VERSION.
    let k = Knobs {
        versions: &[0x1000, 0x1100],
        ..DEFAULT
    };
    assert_eq!(refused(k, SummaryType::None), (0x84, Error::Negotiation));
    // No AEAD in common (a set-A-only requester against the default `--aead` list, which has
    // no AES-128-GCM): libspdm's priority pick yields 0 in the AEAD AlgStruct.
    let k = Knobs { aead: 0, ..DEFAULT };
    assert_eq!(refused(k, SummaryType::None), (0xE3, Error::Negotiation));
    // `--ver 1.1 --sec_ver 1.1` style selection: a secured-message version we did not offer.
    let k = Knobs {
        sm_version: 0x1100,
        ..DEFAULT
    };
    assert_eq!(refused(k, SummaryType::None), (0xE4, Error::Negotiation));
}

#[test]
fn answers_no_libspdm_responder_gives_are_refused() {
    // A MeasurementHashAlgo of two bits (libspdm selects exactly one).
    let k = Knobs {
        meas_hash: 0x0C,
        ..DEFAULT
    };
    assert_eq!(refused(k, SummaryType::None), (0xE3, Error::Negotiation));
    // A SlotMask without slot 0.
    let k = Knobs {
        slot_mask: 0x06,
        ..DEFAULT
    };
    assert_eq!(refused(k, SummaryType::None), (0x81, Error::Negotiation));
    // CHALLENGE_AUTH carrying the chain hash of slot 1 for a CHALLENGE of slot 0.
    let k = Knobs {
        challenge_slot_hash: 1,
        ..DEFAULT
    };
    assert_eq!(refused(k, SummaryType::All), (0x83, Error::Authentication));
}

#[test]
fn response_not_ready_and_busy_end_the_handshake_with_the_peer_error() {
    // libspdm responder sends ResponseNotReady (ExtendedErrorData: RDTExponent, RequestCode,
    // Token, RDTM) or Busy only when its integrator reports a pending or busy device; the
    // default emu never does. The requester has no RESPOND_IF_READY: it reports the code
    // and stops, sending nothing more.
    for (code, ext) in [(0x42u8, &[0x0A, 0x81, 0x01, 0x02][..]), (0x03, &[][..])] {
        let mut emu = Emu::new(DEFAULT);
        let mut rng = TestRng(17);
        let mut chain_buf = vec![0u8; 0x1_0000];
        let offered = [SET];
        let mut req = requester(&mut rng, &mut chain_buf, &offered, false, 1024);
        for _ in 0..3 {
            assert_eq!(step(&mut req, &mut emu).1, Ok(Status::Continue));
        }
        let mut out = [0u8; BUF];
        let n = req.write_request(&mut out).unwrap();
        assert_eq!(out[..n], [0x05, 0x12, 0x81, 0, 0]);
        let mut rsp = [&[0x05, 0x12, 0x7F, code, 0][..], ext].concat();
        assert_eq!(req.handle_response(&mut rsp), Err(Error::PeerError(code)));
        assert_eq!(req.write_request(&mut out), Err(Error::Poisoned));
        assert!(req.peer_chain().is_none());
    }
}

#[test]
fn psk_with_context_session_and_unsigned_measurements() {
    // The example's --psk with the sample device's key and hint: PSK_EXCHANGE_RSP with a
    // 64-byte ResponderContext, so PSK_FINISH follows in the session (libspdm responder).
    for summary in [SummaryType::None, SummaryType::All] {
        let mut emu = Emu::new(DEFAULT);
        let mut rng = TestRng(19);
        let offered = [SET];
        let mut req = Requester::new(
            RustCrypto,
            &mut rng,
            RequesterConfig {
                algorithms: &offered,
                handshake_in_the_clear: false,
                data_transfer_size: 1024,
            },
            Auth::Psk {
                hint: PSK_HINT,
                key: EMU_PSK,
            },
        )
        .unwrap();
        req.set_measurement_summary(summary);
        let codes = handshake(&mut req, &mut emu);
        assert_eq!(codes, [0x84, 0xE1, 0xE3, 0xE6, 0]);
        let mut s = req.into_session().unwrap();
        assert_eq!(s.heartbeat_period(), EMU_HEARTBEAT);
        // Without a certificate no signature can be checked: unsigned, all blocks.
        let mut rec = in_session(&mut s, &mut emu, |s, b| {
            s.write_get_measurements(
                &MeasurementRequest {
                    operation: OP_ALL,
                    nonce: None,
                },
                b,
            )
        });
        let m = s.handle_measurements(&mut rec).unwrap();
        assert_eq!((m.number_of_blocks, m.signed), (8, false));
        assert_eq!(m.content_changed, ContentChanged::NotDetected);
        s.check_measurement_summary(&m, &|_| false).unwrap();
        assert_eq!(
            s.measurement_summary().is_some(),
            summary == SummaryType::All
        );
        let mut rec = in_session(&mut s, &mut emu, |s, b| s.write_end_session(b));
        assert_eq!(s.handle_response(&mut rec), Ok(SessionEvent::Ended));
    }
    // A PSK other than the emu's: PSK_EXCHANGE_RSP's verify data does not check.
    let mut emu = Emu::new(DEFAULT);
    let mut rng = TestRng(23);
    let offered = [SET];
    let mut req = Requester::new(
        RustCrypto,
        &mut rng,
        RequesterConfig {
            algorithms: &offered,
            handshake_in_the_clear: false,
            data_transfer_size: 1024,
        },
        Auth::Psk {
            hint: PSK_HINT,
            key: PSK,
        },
    )
    .unwrap();
    for _ in 0..3 {
        assert_eq!(step(&mut req, &mut emu).1, Ok(Status::Continue));
    }
    assert_eq!(step(&mut req, &mut emu), (0xE6, Err(Error::Authentication)));
    assert!(!req.is_established());
}

#[test]
fn provisioner_get_csr_and_set_certificate_in_the_clear() {
    use spdm_lite::msgs::capabilities::CapFlags;
    use spdm_lite::provisioning::{Provisioner, ProvisionerConfig};
    // `cse provision`: VCA with no capability flags, GET_CSR and SET_CERTIFICATE in the clear
    // (libspdm accepts both outside a session: CSR_CAP and SET_CERT_CAP are spdm-emu defaults).
    for reset in [false, true] {
        let caps = if reset { EMU_CAPS | 1 << 21 } else { EMU_CAPS };
        let mut emu = Emu::new(Knobs { caps, ..DEFAULT });
        let offered = [SET];
        let mut p = Provisioner::new(ProvisionerConfig {
            algorithms: &offered,
            data_transfer_size: 4096,
        })
        .unwrap();
        let mut out = [0u8; BUF];
        while !p.is_ready() {
            let n = p.write_request(&mut out).unwrap();
            if out[2] == 0xE3 {
                // Three AlgStructs asked (no ReqBaseAsymAlg): libspdm answers three.
                assert_eq!(out[3], 3);
            }
            let rsp = emu.answer(&out[..n]);
            p.handle_response(&rsp).unwrap();
        }
        assert_eq!(p.algorithms(), Some(SET));
        assert!(
            p.responder_capabilities()
                .has(CapFlags::CSR | CapFlags::SET_CERT)
        );
        let n = p.write_get_csr(&[], &[], &mut out).unwrap();
        let rsp = emu.answer(&out[..n]);
        let mut csr = [0u8; 64];
        let k = p.handle_csr(&rsp, &mut csr).unwrap();
        assert_eq!(&csr[..k], b"0\x82 PKCS#10 stand-in");
        let chain = emu.chain.clone();
        let n = p.write_set_certificate(0, &chain, &mut out).unwrap();
        let rsp = emu.answer(&out[..n]);
        if reset {
            // The refusal leaves the provisioner ready for another exchange.
            assert_eq!(p.handle_set_certificate(&rsp), Err(Error::PeerError(0x0C)));
            assert!(p.is_ready());
        } else {
            assert_eq!(p.handle_set_certificate(&rsp), Ok(()));
        }
    }
}

#[test]
fn altered_signed_measurements_are_refused_and_the_session_goes_on() {
    let mut emu = Emu::new(Knobs {
        tamper_meas: true,
        ..DEFAULT
    });
    let mut rng = TestRng(29);
    let mut chain_buf = vec![0u8; 0x1_0000];
    let offered = [SET];
    let mut req = requester(&mut rng, &mut chain_buf, &offered, false, 1024);
    handshake(&mut req, &mut emu);
    let mut s = req.into_session().unwrap();
    let all = |nonce| MeasurementRequest {
        operation: OP_ALL,
        nonce: Some(nonce),
    };
    let mut rec = in_session(&mut s, &mut emu, |s, b| {
        s.write_get_measurements(&all([1; 32]), b)
    });
    assert_eq!(s.handle_measurements(&mut rec), Err(Error::Authentication));
    // Both ends started a new L2 (libspdm after signing, the requester after the failure):
    // the next signed answer verifies, and the session's records go on in sequence.
    let mut rec = in_session(&mut s, &mut emu, |s, b| {
        s.write_get_measurements(&all([2; 32]), b)
    });
    let m = s.handle_measurements(&mut rec).unwrap();
    assert_eq!((m.number_of_blocks, m.signed), (8, true));
    let mut rec = in_session(&mut s, &mut emu, |s, b| s.write_heartbeat(b));
    assert_eq!(s.handle_response(&mut rec), Ok(SessionEvent::HeartbeatAck));
}

#[test]
fn mutual_auth_against_the_emu_defaults() {
    use spdm_lite::mut_auth::RequesterIdentity;
    use spdm_lite::session::RequesterAuth;
    let key = EcdsaSigningKey::from_sec1_der(SET.asym, &read(SET, "req_leaf.key.der")).unwrap();
    let req_chain = spdm_chain(SET, "req_chain.der", "root.cert.der");
    // Default `--req_asym` has no ECDSA: libspdm selects no ReqBaseAsymAlg, never asks for
    // mutual authentication, and the session is established without it.
    // With `--req_asym ECDSA_P384`, CHALLENGE_AUTH carries BasicMutAuthReq; the requester
    // does not run basic mutual authentication and goes on to KEY_EXCHANGE, which libspdm
    // refuses with RequestInFlight.
    for (req_asym, expect) in [(0u16, None), (0x0080, Some(0x08u8))] {
        let mut emu = Emu::new(Knobs {
            req_asym,
            ..DEFAULT
        });
        let mut rng = TestRng(31);
        let mut chain_buf = vec![0u8; 0x1_0000];
        let offered = [SET];
        let mut req = requester(&mut rng, &mut chain_buf, &offered, false, 1024).with_mutual_auth(
            RequesterIdentity {
                signer: &key,
                cert_chain: &req_chain,
                public_key: None,
            },
        );
        loop {
            match step(&mut req, &mut emu) {
                (_, Ok(Status::Established)) => {
                    assert_eq!(expect, None);
                    let s = req.into_session().unwrap();
                    assert_eq!(s.session().unwrap().requester_auth(), RequesterAuth::None);
                    break;
                }
                (code, Err(e)) => {
                    assert_eq!((code, Some(e)), (0xE4, expect.map(Error::PeerError)));
                    break;
                }
                (_, Ok(_)) => {}
            }
        }
    }
}

/// A chain with the extensions of libspdm's sample certificates
/// (`unit_test/sample_key/openssl.cnf`): intermediate `v3_inter` (cA, a wide keyUsage, a
/// critical extKeyUsage serverAuth + clientAuth), leaf `v3_end` (critical basicConstraints
/// CA:FALSE, keyUsage nonRepudiation + digitalSignature + keyEncipherment, subjectAltName
/// otherName 1.3.6.1.4.1.412.274.1, a critical extKeyUsage serverAuth + clientAuth +
/// OCSPSigning without the SPDM OIDs, the SPDM extension 1.3.6.1.4.1.412.274.6 naming the
/// hardware-identity OID). The leaf certifies the test leaf key. Returns (root, SPDM chain).
fn libspdm_profile_chain() -> (Vec<u8>, Vec<u8>) {
    use rcgen::{
        BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType, IsCa,
        Issuer, KeyPair, KeyUsagePurpose as Ku, SanType,
    };
    fn params(cn: &str) -> CertificateParams {
        let mut p = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, cn);
        p.distinguished_name = dn;
        p
    }
    fn critical_eku(oids: &[u8]) -> CustomExtension {
        // Each of id-kp 1 (serverAuth), 2 (clientAuth), 9 (OCSPSigning).
        let mut der = vec![0x30, (oids.len() * 10) as u8];
        for &o in oids {
            der.extend_from_slice(&[0x06, 0x08, 0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, o]);
        }
        let mut e = CustomExtension::from_oid_content(&[2, 5, 29, 37], der);
        e.set_criticality(true);
        e
    }
    let alg = rcgen_alg(SET);
    let (root_key, inter_key) = (
        KeyPair::generate_for(alg).unwrap(),
        KeyPair::generate_for(alg).unwrap(),
    );
    let mut root = params("DMTF libspdm ECP384 CA");
    root.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let mut inter = params("DMTF libspdm ECP384 intermediate cert");
    inter.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    inter.key_usages = vec![
        Ku::CrlSign,
        Ku::KeyCertSign,
        Ku::DigitalSignature,
        Ku::ContentCommitment,
        Ku::KeyEncipherment,
        Ku::DataEncipherment,
        Ku::KeyAgreement,
    ];
    inter.custom_extensions.push(critical_eku(&[1, 2]));
    let mut leaf = params("DMTF libspdm ECP384 responder cert");
    leaf.is_ca = IsCa::ExplicitNoCa;
    leaf.key_usages = vec![
        Ku::ContentCommitment,
        Ku::DigitalSignature,
        Ku::KeyEncipherment,
    ];
    leaf.subject_alt_names = vec![SanType::OtherName((
        vec![1, 3, 6, 1, 4, 1, 412, 274, 1],
        "ACME:WIDGET:1234567890".into(),
    ))];
    leaf.custom_extensions.push(critical_eku(&[1, 2, 9]));
    leaf.custom_extensions
        .push(CustomExtension::from_oid_content(
            &[1, 3, 6, 1, 4, 1, 412, 274, 6],
            vec![
                0x30, 0x0E, 0x30, 0x0C, 0x06, 0x0A, 0x2B, 0x06, 0x01, 0x04, 0x01, 0x83, 0x1C, 0x82,
                0x12, 0x02,
            ],
        ));
    let key = EcdsaSigningKey::from_sec1_der(SET.asym, &read(SET, "leaf.key.der")).unwrap();
    let mut point = [0u8; 97];
    let n = key.public_key_sec1(&mut point).unwrap();
    let root_der = root.self_signed(&root_key).unwrap().der().to_vec();
    let inter_der = inter
        .signed_by(&inter_key, &Issuer::from_params(&root, &root_key))
        .unwrap()
        .der()
        .to_vec();
    let leaf_der = leaf
        .signed_by(
            &LeafPub(point[..n].to_vec(), alg),
            &Issuer::from_params(&inter, &inter_key),
        )
        .unwrap()
        .der()
        .to_vec();
    let certs = [&root_der[..], &inter_der, &leaf_der].concat();
    let chain = encode_chain(SET, &certs, &root_der);
    (root_der, chain)
}

#[test]
fn a_chain_with_libspdm_sample_certificate_extensions() {
    use spdm_lite::cert::{CertError, ChainVerifier};
    use spdm_lite::session::Role;
    use spdm_lite::x509::{ValidationOptions, X509Verifier};
    let (root, chain) = libspdm_profile_chain();
    // The example's verifier (lenient extKeyUsage: serverAuth stands for a responder).
    let lax = X509Verifier::new(RustCrypto, &root);
    let mut emu = Emu::new(DEFAULT);
    emu.chain = chain.clone();
    let mut rng = TestRng(37);
    let mut chain_buf = vec![0u8; 0x1_0000];
    let offered = [SET];
    let mut req = requester_with(&mut rng, &mut chain_buf, &offered, false, 1024, &lax);
    handshake(&mut req, &mut emu);
    assert!(req.is_established());
    // cse-link's strict verifier wants the SPDM responder-auth OID, which libspdm's sample
    // leaf does not carry: such a chain is refused there.
    let strict =
        X509Verifier::with_options(RustCrypto, &root, ValidationOptions::new().strict_eku());
    let mut key = [0u8; 97];
    assert_eq!(
        strict.verify_chain(SET, Role::Responder, &chain, &mut key),
        Err(CertError::LeafExtendedKeyUsage)
    );
}

#[test]
fn offering_both_sets_gets_set_b_from_libspdm_priorities() {
    // An ECU offering sets A and B: libspdm picks each algorithm by its own priority (SHA-384
    // before SHA-256, P-384 before P-256, secp384r1 before secp256r1; AES-256-GCM is the only
    // AEAD in common), which is set B as a whole.
    let mut emu = Emu::new(DEFAULT);
    let mut rng = TestRng(41);
    let mut chain_buf = vec![0u8; 0x1_0000];
    let offered = [AlgorithmSet::SET_A, AlgorithmSet::SET_B];
    let mut req = requester(&mut rng, &mut chain_buf, &offered, false, 1024);
    req.set_measurement_summary(SummaryType::All);
    handshake(&mut req, &mut emu);
    let s = req.into_session().unwrap();
    assert_eq!(s.session().unwrap().algorithms(), AlgorithmSet::SET_B);
}
