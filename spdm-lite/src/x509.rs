//! X.509 validation of a peer's SPDM certificate chain (feature `alloc`).
//!
//! [`X509Verifier`] is the requester-side (ECU) [`ChainVerifier`]: it needs an allocator
//! because `x509-cert` does. The responder (sensor) never validates chains and stays
//! allocation-free. The role the chain must prove (responder or requester identity) is given
//! to every [`ChainVerifier::verify_chain`] call by the state machine that asks, not configured.
//!
//! Checks, in order:
//! 1. the SPDM chain format (`Length` equals the chain length, root hash present, at least one
//!    certificate, every certificate a well-formed DER `SEQUENCE`);
//! 2. the chain's RootHash equals the hash of the provisioned root certificate
//!    ([`CertError::UntrustedRoot`] otherwise); if the chain's first certificate is the root
//!    itself it must be byte-identical to the provisioned one;
//! 3. every certificate is signed by its predecessor (the first non-root one by the
//!    provisioned root): issuer name = issuer's subject name, signature algorithm
//!    `ecdsa-with-SHA256` with a P-256 issuer key (set A) or `ecdsa-with-SHA384` with a P-384
//!    issuer key (set B), ECDSA verification through the [`CryptoProvider`];
//! 4. every issuer is a CA (basicConstraints cA, keyCertSign when keyUsage is present), and
//!    no CA (the provisioned root included) is followed by more non-self-issued intermediate
//!    CA certificates than its `pathLenConstraint` ([`CertError::PathLength`]);
//! 5. no certificate (the root included) carries an extension marked critical other than
//!    basicConstraints, keyUsage, extKeyUsage and subjectAltName, and none carries one
//!    extension twice ([`CertError::UnsupportedCriticalExtension`], [`CertError::Malformed`]);
//!    a critical nameConstraints or certificatePolicies is refused since neither is processed;
//! 6. with a trusted time ([`ValidationOptions::at_time`]), every certificate (the root
//!    included) is within `notBefore..=notAfter` ([`CertError::NotYetValid`],
//!    [`CertError::Expired`]);
//! 7. the leaf has keyUsage with digitalSignature and neither cA nor keyCertSign, its
//!    extended key usage allows the role (below), and its key is on the negotiated curve; its
//!    SEC1 public key is returned.
//!
//! The leaf's extended key usage against the role it must prove (DSP0274 makes the extension
//! optional; refusals are [`CertError::LeafExtendedKeyUsage`]):
//! - no extension: accepted, unless [`ValidationOptions::strict_eku`];
//! - the role's SPDM OID present ([`SPDM_RESPONDER_AUTH`] / [`SPDM_REQUESTER_AUTH`]):
//!   accepted;
//! - the other role's SPDM OID without this role's: refused whatever else is listed (a
//!   requester-only certificate is not a responder identity, and the reverse);
//! - otherwise, outside strict mode, `id-kp-serverAuth` for a responder or `id-kp-clientAuth`
//!   for a requester is accepted (certificates made for libspdm carry those);
//! - anything else (`anyExtendedKeyUsage` included) is refused.
//!
//! Without a trusted time, validity periods are **not** checked: the state machines are
//! sans-IO and have no clock. Policies, name constraints and revocation are out of scope.

use der::Decode;
use der::asn1::ObjectIdentifier;
use x509_cert::Certificate;
use x509_cert::ext::pkix::{BasicConstraints, ExtendedKeyUsage, KeyUsage, SubjectAltName};

use crate::cert::{CertError, ChainVerifier, DerCertificates, der_tlv_len};
use crate::crypto::{AlgorithmSet, AsymAlgo, CryptoProvider, HashCtx};
use crate::error::Error;
use crate::msgs::certificate::CertChain;
use crate::session::Role;

const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_WITH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");

