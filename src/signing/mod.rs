//! OpenPGP detached signatures on Go archives (`[go] signing_keys`).
//!
//! [`TrustedKey::parse`] reads one armored (or binary) public key and checks
//! its self-signatures; [`Verifier`] takes the detached signature of one
//! archive (`<file>.asc` armored, or `<file>.sig` binary), finds the trusted
//! key (primary or signing subkey) that made it and refuses an expired or
//! revoked one before a byte of the archive is read. The caller then feeds
//! it the archive's bytes as they stream past (the same single read that
//! hashes and extracts the archive, see [`VerifyingReader`]) and calls
//! [`Verifier::finish`]. Keys and signatures are untrusted input: both are
//! read under a size cap ([`MAX_KEY_BYTES`], [`MAX_SIGNATURE_BYTES`]).
//!
//! The crypto is rpgp's (`pgp` crate); only the streaming part of signature
//! verification (hash as the bytes come, then check) is done here, since the
//! crate's `Signature::verify` pulls from a reader and the archive pipeline
//! pushes.

#[cfg(test)]
mod tests;

use std::fmt;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use digest::DynDigest;
use pgp::composed::{Deserializable, DetachedSignature, SignedPublicKey, SignedPublicSubKey};
use pgp::crypto::hash::HashAlgorithm;
use pgp::packet::{PublicKey, PublicSubkey, Signature, SignatureType, SignatureVersionSpecific};
use pgp::types::{KeyDetails, KeyVersion, Tag, VerifyingKey};

/// Cap on a key file named in `[go] signing_keys`.
pub const MAX_KEY_BYTES: u64 = 1 << 20;
/// Cap on a detached signature file (`.asc` or `.sig`).
pub const MAX_SIGNATURE_BYTES: u64 = 64 << 10;
/// The names a detached signature of `<file>` may have, in the order they
/// are looked for: armored, then binary.
pub const SIGNATURE_SUFFIXES: [&str; 2] = [".asc", ".sig"];

/// The signature files of `archive`, in the order they are looked for.
pub fn signature_paths(archive: &Path) -> [PathBuf; 2] {
    SIGNATURE_SUFFIXES.map(|suffix| {
        let mut name = archive.as_os_str().to_owned();
        name.push(suffix);
        PathBuf::from(name)
    })
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SignatureError {
    #[error("no signature for {file} (trusted: {keys}); looked for {}", looked.join(", "))]
    #[diagnostic(
        code(golock::signature::missing),
        help(
            "golock.toml sets [go] signing_keys ({keys}), so every archive needs a detached \
             signature beside it in the same mirror: {file}.asc (gpg --detach-sign --armor) or \
             {file}.sig; nothing was installed or locked"
        )
    )]
    Missing {
        file: String,
        looked: Vec<String>,
        keys: String,
    },
    #[error("the signature of {file} ({from}) is not an OpenPGP signature: {reason}")]
    #[diagnostic(
        code(golock::signature::malformed),
        help("make it with `gpg --detach-sign --armor {file}`; nothing was installed or locked")
    )]
    Malformed {
        file: String,
        from: String,
        reason: String,
    },
    #[error("{file} is signed by key {issuer}, which is not in [go] signing_keys ({keys})")]
    #[diagnostic(
        code(golock::signature::unknown_key),
        help(
            "nothing was installed or locked. If that key is trusted, add its armored public key \
             (gpg --export --armor {issuer}) to [go] signing_keys"
        )
    )]
    UnknownKey {
        file: String,
        issuer: String,
        keys: String,
    },
    #[error("{file} is signed by key {fingerprint} ({key_file}), which expired {expired}")]
    #[diagnostic(
        code(golock::signature::expired_key),
        help(
            "nothing was installed or locked. Re-sign the archive with a valid key, or extend the key's \
             expiry (gpg --quick-set-expire) and export it again into {key_file}"
        )
    )]
    Expired {
        file: String,
        fingerprint: String,
        key_file: String,
        expired: String,
    },
    #[error("{file} is signed by key {fingerprint} ({key_file}), which is revoked")]
    #[diagnostic(
        code(golock::signature::revoked_key),
        help(
            "nothing was installed or locked. A revoked key is never trusted again: re-sign the archive \
             with another key and name it in [go] signing_keys"
        )
    )]
    Revoked {
        file: String,
        fingerprint: String,
        key_file: String,
    },
    #[error("{file}: its signature by key {fingerprint} ({key_file}) does not match: {reason}")]
    #[diagnostic(
        code(golock::signature::bad),
        help(
            "the archive (or its signature) was changed after signing; nothing was installed or locked"
        )
    )]
    Bad {
        file: String,
        fingerprint: String,
        key_file: String,
        reason: String,
    },
}

