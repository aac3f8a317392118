//! HEARTBEAT (0xE8) and HEARTBEAT_ACK (0x68): header only, inside a session.

use super::{Code, header_only};

header_only!(
    /// HEARTBEAT.
    Heartbeat,
    Code::HEARTBEAT
);
header_only!(
    /// HEARTBEAT_ACK.
    HeartbeatAck,
    Code::HEARTBEAT_ACK
);
