//! The factory station behind `cse provision` and the factory step of `cse demo`
//! (`docs/provisioning.md`): GET_CSR from an unprovisioned sensor, a device certificate signed
//! by the manufacturer's intermediate ([`crate::pki`]), SET_CERTIFICATE, then an independent
//! check of what the sensor now serves: a fresh SPDM connection that fetches the chain
//! (GET_DIGESTS, GET_CERTIFICATE), validates it against the manufacturer root, CHALLENGEs the
//! sensor and opens a session (KEY_EXCHANGE, FINISH, END_SESSION).
//!
//! The exchange is sans-IO in the crate's sense: [`provision`] takes a `transact` function
//! that sends one MCTP message and returns the answer (the spdm-emu socket for `cse
//! provision`, a direct call for the demo). [`SimSensor`] is an in-process provisionable
//! sensor (its key and slot storage in memory) for the demo and the tests.

use std::cell::RefCell;
use std::fmt;

use spdm_lite::CryptoError;
use spdm_lite::cert::{CertError, ChainVerifier, encode_spdm_chain};
use spdm_lite::crypto::{AlgorithmSet, AsymAlgo, EcdsaSigningKey, RustCrypto, Signer as _};
use spdm_lite::msgs::capabilities::CapFlags;
use spdm_lite::provisioning::{
    Provisioner, ProvisionerConfig, ProvisioningPolicy, ProvisioningProvider, StorageError,
};
use spdm_lite::requester::{Auth, Requester, RequesterConfig, Status};
use spdm_lite::responder::{Responder, ResponderConfig};
use spdm_lite::session::Role;
use spdm_lite::x509::{ValidationOptions, X509Verifier};
use zeroize::Zeroizing;

use crate::pki::{self, CaSet, CertRole, IssueOptions, PkiError};

/// Sends one MCTP message to the sensor and returns its answer (the error says why the
/// transport failed).
pub type Transact<'a> = dyn FnMut(&[u8]) -> Result<Vec<u8>, String> + 'a;

/// [`Transact`] with the failure already a [`ProvisionError`].
pub type Call<'a> = dyn FnMut(&[u8]) -> Result<Vec<u8>, ProvisionError> + 'a;

/// Why provisioning failed.
#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    /// The transport failed (connection, framing).
    #[error("transport: {0}")]
    Transport(String),
    /// An SPDM exchange failed or the sensor answered with an error.
    #[error("{step}: {error}")]
    Spdm {
        /// The step.
        step: &'static str,
        /// The error.
        error: spdm_lite::Error,
    },
    /// The sensor does not offer GET_CSR / SET_CERTIFICATE now (not in factory mode, or
    /// already provisioned).
    #[error("the sensor does not provision (no CSR_CAP/SET_CERT_CAP): not in factory mode")]
    NotInFactoryMode,
    /// The CSR was refused, or issuing failed.
    #[error("{0}")]
    Pki(#[from] PkiError),
    /// The installed chain did not authenticate the sensor.
    #[error("verification of the installed chain: {0}")]
    Verify(String),
}

fn spdm(step: &'static str) -> impl Fn(spdm_lite::Error) -> ProvisionError + Copy {
    move |error| ProvisionError::Spdm { step, error }
}

/// The provisioned sensor, as the verification saw it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Provisioned {
    /// The device certificate's subject (RFC 4514).
    pub subject: String,
    /// The device serial (the subject's serialNumber).
    pub serial: Option<String>,
    /// The SHA-256 of the device public key (hex).
    pub fingerprint: String,
    /// The installed chain: root ‖ intermediate ‖ device certificate (DER).
    pub certificates: Vec<u8>,
}

/// What the station asks beyond the CA.
#[derive(Clone, Debug, Default)]
pub struct ProvisionOptions {
    /// The device serial for the certificate subject (see [`IssueOptions::device_serial`]).
    pub device_serial: Option<String>,
    /// The certificate serial number (big-endian).
    pub serial: Option<Vec<u8>>,
}

/// A [`ChainVerifier`] that remembers the leaf key of the chain it accepted.
struct Recording<'a> {
    inner: X509Verifier<'a, RustCrypto>,
    chain: RefCell<Option<Vec<u8>>>,
}

