//! The `cse demo` scenario: authenticate, configure, stream, then attack the link one attack
//! at a time, each on a freshly authenticated link so that every finding is attributable.
//!
//! The embedded PKI (`cse-link/pki/p256`, copies of the **test-only** PKI of
//! `spdm-lite/tests/pki`, so that the package builds on its own) has public private keys:
//! never provision it in a product.

use std::time::{Duration, Instant};

use cse_core::csi2::{DataType, HeaderForm, Packets, VirtualChannel, payload_crc};
use cse_core::{FrameConfig, Policy, Profile};
use spdm_lite::cert::ChainVerifier;
use spdm_lite::crypto::AlgorithmSet;

use crate::attest::{AttestError, Firmware, MeasuredFirmware, MeasurementPolicy};
use crate::scene::Scene;
use crate::{Bridge, Ecu, EcuIdentity, Finding, LinkError, Protocol, Sensor, SensorIdentity};

thread_local! {
    /// The recorder of [`run_recorded`] while it runs (the demo's link simulation taps every
    /// CSI-2 frame and CCISE write it puts on the wire).
    static TAP: std::cell::RefCell<Option<crate::capture::pcapng::Recorder>> =
        const { std::cell::RefCell::new(None) };
}

/// Gap the recorder's clock leaves between two tapped frames.
const FRAME_GAP_NS: u64 = 1_000_000;

fn tap(f: impl FnOnce(&mut crate::capture::pcapng::Recorder)) {
    TAP.with(|t| {
        if let Some(r) = t.borrow_mut().as_mut() {
            f(r);
        }
    });
}

/// Records a CSI-2 frame as it travels (after any attack).
fn tap_csi2(wire: &[u8]) {
    tap(|r| {
        r.csi2(wire);
        r.advance(FRAME_GAP_NS);
    });
}

/// Records a CCISE write to the sensor on I2C.
fn tap_i2c(frame: &[u8]) {
    tap(|r| r.i2c_write(crate::SENSOR_ADDRESS, frame));
}

const ROOT: &[u8] = include_bytes!("../pki/p256/root.cert.der");
const CHAIN: &[u8] = include_bytes!("../pki/p256/chain.der");
const LEAF_KEY: &[u8] = include_bytes!("../pki/p256/leaf.key.der");
const OTHER_ROOT: &[u8] = include_bytes!("../pki/p256/other_root.cert.der");
const OTHER_CHAIN: &[u8] = include_bytes!("../pki/p256/other_chain.der");
const OTHER_KEY: &[u8] = include_bytes!("../pki/p256/other_leaf.key.der");
const BRIDGE_CHAIN: &[u8] = include_bytes!("../pki/p256/bridge_chain.der");
const BRIDGE_KEY: &[u8] = include_bytes!("../pki/p256/bridge_leaf.key.der");
/// The ECU's chain (leaf with the SPDM requester-auth EKU) and key, under the same root.
const ECU_CHAIN: &[u8] = include_bytes!("../pki/p256/req_chain.der");
const ECU_KEY: &[u8] = include_bytes!("../pki/p256/req_leaf.key.der");

/// What to run.
#[derive(Clone, Debug)]
pub struct Options {
    /// Frame geometry.
    pub scene: Scene,
    /// Frames in the clean streaming phase.
    pub frames: usize,
    /// The protocol.
    pub protocol: Protocol,
    /// The stream configuration the ECU writes (its key id is ignored).
    pub config: FrameConfig,
}

/// The attacks, in the order the demo runs them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Attack {
    /// One pixel bit flipped on the wire, CRCs recomputed by the attacker.
    FlippedPixelBit,
    /// A protocol header byte changed, CRCs recomputed.
    TamperedHeader,
    /// A whole earlier frame sent again.
    ReplayedFrame,
    /// One pixel line removed.
    DroppedLine,
    /// Two pixel lines swapped.
    ReorderedPackets,
    /// The sensor's stream registers forced to SV-5 behind CCISE's back.
    SvDowngrade,
    /// A register write with a made-up tag.
    ForgedCciWrite,
    /// A genuine register write sent again.
    ReplayedCciWrite,
    /// A sensor whose certificate comes from another root.
    CounterfeitSensor,
    /// The ECU re-runs SPDM from GET_VERSION (a reset): the sensor must drop the old
    /// session's keys at once; whoever still holds them can neither verify nor decrypt the
    /// stream nor write registers, and the new session's stream verifies.
    Reauthentication,
    /// A forged frame start carrying frame counter `0xFFFF_FFFF` (SEP: a copy of the FS with
    /// the counter changed; FSED: a copy of the frame header, right after the genuine FS),
    /// CRCs recomputed: it must exhaust no key and move no replay state, so the next frame
    /// verifies.
    ForgedFrameStart,
    /// A forged copy of a pixel line (one bit flipped, CRCs recomputed) injected in front of
    /// the genuine line: refused or failing its scope, and the genuine lines after it and the
    /// next frame still verify.
    InjectedPacket,
    /// A genuine sensor (its certificate is fine) running a patched firmware image: its
    /// signed measurement of the mutable firmware matches no reference value.
    TamperedFirmware,
    /// A genuine sensor flashed back to an older, once-valid firmware build: its digest is a
    /// known one, but its security version number is below the ECU's minimum.
    FirmwareRollback,
    /// A rogue ECU without an ECU identity, at its own transport address, opens its own SPDM
    /// session with the sensor while the genuine ECU streams (it authenticates the sensor,
    /// but cannot answer the sensor's mutual authentication), writes a stream configuration
    /// under the keys of its session and ends its session. The sensor keeps one SPDM
    /// connection per peer: the rogue's session (its GET_VERSION, END_SESSION included) never
    /// touches the genuine one, and gets no CCISE keys, so its write is refused (it does not
    /// verify under the genuine session's keys) and the registers stay as they were. The
    /// genuine ECU, without authenticating again, keeps its session (a HEARTBEAT round trip),
    /// its keys and its configuration: its stream verifies before and after, and its next
    /// CCISE write is still accepted.
    RogueEcu,
    /// A rogue factory station with its own root (the manufacturer's names, other keys)
    /// provisions sensors: a genuine sensor, whose firmware trusts the manufacturer root,
    /// refuses its chain and stays unprovisioned; a counterfeit sensor that takes it is
    /// refused by the vehicle, which trusts the manufacturer root only.
    CounterfeitProvisioning,
}

