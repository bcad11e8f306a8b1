#!/usr/bin/env bash
# Benchmark: `golock apply --bundle` (Go 1.27.3 + BENCH_MODULES generated
# modules, default 300; every member and module hash verified) against the
# manual offline recipe on the same data: `sha256sum -c`, `tar -xzf` of the
# Go archive, `tar -xzf` of a packed GOMODCACHE. Alternating runs (which
# goes first alternates too), each on a quiet disk with earlier results set
# aside (bench/lib.sh); medians and the ratio (target <= 1.0) are printed.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
n=${BENCH_MODULES:-300}
bash scripts/test-toolchains.sh >/dev/null
bash scripts/module-corpus.sh --bench "$n" >/dev/null
cargo build --release --locked --quiet
golock=$PWD/target/release/golock
corpus=$PWD/target/golock-test/bench-corpus
archive=$PWD/target/golock-test/archives/go1.27.3.linux-amd64.tar.gz
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
source bench/lib.sh

cache=$work/modcache
write_lockfile "$work/golock.toml" "$corpus" "$cache"
mkdir -p "$work/home"
g=("$golock" -q --home "$work/home" --lockfile "$work/golock.toml")
"${g[@]}" --root "$work/connected" lock --go-sum "$corpus/go.sum" >/dev/null
"${g[@]}" --root "$work/connected" apply -y >/dev/null
"${g[@]}" --root "$work/connected" bundle -o "$work/offline.tar.gz" >/dev/null
# The recipe's inputs: the archive, a packed module cache, their checksums.
mkdir -p "$work/recipe"
cp "$archive" "$work/recipe/"
tar -czf "$work/recipe/gomodcache.tar.gz" -C "$cache" .
(cd "$work/recipe" && sha256sum go1.27.3.linux-amd64.tar.gz gomodcache.tar.gz >SHA256SUMS)
modules=$(grep -c '@v' "$work/golock.toml")
ours=() theirs=()
time_golock() {
  set_aside "$work/root" "$cache"; settle_disk
  local t0 t1
  t0=$(now); "${g[@]}" --root "$work/root" apply -y --bundle "$work/offline.tar.gz" >/dev/null; t1=$(now)
  ours+=("$(elapsed "$t0" "$t1")")
}
time_recipe() {
  set_aside "$work/go" "$work/mc"; mkdir -p "$work/go" "$work/mc"; settle_disk
  local t0 t1
  t0=$(now)
  (cd "$work/recipe" && sha256sum -c --quiet SHA256SUMS) &&
    tar -xzf "$work/recipe/go1.27.3.linux-amd64.tar.gz" -C "$work/go" &&
    tar -xzf "$work/recipe/gomodcache.tar.gz" -C "$work/mc"
  t1=$(now)
  theirs+=("$(elapsed "$t0" "$t1")")
}
for i in $(seq "$runs"); do
  if (( i % 2 )); then time_golock; time_recipe; else time_recipe; time_golock; fi
done
o=$(median "${ours[@]}"); t=$(median "${theirs[@]}")
echo "bundle: Go 1.27.3 + $modules modules, $(stat -c %s "$work/offline.tar.gz") bytes"
echo "golock apply --bundle (median of $runs): ${o}s   runs: ${ours[*]}"
echo "sha256sum -c + tar -xzf x2 (median of $runs): ${t}s   runs: ${theirs[*]}"
echo "ratio golock/recipe: $(python3 -c "print(round($o / $t, 3))")  (target <= 1.0)"
