//! A simulated sensor register map, for tests and the demo.
//!
//! [`SimSensor<N>`] holds `N` 8-bit registers from a base address on, in a fixed-size array (no
//! allocation), and a static list of [`Region`]s that restrict access. Registers outside every
//! region are read-write; addresses outside `[base, base + N)` are unmapped (a map near the top
//! of the 16-bit space ends at 0xFFFF).

use crate::error::AccessError;
use crate::target::RegisterMap;

/// How a register range may be accessed through CCISE.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Access {
    /// Read and write.
    ReadWrite,
    /// Read only (identification, status): writes are refused.
    ReadOnly,
    /// Write only (commands, key material): reads are refused.
    WriteOnly,
    /// Protected: writable, but readable only through encrypted read responses (calibration
    /// secrets, OTP contents); a clear read is refused.
    Protected,
}

/// A register range with an access rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Region {
    /// First register.
    pub start: u16,
    /// Number of registers.
    pub len: u16,
    /// Access rule.
    pub access: Access,
}

impl Region {
    /// A region of `len` registers from `start` on.
    pub const fn new(start: u16, len: u16, access: Access) -> Self {
        Region { start, len, access }
    }

    fn contains(&self, register: u16) -> bool {
        register >= self.start && u32::from(register) < u32::from(self.start) + u32::from(self.len)
    }
}

/// The register layout of [`SimSensor::demo`].
///
/// | registers | access | content |
/// |---|---|---|
/// | `0x0000..0x0010` | read-only | chip id `0x0C 0x15 0xE0 0x01` at `0x0000`, then zeros |
/// | `0x0100..0x0200` | read-write | exposure, gain, mode, ... |
/// | `0x0200..0x0210` | write-only | command registers |
/// | `0x0300..0x0320` | protected | calibration secrets (encrypted reads only) |
/// | other registers below `0x0400` | read-write | |
pub const DEMO_REGIONS: &[Region] = &[
    Region::new(0x0000, 0x0010, Access::ReadOnly),
    Region::new(0x0100, 0x0100, Access::ReadWrite),
    Region::new(0x0200, 0x0010, Access::WriteOnly),
    Region::new(0x0300, 0x0020, Access::Protected),
];

/// The chip id of the demo sensor, at register 0.
pub const DEMO_CHIP_ID: [u8; 4] = [0x0C, 0x15, 0xE0, 0x01];

/// A simulated sensor: `N` registers from `base` on, with access regions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SimSensor<const N: usize> {
    base: u16,
    regs: [u8; N],
    regions: &'static [Region],
    writes: u32,
}

impl SimSensor<0x400> {
    /// The demo sensor: 1 KiB of registers at 0, [`DEMO_REGIONS`], [`DEMO_CHIP_ID`] at 0 and a
    /// calibration pattern in the protected range.
    pub fn demo() -> Self {
        let mut s = SimSensor::new(0, DEMO_REGIONS);
        s.regs[..4].copy_from_slice(&DEMO_CHIP_ID);
        for (i, r) in s.regs[0x300..0x320].iter_mut().enumerate() {
            *r = 0xC0 ^ i as u8;
        }
        s
    }
}

impl<const N: usize> SimSensor<N> {
    /// `N` zeroed registers from `base` on, restricted by `regions`.
    pub const fn new(base: u16, regions: &'static [Region]) -> Self {
        SimSensor {
            base,
            regs: [0; N],
            regions,
            writes: 0,
        }
    }

    /// All registers (a back door for tests; not a CCISE access).
    pub fn registers(&self) -> &[u8; N] {
        &self.regs
    }

    /// Number of writes applied through [`RegisterMap::write`].
    pub fn writes_applied(&self) -> u32 {
        self.writes
    }

    /// The access rule of `register`, `None` when unmapped.
    pub fn access(&self, register: u16) -> Option<Access> {
        self.index(register)?;
        Some(
            self.regions
                .iter()
                .find(|r| r.contains(register))
                .map_or(Access::ReadWrite, |r| r.access),
        )
    }

    /// The value of `register` (back door for tests), `None` when unmapped.
    pub fn peek(&self, register: u16) -> Option<u8> {
        self.regs.get(self.index(register)?).copied()
    }

    /// Sets `register` from inside the sensor (back door: firmware updating a status value).
    ///
    /// # Errors
    /// [`AccessError::Unmapped`] outside the map.
    pub fn poke(&mut self, register: u16, value: u8) -> Result<(), AccessError> {
        let i = self
            .index(register)
            .ok_or(AccessError::Unmapped(register))?;
        if let Some(r) = self.regs.get_mut(i) {
            *r = value;
        }
        Ok(())
    }

