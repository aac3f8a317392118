//! The `fsed` bench: FSED protect and verify against raw `aws-lc-rs` AES-256-GCM / GMAC (and
//! AES-128-CMAC) of the same bytes. The references are `cse_benches::reference`, shared with the
//! `sep` bench.
//!
//! Groups `fsed-<variant>-<op>` for SV-1 (AES-256-GCM), SV-2 (AES-256-GMAC, AES-128-CMAC) and
//! SV-3 (stride 4, AES-256-GMAC), per-frame tags, 16 bytes (the suites of the `sep` bench).
//! Two kinds of rows, each timing whole frames so that the per-frame work (FS, frame header
//! with its key expansion, tag record, FE) is paid the way a real stream pays it:
//!
//! - `16x5760`, `16x11520`: a frame of 16 RAW12 lines of 5760 (11520) bytes; the throughput
//!   counts the 16 lines' payload bytes only.
//! - `12441600`: a whole 3840x2160 RAW12 frame (2160 lines of 5760 bytes), throughput its
//!   payload bytes.
//!
//! What is timed:
//!
//! - `cse-fsed` `protect`: the transmitter protecting every packet of the frame in place (FS,
//!   frame header written, each line MACed, under SV-1 encrypted first, tag record written at
//!   FE). The same transmitter runs frame after frame (the frame counter moves on).
//! - `cse-fsed` `verify`: a fresh receiver (made outside the timed region, key installed) takes
//!   the whole protected stream of the frame (FS, frame header, lines, tag record, FE), each
//!   packet checked (CRC-16, CRC-32 of FSED packets) and MACed as it arrives; under SV-1 every
//!   line is then decrypted in place with [`Receiver::decrypt`] once the tag record verified.
//!   The stream is a fresh copy per iteration (made in the setup, outside the timed region),
//!   and nothing is allocated in the timed region.
//! - `aws-lc-rs`, SV-1 groups and the CMAC groups: one AES-256-GCM seal (or open) per line of
//!   the frame, in place, with a 48-byte AAD (about a context block and a header), nothing
//!   else. Every line has its own buffer, as in the FSED rows (not one line kept hot in L1).
//! - `aws-lc-rs-cmac`, CMAC groups: one AES-128-CMAC sign (or verify) per line of the frame,
//!   each line its own buffer.
//! - `aws-lc-rs`, GMAC groups (`sv2-gmac256`, `sv3-stride4-gmac256`): one AES-256-GMAC per line
//!   of the frame (each line its own buffer), that is AES-256-GCM with an empty plaintext and
//!   the 48-byte context ‖ the line's payload as AAD (`seal_in_place_separate_tag`, or
//!   `open_in_place_separate_tag` with the tag).
//!
//! SV-3 stride 4 MACs one line in four, so it can pass its reference. Groups
//! `fsed-frame-gmac256-{protect,verify}` compare the per-frame GMAC over a whole 4K RAW12 frame
//! with one aws-lc-rs AES-256-GMAC call (GCM, frame as AAD) over the same bytes.
//!
//! Groups `fsed-sv2-cmac128-<op>-<n>streams` (n = 1, 2): n independent SV-2 CMAC-128 streams
//! (VC 0..n, per-frame tags, one transmitter or receiver each) on n threads, one 4K frame each
//! per iteration; the throughput counts the bytes of all streams. FSED has no batch path and
//! cannot have one: its tags are per frame or per data type, each one CMAC chain over its whole
//! scope, so there are no independent per-line MACs to run side by side. Its parallelism is
//! across streams. `aws-lc-rs-cmac` runs n threads of one AES-128-CMAC per 5760-byte line over
//! the same number of bytes.
use std::hint::black_box;
use std::time::Duration;

use criterion::{
    BatchSize, BenchmarkGroup, BenchmarkId, Criterion, Throughput, criterion_group,
    measurement::WallTime,
};
use cse_benches::link::{FRAME, LINE, LINES, config, line, line_on, material, short, short_on, vc};
use cse_benches::pattern;
use cse_benches::reference::{Aws, distinct_lines, gmac_input};
use cse_core::csi2::{DataType, HeaderForm, Packets, VirtualChannel};
use cse_core::{CipherSuite, FrameConfig, KeyId, Policy, SecurityVariant, TagMode};
use cse_fsed::tx::MAX_INSERTED_LEN;
use cse_fsed::{DecryptTicket, Delivery, Receiver, Settings, Transmitter};

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

/// Lines per frame of the line-size rows.
const FRAME_LINES: usize = 16;

