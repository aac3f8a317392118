//! The SIMD module: the only `unsafe` / `core::arch` code of `cse-core`.
//!
//! - this file: GHASH with carry-less multiplication (x86_64 PCLMULQDQ, and VPCLMULQDQ on
//!   AVX-512), for the paths where AES runs on the `aes` crate and for the AES-NI engine, and
//!   the dispatch over the stitched engines ([`FastAes`], [`Stitched`]);
//! - [`vaes`]: stitched AES-GCM, GMAC and CTR on VAES + VPCLMULQDQ with 512-bit registers, and
//!   the key schedule and GHASH helpers the other engines share;
//! - [`vaes256`]: the same on VAES + VPCLMULQDQ with 256-bit registers (AVX2, no AVX-512);
//! - [`aesni`]: the same on AES-NI + PCLMULQDQ with 128-bit registers;
//! - [`crc`]: the reflected CRCs (CSI-2 CRC-16, FuSa CRC-32) by carry-less folding on
//!   VPCLMULQDQ, one or two CRCs per pass, for [`crate::crc`];
//! - [`cmac_lanes`]: up to sixteen independent CBC-MAC chains side by side (VAES-512 or
//!   AES-NI), for the batched CMAC.
//!
//! Every function is documented with its safety contract; the types that unlock the
//! `target_feature` code (`Ghash`, one `RoundKeys` per engine, `cmac_lanes::CbcLanes`) are
//! constructible only after run-time detection of that code's CPU features.
//!
//! # GHASH for the `aes` crate paths
//!
//! Used by [`super::gcm`] for GCM seal/open, GMAC and batched GMAC whenever the CPU has
//! PCLMULQDQ and SSSE3 (detected at run time through `cpufeatures`, cached); otherwise the
//! portable `ghash` crate runs. With AVX-512F/BW and VPCLMULQDQ as well, runs of 16 or more
//! blocks take a 512-bit path. Both paths are tested against each other (unit tests here and
//! in `gcm`, the `ghash_diff` fuzz target).
//!
//! # Method
//!
//! GHASH is computed as POLYVAL (RFC 8452, appendix A): `GHASH(H, X_1..X_n) =
//! rev(POLYVAL(mulX(rev(H)), rev(X_1)..rev(X_n)))` with `rev` the byte reversal (one `PSHUFB`
//! per block). In the POLYVAL representation bit `i` of a 128-bit register is the coefficient
//! of `x^i`, which is what `PCLMULQDQ` multiplies, and the field product is `a·b·x^-128 mod P`
//! with `P = x^128 + x^127 + x^126 + x^121 + 1`, reduced with two folds by the constant
//! `x^63 + x^62 + x^57`.
//!
//! The key holds `H^1..H^16`. Eight blocks are multiplied by `H^8..H^1` (Karatsuba: three
//! carry-less multiplies per block), their 256-bit products summed, and the sum reduced once.
//! A tail of `n < 8` blocks uses `H^n..H^1` the same way. The 512-bit path does the same for
//! sixteen blocks (four registers of four blocks times `H^16..H^1`, three `VPCLMULQDQ` per
//! register), folds the four lanes and reduces once; its tail goes to the 128-bit path.
//!
//! # Constant time
//!
//! Carry-less multiplication, shuffles and XORs only: no table, no branch and no memory access
//! depends on the key or the data (only on the public input length).
//!
//! # Key material
//!
//! The powers of `H` are zeroized on drop. [`Ghash`] holds only the key's powers and is not
//! copied per message: a running hash is a 16-byte POLYVAL accumulator that the caller keeps
//! (and zeroizes) and passes to [`Ghash::update`] with the key.

