#!/usr/bin/env python3
"""Generate a Go module corpus (GOPROXY file tree + app + reference cache made by the real go).

Usage (normally through scripts/module-corpus.sh, which first makes sure the
Go archive exists):

    python3 scripts/module-corpus.py            # the feature corpus
    python3 scripts/module-corpus.py --bench N  # the bench corpus (default N=300)
    options: --go PATH (a go binary; default: target/golock-test/go1.27.3/bin/go,
             extracted from target/golock-test/archives/go1.27.3.linux-amd64.tar.gz
             if missing), --force (rebuild even if the stamp matches)

Output (all under target/golock-test/, gitignored), for OUT = corpus/, bench-corpus/ (N=300)
or bench-corpus-N/ (any other N, so that corpora of several sizes coexist):

  OUT/proxy/                       GOPROXY tree, served with GOPROXY=file://<abs OUT/proxy>
      <escaped path>/@v/list       every version, one per line, semver order
      <escaped path>/@v/<esc v>.info   {"Version":"v1.2.3","Time":"2024-01-02T03:04:05Z"}
      <escaped path>/@v/<esc v>.mod    the go.mod (or "module <path>\\n" if the zip has none)
      <escaped path>/@v/<esc v>.zip    x/mod/zip form: entries "<path>@<version>/<rel>",
                                       regular files only, no directory entries, sorted,
                                       deflated, fixed mtime, unix modes 0644/0755
      <escaped path>/@latest       the .info of the newest version
    Escaping (module.EscapePath/EscapeVersion): each uppercase letter -> "!" + lowercase.
  OUT/app/                         main module corp.example/app (bench: bench.example/app)
      go.mod, main.go              imports a package of every corpus module
      go.sum                       written by `go mod tidy` (the real go)
  OUT/go.sum                       copy of app/go.sum
  OUT/modules.json                 [{path, version, escaped_path, escaped_version, time,
                                     files, zip_size, h1, gomod_h1}] computed here
                                     (h1 = dirhash.Hash1; checked against go's go.sum)
  OUT/bin/app                      the app built by `go build -o OUT/bin/ ./...` (and run once)
  OUT/env.sh                       `export` lines for the reference environment below
  OUT/ref-cache/                   GOMODCACHE filled by the real go (`go mod tidy`, then
                                   `go build ./...` and `go mod verify` must pass)
  OUT/stamp                        sha256 of this script + arguments + go version; when it
                                   matches, the run is skipped (idempotent, cached)
  go-home/                         HOME, GOPATH, GOCACHE, XDG_CONFIG_HOME used for the runs

Reference environment (also in OUT/env.sh):
  GOMODCACHE=<abs OUT/ref-cache>  GOPROXY=file://<abs OUT/proxy>  GOSUMDB=off
  GOFLAGS=-mod=mod  GOTOOLCHAIN=local  GOENV=off  GOTELEMETRY=off  GONOSUMDB= GOPRIVATE=
  HOME=GOPATH-parent=<abs target/golock-test/go-home>  GOCACHE=<...>/go-home/gocache
  CGO_ENABLED=0

What go1.27.3 writes in ref-cache (umask 022), e.g. for corp.example/files v1.0.0:
  cache/download/<esc path>/@v/{list,<v>.info,<v>.lock,<v>.mod,<v>.zip,<v>.ziphash} 0644,
    dirs 0755; <v>.lock is empty; .zip is the proxy's bytes; .mod is verbatim (even CRLF);
    .info is re-marshalled (compact JSON, unknown fields dropped, RFC3339Nano time);
    .ziphash is the h1 without newline; `list` = versions with a .mod file in that dir
    whose *escaped* file name is canonical semver, so v1.0.0-RC1 (v1.0.0-!r!c1.mod) is
    never listed, "v0.9.0\n" is; a go.mod-only module gets just <v>.mod (no .info).
  cache/lock (empty, 0644) appears only when go writes a go.sum.
  <esc path>@<esc v>/ extracted tree: dirs 0555, files 0444 (0755 in the zip too).
  No sumdb/, .partial or temp files remain. `go mod download` gives the same tree.

Everything is deterministic: rerunning with the same arguments yields the same
bytes in proxy/ and app/ (and the same go.sum).

Feature corpus modules (path  version):
  corp.example/Upper/Case    v0.9.0, v1.0.0-RC1   uppercase in path and prerelease
  corp.example/incompat      v1.1.0, v2.0.0+incompatible  no go.mod in the zips
  corp.example/pseudo        v0.0.0-20240102030405-abcdefabcdef  pseudo-version
  corp.example/major/v2      v2.1.0   /v2 module, `go 1.16` (unpruned); requires Upper/Case
                                      v0.9.0, so go fetches only v0.9.0.mod (go.sum /go.mod line)
  gopkg.in/corpx.v1          v1.0.0   gopkg.in path
  corp.example/files         v1.0.0   non-ASCII names, empty files, 0755 files, 12-deep dirs,
                                      a 256 KiB incompressible file, punctuation in names
  corp.example/many          v1.0.0   1,000 text files + a Go package (1,002 files)
The app requires Upper/Case v1.0.0-RC1 and incompat v2.0.0+incompatible; the other
listed versions are only in the proxy (v0.9.0 go.mod is fetched through major/v2).
"""

