//! Tests for the bundle format: round trips, tampering, hostile entries,
//! signatures, truncation.

use crate::fsx;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

use super::*;

const LOCKFILE: &[u8] = b"# golock lockfile\n[go]\nversion = \"1.27.3\"\n";
const TOOLCHAIN: &str = "go/go1.27.3.linux-amd64.tar.gz";
const MODULE_ZIP: &str = "modules/golang.org/x/text/@v/v0.3.0.zip";
const MODULE_MOD: &str = "modules/golang.org/x/text/@v/v0.3.0.mod";

fn sha(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

fn keypair() -> (SecretKeyFile, String) {
    let kp = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
    let public = kp.pk.to_base64();
    (SecretKeyFile::from_secret_key(kp.sk), public)
}

/// A bundle with a toolchain file (added from disk) and two module files.
fn make_bundle(dir: &Path, sign_with: Option<&SecretKeyFile>) -> (PathBuf, Manifest) {
    let src = dir.join("toolchain.tar.gz");
    fsx::write(&src, vec![7u8; 300_000]).unwrap();
    let out = dir.join("bundle.tar.gz");
    let mut writer = BundleWriter::create(&out, LOCKFILE).unwrap();
    writer.add_file(TOOLCHAIN, &src).unwrap();
    writer.add_bytes(MODULE_ZIP, b"PK zip bytes").unwrap();
    writer
        .add_bytes(MODULE_MOD, b"module golang.org/x/text\n")
        .unwrap();
    let manifest = writer.finish(sign_with).unwrap();
    (out, manifest)
}

fn unpack(bundle: &Path, dest: &Path, keys: &[String]) -> Result<Manifest, BundleError> {
    unpack_verified(bundle, dest, &sha(LOCKFILE), keys, &Limits::default())
}

/// A raw tar entry, written without the tar crate's path checks.
struct Raw {
    name: Vec<u8>,
    data: Vec<u8>,
    kind: tar::EntryType,
}

impl Raw {
    fn file(name: &str, data: &[u8]) -> Raw {
        Raw {
            name: name.as_bytes().to_vec(),
            data: data.to_vec(),
            kind: tar::EntryType::Regular,
        }
    }
}

fn read_entries(bundle: &Path) -> Vec<Raw> {
    let mut archive = tar::Archive::new(GzDecoder::new(fsx::open(bundle).unwrap()));
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            Raw {
                name: e.path_bytes().to_vec(),
                data,
                kind: e.header().entry_type(),
            }
        })
        .collect()
}

fn write_entries(bundle: &Path, entries: &[Raw]) {
    let gz = GzEncoder::new(fsx::create(bundle).unwrap(), Compression::fast());
    let mut builder = tar::Builder::new(gz);
    for entry in entries {
        let mut header = tar::Header::new_gnu();
        header.as_old_mut().name[..entry.name.len()].copy_from_slice(&entry.name);
        header.set_entry_type(entry.kind);
        header.set_size(entry.data.len() as u64);
        header.set_mode(0o644);
        header.set_cksum();
        builder.append(&header, &entry.data[..]).unwrap();
    }
    builder.into_inner().unwrap().finish().unwrap();
}

/// Rewrite the bundle's entries with `edit`.
fn rewrite(bundle: &Path, edit: impl FnOnce(&mut Vec<Raw>)) {
    let mut entries = read_entries(bundle);
    edit(&mut entries);
    write_entries(bundle, &entries);
}

fn position(entries: &[Raw], name: &str) -> usize {
    entries
        .iter()
        .position(|e| e.name == name.as_bytes())
        .unwrap()
}

#[test]
fn round_trip_restores_every_member() {
    let tmp = tempfile::tempdir().unwrap();
    let (bundle, written) = make_bundle(tmp.path(), None);
    let dest = tmp.path().join("stage");
    let read = unpack(&bundle, &dest, &[]).unwrap();
    assert_eq!(read, written);
    assert_eq!(read.format_version, FORMAT_VERSION);
    assert_eq!(read.lockfile_sha256, sha(LOCKFILE));
    let paths: Vec<&str> = read.members.iter().map(|m| m.path.as_str()).collect();
    assert_eq!(paths, [LOCKFILE_MEMBER, TOOLCHAIN, MODULE_ZIP, MODULE_MOD]);
    assert_eq!(fsx::read(dest.join(LOCKFILE_MEMBER)).unwrap(), LOCKFILE);
    assert_eq!(fsx::read(dest.join(TOOLCHAIN)).unwrap(), vec![7u8; 300_000]);
    assert_eq!(fsx::read(dest.join(MODULE_ZIP)).unwrap(), b"PK zip bytes");
    assert!(!dest.join(MANIFEST_MEMBER).exists());
    assert_eq!(read_manifest(&bundle).unwrap(), written);
}