use core::arch::x86_64::{
    __m128i, __m512i, _mm_clmulepi64_si128, _mm_loadu_si128, _mm_set_epi8, _mm_set_epi64x,
    _mm_shuffle_epi8, _mm_shuffle_epi32, _mm_slli_si128, _mm_srli_si128, _mm_storeu_si128,
    _mm_xor_si128, _mm256_extracti128_si256, _mm256_xor_si256, _mm512_broadcast_i32x4,
    _mm512_clmulepi64_epi128, _mm512_extracti64x4_epi64, _mm512_loadu_si512, _mm512_setzero_si512,
    _mm512_shuffle_epi8, _mm512_shuffle_epi32, _mm512_shuffle_i64x2, _mm512_xor_si512,
    _mm512_zextsi128_si512,
};

use zeroize::{Zeroize, ZeroizeOnDrop};

pub(crate) mod aesni;
pub(crate) mod cmac_lanes;
pub(crate) mod crc;
pub(crate) mod vaes;
pub(crate) mod vaes256;

/// Our AES key schedule for one of the stitched engines (the variant is the engine; each
/// variant's `RoundKeys` is the proof that the CPU has that engine's features).
pub(crate) enum FastAes {
    /// [`aesni`]: AES-NI + PCLMULQDQ, 128-bit registers.
    AesNi(aesni::RoundKeys),
    /// [`vaes256`]: VAES + VPCLMULQDQ, 256-bit registers.
    Vaes256(vaes256::RoundKeys),
    /// [`vaes`]: VAES + VPCLMULQDQ, 512-bit registers.
    Vaes512(vaes::RoundKeys),
}

impl FastAes {
    /// The schedule of `key` for `engine`, or `None` when `engine` is not a stitched engine or
    /// this CPU cannot run it.
    pub(crate) fn new(engine: super::Engine, key: &[u8]) -> Option<FastAes> {
        match engine {
            super::Engine::AesNi => aesni::RoundKeys::new(key).map(FastAes::AesNi),
            super::Engine::Vaes256 => vaes256::RoundKeys::new(key).map(FastAes::Vaes256),
            super::Engine::Vaes512 => vaes::RoundKeys::new(key).map(FastAes::Vaes512),
            _ => None,
        }
    }

    /// The engine.
    pub(crate) fn engine(&self) -> super::Engine {
        match self {
            FastAes::AesNi(_) => super::Engine::AesNi,
            FastAes::Vaes256(_) => super::Engine::Vaes256,
            FastAes::Vaes512(_) => super::Engine::Vaes512,
        }
    }

    /// Encrypts one block.
    pub(crate) fn encrypt_block(&self, block: &mut [u8; 16]) {
        match self {
            FastAes::AesNi(k) => k.encrypt_block(block),
            FastAes::Vaes256(k) => k.encrypt_block(block),
            FastAes::Vaes512(k) => k.encrypt_block(block),
        }
    }

    /// [`FastAes::ctr`] that also returns the CRC-16/MCRF4XX of `buf` before and after, from
    /// the same pass: on the VAES-512 engine for a buffer of at least 64 bytes, `None` (and
    /// `buf` untouched) otherwise.
    pub(crate) fn ctr_crc16(&self, iv: &[u8; 12], buf: &mut [u8]) -> Option<(u16, u16)> {
        let FastAes::Vaes512(k) = self else {
            return None;
        };
        let (c, init) = crate::crc::fold::mcrf4xx();
        let f = vaes::ctr_fold(k, iv, buf, c, (u32::from(init), u32::from(init)))?;
        let rest = buf.len().saturating_sub(f.used);
        let before =
            crate::crc::fold::finish16(&f.input, f.tail_in.get(..rest).unwrap_or_default());
        let after = crate::crc::fold::finish16(&f.output, buf.get(f.used..).unwrap_or_default());
        Some((before, after))
    }

    /// XORs the CTR keystream from counter block `IV ‖ 2` into `buf`.
    pub(crate) fn ctr(&self, iv: &[u8; 12], buf: &mut [u8]) {
        match self {
            FastAes::AesNi(k) => aesni::ctr(k, iv, buf),
            FastAes::Vaes256(k) => vaes256::ctr(k, iv, buf),
            FastAes::Vaes512(k) => vaes::ctr(k, iv, buf),
        }
    }
}

