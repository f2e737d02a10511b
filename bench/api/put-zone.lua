-- put-zone.lua — the zone write of bench/bench-api.sh, for wrk.
--
-- PUT /v1/zones/<id> of the zone's whole document with its name alternating
-- between two values, as a conditional write: each request carries the
-- version of the reply to the one before (the object as stored), so that
-- every write is a real change at the right version. One connection
-- (wrk -t1 -c1): the requests follow each other.
--
-- usage: wrk -t1 -c1 -d10s --latency -s put-zone.lua URL -- DOC.json
--   DOC.json: the zone as GET /v1/zones/<id> returned it.
-- A reply other than 200 leaves the document as it was (wrk counts it
-- among "Non-2xx or 3xx responses"; bench-api.sh fails on any).

local doc, path
local n = 0

function init(args)
  local f = assert(io.open(args[1], "r"))
  doc = f:read("*a")
  f:close()
  local id = assert(doc:match('"id"%s*:%s*"([^"]+)"'), "no id in " .. args[1])
  path = "/v1/zones/" .. id
  wrk.method = "PUT"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  n = n + 1
  local name = (n % 2 == 0) and "Bench zone (even)" or "Bench zone (odd)"
  local body = doc:gsub('"name"%s*:%s*"[^"]*"', '"name":"' .. name .. '"', 1)
  return wrk.format(nil, path, nil, body)
end

function response(status, headers, body)
  if status == 200 then
    doc = body -- the stored object, at its new version
  end
end

function done(summary, latency, requests)
  io.write(string.format("put-zone: %d requests, %d errors\n",
                         summary.requests, summary.errors.status))
end