/// DSP0274 `id-DMTF-eku-responder-auth` ({ id-DMTF-spdm 3 }).
pub const SPDM_RESPONDER_AUTH: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.412.274.3");
/// DSP0274 `id-DMTF-eku-requester-auth` ({ id-DMTF-spdm 4 }).
pub const SPDM_REQUESTER_AUTH: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.3.6.1.4.1.412.274.4");
/// RFC 5280 `id-kp-serverAuth`, accepted for a responder outside strict mode.
const SERVER_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.1");
/// RFC 5280 `id-kp-clientAuth`, accepted for a requester outside strict mode.
const CLIENT_AUTH: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.2");

const ID_CE_BASIC_CONSTRAINTS: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.19");
const ID_CE_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.15");
const ID_CE_EXT_KEY_USAGE: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const ID_CE_SUBJECT_ALT_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.17");

/// What [`X509Verifier`] checks beyond the fixed rules of the [module](self) documentation.
///
/// The default checks no validity period and accepts a leaf without extended key usage.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ValidationOptions {
    /// Trusted current time in UNIX seconds; when set, every certificate's
    /// `notBefore..=notAfter` must contain it. The crate has no clock: pass a time the
    /// platform trusts (a secure RTC, an authenticated time source), never one the peer gave.
    pub now: Option<u64>,
    /// Require the leaf to carry extended key usage with the SPDM OID of the role
    /// ([`SPDM_RESPONDER_AUTH`] or [`SPDM_REQUESTER_AUTH`]); `id-kp-serverAuth` /
    /// `id-kp-clientAuth` and an absent extension no longer suffice.
    pub strict_eku: bool,
}

impl ValidationOptions {
    /// The default: no time check, extended key usage optional.
    pub const fn new() -> Self {
        Self {
            now: None,
            strict_eku: false,
        }
    }

    /// Checks validity periods against `unix_seconds`, a trusted current time.
    #[must_use]
    pub const fn at_time(mut self, unix_seconds: u64) -> Self {
        self.now = Some(unix_seconds);
        self
    }

    /// Requires the SPDM extended key usage OID of the role on the leaf.
    #[must_use]
    pub const fn strict_eku(mut self) -> Self {
        self.strict_eku = true;
        self
    }
}

/// An X.509 [`ChainVerifier`] anchored at one provisioned root certificate.
#[derive(Debug)]
///
/// A verifier is cheap to build (it borrows the root): with a trusted time, build one per
/// connection with that connection's [`ValidationOptions::at_time`].
pub struct X509Verifier<'a, P: CryptoProvider> {
    provider: P,
    root: &'a [u8],
    options: ValidationOptions,
}

impl<'a, P: CryptoProvider> X509Verifier<'a, P> {
    /// A verifier trusting exactly the root certificate `root_der` (DER), with the default
    /// [`ValidationOptions`] (no validity-period check, extended key usage optional).
    pub fn new(provider: P, root_der: &'a [u8]) -> Self {
        Self::with_options(provider, root_der, ValidationOptions::new())
    }

    /// A verifier trusting exactly `root_der` (DER) that also applies `options`.
    pub fn with_options(provider: P, root_der: &'a [u8], options: ValidationOptions) -> Self {
        Self {
            provider,
            root: root_der,
            options,
        }
    }

    /// The options this verifier applies.
    pub fn options(&self) -> ValidationOptions {
        self.options
    }

