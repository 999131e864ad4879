-- wrk script for the runner benchmark: POSTs the rust-hello request body.
--   wrk ... -s post.lua <url> -- single          every request to the URL's path
--   wrk ... -s post.lua <url> -- rr <prefix> <n>  round-robin over <prefix>0 … <prefix>(n-1)
-- Prints one JSON line (prefixed "RESULT ") with exact latency percentiles in microseconds.
wrk.method = "POST"
wrk.body = '{"message":"hi there"}'
wrk.headers["Content-Type"] = "application/json"

local paths = nil
local next_index = 0
local single = nil

function init(args)
  if args[1] == "rr" then
    paths = {}
    local count = tonumber(args[3])
    for i = 0, count - 1 do
      paths[i + 1] = args[2] .. i
    end
    -- Threads start at different places of the rotation.
    next_index = math.random(0, count - 1)
  elseif args[1] == "direct" then
    -- What the runner adds on its way to the program.
    wrk.headers["x-ignite-execution-id"] = "0190a5e2-7c1d-7b3e-9f00-000000000001"
    wrk.headers["x-ignite-function-id"] = "bench/hello"
  end
end

function request()
  if paths == nil then
    single = single or wrk.format()
    return single
  end
  next_index = (next_index % #paths) + 1
  return wrk.format(nil, paths[next_index])
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
