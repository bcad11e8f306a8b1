//! End-to-end: golock against a temporary root and HOME, with real Go
//! archives, asserting on files, exit codes and output.
// Tests set up and inspect the host directly, not through golock::fsx.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod support;

use std::os::unix::fs::PermissionsExt;

use support::{Host, NEW, archive, mtimes, old_version, snapshot};

#[test]
fn plan_apply_then_nothing_to_do() {
    let h = Host::new();
    h.lock(NEW, Host::standard_extra());

    let plan = h.expect(&["plan"], 0);
    assert!(
        plan.contains(&format!("+ install go{NEW} (linux-amd64)")),
        "{plan}"
    );
    assert!(plan.contains("+ create link"), "{plan}");
    assert!(plan.contains("+ create golock block in"), "{plan}");
    assert!(
        plan.contains("Plan: 5 to install, 0 to change, 0 to remove."),
        "{plan}"
    );
    h.expect(&["plan", "--detailed-exitcode"], 2);
    assert!(!h.root.join("go").exists(), "plan must not change the host");

    let applied = h.expect(&["apply", "-y"], 0);
    assert!(applied.contains("Apply complete!"), "{applied}");
    assert!(
        h.active_go_version()
            .contains(&format!("go{NEW} linux/amd64"))
    );

    // Through a login shell that sources the written ~/.profile.
    let shell = h.login_shell("go version; go env GOROOT GOFLAGS GOTOOLCHAIN");
    let lines: Vec<&str> = shell.lines().collect();
    assert!(lines[0].contains(&format!("go{NEW}")), "{shell}");
    assert_eq!(lines[1], h.root.join("go").display().to_string());
    assert_eq!(lines[2], "-mod=mod");
    assert_eq!(lines[3], "local");

    // The go env file, read by the installed go without the profile.
    let goenv = String::from_utf8(h.read_home(".config/go/env")).unwrap();
    assert!(goenv.contains("GOFLAGS=-mod=mod\n"), "{goenv}");
    let out = std::process::Command::new(h.root.join("go/bin/go"))
        .args(["env", "GOPROXY"])
        .env_clear()
        .env("HOME", &h.home)
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "off");

    let again = h.expect(&["plan", "--detailed-exitcode"], 0);
    assert!(
        again.contains("No changes. The host matches golock.toml."),
        "{again}"
    );
    let before = (mtimes(&h.root), mtimes(&h.home));
    let second = h.expect(&["apply", "-y"], 0);
    assert!(second.contains("No changes."), "{second}");
    assert_eq!(
        (mtimes(&h.root), mtimes(&h.home)),
        before,
        "a no-op apply wrote something"
    );
    assert!(h.expect(&["check"], 0).contains("In sync"));
}

#[test]
fn check_reports_each_drifted_item() {
    let h = Host::new();
    h.lock(NEW, Host::standard_extra());
    let drift = h.expect(&["check"], 2);
    let lines: Vec<&str> = drift.lines().filter(|l| l.starts_with("drift: ")).collect();
    assert_eq!(lines.len(), 5, "{drift}");
    h.expect(&["apply", "-y"], 0);
    h.expect(&["check"], 0);

    std::fs::write(h.home.join(".bashrc"), "# emptied by hand\n").unwrap();
    let drift = h.expect(&["check"], 2);
    assert!(
        drift.contains("drift: host: update golock block in"),
        "{drift}"
    );
    assert!(drift.contains(".bashrc"), "{drift}");
    assert_eq!(
        drift.lines().filter(|l| l.starts_with("drift: ")).count(),
        1,
        "{drift}"
    );

    std::fs::write(h.lockfile(), "schema = 1\n[go]\nversion = \"nope\"\n").unwrap();
    h.expect(&["check"], 1);
}

