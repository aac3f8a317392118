//! A secured MIPI camera link end to end: the [`Sensor`] and [`Ecu`] endpoints that compose
//! `spdm-lite` (authentication and keys), `ccise` (protected register writes) and `cse-sep` /
//! `cse-fsed` (protected image streams), and the scenario behind `cse demo`.
//!
//! The order of a link's life, as [`demo`] runs it:
//!
//! 1. **Authenticate**: the ECU (SPDM requester) and the sensor (SPDM responder) exchange
//!    SPDM messages ([`Ecu::write_spdm_request`], [`Sensor::handle_spdm_from`],
//!    [`Ecu::handle_spdm_response`]; [`handshake`] drives the loop in one process). The sensor
//!    keeps one SPDM connection per peer ([`PeerId`], [`Ecu::peer`]): a second ECU's session
//!    never touches the session that owns the keys, and only an ECU that authenticated itself
//!    (mutual authentication) gets CCISE keys, taking them over from the previous one. The ECU
//!    checks the sensor's certificate chain with a [`spdm_lite::cert::ChainVerifier`].
//!    With a measurement policy ([`Ecu::set_measurement_policy`], [`attest`](mod@attest)) the
//!    ECU then asks for the sensor's signed firmware measurements in the session and opens the
//!    link only if they match the handshake's summary hash and the reference values
//!    ([`authenticate`], [`attest()`] again at run time). Other responders of the link (a
//!    serializer [`Bridge`]) are authenticated and attested in their own sessions
//!    ([`Ecu::add_responder`], [`authenticate_responder`]); the link opens only when all pass.
//! 2. **Derive keys**: both ends derive the CCISE keys and the stream keys from the SPDM export
//!    master secret (`docs/key-hierarchy.md`, labels from [`cse_core::Profile`]), see [`keys`].
//! 3. **Configure**: the ECU writes the stream configuration (SV, suite, tag length and tag
//!    mode per block) into the sensor's registers with one CCISE-protected write
//!    ([`Ecu::seal_stream_config`], [`Sensor::handle_cci_write`]); the layout is [`registers`].
//! 4. **Stream**: at every frame start the sensor reads its registers and configures its SEP
//!    or FSED transmitter from them ([`Sensor::transmit_frame`]); the ECU verifies each frame
//!    against its [`cse_core::Policy`] and gets the original packets back
//!    ([`Ecu::receive_frame`], [`FrameReport`]).
//! 5. **Rekey**: after an SPDM KEY_UPDATE both ends derive the next key generation, install it
//!    in the idle key slot, and the sensor switches to it at the next frame boundary. The CCISE
//!    channel moves to the same generation at the exchange that confirms the new SPDM keys
//!    (VerifyNewKey): new keys, counters from 1, the old generation's writes refused
//!    ([`key_update`]). Stream key ids come from the key slots (the id after the active one).
//! 6. **End**: when the SPDM session that owns the keys ends or is reset (END_SESSION,
//!    [`end_session`]; the owner's own GET_VERSION; a new handshake; an authenticated ECU
//!    taking over), the sensor drops every stream and CCISE key and the stream
//!    configuration at once and protects nothing until a new session has configured it; the
//!    ECU drops its keys on END_SESSION_ACK. Every key dies with its session
//!    (`docs/key-hierarchy.md`).
//!
//! [`vectors`] builds the golden test vectors that `cse vectors` writes (`docs/vectors.md`).
//!
//! The endpoints are sans-IO in the sense of the protocol crates: they exchange byte buffers
//! and take time as a number. This crate itself uses `std` (it is the integration layer and the
//! CLI, not a protocol crate).
#![forbid(unsafe_code)]

pub mod attest;
mod bridge;
pub mod capture;
pub mod cli;
pub mod demo;
mod ecu;
mod error;
mod fsed_sync;
pub mod keys;
pub mod pki;
pub mod provision;
pub mod registers;
pub mod scene;
mod sensor;
pub mod table;
pub mod vectors;

/// The examples of the workspace README, compiled and run as doctests only.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
pub struct ReadmeDoctests;

pub use bridge::Bridge;
pub use ecu::{Ecu, EcuIdentity, Finding, FrameReport};
pub use error::LinkError;
pub use sensor::{PeerId, SENSOR_ADDRESS, SPDM_CONNECTIONS, Sensor, SensorIdentity, SensorMemory};

/// Which CSE protocol carries the stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// Service Extension Packets (`cse-sep`): every packet wrapped.
    Sep,
    /// Frame-based, legacy-transparent protection (`cse-fsed`).
    Fsed,
}