impl ChainVerifier for Recording<'_> {
    fn verify_chain(
        &self,
        set: AlgorithmSet,
        role: Role,
        chain: &[u8],
        leaf_key: &mut [u8],
    ) -> Result<usize, CertError> {
        let n = self.inner.verify_chain(set, role, chain, leaf_key)?;
        *self.chain.borrow_mut() = Some(chain.to_vec());
        Ok(n)
    }
}

/// Provisions the sensor behind `transact` with the manufacturer CA `ca`, then verifies it
/// against `ca`'s root (see the [module](self) documentation). `transact` sends one MCTP
/// message (`0x05‖SPDM` or a secured record) and returns the answer.
///
/// # Errors
/// [`ProvisionError`]: the step that failed. A sensor that is not in factory mode is
/// [`ProvisionError::NotInFactoryMode`]; a CSR whose signature does not verify is refused
/// before anything is signed.
pub fn provision(
    transact: &mut Transact<'_>,
    ca: &CaSet,
    opts: &ProvisionOptions,
) -> Result<Provisioned, ProvisionError> {
    let set = ca.curve.set();
    let sets = [set];
    let mut p = Provisioner::new(ProvisionerConfig {
        algorithms: &sets,
        data_transfer_size: 4096,
    })
    .map_err(spdm("provisioner"))?;
    let mut buf = vec![0u8; 8192];
    let mut call = |msg: &[u8]| transact(msg).map_err(ProvisionError::Transport);
    while !p.is_ready() {
        let n = p.write_request(&mut buf).map_err(spdm("VCA"))?;
        let rsp = call(&buf[..n])?;
        p.handle_response(&rsp).map_err(spdm("VCA"))?;
    }
    if !p
        .responder_capabilities()
        .has(CapFlags::CSR | CapFlags::SET_CERT)
    {
        return Err(ProvisionError::NotInFactoryMode);
    }
    let n = p
        .write_get_csr(&[], &[], &mut buf)
        .map_err(spdm("GET_CSR"))?;
    let rsp = call(&buf[..n])?;
    let mut csr = vec![0u8; spdm_lite::provisioning::MAX_CSR_LEN];
    let k = p.handle_csr(&rsp, &mut csr).map_err(spdm("CSR"))?;
    let req = pki::verify_csr(&csr[..k])?;
    let leaf = pki::issue(
        ca,
        &req,
        &IssueOptions {
            serial: opts.serial.clone(),
            device_serial: opts.device_serial.clone(),
            ..IssueOptions::new(CertRole::Responder)
        },
    )?;
    let certificates = [ca.root_cert.as_slice(), &ca.inter_cert, &leaf].concat();
    let mut chain = vec![0u8; certificates.len() + 64];
    let cl = encode_spdm_chain(
        &RustCrypto,
        set.hash,
        &ca.root_cert,
        &certificates,
        &mut chain,
    )
    .map_err(spdm("chain"))?;
    let n = p
        .write_set_certificate(0, &chain[..cl], &mut buf)
        .map_err(spdm("SET_CERTIFICATE"))?;
    let rsp = call(&buf[..n])?;
    p.handle_set_certificate(&rsp)
        .map_err(spdm("SET_CERTIFICATE"))?;

    let served = authenticate(&mut call, &ca.root_cert, set)?;
    // The sensor serves exactly the chain installed, for the key of its CSR.
    if served.certificates != certificates {
        return Err(ProvisionError::Verify(
            "the sensor serves another chain than the one installed".into(),
        ));
    }
    if served.fingerprint != pki::fingerprint(&req.public_key) {
        return Err(ProvisionError::Verify(
            "the certified key is not the CSR's".into(),
        ));
    }
    Ok(served)
}

