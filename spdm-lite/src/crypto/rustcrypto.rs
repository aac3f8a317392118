//! The default provider on the RustCrypto crates.
//!
//! Each algorithm set is built with its feature (`set-a`: SHA-256, P-256, AES-128-GCM;
//! `set-b`: SHA-384, P-384, AES-256-GCM); an algorithm of a set not built is refused with
//! [`CryptoError::Unsupported`] and none of its code links.
#![cfg_attr(
    not(all(feature = "set-a", feature = "set-b")),
    allow(unused_imports, unused_variables, unreachable_code, dead_code)
)]

use super::{
    AEAD_IV_LEN, AEAD_TAG_LEN, AeadAlgo, AsymAlgo, CryptoProvider, DheGroup, DheSecret, Digest,
    HashAlgo, HashCtx, RandomSource, Secret, Signer,
};
use crate::error::{CryptoError, Error};
#[cfg(feature = "set-a")]
use aes_gcm::Aes128Gcm;
#[cfg(feature = "set-b")]
use aes_gcm::Aes256Gcm;
use aes_gcm::aead::{AeadInOut, KeyInit};
use ec::point::AffineCoordinates;
// `SimpleHmac` (the key kept, the pads hashed per message) rather than `Hmac` (the padded
// key states precomputed), and HKDF-Expand over it (`hkdf_expand_into`) rather than the `hkdf`
// crate: the RFC 6979 nonce derivation of the ECDSA signer uses `SimpleHmac`, so one HMAC
// implementation links instead of two (1.6 KB less flash on a Cortex-M). A one-shot HMAC
// costs the same compressions either way; HKDF-Expand hashes the two pad blocks again per
// output block, which the key schedule does a few times per session.
use hmac::{Mac, SimpleHmac};
#[cfg(feature = "set-a")]
use p256::{
    ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier},
    elliptic_curve as ec,
};
#[cfg(all(feature = "set-b", not(feature = "set-a")))]
use p384::{
    ecdsa::signature::hazmat::{PrehashSigner, PrehashVerifier},
    elliptic_curve as ec,
};
use sha2::Digest as _;
#[cfg(feature = "set-a")]
use sha2::Sha256;
#[cfg(feature = "set-b")]
use sha2::Sha384;

/// The RustCrypto provider. Stateless; randomness comes from the caller's [`RandomSource`].
#[derive(Clone, Copy, Debug, Default)]
pub struct RustCrypto;

/// Running SHA-256 / SHA-384 state of [`RustCrypto`].
#[derive(Debug)]
pub enum RustCryptoHash {
    /// SHA-256.
    #[cfg(feature = "set-a")]
    Sha256(Sha256),
    /// SHA-384.
    #[cfg(feature = "set-b")]
    Sha384(Sha384),
}

// By hand rather than derived, and not inlined: a transcript is cloned at every point its
// hash is taken, and one out-of-line copy of the state costs less flash than a copy of the
// state inlined at each of those points.
impl Clone for RustCryptoHash {
    #[inline(never)]
    fn clone(&self) -> Self {
        match self {
            #[cfg(feature = "set-a")]
            Self::Sha256(h) => Self::Sha256(h.clone()),
            #[cfg(feature = "set-b")]
            Self::Sha384(h) => Self::Sha384(h.clone()),
        }
    }
}

impl HashCtx for RustCryptoHash {
    fn algorithm(&self) -> HashAlgo {
        match self {
            #[cfg(feature = "set-a")]
            Self::Sha256(_) => HashAlgo::Sha256,
            #[cfg(feature = "set-b")]
            Self::Sha384(_) => HashAlgo::Sha384,
        }
    }

    fn update(&mut self, data: &[u8]) {
        match self {
            #[cfg(feature = "set-a")]
            Self::Sha256(h) => h.update(data),
            #[cfg(feature = "set-b")]
            Self::Sha384(h) => h.update(data),
        }
    }

    fn finish(self) -> Digest {
        let r = match self {
            #[cfg(feature = "set-a")]
            Self::Sha256(h) => Digest::from_slice(&h.finalize()),
            #[cfg(feature = "set-b")]
            Self::Sha384(h) => Digest::from_slice(&h.finalize()),
        };
        // Both outputs fit a `Digest` by construction.
        r.unwrap_or(Digest {
            bytes: [0; super::MAX_HASH_LEN],
            len: 0,
        })
    }
}

