//! Entry points for the fuzz targets in `fuzz/` (not a stable API).
//!
//! Each function is an oracle: it runs the library on arbitrary bytes and `assert!`s
//! invariants that must hold for every input. They allocate nothing.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use cse_core::crypto::SuiteKey;
use cse_core::keys::{Salt, SecretKey};
use cse_core::{CipherSuite, TagLen};

use crate::wire::{self, MAX_FRAME_LEN, ReadRequestRepr, ReadResponseRepr, WriteRepr};
use crate::{Config, Controller, Error, FILLER, SessionKeys, SimSensor, Target};

/// A byte cursor over the fuzz input; reads past the end give zeros and stop the loop.
struct Cursor<'a> {
    data: &'a [u8],
}

impl<'a> Cursor<'a> {
    fn u8(&mut self) -> u8 {
        match self.data.split_first() {
            Some((&b, rest)) => {
                self.data = rest;
                b
            }
            None => 0,
        }
    }

    fn u16(&mut self) -> u16 {
        u16::from_be_bytes([self.u8(), self.u8()])
    }

    fn take(&mut self, n: usize) -> &'a [u8] {
        let n = n.min(self.data.len());
        let (a, b) = self.data.split_at(n);
        self.data = b;
        a
    }

    fn is_empty(&self) -> bool {
        self.data.is_empty()
    }
}

fn suite_key(suite: CipherSuite, byte: u8) -> SuiteKey {
    let mac = suite
        .needs_mac_key()
        .then(|| SecretKey::aes128([byte ^ 0x5A; 16]));
    SuiteKey::new(suite, &SecretKey::aes128([byte; 16]), mac.as_ref()).unwrap()
}

/// The session keys both fuzzed ends use.
fn keys(suite: CipherSuite) -> SessionKeys {
    SessionKeys::new(
        suite_key(suite, 0x11),
        suite_key(suite, 0x22),
        Salt::new([0x33; 12]),
    )
    .unwrap()
}

/// Session parameters from the first input byte: suite, tag length, encrypted reads.
fn config(selector: u8) -> (CipherSuite, Config) {
    let suite = [
        CipherSuite::Aes128Cmac,
        CipherSuite::Aes128CtrCmac,
        CipherSuite::Aes128Gmac,
        CipherSuite::Aes128Gcm,
    ][usize::from(selector & 3)];
    let tag_len = if selector & 4 == 0 {
        TagLen::L16
    } else {
        TagLen::L8
    };
    let encrypt = selector & 8 != 0 && suite.encrypts();
    let cfg = Config::new(0x36)
        .with_tag_len(tag_len)
        .with_encrypted_reads(encrypt);
    (suite, cfg)
}

/// Whether `frame` is exactly what the session's controller seals for this write at its
/// counter, i.e. carries the correct tag. A target may accept only such frames.
fn authentic_write(cfg: Config, suite: CipherSuite, frame: &[u8]) -> bool {
    let Ok(w) = WriteRepr::parse(frame, cfg.tag_len) else {
        return false;
    };
    let mut c = Controller::resume(cfg, keys(suite), w.counter).unwrap();
    let mut out = [0u8; MAX_FRAME_LEN];
    c.seal_write(w.register, w.data, &mut out)
        .is_ok_and(|s| out[..s.len] == *frame)
}

/// As [`authentic_write`], for a read request.
fn authentic_request(cfg: Config, suite: CipherSuite, frame: &[u8]) -> bool {
    let Ok(r) = ReadRequestRepr::parse(frame, cfg.tag_len) else {
        return false;
    };
    let mut c = Controller::resume(cfg, keys(suite), r.counter).unwrap();
    let mut out = [0u8; MAX_FRAME_LEN];
    c.seal_read_request(r.register, r.len, &mut out)
        .is_ok_and(|(_, s)| out[..s.len] == *frame)
}

/// Whether the target would still accept `counter` (an authentic frame learned from an earlier
/// run may have moved it past the controller's counter).
fn fresh(tgt: &Target, counter: u32) -> bool {
    tgt.last_counter().is_none_or(|last| counter > last)
}

