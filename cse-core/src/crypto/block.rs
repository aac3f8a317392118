//! The expanded AES block cipher and the CTR keystream.

use core::fmt;

use aes::Aes128Enc;
#[cfg(feature = "aes256")]
use aes::Aes256Enc;
use aes::cipher::consts::U16;
use aes::cipher::typenum::Unsigned;
use aes::cipher::{
    Array, BlockCipherEncBackend, BlockCipherEncClosure, BlockCipherEncrypt, BlockSizeUser,
    KeyInit, ParBlocks,
};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::Engine;
use crate::error::ConfigError;
use crate::keys::SecretKey;
use crate::model::KeySize;
use crate::nonce::Iv;

/// One AES block.
pub(crate) type Block = aes::Block;

/// An expanded AES-128 or AES-256 encryption key schedule (AES-256 with the cse-core feature
/// `aes256`, on by default).
///
/// Built from a [`SecretKey`]. On x86_64 CPUs where one of our stitched engines runs
/// ([`Engine::AesNi`], [`Engine::Vaes256`], [`Engine::Vaes512`], see [`super::engine`]) the
/// key is also expanded for it (single blocks and [`Aes::apply_ctr`] run there); otherwise the
/// `aes` crate picks AES-NI / VAES / ARMv8 at run time and falls back to its constant-time
/// bitsliced implementation. Not `Clone`; the round keys are zeroized
/// on drop (the `aes` crate's `zeroize` feature) and `Debug` prints `Aes { .. }`.
pub struct Aes {
    inner: Inner,
    /// Our key schedule for the stitched engine the key runs, if any (see [`super::simd`]).
    #[cfg(target_arch = "x86_64")]
    fast: Option<super::simd::FastAes>,
}

enum Inner {
    Aes128(Aes128Enc),
    #[cfg(feature = "aes256")]
    Aes256(Aes256Enc),
}

/// A key of a size this build expands: AES-128 always, AES-256 with the feature `aes256`.
/// What the expansion paths take, so that they cannot fail (the size was checked when this was
/// made) and a build without `aes256` has no AES-256 code at all.
#[derive(Clone, Copy)]
pub(crate) struct BuiltKey<'a> {
    key: &'a SecretKey,
    size: BuiltSize,
}

#[derive(Clone, Copy)]
enum BuiltSize {
    Aes128,
    #[cfg(feature = "aes256")]
    Aes256,
}

impl<'a> BuiltKey<'a> {
    /// `key`, if this build expands keys of its size.
    ///
    /// # Errors
    /// [`ConfigError::KeySizeNotBuilt`] for a 256-bit key without the feature `aes256`.
    pub(crate) fn of(key: &'a SecretKey) -> Result<Self, ConfigError> {
        let size = match key.size() {
            KeySize::Aes128 => BuiltSize::Aes128,
            #[cfg(feature = "aes256")]
            KeySize::Aes256 => BuiltSize::Aes256,
            #[cfg(not(feature = "aes256"))]
            KeySize::Aes256 => return Err(ConfigError::KeySizeNotBuilt(KeySize::Aes256)),
        };
        Ok(BuiltKey { key, size })
    }

    /// `key`: with the feature `aes256` every size is built.
    #[cfg(feature = "aes256")]
    pub(crate) fn any(key: &'a SecretKey) -> Self {
        let size = match key.size() {
            KeySize::Aes128 => BuiltSize::Aes128,
            KeySize::Aes256 => BuiltSize::Aes256,
        };
        BuiltKey { key, size }
    }

    /// The key bytes (16 or 32), for the x86-64 CMAC lane chains' own key schedule.
    #[cfg(target_arch = "x86_64")]
    pub(crate) fn secret_bytes(&self) -> &'a [u8] {
        self.key.expose_secret()
    }
}

impl ZeroizeOnDrop for Aes {}

/// Copies the key into a fixed-size array without any length check that could panic (a
/// [`SecretKey`] always holds exactly `size.len()` bytes), builds the cipher, wipes the copy.
fn init<C: KeyInit>(key: &SecretKey) -> C {
    let mut k = aes::cipher::Key::<C>::default();
    for (d, s) in k.iter_mut().zip(key.expose_secret()) {
        *d = *s;
    }
    let c = C::new(&k);
    k.as_mut_slice().zeroize();
    c
}

