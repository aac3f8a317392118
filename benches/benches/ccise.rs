//! The `ccise` bench: one protected CCI transaction, sealed by the controller and opened by the
//! target (writes), or request sealed, opened, response sealed and opened (reads), for 1, 4 and
//! 32 data bytes. The project's bar: a round trip stays under 1 microsecond.
//!
//! References in the same group: the MACs a minimal implementation without CCISE framing would
//! compute for the same exchange, over the bare on-wire bytes (`reg ‖ data ‖ counter` for a
//! write; request `reg ‖ len ‖ counter`, response `data ‖ counter` for a read), each tagged
//! and verified once: `aws-lc-rs` CMAC (`sign` + `verify`) and RustCrypto `cmac`.
use std::hint::black_box;
use std::time::Duration;

use ccise::wire::MAX_FRAME_LEN;
use ccise::{Config, Controller, SessionKeys, SimSensor, Target};
use cmac::{KeyInit, Mac};
use criterion::{BenchmarkGroup, BenchmarkId, Criterion, Throughput, measurement::WallTime};
use cse_core::CipherSuite;
use cse_core::crypto::SuiteKey;
use cse_core::keys::{Salt, SecretKey};

const SIZES: [usize; 3] = [1, 4, 32];
const K: [u8; 16] = [0x42; 16];

fn group<'a>(c: &'a mut Criterion, name: &str) -> BenchmarkGroup<'a, WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(20)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1));
    g
}

fn keys() -> SessionKeys {
    let k = |b| SuiteKey::new(CipherSuite::Aes128Cmac, &SecretKey::aes128([b; 16]), None);
    SessionKeys::new(k(1).expect("key"), k(2).expect("key"), Salt::new([3; 12])).expect("keys")
}

fn pair() -> (Controller, Target) {
    let cfg = Config::new(0x36);
    (
        Controller::new(cfg, keys()).expect("controller"),
        Target::new(cfg, keys()).expect("target"),
    )
}

fn aws_key() -> aws_lc_rs::cmac::Key {
    aws_lc_rs::cmac::Key::new(aws_lc_rs::cmac::AES_128, &K).expect("aws-lc key")
}

fn aws_round_trip(key: &aws_lc_rs::cmac::Key, msg: &[u8]) {
    let tag = aws_lc_rs::cmac::sign(key, msg).expect("sign");
    aws_lc_rs::cmac::verify(key, msg, tag.as_ref()).expect("verify");
}

fn rc_round_trip(key: &cmac::Cmac<aes::Aes128>, msg: &[u8]) {
    let mut m = key.clone();
    m.update(msg);
    let tag = m.finalize().into_bytes();
    let mut v = key.clone();
    v.update(msg);
    v.verify(&tag).expect("verify");
}

fn write_round_trip(c: &mut Criterion) {
    let aws = aws_key();
    let rc = <cmac::Cmac<aes::Aes128> as KeyInit>::new_from_slice(&K).expect("key");
    let mut g = group(c, "ccise_write_round_trip");
    for size in SIZES {
        let data = vec![0x5A; size];
        g.throughput(Throughput::Bytes(size as u64));
        let (mut ctrl, mut tgt) = pair();
        let mut map = SimSensor::demo();
        let mut frame = [0u8; MAX_FRAME_LEN];
        g.bench_with_input(BenchmarkId::new("ccise", size), &size, |b, _| {
            b.iter(|| {
                let s = ctrl.seal_write(0x0100, &data, &mut frame).expect("seal");
                black_box(tgt.handle_write(&frame[..s.len], &mut map).expect("open"))
            })
        });
        let bare = vec![0x5A; 2 + size + 4];
        g.bench_with_input(BenchmarkId::new("aws-lc-rs", size), &size, |b, _| {
            b.iter(|| aws_round_trip(&aws, black_box(&bare)))
        });
        g.bench_with_input(BenchmarkId::new("rustcrypto-cmac", size), &size, |b, _| {
            b.iter(|| rc_round_trip(&rc, black_box(&bare)))
        });
    }
    g.finish();
}

fn read_round_trip(c: &mut Criterion) {
    let aws = aws_key();
    let rc = <cmac::Cmac<aes::Aes128> as KeyInit>::new_from_slice(&K).expect("key");
    let mut g = group(c, "ccise_read_round_trip");
    for size in SIZES {
        g.throughput(Throughput::Bytes(size as u64));
        let (mut ctrl, mut tgt) = pair();
        let mut map = SimSensor::demo();
        let mut req = [0u8; MAX_FRAME_LEN];
        let mut resp = [0u8; MAX_FRAME_LEN];
        let mut out = vec![0u8; size];
        g.bench_with_input(BenchmarkId::new("ccise", size), &size, |b, _| {
            b.iter(|| {
                let (p, s) = ctrl
                    .seal_read_request(0x0100, size as u8, &mut req)
                    .expect("seal request");
                let a = tgt
                    .handle_read(&req[..s.len], &mut map, &mut resp)
                    .expect("open request");
                black_box(
                    ctrl.open_read_response(p, &resp[..a.response_len], &mut out)
                        .expect("open response"),
                )
            })
        });
        let request = [0x5Au8; 7];
        let response = vec![0x5A; size + 4];
        g.bench_with_input(BenchmarkId::new("aws-lc-rs", size), &size, |b, _| {
            b.iter(|| {
                aws_round_trip(&aws, black_box(&request));
                aws_round_trip(&aws, black_box(&response));
            })
        });
        g.bench_with_input(BenchmarkId::new("rustcrypto-cmac", size), &size, |b, _| {
            b.iter(|| {
                rc_round_trip(&rc, black_box(&request));
                rc_round_trip(&rc, black_box(&response));
            })
        });
    }
    g.finish();
}

criterion::criterion_group!(benches, write_round_trip, read_round_trip);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    cse_benches::print_ratios_for(
        "ccise",
        &[
            ("ccise_write_round_trip", "aws-lc-rs"),
            ("ccise_read_round_trip", "aws-lc-rs"),
            ("ccise_write_round_trip", "rustcrypto-cmac"),
            ("ccise_read_round_trip", "rustcrypto-cmac"),
        ],
    );
}