/// An SV-1 line released unverified: its index in the stream and its decrypt ticket.
type Pending = Vec<(usize, DecryptTicket)>;

/// Receives a whole stream, releasing (and, under SV-1, decrypting in place) every line after
/// its proof. `pending` must have room for every line (no allocation here).
fn verify_stream(r: &mut Receiver, stream: &mut [Vec<u8>], pending: &mut Pending) {
    for i in 0..stream.len() {
        match r.receive(&stream[i], 0).expect("verify") {
            Delivery::Unverified(u) if u.is_encrypted() => {
                pending.push((i, u.decrypt_ticket()));
            }
            Delivery::ScopeVerified(proof) => {
                for (j, ticket) in pending.drain(..) {
                    r.decrypt(&proof, &ticket, &mut stream[j]).expect("decrypt");
                }
            }
            _ => {}
        }
    }
    assert!(pending.is_empty());
    black_box(stream);
}

/// The `aws-lc-rs` reference of a group.
#[derive(Clone, Copy)]
enum Reference {
    /// AES-256-GCM seal / open of each line in place, 48-byte AAD.
    Gcm,
    /// AES-256-GMAC of each line: empty plaintext, AAD = 48-byte context ‖ payload.
    Gmac,
    /// [`Reference::Gcm`], and `aws-lc-rs-cmac`: AES-128-CMAC of each line (its own buffer).
    GcmCmac,
}

/// The rows of a group: (benchmark id, lines per frame, bytes per line).
fn rows() -> [(String, usize, usize); 3] {
    [
        (format!("{FRAME_LINES}x{LINE}"), FRAME_LINES, LINE),
        (format!("{FRAME_LINES}x{}", 2 * LINE), FRAME_LINES, 2 * LINE),
        (FRAME.to_string(), LINES, LINE),
    ]
}

fn bench_variant(
    c: &mut Criterion,
    name: &str,
    sv: SecurityVariant,
    suite: CipherSuite,
    reference: Reference,
) {
    let cfg = config(sv, suite, TagMode::PerFrame);
    let aws = Aws::new();

    let mut g = group(c, &format!("fsed-{name}-protect"));
    for (id, lines, len) in rows() {
        g.throughput(Throughput::Bytes((lines * len) as u64));
        let mut t = tx(cfg, suite);
        let mut out = vec![0u8; MAX_INSERTED_LEN];
        let mut packets = frame_packets(lines, len);
        g.bench_function(BenchmarkId::new("cse-fsed", &id), |b| {
            b.iter(|| {
                for p in packets.iter_mut() {
                    let _ = black_box(t.protect(p, &mut out).expect("protect"));
                }
            })
        });
        match reference {
            Reference::Gcm | Reference::GcmCmac => {
                // The frame's lines, each sealed in place (the same bytes the transmitter
                // touches, not one line kept hot in L1).
                let mut all = pattern(len).repeat(lines);
                g.bench_function(BenchmarkId::new("aws-lc-rs", &id), |b| {
                    b.iter(|| all.chunks_mut(len).for_each(|l| aws.seal(l)))
                });
            }
            Reference::Gmac => {
                let msgs = gmac_inputs(lines, len);
                g.bench_function(BenchmarkId::new("aws-lc-rs", &id), |b| {
                    b.iter(|| msgs.iter().for_each(|m| aws.gmac(m)))
                });
            }
        }
        if matches!(reference, Reference::GcmCmac) {
            let all = pattern(len).repeat(lines);
            g.bench_function(BenchmarkId::new("aws-lc-rs-cmac", &id), |b| {
                b.iter(|| all.chunks(len).for_each(|l| aws.cmac(l)))
            });
        }
    }
    g.finish();

    let mut g = group(c, &format!("fsed-{name}-verify"));
    for (id, lines, len) in rows() {
        g.throughput(Throughput::Bytes((lines * len) as u64));
        let stream = protect_all(&mut tx(cfg, suite), &frame_packets(lines, len));
        g.bench_function(BenchmarkId::new("cse-fsed", &id), |b| {
            b.iter_batched_ref(
                || (rx(suite), stream.clone(), Vec::with_capacity(lines)),
                |(r, s, pending)| verify_stream(r, s, pending),
                BatchSize::LargeInput,
            )
        });
        match reference {
            Reference::Gcm | Reference::GcmCmac => {
                let (ct, tag) = aws.sealed(&pattern(len));
                let all = ct.repeat(lines);
                g.bench_function(BenchmarkId::new("aws-lc-rs", &id), |b| {
                    b.iter_batched_ref(
                        || all.clone(),
                        |buf| buf.chunks_mut(len).for_each(|l| aws.open(l, &tag)),
                        BatchSize::LargeInput,
                    )
                });
            }
            Reference::Gmac => {
                let msgs = gmac_inputs(lines, len);
                let tag = aws.gmac_tag(&msgs[0]);
                g.bench_function(BenchmarkId::new("aws-lc-rs", &id), |b| {
                    b.iter(|| msgs.iter().for_each(|m| aws.gmac_verify(m, &tag)))
                });
            }
        }
        if matches!(reference, Reference::GcmCmac) {
            let data = pattern(len);
            let all = data.repeat(lines);
            let mac = aws.cmac_tag(&data);
            g.bench_function(BenchmarkId::new("aws-lc-rs-cmac", &id), |b| {
                b.iter(|| all.chunks(len).for_each(|l| aws.cmac_verify(l, &mac)))
            });
        }
    }
    g.finish();
}

