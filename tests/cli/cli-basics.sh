#!/usr/bin/env bash
# cli-basics.sh — the `haven` command end to end: bad usage, queries, phase
# changes, history, export and re-import, summary, ledger verify.
#
# 1. Bad usage exits 2, and creates no store.
# 2. The small fixture map of tests/fixtures/record: every command once.
# 3. The bundled Syrian scenario (mkscenario output + data/scenario), when
#    HAVEN_MKSCENARIO and data/scenario are present: real answers — Idlib
#    city lies in the Idlib de-escalation area from May 2017 and not before,
#    Aleppo city does not; Turkish-backed groups lead up to tr; the 2016
#    cessation of hostilities covers the government and not IS; a hospital
#    is found at its place; the Idlib area can be opened and not declared
#    again; export -> import -> export is stable.
#
# Needs: HAVEN_BIN, HAVEN_SOURCE_DIR, HAVEN_SCRATCH_DIR; HAVEN_MKSCENARIO
# for part 3; python3 (else sed) to compare exports.
set -euo pipefail

: "${HAVEN_BIN:?HAVEN_BIN must name the haven binary}"
: "${HAVEN_SOURCE_DIR:?}"
: "${HAVEN_SCRATCH_DIR:?}"
FIX="$HAVEN_SOURCE_DIR/tests/fixtures/record"
SCEN="$HAVEN_SOURCE_DIR/data/scenario"
# A directory of this run's own (several people may run the suite in one
# build tree at once); removed when every check passed, kept otherwise.
W="$HAVEN_SCRATCH_DIR/work.$$"
rm -rf -- "$W"
mkdir -p -- "$W"
cd -- "$W"
have_python=0
command -v python3 >/dev/null && have_python=1

fail() {
  echo "FAIL: $*" >&2
  for f in out.txt err.txt; do
    if [[ -f $f ]]; then
      echo "--- $f" >&2
      head -n 40 "$f" >&2
    fi
  done
  exit 1
}

rc=0
run() {
  set +e
  "$@" >out.txt 2>err.txt
  rc=$?
  set -e
}

haven() { "$HAVEN_BIN" "$@"; }

# ok CMD...: must exit 0.
ok() {
  run "$@"
  [[ $rc == 0 ]] || fail "exit $rc from: $*"
}

# first_col: the first column of out.txt's lines.
ids() { awk '{print $1}' out.txt; }

has_id() { ids | grep -qx -- "$1"; }

# ---- 1. bad usage -------------------------------------------------------------
usage() {
  run haven "$@"
  [[ $rc == 2 ]] || fail "expected exit 2 (bad usage), got $rc from: haven $*"
  [[ -s err.txt ]] || fail "no message for: haven $*"
}
NS="$W/no-store"
usage
usage bogus-command
usage --bogus-option list parties
usage --data "$NS" import
usage --data "$NS" export
usage --data "$NS" export a b
usage --data "$NS" list
usage --data "$NS" list bogus-kind
usage --data "$NS" show zone
usage --data "$NS" history zone
usage --data "$NS" phase some-zone
usage --data "$NS" phase some-zone not-a-phase
usage --data "$NS" query
usage --data "$NS" query bogus
usage --data "$NS" query zones 36.6
usage --data "$NS" query zones abc 35.9
usage --data "$NS" query zones 200 35.9
usage --data "$NS" query zones 36.6 95
usage --data "$NS" query near 36.6 35.9 -5
usage --data "$NS" query near 36.6 35.9 far
usage --data "$NS" query zones 36.6 35.9 --at not-a-time
usage --data "$NS" query zones 36.6 35.9 --at 2017-02-30
usage --data "$NS" query zones 36.6 35.9 --at
usage --data "$NS" query zones 36.6 35.9 --bogus 1
usage --data "$NS" query sponsors
usage --data "$NS" ledger
usage --data "$NS" ledger bogus
usage --data "$NS" ledger verify extra
usage --data "$NS" ledger show --from x
usage --data "$NS" ledger show --from 1.5
usage --data "$NS" phase z open --if-version -1
[[ ! -e $NS ]] || fail "a bad command created a store"
ok haven --help
grep -q "^usage: haven" out.txt || fail "--help prints the usage"
echo "ok: bad usage exits 2"

