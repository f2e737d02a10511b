#!/usr/bin/env bash
# ledger-tamper.sh — `haven ledger verify` against a store edited behind
# haven's back with the sqlite3 shell, and against an exported chain edited
# with sed.
#
# A base store is built from tests/fixtures/record (12 entries: genesis,
# six parties, an agreement, a zone, a site, a phase change, an update).
# Each tamper runs on a fresh copy of the closed base. Every broken chain
# must make `haven ledger verify` exit 3 and print "FAILED at entry N" with
# the first bad entry N.
#
# Needs: HAVEN_BIN, HAVEN_SOURCE_DIR, HAVEN_SCRATCH_DIR, the sqlite3 shell;
# python3 for the forged-but-well-hashed rows (skipped without it).
set -euo pipefail

: "${HAVEN_BIN:?HAVEN_BIN must name the haven binary}"
: "${HAVEN_SOURCE_DIR:?}"
: "${HAVEN_SCRATCH_DIR:?}"
command -v sqlite3 >/dev/null || {
  echo "ledger-tamper: the sqlite3 shell is required" >&2
  exit 1
}
have_python=0
command -v python3 >/dev/null && have_python=1

FIX="$HAVEN_SOURCE_DIR/tests/fixtures/record"
# A directory of this run's own (several people may run the suite in one
# build tree at once); removed when every check passed, kept otherwise.
W="$HAVEN_SCRATCH_DIR/work.$$"
rm -rf -- "$W"
mkdir -p -- "$W"
cd -- "$W"

fail() {
  echo "FAIL: $*" >&2
  if [[ -f out.txt ]]; then
    echo "--- stdout" >&2
    cat out.txt >&2
  fi
  if [[ -f err.txt ]]; then
    echo "--- stderr" >&2
    cat err.txt >&2
  fi
  exit 1
}

# run CMD...: runs it with stdout in out.txt, stderr in err.txt, exit in $rc.
rc=0
run() {
  set +e
  "$@" >out.txt 2>err.txt
  rc=$?
  set -e
}

haven() { "$HAVEN_BIN" "$@"; }

# The strict check: verify exits 3 and names entry $2. Returns 1 otherwise.
broken_at() {
  local dir=$1 seq=$2
  run haven --data "$dir" ledger verify
  [[ $rc == 3 ]] || return 1
  grep -q "^FAILED at entry $seq (" out.txt || return 1
  grep -q "ledger does NOT verify" err.txt || return 1
}

expect_broken_at() {
  local dir=$1 seq=$2 what=$3
  broken_at "$dir" "$seq" ||
    fail "$what: expected exit 3 naming entry $seq, got exit $rc"
  echo "ok: $what -> entry $seq"
}

# copy NAME: a fresh copy of the closed base store.
copy() {
  rm -rf -- "$1"
  cp -r -- base "$1"
}

db_sql() { sqlite3 -batch -bail "$1/haven.db" "$2"; }

# ---- the base store ---------------------------------------------------------
run haven --data base import "$FIX/registry.json" "$FIX/zones.geojson" \
  "$FIX/sites.geojson"
[[ $rc == 0 ]] || fail "import of the fixtures"
run haven --data base --as tr phase test-zone established --reason "agreed"
[[ $rc == 0 ]] || fail "phase change"
run haven --data base import "$FIX/registry-update.json"
[[ $rc == 0 ]] || fail "update import"
grep -q "1 updated" out.txt || fail "the update was not an update"

N=$(db_sql base "SELECT max(seq) FROM ledger")
[[ $N == 12 ]] || fail "base ledger has $N entries, expected 12"
[[ $(db_sql base "SELECT obj_id FROM ledger WHERE seq=3") == tr ]] ||
  fail "entry 3 is not the creation of tr"
[[ ! -s base/haven.db-wal ]] || fail "the WAL was not checkpointed on close"

run haven --data base ledger verify
[[ $rc == 0 ]] || fail "ledger verify of the untouched store: exit $rc"
grep -q "^ledger ok: $N entries, head [0-9a-f]\{64\}$" out.txt ||
  fail "verify output"
HEAD=$(sed -n 's/^ledger ok: .* head //p' out.txt)
[[ $HEAD == "$(db_sql base "SELECT lower(hex(hash)) FROM ledger \
  WHERE seq=$N")" ]] || fail "the reported head is not entry $N's hash"

# ---- tampering with the store -------------------------------------------------
copy body
db_sql body "UPDATE ledger SET body=replace(body,'Turkey','Turkez') WHERE seq=3"
[[ $(db_sql body "SELECT count(*) FROM ledger WHERE body LIKE '%Turkez%'") \
  == 1 ]] || fail "the body edit did not happen"
expect_broken_at body 3 "a character of entry 3's body"
grep -q "entry 3 (create party tr)" err.txt || fail "message names entry 3"

