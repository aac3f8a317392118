//! The SPDM 1.2 key schedule (DSP0274 key schedule, DSP0277 traffic keys).
//!
//! ```text
//! BinConcat(L, label, ctx) = u16_le(L) ‖ "spdm1.2 " ‖ label ‖ ctx
//! HS        = HKDF-Extract(salt = 0^H, IKM = DHE secret | PSK)     (1.3 PSK: salt = 0xFF^H)
//! req_hs    = HKDF-Expand(HS, BinConcat(H, "req hs data", TH1), H)  rsp_hs likewise
//! finished  = HKDF-Expand(hs secret, BinConcat(H, "finished"), H)
//! Salt_1    = HKDF-Expand(HS, BinConcat(H, "derived"), H)
//! Master    = HKDF-Extract(salt = Salt_1, IKM = 0^H)
//! req_app   = HKDF-Expand(Master, BinConcat(H, "req app data", TH2), H)  rsp_app likewise
//! export    = HKDF-Expand(Master, BinConcat(H, "exp master", TH2), H)
//! key / iv  = HKDF-Expand(secret, BinConcat(keylen, "key"), keylen) / (12, "iv")
//! update    = HKDF-Expand(app secret, BinConcat(H, "traffic upd"), H)
//! ```
//! HKDF-Extract(salt, IKM) is `HMAC(key = salt, msg = IKM)`.

use crate::crypto::{
    AEAD_IV_LEN, AeadAlgo, CryptoProvider, Digest, HashAlgo, MAX_HASH_LEN, Secret,
};
use crate::error::CryptoError;
use crate::msgs::Version;
use crate::record::DirectionKeys;
use subtle::ConstantTimeEq;

/// The secrets of one direction of the handshake phase.
#[derive(Debug)]
pub struct HandshakeDirection {
    /// The handshake secret of this direction (`req hs data` / `rsp hs data`).
    pub secret: Secret,
    /// Its finished key.
    pub finished_key: Secret,
}

/// The handshake-phase secrets.
#[derive(Debug)]
pub struct HandshakeSecrets {
    /// The handshake secret HS.
    pub handshake_secret: Secret,
    /// Request direction.
    pub request: HandshakeDirection,
    /// Response direction.
    pub response: HandshakeDirection,
}

/// The data-phase secrets.
#[derive(Debug)]
pub struct DataSecrets {
    /// Request-direction application secret.
    pub request: Secret,
    /// Response-direction application secret.
    pub response: Secret,
    /// The export master secret.
    pub export_master: Secret,
}

/// AEAD key and IV of one direction.
#[derive(Debug)]
pub struct TrafficKeys {
    /// The AEAD suite.
    pub aead: AeadAlgo,
    /// The AEAD key.
    pub key: Secret,
    /// The IV (secret too: it is zeroized with the keys).
    pub iv: Secret,
}

impl TrafficKeys {
    /// The IV as an array.
    pub fn iv_array(&self) -> [u8; AEAD_IV_LEN] {
        let mut out = [0u8; AEAD_IV_LEN];
        if let Some(src) = self.iv.as_bytes().get(..AEAD_IV_LEN) {
            out.copy_from_slice(src);
        }
        out
    }
}

/// The key schedule of one negotiated hash and SPDM version.
#[derive(Debug)]
pub struct KeySchedule<'p, P> {
    provider: &'p P,
    hash: HashAlgo,
    version: Version,
}

impl<'p, P: CryptoProvider> KeySchedule<'p, P> {
    /// A key schedule for `hash` under SPDM `version` (which selects the `"spdm1.x "` prefix).
    pub fn new(provider: &'p P, hash: HashAlgo, version: Version) -> Self {
        Self {
            provider,
            hash,
            version,
        }
    }

    /// `HKDF-Expand(secret, BinConcat(out_len, label, context), out_len)`.
    ///
    /// # Errors
    /// [`CryptoError::InvalidLength`] if `out_len` exceeds [`MAX_HASH_LEN`] or `secret` is
    /// shorter than H.
    pub fn expand_label(
        &self,
        secret: &[u8],
        label: &[u8],
        context: &[u8],
        out_len: usize,
    ) -> Result<Secret, CryptoError> {
        let mut out = Secret::zeroed(out_len)?;
        let len = u16::try_from(out_len).map_err(|_| CryptoError::InvalidLength)?;
        let prefix = self.version.bin_concat_prefix();
        self.provider.hkdf_expand(
            self.hash,
            secret,
            &[&len.to_le_bytes(), &prefix, label, context],
            out.as_mut_bytes(),
        )?;
        Ok(out)
    }

    /// `HS = HKDF-Extract(salt, ikm)` with the DHE shared secret or the PSK as `ikm`.
    ///
    /// # Errors
    /// As the provider's HMAC.
    pub fn handshake_secret(&self, ikm: &[u8], psk: bool) -> Result<Secret, CryptoError> {
        let h = self.hash.len();
        let fill = if psk && self.version >= Version::V13 {
            0xFF
        } else {
            0
        };
        let salt = [fill; MAX_HASH_LEN];
        self.provider.hkdf_extract(self.hash, &salt[..h], ikm)
    }