impl Aes {
    /// Expands `key` (AES-128 or AES-256 depending on its size) for the selected engine
    /// ([`super::engine`]). Only with the feature `aes256` (on by default), where every key size
    /// is built; [`Aes::try_new`] in every build.
    #[cfg(feature = "aes256")]
    pub fn new(key: &SecretKey) -> Aes {
        Aes::with_engine(BuiltKey::any(key), super::engine())
    }

    /// Expands `key` for the selected engine, if this build has its key size.
    ///
    /// # Errors
    /// [`ConfigError::KeySizeNotBuilt`] for a 256-bit key without the feature `aes256`.
    pub fn try_new(key: &SecretKey) -> Result<Aes, ConfigError> {
        Ok(Aes::with_engine(BuiltKey::of(key)?, super::engine()))
    }

    /// Expands `key` for `engine`: with our key schedule when `engine` is a stitched engine this
    /// CPU runs, else the `aes` crate alone (tests and the fuzz oracle compare the paths on one
    /// machine).
    pub(crate) fn with_engine(key: BuiltKey<'_>, engine: Engine) -> Aes {
        let BuiltKey { key, size } = key;
        let inner = match size {
            BuiltSize::Aes128 => Inner::Aes128(init(key)),
            #[cfg(feature = "aes256")]
            BuiltSize::Aes256 => Inner::Aes256(init(key)),
        };
        #[cfg(target_arch = "x86_64")]
        let fast = super::simd::FastAes::new(engine, key.expose_secret());
        #[cfg(not(target_arch = "x86_64"))]
        let _ = engine;
        Aes {
            inner,
            #[cfg(target_arch = "x86_64")]
            fast,
        }
    }

    /// Our stitched engine's key schedule, if this key runs one.
    #[cfg(target_arch = "x86_64")]
    pub(crate) fn fast(&self) -> Option<&super::simd::FastAes> {
        self.fast.as_ref()
    }

    /// The stitched engine this key runs, if any.
    pub(crate) fn stitched_engine(&self) -> Option<Engine> {
        #[cfg(target_arch = "x86_64")]
        if let Some(f) = &self.fast {
            return Some(f.engine());
        }
        None
    }

    /// Drops our key schedule: from now on the `aes` crate runs (test hook).
    pub(crate) fn drop_fast(&mut self) {
        #[cfg(target_arch = "x86_64")]
        {
            self.fast = None;
        }
    }

    /// The key size.
    pub fn key_size(&self) -> KeySize {
        match self.inner {
            Inner::Aes128(_) => KeySize::Aes128,
            #[cfg(feature = "aes256")]
            Inner::Aes256(_) => KeySize::Aes256,
        }
    }

    /// Encrypts one block in place.
    pub(crate) fn encrypt_block(&self, block: &mut Block) {
        #[cfg(target_arch = "x86_64")]
        if let Some(rk) = &self.fast {
            rk.encrypt_block(&mut block.0);
            return;
        }
        match &self.inner {
            Inner::Aes128(c) => c.encrypt_block(block),
            #[cfg(feature = "aes256")]
            Inner::Aes256(c) => c.encrypt_block(block),
        }
    }

    /// CBC-MAC chaining: for each 16-byte block `b` of `blocks` (whose length is a multiple of
    /// 16; a shorter tail is ignored), `x = E_K(x XOR b)`, in one call into the `aes` backend
    /// (round keys loaded once, not per block).
    pub(crate) fn cbc_chain(&self, x: &mut Block, blocks: &[u8]) {
        if blocks.len() >= 16 {
            self.with_backend(CbcChain { x, blocks });
        }
    }

    /// Runs `job` with the block cipher backend the `aes` crate selected for this machine.
    ///
    /// The backend (AES-NI, VAES-256, VAES-512, ARMv8, software) is chosen and its round keys are
    /// prepared once per call, and `job` is compiled into the backend's target-feature context,
    /// so a job that processes a whole message (counter generation, XOR, GHASH feeding) runs with
    /// the wide registers enabled and pays the dispatch once per message instead of once per
    /// chunk.
    pub(crate) fn with_backend(&self, job: impl BlockCipherEncClosure<BlockSize = U16>) {
        match &self.inner {
            Inner::Aes128(c) => c.encrypt_with_backend(job),
            #[cfg(feature = "aes256")]
            Inner::Aes256(c) => c.encrypt_with_backend(job),
        }
    }

