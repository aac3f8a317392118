//! An SPDM 1.2 responder (the camera sensor side) speaking the DMTF spdm-emu socket protocol
//! over TCP on 127.0.0.1 with the MCTP transport, so `spdm_requester_emu` (or the
//! `spdm-requester` example) can drive it. Serves one connection and exits on SHUTDOWN or
//! end of stream.
//!
//! ```text
//! cargo run -p spdm-lite --features std --example spdm-responder -- [--set a|b] [--port N]
//!     [--chain FILE] [--key FILE] [--root FILE]
//!     [--psk HEX [--psk-hint-hex HEX | --psk-hint TEXT] [--no-psk-finish]] [--in-clear]
//!     [--version 1.2] [--no-measurements] [--mut-auth [--req-root FILE] [--lax-req-eku]]
//!     [--state FILE [--provision-scope factory|session|either]
//!                   [--provision-overwrite locked|session]]
//!
//! With `--state FILE` the responder is a provisionable device (GET_CSR, SET_CERTIFICATE; see
//! `spdm_lite::provisioning`): its key pair and its provisioned slot 0 live in FILE, created
//! with a fresh key on first start. Without a chain in FILE it starts unprovisioned in factory
//! mode (it answers GET_CSR and one SET_CERTIFICATE; `--chain`/`--key` are not used); once a
//! chain is installed it is written to FILE, served from then on, and factory mode ends (the
//! slot is locked). `--provision-scope` and `--provision-overwrite` choose the provisioning
//! policy (default `factory` and `locked`, `ProvisioningPolicy::FACTORY`): with `session`
//! scope the device answers GET_CSR / SET_CERTIFICATE only inside a session whose requester
//! authenticated (`--mut-auth` with `--req-root`, or the PSK), and with `session` overwrite
//! such a session may replace the provisioned slot 0 (certificate renewal in service); the
//! new chain is written to FILE and served from then on. `--root FILE` sets the manufacturer root installed chains must start at
//! (kept in the state file; without one any self-consistent chain for the device key is
//! accepted). The file is text, one `name hex` pair per line (`set`, `key` = the private
//! scalar, `root`, `slot0` = the SPDM chain); it holds the private key, so keep it private.
//!
//! TEST HOOK, not in `--help`: `--test-hook-csr-for-another-key` (with `--state`) makes the
//! device answer GET_CSR with a CSR for a fresh key made at start (signed by it, so it
//! verifies) instead of the device key it authenticates with. It exists only so that a
//! station's refusal of such a CSR can be tested (`cse provision`, `KeyChanged`); it is logged
//! at start and never belongs on a real device.
//!
//! Keys and certificates may be DER or PEM; `--help` prints the options. A message of an MCTP
//! type other than SPDM (0x05) or secured (0x06) closes the connection. Inside a session the
//! PLDM GetTID command (what spdm_requester_emu sends) is answered with TID 1
//! (`spdm_lite::responder::PldmGetTid`); any other application message gets an ERROR record.
//! ```

mod common;

use std::net::TcpListener;
use std::process::ExitCode;

use common::*;
use std::path::PathBuf;

use spdm_lite::cert::{CertError, ChainVerifier};
use spdm_lite::crypto::{
    AlgorithmSet, AsymAlgo, CryptoProvider, EcdsaSigningKey, HashCtx, RandomSource, RustCrypto,
    Signer,
};
use spdm_lite::error::CryptoError;
use spdm_lite::mut_auth::{MutAuthMode, MutAuthPolicy};
use spdm_lite::provisioning::{
    ProvisioningPolicy, ProvisioningProvider, ProvisioningScope, SlotOverwrite, StorageError,
};
use spdm_lite::responder::{PldmGetTid, PskConfig, Responder, ResponderConfig};
use spdm_lite::session::Role;
use spdm_lite::x509::{ValidationOptions, X509Verifier};

const LOG: &str = "[spdm-responder]";

