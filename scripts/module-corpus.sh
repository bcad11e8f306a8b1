#!/usr/bin/env bash
# Make the Go module test corpus (see the docstring of scripts/module-corpus.py):
#   bash scripts/module-corpus.sh              -> target/golock-test/corpus/
#   bash scripts/module-corpus.sh --bench [N]  -> target/golock-test/bench-corpus/ (N=300, the default)
#                                                 target/golock-test/bench-corpus-N/ (any other N)
# Ensures the go1.27.3 archive (scripts/test-toolchains.sh) and its extraction in
# target/golock-test/go1.27.3/, then runs the generator, which skips the work when
# its stamp (script hash + arguments + go version) matches. Idempotent and cached.
set -euo pipefail
cd "$(dirname "$0")/.."
goroot=target/golock-test/go1.27.3
if [ ! -x "$goroot/bin/go" ]; then
  bash scripts/test-toolchains.sh >/dev/null
  rm -rf "$goroot.tmp" && mkdir -p "$goroot.tmp"
  tar -xzf target/golock-test/archives/go1.27.3.linux-amd64.tar.gz -C "$goroot.tmp" --strip-components=1
  rm -rf "$goroot" && mv "$goroot.tmp" "$goroot"
fi
exec python3 scripts/module-corpus.py --go "$goroot/bin/go" "$@"