#[test]
fn switching_versions_keeps_the_old_one_until_pruned() {
    let h = Host::new();
    let old = old_version();
    h.lock(&old, Host::standard_extra());
    h.expect(&["apply", "-y"], 0);
    assert!(h.active_go_version().contains(&format!("go{old} ")));

    h.lock(NEW, Host::standard_extra());
    let plan = h.expect(&["plan"], 0);
    assert!(plan.contains(&format!("+ install go{NEW}")), "{plan}");
    assert!(plan.contains("~ switch link"), "{plan}");
    assert!(!plan.contains("- remove"), "{plan}");
    h.expect(&["apply", "-y"], 0);
    assert!(h.active_go_version().contains(&format!("go{NEW} ")));
    assert!(h.root.join(format!("toolchains/go{old}/bin/go")).is_file());
    assert!(h.login_shell("go version").contains(&format!("go{NEW}")));

    let prune = h.expect(&["plan", "--prune"], 0);
    assert!(prune.contains(&format!("- remove go{old}")), "{prune}");
    assert!(
        prune.contains("Plan: 0 to install, 0 to change, 1 to remove."),
        "{prune}"
    );
    h.expect(&["apply", "-y", "--prune"], 0);
    assert!(!h.root.join(format!("toolchains/go{old}")).exists());
    h.expect(&["plan", "--prune", "--detailed-exitcode"], 0);
}

#[test]
fn system_link_is_switched_with_the_active_link() {
    let h = Host::new();
    let usr_local = h.base().join("usr-local");
    std::fs::create_dir_all(&usr_local).unwrap();
    let link = usr_local.join("go");
    let (sha, size) = support::digest(&archive(NEW));
    let text = format!(
        "schema = 1\n[go]\nversion = \"{NEW}\"\nmirrors = [\"{}\"]\nlink = \"{}\"\n[go.archives]\nlinux-amd64 = {{ file = \"go{NEW}.linux-amd64.tar.gz\", sha256 = \"{sha}\", size = {size} }}\n",
        support::archives_dir().display(),
        link.display()
    );
    std::fs::write(h.lockfile(), &text).unwrap();
    h.expect(&["apply", "-y"], 0);
    assert_eq!(
        std::fs::read_link(&link).unwrap(),
        h.root.join(format!("toolchains/go{NEW}"))
    );
    assert!(link.join("bin/go").is_file());

    // A real directory there is never replaced silently.
    std::fs::remove_file(&link).unwrap();
    std::fs::create_dir(&link).unwrap();
    std::fs::write(link.join("keep"), "mine").unwrap();
    let err = h.expect(&["apply", "-y"], 1);
    assert!(err.contains("is a real directory"), "{err}");
    assert!(err.contains("mv"), "{err}");
    assert_eq!(std::fs::read(link.join("keep")).unwrap(), b"mine");
}

#[test]
fn checksum_mismatch_installs_nothing() {
    let h = Host::new();
    let (_, size) = support::digest(&archive(NEW));
    let wrong = "ab".repeat(32);
    let text = format!(
        "schema = 1\n[go]\nversion = \"{NEW}\"\nmirrors = [\"{}\"]\n[go.archives]\nlinux-amd64 = {{ file = \"go{NEW}.linux-amd64.tar.gz\", sha256 = \"{wrong}\", size = {size} }}\n[profile]\nfiles = [\"~/.profile\"]\n",
        support::archives_dir().display()
    );
    std::fs::write(h.lockfile(), text).unwrap();
    std::fs::write(h.home.join(".profile"), "# mine\n").unwrap();
    let before = snapshot(&h.home);
    let err = h.expect(&["apply", "-y"], 1);
    assert!(err.contains("checksum mismatch"), "{err}");
    assert!(
        err.contains(&format!("go{NEW}.linux-amd64.tar.gz")),
        "{err}"
    );
    assert!(err.contains(&wrong), "{err}");
    assert!(err.contains(&support::digest(&archive(NEW)).0), "{err}");
    assert_eq!(snapshot(&h.home), before);
    assert!(!h.root.join("go").exists());
    assert_eq!(
        std::fs::read_dir(h.root.join("staging"))
            .map(|d| d.count())
            .unwrap_or(0),
        0
    );
    assert_eq!(
        std::fs::read_dir(h.root.join("journal"))
            .map(|d| d.count())
            .unwrap_or(0),
        0
    );
    assert_eq!(
        std::fs::read_dir(h.root.join("toolchains"))
            .map(|d| d.count())
            .unwrap_or(0),
        0
    );
}