# ---- shared checks ------------------------------------------------------------

# roundtrip DIR: export, import into a fresh store, export again: the files
# are the same but for "version" members; re-importing the first export into
# DIR changes nothing.
roundtrip() {
  local d=$1 n
  rm -rf -- "$d.e1" "$d.e2" "$d.copy"
  ok haven --data "$d" export "$d.e1"
  ok haven --data "$d.copy" import "$d.e1"/*.json "$d.e1"/*.geojson
  n=$(sed -n 's/^imported \([0-9]*\) objects.*/\1/p' out.txt)
  grep -q "^imported $n objects: $n created, 0 updated, 0 unchanged" out.txt ||
    fail "import of the export into an empty store"
  ok haven --data "$d.copy" export "$d.e2"
  [[ $(cd "$d.e1" && ls) == "$(cd "$d.e2" && ls)" ]] ||
    fail "the two exports hold different files"
  local f
  for f in "$d.e1"/*; do
    f=${f##*/}
    if ((have_python)); then
      python3 - "$d.e1/$f" "$d.e2/$f" <<'EOF' || fail "export $f differs"
import json, sys
def load(path):
    j = json.load(open(path, encoding="utf-8"))
    objs = [ft["properties"] for ft in j.get("features", [])]
    objs += j.get("parties", []) + j.get("agreements", [])
    for o in objs:
        assert isinstance(o.pop("version"), int) , path
    return j
a, b = load(sys.argv[1]), load(sys.argv[2])
if a != b:
    sys.exit("differ beyond versions: " + sys.argv[1])
