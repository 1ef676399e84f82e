"""OAuth 2 as iMIS does it: POST /token (server.py), the bearer check (bearer.py), the SSO hand-off
(handoff.py)."""

from flask import Blueprint

bp = Blueprint("oauth", __name__)

from imis_mock.oauth import routes  # noqa: E402,F401