#[test]
fn output_is_deterministic_and_ordered() {
    let a = tempfile::tempdir().unwrap();
    let b = tempfile::tempdir().unwrap();
    let (first, _) = make_bundle(a.path(), None);
    let (second, _) = make_bundle(b.path(), None);
    assert_eq!(fsx::read(&first).unwrap(), fsx::read(&second).unwrap());
    let mut archive = tar::Archive::new(GzDecoder::new(fsx::open(&first).unwrap()));
    let names: Vec<String> = archive
        .entries()
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            let h = e.header();
            assert_eq!(h.mode().unwrap(), 0o644);
            assert_eq!(
                (h.mtime().unwrap(), h.uid().unwrap(), h.gid().unwrap()),
                (0, 0, 0)
            );
            String::from_utf8(e.path_bytes().to_vec()).unwrap()
        })
        .collect();
    assert_eq!(names.first().unwrap(), LOCKFILE_MEMBER);
    assert_eq!(names.last().unwrap(), MANIFEST_MEMBER);
}

#[test]
fn leftover_temp_files_are_not_left_behind() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("b.tar.gz");
    let writer = BundleWriter::create(&out, LOCKFILE).unwrap();
    drop(writer);
    assert_eq!(fsx::read_dir(tmp.path()).unwrap().count(), 0);
}

#[test]
fn writer_refuses_bad_member_paths() {
    let tmp = tempfile::tempdir().unwrap();
    let mut writer = BundleWriter::create(&tmp.path().join("b.tar.gz"), LOCKFILE).unwrap();
    for bad in [
        "../x",
        "/etc/passwd",
        "a\\b",
        "a//b",
        "./a",
        "",
        MANIFEST_MEMBER,
    ] {
        assert!(writer.add_bytes(bad, b"x").is_err(), "{bad:?} accepted");
    }
    writer.add_bytes("a/b", b"x").unwrap();
    let dup = writer.add_bytes("a/b", b"x").unwrap_err();
    assert!(
        matches!(dup, BundleError::DuplicateMember { .. }),
        "{dup:?}"
    );
    let clash = writer.add_bytes("a", b"x").unwrap_err();
    assert!(
        matches!(clash, BundleError::PathConflict { .. }),
        "{clash:?}"
    );
    // Refused paths wrote nothing: the bundle still finishes and verifies.
    writer.finish(None).unwrap();
    unpack(&tmp.path().join("b.tar.gz"), &tmp.path().join("s"), &[]).unwrap();
}

#[test]
fn tampered_member_is_refused_by_name() {
    let tmp = tempfile::tempdir().unwrap();
    let (bundle, _) = make_bundle(tmp.path(), None);
    rewrite(&bundle, |entries| {
        let i = position(entries, MODULE_ZIP);
        entries[i].data = b"PK evil bytes".to_vec();
    });
    let err = unpack(&bundle, &tmp.path().join("stage"), &[]).unwrap_err();
    assert!(
        matches!(&err, BundleError::MemberMismatch { path, .. } if path == MODULE_ZIP),
        "{err:?}"
    );
    assert!(err.to_string().contains(MODULE_ZIP));
}

#[test]
fn extra_member_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (bundle, _) = make_bundle(tmp.path(), None);
    rewrite(&bundle, |entries| {
        let i = position(entries, MANIFEST_MEMBER);
        entries.insert(i, Raw::file("go/extra.tar.gz", b"surprise"));
    });
    let err = unpack(&bundle, &tmp.path().join("stage"), &[]).unwrap_err();
    assert!(
        matches!(&err, BundleError::ExtraMember { path } if path == "go/extra.tar.gz"),
        "{err:?}"
    );
}

#[test]
fn missing_member_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (bundle, _) = make_bundle(tmp.path(), None);
    rewrite(&bundle, |entries| {
        entries.remove(position(entries, MODULE_MOD));
    });
    let err = unpack(&bundle, &tmp.path().join("stage"), &[]).unwrap_err();
    assert!(
        matches!(&err, BundleError::MissingMember { path } if path == MODULE_MOD),
        "{err:?}"
    );
}

