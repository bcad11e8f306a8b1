//! Which tar entries golock accepts: names, entry types, and the rule that
//! every path appears at most once.

use std::collections::HashMap;

use tar::EntryType;

/// Why an entry name was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PathRejection {
    #[error("the name is empty")]
    Empty,
    #[error("the name refers to the destination itself (`.`)")]
    DotOnly,
    #[error("the name contains a NUL byte")]
    NulByte,
    #[error("the name contains a backslash")]
    Backslash,
    #[error("the name is absolute")]
    Absolute,
    #[error("the name contains a `..` component")]
    ParentComponent,
    #[error("the name contains a `.` component after its start")]
    DotComponent,
    #[error("the name contains an empty component (`//`)")]
    EmptyComponent,
    #[error("a regular file's name ends with `/`")]
    FileWithTrailingSlash,
}

/// What an accepted entry becomes on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum EntryKind {
    File,
    Dir,
    /// PAX global header: metadata only, nothing to extract.
    GlobalMetadata,
}

/// Classifies a tar entry type; `Err` carries a human name of the refused type.
pub(super) fn classify(entry_type: EntryType) -> Result<EntryKind, String> {
    match entry_type {
        EntryType::Regular => Ok(EntryKind::File),
        EntryType::Directory => Ok(EntryKind::Dir),
        EntryType::XGlobalHeader => Ok(EntryKind::GlobalMetadata),
        EntryType::Symlink => Err("symbolic link".into()),
        EntryType::Link => Err("hard link".into()),
        EntryType::Char => Err("character device".into()),
        EntryType::Block => Err("block device".into()),
        EntryType::Fifo => Err("FIFO".into()),
        EntryType::Continuous => Err("contiguous file".into()),
        EntryType::GNUSparse => Err("GNU sparse file".into()),
        other => Err(format!(
            "entry of unsupported type {:?}",
            char::from(other.as_byte())
        )),
    }
}

/// Validates a raw entry name and returns it relative to the destination,
/// without a trailing slash.
///
/// Leading `./` components are stripped (GNU tar writes them for `tar -C dir .`);
/// a lone `.` or `./`, and `.` anywhere else, are refused.
pub(super) fn normalise(raw: &[u8], kind: EntryKind) -> Result<&[u8], PathRejection> {
    if raw.is_empty() {
        return Err(PathRejection::Empty);
    }
    if raw.contains(&0) {
        return Err(PathRejection::NulByte);
    }
    if raw.contains(&b'\\') {
        return Err(PathRejection::Backslash);
    }
    if raw.starts_with(b"/") {
        return Err(PathRejection::Absolute);
    }
    let mut name = raw;
    while let Some(rest) = name.strip_prefix(b"./") {
        name = rest;
    }
    if let Some(without_slash) = name.strip_suffix(b"/") {
        if kind == EntryKind::File {
            return Err(PathRejection::FileWithTrailingSlash);
        }
        name = without_slash;
    }
    if name.is_empty() {
        return Err(PathRejection::DotOnly);
    }
    for component in name.split(|&b| b == b'/') {
        match component {
            b"" => return Err(PathRejection::EmptyComponent),
            b"." => return Err(PathRejection::DotComponent),
            b".." => return Err(PathRejection::ParentComponent),
            _ => {}
        }
    }
    Ok(name)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Claimed {
    File,
    ExplicitDir,
    /// Created only because a deeper entry needed it as a parent.
    ImpliedDir,
}

/// Why a path could not be claimed.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Conflict {
    Duplicate,
    UnderFile { ancestor: Vec<u8> },
}

/// Directories to create before an entry, and whether the entry itself
/// still needs creating.
#[derive(Debug, Default, PartialEq, Eq)]
pub(super) struct Claim {
    pub(super) missing_parents: Vec<Vec<u8>>,
    pub(super) create_entry: bool,
}

/// Every path extracted so far, so each is created exactly once.
#[derive(Default)]
pub(super) struct PathRegistry {
    claimed: HashMap<Vec<u8>, Claimed>,
}

impl PathRegistry {
    /// Claims a normalised path for a file or directory.
    pub(super) fn claim(&mut self, path: &[u8], kind: EntryKind) -> Result<Claim, Conflict> {
        let create_entry = match (self.claimed.get(path), kind) {
            (None, _) => true,
            // The directory was created as a parent already; the archive
            // merely lists it late.
            (Some(Claimed::ImpliedDir), EntryKind::Dir) => false,
            (Some(_), _) => return Err(Conflict::Duplicate),
        };
        let missing_parents = self.claim_parents(path)?;
        let claimed = match kind {
            EntryKind::File => Claimed::File,
            _ => Claimed::ExplicitDir,
        };
        self.claimed.insert(path.to_vec(), claimed);
        Ok(Claim {
            missing_parents,
            create_entry,
        })
    }

