//! The durable write-ahead journal: `journal/<id>.jsonl`, one JSON record
//! per line, each appended and fsynced before the step it describes. A torn
//! or zero-filled *last* record counts as never written; a bad line with
//! more data after it is damage, reported with its line number.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::undo::Undo;
use crate::fsx::{self, Context, File, ResultExt};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rec", rename_all = "snake_case")]
pub enum Record {
    /// First record: who started the transaction and what it was meant to do.
    Open {
        id: String,
        pid: u32,
        golock_version: String,
        /// Unix time (seconds) the transaction began.
        #[serde(default)]
        started: u64,
        plan: serde_json::Value,
    },
    /// About to perform step `seq`; `undo` reverses it whether or not it happened.
    Begin { seq: u64, undo: Undo },
    /// Step `seq` finished.
    Done { seq: u64 },
    /// Every step finished: recovery rolls forward (cleans up) instead of back.
    Commit,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum JournalError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Fs(#[from] fsx::FsError),
    #[error("the journal {} is larger than {MAX_JOURNAL_BYTES} bytes", path.display())]
    #[diagnostic(
        code(golock::txn::journal_too_large),
        help(
            "golock never writes a journal that large; inspect it, then `golock recover --discard`"
        )
    )]
    TooLarge { path: PathBuf },
}

/// No apply writes more than a few thousand small records.
pub const MAX_JOURNAL_BYTES: u64 = 64 << 20;

pub struct Journal {
    pub path: PathBuf,
    file: File,
}

impl Journal {
    /// Create `dir/<id>.jsonl` durably and write its `Open` record.
    pub fn create(dir: &Path, id: &str, open: &Record) -> Result<Journal, JournalError> {
        fsx::create_dir_all(dir)?;
        let path = dir.join(format!("{id}.jsonl"));
        let file = fsx::OpenOptions::new()
            .append(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .with_op("create journal")?;
        fsx::fsync_dir(dir)?;
        let mut journal = Journal { path, file };
        journal.append(open)?;
        Ok(journal)
    }

    pub fn append(&mut self, record: &Record) -> Result<(), JournalError> {
        let mut line = serde_json::to_vec(record).unwrap_or_default();
        line.push(b'\n');
        self.file
            .write_all(&line)
            .ctx("append to journal", &self.path)?;
        self.file.sync_data().ctx("sync journal", &self.path)?;
        Ok(())
    }
}

/// The journals left in `dir` (oldest first).
pub fn list(dir: &Path) -> Result<Vec<PathBuf>, JournalError> {
    let entries = match fsx::read_dir(dir).with_op("read journal dir") {
        Ok(e) => e,
        Err(e) if e.is_not_found() => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    found.sort();
    Ok(found)
}

/// A journal read back: its whole records with their line numbers, and the
/// lines that are damaged (not a record, and not a torn tail).
#[derive(Debug, Default, PartialEq)]
pub struct Parsed {
    pub records: Vec<(usize, Record)>,
    pub damage: Vec<(usize, String)>,
}

/// Read a journal (capped at [`MAX_JOURNAL_BYTES`]).
pub fn read(path: &Path) -> Result<Parsed, JournalError> {
    let file = match fsx::open(path).with_op("open journal") {
        Ok(f) => f,
        Err(e) if e.is_not_found() => return Ok(Parsed::default()),
        Err(e) => return Err(e.into()),
    };
    let mut bytes = Vec::new();
    file.take(MAX_JOURNAL_BYTES + 1)
        .read_to_end(&mut bytes)
        .ctx("read journal", path)?;
    if bytes.len() as u64 > MAX_JOURNAL_BYTES {
        return Err(JournalError::TooLarge {
            path: path.to_path_buf(),
        });
    }
    Ok(parse(&bytes))
}

/// Appends are fsynced one by one, so only the last line can be torn: cut
/// short (no newline yet) or zero-filled (the size reached the disk, the
/// data did not). Any other line that is not a record is damage.
pub fn parse(bytes: &[u8]) -> Parsed {
    let mut parsed = Parsed::default();
    let mut offset = 0;
    for (i, line) in bytes.split_inclusive(|&b| b == b'\n').enumerate() {
        let rest = &bytes[offset..];
        offset += line.len();
        let body = line.strip_suffix(b"\n");
        if let Some(record) = body.and_then(|b| serde_json::from_slice::<Record>(b).ok()) {
            parsed.records.push((i + 1, record));
            continue;
        }
        if is_torn_tail(rest) {
            break;
        }
        let why = match body.map(serde_json::from_slice::<Record>) {
            None => "the line has no end, and more data follows it".to_string(),
            Some(Err(e)) => format!("not a journal record: {e}"),
            Some(Ok(_)) => unreachable!("parsed above"),
        };
        parsed.damage.push((i + 1, why));
    }
    parsed
}

/// `rest` (from a bad line to the end of the file) is what a crash in the
/// middle of the last append leaves: zeros, or one unterminated start of a record.
fn is_torn_tail(rest: &[u8]) -> bool {
    if rest.iter().all(|&b| b == 0 || b == b'\n') {
        return true;
    }
    const START: &[u8] = b"{\"rec\":";
    let unterminated = !rest.contains(&b'\n');
    unterminated && (rest.starts_with(START) || START.starts_with(rest))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(seq: u64) -> Vec<u8> {
        let mut v = serde_json::to_vec(&Record::Done { seq }).unwrap();
        v.push(b'\n');
        v
    }

    fn records(bytes: &[u8]) -> Vec<Record> {
        let parsed = parse(bytes);
        assert_eq!(parsed.damage, vec![], "unexpected damage");
        parsed.records.into_iter().map(|(_, r)| r).collect()
    }

    #[test]
    fn torn_last_record_is_ignored() {
        let mut bytes = done(1);
        let second = done(2);
        bytes.extend_from_slice(&second[..second.len() - 3]);
        assert_eq!(records(&bytes), vec![Record::Done { seq: 1 }]);
    }

    #[test]
    fn zero_filled_tail_is_ignored() {
        let mut bytes = done(1);
        bytes.extend_from_slice(&[0u8; 64]);
        assert_eq!(records(&bytes), vec![Record::Done { seq: 1 }]);
        let mut bytes = done(1);
        bytes.extend_from_slice(&[0u8; 7]);
        bytes.push(b'\n');
        assert_eq!(records(&bytes), vec![Record::Done { seq: 1 }]);
    }

    #[test]
    fn a_bad_line_followed_by_more_is_damage() {
        let mut bytes = done(1);
        bytes.extend(b"{\"rec\":\"begin\",\"seq\":2,\"und\n");
        bytes.extend(done(3));
        let parsed = parse(&bytes);
        assert_eq!(parsed.damage.len(), 1);
        assert_eq!(parsed.damage[0].0, 2);
        assert_eq!(parsed.records.len(), 2);
        assert_eq!(parsed.records[1], (3, Record::Done { seq: 3 }));
    }

    #[test]
    fn garbage_is_damage_even_as_the_last_line() {
        assert_eq!(parse(b"garbage\n").damage.len(), 1);
        assert_eq!(parse(b"garbage").damage.len(), 1);
        assert_eq!(parse(b"{\"rec\":\"nonsense\"}\n").damage.len(), 1);
    }

    #[test]
    fn whole_records_round_trip() {
        let mut bytes = done(1);
        bytes.extend(done(2));
        bytes.extend(b"{\"rec\":\"commit\"}\n");
        assert_eq!(
            records(&bytes),
            vec![
                Record::Done { seq: 1 },
                Record::Done { seq: 2 },
                Record::Commit
            ]
        );
    }
}
