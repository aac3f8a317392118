//! Algorithms, fixed-size secret containers and the [`CryptoProvider`] trait.
//!
//! Crypto enters only through a provider value handed to the functions and state machines that
//! need it (no global registration). [`RustCrypto`] is the default, built on the RustCrypto
//! `sha2`/`hmac`/`hkdf`/`p256`/`p384`/`aes-gcm` crates; a hardware-backed implementation
//! replaces it by implementing the same traits. Signing keys sit behind their own trait
//! ([`Signer`]) so that a key held in a secure element never has to enter the provider.

// The RustCrypto provider needs at least one algorithm set (features `set-a`, `set-b`); a
// build with neither has only the traits, for a provider of the caller's.
#[cfg(any(feature = "set-a", feature = "set-b"))]
mod rustcrypto;

#[cfg(any(feature = "set-a", feature = "set-b"))]
pub use rustcrypto::{EcdsaSigningKey, RustCrypto, RustCryptoDhe, RustCryptoHash};

use crate::error::{CryptoError, Error};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Whether algorithm set B is built (feature `set-b`): the size limits below are set B's,
/// else set A's (every hash, secret, signature and key buffer is then smaller).
const SET_B: bool = cfg!(feature = "set-b");
/// The largest hash output of a built algorithm (SHA-384 with feature `set-b`, else SHA-256).
pub const MAX_HASH_LEN: usize = if SET_B { 48 } else { 32 };
/// The largest ECDSA signature `r‖s` of a built algorithm (P-384 with `set-b`, else P-256).
pub const MAX_SIGNATURE_LEN: usize = if SET_B { 96 } else { 64 };
/// The largest ECDHE public key `X‖Y` of a built group (secp384r1 with `set-b`, else
/// secp256r1).
pub const MAX_DHE_LEN: usize = if SET_B { 96 } else { 64 };
/// The largest AEAD key of a built algorithm (AES-256 with `set-b`, else AES-128).
pub const MAX_AEAD_KEY_LEN: usize = if SET_B { 32 } else { 16 };
/// AEAD nonce (IV) length of every supported algorithm.
pub const AEAD_IV_LEN: usize = 12;
/// AEAD tag length of every supported algorithm.
pub const AEAD_TAG_LEN: usize = 16;

/// SPDM base hash algorithms this crate implements (`BaseHashAlgo` bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum HashAlgo {
    /// `TPM_ALG_SHA_256`, bit 0.
    Sha256,
    /// `TPM_ALG_SHA_384`, bit 1.
    Sha384,
}

impl HashAlgo {
    /// Whether this build implements the algorithm (set A's with feature `set-a`, set B's
    /// with `set-b`).
    pub const fn is_built(self) -> bool {
        match self {
            Self::Sha256 => cfg!(feature = "set-a"),
            Self::Sha384 => cfg!(feature = "set-b"),
        }
    }

    /// Output length in bytes (H).
    #[allow(clippy::len_without_is_empty)]
    pub const fn len(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha384 => 48,
        }
    }

    /// The `BaseHashAlgo` bit of this algorithm.
    pub const fn bit(self) -> u32 {
        match self {
            Self::Sha256 => 1 << 0,
            Self::Sha384 => 1 << 1,
        }
    }

    /// The algorithm whose bit is the only bit set in `bits`.
    pub const fn from_bit(bits: u32) -> Option<Self> {
        match bits {
            0x1 => Some(Self::Sha256),
            0x2 => Some(Self::Sha384),
            _ => None,
        }
    }
}

/// SPDM base asymmetric (signature) algorithms this crate implements (`BaseAsymAlgo` bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AsymAlgo {
    /// `TPM_ALG_ECDSA_ECC_NIST_P256`, bit 4.
    EcdsaP256,
    /// `TPM_ALG_ECDSA_ECC_NIST_P384`, bit 7.
    EcdsaP384,
}

impl AsymAlgo {
    /// Whether this build implements the algorithm (set A's with feature `set-a`, set B's
    /// with `set-b`).
    pub const fn is_built(self) -> bool {
        match self {
            Self::EcdsaP256 => cfg!(feature = "set-a"),
            Self::EcdsaP384 => cfg!(feature = "set-b"),
        }
    }