#[test]
fn missing_manifest_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (bundle, _) = make_bundle(tmp.path(), None);
    rewrite(&bundle, |entries| {
        entries.pop();
    });
    let err = unpack(&bundle, &tmp.path().join("stage"), &[]).unwrap_err();
    assert!(matches!(err, BundleError::MissingManifest), "{err:?}");
}

#[test]
fn wrong_lockfile_is_refused_with_a_hint() {
    let tmp = tempfile::tempdir().unwrap();
    let (bundle, _) = make_bundle(tmp.path(), None);
    let other = sha(b"another lockfile");
    let err = unpack_verified(
        &bundle,
        &tmp.path().join("stage"),
        &other,
        &[],
        &Limits::default(),
    )
    .unwrap_err();
    assert!(matches!(err, BundleError::WrongLockfile { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.contains("this bundle was made for another golock.toml (sha256 "),
        "{message}"
    );
    assert!(message.contains(&sha(LOCKFILE)), "{message}");
    assert!(message.contains("# golock lockfile"), "{message}");
}

#[test]
fn unsafe_entries_are_refused_before_writing_outside_dest() {
    let cases: [(&[u8], tar::EntryType); 6] = [
        (b"../escape.txt", tar::EntryType::Regular),
        (b"go/../../escape.txt", tar::EntryType::Regular),
        (b"/tmp/escape.txt", tar::EntryType::Regular),
        (b"go\\..\\escape.txt", tar::EntryType::Regular),
        (b"go/link", tar::EntryType::Symlink),
        (b"go/hard", tar::EntryType::Link),
    ];
    for (name, kind) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let (bundle, _) = make_bundle(tmp.path(), None);
        rewrite(&bundle, |entries| {
            let raw = Raw {
                name: name.to_vec(),
                data: b"pwned".to_vec(),
                kind,
            };
            entries.insert(1, raw);
        });
        let stage = tmp.path().join("a").join("stage");
        fsx::create_dir_all(&stage).unwrap();
        let err = unpack(&bundle, &stage, &[]).unwrap_err();
        let shown = String::from_utf8_lossy(name).into_owned();
        assert!(
            matches!(
                &err,
                BundleError::UnsafePath { path, .. } | BundleError::UnsupportedEntry { path, .. }
                    if *path == shown
            ),
            "{shown}: {err:?}"
        );
        assert!(!tmp.path().join("escape.txt").exists());
        assert!(!tmp.path().join("a").join("escape.txt").exists());
        assert!(!stage.join("go").join("link").exists());
    }
}

#[test]
fn duplicate_and_misplaced_members_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (bundle, _) = make_bundle(tmp.path(), None);
    rewrite(&bundle, |entries| {
        entries.insert(2, Raw::file(MODULE_ZIP, b"PK zip bytes"));
    });
    let err = unpack(&bundle, &tmp.path().join("s1"), &[]).unwrap_err();
    assert!(
        matches!(&err, BundleError::DuplicateMember { path } if path == MODULE_ZIP),
        "{err:?}"
    );

    let (bundle, _) = make_bundle(tmp.path(), None);
    rewrite(&bundle, |entries| entries.push(Raw::file("late.txt", b"x")));
    let err = unpack(&bundle, &tmp.path().join("s2"), &[]).unwrap_err();
    assert!(
        matches!(&err, BundleError::MisplacedMember { path, .. } if path == "late.txt"),
        "{err:?}"
    );

    let (bundle, _) = make_bundle(tmp.path(), None);
    rewrite(&bundle, |entries| entries.swap(0, 1));
    let err = unpack(&bundle, &tmp.path().join("s3"), &[]).unwrap_err();
    assert!(
        matches!(&err, BundleError::MisplacedMember { path, .. } if path == TOOLCHAIN),
        "{err:?}"
    );
}

#[test]
fn size_caps_are_enforced() {
    let tmp = tempfile::tempdir().unwrap();
    let (bundle, _) = make_bundle(tmp.path(), None);
    let member_cap = Limits {
        max_member_bytes: 1000,
        ..Limits::default()
    };
    let total_cap = Limits {
        max_total_bytes: 1000,
        ..Limits::default()
    };
    let count_cap = Limits {
        max_members: 2,
        ..Limits::default()
    };
    for (limits, member) in [
        (member_cap, TOOLCHAIN),
        (total_cap, TOOLCHAIN),
        (count_cap, MODULE_ZIP),
    ] {
        let dest = tempfile::tempdir().unwrap();
        let err = unpack_verified(&bundle, dest.path(), &sha(LOCKFILE), &[], &limits).unwrap_err();
        assert!(
            matches!(&err, BundleError::LimitExceeded { path, .. } if path == member),
            "{err:?}"
        );
    }
}