    fn check(
        &self,
        set: AlgorithmSet,
        role: Role,
        chain: &[u8],
        leaf_key: &mut [u8],
    ) -> Result<usize, CertError> {
        let parsed = CertChain::parse(chain, set.hash.len()).map_err(|_| CertError::Malformed)?;
        let mut h = self
            .provider
            .hash(set.hash)
            .map_err(|_| CertError::AlgorithmMismatch)?;
        h.update(self.root);
        if h.finish().as_bytes() != parsed.root_hash {
            return Err(CertError::UntrustedRoot);
        }
        let root = Certificate::from_der(self.root).map_err(|_| CertError::Malformed)?;
        check_extensions(&root)?;
        self.check_validity(&root)?;
        let mut certs = DerCertificates::new(parsed.certificates).peekable();
        // A chain may carry the root itself first (the usual case) or start below it.
        if let Some(Ok(first)) = certs.peek() {
            if *first == self.root {
                certs.next();
            } else if Certificate::from_der(first)
                .map(|c| c.tbs_certificate().subject() == root.tbs_certificate().subject())
                .unwrap_or(false)
            {
                // Same subject as the anchor but different bytes: another root.
                return Err(CertError::UntrustedRoot);
            }
        }
        let mut issuer = root;
        let mut issuer_is_anchor = true;
        // How many more non-self-issued intermediate CAs the path lengths seen so far allow
        // (`None`: unconstrained).
        let mut budget: Option<u8> = None;
        let mut any = false;
        for der in certs {
            let der = der?;
            let cert = Certificate::from_der(der).map_err(|_| CertError::Malformed)?;
            let path_len = check_ca(&issuer)?;
            if !issuer_is_anchor && !self_issued(&issuer) {
                // `issuer` is an intermediate CA below every CA before it.
                budget = match budget {
                    Some(0) => return Err(CertError::PathLength),
                    Some(n) => Some(n - 1),
                    None => None,
                };
            }
            budget = match (budget, path_len) {
                (Some(b), Some(p)) => Some(b.min(p)),
                (b, p) => b.or(p),
            };
            if cert.tbs_certificate().issuer() != issuer.tbs_certificate().subject() {
                // A chain from another root fails here (or at the signature).
                return Err(if issuer_is_anchor {
                    CertError::UntrustedRoot
                } else {
                    CertError::IssuerMismatch
                });
            }
            self.check_signature(set, &issuer, der, &cert)?;
            check_extensions(&cert)?;
            self.check_validity(&cert)?;
            issuer = cert;
            issuer_is_anchor = false;
            any = true;
        }
        if !any {
            return Err(CertError::Malformed);
        }
        check_leaf(&issuer)?;
        check_leaf_eku(&issuer, role, self.options.strict_eku)?;
        let spki = issuer.tbs_certificate().subject_public_key_info();
        check_curve(
            set.asym,
            &spki.algorithm.oid,
            spki.algorithm.parameters.as_ref(),
        )?;
        let pk = spki
            .subject_public_key
            .as_bytes()
            .ok_or(CertError::Malformed)?;
        let out = leaf_key.get_mut(..pk.len()).ok_or(CertError::TooLong)?;
        out.copy_from_slice(pk);
        Ok(pk.len())
    }

    /// `notBefore <= now <= notAfter` when a trusted time was given.
    fn check_validity(&self, cert: &Certificate) -> Result<(), CertError> {
        let Some(now) = self.options.now else {
            return Ok(());
        };
        let v = cert.tbs_certificate().validity();
        if now < v.not_before.to_unix_duration().as_secs() {
            return Err(CertError::NotYetValid);
        }
        if now > v.not_after.to_unix_duration().as_secs() {
            return Err(CertError::Expired);
        }
        Ok(())
    }

