//! AES-CMAC (NIST SP 800-38B): streaming ([`CmacState`], one CBC chain over a copy of the
//! `aes` crate key schedule), and a batched one-shot path that runs the CBC chains of many
//! independent messages side by side. Both share the key's one expanded schedule and its
//! subkeys `K1`, `K2`.
//!
//! # Batching
//!
//! One CMAC is a CBC chain: every block waits for the encryption of the previous one, so a
//! single message runs at the latency of AES (about 40 cycles per block for AES-128), while
//! AES-NI/VAES could start a new block every cycle. [`CmacKey::mac_batch`] keeps up to
//! [`CMAC_BATCH_LANES`] messages in flight: each step takes the next block of every lane,
//! encrypts them together in one pass through the block cipher backend, and hands the results
//! back to their chains. A lane whose message ends takes the next waiting message, so messages
//! of different lengths keep all lanes busy. The final block of each message is padded and
//! masked with `K1` or `K2` exactly as in SP 800-38B section 6.2.
//!
//! While every lane has whole, non-final blocks left in its current piece (the bulk of a
//! CSI-2 line), many steps run in one call of the chain code, with the chaining values kept in
//! registers. The chains run on, picked once per key at run time:
//!
//! - x86_64 with AVX-512F/VL and VAES: our multi-lane code on 512-bit registers (four chains
//!   per register, sixteen in flight: the private `simd::cmac_lanes` module);
//! - x86_64 with AES-NI: the same code on 128-bit registers;
//! - elsewhere: the `aes` crate backend (ARMv8 AES or constant-time software), one batch of
//!   blocks per step.
//!
//! All paths are tested against each other and against the RustCrypto `cmac` crate (unit tests
//! here, the `cmac_diff` fuzz target).

use core::fmt;

use aes::cipher::consts::U16;
use aes::cipher::typenum::Unsigned;
use aes::cipher::{BlockCipherEncBackend, BlockCipherEncClosure, BlockSizeUser};
use zeroize::{Zeroize, ZeroizeOnDrop};

use super::block::{Aes, Block, BuiltKey};
use super::tag::Tag;
use crate::error::{ConfigError, SecurityError};
use crate::keys::SecretKey;
use crate::model::TagLen;

/// An AES-CMAC key (AES-128 or AES-256).
///
/// Holds the expanded cipher (one key schedule) and the subkeys `K1`, `K2`. A running MAC
/// ([`CmacKey::start`]) is detached from the key: it holds only the chaining value and the
/// buffered block, and takes the key on every call (nothing of the key is copied per message).
/// Not `Clone`; zeroized on drop; `Debug` prints `CmacKey { .. }`.
pub struct CmacKey {
    aes: Aes,
    k1: [u8; 16],
    k2: [u8; 16],
    /// The multi-lane CBC schedule of [`CmacKey::mac_batch`], where the CPU has AES-NI (see
    /// [`super::simd::cmac_lanes`]); otherwise the batch runs on the `aes` crate backend.
    #[cfg(target_arch = "x86_64")]
    lanes: Option<super::simd::cmac_lanes::CbcLanes>,
}

/// Which code runs the chains of [`CmacKey::mac_batch`] (test hook: every path is compared with
/// the others on one machine).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CmacPath {
    /// The `aes` crate backend (its own AES-NI/VAES/ARMv8 or software code), one batch of
    /// blocks per step.
    Portable,
    /// Our multi-lane chains on AES-NI (128-bit registers).
    AesNi,
    /// Our multi-lane chains on VAES with 512-bit registers.
    Vaes512,
}

impl CmacPath {
    /// Every path, fastest last.
    pub(crate) const ALL: [CmacPath; 3] = [CmacPath::Portable, CmacPath::AesNi, CmacPath::Vaes512];
}

/// How many messages [`CmacKey::mac_batch`] keeps in flight: enough independent AES blocks per
/// step to fill the AES-NI pipeline (latency about 4 cycles per round, one or two rounds issued
/// per cycle).
pub const CMAC_BATCH_LANES: usize = 16;

impl ZeroizeOnDrop for CmacKey {}

