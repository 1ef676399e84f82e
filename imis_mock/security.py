"""Security headers for every response, and the check for `next` redirect targets.

The headers are a few lines here rather than Flask-Talisman, which would also force HTTPS
redirects the mock must not do (it is mostly run over plain http on loopback).
"""

from urllib.parse import urlsplit

from flask import Flask, Response

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


def init_app(app: Flask) -> None:
    app.after_request(add_security_headers)
