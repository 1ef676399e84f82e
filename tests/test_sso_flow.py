"""Issue 5's whole flow over real HTTP, as people and a third-party application do it.

Staff set up Single Sign-On through the Staff site's forms (CSRF on), a member opens the published
record, and the application redeems the posted refresh token and calls the REST API.
"""

from email.utils import parsedate_to_datetime

import pytest
import requests

from tests.support.browser import Browser
from tests.support.flows import (
    api_get,
    member_opens_sso_page,
    open_sso_page,
    redeem,
    staff_sets_up_sso,
)
from tests.support.servers import LiveServer


@pytest.fixture
def csrf_server(csrf_app):
    with LiveServer(csrf_app) as server:
        yield server


def test_whole_flow_over_real_http(csrf_server):
    base = csrf_server.url
    assert csrf_server.app.config["WTF_CSRF_ENABLED"]  # the forms carry real CSRF tokens
    setup = staff_sets_up_sso(base, redirect_url="https://flow.example.com/sso?tenant=7")
    assert setup.page_path == "/LaunchFlowApp.aspx"

    handoff = member_opens_sso_page(base, setup.page_path)
    assert handoff.action == "https://flow.example.com/sso?tenant=7"
    assert [name for name, _ in handoff.fields] == ["refresh_token"]
    assert len(handoff.refresh_token) >= 43
    assert handoff.response.headers["Cache-Control"] == "no-store"
    assert handoff.response.headers["Referrer-Policy"] == "no-referrer"

    # Nothing in the request can move the target.
    tampered = member_opens_sso_page(
        base, setup.page_path + "?redirect_uri=https://evil.example&ReturnUrl=https://evil.example"
    )
    assert tampered.action == setup.redirect_url
    assert tampered.refresh_token != handoff.refresh_token  # each visit gets a new token

    token = redeem(base, setup, handoff.refresh_token)
    assert token.status_code == 200, token.text
    assert token.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert token.headers["Cache-Control"] == "no-store"
    assert token.headers["Pragma"] == "no-cache"
    body = token.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 1199
    assert body["userName"] == "jsmith" and body["as:client_id"] == "FlowApp"
    issued, expires = (
        parsedate_to_datetime(body[".issued"]),
        parsedate_to_datetime(body[".expires"]),
    )
    assert (expires - issued).total_seconds() == 1200
    assert body["refresh_token"] != handoff.refresh_token

    access = body["access_token"]
    users = api_get(base, "/api/User", access, UserName="jsmith")
    assert users.status_code == 200, users.text
    [user] = users.json()["Items"]["$values"]
    assert user["UserName"] == "jsmith"
    party_id = user["Party"]["PartyId"]
    party = api_get(base, f"/api/Party/{party_id}", access)
    assert party.status_code == 200
    assert party.json()["Id"] == "23179"
    info = api_get(base, "/api/query", access, QueryName="$/OAuth2/userInfo")
    assert info.status_code == 200
    [row] = info.json()["Items"]["$values"]
    assert row["username"] == "jsmith" and row["given_name"] == "Jane"
    assert row["email"] == "jsmith@example.org"

    # The bearer check: no token, a made-up token, a token in the query string.
    missing = requests.get(f"{base}/api/User", timeout=30)
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = api_get(base, "/api/User", access[:-2] + "xx")
    assert wrong.status_code == 401 and 'error="invalid_token"' in wrong.headers["WWW-Authenticate"]
    in_query = requests.get(f"{base}/api/User", params={"access_token": access}, timeout=30)
    assert in_query.status_code == 401


def test_anonymous_visitor_of_a_public_sso_page_gets_a_guest_token(csrf_server):
    base = csrf_server.url
    setup = staff_sets_up_sso(base, requires_login=False)
    handoff = open_sso_page(Browser(base), setup.page_path)
    body = redeem(base, setup, handoff.refresh_token).json()
    assert body["userName"] == "GUEST"


def test_a_secured_sso_page_sends_an_anonymous_visitor_to_sign_in(csrf_server):
    setup = staff_sets_up_sso(csrf_server.url)
    response = requests.get(csrf_server.url + setup.page_path, allow_redirects=False, timeout=30)
    assert response.status_code == 302 and "/SignIn" in response.headers["Location"]
