//! Golden vectors: `tests/vectors/*.json` pin the SEP wire format byte for byte, and the worked
//! examples of `docs/wire-format.md` section 4 are checked against them.
//!
//! Regenerate (only when the format changes on purpose, with a `format_version` bump):
//! `CSE_SEP_REGEN_VECTORS=1 cargo test -p cse-sep --test vectors`.
#![allow(clippy::unwrap_used, clippy::panic)] // test helpers outside #[test] fns

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use cse_core::csi2::{DataType, Emitter, HeaderForm, Packets, VirtualChannel};
use cse_core::keys::{Salt, SecretKey};
use cse_core::{
    BlockConfig, CipherSuite, FrameConfig, KeyId, Policy, Profile, SecurityVariant, SvLevel,
    TagLen, TagMode,
};
use cse_sep::{Delivery, KeyMaterial, Receiver, Settings, Transmitter, wire};

// ---- a tiny JSON value, reader and writer (no serde in the dependency list) ----

#[derive(Clone, Debug, PartialEq)]
enum Json {
    Null,
    Num(u64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    fn get(&self, k: &str) -> &Json {
        match self {
            Json::Obj(v) => {
                &v.iter()
                    .find(|(key, _)| key == k)
                    .unwrap_or_else(|| panic!("missing {k}"))
                    .1
            }
            _ => panic!("not an object"),
        }
    }
    fn num(&self) -> u64 {
        match self {
            Json::Num(n) => *n,
            _ => panic!("not a number: {self:?}"),
        }
    }
    fn str(&self) -> &str {
        match self {
            Json::Str(s) => s,
            _ => panic!("not a string"),
        }
    }
    fn arr(&self) -> &[Json] {
        match self {
            Json::Arr(v) => v,
            _ => panic!("not an array"),
        }
    }
    fn write(&self, out: &mut String, indent: usize) {
        let pad = "  ".repeat(indent);
        match self {
            Json::Null => out.push_str("null"),
            Json::Num(n) => out.push_str(&n.to_string()),
            Json::Str(s) => {
                out.push('"');
                out.push_str(s);
                out.push('"');
            }
            Json::Arr(v) => {
                out.push_str("[\n");
                for (i, x) in v.iter().enumerate() {
                    out.push_str(&pad);
                    out.push_str("  ");
                    x.write(out, indent + 1);
                    if i + 1 < v.len() {
                        out.push(',');
                    }
                    out.push('\n');
                }
                out.push_str(&pad);
                out.push(']');
            }
            Json::Obj(v) => {
                out.push_str("{\n");
                for (i, (k, x)) in v.iter().enumerate() {
                    out.push_str(&format!("{pad}  \"{k}\": "));
                    x.write(out, indent + 1);
                    if i + 1 < v.len() {
                        out.push(',');
                    }
                    out.push('\n');
                }
                out.push_str(&pad);
                out.push('}');
            }
        }
    }
}

struct Reader<'a> {
    s: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn ws(&mut self) {
        while self.at < self.s.len() && self.s[self.at].is_ascii_whitespace() {
            self.at += 1;
        }
    }
    fn eat(&mut self, c: u8) {
        self.ws();
        assert_eq!(self.s[self.at], c, "at byte {}", self.at);
        self.at += 1;
    }
    fn value(&mut self) -> Json {
        self.ws();
        match self.s[self.at] {
            b'n' => {
                assert_eq!(&self.s[self.at..self.at + 4], b"null");
                self.at += 4;
                Json::Null
            }
            b'"' => Json::Str(self.string()),
            b'[' => {
                self.at += 1;
                let mut v = Vec::new();
                loop {
                    self.ws();
                    if self.s[self.at] == b']' {
                        self.at += 1;
                        return Json::Arr(v);
                    }
                    if !v.is_empty() {
                        self.eat(b',');
                    }
                    v.push(self.value());
                }
            }
            b'{' => {
                self.at += 1;
                let mut v = Vec::new();
                loop {
                    self.ws();
                    if self.s[self.at] == b'}' {
                        self.at += 1;
                        return Json::Obj(v);
                    }
                    if !v.is_empty() {
                        self.eat(b',');
                        self.ws();
                    }
                    let k = self.string();
                    self.eat(b':');
                    v.push((k, self.value()));
                }
            }
            _ => {
                let start = self.at;
                while self.at < self.s.len() && self.s[self.at].is_ascii_digit() {
                    self.at += 1;
                }
                Json::Num(
                    std::str::from_utf8(&self.s[start..self.at])
                        .unwrap()
                        .parse()
                        .unwrap(),
                )
            }
        }
    }
    fn string(&mut self) -> String {
        self.eat(b'"');
        let start = self.at;
        while self.s[self.at] != b'"' {
            assert_ne!(self.s[self.at], b'\\', "escapes are not used in vectors");
            self.at += 1;
        }
        self.at += 1;
        String::from_utf8(self.s[start..self.at - 1].to_vec()).unwrap()
    }
}

