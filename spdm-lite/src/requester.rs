//! The SPDM requester (the ECU): a sans-IO state machine of consumed states.
//!
//! Quinn-style surface: [`Requester::write_request`] writes the next MCTP message to send into
//! a caller buffer, [`Requester::handle_response`] takes what came back (decrypting records in
//! place). The handshake runs VCA, then either GET_DIGESTS, GET_CERTIFICATE (in portions of
//! the negotiated size), optionally CHALLENGE, KEY_EXCHANGE and FINISH, or PSK_EXCHANGE and,
//! when the responder uses a PSK context, PSK_FINISH. When [`Status::Established`] is returned,
//! [`Requester::into_session`] turns the requester into a [`RequesterSession`]; the handshake
//! secrets die with the requester (snow-style).
//!
//! Any failure leaves the requester unusable ([`Error::Poisoned`] afterwards): a requester
//! restarts from GET_VERSION.

#[path = "requester_mut_auth.rs"]
mod mut_auth;

use crate::cert::{CertError, ChainVerifier};
use crate::crypto::{
    AlgorithmSet, AsymAlgo, CryptoProvider, DheSecret, Digest, HashCtx, MAX_DHE_LEN, MAX_HASH_LEN,
    MAX_SIGNATURE_LEN, RandomSource,
};
use crate::error::{Error, InvalidMessage};
use crate::key_schedule::{HandshakeSecrets, KeySchedule};
use crate::measurements::{L1L2, SummaryType};
use crate::msgs::algorithms::{
    AlgStructs, AlgorithmsRsp, KEY_SCHEDULE_SPDM, MEAS_SPEC_DMTF, NegotiateAlgorithms,
    OPAQUE_DATA_FMT1,
};
use crate::msgs::capabilities::{CapFlags, Capabilities, CapabilitiesRsp, GetCapabilities};
use crate::msgs::certificate::{CertificateRsp, GetCertificate};
use crate::msgs::challenge::{Challenge, ChallengeAuth};
use crate::msgs::digests::{DigestsRsp, GetDigests};
use crate::msgs::end_session::{EndSession, EndSessionAck};
use crate::msgs::error::ErrorRsp;
use crate::msgs::finish::FinishRsp;
use crate::msgs::heartbeat::{Heartbeat, HeartbeatAck};
use crate::msgs::key_exchange::{KeyExchange, KeyExchangeRsp};
use crate::msgs::key_update::{KeyUpdate, KeyUpdateAck, KeyUpdateOp};
use crate::msgs::opaque::{SECURED_MESSAGE_V12, SmVersions};
use crate::msgs::psk::{PskExchange, PskExchangeRsp, PskFinishRsp};
use crate::msgs::version::{GetVersion, VersionRsp};
use crate::msgs::{Code, Encode, Header, NONCE_LEN, Version};
use crate::mut_auth::RequesterIdentity;
use crate::record::{self, DirectionKeys, MCTP_SECURED, MCTP_SPDM};
use crate::responder::{MIN_DATA_TRANSFER_SIZE, VCA_BUFFER_LEN};
use crate::session::{Dir, RequesterAuth, Role, Session};
use crate::transcript::{context, signing_digest};

/// Largest SEC1 public key of a built curve (`04‖X‖Y`: 97 bytes on P-384, 65 on P-256).
const MAX_SEC1_LEN: usize = 1 + crate::crypto::MAX_DHE_LEN;

/// How the requester authenticates the responder.
pub enum Auth<'a> {
    /// Certificate-based: fetch the slot-0 chain into `chain_buf`, validate it with
    /// `verifier`, optionally CHALLENGE, then KEY_EXCHANGE + FINISH.
    Certificate {
        /// Validates the chain and yields the leaf key.
        verifier: &'a dyn ChainVerifier,
        /// Where the chain is collected (no allocation).
        chain_buf: &'a mut [u8],
        /// Run CHALLENGE before KEY_EXCHANGE.
        challenge: bool,
    },
    /// Pre-shared key: PSK_EXCHANGE (+ PSK_FINISH).
    Psk {
        /// The PSK hint sent to the responder.
        hint: &'a [u8],
        /// The pre-shared key.
        key: &'a [u8],
    },
}

impl core::fmt::Debug for Auth<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Certificate { challenge, .. } => f
                .debug_struct("Certificate")
                .field("challenge", challenge)
                .finish_non_exhaustive(),
            Self::Psk { hint, .. } => f
                .debug_struct("Psk")
                .field("hint", hint)
                .finish_non_exhaustive(),
        }
    }
}

/// What the requester offers.
#[derive(Clone, Copy, Debug)]
pub struct RequesterConfig<'a> {
    /// Algorithm sets offered; the responder's choice must be one of them.
    pub algorithms: &'a [AlgorithmSet],
    /// Offer HANDSHAKE_IN_THE_CLEAR.
    pub handshake_in_the_clear: bool,
    /// DataTransferSize and MaxSPDMmsgSize advertised (at least 42).
    pub data_transfer_size: u32,
}

/// Progress of the handshake after a response.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
#[must_use]
pub enum Status {
    /// Call [`Requester::write_request`] for the next request.
    Continue,
    /// The session is established: call [`Requester::into_session`].
    Established,
}

struct Vca {
    buf: [u8; VCA_BUFFER_LEN],
    len: usize,
    rsp_caps: CapFlags,
    rsp_dts: u32,
}

impl Vca {
    fn push(&mut self, bytes: &[u8]) -> Result<(), Error> {
        let end = self
            .len
            .checked_add(bytes.len())
            .ok_or(InvalidMessage::BadLength)?;
        self.buf
            .get_mut(self.len..end)
            .ok_or(InvalidMessage::BadLength)?
            .copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }
}

struct Conn<H> {
    a: H,
    m1: H,
    set: AlgorithmSet,
    rsp_caps: CapFlags,
    dts: u32,
    /// The responder's DataTransferSize: no request of ours may be longer (no chunking).
    rsp_dts: u32,
    in_clear: bool,
    /// Digest announced in DIGESTS, then the verified chain's hash.
    chain_digest: Option<Digest>,
    chain_len: usize,
    /// ReqBaseAsymAlg the responder selected (mutual authentication possible).
    req_asym: Option<AsymAlgo>,
}

impl<H> Conn<H> {
    /// Whether a request of `n` bytes fits the responder's DataTransferSize.
    fn fits(&self, n: usize) -> Result<(), Error> {
        if n > self.rsp_dts as usize {
            return Err(Error::Negotiation);
        }
        Ok(())
    }
}

struct Handshake<H> {
    conn: Conn<H>,
    th: H,
    session_id: u32,
    secrets: HandshakeSecrets,
    req_keys: DirectionKeys,
    rsp_keys: DirectionKeys,
    heartbeat_period: u8,
    /// Mutual authentication asked in KEY_EXCHANGE_RSP.
    mutual: Option<mut_auth::ReqMutual>,
}

enum St<H, D> {
    SendVersion,
    AwaitVersion(Vca),
    SendCapabilities(Vca),
    AwaitCapabilities(Vca),
    SendAlgorithms(Vca),
    AwaitAlgorithms(Vca),
    SendDigests(Conn<H>),
    AwaitDigests(Conn<H>),
    SendCertificate(Conn<H>),
    AwaitCertificate(Conn<H>),
    SendChallenge(Conn<H>),
    AwaitChallenge(Conn<H>, [u8; NONCE_LEN]),
    SendKeyExchange(Conn<H>),
    AwaitKeyExchange(Conn<H>, H, D, u16),
    SendEncap(Handshake<H>, mut_auth::Encap),
    /// An encapsulated message sent; the RequestID delivered (0 after GET_ENCAPSULATED_REQUEST).
    AwaitEncap(Handshake<H>, u8),
    SendFinish(Handshake<H>),
    AwaitFinish(Handshake<H>),
    SendPskExchange(Conn<H>),
    AwaitPskExchange(Conn<H>, H, u16),
    SendPskFinish(Handshake<H>),
    AwaitPskFinish(Handshake<H>),
    Established(Session),
    Failed,
}

/// The SPDM requester.
pub struct Requester<'a, P: CryptoProvider> {
    provider: P,
    rng: &'a mut dyn RandomSource,
    config: RequesterConfig<'a>,
    auth: Auth<'a>,
    leaf_key: [u8; MAX_SEC1_LEN],
    leaf_len: usize,
    state: St<P::Hash, P::Dhe>,
    /// MeasurementSummaryHashType asked for in CHALLENGE / KEY_EXCHANGE / PSK_EXCHANGE.
    meas_summary: SummaryType,
    /// The measurement summary hash received (the last one).
    summary: Option<Digest>,
    /// The MeasurementHashAlgo digest size, once ALGORITHMS selected measurements.
    meas_hash_len: Option<usize>,
    /// The hash state at the end of VCA (the start of every L1/L2).
    vca_hash: Option<P::Hash>,
    /// The requester's identity for mutual authentication.
    identity: Option<RequesterIdentity<'a>>,
}

