//! The `h1:` directory hash recorded in go.sum (x/mod `sumdb/dirhash`:
//! `Hash1`, `HashDir`, `DirFiles`, `HashZip`) and the go.mod hash
//! (cmd/go `modfetch.goModSum`).
//!
//! `h1:` is base64(sha256(summary)) where the summary has one line
//! `hex(sha256(content))  name\n` per file, sorted by name (byte order).

use std::cell::RefCell;
use std::io::{self, BufReader, Cursor, Read, Seek};
use std::path::Path;

use base64::Engine as _;
use sha2::{Digest, Sha256};

use super::error::ModError;
use crate::fsx::{self, Context};

/// `h1:` of the empty file set: base64(sha256("")).
pub const EMPTY_H1: &str = "h1:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=";

/// A zip at most this large is read whole and parsed from memory: one
/// read instead of a seek and a read per entry (a module zip is typically
/// tens of KiB; the largest go allows is 500 MiB, which streams).
const ZIP_IN_MEMORY_MAX: u64 = 4 << 20;

thread_local! {
    /// One read buffer per thread: hashing a module tree or zip reads
    /// thousands of small files, and a fresh zeroed buffer each cost more
    /// than hashing them.
    static READ_BUF: RefCell<Vec<u8>> = RefCell::new(vec![0u8; 64 * 1024]);
}

/// The sha256 of everything `r` yields.
pub fn sha256_reader(mut r: impl Read) -> io::Result<[u8; 32]> {
    READ_BUF.with_borrow_mut(|buf| {
        let mut h = Sha256::new();
        loop {
            match r.read(buf) {
                Ok(0) => return Ok(h.finalize().into()),
                Ok(n) => h.update(&buf[..n]),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    })
}

/// Hash1 over `(name, sha256(content))` pairs (x/mod `dirhash.Hash1`):
/// names sorted by bytes (Go `slices.Sort`), one summary line per file.
/// A name containing `'\n'` would forge summary lines and is rejected.
pub fn hash1<'a>(files: impl IntoIterator<Item = (&'a str, [u8; 32])>) -> Result<String, ModError> {
    let mut files: Vec<(&str, [u8; 32])> = files.into_iter().collect();
    if let Some((name, _)) = files.iter().find(|(n, _)| n.contains('\n')) {
        return Err(ModError::NewlineInName {
            name: name.to_string(),
        });
    }
    files.sort_unstable_by(|a, b| a.0.cmp(b.0));
    Ok(summary_hash(files.iter().map(|(n, s)| (*n, s))))
}

/// Hashes already-sorted `(name, sha)` pairs into `h1:...`.
fn summary_hash<'a>(files: impl Iterator<Item = (&'a str, &'a [u8; 32])>) -> String {
    let mut h = Sha256::new();
    for (name, sum) in files {
        h.update(hex::encode(sum).as_bytes());
        h.update(b"  ");
        h.update(name.as_bytes());
        h.update(b"\n");
    }
    let digest: [u8; 32] = h.finalize().into();
    format!(
        "h1:{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// The go.sum hash of a go.mod file: Hash1 over the single name `go.mod`
/// (cmd/go `modfetch.goModSum`).
pub fn hash_go_mod(content: &[u8]) -> String {
    let sum: [u8; 32] = Sha256::digest(content).into();
    summary_hash(std::iter::once(("go.mod", &sum)))
}

/// Hash1 over every entry of a zip file, named as stored (x/mod
/// `dirhash.HashZip`). Directory entries count as empty files, as Go's
/// `zip.File.Open` yields nothing for them. Unlike Go (which lets the last
/// duplicate win), duplicate names are an error.
pub fn hash_zip(zip_path: &Path) -> Result<String, ModError> {
    let mut file = fsx::open(zip_path)?;
    let len = file.metadata().ctx("stat", zip_path)?.len();
    if len > ZIP_IN_MEMORY_MAX {
        return hash_zip_from(BufReader::new(file), zip_path);
    }
    let mut bytes = Vec::with_capacity(len as usize);
    // One more byte than the stat said may arrive (a file still growing):
    // the cap keeps the read bounded either way.
    (&mut file)
        .take(ZIP_IN_MEMORY_MAX + 1)
        .read_to_end(&mut bytes)
        .ctx("read", zip_path)?;
    hash_zip_from(Cursor::new(bytes), zip_path)
}

fn hash_zip_from(reader: impl Read + Seek, zip_path: &Path) -> Result<String, ModError> {
    let mut archive = zip::ZipArchive::new(reader).map_err(|source| ModError::Zip {
        module: String::new(),
        zip: zip_path.to_path_buf(),
        entry: None,
        source,
    })?;
    if archive.has_duplicate_names() {
        return Err(ModError::InvalidZip {
            module: String::new(),
            zip: zip_path.to_path_buf(),
            problems: vec![super::error::EntryProblem {
                entry: String::new(),
                reason: "zip has duplicate entry names".into(),
            }],
        });
    }
    let mut files = Vec::with_capacity(archive.len());
    for i in 0..archive.len() {
        let zip_err = |entry: Option<String>, source| ModError::Zip {
            module: String::new(),
            zip: zip_path.to_path_buf(),
            entry,
            source,
        };
        let entry = archive.by_index(i).map_err(|e| zip_err(None, e))?;
        let Ok(name) = String::from_utf8(entry.name_raw().to_vec()) else {
            return Err(ModError::InvalidZip {
                module: String::new(),
                zip: zip_path.to_path_buf(),
                problems: vec![super::error::EntryProblem {
                    entry: String::from_utf8_lossy(entry.name_raw()).into_owned(),
                    reason: "invalid UTF-8 in name".into(),
                }],
            });
        };
        let sum = if name.ends_with('/') {
            empty_dir_entry_sum(&entry).map_err(|e| zip_err(Some(name.clone()), e))?
        } else {
            sha256_reader(entry).map_err(|e| zip_err(Some(name.clone()), e.into()))?
        };
        files.push((name, sum));
    }
    hash1(files.iter().map(|(n, s)| (n.as_str(), *s)))
}

/// Go treats a directory entry as empty, and fails if it declares content.
fn empty_dir_entry_sum<R: Read + ?Sized>(
    entry: &zip::read::ZipFile<'_, R>,
) -> Result<[u8; 32], zip::result::ZipError> {
    if entry.size() != 0 {
        return Err(zip::result::ZipError::InvalidArchive(
            "directory entry has content".into(),
        ));
    }
    Ok(Sha256::digest(b"").into())
}

/// Hash1 over the regular files below `dir`, each named
/// `prefix/relative/path` (x/mod `dirhash.HashDir` + `DirFiles`). Symbolic
/// links are hashed by the content they point to, as `os.Open` follows them.
pub fn hash_dir(dir: &Path, prefix: &str) -> Result<String, ModError> {
    let meta = fsx::metadata(dir)?;
    if !meta.is_dir() {
        return Err(ModError::io(
            "hash",
            dir,
            io::Error::new(io::ErrorKind::NotADirectory, "not a directory"),
        ));
    }
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(dir).follow_links(false) {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(dir).to_path_buf();
            ModError::io("walk", path, e.into())
        })?;
        if entry.file_type().is_dir() {
            continue;
        }
        let rel = entry.path().strip_prefix(dir).unwrap_or(entry.path());
        let name = slash_join(prefix, &rel.to_string_lossy());
        let f = fsx::open(entry.path())?;
        let sum = sha256_reader(f).ctx("read", entry.path())?;
        files.push((name, sum));
    }
    hash1(files.iter().map(|(n, s)| (n.as_str(), *s)))
}

