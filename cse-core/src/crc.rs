//! CRCs: the FuSa CRC-32 (variant from the Profile) and the CSI-2 payload CRC-16/MCRF4XX.
//!
//! One-shot functions ([`crc32`], [`crc16_mcrf4xx`]) and streaming digests ([`Crc32`],
//! [`Crc16Mcrf4xx`]) that accept a record in discontiguous pieces (header, payload, tag)
//! without copying them together:
//!
//! ```
//! use cse_core::crc::{crc32, Crc32, Crc32Variant};
//!
//! let mut d = Crc32::new(Crc32Variant::IsoHdlc);
//! d.update(b"1234");
//! d.update(b"56789");
//! assert_eq!(d.finalize(), crc32(Crc32Variant::IsoHdlc, b"123456789"));
//! assert_eq!(d.finalize(), 0xCBF4_3926);
//! ```
//!
//! Parameters (Rocksoft model, as in the CRC RevEng catalogue):
//!
//! ```text
//! name             width  poly        init        refin refout xorout      check("123456789")
//! CRC-32/ISO-HDLC  32     0x04C11DB7  0xFFFFFFFF  true  true   0xFFFFFFFF  0xCBF43926
//! CRC-32/AUTOSAR   32     0xF4ACFB13  0xFFFFFFFF  true  true   0xFFFFFFFF  0x1697D06A
//! CRC-32/ISCSI     32     0x1EDC6F41  0xFFFFFFFF  true  true   0xFFFFFFFF  0xE3069283
//! CRC-16/MCRF4XX   16     0x1021      0xFFFF      true  true   0x0000      0x6F91
//! ```
//!
//! # Backends
//!
//! The portable backend is the `crc` crate with slice-by-16 tables (16 KiB per CRC); it is
//! always built, it is what `no_std` builds run, and it is the reference of the differential
//! tests. With the `std` feature the digests run on accelerated crates with run-time CPU
//! detection: `crc32fast` for CRC-32/ISO-HDLC, `crc-fast` for AUTOSAR, ISCSI and MCRF4XX
//! (one-shot AUTOSAR and MCRF4XX inputs under 128 bytes stay on the tables, which win there).
//! On CSI-2 lines the accelerated crates run at 45-95 GiB/s against about 4.3 GiB/s for the
//! tables (numbers and machine in the crate README). `crc-fast` cannot be used without `std`:
//! with `default-features = false` its x86-64 code still imports `std`, and because it is also
//! built as a `staticlib` it needs a panic handler on bare-metal targets.
//!
//! On x86-64 CPUs with AVX-512F and VPCLMULQDQ (detected at run time, `std` or not) every CRC
//! here runs on the crate's own carry-less folding (`crypto::simd::crc`, the `fold` backend)
//! from 64 bytes on, ahead of the crates above (CRC-16 about twice as fast as `crc-fast`);
//! the folding leaves a 16-byte remainder that the portable tables finish. It also folds a CRC-32
//! and the CRC-16 over the same bytes in one pass ([`crc32_and_crc16`],
//! [`crc32_appended_crc16`]: an SEP packet's record CRC-32 and the CSI-2 CRC-16 around it). It
//! is differentially tested against the portable backend (boundary lengths, random lengths up
//! to 70 000 bytes) and fuzzed (`crc_diff`).
//!
//! The `small-crc` feature (for flash-starved targets) builds the portable backend on
//! byte-at-a-time tables instead: 3.5 KiB of tables in all instead of 56 KiB, at several times
//! lower throughput (one table lookup per byte instead of one per 16 bytes; the README's
//! "Firmware footprint" section has the figures). The `tiny-crc` feature goes further: no
//! tables at all (the CRCs are computed bit by bit, eight shift-and-xor steps per byte), for
//! images where 3.5 KiB of flash matter more than CRC throughput; it wins over `small-crc`.
//!
//! No function in this module panics.

/// The CRC-32 variant of the FuSa record CRC (not public; see `docs/profile.md`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Crc32Variant {
    /// CRC-32/ISO-HDLC (IEEE 802.3, zlib): poly 0x04C11DB7 reflected, init and xorout 0xFFFFFFFF.
    IsoHdlc,
    /// CRC-32/AUTOSAR (AUTOSAR E2E profile 4 "CRC-32P4"): poly 0xF4ACFB13 reflected.
    Autosar,
    /// CRC-32/ISCSI (Castagnoli, CRC-32C): poly 0x1EDC6F41 reflected.
    Iscsi,
}

