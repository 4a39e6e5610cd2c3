-- wrk script of bench/mirror.sh.
--
--   WRK_PATHS=FILE wrk ... -s bench/wrk.lua http://HOST:PORT
--       each request GETs a path drawn uniformly from FILE (one path a line, e.g. /targets/...);
--       thread n draws from a generator seeded with n, so every server is sent the same sequence
--   wrk ... -s bench/wrk.lua http://HOST:PORT/PATH
--       (no WRK_PATHS) the one URL, as plain wrk sends it: a request formatted once
--
-- Either way `done` prints one machine-readable line:
--   wrk-result REQUESTS BYTES DURATION_US P50_US P99_US NON_2XX_3XX SOCKET_ERRORS

local list = os.getenv("WRK_PATHS")

if list and list ~= "" then
  local paths = {}
  for line in io.lines(list) do
    if line ~= "" then
      paths[#paths + 1] = line
    end
  end
  assert(#paths > 0, list .. ": no paths")
  local count = #paths

  local threads = 0
  function setup(thread)
    threads = threads + 1
    thread:set("id", threads)
  end

  function init(args)
    math.randomseed(id or 1)
  end

  function request()
    return wrk.format("GET", paths[math.random(count)])
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("wrk-result %d %d %d %d %d %d %d\n",
    summary.requests, summary.bytes, summary.duration,
    latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
