//! X.509 validation of a responder's SPDM certificate chain (feature `alloc`).
//!
//! [`X509Verifier`] is the requester-side (ECU) [`ChainVerifier`]: it needs an allocator
//! because `x509-cert` does. The responder (sensor) never validates chains and stays
//! allocation-free.
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
//! 4. every issuer is a CA (basicConstraints cA, keyCertSign when keyUsage is present);
//! 5. the leaf has keyUsage with digitalSignature and is not a CA, and its key is on the
//!    negotiated curve; its SEC1 public key is returned.
//!
//! Validity periods are **not** checked: the state machines are sans-IO and have no clock.
//! A platform with trusted time checks `notBefore`/`notAfter` itself (or provisions short
//! chains it controls). Name constraints, policies and revocation are out of scope.

use der::Decode;
use der::asn1::ObjectIdentifier;
use x509_cert::Certificate;
use x509_cert::ext::pkix::{BasicConstraints, KeyUsage};

use crate::cert::{CertError, ChainVerifier, DerCertificates, der_tlv_len};
use crate::crypto::{AlgorithmSet, AsymAlgo, CryptoProvider, HashCtx};
use crate::error::Error;
use crate::msgs::certificate::CertChain;

const ECDSA_WITH_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_WITH_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const SECP256R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const SECP384R1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");

/// An X.509 [`ChainVerifier`] anchored at one provisioned root certificate.
#[derive(Debug)]
pub struct X509Verifier<'a, P: CryptoProvider> {
    provider: P,
    root: &'a [u8],
}

impl<'a, P: CryptoProvider> X509Verifier<'a, P> {
    /// A verifier trusting exactly the root certificate `root_der` (DER).
    pub fn new(provider: P, root_der: &'a [u8]) -> Self {
        Self {
            provider,
            root: root_der,
        }
    }

    fn check(
        &self,
        set: AlgorithmSet,
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
        let mut issuer_der: &[u8] = self.root;
        let mut issuer = root;
        let mut any = false;
        for der in certs {
            let der = der?;
            let cert = Certificate::from_der(der).map_err(|_| CertError::Malformed)?;
            check_ca(&issuer)?;
            if cert.tbs_certificate().issuer() != issuer.tbs_certificate().subject() {
                // A chain from another root fails here (or at the signature).
                return Err(if issuer_der == self.root {
                    CertError::UntrustedRoot
                } else {
                    CertError::IssuerMismatch
                });
            }
            self.check_signature(set, &issuer, der, &cert)?;
            issuer_der = der;
            issuer = cert;
            any = true;
        }
        if !any {
            return Err(CertError::Malformed);
        }
        check_leaf(&issuer)?;
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
        chain: &[u8],
        leaf_key: &mut [u8],
    ) -> Result<usize, CertError> {
        self.check(set, chain, leaf_key)
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

fn check_ca(cert: &Certificate) -> Result<(), CertError> {
    let tbs = cert.tbs_certificate();
    let bc = tbs
        .get_extension::<BasicConstraints>()
        .map_err(|_| CertError::Malformed)?;
    if !matches!(bc, Some((_, BasicConstraints { ca: true, .. }))) {
        return Err(CertError::NotCa);
    }
    match tbs.get_extension::<KeyUsage>() {
        Ok(Some((_, ku))) if !ku.key_cert_sign() => Err(CertError::NotCa),
        Ok(_) => Ok(()),
        Err(_) => Err(CertError::Malformed),
    }
}

fn check_leaf(cert: &Certificate) -> Result<(), CertError> {
    let tbs = cert.tbs_certificate();
    match tbs.get_extension::<BasicConstraints>() {
        Ok(Some((_, BasicConstraints { ca: true, .. }))) => return Err(CertError::LeafKeyUsage),
        Ok(_) => {}
        Err(_) => return Err(CertError::Malformed),
    }
    match tbs.get_extension::<KeyUsage>() {
        Ok(Some((_, ku))) if ku.digital_signature() => Ok(()),
        Ok(_) => Err(CertError::LeafKeyUsage),
        Err(_) => Err(CertError::Malformed),
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
