//! One keyed engine per cipher suite, so protocol code never branches on the suite.

use core::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

#[cfg(feature = "ctr-cmac")]
use super::block::Aes;
use super::block::BuiltKey;
use super::cmac::{CMAC_BATCH_LANES, CmacKey, CmacState};
#[cfg(feature = "gcm")]
use super::gcm::{GcmKey, GmacState};
use super::tag::Tag;
use crate::error::{ConfigError, SecurityError};
use crate::keys::SecretKey;
use crate::model::{CipherSuite, KeySize, TagLen};
use crate::nonce::Iv;

/// The keys of one [`CipherSuite`], expanded.
///
/// | suite | [`SuiteKey::mac`] | [`SuiteKey::apply_keystream`] | [`SuiteKey::seal_in_place`] |
/// |---|---|---|---|
/// | AES-GMAC | GMAC under the IV | error | GMAC over AAD ‖ buffer, buffer unchanged |
/// | AES-CMAC | CMAC (IV unused) | error | CMAC over AAD ‖ buffer, buffer unchanged |
/// | AES-GCM | GMAC under the IV | CTR from `IV ‖ 2` | AES-GCM |
/// | AES-CTR+CMAC | CMAC with the MAC key | CTR from `IV ‖ 2` | CTR, then CMAC over AAD ‖ ciphertext |
///
/// CMAC takes no IV: the packet number it must bind is in the context block, which is part of
/// every MAC input. For CTR+CMAC this means the tag does **not** cover the IV itself: the
/// caller must derive the IV from values that the AAD covers (salt, stream id and the packet
/// number of the context block, as [`crate::nonce`] does), otherwise a wrong IV would decrypt
/// to garbage that still verifies. Not `Clone`; zeroized on drop; `Debug` shows only the suite.
pub struct SuiteKey {
    suite: CipherSuite,
    engine: Engine,
}

// The variants differ in size by a key schedule; a `SuiteKey` is long-lived and the crate does
// not allocate, so the enum stays unboxed.
#[allow(clippy::large_enum_variant)]
enum Engine {
    /// GMAC-only and GCM suites.
    #[cfg(feature = "gcm")]
    Gcm(GcmKey),
    /// CMAC-only suites.
    Cmac(CmacKey),
    /// CTR+CMAC: separate encryption and MAC keys.
    #[cfg(feature = "ctr-cmac")]
    CtrCmac { enc: Aes, mac: CmacKey },
}

impl ZeroizeOnDrop for SuiteKey {}

/// Whether this build has the engine and the key size of `suite` (cse-core features `gcm`,
/// `ctr-cmac`, `aes256`).
pub(crate) const fn suite_built(suite: CipherSuite) -> bool {
    let engine = match (suite.needs_mac_key(), suite.mac()) {
        (true, _) => cfg!(feature = "ctr-cmac"),
        (false, crate::model::MacAlgorithm::Gmac) => cfg!(feature = "gcm"),
        (false, crate::model::MacAlgorithm::Cmac) => true,
    };
    engine && (cfg!(feature = "aes256") || matches!(suite.key_size(), KeySize::Aes128))
}

fn check_size(suite: CipherSuite, key: &SecretKey) -> Result<(), ConfigError> {
    let expected = suite.key_size().len();
    let got = key.size().len();
    if got == expected {
        Ok(())
    } else {
        Err(ConfigError::KeyLength { got, expected })
    }
}

impl SuiteKey {
    /// Expands the keys of `suite`.
    ///
    /// # Errors
    /// - [`ConfigError::KeyLength`] when `key` (or `mac_key`) is not the suite's key size;
    /// - [`ConfigError::MacKey`] when `mac_key` is given for a suite without a separate MAC key,
    ///   or missing for a CTR+CMAC suite.
    pub fn new(
        suite: CipherSuite,
        key: &SecretKey,
        mac_key: Option<&SecretKey>,
    ) -> Result<SuiteKey, ConfigError> {
        Ok(SuiteKey::expand(SuiteKey::check(suite, key, mac_key)?))
    }

