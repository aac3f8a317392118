//! Stitched AES-GCM on VAES + VPCLMULQDQ with 256-bit registers (AVX2, no AVX-512: for
//! example AMD Zen 3 and Intel Alder Lake), and the CTR keystream on the same AES code.
//!
//! # Design
//!
//! The 256-bit sibling of [`super::vaes`] (the structure of the Linux kernel's
//! `aes-gcm-vaes-avx2`): two blocks per register and instruction, sixteen `ymm` registers.
//!
//! - **Per key** ([`RoundKeys`], [`HPowers`]): the AES round keys (the schedule shared with
//!   the other engines) and the same `H^32..H^1` table as the 512-bit engine (descending, four
//!   zero blocks after it), so the powers for the last `t` blocks of a message are one
//!   unaligned 32-byte load per two blocks. Nothing is copied per message.
//! - **Per message**: round keys broadcast to both lanes; counter blocks kept byte-reversed
//!   (`inc32` is one `VPADDD`). The main loop encrypts sixteen blocks (eight registers) per
//!   iteration, then one of eight blocks if at least that many remain, and multiplies as many
//!   ciphertext blocks by `H^16..H^1` (or `H^8..H^1`) with `VPCLMULQDQ` in the same
//!   iteration, summed unreduced and reduced once (sixteen blocks per iteration measured
//!   faster than eight for both seal and open, although the round keys then live in memory). Seal hashes the previous iteration's ciphertext, open the
//!   ciphertext it is about to decrypt: one pass over the data in both directions.
//! - **Tail** (fewer than eight blocks): whole registers are loaded and stored in place; the
//!   last partial register goes through a zeroed 32-byte stack block (no masked loads without
//!   AVX-512), zero-padded for GHASH, and the length block is folded into the same single
//!   reduction.
//! - **GHASH only** (AAD, GMAC): sixteen blocks per reduction, the tail in one more.
//!
//! # Constant time
//!
//! AES rounds in hardware, carry-less multiplications, shuffles and XORs: no table, branch or
//! memory address depends on the key or the data, only on the public lengths.
//!
//! # Safety
//!
//! Every `unsafe fn` and `#[target_feature]` function here requires the CPU features listed in
//! its `target_feature` attribute; [`RoundKeys`] is constructible only through
//! [`RoundKeys::new`], which checks them (cached `cpufeatures` detection), so holding one is the
//! proof that the features are present. The safe entry points take a `&RoundKeys`.

use core::arch::x86_64::{
    __m128i, __m256i, _mm_setzero_si128, _mm_shuffle_epi8, _mm_xor_si128, _mm256_add_epi32,
    _mm256_aesenc_epi128, _mm256_aesenclast_epi128, _mm256_broadcastsi128_si256,
    _mm256_bslli_epi128, _mm256_bsrli_epi128, _mm256_castsi256_si128, _mm256_clmulepi64_epi128,
    _mm256_extracti128_si256, _mm256_loadu_si256, _mm256_set_epi32, _mm256_shuffle_epi8,
    _mm256_storeu_si256, _mm256_xor_si256, _mm256_zextsi128_si256,
};

use zeroize::{Zeroize, ZeroizeOnDrop};

use super::vaes::{
    HPowers, NPOW, Schedule, counter_block, get, len_block, reduce128, rev128, tag_bytes,
};

cpufeatures::new!(
    vaes256_cpuid,
    "vaes",
    "vpclmulqdq",
    "avx2",
    "avx",
    "aes",
    "pclmulqdq",
    "sse2",
    "ssse3"
);

/// Whether this CPU runs the VAES-256 path (detected once, then cached).
pub(crate) fn available() -> bool {
    vaes256_cpuid::get()
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

    /// `H = E_K(0^128)` and its powers.
    pub(crate) fn powers(&self) -> HPowers {
        // SAFETY: `available()` confirmed AES-NI, PCLMULQDQ, SSE2 and SSSE3.
        unsafe { HPowers::from_schedule(&self.s) }
    }
}

/// `rev128` in both lanes.
#[target_feature(enable = "avx2,avx,sse2,ssse3")]
#[inline]
fn rev256() -> __m256i {
    _mm256_broadcastsi128_si256(rev128())
}

