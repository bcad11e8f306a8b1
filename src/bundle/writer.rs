//! [`BundleWriter`]: builds a bundle in a temporary file beside its target,
//! hashing each member as it is copied, and renames it into place only once
//! the manifest (and signature) are written and the file is synced.

use std::io::{self, BufWriter, Read};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};
use tempfile::TempPath;

use crate::fsx::{self, Context, File};

use super::error::{BundleError, Result};
use super::path::{PathSet, check_content_path};
use super::sign::SecretKeyFile;
use super::{FORMAT_VERSION, LOCKFILE_MEMBER, MANIFEST_MEMBER, Manifest, Member, SIGNATURE_MEMBER};

/// Buffer between the gzip encoder and the file.
const WRITE_BUFFER_BYTES: usize = 256 * 1024;
/// Mode of every member.
const MEMBER_MODE: u32 = 0o644;

type TarOut = tar::Builder<GzEncoder<BufWriter<File>>>;

/// Writes a bundle; see the [module docs](super) for the format.
///
/// After an error that interrupted a write, every further call fails with
/// [`BundleError::Abandoned`]. Dropping a writer without [`finish`](BundleWriter::finish) deletes its
/// temporary file and leaves `out` untouched.
pub struct BundleWriter {
    out: PathBuf,
    temp: TempPath,
    tar: TarOut,
    members: Vec<Member>,
    paths: PathSet,
    /// Set when a write failed part-way: the tar stream is then incomplete.
    poisoned: bool,
}

impl std::fmt::Debug for BundleWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BundleWriter")
            .field("out", &self.out)
            .field("members", &self.members.len())
            .finish_non_exhaustive()
    }
}

impl BundleWriter {
    /// Start a bundle that will be renamed to `out`, with `lockfile_bytes` as
    /// its first member, `golock.toml`.
    pub fn create(out: &Path, lockfile_bytes: &[u8]) -> Result<BundleWriter> {
        let (file, temp) = create_temp_beside(out)?;
        // Most content (toolchain archives, module zips) is already
        // compressed: the fastest level keeps the bundle cheap to make.
        let gz = GzEncoder::new(
            BufWriter::with_capacity(WRITE_BUFFER_BYTES, file),
            Compression::fast(),
        );
        let mut writer = BundleWriter {
            out: out.to_path_buf(),
            temp,
            tar: tar::Builder::new(gz),
            members: Vec::new(),
            paths: PathSet::default(),
            poisoned: false,
        };
        writer.append(
            LOCKFILE_MEMBER,
            lockfile_bytes.len() as u64,
            lockfile_bytes,
            None,
        )?;
        Ok(writer)
    }

    /// Add the file `src` as `member_path`, streamed and hashed while copied.
    pub fn add_file(&mut self, member_path: &str, src: &Path) -> Result<()> {
        check_content_path(member_path)?;
        let file = fsx::open(src)?;
        let size = file.metadata().ctx("stat", src)?.len();
        let read = self.append(member_path, size, file.take(size), Some(src))?;
        if read != size {
            self.poisoned = true;
            return Err(BundleError::SourceChanged {
                member: member_path.to_owned(),
                src: src.to_path_buf(),
                expected: size,
                actual: read,
            });
        }
        Ok(())
    }

    /// Add `bytes` as `member_path`.
    #[cfg(test)]
    pub fn add_bytes(&mut self, member_path: &str, bytes: &[u8]) -> Result<()> {
        check_content_path(member_path)?;
        self.append(member_path, bytes.len() as u64, bytes, None)?;
        Ok(())
    }

    /// Append `manifest.json` (and `manifest.json.minisig` when `sign_with`
    /// is given) last, sync the file and rename it into place.
    pub fn finish(mut self, sign_with: Option<&SecretKeyFile>) -> Result<Manifest> {
        self.check_usable()?;
        let manifest = self.manifest();
        let mut manifest_bytes =
            serde_json::to_vec_pretty(&manifest).map_err(|e| BundleError::BadManifest {
                detail: e.to_string(),
            })?;
        manifest_bytes.push(b'\n');
        self.append_raw(
            MANIFEST_MEMBER,
            manifest_bytes.len() as u64,
            &manifest_bytes[..],
        )?;
        if let Some(key) = sign_with {
            let comment = format!(
                "golock bundle for golock.toml sha256 {}",
                manifest.lockfile_sha256
            );
            let signature = key.sign(&manifest_bytes, &comment)?;
            self.append_raw(
                SIGNATURE_MEMBER,
                signature.len() as u64,
                signature.as_bytes(),
            )?;
        }
        self.seal()?;
        Ok(manifest)
    }

