//! Outsider round 3: FSED tag records of other streams and other frames, against an
//! unattacked twin. Tag records carry a tag, so (unlike FS, FE, frame headers and originals,
//! whose injection docs/security.md "Known limits of FSED" documents) a foreign or replayed
//! record must be refused and change nothing: the genuine packets get the same deliveries,
//! events and statistics equal apart from the rejection counters. Also: the 16-bit frame
//! number wrapping, and records of the same key from another VC or the other direction.
#![allow(clippy::unwrap_used, clippy::panic)]

mod o3;

use cse_core::{CipherSuite, Direction, FrameConfig, SecurityVariant, TagMode};
use cse_fsed::{Event, Receiver, Settings, Transmitter};
use o3::*;

fn configs() -> Vec<(FrameConfig, CipherSuite)> {
    let mut v = Vec::new();
    for (sv, suite) in [
        (
            SecurityVariant::FullIntegrityEncrypted,
            CipherSuite::Aes128Gcm,
        ),
        (SecurityVariant::FullIntegrity, CipherSuite::Aes256Cmac),
        (
            SecurityVariant::FullIntegrityEncrypted,
            CipherSuite::Aes256CtrCmac,
        ),
        (
            SecurityVariant::LinePartialIntegrity {
                stride: 2,
                offset: 1,
            },
            CipherSuite::Aes128Gmac,
        ),
    ] {
        for mode in [TagMode::PerDataType, TagMode::PerFrame] {
            v.push((uniform(sv, suite, mode), suite));
        }
    }
    v
}

fn stream(
    settings: Settings,
    config: FrameConfig,
    suite: CipherSuite,
    fnums: &[u16],
) -> Vec<Vec<u8>> {
    let mut tx = Transmitter::new(settings, 10);
    tx.install_key(config.key_id, material(suite, 7)).unwrap();
    tx.set_config(config).unwrap();
    let v = settings.vc.get();
    fnums
        .iter()
        .flat_map(|&f| {
            let mut o = frame(f, f as u8);
            for p in &mut o {
                set_vc(p, v);
            }
            protect_all_on(&mut tx, &o)
        })
        .collect()
}

fn protect_all_on(tx: &mut Transmitter, originals: &[Vec<u8>]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut ins = [0u8; cse_fsed::tx::MAX_INSERTED_LEN];
    for o in originals {
        let mut p = o.clone();
        let r = tx.protect(&mut p, &mut ins).unwrap();
        let mut wire = r.before(&ins).to_vec();
        wire.extend_from_slice(&p);
        wire.extend_from_slice(r.after(&ins));
        out.extend(
            cse_core::csi2::Packets::new(&wire, cse_core::csi2::HeaderForm::Dphy)
                .map(|p| p.unwrap().raw.to_vec()),
        );
    }
    out
}

fn rx_for(config: FrameConfig, suite: CipherSuite) -> Receiver {
    let mut rx = Receiver::new(settings(), cse_core::Policy::PERMISSIVE, 1_000);
    rx.install_key(config.key_id, material(suite, 7)).unwrap();
    rx
}

fn against_twin(
    mk: &dyn Fn() -> Receiver,
    genuine: &[Vec<u8>],
    attacked: &[(bool, Vec<u8>)],
    what: &str,
) {
    let mut twin = mk();
    let expect: Vec<Got> = genuine
        .iter()
        .enumerate()
        .map(|(i, p)| recv(&mut twin, p, i as u64))
        .collect();
    assert!(
        expect.iter().all(|g| !matches!(g, Got::Err(_))),
        "{what}: {expect:?}"
    );
    let t_obs = observe(&mut twin, 0);
    let mut rx = mk();
    let mut got = Vec::new();
    let mut t = 0;
    for (foreign, p) in attacked {
        let g = recv(&mut rx, p, t);
        if *foreign {
            assert!(
                matches!(g, Got::Err(_)),
                "{what}: a foreign record was taken: {g:?}"
            );
        } else {
            got.push(g);
            t += 1;
        }
    }
    assert_eq!(got, expect, "{what}");
    let obs = observe(&mut rx, 0);
    assert_eq!(obs.events, t_obs.events, "{what}");
    assert_eq!(obs.fusa, t_obs.fusa, "{what}");
    assert_eq!(obs.protocol.unverified, t_obs.protocol.unverified, "{what}");
    assert_eq!(
        obs.protocol.scopes_verified, t_obs.protocol.scopes_verified,
        "{what}"
    );
    assert_eq!(
        obs.security.needs_rekey, t_obs.security.needs_rekey,
        "{what}"
    );
}

#[test]
fn tag_records_of_another_vc_or_direction_under_the_same_key_are_refused() {
    for (config, suite) in configs() {
        let genuine = stream(settings(), config, suite, &[0, 1, 2]);
        let mut dir = settings();
        dir.direction = Direction::ControllerToSensor;
        for (name, other) in [("vc 2", Settings::new(vc(2))), ("other direction", dir)] {
            let foreign: Vec<Vec<u8>> = stream(other, config, suite, &[0, 1, 2])
                .into_iter()
                .filter(|p| is_record(p))
                .map(|mut p| {
                    set_vc(&mut p, VC);
                    p
                })
                .collect();
            assert!(!foreign.is_empty());
            // Each foreign record right before every genuine record (the place a record is
            // expected), and all of them before the stream.
            let mut attacked = Vec::new();
            let mut fi = 0;
            for p in &genuine {
                if is_record(p) {
                    attacked.push((true, foreign[fi % foreign.len()].clone()));
                    fi += 1;
                }
                attacked.push((false, p.clone()));
            }
            let mk = || rx_for(config, suite);
            against_twin(&mk, &genuine, &attacked, &format!("{config:?} {name}"));
            let mut first: Vec<(bool, Vec<u8>)> =
                foreign.iter().map(|p| (true, p.clone())).collect();
            first.extend(genuine.iter().map(|p| (false, p.clone())));
            against_twin(&mk, &genuine, &first, &format!("{config:?} {name} first"));
        }
    }
}

