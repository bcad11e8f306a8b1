use crate::fsx;
use std::io::{self, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};
use tar::{EntryType, Header};
use tempfile::TempDir;

use super::*;

// ---- archive building helpers ----

/// A ustar header whose name bytes are written verbatim (no `set_path` checks).
fn raw_header(name: &[u8], kind: EntryType, mode: u32, size: u64) -> Header {
    let mut header = Header::new_ustar();
    header.as_old_mut().name[..name.len()].copy_from_slice(name);
    header.set_entry_type(kind);
    header.set_mode(mode);
    header.set_size(size);
    header.set_mtime(1_700_000_000);
    header.set_cksum();
    header
}

fn padded(data: &[u8]) -> Vec<u8> {
    let mut bytes = data.to_vec();
    bytes.resize(data.len().div_ceil(512) * 512, 0);
    bytes
}

fn entry(name: &[u8], kind: EntryType, mode: u32, data: &[u8]) -> Vec<u8> {
    let mut bytes = raw_header(name, kind, mode, data.len() as u64)
        .as_bytes()
        .to_vec();
    bytes.extend(padded(data));
    bytes
}

fn file(name: &str, data: &[u8]) -> Vec<u8> {
    entry(name.as_bytes(), EntryType::Regular, 0o644, data)
}

fn dir(name: &str) -> Vec<u8> {
    entry(name.as_bytes(), EntryType::Directory, 0o755, b"")
}

/// One PAX record: "<len> <key>=<value>\n", where len counts the whole record.
fn pax_record(key: &str, value: &[u8]) -> Vec<u8> {
    let body_len = key.len() + value.len() + 3;
    let mut len = body_len + 1;
    while len.to_string().len() + body_len != len {
        len += 1;
    }
    let mut record = format!("{len} {key}=").into_bytes();
    record.extend_from_slice(value);
    record.push(b'\n');
    record
}

/// A PAX-format entry as Python's tarfile and GNU tar `--format=pax` write it.
fn pax_file(long_name: &str, data: &[u8]) -> Vec<u8> {
    let records = pax_record("path", long_name.as_bytes());
    let mut bytes = entry(b"././@PaxHeader", EntryType::XHeader, 0o644, &records);
    let truncated = &long_name.as_bytes()[..99];
    bytes.extend(entry(truncated, EntryType::Regular, 0o644, data));
    bytes
}

fn tar_of(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut bytes = entries.concat();
    bytes.extend([0u8; 1024]);
    bytes
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
    encoder.write_all(data).unwrap();
    encoder.finish().unwrap()
}

fn tar_gz(entries: &[Vec<u8>]) -> Vec<u8> {
    gzip(&tar_of(entries))
}

fn sample_archive() -> Vec<u8> {
    tar_gz(&[
        dir("go/"),
        dir("go/bin/"),
        entry(b"go/bin/go", EntryType::Regular, 0o755, b"#!go binary"),
        file("go/VERSION", b"go1.27.3\n"),
    ])
}

/// Pseudo-random, poorly compressible bytes.
fn noise(len: usize) -> Vec<u8> {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

// ---- extraction helpers ----

/// A scratch directory holding an empty `dest`, so escapes would be visible
/// as siblings of `dest`.
struct Scratch {
    root: TempDir,
}

impl Scratch {
    fn new() -> Self {
        let root = tempfile::tempdir().unwrap();
        fsx::create_dir(root.path().join("dest")).unwrap();
        Self { root }
    }

    fn dest(&self) -> PathBuf {
        self.root.path().join("dest")
    }

    fn extract(&self, archive: &[u8], limits: &Limits) -> Result<Extracted, ArchiveError> {
        extract_tar_gz(archive, &self.dest(), limits, &mut |_| {})
    }

    fn assert_nothing_escaped(&self) {
        let names: Vec<_> = fsx::read_dir(self.root.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["dest"]);
    }
}

fn extract(archive: &[u8]) -> (Scratch, Result<Extracted, ArchiveError>) {
    let scratch = Scratch::new();
    let result = scratch.extract(archive, &Limits::default());
    (scratch, result)
}

fn mode_of(path: &Path) -> u32 {
    fsx::metadata(path).unwrap().permissions().mode() & 0o7777
}

/// Reads the umask without changing it (other tests run concurrently).
fn current_umask() -> u32 {
    let status = fsx::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("Umask:")).unwrap();
    u32::from_str_radix(line["Umask:".len()..].trim(), 8).unwrap()
}