EOF
    fi
    # Byte for byte, once the versions are taken out.
    cmp -s <(sed -E 's/"version":[0-9]+//g' "$d.e1/$f") \
      <(sed -E 's/"version":[0-9]+//g' "$d.e2/$f") ||
      fail "export $f differs beyond its versions"
  done
  ok haven --data "$d" import "$d.e1"/*.json "$d.e1"/*.geojson
  grep -q "^imported $n objects: 0 created, 0 updated, $n unchanged" out.txt ||
    fail "re-importing an export changed something"
  ok haven --data "$d.copy" ledger verify
  echo "ok: $d: export -> import -> export is stable ($n objects)"
}

# summary_mentions DIR: the summary names every agreement and zone.
summary_mentions() {
  local d=$1 id kind
  ok haven --data "$d" summary
  cp out.txt summary.txt
  for kind in agreements zones; do
    ok haven --data "$d" list "$kind"
    [[ -s out.txt ]] || fail "no $kind in $d"
    for id in $(ids); do
      grep -qF -- "$id" summary.txt || fail "the summary does not name $id"
    done
  done
  echo "ok: $d: the summary names every agreement and zone"
}

# near_site DIR SITE_ID LON LAT RADIUS: the site is found at its place.
near_site() {
  local d=$1 id=$2 lon=$3 lat=$4 r=$5 lat2 lat3
  # At its very point, before any zone was in force: the site first, 0 m.
  ok haven --data "$d" query near "$lon" "$lat" "$r" --at 2015-01-01
  read -r dist _ kind first _ <out.txt
  [[ $kind == site && $first == "$id" && $dist == 0 ]] ||
    fail "query near at $id's point: first hit is $kind $first at $dist m"
  # 0.0009 degrees north (about 100 m): the nearest site, inside its radius.
  lat2=$(awk -v a="$lat" 'BEGIN{printf "%.6f", a + 0.0009}')
  ok haven --data "$d" query near "$lon" "$lat2" "$r"
  read -r dist _ kind first _ < <(awk '$3=="site"' out.txt)
  [[ $first == "$id" ]] || fail "query near 100 m from $id: nearest site $first"
  ((dist >= 95 && dist <= 105 && dist < r)) ||
    fail "query near: $id at $dist m, expected about 100 m (< $r m)"
  # Hits come nearest first.
  awk '{print $1}' out.txt | sort -n -c || fail "query near is not sorted"
  # 0.0045 degrees (about 500 m) away, the site is outside a 300 m query.
  lat3=$(awk -v a="$lat" 'BEGIN{printf "%.6f", a + 0.0045}')
  ok haven --data "$d" query near "$lon" "$lat3" 300
  ! awk '{print $4}' out.txt | grep -qx -- "$id" ||
    fail "query near 300 m finds $id about 500 m away"
  echo "ok: $d: query near finds $id"
}

# ---- 2. the fixture map -------------------------------------------------------
F=fixture
ok haven --data $F import "$FIX/registry.json" "$FIX/zones.geojson" \
  "$FIX/sites.geojson"
grep -q "^imported 9 objects: 9 created" out.txt || fail "fixture import"
ok haven --data $F query zones 36.633 35.930 --at 2017-06-01
has_id test-zone || fail "the hospital's point is not in test-zone"
ok haven --data $F query zones 36.633 35.930 --at 2016-06-01
[[ $(cat out.txt) == "(none)" ]] || fail "test-zone in force before 2017"
ok haven --data $F query sponsors fsa-north
[[ $(ids | head -n1) == fsa-north && $(ids | tail -n1) == tr ]] ||
  fail "sponsors of fsa-north"
ok haven --data $F query agreements syr-gov --at 2016-03-01
has_id test-coh || fail "test-coh does not cover syr-gov"
ok haven --data $F query agreements is --at 2016-03-01
[[ $(cat out.txt) == "(none)" ]] || fail "an agreement covers is"
near_site $F test-hospital 36.633 35.930 300

run haven --data $F query sponsors nobody
{ [[ $rc == 1 ]] && grep -q 'no party "nobody"' err.txt; } ||
  fail "query sponsors of an unknown party"
run haven --data $F show zone nope
[[ $rc == 1 ]] || fail "show of an unknown zone: exit $rc"
run haven --data $F history zone nope
[[ $rc == 1 ]] || fail "history of an unknown zone: exit $rc"
run haven --data $F import "$FIX/does-not-exist.json"
{ [[ $rc == 1 ]] && grep -q "nothing was imported" err.txt; } ||
  fail "import of a missing file"
run haven --data $F phase nope open
[[ $rc == 1 ]] || fail "phase of an unknown zone: exit $rc"

ok haven --data $F --as tr phase test-zone established --reason "agreed"
grep -q "^zone test-zone is now established (version 2)$" out.txt ||
  fail "phase output"
ok haven --data $F history zone test-zone
[[ $(wc -l <out.txt) == 2 ]] || fail "history of test-zone has not 2 entries"
awk 'NR==2 && $3=="tr" && $4=="phase" && $6=="test-zone" && $7=="v2"' \
  out.txt | grep -q . || fail "history does not show the phase change by tr"
run haven --data $F phase test-zone declared
{ [[ $rc == 1 ]] && grep -q "established -> declared is not an allowed" err.txt; } ||
  fail "a forbidden transition"
run haven --data $F phase test-zone open --if-version 1
{ [[ $rc == 1 ]] && grep -q "version 1 expected" err.txt; } ||
  fail "a phase change from a stale version"
ok haven --data $F show zone test-zone
grep -q '"phase": "established"' out.txt || fail "refused changes applied"
roundtrip $F
summary_mentions $F
ok haven --data $F ledger verify
grep -q "^ledger ok: 11 entries" out.txt || fail "fixture ledger length"
echo "ok: the fixture map"

# ---- 3. the bundled scenario --------------------------------------------------
if [[ -z ${HAVEN_MKSCENARIO:-} || ! -x ${HAVEN_MKSCENARIO:-} ||
  ! -f $SCEN/registry.json || ! -f $SCEN/corridors.geojson ]]; then
  echo "SKIP: the bundled scenario (mkscenario or data/scenario) is missing"
  echo "cli-basics: all checks passed (scenario skipped)"
  cd / && rm -rf -- "$W"
  exit 0
fi

ok "$HAVEN_MKSCENARIO" "$HAVEN_SOURCE_DIR/data/src" gen
D=scenario
ok haven --data $D import "$SCEN/registry.json" gen/*.geojson \
  "$SCEN/corridors.geojson"
grep -q "^imported [0-9]* objects: [0-9]* created, 0 updated, 0 unchanged" \
  out.txt || fail "scenario import"
IMPORTED=$(sed -n 's/^imported \([0-9]*\) objects.*/\1/p' out.txt)

