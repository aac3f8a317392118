//! CRC-16 and CRC-32 groups of the `engines` bench.
//!
//! Every group holds all implementations of one CRC at the domain sizes: a 64-byte record
//! (an SEP/FSED header or a tag record) and the 5760- and 11520-byte CSI-2 lines (3840 and 7680
//! RAW12 pixels). `cse-core` is the crate's own `crc` module (whatever backend it picked);
//! `crc-table16` is the `crc` crate with slice-by-16 tables (the portable reference),
//! `crc-table1` the same crate with one 256-entry table, `crc32fast` and `crc-fast` the
//! hardware-accelerated crates.
use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput};
use cse_core::crc::{self as cse_crc, Crc32Variant};

const SIZES: [usize; 3] = [64, 5760, 11520];

fn input(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ 0x5A)
        .collect()
}

/// Registers the CRC groups.
// `pub` is the interface `main.rs` registers; the bench binary exports nothing.
#[allow(unreachable_pub)]
pub fn crc_benches(c: &mut Criterion) {
    crc32_group(
        c,
        "crc32-iso-hdlc",
        Crc32Variant::IsoHdlc,
        &crc::CRC_32_ISO_HDLC,
        Some(crc_fast::CrcAlgorithm::Crc32IsoHdlc),
        true,
    );
    crc32_group(
        c,
        "crc32-autosar",
        Crc32Variant::Autosar,
        &crc::CRC_32_AUTOSAR,
        Some(crc_fast::CrcAlgorithm::Crc32Autosar),
        false,
    );
    crc32_group(
        c,
        "crc32-iscsi",
        Crc32Variant::Iscsi,
        &crc::CRC_32_ISCSI,
        Some(crc_fast::CrcAlgorithm::Crc32Iscsi),
        false,
    );
    crc16_group(c);
}

fn crc32_group(
    c: &mut Criterion,
    name: &str,
    variant: Crc32Variant,
    alg: &'static crc::Algorithm<u32>,
    fast: Option<crc_fast::CrcAlgorithm>,
    with_crc32fast: bool,
) {
    let table16 = crc::Crc::<u32, crc::Table<16>>::new(alg);
    let table1 = crc::Crc::<u32, crc::Table<1>>::new(alg);
    let mut g = c.benchmark_group(name);
    for size in SIZES {
        let data = input(size);
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::new("cse-core", size), &data, |b, d| {
            b.iter(|| cse_crc::crc32(variant, black_box(d)))
        });
        g.bench_with_input(BenchmarkId::new("crc-table16", size), &data, |b, d| {
            b.iter(|| table16.checksum(black_box(d)))
        });
        g.bench_with_input(BenchmarkId::new("crc-table1", size), &data, |b, d| {
            b.iter(|| table1.checksum(black_box(d)))
        });
        if with_crc32fast {
            g.bench_with_input(BenchmarkId::new("crc32fast", size), &data, |b, d| {
                b.iter(|| crc32fast::hash(black_box(d)))
            });
        }
        if let Some(fast) = fast {
            g.bench_with_input(BenchmarkId::new("crc-fast", size), &data, |b, d| {
                b.iter(|| crc_fast::checksum(fast, black_box(d)))
            });
        }
    }
    g.finish();
}

fn crc16_group(c: &mut Criterion) {
    let table16 = crc::Crc::<u16, crc::Table<16>>::new(&crc::CRC_16_MCRF4XX);
    let table1 = crc::Crc::<u16, crc::Table<1>>::new(&crc::CRC_16_MCRF4XX);
    let mut g = c.benchmark_group("crc16-mcrf4xx");
    for size in SIZES {
        let data = input(size);
        g.throughput(Throughput::Bytes(size as u64));
        g.bench_with_input(BenchmarkId::new("cse-core", size), &data, |b, d| {
            b.iter(|| cse_crc::crc16_mcrf4xx(black_box(d)))
        });
        g.bench_with_input(BenchmarkId::new("crc-table16", size), &data, |b, d| {
            b.iter(|| table16.checksum(black_box(d)))
        });
        g.bench_with_input(BenchmarkId::new("crc-table1", size), &data, |b, d| {
            b.iter(|| table1.checksum(black_box(d)))
        });
        g.bench_with_input(BenchmarkId::new("crc-fast", size), &data, |b, d| {
            b.iter(|| crc_fast::checksum(crc_fast::CrcAlgorithm::Crc16Mcrf4xx, black_box(d)))
        });
    }
    g.finish();
}
