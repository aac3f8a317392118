//! Reflected CRCs (the CSI-2 CRC-16/MCRF4XX and the FuSa CRC-32 variants) by carry-less
//! folding on VPCLMULQDQ with 512-bit registers, one CRC or two at once over the same bytes.
//!
//! # Method
//!
//! The message is cut into 16-byte chunks, each loaded little-endian into a 128-bit lane. For
//! a reflected CRC, bit `j` of a lane is the coefficient of `x^(127-j)` of that chunk's
//! polynomial (bit 0 of the first byte is the highest power), so the low 64 bits hold the
//! high half `H` and the high 64 bits the low half `L`: a lane is `H·x^64 + L`. Moving a lane
//! `d` bits further down the message multiplies it by `x^d`; modulo the CRC polynomial `P`
//! (degree `w` = 16 or 32) that is
//!
//! ```text
//! (H·x^64 + L)·x^d ≡ H·(x^(d+64) mod P) + L·(x^d mod P)
//! ```
//!
//! two carry-less products of a 64-bit half by a constant of degree below `w`, each below
//! degree 128: a lane again. On bit-reflected 64-bit operands `PCLMULQDQ` returns the product
//! times `x` (the 127 product coefficients land one bit up in the 128-bit lane), so the
//! constants are `x^(d+63) mod P` and `x^(d-1) mod P`, bit-reflected into 64 bits. They are
//! computed by `const fn` at compile time from the polynomial alone.
//!
//! Four 512-bit accumulators take 256 bytes per step (each lane folded 2048 bits on and the
//! next chunk XORed in), then fold into one register (512 bits apart), which takes the
//! remaining 64-byte blocks; its four lanes fold into one lane (384, 256, 128 bits), which takes
//! the remaining 16-byte chunks. What is left is a 16-byte value congruent to the message so
//! far modulo `P`, returned to the caller (`crate::crc`), which runs the byte tables over it and
//! the last 0-15 bytes. A CRC's initial register is XORed into the first bytes before folding
//! (for a reflected CRC, processing the register and then the message is the same as
//! processing the message with its first `w/8` bytes XORed with the register).
//!
//! The folding is linear and exact: the tests compare it with the portable tables on random
//! lengths and contents, and the `crc_diff` fuzz target does the same on any input.
//!
//! # Constant time
//!
//! Loads, carry-less multiplications and XORs: nothing depends on the data but the length.

use core::arch::x86_64::{
    __m128i, __m512i, _mm_clmulepi64_si128, _mm_loadu_si128, _mm_set_epi64x, _mm_storeu_si128,
    _mm_xor_si128, _mm512_castsi512_si128, _mm512_clmulepi64_epi128, _mm512_extracti32x4_epi32,
    _mm512_loadu_si512, _mm512_set_epi64, _mm512_storeu_si512, _mm512_ternarylogic_epi64,
    _mm512_xor_si512,
};

cpufeatures::new!(fold_cpuid, "avx512f", "vpclmulqdq", "pclmulqdq", "sse2");

/// Shortest input [`Folder::fold`] and [`Folder::fold2`] take: one 512-bit register.
pub(crate) const MIN_LEN: usize = 64;

/// Bytes one step of the main loop takes (four 512-bit registers).
const STEP: usize = 256;

/// `x^k mod P` for the CRC polynomial `P = x^w + poly` (normal bit order, `poly` without the
/// `x^w` term), as the coefficients of `x^0..x^(w-1)` in bits `0..w`.
const fn xpow_mod(k: u32, poly: u64, width: u32) -> u64 {
    let top = 1u64 << width;
    let mut r = 1u64;
    let mut i = 0;
    while i < k {
        r <<= 1;
        if r & top != 0 {
            r ^= top | poly;
        }
        i += 1;
    }
    r
}

/// The folding pair for a distance of `d` bits: `[x^(d+63) mod P, x^(d-1) mod P]`, each
/// bit-reflected into 64 bits (the coefficient of `x^i` in bit `63 - i`), as the low and
/// high 64 bits of a lane.
const fn pair(d: u32, poly: u64, width: u32) -> [u64; 2] {
    [
        xpow_mod(d + 63, poly, width).reverse_bits(),
        xpow_mod(d - 1, poly, width).reverse_bits(),
    ]
}

/// The folding constants of one reflected CRC.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Consts {
    /// 2048 bits (256 bytes: the main loop).
    k2048: [u64; 2],
    /// 512 bits (one register).
    pub(super) k512: [u64; 2],
    /// 384, 256 and 128 bits (lanes 0, 1, 2 of a register into lane 3).
    k384: [u64; 2],
    k256: [u64; 2],
    pub(super) k128: [u64; 2],
}

