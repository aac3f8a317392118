//! Golden vectors in `tests/vectors/*.json`: for each, the transmitter must reproduce the
//! recorded stream byte for byte from the recorded inputs, and the receiver must release the
//! recorded originals from it. `FSED_WRITE_VECTORS=1 cargo test -p cse-fsed --test vectors`
//! regenerates the files (hand-rolled JSON writer and reader, no serde).
#![allow(clippy::unwrap_used, clippy::panic)]

mod common;

use std::collections::BTreeMap;

use common::*;
use cse_core::keys::{Salt, SecretKey};
use cse_core::{
    BlockConfig, CipherSuite, FrameConfig, KeyId, KeySize, Policy, SecurityVariant, TagLen, TagMode,
};
use cse_fsed::{KeyMaterial, Receiver, Settings, Transmitter};

#[derive(Debug, PartialEq)]
enum Json {
    Str(String),
    Num(u64),
    Arr(Vec<Json>),
    Obj(BTreeMap<String, Json>),
}

struct Reader<'a> {
    s: &'a [u8],
    i: usize,
}

impl Reader<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) {
        self.ws();
        assert_eq!(self.s[self.i], c, "expected {} at {}", c as char, self.i);
        self.i += 1;
    }
    fn peek(&mut self) -> u8 {
        self.ws();
        self.s[self.i]
    }
    fn string(&mut self) -> String {
        self.eat(b'"');
        let start = self.i;
        while self.s[self.i] != b'"' {
            assert_ne!(self.s[self.i], b'\\', "escapes are not used by the writer");
            self.i += 1;
        }
        self.i += 1;
        String::from_utf8(self.s[start..self.i - 1].to_vec()).unwrap()
    }
    fn value(&mut self) -> Json {
        match self.peek() {
            b'"' => Json::Str(self.string()),
            b'[' => {
                self.eat(b'[');
                let mut v = Vec::new();
                if self.peek() != b']' {
                    loop {
                        v.push(self.value());
                        if self.peek() == b',' {
                            self.eat(b',');
                        } else {
                            break;
                        }
                    }
                }
                self.eat(b']');
                Json::Arr(v)
            }
            b'{' => {
                self.eat(b'{');
                let mut m = BTreeMap::new();
                if self.peek() != b'}' {
                    loop {
                        let k = self.string();
                        self.eat(b':');
                        m.insert(k, self.value());
                        if self.peek() == b',' {
                            self.eat(b',');
                        } else {
                            break;
                        }
                    }
                }
                self.eat(b'}');
                Json::Obj(m)
            }
            _ => {
                let start = self.i;
                while self.i < self.s.len() && self.s[self.i].is_ascii_digit() {
                    self.i += 1;
                }
                Json::Num(
                    std::str::from_utf8(&self.s[start..self.i])
                        .unwrap()
                        .parse()
                        .unwrap(),
                )
            }
        }
    }
}