/// A stitched engine with the GHASH key material it uses, borrowed from a `GcmKey`.
#[derive(Clone, Copy)]
pub(crate) enum Stitched<'a> {
    /// AES-NI with the PCLMULQDQ GHASH key (`H^1..H^16`).
    AesNi(&'a aesni::RoundKeys, &'a Ghash),
    /// VAES-256 with `H^32..H^1`.
    Vaes256(&'a vaes256::RoundKeys, &'a vaes::HPowers),
    /// VAES-512 with `H^32..H^1`.
    Vaes512(&'a vaes::RoundKeys, &'a vaes::HPowers),
}

impl Stitched<'_> {
    /// GCM-AE in place: the full tag.
    #[inline]
    pub(crate) fn seal(self, iv: &[u8; 12], aad: &[&[u8]], buf: &mut [u8]) -> [u8; 16] {
        match self {
            Stitched::AesNi(rk, g) => aesni::seal(rk, g, iv, aad, buf),
            Stitched::Vaes256(rk, hp) => vaes256::seal(rk, hp, iv, aad, buf),
            Stitched::Vaes512(rk, hp) => vaes::seal(rk, hp, iv, aad, buf),
        }
    }

    /// The GCM-AD pass (decrypts in place, returns the expected full tag; the caller compares
    /// and wipes `buf` on a mismatch).
    #[inline]
    pub(crate) fn open(self, iv: &[u8; 12], aad: &[&[u8]], buf: &mut [u8]) -> [u8; 16] {
        match self {
            Stitched::AesNi(rk, g) => aesni::open(rk, g, iv, aad, buf),
            Stitched::Vaes256(rk, hp) => vaes256::open(rk, hp, iv, aad, buf),
            Stitched::Vaes512(rk, hp) => vaes::open(rk, hp, iv, aad, buf),
        }
    }

    /// GCM-AE (`dir` Seal) or the GCM-AD pass (Open) from `src` into `dst` (the same length;
    /// `None`, nothing written, otherwise): the full tag (for Open the expected one, which the
    /// caller compares before releasing `dst`, wiping it on a mismatch). VAES-512 reads `src`
    /// and writes `dst` in its one pass; the other engines copy first.
    #[inline]
    pub(crate) fn gcm_to(
        self,
        dir: vaes::Dir,
        iv: &[u8; 12],
        aad: &[&[u8]],
        src: &[u8],
        dst: &mut [u8],
    ) -> Option<[u8; 16]> {
        if src.len() != dst.len() {
            return None;
        }
        if let Stitched::Vaes512(rk, hp) = self {
            return vaes::gcm_to(rk, hp, dir, iv, aad, src, dst);
        }
        dst.copy_from_slice(src);
        Some(match dir {
            vaes::Dir::Seal => self.seal(iv, aad, dst),
            vaes::Dir::Open => self.open(iv, aad, dst),
        })
    }

    /// GMAC of `aad ‖ src` (the full tag) with `src` copied into `dst` (the same length;
    /// `None`, nothing written, otherwise). VAES-512 copies in its one pass over `src` when
    /// the AAD is whole blocks; otherwise the copy comes first.
    #[inline]
    pub(crate) fn gmac_to(
        self,
        iv: &[u8; 12],
        aad: &[&[u8]],
        src: &[u8],
        dst: &mut [u8],
    ) -> Option<[u8; 16]> {
        if src.len() != dst.len() {
            return None;
        }
        if let Stitched::Vaes512(rk, hp) = self
            && let Some(tag) = vaes::gmac_to(rk, hp, iv, aad, src, dst)
        {
            return Some(tag);
        }
        dst.copy_from_slice(src);
        Some(self.gmac(iv, aad.iter().copied().chain(core::iter::once(&*dst))))
    }

    /// GMAC of the concatenation of `pieces`: the full tag.
    #[inline]
    pub(crate) fn gmac<'p>(
        self,
        iv: &[u8; 12],
        pieces: impl Iterator<Item = &'p [u8]>,
    ) -> [u8; 16] {
        match self {
            Stitched::AesNi(rk, g) => aesni::gmac(rk, g, iv, pieces),
            Stitched::Vaes256(rk, hp) => vaes256::gmac(rk, hp, iv, pieces),
            Stitched::Vaes512(rk, hp) => vaes::gmac(rk, hp, iv, pieces),
        }
    }
}

