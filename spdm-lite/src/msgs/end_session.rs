//! END_SESSION (0xEC, P1 bit 0 = PreserveNegotiatedStateClear) and END_SESSION_ACK (0x6C).

use super::{Code, header_only};

header_only!(
    /// END_SESSION.
    EndSession,
    Code::END_SESSION
);
header_only!(
    /// END_SESSION_ACK.
    EndSessionAck,
    Code::END_SESSION_ACK
);
