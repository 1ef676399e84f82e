"""Security headers, CSRF, error pages, oversized bodies."""

import pytest
from sqlalchemy import select

from imis_mock.extensions import db
from imis_mock.models import UserSession
from tests.conftest import MEMBER_PASSWORD, csrf_token_from


@pytest.mark.parametrize("path", ["/", "/SignIn", "/staff/SignIn", "/no-such-page"])
def test_security_headers(client, path):
    headers = client.get(path).headers
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["X-Frame-Options"] == "DENY"
    assert headers["Referrer-Policy"]


def test_no_inline_script_anywhere(client):
    for path in ["/", "/SignIn", "/staff/SignIn"]:
        html = client.get(path).get_data(as_text=True)
        assert "<script>" not in html and " onclick=" not in html and " onload=" not in html


def test_post_without_csrf_token_is_refused(csrf_app):
    client = csrf_app.test_client()
    response = client.post("/SignIn", data={"username": "jsmith", "password": MEMBER_PASSWORD})
    assert response.status_code == 400
    assert "security token" in response.get_data(as_text=True)
    with csrf_app.app_context():
        assert db.session.scalar(select(UserSession)) is None


def test_post_with_csrf_token_is_accepted(csrf_app):
    client = csrf_app.test_client()
    token = csrf_token_from(client.get("/SignIn").get_data(as_text=True))
    response = client.post(
        "/SignIn", data={"username": "jsmith", "password": MEMBER_PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 303
    # Sign Out is a form too: without its token it does nothing.
    assert client.post("/SignOut").status_code == 400
    assert client.get("/MyAccount").status_code == 200
    token = csrf_token_from(client.get("/MyAccount").get_data(as_text=True))
    client.post("/SignOut", data={"csrf_token": token})
    assert client.get("/MyAccount").status_code == 302


def test_staff_sign_in_needs_csrf(csrf_app):
    client = csrf_app.test_client()
    response = client.post("/staff/SignIn", data={"username": "MANAGER", "password": "x"})
    assert response.status_code == 400


def test_error_pages_in_site_look(client):
    response = client.get("/nothing-here")
    assert response.status_code == 404
    assert "text/html" in response.content_type
    assert b"Example Association" in response.data


def test_api_errors_are_json(client):
    response = client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.is_json
    assert response.get_json() == {"Message": "The page you asked for does not exist."}


def test_oversized_body_is_refused(client):
    response = client.post("/SignIn", data={"username": "x" * 100_000, "password": "y"})
    assert response.status_code == 413
