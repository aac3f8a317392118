//! Link keys from the SPDM export master secret (`docs/key-hierarchy.md`).
//!
//! - Stream keys: `"cse key"` (and `"cse mac key"` for the CTR+CMAC suites, whose CMAC it
//!   keys) and `"cse salt"`, direction sensor to controller, the stream's virtual channel, the
//!   key generation.
//! - CCISE keys: `"ccise key"` with direction controller to sensor (writes, read requests) and
//!   sensor to controller (read responses), virtual channel 0, the key generation. The CCISE IV
//!   salt is the `"cse salt"` of direction controller to sensor, VC 0, the key generation:
//!   stream keys are derived for sensor-to-controller streams only, so it never collides with
//!   a stream salt (a controller-to-sensor stream on VC 0 would get it, which is why the link
//!   keys none).
//!
//! The key generation is the SPDM session's ([`spdm_lite::session::Session::key_generation`]):
//! 0 after the handshake, and it grows with every KEY_UPDATE (by 2 for UpdateAllKeys, which
//! changes both directions). Stream and CCISE keys of one generation come from the same
//! export master secret with different labels or directions, so they never coincide. Every
//! derivation also takes the SPDM session id (`spdm_lite::export`), and the export master
//! secret is that session's own: keys of two sessions never coincide, and they are dropped
//! when their session ends ([`crate::Sensor::handle_spdm_from`], [`crate::Ecu`]).
//!
//! Every intermediate buffer is zeroized.

use ccise::SessionKeys;
use cse_core::crypto::SuiteKey;
use cse_core::csi2::VirtualChannel;
use cse_core::keys::{Salt, SecretKey};
use cse_core::{Block, CipherSuite, Direction, FrameConfig, KeySize, Profile, TagLen, TagMode};
use cse_sep::KeyMaterial;
use spdm_lite::crypto::RustCrypto;
use spdm_lite::export::{ExportMasterSecret, LinkKeyPurpose};
use zeroize::Zeroize;

use crate::LinkError;

/// The suite of the CCISE channel (CMAC: cheap for sensor logic).
pub const CCISE_SUITE: CipherSuite = CipherSuite::Aes128Cmac;

fn key(
    ems: &ExportMasterSecret,
    profile: &Profile,
    purpose: LinkKeyPurpose,
    direction: Direction,
    vc: VirtualChannel,
    generation: u32,
    size: KeySize,
) -> Result<SecretKey, LinkError> {
    let mut buf = [0u8; 32];
    let n = match size {
        KeySize::Aes128 => 16,
        KeySize::Aes256 => 32,
    };
    let r = ems.derive_link_key(
        &RustCrypto,
        profile,
        purpose,
        direction,
        vc,
        generation,
        &mut buf[..n],
    );
    let k = r
        .map_err(LinkError::from)
        .and_then(|()| Ok(SecretKey::from_slice(size, &buf[..n])?));
    buf.zeroize();
    k
}

fn salt(
    ems: &ExportMasterSecret,
    profile: &Profile,
    direction: Direction,
    vc: VirtualChannel,
    generation: u32,
) -> Result<Salt, LinkError> {
    let mut buf = [0u8; 12];
    let r = ems.derive_link_key(
        &RustCrypto,
        profile,
        LinkKeyPurpose::StreamSalt,
        direction,
        vc,
        generation,
        &mut buf,
    );
    let s = r.map(|()| Salt::new(buf));
    buf.zeroize();
    Ok(s?)
}

/// The longest tag scope the link declares for stream keys used with per-frame or
/// per-data-type tags: 2^25 bytes (32 MiB), the largest row of NIST SP 800-38D Appendix C
/// Table 2, enough for a whole 4K RAW12 frame (12.4 MB). With 8-byte tags a longer scope (an
/// 8K RAW12 frame in one per-frame scope) is refused; with 16- or 12-byte tags GCM's own bound
/// applies.
pub const MAX_STREAM_SCOPE: u64 = 1 << 25;

/// What a stream key is derived and limited for: its family (key size, MAC algorithm), the
/// shortest tag it may serve and whether scopes longer than one packet are used. The usage
/// limits of a key follow from it, so it may not change within one key generation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeyProfile {
    /// A suite of the family.
    pub suite: CipherSuite,
    /// The shortest tag length of the protected blocks.
    pub min_tag_len: TagLen,
    /// Whether a protected block uses per-frame or per-data-type tags.
    pub scoped: bool,
}

