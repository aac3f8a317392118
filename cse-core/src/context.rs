//! The context block: a fixed 32-byte prefix of every MAC input.
//!
//! Every tag first covers this block, so any change of configuration, security variant, scope or
//! packet number breaks the tag. It is never transmitted; both ends build it from what they know
//! and what the protocol header says. Then, for each covered packet in transmit order, the MAC
//! covers [`covered_prefix`] (`orig_vc ‖ orig_dt ‖ wc` as little-endian, the CSI-2 convention)
//! followed by the covered payload bytes (the ciphertext under SV-1).
//!
//! ```text
//! offset size field
//!  0     1    format version (Profile::format_version)
//!  1     1    protocol (0 SEP, 1 FSED, 2 CCISE)
//!  2     1    scope kind (0 message, 1 data type, 2 frame)
//!  3     1    cipher suite id (Profile::suite_ids)
//!  4     1    tag length in bytes
//!  5     1    security variant number (1..=5)
//!  6     1    block (0 top, 1 image, 2 bottom)
//!  7     1    original virtual channel (incl. VCX)
//!  8     1    key id (2 bits)
//!  9     1    data type of a per-data-type scope, else 0
//! 10     1    direction (0 sensor to controller, 1 controller to sensor)
//! 11     1    reserved, 0
//! 12     8    packet number or scope number, big-endian
//! 20     2    SV parameter a (SV-3 stride, SV-4 start), big-endian
//! 22     2    SV parameter b (SV-3 offset, SV-4 length), big-endian
//! 24     8    reserved, 0
//! ```

use crate::model::{
    Block, CipherSuite, Direction, KeyId, Protocol, ScopeKind, SecurityVariant, TagLen,
};
use crate::profile::Profile;

/// Size of the encoded context block: two AES blocks.
pub const CONTEXT_LEN: usize = 32;

/// Everything a tag is bound to besides the covered bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Context {
    /// Protocol.
    pub protocol: Protocol,
    /// Direction.
    pub direction: Direction,
    /// Scope the tag closes.
    pub scope: ScopeKind,
    /// Cipher suite.
    pub suite: CipherSuite,
    /// Tag length.
    pub tag_len: TagLen,
    /// Security variant with its parameters.
    pub sv: SecurityVariant,
    /// Block.
    pub block: Block,
    /// Original virtual channel (0..=31).
    pub orig_vc: u8,
    /// Key id.
    pub key_id: KeyId,
    /// Packet number (per-message scopes) or scope number (per-data-type, per-frame scopes).
    pub number: u64,
}

impl Context {
    /// Encodes the block under `profile`.
    pub fn encode(&self, profile: &Profile) -> [u8; CONTEXT_LEN] {
        let mut b = [0u8; CONTEXT_LEN];
        b[0] = profile.format_version;
        b[1] = self.protocol as u8;
        b[2] = self.scope.code();
        b[3] = profile.suite_ids.id(self.suite);
        b[4] = self.tag_len.as_u8();
        b[5] = self.sv.number();
        b[6] = self.block.code();
        b[7] = self.orig_vc;
        b[8] = self.key_id.get();
        b[9] = self.scope.data_type();
        b[10] = self.direction as u8;
        b[12..20].copy_from_slice(&self.number.to_be_bytes());
        let (a, c) = self.sv.params();
        b[20..22].copy_from_slice(&a.to_be_bytes());
        b[22..24].copy_from_slice(&c.to_be_bytes());
        b
    }
}

/// The per-packet prefix covered before a packet's payload bytes: `orig_vc ‖ orig_dt ‖ wc (LE)`.
pub const fn covered_prefix(orig_vc: u8, orig_dt: u8, wc: u16) -> [u8; 4] {
    let w = wc.to_le_bytes();
    [orig_vc, orig_dt, w[0], w[1]]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::TagMode;
    use hex_literal::hex;

    fn base() -> Context {
        Context {
            protocol: Protocol::Sep,
            direction: Direction::SensorToController,
            scope: ScopeKind::for_mode(TagMode::PerMessage, 0x2C),
            suite: CipherSuite::Aes256Gcm,
            tag_len: TagLen::L16,
            sv: SecurityVariant::FullIntegrityEncrypted,
            block: Block::Image,
            orig_vc: 1,
            key_id: KeyId::new(2).unwrap_or_default(),
            number: 0x0000_0007_0000_0003,
        }
    }

    #[test]
    fn encodes_the_documented_layout() {
        let got = base().encode(&Profile::DRAFT_1);
        assert_eq!(
            got,
            hex!(
                "01 00 00 12 10 01 01 01 02 00 00 00 0000000700000003 0000 0000"
                "0000000000000000"
            )
        );
    }

    #[test]
    fn every_field_changes_the_block() {
        let p = Profile::DRAFT_1;
        let b = base().encode(&p);
        let variants = [
            Context {
                protocol: Protocol::Fsed,
                ..base()
            },
            Context {
                direction: Direction::ControllerToSensor,
                ..base()
            },
            Context {
                scope: ScopeKind::DataType(0x2C),
                ..base()
            },
            Context {
                scope: ScopeKind::Frame,
                ..base()
            },
            Context {
                suite: CipherSuite::Aes128Gcm,
                ..base()
            },
            Context {
                tag_len: TagLen::L8,
                ..base()
            },
            Context {
                sv: SecurityVariant::FullIntegrity,
                ..base()
            },
            Context {
                sv: SecurityVariant::LinePartialIntegrity {
                    stride: 4,
                    offset: 0,
                },
                ..base()
            },
            Context {
                sv: SecurityVariant::LinePartialIntegrity {
                    stride: 4,
                    offset: 1,
                },
                ..base()
            },
            Context {
                block: Block::Top,
                ..base()
            },
            Context {
                orig_vc: 2,
                ..base()
            },
            Context {
                key_id: KeyId::default(),
                ..base()
            },
            Context {
                number: 0x0000_0007_0000_0004,
                ..base()
            },
        ];
        for v in variants {
            assert_ne!(v.encode(&p), b, "{v:?}");
        }
    }

    #[test]
    fn prefix_is_vc_dt_then_little_endian_word_count() {
        assert_eq!(covered_prefix(3, 0x2C, 5760), [3, 0x2C, 0x80, 0x16]);
    }
}