/// The portable backend: the `crc` crate, slice-by-16 tables (16 KiB of tables per CRC), or
/// with the `small-crc` feature byte-at-a-time tables (1 KiB per CRC-32, 512 bytes for the
/// CRC-16), or with `tiny-crc` no tables (bit by bit).
///
/// Public (hidden) so the differential tests and benches can compare a fast backend with it.
#[doc(hidden)]
pub mod portable {
    use super::Crc32Variant;
    use crc::Crc;

    /// The table layout: slice-by-16 by default, slice-by-1 with `small-crc`, none (bit by
    /// bit) with `tiny-crc` (which wins over `small-crc`).
    #[cfg(not(any(feature = "small-crc", feature = "tiny-crc")))]
    type T = crc::Table<16>;
    #[cfg(all(feature = "small-crc", not(feature = "tiny-crc")))]
    type T = crc::Table<1>;
    #[cfg(feature = "tiny-crc")]
    type T = crc::NoTable;

    static ISO_HDLC: Crc<u32, T> = Crc::<u32, T>::new(&crc::CRC_32_ISO_HDLC);
    static AUTOSAR: Crc<u32, T> = Crc::<u32, T>::new(&crc::CRC_32_AUTOSAR);
    static ISCSI: Crc<u32, T> = Crc::<u32, T>::new(&crc::CRC_32_ISCSI);
    static MCRF4XX: Crc<u16, T> = Crc::<u16, T>::new(&crc::CRC_16_MCRF4XX);

    pub(super) fn engine32(variant: Crc32Variant) -> &'static Crc<u32, T> {
        match variant {
            Crc32Variant::IsoHdlc => &ISO_HDLC,
            Crc32Variant::Autosar => &AUTOSAR,
            Crc32Variant::Iscsi => &ISCSI,
        }
    }

    /// Streaming CRC-32 state of the portable backend.
    pub(super) type Digest32 = crc::Digest<'static, u32, T>;
    /// Streaming CRC-16 state of the portable backend.
    pub(super) type Digest16 = crc::Digest<'static, u16, T>;

    pub(super) fn digest32(variant: Crc32Variant) -> Digest32 {
        engine32(variant).digest()
    }

    pub(super) fn digest16() -> Digest16 {
        MCRF4XX.digest()
    }

    /// One-shot CRC-32 on the portable backend.
    pub fn crc32(variant: Crc32Variant, data: &[u8]) -> u32 {
        engine32(variant).checksum(data)
    }

    /// One-shot CRC-16/MCRF4XX on the portable backend.
    pub fn crc16_mcrf4xx(data: &[u8]) -> u16 {
        MCRF4XX.checksum(data)
    }

    /// The register (reflected) of a CRC-32 `variant` at the start of a message.
    // Only the carry-less folding backend (x86_64) works on registers.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    pub(super) fn init32(variant: Crc32Variant) -> u32 {
        engine32(variant).algorithm.init.reverse_bits()
    }

    /// The register of a CRC-32 `variant` after `pieces`, from register `reg`.
    // Only the carry-less folding backend (x86_64) works on registers.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    pub(super) fn raw32(variant: Crc32Variant, reg: u32, pieces: &[&[u8]]) -> u32 {
        let e = engine32(variant);
        let mut d = e.digest_with_initial(reg.reverse_bits());
        for p in pieces {
            d.update(p);
        }
        d.finalize() ^ e.algorithm.xorout
    }

    /// The CRC-32 `variant` value of the register `reg` at the end of a message.
    // Only the carry-less folding backend (x86_64) works on registers.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    pub(super) fn final32(variant: Crc32Variant, reg: u32) -> u32 {
        reg ^ engine32(variant).algorithm.xorout
    }

    /// The register of CRC-16/MCRF4XX at the start of a message.
    // Only the carry-less folding backend (x86_64) works on registers.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    pub(super) fn init16() -> u16 {
        MCRF4XX.algorithm.init.reverse_bits()
    }

    /// The register of CRC-16/MCRF4XX after `pieces`, from register `reg`.
    // Only the carry-less folding backend (x86_64) works on registers.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    pub(super) fn raw16(reg: u16, pieces: &[&[u8]]) -> u16 {
        let mut d = MCRF4XX.digest_with_initial(reg.reverse_bits());
        for p in pieces {
            d.update(p);
        }
        d.finalize() ^ MCRF4XX.algorithm.xorout
    }

    /// The CRC-16/MCRF4XX value of the register `reg` at the end of a message.
    // Only the carry-less folding backend (x86_64) works on registers.
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    pub(super) fn final16(reg: u16) -> u16 {
        reg ^ MCRF4XX.algorithm.xorout
    }
}

