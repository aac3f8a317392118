//! Golden test vectors for hardware and firmware teams: every security variant x tag mode x
//! suite x tag length of SEP and FSED, extra stream cases (long lines, multi-frame sequences
//! with key rollover, the controller-to-sensor direction, VCX, block and scope corner cases),
//! the CCISE register transactions of every suite and tag length, negative vectors of all
//! three protocols with the verdict a receiver must reach, and key-derivation vectors (every
//! link key of key generations 0..2 from a fixed SPDM export master secret), each as one
//! canonical JSON document (format `cse-vectors/3`, described field by field in
//! `docs/vectors.md`).
//!
//! [`all`] builds the whole set in memory from fixed fixtures (keys, salt, input frames), so
//! the output is deterministic: `cse vectors --out DIR` writes it, and the crates' own golden
//! files (`cse-sep/tests/vectors`, `cse-fsed/tests/vectors`, `ccise/tests/vectors`) are
//! members of it byte for byte. Every stream vector is checked through the crate's receiver
//! before it is emitted (the receiver must give back the input packets), so a vector that
//! does not verify is never written.
//!
//! The JSON is a [`Json`] tree (members in a fixed order) written by `serde_json`'s pretty
//! printer.

use std::fmt::Write as _;
use std::path::Path;

use ccise::{Config, Controller, SessionKeys, SimSensor, Target};
use cse_core::crypto::SuiteKey;
use cse_core::csi2::{DataType, Emitter, HeaderForm, Packets, VirtualChannel};
use cse_core::keys::{Salt, SecretKey};
use cse_core::{
    BlockConfig, CipherSuite, Direction, FrameConfig, KeyId, Policy, Profile, SecurityVariant,
    TagLen, TagMode,
};

use crate::LinkError;

mod extra;
mod keys;
pub use extra::LONG_LINE_LENGTHS;
pub use keys::{
    KEY_GENERATIONS, REQ_SESSION_ID, RSP_SESSION_ID, STREAM_VC, export_master_fixture, keys,
    session_id,
};

/// The value of every document's `"format"` field.
pub const FORMAT: &str = "cse-vectors/3";

/// The protocol a vector exercises; also the sub-directory of `cse vectors --out DIR`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VectorProtocol {
    /// SEP stream protection (`cse-sep`).
    Sep,
    /// FSED stream protection (`cse-fsed`).
    Fsed,
    /// CCISE register transactions (`ccise`).
    Ccise,
    /// Link key derivation from an SPDM export master secret (`spdm_lite::export`).
    Keys,
}

impl VectorProtocol {
    /// Every protocol, in output order.
    pub const ALL: [VectorProtocol; 4] = [
        VectorProtocol::Sep,
        VectorProtocol::Fsed,
        VectorProtocol::Ccise,
        VectorProtocol::Keys,
    ];

    /// `"SEP"`, `"FSED"`, `"CCISE"` or `"KEYS"` (the `"protocol"` field).
    pub fn name(self) -> &'static str {
        match self {
            VectorProtocol::Sep => "SEP",
            VectorProtocol::Fsed => "FSED",
            VectorProtocol::Ccise => "CCISE",
            VectorProtocol::Keys => "KEYS",
        }
    }

    /// `"sep"`, `"fsed"`, `"ccise"` or `"keys"` (the output sub-directory).
    pub fn dir(self) -> &'static str {
        match self {
            VectorProtocol::Sep => "sep",
            VectorProtocol::Fsed => "fsed",
            VectorProtocol::Ccise => "ccise",
            VectorProtocol::Keys => "keys",
        }
    }
}

/// One generated vector: its protocol, its name (the file stem) and its canonical JSON text
/// (ending with a newline).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Vector {
    /// The protocol.
    pub protocol: VectorProtocol,
    /// The name, e.g. `sv3-per-message-aes256gmac-t12`.
    pub name: String,
    /// The file content.
    pub json: String,
}

impl Vector {
    /// The path of the vector under the output directory, e.g. `sep/sv5-no-security.json`.
    pub fn file(&self) -> String {
        format!("{}/{}.json", self.protocol.dir(), self.name)
    }
}

// ---------------------------------------------------------------------------------------------
// JSON writer
// ---------------------------------------------------------------------------------------------

/// A JSON value with object keys in insertion order, written canonically by [`Json::to_text`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Json {
    /// `null`.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// A non-negative integer.
    Num(u64),
    /// A string.
    Str(String),
    /// An array.
    Arr(Vec<Json>),
    /// An object, keys in the order given.
    Obj(Vec<(String, Json)>),
}

impl Json {
    /// The canonical text: two-space indentation, one member or element per line, `"key": value`,
    /// empty arrays and objects as `[]` / `{}`, a final newline (`serde_json`'s pretty printer
    /// over the [`serde::Serialize`] implementation below).
    pub fn to_text(&self) -> String {
        // Serializing this type into a String cannot fail (no maps with non-string keys, no
        // floats); an empty document would make every vector check fail loudly.
        let mut s = serde_json::to_string_pretty(self).unwrap_or_default();
        s.push('\n');
        s
    }
}

impl serde::Serialize for Json {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self {
            Json::Null => ser.serialize_unit(),
            Json::Bool(b) => ser.serialize_bool(*b),
            Json::Num(n) => ser.serialize_u64(*n),
            Json::Str(s) => ser.serialize_str(s),
            Json::Arr(v) => {
                let mut seq = ser.serialize_seq(Some(v.len()))?;
                for x in v {
                    seq.serialize_element(x)?;
                }
                seq.end()
            }
            // Members in insertion order (a serde_json::Map would sort them).
            Json::Obj(v) => {
                let mut map = ser.serialize_map(Some(v.len()))?;
                for (k, x) in v {
                    map.serialize_entry(k, x)?;
                }
                map.end()
            }
        }
    }
}

fn obj(members: Vec<(&str, Json)>) -> Json {
    Json::Obj(
        members
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
    )
}

fn s(v: &str) -> Json {
    Json::Str(v.to_string())
}

fn n(v: impl Into<u64>) -> Json {
    Json::Num(v.into())
}

/// Lower-case hex, no separators.
pub fn hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        let _ = write!(s, "{b:02x}");
    }
    s
}

fn hx(bytes: &[u8]) -> Json {
    Json::Str(hex(bytes))
}

fn hex_list(items: &[Vec<u8>]) -> Json {
    Json::Arr(items.iter().map(|p| hx(p)).collect())
}

// ---------------------------------------------------------------------------------------------
// Names
// ---------------------------------------------------------------------------------------------

/// The suite as it appears in vector names: `AES-128-CTR+CMAC` -> `aes128ctrcmac`.
pub fn suite_slug(suite: CipherSuite) -> String {
    suite
        .name()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// The tag mode as it appears in names and in `tag_mode_name`: `per-message`,
/// `per-data-type`, `per-frame`.
pub fn mode_name(mode: TagMode) -> &'static str {
    match mode {
        TagMode::PerMessage => "per-message",
        TagMode::PerDataType => "per-data-type",
        TagMode::PerFrame => "per-frame",
    }
}

// ---------------------------------------------------------------------------------------------
// Stream fixtures (SEP and FSED)
// ---------------------------------------------------------------------------------------------

/// The key material of a stream vector (test keys: they are published in the vectors).
#[derive(Clone, PartialEq, Eq)]
pub struct StreamKeys {
    /// The suite the key is for (the image block's suite).
    pub suite: CipherSuite,
    /// The encryption / MAC key.
    pub key: Vec<u8>,
    /// The separate MAC key of the CTR+CMAC suites.
    pub mac_key: Option<Vec<u8>>,
    /// The 12-byte IV salt.
    pub salt: Vec<u8>,
}

impl core::fmt::Debug for StreamKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("StreamKeys")
            .field("suite", &self.suite)
            .finish_non_exhaustive()
    }
}

