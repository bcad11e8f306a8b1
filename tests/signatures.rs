//! `[go] signing_keys` against the real gpg (Debian `gnupg`): keys made with
//! `gpg --quick-gen-key` in a throwaway GNUPGHOME, the real test archives
//! signed with `gpg --detach-sign` in a temp mirror, then `golock lock` and
//! `golock apply` accept or refuse them.
// Tests set up and inspect the host directly, not through golock::fsx.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{Host, NEW, Server, archive, says};

/// A throwaway GNUPGHOME; its gpg-agent is stopped when dropped.
struct Gpg {
    home: PathBuf,
}

impl Gpg {
    fn new(h: &Host, name: &str) -> Gpg {
        let home = h.base().join(format!("gnupg-{name}"));
        std::fs::create_dir(&home).unwrap();
        std::fs::set_permissions(&home, std::os::unix::fs::PermissionsExt::from_mode(0o700))
            .unwrap();
        Gpg { home }
    }

    fn cmd(&self) -> Command {
        let mut cmd = Command::new("gpg");
        cmd.arg("--homedir").arg(&self.home).args([
            "--batch",
            "--pinentry-mode",
            "loopback",
            "--passphrase",
            "",
        ]);
        cmd
    }

    fn run(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "gpg {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A new key `uid`; `usage` and `expire` as `--quick-gen-key` takes
    /// them. Returns the primary key's fingerprint.
    fn gen_key(&self, uid: &str, usage: &str, expire: &str) -> String {
        self.run(&["--quick-gen-key", uid, "ed25519", usage, expire]);
        let listing = self.run(&["--list-keys", "--with-colons", uid]);
        listing
            .lines()
            .find_map(|l| l.strip_prefix("fpr:::::::::"))
            .map(|f| f.trim_end_matches(':').to_string())
            .expect("fingerprint")
    }

    /// A key whose signatures come from a signing subkey, as Go's release
    /// key signs.
    fn gen_key_with_signing_subkey(&self, uid: &str) -> String {
        let fpr = self.gen_key(uid, "cert", "never");
        self.run(&["--quick-add-key", &fpr, "ed25519", "sign", "never"]);
        fpr
    }

    /// Export `fpr`'s public key, armored, to `path`.
    fn export(&self, fpr: &str, path: &Path) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, self.run(&["--export", "--armor", fpr])).unwrap();
    }

    /// `gpg --detach-sign [--armor]` `file` with `fpr`, into `<file>.asc` or `.sig`.
    fn sign(&self, fpr: &str, file: &Path, armor: bool) -> PathBuf {
        let out = PathBuf::from(format!(
            "{}.{}",
            file.display(),
            if armor { "asc" } else { "sig" }
        ));
        let _ = std::fs::remove_file(&out);
        let mut args = vec!["--local-user", fpr, "--detach-sign", "--output"];
        let out_s = out.to_str().unwrap().to_string();
        args.push(&out_s);
        if armor {
            args.push("--armor");
        }
        let file_s = file.to_str().unwrap().to_string();
        args.push(&file_s);
        self.run(&args);
        out
    }

    /// Revoke `fpr` with the revocation certificate gpg stored when it made
    /// the key (its first line is guarded by a `:`, as gpg writes it).
    fn revoke(&self, fpr: &str) {
        let cert = self.home.join(format!("openpgp-revocs.d/{fpr}.rev"));
        let text = std::fs::read_to_string(&cert)
            .unwrap()
            .replace(":-----BEGIN", "-----BEGIN");
        let unguarded = self.home.join("revoke.asc");
        std::fs::write(&unguarded, text).unwrap();
        self.run(&["--import", unguarded.to_str().unwrap()]);
    }
}

impl Drop for Gpg {
    fn drop(&mut self) {
        let _ = Command::new("gpgconf")
            .arg("--homedir")
            .arg(&self.home)
            .args(["--kill", "gpg-agent"])
            .status();
    }
}