impl Protocol {
    /// `"SEP"` or `"FSED"`.
    pub fn name(self) -> &'static str {
        match self {
            Protocol::Sep => "SEP",
            Protocol::Fsed => "FSED",
        }
    }
}

/// A random source reading the operating system's generator (`/dev/urandom`).
#[derive(Debug, Default)]
pub struct OsRandom;

impl spdm_lite::crypto::RandomSource for OsRandom {
    fn fill(&mut self, out: &mut [u8]) -> Result<(), spdm_lite::CryptoError> {
        use std::io::Read;
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(out))
            .map_err(|_| spdm_lite::CryptoError::Rng)
    }
}

/// Runs the SPDM handshake between `ecu` and `sensor` in one process until the session is
/// established; returns the number of request/response exchanges.
///
/// # Errors
/// The first SPDM failure on either side (for a counterfeit sensor: the ECU's certificate
/// check, [`LinkError::Spdm`] with [`spdm_lite::Error::Certificate`]).
pub fn handshake(ecu: &mut Ecu<'_>, sensor: &mut Sensor<'_>) -> Result<usize, LinkError> {
    let mut req = vec![0u8; ecu::SPDM_BUF];
    let mut rsp = vec![0u8; ecu::SPDM_BUF];
    for steps in 1..=64 {
        let n = ecu.write_spdm_request(&mut req)?;
        let m = sensor.handle_spdm_from(ecu.peer(), &mut req[..n], &mut rsp)?;
        if ecu.handle_spdm_response(&mut rsp[..m])? {
            return Ok(steps);
        }
    }
    Err(LinkError::HandshakeStalled)
}

/// Runs the SPDM handshake between `ecu` and `sensor`, then, when the ECU has a
/// measurement policy ([`Ecu::set_measurement_policy`]), the first attestation ([`attest()`]).
/// Returns the number of request/response exchanges.
///
/// # Errors
/// As [`handshake`] and [`attest()`].
pub fn authenticate(ecu: &mut Ecu<'_>, sensor: &mut Sensor<'_>) -> Result<usize, LinkError> {
    let steps = handshake(ecu, sensor)?;
    if ecu.has_measurement_policy() {
        attest(ecu, sensor)?;
        return Ok(steps + 1);
    }
    Ok(steps)
}

/// One signed GET_MEASUREMENTS round trip with the sensor inside the session, judged by the
/// ECU's policy: the first attestation after the handshake (it opens the link) or a
/// re-measurement at run time (a failure closes it: the ECU drops every key).
///
/// # Errors
/// [`LinkError::Attestation`] for measurements the policy refuses, [`LinkError::Spdm`].
pub fn attest(ecu: &mut Ecu<'_>, sensor: &mut Sensor<'_>) -> Result<(), LinkError> {
    let mut req = vec![0u8; ecu::SPDM_BUF];
    let mut rsp = vec![0u8; ecu::SPDM_BUF];
    let n = ecu.write_measurement_request(&mut req)?;
    let m = sensor.handle_spdm_from(ecu.peer(), &mut req[..n], &mut rsp)?;
    ecu.handle_measurement_response(&mut rsp[..m])
}

/// Authenticates another responder of the link (`id` from [`Ecu::add_responder`]): the SPDM
/// handshake with `bridge`, then its attestation when the ECU holds a policy for it. Any
/// failure refuses the whole link.
///
/// # Errors
/// The first SPDM or attestation failure.
pub fn authenticate_responder(
    ecu: &mut Ecu<'_>,
    id: usize,
    bridge: &mut Bridge<'_>,
    attest: bool,
) -> Result<usize, LinkError> {
    let mut req = vec![0u8; ecu::SPDM_BUF];
    let mut rsp = vec![0u8; ecu::SPDM_BUF];
    for steps in 1..=64 {
        let n = ecu.write_spdm_request_to(id, &mut req)?;
        let m = bridge.handle_spdm(&mut req[..n], &mut rsp)?;
        if ecu.handle_spdm_response_from(id, &mut rsp[..m])? {
            if attest {
                attest_responder(ecu, id, bridge)?;
            }
            return Ok(steps);
        }
    }
    Err(LinkError::HandshakeStalled)
}