impl StreamKeys {
    fn material(&self) -> Result<cse_sep::KeyMaterial, LinkError> {
        let size = self.suite.key_size();
        let mac = match &self.mac_key {
            Some(m) => Some(SecretKey::from_slice(size, m)?),
            None => None,
        };
        Ok(cse_sep::KeyMaterial::new(
            SecretKey::from_slice(size, &self.key)?,
            mac,
            Salt::from_slice(&self.salt)?,
        )
        .with_min_tag_len(TagLen::L8))
    }
}

/// The fixed parameters of every vector of one stream protocol.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct StreamFixture {
    protocol: VectorProtocol,
    vc: u8,
    first_frame_counter: u32,
    sv3: SecurityVariant,
    sv4: SecurityVariant,
    /// The tag mode of the SV-5 vector's blocks (ignored on the wire for SV-5 data, but part
    /// of the configuration the frame announces).
    sv5_mode: TagMode,
}

const SEP: StreamFixture = StreamFixture {
    protocol: VectorProtocol::Sep,
    vc: 1,
    first_frame_counter: 7,
    sv3: SecurityVariant::LinePartialIntegrity {
        stride: 2,
        offset: 0,
    },
    sv4: SecurityVariant::BytePartialIntegrity { start: 2, len: 4 },
    sv5_mode: TagMode::PerMessage,
};

const FSED: StreamFixture = StreamFixture {
    protocol: VectorProtocol::Fsed,
    vc: 1,
    first_frame_counter: 0x0102_0304,
    sv3: SecurityVariant::LinePartialIntegrity {
        stride: 2,
        offset: 1,
    },
    sv4: SecurityVariant::BytePartialIntegrity { start: 2, len: 8 },
    sv5_mode: TagMode::PerFrame,
};

impl StreamFixture {
    fn modes(&self) -> &'static [TagMode] {
        match self.protocol {
            VectorProtocol::Fsed => &[TagMode::PerDataType, TagMode::PerFrame],
            _ => &[TagMode::PerMessage, TagMode::PerDataType, TagMode::PerFrame],
        }
    }

    fn vc(&self) -> Result<VirtualChannel, LinkError> {
        Ok(VirtualChannel::new(self.vc)?)
    }

    /// SEP: key bytes `00 01 02 ..`, MAC key = key XOR 0xA5, salt `c0 .. cb`.
    /// FSED: key bytes all `0a`, MAC key all `0b`, salt all `0c`.
    fn keys(&self, suite: CipherSuite) -> StreamKeys {
        let len = suite.key_size().len();
        let (key, mac, salt): (Vec<u8>, Vec<u8>, Vec<u8>) = match self.protocol {
            VectorProtocol::Fsed => (vec![0x0A; len], vec![0x0B; len], vec![0x0C; 12]),
            _ => {
                let key: Vec<u8> = (0..len).map(|i| i as u8).collect();
                let mac = key.iter().map(|b| b ^ 0xA5).collect();
                (key, mac, (0xC0..0xCC).collect())
            }
        };
        StreamKeys {
            suite,
            key,
            mac_key: suite.needs_mac_key().then_some(mac),
            salt,
        }
    }

    /// The original packets of the one frame every vector of the protocol protects.
    fn inputs(&self, mode: TagMode) -> Result<Vec<Vec<u8>>, LinkError> {
        let vc = self.vc()?;
        let mut buf = vec![0u8; 4096];
        let mut em = Emitter::new(&mut buf, HeaderForm::Dphy);
        match self.protocol {
            VectorProtocol::Fsed => {
                // Frame 5: one top and one bottom embedded line of 8 bytes, three RAW12 lines
                // of 16 bytes with LS/LE, bytes (i * 31) ^ (k * 7) ^ 0x21.
                let pat = |len: usize, k: usize| -> Vec<u8> {
                    (0..len)
                        .map(|i| (i as u8).wrapping_mul(31) ^ (k as u8).wrapping_mul(7) ^ 0x21)
                        .collect()
                };
                em.frame_start(vc, 5)?;
                em.long(vc, DataType::EMBEDDED, &pat(8, 0))?;
                for k in 0..3usize {
                    em.line_start(vc, k as u16 + 1)?;
                    em.long(vc, DataType::RAW12, &pat(16, k + 100))?;
                    em.line_end(vc, k as u16 + 1)?;
                }
                em.long(vc, DataType::EMBEDDED, &pat(8, 200))?;
                em.frame_end(vc, 5)?;
            }
            _ => {
                // Frame 1: embedded e0..e3, two RAW12 lines 10..17 and 20..27 (LS/LE around
                // them in per-data-type mode), embedded b0 b1.
                let ls_le = mode == TagMode::PerDataType;
                em.frame_start(vc, 1)?;
                em.long(vc, DataType::EMBEDDED, &[0xE0, 0xE1, 0xE2, 0xE3])?;
                for line in 0..2u8 {
                    if ls_le {
                        em.line_start(vc, u16::from(line) + 1)?;
                    }
                    let px: Vec<u8> = (0..8).map(|i| 0x10 * (line + 1) + i).collect();
                    em.long(vc, DataType::RAW12, &px)?;
                    if ls_le {
                        em.line_end(vc, u16::from(line) + 1)?;
                    }
                }
                em.long(vc, DataType::EMBEDDED, &[0xB0, 0xB1])?;
                em.frame_end(vc, 1)?;
            }
        }
        let n = em.len();
        split(&buf[..n])
    }

    /// The frame configuration of `sv` (level 1..=5) with `suite`, `tag_len`, `mode`.
    fn config(&self, sv: u8, suite: CipherSuite, tag_len: TagLen, mode: TagMode) -> FrameConfig {
        let b = |sv| BlockConfig {
            sv,
            suite,
            tag_len,
            tag_mode: mode,
        };
        let k0 = KeyId::default();
        match sv {
            1 => FrameConfig::uniform(b(SecurityVariant::FullIntegrityEncrypted), k0),
            2 => FrameConfig::uniform(b(SecurityVariant::FullIntegrity), k0),
            3 => FrameConfig::uniform(b(self.sv3), k0),
            4 => FrameConfig {
                image: b(self.sv4),
                ..FrameConfig::uniform(b(SecurityVariant::FullIntegrity), k0)
            },
            _ => FrameConfig::uniform(
                BlockConfig {
                    tag_mode: self.sv5_mode,
                    ..BlockConfig::no_security()
                },
                k0,
            ),
        }
    }
}

/// The stream vectors' matrix entry: SV level, suite, tag length, mode (SV-5: one entry).
struct Cell {
    name: String,
    config: FrameConfig,
    mode: TagMode,
}

fn cells(fx: &StreamFixture) -> Vec<Cell> {
    let mut v = Vec::new();
    for sv in 1..=4u8 {
        for &mode in fx.modes() {
            for suite in CipherSuite::ALL {
                // SV-1 needs an encrypting suite, SV-2..SV-4 an integrity-only one
                // (`BlockConfig::validate`).
                if suite.encrypts() != (sv == 1) {
                    continue;
                }
                for tag_len in [TagLen::L16, TagLen::L12, TagLen::L8] {
                    v.push(Cell {
                        name: format!(
                            "sv{sv}-{}-{}-t{}",
                            mode_name(mode),
                            suite_slug(suite),
                            tag_len.get()
                        ),
                        config: fx.config(sv, suite, tag_len, mode),
                        mode,
                    });
                }
            }
        }
    }
    v.push(Cell {
        name: "sv5-no-security".into(),
        config: fx.config(5, CipherSuite::Aes128Cmac, TagLen::L16, fx.sv5_mode),
        mode: fx.sv5_mode,
    });
    v
}

/// Splits back-to-back CSI-2 packets of header form `form`.
fn split_form(bytes: &[u8], form: HeaderForm) -> Result<Vec<Vec<u8>>, LinkError> {
    let mut v = Vec::new();
    for d in Packets::new(bytes, form) {
        v.push(
            d.map_err(|e| mismatch(format!("CSI-2 stream: {e}")))?
                .raw
                .to_vec(),
        );
    }
    Ok(v)
}

/// Splits back-to-back D-PHY CSI-2 packets.
fn split(bytes: &[u8]) -> Result<Vec<Vec<u8>>, LinkError> {
    split_form(bytes, HeaderForm::Dphy)
}

