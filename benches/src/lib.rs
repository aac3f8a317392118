//! Helpers shared by the criterion benches (inputs of CSI-2 sizes).

/// Message sizes of the engine benches: CCI-sized to a 64 KiB maximum long packet.
pub const SIZES: [usize; 6] = [64, 256, 1024, 5760, 11520, 65536];

/// A 12 MiB frame, the size of a 4K RAW12 frame rounded up.
pub const FRAME_BYTES: usize = 12 * 1024 * 1024;

/// A deterministic, non-trivial buffer of `len` bytes.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761) as u8 ^ (i >> 8) as u8)
        .collect()
}