    /// The checks of [`SuiteKey::new`] alone, without expanding anything. A caller that
    /// builds several keys into one large value runs every check first and then writes the
    /// value in one piece with [`SuiteKey::expand`], which cannot fail, so the expanded keys
    /// are built in their final place instead of in a `Result` each and moved (on a
    /// microcontroller, each move of a key costs its size in stack).
    ///
    /// # Errors
    /// As [`SuiteKey::new`].
    pub fn check<'a>(
        suite: CipherSuite,
        key: &'a SecretKey,
        mac_key: Option<&'a SecretKey>,
    ) -> Result<CheckedKey<'a>, ConfigError> {
        if !suite_built(suite) {
            return Err(ConfigError::SuiteNotBuilt(suite));
        }
        check_size(suite, key)?;
        let mac_key = match (suite.needs_mac_key(), mac_key) {
            (true, Some(mk)) => {
                check_size(suite, mk)?;
                Some(BuiltKey::of(mk)?)
            }
            (false, None) => None,
            _ => return Err(ConfigError::MacKey),
        };
        Ok(CheckedKey {
            suite,
            key: BuiltKey::of(key)?,
            mac_key,
        })
    }

    /// Expands keys that passed [`SuiteKey::check`] (the same key as [`SuiteKey::new`]).
    #[inline]
    pub fn expand(checked: CheckedKey<'_>) -> SuiteKey {
        let CheckedKey {
            suite,
            key,
            mac_key,
        } = checked;
        SuiteKey {
            suite,
            // `check` let through only the suites of this build: the fallback arms are the
            // CMAC suites.
            engine: match mac_key {
                #[cfg(feature = "ctr-cmac")]
                Some(mk) => Engine::CtrCmac {
                    enc: Aes::with_engine(key, super::engine()),
                    mac: CmacKey::expand(mk),
                },
                _ => match suite.mac() {
                    #[cfg(feature = "gcm")]
                    crate::model::MacAlgorithm::Gmac => Engine::Gcm(GcmKey::expand(key)),
                    _ => Engine::Cmac(CmacKey::expand(key)),
                },
            },
        }
    }

    /// The suite.
    pub fn suite(&self) -> CipherSuite {
        self.suite
    }

    /// Starts a running MAC: GMAC under `iv` for GMAC and GCM suites, CMAC (ignoring `iv`) for
    /// CMAC and CTR+CMAC suites. The state is detached from this key (see [`MacState`]): pass
    /// this key to every [`MacState::update`], [`MacState::finalize`] and
    /// [`MacState::verify`].
    pub fn mac(&self, iv: &Iv) -> MacState {
        #[cfg(not(feature = "gcm"))]
        let _ = iv;
        match &self.engine {
            #[cfg(feature = "gcm")]
            Engine::Gcm(k) => MacState::Gmac(k.gmac(iv)),
            Engine::Cmac(k) => MacState::Cmac(k.start()),
            #[cfg(feature = "ctr-cmac")]
            Engine::CtrCmac { mac, .. } => MacState::Cmac(mac.start()),
        }
    }

    /// The MAC of one message given as pieces, in one call without a streaming state: the
    /// one-shot GMAC on the GMAC/GCM suites (the stitched engine hashes the pieces directly,
    /// nothing buffered), CMAC otherwise ([`CmacKey::mac`]). Equal to [`SuiteKey::mac`] +
    /// [`MacState::update`] per piece + [`MacState::finalize`]; `iv` is used by GMAC only.
    pub fn mac_pieces(&self, iv: &Iv, pieces: &[&[u8]], tag_len: TagLen) -> Tag {
        // Only GMAC takes an IV.
        #[cfg(not(feature = "gcm"))]
        let _ = iv;
        match &self.engine {
            #[cfg(feature = "gcm")]
            Engine::Gcm(k) => k.gmac_oneshot(iv, pieces, &[], tag_len),
            Engine::Cmac(k) => cmac_one(k, pieces, tag_len),
            #[cfg(feature = "ctr-cmac")]
            Engine::CtrCmac { mac, .. } => cmac_one(mac, pieces, tag_len),
        }
    }

    /// The MACs of many independent messages at once: `messages[i]` is an IV (used by GMAC
    /// only) and the message as pieces; `on_tag(i, tag)` receives its tag, truncated to
    /// `tag_len`. Reported in any order, each index exactly once.
    ///
    /// Equal, tag for tag, to [`SuiteKey::mac`] + [`MacState::update`] per piece +
    /// [`MacState::finalize`] per message, but for CMAC suites (and the MAC key of CTR+CMAC
    /// suites) up to [`CMAC_BATCH_LANES`] CBC chains advance together
    /// ([`CmacKey::mac_batch`]), and for GMAC/GCM suites the batch runs through
    /// [`GcmKey::gmac_batch`]. No allocation.
    pub fn mac_batch(
        &self,
        messages: &[(Iv, &[&[u8]])],
        tag_len: TagLen,
        mut on_tag: impl FnMut(usize, Tag),
    ) {
        // A build with CMAC suites only has one arm.
        #[cfg_attr(
            not(any(feature = "gcm", feature = "ctr-cmac")),
            allow(clippy::infallible_destructuring_match)
        )]
        let cmac = match &self.engine {
            #[cfg(feature = "gcm")]
            Engine::Gcm(k) => {
                k.gmac_batch(messages, tag_len, on_tag);
                return;
            }
            Engine::Cmac(k) => k,
            #[cfg(feature = "ctr-cmac")]
            Engine::CtrCmac { mac, .. } => mac,
        };
        for (c, chunk) in messages.chunks(CMAC_BATCH_LANES).enumerate() {
            let mut lanes: [&[&[u8]]; CMAC_BATCH_LANES] = [&[]; CMAC_BATCH_LANES];
            for (lane, (_, pieces)) in lanes.iter_mut().zip(chunk) {
                *lane = pieces;
            }
            let base = c * CMAC_BATCH_LANES;
            cmac.mac_batch(
                lanes.get(..chunk.len()).unwrap_or_default(),
                tag_len,
                |i, t| on_tag(base + i, t),
            );
        }
    }

    /// XORs the suite's CTR keystream (encryption key, counter from `IV ‖ 2`) into `buf`.
    ///
    /// # Errors
    /// [`ConfigError::SuiteDoesNotEncrypt`] for integrity-only suites.
    pub fn apply_keystream(&self, iv: &Iv, buf: &mut [u8]) -> Result<(), ConfigError> {
        match &self.engine {
            #[cfg(feature = "gcm")]
            Engine::Gcm(k) if self.suite.encrypts() => {
                k.apply_ctr(iv, buf);
                Ok(())
            }
            #[cfg(feature = "ctr-cmac")]
            Engine::CtrCmac { enc, .. } => {
                enc.apply_ctr(iv, buf);
                Ok(())
            }
            _ => {
                let _ = (iv, buf);
                Err(ConfigError::SuiteDoesNotEncrypt(self.suite))
            }
        }
    }

    /// [`SuiteKey::apply_keystream`] that also returns the CRC-16/MCRF4XX (the CSI-2 payload
    /// CRC) of `buf` before and after the keystream, `(crc16(input), crc16(output))`: what a
    /// CSI-2 receiver needs to check a ciphertext payload's CRC and write the plaintext's (or a
    /// transmitter the other way round). On the VAES-512 engine both CRCs are folded in the
    /// CTR pass itself, so the payload is read once; elsewhere CRC, CTR and CRC run one after
    /// the other.
    ///
    /// # Errors
    /// [`ConfigError::SuiteDoesNotEncrypt`] for integrity-only suites (`buf` untouched).
    pub fn apply_keystream_crc16(
        &self,
        iv: &Iv,
        buf: &mut [u8],
    ) -> Result<(u16, u16), ConfigError> {
        match &self.engine {
            #[cfg(feature = "gcm")]
            Engine::Gcm(k) if self.suite.encrypts() => Ok(k.apply_ctr_crc16(iv, buf)),
            #[cfg(feature = "ctr-cmac")]
            Engine::CtrCmac { enc, .. } => Ok(enc.apply_ctr_crc16(iv, buf)),
            _ => {
                let _ = (iv, buf);
                Err(ConfigError::SuiteDoesNotEncrypt(self.suite))
            }
        }
    }

    /// Protects one message: for encrypting suites encrypts `buf` in place and returns the tag
    /// over `aad` and the ciphertext (AES-GCM, or CTR then CMAC); for integrity-only suites
    /// leaves `buf` unchanged and returns the MAC over `aad ‖ buf`.
    pub fn seal_in_place(&self, iv: &Iv, aad: &[&[u8]], buf: &mut [u8], tag_len: TagLen) -> Tag {
        match &self.engine {
            #[cfg(feature = "gcm")]
            Engine::Gcm(k) if self.suite.encrypts() => k.seal_in_place(iv, aad, buf, tag_len),
            #[cfg(feature = "ctr-cmac")]
            Engine::CtrCmac { enc, mac } => {
                enc.apply_ctr(iv, buf);
                cmac_over(mac, aad, buf).finalize(mac, tag_len)
            }
            #[cfg(feature = "gcm")]
            Engine::Gcm(k) => k.gmac_oneshot(iv, aad, buf, tag_len),
            Engine::Cmac(_) => self.mac_over(iv, aad, buf).finalize(self, tag_len),
        }
    }

    /// [`SuiteKey::seal_in_place`] of `src` written into `dst[..src.len()]` (the rest of `dst`
    /// is left alone): the AES-GCM and AES-GMAC suites read `src` and write `dst` in one pass
    /// on the VAES-512 engine (no copy first; for GMAC when the AAD adds up to whole 16-byte
    /// blocks); the other suites and engines copy, then seal in place.
    ///
    /// # Errors
    /// [`ConfigError::BufferTooSmall`] when `dst` is shorter than `src`; nothing is written.
    pub fn seal_to(
        &self,
        iv: &Iv,
        aad: &[&[u8]],
        src: &[u8],
        dst: &mut [u8],
        tag_len: TagLen,
    ) -> Result<Tag, ConfigError> {
        #[cfg(feature = "gcm")]
        if let Engine::Gcm(k) = &self.engine {
            return if self.suite.encrypts() {
                k.seal_to(iv, aad, src, dst, tag_len)
            } else {
                k.gmac_to(iv, aad, src, dst, tag_len)
            };
        }
        let dst = super::seal_dst(src, dst)?;
        dst.copy_from_slice(src);
        Ok(self.seal_in_place(iv, aad, dst, tag_len))
    }

    /// [`SuiteKey::open_in_place`] of `src` written into `dst[..src.len()]` (the rest of `dst`
    /// is left alone), the tag verified before anything is released: on a mismatch
    /// `dst[..src.len()]` is zeroized. The AES-GCM suites run one pass from `src` to `dst` on
    /// the VAES-512 engine; the other suites and engines copy, then open in place.
    ///
    /// # Errors
    /// [`SecurityError::AuthFailed`] when the tag does not verify, and also when `dst` is
    /// shorter than `src` (refused like a bad tag: nothing is released, `dst` is zeroized).
    pub fn open_to(
        &self,
        iv: &Iv,
        aad: &[&[u8]],
        src: &[u8],
        dst: &mut [u8],
        tag: &[u8],
        tag_len: TagLen,
    ) -> Result<(), SecurityError> {
        #[cfg(feature = "gcm")]
        if let Engine::Gcm(k) = &self.engine
            && self.suite.encrypts()
        {
            return k.open_to(iv, aad, src, dst, tag, tag_len);
        }
        let dst = super::open_dst(src, dst)?;
        dst.copy_from_slice(src);
        self.open_in_place(iv, aad, dst, tag, tag_len)
    }

    /// Verifies one message and, for encrypting suites, decrypts `buf` in place. The tag is
    /// always verified (constant time, exactly `tag_len` bytes) **before** any byte is
    /// decrypted.
    ///
    /// # Errors
    /// [`SecurityError::AuthFailed`] when the tag does not verify; `buf` has then been zeroized
    /// (for integrity-only suites too, so unauthenticated bytes cannot be used by mistake).
    pub fn open_in_place(
        &self,
        iv: &Iv,
        aad: &[&[u8]],
        buf: &mut [u8],
        tag: &[u8],
        tag_len: TagLen,
    ) -> Result<(), SecurityError> {
        match &self.engine {
            #[cfg(feature = "gcm")]
            Engine::Gcm(k) if self.suite.encrypts() => k.open_in_place(iv, aad, buf, tag, tag_len),
            #[cfg(feature = "ctr-cmac")]
            Engine::CtrCmac { enc, mac } => {
                if let Err(e) = cmac_over(mac, aad, buf).verify(mac, tag, tag_len) {
                    buf.zeroize();
                    return Err(e);
                }
                enc.apply_ctr(iv, buf);
                Ok(())
            }
            _ => {
                let r = match &self.engine {
                    #[cfg(feature = "gcm")]
                    Engine::Gcm(k) => k.gmac_oneshot(iv, aad, buf, tag_len).verify(tag),
                    _ => self.mac_over(iv, aad, buf).verify(self, tag, tag_len),
                };
                if r.is_err() {
                    buf.zeroize();
                }
                r
            }
        }
    }

    fn mac_over(&self, iv: &Iv, aad: &[&[u8]], buf: &[u8]) -> MacState {
        let mut m = self.mac(iv);
        for p in aad {
            m.update(self, p);
        }
        m.update(self, buf);
        m
    }

    /// The GMAC/GCM key, for the GMAC and GCM suites.
    #[cfg(feature = "gcm")]
    fn gcm(&self) -> Option<&GcmKey> {
        match &self.engine {
            Engine::Gcm(k) => Some(k),
            _ => None,
        }
    }

    /// The CMAC key, for the CMAC and CTR+CMAC suites.
    fn cmac(&self) -> Option<&CmacKey> {
        match &self.engine {
            Engine::Cmac(k) => Some(k),
            #[cfg(feature = "ctr-cmac")]
            Engine::CtrCmac { mac, .. } => Some(mac),
            #[cfg(feature = "gcm")]
            Engine::Gcm(_) => None,
        }
    }
}

