"""The app under test and its test client: the test configuration, the sign-in form, CSRF tokens."""

import re
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from imis_mock import create_app
from tests.support import databases

TEST_SECRET = "test-secret-key-not-for-production"


def make_app(instance: Path, monkeypatch: pytest.MonkeyPatch, **overrides) -> Flask:
    """Create the app on the instance folder (and its database) with the test configuration."""
    monkeypatch.setenv("IMIS_INSTANCE_PATH", str(instance))
    config = {
        "TESTING": True,
        "SECRET_KEY": TEST_SECRET,
        "SQLALCHEMY_DATABASE_URI": databases.uri_for(instance),
        "WTF_CSRF_ENABLED": False,
        # A cheap hash keeps the suite quick; production uses scrypt.
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
    }
    config.update(overrides)
    app = create_app(config)
    databases.close_after_test(app)
    return app


def sign_in(client: FlaskClient, username: str, password: str, *, site: str = "member", **extra):
    """Post the sign-in form of the member site or the Staff site."""
    url = "/staff/SignIn" if site == "staff" else "/SignIn"
    data = {"username": username, "password": password, **extra}
    return client.post(url, data=data)


def csrf_token_from(html: str) -> str:
    """Return the CSRF token of the page's form."""
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, "no CSRF token in the page"
    return match.group(1)
