-- wrk script: whole Single Sign-On flows, one flow at a time per connection (run it with as many
-- wrk threads as connections). A flow is what a member and a third-party app do:
--   1. GET  /SignIn                  the form: a session cookie and its CSRF token
--   2. POST /SignIn                  username, password, csrf_token -> 303, the signed-in cookie
--   3. GET  /SampleApp.aspx          the record page with the SSO item: the hand-off form
--   4. POST /token                   the app redeems the refresh token from that form
--   5. GET  /api/Party/{id}          the app reads the member with the access token
-- Any unexpected answer counts as a failed flow and the next flow starts from step 1; a 429 (the
-- hashing pool full, by design) counts as a refused flow instead.
-- BENCH_MEMBERS: "username:party id" pairs, comma-separated; each connection signs in as one of
-- them in turn, as different members do (one member's parallel sign-ins meet its throttle).
local password = os.getenv("BENCH_PASSWORD")
local client_id, secret = os.getenv("BENCH_CLIENT_ID"), os.getenv("BENCH_CLIENT_SECRET")
local record = os.getenv("BENCH_RECORD")
local form_type = "application/x-www-form-urlencoded"

local members = {}
for name, id in os.getenv("BENCH_MEMBERS"):gmatch("([^:,]+):([^,]+)") do
  table.insert(members, {name, id})
end

local threads = {}
function setup(thread)
  table.insert(threads, thread)
  thread:set("member", #threads % #members + 1)
end

local step, cookie, csrf, refresh, access = 1, nil, nil, nil, nil
flows, failures, refusals = 0, 0, 0

local function escape(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

local function session_cookie(headers)
  local value = headers["Set-Cookie"] or headers["set-cookie"]
  return value and value:match("^(imis_session=[^;]+)")
end

function request()
  if step == 1 then
    return wrk.format("GET", "/SignIn")
  elseif step == 2 then
    local body = "username=" .. escape(members[member][1]) .. "&password=" .. escape(password)
      .. "&csrf_token=" .. escape(csrf)
    return wrk.format("POST", "/SignIn", {["Cookie"] = cookie, ["Content-Type"] = form_type}, body)
  elseif step == 3 then
    return wrk.format("GET", record, {["Cookie"] = cookie})
  elseif step == 4 then
    local body = "grant_type=refresh_token&client_id=" .. escape(client_id)
      .. "&client_secret=" .. escape(secret) .. "&refresh_token=" .. escape(refresh)
    return wrk.format("POST", "/token", {["Content-Type"] = form_type}, body)
  else
    return wrk.format("GET", "/api/Party/" .. members[member][2], {["Authorization"] = "Bearer " .. access})
  end
end

function response(status, headers, body)
  local ok = false
  if step == 1 then
    cookie = session_cookie(headers)
    csrf = body:match('name="csrf_token" type="hidden" value="([^"]+)"')
    ok = status == 200 and cookie ~= nil and csrf ~= nil
  elseif step == 2 then
    cookie = session_cookie(headers)
    ok = (status == 302 or status == 303) and cookie ~= nil
  elseif step == 3 then
    refresh = body:match('name="refresh_token" value="([^"]+)"')
    ok = status == 200 and refresh ~= nil
  elseif step == 4 then
    access = body:match('"access_token":"([^"]+)"')
    ok = status == 200 and access ~= nil
  else
    ok = status == 200
    if ok then
      flows = flows + 1
    end
  end
  if ok then
    step = step % 5 + 1
  elseif status == 429 then
    refusals = refusals + 1
    step = 1
  else
    failures = failures + 1
    step = 1
  end
end

function done(summary, latency, requests)
  local total, failed, refused = 0, 0, 0
  for _, thread in ipairs(threads) do
    total = total + thread:get("flows")
    failed = failed + thread:get("failures")
    refused = refused + thread:get("refusals")
  end
  io.write(string.format("flows: %d\nfailed flows: %d\n", total, failed))
  io.write(string.format("status 429: %d\n", refused))
end
