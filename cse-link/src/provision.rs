//! The factory station behind `cse provision` and the factory step of `cse demo`
//! (`docs/provisioning.md`): GET_CSR from an unprovisioned sensor, a device certificate signed
//! by the manufacturer's intermediate ([`crate::pki`]), SET_CERTIFICATE, then an independent
//! check of what the sensor now serves: a fresh SPDM connection that fetches the chain
//! (GET_DIGESTS, GET_CERTIFICATE), validates it against the manufacturer root, CHALLENGEs the
//! sensor and opens a session (KEY_EXCHANGE, FINISH, END_SESSION).
//!
//! [`reprovision`] does the same for a sensor that already has an identity (certificate
//! renewal in service): it authenticates the sensor against the manufacturer root, opens a
//! session in which the station authenticates too ([`StationIdentity`], session mutual
//! authentication), and sends GET_CSR and SET_CERTIFICATE inside it.
//!
//! [`PskRecord`] and [`verify_psk`]: the PSK record of `cse provision --psk` for PSK-only
//! sensors (SPDM 1.2 cannot install a PSK) and the check, through PSK_EXCHANGE / PSK_FINISH,
//! that a programmed sensor holds it.
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
use spdm_lite::mut_auth::RequesterIdentity;
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
    /// The sensor offers no provisioning at all (no CSR_CAP/SET_CERT_CAP), not even inside
    /// an authenticated session ([`reprovision`]).
    #[error(
        "the sensor does not provision (no CSR_CAP/SET_CERT_CAP): its policy admits no \
         re-provisioning"
    )]
    NoProvisioning,
    /// The sensor's CSR is not for the key it authenticated with ([`reprovision`]).
    #[error("the CSR's key is not the key the sensor authenticated with")]
    KeyChanged,
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
    let mut buf = vec![0u8; 8192];
    let mut call = |msg: &[u8]| transact(msg).map_err(ProvisionError::Transport);
    let Some(mut p) = vca(&mut call, &sets)? else {
        return Err(ProvisionError::NotInFactoryMode);
    };
    let n = p
        .write_get_csr(&[], &[], &mut buf)
        .map_err(spdm("GET_CSR"))?;
    let rsp = call(&buf[..n])?;
    let mut csr = vec![0u8; spdm_lite::provisioning::MAX_CSR_LEN];
    let k = p.handle_csr(&rsp, &mut csr).map_err(spdm("CSR"))?;
    let req = pki::verify_csr(&csr[..k])?;
    let (certificates, chain) = device_chain(ca, &req, opts)?;
    let n = p
        .write_set_certificate(0, &chain, &mut buf)
        .map_err(spdm("SET_CERTIFICATE"))?;
    let rsp = call(&buf[..n])?;
    p.handle_set_certificate(&rsp)
        .map_err(spdm("SET_CERTIFICATE"))?;

    let served = authenticate(&mut call, &ca.root_cert, set)?;
    check_served(served, &certificates, &req.public_key)
}

/// VCA with a [`Provisioner`] offering `sets`; `None` when the sensor does not advertise
/// `CSR_CAP | SET_CERT_CAP`.
fn vca<'a>(
    call: &mut Call<'_>,
    sets: &'a [AlgorithmSet],
) -> Result<Option<Provisioner<'a>>, ProvisionError> {
    let mut p = Provisioner::new(ProvisionerConfig {
        algorithms: sets,
        data_transfer_size: 4096,
    })
    .map_err(spdm("provisioner"))?;
    let mut buf = vec![0u8; 8192];
    while !p.is_ready() {
        let n = p.write_request(&mut buf).map_err(spdm("VCA"))?;
        let rsp = call(&buf[..n])?;
        p.handle_response(&rsp).map_err(spdm("VCA"))?;
    }
    Ok(p.responder_capabilities()
        .has(CapFlags::CSR | CapFlags::SET_CERT)
        .then_some(p))
}