#[cfg(feature = "ctr-cmac")]
fn cmac_over(key: &CmacKey, aad: &[&[u8]], buf: &[u8]) -> CmacState {
    let mut m = key.start();
    for p in aad {
        m.update(key, p);
    }
    m.update(key, buf);
    m
}

/// Keys that passed [`SuiteKey::check`], borrowed, ready for [`SuiteKey::expand`]. `Debug`
/// shows only the suite.
#[derive(Clone, Copy)]
pub struct CheckedKey<'a> {
    suite: CipherSuite,
    key: BuiltKey<'a>,
    mac_key: Option<BuiltKey<'a>>,
}

impl CheckedKey<'_> {
    /// The suite.
    pub fn suite(&self) -> CipherSuite {
        self.suite
    }
}

impl fmt::Debug for CheckedKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CheckedKey")
            .field("suite", &self.suite)
            .finish_non_exhaustive()
    }
}

impl fmt::Debug for SuiteKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SuiteKey")
            .field("suite", &self.suite)
            .finish_non_exhaustive()
    }
}

/// A running MAC of a suite: GMAC or CMAC, started by [`SuiteKey::mac`].
///
/// Detached from its key: the state holds only the running hash or chaining value, the GMAC
/// mask, the length and a few buffered bytes (no copy of the key's precomputed powers of `H`
/// or of its AES key schedule), so it is small, cheap to start and can be stored next to the
/// key (one per open tag scope) without borrowing it. Every call takes the [`SuiteKey`] that
/// started it. With another key the tag does not verify (never a panic): under a key of the
/// same kind the MAC continues under the wrong key; under a key of another kind (GMAC state,
/// CMAC key or the reverse) the state is poisoned, [`MacState::verify`] always fails and
/// [`MacState::finalize`] returns an all-zero tag. Not `Clone`; zeroized on drop.
#[derive(Debug)]
#[non_exhaustive]
pub enum MacState {
    /// GMAC (GMAC and GCM suites; cse-core feature `gcm`).
    #[cfg(feature = "gcm")]
    Gmac(GmacState),
    /// CMAC (CMAC and CTR+CMAC suites).
    Cmac(CmacState),
}

