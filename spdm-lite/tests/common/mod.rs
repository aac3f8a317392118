//! Fixtures shared by the integration tests (each includes this file with `mod common;`): the
//! deterministic random source, the committed test PKI under `tests/pki/`, SPDM chains and
//! hashes, rcgen helpers and one-message exchanges between a requester and a responder.
// Each test crate includes this module and uses a different subset of it.
#![allow(dead_code)]
// Test fixtures: a fixture that cannot be built fails the test (some crates allow less).
#![allow(clippy::unwrap_used, clippy::panic)]

use spdm_lite::cert::encode_spdm_chain;
use spdm_lite::crypto::{
    AlgorithmSet, AsymAlgo, CryptoProvider, Digest, HashCtx, RandomSource, RustCrypto, Signer,
};
use spdm_lite::measurements::BlockInfo;
use spdm_lite::requester::{Requester, RequesterSession, SessionEvent, Status};
use spdm_lite::responder::{PskConfig, Responder, ResponderConfig};
use spdm_lite::x509::X509Verifier;
use spdm_lite::{CryptoError, Error};

/// Both algorithm sets, in the order the tests run (and offer) them.
pub(crate) const SETS: [AlgorithmSet; 2] = [AlgorithmSet::SET_A, AlgorithmSet::SET_B];

/// The pre-shared key of the test responders (32 bytes).
pub(crate) const PSK: &[u8] = b"camera link test psk, 32 bytes!!";
/// The PSK hint of the test responders (the `spdm-responder` example's default hint).
pub(crate) const HINT: &[u8] = b"cam0";

/// SPDM ERROR codes (ERROR Param1) the tests expect.
pub(crate) const INVALID_REQUEST: u8 = 0x01;
pub(crate) const UNEXPECTED_REQUEST: u8 = 0x04;
pub(crate) const DECRYPT_ERROR: u8 = 0x06;
pub(crate) const REQUEST_IN_FLIGHT: u8 = 0x08;
pub(crate) const INVALID_RESPONSE_CODE: u8 = 0x09;
pub(crate) const SESSION_REQUIRED: u8 = 0x0B;
pub(crate) const VERSION_MISMATCH: u8 = 0x41;

/// The SPDM 1.2 ERROR message with `code` and Param2 (ErrorData) 0: comparing an answer with
/// it checks size, SPDMVersion, code and Param2 at once (the validator's assertions x.1 to x.5).
pub(crate) fn error(code: u8) -> Vec<u8> {
    vec![0x12, 0x7F, code, 0]
}

/// The test PKI's responder identity for one set: its SPDM chain (slot 0) and leaf key.
pub(crate) struct Fixture {
    pub(crate) chain: Vec<u8>,
    pub(crate) key: spdm_lite::crypto::EcdsaSigningKey,
}

/// The [`Fixture`] of `set`.
pub(crate) fn fixture(set: AlgorithmSet) -> Fixture {
    Fixture {
        chain: spdm_chain(set, "chain.der", "root.cert.der"),
        key: spdm_lite::crypto::EcdsaSigningKey::from_sec1_der(
            set.asym,
            &read(set, "leaf.key.der"),
        )
        .unwrap(),
    }
}

/// The responder configuration most tests use: `set` with `chain` in slot 0, the test PSK
/// (with responder context: PSK_FINISH), the handshake not in the clear, DataTransferSize
/// 1024.
pub(crate) fn test_config(set: AlgorithmSet, chain: &[u8]) -> ResponderConfig<'_> {
    ResponderConfig {
        algorithms: set,
        cert_chain: chain,
        psk: Some(PskConfig {
            hint: HINT,
            key: PSK,
            with_context: true,
        }),
        handshake_in_the_clear: false,
        data_transfer_size: 1024,
    }
}

/// Deterministic xorshift test source; never for production.
///
/// The state is the seed itself (no mixing) and each byte is the low byte of the state after
/// one xorshift64 step (13, 7, 17). Tests rely on the exact stream of a seed (twin responders
/// with the same seed answer byte for byte alike), so keep both the steps and the seeding.
pub(crate) struct TestRng(pub(crate) u64);

