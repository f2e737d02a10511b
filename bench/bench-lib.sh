# bench-lib.sh — sourced by the HTTP benchmarks (bench-api.sh,
# bench-positions.sh): the bundled scenario in a fresh store, and
# `haven serve` started on a free loopback port and stopped cleanly.
# Expects $build (the build dir), $scratch (this benchmark's scratch dir),
# $data (the store) and $name (for messages); runs from the repo root.

haven() { "$build/haven" --data "$data" "$@"; }

# The bundled scenario (mkscenario + import, as scripts/demo) into $data.
bench_scenario() {
  mkdir -p -- "$scratch/scenario"
  "$build/mkscenario" data/src "$scratch/scenario" >"$scratch/mkscenario.log" 2>&1
  haven import data/scenario/registry.json "$scratch"/scenario/*.geojson \
    data/scenario/corridors.geojson >"$scratch/import.log"
}

server_pid=
# SIGTERM to the server and wait for it; harmless when none runs.
stop_server() {
  if [[ -n $server_pid ]]; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
    server_pid=
  fi
}

# Starts `haven serve` on 127.0.0.1 (a free port) with the extra arguments
# given; sets $url once it listens. Exits 1 if it does not start in 60 s.
start_server() {
  trap stop_server EXIT
  "$build/haven" --data "$data" serve --listen 127.0.0.1:0 "$@" \
    >"$scratch/serve.out" 2>"$scratch/serve.err" &
  server_pid=$!
  url=
  for _ in $(seq 1 600); do
    url=$(sed -n 's/^haven: listening on \(http:\/\/[^ ]*\).*/\1/p' \
      "$scratch/serve.out" 2>/dev/null | head -n 1)
    [[ -n $url && ${url##*:} != 0 ]] && return 0
    if ! kill -0 "$server_pid" 2>/dev/null; then
      echo "$name: haven serve exited:" >&2
      cat "$scratch/serve.err" >&2
      exit 1
    fi
    sleep 0.1
  done
  echo "$name: haven serve did not start within 60 s" >&2
  exit 1
}