#[test]
fn tag_records_of_earlier_frames_are_refused_anywhere() {
    for (config, suite) in configs() {
        let genuine = stream(settings(), config, suite, &[0, 1, 2]);
        let mut attacked = Vec::new();
        let mut seen: Vec<Vec<u8>> = Vec::new();
        for p in &genuine {
            // Every record seen so far, replayed before each packet from the second frame on
            // (a record of the frame in progress that already verified included).
            if p[0] & 0x3F == 0x00 {
                seen.retain(|r| is_record(r));
            }
            for r in seen.iter().filter(|r| is_record(r)) {
                attacked.push((true, r.clone()));
            }
            attacked.push((false, p.clone()));
            seen.push(p.clone());
        }
        let mk = || rx_for(config, suite);
        against_twin(&mk, &genuine, &attacked, &format!("{config:?}"));
    }
}

#[test]
fn the_csi2_frame_number_wraps_without_any_finding() {
    for (config, suite) in configs() {
        let genuine = stream(settings(), config, suite, &[0xFFFE, 0xFFFF, 0, 1]);
        let mut rx = rx_for(config, suite);
        let got: Vec<Got> = genuine
            .iter()
            .enumerate()
            .map(|(i, p)| recv(&mut rx, p, i as u64))
            .collect();
        assert!(got.iter().all(|g| !matches!(g, Got::Err(_))), "{got:?}");
        let obs = observe(&mut rx, 0);
        let done: Vec<(u32, bool)> = obs
            .events
            .iter()
            .filter_map(|e| match e {
                Event::FrameComplete {
                    frame_counter,
                    clean,
                    ..
                } => Some((*frame_counter, *clean)),
                _ => None,
            })
            .collect();
        assert_eq!(
            done,
            vec![(10, true), (11, true), (12, true), (13, true)],
            "{:?}",
            obs.events
        );
        assert_eq!(obs.fusa, Default::default());
    }
}

/// Short packets (FS, FE, LS, LE, generic) with frame or line numbers that contradict the
/// frame, injected at every position: each is refused, or (a documented limit, an injected
/// FS/FE) ends the frame early without anything forged verifying. Listed per kind.
#[test]
fn injected_sync_packets_at_every_position() {
    use cse_core::csi2::{DataType, Emitter, HeaderForm};
    let (config, suite) = configs()[1];
    let genuine = stream(settings(), config, suite, &[0, 1, 2]);
    let short = |dt: DataType, d: u16| {
        let mut b = [0u8; 4];
        Emitter::new(&mut b, HeaderForm::Dphy)
            .short(vc(VC), dt, d)
            .unwrap();
        b.to_vec()
    };
    let mk = || rx_for(config, suite);
    let mut twin = mk();
    let expect: Vec<Got> = genuine
        .iter()
        .enumerate()
        .map(|(i, p)| recv(&mut twin, p, i as u64))
        .collect();
    let t_obs = observe(&mut twin, 0);
    let mut outcome = std::collections::BTreeMap::new();
    for (name, p) in [
        ("FS other number", short(DataType::FS, 0x1234)),
        ("FE other number", short(DataType::FE, 0x1234)),
        ("FS same number", short(DataType::FS, 1)),
        ("FE same number", short(DataType::FE, 1)),
    ] {
        let mut same = 0;
        for k in 1..genuine.len() {
            let mut rx = mk();
            let mut got: Vec<Got> = genuine[..k]
                .iter()
                .enumerate()
                .map(|(i, p)| recv(&mut rx, p, i as u64))
                .collect();
            let _ = recv(&mut rx, &p, 0);
            got.extend(
                genuine[k..]
                    .iter()
                    .enumerate()
                    .map(|(i, p)| recv(&mut rx, p, (k + i) as u64)),
            );
            let obs = observe(&mut rx, 0);
            // Nothing forged verifies: every proof the attacked run got, the twin got too.
            for g in &got {
                if let Got::Scope(..) = g {
                    assert!(expect.contains(g), "{name} at {k}: {g:?}");
                }
            }
            if got == expect && obs.events == t_obs.events && obs.fusa == t_obs.fusa {
                same += 1;
            }
        }
        outcome.insert(name, (same, genuine.len() - 1));
    }
    // An FS or FE whose number contradicts the frame header changes nothing anywhere (the
    // frame number is bound by the header). With the right number, an injected FE ends the
    // frame early (documented limit), and an injected FS is the genuine one early (the
    // genuine one is then a duplicate): those runs may differ, with nothing forged verified.
    for name in ["FS other number", "FE other number"] {
        let (same, all) = outcome[name];
        assert_eq!(same, all, "{name}: {outcome:?}");
    }
    assert!(outcome["FE same number"].0 < outcome["FE same number"].1);
}
