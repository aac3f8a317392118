//! The camera side: SPDM responder (one connection per requester), CCISE target over a
//! simulated register map, SEP or FSED transmitter configured from those registers.

use ccise::{SimSensor, Target};
use cse_core::csi2::{HeaderForm, Packets, VirtualChannel};
use cse_core::{ConfigError, FrameConfig, KeyId, Profile};
use spdm_lite::cert::{CertError, ChainVerifier, encode_spdm_chain};
use spdm_lite::crypto::{AlgorithmSet, EcdsaSigningKey, RandomSource, RustCrypto};
use spdm_lite::mut_auth::{MutAuthMode, MutAuthPolicy};
use spdm_lite::responder::{Responder, ResponderConfig};
use spdm_lite::session::{Role, Session};
use spdm_lite::x509::{ValidationOptions, X509Verifier};

use crate::{LinkError, Protocol, keys, registers};

/// The sensor's 7-bit I2C address in the demo.
pub const SENSOR_ADDRESS: u8 = 0x36;

/// Largest ECU certificate chain the sensor fetches in mutual authentication.
pub(crate) const ECU_CHAIN_BUF: usize = 4096;

/// Room [`Sensor::transmit_frame`] leaves for an SEP packet beyond its original: the outer
/// CSI-2 header and footer (6 bytes), the SEP header (12), the longest tag (16) and the CRC-32
/// (4), with margin.
const SEP_ROOM: usize = 64;

/// How many SPDM connections (requesters at once) a sensor keeps: the one whose session owns
/// the stream and CCISE keys, and one for any other requester.
pub const SPDM_CONNECTIONS: usize = 2;

/// An SPDM requester's transport address as the sensor sees it: the MCTP endpoint ID the
/// request came from. SPDM connection state is per peer (DSP0236/DSP0275: per requester
/// endpoint), so the sensor keeps one SPDM connection per peer ([`Sensor::handle_spdm_from`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId(pub u8);

impl PeerId {
    /// The peer of [`Sensor::handle_spdm`] and of an [`crate::Ecu`] without
    /// [`crate::Ecu::with_peer`]: MCTP endpoint ID 0x08 (the first EID outside the reserved
    /// range).
    pub const DEFAULT: PeerId = PeerId(0x08);
}

/// What a sensor's SPDM connections borrow for the sensor's lifetime (the SPDM responders
/// allocate nothing themselves): per connection a random source and a buffer for the ECU
/// certificate chain fetched in mutual authentication. The caller owns it, so nothing is
/// leaked per sensor.
pub struct SensorMemory {
    rngs: [Box<dyn RandomSource>; SPDM_CONNECTIONS],
    chain_bufs: [Vec<u8>; SPDM_CONNECTIONS],
}

impl core::fmt::Debug for SensorMemory {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SensorMemory").finish_non_exhaustive()
    }
}

impl Default for SensorMemory {
    fn default() -> Self {
        Self::new()
    }
}

impl SensorMemory {
    /// Memory for a sensor whose connections draw randomness from the operating system
    /// ([`crate::OsRandom`]).
    pub fn new() -> Self {
        Self::with_random([Box::new(crate::OsRandom), Box::new(crate::OsRandom)])
    }

    /// Memory for a sensor whose connections draw randomness from `rngs` (one per
    /// connection).
    pub fn with_random(rngs: [Box<dyn RandomSource>; SPDM_CONNECTIONS]) -> Self {
        SensorMemory {
            rngs,
            chain_bufs: [vec![0u8; ECU_CHAIN_BUF], vec![0u8; ECU_CHAIN_BUF]],
        }
    }
}

/// The ECU root the sensor trusts for mutual authentication: ECU chains must lead to it and
/// their leaf must carry the SPDM requester-auth extended key usage.
struct EcuTrust {
    root: Vec<u8>,
}

