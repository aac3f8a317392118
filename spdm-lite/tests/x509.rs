//! X.509 chain validation (`X509Verifier`): the committed test PKI for both algorithm sets is
//! accepted, and a chain from another root, a tampered certificate, a leaf without
//! digitalSignature and malformed chains are refused with the right `CertError`. The chain
//! policy (path length, CA flags, leaf EKU by role, critical extensions, trusted time) is
//! tested in `generated` on chains built per test with rcgen.
#![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::panic)]

mod common;

use common::{SETS, encode_chain, rcgen_alg, read, spdm_chain};
use spdm_lite::Error;
use spdm_lite::cert::{CertError, ChainVerifier, DerCertificates};
use spdm_lite::crypto::{AlgorithmSet, EcdsaSigningKey, RustCrypto};
use spdm_lite::session::Role;
use spdm_lite::x509::X509Verifier;

fn verify(set: AlgorithmSet, chain: &[u8]) -> Result<Vec<u8>, CertError> {
    let root = read(set, "root.cert.der");
    let v = X509Verifier::new(RustCrypto, &root);
    let mut key = [0u8; 97];
    let n = v.verify_chain(set, Role::Responder, chain, &mut key)?;
    Ok(key[..n].to_vec())
}

fn good(set: AlgorithmSet) -> Vec<u8> {
    spdm_chain(set, "chain.der", "root.cert.der")
}

#[test]
fn valid_chains_yield_the_leaf_signing_key() {
    for set in SETS {
        let key = verify(set, &good(set)).unwrap();
        let sk = EcdsaSigningKey::from_sec1_der(set.asym, &read(set, "leaf.key.der")).unwrap();
        let mut pk = [0u8; 97];
        let n = sk.public_key_sec1(&mut pk).unwrap();
        assert_eq!(key, pk[..n]);
    }
}

#[test]
fn a_chain_without_the_root_certificate_is_accepted_too() {
    for set in SETS {
        let mut certs = read(set, "inter.cert.der");
        certs.extend(read(set, "leaf.cert.der"));
        let c = encode_chain(set, &certs, &read(set, "root.cert.der"));
        assert!(verify(set, &c).is_ok());
    }
}

#[test]
fn a_chain_from_another_root_is_refused_as_untrusted() {
    for set in SETS {
        // Honest root hash of the other root.
        let other = encode_chain(
            set,
            &read(set, "other_chain.der"),
            &read(set, "other_root.cert.der"),
        );
        assert_eq!(verify(set, &other), Err(CertError::UntrustedRoot));
        // Forged root hash (ours) over the other root's certificates.
        let forged = encode_chain(
            set,
            &read(set, "other_chain.der"),
            &read(set, "root.cert.der"),
        );
        assert_eq!(verify(set, &forged), Err(CertError::UntrustedRoot));
        // Our root hash, the other intermediate and leaf without a root certificate.
        let mut certs = read(set, "other_inter.cert.der");
        certs.extend(read(set, "other_leaf.cert.der"));
        let c = encode_chain(set, &certs, &read(set, "root.cert.der"));
        assert_eq!(verify(set, &c), Err(CertError::UntrustedRoot));
    }
}

#[test]
fn a_leaf_without_digital_signature_is_refused() {
    for set in SETS {
        let c = encode_chain(
            set,
            &read(set, "bad_usage_chain.der"),
            &read(set, "root.cert.der"),
        );
        assert_eq!(verify(set, &c), Err(CertError::LeafKeyUsage));
    }
}

#[test]
fn a_ca_certificate_as_leaf_is_refused() {
    for set in SETS {
        let mut certs = read(set, "root.cert.der");
        certs.extend(read(set, "inter.cert.der"));
        let c = encode_chain(set, &certs, &read(set, "root.cert.der"));
        assert_eq!(verify(set, &c), Err(CertError::LeafKeyUsage));
    }
}

