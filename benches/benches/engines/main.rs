//! The `engines` bench: AES engines against aws-lc-rs, and the CRCs.
//!
//! Every group has `cse-core` and the references in the same group, with `Throughput::Bytes`,
//! so criterion reports GB/s side by side: `aws-lc-rs` (the bar the project measures itself against) and
//! RustCrypto `aes-gcm` / `cmac` (what `cse-core` is built on).
//!
//! - GMAC in the references is GCM with an empty plaintext and the data as AAD.
//! - `gcm256_seal`, `gcm256_open` and `gmac256` also run the stitched engines below the one
//!   this CPU picks, forced through `cse_core::crypto::force_engine`: ids `cse-core-aesni`
//!   (AES-NI + PCLMULQDQ) and `cse-core-vaes256` (VAES on 256-bit registers); `cse-core` is
//!   the default engine.
//! - CMAC reference: `aws_lc_rs::cmac` (one-shot `sign`), and RustCrypto `cmac` (serial).
use std::hint::black_box;
use std::time::Duration;

use aes_gcm::aead::{AeadInOut, KeyInit};
use aws_lc_rs::aead::{AES_128_GCM, AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use cmac::Mac;
use criterion::{
    BatchSize, BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group,
    measurement::WallTime,
};
use cse_benches::{FRAME_BYTES, SIZES, pattern};
use cse_core::TagLen;
use cse_core::crypto::{Aes, CmacKey, Engine, GcmKey, force_engine};
use cse_core::keys::SecretKey;
use cse_core::nonce::Iv;

mod crc;

const IV: [u8; 12] = [0x5a; 12];
const AAD: [u8; 36] = [0xc5; 36]; // a 32-byte context block and a 4-byte packet header
const K128: [u8; 16] = [0x42; 16];
const K256: [u8; 32] = [0x42; 32];

/// All engine sizes: CSI-2 message sizes and a 12 MiB frame.
fn sizes() -> impl Iterator<Item = usize> {
    SIZES.iter().copied().chain([FRAME_BYTES])
}

fn group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(800));
    g
}

fn aws_key(k: &[u8]) -> LessSafeKey {
    let alg = if k.len() == 16 {
        &AES_128_GCM
    } else {
        &AES_256_GCM
    };
    LessSafeKey::new(UnboundKey::new(alg, k).expect("aws-lc key"))
}

enum RustCryptoGcm {
    A128(aes_gcm::Aes128Gcm),
    A256(aes_gcm::Aes256Gcm),
}

impl RustCryptoGcm {
    fn new(k: &[u8]) -> Self {
        if k.len() == 16 {
            Self::A128(aes_gcm::Aes128Gcm::new_from_slice(k).expect("key"))
        } else {
            Self::A256(aes_gcm::Aes256Gcm::new_from_slice(k).expect("key"))
        }
    }
    fn seal(&self, aad: &[u8], buf: &mut [u8]) -> [u8; 16] {
        let n = IV.into();
        match self {
            Self::A128(c) => c.encrypt_inout_detached(&n, aad, buf.into()),
            Self::A256(c) => c.encrypt_inout_detached(&n, aad, buf.into()),
        }
        .expect("seal")
        .into()
    }
    fn open(&self, aad: &[u8], buf: &mut [u8], tag: &[u8; 16]) -> bool {
        let n = IV.into();
        let t = (*tag).into();
        match self {
            Self::A128(c) => c.decrypt_inout_detached(&n, aad, buf.into(), &t),
            Self::A256(c) => c.decrypt_inout_detached(&n, aad, buf.into(), &t),
        }
        .is_ok()
    }
}

fn cse_key(k: &[u8]) -> SecretKey {
    if k.len() == 16 {
        SecretKey::aes128(K128)
    } else {
        SecretKey::aes256(K256)
    }
}

/// Keys on the stitched engines below the default one (where this CPU runs them), forced:
/// `(bench id, key)`.
fn forced_keys(k: &[u8]) -> Vec<(String, GcmKey)> {
    let mut keys = Vec::new();
    for e in [Engine::AesNi, Engine::Vaes256] {
        if e != Engine::best() && force_engine(Some(e)) {
            let key = GcmKey::new(&cse_key(k));
            assert_eq!(key.engine(), e);
            keys.push((format!("cse-core-{}", e.id()), key));
        }
    }
    assert!(force_engine(None));
    keys
}