fn mismatch(what: String) -> LinkError {
    LinkError::Vector(what)
}

/// One frame of a stream vector: its configuration (with its key id) and how many of the
/// vector's input packets belong to it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameSpec {
    /// The frame configuration the transmitter is given before the frame's FS.
    pub config: FrameConfig,
    /// The number of input packets of the frame (FS to FE).
    pub inputs: usize,
}

/// Everything both ends of a stream vector are set up with: the link (virtual channel,
/// direction, header form), the first frame counter, the key slots' material by key id, and
/// the frames.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StreamSetup {
    /// SEP or FSED.
    pub protocol: VectorProtocol,
    /// The protected (original) virtual channel.
    pub vc: VirtualChannel,
    /// The direction bound into every context block and IV.
    pub direction: Direction,
    /// The CSI-2 header form of every packet.
    pub form: HeaderForm,
    /// The frame counter of the first frame; each further frame takes the next.
    pub first_frame_counter: u32,
    /// The key material of every key id the frames use.
    pub keys: Vec<(KeyId, StreamKeys)>,
    /// The frames, in order.
    pub frames: Vec<FrameSpec>,
}

impl StreamSetup {
    /// A one-frame, one-key set-up: sensor to controller, D-PHY.
    pub fn single(
        protocol: VectorProtocol,
        vc: VirtualChannel,
        first_frame_counter: u32,
        keys: StreamKeys,
        config: FrameConfig,
        inputs: usize,
    ) -> Self {
        StreamSetup {
            protocol,
            vc,
            direction: Direction::SensorToController,
            form: HeaderForm::Dphy,
            first_frame_counter,
            keys: vec![(config.key_id, keys)],
            frames: vec![FrameSpec { config, inputs }],
        }
    }

    fn key(&self, id: KeyId) -> Result<&StreamKeys, LinkError> {
        self.keys
            .iter()
            .find(|(k, _)| *k == id)
            .map(|(_, m)| m)
            .ok_or_else(|| mismatch(format!("no key material for key id {}", id.get())))
    }

    fn sep_settings(&self) -> cse_sep::Settings {
        let mut s = cse_sep::Settings::new(self.vc);
        s.direction = self.direction;
        s.form = self.form;
        s
    }

    fn fsed_settings(&self) -> cse_fsed::Settings {
        let mut s = cse_fsed::Settings::new(self.vc);
        s.direction = self.direction;
        s.form = self.form;
        s
    }

    /// The key installs of the documented rule: before the first packet of frame `i`, the key
    /// of frame `i` is installed unless it is the key of frame `i - 1` (then already active).
    /// `starts[i]` is the position of frame `i`'s first packet in the stream.
    fn installs(&self, starts: &[usize]) -> Vec<(usize, KeyId)> {
        let mut v = Vec::new();
        let mut active = None;
        for (f, at) in self.frames.iter().zip(starts) {
            if active != Some(f.config.key_id) {
                v.push((*at, f.config.key_id));
            }
            active = Some(f.config.key_id);
        }
        v
    }

    /// Runs the transmitter over `inputs` (the frames' input packets back to back): the output
    /// packets of each frame.
    ///
    /// # Errors
    /// The transmitter's refusal of a key, configuration or packet; inputs that do not add up
    /// to the frames.
    pub fn transmit(&self, inputs: &[Vec<u8>]) -> Result<Vec<Vec<Vec<u8>>>, LinkError> {
        if self.frames.iter().map(|f| f.inputs).sum::<usize>() != inputs.len() {
            return Err(mismatch("input packets do not add up to the frames".into()));
        }
        let mut per_frame = Vec::new();
        let mut rest = inputs;
        let mut sep = cse_sep::Transmitter::new(self.sep_settings(), self.first_frame_counter);
        let mut fsed = cse_fsed::Transmitter::new(self.fsed_settings(), self.first_frame_counter);
        let mut active = None;
        for f in &self.frames {
            let (now, later) = rest.split_at(f.inputs);
            rest = later;
            let id = f.config.key_id;
            let mut outs = Vec::new();
            match self.protocol {
                VectorProtocol::Fsed => {
                    if active != Some(id) {
                        fsed.install_key(id, self.key(id)?.material()?)?;
                    }
                    fsed.set_config(f.config)?;
                    for p in now {
                        let mut pkt = p.clone();
                        let mut buf = vec![0u8; cse_fsed::tx::MAX_INSERTED_LEN];
                        let ins = fsed.protect(&mut pkt, &mut buf)?;
                        outs.extend(split_form(ins.before(&buf), self.form)?);
                        outs.push(pkt);
                        outs.extend(split_form(ins.after(&buf), self.form)?);
                    }
                }
                _ => {
                    if active != Some(id) {
                        sep.install_key(id, self.key(id)?.material()?)?;
                    }
                    sep.set_config(f.config)?;
                    for p in now {
                        let mut buf = vec![0u8; cse_sep::tx::max_protected_len(p.len())];
                        let r = sep.protect(p, &mut buf)?;
                        outs.extend(split_form(buf.get(..r.len).unwrap_or_default(), self.form)?);
                    }
                }
            }
            active = Some(id);
            per_frame.push(outs);
        }
        Ok(per_frame)
    }

    /// Runs a receiver with `policy` over `packets`, installing keys at the positions
    /// `installs` gives (stream position, key id): the verdict on every packet and the original
    /// packets it releases, in frame and message order.
    ///
    /// # Errors
    /// A key the receiver refuses.
    pub fn receive(
        &self,
        policy: Policy,
        packets: &[Vec<u8>],
        installs: &[(usize, KeyId)],
    ) -> Result<ReceiveLog, LinkError> {
        match self.protocol {
            VectorProtocol::Fsed => self.receive_fsed(policy, packets, installs),
            _ => self.receive_sep(policy, packets, installs),
        }
    }

    /// The key installs of a genuine stream whose frames produced `outputs`.
    pub fn output_installs(&self, outputs: &[Vec<Vec<u8>>]) -> Vec<(usize, KeyId)> {
        let mut starts = Vec::new();
        let mut at = 0;
        for o in outputs {
            starts.push(at);
            at += o.len();
        }
        self.installs(&starts)
    }

    fn receive_sep(
        &self,
        policy: Policy,
        packets: &[Vec<u8>],
        installs: &[(usize, KeyId)],
    ) -> Result<ReceiveLog, LinkError> {
        use cse_sep::Delivery;
        let mut rx = cse_sep::Receiver::new(self.sep_settings(), policy, 100);
        let mut log = ReceiveLog::default();
        let mut back: Vec<(u32, u32, Vec<u8>)> = Vec::new();
        let mut held = Vec::new();
        for (t, p) in packets.iter().enumerate() {
            for (_, id) in installs.iter().filter(|(at, _)| *at == t) {
                rx.install_key(*id, self.key(*id)?.material()?)?;
            }
            let mut out = vec![0u8; p.len()];
            let verdict = match rx.receive(p, t as u64, &mut out) {
                Ok(Delivery::Verified(v)) => {
                    let i = v.info();
                    back.push((i.frame_counter, i.message_index, v.packet().to_vec()));
                    "verified".to_string()
                }
                Ok(Delivery::Unprotected(u)) => {
                    let i = u.info();
                    back.push((
                        i.frame_counter,
                        i.message_index,
                        u.unauthenticated_packet().to_vec(),
                    ));
                    "unprotected".to_string()
                }
                Ok(Delivery::Unverified(u)) => {
                    let i = u.info();
                    held.push((
                        u.unverified_packet().to_vec(),
                        u.decrypt_ticket(),
                        u.is_encrypted(),
                        u.scope(),
                        i.frame_counter,
                        i.message_index,
                    ));
                    "unverified".to_string()
                }
                Ok(Delivery::ScopeVerified(proof)) => {
                    let mut keep = Vec::new();
                    for (mut b, ticket, enc, scope, fc, i) in held.drain(..) {
                        if scope == proof.scope() && proof.indices().contains(&i) {
                            if enc {
                                rx.decrypt(&proof, &ticket, &mut b)?;
                            }
                            back.push((fc, i, b));
                        } else {
                            keep.push((b, ticket, enc, scope, fc, i));
                        }
                    }
                    held = keep;
                    "scope-verified".to_string()
                }
                Ok(_) => "other".to_string(),
                Err(e) => sep_verdict(&e).to_string(),
            };
            log.verdicts
                .push(with_events(verdict, || rx.poll_event(t as u64)));
        }
        log.unreleased = held.len();
        back.sort_by_key(|(fc, i, _)| (*fc, *i));
        log.delivered = back.into_iter().map(|(_, _, b)| b).collect();
        Ok(log)
    }

