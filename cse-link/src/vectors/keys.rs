//! Key-derivation vectors (`DIR/keys/*.json`): from a fixed SPDM export master secret and
//! session id, every link key [`crate::keys`] derives for key generations 0, 1 and 2, each with
//! its label, context, HKDF info and output. The generation counts KEY_UPDATE key changes, +1
//! per direction (`docs/key-hierarchy.md` section 3): 0 is a fresh session, 1 follows one
//! UpdateKey, 2 one UpdateAllKeys (or two UpdateKeys). Described in `docs/vectors.md`.

use cse_core::csi2::VirtualChannel;
use cse_core::{Direction, Profile};
use spdm_lite::crypto::{HashAlgo, RustCrypto, Secret};
use spdm_lite::export::{ExportMasterSecret, LinkKeyPurpose, link_key_context};
use spdm_lite::msgs::Version;
use zeroize::Zeroize;

use super::{FORMAT, Json, Vector, VectorProtocol, hx, n, obj, s};
use crate::LinkError;

/// The key generations of every key-derivation vector.
pub const KEY_GENERATIONS: [u32; 3] = [0, 1, 2];

/// `ReqSessionID` of the fixture session.
pub const REQ_SESSION_ID: u16 = 0xA1B2;
/// `RspSessionID` of the fixture session.
pub const RSP_SESSION_ID: u16 = 0xC3D4;
/// The virtual channel of the fixture stream.
pub const STREAM_VC: u8 = 1;

/// The fixture export master secret of `hash`: bytes `0x40, 0x41, ..` (H bytes).
pub fn export_master_fixture(hash: HashAlgo) -> Vec<u8> {
    (0..hash.len()).map(|i| 0x40 + i as u8).collect()
}

/// The session id `ReqSessionID | RspSessionID << 16`.
pub fn session_id() -> u32 {
    u32::from(REQ_SESSION_ID) | u32::from(RSP_SESSION_ID) << 16
}

/// One derived value: what it is, the derivation inputs and the output length.
struct Item {
    name: &'static str,
    purpose: LinkKeyPurpose,
    direction: Direction,
    vc: u8,
    len: usize,
}

/// Every value a link derives per key generation (`docs/key-hierarchy.md` section 2): the
/// stream key and MAC key at both key sizes (the suite decides which one a stream uses), the
/// stream salt, the two CCISE keys and the CCISE salt.
fn items() -> [Item; 8] {
    let s2c = Direction::SensorToController;
    let c2s = Direction::ControllerToSensor;
    let it = |name, purpose, direction, vc, len| Item {
        name,
        purpose,
        direction,
        vc,
        len,
    };
    [
        it("stream-key", LinkKeyPurpose::StreamKey, s2c, STREAM_VC, 16),
        it("stream-key", LinkKeyPurpose::StreamKey, s2c, STREAM_VC, 32),
        it(
            "stream-mac-key",
            LinkKeyPurpose::StreamMacKey,
            s2c,
            STREAM_VC,
            16,
        ),
        it(
            "stream-mac-key",
            LinkKeyPurpose::StreamMacKey,
            s2c,
            STREAM_VC,
            32,
        ),
        it(
            "stream-salt",
            LinkKeyPurpose::StreamSalt,
            s2c,
            STREAM_VC,
            12,
        ),
        it("ccise-to-target-key", LinkKeyPurpose::CciseKey, c2s, 0, 16),
        it(
            "ccise-to-controller-key",
            LinkKeyPurpose::CciseKey,
            s2c,
            0,
            16,
        ),
        it("ccise-salt", LinkKeyPurpose::StreamSalt, c2s, 0, 12),
    ]
}

/// The hashes of the vectors: the algorithm, its `"hash"` name and its file-name slug.
const HASHES: [(HashAlgo, &str, &str); 2] = [
    (HashAlgo::Sha256, "SHA-256", "sha256"),
    (HashAlgo::Sha384, "SHA-384", "sha384"),
];

/// The key-derivation vector of `hash` (named `kdf-{slug}`).
fn vector((hash, hash_name, slug): (HashAlgo, &str, &str)) -> Result<Vector, LinkError> {
    let profile = Profile::DRAFT_1;
    let master = export_master_fixture(hash);
    let ems = ExportMasterSecret::new(
        Secret::from_slice(&master)?,
        hash,
        Version::V12,
        session_id(),
    );
    let prefix = Version::V12.bin_concat_prefix();
    let mut derivations = Vec::new();
    for generation in KEY_GENERATIONS {
        for item in items() {
            let vc = VirtualChannel::new(item.vc)?;
            let label = item.purpose.label(&profile);
            let context = link_key_context(item.direction, vc, generation, ems.session_id());
            let mut info = (item.len as u16).to_le_bytes().to_vec();
            info.extend_from_slice(&prefix);
            info.extend_from_slice(label.as_bytes());
            info.extend_from_slice(&context);
            let mut out = [0u8; 32];
            let buf = out.get_mut(..item.len).unwrap_or_default();
            ems.derive_link_key(
                &RustCrypto,
                &profile,
                item.purpose,
                item.direction,
                vc,
                generation,
                buf,
            )?;
            derivations.push(obj(vec![
                ("generation", n(generation)),
                ("item", s(item.name)),
                ("label", s(label)),
                ("direction", n(item.direction as u8)),
                ("virtual_channel", n(item.vc)),
                ("length", n(item.len as u64)),
                ("context", hx(&context)),
                ("info", hx(&info)),
                ("output", hx(buf)),
            ]));
            out.zeroize();
        }
    }
    let name = format!("kdf-{slug}");
    let json = obj(vec![
        ("format", s(FORMAT)),
        ("protocol", s(VectorProtocol::Keys.name())),
        ("name", s(&name)),
        ("profile", s(profile.name)),
        ("hash", s(hash_name)),
        ("spdm_version", s("1.2")),
        ("export_master_secret", hx(&master)),
        ("req_session_id", n(REQ_SESSION_ID)),
        ("rsp_session_id", n(RSP_SESSION_ID)),
        ("session_id", n(session_id())),
        ("stream_virtual_channel", n(STREAM_VC)),
        (
            "generations",
            Json::Arr(KEY_GENERATIONS.iter().map(|g| n(*g)).collect()),
        ),
        (
            "ccise_key_ids",
            Json::Arr(
                KEY_GENERATIONS
                    .iter()
                    .map(|g| n(crate::keys::ccise_key_id(*g).get()))
                    .collect(),
            ),
        ),
        ("derivations", Json::Arr(derivations)),
    ])
    .to_text();
    Ok(Vector {
        protocol: VectorProtocol::Keys,
        name,
        json,
    })
}

/// The key-derivation vectors: SHA-256, then SHA-384.
///
/// # Errors
/// A derivation failure (a bug: the set is fixed).
pub fn keys() -> Result<Vec<Vector>, LinkError> {
    HASHES.into_iter().map(vector).collect()
}