/// Blocks per reduction (PCLMULQDQ).
const LANES: usize = 8;

/// Blocks per reduction (VPCLMULQDQ on 512-bit registers: four registers of four blocks).
const WIDE: usize = 16;

/// `x^128 mod P` in the POLYVAL representation: `x^127 + x^126 + x^121 + 1`.
const POLY: u128 = 0xc200_0000_0000_0000_0000_0000_0000_0001;

cpufeatures::new!(clmul_cpuid, "pclmulqdq", "sse2", "ssse3");
cpufeatures::new!(
    vclmul_cpuid,
    "avx512f",
    "avx512bw",
    "vpclmulqdq",
    "avx2",
    "pclmulqdq",
    "sse2",
    "ssse3"
);

/// Whether this CPU runs the PCLMULQDQ path (detected once, then cached).
pub(crate) fn available() -> bool {
    clmul_cpuid::get()
}

/// The GHASH key: the precomputed powers of `H`. A running hash is its POLYVAL accumulator
/// (a `u128`, zero at the start of a message), kept by the caller and passed to
/// [`Ghash::update`] together with the key, so nothing of the key is copied per message.
///
/// Only constructible through [`Ghash::new`], which checks the CPU features: holding a value is
/// the proof that the `target_feature` functions below may run.
#[derive(Zeroize, ZeroizeOnDrop)]
pub(crate) struct Ghash {
    /// `H^(i+1)` at index `i`, POLYVAL representation (little-endian `u128`); the 512-bit
    /// path uses all sixteen, the 128-bit path the first eight. (The Karatsuba operands
    /// `h_lo ⊕ h_hi` are derived in registers when needed.)
    pow: [u128; WIDE],
    /// Whether runs of 16 blocks take the VPCLMULQDQ/AVX-512 path.
    wide: bool,
}

impl Ghash {
    /// GHASH keyed with `h` (`E_K(0^128)`), or `None` when the CPU lacks PCLMULQDQ/SSSE3.
    pub(crate) fn new(h: &[u8; 16]) -> Option<Ghash> {
        Ghash::with_width(h, true)
    }

    /// [`Ghash::new`]; `allow_wide = false` keeps to the 128-bit PCLMULQDQ path even on an
    /// AVX-512 CPU (so that tests and the fuzz oracle exercise both paths on one machine).
    pub(crate) fn with_width(h: &[u8; 16], allow_wide: bool) -> Option<Ghash> {
        if !available() {
            return None;
        }
        // mulX(rev(H)): rev(H) read little-endian is H read big-endian.
        let mut v = u128::from_be_bytes(*h);
        let mut h1 = (v << 1) ^ (POLY & 0u128.wrapping_sub(v >> 127));
        v.zeroize();
        let mut g = Ghash {
            pow: [0; WIDE],
            wide: allow_wide && vclmul_cpuid::get(),
        };
        // SAFETY: `available()` has just confirmed PCLMULQDQ, SSE2 and SSSE3.
        unsafe { expand(&mut g, h1) };
        h1.zeroize();
        Some(g)
    }

    /// Absorbs whole blocks into the accumulator `acc` of a running hash under this key.
    pub(crate) fn update(&self, acc: &mut u128, blocks: &[[u8; 16]]) {
        if blocks.is_empty() {
            return;
        }
        if self.wide && blocks.len() >= WIDE {
            // SAFETY: `wide` is set only when `vclmul_cpuid` found every feature of
            // `update_vclmul`.
            unsafe { update_vclmul(self, acc, blocks) }
        } else {
            // SAFETY: a `Ghash` exists only after `new` found the CPU features.
            unsafe { update_clmul(self, acc, blocks) }
        }
    }

