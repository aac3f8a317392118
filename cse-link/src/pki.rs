//! The manufacturer PKI behind `cse pki` and `cse provision` (`docs/provisioning.md`).
//!
//! A manufacturer keeps a **root CA** (offline; its certificate is what a vehicle ECU trusts)
//! and an **intermediate CA** (on the factory station; it signs device certificates). A device
//! creates its own key pair and sends a PKCS#10 certificate signing request (SPDM GET_CSR);
//! [`issue`] checks the request's signature and signs a device certificate with the extensions
//! the SPDM chain rules of [`spdm_lite::x509`] require:
//!
//! | certificate  | basicConstraints (critical) | keyUsage (critical)       | extKeyUsage                 |
//! |--------------|-----------------------------|---------------------------|-----------------------------|
//! | root         | CA, pathLen 1               | keyCertSign, cRLSign      | -                           |
//! | intermediate | CA, pathLen 0               | keyCertSign, cRLSign      | -                           |
//! | device       | not a CA                    | digitalSignature          | SPDM responder-auth or requester-auth |
//!
//! Every certificate carries a subjectKeyIdentifier, and every non-root one an
//! authorityKeyIdentifier equal to its issuer's. The device certificate's subject is the
//! request's subject with the device serial number (`serialNumber`, 2.5.4.5) in it.
//!
//! Certificates are built with `rcgen` (signatures by `ring`), requests are parsed with
//! `x509-cert` and their signatures checked with the RustCrypto ECDSA of `p256`/`p384`; every
//! issued chain is checked again by the project's own verifier ([`verify_chain`]) before it is
//! returned. Private keys leave this module as PKCS#8 DER (CA keys) or SEC1 DER (device keys,
//! the format of `spdm_lite::crypto::EcdsaSigningKey::from_sec1_der`), in [`Zeroizing`] buffers.

use std::fmt;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use der::asn1::ObjectIdentifier;
use der::{Decode, Encode, Tag, Tagged};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, DnValue,
    ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair, KeyUsagePurpose, PublicKeyData,
    SerialNumber, SignatureAlgorithm,
};
use spdm_lite::cert::{ChainVerifier, encode_spdm_chain};
use spdm_lite::crypto::{AlgorithmSet, RustCrypto};
use spdm_lite::session::Role as SpdmRole;
use spdm_lite::x509::{ValidationOptions, X509Verifier};
use x509_cert::Certificate;
use x509_cert::ext::pkix::SubjectKeyIdentifier;
use x509_cert::request::CertReq;
use zeroize::Zeroizing;

const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_WITH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
/// X.520 `serialNumber`, the device serial in a subject name.
const SERIAL_NUMBER: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.5");
/// DSP0274 `id-DMTF-eku-responder-auth`.
const SPDM_RESPONDER_AUTH: &[u64] = &[1, 3, 6, 1, 4, 1, 412, 274, 3];
/// DSP0274 `id-DMTF-eku-requester-auth`.
const SPDM_REQUESTER_AUTH: &[u64] = &[1, 3, 6, 1, 4, 1, 412, 274, 4];

/// The file names of a CA directory written by [`CaSet::write_dir`].
pub mod files {
    /// The root certificate (DER): the trust anchor an ECU is provisioned with.
    pub const ROOT_CERT: &str = "root.cert.der";
    /// The root's private key (PKCS#8 DER): keep it offline.
    pub const ROOT_KEY: &str = "root.key.der";
    /// The intermediate certificate (DER), signed by the root.
    pub const INTER_CERT: &str = "inter.cert.der";
    /// The intermediate's private key (PKCS#8 DER): the factory station's signing key.
    pub const INTER_KEY: &str = "inter.key.der";
    /// The root certificate in PEM, for tools that want it (libspdm, openssl).
    pub const ROOT_PEM: &str = "root.cert.pem";
}

