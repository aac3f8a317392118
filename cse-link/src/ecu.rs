//! The controller side: SPDM requester, CCISE controller, SEP or FSED receiver with a policy.

use ccise::Controller;
use cse_core::csi2::{DataType, HeaderForm, Packets, VirtualChannel};
use cse_core::{FrameConfig, FusaError, KeyId, Policy, Profile, SecurityError};
use spdm_lite::cert::ChainVerifier;
use spdm_lite::crypto::{AlgorithmSet, EcdsaSigningKey, RandomSource, RustCrypto};
use spdm_lite::msgs::key_update::KeyUpdateOp;
use spdm_lite::mut_auth::{RequesterIdentity, spki_from_point};
use spdm_lite::requester::{
    Auth, Requester, RequesterConfig, RequesterSession, SessionEvent, Status,
};

use crate::attest::{AttestError, MeasurementPolicy};
use crate::fsed_sync::SyncBinder;
use crate::{LinkError, Protocol, keys, registers};

/// Size of the SPDM message buffers.
pub(crate) const SPDM_BUF: usize = 4096;

/// What the ECU's receiver found in a frame, by kind. Security and functional-safety findings
/// stay distinct.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Finding {
    /// A tag did not verify (security).
    AuthFailed,
    /// A scope's tag record failed or never came: its packets were discarded (security).
    ScopeFailed,
    /// A replayed or reordered packet or frame counter (security).
    Replay,
    /// A frame configuration below the ECU's policy (security).
    Downgrade,
    /// An unknown key id or an exhausted key (security).
    Key,
    /// A CRC-16 or CRC-32 mismatch (functional safety).
    Crc,
    /// Lost messages or frames (functional safety).
    Loss,
    /// Messages or frames out of order or duplicated (functional safety).
    Order,
    /// A malformed packet or one that does not fit the frame state.
    Protocol,
    /// The frame did not complete cleanly.
    NotClean,
}

impl Finding {
    /// A short name for tables.
    pub fn name(self) -> &'static str {
        match self {
            Finding::AuthFailed => "tag mismatch",
            Finding::ScopeFailed => "scope failed",
            Finding::Replay => "replay",
            Finding::Downgrade => "downgrade",
            Finding::Key => "key",
            Finding::Crc => "CRC",
            Finding::Loss => "loss",
            Finding::Order => "order",
            Finding::Protocol => "protocol",
            Finding::NotClean => "frame not clean",
        }
    }

    fn from_security(e: &SecurityError) -> Self {
        match e {
            SecurityError::AuthFailed => Finding::AuthFailed,
            SecurityError::Replay { .. } => Finding::Replay,
            SecurityError::Downgrade(_) => Finding::Downgrade,
            _ => Finding::Key,
        }
    }

    fn from_fusa(e: &FusaError) -> Self {
        match e {
            FusaError::Crc32Mismatch { .. } | FusaError::Crc16Mismatch { .. } => Finding::Crc,
            FusaError::FrameLoss { .. } | FusaError::MessageLoss { .. } => Finding::Loss,
            _ => Finding::Order,
        }
    }

    fn from_sep(e: &cse_sep::SepError) -> Self {
        use cse_sep::SepError as E;
        match e {
            E::Security(s) => Self::from_security(s),
            E::Fusa(f) => Self::from_fusa(f),
            E::ScopeFailed(_) => Finding::ScopeFailed,
            _ => Finding::Protocol,
        }
    }

    fn from_fsed(e: &cse_fsed::FsedError) -> Self {
        use cse_fsed::FsedError as E;
        match e {
            E::Security(s) => Self::from_security(s),
            E::Fusa(f) => Self::from_fusa(f),
            E::ScopeFailed(_) => Finding::ScopeFailed,
            _ => Finding::Protocol,
        }
    }
}

/// The ECU's verdict on one frame.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FrameReport {
    /// The frame counter, once a frame start was accepted.
    pub frame_counter: Option<u32>,
    /// Every packet of the frame verified (or was allowed unprotected by the policy), the frame
    /// completed, and nothing was rejected.
    pub clean: bool,
    /// Wire packets received.
    pub packets_in: usize,
    /// Original packets released as authentic.
    pub released: usize,
    /// Findings, in the order they occurred (deduplicated).
    pub findings: Vec<Finding>,
    /// The sensor switched to a new key generation at this frame.
    pub key_rollover: bool,
    /// The receiver reported a key soft limit (`NeedsRekey` or `NeedsRestart`): run a
    /// KEY_UPDATE (or a new session) soon. Not a finding: the frame may still be clean.
    pub needs_rekey: bool,
    /// What the receiver reported during this call about earlier frames, by frame counter
    /// (deduplicated, in order): an earlier frame given up when this frame started because its
    /// end never came ([`Finding::NotClean`]), and its scopes that never verified
    /// ([`Finding::ScopeFailed`]). They are not charged to this frame: `findings` and `clean`
    /// are about this frame only. The earlier frame's own report already said it was not
    /// clean (it had not completed by the end of its call).
    pub earlier: Vec<(u32, Finding)>,
}

impl FrameReport {
    fn note(&mut self, f: Finding) {
        if !self.findings.contains(&f) {
            self.findings.push(f);
        }
    }

    /// Notes `f` against frame `fc`: in `findings` when `fc` is this report's frame (its frame
    /// start was accepted in this call), in `earlier` otherwise.
    fn note_for(&mut self, fc: u32, f: Finding) {
        if self.frame_counter == Some(fc) {
            self.note(f);
        } else if !self.earlier.contains(&(fc, f)) {
            self.earlier.push((fc, f));
        }
    }
}

/// What the ECU does after one receiver event besides noting it in the report.
enum AfterEvent {
    Nothing,
    /// Drop the held packets of a failed scope.
    DropScope(cse_core::rx::ScopeId),
    /// The new key is active: retire the old one.
    RetireKey,
}

