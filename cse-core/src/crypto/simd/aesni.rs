//! Stitched AES-GCM on AES-NI + PCLMULQDQ with 128-bit registers (SSE only: CPUs with AES-NI
//! but without VAES, from Westmere on), and the CTR keystream of the CTR+CMAC suites on the
//! same AES code.
//!
//! # Design
//!
//! The 128-bit sibling of [`super::vaes`] (and the structure of OpenSSL's `aesni_gcm`):
//!
//! - **Per key** ([`RoundKeys`] and the parent module's [`Ghash`]): the AES round keys
//!   (expanded with `AESKEYGENASSIST`, the schedule shared with the VAES engines) and
//!   `H^1..H^16` of the PCLMULQDQ GHASH, used in place (nothing is copied per message).
//! - **Per message**: counter blocks kept byte-reversed (`inc32` is one `PADDD`), reversed
//!   back with one `PSHUFB` per block. The main loop runs the AES rounds of eight blocks and,
//!   interleaved with them round by round, multiplies eight ciphertext blocks by `H^8..H^1`
//!   (schoolbook, four `PCLMULQDQ` per block), sums the products unreduced and reduces once
//!   (aggregated reduction). Seal hashes the previous iteration's ciphertext, open the
//!   ciphertext it is about to decrypt: one pass over the data in both directions.
//! - **Tail** (fewer than eight blocks): the remaining bytes are copied to a zeroed 128-byte
//!   stack block (no masked loads without AVX-512), encrypted or decrypted there, the partial
//!   block zero-padded for GHASH and the length block folded into the same single reduction;
//!   the stack block is zeroized.
//! - **GHASH only** (AAD, GMAC): the parent module's eight-blocks-per-reduction code.
//!
//! # Constant time
//!
//! AES rounds in hardware, carry-less multiplications, shuffles and XORs: no table, branch or
//! memory address depends on the key or the data, only on the public lengths.
//!
//! # Safety
//!
//! Every `#[target_feature]` function here requires the CPU features of its attribute (a
//! subset of AES-NI, PCLMULQDQ, SSE2, SSSE3); [`RoundKeys`] is constructible only through
//! [`RoundKeys::new`], which checks all of them (cached `cpufeatures` detection), so holding one
//! is the proof that the features are present. The safe entry points take a `&RoundKeys`.

use core::arch::x86_64::{
    __m128i, _mm_add_epi32, _mm_aesenc_si128, _mm_aesenclast_si128, _mm_clmulepi64_si128,
    _mm_loadu_si128, _mm_set_epi32, _mm_shuffle_epi8, _mm_slli_si128, _mm_srli_si128,
    _mm_storeu_si128, _mm_xor_si128,
};

use zeroize::{Zeroize, ZeroizeOnDrop};

use super::Ghash;
use super::vaes::{
    Schedule, counter_block, encrypt_j0_reg, get, len_block, reduce128, rev128, tag_bytes,
};

cpufeatures::new!(aesni_cpuid, "aes", "pclmulqdq", "sse2", "ssse3");

/// Blocks per iteration (and per GHASH reduction).
const LANES: usize = 8;

/// Bytes per iteration.
const RUN: usize = 16 * LANES;

/// Whether this CPU runs the stitched AES-NI path (detected once, then cached).
pub(crate) fn available() -> bool {
    aesni_cpuid::get()
}

/// An AES-128 or AES-256 key schedule for this module's code.
///
/// Only constructible through [`RoundKeys::new`], which checks the CPU features: holding a
/// value is the proof that the `target_feature` functions of this module may run. Zeroized on
/// drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub(crate) struct RoundKeys {
    s: Schedule,
}

impl RoundKeys {
    /// Expands a 16- or 32-byte AES key; `None` for other lengths or when the CPU lacks any of
    /// the features of this module.
    pub(crate) fn new(key: &[u8]) -> Option<RoundKeys> {
        if !available() {
            return None;
        }
        // SAFETY: `available()` confirmed AES-NI and SSE2.
        let s = unsafe { Schedule::expand(key) }?;
        Some(RoundKeys { s })
    }