/// Why a PKI operation failed.
#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// A certificate, key or request is not well-formed, or uses what the tool does not
    /// support.
    #[error("malformed {what}: {why}")]
    Malformed {
        /// What was being read.
        what: &'static str,
        /// Why it was refused.
        why: String,
    },
    /// The certificate signing request's signature does not verify with its own public key.
    #[error("the certificate signing request's signature does not verify")]
    BadCsrSignature,
    /// The request's key is not on the CA's curve.
    #[error("the request's key is on {request}, the CA signs {ca} keys")]
    CurveMismatch {
        /// The request's curve.
        request: Curve,
        /// The CA's curve.
        ca: Curve,
    },
    /// Certificate generation failed (rcgen).
    #[error("certificate generation: {0}")]
    Generate(String),
    /// The chain does not pass `spdm_lite::x509` for the role.
    #[error("the chain does not validate: {0:?}")]
    Chain(spdm_lite::cert::CertError),
}

impl From<rcgen::Error> for PkiError {
    fn from(e: rcgen::Error) -> Self {
        PkiError::Generate(e.to_string())
    }
}

fn malformed(what: &'static str, why: impl fmt::Display) -> PkiError {
    PkiError::Malformed {
        what,
        why: why.to_string(),
    }
}

/// The curve of a PKI: P-256 (SPDM algorithm set A) or P-384 (set B).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Curve {
    /// NIST P-256 keys, ecdsa-with-SHA256 signatures.
    P256,
    /// NIST P-384 keys, ecdsa-with-SHA384 signatures.
    P384,
}

impl fmt::Display for Curve {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Curve::P256 => "P-256",
            Curve::P384 => "P-384",
        })
    }
}

impl Curve {
    fn alg(self) -> &'static SignatureAlgorithm {
        match self {
            Curve::P256 => &rcgen::PKCS_ECDSA_P256_SHA256,
            Curve::P384 => &rcgen::PKCS_ECDSA_P384_SHA384,
        }
    }

    /// The SPDM algorithm set whose asymmetric algorithm and hash this curve's chains use.
    pub fn set(self) -> AlgorithmSet {
        match self {
            Curve::P256 => AlgorithmSet::SET_A,
            Curve::P384 => AlgorithmSet::SET_B,
        }
    }

    fn from_spki(spki: &x509_cert::spki::SubjectPublicKeyInfoOwned) -> Result<Self, PkiError> {
        if spki.algorithm.oid != EC_PUBLIC_KEY {
            return Err(malformed("public key", "not an EC public key"));
        }
        let curve = spki
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok());
        match curve {
            Some(c) if c == SECP256R1 => Ok(Curve::P256),
            Some(c) if c == SECP384R1 => Ok(Curve::P384),
            _ => Err(malformed("public key", "neither P-256 nor P-384")),
        }
    }
}

/// Which SPDM role a device certificate authenticates (its extended key usage).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CertRole {
    /// A sensor or bridge (SPDM responder): EKU `id-DMTF-eku-responder-auth`.
    Responder,
    /// An ECU or factory station (SPDM requester): EKU `id-DMTF-eku-requester-auth`.
    Requester,
}

impl CertRole {
    fn spdm(self) -> SpdmRole {
        match self {
            CertRole::Responder => SpdmRole::Responder,
            CertRole::Requester => SpdmRole::Requester,
        }
    }
}

/// A manufacturer's root and intermediate CA, certificates and private keys.
pub struct CaSet {
    /// The curve of both CA keys (and of the device keys they certify).
    pub curve: Curve,
    /// The root certificate (DER).
    pub root_cert: Vec<u8>,
    /// The root's private key (PKCS#8 DER).
    pub root_key: Zeroizing<Vec<u8>>,
    /// The intermediate certificate (DER).
    pub inter_cert: Vec<u8>,
    /// The intermediate's private key (PKCS#8 DER).
    pub inter_key: Zeroizing<Vec<u8>>,
}

impl fmt::Debug for CaSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaSet")
            .field("curve", &self.curve)
            .field("root_cert", &self.root_cert.len())
            .field("inter_cert", &self.inter_cert.len())
            .finish_non_exhaustive()
    }
}

/// Days since 1970-01-01 of the current UTC day.
fn today() -> Duration {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    Duration::from_secs(now - now % 86_400)
}

fn years(n: u32) -> Duration {
    // 365.25 days a year, rounded down to whole days.
    Duration::from_secs(u64::from(n) * 36_525 / 100 * 86_400)
}

