//! Shared test harness: a temporary host (data root, HOME, repo dir), real Go
//! archives built by scripts/test-toolchains.sh, lockfile writing, golock
//! invocation, login-shell checks and tree snapshots.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::sync::{Mutex, OnceLock};

use sha2::{Digest, Sha256};

pub const NEW: &str = "1.27.3";

/// The Debian toolchain's version (`go1.19.8` → `1.19.8`), read from the built archive's name.
pub fn old_version() -> String {
    let dir = archives_dir();
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap_or_else(|_| panic!("{} missing: run scripts/test-toolchains.sh", dir.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("go1.19") && n.ends_with(".linux-amd64.tar.gz"))
        .collect();
    let name = names.first().unwrap_or_else(|| {
        panic!(
            "no go1.19 archive in {}: run scripts/test-toolchains.sh",
            dir.display()
        )
    });
    name.trim_start_matches("go")
        .trim_end_matches(".linux-amd64.tar.gz")
        .to_string()
}

pub fn archives_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/golock-test/archives")
}

pub fn archive(version: &str) -> PathBuf {
    let p = archives_dir().join(format!("go{version}.linux-amd64.tar.gz"));
    assert!(
        p.is_file(),
        "{} missing: run scripts/test-toolchains.sh",
        p.display()
    );
    p
}

/// (sha256 hex, size) of a file, cached: the archives are large.
pub fn digest(path: &Path) -> (String, u64) {
    static CACHE: OnceLock<Mutex<BTreeMap<PathBuf, (String, u64)>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(d) = cache.lock().unwrap().get(path) {
        return d.clone();
    }
    let bytes = std::fs::read(path).unwrap();
    let d = (hex::encode(Sha256::digest(&bytes)), bytes.len() as u64);
    cache.lock().unwrap().insert(path.to_path_buf(), d.clone());
    d
}

/// Where test hosts live: tmpfs when there is one. Creating and deleting
/// hundreds of thousands of toolchain files on a busy ext4 disk makes the
/// suite slow and erratic; what is tested does not depend on the filesystem.
pub fn scratch_root() -> PathBuf {
    if let Some(dir) = std::env::var_os("GOLOCK_TEST_TMP") {
        return PathBuf::from(dir);
    }
    let shm = Path::new("/dev/shm");
    if shm.is_dir() && tempfile::tempdir_in(shm).is_ok() {
        return shm.to_path_buf();
    }
    std::env::temp_dir()
}

pub struct Host {
    pub tmp: tempfile::TempDir,
    pub root: PathBuf,
    pub home: PathBuf,
    pub repo: PathBuf,
}

impl Host {
    pub fn new() -> Host {
        let tmp = tempfile::Builder::new()
            .prefix("golock-test-")
            .tempdir_in(scratch_root())
            .unwrap();
        let base = tmp.path().canonicalize().unwrap();
        let host = Host {
            root: base.join("root"),
            home: base.join("home"),
            repo: base.join("repo"),
            tmp,
        };
        std::fs::create_dir_all(&host.home).unwrap();
        std::fs::create_dir_all(&host.repo).unwrap();
        host
    }

    pub fn base(&self) -> PathBuf {
        self.root.parent().unwrap().to_path_buf()
    }

    pub fn lockfile(&self) -> PathBuf {
        self.repo.join("golock.toml")
    }

    /// A lockfile for `version` whose mirror is the test archive dir, plus `extra` TOML.
    pub fn lock(&self, version: &str, extra: &str) {
        let (sha, size) = digest(&archive(version));
        let text = format!(
            "schema = 1\n\n[go]\nversion = \"{version}\"\nmirrors = [\"file://{}\"]\n\n[go.archives]\nlinux-amd64 = {{ file = \"go{version}.linux-amd64.tar.gz\", sha256 = \"{sha}\", size = {size} }}\n\n{extra}",
            archives_dir().display()
        );
        std::fs::write(self.lockfile(), text).unwrap();
    }