// ---- happy paths ----

#[test]
fn extracts_files_and_directories_and_reports_totals() {
    let archive = sample_archive();
    let (scratch, result) = extract(&archive);
    let extracted = result.unwrap();
    let dest = scratch.dest();
    assert_eq!(fsx::read(dest.join("go/bin/go")).unwrap(), b"#!go binary");
    assert_eq!(fsx::read(dest.join("go/VERSION")).unwrap(), b"go1.27.3\n");
    assert_eq!(extracted.sha256, <[u8; 32]>::from(Sha256::digest(&archive)));
    assert_eq!(extracted.compressed_bytes, archive.len() as u64);
    assert_eq!(extracted.unpacked_bytes, 11 + 9);
    assert_eq!(extracted.entries, 4);
    scratch.assert_nothing_escaped();
}

#[test]
fn extracts_archives_written_by_tar_builder() {
    let mut builder = tar::Builder::new(Vec::new());
    let long_name = format!("go/{}/long.go", "d".repeat(120));
    for (name, data) in [("go/a.txt", &b"a"[..]), (&long_name, b"long")] {
        let mut header = Header::new_gnu();
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        builder.append_data(&mut header, name, data).unwrap();
    }
    let archive = gzip(&builder.into_inner().unwrap());
    let (scratch, result) = extract(&archive);
    assert_eq!(result.unwrap().entries, 2);
    assert_eq!(fsx::read(scratch.dest().join(&long_name)).unwrap(), b"long");
}

#[test]
fn large_file_spanning_many_chunks_is_written_intact() {
    let content = noise(3 * CHUNK_BYTES + 7);
    let (scratch, result) = extract(&tar_gz(&[file("go/big", &content)]));
    result.unwrap();
    assert_eq!(fsx::read(scratch.dest().join("go/big")).unwrap(), content);
}

/// The per-file hashes and modes reported are those of the files on disk,
/// for files of one chunk, many chunks, none, and any writer thread.
#[test]
fn reports_each_written_file_with_its_hash_and_mode() {
    let big = noise(3 * CHUNK_BYTES + 7);
    let mut entries = vec![
        entry(b"go/bin/go", EntryType::Regular, 0o755, b"#!go binary"),
        file("go/big", &big),
        file("go/empty", b""),
    ];
    entries.extend((0..9).map(|i| {
        file(
            &format!("go/src/f{i}.go"),
            format!("package f{i}").as_bytes(),
        )
    }));
    let (scratch, result) = extract(&tar_gz(&entries));
    let mut files = result.unwrap().files;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    assert_eq!(files.len(), 12);
    for f in &files {
        let on_disk = scratch.dest().join(&f.path);
        let content = fsx::read(&on_disk).unwrap();
        assert_eq!(
            f.sha256,
            <[u8; 32]>::from(Sha256::digest(&content)),
            "{:?}",
            f.path
        );
        assert_eq!(f.mode, mode_of(&on_disk), "{:?}", f.path);
    }
    assert_eq!(files[0].path, Path::new("go/big"));
    assert_eq!(files[0].sha256, <[u8; 32]>::from(Sha256::digest(&big)));
}

#[test]
fn empty_file_is_created() {
    let (scratch, result) = extract(&tar_gz(&[file("go/empty", b"")]));
    result.unwrap();
    assert_eq!(fsx::read(scratch.dest().join("go/empty")).unwrap(), b"");
}

#[test]
fn pax_format_archive_extracts_long_names() {
    let long_name = format!("go/src/{}/x.go", "p".repeat(150));
    let global = entry(
        b"pax_global_header",
        EntryType::XGlobalHeader,
        0o644,
        &pax_record("comment", b"built by a release script"),
    );
    let archive = tar_gz(&[global, dir("go/"), pax_file(&long_name, b"package p\n")]);
    let (scratch, result) = extract(&archive);
    assert_eq!(result.unwrap().entries, 2);
    assert_eq!(
        fsx::read(scratch.dest().join(&long_name)).unwrap(),
        b"package p\n"
    );
}

