//! The `sep` bench: SEP protect and verify against raw AES-256-GCM of the same bytes.
//!
//! Groups `sep-<variant>-<op>` for SV-1 (AES-256-GCM), SV-2 (AES-256-GMAC, AES-128-CMAC) and
//! SV-3 (stride 4, AES-256-GMAC), per-message tags, 16 bytes. Sizes: one 5760-byte and one
//! 11520-byte RAW12 line, and a whole 3840x2160 RAW12 frame (2160 lines of 5760 bytes,
//! 12 441 600 bytes, FS and FE included). `cse-sep` runs the transmitter (`protect`: original
//! packet in, SEP packet out) or the receiver (`verify`: SEP packet in, verified original out);
//! `aws-lc-rs` does the same cryptographic work on the same payload bytes, one call per line,
//! with a 48-byte AAD (the size of SEP's context, header and prefix): for the SV-1 groups an
//! AES-256-GCM seal (or open) of the payload in place; for the GMAC groups (SV-2 GMAC, SV-3)
//! an AES-256-GMAC of AAD and payload (GCM with the payload in the AAD and nothing to
//! encrypt), so that the ratio compares MAC with MAC; the SV-2 CMAC groups keep the AES-GCM
//! reference and add the CMAC one below.
//!
//! Protect at a line size protects one line per iteration inside an open frame; verify at a
//! line size receives 16 lines of one frame per iteration (a fresh receiver that has taken
//! the frame's FS, set up outside the timed region), and the references run 16 lines too.
//! The references read the bytes the path reads: where `cse-sep` protects one line buffer over
//! and over (a line size, a batch) they keep one line too; where it reads distinct packets
//! (every verify row, the frame rows) each of their lines has its own buffer, so neither side
//! is measured on data kept hot in L1 while the other streams it from memory.
//!
//! SV-2 CMAC-128 groups also measure the batch path and a CMAC reference:
//! - size 92 160 (16 lines of 5760 bytes, one `BATCH_LINES` chunk, inside an open frame):
//!   `cse-sep` is 16 single calls, `cse-sep-batch` one `protect_batch` / `receive_batch`;
//! - the frame size: `cse-sep-batch` takes the frame in batches of 16 packets;
//! - `aws-lc-rs-cmac`: AES-128-CMAC of the same payload bytes, one `cmac::sign` (or
//!   `cmac::verify`) per line, at every size;
//! - groups `sep-sv2-cmac128-<op>-<n>streams` (n = 1, 2): n independent streams (VC 0..n, one
//!   transmitter or receiver each) on n threads, one frame each per iteration; the throughput
//!   counts the bytes of all streams; the reference runs n threads of per-line CMACs.
use std::hint::black_box;
use std::time::Duration;

use criterion::{
    BatchSize, BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group,
    measurement::WallTime,
};
use cse_benches::link::{FRAME, LINE, LINES, config, line, line_on, material, short, short_on, vc};
use cse_benches::pattern;
use cse_benches::reference::{Aws, distinct_lines, gmac_input};
use cse_core::csi2::{DataType, VirtualChannel};
use cse_core::{CipherSuite, FrameConfig, KeyId, Policy, SecurityVariant, TagMode};
use cse_sep::{BATCH_LINES, Delivery, Receiver, Settings, Transmitter};

/// Payload bytes of one batch: `BATCH_LINES` lines.
const BATCH: usize = BATCH_LINES * LINE;

/// Lines received per iteration at the line sizes of the verify groups.
const VERIFY_LINES: usize = 16;

fn group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_millis(1000));
    g
}

fn tx_on(vc: VirtualChannel, cfg: FrameConfig, suite: CipherSuite) -> Transmitter {
    let mut t = Transmitter::new(Settings::new(vc), 1);
    t.install_key(KeyId::default(), material(suite))
        .expect("key");
    t.set_config(cfg).expect("config");
    t
}

