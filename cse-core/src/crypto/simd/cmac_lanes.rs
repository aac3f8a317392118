//! Many independent AES-CBC-MAC chains side by side, for the batched CMAC of
//! [`CmacKey::mac_batch`](crate::crypto::CmacKey::mac_batch): up to [`LANES`] chains advance
//! together, so that the AES pipeline is full although every single chain is serial.
//!
//! # Design
//!
//! One CBC chain waits for the whole latency of the block cipher per block (ten `AESENC` of
//! three or four cycles each for AES-128), while the CPU can start an `AESENC` every cycle
//! (`VAESENC` on 512-bit registers: four blocks per instruction). With sixteen chains in four
//! registers the four instructions of one round cover the latency of the round, so the chains
//! run at the throughput of the AES unit instead of its latency.
//!
//! - **Lanes**: lane `j` (`0..16`) lives in 128-bit lane `j % 4` of register `j / 4`. Only the
//!   registers holding a used lane are processed (`R` = 1..=4, a const parameter), so a batch of
//!   one to four messages costs one register per round.
//! - **Message blocks**: each step loads block `s` of every lane's run (one 16-byte load per
//!   lane; three inserts build a register) and XORs it and round key 0 into the chaining value
//!   with one three-way XOR (`VPTERNLOGQ`). Lanes beyond the used ones read lane 0's run (their
//!   results are ignored by the caller), so no extra buffer is needed.
//! - **Paths**: VAES on 512-bit registers (AVX-512F/VL + VAES), else AES-NI on 128-bit
//!   registers (the same lane layout, four `AESENC` per register of the VAES path). CPUs without
//!   AES-NI, and other architectures, keep to the `aes` crate backend in the caller.
//!
//! The padding, the subkeys `K1`/`K2` and the choice of message blocks (pieces, final block)
//! stay in the caller ([`super::super::cmac`]); this module only runs `x ← E_K(x ⊕ m)`.
//!
//! # Constant time
//!
//! AES rounds in hardware, loads and XORs: no table, branch or address depends on the key or
//! the data, only on the public lengths and lane count.
//!
//! # Safety
//!
//! Every `unsafe fn` and `#[target_feature]` function here requires the CPU features listed in
//! its `target_feature` attribute. [`CbcLanes`] is constructible only through
//! [`CbcLanes::new`], which checks them (cached `cpufeatures` detection) for the path it picks,
//! so holding one is the proof that the functions of its path may run. The safe entry points
//! check the slice lengths before any raw pointer is read.

use core::arch::x86_64::{
    __m128i, __m512i, _mm_aesenc_si128, _mm_aesenclast_si128, _mm_loadu_si128, _mm_storeu_si128,
    _mm_xor_si128, _mm512_aesenc_epi128, _mm512_aesenclast_epi128, _mm512_broadcast_i32x4,
    _mm512_castsi128_si512, _mm512_inserti32x4, _mm512_loadu_si512, _mm512_storeu_si512,
    _mm512_ternarylogic_epi64,
};

use zeroize::{Zeroize, ZeroizeOnDrop};

use super::vaes::Schedule;

/// Chains in flight at most (four 512-bit registers of four blocks).
pub(crate) const LANES: usize = 16;

cpufeatures::new!(aesni_cpuid, "aes", "sse2");
cpufeatures::new!(vaes512_cpuid, "avx512f", "avx512vl", "vaes", "aes", "sse2");

/// Which instructions a [`CbcLanes`] runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LanePath {
    /// AES-NI on 128-bit registers.
    AesNi,
    /// VAES on 512-bit registers (AVX-512F/VL).
    Vaes512,
}

impl LanePath {
    /// Whether this CPU has the features of the path (detected once, then cached).
    pub(crate) fn available(self) -> bool {
        match self {
            LanePath::AesNi => aesni_cpuid::get(),
            LanePath::Vaes512 => vaes512_cpuid::get(),
        }
    }

    /// The fastest path this CPU runs, if any.
    pub(crate) fn best() -> Option<LanePath> {
        [LanePath::Vaes512, LanePath::AesNi]
            .into_iter()
            .find(|p| p.available())
    }
}

/// An AES-128 or AES-256 key schedule for the multi-lane CBC code, bound to one [`LanePath`].
///
/// Only constructible through [`CbcLanes::new`], which checks the CPU features of the path:
/// holding a value is the proof that the `target_feature` functions of that path may run.
/// Zeroized on drop; not `Clone`.
#[derive(Zeroize, ZeroizeOnDrop)]
pub(crate) struct CbcLanes {
    /// The round keys (the AES-NI key expansion shared with the stitched engines).
    s: Schedule,
    /// `true`: [`LanePath::Vaes512`], `false`: [`LanePath::AesNi`].
    wide: bool,
}

