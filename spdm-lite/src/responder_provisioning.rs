//! The responder's side of provisioning (feature `provisioning`): GET_CSR and SET_CERTIFICATE,
//! and the chain served from the provider's storage. The rules and errors are described in
//! [`crate::provisioning`].

use super::{Fail, INVALID, Responder, ResponderConfig, UNEXPECTED, fault};
use crate::crypto::{CryptoProvider, RandomSource, Signer};
use crate::error::Error;
use crate::msgs::capabilities::CapFlags;
use crate::msgs::certificate::CertChain;
use crate::msgs::error::ErrorCode;
use crate::msgs::provisioning::{CSR, GET_CSR, GetCsr, SetCertificate, SetCertificateRsp};
use crate::msgs::{Code, Encode, Version};
use crate::provisioning::pkcs10::{CsrFail, build_csr, parse_requester_info};
use crate::provisioning::{ProvisioningProvider, SlotOverwrite, StorageError, check_chain};

const UNSPECIFIED: super::Fault = fault(ErrorCode::UNSPECIFIED);

/// An SPDM chain of `4 + h + 2` bytes (an empty DER SEQUENCE as the only certificate).
const fn placeholder<const N: usize>() -> [u8; N] {
    let mut c = [0u8; N];
    c[0] = N as u8;
    c[N - 2] = 0x30;
    c
}
static PLACEHOLDER_32: [u8; 38] = placeholder::<38>();
static PLACEHOLDER_48: [u8; 54] = placeholder::<54>();

/// The CSR header: `header | CSRLength(2) Reserved(2)`.
const CSR_HEADER_LEN: usize = 8;

