//! 96-bit IV construction (to be written).
