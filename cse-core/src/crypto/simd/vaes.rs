//! Stitched AES-GCM on VAES + VPCLMULQDQ with 512-bit registers (AVX-512F/BW/VL), and the CTR
//! keystream of the CTR+CMAC suites on the same AES code.
//!
//! # Design
//!
//! The structure of the Linux kernel's `aes-gcm-avx10` and OpenSSL's `aes-gcm-avx512`:
//!
//! - **Per key** ([`RoundKeys`], [`HPowers`]): the AES round keys (expanded with AES-NI
//!   `AESKEYGENASSIST`) and `H^32..H^1` in the POLYVAL representation of the parent module, in
//!   descending order followed by four zero blocks, so that the powers for the last `t` blocks
//!   of a message are one unaligned 64-byte load per four blocks (`pow[32 - t + 4j..]`). Nothing
//!   is copied per message.
//! - **Per message**: the round keys are broadcast to all four 128-bit lanes; counter blocks
//!   are kept byte-reversed (so `inc32` is one `VPADDD` on the low dword of every lane) and
//!   reversed back with one `VPSHUFB` per four blocks. The main loop encrypts sixteen blocks
//!   (four registers) per iteration with `VAESENC` and, independent of them, multiplies sixteen
//!   ciphertext blocks by `H^16..H^1` with `VPCLMULQDQ` (schoolbook: four products per
//!   register), sums the products unreduced and reduces once. Seal hashes the ciphertext of the
//!   previous iteration (it is not known before the AES rounds end), open hashes the ciphertext
//!   it is about to decrypt. One pass over the data in both directions.
//! - **Tail** (fewer than sixteen blocks): masked loads and stores (`VMOVDQU8` with a byte
//!   mask, which never touches bytes outside the mask), the partial block zero-padded for
//!   GHASH, and the length block folded into the same single reduction (`t` tail blocks and the
//!   length block take `H^(t+1)..H^1`).
//! - **GHASH only** (AAD, GMAC): 32 blocks per reduction (eight registers times `H^32..H^1`),
//!   the tail of up to 31 blocks in one more reduction.
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
    __m128i, __m512i, _mm_aesenc_si128, _mm_aesenclast_si128, _mm_aeskeygenassist_si128,
    _mm_clmulepi64_si128, _mm_loadu_si128, _mm_set_epi8, _mm_set_epi64x, _mm_setzero_si128,
    _mm_shuffle_epi8, _mm_shuffle_epi32, _mm_slli_si128, _mm_storeu_si128, _mm_xor_si128,
    _mm256_extracti128_si256, _mm256_xor_si256, _mm512_add_epi32, _mm512_aesenc_epi128,
    _mm512_aesenclast_epi128, _mm512_broadcast_i32x4, _mm512_bslli_epi128, _mm512_bsrli_epi128,
    _mm512_castsi512_si128, _mm512_clmulepi64_epi128, _mm512_extracti64x4_epi64,
    _mm512_loadu_si512, _mm512_mask_storeu_epi8, _mm512_maskz_loadu_epi8, _mm512_maskz_mov_epi8,
    _mm512_set_epi32, _mm512_setzero_si512, _mm512_shuffle_epi8, _mm512_storeu_si512,
    _mm512_xor_si512, _mm512_zextsi128_si512,
};

use zeroize::{Zeroize, ZeroizeOnDrop};

cpufeatures::new!(
    vaes512_cpuid,
    "avx512f",
    "avx512bw",
    "avx512vl",
    "vaes",
    "vpclmulqdq",
    "aes",
    "pclmulqdq",
    "avx2",
    "sse4.1",
    "ssse3"
);

/// Powers of `H` kept per key (`H^32..H^1`).
pub(super) const NPOW: usize = 32;

/// Whether this CPU runs the VAES-512 path (detected once, then cached).
pub(crate) fn available() -> bool {
    vaes512_cpuid::get()
}

/// An AES-128 or AES-256 key schedule expanded with AES-NI: shared by the three stitched
/// engines (this module, [`super::vaes256`], [`super::aesni`]), each of which wraps it in its
/// own `RoundKeys` type whose constructor checks that engine's CPU features. Zeroized on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub(super) struct Schedule {
    /// Round key `i` at index `i` (little-endian `u128` of the 16 key bytes); unused entries of
    /// AES-128 are zero.
    pub(super) rk: [u128; 15],
    /// 10 (AES-128) or 14 (AES-256).
    pub(super) rounds: u8,
}

impl Schedule {
    /// Expands a 16- or 32-byte AES key; `None` for other lengths.
    ///
    /// # Safety
    /// The CPU must have AES-NI and SSE2.
    pub(super) unsafe fn expand(key: &[u8]) -> Option<Schedule> {
        let mut s = Schedule {
            rk: [0; 15],
            rounds: 0,
        };
        match key.len() {
            16 => {
                let k = key.first_chunk::<16>()?;
                // SAFETY: the caller guarantees AES-NI and SSE2.
                unsafe { expand128(&mut s.rk, k) };
                s.rounds = 10;
            }
            32 => {
                let k = key.first_chunk::<32>()?;
                // SAFETY: as above.
                unsafe { expand256(&mut s.rk, k) };
                s.rounds = 14;
            }
            _ => return None,
        }
        Some(s)
    }

    /// Encrypts one block.
    ///
    /// # Safety
    /// The CPU must have AES-NI and SSE2.
    pub(super) unsafe fn encrypt_block(&self, block: &mut [u8; 16]) {
        // SAFETY: by contract.
        unsafe { encrypt_block(self, block) }
    }

    /// Whether this is an AES-256 schedule (14 rounds).
    pub(super) fn is_aes256(&self) -> bool {
        self.rounds == 14
    }
}

/// An AES-128 or AES-256 key schedule for the VAES-512 code.
///
/// Only constructible through [`RoundKeys::new`], which checks the CPU features: holding a
/// value is the proof that the `target_feature` functions of this module may run. Zeroized on
/// drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub(crate) struct RoundKeys {
    s: Schedule,
}

/// `H^32..H^1` (POLYVAL representation), then four zero blocks, for the VAES paths (512- and
/// 256-bit). Zeroized on drop.
#[derive(Zeroize, ZeroizeOnDrop)]
pub(crate) struct HPowers {
    pub(super) pow: [u128; NPOW + 4],
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

/// A running GMAC (streaming), detached from its key: the accumulator, the IV, and up to 64
/// bytes of input not hashed yet, so that a short message and the length block end in one
/// reduction. The key's round keys and powers of `H` are passed to [`GmacStream::update`] and
/// [`GmacStream::finalize`] (never copied into the state); `E_K(J0)` is computed in
/// `finalize`, next to the last reduction, so starting a message costs nothing. Zeroized on
/// drop.
pub(crate) struct GmacStream {
    acc: u128,
    iv: [u8; 12],
    buf: [u8; 64],
    buf_len: usize,
    len: u64,
}

impl Drop for GmacStream {
    fn drop(&mut self) {
        // SAFETY: volatile writes through unique references to live fields (whole values, so
        // a few vector stores instead of the byte-by-byte loop of `zeroize` for arrays).
        unsafe {
            core::ptr::write_volatile(&mut self.buf, [0; 64]);
            core::ptr::write_volatile(&mut self.acc, 0);
            core::ptr::write_volatile(&mut self.iv, [0; 12]);
        }
        core::sync::atomic::compiler_fence(core::sync::atomic::Ordering::SeqCst);
    }
}

impl GmacStream {
    /// A fresh GMAC under `iv`.
    #[inline]
    pub(crate) fn new(iv: &[u8; 12]) -> GmacStream {
        GmacStream {
            acc: 0,
            iv: *iv,
            buf: [0; 64],
            buf_len: 0,
            len: 0,
        }
    }

