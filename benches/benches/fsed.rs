//! The `fsed` bench: FSED protect and verify against raw AES-256-GCM / GMAC of the same bytes.
//!
//! Groups `fsed-<variant>-<op>` for SV-1 (AES-256-GCM), SV-2 (AES-256-GMAC, AES-128-CMAC) and
//! SV-3 (stride 4, AES-256-GMAC), per-frame tags, 16 bytes (the sizes and suites of the `sep`
//! bench). Sizes: one 5760-byte and one 11520-byte RAW12 line, and a whole 3840x2160 RAW12
//! frame (2160 lines of 5760 bytes, FS, frame header, tag records and FE included). `cse-fsed`
//! runs the transmitter (`protect`: the line protected in place, FSED packets written) or the
//! receiver (`verify`: the mixed stream in, scope verified, SV-1 lines decrypted after the
//! proof); `aws-lc-rs` seals (or opens) the same payload bytes with AES-256-GCM and a 48-byte
//! AAD, one call per line. Groups `fsed-frame-gmac256-{protect,verify}` compare the per-frame
//! GMAC over a whole 4K RAW12 frame with one aws-lc-rs AES-256-GMAC (GCM, frame as AAD) call.
//!
//! Groups `fsed-sv2-cmac128-<op>-<n>streams` (n = 1, 2): n independent SV-2 CMAC-128 streams
//! (VC 0..n, per-frame tags, one transmitter or receiver each) on n threads, one 4K frame each
//! per iteration; the throughput counts the bytes of all streams. FSED has no batch path (each
//! tag is one MAC chain over its scope): its parallelism is across streams. `aws-lc-rs-cmac`
//! runs n threads of one AES-128-CMAC per 5760-byte line over the same number of bytes.
use std::hint::black_box;
use std::time::Duration;

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use aws_lc_rs::cmac;
use criterion::{
    BatchSize, BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group,
    measurement::WallTime,
};
use cse_benches::link::{
    AAD, FRAME, IV, LINE, LINES, config, line, line_on, material, short, short_on, vc,
};
use cse_benches::pattern;
use cse_core::csi2::{DataType, HeaderForm, Packets, VirtualChannel};
use cse_core::{CipherSuite, FrameConfig, KeyId, Policy, SecurityVariant, TagMode};
use cse_fsed::tx::MAX_INSERTED_LEN;
use cse_fsed::{Delivery, Receiver, Settings, Transmitter};

fn group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(1000));
    g
}

fn tx(cfg: FrameConfig, suite: CipherSuite) -> Transmitter {
    tx_on(vc(), cfg, suite)
}

fn tx_on(vc: VirtualChannel, cfg: FrameConfig, suite: CipherSuite) -> Transmitter {
    let mut t = Transmitter::new(Settings::new(vc), 1);
    t.install_key(KeyId::default(), material(suite))
        .expect("key");
    t.set_config(cfg).expect("config");
    t
}

fn rx(suite: CipherSuite) -> Receiver {
    rx_on(vc(), suite)
}

fn rx_on(vc: VirtualChannel, suite: CipherSuite) -> Receiver {
    let mut r = Receiver::new(Settings::new(vc), Policy::PERMISSIVE, u64::MAX);
    r.install_key(KeyId::default(), material(suite))
        .expect("key");
    r
}

/// Protects `packets` in order, returning the transmitted stream packet by packet.
fn protect_all(t: &mut Transmitter, packets: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; MAX_INSERTED_LEN];
    for p in packets {
        let mut q = p.clone();
        let r = t.protect(&mut q, &mut buf).expect("protect");
        for d in Packets::new(r.before(&buf), HeaderForm::Dphy) {
            out.push(d.expect("fsed").raw.to_vec());
        }
        out.push(q);
        for d in Packets::new(r.after(&buf), HeaderForm::Dphy) {
            out.push(d.expect("fsed").raw.to_vec());
        }
    }
    out
}

fn frame_packets(lines: usize, len: usize) -> Vec<Vec<u8>> {
    let l = line(len);
    let mut v = vec![short(DataType::FS)];
    v.extend(std::iter::repeat_n(l, lines));
    v.push(short(DataType::FE));
    v
}

fn aws() -> LessSafeKey {
    LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[0x42; 32]).expect("aws key"))
}

/// Receives a whole stream, releasing (and, under SV-1, decrypting) every line after its proof.
fn verify_stream(r: &mut Receiver, stream: &mut [Vec<u8>]) {
    let mut pending = Vec::new();
    for (i, s) in stream.iter().enumerate() {
        match r.receive(s, 0).expect("verify") {
            Delivery::Unverified(u) => pending.push((i, u.decrypt_ticket(), u.is_encrypted())),
            Delivery::ScopeVerified(proof) => {
                for (i, ticket, enc) in pending.drain(..) {
                    if enc {
                        // Decrypt a copy: the stream stays ciphertext for the next iteration.
                        let mut b = stream[i].clone();
                        r.decrypt(&proof, &ticket, &mut b).expect("decrypt");
                        black_box(&b);
                    }
                }
            }
            _ => {}
        }
    }
    assert!(pending.is_empty());
}