impl ChainVerifier for EcuTrust {
    fn verify_chain(
        &self,
        set: AlgorithmSet,
        role: Role,
        chain: &[u8],
        leaf_key: &mut [u8],
    ) -> Result<usize, CertError> {
        X509Verifier::with_options(
            RustCrypto,
            &self.root,
            ValidationOptions::new().strict_eku(),
        )
        .verify_chain(set, role, chain, leaf_key)
    }
}

/// A responder's SPDM identity (the sensor's, or a bridge's): its certificate chain (SPDM
/// format) and signing key, and the ECU root it trusts for mutual authentication, if any.
pub struct SensorIdentity {
    set: AlgorithmSet,
    chain: Vec<u8>,
    key: EcdsaSigningKey,
    ecu_trust: Option<EcuTrust>,
}

impl core::fmt::Debug for SensorIdentity {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SensorIdentity")
            .field("chain_len", &self.chain.len())
            .finish_non_exhaustive()
    }
}

impl SensorIdentity {
    /// From concatenated DER certificates (root first, leaf last), the root's DER and the
    /// leaf's SEC1 DER private key, for algorithm set `set`.
    ///
    /// # Errors
    /// [`LinkError::Spdm`] or [`LinkError::Derive`] for a key or chain that does not parse.
    pub fn from_der(
        set: AlgorithmSet,
        certs: &[u8],
        root: &[u8],
        key: &[u8],
    ) -> Result<Self, LinkError> {
        let mut chain = vec![0u8; certs.len() + 64];
        let n = encode_spdm_chain(&RustCrypto, set.hash, root, certs, &mut chain)?;
        chain.truncate(n);
        let key = EcdsaSigningKey::from_sec1_der(set.asym, key)?;
        Ok(SensorIdentity {
            set,
            chain,
            key,
            ecu_trust: None,
        })
    }

    /// Trusts ECUs whose certificate chain leads to `root_der` (DER) and whose leaf carries
    /// the SPDM requester-auth EKU: the sensor then asks every ECU for mutual authentication
    /// (the chain fetched with encapsulated requests), and only a session whose ECU
    /// authenticated may configure the sensor. Without it no session may.
    #[must_use]
    pub fn trusting_ecu_root(mut self, root_der: &[u8]) -> Self {
        self.ecu_trust = Some(EcuTrust {
            root: root_der.to_vec(),
        });
        self
    }

    /// The algorithm set.
    pub fn algorithms(&self) -> AlgorithmSet {
        self.set
    }

    pub(crate) fn key(&self) -> &EcdsaSigningKey {
        &self.key
    }

    pub(crate) fn chain(&self) -> &[u8] {
        &self.chain
    }
}

enum Tx {
    Sep(Box<cse_sep::Transmitter>),
    Fsed(Box<cse_fsed::Transmitter>),
}

/// One SPDM connection: a responder and the peer it serves.
struct Connection<'a> {
    peer: Option<PeerId>,
    responder: Responder<'a, RustCrypto, EcdsaSigningKey>,
    /// When the peer last sent a request (a counter): a new peer replaces the least recently
    /// used connection that does not own the keys.
    used: u64,
}

/// The sensor endpoint.
///
/// It keeps [`SPDM_CONNECTIONS`] SPDM connections, one per peer ([`PeerId`]), as an MCTP
/// endpoint keeps SPDM state per requester: the connection whose session owns the stream and
/// CCISE keys, and a spare for any other peer. A peer without a connection gets the spare (a
/// new peer replaces the spare's previous one, whose connection is reset); it never gets the
/// key owner's. See [`Sensor::handle_spdm_from`] for what a session of another peer may do.
pub struct Sensor<'a> {
    conns: [Connection<'a>; SPDM_CONNECTIONS],
    /// The connection whose session the stream and CCISE keys belong to.
    owner: Option<usize>,
    /// Requests seen (the clock of [`Connection::used`]).
    requests: u64,
    profile: Profile,
    vc: VirtualChannel,
    regs: SimSensor<0x400>,
    cci: Option<Target>,
    /// The key generation of the CCISE target.
    cci_generation: u32,
    /// A key generation the SPDM session moved to whose CCISE switch waits for the first
    /// request under the new request key.
    cci_pending: Option<u32>,
    tx: Tx,
    /// (generation, key family suite, key id) of the active stream key.
    active: Option<(u32, keys::KeyProfile, KeyId)>,
    /// The SPDM session the stream and CCISE keys belong to.
    session_id: Option<u32>,
    frame_number: u16,
}

