//! The durable write-ahead journal: `journal/<id>.jsonl`, one JSON record
//! per line, each appended and fsynced before the step it describes. A torn
//! or zero-filled last record counts as never written.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::transaction::Undo;
use crate::fsx::{self, Context};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "rec", rename_all = "snake_case")]
pub enum Record {
    /// First record: who started the transaction and what it was meant to do.
    Open {
        id: String,
        pid: u32,
        golock_version: String,
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
}

pub struct Journal {
    pub path: PathBuf,
    file: File,
}

impl Journal {
    /// Create `dir/<id>.jsonl` durably and write its `Open` record.
    pub fn create(dir: &Path, id: &str, open: &Record) -> Result<Journal, JournalError> {
        fsx::create_dir_all(dir)?;
        let path = dir.join(format!("{id}.jsonl"));
        let file = OpenOptions::new()
            .append(true)
            .create_new(true)
            .open(&path)
            .ctx("create journal", &path)?;
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
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e).ctx("read journal dir", dir)?,
    };
    let mut found: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .collect();
    found.sort();
    Ok(found)
}

/// Parse a journal's records, stopping at the first line that is not a
/// whole record: appends are fsynced one by one, so only the tail can be torn.
pub fn read(path: &Path) -> Result<Vec<Record>, JournalError> {
    let bytes = fsx::read_opt(path)?.unwrap_or_default();
    Ok(parse_records(&bytes))
}

pub fn parse_records(bytes: &[u8]) -> Vec<Record> {
    let mut records = Vec::new();
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        let Some(body) = line.strip_suffix(b"\n") else {
            break; // torn: the newline is written with the record
        };
        match serde_json::from_slice::<Record>(body) {
            Ok(r) => records.push(r),
            Err(_) => break,
        }
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;

    fn done(seq: u64) -> Vec<u8> {
        let mut v = serde_json::to_vec(&Record::Done { seq }).unwrap();
        v.push(b'\n');
        v
    }

    #[test]
    fn torn_last_record_is_ignored() {
        let mut bytes = done(1);
        let second = done(2);
        bytes.extend_from_slice(&second[..second.len() - 3]);
        assert_eq!(parse_records(&bytes), vec![Record::Done { seq: 1 }]);
    }

    #[test]
    fn zero_filled_tail_is_ignored() {
        let mut bytes = done(1);
        bytes.extend_from_slice(&[0u8; 64]);
        assert_eq!(parse_records(&bytes), vec![Record::Done { seq: 1 }]);
        let mut bytes = done(1);
        bytes.extend_from_slice(&[0u8; 7]);
        bytes.push(b'\n');
        assert_eq!(parse_records(&bytes), vec![Record::Done { seq: 1 }]);
    }

    #[test]
    fn whole_records_round_trip() {
        let mut bytes = done(1);
        bytes.extend(done(2));
        bytes.extend(b"{\"rec\":\"commit\"}\n");
        assert_eq!(
            parse_records(&bytes),
            vec![
                Record::Done { seq: 1 },
                Record::Done { seq: 2 },
                Record::Commit
            ]
        );
    }
}