    /// Signature length `r‖s` in bytes (S).
    pub const fn signature_len(self) -> usize {
        match self {
            Self::EcdsaP256 => 64,
            Self::EcdsaP384 => 96,
        }
    }

    /// The `BaseAsymAlgo` bit of this algorithm.
    pub const fn bit(self) -> u32 {
        match self {
            Self::EcdsaP256 => 1 << 4,
            Self::EcdsaP384 => 1 << 7,
        }
    }

    /// The algorithm whose bit is the only bit set in `bits`.
    pub const fn from_bit(bits: u32) -> Option<Self> {
        match bits {
            0x10 => Some(Self::EcdsaP256),
            0x80 => Some(Self::EcdsaP384),
            _ => None,
        }
    }
}

/// SPDM DHE groups this crate implements (`DHE` AlgStruct bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum DheGroup {
    /// `secp256r1`, bit 3.
    Secp256r1,
    /// `secp384r1`, bit 4.
    Secp384r1,
}

impl DheGroup {
    /// Whether this build implements the algorithm (set A's with feature `set-a`, set B's
    /// with `set-b`).
    pub const fn is_built(self) -> bool {
        match self {
            Self::Secp256r1 => cfg!(feature = "set-a"),
            Self::Secp384r1 => cfg!(feature = "set-b"),
        }
    }

    /// Exchange-data length `X‖Y` in bytes (D).
    pub const fn public_len(self) -> usize {
        match self {
            Self::Secp256r1 => 64,
            Self::Secp384r1 => 96,
        }
    }

    /// Shared-secret length (the X coordinate) in bytes.
    pub const fn secret_len(self) -> usize {
        self.public_len() / 2
    }

    /// The `DHE` AlgStruct bit of this group.
    pub const fn bit(self) -> u16 {
        match self {
            Self::Secp256r1 => 1 << 3,
            Self::Secp384r1 => 1 << 4,
        }
    }

    /// The group whose bit is the only bit set in `bits`.
    pub const fn from_bit(bits: u16) -> Option<Self> {
        match bits {
            0x08 => Some(Self::Secp256r1),
            0x10 => Some(Self::Secp384r1),
            _ => None,
        }
    }

    /// The group a responder configured with `self` selects from the `offered` bits: `self`
    /// when offered, else the strongest built group offered that is stronger than `self`
    /// (secp384r1 for secp256r1); never a weaker one. `None`: nothing acceptable offered.
    pub(crate) fn select(self, offered: u16) -> Option<Self> {
        if offered & self.bit() != 0 {
            return Some(self);
        }
        [Self::Secp384r1, Self::Secp256r1]
            .into_iter()
            .find(|g| g.public_len() > self.public_len() && g.is_built() && offered & g.bit() != 0)
    }
}

/// SPDM AEAD suites this crate implements (`AEAD` AlgStruct bits).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum AeadAlgo {
    /// AES-128-GCM, bit 0.
    Aes128Gcm,
    /// AES-256-GCM, bit 1.
    Aes256Gcm,
}

impl AeadAlgo {
    /// Whether this build implements the algorithm (set A's with feature `set-a`, set B's
    /// with `set-b`).
    pub const fn is_built(self) -> bool {
        match self {
            Self::Aes128Gcm => cfg!(feature = "set-a"),
            Self::Aes256Gcm => cfg!(feature = "set-b"),
        }
    }

    /// Key length in bytes.
    pub const fn key_len(self) -> usize {
        match self {
            Self::Aes128Gcm => 16,
            Self::Aes256Gcm => 32,
        }
    }

    /// The `AEAD` AlgStruct bit of this suite.
    pub const fn bit(self) -> u16 {
        match self {
            Self::Aes128Gcm => 1 << 0,
            Self::Aes256Gcm => 1 << 1,
        }
    }