    fn receive_fsed(
        &self,
        policy: Policy,
        packets: &[Vec<u8>],
        installs: &[(usize, KeyId)],
    ) -> Result<ReceiveLog, LinkError> {
        use cse_fsed::{Delivery, Event};
        let mut rx = cse_fsed::Receiver::new(self.fsed_settings(), policy, 100);
        let mut log = ReceiveLog::default();
        // (frame counter, message index, bytes); FS gets 0, FE u32::MAX.
        let mut back: Vec<(u32, u32, Vec<u8>)> = Vec::new();
        let mut pending = Vec::new();
        let mut fs_hold: Option<Vec<u8>> = None;
        let mut current: Option<u32> = None;
        for (t, p) in packets.iter().enumerate() {
            for (_, id) in installs.iter().filter(|(at, _)| *at == t) {
                rx.install_key(*id, self.key(*id)?.material()?)?;
            }
            let mut verdict = match rx.receive(p, t as u64) {
                Ok(Delivery::Unprotected(u)) => {
                    let i = u.info();
                    back.push((
                        i.frame_counter,
                        i.message_index,
                        u.unauthenticated_packet().to_vec(),
                    ));
                    "unprotected".to_string()
                }
                Ok(Delivery::Unverified(u)) => {
                    let i = u.info();
                    pending.push((
                        u.unverified_packet().to_vec(),
                        u.decrypt_ticket(),
                        u.is_encrypted(),
                        u.scope(),
                        i.frame_counter,
                        i.message_index,
                    ));
                    "unverified".to_string()
                }
                Ok(Delivery::Sync(sp)) => {
                    if sp.is_frame_start() {
                        fs_hold = Some(sp.packet().to_vec());
                        current = None;
                    } else if let Some(fc) = current {
                        back.push((fc, u32::MAX, sp.packet().to_vec()));
                    }
                    "sync".to_string()
                }
                Ok(Delivery::FrameHeader { .. }) => "frame-header".to_string(),
                Ok(Delivery::ScopeVerified(proof)) => {
                    let mut keep = Vec::new();
                    for (mut b, ticket, enc, scope, fc, i) in pending.drain(..) {
                        if scope == proof.scope() && proof.indices().contains(&i) {
                            if enc {
                                rx.decrypt(&proof, &ticket, &mut b)?;
                            }
                            back.push((fc, i, b));
                        } else {
                            keep.push((b, ticket, enc, scope, fc, i));
                        }
                    }
                    pending = keep;
                    "scope-verified".to_string()
                }
                Ok(_) => "other".to_string(),
                Err(e) => fsed_verdict(&e).to_string(),
            };
            while let Some(e) = rx.poll_event(t as u64) {
                match e {
                    Event::FrameStart { frame_counter, .. } => {
                        current = Some(frame_counter);
                        if let Some(fs) = fs_hold.take() {
                            back.push((frame_counter, 0, fs));
                        }
                    }
                    e => {
                        if let Some(name) = event_name(&e) {
                            verdict.push_str(" +");
                            verdict.push_str(name);
                        }
                    }
                }
            }
            log.verdicts.push(verdict);
        }
        log.unreleased = pending.len();
        back.sort_by_key(|(fc, i, _)| (*fc, *i));
        log.delivered = back.into_iter().map(|(_, _, b)| b).collect();
        Ok(log)
    }
}

/// What a receiver made of a stream: one verdict per packet, the original packets it released
/// (in frame and message order) and how many packets it still holds unverified at the end.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReceiveLog {
    /// Per received packet: `verified`, `unprotected`, `unverified`, `scope-verified`, `sync`,
    /// `frame-header`, or the reason of a rejection (`auth-failed`, `replay`, `downgrade`,
    /// `crc16-error`, `crc32-error`, ...), followed by ` +event` for each error event the
    /// packet raised (`+scope-failed`, `+frame-abandoned`, `+frame-loss`, ...).
    pub verdicts: Vec<String>,
    /// The released original packets.
    pub delivered: Vec<Vec<u8>>,
    /// Packets never released (unverified at the end).
    pub unreleased: usize,
}

fn security_verdict(e: &cse_core::SecurityError) -> &'static str {
    use cse_core::SecurityError as S;
    match e {
        S::AuthFailed => "auth-failed",
        S::Replay { .. } => "replay",
        S::Downgrade(_) => "downgrade",
        S::UnknownKeyId(_) => "unknown-key-id",
        S::KeyExhausted => "key-exhausted",
        S::LimitExceeded { .. } => "limit-exceeded",
        _ => "security",
    }
}

fn fusa_verdict(e: &cse_core::FusaError) -> &'static str {
    use cse_core::FusaError as F;
    match e {
        F::Crc32Mismatch { .. } => "crc32-error",
        F::Crc16Mismatch { .. } => "crc16-error",
        F::FrameLoss { .. } => "frame-loss",
        F::FrameDuplicate(_) => "frame-duplicate",
        F::FrameReorder { .. } => "frame-reorder",
        F::MessageLoss { .. } => "message-loss",
        F::MessageOutOfOrder { .. } => "message-out-of-order",
        F::Timeout { .. } => "timeout",
        _ => "fusa",
    }
}

fn sep_verdict(e: &cse_sep::SepError) -> &'static str {
    use cse_sep::SepError as E;
    match e {
        E::Security(s) => security_verdict(s),
        E::Fusa(f) => fusa_verdict(f),
        E::ScopeFailed(_) => "scope-failed",
        E::Wire(_) | E::Framing(_) => "malformed",
        E::UnexpectedPacket => "unexpected-packet",
        _ => "rejected",
    }
}

fn fsed_verdict(e: &cse_fsed::FsedError) -> &'static str {
    use cse_fsed::FsedError as E;
    match e {
        E::Security(s) => security_verdict(s),
        E::Fusa(f) => fusa_verdict(f),
        E::ScopeFailed(_) => "scope-failed",
        E::Wire(_) | E::Framing(_) => "malformed",
        E::UnexpectedPacket => "unexpected-packet",
        _ => "rejected",
    }
}

/// The error events a verdict names (the others, frame start and completion, rollover and rekey
/// requests, are part of every genuine stream).
fn event_name(e: &cse_core::rx::Event) -> Option<&'static str> {
    use cse_core::rx::Event;
    match e {
        Event::ScopeFailed(_) => Some("scope-failed"),
        Event::FrameAbandoned { .. } => Some("frame-abandoned"),
        Event::Fusa(f) => Some(fusa_verdict(f)),
        _ => None,
    }
}

fn with_events(
    mut verdict: String,
    mut poll: impl FnMut() -> Option<cse_core::rx::Event>,
) -> String {
    while let Some(e) = poll() {
        if let Some(name) = event_name(&e) {
            verdict.push_str(" +");
            verdict.push_str(name);
        }
    }
    verdict
}

/// Runs the SEP transmitter over the one frame of `inputs` (sensor to controller, D-PHY):
/// every output packet, in order.
///
/// # Errors
/// The transmitter's refusal of the keys, configuration or a packet.
pub fn sep_transmit(
    vc: VirtualChannel,
    first_frame_counter: u32,
    keys: &StreamKeys,
    config: FrameConfig,
    inputs: &[Vec<u8>],
) -> Result<Vec<Vec<u8>>, LinkError> {
    let s = StreamSetup::single(
        VectorProtocol::Sep,
        vc,
        first_frame_counter,
        keys.clone(),
        config,
        inputs.len(),
    );
    Ok(s.transmit(inputs)?.concat())
}

