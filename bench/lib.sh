# Helpers shared by the bench scripts (sourced; expects $work to be set).
now() { date +%s.%N; }
elapsed() { python3 -c "print(round($2 - $1, 3))"; }
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# Timed results are moved here and deleted only at the end: deleting a tree
# right before a timed run makes that run pay for the filesystem freeing it
# (and, on disks mounted with `discard`, for the TRIMs).
set_aside() {
  mkdir -p "$work/trash"
  local p
  for p in "$@"; do
    [[ -e $p ]] && mv "$p" "$work/trash/$(basename "$p").$RANDOM$RANDOM"
  done
  return 0
}

# sync, then wait (up to 60 s) until the disk under $work shows no I/O for
# a second, so that no earlier write or deletion lands in a timed run.
settle_disk() {
  sync
  local dev stat before after
  dev=$(basename "$(df --output=source "$work" | tail -1)")
  stat=/sys/class/block/$dev/stat
  [[ -r $stat ]] || return 0
  for _ in $(seq 60); do
    before=$(cat "$stat"); sleep 1; after=$(cat "$stat")
    [[ $before == "$after" ]] && return 0
  done
}

# write_lockfile FILE [CORPUS CACHE]: a golock.toml locking go1.27.3 from
# $archive's directory and, given a corpus, its modules (into CACHE).
write_lockfile() {
  local out=$1 corpus=${2:-} cache=${3:-}
  local sha size
  sha=$(sha256sum "$archive" | cut -d' ' -f1)
  size=$(stat -c %s "$archive")
  cat >"$out" <<TOML
schema = 1
[go]
version = "1.27.3"
mirrors = ["file://$(dirname "$archive")"]
[go.archives]
linux-amd64 = { file = "go1.27.3.linux-amd64.tar.gz", sha256 = "$sha", size = $size }
TOML
  [[ -n $corpus ]] || return 0
  cat >>"$out" <<TOML
[modules]
proxies = ["file://$corpus/proxy"]
[env]
GOMODCACHE = "$cache"
TOML
}

# One result row for bench/all.sh's table. With $BENCH_TSV set, rows are
# appended there (tab-separated); they are always printed too.
#   report_ratio JOB GOLOCK_S REFERENCE REFERENCE_S MAX_RATIO
#     met when GOLOCK_S / REFERENCE_S <= MAX_RATIO
#   report_abs JOB GOLOCK_S MAX_S
#     met when GOLOCK_S <= MAX_S (no reference; e.g. a no-op's latency)
#   report_mem JOB PEAK_KIB MAX_MIB
report_ratio() {
  local job=$1 g=$2 ref=$3 r=$4 max=$5 ratio met
  ratio=$(python3 -c "print(round($g / $r, 3))")
  met=$(python3 -c "print('yes' if $g / $r <= $max else 'NO')")
  report_row "$job" "${g} s" "$ref ${r} s" "$ratio" "<= $max" "$met"
}
report_abs() {
  local job=$1 g=$2 max=$3 met
  met=$(python3 -c "print('yes' if $g <= $max else 'NO')")
  report_row "$job" "$(python3 -c "print(round($g * 1000, 2))") ms" "-" "-" "<= $(python3 -c "print(round($max * 1000, 2))") ms" "$met"
}
report_mem() {
  local job=$1 kib=$2 max=$3 met
  met=$(python3 -c "print('yes' if $kib <= $max * 1024 else 'NO')")
  report_row "$job" "$(python3 -c "print(round($kib / 1024, 1))") MiB" "-" "-" "<= $max MiB" "$met"
}
report_row() {
  local IFS=$'\t'
  echo "result: $*"
  [[ -z ${BENCH_TSV:-} ]] || echo "$*" >>"$BENCH_TSV"
}

# peak_rss_kib CMD…: runs CMD (output discarded) and prints its peak RSS in KiB.
peak_rss_kib() {
  /usr/bin/time -f %M -o "$work/rss.$$" "$@" >/dev/null 2>&1
  cat "$work/rss.$$"
}
