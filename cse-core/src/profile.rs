//! The Profile: every value the public record does not fix, in one place.
//!
//! The MIPI CSE v2.0, Camera Security and CCISE specifications are members-only. Each value below
//! is a documented choice (see `docs/profile.md` for the public fact or analogy behind it). A
//! member holding the real specification retargets the crates by editing a [`Profile`] (and the
//! per-crate `wire` modules), never the engines.

use crate::crc::Crc32Variant;
use crate::csi2::DataType;
use crate::error::ConfigError;
use crate::model::CipherSuite;

/// One-byte wire identifiers of the cipher suites.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SuiteIds {
    /// Identifiers in the order of [`CipherSuite::ALL`].
    pub ids: [u8; 8],
}

impl SuiteIds {
    /// The identifier of `suite`.
    pub fn id(&self, suite: CipherSuite) -> u8 {
        let idx = CipherSuite::ALL
            .iter()
            .position(|s| *s == suite)
            .unwrap_or_default();
        self.ids[idx]
    }

    /// The suite with identifier `id`.
    ///
    /// # Errors
    /// [`ConfigError::UnknownSuite`] when no suite has this identifier.
    pub fn suite(&self, id: u8) -> Result<CipherSuite, ConfigError> {
        self.ids
            .iter()
            .position(|x| *x == id)
            .map(|i| CipherSuite::ALL[i])
            .ok_or(ConfigError::UnknownSuite(id))
    }
}

/// HKDF labels of the key hierarchy (`docs/key-hierarchy.md`), used with SPDM `BinConcat`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KdfLabels {
    /// Stream encryption / MAC key.
    pub stream_key: &'static str,
    /// Stream IV salt.
    pub stream_salt: &'static str,
    /// Separate CMAC key of the CTR+CMAC suites.
    pub stream_mac_key: &'static str,
    /// CCISE key.
    pub ccise_key: &'static str,
}

/// Every non-public protocol value. Use [`Profile::DRAFT_1`] unless you hold the specification.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Profile {
    /// Profile name, for logs and golden vectors.
    pub name: &'static str,
    /// Format version carried in SEP/FSED headers and the context block.
    pub format_version: u8,
    /// CSI-2 data type of SEP long packets.
    pub dt_sep: DataType,
    /// CSI-2 data type of FSED long packets.
    pub dt_fsed: DataType,
    /// CRC-32 variant of the FuSa record CRC.
    pub crc32: Crc32Variant,
    /// Cipher-suite identifiers.
    pub suite_ids: SuiteIds,
    /// Key-derivation labels.
    pub labels: KdfLabels,
    /// Width of the frame counter in bits (the full value is carried in the protocol).
    pub frame_counter_bits: u8,
    /// Width of the per-frame message index in bits.
    pub message_index_bits: u8,
    /// Width of the key id in bits.
    pub key_id_bits: u8,
    /// Frame counter at which a transmitter asks for a rekey (soft limit). The hard limit is the
    /// counter's maximum: it never wraps under one key.
    pub frame_counter_soft_limit: u32,
    /// Whether a receiver accepts the hazmat 4-byte tag length from the wire.
    pub allow_hazmat_tag4: bool,
    /// The largest MAC input of one invocation in bytes (context block, headers and payload),
    /// used to pick the NIST SP 800-38D Appendix C invocation limit for short tags.
    pub max_message_len: u32,
    /// Soft usage limit as a fraction of the hard limit, in percent (rekey is requested when
    /// usage passes it).
    pub soft_limit_percent: u8,
    /// D-PHY ECC syndrome columns for the VCX bits 24 and 25 (CSI-2 v2.0+ ECC over 26 bits).
    pub vcx_ecc_columns: [u8; 2],
}

impl Profile {
    /// The default profile `draft-1`.
    pub const DRAFT_1: Profile = Profile {
        name: "draft-1",
        format_version: 1,
        dt_sep: DataType(0x3E),
        dt_fsed: DataType(0x3A),
        crc32: Crc32Variant::IsoHdlc,
        suite_ids: SuiteIds {
            ids: [0x01, 0x02, 0x03, 0x04, 0x11, 0x12, 0x13, 0x14],
        },
        labels: KdfLabels {
            stream_key: "cse key",
            stream_salt: "cse salt",
            stream_mac_key: "cse mac key",
            ccise_key: "ccise key",
        },
        frame_counter_bits: 32,
        message_index_bits: 32,
        key_id_bits: 2,
        frame_counter_soft_limit: 0xC000_0000,
        allow_hazmat_tag4: false,
        max_message_len: 65_536 + 64,
        soft_limit_percent: 75,
        vcx_ecc_columns: [0x3D, 0x3E],
    };
}

impl Default for Profile {
    fn default() -> Self {
        Profile::DRAFT_1
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suite_ids_round_trip_and_are_distinct() {
        let p = Profile::DRAFT_1;
        for s in CipherSuite::ALL {
            assert_eq!(p.suite_ids.suite(p.suite_ids.id(s)), Ok(s));
        }
        assert_eq!(p.suite_ids.suite(0x00), Err(ConfigError::UnknownSuite(0)));
        let mut ids = p.suite_ids.ids;
        ids.sort_unstable();
        assert!(ids.windows(2).all(|w| w[0] != w[1]));
    }

    #[test]
    fn protocol_data_types_are_reserved_long_packet_codes() {
        let p = Profile::DRAFT_1;
        for dt in [p.dt_sep, p.dt_fsed] {
            assert!((0x38..=0x3F).contains(&dt.0), "{dt:?}");
        }
        assert_ne!(p.dt_sep, p.dt_fsed);
    }
}