impl<P: CryptoProvider> core::fmt::Debug for Requester<'_, P> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Requester")
            .field("config", &self.config)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

/// The NEGOTIATE_ALGORITHMS of a requester offering every set of `algorithms` (and
/// `req_base_asym`, the ReqBaseAsymAlg of mutual authentication, if any).
pub(crate) fn negotiate_algorithms(
    algorithms: &[AlgorithmSet],
    req_base_asym: Option<u16>,
) -> NegotiateAlgorithms<'static> {
    let (mut asym, mut hash, mut dhe, mut aead) = (0u32, 0u32, 0u16, 0u16);
    for s in algorithms {
        asym |= s.asym.bit();
        hash |= s.hash.bit();
        dhe |= s.dhe.bit();
        aead |= s.aead.bit();
    }
    NegotiateAlgorithms {
        version: Version::V12,
        meas_spec: MEAS_SPEC_DMTF,
        other_params: OPAQUE_DATA_FMT1,
        base_asym: asym,
        base_hash: hash,
        mel_spec: 0,
        ext_asym: &[],
        ext_hash: &[],
        structs: AlgStructs {
            dhe: Some(dhe),
            aead: Some(aead),
            req_base_asym,
            key_schedule: Some(KEY_SCHEDULE_SPDM),
        },
    }
}

/// The algorithms a responder selected in `a`, if this requester offered them (see
/// [`negotiate_algorithms`]): the hash and signature algorithm of one configured set (a
/// chain and key belong to one set), the DHE group and AEAD of any (the session's
/// algorithms are independent of the key), each one algorithm.
fn selected_set(algorithms: &[AlgorithmSet], a: &AlgorithmsRsp<'_>) -> Option<AlgorithmSet> {
    let base = algorithms
        .iter()
        .find(|s| a.base_hash == s.hash.bit() && a.base_asym == s.asym.bit())?;
    let dhe = algorithms
        .iter()
        .map(|s| s.dhe)
        .find(|d| a.structs.dhe == Some(d.bit()))?;
    let aead = algorithms
        .iter()
        .map(|s| s.aead)
        .find(|x| a.structs.aead == Some(x.bit()))?;
    Some(AlgorithmSet { dhe, aead, ..*base })
}

fn plain_body(out: &mut [u8]) -> Result<&mut [u8], Error> {
    out.get_mut(1..)
        .ok_or(crate::EncodeError::BufferTooSmall.into())
}

fn plain(out: &mut [u8], n: usize) -> Result<usize, Error> {
    *out.first_mut().ok_or(crate::EncodeError::BufferTooSmall)? = MCTP_SPDM;
    Ok(1 + n)
}

/// The SPDM message of a plain MCTP message, or `ERROR` turned into [`Error::PeerError`].
fn plain_msg(msg: &[u8]) -> Result<&[u8], Error> {
    match msg.split_first() {
        Some((&MCTP_SPDM, m)) => check_error(m),
        Some((&t, _)) => Err(InvalidMessage::UnexpectedMessageType(t).into()),
        None => Err(InvalidMessage::Truncated.into()),
    }
}

fn check_error(m: &[u8]) -> Result<&[u8], Error> {
    let h = Header::peek(m)?;
    if h.code == Code::ERROR {
        let e = ErrorRsp::parse(m)?;
        return Err(Error::PeerError(e.code.0));
    }
    // Every response after VERSION carries the negotiated version (only 1.2 is spoken).
    if h.code != Code::VERSION && h.version != Version::V12 {
        return Err(InvalidMessage::InvalidField.into());
    }
    Ok(m)
}

impl<'a, P: CryptoProvider> Requester<'a, P> {
    /// A requester about to send GET_VERSION.
    ///
    /// # Errors
    /// [`Error::Negotiation`] if no algorithm set is offered, a set offered is not built
    /// (features `set-a`, `set-b`) or the DataTransferSize is below 42.
    pub fn new(
        provider: P,
        rng: &'a mut dyn RandomSource,
        config: RequesterConfig<'a>,
        auth: Auth<'a>,
    ) -> Result<Self, Error> {
        if config.algorithms.is_empty()
            || !config.algorithms.iter().all(AlgorithmSet::is_built)
            || config.data_transfer_size < MIN_DATA_TRANSFER_SIZE
        {
            return Err(Error::Negotiation);
        }
        Ok(Self {
            provider,
            rng,
            config,
            auth,
            leaf_key: [0; MAX_SEC1_LEN],
            leaf_len: 0,
            state: St::SendVersion,
            meas_summary: SummaryType::None,
            summary: None,
            meas_hash_len: None,
            vca_hash: None,
            identity: None,
        })
    }

    /// Whether the session is established.
    pub fn is_established(&self) -> bool {
        matches!(self.state, St::Established(_))
    }

    /// The validated certificate chain (SPDM format) once GET_CERTIFICATE completed.
    pub fn peer_chain(&self) -> Option<&[u8]> {
        match (&self.auth, self.leaf_len) {
            (Auth::Certificate { chain_buf, .. }, 1..) => {
                self.chain_len().and_then(|l| chain_buf.get(..l))
            }
            _ => None,
        }
    }

    fn chain_len(&self) -> Option<usize> {
        match &self.state {
            St::SendChallenge(c)
            | St::AwaitChallenge(c, _)
            | St::SendKeyExchange(c)
            | St::AwaitKeyExchange(c, ..) => Some(c.chain_len),
            St::SendFinish(h) | St::AwaitFinish(h) | St::SendEncap(h, _) | St::AwaitEncap(h, _) => {
                Some(h.conn.chain_len)
            }
            _ => None,
        }
    }

    /// Turns an established requester into its session; the handshake secrets are dropped.
    ///
    /// # Errors
    /// [`Error::UnexpectedMessage`] if the handshake has not finished.
    pub fn into_session(self) -> Result<RequesterSession<P>, Error> {
        match self.state {
            St::Established(session) => {
                let meas = match (self.vca_hash, self.meas_hash_len) {
                    (Some(vca), Some(digest_len)) => Some(MeasState {
                        l1: L1L2::new(vca.clone()),
                        plain_pending: None,
                        l2: L1L2::new(vca),
                        set: session.algorithms(),
                        digest_len,
                        leaf_key: self.leaf_key,
                        leaf_len: self.leaf_len,
                        summary: self.summary.map(|d| (self.meas_summary, d)),
                    }),
                    _ => None,
                };
                Ok(RequesterSession {
                    provider: self.provider,
                    session: Some(session),
                    pending: None,
                    tag: 0,
                    now_ms: 0,
                    last_request_ms: None,
                    meas,
                })
            }
            _ => Err(Error::UnexpectedMessage),
        }
    }

    /// Writes the next request (an MCTP message: `0x05‖SPDM` or a `0x06` record) into `out`;
    /// returns its length.
    ///
    /// # Errors
    /// [`Error::UnexpectedMessage`] if a response is awaited or the session is established;
    /// [`Error::Poisoned`] after a failure; [`Error::Encode`] if `out` is too small for the
    /// request (or its record): nothing changed then and nothing was drawn from the random
    /// source, so writing into a larger `out` gives the request a first call would have
    /// given; [`Error::Crypto`] if the provider or the random source fails;
    /// [`Error::Negotiation`] (poisoned) if the request is longer than the responder's
    /// DataTransferSize (this requester does not chunk).
    #[must_use = "the request must be sent"]
    pub fn write_request(&mut self, out: &mut [u8]) -> Result<usize, Error> {
        let state = core::mem::replace(&mut self.state, St::Failed);
        match self.write_step(state, out) {
            Ok((st, n)) => {
                self.state = st;
                Ok(n)
            }
            Err((st, e)) => {
                self.state = st;
                Err(e)
            }
        }
    }

    /// Handles a response (an MCTP message, decrypted in place if it is a record).
    ///
    /// # Errors
    /// [`Error::PeerError`] for an SPDM ERROR; [`Error::UnexpectedMessage`] for a response of
    /// the wrong kind; [`Error::Authentication`] for a signature, verify data or record that
    /// does not check; [`Error::Certificate`] for a refused chain; [`Error::Negotiation`];
    /// [`Error::Message`] for malformed bytes. After any error the requester is poisoned.
    pub fn handle_response(&mut self, msg: &mut [u8]) -> Result<Status, Error> {
        let state = core::mem::replace(&mut self.state, St::Failed);
        if matches!(state, St::Failed) {
            return Err(Error::Poisoned);
        }
        let st = self.handle_step(state, msg)?;
        let status = if matches!(st, St::Established(_)) {
            Status::Established
        } else {
            Status::Continue
        };
        self.state = st;
        Ok(status)
    }