impl SignatureError {
    /// The archive the error is about.
    pub fn file(&self) -> &str {
        match self {
            SignatureError::Missing { file, .. }
            | SignatureError::Malformed { file, .. }
            | SignatureError::UnknownKey { file, .. }
            | SignatureError::Expired { file, .. }
            | SignatureError::Revoked { file, .. }
            | SignatureError::Bad { file, .. } => file,
        }
    }
}

/// A public key from `[go] signing_keys`, with its self-signatures checked.
#[derive(Debug, Clone)]
pub struct TrustedKey {
    /// The key file, as golock.toml names it (for messages).
    pub name: String,
    /// The primary key's fingerprint, upper-case hex.
    pub fingerprint: String,
    key: SignedPublicKey,
}

impl PartialEq for TrustedKey {
    fn eq(&self, other: &Self) -> bool {
        self.name == other.name && self.key == other.key
    }
}

impl Eq for TrustedKey {}

impl TrustedKey {
    /// Parses one OpenPGP public key (armored or binary). Refused: not a
    /// key, a secret key block, a primary key without a valid self-signature.
    pub fn parse(name: &str, bytes: &[u8]) -> Result<TrustedKey, String> {
        let (key, _) = SignedPublicKey::from_reader_single(bytes)
            .map_err(|e| format!("not an OpenPGP public key: {e}"))?;
        if newest_primary_self_signature(&key).is_none() {
            return Err("the key has no valid self-signature".to_string());
        }
        Ok(TrustedKey {
            name: name.to_string(),
            fingerprint: hex_upper(key.primary_key.fingerprint().as_bytes()),
            key,
        })
    }
}

/// `name (FINGERPRINT), …` for messages.
pub fn describe_keys(keys: &[TrustedKey]) -> String {
    keys.iter()
        .map(|k| format!("{} {}", k.name, k.fingerprint))
        .collect::<Vec<_>>()
        .join(", ")
}

fn hex_upper(bytes: &[u8]) -> String {
    hex::encode_upper(bytes)
}

/// The key (primary or subkey) a signature was made with.
enum Signer<'k> {
    Primary(&'k PublicKey),
    Subkey(&'k PublicSubkey),
}

impl Signer<'_> {
    fn version(&self) -> KeyVersion {
        match self {
            Signer::Primary(k) => k.version(),
            Signer::Subkey(k) => k.version(),
        }
    }

    fn verify(&self, hash: HashAlgorithm, digest: &[u8], sig: &Signature) -> Result<(), String> {
        let bytes = sig
            .signature()
            .ok_or_else(|| "signature of an unknown version".to_string())?;
        match self {
            Signer::Primary(k) => k.verify(hash, digest, bytes),
            Signer::Subkey(k) => k.verify(hash, digest, bytes),
        }
        .map_err(|e| e.to_string())
    }
}

/// Checks one archive's detached signature while the archive streams past.
pub struct Verifier {
    file: String,
    fingerprint: String,
    key_file: String,
    signature: Signature,
    key: VerifyKey,
    hasher: Box<dyn DynDigest + Send>,
}

/// An owned copy of the signing key, so the verifier outlives the keyring borrow.
enum VerifyKey {
    Primary(PublicKey),
    Subkey(PublicSubkey),
}

/// What was verified: the archive, and the primary key that vouched for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub file: String,
    pub fingerprint: String,
}

impl fmt::Display for Verified {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} signed by {}", self.file, self.fingerprint)
    }
}

impl Verifier {
    /// Parses the signature `sig` of `file` (read from `from`), finds the
    /// trusted key that made it and checks that key is valid now: before
    /// any of the archive is read.
    pub fn new(
        keys: &[TrustedKey],
        file: &str,
        from: &str,
        sig: &[u8],
    ) -> Result<Verifier, SignatureError> {
        Self::new_at(keys, file, from, sig, SystemTime::now())
    }

