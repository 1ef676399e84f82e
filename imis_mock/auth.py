"""Flask-Login wiring: the cookie holds a server-side session key, not the user id.

Signing in starts a new session row and a fresh cookie; signing out deletes the row, so a copy of
the old cookie (or of the "Keep me signed in" cookie) no longer signs anybody in.
"""

from flask import Flask, session
from flask_login import login_user, logout_user

from imis_mock.extensions import db, login_manager
from imis_mock.models import User
from imis_mock.services import accounts, audit


def init_login(app: Flask) -> None:
    login_manager.init_app(app)
    login_manager.login_view = "member.sign_in"
    login_manager.blueprint_login_views = {"staff": "staff.sign_in"}
    login_manager.login_message = "Sign in to see that page."
    login_manager.login_message_category = "info"
    login_manager.user_loader(accounts.load_session)


def sign_in(user: User, *, site: str, remember: bool) -> None:
    """Start a new session for the user (dropping whatever the old session held)."""
    session.clear()
    accounts.start_session(user, site=site, persistent=remember)
    audit.record(f"{site}.sign_in", "success", actor=user.username, username=user.username)
    db.session.commit()
    login_user(user, remember=remember)


def sign_out(user: User) -> None:
    """End the user's session everywhere its cookie may have been copied."""
    audit.record("sign_out", "success", actor=user.username, username=user.username)
    accounts.end_session(user.session_key)
    logout_user()
    session.clear()