#[test]
fn a_leaf_used_as_issuer_is_refused() {
    for set in SETS {
        let mut certs = read(set, "chain.der");
        certs.extend(read(set, "leaf.cert.der"));
        let c = encode_chain(set, &certs, &read(set, "root.cert.der"));
        assert_eq!(verify(set, &c), Err(CertError::NotCa));
    }
}

/// Offsets (inside the SPDM chain) of each certificate after the root.
fn cert_ranges(set: AlgorithmSet, c: &[u8]) -> Vec<(usize, usize)> {
    let start = 4 + set.hash.len();
    let mut at = start;
    DerCertificates::new(&c[start..])
        .map(|r| {
            let len = r.unwrap().len();
            at += len;
            (at - len, at)
        })
        .collect()
}

#[test]
fn a_tampered_certificate_signature_is_refused() {
    for set in SETS {
        let c = good(set);
        let ranges = cert_ranges(set, &c);
        assert_eq!(ranges.len(), 3);
        // Last byte of the leaf's and of the intermediate's signature (s).
        for &(_, end) in &ranges[1..] {
            let mut t = c.clone();
            t[end - 1] ^= 0x01;
            assert_eq!(verify(set, &t), Err(CertError::BadSignature), "{end}");
        }
    }
}

#[test]
fn every_sampled_byte_flip_in_the_intermediate_or_leaf_is_refused() {
    let set = AlgorithmSet::SET_A;
    let c = good(set);
    let ranges = cert_ranges(set, &c);
    let mut refused = 0;
    for &(s, e) in &ranges[1..] {
        for i in (s..e).step_by(3) {
            let mut t = c.clone();
            t[i] ^= 0x20;
            assert!(verify(set, &t).is_err(), "flip at {i} accepted");
            refused += 1;
        }
    }
    assert!(refused > 200);
}

#[test]
fn a_tampered_root_or_header_is_refused() {
    for set in SETS {
        let c = good(set);
        let ranges = cert_ranges(set, &c);
        let mut t = c.clone();
        // Inside the root certificate (its signature value: it still parses, as another root
        // under the same name).
        t[ranges[0].1 - 10] ^= 0x01;
        assert_eq!(verify(set, &t), Err(CertError::UntrustedRoot));
        let mut t = c.clone();
        t[4] ^= 0x01; // root hash
        assert_eq!(verify(set, &t), Err(CertError::UntrustedRoot));
        let mut t = c.clone();
        t[0] ^= 0x01; // Length
        assert_eq!(verify(set, &t), Err(CertError::Malformed));
        assert_eq!(verify(set, &c[..c.len() - 1]), Err(CertError::Malformed));
        assert_eq!(
            verify(set, &c[..4 + set.hash.len()]),
            Err(CertError::Malformed)
        );
    }
}

#[test]
fn a_chain_of_the_wrong_algorithm_set_is_refused() {
    // A P-256 chain (SHA-256 root hash) checked as set B: the root hash no longer matches.
    let c = good(AlgorithmSet::SET_A);
    let root = read(AlgorithmSet::SET_A, "root.cert.der");
    let v = X509Verifier::new(RustCrypto, &root);
    let mut key = [0u8; 97];
    assert!(
        v.verify_chain(AlgorithmSet::SET_B, Role::Responder, &c, &mut key)
            .is_err()
    );
}

#[test]
fn a_too_small_leaf_key_buffer_is_refused_not_truncated() {
    let set = AlgorithmSet::SET_B;
    let root = read(set, "root.cert.der");
    let v = X509Verifier::new(RustCrypto, &root);
    let mut key = [0u8; 65];
    assert_eq!(
        v.verify_chain(set, Role::Responder, &good(set), &mut key),
        Err(CertError::TooLong)
    );
}

#[test]
fn der_splitter_refuses_garbage_and_truncation() {
    let certs = read(AlgorithmSet::SET_A, "chain.der");
    assert_eq!(DerCertificates::new(&certs).count(), 3);
    let r: Vec<_> = DerCertificates::new(&certs[..certs.len() - 1]).collect();
    assert_eq!(r.last(), Some(&Err(CertError::Malformed)));
    let r: Vec<_> = DerCertificates::new(&[0x31, 0x00]).collect();
    assert_eq!(r, [Err(CertError::Malformed)]);
    let _ = Error::from(CertError::Malformed);
}

