-- wrk script: POST the rust-hello request body, with an execution id like the runner sends.
wrk.method = "POST"
wrk.body = '{"message":"hi there"}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["x-ignite-execution-id"] = "0190a5e2-7c1d-7b3e-9f00-000000000001"
