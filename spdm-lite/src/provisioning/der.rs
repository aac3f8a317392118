//! A minimal DER reader and writer without an allocator (single-byte tags, definite lengths up
//! to 3 length bytes, minimal length encoding), for the CSR builder and the chain checks.

use crate::codec::Writer;
use crate::error::EncodeError;

pub(super) const SEQUENCE: u8 = 0x30;
pub(super) const SET: u8 = 0x31;
pub(super) const INTEGER: u8 = 0x02;
pub(super) const BIT_STRING: u8 = 0x03;
pub(super) const OID: u8 = 0x06;
/// `[0]` constructed (CertificationRequestInfo attributes, TBSCertificate version).
pub(super) const CTX0: u8 = 0xA0;

/// `id-ecPublicKey` (1.2.840.10045.2.1), OID content.
pub(super) const OID_EC_PUBLIC_KEY: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x02, 0x01];
/// `secp256r1` (1.2.840.10045.3.1.7).
pub(super) const OID_P256: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x03, 0x01, 0x07];
/// `secp384r1` (1.3.132.0.34).
pub(super) const OID_P384: &[u8] = &[0x2B, 0x81, 0x04, 0x00, 0x22];
/// `ecdsa-with-SHA256` (1.2.840.10045.4.3.2).
pub(super) const OID_ECDSA_SHA256: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02];
/// `ecdsa-with-SHA384` (1.2.840.10045.4.3.3).
pub(super) const OID_ECDSA_SHA384: &[u8] = &[0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x03];

/// One TLV.
#[derive(Clone, Copy, Debug)]
pub(super) struct Tlv<'a> {
    pub(super) tag: u8,
    pub(super) content: &'a [u8],
    pub(super) whole: &'a [u8],
}

/// Reads the TLV at the start of `b`; returns it and what follows.
pub(super) fn read(b: &[u8]) -> Option<(Tlv<'_>, &[u8])> {
    let tag = *b.first()?;
    if tag & 0x1F == 0x1F {
        return None;
    }
    let l0 = *b.get(1)?;
    let (hl, len) = if l0 < 0x80 {
        (2usize, usize::from(l0))
    } else {
        let n = usize::from(l0 & 0x7F);
        if n == 0 || n > 3 {
            return None;
        }
        let bytes = b.get(2..2 + n)?;
        if bytes.first() == Some(&0) {
            return None;
        }
        let len = bytes
            .iter()
            .fold(0usize, |acc, &x| (acc << 8) | usize::from(x));
        if len < 0x80 {
            return None;
        }
        (2 + n, len)
    };
    let end = hl.checked_add(len)?;
    let whole = b.get(..end)?;
    let content = whole.get(hl..)?;
    Some((
        Tlv {
            tag,
            content,
            whole,
        },
        b.get(end..)?,
    ))
}

/// Reads a TLV of tag `tag`.
pub(super) fn expect(b: &[u8], tag: u8) -> Option<(Tlv<'_>, &[u8])> {
    read(b).filter(|(t, _)| t.tag == tag)
}

/// The header length of a TLV with `len` content bytes.
pub(super) const fn header_len(len: usize) -> usize {
    if len < 0x80 {
        2
    } else if len <= 0xFF {
        3
    } else if len <= 0xFFFF {
        4
    } else {
        5
    }
}

/// Writes a TLV header.
pub(super) fn put_header(w: &mut Writer<'_>, tag: u8, len: usize) -> Result<(), EncodeError> {
    w.u8(tag)?;
    if len < 0x80 {
        w.u8(len as u8)
    } else if len <= 0xFF {
        w.put(&[0x81, len as u8])
    } else if len <= 0xFFFF {
        w.put(&[0x82, (len >> 8) as u8, len as u8])
    } else if len <= 0xFF_FFFF {
        w.put(&[0x83, (len >> 16) as u8, (len >> 8) as u8, len as u8])
    } else {
        Err(EncodeError::FieldTooLong)
    }
}

/// The content length of a DER INTEGER holding the unsigned big-endian `v`.
fn uint_len(v: &[u8]) -> usize {
    let v = strip(v);
    v.len() + usize::from(v.first().is_none_or(|b| b & 0x80 != 0))
}

fn strip(mut v: &[u8]) -> &[u8] {
    while let [0, rest @ ..] = v {
        v = rest;
    }
    v
}

/// Writes the unsigned big-endian `v` as a DER INTEGER.
fn put_uint(w: &mut Writer<'_>, v: &[u8]) -> Result<(), EncodeError> {
    let len = uint_len(v);
    put_header(w, INTEGER, len)?;
    let s = strip(v);
    if len > s.len() {
        w.u8(0)?;
    }
    w.put(s)
}

/// The length of the DER `ECDSA-Sig-Value` of `r‖s`.
pub(super) fn ecdsa_sig_len(rs: &[u8]) -> usize {
    let (r, s) = rs.split_at(rs.len() / 2);
    let content = 2 + uint_len(r) + 2 + uint_len(s);
    header_len(content) + content
}

/// Writes `r‖s` as a DER `ECDSA-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }`.
pub(super) fn put_ecdsa_sig(w: &mut Writer<'_>, rs: &[u8]) -> Result<(), EncodeError> {
    let (r, s) = rs.split_at(rs.len() / 2);
    put_header(w, SEQUENCE, 2 + uint_len(r) + 2 + uint_len(s))?;
    put_uint(w, r)?;
    put_uint(w, s)
}

/// Converts a DER `ECDSA-Sig-Value` into `r‖s`, each left-padded to half of `out`.
pub(super) fn ecdsa_sig_to_fixed(sig: &[u8], out: &mut [u8]) -> Option<()> {
    let (seq, rest) = expect(sig, SEQUENCE)?;
    if !rest.is_empty() {
        return None;
    }
    let half = out.len() / 2;
    let mut body = seq.content;
    for i in 0..2 {
        let (int, next) = expect(body, INTEGER)?;
        let v = strip(int.content);
        if v.len() > half || int.content.is_empty() {
            return None;
        }
        out.get_mut(i * half..i * half + half - v.len())?.fill(0);
        out.get_mut(i * half + half - v.len()..(i + 1) * half)?
            .copy_from_slice(v);
        body = next;
    }
    body.is_empty().then_some(())
}