    fn check_signature(
        &self,
        set: AlgorithmSet,
        issuer: &Certificate,
        der: &[u8],
        cert: &Certificate,
    ) -> Result<(), CertError> {
        let want = match set.asym {
            AsymAlgo::EcdsaP256 => ECDSA_WITH_SHA256,
            AsymAlgo::EcdsaP384 => ECDSA_WITH_SHA384,
        };
        if cert.signature_algorithm().oid != want || cert.tbs_certificate().signature().oid != want
        {
            return Err(CertError::AlgorithmMismatch);
        }
        let ispki = issuer.tbs_certificate().subject_public_key_info();
        check_curve(
            set.asym,
            &ispki.algorithm.oid,
            ispki.algorithm.parameters.as_ref(),
        )?;
        let issuer_key = ispki
            .subject_public_key
            .as_bytes()
            .ok_or(CertError::Malformed)?;
        // The signed bytes are the TBSCertificate exactly as received (no re-encoding).
        let inner = der
            .get(header_len(der).ok_or(CertError::Malformed)?..)
            .ok_or(CertError::Malformed)?;
        let tbs = inner
            .get(..der_tlv_len(inner).ok_or(CertError::Malformed)?)
            .ok_or(CertError::Malformed)?;
        let mut h = self
            .provider
            .hash(set.hash)
            .map_err(|_| CertError::AlgorithmMismatch)?;
        h.update(tbs);
        let digest = h.finish();
        let mut rs = [0u8; 96];
        let n = set.asym.signature_len();
        let rs = rs.get_mut(..n).ok_or(CertError::AlgorithmMismatch)?;
        let sig = cert.signature().as_bytes().ok_or(CertError::Malformed)?;
        ecdsa_der_to_fixed(sig, rs)?;
        match self
            .provider
            .ecdsa_verify(set.asym, issuer_key, digest.as_bytes(), rs)
        {
            Ok(()) => Ok(()),
            Err(Error::Authentication) => Err(CertError::BadSignature),
            Err(_) => Err(CertError::Malformed),
        }
    }
}

impl<P: CryptoProvider> ChainVerifier for X509Verifier<'_, P> {
    fn verify_chain(
        &self,
        set: AlgorithmSet,
        role: Role,
        chain: &[u8],
        leaf_key: &mut [u8],
    ) -> Result<usize, CertError> {
        self.check(set, role, chain, leaf_key)
    }
}

/// Length of the DER header at the start of `b`.
fn header_len(b: &[u8]) -> Option<usize> {
    let first = *b.get(1)?;
    Some(if first < 0x80 {
        2
    } else {
        2 + usize::from(first & 0x7F)
    })
}

fn check_curve(
    asym: AsymAlgo,
    alg: &ObjectIdentifier,
    params: Option<&der::asn1::Any>,
) -> Result<(), CertError> {
    let want = match asym {
        AsymAlgo::EcdsaP256 => SECP256R1,
        AsymAlgo::EcdsaP384 => SECP384R1,
    };
    let curve = params
        .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
        .ok_or(CertError::AlgorithmMismatch)?;
    if *alg != EC_PUBLIC_KEY || curve != want {
        return Err(CertError::AlgorithmMismatch);
    }
    Ok(())
}

/// Checks that `cert` may issue certificates; returns its `pathLenConstraint`.
fn check_ca(cert: &Certificate) -> Result<Option<u8>, CertError> {
    let tbs = cert.tbs_certificate();
    let bc = tbs
        .get_extension::<BasicConstraints>()
        .map_err(|_| CertError::Malformed)?;
    let path_len = match bc {
        Some((
            _,
            BasicConstraints {
                ca: true,
                path_len_constraint,
            },
        )) => path_len_constraint,
        _ => return Err(CertError::NotCa),
    };
    match tbs.get_extension::<KeyUsage>() {
        Ok(Some((_, ku))) if !ku.key_cert_sign() => Err(CertError::NotCa),
        Ok(_) => Ok(path_len),
        Err(_) => Err(CertError::Malformed),
    }
}

/// RFC 5280 "self-issued": the issuer and subject names are equal.
fn self_issued(cert: &Certificate) -> bool {
    cert.tbs_certificate().issuer() == cert.tbs_certificate().subject()
}