impl core::fmt::Debug for Sensor<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Sensor")
            .field("vc", &self.vc)
            .field("active", &self.active)
            .field("cci_generation", &self.cci_generation)
            .field("cci_pending", &self.cci_pending)
            .field("session_id", &self.session_id)
            .field("key_owner", &self.key_owner())
            .finish_non_exhaustive()
    }
}

/// A responder for `identity`: mutual authentication asked of every requester when the
/// identity trusts an ECU root (chains fetched into `chain_buf`).
fn responder<'a>(
    identity: &'a SensorIdentity,
    rng: &'a mut dyn RandomSource,
    chain_buf: &'a mut [u8],
) -> Result<Responder<'a, RustCrypto, EcdsaSigningKey>, LinkError> {
    let mut responder = Responder::new(
        RustCrypto,
        &identity.key,
        rng,
        ResponderConfig {
            algorithms: identity.set,
            cert_chain: &identity.chain,
            psk: None,
            handshake_in_the_clear: false,
            data_transfer_size: 1024,
        },
    )?;
    if let Some(trust) = &identity.ecu_trust {
        // Not mandatory: an ECU that cannot authenticate still gets a session (for
        // attestation), but no CCISE keys, so it can configure nothing.
        responder.set_mut_auth(MutAuthPolicy {
            mode: MutAuthMode::Certificate {
                verifier: trust,
                chain_buf,
            },
            mandatory: false,
        });
    }
    Ok(responder)
}

impl<'a> Sensor<'a> {
    /// A sensor with `identity`, streaming on `vc` with `protocol`; its SPDM connections
    /// borrow `memory`.
    ///
    /// # Errors
    /// [`LinkError::Spdm`] when the identity does not fit the responder.
    pub fn new(
        identity: &'a SensorIdentity,
        memory: &'a mut SensorMemory,
        protocol: Protocol,
        vc: VirtualChannel,
    ) -> Result<Self, LinkError> {
        let SensorMemory {
            rngs: [rng0, rng1],
            chain_bufs: [buf0, buf1],
        } = memory;
        let conns = [
            Connection {
                peer: None,
                responder: responder(identity, &mut **rng0, buf0)?,
                used: 0,
            },
            Connection {
                peer: None,
                responder: responder(identity, &mut **rng1, buf1)?,
                used: 0,
            },
        ];
        let tx = match protocol {
            Protocol::Sep => Tx::Sep(Box::new(cse_sep::Transmitter::new(
                cse_sep::Settings::new(vc),
                1,
            ))),
            Protocol::Fsed => Tx::Fsed(Box::new(cse_fsed::Transmitter::new(
                cse_fsed::Settings::new(vc),
                1,
            ))),
        };
        Ok(Sensor {
            conns,
            owner: None,
            requests: 0,
            profile: Profile::DRAFT_1,
            vc,
            regs: SimSensor::demo(),
            cci: None,
            cci_generation: 0,
            cci_pending: None,
            tx,
            active: None,
            session_id: None,
            frame_number: 0,
        })
    }

    /// Handles one SPDM request from [`PeerId::DEFAULT`]: [`Sensor::handle_spdm_from`].
    ///
    /// # Errors
    /// As [`Sensor::handle_spdm_from`].
    pub fn handle_spdm(&mut self, msg: &mut [u8], out: &mut [u8]) -> Result<usize, LinkError> {
        self.handle_spdm_from(PeerId::DEFAULT, msg, out)
    }