fn name(cn: &str, org: Option<&str>) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    if let Some(o) = org {
        dn.push(DnType::OrganizationName, o);
    }
    dn.push(DnType::CommonName, cn);
    dn
}

/// Creates a root CA and an intermediate CA on `curve`, valid from today for `years_valid`
/// years (the intermediate for the same period). Their names are `"{org} Root CA"` and
/// `"{org} Intermediate CA"` with organization `org`.
///
/// # Errors
/// [`PkiError::Generate`] if key or certificate generation fails.
pub fn init(curve: Curve, org: &str, years_valid: u32) -> Result<CaSet, PkiError> {
    let epoch = rcgen::date_time_ymd(1970, 1, 1);
    let not_before = epoch + today();
    let not_after = not_before + years(years_valid);
    let root_key = KeyPair::generate_for(curve.alg())?;
    let mut root = CertificateParams::default();
    root.distinguished_name = name(&format!("{org} Root CA"), Some(org));
    root.is_ca = IsCa::Ca(BasicConstraints::Constrained(1));
    root.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    root.serial_number = Some(SerialNumber::from_slice(&[1]));
    root.not_before = not_before;
    root.not_after = not_after;
    let root_cert = root.self_signed(&root_key)?;
    let root_issuer = Issuer::new(root, &root_key);

    let inter_key = KeyPair::generate_for(curve.alg())?;
    let mut inter = CertificateParams::default();
    inter.distinguished_name = name(&format!("{org} Intermediate CA"), Some(org));
    inter.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    inter.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    inter.use_authority_key_identifier_extension = true;
    inter.serial_number = Some(SerialNumber::from_slice(&[2]));
    inter.not_before = not_before;
    inter.not_after = not_after;
    let inter_cert = inter.signed_by(&inter_key, &root_issuer)?;
    Ok(CaSet {
        curve,
        root_cert: root_cert.der().to_vec(),
        root_key: Zeroizing::new(root_key.serialize_der()),
        inter_cert: inter_cert.der().to_vec(),
        inter_key: Zeroizing::new(inter_key.serialize_der()),
    })
}

