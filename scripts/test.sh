#!/usr/bin/env bash
# The test command (README): installs what a fresh machine lacks, builds the
# real Go archives the tests use (cached under target/), then checks format,
# lints and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
# Each step's wall time goes to stderr, so CI's 30-minute budget can be read off.
started=$SECONDS
step() {
  local t0=$SECONDS
  "$@"
  echo "[test.sh] $((SECONDS - t0)) s (total $((SECONDS - started)) s): $*" >&2
}
command -v python3 >/dev/null || { apt-get update -qq && apt-get install -y -qq python3 python3-pip; }
python3 -m pip --version >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq python3-pip; }
# Real shells the profile tests source their blocks with, the reference
# minisign the bundle-signature tests check golock against, and the gpg
# that makes the keys and archive signatures of tests/signatures.rs.
if ! command -v fish >/dev/null || ! command -v zsh >/dev/null || ! command -v minisign >/dev/null || ! command -v direnv >/dev/null || ! command -v gpg >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fish zsh minisign direnv gnupg >/dev/null
fi
rustup component add rustfmt clippy >/dev/null 2>&1 || true
step bash scripts/test-toolchains.sh
step bash scripts/module-corpus.sh
step bash scripts/module-corpus.sh --bench 300
step cargo fmt --all -- --check
step cargo clippy --all-targets --locked -- -D warnings
step cargo test --locked --all-targets
# The pre-commit `language: rust` hook builds golock once more, from scratch
# (cargo install at opt-level 0: 115 s cold on an idle 2-core machine). It
# runs in the background beside the Ansible and package steps, which leave a
# core idle much of the time, and is waited for at the end: always run.
mkdir -p target
rust_hook_log=target/precommit-rust.log
rust_hook_started=$SECONDS
GOLOCK_PRECOMMIT_RUST=only bash scripts/precommit-test.sh >"$rust_hook_log" 2>&1 &
rust_hook_pid=$!
trap 'kill "$rust_hook_pid" 2>/dev/null || true' EXIT
# The Ansible collection, with the real ansible-core (its own script: < 5 min).
step bash scripts/ansible-test.sh
# Packages (.deb via cargo-deb, wheel via maturin) of the binary the tests built.
step env GOLOCK_PACKAGE_PROFILE=dev bash scripts/package-test.sh
# The pre-commit hooks with the real pre-commit, in their system flavours.
step env GOLOCK_PRECOMMIT_RUST=0 bash scripts/precommit-test.sh
rust_hook_rc=0
wait "$rust_hook_pid" || rust_hook_rc=$?
trap - EXIT
sed 's/^/[precommit rust] /' "$rust_hook_log" >&2
echo "[test.sh] $((SECONDS - rust_hook_started)) s (total $((SECONDS - started)) s): precommit-test.sh language: rust (background)" >&2
exit "$rust_hook_rc"
