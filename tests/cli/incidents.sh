#!/usr/bin/env bash
# incidents.sh — the incident commands on the bundled scenario and the real
# UCDP GED file (../shared/data/conflict):
#
# - `haven incidents convert` writes the 10,979 incidents as GeoJSON and
#   imports nothing;
# - `haven incidents import --format ucdp --utc-offset +02:00` imports all
#   10,979 rows and lists the unresolved actor names on stderr;
# - `haven adjudicate` records one answer per incident, and nothing the
#   second time; the ledger still verifies;
# - `haven adjudications --format csv` gives UCDP 216746 (Idlib,
#   2016-03-01) as an unattributed violation of coh-2016 with syr-gov's
#   guarantor ru; a bad class is refused (exit 2);
# - `haven review`: syr-gov disputes it; fsa may not (exit 1, naming why);
#   the coordinator assesses; `haven reviews --open` no longer lists it;
# - `haven bulletin` for 2 March 2016 (Damascus days): its violations equal
#   the CSV's count of coh-2016 violations starting that day; the SVG is an
#   <svg> document;
# - `haven status` names a status for astana-idlib in April 2018.
#
# Needs: HAVEN_BIN, HAVEN_MKSCENARIO, HAVEN_SOURCE_DIR, HAVEN_SCRATCH_DIR,
# HAVEN_SHARED_DATA (default ../shared/data from the source dir); python3.
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
UCDP="$SHARED/conflict/ucdp_ged_syria_2016_2018_2019.csv"
load_scenario

# Convert: the same incidents as GeoJSON, nothing imported.
run haven incidents convert --format ucdp --utc-offset +02:00 "$UCDP"
[[ $rc == 0 ]] || fail "convert: exit $rc"
python3 -c 'import json; d = json.load(open("out.txt"))
assert d["type"] == "FeatureCollection" and len(d["features"]) == 10979
f = [x for x in d["features"] if x["id"] == "ucdp-216746"][0]
assert f["properties"]["time"] == "2016-03-01T00:00:00+02:00", f
assert f["properties"]["sides"] == ["syr-gov", "syr-opposition"], f' ||
  fail "convert: not the 10979 incidents"
grep -q 'resolve to no party' err.txt || fail "convert: no unresolved names"
run haven --json list incidents
[[ $(python3 -c 'import json; print(len(json.load(open("out.txt"))))') == 0 ]] ||
  fail "convert imported something"

# Import.
run haven incidents import --format ucdp --utc-offset +02:00 "$UCDP"
[[ $rc == 0 ]] || fail "import: exit $rc"
grep -q '10979 created' out.txt || fail "import: not 10979 created"
grep -q 'resolve to no party' err.txt || fail "import: no unresolved names"
grep -q 'National Front for Liberation, SNA' err.txt ||
  fail "import: the most frequent unresolved name is not listed"

# Adjudicate, twice.
run haven --json adjudicate
[[ $rc == 0 ]] || fail "adjudicate: exit $rc"
python3 -c 'import json,sys; d=json.load(open("out.txt"));
assert d["incidents"] == 10979 and d["recorded"] == 10979, d' ||
  fail "adjudicate: not every incident recorded"
run haven --json adjudicate
python3 -c 'import json,sys; d=json.load(open("out.txt"));
assert d["recorded"] == 0 and d["unchanged"] == 10979, d' ||
  fail "adjudicate again: something was written"
run haven ledger verify
[[ $rc == 0 ]] || fail "ledger verify: exit $rc"

# Export.
run haven adjudications --agreement coh-2016 --class violation --format csv
[[ $rc == 0 ]] || fail "adjudications: exit $rc"
cp out.txt violations.csv
head -1 violations.csv | grep -q '^incident,version,time,' || fail "csv header"
grep -q '^ucdp-216746,1,.*,coh-2016,violation,in,,false,false,syr-gov,ru,syr-opposition,,' \
  violations.csv || fail "216746 is not an unattributed violation with ru"
run haven adjudications --class nonsense
[[ $rc == 2 ]] || fail "bad class: exit $rc, expected 2"
run haven adjudications --format geojson --party ndf
python3 -c 'import json; d=json.load(open("out.txt"));
assert d["type"] == "FeatureCollection"' || fail "geojson"

# Review.
run haven --as syr-gov review ucdp-216746 coh-2016 dispute --text "not our unit"
[[ $rc == 0 ]] || fail "dispute: exit $rc"
grep -q 'contested' out.txt || fail "dispute: not contested"
run haven --as fsa review ucdp-216746 coh-2016 dispute --text "x"
[[ $rc == 1 ]] || fail "fsa dispute: exit $rc, expected 1"
grep -q 'accused' err.txt || fail "fsa dispute: no reason"
run haven reviews --open
grep -q 'ucdp-216746' out.txt || fail "open reviews: 216746 missing"
run haven review ucdp-216746 coh-2016 assess --text "two sources" \
  --outcome confirmed
[[ $rc == 0 ]] || fail "assess: exit $rc"
run haven reviews --open
! grep -q 'ucdp-216746' out.txt || fail "assessed review still open"

# Bulletin: its count equals the CSV's for the day (Damascus time).
run haven --json bulletin --agreement coh-2016 --date 2016-03-02 \
  --utc-offset +02:00
[[ $rc == 0 ]] || fail "bulletin: exit $rc"
cp out.txt bulletin.json
want=$(python3 -c 'import csv
n = sum(1 for r in csv.DictReader(open("violations.csv"))
        if "2016-03-01T22:00:00Z" <= r["time"] < "2016-03-02T22:00:00Z")
print(n)')
python3 -c "import json; d=json.load(open('bulletin.json'));
assert d['totals']['violations']['current'] == $want, (d['totals'], $want)" ||
  fail "bulletin: violations differ from the CSV's $want"
run haven bulletin --agreement coh-2016 --date 2016-03-02 --format svg
head -c 4 out.txt | grep -q '<svg' || fail "svg"
run haven bulletin --agreement no-such --date 2016-03-02
[[ $rc == 1 ]] || fail "unknown agreement: exit $rc"

# Zone status.
run haven status --at 2018-04-15 astana-idlib
grep -Eq '^astana-idlib +(holding|strained|violated|collapsed)' out.txt ||
  fail "status"

rm -rf -- "$W"
echo "ok"
