"""Default settings, safe for development. Override in instance/config.py or FLASK_* vars."""

from datetime import timedelta

# SQLALCHEMY_DATABASE_URI is filled in by the factory when unset: an SQLite file in instance/.
SQLALCHEMY_DATABASE_URI: str | None = None
SQLALCHEMY_ENGINE_OPTIONS: dict = {}

# Sessions and cookies. The factory switches SESSION_COOKIE_SECURE on when PREFERRED_URL_SCHEME
# is https; the mock is mostly run over plain http on loopback.
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

# The Login redirect URL of the demo "SampleApp" client application (`make run` sets the port).
DEMO_SAMPLE_APP_URL = "http://localhost:5001/sso"

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