/// An ephemeral ECDHE key of [`RustCrypto`] (zeroized on drop by the curve crates).
pub enum RustCryptoDhe {
    /// secp256r1.
    #[cfg(feature = "set-a")]
    P256(p256::SecretKey),
    /// secp384r1.
    #[cfg(feature = "set-b")]
    P384(p384::SecretKey),
}

impl core::fmt::Debug for RustCryptoDhe {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "RustCryptoDhe({:?}, ..)", self.group())
    }
}

/// Writes the affine coordinates `X ‖ Y` of `key` into `out`; returns their length. (From the
/// coordinates, not through a SEC1 encoding: no SEC1 code links for ECDHE.)
fn write_xy<C>(key: &ec::PublicKey<C>, out: &mut [u8]) -> Result<usize, CryptoError>
where
    C: ec::CurveArithmetic,
    ec::AffinePoint<C>: AffineCoordinates<FieldRepr = ec::FieldBytes<C>>,
{
    let p = key.as_affine();
    let (x, y) = (p.x(), p.y());
    let n = x.len();
    let dst = out.get_mut(..2 * n).ok_or(CryptoError::InvalidLength)?;
    dst[..n].copy_from_slice(&x);
    dst[n..].copy_from_slice(&y);
    Ok(2 * n)
}

/// The public key of the affine coordinates `X ‖ Y` (`expected` bytes), checked to be on the
/// curve: what SEC1 decoding of `0x04 ‖ X ‖ Y` accepts, without the SEC1 decoder (whose
/// compressed-point support would link a square root).
fn public_key_xy<C>(xy: &[u8], expected: usize) -> Result<ec::PublicKey<C>, CryptoError>
where
    C: ec::CurveArithmetic,
    ec::AffinePoint<C>: AffineCoordinates<FieldRepr = ec::FieldBytes<C>>,
{
    if xy.len() != expected {
        return Err(CryptoError::InvalidKey);
    }
    let (x, y) = xy.split_at(expected / 2);
    let x = ec::FieldBytes::<C>::try_from(x).map_err(|_| CryptoError::InvalidKey)?;
    let y = ec::FieldBytes::<C>::try_from(y).map_err(|_| CryptoError::InvalidKey)?;
    let point: Option<ec::AffinePoint<C>> = ec::AffinePoint::<C>::from_coordinates(&x, &y).into();
    ec::PublicKey::from_affine(point.ok_or(CryptoError::InvalidKey)?)
        .map_err(|_| CryptoError::InvalidKey)
}

/// The coordinates `X ‖ Y` of an uncompressed SEC1 public key (`0x04 ‖ X ‖ Y`, `len` bytes).
///
/// [`CryptoProvider::ecdsa_verify`] takes these keys through their coordinates; other SEC1
/// encodings (compressed points, which X.509 certificates may carry) go through the SEC1
/// decoder, and only with feature `alloc` (where certificates are parsed): without it they
/// are refused. The keys SPDM carries itself (a provisioned requester key, DHE keys) are
/// uncompressed, and the decoder (its square root, its error formatting) costs a Cortex-M
/// image about 9 KB of flash.
fn uncompressed(sec1: &[u8], len: usize) -> Result<&[u8], CryptoError> {
    match sec1.split_first() {
        Some((0x04, xy)) if sec1.len() == len => Ok(xy),
        _ => Err(CryptoError::InvalidKey),
    }
}

impl DheSecret for RustCryptoDhe {
    fn group(&self) -> DheGroup {
        match self {
            #[cfg(feature = "set-a")]
            Self::P256(_) => DheGroup::Secp256r1,
            #[cfg(feature = "set-b")]
            Self::P384(_) => DheGroup::Secp384r1,
        }
    }

    fn public_key(&self, out: &mut [u8]) -> Result<usize, CryptoError> {
        match self {
            #[cfg(feature = "set-a")]
            Self::P256(k) => write_xy(&k.public_key(), out),
            #[cfg(feature = "set-b")]
            Self::P384(k) => write_xy(&k.public_key(), out),
        }
    }

