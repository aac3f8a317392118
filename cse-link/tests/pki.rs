//! The test PKI copied into this package (`pki/p256`) is byte for byte the spdm-lite test PKI it
//! was taken from, so the demo and spdm-lite's tests authenticate the same sensor.
#![allow(clippy::unwrap_used, clippy::panic)]

use std::path::Path;

#[test]
fn the_copied_test_pki_equals_the_spdm_lite_originals() {
    let here = Path::new(env!("CARGO_MANIFEST_DIR")).join("pki/p256");
    let there = Path::new(env!("CARGO_MANIFEST_DIR")).join("../spdm-lite/tests/pki/p256");
    if !there.is_dir() {
        // A published cse-link without the workspace around it: nothing to compare with.
        eprintln!("skipped: {} not found", there.display());
        return;
    }
    let mut n = 0;
    for entry in std::fs::read_dir(&here).unwrap() {
        let name = entry.unwrap().file_name();
        let mine = std::fs::read(here.join(&name)).unwrap();
        let theirs = std::fs::read(there.join(&name))
            .unwrap_or_else(|e| panic!("{name:?} has no original: {e}"));
        assert!(!mine.is_empty(), "{name:?} is empty");
        assert_eq!(mine, theirs, "{name:?} differs from the spdm-lite original");
        n += 1;
    }
    assert_eq!(n, 10, "the ten files the demo and the tests embed");
}