    /// Encrypts one block.
    pub(crate) fn encrypt_block(&self, block: &mut [u8; 16]) {
        // SAFETY: a `RoundKeys` exists only where `available()` holds.
        unsafe { self.s.encrypt_block(block) }
    }
}

/// Unreduced sums of products: `lo`, `hi` and the middle terms.
#[derive(Clone, Copy)]
struct Acc {
    lo: __m128i,
    hi: __m128i,
    mid: __m128i,
}

/// The product `x·h`, unreduced (schoolbook: four carry-less multiplies).
#[target_feature(enable = "pclmulqdq,sse2,ssse3")]
#[inline]
fn mul(x: __m128i, h: __m128i) -> Acc {
    Acc {
        lo: _mm_clmulepi64_si128::<0x00>(x, h),
        hi: _mm_clmulepi64_si128::<0x11>(x, h),
        mid: _mm_xor_si128(
            _mm_clmulepi64_si128::<0x01>(x, h),
            _mm_clmulepi64_si128::<0x10>(x, h),
        ),
    }
}

/// `acc += x·h` (unreduced).
#[target_feature(enable = "pclmulqdq,sse2,ssse3")]
#[inline]
fn mul_acc(acc: &mut Acc, x: __m128i, h: __m128i) {
    let p = mul(x, h);
    acc.lo = _mm_xor_si128(acc.lo, p.lo);
    acc.hi = _mm_xor_si128(acc.hi, p.hi);
    acc.mid = _mm_xor_si128(acc.mid, p.mid);
}

/// Reduces `acc`: the new POLYVAL accumulator.
#[target_feature(enable = "pclmulqdq,sse2,ssse3")]
#[inline]
fn reduce(acc: Acc) -> __m128i {
    reduce128(
        _mm_xor_si128(acc.lo, _mm_slli_si128::<8>(acc.mid)),
        _mm_xor_si128(acc.hi, _mm_srli_si128::<8>(acc.mid)),
    )
}

/// The round keys in registers (or an aligned stack array the compiler folds into `AESENC`).
#[target_feature(enable = "sse2")]
#[inline]
fn round_keys(s: &Schedule) -> [__m128i; 15] {
    core::array::from_fn(|i| get(&s.rk[i]))
}

/// Counter state: the byte-reversed counter block (`IV ‖ BE32(c)` reversed, so the counter is
/// the low dword).
struct Ctr {
    rev_ctr: __m128i,
}

impl Ctr {
    /// Counter blocks from `IV ‖ BE32(first)`.
    #[target_feature(enable = "sse2,ssse3")]
    #[inline]
    fn new(iv: &[u8; 12], first: u32) -> Ctr {
        Ctr {
            rev_ctr: _mm_shuffle_epi8(counter_block(iv, first), rev128()),
        }
    }

    /// The next `N` counter blocks (AES input byte order).
    #[target_feature(enable = "sse2,ssse3")]
    #[inline]
    fn next<const N: usize>(&mut self, rev: __m128i) -> [__m128i; N] {
        let one = _mm_set_epi32(0, 0, 0, 1);
        core::array::from_fn(|_| {
            let c = _mm_shuffle_epi8(self.rev_ctr, rev);
            self.rev_ctr = _mm_add_epi32(self.rev_ctr, one);
            c
        })
    }
}

/// Encrypts `N` blocks with `NR` rounds, round by round across the blocks.
#[target_feature(enable = "aes,sse2")]
#[inline]
fn aes_x<const NR: usize, const N: usize>(k: &[__m128i; 15], x: [__m128i; N]) -> [__m128i; N] {
    let mut x = x.map(|v| _mm_xor_si128(v, k[0]));
    for key in &k[1..NR] {
        for v in x.iter_mut() {
            *v = _mm_aesenc_si128(*v, *key);
        }
    }
    x.map(|v| _mm_aesenclast_si128(v, k[NR]))
}

