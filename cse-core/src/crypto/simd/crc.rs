//! Reflected CRCs (the CSI-2 CRC-16/MCRF4XX and the FuSa CRC-32 variants) by carry-less
//! folding on VPCLMULQDQ with 512-bit registers: one CRC, or a CRC-32 and the CRC-16 over the
//! same bytes as one fold modulo their joint polynomial ([`Joint`]).
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
    __m128i, __m512i, _mm_clmulepi64_si128, _mm_cvtsi64_si128, _mm_cvtsi128_si64, _mm_loadu_si128,
    _mm_set_epi64x, _mm_storeu_si128, _mm_xor_si128, _mm512_castsi512_si128,
    _mm512_clmulepi64_epi128, _mm512_extracti32x4_epi32, _mm512_loadu_si512, _mm512_set_epi64,
    _mm512_storeu_si512, _mm512_ternarylogic_epi64, _mm512_xor_si512,
};

cpufeatures::new!(fold_cpuid, "avx512f", "vpclmulqdq", "pclmulqdq", "sse2");

/// Shortest input [`Folder::fold`] and [`Folder::fold_joint`] take: one 512-bit register.
pub(crate) const MIN_LEN: usize = 64;

/// Bytes one step of the main loop takes (four 512-bit registers).
const STEP: usize = 256;

/// `x^k mod P` for the CRC polynomial `P = x^w + poly` (normal bit order, `poly` without the
/// `x^w` term), as the coefficients of `x^0..x^(w-1)` in bits `0..w`.
const fn xpow_mod(k: u32, poly: u64, width: u32) -> u64 {
    xmul_mod(1, k, (1u128 << width) | poly as u128) as u64
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

/// Carry-less product of two polynomials over GF(2) (bit `i`: the coefficient of `x^i`).
const fn pmul(a: u64, b: u64) -> u128 {
    let mut r = 0u128;
    let mut i = 0;
    while i < 64 {
        if (b >> i) & 1 == 1 {
            r ^= (a as u128) << i;
        }
        i += 1;
    }
    r
}

/// The degree of `a` (-1 for the zero polynomial).
const fn deg(a: u128) -> i32 {
    127 - a.leading_zeros() as i32
}

/// Quotient and remainder of `a` divided by `m` (`m` not zero).
const fn pdivmod(mut a: u128, m: u128) -> (u128, u128) {
    let dm = deg(m);
    let mut q = 0u128;
    while deg(a) >= dm {
        let s = deg(a) - dm;
        q ^= 1 << s;
        a ^= m << s;
    }
    (q, a)
}

/// The greatest common divisor of `a` and `b`.
const fn pgcd(mut a: u128, mut b: u128) -> u128 {
    while b != 0 {
        let r = pdivmod(a, b).1;
        a = b;
        b = r;
    }
    a
}

/// The inverse of `a` modulo `m` (extended Euclid; `a` and `m` coprime, both of degree
/// below 64).
const fn pinv(a: u128, m: u128) -> u128 {
    // Invariant: r0 ≡ s0·a and r1 ≡ s1·a (mod m).
    let (mut r0, mut r1) = (m, pdivmod(a, m).1);
    let (mut s0, mut s1) = (0u128, 1u128);
    while r1 != 0 {
        let (q, r2) = pdivmod(r0, r1);
        let s2 = s0 ^ pmul(q as u64, s1 as u64);
        (r0, r1, s0, s1) = (r1, r2, s1, s2);
    }
    assert!(r0 == 1, "not coprime");
    pdivmod(s0, m).1
}

/// `e·x^k mod m` (`m` of degree 1 to 126): `e` reduced, then multiplied by `x` `k` times, each
/// time `m` taken off when the product reaches its degree.
const fn xmul_mod(e: u128, k: u32, m: u128) -> u128 {
    let top = 1u128 << deg(m);
    let mut r = pdivmod(e, m).1;
    let mut i = 0;
    while i < k {
        r <<= 1;
        if r & top != 0 {
            r ^= m;
        }
        i += 1;
    }
    r
}

/// A CRC-32 and the CRC-16/MCRF4XX folded as one: modulo the least common multiple `M` of
/// their polynomials (degree 48 for CRC-32/ISO-HDLC, whose polynomial shares no factor with
/// the CRC-16's, 47 for CRC-32/AUTOSAR and CRC-32/ISCSI, which share `x + 1` with it). A value
/// congruent to the message modulo `M` is congruent to it modulo either polynomial, so one fold
/// of the bytes stands for both CRCs and costs as much as one.
///
/// The registers differ, and a register is XORed over the first bytes of the message, so the
/// fold starts instead from one 16-byte seed `J` that does the work of both: by the Chinese
/// remainder theorem, `J ≡ R32·x^96 (mod P32)` and `J ≡ R16·x^112 (mod P16 / gcd)`, where `R·x^k`
/// is a register placed over the first bytes of a 16-byte chunk. Where the polynomials share
/// `x + 1`, `J` also meets the CRC-16 modulo `x + 1` exactly when both registers have the same
/// parity (the value of a polynomial at `x = 1`); the standard start registers (all ones) do.
/// `J` is linear in the register bits: one column per bit, computed at compile time.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Joint {
    /// The folding constants of `M`.
    consts: Consts,
    /// Seed columns of the CRC-16 register's bits (bit `b` of the reflected register), as the
    /// high 64 bits of the first 16-byte chunk.
    col16: [u64; 16],
    /// Seed columns of the CRC-32 register's bits.
    col32: [u64; 32],
    /// Whether the polynomials share `x + 1` (the registers must then have the same parity).
    shared: bool,
    /// The seed of the all-ones start registers (the standard CRC-32 and CRC-16/MCRF4XX
    /// starts), the one a whole record takes.
    start: u64,
}

