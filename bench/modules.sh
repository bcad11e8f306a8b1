#!/usr/bin/env bash
# Benchmark: filling and verifying a module cache, against the real go.
#   fill:   golock apply (verifies every h1 against the lock, journals)
#           vs `go mod download` from the same file:// proxy
#           vs the floor: tar -cf - | tar -xf - of the finished cache
#   verify: golock verify vs go mod verify on the same cache
#   no-op:  golock plan with every locked module present
# Runs alternate on this machine; medians and ratios are printed.
# Corpora: the test corpus (tricky modules) and N generated modules
# (BENCH_MODULES, default 300; use 1000+ for the no-op plan target).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
n=${BENCH_MODULES:-300}
bash scripts/module-corpus.sh >/dev/null
bash scripts/module-corpus.sh --bench "$n" >/dev/null
cargo build --release --locked --quiet
golock=$PWD/target/release/golock
go=$PWD/target/golock-test/go1.27.3/bin/go
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
source bench/lib.sh
ratio() { python3 -c "print(round($1 / $2, 3))"; }

archive=$PWD/target/golock-test/archives/go1.27.3.linux-amd64.tar.gz

bench_corpus() {
  local name=$1 corpus=$2
  local lock=$work/$name/golock.toml cache=$work/$name/gl-cache
  mkdir -p "$work/$name/home"
  write_lockfile "$lock" "$corpus" "$cache"
  local g=("$golock" -q --root "$work/$name/root" --home "$work/$name/home" --lockfile "$lock")
  "${g[@]}" lock --go-sum "$corpus/go.sum" >/dev/null
  local modules
  modules=$(grep -c '@v' "$lock")
  # The toolchain once, so that runs time the modules alone.
  "${g[@]}" apply -y --archive "$archive" >/dev/null
  local fill=() gomod=() floor=() gv=() gov=()
  for i in $(seq "$runs"); do
    set_aside "$cache"; settle_disk
    t0=$(now); "${g[@]}" apply -y >/dev/null; t1=$(now); fill+=("$(elapsed "$t0" "$t1")")
    t0=$(now); "${g[@]}" verify --modules-only >/dev/null; t1=$(now); gv+=("$(elapsed "$t0" "$t1")")
    set_aside "$work/$name/go-cache"; settle_disk
    t0=$(now)
    (cd "$corpus/app" && env -i PATH=/usr/bin:/bin HOME="$work/$name/home" GOCACHE="$work/$name/gocache" \
      GOMODCACHE="$work/$name/go-cache" GOPROXY="file://$corpus/proxy" GOSUMDB=off GOFLAGS=-mod=mod \
      GOTOOLCHAIN=local GOENV=off "$go" mod download)
    t1=$(now); gomod+=("$(elapsed "$t0" "$t1")")
    t0=$(now)
    (cd "$corpus/app" && env -i PATH=/usr/bin:/bin HOME="$work/$name/home" GOCACHE="$work/$name/gocache" \
      GOMODCACHE="$work/$name/go-cache" GOPROXY=off GOSUMDB=off GOFLAGS=-mod=mod \
      GOTOOLCHAIN=local GOENV=off "$go" mod verify >/dev/null)
    t1=$(now); gov+=("$(elapsed "$t0" "$t1")")
    set_aside "$work/$name/floor"; mkdir -p "$work/$name/floor"; settle_disk
    t0=$(now); tar -cf - -C "$corpus/ref-cache" . | tar -xf - -C "$work/$name/floor"; t1=$(now)
    floor+=("$(elapsed "$t0" "$t1")")
  done
  local noop=()
  for i in $(seq "$runs"); do
    t0=$(now); "${g[@]}" plan --detailed-exitcode >/dev/null; t1=$(now); noop+=("$(elapsed "$t0" "$t1")")
  done
  local F G T V GV P
  F=$(median "${fill[@]}"); G=$(median "${gomod[@]}"); T=$(median "${floor[@]}")
  V=$(median "${gv[@]}"); GV=$(median "${gov[@]}"); P=$(median "${noop[@]}")
  echo "== $name ($modules modules, median of $runs)"
  echo "fill:   golock apply ${F}s | go mod download ${G}s | tar floor ${T}s"
  echo "        golock/go = $(ratio "$F" "$G") (target <= 1.0)   golock/floor = $(ratio "$F" "$T") (target <= 1.15)"
  echo "verify: golock verify --modules-only ${V}s | go mod verify ${GV}s   speed-up = $(ratio "$GV" "$V")x (target >= 1.5)"
  echo "no-op plan: ${P}s (target < 0.05 s with >= 1000 modules)"
}

bench_corpus corpus "$PWD/target/golock-test/corpus"
bench_corpus bench "$PWD/target/golock-test/bench-corpus"