/// The device certificate for the checked CSR `req`, issued by `ca`'s intermediate
/// (responder-auth EKU), and the chain slot 0 gets: the certificates root ‖ intermediate ‖
/// device (concatenated DER) and the same in the SPDM chain format.
fn device_chain(
    ca: &CaSet,
    req: &pki::VerifiedCsr,
    opts: &ProvisionOptions,
) -> Result<(Vec<u8>, Vec<u8>), ProvisionError> {
    let leaf = pki::issue(
        ca,
        req,
        &IssueOptions {
            serial: opts.serial.clone(),
            device_serial: opts.device_serial.clone(),
            ..IssueOptions::new(CertRole::Responder)
        },
    )?;
    let certificates = [ca.root_cert.as_slice(), &ca.inter_cert, &leaf].concat();
    let chain = spdm_chain(ca.curve.set(), &ca.root_cert, &certificates)?;
    Ok((certificates, chain))
}

/// `certificates` (concatenated DER, root first) in the SPDM chain format for `set`.
fn spdm_chain(
    set: AlgorithmSet,
    root: &[u8],
    certificates: &[u8],
) -> Result<Vec<u8>, ProvisionError> {
    let mut chain = vec![0u8; certificates.len() + 4 + 64];
    let n = encode_spdm_chain(&RustCrypto, set.hash, root, certificates, &mut chain)
        .map_err(spdm("chain"))?;
    chain.truncate(n);
    Ok(chain)
}

/// The final check of both flows: the sensor serves exactly the chain installed, for the key
/// of its CSR.
fn check_served(
    served: Provisioned,
    certificates: &[u8],
    csr_key: &[u8],
) -> Result<Provisioned, ProvisionError> {
    if served.certificates != certificates {
        return Err(ProvisionError::Verify(
            "the sensor serves another chain than the one installed".into(),
        ));
    }
    if served.fingerprint != pki::fingerprint(csr_key) {
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
    authenticate_as(call, root, set, None)
}

/// [`authenticate`], taking part in session mutual authentication with `identity` when the
/// sensor asks for it.
fn authenticate_as(
    call: &mut Call<'_>,
    root: &[u8],
    set: AlgorithmSet,
    identity: Option<RequesterIdentity<'_>>,
) -> Result<Provisioned, ProvisionError> {
    let fail = spdm("authentication");
    let verifier = recording(root);
    let mut chain_buf = vec![0u8; 0x1_0000];
    let mut rng = crate::OsRandom;
    let offered = [set];
    let mut req = requester(&offered, &verifier, &mut chain_buf, &mut rng, true).map_err(fail)?;
    if let Some(identity) = identity {
        req = req.with_mutual_auth(identity);
    }
    let mut sess = handshake(call, req, fail)?;
    end_session(call, &mut sess, fail)?;
    served_identity(&verifier, set)
}

/// A [`Recording`] X.509 verifier anchored at `root` (strict SPDM EKU, current time).
fn recording(root: &[u8]) -> Recording<'_> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    Recording {
        inner: X509Verifier::with_options(
            RustCrypto,
            root,
            ValidationOptions::new().strict_eku().at_time(now),
        ),
        chain: RefCell::new(None),
    }
}

/// A certificate-authenticating requester offering `offered`.
fn requester<'a>(
    offered: &'a [AlgorithmSet],
    verifier: &'a Recording<'_>,
    chain_buf: &'a mut [u8],
    rng: &'a mut crate::OsRandom,
    challenge: bool,
) -> Result<Requester<'a, RustCrypto>, spdm_lite::Error> {
    Requester::new(
        RustCrypto,
        rng,
        RequesterConfig {
            algorithms: offered,
            handshake_in_the_clear: false,
            data_transfer_size: 4096,
        },
        Auth::Certificate {
            verifier,
            chain_buf,
            challenge,
        },
    )
}

/// Runs `req` until its session is established.
fn handshake(
    call: &mut Call<'_>,
    mut req: Requester<'_, RustCrypto>,
    fail: impl Fn(spdm_lite::Error) -> ProvisionError + Copy,
) -> Result<spdm_lite::requester::RequesterSession<RustCrypto>, ProvisionError> {
    let mut out = vec![0u8; 8192];
    loop {
        let n = req.write_request(&mut out).map_err(fail)?;
        let mut rsp = call(&out[..n])?;
        if req.handle_response(&mut rsp).map_err(fail)? == Status::Established {
            break;
        }
    }
    req.into_session().map_err(fail)
}

/// END_SESSION.
fn end_session(
    call: &mut Call<'_>,
    sess: &mut spdm_lite::requester::RequesterSession<RustCrypto>,
    fail: impl Fn(spdm_lite::Error) -> ProvisionError + Copy,
) -> Result<(), ProvisionError> {
    let mut out = vec![0u8; 8192];
    let n = sess.write_end_session(&mut out).map_err(fail)?;
    let mut rsp = call(&out[..n])?;
    sess.handle_response(&mut rsp).map_err(fail)?;
    Ok(())
}

