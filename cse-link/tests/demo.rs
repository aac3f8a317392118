//! The demo scenario end to end on a small frame: clean frames bit-exact, every attack
//! detected and attributed, for SEP and FSED.
#![allow(clippy::unwrap_used)]

use cse_core::{BlockConfig, CipherSuite, FrameConfig, KeyId, SecurityVariant, TagLen, TagMode};
use cse_link::Protocol;
use cse_link::demo::{self, Attack, Options};
use cse_link::scene::Scene;

fn opts(protocol: Protocol, mode: TagMode) -> Options {
    let b = |sv, suite| BlockConfig {
        sv,
        suite,
        tag_len: TagLen::L16,
        tag_mode: mode,
    };
    Options {
        scene: Scene::new(64, 12, demo::default_vc()),
        frames: 6,
        protocol,
        config: FrameConfig {
            top: b(SecurityVariant::FullIntegrity, CipherSuite::Aes256Gmac),
            image: b(
                SecurityVariant::FullIntegrityEncrypted,
                CipherSuite::Aes256Gcm,
            ),
            bottom: b(SecurityVariant::FullIntegrity, CipherSuite::Aes256Gmac),
            key_id: KeyId::default(),
        },
    }
}

fn check(o: &Options) {
    let mut calls = 0;
    let r = demo::run(o, &mut |_, _| calls += 1).unwrap();
    assert_eq!(calls, o.frames);
    assert_eq!(r.frames_ok, r.frames, "clean frames must arrive bit-exact");
    assert!(
        r.rollover,
        "KEY_UPDATE must roll the stream key at a frame boundary"
    );
    assert_eq!(r.attacks.len(), Attack::ALL.len());
    for a in &r.attacks {
        assert!(a.detected, "{:?} undetected: {}", a.attack, a.observed);
        assert!(a.attributed, "{:?} misattributed: {}", a.attack, a.observed);
    }
    assert!(r.passed());
}

#[test]
fn sep_demo_streams_bit_exact_and_detects_every_attack() {
    check(&opts(Protocol::Sep, TagMode::PerMessage));
}

#[test]
fn fsed_demo_streams_bit_exact_and_detects_every_attack() {
    check(&opts(Protocol::Fsed, TagMode::PerFrame));
}

#[test]
fn sv5_image_leaves_the_flipped_pixel_undetected_and_the_demo_fails() {
    // A test that the demo can fail: without a tag on the image, a flipped pixel with fixed
    // CRCs goes through, and the report says so.
    let mut o = opts(Protocol::Sep, TagMode::PerMessage);
    o.config.image = BlockConfig::no_security();
    let r = demo::run(&o, &mut |_, _| {}).unwrap();
    let flip = r
        .attacks
        .iter()
        .find(|a| a.attack == Attack::FlippedPixelBit)
        .unwrap();
    assert!(!flip.detected, "{}", flip.observed);
    assert!(!r.passed());
}