copy author
db_sql author "UPDATE ledger SET author='ru' WHERE seq=6"
expect_broken_at author 6 "entry 6's author"

copy time
db_sql time "UPDATE ledger SET time_ms=time_ms-86400000 WHERE seq=4"
expect_broken_at time 4 "entry 4's time"

copy version
db_sql version "UPDATE ledger SET version=2 WHERE seq=7"
expect_broken_at version 7 "entry 7's version"

copy del-middle
db_sql del-middle "DELETE FROM ledger WHERE seq=5"
expect_broken_at del-middle 5 "entry 5 deleted"
grep -q "entry 5: missing" err.txt || fail "message says entry 5 is missing"

copy del-first
db_sql del-first "DELETE FROM ledger WHERE seq=1"
expect_broken_at del-first 1 "the genesis entry deleted"

copy reorder
db_sql reorder "UPDATE ledger SET seq=-1 WHERE seq=4;
  UPDATE ledger SET seq=4 WHERE seq=5; UPDATE ledger SET seq=5 WHERE seq=-1"
expect_broken_at reorder 4 "entries 4 and 5 swapped"

copy del-last
db_sql del-last "DELETE FROM ledger WHERE seq=$N"
expect_broken_at del-last "$N" "the last entry deleted"
grep -q "entry $N" err.txt || fail "the message does not name entry $N"
# The store itself refuses to open: nothing can be written onto a cut tail.
run haven --data del-last list parties
[[ $rc == 1 ]] || fail "a store without its last entry opens (exit $rc)"
grep -q "ledger verify" err.txt || fail "the refusal does not say what to do"

copy del-last-head
db_sql del-last-head "DELETE FROM ledger WHERE seq=$N;
  UPDATE meta SET value='$((N - 1))' WHERE key='head_seq';
  UPDATE meta SET value=(SELECT hash FROM ledger WHERE seq=$((N - 1)))
    WHERE key='head_hash'"
run haven --data del-last-head ledger verify
[[ $rc == 3 ]] || fail "last entry deleted and head moved back: exit $rc"
grep -q 'party "who"' err.txt || fail "the message does not name party who"
# Found by the objects check: the cut entry is named all the same.
broken_at del-last-head "$N" || fail "last entry deleted, head moved: not entry $N"
echo "ok: the last entry deleted and the head moved back -> exit 3"

copy insert
db_sql insert "INSERT INTO ledger SELECT seq+1,time_ms,author,op,kind,obj_id,
  version,body,hash,hash FROM ledger WHERE seq=$N"
expect_broken_at insert "$((N + 1))" "a forged entry appended"
run haven --data insert list parties
[[ $rc == 1 ]] || fail "a store with a forged tail opens (exit $rc)"

copy insert-head
db_sql insert-head "INSERT INTO ledger SELECT seq+1,time_ms,author,op,kind,
  obj_id,version,body,hash,hash FROM ledger WHERE seq=$N;
  UPDATE meta SET value='$((N + 1))' WHERE key='head_seq';
  UPDATE meta SET value=(SELECT hash FROM ledger WHERE seq=$((N + 1)))
    WHERE key='head_hash'"
expect_broken_at insert-head "$((N + 1))" "a forged entry appended, head moved"

copy objects
db_sql objects "UPDATE objects SET body=replace(body,'Turkey','Turkez')
  WHERE kind='party' AND id='tr'"
run haven --data objects ledger verify
[[ $rc == 3 ]] || fail "an objects row changed: exit $rc"
grep -q 'party "tr"' err.txt || fail "the message does not name party tr"
echo "ok: an objects row changed -> exit 3"

