"""Flask-Login wiring: the cookie holds a server-side session key, not the user id.

Signing in starts a new session row and a fresh cookie; signing out deletes the row, so a copy of
the old cookie (or of the "Keep me signed in" cookie) no longer signs anybody in.
"""

from flask import Flask, session
from flask.sessions import SecureCookieSessionInterface
from flask_login import login_user, logout_user
from itsdangerous import URLSafeTimedSerializer

from imis_mock.database import writing
from imis_mock.extensions import login_manager
from imis_mock.models import User
from imis_mock.services import accounts, audit


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, with its serializer built once per key, not per request.

    Flask builds the serializer (and derives its signing key) on every request, which costs more
    than reading a session cookie does: measurable on /token and the API, which mostly have none.
    """

    def __init__(self):
        self._serializers: dict[tuple, URLSafeTimedSerializer] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        key = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        serializer = self._serializers.get(key)
        if serializer is None and app.secret_key:
            serializer = super().get_signing_serializer(app)
            self._serializers[key] = serializer
        return serializer


def init_login(app: Flask) -> None:
    app.session_interface = SessionInterface()
    login_manager.init_app(app)
    login_manager.login_view = "member.sign_in"
    login_manager.blueprint_login_views = {"staff": "staff.sign_in"}
    login_manager.login_message = "Sign in to see that page."
    login_manager.login_message_category = "info"
    login_manager.user_loader(accounts.load_session)


def sign_in(user: User, *, site: str, remember: bool) -> None:
    """Start a new session for the user (dropping whatever the old session held)."""
    session.clear()
    # The page only read until now: the write takes SQLite's write lock first (a deferred
    # transaction's write met the other writers' lock and slept in SQLite's busy wait).
    with writing():
        accounts.start_session(user, site=site, persistent=remember)
        audit.record(f"{site}.sign_in", "success", actor=user.username, username=user.username)
    login_user(user, remember=remember)


def sign_out(user: User) -> None:
    """End the user's session everywhere its cookie may have been copied."""
    with writing():
        audit.record("sign_out", "success", actor=user.username, username=user.username)
        accounts.end_session(user.session_key)
    logout_user()
    session.clear()
