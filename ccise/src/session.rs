//! Session configuration, keys, and the MAC and keystream computations both roles share.

use core::fmt;

use cse_core::crypto::{CheckedKey, SuiteKey, Tag};
use cse_core::keys::{KeyUsage, Salt, SecretKey, UsageLimits};
use cse_core::nonce::{Iv, StreamId};
use cse_core::{CipherSuite, ConfigError, Direction, KeyId, Profile, SecurityError, TagLen};

use crate::error::Error;
use crate::wire::{self, ContextParams, Kind};

/// The parameters both ends of a CCISE session agree on (none of them travels on the wire).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Config {
    /// 7-bit I2C address of the sensor.
    pub address: u8,
    /// Tag length: 16 (default) or 8 bytes; 12 is accepted too. The hazmat 4-byte length is
    /// refused.
    pub tag_len: TagLen,
    /// Whether read responses are encrypted (AES-CTR, encrypt-then-MAC). Needs an encrypting
    /// suite (AES-CTR+CMAC or AES-GCM).
    pub encrypt_reads: bool,
    /// Key id bound into every tag (the session's key generation).
    pub key_id: KeyId,
    /// The profile (format version and suite ids in the context block, usage limits).
    pub profile: Profile,
}

impl Config {
    /// A session with the sensor at `address`: 16-byte tags, clear reads, key id 0, profile
    /// `draft-1`.
    pub fn new(address: u8) -> Self {
        Config {
            address,
            tag_len: TagLen::L16,
            encrypt_reads: false,
            key_id: KeyId::default(),
            profile: Profile::DRAFT_1,
        }
    }

    /// The same configuration with another tag length.
    pub const fn with_tag_len(self, tag_len: TagLen) -> Self {
        Config { tag_len, ..self }
    }

    /// The same configuration with encrypted (`true`) or clear read responses.
    pub const fn with_encrypted_reads(self, encrypt_reads: bool) -> Self {
        Config {
            encrypt_reads,
            ..self
        }
    }

    /// The same configuration with another key id.
    pub const fn with_key_id(self, key_id: KeyId) -> Self {
        Config { key_id, ..self }
    }

    /// The same configuration under another profile.
    pub const fn with_profile(self, profile: Profile) -> Self {
        Config { profile, ..self }
    }

    /// Checks the configuration against the session's suite.
    ///
    /// # Errors
    /// [`Error::Address`] above 0x7F; [`ConfigError::TagLen`] for a 4-byte tag;
    /// [`ConfigError::SuiteDoesNotEncrypt`] for encrypted reads with an integrity-only suite.
    pub fn validate(&self, suite: CipherSuite) -> Result<(), Error> {
        if self.address > 0x7F {
            return Err(Error::Address(self.address));
        }
        if self.tag_len.is_hazmat() {
            return Err(ConfigError::TagLen(self.tag_len.as_u8()).into());
        }
        if self.encrypt_reads && !suite.encrypts() {
            return Err(ConfigError::SuiteDoesNotEncrypt(suite).into());
        }
        Ok(())
    }
}

/// The keys of one CCISE session: one suite key per direction and the IV salt.
///
/// Both keys use the same suite. With CMAC suites the salt is unused (CMAC takes no IV); with
/// GMAC, GCM and CTR+CMAC suites it forms the IVs (see [`wire::packet_number`]). Derive them
/// from the SPDM session (label `Profile::labels.ccise_key`, one derivation per direction),
/// fresh for every session: a session restarted under old keys would repeat counters. Not
/// `Clone`; the keys zeroize on drop; `Debug` shows only the suite.
pub struct SessionKeys {
    to_target: SuiteKey,
    to_controller: SuiteKey,
    salt: Salt,
}

impl SessionKeys {
    /// Bundles the controller-to-sensor key, the sensor-to-controller key and the salt.
    ///
    /// # Errors
    /// [`ConfigError::MacKey`] when the two keys are of different suites.
    pub fn new(to_target: SuiteKey, to_controller: SuiteKey, salt: Salt) -> Result<Self, Error> {
        if to_target.suite() != to_controller.suite() {
            return Err(ConfigError::MacKey.into());
        }
        Ok(SessionKeys {
            to_target,
            to_controller,
            salt,
        })
    }

