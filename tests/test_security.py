"""Security headers, CSRF, error pages, oversized bodies."""

import pytest
from sqlalchemy import select

from imis_mock.extensions import db
from imis_mock.models import UserSession
from tests.support.apps import csrf_token_from
from tests.support.data import MEMBER_PASSWORD


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
    # ASP.NET Web API's answer for a route that does not exist (imis-rest.md §4.3).
    assert response.get_json() == {
        "Message": "No HTTP resource was found that matches the request URI "
        "'http://localhost/api/nothing-here'."
    }


def test_oversized_body_is_refused(client):
    response = client.post("/SignIn", data={"username": "x" * 100_000, "password": "y"})
    assert response.status_code == 413


# A NUL character reached PostgreSQL (which cannot hold one in text) and gave a 500: now a 400.
# These run on both databases.


def test_nul_in_an_api_query_is_a_400_in_the_api_shape(client, app):
    from imis_mock.services import accounts, tokens

    with app.app_context():
        token, _ = tokens.issue_access_token(
            accounts.get_user("MANAGER"), None, grant_type="password"
        )
        db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    response = client.get("/api/Party?city=q&country_code=%00", headers=headers)
    assert response.status_code == 400
    assert response.get_json() == {"Message": "The request could not be understood."}
    assert client.get("/api/Party?city=q", headers=headers).status_code == 200


@pytest.mark.parametrize("path", ["/SignIn", "/staff/SignIn"])
def test_nul_in_a_form_is_a_400_and_signs_nobody_in(client, path):
    response = client.post(path, data={"username": "jsmith\x00", "password": MEMBER_PASSWORD})
    assert response.status_code == 400
    assert "could not be understood" in response.get_data(as_text=True)


def test_nul_in_a_path_is_a_400(client):
    assert client.get("/Sample%00App.aspx").status_code == 400


def test_nul_at_token_is_invalid_request(client):
    data = {"grant_type": "password", "username": "jsmith\x00", "password": MEMBER_PASSWORD}
    response = client.post("/token", data=data)
    assert response.status_code == 400
    assert response.get_json()["error"] == "invalid_request"


def test_a_value_the_database_refuses_is_a_400_not_a_500(app, client, caplog):
    """The safety net behind the checks: a DataError from the database means bad input."""
    from sqlalchemy.exc import DataError

    def refused():
        raise DataError("SELECT 1", {}, ValueError("integer out of range"))

    app.add_url_rule("/api/_refused", "refused", refused)
    app.add_url_rule("/_refused", "refused_page", refused)
    api = client.get("/api/_refused")
    assert api.status_code == 400 and api.get_json() == {
        "Message": "The request could not be understood."
    }
    page = client.get("/_refused")
    assert page.status_code == 400 and "could not be understood" in page.get_data(as_text=True)
    assert "integer out of range" in caplog.text