    fn claim_parents(&mut self, path: &[u8]) -> Result<Vec<Vec<u8>>, Conflict> {
        let mut missing = Vec::new();
        let separators = path.iter().enumerate().filter(|&(_, &b)| b == b'/');
        for (end, _) in separators {
            let parent = &path[..end];
            match self.claimed.get(parent) {
                Some(Claimed::File) => {
                    return Err(Conflict::UnderFile {
                        ancestor: parent.to_vec(),
                    });
                }
                Some(_) => {}
                None => missing.push(parent.to_vec()),
            }
        }
        for parent in &missing {
            self.claimed.insert(parent.clone(), Claimed::ImpliedDir);
        }
        Ok(missing)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_accepts_plain_and_dot_slash_prefixed_names() {
        assert_eq!(
            normalise(b"go/bin/go", EntryKind::File),
            Ok(&b"go/bin/go"[..])
        );
        assert_eq!(
            normalise(b"./go/bin/go", EntryKind::File),
            Ok(&b"go/bin/go"[..])
        );
        assert_eq!(normalise(b"././go", EntryKind::File), Ok(&b"go"[..]));
        assert_eq!(normalise(b"go/bin/", EntryKind::Dir), Ok(&b"go/bin"[..]));
        assert_eq!(
            normalise(b"go/..x/...", EntryKind::File),
            Ok(&b"go/..x/..."[..])
        );
    }

    #[test]
    fn normalise_rejects_hostile_and_weird_names() {
        let cases: &[(&[u8], PathRejection)] = &[
            (b"", PathRejection::Empty),
            (b".", PathRejection::DotComponent),
            (b"./", PathRejection::DotOnly),
            (b"a\0b", PathRejection::NulByte),
            (b"go\\..\\x", PathRejection::Backslash),
            (b"/etc/passwd", PathRejection::Absolute),
            (b"..", PathRejection::ParentComponent),
            (b"../x", PathRejection::ParentComponent),
            (b"go/../../x", PathRejection::ParentComponent),
            (b"go/..", PathRejection::ParentComponent),
            (b"./../x", PathRejection::ParentComponent),
            (b"go/./x", PathRejection::DotComponent),
            (b"go//x", PathRejection::EmptyComponent),
            (b".//x", PathRejection::EmptyComponent),
        ];
        for (raw, expected) in cases {
            assert_eq!(normalise(raw, EntryKind::Dir), Err(*expected), "{raw:?}");
        }
        assert_eq!(
            normalise(b"go/file/", EntryKind::File),
            Err(PathRejection::FileWithTrailingSlash)
        );
    }

    #[test]
    fn classify_allows_only_files_dirs_and_global_metadata() {
        assert_eq!(classify(EntryType::Regular), Ok(EntryKind::File));
        assert_eq!(classify(EntryType::new(0)), Ok(EntryKind::File));
        assert_eq!(classify(EntryType::Directory), Ok(EntryKind::Dir));
        for refused in [
            EntryType::Symlink,
            EntryType::Link,
            EntryType::Char,
            EntryType::Block,
            EntryType::Fifo,
            EntryType::Continuous,
            EntryType::GNUSparse,
            EntryType::new(b'Z'),
        ] {
            assert!(classify(refused).is_err(), "{refused:?}");
        }
    }

    #[test]
    fn registry_creates_missing_parents_once() {
        let mut registry = PathRegistry::default();
        let claim = registry.claim(b"go/bin/go", EntryKind::File).unwrap();
        assert_eq!(
            claim.missing_parents,
            vec![b"go".to_vec(), b"go/bin".to_vec()]
        );
        assert!(claim.create_entry);
        let claim = registry.claim(b"go/bin/gofmt", EntryKind::File).unwrap();
        assert!(claim.missing_parents.is_empty());
        let late_dir = registry.claim(b"go/bin", EntryKind::Dir).unwrap();
        assert_eq!(late_dir, Claim::default());
    }

    #[test]
    fn registry_rejects_duplicates_and_paths_under_files() {
        let mut registry = PathRegistry::default();
        registry.claim(b"go/a", EntryKind::File).unwrap();
        registry.claim(b"go/d", EntryKind::Dir).unwrap();
        assert_eq!(
            registry.claim(b"go/a", EntryKind::File),
            Err(Conflict::Duplicate)
        );
        assert_eq!(
            registry.claim(b"go/a", EntryKind::Dir),
            Err(Conflict::Duplicate)
        );
        assert_eq!(
            registry.claim(b"go/d", EntryKind::Dir),
            Err(Conflict::Duplicate)
        );
        assert_eq!(
            registry.claim(b"go/d", EntryKind::File),
            Err(Conflict::Duplicate)
        );
        assert_eq!(
            registry.claim(b"go", EntryKind::File),
            Err(Conflict::Duplicate)
        );
        assert_eq!(
            registry.claim(b"go/a/x", EntryKind::File),
            Err(Conflict::UnderFile {
                ancestor: b"go/a".to_vec()
            })
        );
    }
}
