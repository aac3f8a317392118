//! The `engines` bench: AES engines against aws-lc-rs, and the CRCs.
use criterion::{criterion_group, criterion_main};

mod crc;

criterion_group!(benches, crc::crc_benches);
criterion_main!(benches);
