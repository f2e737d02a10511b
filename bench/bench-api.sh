#!/usr/bin/env bash
# bench-api.sh — what the HTTP API costs: `haven serve` on loopback, driven
# by wrk (Debian package), next to the same query made in-process.
#
# usage: bench/bench-api.sh BUILD_DIR SCRATCH_DIR   (run by scripts/bench)
#
# 1. The bundled scenario (mkscenario + import, as scripts/demo), a
#    coordinator token, and one small zone for the writes ("bench-zone").
# 2. `haven serve` on 127.0.0.1 (a free port, 2 threads: the default).
# 3. The query: GET /v1/query/zones at Idlib city (36.633 E, 35.930 N),
#    authenticated, answer checked first (the Idlib de-escalation area):
#    requests/s, p50 and p99 latency.
# 4. The write: PUT /v1/zones/bench-zone with its name alternating, each
#    request carrying the version of the previous reply (bench/api/
#    put-zone.lua); one connection, as writes are serialized anyway.
# 5. In-process: bench-inproc-query, hv_db_zones_at on the same store at
#    the same point, median of 5 runs; then the ratio HTTP / in-process.
#
# BENCH_API_SECONDS (default 10) sets each wrk run's length. Exits 1 when
# something fails (a non-2xx reply, a wrong answer, a server that does not
# start or stop cleanly).
set -euo pipefail

