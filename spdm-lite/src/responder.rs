//! The SPDM responder (the camera sensor): a sans-IO state machine of consumed states.
//!
//! Feed it every MCTP message that arrives ([`Responder::handle`]: `0x05‖SPDM` or a `0x06`
//! secured record, in a mutable buffer because records are decrypted in place) and send what
//! it writes into `out`. It answers every bad request with an SPDM ERROR (VersionMismatch,
//! UnexpectedRequest, UnsupportedRequest, InvalidRequest, DecryptError) and keeps running. A
//! record that does not authenticate, or names another session, gets no answer at all (an
//! attacker must not be able to make the responder talk): [`Responder::handle`] returns the
//! error and the state does not move. An authentic record whose application message is not
//! SPDM (another MCTP type, such as PLDM) is answered, inside the same session, with ERROR
//! UnsupportedRequest: this responder serves no application protocol, and the peer must not
//! be left waiting.
//!
//! Requests are checked, then the state change is computed, then committed: a refused request
//! (an invalid GET_CAPABILITIES, a session-only request in the clear, answered
//! SessionRequired) leaves the connection where it was, and so does a request whose answer
//! does not fit the caller's `out` (nothing is committed or drawn before the answer is
//! written, or known to fit). ERRORs carry SPDMVersion 0x10 until a
//! GET_CAPABILITIES has been accepted, 0x12 after; an invalid GET_CAPABILITIES of version 1.2
//! is refused in 1.2. Before GET_CAPABILITIES every other request it serves is
//! UnexpectedRequest, whatever its version. GET_DIGESTS and GET_CERTIFICATE are also
//! served inside an established session (outside any transcript).
//!
//! The responder uses no allocator. Its certificate chain is the caller's `&[u8]` in SPDM chain
//! format (see [`crate::cert`]), served in portions; transcripts are running hashes.
//!
//! Internally, the state is an enum; handshake secrets live only in the handshake variants
//! and are dropped when the handshake turns into a [`Session`]. The requests of the
//! certificate handshake and of the session (GET_DIGESTS, GET_CERTIFICATE, CHALLENGE,
//! GET_MEASUREMENTS, KEY_EXCHANGE, FINISH, the session's requests) work on the state in place,
//! so that no copy of the large handshake state lands on the stack (the firmware budget is 8 KB
//! of stack per call); the other steps consume the state and return the next one.

#[path = "responder_mut_auth.rs"]
mod mut_auth;
#[cfg(feature = "provisioning")]
#[path = "responder_provisioning.rs"]
mod provisioning;

use crate::codec::{Reader, Writer};
use crate::crypto::{
    AeadAlgo, AlgorithmSet, AsymAlgo, CryptoProvider, DheGroup, DheSecret, Digest, HashCtx,
    MAX_DHE_LEN, MAX_SIGNATURE_LEN, RandomSource, Signer,
};
use crate::error::{Error, InvalidMessage};
use crate::key_schedule::{HandshakeSecrets, KeySchedule};
use crate::measurements::MeasurementProvider;
use crate::msgs::algorithms::{
    AlgStructs, AlgorithmsRsp, KEY_SCHEDULE_SPDM, MEAS_SPEC_DMTF, NegotiateAlgorithms,
    OPAQUE_DATA_FMT1,
};
use crate::msgs::capabilities::{CapFlags, Capabilities, CapabilitiesRsp, GetCapabilities};
use crate::msgs::certificate::{CertificateRsp, GetCertificate};
use crate::msgs::challenge::{Challenge, ChallengeAuth};
use crate::msgs::digests::DigestsRsp;
use crate::msgs::error::{ErrorCode, ErrorRsp};
use crate::msgs::finish::FinishRsp;
use crate::msgs::key_exchange::{KeyExchange, KeyExchangeRsp};
use crate::msgs::key_update::{KeyUpdate, KeyUpdateAck, KeyUpdateOp};
use crate::msgs::opaque::{SECURED_MESSAGE_V12, SmVersions};
use crate::msgs::psk::{PskExchange, PskExchangeRsp, PskFinish, PskFinishRsp};
use crate::msgs::version::VersionRsp;
use crate::msgs::{Code, Encode, Header, NONCE_LEN, Version, end_session, heartbeat};
use crate::record::{self, DirectionKeys, MCTP_SECURED, MCTP_SPDM};
use crate::session::{Dir, RequesterAuth, Role, Session};
use crate::transcript::{context, signing_digest};

/// Bytes of VCA (GET_VERSION..ALGORITHMS) buffered until the hash algorithm is known.
pub const VCA_BUFFER_LEN: usize = 320;

/// The smallest DataTransferSize SPDM 1.2 allows.
pub const MIN_DATA_TRANSFER_SIZE: u32 = 42;

/// PSK_EXCHANGE / PSK_FINISH are built (feature `psk`, default). Without it a configured PSK is
/// refused by [`Responder::new`] and none of the PSK code links (a firmware image with
/// certificate sessions only saves about 4 KB of flash).
const PSK: bool = cfg!(feature = "psk");

/// A pre-shared key the responder accepts in PSK_EXCHANGE.
#[derive(Clone, Copy)]
pub struct PskConfig<'a> {
    /// The PSK hint the requester must send.
    pub hint: &'a [u8],
    /// The pre-shared key itself.
    pub key: &'a [u8],
    /// `PSK_CAP = 10b`: PSK with responder context, so PSK_FINISH follows. With `false`
    /// (`PSK_CAP = 01b`) the session starts right after PSK_EXCHANGE_RSP.
    pub with_context: bool,
}

impl core::fmt::Debug for PskConfig<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("PskConfig")
            .field("hint", &self.hint)
            .field("with_context", &self.with_context)
            .finish_non_exhaustive()
    }
}

/// What the responder offers.
#[derive(Clone, Copy, Debug)]
pub struct ResponderConfig<'a> {
    /// The algorithm set of this responder: its hash and signature algorithm (the ones its
    /// signing key and chain belong to) and its preferred DHE group and AEAD. ALGORITHMS
    /// selects the configured DHE group and AEAD when the requester offers them, else a
    /// stronger built one the requester offers (secp384r1 for secp256r1, AES-256-GCM for
    /// AES-128-GCM), never a weaker one.
    pub algorithms: AlgorithmSet,
    /// The slot-0 certificate chain in SPDM chain format (RootHash of `algorithms.hash`).
    pub cert_chain: &'a [u8],
    /// A PSK, if PSK_EXCHANGE is offered.
    pub psk: Option<PskConfig<'a>>,
    /// Offer HANDSHAKE_IN_THE_CLEAR (used when the requester offers it too).
    pub handshake_in_the_clear: bool,
    /// DataTransferSize and MaxSPDMmsgSize advertised (at least 42).
    pub data_transfer_size: u32,
}

impl ResponderConfig<'_> {
    /// The CAPABILITIES flags this configuration advertises.
    pub fn capabilities(&self) -> CapFlags {
        let mut f = CapFlags::CERT
            | CapFlags::CHAL
            | CapFlags::ENCRYPT
            | CapFlags::MAC
            | CapFlags::KEY_EX
            | CapFlags::HBEAT
            | CapFlags::KEY_UPD;
        match self.psk {
            Some(p) if p.with_context => f |= CapFlags::PSK_WITH_CONTEXT,
            Some(_) => f |= CapFlags::PSK,
            None => {}
        }
        if self.handshake_in_the_clear {
            f |= CapFlags::HANDSHAKE_IN_THE_CLEAR;
        }
        CapFlags(f)
    }
}

/// A request refused with an SPDM ERROR.
#[derive(Clone, Copy, Debug)]
struct Fault {
    code: ErrorCode,
    data: u8,
}

const fn fault(code: ErrorCode) -> Fault {
    Fault { code, data: 0 }
}

/// UnsupportedRequest for `code` (ErrorData: the request code).
const fn unsupported(code: Code) -> Fault {
    Fault {
        code: ErrorCode::UNSUPPORTED_REQUEST,
        data: code.0,
    }
}

const INVALID: Fault = fault(ErrorCode::INVALID_REQUEST);
const UNEXPECTED: Fault = fault(ErrorCode::UNEXPECTED_REQUEST);
/// The answer to an authentic record carrying an application message of an MCTP type other
/// than SPDM (this responder serves no application protocol): an SPDM ERROR
/// UnsupportedRequest in the same session, so the peer is not left waiting.
const UNSUPPORTED_APP: Fault = fault(ErrorCode::UNSUPPORTED_REQUEST);

/// Serves application messages inside established sessions: secured records whose inner
/// MCTP message type is not SPDM (PLDM, for instance; DMTF's `spdm_requester_emu` sends a
/// PLDM GetTID in each session). Set with [`Responder::set_app_handler`].
pub trait AppHandler {
    /// Answers `request` (the message after its MCTP type byte `mctp_type`), which arrived
    /// authenticated in session `session_id`, into `out` (the room left in the caller's
    /// buffer after the record header); the answer is sent with the same MCTP type.
    ///
    /// [`AppAnswer::NeedsRoom`] makes [`Responder::handle`] fail with [`Error::Encode`]
    /// without consuming the record, as does a written answer whose sealed record does not
    /// fit the caller's buffer; the handler then sees the same request again when the record
    /// is sent again, so it should answer without side effects or be prepared for that.
    fn answer(
        &mut self,
        session_id: u32,
        mctp_type: u8,
        request: &[u8],
        out: &mut [u8],
    ) -> AppAnswer;
}

/// What an [`AppHandler`] did with an application message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppAnswer {
    /// The answer: this many bytes at the start of `out`.
    Written(usize),
    /// The answer needs this many bytes, more than `out` has; nothing written.
    NeedsRoom(usize),
    /// Not served: the responder answers an SPDM ERROR UnsupportedRequest in the session, as
    /// without a handler.
    Unserved,
}

/// MCTP message type of PLDM (DSP0239).
pub const MCTP_PLDM: u8 = 0x01;

/// An [`AppHandler`] that answers the PLDM GetTID command (PLDM type 0, "messaging control and
/// discovery", command 0x02; DSP0240) with a fixed terminus ID, and serves nothing else. It is
/// what DMTF's `spdm_requester_emu` asks in each session (`spdm_responder_emu` answers TID
/// 1), so a default run of that requester completes its session steps. The answer echoes the
/// request's instance ID with the request and datagram bits clear, completion code 0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PldmGetTid {
    /// The terminus ID reported.
    pub tid: u8,
}

impl AppHandler for PldmGetTid {
    fn answer(
        &mut self,
        _session_id: u32,
        mctp_type: u8,
        request: &[u8],
        out: &mut [u8],
    ) -> AppAnswer {
        // Request: Rq (0x80) | instance ID (bits 0..4), header version 0 | type 0, GetTID.
        match (mctp_type, request) {
            (MCTP_PLDM, &[rq, 0x00, 0x02]) if rq & 0xE0 == 0x80 => {
                let answer = [rq & 0x1F, 0x00, 0x02, 0x00, self.tid];
                match out.get_mut(..answer.len()) {
                    Some(dst) => {
                        dst.copy_from_slice(&answer);
                        AppAnswer::Written(answer.len())
                    }
                    None => AppAnswer::NeedsRoom(answer.len()),
                }
            }
            _ => AppAnswer::Unserved,
        }
    }
}