/// Notes one receiver event (SEP and FSED share the event type) in the frame report: the
/// frame it names gets the finding (another frame's go to `earlier`), the frame start sets the
/// report's frame counter and key, `FrameComplete` of this frame sets `complete`.
fn on_event(
    rep: &mut FrameReport,
    ev: cse_core::rx::Event,
    complete: &mut Option<bool>,
    frame_key: &mut Option<KeyId>,
) -> AfterEvent {
    use cse_core::rx::Event;
    match ev {
        Event::FrameStart {
            frame_counter,
            config,
        } => {
            rep.frame_counter = Some(frame_counter);
            *frame_key = Some(config.key_id);
        }
        Event::FrameComplete {
            frame_counter,
            clean,
            ..
        } => {
            if rep.frame_counter == Some(frame_counter) {
                *complete = Some(clean);
            } else if !clean {
                rep.note_for(frame_counter, Finding::NotClean);
            }
        }
        Event::FrameAbandoned { frame_counter } => {
            rep.note_for(frame_counter, Finding::NotClean);
        }
        Event::ScopeFailed(f) => {
            rep.note_for(f.scope.frame_counter, Finding::ScopeFailed);
            return AfterEvent::DropScope(f.scope);
        }
        Event::KeyRollover { .. } => {
            rep.key_rollover = true;
            return AfterEvent::RetireKey;
        }
        Event::Fusa(f) => rep.note(Finding::from_fusa(&f)),
        Event::NeedsRekey { .. } | Event::NeedsRestart { .. } => rep.needs_rekey = true,
        _ => rep.note(Finding::NotClean),
    }
    AfterEvent::Nothing
}

enum Rx {
    Sep(Box<cse_sep::Receiver>),
    Fsed(Box<cse_fsed::Receiver>),
}

enum Peer<'a> {
    Handshake(Box<Requester<'a, RustCrypto>>),
    Session(Box<RequesterSession<RustCrypto>>),
    /// The session ended (END_SESSION): its secrets and every key derived from them are gone.
    Ended,
    Failed,
}

/// A receiver without keys. A frame's packets all arrive within one `receive_frame` call:
/// time is counted in frames, and a frame that does not finish by the next one times out.
fn receiver(protocol: Protocol, vc: VirtualChannel, policy: Policy) -> Rx {
    match protocol {
        Protocol::Sep => Rx::Sep(Box::new(cse_sep::Receiver::new(
            cse_sep::Settings::new(vc),
            policy,
            u64::MAX / 4,
        ))),
        Protocol::Fsed => Rx::Fsed(Box::new(cse_fsed::Receiver::new(
            cse_fsed::Settings::new(vc),
            policy,
            u64::MAX / 4,
        ))),
    }
}

/// The ECU's SPDM identity for mutual authentication: its certificate chain (SPDM format,
/// leaf with the SPDM requester-auth EKU), its signing key and that key's
/// SubjectPublicKeyInfo.
pub struct EcuIdentity {
    chain: Vec<u8>,
    key: EcdsaSigningKey,
    spki: Vec<u8>,
}

impl core::fmt::Debug for EcuIdentity {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("EcuIdentity")
            .field("chain_len", &self.chain.len())
            .finish_non_exhaustive()
    }
}

impl EcuIdentity {
    /// From concatenated DER certificates (root first, leaf last), the root's DER and the
    /// leaf's SEC1 DER private key, for algorithm set `set`.
    ///
    /// # Errors
    /// [`LinkError::Spdm`] for a key or chain that does not parse.
    pub fn from_der(
        set: AlgorithmSet,
        certs: &[u8],
        root: &[u8],
        key: &[u8],
    ) -> Result<Self, LinkError> {
        let mut chain = vec![0u8; certs.len() + 64];
        let n = spdm_lite::cert::encode_spdm_chain(&RustCrypto, set.hash, root, certs, &mut chain)?;
        chain.truncate(n);
        let key = EcdsaSigningKey::from_sec1_der(set.asym, key)?;
        let mut point = [0u8; 97];
        let p = key.public_key_sec1(&mut point)?;
        let mut spki = [0u8; 128];
        let s = spki_from_point(set.asym, &point[..p], &mut spki)
            .ok_or(spdm_lite::Error::Negotiation)?;
        Ok(EcuIdentity {
            chain,
            key,
            spki: spki[..s].to_vec(),
        })
    }
}

/// The ECU endpoint.
///
/// Its stream and CCISE keys live as long as its SPDM session: after END_SESSION
/// ([`crate::end_session`]) it holds none and protects or accepts nothing more; a new
/// authentication needs a new `Ecu` (its requester starts again with GET_VERSION).
pub struct Ecu<'a> {
    peer: Peer<'a>,
    /// The ECU's transport address, as the sensor sees it.
    address: crate::PeerId,
    profile: Profile,
    vc: VirtualChannel,
    cci: Option<Controller>,
    /// The key generation of the CCISE controller.
    cci_generation: u32,
    /// A key generation the SPDM session moved to whose CCISE switch waits for the first
    /// exchange under the new request key.
    cci_pending: Option<u32>,
    rx: Rx,
    /// What a new receiver is made of (after the session ended, a fresh one holds no key).
    protocol: Protocol,
    policy: Policy,
    /// The key generation installed in the receiver, and the key family.
    installed: Option<(u32, keys::KeyProfile)>,
    /// The key id of the last frame the receiver accepted: the sensor's active key id.
    rx_active: Option<KeyId>,
    /// Reused by [`Ecu::receive_frame`]: where each released packet is in its output.
    released: Vec<(u32, usize, usize)>,
    /// Reference values the sensor's measurements must meet (`None`: no attestation).
    meas_policy: Option<MeasurementPolicy>,
    /// The sensor's measurements passed the policy in this session.
    attested: bool,
    /// The other responders of the link (serializer, deserializer).
    aux: Vec<AuxResponder<'a>>,
}

/// Another responder on the link (a serializer or deserializer bridge): its own SPDM
/// session, certificate chain, measurements and policy. The link keys come from the sensor's
/// session only; a bridge that fails refuses the whole link.
struct AuxResponder<'a> {
    name: String,
    peer: Peer<'a>,
    policy: Option<MeasurementPolicy>,
    attested: bool,
}

impl AuxResponder<'_> {
    fn ready(&self) -> bool {
        matches!(self.peer, Peer::Session(_)) && (self.policy.is_none() || self.attested)
    }
}