impl Attack {
    /// Every attack.
    pub const ALL: [Attack; 16] = [
        Attack::FlippedPixelBit,
        Attack::TamperedHeader,
        Attack::ReplayedFrame,
        Attack::DroppedLine,
        Attack::ReorderedPackets,
        Attack::SvDowngrade,
        Attack::ForgedCciWrite,
        Attack::ReplayedCciWrite,
        Attack::CounterfeitSensor,
        Attack::Reauthentication,
        Attack::ForgedFrameStart,
        Attack::InjectedPacket,
        Attack::TamperedFirmware,
        Attack::FirmwareRollback,
        Attack::RogueEcu,
        Attack::CounterfeitProvisioning,
    ];

    /// The attack's name.
    pub fn name(self) -> &'static str {
        match self {
            Attack::FlippedPixelBit => "flipped pixel bit",
            Attack::TamperedHeader => "tampered header",
            Attack::ReplayedFrame => "replayed frame",
            Attack::DroppedLine => "dropped line",
            Attack::ReorderedPackets => "reordered packets",
            Attack::SvDowngrade => "SV downgrade",
            Attack::ForgedCciWrite => "forged CCI write",
            Attack::ReplayedCciWrite => "replayed CCI write",
            Attack::CounterfeitSensor => "counterfeit sensor",
            Attack::Reauthentication => "re-auth after reset",
            Attack::ForgedFrameStart => "forged FS, counter max",
            Attack::InjectedPacket => "injected packet in block",
            Attack::TamperedFirmware => "sensor with tampered firmware",
            Attack::FirmwareRollback => "firmware rolled back",
            Attack::RogueEcu => "rogue ECU session",
            Attack::CounterfeitProvisioning => "provisioned by another root",
        }
    }

    /// What should happen.
    pub fn expected(self) -> &'static str {
        match self {
            Attack::FlippedPixelBit => "frame rejected: tag mismatch",
            Attack::TamperedHeader => "frame rejected: tag or header check",
            Attack::ReplayedFrame => "frame rejected: replay",
            Attack::DroppedLine => "frame not clean: loss or scope failed",
            Attack::ReorderedPackets => "frame rejected: order or tag",
            Attack::SvDowngrade => "frame refused: below policy",
            Attack::ForgedCciWrite => "write refused: tag mismatch",
            Attack::ReplayedCciWrite => "write refused: replay",
            Attack::CounterfeitSensor => "SPDM refused: untrusted root",
            Attack::Reauthentication => "old keys dropped and refused",
            Attack::ForgedFrameStart => "refused; next frame verifies",
            Attack::InjectedPacket => "refused; genuine stream goes on",
            Attack::TamperedFirmware => "link refused: measurement mismatch",
            Attack::FirmwareRollback => "link refused: SVN below minimum",
            Attack::RogueEcu => "write refused; genuine session unaffected",
            Attack::CounterfeitProvisioning => "chain refused; vehicle: untrusted root",
        }
    }

    /// Whether the configuration promises to detect the attack. With an authenticated image
    /// block every attack is covered. Under SV-5 (the image block carries CRCs and counters
    /// only, no tag) the link promises functional-safety detection on the image only: the
    /// attacks that need a tag there (a flipped pixel with the CRCs recomputed, a forged line
    /// injected, a changed SEP line header) are not covered, nor is the SV downgrade (the image
    /// is already SV-5), nor under FSED the reordered lines (FSED sends SV-5 lines unchanged,
    /// without an index; SEP packets carry theirs). The replayed frame and the dropped line
    /// stay covered (counters, scope counts, the tagged embedded-data blocks), so do the FSED
    /// frame header (tagged by the first tag record) and the register, SPDM and frame-start
    /// attacks, which do not depend on the image block's SV.
    pub fn covered(self, opts: &Options) -> bool {
        if opts.config.image.sv.authenticates() {
            return true;
        }
        match self {
            Attack::FlippedPixelBit | Attack::InjectedPacket | Attack::SvDowngrade => false,
            Attack::TamperedHeader => opts.protocol == Protocol::Fsed,
            Attack::ReorderedPackets => opts.protocol == Protocol::Sep,
            _ => true,
        }
    }

    /// Findings that attribute the attack correctly.
    fn accepts(self, f: Finding) -> bool {
        use Finding as F;
        match self {
            Attack::FlippedPixelBit => matches!(f, F::AuthFailed | F::ScopeFailed),
            Attack::TamperedHeader => {
                matches!(f, F::AuthFailed | F::ScopeFailed | F::Protocol)
            }
            Attack::ReplayedFrame => matches!(f, F::Replay | F::Order),
            Attack::DroppedLine => matches!(f, F::Loss | F::ScopeFailed),
            Attack::ReorderedPackets => {
                matches!(f, F::Order | F::Replay | F::AuthFailed | F::ScopeFailed)
            }
            Attack::SvDowngrade => matches!(f, F::Downgrade),
            _ => false,
        }
    }
}

/// The outcome of one attack.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttackResult {
    /// The attack.
    pub attack: Attack,
    /// What the link reported.
    pub observed: String,
    /// The attack was noticed (a frame not reported clean, a write or handshake refused).
    pub detected: bool,
    /// It was noticed for the right reason.
    pub attributed: bool,
    /// The configuration promises to detect it ([`Attack::covered`]); an attack not covered
    /// does not decide the verdict.
    pub covered: bool,
}

impl AttackResult {
    /// The verdict cell of the attack table.
    pub fn verdict(&self) -> &'static str {
        match (self.covered, self.detected, self.attributed) {
            (false, _, _) => "not covered by SV-5 (expected)",
            (true, true, true) => "detected",
            (true, true, false) => "detected (misattributed)",
            (true, false, _) => "UNDETECTED",
        }
    }

    /// Whether this result keeps the run passing: detected and attributed, or not covered.
    pub fn holds(&self) -> bool {
        !self.covered || (self.detected && self.attributed)
    }
}

/// Everything the demo measured.
#[derive(Clone, Debug)]
pub struct Report {
    /// Exchanges of the sensor's SPDM handshake and first attestation (GET_MEASUREMENTS).
    pub handshake_steps: usize,
    /// Time of the handshake.
    pub handshake_time: Duration,
    /// Frames streamed in the clean phase.
    pub frames: usize,
    /// Frames that arrived clean and bit-exact.
    pub frames_ok: usize,
    /// Original payload bytes per frame.
    pub frame_payload: usize,
    /// Time spent protecting (sensor).
    pub protect_time: Duration,
    /// Time spent verifying (ECU).
    pub verify_time: Duration,
    /// Bytes on the wire per frame (last frame).
    pub wire_bytes: usize,
    /// A key rollover after KEY_UPDATE was observed at a frame boundary.
    pub rollover: bool,
    /// Attack results.
    pub attacks: Vec<AttackResult>,
    /// The factory phase: the sensor provisioned and then authenticated by a vehicle.
    pub factory: Factory,
}

