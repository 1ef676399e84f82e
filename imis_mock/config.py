"""Default settings, safe for development. Override in instance/config.py or FLASK_* vars."""

from datetime import timedelta

# SQLALCHEMY_DATABASE_URI is filled in by the factory when unset: an SQLite file in instance/.
SQLALCHEMY_DATABASE_URI: str | None = None
SQLALCHEMY_ENGINE_OPTIONS: dict = {}
# On PostgreSQL, the connections each worker may open for the API's and tokens' reads outside a
# transaction and the refresh grant's writes (database._Readers), beside the engine's pool
# (pool_size 5 + max_overflow 10 by default): count both against the server's max_connections.
# SQLite opens one per thread reading or writing so at once.
DATABASE_READ_CONNECTIONS = 16

# Sessions and cookies. With PREFERRED_URL_SCHEME = "https" (behind TLS) the cookies are Secure
# and named with the __Host- prefix, and responses carry HSTS (security.py); the mock is mostly
# run over plain http on loopback.
PREFERRED_URL_SCHEME = "http"
SESSION_COOKIE_NAME = "imis_session"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_SECURE = False
REMEMBER_COOKIE_NAME = "imis_remember"
REMEMBER_COOKIE_HTTPONLY = True
REMEMBER_COOKIE_SAMESITE = "Lax"
REMEMBER_COOKIE_DURATION = timedelta(days=14)
PERMANENT_SESSION_LIFETIME = timedelta(days=14)
# iMIS 2017's web.config sets a 120-minute session timeout; a signed-in session idle longer ends.
SESSION_IDLE_MINUTES = 120
# A session without "Keep me signed in" ends this long after sign-in, however busy [I]: ASVS
# 3.3.2 (level 2) asks for re-authentication within 12 hours of use. Kept sessions last
# REMEMBER_COOKIE_DURATION instead.
SESSION_ABSOLUTE_HOURS = 12
# Strict-Transport-Security max-age under TLS (one year). Browsers apply HSTS to the host name
# on every port: lower it (0 makes browsers forget) if plain-http services share the host.
HSTS_MAX_AGE = 365 * 24 * 3600

# Request bodies larger than this are refused with 413 (forms and /token are tiny).
MAX_CONTENT_LENGTH = 64 * 1024

# Flask-WTF: CSRF tokens last as long as the session, so a form left open does not fail.
WTF_CSRF_TIME_LIMIT = None

# werkzeug's password hashing method for new passwords (the tests use a cheaper one to stay
# quick). Sign-in cost for load tests: FLASK_PASSWORD_HASH_METHOD=pbkdf2:sha256:1 on a new
# database (`flask init-db` and `flask load-demo` then store cheap hashes) makes every sign-in
# and password grant cheap, so a load test measures the mock rather than scrypt. Never in a
# database real passwords go into: a stored hash keeps the method it was made with.
PASSWORD_HASH_METHOD = "scrypt"

# Where a member lands after signing in when there is no `next` and no site setting.
MEMBER_HOME_ENDPOINT = "member.home"

# Sign-in throttling (member and staff sign-in pages, the password grant), shared by all workers.
THROTTLE_MAX_FAILURES = 5
THROTTLE_WINDOW_MINUTES = 15
THROTTLE_LOCKOUT_MINUTES = 15
# Password guessing from one client address, whatever the usernames: this many failed password
# checks in a minute make the address wait this many seconds (429 with Retry-After).
ADDRESS_MAX_FAILURES = 30
ADDRESS_LOCKOUT_SECONDS = 60
# Its 429 is answered after this pause (no CPU; at most ADDRESS_DELAY_SLOTS at once per worker
# process, the rest at once), so a guesser's connections send little: services/throttle.py.
ADDRESS_ANSWER_DELAY_SECONDS = 0.5
ADDRESS_DELAY_SLOTS = 16
# Failed client authentication at /token, per Client ID and client address (services/tokens.py).
CLIENT_MAX_FAILURES = 10
CLIENT_LOCKOUT_SECONDS = 60
# Password hashes computed at once by one worker process; more get 429 with Retry-After at once.
HASH_CONCURRENCY = 2

# The Login redirect URL of the demo "SampleApp" client application (`make run` sets the port).
DEMO_SAMPLE_APP_URL = "http://localhost:5001/sso"
# The data set `flask load-demo` loads: "demo" or "sdk-demo" (iMIS's SDK demo ids).
DEMO_SCENARIO = "demo"

# Refresh-token rotation at /token. False (iMIS as far as it is known): a redeemed refresh token
# stays valid until its own expiry. True: a token is redeemed once; reuse is refused and revokes
# its whole family. See services/tokens.py.
STRICT_REFRESH_TOKEN_ROTATION = False

# Successful refreshes at /token and REST API calls are audited by a background writer in
# batches, a moment after their responses (services/audit.py); False writes each in its request.
AUDIT_WRITE_BEHIND = True

# Test-only: send the answering worker's process ID in an X-Worker-PID header, so the
# multi-worker tests can tell which server worker answered (FLASK_EXPOSE_WORKER_PID=true).
# Real iMIS sends no such header: keep it off.
EXPOSE_WORKER_PID = False

# The HTTP admin API under /qa/api (imis_mock/admin_api): off (404) unless QA_ADMIN_API is true or
# QA_ADMIN_TOKEN is set. `imis-mock serve` and the pytest plugin switch it on with a token.
QA_ADMIN_API = False
QA_ADMIN_TOKEN: str | None = None

# iMIS sites often live under an application root, e.g. https://host/Asi.Scheduler_SDKDemo/api
# (ASI's Postman environment). Set it (FLASK_IMIS_APP_ROOT=/Asi.Scheduler_SDKDemo) to serve /token
# and /api under that prefix too; they stay at the site root as well. See routing.py.
IMIS_APP_ROOT = ""

# Unknown filter keys on API lists are ignored and journalled, as the reference advises (§2.4);
# True answers them 400 instead.
API_STRICT_FILTERS = False
