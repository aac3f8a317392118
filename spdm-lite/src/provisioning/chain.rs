//! The allocation-free checks of a chain the responder is asked to install.

use super::der::{self, BIT_STRING, CTX0, INTEGER, OID, SEQUENCE};
use crate::cert::{CertError, DerCertificates};
use crate::crypto::{AlgorithmSet, AsymAlgo, CryptoProvider, HashAlgo, HashCtx, MAX_SIGNATURE_LEN};
use crate::msgs::certificate::CertChain;

/// The parts of an X.509 certificate the checks use.
struct Cert<'a> {
    tbs: &'a [u8],
    sig_alg: &'a [u8],
    signature: &'a [u8],
    issuer: &'a [u8],
    subject: &'a [u8],
    curve: AsymAlgo,
    point: &'a [u8],
}

fn parse(cert: &[u8]) -> Result<Cert<'_>, CertError> {
    let bad = CertError::Malformed;
    let (c, rest) = der::expect(cert, SEQUENCE).ok_or(bad)?;
    if !rest.is_empty() {
        return Err(bad);
    }
    let (tbs, rest) = der::expect(c.content, SEQUENCE).ok_or(bad)?;
    let (alg, rest) = der::expect(rest, SEQUENCE).ok_or(bad)?;
    let (sig, rest) = der::expect(rest, BIT_STRING).ok_or(bad)?;
    if !rest.is_empty() {
        return Err(bad);
    }
    let (alg_oid, alg_rest) = der::expect(alg.content, OID).ok_or(bad)?;
    if !alg_rest.is_empty() {
        return Err(CertError::AlgorithmMismatch);
    }
    let signature = match sig.content.split_first() {
        Some((0, s)) => s,
        _ => return Err(bad),
    };
    let mut t = tbs.content;
    if t.first() == Some(&CTX0) {
        t = der::read(t).ok_or(bad)?.1;
    }
    let (_serial, t) = der::expect(t, INTEGER).ok_or(bad)?;
    let (inner_alg, t) = der::expect(t, SEQUENCE).ok_or(bad)?;
    if inner_alg.whole != alg.whole {
        return Err(CertError::AlgorithmMismatch);
    }
    let (issuer, t) = der::expect(t, SEQUENCE).ok_or(bad)?;
    let (_validity, t) = der::expect(t, SEQUENCE).ok_or(bad)?;
    let (subject, t) = der::expect(t, SEQUENCE).ok_or(bad)?;
    let (spki, _) = der::expect(t, SEQUENCE).ok_or(bad)?;
    let (key_alg, rest) = der::expect(spki.content, SEQUENCE).ok_or(bad)?;
    let (bits, rest) = der::expect(rest, BIT_STRING).ok_or(bad)?;
    if !rest.is_empty() {
        return Err(bad);
    }
    let (ec, params) = der::expect(key_alg.content, OID).ok_or(bad)?;
    let (curve, params) = der::expect(params, OID).ok_or(CertError::AlgorithmMismatch)?;
    if ec.content != der::OID_EC_PUBLIC_KEY || !params.is_empty() {
        return Err(CertError::AlgorithmMismatch);
    }
    let curve = if curve.content == der::OID_P256 {
        AsymAlgo::EcdsaP256
    } else if curve.content == der::OID_P384 {
        AsymAlgo::EcdsaP384
    } else {
        return Err(CertError::AlgorithmMismatch);
    };
    let point = match bits.content.split_first() {
        Some((0, p)) if p.len() == super::pkcs10::point_len(curve) && p.first() == Some(&4) => p,
        _ => return Err(bad),
    };
    Ok(Cert {
        tbs: tbs.whole,
        sig_alg: alg_oid.content,
        signature,
        issuer: issuer.whole,
        subject: subject.whole,
        curve,
        point,
    })
}

