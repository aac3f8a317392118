//! The `embedded-hal` adapter: exact bytes on the bus (embedded-hal-mock scripts, `done()`),
//! one I2C transaction per protected transaction, bus errors wrapped, and an end-to-end run
//! against a simulated sensor behind an `I2c` implementation.
#![allow(clippy::unwrap_used)]

mod common;

use ccise::hal::Error as HalError;
use ccise::wire::MAX_FRAME_LEN;
use ccise::{Config, Controller, SecureCci, SimSensor, StatusCode, Target};
use cse_core::{CipherSuite, SecurityError, TagLen};
use embedded_hal::i2c::{ErrorKind, ErrorType, I2c, Operation};
use embedded_hal_mock::eh1::i2c::{Mock, Transaction};
use hex_literal::hex;

fn controller(cfg: Config) -> Controller {
    Controller::new(cfg, common::keys(CipherSuite::Aes128Cmac)).unwrap()
}

#[test]
fn write_regs_puts_exactly_the_sealed_frame_on_the_bus() {
    // docs/wire-format.md, CCISE example 1.
    let frame =
        hex!("01 00 12 34 56 78 00 00 00 01 52 54 63 16 63 13 48 40 8E 45 38 84 3F 93 97 94");
    // The second write (counter 2) as an independent controller of the same session seals it.
    let mut mirror = controller(Config::new(0x36));
    let mut buf = [0u8; MAX_FRAME_LEN];
    let _ = mirror
        .seal_write(0x0100, &hex!("12 34 56 78"), &mut buf)
        .unwrap();
    let s = mirror.seal_write(0x0101, &[0xAB], &mut buf).unwrap();
    let second = buf[..s.len].to_vec();
    assert_eq!(&second[..3], &[0x01, 0x01, 0xAB]);
    assert_eq!(&second[3..7], &[0, 0, 0, 2]);

    let script = [
        Transaction::write(0x36, frame.to_vec()),
        Transaction::write(0x36, second),
    ];
    let mut bus = Mock::new(&script);
    let mut cci = SecureCci::new(bus.clone(), controller(Config::new(0x36)));
    cci.write_regs(0x0100, &hex!("12 34 56 78")).unwrap();
    cci.write_reg(0x0101, 0xAB).unwrap();
    assert_eq!(cci.controller().next_counter(), 3);
    bus.done();
}

#[test]
fn read_regs_is_one_write_read_and_returns_verified_data() {
    // docs/wire-format.md, CCISE example 2 (8-byte tags).
    let request = hex!("00 00 04 00 00 00 01 D8 39 E5 C1 C0 6E A8 16");
    let response = hex!("0C 15 E0 01 00 00 00 01 4E 30 C7 63 29 D8 05 87");
    let script = [Transaction::write_read(
        0x36,
        request.to_vec(),
        response.to_vec(),
    )];
    let mut bus = Mock::new(&script);
    let cfg = Config::new(0x36).with_tag_len(TagLen::L8);
    let mut cci = SecureCci::new(bus.clone(), controller(cfg));
    let mut id = [0u8; 4];
    cci.read_regs(0x0000, &mut id).unwrap();
    assert_eq!(id, hex!("0C 15 E0 01"));
    bus.done();
}

#[test]
fn a_tampered_response_is_a_protocol_error_and_the_buffer_stays_clear() {
    let request = hex!("00 00 04 00 00 00 01 D8 39 E5 C1 C0 6E A8 16");
    let mut response = hex!("0C 15 E0 01 00 00 00 01 4E 30 C7 63 29 D8 05 87");
    response[1] ^= 0x01;
    let script = [Transaction::write_read(
        0x36,
        request.to_vec(),
        response.to_vec(),
    )];
    let mut bus = Mock::new(&script);
    let cfg = Config::new(0x36).with_tag_len(TagLen::L8);
    let mut cci = SecureCci::new(bus.clone(), controller(cfg));
    let mut id = [0x55u8; 4];
    assert_eq!(
        cci.read_regs(0x0000, &mut id),
        Err(HalError::Protocol(ccise::Error::Security(
            SecurityError::AuthFailed
        )))
    );
    assert_eq!(id, [0; 4]);
    bus.done();
}

