//! The key file of `cse protect` / `cse verify` / `cse inspect`: a small text format.
//!
//! ```text
//! # comment lines and blank lines are ignored
//! key     = 000102...1f          # 16 or 32 bytes, hex
//! mac_key = 202122...3f          # optional; same size as key; required by the CTR+CMAC suites
//! salt    = 000000000000000000000000   # 12 bytes, hex
//! key_id  = 0                    # optional, 0..=3, default 0
//! ```
//!
//! Parsing is strict: unknown names, duplicates, bad hex and wrong lengths are refused, and no
//! error message ever contains a key byte. Every intermediate buffer is zeroized.

use cse_core::keys::{Salt, SecretKey};
use cse_core::{CipherSuite, KeyId, KeySize, TagLen};
use cse_sep::KeyMaterial;
use zeroize::{Zeroize, Zeroizing};

use super::CaptureError;

/// Stream key material read from a key file. Prints nothing secret.
pub struct KeyFile {
    key: SecretKey,
    mac_key: Option<SecretKey>,
    salt: Salt,
    key_id: KeyId,
}

impl core::fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("KeyFile")
            .field("key_bits", &(self.key.size().len() * 8))
            .field("mac_key", &self.mac_key.is_some())
            .field("key_id", &self.key_id.get())
            .finish_non_exhaustive()
    }
}

fn bad(line: usize, msg: impl Into<String>) -> CaptureError {
    CaptureError::KeyFile {
        line,
        msg: msg.into(),
    }
}

/// Decodes hex digits (no separators) into a zeroizing buffer. The error never shows input.
fn hex(line: usize, name: &str, s: &str) -> Result<Zeroizing<Vec<u8>>, CaptureError> {
    let digits = s.as_bytes();
    if !digits.len().is_multiple_of(2) {
        return Err(bad(
            line,
            format!("{name}: odd number of hex digits ({})", digits.len()),
        ));
    }
    let mut out = Zeroizing::new(Vec::with_capacity(digits.len() / 2));
    for pair in digits.chunks_exact(2) {
        let nib = |c: u8| match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        };
        match (
            pair.first().and_then(|c| nib(*c)),
            pair.get(1).and_then(|c| nib(*c)),
        ) {
            (Some(h), Some(l)) => out.push(h << 4 | l),
            _ => return Err(bad(line, format!("{name}: not a hex string"))),
        }
    }
    Ok(out)
}

fn aes_key(line: usize, name: &str, bytes: &[u8]) -> Result<SecretKey, CaptureError> {
    let size = match bytes.len() {
        16 => KeySize::Aes128,
        32 => KeySize::Aes256,
        n => {
            return Err(bad(
                line,
                format!("{name}: {n} bytes, expected 16 (AES-128) or 32 (AES-256)"),
            ));
        }
    };
    SecretKey::from_slice(size, bytes).map_err(|e| bad(line, format!("{name}: {e}")))
}