# Idlib city (36.633 E, 35.930 N).
ok haven --data $D query zones 36.633 35.930 --at 2017-06-01
has_id astana-idlib || fail "Idlib city is not in astana-idlib in June 2017"
ok haven --data $D query zones 36.633 35.930 --at 2016-06-01
! has_id astana-idlib || fail "astana-idlib in force in June 2016"
# Aleppo city (37.16 E, 36.20 N).
ok haven --data $D query zones 37.16 36.20 --at 2017-06-01
! has_id astana-idlib || fail "Aleppo city is in astana-idlib"
echo "ok: query zones: Idlib city, Aleppo city"

# Every Turkish-backed group's sponsor chain ends with tr.
ok haven --data $D list parties
tr_backed=$(awk '/\(sponsor: tr\)$/ {print $1}' out.txt)
[[ -n $tr_backed ]] || fail "no Turkish-backed group in the scenario"
for p in $tr_backed; do
  ok haven --data $D query sponsors "$p"
  [[ $(ids | head -n1) == "$p" && $(ids | tail -n1) == tr ]] ||
    fail "the sponsor chain of $p does not run from $p to tr"
done
echo "ok: query sponsors: $(wc -w <<<"$tr_backed") Turkish-backed groups"

ok haven --data $D query agreements syr-gov --at 2016-03-01
has_id coh-2016 || fail "coh-2016 does not cover syr-gov in March 2016"
! has_id astana-2017 || fail "astana-2017 covers syr-gov before it existed"
awk '$1=="coh-2016" && $2=="covered"' out.txt | grep -q . ||
  fail "syr-gov is not directly covered by coh-2016"
ok haven --data $D query agreements syr-gov --at 2016-01-01
! has_id coh-2016 || fail "coh-2016 in force before 27 February 2016"
ok haven --data $D query agreements ndf --at 2016-03-01
awk '$1=="coh-2016" && $2=="covered_via_sponsor"' out.txt | grep -q . ||
  fail "ndf is not covered by coh-2016 through syr-gov"
for t in 2016-03-01 2017-06-01; do
  ok haven --data $D query agreements is --at $t
  [[ $(cat out.txt) == "(none)" ]] || fail "an agreement covers is at $t"
done
echo "ok: query agreements: coh-2016, astana-2017, is"

ok haven --data $D list sites
read -r site _ slon slat sr _ < <(awk '$2=="hospital"' out.txt)
[[ -n $site && $sr =~ ^r=([0-9]+)$ ]] || fail "no hospital in the scenario"
near_site $D "$site" "$slon" "$slat" "${BASH_REMATCH[1]}"

ok haven --data $D phase astana-idlib open --reason "test"
grep -q "^zone astana-idlib is now open (version 2)$" out.txt ||
  fail "phase astana-idlib open"
ok haven --data $D history zone astana-idlib
awk '$4=="phase" && $6=="astana-idlib" && $7=="v2"' out.txt | grep -q . ||
  fail "history of astana-idlib does not show the phase change"
awk 'NR==1 && $4=="create" && $7=="v1"' out.txt | grep -q . ||
  fail "history of astana-idlib does not start with its creation"
ok haven --data $D query zones 36.633 35.930
awk '$1=="astana-idlib" && $3=="open"' out.txt | grep -q . ||
  fail "astana-idlib is not open now"
run haven --data $D phase astana-idlib declared
{ [[ $rc == 1 ]] && grep -q "open -> declared is not an allowed" err.txt; } ||
  fail "open -> declared was not refused"
ok haven --data $D show zone astana-idlib
grep -q '"phase": "open"' out.txt || fail "the refused change was applied"
echo "ok: phase and history of astana-idlib"

roundtrip $D
summary_mentions $D
ok haven --data $D ledger verify
grep -q "^ledger ok: $((IMPORTED + 2)) entries" out.txt ||
  fail "the ledger does not hold genesis + $IMPORTED objects + 1 phase"
cd / && rm -rf -- "$W"
echo "cli-basics: all checks passed"