import argparse
import base64
import hashlib
import json
import os
import shutil
import stat
import subprocess
import sys
import tarfile
import time
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TEST_DIR = os.path.join(ROOT, "target", "golock-test")
GO_VERSION = "1.27.3"
GO_ARCHIVE = os.path.join(TEST_DIR, "archives", f"go{GO_VERSION}.linux-amd64.tar.gz")
GOROOT_DEFAULT = os.path.join(TEST_DIR, f"go{GO_VERSION}")
FIXED_TIME = "2024-01-02T03:04:05Z"
ZIP_DATE = (2024, 1, 2, 3, 4, 4)  # DOS time has 2 s resolution

# ---------------------------------------------------------------- helpers


def escape(s):
    """module.EscapePath / EscapeVersion: uppercase -> '!' + lowercase."""
    return "".join("!" + c.lower() if "A" <= c <= "Z" else c for c in s)


def h1(named_contents):
    """dirhash.Hash1 over [(name, bytes)]."""
    summary = "".join(
        f"{hashlib.sha256(data).hexdigest()}  {name}\n" for name, data in sorted(named_contents)
    )
    return "h1:" + base64.b64encode(hashlib.sha256(summary.encode()).digest()).decode()


def pseudo_text(seed, size):
    """Deterministic lowercase text of `size` bytes."""
    out = bytearray()
    n = 0
    words = "alpha beta gamma delta module cache proxy zip lock file go sum hash tree".split()
    while len(out) < size:
        d = hashlib.sha256(f"{seed}:{n}".encode()).digest()
        for b in d:
            out += words[b % len(words)].encode() + (b"\n" if b % 9 == 0 else b" ")
        n += 1
    return bytes(out[:size])


def pseudo_bytes(seed, size):
    out = bytearray()
    n = 0
    while len(out) < size:
        out += hashlib.sha256(f"{seed}:{n}".encode()).digest()
        n += 1
    return bytes(out[:size])


def semver_key(v):
    """Sort key for the versions used here (vMAJ.MIN.PAT[-pre][+build])."""
    core = v[1:].split("+")[0]
    main, _, pre = core.partition("-")
    nums = tuple(int(x) for x in main.split("."))
    # release sorts after prereleases
    return (nums, 1 if not pre else 0, pre)


def rmtree_rw(path):
    """rm -rf that copes with the read-only dirs of a module cache."""
    if not os.path.lexists(path):
        return
    for dirpath, dirnames, _ in os.walk(path):
        for d in dirnames:
            p = os.path.join(dirpath, d)
            if not os.path.islink(p):
                os.chmod(p, 0o755)
    os.chmod(path, 0o755)
    shutil.rmtree(path)


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


# ---------------------------------------------------------------- module model


class Module:
    def __init__(self, path, version, files, gomod=True, time=FIXED_TIME):
        """files: {rel: bytes or (bytes, mode)}; gomod: include files['go.mod'] in zip."""
        self.path, self.version, self.time = path, version, time
        self.files = {}
        for rel, v in files.items():
            data, mode = v if isinstance(v, tuple) else (v, 0o644)
            self.files[rel] = (data.encode() if isinstance(data, str) else data, mode)
        if gomod:
            assert "go.mod" in self.files, path
            self.mod = self.files["go.mod"][0]
        else:
            assert "go.mod" not in self.files, path
            self.mod = f"module {path}\n".encode()

    def zip_bytes(self):
        import io

        buf = io.BytesIO()
        prefix = f"{self.path}@{self.version}/"
        with zipfile.ZipFile(buf, "w") as z:
            for rel in sorted(self.files):
                data, mode = self.files[rel]
                zi = zipfile.ZipInfo(prefix + rel, date_time=ZIP_DATE)
                zi.compress_type = zipfile.ZIP_DEFLATED
                zi.create_system = 3  # unix, so external_attr carries the mode
                zi.external_attr = (stat.S_IFREG | mode) << 16
                z.writestr(zi, data, compresslevel=6)
        return buf.getvalue()

    def info(self):
        return json.dumps({"Version": self.version, "Time": self.time}, separators=(",", ":"))


