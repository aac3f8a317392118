//! Authentication tags of every length the crate supports.

use core::fmt;

use subtle::ConstantTimeEq;

use crate::error::SecurityError;
use crate::model::TagLen;

/// A MAC or AEAD tag: the full 16-byte block and the length actually sent.
///
/// A truncated tag is the leftmost `len` bytes of the full block (NIST SP 800-38D section 5.2.1.2,
/// SP 800-38B section 6.2). Tags are public values (they travel on the wire), so `Tag` is `Copy`
/// and prints its bytes; it deliberately has no `PartialEq`: compare with [`Tag::verify`], which
/// runs in constant time.
#[derive(Clone, Copy)]
#[must_use = "a computed tag must be sent or verified"]
pub struct Tag {
    bytes: [u8; 16],
    len: TagLen,
}

impl Tag {
    /// A tag from a full 16-byte MAC output, truncated to `len`. Bytes beyond `len` are cleared.
    pub(crate) fn from_full(mut full: [u8; 16], len: TagLen) -> Tag {
        for b in full.iter_mut().skip(len.get()) {
            *b = 0;
        }
        Tag { bytes: full, len }
    }

    /// The tag bytes as sent: the leftmost [`Tag::len`] bytes.
    pub fn as_bytes(&self) -> &[u8] {
        // `TagLen::get` is at most 16 by construction; `get` keeps this panic-free regardless.
        self.bytes.get(..self.len.get()).unwrap_or(&self.bytes)
    }

    /// The tag length.
    pub fn len(&self) -> TagLen {
        self.len
    }

    /// Compares `received` with this tag in constant time (in the tag's bytes; the length is
    /// public).
    ///
    /// # Errors
    /// [`SecurityError::AuthFailed`] when `received` is not exactly [`Tag::len`] bytes long or
    /// differs from the tag in any byte.
    pub fn verify(&self, received: &[u8]) -> Result<(), SecurityError> {
        let ours = self.as_bytes();
        if received.len() != ours.len() {
            return Err(SecurityError::AuthFailed);
        }
        // Both zero-padded to 16 bytes (the bytes of `self` beyond `len` are zero) and compared
        // as two 64-bit words: constant time, and cheaper than `subtle`'s byte loop, which
        // showed in the cost of opening a 64-byte message.
        let mut theirs = [0u8; 16];
        for (d, s) in theirs.iter_mut().zip(received) {
            *d = *s;
        }
        let word = |b: &[u8; 16], i: usize| {
            let mut w = [0u8; 8];
            w.copy_from_slice(&b[8 * i..8 * i + 8]);
            u64::from_ne_bytes(w)
        };
        let eq = word(&self.bytes, 0).ct_eq(&word(&theirs, 0))
            & word(&self.bytes, 1).ct_eq(&word(&theirs, 1));
        if bool::from(eq) {
            Ok(())
        } else {
            Err(SecurityError::AuthFailed)
        }
    }
}

impl fmt::Debug for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Tag(")?;
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_keeps_the_leftmost_bytes() {
        let full: [u8; 16] = core::array::from_fn(|i| i as u8);
        let t = Tag::from_full(full, TagLen::L8);
        assert_eq!(t.as_bytes(), &full[..8]);
        let t4 = Tag::from_full(full, TagLen::hazmat_short_4());
        assert_eq!(t4.as_bytes(), &[0, 1, 2, 3]);
    }

    #[test]
    fn verify_rejects_wrong_length_and_wrong_bytes() {
        let full = [0x5a; 16];
        let t = Tag::from_full(full, TagLen::L12);
        assert!(t.verify(&full[..12]).is_ok());
        assert_eq!(t.verify(&full), Err(SecurityError::AuthFailed));
        assert_eq!(t.verify(&full[..8]), Err(SecurityError::AuthFailed));
        assert_eq!(t.verify(&[]), Err(SecurityError::AuthFailed));
        let mut bad = [0x5a; 12];
        bad[11] ^= 1;
        assert_eq!(t.verify(&bad), Err(SecurityError::AuthFailed));
    }

    #[test]
    fn debug_prints_only_the_sent_bytes() {
        extern crate std;
        let t = Tag::from_full([0xab; 16], TagLen::hazmat_short_4());
        assert_eq!(std::format!("{t:?}"), "Tag(abababab)");
    }
}
