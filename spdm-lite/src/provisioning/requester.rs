//! The factory station's side: GET_CSR and SET_CERTIFICATE in the clear ([`Provisioner`]) or
//! inside a secured session (methods of [`RequesterSession`]).

use crate::crypto::{AlgorithmSet, CryptoProvider};
use crate::error::{Error, InvalidMessage};
use crate::msgs::algorithms::AlgorithmsRsp;
use crate::msgs::capabilities::{CapFlags, Capabilities, CapabilitiesRsp, GetCapabilities};
use crate::msgs::error::ErrorRsp;
use crate::msgs::provisioning::{CsrRsp, GetCsr, SetCertificate, SetCertificateRsp};
use crate::msgs::version::{GetVersion, VersionRsp};
use crate::msgs::{Code, Encode, Header, Version};
use crate::record::MCTP_SPDM;
use crate::requester::RequesterSession;
use crate::responder::MIN_DATA_TRANSFER_SIZE;

/// What the [`Provisioner`] offers in VCA.
#[derive(Clone, Copy, Debug)]
pub struct ProvisionerConfig<'a> {
    /// Algorithm sets offered (the responder picks the one of its device key).
    pub algorithms: &'a [AlgorithmSet],
    /// DataTransferSize and MaxSPDMmsgSize advertised (at least 42; a CSR and a chain are
    /// sent whole, so make it large enough for both, for example 4096).
    pub data_transfer_size: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum St {
    SendVersion,
    AwaitVersion,
    SendCapabilities,
    AwaitCapabilities,
    SendAlgorithms,
    AwaitAlgorithms,
    Ready,
    AwaitCsr,
    AwaitSetCertificate(u8),
    Failed,
}

/// Provisioning in the clear (factory mode, no session): VCA ([`Provisioner::write_request`]
/// / [`Provisioner::handle_response`] until [`Provisioner::is_ready`]), then any number of
/// GET_CSR and SET_CERTIFICATE exchanges. Sans-IO; messages are MCTP (`0x05‖SPDM`).
///
/// A failure during VCA leaves the provisioner unusable ([`Error::Poisoned`]); an ERROR
/// answer or a malformed answer to GET_CSR / SET_CERTIFICATE returns it to the ready state.
/// Nothing here authenticates the responder: verify the installed chain afterwards with a
/// [`Requester`](crate::requester::Requester) (GET_DIGESTS, GET_CERTIFICATE, CHALLENGE).
#[derive(Debug)]
pub struct Provisioner<'a> {
    config: ProvisionerConfig<'a>,
    state: St,
    set: Option<AlgorithmSet>,
    rsp_caps: CapFlags,
    rsp_dts: u32,
}

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
        return Err(Error::PeerError(ErrorRsp::parse(m)?.code.0));
    }
    if h.code != Code::VERSION && h.version != Version::V12 {
        return Err(InvalidMessage::InvalidField.into());
    }
    Ok(m)
}

fn plain(m: &dyn Encode, out: &mut [u8]) -> Result<usize, Error> {
    let n = m.encode(out.get_mut(1..).ok_or(crate::EncodeError::BufferTooSmall)?)?;
    *out.first_mut().ok_or(crate::EncodeError::BufferTooSmall)? = MCTP_SPDM;
    Ok(1 + n)
}

fn get_csr<'m>(requester_info: &'m [u8], opaque: &'m [u8]) -> GetCsr<'m> {
    GetCsr {
        version: Version::V12,
        param1: 0,
        param2: 0,
        requester_info,
        opaque,
    }
}

fn set_certificate(slot: u8, chain: &[u8]) -> Result<SetCertificate<'_>, Error> {
    if slot >= super::MAX_SLOTS {
        return Err(InvalidMessage::InvalidField.into());
    }
    Ok(SetCertificate {
        version: Version::V12,
        param1: slot,
        param2: 0,
        chain,
    })
}

/// Copies the CSR of a CSR response into `csr_out`.
fn take_csr(m: &[u8], csr_out: &mut [u8]) -> Result<usize, Error> {
    let c = CsrRsp::parse(m)?;
    let dst = csr_out
        .get_mut(..c.csr.len())
        .ok_or(crate::EncodeError::BufferTooSmall)?;
    dst.copy_from_slice(c.csr);
    Ok(c.csr.len())
}

fn check_set_rsp(m: &[u8], slot: u8) -> Result<(), Error> {
    let r = SetCertificateRsp::parse(m)?;
    if r.slot() != slot {
        return Err(InvalidMessage::InvalidField.into());
    }
    Ok(())
}