    /// The GHASH value of accumulator `acc` (GHASH byte order).
    pub(crate) fn finalize(acc: u128) -> [u8; 16] {
        acc.to_be_bytes()
    }

    /// Whether runs of 16 blocks take the VPCLMULQDQ/AVX-512 path.
    #[cfg(test)]
    pub(crate) fn is_wide(&self) -> bool {
        self.wide
    }
}

/// Loads 16 bytes (`u128` and `[u8; 16]` are both 16 bytes; unaligned load).
#[inline(always)]
fn load(bytes: &[u8; 16]) -> __m128i {
    // SAFETY: the pointer comes from a reference to 16 readable bytes; `loadu` needs no
    // alignment; SSE2 is part of the x86_64 baseline.
    unsafe { _mm_loadu_si128(bytes.as_ptr().cast()) }
}

#[inline(always)]
fn load_u128(v: &u128) -> __m128i {
    // SAFETY: as in `load`: a reference to 16 readable bytes, unaligned load, SSE2 baseline.
    unsafe { _mm_loadu_si128((v as *const u128).cast()) }
}

#[inline(always)]
fn store_u128(v: &mut u128, x: __m128i) {
    // SAFETY: a unique reference to 16 writable bytes, unaligned store, SSE2 baseline.
    unsafe { _mm_storeu_si128((v as *mut u128).cast(), x) }
}

/// The three unreduced Karatsuba products of `y · h`: low, high and middle (`hk` holds
/// `h_lo ⊕ h_hi` in its low half).
#[target_feature(enable = "pclmulqdq,sse2,ssse3")]
#[inline]
fn mul_parts(y: __m128i, h: __m128i, hk: __m128i) -> [__m128i; 3] {
    let lo = _mm_clmulepi64_si128::<0x00>(y, h);
    let hi = _mm_clmulepi64_si128::<0x11>(y, h);
    let yk = _mm_xor_si128(y, _mm_shuffle_epi32::<0x4e>(y));
    let mid = _mm_clmulepi64_si128::<0x00>(yk, hk);
    [lo, hi, mid]
}

/// Accumulates `y · h` into `acc` (unreduced).
#[target_feature(enable = "pclmulqdq,sse2,ssse3")]
#[inline]
fn mul_acc(acc: &mut [__m128i; 3], y: __m128i, h: __m128i, hk: __m128i) {
    let [lo, hi, mid] = mul_parts(y, h, hk);
    acc[0] = _mm_xor_si128(acc[0], lo);
    acc[1] = _mm_xor_si128(acc[1], hi);
    acc[2] = _mm_xor_si128(acc[2], mid);
}

/// Combines Karatsuba parts into the 256-bit product `hi·x^128 + lo` and returns it times
/// `x^-128 mod P` (the POLYVAL product).
#[target_feature(enable = "pclmulqdq,sse2,ssse3")]
#[inline]
fn reduce([lo, hi, mid]: [__m128i; 3]) -> __m128i {
    let mid = _mm_xor_si128(mid, _mm_xor_si128(lo, hi));
    let lo = _mm_xor_si128(lo, _mm_slli_si128::<8>(mid));
    let hi = _mm_xor_si128(hi, _mm_srli_si128::<8>(mid));
    // x^-64 = x^64 + x^63 + x^62 + x^57 (mod P): lo·x^-64 = swap(lo) ⊕ lo_0·(x^63+x^62+x^57).
    let c = _mm_set_epi64x(0xc200_0000_0000_0000_u64.cast_signed(), 0);
    let t = _mm_clmulepi64_si128::<0x10>(lo, c);
    let lo = _mm_xor_si128(_mm_shuffle_epi32::<0x4e>(lo), t);
    let t = _mm_clmulepi64_si128::<0x10>(lo, c);
    let lo = _mm_xor_si128(_mm_shuffle_epi32::<0x4e>(lo), t);
    _mm_xor_si128(hi, lo)
}