// ---------------------------------------------------------------------------------------------
// Chain policy on chains generated per test (rcgen): path length, CA flags, leaf extended key
// usage by SPDM role, critical extensions, trusted time. Each refusal is paired with a control
// chain that differs only in the property under test and is accepted, so a test fails if the
// generated chains were refused for another reason. A refusal must leave the caller's leaf-key
// buffer untouched.

mod generated {
    use super::*;
    use der::Decode;
    use rcgen::{
        BasicConstraints, CertificateParams, CustomExtension, DistinguishedName, DnType,
        ExtendedKeyUsagePurpose as Eku, GeneralSubtree, IsCa, Issuer, KeyPair,
        KeyUsagePurpose as Ku, NameConstraints, SanType, date_time_ymd,
    };
    use spdm_lite::x509::ValidationOptions;
    use x509_cert::Certificate;
    use x509_cert::ext::pkix::SubjectAltName;

    const RESPONDER_AUTH: [u64; 9] = [1, 3, 6, 1, 4, 1, 412, 274, 3];
    const REQUESTER_AUTH: [u64; 9] = [1, 3, 6, 1, 4, 1, 412, 274, 4];
    /// DSP0274 SPDM certificate extension (id-DMTF-spdm 6), which the validator does not
    /// process.
    const SPDM_EXTENSION: [u64; 9] = [1, 3, 6, 1, 4, 1, 412, 274, 6];
    /// Filler byte of the leaf-key buffer: still there after every refusal.
    const UNTOUCHED: u8 = 0xA5;