    /// A copy of the running state (zeroized on drop as well).
    pub(crate) fn fork(&self) -> GmacStream {
        GmacStream {
            acc: self.acc,
            iv: self.iv,
            buf: self.buf,
            buf_len: self.buf_len,
            len: self.len,
        }
    }

    /// Absorbs the next piece of the message; `hp` are the powers of the key that started it.
    ///
    /// The last 1..=64 bytes seen are held back (the end of the message may be near); on an
    /// empty buffer a piece is hashed in place (no copy), and short pieces and the held-back
    /// bytes are copied with one masked 64-byte load and store (so the final masked load of
    /// the buffer is forwarded from one store of the same size).
    pub(crate) fn update(&mut self, hp: &HPowers, piece: &[u8]) {
        self.len = self.len.wrapping_add(piece.len() as u64);
        let have = self.buf_len.min(64);
        if have == 0 && piece.len() <= 64 {
            // SAFETY: `piece.len() ≤ 64` bytes are read from `piece` and written to the
            // 64-byte buffer (masked); an `HPowers` exists only where `available()` found
            // AVX-512F/BW.
            unsafe { copy_part(self.buf.as_mut_ptr(), piece.as_ptr(), piece.len()) };
            self.buf_len = piece.len();
            return;
        }
        let room = 64 - have;
        if piece.len() <= room {
            if let Some(dst) = self.buf.get_mut(have..have + piece.len()) {
                dst.copy_from_slice(piece);
            }
            self.buf_len = have + piece.len();
            return;
        }
        // More than fits: hash the buffer (if any) and whole 64-byte chunks of the rest,
        // keeping 1..=64 bytes back.
        let mut y = get(&self.acc);
        let rest = if have > 0 {
            let (head, rest) = piece.split_at(room);
            if let Some(dst) = self.buf.get_mut(have..) {
                dst.copy_from_slice(head);
            }
            // SAFETY: an `HPowers` is only built from a `RoundKeys`, which exists only where
            // `available()` found every feature of `ghash_padded`.
            y = unsafe { ghash_padded(&hp.pow, y, &self.buf) };
            rest
        } else {
            piece
        };
        let h = ((rest.len() - 1) / 64) * 64;
        let (bulk, keep) = rest.split_at(h);
        // SAFETY: as above; `keep.len() ≤ 64` bytes are copied into the 64-byte buffer.
        unsafe {
            y = ghash_padded(&hp.pow, y, bulk);
            copy_part(self.buf.as_mut_ptr(), keep.as_ptr(), keep.len());
        }
        put(&mut self.acc, y);
        self.buf_len = keep.len();
    }

    /// The full 16-byte tag of everything absorbed (the state is unchanged); `rk`, `hp`: the
    /// key that started it.
    pub(crate) fn finalize(&self, rk: &RoundKeys, hp: &HPowers) -> [u8; 16] {
        // SAFETY: a `RoundKeys` exists only where `available()` found every feature.
        unsafe { gmac_final(self, rk, hp) }
    }
}

/// The held-back bytes and the length block in one reduction, then the mask `E_K(J0)`
/// (computed here, independent of the GHASH chain, so the two overlap).
///
/// # Safety
/// The CPU must have the features of the attribute.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,vpclmulqdq,pclmulqdq,aes,avx2,sse2,ssse3")]
unsafe fn gmac_final(g: &GmacStream, rk: &RoundKeys, hp: &HPowers) -> [u8; 16] {
    // SAFETY: features as this function's.
    let mask = unsafe { encrypt_j0_reg(&rk.s, &g.iv) };
    let hp = &hp.pow;
    let y = get(&g.acc);
    let lens = len_block(g.len, 0);
    let n = g.buf_len.min(64);
    // SAFETY: `n ≤ 64` bytes of `g.buf` are readable (masked load); `pow4` indices ≤ 34.
    let y = unsafe {
        if n == 0 {
            reduce(mul(
                _mm512_zextsi128_si512(_mm_xor_si128(y, lens)),
                pow4(hp, NPOW - 1),
            ))
        } else {
            let base = NPOW - 1 - n.div_ceil(16);
            let mut acc = mul(_mm512_zextsi128_si512(lens), pow4(hp, NPOW - 1));
            let x = _mm512_xor_si512(
                _mm512_shuffle_epi8(load_part(g.buf.as_ptr(), n), rev512()),
                _mm512_zextsi128_si512(y),
            );
            mul_acc(&mut acc, x, pow4(hp, base));
            reduce(acc)
        }
    };
    tag_bytes(y, mask)
}

/// `E_K(IV ‖ 1)` in a register.
///
/// # Safety
/// The CPU must have AES-NI and SSE2.
#[target_feature(enable = "aes,sse2")]
#[inline]
pub(super) unsafe fn encrypt_j0_reg(rk: &Schedule, iv: &[u8; 12]) -> __m128i {
    let nr = usize::from(rk.rounds).min(14);
    let mut x = _mm_xor_si128(counter_block(iv, 1), get(&rk.rk[0]));
    for k in rk.rk.get(1..nr).unwrap_or_default() {
        x = _mm_aesenc_si128(x, get(k));
    }
    _mm_aesenclast_si128(x, get(&rk.rk[nr]))
}

impl HPowers {
    /// `H = E_K(0^128)` and its powers.
    pub(crate) fn new(rk: &RoundKeys) -> HPowers {
        // SAFETY: a `RoundKeys` exists only where `available()` holds (AES-NI, PCLMULQDQ,
        // SSSE3).
        unsafe { HPowers::from_schedule(&rk.s) }
    }