impl From<InvalidMessage> for Fault {
    fn from(_: InvalidMessage) -> Self {
        INVALID
    }
}

/// Failures while building a response: a protocol fault (ERROR is sent) or a local failure
/// (crypto provider, output buffer) that is returned to the caller.
enum Fail {
    Fault(Fault),
    Local(Error),
}

impl From<Fault> for Fail {
    fn from(f: Fault) -> Self {
        Self::Fault(f)
    }
}

impl From<InvalidMessage> for Fail {
    fn from(_: InvalidMessage) -> Self {
        Self::Fault(INVALID)
    }
}

impl<E: Into<Error>> From<Local<E>> for Fail {
    fn from(e: Local<E>) -> Self {
        Self::Local(e.0.into())
    }
}

struct Local<E>(E);

trait LocalExt<T, E> {
    fn local(self) -> Result<T, Local<E>>;
}

impl<T, E> LocalExt<T, E> for Result<T, E> {
    fn local(self) -> Result<T, Local<E>> {
        self.map_err(Local)
    }
}

/// VCA messages, buffered until ALGORITHMS fixes the hash.
struct Vca {
    buf: [u8; VCA_BUFFER_LEN],
    len: usize,
    req_caps: CapFlags,
    req_dts: u32,
}

impl Vca {
    fn push(&mut self, bytes: &[u8]) -> Result<(), Fault> {
        let end = self.len.checked_add(bytes.len()).ok_or(INVALID)?;
        self.buf
            .get_mut(self.len..end)
            .ok_or(INVALID)?
            .copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }
}

/// The connection after VCA.
struct Conn<H> {
    /// Hash state over VCA (message A).
    a: H,
    /// Running M1 transcript: A, then B (digests, certificates) until CHALLENGE_AUTH.
    m1: H,
    /// A CHALLENGE completed on this connection: M1 is no longer reset by GET_MEASUREMENTS,
    /// KEY_EXCHANGE or PSK_EXCHANGE.
    authenticated: bool,
    req_caps: CapFlags,
    req_dts: u32,
    /// ReqBaseAsymAlg selected in ALGORITHMS (mutual authentication possible).
    req_asym: Option<AsymAlgo>,
    /// The algorithms of this connection's sessions: the configured hash and signature
    /// algorithm with the DHE group and AEAD selected in ALGORITHMS (the configured ones
    /// when the requester left their AlgStructs out; it cannot open a session then).
    set: AlgorithmSet,
}

// By hand rather than derived, and not inlined: a handshake copies the connection when it
// starts and when it ends, and one out-of-line copy costs less flash.
impl<H: Clone> Clone for Conn<H> {
    #[inline(never)]
    fn clone(&self) -> Self {
        Self {
            a: self.a.clone(),
            m1: self.m1.clone(),
            authenticated: self.authenticated,
            req_caps: self.req_caps,
            req_dts: self.req_dts,
            req_asym: self.req_asym,
            set: self.set,
        }
    }
}

/// A handshake in progress (after KEY_EXCHANGE_RSP or PSK_EXCHANGE_RSP).
struct Handshake<H> {
    conn: Conn<H>,
    th: H,
    session_id: u32,
    secrets: HandshakeSecrets,
    req_keys: DirectionKeys,
    rsp_keys: DirectionKeys,
    in_clear: bool,
    heartbeat_period: u8,
    /// Mutual authentication of this handshake.
    mutual: mut_auth::Mutual,
}

/// An established session plus the connection it runs on.
struct Established<H> {
    conn: Conn<H>,
    session: Session,
    /// When the last authentic record of the session arrived (the caller's clock, ms).
    last_ms: u64,
}

enum State<H> {
    AwaitVersion,
    AwaitCapabilities(Vca),
    AwaitAlgorithms(Vca),
    Negotiated(Conn<H>),
    AwaitFinish(Handshake<H>),
    AwaitPskFinish(Handshake<H>),
    Established(Established<H>),
}

impl<H> State<H> {
    /// Whether ALGORITHMS has been sent (the connection is negotiated).
    fn negotiated(&self) -> bool {
        !matches!(
            self,
            Self::AwaitVersion | Self::AwaitCapabilities(_) | Self::AwaitAlgorithms(_)
        )
    }

    /// The negotiated connection, in whatever state holds it.
    fn conn_mut(&mut self) -> Option<&mut Conn<H>> {
        match self {
            Self::Negotiated(c) => Some(c),
            Self::AwaitFinish(hs) | Self::AwaitPskFinish(hs) => Some(&mut hs.conn),
            Self::Established(e) => Some(&mut e.conn),
            _ => None,
        }
    }
}

/// Requests that only make sense inside a session (FINISH and PSK_FINISH travel in the
/// handshake's records; HEARTBEAT, KEY_UPDATE and END_SESSION in the session's).
fn is_session_only(code: Code) -> bool {
    matches!(
        code,
        Code::FINISH | Code::PSK_FINISH | Code::HEARTBEAT | Code::KEY_UPDATE | Code::END_SESSION
    )
}

/// The checks on the requester's GET_CAPABILITIES (DSP0274 1.2 flag rules and sizes):
/// - KEY_EX_CAP or PSK_CAP needs ENCRYPT_CAP or MAC_CAP, and ENCRYPT_CAP, MAC_CAP, HBEAT_CAP,
///   KEY_UPD_CAP and HANDSHAKE_IN_THE_CLEAR_CAP need KEY_EX_CAP or PSK_CAP; PSK_CAP = 11b is
///   reserved;
/// - DataTransferSize at least [`MIN_DATA_TRANSFER_SIZE`] and at most MaxSPDMmsgSize, equal to
///   it without CHUNK_CAP (no chunking without the capability).
fn validate_requester_caps(c: &Capabilities) -> Result<(), Fault> {
    let f = c.flags;
    let psk = f.0 & CapFlags::PSK_MASK;
    if psk == CapFlags::PSK_MASK {
        return Err(INVALID);
    }
    let session = f.has(CapFlags::KEY_EX) || psk != 0;
    let protection = f.0 & (CapFlags::ENCRYPT | CapFlags::MAC) != 0;
    let needs_session = f.0
        & (CapFlags::ENCRYPT
            | CapFlags::MAC
            | CapFlags::HBEAT
            | CapFlags::KEY_UPD
            | CapFlags::HANDSHAKE_IN_THE_CLEAR)
        != 0;
    if session != protection || (needs_session && !session) {
        return Err(INVALID);
    }
    let dts = c.data_transfer_size;
    let max = c.max_spdm_msg_size;
    if dts < MIN_DATA_TRANSFER_SIZE || dts > max || (!f.has(CapFlags::CHUNK) && dts != max) {
        return Err(INVALID);
    }
    Ok(())
}

/// Whether a responder's CAPABILITIES follows the same rules (the requester's check).
pub(crate) fn caps_valid(c: &Capabilities) -> bool {
    validate_requester_caps(c).is_ok()
}

/// Where a response goes: plain (`0x05‖SPDM`) or sealed under some keys.
enum Sink<'s> {
    Plain,
    Session(&'s mut Session),
    Keys(u32, &'s mut DirectionKeys),
}

impl Sink<'_> {
    fn offset(&self) -> usize {
        match self {
            Self::Plain => 1,
            _ => record::SPDM_OFFSET,
        }
    }

    fn finish<P: CryptoProvider>(
        self,
        provider: &P,
        out: &mut [u8],
        len: usize,
    ) -> Result<usize, Error> {
        match self {
            Self::Plain => {
                *out.first_mut().ok_or(crate::EncodeError::BufferTooSmall)? = MCTP_SPDM;
                Ok(1 + len)
            }
            Self::Session(s) => s.seal_in_place(provider, out, len),
            Self::Keys(id, k) => record::seal_in_place(provider, id, k, out, len),
        }
    }
}

fn body(out: &mut [u8], off: usize) -> Result<&mut [u8], Error> {
    out.get_mut(off..)
        .ok_or(crate::EncodeError::BufferTooSmall.into())
}

/// The longest SPDM answer to a record of the handshake, with room to spare: FINISH_RSP and
/// PSK_FINISH_RSP (4 bytes inside a record), ERROR (4), ENCAPSULATED_REQUEST and
/// ENCAPSULATED_RESPONSE_ACK (4 bytes and an encapsulated request of at most 8), bounded here by
/// a header, the largest hash and 8 bytes.
const HANDSHAKE_ANSWER_MAX: usize = 4 + 64 + 8;

/// The room in `out` for an SPDM message whose session record ([`record::seal_in_place`])
/// still fits in `out`: a response built here cannot fail to seal for want of space, so a
/// handler can change state between building and sealing.
fn session_body(out: &mut [u8]) -> Result<&mut [u8], Error> {
    let end = out
        .len()
        .checked_sub(record::OVERHEAD - record::SPDM_OFFSET)
        .filter(|&e| e >= record::SPDM_OFFSET)
        .ok_or(crate::EncodeError::BufferTooSmall)?;
    out.get_mut(record::SPDM_OFFSET..end)
        .ok_or(crate::EncodeError::BufferTooSmall.into())
}

/// Whether `r` failed only because the caller's output buffer could not take the answer.
fn no_room<T>(r: &Result<T, Error>) -> bool {
    matches!(r, Err(Error::Encode(_)))
}

/// Refuses ([`Error::Encode`]) a plain answer of `len` SPDM bytes that `out` cannot take, before
/// a handler draws random bytes or changes anything.
fn room(out: &[u8], len: usize) -> Result<(), Fail> {
    if out.len() > len {
        Ok(())
    } else {
        Err(Fail::Local(crate::EncodeError::BufferTooSmall.into()))
    }
}

/// The length of an optional digest (a measurement summary hash).
fn digest_len(d: &Option<Digest>) -> usize {
    d.as_ref().map_or(0, |d| d.as_bytes().len())
}

/// The SPDM responder.
pub struct Responder<'a, P: CryptoProvider, S: Signer> {
    provider: P,
    signer: &'a S,
    rng: &'a mut dyn RandomSource,
    config: ResponderConfig<'a>,
    /// Hash of the slot-0 chain served (`None`: no chain, an unprovisioned device).
    chain_hash: Option<Digest>,
    state: State<P::Hash>,
    /// HeartbeatPeriod offered to requesters with HBEAT_CAP (seconds, 0 = none).
    heartbeat_period: u8,
    /// The caller's clock (ms), as last given to [`Responder::tick`].
    now_ms: u64,
    /// The device's measurements (MEAS_CAP with signatures), if it offers them.
    meas: Option<&'a dyn MeasurementProvider>,
    /// The application messages served inside sessions, if any.
    app: Option<&'a mut dyn AppHandler>,
    /// ALGORITHMS selected the DMTF measurement specification.
    meas_negotiated: bool,
    /// L1/L2 outside sessions (`None`: reset).
    l1_plain: Option<MeasLog<P::Hash>>,
    /// L1/L2 of the session (`None`: reset).
    l1_session: Option<MeasLog<P::Hash>>,
    /// Mutual authentication asked of requesters ([`Responder::set_mut_auth`]).
    mut_auth: Option<crate::mut_auth::MutAuthPolicy<'a>>,
    /// Provisioning (GET_CSR, SET_CERTIFICATE) and the chain storage, if attached.
    #[cfg(feature = "provisioning")]
    prov: Option<&'a mut dyn crate::provisioning::ProvisioningProvider>,
}