    /// The handshake secrets and finished keys of both directions, given HS and TH1.
    ///
    /// # Errors
    /// As [`KeySchedule::expand_label`].
    pub fn handshake(&self, hs: Secret, th1: &Digest) -> Result<HandshakeSecrets, CryptoError> {
        let h = self.hash.len();
        let req = self.expand_label(hs.as_bytes(), b"req hs data", th1.as_bytes(), h)?;
        let rsp = self.expand_label(hs.as_bytes(), b"rsp hs data", th1.as_bytes(), h)?;
        Ok(HandshakeSecrets {
            request: HandshakeDirection {
                finished_key: self.finished_key(&req)?,
                secret: req,
            },
            response: HandshakeDirection {
                finished_key: self.finished_key(&rsp)?,
                secret: rsp,
            },
            handshake_secret: hs,
        })
    }

    /// `finished_key = HKDF-Expand(secret, BinConcat(H, "finished"), H)`.
    ///
    /// # Errors
    /// As [`KeySchedule::expand_label`].
    pub fn finished_key(&self, secret: &Secret) -> Result<Secret, CryptoError> {
        self.expand_label(secret.as_bytes(), b"finished", &[], self.hash.len())
    }

    /// The master secret derived from HS.
    ///
    /// # Errors
    /// As [`KeySchedule::expand_label`].
    pub fn master_secret(&self, hs: &Secret) -> Result<Secret, CryptoError> {
        let h = self.hash.len();
        let salt1 = self.expand_label(hs.as_bytes(), b"derived", &[], h)?;
        let zeros = [0u8; MAX_HASH_LEN];
        self.provider
            .hkdf_extract(self.hash, salt1.as_bytes(), &zeros[..h])
    }

    /// The data-phase secrets from the master secret and TH2.
    ///
    /// # Errors
    /// As [`KeySchedule::expand_label`].
    pub fn data(&self, master: &Secret, th2: &Digest) -> Result<DataSecrets, CryptoError> {
        let h = self.hash.len();
        let m = master.as_bytes();
        Ok(DataSecrets {
            request: self.expand_label(m, b"req app data", th2.as_bytes(), h)?,
            response: self.expand_label(m, b"rsp app data", th2.as_bytes(), h)?,
            export_master: self.expand_label(m, b"exp master", th2.as_bytes(), h)?,
        })
    }

    /// AEAD key and IV derived from a direction secret.
    ///
    /// # Errors
    /// As [`KeySchedule::expand_label`].
    pub fn traffic_keys(
        &self,
        aead: AeadAlgo,
        secret: &Secret,
    ) -> Result<TrafficKeys, CryptoError> {
        Ok(TrafficKeys {
            aead,
            key: self.expand_label(secret.as_bytes(), b"key", &[], aead.key_len())?,
            iv: self.expand_label(secret.as_bytes(), b"iv", &[], AEAD_IV_LEN)?,
        })
    }

    /// [`KeySchedule::traffic_keys`] installed as a direction's keys (sequence number 0). Not
    /// inlined: the handshakes and sessions of both roles derive their keys through this one
    /// copy.
    ///
    /// # Errors
    /// As [`KeySchedule::expand_label`].
    #[inline(never)]
    pub(crate) fn direction_keys(
        &self,
        aead: AeadAlgo,
        secret: &Secret,
    ) -> Result<DirectionKeys, CryptoError> {
        Ok(DirectionKeys::new(self.traffic_keys(aead, secret)?))
    }

    /// The next application secret of a direction after KEY_UPDATE (`"traffic upd"`).
    ///
    /// # Errors
    /// As [`KeySchedule::expand_label`].
    pub fn update(&self, secret: &Secret) -> Result<Secret, CryptoError> {
        self.expand_label(secret.as_bytes(), b"traffic upd", &[], self.hash.len())
    }

    /// `VerifyData = HMAC(finished_key, transcript_hash)`.
    ///
    /// # Errors
    /// As the provider's HMAC.
    pub fn verify_data(&self, finished_key: &Secret, th: &Digest) -> Result<Digest, CryptoError> {
        let mut out = [0u8; MAX_HASH_LEN];
        let h = self.hash.len();
        self.provider.hmac(
            self.hash,
            finished_key.as_bytes(),
            &[th.as_bytes()],
            &mut out[..h],
        )?;
        Digest::from_slice(&out[..h])
    }

    /// Checks received verify data in constant time.
    ///
    /// # Errors
    /// [`Error::Authentication`](crate::Error::Authentication) if it does not match.
    pub fn check_verify_data(
        &self,
        finished_key: &Secret,
        th: &Digest,
        received: &[u8],
    ) -> Result<(), crate::Error> {
        let expected = self.verify_data(finished_key, th)?;
        if expected.as_bytes().ct_eq(received).into() {
            Ok(())
        } else {
            Err(crate::Error::Authentication)
        }
    }
}