impl CmacKey {
    /// Expands `key` (AES-128 or AES-256 depending on its size). Only with the feature
    /// `aes256` (on by default), where every key size is built; [`CmacKey::try_new`] in every
    /// build.
    #[cfg(feature = "aes256")]
    pub fn new(key: &SecretKey) -> CmacKey {
        CmacKey::expand(BuiltKey::any(key))
    }

    /// Expands `key`, if this build has its key size.
    ///
    /// # Errors
    /// [`ConfigError::KeySizeNotBuilt`] for a 256-bit key without the feature `aes256`.
    pub fn try_new(key: &SecretKey) -> Result<CmacKey, ConfigError> {
        Ok(CmacKey::expand(BuiltKey::of(key)?))
    }

    pub(crate) fn expand(key: BuiltKey<'_>) -> CmacKey {
        #[cfg(target_arch = "x86_64")]
        let path = match super::simd::cmac_lanes::LanePath::best() {
            Some(super::simd::cmac_lanes::LanePath::Vaes512) => CmacPath::Vaes512,
            Some(super::simd::cmac_lanes::LanePath::AesNi) => CmacPath::AesNi,
            None => CmacPath::Portable,
        };
        #[cfg(not(target_arch = "x86_64"))]
        let path = CmacPath::Portable;
        CmacKey::expand_on(key, path)
    }

    /// [`CmacKey::expand`] with the batch chains on `path` (the `aes` crate where the CPU lacks
    /// the features of `path`: see [`CmacKey::path`]).
    fn expand_on(key: BuiltKey<'_>, path: CmacPath) -> CmacKey {
        #[cfg(target_arch = "x86_64")]
        let lanes = {
            use super::simd::cmac_lanes::{CbcLanes, LanePath};
            match path {
                CmacPath::Portable => None,
                CmacPath::AesNi => CbcLanes::new(key.secret_bytes(), LanePath::AesNi),
                CmacPath::Vaes512 => CbcLanes::new(key.secret_bytes(), LanePath::Vaes512),
            }
        };
        #[cfg(not(target_arch = "x86_64"))]
        let _ = path;
        let aes = Aes::with_engine(key, super::engine());
        // SP 800-38B section 6.1: L = CIPH_K(0^128), K1 = dbl(L), K2 = dbl(K1).
        let mut l = Block::default();
        aes.encrypt_block(&mut l);
        let k1 = dbl(&l.0);
        let k2 = dbl(&k1);
        l.as_mut_slice().zeroize();
        CmacKey {
            aes,
            k1,
            k2,
            #[cfg(target_arch = "x86_64")]
            lanes,
        }
    }

    /// `key` with the batch chains on `path`, or `None` when this CPU does not run `path` or
    /// the build lacks the key size (test hook).
    pub(crate) fn with_path(key: &SecretKey, path: CmacPath) -> Option<CmacKey> {
        let k = CmacKey::expand_on(BuiltKey::of(key).ok()?, path);
        (k.path() == path).then_some(k)
    }

    /// The code that runs the chains of [`CmacKey::mac_batch`] under this key.
    pub(crate) fn path(&self) -> CmacPath {
        #[cfg(target_arch = "x86_64")]
        if let Some(l) = &self.lanes {
            return match l.path() {
                super::simd::cmac_lanes::LanePath::AesNi => CmacPath::AesNi,
                super::simd::cmac_lanes::LanePath::Vaes512 => CmacPath::Vaes512,
            };
        }
        CmacPath::Portable
    }

    /// Starts a running CMAC: a detached state (chaining value and buffered block only) that
    /// takes this key again in [`CmacState::update`] and [`CmacState::finalize`].
    pub fn start(&self) -> CmacState {
        CmacState {
            x: Block::default(),
            buf: [0; 16],
            len: 0,
            poisoned: false,
        }
    }

    /// One-shot CMAC over the concatenation of `pieces`, truncated to `tag_len`.
    ///
    /// Runs on the same engine as [`CmacKey::mac_batch`] (one lane).
    pub fn mac(&self, pieces: &[&[u8]], tag_len: TagLen) -> Tag {
        let mut tag = Tag::from_full([0; 16], tag_len);
        self.mac_batch(&[pieces], tag_len, |_, t| tag = t);
        tag
    }