impl Report {
    /// At least one clean frame ran, every clean frame arrived bit-exact, and every attack
    /// the configuration covers was detected and attributed ([`AttackResult::holds`]).
    pub fn passed(&self) -> bool {
        self.frames > 0
            && self.frames_ok == self.frames
            && self.rollover
            && self.factory.vehicle_authenticated
            && !self.attacks.is_empty()
            && self.attacks.iter().all(AttackResult::holds)
    }
}

fn identity(counterfeit: bool) -> Result<SensorIdentity, LinkError> {
    if counterfeit {
        SensorIdentity::from_der(AlgorithmSet::SET_A, OTHER_CHAIN, OTHER_ROOT, OTHER_KEY)
    } else {
        SensorIdentity::from_der(AlgorithmSet::SET_A, CHAIN, ROOT, LEAF_KEY)
    }
    .map(|id| id.trusting_ecu_root(ROOT))
}

/// The genuine ECU's identity for mutual authentication.
fn ecu_identity() -> Result<EcuIdentity, LinkError> {
    EcuIdentity::from_der(AlgorithmSet::SET_A, ECU_CHAIN, ROOT, ECU_KEY)
}

/// The serializer bridge's identity: a second leaf under the same test root.
fn bridge_identity() -> Result<SensorIdentity, LinkError> {
    SensorIdentity::from_der(AlgorithmSet::SET_A, BRIDGE_CHAIN, ROOT, BRIDGE_KEY)
}

/// Which sensor the link gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Variant {
    /// The genuine sensor with its current firmware.
    Genuine,
    /// A sensor certified by another root.
    Counterfeit,
    /// The genuine sensor running a patched firmware image.
    TamperedFirmware,
    /// The genuine sensor flashed back to the previous release.
    RolledBack,
}

/// The sensor's firmware builds: the current release, the previous one (a lower SVN), and a
/// patched copy of the current one.
pub fn sensor_firmware(release: &str) -> Firmware {
    let (version, svn) = match release {
        "1.3.0" => ("1.3.0", 2),
        _ => ("1.4.2", 3),
    };
    Firmware {
        rom: b"sensor boot ROM rev B".to_vec(),
        image: format!("sensor firmware image {version}")
            .repeat(64)
            .into_bytes(),
        hw_config: b"sensor fuses: lanes=4 secure-boot=on".to_vec(),
        version: version.to_owned(),
        svn,
    }
}

/// The serializer bridge's firmware.
pub fn bridge_firmware() -> Firmware {
    Firmware {
        rom: b"serializer boot ROM rev A".to_vec(),
        image: b"serializer firmware image 2.0.1".repeat(32),
        hw_config: b"serializer straps: fpd-link, 4 lanes".to_vec(),
        version: "2.0.1".to_owned(),
        svn: 1,
    }
}

/// The ECU's reference values for the sensor: releases 1.3.0 and 1.4.2 are known builds,
/// but 1.3.0 has a vulnerability fixed in 1.4.2 (SVN 3), so the minimum SVN is 3.
pub fn sensor_policy() -> MeasurementPolicy {
    MeasurementPolicy::from_known_good(
        AlgorithmSet::SET_A,
        &[&sensor_firmware("1.3.0"), &sensor_firmware("1.4.2")],
        3,
    )
}

/// The ECU's reference values for the serializer bridge.
pub fn bridge_policy() -> MeasurementPolicy {
    MeasurementPolicy::from_known_good(AlgorithmSet::SET_A, &[&bridge_firmware()], 1)
}

/// The ECU's trust anchor check: `spdm-lite`'s X.509 verifier (root hash against the provisioned
/// root, signatures up the chain, leaf key usage).
fn trust() -> impl ChainVerifier {
    spdm_lite::x509::X509Verifier::new(spdm_lite::crypto::RustCrypto, ROOT)
}

/// The policy the ECU enforces: at least what it configured.
fn policy(config: &FrameConfig) -> Policy {
    Policy {
        min_top: config.top.sv.level(),
        min_image: config.image.sv.level(),
        min_bottom: config.bottom.sv.level(),
    }
}

const ALGS: [AlgorithmSet; 1] = [AlgorithmSet::SET_A];

/// Sets up an authenticated, configured link and hands both ends to `f`.
///
/// The link has two responders: the sensor and a serializer bridge, each authenticated in
/// its own SPDM session and attested against its own reference values; the link opens only
/// when both pass.
fn with_link<R>(
    opts: &Options,
    variant: Variant,
    f: impl FnOnce(&mut Sensor<'_>, &mut Ecu<'_>, Vec<u8>) -> Result<R, LinkError>,
) -> Result<(R, usize, Duration), LinkError> {
    let id = identity(variant == Variant::Counterfeit)?;
    let firmware = match variant {
        Variant::RolledBack => sensor_firmware("1.3.0"),
        Variant::TamperedFirmware => {
            let mut fw = sensor_firmware("1.4.2");
            // One instruction patched.
            fw.image[100] ^= 0x01;
            fw
        }
        _ => sensor_firmware("1.4.2"),
    };
    let measured = MeasuredFirmware::new(id.algorithms(), &firmware);
    let bridge_id = bridge_identity()?;
    let bridge_fw = MeasuredFirmware::new(bridge_id.algorithms(), &bridge_firmware());
    let verifier = trust();
    let mut smem = crate::SensorMemory::new();
    let mut brng = crate::OsRandom;
    let mut erng = crate::OsRandom;
    let mut erng2 = crate::OsRandom;
    let mut chain_buf = vec![0u8; 8192];
    let mut bridge_buf = vec![0u8; 8192];
    let vc = opts.scene.vc;
    let eid = ecu_identity()?;
    let mut sensor = Sensor::new(&id, &mut smem, opts.protocol, vc)?;
    sensor.set_firmware(&measured);
    let mut bridge = Bridge::new(&bridge_id, &mut brng, Some(&bridge_fw))?;
    let mut ecu = Ecu::new(
        &mut erng,
        &verifier,
        &mut chain_buf,
        &ALGS,
        opts.protocol,
        vc,
        policy(&opts.config),
        Some(&eid),
    )?;
    ecu.set_measurement_policy(sensor_policy())?;
    let serializer = ecu.add_responder(
        "serializer",
        &mut erng2,
        &verifier,
        &mut bridge_buf,
        &ALGS,
        Some(bridge_policy()),
    )?;
    let t = Instant::now();
    let steps = crate::authenticate(&mut ecu, &mut sensor)?;
    let took = t.elapsed();
    crate::authenticate_responder(&mut ecu, serializer, &mut bridge, true)?;
    let write = crate::configure(&mut ecu, &mut sensor, &opts.config)?;
    tap_i2c(&write);
    Ok((f(&mut sensor, &mut ecu, write)?, steps, took))
}