/// Writes a signed GET_MEASUREMENTS for every block (fresh nonce) in `peer`'s session.
fn measurement_request(peer: &mut Peer<'_>, out: &mut [u8]) -> Result<usize, LinkError> {
    use spdm_lite::crypto::RandomSource as _;
    let Peer::Session(s) = peer else {
        return Err(LinkError::NotAuthenticated);
    };
    if !s.has_measurements() {
        return Err(AttestError::NoMeasurements.into());
    }
    let mut nonce = [0u8; 32];
    crate::OsRandom.fill(&mut nonce)?;
    let req = spdm_lite::requester::MeasurementRequest {
        operation: spdm_lite::msgs::measurements::OP_ALL,
        nonce: Some(nonce),
    };
    Ok(s.write_get_measurements(&req, out)?)
}

/// Verifies a MEASUREMENTS (record, signature over L1/L2, block structure), on the first
/// attestation of the session also against the handshake's measurement summary hash, and
/// judges the blocks with `policy`. Any failure fails `peer` (its session is dropped).
fn judge(
    peer: &mut Peer<'_>,
    policy: &MeasurementPolicy,
    first: bool,
    rec: &mut [u8],
) -> Result<(), LinkError> {
    let Peer::Session(s) = peer else {
        return Err(LinkError::NotAuthenticated);
    };
    let r = match s.handle_measurements(rec) {
        Ok(m) => {
            let summary = if first {
                s.check_measurement_summary(&m, &crate::attest::is_tcb)
                    .map_err(|_| AttestError::SummaryMismatch)
            } else {
                Ok(())
            };
            summary
                .and_then(|()| policy.check(m.blocks()))
                .map_err(LinkError::from)
        }
        Err(e) => Err(e.into()),
    };
    if r.is_err() {
        *peer = Peer::Failed;
    }
    r
}

impl core::fmt::Debug for Ecu<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Ecu")
            .field("peer", &self.address)
            .field("vc", &self.vc)
            .field("installed", &self.installed)
            .field("cci_generation", &self.cci_generation)
            .field("cci_pending", &self.cci_pending)
            .finish_non_exhaustive()
    }
}

struct Held {
    bytes: Vec<u8>,
    index: u32,
    encrypted: bool,
    sep: Option<(cse_sep::DecryptTicket, cse_sep::ScopeId)>,
    fsed: Option<(cse_fsed::DecryptTicket, cse_fsed::ScopeId)>,
}

/// The CSI-2 header (D-PHY form, ECC included) an original FSED packet is released with,
/// rebuilt from the values the receiver decoded and the tag authenticated: the stream's
/// virtual channel, the data type and the word count (for FS and FE, the frame number the
/// frame header binds).
///
/// FSED forwards original packets as they arrived, so a single-bit header error that the ECC
/// corrected is still in their bytes, while the tag verified the corrected values. Released as
/// received, such a packet would carry a header that is not the authenticated one (another
/// virtual channel, another frame number) to a consumer that does not correct the ECC itself.
/// Released with this header, it is the sensor's packet, bit-exact. `None` when the values
/// make no header (not for a packet the receiver accepted): release nothing then.
pub(crate) fn fsed_header(vc: VirtualChannel, dt: DataType, wc: u16) -> Option<[u8; 4]> {
    let repr = cse_core::csi2::Repr {
        vc,
        data_type: dt,
        word_count: wc,
    };
    repr.header_bytes(HeaderForm::Dphy).ok()
}

/// The data type of an FS (`start`) or FE.
pub(crate) fn sync_type(start: bool) -> DataType {
    if start { DataType::FS } else { DataType::FE }
}

/// `bytes` (an original FSED packet) with its header replaced by `header` (see
/// [`fsed_header`]); `None` when either is missing or `bytes` is shorter than a header.
pub(crate) fn with_header(bytes: &[u8], header: Option<[u8; 4]>) -> Option<Vec<u8>> {
    let header = header?;
    let mut b = bytes.to_vec();
    b.get_mut(..header.len())?.copy_from_slice(&header);
    Some(b)
}

/// What one SEP packet gave [`Ecu::receive_frame`], detached from the output buffer.
enum Got {
    /// An original packet of `len` bytes, written at the end of the released ones.
    InPlace(u32, usize),
    Held(Held),
    SepScope(cse_sep::ScopeProof),
    Finding(Finding),
    Nothing,
}

/// The original packets one frame releases: written one after the other into the caller's
/// buffer as they are released, with the message index and place of each; put in message
/// order by [`Release::finish`].
struct Release<'b> {
    out: &'b mut Vec<u8>,
    /// Bytes of `out` holding released packets.
    filled: usize,
    /// Message index, start and end in `out` of each released packet, in release order.
    spans: Vec<(u32, usize, usize)>,
}

impl<'b> Release<'b> {
    /// Starts on `out` (its contents are dropped), reusing `spans`' allocation.
    fn new(out: &'b mut Vec<u8>, mut spans: Vec<(u32, usize, usize)>) -> Self {
        spans.clear();
        Release {
            out,
            filled: 0,
            spans,
        }
    }

    /// At least `n` writable bytes after the released packets. `out` keeps its length from
    /// frame to frame (it is cut at [`Release::finish`]), so it grows, with zeros, only past
    /// the longest frame so far.
    fn room(&mut self, n: usize) -> &mut [u8] {
        let need = self.filled.saturating_add(n);
        if self.out.len() < need {
            self.out.resize(need, 0);
        }
        self.out.get_mut(self.filled..).unwrap_or_default()
    }

    /// Releases the `len` bytes written at the start of [`Release::room`].
    fn commit(&mut self, index: u32, len: usize) {
        let end = self.filled.saturating_add(len).min(self.out.len());
        self.spans.push((index, self.filled, end));
        self.filled = end;
    }

    /// Releases a copy of `bytes`.
    fn push(&mut self, index: u32, bytes: &[u8]) {
        let dst = self.room(bytes.len());
        if let Some(d) = dst.get_mut(..bytes.len()) {
            d.copy_from_slice(bytes);
            self.commit(index, bytes.len());
        }
    }

    /// Releases a copy of `bytes` with its first 4 bytes (the CSI-2 header) replaced by
    /// `header` (see [`fsed_header`]). Nothing is released when `bytes` is shorter than a
    /// header.
    fn push_headed(&mut self, index: u32, bytes: &[u8], header: [u8; 4]) {
        if bytes.len() < header.len() {
            return;
        }
        let dst = self.room(bytes.len());
        if let Some(d) = dst.get_mut(..bytes.len()) {
            d.copy_from_slice(bytes);
            if let Some(h) = d.get_mut(..header.len()) {
                h.copy_from_slice(&header);
            }
            self.commit(index, bytes.len());
        }
    }