#[test]
fn bus_errors_are_wrapped_and_spend_the_counter() {
    let mut mirror = controller(Config::new(0x36));
    let mut buf = [0u8; MAX_FRAME_LEN];
    let s = mirror.seal_write(0x0100, &[7], &mut buf).unwrap();
    let script = [Transaction::write(0x36, buf[..s.len].to_vec()).with_error(ErrorKind::Other)];
    let mut bus = Mock::new(&script);
    let mut cci = SecureCci::new(bus.clone(), controller(Config::new(0x36)));
    assert_eq!(
        cci.write_reg(0x0100, 7),
        Err(HalError::Bus(ErrorKind::Other))
    );
    assert_eq!(cci.controller().next_counter(), 2);
    // Out-of-range lengths fail before the bus is touched.
    assert!(matches!(
        cci.read_regs(0, &mut [0u8; 256]),
        Err(HalError::Protocol(_))
    ));
    assert!(matches!(cci.write_regs(0, &[]), Err(HalError::Protocol(_))));
    bus.done();
}

/// An I2C bus with one simulated CCISE sensor on it: a write is a protected write, a
/// write-then-read is a protected read; other addresses NACK.
struct SimBus {
    target: Target,
    sensor: SimSensor<0x400>,
    transactions: usize,
}

impl ErrorType for SimBus {
    type Error = ErrorKind;
}

impl I2c for SimBus {
    fn transaction(
        &mut self,
        address: u8,
        operations: &mut [Operation<'_>],
    ) -> Result<(), Self::Error> {
        self.transactions += 1;
        if address != self.target.config().address {
            return Err(ErrorKind::NoAcknowledge(
                embedded_hal::i2c::NoAcknowledgeSource::Address,
            ));
        }
        match operations {
            [Operation::Write(frame)] => {
                let _ = self.target.handle_write(frame, &mut self.sensor);
                Ok(())
            }
            [Operation::Write(request), Operation::Read(response)] => {
                let _ = self.target.handle_read(request, &mut self.sensor, response);
                Ok(())
            }
            _ => Err(ErrorKind::Other),
        }
    }
}

#[test]
fn end_to_end_against_a_simulated_sensor() {
    for (suite, encrypt) in [
        (CipherSuite::Aes128Cmac, false),
        (CipherSuite::Aes256Gmac, false),
        (CipherSuite::Aes256CtrCmac, true),
        (CipherSuite::Aes128Gcm, true),
    ] {
        let cfg = Config::new(0x1A).with_encrypted_reads(encrypt);
        let bus = SimBus {
            target: Target::new(cfg, common::keys(suite)).unwrap(),
            sensor: SimSensor::demo(),
            transactions: 0,
        };
        let ctrl = Controller::new(cfg, common::keys(suite)).unwrap();
        let mut cci = SecureCci::new(bus, ctrl);
        cci.write_regs(0x0100, &[1, 2, 3, 4]).unwrap();
        cci.write_reg(0x0104, 5).unwrap();
        let mut got = [0u8; 5];
        cci.read_regs(0x0100, &mut got).unwrap();
        assert_eq!(got, [1, 2, 3, 4, 5]);
        assert_eq!(cci.read_reg(0x0002).unwrap(), 0xE0);
        // A refused write (read-only chip id) shows up in the status register.
        cci.write_reg(0x0000, 0xFF).unwrap();
        assert_eq!(cci.read_reg(0x0000).unwrap(), 0x0C);
        let status = cci.read_status().unwrap();
        assert_eq!(status.last_error, StatusCode::ACCESS_DENIED);
        assert_eq!(status.failures, 1);
        // A protected register: readable only when the session encrypts reads.
        let r = cci.read_reg(0x0300);
        assert_eq!(r.is_ok(), encrypt, "{suite}");
        let (bus, _ctrl) = cci.release();
        assert_eq!(
            bus.transactions, 8,
            "one I2C transaction per protected transaction"
        );
        assert_eq!(bus.sensor.peek(0x0000), Some(0x0C));
    }
}
