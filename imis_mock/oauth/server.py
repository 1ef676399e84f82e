"""POST /token, done by Authlib's AuthorizationServer and grants, bent here to iMIS's OWIN ways.

Authlib does the mechanics: grant dispatch (unsupported_grant_type), client authentication by
client_secret_post and client_secret_basic (a URL-encoded client id in Basic, 401 with
`WWW-Authenticate: Basic` when Basic failed), the refresh grant's checks (missing token, token of
another client) and the error bodies. The rules live in services/tokens.py.

iMIS's /token is Microsoft OWIN's OAuthAuthorizationServer, and real clients rely on its ways, so
this module bends Authlib in these places, all here:
- Parameter names are matched regardless of letter case (clients send `Grant_type`, `Username`),
  from the form body only; only the six names /token knows are read, the rest (`code`,
  `redirect_uri`, `scope`, ...) are ignored. An empty value counts as missing; a repeated name,
  a non-form body, credentials in the query string, or Basic plus credentials in the body are
  `invalid_request` (RFC 6749 §2.3, §3.2), checked before Authlib sees the request.
- The password grant needs no client (iMIS's way for application users); a wrong password is
  `invalid_grant` (RFC 6749 §5.2; Authlib says invalid_request).
- The success body has OWIN's extra fields (`userName`, `as:client_id`, `.issued`, `.expires`)
  in OWIN's order, and `expires_in` 1199; the services build it, so Authlib's token generator is
  not used.
- `invalid_client` is 400 when the client did not use Basic (Authlib answers 401 whenever Basic
  is among the allowed methods), and always has the same description, so an unknown client and a
  wrong secret look alike.
- Authlib refuses plain http except on loopback; the mock is served over http on purpose.
- Every answer, error or not, has `Cache-Control: no-store` and `Pragma: no-cache`, and is audited.

Which path a request takes. Every POST /token first meets TokenFastPath (below), a WSGI
middleware in front of Flask. It answers one request by itself: the refresh grant as every iMIS
SSO client sends it (credentials in the body), when it succeeds. Everything else (other grants,
Basic credentials, any refusal, an armed QA fault) goes on to Flask, the view in routes.py and
Authlib, as described above. Both paths call the same rules in services/tokens.py; the middleware
only skips Flask's and Authlib's machinery, which cost several times the redemption itself.
"""

import base64
import binascii
import io
import json
import os
import time
from collections.abc import Mapping
from urllib.parse import parse_qsl, unquote_plus

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2 import OAuth2Error, OAuth2Request
from authlib.oauth2.rfc6749 import (
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    grants,
)
from flask import Flask, Response
from flask import request as flask_request
from sqlalchemy.exc import SQLAlchemyError

from imis_mock.diagnostics import WORKER_PID_HEADER
from imis_mock.errors import DATABASE_ERROR, DATABASE_UNAVAILABLE
from imis_mock.security import fast_path_headers
from imis_mock.services import accounts, clock, qa, throttle, tokens
from imis_mock.services.tokens import TokenError

# A token request is a few hundred bytes; anything near this is not one.
TOKEN_MAX_BODY = 16 * 1024
PARAMETERS = ("grant_type", "client_id", "client_secret", "refresh_token", "username", "password")
SECRET_PARAMETERS = ("client_secret", "refresh_token", "password")
CLIENT_METHODS = ["client_secret_basic", "client_secret_post"]
INVALID_CLIENT = "The client credentials are invalid."
# The database error the fast path met, for Flask to answer (environ key).
HEADERS = [
    ("Content-Type", "application/json;charset=UTF-8"),
    ("Cache-Control", "no-store"),
    ("Pragma", "no-cache"),
]


def throttled_body(error: throttle.Throttled) -> dict:
    return {
        "error": "temporarily_unavailable",
        "error_description": f"Too many attempts. Try again in {error.wait}.",
    }


class TokenPayload:
    """The form body with lower-cased names, known names only, empty values dropped."""

    def __init__(self, form: Mapping[str, str]):
        self.data = form
        self.datalist = {key: [value] for key, value in form.items()}

    client_id = property(lambda self: self.data.get("client_id"))
    grant_type = property(lambda self: self.data.get("grant_type"))
    scope = None  # iMIS has no scopes: a `scope` sent by a client is ignored
    redirect_uri = None
    response_type = None
    state = None


class TokenRequest(OAuth2Request):
    def __init__(self, form: dict[str, str]):
        # Authlib checks that the URL is https (or loopback); the mock is run over http on purpose.
        super().__init__(flask_request.method, "https://imis-mock.invalid/token", headers=None)
        self.headers = flask_request.headers
        self.payload = TokenPayload(form)
        self._form = form

    @property
    def form(self):
        return self._form

    @property
    def args(self):
        return {}


