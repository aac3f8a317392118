//! KEY_UPDATE (0xE9) and KEY_UPDATE_ACK (0x69): header only, P1 = operation, P2 = tag (echoed).

use super::{Code, header_only};

/// KEY_UPDATE operations (Param1).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct KeyUpdateOp(pub u8);

impl KeyUpdateOp {
    /// Update the request-direction key only.
    pub const UPDATE_KEY: Self = Self(1);
    /// Update both directions.
    pub const UPDATE_ALL_KEYS: Self = Self(2);
    /// Confirm the new key(s).
    pub const VERIFY_NEW_KEY: Self = Self(3);
}

header_only!(
    /// KEY_UPDATE.
    KeyUpdate,
    Code::KEY_UPDATE
);
header_only!(
    /// KEY_UPDATE_ACK.
    KeyUpdateAck,
    Code::KEY_UPDATE_ACK
);