    /// The usual environment section: env vars, two POSIX profiles, the go env file.
    pub fn standard_extra() -> &'static str {
        "[env]\nGOFLAGS = \"-mod=mod\"\nGOTOOLCHAIN = \"local\"\nGOPROXY = \"off\"\n\n[profile]\nfiles = [\"~/.profile\", \"~/.bashrc\"]\ngoenv = true\n"
    }

    pub fn golock(&self) -> Command {
        self.golock_for(&self.lockfile())
    }

    /// golock on this host with another lockfile.
    pub fn golock_for(&self, lockfile: &Path) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_golock"));
        cmd.arg("--root")
            .arg(&self.root)
            .arg("--home")
            .arg(&self.home)
            .arg("--lockfile")
            .arg(lockfile)
            .arg("--color")
            .arg("never")
            .current_dir(&self.repo)
            .env("HOME", &self.home);
        for var in [
            "GOENV",
            "XDG_CONFIG_HOME",
            "XDG_DATA_HOME",
            "GOLOCK_ROOT",
            "GOLOCK_LOCKFILE",
            "GOLOCK_LOCKED",
            "GOLOCK_TEST_CHECKPOINT",
            "GOLOCK_TEST_CHECKPOINT_FILE",
            "GOLOCK_SYNC",
            "GOLOCK_TEST_BOOT_ID",
        ] {
            cmd.env_remove(var);
        }
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Output {
        self.golock().args(args).output().unwrap()
    }

    /// Run golock with `args` and assert it succeeded (its stdout and
    /// stderr are printed when not); returns its output.
    pub fn succeed(&self, args: &[&str]) -> Output {
        succeeded(self.golock().args(args))
    }

    /// [`Host::succeed`] with another lockfile.
    pub fn succeed_for(&self, lockfile: &Path, args: &[&str]) -> Output {
        succeeded(self.golock_for(lockfile).args(args))
    }

    /// Run in the boot `boot_id` (see `durability`) and expect `code`.
    pub fn expect_in_boot(&self, boot_id: &str, args: &[&str], code: i32) -> String {
        let mut cmd = self.golock();
        cmd.env("GOLOCK_TEST_BOOT_ID", boot_id).args(args);
        expect_exit(&mut cmd, code)
    }

    /// Run golock with a pty as its terminal (util-linux `script`), expect
    /// success; returns what the terminal received.
    pub fn on_a_terminal(&self, args: &[&str]) -> String {
        let cmd = self.golock();
        let words = std::iter::once(cmd.get_program())
            .chain(cmd.get_args())
            .map(|a| a.to_string_lossy().into_owned())
            .chain(args.iter().map(|a| a.to_string()));
        let line: Vec<String> = words.map(|w| format!("'{w}'")).collect();
        let mut script = Command::new("script");
        script
            .args(["-qec", &line.join(" "), "/dev/null"])
            .env("HOME", &self.home)
            .env("TERM", "xterm");
        expect_exit(&mut script, 0)
    }

    pub fn state(&self) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(self.root.join("state.json")).unwrap()).unwrap()
    }

    /// Run and expect `code`; returns stdout + stderr for assertions.
    pub fn expect(&self, args: &[&str], code: i32) -> String {
        let mut cmd = self.golock();
        cmd.args(args);
        expect_exit(&mut cmd, code)
    }

    /// A login shell for this HOME with an otherwise empty environment.
    pub fn login_shell(&self, script: &str) -> String {
        let out = Command::new("env")
            .arg("-i")
            .arg(format!("HOME={}", self.home.display()))
            .arg("PATH=/usr/bin:/bin")
            .args(["bash", "-lc", script])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "login shell {script:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn active_go_version(&self) -> String {
        let out = Command::new(self.root.join("go/bin/go"))
            .arg("version")
            .env_clear()
            .env("HOME", &self.home)
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Lock Go [`NEW`] and, through `lock --go-sum`, the feature corpus's
    /// modules, fetched from `proxies` (TOML array items) into
    /// `<base>/modcache`, with `env` added to `[env]`. Returns the cache.
    pub fn lock_corpus_modules(&self, proxies: &str, env: &str) -> PathBuf {
        let cache = self.base().join("modcache");
        self.lock(
            NEW,
            &format!(
                "[modules]\nproxies = [{proxies}]\n\n[env]\nGOMODCACHE = \"{}\"\n{env}",
                cache.display()
            ),
        );
        let sum = corpus().join("go.sum");
        self.expect(&["lock", "--go-sum", sum.to_str().unwrap()], 0);
        cache
    }

    /// Start golock with `args`, parked at `checkpoint` (the crash-test
    /// hook; its stderr piped, see [`stderr_of`]); `None` if it finished
    /// successfully without passing there.
    pub fn park_at(&self, args: &[&str], checkpoint: &str) -> Option<std::process::Child> {
        use std::time::{Duration, Instant};
        let marker = self.tmp.path().join("reached");
        let _ = std::fs::remove_file(&marker);
        let mut child = self
            .golock()
            .args(args)
            .env("GOLOCK_TEST_CHECKPOINT", checkpoint)
            .env("GOLOCK_TEST_CHECKPOINT_FILE", &marker)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(300);
        while std::fs::read_to_string(&marker).map_or(true, |s| s != checkpoint) {
            if let Some(status) = child.try_wait().unwrap() {
                let err = stderr_of(&mut child);
                assert!(
                    status.success(),
                    "golock exited ({status}) before checkpoint {checkpoint}: {err}"
                );
                return None;
            }
            assert!(
                Instant::now() < deadline,
                "checkpoint {checkpoint} never reached"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(child)
    }

    /// Run golock with `args` until it parks at `checkpoint`, then SIGKILL it.
    pub fn kill_at(&self, args: &[&str], checkpoint: &str) {
        let mut child = self
            .park_at(args, checkpoint)
            .unwrap_or_else(|| panic!("golock finished before checkpoint {checkpoint}"));
        child.kill().unwrap();
        child.wait().unwrap();
    }

    pub fn read_home(&self, rel: &str) -> Vec<u8> {
        std::fs::read(self.home.join(rel)).unwrap()
    }
}

/// stdout then stderr, as one text for assertions.
/// What a child started with a piped stderr wrote there.
pub fn stderr_of(child: &mut std::process::Child) -> String {
    use std::io::Read;
    let mut err = String::new();
    if let Some(mut pipe) = child.stderr.take() {
        pipe.read_to_string(&mut err).unwrap();
    }
    err
}

pub fn combined_output(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// `text` without whitespace and miette's frame, so a message can be found
/// however the report wrapped it (it breaks long paths anywhere).
pub fn squash(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_whitespace() && !"│×╰─╭".contains(*c))
        .collect()
}

/// Whether the report `out` says `message`, wrapped or not.
pub fn says(out: &str, message: &str) -> bool {
    squash(out).contains(&squash(message))
}

/// Assert that `what` exited successfully, printing its stdout and stderr when not.
pub fn assert_succeeded(out: &Output, what: &dyn std::fmt::Debug) {
    assert!(
        out.status.success(),
        "{what:?} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Run `cmd` and assert it succeeded; returns its output.
pub fn succeeded(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert_succeeded(&out, cmd);
    out
}

/// Run `cmd`, assert it exits with `code`; returns its combined output.
pub fn expect_exit(cmd: &mut Command, code: i32) -> String {
    let out = cmd.output().unwrap();
    let text = combined_output(&out);
    assert_eq!(out.status.code(), Some(code), "{cmd:?}:\n{text}");
    text
}

/// A comparable picture of a tree: per path its type, mode, link target and
/// content hash (toolchain files by size only: they are large and many).
pub fn snapshot(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if !dir.exists() {
        return out;
    }
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.unwrap();
        let rel = entry
            .path()
            .strip_prefix(dir)
            .unwrap()
            .display()
            .to_string();
        if rel == "root/lock" {
            continue; // holds the pid of the last golock
        }
        let meta = entry.path().symlink_metadata().unwrap();
        let mode = meta.permissions().mode() & 0o7777;
        let what = if meta.file_type().is_symlink() {
            format!(
                "link -> {}",
                std::fs::read_link(entry.path()).unwrap().display()
            )
        } else if meta.is_dir() {
            format!("dir {mode:o}")
        } else if rel.contains("/toolchains/") {
            format!("file {mode:o} {} bytes", meta.size())
        } else {
            let bytes = std::fs::read(entry.path()).unwrap();
            format!("file {mode:o} {}", hex::encode(Sha256::digest(&bytes)))
        };
        out.insert(rel, what);
    }
    out
}

/// mtime (ns) of every path in a tree, to show a no-op writes nothing.
pub fn mtimes(dir: &Path) -> BTreeMap<PathBuf, i64> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| !e.path().ends_with("lock"))
        .map(|e| {
            let m = e.path().symlink_metadata().unwrap();
            (
                e.path().to_path_buf(),
                m.mtime() * 1_000_000_000 + m.mtime_nsec(),
            )
        })
        .collect()
}

/// A generated module corpus under target/golock-test (`corpus` or
/// `bench-corpus`), made by scripts/module-corpus.sh.
pub fn module_corpus(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target/golock-test")
        .join(name);
    assert!(
        dir.join("go.sum").is_file(),
        "{} missing: run scripts/module-corpus.sh (scripts/test.sh does)",
        dir.display()
    );
    dir
}

/// The feature corpus.
pub fn corpus() -> PathBuf {
    module_corpus("corpus")
}

/// The real Go 1.27.3 extracted by scripts/module-corpus.sh.
pub fn go_bin() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/golock-test/go1.27.3/bin/go")
}