impl Joint {
    /// The joint fold of the reflected CRC-32 of polynomial `x^32 + poly32` with the
    /// CRC-16/MCRF4XX (`x^16 + 0x1021`). Fails to compile (or panics, outside const
    /// evaluation) when the polynomials share a factor other than `x + 1`.
    pub(crate) const fn new(poly32: u64) -> Joint {
        let p32 = (1u128 << 32) | poly32 as u128;
        let p16 = (1u128 << 16) | 0x1021;
        let g = pgcd(p32, p16);
        assert!(g == 1 || g == 0b11, "CRC polynomials share more than x + 1");
        let q16 = pdivmod(p16, g).0;
        // M = P32 · (P16 / gcd); P32 and P16 / gcd are coprime (checked by `pinv`).
        let m = pmul(p32 as u64, q16 as u64);
        let width = deg(m) as u32;
        // e16 ≡ 1 (mod P16 / gcd), ≡ 0 (mod P32); e32 = 1 - e16 the other way round.
        let e16 = pdivmod(pmul(p32 as u64, pinv(p32, q16) as u64), m).1;
        let e32 = e16 ^ 1;
        let mut col16 = [0u64; 16];
        let mut col32 = [0u64; 32];
        let mut b = 0;
        while b < 32 {
            // Bit b of a reflected register is the coefficient of x^(127-b) of the chunk; the
            // column is J for that bit alone, reflected like the chunk's high 64 bits.
            let k = 127 - b as u32;
            if b < 16 {
                col16[b] = (xmul_mod(e16, k, m) as u64).reverse_bits();
            }
            col32[b] = (xmul_mod(e32, k, m) as u64).reverse_bits();
            b += 1;
        }
        let mut start = 0u64;
        let mut b = 0;
        while b < 32 {
            start ^= col32[b];
            if b < 16 {
                start ^= col16[b];
            }
            b += 1;
        }
        Joint {
            consts: Consts::new((m ^ (1u128 << width)) as u64, width),
            col16,
            col32,
            shared: g != 1,
            start,
        }
    }

    /// The 16-byte seed (low and high 64 bits) that starts the joint fold from CRC-32 register
    /// `reg32` and CRC-16 register `reg16`; `None` when the polynomials share `x + 1` and the
    /// registers' parities differ (no seed serves both then).
    pub(crate) fn seed(&self, reg32: u32, reg16: u16) -> Option<[u64; 2]> {
        if reg32 == u32::MAX && reg16 == u16::MAX {
            return Some([0, self.start]);
        }
        if reg32 == 0 && reg16 == 0 {
            return Some([0, 0]);
        }
        if self.shared && (reg32.count_ones() + reg16.count_ones()) % 2 == 1 {
            return None;
        }
        let mut hi = 0u64;
        for (b, c) in self.col16.iter().enumerate() {
            hi ^= c & 0u64.wrapping_sub(u64::from((reg16 >> b) & 1));
        }
        for (b, c) in self.col32.iter().enumerate() {
            hi ^= c & 0u64.wrapping_sub(u64::from((reg32 >> b) & 1));
        }
        Some([0, hi])
    }

    /// The folding constants of the joint polynomial (for [`Folder::fold_rest`]).
    pub(crate) fn consts(&self) -> &Consts {
        &self.consts
    }
}

