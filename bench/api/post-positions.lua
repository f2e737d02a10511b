-- post-positions.lua — the position feed of bench/bench-positions.sh, for wrk.
--
-- Thread i (wrk -tP -cP: one connection per thread) posts, in order, the
-- NDJSON batches of DIR/part-<i>.ndjson (written by `bench-tracks emit`:
-- bodies separated by an empty line, the assets of partition i only, in time
-- order) to POST /v1/positions, one after the other (wrk waits for each
-- reply). When the file is used up it starts over with every t_ms shifted
-- by one more shift_ms (DIR/meta: the file's span + 10 s), so that each
-- asset's times keep increasing. Partitions hold disjoint assets, so the
-- connections never race on one asset.
--
-- usage: wrk -t2 -c2 -d10s -H 'Authorization: Bearer T' \
--          -s post-positions.lua URL -- DIR
-- done() prints one line: "post-positions: accepted=... requests=...
-- non200=... out_of_order=... duration_s=... p50_ms=... p99_ms=...":
-- accepted counts the reports of the 200 replies ("accepted" of each).

local threads = {}
local bodies, nb, shift = {}, 0, 0
local n = 0
accepted, ok, non200, ooo = 0, 0, 0, 0

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  local dir = args[1]
  local m = assert(io.open(dir .. "/meta", "r"))
  shift = tonumber(m:read("*a"):match("shift_ms=(%d+)"))
  m:close()
  local f = assert(io.open(dir .. "/part-" .. id .. ".ndjson", "r"))
  local all = f:read("*a")
  f:close()
  local pos = 1
  while true do
    local s, e = all:find("\n\n", pos, true)
    if not s then break end
    nb = nb + 1
    bodies[nb] = all:sub(pos, s)
    pos = e + 1
  end
  assert(nb > 0, "no batch in part-" .. id)
  wrk.method = "POST"
  wrk.path = "/v1/positions"
  wrk.headers["Content-Type"] = "application/x-ndjson"
end

function request()
  local k = n % nb
  local pass = math.floor(n / nb)
  n = n + 1
  local body = bodies[k + 1]
  if pass > 0 then
    local s = pass * shift
    body = body:gsub('"t_ms":(%d+)', function(t)
      return string.format('"t_ms":%.0f', tonumber(t) + s)
    end)
  end
  return wrk.format(nil, nil, nil, body)
end

function response(status, headers, body)
  if status == 200 then
    ok = ok + 1
    accepted = accepted + (tonumber(body:match('"accepted":(%d+)')) or 0)
    local p = 1
    while true do
      local s, e = body:find('"out_of_order"', p, true)
      if not s then break end
      ooo = ooo + 1
      p = e + 1
    end
  else
    non200 = non200 + 1
  end
end

function done(summary, latency, requests)
  local acc, okn, bad, o = 0, 0, 0, 0
  for _, t in ipairs(threads) do
    acc = acc + t:get("accepted")
    okn = okn + t:get("ok")
    bad = bad + t:get("non200")
    o = o + t:get("ooo")
  end
  io.write(string.format(
    "post-positions: accepted=%d requests=%d ok=%d non200=%d out_of_order=%d " ..
    "socket_errors=%d duration_s=%.3f p50_ms=%.3f p99_ms=%.3f\n",
    acc, summary.requests, okn, bad, o,
    summary.errors.connect + summary.errors.read + summary.errors.write +
    summary.errors.timeout,
    summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000))
end
