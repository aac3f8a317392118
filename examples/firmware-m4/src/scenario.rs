//! The sensor-side operations, shared by the firmware image and the host generator
//! (`host/`, which includes this file): the same code runs on both, and `.ci/firmware`
//! compares the `result` lines they print byte for byte.
//!
//! Every entry point of a protocol crate is called through [`Probe::call`], which on the
//! firmware measures its stack by painting. Inputs that a peer would send (CCISE frames of the
//! controller, SPDM requests of the requester) come from `recorded.rs`, which the host
//! generator writes.

#![allow(dead_code)]

/// What the scenario needs from its runner.
pub trait Probe {
    /// Calls one entry point (`entry` names it in the `stack` line).
    fn call<R>(&mut self, entry: &'static str, f: impl FnOnce() -> R) -> R;
    /// Reports one result (printed as a digest).
    fn result(&mut self, name: &'static str, bytes: &[u8]);
    /// Reports a failed step (the run fails).
    fn fail(&mut self, what: &'static str);
}

/// FNV-1a (64-bit) of `bytes`: the digest of the `result` lines.
pub fn fnv64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

/// The keys and inputs both sides agree on.
pub mod fixture {
    /// CCISE: controller-to-sensor and sensor-to-controller CMAC keys, the IV salt.
    pub const CCISE_KEY_TO_TARGET: [u8; 16] = [0x11; 16];
    pub const CCISE_KEY_TO_CONTROLLER: [u8; 16] = [0x22; 16];
    pub const CCISE_SALT: [u8; 12] = [0x33; 12];
    pub const CCISE_ADDRESS: u8 = 0x36;
    /// The registers the sealed write sets and the sealed read reads back.
    pub const CCISE_REGISTER: u16 = 0x3000;
    pub const CCISE_DATA: [u8; 8] = [0xA5, 0x5A, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06];

    /// SEP/FSED: the stream key, the CMAC key, the salt, the first frame counter.
    pub const STREAM_KEY: [u8; 16] = [0x42; 16];
    pub const STREAM_MAC_KEY: [u8; 16] = [0xBD; 16];
    pub const STREAM_SALT: [u8; 12] = [0x43; 12];
    pub const FIRST_FRAME: u32 = 7;
    /// One RAW12 line of 3840 pixels.
    pub const LINE_LEN: usize = 5760;
    pub const RAW12: u8 = 0x2C;

    /// The pixel bytes of the line.
    pub fn pixel(i: usize) -> u8 {
        (i as u8).wrapping_mul(31) ^ ((i >> 8) as u8).wrapping_mul(7)
    }

    /// SPDM: the seeds of the two deterministic random sources (test only) and the
    /// DataTransferSize both ends advertise.
    pub const RESPONDER_SEED: u64 = 0x1111_2222_3333_4445;
    pub const REQUESTER_SEED: u64 = 0x5555_6666_7777_8889;
    pub const SPDM_DTS: u32 = 1024;
}

#[cfg(feature = "ccise")]
pub mod ccise_target {
    use super::{Probe, fixture as fx};
    use ccise::{AccessError, Config, RegisterMap, SessionKeys, SessionSecrets, Target};
    use cse_core::crypto::SuiteKey;
    use cse_core::keys::{Salt, SecretKey};
    use cse_core::{CipherSuite, SecurityError};

    /// A 256-register window at [`fx::CCISE_REGISTER`].
    pub struct Regs(pub [u8; 256]);

    impl Regs {
        fn range(register: u16, len: usize) -> Result<core::ops::Range<usize>, AccessError> {
            let start = usize::from(register.wrapping_sub(fx::CCISE_REGISTER));
            if register < fx::CCISE_REGISTER || start + len > 256 {
                return Err(AccessError::Unmapped(register));
            }
            Ok(start..start + len)
        }
    }

    impl RegisterMap for Regs {
        fn write(&mut self, register: u16, data: &[u8]) -> Result<(), AccessError> {
            let r = Self::range(register, data.len())?;
            self.0[r].copy_from_slice(data);
            Ok(())
        }

        fn read(&mut self, register: u16, out: &mut [u8], _enc: bool) -> Result<(), AccessError> {
            let r = Self::range(register, out.len())?;
            out.copy_from_slice(&self.0[r]);
            Ok(())
        }
    }

    /// The session keys of both ends.
    pub fn keys() -> Result<SessionKeys, ccise::Error> {
        let suite = CipherSuite::Aes128Cmac;
        let to_target = SuiteKey::new(suite, &SecretKey::aes128(fx::CCISE_KEY_TO_TARGET), None)
            .map_err(ccise::Error::from)?;
        let to_controller =
            SuiteKey::new(suite, &SecretKey::aes128(fx::CCISE_KEY_TO_CONTROLLER), None)
                .map_err(ccise::Error::from)?;
        SessionKeys::new(to_target, to_controller, Salt::new(fx::CCISE_SALT))
    }

    pub fn config() -> Config {
        Config::new(fx::CCISE_ADDRESS)
    }

    /// Target side: construction, the sealed write, the sealed read; returns the read
    /// response frame length written to `response`.
    pub fn run<P: Probe>(
        p: &mut P,
        write: &[u8],
        read_request: &[u8],
        response: &mut [u8],
    ) -> usize {
        let mut regs = Regs([0; 256]);
        let target = p.call("ccise::Target::new", || {
            let to_target = SecretKey::aes128(fx::CCISE_KEY_TO_TARGET);
            let to_controller = SecretKey::aes128(fx::CCISE_KEY_TO_CONTROLLER);
            let salt = Salt::new(fx::CCISE_SALT);
            Target::from_secrets(
                config(),
                &SessionSecrets {
                    suite: CipherSuite::Aes128Cmac,
                    to_target: &to_target,
                    to_controller: &to_controller,
                    mac_keys: None,
                    salt: &salt,
                },
            )
        });
        let Ok(mut target) = target else {
            p.fail("ccise: Target::new");
            return 0;
        };
        let w = p.call("ccise::Target::handle_write", || {
            target.handle_write(write, &mut regs)
        });
        if w.is_err() {
            p.fail("ccise: handle_write");
        }
        p.result("ccise.registers", &regs.0[..16]);
        // A replayed write is refused and changes nothing.
        regs.0[0] = 0;
        let replay = target.handle_write(write, &mut regs);
        if !matches!(
            replay,
            Err(ccise::Error::Security(SecurityError::Replay { .. }))
        ) || regs.0[0] != 0
        {
            p.fail("ccise: replay accepted");
        }
        regs.0[0] = fx::CCISE_DATA[0];
        let r = p.call("ccise::Target::handle_read", || {
            target.handle_read(read_request, &mut regs, response)
        });
        let n = match r {
            Ok(a) => a.response_len,
            Err(_) => {
                p.fail("ccise: handle_read");
                0
            }
        };
        // `get`: no panicking path (the harness adds none to the piece's flash).
        p.result(
            "ccise.read_response",
            response.get(..n).unwrap_or_default(),
        );
        p.result("ccise.status", &target.status().to_bytes());
        n
    }
}

/// Writes FS, the RAW12 line and FE of frame `frame` into `buf` one at a time and hands each
/// original packet to `each`.
#[cfg(any(feature = "sep", feature = "fsed"))]
pub fn frame_packets(
    buf: &mut [u8],
    frame: u16,
    mut each: impl FnMut(&'static str, &mut [u8]),
) -> Result<(), cse_core::csi2::Error> {
    use cse_core::csi2::{DataType, Emitter, HeaderForm, VirtualChannel};
    let vc = VirtualChannel::new(0).map_err(|_| cse_core::csi2::Error::Truncated {
        needed: 0,
        available: 0,
    })?;
    {
        let mut em = Emitter::new(buf, HeaderForm::Dphy);
        em.frame_start(vc, frame)?;
        let n = em.len();
        each("fs", &mut buf[..n]);
    }
    let n = {
        let mut em = Emitter::new(buf, HeaderForm::Dphy);
        em.long_with(
            vc,
            DataType(fixture::RAW12),
            fixture::LINE_LEN as u16,
            |slot| {
                for (i, b) in slot.iter_mut().enumerate() {
                    *b = fixture::pixel(i);
                }
            },
        )?;
        em.len()
    };
    each("line", &mut buf[..n]);
    {
        let mut em = Emitter::new(buf, HeaderForm::Dphy);
        em.frame_end(vc, frame)?;
        let n = em.len();
        each("fe", &mut buf[..n]);
    }
    Ok(())
}

#[cfg(any(feature = "sep", feature = "fsed"))]
fn material() -> cse_core::agent::KeyMaterial {
    use cse_core::keys::{Salt, SecretKey};
    cse_core::agent::KeyMaterial::new(
        SecretKey::aes128(fixture::STREAM_KEY),
        Some(SecretKey::aes128(fixture::STREAM_MAC_KEY)),
        Salt::new(fixture::STREAM_SALT),
    )
}

#[cfg(feature = "sep")]
pub mod sep_tx {
    use super::{Probe, fixture as fx, frame_packets, material};
    use cse_core::csi2::VirtualChannel;
    use cse_core::{BlockConfig, CipherSuite, FrameConfig, KeyId};
    use cse_sep::{Settings, Transmitter};

    /// Per-message 16-byte AES-128-CMAC tags on every block.
    pub fn frame_config() -> FrameConfig {
        FrameConfig::uniform(
            BlockConfig::full_integrity(CipherSuite::Aes128Cmac),
            KeyId::default(),
        )
    }

    /// Sets up a transmitter and protects FS, one RAW12 line and FE; `pkt` holds an original
    /// packet, `out` the SEP packets.
    pub fn run<P: Probe>(p: &mut P, pkt: &mut [u8], out: &mut [u8]) {
        let Ok(vc) = VirtualChannel::new(0) else {
            return p.fail("sep: vc");
        };
        let mut tx = p.call("sep::Transmitter::new", || {
            Transmitter::new(Settings::new(vc), fx::FIRST_FRAME)
        });
        let r = p.call("sep::Transmitter::install_key", || {
            tx.install_key(KeyId::default(), material())
        });
        if r.is_err() {
            return p.fail("sep: install_key");
        }
        if p.call("sep::Transmitter::set_config", || {
            tx.set_config(frame_config())
        })
        .is_err()
        {
            return p.fail("sep: set_config");
        }
        let r = frame_packets(pkt, 1, |name, packet| {
            let r = p.call("sep::Transmitter::protect", || tx.protect(packet, out));
            match r {
                Ok(prot) => p.result(
                    match name {
                        "fs" => "sep.fs",
                        "line" => "sep.line",
                        _ => "sep.fe",
                    },
                    &out[..prot.len],
                ),
                Err(_) => p.fail("sep: protect"),
            }
        });
        if r.is_err() {
            p.fail("sep: emit");
        }
    }
}

#[cfg(feature = "fsed")]
pub mod fsed_tx {
    use super::{Probe, fixture as fx, frame_packets, material};
    use cse_core::csi2::VirtualChannel;
    use cse_core::{BlockConfig, CipherSuite, FrameConfig, KeyId, TagMode};
    use cse_fsed::{Settings, Transmitter};

    /// Per-frame 16-byte AES-128-CMAC tags on every block.
    pub fn frame_config() -> FrameConfig {
        let mut b = BlockConfig::full_integrity(CipherSuite::Aes128Cmac);
        b.tag_mode = TagMode::PerFrame;
        FrameConfig::uniform(b, KeyId::default())
    }

    /// Sets up a transmitter and protects FS, one RAW12 line and FE; `pkt` holds an original
    /// packet (changed in place), `out` the inserted FSED packets.
    pub fn run<P: Probe>(p: &mut P, pkt: &mut [u8], out: &mut [u8]) {
        let Ok(vc) = VirtualChannel::new(0) else {
            return p.fail("fsed: vc");
        };
        let mut tx = p.call("fsed::Transmitter::new", || {
            Transmitter::new(Settings::new(vc), fx::FIRST_FRAME)
        });
        let r = p.call("fsed::Transmitter::install_key", || {
            tx.install_key(KeyId::default(), material())
        });
        if r.is_err() {
            return p.fail("fsed: install_key");
        }
        if p.call("fsed::Transmitter::set_config", || {
            tx.set_config(frame_config())
        })
        .is_err()
        {
            return p.fail("fsed: set_config");
        }
        let r = frame_packets(pkt, 1, |name, packet| {
            let r = p.call("fsed::Transmitter::protect", || tx.protect(packet, out));
            match r {
                Ok(ins) => {
                    let (packet_name, out_name) = match name {
                        "fs" => ("fsed.fs", "fsed.fs.inserted"),
                        "line" => ("fsed.line", "fsed.line.inserted"),
                        _ => ("fsed.fe", "fsed.fe.inserted"),
                    };
                    p.result(packet_name, packet);
                    p.result(out_name, &out[..ins.before + ins.after]);
                }
                Err(_) => p.fail("fsed: protect"),
            }
        });
        if r.is_err() {
            p.fail("fsed: emit");
        }
    }
}

#[cfg(feature = "spdm")]
pub mod spdm_rsp {
    use super::{Probe, fixture as fx};
    use spdm_lite::CryptoError;
    use spdm_lite::crypto::{AlgorithmSet, AsymAlgo, EcdsaSigningKey, RandomSource, RustCrypto};
    use spdm_lite::measurements::{BlockInfo, MeasurementProvider, value_type};
    use spdm_lite::mut_auth::{MutAuthMode, MutAuthPolicy};
    use spdm_lite::responder::{Responder, ResponderConfig};

    /// The sensor's measurements: the digest of its firmware (SHA-256 size, in the TCB) and
    /// its raw firmware version.
    pub struct Device;

    /// The blocks of [`Device`]: index, value type, value, TCB.
    pub const BLOCKS: [(u8, u8, &[u8], bool); 2] = [
        (1, value_type::MUTABLE_FIRMWARE, &[0x5A; 32], true),
        (
            2,
            value_type::FIRMWARE_VERSION | value_type::RAW,
            b"sensor-fw 1.4.2",
            false,
        ),
    ];

    impl MeasurementProvider for Device {
        fn count(&self) -> usize {
            BLOCKS.len()
        }

        fn block(&self, n: usize, value: &mut [u8]) -> Option<BlockInfo> {
            let (index, value_type, v, tcb) = *BLOCKS.get(n)?;
            value.get_mut(..v.len())?.copy_from_slice(v);
            Some(BlockInfo {
                index,
                value_type,
                len: v.len(),
                tcb,
            })
        }
    }

    /// Deterministic xorshift source, the same as the host's; a test fixture, never for
    /// production (a sensor uses its TRNG).
    pub struct TestRng(pub u64);

    impl RandomSource for TestRng {
        fn fill(&mut self, out: &mut [u8]) -> Result<(), CryptoError> {
            for b in out {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                *b = self.0 as u8;
            }
            Ok(())
        }
    }

    pub fn config(chain: &[u8]) -> ResponderConfig<'_> {
        ResponderConfig {
            algorithms: AlgorithmSet::SET_A,
            cert_chain: chain,
            psk: None,
            handshake_in_the_clear: false,
            data_transfer_size: fx::SPDM_DTS,
        }
    }

    /// The responder, with measurements and mutual authentication by the requester's
    /// provisioned public key (`requester_spki`, DER SubjectPublicKeyInfo), answers every
    /// recorded request; `msg` and `out` are the message buffers.
    pub fn run<P: Probe>(
        p: &mut P,
        chain: &[u8],
        leaf_scalar: &[u8],
        requester_spki: &[u8],
        requests: &[&[u8]],
        msg: &mut [u8],
        out: &mut [u8],
    ) {
        let Ok(key) = EcdsaSigningKey::from_scalar(AsymAlgo::EcdsaP256, leaf_scalar) else {
            return p.fail("spdm: key");
        };
        let mut rng = TestRng(fx::RESPONDER_SEED);
        let rsp = p.call("spdm::Responder::new", || {
            Responder::new(RustCrypto, &key, &mut rng, config(chain))
        });
        let Ok(mut rsp) = rsp else {
            return p.fail("spdm: Responder::new");
        };
        rsp.set_measurements(&Device);
        rsp.set_mut_auth(MutAuthPolicy {
            mode: MutAuthMode::PublicKey {
                spki: requester_spki,
            },
            mandatory: true,
        });
        for req in requests {
            let Some(m) = msg.get_mut(..req.len()) else {
                return p.fail("spdm: request too long");
            };
            m.copy_from_slice(req);
            let r = p.call("spdm::Responder::handle", || rsp.handle(m, out));
            match r {
                Ok(n) => p.result("spdm.response", &out[..n]),
                Err(_) => return p.fail("spdm: handle"),
            }
        }
        if rsp.state_name() != "Established" {
            p.fail("spdm: not established");
        }
        match rsp.session() {
            Some(s) if s.requester_auth() == spdm_lite::session::RequesterAuth::Signature => {
                p.result("spdm.session_id", &s.id().to_be_bytes())
            }
            Some(_) => p.fail("spdm: requester not authenticated"),
            None => p.fail("spdm: no session"),
        }
    }
}