    /// `H = E_K(0^128)` under `s` and its powers.
    ///
    /// # Safety
    /// The CPU must have AES-NI, PCLMULQDQ, SSE2 and SSSE3.
    pub(super) unsafe fn from_schedule(s: &Schedule) -> HPowers {
        let mut h = [0u8; 16];
        let mut p = HPowers { pow: [0; NPOW + 4] };
        // SAFETY: by contract.
        unsafe {
            s.encrypt_block(&mut h);
            expand_powers(&mut p, &h);
        }
        h.zeroize();
        p
    }
}

// ---------------------------------------------------------------------------------------------
// Key schedule (AES-NI).
// ---------------------------------------------------------------------------------------------

/// `k ⊕ (k << 32) ⊕ (k << 64) ⊕ (k << 96)`: the running XOR of the key schedule words.
///
/// # Safety
/// The CPU must have SSE2 (x86_64 baseline).
#[target_feature(enable = "aes,sse2")]
#[inline]
fn xor_shifts(k: __m128i) -> __m128i {
    let k = _mm_xor_si128(k, _mm_slli_si128::<4>(k));
    let k = _mm_xor_si128(k, _mm_slli_si128::<4>(k));
    _mm_xor_si128(k, _mm_slli_si128::<4>(k))
}

/// Stores `v` into a `u128` slot.
///
/// # Safety
/// None beyond SSE2 (x86_64 baseline): the store goes through a unique reference.
#[inline(always)]
pub(super) fn put(slot: &mut u128, v: __m128i) {
    // SAFETY: a unique reference to 16 writable bytes; unaligned store; SSE2 baseline.
    unsafe { _mm_storeu_si128((slot as *mut u128).cast(), v) }
}

/// Loads a `u128` slot.
#[inline(always)]
pub(super) fn get(slot: &u128) -> __m128i {
    // SAFETY: a reference to 16 readable bytes; unaligned load; SSE2 baseline.
    unsafe { _mm_loadu_si128((slot as *const u128).cast()) }
}

/// Loads 16 bytes.
#[inline(always)]
pub(super) fn get_bytes(b: &[u8; 16]) -> __m128i {
    // SAFETY: a reference to 16 readable bytes; unaligned load; SSE2 baseline.
    unsafe { _mm_loadu_si128(b.as_ptr().cast()) }
}

/// AES-128 key expansion (FIPS 197 section 5.2) into `rk[0..11]`.
///
/// # Safety
/// The CPU must have AES-NI and SSE2.
#[target_feature(enable = "aes,sse2")]
unsafe fn expand128(rk: &mut [u128; 15], key: &[u8; 16]) {
    macro_rules! step {
        ($k:ident, $i:expr, $rcon:expr) => {
            let t = _mm_shuffle_epi32::<0xff>(_mm_aeskeygenassist_si128::<$rcon>($k));
            $k = _mm_xor_si128(xor_shifts($k), t);
            put(&mut rk[$i], $k);
        };
    }
    let mut k = get_bytes(key);
    put(&mut rk[0], k);
    step!(k, 1, 0x01);
    step!(k, 2, 0x02);
    step!(k, 3, 0x04);
    step!(k, 4, 0x08);
    step!(k, 5, 0x10);
    step!(k, 6, 0x20);
    step!(k, 7, 0x40);
    step!(k, 8, 0x80);
    step!(k, 9, 0x1b);
    step!(k, 10, 0x36);
}

/// AES-256 key expansion (FIPS 197 section 5.2) into `rk[0..15]`.
///
/// # Safety
/// The CPU must have AES-NI and SSE2.
#[target_feature(enable = "aes,sse2")]
unsafe fn expand256(rk: &mut [u128; 15], key: &[u8; 32]) {
    let (lo, hi) = key.split_at(16);
    let mut k0 = lo
        .first_chunk::<16>()
        .map_or(_mm_setzero_si128(), get_bytes);
    let mut k1 = hi
        .first_chunk::<16>()
        .map_or(_mm_setzero_si128(), get_bytes);
    put(&mut rk[0], k0);
    put(&mut rk[1], k1);
    macro_rules! even {
        ($i:expr, $rcon:expr) => {
            let t = _mm_shuffle_epi32::<0xff>(_mm_aeskeygenassist_si128::<$rcon>(k1));
            k0 = _mm_xor_si128(xor_shifts(k0), t);
            put(&mut rk[$i], k0);
        };
    }
    macro_rules! odd {
        ($i:expr) => {
            let t = _mm_shuffle_epi32::<0xaa>(_mm_aeskeygenassist_si128::<0>(k0));
            k1 = _mm_xor_si128(xor_shifts(k1), t);
            put(&mut rk[$i], k1);
        };
    }
    even!(2, 0x01);
    odd!(3);
    even!(4, 0x02);
    odd!(5);
    even!(6, 0x04);
    odd!(7);
    even!(8, 0x08);
    odd!(9);
    even!(10, 0x10);
    odd!(11);
    even!(12, 0x20);
    odd!(13);
    even!(14, 0x40);
}

/// One block with AES-NI.
///
/// # Safety
/// The CPU must have AES-NI and SSE2.
#[target_feature(enable = "aes,sse2")]
unsafe fn encrypt_block(rk: &Schedule, block: &mut [u8; 16]) {
    let nr = usize::from(rk.rounds);
    let mut x = _mm_xor_si128(get_bytes(block), get(&rk.rk[0]));
    for k in &rk.rk[1..nr] {
        x = _mm_aesenc_si128(x, get(k));
    }
    x = _mm_aesenclast_si128(x, get(&rk.rk[nr]));
    // SAFETY: a unique reference to 16 writable bytes; unaligned store.
    unsafe { _mm_storeu_si128(block.as_mut_ptr().cast(), x) };
}

// ---------------------------------------------------------------------------------------------
// GHASH (POLYVAL representation, see the parent module).
// ---------------------------------------------------------------------------------------------

/// PSHUFB mask reversing the 16 bytes of a block (GHASH byte order ↔ POLYVAL).
#[target_feature(enable = "sse2,ssse3")]
#[inline]
pub(super) fn rev128() -> __m128i {
    _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
}

/// `rev128` in all four lanes.
///
/// # Safety
/// The CPU must have the features of the attribute.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,sse2,ssse3")]
#[inline]
fn rev512() -> __m512i {
    _mm512_broadcast_i32x4(rev128())
}

/// `(a·b·x^-128) mod P` for one pair (used for the key powers only).
#[target_feature(enable = "pclmulqdq,sse2,ssse3")]
#[inline]
pub(super) fn mul128(a: __m128i, b: __m128i) -> __m128i {
    let lo = _mm_clmulepi64_si128::<0x00>(a, b);
    let hi = _mm_clmulepi64_si128::<0x11>(a, b);
    let mid = _mm_xor_si128(
        _mm_clmulepi64_si128::<0x01>(a, b),
        _mm_clmulepi64_si128::<0x10>(a, b),
    );
    reduce128(
        _mm_xor_si128(lo, _mm_slli_si128::<8>(mid)),
        _mm_xor_si128(hi, core::arch::x86_64::_mm_srli_si128::<8>(mid)),
    )
}

/// The 256-bit product `hi·x^128 + lo` times `x^-128 mod P` (two folds by
/// `x^63 + x^62 + x^57`, as in the parent module).
#[target_feature(enable = "pclmulqdq,sse2,ssse3")]
#[inline]
pub(super) fn reduce128(lo: __m128i, hi: __m128i) -> __m128i {
    let c = _mm_set_epi64x(0xc200_0000_0000_0000_u64.cast_signed(), 0);
    let t = _mm_clmulepi64_si128::<0x10>(lo, c);
    let lo = _mm_xor_si128(_mm_shuffle_epi32::<0x4e>(lo), t);
    let t = _mm_clmulepi64_si128::<0x10>(lo, c);
    let lo = _mm_xor_si128(_mm_shuffle_epi32::<0x4e>(lo), t);
    _mm_xor_si128(hi, lo)
}

/// Fills `p.pow` with `H^32..H^1` (descending) from the GHASH key `h` (GHASH byte order).
///
/// # Safety
/// The CPU must have PCLMULQDQ, SSE2 and SSSE3.
#[target_feature(enable = "pclmulqdq,sse2,ssse3")]
unsafe fn expand_powers(p: &mut HPowers, h: &[u8; 16]) {
    // mulX(rev(H)) as in the parent module.
    let mut v = u128::from_be_bytes(*h);
    const POLY: u128 = 0xc200_0000_0000_0000_0000_0000_0000_0001;
    let mut h1 = (v << 1) ^ (POLY & 0u128.wrapping_sub(v >> 127));
    v.zeroize();
    let h = get(&h1);
    h1.zeroize();
    let mut x = h;
    for i in (0..NPOW).rev() {
        put(&mut p.pow[i], x);
        x = mul128(x, h);
    }
}

/// Unreduced sums of products, four lanes each: `lo`, `hi` and the middle terms.
#[derive(Clone, Copy)]
struct Acc {
    lo: __m512i,
    hi: __m512i,
    mid: __m512i,
}

/// The four products of each lane of `x` and `h`, unreduced.
///
/// # Safety
/// The CPU must have the features of the attribute.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,vpclmulqdq,pclmulqdq,avx2,sse2,ssse3")]
#[inline]
fn mul(x: __m512i, h: __m512i) -> Acc {
    Acc {
        lo: _mm512_clmulepi64_epi128::<0x00>(x, h),
        hi: _mm512_clmulepi64_epi128::<0x11>(x, h),
        mid: _mm512_xor_si512(
            _mm512_clmulepi64_epi128::<0x01>(x, h),
            _mm512_clmulepi64_epi128::<0x10>(x, h),
        ),
    }
}

/// `acc += x·h` (lane by lane, unreduced).
#[target_feature(enable = "avx512f,avx512bw,avx512vl,vpclmulqdq,pclmulqdq,avx2,sse2,ssse3")]
#[inline]
fn mul_acc(acc: &mut Acc, x: __m512i, h: __m512i) {
    let p = mul(x, h);
    acc.lo = _mm512_xor_si512(acc.lo, p.lo);
    acc.hi = _mm512_xor_si512(acc.hi, p.hi);
    acc.mid = _mm512_xor_si512(acc.mid, p.mid);
}

/// XOR of the four 128-bit lanes.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx2,sse2")]
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

/// Sums the lanes of `acc` and reduces: the new POLYVAL accumulator.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,vpclmulqdq,pclmulqdq,avx2,sse2,ssse3")]
#[inline]
fn reduce(acc: Acc) -> __m128i {
    let lo = _mm512_xor_si512(acc.lo, _mm512_bslli_epi128::<8>(acc.mid));
    let hi = _mm512_xor_si512(acc.hi, _mm512_bsrli_epi128::<8>(acc.mid));
    reduce128(fold_lanes(lo), fold_lanes(hi))
}

/// Four powers starting at index `i` of the descending table.
///
/// # Safety
/// `i + 4 <= NPOW + 4`, and the CPU must have AVX-512F.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn pow4(hp: &[u128; NPOW + 4], i: usize) -> __m512i {
    debug_assert!(i + 4 <= hp.len());
    // SAFETY: the caller keeps `i + 4` within the table, so 64 bytes are readable.
    unsafe { _mm512_loadu_si512(hp.as_ptr().add(i).cast()) }
}