    /// The suite of both keys.
    pub fn suite(&self) -> CipherSuite {
        self.to_target.suite()
    }
}

/// The secrets of one CCISE session, borrowed: what [`crate::Target::from_secrets`] expands
/// directly into the target it builds.
///
/// [`SessionKeys`] holds the expanded keys, moved by value into the role; building a role from the secrets instead expands every key schedule once, in its
/// final place, which keeps construction within a small sensor task's stack. `Debug` shows
/// only the suite.
pub struct SessionSecrets<'a> {
    /// The suite of both directions.
    pub suite: CipherSuite,
    /// The controller-to-sensor key (the encryption key of CTR+CMAC suites).
    pub to_target: &'a SecretKey,
    /// The sensor-to-controller key (the encryption key of CTR+CMAC suites).
    pub to_controller: &'a SecretKey,
    /// The MAC keys of CTR+CMAC suites (controller-to-sensor, sensor-to-controller); `None`
    /// for every other suite.
    pub mac_keys: Option<(&'a SecretKey, &'a SecretKey)>,
    /// The IV salt.
    pub salt: &'a Salt,
}

impl fmt::Debug for SessionSecrets<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionSecrets")
            .field("suite", &self.suite)
            .finish_non_exhaustive()
    }
}

impl<'a> SessionSecrets<'a> {
    /// Checks both keys against the suite (as [`SuiteKey::new`] does, without expanding).
    pub(crate) fn check(&self) -> Result<[CheckedKey<'a>; 2], ConfigError> {
        let (mt, mc) = match self.mac_keys {
            Some((t, c)) => (Some(t), Some(c)),
            None => (None, None),
        };
        Ok([
            SuiteKey::check(self.suite, self.to_target, mt)?,
            SuiteKey::check(self.suite, self.to_controller, mc)?,
        ])
    }
}

impl fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SessionKeys")
            .field("suite", &self.suite())
            .finish_non_exhaustive()
    }
}

/// What both roles share: keys, configuration, stream ids.
pub(crate) struct Channel {
    // The fields of `SessionKeys`, flat: `Channel::expand` writes each key into its place.
    to_target_key: SuiteKey,
    to_controller_key: SuiteKey,
    salt: Salt,
    pub(crate) config: Config,
    params: ContextParams,
    to_target: StreamId,
    to_controller: StreamId,
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Channel")
            .field("config", &self.config)
            .field("suite", &self.params.suite)
            .finish()
    }
}

/// The stream ids of the two directions (constants: a failure would not compile).
#[allow(clippy::panic)] // evaluated at compile time
const STREAM_TO_TARGET: StreamId = match wire::stream_id(Direction::ControllerToSensor) {
    Ok(s) => s,
    Err(_) => panic!("CCISE stream id"),
};
#[allow(clippy::panic)] // evaluated at compile time
const STREAM_TO_CONTROLLER: StreamId = match wire::stream_id(Direction::SensorToController) {
    Ok(s) => s,
    Err(_) => panic!("CCISE stream id"),
};

/// Fresh usage counters for one direction's key under `config`.
pub(crate) fn usage(config: &Config) -> Result<KeyUsage, Error> {
    Ok(KeyUsage::new(UsageLimits::new(
        config.tag_len,
        &config.profile,
    )?))
}

/// The fields of one transaction that its tag binds, besides the data.
pub(crate) struct Header {
    pub(crate) kind: Kind,
    pub(crate) register: u16,
    pub(crate) len: u16,
    pub(crate) counter: u32,
    pub(crate) request_counter: u32,
}

impl Channel {
    pub(crate) fn new(config: Config, keys: SessionKeys) -> Result<Self, Error> {
        config.validate(keys.suite())?;
        let SessionKeys {
            to_target,
            to_controller,
            salt,
        } = keys;
        Ok(Channel {
            params: ContextParams {
                suite: to_target.suite(),
                tag_len: config.tag_len,
                key_id: config.key_id,
            },
            to_target_key: to_target,
            to_controller_key: to_controller,
            salt,
            config,
            to_target: STREAM_TO_TARGET,
            to_controller: STREAM_TO_CONTROLLER,
        })
    }