fn parse_json(text: &str) -> Json {
    let mut r = Reader {
        s: text.as_bytes(),
        at: 0,
    };
    let v = r.value();
    r.ws();
    assert_eq!(r.at, text.len(), "trailing data");
    v
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

// ---- the vector set ----

struct Spec {
    name: &'static str,
    config: FrameConfig,
    ls_le: bool,
}

fn blk(sv: SecurityVariant, suite: CipherSuite, tag_len: TagLen, mode: TagMode) -> BlockConfig {
    BlockConfig {
        sv,
        suite,
        tag_len,
        tag_mode: mode,
    }
}

fn specs() -> Vec<Spec> {
    use CipherSuite::*;
    use SecurityVariant::*;
    let k0 = KeyId::default();
    let uni = |b| FrameConfig::uniform(b, k0);
    vec![
        Spec {
            name: "sv1-per-message-aes256gcm",
            config: uni(blk(
                FullIntegrityEncrypted,
                Aes256Gcm,
                TagLen::L16,
                TagMode::PerMessage,
            )),
            ls_le: false,
        },
        Spec {
            name: "sv2-per-message-aes128cmac",
            config: uni(blk(
                FullIntegrity,
                Aes128Cmac,
                TagLen::L16,
                TagMode::PerMessage,
            )),
            ls_le: false,
        },
        Spec {
            name: "sv3-per-message-aes256gmac",
            config: uni(blk(
                LinePartialIntegrity {
                    stride: 2,
                    offset: 0,
                },
                Aes256Gmac,
                TagLen::L12,
                TagMode::PerMessage,
            )),
            ls_le: false,
        },
        Spec {
            name: "sv4-per-message-aes128gmac",
            config: FrameConfig {
                image: blk(
                    BytePartialIntegrity { start: 2, len: 4 },
                    Aes128Gmac,
                    TagLen::L8,
                    TagMode::PerMessage,
                ),
                ..uni(blk(
                    FullIntegrity,
                    Aes128Gmac,
                    TagLen::L8,
                    TagMode::PerMessage,
                ))
            },
            ls_le: false,
        },
        Spec {
            name: "sv5-no-security",
            config: uni(BlockConfig::no_security()),
            ls_le: false,
        },
        Spec {
            name: "sv2-per-data-type-aes256gmac",
            config: uni(blk(
                FullIntegrity,
                Aes256Gmac,
                TagLen::L16,
                TagMode::PerDataType,
            )),
            ls_le: true,
        },
        Spec {
            name: "sv1-per-frame-aes128ctrcmac",
            config: uni(blk(
                FullIntegrityEncrypted,
                Aes128CtrCmac,
                TagLen::L16,
                TagMode::PerFrame,
            )),
            ls_le: false,
        },
    ]
}

const VC: u8 = 1;
const FIRST_FRAME: u32 = 7;

fn key_bytes(suite: CipherSuite) -> (Vec<u8>, Option<Vec<u8>>, Vec<u8>) {
    let n = suite.key_size().len();
    let key: Vec<u8> = (0..n as u8).collect();
    let mac = suite
        .needs_mac_key()
        .then(|| (0..n as u8).map(|b| b ^ 0xA5).collect());
    (key, mac, (0xC0..0xCC).collect())
}

fn material(suite: CipherSuite, key: &[u8], mac: Option<&[u8]>, salt: &[u8]) -> KeyMaterial {
    KeyMaterial::new(
        SecretKey::from_slice(suite.key_size(), key).unwrap(),
        mac.map(|m| SecretKey::from_slice(suite.key_size(), m).unwrap()),
        Salt::from_slice(salt).unwrap(),
    )
    .with_min_tag_len(TagLen::L8)
}

fn inputs(ls_le: bool) -> Vec<Vec<u8>> {
    let vc = VirtualChannel::new(VC).unwrap();
    let mut buf = vec![0u8; 1024];
    let mut em = Emitter::new(&mut buf, HeaderForm::Dphy);
    em.frame_start(vc, 1).unwrap();
    em.long(vc, DataType::EMBEDDED, &[0xE0, 0xE1, 0xE2, 0xE3])
        .unwrap();
    for line in 0..2u8 {
        if ls_le {
            em.line_start(vc, u16::from(line) + 1).unwrap();
        }
        let px: Vec<u8> = (0..8).map(|i| 0x10 * (line + 1) + i).collect();
        em.long(vc, DataType::RAW12, &px).unwrap();
        if ls_le {
            em.line_end(vc, u16::from(line) + 1).unwrap();
        }
    }
    em.long(vc, DataType::EMBEDDED, &[0xB0, 0xB1]).unwrap();
    em.frame_end(vc, 1).unwrap();
    let w = em.written().to_vec();
    Packets::new(&w, HeaderForm::Dphy)
        .map(|d| d.unwrap().raw.to_vec())
        .collect()
}

fn protect(spec: &Spec) -> (Vec<Vec<u8>>, Vec<Vec<u8>>) {
    let suite = main_suite(&spec.config);
    let (k, m, s) = key_bytes(suite);
    let mut tx = Transmitter::new(Settings::new(VirtualChannel::new(VC).unwrap()), FIRST_FRAME);
    tx.install_key(spec.config.key_id, material(suite, &k, m.as_deref(), &s))
        .unwrap();
    tx.set_config(spec.config).unwrap();
    let ins = inputs(spec.ls_le);
    let mut outs = Vec::new();
    for p in &ins {
        let mut buf = vec![0u8; 512];
        let r = tx.protect(p, &mut buf).unwrap();
        for d in Packets::new(&buf[..r.len], HeaderForm::Dphy) {
            outs.push(d.unwrap().raw.to_vec());
        }
    }
    (ins, outs)
}

/// The suite whose key the vector provisions: the image block's (SV-5 vectors: a dummy).
fn main_suite(c: &FrameConfig) -> CipherSuite {
    c.image.suite
}

fn tags(outs: &[Vec<u8>]) -> Vec<Json> {
    outs.iter()
        .filter_map(|o| {
            let p = wire::Packet::new_checked(&o[4..o.len() - 2], &Profile::DRAFT_1).unwrap();
            (!p.tag().is_empty()).then(|| Json::Str(hex(p.tag())))
        })
        .collect()
}

fn block_json(b: &BlockConfig) -> Json {
    let (a, c) = b.sv.params();
    Json::Obj(vec![
        ("sv".into(), Json::Num(u64::from(b.sv.number()))),
        ("param_a".into(), Json::Num(u64::from(a))),
        ("param_b".into(), Json::Num(u64::from(c))),
        ("suite".into(), Json::Str(b.suite.name().into())),
        (
            "suite_id".into(),
            Json::Num(u64::from(Profile::DRAFT_1.suite_ids.id(b.suite))),
        ),
        ("tag_len".into(), Json::Num(b.tag_len.get() as u64)),
        ("tag_mode".into(), Json::Num(u64::from(b.tag_mode.code()))),
    ])
}

fn block_from_json(j: &Json) -> BlockConfig {
    let level = SvLevel::try_from(j.get("sv").num() as u8).unwrap();
    BlockConfig {
        sv: SecurityVariant::from_parts(
            level,
            j.get("param_a").num() as u16,
            j.get("param_b").num() as u16,
        )
        .unwrap(),
        suite: Profile::DRAFT_1
            .suite_ids
            .suite(j.get("suite_id").num() as u8)
            .unwrap(),
        tag_len: TagLen::new(j.get("tag_len").num() as u8).unwrap(),
        tag_mode: TagMode::try_from(j.get("tag_mode").num() as u8).unwrap(),
    }
}

fn vector_json(spec: &Spec) -> Json {
    let suite = main_suite(&spec.config);
    let (k, m, s) = key_bytes(suite);
    let (ins, outs) = protect(spec);
    let c = &spec.config;
    Json::Obj(vec![
        ("name".into(), Json::Str(spec.name.into())),
        ("profile".into(), Json::Str(Profile::DRAFT_1.name.into())),
        ("direction".into(), Json::Str("sensor-to-controller".into())),
        ("virtual_channel".into(), Json::Num(u64::from(VC))),
        (
            "first_frame_counter".into(),
            Json::Num(u64::from(FIRST_FRAME)),
        ),
        ("key_id".into(), Json::Num(u64::from(c.key_id.get()))),
        ("key".into(), Json::Str(hex(&k))),
        (
            "mac_key".into(),
            m.map_or(Json::Null, |m| Json::Str(hex(&m))),
        ),
        ("salt".into(), Json::Str(hex(&s))),
        (
            "config".into(),
            Json::Obj(vec![
                ("top".into(), block_json(&c.top)),
                ("image".into(), block_json(&c.image)),
                ("bottom".into(), block_json(&c.bottom)),
            ]),
        ),
        (
            "input_packets".into(),
            Json::Arr(ins.iter().map(|p| Json::Str(hex(p))).collect()),
        ),
        (
            "output_packets".into(),
            Json::Arr(outs.iter().map(|p| Json::Str(hex(p))).collect()),
        ),
        ("tags".into(), Json::Arr(tags(&outs))),
    ])
}

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors")
}