impl<'a> Provisioner<'a> {
    /// A provisioner about to send GET_VERSION.
    ///
    /// # Errors
    /// [`Error::Negotiation`] without an algorithm set or with a DataTransferSize below 42.
    pub fn new(config: ProvisionerConfig<'a>) -> Result<Self, Error> {
        if config.algorithms.is_empty() || config.data_transfer_size < MIN_DATA_TRANSFER_SIZE {
            return Err(Error::Negotiation);
        }
        Ok(Self {
            config,
            state: St::SendVersion,
            set: None,
            rsp_caps: CapFlags(0),
            rsp_dts: 0,
        })
    }

    /// Whether VCA is done and GET_CSR / SET_CERTIFICATE may be sent.
    pub fn is_ready(&self) -> bool {
        self.state == St::Ready
    }

    /// The negotiated algorithm set, after VCA.
    pub fn algorithms(&self) -> Option<AlgorithmSet> {
        self.set
    }

    /// The responder's CAPABILITIES flags (`CSR_CAP`, `SET_CERT_CAP` say whether it
    /// provisions at all right now), after VCA.
    pub fn responder_capabilities(&self) -> CapFlags {
        self.rsp_caps
    }

    /// Writes the next VCA request into `out`; returns its length.
    ///
    /// # Errors
    /// [`Error::UnexpectedMessage`] when no VCA request is due; [`Error::Poisoned`] after a
    /// failure; [`Error::Encode`].
    #[must_use = "the request must be sent"]
    pub fn write_request(&mut self, out: &mut [u8]) -> Result<usize, Error> {
        let (n, next) = match self.state {
            St::SendVersion => (
                plain(
                    &GetVersion {
                        version: Version::V10,
                        param1: 0,
                        param2: 0,
                    },
                    out,
                )?,
                St::AwaitVersion,
            ),
            St::SendCapabilities => (
                plain(
                    &GetCapabilities(Capabilities {
                        version: Version::V12,
                        param1: 0,
                        ct_exponent: 0,
                        flags: CapFlags(0),
                        data_transfer_size: self.config.data_transfer_size,
                        max_spdm_msg_size: self.config.data_transfer_size,
                    }),
                    out,
                )?,
                St::AwaitCapabilities,
            ),
            St::SendAlgorithms => {
                let m = crate::requester::negotiate_algorithms(self.config.algorithms, None);
                (plain(&m, out)?, St::AwaitAlgorithms)
            }
            St::Failed => return Err(Error::Poisoned),
            _ => return Err(Error::UnexpectedMessage),
        };
        self.state = next;
        Ok(n)
    }

    /// Handles a VCA response; returns `true` once VCA is done.
    ///
    /// # Errors
    /// [`Error::PeerError`], [`Error::Message`], [`Error::Negotiation`] (no 1.2, no common
    /// algorithm set); the provisioner is then unusable. [`Error::UnexpectedMessage`] when no
    /// VCA response is awaited.
    pub fn handle_response(&mut self, msg: &[u8]) -> Result<bool, Error> {
        let state = self.state;
        if state == St::Failed {
            return Err(Error::Poisoned);
        }
        if !matches!(
            state,
            St::AwaitVersion | St::AwaitCapabilities | St::AwaitAlgorithms
        ) {
            return Err(Error::UnexpectedMessage);
        }
        self.state = St::Failed;
        let m = plain_msg(msg)?;
        self.state =
            match state {
                St::AwaitVersion => {
                    let v = VersionRsp::parse(m)?;
                    if !v.entries.chunks_exact(2).any(|e| {
                        Version::from_entry(u16::from_le_bytes([e[0], e[1]])) == Version::V12
                    }) {
                        return Err(Error::Negotiation);
                    }
                    St::SendCapabilities
                }
                St::AwaitCapabilities => {
                    let c = CapabilitiesRsp::parse(m)?.0;
                    if c.version != Version::V12 || c.data_transfer_size < MIN_DATA_TRANSFER_SIZE {
                        return Err(Error::Negotiation);
                    }
                    self.rsp_caps = c.flags;
                    self.rsp_dts = c.data_transfer_size;
                    St::SendAlgorithms
                }
                _ => {
                    let a = AlgorithmsRsp::parse(m)?;
                    let set = self
                        .config
                        .algorithms
                        .iter()
                        .copied()
                        .find(|s| a.base_hash == s.hash.bit() && a.base_asym == s.asym.bit())
                        .ok_or(Error::Negotiation)?;
                    self.set = Some(set);
                    St::Ready
                }
            };
        Ok(self.state == St::Ready)
    }

    fn ready_for(&self, cap: u32, req_len: usize) -> Result<(), Error> {
        if self.state == St::Failed {
            return Err(Error::Poisoned);
        }
        if self.state != St::Ready {
            return Err(Error::UnexpectedMessage);
        }
        if !self.rsp_caps.has(cap) || req_len > self.rsp_dts as usize {
            return Err(Error::Negotiation);
        }
        Ok(())
    }