/// Authenticates the sensor behind `call` as a vehicle ECU would: VCA, GET_DIGESTS,
/// GET_CERTIFICATE, the chain validated against `root` (strict SPDM EKU, current time),
/// CHALLENGE, KEY_EXCHANGE, FINISH, END_SESSION. Returns the identity of the chain it served.
///
/// # Errors
/// [`ProvisionError::Verify`] when the sensor does not authenticate.
pub fn authenticate(
    call: &mut Call<'_>,
    root: &[u8],
    set: AlgorithmSet,
) -> Result<Provisioned, ProvisionError> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let verifier = Recording {
        inner: X509Verifier::with_options(
            RustCrypto,
            root,
            ValidationOptions::new().strict_eku().at_time(now),
        ),
        chain: RefCell::new(None),
    };
    let offered = [set];
    let mut chain_buf = vec![0u8; 0x1_0000];
    let mut rng = crate::OsRandom;
    let fail = spdm("authentication");
    let mut req = Requester::new(
        RustCrypto,
        &mut rng,
        RequesterConfig {
            algorithms: &offered,
            handshake_in_the_clear: false,
            data_transfer_size: 4096,
        },
        Auth::Certificate {
            verifier: &verifier,
            chain_buf: &mut chain_buf,
            challenge: true,
        },
    )
    .map_err(fail)?;
    let mut out = vec![0u8; 8192];
    loop {
        let n = req.write_request(&mut out).map_err(fail)?;
        let mut rsp = call(&out[..n])?;
        if req.handle_response(&mut rsp).map_err(fail)? == Status::Established {
            break;
        }
    }
    let mut sess = req.into_session().map_err(fail)?;
    let n = sess.write_end_session(&mut out).map_err(fail)?;
    let mut rsp = call(&out[..n])?;
    sess.handle_response(&mut rsp).map_err(fail)?;
    let chain = verifier
        .chain
        .borrow_mut()
        .take()
        .ok_or_else(|| ProvisionError::Verify("no chain was verified".into()))?;
    let certificates = chain.get(4 + set.hash.len()..).unwrap_or_default().to_vec();
    let leaf = spdm_lite::cert::DerCertificates::new(&certificates)
        .last()
        .and_then(Result::ok)
        .ok_or_else(|| ProvisionError::Verify("empty chain".into()))?;
    let (subject, serial, key) = pki::describe(leaf)?;
    Ok(Provisioned {
        subject,
        serial,
        fingerprint: pki::fingerprint(&key),
        certificates,
    })
}

/// An in-process provisionable sensor (demo and tests): a device key made at "manufacturing",
/// a trusted manufacturer root (installed chains must start at it), slot 0, and factory mode
/// until slot 0 holds a chain (then slot 0 is locked: [`ProvisioningPolicy::FACTORY`]).
pub struct SimSensor {
    key: Zeroizing<Vec<u8>>,
    alg: AsymAlgo,
    subject: Vec<u8>,
    root: Option<Vec<u8>>,
    slot0: Option<Vec<u8>>,
    storage_key: EcdsaSigningKey,
}

impl fmt::Debug for SimSensor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimSensor")
            .field("alg", &self.alg)
            .field("provisioned", &self.slot0.is_some())
            .finish_non_exhaustive()
    }
}

impl SimSensor {
    /// A new unprovisioned sensor on `set` with a fresh key, subject `CN=cn`, trusting
    /// `root` (the manufacturer root its firmware carries; `None` accepts any chain that ends
    /// at its key).
    ///
    /// # Errors
    /// [`PkiError`] if key generation fails or `cn` is longer than 100 bytes.
    pub fn new(set: AlgorithmSet, cn: &str, root: Option<&[u8]>) -> Result<Self, PkiError> {
        let curve = if set.asym == AsymAlgo::EcdsaP256 {
            pki::Curve::P256
        } else {
            pki::Curve::P384
        };
        // The key pair of `cse pki csr`; the CSR made there is not used (the sensor makes
        // its own on GET_CSR).
        let (key, _) = pki::device_csr(curve, cn, None, None)?;
        let storage_key =
            EcdsaSigningKey::from_sec1_der(set.asym, &key).map_err(|_| PkiError::Malformed {
                what: "device key",
                why: "unusable".into(),
            })?;
        // DER Name: SEQUENCE { SET { SEQUENCE { OID 2.5.4.3, UTF8String cn } } }, short-form
        // lengths only.
        let cn_bytes = cn.as_bytes();
        if cn_bytes.len() > 100 {
            return Err(PkiError::Malformed {
                what: "sensor name",
                why: "longer than 100 bytes".into(),
            });
        }
        let atv_len = 5 + 2 + cn_bytes.len();
        let mut subject = vec![0x30, (atv_len + 4) as u8, 0x31, (atv_len + 2) as u8];
        subject.extend([0x30, atv_len as u8, 0x06, 0x03, 0x55, 0x04, 0x03, 0x0c]);
        subject.push(cn_bytes.len() as u8);
        subject.extend_from_slice(cn_bytes);
        Ok(Self {
            key,
            alg: set.asym,
            subject,
            root: root.map(<[u8]>::to_vec),
            slot0: None,
            storage_key,
        })
    }

