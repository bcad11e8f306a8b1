//! Bundle signatures and the reference minisign tool (Debian's `minisign`,
//! issue #11 E): keys it makes sign golock bundles, its `-V` accepts what
//! golock signed, and golock accepts what it signed.
// Tests set up and inspect the host directly, not through golock::fsx.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{Host, NEW, run_ok};

/// A key pair made by `minisign -G -W` (unencrypted: its checksum field is
/// all zeros) in `dir`; returns (secret key path, public key file path).
fn reference_key_pair(dir: &Path) -> (PathBuf, PathBuf) {
    let (secret, public) = (dir.join("ref.key"), dir.join("ref.pub"));
    run_ok(
        Command::new("minisign")
            .args(["-G", "-W", "-p"])
            .arg(&public)
            .arg("-s")
            .arg(&secret),
    );
    (secret, public)
}

/// `minisign -S`: sign `file` with `secret` into `signature`.
fn reference_sign(secret: &Path, file: &Path, signature: &Path) {
    run_ok(
        Command::new("minisign")
            .arg("-S")
            .arg("-s")
            .arg(secret)
            .arg("-m")
            .arg(file)
            .arg("-x")
            .arg(signature)
            .args(["-t", "signed by the reference minisign"]),
    );
}

fn public_key_line(public: &Path) -> String {
    let text = std::fs::read_to_string(public).unwrap();
    text.lines()
        .nth(1)
        .expect("a .pub file's key line")
        .to_owned()
}

fn lock_trusting(h: &Host, key: &str) {
    h.lock(NEW, "");
    let text = std::fs::read_to_string(h.lockfile()).unwrap();
    std::fs::write(
        h.lockfile(),
        text.replacen(
            "schema = 1\n",
            &format!("schema = 1\ntrusted_keys = [\"{key}\"]\n"),
            1,
        ),
    )
    .unwrap();
}

/// Unpack `members` of the gzipped tar `bundle` into `dir`.
fn extract(bundle: &Path, dir: &Path, members: &[&str]) {
    run_ok(
        Command::new("tar")
            .arg("-xzf")
            .arg(bundle)
            .arg("-C")
            .arg(dir)
            .args(members),
    );
}

/// Copy `bundle` to `out` with the content of its last member (the
/// signature) replaced by `signature`, every other member as it was.
fn with_signature(bundle: &Path, signature: &Path, out: &Path) {
    let script = r#"
import sys, tarfile, io
src, sig, dst = sys.argv[1:4]
data = open(sig, 'rb').read()
with tarfile.open(src, 'r:gz') as a, tarfile.open(dst, 'w:gz') as b:
    members = a.getmembers()
    assert members[-1].name == 'manifest.json.minisig', members[-1].name
    for m in members[:-1]:
        b.addfile(m, a.extractfile(m))
    last = members[-1]
    last.size = len(data)
    b.addfile(last, io.BytesIO(data))
"#;
    run_ok(
        Command::new("python3")
            .args(["-c", script])
            .arg(bundle)
            .arg(signature)
            .arg(out),
    );
}

fn apply_bundle(lockfile: &Path, bundle: &Path) -> Host {
    let h = Host::new();
    h.succeed_for(
        lockfile,
        &["apply", "-y", "--bundle", bundle.to_str().unwrap()],
    );
    assert!(h.active_go_version().contains(NEW));
    h
}

#[test]
fn keys_made_by_the_reference_minisign_sign_bundles_both_ways() {
    let a = Host::new();
    let base = a.base();
    let (secret, public) = reference_key_pair(&base);
    let key_text = std::fs::read_to_string(&secret).unwrap();
    assert!(
        key_text
            .lines()
            .nth(1)
            .unwrap()
            .trim_end_matches('=')
            .ends_with(&"A".repeat(40)),
        "minisign -W leaves the checksum zero: {key_text}"
    );
    lock_trusting(&a, &public_key_line(&public));

    let bundle = base.join("signed.tar.gz");
    a.expect(
        &[
            "bundle",
            "-o",
            bundle.to_str().unwrap(),
            "--sign",
            secret.to_str().unwrap(),
        ],
        0,
    );

    // golock → minisign: the reference tool verifies golock's signature.
    let unpacked = base.join("unpacked");
    std::fs::create_dir(&unpacked).unwrap();
    extract(
        &bundle,
        &unpacked,
        &["manifest.json", "manifest.json.minisig"],
    );
    let verified = run_ok(
        Command::new("minisign")
            .arg("-V")
            .arg("-p")
            .arg(&public)
            .arg("-m")
            .arg(unpacked.join("manifest.json"))
            .arg("-x")
            .arg(unpacked.join("manifest.json.minisig")),
    );
    assert!(
        verified.contains("Signature and comment signature verified"),
        "{verified}"
    );
    apply_bundle(&a.lockfile(), &bundle);

    // minisign → golock: a signature the reference tool made is accepted.
    let theirs = base.join("theirs.minisig");
    reference_sign(&secret, &unpacked.join("manifest.json"), &theirs);
    let resigned = base.join("resigned.tar.gz");
    with_signature(&bundle, &theirs, &resigned);
    apply_bundle(&a.lockfile(), &resigned);

    // And it is really checked: the reference signature over other bytes is refused.
    let other = base.join("other.txt");
    std::fs::write(&other, b"not the manifest\n").unwrap();
    let wrong = base.join("wrong.minisig");
    reference_sign(&secret, &other, &wrong);
    let tampered = base.join("tampered.tar.gz");
    with_signature(&bundle, &wrong, &tampered);
    let h = Host::new();
    let out = h
        .golock_for(&a.lockfile())
        .args(["apply", "-y", "--bundle", tampered.to_str().unwrap()])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(!h.root.join("go").exists(), "nothing installed: {err}");
}

#[test]
fn a_damaged_reference_key_is_still_refused() {
    let h = Host::new();
    let base = h.base();
    let (secret, public) = reference_key_pair(&base);
    lock_trusting(&h, &public_key_line(&public));
    // Flip a byte of the secret key itself: the checksum golock fills in no
    // longer matters, the key no longer matches its public half.
    let text = std::fs::read_to_string(&secret).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut chars: Vec<char> = lines[1].chars().collect();
    chars[100] = if chars[100] == 'B' { 'C' } else { 'B' };
    lines[1] = chars.into_iter().collect();
    std::fs::write(&secret, lines.join("\n") + "\n").unwrap();
    let bundle = base.join("b.tar.gz");
    let out = h.expect(
        &[
            "bundle",
            "-o",
            bundle.to_str().unwrap(),
            "--sign",
            secret.to_str().unwrap(),
        ],
        1,
    );
    assert!(!bundle.exists(), "{out}");
}