fn usage() -> String {
    format!(
        "usage: spdm-responder [options]\n{USAGE}  --no-measurements serve no measurements (no MEAS_CAP; served by default)\n  --no-psk-finish   PSK without responder context (no PSK_FINISH)\n  --state FILE      provisionable device: key pair and provisioned chain in FILE (created\n                    on first start; unprovisioned = factory mode, GET_CSR/SET_CERTIFICATE)\n  --provision-scope factory|session|either\n                    with --state: GET_CSR/SET_CERTIFICATE in factory mode only (default),\n                    only in a session whose requester authenticated (--mut-auth or PSK),\n                    or in either\n  --provision-overwrite locked|session\n                    with --state: a provisioned slot 0 is final (default), or may be\n                    replaced inside an authenticated session (certificate renewal)\n  --lax-req-eku     with --mut-auth: a requester leaf with clientAuth but without the SPDM\n                    requester-auth EKU is accepted (libspdm's sample requester certificates)\n"
    )
}

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{LOG} error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let o = parse_args(
        &[
            "--no-psk-finish",
            "--state",
            "--lax-req-eku",
            "--provision-scope",
            "--provision-overwrite",
            "--test-hook-csr-for-another-key",
            "--no-measurements",
        ],
        &usage(),
    )?;
    let policy = provisioning_policy(&o)?;
    let set = o.set;
    let chain_path = o
        .chain
        .clone()
        .unwrap_or_else(|| test_pki(set, "chain.der"));
    let key_path = o
        .key
        .clone()
        .unwrap_or_else(|| test_pki(set, "leaf.key.der"));
    let root = match &o.root {
        Some(p) => Some(certs_der(&read_file(p)?)?),
        None => None,
    };
    if o.test_csr_other_key && o.state.is_none() {
        return Err("--test-hook-csr-for-another-key needs --state".into());
    }
    let mut device = match &o.state {
        Some(p) => Some(StateDevice::open(p, set, root.as_deref(), policy)?),
        None => None,
    };
    if let Some(d) = device.as_mut().filter(|_| o.test_csr_other_key) {
        d.csr_key = Some(
            EcdsaSigningKey::from_scalar(set.asym, &generate_scalar(set)?)
                .map_err(|e| e.to_string())?,
        );
        println!("{LOG} TEST HOOK: GET_CSR answers with a CSR for another key than the device key");
    }
    let (chain, key) = match &device {
        Some(d) => (Vec::new(), d.signer()?),
        None => (
            load_spdm_chain(set, &read_file(&chain_path)?, root.as_deref())?,
            load_key(set, &read_file(&key_path)?)?,
        ),
    };
    let psk = o.psk.as_deref().map(|key| PskConfig {
        hint: &o.psk_hint,
        key,
        with_context: !o.no_psk_finish,
    });
    let config = ResponderConfig {
        algorithms: set,
        cert_chain: &chain,
        psk,
        handshake_in_the_clear: o.in_clear,
        // SET_CERTIFICATE carries the whole chain in one message (no chunking): a
        // provisionable device takes messages up to 4 KiB.
        data_transfer_size: if device.is_some() { 4096 } else { 1024 },
    };
    let req_root_path = o
        .req_root
        .clone()
        .unwrap_or_else(|| test_pki(set, "root.cert.der"));
    let req_root = certs_der(&read_file(&req_root_path)?)?;
    // The requester-auth EKU is required unless `--lax-req-eku` (then `id-kp-clientAuth`, as
    // in libspdm's sample requester certificates, is enough).
    let eku = if o.lax_req_eku {
        ValidationOptions::new()
    } else {
        ValidationOptions::new().strict_eku()
    };
    let req_verifier = X509Verifier::with_options(RustCrypto, &req_root, eku);
    let mut req_chain_buf = vec![0u8; 8192];
    let mut rng = OsRng;
    let sample = SampleMeasurements::new(set);
    let mut pldm = PldmGetTid { tid: 1 };
    let chain_desc = match &device {
        Some(d) => format!(
            "state {} ({})",
            d.path.display(),
            match &d.slot0 {
                Some(c) => format!("provisioned, chain {} bytes", c.len()),
                None => "unprovisioned: factory mode".into(),
            }
        ),
        None => format!("chain {} ({} bytes)", chain_path.display(), chain.len()),
    };
    let mut rsp = match device.as_mut() {
        Some(d) => Responder::with_provisioning(RustCrypto, &key, &mut rng, config, d),
        None => Responder::new(RustCrypto, &key, &mut rng, config),
    }
    .map_err(|e| format!("responder: {e}"))?;
    // Sample firmware measurements unless --no-measurements (a default spdm_requester_emu run
    // asks for a measurement summary hash in CHALLENGE and KEY_EXCHANGE).
    let measurements = !o.no_measurements;
    if measurements {
        rsp.set_measurements(&sample);
    }
    // PLDM GetTID in sessions (TID 1), as DMTF's spdm_responder_emu answers it.
    rsp.set_app_handler(&mut pldm);
    if o.mut_auth {
        rsp.set_mut_auth(MutAuthPolicy {
            mode: MutAuthMode::Certificate {
                verifier: &req_verifier,
                chain_buf: &mut req_chain_buf,
            },
            mandatory: true,
        });
        println!(
            "{LOG} mutual authentication required (requester trust anchor {})",
            req_root_path.display()
        );
    }

    let listener = TcpListener::bind(("127.0.0.1", o.port))
        .map_err(|e| format!("bind 127.0.0.1:{}: {e}", o.port))?;
    println!(
        "{LOG} listening on 127.0.0.1:{} (MCTP transport, SPDM 1.2, set {}, {}{}{}{})",
        o.port,
        set_name(set),
        chain_desc,
        if o.psk.is_some() { ", PSK" } else { "" },
        if measurements { ", measurements" } else { "" },
        if o.in_clear {
            ", HANDSHAKE_IN_THE_CLEAR"
        } else {
            ""
        }
    );
    loop {
        let (mut s, peer) = listener.accept().map_err(|e| format!("accept: {e}"))?;
        println!("{LOG} connection from {peer}");
        let mut established = false;
        let mut out = vec![0u8; 8192];
        loop {
            let Some((cmd, transport, mut payload)) =
                read_frame(&mut s).map_err(|e| format!("read: {e}"))?
            else {
                println!("{LOG} end of stream: exiting");
                return Ok(());
            };
            let io = |e: std::io::Error| format!("write: {e}");
            match cmd {
                CMD_TEST => {
                    println!(
                        "{LOG} <- TEST hello {:?}",
                        String::from_utf8_lossy(payload.strip_suffix(b"\0").unwrap_or(&payload))
                    );
                    write_frame(&mut s, CMD_TEST, TRANSPORT_MCTP, SERVER_HELLO).map_err(io)?;
                    println!("{LOG} -> TEST hello \"Server Hello!\"");
                }
                CMD_SHUTDOWN => {
                    println!("{LOG} <- SHUTDOWN");
                    write_frame(&mut s, CMD_SHUTDOWN, TRANSPORT_MCTP, &[]).map_err(io)?;
                    println!("{LOG} -> SHUTDOWN (echo): exiting");
                    return Ok(());
                }
                CMD_CONTINUE => {
                    println!("{LOG} <- CONTINUE");
                    write_frame(&mut s, CMD_CONTINUE, TRANSPORT_MCTP, &[]).map_err(io)?;
                    println!("{LOG} -> CONTINUE (echo): waiting for the next connection");
                    break;
                }
                CMD_NORMAL if transport != TRANSPORT_MCTP => {
                    return Err(format!(
                        "transport type {transport} received, this responder speaks MCTP (1)"
                    ));
                }
                CMD_NORMAL
                    if !matches!(
                        payload.first(),
                        Some(&spdm_lite::record::MCTP_SPDM | &spdm_lite::record::MCTP_SECURED)
                    ) =>
                {
                    // Nothing this responder can answer in SPDM: close the connection rather
                    // than leave the peer waiting, and accept the next one.
                    println!(
                        "{LOG} <- {}: not SPDM, closing the connection",
                        describe(&payload, None, "message")
                    );
                    break;
                }
                CMD_NORMAL => {
                    let secured_in = payload.first() == Some(&spdm_lite::record::MCTP_SECURED);
                    let in_code = plain_code(&payload);
                    let in_desc = describe(&payload, in_code, "secured record");
                    match rsp.handle(&mut payload, &mut out) {
                        Ok(n) => {
                            let req_code = if secured_in {
                                opened_code(&payload)
                            } else {
                                in_code
                            };
                            let in_desc = if secured_in {
                                describe(&payload, req_code, "secured record")
                            } else {
                                in_desc
                            };
                            println!("{LOG} <- {in_desc}");
                            let msg = &out[..n];
                            let hint = match req_code {
                                Some(c) => format!("response to {}", code_name(c)),
                                None => "response".into(),
                            };
                            println!("{LOG} -> {}", describe(msg, plain_code(msg), &hint));
                            write_frame(&mut s, CMD_NORMAL, TRANSPORT_MCTP, msg).map_err(io)?;
                        }
                        Err(e) => {
                            // No answer at all (a forged or replayed record, an unknown
                            // transport type): log it and wait for the next message.
                            println!("{LOG} <- {in_desc}: dropped without answer ({e})");
                        }
                    }
                    match (established, rsp.session()) {
                        (false, Some(sess)) => {
                            established = true;
                            println!(
                                "{LOG} session established: id 0x{:08x}, set {}, requester auth {:?}",
                                sess.id(),
                                set_name(sess.algorithms()),
                                sess.requester_auth()
                            );
                        }
                        (true, None) => {
                            established = false;
                            println!("{LOG} session ended (state {})", rsp.state_name());
                        }
                        _ => {}
                    }
                }
                other => {
                    println!(
                        "{LOG} <- {} ({} bytes): answered UNKNOWN",
                        command_name(other),
                        payload.len()
                    );
                    write_frame(&mut s, CMD_UNKNOWN, TRANSPORT_MCTP, &[]).map_err(io)?;
                }
            }
        }
    }
}

