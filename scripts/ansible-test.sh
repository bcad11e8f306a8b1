#!/usr/bin/env bash
# Tests of the Ansible collection (ansible/) with the real thing: ansible-core
# from PyPI (venv cached under target/ansible-venv), the debug golock, three
# hosts on this machine (ansible_connection=local, each with its own root and
# HOME under a temp dir) fed from a static mirror served on 127.0.0.1 by
# python's http.server, as nginx or S3 would serve it. Runs
# examples/fleet/site.yml and checks:
#   1 --check reports changed for all three and changes nothing (snapshot)
#   2 --check --diff shows the profile block diff
#   3 a real run reports changed; each login shell runs the locked go version
#   4 a second run reports changed=0 for every host; state=checked: in sync,
#     then drift reported as changed (not failed)
#   5 a host given a broken lockfile fails alone, with golock's message
#   6 ansible-doc renders the module's documentation
#   7 the module's mirrors option replaces golock.toml's [go] mirrors
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
venv=$repo/target/ansible-venv
go_version=1.27.3

fail() {
  echo "ansible-test: FAIL: $*" >&2
  exit 1
}

if [ ! -x "$venv/bin/ansible-playbook" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet "ansible-core>=2.19,<2.20"
fi
[ -f target/golock-test/archives/go$go_version.linux-amd64.tar.gz ] || bash scripts/test-toolchains.sh >/dev/null
[ -d target/golock-test/corpus/proxy ] || bash scripts/module-corpus.sh >/dev/null
cargo build --locked --quiet
golock=$repo/target/debug/golock

tmp=$(mktemp -d)
server_pid=
cleanup() {
  [ -z "$server_pid" ] || kill "$server_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# --- the mirror: served first (for its port), filled before anything reads it
mkdir -p "$tmp/mirror" "$tmp/seed"
python3 -u -m http.server 0 --bind 127.0.0.1 --directory "$tmp/mirror" >"$tmp/http.log" 2>&1 &
server_pid=$!
for _ in $(seq 50); do
  port=$(sed -n 's/.*port \([0-9]*\).*/\1/p' "$tmp/http.log" | head -1)
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "${port:-}" ] || fail "http.server did not start: $(cat "$tmp/http.log")"
url=http://127.0.0.1:$port

# The seed lockfile names local sources; the fleet's is the same with the
# mirror's URLs.
cp target/golock-test/corpus/go.sum "$tmp/seed/go.sum"
cat >"$tmp/seed/golock.toml" <<EOF
schema = 1
[go]
version = "$go_version"
mirrors = ["$repo/target/golock-test/archives"]
platforms = ["linux-amd64"]
[go.archives]
[modules]
proxies = ["file://$repo/target/golock-test/corpus/proxy"]
[env]
GOTOOLCHAIN = "local"
GOFLAGS = "-mod=mod"
GOPROXY = "off"
[profile]
files = ["~/.profile", "~/.bashrc"]
goenv = true
EOF
"$golock" --lockfile "$tmp/seed/golock.toml" lock >/dev/null 2>&1 || fail "golock lock of the seed lockfile"

# The static mirror, written by `golock mirror` from the seed lockfile (its
# own data dir, so nothing outside $tmp is touched).
"$golock" --root "$tmp/mirror-root" --home "$tmp/seed" --lockfile "$tmp/seed/golock.toml" \
  mirror "$tmp/mirror" >"$tmp/mirror.log" 2>&1 || fail "golock mirror: $(cat "$tmp/mirror.log")"
[ -f "$tmp/mirror/go/SHA256SUMS" ] && [ -f "$tmp/mirror/go/index.json" ] || fail "golock mirror wrote no go/ listings"

sed -e "s|^mirrors = .*|mirrors = [\"$url/go\"]|" -e "s|^proxies = .*|proxies = [\"$url/mod\"]|" \
  "$tmp/seed/golock.toml" >"$tmp/golock.toml"
grep -q "$url/go" "$tmp/golock.toml" || fail "fleet lockfile has no mirror URL"
# h2 gets golock.toml from a template, the others a copy.
sed -e 's|^mirrors = .*|mirrors = {{ golock_mirrors \| to_json }}|' "$tmp/golock.toml" >"$tmp/golock.toml.j2"
printf 'schema = 1\n[go]\nversion = "banana"\n' >"$tmp/broken.toml"

# --- three hosts on this machine
for h in h1 h2 h3; do mkdir -p "$tmp/hosts/$h/home"; done
mkdir -p "$tmp/collections/ansible_collections/golock"
ln -s "$repo/ansible" "$tmp/collections/ansible_collections/golock/golock"

# inventory H3_LOCKFILE: writes $tmp/inventory.ini
inventory() {
  {
    echo "[targets]"
    for h in h1 h2 h3; do
      local d=$tmp/hosts/$h
      local lockfile="golock_lockfile_src=$tmp/golock.toml"
      [ "$h" = h2 ] && lockfile="golock_lockfile_template=$tmp/golock.toml.j2"
      [ "$h" = h3 ] && lockfile="golock_lockfile_src=$1"
      echo "$h golock_root=$d/root golock_home=$d/home golock_binary_dest=$d/bin/golock golock_lockfile_dest=$d/etc/golock.toml $lockfile"
    done
    echo "[targets:vars]"
    echo "ansible_connection=local"
    echo "ansible_python_interpreter=$venv/bin/python"
    echo "golock_binary_src=$golock"
    echo "golock_mirrors=[\"$url/go\"]"
  } >"$tmp/inventory.ini"
}

export ANSIBLE_COLLECTIONS_PATH=$tmp/collections
export ANSIBLE_HOME=$tmp/ansible-home
export ANSIBLE_LOCAL_TEMP=$tmp/ansible-local
export ANSIBLE_REMOTE_TEMP=$tmp/ansible-remote
export ANSIBLE_NOCOLOR=1
export ANSIBLE_FORCE_COLOR=0
export ANSIBLE_RETRY_FILES_ENABLED=0
export ANSIBLE_DEPRECATION_WARNINGS=0

# playbook OUT ARGS...: runs site.yml; its exit status is in $playbook_rc
playbook() {
  local out=$1
  shift
  playbook_rc=0
  "$venv/bin/ansible-playbook" -i "$tmp/inventory.ini" examples/fleet/site.yml "$@" >"$tmp/$out" 2>&1 ||
    playbook_rc=$?
}

# recap OUT HOST: the host's PLAY RECAP line
recap() {
  grep -E "^$2 +:" "$tmp/$1" || fail "no recap line for $2 in $1"
}

# module_status OUT HOST: ok|changed|fatal|skipping of the golock module task
module_status() {
  awk -v host="$2" '
    /^TASK \[/ { in_task = index($0, "Make the host match golock.toml") > 0 }
    in_task && index($0, "[" host "]") { split($0, w, ":"); print w[1]; exit }
  ' "$tmp/$1"
}

snapshot() {
  (cd "$tmp/hosts" && find . -printf '%y %m %s %l %p\n' | sort && find . -type f -print0 | sort -z | xargs -0 -r sha256sum)
}

inventory "$tmp/golock.toml"
start=$(date +%s)

# 1: --check reports changed for all three, changes nothing
before=$(snapshot)
playbook check.out --check
[ "$playbook_rc" = 0 ] || { cat "$tmp/check.out"; fail "1: --check exited $playbook_rc"; }
for h in h1 h2 h3; do
  [ "$(module_status check.out $h)" = changed ] || { cat "$tmp/check.out"; fail "1: $h: golock module not changed in --check"; }
  recap check.out $h | grep -q 'failed=0' || fail "1: $h failed in --check"
done
[ "$before" = "$(snapshot)" ] || { diff <(echo "$before") <(snapshot) | head -20; fail "1: --check changed the hosts' files"; }
echo "ok 1: --check reports changed for h1 h2 h3, host trees unchanged"

# 2: --check --diff shows the profile block diff
playbook diff.out --check --diff
[ "$playbook_rc" = 0 ] || { cat "$tmp/diff.out"; fail "2: --check --diff exited $playbook_rc"; }
grep -qF "+export GOROOT='$tmp/hosts/h1/root/go'" "$tmp/diff.out" || { cat "$tmp/diff.out"; fail "2: no profile block diff for h1"; }
grep -qF "+# >>> golock >>>" "$tmp/diff.out" || fail "2: no block marker in the diff"
grep -qF "$tmp/hosts/h2/home/.bashrc (after)" "$tmp/diff.out" || fail "2: no .bashrc header for h2"
grep -qF -- "+-> $tmp/hosts/h3/root/toolchains/go$go_version" "$tmp/diff.out" || fail "2: no link switch for h3"
[ "$before" = "$(snapshot)" ] || fail "2: --check --diff changed the hosts' files"
echo "ok 2: --check --diff shows the profile block, link and toolchain diffs"

# 3: a real run reports changed; each login shell runs the locked go
playbook apply.out
[ "$playbook_rc" = 0 ] || { cat "$tmp/apply.out"; fail "3: run exited $playbook_rc"; }
for h in h1 h2 h3; do
  [ "$(module_status apply.out $h)" = changed ] || { cat "$tmp/apply.out"; fail "3: $h: golock module not changed"; }
  home=$tmp/hosts/$h/home
  version=$(env -i HOME="$home" PATH=/usr/bin:/bin bash -lc 'go version') || fail "3: $h: login shell has no go"
  case $version in "go version go$go_version "*) ;; *) fail "3: $h: login shell runs: $version" ;; esac
  cmp -s "$golock" "$tmp/hosts/$h/bin/golock" || fail "3: $h: golock binary not installed"