/// Unreduced sums of products, two lanes each.
#[derive(Clone, Copy)]
struct Acc {
    lo: __m256i,
    hi: __m256i,
    mid: __m256i,
}

/// The products of each lane of `x` and `h`, unreduced (schoolbook).
#[target_feature(enable = "vpclmulqdq,avx2,avx,pclmulqdq,sse2,ssse3")]
#[inline]
fn mul(x: __m256i, h: __m256i) -> Acc {
    Acc {
        lo: _mm256_clmulepi64_epi128::<0x00>(x, h),
        hi: _mm256_clmulepi64_epi128::<0x11>(x, h),
        mid: _mm256_xor_si256(
            _mm256_clmulepi64_epi128::<0x01>(x, h),
            _mm256_clmulepi64_epi128::<0x10>(x, h),
        ),
    }
}

/// `acc += x·h` (lane by lane, unreduced).
#[target_feature(enable = "vpclmulqdq,avx2,avx,pclmulqdq,sse2,ssse3")]
#[inline]
fn mul_acc(acc: &mut Acc, x: __m256i, h: __m256i) {
    let p = mul(x, h);
    acc.lo = _mm256_xor_si256(acc.lo, p.lo);
    acc.hi = _mm256_xor_si256(acc.hi, p.hi);
    acc.mid = _mm256_xor_si256(acc.mid, p.mid);
}

/// XOR of the two 128-bit lanes.
#[target_feature(enable = "avx2,avx,sse2")]
#[inline]
fn fold_lanes(z: __m256i) -> __m128i {
    _mm_xor_si128(
        _mm256_extracti128_si256::<0>(z),
        _mm256_extracti128_si256::<1>(z),
    )
}

/// Sums the lanes of `acc` and reduces: the new POLYVAL accumulator.
#[target_feature(enable = "vpclmulqdq,avx2,avx,pclmulqdq,sse2,ssse3")]
#[inline]
fn reduce(acc: Acc) -> __m128i {
    let lo = _mm256_xor_si256(acc.lo, _mm256_bslli_epi128::<8>(acc.mid));
    let hi = _mm256_xor_si256(acc.hi, _mm256_bsrli_epi128::<8>(acc.mid));
    reduce128(fold_lanes(lo), fold_lanes(hi))
}

/// Two powers starting at index `i` of the descending table.
///
/// # Safety
/// `i + 2 <= NPOW + 4`, and the CPU must have AVX.
#[target_feature(enable = "avx")]
#[inline]
unsafe fn pow2(hp: &[u128; NPOW + 4], i: usize) -> __m256i {
    debug_assert!(i + 2 <= hp.len());
    // SAFETY: the caller keeps `i + 2` within the table, so 32 bytes are readable.
    unsafe { _mm256_loadu_si256(hp.as_ptr().add(i).cast()) }
}

/// Loads 32 bytes at `p`.
///
/// # Safety
/// 32 bytes at `p` must be readable; the CPU must have AVX.
#[target_feature(enable = "avx")]
#[inline]
unsafe fn load32(p: *const u8) -> __m256i {
    // SAFETY: by contract.
    unsafe { _mm256_loadu_si256(p.cast()) }
}

/// Stores 32 bytes at `p`.
///
/// # Safety
/// 32 bytes at `p` must be writable; the CPU must have AVX.
#[target_feature(enable = "avx")]
#[inline]
unsafe fn store32(p: *mut u8, v: __m256i) {
    // SAFETY: by contract.
    unsafe { _mm256_storeu_si256(p.cast(), v) }
}

/// Loads `len < 32` bytes at `p` through the zeroed stack block `part` (zero beyond `len`).
///
/// # Safety
/// `len < 32` bytes at `p` must be readable; the CPU must have AVX.
#[target_feature(enable = "avx")]
#[inline]
unsafe fn load_part(part: &mut [u8; 32], p: *const u8, len: usize) -> __m256i {
    let len = len.min(31);
    // SAFETY: by contract `len` bytes at `p` are readable; `part` is 32 bytes.
    unsafe {
        core::ptr::copy_nonoverlapping(p, part.as_mut_ptr(), len);
        load32(part.as_ptr())
    }
}