/// The stitched iteration: AES of the eight counter blocks `$ctr` with the round keys `$k`
/// (`NR = $nr` rounds), and, interleaved round by round, the GHASH of the eight blocks `$ct`
/// (GHASH byte order) continuing from `$y` with one reduction (`$pow[j] = H^(8-j)`).
/// Evaluates to the keystream and the new accumulator. A macro, not a function: a
/// `#[target_feature]` function cannot be `#[inline(always)]`, and as a call it passed its
/// eight blocks through memory. Only used inside functions with AES-NI, PCLMULQDQ and SSSE3
/// enabled.
macro_rules! stitched {
    ($nr:ident, $k:expr, $pow:expr, $ctr:expr, $ct:expr, $y:expr, $rev:expr) => {{
        let k: &[__m128i; 15] = $k;
        let pow: &[__m128i; LANES] = $pow;
        let ct: &[__m128i; LANES] = $ct;
        let rev: __m128i = $rev;
        let mut x: [__m128i; LANES] = $ctr.map(|v| _mm_xor_si128(v, k[0]));
        macro_rules! round {
            ($r:expr) => {
                let key = k[$r];
                for v in x.iter_mut() {
                    *v = _mm_aesenc_si128(*v, key);
                }
            };
        }
        macro_rules! blk {
            ($j:expr) => {
                _mm_shuffle_epi8(ct[$j], rev)
            };
        }
        let mut acc = mul(blk!(1), pow[1]);
        round!(1);
        mul_acc(&mut acc, blk!(2), pow[2]);
        round!(2);
        mul_acc(&mut acc, blk!(3), pow[3]);
        round!(3);
        mul_acc(&mut acc, blk!(4), pow[4]);
        round!(4);
        mul_acc(&mut acc, blk!(5), pow[5]);
        round!(5);
        mul_acc(&mut acc, blk!(6), pow[6]);
        round!(6);
        mul_acc(&mut acc, blk!(7), pow[7]);
        round!(7);
        // The block that depends on `y` last, so the others overlap the previous reduction.
        mul_acc(&mut acc, _mm_xor_si128(blk!(0), $y), pow[0]);
        round!(8);
        let y = reduce(acc);
        for r in 9..$nr {
            round!(r);
        }
        (x.map(|v| _mm_aesenclast_si128(v, k[$nr])), y)
    }};
}

/// GHASH of eight blocks (GHASH byte order) continuing from `y`, one reduction.
#[target_feature(enable = "pclmulqdq,sse2,ssse3")]
#[inline]
fn hash8(pow: &[__m128i; LANES], ct: &[__m128i; LANES], y: __m128i, rev: __m128i) -> __m128i {
    let mut acc = mul(_mm_shuffle_epi8(ct[1], rev), pow[1]);
    for j in 2..LANES {
        mul_acc(&mut acc, _mm_shuffle_epi8(ct[j], rev), pow[j]);
    }
    let b = _mm_xor_si128(_mm_shuffle_epi8(ct[0], rev), y);
    mul_acc(&mut acc, b, pow[0]);
    reduce(acc)
}

/// Loads `N` blocks at `p`.
///
/// # Safety
/// `16·N` bytes at `p` must be readable.
#[inline(always)]
unsafe fn load_n<const N: usize>(p: *const u8) -> [__m128i; N] {
    // SAFETY: by contract; unaligned loads; SSE2 is the x86_64 baseline.
    core::array::from_fn(|j| unsafe { _mm_loadu_si128(p.add(16 * j).cast()) })
}

/// XORs `ks` into the `N` blocks at `p` (from `src`, the blocks as loaded).
///
/// # Safety
/// `16·N` bytes at `p` must be writable.
#[inline(always)]
unsafe fn store_xor<const N: usize>(p: *mut u8, src: &[__m128i; N], ks: &[__m128i; N]) {
    for (j, (s, k)) in src.iter().zip(ks.iter()).enumerate() {
        // SAFETY: by contract; unaligned store; SSE2 baseline.
        unsafe { _mm_storeu_si128(p.add(16 * j).cast(), _mm_xor_si128(*s, *k)) };
    }
}