/// A copy of `corpus`'s app in this host's temp dir (made once).
pub fn corpus_app(h: &Host, corpus: &Path) -> PathBuf {
    let app = h.base().join("app");
    if !app.exists() {
        let ok = Command::new("cp")
            .arg("-a")
            .arg(corpus.join("app"))
            .arg(&app)
            .status()
            .unwrap();
        assert!(ok.success());
    }
    app
}

/// The real go in `app` against `cache`, with `proxy` as GOPROXY, in a
/// clean environment whose HOME, GOCACHE and GOPATH are under the host.
pub fn go_command(h: &Host, app: &Path, cache: &Path, proxy: &str) -> Command {
    let mut cmd = Command::new(go_bin());
    cmd.current_dir(app)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", h.base().join("gohome"))
        .env("GOCACHE", h.base().join("gocache"))
        .env("GOPATH", h.base().join("gopath"))
        .env("GOMODCACHE", cache)
        .env("GOPROXY", proxy)
        .env("GOFLAGS", "-mod=mod")
        .env("GOSUMDB", "off")
        .env("GOTOOLCHAIN", "local")
        .env("GOENV", "off")
        .env("CGO_ENABLED", "0");
    cmd
}

/// Run `cmd`, assert it succeeded; returns its combined output.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    let text = combined_output(&out);
    assert!(out.status.success(), "{cmd:?}: {text}");
    text
}

/// `python3 -m http.server` serving a directory on 127.0.0.1; killed on drop.
pub struct Server {
    child: Child,
    pub port: u16,
}

impl Server {
    pub fn serve(dir: &Path) -> Server {
        use std::io::BufRead as _;
        let mut child = std::process::Command::new("python3")
            .args([
                "-u",
                "-m",
                "http.server",
                "0",
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(dir)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        std::io::BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        // "Serving HTTP on 127.0.0.1 port 34567 (http://127.0.0.1:34567/) ..."
        let port = line
            .split_whitespace()
            .skip_while(|w| *w != "port")
            .nth(1)
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in {line:?}"));
        Server { child, port }
    }

    pub fn url(&self, rel: &str) -> String {
        format!("http://127.0.0.1:{}/{rel}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
