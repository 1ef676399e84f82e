-- wrk script for bench/guessing.py: password-grant guesses, a new random username and password
-- on every request (so no username lock stops them; only the address limit and the pool do).
wrk.method = "POST"
wrk.path = "/token"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"

local counter = 0

request = function()
  counter = counter + 1
  local body = string.format(
    "grant_type=password&username=guess-%d-%d&password=wrong-%d",
    math.random(1, 1000000000), counter, math.random(1, 1000000000)
  )
  return wrk.format(nil, nil, nil, body)
end
