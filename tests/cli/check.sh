#!/usr/bin/env bash
# check.sh — `haven check FILE` and `haven check --verify RECEIPT` on the
# bundled Syrian scenario (mkscenario output + data/scenario):
#
# - an air strike by syr-gov on Idlib city in June 2017 is forbidden (the
#   Astana memorandum covers syr-gov and forbids air strikes in the Idlib
#   area): exit 4, a zone_forbidden reason naming astana-idlib;
# - an air strike by ru on Al-Sakhour hospital (M10, Aleppo) is a conflict:
#   exit 3; ru is not a recipient of the site, so the answer gives the
#   hospital's category and distance band, never its id or coordinates;
# - a flight over the empty desert east of Palmyra is clear: exit 0;
# - each is recorded: the ledger grows by one entry per check, and still
#   verifies; the receipts verify; a receipt with its answer hash, an
#   object's version or its seq changed does not (exit 1, a message);
# - a malformed operation is refused naming the field, nothing recorded.
#
# Needs: HAVEN_BIN, HAVEN_MKSCENARIO, HAVEN_SOURCE_DIR, HAVEN_SCRATCH_DIR;
# python3 (to edit receipts).
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"
entries() { haven ledger show | wc -l; }
load_scenario

op() { # kind lon lat radius -> a planned operation in June 2017
  printf '{"kind":"%s","geometry":{"type":"Point","coordinates":[%s,%s]},'\
'"effect_radius_m":%s,"from":"2017-06-01T10:00:00Z","to":"2017-06-01T11:00:00Z"}\n' \
    "$1" "$2" "$3" "$4"
}

# Forbidden.
op air_strike 36.633 35.930 200 >idlib.json
n0=$(entries)
run haven --as syr-gov check idlib.json
[[ $rc == 4 ]] || fail "Idlib: exit $rc, expected 4 (forbidden)"
cp out.txt idlib.out
grep -q '"verdict": "forbidden"' idlib.out || fail "Idlib: not forbidden"
grep -q '"zone": "astana-idlib"' idlib.out || fail "Idlib: no astana-idlib"
grep -q '"term": "air_strike"' idlib.out || fail "Idlib: no air_strike term"
[[ $(entries) == $((n0 + 1)) ]] || fail "Idlib: not one ledger entry more"

# Conflict, site withheld. The aim point is 200 m from the hospital (at
# 37.1928 36.2164), whose coordinates must appear nowhere.
op air_strike 37.1950 36.2170 500 >m10.json
run haven --as ru check m10.json
[[ $rc == 3 ]] || fail "M10: exit $rc, expected 3 (conflict)"
cp out.txt m10.out
grep -q '"category": "hospital"' m10.out || fail "M10: no hospital reason"
grep -q '"distance_band": "< 1 km"' m10.out || fail "M10: no distance band"
grep -q 'site-m10\|37\.1928\|36\.2164' m10.out &&
  fail "M10: the site's id or place shown"
# The coordinator, asking the same, is told which site.
run haven check m10.json
[[ $rc == 3 ]] || fail "M10 as coordinator: exit $rc"
grep -q '"protected_site"' out.txt || fail "M10 as coordinator: no site"

# Clear.
op flight 39.5 34.3 1000 >desert.json
run haven --as ru check desert.json
[[ $rc == 0 ]] || fail "desert: exit $rc, expected 0 (clear)"
grep -q '"verdict": "clear"' out.txt || fail "desert: not clear"

# Receipts.
for f in idlib m10; do
  run haven check --verify $f.out
  [[ $rc == 0 ]] || fail "$f: the receipt does not verify"
  grep -q "receipt verifies" out.txt || fail "$f: no confirmation"
done
cat >tamper.py <<'EOF'
import json, sys
d = json.load(sys.stdin)
r = d["receipt"]
exec(sys.argv[1])
json.dump(d, sys.stdout)
EOF
tamper() { # name python-statement-on-r
  python3 tamper.py "$2" <m10.out >"$1.json"
  run haven check --verify "$1.json"
  [[ $rc == 1 ]] || fail "tampered $1: exit $rc, expected 1"
  grep -q "does not verify" err.txt || fail "tampered $1: no message"
}
tamper hash 'r["answer_hash"] = "0" * 64'
tamper version 'r["objects"][0]["version"] += 1'
tamper seq 'r["seq"] -= 1'
tamper request 'r["request_hash"] = r["answer_hash"]'

# Malformed: nothing recorded.
n1=$(entries)
printf '{"kind":"air_strike","geometry":{"type":"Point","coordinates":[36,35]},'\
'"effect_radius_m":-5,"from":"2017-06-01","to":"2017-06-02"}\n' >bad.json
run haven check bad.json
[[ $rc == 1 ]] || fail "malformed: exit $rc, expected 1"
grep -q "effect_radius_m" err.txt || fail "malformed: the field is not named"
printf '{"kind":"air_raid"}\n' >bad2.json
run haven check bad2.json
[[ $rc == 1 ]] || fail "unknown kind: exit $rc"
grep -q "kind" err.txt || fail "unknown kind: the field is not named"
[[ $(entries) == "$n1" ]] || fail "a refused check was recorded"

run haven ledger verify
[[ $rc == 0 ]] || fail "the ledger does not verify"
rm -rf -- "$W"
echo "check: all passed"