impl KeyFile {
    /// Parses the text of a key file.
    ///
    /// # Errors
    /// [`CaptureError::KeyFile`] naming the line and the problem (never the value).
    pub fn parse(text: &str) -> Result<KeyFile, CaptureError> {
        let mut key = None;
        let mut mac_key = None;
        let mut salt = None;
        let mut key_id = None;
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let content = raw.split('#').next().unwrap_or_default().trim();
            if content.is_empty() {
                continue;
            }
            let Some((name, value)) = content.split_once('=') else {
                return Err(bad(line, "expected `name = value`"));
            };
            let (name, value) = (name.trim(), value.trim());
            let dup = |seen: bool| {
                if seen {
                    Err(bad(line, format!("{name} given twice")))
                } else {
                    Ok(())
                }
            };
            match name {
                "key" => {
                    dup(key.is_some())?;
                    key = Some(aes_key(line, name, &hex(line, name, value)?)?);
                }
                "mac_key" => {
                    dup(mac_key.is_some())?;
                    mac_key = Some(aes_key(line, name, &hex(line, name, value)?)?);
                }
                "salt" => {
                    dup(salt.is_some())?;
                    let b = hex(line, name, value)?;
                    salt =
                        Some(Salt::from_slice(&b).map_err(|_| {
                            bad(line, format!("salt: {} bytes, expected 12", b.len()))
                        })?);
                }
                "key_id" => {
                    dup(key_id.is_some())?;
                    let v: u8 = value
                        .parse()
                        .map_err(|_| bad(line, "key_id: expected 0, 1, 2 or 3"))?;
                    key_id = Some(
                        KeyId::new(v).map_err(|_| bad(line, "key_id: expected 0, 1, 2 or 3"))?,
                    );
                }
                other => {
                    // The name is echoed only when it cannot be key bytes that landed left of
                    // the `=`: a short word of letters, `_` and `-`, with at least one letter
                    // that is not a hex digit. Anything else is described, never shown.
                    let shown = other.len() <= 16
                        && other
                            .chars()
                            .all(|c| c.is_ascii_alphabetic() || c == '_' || c == '-')
                        && other.chars().any(|c| !c.is_ascii_hexdigit());
                    let msg = if shown {
                        format!("unknown name `{other}` (known: key, mac_key, salt, key_id)")
                    } else {
                        "unknown name, not shown as it may hold key bytes (known: key, \
                         mac_key, salt, key_id)"
                            .to_string()
                    };
                    return Err(bad(line, msg));
                }
            }
        }
        let key = key.ok_or(CaptureError::KeyMissing("key"))?;
        let salt = salt.ok_or(CaptureError::KeyMissing("salt"))?;
        if let Some(m) = &mac_key
            && m.size() != key.size()
        {
            return Err(CaptureError::KeySuite(
                "mac_key and key have different sizes".into(),
            ));
        }
        Ok(KeyFile {
            key,
            mac_key,
            salt,
            key_id: key_id.unwrap_or_default(),
        })
    }

    /// Reads and parses a key file; the file's bytes are zeroized after parsing.
    ///
    /// # Errors
    /// [`CaptureError::Io`] when the file cannot be read, else as [`KeyFile::parse`].
    pub fn read(path: &str) -> Result<KeyFile, CaptureError> {
        let mut bytes = std::fs::read(path).map_err(|e| CaptureError::Io {
            path: path.to_owned(),
            msg: e.to_string(),
        })?;
        let r = match std::str::from_utf8(&bytes) {
            Ok(text) => KeyFile::parse(text),
            Err(_) => Err(CaptureError::KeySuite("not a text file".into())),
        };
        bytes.zeroize();
        r
    }

    /// The key id frames are protected under.
    pub fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// The key size.
    pub fn key_size(&self) -> KeySize {
        self.key.size()
    }

    /// Whether a separate MAC key is present.
    pub fn has_mac_key(&self) -> bool {
        self.mac_key.is_some()
    }

    /// Checks that the keys fit `suite`: key size, and a MAC key for the CTR+CMAC suites.
    ///
    /// # Errors
    /// [`CaptureError::KeySuite`].
    pub fn check_suite(&self, suite: CipherSuite) -> Result<(), CaptureError> {
        if self.key.size() != suite.key_size() {
            return Err(CaptureError::KeySuite(format!(
                "{} needs a {}-byte key, the key file holds a {}-byte key",
                suite.name(),
                suite.key_size().len(),
                self.key.size().len()
            )));
        }
        if suite.needs_mac_key() && self.mac_key.is_none() {
            return Err(CaptureError::KeySuite(format!(
                "{} needs a mac_key in the key file",
                suite.name()
            )));
        }
        Ok(())
    }

    /// A fresh copy of the key material for one agent, allowing tags down to `min_tag_len`;
    /// `scoped` declares scopes up to [`crate::keys::MAX_STREAM_SCOPE`] bytes (whole frames
    /// under per-frame or per-data-type tags), so the usage limits of short tags are chosen
    /// for them.
    ///
    /// # Errors
    /// [`CaptureError::KeySuite`] (cannot happen for a parsed file: sizes were checked).
    pub fn material(&self, min_tag_len: TagLen, scoped: bool) -> Result<KeyMaterial, CaptureError> {
        let copy = |k: &SecretKey| {
            SecretKey::from_slice(k.size(), k.expose_secret())
                .map_err(|e| CaptureError::KeySuite(e.to_string()))
        };
        let mac = match &self.mac_key {
            Some(m) => Some(copy(m)?),
            None => None,
        };
        let m = KeyMaterial::new(copy(&self.key)?, mac, Salt::new(*self.salt.as_bytes()))
            .with_min_tag_len(min_tag_len);
        Ok(if scoped {
            m.with_max_mac_input(crate::keys::MAX_STREAM_SCOPE)
        } else {
            m
        })
    }

    /// The text of a key file holding `key`, `mac_key` (when given), `salt` and `key_id`.
    /// Every temporary that holds hex of a secret is zeroized.
    pub fn render(
        key: &[u8],
        mac_key: Option<&[u8]>,
        salt: &[u8],
        key_id: u8,
    ) -> Zeroizing<String> {
        fn line(s: &mut String, name: &str, bytes: &[u8]) {
            s.push_str(name);
            s.push_str(" = ");
            for b in bytes {
                // Two hex digits straight into the zeroizing string: no temporary copy.
                for nibble in [b >> 4, b & 0x0F] {
                    s.push(char::from_digit(u32::from(nibble), 16).unwrap_or('0'));
                }
            }
            s.push('\n');
        }
        let mut s = Zeroizing::new(String::with_capacity(256));
        s.push_str("# cse stream key file (docs/capture.md). Keep it secret.\n");
        line(&mut s, "key", key);
        if let Some(m) = mac_key {
            line(&mut s, "mac_key", m);
        }
        line(&mut s, "salt", salt);
        s.push_str("key_id = ");
        s.push(char::from(b'0' + key_id.min(9)));
        s.push('\n');
        s
    }

    /// The keys of one protected capture: `key`, `mac_key` and `salt` derived from this file's
    /// with the capture's `nonce` (`docs/capture.md`, "Per-capture keys"), same key id.
    ///
    /// ```text
    /// PRK  = HKDF-Extract-SHA-256(salt = nonce, IKM = key ‖ salt ‖ mac_key (when present))
    /// key' = HKDF-Expand-SHA-256(PRK, "cse-rs capture v1 key", len(key))
    /// mac' = HKDF-Expand-SHA-256(PRK, "cse-rs capture v1 mac key", len(mac_key))
    /// salt'= HKDF-Expand-SHA-256(PRK, "cse-rs capture v1 salt", 12)
    /// ```
    ///
    /// # Errors
    /// [`CaptureError::KeySuite`] if the derivation fails (it cannot for a parsed file).
    pub fn for_capture(&self, nonce: &[u8; CAPTURE_NONCE_LEN]) -> Result<KeyFile, CaptureError> {
        self.derive(nonce, CAPTURE_LABEL)
    }

    /// The keys of a capture whose header also records its frame range (header version 2,
    /// what `protect` writes): as [`KeyFile::for_capture`], with the range bound into the
    /// derivation, so a header whose range was changed gives other keys and nothing verifies.
    ///
    /// ```text
    /// PRK  = HKDF-Extract-SHA-256(salt = nonce ‖ u32_le(first) ‖ u32_le(count), IKM as above)
    /// key' = HKDF-Expand-SHA-256(PRK, "cse-rs capture v2 key", len(key)), and so on
    /// ```
    ///
    /// # Errors
    /// As [`KeyFile::for_capture`].
    pub fn for_capture_range(
        &self,
        nonce: &[u8; CAPTURE_NONCE_LEN],
        first: u32,
        count: u32,
    ) -> Result<KeyFile, CaptureError> {
        let mut salt = [0u8; CAPTURE_NONCE_LEN + 8];
        salt[..CAPTURE_NONCE_LEN].copy_from_slice(nonce);
        salt[CAPTURE_NONCE_LEN..CAPTURE_NONCE_LEN + 4].copy_from_slice(&first.to_le_bytes());
        salt[CAPTURE_NONCE_LEN + 4..].copy_from_slice(&count.to_le_bytes());
        self.derive(&salt, CAPTURE_LABEL_V2)
    }

    fn derive(&self, nonce: &[u8], label_prefix: &[u8]) -> Result<KeyFile, CaptureError> {
        use spdm_lite::crypto::{CryptoProvider, HashAlgo, RustCrypto};
        let fail = |e: spdm_lite::CryptoError| CaptureError::KeySuite(e.to_string());
        let mut ikm = Zeroizing::new(Vec::with_capacity(76));
        ikm.extend_from_slice(self.key.expose_secret());
        ikm.extend_from_slice(self.salt.as_bytes());
        if let Some(m) = &self.mac_key {
            ikm.extend_from_slice(m.expose_secret());
        }
        let prk = RustCrypto
            .hkdf_extract(HashAlgo::Sha256, nonce, &ikm)
            .map_err(fail)?;
        let expand = |label: &str, len: usize| -> Result<Zeroizing<Vec<u8>>, CaptureError> {
            let mut out = Zeroizing::new(vec![0u8; len]);
            RustCrypto
                .hkdf_expand(
                    HashAlgo::Sha256,
                    prk.as_bytes(),
                    &[label_prefix, label.as_bytes()],
                    &mut out,
                )
                .map_err(fail)?;
            Ok(out)
        };
        let key_of = |label: &str, k: &SecretKey| -> Result<SecretKey, CaptureError> {
            let bytes = expand(label, k.size().len())?;
            SecretKey::from_slice(k.size(), &bytes)
                .map_err(|e| CaptureError::KeySuite(e.to_string()))
        };
        let key = key_of("key", &self.key)?;
        let mac_key = match &self.mac_key {
            Some(m) => Some(key_of("mac key", m)?),
            None => None,
        };
        let salt_bytes = expand("salt", 12)?;
        let mut salt = [0u8; 12];
        salt.copy_from_slice(&salt_bytes);
        let derived = KeyFile {
            key,
            mac_key,
            salt: Salt::new(salt),
            key_id: self.key_id,
        };
        salt.zeroize();
        Ok(derived)
    }
}