    /// CMACs of many independent messages at once, each the concatenation of its pieces;
    /// `on_tag(i, tag)` receives the tag of `messages[i]`, truncated to `tag_len`.
    ///
    /// Equal, tag for tag, to calling [`CmacKey::mac`] on every message, but up to
    /// [`CMAC_BATCH_LANES`] CBC chains advance together (see the module docs), which on AES-NI
    /// is several times faster than one message after the other. Tags are reported in the order
    /// the messages finish, which is not necessarily index order: shorter messages finish
    /// first. No allocation; messages may be empty and pieces may have any length.
    pub fn mac_batch(
        &self,
        messages: &[&[&[u8]]],
        tag_len: TagLen,
        mut on_tag: impl FnMut(usize, Tag),
    ) {
        #[cfg(target_arch = "x86_64")]
        if let Some(lanes) = &self.lanes {
            run_batch(lanes, self, messages, tag_len, &mut on_tag);
            return;
        }
        self.aes.with_backend(BatchJob {
            key: self,
            messages,
            tag_len,
            on_tag: &mut on_tag,
        });
    }
}

/// `dbl` of SP 800-38B section 6.1 (`CIPH` block doubling in GF(2^128), big-endian).
fn dbl(b: &[u8; 16]) -> [u8; 16] {
    let v = u128::from_be_bytes(*b);
    let carry = (v >> 127) as u8;
    let mut out = (v << 1).to_be_bytes();
    out[15] ^= 0x87 & 0u8.wrapping_sub(carry);
    out
}

impl Drop for CmacKey {
    fn drop(&mut self) {
        self.k1.zeroize();
        self.k2.zeroize();
    }
}

/// A message being read block by block across its pieces.
#[derive(Clone, Copy, Default)]
struct Cursor<'m> {
    /// Index into the batch.
    index: usize,
    /// Pieces not yet fully read; the first one is read from `off`.
    pieces: &'m [&'m [u8]],
    off: usize,
    /// Bytes not yet read.
    remaining: usize,
}

impl<'m> Cursor<'m> {
    fn new(index: usize, pieces: &'m [&'m [u8]]) -> Cursor<'m> {
        let remaining = pieces.iter().fold(0usize, |n, p| n.saturating_add(p.len()));
        Cursor {
            index,
            pieces,
            off: 0,
            remaining,
        }
    }

    /// The whole blocks that can be read from the current piece without reaching the final
    /// block of the message (which needs the padding and subkey treatment).
    #[inline(always)]
    fn contiguous(&self) -> &'m [u8] {
        let non_final = self.remaining.saturating_sub(1) / 16;
        let piece = self.pieces.first().copied().unwrap_or_default();
        let avail = piece.get(self.off..).unwrap_or_default();
        let blocks = non_final.min(avail.len() / 16);
        avail.get(..blocks * 16).unwrap_or_default()
    }

    /// Skips `n` bytes known to lie in the current piece.
    #[inline(always)]
    fn advance(&mut self, n: usize) {
        self.off += n;
        self.remaining = self.remaining.saturating_sub(n);
    }

    /// Copies the next `out.len()` bytes of the message (which must remain) into `out`.
    fn take(&mut self, out: &mut [u8]) {
        let mut filled = 0;
        while filled < out.len() {
            let Some((first, rest)) = self.pieces.split_first() else {
                break;
            };
            let avail = first.get(self.off..).unwrap_or_default();
            let n = avail.len().min(out.len() - filled);
            if let (Some(dst), Some(src)) = (out.get_mut(filled..filled + n), avail.get(..n)) {
                dst.copy_from_slice(src);
            }
            filled += n;
            self.off += n;
            if self.off >= first.len() {
                self.pieces = rest;
                self.off = 0;
            }
        }
        self.remaining = self.remaining.saturating_sub(filled);
    }

    /// XORs the next message block into `state` (the final block padded and masked with
    /// `K1`/`K2`, SP 800-38B section 6.2) and tells whether it was the final block.
    fn absorb_next(&mut self, state: &mut [u8; 16], k1: &[u8; 16], k2: &[u8; 16]) -> bool {
        let mut m = [0u8; 16];
        let last = self.remaining <= 16;
        if !last {
            self.take(&mut m);
        } else {
            let n = self.remaining;
            let (head, pad) = m.split_at_mut(n);
            self.take(head);
            let k = if let Some(p) = pad.first_mut() {
                *p = 0x80;
                k2
            } else {
                k1
            };
            for (b, k) in m.iter_mut().zip(k) {
                *b ^= *k;
            }
        }
        xor_into(state, &m);
        m.zeroize();
        last
    }
}

