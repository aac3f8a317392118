//! AES engines: the block cipher, CTR, GCM, streaming GMAC and CMAC, and a per-suite engine.
//!
//! On x86_64, AES-GCM, GMAC and the CTR keystream run on our own stitched code (the private
//! `simd` module, the crate's only `unsafe` code): AES rounds interleaved with the
//! carry-less-multiply GHASH on powers of `H` precomputed once per key, one pass over the data
//! for seal and for open. Three engines, the fastest the CPU has picked at run time
//! ([`Engine`], [`engine`]):
//!
//! - [`Engine::Vaes512`]: VAES + VPCLMULQDQ on 512-bit registers (AVX-512F/BW/VL), 16 or 32
//!   blocks per iteration;
//! - [`Engine::Vaes256`]: VAES + VPCLMULQDQ on 256-bit registers (AVX2, no AVX-512);
//! - [`Engine::AesNi`]: AES-NI + PCLMULQDQ on 128-bit registers, eight blocks per iteration.
//!
//! Elsewhere everything runs on the RustCrypto `aes` crate (AES-NI, ARMv8 crypto extensions
//! or its constant-time bitsliced software, picked at run time), with GHASH on `ghash`/`polyval`
//! ([`Engine::Portable`]; [`Engine::Clmul`] is the `aes` crate with our PCLMULQDQ GHASH, kept
//! as a tested fallback). CMAC runs on the `aes` crate, and its batched form
//! ([`CmacKey::mac_batch`]) on our multi-lane chains (VAES-512 or AES-NI, `simd`) where the CPU
//! has them, every path tested against RustCrypto `cmac`. Every GCM engine is tested against RustCrypto
//! `aes-gcm` and Wycheproof on one machine through test hooks that force it (per key inside
//! the crate, process-wide through the hidden [`force_engine`] for integration tests, fuzz
//! targets and benches).
//!
//! # Primitives
//!
//! - [`Aes`]: an expanded AES-128/AES-256 encryption key; [`Aes::apply_ctr`] is the CTR
//!   keystream (GCTR of NIST SP 800-38D).
//! - [`GcmKey`]: AES-GCM (NIST SP 800-38D) with 96-bit IVs: [`GcmKey::seal_in_place`],
//!   [`GcmKey::open_in_place`], streaming GMAC through [`GcmKey::gmac`] → [`GmacState`], and
//!   [`GcmKey::gmac_batch`] for many independent messages.
//! - [`CmacKey`]: AES-CMAC (NIST SP 800-38B), streaming through [`CmacKey::start`] →
//!   [`CmacState`], or one-shot [`CmacKey::mac`]; [`CmacKey::mac_batch`] computes the CMACs of
//!   many independent messages (for example one per CSI-2 line) with up to
//!   [`CMAC_BATCH_LANES`] CBC chains in flight.
//! - [`SuiteKey`]: the keys of one [`CipherSuite`](crate::CipherSuite) behind one interface
//!   ([`SuiteKey::mac`] → [`MacState`], [`SuiteKey::apply_keystream`],
//!   [`SuiteKey::seal_in_place`], [`SuiteKey::open_in_place`]).
//! - [`Tag`]: a tag truncated to a [`TagLen`](crate::TagLen), verified in constant time.
//!
//! # IV and counter conventions
//!
//! Every IV is 96 bits ([`Iv`](crate::nonce::Iv)). Then, as in SP 800-38D section 7.1:
//!
//! ```text
//! J0            = IV ‖ 00 00 00 01     E_K(J0) masks the GHASH output (GCM and GMAC tags)
//! first CTR     = IV ‖ 00 00 00 02     keystream block i uses IV ‖ BE32(2 + i), mod 2^32
//! H             = E_K(0^128)           the GHASH key
//! GHASH input   = A ‖ 0* ‖ C ‖ 0* ‖ BE64(8·len(A)) ‖ BE64(8·len(C))
//! ```
//!
//! CTR+CMAC suites use the same CTR (from `IV ‖ 2`), so both encrypting suites share one
//! keystream function. GMAC is GCM with an empty plaintext: all input is AAD. AAD given as
//! several pieces (`aad: &[&[u8]]`) is hashed as their concatenation. CMAC takes no IV: what it
//! must bind (the packet or scope number) is in the context block that starts every MAC input.
//!
//! The IV must never repeat under one key; that is the job of the IV construction and the key
//! usage counters ([`crate::keys`]), not of this module.
//!
//! # Verify before release
//!
//! `open_in_place` computes the tag over AAD and ciphertext and compares it in constant time
//! ([`subtle`]) before any plaintext is released. The portable paths compute the tag first and
//! only then apply the keystream; the stitched engines decrypt in place in the same pass as GHASH
//! and, on a mismatch, zeroize the buffer before returning (the caller holds the only
//! reference to it, so nothing can read the plaintext in between). On failure the buffer is
//! zeroized and the error is the opaque
//! [`SecurityError::AuthFailed`](crate::SecurityError::AuthFailed). The
//! expected tag length is always a parameter, never inferred from the received tag, so a peer
//! cannot downgrade a 16-byte tag to 4 bytes by sending fewer bytes.
//!
//! # Truncated tags (hazmat: 4 bytes)
//!
//! A truncated tag is the leftmost bytes of the 16-byte MAC output. 12- and 8-byte tags are
//! supported; the 4-byte tag is reachable only through
//! [`TagLen::hazmat_short_4`](crate::TagLen::hazmat_short_4): a forgery then succeeds with
//! probability 2^-32 per attempt (and, for GCM, short tags leak more about `H` per forgery, see
//! SP 800-38D Appendix C), so the key usage counters must enforce the Appendix C limits.
//!
//! # Key material
//!
//! No type here that holds key material is `Clone`; all of them zeroize on drop (through the
//! `zeroize` features of `aes`, `ghash`/`polyval` and `cmac`, plus our own buffers) and print a
//! redacted `Debug`.

