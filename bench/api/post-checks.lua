-- post-checks.lua — the deconfliction requests of bench/bench-checks-api.sh,
-- for wrk with one thread and one connection (wrk -t1 -c1: each request
-- sent when the previous reply has come back, so latency is not queueing).
--
-- Posts, in order, the first COUNT operations of OPS (written by
-- `bench-check ... --ops-json OPS`: one a line, "AUTHOR<TAB>VERDICT<TAB>BODY")
-- to POST /v1/checks, each with the bearer token of its author (TOKENS:
-- "AUTHOR TOKEN" lines), and stops after COUNT replies. Each reply must be
-- 200 with the verdict hv_check gave in-process ("verdict":"..." in its
-- answer); the others are counted.
--
-- usage: wrk -t1 -c1 -d600s --latency -s post-checks.lua URL -- OPS TOKENS COUNT [MARKER]
-- After COUNT replies the thread stops and MARKER (a file) is created: wrk
-- itself waits for -d, so the caller sends it SIGINT then.
-- done() prints one line: "post-checks: requests=... ok=... non200=...
-- wrong_verdict=... socket_errors=... duration_s=... p50_ms=... p90_ms=...
-- p99_ms=... max_ms=...", latencies of wrk's histogram (microseconds).

local threads = {}
local reqs, expect = {}, {}
local count, got, marker = 0, 0, nil
ok, non200, wrong = 0, 0, 0

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local ops, tokpath = args[1], args[2]
  count = tonumber(args[3])
  marker = args[4]
  local tokens = {}
  for line in io.lines(tokpath) do
    local who, tok = line:match("^(%S+) (%S+)$")
    if who then tokens[who] = tok end
  end
  local n = 0
  for line in io.lines(ops) do
    local who, verdict, body = line:match("^([^\t]+)\t([^\t]+)\t(.+)$")
    assert(who and tokens[who], "post-checks: no token for line " .. (n + 1))
    n = n + 1
    expect[n] = verdict
    reqs[n] = wrk.format("POST", "/v1/checks", {
      ["Authorization"] = "Bearer " .. tokens[who],
      ["Content-Type"] = "application/json",
    }, body)
    if n == count then break end
  end
  assert(n == count, "post-checks: " .. ops .. " holds " .. n .. " operations, not " .. count)
end

-- Indexed by the replies received, not by the calls: wrk calls request()
-- once more before the run (to verify it), and with -c1 the next request
-- is made only when the previous reply is in.
function request()
  return reqs[got % count + 1]
end

function response(status, headers, body)
  got = got + 1
  if status ~= 200 then
    non200 = non200 + 1
    if non200 <= 3 then
      io.stderr:write("post-checks: reply " .. got .. ": " .. status .. " " .. body .. "\n")
    end
  else
    ok = ok + 1
    local v = body:match('"verdict"%s*:%s*"(%a+)"')
    if v ~= expect[(got - 1) % count + 1] then
      wrong = wrong + 1
      if wrong <= 3 then
        io.stderr:write("post-checks: reply " .. got .. ": verdict " .. tostring(v) ..
          ", in-process " .. expect[(got - 1) % count + 1] .. "\n")
      end
    end
  end
  if got == count then
    -- wrk's main thread sleeps for -d whatever the threads do: the
    -- marker tells the caller to end it with SIGINT (it then reports).
    wrk.thread:stop()
    if marker then
      local f = io.open(marker, "w")
      if f then f:close() end
    end
  end
end

function done(summary, latency, requests)
  local t = summary.errors
  local ok, non200, wrong = 0, 0, 0
  for _, th in ipairs(threads) do
    ok = ok + th:get("ok")
    non200 = non200 + th:get("non200")
    wrong = wrong + th:get("wrong")
  end
  io.write(string.format(
    "post-checks: requests=%d ok=%d non200=%d wrong_verdict=%d socket_errors=%d " ..
    "duration_s=%.3f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f\n",
    summary.requests, ok, non200, wrong,
    t.connect + t.read + t.write + t.timeout,
    summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000))
end