/// `y ← GHASH_H` of `data` zero-padded to whole blocks, continuing from `y`: sixteen blocks per
/// reduction, then the rest (up to fifteen blocks) in one more reduction.
///
/// # Safety
/// The CPU must have the features of the attribute.
#[target_feature(enable = "vpclmulqdq,avx2,avx,pclmulqdq,sse2,ssse3")]
unsafe fn ghash_padded(hp: &[u128; NPOW + 4], mut y: __m128i, data: &[u8]) -> __m128i {
    let rev = rev256();
    let mut rem = data.len();
    let mut p = data.as_ptr();
    while rem >= 256 {
        // SAFETY: 256 bytes from `p` are within `data`; `pow2` indices 16..=30.
        unsafe {
            // The product that depends on `y` last (it waits for the previous reduction).
            let mut acc = mul(
                _mm256_shuffle_epi8(load32(p.add(32)), rev),
                pow2(hp, NPOW - 14),
            );
            for j in 2..8 {
                let x = _mm256_shuffle_epi8(load32(p.add(32 * j)), rev);
                mul_acc(&mut acc, x, pow2(hp, NPOW - 16 + 2 * j));
            }
            let x = _mm256_xor_si256(
                _mm256_shuffle_epi8(load32(p), rev),
                _mm256_zextsi128_si256(y),
            );
            mul_acc(&mut acc, x, pow2(hp, NPOW - 16));
            y = reduce(acc);
            p = p.add(256);
        }
        rem -= 256;
    }
    if rem > 0 {
        // t ≤ 16 blocks take H^t..H^1.
        let base = NPOW - rem.div_ceil(16);
        let mut part = [0u8; 32];
        let mut acc: Option<Acc> = None;
        let mut j = 0;
        while j * 32 < rem {
            let len = rem - 32 * j;
            // SAFETY: `min(len, 32)` bytes from `p + 32j` are within `data`; `pow2` index
            // `base + 2j + 2 ≤ NPOW + 1`.
            unsafe {
                let q = p.add(32 * j);
                let v = if len >= 32 {
                    load32(q)
                } else {
                    load_part(&mut part, q, len)
                };
                let mut x = _mm256_shuffle_epi8(v, rev);
                let h = pow2(hp, base + 2 * j);
                match &mut acc {
                    None => {
                        x = _mm256_xor_si256(x, _mm256_zextsi128_si256(y));
                        acc = Some(mul(x, h));
                    }
                    Some(a) => mul_acc(a, x, h),
                }
            }
            j += 1;
        }
        if let Some(a) = acc {
            y = reduce(a);
        }
        part.zeroize();
    }
    y
}

/// `y ← GHASH` over the concatenation of `pieces`, zero-padded to a whole block at the end;
/// returns the new accumulator and the total length in bytes (as in [`super::vaes`]).
///
/// # Safety
/// The CPU must have the features of the attribute.
#[target_feature(enable = "vpclmulqdq,avx2,avx,pclmulqdq,sse2,ssse3")]
unsafe fn ghash_pieces<'a>(
    hp: &[u128; NPOW + 4],
    mut y: __m128i,
    pieces: impl Iterator<Item = &'a [u8]>,
) -> (__m128i, u64) {
    let mut carry = [0u8; 16];
    let mut cn = 0usize;
    let mut total = 0u64;
    let mut it = pieces.peekable();
    while let Some(piece) = it.next() {
        total = total.wrapping_add(piece.len() as u64);
        let mut piece = piece;
        if cn > 0 {
            let take = (16 - cn).min(piece.len());
            let (head, rest) = piece.split_at(take);
            carry[cn..cn + take].copy_from_slice(head);
            cn += take;
            piece = rest;
            if cn < 16 {
                continue;
            }
            // SAFETY: features as this function's.
            y = unsafe { ghash_padded(hp, y, &carry) };
            cn = 0;
        }
        if it.peek().is_none() {
            // SAFETY: as above.
            y = unsafe { ghash_padded(hp, y, piece) };
        } else {
            let whole = piece.len() & !15;
            let (blocks, tail) = piece.split_at(whole);
            // SAFETY: as above.
            y = unsafe { ghash_padded(hp, y, blocks) };
            carry[..tail.len()].copy_from_slice(tail);
            cn = tail.len();
        }
    }
    if cn > 0 {
        // SAFETY: as above.
        y = unsafe { ghash_padded(hp, y, &carry[..cn]) };
    }
    carry.zeroize();
    (y, total)
}