/// Whether the data pass hashes the output (seal) or the input (open).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    Seal,
    Open,
}

/// `acc ← GHASH` over the concatenation of `pieces`, zero-padded to a whole block at the end,
/// on the parent module's GHASH; returns the POLYVAL accumulator and the total length.
fn ghash_pieces<'a>(g: &Ghash, pieces: impl Iterator<Item = &'a [u8]>) -> (u128, u64) {
    let mut acc = 0u128;
    let mut carry = [0u8; 16];
    let mut cn = 0usize;
    let mut total = 0u64;
    for piece in pieces {
        total = total.wrapping_add(piece.len() as u64);
        let mut piece = piece;
        if cn > 0 {
            let take = (16 - cn).min(piece.len());
            let (head, rest) = piece.split_at(take);
            if let Some(dst) = carry.get_mut(cn..cn + take) {
                dst.copy_from_slice(head);
            }
            cn += take;
            piece = rest;
            if cn < 16 {
                continue;
            }
            g.update(&mut acc, core::slice::from_ref(&carry));
        }
        let (blocks, tail) = piece.as_chunks::<16>();
        g.update(&mut acc, blocks);
        if let Some(dst) = carry.get_mut(..tail.len()) {
            dst.copy_from_slice(tail);
        }
        cn = tail.len();
    }
    if cn > 0 {
        if let Some(rest) = carry.get_mut(cn..) {
            rest.fill(0);
        }
        g.update(&mut acc, core::slice::from_ref(&carry));
    }
    carry.zeroize();
    (acc, total)
}

/// The last `rem < 128` bytes of the message through a zeroed stack block: keystream from
/// `ctr`, the `ceil(rem/16)` ciphertext blocks (zero-padded) and the length block hashed with
/// `H^(t+1)..H^1` in one reduction from `y`. Returns the final accumulator.
#[target_feature(enable = "aes,pclmulqdq,sse2,ssse3")]
#[allow(clippy::too_many_arguments)]
fn tail<const NR: usize>(
    k: &[__m128i; 15],
    g: &Ghash,
    dir: Dir,
    ctr: &mut Ctr,
    rev: __m128i,
    data: &mut [u8],
    y: __m128i,
    lens: __m128i,
) -> __m128i {
    let rem = data.len().min(RUN - 1);
    let t = rem.div_ceil(16);
    let h1 = get(&g.pow[0]);
    if t == 0 {
        return reduce(mul(_mm_xor_si128(y, lens), h1));
    }
    let mut blk = [0u8; RUN];
    blk[..rem].copy_from_slice(&data[..rem]);
    let p = blk.as_mut_ptr();
    // SAFETY: `blk` holds 128 readable and writable bytes.
    let input: [__m128i; LANES] = unsafe { load_n(p) };
    let ks = if t <= 4 {
        let [a, b, c, d] = aes_x::<NR, 4>(k, ctr.next::<4>(rev));
        [a, b, c, d, a, b, c, d]
    } else {
        aes_x::<NR, LANES>(k, ctr.next::<LANES>(rev))
    };
    // SAFETY: as above.
    unsafe { store_xor(p, &input, &ks) };
    let out = blk.get_mut(..rem).unwrap_or_default();
    if let Some(d) = data.get_mut(..rem) {
        d.copy_from_slice(out);
    }
    // Hash: the ciphertext, zero-padded (seal: the output; open: the input).
    let ct: [__m128i; LANES] = if dir == Dir::Seal {
        blk[rem..].fill(0);
        // SAFETY: as above.
        unsafe { load_n(p) }
    } else {
        input
    };
    // Block j takes H^(t+1-j) (index t-j); the length block H^1.
    let mut acc = mul(lens, h1);
    #[allow(clippy::needless_range_loop)]
    for j in 1..t.min(LANES) {
        mul_acc(&mut acc, _mm_shuffle_epi8(ct[j], rev), get(&g.pow[t - j]));
    }
    let b = _mm_xor_si128(_mm_shuffle_epi8(ct[0], rev), y);
    mul_acc(&mut acc, b, get(&g.pow[t]));
    blk.zeroize();
    reduce(acc)
}