fn receive_single(
    protocol: VectorProtocol,
    vc: VirtualChannel,
    key_id: KeyId,
    keys: &StreamKeys,
    outputs: &[Vec<u8>],
) -> Result<Vec<Vec<u8>>, LinkError> {
    let config = FrameConfig::uniform(BlockConfig::no_security(), key_id);
    let s = StreamSetup::single(protocol, vc, 0, keys.clone(), config, 0);
    let log = s.receive(Policy::PERMISSIVE, outputs, &[(0, key_id)])?;
    if let Some((t, v)) = log
        .verdicts
        .iter()
        .enumerate()
        .find(|(_, v)| !ACCEPTED.contains(&v.as_str()))
    {
        return Err(mismatch(format!(
            "{} receiver: packet {t}: {v}",
            protocol.name()
        )));
    }
    if log.unreleased > 0 {
        return Err(mismatch(format!(
            "{} receiver: {} packets never verified",
            protocol.name(),
            log.unreleased
        )));
    }
    Ok(log.delivered)
}

/// The verdicts of a genuine stream.
const ACCEPTED: [&str; 6] = [
    "verified",
    "unprotected",
    "unverified",
    "scope-verified",
    "sync",
    "frame-header",
];

/// Runs a SEP receiver (permissive policy) over `outputs`: the original packets it releases,
/// in message order (packets of a scope once its close record verified, SV-1 ones decrypted).
///
/// # Errors
/// The receiver's first rejection, or packets still unverified at the end.
pub fn sep_receive(
    vc: VirtualChannel,
    key_id: KeyId,
    keys: &StreamKeys,
    outputs: &[Vec<u8>],
) -> Result<Vec<Vec<u8>>, LinkError> {
    receive_single(VectorProtocol::Sep, vc, key_id, keys, outputs)
}

/// Runs the FSED transmitter over the one frame of `inputs`: the stream as sent, packet by
/// packet (the input packets, protected in place, with the FSED packets inserted).
///
/// # Errors
/// The transmitter's refusal of the keys, configuration or a packet.
pub fn fsed_transmit(
    vc: VirtualChannel,
    first_frame_counter: u32,
    keys: &StreamKeys,
    config: FrameConfig,
    inputs: &[Vec<u8>],
) -> Result<Vec<Vec<u8>>, LinkError> {
    let s = StreamSetup::single(
        VectorProtocol::Fsed,
        vc,
        first_frame_counter,
        keys.clone(),
        config,
        inputs.len(),
    );
    Ok(s.transmit(inputs)?.concat())
}

/// Runs an FSED receiver (permissive policy) over `outputs` following the release rule: the
/// original packets in frame order (FS once the frame header authenticated, covered packets
/// once their scope verified, SV-1 ones decrypted, FE last).
///
/// # Errors
/// The receiver's first rejection, a failed scope, or packets still unverified at the end.
pub fn fsed_receive(
    vc: VirtualChannel,
    key_id: KeyId,
    keys: &StreamKeys,
    outputs: &[Vec<u8>],
) -> Result<Vec<Vec<u8>>, LinkError> {
    receive_single(VectorProtocol::Fsed, vc, key_id, keys, outputs)
}

/// The tags the output packets carry, in stream order: SEP packets' tag fields, FSED tag
/// records' tags (D-PHY headers).
///
/// # Errors
/// An output packet that does not parse.
pub fn stream_tags(
    protocol: VectorProtocol,
    outputs: &[Vec<u8>],
) -> Result<Vec<Vec<u8>>, LinkError> {
    let mut tags = Vec::new();
    for o in outputs {
        if protocol != VectorProtocol::Sep && o.first().map(|b| b & 0x3F) != Some(0x3A) {
            continue; // an FSED stream's original packets carry no tag
        }
        let payload = o
            .get(4..o.len().saturating_sub(2))
            .ok_or_else(|| mismatch("output packet shorter than a long packet".into()))?;
        match protocol {
            VectorProtocol::Sep => {
                let p = cse_sep::wire::Packet::new_checked(payload, &Profile::DRAFT_1)
                    .map_err(|e| mismatch(format!("SEP packet: {e}")))?;
                if !p.tag().is_empty() {
                    tags.push(p.tag().to_vec());
                }
            }
            _ => {
                let p = cse_fsed::wire::Packet::new_checked(payload)
                    .map_err(|e| mismatch(format!("FSED packet: {e}")))?;
                if p.kind() == cse_fsed::wire::Kind::TagRecord {
                    tags.push(p.tag().to_vec());
                }
            }
        }
    }
    Ok(tags)
}

fn block_json(b: &BlockConfig) -> Json {
    let (a, c) = b.sv.params();
    obj(vec![
        ("sv", n(b.sv.number())),
        ("param_a", n(a)),
        ("param_b", n(c)),
        ("suite", s(b.suite.name())),
        ("suite_id", n(Profile::DRAFT_1.suite_ids.id(b.suite))),
        ("tag_len", n(b.tag_len.as_u8())),
        ("tag_mode", n(b.tag_mode.code())),
        ("tag_mode_name", s(mode_name(b.tag_mode))),
    ])
}

fn config_json(c: &FrameConfig) -> Json {
    obj(vec![
        ("top", block_json(&c.top)),
        ("image", block_json(&c.image)),
        ("bottom", block_json(&c.bottom)),
    ])
}

fn key_json(id: KeyId, k: &StreamKeys) -> Json {
    obj(vec![
        ("key_id", n(id.get())),
        ("key", hx(&k.key)),
        ("mac_key", k.mac_key.as_deref().map_or(Json::Null, hx)),
        ("salt", hx(&k.salt)),
    ])
}

fn direction_name(d: Direction) -> &'static str {
    match d {
        Direction::SensorToController => "sensor-to-controller",
        _ => "controller-to-sensor",
    }
}

fn form_name(f: HeaderForm) -> &'static str {
    match f {
        HeaderForm::Dphy => "D-PHY",
        _ => "D-PHY-VCX",
    }
}

fn policy_json(p: &Policy) -> Json {
    obj(vec![
        ("min_top", n(p.min_top as u8)),
        ("min_image", n(p.min_image as u8)),
        ("min_bottom", n(p.min_bottom as u8)),
    ])
}

/// A receiver-side attack on a genuine stream: the packets a receiver gets instead of the
/// transmitter's output, and the policy it runs.
#[derive(Clone, Debug)]
pub struct StreamAttack {
    /// Short machine-readable kind (`tamper-body`, `replay`, `downgrade`, `crc16`, ...).
    pub kind: &'static str,
    /// What was done, in words.
    pub description: String,
    /// The receiver's policy.
    pub policy: Policy,
    /// The received packets.
    pub received: Vec<Vec<u8>>,
}

/// Builds the attack of a negative vector from the genuine output packets.
type MakeAttack<'a> = dyn Fn(&[Vec<u8>]) -> Result<StreamAttack, LinkError> + 'a;