/// The provisioning policy of `--provision-scope` / `--provision-overwrite` (only with
/// `--state`; the default is [`ProvisioningPolicy::FACTORY`]).
fn provisioning_policy(o: &Options) -> Result<ProvisioningPolicy, String> {
    if o.state.is_none() && (o.provision_scope.is_some() || o.provision_overwrite.is_some()) {
        return Err("--provision-scope and --provision-overwrite need --state".into());
    }
    let mut policy = ProvisioningPolicy::FACTORY;
    if let Some(v) = &o.provision_scope {
        policy.scope = match v.as_str() {
            "factory" => ProvisioningScope::FactoryMode,
            "session" => ProvisioningScope::AuthenticatedSession,
            "either" => ProvisioningScope::FactoryModeOrAuthenticatedSession,
            v => {
                return Err(format!(
                    "--provision-scope: expected factory, session or either, got {v:?}"
                ));
            }
        };
    }
    if let Some(v) = &o.provision_overwrite {
        policy.overwrite = match v.as_str() {
            "locked" => SlotOverwrite::Locked,
            "session" => SlotOverwrite::ReplaceInAuthenticatedSession,
            v => {
                return Err(format!(
                    "--provision-overwrite: expected locked or session, got {v:?}"
                ));
            }
        };
    }
    Ok(policy)
}

