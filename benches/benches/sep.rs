//! The `sep` bench: SEP protect and verify against raw AES-256-GCM of the same bytes.
//!
//! Groups `sep-<variant>-<op>` for SV-1 (AES-256-GCM), SV-2 (AES-256-GMAC, AES-128-CMAC) and
//! SV-3 (stride 4, AES-256-GMAC), per-message tags, 16 bytes. Sizes: one 5760-byte and one
//! 11520-byte RAW12 line, and a whole 3840x2160 RAW12 frame (2160 lines of 5760 bytes,
//! 12 441 600 bytes, FS and FE included). `cse-sep` runs the transmitter (`protect`: original
//! packet in, SEP packet out) or the receiver (`verify`: SEP packet in, verified original out);
//! `aws-lc-rs` seals (or opens) the same payload bytes with AES-256-GCM and a 48-byte AAD (the
//! size of SEP's context, header and prefix), one call per line.
use std::hint::black_box;
use std::time::Duration;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use criterion::{
    BatchSize, BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group,
    measurement::WallTime,
};
use cse_benches::link::{AAD, FRAME, IV, LINE, LINES, config, line, material, short, vc};
use cse_benches::pattern;
use cse_core::csi2::DataType;
use cse_core::{CipherSuite, FrameConfig, KeyId, Policy, SecurityVariant, TagMode};
use cse_sep::{Delivery, Receiver, Settings, Transmitter};

fn group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(1000));
    g
}

fn tx(cfg: FrameConfig, suite: CipherSuite) -> Transmitter {
    let mut t = Transmitter::new(Settings::new(vc()), 1);
    t.install_key(KeyId::default(), material(suite))
        .expect("key");
    t.set_config(cfg).expect("config");
    t
}

fn rx(suite: CipherSuite) -> Receiver {
    let mut r = Receiver::new(Settings::new(vc()), Policy::PERMISSIVE, u64::MAX);
    r.install_key(KeyId::default(), material(suite))
        .expect("key");
    r
}

/// Protects `packets` in order, returning the SEP packets.
fn protect_all(t: &mut Transmitter, packets: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for p in packets {
        let mut buf = vec![0u8; p.len() + 256];
        let r = t.protect(p, &mut buf).expect("protect");
        buf.truncate(r.len);
        out.push(buf);
    }
    out
}

fn frame_packets() -> Vec<Vec<u8>> {
    let l = line(LINE);
    let mut v = vec![short(DataType::FS)];
    v.extend(std::iter::repeat_n(l, LINES));
    v.push(short(DataType::FE));
    v
}

fn aws() -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[0x42; 32]).expect("aws key"))
}

