"""Security headers and cookie names, the check for `next` redirect targets, bounded URL ids.

The headers are a few lines here rather than Flask-Talisman, which would also force HTTPS
redirects the mock must not do (it is mostly run over plain http on loopback).
"""

from urllib.parse import urlsplit

from flask import Flask, Response, abort, current_app, g, request
from werkzeug.routing import IntegerConverter

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
    if "no-store" not in headers.get("Cache-Control", "") and _must_not_be_stored():
        headers["Cache-Control"] = "no-store"
    return response


def _must_not_be_stored() -> bool:
    """True for a response no browser or proxy may keep: one rule, not a list of views.

    Every response built for a signed-in person: My Account, contact pages, the QA console, the
    Simulate SSO result (a live refresh token), every staff page. And all of /api, which answers
    for the bearer token's user (RFC 6750 §5.3). Pages for nobody in particular (the public
    pages, sign-in forms, static files) stay cacheable.

    "Signed in" is read from the user Flask-Login loaded for this request (its `g._login_user`);
    a page that shows a person's data has loaded them. Reading `current_user` here instead would
    load a user for static files and query a database that may be down (the 503 page).
    """
    if request.path == "/api" or request.path.startswith("/api/"):
        return True
    user = g.get("_login_user")
    return user is not None and user.is_authenticated


def add_hsts(response: Response) -> Response:
    response.headers.setdefault(*hsts_header(current_app))
    return response


def hsts_header(app: Flask) -> tuple[str, str]:
    # No includeSubDomains: the mock does not own its host name's other sites (see config.py).
    return "Strict-Transport-Security", f"max-age={app.config['HSTS_MAX_AGE']}"


def behind_tls(app: Flask) -> bool:
    return app.config.get("PREFERRED_URL_SCHEME") == "https"


def fast_path_headers(app: Flask, *before_vary: tuple[str, str]) -> list[tuple[str, str]]:
    """The headers Flask's hooks add to an answer of the fast paths (oauth/server.py,
    api/fast_path.py), in the order they add them: security headers, the view's own headers
    that come after them, HSTS behind TLS, then the `Vary: Cookie` of Flask's session.
    tests/test_token_fast_path.py and tests/test_api_fast_path.py compare them with Flask's."""
    hsts = [hsts_header(app)] if behind_tls(app) else []
    return [*SECURITY_HEADERS, *before_vary, *hsts, ("Vary", "Cookie")]


# The largest id both databases hold: ids are INTEGER columns, 32-bit on PostgreSQL.
ID_MAX = 2**31 - 1


class IdConverter(IntegerConverter):
    """`<int:...>` in every URL: an id beyond what the id columns hold is a 404, not a 500.

    A larger number used to reach the query and fail there: OverflowError (a 500) on SQLite
    above 2**63 - 1, DataError on PostgreSQL above 2**31 - 1.
    """

    def __init__(self, map, fixed_digits=0, min=None, max=ID_MAX, signed=False):
        super().__init__(map, fixed_digits, min, max, signed)


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
    if "\x00" in request.path or holds_nul(request.args):
        abort(400)
    if request.blueprint != "oauth" and request.mimetype in FORM_TYPES:
        if holds_nul(request.form):
            abort(400)


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def holds_nul(values) -> bool:
    """Whether a key or value of these arguments holds a NUL character (refused with 400)."""
    return any("\x00" in key or "\x00" in value for key, value in values.items(multi=True))


def use_tls_settings(app: Flask) -> None:
    """Behind TLS (PREFERRED_URL_SCHEME = https): Secure, `__Host-` cookies and HSTS.

    A `__Host-` cookie is Secure, has Path=/ and no Domain (Flask's and Flask-Login's defaults:
    a *_COOKIE_DOMAIN or a narrower path would make browsers drop it), so no other site on the
    domain and no plain-http page can set or overwrite it.
    """
    if not behind_tls(app):
        return
    for prefix in ("SESSION", "REMEMBER"):
        app.config[f"{prefix}_COOKIE_SECURE"] = True
        name = app.config[f"{prefix}_COOKIE_NAME"]
        if not name.startswith("__Host-"):
            app.config[f"{prefix}_COOKIE_NAME"] = "__Host-" + name
    app.after_request(add_hsts)


def init_app(app: Flask) -> None:
    # Before the blueprints add their rules: a rule takes its converter when it is added.
    app.url_map.converters["int"] = IdConverter
    use_tls_settings(app)
    app.before_request(refuse_nul_characters)
    app.after_request(add_security_headers)