def gofile(pkg, body):
    return f"package {pkg}\n\n{body}"


# ---------------------------------------------------------------- feature corpus


def feature_modules():
    mods = []

    for v in ("v0.9.0", "v1.0.0-RC1"):
        mods.append(
            Module(
                "corp.example/Upper/Case",
                v,
                {
                    "go.mod": "module corp.example/Upper/Case\n\ngo 1.18\n",
                    "case.go": gofile("upper", f'// Version is the module version.\nfunc Version() string {{ return "{v}" }}\n'),
                    "README.md": f"Upper/Case {v}\n",
                },
            )
        )

    for v in ("v1.1.0", "v2.0.0+incompatible"):
        mods.append(
            Module(
                "corp.example/incompat",
                v,
                {
                    "incompat.go": gofile("incompat", f'func Version() string {{ return "{v}" }}\n'),
                    "sub/sub.go": gofile("sub", "func Answer() int { return 42 }\n"),
                    "LICENSE": "Public domain.\n",
                },
                gomod=False,
            )
        )

    pv = "v0.0.0-20240102030405-abcdefabcdef"
    mods.append(
        Module(
            "corp.example/pseudo",
            pv,
            {
                "go.mod": "module corp.example/pseudo\n\ngo 1.18\n",
                "pseudo.go": gofile("pseudo", f'func Version() string {{ return "{pv}" }}\n'),
            },
            time="2024-01-02T03:04:05Z",  # must match the pseudo-version's timestamp
        )
    )

    mods.append(
        Module(
            "corp.example/major/v2",
            "v2.1.0",
            {
                # go 1.16: an unpruned module, so the go.mod of its requirement Upper/Case
                # v0.9.0 is loaded too (a go.mod-only entry in go.sum and the cache)
                "go.mod": "module corp.example/major/v2\n\ngo 1.16\n\nrequire corp.example/Upper/Case v0.9.0\n",
                "major.go": gofile(
                    "major",
                    'import upper "corp.example/Upper/Case"\n\n'
                    'func Version() string { return "v2.1.0 (upper " + upper.Version() + ")" }\n',
                ),
            },
        )
    )

    mods.append(
        Module(
            "gopkg.in/corpx.v1",
            "v1.0.0",
            {
                "go.mod": "module gopkg.in/corpx.v1\n\ngo 1.18\n",
                "corpx.go": gofile("corpx", 'func Version() string { return "v1.0.0" }\n'),
            },
        )
    )

    deep = "/".join(f"l{i:02d}" for i in range(1, 13))  # 12 levels
    files = {
        "go.mod": "module corp.example/files\n\ngo 1.18\n",
        "files.go": gofile(
            "files",
            'import "corp.example/files/deep/' + deep + '"\n\n'
            "func Depth() int { return leaf.Depth }\n",
        ),
        f"deep/{deep}/leaf.go": gofile("leaf", "const Depth = 12\n"),
        f"deep/{deep}/note.txt": "twelve levels down\n",
        "données/é.txt": "accented name\n",
        "données/naïve café.txt": "spaces and accents\n",
        "日本語/ファイル.txt": "CJK letters are unicode.IsLetter\n",
        "Ελληνικά/αρχείο.txt": "greek\n",
        "weird/a+b@c~d=e,f[g]{h}!i#j$k%l&m(n)^o_p-q.txt": "ASCII punctuation CheckFilePath allows\n",
        "empty.txt": "",
        "empty/dir/also-empty": "",
        ".hidden/dotfile": "leading dots are fine in file paths\n",
        "bin/run.sh": ("#!/bin/sh\necho run\n", 0o755),
        "bin/tool": ("#!/bin/sh\nexit 0\n", 0o755),
        "blob.bin": pseudo_bytes("blob", 256 * 1024),
        "big.txt": pseudo_text("big", 300 * 1024),
    }
    mods.append(Module("corp.example/files", "v1.0.0", files))

    many = {
        "go.mod": "module corp.example/many\n\ngo 1.18\n",
        "many.go": gofile("many", "// Count is the number of data files.\nconst Count = 1000\n"),
    }
    for i in range(1000):
        many[f"data/d{i // 50:02d}/f{i:04d}.txt"] = pseudo_text(f"many{i}", 64 + (i * 37) % 700)
    mods.append(Module("corp.example/many", "v1.0.0", many))
    return mods


