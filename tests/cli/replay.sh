#!/usr/bin/env bash
# replay.sh — `haven replay FILE` on the bundled scenario:
#
# - the generic layout: two aircraft of ru and us head-on at the same
#   altitude over northern Syria raise a separation_conflict (findings as
#   NDJSON on stdout);
# - --emit positions on the real OpenSky file (../shared/data/aircraft):
#   every valid report, time-ordered, moved by --translate, shifted so the
#   first is at --start, shared between the --party list by first
#   appearance; each line a report POST /v1/positions takes (checked by
#   posting nothing: by parsing every line with python3 against the
#   documented members);
# - bad options are refused with exit 2, an unknown party with exit 1.
#
# Needs: HAVEN_BIN, HAVEN_MKSCENARIO, HAVEN_SOURCE_DIR, HAVEN_SCRATCH_DIR,
# HAVEN_SHARED_DATA; python3.
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
ADSB="$SHARED/aircraft/traffic_switzerland.csv"
load_scenario

# Generic layout: head-on at 9,000 m, 20 km apart, 200 m/s each.
{
  echo "asset,party,class,t,lon,lat,alt_m,ve_mps,vn_mps,vs_mps"
  for s in 0 10 20 30; do
    t=$((1456812000000 + s * 1000))
    echo "RU-1,ru,fixed_wing,$t,$(python3 -c "print(38.0 + $s*200/90000)"),36.5,9000,200,0,0"
    echo "US-1,us,fixed_wing,$t,$(python3 -c "print(38.2222 - $s*200/90000)"),36.5,9000,-200,0,0"
  done
} >generic.csv
run haven replay generic.csv
[[ $rc == 0 ]] || fail "generic: exit $rc"
grep -q '"kind":"separation_conflict"' out.txt || fail "no separation conflict"
grep -q '"other_party":"us"\|"other_party":"ru"' out.txt ||
  fail "the conflict names no other party"

# Emit positions from the real file.
run haven replay "$ADSB" --party ru,us --translate 29,-10.5 \
  --start 2016-03-01T06:00:00Z --emit positions
[[ $rc == 0 ]] || fail "emit: exit $rc"
python3 - out.txt <<'PY' || fail "emitted positions"
import json, sys
start = 1456812000000  # 2016-03-01T06:00:00Z
members = {"asset", "party", "class", "t_ms", "lon", "lat", "alt_m",
           "ve_mps", "vn_mps", "vs_mps"}
rows = [json.loads(line) for line in open(sys.argv[1])]
assert len(rows) > 100000, len(rows)
assert rows[0]["t_ms"] == start, rows[0]
assert all(set(r) == members for r in rows)
assert all(a["t_ms"] <= b["t_ms"] for a, b in zip(rows, rows[1:]))
assert {r["party"] for r in rows} == {"ru", "us"}
parties = {}
for r in rows:  # one party per aircraft
    assert parties.setdefault(r["asset"], r["party"]) == r["party"], r
# Switzerland (5.9-10.5 E, 45.8-47.8 N) moved by +29, -10.5.
assert all(34.5 < r["lon"] < 40 and 35 < r["lat"] < 37.5 for r in rows)
assert all(r["class"] == "fixed_wing" for r in rows)
PY

# Refusals.
run haven replay generic.csv --emit nothing
[[ $rc == 2 ]] || fail "--emit nothing: exit $rc, expected 2"
run haven replay generic.csv --start yesterday
[[ $rc == 2 ]] || fail "--start yesterday: exit $rc, expected 2"
sed 's/,us,/,nobody,/' generic.csv >unknown.csv
run haven replay unknown.csv
[[ $rc == 1 ]] || fail "unknown party: exit $rc, expected 1"
grep -q 'no party "nobody"' err.txt || fail "unknown party not named"

rm -rf -- "$W"
echo "ok"
