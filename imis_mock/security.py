"""Security headers for every response, and the check for `next` redirect targets.

The headers are a few lines here rather than Flask-Talisman, which would also force HTTPS
redirects the mock must not do (it is mostly run over plain http on loopback).
"""

from urllib.parse import urlsplit

from flask import Flask, Response, abort, request

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)


SECURITY_HEADERS = (
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),
)


def add_security_headers(response: Response) -> Response:
    """Set the headers every page carries; a view may have set stricter ones already."""
    headers = response.headers
    for name, value in SECURITY_HEADERS:
        headers.setdefault(name, value)
    return response


def is_safe_next(target: str | None) -> bool:
    """Return True if `target` is a path on this site (no scheme, host or backslash tricks)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or any(not ch.isprintable() or ch.isspace() for ch in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def refuse_nul_characters() -> None:
    """Answer 400 to a request whose path, query or form holds a NUL character.

    No real input holds one, and PostgreSQL cannot store or compare text that does: such a value
    reached a query and gave a 500. /token checks its own form (oauth/server.py), after it has
    set its smaller body limit, so its refusals keep OAuth's shape.
    """
    if "\x00" in request.path or _holds_nul(request.args):
        abort(400)
    if request.blueprint != "oauth" and request.mimetype in FORM_TYPES:
        if _holds_nul(request.form):
            abort(400)


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _holds_nul(values) -> bool:
    return any("\x00" in key or "\x00" in value for key, value in values.items(multi=True))


def init_app(app: Flask) -> None:
    app.before_request(refuse_nul_characters)
    app.after_request(add_security_headers)
