//! `cse pki` (the manufacturer PKI of `docs/provisioning.md`): a CA made by `init` signs a
//! device's request into a chain that spdm-lite's own verifier accepts for the role, with the
//! extensions the SPDM chain rules need; a request whose signature does not verify, a key on
//! another curve, and a chain under another root are refused, and a refusal writes nothing.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::process::Command;

use cse_link::pki::{self, CaSet, CertRole, Curve, IssueOptions, PkiError};
use der::Decode;
use spdm_lite::cert::CertError;
use spdm_lite::crypto::EcdsaSigningKey;
use x509_cert::Certificate;
use x509_cert::ext::pkix::{
    AuthorityKeyIdentifier, BasicConstraints, ExtendedKeyUsage, KeyUsage, KeyUsages,
    SubjectKeyIdentifier,
};

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("cse-pki-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn cse(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_cse"))
        .args(args)
        .output()
        .unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn ext<'a, T>(c: &'a Certificate) -> (bool, T)
where
    T: Decode<'a> + der::oid::AssociatedOid,
    <T as Decode<'a>>::Error: std::fmt::Debug,
{
    let (critical, v) = c
        .tbs_certificate()
        .get_extension::<T>()
        .unwrap()
        .unwrap_or_else(|| panic!("missing {}", std::any::type_name::<T>()));
    (critical, v)
}

#[test]
fn issued_chains_validate_with_spdm_lite_for_both_curves_and_roles() {
    for curve in [Curve::P256, Curve::P384] {
        let ca = pki::init(curve, "ACME", 30).unwrap();
        let (dev_key, csr) = pki::device_csr(curve, "ACME camera", Some("SN-0042"), None).unwrap();
        let req = pki::verify_csr(&csr).unwrap();
        assert_eq!(req.serial_number(), Some("SN-0042"));
        for role in [CertRole::Responder, CertRole::Requester] {
            let mut opts = IssueOptions::new(role);
            opts.serial = Some(vec![0x01, 0x02]);
            let leaf = pki::issue(&ca, &req, &opts).unwrap();
            let chain = [ca.root_cert.as_slice(), &ca.inter_cert, &leaf].concat();
            let key = pki::verify_chain(&ca.root_cert, &chain, curve, role).unwrap();
            // The certified key is the device's own: its SEC1 private key signs for it.
            let sk = EcdsaSigningKey::from_sec1_der(curve.set().asym, &dev_key).unwrap();
            let mut mine = [0u8; 97];
            let n = sk.public_key_sec1(&mut mine).unwrap();
            assert_eq!(key, &mine[..n]);
            assert_eq!(key, req.public_key);
            // The chain without the root validates too (the SPDM rules allow both).
            let below = [ca.inter_cert.as_slice(), &leaf].concat();
            assert!(pki::verify_chain(&ca.root_cert, &below, curve, role).is_ok());
            // The other role's EKU is refused by the project's verifier.
            let other = match role {
                CertRole::Responder => CertRole::Requester,
                CertRole::Requester => CertRole::Responder,
            };
            assert_eq!(
                pki::verify_chain(&ca.root_cert, &chain, curve, other),
                Err(CertError::LeafExtendedKeyUsage)
            );
            let (subject, serial, k) = pki::describe(&leaf).unwrap();
            assert_eq!(serial.as_deref(), Some("SN-0042"));
            assert!(subject.contains("CN=ACME camera"), "{subject}");
            assert_eq!(k, req.public_key);
            let c = Certificate::from_der(&leaf).unwrap();
            assert_eq!(c.tbs_certificate().serial_number().as_bytes(), &[1, 2]);
        }
    }
}