    fn manifest(&self) -> Manifest {
        let lockfile_sha256 = self
            .members
            .first()
            .map(|m| m.sha256.clone())
            .unwrap_or_default();
        Manifest {
            format_version: FORMAT_VERSION,
            lockfile_sha256,
            members: self.members.clone(),
        }
    }

    /// Append a listed member; returns the number of bytes read from `data`,
    /// read from the file `src` if given (named in read errors).
    fn append(
        &mut self,
        member_path: &str,
        size: u64,
        data: impl Read,
        src: Option<&Path>,
    ) -> Result<u64> {
        self.check_usable()?;
        self.paths.insert(member_path)?;
        let mut hashing = HashingReader::new(data);
        let appended = self.append_raw(member_path, size, &mut hashing);
        match (appended, src) {
            (Err(BundleError::Io { source, .. }), Some(src)) if hashing.read_failed => {
                return Err(BundleError::Io {
                    op: "read",
                    path: src.to_path_buf(),
                    source,
                });
            }
            (result, _) => result?,
        }
        let (sha256, read) = hashing.finish();
        self.members.push(Member {
            path: member_path.to_owned(),
            size,
            sha256,
        });
        Ok(read)
    }

    /// Append an entry with the fixed header; not listed in the manifest.
    fn append_raw(&mut self, member_path: &str, size: u64, data: impl Read) -> Result<()> {
        self.check_usable()?;
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(size);
        header.set_mode(MEMBER_MODE);
        header.set_mtime(0);
        header.set_uid(0);
        header.set_gid(0);
        let result = self.tar.append_data(&mut header, member_path, data);
        self.poisoned = result.is_err();
        Ok(result.ctx("write bundle", &self.temp)?)
    }

    /// Refuse to go on once a failed write left the stream incomplete.
    fn check_usable(&self) -> Result<()> {
        if self.poisoned {
            return Err(BundleError::Abandoned);
        }
        Ok(())
    }

    /// Finish the tar and gzip streams, fsync, rename into place durably.
    fn seal(self) -> Result<()> {
        let temp_path = self.temp.to_path_buf();
        let gz = self.tar.into_inner().ctx("write bundle", &temp_path)?;
        let buffered = gz.finish().ctx("write bundle", &temp_path)?;
        let file = buffered
            .into_inner()
            .map_err(|e| e.into_error())
            .ctx("write bundle", &temp_path)?;
        file.sync_all().ctx("sync", &temp_path)?;
        drop(file);
        self.temp
            .persist(&self.out)
            .map_err(|e| e.error)
            .ctx("rename into place", &self.out)?;
        Ok(fsx::fsync_dir(fsx::parent_of(&self.out))?)
    }
}

/// A new temporary file in `out`'s directory, deleted when dropped.
fn create_temp_beside(out: &Path) -> Result<(File, TempPath)> {
    let dir = fsx::parent_of(out);
    let name = out
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let named = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".golock-tmp")
        .tempfile_in(dir)
        .ctx("create a temporary file beside", out)?;
    Ok(named.into_parts())
}

/// Hashes and counts everything read through it.
struct HashingReader<R> {
    inner: R,
    hasher: Sha256,
    read: u64,
    read_failed: bool,
}

impl<R: Read> HashingReader<R> {
    fn new(inner: R) -> Self {
        Self {
            inner,
            hasher: Sha256::new(),
            read: 0,
            read_failed: false,
        }
    }

    fn finish(self) -> (String, u64) {
        (hex::encode(self.hasher.finalize()), self.read)
    }
}

impl<R: Read> Read for HashingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self
            .inner
            .read(buf)
            .inspect_err(|_| self.read_failed = true)?;
        self.hasher.update(&buf[..n]);
        self.read += n as u64;
        Ok(n)
    }
}
