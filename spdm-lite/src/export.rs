//! The export master secret and the link key hierarchy (`docs/key-hierarchy.md`).
//!
//! ```text
//! key = HKDF-Expand(export_master, BinConcat(len, label, context), len)
//! context = direction(1) ‖ virtual channel(1) ‖ key generation(4, LE) ‖ session id(4, LE)
//! ```
//!
//! `direction` is [`cse_core::Direction`] as a byte (0 sensor→controller, 1 controller→sensor),
//! the virtual channel is the CSI-2 VC (0 for CCISE keys, which have no VC), the key
//! generation counts rekeys (0 for the keys of a fresh session), and the session id is the
//! SPDM session's (`ReqSessionID | RspSessionID << 16`), which binds every link key to the
//! session that made it on top of the export master secret being that session's own. Labels
//! come from [`cse_core::Profile`] (`"cse key"`, `"cse salt"`, `"cse mac key"`,
//! `"ccise key"` in `draft-1`). The context layout is this crate's choice (the MIPI text is
//! not public); it is an invented value in the sense of `docs/profile.md`.

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
pub fn link_key_context(
    direction: Direction,
    vc: VirtualChannel,
    generation: u32,
    session_id: u32,
) -> [u8; 10] {
    let g = generation.to_le_bytes();
    let s = session_id.to_le_bytes();
    [
        direction as u8,
        vc.get(),
        g[0],
        g[1],
        g[2],
        g[3],
        s[0],
        s[1],
        s[2],
        s[3],
    ]
}

/// The SPDM export master secret of a session, with the id of that session. Not `Clone`,
/// zeroized on drop, never shown by `Debug`.
#[derive(Debug)]
pub struct ExportMasterSecret {
    secret: Secret,
    hash: HashAlgo,
    version: Version,
    session_id: u32,
}

impl ExportMasterSecret {
    /// Wraps a secret derived by the key schedule of session `session_id`.
    pub fn new(secret: Secret, hash: HashAlgo, version: Version, session_id: u32) -> Self {
        Self {
            secret,
            hash,
            version,
            session_id,
        }
    }

    /// The id of the session whose secret this is (bound into every link key).
    pub fn session_id(&self) -> u32 {
        self.session_id
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

    /// A link key for `purpose`, `direction`, `vc` and key `generation` of this session, with
    /// the labels of `profile`, `out.len()` bytes long (context in the [module docs](self)).
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
        let ctx = link_key_context(direction, vc, generation, self.session_id);
        self.derive(provider, purpose.label(profile), &ctx, out)
    }
}