    /// How many of the `N` registers have an address: those from `base` up to 0xFFFF (a map
    /// placed near the top of the 16-bit space ends there; the rest of the array is unused).
    fn mapped(&self) -> usize {
        N.min(0x1_0000 - usize::from(self.base))
    }

    fn index(&self, register: u16) -> Option<usize> {
        let off = usize::from(register.checked_sub(self.base)?);
        (off < self.mapped()).then_some(off)
    }

    /// The index range of `len` registers from `register` on, all mapped. An access that runs
    /// past the end of the map is refused with the first register after it (an access running
    /// past 0xFFFF would wrap to 0x0000, which is below the map).
    fn range(&self, register: u16, len: usize) -> Result<core::ops::Range<usize>, AccessError> {
        let start = self
            .index(register)
            .ok_or(AccessError::Unmapped(register))?;
        let end = start + len;
        if end > self.mapped() {
            let first_unmapped = usize::from(self.base) + self.mapped();
            return Err(AccessError::Unmapped(first_unmapped as u16));
        }
        Ok(start..end)
    }

    fn register_at(&self, index: usize) -> u16 {
        // index < mapped(), so base + index is a u16 register address.
        self.base.wrapping_add(index as u16)
    }
}

impl<const N: usize> RegisterMap for SimSensor<N> {
    fn write(&mut self, register: u16, data: &[u8]) -> Result<(), AccessError> {
        let range = self.range(register, data.len())?;
        // Check every byte before changing any (all or nothing).
        for i in range.clone() {
            let reg = self.register_at(i);
            if self.access(reg) == Some(Access::ReadOnly) {
                return Err(AccessError::ReadOnly(reg));
            }
        }
        self.regs[range].copy_from_slice(data);
        self.writes = self.writes.saturating_add(1);
        Ok(())
    }

    fn read(&mut self, register: u16, out: &mut [u8], encrypted: bool) -> Result<(), AccessError> {
        let range = self.range(register, out.len())?;
        for i in range.clone() {
            let reg = self.register_at(i);
            match self.access(reg) {
                Some(Access::WriteOnly) => return Err(AccessError::WriteOnly(reg)),
                Some(Access::Protected) if !encrypted => {
                    return Err(AccessError::NeedsEncryption(reg));
                }
                _ => {}
            }
        }
        out.copy_from_slice(&self.regs[range]);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refused_write_changes_nothing() {
        let mut s = SimSensor::demo();
        let before = s.clone();
        // 0x000E..0x0012 crosses from read-only into read-write.
        assert_eq!(
            s.write(0x000E, &[1, 2, 3, 4]),
            Err(AccessError::ReadOnly(0x000E))
        );
        assert_eq!(s, before);
        assert_eq!(
            s.write(0x03FE, &[1, 2, 3]),
            Err(AccessError::Unmapped(0x0400))
        );
        assert_eq!(s, before);
        assert_eq!(s.write(0x0010, &[1, 2]), Ok(()));
        assert_eq!((s.peek(0x0010), s.peek(0x0011)), (Some(1), Some(2)));
    }

    #[test]
    fn reads_follow_the_regions() {
        let mut s = SimSensor::demo();
        let mut out = [0u8; 4];
        assert_eq!(s.read(0, &mut out, false), Ok(()));
        assert_eq!(out, DEMO_CHIP_ID);
        assert_eq!(
            s.read(0x020E, &mut out, true),
            Err(AccessError::WriteOnly(0x020E))
        );
        assert_eq!(
            s.read(0x02FE, &mut out, false),
            Err(AccessError::NeedsEncryption(0x0300))
        );
        assert_eq!(s.read(0x02FE, &mut out, true), Ok(()));
        assert_eq!(
            s.read(0xFFFF, &mut out, true),
            Err(AccessError::Unmapped(0xFFFF))
        );
    }

    #[test]
    fn base_offset_maps_addresses() {
        static R: [Region; 0] = [];
        let mut s: SimSensor<4> = SimSensor::new(0x3000, &R);
        assert_eq!(s.access(0x2FFF), None);
        assert_eq!(s.write(0x3002, &[9, 8]), Ok(()));
        assert_eq!(s.registers(), &[0, 0, 9, 8]);
        assert_eq!(s.write(0x3003, &[9, 8]), Err(AccessError::Unmapped(0x3004)));
    }
}