impl RandomSource for TestRng {
    fn fill(&mut self, out: &mut [u8]) -> Result<(), CryptoError> {
        for b in out {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            *b = self.0 as u8;
        }
        Ok(())
    }
}

/// The test PKI directory of `set`: `p256` for set A, `p384` for set B.
fn pki_dir(set: AlgorithmSet) -> &'static str {
    match set.asym {
        AsymAlgo::EcdsaP256 => "p256",
        _ => "p384",
    }
}

/// The file `name` of the test PKI of `set` (`tests/pki/{p256,p384}/name`).
pub(crate) fn read(set: AlgorithmSet, name: &str) -> Vec<u8> {
    let p = format!(
        "{}/tests/pki/{}/{name}",
        env!("CARGO_MANIFEST_DIR"),
        pki_dir(set)
    );
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

/// The SPDM certificate chain (length, reserved, root hash, `certs`) of the DER certificates
/// `certs` under the root certificate `root`, hashed with the hash of `set`.
pub(crate) fn encode_chain(set: AlgorithmSet, certs: &[u8], root: &[u8]) -> Vec<u8> {
    // The header is 4 bytes and the root hash at most 48.
    let mut out = vec![0u8; certs.len() + 64];
    let n = encode_spdm_chain(&RustCrypto, set.hash, root, certs, &mut out).unwrap();
    out.truncate(n);
    out
}

/// The SPDM chain of the test PKI file `chain_file` under the root certificate `root_file`.
pub(crate) fn spdm_chain(set: AlgorithmSet, chain_file: &str, root_file: &str) -> Vec<u8> {
    encode_chain(set, &read(set, chain_file), &read(set, root_file))
}

/// The hash (with the hash algorithm of `set`) of the concatenation of `parts`.
pub(crate) fn hash_digest(set: AlgorithmSet, parts: &[&[u8]]) -> Digest {
    let mut h = RustCrypto.hash(set.hash).unwrap();
    for p in parts {
        h.update(p);
    }
    h.finish()
}

/// [`hash_digest`] as bytes.
pub(crate) fn hash(set: AlgorithmSet, parts: &[&[u8]]) -> Vec<u8> {
    hash_digest(set, parts).as_bytes().to_vec()
}

/// The rcgen signature algorithm of the key of `set` (ECDSA P-256 or P-384).
pub(crate) fn rcgen_alg(set: AlgorithmSet) -> &'static rcgen::SignatureAlgorithm {
    match set.asym {
        AsymAlgo::EcdsaP256 => &rcgen::PKCS_ECDSA_P256_SHA256,
        _ => &rcgen::PKCS_ECDSA_P384_SHA384,
    }
}

/// A public key for rcgen to certify without its private key: the SEC1 point and the
/// signature algorithm.
pub(crate) struct LeafPub(
    pub(crate) Vec<u8>,
    pub(crate) &'static rcgen::SignatureAlgorithm,
);

impl rcgen::PublicKeyData for LeafPub {
    fn der_bytes(&self) -> &[u8] {
        &self.0
    }
    fn algorithm(&self) -> &'static rcgen::SignatureAlgorithm {
        self.1
    }
}

/// One measurement block: (index, value type, value, TCB).
pub(crate) type Block = (u8, u8, Vec<u8>, bool);

/// `MeasurementProvider::block` over a list of blocks: copies the value of the `n`-th block
/// into `value` and describes it; `None` past the end or when `value` is too short.
pub(crate) fn block_info(blocks: &[Block], n: usize, value: &mut [u8]) -> Option<BlockInfo> {
    let (index, value_type, v, tcb) = blocks.get(n)?;
    value.get_mut(..v.len())?.copy_from_slice(v);
    Some(BlockInfo {
        index: *index,
        value_type: *value_type,
        len: v.len(),
        tcb: *tcb,
    })
}

/// The X.509 verifier anchored at the test root of `set` (leaked: tests only).
pub(crate) fn verifier(set: AlgorithmSet) -> &'static X509Verifier<'static, RustCrypto> {
    let root: &'static [u8] = Box::leak(read(set, "root.cert.der").into_boxed_slice());
    Box::leak(Box::new(X509Verifier::new(RustCrypto, root)))
}

