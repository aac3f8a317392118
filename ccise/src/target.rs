//! The target role (sensor): opens writes and read requests, seals read responses, keeps the
//! status register.

use cse_core::SecurityError;
use cse_core::keys::{KeyUsage, UsageStatus};
use cse_core::nonce::PacketNumber;
use cse_core::sequence::ReplayTracker;
use zeroize::Zeroizing;

use crate::error::{AccessError, Error, StatusCode, WireError};
use crate::session::{self, Channel, Config, Header, SessionKeys, SessionSecrets};
use crate::wire::{self, Kind, ReadRequestRepr, ReadResponseRepr, WriteRepr};

/// The byte a target sends for every response byte of a request it rejected (an I2C target
/// that does not drive SDA reads as all ones).
pub const FILLER: u8 = 0xFF;

/// A sensor's register file as the target role sees it.
///
/// The target calls these only after a transaction's tag has verified.
pub trait RegisterMap {
    /// Writes `data` to the registers from `register` on, **all or nothing**: check every byte's
    /// access first and change nothing when any byte is refused.
    ///
    /// # Errors
    /// The first refused register.
    fn write(&mut self, register: u16, data: &[u8]) -> Result<(), AccessError>;

    /// Reads `out.len()` registers from `register` on. `encrypted` tells whether the response
    /// will be encrypted (protected registers may require it).
    ///
    /// # Errors
    /// The first refused register; `out` may then hold partial data, which the target discards.
    fn read(&mut self, register: u16, out: &mut [u8], encrypted: bool) -> Result<(), AccessError>;
}

/// The target's status register block (at [`wire::STATUS_REGISTER`], read-only).
///
/// ```text
/// offset size field
/// 0      1    last error code (StatusCode; 0 = none since the session started)
/// 1      1    flags: bit 0 = a target key is past its soft usage limit (rekey requested),
///                    bit 1 = a target key is exhausted
/// 2      2    reserved, 0
/// 4      4    number of rejected transactions, BE (saturating)
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Status {
    /// The code of the last rejected transaction.
    pub last_error: StatusCode,
    /// A target key is past its soft usage limit.
    pub needs_rekey: bool,
    /// A target key reached its hard limit.
    pub exhausted: bool,
    /// Rejected transactions since the session started.
    pub failures: u32,
}

impl Status {
    /// The register bytes.
    pub fn to_bytes(&self) -> [u8; wire::STATUS_LEN] {
        let mut b = [0u8; wire::STATUS_LEN];
        b[0] = self.last_error.0;
        b[1] = u8::from(self.needs_rekey) | (u8::from(self.exhausted) << 1);
        b[4..8].copy_from_slice(&self.failures.to_be_bytes());
        b
    }

    /// Decodes the register bytes (as read by the controller).
    ///
    /// # Errors
    /// [`WireError::Truncated`] / [`WireError::TooLong`] unless exactly
    /// [`wire::STATUS_LEN`] bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, WireError> {
        let b: &[u8; wire::STATUS_LEN] = match bytes.try_into() {
            Ok(b) => b,
            Err(_) if bytes.len() < wire::STATUS_LEN => return Err(WireError::Truncated),
            Err(_) => return Err(WireError::TooLong),
        };
        Ok(Status {
            last_error: StatusCode(b[0]),
            needs_rekey: b[1] & 1 != 0,
            exhausted: b[1] & 2 != 0,
            failures: u32::from_be_bytes([b[4], b[5], b[6], b[7]]),
        })
    }
}

/// What an accepted transaction did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub struct Accepted {
    /// The transaction's counter.
    pub counter: u32,
    /// Bytes written to the response buffer (0 for writes).
    pub response_len: usize,
    /// Whether a target key is past its soft usage limit.
    pub usage: UsageStatus,
}

/// The target side of a CCISE session.
#[derive(Debug)]
pub struct Target {
    channel: Channel,
    rx: ReplayTracker,
    rx_usage: KeyUsage,
    next_counter: u32,
    tx_usage: KeyUsage,
    status: Status,
}

fn overlaps_status(register: u16, len: usize) -> bool {
    let start = usize::from(register);
    let end = start + len;
    let s = usize::from(wire::STATUS_REGISTER);
    start < s + wire::STATUS_LEN && s < end
}