# Rows whose hashes a forger computed correctly (BLAKE2b-256 per
# haven/ledger.h, here with Python's hashlib).
forge_sql() { # SEQ PREV_SEQ: prints the INSERT of a well-hashed forged row
  local prev
  prev=$(db_sql base "SELECT lower(hex(hash)) FROM ledger WHERE seq=$2")
  python3 - "$1" "$prev" <<'EOF'
import hashlib, struct, sys
seq, prev = int(sys.argv[1]), bytes.fromhex(sys.argv[2])
t, v = 1700000000000, 1
author, op, kind, oid = "coordinator", "create", "party", "mallory"
body = '{"id":"mallory","kind":"state","name":"Mallory","version":1}'
lp = lambda s: struct.pack("<I", len(s.encode())) + s.encode()
h = hashlib.blake2b(prev + struct.pack("<QQQ", seq, t, v) + lp(author)
                    + lp(op) + lp(kind)
                    + hashlib.blake2b(oid.encode(), digest_size=32).digest()
                    + hashlib.blake2b(body.encode(), digest_size=32).digest(),
                    digest_size=32)
print(f"INSERT INTO ledger VALUES({seq},{t},'{author}','{op}','{kind}',"
      f"'{oid}',{v},'{body}',X'{prev.hex()}',X'{h.hexdigest()}');"
      f"UPDATE meta SET value='{seq}' WHERE key='head_seq';"
      f"UPDATE meta SET value=X'{h.hexdigest()}' WHERE key='head_hash';")
EOF
}
if ((have_python)); then
  copy forged
  db_sql forged "$(forge_sql $((N + 1)) "$N")"
  run haven --data forged ledger verify
  [[ $rc == 3 ]] || fail "a well-hashed forged entry with the head moved: exit $rc"
  grep -q 'party "mallory"' err.txt || fail "the message does not name mallory"
  broken_at forged "$((N + 1))" ||
    fail "a well-hashed forged entry: not entry $((N + 1))"
  echo "ok: a well-hashed forged entry, head moved -> exit 3"

  copy forged-gap
  db_sql forged-gap "$(forge_sql $((N + 2)) "$N")"
  expect_broken_at forged-gap $((N + 1)) "a forged entry after a gap"

  # Entry 3 rewritten and its hash recomputed: the link from entry 4 breaks.
  copy rehash
  python3 - rehash/haven.db <<'EOF' || fail "rehashing entry 3"
import hashlib, sqlite3, struct, sys
db = sqlite3.connect(sys.argv[1])
row = db.execute("SELECT seq,time_ms,version,author,op,kind,obj_id,body,"
                 "prev_hash FROM ledger WHERE seq=3").fetchone()
seq, t, v, author, op, kind, oid, body, prev = row
body = body.replace("Turkey", "Turkmenistan")
assert "Turkmenistan" in body
lp = lambda s: struct.pack("<I", len(s.encode())) + s.encode()
h = hashlib.blake2b(bytes(prev) + struct.pack("<QQQ", seq, t, v) + lp(author)
                    + lp(op) + lp(kind)
                    + hashlib.blake2b(oid.encode(), digest_size=32).digest()
                    + hashlib.blake2b(body.encode(), digest_size=32).digest(),
                    digest_size=32)
db.execute("UPDATE ledger SET body=?, hash=? WHERE seq=3", (body, h.digest()))
db.commit()
EOF
  expect_broken_at rehash 4 "entry 3 rewritten with a recomputed hash"
else
  echo "SKIP: python3 not found: forged well-hashed rows not tested"
fi

# The base is untouched by all of that.
run haven --data base ledger verify
[[ $rc == 0 ]] || fail "the base no longer verifies"

# ---- the export ---------------------------------------------------------------
run haven --data base ledger export chain.ndjson
[[ $rc == 0 ]] || fail "ledger export FILE"
[[ $(wc -l <chain.ndjson) == "$N" ]] || fail "the export has not $N lines"
haven --data base ledger export >chain-stdout.ndjson
cmp -s chain.ndjson chain-stdout.ndjson || fail "export to stdout differs"

run haven ledger verify --file chain.ndjson
[[ $rc == 0 ]] || fail "ledger verify --file of a fresh export: exit $rc"
grep -q "^ledger ok: $N entries, head $HEAD$" out.txt ||
  fail "the export's head is not the store's"
run haven ledger verify --file - <chain.ndjson
[[ $rc == 0 ]] || fail "ledger verify --file - (stdin)"
run haven ledger verify --file does-not-exist.ndjson
[[ $rc == 1 ]] || fail "verify --file of a missing file: exit $rc, expected 1"

if ((have_python)); then
  # The chain checked independently of haven, from the definition.
  python3 - chain.ndjson "$HEAD" <<'EOF' || fail "independent check of the export"
import hashlib, json, struct, sys
lp = lambda s: struct.pack("<I", len(s.encode())) + s.encode()
prev = bytes(32)
for n, line in enumerate(open(sys.argv[1], encoding="utf-8"), 1):
    e = json.loads(line)
    assert e["seq"] == n and bytes.fromhex(e["prev_hash"]) == prev, n
    h = hashlib.blake2b(prev + struct.pack("<QQQ", e["seq"], e["time_ms"],
                        e["version"]) + lp(e["author"]) + lp(e["op"])
                        + lp(e["kind"])
                        + hashlib.blake2b(e["id"].encode(),
                                          digest_size=32).digest()
                        + hashlib.blake2b(e["body"].encode(),
                                          digest_size=32).digest(),
                        digest_size=32)
    assert h.hexdigest() == e["hash"], n
    assert e["id_hash"] == hashlib.blake2b(e["id"].encode(),
                                           digest_size=32).hexdigest(), n
    prev = h.digest()
    if n == 1:
        assert e["op"] == "genesis" and e["kind"] == "store", e