done
grep -qF "$url/mod" "$tmp/hosts/h2/etc/golock.toml" || fail "3: h2's templated golock.toml"
echo "ok 3: run reports changed; login shells print go$go_version on h1 h2 h3"

# 4: a second run changes nothing
playbook again.out
[ "$playbook_rc" = 0 ] || { cat "$tmp/again.out"; fail "4: second run exited $playbook_rc"; }
for h in h1 h2 h3; do
  recap again.out $h | grep -q 'changed=0 ' || { cat "$tmp/again.out"; fail "4: $h: second run changed something"; }
done
echo "ok 4: second run: changed=0 for h1 h2 h3"

# 4b: state=checked: in sync is ok, drift is changed (not failed), nothing written
checked() {
  "$venv/bin/ansible" -i "$tmp/inventory.ini" h1 -m golock.golock.golock \
    -a "lockfile=$tmp/hosts/h1/etc/golock.toml root=$tmp/hosts/h1/root home=$tmp/hosts/h1/home golock_path=$tmp/hosts/h1/bin/golock state=checked" \
    >"$tmp/$1" 2>&1 || true
}
checked checked.out
grep -q '^h1 | SUCCESS' "$tmp/checked.out" || { cat "$tmp/checked.out"; fail "4b: in-sync check not SUCCESS"; }
printf 'GOFLAGS=-mod=vendor\n' >"$tmp/hosts/h1/home/.config/go/env"
checked drift.out
grep -q '^h1 | CHANGED' "$tmp/drift.out" || { cat "$tmp/drift.out"; fail "4b: drift not reported as CHANGED"; }
grep -q '"drift": true' "$tmp/drift.out" && grep -q '"check_exit": 2' "$tmp/drift.out" || fail "4b: drift not flagged"
grep -qx 'GOFLAGS=-mod=vendor' "$tmp/hosts/h1/home/.config/go/env" || fail "4b: state=checked wrote the host"
playbook repair.out
[ "$playbook_rc" = 0 ] || { cat "$tmp/repair.out"; fail "4b: rerun after drift exited $playbook_rc"; }
[ "$(module_status repair.out h1)" = changed ] || fail "4b: drift on h1 not repaired"
echo "ok 4b: state=checked: in sync SUCCESS, drift CHANGED with drift=true, host untouched"

