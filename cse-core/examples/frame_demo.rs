//! Main job until the `cse` CLI exists (to be written).
fn main() {}
