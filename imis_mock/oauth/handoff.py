"""The Single Sign-On hand-off page: an auto-submitting form that POSTs one `refresh_token`.

The published content page (issue 4) calls handoff_response() for its Single Sign-On item, with the
signed-in user or, on a page that does not require login, the GUEST user (as iMIS does).
The form's target is always the client's stored Login redirect URL; nothing in the request can
change it. The submitting script is a static file, so the CSP stays `script-src 'self'`; the CSP's
`form-action` names the redirect URL's origin, or the browser would block the cross-site POST.
"""

from urllib.parse import urlsplit

from flask import Response, make_response, render_template

from imis_mock.models import ClientApplication, User
from imis_mock.security import CONTENT_SECURITY_POLICY
from imis_mock.services import sso

MISSING_CLIENT = (
    "This Single Sign-On link cannot be used: its client application no longer exists. "
    "Ask the site's staff to choose a client application for it."
)
BAD_REDIRECT = (
    "This Single Sign-On link cannot be used: its client application's Login redirect URL is "
    "not a valid http or https address. Ask the site's staff to correct it."
)


def redirect_origin(url: str) -> str | None:
    """Return scheme://host[:port] of an http(s) URL, or None if it is unusable in a CSP."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    host = parts.hostname
    if parts.scheme not in ("http", "https") or not host:
        return None
    if any(not (ch.isalnum() or ch in ".-[]:") for ch in host) or not host.isascii():
        return None
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port else "")


def handoff_response(
    client: ClientApplication | None, viewer: User, *, content: str = ""
) -> Response:
    """Mint a refresh token for the viewer and client; answer with the page that POSTs it."""
    origin = redirect_origin(client.redirect_url) if client is not None else None
    if client is None or origin is None:
        sso.record_missing_client(viewer, content=content)
        message = MISSING_CLIENT if client is None else BAD_REDIRECT
        response = make_response(render_template("errors/error.html", code=404, message=message))
        response.status_code = 404
        response.headers["Cache-Control"] = "no-store"
        return response
    # The form posts where the Content-Security-Policy below lets it, from the same read (and
    # not read again after start_handoff's commit has expired the client).
    client_id, redirect_url = client.client_id, client.redirect_url
    raw = sso.start_handoff(viewer, client, content=content)
    response = make_response(
        render_template(
            "oauth/handoff.html",
            client_id=client_id,
            redirect_url=redirect_url,
            refresh_token=raw,
        )
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Frame-Options"] = "DENY"
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.replace(
        "form-action 'self'", f"form-action 'self' {origin}"
    )
    return response