# 5: a broken lockfile fails its host alone, with golock's message
inventory "$tmp/broken.toml"
playbook broken.out
[ "$playbook_rc" != 0 ] || fail "5: the playbook succeeded with a broken lockfile"
recap broken.out h3 | grep -q 'failed=1' || { cat "$tmp/broken.out"; fail "5: h3 did not fail"; }
grep -q 'invalid Go version' "$tmp/broken.out" || { cat "$tmp/broken.out"; fail "5: golock's message is not in the output"; }
grep -q '"rc": 1' "$tmp/broken.out" || fail "5: golock's exit status not returned"
! grep -q 'Traceback' "$tmp/broken.out" || fail "5: a traceback in the output"
for h in h1 h2; do
  recap broken.out $h | grep -q 'failed=0' || fail "5: $h failed beside the broken host"
  [ "$(module_status broken.out $h)" = ok ] || fail "5: $h: golock module not ok"
done
echo "ok 5: h3's broken lockfile fails h3 alone with golock's message; h1 h2 ok"

# 6: ansible-doc renders the module's documentation
"$venv/bin/ansible-doc" -t module golock.golock.golock >"$tmp/doc.out" 2>&1 || { cat "$tmp/doc.out"; fail "6: ansible-doc failed"; }
for word in lockfile golock_path proxies bundle repair prune state checked EXAMPLES RETURN; do
  grep -q "$word" "$tmp/doc.out" || fail "6: ansible-doc output lacks $word"
done
echo "ok 6: ansible-doc renders golock.golock.golock"

# 7: the module's mirrors option replaces golock.toml's [go] mirrors
# (--mirror): a lockfile whose mirror is gone plans only with it.
d7=$tmp/hosts/h7
mkdir -p "$d7/home"
sed -e "s|^mirrors = .*|mirrors = [\"$tmp/no-such-mirror\"]|" "$tmp/golock.toml" >"$tmp/gone.toml"
adhoc() {
  "$venv/bin/ansible" localhost -i localhost, -c local \
    -e "ansible_python_interpreter=$venv/bin/python" -m golock.golock.golock \
    -a "{\"lockfile\": \"$tmp/gone.toml\", \"root\": \"$d7/root\", \"home\": \"$d7/home\", \"golock_path\": \"$golock\"$1}" \
    --check >"$tmp/adhoc.out" 2>&1
}
if adhoc ""; then cat "$tmp/adhoc.out"; fail "7: a gone mirror planned"; fi
grep -q "no-such-mirror" "$tmp/adhoc.out" || fail "7: the failure does not name the gone mirror"
adhoc ", \"mirrors\": [\"$url/go/\"]" || { cat "$tmp/adhoc.out"; fail "7: mirrors option did not replace [go] mirrors"; }
grep -q "CHANGED" "$tmp/adhoc.out" || fail "7: check mode with mirrors reports no change"
[ ! -e "$d7/root" ] || fail "7: check mode wrote the data dir"
echo "ok 7: the mirrors option replaces [go] mirrors (--mirror), check mode writes nothing"
echo "ansible-test: all passed in $(($(date +%s) - start)) s (after setup)"
