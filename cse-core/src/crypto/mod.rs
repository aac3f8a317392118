//! AES engines: the block cipher, CTR, GCM, streaming GMAC and CMAC, and a per-suite engine.
//!
//! On x86_64 CPUs with AVX-512F/BW/VL, VAES, VPCLMULQDQ and AES-NI, AES-GCM, GMAC and the CTR
//! keystream run on our own stitched code (the private `simd` module, the crate's only `unsafe`
//! code): AES rounds on 512-bit registers interleaved with the carry-less-multiply GHASH on
//! powers of `H` precomputed once per key, one pass over the data for seal and for open.
//! Elsewhere everything runs on the RustCrypto `aes` crate (AES-NI, VAES-256, ARMv8 crypto
//! extensions or its constant-time bitsliced software, picked at run time), with GHASH on our
//! PCLMULQDQ code where the CPU has it (`simd`, detected at run time) and otherwise on
//! `ghash`/`polyval`. CMAC runs on the `aes` crate, and its batched form
//! ([`CmacKey::mac_batch`]) on our multi-lane chains (VAES-512 or AES-NI, `simd`) where the CPU
//! has them. Every GCM path is tested against RustCrypto `aes-gcm` and Wycheproof, every CMAC
//! path against RustCrypto `cmac`, on one machine through a test hook that forces it.
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
//! only then apply the keystream; the stitched path decrypts in place in the same pass as GHASH
//! and, on a mismatch, zeroizes the buffer before returning (the caller holds the only
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
// The crate's only `unsafe` code: PCLMULQDQ GHASH, the stitched VAES AES-GCM and the multi-lane
// CMAC chains (see the module documentation).
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

/// Which AES-GCM/GMAC engine this CPU runs (picked at run time, the same for every key): for
/// reports such as `cse demo`'s, so that throughput figures say what produced them.
pub fn engine_name() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    {
        if simd::vaes::available() {
            return "stitched AES-GCM on VAES + VPCLMULQDQ (AVX-512)";
        }
        if simd::available() {
            return "aes crate (AES-NI) + PCLMULQDQ GHASH";
        }
    }
    "aes crate + ghash crate (portable, or the CPU's AES instructions via the aes crate)"
}
pub use gcm::{GMAC_BATCH_LANES, GcmKey, GmacState};
pub use suite::{CheckedKey, MacState, SuiteKey};
pub use tag::Tag;

/// Whether this build has an encrypting suite (cse-core feature `gcm` or `ctr-cmac`). Without
/// one no [`SuiteKey`] encrypts, and a protocol crate can leave the code that only encrypting
/// suites reach out of the build by testing this constant.
pub const ENCRYPTION_BUILT: bool = cfg!(any(feature = "gcm", feature = "ctr-cmac"));
