#!/usr/bin/env bash
# The README's "run" command: on a fresh machine, build the real Go archive
# the example locks, then plan + apply examples/basic/golock.toml into a
# temporary root and HOME, and run the installed `go version`.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/test-toolchains.sh >/dev/null
cargo build --release --locked --quiet
tmp=$(mktemp -d)
golock=(target/release/golock --root "$tmp/root" --home "$tmp/home" --lockfile examples/basic/golock.toml)
mkdir -p "$tmp/home"
echo "== golock plan"
"${golock[@]}" plan
echo "== golock apply -y"
"${golock[@]}" apply -y
echo "== $tmp/root/go/bin/go version"
"$tmp/root/go/bin/go" version
echo "== login shell (env -i HOME=$tmp/home bash -lc 'go version; go env GOROOT GOFLAGS')"
env -i HOME="$tmp/home" PATH=/usr/bin:/bin bash -lc 'go version; go env GOROOT GOFLAGS'
echo "== golock plan (again)"
"${golock[@]}" plan
echo "(everything is under $tmp)"