    fn name(cn: &str) -> DistinguishedName {
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, cn);
        dn
    }

    /// A CA certificate's parameters (keyCertSign, cA with `path_len`).
    fn ca(cn: &str, path_len: Option<u8>) -> CertificateParams {
        let mut p = CertificateParams::default();
        p.distinguished_name = name(cn);
        p.is_ca = IsCa::Ca(path_len.map_or(BasicConstraints::Unconstrained, |n| {
            BasicConstraints::Constrained(n)
        }));
        p.key_usages = vec![Ku::KeyCertSign, Ku::CrlSign];
        p
    }

    /// A responder leaf's parameters (CA:FALSE, digitalSignature, no EKU).
    fn leaf() -> CertificateParams {
        let mut p = CertificateParams::default();
        p.distinguished_name = name("generated leaf");
        p.is_ca = IsCa::ExplicitNoCa;
        p.key_usages = vec![Ku::DigitalSignature];
        p
    }

    fn with_eku(mut p: CertificateParams, ekus: &[Eku]) -> CertificateParams {
        p.extended_key_usages = ekus.to_vec();
        p
    }

    fn with_ext(mut p: CertificateParams, oid: &[u64], critical: bool) -> CertificateParams {
        let mut e = CustomExtension::from_oid_content(oid, vec![0x30, 0x00]);
        e.set_criticality(critical);
        p.custom_extensions.push(e);
        p
    }

    fn valid(
        mut p: CertificateParams,
        from: (i32, u8, u8),
        to: (i32, u8, u8),
    ) -> CertificateParams {
        p.not_before = date_time_ymd(from.0, from.1, from.2);
        p.not_after = date_time_ymd(to.0, to.1, to.2);
        p
    }

    fn unix(y: i32, m: u8, d: u8) -> u64 {
        u64::try_from(date_time_ymd(y, m, d).unix_timestamp()).unwrap()
    }

    struct Generated {
        set: AlgorithmSet,
        /// The self-signed root (`params[0]`), the verifier's trust anchor.
        root: Vec<u8>,
        /// Every certificate, root first.
        ders: Vec<Vec<u8>>,
        /// The leaf's SEC1 public key.
        leaf_pk: Vec<u8>,
    }

    /// `params[0]` self-signed, each further one signed by its predecessor's key.
    fn build(set: AlgorithmSet, params: &[CertificateParams]) -> Generated {
        let alg = rcgen_alg(set);
        let keys: Vec<KeyPair> = params
            .iter()
            .map(|_| KeyPair::generate_for(alg).unwrap())
            .collect();
        let mut ders = vec![params[0].self_signed(&keys[0]).unwrap().der().to_vec()];
        for i in 1..params.len() {
            let issuer = Issuer::from_params(&params[i - 1], &keys[i - 1]);
            let cert = params[i].signed_by(&keys[i], &issuer).unwrap();
            ders.push(cert.der().to_vec());
        }
        Generated {
            set,
            root: ders[0].clone(),
            ders,
            leaf_pk: keys.last().unwrap().public_key_raw().to_vec(),
        }
    }

    impl Generated {
        /// Validates the chain (with the root certificate, or from `first` on) as `role`.
        fn check_from(
            &self,
            first: usize,
            role: Role,
            opts: ValidationOptions,
        ) -> Result<(), CertError> {
            let certs: Vec<u8> = self.ders[first..].concat();
            let spdm = encode_chain(self.set, &certs, &self.root);
            let v = X509Verifier::with_options(RustCrypto, &self.root, opts);
            let mut key = [UNTOUCHED; 97];
            match v.verify_chain(self.set, role, &spdm, &mut key) {
                Ok(n) => {
                    assert_eq!(key[..n], self.leaf_pk[..]);
                    Ok(())
                }
                Err(e) => {
                    assert!(key.iter().all(|&b| b == UNTOUCHED), "leaf key written");
                    Err(e)
                }
            }
        }

        fn check(&self, role: Role, opts: ValidationOptions) -> Result<(), CertError> {
            self.check_from(0, role, opts)
        }

        fn responder(&self) -> Result<(), CertError> {
            self.check(Role::Responder, ValidationOptions::new())
        }
    }

    #[test]
    fn generated_chains_validate_in_both_roles_and_sets() {
        for set in SETS {
            let g = build(
                set,
                &[
                    ca("root", None),
                    ca("inter", Some(0)),
                    with_eku(
                        leaf(),
                        &[
                            Eku::Other(RESPONDER_AUTH.into()),
                            Eku::Other(REQUESTER_AUTH.into()),
                        ],
                    ),
                ],
            );
            let strict_now = ValidationOptions::new()
                .strict_eku()
                .at_time(unix(2026, 6, 1));
            for role in [Role::Responder, Role::Requester] {
                assert_eq!(g.check(role, ValidationOptions::new()), Ok(()));
                assert_eq!(g.check(role, strict_now), Ok(()));
                assert_eq!(g.check_from(1, role, strict_now), Ok(()));
            }
        }
    }

    #[test]
    fn a_ca_followed_by_more_intermediates_than_its_path_len_is_refused() {
        for set in SETS {
            // Root pathLen 0: no intermediate below it, with or without the root in the chain.
            let bad = build(set, &[ca("root", Some(0)), ca("inter", None), leaf()]);
            assert_eq!(bad.responder(), Err(CertError::PathLength));
            let opts = ValidationOptions::new();
            assert_eq!(
                bad.check_from(1, Role::Responder, opts),
                Err(CertError::PathLength)
            );
            let ok = build(set, &[ca("root", Some(1)), ca("inter", None), leaf()]);
            assert_eq!(ok.responder(), Ok(()));
            // pathLen 0 still allows its own leaf.
            let ok = build(set, &[ca("root", Some(0)), leaf()]);
            assert_eq!(ok.responder(), Ok(()));

            // An intermediate's pathLen 0 with a second intermediate below it.
            let bad = build(
                set,
                &[ca("root", None), ca("i1", Some(0)), ca("i2", None), leaf()],
            );
            assert_eq!(bad.responder(), Err(CertError::PathLength));
            let ok = build(
                set,
                &[ca("root", None), ca("i1", Some(1)), ca("i2", None), leaf()],
            );
            assert_eq!(ok.responder(), Ok(()));

            // The root's pathLen 1 holds through an unconstrained intermediate.
            let bad = build(
                set,
                &[ca("root", Some(1)), ca("i1", None), ca("i2", None), leaf()],
            );
            assert_eq!(bad.responder(), Err(CertError::PathLength));
            let ok = build(
                set,
                &[ca("root", Some(2)), ca("i1", None), ca("i2", None), leaf()],
            );
            assert_eq!(ok.responder(), Ok(()));
        }
    }

    #[test]
    fn a_self_issued_intermediate_does_not_count_against_path_len() {
        for set in SETS {
            // i1 (pathLen 0) then a rollover certificate with i1's own name (self-issued).
            let ok = build(
                set,
                &[ca("root", None), ca("i1", Some(0)), ca("i1", None), leaf()],
            );
            assert_eq!(ok.responder(), Ok(()));
            let bad = build(
                set,
                &[ca("root", None), ca("i1", Some(0)), ca("i2", None), leaf()],
            );
            assert_eq!(bad.responder(), Err(CertError::PathLength));
        }
    }

    #[test]
    fn an_issuer_without_ca_or_key_cert_sign_is_refused() {
        for set in SETS {
            let mut no_ca = ca("inter", None);
            no_ca.is_ca = IsCa::ExplicitNoCa;
            let mut no_bc = ca("inter", None);
            no_bc.is_ca = IsCa::NoCa;
            let mut no_sign = ca("inter", None);
            no_sign.key_usages = vec![Ku::DigitalSignature, Ku::CrlSign];
            for inter in [no_ca, no_bc, no_sign] {
                let g = build(set, &[ca("root", None), inter, leaf()]);
                assert_eq!(g.responder(), Err(CertError::NotCa));
            }
            let ok = build(set, &[ca("root", None), ca("inter", None), leaf()]);
            assert_eq!(ok.responder(), Ok(()));
        }
    }

    #[test]
    fn a_leaf_that_may_sign_certificates_is_refused() {
        for set in SETS {
            let mut l = leaf();
            l.key_usages = vec![Ku::DigitalSignature, Ku::KeyCertSign];
            let g = build(set, &[ca("root", None), ca("inter", None), l]);
            assert_eq!(g.responder(), Err(CertError::LeafKeyUsage));
            let mut l = leaf();
            l.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            let g = build(set, &[ca("root", None), ca("inter", None), l]);
            assert_eq!(g.responder(), Err(CertError::LeafKeyUsage));
        }
    }

    fn leaf_eku(set: AlgorithmSet, ekus: Option<&[Eku]>) -> Generated {
        let l = match ekus {
            Some(e) => with_eku(leaf(), e),
            None => leaf(),
        };
        build(set, &[ca("root", None), ca("inter", None), l])
    }

    #[test]
    fn a_requester_only_certificate_is_not_a_responder_identity() {
        for set in SETS {
            let g = leaf_eku(set, Some(&[Eku::Other(REQUESTER_AUTH.into())]));
            let opts = ValidationOptions::new();
            assert_eq!(
                g.check(Role::Responder, opts),
                Err(CertError::LeafExtendedKeyUsage)
            );
            // Even next to serverAuth.
            let g2 = leaf_eku(
                set,
                Some(&[Eku::Other(REQUESTER_AUTH.into()), Eku::ServerAuth]),
            );
            assert_eq!(
                g2.check(Role::Responder, opts),
                Err(CertError::LeafExtendedKeyUsage)
            );
            // The same chains are valid requester identities.
            assert_eq!(g.check(Role::Requester, opts), Ok(()));
            assert_eq!(g2.check(Role::Requester, opts), Ok(()));
        }
    }

    #[test]
    fn a_responder_only_certificate_is_not_a_requester_identity() {
        for set in SETS {
            let g = leaf_eku(set, Some(&[Eku::Other(RESPONDER_AUTH.into())]));
            let opts = ValidationOptions::new();
            assert_eq!(
                g.check(Role::Requester, opts),
                Err(CertError::LeafExtendedKeyUsage)
            );
            assert_eq!(g.check(Role::Responder, opts), Ok(()));
        }
    }

    #[test]
    fn leaf_extended_key_usage_rules_by_role_and_strictness() {
        use Role::{Requester as Req, Responder as Rsp};
        let rsp = Eku::Other(RESPONDER_AUTH.into());
        let req = Eku::Other(REQUESTER_AUTH.into());
        let lax = ValidationOptions::new();
        let strict = ValidationOptions::new().strict_eku();
        let bad = Err(CertError::LeafExtendedKeyUsage);
        #[allow(clippy::type_complexity)]
        let cases: Vec<(
            Option<Vec<Eku>>,
            Role,
            ValidationOptions,
            Result<(), CertError>,
        )> = vec![
            // No extension: optional unless strict.
            (None, Rsp, lax, Ok(())),
            (None, Req, lax, Ok(())),
            (None, Rsp, strict, bad),
            // TLS purposes map to the roles outside strict mode only.
            (Some(vec![Eku::ServerAuth]), Rsp, lax, Ok(())),
            (Some(vec![Eku::ServerAuth]), Req, lax, bad),
            (Some(vec![Eku::ClientAuth]), Req, lax, Ok(())),
            (Some(vec![Eku::ClientAuth]), Rsp, lax, bad),
            (
                Some(vec![Eku::ServerAuth, Eku::ClientAuth]),
                Rsp,
                strict,
                bad,
            ),
            // The SPDM OIDs, strict or not.
            (
                Some(vec![rsp.clone(), Eku::CodeSigning]),
                Rsp,
                strict,
                Ok(()),
            ),
            (Some(vec![req.clone()]), Req, strict, Ok(())),
            (Some(vec![rsp.clone(), req.clone()]), Req, strict, Ok(())),
            // Unrelated purposes and anyExtendedKeyUsage are not SPDM identities.
            (Some(vec![Eku::CodeSigning]), Rsp, lax, bad),
            (Some(vec![Eku::Any]), Rsp, lax, bad),
            (Some(vec![Eku::Any]), Req, lax, bad),
        ];
        for set in SETS {
            for (i, (ekus, role, opts, want)) in cases.iter().enumerate() {
                let g = leaf_eku(set, ekus.as_deref());
                assert_eq!(g.check(*role, *opts), *want, "case {i}");
            }
        }
    }

    #[test]
    fn an_unknown_critical_extension_on_any_certificate_is_refused() {
        for set in SETS {
            for at in 0..3 {
                for critical in [true, false] {
                    let mut p = [ca("root", None), ca("inter", None), leaf()];
                    p[at] = with_ext(p[at].clone(), &SPDM_EXTENSION, critical);
                    let g = build(set, &p);
                    let want = if critical {
                        Err(CertError::UnsupportedCriticalExtension)
                    } else {
                        Ok(())
                    };
                    assert_eq!(g.responder(), want, "position {at}, critical {critical}");
                }
            }
        }
    }

    #[test]
    fn critical_name_constraints_are_refused_as_unprocessed() {
        for set in SETS {
            let mut inter = ca("inter", None);
            // rcgen marks nameConstraints critical, as RFC 5280 requires.
            inter.name_constraints = Some(NameConstraints {
                permitted_subtrees: vec![GeneralSubtree::DnsName("camera.example".into())],
                excluded_subtrees: vec![],
            });
            let g = build(set, &[ca("root", None), inter, leaf()]);
            assert_eq!(g.responder(), Err(CertError::UnsupportedCriticalExtension));
            let ok = build(set, &[ca("root", None), ca("inter", None), leaf()]);
            assert_eq!(ok.responder(), Ok(()));
        }
    }

    #[test]
    fn a_critical_subject_alt_name_is_understood() {
        for set in SETS {
            // An empty subject makes rcgen mark subjectAltName critical (RFC 5280 4.2.1.6).
            let mut l = leaf();
            l.distinguished_name = DistinguishedName::new();
            l.subject_alt_names = vec![SanType::DnsName(
                "sensor.camera.example".try_into().unwrap(),
            )];
            let g = build(set, &[ca("root", None), ca("inter", None), l]);
            let cert = Certificate::from_der(g.ders.last().unwrap()).unwrap();
            let (critical, _) = cert
                .tbs_certificate()
                .get_extension::<SubjectAltName>()
                .unwrap()
                .unwrap();
            assert!(critical);
            assert_eq!(g.responder(), Ok(()));
        }
    }

    #[test]
    fn a_repeated_extension_is_refused() {
        for set in SETS {
            // A second keyUsage (digitalSignature) next to rcgen's own.
            let mut l = leaf();
            l.custom_extensions.push(CustomExtension::from_oid_content(
                &[2, 5, 29, 15],
                vec![0x03, 0x02, 0x07, 0x80],
            ));
            let g = build(set, &[ca("root", None), ca("inter", None), l]);
            assert_eq!(g.responder(), Err(CertError::Malformed));
            // Any extension, also a non-critical one the validator otherwise ignores.
            let l = with_ext(
                with_ext(leaf(), &SPDM_EXTENSION, false),
                &SPDM_EXTENSION,
                false,
            );
            let g = build(set, &[ca("root", None), ca("inter", None), l]);
            assert_eq!(g.responder(), Err(CertError::Malformed));
            let l = with_ext(leaf(), &SPDM_EXTENSION, false);
            let g = build(set, &[ca("root", None), ca("inter", None), l]);
            assert_eq!(g.responder(), Ok(()));
        }
    }

    #[test]
    fn a_trusted_time_outside_any_certificate_validity_is_refused() {
        for set in SETS {
            let g = build(
                set,
                &[
                    valid(ca("root", None), (2020, 1, 1), (2040, 1, 1)),
                    valid(ca("inter", None), (2022, 1, 1), (2038, 1, 1)),
                    valid(leaf(), (2025, 1, 1), (2030, 1, 1)),
                ],
            );
            let at = |t: u64| g.check(Role::Responder, ValidationOptions::new().at_time(t));
            // Without a trusted time nothing is checked.
            assert_eq!(g.responder(), Ok(()));
            // Inclusive bounds on the narrowest (leaf) window.
            assert_eq!(at(unix(2025, 1, 1)), Ok(()));
            assert_eq!(at(unix(2030, 1, 1)), Ok(()));
            assert_eq!(at(unix(2025, 1, 1) - 1), Err(CertError::NotYetValid));
            assert_eq!(at(unix(2030, 1, 1) + 1), Err(CertError::Expired));
            assert_eq!(at(0), Err(CertError::NotYetValid));
            assert_eq!(at(u64::MAX), Err(CertError::Expired));

            // Each of root, intermediate, leaf out of its window while the others are in.
            let wide = ((2000, 1, 1), (2100, 1, 1));
            let now = unix(2035, 6, 1);
            for at in 0..3 {
                let mut p =
                    [ca("root", None), ca("inter", None), leaf()].map(|p| valid(p, wide.0, wide.1));
                p[at] = valid(p[at].clone(), (2020, 1, 1), (2035, 1, 1));
                let g = build(set, &p);
                let opts = ValidationOptions::new().at_time(now);
                assert_eq!(
                    g.check(Role::Responder, opts),
                    Err(CertError::Expired),
                    "{at}"
                );
                let opts = ValidationOptions::new().at_time(unix(2034, 1, 1));
                assert_eq!(g.check(Role::Responder, opts), Ok(()), "{at}");
                p[at] = valid(p[at].clone(), (2036, 1, 1), (2040, 1, 1));
                let g = build(set, &p);
                let opts = ValidationOptions::new().at_time(now);
                assert_eq!(
                    g.check(Role::Responder, opts),
                    Err(CertError::NotYetValid),
                    "{at}"
                );
            }
        }
    }
}
