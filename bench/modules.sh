#!/usr/bin/env bash
# Benchmark: filling a module cache, against the real go and the copy floor.
#   golock apply (verifies every h1 against the lock, journals)
#   vs `go mod download` from the same file:// proxy
#   vs the floor: tar -cf - | tar -xf - of the finished cache
# for generated corpora of BENCH_SIZES modules (default "300 1000"), in the
# same run, alternating which goes first; plus golock's peak RSS for the
# largest fill. Emits report_ratio / report_mem rows (bench/lib.sh) for
# bench/all.sh. golock runs with its default `--sync deferred`; set
# GOLOCK_SYNC=full to time the variant that waits for the data.
# The work dir is made under $TMPDIR (default /tmp); job names carry its
# filesystem type as df reports it (BENCH_FS overrides).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
sizes=${BENCH_SIZES:-300 1000}
for n in $sizes; do bash scripts/module-corpus.sh --bench "$n" >/dev/null; done
cargo build --release --locked --quiet
golock=$PWD/target/release/golock
go=$PWD/target/golock-test/go1.27.3/bin/go
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
source bench/lib.sh
fs=${BENCH_FS:-$(df --output=fstype "$work" | tail -1)}

archive=$PWD/target/golock-test/archives/go1.27.3.linux-amd64.tar.gz

corpus_dir() {
  if [[ $1 == 300 ]]; then echo "$PWD/target/golock-test/bench-corpus"
  else echo "$PWD/target/golock-test/bench-corpus-$1"; fi
}

bench_fill() {
  local n=$1 corpus name=fill-$1
  corpus=$(corpus_dir "$n")
  local lock=$work/$name/golock.toml cache=$work/$name/gl-cache
  mkdir -p "$work/$name/home"
  write_lockfile "$lock" "$corpus" "$cache"
  local g=("$golock" -q --root "$work/$name/root" --home "$work/$name/home" --lockfile "$lock")
  "${g[@]}" lock --go-sum "$corpus/go.sum" >/dev/null
  # The toolchain once, so that runs time the modules alone.
  "${g[@]}" apply -y --archive "$archive" >/dev/null
  local fill=() gomod=() floor=()
  time_golock() {
    set_aside "$cache"; settle_disk
    t0=$(now); "${g[@]}" apply -y >/dev/null; t1=$(now); fill+=("$(elapsed "$t0" "$t1")")
  }
  time_go() {
    set_aside "$work/$name/go-cache"; settle_disk
    t0=$(now)
    (cd "$corpus/app" && env -i PATH=/usr/bin:/bin HOME="$work/$name/home" GOCACHE="$work/$name/gocache" \
      GOMODCACHE="$work/$name/go-cache" GOPROXY="file://$corpus/proxy" GOSUMDB=off GOFLAGS=-mod=mod \
      GOTOOLCHAIN=local GOENV=off "$go" mod download)
    t1=$(now); gomod+=("$(elapsed "$t0" "$t1")")
  }
  time_floor() {
    set_aside "$work/$name/floor"; mkdir -p "$work/$name/floor"; settle_disk
    t0=$(now); tar -cf - -C "$corpus/ref-cache" . | tar -xf - -C "$work/$name/floor"; t1=$(now)
    floor+=("$(elapsed "$t0" "$t1")")
  }
  # Every run reads its sources from the page cache.
  find "$corpus/proxy" "$corpus/ref-cache" -type f -exec cat {} + >/dev/null
  for i in $(seq "$runs"); do
    if (( i % 2 )); then time_golock; time_go; time_floor; else time_floor; time_go; time_golock; fi
  done
  local F G T
  F=$(median "${fill[@]}"); G=$(median "${gomod[@]}"); T=$(median "${floor[@]}")
  echo "== $n modules on $fs (median of $runs)"
  echo "golock apply ${F}s (${fill[*]}) | go mod download ${G}s (${gomod[*]}) | tar floor ${T}s (${floor[*]})"
  report_ratio "fill $n modules ($fs) vs go" "$F" "go mod download" "$G" 0.8
  report_ratio "fill $n modules ($fs) vs tar floor" "$F" "tar | tar" "$T" 1.2
  set_aside "$cache"; settle_disk
  report_mem "fill $n modules ($fs) peak RSS" "$(peak_rss_kib "${g[@]}" apply -y)" 32
}

for n in $sizes; do bench_fill "$n"; done
