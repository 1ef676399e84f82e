"""The HTTP admin API under /qa/api: drive the mock from a test suite in any language.

Off unless QA_ADMIN_API is true or QA_ADMIN_TOKEN is set (`imis-mock serve` and the pytest plugin
switch it on); while off, every URL under /qa/api answers 404 as if it were not there. While on,
a request needs `Authorization: Bearer <QA_ADMIN_TOKEN>`, or a Staff site session (whose
changes also need the X-CSRFToken header, as the Staff site's forms need their token):
anything else gets 401, a signed-in member or a wrong token 403.
"""

import hmac

from flask import Blueprint, abort, current_app, jsonify, request
from flask_login import current_user
from flask_wtf.csrf import CSRFError

from imis_mock.extensions import csrf

bp = Blueprint("admin_api", __name__)


def enabled() -> bool:
    return bool(current_app.config.get("QA_ADMIN_API") or current_app.config.get("QA_ADMIN_TOKEN"))


# A whole scenario can be far larger than MAX_CONTENT_LENGTH (sized for forms and /token); the
# larger limit applies once the caller is known to be an admin.
MAX_BODY = 16 * 1024 * 1024


@bp.before_request
def require_admin():
    """Let in the admin token or a staff session; 404 while the API is off."""
    if not enabled():
        abort(404)
    refusal = _refusal()
    if refusal is None:
        request.max_content_length = MAX_BODY
    return refusal


def error(message: str, status: int = 400, *, field: str | None = None, problems=None):
    """Answer {"error": message[, "field", "problems"]} with the status."""
    body = {"error": message}
    if field:
        body["field"] = field
    if problems:
        body["problems"] = problems
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="imis-mock admin API"'
    return response


def _refusal():
    token = current_app.config.get("QA_ADMIN_TOKEN") or ""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _, given = header.partition(" ")
        if scheme.lower() != "bearer" or not given.strip():
            return error("Send Authorization: Bearer <admin token>.", 401)
        if not token or not hmac.compare_digest(given.strip().encode(), token.encode()):
            return error("That admin token is not valid.", 403)
        return None
    if not current_user.is_authenticated:
        return error("Send Authorization: Bearer <admin token>, or sign in as staff.", 401)
    if not current_user.is_staff:
        return error("Only staff users may use the admin API.", 403)
    # A cookie is sent by the browser on its own: a change also needs the page's CSRF token.
    if request.method not in current_app.config["WTF_CSRF_METHODS"]:
        return None
    if not current_app.config["WTF_CSRF_ENABLED"]:
        return None
    try:
        csrf.protect()
    except CSRFError as exc:
        return error(exc.description, 400)
    return None


from imis_mock.admin_api import routes  # noqa: E402,F401