/// All-ones for the first `len` bytes of a 64-byte register (`len` ≥ 64: all).
#[inline(always)]
fn bytemask(len: usize) -> u64 {
    if len >= 64 {
        u64::MAX
    } else {
        (1u64 << len) - 1
    }
}

/// Loads `min(len, 64)` bytes at `p`, zero beyond.
///
/// # Safety
/// `min(len, 64)` bytes at `p` must be readable (bytes outside the mask are not accessed);
/// the CPU must have AVX-512F/BW.
#[target_feature(enable = "avx512f,avx512bw")]
#[inline]
unsafe fn load_part(p: *const u8, len: usize) -> __m512i {
    // SAFETY: masked-out bytes are neither read nor fault; the rest is readable by contract.
    unsafe { _mm512_maskz_loadu_epi8(bytemask(len), p.cast()) }
}

/// Stores the first `min(len, 64)` bytes of `v` at `p`.
///
/// # Safety
/// `min(len, 64)` bytes at `p` must be writable (bytes outside the mask are not accessed);
/// the CPU must have AVX-512F/BW.
#[target_feature(enable = "avx512f,avx512bw")]
#[inline]
unsafe fn store_part(p: *mut u8, len: usize, v: __m512i) {
    // SAFETY: masked-out bytes are not written; the rest is writable by contract.
    unsafe { _mm512_mask_storeu_epi8(p.cast(), bytemask(len), v) }
}

/// Copies `min(len, 64)` bytes from `src` to `dst` with one masked 64-byte load and store.
///
/// # Safety
/// `min(len, 64)` bytes at `src` must be readable and at `dst` writable (bytes outside the mask
/// are not accessed); the CPU must have AVX-512F/BW.
#[target_feature(enable = "avx512f,avx512bw")]
#[inline]
unsafe fn copy_part(dst: *mut u8, src: *const u8, len: usize) {
    // SAFETY: by contract.
    unsafe { store_part(dst, len, load_part(src, len)) }
}

/// Loads 64 bytes at `p`.
///
/// # Safety
/// 64 bytes at `p` must be readable; the CPU must have AVX-512F.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn load64(p: *const u8) -> __m512i {
    // SAFETY: by contract.
    unsafe { _mm512_loadu_si512(p.cast()) }
}

/// Stores 64 bytes at `p`.
///
/// # Safety
/// 64 bytes at `p` must be writable; the CPU must have AVX-512F.
#[target_feature(enable = "avx512f")]
#[inline]
unsafe fn store64(p: *mut u8, v: __m512i) {
    // SAFETY: by contract.
    unsafe { _mm512_storeu_si512(p.cast(), v) }
}

/// `y ← GHASH_H` of `data` zero-padded to whole blocks, continuing from `y`: 32 blocks per
/// reduction, then a tail of up to 31 blocks in one more reduction.
///
/// # Safety
/// The CPU must have the features of the attribute.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,vpclmulqdq,pclmulqdq,avx2,sse2,ssse3")]
unsafe fn ghash_padded(hp: &[u128; NPOW + 4], y: __m128i, data: &[u8]) -> __m128i {
    // SAFETY: as this function's; no copy (null `dst`, never written).
    unsafe { ghash_padded_with::<false>(hp, y, data, core::ptr::null_mut()) }
}

/// [`ghash_padded`] that also stores every byte of `data` at the same offset of `dst` (each
/// load stored once more): the hash and the copy in one pass.
///
/// # Safety
/// As [`ghash_padded`]; `data.len()` bytes at `dst` must be writable and not overlap `data`.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,vpclmulqdq,pclmulqdq,avx2,sse2,ssse3")]
unsafe fn ghash_padded_copy(
    hp: &[u128; NPOW + 4],
    y: __m128i,
    data: &[u8],
    dst: *mut u8,
) -> __m128i {
    // SAFETY: as this function's.
    unsafe { ghash_padded_with::<true>(hp, y, data, dst) }
}

