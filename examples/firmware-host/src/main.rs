//! Host generator of the firmware example.
//!
//! ```text
//! firmware-host <recorded.rs>
//! ```
//!
//! Plays the peers of the sensor on the host (CCISE controller, SPDM requester against a host
//! responder with the firmware's random seed), checks that they accept what the sensor side
//! sends, writes the messages they sent to `<recorded.rs>`, then runs the firmware's scenario
//! and prints its `result` lines.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::fmt::Write as _;

#[path = "../../firmware-m4/src/scenario.rs"]
mod scenario;

use scenario::{Probe, fixture as fx};

struct Host;

impl Probe for Host {
    fn call<R>(&mut self, _entry: &'static str, f: impl FnOnce() -> R) -> R {
        f()
    }

    fn result(&mut self, name: &'static str, bytes: &[u8]) {
        println!(
            "result {} {} {:016x}",
            name,
            bytes.len(),
            scenario::fnv64(bytes)
        );
    }

    fn fail(&mut self, what: &'static str) {
        panic!("FAILED {what}");
    }
}

fn bytes_const(out: &mut String, name: &str, bytes: &[u8]) {
    writeln!(out, "pub const {name}: &[u8] = &{bytes:?};").unwrap();
}

/// The CCISE controller's sealed write and read request; checks the target's response.
fn ccise(out: &mut String) {
    use ccise::{Controller, Target};
    let mut ctl = Controller::new(
        scenario::ccise_target::config(),
        scenario::ccise_target::keys().unwrap(),
    )
    .unwrap();
    let mut write = [0u8; 64];
    let w = ctl
        .seal_write(fx::CCISE_REGISTER, &fx::CCISE_DATA, &mut write)
        .unwrap();
    let write = &write[..w.len];
    let mut req = [0u8; 64];
    let (pending, r) = ctl
        .seal_read_request(fx::CCISE_REGISTER, fx::CCISE_DATA.len() as u8, &mut req)
        .unwrap();
    let req = &req[..r.len];
    bytes_const(out, "CCISE_WRITE", write);
    bytes_const(out, "CCISE_READ_REQUEST", req);
    // The host target answers; the controller must accept the answer and read the data back.
    let mut response = [0u8; 64];
    let n = scenario::ccise_target::run(&mut Host, write, req, &mut response);
    let mut data = [0u8; 8];
    let got = ctl
        .open_read_response(pending, &response[..n], &mut data)
        .unwrap();
    assert_eq!(&data[..got], &fx::CCISE_DATA);
    let _ = Target::new; // the target itself runs in `scenario::ccise_target::run`
}

const PKI: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../spdm-lite/tests/pki/p256"
);

/// The scalar of a SEC1 `ECPrivateKey` of P-256 (`30 77 02 01 01 04 20 <d>`).
fn sec1_scalar(der: &[u8]) -> [u8; 32] {
    assert_eq!(
        &der[2..7],
        &[0x02, 0x01, 0x01, 0x04, 0x20],
        "not a P-256 ECPrivateKey"
    );
    der[7..39].try_into().unwrap()
}

