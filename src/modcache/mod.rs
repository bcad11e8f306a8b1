//! The Go module cache (GOMODCACHE), filled offline and byte-compatible with
//! what the go command writes.
//!
//! * [`escape`]: module/import/file path rules and `!`-escaping (x/mod `module`).
//! * [`semver`]: semantic versions and the path/version agreement check.
//! * [`dirhash`]: the `h1:` hashes of go.sum (x/mod `sumdb/dirhash`).
//! * [`layout`]: where cmd/go keeps each file, and the bytes of `.info`/`list`.
//! * [`info`]: the `.info` cmd/go writes for a served one (its kept `Origin`).
//! * [`zip`]: module zip checks and extraction into the cache (x/mod/zip).
//! * [`error`]: [`ModError`], the one error type of this module.

pub mod dirhash;
pub mod error;
pub mod escape;
pub mod info;
pub mod layout;
pub mod semver;
pub mod zip;

pub use dirhash::{EMPTY_H1, hash_dir, hash_go_mod, hash_zip, hash1};
pub use error::{EntryProblem, ModError};
pub use escape::{
    check_file_path, check_import_path, check_path, escape_path, escape_version,
    split_path_version, unescape_path, unescape_version,
};
pub use info::{info_from_served, is_pseudo_version, normalized_info};
pub use layout::{CacheLayout, render_info, render_list};
pub use semver::{canonical, canonical_version, check_version, compare, is_valid};
pub use zip::{Unzipped, ZipLimits, check_and_extract, check_zip};

/// Cross-checks against the real go that scripts/test.sh builds under
/// target/golock-test (the test fails, naming the script, when it is
/// missing). It serves a module from a `file://` GOPROXY, lets
/// `go mod download` fill a GOMODCACHE, and compares hashes, cache file
/// bytes, paths and the extracted tree.
#[cfg(test)]
mod go_crosscheck {
    use super::*;
    use crate::fsx;
    use std::io::Write;
    use std::os::unix::fs::PermissionsExt;
    use std::path::{Path, PathBuf};
    use std::process::Command;

    const MODULE: &str = "example.com/Foo/m";
    const GO_MOD: &[u8] = b"module example.com/Foo/m\n\ngo 1.21\n";

    /// Writes `<proxy>/<esc path>/@v/{list,<v>.info,<v>.mod,<v>.zip}`.
    fn publish(proxy: &Path, version: &str, time: &str) -> PathBuf {
        let info = format!("{{\"Version\":\"{version}\",\"Time\":\"{time}\"}}\n");
        publish_with_info(proxy, version, &info)
    }

    /// [`publish`] with `info` as the served `.info`.
    fn publish_with_info(proxy: &Path, version: &str, info: &str) -> PathBuf {
        let dir = proxy.join(escape_path(MODULE).unwrap()).join("@v");
        fsx::create_dir_all(&dir).unwrap();
        let ev = escape_version(version).unwrap();
        let prefix = format!("{MODULE}@{version}/");
        let zip_path = dir.join(format!("{ev}.zip"));
        let mut w = ::zip::ZipWriter::new(fsx::create(&zip_path).unwrap());
        let opts = ::zip::write::SimpleFileOptions::default()
            .compression_method(::zip::CompressionMethod::Deflated);
        let files: [(&str, &[u8]); 4] = [
            ("go.mod", GO_MOD),
            ("LICENSE", b"MIT\n"),
            ("a/x.go", b"package a\n"),
            ("a/b/Y.go", b"package b\n"),
        ];
        for (name, data) in files {
            w.start_file(format!("{prefix}{name}"), opts).unwrap();
            w.write_all(data).unwrap();
        }
        w.finish().unwrap();
        fsx::write(dir.join(format!("{ev}.mod")), GO_MOD).unwrap();
        fsx::write(dir.join(format!("{ev}.info")), info).unwrap();
        let mut list = fsx::read_to_string(dir.join("list")).unwrap_or_default();
        list.push_str(&format!("{version}\n"));
        fsx::write(dir.join("list"), list).unwrap();
        zip_path
    }

    /// The go 1.27.3 scripts/module-corpus.sh extracts (tests/support finds it the same way).
    fn real_go() -> PathBuf {
        let go = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/golock-test/go1.27.3/bin/go");
        assert!(
            go.is_file(),
            "{} missing: run scripts/test.sh (its scripts/module-corpus.sh extracts the real go)",
            go.display()
        );
        go
    }

    fn go_download(go: &Path, tmp: &Path, version: &str) -> serde_json::Value {
        let out = Command::new(go)
            .args(["mod", "download", "-json", &format!("{MODULE}@{version}")])
            .current_dir(tmp)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", tmp)
            .env("GOPATH", tmp.join("gopath"))
            .env("GOMODCACHE", tmp.join("modcache"))
            .env("GOPROXY", format!("file://{}", tmp.join("proxy").display()))
            .env("GOSUMDB", "off")
            .env("GOTOOLCHAIN", "local")
            .env("GOFLAGS", "-mod=mod")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap()
    }