/// Checks that `issuer` signed `cert` (names chain, algorithm matches the issuer's curve,
/// signature verifies).
fn verify_issued<P: CryptoProvider>(
    crypto: &P,
    issuer: &Cert<'_>,
    cert: &Cert<'_>,
) -> Result<(), CertError> {
    if cert.issuer != issuer.subject {
        return Err(CertError::IssuerMismatch);
    }
    let hash = match (cert.sig_alg, issuer.curve) {
        (a, AsymAlgo::EcdsaP256) if a == der::OID_ECDSA_SHA256 => HashAlgo::Sha256,
        (a, AsymAlgo::EcdsaP384) if a == der::OID_ECDSA_SHA384 => HashAlgo::Sha384,
        _ => return Err(CertError::AlgorithmMismatch),
    };
    let mut rs = [0u8; MAX_SIGNATURE_LEN];
    let rs = rs
        .get_mut(..issuer.curve.signature_len())
        .ok_or(CertError::Malformed)?;
    der::ecdsa_sig_to_fixed(cert.signature, rs).ok_or(CertError::Malformed)?;
    let mut h = crypto
        .hash(hash)
        .map_err(|_| CertError::AlgorithmMismatch)?;
    h.update(cert.tbs);
    let d = h.finish();
    crypto
        .ecdsa_verify(issuer.curve, issuer.point, d.as_bytes(), rs)
        .map_err(|_| CertError::BadSignature)
}

/// Checks a chain before the responder installs it, without an allocator:
///
/// 1. `chain` is an SPDM chain for `set.hash` (`Length` = its length, RootHash, at least one
///    DER certificate);
/// 2. RootHash = Hash(`root`), and the first certificate is `root` itself or is issued by it
///    (with `root = None`: RootHash = Hash(first certificate), which must be self-signed);
/// 3. every following certificate names its predecessor as issuer and carries a signature
///    (`ecdsa-with-SHA256` under a P-256 key, `ecdsa-with-SHA384` under a P-384 key) that
///    verifies under its predecessor's key;
/// 4. the leaf (last) certificate is not the root, its key is on `set.asym`'s curve and equals
///    `device_key` (SEC1 uncompressed, [`CertError::LeafKeyMismatch`] otherwise).
///
/// Extensions (basic constraints, key usage, EKU, path length) and validity are not checked
/// here (see the module documentation).
///
/// # Errors
/// The [`CertError`] of the first check that fails.
pub fn check_chain<P: CryptoProvider>(
    crypto: &P,
    set: AlgorithmSet,
    chain: &[u8],
    root: Option<&[u8]>,
    device_key: &[u8],
) -> Result<(), CertError> {
    let c = CertChain::parse(chain, set.hash.len()).map_err(|_| CertError::Malformed)?;
    let mut certs = DerCertificates::new(c.certificates);
    let first_der = certs.next().ok_or(CertError::Malformed)??;
    let first = parse(first_der)?;
    let root_der = root.unwrap_or(first_der);
    let mut h = crypto
        .hash(set.hash)
        .map_err(|_| CertError::AlgorithmMismatch)?;
    h.update(root_der);
    if h.finish().as_bytes() != c.root_hash {
        return Err(CertError::UntrustedRoot);
    }
    let root_cert = parse(root_der)?;
    let mut leaf_is_root = true;
    let mut issuer = if first_der == root_der {
        if root.is_none() {
            // A root nobody vouches for: at least it must be self-signed.
            verify_issued(crypto, &first, &first)?;
        }
        root_cert
    } else {
        verify_issued(crypto, &root_cert, &first)?;
        leaf_is_root = false;
        first
    };
    for der in certs {
        let cert = parse(der?)?;
        verify_issued(crypto, &issuer, &cert)?;
        issuer = cert;
        leaf_is_root = false;
    }
    if leaf_is_root {
        return Err(CertError::Malformed);
    }
    if issuer.curve != set.asym {
        return Err(CertError::AlgorithmMismatch);
    }
    if issuer.point != device_key {
        return Err(CertError::LeafKeyMismatch);
    }
    Ok(())
}