fn load_all() -> BTreeMap<String, Json> {
    let mut m = BTreeMap::new();
    for e in std::fs::read_dir(dir()).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "json") {
            let j = parse_json(&std::fs::read_to_string(&p).unwrap());
            m.insert(j.get("name").str().to_string(), j);
        }
    }
    m
}

#[test]
fn golden_vectors_reproduce_byte_for_byte_and_verify() {
    if std::env::var_os("CSE_SEP_REGEN_VECTORS").is_some() {
        for s in specs() {
            let mut text = String::new();
            vector_json(&s).write(&mut text, 0);
            text.push('\n');
            std::fs::write(dir().join(format!("{}.json", s.name)), text).unwrap();
        }
    }
    let all = load_all();
    assert_eq!(all.len(), specs().len(), "one file per vector");
    for (name, v) in &all {
        // The file round-trips through the writer (it is canonical).
        let mut text = String::new();
        v.write(&mut text, 0);
        text.push('\n');
        assert_eq!(
            text,
            std::fs::read_to_string(dir().join(format!("{name}.json"))).unwrap()
        );

        let config = FrameConfig {
            top: block_from_json(v.get("config").get("top")),
            image: block_from_json(v.get("config").get("image")),
            bottom: block_from_json(v.get("config").get("bottom")),
            key_id: KeyId::new(v.get("key_id").num() as u8).unwrap(),
        };
        let suite = main_suite(&config);
        let key = unhex(v.get("key").str());
        let mac = match v.get("mac_key") {
            Json::Null => None,
            j => Some(unhex(j.str())),
        };
        let salt = unhex(v.get("salt").str());
        let vc = VirtualChannel::new(v.get("virtual_channel").num() as u8).unwrap();
        let ins: Vec<Vec<u8>> = v
            .get("input_packets")
            .arr()
            .iter()
            .map(|j| unhex(j.str()))
            .collect();
        let want: Vec<Vec<u8>> = v
            .get("output_packets")
            .arr()
            .iter()
            .map(|j| unhex(j.str()))
            .collect();

        // Transmitter: same bytes.
        let mut tx = Transmitter::new(Settings::new(vc), v.get("first_frame_counter").num() as u32);
        tx.install_key(config.key_id, material(suite, &key, mac.as_deref(), &salt))
            .unwrap();
        tx.set_config(config).unwrap();
        let mut got = Vec::new();
        for p in &ins {
            let mut buf = vec![0u8; 512];
            let r = tx.protect(p, &mut buf).unwrap();
            for d in Packets::new(&buf[..r.len], HeaderForm::Dphy) {
                got.push(d.unwrap().raw.to_vec());
            }
        }
        assert!(got == want, "{name}: transmitter output changed");
        assert_eq!(&tags(&got), v.get("tags").arr(), "{name}");

        // Receiver: the inputs come back.
        let mut rx = Receiver::new(Settings::new(vc), Policy::PERMISSIVE, 100);
        rx.install_key(config.key_id, material(suite, &key, mac.as_deref(), &salt))
            .unwrap();
        let mut back: Vec<(u32, Vec<u8>)> = Vec::new();
        let mut held = Vec::new();
        for (t, s) in want.iter().enumerate() {
            let mut out = vec![0u8; 512];
            match rx.receive(s, t as u64, &mut out).unwrap() {
                Delivery::Verified(p) => back.push((p.info().message_index, p.packet().to_vec())),
                Delivery::Unprotected(p) => {
                    back.push((p.info().message_index, p.unauthenticated_packet().to_vec()))
                }
                Delivery::Unverified(u) => held.push((
                    u.unverified_packet().to_vec(),
                    u.decrypt_ticket(),
                    u.is_encrypted(),
                    u.info().message_index,
                )),
                Delivery::ScopeVerified(proof) => {
                    for (b, t, enc, i) in held.drain(..) {
                        let mut b = b;
                        if enc {
                            rx.decrypt(&proof, &t, &mut b).unwrap();
                        }
                        back.push((i, b));
                    }
                }
                _ => unreachable!(),
            }
        }
        back.sort_by_key(|(i, _)| *i);
        let back: Vec<Vec<u8>> = back.into_iter().map(|(_, b)| b).collect();
        assert!(back == ins, "{name}: receiver output differs");
    }
}