/// A register address: mostly around the demo map, sometimes around the status block.
fn register(raw: u16) -> u16 {
    if raw >= 0xF000 {
        0xFFEC + raw % 0x14
    } else {
        raw % 0x0420
    }
}

/// Flips `mask` into byte `pos % len` of `frame` (no change when `mask` is 0).
fn mutate(frame: &mut [u8], pos: u8, mask: u8) {
    if let Some(len) = core::num::NonZeroUsize::new(frame.len()) {
        frame[usize::from(pos) % len.get()] ^= mask;
    }
}

/// Target-side oracle: a stateful sequence of genuine, tampered, replayed and arbitrary
/// transactions against a [`Target`] driving [`SimSensor::demo`].
///
/// Invariants: nothing panics; a write changes the register map only when it is a genuine,
/// untampered, fresh write that the map accepts, and then exactly as sealed; every rejected
/// write leaves the map unchanged; a rejected read request produces only [`FILLER`] bytes; a
/// genuine read returns the map's contents and a tampered response is rejected with the output
/// wiped; arbitrary bytes never pass as a write or a read request.
pub fn target(data: &[u8]) {
    let mut input = Cursor { data };
    let (suite, cfg) = config(input.u8());
    let mut ctrl = Controller::new(cfg, keys(suite)).unwrap();
    let mut tgt = Target::new(cfg, keys(suite)).unwrap();
    let mut sensor = SimSensor::demo();
    // One captured (sealed, not delivered) write the attacker may deliver later.
    let mut captured = [0u8; MAX_FRAME_LEN];
    let mut captured_len = 0usize;

    let mut frame = [0u8; MAX_FRAME_LEN];
    let mut response = [0u8; MAX_FRAME_LEN];
    while !input.is_empty() {
        let op = input.u8();
        let before = sensor.clone();
        match op % 6 {
            // A genuine write, possibly tampered in one byte.
            0 => {
                let reg = register(input.u16());
                let n = usize::from(input.u8() % 8) + 1;
                let payload = input.take(n);
                if payload.is_empty() {
                    break;
                }
                let (pos, mask) = (input.u8(), input.u8());
                let fresh = fresh(&tgt, ctrl.next_counter());
                let Ok(sealed) = ctrl.seal_write(reg, payload, &mut frame) else {
                    continue;
                };
                let f = &mut frame[..sealed.len];
                mutate(f, pos, mask);
                let result = tgt.handle_write(f, &mut sensor);
                if mask != 0 {
                    assert!(result.is_err(), "tampered write accepted");
                }
                match result {
                    Ok(_) => {
                        let start = usize::from(reg);
                        assert_eq!(&sensor.registers()[start..start + payload.len()], payload);
                    }
                    Err(e) => {
                        assert_eq!(sensor, before, "rejected write changed registers");
                        if mask == 0 && fresh {
                            assert!(matches!(e, Error::Access(_)), "genuine write: {e:?}");
                        }
                    }
                }
            }
            // Seal a write and keep it (the attacker captured it).
            1 => {
                let reg = 0x0100 + u16::from(input.u8());
                let value = input.u8();
                if let Ok(s) = ctrl.seal_write(reg, &[value], &mut captured) {
                    captured_len = s.len;
                }
            }
            // Deliver the captured write (late, reordered, or replayed).
            2 => {
                let fresh_before = tgt.last_counter();
                let result = tgt.handle_write(&captured[..captured_len], &mut sensor);
                if let Ok(a) = result {
                    assert!(fresh_before.is_none_or(|last| a.counter > last));
                } else {
                    assert_eq!(sensor, before);
                }
            }
            // Arbitrary bytes as a write and as a read request.
            3 => {
                let n = usize::from(input.u8());
                let raw = input.take(n);
                // Accepted only if the frame carries the correct tag. (The keys are fixed across
                // runs, so libFuzzer can learn authentic frames from earlier runs; those are
                // not forgeries, and any other frame must be refused.)
                match tgt.handle_write(raw, &mut sensor) {
                    Ok(_) => assert!(authentic_write(cfg, suite, raw), "forged write accepted"),
                    Err(_) => assert_eq!(sensor, before),
                }
                // A one-byte write has a request's length but never passes as one.
                match tgt.handle_read(raw, &mut sensor, &mut response) {
                    Ok(_) => assert!(
                        authentic_request(cfg, suite, raw),
                        "forged read request accepted"
                    ),
                    Err(_) => assert!(response.iter().all(|b| *b == FILLER)),
                }
            }
            // A genuine read request, request or response possibly tampered.
            _ => {
                let reg = register(input.u16());
                let n = input.u8() % 16 + 1;
                let (pos, mask) = (input.u8(), input.u8());
                let tamper_response = op % 6 == 5;
                let fresh = fresh(&tgt, ctrl.next_counter());
                let Ok((pending, sealed)) = ctrl.seal_read_request(reg, n, &mut frame) else {
                    continue;
                };
                let f = &mut frame[..sealed.len];
                if !tamper_response {
                    mutate(f, pos, mask);
                }
                let result = tgt.handle_read(f, &mut sensor, &mut response);
                assert_eq!(sensor, before, "a read changed registers");
                let request_genuine = tamper_response || mask == 0;
                let accepted = match result {
                    Ok(a) => a,
                    Err(e) => {
                        assert!(response.iter().all(|b| *b == FILLER));
                        if request_genuine && fresh {
                            assert!(matches!(e, Error::Access(_)), "genuine request: {e:?}");
                        }
                        continue;
                    }
                };
                assert!(mask == 0 || tamper_response, "tampered request accepted");
                let resp = &mut response[..accepted.response_len];
                if tamper_response {
                    mutate(resp, pos, mask);
                }
                let mut out = [0xAAu8; 16];
                let opened = ctrl.open_read_response(pending, resp, &mut out);
                let n = usize::from(n);
                match opened {
                    Ok(len) => {
                        assert!(!tamper_response || mask == 0, "tampered response accepted");
                        assert_eq!(len, n);
                        for (i, b) in out[..n].iter().enumerate() {
                            let r = reg.wrapping_add(i as u16);
                            let expected = if r >= wire::STATUS_REGISTER {
                                tgt.status().to_bytes()[usize::from(r - wire::STATUS_REGISTER)]
                            } else {
                                sensor.peek(r).unwrap()
                            };
                            assert_eq!(*b, expected);
                        }
                    }
                    Err(_) => {
                        assert!(tamper_response && mask != 0, "genuine response rejected");
                        assert!(out[..n].iter().all(|b| *b == 0), "output not wiped");
                    }
                }
            }
        }
    }
}

