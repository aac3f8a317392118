//! Two key slots with a 2-bit key id (to be written).