/// `h ⊕ swap(h)`: the low half is `h_lo ⊕ h_hi`.
#[target_feature(enable = "pclmulqdq,sse2,ssse3")]
#[inline]
fn karatsuba_key(h: __m128i) -> __m128i {
    _mm_xor_si128(h, _mm_shuffle_epi32::<0x4e>(h))
}

/// Fills `g.pow` with `H^1..H^16` from `h1 = H` (POLYVAL representation).
#[target_feature(enable = "pclmulqdq,sse2,ssse3")]
fn expand(g: &mut Ghash, h1: u128) {
    let h = load_u128(&h1);
    let hk = karatsuba_key(h);
    let mut p = h;
    for pow in g.pow.iter_mut() {
        store_u128(pow, p);
        p = reduce(mul_parts(p, h, hk));
    }
}

/// `acc ← (…((acc ⊕ X_1)·H ⊕ X_2)·H … ⊕ X_n)·H`, eight blocks per reduction.
#[target_feature(enable = "pclmulqdq,sse2,ssse3")]
fn update_clmul(g: &Ghash, acc_out: &mut u128, blocks: &[[u8; 16]]) {
    // PSHUFB mask reversing the 16 bytes (GHASH byte order → POLYVAL).
    let rev = _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    let mut y = load_u128(acc_out);
    let mut chunks = blocks.chunks_exact(LANES);
    if blocks.len() >= LANES {
        let pow: [__m128i; LANES] = core::array::from_fn(|i| load_u128(&g.pow[i]));
        let kara = pow.map(|h| karatsuba_key(h));
        for chunk in &mut chunks {
            let mut acc = [y; 3];
            // Block j (0-based) of n is multiplied by H^(n-j), i.e. index n-1-j.
            for (j, block) in chunk.iter().enumerate() {
                let x = _mm_shuffle_epi8(load(block), rev);
                let i = LANES - 1 - j;
                if j == 0 {
                    acc = mul_parts(_mm_xor_si128(x, y), pow[i], kara[i]);
                } else {
                    mul_acc(&mut acc, x, pow[i], kara[i]);
                }
            }
            y = reduce(acc);
        }
    }
    let tail = chunks.remainder();
    if let Some((first, rest)) = tail.split_first() {
        // Fewer than eight blocks: only the powers used are loaded.
        let n = tail.len();
        let h = load_u128(&g.pow[n - 1]);
        let x = _mm_shuffle_epi8(load(first), rev);
        let mut acc = mul_parts(_mm_xor_si128(x, y), h, karatsuba_key(h));
        for (j, block) in rest.iter().enumerate() {
            let x = _mm_shuffle_epi8(load(block), rev);
            let h = load_u128(&g.pow[n - 2 - j]);
            mul_acc(&mut acc, x, h, karatsuba_key(h));
        }
        y = reduce(acc);
    }
    store_u128(acc_out, y);
}

/// Loads four consecutive 16-byte values into one 512-bit register (lane `l` = `q[l]`).
#[inline(always)]
fn load4<T>(q: &[T; 4]) -> __m512i {
    const { assert!(size_of::<T>() == 16) };
    // SAFETY: a reference to 4 × 16 = 64 readable bytes (`T` is 16 bytes: `[u8; 16]` or
    // `u128`), unaligned load; only called from `update_vclmul`, which runs with AVX-512F
    // detected.
    unsafe { _mm512_loadu_si512(q.as_ptr().cast()) }
}

/// XOR of the four 128-bit lanes of `z`.
#[target_feature(enable = "avx512f,avx512bw,vpclmulqdq,avx2,pclmulqdq,sse2,ssse3")]
#[inline]
fn fold_lanes(z: __m512i) -> __m128i {
    let y = _mm256_xor_si256(
        _mm512_extracti64x4_epi64::<0>(z),
        _mm512_extracti64x4_epi64::<1>(z),
    );
    _mm_xor_si128(
        _mm256_extracti128_si256::<0>(y),
        _mm256_extracti128_si256::<1>(y),
    )
}