    /// XORs the CTR keystream into `buf`, starting at counter block `IV ‖ 0x00000002`.
    ///
    /// This is the GCTR function of NIST SP 800-38D with the GCM starting counter for a 96-bit
    /// IV (`J0 = IV ‖ 1`, first keystream block from `inc32(J0)`), so CTR+CMAC suites and GCM
    /// share one CTR. The counter is the last 32 bits, big-endian, incremented modulo 2^32
    /// (`inc32`). The function is its own inverse. A buffer longer than 2^36 - 32 bytes would
    /// wrap the counter; SP 800-38D forbids such messages and callers keep far below it.
    pub fn apply_ctr(&self, iv: &Iv, buf: &mut [u8]) {
        #[cfg(target_arch = "x86_64")]
        if let Some(rk) = &self.fast {
            rk.ctr(iv.as_bytes(), buf);
            return;
        }
        self.with_backend(CtrJob {
            iv,
            buf,
            sink: NoSink,
        });
    }
}

impl Aes {
    /// [`Aes::apply_ctr`] that also returns the CRC-16/MCRF4XX of `buf` before and after the
    /// keystream: `(crc16(input), crc16(output))`. On the VAES-512 engine the two CRCs are
    /// folded in the CTR pass itself (each byte loaded once); elsewhere three passes.
    pub fn apply_ctr_crc16(&self, iv: &Iv, buf: &mut [u8]) -> (u16, u16) {
        #[cfg(target_arch = "x86_64")]
        if let Some(r) = self
            .fast
            .as_ref()
            .and_then(|f| f.ctr_crc16(iv.as_bytes(), buf))
        {
            return r;
        }
        let before = crate::crc::crc16_mcrf4xx(buf);
        self.apply_ctr(iv, buf);
        (before, crate::crc::crc16_mcrf4xx(buf))
    }
}

/// Receives every chunk of a CTR pass right after it was XORed (the GHASH of GCM-AE).
pub(crate) trait ChunkSink {
    /// `chunk` is the output of the CTR pass for this stretch of the buffer.
    fn chunk(&mut self, chunk: &[u8]);
}

/// A [`ChunkSink`] that ignores its input (plain CTR).
pub(crate) struct NoSink;

impl ChunkSink for NoSink {
    #[inline(always)]
    fn chunk(&mut self, _chunk: &[u8]) {}
}

/// The counter block `IV ‖ BE32(counter)`.
#[inline(always)]
pub(crate) fn counter_block(iv: &[u8; 12], counter: u32) -> Block {
    let mut b = Block::default();
    b[..12].copy_from_slice(iv);
    b[12..].copy_from_slice(&counter.to_be_bytes());
    b
}

/// The CTR pass of GCM over `buf` from counter block `IV ‖ 2`, inside a backend context: counter
/// blocks are built, encrypted a whole parallel batch at a time (`B::ParBlocksSize` blocks: 8 for
/// AES-NI, 30 for VAES-256, 64 for VAES-512) and XORed into `buf`; each finished chunk is handed
/// to `sink` while it is still in the L1 cache. The keystream buffer is zeroized at the end.
#[inline(always)]
pub(crate) fn ctr_with<B, S>(backend: &B, iv: &[u8; 12], buf: &mut [u8], sink: &mut S)
where
    B: BlockCipherEncBackend<BlockSize = U16>,
    S: ChunkSink,
{
    let par = B::ParBlocksSize::USIZE;
    let mut ks: ParBlocks<B> = Default::default();
    let mut counter: u32 = 2;
    for chunk in buf.chunks_mut(par * 16) {
        let nblocks = chunk.len().div_ceil(16);
        if nblocks >= par {
            for blk in ks.iter_mut() {
                *blk = counter_block(iv, counter);
                counter = counter.wrapping_add(1);
            }
            backend.encrypt_par_blocks_inplace(&mut ks);
        } else if let Some(ks) = ks.get_mut(..nblocks) {
            for blk in ks.iter_mut() {
                *blk = counter_block(iv, counter);
                counter = counter.wrapping_add(1);
            }
            backend.encrypt_tail_blocks_inplace(ks);
        }
        let (whole, tail) = Array::<u8, U16>::slice_as_chunks_mut(chunk);
        for (d, k) in whole.iter_mut().zip(ks.iter()) {
            xor16(d, k);
        }
        if let Some(last) = ks.get(whole.len()) {
            for (d, k) in tail.iter_mut().zip(last.iter()) {
                *d ^= *k;
            }
        }
        sink.chunk(chunk);
    }
    for b in ks.iter_mut() {
        b.as_mut_slice().zeroize();
    }
}

