//! Factory provisioning (feature `provisioning`): GET_CSR / CSR and SET_CERTIFICATE /
//! SET_CERTIFICATE_RSP (SPDM 1.2), responder and requester side.
//!
//! # Responder (the sensor)
//!
//! The integrator implements [`ProvisioningProvider`] over the device's secure storage and
//! attaches it with [`Responder::with_provisioning`](crate::responder::Responder::with_provisioning).
//! The device private key never enters spdm-lite: the provider signs (the CSR here, and the
//! responder's [`Signer`](crate::crypto::Signer) signs CHALLENGE_AUTH / KEY_EXCHANGE_RSP with
//! the same key). The responder then:
//!
//! - advertises `CSR_CAP | SET_CERT_CAP` (with `CERT_CAP`) when the policy can ever allow
//!   provisioning ([`ProvisioningProvider::factory_mode`], or a [`ProvisioningScope`] that
//!   admits authenticated sessions);
//! - answers GET_CSR with a DER PKCS#10 `CertificationRequest` built in the response buffer
//!   (no allocator): subject from the provider (or the requester's, see below),
//!   SubjectPublicKeyInfo of the device key (P-256 for set A, P-384 for set B), the requester's
//!   attributes, signed `ecdsa-with-SHA256` / `ecdsa-with-SHA384` by the device key;
//! - on SET_CERTIFICATE checks the chain ([`check_chain`] below) and hands it to
//!   [`ProvisioningProvider::store_chain`]; from then on GET_DIGESTS, GET_CERTIFICATE,
//!   CHALLENGE and KEY_EXCHANGE serve the provider's slot-0 chain.
//!
//! RequesterInfo (GET_CSR): empty, or a DER `CertificationRequestInfo`
//! `SEQUENCE { INTEGER 0, Name, SubjectPublicKeyInfo, [0] Attributes }` with nothing after it
//! (anything else is InvalidRequest). As libspdm does, a non-empty subject Name in it replaces
//! the provider's subject and its attributes are copied into the CSR unchanged; its
//! SubjectPublicKeyInfo is ignored (the CSR always certifies the device key). OpaqueData is
//! accepted and ignored.
//!
//! ## Where provisioning is allowed, and the errors
//!
//! | Situation | Answer |
//! |---|---|
//! | no provider, or the policy can never allow it (capability not advertised) | ERROR UnsupportedRequest |
//! | before ALGORITHMS | ERROR UnexpectedRequest |
//! | a length that disagrees with the message, trailing bytes, a RequesterInfo that is not a `CertificationRequestInfo`, non-zero Param1/Param2 of GET_CSR or non-zero Param2 / Param1 bits 4-7 of SET_CERTIFICATE (reserved in 1.2; SPDM 1.3 puts KeyPairID, Overwrite and Erase there, which must not be silently ignored), a chain whose Reserved field is not zero, a slot other than 0 | ERROR InvalidRequest |
//! | outside the policy's scope (not in factory mode, and not inside a session whose requester authenticated with mutual authentication or the PSK) | ERROR UnexpectedRequest |
//! | SET_CERTIFICATE for a provisioned slot that is locked ([`ProvisioningProvider::slot_locked`], or [`SlotOverwrite::Locked`]), or, under [`SlotOverwrite::ReplaceInAuthenticatedSession`], outside an authenticated session | ERROR UnexpectedRequest |
//! | the chain is refused | ERROR Unspecified (as libspdm) |
//! | the CSR does not fit the requester's DataTransferSize | ERROR ResponseTooLarge |
//! | the provider fails to sign / store | ERROR Unspecified (Busy if storage says so) |
//!
//! SPDM 1.2 has no OperationFailed (1.3); UnexpectedRequest is what libspdm answers when
//! SET_CERTIFICATE arrives outside its trusted environment, and it says "not now, not here"
//! without claiming the request itself was malformed. Every refusal leaves the slots, the
//! connection and any session unchanged.
//!
//! ## Chain checks without an allocator
//!
//! [`check_chain`] (run by the responder before storing) checks: the SPDM chain format for the
//! negotiated hash; RootHash = Hash(provider's root certificate) (or, without a configured
//! root, Hash(first certificate)); each certificate a well-formed DER X.509 certificate whose
//! issuer name is its predecessor's subject and whose `ecdsa-with-SHA256/384` signature
//! verifies under its predecessor's P-256/P-384 key (the first non-root certificate under the
//! root); the leaf key on the negotiated curve and equal to the device's public key. Key
//! usage, basic constraints, EKU, path length and validity need a full X.509 parser: an
//! integrator with an allocator runs them in [`ProvisioningProvider::check_chain`] (the
//! `spdm-responder` example plugs `x509::X509Verifier` (feature `alloc`) in there); the
//! requester validates the installed chain in full anyway before it trusts it.
//!
//! # Requester (the factory station)
//!
//! [`Provisioner`] drives VCA, GET_CSR and SET_CERTIFICATE in the clear (factory mode, before
//! any session). Inside a secured session,
//! [`RequesterSession::write_get_csr`](crate::requester::RequesterSession::write_get_csr) and
//! [`RequesterSession::write_set_certificate`](crate::requester::RequesterSession::write_set_certificate)
//! do the same. The new chain is then verified with a fresh
//! [`Requester`](crate::requester::Requester) (GET_DIGESTS, GET_CERTIFICATE, CHALLENGE against
//! the manufacturer root).

mod chain;
mod der;
pub(crate) mod pkcs10;
mod requester;

pub use chain::check_chain;
pub use pkcs10::{RequesterInfo, parse_requester_info};
pub use requester::{Provisioner, ProvisionerConfig};

use crate::cert::CertError;
use crate::crypto::{AlgorithmSet, AsymAlgo};
use crate::error::CryptoError;