/// The carry-less folding backend (x86-64 with AVX-512F and VPCLMULQDQ, detected at run time,
/// also in `no_std` builds): `crypto::simd::crc` folds the whole message into 16 bytes (the
/// last 0-15 bytes with one more 128-bit fold, see `Folder::fold_rest`), and one 16-byte step
/// of the portable tables reduces them to the register. Public (hidden) for the differential tests and the
/// `crc_diff` fuzz target; every function returns `None` when the CPU lacks the features or
/// the input is shorter than [`fold::MIN_LEN`].
#[cfg(target_arch = "x86_64")]
#[doc(hidden)]
pub mod fold {
    use super::{Crc32Variant, portable};
    use crate::crypto::simd::crc::{Consts, Folder, Joint, Shift};

    /// Shortest input the folding backend takes.
    pub const MIN_LEN: usize = crate::crypto::simd::crc::MIN_LEN;

    static ISO_HDLC: Consts = Consts::new(0x04C1_1DB7, 32);
    static AUTOSAR: Consts = Consts::new(0xF4AC_FB13, 32);
    static ISCSI: Consts = Consts::new(0x1EDC_6F41, 32);
    static MCRF4XX: Consts = Consts::new(0x1021, 16);
    static ISO_HDLC_16: Joint = Joint::new(0x04C1_1DB7);
    static AUTOSAR_16: Joint = Joint::new(0xF4AC_FB13);
    static ISCSI_16: Joint = Joint::new(0x1EDC_6F41);
    static SHIFT_ISO_HDLC: Shift = Shift::new(0x04C1_1DB7, 32);
    static SHIFT_AUTOSAR: Shift = Shift::new(0xF4AC_FB13, 32);
    static SHIFT_ISCSI: Shift = Shift::new(0x1EDC_6F41, 32);
    static SHIFT_MCRF4XX: Shift = Shift::new(0x1021, 16);

