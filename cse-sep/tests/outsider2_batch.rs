//! Outsider round 2: `Receiver::receive_batch` against `receive` packet by packet, on streams
//! where one batch spans frame boundaries, key rollovers and injected packets: a forged frame
//! start followed by genuine lines of the next frame, the previous frame's lines replayed
//! after the next frame start, SV-3 lines out of their order, and a genuine packet twice.
//! The documented promise: same state, statistics, events, outputs and results.

use cse_core::csi2::{DataType, Emitter, HeaderForm, Packets, VirtualChannel};
use cse_core::keys::{Salt, SecretKey};
use cse_core::{
    BlockConfig, CipherSuite, FrameConfig, KeyId, Policy, SecurityVariant, SvLevel, TagLen, TagMode,
};
use cse_sep::{Delivery, KeyMaterial, Receiver, Settings, Transmitter};

const OUT: usize = 1024;

fn vc() -> VirtualChannel {
    VirtualChannel::new(3).expect("vc")
}

fn material(byte: u8) -> KeyMaterial {
    KeyMaterial::new(SecretKey::aes128([byte; 16]), None, Salt::new([byte; 12]))
}

fn config(key: u8) -> FrameConfig {
    let b = |sv| BlockConfig {
        sv,
        suite: CipherSuite::Aes128Cmac,
        tag_len: TagLen::L16,
        tag_mode: TagMode::PerMessage,
    };
    FrameConfig {
        top: b(SecurityVariant::FullIntegrity),
        image: b(SecurityVariant::LinePartialIntegrity {
            stride: 2,
            offset: 0,
        }),
        bottom: b(SecurityVariant::FullIntegrity),
        key_id: KeyId::new(key).expect("key id"),
    }
}

const POLICY: Policy = Policy {
    min_top: SvLevel::Sv2,
    min_image: SvLevel::Sv3,
    min_bottom: SvLevel::Sv2,
};

fn frame(n: u16) -> Vec<Vec<u8>> {
    let mut buf = vec![0u8; 1024];
    let mut em = Emitter::new(&mut buf, HeaderForm::Dphy);
    em.frame_start(vc(), n).expect("fs");
    em.long(vc(), DataType::EMBEDDED, &[0x11 ^ n as u8; 12])
        .expect("emb");
    for l in 0..5u8 {
        em.long(vc(), DataType::RAW8, &[l ^ n as u8; 40])
            .expect("line");
    }
    em.long(vc(), DataType::EMBEDDED, &[0x22 ^ n as u8; 12])
        .expect("emb");
    em.frame_end(vc(), n).expect("fe");
    let all = em.written().to_vec();
    Packets::new(&all, HeaderForm::Dphy)
        .map(|p| p.expect("packet").raw.to_vec())
        .collect()
}

/// Three frames; frame 3 switches to key id 1 (a rollover). `forger`: another key's bytes.
fn stream(forger: bool) -> Vec<Vec<u8>> {
    let k = if forger { 0x40 } else { 0 };
    let mut tx = Transmitter::new(Settings::new(vc()), 5);
    tx.install_key(KeyId::new(0).expect("id"), material(1 + k))
        .expect("key");
    tx.install_key(KeyId::new(1).expect("id"), material(2 + k))
        .expect("key");
    let mut wire = Vec::new();
    let mut out = vec![0u8; OUT];
    for n in 1..=3u16 {
        tx.set_config(config(u8::from(n == 3))).expect("config");
        for p in frame(n) {
            let done = tx.protect(&p, &mut out).expect("protect");
            for s in Packets::new(&out[..done.len], HeaderForm::Dphy) {
                wire.push(s.expect("sep").raw.to_vec());
            }
        }
    }
    wire
}

fn rx() -> Receiver {
    let mut rx = Receiver::new(Settings::new(vc()), POLICY, 1000);
    rx.install_key(KeyId::new(0).expect("id"), material(1))
        .expect("key");
    rx.install_key(KeyId::new(1).expect("id"), material(2))
        .expect("key");
    rx
}

fn describe(r: Result<Delivery<'_>, cse_sep::SepError>) -> String {
    match r {
        Ok(Delivery::Verified(v)) => format!("V{:02x?}", v.packet()),
        Ok(Delivery::Unverified(u)) => format!("U{:02x?}", u.unverified_packet()),
        Ok(Delivery::Unprotected(u)) => format!("P{:02x?}", u.unauthenticated_packet()),
        Ok(Delivery::ScopeVerified(s)) => format!("S{:?}", s.indices()),
        Ok(_) => "?".into(),
        Err(e) => format!("E{e:?}"),
    }
}

