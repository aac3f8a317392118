//! A serializer or deserializer bridge of the link: a second SPDM responder with its own
//! identity and firmware measurements, authenticated by the ECU in its own session
//! ([`crate::Ecu::add_responder`]). It carries no stream keys: the link keys come from the
//! sensor's session; the bridge proves what it is and what it runs.

use spdm_lite::crypto::{EcdsaSigningKey, RandomSource, RustCrypto};
use spdm_lite::measurements::MeasurementProvider;
use spdm_lite::responder::{Responder, ResponderConfig};

use crate::{LinkError, SensorIdentity};

/// The bridge endpoint.
pub struct Bridge<'a> {
    responder: Responder<'a, RustCrypto, EcdsaSigningKey>,
}

impl core::fmt::Debug for Bridge<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Bridge")
            .field("state", &self.responder.state_name())
            .finish_non_exhaustive()
    }
}

impl<'a> Bridge<'a> {
    /// A bridge with `identity`, measuring `firmware` (if any).
    ///
    /// # Errors
    /// [`LinkError::Spdm`] when the identity does not fit the responder.
    pub fn new(
        identity: &'a SensorIdentity,
        rng: &'a mut dyn RandomSource,
        firmware: Option<&'a dyn MeasurementProvider>,
    ) -> Result<Self, LinkError> {
        let mut responder = Responder::new(
            RustCrypto,
            identity.key(),
            rng,
            ResponderConfig {
                algorithms: identity.algorithms(),
                cert_chain: identity.chain(),
                psk: None,
                handshake_in_the_clear: false,
                data_transfer_size: 1024,
            },
        )?;
        if let Some(fw) = firmware {
            responder.set_measurements(fw);
        }
        Ok(Self { responder })
    }

    /// Handles one SPDM message (plain or secured) and writes the answer into `out`.
    ///
    /// # Errors
    /// [`LinkError::Spdm`] for a record that does not open (nothing to send).
    pub fn handle_spdm(&mut self, msg: &mut [u8], out: &mut [u8]) -> Result<usize, LinkError> {
        Ok(self.responder.handle(msg, out)?)
    }

    /// Whether the bridge's SPDM session is established.
    pub fn has_session(&self) -> bool {
        self.responder.session().is_some()
    }
}
