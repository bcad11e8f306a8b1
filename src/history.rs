//! The audit history, `<root>/history.jsonl`: one JSON line per apply,
//! recover, uninstall or rollback that changed the host (or tried to and
//! rolled back). A line is appended with one `write(2)` on an `O_APPEND`
//! descriptor, then fsynced, so concurrent or interrupted writers never
//! interleave; a crash mid-write leaves at most a torn last line.
//!
//! The file is untrusted when read back: the read is capped (its last
//! [`MAX_READ`] bytes), and a line that is torn, too long, not JSON or not
//! a valid record is skipped with a warning rather than failing the reader.
//! Also here: the lockfiles kept content-addressed under `<root>/lockfiles/`
//! for each successful apply, and their retention.

use std::io::{Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::fsx::{self, Context as _};

/// The longest line golock writes or reads back.
pub const MAX_LINE: usize = 64 * 1024;
/// How much of the end of the file a reader looks at.
pub const MAX_READ: u64 = 8 * 1024 * 1024;
/// How many kept lockfiles retention leaves by default.
pub const DEFAULT_KEEP: usize = 20;
/// The commands that write history.
pub const COMMANDS: &[&str] = &["apply", "recover", "uninstall", "rollback"];

/// One history line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// 1 for the first entry, then one more than the last one readable.
    pub id: u64,
    /// RFC 3339, UTC: `2026-12-04T18:41:17Z`.
    pub time: String,
    pub command: String,
    pub user: User,
    pub host: String,
    pub golock_version: String,
    pub lockfile: Option<LockfileRef>,
    pub actions: Vec<ActionResult>,
    /// Actions left out to keep the line under [`MAX_LINE`].
    #[serde(default, skip_serializing_if = "is_zero")]
    pub actions_omitted: usize,
    /// `ok`, `rolled back`, `interrupted` or `failed`.
    pub status: String,
    pub exit_code: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct User {
    pub uid: u32,
    pub name: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LockfileRef {
    pub path: PathBuf,
    pub sha256: String,
}

/// One planned action (its plan line) and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionResult {
    pub action: String,
    /// `done` or `rolled back`.
    pub result: String,
}

pub const OK: &str = "ok";
pub const ROLLED_BACK: &str = "rolled back";
pub const INTERRUPTED: &str = "interrupted";
pub const FAILED: &str = "failed";

/// What happened, for a new entry.
pub struct Outcome<'a> {
    pub command: &'a str,
    pub lockfile: Option<LockfileRef>,
    /// Each action's plan line.
    pub actions: Vec<String>,
    pub status: &'static str,
    pub exit_code: u8,
    pub error: Option<String>,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum HistoryError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Fs(#[from] fsx::FsError),
    #[error("{}: wrote {written} of {len} bytes of a history line", path.display())]
    #[diagnostic(code(golock::history::short_write))]
    ShortWrite {
        path: PathBuf,
        written: usize,
        len: usize,
    },
}

/// Append the entry for `outcome` to `file` (the next id after `last`).
pub fn append(file: &Path, outcome: Outcome<'_>, last: Option<u64>) -> Result<Entry, HistoryError> {
    let result = |status: &str| {
        if status == OK { "done" } else { ROLLED_BACK }
    };
    let mut entry = Entry {
        id: last.map_or(1, |id| id + 1),
        time: rfc3339(now_secs()),
        command: outcome.command.to_string(),
        user: current_user(),
        host: host_name(),
        golock_version: env!("CARGO_PKG_VERSION").to_string(),
        lockfile: outcome.lockfile,
        actions: outcome
            .actions
            .into_iter()
            .map(|action| ActionResult {
                action: clip(&action, 1024),
                result: result(outcome.status).to_string(),
            })
            .collect(),
        actions_omitted: 0,
        status: outcome.status.to_string(),
        exit_code: outcome.exit_code,
        error: outcome.error.map(|e| clip(&e, 8 * 1024)),
    };
    let line = fitted_line(&mut entry);
    write_line(file, &line)?;
    Ok(entry)
}

/// The entry as one line under [`MAX_LINE`], dropping actions from the end
/// (counted in `actions_omitted`) until it fits.
fn fitted_line(entry: &mut Entry) -> Vec<u8> {
    loop {
        let mut line = serde_json::to_vec(entry).unwrap_or_default();
        line.push(b'\n');
        if line.len() <= MAX_LINE || entry.actions.is_empty() {
            return line;
        }
        let drop = entry.actions.len().div_ceil(2);
        entry.actions.truncate(entry.actions.len() - drop);
        entry.actions_omitted += drop;
    }
}

fn clip(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// One `write(2)` of the whole line on an `O_APPEND` descriptor, then
/// fsync. After a torn last line (no newline at the end), the line starts
/// with one, so it stays a line of its own.
fn write_line(file: &Path, line: &[u8]) -> Result<(), HistoryError> {
    let mut f = fsx::OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(0o644)
        .open(file)?;
    let len = f.metadata().ctx("stat", file)?.len();
    let mut last = [b'\n'];
    if len > 0 {
        f.read_exact_at(&mut last, len - 1).ctx("read", file)?;
    }
    let line: std::borrow::Cow<[u8]> = if last[0] == b'\n' {
        line.into()
    } else {
        [b"\n", line].concat().into()
    };
    let written = f.write(&line).ctx("append to", file)?;
    if written != line.len() {
        return Err(HistoryError::ShortWrite {
            path: file.to_path_buf(),
            written,
            len: line.len(),
        });
    }
    f.sync_all().ctx("fsync", file)?;
    Ok(())
}

/// The entries readable from `file`, oldest first, and why any were skipped.
#[derive(Debug, Default)]
pub struct History {
    pub entries: Vec<Entry>,
    pub warnings: Vec<String>,
}

impl History {
    pub fn last_id(&self) -> Option<u64> {
        self.entries.iter().map(|e| e.id).max()
    }
}

/// Read `file` (absent: empty), at most its last [`MAX_READ`] bytes.
pub fn read(file: &Path) -> Result<History, fsx::FsError> {
    read_tail(file, MAX_READ)
}

/// Read the last `cap` bytes of `file`: the entries whole in them.
pub fn read_tail(file: &Path, cap: u64) -> Result<History, fsx::FsError> {
    let mut history = History::default();
    let Some(mut f) = open_opt(file)? else {
        return Ok(history);
    };
    let len = f.metadata().ctx("stat", file)?.len();
    let start = len.saturating_sub(cap);
    if start > 0 {
        f.seek(SeekFrom::Start(start)).ctx("seek", file)?;
        history.warnings.push(format!(
            "{} is {len} bytes: only its last {cap} are read",
            file.display()
        ));
    }
    let mut bytes = Vec::new();
    f.take(cap).read_to_end(&mut bytes).ctx("read", file)?;
    let mut lines: Vec<&[u8]> = bytes.split(|&b| b == b'\n').collect();
    if start > 0 && !lines.is_empty() {
        lines.remove(0); // the rest of a line that began before the cut
    }
    let torn = lines.pop().filter(|rest| !rest.is_empty());
    for line in lines {
        match parse(line) {
            Ok(entry) => history.entries.push(entry),
            Err(why) => history
                .warnings
                .push(format!("{}: a line skipped: {why}", file.display())),
        }
    }
    if torn.is_some() {
        history.warnings.push(format!(
            "{}: its last line is incomplete (a write cut short), skipped",
            file.display()
        ));
    }
    Ok(history)
}

fn open_opt(file: &Path) -> Result<Option<fsx::File>, fsx::FsError> {
    match fsx::open(file) {
        Ok(f) => Ok(Some(f)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// One line as an entry, checked: it is untrusted input.
fn parse(line: &[u8]) -> Result<Entry, String> {
    if line.len() > MAX_LINE {
        return Err(format!("longer than {MAX_LINE} bytes"));
    }
    let entry: Entry =
        serde_json::from_slice(line).map_err(|e| format!("not a history record ({e})"))?;
    if entry.id == 0 {
        return Err("id 0".to_string());
    }
    if !COMMANDS.contains(&entry.command.as_str()) {
        return Err(format!("unknown command {:?}", entry.command));
    }
    if ![OK, ROLLED_BACK, INTERRUPTED, FAILED].contains(&entry.status.as_str()) {
        return Err(format!("unknown status {:?}", entry.status));
    }
    if let Some(lock) = &entry.lockfile
        && !is_sha256(&lock.sha256)
    {
        return Err(format!(
            "lockfile sha256 {:?} is not 64 hex digits",
            lock.sha256
        ));
    }
    Ok(entry)
}

pub fn is_sha256(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Keep `bytes` (the applied golock.toml) as `<dir>/<sha256>.toml`, then
/// remove kept lockfiles beyond the `keep` most recently applied ones
/// (`recent`: their sha256, newest first). Only files that are golock's
/// are removed: named `<sha256>.toml` and holding bytes with that sha256.
pub fn keep_lockfile(
    dir: &Path,
    bytes: &[u8],
    recent: &[String],
    keep: usize,
) -> Result<String, fsx::FsError> {
    let sha = hex::encode(Sha256::digest(bytes));
    let path = dir.join(format!("{sha}.toml"));
    if !path.is_file() {
        fsx::create_dir_all(dir)?;
        let temp = fsx::sibling_temp(&path, &format!("new-{}", std::process::id()));
        fsx::remove_file_opt(&temp)?;
        fsx::write_new_file(&temp, bytes, 0o644)?;
        fsx::rename_durable(&temp, &path)?;
    }
    let mut kept: Vec<&str> = vec![sha.as_str()];
    for other in recent {
        if kept.len() >= keep.max(1) {
            break;
        }
        if !kept.contains(&other.as_str()) {
            kept.push(other);
        }
    }
    for entry in fsx::read_dir(dir)?.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(stem) = name.strip_suffix(".toml") else {
            continue;
        };
        if !is_sha256(stem) || kept.contains(&stem) {
            continue;
        }
        let file = entry.path();
        let is_ours = fsx::symlink_metadata(&file).is_ok_and(|m| m.is_file())
            && fsx::sha256_file(&file).is_ok_and(|(got, _)| got == stem);
        if is_ours {
            fsx::remove_file_opt(&file)?;
        }
    }
    Ok(sha)
}

/// A kept lockfile larger than this is not one golock wrote (a golock.toml
/// locking 100,000 modules is ~15 MB).
const MAX_KEPT_LOCKFILE: u64 = 64 << 20;

/// The bytes of the kept lockfile for `sha256`, if it is there and holds
/// exactly those bytes: read once (capped) and hashed, so what is checked
/// is what is used.
pub fn kept_lockfile(dir: &Path, sha256: &str) -> Option<Vec<u8>> {
    if !is_sha256(sha256) {
        return None;
    }
    let path = dir.join(format!("{sha256}.toml"));
    let bytes = fsx::read_capped_opt(&path, MAX_KEPT_LOCKFILE).ok()??;
    (hex::encode(Sha256::digest(&bytes)) == sha256).then_some(bytes)
}

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `2026-12-04T18:41:17Z`.
pub fn rfc3339(secs: u64) -> String {
    let (year, month, day) = crate::civil::civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn current_user() -> User {
    // SAFETY: getuid cannot fail and takes no arguments.
    let uid = unsafe { libc::getuid() };
    User {
        uid,
        name: user_name(uid),
    }
}

/// The passwd entry's name for `uid` (`getpwuid_r`), if there is one.
fn user_name(uid: u32) -> Option<String> {
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    // SAFETY: an all-zero passwd is a valid value for an out parameter.
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut found: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call and buf's length is
    // passed; on success pw_name points into buf, which outlives its use.
    let rc = unsafe { libc::getpwuid_r(uid, &mut pwd, buf.as_mut_ptr(), buf.len(), &mut found) };
    if rc != 0 || found.is_null() || pwd.pw_name.is_null() {
        return None;
    }
    // SAFETY: getpwuid_r succeeded, so pw_name is a NUL-terminated string in buf.
    let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
    Some(name.to_string_lossy().into_owned())
}

fn host_name() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: buf is valid for buf.len() bytes.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "unknown".to_string();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

#[cfg(test)]
// Tests damage and inspect the file directly, not through fsx.
#[allow(clippy::disallowed_methods, clippy::disallowed_types)]
mod tests {
    use super::*;

    fn outcome(actions: Vec<String>) -> Outcome<'static> {
        Outcome {
            command: "apply",
            lockfile: Some(LockfileRef {
                path: "/repo/golock.toml".into(),
                sha256: "a".repeat(64),
            }),
            actions,
            status: OK,
            exit_code: 0,
            error: None,
        }
    }

    #[test]
    fn entries_read_back_with_increasing_ids() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("history.jsonl");
        let first = append(&file, outcome(vec!["+ install go1.27.3".into()]), None).unwrap();
        let second = append(&file, outcome(vec![]), Some(first.id)).unwrap();
        let history = read(&file).unwrap();
        assert_eq!(history.entries, vec![first, second]);
        assert!(history.warnings.is_empty());
        assert_eq!(history.last_id(), Some(2));
        assert_eq!(history.entries[0].actions[0].result, "done");
        assert!(history.entries[0].time.ends_with('Z'));
    }

    #[test]
    fn a_torn_last_line_and_garbage_are_skipped_with_warnings() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("history.jsonl");
        let first = append(&file, outcome(vec![]), None).unwrap();
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(&file)
            .unwrap();
        f.write_all(b"garbage\n{\"id\":0}\n{\"id\":3,\"time\":\"")
            .unwrap();
        let history = read(&file).unwrap();
        assert_eq!(history.entries, vec![first]);
        assert_eq!(history.warnings.len(), 3, "{:?}", history.warnings);
        assert!(history.warnings[2].contains("incomplete"));
    }

    #[test]
    fn an_overlong_file_is_read_from_its_end() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("history.jsonl");
        let mut junk = vec![b'x'; MAX_READ as usize + 10];
        junk.push(b'\n');
        std::fs::write(&file, &junk).unwrap();
        let last = append(&file, outcome(vec![]), Some(41)).unwrap();
        let history = read(&file).unwrap();
        assert_eq!(history.entries, vec![last]);
        assert!(history.warnings[0].contains("only its last"));
    }

    #[test]
    fn a_huge_plan_is_cut_to_fit_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("history.jsonl");
        let actions = (0..5000)
            .map(|i| format!("+ module example.com/m{i}@v1.0.0"))
            .collect();
        let entry = append(&file, outcome(actions), None).unwrap();
        assert!(entry.actions_omitted > 0);
        assert_eq!(entry.actions.len() + entry.actions_omitted, 5000);
        let bytes = std::fs::read(&file).unwrap();
        assert!(bytes.len() <= MAX_LINE);
        assert_eq!(read(&file).unwrap().entries, vec![entry]);
    }

    #[test]
    fn retention_removes_only_golocks_own_old_lockfiles() {
        let dir = tempfile::tempdir().unwrap();
        let kept = dir.path().join("lockfiles");
        let mut recent: Vec<String> = Vec::new();
        for i in 0..4 {
            let sha = keep_lockfile(&kept, format!("v{i}").as_bytes(), &recent, 2).unwrap();
            recent.insert(0, sha);
        }
        // Not golock's: a name that is not a sha256, a sha256 name with other bytes.
        std::fs::write(kept.join("notes.toml"), "mine").unwrap();
        let fake = format!("{}.toml", "0".repeat(64));
        std::fs::write(kept.join(&fake), "mine").unwrap();
        let sha = keep_lockfile(&kept, b"v4", &recent, 2).unwrap();
        let mut names: Vec<String> = std::fs::read_dir(&kept)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        let mut want = vec![
            format!("{sha}.toml"),
            format!("{}.toml", recent[0]),
            fake,
            "notes.toml".to_string(),
        ];
        want.sort();
        assert_eq!(names, want);
        assert!(kept_lockfile(&kept, &sha).is_some());
        assert!(kept_lockfile(&kept, &"0".repeat(64)).is_none());
    }

    #[test]
    fn rfc3339_is_utc() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_796_300_000), "2026-12-03T12:13:20Z");
    }
}
