//! Entry points for the fuzz targets in `fuzz/` (not a stable API).
//!
//! Each function is an oracle: it takes arbitrary bytes, runs the library on them and
//! `assert!`s invariants that must hold for every input. They allocate nothing.
#![allow(clippy::panic, clippy::unwrap_used)]

use crate::csi2::{EccCheck, Emitter, HeaderForm, Packet, Packets, Repr};

/// The header form selected by the low bit of a fuzz input's first byte.
fn form_from(byte: u8) -> HeaderForm {
    if byte & 1 == 0 {
        HeaderForm::Dphy
    } else {
        HeaderForm::DPHY_VCX_DRAFT_1
    }
}

/// Flips header bit `bit` (little-endian bit order over the 4 bytes).
fn flipped(header: [u8; 4], bit: u8) -> [u8; 4] {
    (u32::from_le_bytes(header) ^ (1u32 << (bit & 31))).to_le_bytes()
}

/// CSI-2 stream oracle. Byte 0 picks the header form, the rest is a packet stream.
///
/// Invariants: the iterator never panics and yields contiguous packets; each decoded packet
/// re-emits to the received bytes (with the reported ECC bit corrected); `Repr::parse` agrees
/// with the iterator; an error stops the iteration; a clean stream is consumed to its end;
/// `Packet::new_checked` on the raw stream never panics and its getters are safe after it.
pub fn csi2_stream(data: &[u8]) {
    let Some((&selector, stream)) = data.split_first() else {
        return;
    };
    let form = form_from(selector);

    if let Ok(packet) = Packet::new_checked(stream) {
        let _ = (packet.vc(form), packet.ecc(), packet.check_ecc(form));
        let _ = (packet.payload().len(), packet.crc(), packet.verify_crc());
        assert!(packet.total_len() <= stream.len());
    }

    let mut expected = 0usize;
    let mut iter = Packets::new(stream, form);
    let mut failed = false;
    for item in iter.by_ref() {
        match item {
            Ok(d) => {
                assert_eq!(d.offset, expected);
                assert_eq!(d.raw.len(), d.repr.buffer_len());
                expected += d.raw.len();

                // Header: re-emitting the decoded values gives the corrected header.
                let header = d.repr.header_bytes(form).unwrap();
                assert_eq!(header, d.header);
                let raw_header = [d.raw[0], d.raw[1], d.raw[2], d.raw[3]];
                match d.ecc {
                    EccCheck::Ok => assert_eq!(raw_header, header),
                    EccCheck::Corrected { bit } => assert_eq!(flipped(raw_header, bit), header),
                    other => panic!("iterator yielded a header with {other:?}"),
                }

                // Parse agrees with the iterator.
                let (repr, ecc) = Repr::parse(&Packet::new_unchecked(d.raw), form).unwrap();
                assert_eq!((repr, ecc), (d.repr, d.ecc));

                // Small packets: a full re-emission gives the same bytes (header corrected).
                let mut out = [0u8; 256];
                if d.raw.len() <= out.len() {
                    let mut em = Emitter::new(&mut out, form);
                    em.packet(&d.repr, d.payload).unwrap();
                    let written = em.written();
                    assert_eq!(&written[..4], &header[..]);
                    assert_eq!(&written[4..], &d.raw[4..]);
                }
            }
            Err(e) => {
                assert_eq!(e.offset, expected);
                failed = true;
            }
        }
    }
    assert!(iter.next().is_none());
    if !failed {
        assert_eq!(expected, stream.len());
    }
}