/// The same as [`update_clmul`], sixteen blocks per reduction on 512-bit registers: register
/// `k` holds blocks `4k..4k+4` and is multiplied lane by lane by `H^(16-4k)..H^(13-4k)`; the
/// Karatsuba parts of all 16 products are summed, folded to 128 bits and reduced once. A tail
/// of fewer than 16 blocks goes to [`update_clmul`].
#[target_feature(enable = "avx512f,avx512bw,vpclmulqdq,avx2,pclmulqdq,sse2,ssse3")]
fn update_vclmul(g: &Ghash, acc: &mut u128, blocks: &[[u8; 16]]) {
    let rev = _mm512_broadcast_i32x4(_mm_set_epi8(
        0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
    ));
    // pow quad q holds H^(4q+1)..H^(4q+4) ascending; register k needs quad 3-k reversed.
    let quads = g.pow.as_chunks::<4>().0;
    let mut keys = [_mm512_setzero_si512(); 4];
    let mut karas = [_mm512_setzero_si512(); 4];
    for (k, (key, kara)) in keys.iter_mut().zip(karas.iter_mut()).enumerate() {
        let a = load4(&quads[3 - k]);
        let a = _mm512_shuffle_i64x2::<0x1b>(a, a);
        *key = a;
        *kara = _mm512_xor_si512(a, _mm512_shuffle_epi32::<0x4e>(a));
    }
    let mut y = load_u128(acc);
    let mut chunks = blocks.chunks_exact(WIDE);
    for chunk in &mut chunks {
        let mut lo = _mm512_setzero_si512();
        let mut hi = _mm512_setzero_si512();
        let mut mid = _mm512_setzero_si512();
        for (k, quad) in chunk.as_chunks::<4>().0.iter().enumerate() {
            let mut x = _mm512_shuffle_epi8(load4(quad), rev);
            if k == 0 {
                x = _mm512_xor_si512(x, _mm512_zextsi128_si512(y));
            }
            lo = _mm512_xor_si512(lo, _mm512_clmulepi64_epi128::<0x00>(x, keys[k]));
            hi = _mm512_xor_si512(hi, _mm512_clmulepi64_epi128::<0x11>(x, keys[k]));
            let xk = _mm512_xor_si512(x, _mm512_shuffle_epi32::<0x4e>(x));
            mid = _mm512_xor_si512(mid, _mm512_clmulepi64_epi128::<0x00>(xk, karas[k]));
        }
        y = reduce([fold_lanes(lo), fold_lanes(hi), fold_lanes(mid)]);
    }
    store_u128(acc, y);
    let tail = chunks.remainder();
    if !tail.is_empty() {
        update_clmul(g, acc, tail);
    }
}

#[cfg(test)]
mod tests {
    use ghash::GHash;
    use ghash::universal_hash::UniversalHash;
    use proptest::prelude::*;

    use super::Ghash;
    use crate::crypto::block::Block;

    /// GHASH of whole blocks with the `ghash` crate.
    fn reference(h: &[u8; 16], blocks: &[[u8; 16]]) -> [u8; 16] {
        let mut g = GHash::new(&Block::from(*h));
        for b in blocks {
            g.update(core::slice::from_ref(&Block::from(*b)));
        }
        g.finalize().into()
    }

    fn blocks(data: &[u8]) -> &[[u8; 16]] {
        data.as_chunks::<16>().0
    }

