//! The controller role (SoC or ECU): seals writes and read requests, opens read responses.

use cse_core::keys::{KeyUsage, UsageStatus};
use cse_core::nonce::PacketNumber;
use cse_core::sequence::ReplayTracker;

use crate::error::{Error, WireError};
use crate::session::{Channel, Config, Header, SessionKeys};
use crate::wire::{self, Kind, ReadRequestRepr, ReadResponseRepr, WriteRepr};

/// A sealed frame: how many bytes of the output buffer to put on the bus, and whether the key
/// is past its soft usage limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub struct Sealed {
    /// Bytes written to the output buffer.
    pub len: usize,
    /// [`UsageStatus::NeedsRekey`] (or [`UsageStatus::NeedsRestart`], the counter's soft
    /// limit) once the key is past a soft limit: derive the next key generation soon (its
    /// counters start again); sealing keeps working until the hard limit.
    pub usage: UsageStatus,
}

impl Sealed {
    /// Whether a rekey is requested.
    pub fn needs_rekey(&self) -> bool {
        self.usage.past_soft_limit()
    }
}

/// An outstanding read request: what the response must answer. Not `Clone`, so each request
/// accepts at most one response.
#[derive(Debug, PartialEq, Eq)]
#[must_use = "pass the request to Controller::open_read_response"]
pub struct PendingRead {
    register: u16,
    len: u8,
    counter: u32,
    response_len: usize,
}

impl PendingRead {
    /// First register asked for.
    pub fn register(&self) -> u16 {
        self.register
    }

    /// Number of data bytes asked for.
    pub fn data_len(&self) -> usize {
        usize::from(self.len)
    }

    /// The request's counter.
    pub fn counter(&self) -> u32 {
        self.counter
    }

    /// How many bytes to read from the bus after the repeated start.
    pub fn response_len(&self) -> usize {
        self.response_len
    }
}

/// The controller side of a CCISE session.
///
/// Its controller-to-sensor counter starts at 1 and increases by one per sealed write or read
/// request; the sensor-to-controller counters of responses must strictly increase. Sans-IO:
/// frames go into and come from caller buffers.
#[derive(Debug)]
pub struct Controller {
    channel: Channel,
    next_counter: u32,
    tx_usage: KeyUsage,
    rx: ReplayTracker,
    rx_usage: KeyUsage,
}

impl Controller {
    /// A controller for a fresh session (first counter 1).
    ///
    /// # Errors
    /// As [`Config::validate`]; [`cse_core::ConfigError::TagLen`] when the tag length has no
    /// usage limit under the profile.
    pub fn new(config: Config, keys: SessionKeys) -> Result<Self, Error> {
        Self::resume(config, keys, 1)
    }

    /// A controller that continues a session whose keys were used up to `next_counter - 1`
    /// (for a counter persisted across a controller restart). Starting below a counter already
    /// used under the same keys repeats counters: the sensor rejects them as replays, and with
    /// GMAC suites it would repeat IVs. Prefer a fresh session.
    ///
    /// # Errors
    /// As [`Controller::new`].
    pub fn resume(config: Config, keys: SessionKeys, next_counter: u32) -> Result<Self, Error> {
        let channel = Channel::new(config, keys)?;
        Ok(Controller {
            tx_usage: channel.usage()?,
            rx_usage: channel.usage()?,
            channel,
            next_counter,
            rx: ReplayTracker::new(),
        })
    }

    /// The session configuration.
    pub fn config(&self) -> &Config {
        &self.channel.config
    }

    /// The counter the next write or read request will carry.
    pub fn next_counter(&self) -> u32 {
        self.next_counter
    }

    /// The last sensor-to-controller counter accepted, if any.
    pub fn last_response_counter(&self) -> Option<u32> {
        self.rx.last().map(|pn| pn.frame_counter())
    }

    /// Takes the next counter, refusing at the hard limit (the counter never wraps).
    fn take_counter(&mut self) -> Result<(u32, UsageStatus), Error> {
        let counter = self.next_counter;
        let usage = self.tx_usage.record(PacketNumber::new(counter, 0))?;
        self.next_counter = counter.saturating_add(1);
        Ok((counter, usage))
    }