impl Target {
    /// A target for a fresh session.
    ///
    /// # Errors
    /// As [`crate::Controller::new`].
    pub fn new(config: Config, keys: SessionKeys) -> Result<Self, Error> {
        let channel = Channel::new(config, keys)?;
        Ok(Target {
            rx_usage: channel.usage()?,
            tx_usage: channel.usage()?,
            channel,
            rx: ReplayTracker::new(),
            next_counter: 1,
            status: Status::default(),
        })
    }

    /// A target for a fresh session, with its keys expanded from `secrets` directly into the
    /// returned value: the same target as [`Target::new`] with the [`SessionKeys`] of the same
    /// secrets, built without moving expanded keys around (for sensor firmware, where
    /// [`Target::new`] with its [`SessionKeys`] built on the stack costs several kilobytes of
    /// stack).
    ///
    /// # Errors
    /// As [`Target::new`] and [`cse_core::crypto::SuiteKey::new`].
    pub fn from_secrets(config: Config, secrets: &SessionSecrets<'_>) -> Result<Self, Error> {
        config.validate(secrets.suite)?;
        let keys = secrets.check()?;
        let rx_usage = session::usage(&config)?;
        let tx_usage = session::usage(&config)?;
        Ok(Target {
            channel: Channel::expand(config, keys, secrets.salt),
            rx: ReplayTracker::new(),
            rx_usage,
            next_counter: 1,
            tx_usage,
            status: Status::default(),
        })
    }

    /// The session configuration.
    pub fn config(&self) -> &Config {
        &self.channel.config
    }

    /// The status register.
    pub fn status(&self) -> Status {
        self.status
    }

    /// The last controller-to-sensor counter accepted, if any.
    pub fn last_counter(&self) -> Option<u32> {
        self.rx.last().map(|pn| pn.frame_counter())
    }

    fn fail(&mut self, e: Error) -> Error {
        self.status.last_error = e.status_code();
        self.status.failures = self.status.failures.saturating_add(1);
        if e == Error::Security(SecurityError::KeyExhausted) {
            self.status.exhausted = true;
        }
        e
    }

    /// Verifies a tag. A tag that was computed and did not verify spends the receive key's
    /// budget as a failed invocation (SP 800-38D Appendix C counts them); a transaction
    /// refused before (malformed, replayed, key exhausted) counts nowhere.
    fn verify(&mut self, h: &Header, data: &[u8], tag: &[u8]) -> Result<(), SecurityError> {
        let r = self.channel.verify(h, data, tag);
        if r.is_err() {
            self.rx_usage.record_failure();
        }
        r
    }

    fn note_usage(&mut self, u: UsageStatus) -> UsageStatus {
        // CCISE counters restart with the next key generation, so both soft limits (invocations
        // and counter) ask for a rekey.
        if u.past_soft_limit() {
            self.status.needs_rekey = true;
        }
        if self.status.needs_rekey {
            UsageStatus::NeedsRekey
        } else {
            UsageStatus::Ok
        }
    }

    /// Handles a write transaction (the I2C payload of `S addr|W ... P`): parses it, rejects
    /// replays, verifies the tag, and only then applies **all** data bytes to `map` (or none,
    /// when the map refuses any of them).
    ///
    /// Every rejection is recorded in the status register. A write that authenticated but that
    /// the map refused still consumes its counter.
    ///
    /// # Errors
    /// [`WireError`] for an impossible length; [`SecurityError::Replay`];
    /// [`SecurityError::AuthFailed`] for a tampered, forged or misdirected write;
    /// [`SecurityError::KeyExhausted`]; [`AccessError`] when the map refused the write.
    pub fn handle_write<M: RegisterMap + ?Sized>(
        &mut self,
        frame: &[u8],
        map: &mut M,
    ) -> Result<Accepted, Error> {
        self.open_write(frame, map).map_err(|e| self.fail(e))
    }

