//! Links `cse-core` into a `#![no_std]` static library and calls into it, so CI proves the
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
    u32::from(crc16_mcrf4xx(&[0xFF, 0x00])) ^ u32::from(ok) ^ u32::from(sep.is_ok())
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    loop {}
}
