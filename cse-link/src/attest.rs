//! Firmware attestation of the link's responders (SPDM 1.2 measurements), see
//! `docs/profile.md`.
//!
//! - **Responder side**: [`MeasuredFirmware`] measures a [`Firmware`] into the DMTF blocks of
//!   the project's profile and serves them to the SPDM responder
//!   ([`spdm_lite::measurements::MeasurementProvider`]); [`MeasuredFirmware::reflash`] models a
//!   firmware change at run time.
//! - **ECU side**: [`MeasurementPolicy`] holds the reference values (accepted digests per index,
//!   minimum security version number) and judges a verified MEASUREMENTS.
//!
//! Blocks of the profile (value type in brackets; digests are of the negotiated base hash):
//!
//! | index | block | form | TCB |
//! |---|---|---|---|
//! | 1 | immutable ROM (0) | digest | yes |
//! | 2 | mutable firmware (1) | digest | yes |
//! | 3 | hardware configuration (2) | digest | no |
//! | 4 | firmware version (6) | raw UTF-8 | no |
//! | 5 | security version number (7) | raw u64 LE | yes |

use std::cell::{Cell, RefCell};

use spdm_lite::crypto::{AlgorithmSet, CryptoProvider, HashAlgo, HashCtx, RustCrypto};
use spdm_lite::measurements::{BlockInfo, MeasurementProvider, value_type};
use spdm_lite::msgs::measurements::MeasurementBlock;

/// Block indices of the profile.
pub mod index {
    /// Immutable ROM (boot ROM) digest.
    pub const ROM: u8 = 1;
    /// Mutable firmware digest.
    pub const FIRMWARE: u8 = 2;
    /// Hardware configuration (fuses, straps) digest.
    pub const HW_CONFIG: u8 = 3;
    /// Firmware version string.
    pub const VERSION: u8 = 4;
    /// Security version number.
    pub const SVN: u8 = 5;
}

/// Whether a block belongs to the TCB of the profile (selected by a TCB summary hash): ROM,
/// firmware and security version number.
pub fn is_tcb(b: &MeasurementBlock<'_>) -> bool {
    matches!(b.index, index::ROM | index::FIRMWARE | index::SVN)
}

/// Why a responder's measurements were refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AttestError {
    /// A block's value is none of the reference values for its index.
    #[error("measurement {index} does not match the reference values")]
    Mismatch {
        /// The block index.
        index: u8,
    },
    /// A block the policy requires is absent, or has the wrong form.
    #[error("measurement {index} missing or malformed")]
    Missing {
        /// The block index.
        index: u8,
    },
    /// The security version number is below the policy's minimum (a rollback).
    #[error("security version number {svn} below the minimum {min}")]
    SvnRollback {
        /// The responder's SVN.
        svn: u64,
        /// The minimum accepted.
        min: u64,
    },
    /// The measurement summary hash of the handshake does not match the blocks.
    #[error("measurement summary hash of the handshake does not match the blocks")]
    SummaryMismatch,
    /// The responder does not offer measurements although the policy requires them.
    #[error("responder offers no measurements")]
    NoMeasurements,
}

/// A responder's firmware as it would be measured at boot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Firmware {
    /// The boot ROM.
    pub rom: Vec<u8>,
    /// The mutable firmware image.
    pub image: Vec<u8>,
    /// The hardware configuration (fuses, straps).
    pub hw_config: Vec<u8>,
    /// The version string.
    pub version: String,
    /// The security version number.
    pub svn: u64,
}

fn digest(alg: HashAlgo, data: &[u8]) -> Vec<u8> {
    let mut h = RustCrypto.hash(alg).unwrap_or_else(|_| unreachable_hash());
    h.update(data);
    h.finish().as_bytes().to_vec()
}

/// Both hash algorithms of the sets are implemented by `RustCrypto`.
#[allow(clippy::panic)]
fn unreachable_hash() -> ! {
    panic!("RustCrypto implements every HashAlgo")
}

type Block = (u8, u8, Vec<u8>, bool);