#[forbid(unsafe_code)]
mod block;
#[forbid(unsafe_code)]
mod cmac;
#[forbid(unsafe_code)]
// Without the `gcm` feature no suite runs GCM (the types stay public).
#[cfg_attr(not(feature = "gcm"), allow(dead_code))]
pub(crate) mod gcm;
// The crate's only `unsafe` code: PCLMULQDQ GHASH, the stitched AES-GCM engines and the
// multi-lane CMAC chains (see the module documentation).
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
pub(crate) mod simd;
#[forbid(unsafe_code)]
mod suite;
#[forbid(unsafe_code)]
mod tag;

pub use block::Aes;
pub(crate) use cmac::CmacPath;
pub use cmac::{CMAC_BATCH_LANES, CmacKey, CmacState};

/// An implementation of AES-GCM, GMAC and the CTR keystream. Every key runs the engine that
/// was selected when it was built ([`engine`]): the fastest one this CPU has, unless a test
/// forced another ([`force_engine`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Engine {
    /// The RustCrypto `aes` crate (which itself uses the CPU's AES instructions where it finds
    /// them: AES-NI, VAES, ARMv8) and the `ghash` crate: every CPU.
    Portable,
    /// The `aes` crate and our PCLMULQDQ GHASH (VPCLMULQDQ on AVX-512), not stitched.
    Clmul,
    /// Our stitched AES-GCM on AES-NI + PCLMULQDQ (128-bit registers, eight blocks per
    /// iteration).
    AesNi,
    /// Our stitched AES-GCM on VAES + VPCLMULQDQ with 256-bit registers (AVX2, no AVX-512).
    Vaes256,
    /// Our stitched AES-GCM on VAES + VPCLMULQDQ with 512-bit registers (AVX-512).
    Vaes512,
}

impl Engine {
    /// Every engine, slowest first (the default is the last one [`Engine::available`]).
    pub const ALL: [Engine; 5] = [
        Engine::Portable,
        Engine::Clmul,
        Engine::AesNi,
        Engine::Vaes256,
        Engine::Vaes512,
    ];

