"""POST /token (and /Token, as iMIS clients spell it). Any other method is 405, in OAuth's shape.

OPTIONS too: OWIN's token endpoint answers POST only, and /token is called server to server (no
CORS preflight), so OPTIONS gets the same JSON 405 with `Allow: POST` rather than Flask's empty
HTML answer.
"""

from flask import Response, request
from werkzeug.exceptions import RequestEntityTooLarge

from imis_mock.errors import DATABASE_ERROR
from imis_mock.oauth import bp
from imis_mock.oauth.server import HEADERS, TOKEN_MAX_BODY, authorization_server

OTHER_METHODS = ["GET", "PUT", "PATCH", "DELETE", "OPTIONS"]


def oauth_error(status: int, error: str, description: str, **headers: str) -> Response:
    body = f'{{"error":"{error}","error_description":"{description}"}}'
    return Response(body, status, [*HEADERS, *headers.items()])


@bp.post("/token", provide_automatic_options=False)
@bp.post("/Token", endpoint="token_capitalised", provide_automatic_options=False)
def token():
    unavailable = request.environ.pop(DATABASE_ERROR, None)
    if unavailable is not None:
        raise unavailable  # met by the fast path: answered 503 without waiting again
    request.max_content_length = TOKEN_MAX_BODY
    try:
        request.form  # noqa: B018  (parse now, so an oversized body is answered here)
    except RequestEntityTooLarge:
        return oauth_error(413, "invalid_request", "The request body is too large.")
    return authorization_server.create_token_response()


@bp.route("/token", methods=OTHER_METHODS, endpoint="token_other")
@bp.route("/Token", methods=OTHER_METHODS, endpoint="token_capitalised_other")
def token_other_method():
    return oauth_error(
        405, "invalid_request", "The token endpoint accepts POST only.", Allow="POST"
    )
