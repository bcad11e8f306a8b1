//! Member path rules, shared by the writer and the reader: plain relative
//! `/`-separated UTF-8 paths that stay inside the destination, each listed
//! once, none both a file and a directory of another member.

use std::collections::{HashMap, HashSet};

use super::error::{BundleError, Result};
use super::{LOCKFILE_MEMBER, MANIFEST_MEMBER, SIGNATURE_MEMBER};

/// Longest member path accepted, in bytes.
const MAX_PATH_BYTES: usize = 4096;
/// Longest path component accepted, in bytes (the common file-name limit).
const MAX_COMPONENT_BYTES: usize = 255;

/// Check that `path` is a safe member path; `reason` of the first rule broken.
pub fn check_member_path(path: &str) -> Result<()> {
    match rejection(path) {
        None => Ok(()),
        Some(reason) => Err(BundleError::UnsafePath {
            path: path.to_owned(),
            reason,
        }),
    }
}

fn rejection(path: &str) -> Option<&'static str> {
    if path.is_empty() {
        return Some("empty path");
    }
    if path.len() > MAX_PATH_BYTES {
        return Some("path too long");
    }
    if path.starts_with('/') {
        return Some("absolute path");
    }
    if path.contains('\\') {
        return Some("backslash in path");
    }
    if path.chars().any(char::is_control) {
        return Some("control character in path");
    }
    path.split('/').find_map(component_rejection)
}

fn component_rejection(component: &str) -> Option<&'static str> {
    match component {
        "" => Some("empty path component"),
        "." => Some("'.' component"),
        ".." => Some("'..' component"),
        c if c.len() > MAX_COMPONENT_BYTES => Some("path component too long"),
        _ => None,
    }
}

/// Check a path a caller adds as content: safe, and not one of the names the
/// bundle format reserves for itself.
pub fn check_content_path(path: &str) -> Result<()> {
    check_member_path(path)?;
    if [LOCKFILE_MEMBER, MANIFEST_MEMBER, SIGNATURE_MEMBER].contains(&path) {
        return Err(BundleError::MisplacedMember {
            path: path.to_owned(),
            detail: "the name is reserved for the bundle format".to_owned(),
        });
    }
    Ok(())
}

/// The set of member paths seen so far, refusing duplicates and file/directory
/// clashes.
#[derive(Debug, Default)]
pub struct PathSet {
    files: HashSet<String>,
    /// Directory implied by some member → the first member implying it.
    dirs: HashMap<String, String>,
}

impl PathSet {
    /// Record `path` (already checked with [`check_member_path`]).
    pub fn insert(&mut self, path: &str) -> Result<()> {
        if self.files.contains(path) {
            return Err(BundleError::DuplicateMember {
                path: path.to_owned(),
            });
        }
        if let Some(other) = self.dirs.get(path) {
            return Err(conflict(path, other));
        }
        for (i, _) in path.match_indices('/') {
            let dir = &path[..i];
            if self.files.contains(dir) {
                return Err(conflict(path, dir));
            }
            self.dirs
                .entry(dir.to_owned())
                .or_insert_with(|| path.to_owned());
        }
        self.files.insert(path.to_owned());
        Ok(())
    }
}

fn conflict(path: &str, other: &str) -> BundleError {
    BundleError::PathConflict {
        path: path.to_owned(),
        other: other.to_owned(),
    }
}
