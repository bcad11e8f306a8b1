//! Minisign signatures over the exact bytes of `manifest.json`: signing with
//! the `minisign` crate, verifying with `minisign-verify`.

use std::fmt;
use std::io::Cursor;
use std::path::Path;

use base64::Engine as _;

use super::error::{BundleError, Result};

/// A minisign secret key, decrypted and ready to sign.
pub struct SecretKeyFile {
    sk: minisign::SecretKey,
}

impl fmt::Debug for SecretKeyFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretKeyFile")
            .field("key_id", &key_id_hex(self.sk.keynum()))
            .finish_non_exhaustive()
    }
}

impl SecretKeyFile {
    /// Load a minisign secret key file (as written by `minisign -G`).
    /// `password` is `None` for an unencrypted key; it is never prompted for.
    pub fn load(path: &Path, password: Option<String>) -> Result<SecretKeyFile> {
        let text =
            crate::fsx::read_to_string(path).map_err(|e| secret_key_error(path, e.source))?;
        let text = match password {
            Some(_) => text,
            None => fill_unencrypted_checksum(&text),
        };
        let sk_box =
            minisign::SecretKeyBox::from_string(&text).map_err(|e| secret_key_error(path, e))?;
        let sk = match password {
            Some(password) => minisign::SecretKey::from_box(sk_box, Some(password)),
            None => minisign::SecretKey::from_unencrypted_box(sk_box),
        }
        .map_err(|e| secret_key_error(path, e))?;
        Ok(SecretKeyFile { sk })
    }

    /// Wrap an already decrypted secret key (a freshly generated one, say).
    #[cfg(test)]
    pub fn from_secret_key(sk: minisign::SecretKey) -> SecretKeyFile {
        SecretKeyFile { sk }
    }

    /// The matching public key, as the second line of a minisign `.pub` file.
    #[cfg(test)]
    pub fn public_key_base64(&self) -> Result<String> {
        minisign::PublicKey::from_secret_key(&self.sk)
            .map(|pk| pk.to_base64())
            .map_err(sign_error)
    }

    /// The key ID, in minisign's notation (16 upper-case hex digits).
    #[cfg(test)]
    pub fn key_id(&self) -> String {
        key_id_hex(self.sk.keynum())
    }

    /// Sign `manifest` (the exact bytes of manifest.json); the text of a
    /// `.minisig` file.
    pub(crate) fn sign(&self, manifest: &[u8], trusted_comment: &str) -> Result<String> {
        let pk = minisign::PublicKey::from_secret_key(&self.sk).map_err(sign_error)?;
        let signature = minisign::sign(
            Some(&pk),
            &self.sk,
            Cursor::new(manifest),
            Some(trusted_comment),
            Some("golock bundle manifest signature"),
        )
        .map_err(sign_error)?;
        Ok(signature.into_string())
    }
}

/// Byte layout of a decoded minisign secret key: algorithm ids, KDF salt and
/// limits, then key id, Ed25519 secret key and checksum.
const SK_SIG_ALG: std::ops::Range<usize> = 0..2;
const SK_KDF_ALG: std::ops::Range<usize> = 2..4;
const SK_KEYNUM: std::ops::Range<usize> = 54..62;
const SK_SECRET: std::ops::Range<usize> = 62..126;
const SK_CHECKSUM: std::ops::Range<usize> = 126..158;