def read_form() -> dict[str, str]:
    """Return the known parameters, case-folded; raise invalid_request for a malformed request."""
    if flask_request.mimetype != "application/x-www-form-urlencoded":
        raise InvalidRequestError("The body must be application/x-www-form-urlencoded.")
    if any(name.lower() in SECRET_PARAMETERS for name in flask_request.args):
        raise InvalidRequestError("Credentials are not accepted in the query string.")
    form = known_parameters(flask_request.form.items(multi=True))
    if _basic_client_id() is not None and ("client_id" in form or "client_secret" in form):
        raise InvalidRequestError("Use one way to authenticate the client, not both.")
    return form


def known_parameters(pairs) -> dict[str, str]:
    """The form's known names, lower-cased, empty values dropped; invalid_request if one repeats
    or holds a NUL character. Shared by the view and the middleware."""
    form: dict[str, str] = {}
    seen: set[str] = set()
    for name, value in pairs:
        if "\x00" in name or "\x00" in value:
            raise InvalidRequestError("The request holds a NUL character.")
        key = name.lower()
        if key not in PARAMETERS:
            continue
        if key in seen:
            raise InvalidRequestError(f"The parameter '{key}' is repeated.")
        seen.add(key)
        if value:
            form[key] = value
    return form


def basic_credentials() -> tuple[str, str] | None:
    """Return the client's HTTP Basic credentials, or None if it did not use Basic.

    RFC 6749 §2.3.1: the client id and secret are form-urlencoded (Appendix B: `+` is a space)
    before they are Base64-encoded. An empty or malformed Basic value gives ("", ""): the client
    still used Basic, so its refusal is 401 with `WWW-Authenticate: Basic`.
    """
    scheme, _, value = flask_request.headers.get("Authorization", "").strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    client_id, colon, secret = decoded.partition(":")
    if not colon:
        return "", ""
    return unquote_plus(client_id), unquote_plus(secret)


def _basic_client_id() -> str | None:
    credentials = basic_credentials()
    return credentials[0] if credentials is not None else None


def authenticate_client_secret_basic(query_client, request) -> "OAuthClient | None":
    """Authlib's client_secret_basic, decoding the credentials as basic_credentials() does."""
    client_id, secret = basic_credentials() or ("", "")
    if not client_id or not secret:
        return None
    client = query_client(client_id)
    return client if client is not None and client.check_client_secret(secret) else None


def _client_address() -> str:
    return flask_request.remote_addr or ""


