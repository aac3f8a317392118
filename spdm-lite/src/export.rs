//! The export master secret and the key hierarchy of DESIGN section 8.
//!
//! ```text
//! key = HKDF-Expand(export_master, BinConcat(len, label, context), len)
//! context = direction(1) ‖ virtual channel(1) ‖ key generation(4, LE)
//! ```
//!
//! `direction` is [`cse_core::Direction`] as a byte (0 sensor→controller, 1 controller→sensor),
//! the virtual channel is the CSI-2 VC (0 for CCISE keys, which have no VC), and the key
//! generation counts rekeys (0 for the keys of a fresh session). Labels come from
//! [`cse_core::Profile`] (`"cse key"`, `"cse salt"`, `"cse mac key"`, `"ccise key"` in
//! `draft-1`). The context layout is this crate's choice (the MIPI text is not public); it is
//! an invented value in the sense of `docs/profile.md`.

use crate::crypto::{CryptoProvider, HashAlgo, Secret};
use crate::error::CryptoError;
use crate::key_schedule::KeySchedule;
use crate::msgs::Version;
use cse_core::Direction;
use cse_core::csi2::VirtualChannel;

/// What a derived link key is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum LinkKeyPurpose {
    /// Stream encryption / MAC key (`labels.stream_key`).
    StreamKey,
    /// Stream IV salt (`labels.stream_salt`).
    StreamSalt,
    /// The separate CMAC key of the CTR+CMAC suites (`labels.stream_mac_key`).
    StreamMacKey,
    /// CCISE key (`labels.ccise_key`).
    CciseKey,
}

impl LinkKeyPurpose {
    /// The label of this purpose in `profile`.
    pub fn label(self, profile: &cse_core::Profile) -> &'static str {
        let l = &profile.labels;
        match self {
            Self::StreamKey => l.stream_key,
            Self::StreamSalt => l.stream_salt,
            Self::StreamMacKey => l.stream_mac_key,
            Self::CciseKey => l.ccise_key,
        }
    }
}

/// The context bytes of a link key.
pub fn link_key_context(direction: Direction, vc: VirtualChannel, generation: u32) -> [u8; 6] {
    let g = generation.to_le_bytes();
    [direction as u8, vc.get(), g[0], g[1], g[2], g[3]]
}

/// The SPDM export master secret of a session. Not `Clone`, zeroized on drop.
#[derive(Debug)]
pub struct ExportMasterSecret {
    secret: Secret,
    hash: HashAlgo,
    version: Version,
}

impl ExportMasterSecret {
    /// Wraps a secret derived by the key schedule.
    pub fn new(secret: Secret, hash: HashAlgo, version: Version) -> Self {
        Self {
            secret,
            hash,
            version,
        }
    }

    /// The raw secret (hazmat: prefer [`ExportMasterSecret::derive_link_key`]).
    pub fn as_bytes(&self) -> &[u8] {
        self.secret.as_bytes()
    }

    /// `HKDF-Expand(export_master, BinConcat(out.len(), label, context))` into `out`.
    ///
    /// # Errors
    /// [`CryptoError::InvalidLength`] if `out` is longer than 48 bytes.
    pub fn derive<P: CryptoProvider>(
        &self,
        provider: &P,
        label: &str,
        context: &[u8],
        out: &mut [u8],
    ) -> Result<(), CryptoError> {
        let ks = KeySchedule::new(provider, self.hash, self.version);
        let s = ks.expand_label(self.secret.as_bytes(), label.as_bytes(), context, out.len())?;
        out.copy_from_slice(s.as_bytes());
        Ok(())
    }

    /// A key of DESIGN section 8 for `purpose`, `direction`, `vc` and key `generation`, with
    /// the labels of `profile`, `out.len()` bytes long.
    ///
    /// # Errors
    /// As [`ExportMasterSecret::derive`].
    #[allow(clippy::too_many_arguments)]
    pub fn derive_link_key<P: CryptoProvider>(
        &self,
        provider: &P,
        profile: &cse_core::Profile,
        purpose: LinkKeyPurpose,
        direction: Direction,
        vc: VirtualChannel,
        generation: u32,
        out: &mut [u8],
    ) -> Result<(), CryptoError> {
        let ctx = link_key_context(direction, vc, generation);
        self.derive(provider, purpose.label(profile), &ctx, out)
    }
}
