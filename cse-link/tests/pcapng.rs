//! pcapng captures of ASAM CMP messages: `cse protect` -> `cse verify` round trips through
//! pcapng, captures written by other tools (frames built by hand from the layout in
//! docs/capture.md section 7), and `cse protect`'s refusal to overwrite.
#![allow(clippy::unwrap_used, clippy::indexing_slicing)]

use std::path::PathBuf;
use std::process::{Command, Output};

use cse_core::csi2::VirtualChannel;
use cse_link::capture::cmp::{self, CmpHeader, Csi2Message, I2cMessage, Message, Payload};
use cse_link::capture::pcapng::{self, Recorder};
use cse_link::scene::Scene;

const KEYS: &str = "# test keys\nkey = 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n\
salt = a0a1a2a3a4a5a6a7a8a9aaab\nkey_id = 1\n";

/// Two RAW12 frames with embedded lines (top, image and bottom blocks).
fn plain() -> Vec<u8> {
    let scene = Scene::new(64, 6, VirtualChannel::new(1).unwrap());
    let mut cap = scene.frame(1).unwrap();
    cap.extend(scene.frame(2).unwrap());
    cap
}

struct Dir(PathBuf);

impl Dir {
    fn new(name: &str) -> Dir {
        let d = std::env::temp_dir().join(format!("cse-pcapng-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        Dir(d)
    }

    fn path(&self, f: &str) -> String {
        self.0.join(f).to_string_lossy().into_owned()
    }

    fn write(&self, f: &str, b: &[u8]) -> String {
        let p = self.path(f);
        std::fs::write(&p, b).unwrap();
        p
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn cse(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cse"))
        .args(args)
        .output()
        .unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The test keys, the plain capture and its protection (SEP SV-1, raw format) in `d`:
/// (key file path, plain capture path, protected capture path, protected bytes).
fn protected(d: &Dir) -> (String, String, String, Vec<u8>) {
    let keys = d.write("k.txt", KEYS.as_bytes());
    let inp = d.write("plain.cap", &plain());
    let prot = d.path("p.cap");
    let o = cse(&["protect", "--in", &inp, "--out", &prot, "--keys", &keys]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let bytes = std::fs::read(&prot).unwrap();
    (keys, inp, prot, bytes)
}

#[test]
fn protect_to_pcapng_then_verify_from_pcapng_is_bit_exact() {
    let d = Dir::new("rt");
    let keys = d.write("k.txt", KEYS.as_bytes());
    let plain = plain();
    // The plain input itself as pcapng (the format is recognised from the content).
    let inp = d.write(
        "plain.pcapng",
        &pcapng::write_csi2(&plain, 1_000_000_000).unwrap(),
    );
    for protocol in ["sep", "fsed"] {
        let prot = d.path(&format!("{protocol}.pcapng"));
        let o = cse(&[
            "protect",
            "--in",
            &inp,
            "--out",
            &prot,
            "--keys",
            &keys,
            "--protocol",
            protocol,
        ]);
        assert_eq!(code(&o), 0, "{}", text(&o));
        let file = std::fs::read(&prot).unwrap();
        assert!(pcapng::is_pcapng(&file));
        let read = pcapng::read(&file).unwrap();
        assert_eq!(read.stats.skipped(), 0);
        assert!(read.stats.csi2 > plain.len() / 200);
        // Time stamps start at the input's first one and never go backwards.
        assert_eq!(read.csi2_times.first(), Some(&1_000_000_000));
        assert!(read.csi2_times.windows(2).all(|w| w[0] < w[1]));
        // verify reads the pcapng and writes the recovered packets as pcapng again.
        let back = d.path(&format!("{protocol}-back.pcapng"));
        let o = cse(&["verify", "--in", &prot, "--keys", &keys, "--out", &back]);
        assert_eq!(code(&o), 0, "{}", text(&o));
        assert!(text(&o).contains("PASS"));
        let back = pcapng::read(&std::fs::read(&back).unwrap()).unwrap();
        assert_eq!(back.csi2, plain, "{protocol}: recovered bit-exact");
        // --format raw writes the same packets without pcapng blocks.
        let raw = d.path(&format!("{protocol}-back.raw"));
        let o = cse(&["verify", "--in", &prot, "--keys", &keys, "--out", &raw]);
        assert_eq!(code(&o), 0, "{}", text(&o));
        assert_eq!(std::fs::read(&raw).unwrap(), plain);
        // The same capture raw and as pcapng verify alike; a raw protected file from
        // --format raw is the CSI-2 content of the pcapng.
        let rawprot = d.path(&format!("{protocol}.bin"));
        let o = cse(&[
            "protect",
            "--in",
            &inp,
            "--out",
            &rawprot,
            "--keys",
            &keys,
            "--protocol",
            protocol,
            "--format",
            "raw",
        ]);
        assert_eq!(code(&o), 0, "{}", text(&o));
        assert!(!pcapng::is_pcapng(&std::fs::read(&rawprot).unwrap()));
    }
}

#[test]
fn a_tampered_pcapng_capture_fails_and_names_the_packet() {
    let d = Dir::new("tamper");
    let keys = d.write("k.txt", KEYS.as_bytes());
    let inp = d.write("plain.cap", &plain());
    let prot = d.path("p.pcapng");
    assert_eq!(
        code(&cse(&[
            "protect", "--in", &inp, "--out", &prot, "--keys", &keys
        ])),
        0
    );
    let file = std::fs::read(&prot).unwrap();
    let good = pcapng::read(&file).unwrap();
    // Rebuild the file with one payload byte of the longest CSI-2 message flipped.
    let mut rec = Recorder::new(5).unwrap();
    let packets = cse_link::capture::scan(&good.csi2);
    let longest = packets.iter().map(|p| p.len).max().unwrap();
    let victim = packets.iter().position(|p| p.len == longest).unwrap();
    let mut tampered = good.csi2.clone();
    tampered[packets[victim].offset + 10] ^= 0x01;
    let skipped = rec.csi2(&tampered);
    assert_eq!(skipped, 0);
    let bad = d.write("bad.pcapng", &rec.finish().unwrap());
    let o = cse(&["verify", "--in", &bad, "--keys", &keys]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    assert!(
        text(&o).contains(&format!("packet {victim} ")),
        "{}",
        text(&o)
    );
}

/// An Ethernet frame carrying a CMP header and `messages`, written the way another capture
/// module might: several messages per frame, its own device and stream ids.
fn foreign_frame(message_type: u8, seq: u16, messages: &[Message]) -> Vec<u8> {
    cmp::encode_frame(
        &CmpHeader {
            version: 1,
            device_id: 0x0042,
            message_type,
            stream_id: 7,
            sequence: seq,
        },
        messages,
    )
    .unwrap()
}

#[test]
fn a_capture_written_by_another_tool_verifies_and_skips_what_it_does_not_use() {
    let d = Dir::new("foreign");
    let (keys, _, _, protected) = protected(&d);
    // CSI-2 messages three to a frame, without the ECC and checksum "supported" flags (the
    // reader computes both), each frame followed by a CAN message; an IPv4 frame, a Status
    // frame and an I2C read also appear.
    let mut rec = Recorder::new(0).unwrap();
    let mut msgs = Vec::new();
    let mut ts = 1_700_000_000_000_000_000u64;
    for p in cse_link::capture::scan(&protected) {
        let mut m = Csi2Message::from_dphy(p.bytes(&protected), 0, 0).unwrap();
        m.flags = 0;
        m.ecc = 0;
        m.checksum = 0;
        ts += 1000;
        msgs.push(Message {
            timestamp_ns: ts,
            interface_id: 9,
            flags: cmp::FLAG_INSYNC,
            payload: Payload::Csi2(m),
        });
        if msgs.len() == 3 {
            msgs.push(Message {
                timestamp_ns: ts,
                interface_id: 3,
                flags: 0,
                payload: Payload::Other {
                    payload_type: cmp::PT_CAN,
                    bytes: vec![0, 0, 1, 0x23, 0, 0, 0, 2, 0xAB, 0xCD],
                },
            });
            rec.ethernet(foreign_frame(cmp::MSG_CAPTURE_DATA, 1, &msgs));
            msgs.clear();
        }
    }
    rec.ethernet(foreign_frame(cmp::MSG_CAPTURE_DATA, 2, &msgs));
    let mut ipv4 = vec![0xFF; 12];
    ipv4.extend_from_slice(&[0x08, 0x00]);
    ipv4.resize(60, 0x45);
    rec.ethernet(ipv4);
    rec.ethernet(foreign_frame(0x03, 3, &[]));
    let read = I2cMessage {
        flags: cmp::I2C_READ | cmp::I2C_REPEATED_START | cmp::I2C_STOP,
        address: 0x36,
        entries: vec![0x0012, 0x0134],
    };
    rec.ethernet(foreign_frame(
        cmp::MSG_CAPTURE_DATA,
        4,
        &[Message {
            timestamp_ns: ts + 5,
            interface_id: 4,
            flags: 0,
            payload: Payload::I2c(read.clone()),
        }],
    ));
    let file = rec.finish().unwrap();
    let got = pcapng::read(&file).unwrap();
    assert_eq!(got.csi2, protected, "the CSI-2 stream rebuilt bit-exact");
    assert_eq!(got.i2c.len(), 1);
    assert_eq!(got.i2c[0].message, read);
    assert_eq!(got.i2c[0].message.bytes(), [0x12, 0x34]);
    let s = &got.stats;
    assert_eq!(s.skipped_frames, 1);
    assert_eq!(s.skipped_message_types, 1);
    assert!(s.skipped_payloads["0x01"] > 0);
    assert_eq!((s.crc_error_flags, s.ecc_error_flags, s.invalid), (0, 0, 0));
    let f = d.write("foreign.pcapng", &file);
    let o = cse(&["verify", "--in", &f, "--keys", &keys]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("payload type 0x01"), "{out}");
    assert!(out.contains("1 non-CMP frames"), "{out}");
    assert!(out.contains("1 I2C transactions"), "{out}");
    // inspect reads it too; its JSON report carries what the reader skipped.
    let o = cse(&["inspect", "--in", &f, "--keys", &keys]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let o = cse(&["inspect", "--in", &f, "--keys", &keys, "--json"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let r: cse_link::capture::InspectReport =
        serde_json::from_slice(&o.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&o)));
    assert!(r.passed);
    assert_eq!(r.pcapng.as_ref(), Some(s));
}

#[test]
fn error_flags_and_cut_files_are_reported_not_hidden() {
    // A CSI-2 message flagged with a CRC error whose checksum is indeed wrong: counted, and
    // the rebuilt packet keeps the wrong CRC so verification names it.
    let vc = VirtualChannel::new(0).unwrap();
    let frame = Scene::new(16, 2, vc).frame(1).unwrap();
    let mut rec = Recorder::new(0).unwrap();
    let mut bad_index = None;
    for (i, p) in cse_link::capture::scan(&frame).iter().enumerate() {
        let mut m = Csi2Message::from_dphy(p.bytes(&frame), 1, 0).unwrap();
        if !m.is_short() && bad_index.is_none() {
            m.checksum ^= 0xFFFF;
            m.flags |= cmp::CSI2_CRC_ERR;
            bad_index = Some(i);
        }
        rec.message(pcapng::IF_CSI2, Payload::Csi2(m));
    }
    let file = rec.finish().unwrap();
    let got = pcapng::read(&file).unwrap();
    assert_eq!(got.stats.crc_error_flags, 1);
    let scanned = cse_link::capture::scan(&got.csi2);
    assert!(matches!(
        scanned[bad_index.unwrap()].framing,
        cse_link::capture::Framing::CrcMismatch { .. }
    ));
    // A file cut inside a block is an error, never a panic.
    for n in [10, 40, file.len() - 3] {
        assert!(pcapng::read(&file[..n]).is_err(), "{n}");
    }
}

#[test]
fn protect_refuses_to_overwrite_without_force_and_never_overwrites_its_input() {
    let d = Dir::new("force");
    let keys = d.write("k.txt", KEYS.as_bytes());
    let plain = plain();
    let inp = d.write("plain.cap", &plain);
    let out = d.write("out.cap", b"precious");
    let o = cse(&["protect", "--in", &inp, "--out", &out, "--keys", &keys]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(text(&o).contains("exists; pass --force"), "{}", text(&o));
    assert_eq!(std::fs::read(&out).unwrap(), b"precious");
    let o = cse(&[
        "protect", "--in", &inp, "--out", &out, "--keys", &keys, "--force",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert_ne!(std::fs::read(&out).unwrap(), b"precious");
    // The input under another spelling of its path: refused even with --force.
    let same = format!("{}/./plain.cap", d.0.display());
    for extra in [&[][..], &["--force"][..]] {
        let mut args = vec!["protect", "--in", &inp, "--out", &same, "--keys", &keys];
        args.extend_from_slice(extra);
        let o = cse(&args);
        assert_eq!(code(&o), 2, "{}", text(&o));
        assert!(text(&o).contains("is the input file"), "{}", text(&o));
        assert_eq!(std::fs::read(&inp).unwrap(), plain, "input unchanged");
    }
}

#[test]
fn verify_never_writes_its_originals_over_its_input() {
    let d = Dir::new("verify-same");
    let keys = d.write("k.txt", KEYS.as_bytes());
    let inp = d.write("plain.cap", &plain());
    let prot = format!("{}/prot.cap", d.0.display());
    let o = cse(&["protect", "--in", &inp, "--out", &prot, "--keys", &keys]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let protected = std::fs::read(&prot).unwrap();
    // The protected capture named again as --out, under another spelling of its path.
    let same = format!("{}/./prot.cap", d.0.display());
    let o = cse(&["verify", "--in", &prot, "--keys", &keys, "--out", &same]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(text(&o).contains("is the input file"), "{}", text(&o));
    assert_eq!(std::fs::read(&prot).unwrap(), protected, "input unchanged");
    // Another --out still gets the originals, and the protected capture still verifies.
    let plain_out = format!("{}/plain.out", d.0.display());
    let o = cse(&[
        "verify", "--in", &prot, "--keys", &keys, "--out", &plain_out,
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert_eq!(std::fs::read(&plain_out).unwrap(), plain());
}

#[test]
fn long_runs_into_a_pipe_print_no_progress() {
    // Over 4096 packets (the progress threshold): protect and verify with stderr a pipe write
    // no progress text, no carriage return.
    let d = Dir::new("progress");
    let keys = d.write("k.txt", KEYS.as_bytes());
    let scene = Scene::new(16, 2200, VirtualChannel::new(0).unwrap());
    let mut cap = scene.frame(1).unwrap();
    cap.extend(scene.frame(2).unwrap());
    assert!(cse_link::capture::scan(&cap).len() > 4096);
    let inp = d.write("big.cap", &cap);
    let prot = d.path("big.pcapng");
    let o = cse(&["protect", "--in", &inp, "--out", &prot, "--keys", &keys]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(o.stderr.is_empty(), "{}", text(&o));
    let o = cse(&["verify", "--in", &prot, "--keys", &keys]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(o.stderr.is_empty(), "{}", text(&o));
    assert!(!o.stdout.contains(&b'\r'));
    let o = cse(&["demo", "--frames", "2"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert!(!o.stderr.contains(&b'\r') && !o.stdout.contains(&b'\r'));
    assert!(!text(&o).contains("streaming"), "{}", text(&o));
}

#[test]
fn demo_pcap_records_the_ccise_writes_and_the_streams_of_every_link() {
    let d = Dir::new("demo");
    let f = d.path("demo.pcapng");
    let o = cse(&["demo", "--frames", "1", "--json", "--pcap", &f]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    // stdout stays one JSON object; the note goes to stderr.
    let _: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(String::from_utf8_lossy(&o.stderr).contains("ASAM CMP frames written"));
    let got = pcapng::read(&std::fs::read(&f).unwrap()).unwrap();
    assert_eq!(got.stats.skipped(), 0);
    assert_eq!(got.stats.frames, got.stats.csi2 + got.stats.i2c);
    // One CCISE stream-configuration write per link (the clean one and one per attack, the
    // re-authentication attack adds its new session's and replays the old one's), each an
    // I2C write to the sensor's address starting with the register index, big-endian.
    assert!(got.i2c.len() >= 13, "{}", got.i2c.len());
    let reg = cse_link::registers::STREAM_CONFIG.to_be_bytes();
    for w in &got.i2c {
        assert_eq!(w.message.address, u16::from(cse_link::SENSOR_ADDRESS));
        assert!(!w.message.is_read());
        assert_eq!(w.message.bytes()[..2], reg);
    }
    // Time only moves forward, and the CSI-2 stream holds whole frames (FS ... FE).
    assert!(got.frame_times.windows(2).all(|w| w[0] < w[1]));
    let packets = cse_link::capture::scan(&got.csi2);
    assert!(
        packets
            .iter()
            .all(|p| p.framing == cse_link::capture::Framing::Ok)
    );
    // Stream 0 is the clean link alone: whole frames, fewer packets than the file holds.
    let file = std::fs::read(&f).unwrap();
    let clean = pcapng::read_selected(
        &file,
        &pcapng::Selection {
            stream_id: Some(0),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(clean.stats.csi2 > 0 && clean.stats.csi2 < got.stats.csi2);
    assert!(
        cse_link::capture::scan(&clean.csi2)
            .iter()
            .all(|p| p.framing == cse_link::capture::Framing::Ok)
    );
    let o = cse(&["inspect", "--in", &f, "--cmp-stream", "0"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    // Recorded for standard Ethernet: every frame within 1514 bytes, the lines segmented and
    // read back whole.
    let seg = d.path("demo-1500.pcapng");
    let o = cse(&["demo", "--frames", "1", "--pcap", &seg, "--cmp-mtu", "1500"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let file = std::fs::read(&seg).unwrap();
    assert!(frame_lengths(&file).iter().all(|n| *n <= 1514));
    let got = pcapng::read(&file).unwrap();
    assert!(got.stats.reassembled > 0);
    assert_eq!(got.stats.skipped(), 0);
    assert!(
        cse_link::capture::scan(&got.csi2)
            .iter()
            .all(|p| p.framing == cse_link::capture::Framing::Ok)
    );
    // An output that cannot be written is a usage error.
    let o = cse(&[
        "demo",
        "--frames",
        "1",
        "--pcap",
        &d.path("no/such/dir/x.pcapng"),
    ]);
    assert_eq!(code(&o), 2, "{}", text(&o));
}

/// The length of every packet block's frame in a pcapng file.
fn frame_lengths(file: &[u8]) -> Vec<usize> {
    use pcap_file::pcapng::{Block, PcapNgParser};
    let (mut src, mut parser) = PcapNgParser::new(file).unwrap();
    let mut out = Vec::new();
    while !src.is_empty() {
        let (rest, block) = parser.next_block(src).unwrap();
        src = rest;
        if let Block::EnhancedPacket(p) = block {
            out.push(p.data.len());
        }
    }
    out
}

#[test]
fn segmented_captures_verify_like_whole_messages() {
    let d = Dir::new("segmented");
    let plain = plain();
    let (keys, inp, _, protected) = protected(&d);
    // Written with every MTU from the smallest up: reading joins the segments into the same
    // CSI-2 packets, bit-exact.
    for mtu in [46, 47, 100, 1500, 9000] {
        let file = pcapng::write_csi2_mtu(&protected, 0, Some(mtu)).unwrap();
        assert!(frame_lengths(&file).iter().all(|n| *n <= 14 + mtu.max(46)));
        let got = pcapng::read(&file).unwrap();
        assert_eq!(got.csi2, protected, "mtu {mtu}");
        assert_eq!(got.stats.skipped(), 0, "mtu {mtu}");
        assert_eq!(got.stats.csi2, cse_link::capture::scan(&protected).len());
    }
    assert!(pcapng::write_csi2_mtu(&protected, 0, Some(45)).is_err());
    // `cse protect --cmp-mtu 60`: no frame is longer than 14 + 60 bytes, and the capture
    // verifies.
    let seg = d.path("seg.pcapng");
    let o = cse(&[
        "protect",
        "--in",
        &inp,
        "--out",
        &seg,
        "--keys",
        &keys,
        "--cmp-mtu",
        "60",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let file = std::fs::read(&seg).unwrap();
    let lengths = frame_lengths(&file);
    assert!(lengths.iter().all(|n| *n <= 74), "{lengths:?}");
    let got = pcapng::read(&file).unwrap();
    assert_eq!(got.stats.csi2, cse_link::capture::scan(&protected).len());
    assert!(got.stats.reassembled > 0);
    assert_eq!(got.stats.skipped(), 0);
    assert!(lengths.len() > got.stats.csi2);
    // A whole message's timestamp is its first segment's: still one per packet, increasing.
    assert_eq!(got.csi2_times.len(), got.stats.csi2);
    assert!(got.csi2_times.windows(2).all(|w| w[0] < w[1]));
    // verify reads it, and writes the recovered packets segmented again.
    let back = d.path("back.pcapng");
    let o = cse(&[
        "verify",
        "--in",
        &seg,
        "--keys",
        &keys,
        "--out",
        &back,
        "--cmp-mtu",
        "46",
    ]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    let out = text(&o);
    assert!(out.contains("PASS"), "{out}");
    assert!(out.contains("messages reassembled from segments"), "{out}");
    let back = std::fs::read(&back).unwrap();
    assert!(frame_lengths(&back).iter().all(|n| *n <= 60));
    assert_eq!(pcapng::read(&back).unwrap().csi2, plain);

    // One frame of the segmented capture lost: the packet it belonged to is missing (named
    // by verify), the reader says how many segments it dropped, nothing is glued together.
    let mut rec = Recorder::new(0).unwrap();
    let mut dropped = false;
    let (mut src, mut parser) = pcap_file::pcapng::PcapNgParser::new(&file[..]).unwrap();
    while !src.is_empty() {
        let (rest, block) = parser.next_block(src).unwrap();
        src = rest;
        if let pcap_file::pcapng::Block::EnhancedPacket(p) = block {
            let flags = p.data.get(14 + 8 + 12).copied().unwrap_or(0);
            if !dropped && cmp::Segment::of(flags) == cmp::Segment::Intermediary {
                dropped = true;
                continue;
            }
            rec.ethernet(p.data.into_owned());
        }
    }
    assert!(dropped);
    let cut = rec.finish().unwrap();
    let got = pcapng::read(&cut).unwrap();
    assert!(got.stats.lost_segments >= 2, "{:?}", got.stats);
    assert_eq!(got.stats.csi2 + 1, pcapng::read(&file).unwrap().stats.csi2);
    let cut = d.write("cut.pcapng", &cut);
    let o = cse(&["verify", "--in", &cut, "--keys", &keys]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    assert!(
        text(&o).contains("segments of incomplete messages"),
        "{}",
        text(&o)
    );

    // --cmp-mtu needs a pcapng output and at least 46 bytes.
    for args in [
        vec![
            "protect",
            "--in",
            &inp,
            "--out",
            "x.bin",
            "--keys",
            &keys,
            "--cmp-mtu",
            "1500",
        ],
        vec![
            "protect",
            "--in",
            &inp,
            "--out",
            "x.pcapng",
            "--keys",
            &keys,
            "--cmp-mtu",
            "45",
        ],
        vec!["verify", "--in", &seg, "--keys", &keys, "--cmp-mtu", "1500"],
        vec!["demo", "--frames", "1", "--cmp-mtu", "1500"],
    ] {
        let o = cse(&args);
        assert_eq!(code(&o), 2, "{args:?}: {}", text(&o));
        assert!(text(&o).contains("cmp-mtu"), "{args:?}: {}", text(&o));
    }
}

#[test]
fn one_link_of_a_multi_link_capture_is_selected_by_stream_or_interface() {
    let d = Dir::new("select");
    let (keys, _, prot, protected) = protected(&d);
    // The same protected link recorded twice, interleaved packet by packet: once on stream 1,
    // interface 1, once on stream 2, interface 5 (a second camera). Together they do not
    // verify (every packet comes twice); either one alone does.
    let mut rec = Recorder::new(0).unwrap();
    for p in cse_link::capture::scan(&protected) {
        let m = Csi2Message::from_dphy(p.bytes(&protected), 0, 0).unwrap();
        rec.set_stream(1);
        rec.message(1, Payload::Csi2(m.clone()));
        rec.set_stream(2);
        rec.message(5, Payload::Csi2(m));
    }
    let both = d.write("both.pcapng", &rec.finish().unwrap());
    let o = cse(&["verify", "--in", &both, "--keys", &keys]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    let n = cse_link::capture::scan(&protected).len();
    for select in [
        ["--cmp-stream", "1"],
        ["--cmp-stream", "2"],
        ["--cmp-interface", "5"],
        ["--cmp-device", "3166"],
    ] {
        let file = std::fs::read(&both).unwrap();
        let sel = pcapng::Selection {
            device_id: None,
            stream_id: (select[0] == "--cmp-stream").then(|| select[1].parse().unwrap()),
            interface_id: (select[0] == "--cmp-interface").then(|| select[1].parse().unwrap()),
        };
        if select[0] != "--cmp-device" {
            let got = pcapng::read_selected(&file, &sel).unwrap();
            assert_eq!(got.csi2, protected, "{select:?}");
            assert_eq!(got.stats.unselected, n, "{select:?}");
            let o = cse(&[
                "verify", "--in", &both, "--keys", &keys, select[0], select[1],
            ]);
            assert_eq!(code(&o), 0, "{select:?}: {}", text(&o));
            assert!(
                text(&o).contains(&format!("{n} of other devices, streams or interfaces")),
                "{}",
                text(&o)
            );
        } else {
            // Our own device id (0x0C5E) keeps both links.
            let o = cse(&[
                "verify", "--in", &both, "--keys", &keys, select[0], select[1],
            ]);
            assert_eq!(code(&o), 1, "{select:?}: {}", text(&o));
        }
    }
    // Nothing selected: a clear error, not an empty verification.
    let o = cse(&[
        "verify",
        "--in",
        &both,
        "--keys",
        &keys,
        "--cmp-stream",
        "7",
    ]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(text(&o).contains("no CSI-2 packets"), "{}", text(&o));
    // A selection on a raw input is a usage error.
    let o = cse(&[
        "verify",
        "--in",
        &prot,
        "--keys",
        &keys,
        "--cmp-stream",
        "1",
    ]);
    assert_eq!(code(&o), 2, "{}", text(&o));
    assert!(text(&o).contains("not a pcapng file"), "{}", text(&o));
}