    fn consts32(variant: Crc32Variant) -> &'static Consts {
        match variant {
            Crc32Variant::IsoHdlc => &ISO_HDLC,
            Crc32Variant::Autosar => &AUTOSAR,
            Crc32Variant::Iscsi => &ISCSI,
        }
    }

    /// The joint fold of `variant` with the CRC-16/MCRF4XX.
    fn joint(variant: Crc32Variant) -> &'static Joint {
        match variant {
            Crc32Variant::IsoHdlc => &ISO_HDLC_16,
            Crc32Variant::Autosar => &AUTOSAR_16,
            Crc32Variant::Iscsi => &ISCSI_16,
        }
    }

    fn shift32(variant: Crc32Variant) -> &'static Shift {
        match variant {
            Crc32Variant::IsoHdlc => &SHIFT_ISO_HDLC,
            Crc32Variant::Autosar => &SHIFT_AUTOSAR,
            Crc32Variant::Iscsi => &SHIFT_ISCSI,
        }
    }

    /// A run summed up: its registers from zero (one joint fold) and the factors that move a
    /// register over its length, with the proof the folding code runs.
    #[derive(Clone, Copy, Debug)]
    pub(super) struct Run {
        folder: Folder,
        variant: Crc32Variant,
        raw: (u32, u16),
        /// `x^(8n) mod P` of the CRC-32 and of the CRC-16.
        distance: (u32, u32),
    }

    impl Run {
        /// `None` when the backend does not run or `data` is shorter than [`MIN_LEN`].
        pub(super) fn new(variant: Crc32Variant, data: &[u8], n: u16) -> Option<Run> {
            let folder = Folder::get()?;
            let raw = update_both(variant, 0, 0, data)?;
            let distance = (
                folder.distance(shift32(variant), n),
                folder.distance(&SHIFT_MCRF4XX, n),
            );
            Some(Run {
                folder,
                variant,
                raw,
                distance,
            })
        }

        pub(super) fn variant(&self) -> Crc32Variant {
            self.variant
        }

        /// The CRC-32 register after the run from `reg`.
        pub(super) fn after32(&self, reg: u32) -> u32 {
            let s = shift32(self.variant);
            self.folder.shift(s, reg, self.distance.0) ^ self.raw.0
        }

        /// The CRC-16/MCRF4XX register after the run from `reg`.
        pub(super) fn after16(&self, reg: u16) -> u16 {
            let r = self
                .folder
                .shift(&SHIFT_MCRF4XX, u32::from(reg), self.distance.1);
            r as u16 ^ self.raw.1
        }
    }

    /// Whether this CPU runs the folding backend.
    pub fn available() -> bool {
        Folder::get().is_some()
    }

    /// The CRC-32 register after `data`, from register `reg`.
    pub(super) fn update32(variant: Crc32Variant, reg: u32, data: &[u8]) -> Option<u32> {
        let f = Folder::get()?;
        let c = consts32(variant);
        let (v, used) = f.fold(c, reg, data)?;
        let v = f.fold_rest(c, v, data.get(used..)?)?;
        Some(portable::raw32(variant, 0, &[&v]))
    }

    /// The CRC-16/MCRF4XX register after `data`, from register `reg`.
    pub(super) fn update16(reg: u16, data: &[u8]) -> Option<u16> {
        let f = Folder::get()?;
        let (v, used) = f.fold(&MCRF4XX, u32::from(reg), data)?;
        let v = f.fold_rest(&MCRF4XX, v, data.get(used..)?)?;
        Some(portable::raw16(0, &[&v]))
    }

    /// The CRC-32 and CRC-16/MCRF4XX registers after `data`, from `reg32`, `reg16`: one fold
    /// modulo the joint polynomial (`Joint`), or, for registers no joint seed serves, one fold
    /// per CRC.
    pub(super) fn update_both(
        variant: Crc32Variant,
        reg32: u32,
        reg16: u16,
        data: &[u8],
    ) -> Option<(u32, u16)> {
        let f = Folder::get()?;
        let j = joint(variant);
        let Some((v, used)) = f.fold_joint(j, reg32, reg16, data) else {
            return Some((update32(variant, reg32, data)?, update16(reg16, data)?));
        };
        let v = f.fold_rest(j.consts(), v, data.get(used..)?)?;
        Some((
            portable::raw32(variant, 0, &[&v]),
            portable::raw16(0, &[&v]),
        ))
    }

    /// The folding constants of CRC-16/MCRF4XX and its start register, for kernels that fold
    /// it next to other work (`crypto::simd::vaes::ctr_fold`).
    pub(crate) fn mcrf4xx() -> (&'static Consts, u16) {
        (&MCRF4XX, portable::init16())
    }

    /// The CRC-16/MCRF4XX of a message from the 16-byte folded value of its first bytes (as
    /// `Folder::fold` returns it, register from zero) and the rest of the message.
    pub(crate) fn finish16(folded: &[u8; 16], rest: &[u8]) -> u16 {
        // A rest of fewer than 16 bytes is folded in (one 16-byte table step); a longer one
        // goes through the tables.
        match Folder::get().and_then(|f| f.fold_rest(&MCRF4XX, *folded, rest)) {
            Some(v) => portable::final16(portable::raw16(0, &[&v])),
            None => portable::final16(portable::raw16(0, &[folded, rest])),
        }
    }

    /// One-shot CRC-32 on the folding backend.
    pub fn crc32(variant: Crc32Variant, data: &[u8]) -> Option<u32> {
        let reg = update32(variant, portable::init32(variant), data)?;
        Some(portable::final32(variant, reg))
    }

    /// One-shot CRC-16/MCRF4XX on the folding backend.
    pub fn crc16_mcrf4xx(data: &[u8]) -> Option<u16> {
        Some(portable::final16(update16(portable::init16(), data)?))
    }

    /// [`super::copy_crc16_mcrf4xx`] on the folding backend: `None` (nothing written) where
    /// the backend does not run, `src` is shorter than [`MIN_LEN`] or `dst` shorter than
    /// `src`.
    pub fn copy_crc16_mcrf4xx(src: &[u8], dst: &mut [u8]) -> Option<u16> {
        let f = Folder::get()?;
        let (v, used) = f.fold_copy(&MCRF4XX, u32::from(portable::init16()), src, dst)?;
        let rest = src.get(used..)?;
        let v = f.fold_rest(&MCRF4XX, v, rest)?;
        dst.get_mut(used..src.len())?.copy_from_slice(rest);
        Some(portable::final16(portable::raw16(0, &[&v])))
    }

    /// [`super::crc32_and_crc16`] on the folding backend.
    pub fn crc32_and_crc16(variant: Crc32Variant, data: &[u8], tail: &[u8]) -> Option<(u32, u16)> {
        let (r32, r16) = update_both(variant, portable::init32(variant), portable::init16(), data)?;
        Some((
            portable::final32(variant, r32),
            portable::final16(portable::raw16(r16, &[tail])),
        ))
    }
}