/// The round keys, each broadcast to both lanes.
#[target_feature(enable = "avx2,avx,sse2")]
#[inline]
fn broadcast_keys(s: &Schedule) -> [__m256i; 15] {
    core::array::from_fn(|i| _mm256_broadcastsi128_si256(get(&s.rk[i])))
}

/// Encrypts `N` registers (2·N blocks) with `NR` rounds, round by round across the registers.
#[target_feature(enable = "vaes,avx2,avx,aes,sse2")]
#[inline]
fn aes_x<const NR: usize, const N: usize>(k: &[__m256i; 15], x: [__m256i; N]) -> [__m256i; N] {
    let mut x = x.map(|v| _mm256_xor_si256(v, k[0]));
    for key in &k[1..NR] {
        for v in x.iter_mut() {
            *v = _mm256_aesenc_epi128(*v, *key);
        }
    }
    x.map(|v| _mm256_aesenclast_epi128(v, k[NR]))
}

/// Counter state: two byte-reversed counter blocks (`IV ‖ BE32(c + lane)` reversed, so the
/// counter is the low dword of each lane).
struct Ctr {
    rev_ctr: __m256i,
}

impl Ctr {
    /// Counter blocks `IV ‖ BE32(first + lane)`.
    #[target_feature(enable = "avx2,avx,sse2,ssse3")]
    #[inline]
    fn new(iv: &[u8; 12], first: u32) -> Ctr {
        let r = _mm_shuffle_epi8(counter_block(iv, first), rev128());
        let lanes = _mm256_set_epi32(0, 0, 0, 1, 0, 0, 0, 0);
        Ctr {
            rev_ctr: _mm256_add_epi32(_mm256_broadcastsi128_si256(r), lanes),
        }
    }

    /// The next `N` registers of counter blocks (AES input byte order).
    #[target_feature(enable = "avx2,avx,sse2,ssse3")]
    #[inline]
    fn next<const N: usize>(&mut self, rev: __m256i) -> [__m256i; N] {
        let two = _mm256_set_epi32(0, 0, 0, 2, 0, 0, 0, 2);
        core::array::from_fn(|_| {
            let c = _mm256_shuffle_epi8(self.rev_ctr, rev);
            self.rev_ctr = _mm256_add_epi32(self.rev_ctr, two);
            c
        })
    }
}

/// `E_K(J0)` for `J0 = IV ‖ 1` (lane 0).
#[target_feature(enable = "vaes,avx2,avx,aes,sse2,ssse3")]
#[inline]
fn mask_j0<const NR: usize>(k: &[__m256i; 15], iv: &[u8; 12], rev: __m256i) -> __m128i {
    let j0 = Ctr::new(iv, 1).next::<1>(rev);
    _mm256_castsi256_si128(aes_x::<NR, 1>(k, j0)[0])
}

/// Whether the data pass hashes the output (seal) or the input (open).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Dir {
    Seal,
    Open,
}

