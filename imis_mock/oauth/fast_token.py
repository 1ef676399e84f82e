"""POST /token's busiest request answered before Flask: the refresh grant as SSO clients send it.

Every SSO client redeems its refresh token at /token, so that request is what `make bench`
measures (README.md, "Speed"). Once the redemption itself was cheap (services/fast_refresh.py),
Flask's handling around it (request context, cookie session, hooks, werkzeug's form parser, the
response object) cost about as much again. This WSGI middleware answers only a request it can
answer exactly as the Flask view would, with the same status, headers and body:

    POST /token (or /Token), no query string, no Authorization header,
    Content-Type application/x-www-form-urlencoded, a Content-Length body of at most 16 KiB,
    grant_type=refresh_token with client_id, client_secret and refresh_token, each once,
    and a redemption that succeeds (fast_refresh.redeem(), which checks everything else).

Anything else goes to Flask untouched (its body replayed): other paths and methods, a refusal, an
armed QA fault, a database other than an SQLite file, a database error. Flask then answers as it
always has, so every error answer stays Authlib's (oauth/server.py). The headers a success gets
from Flask's hooks (security.py's, the `Vary: Cookie` of Flask's session, the test-only
X-Worker-PID) are added here in Flask's order; tests/test_fast_token.py compares both answers
header by header.
"""

import io
import json
import os
import sqlite3
from urllib.parse import parse_qsl

from authlib.oauth2 import OAuth2Error
from flask import Flask

from imis_mock.diagnostics import WORKER_PID_HEADER
from imis_mock.oauth.routes import TOKEN_MAX_BODY
from imis_mock.oauth.server import HEADERS, known_parameters
from imis_mock.security import SECURITY_HEADERS
from imis_mock.services import fast_refresh, oauth_server

PATHS = ("/token", "/Token")
FORM = "application/x-www-form-urlencoded"
REFRESH = ("client_id", "client_secret", "refresh_token")


class FastToken:
    """WSGI middleware: the refresh grant's success at /token without Flask; else Flask."""

    def __init__(self, app: Flask):
        self.app = app
        self.wsgi_app = app.wsgi_app

    def __call__(self, environ: dict, start_response):
        if (
            environ.get("REQUEST_METHOD") == "POST"
            and environ.get("PATH_INFO") in PATHS
            and not environ.get("QUERY_STRING")
            and "HTTP_AUTHORIZATION" not in environ
        ):
            answered = self._answer(environ)
            if answered is not None:
                body, headers = answered
                start_response("200 OK", headers)
                return [body]
        return self.wsgi_app(environ, start_response)

    def _answer(self, environ: dict) -> tuple[bytes, list] | None:
        form = _read_form(environ)
        if form is None or form.get("grant_type") != "refresh_token":
            return None
        if not all(form.get(name) for name in REFRESH):
            return None
        with self.app.app_context():
            if not fast_refresh.applies():
                return None
            try:
                payload = fast_refresh.redeem(
                    form["client_id"],
                    form["client_secret"],
                    form["refresh_token"],
                    strict=oauth_server.strict_rotation(),
                    ip=environ.get("REMOTE_ADDR") or "",
                )
            except sqlite3.Error:
                return None  # Flask tries again, and answers a lasting outage with its 503
            expose_pid = self.app.config.get("EXPOSE_WORKER_PID")
        if payload is None:
            return None
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = [*HEADERS, ("Content-Length", str(len(body)))]
        if expose_pid:
            headers.append((WORKER_PID_HEADER, str(os.getpid())))
        return body, [*headers, *SECURITY_HEADERS, ("Vary", "Cookie")]


def _read_form(environ: dict) -> dict[str, str] | None:
    """Read the body as oauth/server.py's read_form() would; None for anything it would refuse.

    The body is read once and put back for Flask, whatever happens next.
    """
    content_type = environ.get("CONTENT_TYPE", "")
    if content_type.split(";", 1)[0].strip().lower() != FORM:
        return None
    try:
        length = int(environ.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None
    if not 0 < length <= TOKEN_MAX_BODY:
        return None
    raw = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(raw)
    environ["CONTENT_LENGTH"] = str(len(raw))
    if len(raw) != length or not raw.isascii():
        return None
    try:
        return known_parameters(parse_qsl(raw.decode("ascii"), keep_blank_values=True))
    except OAuth2Error:
        return None  # Flask answers invalid_request