#[test]
fn pax_path_is_subject_to_the_path_policy() {
    let (scratch, result) = extract(&tar_gz(&[pax_file(
        &format!("../{}", "x".repeat(120)),
        b"",
    )]));
    assert!(
        matches!(result, Err(ArchiveError::UnsafePath { .. })),
        "{result:?}"
    );
    scratch.assert_nothing_escaped();
}

#[test]
fn dot_slash_prefix_is_stripped() {
    let archive = tar_gz(&[dir("./go/"), file("./go/VERSION", b"v")]);
    let (scratch, result) = extract(&archive);
    result.unwrap();
    assert_eq!(fsx::read(scratch.dest().join("go/VERSION")).unwrap(), b"v");
}

#[test]
fn directory_listed_after_its_contents_is_accepted() {
    let archive = tar_gz(&[file("go/bin/go", b"x"), dir("go/bin/"), dir("go/")]);
    let (_scratch, result) = extract(&archive);
    assert_eq!(result.unwrap().entries, 3);
}

#[test]
fn hash_covers_bytes_after_the_gzip_member() {
    let mut archive = sample_archive();
    archive.extend_from_slice(b"trailing junk after the gzip member");
    let (_scratch, result) = extract(&archive);
    let extracted = result.unwrap();
    assert_eq!(extracted.compressed_bytes, archive.len() as u64);
    assert_eq!(extracted.sha256, <[u8; 32]>::from(Sha256::digest(&archive)));
}

#[test]
fn progress_is_monotonic_and_reaches_the_total() {
    let archive = gzip(&tar_of(&[file("go/big", &noise(2 * CHUNK_BYTES))]));
    let scratch = Scratch::new();
    let mut seen = Vec::new();
    let extracted = extract_tar_gz(
        &archive[..],
        &scratch.dest(),
        &Limits::default(),
        &mut |n| seen.push(n),
    )
    .unwrap();
    assert!(seen.windows(2).all(|w| w[0] < w[1]), "{seen:?}");
    assert_eq!(seen.last().copied(), Some(extracted.compressed_bytes));
}

// ---- damaged archives ----

#[test]
fn truncated_archive_is_rejected_at_every_cut() {
    let archive = gzip(&tar_of(&[file("go/a", &noise(5000)), file("go/b", b"b")]));
    let cuts = [
        0,
        1,
        5,
        10,
        20,
        archive.len() / 2,
        archive.len() - 9,
        archive.len() - 4,
    ];
    for &cut in cuts.iter().chain(&[archive.len() - 1]) {
        let (_scratch, result) = extract(&archive[..cut]);
        assert!(
            matches!(result, Err(ArchiveError::Truncated { .. })),
            "cut at {cut}: {result:?}"
        );
    }
}

#[test]
fn flipped_byte_in_the_middle_is_rejected() {
    let mut archive = gzip(&tar_of(&[file("go/a", &noise(20_000))]));
    let middle = archive.len() / 2;
    archive[middle] ^= 0x55;
    let (_scratch, result) = extract(&archive);
    assert!(
        matches!(result, Err(ArchiveError::Corrupt { .. })),
        "{result:?}"
    );
}

#[test]
fn corrupt_trailer_crc_is_rejected() {
    let mut archive = sample_archive();
    let crc_start = archive.len() - 8;
    archive[crc_start] ^= 0x01;
    let (_scratch, result) = extract(&archive);
    assert!(
        matches!(result, Err(ArchiveError::Corrupt { .. })),
        "{result:?}"
    );
}

#[test]
fn corrupt_trailer_length_is_rejected() {
    let mut archive = sample_archive();
    let last = archive.len() - 1;
    archive[last] ^= 0x01;
    let (_scratch, result) = extract(&archive);
    assert!(
        matches!(result, Err(ArchiveError::Corrupt { .. })),
        "{result:?}"
    );
}

#[test]
fn non_gzip_input_is_rejected() {
    let (_scratch, result) = extract(&tar_of(&[file("go/a", b"a")]));
    assert!(
        matches!(result, Err(ArchiveError::Corrupt { .. })),
        "{result:?}"
    );
}

