"""The iMIS REST API under /api. One guard in before_request decides who the caller is.

Two ways in, as in iMIS:
- `Authorization: Bearer <access token>` (what third-party apps send after SSO);
- the site's own cookie session plus a `RequestVerificationToken` header whose value is the
  hidden `__RequestVerificationToken` input of any page (what iMIS's own page scripts send).
  The header is checked like a CSRF token, so a cookie alone grants nothing. A visitor who has
  not signed in calls the API as GUEST, as iMIS pages do for anonymous visitors.
Anything else gets iMIS's 401. The blueprint is CSRF-exempt: the header is its CSRF check.
"""

import traceback

from flask import Blueprint, Response, abort, g, has_request_context, request
from flask_login import current_user
from flask_wtf.csrf import validate_csrf
from wtforms import ValidationError

from imis_mock.api.engine import errors
from imis_mock.api.engine.errors import ApiError
from imis_mock.api.engine.wire import json_response
from imis_mock.database import in_session_transaction
from imis_mock.errors import DATABASE_ERROR
from imis_mock.extensions import db
from imis_mock.models import GUEST_USERNAME
from imis_mock.oauth.bearer import require_bearer
from imis_mock.services import ServiceError, accounts, audit
from imis_mock.services.accounts import UserRecord

bp = Blueprint("api", __name__)

PUBLIC_ENDPOINTS = {"api.openapi"}
# The rules that serve panel sources take any name (routes.py).
CATCH_ALL_ENDPOINTS = {"api.dynamic_collection", "api.dynamic_item", "api.dynamic_validate"}
VERIFICATION_HEADER = "RequestVerificationToken"


def caller() -> UserRecord:
    """The user the current API request acts for (set by the guard), as plain values."""
    return g.api_user


def _session_caller() -> UserRecord | None:
    """The cookie-session user, if the RequestVerificationToken header checks out."""
    token = request.headers.get(VERIFICATION_HEADER)
    if not token:
        return None
    try:
        validate_csrf(token)
    except ValidationError:
        return None
    user = current_user if current_user.is_authenticated else accounts.get_user(GUEST_USERNAME)
    return UserRecord.of(user) if user is not None else None


@bp.before_request
def identify_caller():
    # What the journal (the api.call audit event) should say besides method and path.
    g.api_notes = {}
    unavailable = request.environ.pop(DATABASE_ERROR, None)
    if unavailable is not None:
        raise unavailable  # met by the read fast path: answered 503 without waiting again
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    if (
        request.endpoint in CATCH_ALL_ENDPOINTS
        and catalog.find(request.view_args["entity"]) is None
    ):
        # No entity of that name (declared or a panel source): no resource, as before any
        # panel existed, whoever asks.
        abort(404)
    if "Authorization" not in request.headers:
        user = _session_caller()
        if user is not None:
            g.api_user = user
            return None
    # Authlib answers a missing or bad token with iMIS's 401 (see oauth/bearer.py).
    with require_bearer.acquire() as token:
        g.api_user = token.user
        g.api_client = token.client_id
    return None


@bp.after_request
def audit_call(response: Response) -> Response:
    """Record every API call that got past the guard, for the QA console's SSO activity."""
    user = g.get("api_user")
    if user is not None:
        journal_call(
            user,
            g.get("api_client", ""),
            response.status_code,
            {"method": request.method, "path": request.path, **g.get("api_notes", {})},
        )
    return response


def journal_call(user: UserRecord, client_id: str, status: int, detail: dict) -> None:
    """End the call's transaction, if its reads needed one, and journal it (written behind, in a
    batch of its own). The read fast path (api/fast_path.py) journals its answers here too."""
    if in_session_transaction():
        db.session.commit()
    audit.record(
        "api.call",
        "success" if status < 400 else "failure",
        actor=user.username,
        client_id=client_id,
        username=user.username,
        error_code="" if status < 400 else str(status),
        detail=detail,
        behind=True,
    )


@bp.errorhandler(ApiError)
def handle_api_error(error: ApiError):
    return json_response(error.body(), error.status)


@bp.errorhandler(ServiceError)
def handle_rule_broken(error: ServiceError):
    """A service refused a write: iMIS's ValidationResultsData, 400."""
    return json_response(errors.validation_results([error.message]), 400)


def journal_failure(error: BaseException | None) -> None:
    """Note an unhandled failure in the call's journal entry (the traceback is in the log).

    Flask logs the exception and answers 500 through imis_mock/errors, which calls this; the
    client sees only Web API's generic body.
    """
    db.session.rollback()
    if error is not None and has_request_context():
        frame = traceback.extract_tb(error.__traceback__)[-1:] if error.__traceback__ else []
        where = f" at {frame[0].filename}:{frame[0].lineno}" if frame else ""
        note = f"{type(error).__name__}: {error}"[:200] + where
        g.setdefault("api_notes", {})["error"] = note


from imis_mock.api import catalog, routes  # noqa: E402,F401
