-- wrk script: POST /token with the refresh_token grant, as an iMIS SSO client does.
-- The form body comes from the environment (bench/run.py mints the token).
wrk.method = "POST"
wrk.path = "/token"
wrk.body = os.getenv("BENCH_TOKEN_BODY")
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