#[inline(always)]
fn xor_into(state: &mut [u8; 16], m: &[u8; 16]) {
    let x = u128::from_ne_bytes(*state) ^ u128::from_ne_bytes(*m);
    *state = x.to_ne_bytes();
}

/// Encrypts `blocks` in place, whole parallel batches through the backend's wide path.
#[inline(always)]
pub(super) fn encrypt_all<B: BlockCipherEncBackend<BlockSize = U16>>(
    backend: &B,
    blocks: &mut [Block],
) {
    let par = B::ParBlocksSize::USIZE;
    for chunk in blocks.chunks_mut(par) {
        if chunk.len() < par {
            backend.encrypt_tail_blocks_inplace(chunk);
        } else if let Ok(pb) = <&mut aes::cipher::ParBlocks<B>>::try_from(chunk) {
            backend.encrypt_par_blocks_inplace(pb);
        }
    }
}

/// [`CmacKey::mac_batch`] inside one backend context.
struct BatchJob<'a, 'm, F: FnMut(usize, Tag)> {
    key: &'a CmacKey,
    messages: &'m [&'m [&'m [u8]]],
    tag_len: TagLen,
    on_tag: &'a mut F,
}

impl<F: FnMut(usize, Tag)> BlockSizeUser for BatchJob<'_, '_, F> {
    type BlockSize = U16;
}

impl<F: FnMut(usize, Tag)> BlockCipherEncClosure for BatchJob<'_, '_, F> {
    #[inline(always)]
    fn call<B: BlockCipherEncBackend<BlockSize = U16>>(self, backend: &B) {
        run_batch(
            &BackendChains(backend),
            self.key,
            self.messages,
            self.tag_len,
            self.on_tag,
        );
    }
}

/// The block cipher under the chains of [`CmacKey::mac_batch`]: `CMAC_BATCH_LANES` chaining
/// values, of which the first `n` are in use.
trait Chains {
    /// `states[j] ← E_K(states[j])` for `j < n`; lanes from `n` on may change arbitrarily.
    fn encrypt(&self, states: &mut [[u8; 16]; CMAC_BATCH_LANES], n: usize);
    /// `steps` CBC steps, `states[j] ← E_K(states[j] ⊕ block s of runs[j])` for `j < n`, where
    /// every `runs[j]` (`j < n`) holds at least `16 · steps` bytes; lanes from `n` on may
    /// change arbitrarily.
    fn cbc(
        &self,
        states: &mut [[u8; 16]; CMAC_BATCH_LANES],
        runs: &[&[u8]; CMAC_BATCH_LANES],
        n: usize,
        steps: usize,
    );
}

#[cfg(target_arch = "x86_64")]
const _: () = assert!(CMAC_BATCH_LANES == super::simd::cmac_lanes::LANES);

#[cfg(target_arch = "x86_64")]
impl Chains for super::simd::cmac_lanes::CbcLanes {
    #[inline(always)]
    fn encrypt(&self, states: &mut [[u8; 16]; CMAC_BATCH_LANES], n: usize) {
        super::simd::cmac_lanes::CbcLanes::encrypt(self, states, n);
    }

    #[inline(always)]
    fn cbc(
        &self,
        states: &mut [[u8; 16]; CMAC_BATCH_LANES],
        runs: &[&[u8]; CMAC_BATCH_LANES],
        n: usize,
        steps: usize,
    ) {
        super::simd::cmac_lanes::CbcLanes::cbc(self, states, runs, n, steps);
    }
}

/// [`Chains`] on an `aes` crate backend: one batch of `n` blocks per step.
struct BackendChains<'b, B>(&'b B);

