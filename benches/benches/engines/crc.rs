//! CRC-16 and CRC-32 groups of the `engines` bench.
use criterion::Criterion;

/// Registers the CRC groups.
pub fn crc_benches(_c: &mut Criterion) {}