    /// The suite whose bit is the only bit set in `bits`.
    pub const fn from_bit(bits: u16) -> Option<Self> {
        match bits {
            0x1 => Some(Self::Aes128Gcm),
            0x2 => Some(Self::Aes256Gcm),
            _ => None,
        }
    }

    /// The suite a responder configured with `self` selects from the `offered` bits: `self`
    /// when offered, else the strongest built suite offered that is stronger than `self`
    /// (AES-256-GCM for AES-128-GCM); never a weaker one. `None`: nothing acceptable offered.
    pub(crate) fn select(self, offered: u16) -> Option<Self> {
        if offered & self.bit() != 0 {
            return Some(self);
        }
        [Self::Aes256Gcm, Self::Aes128Gcm]
            .into_iter()
            .find(|a| a.key_len() > self.key_len() && a.is_built() && offered & a.bit() != 0)
    }
}

/// One negotiated combination of algorithms.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct AlgorithmSet {
    /// Base hash.
    pub hash: HashAlgo,
    /// Base asymmetric (responder signature) algorithm.
    pub asym: AsymAlgo,
    /// DHE group of KEY_EXCHANGE.
    pub dhe: DheGroup,
    /// AEAD suite of secured messages.
    pub aead: AeadAlgo,
}

impl AlgorithmSet {
    /// Set A: SHA-256, ECDSA P-256, secp256r1, AES-128-GCM.
    pub const SET_A: Self = Self {
        hash: HashAlgo::Sha256,
        asym: AsymAlgo::EcdsaP256,
        dhe: DheGroup::Secp256r1,
        aead: AeadAlgo::Aes128Gcm,
    };
    /// Set B: SHA-384, ECDSA P-384, secp384r1, AES-256-GCM.
    pub const SET_B: Self = Self {
        hash: HashAlgo::Sha384,
        asym: AsymAlgo::EcdsaP384,
        dhe: DheGroup::Secp384r1,
        aead: AeadAlgo::Aes256Gcm,
    };

    /// Whether this build implements every algorithm of the set (features `set-a` and
    /// `set-b`; the default builds both). The state machines refuse the others.
    pub const fn is_built(&self) -> bool {
        self.hash.is_built() && self.asym.is_built() && self.dhe.is_built() && self.aead.is_built()
    }

    /// The field sizes messages of this set use.
    pub const fn sizes(&self) -> Sizes {
        Sizes {
            hash: self.hash.len(),
            signature: self.asym.signature_len(),
            dhe: self.dhe.public_len(),
        }
    }
}

/// The negotiated sizes the variable parts of SPDM messages depend on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Sizes {
    /// Hash length H.
    pub hash: usize,
    /// Signature length S.
    pub signature: usize,
    /// DHE exchange-data length D.
    pub dhe: usize,
}

/// A hash value (not secret): transcript hashes, certificate-chain digests.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Digest {
    bytes: [u8; MAX_HASH_LEN],
    len: u8,
}

impl Digest {
    /// Copies `bytes` (at most [`MAX_HASH_LEN`]).
    ///
    /// # Errors
    /// [`CryptoError::InvalidLength`] if `bytes` is longer.
    pub fn from_slice(bytes: &[u8]) -> Result<Self, CryptoError> {
        let mut out = Self {
            bytes: [0; MAX_HASH_LEN],
            len: u8::try_from(bytes.len()).map_err(|_| CryptoError::InvalidLength)?,
        };
        out.bytes
            .get_mut(..bytes.len())
            .ok_or(CryptoError::InvalidLength)?
            .copy_from_slice(bytes);
        Ok(out)
    }

    /// The value.
    #[inline(never)]
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }
}

impl core::fmt::Debug for Digest {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Digest(")?;
        for b in self.as_bytes() {
            write!(f, "{b:02x}")?;
        }
        f.write_str(")")
    }
}

/// A secret of up to [`MAX_HASH_LEN`] bytes (key-schedule secrets, AEAD keys, finished keys).
///
/// Not `Clone`, zeroized on drop, and its `Debug` output shows nothing.
pub struct Secret {
    bytes: [u8; MAX_HASH_LEN],
    len: u8,
}