    fn caps(&self) -> CapFlags {
        let mut f = CapFlags::ENCRYPT
            | CapFlags::MAC
            | CapFlags::KEY_EX
            | CapFlags::HBEAT
            | CapFlags::KEY_UPD;
        if matches!(self.auth, Auth::Psk { .. }) {
            f |= CapFlags::PSK;
        }
        if self.config.handshake_in_the_clear {
            f |= CapFlags::HANDSHAKE_IN_THE_CLEAR;
        }
        CapFlags(f | self.mut_auth_caps())
    }

    // The state travels by value (no allocator to box it in); the large Err is by design.
    #[allow(clippy::type_complexity, clippy::result_large_err)]
    fn write_step(
        &mut self,
        state: St<P::Hash, P::Dhe>,
        out: &mut [u8],
    ) -> Result<(St<P::Hash, P::Dhe>, usize), (St<P::Hash, P::Dhe>, Error)> {
        macro_rules! tri {
            ($st:expr, $e:expr) => {
                match $e {
                    Ok(v) => v,
                    Err(e) => return Err(($st, e.into())),
                }
            };
        }
        match state {
            St::SendVersion => {
                let m = GetVersion {
                    version: Version::V10,
                    param1: 0,
                    param2: 0,
                };
                let n = tri!(
                    St::SendVersion,
                    plain_body(out).and_then(|b| Ok(m.encode(b)?))
                );
                let mut vca = Vca {
                    buf: [0; VCA_BUFFER_LEN],
                    len: 0,
                    rsp_caps: CapFlags(0),
                    rsp_dts: 0,
                };
                tri!(St::SendVersion, vca.push(&out[1..1 + n]));
                Ok((St::AwaitVersion(vca), tri!(St::SendVersion, plain(out, n))))
            }
            St::SendCapabilities(mut vca) => {
                let m = GetCapabilities(Capabilities {
                    version: Version::V12,
                    param1: 0,
                    ct_exponent: 0,
                    flags: self.caps(),
                    data_transfer_size: self.config.data_transfer_size,
                    max_spdm_msg_size: self.config.data_transfer_size,
                });
                let n = match plain_body(out).and_then(|b| Ok(m.encode(b)?)) {
                    Ok(n) => n,
                    Err(e) => return Err((St::SendCapabilities(vca), e)),
                };
                if let Err(e) = vca.push(&out[1..1 + n]) {
                    return Err((St::Failed, e));
                }
                match plain(out, n) {
                    Ok(n) => Ok((St::AwaitCapabilities(vca), n)),
                    Err(e) => Err((St::Failed, e)),
                }
            }
            St::SendAlgorithms(mut vca) => {
                let m = negotiate_algorithms(self.config.algorithms, self.offered_req_asym());
                let n = match plain_body(out).and_then(|b| Ok(m.encode(b)?)) {
                    Ok(n) => n,
                    Err(e) => return Err((St::SendAlgorithms(vca), e)),
                };
                if let Err(e) = vca.push(&out[1..1 + n]) {
                    return Err((St::Failed, e));
                }
                match plain(out, n) {
                    Ok(n) => Ok((St::AwaitAlgorithms(vca), n)),
                    Err(e) => Err((St::Failed, e)),
                }
            }
            St::SendDigests(mut conn) => {
                let m = GetDigests {
                    version: Version::V12,
                    param1: 0,
                    param2: 0,
                };
                let n = match plain_body(out).and_then(|b| Ok(m.encode(b)?)) {
                    Ok(n) => n,
                    Err(e) => return Err((St::SendDigests(conn), e)),
                };
                conn.m1.update(&out[1..1 + n]);
                Ok(done(St::AwaitDigests(conn), n, out))
            }
            St::SendCertificate(mut conn) => {
                let max = (conn.dts as usize)
                    .saturating_sub(8)
                    .min(usize::from(u16::MAX));
                let Ok(offset) = u16::try_from(conn.chain_len) else {
                    return Err((St::Failed, CertError::TooLong.into()));
                };
                let m = GetCertificate {
                    version: Version::V12,
                    param1: 0,
                    param2: 0,
                    offset,
                    length: max as u16,
                };
                let n = match plain_body(out).and_then(|b| Ok(m.encode(b)?)) {
                    Ok(n) => n,
                    Err(e) => return Err((St::SendCertificate(conn), e)),
                };
                conn.m1.update(&out[1..1 + n]);
                Ok(done(St::AwaitCertificate(conn), n, out))
            }
            St::SendChallenge(mut conn) => {
                let mut m = Challenge {
                    version: Version::V12,
                    slot: 0,
                    meas_hash_type: self.meas_summary.to_u8(),
                    nonce: [0u8; NONCE_LEN],
                    requester_context: None,
                };
                // Written once with a zero nonce: the nonce is drawn only when it fits.
                tri!(
                    St::SendChallenge(conn),
                    plain_body(out).and_then(|b| Ok(m.encode(b)?))
                );
                tri!(St::SendChallenge(conn), self.rng.fill(&mut m.nonce));
                let n = tri!(
                    St::SendChallenge(conn),
                    plain_body(out).and_then(|b| Ok(m.encode(b)?))
                );
                conn.m1.update(&out[1..1 + n]);
                Ok(done(St::AwaitChallenge(conn, m.nonce), n, out))
            }
            St::SendKeyExchange(conn) => {
                let set = conn.set;
                let mut ob = [0u8; 20];
                let ol = {
                    let mut w = crate::codec::Writer::new(&mut ob);
                    tri!(
                        St::SendKeyExchange(conn),
                        SmVersions::Supported(&SECURED_MESSAGE_V12.to_le_bytes()).emit(&mut w)
                    );
                    w.len()
                };
                // Nothing is drawn (DHE key, random, session ID) before the request is known
                // to fit: header, session ID, policy and reserved (8 bytes), Random,
                // ExchangeData, the opaque data and its length.
                let len = 8 + NONCE_LEN + set.sizes().dhe + 2 + ol;
                tri!(St::Failed, conn.fits(len));
                if out.len() <= len {
                    return Err((
                        St::SendKeyExchange(conn),
                        crate::EncodeError::BufferTooSmall.into(),
                    ));
                }
                let dhe = match self.provider.dhe_generate(set.dhe, &mut *self.rng) {
                    Ok(d) => d,
                    Err(e) => return Err((St::SendKeyExchange(conn), e.into())),
                };
                let mut pk = [0u8; MAX_DHE_LEN];
                let d = tri!(St::SendKeyExchange(conn), dhe.public_key(&mut pk));
                let mut rnd = [0u8; NONCE_LEN + 2];
                tri!(St::SendKeyExchange(conn), self.rng.fill(&mut rnd));
                let req_id = u16::from_le_bytes([rnd[NONCE_LEN], rnd[NONCE_LEN + 1]]);
                let m = KeyExchange {
                    version: Version::V12,
                    meas_hash_type: self.meas_summary.to_u8(),
                    slot: 0,
                    req_session_id: req_id,
                    session_policy: 0,
                    random: &rnd[..NONCE_LEN],
                    exchange_data: &pk[..d],
                    opaque: &ob[..ol],
                };
                let n = match plain_body(out).and_then(|b| Ok(m.encode(b)?)) {
                    Ok(n) => n,
                    Err(e) => return Err((St::SendKeyExchange(conn), e)),
                };
                let mut th = conn.a.clone();
                th.update(conn.chain_digest.as_ref().map_or(&[][..], Digest::as_bytes));
                th.update(&out[1..1 + n]);
                Ok(done(St::AwaitKeyExchange(conn, th, dhe, req_id), n, out))
            }
            St::SendEncap(hs, next) => self.write_encap(hs, next, out),
            St::SendFinish(mut hs) => {
                let ks = KeySchedule::new(&self.provider, hs.conn.set.hash, Version::V12);
                // TH ‖ [Hash(Cm) ‖] header [‖ Signature] (mutual authentication signs it).
                let mut t = hs.th.clone();
                let mut sig = [0u8; MAX_SIGNATURE_LEN];
                let (header, sig_len) = tri!(
                    St::Failed,
                    self.finish_header_and_signature(&hs, &mut t, &mut sig)
                );
                let vd = tri!(
                    St::Failed,
                    ks.verify_data(&hs.secrets.request.finished_key, &t.clone().finish())
                );
                let off = if hs.conn.in_clear {
                    1
                } else {
                    record::SPDM_OFFSET
                };
                let n = header.len() + sig_len + vd.as_bytes().len();
                tri!(St::Failed, hs.conn.fits(n));
                // The whole message (its record) must fit before anything moves.
                let total = if hs.conn.in_clear {
                    1 + n
                } else {
                    record::record_len(n)
                };
                let out_len = out.len();
                let Some(dst) = out.get_mut(off..off + n).filter(|_| out_len >= total) else {
                    return Err((
                        St::SendFinish(hs),
                        crate::EncodeError::BufferTooSmall.into(),
                    ));
                };
                dst[..4].copy_from_slice(&header);
                dst[4..4 + sig_len].copy_from_slice(&sig[..sig_len]);
                dst[4 + sig_len..].copy_from_slice(vd.as_bytes());
                t.update(vd.as_bytes());
                hs.th = t;
                let sent = if hs.conn.in_clear {
                    plain(out, n)
                } else {
                    record::seal_in_place(&self.provider, hs.session_id, &mut hs.req_keys, out, n)
                };
                match sent {
                    Ok(s) => Ok((St::AwaitFinish(hs), s)),
                    Err(e) => Err((St::Failed, e)),
                }
            }
            St::SendPskExchange(conn) => {
                let Auth::Psk { hint, .. } = self.auth else {
                    return Err((St::Failed, Error::UnexpectedMessage));
                };
                let h = conn.set.hash.len();
                let mut ob = [0u8; 20];
                let ol = {
                    let mut w = crate::codec::Writer::new(&mut ob);
                    tri!(
                        St::SendPskExchange(conn),
                        SmVersions::Supported(&SECURED_MESSAGE_V12.to_le_bytes()).emit(&mut w)
                    );
                    w.len()
                };
                // Nothing is drawn (context, session ID) before the request is known to fit:
                // header, session ID and three lengths (12 bytes), hint, context, opaque data.
                tri!(St::Failed, conn.fits(12 + hint.len() + h + ol));
                if out.len() <= 12 + hint.len() + h + ol {
                    return Err((
                        St::SendPskExchange(conn),
                        crate::EncodeError::BufferTooSmall.into(),
                    ));
                }
                let mut rnd = [0u8; MAX_HASH_LEN + 2];
                tri!(St::SendPskExchange(conn), self.rng.fill(&mut rnd[..h + 2]));
                let req_id = u16::from_le_bytes([rnd[h], rnd[h + 1]]);
                let m = PskExchange {
                    version: Version::V12,
                    meas_hash_type: self.meas_summary.to_u8(),
                    session_policy: 0,
                    req_session_id: req_id,
                    psk_hint: hint,
                    requester_context: &rnd[..h],
                    opaque: &ob[..ol],
                };
                let n = match plain_body(out).and_then(|b| Ok(m.encode(b)?)) {
                    Ok(n) => n,
                    Err(e) => return Err((St::SendPskExchange(conn), e)),
                };
                let mut th = conn.a.clone();
                th.update(&out[1..1 + n]);
                Ok(done(St::AwaitPskExchange(conn, th, req_id), n, out))
            }
            St::SendPskFinish(mut hs) => {
                let ks = KeySchedule::new(&self.provider, hs.conn.set.hash, Version::V12);
                let header = [Version::V12.0, Code::PSK_FINISH.0, 0, 0];
                let mut t = hs.th.clone();
                t.update(&header);
                let vd = tri!(
                    St::Failed,
                    ks.verify_data(&hs.secrets.request.finished_key, &t.finish())
                );
                let off = record::SPDM_OFFSET;
                let n = header.len() + vd.as_bytes().len();
                tri!(St::Failed, hs.conn.fits(n));
                // The whole record must fit before anything moves.
                let out_len = out.len();
                let Some(dst) = out
                    .get_mut(off..off + n)
                    .filter(|_| out_len >= record::record_len(n))
                else {
                    return Err((
                        St::SendPskFinish(hs),
                        crate::EncodeError::BufferTooSmall.into(),
                    ));
                };
                dst[..4].copy_from_slice(&header);
                dst[4..].copy_from_slice(vd.as_bytes());
                hs.th.update(dst);
                match record::seal_in_place(&self.provider, hs.session_id, &mut hs.req_keys, out, n)
                {
                    Ok(s) => Ok((St::AwaitPskFinish(hs), s)),
                    Err(e) => Err((St::Failed, e)),
                }
            }
            St::Failed => Err((St::Failed, Error::Poisoned)),
            other => Err((other, Error::UnexpectedMessage)),
        }
    }