/// One signed GET_MEASUREMENTS round trip with responder `id`, judged by its policy.
///
/// # Errors
/// As [`attest()`].
pub fn attest_responder(
    ecu: &mut Ecu<'_>,
    id: usize,
    bridge: &mut Bridge<'_>,
) -> Result<(), LinkError> {
    let mut req = vec![0u8; ecu::SPDM_BUF];
    let mut rsp = vec![0u8; ecu::SPDM_BUF];
    let n = ecu.write_measurement_request_to(id, &mut req)?;
    let m = bridge.handle_spdm(&mut req[..n], &mut rsp)?;
    ecu.handle_measurement_response_from(id, &mut rsp[..m])
}

/// Writes `config` into the sensor's stream registers over CCISE (one protected write).
///
/// # Errors
/// As [`Ecu::seal_stream_config`] and [`Sensor::handle_cci_write`].
pub fn configure(
    ecu: &mut Ecu<'_>,
    sensor: &mut Sensor<'_>,
    config: &cse_core::FrameConfig,
) -> Result<Vec<u8>, LinkError> {
    let mut frame = [0u8; ccise::wire::MAX_FRAME_LEN];
    let n = ecu.seal_stream_config(config, &mut frame)?;
    sensor.handle_cci_write(&frame[..n])?;
    Ok(frame[..n].to_vec())
}

/// Runs an SPDM KEY_UPDATE (UpdateAllKeys, then VerifyNewKey) between the endpoints and
/// returns the new key generation.
///
/// - **Stream**: on the UpdateAllKeys ACK both ends know the new generation; the ECU installs
///   its stream key in the receiver's idle slot, the sensor switches to it at its next frame
///   (the key id in the frame tells the receiver which slot).
/// - **CCISE**: both ends replace their CCISE session by one under the new generation's keys
///   ([`keys::ccise_keys`], key id [`keys::ccise_key_id`] bound into every tag) at VerifyNewKey, the
///   first request under the new SPDM request key: the sensor when that request opens, the ECU
///   when its answer arrives. Counters start again at 1, which is safe because the keys are new.
///   A write sealed under an older generation, delivered late or replayed, no longer verifies
///   (the old session is gone, and the new keys and key id differ), and a write of the new
///   generation means nothing under the old keys. Between the key change and the confirming
///   answer the ECU refuses to seal CCISE writes ([`LinkError::KeyUpdateInProgress`]), so no
///   write goes out under a generation the sensor has already left.
///
/// # Errors
/// An SPDM failure on either side.
pub fn key_update(ecu: &mut Ecu<'_>, sensor: &mut Sensor<'_>) -> Result<u32, LinkError> {
    use spdm_lite::msgs::key_update::KeyUpdateOp;
    for op in [KeyUpdateOp::UPDATE_ALL_KEYS, KeyUpdateOp::VERIFY_NEW_KEY] {
        let mut req = vec![0u8; ecu::SPDM_BUF];
        let mut rsp = vec![0u8; ecu::SPDM_BUF];
        let n = ecu.write_key_update(op, &mut req)?;
        let m = sensor.handle_spdm_from(ecu.peer(), &mut req[..n], &mut rsp)?;
        ecu.handle_session_response(&mut rsp[..m])?;
    }
    Ok(ecu.key_generation())
}

/// One SPDM HEARTBEAT round trip.
///
/// # Errors
/// An SPDM failure on either side.
pub fn heartbeat(ecu: &mut Ecu<'_>, sensor: &mut Sensor<'_>) -> Result<(), LinkError> {
    let mut req = vec![0u8; ecu::SPDM_BUF];
    let mut rsp = vec![0u8; ecu::SPDM_BUF];
    let n = ecu.write_heartbeat(&mut req)?;
    let m = sensor.handle_spdm_from(ecu.peer(), &mut req[..n], &mut rsp)?;
    ecu.handle_session_response(&mut rsp[..m])?;
    Ok(())
}

/// Ends the SPDM session (END_SESSION): both ends drop their stream and CCISE keys at once;
/// the sensor protects nothing more and forgets the stream configuration until a new session
/// (a new [`Ecu`] that starts again with GET_VERSION) authenticates and configures it.
///
/// # Errors
/// An SPDM failure on either side.
pub fn end_session(ecu: &mut Ecu<'_>, sensor: &mut Sensor<'_>) -> Result<(), LinkError> {
    let mut req = vec![0u8; ecu::SPDM_BUF];
    let mut rsp = vec![0u8; ecu::SPDM_BUF];
    let n = ecu.write_end_session(&mut req)?;
    let m = sensor.handle_spdm_from(ecu.peer(), &mut req[..n], &mut rsp)?;
    ecu.handle_session_response(&mut rsp[..m])?;
    Ok(())
}
