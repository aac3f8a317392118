//! An established SPDM session: application traffic keys of both directions, KEY_UPDATE and the
//! export master secret.
//!
//! A [`Session`] holds no handshake secret: the handshake states drop those when they convert
//! into a session (snow-style `into_session`). Both roles use the same type; the role decides
//! which direction is "send" and which is "receive".

use crate::crypto::{AlgorithmSet, CryptoProvider, Secret};
use crate::error::Error;
use crate::export::ExportMasterSecret;
use crate::key_schedule::{DataSecrets, KeySchedule};
use crate::msgs::Version;
use crate::record::{self, DirectionKeys};

/// Which end of the session this is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Role {
    /// The requester (the ECU).
    Requester,
    /// The responder (the camera sensor).
    Responder,
}

/// How the requester proved its identity in the handshake that made a session (what a
/// responder's policy can require before it trusts requests from the session).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum RequesterAuth {
    /// Nothing: a certificate session without mutual authentication (anybody can open one).
    #[default]
    None,
    /// The requester knows the pre-shared key (PSK_EXCHANGE).
    PreSharedKey,
    /// The requester signed FINISH with a key the responder trusts (session mutual
    /// authentication: a provisioned public key or chain hash, or a certificate chain fetched
    /// with encapsulated requests and validated).
    Signature,
}

impl RequesterAuth {
    /// Whether the requester authenticated at all.
    pub fn is_authenticated(self) -> bool {
        !matches!(self, Self::None)
    }
}

/// The direction whose keys KEY_UPDATE changes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Dir {
    Request,
    Response,
}

/// An established session after FINISH_RSP or PSK_EXCHANGE_RSP / PSK_FINISH_RSP.
///
/// Not `Clone`; every secret in it (application secrets, AEAD keys and IVs, the export master
/// secret) is zeroized when it drops, and its `Debug` output shows none of them.
pub struct Session {
    id: u32,
    role: Role,
    version: Version,
    set: AlgorithmSet,
    req_secret: Secret,
    rsp_secret: Secret,
    req_keys: DirectionKeys,
    rsp_keys: DirectionKeys,
    export: ExportMasterSecret,
    key_generation: u32,
    heartbeat_period: u8,
    requester_auth: RequesterAuth,
}

impl core::fmt::Debug for Session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session")
            .field("id", &self.id)
            .field("role", &self.role)
            .field("version", &self.version)
            .field("algorithms", &self.set)
            .field("key_generation", &self.key_generation)
            .field("heartbeat_period", &self.heartbeat_period)
            .field("requester_auth", &self.requester_auth)
            .field("sequence_numbers", &self.sequence_numbers())
            .finish_non_exhaustive()
    }
}

impl Session {
    pub(crate) fn new<P: CryptoProvider>(
        provider: &P,
        id: u32,
        role: Role,
        version: Version,
        set: AlgorithmSet,
        data: DataSecrets,
    ) -> Result<Self, Error> {
        let ks = KeySchedule::new(provider, set.hash, version);
        let req_keys = ks.direction_keys(set.aead, &data.request)?;
        let rsp_keys = ks.direction_keys(set.aead, &data.response)?;
        Ok(Self {
            id,
            role,
            version,
            set,
            req_secret: data.request,
            rsp_secret: data.response,
            req_keys,
            rsp_keys,
            export: ExportMasterSecret::new(data.export_master, set.hash, version, id),
            key_generation: 0,
            heartbeat_period: 0,
            requester_auth: RequesterAuth::None,
        })
    }

    /// The session with the HeartbeatPeriod of its KEY_EXCHANGE_RSP / PSK_EXCHANGE_RSP.
    pub(crate) fn with_heartbeat_period(mut self, seconds: u8) -> Self {
        self.heartbeat_period = seconds;
        self
    }

    /// The session with how its requester authenticated.
    pub(crate) fn with_requester_auth(mut self, auth: RequesterAuth) -> Self {
        self.requester_auth = auth;
        self
    }

    /// How the requester authenticated in the handshake (on both ends: the requester's
    /// session says what it proved).
    pub fn requester_auth(&self) -> RequesterAuth {
        self.requester_auth
    }

    /// HeartbeatPeriod in seconds (0: no heartbeat required). The requester must send a
    /// request (HEARTBEAT if nothing else) within each period; the responder may end the
    /// session after twice the period without one.
    pub fn heartbeat_period(&self) -> u8 {
        self.heartbeat_period
    }

    /// The session id (`ReqSessionID | RspSessionID << 16`).
    pub fn id(&self) -> u32 {
        self.id
    }

    /// This end's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The negotiated SPDM version.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The negotiated algorithms.
    pub fn algorithms(&self) -> AlgorithmSet {
        self.set
    }

    /// The export master secret of this session, bound to its id: the link keys of
    /// `docs/key-hierarchy.md` are derived from it and die with the session.
    pub fn export_master_secret(&self) -> &ExportMasterSecret {
        &self.export
    }

    /// How many KEY_UPDATE key changes (in either direction) this end has applied.
    pub fn key_generation(&self) -> u32 {
        self.key_generation
    }