FEATURE_APP_REQUIRES = [
    ("corp.example/Upper/Case", "v1.0.0-RC1"),
    ("corp.example/incompat", "v2.0.0+incompatible"),
    ("corp.example/pseudo", "v0.0.0-20240102030405-abcdefabcdef"),
    ("corp.example/major/v2", "v2.1.0"),
    ("gopkg.in/corpx.v1", "v1.0.0"),
    ("corp.example/files", "v1.0.0"),
    ("corp.example/many", "v1.0.0"),
]

FEATURE_MAIN = """package main

import (
	"fmt"

	upper "corp.example/Upper/Case"
	"corp.example/files"
	"corp.example/incompat"
	"corp.example/incompat/sub"
	"corp.example/major/v2"
	"corp.example/many"
	"corp.example/pseudo"
	"gopkg.in/corpx.v1"
)

func main() {
	fmt.Println("upper", upper.Version())
	fmt.Println("incompat", incompat.Version(), sub.Answer())
	fmt.Println("pseudo", pseudo.Version())
	fmt.Println("major", major.Version())
	fmt.Println("corpx", corpx.Version())
	fmt.Println("files depth", files.Depth())
	fmt.Println("many", many.Count)
}
"""


def feature_app():
    req = "".join(f"\t{p} {v}\n" for p, v in FEATURE_APP_REQUIRES)
    return {
        "go.mod": f"module corp.example/app\n\ngo 1.21\n\nrequire (\n{req})\n",
        "main.go": FEATURE_MAIN,
    }


# ---------------------------------------------------------------- bench corpus


def bench_modules(n):
    mods = []
    for i in range(n):
        name = f"m{i:04d}"
        path = f"bench.example/{name}"
        files = {
            "go.mod": f"module {path}\n\ngo 1.18\n",
            "README.md": f"# {name}\n\n" + pseudo_text(f"{name}-readme", 1500).decode() + "\n",
            "LICENSE": "Permission is granted to anyone to use this corpus.\n" * 20,
        }
        for j in range(8):
            consts = "".join(
                f'\tC{j}_{k} = "{pseudo_text(f"{name}-{j}-{k}", 40).decode().replace(chr(10), " ")}"\n'
                for k in range(40)
            )
            body = f"const (\n{consts})\n\nfunc F{j}(x int) int {{ return x*{j + 3} + len(C{j}_0) }}\n"
            if j == 0:
                body = (
                    f'import "{path}/sub"\n\n' + body + "\n// Value sums the package's functions.\n"
                    "func Value() int { return F0(1) + F1(2) + F2(3) + F3(4) + F4(5) + F5(6) + F6(7) + F7(8) + sub.S0(1) }\n"
                )
            files[f"f{j}.go"] = gofile(name, body)
        for j in range(4):
            files[f"sub/s{j}.go"] = gofile(
                "sub",
                f"// S{j} is generated.\nfunc S{j}(x int) int {{ return x + {j} }}\n\n"
                + f"var table{j} = []string{{\n"
                + "".join(f'\t"{pseudo_text(f"{name}-s{j}-{k}", 30).decode().replace(chr(10), " ")}",\n' for k in range(40))
                + "}\n",
            )
        for j in range(5):
            files[f"data/t{j}.txt"] = pseudo_text(f"{name}-data{j}", 2000 + 300 * j)
        mods.append(Module(path, "v1.0.0", files))
    return mods


def bench_app(mods):
    imports = "".join(f'\t"{m.path}"\n' for m in mods)
    calls = "".join(f"\ttotal += {m.path.rsplit('/', 1)[1]}.Value()\n" for m in mods)
    req = "".join(f"\t{m.path} {m.version}\n" for m in mods)
    return {
        "go.mod": f"module bench.example/app\n\ngo 1.21\n\nrequire (\n{req})\n",
        "main.go": f'package main\n\nimport (\n\t"fmt"\n\n{imports})\n\nfunc main() {{\n\ttotal := 0\n{calls}\tfmt.Println(total)\n}}\n',
    }


# ---------------------------------------------------------------- generation