impl Consts {
    /// The constants of the reflected CRC of polynomial `x^width + poly` (normal bit order,
    /// e.g. `0x1021` for CRC-16/MCRF4XX, `0x04C1_1DB7` for CRC-32/ISO-HDLC). `width` is 16 or
    /// 32 (anything from 8 to 32 works).
    pub(crate) const fn new(poly: u64, width: u32) -> Consts {
        Consts {
            k2048: pair(2048, poly, width),
            k512: pair(512, poly, width),
            k384: pair(384, poly, width),
            k256: pair(256, poly, width),
            k128: pair(128, poly, width),
        }
    }
}

/// The proof that this CPU runs the folding code: only [`Folder::get`] makes one, after the
/// run-time feature check.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Folder(());

impl Folder {
    /// A folder, if the CPU has AVX-512F, VPCLMULQDQ, PCLMULQDQ and SSE2 (detected once, then
    /// cached).
    pub(crate) fn get() -> Option<Folder> {
        fold_cpuid::get().then_some(Folder(()))
    }

    /// Folds `data` (at least [`MIN_LEN`] bytes; `None` otherwise) for one CRC whose register
    /// holds `reg` before it (reflected, as the byte tables keep it). Returns a 16-byte value
    /// and the number of bytes of `data` it stands for (all but the last 0-15): the raw CRC
    /// (register from zero) of that value followed by the rest of `data` is the CRC register
    /// after `data`.
    pub(crate) fn fold(self, c: &Consts, reg: u32, data: &[u8]) -> Option<([u8; 16], usize)> {
        if data.len() < MIN_LEN {
            return None;
        }
        // SAFETY: a `Folder` exists only after `fold_cpuid` found AVX-512F, VPCLMULQDQ,
        // PCLMULQDQ and SSE2; `data` has at least MIN_LEN bytes.
        Some(unsafe { fold1(c, reg, data) })
    }

    /// [`Folder::fold`] of `src` that also copies the bytes it folds into `dst` (each load is
    /// stored once more): the copy and the CRC in one pass. `dst[..used]` holds `src[..used]`
    /// afterwards; the caller copies the rest. `None` (nothing written) when `src` is shorter
    /// than [`MIN_LEN`] or `dst` shorter than `src`.
    pub(crate) fn fold_copy(
        self,
        c: &Consts,
        reg: u32,
        src: &[u8],
        dst: &mut [u8],
    ) -> Option<([u8; 16], usize)> {
        if src.len() < MIN_LEN || dst.len() < src.len() {
            return None;
        }
        // SAFETY: as in `fold`; `dst` has at least `src.len()` writable bytes and, being a
        // unique borrow, does not overlap `src`.
        Some(unsafe { fold1_into(c, reg, src, dst.as_mut_ptr()) })
    }

    /// The 16-byte value of [`Folder::fold`] (or [`Folder::fold2`]) with the remaining
    /// `rest` bytes of the message (fewer than 16) folded in: the raw CRC of the result alone
    /// is the raw CRC of `v ‖ rest`. A message with leading zero bytes has the same raw CRC,
    /// so `v ‖ rest` is read as the two blocks `0^(16-r) ‖ v[..r]` and `v[r..] ‖ rest`, the
    /// first folded onto the second. `None` when `rest` has 16 bytes or more.
    pub(crate) fn fold_rest(self, c: &Consts, v: [u8; 16], rest: &[u8]) -> Option<[u8; 16]> {
        let r = rest.len();
        if r == 0 {
            return Some(v);
        }
        let mut two = [0u8; 32];
        two.get_mut(16 - r.min(16)..32 - r)?.copy_from_slice(&v);
        two.get_mut(32 - r..)?.copy_from_slice(rest);
        // SAFETY: a `Folder` exists only after `fold_cpuid` found PCLMULQDQ and SSE2.
        Some(unsafe { fold_block(c, &two) })
    }

    /// [`Folder::fold`] for two CRCs over the same bytes in one pass (each load feeds both).
    pub(crate) fn fold2(
        self,
        a: (&Consts, u32),
        b: (&Consts, u32),
        data: &[u8],
    ) -> Option<([u8; 16], [u8; 16], usize)> {
        if data.len() < MIN_LEN {
            return None;
        }
        // SAFETY: as in `fold`.
        Some(unsafe { fold2(a, b, data) })
    }
}

