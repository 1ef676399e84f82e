"""Error pages in the site's look, and JSON errors under /api (shaped like ASP.NET Web API's)."""

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

MESSAGES = {
    400: "The request could not be understood.",
    403: "You do not have permission to see this page.",
    404: "The page you asked for does not exist.",
    405: "That method is not allowed here.",
    413: "The request is too large.",
    500: "Something went wrong on our side. The error has been logged.",
}
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
    return render_error(code, MESSAGES.get(code, error.description or "Error"))


def handle_csrf_error(error: CSRFError):
    return render_error(400, CSRF_MESSAGE)


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, handle_csrf_error)
    app.register_error_handler(HTTPException, handle_http_error)