impl<B: BlockCipherEncBackend<BlockSize = U16>> Chains for BackendChains<'_, B> {
    #[inline(always)]
    fn encrypt(&self, states: &mut [[u8; 16]; CMAC_BATCH_LANES], n: usize) {
        let states = states.get_mut(..n).unwrap_or_default();
        encrypt_all(self.0, Block::cast_slice_from_core_mut(states));
    }

    #[inline(always)]
    fn cbc(
        &self,
        states: &mut [[u8; 16]; CMAC_BATCH_LANES],
        runs: &[&[u8]; CMAC_BATCH_LANES],
        n: usize,
        steps: usize,
    ) {
        let states = states.get_mut(..n).unwrap_or_default();
        for step in 0..steps {
            for (st, r) in states.iter_mut().zip(runs.iter()) {
                let m = r.get(step * 16..step * 16 + 16).unwrap_or_default();
                if let Ok(m) = <&[u8; 16]>::try_from(m) {
                    xor_into(st, m);
                }
            }
            encrypt_all(self.0, Block::cast_slice_from_core_mut(states));
        }
    }
}

/// The body of [`CmacKey::mac_batch`] on the chains `chains`.
#[inline(always)]
fn run_batch<C: Chains, F: FnMut(usize, Tag)>(
    chains: &C,
    key: &CmacKey,
    messages: &[&[&[u8]]],
    tag_len: TagLen,
    on_tag: &mut F,
) {
    let mut queue = messages.iter().enumerate();
    // Lanes `..busy` are in flight: `cursors[j]` reads the message whose CBC chaining value is
    // `states[j]`; a finished lane takes the next message or the last busy lane.
    let mut cursors = [Cursor::default(); CMAC_BATCH_LANES];
    let mut states = [[0u8; 16]; CMAC_BATCH_LANES];
    let mut busy = 0;
    for c in cursors.iter_mut() {
        let Some((i, m)) = queue.next() else { break };
        *c = Cursor::new(i, m);
        busy += 1;
    }
    while busy > 0 {
        let Some(cursors) = cursors.get_mut(..busy) else {
            break;
        };
        // Fast path: every lane has whole, non-final blocks in its current piece.
        let mut runs: [&[u8]; CMAC_BATCH_LANES] = [&[]; CMAC_BATCH_LANES];
        let mut steps = usize::MAX;
        for (r, c) in runs.iter_mut().zip(cursors.iter()) {
            *r = c.contiguous();
            steps = steps.min(r.len() / 16);
        }
        if steps > 0 {
            chains.cbc(&mut states, &runs, busy, steps);
            for c in cursors.iter_mut() {
                c.advance(steps * 16);
            }
            continue;
        }
        // General step: piece boundaries and final blocks.
        let mut last = [false; CMAC_BATCH_LANES];
        for ((c, st), l) in cursors
            .iter_mut()
            .zip(states.iter_mut())
            .zip(last.iter_mut())
        {
            *l = c.absorb_next(st, &key.k1, &key.k2);
        }
        chains.encrypt(&mut states, busy);
        // Finished lanes, from the back so that swapping in the last busy lane is safe.
        let mut j = busy;
        while j > 0 {
            j -= 1;
            if !last.get(j).copied().unwrap_or(false) {
                continue;
            }
            let (Some(c), Some(st)) = (cursors.get_mut(j), states.get_mut(j)) else {
                continue;
            };
            on_tag(c.index, Tag::from_full(*st, tag_len));
            st.zeroize();
            if let Some((i, m)) = queue.next() {
                *c = Cursor::new(i, m);
            } else {
                busy -= 1;
                cursors.swap(j, busy);
                states.swap(j, busy);
            }
        }
    }
    states.zeroize();
}

impl fmt::Debug for CmacKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CmacKey { .. }")
    }
}

