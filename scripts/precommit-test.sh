#!/usr/bin/env bash
# Tests of .pre-commit-hooks.yaml with the real pre-commit from PyPI (venv
# cached under target/precommit-venv), run with `pre-commit try-repo` on
# this repo against temp git repos holding go.mod, go.sum (the test corpus's)
# and golock.toml (its mirror: the test archives dir, a local dir):
#   1 in sync: golock-check-system --all-files passes
#   2 drift: after go.sum gains a module it fails, naming the module
#   3 fixer: golock-lock-system rewrites golock.toml and fails, then passes
#   4 monorepo: only the golock.toml beside a staged go.sum is checked; with
#     --all-files (nothing staged) every module's drift is reported, each
#     naming its lockfile
#   5 language: rust: golock-check builds golock from this repo (cargo
#     install, CARGO_TARGET_DIR=target/precommit-cargo to reuse its deps)
#     and passes; timed. GOLOCK_PRECOMMIT_RUST=0 skips it; =only runs 1 and
#     5 alone (test.sh runs that in the background, beside other steps).
# The system flavours run target/debug/golock (put first on PATH).
# try-repo takes this repo's HEAD plus its tracked uncommitted changes: a new
# file must be committed (or staged) to be seen.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
venv=$repo/target/precommit-venv
archives=$repo/target/golock-test/archives
corpus_sum=$repo/target/golock-test/corpus/go.sum

fail() {
  echo "precommit-test: FAIL: $*" >&2
  exit 1
}

if [ ! -x "$venv/bin/pre-commit" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "pre-commit>=4,<5"
fi
[ -f "$archives/go1.27.3.linux-amd64.tar.gz" ] || bash scripts/test-toolchains.sh >/dev/null
[ -f "$corpus_sum" ] || bash scripts/module-corpus.sh >/dev/null
cargo build --locked --quiet

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir "$tmp/bin" "$tmp/root"
ln -s "$repo/target/debug/golock" "$tmp/bin/golock"
export PATH="$tmp/bin:$PATH"
export GOLOCK_ROOT=$tmp/root
mode=${GOLOCK_PRECOMMIT_RUST:-1}
case $mode in 0 | 1 | only) ;; *) fail "GOLOCK_PRECOMMIT_RUST must be 0, 1 or only, not '$mode'" ;; esac
# Its own pre-commit store per mode, so a background `only` run and a
# foreground run never share one.
store=precommit-home
[ "$mode" != only ] || store=precommit-home-rust
export PRE_COMMIT_HOME=$repo/target/$store
export GIT_AUTHOR_NAME=test GIT_AUTHOR_EMAIL=test@example.invalid
export GIT_COMMITTER_NAME=test GIT_COMMITTER_EMAIL=test@example.invalid
unset GOLOCK_LOCKFILE

# A module dir: go.mod, the corpus go.sum, and golock.toml from init + lock.
new_module() {
  local dir=$1 name=$2
  mkdir -p "$dir"
  printf 'module example.com/%s\n\ngo 1.22\n\ntoolchain go1.27.3\n' "$name" >"$dir/go.mod"
  cp "$corpus_sum" "$dir/go.sum"
  golock init --repo "$dir" --mirror "$archives" >/dev/null 2>&1 || fail "golock init in $dir"
  (cd "$dir" && golock lock --offline >/dev/null 2>&1) || fail "golock lock in $dir"
}

new_repo() {
  git init --quiet "$1"
}

commit_all() {
  git -C "$1" add -A
  git -C "$1" commit --quiet -m "$2"
}

# Add module $2 to the go.sum $1 (well-formed h1: hashes, never downloaded).
add_to_go_sum() {
  printf '%s v1.2.3 h1:%s\n%s v1.2.3/go.mod h1:%s\n' \
    "$2" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" \
    "$2" "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA=" >>"$1"
}

# Run pre-commit try-repo HOOK ARGS… in dir $1; its output in $out, its
# exit code in $rc.
try_hook() {
  local dir=$1
  shift
  rc=0
  out=$(cd "$dir" && "$venv/bin/pre-commit" try-repo "$repo" "$@" 2>&1) || rc=$?
}

expect_pass() {
  [ "$rc" = 0 ] || fail "$1: exit $rc, want 0:
$out"
}

expect_fail() {
  [ "$rc" != 0 ] || fail "$1: passed, want a failure:
$out"
}

expect_says() {
  grep -qF -- "$2" <<<"$out" || fail "$1: output lacks '$2':
$out"
}