    /// Handles one SPDM request (MCTP message) from `peer` on that peer's SPDM connection and
    /// writes the response into `out`; derives the CCISE keys when a session whose requester
    /// authenticated is established.
    ///
    /// Keys live as long as the session that made them, and belong to one session at a time
    /// (the key owner, [`Sensor::key_owner`]): whenever that session ends or is reset
    /// (END_SESSION, the heartbeat timeout of [`Sensor::tick`], the owner peer's own
    /// GET_VERSION or new handshake), the stream and CCISE keys are dropped (zeroized) at
    /// once, together with the stream configuration that session wrote, and nothing more is
    /// protected until a new session is established and has configured the stream again
    /// ([`Sensor::transmit_frame`] then fails with [`LinkError::NotAuthenticated`] or
    /// [`LinkError::NotConfigured`]). A new session derives new keys from its own export
    /// master secret and id.
    ///
    /// Another peer has its own connection and session, which never touch the owner's:
    /// - a session whose requester did not authenticate (no mutual authentication) gets no
    ///   keys and changes nothing: the owner's session, keys, configuration and stream go on;
    ///   its GET_VERSION, END_SESSION or timeout ends only its own session;
    /// - a session whose requester authenticated (an ECU holding a certificate under the
    ///   trusted ECU root) takes over when it is established: the previous owner's session
    ///   ends (its connection is reset) and its keys and configuration are dropped first, then
    ///   the new session's CCISE keys are derived. There are never two key sets at once.
    ///
    /// After a KEY_UPDATE request moved the owner's session to a new key generation, the
    /// CCISE target moves to that generation (new keys, fresh counters, the old target
    /// dropped) when the next secured request opens under the new request key: VerifyNewKey,
    /// the request that confirms the new keys. The ECU switches on the response to that same
    /// request.
    ///
    /// # Errors
    /// [`LinkError::Spdm`] (requests that deserve an SPDM ERROR are answered, not errors).
    pub fn handle_spdm_from(
        &mut self,
        peer: PeerId,
        msg: &mut [u8],
        out: &mut [u8],
    ) -> Result<usize, LinkError> {
        let i = self.connection_for(peer);
        let secured = msg.first() == Some(&spdm_lite::record::MCTP_SECURED);
        let responder = &mut self.conns[i].responder;
        let before = responder.session().map(|s| (s.id(), s.key_generation()));
        let r = responder.handle(msg, out);
        // Whatever the result: a request may have ended the session (GET_VERSION resets the
        // connection before it answers).
        let now = responder.session().map(|s| {
            (
                s.id(),
                s.key_generation(),
                s.requester_auth().is_authenticated(),
            )
        });
        if self.owner == Some(i) {
            match now {
                Some((id, after, _)) if self.session_id == Some(id) => {
                    if before.map(|(_, g)| g) != Some(after) {
                        self.cci_pending = Some(after);
                    } else if r.is_ok() && secured && self.cci_pending == Some(after) {
                        self.switch_cci(after)?;
                    }
                }
                _ => {
                    // The owner's session is over: nothing of it survives.
                    self.drop_keys();
                    if let Some((id, generation, true)) = now {
                        self.take_keys(i, id, generation)?;
                    }
                }
            }
        } else if let Some((id, generation, true)) = now
            && before.map(|(id, _)| id) != Some(id)
        {
            // An authenticated ECU on another connection takes over: the previous owner's
            // session ends and its keys go before the new ones exist.
            if let Some(o) = self.owner {
                self.conns[o].responder.reset();
            }
            self.drop_keys();
            self.take_keys(i, id, generation)?;
        }
        Ok(r?)
    }

    /// The connection of `peer`: its own, else the least recently used one that does not own
    /// the keys, reset and handed to `peer`.
    fn connection_for(&mut self, peer: PeerId) -> usize {
        self.requests = self.requests.wrapping_add(1);
        let i = match self.conns.iter().position(|c| c.peer == Some(peer)) {
            Some(i) => i,
            None => {
                let spare = (0..SPDM_CONNECTIONS)
                    .filter(|&i| Some(i) != self.owner)
                    .min_by_key(|&i| (self.conns[i].peer.is_some(), self.conns[i].used))
                    .unwrap_or(0);
                let c = &mut self.conns[spare];
                // Nothing of the previous peer's connection is left to the new one.
                c.responder.reset();
                c.peer = Some(peer);
                spare
            }
        };
        self.conns[i].used = self.requests;
        i
    }