    fn agree(self, peer: &[u8]) -> Result<Secret, CryptoError> {
        let len = self.group().public_len();
        match self {
            #[cfg(feature = "set-a")]
            Self::P256(k) => {
                let pk = public_key_xy::<p256::NistP256>(peer, len)?;
                let shared = p256::ecdh::diffie_hellman(k.to_nonzero_scalar(), pk.as_affine());
                Secret::from_slice(shared.raw_secret_bytes())
            }
            #[cfg(feature = "set-b")]
            Self::P384(k) => {
                let pk = public_key_xy::<p384::NistP384>(peer, len)?;
                let shared = p384::ecdh::diffie_hellman(k.to_nonzero_scalar(), pk.as_affine());
                Secret::from_slice(shared.raw_secret_bytes())
            }
        }
    }
}

/// An ECDSA signing key for [`Signer`], signing deterministically (RFC 6979).
pub enum EcdsaSigningKey {
    /// P-256.
    #[cfg(feature = "set-a")]
    P256(p256::ecdsa::SigningKey),
    /// P-384.
    #[cfg(feature = "set-b")]
    P384(p384::ecdsa::SigningKey),
}

impl core::fmt::Debug for EcdsaSigningKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "EcdsaSigningKey({:?}, ..)", self.algorithm())
    }
}

impl EcdsaSigningKey {
    /// A key from its big-endian scalar (32 bytes for P-256, 48 for P-384).
    ///
    /// # Errors
    /// [`CryptoError::InvalidKey`] if the scalar is zero, out of range, or of the wrong size.
    pub fn from_scalar(alg: AsymAlgo, scalar: &[u8]) -> Result<Self, CryptoError> {
        match alg {
            #[cfg(feature = "set-a")]
            AsymAlgo::EcdsaP256 => p256::ecdsa::SigningKey::from_slice(scalar)
                .map(Self::P256)
                .map_err(|_| CryptoError::InvalidKey),
            #[cfg(feature = "set-b")]
            AsymAlgo::EcdsaP384 => p384::ecdsa::SigningKey::from_slice(scalar)
                .map(Self::P384)
                .map_err(|_| CryptoError::InvalidKey),
            #[allow(unreachable_patterns)]
            _ => Err(CryptoError::Unsupported),
        }
    }

    /// A key from a SEC1 `ECPrivateKey` DER document (`openssl ec -outform DER`).
    ///
    /// # Errors
    /// [`CryptoError::InvalidKey`] if the document is not a key of `alg`'s curve.
    pub fn from_sec1_der(alg: AsymAlgo, der: &[u8]) -> Result<Self, CryptoError> {
        match alg {
            #[cfg(feature = "set-a")]
            AsymAlgo::EcdsaP256 => p256::SecretKey::from_sec1_der(der)
                .map(|k| Self::P256(k.into()))
                .map_err(|_| CryptoError::InvalidKey),
            #[cfg(feature = "set-b")]
            AsymAlgo::EcdsaP384 => p384::SecretKey::from_sec1_der(der)
                .map(|k| Self::P384(k.into()))
                .map_err(|_| CryptoError::InvalidKey),
            #[allow(unreachable_patterns)]
            _ => Err(CryptoError::Unsupported),
        }
    }

    /// Writes the public key as SEC1 uncompressed `04‖X‖Y` into `out`; returns its length.
    ///
    /// # Errors
    /// [`CryptoError::InvalidLength`] if `out` is too short.
    pub fn public_key_sec1(&self, out: &mut [u8]) -> Result<usize, CryptoError> {
        let write = |b: &[u8], out: &mut [u8]| {
            out.get_mut(..b.len())
                .ok_or(CryptoError::InvalidLength)?
                .copy_from_slice(b);
            Ok(b.len())
        };
        match self {
            #[cfg(feature = "set-a")]
            Self::P256(k) => write(k.verifying_key().to_sec1_point(false).as_bytes(), out),
            #[cfg(feature = "set-b")]
            Self::P384(k) => write(k.verifying_key().to_sec1_point(false).as_bytes(), out),
        }
    }
}

impl Signer for EcdsaSigningKey {
    fn algorithm(&self) -> AsymAlgo {
        match self {
            #[cfg(feature = "set-a")]
            Self::P256(_) => AsymAlgo::EcdsaP256,
            #[cfg(feature = "set-b")]
            Self::P384(_) => AsymAlgo::EcdsaP384,
        }
    }

