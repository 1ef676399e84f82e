-- wrk script: a form POST on every request (the /token grants, the member sign-in).
-- bench/run.py passes the path, the form body and, for the sign-in, the session cookie that
-- carries the CSRF secret (the body then holds the matching csrf_token, as a browser sends it).
-- BENCH_BODY may hold several bodies, one per line (one per member): each request sends the next.
-- With BENCH_COUNT_STATUSES=1 the answers are counted by status ("status 429: N" lines at the
-- end), so that a case can tell the hashing pool's 429s from errors. A plain case defines neither
-- request() nor response(), so wrk sends its one request without calling into Lua.
wrk.method = "POST"
wrk.path = os.getenv("BENCH_PATH")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
local cookie = os.getenv("BENCH_COOKIE")
if cookie and cookie ~= "" then
  wrk.headers["Cookie"] = cookie
end

local bodies = {}
for body in os.getenv("BENCH_BODY"):gmatch("[^\n]+") do
  table.insert(bodies, body)
end
wrk.body = bodies[1]

local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("next_body", #threads)
end

if #bodies > 1 then
  function request()
    next_body = next_body % #bodies + 1
    return wrk.format(nil, nil, nil, bodies[next_body])
  end
end

if os.getenv("BENCH_COUNT_STATUSES") == "1" then
  statuses = {}
  function response(status, headers, body)
    statuses[status] = (statuses[status] or 0) + 1
  end

  function done(summary, latency, requests)
    local total = {}
    for _, thread in ipairs(threads) do
      for status, count in pairs(thread:get("statuses")) do
        total[status] = (total[status] or 0) + count
      end
    end
    for status, count in pairs(total) do
      io.write(string.format("status %d: %d\n", status, count))
    end
  end
end