/// The hardware-accelerated backend (`std` only): `crc32fast` for CRC-32/ISO-HDLC, `crc-fast`
/// for the other CRCs. Public (hidden) for the differential tests.
#[cfg(feature = "std")]
#[doc(hidden)]
pub mod fast {
    use super::Crc32Variant;

    pub(super) fn algorithm32(variant: Crc32Variant) -> crc_fast::CrcAlgorithm {
        match variant {
            Crc32Variant::IsoHdlc => crc_fast::CrcAlgorithm::Crc32IsoHdlc,
            Crc32Variant::Autosar => crc_fast::CrcAlgorithm::Crc32Autosar,
            Crc32Variant::Iscsi => crc_fast::CrcAlgorithm::Crc32Iscsi,
        }
    }

    /// One-shot CRC-32 on the accelerated backend.
    pub fn crc32(variant: Crc32Variant, data: &[u8]) -> u32 {
        match variant {
            Crc32Variant::IsoHdlc => crc32fast::hash(data),
            // A CRC-32 result always fits in 32 bits; crc-fast returns it widened to u64.
            _ => crc_fast::checksum(algorithm32(variant), data) as u32,
        }
    }

    /// One-shot CRC-16/MCRF4XX on the accelerated backend.
    pub fn crc16_mcrf4xx(data: &[u8]) -> u16 {
        crc_fast::checksum(crc_fast::CrcAlgorithm::Crc16Mcrf4xx, data) as u16
    }
}

/// Below this length the one-shot AUTOSAR and MCRF4XX CRCs use the portable tables, which
/// beat `crc-fast`'s per-call setup on short records (measured at 64 bytes: 3.7 vs 2.4 GiB/s).
#[cfg(feature = "std")]
const FAST_MIN_LEN: usize = 128;

/// The CRC-32 of `data` with the given variant.
pub fn crc32(variant: Crc32Variant, data: &[u8]) -> u32 {
    #[cfg(target_arch = "x86_64")]
    if let Some(c) = fold::crc32(variant, data) {
        return c;
    }
    #[cfg(feature = "std")]
    {
        if variant == Crc32Variant::Autosar && data.len() < FAST_MIN_LEN {
            portable::crc32(variant, data)
        } else {
            fast::crc32(variant, data)
        }
    }
    #[cfg(not(feature = "std"))]
    {
        portable::crc32(variant, data)
    }
}

/// CRC-16/MCRF4XX (the CSI-2 payload CRC): poly 0x1021 reflected, init 0xFFFF, no final XOR.
pub fn crc16_mcrf4xx(data: &[u8]) -> u16 {
    #[cfg(target_arch = "x86_64")]
    if let Some(c) = fold::crc16_mcrf4xx(data) {
        return c;
    }
    #[cfg(feature = "std")]
    {
        if data.len() < FAST_MIN_LEN {
            portable::crc16_mcrf4xx(data)
        } else {
            fast::crc16_mcrf4xx(data)
        }
    }
    #[cfg(not(feature = "std"))]
    {
        portable::crc16_mcrf4xx(data)
    }
}

/// Copies `src` into the start of `dst` and returns the CRC-16/MCRF4XX of `src`: one pass
/// over the bytes where the folding backend runs (each load is folded and stored), the copy
/// and then the CRC elsewhere. This is how a receiver writes a CSI-2 long packet's payload and
/// its CRC-16 footer.
///
/// `dst` must be at least as long as `src`; when it is shorter, nothing is copied (the CRC is
/// still that of `src`).
pub fn copy_crc16_mcrf4xx(src: &[u8], dst: &mut [u8]) -> u16 {
    #[cfg(target_arch = "x86_64")]
    if let Some(c) = fold::copy_crc16_mcrf4xx(src, dst) {
        return c;
    }
    if let Some(d) = dst.get_mut(..src.len()) {
        d.copy_from_slice(src);
    }
    crc16_mcrf4xx(src)
}

