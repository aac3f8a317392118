//! Helpers shared by the criterion benches (inputs of CSI-2 sizes), and the throughput report
//! of the `bench-report` tool ([`report`]).

pub mod reference;
pub mod report;

/// Message sizes of the engine benches: CCI-sized to a 64 KiB maximum long packet.
pub const SIZES: [usize; 6] = [64, 256, 1024, 5760, 11520, 65536];

/// A 12 MiB frame, the size of a 4K RAW12 frame rounded up.
pub const FRAME_BYTES: usize = 12 * 1024 * 1024;

/// A deterministic, non-trivial buffer of `len` bytes.
pub fn pattern(len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761) as u8 ^ (i >> 8) as u8)
        .collect()
}

/// Prints, after a criterion run, the throughput of `cse-core` next to a reference
/// implementation for every size of each `(group, reference)` pair, and their ratio, so the
/// distance to the reference is visible in the bench output itself.
///
/// Reads criterion's own results (`<target>/criterion/<group>/<impl>/<size>/new/`), so it shows
/// the latest measurement of each benchmark; sizes without both measurements are skipped.
pub fn print_ratios(pairs: &[(&str, &str)]) {
    print_ratios_for("cse-core", pairs);
}

/// [`print_ratios`] for the benchmarks named `ours` (e.g. `ccise`, `cse-sep`) instead of `cse-core`.
pub fn print_ratios_for(ours_name: &str, pairs: &[(&str, &str)]) {
    let root = criterion_dir();
    println!();
    println!("{ours_name} against the reference of each group (median throughput, GB/s):");
    println!(
        "{:<22} {:>9} {:>12} {:>12} {:>22} {:>7}",
        "group", "bytes", ours_name, "reference", "(reference)", "ratio"
    );
    for (group, reference) in pairs {
        let ours = read_impl(&root.join(group).join(ours_name));
        let theirs = read_impl(&root.join(group).join(reference));
        for (bytes, ours_gbps) in &ours {
            let Some((_, ref_gbps)) = theirs.iter().find(|(b, _)| b == bytes) else {
                continue;
            };
            println!(
                "{group:<22} {bytes:>9} {ours_gbps:>12.2} {ref_gbps:>12.2} {:>22} {:>7.2}",
                format!("({reference})"),
                ours_gbps / ref_gbps
            );
        }
    }
}

fn criterion_dir() -> std::path::PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("criterion")
}

/// `(bytes, GB/s)` for every size measured for one implementation, sorted by size.
fn read_impl(dir: &std::path::Path) -> Vec<(u64, f64)> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let new = entry.path().join("new");
        let (Ok(est), Ok(meta)) = (
            std::fs::read_to_string(new.join("estimates.json")),
            std::fs::read_to_string(new.join("benchmark.json")),
        ) else {
            continue;
        };
        let (Some(ns), Some(bytes)) = (
            json_number_after(&est, &["\"median\"", "\"point_estimate\":"]),
            json_number_after(&meta, &["\"Bytes\":"]),
        ) else {
            continue;
        };
        if ns > 0.0 {
            out.push((bytes as u64, bytes / ns));
        }
    }
    out.sort_by_key(|(b, _)| *b);
    out
}

/// The number that follows the last of `keys`, each searched after the previous one: enough
/// JSON for criterion's flat result files without a JSON dependency.
fn json_number_after(text: &str, keys: &[&str]) -> Option<f64> {
    let mut at = 0;
    for key in keys {
        at += text[at..].find(key)? + key.len();
    }
    let rest = text[at..].trim_start();
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E')))
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

#[cfg(test)]
mod tests {
    use super::json_number_after;

    #[test]
    fn reads_criterion_median_and_throughput() {
        let est = r#"{"mean":{"point_estimate":1.5},"median":{"confidence_interval":{"lower_bound":2.0},"point_estimate":607.93,"standard_error":19.0}}"#;
        assert_eq!(
            json_number_after(est, &["\"median\"", "\"point_estimate\":"]),
            Some(607.93)
        );
        let meta = r#"{"group_id":"g","throughput":{"Bytes":5760},"full_id":"g/x/5760"}"#;
        assert_eq!(json_number_after(meta, &["\"Bytes\":"]), Some(5760.0));
        assert_eq!(json_number_after(meta, &["\"Elements\":"]), None);
    }
}

/// Fixtures shared by the `sep` and `fsed` benches: CSI-2 lines, key material, frame
/// configurations and the reference's AAD and IV.
pub mod link {
    use cse_core::agent::KeyMaterial;
    use cse_core::csi2::{DataType, Emitter, HeaderForm, VirtualChannel};
    use cse_core::keys::{Salt, SecretKey};
    use cse_core::{
        BlockConfig, CipherSuite, FrameConfig, KeyId, SecurityVariant, TagLen, TagMode,
    };

    /// A 3840-pixel RAW12 line.
    pub const LINE: usize = 5760;
    /// Lines of a 3840x2160 frame.
    pub const LINES: usize = 2160;
    /// Payload bytes of a 3840x2160 RAW12 frame.
    pub const FRAME: usize = LINE * LINES;
    /// AAD of the reference AES-GCM calls (about the size of a context block and a header).
    pub const AAD: [u8; 48] = [0xc5; 48];
    /// IV of the reference AES-GCM calls.
    pub const IV: [u8; 12] = [0x5a; 12];

    /// Virtual channel 0.
    pub fn vc() -> VirtualChannel {
        VirtualChannel::default()
    }

    /// Fixed bench key material for `suite` (a separate MAC key for the CTR+CMAC suites).
    pub fn material(suite: CipherSuite) -> KeyMaterial {
        let n = suite.key_size().len();
        let key = SecretKey::from_slice(suite.key_size(), &[0x42; 32][..n]).expect("key");
        let mac = suite
            .needs_mac_key()
            .then(|| SecretKey::from_slice(suite.key_size(), &[0x24; 32][..n]).expect("key"));
        KeyMaterial::new(key, mac, Salt::new([9; 12]))
    }

    /// The same block configuration in every block, 16-byte tags.
    pub fn config(sv: SecurityVariant, suite: CipherSuite, tag_mode: TagMode) -> FrameConfig {
        let b = BlockConfig {
            sv,
            suite,
            tag_len: TagLen::L16,
            tag_mode,
        };
        FrameConfig::uniform(b, KeyId::default())
    }

    /// A short packet of type `dt` (data field 1) on VC 0.
    pub fn short(dt: DataType) -> Vec<u8> {
        short_on(vc(), dt)
    }

    /// A short packet of type `dt` (data field 1) on `vc`.
    pub fn short_on(vc: VirtualChannel, dt: DataType) -> Vec<u8> {
        let mut b = vec![0u8; 4];
        Emitter::new(&mut b, HeaderForm::Dphy)
            .short(vc, dt, 1)
            .expect("short");
        b
    }

    /// A RAW12 long packet of `len` payload bytes on VC 0.
    pub fn line(len: usize) -> Vec<u8> {
        line_on(vc(), len)
    }

    /// A RAW12 long packet of `len` payload bytes on `vc`.
    pub fn line_on(vc: VirtualChannel, len: usize) -> Vec<u8> {
        let mut b = vec![0u8; len + 6];
        Emitter::new(&mut b, HeaderForm::Dphy)
            .long(vc, DataType::RAW12, &super::pattern(len))
            .expect("line");
        b
    }
}