/// [`Aes::apply_ctr`] as a backend job.
struct CtrJob<'a, S: ChunkSink> {
    iv: &'a Iv,
    buf: &'a mut [u8],
    sink: S,
}

impl<S: ChunkSink> BlockSizeUser for CtrJob<'_, S> {
    type BlockSize = U16;
}

impl<S: ChunkSink> BlockCipherEncClosure for CtrJob<'_, S> {
    #[inline(always)]
    fn call<B: BlockCipherEncBackend<BlockSize = U16>>(mut self, backend: &B) {
        ctr_with(backend, self.iv.as_bytes(), self.buf, &mut self.sink);
    }
}

#[inline(always)]
pub(crate) fn xor16(d: &mut Block, k: &Block) {
    let x = u128::from_ne_bytes(d.0) ^ u128::from_ne_bytes(k.0);
    d.0 = x.to_ne_bytes();
}

/// The serial CBC-MAC job of [`Aes::cbc_chain`].
struct CbcChain<'a> {
    x: &'a mut Block,
    blocks: &'a [u8],
}

impl BlockSizeUser for CbcChain<'_> {
    type BlockSize = U16;
}

impl BlockCipherEncClosure for CbcChain<'_> {
    #[inline(always)]
    fn call<B: BlockCipherEncBackend<BlockSize = U16>>(self, backend: &B) {
        let (chunks, _) = Array::<u8, U16>::slice_as_chunks(self.blocks);
        for b in chunks {
            xor16(self.x, b);
            backend.encrypt_block(self.x.into());
        }
    }
}

impl fmt::Debug for Aes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Aes { .. }")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hex_literal::hex;

    #[test]
    fn aes128_matches_fips197_appendix_c1() {
        // FIPS 197, Appendix C.1 (AES-128 example vector).
        let aes =
            Aes::try_new(&SecretKey::aes128(hex!("000102030405060708090a0b0c0d0e0f"))).unwrap();
        let mut b = Block::from(hex!("00112233445566778899aabbccddeeff"));
        aes.encrypt_block(&mut b);
        assert_eq!(b.0, hex!("69c4e0d86a7b0430d8cdb78070b4c55a"));
    }

    #[test]
    #[cfg(feature = "aes256")]
    fn aes256_matches_fips197_appendix_c3() {
        // FIPS 197, Appendix C.3 (AES-256 example vector).
        let aes = Aes::new(&SecretKey::aes256(hex!(
            "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
        )));
        let mut b = Block::from(hex!("00112233445566778899aabbccddeeff"));
        aes.encrypt_block(&mut b);
        assert_eq!(b.0, hex!("8ea2b7ca516745bfeafc49904b496089"));
    }

    #[test]
    fn ctr_starts_at_counter_two_and_increments_big_endian() {
        let aes = Aes::try_new(&SecretKey::aes128([7; 16])).unwrap();
        let iv = Iv([0x11; 12]);
        let mut buf = [0u8; 16 * 70 + 5];
        aes.apply_ctr(&iv, &mut buf);
        for (i, chunk) in buf.chunks(16).enumerate() {
            let mut b = Block::default();
            b[..12].copy_from_slice(&[0x11; 12]);
            b[12..].copy_from_slice(&(2 + i as u32).to_be_bytes());
            aes.encrypt_block(&mut b);
            assert_eq!(chunk, &b[..chunk.len()], "block {i}");
        }
    }

    #[test]
    fn debug_is_redacted() {
        extern crate std;
        let aes = Aes::try_new(&SecretKey::aes128([7; 16])).unwrap();
        assert_eq!(std::format!("{aes:?}"), "Aes { .. }");
    }
}
