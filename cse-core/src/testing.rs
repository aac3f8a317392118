//! Test helpers shared by the integration tests of the protocol crates: a frame builder, key
//! material and frame configurations. Behind the `testing` feature, for dev-dependencies only;
//! not part of the supported API. Panics on misuse (it is test code).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    missing_docs
)]

extern crate std;

use std::vec;
use std::vec::Vec;

use crate::csi2::{DataType, Emitter, HeaderForm, VirtualChannel};
use crate::keys::{Salt, SecretKey};
use crate::{
    BlockConfig, CipherSuite, FrameConfig, KeyId, KeySize, SecurityVariant, TagLen, TagMode,
};

pub const VC: u8 = 1;

/// The shape of a frame.
#[derive(Clone, Debug)]
pub struct Shape {
    pub top_lines: usize,
    pub pixel_lines: usize,
    pub bottom_lines: usize,
    pub line_len: usize,
    pub embedded_len: usize,
    pub ls_le: bool,
}

impl Shape {
    pub const SMALL: Shape = Shape {
        top_lines: 2,
        pixel_lines: 5,
        bottom_lines: 1,
        line_len: 48,
        embedded_len: 20,
        ls_le: true,
    };
}

pub fn vc() -> VirtualChannel {
    VirtualChannel::new(VC).unwrap()
}

/// The original packets of frame `frame_number` (each packet's bytes).
pub fn frame(shape: &Shape, frame_number: u16, seed: u8) -> Vec<Vec<u8>> {
    let mut pkts = Vec::new();
    let mut push = |f: &dyn Fn(&mut Emitter<'_>)| {
        let mut buf = vec![0u8; 70_000];
        let mut em = Emitter::new(&mut buf, HeaderForm::Dphy);
        f(&mut em);
        let n = em.len();
        buf.truncate(n);
        pkts.push(buf);
    };
    let pat = |len: usize, k: usize| -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31) ^ (k as u8).wrapping_mul(7) ^ seed)
            .collect()
    };
    push(&|em| {
        em.frame_start(vc(), frame_number).unwrap();
    });
    for k in 0..shape.top_lines {
        let p = pat(shape.embedded_len, k);
        push(&|em| {
            em.long(vc(), DataType::EMBEDDED, &p).unwrap();
        });
    }
    for k in 0..shape.pixel_lines {
        if shape.ls_le {
            push(&|em| {
                em.line_start(vc(), k as u16 + 1).unwrap();
            });
        }
        let p = pat(shape.line_len, k + 100);
        push(&|em| {
            em.long(vc(), DataType::RAW12, &p).unwrap();
        });
        if shape.ls_le {
            push(&|em| {
                em.line_end(vc(), k as u16 + 1).unwrap();
            });
        }
    }
    for k in 0..shape.bottom_lines {
        let p = pat(shape.embedded_len, k + 200);
        push(&|em| {
            em.long(vc(), DataType::EMBEDDED, &p).unwrap();
        });
    }
    push(&|em| {
        em.frame_end(vc(), frame_number).unwrap();
    });
    pkts
}

pub fn material(suite: CipherSuite, seed: u8) -> crate::agent::KeyMaterial {
    let key = match suite.key_size() {
        KeySize::Aes128 => SecretKey::aes128([seed; 16]),
        KeySize::Aes256 => SecretKey::aes256([seed; 32]),
    };
    let mac_key = (suite.mac() == crate::MacAlgorithm::Cmac).then(|| match suite.key_size() {
        KeySize::Aes128 => SecretKey::aes128([seed ^ 0xFF; 16]),
        KeySize::Aes256 => SecretKey::aes256([seed ^ 0xFF; 32]),
    });
    crate::agent::KeyMaterial::new(key, mac_key, Salt::new([seed.wrapping_add(1); 12]))
        .with_min_tag_len(TagLen::L8)
}