/// The identity of the chain `verifier` accepted.
fn served_identity(
    verifier: &Recording<'_>,
    set: AlgorithmSet,
) -> Result<Provisioned, ProvisionError> {
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

/// A factory station's own SPDM requester identity, for provisioning inside a session with
/// session mutual authentication ([`reprovision`]): its certificate chain (root first, as
/// `cse pki issue --role requester --chain-out` writes it) and its private key. The sensor
/// must trust the chain's root for requesters. The key is never printed (`Debug` omits it).
pub struct StationIdentity {
    curve: pki::Curve,
    root: Vec<u8>,
    certificates: Vec<u8>,
    key: EcdsaSigningKey,
    subject: String,
}

impl fmt::Debug for StationIdentity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StationIdentity")
            .field("curve", &self.curve)
            .field("subject", &self.subject)
            .field("chain_len", &self.certificates.len())
            .finish_non_exhaustive()
    }
}

fn station_error(why: &str) -> PkiError {
    PkiError::Malformed {
        what: "station identity",
        why: why.into(),
    }
}

impl StationIdentity {
    /// The identity of the concatenated DER `certificates` (root first, the station's
    /// certificate last) and the private key `key_der` (SEC1 or PKCS#8 DER) on `curve`. The
    /// chain is checked as a requester chain under its own first certificate (strict SPDM
    /// requester-auth EKU, validity now), and the key must be the last certificate's.
    ///
    /// # Errors
    /// [`PkiError::Chain`] for a chain that does not validate, [`PkiError::Malformed`] for a
    /// key that is not a `curve` key or not the certificate's.
    pub fn new(curve: pki::Curve, certificates: &[u8], key_der: &[u8]) -> Result<Self, PkiError> {
        let mut certs = spdm_lite::cert::DerCertificates::new(certificates);
        let root = certs
            .next()
            .and_then(Result::ok)
            .ok_or_else(|| station_error("no certificate"))?
            .to_vec();
        let leaf = spdm_lite::cert::DerCertificates::new(certificates)
            .last()
            .and_then(Result::ok)
            .ok_or_else(|| station_error("no certificate"))?;
        let leaf_key = pki::verify_chain(&root, certificates, curve, CertRole::Requester)
            .map_err(PkiError::Chain)?;
        let key = pki::signing_key(curve, key_der)?;
        let mut pk = [0u8; 97];
        let n = key
            .public_key_sec1(&mut pk)
            .map_err(|_| station_error("unusable key"))?;
        if pk.get(..n) != Some(&leaf_key[..]) {
            return Err(station_error(
                "the key is not the key of the station certificate",
            ));
        }
        let (subject, ..) = pki::describe(leaf)?;
        Ok(Self {
            curve,
            root,
            certificates: certificates.to_vec(),
            key,
            subject,
        })
    }

    /// Reads the chain file `cert` and the key file `key` (see [`StationIdentity::new`]);
    /// the key's bytes are zeroized after use.
    ///
    /// # Errors
    /// [`PkiError::Io`] for a file that cannot be read, else as [`StationIdentity::new`].
    pub fn read(
        curve: pki::Curve,
        cert: &std::path::Path,
        key: &std::path::Path,
    ) -> Result<Self, PkiError> {
        let io = |path: &std::path::Path| {
            let p = path.display().to_string();
            move |source| PkiError::Io { path: p, source }
        };
        let certificates = std::fs::read(cert).map_err(io(cert))?;
        let key_der = Zeroizing::new(std::fs::read(key).map_err(io(key))?);
        Self::new(curve, &certificates, &key_der)
    }

    /// The station certificate's subject (RFC 4514).
    pub fn subject(&self) -> &str {
        &self.subject
    }
}