/// Moves a reflected CRC register over runs of zero bytes: `R·x^(8n) mod P`, the term a
/// register contributes to the register `n` bytes later. By linearity the register after
/// `data` from register `R` is that term XORed with the register after `data` from zero, so a
/// run folded once from zero ([`Folder::fold_joint`] with zero registers) can be spliced into
/// any message around it, whatever the register before it (see `crate::crc::Span`).
///
/// `x^(8n) mod P` is the product of two table entries (`n` = `256·h + l`, both below 256), and
/// each product is one carry-less multiplication and a Barrett reduction (two more): three
/// `PCLMULQDQ` per product, two products per shift.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Shift {
    /// `P = x^w + poly`, normal bit order (bit `i`: the coefficient of `x^i`).
    p: u64,
    /// `floor(x^(2w) / P)`, the Barrett constant.
    mu: u64,
    /// `w`, 16 or 32.
    width: u32,
    /// `lo[l] = x^(8l) mod P`.
    lo: [u32; 256],
    /// `hi[h] = x^(2048h) mod P`.
    hi: [u32; 256],
}

impl Shift {
    /// The shift tables of the reflected CRC of polynomial `x^width + poly` (`width` 8 to 32).
    pub(crate) const fn new(poly: u64, width: u32) -> Shift {
        let m = (1u128 << width) | poly as u128;
        let x2048 = xmul_mod(1, 2048, m);
        let mut lo = [0u32; 256];
        let mut hi = [0u32; 256];
        let (mut a, mut b) = (1u128, 1u128);
        let mut i = 0;
        while i < 256 {
            lo[i] = a as u32;
            hi[i] = b as u32;
            a = xmul_mod(a, 8, m);
            b = pdivmod(pmul(b as u64, x2048 as u64), m).1;
            i += 1;
        }
        Shift {
            p: m as u64,
            mu: pdivmod(1u128 << (2 * width), m).0 as u64,
            width,
            lo,
            hi,
        }
    }
}

