#!/usr/bin/env bash
# Benchmark: `golock verify --modules-only` against `go mod verify` on the
# same module cache (filled by golock apply from the bench corpus's file://
# proxy), at 300 and 1,000 modules (target: golock >= 4x faster, i.e.
# golock / go <= 0.25). Runs alternate, which goes first alternating too;
# the cache is in the page cache for both (each is run once before timing).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
cargo build --release --locked --quiet
golock=$PWD/target/release/golock
go=$PWD/target/golock-test/go1.27.3/bin/go
work=$(mktemp -d "$PWD/target/bench-verify.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
source bench/lib.sh
archive=$PWD/target/golock-test/archives/go1.27.3.linux-amd64.tar.gz
corpus_dir() { bash scripts/module-corpus.sh --bench "$1" | sed -n '1s/: .*//p'; }

bench_verify() {
  local n=$1 corpus
  corpus=$(corpus_dir "$n")
  local dir=$work/v$n lock=$work/v$n/golock.toml cache=$work/v$n/cache
  mkdir -p "$dir/home"
  write_lockfile "$lock" "$corpus" "$cache"
  local g=("$golock" -q --root "$dir/root" --home "$dir/home" --lockfile "$lock")
  "${g[@]}" lock --go-sum "$corpus/go.sum" >/dev/null
  "${g[@]}" apply -y --archive "$archive" >/dev/null
  gov() {
    (cd "$corpus/app" && env -i PATH=/usr/bin:/bin HOME="$dir/home" GOCACHE="$dir/gocache" \
      GOMODCACHE="$cache" GOPROXY=off GOSUMDB=off GOFLAGS=-mod=mod \
      GOTOOLCHAIN=local GOENV=off "$go" mod verify >/dev/null)
  }
  glv() { "${g[@]}" verify --modules-only >/dev/null; }
  gov; glv
  local gl=() gv=() t0 t1
  for i in $(seq "$runs"); do
    if ((i % 2)); then
      t0=$(now); glv; t1=$(now); gl+=("$(elapsed "$t0" "$t1")")
      t0=$(now); gov; t1=$(now); gv+=("$(elapsed "$t0" "$t1")")
    else
      t0=$(now); gov; t1=$(now); gv+=("$(elapsed "$t0" "$t1")")
      t0=$(now); glv; t1=$(now); gl+=("$(elapsed "$t0" "$t1")")
    fi
  done
  echo "== verify, $(grep -c '@v' "$lock") modules, median of $runs"
  report_ratio "verify, $n modules" "$(median "${gl[@]}")" "go mod verify" "$(median "${gv[@]}")" 0.25
}

bench_verify 300
bench_verify 1000