/// A zero block: the message of [`CbcLanes::encrypt`] (`x ← E_K(x ⊕ 0)`).
static ZERO: [u8; 16] = [0; 16];

impl CbcLanes {
    /// Expands a 16-byte key (or a 32-byte key with the feature `aes256`) for `path`; `None`
    /// for other lengths or when the CPU lacks a feature of the path.
    pub(crate) fn new(key: &[u8], path: LanePath) -> Option<CbcLanes> {
        if !path.available() || (key.len() == 32 && !cfg!(feature = "aes256")) {
            return None;
        }
        // SAFETY: both paths include AES-NI and SSE2, confirmed by `available()`.
        let s = unsafe { Schedule::expand(key) }?;
        Some(CbcLanes {
            s,
            wide: path == LanePath::Vaes512,
        })
    }

    /// The path this schedule runs on.
    pub(crate) fn path(&self) -> LanePath {
        if self.wide {
            LanePath::Vaes512
        } else {
            LanePath::AesNi
        }
    }

    /// `states[j] ← E_K(states[j])` for the lanes `j < n` (`n` is clamped to [`LANES`]).
    /// Lanes `n..` up to the next multiple of four are overwritten with unspecified values.
    pub(crate) fn encrypt(&self, states: &mut [[u8; 16]; LANES], n: usize) {
        self.cbc(states, &[&ZERO[..]; LANES], n, 1);
    }

