"""Member site: home, Sign In, Sign Out, My account, sessions and `next` targets."""

import pytest
from sqlalchemy import select

from imis_mock.extensions import db
from imis_mock.models import AuditEvent, UserSession
from imis_mock.services import accounts, clock
from tests.support.apps import sign_in
from tests.support.data import MEMBER_PASSWORD

FAILED = "The username or password you entered is incorrect."


def test_home_page(client):
    response = client.get("/")
    assert response.status_code == 200
    assert b"Example Association" in response.data
    assert b"Sign In" in response.data


def test_sign_in_page_has_imis_fields(client):
    html = client.get("/SignIn").get_data(as_text=True)
    for field_id, label in [
        ("username", "Username"),
        ("password", "Password"),
        ("remember", "Keep me signed in"),
    ]:
        assert f'<label for="{field_id}">{label}</label>' in html
    assert 'value="Sign In"' in html


def test_sign_in_success_then_my_account(client):
    response = sign_in(client, "jsmith", MEMBER_PASSWORD)
    assert response.status_code == 303
    assert response.headers["Location"] == "/"
    page = client.get("/MyAccount").get_data(as_text=True)
    assert "Ms. Jane Smith" in page
    assert "23179" in page


def test_username_letter_case_is_ignored(client):
    assert sign_in(client, "JSmith", MEMBER_PASSWORD).status_code == 303


@pytest.mark.parametrize(
    ("username", "password"),
    [("jsmith", "wrong"), ("nobody", MEMBER_PASSWORD), ("GUEST", ""), ("GUEST", "x")],
)
def test_sign_in_failure_is_generic(client, app, username, password):
    response = sign_in(client, username, password)
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    if password:
        assert FAILED in html
    else:
        assert "Required" in html
    assert client.get("/MyAccount").status_code == 302
    with app.app_context():
        assert db.session.scalar(select(UserSession)) is None


def test_failed_sign_in_is_audited_without_password(client, app):
    sign_in(client, "jsmith", "not-the-password")
    with app.app_context():
        event = db.session.scalar(select(AuditEvent).where(AuditEvent.outcome == "failure"))
        assert event.action == "member.sign_in"
        assert event.username == "jsmith"
        assert "not-the-password" not in event.detail


def test_disabled_user_cannot_sign_in_and_is_signed_out(client, app):
    assert sign_in(client, "jsmith", MEMBER_PASSWORD).status_code == 303
    with app.app_context():
        accounts.get_user("jsmith").is_disabled = True
        db.session.commit()
    assert client.get("/MyAccount").status_code == 302
    assert FAILED in sign_in(client, "jsmith", MEMBER_PASSWORD).get_data(as_text=True)


def test_my_account_needs_sign_in(client):
    response = client.get("/MyAccount")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/SignIn?next=")


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example",
        "//evil.example",
        "javascript:alert(1)",
        "/\\evil.example",
        "/\\/evil.example",
        "http:/evil.example",
        "/\r\nSet-Cookie:x",
        " /MyAccount",
    ],
)
def test_next_cannot_leave_the_site(client, target):
    response = client.post(
        "/SignIn",
        query_string={"next": target},
        data={"username": "jsmith", "password": MEMBER_PASSWORD},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/"


def test_next_on_the_site_is_followed(client):
    response = client.post(
        "/SignIn?next=/MyAccount", data={"username": "jsmith", "password": MEMBER_PASSWORD}
    )
    assert response.headers["Location"] == "/MyAccount"
    response = client.post(
        "/SignIn?returnurl=/MyAccount", data={"username": "jsmith", "password": MEMBER_PASSWORD}
    )
    assert response.headers["Location"] == "/MyAccount"


def test_cookie_flags(client):
    response = sign_in(client, "jsmith", MEMBER_PASSWORD, remember="y")
    cookies = response.headers.getlist("Set-Cookie")
    session_cookie = next(c for c in cookies if c.startswith("imis_session="))
    remember_cookie = next(c for c in cookies if c.startswith("imis_remember="))
    for cookie in (session_cookie, remember_cookie):
        assert "HttpOnly" in cookie
        assert "SameSite=Lax" in cookie
        assert "Secure" not in cookie  # plain http on loopback


def test_new_session_at_sign_in(client):
    client.get("/SignIn")
    before = client.get_cookie("imis_session")
    sign_in(client, "jsmith", MEMBER_PASSWORD)
    after = client.get_cookie("imis_session")
    assert before is None or before.value != after.value


def test_copied_cookie_is_refused_after_sign_out(app, client):
    sign_in(client, "jsmith", MEMBER_PASSWORD, remember="y")
    copied = client.get_cookie("imis_session").value
    copied_remember = client.get_cookie("imis_remember").value
    assert client.get("/MyAccount").status_code == 200
    client.post("/SignOut")
    assert client.get("/MyAccount").status_code == 302

    thief = app.test_client()
    thief.set_cookie("imis_session", copied)
    assert thief.get("/MyAccount").status_code == 302
    thief2 = app.test_client()
    thief2.set_cookie("imis_remember", copied_remember)
    assert thief2.get("/MyAccount").status_code == 302


def test_sign_out_needs_post(member_client):
    assert member_client.get("/SignOut").status_code == 405
    assert member_client.get("/MyAccount").status_code == 200


def test_idle_timeout(app, member_client):
    assert member_client.get("/MyAccount").status_code == 200
    with app.test_request_context():
        clock.advance(119)
    assert member_client.get("/MyAccount").status_code == 200  # activity resets the idle time
    with app.test_request_context():
        clock.advance(121)
    assert member_client.get("/MyAccount").status_code == 302


def test_keep_me_signed_in_outlives_idle_timeout(app, client):
    sign_in(client, "jsmith", MEMBER_PASSWORD, remember="y")
    with app.test_request_context():
        clock.advance(24 * 60)
    assert client.get("/MyAccount").status_code == 200
    with app.test_request_context():
        clock.advance(15 * 24 * 60)
    assert client.get("/MyAccount").status_code == 302