/// Bytes of the fresh random value of a protected capture.
pub const CAPTURE_NONCE_LEN: usize = 16;

/// The prefix of every per-capture HKDF-Expand info string.
const CAPTURE_LABEL: &[u8] = b"cse-rs capture v1 ";
/// The prefix of the derivation labels of a capture header that records its frame range.
const CAPTURE_LABEL_V2: &[u8] = b"cse-rs capture v2 ";

#[cfg(test)]
mod tests {
    use super::*;

    const K32: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
    const SALT: &str = "a0a1a2a3a4a5a6a7a8a9aaab";

    fn ok(text: &str) -> KeyFile {
        KeyFile::parse(text).expect("parses")
    }

    fn err(text: &str) -> String {
        KeyFile::parse(text).expect_err("refused").to_string()
    }

    #[test]
    fn parses_a_full_file() {
        let k = ok(&format!(
            "# test\n\nkey = {K32}  # comment\nmac_key={K32}\n salt = {SALT}\nkey_id = 2\n"
        ));
        assert_eq!(k.key_size(), KeySize::Aes256);
        assert!(k.has_mac_key());
        assert_eq!(k.key_id().get(), 2);
        assert!(k.check_suite(CipherSuite::Aes256CtrCmac).is_ok());
        assert!(k.check_suite(CipherSuite::Aes128Gcm).is_err());
        let dbg = format!("{k:?}");
        assert!(!dbg.contains("0001"), "{dbg}");
    }