/// Byte ranges of the packets in `wire`.
fn spans(wire: &[u8]) -> Vec<core::ops::Range<usize>> {
    let mut at = 0;
    let mut out = Vec::new();
    for p in Packets::new(wire, HeaderForm::Dphy) {
        let Ok(p) = p else { break };
        out.push(at..at + p.raw.len());
        at += p.raw.len();
    }
    out
}

/// Recomputes the CRCs of a wire packet as an attacker would (SEP CRC-32 when it is an SEP
/// packet, FSED CRC-32 for an FSED packet, then the CSI-2 CRC-16).
fn fix_crcs(protocol: Protocol, p: &mut [u8]) {
    let profile = Profile::DRAFT_1;
    let n = p.len();
    if n <= 6 {
        return;
    }
    let dt = p[0] & 0x3F;
    match protocol {
        Protocol::Sep if DataType(dt) == profile.dt_sep => {
            let m = n - 6;
            let crc = cse_sep::wire::crc32(&profile, &p[4..4 + m - 4]);
            p[4 + m - 4..4 + m].copy_from_slice(&crc.to_le_bytes());
        }
        Protocol::Fsed if DataType(dt) == profile.dt_fsed => {
            let mut f = cse_fsed::wire::Packet::new_unchecked(&mut p[4..n - 2]);
            if f.check_len().is_ok() {
                f.fill_crc(&profile);
            }
        }
        _ => {}
    }
    let c16 = payload_crc(&p[4..n - 2]);
    p[n - 2..].copy_from_slice(&c16.to_le_bytes());
}

/// The index of the long packet nearest the middle of `wire` that carries pixel data.
fn middle(sp: &[core::ops::Range<usize>]) -> usize {
    let big = sp.iter().map(|r| r.len()).max().unwrap_or(0);
    let mid = sp.len() / 2;
    (mid..sp.len())
        .find(|&i| sp[i].len() == big)
        .unwrap_or(mid.min(sp.len().saturating_sub(1)))
}

fn stream_one(
    sensor: &mut Sensor<'_>,
    ecu: &mut Ecu<'_>,
    scene: &Scene,
    n: u16,
    attack: impl FnOnce(&mut Vec<u8>),
) -> Result<crate::FrameReport, LinkError> {
    let originals = scene.frame(n)?;
    let mut wire = Vec::new();
    sensor.transmit_frame(&originals, &mut wire)?;
    attack(&mut wire);
    tap_csi2(&wire);
    let mut back = Vec::new();
    let mut rep = ecu.receive_frame(&wire, u64::from(n), &mut back);
    if rep.clean && back != originals {
        // Reported clean but not what the sensor sent: the worst outcome; flag it.
        rep.clean = false;
        rep.findings.clear();
    }
    Ok(rep)
}

fn observed(rep: &crate::FrameReport) -> String {
    if rep.clean {
        "accepted as clean".into()
    } else if rep.findings.is_empty() {
        "CORRUPTED FRAME RELEASED".into()
    } else {
        let names: Vec<&str> = rep.findings.iter().map(|f| f.name()).collect();
        format!("rejected: {}", names.join(", "))
    }
}

/// Frame `n` from the sensor to `ecu`: whether it arrived clean and bit-exact, and whether any
/// original line (a long packet) was released.
fn deliver(
    sensor: &mut Sensor<'_>,
    ecu: &mut Ecu<'_>,
    scene: &Scene,
    n: u16,
) -> Result<(bool, bool), LinkError> {
    let originals = scene.frame(n)?;
    let (mut wire, mut back) = (Vec::new(), Vec::new());
    sensor.transmit_frame(&originals, &mut wire)?;
    tap_csi2(&wire);
    let rep = ecu.receive_frame(&wire, u64::from(n), &mut back);
    let line_released =
        Packets::new(&back, HeaderForm::Dphy).any(|p| p.is_ok_and(|p| p.raw.len() > 4));
    Ok((rep.clean && back == originals, line_released))
}