#[test]
fn tar_entry_shorter_than_its_header_is_rejected() {
    let mut tar = raw_header(b"go/a", EntryType::Regular, 0o644, 4096)
        .as_bytes()
        .to_vec();
    tar.extend([7u8; 100]);
    let (_scratch, result) = extract(&gzip(&tar));
    let Err(ArchiveError::Truncated { detail }) = result else {
        panic!("{result:?}");
    };
    assert!(detail.contains("go/a"), "{detail}");
}

#[test]
fn read_error_of_the_source_is_reported_as_read() {
    struct FailingAfter(Vec<u8>);
    impl Read for FailingAfter {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Err(io::Error::other("disk on fire"));
            }
            let n = buf.len().min(self.0.len());
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0.drain(..n);
            Ok(n)
        }
    }
    let archive = sample_archive();
    let source = FailingAfter(archive[..archive.len() / 2].to_vec());
    let scratch = Scratch::new();
    let result = extract_tar_gz(source, &scratch.dest(), &Limits::default(), &mut |_| {});
    let Err(ArchiveError::Read { source }) = result else {
        panic!("{result:?}");
    };
    assert_eq!(source.to_string(), "disk on fire");
}

// ---- entry policy ----

#[test]
fn hostile_names_are_rejected_and_nothing_escapes() {
    let names: &[&[u8]] = &[
        b"../escape",
        b"go/../../escape",
        b"go/..",
        b"/tmp/escape",
        b"go\\..\\escape",
        b"..\\escape",
        b"",
        b".",
        b"./",
        b"go//x",
        b"go/./x",
    ];
    for name in names {
        let archive = tar_gz(&[dir("go/"), entry(name, EntryType::Regular, 0o644, b"x")]);
        let (scratch, result) = extract(&archive);
        assert!(
            matches!(result, Err(ArchiveError::UnsafePath { .. })),
            "{:?}: {result:?}",
            String::from_utf8_lossy(name)
        );
        scratch.assert_nothing_escaped();
    }
}

#[test]
fn unsafe_path_error_names_the_entry() {
    let archive = tar_gz(&[entry(b"../evil", EntryType::Regular, 0o644, b"")]);
    let (_scratch, result) = extract(&archive);
    let message = result.unwrap_err().to_string();
    assert!(message.contains("\"../evil\""), "{message}");
    assert!(message.contains("`..`"), "{message}");
}

#[test]
fn special_entry_types_are_rejected() {
    let kinds = [
        (EntryType::Symlink, "symbolic link"),
        (EntryType::Link, "hard link"),
        (EntryType::Char, "character device"),
        (EntryType::Block, "block device"),
        (EntryType::Fifo, "FIFO"),
        (EntryType::Continuous, "contiguous file"),
        (EntryType::new(b'V'), "unsupported type 'V'"),
    ];
    for (kind, expected) in kinds {
        let mut header = raw_header(b"go/special", kind, 0o777, 0);
        header.set_link_name("/etc/passwd").unwrap();
        header.set_cksum();
        let mut tar = dir("go/");
        tar.extend_from_slice(header.as_bytes());
        let (scratch, result) = extract(&tar_gz(&[tar]));
        let Err(ArchiveError::UnsupportedEntry { path, kind }) = result else {
            panic!("{expected}: {result:?}");
        };
        assert_eq!(path, "go/special");
        assert!(kind.contains(expected), "{kind}");
        assert!(!scratch.dest().join("go/special").exists());
    }
}

#[test]
fn duplicate_paths_are_rejected() {
    let cases = [
        vec![file("go/a", b"1"), file("go/a", b"2")],
        vec![dir("go/d/"), dir("go/d/")],
        vec![file("go/x", b"1"), dir("go/x/")],
        vec![dir("go/x/"), file("go/x", b"1")],
        vec![file("go/x/inner", b"1"), file("go/x", b"2")],
        vec![file("go/a", b"1"), file("./go/a", b"2")],
    ];
    for entries in cases {
        let (_scratch, result) = extract(&tar_gz(&entries));
        assert!(
            matches!(result, Err(ArchiveError::DuplicatePath { .. })),
            "{result:?}"
        );
    }
}

