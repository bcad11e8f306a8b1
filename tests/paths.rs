//! Paths golock must not follow, overlap or assume writable (issue #9, E, F
//! and G): profile symlinks leaving HOME, overlapping managed paths, CRLF
//! profiles with real shells, a full disk, a read-only HOME, refused bundles.
// Tests set up and inspect the host directly, not through golock::fsx.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;

use support::{Host, NEW, says, snapshot};

/// A mount made for one test, unmounted when dropped.
struct Mount(PathBuf);

impl Mount {
    /// Runs `mount ARGS…` then, if given, a remount. A refused mount fails
    /// the test: these tests need root, as scripts/test.sh runs them.
    fn new(target: &Path, args: &[&str], remount: Option<&[&str]>) -> Mount {
        let run = |args: &[&str]| {
            Command::new("mount")
                .args(args)
                .arg(target)
                .output()
                .map_err(|e| e.to_string())
                .and_then(|out| {
                    if out.status.success() {
                        Ok(())
                    } else {
                        Err(String::from_utf8_lossy(&out.stderr).into_owned())
                    }
                })
        };
        let refused = |what: String, why: String| -> ! {
            panic!(
                "{what} refused: {why}; this test needs root (CAP_SYS_ADMIN), run it as scripts/test.sh does"
            )
        };
        if let Err(why) = run(args) {
            refused(format!("mount {args:?} {}", target.display()), why);
        }
        let mount = Mount(target.to_path_buf());
        if let Some(remount) = remount
            && let Err(why) = run(remount)
        {
            refused(format!("remount {remount:?}"), why);
        }
        mount
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// golock with no environment of its own (see `Host::golock_for`), for a
/// test that needs another --root than the host's.
fn golock_bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_golock"));
    cmd.args(["--color", "never"]);
    for var in ["GOENV", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "GOLOCK_ROOT"] {
        cmd.env_remove(var);
    }
    cmd
}

fn no_toolchain_installed(h: &Host) {
    let toolchains = h.root.join("toolchains");
    let installed = std::fs::read_dir(&toolchains)
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(installed, 0, "nothing may be installed in {toolchains:?}");
    assert!(!h.root.join("go").exists(), "no active link");
    let journals = std::fs::read_dir(h.root.join("journal"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert_eq!(journals, 0, "no journal left behind");
}

fn staging_entries(h: &Host) -> Vec<String> {
    std::fs::read_dir(h.root.join("staging"))
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn profile_links_leaving_home_are_refused() {
    let h = Host::new();
    h.lock(NEW, Host::standard_extra());
    let outside = h.base().join("outside");
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("bashrc"), "# not golock's\n").unwrap();
    // An existing file outside, and a dangling link into a dir that does not exist.
    std::os::unix::fs::symlink(outside.join("bashrc"), h.home.join(".bashrc")).unwrap();
    std::os::unix::fs::symlink(outside.join("new/dir/profile"), h.home.join(".profile")).unwrap();
    for args in [&["plan"][..], &["apply", "-y"]] {
        let out = h.expect(args, 1);
        let message = format!(
            "{} resolves to {}, outside the home directory {}",
            h.home.join(".profile").display(),
            outside.join("new/dir/profile").display(),
            h.home.display()
        );
        assert!(says(&out, &message), "{args:?}: {out}");
    }
    assert_eq!(
        std::fs::read_dir(&outside).unwrap().count(),
        1,
        "no dirs or files created outside HOME"
    );
    no_toolchain_installed(&h);

    // The existing file's link alone is refused too; so is a go env file
    // reached through a linked ~/.config.
    std::fs::remove_file(h.home.join(".profile")).unwrap();
    let out = h.expect(&["apply", "-y"], 1);
    assert!(
        says(
            &out,
            &format!(".bashrc resolves to {}", outside.join("bashrc").display())
        ),
        "{out}"
    );
    assert_eq!(
        std::fs::read(outside.join("bashrc")).unwrap(),
        b"# not golock's\n"
    );
    std::fs::remove_file(h.home.join(".bashrc")).unwrap();
    std::os::unix::fs::symlink(&outside, h.home.join(".config")).unwrap();
    let out = h.expect(&["plan"], 1);
    assert!(
        says(
            &out,
            &format!("go/env resolves to {}", outside.join("go/env").display())
        ),
        "{out}"
    );
    h.expect(&["apply", "-y"], 1);
    assert_eq!(std::fs::read_dir(&outside).unwrap().count(), 1);
    no_toolchain_installed(&h);
}

#[test]
fn profile_link_inside_home_is_written_and_named_in_the_plan() {
    let h = Host::new();
    h.lock(NEW, Host::standard_extra());
    std::fs::create_dir_all(h.home.join("dots")).unwrap();
    std::fs::write(h.home.join("dots/bashrc"), "# dotfiles\n").unwrap();
    std::os::unix::fs::symlink("dots/bashrc", h.home.join(".bashrc")).unwrap();
    let plan = h.expect(&["plan"], 0);
    let line = format!(
        "~ update golock block in {} \u{2192} {}",
        h.home.join(".bashrc").display(),
        h.home.join("dots/bashrc").display()
    );
    assert!(plan.contains(&line), "{line}\n{plan}");
    // A file that is no link is named once.
    assert!(
        plan.contains(&format!(
            "+ create golock block in {}\n",
            h.home.join(".profile").display()
        )),
        "{plan}"
    );
    h.expect(&["apply", "-y"], 0);
    assert!(
        std::fs::symlink_metadata(h.home.join(".bashrc"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let written = std::fs::read_to_string(h.home.join("dots/bashrc")).unwrap();
    assert!(
        written.starts_with("# dotfiles\n# >>> golock >>>"),
        "{written}"
    );
}

#[test]
fn overlapping_paths_are_refused_naming_both() {
    let h = Host::new();
    let cases = [
        (
            format!(
                "[env]\nGOMODCACHE = \"{}\"\n",
                h.root.join("toolchains/mod").display()
            ),
            format!(
                "GOMODCACHE {} lies inside golock's data dir {}",
                h.root.join("toolchains/mod").display(),
                h.root.display()
            ),
        ),
        (
            format!("[env]\nGOMODCACHE = \"{}\"\n", h.home.display()),
            format!("GOMODCACHE {} is the whole filesystem", h.home.display()),
        ),
        (
            "[env]\nGOMODCACHE = \"/\"\n".to_string(),
            "GOMODCACHE / is the whole filesystem".to_string(),
        ),
        (
            format!(
                "[env]\nGOMODCACHE = \"{}\"\n[profile]\nfiles = [\"~/cache/rc\"]\n",
                h.home.join("cache").display()
            ),
            format!(
                "profile file {} lies inside GOMODCACHE {}",
                h.home.join("cache/rc").display(),
                h.home.join("cache").display()
            ),
        ),
        (
            format!(
                "[profile]\nfiles = [\"~/.profile\", \"{}\"]\n",
                h.root.join("rc").display()
            ),
            String::new(), // refused by the lockfile: outside HOME
        ),
    ];
    for (extra, message) in &cases {
        h.lock(NEW, extra);
        let out = h.expect(&["plan"], 1);
        assert!(says(&out, message), "{message}\n{out}");
    }
    // A profile file inside the data dir (both inside HOME).
    h.lock(NEW, "[profile]\nfiles = [\"~/.local/share/golock/rc\"]\n");
    let root = h.home.join(".local/share/golock");
    let mut cmd = golock_bin();
    cmd.arg("--root").arg(&root).arg("--home").arg(&h.home);
    cmd.arg("--lockfile").arg(h.lockfile()).arg("plan");
    let out = support::expect_exit(&mut cmd, 1);
    let message = format!(
        "profile file {} lies inside golock's data dir {}",
        root.join("rc").display(),
        root.display()
    );
    assert!(says(&out, &message), "{message}\n{out}");
    // [go] link inside the data dir.
    let link = h.root.join("usr-local-go");
    h.lock(NEW, "[profile]\nfiles = []\n");
    let text = std::fs::read_to_string(h.lockfile()).unwrap().replace(
        "[go.archives]",
        &format!("link = \"{}\"\n\n[go.archives]", link.display()),
    );
    std::fs::write(h.lockfile(), text).unwrap();
    let out = h.expect(&["apply", "-y"], 1);
    let message = format!(
        "[go] link {} lies inside golock's data dir {}",
        link.display(),
        h.root.display()
    );
    assert!(says(&out, &message), "{out}");
    no_toolchain_installed(&h);
}

/// What a real shell prints for `go version` with this HOME and nothing else.
fn shell_go_version(h: &Host, shell: &[&str]) -> std::process::Output {
    Command::new("env")
        .arg("-i")
        .arg(format!("HOME={}", h.home.display()))
        .arg("PATH=/usr/bin:/bin")
        .args(shell)
        .output()
        .unwrap()
}

#[test]
fn crlf_profiles_get_an_lf_block_and_every_shell_still_works() {
    let h = Host::new();
    h.lock(
        NEW,
        "[env]\nGOFLAGS = \"-mod=mod\"\n\n[profile]\nfiles = [\"~/.profile\", \"~/.zshrc\", \"~/.config/fish/config.fish\"]\n",
    );
    let sh: &[u8] = b"# user settings\r\nexport A=1\r\n";
    let fish: &[u8] = b"# user settings\r\nset -gx A 1\r\n";
    std::fs::create_dir_all(h.home.join(".config/fish")).unwrap();
    std::fs::write(h.home.join(".profile"), sh).unwrap();
    std::fs::write(h.home.join(".zshrc"), sh).unwrap();
    std::fs::write(h.home.join(".config/fish/config.fish"), fish).unwrap();

    let plan = h.expect(&["plan"], 0);
    assert!(
        plan.contains("warning: ~/.profile has 2 line(s) ending in CRLF"),
        "{plan}"
    );
    let applied = h.expect(&["apply", "-y"], 0);
    assert!(
        applied.contains("~/.zshrc has 2 line(s) ending in CRLF"),
        "{applied}"
    );

    for (rel, mine) in [
        (".profile", sh),
        (".zshrc", sh),
        (".config/fish/config.fish", fish),
    ] {
        let bytes = h.read_home(rel);
        assert!(
            bytes.starts_with(mine),
            "{rel}: bytes before the block kept"
        );
        let block = &bytes[mine.len()..];
        assert!(block.starts_with(b"# >>> golock >>>\n"), "{rel}");
        assert!(!block.contains(&b'\r'), "{rel}: the block is LF only");
    }
    for shell in [
        &["bash", "-lc", "go version"][..],
        &["zsh", "-c", ". ~/.zshrc && go version"],
        &["fish", "-c", "go version"],
    ] {
        let out = shell_go_version(&h, shell);
        let text = support::combined_output(&out);
        assert!(out.status.success(), "{shell:?}: {text}");
        assert!(text.contains(&format!("go{NEW}")), "{shell:?}: {text}");
    }
    // Idempotent: nothing left to change.
    let again = h.expect(&["plan", "--detailed-exitcode"], 0);
    assert!(again.contains("No changes."), "{again}");
}

#[test]
fn full_disk_names_the_space_needed_not_the_source() {
    let h = Host::new();
    h.lock(NEW, Host::standard_extra());
    std::fs::create_dir_all(&h.root).unwrap();
    let _tmpfs = Mount::new(
        &h.root,
        &["-t", "tmpfs", "-o", "size=20m,mode=0755", "tmpfs"],
        None,
    );
    let home_before = snapshot(&h.home);
    let out = h.expect(&["apply", "-y"], 1);
    assert!(says(&out, "No space left on device"), "{out}");
    assert!(
        says(
            &out,
            &format!("cannot write {}", h.root.join("staging").display())
        ),
        "names the path: {out}"
    );
    // The unpacked size, from the archive's gzip trailer.
    let archive = std::fs::read(support::archive(NEW)).unwrap();
    let tail: [u8; 4] = archive[archive.len() - 4..].try_into().unwrap();
    let unpacked = u32::from_le_bytes(tail);
    assert!(
        says(
            &out,
            &format!("needs about {unpacked} bytes (the archive's unpacked size)")
        ),
        "{out}"
    );
    assert!(!out.contains("no source has"), "{out}");
    no_toolchain_installed(&h);
    assert_eq!(staging_entries(&h), Vec::<String>::new());
    assert_eq!(snapshot(&h.home), home_before, "HOME untouched");
}

#[test]
fn read_only_home_fails_the_plan_and_changes_nothing() {
    let h = Host::new();
    h.lock(NEW, Host::standard_extra());
    std::fs::write(h.home.join(".profile"), "# mine\n").unwrap();
    let home = h.home.to_str().unwrap().to_string();
    let _ro = Mount::new(
        &h.home,
        &["--bind", &home],
        Some(&["-o", "remount,bind,ro"]),
    );
    assert!(
        std::fs::write(h.home.join("probe"), "x").is_err(),
        "HOME is read-only"
    );
    let before = snapshot(&h.base());
    for args in [&["plan"][..], &["apply", "-y"]] {
        let out = h.expect(args, 1);
        let message =
            format!("cannot write the file {home}/.profile: {home} is on a read-only filesystem");
        assert!(says(&out, &message), "{args:?}: {out}");
    }
    no_toolchain_installed(&h);
    let after = snapshot(&h.base());
    let changed: Vec<_> = after
        .iter()
        .filter(|(k, v)| before.get(*k) != Some(v))
        .map(|(k, _)| k.clone())
        .collect();
    // apply takes its lock (root/lock) before planning; nothing else appears.
    assert!(
        changed.iter().all(|k| k == "root" || k == "root/lock"),
        "{changed:?}"
    );
}

#[test]
fn refused_bundles_leave_nothing_in_staging() {
    let a = Host::new();
    a.lock(NEW, "");
    let bundle = a.base().join("offline.tar.gz");
    a.expect(&["bundle", "-o", bundle.to_str().unwrap()], 0);

    // Tampered: one byte of the Go archive member flipped.
    let mut bytes = std::fs::read(&bundle).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    let tampered = a.base().join("tampered.tar.gz");
    std::fs::write(&tampered, &bytes).unwrap();
    // Made for another lockfile.
    let other = a.base().join("other.toml");
    let text = std::fs::read_to_string(a.lockfile()).unwrap() + "# changed\n";
    std::fs::write(&other, text).unwrap();

    for (lockfile, file) in [(a.lockfile(), &tampered), (other.clone(), &bundle)] {
        let h = Host::new();
        let mut cmd = h.golock_for(&lockfile);
        cmd.args(["apply", "-y", "--bundle", file.to_str().unwrap()]);
        let out = support::expect_exit(&mut cmd, 1);
        assert!(
            staging_entries(&h)
                .iter()
                .all(|e| !e.starts_with("bundle-")),
            "{file:?}: {:?}\n{out}",
            staging_entries(&h)
        );
        no_toolchain_installed(&h);
    }
}