/// A running AES-CMAC, started by [`CmacKey::start`]. Accepts input split anywhere.
///
/// Detached from its key: every call takes the [`CmacKey`] that started it (another key gives
/// a tag that does not verify, never a panic). A state that a [`super::MacState`] was asked to
/// continue under a GMAC key is poisoned: its [`CmacState::verify`] always fails and its
/// [`CmacState::finalize`] returns an all-zero tag. Not `Clone`; zeroized on drop.
pub struct CmacState {
    /// The CBC chaining value over the blocks absorbed so far.
    x: Block,
    /// The last `len` bytes of input, not absorbed yet: the final block (which is masked with
    /// `K1` or `K2`) is only known to be final at [`CmacState::finalize`].
    buf: [u8; 16],
    len: usize,
    poisoned: bool,
}

impl ZeroizeOnDrop for CmacState {}

impl Drop for CmacState {
    fn drop(&mut self) {
        self.x.as_mut_slice().zeroize();
        self.buf.zeroize();
    }
}

impl CmacState {
    /// Absorbs the next piece of the message (any length, including empty); `key` must be the
    /// key that started this state.
    pub fn update(&mut self, key: &CmacKey, mut piece: &[u8]) {
        // Fill the buffered block first. (Checked splits and copies throughout: no panicking
        // path, which on a microcontroller also keeps the panic machinery out of the image.)
        let n = 16usize.saturating_sub(self.len).min(piece.len());
        let (head, rest) = piece.split_at_checked(n).unwrap_or((&[], piece));
        if let Some(dst) = self.buf.get_mut(self.len..self.len + head.len()) {
            dst.copy_from_slice(head);
        }
        self.len += head.len();
        piece = rest;
        if piece.is_empty() {
            return;
        }
        // More input follows, so the buffered (full) block is not the final one.
        xor_into(&mut self.x.0, &self.buf);
        key.aes.encrypt_block(&mut self.x);
        // Every whole block but the last of the rest in one backend call; the last 1..=16
        // bytes stay buffered (the final block is only known to be final at `finalize`).
        let bulk = (piece.len() - 1) / 16 * 16;
        let (blocks, tail) = piece.split_at_checked(bulk).unwrap_or((&[], piece));
        key.aes.cbc_chain(&mut self.x, blocks);
        self.buf = [0; 16];
        if let Some(dst) = self.buf.get_mut(..tail.len()) {
            dst.copy_from_slice(tail);
        }
        self.len = tail.len().min(16);
    }

    /// The tag, truncated to `tag_len` (leftmost bytes, SP 800-38B section 6.2); `key` must be
    /// the key that started this state.
    pub fn finalize(mut self, key: &CmacKey, tag_len: TagLen) -> Tag {
        // The final block: complete, masked with K1; or padded with 10*, masked with K2.
        let mut m = [0u8; 16];
        let k = if self.len == 16 {
            m = self.buf;
            &key.k1
        } else {
            if let (Some(head), Some(src)) = (m.get_mut(..self.len), self.buf.get(..self.len)) {
                head.copy_from_slice(src);
            }
            if let Some(p) = m.get_mut(self.len) {
                *p = 0x80;
            }
            &key.k2
        };
        for (b, k) in m.iter_mut().zip(k) {
            *b ^= *k;
        }
        xor_into(&mut self.x.0, &m);
        m.zeroize();
        key.aes.encrypt_block(&mut self.x);
        if self.poisoned {
            self.x.as_mut_slice().zeroize();
        }
        Tag::from_full(self.x.0, tag_len)
    }

    /// Verifies `received` (which must be exactly `tag_len` bytes) in constant time; `key` must
    /// be the key that started this state.
    ///
    /// # Errors
    /// [`SecurityError::AuthFailed`] on any mismatch.
    pub fn verify(
        self,
        key: &CmacKey,
        received: &[u8],
        tag_len: TagLen,
    ) -> Result<(), SecurityError> {
        if self.poisoned {
            return Err(SecurityError::AuthFailed);
        }
        self.finalize(key, tag_len).verify(received)
    }

    /// Marks the state as continued under a key of another kind (see the type documentation).
    pub(crate) fn poison(&mut self) {
        self.poisoned = true;
    }

    /// A copy of the running state, for [`super::MacState::verify_continued`].
    pub(crate) fn fork(&self) -> Self {
        CmacState {
            x: self.x,
            buf: self.buf,
            len: self.len,
            poisoned: self.poisoned,
        }
    }
}

impl fmt::Debug for CmacState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("CmacState { .. }")
    }
}