expect_not_says() {
  if grep -qF -- "$2" <<<"$out"; then
    fail "$1: output has '$2':
$out"
  fi
}

echo "precommit-test: pre-commit $("$venv/bin/pre-commit" --version | cut -d' ' -f2)"

# 1 in sync
single=$tmp/single
new_repo "$single"
new_module "$single" single
commit_all "$single" "module with golock.toml"
try_hook "$single" golock-check-system --all-files
expect_pass "in sync"
expect_says "in sync" "Passed"
echo "precommit-test: 1 in sync: golock-check-system passes"

if [ "$mode" != only ]; then

# 2 drift
add_to_go_sum "$single/go.sum" example.com/newdep
try_hook "$single" golock-check-system --all-files
expect_fail "drift"
expect_says "drift" "drift: golock.toml: example.com/newdep@v1.2.3 is in go.sum but not in golock.toml"
echo "precommit-test: 2 drift: golock-check-system fails naming example.com/newdep@v1.2.3"

# 3 fixer
before=$(sha256sum "$single/golock.toml")
try_hook "$single" golock-lock-system --all-files
expect_fail "lock rewrites"
expect_says "lock rewrites" "Rewrote golock.toml"
expect_says "lock rewrites" "files were modified by this hook"
[ "$(sha256sum "$single/golock.toml")" != "$before" ] || fail "golock-lock-system left golock.toml as it was"
grep -qF '"example.com/newdep@v1.2.3"' "$single/golock.toml" || fail "golock.toml does not lock example.com/newdep"
try_hook "$single" golock-lock-system --all-files
expect_pass "lock again"
try_hook "$single" golock-check-system --all-files
expect_pass "check after lock"
echo "precommit-test: 3 fixer: golock-lock-system rewrites golock.toml and fails, then passes"

# 4 monorepo: svc/a drifts (committed so), svc/b's go.sum changes (staged)
mono=$tmp/mono
new_repo "$mono"
new_module "$mono/svc/a" a
new_module "$mono/svc/b" b
echo "package main" >"$mono/main.go"
commit_all "$mono" "two modules"
add_to_go_sum "$mono/svc/a/go.sum" example.com/only-in-a
commit_all "$mono" "a drifts"
add_to_go_sum "$mono/svc/b/go.sum" example.com/only-in-b
git -C "$mono" add svc/b/go.sum
try_hook "$mono" golock-check-system
expect_fail "monorepo staged"
expect_says "monorepo staged" "drift: svc/b/golock.toml: example.com/only-in-b@v1.2.3 is in go.sum"
expect_not_says "monorepo staged" "only-in-a"
# --all-files, as CI runs it on a clean checkout: every module's lockfile.
commit_all "$mono" "b drifts too"
try_hook "$mono" golock-check-system --all-files
expect_fail "monorepo all files"
expect_says "monorepo all files" "drift: svc/a/golock.toml: example.com/only-in-a@v1.2.3 is in go.sum"
expect_says "monorepo all files" "drift: svc/b/golock.toml: example.com/only-in-b@v1.2.3 is in go.sum"
try_hook "$mono" golock-lock-system --all-files
expect_fail "monorepo lock"
expect_says "monorepo lock" "svc/a/golock.toml"
expect_says "monorepo lock" "svc/b/golock.toml"
try_hook "$mono" golock-check-system --all-files
expect_pass "monorepo after lock"
echo "precommit-test: 4 monorepo: the staged module's drift alone, then both with --all-files; lock fixes both"
fi

# 5 language: rust, once
if [ "$mode" != 0 ]; then
  export CARGO_TARGET_DIR=$repo/target/precommit-cargo
  # pre-commit runs `cargo install` (the release profile); what is tested is
  # that the hook builds and runs, not the optimiser, so keep the build cheap.
  export CARGO_PROFILE_RELEASE_OPT_LEVEL=0 CARGO_PROFILE_RELEASE_DEBUG=false \
    CARGO_PROFILE_RELEASE_CODEGEN_UNITS=256 CARGO_PROFILE_RELEASE_LTO=false
  start=$(date +%s)
  PATH=${PATH#"$tmp/bin:"} try_hook "$single" golock-check --all-files
  took=$(($(date +%s) - start))
  expect_pass "language: rust"
  expect_says "language: rust" "Passed"
  echo "precommit-test: 5 language: rust: golock-check built and passed in ${took}s"
  [ "$took" -le 360 ] || echo "precommit-test: note: the rust build took over 6 minutes" >&2
fi
echo "precommit-test: all passed"