/// ECC oracle. Byte 0 picks the form, bytes 1..5 are a header, bytes 5 and 6 pick two bits.
///
/// Invariants: a filled header checks `Ok`; every single protected-bit flip is reported at its
/// position and corrected back; every pair of distinct protected-bit flips is uncorrectable;
/// on an arbitrary header, whatever `check` reports, `correct` reports the same and leaves a
/// header that checks `Ok` (unless uncorrectable, when it is left unchanged).
pub fn ecc(data: &[u8]) {
    let [selector, h0, h1, h2, h3, a, b, ..] = *data else {
        return;
    };
    let form = form_from(selector);
    let raw = [h0, h1, h2, h3];

    // Arbitrary header.
    let found = form.check(&raw);
    let mut corrected = raw;
    assert_eq!(form.correct(&mut corrected), found);
    match found {
        EccCheck::Ok => assert_eq!(corrected, raw),
        EccCheck::Corrected { bit } => {
            assert!(bit < form.protected_bits());
            assert_eq!(flipped(raw, bit), corrected);
            assert_eq!(form.check(&corrected), EccCheck::Ok);
        }
        EccCheck::Uncorrectable { syndrome } => {
            assert_ne!(syndrome, 0);
            assert_eq!(corrected, raw);
        }
    }

    // Valid header, then one and two flips among the protected bits.
    let mut valid = raw;
    form.fill(&mut valid);
    assert_eq!(form.check(&valid), EccCheck::Ok);
    let bits = form.protected_bits();
    // Protected bits are 0..bits in both D-PHY forms (bits 30, 31 are reserved without VCX).
    let (a, b) = (a % bits, b % bits);
    let one = flipped(valid, a);
    assert_eq!(form.check(&one), EccCheck::Corrected { bit: a });
    let mut fixed = one;
    form.correct(&mut fixed);
    assert_eq!(fixed, valid);
    if a != b {
        let two = flipped(one, b);
        assert!(matches!(form.check(&two), EccCheck::Uncorrectable { .. }));
    }
}

/// Crypto oracle for every suite: seal a message, tamper with it as the input says, open.
///
/// Layout of `data`: byte 0 picks the suite and tag length; byte 1 the tamper target (0 none,
/// 1 message, 2 AAD, 3 tag, 4 shorter tag); bytes 2..4 the bit to flip (little-endian); the
/// rest is split into AAD (first up to 48 bytes, length from byte 4) and message (at most 256
/// bytes). Invariants: an untampered message opens to the original; any tampering is rejected
/// with the opaque error and the buffer is wiped.
pub fn suite_open(data: &[u8]) {
    use crate::crypto::SuiteKey;
    use crate::keys::SecretKey;
    use crate::model::{CipherSuite, TagLen};
    use crate::nonce::Iv;

    let [sel, target, b0, b1, aad_len, rest @ ..] = data else {
        return;
    };
    let suite = CipherSuite::ALL[usize::from(sel & 7)];
    let tag_len = [
        TagLen::L16,
        TagLen::L12,
        TagLen::L8,
        TagLen::hazmat_short_4(),
    ][usize::from((sel >> 3) & 3)];
    let key = match suite.key_size() {
        crate::model::KeySize::Aes128 => SecretKey::aes128([0x42; 16]),
        crate::model::KeySize::Aes256 => SecretKey::aes256([0x42; 32]),
    };
    let mac_key = suite.needs_mac_key().then(|| match suite.key_size() {
        crate::model::KeySize::Aes128 => SecretKey::aes128([0x24; 16]),
        crate::model::KeySize::Aes256 => SecretKey::aes256([0x24; 32]),
    });
    let engine = SuiteKey::new(suite, &key, mac_key.as_ref()).unwrap();
    let iv = Iv([0x5A; 12]);

    let aad_len = usize::from(*aad_len % 49).min(rest.len());
    let (aad, msg) = rest.split_at(aad_len);
    let msg = &msg[..msg.len().min(256)];
    let mut aad_buf = [0u8; 48];
    aad_buf[..aad.len()].copy_from_slice(aad);
    let mut buf = [0u8; 256];
    let buf = &mut buf[..msg.len()];
    buf.copy_from_slice(msg);

    let tag = engine.seal_in_place(&iv, &[&aad_buf[..aad.len()]], buf, tag_len);
    let mut tag_bytes = [0u8; 16];
    tag_bytes[..tag_len.get()].copy_from_slice(tag.as_bytes());
    let mut tag_used = tag_len.get();

    let bit = usize::from(u16::from_le_bytes([*b0, *b1]));
    let tampered = match target % 5 {
        1 if !buf.is_empty() => {
            buf[(bit / 8) % buf.len()] ^= 1 << (bit % 8);
            true
        }
        2 if !aad.is_empty() => {
            aad_buf[(bit / 8) % aad.len()] ^= 1 << (bit % 8);
            true
        }
        3 => {
            tag_bytes[(bit / 8) % tag_used] ^= 1 << (bit % 8);
            true
        }
        4 => {
            tag_used -= 1 + (bit % tag_used);
            true
        }
        _ => false,
    };

    let opened = engine.open_in_place(
        &iv,
        &[&aad_buf[..aad.len()]],
        buf,
        &tag_bytes[..tag_used],
        tag_len,
    );
    if tampered {
        assert!(
            opened.is_err(),
            "tampered message accepted ({suite:?}, {tag_len:?})"
        );
        assert!(
            buf.iter().all(|b| *b == 0),
            "buffer not wiped after a failed open"
        );
    } else {
        assert!(opened.is_ok());
        assert_eq!(&buf[..], msg);
    }
}