    /// Cuts `out` to the released packets, in message order (a stable sort: packets with the
    /// same index stay in release order), and returns the span list for reuse.
    fn finish(self) -> Vec<(u32, usize, usize)> {
        let Release {
            out,
            filled,
            mut spans,
        } = self;
        out.truncate(filled);
        if !spans.is_sorted_by_key(|s| s.0) {
            spans.sort_by_key(|s| s.0);
            let arrived = out.clone();
            out.clear();
            for &(_, a, b) in &spans {
                out.extend_from_slice(arrived.get(a..b).unwrap_or_default());
            }
        }
        spans
    }
}

impl<'a> Ecu<'a> {
    /// An ECU that authenticates sensors with `verifier` (chains collected in `chain_buf`),
    /// offers `algorithms`, and receives `protocol` on `vc` under `policy`. With `identity`
    /// (the normal case) it takes part in mutual authentication when the sensor asks for it;
    /// without, a sensor that requires it gives the session no configuration rights.
    ///
    /// # Errors
    /// [`LinkError::Spdm`] for an invalid requester configuration.
    // The ECU's identity is an argument, not a builder step, so that leaving it out is a
    // visible choice (`None`) at every construction.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        rng: &'a mut dyn RandomSource,
        verifier: &'a dyn ChainVerifier,
        chain_buf: &'a mut [u8],
        algorithms: &'a [AlgorithmSet],
        protocol: Protocol,
        vc: VirtualChannel,
        policy: Policy,
        identity: Option<&'a EcuIdentity>,
    ) -> Result<Self, LinkError> {
        let mut requester = Requester::new(
            RustCrypto,
            rng,
            RequesterConfig {
                algorithms,
                handshake_in_the_clear: false,
                data_transfer_size: 1024,
            },
            Auth::Certificate {
                verifier,
                chain_buf,
                challenge: true,
            },
        )?;
        if let Some(id) = identity {
            requester = requester.with_mutual_auth(RequesterIdentity {
                signer: &id.key,
                cert_chain: &id.chain,
                public_key: Some(&id.spki),
            });
        }
        Ok(Ecu {
            peer: Peer::Handshake(Box::new(requester)),
            address: crate::PeerId::DEFAULT,
            profile: Profile::DRAFT_1,
            vc,
            cci: None,
            cci_generation: 0,
            cci_pending: None,
            rx: receiver(protocol, vc, policy),
            protocol,
            policy,
            installed: None,
            rx_active: None,
            released: Vec::new(),
            meas_policy: None,
            attested: false,
            aux: Vec::new(),
        })
    }

    /// The ECU at transport address `peer` (its MCTP endpoint ID; [`crate::PeerId::DEFAULT`]
    /// unless set): the sensor keeps its SPDM connection under that address, and the drivers
    /// of this crate ([`crate::handshake`], [`crate::configure`], ...) deliver its requests
    /// with [`crate::Sensor::handle_spdm_from`]`(ecu.peer(), ..)`.
    #[must_use]
    pub fn with_peer(mut self, peer: crate::PeerId) -> Self {
        self.address = peer;
        self
    }

    /// The ECU's transport address ([`Ecu::with_peer`]).
    pub fn peer(&self) -> crate::PeerId {
        self.address
    }

    /// Requires the sensor to attest its firmware: the handshake asks for a measurement summary
    /// hash (all blocks) in CHALLENGE_AUTH and KEY_EXCHANGE_RSP, and after the handshake the
    /// link stays closed (no CCISE keys, no stream configuration) until a signed MEASUREMENTS
    /// matches that hash and `policy` ([`crate::attest`](mod@crate::attest), [`Ecu::handle_measurement_response`]).
    /// Call it before the handshake.
    ///
    /// # Errors
    /// [`LinkError::UnexpectedResponse`] once the handshake has started answering.
    pub fn set_measurement_policy(&mut self, policy: MeasurementPolicy) -> Result<(), LinkError> {
        let Peer::Handshake(r) = &mut self.peer else {
            return Err(LinkError::UnexpectedResponse);
        };
        r.set_measurement_summary(spdm_lite::measurements::SummaryType::All);
        self.meas_policy = Some(policy);
        Ok(())
    }

    /// Whether a measurement policy is set.
    pub fn has_measurement_policy(&self) -> bool {
        self.meas_policy.is_some()
    }

    /// Whether the sensor's measurements passed the policy in this session.
    pub fn is_attested(&self) -> bool {
        self.attested
    }

    /// Writes a signed GET_MEASUREMENTS (all blocks, fresh nonce) into the sensor's session:
    /// the first attestation after the handshake, or a re-measurement at run time.
    ///
    /// # Errors
    /// [`LinkError::NotAuthenticated`] without a session; [`AttestError::NoMeasurements`];
    /// [`LinkError::Spdm`].
    pub fn write_measurement_request(&mut self, out: &mut [u8]) -> Result<usize, LinkError> {
        measurement_request(&mut self.peer, out)
    }

    /// Handles the sensor's MEASUREMENTS: verifies it, checks the summary hash (first time)
    /// and the policy. On success the first time, the CCISE keys are derived and the link
    /// opens. On any failure (also at a run-time re-measurement) the sensor is refused: its
    /// session is dropped with every stream and CCISE key, and the link stays closed.
    ///
    /// # Errors
    /// [`LinkError::Attestation`] (mismatch, rollback, summary), [`LinkError::Spdm`] (a
    /// signature or record that does not verify).
    pub fn handle_measurement_response(&mut self, rec: &mut [u8]) -> Result<(), LinkError> {
        let policy = self
            .meas_policy
            .clone()
            .ok_or(AttestError::NoMeasurements)?;
        if let Err(e) = judge(&mut self.peer, &policy, !self.attested, rec) {
            self.drop_keys();
            self.attested = false;
            return Err(e);
        }
        if !self.attested {
            self.attested = true;
            self.start_cci()?;
        }
        Ok(())
    }

    /// Adds another responder of the link (a serializer or deserializer bridge) with its own
    /// chain verifier, chain buffer and (optionally) measurement policy; returns its id for
    /// [`Ecu::write_spdm_request_to`] and friends. The link opens only once the sensor and
    /// every added responder are authenticated (and attested where a policy is set).
    ///
    /// # Errors
    /// [`LinkError::Spdm`] for an invalid requester configuration.
    pub fn add_responder(
        &mut self,
        name: &str,
        rng: &'a mut dyn RandomSource,
        verifier: &'a dyn ChainVerifier,
        chain_buf: &'a mut [u8],
        algorithms: &'a [AlgorithmSet],
        policy: Option<MeasurementPolicy>,
    ) -> Result<usize, LinkError> {
        let mut requester = Requester::new(
            RustCrypto,
            rng,
            RequesterConfig {
                algorithms,
                handshake_in_the_clear: false,
                data_transfer_size: 1024,
            },
            Auth::Certificate {
                verifier,
                chain_buf,
                challenge: true,
            },
        )?;
        if policy.is_some() {
            requester.set_measurement_summary(spdm_lite::measurements::SummaryType::All);
        }
        self.aux.push(AuxResponder {
            name: name.to_owned(),
            peer: Peer::Handshake(Box::new(requester)),
            policy,
            attested: false,
        });
        Ok(self.aux.len() - 1)
    }

    /// The name of responder `id`.
    pub fn responder_name(&self, id: usize) -> Option<&str> {
        self.aux.get(id).map(|a| a.name.as_str())
    }

    fn aux(&mut self, id: usize) -> Result<&mut AuxResponder<'a>, LinkError> {
        self.aux.get_mut(id).ok_or(LinkError::UnexpectedResponse)
    }

    /// Refuses the link because responder `id` failed: every link key goes.
    fn refuse_aux(&mut self, id: usize) {
        if let Some(a) = self.aux.get_mut(id) {
            a.peer = Peer::Failed;
            a.attested = false;
        }
        self.drop_keys();
    }

    /// Writes the next SPDM handshake request to responder `id`.
    ///
    /// # Errors
    /// As [`Ecu::write_spdm_request`].
    pub fn write_spdm_request_to(&mut self, id: usize, out: &mut [u8]) -> Result<usize, LinkError> {
        match &mut self.aux(id)?.peer {
            Peer::Handshake(r) => Ok(r.write_request(out)?),
            _ => Err(LinkError::UnexpectedResponse),
        }
    }

    /// Handles responder `id`'s SPDM handshake response; `true` once its session is
    /// established. A failure refuses the link.
    ///
    /// # Errors
    /// As [`Ecu::handle_spdm_response`].
    pub fn handle_spdm_response_from(
        &mut self,
        id: usize,
        msg: &mut [u8],
    ) -> Result<bool, LinkError> {
        let a = self.aux(id)?;
        let Peer::Handshake(r) = &mut a.peer else {
            return Err(LinkError::UnexpectedResponse);
        };
        let status = match r.handle_response(msg) {
            Ok(s) => s,
            Err(e) => {
                self.refuse_aux(id);
                return Err(e.into());
            }
        };
        if status != Status::Established {
            return Ok(false);
        }
        let Peer::Handshake(r) = core::mem::replace(&mut a.peer, Peer::Failed) else {
            return Err(LinkError::UnexpectedResponse);
        };
        a.peer = Peer::Session(Box::new(r.into_session()?));
        Ok(true)
    }

    /// Writes a signed GET_MEASUREMENTS to responder `id` (in its session).
    ///
    /// # Errors
    /// As [`Ecu::write_measurement_request`].
    pub fn write_measurement_request_to(
        &mut self,
        id: usize,
        out: &mut [u8],
    ) -> Result<usize, LinkError> {
        measurement_request(&mut self.aux(id)?.peer, out)
    }

    /// Handles responder `id`'s MEASUREMENTS as [`Ecu::handle_measurement_response`] does; a
    /// failure refuses the whole link.
    ///
    /// # Errors
    /// As [`Ecu::handle_measurement_response`].
    pub fn handle_measurement_response_from(
        &mut self,
        id: usize,
        rec: &mut [u8],
    ) -> Result<(), LinkError> {
        let a = self.aux(id)?;
        let policy = a.policy.clone().ok_or(AttestError::NoMeasurements)?;
        let first = !a.attested;
        let r = judge(&mut a.peer, &policy, first, rec);
        match r {
            Ok(()) => {
                a.attested = true;
                Ok(())
            }
            Err(e) => {
                self.refuse_aux(id);
                Err(e)
            }
        }
    }

    /// Whether the link is open: the sensor and every other responder authenticated, and
    /// attested where a policy is set.
    pub fn link_ready(&self) -> bool {
        matches!(self.peer, Peer::Session(_))
            && (self.meas_policy.is_none() || self.attested)
            && self.aux.iter().all(AuxResponder::ready)
    }

    /// Derives the CCISE controller of the current key generation (after the handshake, or
    /// after the first attestation when a policy is set).
    fn start_cci(&mut self) -> Result<(), LinkError> {
        let generation = self.key_generation();
        let profile = self.profile;
        let s = self.session()?;
        let live = s.session().ok_or(LinkError::NotAuthenticated)?;
        let k = keys::ccise_keys(live.export_master_secret(), &profile, generation)?;
        let config = keys::ccise_config(&profile, generation);
        self.cci = Some(Controller::new(config, k)?);
        self.cci_generation = generation;
        Ok(())
    }

    /// Whether the ECU holds any stream or CCISE key (none before the session or after it
    /// ended).
    pub fn holds_keys(&self) -> bool {
        self.installed.is_some() || self.cci.is_some()
    }

    /// Drops every stream and CCISE key: a fresh receiver replaces the old one (its keys,
    /// replay state and slots dropped and zeroized with it).
    fn drop_keys(&mut self) {
        self.rx = receiver(self.protocol, self.vc, self.policy);
        self.installed = None;
        self.rx_active = None;
        self.cci = None;
        self.cci_pending = None;
        self.cci_generation = 0;
    }

    /// Writes the next SPDM handshake request into `out`.
    ///
    /// # Errors
    /// [`LinkError::Spdm`]; [`LinkError::UnexpectedResponse`] after the handshake.
    pub fn write_spdm_request(&mut self, out: &mut [u8]) -> Result<usize, LinkError> {
        match &mut self.peer {
            Peer::Handshake(r) => Ok(r.write_request(out)?),
            _ => Err(LinkError::UnexpectedResponse),
        }
    }

    /// Handles the sensor's SPDM response; returns `true` once the session is established (the
    /// CCISE keys are then derived).
    ///
    /// # Errors
    /// [`LinkError::Spdm`], for example a certificate chain from another root.
    pub fn handle_spdm_response(&mut self, msg: &mut [u8]) -> Result<bool, LinkError> {
        let Peer::Handshake(r) = &mut self.peer else {
            return Err(LinkError::UnexpectedResponse);
        };
        let status = match r.handle_response(msg) {
            Ok(s) => s,
            Err(e) => {
                self.peer = Peer::Failed;
                return Err(e.into());
            }
        };
        if status != Status::Established {
            return Ok(false);
        }
        let Peer::Handshake(r) = core::mem::replace(&mut self.peer, Peer::Failed) else {
            return Err(LinkError::UnexpectedResponse);
        };
        let session = r.into_session()?;
        self.peer = Peer::Session(Box::new(session));
        self.attested = false;
        if self.meas_policy.is_none() {
            self.start_cci()?;
        }
        // With a policy, the CCISE keys wait for the first attestation.
        Ok(true)
    }

    fn session(&mut self) -> Result<&mut RequesterSession<RustCrypto>, LinkError> {
        match &mut self.peer {
            Peer::Session(s) => Ok(s),
            _ => Err(LinkError::NotAuthenticated),
        }
    }

    /// The current SPDM key generation.
    pub fn key_generation(&self) -> u32 {
        match &self.peer {
            Peer::Session(s) => s.session().map_or(0, |s| s.key_generation()),
            _ => 0,
        }
    }

    /// The key generation of the CCISE channel (0 after the handshake; it follows the SPDM key
    /// generation once a KEY_UPDATE completed, see [`crate::key_update`]).
    pub fn cci_generation(&self) -> u32 {
        self.cci_generation
    }

    /// Seals the CCISE write that puts `config` into the sensor's stream registers, and
    /// installs the receiver's stream key for its key family.
    ///
    /// # Errors
    /// [`LinkError::NotAuthenticated`] before the session; [`LinkError::LinkNotReady`] while
    /// the sensor's attestation or another responder of the link is missing or failed;
    /// [`LinkError::KeyUpdateInProgress`]
    /// between a KEY_UPDATE's key change and its confirming exchange; CCISE or key errors.
    pub fn seal_stream_config(
        &mut self,
        config: &FrameConfig,
        out: &mut [u8],
    ) -> Result<usize, LinkError> {
        config.validate()?;
        if matches!(self.peer, Peer::Session(_)) && !self.link_ready() {
            return Err(LinkError::LinkNotReady);
        }
        if self.cci_pending.is_some() {
            return Err(LinkError::KeyUpdateInProgress);
        }
        let family = keys::KeyProfile::of(config);
        let generation = self.key_generation();
        match self.installed {
            None => self.install(generation, family)?,
            Some((g, fam)) if g == generation && !fam.same_kind(&family) => {
                return Err(LinkError::KeyFamilyChanged);
            }
            Some(_) => {}
        }
        let bytes = registers::encode(&self.profile, config);
        let cci = self.cci.as_mut().ok_or(LinkError::NotAuthenticated)?;
        Ok(cci.seal_write(registers::STREAM_CONFIG, &bytes, out)?.len)
    }

    /// The key id of the next stream key generation: the one after the key id of the last
    /// frame accepted (the sensor's active key), 0 before any; the rule of
    /// [`cse_core::keys::KeySlots::next_id`], which the sensor's transmitter applies to the
    /// same active key. However many KEY_UPDATEs happen between two frames, both ends put the
    /// newest generation under that one id, which is never the active one.
    fn next_key_id(&self) -> KeyId {
        match self.rx_active {
            Some(id) => KeyId::new((id.get() + 1) % 4).unwrap_or_default(),
            None => KeyId::default(),
        }
    }

    fn install(&mut self, generation: u32, family: keys::KeyProfile) -> Result<(), LinkError> {
        let vc = self.vc;
        let s = self.session()?;
        let m = keys::stream_material(
            s.session()
                .ok_or(LinkError::NotAuthenticated)?
                .export_master_secret(),
            &Profile::DRAFT_1,
            vc,
            generation,
            &family,
        )?;
        let id = self.next_key_id();
        match &mut self.rx {
            Rx::Sep(rx) => rx.install_key(id, m)?,
            Rx::Fsed(rx) => rx.install_key(id, m)?,
        }
        self.installed = Some((generation, family));
        Ok(())
    }

    /// Writes an SPDM KEY_UPDATE request.
    ///
    /// # Errors
    /// [`LinkError::NotAuthenticated`] or [`LinkError::Spdm`].
    pub fn write_key_update(
        &mut self,
        op: KeyUpdateOp,
        out: &mut [u8],
    ) -> Result<usize, LinkError> {
        Ok(self.session()?.write_key_update(op, out)?)
    }

    /// Writes an SPDM END_SESSION request.
    ///
    /// # Errors
    /// [`LinkError::NotAuthenticated`] or [`LinkError::Spdm`].
    pub fn write_end_session(&mut self, out: &mut [u8]) -> Result<usize, LinkError> {
        Ok(self.session()?.write_end_session(out)?)
    }

    /// Gives the ECU the time (milliseconds of a monotonic clock) for the session's heartbeat;
    /// without a session it does nothing.
    ///
    /// When the sensor set a HeartbeatPeriod and more than twice of it passed since the ECU's
    /// last SPDM request, the sensor has ended the session (see [`crate::Sensor::tick`]): the
    /// ECU ends it too and drops every stream and CCISE key, as after END_SESSION. Returns
    /// `true` if this call ended the session.
    pub fn set_time(&mut self, now_ms: u64) -> bool {
        let Peer::Session(s) = &mut self.peer else {
            return false;
        };
        s.set_time(now_ms);
        if !s.is_ended() {
            return false;
        }
        self.drop_keys();
        self.peer = Peer::Ended;
        true
    }

    /// Whether a HEARTBEAT is due (the sensor set a HeartbeatPeriod and half of it passed
    /// without a request; see [`spdm_lite::requester::RequesterSession::heartbeat_due`]).
    pub fn heartbeat_due(&self) -> bool {
        matches!(&self.peer, Peer::Session(s) if s.heartbeat_due())
    }

    /// Writes an SPDM HEARTBEAT request.
    ///
    /// # Errors
    /// [`LinkError::NotAuthenticated`] or [`LinkError::Spdm`].
    pub fn write_heartbeat(&mut self, out: &mut [u8]) -> Result<usize, LinkError> {
        Ok(self.session()?.write_heartbeat(out)?)
    }

    /// Handles a response to a session request.
    ///
    /// When the response moves the SPDM session to a new key generation (the ACK of
    /// UpdateKey or UpdateAllKeys), the stream key of that generation goes into the receiver's
    /// idle slot (the sensor switches at its next frame), and the CCISE channel waits: it
    /// moves to the new generation, with fresh counters, on the response to the next request,
    /// the first one sent under the new request key (VerifyNewKey). The sensor switches when
    /// it opens that request, so both ends change at the same exchange.
    ///
    /// # Errors
    /// [`LinkError::Spdm`] for a record that does not authenticate or an SPDM error.
    pub fn handle_session_response(&mut self, rec: &mut [u8]) -> Result<SessionEvent, LinkError> {
        let before = self.key_generation();
        let r = self.session()?.handle_response(rec);
        let after = self.key_generation();
        // The sensor opened our request under the pending generation's request key (an SPDM
        // ERROR in reply proves that as well as an ACK): it has switched its CCISE target.
        let opened = matches!(r, Ok(_) | Err(spdm_lite::Error::PeerError(_)));
        if opened && after == before && self.cci_pending == Some(before) {
            self.switch_cci(before)?;
        }
        if after != before {
            // Also when the record then failed to open: the requester keeps the response key it
            // derived for the ACK, and no CCISE transaction may go out until the update is over.
            self.cci_pending = Some(after);
        }
        let ev = r?;
        if ev == SessionEvent::Ended {
            // The session is over: its secrets are gone from the requester, and every key
            // derived from them goes now.
            self.drop_keys();
            self.peer = Peer::Ended;
            return Ok(ev);
        }
        if after != before
            && let Some((g, family)) = self.installed
            && g != after
        {
            self.install(after, family)?;
        }
        Ok(ev)
    }

    /// Replaces the CCISE controller by one under the keys of `generation` (counters from 1).
    fn switch_cci(&mut self, generation: u32) -> Result<(), LinkError> {
        let profile = self.profile;
        let ems = self
            .session()?
            .session()
            .ok_or(LinkError::NotAuthenticated)?
            .export_master_secret();
        let k = keys::ccise_keys(ems, &profile, generation)?;
        self.cci = Some(Controller::new(
            keys::ccise_config(&profile, generation),
            k,
        )?);
        self.cci_generation = generation;
        self.cci_pending = None;
        Ok(())
    }

    /// Receives one frame's wire bytes (concatenated CSI-2 packets) at time `now`, verifies
    /// them, and writes the original packets released as authentic into `out` (cleared first),
    /// in message order. Unverified packets whose scope fails are never written.
    ///
    /// A packet that verifies on arrival (per-message tag) is written by the receiver straight
    /// into `out`, behind the packets released before it: no copy and no allocation per
    /// packet. Packets held for a scope tag are copied in when their scope verifies. If the
    /// packets did not arrive in message order, `out` is put in that order at the end.
    ///
    /// FSED's FS and FE carry no tag: only the frame header binds their frame number, and a
    /// header is authentic only once its frame's start is accepted (its first tag record
    /// verified, or every block SV-5 where the policy allows it). They are held until then and
    /// released with that frame, within this call: one FS of the number the frame's header
    /// names, and an FE of that number that arrives while the frame is in progress. An FS or
    /// FE of a frame that never authenticates, bound by a header that another header replaced
    /// before its frame authenticated, or injected next to a genuine frame, is never written.
    ///
    /// The released packets are the sensor's, bit-exact: under FSED, where the originals
    /// travel as they are, each is released with its CSI-2 header rebuilt from the values the
    /// tag authenticated, so a header bit the ECC corrected on the way is not passed on
    /// flipped.
    ///
    /// The report is about the frame whose start is accepted in this call. A frame whose end
    /// never arrived was reported not clean by its own call; when the next frame starts, the
    /// receiver gives it up, and those findings go to [`FrameReport::earlier`] under its frame
    /// counter: they do not make the new frame unclean.
    pub fn receive_frame(&mut self, wire: &[u8], now: u64, out: &mut Vec<u8>) -> FrameReport {
        let mut rep = FrameReport::default();
        let mut rel = Release::new(out, core::mem::take(&mut self.released));
        let mut held: Vec<Held> = Vec::new();
        let mut complete = None;
        let mut frame_key = None;
        // FSED: FS and FE carry no tag; they are authentic only once the frame header that
        // binds their frame number is, so they are held until that frame's start is accepted
        // here and released with it. Each is kept with the message index it is released under
        // (0 for FS, `u32::MAX` for FE) and its bytes, header rebuilt.
        let mut syncs: SyncBinder<(u32, Vec<u8>)> = SyncBinder::new();
        for p in Packets::new(wire, HeaderForm::Dphy) {
            let raw = match p {
                Ok(p) => p.raw,
                Err(_) => {
                    rep.note(Finding::Protocol);
                    break;
                }
            };
            rep.packets_in += 1;
            match &mut self.rx {
                Rx::Sep(rx) => {
                    // The original is never longer than the SEP packet that carries it.
                    let got = match rx.receive(raw, now, rel.room(raw.len())) {
                        Ok(cse_sep::Delivery::Verified(v)) => {
                            Got::InPlace(v.info().message_index, v.packet().len())
                        }
                        Ok(cse_sep::Delivery::Unprotected(u)) => {
                            Got::InPlace(u.info().message_index, u.unauthenticated_packet().len())
                        }
                        Ok(cse_sep::Delivery::Unverified(u)) => Got::Held(Held {
                            bytes: u.unverified_packet().to_vec(),
                            index: u.info().message_index,
                            encrypted: u.is_encrypted(),
                            sep: Some((u.decrypt_ticket(), u.scope())),
                            fsed: None,
                        }),
                        Ok(cse_sep::Delivery::ScopeVerified(proof)) => Got::SepScope(proof),
                        Ok(_) => Got::Nothing,
                        Err(e) => Got::Finding(Finding::from_sep(&e)),
                    };
                    match got {
                        Got::InPlace(index, len) => rel.commit(index, len),
                        Got::Held(h) => held.push(h),
                        Got::SepScope(proof) => {
                            let (mine, rest): (Vec<Held>, Vec<Held>) =
                                held.drain(..).partition(|h| {
                                    h.sep.as_ref().is_some_and(|(_, s)| *s == proof.scope())
                                        && proof.indices().contains(&h.index)
                                });
                            held = rest;
                            for mut h in mine {
                                if let Some((t, _)) = &h.sep
                                    && h.encrypted
                                    && rx.decrypt(&proof, t, &mut h.bytes).is_err()
                                {
                                    rep.note(Finding::AuthFailed);
                                    continue;
                                }
                                rel.push(h.index, &h.bytes);
                            }
                        }
                        Got::Finding(f) => rep.note(f),
                        Got::Nothing => {}
                    }
                    while let Some(ev) = rx.poll_event(now) {
                        match on_event(&mut rep, ev, &mut complete, &mut frame_key) {
                            AfterEvent::Nothing => {}
                            AfterEvent::DropScope(scope) => {
                                held.retain(|h| h.sep.as_ref().is_none_or(|(_, s)| *s != scope));
                            }
                            AfterEvent::RetireKey => {
                                let _ = rx.retire_key();
                            }
                        }
                    }
                }
                Rx::Fsed(rx) => {
                    // Original packets are released with the header the tag authenticated
                    // (`fsed_header`), not with a bit the ECC corrected still flipped.
                    let vc = self.vc;
                    match rx.receive(raw, now) {
                        Ok(cse_fsed::Delivery::Unverified(u)) => {
                            let i = u.info();
                            let h = fsed_header(vc, i.data_type, i.word_count);
                            match with_header(u.unverified_packet(), h) {
                                Some(bytes) => held.push(Held {
                                    bytes,
                                    index: i.message_index,
                                    encrypted: u.is_encrypted(),
                                    sep: None,
                                    fsed: Some((u.decrypt_ticket(), u.scope())),
                                }),
                                None => rep.note(Finding::Protocol),
                            }
                        }
                        Ok(cse_fsed::Delivery::Unprotected(u)) => {
                            let i = u.info();
                            match fsed_header(vc, i.data_type, i.word_count) {
                                Some(h) => {
                                    rel.push_headed(i.message_index, u.unauthenticated_packet(), h)
                                }
                                None => rep.note(Finding::Protocol),
                            }
                        }
                        Ok(cse_fsed::Delivery::Sync(s)) => {
                            let start = s.is_frame_start();
                            let number = s.frame_number();
                            let h = fsed_header(vc, sync_type(start), number);
                            // An FS waits for its header; an FE is accepted only for the
                            // frame in progress, whose header bound its number.
                            match with_header(s.packet(), h) {
                                Some(bytes) if start => syncs.frame_start(number, (0, bytes)),
                                Some(bytes) => {
                                    // Straight back when its frame already authenticated.
                                    let fe = syncs.frame_end(number, (u32::MAX, bytes));
                                    if let Some((_, (index, bytes))) = fe {
                                        rel.push(index, &bytes);
                                    }
                                }
                                None => rep.note(Finding::Protocol),
                            }
                        }
                        Ok(cse_fsed::Delivery::FrameHeader { frame_counter }) => {
                            let number = raw
                                .get(4..raw.len().saturating_sub(2))
                                .and_then(|b| cse_fsed::wire::Packet::new_checked(b).ok())
                                .map(|h| h.frame_number());
                            // The header takes one FS of its number; the other waiting FS
                            // (the receiver forgets their numbers) and whatever an earlier
                            // header bound without its frame authenticating are dropped.
                            drop(syncs.frame_header(frame_counter, number));
                        }
                        Ok(cse_fsed::Delivery::ScopeVerified(proof)) => {
                            let (mine, rest): (Vec<Held>, Vec<Held>) =
                                held.drain(..).partition(|h| {
                                    h.fsed.as_ref().is_some_and(|(_, s)| *s == proof.scope())
                                        && proof.indices().contains(&h.index)
                                });
                            held = rest;
                            for mut h in mine {
                                if let Some((t, _)) = &h.fsed
                                    && h.encrypted
                                    && rx.decrypt(&proof, t, &mut h.bytes).is_err()
                                {
                                    rep.note(Finding::AuthFailed);
                                    continue;
                                }
                                rel.push(h.index, &h.bytes);
                            }
                        }
                        Ok(_) => {}
                        Err(e) => rep.note(Finding::from_fsed(&e)),
                    }
                    while let Some(ev) = rx.poll_event(now) {
                        // The frame's start is accepted: its header, and the FS and FE it
                        // bound, are authentic.
                        if let cse_core::rx::Event::FrameStart { frame_counter, .. } = ev {
                            for (index, bytes) in syncs.authenticate(frame_counter) {
                                rel.push(index, &bytes);
                            }
                        }
                        match on_event(&mut rep, ev, &mut complete, &mut frame_key) {
                            AfterEvent::Nothing => {}
                            AfterEvent::DropScope(scope) => {
                                held.retain(|h| h.fsed.as_ref().is_none_or(|(_, s)| *s != scope));
                            }
                            AfterEvent::RetireKey => {
                                let _ = rx.retire_key();
                            }
                        }
                    }
                }
            }
        }
        // FSED FS and FE still held: their frame's start was not accepted in this call. Never
        // released.
        drop(syncs);
        if frame_key.is_some() {
            self.rx_active = frame_key;
        }
        if complete != Some(true) {
            rep.note(Finding::NotClean);
        }
        // Packets still held: their scope never verified. Never released.
        if !held.is_empty() {
            rep.note(Finding::ScopeFailed);
        }
        rep.clean = rep.findings.is_empty();
        rep.released = rel.spans.len();
        self.released = rel.finish();
        rep
    }
}