    fn sign_prehash(&self, prehash: &[u8], out: &mut [u8]) -> Result<usize, CryptoError> {
        let n = self.algorithm().signature_len();
        let dst = out.get_mut(..n).ok_or(CryptoError::InvalidLength)?;
        match self {
            #[cfg(feature = "set-a")]
            Self::P256(k) => {
                let sig: p256::ecdsa::Signature = k
                    .sign_prehash(prehash)
                    .map_err(|_| CryptoError::InvalidKey)?;
                dst.copy_from_slice(&sig.to_bytes());
            }
            #[cfg(feature = "set-b")]
            Self::P384(k) => {
                let sig: p384::ecdsa::Signature = k
                    .sign_prehash(prehash)
                    .map_err(|_| CryptoError::InvalidKey)?;
                dst.copy_from_slice(&sig.to_bytes());
            }
        }
        Ok(n)
    }
}

/// `HMAC(key, head ‖ data[0] ‖ data[1] ‖ … ‖ tail)` into `tag`; returns the tag length. The
/// one instantiation of the HMAC code per hash: [`CryptoProvider::hmac`] and
/// [`hkdf_expand_into`] both go through it (not inlined into each), so the MAC's block
/// handling links once.
#[inline(never)]
fn mac_parts<M: Mac + KeyInit>(
    key: &[u8],
    head: &[u8],
    data: &[&[u8]],
    tail: &[u8],
    tag: &mut [u8; super::MAX_HASH_LEN],
) -> Result<usize, CryptoError> {
    let mut mac = <M as KeyInit>::new_from_slice(key).map_err(|_| CryptoError::InvalidKey)?;
    // One update site for all the parts (each site inlines the hash's block handling).
    for d in core::iter::once(head)
        .chain(data.iter().copied())
        .chain(core::iter::once(tail))
    {
        mac.update(d);
    }
    // The tag is a secret when HMAC serves as HKDF-Extract (the PRK), HKDF-Expand or derives
    // verify data: wipe this stack copy whatever happens.
    let mut t = mac.finalize().into_bytes();
    let n = t.len();
    let r = match tag.get_mut(..n) {
        Some(dst) => {
            dst.copy_from_slice(&t);
            Ok(n)
        }
        None => Err(CryptoError::InvalidLength),
    };
    zeroize::Zeroize::zeroize(t.as_mut_slice());
    r
}

fn hmac_into<M: Mac + KeyInit>(
    key: &[u8],
    data: &[&[u8]],
    out: &mut [u8],
) -> Result<(), CryptoError> {
    let mut tag = [0u8; super::MAX_HASH_LEN];
    let r = mac_parts::<M>(key, &[], data, &[], &mut tag).and_then(|n| {
        match (out.len() == n, tag.get(..n)) {
            (true, Some(t)) => {
                out.copy_from_slice(t);
                Ok(())
            }
            _ => Err(CryptoError::InvalidLength),
        }
    });
    zeroize::Zeroize::zeroize(&mut tag);
    r
}

/// HKDF-Expand (RFC 5869, section 2.3) over the same HMAC instantiation as
/// [`CryptoProvider::hmac`]: `T(i) = HMAC(prk, T(i-1) ‖ info ‖ i)`, so no second HMAC code
/// path links for the key schedule. `prk` shorter than the hash or `out` longer than 255
/// blocks is refused, as the `hkdf` crate does.
fn hkdf_expand_into<M: Mac + KeyInit>(
    prk: &[u8],
    info: &[&[u8]],
    out: &mut [u8],
) -> Result<(), CryptoError> {
    let h = <M as hmac::digest::OutputSizeUser>::output_size();
    if prk.len() < h || out.len() > 255 * h || h > super::MAX_HASH_LEN {
        return Err(CryptoError::InvalidLength);
    }
    // T(i-1) and T(i), secrets (the blocks of keying material): wiped whatever happens.
    let mut prev = [0u8; super::MAX_HASH_LEN];
    let mut t = [0u8; super::MAX_HASH_LEN];
    let mut prev_len = 0;
    let mut r = Ok(());
    for (i, chunk) in out.chunks_mut(h).enumerate() {
        // At most 255 blocks (checked above): the counter fits a byte.
        let ctr = [(i as u8).wrapping_add(1)];
        let head = prev.get(..prev_len).unwrap_or(&[]);
        if let Err(e) = mac_parts::<M>(prk, head, info, &ctr, &mut t) {
            r = Err(e);
            break;
        }
        // The last chunk may be shorter than a block; no other is.
        for (o, b) in chunk.iter_mut().zip(t.iter()) {
            *o = *b;
        }
        prev = t;
        prev_len = h;
    }
    zeroize::Zeroize::zeroize(&mut prev);
    zeroize::Zeroize::zeroize(&mut t);
    r
}