fn bench_variant(c: &mut Criterion, name: &str, sv: SecurityVariant, suite: CipherSuite) {
    let cfg = config(sv, suite, TagMode::PerFrame);
    let aws = aws();
    let sizes = [LINE, 2 * LINE, FRAME];

    let mut g = group(c, &format!("fsed-{name}-protect"));
    for size in sizes {
        g.throughput(Throughput::Bytes(size as u64));
        let (lines, len) = if size == FRAME {
            (LINES, LINE)
        } else {
            (1, size)
        };
        let mut t = tx(cfg, suite);
        let mut out = vec![0u8; MAX_INSERTED_LEN];
        if size == FRAME {
            let mut packets = frame_packets(lines, len);
            g.bench_with_input(BenchmarkId::new("cse-fsed", size), &size, |b, _| {
                b.iter(|| {
                    for p in packets.iter_mut() {
                        let _ = black_box(t.protect(p, &mut out).expect("protect"));
                    }
                })
            });
        } else {
            let mut l = line(len);
            let _ = t.protect(&mut short(DataType::FS), &mut out).expect("fs");
            g.bench_with_input(BenchmarkId::new("cse-fsed", size), &size, |b, _| {
                b.iter(|| black_box(t.protect(&mut l, &mut out).expect("protect")))
            });
        }
        let mut buf = pattern(len);
        g.bench_with_input(BenchmarkId::new("aws-lc-rs", size), &size, |b, _| {
            b.iter(|| {
                for _ in 0..lines {
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

    let mut g = group(c, &format!("fsed-{name}-verify"));
    for size in sizes {
        g.throughput(Throughput::Bytes(size as u64));
        let (lines, len) = if size == FRAME {
            (LINES, LINE)
        } else {
            (1, size)
        };
        let stream = protect_all(&mut tx(cfg, suite), &frame_packets(lines, len));
        g.bench_with_input(BenchmarkId::new("cse-fsed", size), &size, |b, _| {
            b.iter_batched_ref(
                || (rx(suite), stream.clone()),
                |(r, s)| verify_stream(r, s),
                BatchSize::LargeInput,
            )
        });
        let mut ct = pattern(len);
        let tag = aws
            .seal_in_place_separate_tag(Nonce::assume_unique_for_key(IV), Aad::from(&AAD), &mut ct)
            .expect("seal");
        let all: Vec<u8> = ct.iter().copied().cycle().take(len * lines).collect();
        g.bench_with_input(BenchmarkId::new("aws-lc-rs", size), &size, |b, _| {
            b.iter_batched_ref(
                || all.clone(),
                |buf| {
                    for chunk in buf.chunks_mut(len) {
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

/// Per-frame GMAC over a whole 4K RAW12 frame against one aws-lc-rs GMAC call over the same
/// bytes (AES-256-GCM with the frame as AAD and no plaintext).
fn frame_gmac(c: &mut Criterion) {
    let suite = CipherSuite::Aes256Gmac;
    let cfg = config(SecurityVariant::FullIntegrity, suite, TagMode::PerFrame);
    let aws = aws();
    let frame = pattern(FRAME);
    let packets = frame_packets(LINES, LINE);
    let mut g = group(c, "fsed-frame-gmac256-protect");
    g.throughput(Throughput::Bytes(FRAME as u64));
    let mut t = tx(cfg, suite);
    let mut out = vec![0u8; MAX_INSERTED_LEN];
    let mut pk = packets.clone();
    g.bench_with_input(BenchmarkId::new("cse-fsed", FRAME), &FRAME, |b, _| {
        b.iter(|| {
            for p in pk.iter_mut() {
                let _ = black_box(t.protect(p, &mut out).expect("protect"));
            }
        })
    });
    g.bench_with_input(BenchmarkId::new("aws-lc-rs", FRAME), &FRAME, |b, _| {
        b.iter(|| {
            let n = Nonce::assume_unique_for_key(IV);
            black_box(
                aws.seal_in_place_separate_tag(n, Aad::from(&frame[..]), &mut [])
                    .expect("gmac"),
            )
        })
    });
    g.finish();
    let mut g = group(c, "fsed-frame-gmac256-verify");
    g.throughput(Throughput::Bytes(FRAME as u64));
    let stream = protect_all(&mut tx(cfg, suite), &packets);
    g.bench_with_input(BenchmarkId::new("cse-fsed", FRAME), &FRAME, |b, _| {
        b.iter_batched_ref(
            || (rx(suite), stream.clone()),
            |(r, s)| verify_stream(r, s),
            BatchSize::LargeInput,
        )
    });
    let tag = aws
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key(IV),
            Aad::from(&frame[..]),
            &mut [],
        )
        .expect("gmac");
    g.bench_with_input(BenchmarkId::new("aws-lc-rs", FRAME), &FRAME, |b, _| {
        b.iter(|| {
            let n = Nonce::assume_unique_for_key(IV);
            let r = aws.open_in_place_separate_tag(n, Aad::from(&frame[..]), tag.as_ref(), &mut []);
            assert!(r.is_ok());
        })
    });
    g.finish();
}

/// `n` independent SV-2 CMAC-128 streams (VC 0..n) on `n` threads, one frame each.
fn bench_streams(c: &mut Criterion, n: usize) {
    let suite = CipherSuite::Aes128Cmac;
    let cfg = config(SecurityVariant::FullIntegrity, suite, TagMode::PerFrame);
    let vcs: Vec<VirtualChannel> = (0..n as u8)
        .map(|v| VirtualChannel::new(v).expect("vc"))
        .collect();
    let frames: Vec<Vec<Vec<u8>>> = vcs
        .iter()
        .map(|&v| {
            let mut f = vec![short_on(v, DataType::FS)];
            f.extend(std::iter::repeat_n(line_on(v, LINE), LINES));
            f.push(short_on(v, DataType::FE));
            f
        })
        .collect();
    let bytes = (n * FRAME) as u64;
    let key = cmac::Key::new(cmac::AES_128, &[0x42; 16]).expect("aws cmac key");
    let data = pattern(LINE);

    let mut g = group(c, &format!("fsed-sv2-cmac128-protect-{n}streams"));
    g.throughput(Throughput::Bytes(bytes));
    let mut txs: Vec<Transmitter> = vcs.iter().map(|&v| tx_on(v, cfg, suite)).collect();
    let mut work = frames.clone();
    g.bench_with_input(BenchmarkId::new("cse-fsed", FRAME), &FRAME, |b, _| {
        b.iter(|| {
            std::thread::scope(|s| {
                for (t, f) in txs.iter_mut().zip(work.iter_mut()) {
                    s.spawn(move || {
                        let mut out = vec![0u8; MAX_INSERTED_LEN];
                        for p in f.iter_mut() {
                            let _ = black_box(t.protect(p, &mut out).expect("protect"));
                        }
                    });
                }
            })
        })
    });
    g.bench_with_input(BenchmarkId::new("aws-lc-rs-cmac", FRAME), &FRAME, |b, _| {
        b.iter(|| {
            std::thread::scope(|s| {
                for _ in 0..n {
                    s.spawn(|| {
                        for _ in 0..LINES {
                            black_box(cmac::sign(&key, black_box(&data)).expect("cmac"));
                        }
                    });
                }
            })
        })
    });
    g.finish();

    let mut g = group(c, &format!("fsed-sv2-cmac128-verify-{n}streams"));
    g.throughput(Throughput::Bytes(bytes));
    let streams: Vec<Vec<Vec<u8>>> = vcs
        .iter()
        .zip(&frames)
        .map(|(&v, f)| protect_all(&mut tx_on(v, cfg, suite), f))
        .collect();
    g.bench_with_input(BenchmarkId::new("cse-fsed", FRAME), &FRAME, |b, _| {
        b.iter_batched_ref(
            || -> Vec<Receiver> { vcs.iter().map(|&v| rx_on(v, suite)).collect() },
            |rxs| {
                std::thread::scope(|s| {
                    for (r, f) in rxs.iter_mut().zip(&streams) {
                        s.spawn(move || {
                            for p in f {
                                let _ = black_box(r.receive(p, 0).expect("verify"));
                            }
                        });
                    }
                })
            },
            BatchSize::SmallInput,
        )
    });
    let mac = cmac::sign(&key, &data).expect("cmac");
    g.bench_with_input(BenchmarkId::new("aws-lc-rs-cmac", FRAME), &FRAME, |b, _| {
        b.iter(|| {
            std::thread::scope(|s| {
                for _ in 0..n {
                    s.spawn(|| {
                        for _ in 0..LINES {
                            assert!(cmac::verify(&key, black_box(&data), mac.as_ref()).is_ok());
                        }
                    });
                }
            })
        })
    });
    g.finish();
}

fn sv2_cmac128_streams(c: &mut Criterion) {
    for n in [1, 2] {
        bench_streams(c, n);
    }
}

criterion_group!(
    benches,
    sv1_gcm256,
    sv2_gmac256,
    sv2_cmac128,
    sv2_cmac128_streams,
    sv3_stride4,
    frame_gmac
);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    let groups: Vec<String> = [
        "sv1-gcm256",
        "sv2-gmac256",
        "sv2-cmac128",
        "sv3-stride4-gmac256",
        "frame-gmac256",
    ]
    .iter()
    .flat_map(|n| [format!("fsed-{n}-protect"), format!("fsed-{n}-verify")])
    .collect();
    let pairs: Vec<(&str, &str)> = groups.iter().map(|g| (g.as_str(), "aws-lc-rs")).collect();
    cse_benches::print_ratios_for("cse-fsed", &pairs);
    let streams: Vec<String> = ["protect", "verify"]
        .iter()
        .flat_map(|op| [1, 2].map(|n| format!("fsed-sv2-cmac128-{op}-{n}streams")))
        .collect();
    let pairs: Vec<(&str, &str)> = streams
        .iter()
        .map(|g| (g.as_str(), "aws-lc-rs-cmac"))
        .collect();
    cse_benches::print_ratios_for("cse-fsed", &pairs);
}