impl Secret {
    /// An all-zero secret of `len` bytes, to be filled through [`Secret::as_mut_bytes`].
    ///
    /// # Errors
    /// [`CryptoError::InvalidLength`] if `len` exceeds [`MAX_HASH_LEN`].
    pub fn zeroed(len: usize) -> Result<Self, CryptoError> {
        if len > MAX_HASH_LEN {
            return Err(CryptoError::InvalidLength);
        }
        Ok(Self {
            bytes: [0; MAX_HASH_LEN],
            len: len as u8,
        })
    }

    /// Copies `bytes` into a new secret.
    ///
    /// # Errors
    /// [`CryptoError::InvalidLength`] if `bytes` is longer than [`MAX_HASH_LEN`].
    pub fn from_slice(bytes: &[u8]) -> Result<Self, CryptoError> {
        let mut s = Self::zeroed(bytes.len())?;
        s.as_mut_bytes().copy_from_slice(bytes);
        Ok(s)
    }

    /// The secret bytes.
    #[inline(never)]
    pub fn as_bytes(&self) -> &[u8] {
        self.bytes.get(..usize::from(self.len)).unwrap_or(&[])
    }

    /// The secret bytes, writable.
    pub fn as_mut_bytes(&mut self) -> &mut [u8] {
        self.bytes
            .get_mut(..usize::from(self.len))
            .unwrap_or(&mut [])
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Zeroize for Secret {
    // Not inlined: a secret drops (and so is wiped) at many points; one out-of-line wipe costs
    // less flash than a wipe inlined at each.
    #[inline(never)]
    fn zeroize(&mut self) {
        self.bytes.zeroize();
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.zeroize();
    }
}

impl ZeroizeOnDrop for Secret {}

impl core::fmt::Debug for Secret {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("Secret { .. }")
    }
}

/// A running hash (transcript) state. `Clone` is how a transcript hash is taken at a point
/// while the transcript continues.
pub trait HashCtx: Clone {
    /// The algorithm.
    fn algorithm(&self) -> HashAlgo;
    /// Absorbs `data`.
    fn update(&mut self, data: &[u8]);
    /// The hash of everything absorbed so far.
    fn finish(self) -> Digest;
}

/// A platform random-number source (a TRNG or a DRBG seeded from one).
pub trait RandomSource {
    /// Fills `out` with random bytes.
    ///
    /// # Errors
    /// [`CryptoError::Rng`] if the source cannot deliver.
    fn fill(&mut self, out: &mut [u8]) -> Result<(), CryptoError>;
}

/// An ephemeral ECDHE private key: used once, consumed by [`DheSecret::agree`].
pub trait DheSecret: Sized {
    /// The group.
    fn group(&self) -> DheGroup;
    /// Writes the public key `X‖Y` (D bytes) into `out` and returns D.
    ///
    /// # Errors
    /// [`CryptoError::InvalidLength`] if `out` is shorter than D.
    fn public_key(&self, out: &mut [u8]) -> Result<usize, CryptoError>;
    /// Computes the shared secret (the X coordinate) with the peer's `X‖Y`.
    ///
    /// # Errors
    /// [`CryptoError::InvalidKey`] if the peer's point is not on the curve.
    fn agree(self, peer: &[u8]) -> Result<Secret, CryptoError>;
}

/// An ECDSA signing key for SPDM signatures over a prehashed message.
pub trait Signer {
    /// The signature algorithm.
    fn algorithm(&self) -> AsymAlgo;
    /// Signs the digest `prehash` and writes `r‖s` (S bytes) into `out`; returns S.
    ///
    /// # Errors
    /// [`CryptoError`] if the key or the output buffer is unusable.
    fn sign_prehash(&self, prehash: &[u8], out: &mut [u8]) -> Result<usize, CryptoError>;
}

/// The cryptographic primitives SPDM needs.
pub trait CryptoProvider {
    /// Running hash state.
    type Hash: HashCtx;
    /// Ephemeral ECDHE key.
    type Dhe: DheSecret;