fn gcm_seal(c: &mut Criterion, name: &str, k: &[u8]) {
    let ours = GcmKey::new(&cse_key(k));
    let forced = if k.len() == 32 {
        forced_keys(k)
    } else {
        Vec::new()
    };
    let aws = aws_key(k);
    let rc = RustCryptoGcm::new(k);
    let mut g = group(c, name);
    for size in sizes() {
        let mut buf = pattern(size);
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::new("cse-core", size), &size, |b, _| {
            b.iter(|| black_box(ours.seal_in_place(&Iv(IV), &[&AAD], &mut buf, TagLen::L16)))
        });
        for (id, key) in &forced {
            g.bench_with_input(BenchmarkId::new(id.as_str(), size), &size, |b, _| {
                b.iter(|| black_box(key.seal_in_place(&Iv(IV), &[&AAD], &mut buf, TagLen::L16)))
            });
        }
        g.bench_with_input(BenchmarkId::new("aws-lc-rs", size), &size, |b, _| {
            b.iter(|| {
                let n = Nonce::assume_unique_for_key(IV);
                black_box(aws.seal_in_place_separate_tag(n, Aad::from(&AAD), &mut buf))
            })
        });
        g.bench_with_input(BenchmarkId::new("aes-gcm", size), &size, |b, _| {
            b.iter(|| black_box(rc.seal(&AAD, &mut buf)))
        });
    }
    g.finish();
}

fn gcm_seal_128(c: &mut Criterion) {
    gcm_seal(c, "gcm128_seal", &K128);
}

fn gcm_seal_256(c: &mut Criterion) {
    gcm_seal(c, "gcm256_seal", &K256);
}