/// GCM engine oracle: every implementation path against the portable one (`aes` + `ghash`).
///
/// Byte 0 chooses AES-128 or AES-256 (low bit) and where the input is split (the rest of the
/// byte); bytes 1..33 are the key; bytes 33..45 the IV; the remainder is the message.
/// Invariants: on x86_64 with PCLMULQDQ, the raw GHASH of the whole blocks (keyed with the
/// key bytes 0..16 as `H`, split into two updates) equals the `ghash` crate's, on the 128-bit
/// and (with AVX-512 + VPCLMULQDQ) the 512-bit path; on every path the CPU runs (portable,
/// `aes` + PCLMULQDQ GHASH, and the stitched engines: AES-NI, VAES-256, VAES-512, each forced
/// with the per-key test hook), GCM seal (the first part as AAD in two pieces,
/// the rest as plaintext, up to 2048 bytes), open, CTR, streaming and one-shot GMAC and GMAC
/// with a copy (`gmac_to`) give the same tags and bytes as the portable path, and a forged tag
/// is rejected with the buffer wiped.
pub fn ghash_diff(data: &[u8]) {
    use crate::TagLen;
    use crate::crypto::GcmKey;
    use crate::crypto::gcm::GcmPath;
    use crate::keys::SecretKey;
    use crate::nonce::Iv;

    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let Some((key, rest)) = rest.split_first_chunk::<32>() else {
        return;
    };
    let Some((iv, msg)) = rest.split_first_chunk::<12>() else {
        return;
    };
    let cut = usize::from(sel >> 1).min(msg.len());

    #[cfg(target_arch = "x86_64")]
    {
        use ghash::universal_hash::UniversalHash;
        let h: [u8; 16] = key[..16].try_into().unwrap();
        let blocks = msg.as_chunks::<16>().0;
        let mut reference = ghash::GHash::new(&h.into());
        reference.update(aes::cipher::Array::cast_slice_from_core(blocks));
        let expected = <[u8; 16]>::from(reference.finalize());
        for wide in [false, true] {
            if let Some(fast) = crate::crypto::simd::Ghash::with_width(&h, wide) {
                let (a, b) = blocks.split_at((cut / 16).min(blocks.len()));
                let mut acc = 0;
                fast.update(&mut acc, a);
                fast.update(&mut acc, b);
                assert_eq!(crate::crypto::simd::Ghash::finalize(acc), expected);
            }
        }
    }

    let mk = || {
        if sel & 1 == 0 {
            SecretKey::aes128(key[..16].try_into().unwrap())
        } else {
            SecretKey::aes256(*key)
        }
    };
    let iv = Iv(*iv);
    let (aad, pt) = msg.split_at(cut);
    // The AAD as two pieces split inside (exercises the carry between pieces).
    let (aad1, aad2) = aad.split_at(aad.len() / 3);
    let n = pt.len().min(MAX_DIFF_MSG);

    // The portable path is the reference every other path must match, byte for byte.
    let Some(portable) = GcmKey::with_path(&mk(), GcmPath::Portable) else {
        return;
    };
    let mut reference = [0u8; MAX_DIFF_MSG];
    reference[..n].copy_from_slice(&pt[..n]);
    let ref_tag = portable.seal_in_place(&iv, &[aad1, aad2], &mut reference[..n], TagLen::L16);
    let mut ref_gmac = portable.gmac(&iv);
    ref_gmac.update(&portable, msg);
    let ref_gmac = ref_gmac.finalize(&portable, TagLen::L16);

    for path in GcmPath::ALL {
        let Some(fast) = GcmKey::with_path(&mk(), path) else {
            continue;
        };
        let mut a = [0u8; MAX_DIFF_MSG];
        a[..n].copy_from_slice(&pt[..n]);
        let ta = fast.seal_in_place(&iv, &[aad1, aad2], &mut a[..n], TagLen::L16);
        assert_eq!(ta.as_bytes(), ref_tag.as_bytes(), "{path:?} seal tag");
        assert_eq!(a[..n], reference[..n], "{path:?} seal ciphertext");
        // open on this path, of the reference's output
        fast.open_in_place(&iv, &[aad], &mut a[..n], ref_tag.as_bytes(), TagLen::L16)
            .unwrap();
        assert_eq!(a[..n], pt[..n], "{path:?} open");
        // a forged tag is rejected and the buffer wiped
        let mut bad = [0u8; 16];
        bad.copy_from_slice(ref_tag.as_bytes());
        bad[usize::from(sel) % 16] ^= 1 << (sel % 8);
        a[..n].copy_from_slice(&reference[..n]);
        assert!(
            fast.open_in_place(&iv, &[aad], &mut a[..n], &bad, TagLen::L16)
                .is_err()
        );
        assert!(a[..n].iter().all(|&b| b == 0), "{path:?} wipe");
        // From a source into a separate destination: the same ciphertext, tag and plaintext,
        // nothing written past the message, a forged tag wipes the destination only.
        let mut d = [0x77u8; MAX_DIFF_MSG + 1];
        let td = fast
            .seal_to(&iv, &[aad1, aad2], &pt[..n], &mut d[..n + 1], TagLen::L16)
            .unwrap();
        assert_eq!(td.as_bytes(), ref_tag.as_bytes(), "{path:?} seal_to tag");
        assert_eq!(d[..n], reference[..n], "{path:?} seal_to ciphertext");
        assert_eq!(d[n], 0x77, "{path:?} seal_to bound");
        fast.open_to(
            &iv,
            &[aad],
            &reference[..n],
            &mut d[..n + 1],
            ref_tag.as_bytes(),
            TagLen::L16,
        )
        .unwrap();
        assert_eq!(d[..n], pt[..n], "{path:?} open_to");
        assert_eq!(d[n], 0x77, "{path:?} open_to bound");
        assert!(
            fast.open_to(&iv, &[aad], &reference[..n], &mut d[..n], &bad, TagLen::L16)
                .is_err()
        );
        assert!(d[..n].iter().all(|&b| b == 0), "{path:?} open_to wipe");
        // CTR is the same keystream
        a[..n].copy_from_slice(&pt[..n]);
        fast.apply_ctr(&iv, &mut a[..n]);
        assert_eq!(a[..n], reference[..n], "{path:?} ctr");
        // CTR with the CRC-16s of input and output folded in (VAES-512: one pass): the same
        // keystream, and the CRC-16 of the plaintext and of the ciphertext.
        a[..n].copy_from_slice(&pt[..n]);
        let (before, after) = fast.apply_ctr_crc16(&iv, &mut a[..n]);
        assert_eq!(a[..n], reference[..n], "{path:?} ctr crc16");
        assert_eq!(
            before,
            crate::crc::portable::crc16_mcrf4xx(&pt[..n]),
            "{path:?} crc in"
        );
        assert_eq!(
            after,
            crate::crc::portable::crc16_mcrf4xx(&reference[..n]),
            "{path:?} crc out"
        );
        // GMAC: streaming split at the cut, and one-shot
        let mut ga = fast.gmac(&iv);
        ga.update(&fast, aad);
        ga.update(&fast, pt);
        assert_eq!(
            ga.finalize(&fast, TagLen::L16).as_bytes(),
            ref_gmac.as_bytes()
        );
        let g1 = fast.gmac_oneshot(&iv, &[aad1, aad2], pt, TagLen::L16);
        assert_eq!(g1.as_bytes(), ref_gmac.as_bytes(), "{path:?} gmac");
        // GMAC with the message copied into a separate destination (one pass on VAES-512
        // when the AAD is whole blocks): the same tag, the bytes copied, nothing past them.
        let mut d = [0x77u8; MAX_DIFF_MSG + 1];
        if let Some(dst) = d.get_mut(..pt.len() + 1) {
            let g2 = fast
                .gmac_to(&iv, &[aad1, aad2], pt, dst, TagLen::L16)
                .unwrap();
            assert_eq!(g2.as_bytes(), ref_gmac.as_bytes(), "{path:?} gmac_to");
            assert_eq!(dst[..pt.len()], *pt, "{path:?} gmac_to copy");
            assert_eq!(dst[pt.len()], 0x77, "{path:?} gmac_to bound");
        }
    }
}