fn parse(text: &str) -> BTreeMap<String, Json> {
    let mut r = Reader {
        s: text.as_bytes(),
        i: 0,
    };
    let Json::Obj(m) = r.value() else {
        panic!("not an object")
    };
    r.ws();
    assert_eq!(r.i, text.len(), "trailing data");
    m
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

struct Vector {
    name: &'static str,
    sv: SecurityVariant,
    suite: CipherSuite,
    mode: TagMode,
    tag_len: TagLen,
}

fn vectors() -> Vec<Vector> {
    use SecurityVariant::*;
    vec![
        Vector {
            name: "sv1-per-frame-aes256gcm",
            sv: FullIntegrityEncrypted,
            suite: CipherSuite::Aes256Gcm,
            mode: TagMode::PerFrame,
            tag_len: TagLen::L16,
        },
        Vector {
            name: "sv1-per-data-type-aes128ctrcmac",
            sv: FullIntegrityEncrypted,
            suite: CipherSuite::Aes128CtrCmac,
            mode: TagMode::PerDataType,
            tag_len: TagLen::L16,
        },
        Vector {
            name: "sv2-per-frame-aes256gmac",
            sv: FullIntegrity,
            suite: CipherSuite::Aes256Gmac,
            mode: TagMode::PerFrame,
            tag_len: TagLen::L16,
        },
        Vector {
            name: "sv2-per-data-type-aes128cmac",
            sv: FullIntegrity,
            suite: CipherSuite::Aes128Cmac,
            mode: TagMode::PerDataType,
            tag_len: TagLen::L12,
        },
        Vector {
            name: "sv3-per-frame-aes128gmac",
            sv: LinePartialIntegrity {
                stride: 2,
                offset: 1,
            },
            suite: CipherSuite::Aes128Gmac,
            mode: TagMode::PerFrame,
            tag_len: TagLen::L8,
        },
        Vector {
            name: "sv4-per-frame-aes256cmac",
            sv: BytePartialIntegrity { start: 2, len: 8 },
            suite: CipherSuite::Aes256Cmac,
            mode: TagMode::PerFrame,
            tag_len: TagLen::L16,
        },
        Vector {
            name: "sv5-no-security",
            sv: NoSecurity,
            suite: CipherSuite::Aes128Cmac,
            mode: TagMode::PerFrame,
            tag_len: TagLen::L16,
        },
    ]
}

const SHAPE: Shape = Shape {
    top_lines: 1,
    pixel_lines: 3,
    bottom_lines: 1,
    line_len: 16,
    embedded_len: 8,
    ls_le: true,
};

fn key_bytes(size: KeySize, b: u8) -> Vec<u8> {
    vec![b; size.len()]
}

fn run(
    v: &Vector,
    key: &[u8],
    mac_key: Option<&[u8]>,
    salt: &[u8],
    fc: u32,
    originals: &[Vec<u8>],
) -> (Vec<Vec<u8>>, Receiver) {
    let size = v.suite.key_size();
    let mk = || {
        KeyMaterial::new(
            SecretKey::from_slice(size, key).unwrap(),
            mac_key.map(|m| SecretKey::from_slice(size, m).unwrap()),
            Salt::from_slice(salt).unwrap(),
        )
        .with_min_tag_len(TagLen::L8)
    };
    let cfg = FrameConfig {
        top: block(embedded_sv(v.sv), v.suite, v.tag_len, v.mode),
        image: BlockConfig {
            sv: v.sv,
            suite: v.suite,
            tag_len: v.tag_len,
            tag_mode: v.mode,
        },
        bottom: block(embedded_sv(v.sv), v.suite, v.tag_len, v.mode),
        key_id: KeyId::default(),
    };
    let mut tx = Transmitter::new(Settings::new(vc()), fc);
    tx.install_key(KeyId::default(), mk()).unwrap();
    tx.set_config(cfg).unwrap();
    let mut rx = Receiver::new(Settings::new(vc()), Policy::PERMISSIVE, 100);
    rx.install_key(KeyId::default(), mk()).unwrap();
    (protect_all(&mut tx, originals), rx)
}

fn write(v: &Vector) -> String {
    let size = v.suite.key_size();
    let key = key_bytes(size, 0x0A);
    let mac_key = v.suite.needs_mac_key().then(|| key_bytes(size, 0x0B));
    let salt = vec![0x0C; 12];
    let originals = frame(&SHAPE, 5, 0x21);
    let (stream, _) = run(v, &key, mac_key.as_deref(), &salt, 0x0102_0304, &originals);
    let arr = |xs: &[Vec<u8>]| {
        xs.iter()
            .map(|x| format!("    \"{}\"", hex(x)))
            .collect::<Vec<_>>()
            .join(",\n")
    };
    format!(
        "{{\n  \"name\": \"{}\",\n  \"profile\": \"draft-1\",\n  \"security_variant\": \"{:?}\",\n  \"suite\": \"{}\",\n  \"tag_mode\": \"{:?}\",\n  \"tag_len\": {},\n  \"virtual_channel\": {},\n  \"frame_counter\": {},\n  \"key\": \"{}\",\n  \"mac_key\": \"{}\",\n  \"salt\": \"{}\",\n  \"originals\": [\n{}\n  ],\n  \"stream\": [\n{}\n  ]\n}}\n",
        v.name,
        v.sv,
        v.suite.name(),
        v.mode,
        v.tag_len.get(),
        VC,
        0x0102_0304u32,
        hex(&key),
        mac_key.as_deref().map(hex).unwrap_or_default(),
        hex(&salt),
        arr(&originals),
        arr(&stream)
    )
}

fn path(name: &str) -> String {
    format!("{}/tests/vectors/{name}.json", env!("CARGO_MANIFEST_DIR"))
}

fn strs(j: &Json) -> Vec<Vec<u8>> {
    let Json::Arr(a) = j else { panic!("array") };
    a.iter()
        .map(|x| match x {
            Json::Str(s) => unhex(s),
            _ => panic!("hex string"),
        })
        .collect()
}

fn s(j: &Json) -> &str {
    match j {
        Json::Str(s) => s,
        _ => panic!("string"),
    }
}

#[test]
fn golden_vectors_reproduce_and_verify() {
    let regen = std::env::var_os("FSED_WRITE_VECTORS").is_some();
    for v in vectors() {
        if regen {
            std::fs::write(path(v.name), write(&v)).unwrap();
        }
        let text = std::fs::read_to_string(path(v.name)).unwrap();
        let m = parse(&text);
        assert_eq!(s(&m["name"]), v.name);
        assert_eq!(s(&m["suite"]), v.suite.name());
        let Json::Num(fc) = m["frame_counter"] else {
            panic!()
        };
        let mac = unhex(s(&m["mac_key"]));
        let originals = strs(&m["originals"]);
        let recorded = strs(&m["stream"]);
        let (stream, mut rx) = run(
            &v,
            &unhex(s(&m["key"])),
            (!mac.is_empty()).then_some(&mac[..]),
            &unhex(s(&m["salt"])),
            fc as u32,
            &originals,
        );
        assert_eq!(
            stream, recorded,
            "{}: transmitter output differs from the vector",
            v.name
        );
        let out = receive_all(&mut rx, &recorded);
        assert!(out.errors.is_empty(), "{}: {:?}", v.name, out.errors);
        assert_eq!(out.accepted(), originals, "{}", v.name);
        assert_eq!(out.clean_frames(), 1);
        // The writer's output parses back to the same document.
        assert_eq!(parse(&write(&v)), m);
    }
}