    /// `steps` CBC steps on the lanes `j < n` (`n` is clamped to [`LANES`]): for `s` in
    /// `0..steps`, `states[j] ← E_K(states[j] ⊕ runs[j][16s..16s + 16])`. Lanes `n..` up to
    /// the next multiple of four are overwritten with unspecified values (they run lane 0's
    /// blocks).
    ///
    /// Does nothing unless every `runs[j]` with `j < n` holds at least `16 · steps` bytes.
    pub(crate) fn cbc(
        &self,
        states: &mut [[u8; 16]; LANES],
        runs: &[&[u8]; LANES],
        n: usize,
        steps: usize,
    ) {
        let n = n.min(LANES);
        let Some(need) = steps.checked_mul(16) else {
            return;
        };
        if n == 0 || steps == 0 || runs.iter().take(n).any(|r| r.len() < need) {
            return;
        }
        // Unused lanes of the last register read lane 0's run (valid for `need` bytes).
        let mut ptrs = [runs[0].as_ptr(); LANES];
        for (p, r) in ptrs.iter_mut().zip(runs).take(n) {
            *p = r.as_ptr();
        }
        let regs = n.div_ceil(4);
        macro_rules! go {
            ($f:ident, $nr:literal) => {
                // SAFETY: every pointer in `ptrs` starts a run of at least `16 · steps`
                // readable bytes (checked above: lanes `< n` their own run, the rest lane 0's);
                // holding `self` proves the CPU features of the path (`wide` is set only for
                // `LanePath::Vaes512`, after its detection).
                unsafe {
                    match regs {
                        1 => $f::<$nr, 1>(&self.s.rk, states, &ptrs, steps),
                        2 => $f::<$nr, 2>(&self.s.rk, states, &ptrs, steps),
                        3 => $f::<$nr, 3>(&self.s.rk, states, &ptrs, steps),
                        _ => $f::<$nr, 4>(&self.s.rk, states, &ptrs, steps),
                    }
                }
            };
        }
        match (self.wide, self.s.rounds) {
            (true, 10) => go!(cbc_vaes512, 10),
            (false, 10) => go!(cbc_aesni, 10),
            #[cfg(feature = "aes256")]
            (true, _) => go!(cbc_vaes512, 14),
            #[cfg(feature = "aes256")]
            (false, _) => go!(cbc_aesni, 14),
            #[cfg(not(feature = "aes256"))]
            _ => {}
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The chains.
// ---------------------------------------------------------------------------------------------

/// Loads 16 bytes at `p`.
///
/// # Safety
/// 16 bytes at `p` must be readable (no alignment needed; SSE2 is the x86_64 baseline).
#[inline(always)]
unsafe fn load16(p: *const u8) -> __m128i {
    // SAFETY: by contract.
    unsafe { _mm_loadu_si128(p.cast()) }
}

/// `R` registers (lanes `0..4R`) of `steps` CBC steps on VAES with 512-bit registers.
///
/// # Safety
/// The CPU must have the features of the attribute; `ptrs[j]` for `j < 4R` must point to at
/// least `16 · steps` readable bytes.
#[target_feature(enable = "avx512f,avx512vl,vaes,aes,sse2")]
unsafe fn cbc_vaes512<const NR: usize, const R: usize>(
    rk: &[u128; 15],
    states: &mut [[u8; 16]; LANES],
    ptrs: &[*const u8; LANES],
    steps: usize,
) {
    let k: [__m512i; 15] = core::array::from_fn(|i| {
        // SAFETY: `rk[i]` is 16 readable bytes.
        _mm512_broadcast_i32x4(unsafe { load16((&raw const rk[i]).cast()) })
    });
    let quads = states.as_chunks_mut::<4>().0;
    // SAFETY: quad `r` (`r < R ≤ 4`) is 64 readable bytes.
    let mut x: [__m512i; R] =
        core::array::from_fn(|r| unsafe { _mm512_loadu_si512(quads[r].as_ptr().cast()) });
    for s in 0..steps {
        let off = 16 * s;
        for (r, v) in x.iter_mut().enumerate() {
            // SAFETY: `off + 16 ≤ 16 · steps` bytes are readable at every lane pointer.
            let m = unsafe {
                let p = &ptrs[4 * r..4 * r + 4];
                let m = _mm512_castsi128_si512(load16(p[0].add(off)));
                let m = _mm512_inserti32x4::<1>(m, load16(p[1].add(off)));
                let m = _mm512_inserti32x4::<2>(m, load16(p[2].add(off)));
                _mm512_inserti32x4::<3>(m, load16(p[3].add(off)))
            };
            // x ⊕ m ⊕ k0 in one instruction.
            *v = _mm512_ternarylogic_epi64::<0x96>(*v, m, k[0]);
        }
        for key in &k[1..NR] {
            for v in x.iter_mut() {
                *v = _mm512_aesenc_epi128(*v, *key);
            }
        }
        for v in x.iter_mut() {
            *v = _mm512_aesenclast_epi128(*v, k[NR]);
        }
    }
    for (q, v) in quads.iter_mut().zip(x) {
        // SAFETY: a unique reference to 64 writable bytes.
        unsafe { _mm512_storeu_si512(q.as_mut_ptr().cast(), v) };
    }
}

/// `R` groups of four lanes (lanes `0..4R`) of `steps` CBC steps on AES-NI.
///
/// # Safety
/// The CPU must have AES-NI and SSE2; `ptrs[j]` for `j < 4R` must point to at least
/// `16 · steps` readable bytes.
#[target_feature(enable = "aes,sse2")]
unsafe fn cbc_aesni<const NR: usize, const R: usize>(
    rk: &[u128; 15],
    states: &mut [[u8; 16]; LANES],
    ptrs: &[*const u8; LANES],
    steps: usize,
) {
    // SAFETY: `rk[i]` is 16 readable bytes.
    let k: [__m128i; 15] = core::array::from_fn(|i| unsafe { load16((&raw const rk[i]).cast()) });
    let quads = states.as_chunks_mut::<4>().0;
    // SAFETY: 16 readable bytes per lane of quad `r < R ≤ 4`.
    let mut x: [[__m128i; 4]; R] =
        core::array::from_fn(|r| core::array::from_fn(|l| unsafe { load16(quads[r][l].as_ptr()) }));
    for s in 0..steps {
        let off = 16 * s;
        for (r, quad) in x.iter_mut().enumerate() {
            for (l, v) in quad.iter_mut().enumerate() {
                // SAFETY: `off + 16 ≤ 16 · steps` bytes are readable at every lane pointer.
                let m = unsafe { load16(ptrs[4 * r + l].add(off)) };
                *v = _mm_xor_si128(_mm_xor_si128(*v, m), k[0]);
            }
        }
        for key in &k[1..NR] {
            for v in x.iter_mut().flatten() {
                *v = _mm_aesenc_si128(*v, *key);
            }
        }
        for v in x.iter_mut().flatten() {
            *v = _mm_aesenclast_si128(*v, k[NR]);
        }
    }
    for (q, quad) in quads.iter_mut().zip(x) {
        for (st, v) in q.iter_mut().zip(quad) {
            // SAFETY: a unique reference to 16 writable bytes.
            unsafe { _mm_storeu_si128(st.as_mut_ptr().cast(), v) };
        }
    }
}

#[cfg(test)]
mod tests {
    use aes::cipher::{BlockCipherEncrypt, KeyInit};
    use proptest::prelude::*;

    use super::{CbcLanes, LANES, LanePath};

    /// The chains with the `aes` crate, one block at a time.
    fn reference(key: &[u8], states: &mut [[u8; 16]; LANES], runs: &[&[u8]], steps: usize) {
        let enc = |b: &mut [u8; 16]| {
            let mut blk = aes::Block::from(*b);
            match key.len() {
                16 => aes::Aes128::new_from_slice(key)
                    .unwrap()
                    .encrypt_block(&mut blk),
                _ => aes::Aes256::new_from_slice(key)
                    .unwrap()
                    .encrypt_block(&mut blk),
            }
            *b = blk.into();
        };
        for (st, run) in states.iter_mut().zip(runs) {
            for s in 0..steps {
                for (x, m) in st.iter_mut().zip(&run[16 * s..16 * s + 16]) {
                    *x ^= m;
                }
                enc(st);
            }
        }
    }

    fn paths() -> impl Iterator<Item = LanePath> {
        [LanePath::AesNi, LanePath::Vaes512]
            .into_iter()
            .filter(|p| p.available())
    }

    #[test]
    fn detection_agrees_with_std() {
        extern crate std;
        let aesni = std::is_x86_feature_detected!("aes") && std::is_x86_feature_detected!("sse2");
        assert_eq!(LanePath::AesNi.available(), aesni);
        let vaes = aesni
            && std::is_x86_feature_detected!("avx512f")
            && std::is_x86_feature_detected!("avx512vl")
            && std::is_x86_feature_detected!("vaes");
        assert_eq!(LanePath::Vaes512.available(), vaes);
        assert_eq!(
            LanePath::best(),
            if vaes {
                Some(LanePath::Vaes512)
            } else if aesni {
                Some(LanePath::AesNi)
            } else {
                None
            }
        );
    }

    #[test]
    fn fips197_appendix_c_single_blocks() {
        // FIPS 197 C.1 (AES-128) and C.3 (AES-256): plaintext 00112233..ff.
        let pt = hex_literal::hex!("00112233445566778899aabbccddeeff");
        let k128 = hex_literal::hex!("000102030405060708090a0b0c0d0e0f");
        let k256 =
            hex_literal::hex!("000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f");
        for path in paths() {
            for (key, ct) in [
                (
                    &k128[..],
                    hex_literal::hex!("69c4e0d86a7b0430d8cdb78070b4c55a"),
                ),
                (
                    &k256[..],
                    hex_literal::hex!("8ea2b7ca516745bfeafc49904b496089"),
                ),
            ] {
                let Some(lanes) = CbcLanes::new(key, path) else {
                    // Only 256-bit keys without the feature `aes256`.
                    assert!(key.len() == 32 && !cfg!(feature = "aes256"));
                    continue;
                };
                assert_eq!(lanes.path(), path);
                for n in 1..=LANES {
                    let mut st = [[0u8; 16]; LANES];
                    for s in st.iter_mut().take(n) {
                        *s = pt;
                    }
                    lanes.encrypt(&mut st, n);
                    for s in st.iter().take(n) {
                        assert_eq!(*s, ct, "{path:?} n {n}");
                    }
                }
            }
        }
    }

    #[test]
    fn refuses_bad_key_lengths_and_short_runs() {
        for path in paths() {
            assert!(CbcLanes::new(&[0; 15], path).is_none());
            assert!(CbcLanes::new(&[0; 24], path).is_none());
            let lanes = CbcLanes::new(&[1; 16], path).unwrap();
            let data = [7u8; 64];
            let mut runs = [&data[..]; LANES];
            runs[3] = &data[..47];
            let mut st = [[5u8; 16]; LANES];
            // Lane 3 holds fewer than 3 blocks: nothing changes.
            lanes.cbc(&mut st, &runs, 4, 3);
            assert_eq!(st, [[5u8; 16]; LANES]);
            // Two steps fit every lane.
            lanes.cbc(&mut st, &runs, 4, 2);
            assert_ne!(st[3], [5u8; 16]);
        }
    }

    proptest! {
        #[test]
        fn chains_match_aes_crate(
            key in prop_oneof![
                proptest::collection::vec(any::<u8>(), 16),
                proptest::collection::vec(any::<u8>(), 32),
            ],
            n in 1usize..=LANES,
            steps in 0usize..9,
            seed in any::<u64>(),
            init in any::<[u8; 16]>(),
        ) {
            let mut data = [0u8; LANES * 8 * 16 + 16];
            let mut s = seed | 1;
            for b in data.iter_mut() {
                s ^= s << 13;
                s ^= s >> 7;
                s ^= s << 17;
                *b = s as u8;
            }
            // Lane j reads from offset j (unaligned, overlapping runs).
            let mut runs = [&data[..]; LANES];
            for (j, r) in runs.iter_mut().enumerate() {
                *r = &data[j * 8 * 16 + j % 16..][..steps * 16];
            }
            let mut start = [[0u8; 16]; LANES];
            for (j, st) in start.iter_mut().enumerate() {
                *st = init;
                st[0] ^= j as u8;
            }
            let mut want = start;
            reference(&key, &mut want, &runs[..n], steps);
            for path in paths() {
                let Some(lanes) = CbcLanes::new(&key, path) else {
                    prop_assert!(key.len() == 32 && !cfg!(feature = "aes256"));
                    continue;
                };
                let mut got = start;
                lanes.cbc(&mut got, &runs, n, steps);
                prop_assert_eq!(&got[..n], &want[..n], "{:?}", path);
            }
        }
    }
}
