//! 96-bit IV construction (stream id, packet number, salt) — to be completed.

/// A 96-bit GCM/GMAC/CTR initialisation vector.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Iv(pub [u8; 12]);

impl Iv {
    /// The IV bytes.
    pub const fn as_bytes(&self) -> &[u8; 12] {
        &self.0
    }
}