/// The body of [`ghash_padded`] and [`ghash_padded_copy`]: with `COPY`, each 64-byte (or
/// masked) load from `data` is stored at the same offset of `dst`.
///
/// # Safety
/// As [`ghash_padded`]; with `COPY`, as [`ghash_padded_copy`] (without, `dst` is never used).
#[target_feature(enable = "avx512f,avx512bw,avx512vl,vpclmulqdq,pclmulqdq,avx2,sse2,ssse3")]
#[inline]
unsafe fn ghash_padded_with<const COPY: bool>(
    hp: &[u128; NPOW + 4],
    mut y: __m128i,
    data: &[u8],
    dst: *mut u8,
) -> __m128i {
    let rev = rev512();
    let mut rem = data.len();
    let mut p = data.as_ptr();
    let mut q = dst;
    // One 64-byte load at `p + at` (stored at `q + at` with `COPY`), byte-reflected. Used
    // only inside the `unsafe` block below, whose SAFETY covers it: 64 bytes at `p + at` are
    // within `data`, and with `COPY` the same offset of `dst` is writable (the caller's
    // contract).
    macro_rules! ld {
        ($at:expr) => {{
            let at: usize = $at;
            let x = load64(p.add(at));
            if COPY {
                store64(q.add(at), x);
            }
            _mm512_shuffle_epi8(x, rev)
        }};
    }
    while rem >= 64 * 8 {
        // SAFETY (all loads, and with `COPY` the stores): 512 bytes from `p` are within
        // `data` (and from `q` within `dst`); `pow4` indices ≤ 28.
        unsafe {
            // The product that depends on `y` is added last, so the other seven overlap the
            // previous reduction.
            let mut acc = mul(ld!(64), pow4(hp, 4));
            for j in 2..8 {
                let x = ld!(64 * j);
                mul_acc(&mut acc, x, pow4(hp, 4 * j));
            }
            let x = _mm512_xor_si512(ld!(0), _mm512_zextsi128_si512(y));
            mul_acc(&mut acc, x, pow4(hp, 0));
            y = reduce(acc);
            p = p.add(512);
            if COPY {
                q = q.add(512);
            }
        }
        rem -= 512;
    }
    if rem > 0 {
        // t ≤ 32 blocks take H^t..H^1.
        let base = NPOW - rem.div_ceil(16);
        let mut acc: Option<Acc> = None;
        let mut j = 0;
        while j * 64 < rem {
            // SAFETY: `rem - 64j` bytes from `p + 64j` are within `data` (masked load; with
            // `COPY` the masked store at `q + 64j` is within `dst`); `base + 4j + 4 ≤ NPOW + 3`
            // (4j < 16t... see the module documentation).
            unsafe {
                let raw = load_part(p.add(64 * j), rem - 64 * j);
                if COPY {
                    store_part(q.add(64 * j), rem - 64 * j, raw);
                }
                let mut x = _mm512_shuffle_epi8(raw, rev);
                let h = pow4(hp, base + 4 * j);
                match &mut acc {
                    None => {
                        x = _mm512_xor_si512(x, _mm512_zextsi128_si512(y));
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
    }
    y
}

/// `y ← GHASH` over the concatenation of `pieces`, zero-padded to a whole block at the end;
/// returns the new accumulator and the total length in bytes. A piece that is not the last and
/// not a multiple of 16 bytes leaves its partial block in a 16-byte carry.
///
/// # Safety
/// The CPU must have the features of the attribute.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,vpclmulqdq,pclmulqdq,avx2,sse2,ssse3")]
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

/// The length block `BE64(8·len(A)) ‖ BE64(8·len(C))` in the POLYVAL representation.
#[target_feature(enable = "sse2")]
#[inline]
pub(super) fn len_block(aad_len: u64, ct_len: u64) -> __m128i {
    _mm_set_epi64x(
        aad_len.wrapping_mul(8).cast_signed(),
        ct_len.wrapping_mul(8).cast_signed(),
    )
}

/// The tag: `rev(y) ⊕ E_K(J0)`.
#[target_feature(enable = "sse2,ssse3")]
#[inline]
pub(super) fn tag_bytes(y: __m128i, mask: __m128i) -> [u8; 16] {
    let t = _mm_xor_si128(_mm_shuffle_epi8(y, rev128()), mask);
    let mut out = [0u8; 16];
    // SAFETY: a unique reference to 16 writable bytes.
    unsafe { _mm_storeu_si128(out.as_mut_ptr().cast(), t) };
    out
}

// ---------------------------------------------------------------------------------------------
// AES on 512-bit registers and the counter.
// ---------------------------------------------------------------------------------------------

/// The round keys, each broadcast to the four lanes.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,vaes,aes,sse2")]
#[inline]
fn broadcast_keys(rk: &RoundKeys) -> [__m512i; 15] {
    core::array::from_fn(|i| _mm512_broadcast_i32x4(get(&rk.s.rk[i])))
}

/// Encrypts `N` registers (4·N blocks) with `NR` rounds, round by round across the registers.
#[target_feature(enable = "avx512f,avx512bw,avx512vl,vaes,aes,sse2")]
#[inline]
fn aes_x<const NR: usize, const N: usize>(k: &[__m512i; 15], x: [__m512i; N]) -> [__m512i; N] {
    let mut x = x.map(|v| _mm512_xor_si512(v, k[0]));
    for key in &k[1..NR] {
        for v in x.iter_mut() {
            *v = _mm512_aesenc_epi128(*v, *key);
        }
    }
    x.map(|v| _mm512_aesenclast_epi128(v, k[NR]))
}

/// The block `IV ‖ BE32(c)`, built in registers (a 16-byte load of bytes just written one by
/// one would stall on store forwarding).
#[target_feature(enable = "sse2")]
#[inline]
pub(super) fn counter_block(iv: &[u8; 12], c: u32) -> __m128i {
    let w = |i: usize| i32::from_le_bytes([iv[4 * i], iv[4 * i + 1], iv[4 * i + 2], iv[4 * i + 3]]);
    core::arch::x86_64::_mm_set_epi32(i32::from_le_bytes(c.to_be_bytes()), w(2), w(1), w(0))
}

/// Counter state: four byte-reversed counter blocks (`IV ‖ BE32(c + lane)` reversed, so the
/// counter is the low dword of each lane).
struct Ctr {
    rev_ctr: __m512i,
}

impl Ctr {
    /// Counter blocks `IV ‖ BE32(first + lane)`.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,sse2,ssse3")]
    #[inline]
    fn new(iv: &[u8; 12], first: u32) -> Ctr {
        let r = _mm_shuffle_epi8(counter_block(iv, first), rev128());
        let lanes = _mm512_set_epi32(0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0);
        Ctr {
            rev_ctr: _mm512_add_epi32(_mm512_broadcast_i32x4(r), lanes),
        }
    }

    /// The next `N` registers of counter blocks (AES input byte order).
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,sse2,ssse3")]
    #[inline]
    fn next<const N: usize>(&mut self, rev: __m512i) -> [__m512i; N] {
        let four = _mm512_set_epi32(0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 4, 0, 0, 0, 4);
        core::array::from_fn(|_| {
            let c = _mm512_shuffle_epi8(self.rev_ctr, rev);
            self.rev_ctr = _mm512_add_epi32(self.rev_ctr, four);
            c
        })
    }
}

/// `E_K(J0)` for `J0 = IV ‖ 1` (lane 0).
#[target_feature(enable = "avx512f,avx512bw,avx512vl,vaes,aes,sse2,ssse3")]
#[inline]
fn mask_j0<const NR: usize>(k: &[__m512i; 15], iv: &[u8; 12], rev: __m512i) -> __m128i {
    let j0 = Ctr::new(iv, 1).next::<1>(rev);
    _mm512_castsi512_si128(aes_x::<NR, 1>(k, j0)[0])
}

// ---------------------------------------------------------------------------------------------
// Seal, open, GMAC, CTR.
// ---------------------------------------------------------------------------------------------

/// Whether the data pass hashes the output (seal) or the input (open).
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Dir {
    Seal,
    Open,
}

/// The last `rem < 256` bytes at `src`, as `N` registers (`N = ceil(rem / 64)`, 1..=4),
/// written to `dst`: CTR from `ctr`, ciphertext (output for seal, input for open) hashed with
/// the length block in one reduction, continuing from `y`. Returns the final GHASH
/// accumulator.
///
/// # Safety
/// `rem` bytes at `src` must be readable and `rem` bytes at `dst` writable, `src` and `dst`
/// equal or not overlapping, `rem ≤ 64·N`; the CPU must have the features of the attribute.
#[target_feature(
    enable = "avx512f,avx512bw,avx512vl,vaes,vpclmulqdq,aes,pclmulqdq,avx2,sse2,ssse3"
)]
#[inline]
#[allow(clippy::too_many_arguments)]
unsafe fn tail<const NR: usize, const N: usize>(
    k: &[__m512i; 15],
    hp: &[u128; NPOW + 4],
    dir: Dir,
    ctr: &mut Ctr,
    rev: __m512i,
    src: *const u8,
    dst: *mut u8,
    rem: usize,
    y: __m128i,
    lens: __m128i,
) -> __m128i {
    let ks = aes_x::<NR, N>(k, ctr.next::<N>(rev));
    // t tail blocks and the length block take H^(t+1)..H^1.
    let base = NPOW - 1 - rem.div_ceil(16);
    // SAFETY (whole block): per register `j`, `rem - 64j` (≤ 64 used) bytes from `src + 64j`
    // and `dst + 64j` are within the buffers by contract; masked accesses touch nothing else;
    // `pow4` indices: `base + 4j + 4 ≤ NPOW + 3` since `4j < ceil(rem/16)`.
    unsafe {
        let mut acc = mul(
            _mm512_zextsi128_si512(lens),
            pow4(hp, NPOW - 1), // H^1, then zeros
        );
        for (j, ks) in ks.iter().enumerate() {
            let len = rem - 64 * j;
            let input = load_part(src.add(64 * j), len);
            let out = _mm512_maskz_mov_epi8(bytemask(len), _mm512_xor_si512(input, *ks));
            store_part(dst.add(64 * j), len, out);
            let ct = if dir == Dir::Seal { out } else { input };
            let mut x = _mm512_shuffle_epi8(ct, rev);
            if j == 0 {
                x = _mm512_xor_si512(x, _mm512_zextsi128_si512(y));
            }
            mul_acc(&mut acc, x, pow4(hp, base + 4 * j));
        }
        reduce(acc)
    }
}

/// The stitched loop over whole runs of `4·N` blocks from `*off` while at least that many bytes
/// remain (`N` = 8 or 4 registers per iteration, one reduction per iteration with
/// `H^(4N)..H^1`). Seal hashes each run's ciphertext during the next run's AES rounds; open
/// hashes the run it decrypts. Advances `*off`; returns the GHASH accumulator.
///
/// # Safety
/// `n` bytes at `src` must be readable and `n` bytes at `dst` readable and writable, `src` and
/// `dst` equal or not overlapping, `*off ≤ n`, `4N ≤ NPOW`; the CPU must have the features of
/// the attribute.
#[target_feature(
    enable = "avx512f,avx512bw,avx512vl,vaes,vpclmulqdq,aes,pclmulqdq,avx2,sse2,ssse3"
)]
#[inline]
#[allow(clippy::too_many_arguments)]
unsafe fn bulk<const NR: usize, const N: usize>(
    k: &[__m512i; 15],
    hp: &[u128; NPOW + 4],
    dir: Dir,
    ctr: &mut Ctr,
    rev: __m512i,
    src: *const u8,
    dst: *mut u8,
    n: usize,
    off: &mut usize,
    mut y: __m128i,
) -> __m128i {
    let run = 64 * N;
    if n - *off < run {
        return y;
    }
    // SAFETY: `pow4` indices `NPOW - 4N + 4j ≤ NPOW - 4`; every load and store is of a whole
    // register inside `src[*off..*off + run]` or `dst[*off..*off + run]` with
    // `*off + run ≤ n`, or (seal, reading back the previous run's ciphertext) inside
    // `dst[*off - run..*off]`, which was written just before.
    unsafe {
        let hash = |y: __m128i, ct: &[__m512i; N]| {
            // The `y`-dependent product last (see `ghash_padded`).
            let mut acc = mul(
                _mm512_shuffle_epi8(ct[1], rev),
                pow4(hp, NPOW - run / 16 + 4),
            );
            for (j, c) in ct.iter().enumerate().skip(2) {
                let h = pow4(hp, NPOW - run / 16 + 4 * j);
                mul_acc(&mut acc, _mm512_shuffle_epi8(*c, rev), h);
            }
            let x = _mm512_xor_si512(_mm512_shuffle_epi8(ct[0], rev), _mm512_zextsi128_si512(y));
            mul_acc(&mut acc, x, pow4(hp, NPOW - run / 16));
            reduce(acc)
        };
        match dir {
            Dir::Seal => {
                let ks = aes_x::<NR, N>(k, ctr.next::<N>(rev));
                let (i, o) = (src.add(*off), dst.add(*off));
                for (j, ks) in ks.iter().enumerate() {
                    store64(o.add(64 * j), _mm512_xor_si512(load64(i.add(64 * j)), *ks));
                }
                *off += run;
                while n - *off >= run {
                    let ks = aes_x::<NR, N>(k, ctr.next::<N>(rev));
                    // The previous run's ciphertext is read back from the output (just stored,
                    // forwarded from the store buffer) instead of being kept in N registers
                    // across the AES rounds: the round keys, the counters and the GHASH
                    // accumulators then fit the 32 vector registers without spills.
                    let prev = dst.add(*off - run);
                    let ct: [__m512i; N] = core::array::from_fn(|j| load64(prev.add(64 * j)));
                    y = hash(y, &ct);
                    let (i, o) = (src.add(*off), dst.add(*off));
                    for (j, ks) in ks.iter().enumerate() {
                        store64(o.add(64 * j), _mm512_xor_si512(load64(i.add(64 * j)), *ks));
                    }
                    *off += run;
                }
                let prev = dst.add(*off - run);
                let ct: [__m512i; N] = core::array::from_fn(|j| load64(prev.add(64 * j)));
                y = hash(y, &ct);
            }
            Dir::Open => {
                while n - *off >= run {
                    let i = src.add(*off);
                    let ct: [__m512i; N] = core::array::from_fn(|j| load64(i.add(64 * j)));
                    let ks = aes_x::<NR, N>(k, ctr.next::<N>(rev));
                    y = hash(y, &ct);
                    let o = dst.add(*off);
                    for (j, (c, ks)) in ct.iter().zip(ks.iter()).enumerate() {
                        store64(o.add(64 * j), _mm512_xor_si512(*c, *ks));
                    }
                    *off += run;
                }
            }
        }
    }
    y
}