/// The block configuration for `sv` with the matching suite of the family of `suite`.
pub fn block(
    sv: SecurityVariant,
    suite: CipherSuite,
    tag_len: TagLen,
    mode: TagMode,
) -> BlockConfig {
    let suite = if sv.encrypts() {
        encrypting(suite)
    } else {
        integrity(suite)
    };
    BlockConfig {
        sv,
        suite,
        tag_len,
        tag_mode: mode,
    }
}

/// The encrypting suite of the key family of `s`.
pub fn encrypting(s: CipherSuite) -> CipherSuite {
    use CipherSuite::*;
    match s {
        Aes128Gmac | Aes128Gcm => Aes128Gcm,
        Aes256Gmac | Aes256Gcm => Aes256Gcm,
        Aes128Cmac | Aes128CtrCmac => Aes128CtrCmac,
        Aes256Cmac | Aes256CtrCmac => Aes256CtrCmac,
    }
}

/// The integrity-only suite of the key family of `s`.
pub fn integrity(s: CipherSuite) -> CipherSuite {
    use CipherSuite::*;
    match s {
        Aes128Gmac | Aes128Gcm => Aes128Gmac,
        Aes256Gmac | Aes256Gcm => Aes256Gmac,
        Aes128Cmac | Aes128CtrCmac => Aes128Cmac,
        Aes256Cmac | Aes256CtrCmac => Aes256Cmac,
    }
}

/// SV for the top/bottom blocks when the image uses `sv` (SV-4 is image only).
pub fn embedded_sv(sv: SecurityVariant) -> SecurityVariant {
    match sv {
        SecurityVariant::BytePartialIntegrity { .. } => SecurityVariant::FullIntegrity,
        other => other,
    }
}

pub fn uniform(
    sv: SecurityVariant,
    suite: CipherSuite,
    tag_len: TagLen,
    mode: TagMode,
) -> FrameConfig {
    FrameConfig {
        top: block(embedded_sv(sv), suite, tag_len, mode),
        image: block(sv, suite, tag_len, mode),
        bottom: block(embedded_sv(sv), suite, tag_len, mode),
        key_id: KeyId::default(),
    }
}

/// The frame configuration of a stream vector (`docs/vectors.md`): its `config` blocks and
/// `key_id`. Each block's `suite` name must agree with its `suite_id`.
pub fn frame_config_from_json(v: &Json) -> FrameConfig {
    let block = |j: &Json| {
        let b = BlockConfig {
            sv: SecurityVariant::from_parts(
                crate::SvLevel::try_from(j.get("sv").num() as u8).unwrap(),
                j.get("param_a").num() as u16,
                j.get("param_b").num() as u16,
            )
            .unwrap(),
            suite: crate::Profile::DRAFT_1
                .suite_ids
                .suite(j.get("suite_id").num() as u8)
                .unwrap(),
            tag_len: TagLen::new(j.get("tag_len").num() as u8).unwrap(),
            tag_mode: TagMode::try_from(j.get("tag_mode").num() as u8).unwrap(),
        };
        assert_eq!(j.get("suite").str(), b.suite.name());
        b
    };
    let c = v.get("config");
    FrameConfig {
        top: block(c.get("top")),
        image: block(c.get("image")),
        bottom: block(c.get("bottom")),
        key_id: KeyId::new(v.get("key_id").num() as u8).unwrap(),
    }
}

/// Every `*.json` vector in `dir`, by name (the file stem must equal the `name` member).
pub fn load_vectors(
    dir: &std::path::Path,
) -> std::collections::BTreeMap<std::string::String, Json> {
    let mut m = std::collections::BTreeMap::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "json") {
            let j = parse_json(&std::fs::read_to_string(&p).unwrap());
            let name = std::string::String::from(j.get("name").str());
            assert_eq!(p.file_stem().unwrap().to_str(), Some(name.as_str()));
            m.insert(name, j);
        }
    }
    m
}

/// A JSON value as read by [`parse_json`] (the golden vectors of `docs/vectors.md`; object
/// members keep their order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Json {
    Null,
    Bool(bool),
    Num(u64),
    Str(std::string::String),
    Arr(Vec<Json>),
    Obj(Vec<(std::string::String, Json)>),
}

