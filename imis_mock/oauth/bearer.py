"""The bearer check for the REST API, done by Authlib's ResourceProtector.

Bent in two places, both in ImisResourceProtector:
- iMIS (ASP.NET Web API) answers a refused request with 401 and the body
  {"Message": "Authorization has been denied for this request."}, which real clients see, rather
  than Authlib's {"error": ...}. The WWW-Authenticate header stays RFC 6750's: `Bearer
  realm="iMIS"` when no token was sent, plus `error="invalid_token"` when a bad, expired or
  revoked one was.
- acquire_token() is Authlib's, except that the request it hands to the validator carries the
  path instead of the full URL, which the bearer check never reads: rebuilding it with werkzeug
  cost more than the rest of Authlib's part of every API call.
Only the Authorization header is read: a token in the query string or a form body alone is not
accepted (RFC 6750 §2.3 discourages the query; iMIS reads the header). A request that sends the
header and also an `access_token` in the query or the form body uses two methods at once, which
RFC 6750 §2 forbids: it gets 400 with `error="invalid_request"` in the challenge and ASP.NET Web
API's 400 body {"Message": "The request is invalid."} [I].
"""

from authlib.integrations.flask_oauth2 import ResourceProtector, token_authenticated
from authlib.oauth2.rfc6749 import (
    JsonRequest,
    MissingAuthorizationError,
    UnsupportedTokenTypeError,
)
from authlib.oauth2.rfc6750 import BearerTokenValidator
from flask import abort, g, jsonify
from flask import request as flask_request

from imis_mock.services import tokens
from imis_mock.services.tokens import BearerToken

REALM = "iMIS"
DENIED = {"Message": "Authorization has been denied for this request."}
INVALID = {"Message": "The request is invalid."}
FORM = "application/x-www-form-urlencoded"


class AccessTokenValidator(BearerTokenValidator):
    def authenticate_token(self, token_string: str) -> "ValidatedToken | None":
        token = tokens.find_bearer_token(token_string.strip())
        return ValidatedToken(token) if token is not None else None


class ValidatedToken:
    """Adapts a BearerToken (plain values, see services.tokens) to what Authlib asks of a token."""

    def __init__(self, token: BearerToken):
        self.token = token
        self.user = token.user  # a UserRecord
        self.client_id = token.client_id  # "" for the password grant

    def is_expired(self) -> bool:
        return not tokens.access_token_is_usable(self.token)

    def is_revoked(self) -> bool:
        return self.token.revoked_at is not None

    def get_scope(self) -> str:
        return ""


class ImisResourceProtector(ResourceProtector):
    def acquire_token(self, scopes=None, **kwargs):
        if _token_in_header() and _token_outside_header():
            response = jsonify(INVALID)
            response.status_code = 400
            response.headers["WWW-Authenticate"] = (
                f'Bearer realm="{REALM}", error="invalid_request", '
                'error_description="The access token was sent in more than one way."'
            )
            abort(response)
        request = JsonRequest(flask_request.method, flask_request.path, flask_request.headers)
        token = self.validate_request(request=request, scopes=scopes, **kwargs)
        token_authenticated.send(self, token=token)
        g.authlib_server_oauth2_token = token
        return token

    def raise_error_response(self, error):
        challenge = f'Bearer realm="{REALM}"'
        if not isinstance(error, MissingAuthorizationError | UnsupportedTokenTypeError):
            challenge += ', error="invalid_token"'
        response = jsonify(DENIED)
        response.status_code = 401
        response.headers["WWW-Authenticate"] = challenge
        abort(response)


def _token_in_header() -> bool:
    scheme = flask_request.headers.get("Authorization", "").split(" ", 1)[0]
    return scheme.lower() == "bearer"


def _token_outside_header() -> bool:
    """True if an access_token parameter is in the query string or a form-encoded body."""
    if "access_token" in flask_request.args:
        return True
    return flask_request.mimetype == FORM and "access_token" in flask_request.form


require_bearer = ImisResourceProtector()
require_bearer.register_token_validator(AccessTokenValidator(realm=REALM))