fn gcm_open_256(c: &mut Criterion) {
    let ours = GcmKey::new(&cse_key(&K256));
    let forced = forced_keys(&K256);
    let aws = aws_key(&K256);
    let rc = RustCryptoGcm::new(&K256);
    let mut g = group(c, "gcm256_open");
    for size in sizes() {
        let mut ct = pattern(size);
        let tag = rc.seal(&AAD, &mut ct);
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::new("cse-core", size), &size, |b, _| {
            b.iter_batched_ref(
                || ct.clone(),
                |buf| {
                    let r = ours.open_in_place(&Iv(IV), &[&AAD], buf, &tag, TagLen::L16);
                    assert!(r.is_ok());
                },
                BatchSize::LargeInput,
            )
        });
        for (id, key) in &forced {
            g.bench_with_input(BenchmarkId::new(id.as_str(), size), &size, |b, _| {
                b.iter_batched_ref(
                    || ct.clone(),
                    |buf| {
                        let r = key.open_in_place(&Iv(IV), &[&AAD], buf, &tag, TagLen::L16);
                        assert!(r.is_ok());
                    },
                    BatchSize::LargeInput,
                )
            });
        }
        g.bench_with_input(BenchmarkId::new("aws-lc-rs", size), &size, |b, _| {
            b.iter_batched_ref(
                || ct.clone(),
                |buf| {
                    let n = Nonce::assume_unique_for_key(IV);
                    let r = aws.open_in_place_separate_tag(n, Aad::from(&AAD), &tag, buf);
                    assert!(r.is_ok());
                },
                BatchSize::LargeInput,
            )
        });
        g.bench_with_input(BenchmarkId::new("aes-gcm", size), &size, |b, _| {
            b.iter_batched_ref(
                || ct.clone(),
                |buf| assert!(rc.open(&AAD, buf, &tag)),
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

fn gmac_256(c: &mut Criterion) {
    let ours = GcmKey::new(&cse_key(&K256));
    let forced = forced_keys(&K256);
    let aws = aws_key(&K256);
    let rc = RustCryptoGcm::new(&K256);
    let suite =
        cse_core::crypto::SuiteKey::new(cse_core::CipherSuite::Aes256Gmac, &cse_key(&K256), None)
            .expect("suite key");
    let mut g = group(c, "gmac256");
    for size in sizes() {
        let data = pattern(size);
        g.throughput(Throughput::Bytes(size as u64));
        // One-shot GMAC, as aws-lc-rs below: one call over the whole message (what the GMAC
        // suites' `SuiteKey::seal_in_place` runs).
        let mut msg = data.clone();
        g.bench_with_input(BenchmarkId::new("cse-core", size), &size, |b, _| {
            b.iter(|| black_box(suite.seal_in_place(&Iv(IV), &[], &mut msg, TagLen::L16)))
        });
        // The streaming GMAC (`GcmKey::gmac`, pieces of any length; one piece here), what
        // per-frame and per-data-type scopes run.
        g.bench_with_input(
            BenchmarkId::new("cse-core-streaming", size),
            &size,
            |b, _| {
                b.iter(|| {
                    let mut s = ours.gmac(&Iv(IV));
                    s.update(&ours, &data);
                    black_box(s.finalize(&ours, TagLen::L16))
                })
            },
        );
        // The forced engines' one-shot GMAC (GCM with the message as AAD).
        for (id, key) in &forced {
            g.bench_with_input(BenchmarkId::new(id.as_str(), size), &size, |b, _| {
                b.iter(|| black_box(key.seal_in_place(&Iv(IV), &[&data], &mut [], TagLen::L16)))
            });
        }
        g.bench_with_input(BenchmarkId::new("aws-lc-rs", size), &size, |b, _| {
            b.iter(|| {
                let n = Nonce::assume_unique_for_key(IV);
                black_box(aws.seal_in_place_separate_tag(n, Aad::from(&data), &mut []))
            })
        });
        g.bench_with_input(BenchmarkId::new("aes-gcm", size), &size, |b, _| {
            b.iter(|| black_box(rc.seal(&data, &mut [])))
        });
    }
    g.finish();
}

fn ctr_256(c: &mut Criterion) {
    use aws_lc_rs::cipher::{AES_256, EncryptingKey, EncryptionContext, UnboundCipherKey};
    use aws_lc_rs::iv::FixedLength;
    let ours = Aes::new(&cse_key(&K256));
    let aws = EncryptingKey::ctr(UnboundCipherKey::new(&AES_256, &K256).expect("aws-lc key"))
        .expect("aws-lc ctr key");
    let mut counter = [0u8; 16];
    counter[..12].copy_from_slice(&IV);
    counter[15] = 2;
    let mut g = group(c, "ctr256");
    for size in sizes() {
        let mut buf = pattern(size);
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::new("cse-core", size), &size, |b, _| {
            b.iter(|| ours.apply_ctr(&Iv(IV), black_box(&mut buf)))
        });
        g.bench_with_input(BenchmarkId::new("aws-lc-rs", size), &size, |b, _| {
            b.iter(|| {
                let ctx = EncryptionContext::Iv128(FixedLength::from(counter));
                black_box(aws.less_safe_encrypt(&mut buf, ctx).expect("ctr"))
            })
        });
    }
    g.finish();
}

fn cmac_128(c: &mut Criterion) {
    let ours = CmacKey::new(&cse_key(&K128));
    let aws = aws_lc_rs::cmac::Key::new(aws_lc_rs::cmac::AES_128, &K128).expect("aws-lc key");
    let rc = <cmac::Cmac<aes::Aes128> as KeyInit>::new_from_slice(&K128).expect("key");
    let mut g = group(c, "cmac128");
    for size in sizes() {
        let data = pattern(size);
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::new("cse-core", size), &size, |b, _| {
            b.iter(|| black_box(ours.mac(&[&data], TagLen::L16)))
        });
        g.bench_with_input(BenchmarkId::new("aws-lc-rs", size), &size, |b, _| {
            b.iter(|| black_box(aws_lc_rs::cmac::sign(&aws, &data)))
        });
        g.bench_with_input(BenchmarkId::new("rustcrypto-cmac", size), &size, |b, _| {
            b.iter(|| {
                let mut m = rc.clone();
                m.update(&data);
                black_box(m.finalize())
            })
        });
    }
    g.finish();
}

/// Batches of per-line MACs: `(lines, bytes per line)`: CSI-2 lines and CCI-sized messages.
const LINE_BATCHES: [(usize, usize); 4] = [(8, 5760), (16, 5760), (16, 64), (64, 64)];

/// Per-line CMAC: `cse-core` is the batched `CmacKey::mac_batch`, `cse-core-serial` one
/// `CmacKey::mac` per line, `aws-lc-rs` one `cmac::sign` per line.
fn cmac_128_lines(c: &mut Criterion) {
    let ours = CmacKey::new(&cse_key(&K128));
    let aws = aws_lc_rs::cmac::Key::new(aws_lc_rs::cmac::AES_128, &K128).expect("aws-lc key");
    let mut g = group(c, "cmac128_lines");
    for (lines, len) in LINE_BATCHES {
        let data: Vec<Vec<u8>> = (0..lines).map(|i| pattern(len + i)[i..].to_vec()).collect();
        let pieces: Vec<[&[u8]; 1]> = data.iter().map(|d| [&d[..]]).collect();
        let messages: Vec<&[&[u8]]> = pieces.iter().map(|p| &p[..]).collect();
        let id = format!("{lines}x{len}");
        g.throughput(Throughput::Bytes((lines * len) as u64));
        g.bench_with_input(BenchmarkId::new("cse-core", &id), &id, |b, _| {
            b.iter(|| {
                let mut acc = 0u8;
                ours.mac_batch(black_box(&messages), TagLen::L16, |_, t| {
                    acc ^= t.as_bytes()[0]
                });
                black_box(acc)
            })
        });
        g.bench_with_input(BenchmarkId::new("cse-core-serial", &id), &id, |b, _| {
            b.iter(|| {
                for m in &messages {
                    let _ = black_box(ours.mac(black_box(m), TagLen::L16));
                }
            })
        });
        g.bench_with_input(BenchmarkId::new("aws-lc-rs", &id), &id, |b, _| {
            b.iter(|| {
                for d in &data {
                    black_box(aws_lc_rs::cmac::sign(&aws, black_box(d)).expect("cmac"));
                }
            })
        });
    }
    g.finish();
}

/// Per-line GMAC: `cse-core` is the batched `GcmKey::gmac_batch`, `cse-core-serial` one
/// `GcmKey::gmac` per line, `aws-lc-rs` one empty-plaintext GCM seal per line.
fn gmac_256_lines(c: &mut Criterion) {
    let ours = GcmKey::new(&cse_key(&K256));
    let aws = aws_key(&K256);
    let mut g = group(c, "gmac256_lines");
    for (lines, len) in LINE_BATCHES {
        let data: Vec<Vec<u8>> = (0..lines).map(|i| pattern(len + i)[i..].to_vec()).collect();
        let pieces: Vec<[&[u8]; 1]> = data.iter().map(|d| [&d[..]]).collect();
        let messages: Vec<(Iv, &[&[u8]])> = pieces
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let mut iv = IV;
                iv[11] = i as u8;
                (Iv(iv), &p[..])
            })
            .collect();
        let id = format!("{lines}x{len}");
        g.throughput(Throughput::Bytes((lines * len) as u64));
        g.bench_with_input(BenchmarkId::new("cse-core", &id), &id, |b, _| {
            b.iter(|| {
                let mut acc = 0u8;
                ours.gmac_batch(black_box(&messages), TagLen::L16, |_, t| {
                    acc ^= t.as_bytes()[0]
                });
                black_box(acc)
            })
        });
        g.bench_with_input(BenchmarkId::new("cse-core-serial", &id), &id, |b, _| {
            b.iter(|| {
                for (iv, m) in &messages {
                    let mut s = ours.gmac(iv);
                    for p in m.iter() {
                        s.update(&ours, p);
                    }
                    let _ = black_box(s.finalize(&ours, TagLen::L16));
                }
            })
        });
        g.bench_with_input(BenchmarkId::new("aws-lc-rs", &id), &id, |b, _| {
            b.iter(|| {
                for ((iv, _), d) in messages.iter().zip(&data) {
                    let n = Nonce::assume_unique_for_key(iv.0);
                    let _ = black_box(aws.seal_in_place_separate_tag(n, Aad::from(d), &mut []));
                }
            })
        });
    }
    g.finish();
}