    fn handle_step(
        &mut self,
        state: St<P::Hash, P::Dhe>,
        msg: &mut [u8],
    ) -> Result<St<P::Hash, P::Dhe>, Error> {
        match state {
            St::AwaitVersion(mut vca) => {
                let m = plain_msg(msg)?;
                let v = VersionRsp::parse(m)?;
                if v.version != Version::V10 || !v.versions().any(|x| x == Version::V12) {
                    return Err(Error::Negotiation);
                }
                vca.push(m)?;
                Ok(St::SendCapabilities(vca))
            }
            St::AwaitCapabilities(mut vca) => {
                let m = plain_msg(msg)?;
                let c = CapabilitiesRsp::parse(m)?.0;
                if c.version != Version::V12 {
                    return Err(Error::Negotiation);
                }
                // The flag rules and sizes a responder must follow too: PSK_CAP 11b reserved,
                // 42 <= DataTransferSize <= MaxSPDMmsgSize, equal without CHUNK_CAP.
                if !crate::responder::caps_valid(&c) {
                    return Err(InvalidMessage::InvalidField.into());
                }
                let f = c.flags;
                let ok = match self.auth {
                    Auth::Certificate { challenge, .. } => {
                        f.has(CapFlags::CERT | CapFlags::KEY_EX)
                            && (!challenge || f.has(CapFlags::CHAL))
                    }
                    Auth::Psk { .. } => f.0 & CapFlags::PSK_MASK != 0,
                };
                if !ok || !f.has(CapFlags::ENCRYPT | CapFlags::MAC) {
                    return Err(Error::Negotiation);
                }
                vca.push(m)?;
                let meas_cap = f.0 & (CapFlags::MEAS_NO_SIG | CapFlags::MEAS_SIG);
                if meas_cap == CapFlags::MEAS_NO_SIG | CapFlags::MEAS_SIG
                    || (self.wants_summary() && meas_cap == 0)
                {
                    // MEAS_CAP = 11b is reserved; a summary needs a responder that measures
                    // (01b or 10b: the summary is covered by the signature or the verify data).
                    return Err(Error::Negotiation);
                }
                vca.rsp_caps = f;
                vca.rsp_dts = c.data_transfer_size;
                Ok(St::SendAlgorithms(vca))
            }
            St::AwaitAlgorithms(vca) => {
                let m = plain_msg(msg)?;
                let a = AlgorithmsRsp::parse(m)?;
                if a.version != Version::V12 {
                    return Err(Error::Negotiation);
                }
                let set = selected_set(self.config.algorithms, &a).ok_or(Error::Negotiation)?;
                if a.structs.key_schedule != Some(KEY_SCHEDULE_SPDM) {
                    return Err(Error::Negotiation);
                }
                self.meas_hash_len = Self::negotiated_meas(vca.rsp_caps, &a)?;
                let mut h = self.provider.hash(set.hash)?;
                h.update(vca.buf.get(..vca.len).unwrap_or(&[]));
                h.update(m);
                self.vca_hash = Some(h.clone());
                let conn = Conn {
                    m1: h.clone(),
                    a: h,
                    set,
                    rsp_caps: vca.rsp_caps,
                    dts: vca.rsp_dts.min(self.config.data_transfer_size),
                    rsp_dts: vca.rsp_dts,
                    in_clear: self.config.handshake_in_the_clear
                        && vca.rsp_caps.has(CapFlags::HANDSHAKE_IN_THE_CLEAR),
                    chain_digest: None,
                    chain_len: 0,
                    req_asym: a
                        .structs
                        .req_base_asym
                        .and_then(|b| AsymAlgo::from_bit(u32::from(b))),
                };
                Ok(match self.auth {
                    Auth::Certificate { .. } => St::SendDigests(conn),
                    Auth::Psk { .. } => St::SendPskExchange(conn),
                })
            }
            St::AwaitDigests(mut conn) => {
                let m = plain_msg(msg)?;
                let d = DigestsRsp::parse(m, conn.set.hash.len())?;
                let digest = d.digest(0, conn.set.hash.len()).ok_or(Error::Negotiation)?;
                conn.chain_digest = Some(Digest::from_slice(digest)?);
                conn.m1.update(m);
                Ok(St::SendCertificate(conn))
            }
            St::AwaitCertificate(mut conn) => {
                let m = plain_msg(msg)?;
                let c = CertificateRsp::parse(m)?;
                if c.portion.is_empty() || c.param1 & 0x0F != 0 {
                    return Err(InvalidMessage::InvalidField.into());
                }
                let Auth::Certificate {
                    verifier,
                    ref mut chain_buf,
                    challenge,
                } = self.auth
                else {
                    return Err(Error::UnexpectedMessage);
                };
                let end = conn.chain_len + c.portion.len();
                chain_buf
                    .get_mut(conn.chain_len..end)
                    .ok_or(CertError::TooLong)?
                    .copy_from_slice(c.portion);
                conn.chain_len = end;
                conn.m1.update(m);
                if c.remainder != 0 {
                    return Ok(St::SendCertificate(conn));
                }
                let chain = chain_buf.get(..end).unwrap_or(&[]);
                let mut h = self.provider.hash(conn.set.hash)?;
                h.update(chain);
                if Some(h.finish()) != conn.chain_digest {
                    return Err(CertError::DigestMismatch.into());
                }
                // The chain must be a responder identity (its leaf's EKU, when present, says so).
                self.leaf_len =
                    verifier.verify_chain(conn.set, Role::Responder, chain, &mut self.leaf_key)?;
                Ok(if challenge {
                    St::SendChallenge(conn)
                } else {
                    St::SendKeyExchange(conn)
                })
            }
            St::AwaitChallenge(mut conn, _nonce) => {
                let m = plain_msg(msg)?;
                let ca = ChallengeAuth::parse(m, conn.set.sizes(), self.wants_summary())?;
                let digest = conn.chain_digest.ok_or(Error::UnexpectedMessage)?;
                if ca.cert_chain_hash != digest.as_bytes() || ca.slot_mask & 1 == 0 {
                    return Err(Error::Authentication);
                }
                conn.m1.update(m.get(..ca.signed_len()).unwrap_or(&[]));
                let th = conn.m1.clone().finish();
                self.verify_sig(
                    conn.set,
                    context::RESPONDER_CHALLENGE_AUTH,
                    &th,
                    ca.signature,
                )?;
                self.keep_summary(ca.meas_summary_hash)?;
                conn.m1 = conn.a.clone();
                Ok(St::SendKeyExchange(conn))
            }
            St::AwaitKeyExchange(conn, mut th, dhe, req_id) => {
                let m = plain_msg(msg)?;
                let set = conn.set;
                let ker =
                    KeyExchangeRsp::parse(m, set.sizes(), self.wants_summary(), !conn.in_clear)?;
                let (mutual, encap) =
                    self.accept_mut_auth(&conn, ker.mut_auth_requested, ker.req_slot_id_param)?;
                check_sm_selection(ker.opaque)?;
                th.update(m.get(..ker.unsigned_len()).unwrap_or(&[]));
                let th_sig = th.clone().finish();
                self.verify_sig(
                    set,
                    context::RESPONDER_KEY_EXCHANGE_RSP,
                    &th_sig,
                    ker.signature,
                )?;
                th.update(ker.signature);
                self.keep_summary(ker.meas_summary_hash)?;
                let th1 = th.clone().finish();
                let shared = dhe.agree(ker.exchange_data)?;
                let ks = KeySchedule::new(&self.provider, set.hash, Version::V12);
                let secrets = ks.handshake(ks.handshake_secret(shared.as_bytes(), false)?, &th1)?;
                if let Some(vd) = ker.verify_data {
                    ks.check_verify_data(&secrets.response.finished_key, &th1, vd)?;
                    th.update(vd);
                }
                let req_keys = ks.direction_keys(set.aead, &secrets.request.secret)?;
                let rsp_keys = ks.direction_keys(set.aead, &secrets.response.secret)?;
                let hs = Handshake {
                    conn,
                    th,
                    session_id: u32::from(req_id) | (u32::from(ker.rsp_session_id) << 16),
                    secrets,
                    req_keys,
                    rsp_keys,
                    heartbeat_period: ker.heartbeat_period,
                    mutual,
                };
                Ok(if encap {
                    St::SendEncap(hs, mut_auth::Encap::Get)
                } else {
                    St::SendFinish(hs)
                })
            }
            St::AwaitEncap(hs, last_id) => self.handle_encap(hs, last_id, msg),
            St::AwaitFinish(mut hs) => {
                let set = hs.conn.set;
                let m: &[u8] = if hs.conn.in_clear {
                    plain_msg(msg)?
                } else {
                    check_error(record::open(
                        &self.provider,
                        hs.session_id,
                        &mut hs.rsp_keys,
                        msg,
                    )?)?
                };
                let fr = FinishRsp::parse(m, set.sizes(), hs.conn.in_clear)?;
                let ks = KeySchedule::new(&self.provider, set.hash, Version::V12);
                if let Some(vd) = fr.verify_data {
                    let mut t = hs.th.clone();
                    t.update(m.get(..Header::LEN).unwrap_or(&[]));
                    ks.check_verify_data(&hs.secrets.response.finished_key, &t.finish(), vd)?;
                }
                hs.th.update(m);
                let th2 = hs.th.clone().finish();
                self.establish(hs, &th2)
            }
            St::AwaitPskExchange(conn, mut th, req_id) => {
                let Auth::Psk { key, .. } = self.auth else {
                    return Err(Error::UnexpectedMessage);
                };
                let m = plain_msg(msg)?;
                let set = conn.set;
                let pr = PskExchangeRsp::parse(m, set.sizes(), self.wants_summary())?;
                check_sm_selection(pr.opaque)?;
                th.update(m.get(..pr.th1_len()).unwrap_or(&[]));
                self.keep_summary(pr.meas_summary_hash)?;
                let th1 = th.clone().finish();
                let ks = KeySchedule::new(&self.provider, set.hash, Version::V12);
                let secrets = ks.handshake(ks.handshake_secret(key, true)?, &th1)?;
                ks.check_verify_data(&secrets.response.finished_key, &th1, pr.verify_data)?;
                th.update(pr.verify_data);
                let req_keys = ks.direction_keys(set.aead, &secrets.request.secret)?;
                let rsp_keys = ks.direction_keys(set.aead, &secrets.response.secret)?;
                let with_context = conn.rsp_caps.has(CapFlags::PSK_WITH_CONTEXT);
                let hs = Handshake {
                    conn,
                    th,
                    session_id: u32::from(req_id) | (u32::from(pr.rsp_session_id) << 16),
                    secrets,
                    req_keys,
                    rsp_keys,
                    heartbeat_period: pr.heartbeat_period,
                    mutual: None,
                };
                if with_context {
                    Ok(St::SendPskFinish(hs))
                } else {
                    let th2 = hs.th.clone().finish();
                    self.establish(hs, &th2)
                }
            }
            St::AwaitPskFinish(mut hs) => {
                let m = check_error(record::open(
                    &self.provider,
                    hs.session_id,
                    &mut hs.rsp_keys,
                    msg,
                )?)?;
                PskFinishRsp::parse(m)?;
                hs.th.update(m);
                let th2 = hs.th.clone().finish();
                self.establish(hs, &th2)
            }
            St::Failed => Err(Error::Poisoned),
            _ => Err(Error::UnexpectedMessage),
        }
    }