/// GCM seal or open of the `n` bytes at `src` into `dst` (see the module documentation):
/// returns the full tag. The caller of open compares the tag and wipes `dst` on a mismatch.
///
/// # Safety
/// `n` bytes at `src` must be readable and `n` bytes at `dst` readable and writable, `src`
/// and `dst` equal (in place) or not overlapping; the CPU must have the features of the
/// attribute.
#[target_feature(
    enable = "avx512f,avx512bw,avx512vl,vaes,vpclmulqdq,aes,pclmulqdq,avx2,sse2,ssse3"
)]
#[allow(clippy::too_many_arguments)]
unsafe fn gcm<const NR: usize>(
    rk: &RoundKeys,
    hp: &HPowers,
    dir: Dir,
    iv: &[u8; 12],
    aad: &[&[u8]],
    src: *const u8,
    dst: *mut u8,
    n: usize,
) -> [u8; 16] {
    let k = broadcast_keys(rk);
    let hp = &hp.pow;
    let rev = rev512();
    let mask = mask_j0::<NR>(&k, iv, rev);
    // SAFETY: features as this function's.
    let (mut y, aad_len) = unsafe { ghash_pieces(hp, _mm_setzero_si128(), aad.iter().copied()) };
    let mut ctr = Ctr::new(iv, 2);
    let mut off = 0usize;
    // SAFETY (the data pass): every access is at `src + off + 64j` or `dst + off + 64j` with
    // `off + 64(j+1) ≤ n` (whole registers, `bulk`) or a masked access of the `n - off`
    // remaining bytes (`tail`); the buffers are as this function's contract says.
    unsafe {
        // Seal runs 32 blocks per iteration first (measured faster); open keeps to 16 (with
        // 32 its loop spilled more registers and measured slower).
        if dir == Dir::Seal {
            y = bulk::<NR, 8>(&k, hp, dir, &mut ctr, rev, src, dst, n, &mut off, y);
        }
        y = bulk::<NR, 4>(&k, hp, dir, &mut ctr, rev, src, dst, n, &mut off, y);
        let rem = n - off;
        let lens = len_block(aad_len, n as u64);
        let (i, o) = (src.add(off), dst.add(off));
        y = match rem.div_ceil(64) {
            0 => reduce(mul(
                _mm512_zextsi128_si512(_mm_xor_si128(y, lens)),
                pow4(hp, NPOW - 1),
            )),
            1 => tail::<NR, 1>(&k, hp, dir, &mut ctr, rev, i, o, rem, y, lens),
            2 => tail::<NR, 2>(&k, hp, dir, &mut ctr, rev, i, o, rem, y, lens),
            3 => tail::<NR, 3>(&k, hp, dir, &mut ctr, rev, i, o, rem, y, lens),
            _ => tail::<NR, 4>(&k, hp, dir, &mut ctr, rev, i, o, rem, y, lens),
        };
    }
    tag_bytes(y, mask)
}