    /// Binds the keys to session `id` of connection `i` and derives its CCISE keys.
    fn take_keys(&mut self, i: usize, id: u32, generation: u32) -> Result<(), LinkError> {
        self.owner = Some(i);
        self.session_id = Some(id);
        self.switch_cci(generation)
    }

    /// The session that owns the stream and CCISE keys.
    fn owner_session(&self) -> Option<&Session> {
        let s = self.conns.get(self.owner?)?.responder.session()?;
        (Some(s.id()) == self.session_id).then_some(s)
    }

    /// The peer whose SPDM session owns the stream and CCISE keys (`None`: no keys).
    pub fn key_owner(&self) -> Option<PeerId> {
        self.owner_session()?;
        self.conns.get(self.owner?)?.peer
    }

    /// Whether `peer` has an established SPDM session with the sensor.
    pub fn has_session(&self, peer: PeerId) -> bool {
        self.conns
            .iter()
            .any(|c| c.peer == Some(peer) && c.responder.session().is_some())
    }

    /// Gives the sensor its firmware measurements: its SPDM responder then offers signed
    /// measurements (GET_MEASUREMENTS, measurement summary hashes). Call it before the
    /// handshake.
    pub fn set_firmware(&mut self, firmware: &'a dyn spdm_lite::measurements::MeasurementProvider) {
        for c in &mut self.conns {
            c.responder.set_measurements(firmware);
        }
    }

    /// Sets the SPDM HeartbeatPeriod (seconds; 0, the default, turns it off) offered to the
    /// ECU in the next session's KEY_EXCHANGE_RSP.
    pub fn set_heartbeat_period(&mut self, seconds: u8) {
        for c in &mut self.conns {
            c.responder.set_heartbeat_period(seconds);
        }
    }

    /// Gives the sensor the time (milliseconds of a monotonic clock). When a peer let more
    /// than twice the HeartbeatPeriod pass without a secured request, its SPDM session ends;
    /// if that session owned the stream and CCISE keys, they are dropped at once, as after
    /// END_SESSION. Call it before [`Sensor::handle_spdm`] and periodically. Returns `true` if
    /// this call ended a session.
    pub fn tick(&mut self, now_ms: u64) -> bool {
        let mut ended = false;
        let mut owner_ended = false;
        for (i, c) in self.conns.iter_mut().enumerate() {
            if c.responder.tick(now_ms) {
                ended = true;
                owner_ended |= self.owner == Some(i);
            }
        }
        if owner_ended {
            self.drop_keys();
        }
        ended
    }

    /// Drops (and so zeroizes) every stream and CCISE key and the stream configuration the
    /// session wrote: the session they belong to is over.
    fn drop_keys(&mut self) {
        match &mut self.tx {
            Tx::Sep(tx) => tx.clear_keys(),
            Tx::Fsed(tx) => tx.clear_keys(),
        }
        self.active = None;
        self.cci = None;
        self.cci_pending = None;
        self.cci_generation = 0;
        self.session_id = None;
        self.owner = None;
        // "config valid" cleared: the next session configures the stream itself.
        let _ = self.regs.poke(registers::STREAM_CONFIG, 0);
    }

    /// Whether the sensor holds any stream or CCISE key (none without a live session).
    pub fn holds_keys(&self) -> bool {
        let stream = match &self.tx {
            Tx::Sep(tx) => tx.has_keys(),
            Tx::Fsed(tx) => tx.has_keys(),
        };
        stream || self.cci.is_some()
    }

    /// Whether the SPDM session of [`PeerId::DEFAULT`] authenticated its requester:
    /// [`Sensor::peer_authenticated`].
    pub fn requester_authenticated(&self) -> bool {
        self.peer_authenticated(PeerId::DEFAULT)
    }

