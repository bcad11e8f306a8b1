//! `golock lock` with `[go] signing_keys`: a checksum is recorded only for
//! an archive whose detached signature verified, hashed (sha256) and checked
//! (signature) in one read of the archive: a local mirror's file, or an HTTP
//! mirror's body as it streams in (never stored). A release index or
//! `SHA256SUMS` is not used then: it would record a checksum nobody signed.

use std::io::Read;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::fetch::http::Sink;
use crate::fetch::{self, Client, FetchError, Source};
use crate::fsx;
use crate::lockfile::{Lockfile, Platform};
use crate::signing::{self, SignatureError, TrustedKey, Verifier};

/// Cap on an archive read over HTTP by `lock` (as apply's unpacked cap).
const MAX_ARCHIVE_BYTES: u64 = 1 << 30;

/// A checksum found: sha256 (hex), size, and what it came from.
pub(super) type Hit = (String, u64, String);

/// The first mirror holding `file` gives its checksum, after its
/// signature verified; a mirror that holds it with a missing or refused
/// signature is an error (nothing is recorded). `None`: no mirror has it.
pub(super) fn find(
    lock: &Lockfile,
    platform: &Platform,
    file: &str,
    client: Option<&Client>,
) -> Result<Option<Hit>, SignatureError> {
    let keys = &lock.go.signing_keys;
    for mirror in &lock.go.mirrors {
        let hit = match mirror {
            Source::Local(dir) => from_dir(keys, &dir.join(file), file)?,
            Source::Http(base) => match client {
                Some(client) => {
                    from_http(keys, client, &lock.mirror_url(base, file, platform), file)?
                }
                None => None, // --offline
            },
        };
        if hit.is_some() {
            return Ok(hit);
        }
    }
    Ok(None)
}

/// A local archive and the signature beside it.
fn from_dir(keys: &[TrustedKey], path: &Path, file: &str) -> Result<Option<Hit>, SignatureError> {
    let Ok(archive) = fsx::open(path) else {
        return Ok(None);
    };
    let candidates = signing::signature_paths(path);
    let found = candidates.iter().find_map(|p| {
        fsx::read_capped(p, signing::MAX_SIGNATURE_BYTES)
            .ok()
            .map(|bytes| (p.display().to_string(), bytes))
    });
    let looked = candidates.iter().map(|p| p.display().to_string()).collect();
    let mut verifier = verifier(keys, file, found, looked)?;
    let mut hasher = Sha256::new();
    let mut size = 0u64;
    let mut reader = std::io::BufReader::with_capacity(256 * 1024, archive);
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        let n = match reader.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return Ok(None),
        };
        hasher.update(&buf[..n]);
        verifier.update(&buf[..n]);
        size += n as u64;
    }
    let verified = verifier.finish()?;
    Ok(Some((
        hex::encode(hasher.finalize()),
        size,
        format!(
            "hashed {}, signed by {}",
            path.display(),
            verified.fingerprint
        ),
    )))
}

/// An HTTP mirror's archive, its signature fetched first (`<url>.asc`, else
/// `<url>.sig`); the body is hashed and checked as it arrives.
fn from_http(
    keys: &[TrustedKey],
    client: &Client,
    url: &str,
    file: &str,
) -> Result<Option<Hit>, SignatureError> {
    let (base, name) = url.rsplit_once('/').unwrap_or(("", url));
    let mirror = [Source::Http(base.to_string())];
    let looked: Vec<String> = signing::SIGNATURE_SUFFIXES
        .iter()
        .map(|s| format!("{url}{s}"))
        .collect();
    let found = signing::SIGNATURE_SUFFIXES
        .iter()
        .zip(&looked)
        .find_map(|(suffix, at)| {
            fetch::fetch_bytes(
                client,
                &mirror,
                &format!("{name}{suffix}"),
                signing::MAX_SIGNATURE_BYTES,
            )
            .ok()
            .flatten()
            .map(|bytes| (at.clone(), bytes))
        });
    if found.is_none() && !archive_exists(client, url) {
        return Ok(None);
    }
    let verifier = verifier(keys, file, found.clone(), looked)?;
    let mut sink = VerifySink {
        keys,
        file,
        found,
        verifier: Some(verifier),
    };
    let fetched = match fetch::fetch_streamed(client, &mirror, name, MAX_ARCHIVE_BYTES, &mut sink) {
        Ok(Some(fetched)) => fetched,
        Ok(None) | Err(_) => return Ok(None),
    };
    let Some(verifier) = sink.verifier else {
        return Ok(None);
    };
    let verified = verifier.finish()?;
    Ok(Some((
        hex::encode(fetched.sha256),
        fetched.size,
        format!("hashed {url}, signed by {}", verified.fingerprint),
    )))
}

/// Whether an HTTP mirror has `url` (a HEAD request answers with a size).
fn archive_exists(client: &Client, url: &str) -> bool {
    client
        .http()
        .ok()
        .and_then(|h| h.content_length(url).ok())
        .is_some_and(|len| len.is_some())
}

fn verifier(
    keys: &[TrustedKey],
    file: &str,
    found: Option<(String, Vec<u8>)>,
    looked: Vec<String>,
) -> Result<Verifier, SignatureError> {
    let Some((from, bytes)) = found else {
        return Err(SignatureError::Missing {
            file: file.to_string(),
            looked,
            keys: signing::describe_keys(keys),
        });
    };
    Verifier::new(keys, file, &from, &bytes)
}

/// Feeds a download to the verifier; a download that starts over gets a
/// fresh verifier.
struct VerifySink<'a> {
    keys: &'a [TrustedKey],
    file: &'a str,
    found: Option<(String, Vec<u8>)>,
    verifier: Option<Verifier>,
}

impl Sink for VerifySink<'_> {
    fn put(&mut self, buf: &[u8]) -> Result<(), FetchError> {
        if let Some(verifier) = &mut self.verifier {
            verifier.update(buf);
        }
        Ok(())
    }

    fn reset(&mut self) -> Result<(), FetchError> {
        self.verifier = self
            .found
            .as_ref()
            .and_then(|(from, bytes)| Verifier::new(self.keys, self.file, from, bytes).ok());
        Ok(())
    }
}