/// The re-authentication attack on an established link (`old`: the ECU of the first session,
/// whose keys an attacker may hold): a new ECU starts again from GET_VERSION.
fn reauthenticate(
    opts: &Options,
    sensor: &mut Sensor<'_>,
    old: &mut Ecu<'_>,
) -> Result<AttackResult, LinkError> {
    let attack = Attack::Reauthentication;
    let scene = opts.scene;
    deliver(sensor, old, &scene, 1)?;
    let mut old_write = [0u8; ccise::wire::MAX_FRAME_LEN];
    let old_write_len = old.seal_stream_config(&opts.config, &mut old_write)?;

    let verifier = trust();
    let mut rng = crate::OsRandom;
    let mut chain_buf = vec![0u8; 8192];
    let eid = ecu_identity()?;
    let mut new = Ecu::new(
        &mut rng,
        &verifier,
        &mut chain_buf,
        &ALGS,
        opts.protocol,
        opts.scene.vc,
        policy(&opts.config),
        Some(&eid),
    )?;
    new.set_measurement_policy(sensor_policy())?;
    // The first request of the new handshake (GET_VERSION) ends the old session.
    let (mut req, mut rsp) = (
        vec![0u8; crate::ecu::SPDM_BUF],
        vec![0u8; crate::ecu::SPDM_BUF],
    );
    let n = new.write_spdm_request(&mut req)?;
    let m = sensor.handle_spdm_from(new.peer(), &mut req[..n], &mut rsp)?;
    new.handle_spdm_response(&mut rsp[..m])?;
    let dropped = !sensor.holds_keys();
    let mut wire = Vec::new();
    let refused = sensor.transmit_frame(&scene.frame(2)?, &mut wire).is_err() && wire.is_empty();
    crate::authenticate(&mut new, sensor)?;
    tap_i2c(&crate::configure(&mut new, sensor, &opts.config)?);

    // Old keys: the stream neither verifies nor decrypts, the register write is refused.
    let originals = scene.frame(3)?;
    sensor.transmit_frame(&originals, &mut wire)?;
    tap_csi2(&wire);
    let mut back = Vec::new();
    let stale = old.receive_frame(&wire, 3, &mut back);
    let stale_lines =
        Packets::new(&back, HeaderForm::Dphy).any(|p| p.is_ok_and(|p| p.raw.len() > 4));
    let fresh = new.receive_frame(&wire, 3, &mut back);
    let fresh_ok = fresh.clean && back == originals;
    let before = sensor.registers().registers().to_vec();
    tap_i2c(&old_write[..old_write_len]);
    let write_refused = sensor
        .handle_cci_write(&old_write[..old_write_len])
        .is_err()
        && sensor.registers().registers()[..] == before[..];
    // The clean stream continues under the new session.
    let (next_ok, _) = deliver(sensor, &mut new, &scene, 4)?;

    // Under SV-5 the image lines carry no tag and no encryption: anyone on the wire reads
    // them, old keys or not. What the old keys must still fail on is the frame itself (its
    // tagged embedded-data blocks and frame start).
    let image_protected = opts.config.image.sv.authenticates();
    let old_refused = !stale.clean && (!stale_lines || !image_protected);
    let detected = dropped && refused && old_refused && write_refused;
    let observed = if detected {
        format!("old keys dropped; old holder {}", observed(&stale))
    } else {
        format!(
            "keys dropped {dropped}, protect refused {refused}, old stream refused \
             {old_refused}, old write refused {write_refused}"
        )
    };
    Ok(AttackResult {
        attack,
        observed: if fresh_ok && next_ok {
            format!("{observed}; new session clean")
        } else {
            format!("{observed}; NEW SESSION STREAM NOT CLEAN")
        },
        detected,
        covered: true,
        attributed: detected && fresh_ok && next_ok,
    })
}

/// The transport address (MCTP endpoint ID) of the demo's rogue ECU; the genuine ECU is at
/// [`crate::PeerId::DEFAULT`].
const ROGUE_PEER: crate::PeerId = crate::PeerId(0x21);

/// The rogue-ECU attack on an established, configured link (`genuine`: the ECU that
/// configured it, which keeps streaming without authenticating again).
fn rogue_ecu(
    opts: &Options,
    sensor: &mut Sensor<'_>,
    genuine: &mut Ecu<'_>,
) -> Result<AttackResult, LinkError> {
    let attack = Attack::RogueEcu;
    let scene = opts.scene;
    let (genuine_before, _) = deliver(sensor, genuine, &scene, 1)?;
    let config_before = sensor.stream_config()?;
    let registers_before = sensor.registers().registers().to_vec();
    let owner_before = sensor.key_owner();

    // The rogue: a complete ECU (it trusts the sensor's root) without an ECU identity, at its
    // own transport address, and a configuration of its own (no protection on the image).
    let verifier = trust();
    let mut rng = crate::OsRandom;
    let mut chain_buf = vec![0u8; 8192];
    let mut rogue = Ecu::new(
        &mut rng,
        &verifier,
        &mut chain_buf,
        &ALGS,
        opts.protocol,
        scene.vc,
        policy(&opts.config),
        None,
    )?
    .with_peer(ROGUE_PEER);
    crate::handshake(&mut rogue, sensor)?;
    let rogue_session = sensor.has_session(rogue.peer());
    let rogue_authenticated = sensor.peer_authenticated(rogue.peer());
    let mut rogue_config = opts.config;
    rogue_config.image = cse_core::BlockConfig::no_security();
    let mut frame = [0u8; ccise::wire::MAX_FRAME_LEN];
    let write_refused = match rogue.seal_stream_config(&rogue_config, &mut frame) {
        // The rogue holds CCISE keys of its own session; the sensor checks every write under
        // the genuine session's keys only.
        Ok(n) => {
            tap_i2c(&frame[..n]);
            matches!(
                sensor.handle_cci_write(&frame[..n]),
                Err(LinkError::Cci(_) | LinkError::NotAuthenticated)
            )
        }
        Err(_) => true,
    } && sensor.registers().registers()[..] == registers_before[..];
    crate::end_session(&mut rogue, sensor)?;
    let rogue_ended = !sensor.has_session(rogue.peer());

    // The genuine ECU, not authenticated again: same session, keys and configuration; its
    // stream verifies, the session answers a HEARTBEAT, its next CCISE write is accepted.
    let kept = sensor.key_owner() == owner_before
        && owner_before == Some(genuine.peer())
        && sensor.has_session(genuine.peer())
        && sensor.holds_keys()
        && genuine.holds_keys();
    let same_config = sensor.stream_config()? == config_before
        && sensor.registers().registers()[..] == registers_before[..];
    let (ok2, _) = deliver(sensor, genuine, &scene, 2)?;
    let heartbeat = crate::heartbeat(genuine, sensor).is_ok();
    let (ok3, _) = deliver(sensor, genuine, &scene, 3)?;
    let rewrite = match crate::configure(genuine, sensor, &opts.config) {
        Ok(w) => {
            tap_i2c(&w);
            true
        }
        Err(_) => false,
    };
    let (ok4, _) = deliver(sensor, genuine, &scene, 4)?;
    let genuine_ok =
        genuine_before && kept && same_config && ok2 && heartbeat && ok3 && rewrite && ok4;
    let detected = rogue_session && !rogue_authenticated && write_refused && rogue_ended;
    Ok(AttackResult {
        attack,
        observed: if detected && genuine_ok {
            "rogue session without ECU auth: write refused; genuine session, keys and \
             stream unaffected"
                .into()
        } else {
            format!(
                "rogue session {rogue_session}, authenticated {rogue_authenticated}, write \
                 refused {write_refused}, ended {rogue_ended}; genuine kept {kept}, same \
                 config {same_config}, stream clean {genuine_ok}"
            )
        },
        detected,
        covered: true,
        attributed: detected && genuine_ok,
    })
}

fn run_attack(opts: &Options, attack: Attack) -> AttackResult {
    AttackResult {
        covered: attack.covered(opts),
        ..attack_once(opts, attack)
    }
}

/// The manufacturer's names, for the factory phase and the rogue station that copies them.
const MAKER: &str = "ACME Sensors";