/// `prefix/rel` with Go `filepath.Join` semantics for the simple cases
/// here: an empty prefix contributes nothing, a trailing slash is not doubled.
fn slash_join(prefix: &str, rel: &str) -> String {
    let prefix = prefix.trim_end_matches('/');
    if prefix.is_empty() {
        rel.to_string()
    } else {
        format!("{prefix}/{rel}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn sha(data: &[u8]) -> [u8; 32] {
        Sha256::digest(data).into()
    }

    /// base64(sha256(s)) with an `h1:` prefix (dirhash_test.go `htop`).
    fn htop(s: &str) -> String {
        format!(
            "h1:{}",
            base64::engine::general_purpose::STANDARD.encode(sha(s.as_bytes()))
        )
    }

    fn summary(lines: &[(&str, &str)]) -> String {
        lines
            .iter()
            .map(|(name, data)| format!("{}  {name}\n", hex::encode(sha(data.as_bytes()))))
            .collect()
    }

    #[test]
    fn known_vectors() {
        assert_eq!(hash1([]).unwrap(), EMPTY_H1);
        assert_eq!(
            hash_go_mod(b""),
            "h1:G7mAYYxgmS0lVkHyy2hEOLQCFB0DlQFTMLWggykrydY="
        );
    }

    #[test]
    fn hash1_sorts_and_rejects_newlines() {
        let files = [("xyz", sha(b"data for xyz")), ("abc", sha(b"data for abc"))];
        let want = htop(&summary(&[
            ("abc", "data for abc"),
            ("xyz", "data for xyz"),
        ]));
        assert_eq!(hash1(files).unwrap(), want);
        let bad = [("xyz", sha(b"")), ("a\nbc", sha(b""))];
        assert!(matches!(hash1(bad), Err(ModError::NewlineInName { .. })));
    }

    #[test]
    fn hash1_byte_order() {
        // Upper case sorts before lower case; '/' (0x2f) before '0'.
        let files = [("a0", sha(b"1")), ("a/b", sha(b"2")), ("B", sha(b"3"))];
        let want = htop(&summary(&[("B", "3"), ("a/b", "2"), ("a0", "1")]));
        assert_eq!(hash1(files).unwrap(), want);
    }

    #[test]
    fn hash_dir_prefixes_names() {
        let dir = tempfile::tempdir().unwrap();
        fsx::write(dir.path().join("xyz"), "data for xyz").unwrap();
        fsx::create_dir(dir.path().join("sub")).unwrap();
        fsx::write(dir.path().join("sub/abc"), "data for abc").unwrap();
        let want = htop(&summary(&[
            ("prefix/sub/abc", "data for abc"),
            ("prefix/xyz", "data for xyz"),
        ]));
        assert_eq!(hash_dir(dir.path(), "prefix").unwrap(), want);
        assert!(hash_dir(&dir.path().join("xyz"), "p").is_err());
    }

    #[test]
    fn hash_zip_all_entries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("m.zip");
        let mut w = zip::ZipWriter::new(fsx::create(&path).unwrap());
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        w.start_file("prefix/xyz", opts).unwrap();
        w.write_all(b"data for xyz").unwrap();
        w.start_file("prefix/abc", opts).unwrap();
        w.write_all(b"data for abc").unwrap();
        w.add_directory("prefix/dir/", opts).unwrap();
        w.finish().unwrap();
        let want = htop(&summary(&[
            ("prefix/abc", "data for abc"),
            ("prefix/dir/", ""),
            ("prefix/xyz", "data for xyz"),
        ]));
        assert_eq!(hash_zip(&path).unwrap(), want);
    }
}