/// The number of certificate slots SPDM 1.2 defines.
pub const MAX_SLOTS: u8 = 8;

/// A CSR buffer size that holds every CSR this crate builds (the CSR message's length field is
/// 16 bits; a CSR of a P-384 key with a long subject and attributes stays far below). The
/// requester's `handle_csr` needs the buffer it is given to hold the whole request.
pub const MAX_CSR_LEN: usize = 4096;

/// Where GET_CSR and SET_CERTIFICATE are accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ProvisioningScope {
    /// Only while the provider reports factory mode (in the clear or in any session).
    FactoryMode,
    /// Only inside a session whose requester authenticated (session mutual authentication, or
    /// the PSK), factory mode or not.
    AuthenticatedSession,
    /// Either of the above.
    FactoryModeOrAuthenticatedSession,
}

/// What happens to a SET_CERTIFICATE for a slot that already holds a chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SlotOverwrite {
    /// Refused, in every context (a provisioned slot is final; re-provisioning needs the
    /// integrator to clear the storage by its own means).
    Locked,
    /// Replaced only inside a session whose requester authenticated (never in the clear,
    /// not even in factory mode), and only if the provider does not report the slot locked.
    ReplaceInAuthenticatedSession,
}

/// The integrator's provisioning policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ProvisioningPolicy {
    /// Where provisioning requests are accepted.
    pub scope: ProvisioningScope,
    /// Whether a provisioned slot may be replaced.
    pub overwrite: SlotOverwrite,
}

impl ProvisioningPolicy {
    /// The factory default: provisioning in factory mode only, a provisioned slot is locked.
    pub const FACTORY: Self = Self {
        scope: ProvisioningScope::FactoryMode,
        overwrite: SlotOverwrite::Locked,
    };

    /// Whether a request is allowed in this context (`session`: `None` in the clear, else
    /// whether the session's requester authenticated).
    pub fn allows(&self, factory_mode: bool, session: Option<bool>) -> bool {
        let authenticated = session == Some(true);
        match self.scope {
            ProvisioningScope::FactoryMode => factory_mode,
            ProvisioningScope::AuthenticatedSession => authenticated,
            ProvisioningScope::FactoryModeOrAuthenticatedSession => factory_mode || authenticated,
        }
    }

    /// Whether provisioning can ever be allowed given the factory mode (the capability bits
    /// are advertised only then).
    pub fn can_allow(&self, factory_mode: bool) -> bool {
        factory_mode || !matches!(self.scope, ProvisioningScope::FactoryMode)
    }
}

/// Why the provider's storage did not take a chain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, thiserror::Error)]
#[non_exhaustive]
pub enum StorageError {
    /// The storage is busy; the requester may retry (ERROR Busy).
    #[error("storage busy")]
    Busy,
    /// The write failed (ERROR Unspecified); the previous content must still be intact.
    #[error("storage write failed")]
    Failed,
}

/// The integrator's side of provisioning: the device key (which never leaves the integrator's
/// storage: the provider signs), the device identity, the policy and the slot storage.
///
/// Implementations must keep `store_chain` atomic: after a failure the previous chain (or
/// none) is still what `slot_chain` returns.
pub trait ProvisioningProvider {
    /// The device key's signature algorithm (must be the responder's negotiated one).
    fn algorithm(&self) -> AsymAlgo;

    /// Writes the device's SEC1 uncompressed public key (`04‖X‖Y`) into `out`; returns its
    /// length (65 for P-256, 97 for P-384).
    ///
    /// # Errors
    /// [`CryptoError`] if `out` is too small or the key is unavailable.
    fn device_public_key(&self, out: &mut [u8]) -> Result<usize, CryptoError>;

    /// Signs the digest `prehash` with the device private key; writes `r‖s` into `out` and
    /// returns its length. Used for the CSR (the hash is SHA-256 for P-256, SHA-384 for
    /// P-384).
    ///
    /// # Errors
    /// [`CryptoError`] if the key is unusable.
    fn sign_prehash(&self, prehash: &[u8], out: &mut [u8]) -> Result<usize, CryptoError>;

    /// The CSR subject: a DER X.501 `Name` (`SEQUENCE OF RelativeDistinguishedName`), for
    /// example `CN=<model> <serial>`.
    fn subject(&self) -> &[u8];

    /// Whether the device is in factory mode (a state only the factory can set, for example an
    /// unprovisioned device or a fuse not yet blown).
    fn factory_mode(&self) -> bool;

    /// The provisioning policy.
    fn policy(&self) -> ProvisioningPolicy;

    /// The DER root certificate (the manufacturer root) every installed chain must start at.
    /// `None` accepts any self-consistent chain ending at the device key; only sensible if the
    /// scope itself is trusted (a factory line that is physically controlled).
    fn trusted_root(&self) -> Option<&[u8]>;

    /// The chain stored in `slot` (SPDM chain format), if any.
    fn slot_chain(&self, slot: u8) -> Option<&[u8]>;

    /// Whether `slot` is locked against any write (for example after a lock fuse is blown).
    fn slot_locked(&self, _slot: u8) -> bool {
        false
    }

    /// Stores `chain` (already checked) in `slot`, replacing what was there.
    ///
    /// # Errors
    /// [`StorageError`]; the previous content must then be intact.
    fn store_chain(&mut self, slot: u8, chain: &[u8]) -> Result<(), StorageError>;

    /// Further checks of a chain before it is stored, after the built-in ones of
    /// [`check_chain`] succeeded (for example a full X.509 validation where an allocator is
    /// available). The default accepts.
    ///
    /// # Errors
    /// The [`CertError`] that refuses the chain.
    fn check_chain(&self, _set: AlgorithmSet, _chain: &[u8]) -> Result<(), CertError> {
        Ok(())
    }
}
