//! Shared parts of the `spdm-responder` and `spdm-requester` examples: the spdm-emu socket
//! framing, command-line options, file loading, an OS random source and message naming.

// Each example uses only part of this module.
#![allow(dead_code)]

use std::io::Read;
use std::path::PathBuf;

use spdm_lite::CryptoError;
use spdm_lite::cert::{DerCertificates, encode_spdm_chain};
use spdm_lite::crypto::{AlgorithmSet, AsymAlgo, EcdsaSigningKey, RandomSource, RustCrypto};
use spdm_lite::msgs::Code;
use spdm_lite::record::{MCTP_SECURED, MCTP_SPDM, SPDM_OFFSET};

// The spdm-emu socket framing, shared with `cse provision` (cse-link); each example uses part.
#[allow(unused_imports)]
pub(crate) use spdm_lite::emu::{
    CLIENT_HELLO, CMD_CONTINUE, CMD_NORMAL, CMD_SHUTDOWN, CMD_TEST, CMD_UNKNOWN, MAX_FRAME,
    SERVER_HELLO, TRANSPORT_MCTP, command_name, read_frame, write_frame,
};

/// The SPDM name of a request/response code.
pub(crate) fn code_name(code: u8) -> String {
    let name = match Code(code) {
        Code::DIGESTS => "DIGESTS",
        Code::CERTIFICATE => "CERTIFICATE",
        Code::CHALLENGE_AUTH => "CHALLENGE_AUTH",
        Code::VERSION => "VERSION",
        Code::CAPABILITIES => "CAPABILITIES",
        Code::ALGORITHMS => "ALGORITHMS",
        Code::KEY_EXCHANGE_RSP => "KEY_EXCHANGE_RSP",
        Code::FINISH_RSP => "FINISH_RSP",
        Code::PSK_EXCHANGE_RSP => "PSK_EXCHANGE_RSP",
        Code::PSK_FINISH_RSP => "PSK_FINISH_RSP",
        Code::HEARTBEAT_ACK => "HEARTBEAT_ACK",
        Code::KEY_UPDATE_ACK => "KEY_UPDATE_ACK",
        Code::END_SESSION_ACK => "END_SESSION_ACK",
        Code::ERROR => "ERROR",
        Code::MEASUREMENTS => "MEASUREMENTS",
        Code::GET_MEASUREMENTS => "GET_MEASUREMENTS",
        Code::GET_DIGESTS => "GET_DIGESTS",
        Code::GET_CERTIFICATE => "GET_CERTIFICATE",
        Code::CHALLENGE => "CHALLENGE",
        Code::GET_VERSION => "GET_VERSION",
        Code::GET_CAPABILITIES => "GET_CAPABILITIES",
        Code::NEGOTIATE_ALGORITHMS => "NEGOTIATE_ALGORITHMS",
        Code::KEY_EXCHANGE => "KEY_EXCHANGE",
        Code::FINISH => "FINISH",
        Code::PSK_EXCHANGE => "PSK_EXCHANGE",
        Code::PSK_FINISH => "PSK_FINISH",
        Code::HEARTBEAT => "HEARTBEAT",
        Code::KEY_UPDATE => "KEY_UPDATE",
        Code::END_SESSION => "END_SESSION",
        Code::RESPOND_IF_READY => "RESPOND_IF_READY",
        Code::GET_ENCAPSULATED_REQUEST => "GET_ENCAPSULATED_REQUEST",
        Code::ENCAPSULATED_REQUEST => "ENCAPSULATED_REQUEST",
        Code::DELIVER_ENCAPSULATED_RESPONSE => "DELIVER_ENCAPSULATED_RESPONSE",
        Code::ENCAPSULATED_RESPONSE_ACK => "ENCAPSULATED_RESPONSE_ACK",
        _ => return format!("code 0x{code:02x}"),
    };
    name.into()
}

/// The SPDM code of a plain MCTP message (`0x05‖SPDM`).
pub(crate) fn plain_code(msg: &[u8]) -> Option<u8> {
    (msg.first() == Some(&MCTP_SPDM)).then(|| msg.get(2).copied())?
}

