//! Functional-safety services (to be written).