/// A mirror dir with the real Go archive (a symlink to it, or a copy to
/// tamper with), and a golock.toml naming it and `keys/release.asc`, with no
/// archive locked yet.
fn signed_setup(h: &Host, copy: bool) -> PathBuf {
    let mirror = h.base().join("mirror");
    std::fs::create_dir_all(&mirror).unwrap();
    let file = mirror.join(format!("go{NEW}.linux-amd64.tar.gz"));
    if copy {
        std::fs::copy(archive(NEW), &file).unwrap();
    } else {
        std::os::unix::fs::symlink(archive(NEW), &file).unwrap();
    }
    std::fs::write(
        h.lockfile(),
        format!(
            "schema = 1\n\n[go]\nversion = \"{NEW}\"\nplatforms = [\"linux-amd64\"]\nmirrors = [\"{}\"]\nsigning_keys = [\"keys/release.asc\"]\n",
            mirror.display()
        ),
    )
    .unwrap();
    file
}

fn key_file(h: &Host) -> PathBuf {
    h.repo.join("keys/release.asc")
}

fn nothing_installed(h: &Host) {
    assert!(
        !h.root.join("toolchains").join(format!("go{NEW}")).exists(),
        "a toolchain was installed"
    );
    assert!(!h.root.join("go").exists(), "the link was switched");
}

/// The good case, with a signing subkey and an armored signature: `lock`
/// verifies it before recording the checksum and says by whom, the plan
/// shows the key's fingerprint, and apply installs.
#[test]
fn a_signed_archive_is_locked_and_applied() {
    let h = Host::new();
    let gpg = Gpg::new(&h, "a");
    let fpr = gpg.gen_key_with_signing_subkey("Release <release@example.com>");
    gpg.export(&fpr, &key_file(&h));
    let file = signed_setup(&h, false);
    gpg.sign(&fpr, &file, true);

    let out = h.expect(&["lock"], 0);
    assert!(says(&out, &format!("signed by {fpr}")), "{out}");
    let text = std::fs::read_to_string(h.lockfile()).unwrap();
    let (sha, _) = support::digest(&archive(NEW));
    assert!(text.contains(&sha), "{text}");

    let plan = h.expect(&["plan"], 0);
    assert!(
        says(&plan, &format!("signature by {fpr} (keys/release.asc)")),
        "{plan}"
    );
    h.expect(&["apply", "-y"], 0);
    assert!(h.active_go_version().contains(&format!("go{NEW}")));
}

/// A binary signature (`gpg --detach-sign`, `<file>.sig`) is accepted too.
#[test]
fn a_binary_signature_is_accepted() {
    let h = Host::new();
    let gpg = Gpg::new(&h, "b");
    let fpr = gpg.gen_key("Release <release@example.com>", "sign", "never");
    gpg.export(&fpr, &key_file(&h));
    let file = signed_setup(&h, false);
    gpg.sign(&fpr, &file, false);
    h.expect(&["lock"], 0);
    h.expect(&["apply", "-y"], 0);
    assert!(h.active_go_version().contains(&format!("go{NEW}")));
}

/// An archive changed after signing: `lock` refuses it, naming the file and
/// the key, and records nothing; a signature over other bytes is refused by
/// `apply`.
#[test]
fn a_tampered_archive_or_signature_is_refused() {
    let h = Host::new();
    let gpg = Gpg::new(&h, "t");
    let fpr = gpg.gen_key("Release <release@example.com>", "sign", "never");
    gpg.export(&fpr, &key_file(&h));
    let file = signed_setup(&h, true);
    gpg.sign(&fpr, &file, true);
    let mut bytes = std::fs::read(&file).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&file, bytes).unwrap();
    let before = std::fs::read(h.lockfile()).unwrap();

    let out = h.expect(&["lock"], 1);
    assert!(says(&out, &format!("go{NEW}.linux-amd64.tar.gz")), "{out}");
    assert!(says(&out, &fpr), "{out}");
    assert!(says(&out, "does not match"), "{out}");
    assert_eq!(std::fs::read(h.lockfile()).unwrap(), before);

    // Locked as signed; then the .asc is the trusted key's signature of
    // other bytes: the sha256 matches, the signature does not, and apply
    // installs nothing.
    std::fs::copy(archive(NEW), &file).unwrap();
    gpg.sign(&fpr, &file, true);
    h.expect(&["lock"], 0);
    let other = h.base().join("other.bin");
    std::fs::write(&other, b"other bytes").unwrap();
    let other_sig = gpg.sign(&fpr, &other, true);
    std::fs::copy(other_sig, format!("{}.asc", file.display())).unwrap();
    let out = h.expect(&["apply", "-y"], 1);
    assert!(says(&out, &format!("its signature by key {fpr}")), "{out}");
    assert!(says(&out, "does not match"), "{out}");
    nothing_installed(&h);
}