/// The size of each of the request and response buffers of [`exchange`], [`session_exchange`]
/// and [`in_session`].
const EXCHANGE_BUF: usize = 4096;

/// Runs one exchange: the requester writes, the responder answers, the requester handles.
pub(crate) fn exchange<P: CryptoProvider, S: Signer>(
    req: &mut Requester<'_, P>,
    rsp: &mut Responder<'_, P, S>,
) -> Result<Status, Error> {
    let mut a = [0u8; EXCHANGE_BUF];
    let mut b = [0u8; EXCHANGE_BUF];
    let n = req.write_request(&mut a)?;
    let m = rsp.handle(&mut a[..n], &mut b)?;
    req.handle_response(&mut b[..m])
}

/// One MCTP message `msg` (a copy: a record is decrypted in place) to `rsp`, answered into a
/// large buffer: `Ok(answer)` or the responder's error (nothing to send).
pub(crate) fn send<P: CryptoProvider, S: Signer>(
    rsp: &mut Responder<'_, P, S>,
    msg: &[u8],
) -> Result<Vec<u8>, Error> {
    let mut m = msg.to_vec();
    let mut out = vec![0u8; EXCHANGE_BUF];
    let n = rsp.handle(&mut m, &mut out)?;
    out.truncate(n);
    Ok(out)
}

/// One request of the session `s`, written by `write`; the requester's event on the answer.
pub(crate) fn session_exchange<P: CryptoProvider, S: Signer>(
    s: &mut RequesterSession<P>,
    rsp: &mut Responder<'_, P, S>,
    write: impl FnOnce(&mut RequesterSession<P>, &mut [u8]) -> Result<usize, Error>,
) -> Result<SessionEvent, Error> {
    let mut a = [0u8; EXCHANGE_BUF];
    let mut b = [0u8; EXCHANGE_BUF];
    let n = write(s, &mut a)?;
    let m = rsp.handle(&mut a[..n], &mut b)?;
    s.handle_response(&mut b[..m])
}

/// One raw SPDM request `spdm` inside the session `s`; the decrypted SPDM response (or the
/// requester's error).
pub(crate) fn in_session<P: CryptoProvider, S: Signer>(
    s: &mut RequesterSession<P>,
    rsp: &mut Responder<'_, P, S>,
    spdm: &[u8],
) -> Result<Vec<u8>, Error> {
    let mut a = [0u8; EXCHANGE_BUF];
    let mut b = [0u8; EXCHANGE_BUF];
    let n = s.write_spdm_request(spdm, &mut a)?;
    let m = rsp.handle(&mut a[..n], &mut b)?;
    s.handle_spdm_response(&mut b[..m]).map(<[u8]>::to_vec)
}

/// A secured record (DSP0277, 1.2) of session `sid` with sequence number `seq`, whose whole
/// plaintext (AppDataLength, MCTP type, message, padding) is `plaintext`, sealed under the
/// traffic keys of `secret`: built by hand, so a test can seal bytes no peer would.
pub(crate) fn seal_raw_record(
    set: AlgorithmSet,
    secret: &spdm_lite::crypto::Secret,
    sid: u32,
    seq: u64,
    plaintext: &[u8],
) -> Vec<u8> {
    let ks = spdm_lite::key_schedule::KeySchedule::new(
        &RustCrypto,
        set.hash,
        spdm_lite::msgs::Version::V12,
    );
    let tk = ks.traffic_keys(set.aead, secret).unwrap();
    let mut nonce = tk.iv_array();
    for (d, s) in nonce.iter_mut().zip(seq.to_le_bytes()) {
        *d ^= s;
    }
    let mut rec = vec![0x06];
    rec.extend(sid.to_le_bytes());
    rec.extend((seq as u16).to_le_bytes());
    rec.extend(((plaintext.len() + 16) as u16).to_le_bytes());
    let mut body = plaintext.to_vec();
    let tag = RustCrypto
        .aead_seal(set.aead, tk.key.as_bytes(), &nonce, &rec[1..], &mut body)
        .unwrap();
    rec.extend(body);
    rec.extend(tag);
    rec
}