/// The SPDM code inside a record that was just opened in place (the plaintext sits at
/// [`SPDM_OFFSET`]).
pub(crate) fn opened_code(rec: &[u8]) -> Option<u8> {
    (rec.first() == Some(&MCTP_SECURED) && rec.get(SPDM_OFFSET - 1) == Some(&MCTP_SPDM))
        .then(|| rec.get(SPDM_OFFSET + 1).copied())?
}

/// Session id of a record.
pub(crate) fn record_session(rec: &[u8]) -> Option<u32> {
    spdm_lite::record::session_id(rec).ok()
}

/// A readable description of an MCTP message whose SPDM code is `code` (if known).
pub(crate) fn describe(msg: &[u8], code: Option<u8>, hint: &str) -> String {
    let name = code.map_or_else(|| hint.to_string(), code_name);
    match msg.first() {
        Some(&MCTP_SPDM) => format!("{name} ({} bytes, plain)", msg.len()),
        Some(&MCTP_SECURED) => format!(
            "{name} ({} bytes, secured record, session 0x{:08x})",
            msg.len(),
            record_session(msg).unwrap_or(0)
        ),
        Some(t) => format!("MCTP type 0x{t:02x} ({} bytes)", msg.len()),
        None => "empty message".into(),
    }
}

/// Random bytes from the operating system (`/dev/urandom`).
pub(crate) struct OsRng;

impl RandomSource for OsRng {
    fn fill(&mut self, out: &mut [u8]) -> Result<(), CryptoError> {
        std::fs::File::open("/dev/urandom")
            .and_then(|mut f| f.read_exact(out))
            .map_err(|_| CryptoError::Rng)
    }
}

/// Command-line options shared by both examples.
#[derive(Debug)]
pub(crate) struct Options {
    /// TCP port on 127.0.0.1.
    pub(crate) port: u16,
    /// Algorithm set.
    pub(crate) set: AlgorithmSet,
    /// Certificate chain file (responder).
    pub(crate) chain: Option<PathBuf>,
    /// Private key file (responder).
    pub(crate) key: Option<PathBuf>,
    /// Trust anchor file.
    pub(crate) root: Option<PathBuf>,
    /// Pre-shared key.
    pub(crate) psk: Option<Vec<u8>>,
    /// PSK hint (raw bytes: it may contain NUL).
    pub(crate) psk_hint: Vec<u8>,
    /// Offer HANDSHAKE_IN_THE_CLEAR.
    pub(crate) in_clear: bool,
    /// Responder: PSK without context (no PSK_FINISH). Requester: skip CHALLENGE.
    pub(crate) no_psk_finish: bool,
    /// Requester: skip CHALLENGE.
    pub(crate) no_challenge: bool,
    /// Requester: ask for a measurement summary hash and run GET_MEASUREMENTS in the
    /// session. (The responder serves its sample measurements unless `no_measurements`.)
    pub(crate) measurements: bool,
    /// Responder: serve no measurements (no MEAS_CAP).
    pub(crate) no_measurements: bool,
    /// Session mutual authentication (responder: require it; requester: take part).
    pub(crate) mut_auth: bool,
    /// Responder with `--state`: where GET_CSR / SET_CERTIFICATE are accepted
    /// (`factory`, `session`, `either`).
    pub(crate) provision_scope: Option<String>,
    /// Responder with `--state`: whether a provisioned slot 0 may be replaced (`locked`,
    /// `session`).
    pub(crate) provision_overwrite: Option<String>,
    /// Requester certificate chain file (requester, with `--mut-auth`).
    pub(crate) req_chain: Option<PathBuf>,
    /// Requester private key file (requester, with `--mut-auth`).
    pub(crate) req_key: Option<PathBuf>,
    /// Trust anchor for the requester's chain (responder, with `--mut-auth`).
    pub(crate) req_root: Option<PathBuf>,
    /// Responder: persistent state file (device key, trusted root, provisioned slot 0).
    pub(crate) state: Option<PathBuf>,
    /// Responder, with `--mut-auth`: accept a requester leaf whose extended key usage has
    /// `id-kp-clientAuth` but not the SPDM requester-auth OID (libspdm's sample certificates).
    pub(crate) lax_req_eku: bool,
    /// Responder, with `--state`: TEST HOOK `--test-hook-csr-for-another-key` (not in the
    /// usage text): GET_CSR answers with a CSR for a fresh key, not the device key, so that a
    /// station's check of the CSR key can be tested. Never for a real device.
    pub(crate) test_csr_other_key: bool,
}