/// An L1/L2 transcript and the provider's generation when it started (for ContentChanged).
struct MeasLog<H: HashCtx> {
    /// The running L1/L2 hash (it starts as a copy of the VCA hash state).
    l: H,
    generation: Option<u64>,
}

impl<P: CryptoProvider, S: Signer> core::fmt::Debug for Responder<'_, P, S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Responder")
            .field("config", &self.config)
            .field("state", &self.state_name())
            .finish_non_exhaustive()
    }
}

impl<'a, P: CryptoProvider, S: Signer> Responder<'a, P, S> {
    /// A responder waiting for GET_VERSION.
    ///
    /// # Errors
    /// [`Error::Negotiation`] if the signer's algorithm is not `config.algorithms.asym`, the
    /// set is not built (features `set-a`, `set-b`), a PSK is configured without feature
    /// `psk`, or the DataTransferSize is below 42; [`Error::Message`] if the chain is not an SPDM chain of
    /// the configured hash; [`Error::Crypto`] if the provider lacks the hash.
    pub fn new(
        provider: P,
        signer: &'a S,
        rng: &'a mut dyn RandomSource,
        config: ResponderConfig<'a>,
    ) -> Result<Self, Error> {
        if signer.algorithm() != config.algorithms.asym
            || !config.algorithms.is_built()
            || (config.psk.is_some() && !PSK)
            || config.data_transfer_size < MIN_DATA_TRANSFER_SIZE
        {
            return Err(Error::Negotiation);
        }
        crate::msgs::certificate::CertChain::parse(
            config.cert_chain,
            config.algorithms.hash.len(),
        )?;
        let mut h = provider.hash(config.algorithms.hash)?;
        h.update(config.cert_chain);
        let chain_hash = h.finish();
        Ok(Self {
            provider,
            signer,
            rng,
            config,
            chain_hash: Some(chain_hash),
            state: State::AwaitVersion,
            heartbeat_period: 0,
            now_ms: 0,
            meas: None,
            app: None,
            meas_negotiated: false,
            l1_plain: None,
            l1_session: None,
            mut_auth: None,
            #[cfg(feature = "provisioning")]
            prov: None,
        })
    }

    /// The slot-0 chain served: the provisioning provider's when one is attached (`None`
    /// until it holds one), else the configured one.
    fn cert_chain(&self) -> Option<&[u8]> {
        #[cfg(feature = "provisioning")]
        if let Some(p) = self.prov.as_deref() {
            return p.slot_chain(0);
        }
        Some(self.config.cert_chain)
    }

    /// Offers measurements: CAPABILITIES gets MEAS_CAP = 10b (signed measurements),
    /// ALGORITHMS selects the DMTF measurement specification and MeasurementHashAlgo = the
    /// base hash, GET_MEASUREMENTS is served (in the clear and in a session), and CHALLENGE,
    /// KEY_EXCHANGE and PSK_EXCHANGE may ask for a measurement summary hash. Call it before
    /// the first GET_CAPABILITIES.
    pub fn set_measurements(&mut self, provider: &'a dyn MeasurementProvider) {
        self.meas = Some(provider);
    }

    /// Serves application messages (MCTP message types other than SPDM, e.g. PLDM) that
    /// arrive in an established session with `handler`; without one (the default) each gets
    /// an SPDM ERROR UnsupportedRequest inside the session.
    pub fn set_app_handler(&mut self, handler: &'a mut dyn AppHandler) {
        self.app = Some(handler);
    }

    /// Sets the HeartbeatPeriod (seconds; 0, the default, turns heartbeats off) that
    /// KEY_EXCHANGE_RSP and PSK_EXCHANGE_RSP offer to a requester with HBEAT_CAP. Sessions
    /// already open keep theirs.
    pub fn set_heartbeat_period(&mut self, seconds: u8) {
        self.heartbeat_period = seconds;
    }

    /// Tells the responder the time (milliseconds of a monotonic clock; sans-IO, so the caller
    /// owns the clock) and enforces the heartbeat: a session with a HeartbeatPeriod whose last
    /// authentic record is more than twice the period old ends here, its keys dropped (the
    /// connection stays negotiated). Call it before [`Responder::handle`] and periodically.
    /// Returns `true` if this call ended the session.
    pub fn tick(&mut self, now_ms: u64) -> bool {
        self.now_ms = now_ms;
        let expired = match &self.state {
            State::Established(e) => {
                let window = u64::from(e.session.heartbeat_period()) * 2000;
                window != 0 && now_ms.saturating_sub(e.last_ms) > window
            }
            _ => false,
        };
        if expired {
            let state = core::mem::replace(&mut self.state, State::AwaitVersion);
            if let State::Established(e) = state {
                // `e.session` (secrets, keys, export master secret) drops and zeroizes here.
                self.state = State::Negotiated(e.conn);
            }
        }
        expired
    }

    /// Resets the connection as a GET_VERSION does, without answering anything: a session
    /// ends (its secrets, keys and export master secret drop and zeroize here), the
    /// negotiated connection and the measurement transcripts are forgotten, and the next
    /// request must be GET_VERSION. For a transport that hands this responder to another
    /// requester, or a device policy that ends a session on its own.
    #[inline(never)]
    pub fn reset(&mut self) {
        self.state = State::AwaitVersion;
        self.meas_negotiated = false;
        self.l1_plain = None;
        self.l1_session = None;
    }

    /// The HeartbeatPeriod to offer a requester with these capabilities.
    fn offered_heartbeat(&self, req_caps: CapFlags) -> u8 {
        if req_caps.has(CapFlags::HBEAT) {
            self.heartbeat_period
        } else {
            0
        }
    }

    /// The established session, if there is one.
    pub fn session(&self) -> Option<&Session> {
        match &self.state {
            State::Established(e) => Some(&e.session),
            _ => None,
        }
    }