/// Builds the document of a stream vector: `setup` run over `inputs` (and, for a negative
/// vector, `attack` applied by `make_attack` to the genuine output).
fn stream_doc(
    name: &str,
    setup: &StreamSetup,
    inputs: &[Vec<u8>],
    make_attack: Option<&MakeAttack<'_>>,
) -> Result<Vector, LinkError> {
    let per_frame = setup.transmit(inputs)?;
    let outputs: Vec<Vec<u8>> = per_frame.concat();
    let installs = setup.output_installs(&per_frame);
    let proto = setup.protocol.name();
    let log = setup.receive(Policy::PERMISSIVE, &outputs, &installs)?;
    if let Some((t, v)) = log
        .verdicts
        .iter()
        .enumerate()
        .find(|(_, v)| !ACCEPTED.contains(&v.as_str()))
    {
        return Err(mismatch(format!("{proto} {name}: packet {t}: {v}")));
    }
    if log.delivered != inputs || log.unreleased > 0 {
        return Err(mismatch(format!(
            "{proto} {name}: the receiver does not give back the inputs"
        )));
    }
    let first = setup
        .frames
        .first()
        .ok_or_else(|| mismatch(format!("{name}: no frame")))?;
    let first_keys = setup.key(first.config.key_id)?;
    let tags = stream_tags(setup.protocol, &outputs)?;
    let frames: Vec<Json> = setup
        .frames
        .iter()
        .zip(&per_frame)
        .enumerate()
        .map(|(i, (f, o))| {
            obj(vec![
                (
                    "frame_counter",
                    n(setup.first_frame_counter.wrapping_add(i as u32)),
                ),
                ("key_id", n(f.config.key_id.get())),
                ("config", config_json(&f.config)),
                ("input_count", n(f.inputs as u64)),
                ("output_count", n(o.len() as u64)),
            ])
        })
        .collect();
    let attack = match make_attack {
        None => Json::Null,
        Some(mk) => {
            let a = mk(&outputs)?;
            if setup.keys.len() != 1 {
                return Err(mismatch(format!("{name}: a negative vector uses one key")));
            }
            let log = setup.receive(a.policy, &a.received, &[(0, first.config.key_id)])?;
            if log.verdicts.iter().all(|v| ACCEPTED.contains(&v.as_str())) {
                return Err(mismatch(format!(
                    "{proto} {name}: the attack is not detected"
                )));
            }
            obj(vec![
                ("kind", s(a.kind)),
                ("description", s(&a.description)),
                ("policy", policy_json(&a.policy)),
                ("received_packets", hex_list(&a.received)),
                (
                    "verdicts",
                    Json::Arr(log.verdicts.iter().map(|v| s(v)).collect()),
                ),
                ("delivered_packets", hex_list(&log.delivered)),
                ("unreleased", n(log.unreleased as u64)),
            ])
        }
    };
    let doc = obj(vec![
        ("format", s(FORMAT)),
        ("protocol", s(proto)),
        ("name", s(name)),
        ("profile", s(Profile::DRAFT_1.name)),
        ("direction", s(direction_name(setup.direction))),
        ("header_form", s(form_name(setup.form))),
        ("virtual_channel", n(setup.vc.get())),
        ("first_frame_counter", n(setup.first_frame_counter)),
        ("key_id", n(first.config.key_id.get())),
        ("key", hx(&first_keys.key)),
        (
            "mac_key",
            first_keys.mac_key.as_deref().map_or(Json::Null, hx),
        ),
        ("salt", hx(&first_keys.salt)),
        ("config", config_json(&first.config)),
        ("input_packets", hex_list(inputs)),
        ("output_packets", hex_list(&outputs)),
        ("tags", hex_list(&tags)),
        (
            "keys",
            Json::Arr(setup.keys.iter().map(|(i, k)| key_json(*i, k)).collect()),
        ),
        ("frames", Json::Arr(frames)),
        ("attack", attack),
    ]);
    Ok(Vector {
        protocol: setup.protocol,
        name: name.to_string(),
        json: doc.to_text(),
    })
}

fn stream_vector(fx: &StreamFixture, cell: &Cell) -> Result<Vector, LinkError> {
    let c = &cell.config;
    let inputs = fx.inputs(cell.mode)?;
    let setup = StreamSetup::single(
        fx.protocol,
        fx.vc()?,
        fx.first_frame_counter,
        fx.keys(c.image.suite),
        *c,
        inputs.len(),
    );
    stream_doc(&cell.name, &setup, &inputs, None)
}

/// Every SEP vector: SV-1..SV-4 x {per message, per data type, per frame} x every suite the SV
/// accepts x tag length {16, 12, 8}, `sv5-no-security`, then the extra cases (long lines,
/// multi-frame, direction, VCX, corner cases, negative vectors; `docs/vectors.md`).
///
/// # Errors
/// A transmitter or receiver failure (a bug: the set is fixed).
pub fn sep() -> Result<Vec<Vector>, LinkError> {
    let mut v: Vec<Vector> = cells(&SEP)
        .iter()
        .map(|c| stream_vector(&SEP, c))
        .collect::<Result<_, _>>()?;
    v.extend(extra::extra(VectorProtocol::Sep)?);
    Ok(v)
}

/// Every FSED vector: SV-1..SV-4 x {per data type, per frame} x every suite the SV accepts x
/// tag length {16, 12, 8}, `sv5-no-security`, then the extra cases.
///
/// # Errors
/// A transmitter or receiver failure (a bug: the set is fixed).
pub fn fsed() -> Result<Vec<Vector>, LinkError> {
    let mut v: Vec<Vector> = cells(&FSED)
        .iter()
        .map(|c| stream_vector(&FSED, c))
        .collect::<Result<_, _>>()?;
    v.extend(extra::extra(VectorProtocol::Fsed)?);
    Ok(v)
}

// ---------------------------------------------------------------------------------------------
// CCISE
// ---------------------------------------------------------------------------------------------

/// The I2C address of the sensor in every CCISE vector.
pub const CCISE_ADDRESS: u8 = 0x36;

/// The keys of a CCISE vector: one suite key per direction and the salt (test keys).
#[derive(Clone, PartialEq, Eq)]
pub struct CciseKeys {
    /// The suite of both directions.
    pub suite: CipherSuite,
    /// Controller-to-sensor key (writes, read requests).
    pub to_target_key: Vec<u8>,
    /// Its MAC key (CTR+CMAC suites).
    pub to_target_mac_key: Option<Vec<u8>>,
    /// Sensor-to-controller key (read responses).
    pub to_controller_key: Vec<u8>,
    /// Its MAC key (CTR+CMAC suites).
    pub to_controller_mac_key: Option<Vec<u8>>,
    /// The 12-byte IV salt.
    pub salt: Vec<u8>,
}

impl core::fmt::Debug for CciseKeys {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CciseKeys")
            .field("suite", &self.suite)
            .finish_non_exhaustive()
    }
}

impl CciseKeys {
    /// The fixture: to-target key bytes `00 01 02 ..`, to-controller key `40 41 ..`, for the
    /// CTR+CMAC suites the MAC keys `80 81 ..` and `c0 c1 ..`, salt `a0 .. ab` (the keys of
    /// `docs/wire-format.md` section 6).
    pub fn fixture(suite: CipherSuite) -> Self {
        let len = suite.key_size().len();
        let run = |b: u8| {
            (0..len)
                .map(|i| b.wrapping_add(i as u8))
                .collect::<Vec<u8>>()
        };
        let mac = |b: u8| suite.needs_mac_key().then(|| run(b ^ 0x80));
        CciseKeys {
            suite,
            to_target_key: run(0x00),
            to_target_mac_key: mac(0x00),
            to_controller_key: run(0x40),
            to_controller_mac_key: mac(0x40),
            salt: (0xA0..0xAC).collect(),
        }
    }

    /// The session keys for a controller or target.
    ///
    /// # Errors
    /// Keys of the wrong length for the suite.
    pub fn session(&self) -> Result<SessionKeys, LinkError> {
        let size = self.suite.key_size();
        let sk = |k: &[u8], m: &Option<Vec<u8>>| -> Result<SuiteKey, LinkError> {
            let key = SecretKey::from_slice(size, k)?;
            let mac = match m {
                Some(m) => Some(SecretKey::from_slice(size, m)?),
                None => None,
            };
            Ok(SuiteKey::new(self.suite, &key, mac.as_ref())?)
        };
        Ok(SessionKeys::new(
            sk(&self.to_target_key, &self.to_target_mac_key)?,
            sk(&self.to_controller_key, &self.to_controller_mac_key)?,
            Salt::from_slice(&self.salt)?,
        )?)
    }
}

/// One register transaction of a CCISE vector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transaction {
    /// A protected write of `data` at `register`.
    Write {
        /// First register.
        register: u16,
        /// The bytes written.
        data: Vec<u8>,
    },
    /// A protected read of `len` bytes from `register`.
    Read {
        /// First register.
        register: u16,
        /// Number of bytes.
        len: u8,
    },
}

