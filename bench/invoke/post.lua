-- wrk script for the invoke benchmark: POSTs the rust-hello request body, with an API key when given.
--   wrk ... -s post.lua <url>                   no Authorization
--   wrk ... -s post.lua <url> -- <api key>      Authorization: Bearer <api key>
-- Prints one JSON line (prefixed "RESULT ") with exact latency percentiles in microseconds.
wrk.method = "POST"
wrk.body = '{"message":"hi there"}'
wrk.headers["Content-Type"] = "application/json"

local single = nil

function init(args)
  if args[1] ~= nil and args[1] ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. args[1]
  end
end

function request()
  single = single or wrk.format()
  return single
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    e.connect, e.read, e.write, e.status, e.timeout))
end
