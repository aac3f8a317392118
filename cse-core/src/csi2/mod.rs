//! CSI-2 framing (to be written): packet views, D-PHY header ECC, CRC-16 footer, iterator, emitter.

/// A CSI-2 data type (6 bits on the wire, or an extended code). Open set: unknown codes
/// round-trip.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DataType(pub u8);