/// The CRC-32 (`variant`) of `data` and the CRC-16/MCRF4XX of `data ‖ tail`, where the
/// folding backend runs, in one pass over `data` (each byte loaded once for both CRCs).
///
/// This is the shape of a record whose CRC-32 trails it inside a CSI-2 long packet (SEP): the
/// packet's CRC-16 covers the record and its CRC-32 field (`tail`, as received). Equal to
/// `(crc32(variant, data), crc16_mcrf4xx(&[data, tail].concat()))` on every input.
pub fn crc32_and_crc16(variant: Crc32Variant, data: &[u8], tail: &[u8]) -> (u32, u16) {
    let (c32, mut d16) = crc32_and_crc16_digest(variant, data);
    d16.update(tail);
    (c32, d16.finalize())
}

/// The CRC-32 (`variant`) of `data` and the CRC-16/MCRF4XX of `data` followed by that CRC-32
/// (4 bytes, little-endian), in one pass over `data` where the folding backend runs: the two
/// CRCs a transmitter writes for a record whose CRC-32 is the last field of a CSI-2 long
/// packet's payload (SEP).
pub fn crc32_appended_crc16(variant: Crc32Variant, data: &[u8]) -> (u32, u16) {
    let (c32, mut d16) = crc32_and_crc16_digest(variant, data);
    d16.update(&c32.to_le_bytes());
    (c32, d16.finalize())
}

/// A run of bytes summed up once for a CRC-32 (`variant`) and the CRC-16/MCRF4XX: the CRCs of
/// any message that contains the run are then computed without reading it again
/// ([`crc32_appended_crc16_around`], [`crc32_and_crc16_around`]), and the run's own CRCs too
/// ([`Span::crc16_mcrf4xx`], [`Span::crc32`]).
///
/// This is how one pass over a CSI-2 payload serves two messages: the original packet's
/// CRC-16 (checked) and the CRCs of the SEP packet that carries the same bytes after a header.
/// A CRC register is linear: the register after `head ‖ run` is the register after `head`
/// moved over as many zero bytes as the run has (one multiplication modulo the polynomial),
/// XORed with the register after the run from zero, which is what a `Span` keeps (one fold of
/// the run modulo both polynomials at once).
///
/// Made only where the carry-less folding backend runs (x86-64 with AVX-512F and VPCLMULQDQ);
/// every result equals the portable backend's on the same bytes (tested, and fuzzed by
/// `crc_diff`).
#[derive(Clone, Copy, Debug)]
pub struct Span(SpanInner);

#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, Debug)]
struct SpanInner {
    run: fold::Run,
    len: u16,
}

/// No span exists where the folding backend is not built.
#[cfg(not(target_arch = "x86_64"))]
#[derive(Clone, Copy, Debug)]
enum SpanInner {}

impl Span {
    /// Sums up `data` for the CRC-32 `variant` and the CRC-16/MCRF4XX, in one pass. `None`
    /// where the folding backend does not run, and for `data` shorter than 64 bytes or longer
    /// than 65 535 (a CSI-2 payload's longest): the callers' usual path is as fast there.
    pub fn new(variant: Crc32Variant, data: &[u8]) -> Option<Span> {
        #[cfg(target_arch = "x86_64")]
        {
            let len = u16::try_from(data.len()).ok()?;
            let run = fold::Run::new(variant, data, len)?;
            Some(Span(SpanInner { run, len }))
        }
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = (variant, data);
            None
        }
    }

    /// The CRC-32 variant the span was summed up for.
    pub fn variant(&self) -> Crc32Variant {
        #[cfg(target_arch = "x86_64")]
        return self.0.run.variant();
        #[cfg(not(target_arch = "x86_64"))]
        match self.0 {}
    }

    /// The length of the run in bytes.
    pub fn len(&self) -> usize {
        #[cfg(target_arch = "x86_64")]
        return usize::from(self.0.len);
        #[cfg(not(target_arch = "x86_64"))]
        match self.0 {}
    }

    /// Whether the run is empty (never: a span has at least 64 bytes).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The CRC-16/MCRF4XX of the run alone: [`crc16_mcrf4xx`] of its bytes.
    pub fn crc16_mcrf4xx(&self) -> u16 {
        #[cfg(target_arch = "x86_64")]
        return portable::final16(self.0.run.after16(portable::init16()));
        #[cfg(not(target_arch = "x86_64"))]
        match self.0 {}
    }

    /// The CRC-32 of the run alone: [`crc32`] of its bytes.
    pub fn crc32(&self) -> u32 {
        #[cfg(target_arch = "x86_64")]
        return portable::final32(
            self.0.run.variant(),
            self.0.run.after32(portable::init32(self.0.run.variant())),
        );
        #[cfg(not(target_arch = "x86_64"))]
        match self.0 {}
    }

    /// The registers after `head ‖ run` (the head through the tables).
    #[cfg(target_arch = "x86_64")]
    fn registers_after(&self, head: &[u8]) -> (u32, u16) {
        let run = &self.0.run;
        let v = run.variant();
        let r32 = portable::raw32(v, portable::init32(v), &[head]);
        let r16 = portable::raw16(portable::init16(), &[head]);
        (run.after32(r32), run.after16(r16))
    }
}