#[test]
fn certificates_carry_the_extensions_of_the_spdm_chain_rules() {
    let ca = pki::init(Curve::P256, "ACME", 30).unwrap();
    let (_, csr) = pki::device_csr(Curve::P256, "cam", None, None).unwrap();
    let req = pki::verify_csr(&csr).unwrap();
    let leaf = pki::issue(&ca, &req, &IssueOptions::new(CertRole::Responder)).unwrap();
    let root = Certificate::from_der(&ca.root_cert).unwrap();
    let inter = Certificate::from_der(&ca.inter_cert).unwrap();
    let dev = Certificate::from_der(&leaf).unwrap();
    for (c, path_len) in [(&root, 1u8), (&inter, 0)] {
        let (crit, bc) = ext::<BasicConstraints>(c);
        assert!(crit && bc.ca);
        assert_eq!(bc.path_len_constraint, Some(path_len));
        let (crit, ku) = ext::<KeyUsage>(c);
        assert!(crit);
        assert!(ku.0.contains(KeyUsages::KeyCertSign) && ku.0.contains(KeyUsages::CRLSign));
        assert!(!ku.0.contains(KeyUsages::DigitalSignature));
    }
    let (crit, bc) = ext::<BasicConstraints>(&dev);
    assert!(crit && !bc.ca);
    let (crit, ku) = ext::<KeyUsage>(&dev);
    assert!(crit);
    assert!(ku.0.contains(KeyUsages::DigitalSignature));
    assert!(!ku.0.contains(KeyUsages::KeyCertSign));
    let (_, eku) = ext::<ExtendedKeyUsage>(&dev);
    assert_eq!(eku.0, vec![spdm_lite::x509::SPDM_RESPONDER_AUTH]);
    // Key identifiers chain: AKI of each certificate = SKI of its issuer.
    let ski = |c: &Certificate| ext::<SubjectKeyIdentifier>(c).1.0.as_bytes().to_vec();
    let aki = |c: &Certificate| {
        ext::<AuthorityKeyIdentifier>(c)
            .1
            .key_identifier
            .unwrap()
            .as_bytes()
            .to_vec()
    };
    assert_eq!(aki(&inter), ski(&root));
    assert_eq!(aki(&dev), ski(&inter));
    // Names chain too.
    assert_eq!(
        inter.tbs_certificate().issuer(),
        root.tbs_certificate().subject()
    );
    assert_eq!(
        dev.tbs_certificate().issuer(),
        inter.tbs_certificate().subject()
    );
    // Without a serial in the request, the key fingerprint names the device.
    let (_, serial, _) = pki::describe(&leaf).unwrap();
    assert_eq!(serial.unwrap(), pki::fingerprint(&req.public_key)[..16]);
}