/// `docs/wire-format.md` section 4 quotes packets of these vectors; each example starts with
/// a line `vector <name> packet <k>` followed by hex lines.
#[test]
fn wire_format_examples_match_the_vectors() {
    let doc = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/wire-format.md"),
    )
    .unwrap();
    let all = load_all();
    let mut checked = 0;
    let mut lines = doc.lines().peekable();
    while let Some(l) = lines.next() {
        let Some(rest) = l.strip_prefix("vector ") else {
            continue;
        };
        let mut parts = rest.split_whitespace();
        let name = parts.next().unwrap();
        assert_eq!(parts.next(), Some("packet"));
        let k: usize = parts.next().unwrap().parse().unwrap();
        let mut bytes = Vec::new();
        while let Some(h) = lines.peek() {
            if h.starts_with("```") || h.trim().is_empty() {
                break;
            }
            // Each line: `label:  hex bytes` (label optional).
            let hexpart = h.split_once(':').map_or(*h, |(_, b)| b);
            for tok in hexpart.split_whitespace() {
                bytes.push(u8::from_str_radix(tok, 16).unwrap());
            }
            lines.next();
        }
        let want = unhex(all[name].get("output_packets").arr()[k].str());
        assert_eq!(bytes, want, "docs example {name} packet {k}");
        checked += 1;
    }
    assert!(
        checked >= specs().len(),
        "every vector is quoted in the docs ({checked})"
    );
}