class OAuthClient:
    """Adapts a client application to what Authlib asks of a client."""

    def __init__(self, application: tokens.Client):
        self.application = application

    def check_client_secret(self, client_secret: str) -> bool:
        return tokens.client_secret_matches(self.application, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in CLIENT_METHODS

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("refresh_token", "password")


class Credential:
    """Adapts a presented refresh token to what Authlib's refresh grant asks of it."""

    def __init__(self, token: tokens.PresentedToken):
        self.token = token

    def check_client(self, client: OAuthClient) -> bool:
        return tokens.belongs_to(self.token, client.application)

    def get_scope(self) -> str:
        return ""


def _raise_for(error: TokenError):
    raise OAuth2Error(error=error.error, description=error.description)


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_METHODS

    def authenticate_refresh_token(self, refresh_token: str) -> Credential | None:
        token = tokens.find_presented_token(refresh_token)
        return Credential(token) if token is not None else None

    def create_token_response(self):
        client = self.request.client
        try:
            body = tokens.redeem(self.request.refresh_token.token, client.application)
        except TokenError as error:
            self.request.user = self.request.refresh_token.token
            _raise_for(error)
        return 200, body, HEADERS


class PasswordGrant(grants.ResourceOwnerPasswordCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_METHODS

    def validate_token_request(self):
        form = self.request.form
        client = None
        if _basic_client_id() is not None or "client_id" in form or "client_secret" in form:
            client = self.authenticate_token_endpoint_client()
        self.request.client = client
        if "username" not in form:
            raise InvalidRequestError("Missing 'username' in request.")
        if "password" not in form:
            raise InvalidRequestError("Missing 'password' in request.")
        user = accounts.authenticate(form["username"], form["password"], address=_client_address())
        if user is None:
            raise InvalidGrantError("The user name or password is incorrect.")
        self.request.user = user

    def create_token_response(self):
        client = self.request.client
        body = tokens.password_grant(self.request.user, client.application if client else None)
        return 200, body, HEADERS


class ImisAuthorizationServer(AuthorizationServer):
    def query_client(self, client_id: str) -> OAuthClient | None:
        application = tokens.find_client(client_id)
        return OAuthClient(application) if application is not None else None

    def create_token_response(self, request=None) -> Response:
        try:
            form = read_form()
        except OAuth2Error as error:
            return self.refuse(None, error)
        client_id = form.get("client_id") or _basic_client_id() or ""
        if client_id:
            wait = tokens.client_authentication_wait(client_id, _client_address())
            if wait is not None:
                return self.throttled(form, throttle.Throttled(wait, "client"))
        # A fault is armed for a client: a request naming none (the password grant of an
        # application user, or a guesser's) skips the lookup, whose transaction would hold
        # SQLite's write lock for the rest of a POST.
        fault = qa.take_fault(client_id) if client_id else None
        if fault is not None:
            injected = self.inject(fault, form)
            if injected is not None:
                return injected
        token_request = TokenRequest(form)
        try:
            if "grant_type" not in form:
                raise InvalidRequestError("Missing 'grant_type' in request.")
            grant = self.get_token_grant(token_request)
            grant.validate_token_request()
            return self.handle_response(*grant.create_token_response())
        except OAuth2Error as error:
            return self.refuse(token_request, error)
        except throttle.Throttled as error:
            return self.throttled(form, error)

    def throttled(self, form: dict[str, str], error: throttle.Throttled) -> Response:
        """Answer 429 with Retry-After, audited, having checked no secret and hashed nothing.

        RFC 6749 names no error for this; `temporarily_unavailable` (its error for an overloaded
        server) is the one a generic OAuth client knows to retry.
        """
        if error.reason == "client":  # a throttled password was audited by authenticate()
            tokens.record_refusal(
                "temporarily_unavailable",
                grant_type=form.get("grant_type", ""),
                client_id=form.get("client_id") or _basic_client_id() or "",
                username=form.get("username", ""),
                throttled=error.reason,
            )
        throttle.hold_back(error)
        body = throttled_body(error)
        return self.handle_response(429, body, [*HEADERS, ("Retry-After", str(error.retry_after))])

    def inject(self, fault: qa.Fault, form: dict[str, str]) -> Response | None:
        """Misbehave as the QA console asked: an error answer, or a delay before the real one."""
        client_id = form.get("client_id") or _basic_client_id() or ""
        grant_type = form.get("grant_type", "")
        if fault.mode == "delay":
            tokens.record_fault(fault.mode, grant_type=grant_type, client_id=client_id)
            time.sleep(fault.delay_seconds)
            return None
        tokens.record_fault(fault.mode, grant_type=grant_type, client_id=client_id)
        if fault.mode == "http_500":
            # What ASP.NET Web API answers on an unhandled error.
            return Response('{"Message":"An error has occurred."}', 500, HEADERS)
        if fault.mode == "invalid_client":
            error = InvalidClientError(description=INVALID_CLIENT)
            error.status_code = 401 if _basic_client_id() is not None else 400
        else:
            error = InvalidGrantError("The refresh token is invalid or has expired.")
        status, body, headers = error()
        headers = [h for h in headers if h[0] == "WWW-Authenticate"] + HEADERS
        return self.handle_response(status, body, headers)

    def refuse(self, token_request: TokenRequest | None, error: OAuth2Error) -> Response:
        """Answer an OAuth 2 error as OWIN does, and audit it."""
        if isinstance(error, InvalidClientError):
            error.description = INVALID_CLIENT
            if _basic_client_id() is None:
                error.status_code = 400
        form = token_request.form if token_request else {}
        client = token_request.client if token_request else None
        user = token_request.user if token_request else None
        if client is not None:
            client_id = client.application.client_id
        else:
            client_id = form.get("client_id") or _basic_client_id() or ""
        if isinstance(error, InvalidClientError) and client_id:
            tokens.record_client_authentication_failure(client_id, _client_address())
        tokens.record_refusal(
            error.error or "invalid_request",
            grant_type=form.get("grant_type", ""),
            client_id=client_id,
            username=user.username if user else form.get("username", ""),
        )
        status, body, headers = error()
        headers = [h for h in headers if h[0] == "WWW-Authenticate"] + HEADERS
        return self.handle_response(status, body, headers)

    def handle_response(self, status_code: int, payload, headers) -> Response:
        # json.dumps, not Flask's provider: OWIN's field order is kept, not sorted.
        return Response(json.dumps(payload, separators=(",", ":")), status_code, headers)

    def send_signal(self, name, *args, **kwargs):
        pass


def init_server() -> ImisAuthorizationServer:
    server = ImisAuthorizationServer()
    server.register_client_auth_method("client_secret_basic", authenticate_client_secret_basic)
    server.register_grant(RefreshTokenGrant)
    server.register_grant(PasswordGrant)
    return server


authorization_server = init_server()


class TokenFastPath:
    """WSGI middleware: answer the refresh grant's success at /token without Flask; else Flask.

    It answers only what the view would answer with a success, with the same status, headers and
    body: POST /token (or /Token), no query string, no Authorization header, a form body of at
    most TOKEN_MAX_BODY bytes with grant_type=refresh_token and client_id, client_secret and
    refresh_token each once; a known client with that secret, no QA fault armed for it, a token
    of that client, and a redemption that succeeds. Anything else goes to Flask, the body
    replayed, having changed nothing. The headers a success gets from Flask's hooks (security.py's,
    the `Vary: Cookie` of Flask's session, the test-only X-Worker-PID) are added here in Flask's
    order; tests/test_token_fast_path.py compares both answers header by header.
    """

    PATHS = ("/token", "/Token")
    REFRESH = ("client_id", "client_secret", "refresh_token")

    def __init__(self, app: Flask):
        self.app = app
        self.wsgi_app = app.wsgi_app
        self.after_headers = fast_path_headers(app)

    def __call__(self, environ: dict, start_response):
        if (
            environ.get("REQUEST_METHOD") == "POST"
            and environ.get("PATH_INFO") in self.PATHS
            and not environ.get("QUERY_STRING")
            and "HTTP_AUTHORIZATION" not in environ
        ):
            answered = self.answer(environ)
            if answered is not None:
                status, body, headers = answered
                start_response(status, headers)
                return [body]
        return self.wsgi_app(environ, start_response)

    def answer(self, environ: dict) -> tuple[str, bytes, list] | None:
        """Answer the request if it is the refresh grant's success, or a password grant from a
        locked-out address; None hands it to Flask."""
        form = _read_wsgi_form(environ)
        if form is None:
            return None
        if form.get("grant_type") == "password" and "client_id" not in form:
            return self.refuse_locked_address(environ, form)
        if form.get("grant_type") != "refresh_token":
            return None
        if not all(form.get(name) for name in self.REFRESH):
            return None
        with self.app.app_context():
            try:
                payload = self.redeem(form, environ)
            except DATABASE_UNAVAILABLE as error:
                # Flask answers the 503 at once with this error (routes.token), rather than try
                # again and wait a second busy timeout on a locked database.
                environ[DATABASE_ERROR] = error
                return None
            if payload is None:
                return None
            expose_pid = self.app.config.get("EXPOSE_WORKER_PID")
        return "200 OK", *self.finish(payload, [], expose_pid)

    def refuse_locked_address(self, environ: dict, form: dict) -> tuple[str, bytes, list] | None:
        """Answer 429 a password grant from an address that must wait, as Flask would.

        A guesser locked out this way costs one read, no write and no Flask, so it takes less
        from the other clients (bench/guessing.py). The rule is throttle.check_address, as in
        accounts.authenticate(); anything else goes to Flask.
        """
        address = environ.get("REMOTE_ADDR") or ""
        with self.app.app_context():
            try:
                throttle.check_address(address)
                return None
            except throttle.Throttled as error:  # audited when the lockout began
                throttle.hold_back(error)
                extra = [("Retry-After", str(error.retry_after))]
                payload = throttled_body(error)
                expose_pid = self.app.config.get("EXPOSE_WORKER_PID")
                return "429 TOO MANY REQUESTS", *self.finish(payload, extra, expose_pid)
            except DATABASE_UNAVAILABLE:
                return None

    def finish(self, payload: dict, extra: list, expose_pid: bool) -> tuple[bytes, list]:
        """The body and headers of an answer, in the order Flask's hooks give them."""
        body = json.dumps(payload, separators=(",", ":")).encode()
        headers = [*HEADERS, *extra, ("Content-Length", str(len(body)))]
        if expose_pid:
            headers.append((WORKER_PID_HEADER, str(os.getpid())))
        return body, [*headers, *self.after_headers]

    @staticmethod
    def redeem(form: dict[str, str], environ: dict) -> dict | None:
        """Redeem the refresh grant if every check passes; None hands the request to Flask."""
        address = environ.get("REMOTE_ADDR") or ""
        read = tokens.read_refresh_request(form["client_id"], form["refresh_token"], address)
        client, token = read.client, read.token
        if client is None or token is None or read.fault_armed or read.client_wait is not None:
            return None
        if not tokens.client_secret_matches(client, form["client_secret"]):
            return None
        if not tokens.belongs_to(token, client) or tokens.refusal(token, clock.now()):
            return None
        try:
            return tokens.redeem(token, client, ip=address)
        except DATABASE_UNAVAILABLE:
            raise
        except (TokenError, SQLAlchemyError):
            # A race (a revoke or another redemption since the read): the write was rolled
            # back, and Flask answers (a refusal, most likely).
            return None


def _read_wsgi_form(environ: dict) -> dict[str, str] | None:
    """Read the body as read_form() would; None for anything it would refuse.

    The body is read once and put back for Flask, whatever happens next.
    """
    content_type = environ.get("CONTENT_TYPE", "")
    if content_type.split(";", 1)[0].strip().lower() != "application/x-www-form-urlencoded":
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
