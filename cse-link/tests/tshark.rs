//! Wireshark reads our pcapng as written: `tshark` on the capture of a demo run (CCISE writes on
//! I2C, the protected CSI-2 stream, the attacks) must see every frame as an Ethernet frame of
//! EtherType 0x99FE, the same number of frames and the same timestamps, to the nanosecond.
//! Where tshark has the ASAM CMP dissector's CSI-2 and I2C parsers, the decoded data types,
//! virtual channels and I2C addresses must be ours as well.
//!
//! Runs only when `tshark` is on PATH (it prints a note and passes otherwise), unless
//! `CSE_REQUIRE_TSHARK=1`, as `.ci/tshark` sets it after installing tshark.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::process::Command;

use cse_core::{BlockConfig, CipherSuite, FrameConfig, KeyId, SecurityVariant, TagLen, TagMode};
use cse_link::Protocol;
use cse_link::capture::cmp::{self, Payload};
use cse_link::capture::pcapng;
use cse_link::demo::{self, Options};
use cse_link::scene::Scene;

fn tshark(args: &[&str]) -> Option<String> {
    let o = Command::new("tshark").args(args).output().ok()?;
    assert!(
        o.status.success(),
        "tshark {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    Some(String::from_utf8_lossy(&o.stdout).into_owned())
}

fn available() -> bool {
    let found = Command::new("tshark").arg("--version").output().is_ok();
    if !found {
        assert!(
            std::env::var("CSE_REQUIRE_TSHARK").as_deref() != Ok("1"),
            "CSE_REQUIRE_TSHARK=1 but tshark is not on PATH"
        );
        eprintln!("note: tshark is not on PATH; the Wireshark read check is skipped");
    }
    found
}

/// `1796559031.926335311` -> nanoseconds.
fn epoch_ns(s: &str) -> u64 {
    let (sec, frac) = s.split_once('.').unwrap_or((s, ""));
    let mut frac = frac.to_string();
    assert!(frac.len() <= 9, "{s}");
    while frac.len() < 9 {
        frac.push('0');
    }
    sec.parse::<u64>().unwrap() * 1_000_000_000 + frac.parse::<u64>().unwrap()
}

/// A number tshark printed in hex (`0x2c`) or decimal.
fn number(s: &str) -> u64 {
    let s = s.trim();
    match s.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).unwrap(),
        None => s.parse().unwrap(),
    }
}

fn demo_capture() -> Vec<u8> {
    let b = |sv, suite| BlockConfig {
        sv,
        suite,
        tag_len: TagLen::L16,
        tag_mode: TagMode::PerMessage,
    };
    let opts = Options {
        scene: Scene::new(32, 4, demo::default_vc()),
        frames: 2,
        protocol: Protocol::Sep,
        config: FrameConfig {
            top: b(SecurityVariant::FullIntegrity, CipherSuite::Aes256Gmac),
            image: b(
                SecurityVariant::FullIntegrityEncrypted,
                CipherSuite::Aes256Gcm,
            ),
            bottom: b(SecurityVariant::FullIntegrity, CipherSuite::Aes256Gmac),
            key_id: KeyId::default(),
        },
    };
    let (report, rec) = demo::run_recorded(
        &opts,
        &mut |_, _| {},
        pcapng::Recorder::new(1_700_000_000_123_456_789).unwrap(),
    )
    .unwrap();
    assert!(report.passed());
    rec.finish().unwrap()
}

