#!/usr/bin/env bash
# Benchmark: a no-op `golock plan`, `golock check` and `golock env` with
# every locked module present (targets: <= 5 ms each at 1,000 modules,
# <= 25 ms at 10,000), and the peak RSS of that plan at 1,000 (<= 32 MiB).
#   1,000:  the bench corpus (scripts/module-corpus.sh --bench 1000), filled
#           into an empty cache by golock apply from its file:// proxy.
#   10,000: generated here: per module the files a no-op looks at (.mod with
#           its real h1, .ziphash, .zip, .info, the extracted dir) under 100
#           owners, and the lockfile locking them; nothing reads module
#           contents on a no-op, so go-made contents would change nothing.
# Both hosts get a second (no-op) apply once their cache is older than the
# 2 s settle window, as on any host some time after its last apply: that
# apply records the present modules (root/seen-modules) the no-ops use.
# The figure right after a module-changing apply (no usable record) is
# printed too. Each sample is a batch of 20 whole-process runs, batches of
# plan, check and env alternating; medians of $RUNS batches.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
batch=20
cargo build --release --locked --quiet
golock=$PWD/target/release/golock
work=$(mktemp -d "$PWD/target/bench-noop.XXXXXX")
trap 'chmod -R u+w "$work" 2>/dev/null; rm -rf "$work"' EXIT
source bench/lib.sh
archive=$PWD/target/golock-test/archives/go1.27.3.linux-amd64.tar.gz
corpus_dir() { bash scripts/module-corpus.sh --bench "$1" | sed -n '1s/: .*//p'; }

# per_run CMD…: seconds per run of CMD, over a batch.
per_run() {
  local t0 t1
  t0=$(now)
  for _ in $(seq "$batch"); do "$@" >/dev/null; done
  t1=$(now)
  python3 -c "print(round(($t1 - $t0) / $batch, 5))"
}

# generate_cache DIR N LOCKFILE: N modules in GOMODCACHE DIR, locked in LOCKFILE.
generate_cache() {
  python3 - "$@" <<'PY'
import base64, hashlib, os, sys
cache, n, lock = sys.argv[1], int(sys.argv[2]), sys.argv[3]
def h1(name, data):
    summary = f"{hashlib.sha256(data).hexdigest()}  {name}\n".encode()
    return "h1:" + base64.b64encode(hashlib.sha256(summary).digest()).decode()
lines = ["", "[modules.require]"]
for i in range(n):
    path = f"bench.example/o{i % 100:02d}/m{i:05d}"
    gomod = f"module {path}\n\ngo 1.21\n".encode()
    ziph = h1("zip", str(i).encode())  # any h1: a no-op never rehashes the zip
    v = os.path.join(cache, "cache/download", path, "@v")
    os.makedirs(v, exist_ok=True)
    for name, data in (("v1.0.0.mod", gomod), ("v1.0.0.ziphash", ziph.encode()),
                       ("v1.0.0.zip", b""), ("v1.0.0.info", b'{"Version":"v1.0.0"}'),
                       ("list", b"v1.0.0\n")):
        with open(os.path.join(v, name), "wb") as f:
            f.write(data)
    os.makedirs(os.path.join(cache, f"{path}@v1.0.0"), exist_ok=True)
    lines.append(f'"{path}@v1.0.0" = {{ zip = "{ziph}", mod = "{h1("go.mod", gomod)}" }}')
with open(lock, "a") as f:
    f.write("\n".join(lines) + "\n")
PY
}

bench_host() {
  local name=$1 modules=$2
  local dir=$work/$name lock=$work/$name/golock.toml cache=$work/$name/cache
  local g=("$golock" -q --root "$dir/root" --home "$dir/home" --lockfile "$lock")
  mkdir -p "$dir/home"
  if [[ $name == gen-* ]]; then
    mkdir -p "$dir/no-proxy"
    write_lockfile "$lock" "$dir/no-proxy" "$cache"
    generate_cache "$cache" "$modules" "$lock"
  else
    local corpus
    corpus=$(corpus_dir "$modules")
    write_lockfile "$lock" "$corpus" "$cache"
    "${g[@]}" lock --go-sum "$corpus/go.sum" >/dev/null
  fi
  "${g[@]}" apply -y --archive "$archive" >/dev/null
  local fresh
  fresh=$(per_run "${g[@]}" plan --detailed-exitcode)
  sleep 2.5
  "${g[@]}" apply -y >/dev/null # a no-op: records the settled cache
  local plan=() check=() envs=()
  for _ in $(seq "$runs"); do
    plan+=("$(per_run "${g[@]}" plan --detailed-exitcode)")
    check+=("$(per_run "${g[@]}" check)")
    envs+=("$(per_run "${g[@]}" env --shell sh)")
  done
  local max=$3
  echo "== $name: $(grep -c '@v' "$lock") locked modules, batches of $batch, median of $runs"
  echo "no-op plan right after the apply that filled the cache (no usable record): $fresh s"
  report_abs "no-op plan, $modules modules" "$(median "${plan[@]}")" "$max"
  report_abs "no-op check, $modules modules" "$(median "${check[@]}")" "$max"
  report_abs "golock env, $modules modules" "$(median "${envs[@]}")" "$max"
  if [[ $modules == 1000 ]]; then
    report_mem "no-op plan peak RSS, $modules modules" \
      "$(peak_rss_kib "${g[@]}" plan --detailed-exitcode)" 32
  fi
}

bench_host corpus-1000 1000 0.005
bench_host gen-10000 10000 0.025
