-- wrk script: the same form POST on every request (the /token grants, the member sign-in).
-- bench/run.py passes the path, the form body and, for the sign-in, the session cookie that
-- carries the CSRF secret (the body then holds the matching csrf_token, as a browser sends it).
wrk.method = "POST"
wrk.path = os.getenv("BENCH_PATH")
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
local cookie = os.getenv("BENCH_COOKIE")
if cookie and cookie ~= "" then
  wrk.headers["Cookie"] = cookie
end