#[test]
fn path_under_a_file_is_rejected() {
    let archive = tar_gz(&[file("go/bin", b"not a dir"), file("go/bin/go", b"x")]);
    let (_scratch, result) = extract(&archive);
    let Err(ArchiveError::PathUnderFile { path, ancestor }) = result else {
        panic!("{result:?}");
    };
    assert_eq!((path.as_str(), ancestor.as_str()), ("go/bin/go", "go/bin"));
}

#[test]
fn modes_keep_permission_bits_only_and_honour_the_umask() {
    let archive = tar_gz(&[
        entry(b"go/", EntryType::Directory, 0o2775, b""),
        entry(b"go/private/", EntryType::Directory, 0o1750, b""),
        entry(b"go/readonly/", EntryType::Directory, 0o555, b""),
        entry(b"go/suid", EntryType::Regular, 0o4755, b"x"),
        entry(b"go/sgid", EntryType::Regular, 0o2640, b"x"),
        entry(b"go/open", EntryType::Regular, 0o777, b"x"),
    ]);
    let (scratch, result) = extract(&archive);
    result.unwrap();
    let umask = current_umask();
    let dest = scratch.dest();
    assert_eq!(mode_of(&dest.join("go")), 0o775 & !umask);
    assert_eq!(mode_of(&dest.join("go/private")), 0o750 & !umask);
    // Owner keeps rwx so the tree can be filled and removed again.
    assert_eq!(mode_of(&dest.join("go/readonly")), 0o755 & !umask);
    assert_eq!(mode_of(&dest.join("go/suid")), 0o755 & !umask);
    assert_eq!(mode_of(&dest.join("go/sgid")), 0o640 & !umask);
    assert_eq!(mode_of(&dest.join("go/open")), 0o777 & !umask);
}

#[test]
fn missing_parent_directories_are_created() {
    let archive = tar_gz(&[file("go/pkg/tool/linux_amd64/compile", b"x")]);
    let (scratch, result) = extract(&archive);
    assert_eq!(result.unwrap().entries, 1);
    let dest = scratch.dest();
    for parent in ["go", "go/pkg", "go/pkg/tool", "go/pkg/tool/linux_amd64"] {
        assert!(dest.join(parent).is_dir(), "{parent}");
        assert_eq!(mode_of(&dest.join(parent)), 0o755 & !current_umask());
    }
}

#[test]
fn existing_content_in_dest_is_never_overwritten() {
    let scratch = Scratch::new();
    let outside = scratch.root.path().join("outside");
    fsx::write(&outside, b"keep").unwrap();
    fsx::symlink(&outside, scratch.dest().join("go")).unwrap();
    let result = scratch.extract(&tar_gz(&[file("go", b"overwrite")]), &Limits::default());
    assert!(
        matches!(result, Err(ArchiveError::Write { .. })),
        "{result:?}"
    );
    assert_eq!(fsx::read(&outside).unwrap(), b"keep");
}

#[test]
fn write_failure_names_the_path() {
    let scratch = Scratch::new();
    let missing_dest = scratch.dest().join("missing");
    let result = extract_tar_gz(
        &sample_archive()[..],
        &missing_dest,
        &Limits::default(),
        &mut |_| {},
    );
    let Err(ArchiveError::Write { path, .. }) = result else {
        panic!("{result:?}");
    };
    assert_eq!(path, missing_dest.join("go"));
}

// ---- caps ----

#[test]
fn entry_count_cap_is_enforced() {
    let limits = Limits {
        max_entries: 3,
        ..Limits::default()
    };
    let scratch = Scratch::new();
    let within = tar_gz(&[dir("go/"), file("go/a", b""), file("go/b", b"")]);
    scratch.extract(&within, &limits).unwrap();
    let scratch = Scratch::new();
    let over = tar_gz(&[
        dir("go/"),
        file("go/a", b""),
        file("go/b", b""),
        file("go/c", b""),
    ]);
    let error = scratch.extract(&over, &limits).unwrap_err();
    assert!(
        matches!(&error, ArchiveError::TooManyEntries { path, cap: 3 } if path == "go/c"),
        "{error:?}"
    );
    assert!(error.to_string().contains("cap of 3"), "{error}");
}