/// What a transaction put on the bus.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Recorded {
    /// A write: the frame after the address byte.
    Write {
        /// The controller's counter.
        counter: u32,
        /// The write frame.
        frame: Vec<u8>,
    },
    /// A read: request and response.
    Read {
        /// The controller's request counter.
        request_counter: u32,
        /// The request frame (write phase).
        request: Vec<u8>,
        /// The target's response counter.
        response_counter: u32,
        /// The response frame (read phase).
        response: Vec<u8>,
        /// The register bytes the controller recovered (clear text).
        data: Vec<u8>,
    },
}

/// A forged or replayed frame fed to the target of a CCISE vector.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CciseAttack {
    /// Fed after this many genuine transactions.
    pub after: usize,
    /// `"write"` (the frame ends with Stop) or `"read-request"` (a repeated start follows).
    pub frame_kind: String,
    /// The frame.
    pub frame: Vec<u8>,
}

/// What the target made of a [`CciseAttack`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CciseVerdict {
    /// `auth-failed`, `replay`, `malformed`, `rejected`, or `accepted` (a bug in a vector).
    pub verdict: String,
    /// What the target answered a read request with (`0xFF` filler when it refused it).
    pub response: Option<Vec<u8>>,
}

fn ccise_verdict(e: &ccise::Error) -> String {
    match e {
        ccise::Error::Security(s) => security_verdict(s),
        ccise::Error::Wire(_) => "malformed",
        _ => "rejected",
    }
    .to_string()
}

/// Runs `transactions` through a fresh controller and target (the demo register map,
/// [`SimSensor::demo`]) of one session; returns what each put on the bus. The target must
/// accept every frame and the controller every response.
///
/// # Errors
/// A refusal on either side.
pub fn ccise_run(
    config: Config,
    keys: &CciseKeys,
    transactions: &[Transaction],
) -> Result<Vec<Recorded>, LinkError> {
    Ok(ccise_run_attacked(config, keys, transactions, &[])?.0)
}

/// As [`ccise_run`], feeding the target each of `attacks` after its genuine transactions;
/// returns the target's verdict on each attack too. The genuine transactions must still be
/// accepted.
///
/// # Errors
/// A refusal of a genuine transaction on either side.
pub fn ccise_run_attacked(
    config: Config,
    keys: &CciseKeys,
    transactions: &[Transaction],
    attacks: &[CciseAttack],
) -> Result<(Vec<Recorded>, Vec<CciseVerdict>), LinkError> {
    let mut ctrl = Controller::new(config, keys.session()?)?;
    let mut tgt = Target::new(config, keys.session()?)?;
    let mut map = SimSensor::demo();
    let mut out = Vec::new();
    let mut verdicts = Vec::new();
    for k in 0..=transactions.len() {
        for a in attacks.iter().filter(|a| a.after == k) {
            let mut resp = [0u8; ccise::wire::MAX_FRAME_LEN];
            let (r, response) = if a.frame_kind == "read-request" {
                let r = tgt.handle_read(&a.frame, &mut map, &mut resp);
                let len = a.frame.get(2).map_or(0, |n| usize::from(*n))
                    + ccise::wire::COUNTER_LEN
                    + config.tag_len.get();
                let len = match &r {
                    Ok(acc) => acc.response_len,
                    Err(_) => len,
                };
                (
                    r.map(|_| ()),
                    Some(resp.get(..len).unwrap_or_default().to_vec()),
                )
            } else {
                (tgt.handle_write(&a.frame, &mut map).map(|_| ()), None)
            };
            verdicts.push(CciseVerdict {
                verdict: match r {
                    Ok(()) => "accepted".to_string(),
                    Err(e) => ccise_verdict(&e),
                },
                response,
            });
        }
        let Some(t) = transactions.get(k) else {
            break;
        };
        let mut frame = [0u8; ccise::wire::MAX_FRAME_LEN];
        match t {
            Transaction::Write { register, data } => {
                let counter = ctrl.next_counter();
                let sealed = ctrl.seal_write(*register, data, &mut frame)?;
                let frame = frame.get(..sealed.len).unwrap_or_default().to_vec();
                if tgt.handle_write(&frame, &mut map)?.counter != counter {
                    return Err(mismatch("CCISE: the target saw another counter".into()));
                }
                out.push(Recorded::Write { counter, frame });
            }
            Transaction::Read { register, len } => {
                let request_counter = ctrl.next_counter();
                let (pending, sealed) = ctrl.seal_read_request(*register, *len, &mut frame)?;
                let request = frame.get(..sealed.len).unwrap_or_default().to_vec();
                let mut resp = [0u8; ccise::wire::MAX_FRAME_LEN];
                let a = tgt.handle_read(&request, &mut map, &mut resp)?;
                let response = resp.get(..a.response_len).unwrap_or_default().to_vec();
                let mut data = vec![0u8; usize::from(*len)];
                let got = ctrl.open_read_response(pending, &response, &mut data)?;
                data.truncate(got);
                let response_counter = ctrl
                    .last_response_counter()
                    .ok_or_else(|| mismatch("CCISE: no response counter".into()))?;
                out.push(Recorded::Read {
                    request_counter,
                    request,
                    response_counter,
                    response,
                    data,
                });
            }
        }
    }
    Ok((out, verdicts))
}

/// The transactions of a CCISE vector: a write of `12 34 56 78` at 0x0100, then a read of 4
/// bytes: the chip id at 0x0000 with clear reads, the protected calibration bytes at 0x0300
/// with encrypted reads.
pub fn ccise_transactions(encrypted_reads: bool) -> Vec<Transaction> {
    vec![
        Transaction::Write {
            register: 0x0100,
            data: vec![0x12, 0x34, 0x56, 0x78],
        },
        Transaction::Read {
            register: if encrypted_reads { 0x0300 } else { 0x0000 },
            len: 4,
        },
    ]
}

fn ccise_vector(suite: CipherSuite, tag_len: TagLen, encrypted: bool) -> Result<Vector, LinkError> {
    let name = format!(
        "{}-t{}-{}-reads",
        suite_slug(suite),
        tag_len.get(),
        if encrypted { "encrypted" } else { "clear" }
    );
    ccise_doc(
        name,
        suite,
        tag_len,
        encrypted,
        ccise_transactions(encrypted),
        false,
    )
}

/// The attacks of the negative CCISE vector, built from the genuine frames `recs` of
/// [`ccise_negative_transactions`]: before the first write, that write with a flipped data bit;
/// after it, the write replayed, the write with its counter raised to the next one (old tag),
/// and the next read request with a flipped register bit.
fn ccise_attacks(recs: &[Recorded], t: usize) -> Result<Vec<CciseAttack>, LinkError> {
    let (Some(Recorded::Write { frame: w, .. }), Some(Recorded::Read { request: r, .. })) =
        (recs.first(), recs.get(1))
    else {
        return Err(mismatch("CCISE: negative transactions".into()));
    };
    let attack = |after: usize, kind: &str, frame: Vec<u8>| CciseAttack {
        after,
        frame_kind: kind.to_string(),
        frame,
    };
    let mut tampered = w.clone();
    tampered[2] ^= 0x01; // first data byte
    let mut recounted = w.clone();
    let c = recounted.len() - t - 1; // last counter byte
    recounted[c] = recounted[c].wrapping_add(1);
    let mut request = r.clone();
    request[1] ^= 0x01; // register, low byte
    Ok(vec![
        attack(0, "write", tampered),
        attack(1, "write", w.clone()),
        attack(1, "write", recounted),
        attack(1, "read-request", request),
    ])
}

/// The transactions of the negative CCISE vector: write `12 34 56 78` at 0x0100, then read the
/// 4 bytes back (the attacks come between them, so the read shows that they moved nothing).
pub fn ccise_negative_transactions() -> Vec<Transaction> {
    vec![
        Transaction::Write {
            register: 0x0100,
            data: vec![0x12, 0x34, 0x56, 0x78],
        },
        Transaction::Read {
            register: 0x0100,
            len: 4,
        },
    ]
}