    /// Starts a running hash.
    ///
    /// # Errors
    /// [`CryptoError::Unsupported`] if the provider lacks `alg`.
    fn hash(&self, alg: HashAlgo) -> Result<Self::Hash, CryptoError>;

    /// `HMAC(key, data[0] ‖ data[1] ‖ …)` into `out` (H bytes).
    ///
    /// # Errors
    /// [`CryptoError::InvalidLength`] if `out` is not H bytes long.
    fn hmac(
        &self,
        alg: HashAlgo,
        key: &[u8],
        data: &[&[u8]],
        out: &mut [u8],
    ) -> Result<(), CryptoError>;

    /// `HKDF-Extract(salt, ikm)` = `HMAC(key = salt, msg = ikm)`, H bytes.
    ///
    /// # Errors
    /// As [`CryptoProvider::hmac`].
    fn hkdf_extract(&self, alg: HashAlgo, salt: &[u8], ikm: &[u8]) -> Result<Secret, CryptoError> {
        let mut out = Secret::zeroed(alg.len())?;
        self.hmac(alg, salt, &[ikm], out.as_mut_bytes())?;
        Ok(out)
    }

    /// `HKDF-Expand(prk, info[0] ‖ info[1] ‖ …, out.len())`.
    ///
    /// # Errors
    /// [`CryptoError::InvalidLength`] if `prk` is shorter than H or `out` longer than 255·H.
    fn hkdf_expand(
        &self,
        alg: HashAlgo,
        prk: &[u8],
        info: &[&[u8]],
        out: &mut [u8],
    ) -> Result<(), CryptoError>;

    /// Generates an ephemeral ECDHE key from `rng`.
    ///
    /// # Errors
    /// [`CryptoError::Rng`] or [`CryptoError::Unsupported`].
    fn dhe_generate(
        &self,
        group: DheGroup,
        rng: &mut dyn RandomSource,
    ) -> Result<Self::Dhe, CryptoError>;

    /// Checks that `peer` is exchange data [`DheSecret::agree`] accepts for `group`: `X‖Y` of
    /// the group's length, a point on the curve. A responder checks a KEY_EXCHANGE with it
    /// before it draws its own key, so a refused request draws nothing from the random source.
    /// The default checks the length only (`agree` still refuses a bad point, after the draw).
    ///
    /// # Errors
    /// [`CryptoError::InvalidKey`] for exchange data `agree` would refuse.
    fn dhe_check_public(&self, group: DheGroup, peer: &[u8]) -> Result<(), CryptoError> {
        if peer.len() == group.public_len() {
            Ok(())
        } else {
            Err(CryptoError::InvalidKey)
        }
    }

    /// Verifies an ECDSA signature `r‖s` over the digest `prehash` with a SEC1-encoded public
    /// key (`04‖X‖Y`, as in an X.509 SubjectPublicKeyInfo). The RustCrypto provider accepts
    /// other SEC1 encodings (compressed points) only with feature `alloc`.
    ///
    /// # Errors
    /// [`Error::Authentication`] if the signature does not verify; [`Error::Crypto`] if the
    /// key is unusable.
    fn ecdsa_verify(
        &self,
        alg: AsymAlgo,
        public_key_sec1: &[u8],
        prehash: &[u8],
        signature: &[u8],
    ) -> Result<(), Error>;

    /// AEAD-encrypts `buf` in place and returns the tag.
    ///
    /// # Errors
    /// [`CryptoError::InvalidKey`] if the key length does not match `alg`.
    fn aead_seal(
        &self,
        alg: AeadAlgo,
        key: &[u8],
        nonce: &[u8; AEAD_IV_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; AEAD_TAG_LEN], CryptoError>;

    /// Verifies `tag` and decrypts `buf` in place. On failure `buf` is left unspecified (the
    /// caller wipes it).
    ///
    /// # Errors
    /// [`Error::Authentication`] if the tag does not verify.
    fn aead_open(
        &self,
        alg: AeadAlgo,
        key: &[u8],
        nonce: &[u8; AEAD_IV_LEN],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; AEAD_TAG_LEN],
    ) -> Result<(), Error>;
}