/// Results, outputs, events and `Debug` after `seps` one by one.
fn single(seps: &[Vec<u8>]) -> (Vec<String>, Vec<Vec<u8>>, Vec<String>, String) {
    let mut r = rx();
    let mut results = Vec::new();
    let mut outs = Vec::new();
    for p in seps {
        let mut out = vec![0xEEu8; OUT];
        results.push(describe(r.receive(p, 7, &mut out)));
        outs.push(out);
    }
    let events = core::iter::from_fn(|| r.poll_event(7))
        .map(|e| format!("{e:?}"))
        .collect();
    let dbg = format!(
        "{:?} {:?} {:?} {r:?}",
        r.fusa_stats(),
        r.security_stats(),
        r.protocol_stats()
    );
    let dbg = dbg
        .split("id: ReceiverId")
        .next()
        .unwrap_or_default()
        .to_owned();
    (results, outs, events, dbg)
}

/// The same in batches of `chunk` packets.
fn batched(seps: &[Vec<u8>], chunk: usize) -> (Vec<String>, Vec<Vec<u8>>, Vec<String>, String) {
    let mut r = rx();
    let mut results = Vec::new();
    let mut outs_all = Vec::new();
    for c in seps.chunks(chunk) {
        let refs: Vec<&[u8]> = c.iter().map(Vec::as_slice).collect();
        let mut bufs: Vec<Vec<u8>> = c.iter().map(|_| vec![0xEEu8; OUT]).collect();
        let mut outs: Vec<&mut [u8]> = bufs.iter_mut().map(Vec::as_mut_slice).collect();
        r.receive_batch(&refs, 7, &mut outs, |_, res| results.push(describe(res)))
            .expect("batch");
        outs_all.extend(bufs);
    }
    let events = core::iter::from_fn(|| r.poll_event(7))
        .map(|e| format!("{e:?}"))
        .collect();
    let dbg = format!(
        "{:?} {:?} {:?} {r:?}",
        r.fusa_stats(),
        r.security_stats(),
        r.protocol_stats()
    );
    let dbg = dbg
        .split("id: ReceiverId")
        .next()
        .unwrap_or_default()
        .to_owned();
    (results, outs_all, events, dbg)
}

#[test]
fn batches_across_frames_rollovers_and_injections_equal_single_receives() {
    let genuine = stream(false);
    let forged = stream(true);
    let per_frame = genuine.len() / 3;
    let (results, ..) = single(&genuine);
    assert!(results.iter().all(|r| !r.starts_with('E')), "{results:?}");
    let mut cases: Vec<(String, Vec<Vec<u8>>)> = vec![("genuine".into(), genuine.clone())];
    for i in 0..genuine.len() {
        let with = |extra: &[Vec<u8>]| {
            let mut s = genuine.clone();
            for (k, e) in extra.iter().enumerate() {
                s.insert(i + k, e.clone());
            }
            s
        };
        cases.push((format!("forged at {i}"), with(&[forged[i].clone()])));
        cases.push((format!("twice at {i}"), with(&[genuine[i].clone()])));
        if i >= per_frame {
            // The previous frame's packet at the same position, after this frame started.
            cases.push((
                format!("previous frame's at {i}"),
                with(&[genuine[i - per_frame].clone()]),
            ));
        }
        if i + 1 < genuine.len() {
            let mut s = genuine.clone();
            s.swap(i, i + 1);
            cases.push((format!("swapped at {i}"), s));
        }
        // A forged frame start (of the next frame) right here, then the rest.
        let next_fs = (i / per_frame + 1) * per_frame;
        if next_fs < forged.len() {
            cases.push((
                format!("forged FS at {i}"),
                with(&[forged[next_fs].clone()]),
            ));
        }
    }
    for (name, seps) in &cases {
        let want = single(seps);
        for chunk in [2, 3, 5, cse_sep::BATCH_LINES, seps.len()] {
            let got = batched(seps, chunk);
            assert_eq!(got.0, want.0, "{name}, chunk {chunk}: results");
            assert_eq!(got.1, want.1, "{name}, chunk {chunk}: outputs");
            assert_eq!(got.2, want.2, "{name}, chunk {chunk}: events");
            assert_eq!(got.3, want.3, "{name}, chunk {chunk}: state");
        }
    }
}
