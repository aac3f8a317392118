//! An `embedded-hal` 1.0 adapter: protected register access over an [`I2c`] bus.
//!
//! Each protected transaction is exactly one I2C transaction: a write is one
//! [`I2c::write`] (`S addr|W frame P`); a read is one [`I2c::write_read`]
//! (`S addr|W request Sr addr|R response P`).

use embedded_hal::i2c::I2c;

use crate::controller::Controller;
use crate::target::Status;
use crate::wire::{self, MAX_FRAME_LEN};

/// An adapter error: the bus failed, or the protocol rejected the transaction.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error<E> {
    /// The I2C bus reported an error (NACK, arbitration loss, ...). The transaction's counter
    /// is spent; the next transaction uses the next one (the sensor accepts gaps).
    #[error("I2C bus error: {0:?}")]
    Bus(E),
    /// A CCISE error (including a response that failed authentication).
    #[error(transparent)]
    Protocol(#[from] crate::Error),
}

/// A CCISE controller that owns an I2C bus.
#[derive(Debug)]
pub struct SecureCci<I2C> {
    bus: I2C,
    controller: Controller,
}

impl<I2C: I2c> SecureCci<I2C> {
    /// Runs `controller`'s session on `bus` (device address from the session's `Config`).
    pub fn new(bus: I2C, controller: Controller) -> Self {
        SecureCci { bus, controller }
    }

    /// The protocol state.
    pub fn controller(&self) -> &Controller {
        &self.controller
    }

    /// Gives back the bus and the protocol state.
    pub fn release(self) -> (I2C, Controller) {
        (self.bus, self.controller)
    }

    fn address(&self) -> u8 {
        self.controller.config().address
    }

    /// Writes one register.
    ///
    /// # Errors
    /// [`Error::Bus`] or [`Error::Protocol`] (see [`Controller::seal_write`]).
    pub fn write_reg(&mut self, register: u16, value: u8) -> Result<(), Error<I2C::Error>> {
        self.write_regs(register, &[value])
    }

    /// Writes `data` to consecutive registers from `register` on, in one protected
    /// transaction (all or nothing on the sensor).
    ///
    /// # Errors
    /// [`Error::Bus`] or [`Error::Protocol`] (see [`Controller::seal_write`]).
    pub fn write_regs(&mut self, register: u16, data: &[u8]) -> Result<(), Error<I2C::Error>> {
        let mut frame = [0u8; MAX_FRAME_LEN];
        let sealed = self.controller.seal_write(register, data, &mut frame)?;
        let address = self.address();
        self.bus
            .write(address, &frame[..sealed.len])
            .map_err(Error::Bus)
    }

    /// Reads one register.
    ///
    /// # Errors
    /// As [`SecureCci::read_regs`].
    pub fn read_reg(&mut self, register: u16) -> Result<u8, Error<I2C::Error>> {
        let mut b = [0u8; 1];
        self.read_regs(register, &mut b)?;
        Ok(b[0])
    }

    /// Reads `buf.len()` (1..=255) consecutive registers from `register` on, in one protected
    /// transaction; `buf` is written only after the response verified.
    ///
    /// # Errors
    /// [`Error::Bus`], or [`Error::Protocol`]: a length outside 1..=255
    /// ([`crate::WireError`]), or a response that fails (see
    /// [`Controller::open_read_response`]; read the status register to learn why the sensor
    /// refused).
    pub fn read_regs(&mut self, register: u16, buf: &mut [u8]) -> Result<(), Error<I2C::Error>> {
        let len =
            u8::try_from(buf.len()).map_err(|_| crate::Error::Wire(crate::WireError::TooLong))?;
        let mut request = [0u8; wire::read_request_len(cse_core::TagLen::L16)];
        let (pending, sealed) = self
            .controller
            .seal_read_request(register, len, &mut request)?;
        let mut response = [0u8; MAX_FRAME_LEN];
        let response = &mut response[..pending.response_len()];
        let address = self.address();
        self.bus
            .write_read(address, &request[..sealed.len], response)
            .map_err(Error::Bus)?;
        self.controller
            .open_read_response(pending, response, buf)
            .map(|_| ())
            .map_err(Error::Protocol)
    }

    /// Reads the sensor's status register (last error, failure count) through a protected read.
    ///
    /// # Errors
    /// As [`SecureCci::read_regs`].
    pub fn read_status(&mut self) -> Result<Status, Error<I2C::Error>> {
        let mut b = [0u8; wire::STATUS_LEN];
        self.read_regs(wire::STATUS_REGISTER, &mut b)?;
        Status::from_bytes(&b).map_err(|e| Error::Protocol(e.into()))
    }
}
