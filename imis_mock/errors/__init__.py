"""Error pages in the site's look, and JSON errors under /api (shaped like ASP.NET Web API's).

When the database cannot be reached (server down, connections dropped, pool exhausted, SQLite
locked past its busy timeout), every request answers 503 with Retry-After and a plain message
instead of a stack trace; the next request after the database is back simply works.
"""

import sqlite3

from flask import Flask, current_app, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy import exc as sa_exc
from werkzeug.exceptions import HTTPException

from imis_mock.extensions import db

MESSAGES = {
    400: "The request could not be understood.",
    403: "You do not have permission to see this page.",
    404: "The page you asked for does not exist.",
    405: "That method is not allowed here.",
    413: "The request is too large.",
    500: "Something went wrong on our side. The error has been logged.",
}
UNAVAILABLE_MESSAGE = (
    "The service is temporarily unavailable because its database cannot be reached. "
    "Try again in a few seconds."
)
# How long clients are asked to wait before retrying after a 503 [I]: a database restart or
# failover takes seconds, and a short wait keeps retries from piling up.
RETRY_AFTER_SECONDS = 5
# SQLAlchemy's wrappers for "the database is not there": OperationalError covers connection
# refused or dropped, a server shutting down and SQLite's "database is locked"; InterfaceError a
# connection already closed; TimeoutError a pool with no free connection. sqlite3's own
# OperationalError too: the SQLite BEGIN (imis_mock/database.py) goes straight to the driver.
DATABASE_UNAVAILABLE = (
    sa_exc.OperationalError,
    sa_exc.InterfaceError,
    sa_exc.TimeoutError,
    sqlite3.OperationalError,
)
# Where a fast path (the refresh grant's, the API read's) leaves the database error it met, so
# that Flask answers the 503 at once instead of trying again and waiting a second busy timeout.
DATABASE_ERROR = "imis_mock.fast_path_database_error"
CSRF_MESSAGE = (
    "The form was not accepted because its security token is missing or has expired. "
    "Reload the page and try again."
)


def wants_json() -> bool:
    return request.path == "/api" or request.path.startswith("/api/")


def render_error(code: int, message: str):
    if wants_json():
        return jsonify({"Message": message}), code
    return render_template("errors/error.html", code=code, message=message), code


def handle_http_error(error: HTTPException):
    # Unexpected exceptions arrive here as InternalServerError after Flask has logged them.
    code = error.code or 500
    if wants_json() and code in (404, 405, 500):
        # ASP.NET Web API's bodies, as iMIS sends them (reference §4.3).
        from imis_mock.api import journal_failure
        from imis_mock.api.engine import errors as api_errors
        from imis_mock.api.engine.wire import json_response

        if code == 500:
            journal_failure(getattr(error, "original_exception", None))

        body = {
            404: lambda: api_errors.no_resource(request.url),
            405: lambda: api_errors.method_not_allowed(request.method),
            500: api_errors.unhandled,
        }[code]()
        allow = dict(error.get_headers()).get("Allow")
        return json_response(body, code, headers={"Allow": allow} if allow else None)
    return render_error(code, MESSAGES.get(code, error.description or "Error"))


def handle_csrf_error(error: CSRFError):
    return render_error(400, CSRF_MESSAGE)


def _driver_message(error: Exception) -> str:
    """The driver's message, first line only: SQLAlchemy's own text adds the parameters."""
    reason = getattr(error, "orig", None) or error
    return (str(reason).strip().splitlines() or [""])[0]


def handle_database_unavailable(error: Exception):
    """Answer 503 with Retry-After: JSON for /token and /api, a page that needs no database."""
    reason = getattr(error, "orig", None) or error
    current_app.logger.error(
        "Database unavailable: %s: %s", type(reason).__name__, _driver_message(error)
    )
    try:
        db.session.rollback()
    except sa_exc.SQLAlchemyError:
        pass
    if request.path == "/token":
        body = {"error": "temporarily_unavailable", "error_description": UNAVAILABLE_MESSAGE}
        response = jsonify(body)
    elif wants_json():
        response = jsonify({"Message": UNAVAILABLE_MESSAGE})
    else:
        # Rendered without the context processors: Flask-Login's would look up who is signed
        # in, which needs the database.
        page = current_app.jinja_env.get_template("errors/unavailable.html").render(
            message=UNAVAILABLE_MESSAGE,
            path=request.path,
            staff=request.path == "/staff" or request.path.startswith("/staff/"),
        )
        response = current_app.make_response(page)
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response


def handle_rejected_value(error: sa_exc.DataError):
    """A value the database refused (out of range, not text it can hold): bad input, so 400."""
    current_app.logger.warning("The database refused a value: %s", _driver_message(error))
    db.session.rollback()
    if request.path == "/token":
        body = {"error": "invalid_request", "error_description": MESSAGES[400]}
        response = jsonify(body)
        response.status_code = 400
        response.headers["Cache-Control"] = "no-store"
        response.headers["Pragma"] = "no-cache"
        return response
    return render_error(400, MESSAGES[400])


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(sa_exc.DataError, handle_rejected_value)
    for error_class in DATABASE_UNAVAILABLE:
        app.register_error_handler(error_class, handle_database_unavailable)
    app.register_error_handler(HTTPException, handle_http_error)