    #[test]
    fn detection_agrees_with_std() {
        // Our cached `cpufeatures` detection must match the standard library's, in both
        // directions, so the SIMD path runs exactly where the CPU has the instructions (on the
        // development and CI machines that is every test above; elsewhere the portable path).
        extern crate std;
        let std_clmul = std::is_x86_feature_detected!("pclmulqdq")
            && std::is_x86_feature_detected!("sse2")
            && std::is_x86_feature_detected!("ssse3");
        assert_eq!(super::available(), std_clmul);
        let std_wide = std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512bw")
            && std::is_x86_feature_detected!("vpclmulqdq")
            && std::is_x86_feature_detected!("avx2")
            && std_clmul;
        assert_eq!(super::vclmul_cpuid::get(), std_wide);
    }

    #[test]
    fn wide_path_follows_detection() {
        let h = [9u8; 16];
        assert_eq!(
            Ghash::new(&h).unwrap().is_wide(),
            super::vclmul_cpuid::get()
        );
        assert!(!Ghash::with_width(&h, false).unwrap().is_wide());
    }

    #[test]
    fn sp800_38d_test_case_2_ghash() {
        // AES-128, K = 0, P = 0^128: H = 66e94bd4ef8a2c3b884cfa59ca342b2e,
        // C = 0388dace60b6a392f328c2b971b2fe78, len block 0 ‖ 128,
        // GHASH = f38cbb1ad69223dcc3457ae5b6b0f885.
        let h = hex_literal::hex!("66e94bd4ef8a2c3b884cfa59ca342b2e");
        let c = hex_literal::hex!("0388dace60b6a392f328c2b971b2fe78");
        let l = hex_literal::hex!("00000000000000000000000000000080");
        let g = Ghash::new(&h).unwrap();
        let mut acc = 0;
        g.update(&mut acc, &[c, l]);
        assert_eq!(
            Ghash::finalize(acc),
            hex_literal::hex!("f38cbb1ad69223dcc3457ae5b6b0f885")
        );
    }

    #[test]
    fn every_length_up_to_300_bytes_and_large() {
        let mut data = [0u8; 4096];
        let mut s = 0x1234_5678_9abc_def1_u64;
        for b in data.iter_mut() {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            *b = s as u8;
        }
        for seed in 0..4u8 {
            let mut h = [0u8; 16];
            h.copy_from_slice(&data[seed as usize * 16..][..16]);
            let lens = (0..=300).chain([512, 1000, 1024, 2048, 4000, 4096]);
            for len in lens {
                let b = blocks(&data[..len]);
                for wide in [false, true] {
                    let g = Ghash::with_width(&h, wide).unwrap();
                    let mut acc = 0;
                    g.update(&mut acc, b);
                    assert_eq!(
                        Ghash::finalize(acc),
                        reference(&h, b),
                        "len {len} wide {wide}"
                    );
                }
            }
        }
    }

    #[test]
    fn special_keys() {
        let data = [0xa5u8; 16 * 37];
        for h in [[0u8; 16], [0xff; 16], [0x80; 16], {
            let mut h = [0u8; 16];
            h[15] = 1;
            h
        }] {
            for wide in [false, true] {
                let g = Ghash::with_width(&h, wide).unwrap();
                let mut acc = 0;
                g.update(&mut acc, blocks(&data));
                assert_eq!(Ghash::finalize(acc), reference(&h, blocks(&data)));
            }
        }
    }

    proptest! {
        #[test]
        fn matches_ghash_crate(
            h in any::<[u8; 16]>(),
            data in proptest::collection::vec(any::<u8>(), 0..2000),
            cuts in proptest::collection::vec(any::<usize>(), 0..6),
            wide in any::<bool>(),
        ) {
            let all = blocks(&data);
            let g = Ghash::with_width(&h, wide).unwrap();
            let mut acc = 0;
            // Split updates at block boundaries in arbitrary places.
            let mut rest = all;
            for c in cuts {
                let k = if rest.is_empty() { 0 } else { c % (rest.len() + 1) };
                let (a, b) = rest.split_at(k);
                g.update(&mut acc, a);
                rest = b;
            }
            g.update(&mut acc, rest);
            prop_assert_eq!(Ghash::finalize(acc), reference(&h, all));
        }
    }
}