/// [`gcm`] from `src` into `dst` for the AES key size of `rk`: for [`Dir::Seal`] GCM-AE (the
/// ciphertext in `dst`), for [`Dir::Open`] the GCM-AD pass (the plaintext in `dst`; the caller
/// compares the returned tag and wipes `dst` on a mismatch before releasing anything). Returns
/// the full tag; `None` (nothing written) when `dst` is not exactly as long as `src`.
pub(crate) fn gcm_to(
    rk: &RoundKeys,
    hp: &HPowers,
    dir: Dir,
    iv: &[u8; 12],
    aad: &[&[u8]],
    src: &[u8],
    dst: &mut [u8],
) -> Option<[u8; 16]> {
    if src.len() != dst.len() {
        return None;
    }
    let (i, o, n) = (src.as_ptr(), dst.as_mut_ptr(), src.len());
    // SAFETY: a `RoundKeys` exists only where `available()` found every feature; `n` bytes
    // are readable at `src` and writable at `dst`, and a shared and a unique borrow never
    // overlap.
    Some(unsafe {
        if rk.s.is_aes256() {
            gcm::<14>(rk, hp, dir, iv, aad, i, o, n)
        } else {
            gcm::<10>(rk, hp, dir, iv, aad, i, o, n)
        }
    })
}

/// [`gcm`] in place over `buf`.
fn gcm_in_place(
    rk: &RoundKeys,
    hp: &HPowers,
    dir: Dir,
    iv: &[u8; 12],
    aad: &[&[u8]],
    buf: &mut [u8],
) -> [u8; 16] {
    let (p, n) = (buf.as_mut_ptr(), buf.len());
    // SAFETY: as in `gcm_to`, with `src` and `dst` the same `n` bytes (in place).
    unsafe {
        if rk.s.is_aes256() {
            gcm::<14>(rk, hp, dir, iv, aad, p, p, n)
        } else {
            gcm::<10>(rk, hp, dir, iv, aad, p, p, n)
        }
    }
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
    gcm_in_place(rk, hp, Dir::Seal, iv, aad, buf)
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
    gcm_in_place(rk, hp, Dir::Open, iv, aad, buf)
}

/// GMAC body: `hash` runs GHASH over the message from a zero accumulator and returns the
/// accumulator and the message length; this adds the length block and masks with `E_K(J0)`.
///
/// # Safety
/// The CPU must have the features of the attribute; `hash` must be safe to call on it.
#[target_feature(
    enable = "avx512f,avx512bw,avx512vl,vaes,vpclmulqdq,aes,pclmulqdq,avx2,sse2,ssse3"
)]
#[inline]
unsafe fn gmac_over<const NR: usize>(
    rk: &RoundKeys,
    hp: &HPowers,
    iv: &[u8; 12],
    hash: impl FnOnce(&[u128; NPOW + 4]) -> (__m128i, u64),
) -> [u8; 16] {
    let k = broadcast_keys(rk);
    let hp = &hp.pow;
    let rev = rev512();
    let mask = mask_j0::<NR>(&k, iv, rev);
    let (y, len) = hash(hp);
    // SAFETY: features as this function's; `pow4(NPOW - 1)` reads H^1 and padding.
    unsafe {
        let x = _mm_xor_si128(y, len_block(len, 0));
        let y = reduce(mul(_mm512_zextsi128_si512(x), pow4(hp, NPOW - 1)));
        tag_bytes(y, mask)
    }
}

/// GMAC of the concatenation of `pieces` for the key size `NR`.
///
/// # Safety
/// The CPU must have the features of [`gmac_over`].
unsafe fn gmac_nr<'a, const NR: usize>(
    rk: &RoundKeys,
    hp: &HPowers,
    iv: &[u8; 12],
    pieces: impl Iterator<Item = &'a [u8]>,
) -> [u8; 16] {
    let hash = |hp: &[u128; NPOW + 4]| {
        // SAFETY: called by `gmac_over` only, on a CPU with its features (`ghash_pieces`' too).
        unsafe { ghash_pieces(hp, _mm_setzero_si128(), pieces) }
    };
    // SAFETY: the caller guarantees the CPU features of `gmac_over`.
    unsafe { gmac_over::<NR>(rk, hp, iv, hash) }
}

/// [`gmac_nr`] of `aad ‖ src` that also copies `src` into `dst` in the same pass.
///
/// # Safety
/// As [`gmac_nr`]; `dst` has `src.len()` writable bytes not overlapping `src`, and the AAD
/// pieces add up to whole blocks (the caller checks both).
unsafe fn gmac_copy_nr<const NR: usize>(
    rk: &RoundKeys,
    hp: &HPowers,
    iv: &[u8; 12],
    aad: &[&[u8]],
    src: &[u8],
    dst: *mut u8,
) -> [u8; 16] {
    let hash = |hp: &[u128; NPOW + 4]| {
        // SAFETY: called by `gmac_over` only, on a CPU with its features (those of the GHASH
        // functions too); `dst` as this function's; the AAD ends on a block boundary, so `src`
        // starts one and its padding is GHASH's own.
        unsafe {
            let (y, aad_len) = ghash_pieces(hp, _mm_setzero_si128(), aad.iter().copied());
            let y = ghash_padded_copy(hp, y, src, dst);
            (y, aad_len.wrapping_add(src.len() as u64))
        }
    };
    // SAFETY: the caller guarantees the CPU features of `gmac_over`.
    unsafe { gmac_over::<NR>(rk, hp, iv, hash) }
}

