#!/usr/bin/env bash
# The files the Debian package ships beside the binary, generated from the
# built golock itself (so they never disagree with --help): the man page and
# the bash, zsh and fish completions, written into target/assets/ where
# [package.metadata.deb] in Cargo.toml picks them up.
#   usage: scripts/package-assets.sh [GOLOCK]   (default: target/release/golock)
set -euo pipefail
cd "$(dirname "$0")/.."
golock=${1:-target/release/golock}
out=target/assets
mkdir -p "$out"
"$golock" man >"$out/golock.1"
"$golock" completions bash >"$out/golock.bash"
"$golock" completions zsh >"$out/_golock"
"$golock" completions fish >"$out/golock.fish"
for f in golock.1 golock.bash _golock golock.fish; do
  [ -s "$out/$f" ] || { echo "package-assets: $out/$f is empty" >&2; exit 1; }
done