    fn verify_sig(
        &self,
        set: AlgorithmSet,
        ctx: &str,
        th: &Digest,
        sig: &[u8],
    ) -> Result<(), Error> {
        let d = signing_digest(&self.provider, set.hash, Version::V12, ctx, th)?;
        let key = self.leaf_key.get(..self.leaf_len).unwrap_or(&[]);
        self.provider.ecdsa_verify(set.asym, key, d.as_bytes(), sig)
    }

    fn establish(
        &self,
        hs: Handshake<P::Hash>,
        th2: &Digest,
    ) -> Result<St<P::Hash, P::Dhe>, Error> {
        let set = hs.conn.set;
        let requester_auth = if hs.mutual.is_some() {
            RequesterAuth::Signature
        } else if matches!(self.auth, Auth::Psk { .. }) {
            RequesterAuth::PreSharedKey
        } else {
            RequesterAuth::None
        };
        let ks = KeySchedule::new(&self.provider, set.hash, Version::V12);
        let master = ks.master_secret(&hs.secrets.handshake_secret)?;
        let data = ks.data(&master, th2)?;
        let s = Session::new(
            &self.provider,
            hs.session_id,
            Role::Requester,
            Version::V12,
            set,
            data,
        )?
        .with_heartbeat_period(hs.heartbeat_period)
        .with_requester_auth(requester_auth);
        Ok(St::Established(s))
    }
}

/// Checks the secured-message version selection of KEY_EXCHANGE_RSP / PSK_EXCHANGE_RSP
/// opaque data: absent, or the DMTF element selecting 1.2 (the only version offered).
fn check_sm_selection(opaque: &[u8]) -> Result<(), Error> {
    if !opaque.is_empty() {
        match SmVersions::find(opaque)? {
            SmVersions::Selected(v) if v >> 8 == SECURED_MESSAGE_V12 >> 8 => {}
            _ => return Err(Error::Negotiation),
        }
    }
    Ok(())
}

/// Marks a plain request built at `out[1..1 + n]` with its MCTP type.
fn done<S>(st: S, n: usize, out: &mut [u8]) -> (S, usize) {
    if let Some(b) = out.first_mut() {
        *b = MCTP_SPDM;
    }
    (st, 1 + n)
}

/// What a session response meant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SessionEvent {
    /// HEARTBEAT_ACK.
    HeartbeatAck,
    /// KEY_UPDATE_ACK; the keys of the operation are switched.
    KeyUpdated(KeyUpdateOp),
    /// END_SESSION_ACK; the session is over.
    Ended,
}

