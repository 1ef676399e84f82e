"""POST /token, done by Authlib's AuthorizationServer and grants, bent here to iMIS's OWIN ways.

Authlib does the mechanics: grant dispatch (unsupported_grant_type), client authentication by
client_secret_post and client_secret_basic (a URL-encoded client id in Basic, 401 with
`WWW-Authenticate: Basic` when Basic failed), the refresh grant's checks (missing token, token of
another client) and the error bodies. The rules live in services/oauth_server.py.

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

One request bypasses Authlib: the refresh grant with the client's credentials in the body, which is
what every iMIS SSO client sends, so it is the endpoint's hot path. On SQLite,
answer_refresh_directly() hands it to services/fast_refresh.py, which answers it only when it
succeeds; Authlib's objects and the ORM session cost several times the SQL it needs. Every other
request, and every refusal, goes through Authlib as described above.
"""

import json
import time
from collections.abc import Mapping

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2 import OAuth2Error, OAuth2Request
from authlib.oauth2.rfc6749 import (
    InvalidClientError,
    InvalidGrantError,
    InvalidRequestError,
    grants,
)
from authlib.oauth2.rfc6749.util import extract_basic_authorization
from flask import Response
from flask import request as flask_request
from sqlalchemy import Row

from imis_mock.services import accounts, fast_refresh, oauth_server, qa
from imis_mock.services.oauth_server import TokenError

PARAMETERS = ("grant_type", "client_id", "client_secret", "refresh_token", "username", "password")
SECRET_PARAMETERS = ("client_secret", "refresh_token", "password")
CLIENT_METHODS = ["client_secret_basic", "client_secret_post"]
INVALID_CLIENT = "The client credentials are invalid."
HEADERS = [
    ("Content-Type", "application/json;charset=UTF-8"),
    ("Cache-Control", "no-store"),
    ("Pragma", "no-cache"),
]


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
    or holds a NUL character. Shared with the middleware in oauth/fast_token.py."""
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


def _basic_client_id() -> str | None:
    auth = flask_request.headers.get("Authorization", "")
    if auth[:6].lower() != "basic ":
        return None
    client_id, _ = extract_basic_authorization(flask_request.headers)
    return client_id or ""


class OAuthClient:
    """Adapts a client application's row to what Authlib asks of a client."""

    def __init__(self, application: Row):
        self.application = application

    def check_client_secret(self, client_secret: str) -> bool:
        return oauth_server.client_secret_matches(self.application, client_secret)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in CLIENT_METHODS

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type in ("refresh_token", "password")


class Credential:
    """Adapts a refresh token's row to what Authlib's refresh grant asks of it."""

    def __init__(self, token: Row):
        self.token = token

    def check_client(self, client: OAuthClient) -> bool:
        return self.token.client_application_id == client.application.id

    def get_scope(self) -> str:
        return ""


def _raise_for(error: TokenError):
    raise OAuth2Error(error=error.error, description=error.description)


class RefreshTokenGrant(grants.RefreshTokenGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = CLIENT_METHODS

    def authenticate_refresh_token(self, refresh_token: str) -> Credential | None:
        token = oauth_server.find_refresh_token(refresh_token)
        return Credential(token) if token is not None else None

    def create_token_response(self):
        client = self.request.client
        try:
            body = oauth_server.refresh(self.request.refresh_token.token, client.application)
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
        user = accounts.authenticate(form["username"], form["password"])
        if user is None:
            raise InvalidGrantError("The user name or password is incorrect.")
        self.request.user = user

    def create_token_response(self):
        client = self.request.client
        body = oauth_server.password(self.request.user, client.application if client else None)
        return 200, body, HEADERS


class ImisAuthorizationServer(AuthorizationServer):
    def query_client(self, client_id: str) -> OAuthClient | None:
        application = oauth_server.find_client_credentials(client_id)
        return OAuthClient(application) if application is not None else None

    def create_token_response(self, request=None) -> Response:
        try:
            form = read_form()
        except OAuth2Error as error:
            return self.refuse(None, error)
        answered = self.answer_refresh_directly(form)
        if answered is not None:
            return answered
        fault = qa.take_fault(form.get("client_id") or _basic_client_id() or "")
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

    def answer_refresh_directly(self, form: dict[str, str]) -> Response | None:
        """Answer the refresh grant as iMIS SSO clients send it, without Authlib; or return None.

        The hot path of /token (see the module docstring): client_secret_post with all three
        values. services/fast_refresh.py answers it when it will succeed; anything else returns
        None and goes through Authlib, which gives the error answers, so those stay Authlib's.
        """
        if form.get("grant_type") != "refresh_token" or _basic_client_id() is not None:
            return None
        client_id, secret = form.get("client_id"), form.get("client_secret")
        raw = form.get("refresh_token")
        if not (client_id and secret and raw) or not fast_refresh.applies():
            return None
        body = fast_refresh.redeem(client_id, secret, raw, strict=oauth_server.strict_rotation())
        return self.handle_response(200, body, HEADERS) if body is not None else None

    def inject(self, fault: qa.Fault, form: dict[str, str]) -> Response | None:
        """Misbehave as the QA console asked: an error answer, or a delay before the real one."""
        client_id = form.get("client_id") or _basic_client_id() or ""
        grant_type = form.get("grant_type", "")
        if fault.mode == "delay":
            oauth_server.record_fault(fault.mode, grant_type=grant_type, client_id=client_id)
            time.sleep(fault.delay_seconds)
            return None
        oauth_server.record_fault(fault.mode, grant_type=grant_type, client_id=client_id)
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
        oauth_server.record_failure(
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
    server.register_grant(RefreshTokenGrant)
    server.register_grant(PasswordGrant)
    return server


authorization_server = init_server()