fn bench_variant(c: &mut Criterion, name: &str, sv: SecurityVariant, suite: CipherSuite) {
    let cfg = config(sv, suite, TagMode::PerMessage);
    let aws = aws();
    let sizes = [LINE, 2 * LINE, FRAME];

    let mut g = group(c, &format!("sep-{name}-protect"));
    for size in sizes {
        g.throughput(Throughput::Bytes(size as u64));
        if size == FRAME {
            let packets = frame_packets();
            let mut t = tx(cfg, suite);
            let mut out = vec![0u8; LINE + 256];
            g.bench_with_input(BenchmarkId::new("cse-sep", size), &size, |b, _| {
                b.iter(|| {
                    for p in &packets {
                        let _ = black_box(t.protect(p, &mut out).expect("protect"));
                    }
                })
            });
        } else {
            let l = line(size);
            let mut t = tx(cfg, suite);
            let mut out = vec![0u8; size + 256];
            let _ = t.protect(&short(DataType::FS), &mut out).expect("fs");
            g.bench_with_input(BenchmarkId::new("cse-sep", size), &size, |b, _| {
                b.iter(|| black_box(t.protect(&l, &mut out).expect("protect")))
            });
        }
        let mut buf = pattern(size.min(2 * LINE));
        let reps = if size == FRAME { LINES } else { 1 };
        g.bench_with_input(BenchmarkId::new("aws-lc-rs", size), &size, |b, _| {
            b.iter(|| {
                for _ in 0..reps {
                    let n = Nonce::assume_unique_for_key(IV);
                    let _ = black_box(
                        aws.seal_in_place_separate_tag(n, Aad::from(&AAD), &mut buf)
                            .expect("seal"),
                    );
                }
            })
        });
    }
    g.finish();

    let mut g = group(c, &format!("sep-{name}-verify"));
    for size in sizes {
        g.throughput(Throughput::Bytes(size as u64));
        let mut t = tx(cfg, suite);
        let seps = if size == FRAME {
            protect_all(&mut t, &frame_packets())
        } else {
            protect_all(&mut t, &[short(DataType::FS), line(size)])
        };
        let mut out = vec![0u8; size.min(2 * LINE) + 64];
        g.bench_with_input(BenchmarkId::new("cse-sep", size), &size, |b, _| {
            // By reference: the timed region is the receiving, not moving the receiver.
            b.iter_batched_ref(
                || {
                    let mut r = rx(suite);
                    if size != FRAME {
                        let mut o = vec![0u8; 64];
                        let _ = r.receive(&seps[0], 0, &mut o).expect("fs");
                    }
                    r
                },
                |r| {
                    let start = usize::from(size != FRAME);
                    for s in &seps[start..] {
                        let d = r.receive(s, 0, &mut out).expect("verify");
                        assert!(matches!(d, Delivery::Verified(_)));
                    }
                },
                BatchSize::SmallInput,
            )
        });
        let unit = size.min(2 * LINE);
        let mut ct = pattern(unit);
        let tag = aws
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(IV), Aad::from(&AAD), &mut ct)
            .expect("seal");
        let reps = if size == FRAME { LINES } else { 1 };
        let all: Vec<u8> = ct.iter().copied().cycle().take(unit * reps).collect();
        g.bench_with_input(BenchmarkId::new("aws-lc-rs", size), &size, |b, _| {
            b.iter_batched_ref(
                || all.clone(),
                |buf| {
                    for chunk in buf.chunks_mut(unit) {
                        let n = Nonce::assume_unique_for_key(IV);
                        let r =
                            aws.open_in_place_separate_tag(n, Aad::from(&AAD), tag.as_ref(), chunk);
                        assert!(r.is_ok());
                    }
                },
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();
}

fn sv1_gcm256(c: &mut Criterion) {
    bench_variant(
        c,
        "sv1-gcm256",
        SecurityVariant::FullIntegrityEncrypted,
        CipherSuite::Aes256Gcm,
    );
}

fn sv2_gmac256(c: &mut Criterion) {
    bench_variant(
        c,
        "sv2-gmac256",
        SecurityVariant::FullIntegrity,
        CipherSuite::Aes256Gmac,
    );
}

fn sv2_cmac128(c: &mut Criterion) {
    bench_variant(
        c,
        "sv2-cmac128",
        SecurityVariant::FullIntegrity,
        CipherSuite::Aes128Cmac,
    );
}

fn sv3_stride4(c: &mut Criterion) {
    bench_variant(
        c,
        "sv3-stride4-gmac256",
        SecurityVariant::LinePartialIntegrity {
            stride: 4,
            offset: 0,
        },
        CipherSuite::Aes256Gmac,
    );
}

criterion_group!(benches, sv1_gcm256, sv2_gmac256, sv2_cmac128, sv3_stride4);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    let groups: Vec<String> = [
        "sv1-gcm256",
        "sv2-gmac256",
        "sv2-cmac128",
        "sv3-stride4-gmac256",
    ]
    .iter()
    .flat_map(|n| [format!("sep-{n}-protect"), format!("sep-{n}-verify")])
    .collect();
    let pairs: Vec<(&str, &str)> = groups.iter().map(|g| (g.as_str(), "aws-lc-rs")).collect();
    cse_benches::print_ratios_for("cse-sep", &pairs);
}