if (($# != 2)); then
  echo "usage: bench/bench-api.sh BUILD_DIR SCRATCH_DIR" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
scratch=$(cd "$2" && pwd)/api
cd "$(dirname "${BASH_SOURCE[0]}")/.."
src=$(pwd)
secs=${BENCH_API_SECONDS:-10}
LON=36.633
LAT=35.930

for tool in wrk python3; do
  if ! command -v "$tool" >/dev/null; then
    echo "bench-api: $tool is missing (scripts/install-deps installs it)" >&2
    exit 1
  fi
done
for exe in "$build/haven" "$build/mkscenario" "$build/bench/bench-inproc-query"; do
  if [[ ! -x $exe ]]; then
    echo "bench-api: $exe is missing (make build)" >&2
    exit 1
  fi
done

rm -rf -- "$scratch"
mkdir -p -- "$scratch/scenario"
data=$scratch/data
name=bench-api
# shellcheck source=bench/bench-lib.sh
source bench/bench-lib.sh

# ---- 1. data ------------------------------------------------------------------
bench_scenario
cat >"$scratch/bench-zone.geojson" <<'JSON'
{"type":"FeatureCollection","features":[{"type":"Feature","id":"bench-zone",
"geometry":{"type":"Polygon","coordinates":[[[38.30,34.30],[38.35,34.30],
[38.35,34.35],[38.30,34.35],[38.30,34.30]]]},
"properties":{"object":"zone","name":"Bench zone","kind":"security",
"valid_from":"2020-01-01","phase":"declared"}}]}
JSON
haven import "$scratch/bench-zone.geojson" >>"$scratch/import.log"
token=$(haven token create --party coordinator --role coordinator \
  --label bench 2>/dev/null)

# ---- 2. the server ------------------------------------------------------------
start_server

# GET path as the coordinator with python3 (one request, for checks).
get() {
  python3 - "$url$1" "$token" <<'PY'
import sys, urllib.request
req = urllib.request.Request(sys.argv[1],
                             headers={"Authorization": "Bearer " + sys.argv[2]})
with urllib.request.urlopen(req) as r:
    sys.stdout.write(r.read().decode())
PY
}

query="/v1/query/zones?lon=$LON&lat=$LAT"
if ! get "$query" | grep -q '"astana-idlib"'; then
  echo "bench-api: GET $query does not answer astana-idlib" >&2
  exit 1
fi
get /v1/zones/bench-zone >"$scratch/bench-zone.json"

# wrk's figures: "RPS P50_MS P99_MS NON2XX" from its output in file $1.
figures() {
  awk '
    function ms(v) {
      if (v ~ /us$/) return v / 1000
      if (v ~ /ms$/) return v + 0
      if (v ~ /s$/) return v * 1000
      return v
    }
    /^Requests\/sec:/ { rps = $2 }
    $1 == "50%" { p50 = ms($2) }
    $1 == "99%" { p99 = ms($2) }
    /Non-2xx or 3xx responses:/ { bad = $NF }
    /Socket errors:/ { bad = bad + 0 + 1 }
    END { printf "%.0f %.3f %.3f %d\n", rps, p50, p99, bad + 0 }
  ' "$1"
}

run_wrk() { # name, then wrk arguments
  local name=$1
  shift
  local shown=() a
  for a in "$@"; do
    a=${a//$token/\$TOKEN}
    [[ $a == *[\ \&\?\$]* ]] && a="'$a'"
    shown+=("$a")
  done
  echo "  \$ wrk ${shown[*]}"
  wrk "$@" >"$scratch/wrk-$name.txt" 2>&1 || {
    cat "$scratch/wrk-$name.txt" >&2
    return 1
  }
}

echo "API: haven serve on $url (2 threads), wrk $(wrk --version 2>&1 | head -n 1 | awk '{print $2}'), ${secs} s per run, $(nproc) CPUs shared by wrk and the server"

# ---- 3. the query -----------------------------------------------------------------
auth="Authorization: Bearer $token"
wrk -t2 -c8 -d2s -H "$auth" "$url$query" >/dev/null 2>&1 # warm-up
run_wrk query -t2 -c8 -d"${secs}s" --latency -H "$auth" "$url$query"
read -r q_rps q_p50 q_p99 q_bad < <(figures "$scratch/wrk-query.txt")

# ---- 4. the write -----------------------------------------------------------------
run_wrk write -t1 -c1 -d"${secs}s" --latency -H "$auth" \
  -s "$src/bench/api/put-zone.lua" "$url" -- "$scratch/bench-zone.json"
read -r w_rps w_p50 w_p99 w_bad < <(figures "$scratch/wrk-write.txt")
version=$(get /v1/zones/bench-zone | python3 -c \
  'import json,sys; print(json.load(sys.stdin)["properties"]["version"])')

stop_server
if ! grep -q '^haven: stopped' "$scratch/serve.out"; then
  echo "bench-api: haven serve did not stop cleanly:" >&2
  cat "$scratch/serve.err" >&2
  exit 1
fi

# ---- 5. in-process ------------------------------------------------------------
"$build/bench/bench-inproc-query" "$data" "$LON" "$LAT" --runs 5 \
  --count 200000 --expect astana-idlib >"$scratch/inproc.txt"
in_qps=$(sed -n 's/^inproc queries_per_s=\([0-9.]*\).*/\1/p' "$scratch/inproc.txt")
in_us=$(sed -n 's/^inproc .*[^_]us_per_query=\([0-9.]*\).*/\1/p' "$scratch/inproc.txt")
inj_us=$(sed -n 's/^inproc .*json_us_per_query=\([0-9.]*\).*/\1/p' "$scratch/inproc.txt")

awk -v q_rps="$q_rps" -v q_p50="$q_p50" -v q_p99="$q_p99" \
  -v w_rps="$w_rps" -v w_p50="$w_p50" -v w_p99="$w_p99" -v writes="$version" \
  -v in_qps="$in_qps" -v in_us="$in_us" -v inj_us="$inj_us" \
  -v query="$query" 'BEGIN {
  printf "  query  GET %s (Idlib city), -t2 -c8:\n", query
  printf "         %10.0f requests/s   p50 %8.3f ms   p99 %8.3f ms\n", q_rps, q_p50, q_p99
  printf "  write  PUT /v1/zones/bench-zone, name alternating, version from each reply, -t1 -c1:\n"
  printf "         %10.0f requests/s   p50 %8.3f ms   p99 %8.3f ms   (zone at version %d)\n", w_rps, w_p50, w_p99, writes
  printf "  in-process hv_db_zones_at, same store and point (bench-inproc-query, median of 5 x 200000):\n"
  printf "         %10.0f queries/s    %8.3f us/query (%.3f us with the JSON reply built)\n", in_qps, in_us, inj_us
  printf "  ratio HTTP / in-process:  throughput %.0f / %.0f = 1/%.0f;  latency p50 %.1f us / %.3f us = %.0fx\n", q_rps, in_qps, in_qps / q_rps, q_p50 * 1000, in_us, q_p50 * 1000 / in_us
}'
status=0
if ((q_bad > 0 || w_bad > 0)); then
  echo "bench-api: non-2xx replies or socket errors: query $q_bad, write $w_bad" >&2
  status=1
fi
exit $status