/// The AADs of the GMAC reference for a frame of `lines` lines of `len` bytes, one buffer per
/// line (the 48-byte context ‖ payload), so the reference reads as many bytes as the receiver.
fn gmac_inputs(lines: usize, len: usize) -> Vec<Vec<u8>> {
    vec![gmac_input(&pattern(len)); lines]
}

fn sv1_gcm256(c: &mut Criterion) {
    bench_variant(
        c,
        "sv1-gcm256",
        SecurityVariant::FullIntegrityEncrypted,
        CipherSuite::Aes256Gcm,
        Reference::Gcm,
    );
}

fn sv2_gmac256(c: &mut Criterion) {
    bench_variant(
        c,
        "sv2-gmac256",
        SecurityVariant::FullIntegrity,
        CipherSuite::Aes256Gmac,
        Reference::Gmac,
    );
}

fn sv2_cmac128(c: &mut Criterion) {
    bench_variant(
        c,
        "sv2-cmac128",
        SecurityVariant::FullIntegrity,
        CipherSuite::Aes128Cmac,
        Reference::GcmCmac,
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
        Reference::Gmac,
    );
}

/// Per-frame GMAC over a whole 4K RAW12 frame against one aws-lc-rs GMAC call over the same
/// bytes (AES-256-GCM with the frame as AAD and no plaintext).
fn frame_gmac(c: &mut Criterion) {
    let suite = CipherSuite::Aes256Gmac;
    let cfg = config(SecurityVariant::FullIntegrity, suite, TagMode::PerFrame);
    let aws = Aws::new();
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
        b.iter(|| aws.gmac(&frame))
    });
    g.finish();
    let mut g = group(c, "fsed-frame-gmac256-verify");
    g.throughput(Throughput::Bytes(FRAME as u64));
    let stream = protect_all(&mut tx(cfg, suite), &packets);
    g.bench_with_input(BenchmarkId::new("cse-fsed", FRAME), &FRAME, |b, _| {
        b.iter_batched_ref(
            || (rx(suite), stream.clone(), Vec::with_capacity(LINES)),
            |(r, s, pending)| verify_stream(r, s, pending),
            BatchSize::LargeInput,
        )
    });
    let tag = aws.gmac_tag(&frame);
    g.bench_with_input(BenchmarkId::new("aws-lc-rs", FRAME), &FRAME, |b, _| {
        b.iter(|| aws.gmac_verify(&frame, &tag))
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
    let aws = Aws::new();
    let data = pattern(LINE);
    // The reference's frames: one per thread, each line its own buffer (as the streams').
    let ref_frames = vec![distinct_lines(&data, LINES); n];

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
        b.iter(|| aws.cmac_threads(&ref_frames))
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
    let mac = aws.cmac_tag(&data);
    g.bench_with_input(BenchmarkId::new("aws-lc-rs-cmac", FRAME), &FRAME, |b, _| {
        b.iter(|| aws.cmac_verify_threads(&ref_frames, &mac))
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
    // The CMAC groups against the serial AES-128-CMAC reference too.
    let streams: Vec<String> = ["protect", "verify"]
        .iter()
        .flat_map(|op| {
            [
                format!("fsed-sv2-cmac128-{op}"),
                format!("fsed-sv2-cmac128-{op}-1streams"),
                format!("fsed-sv2-cmac128-{op}-2streams"),
            ]
        })
        .collect();
    let pairs: Vec<(&str, &str)> = streams
        .iter()
        .map(|g| (g.as_str(), "aws-lc-rs-cmac"))
        .collect();
    cse_benches::print_ratios_for("cse-fsed", &pairs);
}
