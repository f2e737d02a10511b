# common.bash — what the CLI tests (tests/cli/*.sh) share; sourced, not run
# (ctest runs *.sh only). It checks the environment, makes a fresh work
# directory and goes there, and gives:
#   fail MSG       prints FAIL: MSG and the last command's out.txt / err.txt
#   run CMD...     runs CMD with stdout in out.txt, stderr in err.txt, its
#                  exit status in $rc (never stops the script)
#   haven ARGS...  the haven binary on the work directory's store
#   load_scenario  builds the bundled scenario (mkscenario) and imports it
# Needs: HAVEN_BIN, HAVEN_MKSCENARIO, HAVEN_SOURCE_DIR, HAVEN_SCRATCH_DIR.
set -euo pipefail

: "${HAVEN_BIN:?HAVEN_BIN must name the haven binary}"
: "${HAVEN_MKSCENARIO:?HAVEN_MKSCENARIO must name mkscenario}"
: "${HAVEN_SOURCE_DIR:?}"
: "${HAVEN_SCRATCH_DIR:?}"
SHARED=${HAVEN_SHARED_DATA:-$HAVEN_SOURCE_DIR/../shared/data}

W="$HAVEN_SCRATCH_DIR/work.$$"
rm -rf -- "$W"
mkdir -p -- "$W"
cd -- "$W"

fail() {
  echo "FAIL: $*" >&2
  for f in out.txt err.txt; do
    [[ -f $f ]] && { echo "--- $f" >&2; head -n 40 "$f" >&2; }
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

haven() { "$HAVEN_BIN" --data "$W/data" "$@"; }

load_scenario() {
  "$HAVEN_MKSCENARIO" "$HAVEN_SOURCE_DIR/data/src" scenario >/dev/null 2>&1 ||
    fail "mkscenario"
  haven import "$HAVEN_SOURCE_DIR/data/scenario/registry.json" \
    "$HAVEN_SOURCE_DIR/data/scenario/corridors.geojson" scenario/*.geojson \
    >/dev/null || fail "import"
}