/// A Go archive's OpenPGP signature member is capped at 64 KiB when read
/// back, whatever the per-member cap.
#[test]
fn an_archive_signature_member_over_64_kib_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("bundle.tar.gz");
    let sig = format!("{TOOLCHAIN}.asc");
    let mut writer = BundleWriter::create(&out, LOCKFILE).unwrap();
    writer.add_bytes(TOOLCHAIN, b"archive").unwrap();
    writer.add_bytes(&sig, &vec![b'a'; 64 * 1024 + 1]).unwrap();
    writer.finish(None).unwrap();
    let dest = tempfile::tempdir().unwrap();
    let err = unpack(&out, &dest.path().join("x"), &[]).unwrap_err();
    assert!(
        matches!(&err, BundleError::LimitExceeded { path, .. } if *path == sig),
        "{err:?}"
    );
}

#[test]
fn dest_must_be_empty() {
    let tmp = tempfile::tempdir().unwrap();
    let (bundle, _) = make_bundle(tmp.path(), None);
    let err = unpack(&bundle, tmp.path(), &[]).unwrap_err();
    assert!(matches!(err, BundleError::DestNotEmpty { .. }), "{err:?}");
}

#[test]
fn signed_bundle_verifies_with_the_right_key() {
    let tmp = tempfile::tempdir().unwrap();
    let (key, public) = keypair();
    let (_, other_public) = keypair();
    let (bundle, written) = make_bundle(tmp.path(), Some(&key));
    let entries = read_entries(&bundle);
    assert_eq!(entries.last().unwrap().name, SIGNATURE_MEMBER.as_bytes());
    // Any trusted key may have signed it.
    let read = unpack(&bundle, &tmp.path().join("stage"), &[other_public, public]).unwrap();
    assert_eq!(read, written);
}

#[test]
fn unsigned_bundle_is_refused_when_keys_are_trusted() {
    let tmp = tempfile::tempdir().unwrap();
    let (_, public) = keypair();
    let (bundle, _) = make_bundle(tmp.path(), None);
    let err = unpack(&bundle, &tmp.path().join("stage"), &[public]).unwrap_err();
    assert!(matches!(err, BundleError::Unsigned), "{err:?}");
}

#[test]
fn bundle_signed_by_another_key_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (key, _) = keypair();
    let (_, other_public) = keypair();
    let (bundle, _) = make_bundle(tmp.path(), Some(&key));
    let err = unpack(&bundle, &tmp.path().join("stage"), &[other_public]).unwrap_err();
    assert!(
        matches!(&err, BundleError::UntrustedSigner { key_id } if *key_id == key.key_id()),
        "{err:?}"
    );
}

#[test]
fn manifest_altered_after_signing_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let (key, public) = keypair();
    let (bundle, _) = make_bundle(tmp.path(), Some(&key));
    // A consistent forgery: new member bytes and a manifest listing them.
    rewrite(&bundle, |entries| {
        let evil = b"PK evil bytes";
        let i = position(entries, MODULE_ZIP);
        entries[i].data = evil.to_vec();
        let m = position(entries, MANIFEST_MEMBER);
        let mut manifest: Manifest = serde_json::from_slice(&entries[m].data).unwrap();
        let member = manifest
            .members
            .iter_mut()
            .find(|m| m.path == MODULE_ZIP)
            .unwrap();
        member.size = evil.len() as u64;
        member.sha256 = sha(evil);
        entries[m].data = serde_json::to_vec_pretty(&manifest).unwrap();
    });
    let err = unpack(
        &bundle,
        &tmp.path().join("s1"),
        std::slice::from_ref(&public),
    )
    .unwrap_err();
    assert!(matches!(err, BundleError::BadSignature { .. }), "{err:?}");
    // Without trusted keys the forgery is consistent, and the signature ignored.
    unpack(&bundle, &tmp.path().join("s2"), &[]).unwrap();
}

#[test]
fn signature_is_ignored_without_trusted_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let (key, _) = keypair();
    let (bundle, _) = make_bundle(tmp.path(), Some(&key));
    rewrite(&bundle, |entries| {
        entries.last_mut().unwrap().data = b"not a signature".to_vec();
    });
    unpack(&bundle, &tmp.path().join("stage"), &[]).unwrap();
}