    /// A description for reports such as `cse demo`'s, so that throughput figures say what
    /// produced them.
    pub fn name(self) -> &'static str {
        match self {
            Engine::Portable => {
                "aes crate + ghash crate (portable, or the CPU's AES instructions via the aes crate)"
            }
            Engine::Clmul => "aes crate (AES-NI) + PCLMULQDQ GHASH",
            Engine::AesNi => "stitched AES-GCM on AES-NI + PCLMULQDQ (128-bit)",
            Engine::Vaes256 => "stitched AES-GCM on VAES + VPCLMULQDQ (256-bit, AVX2)",
            Engine::Vaes512 => "stitched AES-GCM on VAES + VPCLMULQDQ (AVX-512)",
        }
    }

    /// A short identifier (`portable`, `clmul`, `aesni`, `vaes256`, `vaes512`).
    pub fn id(self) -> &'static str {
        match self {
            Engine::Portable => "portable",
            Engine::Clmul => "clmul",
            Engine::AesNi => "aesni",
            Engine::Vaes256 => "vaes256",
            Engine::Vaes512 => "vaes512",
        }
    }

    /// Whether this CPU can run the engine (detected at run time, cached).
    pub fn available(self) -> bool {
        match self {
            Engine::Portable => true,
            #[cfg(target_arch = "x86_64")]
            Engine::Clmul => simd::available(),
            #[cfg(target_arch = "x86_64")]
            Engine::AesNi => simd::aesni::available() && simd::available(),
            #[cfg(target_arch = "x86_64")]
            Engine::Vaes256 => simd::vaes256::available() && simd::available(),
            #[cfg(target_arch = "x86_64")]
            Engine::Vaes512 => simd::vaes::available() && simd::available(),
            #[cfg(not(target_arch = "x86_64"))]
            _ => false,
        }
    }

    /// The fastest engine this CPU runs.
    pub fn best() -> Engine {
        Engine::ALL
            .into_iter()
            .rev()
            .find(|e| e.available())
            .unwrap_or(Engine::Portable)
    }
}

/// The forced engine: 0 for none, else the index in [`Engine::ALL`] plus one.
#[cfg(target_arch = "x86_64")]
static FORCED: core::sync::atomic::AtomicU8 = core::sync::atomic::AtomicU8::new(0);

/// The destination of a `seal_to` call: `dst[..src.len()]`, or
/// [`ConfigError::BufferTooSmall`] (nothing written) when `dst` is shorter than `src`.
pub(crate) fn seal_dst<'a>(
    src: &[u8],
    dst: &'a mut [u8],
) -> Result<&'a mut [u8], crate::error::ConfigError> {
    let available = dst.len();
    dst.get_mut(..src.len())
        .ok_or(crate::error::ConfigError::BufferTooSmall {
            needed: src.len(),
            available,
        })
}

/// The destination of an `open_to` call: `dst[..src.len()]`; a `dst` shorter than `src` is
/// refused like a bad tag (zeroized, [`SecurityError::AuthFailed`](crate::SecurityError)).
pub(crate) fn open_dst<'a>(
    src: &[u8],
    dst: &'a mut [u8],
) -> Result<&'a mut [u8], crate::error::SecurityError> {
    if dst.len() < src.len() {
        zeroize::Zeroize::zeroize(dst);
        return Err(crate::error::SecurityError::AuthFailed);
    }
    dst.get_mut(..src.len())
        .ok_or(crate::error::SecurityError::AuthFailed)
}

/// The engine that keys built from now on run: the forced one ([`force_engine`]), else
/// [`Engine::best`].
pub fn engine() -> Engine {
    #[cfg(target_arch = "x86_64")]
    {
        let i = FORCED.load(core::sync::atomic::Ordering::Relaxed);
        if let Some(e) = usize::from(i)
            .checked_sub(1)
            .and_then(|i| Engine::ALL.get(i))
        {
            return *e;
        }
    }
    Engine::best()
}

/// Test hook (integration tests, fuzz targets and benches): keys built after this call run
/// `engine` (`None`: back to [`Engine::best`]); keys built before keep theirs. Process-wide
/// and thread-safe (an atomic), so tests that use it should not run concurrently with tests
/// that depend on the default. Returns `false`, changing nothing, when this CPU cannot run
/// `engine`.
#[doc(hidden)]
pub fn force_engine(engine: Option<Engine>) -> bool {
    if let Some(e) = engine
        && !e.available()
    {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    {
        let i = engine
            .and_then(|e| Engine::ALL.iter().position(|x| *x == e))
            .map_or(0, |i| i + 1);
        FORCED.store(
            u8::try_from(i).unwrap_or(0),
            core::sync::atomic::Ordering::Relaxed,
        );
    }
    true
}

/// Which AES-GCM/GMAC engine new keys run ([`engine`]), as [`Engine::name`].
pub fn engine_name() -> &'static str {
    engine().name()
}
pub use gcm::{GMAC_BATCH_LANES, GcmKey, GmacState};
pub use suite::{CheckedKey, MacState, SuiteKey};
pub use tag::Tag;

/// Whether this build has an encrypting suite (cse-core feature `gcm` or `ctr-cmac`). Without
/// one no [`SuiteKey`] encrypts, and a protocol crate can leave the code that only encrypting
/// suites reach out of the build by testing this constant.
pub const ENCRYPTION_BUILT: bool = cfg!(any(feature = "gcm", feature = "ctr-cmac"));
