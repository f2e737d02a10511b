# The independent check of docs/record.md: an export of the real scenario's
# ledger verifies with scripts/verify-ledger.py (Python's hashlib only) and
# gives the same head as `haven ledger verify`; a tampered copy does not.
set -euo pipefail
: "${HAVEN_BIN:?}" "${HAVEN_MKSCENARIO:?}" "${HAVEN_SOURCE_DIR:?}"
cd "${HAVEN_SCRATCH_DIR:-$(mktemp -d)}"
rm -rf data scenario && mkdir scenario
src=$HAVEN_SOURCE_DIR
"$HAVEN_MKSCENARIO" "$src/data/src" scenario >/dev/null 2>&1
"$HAVEN_BIN" --data data import "$src/data/scenario/registry.json" \
  scenario/*.geojson "$src/data/scenario/corridors.geojson" >/dev/null
"$HAVEN_BIN" --data data phase astana-idlib open --reason test >/dev/null

head=$("$HAVEN_BIN" --data data ledger verify | sed -n 's/^ledger ok: .* head //p')
[ ${#head} -eq 64 ] || { echo "no head from haven ledger verify"; exit 1; }
"$HAVEN_BIN" --data data ledger export chain.ndjson
out=$(python3 "$src/scripts/verify-ledger.py" chain.ndjson "$head")
echo "$out"
case $out in "ok: 112 entries, head $head") ;; *) echo "unexpected: $out"; exit 1 ;; esac

# One character of one body changed: both checkers refuse it, at entry 50.
python3 - <<'PY'
lines = open("chain.ndjson").read().split("\n")
assert '\\"version\\":1' in lines[49], lines[49][:200]
lines[49] = lines[49].replace('\\"version\\":1', '\\"version\\":7', 1)
open("bad.ndjson", "w").write("\n".join(lines))
PY
set +e
python3 "$src/scripts/verify-ledger.py" bad.ndjson > py.out; py=$?
"$HAVEN_BIN" ledger verify --file bad.ndjson > hv.out 2>&1; hv=$?
set -e
[ $py -eq 3 ] && grep -q "entry 50" py.out || { cat py.out; exit 1; }
[ $hv -eq 3 ] && grep -q "entry 50" hv.out || { cat hv.out; exit 1; }

# A copy with bodies withheld (body_hash kept) still verifies, in both
# checkers, to the same head; a withheld entry whose body_hash was changed
# does not.
python3 - <<'PY'
import json
out, bad = [], []
for n, line in enumerate(open("chain.ndjson"), 1):
    e = json.loads(line)
    if e["kind"] == "site":
        del e["body"]
    out.append(json.dumps(e, sort_keys=True))
    if n == 60:
        e.pop("body", None)
        e["body_hash"] = "00" + e["body_hash"][2:]
    bad.append(json.dumps(e, sort_keys=True))
open("withheld.ndjson", "w").write("\n".join(out) + "\n")
open("withheld-bad.ndjson", "w").write("\n".join(bad) + "\n")
PY
out=$(python3 "$src/scripts/verify-ledger.py" withheld.ndjson "$head")
case $out in "ok: 112 entries, head $head") ;; *) echo "withheld: $out"; exit 1 ;; esac
"$HAVEN_BIN" ledger verify --file withheld.ndjson > hv.out
grep -q "head $head" hv.out || { cat hv.out; exit 1; }
grep -q "^(33 entries carried their body's hash only" hv.out || { cat hv.out; exit 1; }
set +e
python3 "$src/scripts/verify-ledger.py" withheld-bad.ndjson > py.out; py=$?
"$HAVEN_BIN" ledger verify --file withheld-bad.ndjson > hv.out 2>&1; hv=$?
set -e
[ $py -eq 3 ] && grep -q "entry 60" py.out || { cat py.out; exit 1; }
[ $hv -eq 3 ] && grep -q "entry 60" hv.out || { cat hv.out; exit 1; }

# A copy with ids withheld too (id null, id_hash kept), as a party's view
# gives what it may not see at all: it verifies in both checkers to the same
# head. An id changed while its id_hash stays, or changed and its id_hash
# recomputed, does not.
python3 - <<'PY'
import hashlib, json
out, bad, rehashed = [], [], []
for n, line in enumerate(open("chain.ndjson"), 1):
    e = json.loads(line)
    if e["kind"] == "site":
        del e["body"]
        e["id"] = None
    out.append(json.dumps(e, sort_keys=True))
    b = dict(e)
    r = dict(e)
    if n == 70:
        assert b["id"] is not None, b
        b["id"] = b["id"] + "x"
        r["id"] = b["id"]
        r["id_hash"] = hashlib.blake2b(r["id"].encode(),
                                       digest_size=32).hexdigest()
    bad.append(json.dumps(b, sort_keys=True))
    rehashed.append(json.dumps(r, sort_keys=True))
open("noid.ndjson", "w").write("\n".join(out) + "\n")
open("noid-bad.ndjson", "w").write("\n".join(bad) + "\n")
open("noid-rehashed.ndjson", "w").write("\n".join(rehashed) + "\n")
PY
out=$(python3 "$src/scripts/verify-ledger.py" noid.ndjson "$head")
case $out in "ok: 112 entries, head $head") ;; *) echo "noid: $out"; exit 1 ;; esac
"$HAVEN_BIN" ledger verify --file noid.ndjson > hv.out
grep -q "head $head" hv.out || { cat hv.out; exit 1; }
grep -q "^(33 entries carried their id's hash only" hv.out || { cat hv.out; exit 1; }
! grep -q '"id": *"site-' noid.ndjson || { echo "a site id is left"; exit 1; }
for f in noid-bad noid-rehashed; do
  set +e
  python3 "$src/scripts/verify-ledger.py" $f.ndjson > py.out; py=$?
  "$HAVEN_BIN" ledger verify --file $f.ndjson > hv.out 2>&1; hv=$?
  set -e
  [ $py -eq 3 ] && grep -q "entry 70" py.out || { echo $f; cat py.out; exit 1; }
  [ $hv -eq 3 ] && grep -q "entry 70" hv.out || { echo $f; cat hv.out; exit 1; }
done
echo "ok: ids withheld, and ids tampered with, in both checkers"