def write_proxy(proxy, mods):
    by_path = {}
    for m in mods:
        by_path.setdefault(m.path, []).append(m)
    manifest = []
    for path, ms in sorted(by_path.items()):
        ms.sort(key=lambda m: semver_key(m.version))
        vdir = os.path.join(proxy, escape(path), "@v")
        write(os.path.join(vdir, "list"), "".join(m.version + "\n" for m in ms))
        write(os.path.join(proxy, escape(path), "@latest"), ms[-1].info())
        for m in ms:
            ev = escape(m.version)
            zb = m.zip_bytes()
            write(os.path.join(vdir, ev + ".info"), m.info())
            write(os.path.join(vdir, ev + ".mod"), m.mod)
            write(os.path.join(vdir, ev + ".zip"), zb)
            prefix = f"{m.path}@{m.version}/"
            manifest.append(
                {
                    "path": m.path,
                    "version": m.version,
                    "escaped_path": escape(m.path),
                    "escaped_version": ev,
                    "time": m.time,
                    "files": len(m.files),
                    "zip_size": len(zb),
                    "zip_sha256": hashlib.sha256(zb).hexdigest(),
                    "h1": h1([(prefix + r, d) for r, (d, _) in m.files.items()]),
                    "gomod_h1": h1([("go.mod", m.mod)]),
                }
            )
    return manifest


def ensure_go(go_arg):
    if go_arg:
        return os.path.abspath(go_arg)
    go = os.path.join(GOROOT_DEFAULT, "bin", "go")
    if not os.path.exists(go):
        if not os.path.exists(GO_ARCHIVE):
            sys.exit(f"missing {GO_ARCHIVE}: run scripts/test-toolchains.sh (or scripts/module-corpus.sh)")
        tmp = GOROOT_DEFAULT + ".tmp"
        rmtree_rw(tmp)
        os.makedirs(tmp)
        print(f"extracting {GO_ARCHIVE} -> {GOROOT_DEFAULT}", file=sys.stderr)
        if shutil.which("tar"):
            subprocess.run(["tar", "-xzf", GO_ARCHIVE, "-C", tmp, "--strip-components=1"], check=True)
        else:
            with tarfile.open(GO_ARCHIVE) as t:
                for mem in t.getmembers():
                    mem.name = mem.name.split("/", 1)[1] if "/" in mem.name else ""
                t.extractall(tmp, members=[m for m in t.getmembers() if m.name], filter="tar")
        rmtree_rw(GOROOT_DEFAULT)
        os.rename(tmp, GOROOT_DEFAULT)
    return go


def go_env(out, go):
    home = os.path.join(TEST_DIR, "go-home")
    env = {
        "PATH": os.path.dirname(go) + os.pathsep + "/usr/bin:/bin",
        "HOME": home,
        "XDG_CONFIG_HOME": os.path.join(home, ".config"),
        "XDG_CACHE_HOME": os.path.join(home, ".cache"),
        "GOPATH": os.path.join(home, "gopath"),
        "GOCACHE": os.path.join(home, "gocache"),
        "GOMODCACHE": os.path.join(out, "ref-cache"),
        "GOPROXY": "file://" + os.path.join(out, "proxy"),
        "GOSUMDB": "off",
        "GONOSUMDB": "",
        "GOPRIVATE": "",
        "GOFLAGS": "-mod=mod",
        "GOTOOLCHAIN": "local",
        "GOENV": "off",
        "GOTELEMETRY": "off",
        "CGO_ENABLED": "0",
        "LANG": "C.UTF-8",
    }
    for k in ("GOROOT", "GOBIN", "GOWORK", "GOEXPERIMENT", "GOOS", "GOARCH"):
        env.pop(k, None)
    return env


def run(cmd, cwd, env, timings, label):
    t0 = time.monotonic()
    p = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True)
    timings[label] = round(time.monotonic() - t0, 2)
    if p.returncode != 0:
        sys.stderr.write(p.stdout + p.stderr)
        sys.exit(f"FAILED ({p.returncode}): {' '.join(cmd)} in {cwd}")
    return p.stdout + p.stderr


def check_gosum(gosum_text, manifest, app_requires_all):
    """Every go.sum line must match the hashes computed here; every module zip we
    require must be present."""
    expected = {}
    for e in manifest:
        expected[(e["path"], e["version"])] = e["h1"]
        expected[(e["path"], e["version"] + "/go.mod")] = e["gomod_h1"]
    seen = set()
    for line in gosum_text.splitlines():
        path, ver, h = line.split()
        if expected.get((path, ver)) != h:
            sys.exit(f"go.sum line not matching the generated corpus: {line!r} (expected {expected.get((path, ver))})")
        seen.add((path, ver))
    for p, v in app_requires_all:
        if (p, v) not in seen:
            sys.exit(f"go.sum lacks {p} {v}")