impl ZeroizeOnDrop for MacState {}

impl MacState {
    /// Absorbs the next piece of the message (any length, including empty); `key` must be the
    /// key that started this state.
    pub fn update(&mut self, key: &SuiteKey, piece: &[u8]) {
        match self {
            #[cfg(feature = "gcm")]
            MacState::Gmac(s) => match key.gcm() {
                Some(k) => s.update(k, piece),
                None => s.poison(),
            },
            MacState::Cmac(s) => match key.cmac() {
                Some(k) => s.update(k, piece),
                None => s.poison(),
            },
        }
    }

    /// The tag, truncated to `tag_len`; `key` must be the key that started this state.
    pub fn finalize(self, key: &SuiteKey, tag_len: TagLen) -> Tag {
        match self {
            #[cfg(feature = "gcm")]
            MacState::Gmac(mut s) => match key.gcm() {
                Some(k) => s.finalize(k, tag_len),
                None => {
                    s.poison();
                    Tag::from_full([0; 16], tag_len)
                }
            },
            MacState::Cmac(mut s) => match key.cmac() {
                Some(k) => s.finalize(k, tag_len),
                None => {
                    s.poison();
                    Tag::from_full([0; 16], tag_len)
                }
            },
        }
    }

    /// Verifies `received` (exactly `tag_len` bytes) in constant time; `key` must be the key
    /// that started this state.
    ///
    /// # Errors
    /// [`SecurityError::AuthFailed`] on any mismatch, and always when the state is poisoned.
    pub fn verify(
        self,
        key: &SuiteKey,
        received: &[u8],
        tag_len: TagLen,
    ) -> Result<(), SecurityError> {
        match self {
            #[cfg(feature = "gcm")]
            MacState::Gmac(s) => match key.gcm() {
                Some(k) => s.verify(k, received, tag_len),
                None => Err(SecurityError::AuthFailed),
            },
            MacState::Cmac(s) => match key.cmac() {
                Some(k) => s.verify(k, received, tag_len),
                None => Err(SecurityError::AuthFailed),
            },
        }
    }