/// GCM seal or open over `buf`: returns the full tag. Open decrypts in place; the caller
/// compares the tag and wipes `buf` on a mismatch.
///
/// # Safety
/// The CPU must have the features of the attribute.
#[target_feature(enable = "aes,pclmulqdq,sse2,ssse3")]
unsafe fn gcm<const NR: usize>(
    rk: &RoundKeys,
    g: &Ghash,
    dir: Dir,
    iv: &[u8; 12],
    aad: &[&[u8]],
    buf: &mut [u8],
) -> [u8; 16] {
    let k = round_keys(&rk.s);
    let rev = rev128();
    // SAFETY: features as this function's.
    let mask = unsafe { encrypt_j0_reg(&rk.s, iv) };
    let (acc, aad_len) = ghash_pieces(g, aad.iter().copied());
    let mut y = get(&acc);
    let pow: [__m128i; LANES] = core::array::from_fn(|j| get(&g.pow[LANES - 1 - j]));
    let n = buf.len();
    let p = buf.as_mut_ptr();
    let mut ctr = Ctr::new(iv, 2);
    let mut off = 0usize;
    // SAFETY (the bulk): every access is of whole blocks at `p + off + 16j` with
    // `off + 16(j+1) ≤ n`, or (seal, reading back) at `p + off - RUN + 16j`, processed just
    // before.
    unsafe {
        match dir {
            Dir::Seal if n >= RUN => {
                let ks = aes_x::<NR, LANES>(&k, ctr.next::<LANES>(rev));
                let q = p.add(off);
                store_xor(q, &load_n::<LANES>(q), &ks);
                off += RUN;
                while n - off >= RUN {
                    let prev = load_n::<LANES>(p.add(off - RUN));
                    let (ks, y2) = stitched!(NR, &k, &pow, ctr.next::<LANES>(rev), &prev, y, rev);
                    y = y2;
                    let q = p.add(off);
                    store_xor(q, &load_n::<LANES>(q), &ks);
                    off += RUN;
                }
                y = hash8(&pow, &load_n::<LANES>(p.add(off - RUN)), y, rev);
            }
            Dir::Seal => {}
            Dir::Open => {
                while n - off >= RUN {
                    let q = p.add(off);
                    let ct = load_n::<LANES>(q);
                    let (ks, y2) = stitched!(NR, &k, &pow, ctr.next::<LANES>(rev), &ct, y, rev);
                    y = y2;
                    store_xor(q, &ct, &ks);
                    off += RUN;
                }
            }
        }
    }
    let lens = len_block(aad_len, n as u64);
    y = tail::<NR>(
        &k,
        g,
        dir,
        &mut ctr,
        rev,
        buf.get_mut(off..).unwrap_or_default(),
        y,
        lens,
    );
    tag_bytes(y, mask)
}

/// GCM-AE: encrypts `buf` in place and returns the full 16-byte tag over `aad` (its pieces
/// concatenated) and the ciphertext, for the 96-bit `iv`. `g` is the GHASH key of the same
/// AES key.
pub(crate) fn seal(
    rk: &RoundKeys,
    g: &Ghash,
    iv: &[u8; 12],
    aad: &[&[u8]],
    buf: &mut [u8],
) -> [u8; 16] {
    // SAFETY: a `RoundKeys` exists only where `available()` found every feature.
    unsafe {
        if rk.s.is_aes256() {
            gcm::<14>(rk, g, Dir::Seal, iv, aad, buf)
        } else {
            gcm::<10>(rk, g, Dir::Seal, iv, aad, buf)
        }
    }
}