/// GMAC of `aad ‖ src` (the full tag), copying `src` into `dst` in the same pass over it.
/// `None` (nothing written) when `dst` is not exactly as long as `src`, or when the AAD
/// pieces do not add up to whole 16-byte blocks (`src` would not start a block of GHASH).
pub(crate) fn gmac_to(
    rk: &RoundKeys,
    hp: &HPowers,
    iv: &[u8; 12],
    aad: &[&[u8]],
    src: &[u8],
    dst: &mut [u8],
) -> Option<[u8; 16]> {
    let aad_len: usize = aad.iter().map(|a| a.len()).sum();
    if src.len() != dst.len() || !aad_len.is_multiple_of(16) {
        return None;
    }
    let o = dst.as_mut_ptr();
    // SAFETY: a `RoundKeys` exists only where `available()` found every feature; `dst` has
    // `src.len()` writable bytes and, a unique borrow, does not overlap `src`; the AAD is
    // whole blocks (checked above).
    Some(unsafe {
        if rk.s.is_aes256() {
            gmac_copy_nr::<14>(rk, hp, iv, aad, src, o)
        } else {
            gmac_copy_nr::<10>(rk, hp, iv, aad, src, o)
        }
    })
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

/// What [`ctr_fold`] leaves for the caller to finish the two CRCs: for each, a 16-byte value
/// standing for the first `used` bytes (see [`super::crc::Folder::fold`]), and the input bytes
/// `buf[used..]` as they were before the keystream (0-15 bytes, in `tail_in[..len - used]`).
/// The output bytes after `used` are in the buffer.
pub(crate) struct CtrFold {
    pub(crate) input: [u8; 16],
    pub(crate) output: [u8; 16],
    pub(crate) used: usize,
    pub(crate) tail_in: [u8; 16],
}

/// One 64-byte block: keystream XORed in place, the input folded into `za`, the output into
/// `zb` (`sa`, `sb`: the CRC registers over the first block, zero afterwards).
///
/// # Safety
/// 64 bytes at `q` must be readable and writable; the CPU must have the features of the
/// attribute.
#[target_feature(enable = "avx512f,vpclmulqdq")]
#[inline]
#[allow(clippy::too_many_arguments)]
unsafe fn xor_fold64(
    q: *mut u8,
    ks: __m512i,
    k512: __m512i,
    za: &mut __m512i,
    zb: &mut __m512i,
    sa: &mut __m512i,
    sb: &mut __m512i,
) {
    // SAFETY: by contract.
    let x = unsafe { load64(q) };
    let y = _mm512_xor_si512(x, ks);
    // SAFETY: by contract.
    unsafe { store64(q, y) };
    *za = super::crc::fold512(*za, k512, _mm512_xor_si512(x, *sa));
    *zb = super::crc::fold512(*zb, k512, _mm512_xor_si512(y, *sb));
    *sa = _mm512_setzero_si512();
    *sb = _mm512_setzero_si512();
}

/// The CTR body, 32 blocks per iteration, then 16, then 4; with `FOLD`, the CRC folding of
/// input and output stitched in (see [`ctr_fold`]), without it plain CTR (see [`ctr`]; `c` and
/// the registers unused, the result is `used = buf.len()` and zeros).
///
/// # Safety
/// With `FOLD`, `buf.len() >= 64`; the CPU must have the features of the attribute.
#[target_feature(
    enable = "avx512f,avx512bw,avx512vl,vaes,aes,avx2,sse2,ssse3,vpclmulqdq,pclmulqdq"
)]
unsafe fn ctr_nr<const NR: usize, const FOLD: bool>(
    rk: &RoundKeys,
    iv: &[u8; 12],
    buf: &mut [u8],
    c: &super::crc::Consts,
    (reg_in, reg_out): (u32, u32),
) -> CtrFold {
    use super::crc::{bytes, collapse, fold128, lanes, load16, seed, wide};
    let k = broadcast_keys(rk);
    let rev = rev512();
    let mut ctr = Ctr::new(iv, 2);
    let k512 = wide(c.k512);
    let (mut za, mut zb) = (_mm512_setzero_si512(), _mm512_setzero_si512());
    let (mut sa, mut sb) = (seed(reg_in), seed(reg_out));
    let n = buf.len();
    let p = buf.as_mut_ptr();
    let mut off = 0;
    // SAFETY: whole-register accesses stay below `n`; the tail is read and written with
    // masked accesses of the remaining bytes only (with `FOLD`, through a stack copy for the
    // folding).
    unsafe {
        // One 64-byte block at `q`: the keystream XORed in; with `FOLD` both CRCs folded.
        let mut block = |q: *mut u8, ks: __m512i| {
            if FOLD {
                xor_fold64(q, ks, k512, &mut za, &mut zb, &mut sa, &mut sb);
            } else {
                store64(q, _mm512_xor_si512(load64(q), ks));
            }
        };
        while n - off >= 512 {
            let ks = aes_x::<NR, 8>(&k, ctr.next::<8>(rev));
            let q = p.add(off);
            for (j, ks) in ks.iter().enumerate() {
                block(q.add(64 * j), *ks);
            }
            off += 512;
        }
        while n - off >= 256 {
            let ks = aes_x::<NR, 4>(&k, ctr.next::<4>(rev));
            let q = p.add(off);
            for (j, ks) in ks.iter().enumerate() {
                block(q.add(64 * j), *ks);
            }
            off += 256;
        }
        while n - off >= 64 {
            let [ks] = aes_x::<NR, 1>(&k, ctr.next::<1>(rev));
            block(p.add(off), ks);
            off += 64;
        }
        if !FOLD {
            let rem = n - off;
            if rem > 0 {
                let q = p.add(off);
                let [ks] = aes_x::<NR, 1>(&k, ctr.next::<1>(rev));
                store_part(q, rem, _mm512_xor_si512(load_part(q, rem), ks));
            }
            return CtrFold {
                input: [0; 16],
                output: [0; 16],
                used: n,
                tail_in: [0; 16],
            };
        }
        // `n >= 64`: at least one block was folded, so the seeds are in.
        let lk = lanes(c);
        let (mut va, mut vb) = (collapse(za, lk), collapse(zb, lk));
        let k128 = _mm_set_epi64x(c.k128[1] as i64, c.k128[0] as i64);
        let rem = n - off;
        let mut tail_in = [0u8; 16];
        if rem > 0 {
            let q = p.add(off);
            let [ks] = aes_x::<NR, 1>(&k, ctr.next::<1>(rev));
            let x = load_part(q, rem);
            let y = _mm512_xor_si512(x, ks);
            store_part(q, rem, y);
            let (mut xs, mut ys) = ([0u8; 64], [0u8; 64]);
            store64(xs.as_mut_ptr(), x);
            store64(ys.as_mut_ptr(), y);
            let whole = rem / 16;
            for i in 0..whole {
                va = fold128(va, k128, load16(xs.as_ptr().add(16 * i)));
                vb = fold128(vb, k128, load16(ys.as_ptr().add(16 * i)));
            }
            let used = 16 * whole;
            tail_in[..rem - used].copy_from_slice(&xs[used..rem]);
            off += used;
            // Wipe the stack copies of the packet's bytes.
            xs.zeroize();
            ys.zeroize();
        }
        CtrFold {
            input: bytes(va),
            output: bytes(vb),
            used: off,
            tail_in,
        }
    }
}

/// XORs the CTR keystream from counter block `IV ‖ 2` into `buf` (at least 64 bytes, `None`
/// otherwise) and, in the same pass, folds the reflected CRC of `c` over the input (register
/// `regs.0` before it) and over the output (register `regs.1`): each load feeds the keystream
/// XOR and the input's fold, each result the output's fold and the store.
pub(crate) fn ctr_fold(
    rk: &RoundKeys,
    iv: &[u8; 12],
    buf: &mut [u8],
    c: &super::crc::Consts,
    regs: (u32, u32),
) -> Option<CtrFold> {
    if buf.len() < 64 {
        return None;
    }
    // SAFETY: a `RoundKeys` exists only after `vaes512_cpuid` found every feature of
    // `ctr_fold_nr` (AVX-512F/BW/VL, VAES, AES, VPCLMULQDQ, PCLMULQDQ, AVX2, SSSE3); `buf` has at
    // least 64 bytes.
    Some(unsafe {
        if rk.s.is_aes256() {
            ctr_nr::<14, true>(rk, iv, buf, c, regs)
        } else {
            ctr_nr::<10, true>(rk, iv, buf, c, regs)
        }
    })
}

/// XORs the CTR keystream from counter block `IV ‖ 2` (`inc32`) into `buf`.
pub(crate) fn ctr(rk: &RoundKeys, iv: &[u8; 12], buf: &mut [u8]) {
    // Unused without folding; any constants do.
    let (c, _) = crate::crc::fold::mcrf4xx();
    // SAFETY: as in `ctr_fold` (the same features); without `FOLD` any length is fine.
    unsafe {
        if rk.s.is_aes256() {
            ctr_nr::<14, false>(rk, iv, buf, c, (0, 0))
        } else {
            ctr_nr::<10, false>(rk, iv, buf, c, (0, 0))
        };
    }
}