/// Re-provisions a sensor that already has an identity (certificate renewal in service),
/// inside a session in which the station authenticates with `station`:
///
/// 1. VCA; a sensor that offers no provisioning (no `CSR_CAP | SET_CERT_CAP`) is
///    [`ProvisionError::NoProvisioning`];
/// 2. GET_DIGESTS and GET_CERTIFICATE of the sensor's current chain, validated against
///    `ca`'s root; KEY_EXCHANGE, the sensor's encapsulated requests for the station's chain
///    answered from `station`, FINISH signed by the station key;
/// 3. inside the session GET_CSR: the CSR must verify and certify the key the sensor just
///    authenticated with ([`ProvisionError::KeyChanged`]); the device certificate is issued
///    as in [`provision`] and installed with SET_CERTIFICATE in slot 0; END_SESSION, which
///    the station also sends (best effort) when anything fails once the session is
///    established, unless the transport itself failed;
/// 4. the check of [`provision`] on a fresh connection (with mutual authentication when the
///    sensor asks for it): the sensor serves exactly the new chain, for the key of its CSR.
///
/// # Errors
/// [`ProvisionError`]: the step that failed (a sensor that refuses the station's certificate
/// fails the handshake, before anything is sent to provision).
pub fn reprovision(
    transact: &mut Transact<'_>,
    ca: &CaSet,
    station: &StationIdentity,
    opts: &ProvisionOptions,
) -> Result<Provisioned, ProvisionError> {
    if station.curve != ca.curve {
        return Err(station_error("on another curve than the CA").into());
    }
    let set = ca.curve.set();
    let sets = [set];
    let mut call = |msg: &[u8]| transact(msg).map_err(ProvisionError::Transport);
    if vca(&mut call, &sets)?.is_none() {
        return Err(ProvisionError::NoProvisioning);
    }
    let station_chain = spdm_chain(set, &station.root, &station.certificates)?;
    let identity = || RequesterIdentity {
        signer: &station.key,
        cert_chain: &station_chain,
        public_key: None,
    };
    let verifier = recording(&ca.root_cert);
    let mut chain_buf = vec![0u8; 0x1_0000];
    let mut rng = crate::OsRandom;
    let fail = spdm("session with mutual authentication");
    let req = requester(&sets, &verifier, &mut chain_buf, &mut rng, false)
        .map_err(fail)?
        .with_mutual_auth(identity());
    let mut sess = handshake(&mut call, req, fail)?;
    let renewed = renew_in_session(&mut call, &mut sess, &verifier, ca, opts);
    // The session ends on every path from here (its secrets go with it when `sess` drops).
    let (certificates, req) = match renewed {
        Ok(r) => {
            end_session(&mut call, &mut sess, spdm("END_SESSION"))?;
            r
        }
        Err(e) => {
            // Best effort: the sensor need not keep the session until it times out. A
            // transport that already failed is not tried again, and a failure here does not
            // hide `e`, the reason the user must see.
            if !matches!(e, ProvisionError::Transport(_)) {
                let _ = end_session(&mut call, &mut sess, spdm("END_SESSION"));
            }
            return Err(e);
        }
    };
    drop(sess);

    let served = authenticate_as(&mut call, &ca.root_cert, set, Some(identity()))?;
    check_served(served, &certificates, &req.public_key)
}