/// The reference `minisign -G -W` (0.11) writes an unencrypted key with an
/// all-zero checksum, which the `minisign` crate refuses as corrupted. Put
/// in the checksum minisign defines (BLAKE2b-256 of algorithm, key id and
/// secret key) so that such keys load; anything else is passed on as it is
/// and judged by the crate.
pub(super) fn fill_unencrypted_checksum(text: &str) -> String {
    let mut lines: Vec<&str> = text.lines().collect();
    let Some(encoded) = lines.get(1) else {
        return text.to_owned();
    };
    let engine = &base64::engine::general_purpose::STANDARD;
    let Ok(mut key) = engine.decode(encoded.trim()) else {
        return text.to_owned();
    };
    let unencrypted = key.get(SK_KDF_ALG) == Some(&[0, 0][..]);
    if key.len() != SK_CHECKSUM.end || !unencrypted || key[SK_CHECKSUM].iter().any(|&b| b != 0) {
        return text.to_owned();
    }
    let checksum = minisign_checksum(&key);
    key[SK_CHECKSUM].copy_from_slice(&checksum);
    let filled = engine.encode(&key);
    lines[1] = &filled;
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

fn minisign_checksum(key: &[u8]) -> [u8; 32] {
    use blake2::Digest as _;
    let mut hasher = blake2::Blake2b::<blake2::digest::consts::U32>::new();
    hasher.update(&key[SK_SIG_ALG]);
    hasher.update(&key[SK_KEYNUM]);
    hasher.update(&key[SK_SECRET]);
    hasher.finalize().into()
}

fn secret_key_error(path: &Path, e: impl fmt::Display) -> BundleError {
    BundleError::SecretKey {
        path: path.to_path_buf(),
        detail: e.to_string(),
    }
}

fn sign_error(e: impl fmt::Display) -> BundleError {
    BundleError::Sign {
        detail: e.to_string(),
    }
}

/// minisign's notation for a key ID: its 8 bytes as a little-endian u64 in hex.
fn key_id_hex(keynum: &[u8]) -> String {
    keynum.iter().rev().map(|b| format!("{b:02X}")).collect()
}

/// Parse the trusted keys: each the base64 line of a minisign `.pub` file, or
/// the whole file (comment line, then key).
fn parse_trusted_keys(trusted_keys: &[String]) -> Result<Vec<minisign_verify::PublicKey>> {
    trusted_keys
        .iter()
        .map(|key| parse_trusted_key(key))
        .collect()
}

fn parse_trusted_key(key: &str) -> Result<minisign_verify::PublicKey> {
    let trimmed = key.trim();
    let parsed = if trimmed.contains('\n') {
        minisign_verify::PublicKey::decode(trimmed)
    } else {
        minisign_verify::PublicKey::from_base64(trimmed)
    };
    parsed.map_err(|e| BundleError::BadTrustedKey {
        key: trimmed.to_owned(),
        detail: e.to_string(),
    })
}

/// The key ID a signature claims, read from its second line (for messages).
fn signature_key_id(signature: &str) -> String {
    let decoded = signature.lines().nth(1).and_then(|line| {
        base64::engine::general_purpose::STANDARD
            .decode(line.trim())
            .ok()
    });
    match decoded {
        Some(bytes) if bytes.len() >= 10 => key_id_hex(&bytes[2..10]),
        _ => "(unknown)".to_owned(),
    }
}

/// Check `signature` (the `.minisig` text, if the bundle has one) over
/// `manifest` against `trusted_keys`. With no trusted keys, nothing is checked.
pub(crate) fn verify_manifest(
    manifest: &[u8],
    signature: Option<&[u8]>,
    trusted_keys: &[String],
) -> Result<()> {
    if trusted_keys.is_empty() {
        return Ok(());
    }
    let keys = parse_trusted_keys(trusted_keys)?;
    let text = signature.ok_or(BundleError::Unsigned)?;
    let text = std::str::from_utf8(text).map_err(|_| malformed("not UTF-8 text"))?;
    let sig = minisign_verify::Signature::decode(text).map_err(|e| malformed(e.to_string()))?;
    let key_id = signature_key_id(text);
    for key in &keys {
        match key.verify(manifest, &sig, false) {
            Ok(()) => return Ok(()),
            Err(minisign_verify::Error::UnexpectedKeyId) => continue,
            Err(minisign_verify::Error::InvalidSignature) => {
                return Err(BundleError::BadSignature { key_id });
            }
            Err(e) => return Err(malformed(e.to_string())),
        }
    }
    Err(BundleError::UntrustedSigner { key_id })
}

fn malformed(detail: impl Into<String>) -> BundleError {
    BundleError::MalformedSignature {
        detail: detail.into(),
    }
}
