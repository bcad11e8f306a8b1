#!/usr/bin/env bash
# The packaging test: builds golock's Debian package (cargo-deb) and Python
# wheel (maturin) on a fresh machine and checks each one installs and works.
#   .deb:  dpkg -i, `golock --version` from /usr/bin, `man golock` renders,
#          the completions are in place, then dpkg -r removes /usr/bin/golock.
#   wheel: pip install into a fresh venv, `golock --version`, `golock plan`
#          on the shipped example (temp --root/--home), METADATA name/version.
# Installs what it needs, cached under target/: maturin in target/package-venv
# (PyPI), cargo-deb in target/cargo-tools (crates.io), man-db via apt if
# missing. Prints each step's time. Needs root (or sudo) for dpkg and apt.
set -euo pipefail
cd "$(dirname "$0")/.."
root_dir=$PWD

sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)

step_names=()
step_secs=()
# step NAME CMD...: run CMD, record how long it took.
step() {
  local name=$1 start=$SECONDS
  shift
  echo "== $name"
  "$@"
  step_names+=("$name")
  step_secs+=($((SECONDS - start)))
  echo "   ($((SECONDS - start)) s)"
}

fail() {
  echo "package-test: $*" >&2
  exit 1
}

version=$(python3 -c 'import tomllib; print(tomllib.load(open("Cargo.toml", "rb"))["package"]["version"])')
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

install_tools() {
  if [ ! -x target/package-venv/bin/maturin ]; then
    python3 -m venv target/package-venv
    target/package-venv/bin/pip install --quiet 'maturin>=1.5,<2'
  fi
  export PATH="$root_dir/target/cargo-tools/bin:$PATH"
  if ! command -v cargo-deb >/dev/null; then
    # A tool, not a release: skip its LTO so the build fits CI's budget.
    CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
      cargo install cargo-deb --locked --quiet --root target/cargo-tools
  fi
  if ! command -v man >/dev/null || ! dpkg -s man-db >/dev/null 2>&1; then
    "${sudo[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq man-db >/dev/null
  fi
  target/package-venv/bin/maturin --version
  cargo deb --version
}

# GOLOCK_PACKAGE_PROFILE=dev (as scripts/test.sh sets it) packages the
# binary the tests already built instead of a second, release build: the
# packaging is the same, only the optimisation differs. Releases use the
# default, release.
profile=${GOLOCK_PACKAGE_PROFILE:-release}
case $profile in
  release) bin_dir=target/release ;;
  dev) bin_dir=target/debug ;;
  *) fail "GOLOCK_PACKAGE_PROFILE must be release or dev, not $profile" ;;
esac

build_binary() {
  bash scripts/test-toolchains.sh >/dev/null
  cargo build --profile "$profile" --locked --quiet
}

build_deb() {
  bash scripts/package-assets.sh "$bin_dir/golock"
  mkdir -p "$tmp/deb"
  cargo deb --no-build --profile "$profile" --output "$tmp/deb/" >/dev/null
  deb=$(ls "$tmp"/deb/golock_"${version}"*.deb)
  dpkg-deb --info "$deb" | sed -n 's/^ \(Package\|Version\|Architecture\):/   \1:/p'
}