/// A signature by a key golock.toml does not trust: refused by `lock`;
/// and once locked, an archive re-signed by another key is refused by
/// `apply` before anything is installed.
#[test]
fn a_signature_by_another_key_is_refused() {
    let h = Host::new();
    let gpg = Gpg::new(&h, "o");
    let trusted = gpg.gen_key("Release <release@example.com>", "sign", "never");
    let other = gpg.gen_key("Mallory <mallory@example.com>", "sign", "never");
    gpg.export(&trusted, &key_file(&h));
    let file = signed_setup(&h, false);

    gpg.sign(&other, &file, true);
    let out = h.expect(&["lock"], 1);
    assert!(says(&out, &format!("signed by key {other}")), "{out}");
    assert!(says(&out, "which is not in [go] signing_keys"), "{out}");
    assert!(says(&out, &trusted), "{out}");

    gpg.sign(&trusted, &file, true);
    h.expect(&["lock"], 0);
    gpg.sign(&other, &file, true);
    let out = h.expect(&["apply", "-y"], 1);
    assert!(says(&out, &format!("signed by key {other}")), "{out}");
    nothing_installed(&h);
}

/// A key that expired after it signed: refused by `lock`, naming it; and a
/// key whose expiry was set into the past with `gpg --quick-set-expire`
/// after the archive was locked is refused by `apply`.
#[test]
fn an_expired_key_is_refused() {
    let h = Host::new();
    let gpg = Gpg::new(&h, "e");
    let fpr = gpg.gen_key("Release <release@example.com>", "sign", "seconds=2");
    let file = signed_setup(&h, false);
    gpg.sign(&fpr, &file, true);
    gpg.export(&fpr, &key_file(&h));
    std::thread::sleep(std::time::Duration::from_secs(3));
    let out = h.expect(&["lock"], 1);
    assert!(says(&out, &format!("signed by key {fpr}")), "{out}");
    assert!(says(&out, "which expired"), "{out}");

    let later = gpg.gen_key("Later <later@example.com>", "sign", "never");
    gpg.export(&later, &key_file(&h));
    gpg.sign(&later, &file, true);
    h.expect(&["lock"], 0);
    gpg.run(&["--quick-set-expire", &later, "seconds=1"]);
    gpg.export(&later, &key_file(&h));
    std::thread::sleep(std::time::Duration::from_secs(2));
    let out = h.expect(&["apply", "-y"], 1);
    assert!(says(&out, &format!("signed by key {later}")), "{out}");
    assert!(says(&out, "which expired"), "{out}");
    nothing_installed(&h);
}

/// A key revoked after the archive was locked: apply refuses it, and lock
/// does too.
#[test]
fn a_revoked_key_is_refused() {
    let h = Host::new();
    let gpg = Gpg::new(&h, "r");
    let fpr = gpg.gen_key("Release <release@example.com>", "sign", "never");
    gpg.export(&fpr, &key_file(&h));
    let file = signed_setup(&h, false);
    gpg.sign(&fpr, &file, true);
    h.expect(&["lock"], 0);

    gpg.revoke(&fpr);
    gpg.export(&fpr, &key_file(&h));
    let out = h.expect(&["apply", "-y"], 1);
    assert!(says(&out, &format!("signed by key {fpr}")), "{out}");
    assert!(says(&out, "which is revoked"), "{out}");
    nothing_installed(&h);
    let out = h.expect(&["lock", "--update"], 1);
    assert!(says(&out, "which is revoked"), "{out}");
}