#[derive(Clone, Copy, Debug)]
enum Pending {
    Heartbeat,
    /// KEY_UPDATE of an operation and tag (for UpdateAllKeys the ACK comes under the next
    /// response key).
    KeyUpdate(KeyUpdateOp, u8),
    EndSession,
    /// A request written by [`RequesterSession::write_spdm_request`].
    Raw,
    /// GET_MEASUREMENTS for an operation, signed or not.
    Measurements(u8, bool),
}

/// The requester's side of an established session: one request outstanding at a time.
///
/// When END_SESSION_ACK arrives the [`Session`] is dropped, and with it (zeroized) its
/// application secrets, AEAD keys and IVs and its export master secret: nothing derived from
/// the ended session stays readable ([`RequesterSession::session`] returns `None`).
#[derive(Debug)]
pub struct RequesterSession<P: CryptoProvider> {
    provider: P,
    /// `None` once the session ended.
    session: Option<Session>,
    pending: Option<Pending>,
    tag: u8,
    /// The caller's clock (milliseconds, monotonic), as last given to `set_time`.
    now_ms: u64,
    /// When the last request was written (`None` before the clock was first set).
    last_request_ms: Option<u64>,
    /// Measurements of the responder (when ALGORITHMS selected them).
    meas: Option<MeasState<P::Hash>>,
}

impl<P: CryptoProvider> RequesterSession<P> {
    /// Tells the session the time (milliseconds of a monotonic clock; sans-IO, so the caller
    /// owns the clock). The first call starts the heartbeat period.
    ///
    /// With a HeartbeatPeriod, the session ends here on the requester's side too once more
    /// than twice the period passed since the last request was written: by then the
    /// responder, which ends a session after twice the period without a request, has ended it
    /// (or ends it before any later record of ours can reach it). Its secrets go as after
    /// END_SESSION_ACK ([`RequesterSession::is_ended`]); nothing derived from them outlives
    /// the session on either end.
    pub fn set_time(&mut self, now_ms: u64) {
        self.now_ms = now_ms;
        let last = *self.last_request_ms.get_or_insert(now_ms);
        let window = u64::from(self.heartbeat_period()) * 2000;
        if window != 0 && now_ms.saturating_sub(last) > window {
            // The session's secrets, keys and export master secret drop and zeroize here.
            self.session = None;
            self.pending = None;
        }
    }

    /// HeartbeatPeriod of the session in seconds (0: none), or 0 once it ended.
    pub fn heartbeat_period(&self) -> u8 {
        self.session.as_ref().map_or(0, Session::heartbeat_period)
    }

    /// Whether a HEARTBEAT should be sent now: the responder set a HeartbeatPeriod, no
    /// request is outstanding, and half the period has passed since the last request (the
    /// other half is margin before the responder's limit of twice the period).
    pub fn heartbeat_due(&self) -> bool {
        let period_ms = u64::from(self.heartbeat_period()) * 1000;
        period_ms != 0
            && self.pending.is_none()
            && self
                .last_request_ms
                .is_some_and(|last| self.now_ms.saturating_sub(last) >= period_ms / 2)
    }

    /// The session (id, algorithms, export master secret), or `None` after END_SESSION_ACK.
    pub fn session(&self) -> Option<&Session> {
        self.session.as_ref()
    }

    /// Whether the session ended (END_SESSION_ACK arrived, or its heartbeat window lapsed:
    /// see [`RequesterSession::set_time`]); its secrets are gone.
    pub fn is_ended(&self) -> bool {
        self.session.is_none()
    }

    fn write(&mut self, m: &dyn Encode, p: Pending, out: &mut [u8]) -> Result<usize, Error> {
        if self.pending.is_some() || self.session.is_none() {
            return Err(Error::UnexpectedMessage);
        }
        let n = m.encode(
            out.get_mut(record::SPDM_OFFSET..)
                .ok_or(crate::EncodeError::BufferTooSmall)?,
        )?;
        let provider = &self.provider;
        let len = self
            .session
            .as_mut()
            .ok_or(Error::UnexpectedMessage)?
            .seal_in_place(provider, out, n)?;
        self.pending = Some(p);
        self.last_request_ms = Some(self.now_ms);
        Ok(len)
    }

    /// Seals an SPDM request encoded by `m` (provisioning messages); its answer is read with
    /// [`RequesterSession::handle_spdm_response`].
    #[cfg(feature = "provisioning")]
    pub(crate) fn write_encoded(&mut self, m: &dyn Encode, out: &mut [u8]) -> Result<usize, Error> {
        self.write(m, Pending::Raw, out)
    }

    /// Writes a HEARTBEAT record into `out`.
    ///
    /// # Errors
    /// [`Error::UnexpectedMessage`] while a request is outstanding or after END_SESSION;
    /// [`Error::Encode`] if `out` cannot take the record (nothing changes: no sequence number
    /// or KEY_UPDATE tag is used up, and the request is not outstanding);
    /// [`Error::SequenceExhausted`].
    #[must_use = "the request must be sent"]
    pub fn write_heartbeat(&mut self, out: &mut [u8]) -> Result<usize, Error> {
        let m = Heartbeat {
            version: Version::V12,
            param1: 0,
            param2: 0,
        };
        self.write(&m, Pending::Heartbeat, out)
    }

    /// Writes a KEY_UPDATE record for `op` into `out`. It goes under the current request key;
    /// the keys switch when the ACK arrives (UpdateAllKeys: the ACK itself comes under the new
    /// response key). Follow UpdateKey / UpdateAllKeys with VerifyNewKey.
    ///
    /// # Errors
    /// As [`RequesterSession::write_heartbeat`]; [`Error::Negotiation`] for an unknown `op`.
    #[must_use = "the request must be sent"]
    pub fn write_key_update(&mut self, op: KeyUpdateOp, out: &mut [u8]) -> Result<usize, Error> {
        if !matches!(
            op,
            KeyUpdateOp::UPDATE_KEY | KeyUpdateOp::UPDATE_ALL_KEYS | KeyUpdateOp::VERIFY_NEW_KEY
        ) {
            return Err(Error::Negotiation);
        }
        // The tag advances only with a written request.
        let tag = self.tag.wrapping_add(1);
        let m = KeyUpdate {
            version: Version::V12,
            param1: op.0,
            param2: tag,
        };
        let n = self.write(&m, Pending::KeyUpdate(op, tag), out)?;
        self.tag = tag;
        Ok(n)
    }

    /// Writes an END_SESSION record into `out`.
    ///
    /// # Errors
    /// As [`RequesterSession::write_heartbeat`].
    #[must_use = "the request must be sent"]
    pub fn write_end_session(&mut self, out: &mut [u8]) -> Result<usize, Error> {
        let m = EndSession {
            version: Version::V12,
            param1: 0,
            param2: 0,
        };
        self.write(&m, Pending::EndSession, out)
    }