    /// (relative path, mode, content) of every entry below `root`.
    fn tree(root: &Path) -> Vec<(String, u32, Vec<u8>)> {
        let mut out = Vec::new();
        for e in walkdir::WalkDir::new(root).sort_by_file_name() {
            let e = e.unwrap();
            let rel = e.path().strip_prefix(root).unwrap().display().to_string();
            let mode = e.metadata().unwrap().permissions().mode() & 0o7777;
            let data = if e.file_type().is_file() {
                fsx::read(e.path()).unwrap()
            } else {
                Vec::new()
            };
            out.push((rel, mode, data));
        }
        out
    }

    fn make_writable(root: &Path) {
        for e in walkdir::WalkDir::new(root).into_iter().flatten() {
            if e.file_type().is_dir() {
                let _ = fsx::set_permissions(e.path(), fsx::Permissions::from_mode(0o755));
            }
        }
    }

    #[test]
    fn matches_real_go() {
        let go = real_go();
        let tmp = tempfile::tempdir().unwrap();
        let cache = CacheLayout::new(tmp.path().join("modcache"));
        let ours = CacheLayout::new(tmp.path().join("ours"));
        for (version, time, want_time) in [
            (
                "v1.0.0-RC1",
                "2019-11-09T02:19:31.500+00:00",
                "2019-11-09T02:19:31.5Z",
            ),
            ("v1.1.0", "2020-01-02T03:04:05Z", "2020-01-02T03:04:05Z"),
        ] {
            let zip_path = publish(&tmp.path().join("proxy"), version, time);
            let js = go_download(&go, tmp.path(), version);
            let sum = js["Sum"].as_str().unwrap();
            assert_eq!(hash_zip(&zip_path).unwrap(), sum);
            assert_eq!(js["GoModSum"].as_str().unwrap(), hash_go_mod(GO_MOD));
            let dir = cache.extracted_dir(MODULE, version).unwrap();
            assert_eq!(Path::new(js["Dir"].as_str().unwrap()), dir);
            let zip_in_cache = cache.zip(MODULE, version).unwrap();
            assert_eq!(Path::new(js["Zip"].as_str().unwrap()), zip_in_cache);
            assert!(cache.lock_file(MODULE, version).unwrap().exists());
            assert!(!cache.partial_marker(MODULE, version).unwrap().exists());
            let info = fsx::read_to_string(cache.info(MODULE, version).unwrap()).unwrap();
            assert_eq!(info, render_info(version, Some(time)));
            assert!(info.contains(want_time), "{info}");
            let ziphash = fsx::read_to_string(cache.ziphash(MODULE, version).unwrap()).unwrap();
            assert_eq!(ziphash, sum);

            let dest = ours.extracted_dir(MODULE, version).unwrap();
            let out =
                check_and_extract(&zip_in_cache, MODULE, version, &dest, &ZipLimits::default())
                    .unwrap();
            assert_eq!(out.h1, sum);
            assert_eq!(tree(&dest), tree(&dir), "extracted trees differ");
        }
        let list = fsx::read_to_string(cache.list(MODULE).unwrap()).unwrap();
        assert_eq!(list, render_list(["v1.0.0-RC1", "v1.1.0"]));
        make_writable(tmp.path());
    }

    /// Served `.info` files with an `Origin`: what go keeps of it, its
    /// escaping and its time, byte for byte.
    #[test]
    fn info_with_origin_matches_real_go() {
        let go = real_go();
        let tmp = tempfile::tempdir().unwrap();
        let cache = CacheLayout::new(tmp.path().join("modcache"));
        let origin = r#""Origin":{"RepoSum":"r1:x","Ref":"refs/tags/v","TagSum":"t1:y","TagPrefix":"sub/","Hash":"0123abc","Subdir":"sub","URL":"https://h.example/x?a=1&b=<2>","VCS":"git","Extra":"z"}"#;
        let cases = [
            (
                "v1.2.3",
                format!(
                    r#"{{"Time":"2023-01-01T10:00:00.250+02:00",{origin},"Version":"v1.2.3"}}"#
                ),
            ),
            (
                "v0.0.0-20240102030405-abcdefabcdef",
                format!(
                    r#"{{"Version":"v0.0.0-20240102030405-abcdefabcdef","Time":"2024-01-02T03:04:05Z",{origin}}}"#
                ),
            ),
            (
                "v1.2.4",
                r#"{"Version":"v1.2.4","Time":"2023-01-01T00:00:00Z","Origin":{"TagSum":"t1:y"}}"#
                    .to_string(),
            ),
        ];
        for (version, served) in &cases {
            publish_with_info(&tmp.path().join("proxy"), version, served);
            go_download(&go, tmp.path(), version);
            let info = fsx::read_to_string(cache.info(MODULE, version).unwrap()).unwrap();
            assert_eq!(
                info,
                info_from_served(version, served.as_bytes()).unwrap(),
                "{served}"
            );
        }
        make_writable(tmp.path());
    }
}