/// No `.asc` or `.sig` beside the archive: refused, naming both names and
/// the trusted key.
#[test]
fn a_missing_signature_is_refused() {
    let h = Host::new();
    let gpg = Gpg::new(&h, "m");
    let fpr = gpg.gen_key("Release <release@example.com>", "sign", "never");
    gpg.export(&fpr, &key_file(&h));
    let file = signed_setup(&h, false);
    let out = h.expect(&["lock"], 1);
    assert!(
        says(
            &out,
            &format!("no signature for go{NEW}.linux-amd64.tar.gz")
        ),
        "{out}"
    );
    assert!(says(&out, &format!("{}.asc", file.display())), "{out}");
    assert!(says(&out, &fpr), "{out}");

    // Locked while signed, then the signature is gone: apply refuses
    // before it starts (the sources check), and plan says so too.
    let asc = gpg.sign(&fpr, &file, true);
    h.expect(&["lock"], 0);
    std::fs::remove_file(asc).unwrap();
    let out = h.expect(&["plan"], 1);
    assert!(
        says(&out, "has no signature beside it (.asc or .sig)"),
        "{out}"
    );
    let out = h.expect(&["apply", "-y"], 1);
    assert!(
        says(&out, "has no signature beside it (.asc or .sig)"),
        "{out}"
    );
    nothing_installed(&h);
}

/// A key file that is not a key is a lockfile error pointing at the entry.
#[test]
fn a_bad_key_file_is_a_lockfile_error() {
    let h = Host::new();
    signed_setup(&h, false);
    std::fs::create_dir_all(key_file(&h).parent().unwrap()).unwrap();
    std::fs::write(key_file(&h), "not a key\n").unwrap();
    let out = h.expect(&["plan"], 1);
    assert!(
        says(&out, "[go] signing_keys: cannot use \"keys/release.asc\""),
        "{out}"
    );
    assert!(says(&out, "not an OpenPGP public key"), "{out}");
    std::fs::remove_file(key_file(&h)).unwrap();
    let out = h.expect(&["plan"], 1);
    assert!(says(&out, "cannot open"), "{out}");
}

/// The signature travels: `golock bundle` carries it as `go/<file>.asc`
/// and an air-gapped host (the mirror gone) verifies it in `apply
/// --bundle`; `golock mirror` writes it beside the archive and a host
/// applies from that mirror; a source without one leaves the mirror
/// unwritten, naming the signature.
#[test]
fn signatures_travel_in_bundles_and_mirrors() {
    let h = Host::new();
    let gpg = Gpg::new(&h, "bm");
    let fpr = gpg.gen_key_with_signing_subkey("Release <release@example.com>");
    gpg.export(&fpr, &key_file(&h));
    let file = signed_setup(&h, false);
    let asc = gpg.sign(&fpr, &file, true);
    h.expect(&["lock"], 0);
    let name = format!("go{NEW}.linux-amd64.tar.gz");

    let bundle = h.base().join("offline.tar.gz");
    h.expect(&["bundle", "-o", bundle.to_str().unwrap()], 0);
    let listing = support::run_ok(Command::new("tar").arg("-tzf").arg(&bundle));
    assert!(
        listing.lines().any(|l| l == format!("go/{name}.asc")),
        "{listing}"
    );

    let served = h.base().join("served");
    h.expect(&["mirror", served.to_str().unwrap()], 0);
    assert_eq!(
        std::fs::read(served.join("go").join(format!("{name}.asc"))).unwrap(),
        std::fs::read(&asc).unwrap()
    );

    // A host whose golock.toml names the served mirror (and the same key).
    let other = Host::new();
    let text = std::fs::read_to_string(h.lockfile()).unwrap().replace(
        &h.base().join("mirror").display().to_string(),
        &served.join("go").display().to_string(),
    );
    std::fs::write(other.lockfile(), text).unwrap();
    std::fs::create_dir_all(other.repo.join("keys")).unwrap();
    std::fs::copy(key_file(&h), key_file(&other)).unwrap();
    other.expect(&["apply", "-y"], 0);
    assert!(other.active_go_version().contains(&format!("go{NEW}")));

    // Without the signature at the source, mirror refuses and writes nothing.
    std::fs::remove_file(&asc).unwrap();
    let empty = h.base().join("served2");
    let out = h.expect(&["mirror", empty.to_str().unwrap()], 1);
    assert!(
        says(&out, &format!("signature of go{NEW} archive {name}")),
        "{out}"
    );
    assert!(!empty.join("go").join(&name).exists());

    // The air-gapped host: the mirror is gone, the bundle has it all.
    std::fs::remove_dir_all(h.base().join("mirror")).unwrap();
    let inside = Host::new();
    support::succeeded(inside.golock_for(&h.lockfile()).args([
        "apply",
        "-y",
        "--bundle",
        bundle.to_str().unwrap(),
    ]));
    assert!(inside.active_go_version().contains(&format!("go{NEW}")));
}