/// CRC backend oracle: the dispatching CRCs (the VPCLMULQDQ folding backend where the CPU has
/// it), the fused CRC-32 + CRC-16 and the streaming digests against the portable tables.
///
/// Byte 0 picks where the rest is split for the streaming digests and how long the fused
/// functions' tail is (0-7 bytes, taken from the end); the rest is the message. Invariants:
/// for every CRC-32 variant and for CRC-16/MCRF4XX, one-shot, two-piece streaming, the folding
/// backend directly (on x86_64, where it runs: `Some` exactly for inputs of at least
/// `fold::MIN_LEN` bytes), [`crate::crc::crc32_and_crc16`] and
/// [`crate::crc::crc32_appended_crc16`] equal the portable backend.
pub fn crc_diff(data: &[u8]) {
    use crate::crc::{self, Crc16Mcrf4xx, Crc32, Crc32Variant, portable};
    let Some((&sel, msg)) = data.split_first() else {
        return;
    };
    let cut = (usize::from(sel) * msg.len()) / 255;
    let tail_len = usize::from(sel & 7).min(msg.len());
    let (body, tail) = msg.split_at(msg.len() - tail_len);
    let whole16 = portable::crc16_mcrf4xx(msg);
    for v in [
        Crc32Variant::IsoHdlc,
        Crc32Variant::Autosar,
        Crc32Variant::Iscsi,
    ] {
        let want = portable::crc32(v, msg);
        assert_eq!(crc::crc32(v, msg), want, "{v:?}");
        let mut d = Crc32::new(v);
        d.update(&msg[..cut]);
        d.update(&msg[cut..]);
        assert_eq!(d.finalize(), want, "{v:?} streaming");
        let want_body = portable::crc32(v, body);
        assert_eq!(
            crc::crc32_and_crc16(v, body, tail),
            (want_body, whole16),
            "{v:?} fused"
        );
        let mut appended = [0u8; 4];
        appended.copy_from_slice(&want_body.to_le_bytes());
        let mut d16 = Crc16Mcrf4xx::new_portable();
        d16.update(body);
        d16.update(&appended);
        assert_eq!(
            crc::crc32_appended_crc16(v, body),
            (want_body, d16.finalize()),
            "{v:?} appended"
        );
        #[cfg(target_arch = "x86_64")]
        if crc::fold::available() {
            let runs = msg.len() >= crc::fold::MIN_LEN;
            assert_eq!(crc::fold::crc32(v, msg), runs.then_some(want), "{v:?} fold");
        }
    }
    assert_eq!(crc::crc16_mcrf4xx(msg), whole16);
    let mut d = Crc16Mcrf4xx::new();
    d.update(&msg[..cut]);
    d.update(&msg[cut..]);
    assert_eq!(d.finalize(), whole16, "crc16 streaming");
    // The copying CRC-16 (inputs up to 8 KiB, no allocator here): the CRC, the bytes copied,
    // nothing written past them.
    let mut buf = [0x5Au8; 8192 + 7];
    if let Some(dst) = buf.get_mut(..msg.len() + 7) {
        assert_eq!(crc::copy_crc16_mcrf4xx(msg, dst), whole16, "copy crc16");
        assert_eq!(&dst[..msg.len()], msg, "copy crc16 bytes");
        assert!(
            dst[msg.len()..].iter().all(|&b| b == 0x5A),
            "copy crc16 bound"
        );
    }
    #[cfg(target_arch = "x86_64")]
    if crc::fold::available() {
        let runs = msg.len() >= crc::fold::MIN_LEN;
        assert_eq!(
            crc::fold::crc16_mcrf4xx(msg),
            runs.then_some(whole16),
            "crc16 fold"
        );
    }
    // A span of the message (from `cut` on, the first `sel` bytes before it as the head),
    // spliced into the CRCs of head ‖ span ‖ tail: equal to the tables over the whole.
    let head = &msg[cut - cut.min(usize::from(sel))..cut];
    let (run, tail) = msg[cut..].split_at(msg.len() - cut - tail_len.min(msg.len() - cut));
    for v in [
        Crc32Variant::IsoHdlc,
        Crc32Variant::Autosar,
        Crc32Variant::Iscsi,
    ] {
        let Some(span) = crc::Span::new(v, run) else {
            #[cfg(target_arch = "x86_64")]
            assert!(
                !crc::fold::available() || run.len() < crc::fold::MIN_LEN,
                "no span of a run the backend takes"
            );
            continue;
        };
        assert_eq!(span.len(), run.len());
        assert_eq!(
            span.crc16_mcrf4xx(),
            portable::crc16_mcrf4xx(run),
            "span crc16"
        );
        assert_eq!(span.crc32(), portable::crc32(v, run), "{v:?} span crc32");
        let mut whole = [0u8; 8192];
        let Some(w) = whole.get_mut(..head.len() + run.len() + tail.len()) else {
            continue;
        };
        w[..head.len()].copy_from_slice(head);
        w[head.len()..head.len() + run.len()].copy_from_slice(run);
        w[head.len() + run.len()..].copy_from_slice(tail);
        let c32 = portable::crc32(v, w);
        let mut d16 = Crc16Mcrf4xx::new_portable();
        d16.update(w);
        let mut with_extra = d16.clone();
        d16.update(&c32.to_le_bytes());
        assert_eq!(
            crc::crc32_appended_crc16_around(head, &span, tail),
            (c32, d16.finalize()),
            "{v:?} appended around"
        );
        with_extra.update(&msg[..tail_len]);
        assert_eq!(
            crc::crc32_and_crc16_around(head, &span, tail, &msg[..tail_len]),
            (c32, with_extra.finalize()),
            "{v:?} around"
        );
    }
}