/// The last `rem` bytes at `p` in `N` registers (`N = ceil(rem / 32)`): CTR from `ctr`,
/// ciphertext (output for seal, input for open) hashed with the length block in one
/// reduction, continuing from `y`. Returns the final GHASH accumulator.
///
/// # Safety
/// `rem` bytes at `p` must be readable and writable, `32·(N-1) < rem ≤ 32·N`; the CPU must
/// have the features of the attribute.
#[target_feature(enable = "vaes,vpclmulqdq,avx2,avx,aes,pclmulqdq,sse2,ssse3")]
#[inline]
#[allow(clippy::too_many_arguments)]
unsafe fn tail<const NR: usize, const N: usize>(
    k: &[__m256i; 15],
    hp: &[u128; NPOW + 4],
    dir: Dir,
    ctr: &mut Ctr,
    rev: __m256i,
    p: *mut u8,
    rem: usize,
    y: __m128i,
    lens: __m128i,
) -> __m128i {
    let ks = aes_x::<NR, N>(k, ctr.next::<N>(rev));
    // t tail blocks and the length block take H^(t+1)..H^1.
    let base = NPOW - 1 - rem.div_ceil(16);
    let mut part = [0u8; 32];
    // SAFETY (whole block): register `j` covers `min(rem - 32j, 32)` bytes from `p + 32j`,
    // within the buffer by contract (whole registers in place, the partial one through
    // `part`); `pow2` indices: `base + 2j + 2 ≤ NPOW + 1`.
    let y = unsafe {
        let mut acc = mul(
            _mm256_zextsi128_si256(lens),
            pow2(hp, NPOW - 1), // H^1, then zero
        );
        for (j, ks) in ks.iter().enumerate() {
            let len = rem - 32 * j;
            let q = p.add(32 * j);
            let ct = if len >= 32 {
                let input = load32(q);
                let out = _mm256_xor_si256(input, *ks);
                store32(q, out);
                if dir == Dir::Seal { out } else { input }
            } else {
                let input = load_part(&mut part, q, len);
                store32(part.as_mut_ptr(), _mm256_xor_si256(input, *ks));
                core::ptr::copy_nonoverlapping(part.as_ptr(), q, len);
                if dir == Dir::Seal {
                    part[len..].fill(0);
                    load32(part.as_ptr())
                } else {
                    input
                }
            };
            let mut x = _mm256_shuffle_epi8(ct, rev);
            if j == 0 {
                x = _mm256_xor_si256(x, _mm256_zextsi128_si256(y));
            }
            mul_acc(&mut acc, x, pow2(hp, base + 2 * j));
        }
        reduce(acc)
    };
    part.zeroize();
    y
}

/// The stitched loop over whole runs of `2·N` blocks from `*off` while at least that many
/// bytes remain (one reduction per iteration with `H^(2N)..H^1`). Seal hashes each run's
/// ciphertext during the next run's AES rounds; open hashes the run it decrypts. Advances
/// `*off`; returns the GHASH accumulator.
///
/// # Safety
/// `n` bytes at `p` must be readable and writable, `*off ≤ n`, `2N ≤ NPOW`; the CPU must have
/// the features of the attribute.
#[target_feature(enable = "vaes,vpclmulqdq,avx2,avx,aes,pclmulqdq,sse2,ssse3")]
#[inline]
#[allow(clippy::too_many_arguments)]
unsafe fn bulk<const NR: usize, const N: usize>(
    k: &[__m256i; 15],
    hp: &[u128; NPOW + 4],
    dir: Dir,
    ctr: &mut Ctr,
    rev: __m256i,
    p: *mut u8,
    n: usize,
    off: &mut usize,
    mut y: __m128i,
) -> __m128i {
    let run = 32 * N;
    if n - *off < run {
        return y;
    }
    let first = NPOW - 2 * N;
    // SAFETY: `pow2` indices `first + 2j ≤ NPOW - 2`; every load and store is of a whole
    // register inside `p[*off..*off + run]` with `*off + run ≤ n`, or (seal, reading back the
    // previous run) inside `p[*off - run..*off]`, which was processed just before.
    unsafe {
        let hash = |y: __m128i, ct: &[__m256i; N]| {
            // The `y`-dependent product last.
            let mut acc = mul(_mm256_shuffle_epi8(ct[1], rev), pow2(hp, first + 2));
            for (j, c) in ct.iter().enumerate().skip(2) {
                mul_acc(
                    &mut acc,
                    _mm256_shuffle_epi8(*c, rev),
                    pow2(hp, first + 2 * j),
                );
            }
            let x = _mm256_xor_si256(_mm256_shuffle_epi8(ct[0], rev), _mm256_zextsi128_si256(y));
            mul_acc(&mut acc, x, pow2(hp, first));
            reduce(acc)
        };
        match dir {
            Dir::Seal => {
                let ks = aes_x::<NR, N>(k, ctr.next::<N>(rev));
                let q = p.add(*off);
                for (j, ks) in ks.iter().enumerate() {
                    store32(q.add(32 * j), _mm256_xor_si256(load32(q.add(32 * j)), *ks));
                }
                *off += run;
                while n - *off >= run {
                    let ks = aes_x::<NR, N>(k, ctr.next::<N>(rev));
                    let prev = p.add(*off - run);
                    let ct: [__m256i; N] = core::array::from_fn(|j| load32(prev.add(32 * j)));
                    y = hash(y, &ct);
                    let q = p.add(*off);
                    for (j, ks) in ks.iter().enumerate() {
                        store32(q.add(32 * j), _mm256_xor_si256(load32(q.add(32 * j)), *ks));
                    }
                    *off += run;
                }
                let prev = p.add(*off - run);
                let ct: [__m256i; N] = core::array::from_fn(|j| load32(prev.add(32 * j)));
                y = hash(y, &ct);
            }
            Dir::Open => {
                while n - *off >= run {
                    let q = p.add(*off);
                    let ct: [__m256i; N] = core::array::from_fn(|j| load32(q.add(32 * j)));
                    let ks = aes_x::<NR, N>(k, ctr.next::<N>(rev));
                    y = hash(y, &ct);
                    for (j, (c, ks)) in ct.iter().zip(ks.iter()).enumerate() {
                        store32(q.add(32 * j), _mm256_xor_si256(*c, *ks));
                    }
                    *off += run;
                }
            }
        }
    }
    y
}