    /// Whether `peer` has an SPDM session whose requester (the ECU) authenticated: mutual
    /// authentication (or a PSK). Only such a session gets CCISE keys, so only it can
    /// configure the sensor.
    pub fn peer_authenticated(&self, peer: PeerId) -> bool {
        self.conns.iter().any(|c| {
            c.peer == Some(peer)
                && c.responder
                    .session()
                    .is_some_and(|s| s.requester_auth().is_authenticated())
        })
    }

    /// Replaces the CCISE target by one under the keys of `generation` (counters from 1); a
    /// session whose requester did not authenticate gets none.
    fn switch_cci(&mut self, generation: u32) -> Result<(), LinkError> {
        let s = self.owner_session().ok_or(LinkError::NotAuthenticated)?;
        if !s.requester_auth().is_authenticated() {
            self.cci = None;
            self.cci_pending = None;
            return Ok(());
        }
        let keys = keys::ccise_keys(s.export_master_secret(), &self.profile, generation)?;
        let config = keys::ccise_config(&self.profile, generation);
        self.cci = Some(Target::new(config, keys)?);
        self.cci_generation = generation;
        self.cci_pending = None;
        Ok(())
    }

    /// The key generation of the CCISE channel (see [`Sensor::handle_spdm_from`]).
    pub fn cci_generation(&self) -> u32 {
        self.cci_generation
    }

    /// The counter of the last CCISE write the sensor accepted under the current keys
    /// (`None`: no keys, or none accepted yet). A refused write leaves it unchanged.
    pub fn cci_last_counter(&self) -> Option<u32> {
        self.cci.as_ref()?.last_counter()
    }

    /// Verifies and applies one protected CCI write (all or nothing) under the CCISE keys of
    /// the session that owns them ([`Sensor::key_owner`]). The CCI bus (I2C) carries no
    /// sender identity: whoever put the write on the bus, it is checked under those keys
    /// only, so a write sealed under the keys of another peer's session does not verify.
    ///
    /// # Errors
    /// [`LinkError::NotAuthenticated`] while no session whose ECU authenticated
    /// ([`Sensor::peer_authenticated`]) owns the keys; [`LinkError::Cci`] for a forged,
    /// replayed or malformed write, or one sealed under another session's keys (nothing
    /// applied, the CCISE counters unchanged).
    pub fn handle_cci_write(&mut self, frame: &[u8]) -> Result<(), LinkError> {
        let cci = self.cci.as_mut().ok_or(LinkError::NotAuthenticated)?;
        let _accepted = cci.handle_write(frame, &mut self.regs)?;
        Ok(())
    }

    /// The register map (read-only view).
    pub fn registers(&self) -> &SimSensor<0x400> {
        &self.regs
    }

    /// The register map, bypassing CCISE: a fault or a compromised sensor firmware (used by the
    /// demo's SV-downgrade attack). A genuine integration has no such path.
    pub fn registers_backdoor(&mut self) -> &mut SimSensor<0x400> {
        &mut self.regs
    }

    /// The stream configuration the registers hold now, with the key id of the active stream
    /// key (0 before the first frame).
    ///
    /// # Errors
    /// As [`registers::decode`]; [`LinkError::NotAuthenticated`] without a session.
    pub fn stream_config(&self) -> Result<FrameConfig, LinkError> {
        self.generation()?;
        let at = usize::from(registers::STREAM_CONFIG);
        let id = self.active.map(|(_, _, id)| id).unwrap_or_default();
        registers::decode(
            &self.profile,
            self.regs.registers().get(at..).unwrap_or(&[]),
            id,
        )
    }

    fn generation(&self) -> Result<u32, LinkError> {
        Ok(self
            .owner_session()
            .ok_or(LinkError::NotAuthenticated)?
            .key_generation())
    }