#[test]
fn a_request_with_a_bad_signature_is_refused() {
    let ca = pki::init(Curve::P256, "ACME", 30).unwrap();
    let (_, csr) = pki::device_csr(Curve::P256, "cam", Some("SN1"), None).unwrap();
    assert!(pki::verify_csr(&csr).is_ok());
    // The last byte is in the signature's s; a byte of the subject name is signed data.
    let mut sig = csr.clone();
    *sig.last_mut().unwrap() ^= 1;
    let cn = csr.windows(3).position(|w| w == b"cam").unwrap();
    let mut subject = csr.clone();
    subject[cn] ^= 0x20; // "Cam": still a valid string, another request.
    for bad in [&sig, &subject] {
        match pki::verify_csr(bad) {
            Err(PkiError::BadCsrSignature) => {}
            other => panic!("accepted or misclassified: {other:?}"),
        }
    }
    // Through the tool: exit 1, nothing written.
    let d = tmp("badsig");
    ca.write_dir(&d.join("ca")).unwrap();
    std::fs::write(d.join("bad.csr"), &subject).unwrap();
    let out = cse(&[
        "pki",
        "issue",
        "--ca",
        s(&d.join("ca")),
        "--csr",
        s(&d.join("bad.csr")),
        "--out",
        s(&d.join("dev.der")),
        "--chain-out",
        s(&d.join("chain.der")),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("signature does not verify"));
    assert!(!d.join("dev.der").exists() && !d.join("chain.der").exists());
    // Garbage is malformed, not a crash.
    for junk in [
        &b""[..],
        &b"\x30\x03\x02\x01\x00"[..],
        &csr[..csr.len() / 2],
    ] {
        assert!(matches!(
            pki::verify_csr(junk),
            Err(PkiError::Malformed { .. })
        ));
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_key_on_another_curve_is_refused() {
    let ca = pki::init(Curve::P384, "ACME", 30).unwrap();
    let (_, csr) = pki::device_csr(Curve::P256, "cam", None, None).unwrap();
    let req = pki::verify_csr(&csr).unwrap();
    assert!(matches!(
        pki::issue(&ca, &req, &IssueOptions::new(CertRole::Responder)),
        Err(PkiError::CurveMismatch {
            request: Curve::P256,
            ca: Curve::P384
        })
    ));
}

#[test]
fn a_chain_from_another_root_is_refused() {
    let ours = pki::init(Curve::P256, "ACME", 30).unwrap();
    let theirs = pki::init(Curve::P256, "ACME", 30).unwrap(); // same names, other keys
    let (_, csr) = pki::device_csr(Curve::P256, "cam", None, None).unwrap();
    let req = pki::verify_csr(&csr).unwrap();
    let fake = pki::issue(&theirs, &req, &IssueOptions::new(CertRole::Responder)).unwrap();
    let chain = [theirs.root_cert.as_slice(), &theirs.inter_cert, &fake].concat();
    assert_eq!(
        pki::verify_chain(&ours.root_cert, &chain, Curve::P256, CertRole::Responder),
        Err(CertError::UntrustedRoot)
    );
    // Their intermediate under our root's name does not help: the signature is not ours.
    let below = [theirs.inter_cert.as_slice(), &fake].concat();
    assert_eq!(
        pki::verify_chain(&ours.root_cert, &below, Curve::P256, CertRole::Responder),
        Err(CertError::BadSignature)
    );
    // A CA directory mixing our root with their intermediate cannot issue.
    let mixed = CaSet {
        curve: Curve::P256,
        root_cert: ours.root_cert.clone(),
        root_key: ours.root_key.clone(),
        inter_cert: theirs.inter_cert.clone(),
        inter_key: theirs.inter_key.clone(),
    };
    assert!(matches!(
        pki::issue(&mixed, &req, &IssueOptions::new(CertRole::Responder)),
        Err(PkiError::Chain(CertError::BadSignature))
    ));
}

#[test]
fn the_tool_round_trips_and_never_overwrites() {
    let d = tmp("tool");
    let ca = d.join("ca");
    let out = cse(&[
        "pki",
        "init",
        "--out",
        s(&ca),
        "--curve",
        "p384",
        "--name",
        "ACME",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let root = std::fs::read(ca.join("root.cert.der")).unwrap();
    let pem = std::fs::read_to_string(ca.join("root.cert.pem")).unwrap();
    assert!(pem.starts_with("-----BEGIN CERTIFICATE-----\n"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        for k in ["root.key.der", "inter.key.der"] {
            let mode = std::fs::metadata(ca.join(k)).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0, "{k} readable by others");
        }
    }
    // A second init into the same directory is refused and leaves the CA as it was.
    let again = cse(&["pki", "init", "--out", s(&ca), "--curve", "p384"]);
    assert_eq!(again.status.code(), Some(2));
    assert_eq!(std::fs::read(ca.join("root.cert.der")).unwrap(), root);
    let out = cse(&[
        "pki",
        "csr",
        "--curve",
        "p384",
        "--cn",
        "ACME camera",
        "--device-serial",
        "SN7",
        "--key-out",
        s(&d.join("dev.key")),
        "--out",
        s(&d.join("dev.csr")),
    ]);
    assert_eq!(out.status.code(), Some(0));
    let out = cse(&[
        "pki",
        "issue",
        "--ca",
        s(&ca),
        "--csr",
        s(&d.join("dev.csr")),
        "--out",
        s(&d.join("dev.der")),
        "--chain-out",
        s(&d.join("chain.der")),
        "--serial",
        "0x1234",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let chain = std::fs::read(d.join("chain.der")).unwrap();
    assert!(chain.ends_with(&std::fs::read(d.join("dev.der")).unwrap()));
    let key = pki::verify_chain(&root, &chain, Curve::P384, CertRole::Responder).unwrap();
    let sk = EcdsaSigningKey::from_sec1_der(
        Curve::P384.set().asym,
        &std::fs::read(d.join("dev.key")).unwrap(),
    )
    .unwrap();
    let mut mine = [0u8; 97];
    let n = sk.public_key_sec1(&mut mine).unwrap();
    assert_eq!(key, &mine[..n]);
    // The CA directory reads back; an existing output is not overwritten.
    let back = CaSet::read_dir(&ca).unwrap();
    assert_eq!(back.root_cert, root);
    let out = cse(&[
        "pki",
        "issue",
        "--ca",
        s(&ca),
        "--csr",
        s(&d.join("dev.csr")),
        "--out",
        s(&d.join("dev.der")),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(chain.ends_with(&std::fs::read(d.join("dev.der")).unwrap()));
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_ca_directory_with_a_swapped_key_is_refused() {
    let d = tmp("swap");
    let ca = pki::init(Curve::P256, "ACME", 30).unwrap();
    ca.write_dir(&d).unwrap();
    let root_key = std::fs::read(d.join("root.key.der")).unwrap();
    std::fs::remove_file(d.join("inter.key.der")).unwrap();
    std::fs::write(d.join("inter.key.der"), &root_key).unwrap();
    assert!(matches!(
        CaSet::read_dir(&d),
        Err(PkiError::Malformed {
            what: "intermediate key",
            ..
        })
    ));
    let _ = std::fs::remove_dir_all(&d);
}

/// A malformed argument is a usage error (exit 2), as everywhere in `cse`; a CA or request the
/// tool refuses is exit 1. Neither writes a certificate.
#[test]
fn a_bad_serial_is_a_usage_error_and_a_refused_ca_is_not() {
    let d = tmp("serial");
    let ca = d.join("ca");
    pki::init(Curve::P256, "ACME", 30)
        .unwrap()
        .write_dir(&ca)
        .unwrap();
    let csr = cse(&[
        "pki",
        "csr",
        "--cn",
        "cam",
        "--key-out",
        s(&d.join("dev.key")),
        "--out",
        s(&d.join("dev.csr")),
    ]);
    assert_eq!(csr.status.code(), Some(0));
    let chain = d.join("chain.der");
    let issue = |extra: &[&str]| {
        let (ca, csr, out) = (s(&ca), d.join("dev.csr"), d.join("dev.der"));
        let mut args = vec![
            "pki",
            "issue",
            "--ca",
            ca,
            "--csr",
            s(&csr),
            "--out",
            s(&out),
        ];
        args.extend_from_slice(extra);
        cse(&args)
    };
    for bad in ["0", "0xzz", "-5"] {
        let out = issue(&["--serial", bad]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{bad}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!d.join("dev.der").exists());
    }
    // An existing --chain-out: refused before the certificate is written.
    std::fs::write(&chain, b"kept").unwrap();
    let out = issue(&["--chain-out", s(&chain)]);
    assert_eq!(out.status.code(), Some(2));
    assert!(!d.join("dev.der").exists());
    assert_eq!(std::fs::read(&chain).unwrap(), b"kept");
    // The intermediate key swapped for the root's: the CA is refused, exit 1.
    let root_key = std::fs::read(ca.join("root.key.der")).unwrap();
    std::fs::remove_file(ca.join("inter.key.der")).unwrap();
    std::fs::write(ca.join("inter.key.der"), root_key).unwrap();
    let out = issue(&["--serial", "7"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(!d.join("dev.der").exists());
    let _ = std::fs::remove_dir_all(&d);
}