    /// The channel of `config` with `keys` (checked by [`SessionSecrets::check`]) expanded in
    /// place; cannot fail, so the caller can write it straight into its own value.
    // A call of its own: it writes the channel straight into the caller's value, where inlined
    // code built it in a temporary and copied it.
    #[inline(never)]
    pub(crate) fn expand(config: Config, keys: [CheckedKey<'_>; 2], salt: &Salt) -> Self {
        let [to_target, to_controller] = keys;
        Channel {
            params: ContextParams {
                suite: to_target.suite(),
                tag_len: config.tag_len,
                key_id: config.key_id,
            },
            to_target_key: SuiteKey::expand(to_target),
            to_controller_key: SuiteKey::expand(to_controller),
            salt: Salt::new(*salt.as_bytes()),
            config,
            to_target: STREAM_TO_TARGET,
            to_controller: STREAM_TO_CONTROLLER,
        }
    }

    /// Fresh usage counters for one direction's key.
    pub(crate) fn usage(&self) -> Result<KeyUsage, Error> {
        usage(&self.config)
    }

    /// Whether read responses are encrypted: [`Config::encrypt_reads`], which only an
    /// encrypting suite allows (checked by [`Config::validate`] before any role exists). In a
    /// build of cse-core without encrypting suites no key can encrypt, so this is a constant
    /// `false` there and the encrypting paths do not link.
    pub(crate) fn encrypts_reads(&self) -> bool {
        cse_core::crypto::ENCRYPTION_BUILT && self.config.encrypt_reads
    }

    pub(crate) fn tag_len(&self) -> TagLen {
        self.config.tag_len
    }

    fn parts(&self, h: &Header, encrypted: bool) -> (&SuiteKey, Iv, [u8; 32], [u8; 16]) {
        let address = self.config.address;
        let (key, stream) = match h.kind.direction() {
            Direction::ControllerToSensor => (&self.to_target_key, self.to_target),
            Direction::SensorToController => (&self.to_controller_key, self.to_controller),
        };
        let iv = Iv::new(&self.salt, stream, wire::packet_number(h.counter, address));
        let ctx = wire::context(
            &self.config.profile,
            &self.params,
            h.kind,
            encrypted,
            h.counter,
            address,
        );
        let hdr = wire::mac_header(
            h.kind,
            address,
            h.register,
            h.len,
            h.counter,
            h.request_counter,
        );
        (key, iv, ctx, hdr)
    }

    /// The tag over clear data.
    pub(crate) fn mac(&self, h: &Header, data: &[u8]) -> Tag {
        let (key, iv, ctx, hdr) = self.parts(h, false);
        let mut m = key.mac(&iv);
        m.update(key, &ctx);
        m.update(key, &hdr);
        m.update(key, data);
        m.finalize(key, self.config.tag_len)
    }

    /// Verifies the tag over clear data (constant time).
    pub(crate) fn verify(&self, h: &Header, data: &[u8], tag: &[u8]) -> Result<(), SecurityError> {
        self.mac(h, data).verify(tag)
    }

    /// Encrypts `data` in place (CTR) and returns the tag over the ciphertext.
    pub(crate) fn seal_encrypted(&self, h: &Header, data: &mut [u8]) -> Tag {
        let (key, iv, ctx, hdr) = self.parts(h, true);
        key.seal_in_place(&iv, &[&ctx, &hdr], data, self.config.tag_len)
    }

    /// Verifies the tag over the ciphertext in `data`, then decrypts it; wipes it on failure.
    pub(crate) fn open_encrypted(
        &self,
        h: &Header,
        data: &mut [u8],
        tag: &[u8],
    ) -> Result<(), SecurityError> {
        let (key, iv, ctx, hdr) = self.parts(h, true);
        key.open_in_place(&iv, &[&ctx, &hdr], data, tag, self.config.tag_len)
    }
}