impl KeyProfile {
    /// The profile a stream configuration needs (for a configuration without protected
    /// blocks: the image block's suite, 16-byte tags, no scopes).
    pub fn of(config: &FrameConfig) -> KeyProfile {
        let protected: Vec<_> = Block::ALL
            .iter()
            .map(|b| config.block(*b))
            .filter(|c| c.sv.authenticates())
            .collect();
        KeyProfile {
            suite: protected.first().map_or(config.image.suite, |c| c.suite),
            min_tag_len: protected
                .iter()
                .map(|c| c.tag_len)
                .min()
                .unwrap_or(TagLen::L16),
            scoped: protected.iter().any(|c| c.tag_mode != TagMode::PerMessage),
        }
    }

    /// Whether keys of `self` and `other` are the same kind (family, tag bound, scoping).
    pub fn same_kind(&self, other: &KeyProfile) -> bool {
        self.suite.key_size() == other.suite.key_size()
            && self.suite.mac() == other.suite.mac()
            && self.min_tag_len == other.min_tag_len
            && self.scoped == other.scoped
    }
}

/// The stream key material of generation `generation` for `kp`: the key family of its suite
/// (its key size; a separate MAC key for the CMAC family), usage limits for its shortest tag
/// and, when scopes are used, for scopes up to [`MAX_STREAM_SCOPE`] bytes.
///
/// # Errors
/// [`LinkError::Derive`] or [`LinkError::Config`].
pub fn stream_material(
    ems: &ExportMasterSecret,
    profile: &Profile,
    vc: VirtualChannel,
    generation: u32,
    kp: &KeyProfile,
) -> Result<KeyMaterial, LinkError> {
    let suite = kp.suite;
    let dir = Direction::SensorToController;
    let size = suite.key_size();
    let k = key(
        ems,
        profile,
        LinkKeyPurpose::StreamKey,
        dir,
        vc,
        generation,
        size,
    )?;
    // A second key only for the suites that need one (CTR+CMAC: CTR under `"cse key"`, CMAC
    // under `"cse mac key"`); a CMAC suite, like a GMAC one, is keyed by `"cse key"` alone.
    let mac = if suite.needs_mac_key() {
        Some(key(
            ems,
            profile,
            LinkKeyPurpose::StreamMacKey,
            dir,
            vc,
            generation,
            size,
        )?)
    } else {
        None
    };
    let s = salt(ems, profile, dir, vc, generation)?;
    let m = KeyMaterial::new(k, mac, s).with_min_tag_len(kp.min_tag_len);
    Ok(if kp.scoped {
        m.with_max_mac_input(MAX_STREAM_SCOPE)
    } else {
        m
    })
}

/// The CCISE session keys of key generation `generation`.
///
/// # Errors
/// [`LinkError::Derive`] or [`LinkError::Config`].
pub fn ccise_keys(
    ems: &ExportMasterSecret,
    profile: &Profile,
    generation: u32,
) -> Result<SessionKeys, LinkError> {
    let vc = VirtualChannel::new(0)?;
    let size = CCISE_SUITE.key_size();
    let p = LinkKeyPurpose::CciseKey;
    let c2s = Direction::ControllerToSensor;
    let to_target = key(ems, profile, p, c2s, vc, generation, size)?;
    let to_ctrl = key(
        ems,
        profile,
        p,
        Direction::SensorToController,
        vc,
        generation,
        size,
    )?;
    let s = salt(ems, profile, c2s, vc, generation)?;
    Ok(SessionKeys::new(
        SuiteKey::new(CCISE_SUITE, &to_target, None)?,
        SuiteKey::new(CCISE_SUITE, &to_ctrl, None)?,
        s,
    )?)
}

/// The CCISE session parameters of key generation `generation`: the sensor's address, 16-byte
/// tags, clear reads, and the generation's key id bound into every tag.
pub fn ccise_config(profile: &Profile, generation: u32) -> ccise::Config {
    ccise::Config::new(crate::SENSOR_ADDRESS)
        .with_profile(*profile)
        .with_key_id(ccise_key_id(generation))
}

/// The key id bound into the CCISE tags of key generation `generation` (its low two bits).
///
/// CCISE has no key slots: both ends replace their whole CCISE session at a key change, and
/// the key id is only one more input to every tag. Stream key ids are not computed from the
/// generation: they come from the transmitter's and receiver's key slots (the id after the
/// active key's, see [`cse_core::keys::KeySlots::next_id`]).
pub fn ccise_key_id(generation: u32) -> cse_core::KeyId {
    // `generation % 4` is at most 3: always a valid key id.
    cse_core::KeyId::new((generation % 4) as u8).unwrap_or_default()
}