    /// A short name of the current state (for logs).
    pub fn state_name(&self) -> &'static str {
        match self.state {
            State::AwaitVersion => "AwaitVersion",
            State::AwaitCapabilities(_) => "AwaitCapabilities",
            State::AwaitAlgorithms(_) => "AwaitAlgorithms",
            State::Negotiated(_) => "Negotiated",
            State::AwaitFinish(_) => "AwaitFinish",
            State::AwaitPskFinish(_) => "AwaitPskFinish",
            State::Established(_) => "Established",
        }
    }

    /// Handles one MCTP message (`0x05‖SPDM request` or a `0x06` secured record, decrypted in
    /// place) and writes the MCTP message to send back into `out`; returns its length.
    ///
    /// Every bad request is answered with an SPDM ERROR (plain, or inside the session when
    /// the request came inside it) and the responder keeps running; so is an authentic record
    /// carrying a non-SPDM application message (UnsupportedRequest, inside the session).
    ///
    /// # Errors
    /// Nothing is to be sent when this fails: [`Error::Message`] for an empty message or an
    /// unknown outer MCTP type (neither 0x05 nor 0x06); for a record, [`Error::UnknownSession`], [`Error::BadSequence`],
    /// [`Error::Authentication`] or [`Error::UnexpectedMessage`] (a record while no session
    /// keys exist), with the state unchanged; [`Error::Message`] for an authentic record of
    /// the established session whose plaintext holds no application message (AppDataLength
    /// beyond it, or no MCTP type): its sequence number is used up, as on the sender's side,
    /// and nothing else changes; [`Error::Encode`] if `out` is too small for the
    /// answer: nothing changed then, for a plain request as for a record (state, transcripts,
    /// L1/L2, negotiated data, session, heartbeat window), and nothing was drawn from the
    /// random source, so the same message sent again with a larger `out` gets the answer the
    /// first call would have given, and the connection goes on as if the short call had not
    /// happened. A record is not consumed (it was decrypted in place in `msg`, so send a copy
    /// of it again); a record of the handshake is refused unopened when `out` is shorter than
    /// its longest answer (104 bytes sealed), and a GET_MEASUREMENTS needs room for the blocks
    /// it names even when it is then refused (no block of that index);
    /// [`Error::Crypto`] if the provider or the random source fails.
    #[must_use = "the response must be sent"]
    pub fn handle(&mut self, msg: &mut [u8], out: &mut [u8]) -> Result<usize, Error> {
        let (&ty, _) = msg.split_first().ok_or(InvalidMessage::Truncated)?;
        match ty {
            MCTP_SPDM => {
                let req = msg.get(1..).unwrap_or(&[]);
                self.handle_plain(req, out)
            }
            MCTP_SECURED => self.handle_secured(msg, out),
            other => Err(InvalidMessage::UnexpectedMessageType(other).into()),
        }
    }

    /// The SPDMVersion of responses: 1.0 until a GET_CAPABILITIES has been accepted (the
    /// version is negotiated only then, so an ERROR before it carries 0x10), then 1.2.
    fn version(&self) -> Version {
        match self.state {
            State::AwaitVersion | State::AwaitCapabilities(_) => Version::V10,
            _ => Version::V12,
        }
    }

    fn supported(&self, code: Code) -> bool {
        let caps = self.capabilities();
        match code {
            Code::GET_VERSION
            | Code::GET_CAPABILITIES
            | Code::NEGOTIATE_ALGORITHMS
            | Code::GET_DIGESTS
            | Code::GET_CERTIFICATE
            | Code::CHALLENGE
            | Code::KEY_EXCHANGE
            | Code::FINISH
            | Code::HEARTBEAT
            | Code::KEY_UPDATE
            | Code::END_SESSION => true,
            Code::PSK_EXCHANGE => caps.0 & CapFlags::PSK_MASK != 0,
            Code::PSK_FINISH => caps.has(CapFlags::PSK_WITH_CONTEXT),
            Code::GET_MEASUREMENTS => caps.has(CapFlags::MEAS_SIG),
            Code::GET_ENCAPSULATED_REQUEST | Code::DELIVER_ENCAPSULATED_RESPONSE => {
                caps.has(CapFlags::ENCAP)
            }
            #[cfg(feature = "provisioning")]
            crate::msgs::provisioning::GET_CSR => caps.has(CapFlags::CSR),
            #[cfg(feature = "provisioning")]
            crate::msgs::provisioning::SET_CERTIFICATE => caps.has(CapFlags::SET_CERT),
            _ => false,
        }
    }

    /// Checks version and code; `None` if the request may go to the state handler. Every
    /// request after VERSION must carry 1.2 (the one version offered).
    fn precheck(&self, h: &Header) -> Option<Fault> {
        self.precheck_for(h, Version::V12)
    }

    fn precheck_for(&self, h: &Header, version: Version) -> Option<Fault> {
        // Only records come here with GET_VERSION (a plain one is handled first): it has no
        // place in a session, whatever version it carries.
        if h.code == Code::GET_VERSION {
            return Some(UNEXPECTED);
        }
        if h.version != version {
            return Some(fault(ErrorCode::VERSION_MISMATCH));
        }
        if !self.supported(h.code) {
            return Some(unsupported(h.code));
        }
        None
    }

    fn write_error(
        &self,
        f: Fault,
        version: Version,
        sink: Sink<'_>,
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let off = sink.offset();
        let n = ErrorRsp {
            version,
            code: f.code,
            data: f.data,
            extended: &[],
        }
        .encode(body(out, off)?)?;
        sink.finish(&self.provider, out, n)
    }

    /// The answer to an authentic application message of MCTP type `ty` in `session`: the
    /// handler's, sealed with the same type, or (no handler, or not served) an SPDM ERROR
    /// UnsupportedRequest in the session.
    fn app_answer(
        &mut self,
        session: &mut Session,
        ty: u8,
        req: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let id = session.id();
        let room = out.get_mut(record::SPDM_OFFSET..).unwrap_or_default();
        let answer = match self.app.as_deref_mut() {
            Some(app) => app.answer(id, ty, req, room),
            None => AppAnswer::Unserved,
        };
        match answer {
            AppAnswer::Written(n) => session.seal_typed_in_place(&self.provider, out, ty, n),
            AppAnswer::NeedsRoom(_) => Err(crate::EncodeError::BufferTooSmall.into()),
            AppAnswer::Unserved => {
                self.write_error(UNSUPPORTED_APP, Version::V12, Sink::Session(session), out)
            }
        }
    }

    /// An ERROR in the clear to a request refused before its handling (a message too short
    /// for a header, a GET_VERSION of another version): it ends L1 like any other ERROR, once
    /// it is written.
    fn plain_error_ending_l1(
        &mut self,
        f: Fault,
        version: Version,
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let r = self.write_error(f, version, Sink::Plain, out);
        if !no_room(&r) {
            self.l1_plain = None;
        }
        r
    }

    #[inline(never)]
    fn handle_plain(&mut self, req: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        let h = match Header::peek(req) {
            Ok(h) => h,
            Err(_) => return self.plain_error_ending_l1(INVALID, self.version(), out),
        };
        if h.code == Code::GET_VERSION {
            if h.version != Version::V10 {
                let f = fault(ErrorCode::VERSION_MISMATCH);
                return self.plain_error_ending_l1(f, Version::V10, out);
            }
            // GET_VERSION resets the connection, whatever the state (sessions end), once its
            // answer is written (`on_get_version` resets before it commits).
            let r = match self.on_get_version(req, out) {
                Ok(n) => return Ok(n),
                Err(Fail::Fault(f)) => self.write_error(f, Version::V10, Sink::Plain, out),
                Err(Fail::Local(e)) => Err(e),
            };
            if r.is_ok() {
                self.reset();
            }
            return r;
        }
        // Before GET_CAPABILITIES no version is negotiated: any other request this responder
        // serves is out of order, whatever version it carries (as libspdm: state before
        // version).
        if matches!(self.state, State::AwaitVersion)
            || (self.version() == Version::V10
                && h.code != Code::GET_CAPABILITIES
                && self.supported(h.code))
        {
            return self.write_error(UNEXPECTED, Version::V10, Sink::Plain, out);
        }
        let (r, error) = match self.precheck(&h) {
            Some(f) => (self.write_error(f, self.version(), Sink::Plain, out), true),
            None => {
                let mut state = core::mem::replace(&mut self.state, State::AwaitVersion);
                let res = self.step_plain_in_place(&mut state, &h, req, out);
                self.state = state;
                match res {
                    Ok(n) => (Ok(n), false),
                    // The request passed the version check, so it carries 1.2: a refused
                    // GET_CAPABILITIES too is answered in 1.2, the version it asked for.
                    Err(Fail::Fault(f)) => (self.write_error(f, h.version, Sink::Plain, out), true),
                    Err(Fail::Local(e)) => (Err(e), false),
                }
            }
        };
        // No room for the answer: nothing moved (every handler commits only once its answer
        // is written), and L1/L2 stay too. Else any ERROR (to GET_MEASUREMENTS or else) and
        // any other request end them as `reset_l1_on_plain` says.
        if !no_room(&r) {
            self.reset_l1_on_plain(h.code, error);
        }
        r
    }

    #[inline(never)]
    fn on_get_version(&mut self, req: &[u8], out: &mut [u8]) -> Result<usize, Fail> {
        let mut vca = Vca {
            buf: [0; VCA_BUFFER_LEN],
            len: 0,
            req_caps: CapFlags(0),
            req_dts: 0,
        };
        let mut r = Reader::new(req);
        r.take(Header::LEN)?;
        r.finish()?;
        vca.push(req)?;
        let entries = Version::V12.entry().to_le_bytes();
        let n = VersionRsp {
            version: Version::V10,
            entries: &entries,
        }
        .encode(body(out, 1).local()?)
        .local()?;
        vca.push(out.get(1..1 + n).unwrap_or(&[]))?;
        out[0] = MCTP_SPDM;
        self.reset();
        self.state = State::AwaitCapabilities(vca);
        Ok(1 + n)
    }

    #[inline(never)]
    fn step_plain(
        &mut self,
        state: State<P::Hash>,
        h: &Header,
        req: &[u8],
        out: &mut [u8],
    ) -> (State<P::Hash>, Result<usize, Fail>) {
        match (state, h.code) {
            (State::AwaitCapabilities(mut vca), Code::GET_CAPABILITIES) => {
                match self.on_capabilities(&mut vca, req, out) {
                    Ok(n) => (State::AwaitAlgorithms(vca), Ok(n)),
                    Err(e) => (State::AwaitCapabilities(vca), Err(e)),
                }
            }
            (State::AwaitAlgorithms(mut vca), Code::NEGOTIATE_ALGORITHMS) => {
                match self.on_algorithms(&mut vca, req, out) {
                    Ok((n, conn)) => (State::Negotiated(conn), Ok(n)),
                    Err(e) => (State::AwaitAlgorithms(vca), Err(e)),
                }
            }
            // GET_DIGESTS, GET_CERTIFICATE, GET_MEASUREMENTS, CHALLENGE and KEY_EXCHANGE:
            // in place, see `step_plain_in_place`.
            (State::Negotiated(conn), Code::PSK_EXCHANGE) if PSK => {
                match self.on_psk_exchange(&conn, req, out) {
                    Ok((n, next)) => (next, Ok(n)),
                    Err(e) => (State::Negotiated(conn), Err(e)),
                }
            }
            #[cfg(feature = "provisioning")]
            (
                State::Negotiated(conn),
                code @ (crate::msgs::provisioning::GET_CSR
                | crate::msgs::provisioning::SET_CERTIFICATE),
            ) => {
                let r = body(out, 1)
                    .map_err(Fail::Local)
                    .and_then(|dst| self.provisioning_rsp(code, None, conn.req_dts, req, dst));
                let r = r.map(|n| {
                    out[0] = MCTP_SPDM;
                    1 + n
                });
                (State::Negotiated(conn), r)
            }
            (State::AwaitFinish(hs), Code::FINISH) if hs.in_clear => {
                self.on_finish(hs, req, out, true)
            }
            (
                State::AwaitFinish(hs),
                code @ (Code::GET_ENCAPSULATED_REQUEST | Code::DELIVER_ENCAPSULATED_RESPONSE),
            ) if hs.in_clear => self.on_encap(hs, code, req, out, true),
            // A session-only request in the clear once a session could exist: the requester
            // has to send it inside one (SessionRequired, as libspdm answers). Before
            // ALGORITHMS it is simply out of order.
            (state, code) if is_session_only(code) && state.negotiated() => {
                (state, Err(fault(ErrorCode::SESSION_REQUIRED).into()))
            }
            (State::AwaitFinish(hs), _) => {
                let f = hs.mutual.refusal();
                (State::AwaitFinish(hs), Err(f.into()))
            }
            // One session at a time.
            (state @ State::Established(_), Code::KEY_EXCHANGE | Code::PSK_EXCHANGE) => {
                (state, Err(fault(ErrorCode::SESSION_LIMIT_EXCEEDED).into()))
            }
            (state, _) => (state, Err(UNEXPECTED.into())),
        }
    }

    /// A request in the clear on the state in place: the requests that keep the negotiated
    /// connection (or start a handshake from it) are handled here without moving the state
    /// (no copies of it on the stack); the others go through [`Responder::step_plain`].
    #[inline(never)]
    fn step_plain_in_place(
        &mut self,
        state: &mut State<P::Hash>,
        h: &Header,
        req: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Fail> {
        match (&mut *state, h.code) {
            (State::Negotiated(conn), Code::GET_DIGESTS) => self.on_digests(conn, req, out),
            (State::Negotiated(conn), Code::GET_CERTIFICATE) => self.on_certificate(conn, req, out),
            (State::Negotiated(conn), Code::GET_MEASUREMENTS) => {
                self.on_measurements_plain(&conn.a, req, out)
            }
            (State::Established(est), Code::GET_MEASUREMENTS) => {
                self.on_measurements_plain(&est.conn.a, req, out)
            }
            (State::Negotiated(conn), Code::CHALLENGE) => self.on_challenge(conn, req, out),
            (State::Negotiated(_), Code::KEY_EXCHANGE) => self.on_key_exchange(state, req, out),
            _ => self.step_plain_by_value(state, h, req, out),
        }
    }

    /// [`Responder::step_plain`] (which takes the state by value) on the state in place.
    #[inline(never)]
    fn step_plain_by_value(
        &mut self,
        state: &mut State<P::Hash>,
        h: &Header,
        req: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Fail> {
        let st = core::mem::replace(state, State::AwaitVersion);
        let (st, r) = self.step_plain(st, h, req, out);
        *state = st;
        r
    }

    /// GET_CAPABILITIES: check (parse and validate the requester's flags and sizes), verify
    /// (the response is built and both messages fit the VCA buffer), then commit (append to
    /// VCA, record the requester's capabilities). A refused request changes nothing, so a
    /// corrected GET_CAPABILITIES can follow.
    #[inline(never)]
    fn on_capabilities(
        &mut self,
        vca: &mut Vca,
        req: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Fail> {
        let c = GetCapabilities::parse(req)?.0;
        validate_requester_caps(&c)?;
        let n = CapabilitiesRsp(Capabilities {
            version: Version::V12,
            param1: 0,
            ct_exponent: 0,
            flags: self.capabilities(),
            data_transfer_size: self.config.data_transfer_size,
            max_spdm_msg_size: self.config.data_transfer_size,
        })
        .encode(body(out, 1).local()?)
        .local()?;
        let rsp = out.get(1..1 + n).ok_or(INVALID)?;
        if vca.len + req.len() + rsp.len() > VCA_BUFFER_LEN {
            return Err(INVALID.into());
        }
        vca.push(req)?;
        vca.push(rsp)?;
        vca.req_caps = c.flags;
        vca.req_dts = c.data_transfer_size;
        out[0] = MCTP_SPDM;
        Ok(1 + n)
    }

    #[inline(never)]
    fn on_algorithms(
        &mut self,
        vca: &mut Vca,
        req: &[u8],
        out: &mut [u8],
    ) -> Result<(usize, Conn<P::Hash>), Fail> {
        let na = NegotiateAlgorithms::parse(req)?;
        let set = self.config.algorithms;
        let s = na.structs;
        let has = |v: Option<u16>, bit: u16| v.is_some_and(|v| v & bit != 0);
        // The session algorithms only matter to a requester that can open a session (its
        // GET_CAPABILITIES was checked: ENCRYPT/MAC come with KEY_EX or PSK); a requester
        // without either may leave their AlgStructs out (selected: 0, KEY_EXCHANGE and
        // PSK_EXCHANGE then refused).
        let sessions = vca.req_caps.0 & (CapFlags::KEY_EX | CapFlags::PSK_MASK) != 0;
        // The DHE group and AEAD: the configured ones when offered, else a stronger built one
        // (see `DheGroup::select`); the hash and signature algorithm are the key's.
        let dhe = s.dhe.and_then(|v| set.dhe.select(v));
        let aead = s.aead.and_then(|v| set.aead.select(v));
        if na.base_hash & set.hash.bit() == 0
            || na.base_asym & set.asym.bit() == 0
            || sessions
                && (dhe.is_none()
                    || aead.is_none()
                    || !has(s.key_schedule, KEY_SCHEDULE_SPDM)
                    || na.other_params & OPAQUE_DATA_FMT1 == 0)
        {
            return Err(fault(ErrorCode::INVALID_REQUEST).into());
        }
        // Measurements need the DMTF specification on both sides (else none are served).
        let meas = self.meas.is_some() && na.meas_spec & MEAS_SPEC_DMTF != 0;
        let req_asym = self.select_req_asym(s.req_base_asym);
        let rsp = AlgorithmsRsp {
            version: Version::V12,
            meas_spec: if meas { MEAS_SPEC_DMTF } else { 0 },
            other_params: na.other_params & OPAQUE_DATA_FMT1,
            meas_hash: if meas {
                crate::measurements::meas_hash_bit(set.hash)
            } else {
                0
            },
            base_asym: set.asym.bit(),
            base_hash: set.hash.bit(),
            mel_spec: 0,
            ext_asym: &[],
            ext_hash: &[],
            structs: AlgStructs {
                // One AlgStruct per AlgStruct asked for, as for ReqBaseAsymAlg below.
                dhe: s.dhe.map(|_| dhe.map_or(0, DheGroup::bit)),
                aead: s.aead.map(|_| aead.map_or(0, AeadAlgo::bit)),
                req_base_asym: s
                    .req_base_asym
                    .map(|_| req_asym.map_or(0, |a| a.bit() as u16)),
                key_schedule: s.key_schedule.map(|v| v & KEY_SCHEDULE_SPDM),
            },
        };
        let n = rsp.encode(body(out, 1).local()?).local()?;
        let mut a = self.provider.hash(set.hash).local()?;
        self.meas_negotiated = meas;
        a.update(vca.buf.get(..vca.len).unwrap_or(&[]));
        a.update(req);
        a.update(out.get(1..1 + n).unwrap_or(&[]));
        out[0] = MCTP_SPDM;
        let conn = Conn {
            m1: a.clone(),
            a,
            authenticated: false,
            req_caps: vca.req_caps,
            req_dts: vca.req_dts,
            req_asym,
            set: AlgorithmSet {
                dhe: dhe.unwrap_or(set.dhe),
                aead: aead.unwrap_or(set.aead),
                ..set
            },
        };
        Ok((1 + n, conn))
    }

    /// Writes DIGESTS for a GET_DIGESTS into `dst` (no transcript: the caller decides).
    fn digests_rsp(&self, req: &[u8], dst: &mut [u8]) -> Result<usize, Fail> {
        crate::msgs::digests::GetDigests::parse(req)?;
        let n = DigestsRsp {
            version: Version::V12,
            param1: 0,
            slot_mask: u8::from(self.chain_hash.is_some()),
            digests: self.chain_hash.as_ref().map_or(&[][..], Digest::as_bytes),
        }
        .encode(dst)
        .local()?;
        Ok(n)
    }

    /// Writes CERTIFICATE for a GET_CERTIFICATE into `dst` (no transcript).
    fn certificate_rsp(&self, req_dts: u32, req: &[u8], dst: &mut [u8]) -> Result<usize, Fail> {
        let gc = GetCertificate::parse(req)?;
        let chain = self.cert_chain().ok_or(INVALID)?;
        let offset = usize::from(gc.offset);
        if gc.slot() != 0 || offset >= chain.len() {
            return Err(INVALID.into());
        }
        // Portion: what was asked, what is left, and what fits the smaller DataTransferSize
        // (8 bytes of CERTIFICATE header).
        let dts = self.config.data_transfer_size.min(req_dts) as usize;
        let max = dts.saturating_sub(8);
        let left = chain.len() - offset;
        let portion_len = usize::from(gc.length).min(left).min(max);
        if portion_len == 0 {
            return Err(INVALID.into());
        }
        let portion = chain.get(offset..offset + portion_len).ok_or(INVALID)?;
        let remainder = u16::try_from(left - portion_len).map_err(|_| INVALID)?;
        let n = CertificateRsp {
            version: Version::V12,
            param1: 0,
            param2: 0,
            portion,
            remainder,
        }
        .encode(dst)
        .local()?;
        Ok(n)
    }

    /// GET_DIGESTS in the clear: the pair joins the M1 transcript (message B).
    fn on_digests(
        &mut self,
        conn: &mut Conn<P::Hash>,
        req: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Fail> {
        let n = self.digests_rsp(req, body(out, 1).local()?)?;
        conn.m1.update(req);
        conn.m1.update(out.get(1..1 + n).unwrap_or(&[]));
        out[0] = MCTP_SPDM;
        Ok(1 + n)
    }

    /// GET_CERTIFICATE in the clear: the pair joins the M1 transcript (message B).
    fn on_certificate(
        &mut self,
        conn: &mut Conn<P::Hash>,
        req: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Fail> {
        let n = self.certificate_rsp(conn.req_dts, req, body(out, 1).local()?)?;
        conn.m1.update(req);
        conn.m1.update(out.get(1..1 + n).unwrap_or(&[]));
        out[0] = MCTP_SPDM;
        Ok(1 + n)
    }

    fn sign(&self, ctx: &str, th: &Digest, sig_out: &mut [u8]) -> Result<(), Error> {
        let set = self.config.algorithms;
        let d = signing_digest(&self.provider, set.hash, Version::V12, ctx, th)?;
        let s = set.asym.signature_len();
        let dst = sig_out
            .get_mut(..s)
            .ok_or(crate::EncodeError::BufferTooSmall)?;
        self.signer.sign_prehash(d.as_bytes(), dst)?;
        Ok(())
    }

    #[inline(never)]
    fn on_challenge(
        &mut self,
        conn: &mut Conn<P::Hash>,
        req: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Fail> {
        let ch = Challenge::parse(req)?;
        if ch.slot != 0 {
            return Err(INVALID.into());
        }
        // No chain (an unprovisioned device): slot 0 is empty, as invalid as any other.
        let chain_hash = self.chain_hash.ok_or(INVALID)?;
        let summary = self.summary(ch.meas_hash_type)?;
        let set = self.config.algorithms;
        let zeros = [0u8; MAX_SIGNATURE_LEN];
        let ca = ChallengeAuth {
            version: Version::V12,
            param1: 0,
            slot_mask: 1,
            cert_chain_hash: chain_hash.as_bytes(),
            nonce: zeros.get(..NONCE_LEN).unwrap_or(&[]),
            meas_summary_hash: summary.as_ref().map_or(&[][..], Digest::as_bytes),
            opaque: &[],
            requester_context: None,
            signature: zeros.get(..set.asym.signature_len()).unwrap_or(&[]),
        };
        let signed = ca.signed_len();
        // Written with a zero nonce first: the nonce is drawn only once the answer fits, right
        // into its place (after the header and the chain hash).
        let n = ca.encode(body(out, 1).local()?).local()?;
        let at = 1 + 4 + set.hash.len();
        self.rng
            .fill(out.get_mut(at..at + NONCE_LEN).unwrap_or(&mut []))
            .local()?;
        let mut m1 = conn.m1.clone();
        m1.update(req);
        m1.update(out.get(1..1 + signed).unwrap_or(&[]));
        let th = m1.finish();
        self.sign(
            context::RESPONDER_CHALLENGE_AUTH,
            &th,
            out.get_mut(1 + signed..).unwrap_or(&mut []),
        )
        .local()?;
        conn.m1 = conn.a.clone();
        conn.authenticated = true;
        out[0] = MCTP_SPDM;
        Ok(1 + n)
    }

    fn check_opaque(opaque: &[u8]) -> Result<bool, Fault> {
        if opaque.is_empty() {
            return Ok(false);
        }
        match SmVersions::find(opaque)? {
            SmVersions::Supported(list) => {
                if list
                    .chunks_exact(2)
                    .any(|c| u16::from_le_bytes([c[0], c[1]]) >> 8 == SECURED_MESSAGE_V12 >> 8)
                {
                    Ok(true)
                } else {
                    Err(INVALID)
                }
            }
            SmVersions::Selected(_) => Err(INVALID),
        }
    }

    fn session_id(&mut self, req_id: u16) -> Result<u32, Error> {
        let mut b = [0u8; 2];
        self.rng.fill(&mut b)?;
        Ok(u32::from(req_id) | (u32::from(u16::from_le_bytes(b)) << 16))
    }

    #[inline(never)]
    /// KEY_EXCHANGE on the `Negotiated` state in place: it becomes `AwaitFinish` (a refused
    /// request leaves it as it was). The handshake state is built right into the state.
    fn on_key_exchange(
        &mut self,
        state: &mut State<P::Hash>,
        req: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Fail> {
        let State::Negotiated(conn) = state else {
            return Err(UNEXPECTED.into());
        };
        if !conn.req_caps.has(CapFlags::KEY_EX) {
            return Err(unsupported(Code::KEY_EXCHANGE).into());
        }
        let set = conn.set;
        let sizes = set.sizes();
        let ke = KeyExchange::parse(req, sizes)?;
        // SessionPolicy bits 7:1 are reserved in 1.2 (ignored).
        if ke.slot != 0 {
            return Err(INVALID.into());
        }
        // No chain (an unprovisioned device): slot 0 is empty, as invalid as any other.
        let chain_hash = self.chain_hash.ok_or(INVALID)?;
        let summary = self.summary(ke.meas_hash_type)?;
        let opaque = Self::check_opaque(ke.opaque)?;
        let mutual = self.start_mut_auth(conn)?;
        // The requester's exchange data first: a refused one draws nothing.
        self.provider
            .dhe_check_public(set.dhe, ke.exchange_data)
            .map_err(|_| INVALID)?;
        let in_clear = self.config.handshake_in_the_clear
            && conn.req_caps.has(CapFlags::HANDSHAKE_IN_THE_CLEAR);
        let mut ob = [0u8; 16];
        let ol = if opaque {
            let mut w = Writer::new(&mut ob);
            SmVersions::Selected(SECURED_MESSAGE_V12)
                .emit(&mut w)
                .local()?;
            w.len()
        } else {
            0
        };
        // Nothing is drawn (DHE key, session ID, random) before the answer is known to fit.
        let vd_len = if in_clear { 0 } else { sizes.hash };
        room(
            out,
            8 + NONCE_LEN + sizes.dhe + digest_len(&summary) + 2 + ol + sizes.signature + vd_len,
        )?;
        let dhe = self
            .provider
            .dhe_generate(set.dhe, &mut *self.rng)
            .local()?;
        let mut pubkey = [0u8; MAX_DHE_LEN];
        let d = dhe.public_key(&mut pubkey).local()?;
        let shared = dhe.agree(ke.exchange_data).map_err(|_| INVALID)?;
        let session_id = self.session_id(ke.req_session_id).local()?;
        let mut random = [0u8; NONCE_LEN];
        self.rng.fill(&mut random).local()?;
        let zeros = [0u8; MAX_SIGNATURE_LEN];
        let heartbeat_period = self.offered_heartbeat(conn.req_caps);
        let ker = KeyExchangeRsp {
            version: Version::V12,
            heartbeat_period,
            rsp_session_id: (session_id >> 16) as u16,
            mut_auth_requested: mutual.requested,
            req_slot_id_param: Self::req_slot_id_param(&mutual),
            random: &random,
            exchange_data: pubkey.get(..d).unwrap_or(&[]),
            meas_summary_hash: summary.as_ref().map_or(&[][..], Digest::as_bytes),
            opaque: ob.get(..ol).unwrap_or(&[]),
            signature: zeros.get(..sizes.signature).unwrap_or(&[]),
            verify_data: if in_clear {
                None
            } else {
                zeros.get(..sizes.hash)
            },
        };
        let unsigned = ker.unsigned_len();
        let th1_len = ker.th1_len();
        let n = ker.encode(body(out, 1).local()?).local()?;
        let msg = body(out, 1).local()?;
        let mut th = conn.a.clone();
        th.update(chain_hash.as_bytes());
        th.update(req);
        th.update(msg.get(..unsigned).unwrap_or(&[]));
        let th_sig = th.clone().finish();
        self.sign(
            context::RESPONDER_KEY_EXCHANGE_RSP,
            &th_sig,
            msg.get_mut(unsigned..).unwrap_or(&mut []),
        )
        .local()?;
        th.update(msg.get(unsigned..th1_len).unwrap_or(&[]));
        let th1 = th.clone().finish();
        let ks = KeySchedule::new(&self.provider, set.hash, Version::V12);
        let hs = ks.handshake_secret(shared.as_bytes(), false).local()?;
        let secrets = ks.handshake(hs, &th1).local()?;
        if !in_clear {
            let vd = ks
                .verify_data(&secrets.response.finished_key, &th1)
                .local()?;
            let dst = msg.get_mut(th1_len..n).ok_or(INVALID)?;
            dst.copy_from_slice(vd.as_bytes());
            th.update(vd.as_bytes());
        }
        let req_keys = ks
            .direction_keys(set.aead, &secrets.request.secret)
            .local()?;
        let rsp_keys = ks
            .direction_keys(set.aead, &secrets.response.secret)
            .local()?;
        out[0] = MCTP_SPDM;
        *state = State::AwaitFinish(Handshake {
            conn: conn.clone(),
            th,
            session_id,
            secrets,
            req_keys,
            rsp_keys,
            in_clear,
            heartbeat_period,
            mutual,
        });
        Ok(1 + n)
    }

    #[inline(never)]
    fn on_psk_exchange(
        &mut self,
        conn: &Conn<P::Hash>,
        req: &[u8],
        out: &mut [u8],
    ) -> Result<(usize, State<P::Hash>), Fail> {
        let psk = self
            .config
            .psk
            .filter(|_| conn.req_caps.0 & CapFlags::PSK_MASK != 0)
            .ok_or(unsupported(Code::PSK_EXCHANGE))?;
        let set = conn.set;
        let px = PskExchange::parse(req)?;
        if px.psk_hint != psk.hint {
            return Err(INVALID.into());
        }
        let summary = self.summary(px.meas_hash_type)?;
        let opaque = Self::check_opaque(px.opaque)?;
        let h = set.hash.len();
        let ctx_len = if psk.with_context { h } else { 0 };
        let mut ob = [0u8; 16];
        let ol = if opaque {
            let mut w = Writer::new(&mut ob);
            SmVersions::Selected(SECURED_MESSAGE_V12)
                .emit(&mut w)
                .local()?;
            w.len()
        } else {
            0
        };
        // Nothing is drawn (session ID, context) before the answer is known to fit.
        room(out, 12 + digest_len(&summary) + ctx_len + ol + h)?;
        let session_id = self.session_id(px.req_session_id).local()?;
        let mut ctx = [0u8; crate::crypto::MAX_HASH_LEN];
        self.rng.fill(&mut ctx[..ctx_len]).local()?;
        let zeros = [0u8; crate::crypto::MAX_HASH_LEN];
        let heartbeat_period = self.offered_heartbeat(conn.req_caps);
        let pr = PskExchangeRsp {
            version: Version::V12,
            heartbeat_period,
            rsp_session_id: (session_id >> 16) as u16,
            meas_summary_hash: summary.as_ref().map_or(&[][..], Digest::as_bytes),
            responder_context: &ctx[..ctx_len],
            opaque: ob.get(..ol).unwrap_or(&[]),
            verify_data: &zeros[..h],
        };
        let th1_len = pr.th1_len();
        let n = pr.encode(body(out, 1).local()?).local()?;
        let msg = body(out, 1).local()?;
        let mut th = conn.a.clone();
        th.update(req);
        th.update(msg.get(..th1_len).unwrap_or(&[]));
        let th1 = th.clone().finish();
        let ks = KeySchedule::new(&self.provider, set.hash, Version::V12);
        let hs = ks.handshake_secret(psk.key, true).local()?;
        let secrets = ks.handshake(hs, &th1).local()?;
        let vd = ks
            .verify_data(&secrets.response.finished_key, &th1)
            .local()?;
        msg.get_mut(th1_len..n)
            .ok_or(INVALID)?
            .copy_from_slice(vd.as_bytes());
        th.update(vd.as_bytes());
        out[0] = MCTP_SPDM;
        if psk.with_context {
            let req_keys = ks
                .direction_keys(set.aead, &secrets.request.secret)
                .local()?;
            let rsp_keys = ks
                .direction_keys(set.aead, &secrets.response.secret)
                .local()?;
            Ok((
                1 + n,
                State::AwaitPskFinish(Handshake {
                    conn: conn.clone(),
                    th,
                    session_id,
                    secrets,
                    req_keys,
                    rsp_keys,
                    in_clear: false,
                    heartbeat_period,
                    mutual: mut_auth::Mutual::NONE,
                }),
            ))
        } else {
            // PSK without context: no PSK_FINISH, TH2 = TH over the full PSK_EXCHANGE_RSP.
            let th2 = th.finish();
            let session = self
                .establish(&ks, set, &secrets, &th2, session_id)
                .local()?
                .with_heartbeat_period(heartbeat_period)
                .with_requester_auth(RequesterAuth::PreSharedKey);
            Ok((
                1 + n,
                State::Established(Established {
                    conn: conn.clone(),
                    session,
                    last_ms: self.now_ms,
                }),
            ))
        }
    }

    fn establish(
        &self,
        ks: &KeySchedule<'_, P>,
        set: AlgorithmSet,
        secrets: &HandshakeSecrets,
        th2: &Digest,
        session_id: u32,
    ) -> Result<Session, Error> {
        let master = ks.master_secret(&secrets.handshake_secret)?;
        let data = ks.data(&master, th2)?;
        Session::new(
            &self.provider,
            session_id,
            Role::Responder,
            Version::V12,
            set,
            data,
        )
        // `master` drops (and zeroizes) here; `secrets` with the caller's handshake state.
    }

    /// FINISH in the clear, on a handshake state taken by value (see
    /// [`Responder::finish_in_place`]).
    #[inline(never)]
    fn on_finish(
        &mut self,
        hs: Handshake<P::Hash>,
        req: &[u8],
        out: &mut [u8],
        in_clear: bool,
    ) -> (State<P::Hash>, Result<usize, Fail>) {
        let mut state = State::AwaitFinish(hs);
        let r = self.finish_in_place(&mut state, req, out, in_clear);
        (state, r)
    }

    /// FINISH (plain when `in_clear`, else already opened from a record under the request
    /// handshake key) on the `AwaitFinish` state in place: it becomes `Established`, goes back
    /// to `Negotiated` (DecryptError, failed mutual authentication) or stays as it was (other
    /// refusals). In place, so that no copy of the handshake state lands on the stack.
    #[inline(never)]
    fn finish_in_place(
        &mut self,
        state: &mut State<P::Hash>,
        req: &[u8],
        out: &mut [u8],
        in_clear: bool,
    ) -> Result<usize, Fail> {
        // The checks and the requester's signature first, in a frame of their own (the
        // signature verification is the deepest part of FINISH).
        let input = match state {
            State::AwaitFinish(hs) => self.finish_input(hs, req),
            _ => return Err(UNEXPECTED.into()),
        };
        match input {
            Ok((th, verify_data)) => self.finish_checked(state, th, verify_data, out, in_clear),
            Err(r) if r.fatal => self.abort_in_place(state, r.fault, in_clear, out),
            Err(r) => Err(r.fault.into()),
        }
    }

    /// FINISH after [`Responder::finish_input`] accepted it: the verify data, FINISH_RSP, the
    /// session.
    #[inline(never)]
    fn finish_checked(
        &mut self,
        state: &mut State<P::Hash>,
        mut th: P::Hash,
        verify_data: &[u8],
        out: &mut [u8],
        in_clear: bool,
    ) -> Result<usize, Fail> {
        let State::AwaitFinish(hs) = state else {
            return Err(UNEXPECTED.into());
        };
        let set = self.config.algorithms;
        let requester_auth = if hs.mutual.requested != 0 {
            RequesterAuth::Signature
        } else {
            RequesterAuth::None
        };
        let ks = KeySchedule::new(&self.provider, set.hash, Version::V12);
        let th_f = th.clone().finish();
        if ks
            .check_verify_data(&hs.secrets.request.finished_key, &th_f, verify_data)
            .is_err()
        {
            // The handshake is over: answer DecryptError (under the handshake key when the
            // FINISH came in a record) and forget the session.
            let f = fault(ErrorCode::DECRYPT_ERROR);
            return self.abort_in_place(state, f, in_clear, out);
        }
        th.update(verify_data);
        let vd_buf;
        let rsp_vd = if in_clear {
            let mut t = th.clone();
            t.update(&[Version::V12.0, Code::FINISH_RSP.0, 0, 0]);
            vd_buf = ks
                .verify_data(&hs.secrets.response.finished_key, &t.finish())
                .local()?;
            Some(vd_buf.as_bytes())
        } else {
            None
        };
        let rsp = FinishRsp {
            version: Version::V12,
            verify_data: rsp_vd,
        };
        let off = if in_clear { 1 } else { record::SPDM_OFFSET };
        let n = body(out, off)
            .and_then(|b| Ok(rsp.encode(b)?))
            .map_err(Fail::Local)?;
        th.update(out.get(off..off + n).unwrap_or(&[]));
        let th2 = th.finish();
        let sent = if in_clear {
            Sink::Plain.finish(&self.provider, out, n)
        } else {
            record::seal_in_place(&self.provider, hs.session_id, &mut hs.rsp_keys, out, n)
        }
        .map_err(Fail::Local)?;
        let conn = hs.conn.clone();
        let established = self
            .establish(&ks, hs.conn.set, &hs.secrets, &th2, hs.session_id)
            .map(|session| {
                session
                    .with_heartbeat_period(hs.heartbeat_period)
                    .with_requester_auth(requester_auth)
            });
        // The handshake state (its secrets) drops and zeroizes here.
        match established {
            Ok(session) => {
                *state = State::Established(Established {
                    conn,
                    session,
                    last_ms: self.now_ms,
                });
                Ok(sent)
            }
            Err(e) => {
                *state = State::Negotiated(conn);
                Err(Fail::Local(e))
            }
        }
    }

    #[inline(never)]
    fn on_psk_finish(
        &mut self,
        mut hs: Handshake<P::Hash>,
        req: &[u8],
        out: &mut [u8],
    ) -> (State<P::Hash>, Result<usize, Fail>) {
        let set = self.config.algorithms;
        let pf = match PskFinish::parse(req, set.sizes()) {
            Ok(p) => p,
            Err(_) => return (State::AwaitPskFinish(hs), Err(INVALID.into())),
        };
        let ks = KeySchedule::new(&self.provider, set.hash, Version::V12);
        let mut th = hs.th.clone();
        th.update(req.get(..Header::LEN).unwrap_or(&[]));
        if ks
            .check_verify_data(
                &hs.secrets.request.finished_key,
                &th.clone().finish(),
                pf.verify_data,
            )
            .is_err()
        {
            let conn = hs.conn.clone();
            let f = fault(ErrorCode::DECRYPT_ERROR);
            let r = self.write_error(
                f,
                Version::V12,
                Sink::Keys(hs.session_id, &mut hs.rsp_keys),
                out,
            );
            return (State::Negotiated(conn), r.map_err(Fail::Local));
        }
        th.update(pf.verify_data);
        let rsp = PskFinishRsp {
            version: Version::V12,
            param1: 0,
            param2: 0,
        };
        let off = record::SPDM_OFFSET;
        let n = match body(out, off).and_then(|b| Ok(rsp.encode(b)?)) {
            Ok(n) => n,
            Err(e) => return (State::AwaitPskFinish(hs), Err(Fail::Local(e))),
        };
        th.update(out.get(off..off + n).unwrap_or(&[]));
        let th2 = th.finish();
        let sent =
            match record::seal_in_place(&self.provider, hs.session_id, &mut hs.rsp_keys, out, n) {
                Ok(s) => s,
                Err(e) => return (State::AwaitPskFinish(hs), Err(Fail::Local(e))),
            };
        let Handshake {
            conn,
            secrets,
            session_id,
            heartbeat_period,
            ..
        } = hs;
        match self.establish(&ks, conn.set, &secrets, &th2, session_id) {
            Ok(session) => (
                State::Established(Established {
                    conn,
                    session: session
                        .with_heartbeat_period(heartbeat_period)
                        .with_requester_auth(RequesterAuth::PreSharedKey),
                    last_ms: self.now_ms,
                }),
                Ok(sent),
            ),
            Err(e) => (State::Negotiated(conn), Err(Fail::Local(e))),
        }
    }

    #[inline(never)]
    fn handle_secured(&mut self, rec: &mut [u8], out: &mut [u8]) -> Result<usize, Error> {
        let sid = record::session_id(rec)?;
        let mut state = core::mem::replace(&mut self.state, State::AwaitVersion);
        let res = self.step_secured(&mut state, sid, rec, out);
        self.state = state;
        res
    }

    /// A record, on the state in place (no copy of the handshake or session state on the
    /// stack).
    #[inline(never)]
    fn step_secured(
        &mut self,
        state: &mut State<P::Hash>,
        sid: u32,
        rec: &mut [u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        // FINISH (with the encapsulated mutual-authentication requests before it) or
        // PSK_FINISH, in the first record of a handshake: one path for both.
        let (psk, hs) = match state {
            State::AwaitFinish(hs) if !hs.in_clear => (false, hs),
            State::AwaitPskFinish(hs) if PSK => (true, hs),
            State::Established(est) => {
                if sid != est.session.id() {
                    return Err(Error::UnknownSession);
                }
                let (ty, req) = est.session.open_app(&self.provider, rec)?;
                // Authentic: the heartbeat window restarts.
                let last = core::mem::replace(&mut est.last_ms, self.now_ms);
                let r = if ty == MCTP_SPDM {
                    self.on_session_request(state, req, out)
                } else {
                    self.app_answer(&mut est.session, ty, req, out)
                };
                // No room for the answer: the record is not consumed (nothing else moved,
                // see `on_session_request`), so the caller can send it again with a larger
                // `out`.
                if no_room(&r)
                    && let State::Established(est) = state
                {
                    est.session.unread();
                    est.last_ms = last;
                }
                return r;
            }
            _ => return Err(Error::UnexpectedMessage),
        };
        if sid != hs.session_id {
            return Err(Error::UnknownSession);
        }
        // Answering may move the handshake, so a record is opened only when its answer will
        // fit: otherwise it is refused unopened (not consumed; send it again with a larger
        // `out`).
        if out.len() < record::record_len(HANDSHAKE_ANSWER_MAX) {
            return Err(crate::EncodeError::BufferTooSmall.into());
        }
        let req = match record::open_app(&self.provider, sid, &mut hs.req_keys, rec) {
            Ok((MCTP_SPDM, r)) => r,
            Ok(_) => {
                return self.write_error(
                    UNSUPPORTED_APP,
                    Version::V12,
                    Sink::Keys(sid, &mut hs.rsp_keys),
                    out,
                );
            }
            Err(e) => return Err(e),
        };
        let Ok(h) = Header::peek(req) else {
            return self.write_error(
                INVALID,
                Version::V12,
                Sink::Keys(sid, &mut hs.rsp_keys),
                out,
            );
        };
        let encap = !psk
            && matches!(
                h.code,
                Code::GET_ENCAPSULATED_REQUEST | Code::DELIVER_ENCAPSULATED_RESPONSE
            );
        let expected = if psk { Code::PSK_FINISH } else { Code::FINISH };
        let f = self
            .precheck_for(&h, Version::V12)
            .or(if h.code == expected || encap {
                None
            } else {
                Some(hs.mutual.refusal())
            });
        if let Some(f) = f {
            return self.write_error(f, Version::V12, Sink::Keys(sid, &mut hs.rsp_keys), out);
        }
        let r = if psk {
            self.psk_finish_in_place(state, req, out)
        } else if encap {
            self.encap_in_place(state, h.code, req, out)
        } else {
            self.finish_in_place(state, req, out, false)
        };
        self.finish_step(state, r, out)
    }

    /// Turns a handler's fault into a plain ERROR (the handshake states write their own
    /// in-session errors).
    #[inline(never)]
    fn finish_step(
        &mut self,
        state: &mut State<P::Hash>,
        r: Result<usize, Fail>,
        out: &mut [u8],
    ) -> Result<usize, Error> {
        match r {
            Ok(n) => Ok(n),
            Err(Fail::Local(e)) => Err(e),
            Err(Fail::Fault(f)) => match state {
                State::AwaitFinish(hs) | State::AwaitPskFinish(hs) => self.write_error(
                    f,
                    Version::V12,
                    Sink::Keys(hs.session_id, &mut hs.rsp_keys),
                    out,
                ),
                _ => self.write_error(f, Version::V12, Sink::Plain, out),
            },
        }
    }

    /// GET_ENCAPSULATED_REQUEST / DELIVER_ENCAPSULATED_RESPONSE in a record, on the state in
    /// place ([`Responder::on_encap`] takes the handshake by value; its copies stay in this
    /// frame, which only this request uses).
    #[inline(never)]
    fn encap_in_place(
        &mut self,
        state: &mut State<P::Hash>,
        code: Code,
        req: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Fail> {
        match core::mem::replace(state, State::AwaitVersion) {
            State::AwaitFinish(hs) => {
                let (st, r) = self.on_encap(hs, code, req, out, false);
                *state = st;
                r
            }
            other => {
                *state = other;
                Err(UNEXPECTED.into())
            }
        }
    }

    /// PSK_FINISH, on the state in place (as [`Responder::encap_in_place`]).
    #[inline(never)]
    fn psk_finish_in_place(
        &mut self,
        state: &mut State<P::Hash>,
        req: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Fail> {
        match core::mem::replace(state, State::AwaitVersion) {
            State::AwaitPskFinish(hs) => {
                let (st, r) = self.on_psk_finish(hs, req, out);
                *state = st;
                r
            }
            other => {
                *state = other;
                Err(UNEXPECTED.into())
            }
        }
    }

    fn reply(&self, session: &mut Session, out: &mut [u8], m: &dyn Encode) -> Result<usize, Error> {
        let n = m.encode(session_body(out)?)?;
        session.seal_in_place(&self.provider, out, n)
    }

    #[inline(never)]
    /// A request of the established session, on the state in place.
    fn on_session_request(
        &mut self,
        state: &mut State<P::Hash>,
        req: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let State::Established(est) = state else {
            return Err(Error::UnexpectedMessage);
        };
        let h = match Header::peek(req) {
            Ok(h) => h,
            Err(_) => {
                // An ERROR like any other: it ends the session's L1/L2 (once it is written).
                let r =
                    self.write_error(INVALID, Version::V12, Sink::Session(&mut est.session), out);
                if !no_room(&r) {
                    self.l1_session = None;
                }
                return r;
            }
        };
        // Any other request of the session ends its L1/L2, and so does a refused
        // GET_MEASUREMENTS; kept aside until the answer is built (no room for it: the request
        // is not consumed and the L1/L2 stays).
        let precheck = self.precheck_for(&h, Version::V12);
        let l1 = if h.code != Code::GET_MEASUREMENTS || precheck.is_some() {
            self.l1_session.take()
        } else {
            None
        };
        let r = match precheck {
            Some(f) => self.write_error(f, Version::V12, Sink::Session(&mut est.session), out),
            None => self.session_answer(state, &h, req, out),
        };
        if no_room(&r) && l1.is_some() {
            self.l1_session = l1;
        }
        r
    }

    /// The answer to an accepted request of the established session, written into `out` and
    /// sealed. Every response is built into [`session_body`] first, and state moves only once
    /// it is built (its record then always fits): an [`Error::Encode`] means that nothing
    /// moved.
    fn session_answer(
        &mut self,
        state: &mut State<P::Hash>,
        h: &Header,
        req: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let State::Established(est) = state else {
            return Err(Error::UnexpectedMessage);
        };
        match h.code {
            Code::GET_MEASUREMENTS => {
                let built = session_body(out)
                    .map_err(Fail::Local)
                    .and_then(|dst| self.measurements_rsp(&est.conn.a, true, req, dst));
                match built {
                    Ok(n) => est.session.seal_in_place(&self.provider, out, n),
                    Err(Fail::Fault(f)) => {
                        // The ERROR ends the L2 once it is sealed.
                        let r =
                            self.write_error(f, Version::V12, Sink::Session(&mut est.session), out);
                        if r.is_ok() {
                            self.l1_session = None;
                        }
                        r
                    }
                    Err(Fail::Local(e)) => Err(e),
                }
            }
            Code::HEARTBEAT => {
                if heartbeat::Heartbeat::parse(req).is_err() {
                    let r = self.write_error(
                        INVALID,
                        Version::V12,
                        Sink::Session(&mut est.session),
                        out,
                    );
                    return r;
                }
                let ack = heartbeat::HeartbeatAck {
                    version: Version::V12,
                    param1: 0,
                    param2: 0,
                };
                self.reply(&mut est.session, out, &ack)
            }
            Code::KEY_UPDATE => {
                let ku = match KeyUpdate::parse(req) {
                    Ok(k)
                        if matches!(
                            KeyUpdateOp(k.param1),
                            KeyUpdateOp::UPDATE_KEY
                                | KeyUpdateOp::UPDATE_ALL_KEYS
                                | KeyUpdateOp::VERIFY_NEW_KEY
                        ) =>
                    {
                        k
                    }
                    _ => {
                        let r = self.write_error(
                            INVALID,
                            Version::V12,
                            Sink::Session(&mut est.session),
                            out,
                        );
                        return r;
                    }
                };
                // The request direction changes for UpdateKey and UpdateAllKeys (the next
                // request comes under the new key); for UpdateAllKeys the ACK already goes
                // under the new response key. The ACK is built first (no room: no change).
                let ack = KeyUpdateAck {
                    version: Version::V12,
                    param1: ku.param1,
                    param2: ku.param2,
                };
                let n = ack.encode(session_body(out)?)?;
                let upd = match KeyUpdateOp(ku.param1) {
                    KeyUpdateOp::UPDATE_KEY => est.session.update(&self.provider, Dir::Request),
                    KeyUpdateOp::UPDATE_ALL_KEYS => est
                        .session
                        .update(&self.provider, Dir::Request)
                        .and_then(|()| est.session.update(&self.provider, Dir::Response)),
                    _ => Ok(()),
                };
                upd?;
                est.session.seal_in_place(&self.provider, out, n)
            }
            Code::END_SESSION => {
                if end_session::EndSession::parse(req).is_err() {
                    let r = self.write_error(
                        INVALID,
                        Version::V12,
                        Sink::Session(&mut est.session),
                        out,
                    );
                    return r;
                }
                let ack = end_session::EndSessionAck {
                    version: Version::V12,
                    param1: 0,
                    param2: 0,
                };
                let r = self.reply(&mut est.session, out, &ack);
                if r.is_ok() {
                    // The session ends once its ACK is sealed; its keys drop with it.
                    let conn = est.conn.clone();
                    *state = State::Negotiated(conn);
                }
                r
            }
            #[cfg(feature = "provisioning")]
            code @ (crate::msgs::provisioning::GET_CSR
            | crate::msgs::provisioning::SET_CERTIFICATE) => {
                let authenticated = est.session.requester_auth().is_authenticated();
                let built = session_body(out).map_err(Fail::Local).and_then(|dst| {
                    self.provisioning_rsp(code, Some(authenticated), est.conn.req_dts, req, dst)
                });
                match built {
                    Ok(n) => est.session.seal_in_place(&self.provider, out, n),
                    Err(Fail::Fault(f)) => {
                        self.write_error(f, Version::V12, Sink::Session(&mut est.session), out)
                    }
                    Err(Fail::Local(e)) => Err(e),
                }
            }
            // GET_DIGESTS and GET_CERTIFICATE inside the session (as libspdm allows): served
            // under the session keys and, as in libspdm, not part of any transcript (message
            // B only collects the pairs sent in the clear).
            Code::GET_DIGESTS | Code::GET_CERTIFICATE => {
                let built = session_body(out).map_err(Fail::Local).and_then(|dst| {
                    if h.code == Code::GET_DIGESTS {
                        self.digests_rsp(req, dst)
                    } else {
                        self.certificate_rsp(est.conn.req_dts, req, dst)
                    }
                });
                match built {
                    Ok(n) => est.session.seal_in_place(&self.provider, out, n),
                    Err(Fail::Fault(f)) => {
                        self.write_error(f, Version::V12, Sink::Session(&mut est.session), out)
                    }
                    Err(Fail::Local(e)) => Err(e),
                }
            }
            _ => self.write_error(
                UNEXPECTED,
                Version::V12,
                Sink::Session(&mut est.session),
                out,
            ),
        }
    }
}

/// Measurements (GET_MEASUREMENTS, L1/L2, the summary hash).
impl<P: CryptoProvider, S: Signer> Responder<'_, P, S> {
    /// A request in the clear other than GET_MEASUREMENTS, and any refused one (`error`),
    /// ends the L1/L2 outside sessions; one that starts a session ends the session's.
    fn reset_l1_on_plain(&mut self, code: Code, error: bool) {
        if error || code != Code::GET_MEASUREMENTS {
            self.l1_plain = None;
        }
        if matches!(code, Code::KEY_EXCHANGE | Code::PSK_EXCHANGE) {
            self.l1_session = None;
        }
        // GET_MEASUREMENTS, KEY_EXCHANGE or PSK_EXCHANGE without a completed CHALLENGE
        // before it resets M1 (message B): a later CHALLENGE signs A ‖ what follows.
        if !error
            && matches!(
                code,
                Code::GET_MEASUREMENTS | Code::KEY_EXCHANGE | Code::PSK_EXCHANGE
            )
            && let Some(c) = self.state.conn_mut()
            && !c.authenticated
        {
            c.m1 = c.a.clone();
        }
    }

    /// The measurement summary hash a CHALLENGE / KEY_EXCHANGE / PSK_EXCHANGE asked for.
    /// A non-zero type without negotiated measurements, or an undefined type, is
    /// InvalidRequest.
    fn summary(&self, ty: u8) -> Result<Option<Digest>, Fail> {
        if ty == 0 {
            return Ok(None);
        }
        let src = self.meas.filter(|_| self.meas_negotiated).ok_or(INVALID)?;
        let t = crate::measurements::SummaryType::from_u8(ty).ok_or(INVALID)?;
        crate::measurements::summary_hash(&self.provider, self.config.algorithms.hash, src, t)
            .map_err(Fail::Local)
    }

    /// GET_MEASUREMENTS in the clear.
    fn on_measurements_plain(
        &mut self,
        vca: &P::Hash,
        req: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Fail> {
        let n = self.measurements_rsp(vca, false, req, body(out, 1).local()?)?;
        out[0] = MCTP_SPDM;
        Ok(1 + n)
    }

    /// Writes MEASUREMENTS for a GET_MEASUREMENTS into `dst` and extends the L1/L2 of the
    /// context (`session`: the session's, else the one outside sessions). A signed response
    /// ends the transcript. The L1/L2 is taken only once the response is known to fit `dst`:
    /// a fault changes nothing (the caller ends the L1/L2 once its ERROR is written).
    #[inline(never)]
    fn measurements_rsp(
        &mut self,
        vca: &P::Hash,
        session: bool,
        req: &[u8],
        dst: &mut [u8],
    ) -> Result<usize, Fail> {
        use crate::measurements::value_type::RAW;
        use crate::msgs::measurements::{
            BLOCK_HEADER_LEN, ContentChanged, DMTF_HEADER_LEN, GetMeasurements, MAX_RECORD_LEN,
            MeasurementBlock, OP_ALL, OP_COUNT, u24,
        };
        let src = self
            .meas
            .filter(|_| self.meas_negotiated)
            .ok_or(UNEXPECTED)?;
        let gm = GetMeasurements::parse(req)?;
        let slot = match gm.signed {
            // Only slot 0 holds a key (no provisioned public key); SlotIDParam bits 7:4 are
            // reserved.
            Some((_, slot)) if slot & 0x0F != 0 => return Err(INVALID.into()),
            Some(_) => Some(0),
            None => None,
        };
        let set = self.config.algorithms;
        let count = src.count();
        let unspecified = fault(ErrorCode::UNSPECIFIED);
        let total = u8::try_from(count)
            .ok()
            .filter(|&c| c != 0xFF)
            .ok_or(unspecified)?;
        let generation = src.generation();
        let op = gm.operation;
        let hdr_len = 8;
        if dst.len() < hdr_len {
            return Err(Fail::Local(crate::EncodeError::BufferTooSmall.into()));
        }
        let mut pos = hdr_len;
        let mut blocks = 0u8;
        if op != OP_COUNT {
            let hl = BLOCK_HEADER_LEN + DMTF_HEADER_LEN;
            for n in 0..count {
                let value = dst
                    .get_mut(pos + hl..)
                    .ok_or(Fail::Local(crate::EncodeError::BufferTooSmall.into()))?;
                let info = src
                    .block(n, value)
                    .ok_or(Fail::Local(crate::EncodeError::BufferTooSmall.into()))?;
                if info.index == 0
                    || info.index == 0xFF
                    || info.len > value.len()
                    || (info.value_type & RAW == 0 && info.len != set.hash.len())
                {
                    return Err(unspecified.into());
                }
                if op != OP_ALL && info.index != op {
                    continue;
                }
                let mut w = Writer::new(dst.get_mut(pos..pos + hl).unwrap_or(&mut []));
                MeasurementBlock::emit_header(&mut w, info.index, info.value_type, info.len)
                    .local()?;
                pos += hl + info.len;
                blocks += 1;
            }
            if blocks == 0 || (op != OP_ALL && blocks != 1) {
                // An index with no block (or a device without blocks for 0xFF).
                return Err(INVALID.into());
            }
        }
        let record_len = pos - hdr_len;
        if record_len > MAX_RECORD_LEN {
            return Err(unspecified.into());
        }
        let signed_end = pos + NONCE_LEN + 2;
        let sig_len = if slot.is_some() {
            set.asym.signature_len()
        } else {
            0
        };
        let end = signed_end + sig_len;
        if dst.len() < end {
            return Err(Fail::Local(crate::EncodeError::BufferTooSmall.into()));
        }
        self.rng.fill(&mut dst[pos..pos + NONCE_LEN]).local()?;
        dst[pos + NONCE_LEN..signed_end].fill(0);
        // Taken out: left `None` (reset) unless this response extends it.
        let log = if session {
            self.l1_session.take()
        } else {
            self.l1_plain.take()
        };
        let mut log = log.unwrap_or(MeasLog {
            l: vca.clone(),
            generation,
        });
        let param2 = match slot {
            Some(s) => {
                let changed = match (log.generation, generation) {
                    (Some(a), Some(b)) if a == b => ContentChanged::Unchanged,
                    (Some(_), Some(_)) => ContentChanged::Changed,
                    _ => ContentChanged::NotDetected,
                };
                s | changed.bits()
            }
            None => 0,
        };
        let rl = u24(record_len);
        dst[..hdr_len].copy_from_slice(&[
            Version::V12.0,
            Code::MEASUREMENTS.0,
            if op == OP_COUNT { total } else { 0 },
            param2,
            if op == OP_COUNT { 0 } else { blocks },
            rl[0],
            rl[1],
            rl[2],
        ]);
        log.l.update(req);
        log.l.update(&dst[..signed_end]);
        if slot.is_some() {
            let th = log.l.finish();
            self.sign(
                context::RESPONDER_MEASUREMENTS,
                &th,
                &mut dst[signed_end..end],
            )
            .local()?;
            // A signed response ends L1/L2 (the log stays reset).
        } else if session {
            self.l1_session = Some(log);
        } else {
            self.l1_plain = Some(log);
        }
        Ok(end)
    }
}