impl Json {
    /// The member `k` of an object (panics when missing).
    pub fn get(&self, k: &str) -> &Json {
        match self {
            Json::Obj(v) => {
                &v.iter()
                    .find(|(key, _)| key == k)
                    .unwrap_or_else(|| panic!("missing member {k}"))
                    .1
            }
            _ => panic!("not an object (looking for {k})"),
        }
    }
    pub fn num(&self) -> u64 {
        match self {
            Json::Num(n) => *n,
            _ => panic!("not a number: {self:?}"),
        }
    }
    pub fn bool(&self) -> bool {
        match self {
            Json::Bool(b) => *b,
            _ => panic!("not a boolean: {self:?}"),
        }
    }
    pub fn str(&self) -> &str {
        match self {
            Json::Str(s) => s,
            _ => panic!("not a string: {self:?}"),
        }
    }
    pub fn arr(&self) -> &[Json] {
        match self {
            Json::Arr(v) => v,
            _ => panic!("not an array: {self:?}"),
        }
    }
    /// A hex string's bytes.
    pub fn bytes(&self) -> Vec<u8> {
        unhex(self.str())
    }
    /// `null` -> `None`, a hex string -> its bytes.
    pub fn opt_bytes(&self) -> Option<Vec<u8>> {
        match self {
            Json::Null => None,
            j => Some(j.bytes()),
        }
    }
    /// An array of hex strings.
    pub fn byte_list(&self) -> Vec<Vec<u8>> {
        self.arr().iter().map(Json::bytes).collect()
    }
}

/// Lower-case hex string -> bytes (panics on odd length or a non-hex digit).
pub fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len().is_multiple_of(2), "odd-length hex string");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex digit"))
        .collect()
}

/// Parses one JSON document with `serde_json` (non-negative integers only, no fractions);
/// panics on anything else or on trailing data.
pub fn parse_json(text: &str) -> Json {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("vector JSON: {e}"))
}

/// Reads any JSON value the vectors use into [`Json`], object members in document order.
impl<'de> serde::Deserialize<'de> for Json {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> serde::de::Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("a JSON value with non-negative integers")
    }
    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_none<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Json, E> {
        Ok(Json::Bool(b))
    }
    fn visit_u64<E>(self, n: u64) -> Result<Json, E> {
        Ok(Json::Num(n))
    }
    fn visit_i64<E: serde::de::Error>(self, n: i64) -> Result<Json, E> {
        u64::try_from(n)
            .map(Json::Num)
            .map_err(|_| E::custom("negative number"))
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Json, E> {
        Err(E::custom("a number with a fraction or exponent"))
    }
    fn visit_str<E>(self, s: &str) -> Result<Json, E> {
        Ok(Json::Str(s.into()))
    }
    fn visit_string<E>(self, s: std::string::String) -> Result<Json, E> {
        Ok(Json::Str(s))
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut a: A) -> Result<Json, A::Error> {
        let mut v = Vec::new();
        while let Some(x) = a.next_element()? {
            v.push(x);
        }
        Ok(Json::Arr(v))
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut a: A) -> Result<Json, A::Error> {
        let mut v = Vec::new();
        while let Some((k, x)) = a.next_entry::<std::string::String, Json>()? {
            v.push((k, x));
        }
        Ok(Json::Obj(v))
    }
}

/// The first 4-byte window of `secret` that `dbg` (a `Debug` rendering) shows, in any of the
/// usual renderings of bytes (hex run, either case; decimal, `0x`, plain-hex arrays; spaced
/// and colon-separated hex), or `None`: for tests that key holders print no key bytes.
pub fn leaks(dbg: &str, secret: &[u8]) -> Option<std::string::String> {
    use std::format;
    let lower = dbg.to_lowercase();
    for w in secret.windows(4) {
        let forms = [
            format!("{:02x}{:02x}{:02x}{:02x}", w[0], w[1], w[2], w[3]),
            format!("{}, {}, {}, {}", w[0], w[1], w[2], w[3]),
            format!("{:#04x}, {:#04x}, {:#04x}, {:#04x}", w[0], w[1], w[2], w[3]),
            format!("{:x}, {:x}, {:x}, {:x}", w[0], w[1], w[2], w[3]),
            format!("{:02x} {:02x} {:02x} {:02x}", w[0], w[1], w[2], w[3]),
            format!("{:02x}:{:02x}:{:02x}:{:02x}", w[0], w[1], w[2], w[3]),
        ];
        if let Some(f) = forms.into_iter().find(|f| lower.contains(f.as_str())) {
            return Some(f);
        }
    }
    None
}