/// The usage text common to both examples.
pub(crate) const USAGE: &str = "\
  --port N          TCP port on 127.0.0.1 (default 2323)
  --set a|b         algorithm set: a = SHA-256/P-256/secp256r1/AES-128-GCM (default),
                    b = SHA-384/P-384/secp384r1/AES-256-GCM
  --version 1.2     SPDM version (only 1.2 is spoken)
  --chain FILE      responder certificate chain: an SPDM chain, or certificates root..leaf
                    as concatenated DER or PEM (default: tests/pki/<p256|p384>/chain.der)
  --key FILE        responder private key, SEC1 or PKCS#8, DER or PEM
                    (default: tests/pki/.../leaf.key.der)
  --root FILE       trust anchor, root certificate DER or PEM (default: tests/pki/.../root.cert.der)
  --psk HEX         use PSK_EXCHANGE with this pre-shared key
  --psk-hint-hex HEX  PSK hint as hex bytes, NUL bytes allowed (e.g. DMTF's sample tools use
                    \"TestPskHint\\0\" = 5465737450736b48696e7400)
  --psk-hint TEXT   PSK hint as UTF-8 text (default \"cam0\")
  --in-clear        offer HANDSHAKE_IN_THE_CLEAR
  --measurements    requester: ask for the summary hash (All) in CHALLENGE and KEY_EXCHANGE,
                    then GET_MEASUREMENTS (count, then all blocks signed) in the session;
                    responder: accepted (it serves sample firmware measurements, MEAS_CAP
                    signed, unless --no-measurements)
  --mut-auth        session mutual authentication: the responder requires it (the requester
                    chain fetched with encapsulated requests, its leaf must carry the SPDM
                    requester-auth EKU), the requester takes part
  --req-chain FILE  requester certificate chain, as --chain (default: tests/pki/.../req_chain.der)
  --req-key FILE    requester private key, as --key (default: tests/pki/.../req_leaf.key.der)
  --req-root FILE   responder's trust anchor for the requester chain (default: the --root default)
  -h, --help        print this help and exit
";

/// Decodes a hex string (the option name `opt` goes into the error).
pub(crate) fn hex(opt: &str, s: &str) -> Result<Vec<u8>, String> {
    if !s.len().is_multiple_of(2) || s.is_empty() {
        return Err(format!("{opt}: odd or empty hex string {s:?}"));
    }
    (0..s.len())
        .step_by(2)
        .map(|i| {
            s.get(i..i + 2)
                .and_then(|b| u8::from_str_radix(b, 16).ok())
                .ok_or_else(|| format!("{opt}: not hex: {s:?}"))
        })
        .collect()
}

/// Parses `std::env::args()`; `extra` names the flags (without value) only one example knows.
pub(crate) fn parse_args(extra: &[&str], usage: &str) -> Result<Options, String> {
    let mut o = Options {
        port: 2323,
        set: AlgorithmSet::SET_A,
        chain: None,
        key: None,
        root: None,
        psk: None,
        psk_hint: b"cam0".to_vec(),
        in_clear: false,
        no_psk_finish: false,
        no_challenge: false,
        measurements: false,
        no_measurements: false,
        mut_auth: false,
        req_chain: None,
        req_key: None,
        req_root: None,
        state: None,
        lax_req_eku: false,
        provision_scope: None,
        provision_overwrite: None,
        test_csr_other_key: false,
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{a} needs a value"));
        match a.as_str() {
            "--port" => {
                let v = value()?;
                o.port = v.parse().map_err(|_| format!("--port: bad port {v:?}"))?;
            }
            "--set" => {
                o.set = match value()?.to_ascii_lowercase().as_str() {
                    "a" => AlgorithmSet::SET_A,
                    "b" => AlgorithmSet::SET_B,
                    v => return Err(format!("--set: expected a or b, got {v:?}")),
                }
            }
            "--version" => {
                let v = value()?;
                if v != "1.2" {
                    return Err(format!("--version: only 1.2 is supported, got {v:?}"));
                }
            }
            "--chain" => o.chain = Some(value()?.into()),
            "--key" => o.key = Some(value()?.into()),
            "--root" => o.root = Some(value()?.into()),
            "--psk" => o.psk = Some(hex("--psk", &value()?)?),
            "--psk-hint" => o.psk_hint = value()?.into_bytes(),
            "--psk-hint-hex" => o.psk_hint = hex("--psk-hint-hex", &value()?)?,
            "--in-clear" => o.in_clear = true,
            "--measurements" => o.measurements = true,
            "--mut-auth" => o.mut_auth = true,
            "--req-chain" => o.req_chain = Some(value()?.into()),
            "--req-key" => o.req_key = Some(value()?.into()),
            "--req-root" => o.req_root = Some(value()?.into()),
            "--no-psk-finish" if extra.contains(&"--no-psk-finish") => o.no_psk_finish = true,
            "--state" if extra.contains(&"--state") => o.state = Some(value()?.into()),
            "--lax-req-eku" if extra.contains(&"--lax-req-eku") => o.lax_req_eku = true,
            "--provision-scope" if extra.contains(&"--provision-scope") => {
                o.provision_scope = Some(value()?);
            }
            "--provision-overwrite" if extra.contains(&"--provision-overwrite") => {
                o.provision_overwrite = Some(value()?);
            }
            "--no-challenge" if extra.contains(&"--no-challenge") => o.no_challenge = true,
            "--no-measurements" if extra.contains(&"--no-measurements") => {
                o.no_measurements = true;
            }
            "--test-hook-csr-for-another-key"
                if extra.contains(&"--test-hook-csr-for-another-key") =>
            {
                o.test_csr_other_key = true;
            }
            "-h" | "--help" => {
                // Asked-for help is output, not an error.
                print!("{usage}");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument {other:?}\n{usage}")),
        }
    }
    Ok(o)
}

/// A file of the committed test PKI for `set`.
pub(crate) fn test_pki(set: AlgorithmSet, name: &str) -> PathBuf {
    let dir = match set.asym {
        AsymAlgo::EcdsaP256 => "p256",
        _ => "p384",
    };
    [env!("CARGO_MANIFEST_DIR"), "tests", "pki", dir, name]
        .iter()
        .collect()
}

/// Reads a file, naming it in the error.
pub(crate) fn read_file(p: &PathBuf) -> Result<Vec<u8>, String> {
    std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()))
}

/// A PEM block: its label (`CERTIFICATE`, `EC PRIVATE KEY`, ..) and its DER content.
pub(crate) type PemBlock = (String, Vec<u8>);

/// The blocks of a PEM (RFC 7468) file as (label, DER), or `None` if `file` is not PEM.
/// Text outside the blocks (explanatory lines as openssl writes them) is ignored.
pub(crate) fn pem_blocks(file: &[u8]) -> Option<Result<Vec<PemBlock>, String>> {
    use base64ct::{Base64, Encoding};
    let text = std::str::from_utf8(file).ok()?;
    if !text.contains("-----BEGIN ") {
        return None;
    }
    let mut blocks = Vec::new();
    let mut lines = text.lines().map(str::trim);
    while let Some(line) = lines.next() {
        let Some(label) = line
            .strip_prefix("-----BEGIN ")
            .and_then(|l| l.strip_suffix("-----"))
        else {
            continue;
        };
        let end = format!("-----END {label}-----");
        let mut b64 = String::new();
        let mut closed = false;
        for l in lines.by_ref() {
            if l == end {
                closed = true;
                break;
            }
            b64.push_str(l);
        }
        if !closed {
            return Some(Err(format!("PEM: no {end:?}")));
        }
        match Base64::decode_vec(&b64) {
            Ok(der) => blocks.push((label.to_string(), der)),
            Err(e) => return Some(Err(format!("PEM {label}: bad base64 ({e})"))),
        }
    }
    Some(Ok(blocks))
}

/// Certificates from a DER file (returned as is) or a PEM file (the DER of its CERTIFICATE
/// blocks, concatenated in file order).
pub(crate) fn certs_der(file: &[u8]) -> Result<Vec<u8>, String> {
    let Some(blocks) = pem_blocks(file) else {
        return Ok(file.to_vec());
    };
    let der: Vec<u8> = blocks?
        .into_iter()
        .filter(|(label, _)| label == "CERTIFICATE")
        .flat_map(|(_, der)| der)
        .collect();
    if der.is_empty() {
        return Err("PEM file without a CERTIFICATE block".into());
    }
    Ok(der)
}

/// Builds the SPDM chain from a file holding an SPDM chain, or certificates (root first) as
/// concatenated DER or PEM. With `root`, a concatenated chain that does not start with it
/// gets it prepended.
pub(crate) fn load_spdm_chain(
    set: AlgorithmSet,
    file: &[u8],
    root: Option<&[u8]>,
) -> Result<Vec<u8>, String> {
    let file = &certs_der(file)?;
    if file.first() != Some(&0x30) {
        // Already an SPDM chain: Length(2, LE) must be the file length.
        let len = file
            .get(..2)
            .map(|b| usize::from(u16::from_le_bytes([b[0], b[1]])));
        if len != Some(file.len()) {
            return Err("chain file is neither DER certificates nor an SPDM chain".into());
        }
        return Ok(file.to_vec());
    }
    let mut certs = Vec::new();
    if let Some(r) = root.filter(|r| !file.starts_with(r)) {
        certs.extend_from_slice(r);
    }
    certs.extend_from_slice(file);
    let mut it = DerCertificates::new(&certs);
    let first = match it.next() {
        Some(Ok(c)) => c.to_vec(),
        _ => return Err("chain file: malformed DER certificate".into()),
    };
    if it.any(|c| c.is_err()) {
        return Err("chain file: malformed DER certificate".into());
    }
    let mut out = vec![0u8; certs.len() + 4 + 64];
    let n = encode_spdm_chain(&RustCrypto, set.hash, &first, &certs, &mut out)
        .map_err(|e| format!("chain: {e}"))?;
    out.truncate(n);
    Ok(out)
}

/// One DER TLV at the start of `b`: (tag, content, rest).
fn tlv(b: &[u8]) -> Option<(u8, &[u8], &[u8])> {
    let tag = *b.first()?;
    let first = *b.get(1)?;
    let (hdr, len) = if first < 0x80 {
        (2, usize::from(first))
    } else {
        let n = usize::from(first & 0x7F);
        if n == 0 || n > 3 {
            return None;
        }
        let len = b
            .get(2..2 + n)?
            .iter()
            .fold(0usize, |a, &x| (a << 8) | usize::from(x));
        (2 + n, len)
    };
    let content = b.get(hdr..hdr.checked_add(len)?)?;
    Some((tag, content, b.get(hdr + len..)?))
}

/// Loads a private key of `set` from SEC1 `ECPrivateKey` or PKCS#8 `PrivateKeyInfo` (whose
/// OCTET STRING holds the SEC1 key), DER or PEM (`EC PRIVATE KEY` / `PRIVATE KEY` block; an
/// `EC PARAMETERS` block before it, as `openssl ecparam -genkey` writes, is skipped).
pub(crate) fn load_key(set: AlgorithmSet, file: &[u8]) -> Result<EcdsaSigningKey, String> {
    let der = match pem_blocks(file) {
        None => file.to_vec(),
        Some(blocks) => blocks?
            .into_iter()
            .find(|(label, _)| label == "EC PRIVATE KEY" || label == "PRIVATE KEY")
            .map(|(_, der)| der)
            .ok_or("key: PEM file without an EC PRIVATE KEY or PRIVATE KEY block")?,
    };
    let der = der.as_slice();
    if let Ok(k) = EcdsaSigningKey::from_sec1_der(set.asym, der) {
        return Ok(k);
    }
    // PrivateKeyInfo ::= SEQUENCE { version INTEGER, algorithm SEQUENCE, privateKey OCTET STRING, .. }
    let inner = tlv(der)
        .filter(|(t, ..)| *t == 0x30)
        .and_then(|(_, seq, _)| {
            let (t, _, rest) = tlv(seq)?;
            (t == 0x02).then_some(())?;
            let (t, _, rest) = tlv(rest)?;
            (t == 0x30).then_some(())?;
            let (t, key, _) = tlv(rest)?;
            (t == 0x04).then_some(key)
        })
        .ok_or("key: neither a SEC1 nor a PKCS#8 DER EC private key")?;
    EcdsaSigningKey::from_sec1_der(set.asym, inner)
        .map_err(|_| "key: not a private key of the chosen algorithm set's curve".to_string())
}

/// `A` or `B`, with the DHE group and AEAD named when they are not that set's.
pub(crate) fn set_name(set: AlgorithmSet) -> String {
    // The set of the signature algorithm, and the session algorithms selected apart from it
    // (a set A responder takes AES-256-GCM or secp384r1 from a requester without set A's).
    let (mut name, base) = if set.asym == AlgorithmSet::SET_A.asym {
        (String::from("A"), AlgorithmSet::SET_A)
    } else {
        (String::from("B"), AlgorithmSet::SET_B)
    };
    if set.dhe != base.dhe {
        name += &format!(" with DHE {:?}", set.dhe);
    }
    if set.aead != base.aead {
        name += &format!(" with AEAD {:?}", set.aead);
    }
    name
}

/// The sample firmware measurements the responder example serves (unless `--no-measurements`):
/// ROM, firmware and hardware-configuration digests (of fixed strings, with the set's hash),
/// the firmware version and the security version number (raw).
pub(crate) struct SampleMeasurements {
    blocks: Vec<(u8, u8, Vec<u8>, bool)>,
}

impl SampleMeasurements {
    pub(crate) fn new(set: AlgorithmSet) -> Self {
        use spdm_lite::crypto::{CryptoProvider, HashCtx};
        use spdm_lite::measurements::value_type as t;
        let d = |s: &str| {
            let mut h = RustCrypto.hash(set.hash).expect("hash");
            h.update(s.as_bytes());
            h.finish().as_bytes().to_vec()
        };
        Self {
            blocks: vec![
                (1, t::IMMUTABLE_ROM, d("example boot ROM"), true),
                (2, t::MUTABLE_FIRMWARE, d("example firmware 1.0.0"), true),
                (3, t::HARDWARE_CONFIG, d("example fuses"), false),
                (4, t::FIRMWARE_VERSION | t::RAW, b"1.0.0".to_vec(), false),
                (
                    5,
                    t::SECURITY_VERSION_NUMBER | t::RAW,
                    1u64.to_le_bytes().to_vec(),
                    true,
                ),
            ],
        }
    }
}

impl spdm_lite::measurements::MeasurementProvider for SampleMeasurements {
    fn count(&self) -> usize {
        self.blocks.len()
    }

    fn block(&self, n: usize, value: &mut [u8]) -> Option<spdm_lite::measurements::BlockInfo> {
        let (index, value_type, v, tcb) = self.blocks.get(n)?;
        value.get_mut(..v.len())?.copy_from_slice(v);
        Some(spdm_lite::measurements::BlockInfo {
            index: *index,
            value_type: *value_type,
            len: v.len(),
            tcb: *tcb,
        })
    }
}