def build(out, mods, app_files, go, requires):
    timings = {}
    t0 = time.monotonic()
    for sub in ("proxy", "app", "bin"):
        rmtree_rw(os.path.join(out, sub))
    rmtree_rw(os.path.join(out, "ref-cache"))
    for f in ("stamp", "go.sum", "modules.json", "env.sh"):
        if os.path.exists(os.path.join(out, f)):
            os.remove(os.path.join(out, f))
    os.makedirs(out, exist_ok=True)
    manifest = write_proxy(os.path.join(out, "proxy"), mods)
    for rel, data in app_files.items():
        write(os.path.join(out, "app", rel), data)
    write(os.path.join(out, "modules.json"), json.dumps(manifest, indent=1, ensure_ascii=False) + "\n")
    timings["generate"] = round(time.monotonic() - t0, 2)

    env = go_env(out, go)
    for d in ("HOME", "GOPATH", "GOCACHE", "XDG_CONFIG_HOME"):
        os.makedirs(env[d], exist_ok=True)
    write(
        os.path.join(out, "env.sh"),
        "".join(f"export {k}='{env[k]}'\n" for k in sorted(env) if k != "PATH")
        + f"export PATH='{os.path.dirname(go)}':\"$PATH\"\n",
    )
    app = os.path.join(out, "app")
    run([go, "mod", "tidy"], app, env, timings, "go mod tidy")
    # -o DIR/ keeps the main binary out of app/; running it proves the link.
    bindir = os.path.join(out, "bin") + os.sep
    rmtree_rw(bindir)
    run([go, "build", "-o", bindir, "./..."], app, env, timings, "go build ./...")
    run([os.path.join(bindir, "app")], app, env, timings, "run app")
    verify = run([go, "mod", "verify"], app, env, timings, "go mod verify")
    if "all modules verified" not in verify:
        sys.exit("go mod verify: " + verify)
    with open(os.path.join(app, "go.sum")) as f:
        gosum = f.read()
    check_gosum(gosum, manifest, requires)
    shutil.copyfile(os.path.join(app, "go.sum"), os.path.join(out, "go.sum"))
    return timings


def du(path):
    total = n = 0
    for dp, _, fs in os.walk(path):
        for f in fs:
            total += os.lstat(os.path.join(dp, f)).st_size
            n += 1
    return total, n


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bench", nargs="?", type=int, const=300, default=None, metavar="N")
    ap.add_argument("--go", help="go binary (default: extract go1.27.3 into target/golock-test/go1.27.3)")
    ap.add_argument("--force", action="store_true")
    a = ap.parse_args()

    go = ensure_go(a.go)
    gover = subprocess.run([go, "version"], capture_output=True, text=True, check=True).stdout.strip()
    with open(os.path.abspath(__file__), "rb") as f:
        script_hash = hashlib.sha256(f.read()).hexdigest()

    if a.bench is not None:
        # 300 (the default) keeps its old place; other sizes live beside it.
        name = "bench-corpus" if a.bench == 300 else f"bench-corpus-{a.bench}"
        out = os.path.join(TEST_DIR, name)
        key = f"{script_hash} bench={a.bench} {gover}\n"
    else:
        out = os.path.join(TEST_DIR, "corpus")
        key = f"{script_hash} corpus {gover}\n"
    stamp = os.path.join(out, "stamp")
    if not a.force and os.path.exists(stamp) and open(stamp).read() == key:
        print(f"{out}: up to date ({gover})")
        return

    t0 = time.monotonic()
    if a.bench is not None:
        mods = bench_modules(a.bench)
        requires = [(m.path, m.version) for m in mods]
        app_files = bench_app(mods)
    else:
        mods = feature_modules()
        requires = FEATURE_APP_REQUIRES
        app_files = feature_app()
    timings = build(out, mods, app_files, go, requires)
    write(stamp, key)
    timings["total"] = round(time.monotonic() - t0, 2)
    psize, pn = du(os.path.join(out, "proxy"))
    csize, cn = du(os.path.join(out, "ref-cache"))
    print(f"{out}: {len(mods)} module versions ({gover})")
    print(f"  proxy     {pn} files, {psize / 1e6:.1f} MB")
    print(f"  ref-cache {cn} files, {csize / 1e6:.1f} MB")
    print("  timings  " + ", ".join(f"{k} {v}s" for k, v in timings.items()))


if __name__ == "__main__":
    main()