    /// Seals `spdm`, a whole SPDM 1.2 request such as GET_DIGESTS or GET_CERTIFICATE, into a
    /// record of the session; its response is read with
    /// [`RequesterSession::handle_spdm_response`]. Requests in the session are not part of
    /// any transcript.
    ///
    /// # Errors
    /// As [`RequesterSession::write_heartbeat`]; [`Error::Message`] if `spdm` has no SPDM 1.2
    /// header; [`Error::UnexpectedMessage`] for HEARTBEAT, KEY_UPDATE and END_SESSION, which
    /// change the session and have their own writers.
    #[must_use = "the request must be sent"]
    pub fn write_spdm_request(&mut self, spdm: &[u8], out: &mut [u8]) -> Result<usize, Error> {
        let h = Header::peek(spdm)?;
        if h.version != Version::V12 {
            return Err(InvalidMessage::InvalidField.into());
        }
        if matches!(
            h.code,
            Code::HEARTBEAT | Code::KEY_UPDATE | Code::END_SESSION
        ) {
            return Err(Error::UnexpectedMessage);
        }
        struct Raw<'m>(&'m [u8]);
        impl Encode for Raw<'_> {
            fn emit(&self, w: &mut crate::codec::Writer<'_>) -> Result<(), crate::EncodeError> {
                w.put(self.0)
            }
        }
        self.write(&Raw(spdm), Pending::Raw, out)
    }

    /// Seals an application message of MCTP type `mctp_type` (`msg` is what follows the
    /// type byte, e.g. a PLDM message for type 0x01) into a record of the session; its
    /// response is read with [`RequesterSession::handle_app_response`] (or, if the responder
    /// answers with SPDM, [`RequesterSession::handle_spdm_response`]).
    ///
    /// # Errors
    /// As [`RequesterSession::write_heartbeat`]; [`Error::UnexpectedMessage`] for type 0x05
    /// (SPDM goes through [`RequesterSession::write_spdm_request`]).
    #[must_use = "the request must be sent"]
    pub fn write_app_message(
        &mut self,
        mctp_type: u8,
        msg: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        if mctp_type == MCTP_SPDM || self.pending.is_some() {
            return Err(Error::UnexpectedMessage);
        }
        let provider = &self.provider;
        let session = self.session.as_mut().ok_or(Error::UnexpectedMessage)?;
        let n = session.seal_app(provider, mctp_type, msg, out)?;
        self.pending = Some(Pending::Raw);
        self.last_request_ms = Some(self.now_ms);
        Ok(n)
    }

    /// Opens the response record to [`RequesterSession::write_app_message`] (or
    /// [`RequesterSession::write_spdm_request`]) in place and returns its MCTP type and the
    /// message after it, without interpreting it.
    ///
    /// # Errors
    /// As [`RequesterSession::handle_spdm_response`], except that no ERROR is recognised.
    pub fn handle_app_response<'b>(&mut self, rec: &'b mut [u8]) -> Result<(u8, &'b [u8]), Error> {
        if !matches!(self.pending, Some(Pending::Raw)) || rec.first() != Some(&MCTP_SECURED) {
            return Err(Error::UnexpectedMessage);
        }
        let provider = &self.provider;
        let session = self.session.as_mut().ok_or(Error::UnexpectedMessage)?;
        let m = session.open_app(provider, rec)?;
        self.pending = None;
        Ok(m)
    }

    /// Opens the response record to [`RequesterSession::write_spdm_request`] in place and
    /// returns the SPDM response in it.
    ///
    /// # Errors
    /// [`Error::UnexpectedMessage`] without such an outstanding request; record errors leave
    /// the session as it was (the request stays outstanding); [`Error::PeerError`] for an
    /// SPDM ERROR.
    pub fn handle_spdm_response<'b>(&mut self, rec: &'b mut [u8]) -> Result<&'b [u8], Error> {
        if !matches!(self.pending, Some(Pending::Raw)) || rec.first() != Some(&MCTP_SECURED) {
            return Err(Error::UnexpectedMessage);
        }
        let provider = &self.provider;
        let session = self.session.as_mut().ok_or(Error::UnexpectedMessage)?;
        let m = session.open(provider, rec)?;
        self.pending = None;
        check_error(m)
    }

    /// Handles a response record (decrypted in place).
    ///
    /// # Errors
    /// [`Error::UnexpectedMessage`] without an outstanding request or for a response of the
    /// wrong kind; record errors ([`Error::Authentication`], [`Error::BadSequence`],
    /// [`Error::UnknownSession`]) leave the session as it was; [`Error::PeerError`].
    pub fn handle_response(&mut self, rec: &mut [u8]) -> Result<SessionEvent, Error> {
        let pending = self.pending.ok_or(Error::UnexpectedMessage)?;
        if rec.first() != Some(&MCTP_SECURED)
            || matches!(pending, Pending::Raw | Pending::Measurements(..))
        {
            return Err(Error::UnexpectedMessage);
        }
        // The ACK of UpdateAllKeys comes under the next response key: the record is opened
        // under it, which becomes current only once the record proved authentic (a forged
        // record leaves the session as it was).
        let provider = &self.provider;
        let session = self.session.as_mut().ok_or(Error::UnexpectedMessage)?;
        let m = if let Pending::KeyUpdate(KeyUpdateOp::UPDATE_ALL_KEYS, _) = pending {
            session.open_next(provider, rec)?
        } else {
            session.open(provider, rec)?
        };
        self.pending = None;
        let m = check_error(m)?;
        match pending {
            Pending::Heartbeat => {
                HeartbeatAck::parse(m).map_err(|_| Error::UnexpectedMessage)?;
                Ok(SessionEvent::HeartbeatAck)
            }
            Pending::KeyUpdate(op, tag) => {
                let ack = KeyUpdateAck::parse(m).map_err(|_| Error::UnexpectedMessage)?;
                if ack.param1 != op.0 || ack.param2 != tag {
                    return Err(Error::UnexpectedMessage);
                }
                if matches!(op, KeyUpdateOp::UPDATE_KEY | KeyUpdateOp::UPDATE_ALL_KEYS) {
                    session.update(provider, Dir::Request)?;
                }
                Ok(SessionEvent::KeyUpdated(op))
            }
            Pending::Raw | Pending::Measurements(..) => Err(Error::UnexpectedMessage),
            Pending::EndSession => {
                EndSessionAck::parse(m).map_err(|_| Error::UnexpectedMessage)?;
                // The session is over: drop (and so zeroize) every secret it held.
                self.session = None;
                Ok(SessionEvent::Ended)
            }
        }
    }
}

/// Measurements: the summary hash of the handshake and GET_MEASUREMENTS in the session.
impl<P: CryptoProvider> Requester<'_, P> {
    /// Asks for a measurement summary hash of `ty` in CHALLENGE, KEY_EXCHANGE and
    /// PSK_EXCHANGE (call before the handshake starts). The responder must then have
    /// MEAS_CAP (01b or 10b); the hash received is kept in the session
    /// ([`RequesterSession::check_measurement_summary`] compares it with the blocks).
    pub fn set_measurement_summary(&mut self, ty: SummaryType) {
        self.meas_summary = ty;
    }

    fn wants_summary(&self) -> bool {
        self.meas_summary != SummaryType::None
    }

    fn keep_summary(&mut self, hash: &[u8]) -> Result<(), Error> {
        if self.wants_summary() {
            self.summary = Some(Digest::from_slice(hash)?);
        }
        Ok(())
    }

    /// The MeasurementHashAlgo digest size ALGORITHMS selected (`None`: no measurements).
    fn negotiated_meas(rsp_caps: CapFlags, a: &AlgorithmsRsp<'_>) -> Result<Option<usize>, Error> {
        if rsp_caps.0 & (CapFlags::MEAS_NO_SIG | CapFlags::MEAS_SIG) == 0 {
            return Ok(None);
        }
        if a.meas_spec != MEAS_SPEC_DMTF {
            return Ok(None);
        }
        // One bit: raw bit streams only (0x01), SHA-256, SHA-384, SHA-512.
        let len = match a.meas_hash {
            0x01 => 0,
            0x02 => 32,
            0x04 => 48,
            0x08 => 64,
            _ => return Err(Error::Negotiation),
        };
        Ok(Some(len))
    }
}

/// What the session knows to check measurements.
#[derive(Debug)]
struct MeasState<H: HashCtx> {
    /// The L1/L2 outside sessions.
    l1: L1L2<H>,
    /// A GET_MEASUREMENTS in the clear awaiting its answer (operation, signed).
    plain_pending: Option<(u8, bool)>,
    /// The session's L1/L2.
    l2: L1L2<H>,
    set: AlgorithmSet,
    /// MeasurementHashAlgo digest size.
    digest_len: usize,
    leaf_key: [u8; MAX_SEC1_LEN],
    /// 0 without a certificate (PSK): no signature can be checked.
    leaf_len: usize,
    /// The measurement summary hash of the handshake, with its type.
    summary: Option<(SummaryType, Digest)>,
}

/// A GET_MEASUREMENTS to send.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MeasurementRequest {
    /// The operation: [`OP_COUNT`](crate::msgs::measurements::OP_COUNT), an index, or
    /// [`OP_ALL`](crate::msgs::measurements::OP_ALL).
    pub operation: u8,
    /// A fresh random nonce to ask for a signed response (slot 0); `None` for an unsigned one.
    pub nonce: Option<[u8; NONCE_LEN]>,
}

/// A checked MEASUREMENTS (signature verified when one was asked for, every block
/// well-formed), borrowing the record from the response buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Measurements<'b> {
    /// The number of blocks the device has (operation 0), else 0.
    pub total: u8,
    /// The blocks returned.
    pub number_of_blocks: u8,
    /// The MeasurementRecord.
    pub record: &'b [u8],
    /// ContentChanged (signed responses).
    pub content_changed: crate::msgs::measurements::ContentChanged,
    /// Whether the response was signed (and the signature verified over L1/L2).
    pub signed: bool,
    digest_len: usize,
}

impl<'b> Measurements<'b> {
    /// The blocks (already validated).
    pub fn blocks(
        &self,
    ) -> impl Iterator<Item = crate::msgs::measurements::MeasurementBlock<'b>> + Clone {
        crate::msgs::measurements::Blocks::new(self.record, self.digest_len).map_while(Result::ok)
    }

    /// The MeasurementHashAlgo digest size of the blocks.
    pub fn digest_len(&self) -> usize {
        self.digest_len
    }
}

impl<P: CryptoProvider> RequesterSession<P> {
    /// Whether the responder offers measurements in this session.
    pub fn has_measurements(&self) -> bool {
        self.meas.is_some()
    }

    /// The measurement summary hash of the handshake and its type, if one was asked for.
    pub fn measurement_summary(&self) -> Option<(SummaryType, &Digest)> {
        self.meas
            .as_ref()
            .and_then(|m| m.summary.as_ref().map(|(t, d)| (*t, d)))
    }