    #[test]
    fn refuses_bad_files_without_echoing_values() {
        let secret = "deadbeefdeadbeefdeadbeefdeadbeez";
        let e = err(&format!("key = {secret}\nsalt = {SALT}\n"));
        assert!(e.contains("line 1") && e.contains("not a hex"), "{e}");
        assert!(!e.contains("deadbeef"), "{e}");
        assert!(err(&format!("key = {K32}\n")).contains("salt"));
        assert!(err(&format!("salt = {SALT}\n")).contains("key"));
        assert!(err(&format!("key = {K32}\nkey = {K32}\nsalt = {SALT}")).contains("twice"));
        assert!(err(&format!("key = 0011\nsalt = {SALT}")).contains("2 bytes"));
        assert!(err(&format!("key = {K32}\nsalt = 00")).contains("expected 12"));
        assert!(err(&format!("key = {K32}\nsalt = {SALT}\nkeyid = 1")).contains("unknown name"));
        assert!(err(&format!("key = {K32}\nsalt = {SALT}\nkey_id = 4")).contains("key_id"));
        assert!(err(&format!("key {K32}\nsalt = {SALT}")).contains("name = value"));
        assert!(err(&format!("key = {K32}0\nsalt = {SALT}")).contains("odd"));
        assert!(
            err(&format!(
                "key = {K32}\nmac_key = 000102030405060708090a0b0c0d0e0f\nsalt = {SALT}"
            ))
            .contains("different sizes")
        );
    }

    #[test]
    fn render_round_trips() {
        let key = [7u8; 16];
        let salt = [9u8; 12];
        let text = KeyFile::render(&key, None, &salt, 1);
        let k = ok(&text);
        assert_eq!(k.key_size(), KeySize::Aes128);
        assert_eq!(k.key_id().get(), 1);
        assert!(k.check_suite(CipherSuite::Aes128Gcm).is_ok());
        assert!(k.check_suite(CipherSuite::Aes128CtrCmac).is_err());
    }
}