/// [`crc32_appended_crc16`] of `head ‖ run ‖ tail`, where `span` summed up the run: the bytes
/// of `head` and `tail` are read (through the tables: keep them short), the run's are not.
pub fn crc32_appended_crc16_around(head: &[u8], span: &Span, tail: &[u8]) -> (u32, u16) {
    #[cfg(target_arch = "x86_64")]
    {
        let variant = span.variant();
        let (r32, r16) = span.registers_after(head);
        let c32 = portable::final32(variant, portable::raw32(variant, r32, &[tail]));
        let r16 = portable::raw16(r16, &[tail, &c32.to_le_bytes()]);
        (c32, portable::final16(r16))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (head, tail);
        match span.0 {}
    }
}

/// [`crc32_and_crc16`] of `(head ‖ run ‖ tail, extra)`: the CRC-32 of `head ‖ run ‖ tail` and
/// the CRC-16/MCRF4XX of `head ‖ run ‖ tail ‖ extra`, where `span` summed up the run (its
/// bytes are not read again; keep the others short).
pub fn crc32_and_crc16_around(head: &[u8], span: &Span, tail: &[u8], extra: &[u8]) -> (u32, u16) {
    #[cfg(target_arch = "x86_64")]
    {
        let variant = span.variant();
        let (r32, r16) = span.registers_after(head);
        let c32 = portable::final32(variant, portable::raw32(variant, r32, &[tail]));
        let r16 = portable::raw16(r16, &[tail, extra]);
        (c32, portable::final16(r16))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = (head, tail, extra);
        match span.0 {}
    }
}

/// The CRC-32 of `data` and a CRC-16/MCRF4XX digest that has taken `data`.
fn crc32_and_crc16_digest(variant: Crc32Variant, data: &[u8]) -> (u32, Crc16Mcrf4xx) {
    #[cfg(target_arch = "x86_64")]
    if let Some((r32, r16)) =
        fold::update_both(variant, portable::init32(variant), portable::init16(), data)
    {
        let d16 = Crc16Mcrf4xx {
            inner: Inner16::Fold(r16),
        };
        return (portable::final32(variant, r32), d16);
    }
    let mut d16 = Crc16Mcrf4xx::new();
    d16.update(data);
    (crc32(variant, data), d16)
}

// `crc_fast::Digest` carries its fold constants (about 300 bytes). A digest is a short-lived
// stack value, and boxing it would allocate once per record, so the size difference stays.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
enum Inner32 {
    Portable(portable::Digest32),
    /// The register, run on the folding backend (pieces shorter than its minimum on the
    /// tables).
    #[cfg(target_arch = "x86_64")]
    Fold(u32),
    #[cfg(feature = "std")]
    Crc32Fast(crc32fast::Hasher),
    #[cfg(feature = "std")]
    CrcFast(crc_fast::Digest),
}

/// A streaming CRC-32 over a record given in pieces.
///
/// `finalize` borrows, so a caller can read the running value and keep feeding bytes.
#[derive(Clone)]
pub struct Crc32 {
    variant: Crc32Variant,
    inner: Inner32,
}

impl Crc32 {
    /// A fresh digest for `variant` on the fastest backend built in.
    pub fn new(variant: Crc32Variant) -> Self {
        #[cfg(target_arch = "x86_64")]
        if fold::available() {
            return Crc32 {
                variant,
                inner: Inner32::Fold(portable::init32(variant)),
            };
        }
        #[cfg(feature = "std")]
        let inner = match variant {
            Crc32Variant::IsoHdlc => Inner32::Crc32Fast(crc32fast::Hasher::new()),
            _ => Inner32::CrcFast(crc_fast::Digest::new(fast::algorithm32(variant))),
        };
        #[cfg(not(feature = "std"))]
        let inner = Inner32::Portable(portable::digest32(variant));
        Crc32 { variant, inner }
    }