#[test]
fn unpacked_size_cap_is_enforced() {
    let limits = Limits {
        max_unpacked_bytes: 1000,
        ..Limits::default()
    };
    let scratch = Scratch::new();
    let within = tar_gz(&[file("go/a", &[1; 600]), file("go/b", &[2; 400])]);
    scratch.extract(&within, &limits).unwrap();
    let scratch = Scratch::new();
    let over = tar_gz(&[file("go/a", &[1; 600]), file("go/b", &[2; 401])]);
    let error = scratch.extract(&over, &limits).unwrap_err();
    assert!(
        matches!(&error, ArchiveError::UnpackedTooLarge { path, cap: 1000 } if path == "go/b"),
        "{error:?}"
    );
    assert!(!scratch.dest().join("go/b").exists());
}

#[test]
fn decompressed_stream_cap_stops_inflation_bombs() {
    let limits = Limits {
        max_unpacked_bytes: 1000,
        max_entries: 10,
    };
    let cap = limits.max_decompressed_stream_bytes();
    let mut tar = tar_of(&[file("go/a", b"a")]);
    // Zeros after the end-of-archive marker are never seen by the tar layer
    // but still have to be inflated to reach the gzip trailer.
    tar.resize(usize::try_from(cap).unwrap() + 1, 0);
    let scratch = Scratch::new();
    let error = scratch.extract(&gzip(&tar), &limits).unwrap_err();
    assert!(
        matches!(error, ArchiveError::DecompressedStreamTooLarge { cap: c } if c == cap),
        "{error:?}"
    );
    assert!(error.to_string().contains(&cap.to_string()), "{error}");

    let scratch = Scratch::new();
    tar.truncate(usize::try_from(cap).unwrap());
    scratch.extract(&gzip(&tar), &limits).unwrap();
}

#[test]
fn default_limits_match_the_documented_values() {
    let limits = Limits::default();
    assert_eq!(limits.max_unpacked_bytes, 1 << 30);
    assert_eq!(limits.max_entries, 100_000);
}

#[test]
fn every_error_carries_a_golock_archive_code_and_help() {
    use miette::Diagnostic;
    let archives = [
        sample_archive()[..10].to_vec(),
        b"not gzip at all".to_vec(),
        tar_gz(&[file("../x", b"")]),
        tar_gz(&[entry(b"go/l", EntryType::Symlink, 0o777, b"")]),
        tar_gz(&[file("go/a", b""), file("go/a", b"")]),
        tar_gz(&[file("go/a", b""), file("go/a/b", b"")]),
    ];
    for archive in archives {
        let (_scratch, result) = extract(&archive);
        let error = result.unwrap_err();
        let code = error.code().unwrap().to_string();
        assert!(code.starts_with("golock::archive::"), "{code}");
        assert!(error.help().is_some(), "{code}");
    }
}

// ---- measurement ----

/// Run with `cargo test --release --lib archive -- --ignored --nocapture`
/// (`GOLOCK_BENCH_ARCHIVE=/path/go.tar.gz` measures another archive than
/// the test go1.27.3) and compare against
/// `time (sha256sum ARCHIVE && tar -xzf ARCHIVE -C $(mktemp -d))`.
/// On ext4, space runs a minute apart: creating inodes right after deleting
/// a large tree is slow there (`recently_deleted` scan) for both tools.
#[test]
#[ignore = "measurement, not a check: run it on purpose"]
fn bench_extract_real_archive() {
    let path = std::env::var_os("GOLOCK_BENCH_ARCHIVE")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("target/golock-test/archives/go1.27.3.linux-amd64.tar.gz")
        });
    assert!(
        path.is_file(),
        "{} missing: run scripts/test.sh (its scripts/test-toolchains.sh builds it) or set GOLOCK_BENCH_ARCHIVE",
        path.display()
    );
    let scratch = Scratch::new();
    let source = fsx::open(&path).unwrap();
    let started = std::time::Instant::now();
    let extracted =
        extract_tar_gz(source, &scratch.dest(), &Limits::default(), &mut |_| {}).unwrap();
    let elapsed = started.elapsed();
    println!(
        "extract_tar_gz: {elapsed:?} for {} entries, {} -> {} bytes, sha256 {}",
        extracted.entries,
        extracted.compressed_bytes,
        extracted.unpacked_bytes,
        hex::encode(extracted.sha256)
    );
}
