#!/usr/bin/env bash
# Benchmark: `golock apply` of go1.27.3 into an empty root, against the manual
# recipe `sha256sum ARCHIVE && tar -xzf ARCHIVE` into an empty dir. Runs
# alternate on the same machine; prints medians and the ratio (target <= 0.7).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
bash scripts/test-toolchains.sh >/dev/null
cargo build --release --locked --quiet
archive=$PWD/target/golock-test/archives/go1.27.3.linux-amd64.tar.gz
work=$(mktemp -d)
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
sha=$(sha256sum "$archive" | cut -d' ' -f1)
size=$(stat -c %s "$archive")
cat >"$work/golock.toml" <<TOML
schema = 1
[go]
version = "1.27.3"
mirrors = ["file://$(dirname "$archive")"]
[go.archives]
linux-amd64 = { file = "go1.27.3.linux-amd64.tar.gz", sha256 = "$sha", size = $size }
TOML
mkdir -p "$work/home"
now() { date +%s.%N; }
golock_times=() ; recipe_times=()
for i in $(seq "$runs"); do
  rm -rf "$work/root" "$work/tar"; sync
  t0=$(now)
  target/release/golock -q --root "$work/root" --home "$work/home" --lockfile "$work/golock.toml" apply -y
  t1=$(now)
  golock_times+=("$(python3 -c "print(round($t1 - $t0, 3))")")
  mkdir -p "$work/tar"; sync
  t0=$(now)
  sha256sum "$archive" >/dev/null && tar -xzf "$archive" -C "$work/tar"
  t1=$(now)
  recipe_times+=("$(python3 -c "print(round($t1 - $t0, 3))")")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
g=$(median "${golock_times[@]}"); r=$(median "${recipe_times[@]}")
echo "golock apply (median of $runs):        ${g}s   runs: ${golock_times[*]}"
echo "sha256sum && tar -xzf (median of $runs): ${r}s   runs: ${recipe_times[*]}"
echo "ratio golock/recipe: $(python3 -c "print(round($g / $r, 3))")  (target <= 0.7)"