/// GCM-AD pass: hashes the ciphertext in `buf` and decrypts it in place in the same pass,
/// returning the expected full tag. The caller must compare it and wipe `buf` on a mismatch
/// before releasing anything.
pub(crate) fn open(
    rk: &RoundKeys,
    g: &Ghash,
    iv: &[u8; 12],
    aad: &[&[u8]],
    buf: &mut [u8],
) -> [u8; 16] {
    // SAFETY: as in `seal`.
    unsafe {
        if rk.s.is_aes256() {
            gcm::<14>(rk, g, Dir::Open, iv, aad, buf)
        } else {
            gcm::<10>(rk, g, Dir::Open, iv, aad, buf)
        }
    }
}

/// GMAC body.
///
/// # Safety
/// The CPU must have the features of the attribute.
#[target_feature(enable = "aes,pclmulqdq,sse2,ssse3")]
unsafe fn gmac_inner<'a>(
    rk: &RoundKeys,
    g: &Ghash,
    iv: &[u8; 12],
    pieces: impl Iterator<Item = &'a [u8]>,
) -> [u8; 16] {
    // SAFETY: features as this function's.
    let mask = unsafe { encrypt_j0_reg(&rk.s, iv) };
    let (acc, len) = ghash_pieces(g, pieces);
    let y = reduce(mul(
        _mm_xor_si128(get(&acc), len_block(len, 0)),
        get(&g.pow[0]),
    ));
    tag_bytes(y, mask)
}

/// GMAC (GCM with an empty plaintext) of the concatenation of `pieces`: the full tag.
pub(crate) fn gmac<'a>(
    rk: &RoundKeys,
    g: &Ghash,
    iv: &[u8; 12],
    pieces: impl Iterator<Item = &'a [u8]>,
) -> [u8; 16] {
    // SAFETY: as in `seal`.
    unsafe { gmac_inner(rk, g, iv, pieces) }
}

/// CTR body: eight blocks per iteration, the tail through a stack block.
///
/// # Safety
/// The CPU must have the features of the attribute.
#[target_feature(enable = "aes,sse2,ssse3")]
unsafe fn ctr_nr<const NR: usize>(rk: &RoundKeys, iv: &[u8; 12], buf: &mut [u8]) {
    let k = round_keys(&rk.s);
    let rev = rev128();
    let mut ctr = Ctr::new(iv, 2);
    let mut chunks = buf.chunks_exact_mut(RUN);
    for chunk in &mut chunks {
        let ks = aes_x::<NR, LANES>(&k, ctr.next::<LANES>(rev));
        let q = chunk.as_mut_ptr();
        // SAFETY: `chunk` is 128 readable and writable bytes.
        unsafe { store_xor(q, &load_n::<LANES>(q), &ks) };
    }
    let rest = chunks.into_remainder();
    if rest.is_empty() {
        return;
    }
    let mut blk = [0u8; RUN];
    blk[..rest.len()].copy_from_slice(rest);
    let q = blk.as_mut_ptr();
    let ks = if rest.len() <= 64 {
        let [a, b, c, d] = aes_x::<NR, 4>(&k, ctr.next::<4>(rev));
        [a, b, c, d, a, b, c, d]
    } else {
        aes_x::<NR, LANES>(&k, ctr.next::<LANES>(rev))
    };
    // SAFETY: `blk` is 128 readable and writable bytes.
    unsafe { store_xor(q, &load_n::<LANES>(q), &ks) };
    rest.copy_from_slice(&blk[..rest.len()]);
    blk.zeroize();
}

/// XORs the CTR keystream from counter block `IV ‖ 2` (`inc32`) into `buf`.
pub(crate) fn ctr(rk: &RoundKeys, iv: &[u8; 12], buf: &mut [u8]) {
    // SAFETY: as in `seal`.
    unsafe {
        if rk.s.is_aes256() {
            ctr_nr::<14>(rk, iv, buf)
        } else {
            ctr_nr::<10>(rk, iv, buf)
        }
    }
}