criterion_group!(
    benches,
    gcm_seal_128,
    gcm_seal_256,
    gcm_open_256,
    gmac_256,
    ctr_256,
    cmac_128,
    cmac_128_lines,
    gmac_256_lines,
    crc::crc_benches
);
fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    cse_benches::print_ratios(&[
        ("gcm128_seal", "aws-lc-rs"),
        ("gcm256_seal", "aws-lc-rs"),
        ("gcm256_open", "aws-lc-rs"),
        ("gmac256", "aws-lc-rs"),
        ("ctr256", "aws-lc-rs"),
        ("cmac128", "aws-lc-rs"),
        ("cmac128_lines", "cse-core-serial"),
        ("cmac128_lines", "aws-lc-rs"),
        ("gmac256_lines", "cse-core-serial"),
        ("gmac256_lines", "aws-lc-rs"),
        ("crc32-iso-hdlc", "crc32fast"),
        ("crc32-autosar", "crc-fast"),
        ("crc32-iscsi", "crc-fast"),
        ("crc16-mcrf4xx", "crc-fast"),
    ]);
    cse_benches::print_ratios_for("cse-core-streaming", &[("gmac256", "aws-lc-rs")]);
    for e in [Engine::AesNi, Engine::Vaes256] {
        if e != Engine::best() && e.available() {
            cse_benches::print_ratios_for(
                &format!("cse-core-{}", e.id()),
                &[
                    ("gcm256_seal", "aws-lc-rs"),
                    ("gcm256_open", "aws-lc-rs"),
                    ("gmac256", "aws-lc-rs"),
                ],
            );
        }
    }
}