assert prev.hex() == sys.argv[2]
EOF
  echo "ok: the export checks out independently"
fi

# export_broken_at FILE SEQ WHAT
export_broken_at() {
  run haven ledger verify --file "$1"
  [[ $rc == 3 ]] || fail "$3: verify --file exit $rc, expected 3"
  grep -q "^FAILED at entry $2 (" out.txt || fail "$3: does not name entry $2"
  echo "ok: export: $3 -> entry $2"
}

sed '3s/Turkey/Turkez/' chain.ndjson >x-body.ndjson
! cmp -s chain.ndjson x-body.ndjson || fail "sed did not change line 3"
export_broken_at x-body.ndjson 3 "a character of entry 3's body"

sed '6s/"author":"coordinator"/"author":"Coordinator"/' chain.ndjson \
  >x-author.ndjson
! cmp -s chain.ndjson x-author.ndjson || fail "sed did not change line 6"
export_broken_at x-author.ndjson 6 "entry 6's author"

# The id of entry 3 (party "tr"): changed with its id_hash kept, changed
# with id_hash dropped, withheld (null) with id_hash kept — that one
# verifies: the id enters the hash through id_hash — and withheld with
# id_hash dropped (nothing left to hash: not an entry).
grep -q '"id":"tr",' <(sed -n 3p chain.ndjson) || fail "line 3 is not tr's"
sed '3s/"id":"tr",/"id":"tq",/' chain.ndjson >x-id.ndjson
export_broken_at x-id.ndjson 3 "entry 3's id, id_hash kept"
grep -q 'id does not match id_hash' err.txt || fail "x-id: $(cat err.txt)"
sed -E '3s/"id":"tr",/"id":"tq",/; 3s/"id_hash":"[0-9a-f]+",//' chain.ndjson \
  >x-id-nohash.ndjson
export_broken_at x-id-nohash.ndjson 3 "entry 3's id, id_hash dropped"
sed '3s/"id":"tr",/"id":null,/' chain.ndjson >x-id-null.ndjson
run haven ledger verify --file x-id-null.ndjson
[[ $rc == 0 ]] || fail "an export with an id withheld: exit $rc"
grep -q "^ledger ok: $N entries, head $HEAD$" out.txt ||
  fail "an export with an id withheld: not the store's head"
grep -q "^(1 entries carried their id's hash only" out.txt ||
  fail "an export with an id withheld: not counted"
sed -E '3s/"id":"tr",/"id":null,/; 3s/"id_hash":"[0-9a-f]+",//' chain.ndjson \
  >x-id-none.ndjson
export_broken_at x-id-none.ndjson 3 "entry 3's id and id_hash both gone"

sed '5d' chain.ndjson >x-drop.ndjson
export_broken_at x-drop.ndjson 5 "line 5 dropped"

sed '4{h;d};5G' chain.ndjson >x-swap.ndjson
[[ $(sed -n 4p x-swap.ndjson) == "$(sed -n 5p chain.ndjson)" ]] ||
  fail "sed did not swap lines 4 and 5"
export_broken_at x-swap.ndjson 4 "lines 4 and 5 swapped"

sed '7s/.*/this is not an entry/' chain.ndjson >x-junk.ndjson
export_broken_at x-junk.ndjson 7 "line 7 not JSON"

sed -E '8s/"time_ms":[0-9]+/"time_ms":1/' chain.ndjson >x-time-ms.ndjson
! cmp -s chain.ndjson x-time-ms.ndjson || fail "sed did not change line 8"
export_broken_at x-time-ms.ndjson 8 "entry 8's time_ms"

# The readable "time" must say what the hashed time_ms says.
sed -E '9s/"time":"2/"time":"1/' chain.ndjson >x-time.ndjson
! cmp -s chain.ndjson x-time.ndjson || fail "sed did not change line 9"
broken_at_file() {
  run haven ledger verify --file "$1"
  [[ $rc == 3 ]] && grep -q "^FAILED at entry $2 (" out.txt
}
broken_at_file x-time.ndjson 9 || fail "export: entry 9's \"time\" rewritten"

# The last line dropped: what is left is a sound chain, so it verifies, but
# its head is no longer the store's: a reader must compare heads.
sed '$d' chain.ndjson >x-truncated.ndjson
run haven ledger verify --file x-truncated.ndjson
[[ $rc == 0 ]] || fail "a truncated export: exit $rc"
grep -q "^ledger ok: $((N - 1)) entries" out.txt || fail "truncated count"
! grep -q "$HEAD" out.txt || fail "a truncated export reports the full head"

: >x-empty.ndjson
run haven ledger verify --file x-empty.ndjson
[[ $rc == 3 ]] || fail "an empty export: exit $rc, expected 3"

cd / && rm -rf -- "$W"
echo "ledger-tamper: all checks passed"