impl<'a, P: CryptoProvider, S: Signer> Responder<'a, P, S> {
    /// A responder that can be provisioned: its slot-0 chain comes from `prov`'s storage (none
    /// until provisioned: DIGESTS then announces no slot, GET_CERTIFICATE is InvalidRequest,
    /// CHALLENGE and KEY_EXCHANGE are UnexpectedRequest; PSK_EXCHANGE works if configured),
    /// and GET_CSR / SET_CERTIFICATE are served as the provider's policy allows (see
    /// [`crate::provisioning`]). `config.cert_chain` must be empty; `signer` must sign with
    /// the provider's device key.
    ///
    /// # Errors
    /// [`Error::Negotiation`] if `config.cert_chain` is not empty, or the signer's or the
    /// provider's algorithm is not `config.algorithms.asym`, or the DataTransferSize is below
    /// 42; [`Error::Message`] if the stored slot-0 chain is not an SPDM chain of the configured
    /// hash; [`Error::Crypto`] if the provider lacks the hash.
    pub fn with_provisioning(
        provider: P,
        signer: &'a S,
        rng: &'a mut dyn RandomSource,
        config: ResponderConfig<'a>,
        prov: &'a mut dyn ProvisioningProvider,
    ) -> Result<Self, Error> {
        if !config.cert_chain.is_empty() || prov.algorithm() != config.algorithms.asym {
            return Err(Error::Negotiation);
        }
        // `new` checks everything else on a placeholder chain, which is dropped right away.
        let placeholder: &'static [u8] = match config.algorithms.hash.len() {
            32 => &PLACEHOLDER_32,
            _ => &PLACEHOLDER_48,
        };
        let mut r = Self::new(
            provider,
            signer,
            rng,
            ResponderConfig {
                cert_chain: placeholder,
                ..config
            },
        )?;
        r.config = config;
        r.prov = Some(prov);
        r.refresh_chain_hash()?;
        Ok(r)
    }

    /// Recomputes the hash of the slot-0 chain from the provider's storage.
    fn refresh_chain_hash(&mut self) -> Result<(), Error> {
        self.chain_hash = match self.cert_chain() {
            Some(chain) => {
                CertChain::parse(chain, self.config.algorithms.hash.len())?;
                let mut h = self.provider.hash(self.config.algorithms.hash)?;
                crate::crypto::HashCtx::update(&mut h, chain);
                Some(crate::crypto::HashCtx::finish(h))
            }
            None => None,
        };
        Ok(())
    }

    /// `CSR_CAP | SET_CERT_CAP` while the provider's policy can allow provisioning.
    pub(super) fn provisioning_caps(&self) -> u32 {
        match self.prov.as_deref() {
            Some(p) if p.policy().can_allow(p.factory_mode()) => CapFlags::CSR | CapFlags::SET_CERT,
            _ => 0,
        }
    }

    /// Builds the answer to GET_CSR or SET_CERTIFICATE into `dst` (`session`: `None` in the
    /// clear, else whether the session's requester authenticated). A fault changes nothing.
    pub(super) fn provisioning_rsp(
        &mut self,
        code: Code,
        session: Option<bool>,
        req_dts: u32,
        req: &[u8],
        dst: &mut [u8],
    ) -> Result<usize, Fail> {
        if code == GET_CSR {
            self.on_get_csr(session, req_dts, req, dst)
        } else {
            self.on_set_certificate(session, req, dst)
        }
    }

    fn on_get_csr(
        &mut self,
        session: Option<bool>,
        req_dts: u32,
        req: &[u8],
        dst: &mut [u8],
    ) -> Result<usize, Fail> {
        let m = GetCsr::parse(req)?;
        if m.param1 != 0 || m.param2 != 0 {
            return Err(INVALID.into());
        }
        let info = parse_requester_info(m.requester_info)?;
        let set = self.config.algorithms;
        let prov = self.prov.as_deref().ok_or(UNEXPECTED)?;
        if !prov.policy().allows(prov.factory_mode(), session) {
            return Err(UNEXPECTED.into());
        }
        let csr_dst = dst
            .get_mut(CSR_HEADER_LEN..)
            .ok_or(Fail::Local(crate::EncodeError::BufferTooSmall.into()))?;
        let n = match build_csr(&self.provider, prov, set, &info, csr_dst) {
            Ok(n) => n,
            Err(CsrFail::Encode(e)) => return Err(Fail::Local(e.into())),
            Err(CsrFail::Provider) => return Err(UNSPECIFIED.into()),
        };
        let len = u16::try_from(n).map_err(|_| fault(ErrorCode::RESPONSE_TOO_LARGE))?;
        if CSR_HEADER_LEN + n > req_dts as usize {
            return Err(fault(ErrorCode::RESPONSE_TOO_LARGE).into());
        }
        let l = len.to_le_bytes();
        dst.get_mut(..CSR_HEADER_LEN)
            .ok_or(Fail::Local(crate::EncodeError::BufferTooSmall.into()))?
            .copy_from_slice(&[Version::V12.0, CSR.0, 0, 0, l[0], l[1], 0, 0]);
        Ok(CSR_HEADER_LEN + n)
    }

    fn on_set_certificate(
        &mut self,
        session: Option<bool>,
        req: &[u8],
        dst: &mut [u8],
    ) -> Result<usize, Fail> {
        let m = SetCertificate::parse(req)?;
        // Param1 bits 4-7 and Param2 are reserved in 1.2 (1.3: SetCertModel, Erase,
        // KeyPairID); only slot 0 is served.
        if m.param1 & 0xF0 != 0 || m.param2 != 0 || m.slot() != 0 {
            return Err(INVALID.into());
        }
        let slot = m.slot();
        let set = self.config.algorithms;
        CertChain::parse(m.chain, set.hash.len())?;
        let prov = self.prov.as_deref().ok_or(UNEXPECTED)?;
        let policy = prov.policy();
        if !policy.allows(prov.factory_mode(), session) || prov.slot_locked(slot) {
            return Err(UNEXPECTED.into());
        }
        if prov.slot_chain(slot).is_some() {
            let replace = matches!(
                policy.overwrite,
                SlotOverwrite::ReplaceInAuthenticatedSession
            ) && session == Some(true);
            if !replace {
                return Err(UNEXPECTED.into());
            }
        }
        let mut key = [0u8; 97];
        let kl = prov.device_public_key(&mut key).map_err(|_| UNSPECIFIED)?;
        let key = key.get(..kl).ok_or(UNSPECIFIED)?;
        check_chain(&self.provider, set, m.chain, prov.trusted_root(), key)
            .map_err(|_| UNSPECIFIED)?;
        prov.check_chain(set, m.chain).map_err(|_| UNSPECIFIED)?;
        let n = SetCertificateRsp {
            version: Version::V12,
            param1: slot,
            param2: 0,
        }
        .encode(dst)
        .map_err(|e| Fail::Local(e.into()))?;
        let prov = self.prov.as_deref_mut().ok_or(UNEXPECTED)?;
        prov.store_chain(slot, m.chain).map_err(|e| match e {
            StorageError::Busy => fault(ErrorCode::BUSY),
            _ => UNSPECIFIED,
        })?;
        // The new chain is served from now on (a stored chain that does not parse back would
        // be the storage's fault: serve none rather than a wrong hash).
        if self.refresh_chain_hash().is_err() {
            self.chain_hash = None;
        }
        Ok(n)
    }
}