#[test]
fn tshark_reads_the_demo_capture_as_written() {
    if !available() {
        return;
    }
    let file = demo_capture();
    let ours = pcapng::read(&file).unwrap();
    assert!(ours.stats.i2c > 0 && ours.stats.csi2 > 0);
    assert_eq!(ours.stats.skipped(), 0);
    let path = std::env::temp_dir().join(format!("cse-tshark-{}.pcapng", std::process::id()));
    std::fs::write(&path, &file).unwrap();
    let p = path.to_string_lossy().into_owned();

    let version = tshark(&["--version"]).unwrap_or_default();
    eprintln!("{}", version.lines().next().unwrap_or_default());
    let out = tshark(&[
        "-r",
        &p,
        "-T",
        "fields",
        "-E",
        "separator=,",
        "-e",
        "frame.time_epoch",
        "-e",
        "eth.type",
    ])
    .unwrap();
    let rows: Vec<(u64, u64)> = out
        .lines()
        .map(|l| {
            let (t, e) = l.split_once(',').unwrap();
            // A frame TECMP or ASAM CMP decode may list the EtherType once per layer.
            (epoch_ns(t), number(e.split(',').next().unwrap()))
        })
        .collect();
    assert_eq!(rows.len(), ours.frame_times.len(), "frame count");
    for (i, ((t, ethertype), want)) in rows.iter().zip(&ours.frame_times).enumerate() {
        assert_eq!(*ethertype, u64::from(cmp::ETHERTYPE_CMP), "frame {i}");
        assert_eq!(t, want, "frame {i} timestamp");
    }
    // Our timestamps are the CMP messages' own, one message per frame.
    let mut messages: Vec<u64> = ours
        .csi2_times
        .iter()
        .copied()
        .chain(ours.i2c.iter().map(|r| r.timestamp_ns))
        .collect();
    messages.sort_unstable();
    assert_eq!(messages, ours.frame_times);

    // The decoded CMP payloads, where this tshark has the parsers.
    let fields = tshark(&["-G", "fields"]).unwrap_or_default();
    if !fields.contains("asam-cmp.msg.mipi_csi2.data_type")
        || !fields.contains("asam-cmp.msg.i2c.addr")
    {
        eprintln!(
            "note: this tshark has no ASAM CMP CSI-2/I2C parsers; decoded fields not checked"
        );
        let _ = std::fs::remove_file(&path);
        return;
    }
    let dt = if fields.contains("asam-cmp.msg.mipi_csi2.data_type.data_type") {
        "asam-cmp.msg.mipi_csi2.data_type.data_type"
    } else {
        "asam-cmp.msg.mipi_csi2.data_type"
    };
    let vc = if fields.contains("asam-cmp.msg.mipi_csi2.vci.vci") {
        "asam-cmp.msg.mipi_csi2.vci.vci"
    } else {
        "asam-cmp.msg.mipi_csi2.vci"
    };
    let out = tshark(&[
        "-r",
        &p,
        "-d",
        "ethertype==0x99fe,asam-cmp",
        "-T",
        "fields",
        "-E",
        "separator=;",
        "-e",
        "asam-cmp.msg_hdr.payload_type",
        "-e",
        dt,
        "-e",
        vc,
        "-e",
        "asam-cmp.msg.i2c.addr",
    ])
    .unwrap();
    let decoded: Vec<&str> = out.lines().collect();
    assert_eq!(decoded.len(), ours.frame_times.len());
    // What we wrote, frame by frame, from our own decoder.
    let mut csi2 = Vec::new();
    let mut i2c = Vec::new();
    let mut expect = Vec::new();
    {
        let got = pcapng::read(&file).unwrap();
        let mut ci = 0;
        let mut ii = 0;
        let mut c = cse_link::capture::scan(&got.csi2).into_iter();
        for t in &got.frame_times {
            if got.i2c.get(ii).is_some_and(|r| r.timestamp_ns == *t) {
                expect.push(Payload::I2c(got.i2c[ii].message.clone()));
                ii += 1;
                i2c.push(());
            } else {
                let pkt = c.next().unwrap();
                let m = cmp::Csi2Message::from_dphy(pkt.bytes(&got.csi2), 0, 0).unwrap();
                expect.push(Payload::Csi2(m));
                ci += 1;
                csi2.push(());
            }
        }
        assert_eq!(ci, got.stats.csi2);
    }
    for (i, (line, want)) in decoded.iter().zip(&expect).enumerate() {
        let f: Vec<&str> = line.split(';').collect();
        match want {
            Payload::Csi2(m) => {
                assert_eq!(number(f[0]), u64::from(cmp::PT_CSI2), "frame {i}: {line}");
                assert_eq!(number(f[1]), u64::from(m.data_type), "frame {i}: {line}");
                assert_eq!(number(f[2]) & 3, u64::from(m.vc), "frame {i}: {line}");
            }
            Payload::I2c(m) => {
                assert_eq!(number(f[0]), u64::from(cmp::PT_I2C), "frame {i}: {line}");
                assert_eq!(number(f[3]), u64::from(m.address), "frame {i}: {line}");
            }
            _ => unreachable!(),
        }
    }
    eprintln!(
        "tshark decoded {} CSI-2 and {} I2C messages as written",
        csi2.len(),
        i2c.len()
    );
    let _ = std::fs::remove_file(&path);
}

#[test]
fn tshark_reads_a_segmented_capture_in_standard_frames() {
    if !available() {
        return;
    }
    // A 3840-pixel RAW12 frame (5760-byte lines) recorded for a 1500-byte MTU.
    let mut rec = pcapng::Recorder::new(1_700_000_000_000_000_000).unwrap();
    rec.set_mtu(Some(1500)).unwrap();
    let frame = Scene::new(3840, 2, demo::default_vc()).frame(1).unwrap();
    assert_eq!(rec.csi2(&frame), 0);
    let file = rec.finish().unwrap();
    let ours = pcapng::read(&file).unwrap();
    assert_eq!(ours.csi2, frame);
    assert!(ours.stats.reassembled >= 2);
    let path = std::env::temp_dir().join(format!("cse-tshark-seg-{}.pcapng", std::process::id()));
    std::fs::write(&path, &file).unwrap();
    let out = tshark(&[
        "-r",
        &path.to_string_lossy(),
        "-T",
        "fields",
        "-E",
        "separator=,",
        "-e",
        "frame.len",
        "-e",
        "eth.type",
    ])
    .unwrap();
    let _ = std::fs::remove_file(&path);
    let rows: Vec<(u64, u64)> = out
        .lines()
        .map(|l| {
            let (n, e) = l.split_once(',').unwrap();
            (number(n), number(e.split(',').next().unwrap()))
        })
        .collect();
    assert_eq!(rows.len(), ours.stats.frames);
    assert!(rows.len() > ours.stats.csi2);
    for (i, (len, ethertype)) in rows.iter().enumerate() {
        assert!(*len <= 1514, "frame {i}: {len} bytes");
        assert_eq!(*ethertype, u64::from(cmp::ETHERTYPE_CMP), "frame {i}");
    }
}