    fn open_write<M: RegisterMap + ?Sized>(
        &mut self,
        frame: &[u8],
        map: &mut M,
    ) -> Result<Accepted, Error> {
        let w = WriteRepr::parse(frame, self.channel.tag_len())?;
        // Check (nothing moves), verify, then commit the counter and the key invocation.
        let pending = self.rx.check(PacketNumber::new(w.counter, 0))?;
        let usage = self.rx_usage.check(0)?;
        let header = Header {
            kind: Kind::Write,
            register: w.register,
            len: w.data.len() as u16,
            counter: w.counter,
            request_counter: 0,
        };
        self.verify(&header, w.data, w.tag)?;
        self.rx.commit(pending);
        let _ = self.rx_usage.commit();
        if overlaps_status(w.register, w.data.len()) {
            return Err(AccessError::ReadOnly(wire::STATUS_REGISTER).into());
        }
        map.write(w.register, w.data)?;
        Ok(Accepted {
            counter: w.counter,
            response_len: 0,
            usage: self.note_usage(usage),
        })
    }

    /// Handles a read request (the write phase before the repeated start) and writes the
    /// response frame into `response`.
    ///
    /// The request is verified before any register is read. On success the response is
    /// `data ‖ counter ‖ tag` ([`Accepted::response_len`] bytes). On any error `response` is
    /// filled with [`FILLER`] bytes, which the controller rejects; the reason is recorded in
    /// the status register (readable through a protected read of [`wire::STATUS_REGISTER`]).
    ///
    /// # Errors
    /// As [`Target::handle_write`], plus [`WireError::BufferTooSmall`] when `response` cannot
    /// hold the response.
    pub fn handle_read<M: RegisterMap + ?Sized>(
        &mut self,
        request: &[u8],
        map: &mut M,
        response: &mut [u8],
    ) -> Result<Accepted, Error> {
        match self.open_read(request, map, response) {
            Ok(a) => Ok(a),
            Err(e) => {
                response.fill(FILLER);
                Err(self.fail(e))
            }
        }
    }

    fn open_read<M: RegisterMap + ?Sized>(
        &mut self,
        request: &[u8],
        map: &mut M,
        response: &mut [u8],
    ) -> Result<Accepted, Error> {
        let tag_len = self.channel.tag_len();
        let r = ReadRequestRepr::parse(request, tag_len)?;
        let n = usize::from(r.len);
        let needed = wire::read_response_len(n, tag_len);
        if response.len() < needed {
            return Err(WireError::BufferTooSmall {
                needed,
                available: response.len(),
            }
            .into());
        }
        let pending = self.rx.check(PacketNumber::new(r.counter, 0))?;
        let rx_usage = self.rx_usage.check(0)?;
        let request_header = Header {
            kind: Kind::ReadRequest,
            register: r.register,
            len: u16::from(r.len),
            counter: r.counter,
            request_counter: 0,
        };
        self.verify(&request_header, &[], r.tag)?;
        self.rx.commit(pending);
        let _ = self.rx_usage.commit();

        // Authenticated: read the registers, then seal the response.
        let encrypted = self.channel.encrypts_reads();
        // Wiped on drop: a refused read may leave partial register contents here.
        let mut buf = Zeroizing::new([0u8; wire::MAX_DATA_LEN]);
        let data = &mut buf[..n];
        if overlaps_status(r.register, n) {
            let bytes = self.status.to_bytes();
            let off = usize::from(r.register.wrapping_sub(wire::STATUS_REGISTER));
            match bytes.get(off..off + n) {
                Some(s) if r.register >= wire::STATUS_REGISTER => data.copy_from_slice(s),
                _ => return Err(AccessError::Unmapped(r.register).into()),
            }
        } else {
            map.read(r.register, data, encrypted)?;
        }
        let counter = self.next_counter;
        let tx_usage = self.tx_usage.record(PacketNumber::new(counter, 0))?;
        self.next_counter = counter.saturating_add(1);
        let header = Header {
            kind: Kind::ReadResponse,
            register: r.register,
            len: u16::from(r.len),
            counter,
            request_counter: r.counter,
        };
        let tag = if encrypted {
            self.channel.seal_encrypted(&header, data)
        } else {
            self.channel.mac(&header, data)
        };
        let len = ReadResponseRepr {
            data,
            counter,
            tag: tag.as_bytes(),
        }
        .emit(response)?;
        let usage = if rx_usage.past_soft_limit() {
            rx_usage
        } else {
            tx_usage
        };
        Ok(Accepted {
            counter: r.counter,
            response_len: len,
            usage: self.note_usage(usage),
        })
    }
}