/// Step 3 of [`reprovision`] inside the established session `sess`: GET_CSR, the CSR checked
/// against the key `verifier` accepted, the device certificate issued, SET_CERTIFICATE. Returns
/// the certificates installed (root first) and the checked CSR. The caller ends the session
/// whatever this returns.
fn renew_in_session(
    call: &mut Call<'_>,
    sess: &mut spdm_lite::requester::RequesterSession<RustCrypto>,
    verifier: &Recording<'_>,
    ca: &CaSet,
    opts: &ProvisionOptions,
) -> Result<(Vec<u8>, pki::VerifiedCsr), ProvisionError> {
    let previous = served_identity(verifier, ca.curve.set())?;
    let mut buf = vec![0u8; 8192];
    let n = sess
        .write_get_csr(&[], &[], &mut buf)
        .map_err(spdm("GET_CSR"))?;
    let mut rsp = call(&buf[..n])?;
    let mut csr = vec![0u8; spdm_lite::provisioning::MAX_CSR_LEN];
    let k = sess.handle_csr(&mut rsp, &mut csr).map_err(spdm("CSR"))?;
    let req = pki::verify_csr(&csr[..k])?;
    if pki::fingerprint(&req.public_key) != previous.fingerprint {
        return Err(ProvisionError::KeyChanged);
    }
    let (certificates, chain) = device_chain(ca, &req, opts)?;
    let n = sess
        .write_set_certificate(0, &chain, &mut buf)
        .map_err(spdm("SET_CERTIFICATE"))?;
    let mut rsp = call(&buf[..n])?;
    sess.handle_set_certificate(&mut rsp, 0)
        .map_err(spdm("SET_CERTIFICATE"))?;
    Ok((certificates, req))
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

/// The length of a PSK made by [`PskRecord::generate`] (bytes).
pub const PSK_LEN: usize = 32;

/// Why a PSK record could not be made, written or read.
#[derive(Debug, thiserror::Error)]
pub enum PskRecordError {
    /// The OS random number generator failed.
    #[error("the OS random number generator failed")]
    Rng,
    /// The file could not be created, written or read (an existing file is never replaced).
    #[error("{path}: {error}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        error: std::io::Error,
    },
    /// The record (or a field for it) is malformed; the message never contains the key.
    #[error("PSK record: {0}")]
    Malformed(&'static str),
}

/// A PSK record (`docs/provisioning.md`, "PSK-only sensors"): the device serial, the PSK hint
/// the ECU sends in PSK_EXCHANGE, and the pre-shared key. The key is zeroized on drop, the
/// record is not `Clone`, and `Debug` omits the key.
///
/// The file format is UTF-8 text, one `name: value` line each, in this order:
///
/// ```text
/// # cse PSK record v1: SECRET, ...
/// device-serial: SN-0001
/// psk-hint: SN-0001
/// psk: <64 lowercase hex digits>
/// ```
///
/// Lines starting with `#` are comments; `device-serial` may be absent. Serial and hint are
/// printable text without line breaks.
pub struct PskRecord {
    /// The device serial, if known.
    pub device_serial: Option<String>,
    /// The PSK hint (UTF-8 text, sent in the clear in PSK_EXCHANGE).
    pub hint: String,
    key: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for PskRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PskRecord")
            .field("device_serial", &self.device_serial)
            .field("hint", &self.hint)
            .finish_non_exhaustive()
    }
}

fn check_text(s: &str, what: &'static str) -> Result<(), PskRecordError> {
    if s.is_empty() || s.len() > 255 || s.chars().any(char::is_control) || s.trim() != s {
        return Err(PskRecordError::Malformed(what));
    }
    Ok(())
}

impl PskRecord {
    /// A record with a fresh [`PSK_LEN`]-byte key from the OS random number generator.
    ///
    /// # Errors
    /// [`PskRecordError::Malformed`] for an empty serial or hint, one longer than 255 bytes,
    /// with control characters or surrounding spaces; [`PskRecordError::Rng`].
    pub fn generate(device_serial: Option<String>, hint: String) -> Result<Self, PskRecordError> {
        if let Some(s) = &device_serial {
            check_text(s, "bad device serial")?;
        }
        check_text(&hint, "bad PSK hint")?;
        let mut key = Zeroizing::new(vec![0u8; PSK_LEN]);
        getrandom::fill(&mut key).map_err(|_| PskRecordError::Rng)?;
        Ok(Self {
            device_serial,
            hint,
            key,
        })
    }

    /// A record from a known key (tests, or a key made elsewhere).
    ///
    /// # Errors
    /// As [`PskRecord::generate`], and a key that is not 16 to 64 bytes.
    pub fn from_key(
        device_serial: Option<String>,
        hint: String,
        key: &[u8],
    ) -> Result<Self, PskRecordError> {
        if let Some(s) = &device_serial {
            check_text(s, "bad device serial")?;
        }
        check_text(&hint, "bad PSK hint")?;
        if !(16..=64).contains(&key.len()) {
            return Err(PskRecordError::Malformed("the PSK must be 16 to 64 bytes"));
        }
        Ok(Self {
            device_serial,
            hint,
            key: Zeroizing::new(key.to_vec()),
        })
    }

    /// The pre-shared key. Secret: never print it, nor anything derived from it.
    pub fn key(&self) -> &[u8] {
        &self.key
    }

    /// The record in its file format (see the type's documentation); zeroized on drop.
    pub fn to_text(&self) -> Zeroizing<String> {
        let mut t = Zeroizing::new(String::with_capacity(256));
        t.push_str(
            "# cse PSK record v1: SECRET. Program into the sensor's secure storage and the ECU's \
             key store, then destroy.\n",
        );
        if let Some(s) = &self.device_serial {
            t.push_str("device-serial: ");
            t.push_str(s);
            t.push('\n');
        }
        t.push_str("psk-hint: ");
        t.push_str(&self.hint);
        t.push_str("\npsk: ");
        for b in self.key.iter() {
            t.push(char::from(b"0123456789abcdef"[usize::from(b >> 4)]));
            t.push(char::from(b"0123456789abcdef"[usize::from(b & 15)]));
        }
        t.push('\n');
        t
    }