/// Refuses a repeated extension (RFC 5280 section 4.2) and a critical extension this module
/// does not process. subjectAltName is understood (decoded) but names are not matched: the
/// peer is identified by its chain to the provisioned root, not by a name.
fn check_extensions(cert: &Certificate) -> Result<(), CertError> {
    let Some(exts) = cert.tbs_certificate().extensions() else {
        return Ok(());
    };
    for (i, e) in exts.iter().enumerate() {
        if exts
            .get(..i)
            .unwrap_or(&[])
            .iter()
            .any(|p| p.extn_id == e.extn_id)
        {
            return Err(CertError::Malformed);
        }
        if !e.critical {
            continue;
        }
        match e.extn_id {
            ID_CE_BASIC_CONSTRAINTS | ID_CE_KEY_USAGE | ID_CE_EXT_KEY_USAGE => {}
            ID_CE_SUBJECT_ALT_NAME => {
                SubjectAltName::from_der(e.extn_value.as_bytes())
                    .map_err(|_| CertError::Malformed)?;
            }
            _ => return Err(CertError::UnsupportedCriticalExtension),
        }
    }
    Ok(())
}

fn check_leaf(cert: &Certificate) -> Result<(), CertError> {
    let tbs = cert.tbs_certificate();
    match tbs.get_extension::<BasicConstraints>() {
        Ok(Some((_, BasicConstraints { ca: true, .. }))) => return Err(CertError::LeafKeyUsage),
        Ok(_) => {}
        Err(_) => return Err(CertError::Malformed),
    }
    match tbs.get_extension::<KeyUsage>() {
        // A key allowed to sign certificates is a CA key, not an SPDM identity.
        Ok(Some((_, ku))) if ku.digital_signature() && !ku.key_cert_sign() => Ok(()),
        Ok(_) => Err(CertError::LeafKeyUsage),
        Err(_) => Err(CertError::Malformed),
    }
}

/// The leaf's extended key usage rules of the module documentation.
fn check_leaf_eku(cert: &Certificate, role: Role, strict: bool) -> Result<(), CertError> {
    let eku = match cert.tbs_certificate().get_extension::<ExtendedKeyUsage>() {
        Ok(Some((_, eku))) => eku,
        Ok(None) if strict => return Err(CertError::LeafExtendedKeyUsage),
        Ok(None) => return Ok(()),
        Err(_) => return Err(CertError::Malformed),
    };
    let (own, other, tls) = match role {
        Role::Responder => (SPDM_RESPONDER_AUTH, SPDM_REQUESTER_AUTH, SERVER_AUTH),
        Role::Requester => (SPDM_REQUESTER_AUTH, SPDM_RESPONDER_AUTH, CLIENT_AUTH),
    };
    let has = |oid: ObjectIdentifier| eku.0.contains(&oid);
    // The other role's SPDM OID alone rules out the TLS fallback.
    let allowed = has(own) || (!has(other) && !strict && has(tls));
    if allowed {
        Ok(())
    } else {
        Err(CertError::LeafExtendedKeyUsage)
    }
}

/// Converts a DER `ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }` into `r‖s`, each
/// left-padded to half of `out`.
fn ecdsa_der_to_fixed(sig: &[u8], out: &mut [u8]) -> Result<(), CertError> {
    let bad = CertError::Malformed;
    if sig.first() != Some(&0x30) || der_tlv_len(sig) != Some(sig.len()) {
        return Err(bad);
    }
    let mut rest = sig.get(header_len(sig).ok_or(bad)?..).ok_or(bad)?;
    let half = out.len() / 2;
    for i in 0..2 {
        if rest.first() != Some(&0x02) {
            return Err(bad);
        }
        let tlv = der_tlv_len(rest).ok_or(bad)?;
        let hl = header_len(rest).ok_or(bad)?;
        let mut int = rest.get(hl..tlv).ok_or(bad)?;
        while int.len() > 1 && int.first() == Some(&0) {
            int = int.get(1..).ok_or(bad)?;
        }
        if int.len() > half {
            return Err(bad);
        }
        let dst = out
            .get_mut(i * half + half - int.len()..(i + 1) * half)
            .ok_or(bad)?;
        dst.copy_from_slice(int);
        rest = rest.get(tlv..).ok_or(bad)?;
    }
    if !rest.is_empty() {
        return Err(bad);
    }
    Ok(())
}
