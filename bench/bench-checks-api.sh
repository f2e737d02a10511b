#!/usr/bin/env bash
# bench-checks-api.sh — deconfliction requests over HTTP: POST /v1/checks on
# `haven serve` against the store of bench-check (100,000 sites, 10,000
# zones, 1,000 movements), one request at a time, next to hv_check on the
# same operations in-process.
#
# usage: bench/bench-checks-api.sh BUILD_DIR SCRATCH_DIR   (run by scripts/bench)
#
# 1. The store: SCRATCH_DIR/check/db, the one bench-check builds (scripts/
#    bench runs bench-check first, with SCRATCH_DIR/check-scn as its
#    scenario): reused as it is. Only when it is not there does bench-check
#    build it here (mkscenario + import, about 4 minutes), once.
# 2. The operations and the in-process figures: `bench-check ... OPS
#    --ops-json FILE` writes OPS random operations over Syria in June 2016
#    (BENCH_CHECKS_OPS, default 5,000; the distribution of bench-check, by
#    syr-gov, ru, us or tr) as POST /v1/checks bodies with the verdict
#    hv_check gives each, then times them in-process: hv_check alone, and
#    hv_check + hv_db_record_check + the JSON reply (what the server does
#    but HTTP and the probing detector). That pass records OPS checks in the
#    store's ledger; nothing else about the store changes.
# 3. A party token for each author, and `haven serve --threads 2
#    --check-rate 100000 --check-burst 100000` on the store: the per-party
#    rate limit (default 60 a minute, 20 at once) raised so the run is not
#    answered 429.
# 4. wrk -t1 -c1 (one connection, each request sent when the previous reply
#    is back) with bench/api/post-checks.lua: a warm-up pass over all the
#    operations (GEOS's prepared geometries, as bench-check's untimed pass),
#    then the timed pass over the same operations, each with its author's
#    token. Every reply must be 200 with the verdict hv_check gave
#    in-process. p50 / p99 latency, the ratio to hv_check's, and the target
#    p99 <= 5 ms over HTTP: PASS or MISS.
#
# What one HTTP check includes: wrk and loopback HTTP, the server's request
# parsing and authentication, the rate-limit bucket, hv_operation_from_json,
# hv_check (after a check has been recorded the checker compares its index
# with the tables: O(sites)), hv_db_record_check — one ledger entry in one
# SQLite transaction, WAL with synchronous=FULL, so one fsync per check —,
# the reply's JSON, and the probing detector (a probing finding it raises is
# one more recorded entry and fsync, within that request's time).
#
# Exits 1 when something fails (a non-200 reply, a verdict that is not the
# in-process one, a server that does not start or stop cleanly).
set -euo pipefail