    /// Parses a record (see the type's documentation).
    ///
    /// # Errors
    /// [`PskRecordError::Malformed`]: an unknown, repeated or missing line, bad hex, a key
    /// that is not 16 to 64 bytes.
    pub fn parse(text: &str) -> Result<Self, PskRecordError> {
        let (mut serial, mut hint, mut key) = (None, None, None);
        for line in text.lines() {
            if line.starts_with('#') || line.trim().is_empty() {
                continue;
            }
            let (name, value) = line
                .split_once(": ")
                .ok_or(PskRecordError::Malformed("a line is not `name: value`"))?;
            let slot = match name {
                "device-serial" => &mut serial,
                "psk-hint" => &mut hint,
                "psk" => &mut key,
                _ => return Err(PskRecordError::Malformed("unknown line")),
            };
            if slot.replace(value).is_some() {
                return Err(PskRecordError::Malformed("repeated line"));
            }
        }
        let hint = hint.ok_or(PskRecordError::Malformed("no psk-hint line"))?;
        let hex = key.ok_or(PskRecordError::Malformed("no psk line"))?;
        if hex.len() % 2 != 0 {
            return Err(PskRecordError::Malformed("bad PSK hex"));
        }
        let mut k = Zeroizing::new(Vec::with_capacity(hex.len() / 2));
        for pair in hex.as_bytes().chunks(2) {
            let d = |c: u8| char::from(c).to_digit(16);
            match (d(pair[0]), d(pair[1])) {
                (Some(h), Some(l)) => k.push((h * 16 + l) as u8),
                _ => return Err(PskRecordError::Malformed("bad PSK hex")),
            }
        }
        Self::from_key(serial.map(str::to_owned), hint.to_owned(), &k)
    }

    /// Writes the record to a new file `path`, created with mode 0600 (owner read/write only,
    /// on Unix). An existing file is never opened for writing nor changed.
    ///
    /// # Errors
    /// [`PskRecordError::Io`], `AlreadyExists` when `path` exists.
    pub fn write_new(&self, path: &std::path::Path) -> Result<(), PskRecordError> {
        use std::io::Write as _;
        let io = |error| PskRecordError::Io {
            path: path.display().to_string(),
            error,
        };
        let mut o = std::fs::OpenOptions::new();
        o.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
        let mut f = o.open(path).map_err(io)?;
        f.write_all(self.to_text().as_bytes()).map_err(io)?;
        f.sync_all().map_err(io)
    }

    /// Reads and parses the record file `path`.
    ///
    /// # Errors
    /// [`PskRecordError::Io`] or [`PskRecordError::Malformed`].
    pub fn read(path: &std::path::Path) -> Result<Self, PskRecordError> {
        let text =
            Zeroizing::new(
                std::fs::read_to_string(path).map_err(|error| PskRecordError::Io {
                    path: path.display().to_string(),
                    error,
                })?,
            );
        Self::parse(&text)
    }
}

/// Checks that the sensor behind `call` holds `record`'s PSK, as a vehicle ECU would: VCA
/// (offering sets A and B), PSK_EXCHANGE with the record's hint, PSK_FINISH when the sensor
/// asks for it, END_SESSION.
///
/// # Errors
/// [`ProvisionError::Transport`], or [`ProvisionError::Spdm`] when the sensor does not
/// complete the PSK session (another PSK or hint, no PSK capability).
pub fn verify_psk(call: &mut Call<'_>, record: &PskRecord) -> Result<(), ProvisionError> {
    let offered = [AlgorithmSet::SET_B, AlgorithmSet::SET_A];
    let mut rng = crate::OsRandom;
    let fail = spdm("PSK session");
    let mut req = Requester::new(
        RustCrypto,
        &mut rng,
        RequesterConfig {
            algorithms: &offered,
            handshake_in_the_clear: false,
            data_transfer_size: 4096,
        },
        Auth::Psk {
            hint: record.hint.as_bytes(),
            key: record.key(),
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
    Ok(())
}