/// The device of `--state FILE`: its key pair, trusted root and slot 0, persisted in FILE.
struct StateDevice {
    path: PathBuf,
    set: AlgorithmSet,
    scalar: zeroize::Zeroizing<Vec<u8>>,
    key: EcdsaSigningKey,
    subject: Vec<u8>,
    root: Option<Vec<u8>>,
    slot0: Option<Vec<u8>>,
    policy: ProvisioningPolicy,
    /// TEST HOOK (`--test-hook-csr-for-another-key`): the key GET_CSR certifies and signs
    /// with instead of the device key.
    csr_key: Option<EcdsaSigningKey>,
}

fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

impl StateDevice {
    /// Reads FILE, or creates it with a fresh key; `root` (from `--root`) replaces the stored
    /// trusted root.
    fn open(
        path: &PathBuf,
        set: AlgorithmSet,
        root: Option<&[u8]>,
        policy: ProvisioningPolicy,
    ) -> Result<Self, String> {
        let mut scalar = None;
        let mut stored_root = None;
        let mut slot0 = None;
        let mut stored_set = None;
        if path.exists() {
            let text =
                std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            for line in text.lines().map(str::trim) {
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                let (name, value) = line
                    .split_once(' ')
                    .ok_or_else(|| format!("{}: bad line {line:?}", path.display()))?;
                match name {
                    "set" => stored_set = Some(value.to_string()),
                    "key" => scalar = Some(zeroize::Zeroizing::new(hex("key", value)?)),
                    "root" => stored_root = Some(hex("root", value)?),
                    "slot0" => slot0 = Some(hex("slot0", value)?),
                    other => return Err(format!("{}: unknown entry {other:?}", path.display())),
                }
            }
        }
        let want = set_name(set).to_ascii_lowercase();
        if stored_set.as_ref().is_some_and(|s| *s != want) {
            return Err(format!(
                "{}: the device key belongs to set {}, not {want}",
                path.display(),
                stored_set.unwrap_or_default()
            ));
        }
        let fresh = scalar.is_none();
        let scalar = match scalar {
            Some(s) => s,
            None => generate_scalar(set)?,
        };
        let key = EcdsaSigningKey::from_scalar(set.asym, &scalar)
            .map_err(|e| format!("{}: device key: {e}", path.display()))?;
        let mut pk = [0u8; 97];
        let n = key.public_key_sec1(&mut pk).map_err(|e| e.to_string())?;
        let mut h = RustCrypto.hash(set.hash).map_err(|e| e.to_string())?;
        h.update(&pk[..n]);
        let id = to_hex(&h.finish().as_bytes()[..4]);
        let dev = Self {
            path: path.clone(),
            set,
            scalar,
            key,
            subject: cn_name(&format!("spdm-lite camera {id}")),
            root: root.map(<[u8]>::to_vec).or(stored_root),
            slot0,
            policy,
            csr_key: None,
        };
        if fresh || root.is_some() {
            dev.save().map_err(|e| format!("{}: {e}", path.display()))?;
        }
        println!(
            "{LOG} device {id} ({}), trusted root: {}, provisioning {:?} / {:?}",
            if fresh {
                "new key"
            } else {
                "key from the state file"
            },
            if dev.root.is_some() {
                "set"
            } else {
                "none (any chain for the device key)"
            },
            dev.policy.scope,
            dev.policy.overwrite
        );
        Ok(dev)
    }