/// An HTTP mirror: `lock` hashes and checks the body as it streams, apply
/// fetches `<url>.asc` and keeps it beside the cached archive, and a later
/// install from golock's cache (the server gone) checks it again; a cached
/// archive without its signature is not used.
#[test]
fn an_http_mirror_is_checked_and_the_cache_keeps_the_signature() {
    let h = Host::new();
    let gpg = Gpg::new(&h, "h");
    let fpr = gpg.gen_key_with_signing_subkey("Release <release@example.com>");
    gpg.export(&fpr, &key_file(&h));
    let file = signed_setup(&h, false);
    let asc = gpg.sign(&fpr, &file, true);
    let server = Server::serve(&h.base().join("mirror"));
    let text = std::fs::read_to_string(h.lockfile()).unwrap().replace(
        &h.base().join("mirror").display().to_string(),
        &format!("http://127.0.0.1:{}", server.port),
    );
    std::fs::write(h.lockfile(), text).unwrap();

    let out = h.expect(&["lock"], 0);
    assert!(says(&out, &format!("signed by {fpr}")), "{out}");
    assert!(
        says(&out, &format!("hashed http://127.0.0.1:{}", server.port)),
        "{out}"
    );
    h.expect(&["apply", "-y"], 0);
    let (sha, _) = support::digest(&archive(NEW));
    let kept = h.root.join("cache").join(format!("{sha}.asc"));
    assert_eq!(std::fs::read(&kept).unwrap(), std::fs::read(&asc).unwrap());

    drop(server);
    let installed = h.root.join("toolchains").join(format!("go{NEW}"));
    std::fs::remove_dir_all(&installed).unwrap();
    h.expect(&["apply", "-y"], 0);
    assert!(h.active_go_version().contains(&format!("go{NEW}")));

    std::fs::remove_dir_all(&installed).unwrap();
    std::fs::remove_file(&kept).unwrap();
    let out = h.expect(&["apply", "-y"], 1);
    assert!(says(&out, "no source has"), "{out}");
    assert!(!installed.exists());
}

/// The same key named twice (under two file names) is a lockfile error
/// naming the second entry and the first.
#[test]
fn the_same_key_twice_is_a_lockfile_error() {
    let h = Host::new();
    let gpg = Gpg::new(&h, "d");
    let fpr = gpg.gen_key("Release <release@example.com>", "sign", "never");
    gpg.export(&fpr, &key_file(&h));
    gpg.export(&fpr, &h.repo.join("keys/copy.asc"));
    signed_setup(&h, false);
    let text = std::fs::read_to_string(h.lockfile()).unwrap().replace(
        "signing_keys = [\"keys/release.asc\"]",
        "signing_keys = [\"keys/release.asc\", \"keys/copy.asc\"]",
    );
    std::fs::write(h.lockfile(), text).unwrap();
    let out = h.expect(&["plan"], 1);
    assert!(
        says(
            &out,
            &format!("key {fpr} is already named as \"keys/release.asc\"")
        ),
        "{out}"
    );
}