/// Runs `f` with a transact function into `sensor`'s responder, in process.
fn with_sensor<R>(
    sensor: &mut crate::provision::SimSensor,
    f: impl FnOnce(&mut crate::provision::Transact<'_>) -> R,
) -> Result<R, LinkError> {
    sensor
        .serve(AlgorithmSet::SET_A, |rsp| {
            let mut t = |msg: &[u8]| {
                let mut m = msg.to_vec();
                let mut out = vec![0u8; 8192];
                let n = rsp.handle(&mut m, &mut out).map_err(|e| e.to_string())?;
                Ok(out[..n].to_vec())
            };
            f(&mut t)
        })
        .map_err(LinkError::Spdm)
}

/// The vehicle's check of a sensor: a fresh SPDM connection, the chain validated against
/// `root`, CHALLENGE and a session.
fn vehicle_check(
    sensor: &mut crate::provision::SimSensor,
    root: &[u8],
) -> Result<Result<crate::provision::Provisioned, crate::provision::ProvisionError>, LinkError> {
    with_sensor(sensor, |t| {
        let mut call = |m: &[u8]| t(m).map_err(crate::provision::ProvisionError::Transport);
        crate::provision::authenticate(&mut call, root, AlgorithmSet::SET_A)
    })
}

/// What the factory phase of the demo did.
#[derive(Clone, Debug)]
pub struct Factory {
    /// The sensor's identity as the station installed and the vehicle then verified it.
    pub provisioned: crate::provision::Provisioned,
    /// The vehicle authenticated the provisioned sensor against the manufacturer root.
    pub vehicle_authenticated: bool,
}

/// The factory, then the vehicle: a manufacturer PKI is made (`cse pki init`), an
/// unprovisioned sensor gets its chain from the manufacturer's intermediate (`cse
/// provision`: GET_CSR, SET_CERTIFICATE), then a vehicle ECU that trusts only the
/// manufacturer root authenticates it (GET_DIGESTS, GET_CERTIFICATE, CHALLENGE, a session).
///
/// # Errors
/// [`LinkError::Provisioning`] when a step fails.
pub fn factory() -> Result<Factory, LinkError> {
    use crate::provision::{ProvisionOptions, SimSensor, provision};
    let prov = |e: &dyn std::fmt::Display| LinkError::Provisioning(e.to_string());
    let ca = crate::pki::init(crate::pki::Curve::P256, MAKER, 30).map_err(|e| prov(&e))?;
    let mut sensor = SimSensor::new(AlgorithmSet::SET_A, "ACME camera", Some(&ca.root_cert))
        .map_err(|e| prov(&e))?;
    let opts = ProvisionOptions {
        device_serial: Some("CAM-000123".into()),
        serial: None,
    };
    let provisioned =
        with_sensor(&mut sensor, |t| provision(t, &ca, &opts))?.map_err(|e| prov(&e))?;
    let seen = vehicle_check(&mut sensor, &ca.root_cert)?.map_err(|e| prov(&e))?;
    Ok(Factory {
        vehicle_authenticated: seen == provisioned,
        provisioned,
    })
}

fn counterfeit_provisioning(attack: Attack) -> Result<AttackResult, LinkError> {
    use crate::provision::{ProvisionError, ProvisionOptions, SimSensor, provision};
    use spdm_lite::cert::CertError;
    let prov = |e: &dyn std::fmt::Display| LinkError::Provisioning(e.to_string());
    let genuine = crate::pki::init(crate::pki::Curve::P256, MAKER, 30).map_err(|e| prov(&e))?;
    let rogue = crate::pki::init(crate::pki::Curve::P256, MAKER, 30).map_err(|e| prov(&e))?;
    let opts = ProvisionOptions::default();
    // A genuine sensor refuses the rogue station's chain and stays unprovisioned.
    let mut real = SimSensor::new(AlgorithmSet::SET_A, "ACME camera", Some(&genuine.root_cert))
        .map_err(|e| prov(&e))?;
    let refused = with_sensor(&mut real, |t| provision(t, &rogue, &opts))?;
    let real_refused = matches!(
        refused,
        Err(ProvisionError::Spdm {
            step: "SET_CERTIFICATE",
            ..
        })
    ) && !real.is_provisioned();
    // A counterfeit sensor (it trusts any root) takes it; the vehicle refuses it.
    let mut fake =
        SimSensor::new(AlgorithmSet::SET_A, "ACME camera", None).map_err(|e| prov(&e))?;
    let installed = with_sensor(&mut fake, |t| provision(t, &rogue, &opts))?.is_ok();
    let vehicle = vehicle_check(&mut fake, &genuine.root_cert)?;
    let untrusted = matches!(
        vehicle,
        Err(ProvisionError::Spdm {
            error: spdm_lite::Error::Certificate(CertError::UntrustedRoot),
            ..
        })
    );
    let detected = real_refused && installed && vehicle.is_err();
    Ok(AttackResult {
        attack,
        observed: format!(
            "genuine sensor {}; counterfeit {}, vehicle {}",
            if real_refused {
                "refused the chain"
            } else {
                "TOOK THE CHAIN"
            },
            if installed {
                "took it"
            } else {
                "refused it too"
            },
            match &vehicle {
                Ok(_) => "AUTHENTICATED IT".to_string(),
                Err(ProvisionError::Spdm {
                    error: spdm_lite::Error::Certificate(c),
                    ..
                }) => format!("refused: {c}"),
                Err(ProvisionError::Spdm { error, .. }) => format!("refused: {error}"),
                Err(e) => format!("refused: {e}"),
            }
        ),
        detected,
        covered: true,
        attributed: detected && untrusted,
    })
}

fn attack_once(opts: &Options, attack: Attack) -> AttackResult {
    let scene = opts.scene;
    let protocol = opts.protocol;
    let r = match attack {
        Attack::CounterfeitProvisioning => counterfeit_provisioning(attack),
        Attack::CounterfeitSensor => {
            match with_link(opts, Variant::Counterfeit, |_, _, _| Ok(())) {
                Err(LinkError::Spdm(spdm_lite::Error::Certificate(e))) => {
                    return AttackResult {
                        attack,
                        observed: format!("SPDM refused: {e}"),
                        detected: true,
                        covered: true,
                        attributed: e == spdm_lite::cert::CertError::UntrustedRoot,
                    };
                }
                Err(e) => Err(e),
                Ok(_) => {
                    return AttackResult {
                        attack,
                        observed: "counterfeit sensor authenticated".into(),
                        detected: false,
                        covered: true,
                        attributed: false,
                    };
                }
            }
        }
        Attack::TamperedFirmware | Attack::FirmwareRollback => {
            let variant = if attack == Attack::TamperedFirmware {
                Variant::TamperedFirmware
            } else {
                Variant::RolledBack
            };
            return match with_link(opts, variant, |_, _, _| Ok(())) {
                Err(LinkError::Attestation(e)) => AttackResult {
                    attack,
                    observed: format!("link refused: {e}"),
                    detected: true,
                    covered: true,
                    attributed: match attack {
                        Attack::TamperedFirmware => matches!(
                            e,
                            AttestError::Mismatch {
                                index: crate::attest::index::FIRMWARE
                            }
                        ),
                        _ => matches!(e, AttestError::SvnRollback { .. }),
                    },
                },
                Err(e) => AttackResult {
                    attack,
                    observed: format!("link failed otherwise: {e}"),
                    detected: true,
                    covered: true,
                    attributed: false,
                },
                Ok(_) => AttackResult {
                    attack,
                    observed: "sensor accepted".into(),
                    detected: false,
                    covered: true,
                    attributed: false,
                },
            };
        }
        Attack::Reauthentication => with_link(opts, Variant::Genuine, |sensor, ecu, _| {
            reauthenticate(opts, sensor, ecu)
        })
        .map(|(r, _, _)| r),
        Attack::RogueEcu => with_link(opts, Variant::Genuine, |sensor, ecu, _| {
            rogue_ecu(opts, sensor, ecu)
        })
        .map(|(r, _, _)| r),
        Attack::ForgedCciWrite | Attack::ReplayedCciWrite => {
            with_link(opts, Variant::Genuine, |sensor, _ecu, genuine| {
                let before = sensor.registers().registers().to_vec();
                let frame = if attack == Attack::ForgedCciWrite {
                    // An SV-5 configuration, counter 2, and a tag the attacker made up.
                    let mut f = genuine.clone();
                    let n = f.len();
                    for b in &mut f[3..9] {
                        *b = 5;
                    }
                    f[n - 20..n - 16].copy_from_slice(&2u32.to_be_bytes());
                    for (i, b) in f[n - 16..].iter_mut().enumerate() {
                        *b = 0xA5 ^ i as u8;
                    }
                    f
                } else {
                    genuine
                };
                tap_i2c(&frame);
                let r = sensor.handle_cci_write(&frame);
                let unchanged = sensor.registers().registers()[..] == before[..];
                Ok((r, unchanged))
            })
            .map(|((r, unchanged), _, _)| {
                let want = if attack == Attack::ForgedCciWrite {
                    |e: &cse_core::SecurityError| matches!(e, cse_core::SecurityError::AuthFailed)
                } else {
                    |e: &cse_core::SecurityError| {
                        matches!(e, cse_core::SecurityError::Replay { .. })
                    }
                };
                match r {
                    Err(LinkError::Cci(ccise::Error::Security(e))) => AttackResult {
                        attack,
                        observed: format!("write refused: {e}"),
                        detected: unchanged,
                        covered: true,
                        attributed: want(&e),
                    },
                    Err(e) => AttackResult {
                        attack,
                        observed: format!("write refused: {e}"),
                        detected: unchanged,
                        covered: true,
                        attributed: false,
                    },
                    Ok(()) => AttackResult {
                        attack,
                        observed: "write applied".into(),
                        detected: false,
                        covered: true,
                        attributed: false,
                    },
                }
            })
        }
        Attack::ForgedFrameStart | Attack::InjectedPacket => {
            let per_message = [opts.config.top, opts.config.image, opts.config.bottom]
                .iter()
                .all(|b| b.tag_mode == cse_core::TagMode::PerMessage);
            with_link(opts, Variant::Genuine, |sensor, ecu, _| {
                let mut back = Vec::new();
                // Frame 1 clean (sets the replay state).
                let mut wire = Vec::new();
                sensor.transmit_frame(&scene.frame(1)?, &mut wire)?;
                tap_csi2(&wire);
                let _ = ecu.receive_frame(&wire, 1, &mut back);
                // Frame 2 with the forged packet.
                let originals = scene.frame(2)?;
                wire.clear();
                sensor.transmit_frame(&originals, &mut wire)?;
                let sp = spans(&wire);
                let (at, forged) = if attack == Attack::ForgedFrameStart {
                    // SEP: the FS packet, counter at payload offset 12 (after the 12-byte
                    // header, first field of the frame extension), inserted before the
                    // genuine FS. FSED: the frame header (packet 1), counter at payload
                    // offset 4, inserted right after the genuine FS.
                    let (i, off) = if protocol == Protocol::Sep {
                        (0, 4 + 12)
                    } else {
                        (1, 4 + 4)
                    };
                    let r = sp.get(i).cloned().unwrap_or_default();
                    let mut f = wire[r.clone()].to_vec();
                    if let Some(fc) = f.get_mut(off..off + 4) {
                        fc.copy_from_slice(&u32::MAX.to_le_bytes());
                    }
                    fix_crcs(protocol, &mut f);
                    (r.start, f)
                } else {
                    let r = sp.get(middle(&sp)).cloned().unwrap_or_default();
                    let mut f = wire[r.clone()].to_vec();
                    let mid = f.len() / 2;
                    if let Some(b) = f.get_mut(mid) {
                        *b ^= 0x10;
                    }
                    fix_crcs(protocol, &mut f);
                    (r.start, f)
                };
                wire.splice(at..at, forged);
                tap_csi2(&wire);
                let rep = ecu.receive_frame(&wire, 2, &mut back);
                let delivered = back == originals;
                // Frame 3 clean: the stream goes on.
                let next = scene.frame(3)?;
                wire.clear();
                sensor.transmit_frame(&next, &mut wire)?;
                tap_csi2(&wire);
                let rep3 = ecu.receive_frame(&wire, 3, &mut back);
                Ok((rep, delivered, rep3.clean && back == next))
            })
            .map(|((rep, delivered, next_ok), _, _)| {
                // Where the format authenticates the forged packet on its own (SEP frame
                // starts, SEP per-message packets), the genuine frame must come through whole.
                let whole = protocol == Protocol::Sep
                    && (attack == Attack::ForgedFrameStart || per_message);
                let intact = next_ok && (delivered || !whole);
                let mut observed = observed(&rep);
                observed.push_str(match (delivered, next_ok) {
                    (true, true) => "; frame delivered; next frame clean",
                    (false, true) => "; frame dropped; next frame clean",
                    (_, false) => "; NEXT FRAME FAILED",
                });
                AttackResult {
                    attack,
                    observed,
                    detected: !rep.findings.is_empty() && intact,
                    covered: true,
                    attributed: rep.findings.iter().any(|f| {
                        matches!(
                            f,
                            Finding::AuthFailed
                                | Finding::Protocol
                                | Finding::Replay
                                | Finding::Key
                                | Finding::ScopeFailed
                        )
                    }),
                }
            })
        }
        _ => with_link(opts, Variant::Genuine, |sensor, ecu, _| {
            // Frame 1 clean (sets the replay state), then the attacked frame 2.
            let mut first = Vec::new();
            let originals = scene.frame(1)?;
            sensor.transmit_frame(&originals, &mut first)?;
            tap_csi2(&first);
            let mut back = Vec::new();
            let _ = ecu.receive_frame(&first, 1, &mut back);
            if attack == Attack::ReplayedFrame {
                tap_csi2(&first);
                return Ok(ecu.receive_frame(&first, 2, &mut back));
            }
            if attack == Attack::SvDowngrade {
                let at = crate::registers::STREAM_CONFIG + 1 + 8;
                let _ = sensor.registers_backdoor().poke(at, 5);
            }
            stream_one(sensor, ecu, &scene, 2, |wire| {
                let sp = spans(wire);
                let m = middle(&sp);
                match attack {
                    Attack::FlippedPixelBit => {
                        if let Some(r) = sp.get(m).cloned() {
                            let at = r.start + r.len() / 2;
                            wire[at] ^= 0x10;
                            fix_crcs(protocol, &mut wire[r]);
                        }
                    }
                    Attack::TamperedHeader => {
                        // SEP: a byte of the SEP header of a pixel line; FSED: a byte of the
                        // frame header packet (right after FS).
                        let i = if protocol == Protocol::Sep { m } else { 1 };
                        if let Some(r) = sp.get(i).cloned() {
                            wire[r.start + 4 + 1] ^= 0x01;
                            fix_crcs(protocol, &mut wire[r]);
                        }
                    }
                    Attack::DroppedLine => {
                        if let Some(r) = sp.get(m).cloned() {
                            wire.drain(r);
                        }
                    }
                    Attack::ReorderedPackets => {
                        if let (Some(a), Some(b)) = (sp.get(m).cloned(), sp.get(m + 1).cloned()) {
                            let pa = wire[a.clone()].to_vec();
                            let pb = wire[b.clone()].to_vec();
                            let mut sw = pb;
                            sw.extend_from_slice(&pa);
                            wire.splice(a.start..b.end, sw);
                        }
                    }
                    _ => {}
                }
            })
        })
        .map(|(rep, _, _)| AttackResult {
            attack,
            observed: observed(&rep),
            detected: !rep.clean && !rep.findings.is_empty(),
            covered: true,
            attributed: rep.findings.iter().any(|f| attack.accepts(*f)),
        }),
    };
    r.unwrap_or_else(|e| AttackResult {
        attack,
        observed: format!("demo error: {e}"),
        detected: false,
        covered: true,
        attributed: false,
    })
}

/// Runs the demo; `progress(done, total)` is called after every clean frame.
///
/// # Errors
/// A failure to authenticate, configure or stream the clean link.
pub fn run(opts: &Options, progress: &mut dyn FnMut(usize, usize)) -> Result<Report, LinkError> {
    let factory = factory()?;
    let scene = opts.scene;
    let frames = opts.frames;
    let ((frames_ok, protect, verify, wire_bytes, rollover), steps, hs) =
        with_link(opts, Variant::Genuine, |sensor, ecu, _| {
            let mut ok = 0;
            let (mut tp, mut tv) = (Duration::ZERO, Duration::ZERO);
            let mut wire = Vec::new();
            let mut back = Vec::new();
            let mut rollover = false;
            let rekey_at = frames / 2;
            for f in 0..frames {
                if f == rekey_at && f > 0 {
                    crate::heartbeat(ecu, sensor)?;
                    // Re-measure the sensor at run time, inside the session.
                    crate::attest(ecu, sensor)?;
                    crate::key_update(ecu, sensor)?;
                }
                let n = (f + 1) as u16;
                let originals = scene.frame(n)?;
                wire.clear();
                let t = Instant::now();
                sensor.transmit_frame(&originals, &mut wire)?;
                tp += t.elapsed();
                tap_csi2(&wire);
                let t = Instant::now();
                let rep = ecu.receive_frame(&wire, f as u64, &mut back);
                tv += t.elapsed();
                if rep.clean && back == originals {
                    ok += 1;
                }
                if f == rekey_at && f > 0 && rep.key_rollover {
                    rollover = true;
                }
                progress(f + 1, frames);
            }
            if frames < 2 {
                rollover = true;
            }
            Ok((ok, tp, tv, wire.len(), rollover))
        })?;
    let attacks = Attack::ALL
        .iter()
        .zip(1u8..)
        .map(|(a, stream)| {
            tap(|r| r.set_stream(stream));
            run_attack(opts, *a)
        })
        .collect();
    Ok(Report {
        handshake_steps: steps,
        handshake_time: hs,
        frames,
        frames_ok,
        frame_payload: scene.payload_bytes(),
        protect_time: protect,
        verify_time: verify,
        wire_bytes,
        rollover,
        attacks,
        factory,
    })
}

/// Runs the demo as [`run`] does and records the whole link into `rec`, a pcapng capture of
/// ASAM CMP messages (`docs/capture.md` section 7) whose clock starts where the recording
/// starts: the CCISE register writes on I2C (interface 2) and every CSI-2 frame as it
/// travels, attacks included (interface 1). CMP stream 0 is the clean link; stream `n` is the
/// link of attack `n` of [`Attack::ALL`] (1-based), each a fresh session. Handshake messages
/// (SPDM) are not recorded.
///
/// # Errors
/// As [`run`].
pub fn run_recorded(
    opts: &Options,
    progress: &mut dyn FnMut(usize, usize),
    rec: crate::capture::pcapng::Recorder,
) -> Result<(Report, crate::capture::pcapng::Recorder), LinkError> {
    TAP.with(|t| *t.borrow_mut() = Some(rec));
    let r = run(opts, progress);
    let rec = TAP.with(|t| t.borrow_mut().take());
    let report = r?;
    let rec = rec.ok_or_else(|| LinkError::Capture("the recorder went missing".into()))?;
    Ok((report, rec))
}

/// The default scene's virtual channel.
pub fn default_vc() -> VirtualChannel {
    VirtualChannel::default()
}