/// `a·b mod P` for `a`, `b` reduced modulo `P` (degree below `w`).
///
/// # Safety
/// The CPU must have PCLMULQDQ and SSE2.
#[target_feature(enable = "pclmulqdq,sse2")]
unsafe fn mulmod(s: &Shift, a: u32, b: u32) -> u32 {
    // Every product here has degree at most 2w - 2 <= 62: the low 64 bits hold all of it.
    let clmul = |x: u64, y: u64| -> u64 {
        let p = _mm_clmulepi64_si128(_mm_cvtsi64_si128(x as i64), _mm_cvtsi64_si128(y as i64), 0);
        _mm_cvtsi128_si64(p) as u64
    };
    let w = s.width;
    let t = clmul(u64::from(a), u64::from(b));
    // Barrett: the quotient floor(t / P) is floor((t >> w)·mu / x^w), exact over GF(2).
    let q = clmul(t >> w, s.mu) >> w;
    ((t ^ clmul(q, s.p)) & ((1u64 << w) - 1)) as u32
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

    /// The 16-byte value of [`Folder::fold`] (or [`Folder::fold_joint`]) with the remaining
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

    /// `x^(8n) mod P` of `s`'s polynomial, the factor that moves a register over `n` zero
    /// bytes ([`Folder::shift`]).
    pub(crate) fn distance(self, s: &Shift, n: u16) -> u32 {
        let n = usize::from(n);
        // SAFETY: a `Folder` exists only after `fold_cpuid` found PCLMULQDQ and SSE2; the
        // table entries are reduced (degree below w).
        unsafe { mulmod(s, s.lo[n & 0xFF], s.hi[n >> 8]) }
    }

    /// The reflected register `reg` (as the byte tables keep it) moved over the zero bytes of
    /// `distance` (from [`Folder::distance`] of the same `s`): the register after those bytes
    /// from `reg`.
    pub(crate) fn shift(self, s: &Shift, reg: u32, distance: u32) -> u32 {
        let w = s.width;
        // A reflected register holds the coefficient of x^(w-1) in bit 0.
        let normal = reg.reverse_bits() >> (32 - w);
        // SAFETY: as in `distance`; `normal` and `distance` are reduced (degree below w).
        let r = unsafe { mulmod(s, normal, distance & ((1u64 << w) - 1) as u32) };
        r.reverse_bits() >> (32 - w)
    }

    /// [`Folder::fold`] for a CRC-32 and the CRC-16/MCRF4XX over the same bytes, in one pass
    /// and at the cost of one CRC: `data` is folded modulo `j`'s joint polynomial, from the
    /// CRC-32 register `reg32` and the CRC-16 register `reg16`. The 16-byte value stands for
    /// the same bytes for both CRCs (raw CRC-32 and raw CRC-16 of it, each register from zero,
    /// followed by the rest). `None` when `data` is shorter than [`MIN_LEN`], or when the two
    /// registers cannot start one fold (see [`Joint::seed`]).
    pub(crate) fn fold_joint(
        self,
        j: &Joint,
        reg32: u32,
        reg16: u16,
        data: &[u8],
    ) -> Option<([u8; 16], usize)> {
        if data.len() < MIN_LEN {
            return None;
        }
        let seed = j.seed(reg32, reg16)?;
        // SAFETY: as in `fold`; no copy (null `dst`, never written).
        Some(unsafe { fold1_with::<false>(&j.consts, seed, data, core::ptr::null_mut()) })
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
    seed128([u64::from(reg), 0])
}

/// A 16-byte value (low and high 64 bits) XORed over the first 16 bytes of a message (lane 0).
///
/// (A `target_feature` function: callable only where AVX-512F is enabled.)
#[inline]
#[target_feature(enable = "avx512f")]
fn seed128(s: [u64; 2]) -> __m512i {
    _mm512_set_epi64(0, 0, 0, 0, 0, 0, s[1] as i64, s[0] as i64)
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
    unsafe { fold1_with::<false>(c, [u64::from(reg), 0], data, core::ptr::null_mut()) }
}

/// [`fold1`], storing every folded byte of `data` at the same offset of `dst` as well.
///
/// # Safety
/// As [`fold1`]; `dst..dst + data.len()` must be writable and not overlap `data`.
#[target_feature(enable = "avx512f,vpclmulqdq,pclmulqdq,sse2")]
unsafe fn fold1_into(c: &Consts, reg: u32, data: &[u8], dst: *mut u8) -> ([u8; 16], usize) {
    // SAFETY: as this function's.
    unsafe { fold1_with::<true>(c, [u64::from(reg), 0], data, dst) }
}

/// The body of [`fold1`], [`fold1_into`] and [`Folder::fold_joint`]: `seed` (low and high 64
/// bits) is XORed over the first 16 bytes; with `COPY`, each 64- or 16-byte load from `data` is
/// stored at the same offset of `dst`.
///
/// # Safety
/// As [`fold1`]; with `COPY`, as [`fold1_into`] (without, `dst` is never used).
#[inline]
#[target_feature(enable = "avx512f,vpclmulqdq,pclmulqdq,sse2")]
unsafe fn fold1_with<const COPY: bool>(
    c: &Consts,
    seed: [u64; 2],
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
        let mut a0 = _mm512_xor_si512(ld64!(0), seed128(seed));
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
        _mm512_xor_si512(ld64!(0), seed128(seed))
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

    /// A xorshift64 sequence from `seed` (non-zero): the tests' random lengths and contents.
    fn xorshift(mut x: u64) -> impl FnMut() -> u64 {
        move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        }
    }

    /// Bit-at-a-time reflected CRC register after `data` (no final XOR): the definition.
    fn bitwise(poly: u64, width: u32, mut reg: u64, data: &[u8]) -> u64 {
        let rpoly = poly.reverse_bits() >> (64 - width);
        for &b in data {
            reg ^= u64::from(b);
            for _ in 0..8 {
                reg = if reg & 1 == 1 {
                    (reg >> 1) ^ rpoly
                } else {
                    reg >> 1
                };
            }
        }
        reg
    }

    #[test]
    fn joint_polynomial_is_the_lcm() {
        let p16 = (1u128 << 16) | 0x1021;
        // P32·P16 and, where both have the factor x + 1, P32·P16/(x + 1), computed apart
        // (Python, carry-less arithmetic) from the products 0x1_14AC_908E_DB57,
        // 0x1_EBD9_5591_A973 and 0x1_0F13_6CE4_9761.
        let want = [
            (0x04C1_1DB7u64, 0x1_14AC_908E_DB57u64),
            (0xF4AC_FB13, 0xA6B7_3370_98D1),
            (0x1EDC_6F41, 0xFAF1_245C_72DF),
        ];
        for (poly, m) in want {
            let p32 = (1u128 << 32) | u128::from(poly);
            let j = Joint::new(poly);
            assert_eq!(pdivmod(u128::from(m), p32).1, 0);
            assert_eq!(pdivmod(u128::from(m), p16).1, 0);
            let width = deg(u128::from(m)) as u32;
            assert_eq!(j.shared, width == 47);
            // The folding constants are those of M.
            let c = Consts::new(m ^ (1 << width), width);
            assert_eq!(
                (
                    j.consts.k2048,
                    j.consts.k512,
                    j.consts.k384,
                    j.consts.k256,
                    j.consts.k128
                ),
                (c.k2048, c.k512, c.k384, c.k256, c.k128)
            );
        }
    }

    #[test]
    fn joint_fold_gives_both_crcs_from_any_registers() {
        let Some(f) = Folder::get() else { return };
        let mut next = xorshift(0x9E37_79B9_7F4A_7C15);
        for poly in [0x04C1_1DB7u64, 0xF4AC_FB13, 0x1EDC_6F41] {
            let j = Joint::new(poly);
            let c32 = Consts::new(poly, 32);
            let c16 = Consts::new(0x1021, 16);
            for round in 0..200 {
                let len = MIN_LEN + (next() % 700) as usize;
                let mut buf = [0u8; MIN_LEN + 700];
                buf.iter_mut().for_each(|b| *b = next() as u8);
                let data = &buf[..len];
                let (reg32, reg16) = if round < 2 {
                    // All ones (the precomputed start seed), then all ones but one bit each
                    // (the same parity, through the columns).
                    (!(round as u32), !(round as u16))
                } else {
                    (next() as u32, next() as u16)
                };
                let odd = (reg32.count_ones() + reg16.count_ones()) % 2 == 1;
                let Some((v, used)) = f.fold_joint(&j, reg32, reg16, data) else {
                    assert!(j.shared && odd, "refused a seed it can make");
                    continue;
                };
                assert!(
                    !(j.shared && odd),
                    "made a seed for registers of different parity"
                );
                let v = f.fold_rest(j.consts(), v, &data[used..]).expect("rest");
                // The raw CRCs of the 16-byte value are the registers after `data`.
                let want32 = bitwise(poly, 32, u64::from(reg32), data);
                let want16 = bitwise(0x1021, 16, u64::from(reg16), data);
                assert_eq!(
                    bitwise(poly, 32, 0, &v),
                    want32,
                    "CRC-32 {poly:#x} len {len}"
                );
                assert_eq!(bitwise(0x1021, 16, 0, &v), want16, "CRC-16 len {len}");
                // And the one-CRC folds agree (the reference of the fold itself).
                let (v32, u32_) = f.fold(&c32, reg32, data).expect("fold");
                let v32 = f.fold_rest(&c32, v32, &data[u32_..]).expect("rest");
                assert_eq!(bitwise(poly, 32, 0, &v32), want32);
                let (v16, u16_) = f.fold(&c16, u32::from(reg16), data).expect("fold");
                let v16 = f.fold_rest(&c16, v16, &data[u16_..]).expect("rest");
                assert_eq!(bitwise(0x1021, 16, 0, &v16), want16);
            }
        }
    }

    #[test]
    fn shift_moves_a_register_over_zero_bytes() {
        let Some(f) = Folder::get() else { return };
        let mut next = xorshift(0x2545_F491_4F6C_DD1D);
        let zeros = [0u8; 0xFFFF];
        for (poly, width) in [
            (0x1021u64, 16u32),
            (0x04C1_1DB7, 32),
            (0xF4AC_FB13, 32),
            (0x1EDC_6F41, 32),
        ] {
            let s = Shift::new(poly, width);
            let mask = (1u64 << width) - 1;
            // Every table boundary, the ends, and random lengths.
            let mut lens = [0usize; 52];
            let fixed = [
                0, 1, 2, 255, 256, 257, 511, 512, 5760, 11520, 0xFFFE, 0xFFFF,
            ];
            lens[..fixed.len()].copy_from_slice(&fixed);
            for n in &mut lens[fixed.len()..] {
                *n = (next() as usize) % 0x1_0000;
            }
            for n in lens {
                for reg in [mask, 1, 1 << (width - 1), next() & mask] {
                    let want = bitwise(poly, width, reg, &zeros[..n]);
                    let got = f.shift(&s, reg as u32, f.distance(&s, n as u16));
                    assert_eq!(u64::from(got), want, "poly {poly:#x} n {n} reg {reg:#x}");
                }
            }
        }
    }

    #[test]
    fn short_inputs_are_refused() {
        if let Some(f) = Folder::get() {
            let c = Consts::new(0x1021, 16);
            assert!(f.fold(&c, 0, &[0u8; MIN_LEN - 1]).is_none());
            let j = Joint::new(0x04C1_1DB7);
            assert!(f.fold_joint(&j, !0, !0, &[0u8; MIN_LEN - 1]).is_none());
            assert!(f.fold_joint(&j, !0, !0, &[0u8; MIN_LEN]).is_some());
            assert!(f.fold(&c, 0, &[0u8; MIN_LEN]).is_some());
        }
    }
}