#[test]
fn archive_sources_plain_dir_and_flag() {
    let h = Host::new();
    // A plain directory path, relative to the lockfile's dir.
    let mirror = h.repo.join("mirror");
    std::fs::create_dir_all(&mirror).unwrap();
    std::fs::hard_link(
        archive(NEW),
        mirror.join(format!("go{NEW}.linux-amd64.tar.gz")),
    )
    .or_else(|_| {
        std::fs::copy(
            archive(NEW),
            mirror.join(format!("go{NEW}.linux-amd64.tar.gz")),
        )
        .map(|_| ())
    })
    .unwrap();
    let (sha, size) = support::digest(&archive(NEW));
    let lock = |mirrors: &str| {
        format!(
            "schema = 1\n[go]\nversion = \"{NEW}\"\nmirrors = [{mirrors}]\n[go.archives]\nlinux-amd64 = {{ file = \"go{NEW}.linux-amd64.tar.gz\", sha256 = \"{sha}\", size = {size} }}\n"
        )
    };
    std::fs::write(h.lockfile(), lock("\"mirror\"")).unwrap();
    h.expect(&["apply", "-y"], 0);
    assert!(h.active_go_version().contains(&format!("go{NEW}")));

    // --archive overrides mirrors that do not have the file.
    let h2 = Host::new();
    std::fs::write(h2.lockfile(), lock("\"file:///nonexistent/mirror\"")).unwrap();
    let err = h2.expect(&["apply", "-y"], 1);
    assert!(err.contains("/nonexistent/mirror"), "{err}");
    h2.expect(
        &["apply", "-y", "--archive", archive(NEW).to_str().unwrap()],
        0,
    );
    assert!(h2.active_go_version().contains(&format!("go{NEW}")));
}

