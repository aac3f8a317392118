//! Outsider round 2: forged tag records spend an 8-byte-tag key's invocation budget (SP 800-38D
//! Appendix C counts failed decryptions; `cse_core::keys::KeyUsage`). The receiver must report
//! `Event::NeedsRekey` ("once per key, before any hard limit") before genuine records are
//! refused with `KeyExhausted`.

use cse_core::csi2::{DataType, Emitter, HeaderForm, Packets, VirtualChannel};
use cse_core::keys::{Salt, SecretKey};
use cse_core::rx::Event;
use cse_core::{
    BlockConfig, CipherSuite, FrameConfig, KeyId, Policy, SecurityError, SecurityVariant, SvLevel,
    TagLen, TagMode,
};
use cse_fsed::{Delivery, FsedError, KeyMaterial, Receiver, Settings, Transmitter};

const HARD: usize = 1 << 17;

fn vc() -> VirtualChannel {
    VirtualChannel::new(0).expect("vc")
}

fn material(key: u8) -> KeyMaterial {
    KeyMaterial::new(SecretKey::aes128([key; 16]), None, Salt::new([6; 12]))
        .with_min_tag_len(TagLen::L8)
        .with_max_mac_input(1 << 25)
}

fn config() -> FrameConfig {
    FrameConfig::uniform(
        BlockConfig {
            sv: SecurityVariant::FullIntegrity,
            suite: CipherSuite::Aes128Gmac,
            tag_len: TagLen::L8,
            tag_mode: TagMode::PerDataType,
        },
        KeyId::default(),
    )
}

/// FS, RAW8 and RAW10 lines (two image scopes), FE, protected under `key`.
fn stream(key: u8) -> Vec<Vec<u8>> {
    let mut buf = vec![0u8; 1024];
    let mut em = Emitter::new(&mut buf, HeaderForm::Dphy);
    em.frame_start(vc(), 1).expect("fs");
    for l in 0..4u8 {
        let dt = if l < 2 {
            DataType::RAW8
        } else {
            DataType::RAW10
        };
        em.long(vc(), dt, &[l; 20]).expect("line");
    }
    em.frame_end(vc(), 1).expect("fe");
    let all = em.written().to_vec();
    let mut tx = Transmitter::new(Settings::new(vc()), 1);
    tx.install_key(KeyId::default(), material(key))
        .expect("key");
    tx.set_config(config()).expect("config");
    let mut wire = Vec::new();
    let mut ins = [0u8; cse_fsed::tx::MAX_INSERTED_LEN];
    for p in Packets::new(&all, HeaderForm::Dphy) {
        let mut p = p.expect("packet").raw.to_vec();
        let r = tx.protect(&mut p, &mut ins).expect("protect");
        for part in [r.before(&ins), &p, r.after(&ins)] {
            for s in Packets::new(part, HeaderForm::Dphy) {
                wire.push(s.expect("packet").raw.to_vec());
            }
        }
    }
    wire
}

#[test]
fn forged_records_that_exhaust_the_key_are_reported_before_genuine_records_are_refused() {
    let genuine = stream(5);
    let forged = stream(0x77);
    assert_eq!(genuine.len(), forged.len());
    let policy = Policy {
        min_top: SvLevel::Sv2,
        min_image: SvLevel::Sv2,
        min_bottom: SvLevel::Sv2,
    };
    let mut rx = Receiver::new(Settings::new(vc()), policy, 1_000_000);
    rx.install_key(KeyId::default(), material(5)).expect("key");
    let mut rekey = 0;
    let mut drain = |rx: &mut Receiver| {
        while let Some(e) = rx.poll_event(0) {
            if matches!(e, Event::NeedsRekey { .. }) {
                rekey += 1;
            }
        }
    };
    // Where the genuine tag records are (a reference receiver).
    let mut reference = Receiver::new(Settings::new(vc()), policy, 1_000_000);
    reference
        .install_key(KeyId::default(), material(5))
        .expect("key");
    let records: Vec<usize> = genuine
        .iter()
        .enumerate()
        .filter(|(_, p)| matches!(reference.receive(p, 0), Ok(Delivery::ScopeVerified(_))))
        .map(|(k, _)| k)
        .collect();
    assert!(records.len() >= 2, "{records:?}");
    let next_record = records[1];
    assert_ne!(genuine[next_record], forged[next_record]);
    for (k, p) in genuine[..next_record].iter().enumerate() {
        assert!(rx.receive(p, 0).is_ok(), "genuine {k}");
        drain(&mut rx);
    }
    let mut attempts = 0;
    loop {
        let r = rx.receive(&forged[next_record], 0);
        drain(&mut rx);
        attempts += 1;
        if matches!(r, Err(FsedError::Security(SecurityError::KeyExhausted))) || attempts > HARD {
            break;
        }
        assert!(r.is_err(), "forged record accepted: {r:?}");
    }
    let r = rx.receive(&genuine[next_record], 0);
    let refused = matches!(r, Err(FsedError::Security(SecurityError::KeyExhausted)));
    drain(&mut rx);
    assert!(
        !refused || rekey == 1,
        "genuine record refused KeyExhausted after {attempts} forgeries, NeedsRekey queued {rekey} times"
    );
}
