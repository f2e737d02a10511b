#!/usr/bin/env bash
# bench-positions.sh — end-to-end: positions/s through POST /v1/positions
# (all checks on: validation, order, plausibility, zones, sites, corridors,
# separation, findings recorded in the ledger), `haven serve --threads 2` on
# loopback driven by wrk, next to the same reports through hv_tracks_ingest
# in-process; then the memory per live asset (bench-tracks).
#
# usage: bench/bench-positions.sh BUILD_DIR SCRATCH_DIR [SHARED_DIR]
#        (run by scripts/bench; SHARED_DIR defaults to ../shared)
#
# 1. The bundled scenario (mkscenario + import, as bench-api.sh) and a token
#    of role party for "syr-gov".
# 2. The reports (bench-tracks emit): traffic_switzerland.csv translated
#    over northern Syria (+29 lon, -10.5 lat), fixed_wing of syr-gov, split
#    into 2 partitions of disjoint assets, NDJSON batches of BATCH (2,500)
#    reports in time order.
# 3. `haven serve --threads 2` on 127.0.0.1; wrk -t2 -c2 (one connection per
#    partition, bench/api/post-positions.lua), BENCH_POSITIONS_SECONDS
#    (default 10): positions/s counted from the 200 replies' "accepted",
#    p50/p99 per batch, against the target 250,000/s.
# 4. In-process (bench-tracks run): the same batches into hv_tracks_ingest
#    on the same store, reports/s (median of 3); the ratio HTTP / in-process;
#    then memory per live asset without history (hv_tracks_set_history 0)
#    against the target <= 256 B, PASS or MISS, and with the default history
#    of 16 reports for information.
#
# Exits 1 when something fails (a non-200 reply, an out_of_order finding, a
# server that does not start or stop cleanly, bench-tracks failing).
set -euo pipefail

if (($# < 2 || $# > 3)); then
  echo "usage: bench/bench-positions.sh BUILD_DIR SCRATCH_DIR [SHARED_DIR]" >&2
  exit 2
fi
build=$(cd "$1" && pwd)
scratch=$(cd "$2" && pwd)/positions
cd "$(dirname "${BASH_SOURCE[0]}")/.."
src=$(pwd)
shared=$(cd "${3:-$src/../shared}" && pwd)
secs=${BENCH_POSITIONS_SECONDS:-10}
BATCH=2500
PARTS=2

if ! command -v wrk >/dev/null; then
  echo "bench-positions: wrk is missing (scripts/install-deps installs it)" >&2
  exit 1
fi
for exe in "$build/haven" "$build/mkscenario" "$build/bench/bench-tracks"; do
  if [[ ! -x $exe ]]; then
    echo "bench-positions: $exe is missing (make build)" >&2
    exit 1
  fi
done

rm -rf -- "$scratch"
mkdir -p -- "$scratch/scenario" "$scratch/bodies"
data=$scratch/data
name=bench-positions
# shellcheck source=bench/bench-lib.sh
source bench/bench-lib.sh

# ---- 1. data ------------------------------------------------------------------
bench_scenario
token=$(haven token create --party syr-gov --role party --label bench 2>/dev/null)

# ---- 2. the reports -----------------------------------------------------------
"$build/bench/bench-tracks" emit "$shared" "$scratch/bodies" "$BATCH" "$PARTS"
reports=$(sed -n 's/^reports=//p' "$scratch/bodies/meta")
batches=$(sed -n 's/^batches=//p' "$scratch/bodies/meta")

# ---- 3. the server --------------------------------------------------------------
start_server --threads 2

echo "Positions: haven serve on $url (--threads 2), wrk $(wrk --version 2>&1 | head -n 1 | awk '{print $2}'), ${secs} s, $(nproc) CPUs shared by wrk and the server"
echo "  reports: traffic_switzerland.csv over northern Syria (+29 lon, -10.5 lat), $reports reports of 842 fixed_wing of syr-gov, $batches NDJSON batches of <= $BATCH in $PARTS partitions (one per connection), each pass shifted by the file's span"
echo "  \$ wrk -t$PARTS -c$PARTS -d${secs}s -H 'Authorization: Bearer \$TOKEN' -s bench/api/post-positions.lua $url -- $scratch/bodies"
wrk -t"$PARTS" -c"$PARTS" -d"${secs}s" -H "Authorization: Bearer $token" \
  -s "$src/bench/api/post-positions.lua" "$url" -- "$scratch/bodies" \
  >"$scratch/wrk.txt" 2>&1 || {
  cat "$scratch/wrk.txt" >&2
  exit 1
}
line=$(grep '^post-positions:' "$scratch/wrk.txt" || true)
if [[ -z $line ]]; then
  cat "$scratch/wrk.txt" >&2
  exit 1
fi
val() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<"$line"; }
accepted=$(val accepted)
ok=$(val ok)
non200=$(val non200)
ooo=$(val out_of_order)
sockerr=$(val socket_errors)
dur=$(val duration_s)
p50=$(val p50_ms)
p99=$(val p99_ms)

stop_server
if ! grep -q '^haven: stopped' "$scratch/serve.out"; then
  echo "bench-positions: haven serve did not stop cleanly:" >&2
  cat "$scratch/serve.err" >&2
  exit 1
fi

# ---- 4. in-process and memory ------------------------------------------------
echo "  \$ build/bench/bench-tracks run \$SHARED \$DATA $BATCH $PARTS 3"
"$build/bench/bench-tracks" run "$shared" "$data" "$BATCH" "$PARTS" 3 \
  >"$scratch/inproc.txt"
in_rps=$(sed -n 's/^inproc reports_per_s=\([0-9.]*\).*/\1/p' "$scratch/inproc.txt")
rec_rps=$(sed -n 's/^inproc .*record_reports_per_s=\([0-9.]*\).*/\1/p' "$scratch/inproc.txt")

awk -v acc="$accepted" -v ok="$ok" -v dur="$dur" -v p50="$p50" -v p99="$p99" \
  -v in_rps="$in_rps" -v rec_rps="$rec_rps" 'BEGIN {
  pps = acc / dur; rps = ok / dur
  printf "  POST /v1/positions (NDJSON), -t2 -c2, 200 replies only:\n"
  printf "         %10.0f positions/s  (%.1f requests/s x %.0f reports per request)   p50 %8.3f ms   p99 %8.3f ms per batch\n", pps, rps, (ok ? acc / ok : 0), p50, p99
  printf "  target >= 250000 positions/s: %.2f of it (%s)\n", pps / 250000, (pps >= 250000 ? "met" : "NOT met")
}'
grep -v '^inproc ' "$scratch/inproc.txt" | sed -n '1,4p'
awk -v acc="$accepted" -v dur="$dur" -v in_rps="$in_rps" -v rec_rps="$rec_rps" 'BEGIN {
  pps = acc / dur
  printf "  ratio HTTP / in-process:  %.0f / %.0f = 1/%.1f  (in-process with the findings recorded: 1/%.1f)\n", pps, in_rps, in_rps / pps, rec_rps / pps
}'
grep -v '^inproc ' "$scratch/inproc.txt" | sed -n '5,$p'

status=0
if ((non200 > 0 || sockerr > 0 || ooo > 0 || ok == 0)); then
  echo "bench-positions: non-200 replies $non200, socket errors $sockerr, out_of_order findings $ooo, 200 replies $ok" >&2
  status=1
fi
exit $status