    /// Seals a write of `data` to the registers from `register` on into `out`.
    ///
    /// # Errors
    /// [`WireError::EmptyData`] / [`WireError::TooLong`] for a data length outside 1..=255,
    /// [`WireError::BufferTooSmall`] when `out` is shorter than
    /// [`wire::write_len`], [`cse_core::SecurityError::KeyExhausted`] at the key's hard limit
    /// (rekey). Nothing is consumed on error.
    pub fn seal_write(
        &mut self,
        register: u16,
        data: &[u8],
        out: &mut [u8],
    ) -> Result<Sealed, Error> {
        let tag_len = self.channel.tag_len();
        let n = data.len();
        if n == 0 {
            return Err(WireError::EmptyData.into());
        }
        if n > wire::MAX_DATA_LEN {
            return Err(WireError::TooLong.into());
        }
        let needed = wire::write_len(n, tag_len);
        if out.len() < needed {
            return Err(WireError::BufferTooSmall {
                needed,
                available: out.len(),
            }
            .into());
        }
        let (counter, usage) = self.take_counter()?;
        let header = Header {
            kind: Kind::Write,
            register,
            len: n as u16,
            counter,
            request_counter: 0,
        };
        let tag = self.channel.mac(&header, data);
        let len = WriteRepr {
            register,
            data,
            counter,
            tag: tag.as_bytes(),
        }
        .emit(out)?;
        Ok(Sealed { len, usage })
    }

    /// Seals a request to read `len` bytes from `register` on into `out`. Send it as the write
    /// phase of an I2C write-read, read [`PendingRead::response_len`] bytes after the repeated
    /// start, and pass them to [`Controller::open_read_response`] with the returned request.
    ///
    /// # Errors
    /// [`WireError::EmptyData`] for `len == 0`, [`WireError::BufferTooSmall`], and
    /// [`cse_core::SecurityError::KeyExhausted`] as for [`Controller::seal_write`].
    pub fn seal_read_request(
        &mut self,
        register: u16,
        len: u8,
        out: &mut [u8],
    ) -> Result<(PendingRead, Sealed), Error> {
        let tag_len = self.channel.tag_len();
        if len == 0 {
            return Err(WireError::EmptyData.into());
        }
        let needed = wire::read_request_len(tag_len);
        if out.len() < needed {
            return Err(WireError::BufferTooSmall {
                needed,
                available: out.len(),
            }
            .into());
        }
        let (counter, usage) = self.take_counter()?;
        let header = Header {
            kind: Kind::ReadRequest,
            register,
            len: u16::from(len),
            counter,
            request_counter: 0,
        };
        let tag = self.channel.mac(&header, &[]);
        let written = ReadRequestRepr {
            register,
            len,
            counter,
            tag: tag.as_bytes(),
        }
        .emit(out)?;
        let pending = PendingRead {
            register,
            len,
            counter,
            response_len: wire::read_response_len(usize::from(len), tag_len),
        };
        Ok((
            pending,
            Sealed {
                len: written,
                usage,
            },
        ))
    }

    /// Opens the response to `request`: checks its length and counter, verifies its tag
    /// (binding the request's register, length and counter), and only then writes the data
    /// (decrypted when the session encrypts reads) into `out[..request.data_len()]`.
    ///
    /// Returns the number of data bytes. On any error nothing usable is written to `out` (the
    /// bytes that would have held the data are zeroed) and the replay state does not move.
    ///
    /// # Errors
    /// [`WireError`] for a response of the wrong length or a too-small `out`;
    /// [`cse_core::SecurityError::Replay`] for a counter at or below the last accepted one;
    /// [`cse_core::SecurityError::AuthFailed`] when the tag does not verify (a sensor that
    /// rejected the request answers with filler bytes, which fail here: read the status
    /// register to learn why); [`cse_core::SecurityError::KeyExhausted`] at the receive key's
    /// hard limit.
    pub fn open_read_response(
        &mut self,
        request: PendingRead,
        response: &[u8],
        out: &mut [u8],
    ) -> Result<usize, Error> {
        let n = usize::from(request.len);
        let available = out.len();
        let Some(out) = out.get_mut(..n) else {
            return Err(WireError::BufferTooSmall {
                needed: n,
                available,
            }
            .into());
        };
        out.fill(0);
        let r = ReadResponseRepr::parse(response, n, self.channel.tag_len())?;
        let pending = self.rx.check(PacketNumber::new(r.counter, 0))?;
        // Check, verify, commit: the key's budget is checked without changing it; a tag that
        // was computed counts against it (a failed one as a failure), and only a verified
        // response moves the replay state.
        let _ = self.rx_usage.check(0)?;
        let header = Header {
            kind: Kind::ReadResponse,
            register: request.register,
            len: u16::from(request.len),
            counter: r.counter,
            request_counter: request.counter,
        };
        out.copy_from_slice(r.data);
        let verified = if self.channel.encrypts_reads() {
            self.channel.open_encrypted(&header, out, r.tag)
        } else {
            self.channel.verify(&header, out, r.tag)
        };
        if let Err(e) = verified {
            out.fill(0);
            self.rx_usage.record_failure();
            return Err(e.into());
        }
        let _ = self.rx_usage.commit();
        self.rx.commit(pending);
        Ok(n)
    }
}
