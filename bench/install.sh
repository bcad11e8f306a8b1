#!/usr/bin/env bash
# Benchmark: `golock apply` of go1.27.3 into an empty root, against the manual
# recipe `sha256sum ARCHIVE && tar -xzf ARCHIVE` into an empty dir. Runs
# alternate on the same machine (which goes first alternates too); prints
# medians and the ratio (target <= 0.5), then golock's peak RSS, as
# report_ratio / report_mem rows (bench/lib.sh) for bench/all.sh. The work
# dir is made under $TMPDIR (default /tmp); job names carry its filesystem
# type as df reports it (BENCH_FS overrides).
#
# Results are set aside and each run starts on a quiet disk (bench/lib.sh).
# golock runs with its default `--sync deferred`; set
# GOLOCK_SYNC=full to time the variant that waits for the data to be on disk.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
bash scripts/test-toolchains.sh >/dev/null
cargo build --release --locked --quiet
archive=$PWD/target/golock-test/archives/go1.27.3.linux-amd64.tar.gz
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
source bench/lib.sh
fs=${BENCH_FS:-$(df --output=fstype "$work" | tail -1)}
write_lockfile "$work/golock.toml"
mkdir -p "$work/home"
cat "$archive" >/dev/null # both read it from the page cache
settle_disk
golock_times=() ; recipe_times=()
time_golock() {
  settle_disk
  local t0 t1
  t0=$(now)
  target/release/golock -q --root "$work/root" --home "$work/home" --lockfile "$work/golock.toml" apply -y
  t1=$(now)
  golock_times+=("$(elapsed "$t0" "$t1")")
  set_aside "$work/root"
}
time_recipe() {
  mkdir -p "$work/tar"; settle_disk
  local t0 t1
  t0=$(now)
  sha256sum "$archive" >/dev/null && tar -xzf "$archive" -C "$work/tar"
  t1=$(now)
  recipe_times+=("$(elapsed "$t0" "$t1")")
  set_aside "$work/tar"
}
for i in $(seq "$runs"); do
  if (( i % 2 )); then time_golock "$i"; time_recipe "$i"; else time_recipe "$i"; time_golock "$i"; fi
done
g=$(median "${golock_times[@]}"); r=$(median "${recipe_times[@]}")
echo "golock apply (median of $runs):        ${g}s   runs: ${golock_times[*]}"
echo "sha256sum && tar -xzf (median of $runs): ${r}s   runs: ${recipe_times[*]}"
report_ratio "install go1.27.3 ($fs)" "$g" "sha256sum && tar -xzf" "$r" 0.5
settle_disk
report_mem "install go1.27.3 ($fs) peak RSS" "$(peak_rss_kib target/release/golock -q --root "$work/root" \
  --home "$work/home" --lockfile "$work/golock.toml" apply -y)" 32