/// The documented attack descriptions, in the order of [`ccise_attacks`].
const CCISE_ATTACKS: [(&str, &str); 4] = [
    (
        "tamper-data",
        "the first write with bit 0 of its first data byte flipped, sent before the genuine one",
    ),
    ("replay", "the first write sent again"),
    (
        "counter",
        "the first write with its counter raised by one, tag unchanged",
    ),
    (
        "tamper-request",
        "the read request that follows, with bit 0 of its register's low byte flipped",
    ),
];

fn ccise_doc(
    name: String,
    suite: CipherSuite,
    tag_len: TagLen,
    encrypted: bool,
    txs: Vec<Transaction>,
    negative: bool,
) -> Result<Vector, LinkError> {
    let config = Config::new(CCISE_ADDRESS)
        .with_tag_len(tag_len)
        .with_encrypted_reads(encrypted);
    let keys = CciseKeys::fixture(suite);
    let recs = ccise_run(config, &keys, &txs)?;
    let mut attacks_json = Vec::new();
    if negative {
        let attacks = ccise_attacks(&recs, tag_len.get())?;
        let (again, verdicts) = ccise_run_attacked(config, &keys, &txs, &attacks)?;
        if again != recs {
            return Err(mismatch(format!(
                "CCISE {name}: an attack moved the target"
            )));
        }
        for ((a, v), (kind, description)) in attacks.iter().zip(&verdicts).zip(CCISE_ATTACKS) {
            if v.verdict == "accepted" {
                return Err(mismatch(format!("CCISE {name}: {kind} accepted")));
            }
            attacks_json.push(obj(vec![
                ("kind", s(kind)),
                ("description", s(description)),
                ("after", n(a.after as u64)),
                ("frame_kind", s(&a.frame_kind)),
                ("frame", hx(&a.frame)),
                ("verdict", s(&v.verdict)),
                ("response", v.response.as_deref().map_or(Json::Null, hx)),
            ]));
        }
    }
    let t = tag_len.get();
    let tail = |f: &[u8]| {
        f.get(f.len().saturating_sub(t)..)
            .unwrap_or_default()
            .to_vec()
    };
    let mut items = Vec::new();
    for (tx, rec) in txs.iter().zip(&recs) {
        items.push(match (tx, rec) {
            (Transaction::Write { register, data }, Recorded::Write { counter, frame }) => {
                obj(vec![
                    ("kind", s("write")),
                    ("register", n(*register)),
                    ("data", hx(data)),
                    ("counter", n(*counter)),
                    ("frame", hx(frame)),
                    ("tag", hx(&tail(frame))),
                ])
            }
            (
                Transaction::Read { register, len },
                Recorded::Read {
                    request_counter,
                    request,
                    response_counter,
                    response,
                    data,
                },
            ) => obj(vec![
                ("kind", s("read")),
                ("register", n(*register)),
                ("len", n(*len)),
                ("encrypted", Json::Bool(encrypted)),
                ("request_counter", n(*request_counter)),
                ("request", hx(request)),
                ("request_tag", hx(&tail(request))),
                ("response_counter", n(*response_counter)),
                ("response", hx(response)),
                ("response_tag", hx(&tail(response))),
                ("data", hx(data)),
            ]),
            _ => return Err(mismatch("CCISE: transaction kinds differ".into())),
        });
    }
    let opt = |m: &Option<Vec<u8>>| m.as_deref().map_or(Json::Null, hx);
    let doc = obj(vec![
        ("format", s(FORMAT)),
        ("protocol", s("CCISE")),
        ("name", s(&name)),
        ("profile", s(Profile::DRAFT_1.name)),
        ("device_address", n(CCISE_ADDRESS)),
        ("suite", s(suite.name())),
        ("suite_id", n(Profile::DRAFT_1.suite_ids.id(suite))),
        ("tag_len", n(tag_len.as_u8())),
        ("key_id", n(config.key_id.get())),
        ("encrypted_reads", Json::Bool(encrypted)),
        ("to_target_key", hx(&keys.to_target_key)),
        ("to_target_mac_key", opt(&keys.to_target_mac_key)),
        ("to_controller_key", hx(&keys.to_controller_key)),
        ("to_controller_mac_key", opt(&keys.to_controller_mac_key)),
        ("salt", hx(&keys.salt)),
        ("first_controller_counter", n(1u32)),
        ("first_target_counter", n(1u32)),
        ("transactions", Json::Arr(items)),
        ("attacks", Json::Arr(attacks_json)),
    ]);
    Ok(Vector {
        protocol: VectorProtocol::Ccise,
        name,
        json: doc.to_text(),
    })
}

/// Every CCISE vector: every suite x tag length {16, 12, 8} with clear reads, and every
/// encrypting suite x tag length with encrypted reads.
///
/// # Errors
/// A controller or target failure (a bug: the set is fixed).
pub fn ccise() -> Result<Vec<Vector>, LinkError> {
    let mut v = Vec::new();
    for encrypted in [false, true] {
        for suite in CipherSuite::ALL {
            if encrypted && !suite.encrypts() {
                continue;
            }
            for tag_len in [TagLen::L16, TagLen::L12, TagLen::L8] {
                v.push(ccise_vector(suite, tag_len, encrypted)?);
            }
        }
    }
    for (suite, tag_len, encrypted) in [
        (CipherSuite::Aes128Cmac, TagLen::L16, false),
        (CipherSuite::Aes128Gcm, TagLen::L8, true),
    ] {
        let name = format!(
            "neg-{}-t{}-{}-reads",
            suite_slug(suite),
            tag_len.get(),
            if encrypted { "encrypted" } else { "clear" }
        );
        v.push(ccise_doc(
            name,
            suite,
            tag_len,
            encrypted,
            ccise_negative_transactions(),
            true,
        )?);
    }
    Ok(v)
}

// ---------------------------------------------------------------------------------------------
// The whole set
// ---------------------------------------------------------------------------------------------

/// The whole vector set: [`sep()`], then [`fsed()`], then [`ccise()`], then [`keys()`].
///
/// # Errors
/// As the four.
pub fn all() -> Result<Vec<Vector>, LinkError> {
    let mut v = sep()?;
    v.extend(fsed()?);
    v.extend(ccise()?);
    v.extend(keys()?);
    Ok(v)
}

/// The `index.json` of an output directory: format, profile, counts per protocol and every
/// vector's protocol, name and file.
pub fn index(vectors: &[Vector]) -> String {
    let count = |p: VectorProtocol| vectors.iter().filter(|v| v.protocol == p).count() as u64;
    obj(vec![
        ("format", s(FORMAT)),
        ("profile", s(Profile::DRAFT_1.name)),
        (
            "counts",
            Json::Obj(
                VectorProtocol::ALL
                    .iter()
                    .map(|p| (p.dir().to_string(), Json::Num(count(*p))))
                    .collect(),
            ),
        ),
        (
            "vectors",
            Json::Arr(
                vectors
                    .iter()
                    .map(|v| {
                        obj(vec![
                            ("protocol", s(v.protocol.name())),
                            ("name", s(&v.name)),
                            ("file", s(&v.file())),
                        ])
                    })
                    .collect(),
            ),
        ),
    ])
    .to_text()
}

/// Writes `vectors` under `dir` (`dir/sep/*.json`, `dir/fsed/*.json`, `dir/ccise/*.json`,
/// `dir/keys/*.json`) and `dir/index.json`, creating the directories.
///
/// # Errors
/// The first I/O error, with the path it concerns.
pub fn write_dir(dir: &Path, vectors: &[Vector]) -> Result<(), String> {
    let io = |p: &Path, e: std::io::Error| format!("{}: {e}", p.display());
    for p in VectorProtocol::ALL {
        let d = dir.join(p.dir());
        std::fs::create_dir_all(&d).map_err(|e| io(&d, e))?;
    }
    for v in vectors {
        let f = dir.join(v.file());
        std::fs::write(&f, &v.json).map_err(|e| io(&f, e))?;
    }
    let f = dir.join("index.json");
    std::fs::write(&f, index(vectors)).map_err(|e| io(&f, e))
}