if (($# != 2)); then
  echo "usage: bench/bench-checks-api.sh BUILD_DIR SCRATCH_DIR" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
root=$(cd "$2" && pwd)
scratch=$root/checks-api
cd "$(dirname "${BASH_SOURCE[0]}")/.."
src=$(pwd)
nops=${BENCH_CHECKS_OPS:-5000}
TARGET_MS=5

if ! command -v wrk >/dev/null; then
  echo "bench-checks-api: wrk is missing (scripts/install-deps installs it)" >&2
  exit 1
fi
for exe in "$build/haven" "$build/mkscenario" "$build/bench/bench-check"; do
  if [[ ! -x $exe ]]; then
    echo "bench-checks-api: $exe is missing (make build)" >&2
    exit 1
  fi
done

rm -rf -- "$scratch"
mkdir -p -- "$scratch"
data=$root/check/db
name=bench-checks-api
# shellcheck source=bench/bench-lib.sh
source bench/bench-lib.sh

# ---- 1. the store (bench-check's) ---------------------------------------------
if [[ ! -d $data ]]; then
  echo "checks API: no store in $root/check: bench-check builds it (once)"
  mkdir -p -- "$root/check"
fi
if [[ ! -d $root/check-scn ]]; then
  "$build/mkscenario" data/src "$root/check-scn" >"$scratch/mkscenario.log" 2>&1
fi

# ---- 2. the operations, and in-process ------------------------------------------
ops=$scratch/ops.tsv
echo "Checks API: POST /v1/checks against bench-check's store, $nops operations"
echo "  \$ build/bench/bench-check . \$SCRATCH/check-scn \$SCRATCH/check $nops --ops-json \$SCRATCH/checks-api/ops.tsv"
"$build/bench/bench-check" "$src" "$root/check-scn" "$root/check" "$nops" \
  --ops-json "$ops" >"$scratch/inproc.txt" || {
  cat "$scratch/inproc.txt" >&2
  exit 1
}
grep -v '^inproc ' "$scratch/inproc.txt" | sed 's/^/  /'
inproc=$(grep '^inproc ' "$scratch/inproc.txt")
ival() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$inproc"; }
c50=$(ival check_p50_us)
c99=$(ival check_p99_us)
r50=$(ival record_p50_us)
r99=$(ival record_p99_us)

# ---- 3. tokens and the server -------------------------------------------------
: >"$scratch/tokens"
for who in $(cut -f1 "$ops" | sort -u); do
  echo "$who $(haven token create --party "$who" --role party \
    --label bench-checks 2>/dev/null)" >>"$scratch/tokens"
done
# Ledger entries of a kind in the store (read-only; the server stopped).
entries() {
  python3 - "$data/haven.db" "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
print(db.execute("SELECT count(*) FROM ledger WHERE kind = ?",
                 (sys.argv[2],)).fetchone()[0])
PY
}
checks0=$(entries check)
findings0=$(entries finding)
t0=$(date +%s.%N)
start_server --threads 2 --check-rate 100000 --check-burst 100000
up=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
echo "  haven serve on $url (--threads 2 --check-rate 100000 --check-burst 100000: the per-party limit raised for the run; listening after $up s), wrk $(wrk --version 2>&1 | head -n 1 | awk '{print $2}'), $(nproc) CPUs shared by wrk and the server"

# ---- 4. wrk ---------------------------------------------------------------------
run_wrk() { # name
  local marker=$scratch/done-$1 pid
  rm -f -- "$marker"
  wrk -t1 -c1 -d600s --latency -s "$src/bench/api/post-checks.lua" "$url" \
    -- "$ops" "$scratch/tokens" "$nops" "$marker" >"$scratch/wrk-$1.txt" 2>&1 &
  pid=$!
  while [[ ! -e $marker ]] && kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
  kill -INT "$pid" 2>/dev/null || true # wrk reports on SIGINT
  wait "$pid" || {
    cat "$scratch/wrk-$1.txt" >&2
    return 1
  }
  grep '^post-checks:' "$scratch/wrk-$1.txt" || {
    cat "$scratch/wrk-$1.txt" >&2
    return 1
  }
}
echo "  \$ wrk -t1 -c1 -d600s --latency -s bench/api/post-checks.lua $url -- \$SCRATCH/checks-api/ops.tsv \$SCRATCH/checks-api/tokens $nops   (twice: warm-up, then timed)"
warm=$(run_wrk warm)
line=$(run_wrk timed)
val() { sed -n "s/.* $2=\([0-9.]*\).*/\1/p" <<<"$1"; }

stop_server
if ! grep -q '^haven: stopped' "$scratch/serve.out"; then
  echo "bench-checks-api: haven serve did not stop cleanly:" >&2
  cat "$scratch/serve.err" >&2
  exit 1
fi
checks=$(($(entries check) - checks0))
findings=$(($(entries finding) - findings0))

awk -v n="$nops" -v ok="$(val "$line" ok)" -v dur="$(val "$line" duration_s)" \
  -v p50="$(val "$line" p50_ms)" -v p90="$(val "$line" p90_ms)" \
  -v p99="$(val "$line" p99_ms)" -v max="$(val "$line" max_ms)" \
  -v c50="$c50" -v c99="$c99" -v r50="$r50" -v r99="$r99" -v target="$TARGET_MS" \
  -v checks="$checks" -v findings="$findings" 'BEGIN {
  printf "  POST /v1/checks, -t1 -c1, %d operations after a warm-up pass over them, each reply 200 with the in-process verdict (%d):\n", n, ok
  printf "         %8.1f checks/s    p50 %8.3f ms   p90 %8.3f ms   p99 %8.3f ms   max %8.3f ms\n", ok / dur, p50, p90, p99, max
  printf "  in-process, same operations (bench-check --ops-json):\n"
  printf "         hv_check                            p50 %8.3f ms   p99 %8.3f ms\n", c50 / 1000, c99 / 1000
  printf "         hv_check + record (1 fsync) + JSON  p50 %8.3f ms   p99 %8.3f ms\n", r50 / 1000, r99 / 1000
  printf "  ratio HTTP / hv_check: p50 %.1fx  p99 %.1fx;  HTTP / in-process with the record: p50 %.2fx  p99 %.2fx\n", p50 * 1000 / c50, p99 * 1000 / c99, p50 * 1000 / r50, p99 * 1000 / r99
  printf "  (each HTTP check includes its ledger entry: one SQLite commit, WAL synchronous=FULL, one fsync; the server recorded %d checks over both passes and %d probing findings)\n", checks, findings
  printf "  target p99 <= %d ms over HTTP: %s\n", target, (p99 <= target ? "PASS" : "MISS")
}'
status=0
for l in "$warm" "$line"; do
  if (($(val "$l" non200) > 0 || $(val "$l" wrong_verdict) > 0 ||
    $(val "$l" socket_errors) > 0 || $(val "$l" ok) < nops)); then
    echo "bench-checks-api: $l" >&2
    status=1
  fi
done
exit $status