/// The SPDM requester's messages: a whole certificate handshake with CHALLENGE, measurement
/// summary hashes and mutual authentication by the requester's provisioned public key, then a
/// signed GET_MEASUREMENTS in the session and one in the clear.
fn spdm(out: &mut String) {
    use spdm_lite::cert::encode_spdm_chain;
    use spdm_lite::crypto::{AlgorithmSet, AsymAlgo, EcdsaSigningKey, RustCrypto, Signer as _};
    use spdm_lite::measurements::SummaryType;
    use spdm_lite::msgs::measurements::OP_ALL;
    use spdm_lite::mut_auth::{MutAuthMode, MutAuthPolicy, RequesterIdentity, spki_from_point};
    use spdm_lite::requester::{Auth, MeasurementRequest, Requester, RequesterConfig, Status};
    use spdm_lite::responder::Responder;
    use spdm_lite::x509::X509Verifier;
    let read = |n: &str| std::fs::read(format!("{PKI}/{n}")).unwrap();
    // The requester's key; the sensor is provisioned with its public key.
    let req_key =
        EcdsaSigningKey::from_sec1_der(AsymAlgo::EcdsaP256, &read("req_leaf.key.der")).unwrap();
    let req_chain = read("req_chain.der");
    let mut point = [0u8; 65];
    req_key.public_key_sec1(&mut point).unwrap();
    let mut spki = [0u8; 91];
    let spki_len = spki_from_point(AsymAlgo::EcdsaP256, &point, &mut spki).unwrap();
    let spki = &spki[..spki_len];
    let (certs, root, der) = (
        read("chain.der"),
        read("root.cert.der"),
        read("leaf.key.der"),
    );
    let set = AlgorithmSet::SET_A;
    let mut chain = vec![0u8; certs.len() + 64];
    let n = encode_spdm_chain(&RustCrypto, set.hash, &root, &certs, &mut chain).unwrap();
    chain.truncate(n);
    let scalar = sec1_scalar(&der);
    let key = EcdsaSigningKey::from_scalar(AsymAlgo::EcdsaP256, &scalar).unwrap();
    let reference = EcdsaSigningKey::from_sec1_der(AsymAlgo::EcdsaP256, &der).unwrap();
    let (mut a, mut b) = ([0u8; 65], [0u8; 65]);
    key.public_key_sec1(&mut a).unwrap();
    reference.public_key_sec1(&mut b).unwrap();
    assert_eq!(a, b);
    assert_eq!(key.algorithm(), AsymAlgo::EcdsaP256);

    let mut rrng = scenario::spdm_rsp::TestRng(fx::RESPONDER_SEED);
    let mut qrng = scenario::spdm_rsp::TestRng(fx::REQUESTER_SEED);
    let mut rsp = Responder::new(
        RustCrypto,
        &key,
        &mut rrng,
        scenario::spdm_rsp::config(&chain),
    )
    .unwrap();
    rsp.set_measurements(&scenario::spdm_rsp::Device);
    rsp.set_mut_auth(MutAuthPolicy {
        mode: MutAuthMode::PublicKey { spki },
        mandatory: true,
    });
    let verifier = X509Verifier::new(RustCrypto, &root);
    let mut chain_buf = vec![0u8; 4096];
    let offered = [set];
    let mut req = Requester::new(
        RustCrypto,
        &mut qrng,
        RequesterConfig {
            algorithms: &offered,
            handshake_in_the_clear: false,
            data_transfer_size: fx::SPDM_DTS,
        },
        Auth::Certificate {
            verifier: &verifier,
            chain_buf: &mut chain_buf,
            challenge: true,
        },
    )
    .unwrap()
    .with_mutual_auth(RequesterIdentity {
        signer: &req_key,
        cert_chain: &req_chain,
        public_key: Some(spki),
    });
    req.set_measurement_summary(SummaryType::All);
    let mut requests: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut m = [0u8; 2048];
        let mut r = [0u8; 2048];
        let n = req.write_request(&mut m).unwrap();
        requests.push(m[..n].to_vec());
        let k = rsp.handle(&mut m[..n], &mut r).unwrap();
        if req.handle_response(&mut r[..k]).unwrap() == Status::Established {
            break;
        }
        assert!(requests.len() < 32, "handshake did not finish");
    }
    assert_eq!(
        rsp.session().unwrap().requester_auth(),
        spdm_lite::session::RequesterAuth::Signature
    );
    // Signed measurements of every block, in the session and in the clear; the requester
    // checks the signatures and the blocks.
    let mut ses = req.into_session().unwrap();
    let ask = |nonce: u8| MeasurementRequest {
        operation: OP_ALL,
        nonce: Some([nonce; 32]),
    };
    let (mut m, mut r) = ([0u8; 2048], [0u8; 2048]);
    let n = ses.write_get_measurements(&ask(0x3C), &mut m).unwrap();
    requests.push(m[..n].to_vec());
    let k = rsp.handle(&mut m[..n], &mut r).unwrap();
    let got = ses.handle_measurements(&mut r[..k]).unwrap();
    assert_eq!(got.blocks().count(), scenario::spdm_rsp::BLOCKS.len());
    let n = ses
        .write_get_measurements_plain(&ask(0x3D), &mut m)
        .unwrap();
    requests.push(m[..n].to_vec());
    let k = rsp.handle(&mut m[..n], &mut r).unwrap();
    let got = ses.handle_measurements_plain(&mut r[..k]).unwrap();
    assert_eq!(got.blocks().count(), scenario::spdm_rsp::BLOCKS.len());
    bytes_const(out, "SPDM_CHAIN", &chain);
    writeln!(out, "pub const SPDM_LEAF_SCALAR: [u8; 32] = {scalar:?};").unwrap();
    bytes_const(out, "SPDM_REQUESTER_SPKI", spki);
    writeln!(out, "pub const SPDM_REQUESTS: &[&[u8]] = &[").unwrap();
    for r in &requests {
        writeln!(out, "    &{r:?},").unwrap();
    }
    writeln!(out, "];").unwrap();
    // The firmware's run, on the host: the same responder answers the recorded requests.
    let refs: Vec<&[u8]> = requests.iter().map(Vec::as_slice).collect();
    let (mut msg, mut o) = ([0u8; 2048], [0u8; 2048]);
    scenario::spdm_rsp::run(&mut Host, &chain, &scalar, spki, &refs, &mut msg, &mut o);
}

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: firmware-host <recorded.rs>");
    let mut rec = String::from(
        "//! Messages of the sensor's peers, recorded on the host by `examples/firmware-host` (do not edit: \
         `.ci/firmware` regenerates this file and fails when it differs).\n\n\
         #![allow(dead_code)] // Each image uses the messages of its own pieces.\n\n",
    );
    let base = scenario::fnv64(b"baseline");
    Host.result("baseline", &base.to_be_bytes());
    ccise(&mut rec);
    let mut pkt = vec![0u8; fx::LINE_LEN + 6];
    let mut out = vec![0u8; cse_sep::tx::max_protected_len(fx::LINE_LEN + 6)];
    scenario::sep_tx::run(&mut Host, &mut pkt, &mut out);
    let mut out = vec![0u8; cse_fsed::tx::MAX_INSERTED_LEN];
    scenario::fsed_tx::run(&mut Host, &mut pkt, &mut out);
    spdm(&mut rec);
    std::fs::write(&path, rec).unwrap();
}
