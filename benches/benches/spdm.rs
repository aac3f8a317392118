//! The `spdm` bench: a full spdm-lite handshake (VCA to FINISH_RSP, requester and responder
//! in one process, X.509 chain validation included) for algorithm sets A and B, the same with
//! session mutual authentication (the requester chain fetched with encapsulated requests and
//! validated by the responder, FINISH signed and verified), and DSP0277
//! secured-record seal/open against aws-lc-rs AES-GCM sealing the same bytes.
//!
//! The handshake has no reference implementation here: it reports absolute time (the project's
//! bar: a P-256 handshake under 5 ms).
use std::hint::black_box;
use std::time::Duration;

use aws_lc_rs::aead::{AES_128_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use criterion::{BatchSize, BenchmarkId, Criterion, Throughput, criterion_group};
use cse_benches::pattern;
use spdm_lite::CryptoError;
use spdm_lite::cert::encode_spdm_chain;
use spdm_lite::crypto::{
    AeadAlgo, AlgorithmSet, AsymAlgo, EcdsaSigningKey, RandomSource, RustCrypto, Secret,
};
use spdm_lite::key_schedule::TrafficKeys;
use spdm_lite::mut_auth::{MutAuthMode, MutAuthPolicy, RequesterIdentity};
use spdm_lite::record::{self, DirectionKeys};
use spdm_lite::requester::{Auth, Requester, RequesterConfig, Status};
use spdm_lite::responder::{Responder, ResponderConfig};
use spdm_lite::x509::{ValidationOptions, X509Verifier};

struct Rng(u64);

impl RandomSource for Rng {
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

fn pki(set: AlgorithmSet, name: &str) -> Vec<u8> {
    let dir = if set.asym == AsymAlgo::EcdsaP256 {
        "p256"
    } else {
        "p384"
    };
    let p = format!(
        "{}/../spdm-lite/tests/pki/{dir}/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&p).expect("test PKI")
}

fn handshake(c: &mut Criterion) {
    run_handshakes(c, "spdm_handshake", false);
    run_handshakes(c, "spdm_handshake_mutual_auth", true);
}

/// The handshake of both sets; `mutual`: with session mutual authentication (certificate
/// mode, encapsulated flow).
fn run_handshakes(c: &mut Criterion, group: &str, mutual: bool) {
    let mut g = c.benchmark_group(group);
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for (name, set) in [
        ("set_a_p256", AlgorithmSet::SET_A),
        ("set_b_p384", AlgorithmSet::SET_B),
    ] {
        let root = pki(set, "root.cert.der");
        let certs = pki(set, "chain.der");
        let mut chain = vec![0u8; certs.len() + 64];
        let n = encode_spdm_chain(&RustCrypto, set.hash, &root, &certs, &mut chain).expect("chain");
        chain.truncate(n);
        let key = EcdsaSigningKey::from_sec1_der(set.asym, &pki(set, "leaf.key.der")).expect("key");
        let verifier = X509Verifier::new(RustCrypto, &root);
        let req_certs = pki(set, "req_chain.der");
        let mut req_chain = vec![0u8; req_certs.len() + 64];
        let n = encode_spdm_chain(&RustCrypto, set.hash, &root, &req_certs, &mut req_chain)
            .expect("requester chain");
        req_chain.truncate(n);
        let req_key =
            EcdsaSigningKey::from_sec1_der(set.asym, &pki(set, "req_leaf.key.der")).expect("key");
        let req_verifier =
            X509Verifier::with_options(RustCrypto, &root, ValidationOptions::new().strict_eku());
        g.bench_function(BenchmarkId::new("spdm-lite", name), |b| {
            b.iter(|| {
                let mut rrng = Rng(0x1234_5678_9abc_def1);
                let mut qrng = Rng(0x0fed_cba9_8765_4321);
                let mut req_chain_buf = [0u8; 4096];
                let mut rsp = Responder::new(
                    RustCrypto,
                    &key,
                    &mut rrng,
                    ResponderConfig {
                        algorithms: set,
                        cert_chain: &chain,
                        psk: None,
                        handshake_in_the_clear: false,
                        data_transfer_size: 4096,
                    },
                )
                .expect("responder");
                if mutual {
                    rsp.set_mut_auth(MutAuthPolicy {
                        mode: MutAuthMode::Certificate {
                            verifier: &req_verifier,
                            chain_buf: &mut req_chain_buf,
                        },
                        mandatory: true,
                    });
                }
                let mut chain_buf = [0u8; 4096];
                let offered = [set];
                let mut req = Requester::new(
                    RustCrypto,
                    &mut qrng,
                    RequesterConfig {
                        algorithms: &offered,
                        handshake_in_the_clear: false,
                        data_transfer_size: 4096,
                    },
                    Auth::Certificate {
                        verifier: &verifier,
                        chain_buf: &mut chain_buf,
                        challenge: false,
                    },
                )
                .expect("requester");
                if mutual {
                    req = req.with_mutual_auth(RequesterIdentity {
                        signer: &req_key,
                        cert_chain: &req_chain,
                        public_key: None,
                    });
                }
                let (mut a, mut m) = ([0u8; 4096], [0u8; 4096]);
                loop {
                    let n = req.write_request(&mut a).expect("request");
                    let k = rsp.handle(&mut a[..n], &mut m).expect("response");
                    if req.handle_response(&mut m[..k]).expect("handled") == Status::Established {
                        break;
                    }
                }
                black_box(req.into_session().expect("session"));
            });
        });
    }
    g.finish();
}

fn keys() -> DirectionKeys {
    DirectionKeys::new(TrafficKeys {
        aead: AeadAlgo::Aes128Gcm,
        key: Secret::from_slice(&[0x42; 16]).expect("key"),
        iv: Secret::from_slice(&[0x5a; 12]).expect("iv"),
    })
}

fn records(c: &mut Criterion) {
    let mut g = c.benchmark_group("spdm_record_aes128gcm");
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    for size in [64usize, 1024, 4096] {
        let msg = pattern(size);
        g.throughput(Throughput::Bytes(size as u64));
        let mut out = vec![0u8; size + 64];
        let mut k = keys();
        g.bench_with_input(BenchmarkId::new("spdm-lite seal", size), &size, |b, _| {
            b.iter(|| {
                black_box(record::seal(
                    &RustCrypto,
                    0xFFFF_FFFE,
                    &mut k,
                    &msg,
                    &[],
                    &mut out,
                ))
            })
        });
        let mut sealed = vec![0u8; size + 64];
        let n = record::seal(
            &RustCrypto,
            0xFFFF_FFFE,
            &mut keys(),
            &msg,
            &[],
            &mut sealed,
        )
        .expect("seal");
        sealed.truncate(n);
        g.bench_with_input(BenchmarkId::new("spdm-lite open", size), &size, |b, _| {
            b.iter_batched(
                || (keys(), sealed.clone()),
                |(mut k, mut r)| {
                    black_box(
                        record::open(&RustCrypto, 0xFFFF_FFFE, &mut k, &mut r).map(|p| p.len()),
                    )
                },
                BatchSize::SmallInput,
            )
        });
        let aws = LessSafeKey::new(UnboundKey::new(&AES_128_GCM, &[0x42; 16]).expect("key"));
        let mut buf = msg.clone();
        g.bench_with_input(BenchmarkId::new("aws-lc-rs seal", size), &size, |b, _| {
            b.iter(|| {
                black_box(aws.seal_in_place_separate_tag(
                    Nonce::assume_unique_for_key([0x5a; 12]),
                    Aad::from(&sealed[..9]),
                    &mut buf,
                ))
            })
        });
    }
    g.finish();
}

criterion_group!(benches, handshake, records);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
