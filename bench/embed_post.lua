-- embed_post.lua — the wrk script of bench_embed_http: POST /v1/embed with the JSON body in the
-- file $ECGFM_BENCH_BODY and the API key $ECGFM_BENCH_KEY; done() prints one line to parse.
local f = assert(io.open(os.getenv("ECGFM_BENCH_BODY"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. (os.getenv("ECGFM_BENCH_KEY") or "")

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      "wrk_result requests=%d duration_us=%d p50_us=%.1f p99_us=%.1f non2xx=%d connect=%d " ..
      "read=%d write=%d timeout=%d\n",
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
      e.status, e.connect, e.read, e.write, e.timeout))
end