    /// A second handle on the device key for the responder's CHALLENGE / KEY_EXCHANGE
    /// signatures (the provider signs the CSR with its own).
    fn signer(&self) -> Result<EcdsaSigningKey, String> {
        EcdsaSigningKey::from_scalar(self.set.asym, &self.scalar).map_err(|e| e.to_string())
    }

    /// Writes the state (to a temporary file first, then renamed: never half a file).
    fn save(&self) -> std::io::Result<()> {
        let mut text = String::from(
            "# spdm-lite spdm-responder state: holds the device PRIVATE key, keep it private\n",
        );
        text += &format!("set {}\n", set_name(self.set).to_ascii_lowercase());
        text += &format!("key {}\n", to_hex(&self.scalar));
        if let Some(r) = &self.root {
            text += &format!("root {}\n", to_hex(r));
        }
        if let Some(c) = &self.slot0 {
            text += &format!("slot0 {}\n", to_hex(c));
        }
        let tmp = self.path.with_extension("tmp");
        std::fs::write(&tmp, text)?;
        std::fs::rename(&tmp, &self.path)
    }
}

fn generate_scalar(set: AlgorithmSet) -> Result<zeroize::Zeroizing<Vec<u8>>, String> {
    let len = if set.asym == AsymAlgo::EcdsaP256 {
        32
    } else {
        48
    };
    for _ in 0..16 {
        let mut s = zeroize::Zeroizing::new(vec![0u8; len]);
        OsRng.fill(&mut s).map_err(|e| e.to_string())?;
        if EcdsaSigningKey::from_scalar(set.asym, &s).is_ok() {
            return Ok(s);
        }
    }
    Err("no valid device key from the random source".into())
}