    /// A fresh digest on the portable backend (for differential tests).
    #[doc(hidden)]
    pub fn new_portable(variant: Crc32Variant) -> Self {
        Crc32 {
            variant,
            inner: Inner32::Portable(portable::digest32(variant)),
        }
    }

    /// The variant this digest computes.
    pub fn variant(&self) -> Crc32Variant {
        self.variant
    }

    /// Feeds the next piece of the record.
    pub fn update(&mut self, data: &[u8]) {
        match &mut self.inner {
            Inner32::Portable(d) => d.update(data),
            #[cfg(target_arch = "x86_64")]
            Inner32::Fold(reg) => {
                *reg = fold::update32(self.variant, *reg, data)
                    .unwrap_or_else(|| portable::raw32(self.variant, *reg, &[data]));
            }
            #[cfg(feature = "std")]
            Inner32::Crc32Fast(h) => h.update(data),
            #[cfg(feature = "std")]
            Inner32::CrcFast(d) => d.update(data),
        }
    }

    /// The CRC of everything fed so far.
    pub fn finalize(&self) -> u32 {
        match &self.inner {
            Inner32::Portable(d) => d.clone().finalize(),
            #[cfg(target_arch = "x86_64")]
            Inner32::Fold(reg) => portable::final32(self.variant, *reg),
            #[cfg(feature = "std")]
            Inner32::Crc32Fast(h) => h.clone().finalize(),
            #[cfg(feature = "std")]
            Inner32::CrcFast(d) => d.finalize() as u32,
        }
    }
}

impl core::fmt::Debug for Crc32 {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Crc32")
            .field("variant", &self.variant)
            .field("value", &self.finalize())
            .finish()
    }
}

// `crc_fast::Digest` carries its fold constants (about 300 bytes). A digest is a short-lived
// stack value, and boxing it would allocate once per record, so the size difference stays.
#[allow(clippy::large_enum_variant)]
#[derive(Clone)]
enum Inner16 {
    Portable(portable::Digest16),
    /// The register, run on the folding backend (pieces shorter than its minimum on the
    /// tables).
    #[cfg(target_arch = "x86_64")]
    Fold(u16),
    #[cfg(feature = "std")]
    CrcFast(crc_fast::Digest),
}

/// A streaming CRC-16/MCRF4XX over a CSI-2 payload given in pieces.
#[derive(Clone)]
pub struct Crc16Mcrf4xx {
    inner: Inner16,
}

impl Crc16Mcrf4xx {
    /// A fresh digest on the fastest backend built in.
    pub fn new() -> Self {
        #[cfg(target_arch = "x86_64")]
        if fold::available() {
            return Crc16Mcrf4xx {
                inner: Inner16::Fold(portable::init16()),
            };
        }
        #[cfg(feature = "std")]
        let inner = Inner16::CrcFast(crc_fast::Digest::new(crc_fast::CrcAlgorithm::Crc16Mcrf4xx));
        #[cfg(not(feature = "std"))]
        let inner = Inner16::Portable(portable::digest16());
        Crc16Mcrf4xx { inner }
    }

    /// A fresh digest on the portable backend (for differential tests).
    #[doc(hidden)]
    pub fn new_portable() -> Self {
        Crc16Mcrf4xx {
            inner: Inner16::Portable(portable::digest16()),
        }
    }

    /// Feeds the next piece of the payload.
    pub fn update(&mut self, data: &[u8]) {
        match &mut self.inner {
            Inner16::Portable(d) => d.update(data),
            #[cfg(target_arch = "x86_64")]
            Inner16::Fold(reg) => {
                *reg = fold::update16(*reg, data).unwrap_or_else(|| portable::raw16(*reg, &[data]));
            }
            #[cfg(feature = "std")]
            Inner16::CrcFast(d) => d.update(data),
        }
    }

    /// The CRC of everything fed so far.
    pub fn finalize(&self) -> u16 {
        match &self.inner {
            Inner16::Portable(d) => d.clone().finalize(),
            #[cfg(target_arch = "x86_64")]
            Inner16::Fold(reg) => portable::final16(*reg),
            #[cfg(feature = "std")]
            Inner16::CrcFast(d) => d.finalize() as u16,
        }
    }
}

impl Default for Crc16Mcrf4xx {
    fn default() -> Self {
        Crc16Mcrf4xx::new()
    }
}

impl core::fmt::Debug for Crc16Mcrf4xx {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Crc16Mcrf4xx")
            .field("value", &self.finalize())
            .finish()
    }
}