    fn new_at(
        keys: &[TrustedKey],
        file: &str,
        from: &str,
        sig: &[u8],
        now: SystemTime,
    ) -> Result<Verifier, SignatureError> {
        let malformed = |reason: String| SignatureError::Malformed {
            file: file.to_string(),
            from: from.to_string(),
            reason,
        };
        let (detached, _) =
            DetachedSignature::from_reader_single(sig).map_err(|e| malformed(e.to_string()))?;
        let signature = detached.signature;
        if signature.typ() != Some(SignatureType::Binary) {
            return Err(malformed(format!(
                "a {:?} signature; an archive is signed in binary mode (gpg's default)",
                signature.typ()
            )));
        }
        let config = signature
            .config()
            .ok_or_else(|| malformed("signature of an unknown version".to_string()))?;
        let Some((trusted, signer)) = find_signer(keys, &signature) else {
            return Err(SignatureError::UnknownKey {
                file: file.to_string(),
                issuer: issuer(&signature),
                keys: describe_keys(keys),
            });
        };
        check_valid(trusted, &signer, file, now)?;
        let bad = |reason: String| SignatureError::Bad {
            file: file.to_string(),
            fingerprint: trusted.fingerprint.clone(),
            key_file: trusted.name.clone(),
            reason,
        };
        let v6 = matches!(config.version_specific, SignatureVersionSpecific::V6 { .. });
        if (signer.version() == KeyVersion::V6) != v6 {
            return Err(bad("signature and key versions differ".to_string()));
        }
        let mut hasher = config
            .hash_alg
            .new_hasher()
            .map_err(|e| bad(e.to_string()))?;
        if let SignatureVersionSpecific::V6 { salt } = &config.version_specific {
            if config.hash_alg.salt_len() != Some(salt.len()) {
                return Err(bad("salt of the wrong length".to_string()));
            }
            hasher.update(salt.as_ref());
        }
        let key = match signer {
            Signer::Primary(k) => VerifyKey::Primary(k.clone()),
            Signer::Subkey(k) => VerifyKey::Subkey(k.clone()),
        };
        Ok(Verifier {
            file: file.to_string(),
            fingerprint: trusted.fingerprint.clone(),
            key_file: trusted.name.clone(),
            signature,
            key,
            hasher,
        })
    }

    /// Feeds the next bytes of the archive.
    pub fn update(&mut self, bytes: &[u8]) {
        self.hasher.update(bytes);
    }

    /// Checks the signature over every byte fed.
    pub fn finish(self) -> Result<Verified, SignatureError> {
        let Verifier {
            file,
            fingerprint,
            key_file,
            signature,
            key,
            mut hasher,
        } = self;
        let checked = (|| {
            let config = signature
                .config()
                .ok_or_else(|| "signature of an unknown version".to_string())?;
            let len = config
                .hash_signature_data(&mut hasher)
                .map_err(|e| e.to_string())?;
            hasher.update(&config.trailer(len).map_err(|e| e.to_string())?);
            let digest = hasher.finalize();
            if signature.signed_hash_value() != Some([digest[0], digest[1]]) {
                return Err("the archive's digest differs from the signed one".to_string());
            }
            let signer = match &key {
                VerifyKey::Primary(k) => Signer::Primary(k),
                VerifyKey::Subkey(k) => Signer::Subkey(k),
            };
            signer.verify(config.hash_alg, &digest[..], &signature)
        })();
        match checked {
            Ok(()) => Ok(Verified { file, fingerprint }),
            Err(reason) => Err(SignatureError::Bad {
                file,
                fingerprint,
                key_file,
                reason,
            }),
        }
    }
}

/// Checks the signature `sig` (from `from`) of the local archive at
/// `archive` (named `file`), reading it once. For `golock mirror`, which
/// copies an archive's signature only once it verified.
pub fn verify_file(
    keys: &[TrustedKey],
    file: &str,
    archive: &Path,
    from: &str,
    sig: &[u8],
) -> Result<Verified, SignatureError> {
    let mut verifier = Verifier::new(keys, file, from, sig)?;
    let unreadable = |e: &dyn fmt::Display, v: &Verifier| SignatureError::Bad {
        file: file.to_string(),
        fingerprint: v.fingerprint.clone(),
        key_file: v.key_file.clone(),
        reason: format!("cannot read {}: {e}", archive.display()),
    };
    let mut reader = match crate::fsx::open(archive) {
        Ok(f) => f,
        Err(e) => return Err(unreadable(&e, &verifier)),
    };
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => verifier.update(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(unreadable(&e, &verifier)),
        }
    }
    verifier.finish()
}

/// A reader that feeds every byte it passes on to a [`Verifier`], so the
/// archive is read once for extraction, sha256 and signature alike.
pub struct VerifyingReader<'v, R> {
    inner: R,
    verifier: Option<&'v mut Verifier>,
}

impl<'v, R: Read> VerifyingReader<'v, R> {
    /// `verifier` `None` passes the bytes through (no signing keys set).
    pub fn new(inner: R, verifier: Option<&'v mut Verifier>) -> Self {
        Self { inner, verifier }
    }
}

impl<R: Read> Read for VerifyingReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if let Some(verifier) = self.verifier.as_deref_mut() {
            verifier.update(&buf[..n]);
        }
        Ok(n)
    }
}

/// The trusted key, and its primary key or subkey, that `sig` names as its
/// issuer (by fingerprint or key id).
fn find_signer<'k>(
    keys: &'k [TrustedKey],
    sig: &Signature,
) -> Option<(&'k TrustedKey, Signer<'k>)> {
    let names = |k: &dyn KeyDetails| {
        sig.issuer_fingerprint()
            .iter()
            .any(|fp| **fp == k.fingerprint())
            || sig
                .issuer_key_id()
                .iter()
                .any(|id| **id == k.legacy_key_id())
    };
    keys.iter().find_map(|trusted| {
        let key = &trusted.key;
        if names(&key.primary_key) {
            return Some((trusted, Signer::Primary(&key.primary_key)));
        }
        key.public_subkeys
            .iter()
            .find(|sub| names(&sub.key))
            .map(|sub| (trusted, Signer::Subkey(&sub.key)))
    })
}