#[test]
fn malformed_trusted_key_is_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let (key, _) = keypair();
    let (bundle, _) = make_bundle(tmp.path(), Some(&key));
    let err = unpack(&bundle, &tmp.path().join("stage"), &["RWnope".to_owned()]).unwrap_err();
    assert!(matches!(err, BundleError::BadTrustedKey { .. }), "{err:?}");
}

#[test]
fn secret_key_file_loads_minisign_key_files() {
    let tmp = tempfile::tempdir().unwrap();
    let kp = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
    let path = tmp.path().join("golock.key");
    fsx::write(&path, kp.sk.to_box(None).unwrap().into_string()).unwrap();
    let pub_file = kp.pk.to_box().unwrap().into_string();
    let key = SecretKeyFile::load(&path, None).unwrap();
    assert_eq!(key.public_key_base64().unwrap(), kp.pk.to_base64());
    let (bundle, _) = make_bundle(tmp.path(), Some(&key));
    // A whole .pub file is accepted as a trusted key too.
    unpack(&bundle, &tmp.path().join("stage"), &[pub_file]).unwrap();

    fsx::write(&path, "untrusted comment: x\nnot base64\n").unwrap();
    let err = SecretKeyFile::load(&path, None).unwrap_err();
    assert!(matches!(err, BundleError::SecretKey { .. }), "{err:?}");
}

/// A key as `minisign -G -W` writes it: unencrypted, checksum all zeros.
fn with_zero_checksum(key_box: &str) -> String {
    use base64::Engine as _;
    let engine = &base64::engine::general_purpose::STANDARD;
    let mut lines: Vec<String> = key_box.lines().map(str::to_owned).collect();
    let mut bytes = engine.decode(&lines[1]).unwrap();
    let len = bytes.len();
    bytes[len - 32..].fill(0);
    lines[1] = engine.encode(&bytes);
    lines.join("\n") + "\n"
}

#[test]
fn unencrypted_keys_with_a_zero_checksum_load_with_minisigns_checksum() {
    let tmp = tempfile::tempdir().unwrap();
    let kp = minisign::KeyPair::generate_unencrypted_keypair().unwrap();
    let original = kp.sk.to_box(None).unwrap().into_string();
    let zeroed = with_zero_checksum(&original);
    assert_ne!(zeroed, original);
    assert_eq!(sign::fill_unencrypted_checksum(&zeroed), original);
    let path = tmp.path().join("reference.key");
    fsx::write(&path, &zeroed).unwrap();
    let key = SecretKeyFile::load(&path, None).unwrap();
    assert_eq!(key.public_key_base64().unwrap(), kp.pk.to_base64());
    // A key with a checksum of its own is passed on untouched.
    assert_eq!(sign::fill_unencrypted_checksum(&original), original);
}

#[test]
fn truncated_gzip_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let (bundle, _) = make_bundle(tmp.path(), None);
    let bytes = fsx::read(&bundle).unwrap();
    for keep in [
        10,
        bytes.len() / 2,
        bytes.len() - 100,
        bytes.len() - 4,
        bytes.len() - 1,
    ] {
        fsx::write(&bundle, &bytes[..keep]).unwrap();
        let dest = tempfile::tempdir().unwrap();
        let err = unpack(&bundle, dest.path(), &[]).unwrap_err();
        assert!(
            matches!(err, BundleError::Truncated { .. }),
            "keep {keep}: {err:?}"
        );
        assert!(read_manifest(&bundle).is_err());
    }
}

#[test]
fn trailing_garbage_is_an_error() {
    let tmp = tempfile::tempdir().unwrap();
    let (bundle, _) = make_bundle(tmp.path(), None);
    fsx::OpenOptions::new()
        .append(true)
        .open(&bundle)
        .unwrap()
        .write_all(b"junk")
        .unwrap();
    let err = unpack(&bundle, &tmp.path().join("stage"), &[]).unwrap_err();
    assert!(matches!(err, BundleError::Corrupt { .. }), "{err:?}");
}

#[test]
fn newer_format_is_reported_as_such() {
    let tmp = tempfile::tempdir().unwrap();
    let (bundle, _) = make_bundle(tmp.path(), None);
    rewrite(&bundle, |entries| {
        let m = position(entries, MANIFEST_MEMBER);
        let text = String::from_utf8(entries[m].data.clone()).unwrap();
        let text = text.replace(
            "\"format_version\": 1",
            "\"format_version\": 2, \"new\": true",
        );
        entries[m].data = text.into_bytes();
    });
    let err = read_manifest(&bundle).unwrap_err();
    assert!(
        matches!(err, BundleError::UnsupportedFormat { found: 2, .. }),
        "{err:?}"
    );
}