/// Whether a type implements `Clone`, read as `CloneProbe::<T>::IS_CLONE` with [`NotClone`] in
/// scope: the inherent constant exists only for `T: Clone` and wins over the trait's `false`.
/// For tests that nothing holding a key can be cloned.
pub struct CloneProbe<T>(core::marker::PhantomData<T>);

/// The `false` of [`CloneProbe`] for types that do not implement `Clone`.
pub trait NotClone {
    const IS_CLONE: bool = false;
}

impl<T> NotClone for CloneProbe<T> {}

impl<T: Clone> CloneProbe<T> {
    #[allow(dead_code)]
    pub const IS_CLONE: bool = true;
}

#[cfg(test)]
mod json_tests {
    use super::*;

    #[test]
    fn parses_the_vector_subset() {
        let j = parse_json("{\"a\": [1, \"0aff\", null, true, false], \"b\": {}, \"c\": []}");
        assert_eq!(j.get("a").arr()[0].num(), 1);
        assert_eq!(j.get("a").arr()[1].bytes(), vec![0x0a, 0xff]);
        assert_eq!(j.get("a").arr()[2].opt_bytes(), None);
        assert!(j.get("a").arr()[3].bool());
        assert!(!j.get("a").arr()[4].bool());
        assert_eq!(j.get("b"), &Json::Obj(Vec::new()));
        assert!(j.get("c").arr().is_empty());
    }

    #[test]
    #[should_panic]
    fn refuses_trailing_data() {
        parse_json("{} x");
    }

    #[test]
    #[should_panic]
    fn refuses_a_truncated_document() {
        parse_json("{\"a\": [1, 2");
    }

    #[test]
    #[should_panic]
    fn refuses_a_negative_number() {
        parse_json("{\"a\": -1}");
    }

    #[test]
    #[should_panic]
    fn refuses_a_fraction() {
        parse_json("[1.5]");
    }

    #[test]
    fn keeps_member_order_and_escapes() {
        let j = parse_json("{\"z\": 1, \"a\": \"q\\\"\\\\/\"}");
        let Json::Obj(m) = &j else { panic!() };
        assert_eq!(m[0].0, "z");
        assert_eq!(m[1].0, "a");
        assert_eq!(j.get("a").str(), "q\"\\/");
    }
}

#[cfg(test)]
mod probe_tests {
    extern crate std;
    use super::{CloneProbe, NotClone, leaks};
    use std::string::String;
    use std::{format, vec};

    #[test]
    fn leaks_finds_every_rendering_and_nothing_else() {
        let k = [0x11u8, 0xA2, 0x33, 0x04, 0x55];
        let shown: vec::Vec<String> = vec![
            format!("{k:?}"),
            format!("{k:x?}"),
            "Key(11a23304)".into(),
            "Key(11A23304)".into(),
            "11 a2 33 04".into(),
            "11:a2:33:04".into(),
        ];
        for shown in shown {
            assert!(leaks(&shown, &k).is_some(), "{shown}");
        }
        assert_eq!(leaks("SecretKey { .. }", &k), None);
        assert_eq!(leaks("11a233", &k), None);
    }

    #[test]
    fn the_clone_probe_tells_clone_from_not() {
        struct Opaque;
        const { assert!(CloneProbe::<u8>::IS_CLONE) };
        const { assert!(!CloneProbe::<Opaque>::IS_CLONE) };
    }
}
