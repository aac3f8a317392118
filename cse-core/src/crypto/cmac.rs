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
        let aes = Aes::with_engine(key, super::engine());
        // SP 800-38B section 6.1: L = CIPH_K(0^128), K1 = dbl(L), K2 = dbl(K1).
        let mut l = Block::default();
        aes.encrypt_block(&mut l);
        let k1 = dbl(&l.0);
        let k2 = dbl(&k1);
        l.as_mut_slice().zeroize();
        CmacKey { aes, k1, k2 }
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
    fn absorb_next(&mut self, state: &mut Block, k1: &[u8; 16], k2: &[u8; 16]) -> bool {
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
fn xor_into(state: &mut Block, m: &[u8; 16]) {
    let x = u128::from_ne_bytes(state.0) ^ u128::from_ne_bytes(*m);
    state.0 = x.to_ne_bytes();
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
        let BatchJob {
            key,
            messages,
            tag_len,
            on_tag,
        } = self;
        let mut queue = messages.iter().enumerate();
        // Lanes `..busy` are in flight: `cursors[j]` reads the message whose CBC chaining value
        // is `states[j]`; a finished lane takes the next message or the last busy lane.
        let mut cursors = [Cursor::default(); CMAC_BATCH_LANES];
        let mut states = [Block::default(); CMAC_BATCH_LANES];
        let mut busy = 0;
        for c in cursors.iter_mut() {
            let Some((i, m)) = queue.next() else { break };
            *c = Cursor::new(i, m);
            busy += 1;
        }
        while let (Some(cursors), Some(states)) = (cursors.get_mut(..busy), states.get_mut(..busy))
        {
            if cursors.is_empty() {
                break;
            }
            // Fast path: every lane has whole, non-final blocks in its current piece.
            let mut runs: [&[u8]; CMAC_BATCH_LANES] = [&[]; CMAC_BATCH_LANES];
            let mut steps = usize::MAX;
            for (r, c) in runs.iter_mut().zip(cursors.iter()) {
                *r = c.contiguous();
                steps = steps.min(r.len() / 16);
            }
            if steps > 0 {
                for step in 0..steps {
                    for (st, r) in states.iter_mut().zip(runs.iter()) {
                        let m = r.get(step * 16..step * 16 + 16).unwrap_or_default();
                        if let Ok(m) = <&[u8; 16]>::try_from(m) {
                            xor_into(st, m);
                        }
                    }
                    encrypt_all(backend, states);
                }
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
            encrypt_all(backend, states);
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
                on_tag(c.index, Tag::from_full(st.0, tag_len));
                st.as_mut_slice().zeroize();
                if let Some((i, m)) = queue.next() {
                    *c = Cursor::new(i, m);
                } else {
                    busy -= 1;
                    cursors.swap(j, busy);
                    states.swap(j, busy);
                }
            }
        }
        for b in states.iter_mut() {
            b.as_mut_slice().zeroize();
        }
    }
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
        xor_into(&mut self.x, &self.buf);
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
        xor_into(&mut self.x, &m);
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