fn seal_with<A: AeadInOut + KeyInit>(
    key: &[u8],
    nonce: &[u8; AEAD_IV_LEN],
    aad: &[u8],
    buf: &mut [u8],
) -> Result<[u8; AEAD_TAG_LEN], CryptoError> {
    let cipher = A::new_from_slice(key).map_err(|_| CryptoError::InvalidKey)?;
    let nonce =
        aes_gcm::aead::Nonce::<A>::try_from(&nonce[..]).map_err(|_| CryptoError::InvalidKey)?;
    let tag = cipher
        .encrypt_inout_detached(&nonce, aad, buf.into())
        .map_err(|_| CryptoError::InvalidLength)?;
    let mut out = [0u8; AEAD_TAG_LEN];
    if tag.len() != AEAD_TAG_LEN {
        return Err(CryptoError::InvalidLength);
    }
    out.copy_from_slice(&tag);
    Ok(out)
}

fn open_with<A: AeadInOut + KeyInit>(
    key: &[u8],
    nonce: &[u8; AEAD_IV_LEN],
    aad: &[u8],
    buf: &mut [u8],
    tag: &[u8; AEAD_TAG_LEN],
) -> Result<(), Error> {
    let cipher = A::new_from_slice(key).map_err(|_| CryptoError::InvalidKey)?;
    let nonce =
        aes_gcm::aead::Nonce::<A>::try_from(&nonce[..]).map_err(|_| CryptoError::InvalidKey)?;
    let tag = aes_gcm::aead::Tag::<A>::try_from(&tag[..]).map_err(|_| CryptoError::InvalidKey)?;
    cipher
        .decrypt_inout_detached(&nonce, aad, buf.into(), &tag)
        .map_err(|_| Error::Authentication)
}

impl CryptoProvider for RustCrypto {
    type Hash = RustCryptoHash;
    type Dhe = RustCryptoDhe;

    fn hash(&self, alg: HashAlgo) -> Result<Self::Hash, CryptoError> {
        Ok(match alg {
            #[cfg(feature = "set-a")]
            HashAlgo::Sha256 => RustCryptoHash::Sha256(Sha256::new()),
            #[cfg(feature = "set-b")]
            HashAlgo::Sha384 => RustCryptoHash::Sha384(Sha384::new()),
            #[allow(unreachable_patterns)]
            _ => return Err(CryptoError::Unsupported),
        })
    }

    fn hmac(
        &self,
        alg: HashAlgo,
        key: &[u8],
        data: &[&[u8]],
        out: &mut [u8],
    ) -> Result<(), CryptoError> {
        match alg {
            #[cfg(feature = "set-a")]
            HashAlgo::Sha256 => hmac_into::<SimpleHmac<Sha256>>(key, data, out),
            #[cfg(feature = "set-b")]
            HashAlgo::Sha384 => hmac_into::<SimpleHmac<Sha384>>(key, data, out),
            #[allow(unreachable_patterns)]
            _ => Err(CryptoError::Unsupported),
        }
    }

    fn hkdf_expand(
        &self,
        alg: HashAlgo,
        prk: &[u8],
        info: &[&[u8]],
        out: &mut [u8],
    ) -> Result<(), CryptoError> {
        match alg {
            #[cfg(feature = "set-a")]
            HashAlgo::Sha256 => hkdf_expand_into::<SimpleHmac<Sha256>>(prk, info, out),
            #[cfg(feature = "set-b")]
            HashAlgo::Sha384 => hkdf_expand_into::<SimpleHmac<Sha384>>(prk, info, out),
            #[allow(unreachable_patterns)]
            _ => Err(CryptoError::Unsupported),
        }
    }

    fn dhe_generate(
        &self,
        group: DheGroup,
        rng: &mut dyn RandomSource,
    ) -> Result<Self::Dhe, CryptoError> {
        // Rejection sampling: a random scalar is out of range with probability < 2^-32, so a
        // few attempts suffice; a source that keeps producing invalid scalars is broken.
        if !group.is_built() {
            return Err(CryptoError::Unsupported);
        }
        let mut seed = Secret::zeroed(group.secret_len())?;
        for _ in 0..8 {
            rng.fill(seed.as_mut_bytes())?;
            let key = match group {
                #[cfg(feature = "set-a")]
                DheGroup::Secp256r1 => p256::SecretKey::from_slice(seed.as_bytes())
                    .ok()
                    .map(RustCryptoDhe::P256),
                #[cfg(feature = "set-b")]
                DheGroup::Secp384r1 => p384::SecretKey::from_slice(seed.as_bytes())
                    .ok()
                    .map(RustCryptoDhe::P384),
                #[allow(unreachable_patterns)]
                _ => None,
            };
            if let Some(key) = key {
                return Ok(key);
            }
        }
        Err(CryptoError::Rng)
    }

