//! Key usage counters and limits (to be written).