/// A lane pair as a 512-bit register (the same pair in all four lanes).
///
/// (A `target_feature` function: callable only where AVX-512F is enabled.)
#[inline]
#[target_feature(enable = "avx512f")]
pub(super) fn wide(k: [u64; 2]) -> __m512i {
    let (lo, hi) = (k[0] as i64, k[1] as i64);
    _mm512_set_epi64(hi, lo, hi, lo, hi, lo, hi, lo)
}

/// The lane-reduction constants: lane 0 by 384 bits, lane 1 by 256, lane 2 by 128, lane 3
/// zero (it is added as it is).
///
/// (A `target_feature` function: callable only where AVX-512F is enabled.)
#[inline]
#[target_feature(enable = "avx512f")]
pub(super) fn lanes(c: &Consts) -> __m512i {
    let i = |v: u64| v as i64;
    _mm512_set_epi64(
        0,
        0,
        i(c.k128[1]),
        i(c.k128[0]),
        i(c.k256[1]),
        i(c.k256[0]),
        i(c.k384[1]),
        i(c.k384[0]),
    )
}

/// Each lane of `x` moved on by the distance of `k`, XORed with `d`.
///
/// (A `target_feature` function: callable only where AVX-512F and VPCLMULQDQ are enabled.)
#[inline]
#[target_feature(enable = "avx512f,vpclmulqdq")]
pub(super) fn fold512(x: __m512i, k: __m512i, d: __m512i) -> __m512i {
    let h = _mm512_clmulepi64_epi128(x, k, 0x00);
    let l = _mm512_clmulepi64_epi128(x, k, 0x11);
    // 0x96: a ^ b ^ c.
    _mm512_ternarylogic_epi64(h, l, d, 0x96)
}

/// `x` moved on by the distance of `k`, XORed with `d` (one lane).
///
/// (A `target_feature` function: callable only where PCLMULQDQ and SSE2 are enabled.)
#[inline]
#[target_feature(enable = "pclmulqdq,sse2")]
pub(super) fn fold128(x: __m128i, k: __m128i, d: __m128i) -> __m128i {
    let h = _mm_clmulepi64_si128(x, k, 0x00);
    let l = _mm_clmulepi64_si128(x, k, 0x11);
    _mm_xor_si128(_mm_xor_si128(h, l), d)
}

/// The 64 bytes at `p`.
///
/// # Safety
/// `p..p + 64` must be readable; the CPU must have AVX-512F.
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn load64(p: *const u8) -> __m512i {
    // SAFETY: the caller guarantees 64 readable bytes; the load is unaligned.
    unsafe { _mm512_loadu_si512(p.cast()) }
}

/// The 16 bytes at `p`.
///
/// # Safety
/// `p..p + 16` must be readable; the CPU must have SSE2.
#[inline]
#[target_feature(enable = "sse2")]
pub(super) unsafe fn load16(p: *const u8) -> __m128i {
    // SAFETY: the caller guarantees 16 readable bytes; the load is unaligned.
    unsafe { _mm_loadu_si128(p.cast()) }
}

/// The register `reg` placed over the first bytes of a message (lane 0, low 32 bits).
///
/// (A `target_feature` function: callable only where AVX-512F is enabled.)
#[inline]
#[target_feature(enable = "avx512f")]
pub(super) fn seed(reg: u32) -> __m512i {
    _mm512_set_epi64(0, 0, 0, 0, 0, 0, 0, i64::from(reg))
}

/// One register's four lanes folded into one 16-byte value (lane 0 first in the message).
///
/// (A `target_feature` function: callable only where AVX-512F, VPCLMULQDQ and SSE2 are enabled.)
#[inline]
#[target_feature(enable = "avx512f,vpclmulqdq,sse2")]
pub(super) fn collapse(z: __m512i, k: __m512i) -> __m128i {
    let h = _mm512_clmulepi64_epi128(z, k, 0x00);
    let l = _mm512_clmulepi64_epi128(z, k, 0x11);
    let t = _mm512_xor_si512(h, l);
    let a = _mm_xor_si128(_mm512_castsi512_si128(t), _mm512_extracti32x4_epi32::<1>(t));
    let b = _mm_xor_si128(
        _mm512_extracti32x4_epi32::<2>(t),
        _mm512_extracti32x4_epi32::<3>(z),
    );
    _mm_xor_si128(a, b)
}

