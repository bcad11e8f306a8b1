#!/usr/bin/env bash
# Benchmark: `golock mirror DIR` of the bench corpus's 1,000 modules and
# the go1.27.3 archive (from golock.toml's file:// proxy and mirror, every
# file checked against the lock) against `cp -a` of the same files (the
# mirror the first run wrote). Target: golock / cp -a <= 1.3. Runs
# alternate (and which goes first), each result is set aside, not deleted,
# and each run starts on a quiet disk (see bench/lib.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
n=${BENCH_MODULES:-1000}
cargo build --release --locked --quiet
golock=$PWD/target/release/golock
work=$(mktemp -d "$PWD/target/bench-mirror.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
source bench/lib.sh
archive=$PWD/target/golock-test/archives/go1.27.3.linux-amd64.tar.gz
corpus=$(bash scripts/module-corpus.sh --bench "$n" | sed -n '1s/: .*//p')

lock=$work/golock.toml
mkdir -p "$work/home"
write_lockfile "$lock" "$corpus" "$work/unused-cache"
g=("$golock" -q --root "$work/root" --home "$work/home" --lockfile "$lock")
"${g[@]}" lock --go-sum "$corpus/go.sum" >/dev/null
"${g[@]}" mirror "$work/reference" >/dev/null
files=$(find "$work/reference" -type f | wc -l)
bytes=$(du -sb "$work/reference" | cut -f1)

gl=() cp=()
run_golock() { set_aside "$work/out"; settle_disk; t0=$(now); "${g[@]}" mirror "$work/out" >/dev/null; t1=$(now); gl+=("$(elapsed "$t0" "$t1")"); }
run_cp() { set_aside "$work/out"; settle_disk; t0=$(now); cp -a "$work/reference" "$work/out"; t1=$(now); cp+=("$(elapsed "$t0" "$t1")"); }
for i in $(seq "$runs"); do
  if ((i % 2)); then run_golock; run_cp; else run_cp; run_golock; fi
done
echo "== mirror: $files files, $((bytes / 1000000)) MB, median of $runs"
report_ratio "mirror, $n modules" "$(median "${gl[@]}")" "cp -a" "$(median "${cp[@]}")" 1.3