#[test]
fn profile_bytes_outside_the_block_survive() {
    let h = Host::new();
    h.lock(NEW, Host::standard_extra());
    let crlf: &[u8] = b"# user\r\nexport A=1\r\nalias x='y'";
    let latin1: &[u8] = b"# caf\xe9\nexport B=2\n";
    std::fs::write(h.home.join(".bashrc"), crlf).unwrap();
    std::fs::write(h.home.join(".profile"), latin1).unwrap();
    std::fs::set_permissions(
        h.home.join(".profile"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    h.expect(&["apply", "-y"], 0);

    let bashrc = h.read_home(".bashrc");
    assert!(
        bashrc.starts_with(crlf),
        "{:?}",
        String::from_utf8_lossy(&bashrc)
    );
    let profile = h.read_home(".profile");
    assert!(profile.starts_with(latin1));
    let mode = std::fs::metadata(h.home.join(".profile"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "mode kept");

    // PATH does not grow when the profile is sourced twice; GOROOT/bin is first.
    let path = h.login_shell(". ~/.profile; . ~/.profile; echo \"$PATH\"");
    let goroot_bin = format!("{}/bin", h.root.join("go").display());
    assert!(path.trim().starts_with(&goroot_bin), "{path}");
    assert_eq!(path.matches(&goroot_bin).count(), 1, "{path}");
}

#[test]
fn symlinked_rc_file_keeps_its_link() {
    let h = Host::new();
    h.lock(NEW, Host::standard_extra());
    let dotfiles = h.home.join("dotfiles");
    std::fs::create_dir_all(&dotfiles).unwrap();
    std::fs::write(dotfiles.join("bashrc"), "# dotfiles\n").unwrap();
    std::os::unix::fs::symlink("dotfiles/bashrc", h.home.join(".bashrc")).unwrap();
    h.expect(&["apply", "-y"], 0);
    assert_eq!(
        std::fs::read_link(h.home.join(".bashrc")).unwrap(),
        std::path::PathBuf::from("dotfiles/bashrc")
    );
    let target = std::fs::read_to_string(dotfiles.join("bashrc")).unwrap();
    assert!(target.starts_with("# dotfiles\n"));
    assert!(target.contains("# >>> golock >>>"));
    // Missing files are created 0644.
    let mode = std::fs::metadata(h.home.join(".profile"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o644);
}

#[test]
fn broken_markers_and_edited_blocks_are_refused() {
    let h = Host::new();
    h.lock(NEW, Host::standard_extra());
    let bad = "a\n# >>> golock >>>\nb\n# >>> golock >>>\nc\n# <<< golock <<<\n";
    std::fs::write(h.home.join(".bashrc"), bad).unwrap();
    let err = h.expect(&["apply", "-y"], 1);
    assert!(
        err.contains('2') && err.contains('4'),
        "line numbers: {err}"
    );
    assert_eq!(
        std::fs::read_to_string(h.home.join(".bashrc")).unwrap(),
        bad
    );
    assert!(!h.root.join("go").exists());

    std::fs::remove_file(h.home.join(".bashrc")).unwrap();
    h.expect(&["apply", "-y"], 0);
    let text = std::fs::read_to_string(h.home.join(".bashrc")).unwrap();
    let edited = text.replace("GOFLAGS=", "GOFLAGS_EDITED=");
    std::fs::write(h.home.join(".bashrc"), &edited).unwrap();
    std::fs::write(
        h.lockfile(),
        std::fs::read_to_string(h.lockfile())
            .unwrap()
            .replace("\"-mod=mod\"", "\"-mod=readonly\""),
    )
    .unwrap();
    let err = h.expect(&["apply", "-y"], 1);
    assert!(err.contains("edited"), "{err}");
    assert!(err.contains("--force"), "{err}");
    assert_eq!(
        std::fs::read_to_string(h.home.join(".bashrc")).unwrap(),
        edited
    );
    h.expect(&["apply", "-y", "--force"], 0);
    let text = std::fs::read_to_string(h.home.join(".bashrc")).unwrap();
    assert!(
        text.contains("-mod=readonly") && !text.contains("GOFLAGS_EDITED"),
        "{text}"
    );
}

#[test]
fn fish_config_gets_fish_syntax() {
    let h = Host::new();
    h.lock(
        NEW,
        "[env]\nGOFLAGS = \"-mod=mod\"\n[profile]\nfiles = [\"~/.config/fish/config.fish\"]\n",
    );
    h.expect(&["apply", "-y"], 0);
    let fish = std::fs::read_to_string(h.home.join(".config/fish/config.fish")).unwrap();
    assert!(fish.contains("set -gx GOFLAGS"), "{fish}");
    assert!(!fish.contains("export "), "{fish}");
}

#[test]
fn json_plan_saved_and_refused_when_stale() {
    let h = Host::new();
    h.lock(NEW, Host::standard_extra());
    let out = h.succeed(&["plan", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["format_version"], 1);
    assert_eq!(v["observed_fingerprint"].as_str().unwrap().len(), 64);
    let types: Vec<&str> = v["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "install_toolchain",
            "switch_link",
            "write_file",
            "write_file",
            "write_file"
        ]
    );
    assert_eq!(v["summary"]["install"], 5);

    let saved = h.base().join("plan.json");
    h.expect(&["plan", "--out", saved.to_str().unwrap()], 0);
    // The host changes after the plan was saved: refused, nothing done.
    std::fs::write(h.home.join(".profile"), "# new\n").unwrap();
    let err = h.expect(&["apply", "-y", "--plan", saved.to_str().unwrap()], 1);
    assert!(err.contains("stale"), "{err}");
    assert!(!h.root.join("go").exists());
    h.expect(&["plan", "--out", saved.to_str().unwrap()], 0);
    h.expect(&["apply", "-y", "--plan", saved.to_str().unwrap()], 0);
    assert!(h.active_go_version().contains(&format!("go{NEW}")));
}

#[test]
fn a_plan_saved_before_the_data_dir_exists_applies() {
    // `plan --out` writes nothing, so the data dir does not exist yet; apply
    // creates it (its lock) before it compares the saved plan.
    let h = Host::new();
    h.lock(NEW, Host::standard_extra());
    let saved = h.base().join("plan.json");
    h.expect(&["plan", "--out", saved.to_str().unwrap()], 0);
    assert!(!h.root.exists(), "plan created the data dir");
    h.expect(&["apply", "-y", "--plan", saved.to_str().unwrap()], 0);
    assert!(h.active_go_version().contains(&format!("go{NEW}")));
}

#[test]
fn lockfile_errors_change_nothing() {
    let h = Host::new();
    std::fs::write(h.home.join(".profile"), "# mine\n").unwrap();
    let cases = [
        "schema = 1\n[go\n",
        "schema = 1\nbogus = 2\n[go]\nversion = \"1.27.3\"\n",
        "schema = 1\n[go]\nversion = \"1.27.3\"\n[go.archives]\nlinux-amd64 = { file = \"x.tar.gz\", sha256 = \"abc\", size = 0 }\n",
        "schema = 1\n[go]\nversion = \"1.27.3\"\n[env]\n\"1BAD\" = \"x\"\n",
        "schema = 1\n[go]\nversion = \"1.27.3\"\n[profile]\nfiles = [\"/etc/profile\"]\n",
    ];
    for text in cases {
        std::fs::write(h.lockfile(), text).unwrap();
        let before = snapshot(&h.base());
        let err = h.expect(&["apply", "-y"], 1);
        assert!(err.contains("golock.toml"), "names the file: {err}");
        assert!(
            err.to_lowercase().contains("help"),
            "has a help line: {err}"
        );
        assert_eq!(snapshot(&h.base()), before, "{text}");
    }
}

#[test]
fn shipped_example_applies() {
    let h = Host::new();
    let example =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/basic/golock.toml");
    h.succeed_for(&example, &["apply", "-y"]);
    assert!(h.active_go_version().contains("go1.27.3 linux/amd64"));
    assert!(h.login_shell("go env GOFLAGS").contains("-mod=mod"));
}

#[test]
fn verify_rehashes_the_installed_toolchain() {
    let h = Host::new();
    h.lock(NEW, "");
    h.expect(&["apply", "-y"], 0);
    h.expect(&["verify"], 0);
    let file = h.root.join(format!("toolchains/go{NEW}/src/fmt/print.go"));
    let mut text = std::fs::read(&file).unwrap();
    text.extend_from_slice(b"\n// tampered\n");
    std::fs::write(&file, text).unwrap();
    let out = h.expect(&["verify"], 2);
    assert!(
        out.contains(&format!("go{NEW}/src/fmt/print.go: content changed")),
        "{out}"
    );
}

/// The default `--sync deferred` records the boot of the install. A power
/// loss that kept the rename but not the data is simulated by emptying a file
/// and changing the boot id: the toolchain is then found damaged and
/// reinstalled; an intact one is settled once and never rehashed again.
#[test]
fn deferred_sync_is_rechecked_after_a_reboot() {
    let h = Host::new();
    h.lock(NEW, "");
    h.expect_in_boot("boot-a", &["apply", "-y"], 0);
    let dir = format!("go{NEW}");
    assert_eq!(h.state()["toolchains"][&dir]["unsynced_boot"], "boot-a");

    let lost = h.root.join(format!("toolchains/{dir}/src/fmt/print.go"));
    let size = std::fs::metadata(&lost).unwrap().len();
    std::fs::write(&lost, b"").unwrap();
    let same_boot = h.expect_in_boot("boot-a", &["plan", "--detailed-exitcode"], 0);
    assert!(same_boot.contains("No changes"), "{same_boot}");

    let rebooted = h.expect_in_boot("boot-b", &["plan", "--detailed-exitcode"], 2);
    assert!(
        rebooted.contains("1 files differ from its install manifest after a reboot"),
        "{rebooted}"
    );
    h.expect_in_boot("boot-b", &["apply", "-y"], 0);
    assert_eq!(std::fs::metadata(&lost).unwrap().len(), size);
    assert!(h.active_go_version().contains(&format!("go{NEW}")));
    assert_eq!(h.state()["toolchains"][&dir]["unsynced_boot"], "boot-b");

    // plan rechecks but never writes: recording the result is for
    // apply / recover.
    let planned = h.expect_in_boot("boot-c", &["plan", "--detailed-exitcode"], 0);
    assert!(!planned.contains("intact"), "{planned}");
    assert_eq!(h.state()["toolchains"][&dir]["unsynced_boot"], "boot-b");
    let settled = h.expect_in_boot("boot-c", &["recover"], 0);
    assert!(
        settled.contains(&format!("{dir} is intact after the reboot")),
        "{settled}"
    );
    assert!(h.state()["toolchains"][&dir].get("unsynced_boot").is_none());
    let journals = std::fs::read_dir(h.root.join("journal")).map_or(0, |d| d.count());
    assert_eq!(
        journals, 0,
        "the settling transaction committed and cleaned up"
    );
    let quiet = h.expect_in_boot("boot-d", &["plan", "--detailed-exitcode"], 0);
    assert!(!quiet.contains("intact"), "{quiet}");
}

#[test]
fn sync_full_waits_for_the_data_and_records_no_boot() {
    let h = Host::new();
    h.lock(NEW, "");
    h.expect_in_boot("boot-a", &["apply", "-y", "--sync", "full"], 0);
    let dir = format!("go{NEW}");
    assert_eq!(h.state()["toolchains"][&dir]["version"], NEW);
    assert!(h.state()["toolchains"][&dir].get("unsynced_boot").is_none());
    h.expect_in_boot("boot-b", &["plan", "--detailed-exitcode"], 0);
}

/// On a terminal (a pty from util-linux `script`) apply draws a progress bar
/// with bytes and bytes/s while it reads the archive; piped, it draws none.
#[test]
fn progress_bar_only_on_a_terminal() {
    let h = Host::new();
    h.lock(NEW, "");
    let tty = h.on_a_terminal(&["apply", "-y"]);
    let file = format!("go{NEW}.linux-amd64.tar.gz [");
    assert!(tty.contains(&file), "{tty}");
    assert!(
        tty.contains("MiB/65.11 MiB") && tty.contains("MiB/s"),
        "{tty}"
    );
    assert!(h.active_go_version().contains(&format!("go{NEW}")));

    let piped = Host::new();
    piped.lock(NEW, "");
    let text = piped.expect(&["apply", "-y"], 0);
    assert!(!text.contains("MiB/s"), "{text}");
}

#[test]
fn archive_caps_are_configurable_and_named() {
    let h = Host::new();
    h.lock(NEW, "");
    let err = h.expect(&["apply", "-y", "--max-entries", "100"], 1);
    assert!(err.contains("100"), "{err}");
    assert!(err.to_lowercase().contains("entries"), "{err}");
    assert!(!h.root.join("go").exists());
    assert_eq!(
        std::fs::read_dir(h.root.join("toolchains"))
            .map(|d| d.count())
            .unwrap_or(0),
        0
    );
}

#[test]
fn color_and_quiet_flags() {
    let h = Host::new();
    h.lock(NEW, Host::standard_extra());
    let run = |extra: &[&str]| {
        let out = support::succeeded(
            std::process::Command::new(env!("CARGO_BIN_EXE_golock"))
                .arg("--root")
                .arg(&h.root)
                .arg("--home")
                .arg(&h.home)
                .arg("--lockfile")
                .arg(h.lockfile())
                .args(extra)
                .env_remove("NO_COLOR"),
        );
        (
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (colored, _) = run(&["--color", "always", "plan"]);
    assert!(colored.contains("\u{1b}["), "{colored:?}");
    let (plain, _) = run(&["--color", "never", "plan"]);
    assert!(
        !plain.contains('\u{1b}') && plain.contains("+ install"),
        "{plain:?}"
    );
    let (out, err) = run(&["-q", "apply", "-y"]);
    assert_eq!((out.as_str(), err.as_str()), ("", ""));
    assert!(h.active_go_version().contains(NEW));
}

#[test]
fn lock_fills_every_platform_from_index_sums_and_mirror_dirs() {
    let h = Host::new();
    let mirror = h.repo.join("mirror");
    std::fs::create_dir_all(&mirror).unwrap();
    std::fs::copy(
        archive(NEW),
        mirror.join(format!("go{NEW}.linux-amd64.tar.gz")),
    )
    .unwrap();
    let fake = |c: char| c.to_string().repeat(64);
    std::fs::write(
        mirror.join("SHA256SUMS"),
        format!("{}  go{NEW}.darwin-arm64.tar.gz\n", fake('b')),
    )
    .unwrap();
    std::fs::write(
        mirror.join(format!("go{NEW}.windows-amd64.zip.sha256")),
        fake('c'),
    )
    .unwrap();
    let index = format!(
        r#"[{{"version":"go{NEW}","stable":true,"files":[{{"filename":"go{NEW}.linux-arm64.tar.gz","os":"linux","arch":"arm64","version":"go{NEW}","sha256":"{}","size":42,"kind":"archive"}}]}}]"#,
        fake('a')
    );
    std::fs::write(h.repo.join("index.json"), index).unwrap();
    std::fs::write(
        h.lockfile(),
        format!("# mine\nschema = 1\n[go]\nversion = \"{NEW}\"\nmirrors = [\"mirror\"]\n"),
    )
    .unwrap();
    let out = h.expect(&["lock", "--index", "index.json"], 0);
    assert!(
        out.contains("darwin-amd64"),
        "missing platform is named: {out}"
    );
    let text = std::fs::read_to_string(h.lockfile()).unwrap();
    assert!(text.starts_with("# mine\n"), "{text}");
    let (sha, size) = support::digest(&archive(NEW));
    assert!(text.contains(&format!("linux-amd64 = {{ file = \"go{NEW}.linux-amd64.tar.gz\", sha256 = \"{sha}\", size = {size} }}")), "{text}");
    assert!(
        text.contains(&format!("sha256 = \"{}\", size = 42", fake('a'))),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "go{NEW}.darwin-arm64.tar.gz\", sha256 = \"{}\"",
            fake('b')
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "go{NEW}.windows-amd64.zip\", sha256 = \"{}\"",
            fake('c')
        )),
        "{text}"
    );
    h.expect(&["apply", "-y"], 0);

    // A locked checksum never changes silently.
    std::fs::write(
        mirror.join("SHA256SUMS"),
        format!("{}  go{NEW}.darwin-arm64.tar.gz\n", fake('d')),
    )
    .unwrap();
    let err = h.expect(&["lock", "--index", "index.json"], 1);
    assert!(err.contains("--update"), "{err}");
    h.expect(&["lock", "--index", "index.json", "--update"], 0);
    assert!(
        std::fs::read_to_string(h.lockfile())
            .unwrap()
            .contains(&fake('d'))
    );
}

#[test]
fn locked_refuses_an_incomplete_lockfile_and_writes_nothing() {
    let h = Host::new();
    h.lock(NEW, "");
    h.expect(&["plan", "--locked"], 0);
    std::fs::write(
        h.repo.join("go.sum"),
        "corp.example/x v1.0.0/go.mod h1:G7mAYYxgmS0lVkHyy2hEOLQCFB0DlQFTMLWggykrydY=\n",
    )
    .unwrap();
    let before = std::fs::read(h.lockfile()).unwrap();
    let err = h.expect(&["apply", "-y", "--locked"], 1);
    assert!(
        err.contains("incomplete") && err.contains("corp.example/x@v1.0.0"),
        "{err}"
    );
    let out = h
        .golock()
        .args(["plan"])
        .env("GOLOCK_LOCKED", "1")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(std::fs::read(h.lockfile()).unwrap(), before);
    assert!(!h.root.join("go").exists());
}

/// A version bump in golock.toml is refused until `lock` runs, and `lock`
/// replaces the old version's archives (or drops them when nothing has the
/// new version's checksum) instead of saying "up to date".
#[test]
fn lock_after_a_version_bump_replaces_the_old_archives() {
    let h = Host::new();
    h.lock(NEW, "");
    let old = old_version();
    let fake = "d".repeat(64);
    let text = std::fs::read_to_string(h.lockfile()).unwrap();
    let text = format!(
        "{text}darwin-arm64 = {{ file = \"go{NEW}.darwin-arm64.tar.gz\", sha256 = \"{fake}\", size = 1 }}\n"
    )
    .replace(&format!("version = \"{NEW}\""), &format!("version = \"{old}\""));
    std::fs::write(h.lockfile(), text).unwrap();

    let refused = h.expect(&["plan"], 1);
    assert!(
        support::says(&refused, &format!("is Go {NEW}, but [go] version is {old}")),
        "{refused}"
    );
    assert!(support::says(&refused, "run `golock lock`"), "{refused}");

    let out = h.expect(&["lock"], 0);
    assert!(
        out.contains(&format!(
            "~ linux-amd64: go{old}.linux-amd64.tar.gz replaces go{NEW}.linux-amd64.tar.gz"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("- darwin-arm64: go{NEW}.darwin-arm64.tar.gz")),
        "{out}"
    );
    assert!(!out.contains("up to date"), "{out}");
    let locked = std::fs::read_to_string(h.lockfile()).unwrap();
    let (sha, size) = support::digest(&archive(&old));
    assert!(
        locked.contains(&format!(
            "linux-amd64 = {{ file = \"go{old}.linux-amd64.tar.gz\", sha256 = \"{sha}\", size = {size} }}"
        )),
        "{locked}"
    );
    assert!(!locked.contains(&format!("go{NEW}")), "{locked}");

    let plan = h.expect(&["plan"], 0);
    assert!(
        plan.contains(&format!("+ install go{old} (linux-amd64)")),
        "{plan}"
    );
    assert!(!plan.contains(&format!("go{NEW}")), "{plan}");
}

/// `lock` with no source for this host's archive fails, naming the file, the
/// places it looked and how to give it a source; it never says "up to date"
/// while `[go.archives]` is empty, and leaves golock.toml as it was.
#[test]
fn lock_with_nothing_to_lock_from_names_the_file_and_where_it_looked() {
    let h = Host::new();
    let file = format!("go{NEW}.linux-amd64.tar.gz");
    let no_mirrors = format!("schema = 1\n\n[go]\nversion = \"{NEW}\"\n");
    std::fs::write(h.lockfile(), &no_mirrors).unwrap();
    let err = h.expect(&["lock"], 1);
    for said in [
        format!("no checksum found for {file}"),
        "a release index (none: --index not given)".to_string(),
        "mirrors (none: [go] mirrors is empty)".to_string(),
        "`[go] mirrors`".to_string(),
        "`--index`".to_string(),
    ] {
        assert!(support::says(&err, &said), "{said:?} in {err}");
    }
    assert!(!err.contains("up to date"), "{err}");
    assert_eq!(std::fs::read_to_string(h.lockfile()).unwrap(), no_mirrors);

    let mirror = h.repo.join("mirror");
    std::fs::create_dir_all(&mirror).unwrap();
    let empty_mirror = format!("{no_mirrors}mirrors = [\"mirror\"]\n");
    std::fs::write(h.lockfile(), &empty_mirror).unwrap();
    let err = h.expect(&["lock"], 1);
    assert!(
        support::says(
            &err,
            &format!(
                "mirror {} (SHA256SUMS, {file}.sha256, {file})",
                mirror.display()
            )
        ),
        "{err}"
    );
    assert!(support::says(&err, "`--index`"), "{err}");
    assert!(!err.contains("up to date"), "{err}");
    assert_eq!(std::fs::read_to_string(h.lockfile()).unwrap(), empty_mirror);
}

#[test]
fn mirror_flags_replace_the_lockfiles_go_mirrors() {
    let h = Host::new();
    h.lock(NEW, "");
    let text = std::fs::read_to_string(h.lockfile()).unwrap();
    let gone = h.base().join("no-such-mirror");
    let moved = text.replace(
        &format!("file://{}", support::archives_dir().display()),
        gone.to_str().unwrap(),
    );
    assert_ne!(moved, text);
    std::fs::write(h.lockfile(), moved).unwrap();
    // golock.toml's mirror is gone: plan says so, and names it.
    let out = h.expect(&["plan"], 1);
    assert!(out.contains("no-such-mirror"), "{out}");
    // --mirror replaces it (a dir here; URLs are parsed as [go] mirrors are).
    let dir = support::archives_dir();
    let planned = h.expect(
        &[
            "plan",
            "--mirror",
            gone.to_str().unwrap(),
            "--mirror",
            dir.to_str().unwrap(),
        ],
        0,
    );
    assert!(planned.contains("+ install go"), "{planned}");
    let saved = h.base().join("plan.json");
    h.expect(
        &[
            "plan",
            "--mirror",
            dir.to_str().unwrap(),
            "--out",
            saved.to_str().unwrap(),
        ],
        0,
    );
    // A saved plan carries its sources: --mirror with --plan is refused.
    let refused = h.expect(
        &[
            "apply",
            "-y",
            "--plan",
            saved.to_str().unwrap(),
            "--mirror",
            "x",
        ],
        1,
    );
    assert!(refused.contains("--mirror"), "{refused}");
    h.expect(&["apply", "-y", "--plan", saved.to_str().unwrap()], 0);
    assert!(h.active_go_version().contains(NEW));
    let bad = h.expect(&["plan", "--mirror", "ftp://example.invalid/go"], 1);
    assert!(bad.contains("ftp://"), "{bad}");
}