/// The 16 bytes of `v`.
///
/// (A `target_feature` function: callable only where SSE2 is enabled.)
#[inline]
#[target_feature(enable = "sse2")]
pub(super) fn bytes(v: __m128i) -> [u8; 16] {
    let mut out = [0u8; 16];
    // SAFETY: `out` has 16 writable bytes; the store is unaligned.
    unsafe { _mm_storeu_si128(out.as_mut_ptr().cast(), v) };
    out
}

/// The first 16 bytes of `two` folded onto the last 16 (see [`Folder::fold_rest`]).
///
/// # Safety
/// The CPU must have PCLMULQDQ and SSE2.
#[target_feature(enable = "pclmulqdq,sse2")]
unsafe fn fold_block(c: &Consts, two: &[u8; 32]) -> [u8; 16] {
    let k128 = _mm_set_epi64x(c.k128[1] as i64, c.k128[0] as i64);
    // SAFETY: `two` has 32 readable bytes: two loads of 16.
    let (x, y) = unsafe { (load16(two.as_ptr()), load16(two.as_ptr().add(16))) };
    bytes(fold128(x, k128, y))
}

/// See [`Folder::fold`].
///
/// # Safety
/// `data.len() >= MIN_LEN`; the CPU must have AVX-512F, VPCLMULQDQ, PCLMULQDQ and SSE2.
#[target_feature(enable = "avx512f,vpclmulqdq,pclmulqdq,sse2")]
unsafe fn fold1(c: &Consts, reg: u32, data: &[u8]) -> ([u8; 16], usize) {
    // SAFETY: as this function's; no copy (null `dst`, never written).
    unsafe { fold1_with::<false>(c, reg, data, core::ptr::null_mut()) }
}

/// [`fold1`], storing every folded byte of `data` at the same offset of `dst` as well.
///
/// # Safety
/// As [`fold1`]; `dst..dst + data.len()` must be writable and not overlap `data`.
#[target_feature(enable = "avx512f,vpclmulqdq,pclmulqdq,sse2")]
unsafe fn fold1_into(c: &Consts, reg: u32, data: &[u8], dst: *mut u8) -> ([u8; 16], usize) {
    // SAFETY: as this function's.
    unsafe { fold1_with::<true>(c, reg, data, dst) }
}

/// The body of [`fold1`] and [`fold1_into`]: with `COPY`, each 64- or 16-byte load from
/// `data` is stored at the same offset of `dst`.
///
/// # Safety
/// As [`fold1`]; with `COPY`, as [`fold1_into`] (without, `dst` is never used).
#[inline]
#[target_feature(enable = "avx512f,vpclmulqdq,pclmulqdq,sse2")]
unsafe fn fold1_with<const COPY: bool>(
    c: &Consts,
    reg: u32,
    data: &[u8],
    dst: *mut u8,
) -> ([u8; 16], usize) {
    let n = data.len();
    let p = data.as_ptr();
    // SAFETY (every load and store below): `at + 64 <= n` (or `at + 16 <= n`) is checked
    // before it; with `COPY`, `dst` has `n` writable bytes (the caller's contract).
    macro_rules! ld64 {
        ($at:expr) => {{
            let at: usize = $at;
            let x = unsafe { load64(p.add(at)) };
            if COPY {
                unsafe { _mm512_storeu_si512(dst.add(at).cast(), x) };
            }
            x
        }};
    }
    macro_rules! ld16 {
        ($at:expr) => {{
            let at: usize = $at;
            let x = unsafe { load16(p.add(at)) };
            if COPY {
                unsafe { _mm_storeu_si128(dst.add(at).cast(), x) };
            }
            x
        }};
    }
    let mut at;
    let k512 = wide(c.k512);
    let mut z = if n >= STEP {
        let k = wide(c.k2048);
        let mut a0 = _mm512_xor_si512(ld64!(0), seed(reg));
        let mut a1 = ld64!(64);
        let mut a2 = ld64!(128);
        let mut a3 = ld64!(192);
        at = STEP;
        while at + STEP <= n {
            a0 = fold512(a0, k, ld64!(at));
            a1 = fold512(a1, k, ld64!(at + 64));
            a2 = fold512(a2, k, ld64!(at + 128));
            a3 = fold512(a3, k, ld64!(at + 192));
            at += STEP;
        }
        let z = fold512(a0, k512, a1);
        let z = fold512(z, k512, a2);
        fold512(z, k512, a3)
    } else {
        at = 64;
        _mm512_xor_si512(ld64!(0), seed(reg))
    };
    while at + 64 <= n {
        z = fold512(z, k512, ld64!(at));
        at += 64;
    }
    let mut v = collapse(z, lanes(c));
    let k128 = _mm_set_epi64x(c.k128[1] as i64, c.k128[0] as i64);
    while at + 16 <= n {
        v = fold128(v, k128, ld16!(at));
        at += 16;
    }
    (bytes(v), at)
}