/// Codec oracle: parse arbitrary bytes as each frame kind and re-emit them.
///
/// Byte 0 selects the tag length (bit 0) and, for responses, the data length (byte 1). A frame
/// that parses emits to exactly the same bytes; `buffer_len` equals the input length.
pub fn wire(data: &[u8]) {
    let [selector, n, rest @ ..] = data else {
        return;
    };
    let tag_len = if selector & 1 == 0 {
        TagLen::L16
    } else {
        TagLen::L8
    };
    let mut out = [0u8; MAX_FRAME_LEN + 8];
    if let Ok(w) = WriteRepr::parse(rest, tag_len) {
        assert_eq!(w.buffer_len(), rest.len());
        assert_eq!(w.emit(&mut out), Ok(rest.len()));
        assert_eq!(&out[..rest.len()], rest);
    }
    if let Ok(r) = ReadRequestRepr::parse(rest, tag_len) {
        assert_eq!(r.buffer_len(), rest.len());
        assert_eq!(r.emit(&mut out), Ok(rest.len()));
        assert_eq!(&out[..rest.len()], rest);
    }
    if let Ok(r) = ReadResponseRepr::parse(rest, usize::from(*n), tag_len) {
        assert_eq!(r.buffer_len(), rest.len());
        assert_eq!(r.emit(&mut out), Ok(rest.len()));
        assert_eq!(&out[..rest.len()], rest);
    }
}
