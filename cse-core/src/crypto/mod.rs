//! Crypto engines (to be written).