/// GCM seal or open over `buf`: returns the full tag. Open decrypts in place; the caller
/// compares the tag and wipes `buf` on a mismatch.
///
/// # Safety
/// The CPU must have the features of the attribute.
#[target_feature(enable = "vaes,vpclmulqdq,avx2,avx,aes,pclmulqdq,sse2,ssse3")]
unsafe fn gcm<const NR: usize>(
    rk: &RoundKeys,
    hp: &HPowers,
    dir: Dir,
    iv: &[u8; 12],
    aad: &[&[u8]],
    buf: &mut [u8],
) -> [u8; 16] {
    let k = broadcast_keys(&rk.s);
    let hp = &hp.pow;
    let rev = rev256();
    let mask = mask_j0::<NR>(&k, iv, rev);
    // SAFETY: features as this function's.
    let (mut y, aad_len) = unsafe { ghash_pieces(hp, _mm_setzero_si128(), aad.iter().copied()) };
    let n = buf.len();
    let p = buf.as_mut_ptr();
    let mut ctr = Ctr::new(iv, 2);
    let mut off = 0usize;
    // SAFETY (the data pass): every access is at `p + off + 32j` with `off + 32(j+1) ≤ n`
    // (whole registers, `bulk`) or within the `n - off` remaining bytes (`tail`).
    unsafe {
        y = bulk::<NR, 8>(&k, hp, dir, &mut ctr, rev, p, n, &mut off, y);
        y = bulk::<NR, 4>(&k, hp, dir, &mut ctr, rev, p, n, &mut off, y);
        let rem = n - off;
        let lens = len_block(aad_len, n as u64);
        let q = p.add(off);
        y = match rem.div_ceil(32) {
            0 => reduce(mul(
                _mm256_zextsi128_si256(_mm_xor_si128(y, lens)),
                pow2(hp, NPOW - 1),
            )),
            1 => tail::<NR, 1>(&k, hp, dir, &mut ctr, rev, q, rem, y, lens),
            2 => tail::<NR, 2>(&k, hp, dir, &mut ctr, rev, q, rem, y, lens),
            3 => tail::<NR, 3>(&k, hp, dir, &mut ctr, rev, q, rem, y, lens),
            _ => tail::<NR, 4>(&k, hp, dir, &mut ctr, rev, q, rem, y, lens),
        };
    }
    tag_bytes(y, mask)
}

/// GCM-AE: encrypts `buf` in place and returns the full 16-byte tag over `aad` (its pieces
/// concatenated) and the ciphertext, for the 96-bit `iv`.
pub(crate) fn seal(
    rk: &RoundKeys,
    hp: &HPowers,
    iv: &[u8; 12],
    aad: &[&[u8]],
    buf: &mut [u8],
) -> [u8; 16] {
    // SAFETY: a `RoundKeys` exists only where `available()` found every feature.
    unsafe {
        if rk.s.is_aes256() {
            gcm::<14>(rk, hp, Dir::Seal, iv, aad, buf)
        } else {
            gcm::<10>(rk, hp, Dir::Seal, iv, aad, buf)
        }
    }
}