/// DER `Name` with one CN (UTF8String).
fn cn_name(cn: &str) -> Vec<u8> {
    let mut atv = vec![0x06, 0x03, 0x55, 0x04, 0x03, 0x0C, cn.len() as u8];
    atv.extend_from_slice(cn.as_bytes());
    let mut seq = vec![0x30, atv.len() as u8];
    seq.extend(atv);
    let mut set = vec![0x31, seq.len() as u8];
    set.extend(seq);
    let mut name = vec![0x30, set.len() as u8];
    name.extend(set);
    name
}

impl ProvisioningProvider for StateDevice {
    fn algorithm(&self) -> AsymAlgo {
        self.set.asym
    }
    fn device_public_key(&self, out: &mut [u8]) -> Result<usize, CryptoError> {
        self.csr_key
            .as_ref()
            .unwrap_or(&self.key)
            .public_key_sec1(out)
    }
    fn sign_prehash(&self, prehash: &[u8], out: &mut [u8]) -> Result<usize, CryptoError> {
        self.csr_key
            .as_ref()
            .unwrap_or(&self.key)
            .sign_prehash(prehash, out)
    }
    fn subject(&self) -> &[u8] {
        &self.subject
    }
    fn factory_mode(&self) -> bool {
        // Factory mode lasts until slot 0 is provisioned.
        self.slot0.is_none()
    }
    fn policy(&self) -> ProvisioningPolicy {
        self.policy
    }
    fn trusted_root(&self) -> Option<&[u8]> {
        self.root.as_deref()
    }
    fn slot_chain(&self, slot: u8) -> Option<&[u8]> {
        if slot == 0 {
            self.slot0.as_deref()
        } else {
            None
        }
    }
    fn store_chain(&mut self, slot: u8, chain: &[u8]) -> Result<(), StorageError> {
        if slot != 0 {
            return Err(StorageError::Failed);
        }
        let previous = self.slot0.replace(chain.to_vec());
        if let Err(e) = self.save() {
            eprintln!("{LOG} {}: {e}", self.path.display());
            self.slot0 = previous;
            return Err(StorageError::Failed);
        }
        println!(
            "{LOG} slot 0 {} ({} bytes), saved to {}",
            if previous.is_some() {
                "replaced"
            } else {
                "provisioned"
            },
            chain.len(),
            self.path.display()
        );
        Ok(())
    }
    fn check_chain(&self, set: AlgorithmSet, chain: &[u8]) -> Result<(), CertError> {
        // Here an allocator exists: the full X.509 validation as a responder identity.
        match &self.root {
            Some(root) => {
                let mut leaf = [0u8; 97];
                X509Verifier::new(RustCrypto, root)
                    .verify_chain(set, Role::Responder, chain, &mut leaf)
                    .map(|_| ())
            }
            None => Ok(()),
        }
    }
}
