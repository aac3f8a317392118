//! The sensor's stream-configuration registers (the `draft-1` choice of this crate; a real
//! sensor's register map is vendor-specific).
//!
//! ```text
//! 0x0100       config valid (1) - written last in the same transaction, so a sensor never
//!              reads half a configuration
//! 0x0101+8*b   block b (0 top, 1 image, 2 bottom):
//!              SV level (1..=5) | param a (2, BE) | param b (2, BE) | suite id (profile) |
//!              tag length | tag mode code
//! ```
//!
//! The whole range (25 bytes) is written by one CCISE write, so it is applied all or nothing.
//! The key id is not a register: the sensor picks the key generation of its SPDM session.

use cse_core::{Block, BlockConfig, FrameConfig, KeyId, Profile, SecurityVariant, SvLevel};
use cse_core::{TagLen, TagMode};

use crate::LinkError;

/// First register of the stream configuration.
pub const STREAM_CONFIG: u16 = 0x0100;
/// Length of the stream configuration in bytes.
pub const STREAM_CONFIG_LEN: usize = 1 + 3 * BLOCK_LEN;
const BLOCK_LEN: usize = 8;
/// Value of the "config valid" register.
pub const VALID: u8 = 1;

/// The register bytes of `config` (its key id is not encoded).
pub fn encode(profile: &Profile, config: &FrameConfig) -> [u8; STREAM_CONFIG_LEN] {
    let mut out = [0u8; STREAM_CONFIG_LEN];
    out[0] = VALID;
    for (i, b) in Block::ALL.iter().enumerate() {
        let c = config.block(*b);
        let (a, p) = c.sv.params();
        let at = 1 + i * BLOCK_LEN;
        out[at] = c.sv.number();
        out[at + 1..at + 3].copy_from_slice(&a.to_be_bytes());
        out[at + 3..at + 5].copy_from_slice(&p.to_be_bytes());
        out[at + 5] = profile.suite_ids.id(c.suite);
        out[at + 6] = c.tag_len.as_u8();
        out[at + 7] = c.tag_mode.code();
    }
    out
}

/// The frame configuration the register bytes describe, with key id `key_id`.
///
/// Only the encoding [`encode`] writes is read: the parameters of an SV-1, SV-2 or SV-5 block
/// must be 0 (one configuration, one encoding, as in the SEP frame extension and the FSED frame
/// header).
///
/// # Errors
/// [`LinkError::NotConfigured`] when the bytes are short, not marked valid, or not the
/// encoding of their configuration (nonzero parameters where the variant has none);
/// [`LinkError::Config`] for an invalid value.
pub fn decode(profile: &Profile, regs: &[u8], key_id: KeyId) -> Result<FrameConfig, LinkError> {
    if regs.len() < STREAM_CONFIG_LEN || regs[0] != VALID {
        return Err(LinkError::NotConfigured);
    }
    let block = |i: usize| -> Result<BlockConfig, LinkError> {
        let r = &regs[1 + i * BLOCK_LEN..1 + (i + 1) * BLOCK_LEN];
        let level = SvLevel::try_from(r[0])?;
        let a = u16::from_be_bytes([r[1], r[2]]);
        let b = u16::from_be_bytes([r[3], r[4]]);
        Ok(BlockConfig {
            sv: SecurityVariant::from_parts(level, a, b)?,
            suite: profile.suite_ids.suite(r[5])?,
            tag_len: TagLen::new(r[6])?,
            tag_mode: TagMode::try_from(r[7])?,
        })
    };
    let config = FrameConfig {
        top: block(0)?,
        image: block(1)?,
        bottom: block(2)?,
        key_id,
    };
    config.validate()?;
    if encode(profile, &config)[..] != regs[..STREAM_CONFIG_LEN] {
        return Err(LinkError::NotConfigured);
    }
    Ok(config)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use cse_core::CipherSuite;

    #[test]
    fn every_field_round_trips_and_unset_registers_are_refused() {
        let p = Profile::DRAFT_1;
        let mut c = FrameConfig::uniform(
            BlockConfig {
                sv: SecurityVariant::FullIntegrity,
                suite: CipherSuite::Aes128Cmac,
                tag_len: TagLen::L12,
                tag_mode: TagMode::PerDataType,
            },
            KeyId::new(2).unwrap(),
        );
        c.image.sv = SecurityVariant::LinePartialIntegrity {
            stride: 3,
            offset: 1,
        };
        let r = encode(&p, &c);
        assert_eq!(decode(&p, &r, KeyId::new(2).unwrap()).unwrap(), c);
        assert!(matches!(
            decode(&p, &[0u8; STREAM_CONFIG_LEN], KeyId::default()),
            Err(LinkError::NotConfigured)
        ));
        let mut bad = r;
        bad[1] = 9;
        assert!(decode(&p, &bad, KeyId::default()).is_err());
    }

    #[test]
    fn only_the_canonical_encoding_is_read() {
        let p = Profile::DRAFT_1;
        let mut c = FrameConfig::uniform(
            BlockConfig {
                sv: SecurityVariant::FullIntegrity,
                suite: CipherSuite::Aes256Gmac,
                tag_len: TagLen::L16,
                tag_mode: TagMode::PerMessage,
            },
            KeyId::default(),
        );
        c.top.sv = SecurityVariant::NoSecurity;
        c.bottom.sv = SecurityVariant::FullIntegrity;
        let r = encode(&p, &c);
        assert_eq!(decode(&p, &r, KeyId::default()).unwrap(), c);
        // A nonzero parameter byte of an SV-5 or SV-2 block: the same configuration under
        // another encoding, refused.
        for block in 0..3 {
            for byte in 1..5 {
                let mut bad = r;
                bad[1 + block * BLOCK_LEN + byte] = 1;
                assert!(
                    matches!(
                        decode(&p, &bad, KeyId::default()),
                        Err(LinkError::NotConfigured)
                    ),
                    "block {block} byte {byte}"
                );
            }
        }
        // SV-3 parameters are read as they are.
        c.image.sv = SecurityVariant::LinePartialIntegrity {
            stride: 2,
            offset: 1,
        };
        let r = encode(&p, &c);
        assert_eq!(decode(&p, &r, KeyId::default()).unwrap(), c);
    }
}
