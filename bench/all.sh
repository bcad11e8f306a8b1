#!/usr/bin/env bash
# Every benchmark of issue 14's targets, then one table: job, golock median,
# reference median, ratio, target, met. Each script pairs golock with its
# reference in alternating runs on this machine (bench/lib.sh), so ratios
# compare like with like; absolute figures depend on the machine and its
# load. RUNS (default 5) is passed on. The table is also written to
# target/bench/results.md (with the date, machine and filesystems).
#   bash bench/all.sh                 # everything (about 20-40 minutes)
#   BENCH_ONLY="noop verify" bash bench/all.sh
set -euo pipefail
cd "$(dirname "$0")/.."
command -v /usr/bin/time >/dev/null 2>&1 || [ -x /usr/bin/time ] || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
}
mkdir -p target/bench
export BENCH_TSV=$PWD/target/bench/results.tsv
: >"$BENCH_TSV"
benches=${BENCH_ONLY:-install modules verify noop mirror}
failed=()
for b in $benches; do
  echo "== bench/$b.sh" >&2
  bash "bench/$b.sh" || failed+=("$b")
done

fs_of() { df -T "$1" 2>/dev/null | awk 'NR==2 {print $2}'; }
{
  echo "Measured $(date -u +%Y-%m-%d) on $(nproc) cores ($(uname -m), $(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)),"
  echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg); temp dirs on $(fs_of "${TMPDIR:-/tmp}"), target/ on $(fs_of target)."
  echo
  echo "| job | golock | reference | ratio | target | met |"
  echo "| --- | --- | --- | --- | --- | --- |"
  # A `|` inside a cell (`tar | tar`) would split it: escaped as Markdown wants.
  sed 's/|/\\|/g' "$BENCH_TSV" | while IFS=$'\t' read -r job g ref ratio target met; do
    echo "| $job | $g | $ref | $ratio | $target | $met |"
  done
} | tee target/bench/results.md
if ((${#failed[@]})); then
  echo "bench/all.sh: these benchmarks failed: ${failed[*]}" >&2
  exit 1
fi