    fn dhe_check_public(&self, group: DheGroup, peer: &[u8]) -> Result<(), CryptoError> {
        let len = group.public_len();
        match group {
            #[cfg(feature = "set-a")]
            DheGroup::Secp256r1 => public_key_xy::<p256::NistP256>(peer, len).map(|_| ()),
            #[cfg(feature = "set-b")]
            DheGroup::Secp384r1 => public_key_xy::<p384::NistP384>(peer, len).map(|_| ()),
            #[allow(unreachable_patterns)]
            _ => Err(CryptoError::Unsupported),
        }
    }

    fn ecdsa_verify(
        &self,
        alg: AsymAlgo,
        public_key_sec1: &[u8],
        prehash: &[u8],
        signature: &[u8],
    ) -> Result<(), Error> {
        match alg {
            #[cfg(feature = "set-a")]
            AsymAlgo::EcdsaP256 => {
                let vk = match uncompressed(public_key_sec1, 65) {
                    Ok(xy) => {
                        p256::ecdsa::VerifyingKey::from(public_key_xy::<p256::NistP256>(xy, 64)?)
                    }
                    #[cfg(feature = "alloc")]
                    Err(_) => p256::ecdsa::VerifyingKey::from_sec1_bytes(public_key_sec1)
                        .map_err(|_| CryptoError::InvalidKey)?,
                    #[cfg(not(feature = "alloc"))]
                    Err(e) => return Err(e.into()),
                };
                let sig = p256::ecdsa::Signature::from_slice(signature)
                    .map_err(|_| Error::Authentication)?;
                vk.verify_prehash(prehash, &sig)
                    .map_err(|_| Error::Authentication)
            }
            #[cfg(feature = "set-b")]
            AsymAlgo::EcdsaP384 => {
                let vk = match uncompressed(public_key_sec1, 97) {
                    Ok(xy) => {
                        p384::ecdsa::VerifyingKey::from(public_key_xy::<p384::NistP384>(xy, 96)?)
                    }
                    #[cfg(feature = "alloc")]
                    Err(_) => p384::ecdsa::VerifyingKey::from_sec1_bytes(public_key_sec1)
                        .map_err(|_| CryptoError::InvalidKey)?,
                    #[cfg(not(feature = "alloc"))]
                    Err(e) => return Err(e.into()),
                };
                let sig = p384::ecdsa::Signature::from_slice(signature)
                    .map_err(|_| Error::Authentication)?;
                vk.verify_prehash(prehash, &sig)
                    .map_err(|_| Error::Authentication)
            }
            #[allow(unreachable_patterns)]
            _ => Err(CryptoError::Unsupported.into()),
        }
    }

    fn aead_seal(
        &self,
        alg: AeadAlgo,
        key: &[u8],
        nonce: &[u8; AEAD_IV_LEN],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; AEAD_TAG_LEN], CryptoError> {
        match alg {
            #[cfg(feature = "set-a")]
            AeadAlgo::Aes128Gcm => seal_with::<Aes128Gcm>(key, nonce, aad, buf),
            #[cfg(feature = "set-b")]
            AeadAlgo::Aes256Gcm => seal_with::<Aes256Gcm>(key, nonce, aad, buf),
            #[allow(unreachable_patterns)]
            _ => Err(CryptoError::Unsupported),
        }
    }

    fn aead_open(
        &self,
        alg: AeadAlgo,
        key: &[u8],
        nonce: &[u8; AEAD_IV_LEN],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; AEAD_TAG_LEN],
    ) -> Result<(), Error> {
        match alg {
            #[cfg(feature = "set-a")]
            AeadAlgo::Aes128Gcm => open_with::<Aes128Gcm>(key, nonce, aad, buf, tag),
            #[cfg(feature = "set-b")]
            AeadAlgo::Aes256Gcm => open_with::<Aes256Gcm>(key, nonce, aad, buf, tag),
            #[allow(unreachable_patterns)]
            _ => Err(CryptoError::Unsupported.into()),
        }
    }
}