    /// Writes a GET_MEASUREMENTS record into `out`; read the answer with
    /// [`RequesterSession::handle_measurements`].
    ///
    /// # Errors
    /// As [`RequesterSession::write_heartbeat`]; [`Error::Negotiation`] without negotiated
    /// measurements, or for a signed request without the responder's certificate (PSK).
    #[must_use = "the request must be sent"]
    pub fn write_get_measurements(
        &mut self,
        req: &MeasurementRequest,
        out: &mut [u8],
    ) -> Result<usize, Error> {
        use crate::msgs::measurements::{ATTR_SIGNATURE_REQUESTED, GetMeasurements};
        let meas = self.meas.as_ref().ok_or(Error::Negotiation)?;
        if req.nonce.is_some() && meas.leaf_len == 0 {
            return Err(Error::Negotiation);
        }
        let m = GetMeasurements {
            version: Version::V12,
            attributes: if req.nonce.is_some() {
                ATTR_SIGNATURE_REQUESTED
            } else {
                0
            },
            operation: req.operation,
            signed: req.nonce.map(|n| (n, 0)),
        };
        let mut copy = [0u8; 4 + NONCE_LEN + 1];
        let n = m.encode(&mut copy)?;
        let len = self.write(
            &m,
            Pending::Measurements(req.operation, req.nonce.is_some()),
            out,
        )?;
        if let Some(meas) = self.meas.as_mut() {
            meas.l2.update(&copy[..n]);
        }
        Ok(len)
    }

    /// Opens the MEASUREMENTS record in place, checks it (structure, the operation's block
    /// count and index, the signature over L1/L2 when one was asked for) and returns it.
    ///
    /// # Errors
    /// [`Error::UnexpectedMessage`] without an outstanding GET_MEASUREMENTS; record errors
    /// leave everything as it was; [`Error::PeerError`] for an ERROR, [`Error::Message`] for a
    /// malformed response, [`Error::Authentication`] for a signature that does not verify (each
    /// of these ends the L1/L2 transcript, as on the responder).
    pub fn handle_measurements<'b>(
        &mut self,
        rec: &'b mut [u8],
    ) -> Result<Measurements<'b>, Error> {
        let Some(Pending::Measurements(op, signed)) = self.pending else {
            return Err(Error::UnexpectedMessage);
        };
        if rec.first() != Some(&MCTP_SECURED) {
            return Err(Error::UnexpectedMessage);
        }
        let provider = &self.provider;
        let session = self.session.as_mut().ok_or(Error::UnexpectedMessage)?;
        let meas = self.meas.as_mut().ok_or(Error::UnexpectedMessage)?;
        let m = session.open(provider, rec)?;
        self.pending = None;
        let r = Self::check_measurements(provider, meas, false, m, op, signed);
        if r.is_err() || signed {
            meas.l2.reset();
        }
        r
    }

    /// Writes a GET_MEASUREMENTS in the clear (`0x05‖SPDM`, outside the session, with its own
    /// L1/L2) into `out`; read the answer with [`RequesterSession::handle_measurements_plain`].
    ///
    /// # Errors
    /// As [`RequesterSession::write_get_measurements`]; [`Error::UnexpectedMessage`] while
    /// one in the clear is outstanding.
    #[must_use = "the request must be sent"]
    pub fn write_get_measurements_plain(
        &mut self,
        req: &MeasurementRequest,
        out: &mut [u8],
    ) -> Result<usize, Error> {
        use crate::msgs::measurements::{ATTR_SIGNATURE_REQUESTED, GetMeasurements};
        let meas = self.meas.as_mut().ok_or(Error::Negotiation)?;
        if req.nonce.is_some() && meas.leaf_len == 0 {
            return Err(Error::Negotiation);
        }
        if meas.plain_pending.is_some() {
            return Err(Error::UnexpectedMessage);
        }
        let m = GetMeasurements {
            version: Version::V12,
            attributes: if req.nonce.is_some() {
                ATTR_SIGNATURE_REQUESTED
            } else {
                0
            },
            operation: req.operation,
            signed: req.nonce.map(|n| (n, 0)),
        };
        let n = m.encode(plain_body(out)?)?;
        meas.l1.update(&out[1..1 + n]);
        meas.plain_pending = Some((req.operation, req.nonce.is_some()));
        plain(out, n)
    }

    /// Checks the MEASUREMENTS (an MCTP message `0x05‖SPDM`) answering
    /// [`RequesterSession::write_get_measurements_plain`], as
    /// [`RequesterSession::handle_measurements`] does with the L1/L2 outside sessions.
    ///
    /// # Errors
    /// As [`RequesterSession::handle_measurements`].
    pub fn handle_measurements_plain<'b>(
        &mut self,
        msg: &'b [u8],
    ) -> Result<Measurements<'b>, Error> {
        let meas = self.meas.as_mut().ok_or(Error::UnexpectedMessage)?;
        let (op, signed) = meas.plain_pending.take().ok_or(Error::UnexpectedMessage)?;
        let r = match msg.split_first() {
            Some((&MCTP_SPDM, m)) => {
                Self::check_measurements(&self.provider, meas, true, m, op, signed)
            }
            _ => {
                Err(InvalidMessage::UnexpectedMessageType(msg.first().copied().unwrap_or(0)).into())
            }
        };
        if r.is_err() || signed {
            meas.l1.reset();
        }
        r
    }

    fn check_measurements<'b>(
        provider: &P,
        meas: &mut MeasState<P::Hash>,
        plain: bool,
        m: &'b [u8],
        op: u8,
        signed: bool,
    ) -> Result<Measurements<'b>, Error> {
        use crate::msgs::measurements::{
            Blocks, ContentChanged, MeasurementsRsp, OP_ALL, OP_COUNT, validate_record,
        };
        let m = check_error(m)?;
        let sig_len = if signed {
            meas.set.asym.signature_len()
        } else {
            0
        };
        let rsp = MeasurementsRsp::parse(m, sig_len)?;
        let bad = || Error::Message(InvalidMessage::InvalidField);
        match op {
            OP_COUNT => {
                if rsp.number_of_blocks != 0 || !rsp.record.is_empty() {
                    return Err(bad());
                }
            }
            OP_ALL => {
                if rsp.number_of_blocks == 0 || rsp.number_of_blocks == 0xFF {
                    return Err(bad());
                }
            }
            index => {
                let first = Blocks::new(rsp.record, meas.digest_len).next();
                if rsp.number_of_blocks != 1 || !matches!(first, Some(Ok(b)) if b.index == index) {
                    return Err(bad());
                }
            }
        }
        validate_record(rsp.record, rsp.number_of_blocks, meas.digest_len)?;
        let content_changed = if signed {
            if rsp.param2 & 0x0F != 0 {
                return Err(bad());
            }
            ContentChanged::from_param2(rsp.param2).ok_or_else(bad)?
        } else {
            ContentChanged::NotDetected
        };
        let l = if plain { &mut meas.l1 } else { &mut meas.l2 };
        l.update(m.get(..rsp.signed_len()).unwrap_or(&[]));
        if signed {
            let th = l.current();
            let d = signing_digest(
                provider,
                meas.set.hash,
                Version::V12,
                context::RESPONDER_MEASUREMENTS,
                &th,
            )?;
            let key = meas.leaf_key.get(..meas.leaf_len).unwrap_or(&[]);
            provider.ecdsa_verify(meas.set.asym, key, d.as_bytes(), rsp.signature)?;
        }
        Ok(Measurements {
            total: if op == OP_COUNT { rsp.param1 } else { 0 },
            number_of_blocks: rsp.number_of_blocks,
            record: rsp.record,
            content_changed,
            signed,
            digest_len: meas.digest_len,
        })
    }

    /// Compares the handshake's measurement summary hash with the blocks of `all` (the
    /// answer to operation 0xFF); `tcb` says which blocks the device counts as its TCB (for
    /// a TCB summary). `Ok` when no summary was asked for.
    ///
    /// # Errors
    /// [`Error::Authentication`] if the hash differs; [`Error::Message`] for a malformed
    /// record.
    pub fn check_measurement_summary(
        &self,
        all: &Measurements<'_>,
        tcb: &dyn Fn(&crate::msgs::measurements::MeasurementBlock<'_>) -> bool,
    ) -> Result<(), Error> {
        let Some(meas) = self.meas.as_ref() else {
            return Ok(());
        };
        let Some((ty, expected)) = meas.summary.as_ref() else {
            return Ok(());
        };
        let got = crate::measurements::summary_hash_of_record(
            &self.provider,
            meas.set.hash,
            all.record,
            meas.digest_len,
            *ty,
            tcb,
        )?;
        if got.as_ref() != Some(expected) {
            return Err(Error::Authentication);
        }
        Ok(())
    }
}