fn blocks_of(alg: HashAlgo, fw: &Firmware) -> Vec<Block> {
    vec![
        (
            index::ROM,
            value_type::IMMUTABLE_ROM,
            digest(alg, &fw.rom),
            true,
        ),
        (
            index::FIRMWARE,
            value_type::MUTABLE_FIRMWARE,
            digest(alg, &fw.image),
            true,
        ),
        (
            index::HW_CONFIG,
            value_type::HARDWARE_CONFIG,
            digest(alg, &fw.hw_config),
            false,
        ),
        (
            index::VERSION,
            value_type::FIRMWARE_VERSION | value_type::RAW,
            fw.version.as_bytes().to_vec(),
            false,
        ),
        (
            index::SVN,
            value_type::SECURITY_VERSION_NUMBER | value_type::RAW,
            fw.svn.to_le_bytes().to_vec(),
            true,
        ),
    ]
}

/// The measurements of a responder's running firmware (its SPDM measurement provider).
#[derive(Debug)]
pub struct MeasuredFirmware {
    alg: HashAlgo,
    blocks: RefCell<Vec<Block>>,
    generation: Cell<u64>,
}

impl MeasuredFirmware {
    /// Measures `fw` with the base hash of `set`.
    pub fn new(set: AlgorithmSet, fw: &Firmware) -> Self {
        Self {
            alg: set.hash,
            blocks: RefCell::new(blocks_of(set.hash, fw)),
            generation: Cell::new(1),
        }
    }

    /// A new firmware at run time (an update, or an attacker's): the blocks change and so does
    /// the generation (MEASUREMENTS then reports ContentChanged).
    pub fn reflash(&self, fw: &Firmware) {
        *self.blocks.borrow_mut() = blocks_of(self.alg, fw);
        self.generation.set(self.generation.get().wrapping_add(1));
    }
}

impl MeasurementProvider for MeasuredFirmware {
    fn count(&self) -> usize {
        self.blocks.borrow().len()
    }

    fn block(&self, n: usize, value: &mut [u8]) -> Option<BlockInfo> {
        let b = self.blocks.borrow();
        let (index, value_type, v, tcb) = b.get(n)?;
        value.get_mut(..v.len())?.copy_from_slice(v);
        Some(BlockInfo {
            index: *index,
            value_type: *value_type,
            len: v.len(),
            tcb: *tcb,
        })
    }

    fn generation(&self) -> Option<u64> {
        Some(self.generation.get())
    }
}

/// The ECU's reference values for one responder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MeasurementPolicy {
    /// Per index, the accepted values (digests, or raw values).
    pub accepted: Vec<(u8, Vec<Vec<u8>>)>,
    /// The minimum security version number.
    pub min_svn: u64,
}

impl MeasurementPolicy {
    /// Reference values from known-good firmware builds: the ROM, firmware and hardware
    /// configuration digests of each build are accepted, and the SVN must be at least
    /// `min_svn`.
    pub fn from_known_good(set: AlgorithmSet, builds: &[&Firmware], min_svn: u64) -> Self {
        let mut accepted: Vec<(u8, Vec<Vec<u8>>)> = [index::ROM, index::FIRMWARE, index::HW_CONFIG]
            .iter()
            .map(|&i| (i, Vec::new()))
            .collect();
        for fw in builds {
            for (i, _, v, _) in blocks_of(set.hash, fw) {
                if let Some((_, list)) = accepted.iter_mut().find(|(j, _)| *j == i)
                    && !list.contains(&v)
                {
                    list.push(v);
                }
            }
        }
        Self { accepted, min_svn }
    }

    /// Judges the blocks of a verified MEASUREMENTS (every block).
    ///
    /// # Errors
    /// [`AttestError::Missing`], [`AttestError::Mismatch`] or [`AttestError::SvnRollback`].
    pub fn check<'b>(
        &self,
        blocks: impl Iterator<Item = MeasurementBlock<'b>> + Clone,
    ) -> Result<(), AttestError> {
        for (index, values) in &self.accepted {
            let b = blocks
                .clone()
                .find(|b| b.index == *index)
                .ok_or(AttestError::Missing { index: *index })?;
            if !values.iter().any(|v| v == b.value) {
                return Err(AttestError::Mismatch { index: *index });
            }
        }
        let svn = blocks
            .clone()
            .find(|b| b.index == index::SVN)
            .filter(|b| b.is_raw() && b.kind() == value_type::SECURITY_VERSION_NUMBER)
            .and_then(|b| <[u8; 8]>::try_from(b.value).ok())
            .map(u64::from_le_bytes)
            .ok_or(AttestError::Missing { index: index::SVN })?;
        if svn < self.min_svn {
            return Err(AttestError::SvnRollback {
                svn,
                min: self.min_svn,
            });
        }
        Ok(())
    }
}