    /// Next sequence numbers of the (request, response) directions.
    pub fn sequence_numbers(&self) -> (u64, u64) {
        (self.req_keys.sequence(), self.rsp_keys.sequence())
    }

    fn send_keys(&mut self) -> &mut DirectionKeys {
        match self.role {
            Role::Requester => &mut self.req_keys,
            Role::Responder => &mut self.rsp_keys,
        }
    }

    fn recv_keys(&mut self) -> &mut DirectionKeys {
        match self.role {
            Role::Requester => &mut self.rsp_keys,
            Role::Responder => &mut self.req_keys,
        }
    }

    /// Seals the SPDM message already written at `buf[record::SPDM_OFFSET..]`.
    #[inline(never)]
    pub(crate) fn seal_in_place<P: CryptoProvider>(
        &mut self,
        provider: &P,
        buf: &mut [u8],
        spdm_len: usize,
    ) -> Result<usize, Error> {
        self.seal_typed_in_place(provider, buf, record::MCTP_SPDM, spdm_len)
    }

    /// Seals the message of MCTP type `mctp_type` already written at
    /// `buf[record::SPDM_OFFSET..]`.
    pub(crate) fn seal_typed_in_place<P: CryptoProvider>(
        &mut self,
        provider: &P,
        buf: &mut [u8],
        mctp_type: u8,
        len: usize,
    ) -> Result<usize, Error> {
        let id = self.id;
        record::seal_typed_in_place(provider, id, self.send_keys(), buf, mctp_type, len)
    }

    /// Opens a received record in place.
    pub(crate) fn open<'b, P: CryptoProvider>(
        &mut self,
        provider: &P,
        rec: &'b mut [u8],
    ) -> Result<&'b [u8], Error> {
        let id = self.id;
        record::open(provider, id, self.recv_keys(), rec)
    }

    /// Takes back the last record opened (its sequence number is expected again), for a
    /// receiver that could not answer it and so did not consume it.
    pub(crate) fn unread(&mut self) {
        self.recv_keys().unread();
    }

    /// Seals an application message of MCTP type `mctp_type` into `out`.
    pub(crate) fn seal_app<P: CryptoProvider>(
        &mut self,
        provider: &P,
        mctp_type: u8,
        msg: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let id = self.id;
        record::seal_app(provider, id, self.send_keys(), mctp_type, msg, &[], out)
    }

    /// Opens a received record in place; returns the inner MCTP type and message.
    pub(crate) fn open_app<'b, P: CryptoProvider>(
        &mut self,
        provider: &P,
        rec: &'b mut [u8],
    ) -> Result<(u8, &'b [u8]), Error> {
        let id = self.id;
        record::open_app(provider, id, self.recv_keys(), rec)
    }

    /// Opens a received record in place under the next keys of the receive direction
    /// (`"traffic upd"` of its secret) and makes them current only if the record is authentic
    /// (sequence number 1 after it, key generation + 1): on any error the session is as it
    /// was. The ACK of an UpdateAllKeys comes so.
    pub(crate) fn open_next<'b, P: CryptoProvider>(
        &mut self,
        provider: &P,
        rec: &'b mut [u8],
    ) -> Result<&'b [u8], Error> {
        let dir = match self.role {
            Role::Requester => Dir::Response,
            Role::Responder => Dir::Request,
        };
        let (secret, mut keys) = self.next_keys(provider, dir)?;
        let m = record::open(provider, self.id, &mut keys, rec)?;
        self.install(dir, secret, keys);
        Ok(m)
    }

    /// Replaces the secret and keys of `dir` by the next ones (`"traffic upd"`), seq 0.
    pub(crate) fn update<P: CryptoProvider>(
        &mut self,
        provider: &P,
        dir: Dir,
    ) -> Result<(), Error> {
        let (secret, keys) = self.next_keys(provider, dir)?;
        self.install(dir, secret, keys);
        Ok(())
    }

    /// The next secret of `dir` (`"traffic upd"`) and its keys (sequence number 0), not
    /// installed.
    fn next_keys<P: CryptoProvider>(
        &self,
        provider: &P,
        dir: Dir,
    ) -> Result<(Secret, DirectionKeys), Error> {
        let ks = KeySchedule::new(provider, self.set.hash, self.version);
        let secret = match dir {
            Dir::Request => &self.req_secret,
            Dir::Response => &self.rsp_secret,
        };
        let next = ks.update(secret)?;
        let keys = ks.direction_keys(self.set.aead, &next)?;
        Ok((next, keys))
    }

    /// Makes `secret` and `keys` those of `dir` (one key generation more).
    fn install(&mut self, dir: Dir, secret: Secret, keys: DirectionKeys) {
        let (s, k) = match dir {
            Dir::Request => (&mut self.req_secret, &mut self.req_keys),
            Dir::Response => (&mut self.rsp_secret, &mut self.rsp_keys),
        };
        *s = secret;
        *k = keys;
        self.key_generation = self.key_generation.saturating_add(1);
    }
}