fn read(path: &Path) -> Result<Vec<u8>, PkiError> {
    std::fs::read(path).map_err(|source| PkiError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// Writes `bytes` to a new file `path` (never overwrites); `secret` files get mode 0600.
///
/// # Errors
/// [`PkiError::Io`] if the file exists or cannot be written.
pub fn write_new(path: &Path, bytes: &[u8], secret: bool) -> Result<(), PkiError> {
    use std::io::Write;
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    opts.open(path)
        .and_then(|mut f| f.write_all(bytes))
        .map_err(|source| PkiError::Io {
            path: path.display().to_string(),
            source,
        })
}

/// PEM (RFC 7468) of a DER document.
pub fn pem(label: &str, der: &[u8]) -> String {
    use base64ct::{Base64, Encoding};
    let b64 = Base64::encode_string(der);
    let mut s = format!("-----BEGIN {label}-----\n");
    for line in b64.as_bytes().chunks(64) {
        s.push_str(&String::from_utf8_lossy(line));
        s.push('\n');
    }
    s.push_str(&format!("-----END {label}-----\n"));
    s
}

impl CaSet {
    /// Writes the CA into `dir` (created if missing) under the names of [`files`]; never
    /// overwrites a file.
    ///
    /// # Errors
    /// [`PkiError::Io`] if the directory cannot be created or a file exists already.
    pub fn write_dir(&self, dir: &Path) -> Result<(), PkiError> {
        std::fs::create_dir_all(dir).map_err(|source| PkiError::Io {
            path: dir.display().to_string(),
            source,
        })?;
        // Refuse before writing anything, so that an existing CA is left whole.
        for f in [
            files::ROOT_CERT,
            files::ROOT_KEY,
            files::INTER_CERT,
            files::INTER_KEY,
            files::ROOT_PEM,
        ] {
            if dir.join(f).exists() {
                return Err(PkiError::Io {
                    path: dir.join(f).display().to_string(),
                    source: std::io::ErrorKind::AlreadyExists.into(),
                });
            }
        }
        write_new(&dir.join(files::ROOT_KEY), &self.root_key, true)?;
        write_new(&dir.join(files::INTER_KEY), &self.inter_key, true)?;
        write_new(&dir.join(files::ROOT_CERT), &self.root_cert, false)?;
        write_new(&dir.join(files::INTER_CERT), &self.inter_cert, false)?;
        write_new(
            &dir.join(files::ROOT_PEM),
            pem("CERTIFICATE", &self.root_cert).as_bytes(),
            false,
        )
    }

    /// Reads a CA directory written by [`CaSet::write_dir`]. The keys may be PKCS#8 or SEC1
    /// DER; each must match its certificate.
    ///
    /// # Errors
    /// [`PkiError::Io`] for a missing file, [`PkiError::Malformed`] for a file that is not
    /// what its name says or a key that is not its certificate's.
    pub fn read_dir(dir: &Path) -> Result<Self, PkiError> {
        let root_cert = read(&dir.join(files::ROOT_CERT))?;
        let inter_cert = read(&dir.join(files::INTER_CERT))?;
        let root =
            Certificate::from_der(&root_cert).map_err(|e| malformed("root certificate", e))?;
        let inter = Certificate::from_der(&inter_cert)
            .map_err(|e| malformed("intermediate certificate", e))?;
        let curve = Curve::from_spki(root.tbs_certificate().subject_public_key_info())?;
        if Curve::from_spki(inter.tbs_certificate().subject_public_key_info())? != curve {
            return Err(malformed("CA", "root and intermediate on different curves"));
        }
        let root_key = load_key(curve, &read(&dir.join(files::ROOT_KEY))?)?;
        let inter_key = load_key(curve, &read(&dir.join(files::INTER_KEY))?)?;
        for (key, cert, what) in [
            (&root_key, &root, "root key"),
            (&inter_key, &inter, "intermediate key"),
        ] {
            let kp = KeyPair::try_from(key.as_slice()).map_err(|e| malformed(what, e))?;
            let spki = cert.tbs_certificate().subject_public_key_info();
            if Some(kp.public_key_raw()) != spki.subject_public_key.as_bytes() {
                return Err(malformed(what, "does not match its certificate"));
            }
        }
        Ok(CaSet {
            curve,
            root_cert,
            root_key,
            inter_cert,
            inter_key,
        })
    }
}

/// A private key of `curve` as PKCS#8 DER, from PKCS#8 or SEC1 DER.
fn load_key(curve: Curve, der: &[u8]) -> Result<Zeroizing<Vec<u8>>, PkiError> {
    use p256::pkcs8::EncodePrivateKey;
    let doc = match curve {
        Curve::P256 => p256::SecretKey::from_sec1_der(der)
            .ok()
            .or_else(|| p256::pkcs8::DecodePrivateKey::from_pkcs8_der(der).ok())
            .map(|k: p256::SecretKey| k.to_pkcs8_der()),
        Curve::P384 => p384::SecretKey::from_sec1_der(der)
            .ok()
            .or_else(|| p384::pkcs8::DecodePrivateKey::from_pkcs8_der(der).ok())
            .map(|k: p384::SecretKey| k.to_pkcs8_der()),
    };
    match doc {
        Some(Ok(doc)) => Ok(Zeroizing::new(doc.as_bytes().to_vec())),
        _ => Err(malformed(
            "private key",
            format!("not a {curve} key (PKCS#8 or SEC1 DER)"),
        )),
    }
}

/// A private key of `curve` (SEC1 or PKCS#8 DER, as `cse pki csr --key-out` writes it) as an
/// SPDM signer, for example a factory station's requester key. The intermediate copies of the
/// key are zeroized.
///
/// # Errors
/// [`PkiError::Malformed`] for anything that is not a private key of `curve`.
pub fn signing_key(
    curve: Curve,
    der: &[u8],
) -> Result<spdm_lite::crypto::EcdsaSigningKey, PkiError> {
    use p256::pkcs8::DecodePrivateKey;
    let asym = curve.set().asym;
    if let Ok(k) = spdm_lite::crypto::EcdsaSigningKey::from_sec1_der(asym, der) {
        return Ok(k);
    }
    // PKCS#8: re-encoded as SEC1 (a zeroized buffer) for the signer.
    let sec1 = match curve {
        Curve::P256 => p256::SecretKey::from_pkcs8_der(der)
            .ok()
            .and_then(|k| k.to_sec1_der().ok()),
        Curve::P384 => p384::SecretKey::from_pkcs8_der(der)
            .ok()
            .and_then(|k| k.to_sec1_der().ok()),
    }
    .ok_or_else(|| {
        malformed(
            "private key",
            format!("not a {curve} key (PKCS#8 or SEC1 DER)"),
        )
    })?;
    spdm_lite::crypto::EcdsaSigningKey::from_sec1_der(asym, &sec1)
        .map_err(|e| malformed("private key", e))
}

/// A device's public key as rcgen's [`PublicKeyData`].
struct DeviceKey {
    point: Vec<u8>,
    alg: &'static SignatureAlgorithm,
}

impl PublicKeyData for DeviceKey {
    fn der_bytes(&self) -> &[u8] {
        &self.point
    }

    fn algorithm(&self) -> &'static SignatureAlgorithm {
        self.alg
    }
}

/// A certificate signing request whose signature verified ([`verify_csr`]).
#[derive(Clone, Debug)]
pub struct VerifiedCsr {
    /// The curve of the device key.
    pub curve: Curve,
    /// The device's public key, SEC1 uncompressed (`04‖X‖Y`).
    pub public_key: Vec<u8>,
    /// The requested subject name, as (attribute OID, string value) pairs in order.
    pub subject: Vec<(ObjectIdentifier, String)>,
}

impl VerifiedCsr {
    /// The subject's serialNumber attribute (2.5.4.5), if any.
    pub fn serial_number(&self) -> Option<&str> {
        self.subject
            .iter()
            .find(|(oid, _)| *oid == SERIAL_NUMBER)
            .map(|(_, v)| v.as_str())
    }
}

fn string_value(v: &der::asn1::Any) -> Option<String> {
    match v.tag() {
        Tag::Utf8String | Tag::PrintableString | Tag::Ia5String => {
            String::from_utf8(v.value().to_vec()).ok()
        }
        _ => None,
    }
}

/// Parses a PKCS#10 request (DER) and checks its signature with the key it carries
/// (ecdsa-with-SHA256 for a P-256 key, ecdsa-with-SHA384 for P-384: the pairs of the SPDM
/// algorithm sets).
///
/// # Errors
/// [`PkiError::Malformed`] for a request that does not parse or uses another algorithm,
/// [`PkiError::BadCsrSignature`] when the signature does not verify.
pub fn verify_csr(der: &[u8]) -> Result<VerifiedCsr, PkiError> {
    let req = CertReq::from_der(der).map_err(|e| malformed("certificate signing request", e))?;
    let curve = Curve::from_spki(&req.info.public_key)?;
    let point = req
        .info
        .public_key
        .subject_public_key
        .as_bytes()
        .ok_or_else(|| malformed("certificate signing request", "unaligned public key"))?
        .to_vec();
    let sig = req
        .signature
        .as_bytes()
        .ok_or_else(|| malformed("certificate signing request", "unaligned signature"))?;
    let tbs = req
        .info
        .to_der()
        .map_err(|e| malformed("certificate signing request", e))?;
    let want = match curve {
        Curve::P256 => ECDSA_WITH_SHA256,
        Curve::P384 => ECDSA_WITH_SHA384,
    };
    if req.algorithm.oid != want || req.algorithm.parameters.is_some() {
        return Err(malformed(
            "certificate signing request",
            format!(
                "signature algorithm {} with a {curve} key",
                req.algorithm.oid
            ),
        ));
    }
    let ok = match curve {
        Curve::P256 => {
            use p256::ecdsa::signature::Verifier;
            let vk = p256::ecdsa::VerifyingKey::from_sec1_bytes(&point)
                .map_err(|_| malformed("certificate signing request", "invalid public key"))?;
            p256::ecdsa::DerSignature::try_from(sig)
                .map(|s| vk.verify(&tbs, &s).is_ok())
                .unwrap_or(false)
        }
        Curve::P384 => {
            use p384::ecdsa::signature::Verifier;
            let vk = p384::ecdsa::VerifyingKey::from_sec1_bytes(&point)
                .map_err(|_| malformed("certificate signing request", "invalid public key"))?;
            p384::ecdsa::DerSignature::try_from(sig)
                .map(|s| vk.verify(&tbs, &s).is_ok())
                .unwrap_or(false)
        }
    };
    if !ok {
        return Err(PkiError::BadCsrSignature);
    }
    let mut subject = Vec::new();
    for atv in req.info.subject.iter() {
        let v = string_value(&atv.value).ok_or_else(|| {
            malformed(
                "certificate signing request",
                format!("subject attribute {} is not a string", atv.oid),
            )
        })?;
        subject.push((atv.oid, v));
    }
    Ok(VerifiedCsr {
        curve,
        public_key: point,
        subject,
    })
}

/// What [`issue`] puts into a device certificate beyond the request.
#[derive(Clone, Debug)]
pub struct IssueOptions {
    /// The SPDM role the certificate authenticates.
    pub role: CertRole,
    /// The certificate's serial number (big-endian, positive); random when `None`.
    pub serial: Option<Vec<u8>>,
    /// The device serial for the subject's serialNumber attribute; when `None`, the
    /// request's, or else the first 8 bytes of the SHA-256 of the device key in hex.
    pub device_serial: Option<String>,
    /// Validity in years from today; `None`: until 9999-12-31 23:59:59 UTC (IEEE 802.1AR's
    /// "no well-defined expiration" for device identities).
    pub years: Option<u32>,
    /// Test PKI only: keyUsage keyEncipherment instead of digitalSignature, a certificate
    /// every SPDM verifier must refuse. The result is not checked by [`verify_chain`].
    pub test_key_encipherment: bool,
}

impl IssueOptions {
    /// A certificate for `role`, random serial, no expiry.
    pub fn new(role: CertRole) -> Self {
        Self {
            role,
            serial: None,
            device_serial: None,
            years: None,
            test_key_encipherment: false,
        }
    }
}

/// The SHA-256 of a public key (SEC1 point), as lowercase hex: the device's key fingerprint.
pub fn fingerprint(public_key: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(public_key)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The issuer of the intermediate CA: its subject name and key identifier from its
/// certificate, its key from the CA set.
fn inter_issuer(ca: &CaSet) -> Result<(Issuer<'static, KeyPair>, Certificate), PkiError> {
    let cert = Certificate::from_der(&ca.inter_cert)
        .map_err(|e| malformed("intermediate certificate", e))?;
    let key =
        KeyPair::try_from(ca.inter_key.as_slice()).map_err(|e| malformed("intermediate key", e))?;
    let tbs = cert.tbs_certificate();
    let mut dn = DistinguishedName::new();
    for rdn in tbs.subject().iter_rdn() {
        if rdn.len() != 1 {
            return Err(malformed(
                "intermediate certificate",
                "multi-valued subject RDN",
            ));
        }
        for atv in rdn.iter() {
            let arcs: Vec<u64> = atv.oid.arcs().map(u64::from).collect();
            let s = string_value(&atv.value)
                .ok_or_else(|| malformed("intermediate certificate", "non-string subject"))?;
            let v = match atv.value.tag() {
                Tag::PrintableString => DnValue::PrintableString(
                    s.try_into()
                        .map_err(|e| malformed("intermediate certificate", e))?,
                ),
                Tag::Ia5String => DnValue::Ia5String(
                    s.try_into()
                        .map_err(|e| malformed("intermediate certificate", e))?,
                ),
                _ => DnValue::Utf8String(s),
            };
            dn.push(DnType::from_oid(&arcs), v);
        }
    }
    let ski = match tbs.get_extension::<SubjectKeyIdentifier>() {
        Ok(Some((_, ski))) => ski.0.as_bytes().to_vec(),
        _ => {
            return Err(malformed(
                "intermediate certificate",
                "no subjectKeyIdentifier",
            ));
        }
    };
    let mut params = CertificateParams::default();
    params.distinguished_name = dn;
    params.key_identifier_method = KeyIdMethod::PreSpecified(ski);
    params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    Ok((Issuer::new(params, key), cert))
}

/// Signs a device certificate for the verified request `csr` with the intermediate CA of
/// `ca`, then checks the chain root → intermediate → device with [`verify_chain`] for the
/// role (strict SPDM extended key usage). Returns the device certificate (DER).
///
/// # Errors
/// [`PkiError::CurveMismatch`] for a key on another curve than the CA's,
/// [`PkiError::Generate`] if signing fails, [`PkiError::Chain`] if the result does not
/// validate (a CA directory whose certificates do not chain).
pub fn issue(ca: &CaSet, csr: &VerifiedCsr, opts: &IssueOptions) -> Result<Vec<u8>, PkiError> {
    if csr.curve != ca.curve {
        return Err(PkiError::CurveMismatch {
            request: csr.curve,
            ca: ca.curve,
        });
    }
    let (issuer, _) = inter_issuer(ca)?;
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    let serial = opts
        .device_serial
        .clone()
        .or_else(|| csr.serial_number().map(str::to_string))
        .unwrap_or_else(|| fingerprint(&csr.public_key)[..16].to_string());
    for (oid, v) in &csr.subject {
        if *oid == SERIAL_NUMBER {
            continue;
        }
        let arcs: Vec<u64> = oid.arcs().map(u64::from).collect();
        dn.push(DnType::from_oid(&arcs), DnValue::Utf8String(v.clone()));
    }
    if dn.get(&DnType::CommonName).is_none() {
        dn.push(DnType::CommonName, format!("device {serial}"));
    }
    // X.520: serialNumber is a PrintableString.
    let printable: rcgen::string::PrintableString = serial.clone().try_into().map_err(|_| {
        malformed(
            "device serial",
            "not a printable string (A-Z a-z 0-9 '()+,-./:=?)",
        )
    })?;
    dn.push(
        DnType::CustomDnType(vec![2, 5, 4, 5]),
        DnValue::PrintableString(printable),
    );
    p.distinguished_name = dn;
    p.is_ca = IsCa::ExplicitNoCa;
    p.key_usages = if opts.test_key_encipherment {
        vec![KeyUsagePurpose::KeyEncipherment]
    } else {
        vec![KeyUsagePurpose::DigitalSignature]
    };
    let eku = match opts.role {
        CertRole::Responder => SPDM_RESPONDER_AUTH,
        CertRole::Requester => SPDM_REQUESTER_AUTH,
    };
    p.extended_key_usages = vec![ExtendedKeyUsagePurpose::Other(eku.to_vec())];
    p.use_authority_key_identifier_extension = true;
    if let Some(s) = &opts.serial {
        p.serial_number = Some(SerialNumber::from_slice(s));
    }
    let epoch = rcgen::date_time_ymd(1970, 1, 1);
    p.not_before = epoch + today();
    p.not_after = match opts.years {
        Some(y) => p.not_before + years(y),
        None => rcgen::date_time_ymd(9999, 12, 31) + Duration::from_secs(86_399),
    };
    let key = DeviceKey {
        point: csr.public_key.clone(),
        alg: csr.curve.alg(),
    };
    let cert = p.signed_by(&key, &issuer)?.der().to_vec();
    if !opts.test_key_encipherment {
        let chain = [ca.root_cert.as_slice(), &ca.inter_cert, &cert].concat();
        verify_chain(&ca.root_cert, &chain, ca.curve, opts.role).map_err(PkiError::Chain)?;
    }
    Ok(cert)
}

/// Checks the concatenated DER certificates `certs` (root first or not, leaf last) against
/// the trust anchor `root` with the project's verifier ([`spdm_lite::x509::X509Verifier`],
/// strict SPDM extended key usage, validity at the current time) for `role` on `curve`'s
/// algorithm set. Returns the leaf's SEC1 public key.
///
/// # Errors
/// The verifier's [`spdm_lite::cert::CertError`].
pub fn verify_chain(
    root: &[u8],
    certs: &[u8],
    curve: Curve,
    role: CertRole,
) -> Result<Vec<u8>, spdm_lite::cert::CertError> {
    let set = curve.set();
    let mut spdm = vec![0u8; certs.len() + 4 + 64];
    let n = encode_spdm_chain(&RustCrypto, set.hash, root, certs, &mut spdm)
        .map_err(|_| spdm_lite::cert::CertError::Malformed)?;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let opts = ValidationOptions::new().strict_eku().at_time(now);
    let mut key = [0u8; 97];
    let k = X509Verifier::with_options(RustCrypto, root, opts).verify_chain(
        set,
        role.spdm(),
        &spdm[..n],
        &mut key,
    )?;
    Ok(key[..k].to_vec())
}

/// A device key pair and its PKCS#10 request: what a device's GET_CSR produces, for test and
/// development identities made on a host (`cse pki csr`). The key is `key` (SEC1 or PKCS#8
/// DER of `curve`) or a fresh one. Returns the private key (SEC1 DER) and the request (DER).
/// The subject is `CN=cn` plus `serialNumber=device_serial` if given.
///
/// # Errors
/// [`PkiError::Generate`] if key or request generation fails, [`PkiError::Malformed`] for a
/// `key` that is not a key of `curve`.
pub fn device_csr(
    curve: Curve,
    cn: &str,
    device_serial: Option<&str>,
    key: Option<&[u8]>,
) -> Result<(Zeroizing<Vec<u8>>, Vec<u8>), PkiError> {
    let kp = match key {
        Some(der) => {
            let pkcs8 = load_key(curve, der)?;
            KeyPair::try_from(pkcs8.as_slice()).map_err(|e| malformed("private key", e))?
        }
        None => KeyPair::generate_for(curve.alg())?,
    };
    let mut p = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    if let Some(s) = device_serial {
        let printable: rcgen::string::PrintableString = s
            .to_string()
            .try_into()
            .map_err(|_| malformed("device serial", "not a printable string"))?;
        dn.push(
            DnType::CustomDnType(vec![2, 5, 4, 5]),
            DnValue::PrintableString(printable),
        );
    }
    p.distinguished_name = dn;
    let csr = p.serialize_request(&kp)?.der().to_vec();
    let pkcs8 = Zeroizing::new(kp.serialize_der());
    let sec1 = match curve {
        Curve::P256 => {
            let k: p256::SecretKey = p256::pkcs8::DecodePrivateKey::from_pkcs8_der(&pkcs8)
                .map_err(|e| malformed("generated key", e))?;
            k.to_sec1_der().map_err(|e| malformed("generated key", e))?
        }
        Curve::P384 => {
            let k: p384::SecretKey = p384::pkcs8::DecodePrivateKey::from_pkcs8_der(&pkcs8)
                .map_err(|e| malformed("generated key", e))?;
            k.to_sec1_der().map_err(|e| malformed("generated key", e))?
        }
    };
    Ok((Zeroizing::new(sec1.to_vec()), csr))
}

/// The subject of a DER certificate in RFC 4514 form, its serial attribute, and its public
/// key (SEC1): what `cse provision` prints about a device.
///
/// # Errors
/// [`PkiError::Malformed`] for a certificate that does not parse.
pub fn describe(cert_der: &[u8]) -> Result<(String, Option<String>, Vec<u8>), PkiError> {
    let c = Certificate::from_der(cert_der).map_err(|e| malformed("certificate", e))?;
    let tbs = c.tbs_certificate();
    let serial = tbs
        .subject()
        .iter()
        .find(|a| a.oid == SERIAL_NUMBER)
        .and_then(|a| string_value(&a.value));
    let key = tbs
        .subject_public_key_info()
        .subject_public_key
        .as_bytes()
        .unwrap_or_default()
        .to_vec();
    Ok((tbs.subject().to_string(), serial, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn years_are_whole_days() {
        assert_eq!(years(1).as_secs() % 86_400, 0);
        assert_eq!(years(4).as_secs(), 1461 * 86_400);
    }
}