test_deb() {
  if [ -e /usr/bin/golock ] && ! dpkg -S /usr/bin/golock >/dev/null 2>&1; then
    fail "/usr/bin/golock exists and no package owns it: not overwriting it"
  fi
  "${sudo[@]}" dpkg -i "$deb" >/dev/null
  [ "$(command -v golock)" = /usr/bin/golock ] || fail "golock on PATH is $(command -v golock), not /usr/bin/golock"
  /usr/bin/golock --version | tee "$tmp/deb-version"
  grep -qx "golock $version" "$tmp/deb-version" || fail "the .deb's golock --version does not say golock $version"
  # Not a terminal: man-db renders plain text, without overstrikes.
  MANWIDTH=80 man golock >"$tmp/man.txt"
  grep -q '^NAME' "$tmp/man.txt" || fail "man golock did not render a NAME section"
  grep -q 'golock' "$tmp/man.txt" || fail "man golock does not mention golock"
  echo "   man golock: $(wc -l <"$tmp/man.txt") lines, $(sed -n '/^NAME/{n;p;q}' "$tmp/man.txt" | sed 's/^ *//')"
  for f in /usr/share/bash-completion/completions/golock \
    /usr/share/zsh/vendor-completions/_golock \
    /usr/share/fish/vendor_completions.d/golock.fish \
    /usr/share/doc/golock/README.md; do
    [ -s "$f" ] || fail "$f is missing or empty after dpkg -i"
  done
  bash -c 'source /usr/share/bash-completion/completions/golock && complete -p golock' >/dev/null ||
    fail "the bash completion does not register a completion for golock"
  "${sudo[@]}" dpkg -r golock >/dev/null
  [ ! -e /usr/bin/golock ] || fail "/usr/bin/golock is still there after dpkg -r"
  [ ! -e /usr/share/man/man1/golock.1.gz ] && [ ! -e /usr/share/man/man1/golock.1 ] ||
    fail "the man page is still there after dpkg -r"
  echo "   dpkg -r golock: /usr/bin/golock and the man page are gone"
}

build_wheel() {
  rm -rf target/package-wheels
  target/package-venv/bin/maturin build --profile "$profile" --locked --out target/package-wheels
  wheel=$(ls target/package-wheels/golock-"${version}"-*.whl)
  echo "   $wheel ($(du -h "$wheel" | cut -f1))"
}

test_wheel() {
  python3 -m venv "$tmp/venv"
  "$tmp/venv/bin/pip" install --quiet --no-index --find-links target/package-wheels golock
  local golock=$tmp/venv/bin/golock
  [ -x "$golock" ] || fail "the wheel did not install $golock"
  "$golock" --version | tee "$tmp/wheel-version"
  grep -qx "golock $version" "$tmp/wheel-version" || fail "the wheel's golock --version does not say golock $version"

  mkdir -p "$tmp/home"
  local rc=0
  "$golock" --root "$tmp/root" --home "$tmp/home" --lockfile examples/basic/golock.toml \
    plan --detailed-exitcode >"$tmp/plan.txt" || rc=$?
  [ "$rc" -eq 2 ] || { cat "$tmp/plan.txt"; fail "plan --detailed-exitcode on the example exited $rc, not 2 (changes)"; }
  grep -q '+ install go1.27.3 (linux-amd64)' "$tmp/plan.txt" || fail "the plan does not install go1.27.3"
  grep -q '^Plan: 5 to install, 0 to change, 0 to remove.' "$tmp/plan.txt" || fail "unexpected plan summary"
  [ ! -e "$tmp/root" ] || fail "plan wrote to its --root"
  echo "   plan: $(tail -n1 "$tmp/plan.txt")"

  local metadata
  metadata=$(unzip -p "$wheel" "golock-${version}.dist-info/METADATA")
  grep -qx 'Name: golock' <<<"$metadata" || fail "the wheel's METADATA does not say Name: golock"
  grep -qx "Version: ${version}" <<<"$metadata" || fail "the wheel's METADATA does not say Version: ${version}"
  echo "   METADATA: Name: golock, Version: ${version}"
}

step "install tools (maturin, cargo-deb, man-db)" install_tools
step "cargo build --profile $profile --locked" build_binary
step "cargo deb --no-build" build_deb
step "dpkg -i, golock --version, man golock, dpkg -r" test_deb
step "maturin build --profile $profile --locked" build_wheel
step "wheel: fresh venv, golock --version, golock plan" test_wheel

echo "== times"
for i in "${!step_names[@]}"; do
  printf '%5d s  %s\n' "${step_secs[$i]}" "${step_names[$i]}"
done
echo "package-test: ok (total ${SECONDS} s)"
