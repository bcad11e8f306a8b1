//! The one door to the filesystem: every other module reaches the host
//! through these functions (`clippy.toml` bans `std::fs` elsewhere), so every
//! failure names its operation and path ([`FsError`]). Besides thin wrappers
//! of `std::fs`, it owns the primitives every mutation is built from: durable
//! atomic writes, renames made durable by syncing the parent directory,
//! symlink switching, and tree removal that copes with read-only dirs.

// The door itself is the one place the raw calls are allowed.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use std::ffi::OsString;
use std::fs;
use std::io::{self, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

pub use std::fs::{DirEntry, File, FileType, Metadata, Permissions};

/// An I/O failure with the operation and the path it concerned.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("cannot {op} {}: {source}", path.display())]
#[diagnostic(code(golock::fs))]
pub struct FsError {
    pub op: &'static str,
    pub path: PathBuf,
    #[source]
    pub source: io::Error,
}

impl FsError {
    pub fn new(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        FsError {
            op,
            path: path.into(),
            source,
        }
    }

    pub fn kind(&self) -> io::ErrorKind {
        self.source.kind()
    }

    pub fn is_not_found(&self) -> bool {
        self.kind() == io::ErrorKind::NotFound
    }
}

pub type Result<T> = std::result::Result<T, FsError>;

/// Attach `op` and `path` to an `io::Result` (for I/O on an open handle).
pub trait Context<T> {
    fn ctx(self, op: &'static str, path: &Path) -> Result<T>;
}

impl<T> Context<T> for io::Result<T> {
    fn ctx(self, op: &'static str, path: &Path) -> Result<T> {
        self.map_err(|source| FsError::new(op, path, source))
    }
}

/// Adapters for the results of this module's functions.
pub trait ResultExt<T> {
    /// `Ok(None)` when the path does not exist.
    fn not_found_ok(self) -> Result<Option<T>>;
    /// Name the failed operation `op` in the message instead of the default.
    fn with_op(self, op: &'static str) -> Result<T>;
}

impl<T> ResultExt<T> for Result<T> {
    fn not_found_ok(self) -> Result<Option<T>> {
        match self {
            Ok(v) => Ok(Some(v)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn with_op(self, op: &'static str) -> Result<T> {
        self.map_err(|e| FsError { op, ..e })
    }
}

fn at<T>(op: &'static str, path: &Path, r: io::Result<T>) -> Result<T> {
    r.ctx(op, path)
}

pub fn read(path: impl AsRef<Path>) -> Result<Vec<u8>> {
    let path = path.as_ref();
    at("read", path, fs::read(path))
}

/// Read a file of at most `max` bytes; a longer one is an error
/// (`FileTooLarge`), found without reading past the cap.
pub fn read_capped(path: impl AsRef<Path>, max: u64) -> Result<Vec<u8>> {
    use std::io::Read;
    let path = path.as_ref();
    let file = at("open", path, fs::File::open(path))?;
    let mut bytes = Vec::new();
    at("read", path, file.take(max + 1).read_to_end(&mut bytes))?;
    if bytes.len() as u64 > max {
        return Err(FsError::new(
            "read",
            path,
            io::Error::new(
                io::ErrorKind::FileTooLarge,
                format!("larger than {max} bytes"),
            ),
        ));
    }
    Ok(bytes)
}

/// [`read_capped`], `None` when the file does not exist.
pub fn read_capped_opt(path: &Path, max: u64) -> Result<Option<Vec<u8>>> {
    read_capped(path, max).not_found_ok()
}

pub fn read_to_string(path: impl AsRef<Path>) -> Result<String> {
    let path = path.as_ref();
    at("read", path, fs::read_to_string(path))
}

/// Write `bytes` to `path` in place (not atomic: for files a user asked
/// for, such as `plan --out`; installed files use [`replace_file`]).
pub fn write(path: impl AsRef<Path>, bytes: impl AsRef<[u8]>) -> Result<()> {
    let path = path.as_ref();
    at("write", path, fs::write(path, bytes))
}

pub fn metadata(path: impl AsRef<Path>) -> Result<Metadata> {
    let path = path.as_ref();
    at("stat", path, fs::metadata(path))
}

pub fn symlink_metadata(path: impl AsRef<Path>) -> Result<Metadata> {
    let path = path.as_ref();
    at("stat", path, fs::symlink_metadata(path))
}

pub fn read_link(path: impl AsRef<Path>) -> Result<PathBuf> {
    let path = path.as_ref();
    at("read link", path, fs::read_link(path))
}

pub fn canonicalize(path: impl AsRef<Path>) -> Result<PathBuf> {
    let path = path.as_ref();
    at("resolve", path, fs::canonicalize(path))
}

/// The entries of a directory; each entry's error names the directory.
pub fn read_dir(path: impl AsRef<Path>) -> Result<ReadDir> {
    let path = path.as_ref();
    let inner = at("read directory", path, fs::read_dir(path))?;
    Ok(ReadDir {
        inner,
        path: path.to_path_buf(),
    })
}

/// Iterator of [`read_dir`].
pub struct ReadDir {
    inner: fs::ReadDir,
    path: PathBuf,
}

impl Iterator for ReadDir {
    type Item = Result<DirEntry>;

    fn next(&mut self) -> Option<Self::Item> {
        let entry = self.inner.next()?;
        Some(entry.ctx("read directory", &self.path))
    }
}

pub fn set_permissions(path: impl AsRef<Path>, perms: Permissions) -> Result<()> {
    let path = path.as_ref();
    at("set mode of", path, fs::set_permissions(path, perms))
}

/// `chmod`: set the permission bits of `path` to `mode`.
pub fn set_mode(path: impl AsRef<Path>, mode: u32) -> Result<()> {
    set_permissions(path, Permissions::from_mode(mode))
}

pub fn create_dir(path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    at("create directory", path, fs::create_dir(path))
}

/// Create one directory with `mode` (narrowed by the umask, as `mkdir(2)`).
pub fn create_dir_with_mode(path: impl AsRef<Path>, mode: u32) -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    let path = path.as_ref();
    let made = fs::DirBuilder::new().mode(mode).create(path);
    at("create directory", path, made)
}

pub fn create_dir_all(path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    at("create directory", path, fs::create_dir_all(path))
}

pub fn remove_dir(path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    at("remove", path, fs::remove_dir(path))
}

/// Remove a tree as `std::fs::remove_dir_all`; [`remove_tree_opt`] also
/// copes with read-only directories.
pub fn remove_dir_all(path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    at("remove", path, fs::remove_dir_all(path))
}

pub fn remove_file(path: impl AsRef<Path>) -> Result<()> {
    let path = path.as_ref();
    at("remove", path, fs::remove_file(path))
}

/// `rename(2)`, not made durable (see [`rename_durable`]); errors name `to`.
pub fn rename(from: impl AsRef<Path>, to: impl AsRef<Path>) -> Result<()> {
    let to = to.as_ref();
    at("rename into place", to, fs::rename(from, to))
}

/// Open an existing file for reading.
pub fn open(path: impl AsRef<Path>) -> Result<File> {
    let path = path.as_ref();
    at("open", path, File::open(path))
}

/// Create or truncate a file for writing.
pub fn create(path: impl AsRef<Path>) -> Result<File> {
    let path = path.as_ref();
    at("create", path, File::create(path))
}

/// `std::fs::OpenOptions` whose `open` names the path in its error.
#[derive(Clone, Debug)]
pub struct OpenOptions(fs::OpenOptions);

impl Default for OpenOptions {
    fn default() -> Self {
        Self::new()
    }
}

impl OpenOptions {
    pub fn new() -> Self {
        OpenOptions(fs::OpenOptions::new())
    }

    pub fn read(&mut self, yes: bool) -> &mut Self {
        self.0.read(yes);
        self
    }

    pub fn write(&mut self, yes: bool) -> &mut Self {
        self.0.write(yes);
        self
    }

    pub fn append(&mut self, yes: bool) -> &mut Self {
        self.0.append(yes);
        self
    }

    pub fn truncate(&mut self, yes: bool) -> &mut Self {
        self.0.truncate(yes);
        self
    }

    pub fn create(&mut self, yes: bool) -> &mut Self {
        self.0.create(yes);
        self
    }

    pub fn create_new(&mut self, yes: bool) -> &mut Self {
        self.0.create_new(yes);
        self
    }

    /// The mode of a file this call creates (narrowed by the umask).
    pub fn mode(&mut self, mode: u32) -> &mut Self {
        self.0.mode(mode);
        self
    }

    pub fn custom_flags(&mut self, flags: i32) -> &mut Self {
        self.0.custom_flags(flags);
        self
    }

    /// Open `path`; a failure is reported as "cannot open <path>".
    pub fn open(&self, path: impl AsRef<Path>) -> Result<File> {
        let path = path.as_ref();
        at("open", path, self.0.open(path))
    }
}

/// A sibling path of `target` that no other writer uses: `.name.golock-<tag>`.
pub fn sibling_temp(target: &Path, tag: &str) -> PathBuf {
    let mut name = OsString::from(".");
    name.push(target.file_name().unwrap_or_default());
    name.push(format!(".golock-{tag}"));
    target.with_file_name(name)
}

pub fn parent_of(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

/// Fsync a directory so that renames and creations inside it are durable.
pub fn fsync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .ctx("sync directory", dir)
}

/// Flush every dirty page of the filesystem holding `path` in one call: the
/// batch alternative to fsyncing thousands of freshly extracted files.
pub fn sync_filesystem(path: &Path) -> Result<()> {
    let dir = File::open(path).ctx("open", path)?;
    #[cfg(target_os = "linux")]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: syncfs only reads the descriptor, which `dir` keeps open.
        if unsafe { libc::syncfs(dir.as_raw_fd()) } != 0 {
            return Err(io::Error::last_os_error()).ctx("sync filesystem of", path);
        }
        Ok(())
    }
    #[cfg(not(target_os = "linux"))]
    {
        dir.sync_all().ctx("sync", path)
    }
}

/// Bytes an unprivileged writer may still use on the filesystem of `path`
/// (statvfs `f_bavail`), when it can be told.
pub fn free_bytes(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let c_path = std::ffi::CString::new(path.as_os_str().as_bytes()).ok()?;
    // SAFETY: `c_path` is NUL-terminated; statvfs fills `vfs` before it is read.
    let mut vfs: libc::statvfs = unsafe { std::mem::zeroed() };
    if unsafe { libc::statvfs(c_path.as_ptr(), &mut vfs) } != 0 {
        return None;
    }
    #[allow(clippy::useless_conversion)] // the field types differ between platforms
    Some(u64::from(vfs.f_bavail).saturating_mul(u64::from(vfs.f_frsize)))
}

/// Write `bytes` to a new file `temp` with `mode`, fsynced. Fails if `temp` exists.
pub fn write_new_file(temp: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    let mut f = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(temp)
        .with_op("create")?;
    f.write_all(bytes).ctx("write", temp)?;
    // The umask may have narrowed `mode`; an existing file's mode is kept exactly.
    f.set_permissions(fs::Permissions::from_mode(mode))
        .ctx("set mode of", temp)?;
    f.sync_all().ctx("sync", temp)
}

/// Give `path` the owner of `like`, when we are allowed to (root rewriting a user's file).
pub fn copy_owner(path: &Path, like: &fs::Metadata) -> Result<()> {
    let current = fs::symlink_metadata(path).ctx("stat", path)?;
    if current.uid() == like.uid() && current.gid() == like.gid() {
        return Ok(());
    }
    std::os::unix::fs::lchown(path, Some(like.uid()), Some(like.gid())).ctx("chown", path)
}

/// `rename(2)` then fsync of the destination's directory.
pub fn rename_durable(from: &Path, to: &Path) -> Result<()> {
    fs::rename(from, to).ctx("rename into place", to)?;
    fsync_dir(parent_of(to))
}

/// Create a symlink at `at` pointing to `target`, replacing nothing.
pub fn symlink(target: impl AsRef<Path>, at: impl AsRef<Path>) -> Result<()> {
    let at = at.as_ref();
    std::os::unix::fs::symlink(target, at).ctx("create link", at)
}

pub fn read_link_opt(path: &Path) -> Result<Option<PathBuf>> {
    match fs::read_link(path) {
        Ok(t) => Ok(Some(t)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) if e.kind() == io::ErrorKind::InvalidInput => Ok(None),
        Err(e) => Err(e).ctx("read link", path),
    }
}

pub fn read_opt(path: &Path) -> Result<Option<Vec<u8>>> {
    read(path).not_found_ok()
}

/// What `path` is (following links), `None` when nothing is there.
pub fn metadata_opt(path: &Path) -> Result<Option<fs::Metadata>> {
    match fs::metadata(path) {
        Ok(m) => Ok(Some(m)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).ctx("read metadata of", path),
    }
}

pub fn exists_no_follow(path: &Path) -> bool {
    fs::symlink_metadata(path).is_ok()
}

/// Remove a file or link if present.
pub fn remove_file_opt(path: &Path) -> Result<()> {
    remove_file(path).not_found_ok().map(drop)
}

/// Remove a directory tree if present, first making read-only dirs writable
/// (the Go module cache and some toolchains are installed read-only).
pub fn remove_tree_opt(path: &Path) -> Result<()> {
    match fs::symlink_metadata(path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e).ctx("stat", path),
        Ok(m) if !m.is_dir() => return remove_file_opt(path),
        Ok(_) => {}
    }
    if fs::remove_dir_all(path).is_ok() {
        return Ok(());
    }
    make_dirs_writable(path)?;
    fs::remove_dir_all(path).ctx("remove", path)
}

fn make_dirs_writable(path: &Path) -> Result<()> {
    for entry in walkdir::WalkDir::new(path).follow_links(false) {
        let entry = entry.map_err(|e| FsError::new("walk", path, e.into()))?;
        if entry.file_type().is_dir() {
            let p = entry.path();
            let mode = entry.metadata().map(|m| m.mode()).unwrap_or(0o755);
            fs::set_permissions(p, fs::Permissions::from_mode((mode & 0o7777) | 0o700))
                .ctx("make writable", p)?;
        }
    }
    Ok(())
}

/// Whether `dir` has a default ACL (or that cannot be told): new files in
/// it then get their mode from the ACL rather than from the umask.
pub fn has_default_acl(dir: &Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(path) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return true;
    };
    // SAFETY: both strings are NUL-terminated; a null buffer of size 0
    // only asks for the attribute's size.
    let got = unsafe {
        libc::getxattr(
            path.as_ptr(),
            c"system.posix_acl_default".as_ptr(),
            std::ptr::null_mut(),
            0,
        )
    };
    if got >= 0 {
        return true;
    }
    let errno = io::Error::last_os_error().raw_os_error();
    !matches!(errno, Some(libc::ENODATA) | Some(libc::ENOTSUP))
}

/// The process umask, read without changing it for longer than one call pair.
pub fn umask() -> u32 {
    // SAFETY: umask has no failure mode; we restore the value at once.
    unsafe {
        let old = libc::umask(0o022);
        libc::umask(old);
        old as u32
    }
}

/// Replace a file the user owns (golock.toml) atomically: temp file beside
/// it with the same mode, fsync, rename, fsync of the directory.
pub fn replace_file(path: &Path, bytes: &[u8]) -> Result<()> {
    let mode = fs::metadata(path)
        .map(|m| m.mode() & 0o7777)
        .unwrap_or(0o644);
    let temp = sibling_temp(path, &format!("new-{}", std::process::id()));
    remove_file_opt(&temp)?;
    write_new_file(&temp, bytes, mode)?;
    rename_durable(&temp, path)
}

/// sha256 (hex) and size of a file, in one read.
pub fn sha256_file(path: &Path) -> Result<(String, u64)> {
    use sha2::{Digest, Sha256};
    let mut file = File::open(path).ctx("open", path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    let mut size = 0u64;
    loop {
        let n = io::Read::read(&mut file, &mut buf).ctx("read", path)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((hex::encode(hasher.finalize()), size))
}

/// A directory held open, so that many paths below it can be stat'ed
/// without the kernel walking the directory's own path again for each (a
/// no-op plan stats one directory per locked module).
pub struct OpenDir {
    dir: File,
}

/// What [`OpenDir::stat`] tells of a directory: enough to notice that its
/// entries changed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DirStat {
    pub dev: u64,
    pub ino: u64,
    pub mtime_ns: i128,
    pub ctime_ns: i128,
}

impl OpenDir {
    pub fn open(path: &Path) -> Result<OpenDir> {
        let dir = fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_DIRECTORY)
            .open(path)
            .ctx("open directory", path)?;
        Ok(OpenDir { dir })
    }

    /// `rel` (relative, symlinks followed as `stat` does), if it is a
    /// directory that can be stat'ed.
    pub fn stat_dir(&self, rel: &str) -> Option<DirStat> {
        use std::os::fd::AsRawFd;
        if rel.starts_with('/') {
            return None;
        }
        let c_rel = std::ffi::CString::new(rel).ok()?;
        // SAFETY: `c_rel` is NUL-terminated, `self.dir` keeps the descriptor
        // open, and fstatat fills `st` before it is read.
        let mut st: libc::stat = unsafe { std::mem::zeroed() };
        if unsafe { libc::fstatat(self.dir.as_raw_fd(), c_rel.as_ptr(), &mut st, 0) } != 0 {
            return None;
        }
        #[allow(clippy::unnecessary_cast, clippy::useless_conversion)]
        // types differ between platforms
        let stat = DirStat {
            dev: st.st_dev as u64,
            ino: st.st_ino as u64,
            mtime_ns: i128::from(st.st_mtime) * 1_000_000_000 + i128::from(st.st_mtime_nsec),
            ctime_ns: i128::from(st.st_ctime) * 1_000_000_000 + i128::from(st.st_ctime_nsec),
        };
        (st.st_mode & libc::S_IFMT == libc::S_IFDIR).then_some(stat)
    }
}