#[cfg(test)]
mod tests {
    //! Every batch path ([`CmacPath`]) against the RustCrypto `cmac` crate and our streaming
    //! [`CmacState`], and the SP 800-38B examples on every path.
    extern crate std;
    use std::vec::Vec;

    use cmac::{KeyInit, Mac};
    use proptest::prelude::*;

    use super::{CMAC_BATCH_LANES, CmacKey, CmacPath};
    use crate::TagLen;
    use crate::keys::SecretKey;

    fn secret(k: &[u8]) -> SecretKey {
        match k.len() {
            16 => SecretKey::aes128(k.try_into().unwrap()),
            _ => SecretKey::aes256(k.try_into().unwrap()),
        }
    }

    /// The paths this machine and build run for a key of `len` bytes.
    fn keys(k: &[u8]) -> Vec<(CmacPath, CmacKey)> {
        CmacPath::ALL
            .into_iter()
            .filter_map(|p| CmacKey::with_path(&secret(k), p).map(|c| (p, c)))
            .collect()
    }

    /// RustCrypto `cmac` over the concatenation of `pieces`.
    fn reference(k: &[u8], pieces: &[&[u8]]) -> [u8; 16] {
        fn run<M: Mac + KeyInit>(k: &[u8], pieces: &[&[u8]]) -> [u8; 16] {
            let mut m = <M as KeyInit>::new_from_slice(k).unwrap();
            for p in pieces {
                m.update(p);
            }
            m.finalize().into_bytes().as_slice().try_into().unwrap()
        }
        match k.len() {
            16 => run::<cmac::Cmac<aes::Aes128>>(k, pieces),
            _ => run::<cmac::Cmac<aes::Aes256>>(k, pieces),
        }
    }

    /// `mac_batch`, tags in index order; every index reported exactly once.
    fn batch(c: &CmacKey, messages: &[&[&[u8]]], tag_len: TagLen) -> Vec<Vec<u8>> {
        let mut out: Vec<Option<Vec<u8>>> = std::vec![None; messages.len()];
        c.mac_batch(messages, tag_len, |i, t| {
            assert!(out[i].is_none(), "tag {i} reported twice");
            out[i] = Some(t.as_bytes().to_vec());
        });
        out.into_iter()
            .map(|t| t.expect("every message gets a tag"))
            .collect()
    }

    #[test]
    fn best_path_is_the_default() {
        let c = CmacKey::try_new(&secret(&[3; 16])).unwrap();
        let best = keys(&[3; 16]).last().map(|(p, _)| *p).unwrap();
        assert_eq!(c.path(), best);
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512vl")
            && std::is_x86_feature_detected!("vaes")
        {
            assert_eq!(c.path(), CmacPath::Vaes512);
        }
    }

