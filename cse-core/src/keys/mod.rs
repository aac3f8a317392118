//! Key material, key slots and key usage limits.
//!
//! - [`SecretKey`]: a 128- or 256-bit AES key. Not `Clone`, zeroized on drop, `Debug` prints
//!   `SecretKey { .. }`.
//! - [`Salt`]: the 12-byte IV salt of a stream key (zeroized on drop, redacted in `Debug`).
//! - [`KeySlots`]: two slots addressed by a 2-bit [`KeyId`](crate::KeyId), for make-before-break
//!   rollover at a frame boundary.
//! - [`KeyUsage`]: invocation and frame-counter limits with a soft limit that asks for a rekey
//!   and a hard limit that refuses.

use core::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::ConfigError;
use crate::model::KeySize;

mod slots;
mod usage;

pub use slots::*;
pub use usage::*;

/// A 128- or 256-bit AES key.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct SecretKey {
    bytes: [u8; 32],
    #[zeroize(skip)]
    size: KeySize,
}

impl SecretKey {
    /// A 128-bit key.
    pub fn aes128(mut bytes: [u8; 16]) -> Self {
        let mut k = SecretKey {
            bytes: [0; 32],
            size: KeySize::Aes128,
        };
        k.bytes[..16].copy_from_slice(&bytes);
        bytes.zeroize();
        k
    }

    /// A 256-bit key.
    pub fn aes256(mut bytes: [u8; 32]) -> Self {
        let k = SecretKey {
            bytes,
            size: KeySize::Aes256,
        };
        bytes.zeroize();
        k
    }

    /// A key of the given size from a slice (for keys coming out of a KDF).
    ///
    /// # Errors
    /// [`ConfigError::KeyLength`] when `bytes.len()` is not the size's length.
    pub fn from_slice(size: KeySize, bytes: &[u8]) -> Result<Self, ConfigError> {
        if bytes.len() != size.len() {
            return Err(ConfigError::KeyLength {
                got: bytes.len(),
                expected: size.len(),
            });
        }
        let mut k = SecretKey {
            bytes: [0; 32],
            size,
        };
        k.bytes[..bytes.len()].copy_from_slice(bytes);
        Ok(k)
    }

    /// The key size.
    pub fn size(&self) -> KeySize {
        self.size
    }

    /// **Hazmat.** The raw key bytes, for expanding a key schedule. Do not copy them elsewhere.
    pub fn expose_secret(&self) -> &[u8] {
        &self.bytes[..self.size.len()]
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey { .. }")
    }
}

/// The 12-byte IV salt of a stream key.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct Salt([u8; 12]);

impl Salt {
    /// A salt from its bytes.
    pub fn new(bytes: [u8; 12]) -> Self {
        Salt(bytes)
    }

    /// A salt from a slice of exactly 12 bytes.
    ///
    /// # Errors
    /// [`ConfigError::KeyLength`] for any other length.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, ConfigError> {
        let arr: [u8; 12] = bytes.try_into().map_err(|_| ConfigError::KeyLength {
            got: bytes.len(),
            expected: 12,
        })?;
        Ok(Salt(arr))
    }

    /// The salt bytes.
    pub fn as_bytes(&self) -> &[u8; 12] {
        &self.0
    }
}

impl fmt::Debug for Salt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Salt { .. }")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_key_bytes() {
        extern crate std;
        let k = SecretKey::aes128([0xA5; 16]);
        let s = std::format!("{k:?} {:?}", Salt::new([0x5A; 12]));
        assert_eq!(s, "SecretKey { .. } Salt { .. }");
    }

    #[test]
    fn from_slice_checks_the_length() {
        assert!(SecretKey::from_slice(KeySize::Aes256, &[0; 16]).is_err());
        let k = SecretKey::from_slice(KeySize::Aes256, &[7; 32]);
        assert_eq!(k.map(|k| k.expose_secret().len()).ok(), Some(32));
        assert!(Salt::from_slice(&[0; 11]).is_err());
    }
}