    /// Configures the transmitter for the next frame from the registers, and switches to a new
    /// key generation if the SPDM session has one (a frame boundary). The new key goes into
    /// the idle slot under the key id the slots give ([`cse_sep::Transmitter::next_key_id`]:
    /// the one after the active key's), never the active one.
    fn begin_frame(&mut self) -> Result<(), LinkError> {
        let mut config = self.stream_config()?;
        let family = keys::KeyProfile::of(&config);
        let generation = self.generation()?;
        let switch = match self.active {
            None => true,
            Some((g, fam, _)) => {
                if g == generation && !fam.same_kind(&family) {
                    return Err(LinkError::KeyFamilyChanged);
                }
                g != generation
            }
        };
        if switch {
            let s = self.owner_session().ok_or(LinkError::NotAuthenticated)?;
            let m = keys::stream_material(
                s.export_master_secret(),
                &self.profile,
                self.vc,
                generation,
                &family,
            )?;
            let id = match &mut self.tx {
                Tx::Sep(tx) => {
                    let _ = tx.retire_key();
                    let id = tx.next_key_id();
                    tx.install_key(id, m)?;
                    id
                }
                Tx::Fsed(tx) => {
                    let _ = tx.retire_key();
                    let id = tx.next_key_id();
                    tx.install_key(id, m)?;
                    id
                }
            };
            self.active = Some((generation, family, id));
        }
        config.key_id = self.active.map(|(_, _, id)| id).unwrap_or_default();
        match &mut self.tx {
            Tx::Sep(tx) => tx.set_config(config)?,
            Tx::Fsed(tx) => tx.set_config(config)?,
        }
        Ok(())
    }

    /// Protects one frame of original packets (`originals`: FS..FE, concatenated) and appends
    /// what goes on the wire to `wire`. The configuration comes from the registers, read at the
    /// frame start.
    ///
    /// # Errors
    /// [`LinkError::NotAuthenticated`] without a session (nothing is written to `wire`);
    /// [`LinkError::NotConfigured`] before the session's ECU configured the stream;
    /// transmitter errors.
    pub fn transmit_frame(
        &mut self,
        originals: &[u8],
        wire: &mut Vec<u8>,
    ) -> Result<(), LinkError> {
        self.begin_frame()?;
        self.frame_number = self.frame_number.wrapping_add(1);
        let mut ins = [0u8; cse_fsed::tx::MAX_INSERTED_LEN];
        for p in Packets::new(originals, HeaderForm::Dphy) {
            let p = p.map_err(|e| LinkError::Framing(e.error))?;
            let raw = p.raw;
            match &mut self.tx {
                Tx::Sep(tx) => {
                    // Protected straight into the wire buffer, behind what is there: the
                    // packet's room is zeroed by `resize` and cut back to what was written
                    // (nothing, on an error). An SEP packet is at most `SEP_ROOM` bytes longer
                    // than its original, except at a frame start or where close records go
                    // before it: those ask for more (`BufferTooSmall`, which writes and moves
                    // nothing), and get it.
                    let start = wire.len();
                    let mut room = raw.len() + SEP_ROOM;
                    let r = loop {
                        wire.resize(start + room, 0);
                        let slot = wire.get_mut(start..).unwrap_or_default();
                        // The iterator has decoded the header and checked the CRC-16: protect
                        // the decoded packet (what `protect(raw)` would parse again).
                        match tx.protect_repr(&p.repr, p.payload, slot) {
                            Err(cse_sep::SepError::Config(ConfigError::BufferTooSmall {
                                needed,
                                ..
                            })) if needed > room => room = needed,
                            r => break r,
                        }
                    };
                    match r {
                        Ok(r) => wire.truncate(start + r.len),
                        Err(e) => {
                            wire.truncate(start);
                            return Err(e.into());
                        }
                    }
                }
                Tx::Fsed(tx) => {
                    let r = {
                        // Protected in place (SV-1 encrypts the payload): work on the copy
                        // that goes on the wire.
                        let mut pkt = raw.to_vec();
                        let r = tx.protect(&mut pkt, &mut ins)?;
                        wire.extend_from_slice(r.before(&ins));
                        wire.extend_from_slice(&pkt);
                        r
                    };
                    wire.extend_from_slice(r.after(&ins));
                }
            }
        }
        Ok(())
    }
}