    #[test]
    fn sp800_38b_examples_on_every_path() {
        // NIST SP 800-38B Appendix D.1 (AES-128) and D.3 (AES-256), examples 1-4: the
        // prefixes of 0, 16, 40 and 64 bytes of one message.
        let msg = hex_literal::hex!(
            "6bc1bee22e409f96e93d7e117393172a"
            "ae2d8a571e03ac9c9eb76fac45af8e51"
            "30c81c46a35ce411e5fbc1191a0a52ef"
            "f69f2445df4f9b17ad2b417be66c3710"
        );
        let k128 = hex_literal::hex!("2b7e151628aed2a6abf7158809cf4f3c");
        let t128 = [
            hex_literal::hex!("bb1d6929e95937287fa37d129b756746"),
            hex_literal::hex!("070a16b46b4d4144f79bdd9dd04a287c"),
            hex_literal::hex!("dfa66747de9ae63030ca32611497c827"),
            hex_literal::hex!("51f0bebf7e3b9d92fc49741779363cfe"),
        ];
        let k256 =
            hex_literal::hex!("603deb1015ca71be2b73aef0857d77811f352c073b6108d72d9810a30914dff4");
        let t256 = [
            hex_literal::hex!("028962f61b7bf89efc6b551f4667d983"),
            hex_literal::hex!("28a7023f452e8f82bd4bf28d8c37c35c"),
            hex_literal::hex!("aaf3d8f1de5640c232f5b169b9c911e6"),
            hex_literal::hex!("e1992190549f6ed5696a2c056c315410"),
        ];
        let lens = [0, 16, 40, 64];
        for (k, tags) in [(&k128[..], t128), (&k256[..], t256)] {
            if k.len() == 32 && !cfg!(feature = "aes256") {
                // No AES-256 in this build: every path refuses the key.
                assert!(keys(k).is_empty());
                continue;
            }
            let paths = keys(k);
            // The portable path always runs (every key size of the build).
            assert!(paths.first().is_some_and(|(p, _)| *p == CmacPath::Portable));
            for (path, c) in &paths {
                // One at a time, whole.
                for (len, tag) in lens.iter().zip(&tags) {
                    assert_eq!(
                        c.mac(&[&msg[..*len]], TagLen::L16).as_bytes(),
                        tag,
                        "{path:?}"
                    );
                }
                // All four in one batch, each split in two at a different point, and repeated
                // so that 1..=16 lanes are in flight and lanes are refilled.
                let split: Vec<[&[u8]; 2]> = lens
                    .iter()
                    .enumerate()
                    .map(|(i, &len)| msg[..len].split_at((i * 7).min(len)).into())
                    .collect();
                for n in 1..=2 * CMAC_BATCH_LANES + 1 {
                    let messages: Vec<&[&[u8]]> = (0..n).map(|i| &split[i % 4][..]).collect();
                    for (i, t) in batch(c, &messages, TagLen::L16).iter().enumerate() {
                        assert_eq!(&t[..], &tags[i % 4], "{path:?} n {n} message {i}");
                    }
                }
            }
        }
    }

    /// Lengths that hit every CMAC case, short and several KB.
    fn any_len() -> impl Strategy<Value = usize> {
        prop_oneof![
            0usize..70,
            Just(16),
            Just(32),
            Just(48),
            Just(49),
            100usize..400,
            400usize..6000,
            Just(5760 + 48),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn every_path_matches_rustcrypto_cmac(
            k in prop_oneof![
                proptest::collection::vec(any::<u8>(), 16),
                proptest::collection::vec(any::<u8>(), 32),
            ],
            msgs in proptest::collection::vec(
                (any_len(), any::<u8>(), proptest::collection::vec(any::<usize>(), 0..5)),
                0..(2 * CMAC_BATCH_LANES + 3),
            ),
            short in any::<bool>(),
        ) {
            let tag_len = if short { TagLen::L8 } else { TagLen::L16 };
            let data: Vec<Vec<u8>> = msgs
                .iter()
                .map(|(len, seed, _)| {
                    (0..*len).map(|i| (i as u8).wrapping_mul(31) ^ (i >> 8) as u8 ^ seed).collect()
                })
                .collect();
            // Each message in up to five pieces cut at arbitrary points (empty pieces too).
            let pieces: Vec<Vec<&[u8]>> = data
                .iter()
                .zip(&msgs)
                .map(|(d, (_, _, cuts))| {
                    let mut cuts: Vec<usize> =
                        cuts.iter().map(|c| c % (d.len() + 1)).collect();
                    cuts.sort_unstable();
                    let mut out = Vec::new();
                    let mut at = 0;
                    for c in cuts {
                        out.push(&d[at..c]);
                        at = c;
                    }
                    out.push(&d[at..]);
                    out
                })
                .collect();
            let messages: Vec<&[&[u8]]> = pieces.iter().map(|p| &p[..]).collect();
            let want: Vec<[u8; 16]> = messages.iter().map(|m| reference(&k, m)).collect();
            for (path, c) in keys(&k) {
                let got = batch(&c, &messages, tag_len);
                for (i, m) in messages.iter().enumerate() {
                    prop_assert_eq!(&got[i][..], &want[i][..tag_len.get()], "{:?} {}", path, i);
                    // The streaming state agrees as well.
                    let mut s = c.start();
                    for p in m.iter() {
                        s.update(&c, p);
                    }
                    let t = s.finalize(&c, tag_len);
                    prop_assert_eq!(t.as_bytes(), &want[i][..tag_len.get()]);
                }
            }
        }
    }
}