/// What a signature names as its issuer: a fingerprint, else a key id.
fn issuer(sig: &Signature) -> String {
    if let Some(fp) = sig.issuer_fingerprint().first() {
        return hex_upper(fp.as_bytes());
    }
    sig.issuer_key_id()
        .first()
        .map_or("(none named)".to_string(), |id| hex_upper(id.as_ref()))
}

/// Refuses a revoked or expired primary key, and a subkey that is revoked,
/// expired, unbound or not for signing.
fn check_valid(
    trusted: &TrustedKey,
    signer: &Signer<'_>,
    file: &str,
    now: SystemTime,
) -> Result<(), SignatureError> {
    let key = &trusted.key;
    let revoked = || SignatureError::Revoked {
        file: file.to_string(),
        fingerprint: trusted.fingerprint.clone(),
        key_file: trusted.name.clone(),
    };
    let expired = |at: SystemTime| SignatureError::Expired {
        file: file.to_string(),
        fingerprint: trusted.fingerprint.clone(),
        key_file: trusted.name.clone(),
        expired: describe_time(at),
    };
    if key
        .details
        .revocation_signatures
        .iter()
        .any(|r| r.verify_key(&key.primary_key).is_ok())
    {
        return Err(revoked());
    }
    let primary_sig = newest_primary_self_signature(key).ok_or_else(revoked)?;
    if let Some(at) = expiry(key.primary_key.created_at(), primary_sig)
        && at <= now
    {
        return Err(expired(at));
    }
    let Signer::Subkey(sub) = signer else {
        return Ok(());
    };
    let Some(signed) = key
        .public_subkeys
        .iter()
        .find(|s| std::ptr::eq(&s.key, *sub))
    else {
        return Err(revoked());
    };
    let bindings = valid_subkey_signatures(key, signed);
    if bindings
        .iter()
        .any(|s| s.typ() == Some(SignatureType::SubkeyRevocation))
    {
        return Err(revoked());
    }
    let Some(binding) = newest(bindings.into_iter()) else {
        return Err(revoked());
    };
    if !binding.key_flags().sign() {
        return Err(SignatureError::Bad {
            file: file.to_string(),
            fingerprint: trusted.fingerprint.clone(),
            key_file: trusted.name.clone(),
            reason: "made with a subkey that is not for signing".to_string(),
        });
    }
    match expiry(sub.created_at(), binding) {
        Some(at) if at <= now => Err(expired(at)),
        _ => Ok(()),
    }
}

/// When a key created at `created` expires by `sig`'s key expiration time.
fn expiry(created: pgp::types::Timestamp, sig: &Signature) -> Option<SystemTime> {
    let after = sig.key_expiration_time()?.as_secs();
    (after != 0).then(|| SystemTime::from(created) + Duration::from_secs(u64::from(after)))
}

fn describe_time(at: SystemTime) -> String {
    match at.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => format!("at {} (Unix time)", d.as_secs()),
        Err(_) => "before 1970".to_string(),
    }
}

/// The newest self-signature of the primary key that verifies: a direct
/// key signature or a user id certification.
fn newest_primary_self_signature(key: &SignedPublicKey) -> Option<&Signature> {
    let primary = &key.primary_key;
    let direct = key
        .details
        .direct_signatures
        .iter()
        .filter(|s| s.verify_key(primary).is_ok());
    let users = key.details.users.iter().flat_map(|user| {
        user.signatures.iter().filter(move |s| {
            s.verify_certification(primary, Tag::UserId, &user.id)
                .is_ok()
        })
    });
    newest(direct.chain(users))
}

/// A subkey's binding and revocation signatures that verify.
fn valid_subkey_signatures<'k>(
    key: &'k SignedPublicKey,
    sub: &'k SignedPublicSubKey,
) -> Vec<&'k Signature> {
    sub.signatures
        .iter()
        .filter(|s| s.verify_subkey_binding(&key.primary_key, &sub.key).is_ok())
        .filter(|s| {
            // A signing subkey's binding carries the subkey's back signature.
            s.typ() != Some(SignatureType::SubkeyBinding)
                || !s.key_flags().sign()
                || s.embedded_signature().is_some_and(|back| {
                    back.verify_primary_key_binding(&sub.key, &key.primary_key)
                        .is_ok()
                })
        })
        .collect()
}

fn newest<'s>(sigs: impl Iterator<Item = &'s Signature>) -> Option<&'s Signature> {
    sigs.max_by_key(|s| s.created())
}