/// See [`Folder::fold2`].
///
/// # Safety
/// `data.len() >= MIN_LEN`; the CPU must have AVX-512F, VPCLMULQDQ, PCLMULQDQ and SSE2.
#[target_feature(enable = "avx512f,vpclmulqdq,pclmulqdq,sse2")]
unsafe fn fold2(
    (ca, ra): (&Consts, u32),
    (cb, rb): (&Consts, u32),
    data: &[u8],
) -> ([u8; 16], [u8; 16], usize) {
    let n = data.len();
    let p = data.as_ptr();
    let mut at;
    let (ka512, kb512) = (wide(ca.k512), wide(cb.k512));
    // SAFETY (every load below): `at + 64 <= n` (or `at + 16 <= n`) is checked before it.
    let (mut za, mut zb) = if n >= STEP {
        let (ka, kb) = (wide(ca.k2048), wide(cb.k2048));
        let x0 = unsafe { load64(p) };
        let mut a0 = _mm512_xor_si512(x0, seed(ra));
        let mut b0 = _mm512_xor_si512(x0, seed(rb));
        let mut a1 = unsafe { load64(p.add(64)) };
        let mut a2 = unsafe { load64(p.add(128)) };
        let mut a3 = unsafe { load64(p.add(192)) };
        let (mut b1, mut b2, mut b3) = (a1, a2, a3);
        at = STEP;
        while at + STEP <= n {
            let q = unsafe { p.add(at) };
            let (x0, x1) = unsafe { (load64(q), load64(q.add(64))) };
            let (x2, x3) = unsafe { (load64(q.add(128)), load64(q.add(192))) };
            a0 = fold512(a0, ka, x0);
            b0 = fold512(b0, kb, x0);
            a1 = fold512(a1, ka, x1);
            b1 = fold512(b1, kb, x1);
            a2 = fold512(a2, ka, x2);
            b2 = fold512(b2, kb, x2);
            a3 = fold512(a3, ka, x3);
            b3 = fold512(b3, kb, x3);
            at += STEP;
        }
        let za = fold512(fold512(fold512(a0, ka512, a1), ka512, a2), ka512, a3);
        let zb = fold512(fold512(fold512(b0, kb512, b1), kb512, b2), kb512, b3);
        (za, zb)
    } else {
        at = 64;
        let x0 = unsafe { load64(p) };
        (
            _mm512_xor_si512(x0, seed(ra)),
            _mm512_xor_si512(x0, seed(rb)),
        )
    };
    while at + 64 <= n {
        let x = unsafe { load64(p.add(at)) };
        za = fold512(za, ka512, x);
        zb = fold512(zb, kb512, x);
        at += 64;
    }
    let mut va = collapse(za, lanes(ca));
    let mut vb = collapse(zb, lanes(cb));
    let ka128 = _mm_set_epi64x(ca.k128[1] as i64, ca.k128[0] as i64);
    let kb128 = _mm_set_epi64x(cb.k128[1] as i64, cb.k128[0] as i64);
    while at + 16 <= n {
        let x = unsafe { load16(p.add(at)) };
        va = fold128(va, ka128, x);
        vb = fold128(vb, kb128, x);
        at += 16;
    }
    (bytes(va), bytes(vb), at)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_reduce_like_the_definition() {
        // x^16 mod (x^16 + 0x1021) is 0x1021; one more step shifts and reduces.
        assert_eq!(xpow_mod(16, 0x1021, 16), 0x1021);
        assert_eq!(xpow_mod(15, 0x1021, 16), 0x8000);
        assert_eq!(xpow_mod(17, 0x1021, 16), 0x2042);
        assert_eq!(xpow_mod(32, 0x04C1_1DB7, 32), 0x04C1_1DB7);
        // Reflection puts x^0 in bit 63.
        assert_eq!(pair(1, 0x1021, 16)[1], 1u64 << 63);
    }

    #[test]
    fn short_inputs_are_refused() {
        if let Some(f) = Folder::get() {
            let c = Consts::new(0x1021, 16);
            assert!(f.fold(&c, 0, &[0u8; MIN_LEN - 1]).is_none());
            assert!(f.fold2((&c, 0), (&c, 0), &[0u8; MIN_LEN - 1]).is_none());
            assert!(f.fold(&c, 0, &[0u8; MIN_LEN]).is_some());
        }
    }
}
