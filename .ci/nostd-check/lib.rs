//! Links `cse-core` and `ccise` into a `#![no_std]` static library and calls into it, so CI proves the
//! crates need neither std nor an allocator.
#![no_std]

use cse_core::crc::crc16_mcrf4xx;
use cse_core::{Block, BlockConfig, CipherSuite, FrameConfig, KeyId};

/// Exercises a few entry points so they are linked, not just compiled.
#[unsafe(no_mangle)]
pub extern "C" fn cse_nostd_check() -> u32 {
    let frame = FrameConfig::uniform(
        BlockConfig::full_integrity(CipherSuite::Aes128Cmac),
        KeyId::default(),
    );
    let ok = frame.validate().is_ok() && frame.block(Block::Image).sv.authenticates();
    // The SEP codec and agents link too.
    let sep = cse_sep::wire::Packet::new_checked(&[0u8; 16][..], &cse_core::Profile::DRAFT_1);
    let rx = cse_sep::Receiver::new(
        cse_sep::Settings::new(cse_core::csi2::VirtualChannel::default()),
        cse_core::Policy::PERMISSIVE,
        1,
    );
    let _ = rx.protocol_stats();
    u32::from(crc16_mcrf4xx(&[0xFF, 0x00]))
        ^ u32::from(ok)
        ^ u32::from(sep.is_ok())
        ^ ccise_check()
        ^ spdm_check()
        ^ fsed_check()
}

/// Seals a CCISE write and applies it to the simulated sensor.
fn ccise_check() -> u32 {
    use cse_core::crypto::SuiteKey;
    use cse_core::keys::{Salt, SecretKey};
    let key = |b| SuiteKey::new(CipherSuite::Aes128Cmac, &SecretKey::aes128([b; 16]), None);
    let keys = || match (key(1), key(2)) {
        (Ok(a), Ok(b)) => ccise::SessionKeys::new(a, b, Salt::new([3; 12])).ok(),
        _ => None,
    };
    let cfg = ccise::Config::new(0x36);
    let (Some(k1), Some(k2)) = (keys(), keys()) else {
        return 0;
    };
    let (Ok(mut ctrl), Ok(mut tgt)) = (ccise::Controller::new(cfg, k1), ccise::Target::new(cfg, k2))
    else {
        return 0;
    };
    let mut map = ccise::SimSensor::demo();
    let mut frame = [0u8; ccise::wire::MAX_FRAME_LEN];
    match ctrl.seal_write(0x0100, &[1, 2], &mut frame) {
        Ok(s) => u32::from(tgt.handle_write(&frame[..s.len], &mut map).is_ok()),
        Err(_) => 0,
    }
}

/// Runs the SPDM key schedule and seals and opens one secured record (no allocator).
fn spdm_check() -> u32 {
    use spdm_lite::crypto::{AeadAlgo, Digest, HashAlgo, RustCrypto};
    use spdm_lite::key_schedule::KeySchedule;
    use spdm_lite::msgs::Version;
    use spdm_lite::record::{self, DirectionKeys};
    let p = RustCrypto;
    let ks = KeySchedule::new(&p, HashAlgo::Sha384, Version::V12);
    let Ok(th) = Digest::from_slice(&[7; 48]) else {
        return 0;
    };
    let keys = || {
        let hs = ks.handshake_secret(&[1; 48], false).ok()?;
        let h = ks.handshake(hs, &th).ok()?;
        ks.traffic_keys(AeadAlgo::Aes256Gcm, &h.request.secret)
            .ok()
            .map(DirectionKeys::new)
    };
    let (Some(mut tx), Some(mut rx)) = (keys(), keys()) else {
        return 0;
    };
    let mut buf = [0u8; 64];
    let Ok(n) = record::seal(&p, 1, &mut tx, &[0x12, 0xE8, 0, 0], &[], &mut buf) else {
        return 0;
    };
    u32::from(record::open(&p, 1, &mut rx, &mut buf[..n]).is_ok())
}

/// Protects an FS with the FSED transmitter (frame header written).
fn fsed_check() -> u32 {
    use cse_core::csi2::VirtualChannel;
    use cse_core::keys::{Salt, SecretKey};
    let Ok(vc) = VirtualChannel::new(0) else {
        return 0;
    };
    let mut tx = cse_fsed::Transmitter::new(cse_fsed::Settings::new(vc), 1);
    let frame = FrameConfig::uniform(
        BlockConfig {
            tag_mode: cse_core::TagMode::PerFrame,
            ..BlockConfig::full_integrity(CipherSuite::Aes128Cmac)
        },
        KeyId::default(),
    );
    let km = cse_fsed::KeyMaterial::new(SecretKey::aes128([1; 16]), None, Salt::new([2; 12]));
    if tx.install_key(KeyId::default(), km).is_err() || tx.set_config(frame).is_err() {
        return 0;
    }
    let mut fs = [0u8, 1, 0, 0];
    cse_core::csi2::HeaderForm::Dphy.fill(&mut fs);
    let mut out = [0u8; cse_fsed::tx::MAX_INSERTED_LEN];
    match tx.protect(&mut fs, &mut out) {
        Ok(r) => r.after as u32,
        Err(_) => 0,
    }
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}