    /// The key the responder signs CHALLENGE_AUTH / KEY_EXCHANGE_RSP with (the device key).
    ///
    /// # Errors
    /// Never for a sensor made by [`SimSensor::new`].
    pub fn signer(&self) -> Result<EcdsaSigningKey, CryptoError> {
        EcdsaSigningKey::from_sec1_der(self.alg, &self.key)
    }

    /// Whether slot 0 holds a chain.
    pub fn is_provisioned(&self) -> bool {
        self.slot0.is_some()
    }

    /// The chain in slot 0 (SPDM chain format).
    pub fn slot0(&self) -> Option<&[u8]> {
        self.slot0.as_deref()
    }

    /// Runs `f` with this sensor's SPDM responder (with provisioning, set `set`): one
    /// connection's state; `f` feeds it messages ([`Responder::handle`]).
    ///
    /// # Errors
    /// [`spdm_lite::Error`] if the responder cannot be built.
    pub fn serve<R>(
        &mut self,
        set: AlgorithmSet,
        f: impl FnOnce(&mut Responder<'_, RustCrypto, EcdsaSigningKey>) -> R,
    ) -> Result<R, spdm_lite::Error> {
        let signer = self.signer().map_err(spdm_lite::Error::from)?;
        let mut rng = crate::OsRandom;
        let config = ResponderConfig {
            algorithms: set,
            cert_chain: &[],
            psk: None,
            handshake_in_the_clear: false,
            data_transfer_size: 4096,
        };
        let mut rsp = Responder::with_provisioning(RustCrypto, &signer, &mut rng, config, self)?;
        Ok(f(&mut rsp))
    }
}

impl ProvisioningProvider for SimSensor {
    fn algorithm(&self) -> AsymAlgo {
        self.alg
    }
    fn device_public_key(&self, out: &mut [u8]) -> Result<usize, CryptoError> {
        self.storage_key.public_key_sec1(out)
    }
    fn sign_prehash(&self, prehash: &[u8], out: &mut [u8]) -> Result<usize, CryptoError> {
        self.storage_key.sign_prehash(prehash, out)
    }
    fn subject(&self) -> &[u8] {
        &self.subject
    }
    fn factory_mode(&self) -> bool {
        self.slot0.is_none()
    }
    fn policy(&self) -> ProvisioningPolicy {
        ProvisioningPolicy::FACTORY
    }
    fn trusted_root(&self) -> Option<&[u8]> {
        self.root.as_deref()
    }
    fn slot_chain(&self, slot: u8) -> Option<&[u8]> {
        (slot == 0).then_some(self.slot0.as_deref()).flatten()
    }
    fn store_chain(&mut self, slot: u8, chain: &[u8]) -> Result<(), StorageError> {
        if slot != 0 {
            return Err(StorageError::Failed);
        }
        self.slot0 = Some(chain.to_vec());
        Ok(())
    }
    fn check_chain(&self, set: AlgorithmSet, chain: &[u8]) -> Result<(), CertError> {
        // An allocator exists here: the full X.509 validation as a responder identity.
        match &self.root {
            Some(root) => {
                let mut leaf = [0u8; 97];
                X509Verifier::with_options(RustCrypto, root, ValidationOptions::new().strict_eku())
                    .verify_chain(set, Role::Responder, chain, &mut leaf)
                    .map(|_| ())
            }
            None => Ok(()),
        }
    }
}
