//! Packet-number sequence tracking (to be written).