/// GCM-AD pass: hashes the ciphertext in `buf` and decrypts it in place in the same pass,
/// returning the expected full tag. The caller must compare it and wipe `buf` on a mismatch
/// before releasing anything.
pub(crate) fn open(
    rk: &RoundKeys,
    hp: &HPowers,
    iv: &[u8; 12],
    aad: &[&[u8]],
    buf: &mut [u8],
) -> [u8; 16] {
    // SAFETY: as in `seal`.
    unsafe {
        if rk.s.is_aes256() {
            gcm::<14>(rk, hp, Dir::Open, iv, aad, buf)
        } else {
            gcm::<10>(rk, hp, Dir::Open, iv, aad, buf)
        }
    }
}

/// GMAC body.
///
/// # Safety
/// The CPU must have the features of the attribute.
#[target_feature(enable = "vaes,vpclmulqdq,avx2,avx,aes,pclmulqdq,sse2,ssse3")]
unsafe fn gmac_nr<'a, const NR: usize>(
    rk: &RoundKeys,
    hp: &HPowers,
    iv: &[u8; 12],
    pieces: impl Iterator<Item = &'a [u8]>,
) -> [u8; 16] {
    let k = broadcast_keys(&rk.s);
    let hp = &hp.pow;
    let rev = rev256();
    let mask = mask_j0::<NR>(&k, iv, rev);
    // SAFETY: features as this function's; `pow2(NPOW - 1)` reads H^1 and padding.
    unsafe {
        let (y, len) = ghash_pieces(hp, _mm_setzero_si128(), pieces);
        let x = _mm_xor_si128(y, len_block(len, 0));
        let y = reduce(mul(_mm256_zextsi128_si256(x), pow2(hp, NPOW - 1)));
        tag_bytes(y, mask)
    }
}

/// GMAC (GCM with an empty plaintext) of the concatenation of `pieces`: the full tag.
pub(crate) fn gmac<'a>(
    rk: &RoundKeys,
    hp: &HPowers,
    iv: &[u8; 12],
    pieces: impl Iterator<Item = &'a [u8]>,
) -> [u8; 16] {
    // SAFETY: as in `seal`.
    unsafe {
        if rk.s.is_aes256() {
            gmac_nr::<14>(rk, hp, iv, pieces)
        } else {
            gmac_nr::<10>(rk, hp, iv, pieces)
        }
    }
}

/// CTR body: sixteen blocks per iteration, the rest in one more batch (the partial register
/// through a stack block).
///
/// # Safety
/// The CPU must have the features of the attribute.
#[target_feature(enable = "vaes,avx2,avx,aes,sse2,ssse3")]
unsafe fn ctr_nr<const NR: usize>(rk: &RoundKeys, iv: &[u8; 12], buf: &mut [u8]) {
    let k = broadcast_keys(&rk.s);
    let rev = rev256();
    let mut ctr = Ctr::new(iv, 2);
    let n = buf.len();
    let p = buf.as_mut_ptr();
    let mut off = 0;
    let mut part = [0u8; 32];
    // SAFETY: whole-register accesses stay below `n`; the partial register is copied through
    // `part` (only the remaining bytes of `buf` are read and written).
    unsafe {
        while n - off >= 256 {
            let ks = aes_x::<NR, 8>(&k, ctr.next::<8>(rev));
            let q = p.add(off);
            for (j, ks) in ks.iter().enumerate() {
                let q = q.add(32 * j);
                store32(q, _mm256_xor_si256(load32(q), *ks));
            }
            off += 256;
        }
        if off < n {
            let ks = aes_x::<NR, 8>(&k, ctr.next::<8>(rev));
            for ks in ks.iter() {
                let rem = n - off;
                if rem == 0 {
                    break;
                }
                let q = p.add(off);
                if rem >= 32 {
                    store32(q, _mm256_xor_si256(load32(q), *ks));
                    off += 32;
                } else {
                    let v = load_part(&mut part, q, rem);
                    store32(part.as_mut_ptr(), _mm256_xor_si256(v, *ks));
                    core::ptr::copy_nonoverlapping(part.as_ptr(), q, rem);
                    off += rem;
                }
            }
        }
    }
    part.zeroize();
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