fn tx(cfg: FrameConfig, suite: CipherSuite) -> Transmitter {
    tx_on(vc(), cfg, suite)
}

fn rx_on(vc: VirtualChannel, suite: CipherSuite) -> Receiver {
    let mut r = Receiver::new(Settings::new(vc), Policy::PERMISSIVE, u64::MAX);
    r.install_key(KeyId::default(), material(suite))
        .expect("key");
    r
}

fn rx(suite: CipherSuite) -> Receiver {
    rx_on(vc(), suite)
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

fn frame_packets_on(vc: VirtualChannel) -> Vec<Vec<u8>> {
    let l = line_on(vc, LINE);
    let mut v = vec![short_on(vc, DataType::FS)];
    v.extend(std::iter::repeat_n(l, LINES));
    v.push(short_on(vc, DataType::FE));
    v
}

fn frame_packets() -> Vec<Vec<u8>> {
    frame_packets_on(vc())
}

/// Output buffers for one batch.
fn batch_bufs(len: usize) -> Vec<Vec<u8>> {
    vec![vec![0u8; len]; BATCH_LINES]
}

/// Protects `packets` through `protect_batch`, `BATCH_LINES` at a time, into `bufs`.
fn protect_batched(t: &mut Transmitter, packets: &[&[u8]], bufs: &mut [Vec<u8>]) {
    let mut outs: Vec<&mut [u8]> = bufs.iter_mut().map(Vec::as_mut_slice).collect();
    for chunk in packets.chunks(BATCH_LINES) {
        t.protect_batch(chunk, &mut outs[..chunk.len()], |_, r| {
            let _ = black_box(r.expect("protect"));
        })
        .expect("batch");
    }
}

/// Verifies `seps` through `receive_batch`, `BATCH_LINES` at a time, into `bufs`.
fn receive_batched(r: &mut Receiver, seps: &[&[u8]], bufs: &mut [Vec<u8>]) {
    let mut outs: Vec<&mut [u8]> = bufs.iter_mut().map(Vec::as_mut_slice).collect();
    for chunk in seps.chunks(BATCH_LINES) {
        r.receive_batch(chunk, 0, &mut outs[..chunk.len()], |_, d| {
            assert!(matches!(d, Ok(Delivery::Verified(_))));
        })
        .expect("batch");
    }
}

/// The payload unit and repetitions of the references at `size`.
fn unit_reps(size: usize) -> (usize, usize) {
    if size <= 2 * LINE {
        (size, 1)
    } else {
        (LINE, size / LINE)
    }
}

fn bench_variant(
    c: &mut Criterion,
    name: &str,
    sv: SecurityVariant,
    suite: CipherSuite,
    batch: bool,
) {
    let cfg = config(sv, suite, TagMode::PerMessage);
    let aws = Aws::new();
    let gmac = suite == CipherSuite::Aes256Gmac;
    let sizes: &[usize] = if batch {
        &[LINE, 2 * LINE, BATCH, FRAME]
    } else {
        &[LINE, 2 * LINE, FRAME]
    };

    let mut g = group(c, &format!("sep-{name}-protect"));
    for &size in sizes {
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
            if batch {
                let refs: Vec<&[u8]> = packets.iter().map(Vec::as_slice).collect();
                let mut t = tx(cfg, suite);
                let mut bufs = batch_bufs(LINE + 256);
                g.bench_with_input(BenchmarkId::new("cse-sep-batch", size), &size, |b, _| {
                    b.iter(|| protect_batched(&mut t, &refs, &mut bufs))
                });
            }
        } else if size == BATCH {
            let l = line(LINE);
            let refs: Vec<&[u8]> = vec![&l; BATCH_LINES];
            let mut t = tx(cfg, suite);
            let mut out = vec![0u8; LINE + 256];
            let _ = t.protect(&short(DataType::FS), &mut out).expect("fs");
            g.bench_with_input(BenchmarkId::new("cse-sep", size), &size, |b, _| {
                b.iter(|| {
                    for p in &refs {
                        let _ = black_box(t.protect(p, &mut out).expect("protect"));
                    }
                })
            });
            let mut t = tx(cfg, suite);
            let _ = t.protect(&short(DataType::FS), &mut out).expect("fs");
            let mut bufs = batch_bufs(LINE + 256);
            g.bench_with_input(BenchmarkId::new("cse-sep-batch", size), &size, |b, _| {
                b.iter(|| protect_batched(&mut t, &refs, &mut bufs))
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
        // The references read what `cse-sep` reads: at a line size and in a batch one line
        // kept hot (the path protects one line buffer over and over), in a frame each line
        // from its own buffer.
        let (unit, reps) = unit_reps(size);
        let mut lines = if size == FRAME {
            distinct_lines(&pattern(unit), reps)
        } else {
            vec![pattern(unit)]
        };
        let times = if size == FRAME { 1 } else { reps };
        if gmac {
            // AES-256-GMAC: the context-sized AAD and the payload authenticated, nothing
            // encrypted.
            let msgs: Vec<Vec<u8>> = lines.iter().map(|l| gmac_input(l)).collect();
            g.bench_with_input(BenchmarkId::new("aws-lc-rs", size), &size, |b, _| {
                b.iter(|| (0..times).for_each(|_| msgs.iter().for_each(|m| aws.gmac(m))))
            });
        } else {
            g.bench_with_input(BenchmarkId::new("aws-lc-rs", size), &size, |b, _| {
                b.iter(|| {
                    (0..times).for_each(|_| lines.iter_mut().for_each(|l| aws.seal(l)));
                })
            });
        }
        if batch {
            g.bench_with_input(BenchmarkId::new("aws-lc-rs-cmac", size), &size, |b, _| {
                b.iter(|| (0..times).for_each(|_| lines.iter().for_each(|l| aws.cmac(l))))
            });
        }
    }
    g.finish();

    let mut g = group(c, &format!("sep-{name}-verify"));
    for &size in sizes {
        // Line sizes: `VERIFY_LINES` lines of one open frame per iteration (the receiver stays
        // warm, as in a stream); the references do as many lines.
        let per_iter = if size <= 2 * LINE { VERIFY_LINES } else { 1 };
        g.throughput(Throughput::Bytes((size * per_iter) as u64));
        let mut t = tx(cfg, suite);
        let seps = if size == FRAME {
            protect_all(&mut t, &frame_packets())
        } else if size == BATCH {
            let mut v = vec![short(DataType::FS)];
            v.extend(std::iter::repeat_n(line(LINE), BATCH_LINES));
            protect_all(&mut t, &v)
        } else {
            let mut v = vec![short(DataType::FS)];
            v.extend(std::iter::repeat_n(line(size), VERIFY_LINES));
            protect_all(&mut t, &v)
        };
        let whole = size == FRAME;
        let fresh = || {
            let mut r = rx(suite);
            if !whole {
                let mut o = vec![0u8; 64];
                let _ = r.receive(&seps[0], 0, &mut o).expect("fs");
            }
            r
        };
        let start = usize::from(!whole);
        let mut out = vec![0u8; size.min(2 * LINE) + 64];
        g.bench_with_input(BenchmarkId::new("cse-sep", size), &size, |b, _| {
            // By reference: the timed region is the receiving, not moving the receiver.
            b.iter_batched_ref(
                fresh,
                |r| {
                    for s in &seps[start..] {
                        let d = r.receive(s, 0, &mut out).expect("verify");
                        assert!(matches!(d, Delivery::Verified(_)));
                    }
                },
                BatchSize::SmallInput,
            )
        });
        if batch && size > 2 * LINE {
            let refs: Vec<&[u8]> = seps[start..].iter().map(Vec::as_slice).collect();
            let mut bufs = batch_bufs(LINE + 64);
            g.bench_with_input(BenchmarkId::new("cse-sep-batch", size), &size, |b, _| {
                b.iter_batched_ref(
                    fresh,
                    |r| receive_batched(r, &refs, &mut bufs),
                    BatchSize::SmallInput,
                )
            });
        }
        // The references read as many distinct lines as `cse-sep` receives, each line from its
        // own buffer.
        let (unit, reps) = unit_reps(size);
        let reps = reps * per_iter;
        if gmac {
            let msgs = distinct_lines(&gmac_input(&pattern(unit)), reps);
            let tag = aws.gmac_tag(&msgs[0]);
            g.bench_with_input(BenchmarkId::new("aws-lc-rs", size), &size, |b, _| {
                b.iter(|| msgs.iter().for_each(|m| aws.gmac_verify(m, &tag)))
            });
        } else {
            let (ct, tag) = aws.sealed(&pattern(unit));
            let all: Vec<u8> = ct.iter().copied().cycle().take(unit * reps).collect();
            g.bench_with_input(BenchmarkId::new("aws-lc-rs", size), &size, |b, _| {
                b.iter_batched_ref(
                    || all.clone(),
                    |buf| buf.chunks_mut(unit).for_each(|l| aws.open(l, &tag)),
                    BatchSize::LargeInput,
                )
            });
        }
        if batch {
            let data = distinct_lines(&pattern(unit), reps);
            let mac = aws.cmac_tag(&data[0]);
            g.bench_with_input(BenchmarkId::new("aws-lc-rs-cmac", size), &size, |b, _| {
                b.iter(|| data.iter().for_each(|l| aws.cmac_verify(l, &mac)))
            });
        }
    }
    g.finish();
}

/// `n` independent SV-2 CMAC-128 streams (VC 0..n) on `n` threads, one frame each.
fn bench_streams(c: &mut Criterion, n: usize) {
    let suite = CipherSuite::Aes128Cmac;
    let cfg = config(SecurityVariant::FullIntegrity, suite, TagMode::PerMessage);
    let vcs: Vec<VirtualChannel> = (0..n as u8)
        .map(|v| VirtualChannel::new(v).expect("vc"))
        .collect();
    let frames: Vec<Vec<Vec<u8>>> = vcs.iter().map(|&v| frame_packets_on(v)).collect();
    let refs: Vec<Vec<&[u8]>> = frames
        .iter()
        .map(|f| f.iter().map(Vec::as_slice).collect())
        .collect();
    let bytes = (n * FRAME) as u64;
    let aws = Aws::new();
    let data = pattern(LINE);
    // The reference's frames: one per thread, each line its own buffer (as the streams').
    let ref_frames = vec![distinct_lines(&data, LINES); n];

    let mut g = group(c, &format!("sep-sv2-cmac128-protect-{n}streams"));
    g.throughput(Throughput::Bytes(bytes));
    let mut txs: Vec<Transmitter> = vcs.iter().map(|&v| tx_on(v, cfg, suite)).collect();
    g.bench_with_input(BenchmarkId::new("cse-sep", FRAME), &FRAME, |b, _| {
        b.iter(|| {
            std::thread::scope(|s| {
                for (t, f) in txs.iter_mut().zip(&frames) {
                    s.spawn(move || {
                        let mut out = vec![0u8; LINE + 256];
                        for p in f {
                            let _ = black_box(t.protect(p, &mut out).expect("protect"));
                        }
                    });
                }
            })
        })
    });
    let mut txs: Vec<Transmitter> = vcs.iter().map(|&v| tx_on(v, cfg, suite)).collect();
    g.bench_with_input(BenchmarkId::new("cse-sep-batch", FRAME), &FRAME, |b, _| {
        b.iter(|| {
            std::thread::scope(|s| {
                for (t, f) in txs.iter_mut().zip(&refs) {
                    s.spawn(move || protect_batched(t, f, &mut batch_bufs(LINE + 256)));
                }
            })
        })
    });
    g.bench_with_input(BenchmarkId::new("aws-lc-rs-cmac", FRAME), &FRAME, |b, _| {
        b.iter(|| aws.cmac_threads(&ref_frames))
    });
    g.finish();

    let mut g = group(c, &format!("sep-sv2-cmac128-verify-{n}streams"));
    g.throughput(Throughput::Bytes(bytes));
    let seps: Vec<Vec<Vec<u8>>> = vcs
        .iter()
        .zip(&frames)
        .map(|(&v, f)| protect_all(&mut tx_on(v, cfg, suite), f))
        .collect();
    let sep_refs: Vec<Vec<&[u8]>> = seps
        .iter()
        .map(|f| f.iter().map(Vec::as_slice).collect())
        .collect();
    let fresh = || -> Vec<Receiver> { vcs.iter().map(|&v| rx_on(v, suite)).collect() };
    g.bench_with_input(BenchmarkId::new("cse-sep", FRAME), &FRAME, |b, _| {
        b.iter_batched_ref(
            fresh,
            |rxs| {
                std::thread::scope(|s| {
                    for (r, f) in rxs.iter_mut().zip(&seps) {
                        s.spawn(move || {
                            let mut out = vec![0u8; LINE + 64];
                            for p in f {
                                let d = r.receive(p, 0, &mut out).expect("verify");
                                assert!(matches!(d, Delivery::Verified(_)));
                            }
                        });
                    }
                })
            },
            BatchSize::SmallInput,
        )
    });
    g.bench_with_input(BenchmarkId::new("cse-sep-batch", FRAME), &FRAME, |b, _| {
        b.iter_batched_ref(
            fresh,
            |rxs| {
                std::thread::scope(|s| {
                    for (r, f) in rxs.iter_mut().zip(&sep_refs) {
                        s.spawn(move || receive_batched(r, f, &mut batch_bufs(LINE + 64)));
                    }
                })
            },
            BatchSize::SmallInput,
        )
    });
    let mac = aws.cmac_tag(&data);
    g.bench_with_input(BenchmarkId::new("aws-lc-rs-cmac", FRAME), &FRAME, |b, _| {
        b.iter(|| aws.cmac_verify_threads(&ref_frames, &mac))
    });
    g.finish();
}

fn sv1_gcm256(c: &mut Criterion) {
    bench_variant(
        c,
        "sv1-gcm256",
        SecurityVariant::FullIntegrityEncrypted,
        CipherSuite::Aes256Gcm,
        false,
    );
}

fn sv2_gmac256(c: &mut Criterion) {
    bench_variant(
        c,
        "sv2-gmac256",
        SecurityVariant::FullIntegrity,
        CipherSuite::Aes256Gmac,
        false,
    );
}

fn sv2_cmac128(c: &mut Criterion) {
    bench_variant(
        c,
        "sv2-cmac128",
        SecurityVariant::FullIntegrity,
        CipherSuite::Aes128Cmac,
        true,
    );
}

fn sv2_cmac128_streams(c: &mut Criterion) {
    for n in [1, 2] {
        bench_streams(c, n);
    }
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
        false,
    );
}

criterion_group!(
    benches,
    sv1_gcm256,
    sv2_gmac256,
    sv2_cmac128,
    sv2_cmac128_streams,
    sv3_stride4
);

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
    // The CMAC groups against the serial AES-128-CMAC reference, single and batch paths.
    let cmac_groups: Vec<String> = ["protect", "verify"]
        .iter()
        .flat_map(|op| {
            [
                format!("sep-sv2-cmac128-{op}"),
                format!("sep-sv2-cmac128-{op}-1streams"),
                format!("sep-sv2-cmac128-{op}-2streams"),
            ]
        })
        .collect();
    let pairs: Vec<(&str, &str)> = cmac_groups
        .iter()
        .map(|g| (g.as_str(), "aws-lc-rs-cmac"))
        .collect();
    cse_benches::print_ratios_for("cse-sep", &pairs);
    cse_benches::print_ratios_for("cse-sep-batch", &pairs);
}