/// Batched CMAC oracle: every path of [`CmacKey::mac_batch`](crate::crypto::CmacKey::mac_batch)
/// (the `aes` crate backend, our multi-lane AES-NI and VAES-512 chains) against the streaming
/// [`CmacState`](crate::crypto::CmacState) of the portable key.
///
/// Byte 0 chooses AES-128 or AES-256 (bit 0, AES-256 only with the feature `aes256`) and the tag
/// length (bits 1-2); bytes 1..33 are the key; byte 33 the number of messages (0..=40); then
/// five bytes per message: start and length (16 bits each, reduced to the data) of the message
/// in the data that follows (messages may overlap) and where it is cut into two pieces.
/// Invariants: on every path the CPU runs, every message gets exactly one tag, equal to the
/// streaming CMAC of its bytes (fed in the same two pieces, plus an empty one), and to
/// `CmacKey::mac` of it.
pub fn cmac_diff(data: &[u8]) {
    use crate::TagLen;
    use crate::crypto::{CmacKey, CmacPath};
    use crate::keys::SecretKey;

    const MAX: usize = 40;
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let Some((key, rest)) = rest.split_first_chunk::<32>() else {
        return;
    };
    let Some((&count, rest)) = rest.split_first() else {
        return;
    };
    let n = usize::from(count) % (MAX + 1);
    let Some((shapes, body)) = rest.split_at_checked(5 * n) else {
        return;
    };
    let secret = if sel & 1 == 0 {
        SecretKey::aes128(key[..16].try_into().unwrap())
    } else {
        SecretKey::aes256(*key)
    };
    let tag_len = [TagLen::L16, TagLen::L12, TagLen::L8, TagLen::L16][usize::from(sel >> 1) & 3];
    let mut pieces: [[&[u8]; 3]; MAX] = [[&[]; 3]; MAX];
    for (p, shape) in pieces.iter_mut().zip(shapes.chunks_exact(5)) {
        let start = usize::from(u16::from_le_bytes([shape[0], shape[1]])) % (body.len() + 1);
        let avail = body.len() - start;
        let len = usize::from(u16::from_le_bytes([shape[2], shape[3]])) % (avail + 1);
        let msg = &body[start..start + len];
        let (a, b) = msg.split_at(usize::from(shape[4]) * len / 255);
        *p = [a, &[], b];
    }
    let mut messages: [&[&[u8]]; MAX] = [&[]; MAX];
    for (m, p) in messages.iter_mut().zip(pieces.iter()) {
        *m = &p[..];
    }
    let messages = &messages[..n];

    let Some(portable) = CmacKey::with_path(&secret, CmacPath::Portable) else {
        return;
    };
    let mut want = [[0u8; 16]; MAX];
    for (w, m) in want.iter_mut().zip(messages) {
        let mut s = portable.start();
        for p in m.iter() {
            s.update(&portable, p);
        }
        let t = s.finalize(&portable, tag_len);
        w[..tag_len.get()].copy_from_slice(t.as_bytes());
    }
    for path in CmacPath::ALL {
        let Some(key) = CmacKey::with_path(&secret, path) else {
            continue;
        };
        let mut seen = [false; MAX];
        key.mac_batch(messages, tag_len, |i, t| {
            assert!(!seen[i], "{path:?}: tag {i} reported twice");
            seen[i] = true;
            assert_eq!(
                t.as_bytes(),
                &want[i][..tag_len.get()],
                "{path:?} message {i}"
            );
        });
        assert!(
            seen[..n].iter().all(|s| *s),
            "{path:?}: a message without a tag"
        );
        if let Some(m) = messages.first() {
            assert_eq!(
                key.mac(m, tag_len).as_bytes(),
                &want[0][..tag_len.get()],
                "{path:?} one-shot"
            );
        }
    }
}

/// The longest plaintext [`ghash_diff`] seals (longer inputs are truncated): enough for
/// several iterations of every stitched loop (8, 16 or 32 blocks) and every tail length.
const MAX_DIFF_MSG: usize = 2048;

#[cfg(test)]
mod tests {
    #[test]
    fn ghash_diff_runs_on_varied_inputs() {
        let mut data = [0u8; 2400];
        for (i, b) in data.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(151).wrapping_add(7);
        }
        for len in [0, 1, 44, 45, 46, 61, 100, 333, 600, 1200, 1500, 2400] {
            for sel in [0u8, 1, 0x41, 0xff] {
                data[0] = sel;
                super::ghash_diff(&data[..len]);
            }
        }
    }

    #[test]
    fn crc_diff_runs_on_varied_inputs() {
        let mut data = [0u8; 1200];
        for (i, b) in data.iter_mut().enumerate() {
            *b = (i as u8).wrapping_mul(151).wrapping_add(7);
        }
        for len in [0, 1, 5, 64, 65, 66, 257, 300, 1024, 1200] {
            for sel in [0u8, 1, 7, 0x80, 0xff] {
                data[0] = sel;
                super::crc_diff(&data[..len]);
            }
        }
    }
}