    /// Verifies the MAC of everything absorbed so far followed by `tail`, without consuming or
    /// changing this state: a receiver keeps a scope open when a forged record fails, so the
    /// genuine record that follows still verifies. The copy made inside (of the small detached
    /// state only) is zeroized on drop.
    ///
    /// # Errors
    /// [`SecurityError::AuthFailed`] on any mismatch.
    pub fn verify_continued(
        &self,
        key: &SuiteKey,
        tail: &[&[u8]],
        received: &[u8],
        tag_len: TagLen,
    ) -> Result<(), SecurityError> {
        let mut copy = match self {
            #[cfg(feature = "gcm")]
            MacState::Gmac(s) => MacState::Gmac(s.fork()),
            MacState::Cmac(s) => MacState::Cmac(s.fork()),
        };
        for piece in tail {
            copy.update(key, piece);
        }
        copy.verify(key, received, tag_len)
    }
}

/// The CMAC of one message given as pieces: on x86-64 one chain of the lane code (the
/// chaining value stays in a register: [`CmacKey::mac`]); elsewhere the streaming state, whose
/// stack frame is a fraction of the batch machinery's (sensor MCUs).
fn cmac_one(k: &CmacKey, pieces: &[&[u8]], tag_len: TagLen) -> Tag {
    #[cfg(target_arch = "x86_64")]
    {
        k.mac(pieces, tag_len)
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let mut s = k.start();
        for p in pieces {
            s.update(k, p);
        }
        s.finalize(k, tag_len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::MacAlgorithm;

    /// A GMAC state continued under a CMAC key (or the reverse) is poisoned: it never
    /// verifies, not even the all-zero tag its `finalize` returns, and the genuine tag under
    /// the right key still verifies from the untouched original.
    #[test]
    #[cfg(all(feature = "gcm", feature = "ctr-cmac"))]
    fn a_state_continued_under_a_key_of_another_kind_never_verifies() {
        let iv = Iv([4; 12]);
        let gmac =
            SuiteKey::new(CipherSuite::Aes128Gmac, &secret(KeySize::Aes128, 1), None).unwrap();
        let cmac =
            SuiteKey::new(CipherSuite::Aes128Cmac, &secret(KeySize::Aes128, 1), None).unwrap();
        for (right, wrong) in [(&gmac, &cmac), (&cmac, &gmac)] {
            let mut m = right.mac(&iv);
            m.update(right, b"context");
            let good = {
                let mut g = right.mac(&iv);
                g.update(right, b"context");
                g.update(right, b"payload");
                g.finalize(right, TagLen::L16)
            };
            let mut bad = match &m {
                MacState::Gmac(s) => MacState::Gmac(s.fork()),
                MacState::Cmac(s) => MacState::Cmac(s.fork()),
            };
            bad.update(wrong, b"payload");
            let zero = [0u8; 16];
            assert!(
                bad.verify_continued(right, &[], &zero, TagLen::L16)
                    .is_err()
            );
            assert!(
                bad.verify_continued(right, &[], good.as_bytes(), TagLen::L16)
                    .is_err()
            );
            assert_eq!(bad.finalize(right, TagLen::L16).as_bytes(), &zero[..]);
            // Finalizing under the wrong kind: all zero, and verify under it fails.
            let mut m2 = right.mac(&iv);
            m2.update(right, b"context");
            m2.update(right, b"payload");
            assert!(
                m.verify_continued(wrong, &[b"payload"], good.as_bytes(), TagLen::L16)
                    .is_err()
            );
            assert_eq!(m2.finalize(wrong, TagLen::L16).as_bytes(), &zero[..]);
            m.verify_continued(right, &[b"payload"], good.as_bytes(), TagLen::L16)
                .unwrap();
        }
        assert!(size_of::<MacState>() <= 128, "{}", size_of::<MacState>());
    }

    /// The constructors that take a key of any size expand the sizes of this build and refuse
    /// 256-bit keys without the feature `aes256` (run by `.ci/firmware` without it); a built
    /// AES-128 CMAC key gives the RFC 4493 tag of the empty message.
    #[test]
    fn try_new_takes_the_key_sizes_of_this_build() {
        use crate::crypto::{Aes, CmacKey};
        let k128 = SecretKey::aes128(hex_literal::hex!("2b7e151628aed2a6abf7158809cf4f3c"));
        let cmac = CmacKey::try_new(&k128).unwrap();
        assert_eq!(
            cmac.mac(&[], TagLen::L16).as_bytes(),
            &hex_literal::hex!("bb1d6929e95937287fa37d129b756746")[..]
        );
        assert_eq!(
            Aes::try_new(&k128).map(|a| a.key_size()).ok(),
            Some(KeySize::Aes128)
        );
        let k256 = secret(KeySize::Aes256, 1);
        let (aes, cmac) = (Aes::try_new(&k256), CmacKey::try_new(&k256));
        if cfg!(feature = "aes256") {
            assert_eq!(aes.map(|a| a.key_size()).ok(), Some(KeySize::Aes256));
            assert!(cmac.is_ok());
        } else {
            let refused = Some(ConfigError::KeySizeNotBuilt(KeySize::Aes256));
            assert_eq!(aes.err(), refused);
            assert_eq!(cmac.err(), refused);
        }
    }

    fn secret(size: KeySize, byte: u8) -> SecretKey {
        match size {
            KeySize::Aes128 => SecretKey::aes128([byte; 16]),
            KeySize::Aes256 => SecretKey::aes256([byte; 32]),
        }
    }

    /// Every suite either expands (when its engine is built) or is refused as not built,
    /// whatever the features of this build: `cargo test -p cse-core --lib` checks the full
    /// build, `--no-default-features` the CMAC-only one (run by `.ci/firmware`).
    #[test]
    fn suites_of_this_build_expand_and_the_others_are_refused() {
        for suite in CipherSuite::ALL {
            let key = secret(suite.key_size(), 1);
            let mac = suite.needs_mac_key().then(|| secret(suite.key_size(), 2));
            let built = match (suite.needs_mac_key(), suite.mac()) {
                (true, _) => cfg!(feature = "ctr-cmac"),
                (false, MacAlgorithm::Gmac) => cfg!(feature = "gcm"),
                (false, MacAlgorithm::Cmac) => true,
            } && (suite.key_size() == KeySize::Aes128 || cfg!(feature = "aes256"));
            let r = SuiteKey::new(suite, &key, mac.as_ref());
            if built {
                let k = r.unwrap_or_else(|e| panic!("{suite:?}: {e}"));
                assert_eq!(k.suite(), suite);
                // A built key MACs deterministically and binds its key.
                let iv = Iv([3; 12]);
                let other = SuiteKey::new(
                    suite,
                    &secret(suite.key_size(), 9),
                    mac.as_ref().map(|_| &key),
                )
                .unwrap_or_else(|e| panic!("{suite:?}: {e}"));
                let tag = |k: &SuiteKey| {
                    let mut m = k.mac(&iv);
                    m.update(k, b"message");
                    m.finalize(k, TagLen::L16)
                };
                assert_eq!(tag(&k).as_bytes(), tag(&k).as_bytes());
                assert_ne!(tag(&k).as_bytes(), tag(&other).as_bytes());
            } else {
                assert_eq!(r.err(), Some(ConfigError::SuiteNotBuilt(suite)));
                // Refused before any size check: a wrong-size key gives the same answer.
                let wrong = secret(
                    match suite.key_size() {
                        KeySize::Aes128 => KeySize::Aes256,
                        KeySize::Aes256 => KeySize::Aes128,
                    },
                    1,
                );
                assert_eq!(
                    SuiteKey::check(suite, &wrong, None).err(),
                    Some(ConfigError::SuiteNotBuilt(suite))
                );
            }
        }
    }
}