    /// Writes GET_CSR (`requester_info`: empty or a DER `CertificationRequestInfo` whose
    /// subject and attributes the responder puts in the CSR) into `out`.
    ///
    /// # Errors
    /// [`Error::UnexpectedMessage`] before VCA is done or while a response is awaited;
    /// [`Error::Negotiation`] if the responder lacks `CSR_CAP` or the request exceeds its
    /// DataTransferSize; [`Error::Encode`].
    #[must_use = "the request must be sent"]
    pub fn write_get_csr(
        &mut self,
        requester_info: &[u8],
        opaque: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        self.ready_for(CapFlags::CSR, 8 + requester_info.len() + opaque.len())?;
        let n = plain(&get_csr(requester_info, opaque), out)?;
        self.state = St::AwaitCsr;
        Ok(n)
    }

    /// Handles the CSR response and copies the DER CSR into `csr_out`; returns its length.
    /// The provisioner is ready for the next request afterwards, whatever the outcome.
    ///
    /// # Errors
    /// [`Error::PeerError`] for an ERROR (for example UnexpectedRequest: not in factory
    /// mode); [`Error::Message`]; [`Error::Encode`] if `csr_out` is too small;
    /// [`Error::UnexpectedMessage`] without an outstanding GET_CSR.
    pub fn handle_csr(&mut self, msg: &[u8], csr_out: &mut [u8]) -> Result<usize, Error> {
        if self.state != St::AwaitCsr {
            return Err(Error::UnexpectedMessage);
        }
        self.state = St::Ready;
        take_csr(plain_msg(msg)?, csr_out)
    }

    /// Writes SET_CERTIFICATE of `chain` (SPDM chain format, as
    /// [`encode_spdm_chain`](crate::cert::encode_spdm_chain) builds it) for `slot`.
    ///
    /// # Errors
    /// As [`Provisioner::write_get_csr`] (`SET_CERT_CAP`); [`Error::Message`] for a slot
    /// above 7.
    #[must_use = "the request must be sent"]
    pub fn write_set_certificate(
        &mut self,
        slot: u8,
        chain: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        self.ready_for(CapFlags::SET_CERT, 4 + chain.len())?;
        let n = plain(&set_certificate(slot, chain)?, out)?;
        self.state = St::AwaitSetCertificate(slot);
        Ok(n)
    }

    /// Handles SET_CERTIFICATE_RSP (it must echo the slot).
    ///
    /// # Errors
    /// As [`Provisioner::handle_csr`].
    pub fn handle_set_certificate(&mut self, msg: &[u8]) -> Result<(), Error> {
        let St::AwaitSetCertificate(slot) = self.state else {
            return Err(Error::UnexpectedMessage);
        };
        self.state = St::Ready;
        check_set_rsp(plain_msg(msg)?, slot)
    }
}

/// Provisioning inside a secured session (for example a factory station authenticated by
/// mutual authentication or the PSK, replacing a chain).
impl<P: CryptoProvider> RequesterSession<P> {
    /// Seals GET_CSR into a record of the session (see [`Provisioner::write_get_csr`]); read
    /// the answer with [`RequesterSession::handle_csr`].
    ///
    /// # Errors
    /// As [`RequesterSession::write_spdm_request`].
    #[must_use = "the request must be sent"]
    pub fn write_get_csr(
        &mut self,
        requester_info: &[u8],
        opaque: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        self.write_encoded(&get_csr(requester_info, opaque), out)
    }

    /// Opens the CSR record and copies the DER CSR into `csr_out`; returns its length.
    ///
    /// # Errors
    /// As [`RequesterSession::handle_spdm_response`]; [`Error::Message`] if the answer is not
    /// CSR; [`Error::Encode`] if `csr_out` is too small.
    pub fn handle_csr(&mut self, rec: &mut [u8], csr_out: &mut [u8]) -> Result<usize, Error> {
        let m = self.handle_spdm_response(rec)?;
        take_csr(m, csr_out)
    }

    /// Seals SET_CERTIFICATE of `chain` for `slot` into a record of the session; read the
    /// answer with [`RequesterSession::handle_set_certificate`].
    ///
    /// # Errors
    /// As [`RequesterSession::write_spdm_request`]; [`Error::Message`] for a slot above 7.
    #[must_use = "the request must be sent"]
    pub fn write_set_certificate(
        &mut self,
        slot: u8,
        chain: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        self.write_encoded(&set_certificate(slot, chain)?, out)
    }

    /// Opens the SET_CERTIFICATE_RSP record; `slot` is the slot that was set (echoed).
    ///
    /// # Errors
    /// As [`RequesterSession::handle_csr`].
    pub fn handle_set_certificate(&mut self, rec: &mut [u8], slot: u8) -> Result<(), Error> {
        let m = self.handle_spdm_response(rec)?;
        check_set_rsp(m, slot)
    }
}
